//! PIMCOMP-NN JSON graph import (the format of the PIMCOMP-NN compiler's `models/JSON/`).
//!
//! A file is `{"node_list": [node, ...]}`; each node has `index`, `name`, `operation`
//! (`OP_CONV`, `OP_FC`, `OP_POOL`, ...), `provider_index`/`consumer_index` edges,
//! `input_dim`/`output_dim` (`[N, C, H, W]`, or `[N, F]` after a flatten) and, for conv and
//! fc, a `param` object. Only `OP_CONV` and `OP_FC` become layers, in a topological order
//! of the graph (see `graph`). Every conv/fc output size is derived from its parameters
//! and must equal the file's `output_dim`; each node's `input_dim` must equal its single
//! provider's `output_dim`. Fields are read one by one with serde so an error can name the
//! node and the field. See `docs/network-formats.md`.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::geometry::{fc_layer, ConvGeometry, FieldError};
use super::graph::{self, GraphNode};
use super::{Layer, Network, NetworkError};

/// Operations that carry no weights and are dropped (PIMCOMP-NN's ONNX front end emits
/// these names). `OP_SHUFFLE` is ShuffleNet's channel shuffle (a reshape and transpose of
/// the channels, `param.split_factor` groups): it must keep its input's shape.
pub const SKIPPED_OPERATIONS: &[&str] = &[
    "OP_INPUT",
    "OP_POOL",
    "OP_ELTWISE",
    "OP_RELU",
    "OP_CLIP",
    "OP_TANH",
    "OP_SIGMOID",
    "OP_RESHAPE",
    "OP_FLATTEN",
    "OP_DROPOUT",
    "OP_LRN",
    "OP_CONCAT",
    "OP_TRANSPOSE",
    "OP_SOFTMAX",
    "OP_BN",
    "OP_PAD",
    "OP_SQUEEZE",
    "OP_UNSQUEEZE",
    "OP_SHAPE",
    "OP_GATHER",
    "OP_SHUFFLE",
];

/// What a node does, as far as mapping is concerned.
enum Operation {
    Conv,
    Fc,
    /// Channel shuffle: skipped, but its output must have its input's shape.
    Shuffle,
    Skipped,
}

/// One node, read but not yet checked against the graph.
struct Node {
    name: String,
    id: u64,
    operation: Operation,
    providers: Vec<u64>,
    consumers: Vec<u64>,
    input_dim: Option<Vec<u32>>,
    output_dim: Option<Vec<u32>>,
    param: Map<String, Value>,
}

/// Reads `key` from `object` with serde; absent or `null` is `None`.
fn field<T: DeserializeOwned>(object: &Map<String, Value>, key: &str, shown: &str) -> Result<Option<T>, FieldError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(|e| FieldError::new(shown, e.to_string())),
    }
}

fn required<T: DeserializeOwned>(object: &Map<String, Value>, key: &str) -> Result<T, FieldError> {
    field(object, key, key)?.ok_or_else(|| FieldError::new(key, "missing"))
}

/// A tensor shape: every dimension positive.
fn dims(object: &Map<String, Value>, key: &str) -> Result<Option<Vec<u32>>, FieldError> {
    let Some(raw) = field::<Vec<i64>>(object, key, key)? else {
        return Ok(None);
    };
    let checked = raw.iter().enumerate().map(|(i, &d)| {
        u32::try_from(d)
            .ok()
            .filter(|&d| d > 0)
            .ok_or_else(|| FieldError::new(key, format!("dimension {i} is {d}; every dimension must be positive")))
    });
    checked.collect::<Result<Vec<u32>, FieldError>>().map(Some)
}

