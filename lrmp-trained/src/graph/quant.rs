//! Quantization of a [`GraphSpec`] for a precision assignment, and its forward pass through
//! the bit-accurate crossbar model (`imc_model::xbar`, the packed engine).
//!
//! Per layer `l` with precision `(b_w, b_a)` (`b_a` is the precision of the layer's *input*,
//! the bits streamed into its crossbars, as in the cost model):
//! - weights: symmetric per layer, `s_w = max|w| / (2^(b_w-1) - 1)`, `q = round(w / s_w)`;
//! - every stored tensor `t` (the image, ReLU outputs, residual sums, pooled maps) holds
//!   unsigned codes of `B_t` bits, `B_t` the widest `b_a` of the layers that read it, on the
//!   grid `s_t = clip_t / (2^B_t - 1)` with `clip_t` calibrated on training images
//!   ([`super::float::calibrate`]); the image is `round(p / pixel_max * (2^B - 1))`;
//! - a layer reading `t` with `b_a < B_t` narrows each code to
//!   `round(x * (2^b_a - 1) / (2^B_t - 1))` (integer, half up): its input grid is
//!   `clip_t / (2^b_a - 1)`;
//! - bias in accumulator units `round(b / (s_w * s_a))`;
//! - a layer's accumulators are requantized to its output tensor's codes (the clamp at zero
//!   is the ReLU); a layer that ends a residual branch keeps its accumulators, and the add
//!   rescales both operands to `1/256` of the output grid, sums them, rounds and clamps;
//! - max pooling takes the largest code; global average pooling sums codes and requantizes
//!   by `s_in / (N * s_out)`;
//! - the last layer's accumulators are the logits (argmax is scale-free).
//!
//! Everything in the datapath is integer; floats only prepare the scales.

use std::fmt;

use imc_model::xbar::{
    requantize, AdcStats, PackedLayer, PackedScratch, QuantizedLayer, Requant, WeightMatrix, XbarError,
};
use imc_model::{ArchConfig, Bits, Precision};

use super::weights::FloatWeights;
use super::{argmax, parallel_map, GraphSpec, Op, Samples, Shape};

