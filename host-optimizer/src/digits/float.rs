//! The float reference: the digits network in plain `f32` (no candle needed to evaluate),
//! and the activation calibration the quantizer uses.
//!
//! Inputs are pixel counts scaled to `[0, 1]` (`/ 16`). Layout is `C, H, W` throughout.

use imc_model::xbar::ConvGeometry;

use super::dataset::Dataset;
use super::weights::{FloatLayer, FloatWeights};
use super::{argmax, CLASSES, LAYERS, PIXELS, PIXEL_MAX};

/// One layer `y = W x + b` (conv over all positions), optionally followed by ReLU.
fn layer_forward(g: &ConvGeometry, layer: &FloatLayer, relu: bool, input: &[f32]) -> Vec<f32> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let (kh, kw) = g.kernel;
    let mut out = vec![0f32; g.output_len()];
    for co in 0..g.c_out {
        let wrow = &layer.weight[co * g.rows()..(co + 1) * g.rows()];
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = layer.bias[co];
                for ci in 0..g.c_in {
                    for ky in 0..kh {
                        let Some(iy) = (oy * g.stride.0 + ky).checked_sub(g.pad.0).filter(|&y| y < g.in_h) else {
                            continue;
                        };
                        for kx in 0..kw {
                            let Some(ix) = (ox * g.stride.1 + kx).checked_sub(g.pad.1).filter(|&x| x < g.in_w) else {
                                continue;
                            };
                            acc += wrow[(ci * kh + ky) * kw + kx] * input[(ci * g.in_h + iy) * g.in_w + ix];
                        }
                    }
                }
                out[(co * oh + oy) * ow + ox] = if relu { acc.max(0.0) } else { acc };
            }
        }
    }
    out
}

/// Logits of one image; `observe(l, input)` sees the input of every layer `l`.
pub fn forward(w: &FloatWeights, pixels: &[u8; PIXELS], mut observe: impl FnMut(usize, &[f32])) -> Vec<f32> {
    let mut x: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / f32::from(PIXEL_MAX)).collect();
    for (l, (spec, layer)) in LAYERS.iter().zip(w.layers()).enumerate() {
        observe(l, &x);
        x = layer_forward(&spec.geometry, layer, spec.relu, &x);
    }
    debug_assert_eq!(x.len(), CLASSES);
    x
}

/// Fraction of `indices` classified correctly by the float network.
pub fn accuracy(w: &FloatWeights, data: &Dataset, indices: &[usize]) -> f64 {
    let correct = indices
        .iter()
        .filter_map(|&i| data.samples.get(i))
        .filter(|s| argmax(&forward(w, &s.pixels, |_, _| {})) == usize::from(s.label))
        .count();
    correct as f64 / indices.len().max(1) as f64
}

/// Fraction of non-zero activations kept below the clip when calibrating (the rest saturate).
pub const CALIBRATION_PERCENTILE: f64 = 0.999;

/// Per layer, the float value that maps to the largest activation code: 1.0 for the image
/// (pixels are exactly `0..=16`), else the [`CALIBRATION_PERCENTILE`] of the non-zero
/// post-ReLU inputs over `indices` (the training split).
pub fn calibrate(w: &FloatWeights, data: &Dataset, indices: &[usize]) -> Vec<f32> {
    let mut seen: Vec<Vec<f32>> = vec![Vec::new(); LAYERS.len()];
    for s in indices.iter().filter_map(|&i| data.samples.get(i)) {
        forward(w, &s.pixels, |l, input| {
            if l > 0 {
                seen[l].extend(input.iter().copied().filter(|v| *v > 0.0));
            }
        });
    }
    seen.into_iter()
        .enumerate()
        .map(|(l, mut values)| {
            if l == 0 || values.is_empty() {
                return 1.0;
            }
            values.sort_by(f32::total_cmp);
            let at = ((values.len() - 1) as f64 * CALIBRATION_PERCENTILE).round() as usize;
            values[at.min(values.len() - 1)].max(f32::MIN_POSITIVE)
        })
        .collect()
}
