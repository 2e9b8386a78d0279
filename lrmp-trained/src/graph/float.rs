//! The float reference pass of a [`GraphSpec`] in plain `f32` (no candle needed to
//! evaluate), and the activation calibration the quantizer uses.
//!
//! Inputs are pixels scaled to `[0, 1]` (`/ pixel_max`).

use imc_model::xbar::ConvGeometry;

use super::weights::{FloatLayer, FloatWeights};
use super::{argmax, parallel_map, GraphSpec, Op, Samples, Shape};

/// `y = W x + b` over every output position (grouped convolutions read their own group's
/// channels), optionally followed by ReLU. `layer` was validated against `g`.
fn layer_forward(g: &ConvGeometry, layer: &FloatLayer, relu: bool, input: &[f32], out: &mut Vec<f32>) {
    let (oh, ow) = (g.out_h(), g.out_w());
    let (kh, kw) = g.kernel;
    let groups = g.groups.max(1);
    let (cin_g, cout_g) = (g.c_in / groups, g.c_out / groups);
    let plane = g.in_h * g.in_w;
    out.clear();
    out.resize(g.output_len(), 0.0);
    let taps = cin_g * kh * kw;
    for (o, (wrow, (&bias, out_plane))) in layer
        .weight
        .chunks_exact(taps)
        .zip(layer.bias.iter().zip(out.chunks_exact_mut(oh * ow)))
        .enumerate()
    {
        out_plane.fill(bias);
        let first = (o / cout_g.max(1)) * cin_g;
        let in_planes = input.chunks_exact(plane).skip(first).take(cin_g);
        for (w_ci, in_plane) in wrow.chunks_exact(kh * kw).zip(in_planes) {
            for (ky, w_ky) in w_ci.chunks_exact(kw).enumerate() {
                for (oy, out_row) in out_plane.chunks_exact_mut(ow).enumerate() {
                    let Some(in_row) = (oy * g.stride.0 + ky)
                        .checked_sub(g.pad.0)
                        .and_then(|iy| in_plane.chunks_exact(g.in_w).nth(iy))
                    else {
                        continue;
                    };
                    for (kx, &w) in w_ky.iter().enumerate() {
                        for (ox, o) in out_row.iter_mut().enumerate() {
                            if let Some(&x) = (ox * g.stride.1 + kx)
                                .checked_sub(g.pad.1)
                                .and_then(|ix| in_row.get(ix))
                            {
                                *o += w * x;
                            }
                        }
                    }
                }
            }
        }
    }
    if relu {
        out.iter_mut().for_each(|v| *v = v.max(0.0));
    }
}

fn max_pool(shape: Shape, size: usize, input: &[f32]) -> Vec<f32> {
    let (c, h, w) = shape;
    let (oh, ow) = (h / size, w / size);
    let mut out = Vec::with_capacity(c * oh * ow);
    for ch in input.chunks_exact(h * w).take(c) {
        for oy in 0..oh {
            for ox in 0..ow {
                let window = (0..size).flat_map(|dy| (0..size).map(move |dx| (oy * size + dy) * w + ox * size + dx));
                out.push(
                    window
                        .filter_map(|i| ch.get(i).copied())
                        .fold(f32::NEG_INFINITY, f32::max),
                );
            }
        }
    }
    out
}

