//! ONNX import: the mappable layers of an `.onnx` graph, derived from the graph alone.
//!
//! The file is decoded with a trimmed protobuf schema ([`proto`]); weight values are never
//! read, only their dimensions, so weight-stripped files (external data absent) import the
//! same as complete ones. Shapes are propagated from the graph input (a symbolic batch
//! dimension counts as 1; a symbolic spatial size needs [`ImportOptions::input_shape`])
//! through the operations that carry no weights, with constant folding of small integer
//! tensors so that `Shape -> Gather -> Unsqueeze -> Concat -> Reshape` chains resolve.
//! `Conv`, `Gemm` and `MatMul` with a constant weight become layers; every other node is
//! listed in [`Import::skipped`] with the reason. Shapes recorded in `value_info` (and the
//! graph outputs) are checked against the derived ones, and fill in the outputs of
//! operations this importer does not know. Errors name the file, the node, the field and
//! (in the message) the node's operator. See `docs/network-formats.md`.

mod layers;
mod ops;
mod order;
pub mod proto;
mod tensor;

use std::collections::{HashMap, HashSet};

use self::proto::{GraphProto, ModelProto, NodeProto, ValueInfoProto};
use self::tensor::{Node, Tensor};
use crate::geometry::FieldError;
use crate::{Layer, Network, NetworkError};

/// Oldest default-domain operator set read.
pub const MIN_OPSET: i64 = 7;
/// Newest default-domain operator set read.
pub const MAX_OPSET: i64 = 23;

/// Operators that carry weights but cannot be mapped; a graph holding one is refused.
pub const UNSUPPORTED_WEIGHTED: &[&str] = &[
    "ConvTranspose",
    "ConvInteger",
    "QLinearConv",
    "QLinearMatMul",
    "MatMulInteger",
    "DeformConv",
    "LSTM",
    "GRU",
    "RNN",
];

/// Options of an import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// `C, H, W` of the graph's (first) input, for graphs whose spatial size is symbolic.
    pub input_shape: Option<[u32; 3]>,
}

/// Where a layer came from, and what the layer table cannot express.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerOrigin {
    /// Operator (`Conv`, `Gemm`, `MatMul`).
    pub op_type: String,
    /// Dilation (height, width); the layer's output size already accounts for it.
    pub dilation: (u32, u32),
    /// Padding after the last row / column (the layer holds the leading side).
    pub pad_end: (u32, u32),
}

/// A node that did not become a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedOp {
    /// Node name (or its first output when unnamed).
    pub node: String,
    /// Operator.
    pub op_type: String,
    /// Why it needs no crossbar, or why its shape is not derived.
    pub reason: String,
}

/// The result of an import: the network and what was derived on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The mappable layers.
    pub network: Network,
    /// One entry per layer of `network`, in the same order.
    pub origins: Vec<LayerOrigin>,
    /// Every other node, in execution order.
    pub skipped: Vec<SkippedOp>,
    /// The graph input the shapes were propagated from, and its shape (batch included).
    pub input: (String, Vec<u64>),
    /// The default-domain opset of the file.
    pub opset: i64,
}

/// What is known about one tensor name.
enum Slot {
    Known(Tensor),
    /// Shape not derived; the node (label, operator) where knowledge stopped.
    Unknown(String, String),
}

/// Parses an ONNX file into its conv/fc layers (default options).
pub fn parse(bytes: &[u8], source: &str, name: &str) -> Result<Network, NetworkError> {
    import(bytes, source, name, &ImportOptions::default()).map(|i| i.network)
}

/// Imports an ONNX file: the network, each layer's origin, and the skipped nodes.
pub fn import(bytes: &[u8], source: &str, name: &str, options: &ImportOptions) -> Result<Import, NetworkError> {
    let model = ModelProto::decode_bytes(bytes)
        .map_err(|e| NetworkError::new(source, format!("not a valid ONNX model (truncated, or not ONNX): {e}")))?;
    if model.ir_version < 3 {
        let message = format!(
            "ir_version {}: not an ONNX model, or one older than IR version 3",
            model.ir_version
        );
        return Err(NetworkError::new(source, message).at_field("ir_version"));
    }
    let opset = default_opset(&model).map_err(|e| NetworkError::new(source, e.message).at_field(e.field))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| NetworkError::new(source, "the model has no graph").at_field("graph"))?;
    Importer::new(source, graph, opset)?.run(name, options)
}

