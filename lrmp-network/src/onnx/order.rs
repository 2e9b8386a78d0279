//! Execution order of an ONNX graph's nodes: each node after the producers of its inputs,
//! ties broken by file position (a file already in order keeps it). The ONNX standard asks
//! writers for topological order; this checks it rather than trusting it.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};

use super::proto::NodeProto;
use crate::geometry::FieldError;

/// A fault found while ordering: the node (by position) and what is wrong.
pub(crate) struct OrderError {
    pub node: usize,
    pub error: FieldError,
}

/// Orders `nodes`; `available` holds the names of graph inputs and initializers.
pub(crate) fn order(nodes: &[NodeProto], available: &HashSet<&str>) -> Result<Vec<usize>, OrderError> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (pos, node) in nodes.iter().enumerate() {
        for (i, out) in node.output.iter().enumerate() {
            if out.is_empty() {
                continue;
            }
            let field = format!("output[{i}]");
            if available.contains(out.as_str()) {
                let message = format!("`{out}` is also a graph input or initializer");
                return Err(OrderError {
                    node: pos,
                    error: FieldError::new(field, message),
                });
            }
            if let Some(first) = producer.insert(out.as_str(), pos) {
                let message = format!("`{out}` is also produced by node #{first}");
                return Err(OrderError {
                    node: pos,
                    error: FieldError::new(field, message),
                });
            }
        }
    }
    let mut providers: Vec<BTreeSet<usize>> = Vec::with_capacity(nodes.len());
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (pos, node) in nodes.iter().enumerate() {
        let mut mine = BTreeSet::new();
        for (i, name) in node.input.iter().enumerate() {
            if name.is_empty() || available.contains(name.as_str()) {
                continue;
            }
            match producer.get(name.as_str()) {
                Some(&p) => {
                    mine.insert(p);
                }
                None => {
                    let message = format!("`{name}` is neither a graph input, an initializer nor a node's output");
                    return Err(OrderError {
                        node: pos,
                        error: FieldError::new(format!("input[{i}]"), message),
                    });
                }
            }
        }
        for &p in &mine {
            if let Some(list) = consumers.get_mut(p) {
                list.push(pos);
            }
        }
        providers.push(mine);
    }
    let mut waiting: Vec<usize> = providers.iter().map(BTreeSet::len).collect();
    let mut ready: BinaryHeap<Reverse<usize>> = waiting
        .iter()
        .enumerate()
        .filter(|(_, &w)| w == 0)
        .map(|(p, _)| Reverse(p))
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse(pos)) = ready.pop() {
        order.push(pos);
        for &c in consumers.get(pos).map(Vec::as_slice).unwrap_or_default() {
            if let Some(w) = waiting.get_mut(c) {
                *w = w.saturating_sub(1);
                if *w == 0 {
                    ready.push(Reverse(c));
                }
            }
        }
    }
    if order.len() < nodes.len() {
        return Err(OrderError {
            node: on_cycle(&providers, &waiting),
            error: FieldError::new("input", "the graph has a cycle through this node"),
        });
    }
    Ok(order)
}

/// A node on a cycle, given the nodes that could not be ordered (`waiting > 0`).
fn on_cycle(providers: &[BTreeSet<usize>], waiting: &[usize]) -> usize {
    let stuck = |p: usize| waiting.get(p).is_some_and(|&w| w > 0);
    let mut at = (0..waiting.len()).find(|&p| stuck(p)).unwrap_or(0);
    let mut seen = HashSet::new();
    while seen.insert(at) {
        match providers
            .get(at)
            .and_then(|set| set.iter().copied().find(|&p| stuck(p)))
        {
            Some(next) => at = next,
            None => break,
        }
    }
    at
}