/// Logits of one image; `observe(t, values)` sees every tensor `t` (input first).
///
/// `spec` and `weights` agree ([`FloatWeights`] was validated against the spec) and `shapes`
/// is `spec.shapes()`.
pub fn forward(
    spec: &GraphSpec,
    shapes: &[Shape],
    w: &FloatWeights,
    pixels: &[u8],
    mut observe: impl FnMut(usize, &[f32]),
) -> Vec<f32> {
    let scale = f32::from(spec.pixel_max.max(1));
    let mut tensors: Vec<Vec<f32>> = Vec::with_capacity(spec.nodes.len() + 1);
    tensors.push(pixels.iter().map(|&p| f32::from(p) / scale).collect());
    let mut layer = w.layers().iter();
    for (i, node) in spec.nodes.iter().enumerate() {
        let input = tensors.get(node.input).map_or(&[][..], Vec::as_slice);
        let out = match node.op {
            Op::Layer { geometry, relu, .. } => {
                let mut out = Vec::new();
                if let Some(fl) = layer.next() {
                    layer_forward(&geometry, fl, relu, input, &mut out);
                }
                out
            }
            Op::Add { other, relu } => {
                let b = tensors.get(other).map_or(&[][..], Vec::as_slice);
                input
                    .iter()
                    .zip(b)
                    .map(|(x, y)| if relu { (x + y).max(0.0) } else { x + y })
                    .collect()
            }
            Op::MaxPool { size } => max_pool(shapes.get(node.input).copied().unwrap_or((0, 0, 0)), size, input),
            Op::GlobalAvgPool => {
                let (c, h, w) = shapes.get(node.input).copied().unwrap_or((0, 0, 0));
                let n = (h * w).max(1);
                input
                    .chunks_exact(n)
                    .take(c)
                    .map(|ch| ch.iter().sum::<f32>() / n as f32)
                    .collect()
            }
        };
        if let Some(t) = tensors.last() {
            observe(tensors.len() - 1, t);
        }
        debug_assert_eq!(out.len(), shapes.get(i + 1).map_or(0, |s| s.0 * s.1 * s.2));
        tensors.push(out);
    }
    if let Some(t) = tensors.last() {
        observe(tensors.len() - 1, t);
    }
    tensors.pop().unwrap_or_default()
}

/// Fraction of `indices` classified correctly by the float network (all cores).
pub fn accuracy(spec: &GraphSpec, shapes: &[Shape], w: &FloatWeights, data: &dyn Samples, indices: &[usize]) -> f64 {
    let hits = parallel_map(
        indices,
        || (),
        |_, i| match (data.image(i), data.label(i)) {
            (Some(image), Some(label)) => argmax(&forward(spec, shapes, w, image, |_, _| {})) == usize::from(label),
            _ => false,
        },
    );
    let correct = hits.map_or(0, |h| h.iter().filter(|&&hit| hit).count());
    correct as f64 / indices.len().max(1) as f64
}

/// Fraction of non-zero activations kept below the clip when calibrating (the rest saturate).
pub const CALIBRATION_PERCENTILE: f64 = 0.999;

/// Per tensor, the float value that maps to the largest activation code: 1.0 for the image
/// (pixels are exactly `0..=pixel_max`), else the [`CALIBRATION_PERCENTILE`] of the tensor's
/// positive values over `indices` (training images). Max-pooled tensors inherit their
/// input's clip (pooling codes equals pooling values).
pub fn calibrate(
    spec: &GraphSpec,
    shapes: &[Shape],
    w: &FloatWeights,
    data: &dyn Samples,
    indices: &[usize],
) -> Vec<f32> {
    let mut seen: Vec<Vec<f32>> = vec![Vec::new(); shapes.len()];
    for i in indices {
        let Some(image) = data.image(*i) else { continue };
        forward(spec, shapes, w, image, |t, values| {
            if t == 0 {
                return;
            }
            if let Some(v) = seen.get_mut(t) {
                v.extend(values.iter().copied().filter(|v| *v > 0.0));
            }
        });
    }
    let mut clips: Vec<f32> = seen
        .into_iter()
        .enumerate()
        .map(|(t, mut values)| {
            if t == 0 || values.is_empty() {
                return 1.0;
            }
            values.sort_by(f32::total_cmp);
            let at = ((values.len() - 1) as f64 * CALIBRATION_PERCENTILE).round() as usize;
            values
                .get(at)
                .or(values.last())
                .map_or(1.0, |v| v.max(f32::MIN_POSITIVE))
        })
        .collect();
    for (i, node) in spec.nodes.iter().enumerate() {
        if let Op::MaxPool { .. } = node.op {
            if let Some(&c) = clips.get(node.input) {
                if let Some(slot) = clips.get_mut(i + 1) {
                    *slot = c;
                }
            }
        }
    }
    clips
}
