//! Retraining the digits network with candle (CPU), feature `train`.
//!
//! Deterministic: weights start He-uniform (`U(-sqrt(6/fan_in), +sqrt(6/fan_in))`, biases 0)
//! from [`SplitMix64`] seeded with [`TrainConfig::seed`], and each epoch visits the training
//! split in an order shuffled by the same generator. AdamW minimises cross-entropy. Only
//! the training split is used; the test split is only scored for the log.

use std::fmt;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::dataset::{Dataset, SPLIT_SEED};
use super::rng::SplitMix64;
use super::weights::{FloatLayer, FloatWeights, TrainingInfo};
use super::{float, weight_shape, LAYERS, PIXELS, PIXEL_MAX, SIDE};

/// Hyper-parameters of a training run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    /// Seed of initialisation and batch order.
    pub seed: u64,
    /// Passes over the training split.
    pub epochs: u32,
    /// Mini-batch size.
    pub batch: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
}

impl Default for TrainConfig {
    /// The configuration that produced the committed weights.
    fn default() -> Self {
        TrainConfig {
            seed: 42,
            epochs: 40,
            batch: 32,
            learning_rate: 2e-3,
        }
    }
}

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

struct Params {
    weights: Vec<Var>,
    biases: Vec<Var>,
}

fn init(rng: &mut SplitMix64, dev: &Device) -> Result<Params, TrainError> {
    let (mut weights, mut biases) = (Vec::new(), Vec::new());
    for spec in &LAYERS {
        let shape = weight_shape(spec);
        let fan_in = spec.geometry.rows() as f64;
        let bound = (6.0 / fan_in).sqrt();
        let count: usize = shape.iter().product();
        let values: Vec<f32> = (0..count).map(|_| ((rng.unit() * 2.0 - 1.0) * bound) as f32).collect();
        weights.push(Var::from_tensor(&Tensor::from_vec(values, shape, dev)?)?);
        biases.push(Var::zeros(spec.geometry.c_out, DType::F32, dev)?);
    }
    Ok(Params { weights, biases })
}

fn forward(p: &Params, x: &Tensor) -> candle_core::Result<Tensor> {
    let mut h = x.clone();
    for (l, spec) in LAYERS.iter().enumerate() {
        let g = &spec.geometry;
        let (w, b) = (p.weights[l].as_tensor(), p.biases[l].as_tensor());
        h = if g.in_h == 1 && g.in_w == 1 && g.kernel == (1, 1) {
            h.flatten_from(1)?.matmul(&w.t()?)?.broadcast_add(b)?
        } else {
            h.conv2d(w, g.pad.0, g.stride.0, 1, 1)?
                .broadcast_add(&b.reshape((1, g.c_out, 1, 1))?)?
        };
        if spec.relu {
            h = h.relu()?;
        }
    }
    Ok(h)
}

fn batch(data: &Dataset, indices: &[usize], dev: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let mut pixels = Vec::with_capacity(indices.len() * PIXELS);
    let mut labels = Vec::with_capacity(indices.len());
    for s in indices.iter().filter_map(|&i| data.samples.get(i)) {
        pixels.extend(s.pixels.iter().map(|&p| f32::from(p) / f32::from(PIXEL_MAX)));
        labels.push(u32::from(s.label));
    }
    let n = labels.len();
    Ok((
        Tensor::from_vec(pixels, (n, 1, SIDE, SIDE), dev)?,
        Tensor::from_vec(labels, n, dev)?,
    ))
}

fn extract(p: &Params, info: TrainingInfo) -> Result<FloatWeights, TrainError> {
    let mut layers = Vec::new();
    for (l, spec) in LAYERS.iter().enumerate() {
        layers.push(FloatLayer {
            name: spec.name.to_string(),
            shape: weight_shape(spec),
            weight: p.weights[l].as_tensor().flatten_all()?.to_vec1::<f32>()?,
            bias: p.biases[l].as_tensor().to_vec1::<f32>()?,
        });
    }
    FloatWeights::new(info, layers).map_err(TrainError)
}

/// Trains from scratch; `log(epoch, mean_loss, test_accuracy)` is called after each epoch.
pub fn train(
    data: &Dataset,
    cfg: &TrainConfig,
    mut log: impl FnMut(u32, f32, f64),
) -> Result<FloatWeights, TrainError> {
    let dev = Device::Cpu;
    let split = data.split();
    let mut rng = SplitMix64::new(cfg.seed);
    let params = init(&mut rng, &dev)?;
    let vars: Vec<Var> = params.weights.iter().chain(&params.biases).cloned().collect();
    let mut opt = AdamW::new(
        vars,
        ParamsAdamW {
            lr: cfg.learning_rate,
            weight_decay: 1e-4,
            ..ParamsAdamW::default()
        },
    )?;
    let mut order = split.train.clone();
    let mut info = TrainingInfo {
        seed: cfg.seed,
        split_seed: SPLIT_SEED,
        epochs: cfg.epochs,
        batch: cfg.batch as u32,
        learning_rate: cfg.learning_rate,
        train_samples: split.train.len() as u32,
        test_samples: split.test.len() as u32,
        float_test_accuracy: 0.0,
    };
    for epoch in 1..=cfg.epochs {
        rng.shuffle(&mut order);
        let (mut loss_sum, mut batches) = (0f32, 0u32);
        for chunk in order.chunks(cfg.batch.max(1)) {
            let (x, y) = batch(data, chunk, &dev)?;
            let loss = candle_nn::loss::cross_entropy(&forward(&params, &x)?, &y)?;
            opt.backward_step(&loss)?;
            loss_sum += loss.to_scalar::<f32>()?;
            batches += 1;
        }
        let weights = extract(&params, info.clone())?;
        log(
            epoch,
            loss_sum / batches.max(1) as f32,
            float::accuracy(&weights, data, &split.test),
        );
    }
    let weights = extract(&params, info.clone())?;
    info.float_test_accuracy = float::accuracy(&weights, data, &split.test);
    extract(&params, info)
}
