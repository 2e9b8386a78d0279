//! Training a [`GraphSpec`] with candle (CPU), feature `train`.
//!
//! Deterministic: weights start He-uniform (`U(-sqrt(6/fan_in), +sqrt(6/fan_in))`, biases
//! 0; a layer that ends a residual branch starts at half that, so every block starts close
//! to its shortcut) from [`SplitMix64`] seeded with [`TrainConfig::seed`]; each epoch visits
//! the training images in an order shuffled by the same generator, and (if
//! [`TrainConfig::flip`]) mirrors each image left-right with probability 1/2. AdamW
//! minimises cross-entropy with a cosine learning-rate decay to zero. Only the training
//! indices are used; the test images are only scored for the log.

use std::fmt;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::weights::{weight_shape, FloatLayer, FloatWeights, TrainingInfo};
use super::{argmax, GraphSpec, Op, Samples, TrainConfig};
use crate::rng::SplitMix64;

/// A failure inside candle (never the user's input: the data set is already validated).
#[derive(Debug)]
pub struct TrainError(pub String);

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "training failed: {}", self.0)
    }
}

impl std::error::Error for TrainError {}

impl From<candle_core::Error> for TrainError {
    fn from(e: candle_core::Error) -> Self {
        TrainError(e.to_string())
    }
}

/// The trainable parameters of a network, one weight and one bias per layer.
pub struct Params {
    weights: Vec<Var>,
    biases: Vec<Var>,
}

impl Params {
    /// Fresh He-uniform parameters drawn from `rng`.
    pub fn init(spec: &GraphSpec, rng: &mut SplitMix64, dev: &Device) -> Result<Params, TrainError> {
        let ends_branch: Vec<bool> = spec
            .nodes
            .iter()
            .enumerate()
            .map(|(i, _)| {
                spec.nodes
                    .iter()
                    .any(|n| matches!(n.op, Op::Add { .. }) && n.input == i + 1)
            })
            .collect();
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for (node, _, g, _) in spec.layers() {
            let shape = weight_shape(&g);
            let fan_in = g.rows() as f64;
            let damp = if ends_branch.get(node).copied().unwrap_or(false) {
                0.5
            } else {
                1.0
            };
            let bound = (6.0 / fan_in).sqrt() * damp;
            let count: usize = shape.iter().product();
            let values: Vec<f32> = (0..count).map(|_| ((rng.unit() * 2.0 - 1.0) * bound) as f32).collect();
            weights.push(Var::from_tensor(&Tensor::from_vec(values, shape, dev)?)?);
            biases.push(Var::zeros(g.c_out, DType::F32, dev)?);
        }
        Ok(Params { weights, biases })
    }

    /// Parameters holding existing float weights.
    pub fn from_weights(w: &FloatWeights, dev: &Device) -> Result<Params, TrainError> {
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for l in w.layers() {
            weights.push(Var::from_tensor(&Tensor::from_vec(
                l.weight.clone(),
                l.shape.clone(),
                dev,
            )?)?);
            biases.push(Var::from_tensor(&Tensor::from_vec(l.bias.clone(), l.bias.len(), dev)?)?);
        }
        Ok(Params { weights, biases })
    }

    /// Every variable, for an optimiser.
    pub fn vars(&self) -> Vec<Var> {
        self.weights.iter().chain(&self.biases).cloned().collect()
    }

    /// The weights of layer `l` (for fake quantization during fine-tuning).
    pub fn weight(&self, l: usize) -> Option<&Var> {
        self.weights.get(l)
    }

    /// The current values as a validated weights file.
    pub fn extract(&self, spec: &GraphSpec, info: TrainingInfo) -> Result<FloatWeights, TrainError> {
        let mut layers = Vec::new();
        for ((_, name, g, _), (w, b)) in spec.layers().zip(self.weights.iter().zip(&self.biases)) {
            layers.push(FloatLayer {
                name: name.to_string(),
                shape: weight_shape(&g),
                weight: w.as_tensor().flatten_all()?.to_vec1::<f32>()?,
                bias: b.as_tensor().to_vec1::<f32>()?,
            });
        }
        FloatWeights::new(spec, info, layers).map_err(TrainError)
    }
}

