//! The float reference: the digits network in plain `f32` (no candle needed to evaluate),
//! and the activation calibration the quantizer uses.
//!
//! Inputs are pixel counts scaled to `[0, 1]` (`/ 16`). Layout is `C, H, W` throughout.

use imc_model::xbar::ConvGeometry;

use super::dataset::Dataset;
use super::weights::{FloatLayer, FloatWeights};
use super::{argmax, CLASSES, LAYERS, PIXELS, PIXEL_MAX};

/// One layer `y = W x + b` (conv over all positions), optionally followed by ReLU.
///
/// `layer` is validated against `g` ([`FloatWeights`]): one `rows()`-long weight row and one
/// bias per output channel, and `input` holds `c_in` planes of `in_h x in_w`. Every index is
/// then an iterator position; an out-of-image kernel tap is the `None` of the row or column
/// lookup (zero padding).
fn layer_forward(g: &ConvGeometry, layer: &FloatLayer, relu: bool, input: &[f32]) -> Vec<f32> {
    let ow = g.out_w();
    let (kh, kw) = g.kernel;
    let mut out = vec![0f32; g.output_len()];
    let channels = layer.weight.chunks_exact(g.rows()).zip(&layer.bias);
    for ((wrow, &bias), out_plane) in channels.zip(out.chunks_exact_mut(g.out_h() * ow)) {
        for (pos, o) in out_plane.iter_mut().enumerate() {
            let (oy, ox) = (pos / ow, pos % ow);
            let mut acc = bias;
            for (w_ci, in_plane) in wrow.chunks_exact(kh * kw).zip(input.chunks_exact(g.in_h * g.in_w)) {
                for (ky, w_ky) in w_ci.chunks_exact(kw).enumerate() {
                    let in_row = (oy * g.stride.0 + ky)
                        .checked_sub(g.pad.0)
                        .and_then(|iy| in_plane.chunks_exact(g.in_w).nth(iy));
                    let Some(in_row) = in_row else {
                        continue;
                    };
                    for (kx, &w) in w_ky.iter().enumerate() {
                        let Some(&x) = (ox * g.stride.1 + kx)
                            .checked_sub(g.pad.1)
                            .and_then(|ix| in_row.get(ix))
                        else {
                            continue;
                        };
                        acc += w * x;
                    }
                }
            }
            *o = if relu { acc.max(0.0) } else { acc };
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
            // Layer 0's input is the image, whose clip is fixed: nothing to record.
            if l == 0 {
                return;
            }
            if let Some(values) = seen.get_mut(l) {
                values.extend(input.iter().copied().filter(|v| *v > 0.0));
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
            // `values` is not empty (checked above), so `last()` is the clamp of `at`.
            values
                .get(at)
                .or(values.last())
                .map_or(1.0, |v| v.max(f32::MIN_POSITIVE))
        })
        .collect()
}