impl Node {
    fn read(object: &Map<String, Value>, position: usize) -> Result<Node, FieldError> {
        let operation: String = required(object, "operation")?;
        let operation = match operation.as_str() {
            "OP_CONV" => Operation::Conv,
            "OP_FC" => Operation::Fc,
            "OP_SHUFFLE" => Operation::Shuffle,
            op if SKIPPED_OPERATIONS.contains(&op) => Operation::Skipped,
            "OP_MATMUL" => {
                return Err(FieldError::new(
                    "operation",
                    "OP_MATMUL is not supported: the format gives no weight shape",
                ))
            }
            other => {
                let known = format!("OP_CONV, OP_FC, {}", SKIPPED_OPERATIONS.join(", "));
                return Err(FieldError::new(
                    "operation",
                    format!("unknown operation `{other}` (known: {known})"),
                ));
            }
        };
        let param = match operation {
            Operation::Skipped | Operation::Shuffle => Map::new(),
            _ => required(object, "param")?,
        };
        Ok(Node {
            name: required(object, "name")?,
            id: field(object, "index", "index")?.unwrap_or(position as u64),
            operation,
            providers: required(object, "provider_index")?,
            consumers: required(object, "consumer_index")?,
            input_dim: dims(object, "input_dim")?,
            output_dim: dims(object, "output_dim")?,
            param,
        })
    }

    fn param_u32(&self, key: &str, default: Option<u32>, minimum: u32) -> Result<u32, FieldError> {
        let shown = format!("param.{key}");
        let value = match (field::<i64>(&self.param, key, &shown)?, default) {
            (Some(v), _) => v,
            (None, Some(d)) => return Ok(d),
            (None, None) => return Err(FieldError::new(shown, "missing")),
        };
        match u32::try_from(value) {
            Ok(v) if v >= minimum => Ok(v),
            Ok(_) => Err(FieldError::new(
                shown,
                format!("{value} is below the minimum {minimum}"),
            )),
            Err(_) if value < 0 => Err(FieldError::new(shown, format!("{value} is negative"))),
            Err(_) => Err(FieldError::new(
                shown,
                format!("{value} is too large (at most {})", u32::MAX),
            )),
        }
    }

    fn need_dim(&self, key: &'static str, rank: &[usize]) -> Result<&[u32], FieldError> {
        let d = match key {
            "input_dim" => &self.input_dim,
            _ => &self.output_dim,
        };
        let d = d.as_deref().ok_or_else(|| FieldError::new(key, "missing"))?;
        if rank.contains(&d.len()) {
            Ok(d)
        } else {
            Err(FieldError::new(
                key,
                format!("has {} dimensions, expected {rank:?}", d.len()),
            ))
        }
    }

    fn conv(&self) -> Result<Layer, FieldError> {
        let pair = |h: &str, w: &str, default: Option<u32>, min: u32| -> Result<(u32, u32), FieldError> {
            Ok((self.param_u32(h, default, min)?, self.param_u32(w, default, min)?))
        };
        let &[_, channels, in_h, in_w] = self.need_dim("input_dim", &[4])? else {
            return Err(FieldError::new("input_dim", "expected 4 dimensions"));
        };
        let geometry = ConvGeometry {
            c_in: self.param_u32("input_channel", None, 1)?,
            c_out: self.param_u32("output_channel", None, 1)?,
            kernel: pair("kernel_h", "kernel_w", None, 1)?,
            stride: pair("stride_h", "stride_w", Some(1), 1)?,
            pad_begin: pair("pad_h0", "pad_w0", Some(0), 0)?,
            pad_end: pair("pad_h1", "pad_w1", Some(0), 0)?,
            dilation: pair("dilation_h", "dilation_w", Some(1), 1)?,
            groups: self.param_u32("group", Some(1), 1)?,
            input: (in_h, in_w),
        };
        if channels != geometry.c_in {
            let message = format!("has {channels} channels but param.input_channel is {}", geometry.c_in);
            return Err(FieldError::new("input_dim", message));
        }
        let layer = geometry.layer(&self.name).map_err(in_file_terms)?;
        let d = layer.shape.dims();
        let output = self.need_dim("output_dim", &[4])?;
        if output.get(1..) != Some(&[d.c_out, d.out_h, d.out_w][..]) {
            let message = format!(
                "{output:?} disagrees with the derived [C, H, W] = [{}, {}, {}]",
                d.c_out, d.out_h, d.out_w
            );
            return Err(FieldError::new("output_dim", message));
        }
        Ok(layer)
    }

    /// A channel shuffle permutes channels: the output has the input's shape.
    fn shuffle(&self) -> Result<(), FieldError> {
        match (&self.input_dim, &self.output_dim) {
            (Some(input), Some(output)) if input != output => Err(FieldError::new(
                "output_dim",
                format!("{output:?} differs from the input_dim {input:?}: a channel shuffle keeps the shape"),
            )),
            _ => Ok(()),
        }
    }

