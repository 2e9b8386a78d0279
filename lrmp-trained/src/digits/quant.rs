//! Quantization of the digits network for a precision assignment, and its forward pass
//! through the bit-accurate crossbar model (`imc_model::xbar`).
//!
//! Per layer `l` with precision `(b_w, b_a)` (`b_a` is the precision of the layer's
//! *input*, the bits streamed into its crossbars, as in the cost model):
//! - weights: symmetric per layer, `s_w = max|w| / (2^(b_w-1) - 1)`, `q = round(w / s_w)`;
//! - input activations: unsigned, `s_a = clip_l / (2^b_a - 1)` with `clip_l` calibrated on
//!   the training split ([`super::float::calibrate`]);
//! - bias in accumulator units `round(b / (s_w * s_a))`;
//! - output: requantized by `s_w * s_a / s_a(l+1)` to the next layer's `b_a` (ReLU = clamp
//!   at 0); the last layer's accumulators are the logits (argmax is scale-free).

use std::fmt;

use imc_model::xbar::{requantize, AdcStats, QuantizedLayer, Requant, WeightMatrix, XbarError};
use imc_model::{ArchConfig, Precision};

use super::dataset::Dataset;
use super::weights::FloatWeights;
use super::{argmax, LAYERS, PIXELS, PIXEL_MAX};

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
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantError::LayerCount { expected, got } => {
                write!(f, "precision assignment has {got} layers, the network has {expected}")
            }
            QuantError::Xbar { layer, error } => write!(f, "layer `{layer}`: {error}"),
        }
    }
}

impl std::error::Error for QuantError {}

struct QLayer {
    weights: Vec<i8>,
    bias: Vec<i32>,
    precision: Precision,
    /// To the next layer's activation code; `None` for the last layer.
    requant: Option<(Requant, Precision)>,
}

/// The network quantized for one precision assignment; owns the integer tensors that the
/// crossbar views borrow.
pub struct QuantizedDigits {
    layers: Vec<QLayer>,
}

fn max_code(bits: u8) -> f64 {
    f64::from((1u32 << bits) - 1)
}

impl QuantizedDigits {
    /// Quantizes `weights` for `precisions` (one per layer) with the calibrated `clips`.
    pub fn new(weights: &FloatWeights, clips: &[f32], precisions: &[Precision]) -> Result<QuantizedDigits, QuantError> {
        if precisions.len() != LAYERS.len() || clips.len() != LAYERS.len() {
            return Err(QuantError::LayerCount {
                expected: LAYERS.len(),
                got: precisions.len(),
            });
        }
        // Float value of one activation code at each layer's input.
        let a_scales: Vec<f64> = clips
            .iter()
            .zip(precisions)
            .map(|(&clip, p)| f64::from(clip) / max_code(p.a_bits.get()))
            .collect();
        let mut layers = Vec::with_capacity(LAYERS.len());
        let per_layer = LAYERS
            .iter()
            .zip(weights.layers())
            .zip(precisions.iter().zip(&a_scales));
        for (l, ((spec, fl), (&p, &a_scale))) in per_layer.enumerate() {
            let xbar = |error| QuantError::Xbar {
                layer: spec.name,
                error,
            };
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
            let weights = fl
                .weight
                .iter()
                .map(|&v| (f64::from(v) / s_w).round().clamp(-levels, levels) as i8)
                .collect();
            let acc_scale = s_w * a_scale;
            let bias = fl
                .bias
                .iter()
                .map(|&b| {
                    (f64::from(b) / acc_scale)
                        .round()
                        .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
                })
                .collect();
            let requant = match (precisions.get(l + 1), a_scales.get(l + 1)) {
                (Some(&next), Some(&next_scale)) => {
                    Some((Requant::from_scale(acc_scale / next_scale).map_err(xbar)?, next))
                }
                _ => None,
            };
            layers.push(QLayer {
                weights,
                bias,
                precision: p,
                requant,
            });
        }
        Ok(QuantizedDigits { layers })
    }

