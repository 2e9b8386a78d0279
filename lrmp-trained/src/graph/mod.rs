//! One facility for every network this project trains: a network is a [`GraphSpec`] (a
//! static list of nodes over tensors), and the same code trains it ([`train`], feature
//! `train`), stores its weights ([`weights`]), runs it in float ([`float`]) and runs it
//! quantized through the bit-accurate crossbar model ([`quant`]).
//!
//! Tensor `0` is the input image; node `i` produces tensor `i + 1`. Feature maps are
//! `C, H, W`. Nodes are:
//! - [`Op::Layer`]: a mappable crossbar layer (dense, grouped or depthwise convolution; a
//!   fully-connected layer is the 1x1 case and flattens its input), optionally with ReLU;
//! - [`Op::Add`]: the residual sum of two tensors of one shape, optionally with ReLU;
//! - [`Op::MaxPool`]: non-overlapping `k x k` max pooling;
//! - [`Op::GlobalAvgPool`]: the mean of each channel.
//!
//! ## Invariants
//! - A spec is checked once ([`GraphSpec::shapes`]): every node reads earlier tensors, the
//!   geometry of each layer matches the tensor it reads, adds join equal shapes, the last
//!   node is a layer producing `classes` logits. The built-in specs are checked by tests.
//! - Everything downstream (weights, float and quantized passes) indexes through the shapes
//!   the check returned, so a valid spec cannot make them panic.

#[cfg(feature = "train")]
pub mod finetune;
pub mod float;
pub mod model;
pub mod quant;
#[cfg(feature = "train")]
pub mod train;
pub mod weights;

use std::fmt;

use imc_model::xbar::ConvGeometry;

/// Hyper-parameters of a training run ([`train`], feature `train`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    /// Seed of initialisation, batch order and flips.
    pub seed: u64,
    /// Passes over the training images.
    pub epochs: u32,
    /// Mini-batch size.
    pub batch: usize,
    /// Peak AdamW learning rate.
    pub learning_rate: f64,
    /// Whether the learning rate decays to zero along a cosine.
    pub cosine: bool,
    /// Whether images are mirrored left-right at random (not for digits).
    pub flip: bool,
}

/// Index of a tensor: `0` is the input, node `i` produces `i + 1`.
pub type TensorId = usize;

/// What a node computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A mappable crossbar layer (its weights are in the weights file under `name`).
    Layer {
        /// Name, as in reports, the weights file and the optimiser's network.
        name: &'static str,
        /// Geometry (FC is the 1x1 case over a flattened input).
        geometry: ConvGeometry,
        /// Whether a ReLU follows.
        relu: bool,
    },
    /// `input + other`, element by element.
    Add {
        /// The second operand.
        other: TensorId,
        /// Whether a ReLU follows.
        relu: bool,
    },
    /// Non-overlapping max pooling with a `size x size` window.
    MaxPool {
        /// Window and stride.
        size: usize,
    },
    /// Mean over each channel's positions (`C x 1 x 1` out).
    GlobalAvgPool,
}

/// One node: an operation over an earlier tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    /// The tensor it reads.
    pub input: TensorId,
    /// What it computes.
    pub op: Op,
}

/// A trained network's architecture: the one definition the zoo, the weights file, training
/// and both forward passes share.
#[derive(Clone, Copy, Debug)]
pub struct GraphSpec {
    /// Network name.
    pub name: &'static str,
    /// Input channels, height and width.
    pub input: (usize, usize, usize),
    /// Largest pixel value (inputs are scaled by `1 / pixel_max` to `0..=1`).
    pub pixel_max: u8,
    /// Classes (outputs of the last layer).
    pub classes: usize,
    /// Nodes in execution order.
    pub nodes: &'static [Node],
}

/// Shape of a tensor: channels, height, width.
pub type Shape = (usize, usize, usize);

/// Why a spec is not a valid network (only a programming error in a built-in spec).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// The node at fault.
    pub node: usize,
    /// What is wrong.
    pub message: &'static str,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "network node {}: {}", self.node, self.message)
    }
}

impl std::error::Error for SpecError {}

/// A dense convolution's geometry (helper for static specs).
pub const fn conv(c_in: usize, side: usize, c_out: usize, kernel: usize, stride: usize, pad: usize) -> ConvGeometry {
    ConvGeometry {
        c_in,
        in_h: side,
        in_w: side,
        c_out,
        kernel: (kernel, kernel),
        stride: (stride, stride),
        pad: (pad, pad),
        groups: 1,
    }
}

