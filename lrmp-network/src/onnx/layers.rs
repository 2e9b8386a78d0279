//! The operations that carry weights and become crossbar layers: `Conv` (1-D and 2-D,
//! grouped and depthwise, every `auto_pad`), `Gemm` and `MatMul` with a constant weight.
//! Each derives the layer from the input shape and the weight's dimensions (never its
//! values) and returns the output shape.

use super::tensor::{dim32, non_negative, Node, Tensor};
use crate::geometry::{fc_layer, ConvGeometry, FieldError};
use crate::Layer;

/// A derived layer, the node's output and what the table format cannot hold.
pub(crate) struct Mapped {
    pub layer: Layer,
    pub output: Tensor,
    /// Dilation (height, width); the output size already accounts for it.
    pub dilation: (u32, u32),
    /// Padding after the last row / column.
    pub pad_end: (u32, u32),
}

/// The input at `index`, required.
pub(crate) fn input<'t>(inputs: &[Option<&'t Tensor>], index: usize) -> Result<&'t Tensor, FieldError> {
    inputs
        .get(index)
        .copied()
        .flatten()
        .ok_or_else(|| FieldError::new(format!("input[{index}]"), "missing"))
}

/// The weight at `index`: present and known without running the network.
fn weight<'t>(node: &Node<'_>, inputs: &[Option<&'t Tensor>], index: usize) -> Result<&'t Tensor, FieldError> {
    let w = input(inputs, index)?;
    if !w.constant {
        let name = node.proto.input.get(index).map_or("", String::as_str);
        return Err(FieldError::new(
            format!("input[{index}]"),
            format!(
                "the weight `{name}` is computed at run time; a crossbar needs a constant weight \
                 (an initializer or a Constant node)"
            ),
        ));
    }
    Ok(w)
}

/// Per-axis integer attribute with `n` entries, `default` when absent.
fn per_axis(node: &Node<'_>, name: &str, n: usize, default: i64) -> Result<Vec<i64>, FieldError> {
    match node.ints(name)? {
        None => Ok(vec![default; n]),
        Some(v) if v.len() == n => Ok(v.to_vec()),
        Some(v) => Err(FieldError::new(name, format!("has {} entries, expected {n}", v.len()))),
    }
}

/// The (begin, end) padding of each spatial axis from `auto_pad` and `pads`.
pub(crate) fn padding(
    node: &Node<'_>,
    input: &[u64],
    kernel: &[u64],
    stride: &[u64],
    dilation: &[u64],
) -> Result<Vec<(u64, u64)>, FieldError> {
    let n = input.len();
    let auto_pad = node.string("auto_pad")?.unwrap_or_else(|| "NOTSET".to_owned());
    match auto_pad.as_str() {
        "NOTSET" => {
            let pads = per_axis(node, "pads", 2 * n, 0)?;
            (0..n)
                .map(|i| {
                    let begin = pads.get(i).copied().unwrap_or(0);
                    let end = pads.get(i + n).copied().unwrap_or(0);
                    Ok((non_negative(begin, "pads")?, non_negative(end, "pads")?))
                })
                .collect()
        }
        "VALID" => Ok(vec![(0, 0); n]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let upper = auto_pad == "SAME_UPPER";
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let get = |v: &[u64]| v.get(i).copied().unwrap_or(1);
                out.push(same_padding(
                    get(input),
                    get(kernel),
                    get(stride),
                    get(dilation),
                    upper,
                )?);
            }
            Ok(out)
        }
        other => Err(FieldError::new(
            "auto_pad",
            format!("`{other}` is not NOTSET, SAME_UPPER, SAME_LOWER or VALID"),
        )),
    }
}

