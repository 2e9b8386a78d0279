//! Validation and topological ordering of an imported operation graph.
//!
//! Nodes carry their own id and both edge lists (providers and consumers), as PIMCOMP-NN
//! files do. A valid graph has unique ids, no edge to a missing node, both ends of every
//! edge agreeing, and no cycle. The order returned is Kahn's algorithm with ties broken
//! by file position, so a file that is already in execution order keeps its order.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use super::NetworkError;

/// One node's identity and edges, as read from the file.
pub(crate) struct GraphNode<'a> {
    pub name: &'a str,
    pub id: u64,
    pub providers: &'a [u64],
    pub consumers: &'a [u64],
}

/// A validated graph: an execution order and, per node, its providers' positions.
pub(crate) struct Graph {
    pub order: Vec<usize>,
    pub providers: Vec<Vec<usize>>,
}

fn edge_error(source: &str, node: &GraphNode<'_>, field: &str, message: String) -> NetworkError {
    NetworkError::new(source, message).at_layer(node.name).at_field(field)
}

/// Checks the edges of `nodes` and orders them topologically.
pub(crate) fn order(source: &str, nodes: &[GraphNode<'_>]) -> Result<Graph, NetworkError> {
    let mut position = HashMap::with_capacity(nodes.len());
    for (pos, node) in nodes.iter().enumerate() {
        if let Some(first) = position.insert(node.id, pos) {
            let other = nodes.get(first).map_or("?", |n| n.name);
            let message = format!("index {} is also used by node `{other}`", node.id);
            return Err(edge_error(source, node, "index", message));
        }
    }
    let mut providers = Vec::with_capacity(nodes.len());
    let mut consumers = Vec::with_capacity(nodes.len());
    for node in nodes {
        let resolve = |ids: &[u64], field: &str| -> Result<BTreeSet<usize>, NetworkError> {
            ids.iter()
                .map(|id| {
                    position.get(id).copied().ok_or_else(|| {
                        edge_error(source, node, field, format!("dangling edge: no node has index {id}"))
                    })
                })
                .collect()
        };
        providers.push(resolve(node.providers, "provider_index")?);
        consumers.push(resolve(node.consumers, "consumer_index")?);
    }
    // Every index below came from `position`, so it is in range; `get` keeps that unproven
    // assumption from turning into a panic.
    let lists = |sets: &[BTreeSet<usize>], at: usize, pos: usize| sets.get(at).is_some_and(|s| s.contains(&pos));
    let name = |at: usize| nodes.get(at).map_or("?", |n| n.name);
    for (pos, (node, (provs, cons))) in nodes.iter().zip(providers.iter().zip(&consumers)).enumerate() {
        if let Some(&p) = provs.iter().find(|&&p| !lists(&consumers, p, pos)) {
            let message = format!("node `{}` does not list this node in its consumer_index", name(p));
            return Err(edge_error(source, node, "provider_index", message));
        }
        if let Some(&c) = cons.iter().find(|&&c| !lists(&providers, c, pos)) {
            let message = format!("node `{}` does not list this node in its provider_index", name(c));
            return Err(edge_error(source, node, "consumer_index", message));
        }
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
        for &c in consumers.get(pos).into_iter().flatten() {
            if let Some(w) = waiting.get_mut(c) {
                *w -= 1;
                if *w == 0 {
                    ready.push(Reverse(c));
                }
            }
        }
    }
    if order.len() < nodes.len() {
        let on_cycle = node_on_cycle(&providers, &waiting);
        let message = "the graph has a cycle through this node".to_owned();
        let node = nodes.get(on_cycle).or(nodes.first());
        return Err(match node {
            Some(node) => edge_error(source, node, "provider_index", message),
            None => NetworkError::new(source, message),
        });
    }
    let providers = providers.into_iter().map(|set| set.into_iter().collect()).collect();
    Ok(Graph { order, providers })
}

/// A node on a cycle, given the nodes Kahn's algorithm could not order (`waiting > 0`):
/// walking providers among them from any such node must revisit one, which is on a cycle.
fn node_on_cycle(providers: &[BTreeSet<usize>], waiting: &[usize]) -> usize {
    let stuck = |p: &usize| waiting.get(*p).is_some_and(|&w| w > 0);
    let start = (0..waiting.len()).find(stuck).unwrap_or(0);
    let mut seen = vec![false; waiting.len()];
    let mut at = start;
    while let Some(visited @ false) = seen.get_mut(at) {
        *visited = true;
        match providers.get(at).and_then(|p| p.iter().find(|p| stuck(p))) {
            Some(&next) => at = next,
            None => break,
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(edges: &[(u64, &[u64], &[u64])]) -> Result<Vec<usize>, NetworkError> {
        let names: Vec<String> = edges.iter().map(|(id, _, _)| format!("n{id}")).collect();
        let nodes: Vec<_> = edges
            .iter()
            .zip(&names)
            .map(|((id, p, c), name)| GraphNode {
                name,
                id: *id,
                providers: p,
                consumers: c,
            })
            .collect();
        order("g.json", &nodes).map(|g| g.order)
    }

    #[test]
    fn branches_keep_file_order() {
        // 0 -> {1, 2} -> 3, listed out of order in the file.
        let order = run(&[(0, &[], &[2, 1]), (3, &[1, 2], &[]), (1, &[0], &[3]), (2, &[0], &[3])]).unwrap();
        assert_eq!(order, [0, 2, 3, 1]);
    }

    #[test]
    fn bad_graphs() {
        let e = run(&[(0, &[], &[1]), (1, &[0], &[7])]).unwrap_err();
        assert_eq!(
            (e.layer.as_deref(), e.field.as_deref()),
            (Some("n1"), Some("consumer_index"))
        );
        let e = run(&[(0, &[], &[1]), (1, &[], &[])]).unwrap_err();
        assert_eq!(
            (e.layer.as_deref(), e.field.as_deref()),
            (Some("n0"), Some("consumer_index"))
        );
        let e = run(&[(0, &[], &[1]), (1, &[0, 2], &[2]), (2, &[1], &[1])]).unwrap_err();
        assert!(e.message.contains("cycle"), "{e}");
        assert!(matches!(e.layer.as_deref(), Some("n1" | "n2")), "{e}");
        let e = run(&[(0, &[], &[]), (0, &[], &[])]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("index"));
    }
}