fn default_opset(model: &ModelProto) -> Result<i64, FieldError> {
    let set = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .ok_or_else(|| FieldError::new("opset_import", "no operator set for the default (ai.onnx) domain"))?;
    if (MIN_OPSET..=MAX_OPSET).contains(&set.version) {
        Ok(set.version)
    } else {
        Err(FieldError::new(
            "opset_import",
            format!(
                "opset {} is not supported (this importer reads opsets {MIN_OPSET} to {MAX_OPSET})",
                set.version
            ),
        ))
    }
}

/// Known dimensions of a value_info entry (`None` = symbolic or unknown); `None` overall
/// when it records no shape.
fn recorded_dims(info: &ValueInfoProto) -> Option<Vec<Option<u64>>> {
    let shape = info.r#type.as_ref()?.tensor_type.as_ref()?.shape.as_ref()?;
    Some(
        shape
            .dim
            .iter()
            .map(|d| d.dim_value.and_then(|v| u64::try_from(v).ok()))
            .collect(),
    )
}

struct Importer<'g> {
    source: &'g str,
    graph: &'g GraphProto,
    opset: i64,
    slots: HashMap<String, Slot>,
    recorded: HashMap<&'g str, Vec<Option<u64>>>,
}

fn label(node: &NodeProto, position: usize) -> String {
    if !node.name.is_empty() {
        node.name.clone()
    } else if let Some(out) = node.output.first().filter(|o| !o.is_empty()) {
        out.clone()
    } else {
        format!("{}#{position}", node.op_type)
    }
}