/// `SAME_*` padding: output `ceil(in/stride)`, the odd padded row at the end (upper) or the
/// beginning (lower).
fn same_padding(input: u64, kernel: u64, stride: u64, dilation: u64, upper: bool) -> Result<(u64, u64), FieldError> {
    if stride == 0 || kernel == 0 {
        return Err(FieldError::new("strides", "stride and kernel must be at least 1"));
    }
    let out = input.div_ceil(stride);
    let span = dilation.saturating_mul(kernel - 1).saturating_add(1);
    let needed = out.saturating_sub(1).saturating_mul(stride).saturating_add(span);
    let total = needed.saturating_sub(input);
    let small = total / 2;
    Ok(if upper {
        (small, total - small)
    } else {
        (total - small, small)
    })
}

/// (height, width) of a 1-D or 2-D per-axis value; a 1-D value has height `h1d`.
fn pair_or(values: &[u64], field: &str, h1d: u32) -> Result<(u32, u32), FieldError> {
    match values {
        [w] => Ok((h1d, dim32(*w, field)?)),
        [h, w] => Ok((dim32(*h, field)?, dim32(*w, field)?)),
        _ => Err(FieldError::new(field, "expected 1 or 2 spatial axes")),
    }
}

fn pair(values: &[u64], field: &str) -> Result<(u32, u32), FieldError> {
    pair_or(values, field, 1)
}

fn to_u64(values: &[i64], field: &str) -> Result<Vec<u64>, FieldError> {
    values.iter().map(|&v| non_negative(v, field)).collect()
}

