//! Quantization-aware fine-tuning for one precision assignment (feature `train`).
//!
//! Starting from the float weights, a few seeded AdamW steps on training images with the
//! forward pass fake-quantized exactly as [`super::quant`] quantizes at inference:
//! - each layer's weights to `b_w` bits, symmetric, `s_w = max|w| / (2^(b_w-1) - 1)` from the
//!   current weights, `round(w / s_w)` clamped to the symmetric range;
//! - each layer's input to `b_a` bits on the grid `clip / (2^b_a - 1)` of the tensor it reads
//!   (the calibrated clips stay fixed, so training and inference use the same grids), clamped
//!   to `0..=clip`;
//! - each layer's bias to accumulator units `s_w * s_a`.
//!
//! Rounding passes gradients straight through (`x + (round(x) - x).detach()`). The only
//! differences left at inference are integer details of the datapath (the 31-bit
//! requantization multiplier, the 1/256 grid of residual sums, narrowing of shared tensors). A loss that is not finite, or [`DIVERGED_FACTOR`] times the first step's, stops the
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

impl FakeQuant {
    /// `(levels, s_w)` of layer `layer`'s weights `w` (`None`: leave them as they are).
    fn weight_scale(&self, layer: usize, w: &Tensor) -> candle_core::Result<Option<(f64, f64)>> {
        let Some(p) = self.precisions.get(layer) else {
            return Ok(None);
        };
        let levels = f64::from((1i32 << (p.w_bits.get() - 1)) - 1).max(1.0);
        let w_max = f64::from(w.abs()?.max_all()?.to_scalar::<f32>()?);
        Ok((w_max > 0.0).then_some((levels, w_max / levels)))
    }
}

impl Hooks for FakeQuant {
    fn weight(&self, layer: usize, w: &Tensor) -> candle_core::Result<Tensor> {
        let Some((levels, s_w)) = self.weight_scale(layer, w)? else {
            return Ok(w.clone());
        };
        let q = ((w / s_w)?.round()?.clamp(-levels, levels)? * s_w)?;
        straight_through(w, &q)
    }
    /// The bias in accumulator units `s_w * s_a`, as the crossbar pass adds it (coarse at low
    /// bits: half a unit can move an output code by a tenth).
    fn bias(&self, layer: usize, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
        let (Some((_, s_w)), Some(p), Some(&clip)) = (
            self.weight_scale(layer, w)?,
            self.precisions.get(layer),
            self.input_clips.get(layer),
        ) else {
            return Ok(b.clone());
        };
        let s_acc = s_w * f64::from(clip) / f64::from((1u32 << p.a_bits.get()) - 1);
        let q = ((b / s_acc)?.round()? * s_acc)?;
        straight_through(b, &q)
    }
    fn input(&self, layer: usize, x: &Tensor) -> candle_core::Result<Tensor> {
        let (Some(p), Some(&clip)) = (self.precisions.get(layer), self.input_clips.get(layer)) else {
            return Ok(x.clone());
        };
        let codes = f64::from((1u32 << p.a_bits.get()) - 1);
        let clamped = x.clamp(0f32, clip)?;
        // Multiplying by `codes / clip` keeps exact ties exact (a pixel of 8/16 at 3 bits is
        // 3.5 codes), so they round as the integer pass rounds them: half up.
        let q = ((&clamped * (codes / f64::from(clip)))?.round()? * (f64::from(clip) / codes))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::argmax;
    use crate::graph::model::Set;
    use crate::graph::quant::Scratch;
    use imc_model::{ArchConfig, Bits};

    /// The fake-quantized float pass and the integer crossbar pass classify (nearly) every
    /// image alike: what fine-tuning trains is what inference runs.
    #[test]
    fn fake_quantization_agrees_with_the_crossbar_pass() {
        let model = crate::digits::model(None, None).unwrap();
        let spec = model.spec();
        let dev = Device::Cpu;
        let params = Params::from_weights(model.weights(), &dev).unwrap();
        let arch = ArchConfig::isaac();
        // Integer rounding (bias, requantization) flips borderline images; fewer at more bits.
        for (b, percent) in [(8, 100), (4, 99), (3, 99)] {
            let bits = Bits::new(b).unwrap();
            let precisions = vec![
                Precision {
                    w_bits: bits,
                    a_bits: bits
                };
                spec.layer_count()
            ];
            let hooks = FakeQuant {
                input_clips: spec
                    .layers()
                    .map(|(node, ..)| model.clips()[spec.nodes[node].input])
                    .collect(),
                precisions: precisions.clone(),
            };
            let q = model.quantize(&arch, &precisions).unwrap();
            let (images, indices) = model.images(Set::Test);
            let (x, _) = batch(spec, images, indices, &[], &dev).unwrap();
            let logits = forward(spec, &params, &x, &hooks).unwrap().to_vec2::<f32>().unwrap();
            let mut scratch = Scratch::default();
            let agree = indices
                .iter()
                .zip(&logits)
                .filter(|(&i, row)| q.classify(images.image(i).unwrap(), &mut scratch).unwrap().0 == argmax(row))
                .count();
            eprintln!("{b} bits: {agree} of {} images classified alike", indices.len());
            assert!(
                agree * 100 >= indices.len() * percent,
                "{b} bits: {agree} of {}",
                indices.len()
            );
        }
    }
}