impl<'g> Importer<'g> {
    fn new(source: &'g str, graph: &'g GraphProto, opset: i64) -> Result<Importer<'g>, NetworkError> {
        let mut slots = HashMap::new();
        for init in &graph.initializer {
            let t = tensor::from_proto(init, "initializer").map_err(|e| {
                NetworkError::new(source, e.message)
                    .at_layer(init.name.clone())
                    .at_field(e.field)
            })?;
            slots.insert(init.name.clone(), Slot::Known(t));
        }
        let recorded = graph
            .value_info
            .iter()
            .chain(&graph.output)
            .filter_map(|v| Some((v.name.as_str(), recorded_dims(v)?)))
            .collect();
        Ok(Importer {
            source,
            graph,
            opset,
            slots,
            recorded,
        })
    }

    fn node_error(&self, node: &Node<'_>, e: FieldError) -> NetworkError {
        NetworkError::new(self.source, format!("{} node: {}", node.op(), e.message))
            .at_layer(node.label.clone())
            .at_field(e.field)
    }

    /// Shapes of the graph inputs that are not initializers; returns the first one.
    fn inputs(&mut self, options: &ImportOptions) -> Result<(String, Vec<u64>), NetworkError> {
        let mut first = None;
        for info in &self.graph.input {
            if self.slots.contains_key(&info.name) {
                continue; // an initializer listed as input (IR < 4): a constant
            }
            let err = |field: &str, message: String| {
                NetworkError::new(self.source, format!("graph input: {message}"))
                    .at_layer(info.name.clone())
                    .at_field(field.to_owned())
            };
            let mut dims = recorded_dims(info).ok_or_else(|| err("type", "no tensor shape recorded".to_owned()))?;
            if let (None, Some(chw)) = (&first, options.input_shape) {
                if dims.len() != 4 {
                    let message = format!(
                        "--input-shape C,H,W needs an [N, C, H, W] input, this one has rank {}",
                        dims.len()
                    );
                    return Err(err("input_shape", message));
                }
                for (i, &given) in chw.iter().enumerate() {
                    if let Some(slot) = dims.get_mut(i + 1) {
                        match *slot {
                            Some(fixed) if fixed != u64::from(given) => {
                                let message = format!(
                                    "--input-shape gives {given} for dimension {} but the file fixes it to {fixed}",
                                    i + 1
                                );
                                return Err(err("input_shape", message));
                            }
                            _ => *slot = Some(u64::from(given)),
                        }
                    }
                }
            }
            let mut shape = Vec::with_capacity(dims.len());
            for (i, d) in dims.iter().enumerate() {
                match (d, i) {
                    (Some(v), _) => shape.push(*v),
                    (None, 0) => shape.push(1),
                    (None, _) => {
                        let message = format!(
                            "dimension {i} is symbolic; give its size with --input-shape C,H,W (here {:?})",
                            dims.iter()
                                .map(|d| d.map_or("?".to_owned(), |v| v.to_string()))
                                .collect::<Vec<_>>()
                        );
                        return Err(err(&format!("dim[{i}]"), message));
                    }
                }
            }
            let t = Tensor::runtime(shape.clone()).map_err(|e| err("type", e.message))?;
            self.slots.insert(info.name.clone(), Slot::Known(t));
            first.get_or_insert((info.name.clone(), shape));
        }
        first.ok_or_else(|| {
            NetworkError::new(self.source, "the graph has no input besides its initializers").at_field("input")
        })
    }

    fn run(mut self, name: &str, options: &ImportOptions) -> Result<Import, NetworkError> {
        let input = self.inputs(options)?;
        let nodes = &self.graph.node;
        let available: HashSet<&str> = self.slots.keys().map(String::as_str).collect();
        let sequence = order::order(nodes, &available).map_err(|o| {
            let node = nodes.get(o.node);
            let (lbl, op) = node.map_or((String::new(), ""), |n| (label(n, o.node), n.op_type.as_str()));
            NetworkError::new(self.source, format!("{op} node: {}", o.error.message))
                .at_layer(lbl)
                .at_field(o.error.field)
        })?;
        let mut layers: Vec<Layer> = Vec::new();
        let mut origins = Vec::new();
        let mut skipped = Vec::new();
        for pos in sequence {
            let Some(proto) = nodes.get(pos) else { continue };
            let node = Node {
                proto,
                label: label(proto, pos),
                opset: self.opset,
            };
            match self.step(&node)? {
                Step::Layer(mapped) => {
                    layers.push(mapped.layer);
                    origins.push(LayerOrigin {
                        op_type: node.op().to_owned(),
                        dilation: mapped.dilation,
                        pad_end: mapped.pad_end,
                    });
                }
                Step::Skipped(reason) => skipped.push(SkippedOp {
                    node: node.label.clone(),
                    op_type: node.op().to_owned(),
                    reason,
                }),
            }
        }
        let network = Network::new(name, self.source, layers)?;
        Ok(Import {
            network,
            origins,
            skipped,
            input,
            opset: self.opset,
        })
    }

    /// Derives one node's outputs (and its layer, if it is one).
    fn step(&mut self, node: &Node<'_>) -> Result<Step, NetworkError> {
        let op = node.op();
        let default_domain = node.proto.domain.is_empty() || node.proto.domain == "ai.onnx";
        if default_domain && UNSUPPORTED_WEIGHTED.contains(&op) {
            let e = FieldError::new(
                "op_type",
                format!("{op} carries weights but is not supported by this importer"),
            );
            return Err(self.node_error(node, e));
        }
        let mut unknown = None;
        let mut owned: Vec<Option<Tensor>> = Vec::with_capacity(node.proto.input.len());
        for (i, name) in node.proto.input.iter().enumerate() {
            match self.slots.get(name.as_str()) {
                _ if name.is_empty() => owned.push(None),
                Some(Slot::Known(t)) => owned.push(Some(t.clone())),
                Some(Slot::Unknown(at, at_op)) => {
                    unknown.get_or_insert((i, at.clone(), at_op.clone()));
                    owned.push(None);
                }
                None => owned.push(None),
            }
        }
        let inputs: Vec<Option<&Tensor>> = owned.iter().map(Option::as_ref).collect();
        let mappable = default_domain && matches!(op, "Conv" | "Gemm" | "MatMul");
        if let Some((i, at, at_op)) = unknown {
            if mappable {
                let message = format!("the shape of this input is not derived: it depends on `{at}` ({at_op}), whose output shape is unknown");
                return Err(self.node_error(node, FieldError::new(format!("input[{i}]"), message)));
            }
            let reason = format!("input shape unknown: it depends on `{at}` ({at_op})");
            self.mark_unknown(node, at, at_op);
            return Ok(Step::Skipped(reason));
        }
        let runtime_matmul = op == "MatMul" && inputs.get(1).copied().flatten().is_some_and(|b| !b.constant);
        if mappable && !runtime_matmul {
            let mapped = match op {
                "Conv" => layers::conv(node, &inputs),
                "Gemm" => layers::gemm(node, &inputs),
                _ => layers::matmul(node, &inputs),
            }
            .map_err(|e| self.node_error(node, e))?;
            self.store(node, vec![mapped.output.clone()])?;
            return Ok(Step::Layer(mapped));
        }
        if runtime_matmul {
            let out = matmul_shape(&inputs).map_err(|e| self.node_error(node, e))?;
            self.store(node, vec![out])?;
            return Ok(Step::Skipped(
                "both operands are computed at run time: no stationary weights".to_owned(),
            ));
        }
        let derived = if default_domain {
            ops::infer(node, &inputs)
        } else {
            None
        };
        match derived {
            Some(outputs) => {
                let outputs = outputs.map_err(|e| self.node_error(node, e))?;
                self.store(node, outputs)?;
                Ok(Step::Skipped(ops::reason(op).unwrap_or("no weights").to_owned()))
            }
            None => {
                let from_file = self.store_recorded(node)?;
                Ok(Step::Skipped(if from_file {
                    "not a known operation: output shapes taken from value_info".to_owned()
                } else {
                    "not a known operation: output shapes not derived".to_owned()
                }))
            }
        }
    }

    fn mark_unknown(&mut self, node: &Node<'_>, at: String, at_op: String) {
        for out in &node.proto.output {
            self.slots.insert(out.clone(), Slot::Unknown(at.clone(), at_op.clone()));
        }
    }

    /// Stores the derived outputs after checking them against `value_info`. Outputs the
    /// rule does not produce stay unknown.
    fn store(&mut self, node: &Node<'_>, outputs: Vec<Tensor>) -> Result<(), NetworkError> {
        let mut derived = outputs.into_iter();
        for (i, out) in node.proto.output.iter().enumerate() {
            let slot = match derived.next() {
                Some(t) => {
                    self.check_recorded(node, i, out, &t.shape)?;
                    Slot::Known(t)
                }
                None => Slot::Unknown(node.label.clone(), node.op().to_owned()),
            };
            if !out.is_empty() {
                self.slots.insert(out.clone(), slot);
            }
        }
        Ok(())
    }

    fn check_recorded(&self, node: &Node<'_>, i: usize, out: &str, shape: &[u64]) -> Result<(), NetworkError> {
        let Some(dims) = self.recorded.get(out) else {
            return Ok(());
        };
        let agrees = dims.len() == shape.len() && dims.iter().zip(shape).all(|(r, d)| r.is_none_or(|r| r == *d));
        if agrees {
            return Ok(());
        }
        let shown: Vec<String> = dims
            .iter()
            .map(|d| d.map_or("?".to_owned(), |v| v.to_string()))
            .collect();
        let message = format!(
            "value_info records output `{out}` as [{}] but the graph gives {shape:?}",
            shown.join(", ")
        );
        Err(self.node_error(node, FieldError::new(format!("output[{i}]"), message)))
    }

    /// Outputs of an unknown operation: from `value_info` when fully known. Returns whether
    /// every output had one.
    fn store_recorded(&mut self, node: &Node<'_>) -> Result<bool, NetworkError> {
        let mut all = true;
        for out in &node.proto.output {
            let known = self
                .recorded
                .get(out.as_str())
                .and_then(|dims| dims.iter().copied().collect::<Option<Vec<u64>>>());
            let slot = match known.map(Tensor::runtime) {
                Some(Ok(t)) => Slot::Known(t),
                Some(Err(e)) => return Err(self.node_error(node, e)),
                None => {
                    all = false;
                    Slot::Unknown(node.label.clone(), node.op().to_owned())
                }
            };
            self.slots.insert(out.clone(), slot);
        }
        Ok(all)
    }
}