/// Why a network could not be quantized or run.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantError {
    /// The assignment has the wrong number of layers.
    LayerCount {
        /// Layers of the network.
        expected: usize,
        /// Entries given.
        got: usize,
    },
    /// The functional model refused a layer.
    Xbar {
        /// Layer name.
        layer: &'static str,
        /// Why.
        error: XbarError,
    },
    /// The network uses a node the quantized pass cannot run (a spec error).
    Unsupported {
        /// Node index.
        node: usize,
        /// What.
        message: &'static str,
    },
    /// An image of the wrong size, or a worker thread that failed.
    Input(&'static str),
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantError::LayerCount { expected, got } => {
                write!(f, "precision assignment has {got} layers, the network has {expected}")
            }
            QuantError::Xbar { layer, error } => write!(f, "layer `{layer}`: {error}"),
            QuantError::Unsupported { node, message } => write!(f, "network node {node}: {message}"),
            QuantError::Input(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for QuantError {}

/// How a tensor is held during the quantized pass.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Held {
    /// Unsigned codes of `bits` on the grid `scale`.
    Codes { bits: u8, scale: f64 },
    /// A layer's raw accumulators at `scale` (feeds residual adds or is the logits).
    Accumulators { scale: f64 },
}

/// One quantized layer.
struct QLayer {
    name: &'static str,
    weights: Vec<i8>,
    bias: Vec<i32>,
    precision: Precision,
    packed: PackedLayer,
    /// Narrowing of its input codes: `(from_bits)` when `b_a` is below the tensor's bits.
    narrow_from: Option<u8>,
    /// Requantization of its accumulators to its output codes (`None`: kept as accumulators).
    requant: Option<(Requant, Bits)>,
}

/// How each node runs.
enum Step {
    Layer(usize),
    Add { a: Operand, b: Operand, out_bits: u8 },
    MaxPool { size: usize },
    AvgPool { requant: Requant, bits: Bits },
}

/// An add operand rescaled to 1/256 of the output grid.
struct Operand {
    tensor: usize,
    /// Whether the tensor is a layer's raw accumulators (else codes).
    accumulators: bool,
    rescale: Requant,
}

/// The network quantized for one precision assignment.
pub struct QuantizedGraph {
    spec: GraphSpec,
    shapes: Vec<Shape>,
    input_bits: u8,
    layers: Vec<QLayer>,
    steps: Vec<Step>,
}

fn max_code(bits: u8) -> f64 {
    f64::from((1u32 << bits) - 1)
}

/// Bits each tensor is stored at: the widest `b_a` of the layers that read it, directly or
/// through max pools (a pooled tensor shares its input's codes); 8 for a tensor no layer
/// reads. `precisions` has one entry per layer of `spec`.
pub fn storage_bits(spec: &GraphSpec, precisions: &[Precision]) -> Vec<u8> {
    let mut layer_of = vec![None; spec.nodes.len()];
    for (l, (node, ..)) in spec.layers().enumerate() {
        if let Some(slot) = layer_of.get_mut(node) {
            *slot = Some(l);
        }
    }
    let mut bits = vec![0u8; spec.nodes.len() + 1];
    // Backwards, so a pool's output knows its readers before its input is visited.
    for (i, node) in spec.nodes.iter().enumerate().rev() {
        let read_at = match (layer_of.get(i).copied().flatten(), node.op) {
            (Some(l), _) => precisions.get(l).map_or(8, |p| p.a_bits.get()),
            (None, Op::MaxPool { .. }) => bits.get(i + 1).copied().unwrap_or(0),
            _ => 0,
        };
        if let Some(b) = bits.get_mut(node.input) {
            *b = (*b).max(read_at);
        }
    }
    for b in &mut bits {
        if *b == 0 {
            *b = 8;
        }
    }
    // Forwards: a pooled tensor holds exactly its input's codes.
    for (i, node) in spec.nodes.iter().enumerate() {
        if let Op::MaxPool { .. } = node.op {
            let b = bits.get(node.input).copied().unwrap_or(8);
            if let Some(slot) = bits.get_mut(i + 1) {
                *slot = b;
            }
        }
    }
    bits
}

/// `round(v * m * 2^-shift)` without clamping.
fn rescale(v: i64, q: Requant) -> i64 {
    let product = i128::from(v) * i128::from(q.multiplier());
    ((product + (1i128 << (q.shift() - 1))) >> q.shift()) as i64
}

/// Sub-grid of a residual add: operands are summed in units of `1/ADD_FRACTION` code.
const ADD_FRACTION: i64 = 256;

impl QuantizedGraph {
    /// Quantizes `weights` of `spec` for `precisions` (one per layer) with the calibrated
    /// per-tensor `clips`.
    pub fn new(
        spec: &GraphSpec,
        shapes: &[Shape],
        weights: &FloatWeights,
        clips: &[f32],
        arch: &ArchConfig,
        precisions: &[Precision],
    ) -> Result<QuantizedGraph, QuantError> {
        let count = spec.layer_count();
        if precisions.len() != count {
            return Err(QuantError::LayerCount {
                expected: count,
                got: precisions.len(),
            });
        }
        let tensors = spec.nodes.len() + 1;
        if shapes.len() != tensors || clips.len() != tensors {
            return Err(QuantError::Input("shapes or clips do not match the network"));
        }
        let bits = storage_bits(spec, precisions);
        let feeds_only_adds = |t: usize| {
            let mut readers = spec
                .nodes
                .iter()
                .filter(|n| n.input == t || matches!(n.op, Op::Add { other, .. } if other == t));
            readers.all(|n| matches!(n.op, Op::Add { .. }))
        };
        let mut held: Vec<Held> = Vec::with_capacity(tensors);
        let code_scale = |t: usize| {
            let b = bits.get(t).copied().unwrap_or(8);
            (b, f64::from(clips.get(t).copied().unwrap_or(1.0)) / max_code(b))
        };
        let (b0, s0) = code_scale(0);
        held.push(Held::Codes { bits: b0, scale: s0 });
        let mut layers = Vec::with_capacity(count);
        let mut steps = Vec::with_capacity(spec.nodes.len());
        let mut fl_iter = weights.layers().iter();
        let last = spec.nodes.len() - 1;
        for (i, node) in spec.nodes.iter().enumerate() {
            let unsupported = |message| QuantError::Unsupported { node: i, message };
            let t = i + 1;
            let input_held = held
                .get(node.input)
                .copied()
                .ok_or(unsupported("reads a later tensor"))?;
            match node.op {
                Op::Layer {
                    name,
                    geometry: g,
                    relu,
                } => {
                    let l = layers.len();
                    let p = *precisions.get(l).ok_or(unsupported("more layers than precisions"))?;
                    let fl = fl_iter.next().ok_or(unsupported("weights have fewer layers"))?;
                    let xbar = |error| QuantError::Xbar { layer: name, error };
                    let Held::Codes {
                        bits: in_bits,
                        scale: _,
                    } = input_held
                    else {
                        return Err(unsupported("a layer reads raw accumulators"));
                    };
                    let a_bits = p.a_bits.get();
                    let a_scale = f64::from(clips.get(node.input).copied().unwrap_or(1.0)) / max_code(a_bits);
                    let w_bits = p.w_bits.get();
                    if !(2..=imc_model::xbar::MAX_FUNCTIONAL_BITS).contains(&w_bits) {
                        return Err(xbar(XbarError::UnsupportedBits {
                            what: "w_bits",
                            bits: w_bits,
                        }));
                    }
                    let levels = f64::from((1i32 << (w_bits - 1)) - 1);
                    let w_max = fl.weight.iter().fold(0f64, |m, v| m.max(f64::from(v.abs())));
                    let s_w = if w_max > 0.0 { w_max / levels } else { 1.0 };
                    let qweights: Vec<i8> = fl
                        .weight
                        .iter()
                        .map(|&v| (f64::from(v) / s_w).round().clamp(-levels, levels) as i8)
                        .collect();
                    let acc_scale = s_w * a_scale;
                    let bias: Vec<i32> = fl
                        .bias
                        .iter()
                        .map(|&b| {
                            (f64::from(b) / acc_scale)
                                .round()
                                .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
                        })
                        .collect();
                    let keep_acc = i == last || feeds_only_adds(t);
                    if !keep_acc && !relu {
                        return Err(unsupported("a layer without ReLU must feed residual adds"));
                    }
                    let requant = if keep_acc {
                        held.push(Held::Accumulators { scale: acc_scale });
                        None
                    } else {
                        let (out_bits, out_scale) = code_scale(t);
                        held.push(Held::Codes {
                            bits: out_bits,
                            scale: out_scale,
                        });
                        let out_bits = Bits::new(out_bits).ok_or(unsupported("bad bits"))?;
                        Some((Requant::from_scale(acc_scale / out_scale).map_err(xbar)?, out_bits))
                    };
                    let packed = {
                        let matrix = WeightMatrix::new(&qweights, g.rows(), g.c_out, p.w_bits).map_err(xbar)?;
                        let view = QuantizedLayer::new(g, matrix, &bias).map_err(xbar)?;
                        PackedLayer::new(arch, &view).map_err(xbar)?
                    };
                    layers.push(QLayer {
                        name,
                        weights: qweights,
                        bias,
                        precision: p,
                        packed,
                        narrow_from: (a_bits < in_bits).then_some(in_bits),
                        requant,
                    });
                    steps.push(Step::Layer(l));
                }
                Op::Add { other, relu } => {
                    if !relu {
                        return Err(unsupported("residual adds are followed by ReLU"));
                    }
                    let (out_bits, out_scale) = code_scale(t);
                    let operand = |tensor: usize| -> Result<Operand, QuantError> {
                        let (scale, accumulators) = match held.get(tensor) {
                            Some(Held::Codes { scale, .. }) => (*scale, false),
                            Some(Held::Accumulators { scale }) => (*scale, true),
                            None => return Err(unsupported("adds a later tensor")),
                        };
                        let rescale = Requant::from_scale(scale / out_scale * ADD_FRACTION as f64)
                            .map_err(|_| unsupported("residual scales out of range"))?;
                        Ok(Operand {
                            tensor,
                            accumulators,
                            rescale,
                        })
                    };
                    steps.push(Step::Add {
                        a: operand(node.input)?,
                        b: operand(other)?,
                        out_bits,
                    });
                    held.push(Held::Codes {
                        bits: out_bits,
                        scale: out_scale,
                    });
                }
                Op::MaxPool { size } => {
                    if !matches!(input_held, Held::Codes { .. }) {
                        return Err(unsupported("pools raw accumulators"));
                    }
                    steps.push(Step::MaxPool { size });
                    held.push(input_held);
                }
                Op::GlobalAvgPool => {
                    let Held::Codes { scale: in_scale, .. } = input_held else {
                        return Err(unsupported("pools raw accumulators"));
                    };
                    let (_, h, w) = shapes.get(node.input).copied().unwrap_or((0, 0, 0));
                    let n = (h * w).max(1) as f64;
                    let (out_bits, out_scale) = code_scale(t);
                    let requant = Requant::from_scale(in_scale / (n * out_scale))
                        .map_err(|_| unsupported("pool scale out of range"))?;
                    steps.push(Step::AvgPool {
                        requant,
                        bits: Bits::new(out_bits).ok_or(unsupported("bad bits"))?,
                    });
                    held.push(Held::Codes {
                        bits: out_bits,
                        scale: out_scale,
                    });
                }
            }
        }
        Ok(QuantizedGraph {
            spec: *spec,
            shapes: shapes.to_vec(),
            input_bits: b0,
            layers,
            steps,
        })
    }

    /// The image's activation codes: pixel `p` to `round(p / pixel_max * (2^B - 1))`,
    /// integer half up, `B` the widest `b_a` of the layers reading the image.
    pub fn input_codes<'a>(&self, pixels: &'a [u8]) -> impl Iterator<Item = u8> + 'a {
        let codes = u32::from(max_code(self.input_bits) as u16);
        let pmax = u32::from(self.spec.pixel_max.max(1));
        pixels
            .iter()
            .map(move |&p| ((u32::from(p) * codes * 2 + pmax) / (2 * pmax)) as u8)
    }

    /// The quantized tensors of every layer, in execution order.
    pub fn layer_tensors(&self) -> impl Iterator<Item = LayerTensors<'_>> {
        self.layers.iter().map(|l| LayerTensors {
            name: l.name,
            weights: &l.weights,
            bias: &l.bias,
            precision: l.precision,
            requant: l.requant,
        })
    }

    /// Classifies one image through the crossbar model; returns the class and ADC activity.
    /// The logits stay in `s` ([`Scratch::logits`]).
    pub fn classify(&self, pixels: &[u8], s: &mut Scratch) -> Result<(usize, AdcStats), QuantError> {
        if pixels.len() != self.spec.pixels() {
            return Err(QuantError::Input("an image of the wrong size"));
        }
        let tensors = self.steps.len() + 1;
        s.codes.resize_with(tensors, Vec::new);
        s.accs.resize_with(tensors, Vec::new);
        let mut codes = std::mem::take(&mut s.codes);
        let mut accs = std::mem::take(&mut s.accs);
        if let Some(c0) = codes.first_mut() {
            c0.clear();
            c0.extend(self.input_codes(pixels));
        }
        let mut stats = AdcStats::default();
        let result = (|| {
            for (i, (step, node)) in self.steps.iter().zip(self.spec.nodes).enumerate() {
                let t = i + 1;
                let (before, after) = codes.split_at_mut(t);
                let out = after.first_mut().ok_or(QuantError::Input("tensor buffers"))?;
                let input = before.get(node.input).ok_or(QuantError::Input("tensor buffers"))?;
                match step {
                    Step::Layer(l) => {
                        let q = self.layers.get(*l).ok_or(QuantError::Input("layer table"))?;
                        let xbar = |error| QuantError::Xbar { layer: q.name, error };
                        let x: &[u8] = match q.narrow_from {
                            Some(from) => {
                                let (to, from) = (
                                    u32::from(max_code(q.precision.a_bits.get()) as u16),
                                    u32::from(max_code(from) as u16),
                                );
                                s.narrow.clear();
                                s.narrow.extend(
                                    input
                                        .iter()
                                        .map(|&v| ((u32::from(v) * to * 2 + from) / (2 * from)) as u8),
                                );
                                &s.narrow
                            }
                            None => input,
                        };
                        let acc = accs.get_mut(t).ok_or(QuantError::Input("tensor buffers"))?;
                        acc.resize(q.packed.geometry().output_len(), 0);
                        stats.merge(
                            q.packed
                                .accumulate(x, q.precision.a_bits, &mut s.packed, acc)
                                .map_err(xbar)?,
                        );
                        if let Some((requant, bits)) = q.requant {
                            out.resize(acc.len(), 0);
                            requantize(acc, requant, bits, out).map_err(xbar)?;
                        }
                    }
                    Step::Add { a, b, out_bits } => {
                        let value = |op: &Operand, k: usize| -> i64 {
                            let raw = if op.accumulators {
                                accs.get(op.tensor).and_then(|a| a.get(k)).copied().unwrap_or(0)
                            } else {
                                before
                                    .get(op.tensor)
                                    .and_then(|c| c.get(k))
                                    .map_or(0, |&v| i64::from(v))
                            };
                            rescale(raw, op.rescale)
                        };
                        let len = self.shapes.get(t).map_or(0, |s| s.0 * s.1 * s.2);
                        let max = max_code(*out_bits) as i64;
                        out.clear();
                        out.extend((0..len).map(|k| {
                            let sum = value(a, k) + value(b, k);
                            ((sum + ADD_FRACTION / 2).div_euclid(ADD_FRACTION)).clamp(0, max) as u8
                        }));
                    }
                    Step::MaxPool { size } => {
                        let (c, h, w) = self.shapes.get(node.input).copied().unwrap_or((0, 0, 0));
                        let (oh, ow) = (h / size, w / size);
                        out.clear();
                        for ch in input.chunks_exact((h * w).max(1)).take(c) {
                            for oy in 0..oh {
                                for ox in 0..ow {
                                    let mut m = 0u8;
                                    for dy in 0..*size {
                                        for dx in 0..*size {
                                            m = m.max(
                                                ch.get((oy * size + dy) * w + ox * size + dx).copied().unwrap_or(0),
                                            );
                                        }
                                    }
                                    out.push(m);
                                }
                            }
                        }
                    }
                    Step::AvgPool { requant, bits } => {
                        let (c, h, w) = self.shapes.get(node.input).copied().unwrap_or((0, 0, 0));
                        let sums: Vec<i64> = input
                            .chunks_exact((h * w).max(1))
                            .take(c)
                            .map(|ch| ch.iter().map(|&v| i64::from(v)).sum())
                            .collect();
                        out.resize(sums.len(), 0);
                        requantize(&sums, *requant, *bits, out).map_err(|error| QuantError::Xbar {
                            layer: "global average pool",
                            error,
                        })?;
                    }
                }
            }
            Ok(())
        })();
        s.codes = codes;
        s.accs = accs;
        result?;
        let logits = s.logits();
        Ok((argmax(logits), stats))
    }
}