    /// The first layer's input activation codes of an image (what [`Self::classify`] feeds
    /// its first crossbar layer).
    pub fn input_codes<'a>(&self, pixels: &'a [u8; PIXELS]) -> impl Iterator<Item = u8> + 'a {
        let first_bits = self.layers.first().map_or(8, |l| l.precision.a_bits.get());
        // Pixel p in 0..=16 to code round(p / 16 * (2^b - 1)), integer half-up.
        let codes = u32::from(max_code(first_bits) as u16);
        pixels
            .iter()
            .map(move |&p| ((u32::from(p) * codes * 2 + u32::from(PIXEL_MAX)) / (2 * u32::from(PIXEL_MAX))) as u8)
    }

    /// The quantized tensors of every layer, in execution order (for shipping the network to
    /// a controller that runs the same forward pass).
    pub fn layer_tensors(&self) -> impl Iterator<Item = LayerTensors<'_>> {
        self.layers.iter().map(|l| LayerTensors {
            weights: &l.weights,
            bias: &l.bias,
            precision: l.precision,
            requant: l.requant,
        })
    }

    /// Classifies one image through the crossbar model; returns the class and ADC activity.
    pub fn classify(
        &self,
        arch: &ArchConfig,
        pixels: &[u8; PIXELS],
        s: &mut Scratch,
    ) -> Result<(usize, AdcStats), QuantError> {
        s.act.clear();
        s.act.extend(self.input_codes(pixels));
        let mut stats = AdcStats::default();
        for (spec, q) in LAYERS.iter().zip(&self.layers) {
            let xbar = |error| QuantError::Xbar {
                layer: spec.name,
                error,
            };
            let g = spec.geometry;
            let w = WeightMatrix::new(&q.weights, g.rows(), g.c_out, q.precision.w_bits).map_err(xbar)?;
            let layer = QuantizedLayer::new(g, w, &q.bias).map_err(xbar)?;
            s.acc.resize(g.output_len(), 0);
            s.patch.resize(g.rows(), 0);
            stats.merge(
                layer
                    .accumulate(arch, &s.act, q.precision.a_bits, &mut s.patch, &mut s.acc)
                    .map_err(xbar)?,
            );
            if let Some((requant, next)) = q.requant {
                s.act.resize(s.acc.len(), 0);
                requantize(&s.acc, requant, next.a_bits, &mut s.act).map_err(xbar)?;
            }
        }
        Ok((argmax(&s.acc), stats))
    }
}

/// One quantized layer as [`QuantizedDigits::classify`] runs it.
#[derive(Clone, Copy, Debug)]
pub struct LayerTensors<'a> {
    /// Weights, `c_out` columns of `rows` (the crossbar model's layout).
    pub weights: &'a [i8],
    /// Bias in accumulator units.
    pub bias: &'a [i32],
    /// The layer's `(b_w, b_a)`.
    pub precision: Precision,
    /// Requantization to the next layer and its precision; `None` for the last layer.
    pub requant: Option<(Requant, Precision)>,
}

/// Reusable buffers of the forward pass.
#[derive(Default)]
pub struct Scratch {
    act: Vec<u8>,
    acc: Vec<i64>,
    patch: Vec<u8>,
}

impl Scratch {
    /// The last layer's accumulators of the latest [`QuantizedDigits::classify`] call.
    pub fn logits(&self) -> &[i64] {
        &self.acc
    }
}

/// Accuracy of a quantized network on a set of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Correct / total, in 0..1.
    pub accuracy: f64,
    /// Correctly classified samples.
    pub correct: usize,
    /// Samples evaluated.
    pub total: usize,
    /// ADC activity over all of them.
    pub adc: AdcStats,
}

/// Runs `indices` of `data` through the crossbar model.
pub fn evaluate(
    arch: &ArchConfig,
    q: &QuantizedDigits,
    data: &Dataset,
    indices: &[usize],
) -> Result<Evaluation, QuantError> {
    let mut scratch = Scratch::default();
    let (mut correct, mut total, mut adc) = (0, 0, AdcStats::default());
    for s in indices.iter().filter_map(|&i| data.samples.get(i)) {
        let (class, stats) = q.classify(arch, &s.pixels, &mut scratch)?;
        adc.merge(stats);
        total += 1;
        if class == usize::from(s.label) {
            correct += 1;
        }
    }
    Ok(Evaluation {
        accuracy: correct as f64 / total.max(1) as f64,
        correct,
        total,
        adc,
    })
}