/// The outcome of one node.
enum Step {
    Layer(layers::Mapped),
    Skipped(String),
}

/// Output shape of a matrix product of two runtime tensors (numpy `matmul` rules).
fn matmul_shape(inputs: &[Option<&Tensor>]) -> Result<Tensor, FieldError> {
    let a = layers::input(inputs, 0)?;
    let b = layers::input(inputs, 1)?;
    let (Some((&k, a_rest)), Some((&n, b_rest))) = (a.shape.split_last(), b.shape.split_last()) else {
        return Err(FieldError::new("input[0]", "scalars cannot be multiplied"));
    };
    let (m, a_batch) = a_rest.split_last().map_or((None, &[][..]), |(m, r)| (Some(*m), r));
    let (kb, b_batch) = b_rest.split_last().map_or((n, &[][..]), |(k, r)| (*k, r));
    let n = if b_rest.is_empty() { None } else { Some(n) };
    if kb != k {
        return Err(FieldError::new(
            "input[1]",
            format!("inner dimensions {k} and {kb} differ"),
        ));
    }
    let rank = a_batch.len().max(b_batch.len());
    let pick = |s: &[u64], i: usize| {
        let off = rank - s.len();
        if i < off {
            1
        } else {
            s.get(i - off).copied().unwrap_or(1)
        }
    };
    let mut shape = Vec::with_capacity(rank + 2);
    for i in 0..rank {
        let (x, y) = (pick(a_batch, i), pick(b_batch, i));
        shape.push(match (x, y) {
            _ if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(FieldError::new(
                    "input[1]",
                    format!("batch dimensions {x} and {y} do not broadcast"),
                ))
            }
        });
    }
    shape.extend(m);
    shape.extend(n);
    Tensor::runtime(shape)
}

#[cfg(test)]
mod tests;