    fn fc(&self) -> Result<Layer, FieldError> {
        let c_in = self.param_u32("num_input", None, 1)?;
        let c_out = self.param_u32("num_output", None, 1)?;
        for (key, features, param) in [("input_dim", c_in, "num_input"), ("output_dim", c_out, "num_output")] {
            let d = self.need_dim(key, &[2, 4])?;
            let flat: u64 = d.iter().skip(1).map(|&x| u64::from(x)).product();
            if flat != u64::from(features) {
                return Err(FieldError::new(
                    key,
                    format!("{d:?} holds {flat} features but param.{param} is {features}"),
                ));
            }
        }
        fc_layer(&self.name, c_in, c_out).map_err(|mut e| {
            e.field = match e.field.as_str() {
                "c_in" => "param.num_input".to_owned(),
                "c_out" => "param.num_output".to_owned(),
                _ => e.field,
            };
            e
        })
    }
}

/// Renames a geometry field (`c_in`, `in_h`) to the file's own (`param.input_channel`,
/// `input_dim`), so an error points at what the user can find in the file.
fn in_file_terms(mut e: FieldError) -> FieldError {
    e.field = match e.field.as_str() {
        "c_in" => "param.input_channel".to_owned(),
        "c_out" => "param.output_channel".to_owned(),
        "groups" => "param.group".to_owned(),
        "in_h" | "in_w" => "input_dim".to_owned(),
        "out_h" | "out_w" => "output_dim".to_owned(),
        f => format!("param.{f}"),
    };
    e
}

#[derive(Deserialize)]
struct File {
    node_list: Vec<Map<String, Value>>,
}

/// Parses a PIMCOMP-NN JSON graph into its conv/fc layers in execution order.
pub fn parse(text: &str, source: &str, name: &str) -> Result<Network, NetworkError> {
    let file: File = serde_json::from_str(text).map_err(|e| {
        let e = NetworkError::new(source, format!("not a PIMCOMP-NN graph: {e}"));
        if e.message.contains("node_list") {
            e.at_field("node_list")
        } else {
            e
        }
    })?;
    let mut nodes = Vec::with_capacity(file.node_list.len());
    for (position, object) in file.node_list.iter().enumerate() {
        let label = match object.get("name") {
            Some(Value::String(n)) => n.clone(),
            _ => format!("node_list[{position}]"),
        };
        nodes.push(Node::read(object, position).map_err(|e| e.locate(source, &label))?);
    }
    let graph_nodes: Vec<GraphNode<'_>> = nodes
        .iter()
        .map(|n| GraphNode {
            name: &n.name,
            id: n.id,
            providers: &n.providers,
            consumers: &n.consumers,
        })
        .collect();
    let graph = graph::order(source, &graph_nodes)?;
    let mut layers = Vec::new();
    for &pos in &graph.order {
        let (Some(node), Some(providers)) = (nodes.get(pos), graph.providers.get(pos)) else {
            continue;
        };
        check_input_matches_provider(node, providers, &nodes).map_err(|e| e.locate(source, &node.name))?;
        let layer = match node.operation {
            Operation::Skipped => continue,
            Operation::Shuffle => {
                node.shuffle().map_err(|e| e.locate(source, &node.name))?;
                continue;
            }
            Operation::Conv => node.conv(),
            Operation::Fc => node.fc(),
        };
        if providers.is_empty() {
            return Err(
                FieldError::new("provider_index", "a conv or fc node needs an input").locate(source, &node.name)
            );
        }
        layers.push(layer.map_err(|e| e.locate(source, &node.name))?);
    }
    Network::new(name, source, layers)
}

/// A node fed by exactly one other node reads exactly that node's output tensor.
fn check_input_matches_provider(node: &Node, providers: &[usize], nodes: &[Node]) -> Result<(), FieldError> {
    let Some(provider) = providers
        .first()
        .filter(|_| providers.len() == 1)
        .and_then(|&p| nodes.get(p))
    else {
        return Ok(());
    };
    match (&node.input_dim, &provider.output_dim) {
        (Some(input), Some(output)) if input != output => Err(FieldError::new(
            "input_dim",
            format!(
                "{input:?} differs from the output_dim {output:?} of its provider `{}`",
                provider.name
            ),
        )),
        _ => Ok(()),
    }
}