/// What the forward pass does to each layer's weights and input: nothing for training
/// ([`Plain`]), fake quantization for fine-tuning.
pub trait Hooks {
    /// The weight tensor layer `layer` uses.
    fn weight(&self, layer: usize, w: &Tensor) -> candle_core::Result<Tensor>;
    /// The input tensor layer `layer` reads.
    fn input(&self, layer: usize, x: &Tensor) -> candle_core::Result<Tensor>;
    /// The bias layer `layer` adds, given its float weights.
    fn bias(&self, layer: usize, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor>;
}

/// The float network as it is.
pub struct Plain;

impl Hooks for Plain {
    fn weight(&self, _: usize, w: &Tensor) -> candle_core::Result<Tensor> {
        Ok(w.clone())
    }
    fn input(&self, _: usize, x: &Tensor) -> candle_core::Result<Tensor> {
        Ok(x.clone())
    }
    fn bias(&self, _: usize, _: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        Ok(b.clone())
    }
}

/// The network's forward pass in candle, with `hooks` applied to every layer.
pub fn forward(spec: &GraphSpec, p: &Params, x: &Tensor, hooks: &dyn Hooks) -> candle_core::Result<Tensor> {
    let mut tensors: Vec<Tensor> = vec![x.clone()];
    let mut l = 0;
    let missing = || candle_core::Error::Msg("network spec reads a missing tensor".into());
    for node in spec.nodes {
        let input = tensors.get(node.input).ok_or_else(missing)?;
        let out = match node.op {
            Op::Layer { geometry: g, relu, .. } => {
                let (w, b) = match (p.weights.get(l), p.biases.get(l)) {
                    (Some(w), Some(b)) => (
                        hooks.weight(l, w.as_tensor())?,
                        hooks.bias(l, w.as_tensor(), b.as_tensor())?,
                    ),
                    _ => return Err(missing()),
                };
                let input = hooks.input(l, input)?;
                l += 1;
                let y = if g.is_fc() {
                    input.flatten_from(1)?.matmul(&w.t()?)?.broadcast_add(&b)?
                } else {
                    input
                        .conv2d(&w, g.pad.0, g.stride.0, 1, g.groups)?
                        .broadcast_add(&b.reshape((1, g.c_out, 1, 1))?)?
                };
                if relu {
                    y.relu()?
                } else {
                    y
                }
            }
            Op::Add { other, relu } => {
                let y = (input + tensors.get(other).ok_or_else(missing)?)?;
                if relu {
                    y.relu()?
                } else {
                    y
                }
            }
            Op::MaxPool { size } => input.max_pool2d(size)?,
            Op::GlobalAvgPool => input.mean_keepdim(3)?.mean_keepdim(2)?,
        };
        tensors.push(out);
    }
    tensors.pop().ok_or_else(missing)
}

/// A mini-batch: images scaled to `0..=1` (mirrored where `flip[i]`), and labels.
pub fn batch(
    spec: &GraphSpec,
    data: &dyn Samples,
    indices: &[usize],
    flip: &[bool],
    dev: &Device,
) -> candle_core::Result<(Tensor, Tensor)> {
    let (c, h, w) = spec.input;
    let scale = f32::from(spec.pixel_max.max(1));
    let mut pixels = Vec::with_capacity(indices.len() * spec.pixels());
    let mut labels = Vec::with_capacity(indices.len());
    for (k, &i) in indices.iter().enumerate() {
        let (Some(image), Some(label)) = (data.image(i), data.label(i)) else {
            continue;
        };
        let mirror = flip.get(k).copied().unwrap_or(false);
        for row in image.chunks_exact(w.max(1)) {
            if mirror {
                pixels.extend(row.iter().rev().map(|&p| f32::from(p) / scale));
            } else {
                pixels.extend(row.iter().map(|&p| f32::from(p) / scale));
            }
        }
        labels.push(u32::from(label));
    }
    let n = labels.len();
    Ok((
        Tensor::from_vec(pixels, (n, c, h, w), dev)?,
        Tensor::from_vec(labels, n, dev)?,
    ))
}

/// Float accuracy of the candle parameters on `indices` (batched; for training logs).
pub fn accuracy(spec: &GraphSpec, p: &Params, data: &dyn Samples, indices: &[usize]) -> Result<f64, TrainError> {
    let dev = Device::Cpu;
    let mut correct = 0usize;
    for chunk in indices.chunks(500) {
        let (x, _) = batch(spec, data, chunk, &[], &dev)?;
        let logits = forward(spec, p, &x, &Plain)?.to_vec2::<f32>()?;
        for (row, &i) in logits.iter().zip(chunk) {
            if data.label(i).is_some_and(|label| usize::from(label) == argmax(row)) {
                correct += 1;
            }
        }
    }
    Ok(correct as f64 / indices.len().max(1) as f64)
}

/// Trains from scratch on `train`; `log(epoch, mean_loss, test_accuracy)` after each epoch.
pub fn train(
    spec: &GraphSpec,
    data: &dyn Samples,
    train: &[usize],
    test: (&dyn Samples, &[usize]),
    cfg: &TrainConfig,
    info: TrainingInfo,
    mut log: impl FnMut(u32, f32, f64),
) -> Result<FloatWeights, TrainError> {
    let dev = Device::Cpu;
    // One generator: initialisation first, then batch order and flips.
    let mut rng = SplitMix64::new(cfg.seed);
    let params = Params::init(spec, &mut rng, &dev)?;
    let mut opt = AdamW::new(
        params.vars(),
        ParamsAdamW {
            lr: cfg.learning_rate,
            weight_decay: 1e-4,
            ..ParamsAdamW::default()
        },
    )?;
    let mut order = train.to_vec();
    let steps_per_epoch = order.len().div_ceil(cfg.batch.max(1));
    let total = (steps_per_epoch * cfg.epochs as usize).max(1);
    let mut step = 0usize;
    for epoch in 1..=cfg.epochs {
        rng.shuffle(&mut order);
        let (mut loss_sum, mut batches) = (0f32, 0u32);
        for chunk in order.chunks(cfg.batch.max(1)) {
            if cfg.cosine {
                let progress = step as f64 / total as f64;
                opt.set_learning_rate(cfg.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
            }
            let flips: Vec<bool> = chunk.iter().map(|_| cfg.flip && rng.below(2) == 1).collect();
            let (x, y) = batch(spec, data, chunk, &flips, &dev)?;
            let loss = candle_nn::loss::cross_entropy(&forward(spec, &params, &x, &Plain)?, &y)?;
            opt.backward_step(&loss)?;
            let value = loss.to_scalar::<f32>()?;
            if !value.is_finite() {
                return Err(TrainError(format!("the loss diverged (epoch {epoch}, step {step})")));
            }
            loss_sum += value;
            batches += 1;
            step += 1;
        }
        log(
            epoch,
            loss_sum / batches.max(1) as f32,
            accuracy(spec, &params, test.0, test.1)?,
        );
    }
    let mut info = info;
    info.float_test_accuracy = accuracy(spec, &params, test.0, test.1)?;
    params.extract(spec, info)
}