/// One quantized layer as [`QuantizedGraph::classify`] runs it.
#[derive(Clone, Copy, Debug)]
pub struct LayerTensors<'a> {
    /// Layer name.
    pub name: &'static str,
    /// Weights, `c_out` columns of `rows` (the crossbar model's layout).
    pub weights: &'a [i8],
    /// Bias in accumulator units.
    pub bias: &'a [i32],
    /// The layer's `(b_w, b_a)`.
    pub precision: Precision,
    /// Requantization of its accumulators to its output codes; `None` if it keeps them.
    pub requant: Option<(Requant, Bits)>,
}

/// Reusable buffers of the forward pass.
#[derive(Default)]
pub struct Scratch {
    codes: Vec<Vec<u8>>,
    accs: Vec<Vec<i64>>,
    narrow: Vec<u8>,
    packed: PackedScratch,
}

impl Scratch {
    /// The last layer's accumulators of the latest [`QuantizedGraph::classify`] call.
    pub fn logits(&self) -> &[i64] {
        self.accs.last().map_or(&[], Vec::as_slice)
    }
}

/// Accuracy of a quantized network on a set of images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Correct / total, in 0..1.
    pub accuracy: f64,
    /// Correctly classified images.
    pub correct: usize,
    /// Images evaluated.
    pub total: usize,
    /// ADC activity over all of them.
    pub adc: AdcStats,
}