/// A mappable-layer node reading tensor `input` (helper for static specs).
pub const fn layer(input: TensorId, name: &'static str, geometry: ConvGeometry, relu: bool) -> Node {
    Node {
        input,
        op: Op::Layer { name, geometry, relu },
    }
}

/// A depthwise convolution's geometry (one group per channel).
pub const fn depthwise(channels: usize, side: usize, kernel: usize, stride: usize, pad: usize) -> ConvGeometry {
    ConvGeometry {
        groups: channels,
        ..conv(channels, side, channels, kernel, stride, pad)
    }
}

impl GraphSpec {
    /// The mappable layers in execution order: `(node index, name, geometry, relu)`.
    pub fn layers(&self) -> impl Iterator<Item = (usize, &'static str, ConvGeometry, bool)> + '_ {
        self.nodes.iter().enumerate().filter_map(|(i, n)| match n.op {
            Op::Layer { name, geometry, relu } => Some((i, name, geometry, relu)),
            _ => None,
        })
    }

    /// Number of mappable layers.
    pub fn layer_count(&self) -> usize {
        self.layers().count()
    }

    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        self.input.0 * self.input.1 * self.input.2
    }

    /// Checks the spec and returns the shape of every tensor (input first).
    pub fn shapes(&self) -> Result<Vec<Shape>, SpecError> {
        let mut shapes = vec![self.input];
        for (i, node) in self.nodes.iter().enumerate() {
            let err = |message| SpecError { node: i, message };
            let &input = shapes.get(node.input).ok_or(err("reads a tensor not yet computed"))?;
            let shape = match node.op {
                Op::Layer { geometry: g, .. } => {
                    let flat = (input.0 * input.1 * input.2, 1, 1);
                    let seen = if g.is_fc() { flat } else { input };
                    if seen != (g.c_in, g.in_h, g.in_w) {
                        return Err(err("layer geometry does not match its input tensor"));
                    }
                    if g.groups == 0 || g.c_in % g.groups != 0 || g.c_out % g.groups != 0 {
                        return Err(err("channels are not divisible by groups"));
                    }
                    if g.output_len() == 0 {
                        return Err(err("layer has no output"));
                    }
                    (g.c_out, g.out_h(), g.out_w())
                }
                Op::Add { other, .. } => {
                    let &b = shapes.get(other).ok_or(err("adds a tensor not yet computed"))?;
                    if b != input {
                        return Err(err("adds tensors of different shapes"));
                    }
                    input
                }
                Op::MaxPool { size } => {
                    if size == 0 || input.1 % size != 0 || input.2 % size != 0 {
                        return Err(err("pool window does not tile the input"));
                    }
                    (input.0, input.1 / size, input.2 / size)
                }
                Op::GlobalAvgPool => (input.0, 1, 1),
            };
            shapes.push(shape);
        }
        let last = self.nodes.len().saturating_sub(1);
        match self.nodes.last().map(|n| n.op) {
            Some(Op::Layer { geometry, .. }) if geometry.c_out == self.classes => Ok(shapes),
            _ => Err(SpecError {
                node: last,
                message: "the last node must be a layer with one output per class",
            }),
        }
    }
}

/// Index of the largest value (the first on ties).
pub fn argmax<T: PartialOrd + Copy>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if values.get(best).is_some_and(|b| v > b) {
            best = i;
        }
    }
    best
}

/// A labelled image set the facility can read: images are `GraphSpec::pixels()` bytes.
pub trait Samples: Sync {
    /// Number of images.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Image `i` (`None` past the end).
    fn image(&self, i: usize) -> Option<&[u8]>;
    /// Label of image `i`.
    fn label(&self, i: usize) -> Option<u8>;
}

/// `work(state, i)` for every index, split across the machine's cores, in index order;
/// each thread builds its own `state` once. `None` only if a worker thread panicked.
pub(crate) fn parallel_map<T: Send, S>(
    indices: &[usize],
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, usize) -> T + Sync,
) -> Option<Vec<T>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 16);
    let chunk = indices.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = indices
            .chunks(chunk)
            .map(|part| {
                let (init, work) = (&init, &work);
                scope.spawn(move || {
                    let mut state = init();
                    part.iter().map(|&i| work(&mut state, i)).collect::<Vec<T>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(indices.len());
        for h in handles {
            out.extend(h.join().ok()?);
        }
        Some(out)
    })
}
