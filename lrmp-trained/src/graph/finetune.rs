//! Quantization-aware fine-tuning for one precision assignment (feature `train`).
//!
//! Starting from the float weights, a few seeded AdamW steps on training images with the
//! forward pass fake-quantized exactly as [`super::quant`] quantizes at inference:
//! - each layer's weights to `b_w` bits, symmetric, `s_w = max|w| / (2^(b_w-1) - 1)` from the
//!   current weights, `round(w / s_w)` clamped to the symmetric range;
//! - each layer's input to `b_a` bits on the grid `clip / (2^b_a - 1)` of the tensor it reads
//!   (the calibrated clips stay fixed, so training and inference use the same grids), clamped
//!   to `0..=clip`.
//!
//! Rounding passes gradients straight through (`x + (round(x) - x).detach()`). The only
//! differences left at inference are integer details of the datapath (bias rounding,
//! requantization of residual sums, narrowing of shared tensors), which fine-tuning cannot
//! see. A loss that is not finite, or [`DIVERGED_FACTOR`] times the first step's, stops the
//! run with [`TrainError`] naming the step.

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use imc_model::Precision;

use super::model::TrainedModel;
use super::train::{batch, forward, Hooks, Params, TrainError};
use super::weights::FloatWeights;
use crate::rng::SplitMix64;

/// A loss this many times the first step's (or not finite) is a diverged run.
pub const DIVERGED_FACTOR: f32 = 10.0;

/// How to fine-tune.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FinetuneConfig {
    /// AdamW steps.
    pub steps: usize,
    /// Images per step.
    pub batch: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// Seed of the batch draws.
    pub seed: u64,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        FinetuneConfig {
            steps: 0,
            batch: 64,
            learning_rate: 1e-3,
            seed: 0xF1_7E,
        }
    }
}

/// Fake quantization of one assignment.
struct FakeQuant {
    precisions: Vec<Precision>,
    /// Clip of the tensor each layer reads.
    input_clips: Vec<f32>,
}

fn straight_through(x: &Tensor, rounded: &Tensor) -> candle_core::Result<Tensor> {
    x + (rounded - x)?.detach()
}

impl Hooks for FakeQuant {
    fn weight(&self, layer: usize, w: &Tensor) -> candle_core::Result<Tensor> {
        let Some(p) = self.precisions.get(layer) else {
            return Ok(w.clone());
        };
        let levels = f64::from((1i32 << (p.w_bits.get() - 1)) - 1).max(1.0);
        let w_max = f64::from(w.abs()?.max_all()?.to_scalar::<f32>()?);
        if w_max <= 0.0 {
            return Ok(w.clone());
        }
        let s_w = w_max / levels;
        let q = ((w / s_w)?.round()?.clamp(-levels, levels)? * s_w)?;
        straight_through(w, &q)
    }
    fn input(&self, layer: usize, x: &Tensor) -> candle_core::Result<Tensor> {
        let (Some(p), Some(&clip)) = (self.precisions.get(layer), self.input_clips.get(layer)) else {
            return Ok(x.clone());
        };
        let codes = f64::from((1u32 << p.a_bits.get()) - 1);
        let s_a = f64::from(clip) / codes;
        let clamped = x.clamp(0f32, clip)?;
        let q = ((&clamped / s_a)?.round()? * s_a)?;
        straight_through(&clamped, &q)
    }
}

/// Fine-tunes `model`'s float weights for `precisions`; returns the new weights (quantize
/// them with the model's own clips, [`TrainedModel::quantize_with`]).
pub fn finetune(
    model: &TrainedModel,
    precisions: &[Precision],
    cfg: &FinetuneConfig,
) -> Result<FloatWeights, TrainError> {
    let spec = model.spec();
    let dev = Device::Cpu;
    let params = Params::from_weights(model.weights(), &dev)?;
    if cfg.steps == 0 {
        return Ok(model.weights().clone());
    }
    let input_clips: Vec<f32> = spec
        .layers()
        .map(|(node, ..)| {
            let t = spec.nodes.get(node).map_or(0, |n| n.input);
            model.clips().get(t).copied().unwrap_or(1.0)
        })
        .collect();
    let hooks = FakeQuant {
        precisions: precisions.to_vec(),
        input_clips,
    };
    let mut opt = AdamW::new(
        params.vars(),
        ParamsAdamW {
            lr: cfg.learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    let (images, train) = model.data().training();
    if train.is_empty() {
        return Err(TrainError("no training images to fine-tune on".into()));
    }
    let mut rng = SplitMix64::new(cfg.seed);
    let mut first_loss = None;
    for step in 0..cfg.steps {
        let chunk: Vec<usize> = (0..cfg.batch.max(1))
            .filter_map(|_| train.get(rng.below(train.len() as u64) as usize).copied())
            .collect();
        let (x, y) = batch(spec, images, &chunk, &[], &dev)?;
        let loss = candle_nn::loss::cross_entropy(&forward(spec, &params, &x, &hooks)?, &y)?;
        let value = loss.to_scalar::<f32>()?;
        let start = *first_loss.get_or_insert(value);
        if !value.is_finite() || value > DIVERGED_FACTOR * start.max(1.0) {
            return Err(TrainError(format!(
                "fine-tuning diverged: the loss is {value} at step {step} of {} (it started at {start}); \
                 lower the learning rate",
                cfg.steps
            )));
        }
        opt.backward_step(&loss)?;
    }
    let weights = params.extract(spec, model.weights().training().clone())?;
    Ok(weights)
}