/// Runs `indices` of `data` through the crossbar model on all cores.
pub fn evaluate(q: &QuantizedGraph, data: &dyn Samples, indices: &[usize]) -> Result<Evaluation, QuantError> {
    let results = parallel_map(indices, Scratch::default, |s, i| {
        let (image, label) = (data.image(i).ok_or(QuantError::Input("image index"))?, data.label(i));
        let (class, stats) = q.classify(image, s)?;
        Ok::<_, QuantError>((label.is_some_and(|l| usize::from(l) == class), stats))
    })
    .ok_or(QuantError::Input("a worker thread failed"))?;
    let (mut correct, mut adc) = (0, AdcStats::default());
    for r in results {
        let (hit, stats) = r?;
        correct += usize::from(hit);
        adc.merge(stats);
    }
    Ok(Evaluation {
        accuracy: correct as f64 / indices.len().max(1) as f64,
        correct,
        total: indices.len(),
        adc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imc_model::Bits;

    fn p(w: u8, a: u8) -> Precision {
        Precision {
            w_bits: Bits::new(w).unwrap(),
            a_bits: Bits::new(a).unwrap(),
        }
    }

    #[test]
    fn shared_and_pooled_tensors_are_stored_at_their_widest_reader() {
        let spec = &crate::fashion::SPEC;
        let mut precisions = vec![p(8, 8); spec.layer_count()];
        // Layers: 0 conv1, 1 b1.conv1 (reads the pooled t2), 3 b2.conv1 and 5 b2.shortcut
        // (both read t5), 12 fc (reads the average pool t18).
        precisions[1].a_bits = Bits::new(5).unwrap();
        precisions[3].a_bits = Bits::new(3).unwrap();
        precisions[5].a_bits = Bits::new(6).unwrap();
        precisions[12].a_bits = Bits::new(4).unwrap();
        let bits = storage_bits(spec, &precisions);
        // conv1's output t1 is pooled into t2, which b1.conv1 reads at 5 and the residual
        // add reads as codes: both hold 5-bit codes.
        assert_eq!((bits[1], bits[2]), (5, 5));
        assert_eq!(bits[5], 6, "b2.conv1 at 3 and the shortcut at 6 share t5");
        assert_eq!(bits[18], 4);
        assert_eq!(bits[0], 8, "the image, read by conv1 at 8");
    }
}