/// `Conv`: input `[N, C, (H,) W]`, weight `[M, C/group, (kH,) kW]`.
pub(crate) fn conv(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Mapped, FieldError> {
    let x = input(inputs, 0)?;
    let w = weight(node, inputs, 1)?;
    let spatial = match x.rank() {
        3 | 4 => x.rank() - 2,
        r => {
            return Err(FieldError::new(
                "input[0]",
                format!("rank {r}: only 1-D and 2-D convolutions (rank 3 or 4) are mapped"),
            ))
        }
    };
    if w.rank() != x.rank() {
        return Err(FieldError::new(
            "input[1]",
            format!("weight of rank {} for an input of rank {}", w.rank(), x.rank()),
        ));
    }
    let (batch, channels, in_spatial) = split3(&x.shape);
    let (c_out, per_group, kernel) = split3(&w.shape);
    let group = non_negative(node.int("group", 1)?, "group")?;
    if group == 0 || per_group.saturating_mul(group) != channels {
        return Err(FieldError::new(
            "group",
            format!("{group} groups of {per_group} weight channels do not cover the {channels} input channels"),
        ));
    }
    if let Some(k) = node.ints("kernel_shape")? {
        if to_u64(k, "kernel_shape")? != kernel {
            return Err(FieldError::new(
                "kernel_shape",
                format!("{k:?} disagrees with the weight's {kernel:?}"),
            ));
        }
    }
    let stride = to_u64(&per_axis(node, "strides", spatial, 1)?, "strides")?;
    let dilation = to_u64(&per_axis(node, "dilations", spatial, 1)?, "dilations")?;
    let pads = padding(node, in_spatial, kernel, &stride, &dilation)?;
    let begin: Vec<u64> = pads.iter().map(|p| p.0).collect();
    let end: Vec<u64> = pads.iter().map(|p| p.1).collect();
    let geometry = ConvGeometry {
        c_in: dim32(channels, "input[0]")?,
        c_out: dim32(c_out, "input[1]")?,
        kernel: pair(kernel, "input[1]")?,
        stride: pair(&stride, "strides")?,
        pad_begin: pair_or(&begin, "pads", 0)?,
        pad_end: pair_or(&end, "pads", 0)?,
        dilation: pair(&dilation, "dilations")?,
        groups: dim32(group, "group")?,
        input: pair(in_spatial, "input[0]")?,
    };
    let layer = geometry.layer(&node.label).map_err(in_onnx_terms)?;
    let d = layer.shape.dims();
    let mut shape = vec![batch, c_out];
    if spatial == 2 {
        shape.push(u64::from(d.out_h));
    }
    shape.push(u64::from(d.out_w));
    Ok(Mapped {
        layer,
        output: Tensor::runtime(shape)?,
        dilation: geometry.dilation,
        pad_end: geometry.pad_end,
    })
}

/// Splits a shape into its first two dimensions and the rest.
fn split3(shape: &[u64]) -> (u64, u64, &[u64]) {
    match shape {
        [a, b, rest @ ..] => (*a, *b, rest),
        [a] => (*a, 1, &[]),
        [] => (1, 1, &[]),
    }
}

/// Renames geometry fields to the ONNX node's own.
fn in_onnx_terms(mut e: FieldError) -> FieldError {
    e.field = match e.field.as_str() {
        "c_in" | "in_h" | "in_w" => "input[0]".to_owned(),
        "c_out" | "kernel_h" | "kernel_w" => "input[1]".to_owned(),
        "groups" => "group".to_owned(),
        f if f.starts_with("stride") => "strides".to_owned(),
        f if f.starts_with("dilation") => "dilations".to_owned(),
        _ => e.field,
    };
    e
}

fn mapped_fc(node: &Node<'_>, c_in: u64, c_out: u64, output: Vec<u64>) -> Result<Mapped, FieldError> {
    let layer = fc_layer(&node.label, dim32(c_in, "input[0]")?, dim32(c_out, "input[1]")?).map_err(in_onnx_terms)?;
    Ok(Mapped {
        layer,
        output: Tensor::runtime(output)?,
        dilation: (1, 1),
        pad_end: (0, 0),
    })
}

/// `Gemm`: `A [M, K]` (or `[K, M]` with `transA`) times a constant `B [K, N]` (or `[N, K]`
/// with `transB`).
pub(crate) fn gemm(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Mapped, FieldError> {
    let a = input(inputs, 0)?;
    let b = weight(node, inputs, 1)?;
    let [a0, a1] = two(a, "input[0]")?;
    let [b0, b1] = two(b, "input[1]")?;
    let (m, k) = if node.int("transA", 0)? != 0 {
        (a1, a0)
    } else {
        (a0, a1)
    };
    let (kb, n) = if node.int("transB", 0)? != 0 {
        (b1, b0)
    } else {
        (b0, b1)
    };
    if k != kb {
        return Err(FieldError::new(
            "input[1]",
            format!("the weight has {kb} inputs but A has {k} features (check transB)"),
        ));
    }
    mapped_fc(node, k, n, vec![m, n])
}

fn two(t: &Tensor, field: &str) -> Result<[u64; 2], FieldError> {
    match t.shape.as_slice() {
        [a, b] => Ok([*a, *b]),
        s => Err(FieldError::new(field, format!("expected 2 dimensions, got {s:?}"))),
    }
}

/// `MatMul` with a constant 2-D weight `[K, N]`: an fc layer for a 2-D input; for
/// `[N, ..., K]` every position between batch and features multiplies the same weight,
/// which is a 1x1 convolution over those positions.
pub(crate) fn matmul(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Mapped, FieldError> {
    let a = input(inputs, 0)?;
    let b = weight(node, inputs, 1)?;
    let [k, n] = two(b, "input[1]")?;
    let Some((&features, leading)) = a.shape.split_last() else {
        return Err(FieldError::new("input[0]", "a scalar cannot be multiplied"));
    };
    if features != k {
        return Err(FieldError::new(
            "input[1]",
            format!("the weight has {k} inputs but the input has {features} features"),
        ));
    }
    let mut output = leading.to_vec();
    output.push(n);
    if leading.len() <= 1 {
        return mapped_fc(node, k, n, output);
    }
    let positions = leading
        .get(1..)
        .unwrap_or_default()
        .iter()
        .fold(1u64, |acc, &d| acc.saturating_mul(d));
    let geometry = ConvGeometry::square(
        dim32(k, "input[1]")?,
        dim32(n, "input[1]")?,
        1,
        1,
        0,
        1,
        (dim32(positions, "input[0]")?, 1),
    );
    let layer = geometry.layer(&node.label).map_err(in_onnx_terms)?;
    Ok(Mapped {
        layer,
        output: Tensor::runtime(output)?,
        dilation: (1, 1),
        pad_end: (0, 0),
    })
}
