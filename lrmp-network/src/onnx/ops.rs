//! Shape rules of the operations that carry no weights. Each takes the node's input tensors
//! and returns its output tensors (shapes, and the values of small constants so that shape
//! arithmetic such as `Shape -> Gather -> Unsqueeze -> Concat -> Reshape` folds to a
//! constant). An operation not listed here is not known: its outputs' shapes come from
//! `value_info` if the file records them, else they stay unknown.

use super::layers::{input, padding};
use super::tensor::{axis, element_count, from_proto, non_negative, Node, Tensor, MAX_RANK, MAX_VALUES};
use crate::geometry::FieldError;

/// Why a known weightless operation was skipped (for the import report).
pub(crate) fn reason(op: &str) -> Option<&'static str> {
    Some(match op {
        "Relu" | "LeakyRelu" | "PRelu" | "Elu" | "Selu" | "Celu" | "Gelu" | "Sigmoid" | "HardSigmoid" | "HardSwish"
        | "Tanh" | "Softplus" | "Softsign" | "Mish" | "Softmax" | "LogSoftmax" | "Clip" | "ThresholdedRelu"
        | "Shrink" | "Erf" | "Sqrt" | "Exp" | "Log" | "Neg" | "Abs" | "Reciprocal" | "Floor" | "Ceil" | "Round"
        | "Sign" | "Not" | "Sin" | "Cos" => "activation: no weights",
        "BatchNormalization" | "InstanceNormalization" | "LayerNormalization" | "GroupNormalization" | "LRN" => {
            "normalisation: folds into the neighbouring layer, no crossbar"
        }
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Sum" | "Mean" | "Equal" | "Less" | "Greater"
        | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or" | "Xor" | "Where" | "Mod" => "element-wise: no weights",
        "MaxPool" | "AveragePool" | "LpPool" | "GlobalAveragePool" | "GlobalMaxPool" | "GlobalLpPool"
        | "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1" | "ReduceL2"
        | "ArgMax" | "ArgMin" => "pooling or reduction: no weights",
        "Flatten" | "Reshape" | "Transpose" | "Squeeze" | "Unsqueeze" | "Concat" | "Split" | "Slice" | "Gather"
        | "Pad" | "Resize" | "Upsample" | "Expand" | "Tile" | "DepthToSpace" | "SpaceToDepth" => {
            "moves data: no weights"
        }
        "Dropout" | "Identity" | "Cast" | "CastLike" => "no-op at inference",
        "Shape" | "Size" | "Constant" | "ConstantOfShape" => "shape arithmetic: no data",
        _ => return None,
    })
}

type Outputs = Vec<Tensor>;

/// The output tensors of a known weightless operation; `None` when the operation is not
/// known.
pub(crate) fn infer(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Option<Result<Outputs, FieldError>> {
    let op = node.op();
    reason(op)?;
    Some(match op {
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Sum" | "Mean" | "Equal" | "Less" | "Greater"
        | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or" | "Xor" | "Where" | "Mod" => elementwise(op, inputs),
        "MaxPool" | "AveragePool" | "LpPool" => pool(node, inputs),
        "GlobalAveragePool" | "GlobalMaxPool" | "GlobalLpPool" => global_pool(inputs),
        "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1" | "ReduceL2" => {
            reduce(node, inputs)
        }
        "ArgMax" | "ArgMin" => arg_reduce(node, inputs),
        "Flatten" => flatten(node, inputs),
        "Reshape" => reshape(node, inputs),
        "Transpose" => transpose(node, inputs),
        "Squeeze" => squeeze(node, inputs),
        "Unsqueeze" => unsqueeze(node, inputs),
        "Concat" => concat(node, inputs),
        "Split" => split(node, inputs),
        "Slice" => slice(node, inputs),
        "Gather" => gather(node, inputs),
        "Pad" => pad(node, inputs),
        "Resize" | "Upsample" => resize(node, inputs),
        "Expand" => expand(inputs),
        "Tile" => tile(inputs),
        "DepthToSpace" | "SpaceToDepth" => depth_space(node, inputs),
        "Shape" => shape_of(node, inputs),
        "Size" => input(inputs, 0).and_then(|x| one(Tensor::int_values(vec![], vec![count_i64(x)?]))),
        "Constant" => constant(node),
        "ConstantOfShape" => constant_of_shape(node, inputs),
        "Cast" | "Identity" | "CastLike" => input(inputs, 0).map(|x| vec![x.clone()]),
        "Dropout" => same_shape(inputs).map(|v| [v.clone(), v].concat()),
        _ => same_shape(inputs),
    })
}

fn one(t: Result<Tensor, FieldError>) -> Result<Outputs, FieldError> {
    t.map(|t| vec![t])
}

fn count_i64(t: &Tensor) -> Result<i64, FieldError> {
    i64::try_from(t.count()).map_err(|_| FieldError::new("input[0]", "too many elements"))
}

/// Activations, normalisation, dropout: every output has the first input's shape.
fn same_shape(inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let mut out = Tensor::runtime(x.shape.clone())?;
    out.constant = inputs.iter().flatten().all(|t| t.constant);
    Ok(vec![out])
}

/// Numpy-style broadcasting of two shapes.
fn broadcast(a: &[u64], b: &[u64], field: &str) -> Result<Vec<u64>, FieldError> {
    let rank = a.len().max(b.len());
    let at = |s: &[u64], i: usize| {
        let offset = rank - s.len();
        if i < offset {
            1
        } else {
            s.get(i - offset).copied().unwrap_or(1)
        }
    };
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(FieldError::new(
                field,
                format!("shapes {a:?} and {b:?} do not broadcast ({x} against {y})"),
            )),
        })
        .collect()
}

fn elementwise(op: &str, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let present: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
    let first = input(inputs, 0)?;
    let mut shape = first.shape.clone();
    for (i, t) in present.iter().enumerate().skip(1) {
        shape = broadcast(&shape, &t.shape, &format!("input[{i}]"))?;
    }
    let mut out = Tensor::runtime(shape)?;
    out.constant = present.iter().all(|t| t.constant);
    if out.constant && out.count() <= MAX_VALUES {
        out.ints = int_arith(op, &present, out.count());
    }
    Ok(vec![out])
}

/// Integer arithmetic on small constants (shape computations); scalars broadcast.
fn int_arith(op: &str, inputs: &[&Tensor], n: u64) -> Option<Vec<i64>> {
    let [a, b] = inputs else { return None };
    let (a, b) = (a.ints.as_ref()?, b.ints.as_ref()?);
    let pick = |v: &Vec<i64>, i: usize| {
        if v.len() == 1 {
            v.first().copied()
        } else {
            v.get(i).copied()
        }
    };
    (0..usize::try_from(n).ok()?)
        .map(|i| {
            let (x, y) = (pick(a, i)?, pick(b, i)?);
            match op {
                "Add" | "Sum" => x.checked_add(y),
                "Sub" => x.checked_sub(y),
                "Mul" => x.checked_mul(y),
                "Div" => x.checked_div(y),
                "Max" => Some(x.max(y)),
                "Min" => Some(x.min(y)),
                _ => None,
            }
        })
        .collect()
}

/// Output size of one pooling window axis (ONNX's rule, `ceil_mode` included).
fn window_out(
    input: u64,
    kernel: u64,
    stride: u64,
    pads: (u64, u64),
    dilation: u64,
    ceil: bool,
) -> Result<u64, FieldError> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return Err(FieldError::new(
            "kernel_shape",
            "kernel, stride and dilation must be at least 1",
        ));
    }
    let span = dilation.saturating_mul(kernel - 1).saturating_add(1);
    let padded = input.saturating_add(pads.0).saturating_add(pads.1);
    if padded < span {
        return Err(FieldError::new(
            "kernel_shape",
            format!("a window of {span} does not fit the padded input of {padded}"),
        ));
    }
    let room = padded - span;
    let mut out = if ceil { room.div_ceil(stride) } else { room / stride } + 1;
    // A last window that would start in the end padding is dropped.
    if ceil && (out - 1).saturating_mul(stride) >= input.saturating_add(pads.0) {
        out -= 1;
    }
    Ok(out)
}

fn pool(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let Some((head, spatial)) = x.shape.split_at_checked(2) else {
        return Err(FieldError::new("input[0]", "pooling needs [N, C, spatial...]"));
    };
    let kernel = values(
        node.ints("kernel_shape")?
            .ok_or_else(|| FieldError::new("kernel_shape", "missing"))?,
        "kernel_shape",
    )?;
    let n = spatial.len();
    let list = |name: &str| -> Result<Vec<u64>, FieldError> {
        match node.ints(name)? {
            None => Ok(vec![1; n]),
            Some(v) => values(v, name),
        }
    };
    let (stride, dilation) = (list("strides")?, list("dilations")?);
    for (name, v) in [
        ("kernel_shape", &kernel),
        ("strides", &stride),
        ("dilations", &dilation),
    ] {
        if v.len() != n {
            return Err(FieldError::new(
                name,
                format!("has {} entries for {n} spatial axes", v.len()),
            ));
        }
    }
    let pads = padding(node, spatial, &kernel, &stride, &dilation)?;
    let ceil = node.int("ceil_mode", 0)? != 0;
    let mut shape = head.to_vec();
    for (i, &size) in spatial.iter().enumerate() {
        let get = |v: &[u64]| v.get(i).copied().unwrap_or(1);
        let p = pads.get(i).copied().unwrap_or((0, 0));
        shape.push(window_out(size, get(&kernel), get(&stride), p, get(&dilation), ceil)?);
    }
    let out = Tensor::runtime(shape)?;
    Ok(vec![out.clone(), out])
}

fn values(v: &[i64], field: &str) -> Result<Vec<u64>, FieldError> {
    v.iter().map(|&x| non_negative(x, field)).collect()
}

fn global_pool(inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let shape = x
        .shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if i < 2 { d } else { 1 })
        .collect();
    one(Tensor::runtime(shape))
}

/// Axes from the `axes` attribute, or (newer opsets) from input 1.
fn axes_of(node: &Node<'_>, inputs: &[Option<&Tensor>], index: usize) -> Result<Option<Vec<i64>>, FieldError> {
    if let Some(a) = node.ints("axes")? {
        return Ok(Some(a.to_vec()));
    }
    match inputs.get(index).copied().flatten() {
        None => Ok(None),
        Some(t) => known_ints(t, index).map(Some),
    }
}

/// The values of a constant integer input, or an error naming it as computed.
fn known_ints(t: &Tensor, index: usize) -> Result<Vec<i64>, FieldError> {
    t.ints.clone().ok_or_else(|| {
        FieldError::new(
            format!("input[{index}]"),
            if t.constant {
                "the values of this constant are not stored in the file".to_owned()
            } else {
                "computed at run time; only constants (initializers, Constant nodes, or arithmetic on \
                 known shapes) are supported here"
                    .to_owned()
            },
        )
    })
}

fn normalise_axes(axes: &[i64], rank: usize, field: &str) -> Result<Vec<usize>, FieldError> {
    let mut out: Vec<usize> = axes.iter().map(|&a| axis(a, rank, field)).collect::<Result<_, _>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn reduce(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let keep = node.int("keepdims", 1)? != 0;
    let axes = match axes_of(node, inputs, 1)? {
        Some(a) if !a.is_empty() => normalise_axes(&a, x.rank(), "axes")?,
        _ if node.int("noop_with_empty_axes", 0)? != 0 => return Ok(vec![x.clone()]),
        _ => (0..x.rank()).collect(),
    };
    let mut shape = Vec::new();
    for (i, &d) in x.shape.iter().enumerate() {
        match (axes.contains(&i), keep) {
            (false, _) => shape.push(d),
            (true, true) => shape.push(1),
            (true, false) => {}
        }
    }
    one(Tensor::runtime(shape))
}

fn arg_reduce(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let a = axis(node.int("axis", 0)?, x.rank(), "axis")?;
    let keep = node.int("keepdims", 1)? != 0;
    let shape = x
        .shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (i == a, keep) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    one(Tensor::runtime(shape))
}

fn flatten(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let raw = node.int("axis", 1)?;
    // Flatten's axis may equal the rank.
    let a = if raw == i64::try_from(x.rank()).unwrap_or(-1) {
        x.rank()
    } else {
        axis(raw, x.rank() + 1, "axis")?
    };
    let (outer, inner) = x.shape.split_at_checked(a).unwrap_or((&x.shape, &[]));
    let mut out = Tensor::runtime(vec![element_count(outer), element_count(inner)])?;
    out.constant = x.constant;
    Ok(vec![out])
}

fn reshape(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let target = match node.ints("shape")? {
        Some(s) => s.to_vec(),
        None => known_ints(input(inputs, 1)?, 1)?,
    };
    let allow_zero = node.int("allowzero", 0)? != 0;
    let mut shape = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        match d {
            -1 if infer.is_none() => {
                infer = Some(i);
                shape.push(1);
            }
            0 if !allow_zero => {
                shape.push(*x.shape.get(i).ok_or_else(|| {
                    FieldError::new("input[1]", format!("0 at position {i} copies a missing dimension"))
                })?)
            }
            d => shape.push(non_negative(d, "input[1]")?),
        }
    }
    let total = x.count();
    let known = element_count(&shape);
    if let Some(i) = infer {
        if known == 0 || total % known != 0 {
            return Err(FieldError::new(
                "input[1]",
                format!("{target:?} cannot hold the {total} elements of {:?}", x.shape),
            ));
        }
        if let Some(slot) = shape.get_mut(i) {
            *slot = total / known;
        }
    } else if known != total {
        return Err(FieldError::new(
            "input[1]",
            format!("{target:?} holds {known} elements, the input {:?} has {total}", x.shape),
        ));
    }
    let mut out = Tensor::runtime(shape)?;
    out.constant = x.constant;
    out.ints = x.ints.clone();
    Ok(vec![out])
}

fn transpose(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let perm: Vec<usize> = match node.ints("perm")? {
        Some(p) => p.iter().map(|&a| axis(a, x.rank(), "perm")).collect::<Result<_, _>>()?,
        None => (0..x.rank()).rev().collect(),
    };
    let mut seen = perm.clone();
    seen.sort_unstable();
    if seen != (0..x.rank()).collect::<Vec<_>>() {
        return Err(FieldError::new(
            "perm",
            format!("{perm:?} is not a permutation of {} axes", x.rank()),
        ));
    }
    let shape = perm.iter().map(|&a| x.shape.get(a).copied().unwrap_or(1)).collect();
    one(Tensor::runtime(shape))
}

fn squeeze(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let axes = match axes_of(node, inputs, 1)? {
        Some(a) => normalise_axes(&a, x.rank(), "axes")?,
        None => (0..x.rank()).filter(|&i| x.shape.get(i) == Some(&1)).collect(),
    };
    let shape = x
        .shape
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, &d)| d)
        .collect();
    let mut out = Tensor::runtime(shape)?;
    out.constant = x.constant;
    out.ints = x.ints.clone();
    Ok(vec![out])
}

fn unsqueeze(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let raw = axes_of(node, inputs, 1)?.ok_or_else(|| FieldError::new("axes", "missing"))?;
    let rank = x.rank().saturating_add(raw.len());
    if rank > MAX_RANK {
        return Err(FieldError::new("axes", format!("rank {rank} exceeds {MAX_RANK}")));
    }
    let axes = normalise_axes(&raw, rank, "axes")?;
    let mut rest = x.shape.iter();
    let shape = (0..rank)
        .map(|i| {
            if axes.contains(&i) {
                1
            } else {
                rest.next().copied().unwrap_or(1)
            }
        })
        .collect();
    let mut out = Tensor::runtime(shape)?;
    out.constant = x.constant;
    out.ints = x.ints.clone();
    Ok(vec![out])
}

fn concat(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let first = input(inputs, 0)?;
    let a = axis(node.int("axis", 0)?, first.rank(), "axis")?;
    let present: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
    let mut shape = first.shape.clone();
    let mut total = 0u64;
    for (i, t) in present.iter().enumerate() {
        let same = t.rank() == first.rank()
            && t.shape
                .iter()
                .zip(&first.shape)
                .enumerate()
                .all(|(j, (x, y))| j == a || x == y);
        if !same {
            return Err(FieldError::new(
                format!("input[{i}]"),
                format!("shape {:?} does not match {:?} outside axis {a}", t.shape, first.shape),
            ));
        }
        total = total.saturating_add(t.shape.get(a).copied().unwrap_or(0));
    }
    if let Some(slot) = shape.get_mut(a) {
        *slot = total;
    }
    let mut out = Tensor::runtime(shape)?;
    out.constant = present.iter().all(|t| t.constant);
    if out.constant && first.rank() == 1 {
        out.ints = present
            .iter()
            .map(|t| t.ints.clone())
            .collect::<Option<Vec<_>>>()
            .map(|v| v.concat());
    }
    Ok(vec![out])
}

fn split(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let a = axis(node.int("axis", 0)?, x.rank(), "axis")?;
    let size = x.shape.get(a).copied().unwrap_or(1);
    let parts: Vec<u64> = match node.ints("split")? {
        Some(s) => values(s, "split")?,
        None => match inputs.get(1).copied().flatten() {
            Some(t) => values(&known_ints(t, 1)?, "input[1]")?,
            None => {
                // Equal parts, one per output (`num_outputs` must say the same).
                let n = node.proto.output.len().max(1) as u64;
                let said = node.int("num_outputs", 0)?;
                if said != 0 && u64::try_from(said).ok() != Some(n) {
                    return Err(FieldError::new(
                        "num_outputs",
                        format!("{said} disagrees with the node's {n} outputs"),
                    ));
                }
                let chunk = size.div_ceil(n);
                (0..n).map(|i| chunk.min(size.saturating_sub(i * chunk))).collect()
            }
        },
    };
    if parts.iter().fold(0u64, |s, &p| s.saturating_add(p)) != size {
        return Err(FieldError::new(
            "split",
            format!("{parts:?} does not sum to the axis size {size}"),
        ));
    }
    parts
        .into_iter()
        .map(|p| {
            let mut shape = x.shape.clone();
            if let Some(slot) = shape.get_mut(a) {
                *slot = p;
            }
            Tensor::runtime(shape)
        })
        .collect()
}

/// Clamped start/end of one sliced axis, and the element count taken.
fn slice_axis(size: u64, start: i64, end: i64, step: i64) -> Result<(i64, u64), FieldError> {
    if step == 0 {
        return Err(FieldError::new("steps", "a step of 0"));
    }
    let n = i64::try_from(size).unwrap_or(i64::MAX);
    let fix = |v: i64| if v < 0 { v.saturating_add(n) } else { v };
    let (s, e) = (fix(start), fix(end));
    let (s, e) = if step > 0 {
        (s.clamp(0, n), e.clamp(0, n))
    } else {
        (s.clamp(0, n - 1), e.clamp(-1, n - 1))
    };
    let span = if step > 0 {
        e.saturating_sub(s)
    } else {
        s.saturating_sub(e)
    };
    let count = if span <= 0 {
        0
    } else {
        (span.unsigned_abs()).div_ceil(step.unsigned_abs())
    };
    Ok((s, count))
}

fn slice(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let from = |attr: &str, index: usize| -> Result<Option<Vec<i64>>, FieldError> {
        match node.ints(attr)? {
            Some(v) => Ok(Some(v.to_vec())),
            None => inputs
                .get(index)
                .copied()
                .flatten()
                .map(|t| known_ints(t, index))
                .transpose(),
        }
    };
    let starts = from("starts", 1)?.ok_or_else(|| FieldError::new("starts", "missing"))?;
    let ends = from("ends", 2)?.ok_or_else(|| FieldError::new("ends", "missing"))?;
    let axes = from("axes", 3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = from("steps", 4)?.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(FieldError::new("ends", "starts, ends, axes and steps differ in length"));
    }
    let mut shape = x.shape.clone();
    let mut first = (0i64, 1i64, x.shape.first().copied().unwrap_or(0));
    for (((&s, &e), &a), &st) in starts.iter().zip(&ends).zip(&axes).zip(&steps) {
        let a = axis(a, x.rank(), "axes")?;
        let size = x.shape.get(a).copied().unwrap_or(1);
        let (begin, count) = slice_axis(size, s, e, st)?;
        if let Some(slot) = shape.get_mut(a) {
            *slot = count;
        }
        if a == 0 {
            first = (begin, st, count);
        }
    }
    let mut out = Tensor::runtime(shape)?;
    out.constant = x.constant;
    if let (Some(v), 1) = (&x.ints, x.rank()) {
        let (begin, step, count) = first;
        out.ints = (0..count)
            .map(|i| {
                let at = begin.checked_add(step.checked_mul(i64::try_from(i).ok()?)?)?;
                v.get(usize::try_from(at).ok()?).copied()
            })
            .collect();
    }
    Ok(vec![out])
}

fn gather(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let data = input(inputs, 0)?;
    let indices = input(inputs, 1)?;
    let a = axis(node.int("axis", 0)?, data.rank(), "axis")?;
    let mut shape: Vec<u64> = data.shape.get(..a).unwrap_or_default().to_vec();
    shape.extend_from_slice(&indices.shape);
    shape.extend_from_slice(data.shape.get(a + 1..).unwrap_or_default());
    let mut out = Tensor::runtime(shape)?;
    out.constant = data.constant && indices.constant;
    if let (Some(v), Some(idx), 1) = (&data.ints, &indices.ints, data.rank()) {
        let n = i64::try_from(v.len()).unwrap_or(i64::MAX);
        let picked: Result<Vec<i64>, FieldError> = idx
            .iter()
            .map(|&i| {
                let at = if i < 0 { i.saturating_add(n) } else { i };
                usize::try_from(at)
                    .ok()
                    .and_then(|at| v.get(at).copied())
                    .ok_or_else(|| FieldError::new("input[1]", format!("index {i} is outside {n} elements")))
            })
            .collect();
        out.ints = Some(picked?);
    }
    Ok(vec![out])
}

fn pad(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let pads = match node.ints("pads")? {
        Some(p) => p.to_vec(),
        None => known_ints(input(inputs, 1)?, 1)?,
    };
    let axes: Vec<usize> = match inputs.get(3).copied().flatten() {
        Some(t) => known_ints(t, 3)?
            .iter()
            .map(|&a| axis(a, x.rank(), "input[3]"))
            .collect::<Result<_, _>>()?,
        None => (0..x.rank()).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(FieldError::new(
            "pads",
            format!("has {} entries for {} axes", pads.len(), axes.len()),
        ));
    }
    let mut shape = x.shape.clone();
    for (k, &a) in axes.iter().enumerate() {
        let (b, e) = (
            pads.get(k).copied().unwrap_or(0),
            pads.get(k + axes.len()).copied().unwrap_or(0),
        );
        if let Some(slot) = shape.get_mut(a) {
            let size = i128::from(*slot) + i128::from(b) + i128::from(e);
            *slot =
                u64::try_from(size).map_err(|_| FieldError::new("pads", format!("axis {a} would have size {size}")))?;
        }
    }
    one(Tensor::runtime(shape))
}

fn resize(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    // Upsample-7 keeps scales in an attribute; Upsample-9 and Resize-10 in input 1;
    // Resize-11 and later take roi, scales and sizes as inputs 1, 2, 3.
    let (scales_at, sizes_at) = if node.op() == "Upsample" || node.opset < 11 {
        (1, None)
    } else {
        (2, Some(3))
    };
    let present = |i: usize| inputs.get(i).copied().flatten().filter(|t| t.count() > 0);
    let shape: Vec<u64> = if let Some(sizes) = sizes_at.and_then(present) {
        values(&known_ints(sizes, 3)?, "input[3]")?
    } else {
        let scales: Vec<f64> = match node.floats("scales")? {
            Some(s) => s.iter().map(|&v| f64::from(v)).collect(),
            None => {
                let t = present(scales_at).ok_or_else(|| FieldError::new(format!("input[{scales_at}]"), "missing"))?;
                t.floats.clone().ok_or_else(|| {
                    FieldError::new(
                        format!("input[{scales_at}]"),
                        "the scales are computed at run time or not stored; only constant scales are supported",
                    )
                })?
            }
        };
        if scales.len() != x.rank() {
            return Err(FieldError::new(
                "scales",
                format!("{} scales for rank {}", scales.len(), x.rank()),
            ));
        }
        x.shape
            .iter()
            .zip(&scales)
            .map(|(&d, &s)| {
                let v = (d as f64 * s).floor();
                if (0.0..9.0e15).contains(&v) {
                    Ok(v as u64)
                } else {
                    Err(FieldError::new("scales", format!("scale {s} gives no valid size")))
                }
            })
            .collect::<Result<_, _>>()?
    };
    if shape.len() != x.rank() {
        return Err(FieldError::new(
            "input[3]",
            format!("{} sizes for rank {}", shape.len(), x.rank()),
        ));
    }
    one(Tensor::runtime(shape))
}

fn expand(inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let target = values(&known_ints(input(inputs, 1)?, 1)?, "input[1]")?;
    let mut out = Tensor::runtime(broadcast(&x.shape, &target, "input[1]")?)?;
    out.constant = x.constant;
    Ok(vec![out])
}

fn tile(inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let repeats = values(&known_ints(input(inputs, 1)?, 1)?, "input[1]")?;
    if repeats.len() != x.rank() {
        return Err(FieldError::new("input[1]", "one repeat per axis is needed"));
    }
    one(Tensor::runtime(
        x.shape
            .iter()
            .zip(&repeats)
            .map(|(d, r)| d.saturating_mul(*r))
            .collect(),
    ))
}

fn depth_space(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let b = non_negative(node.int("blocksize", 0)?, "blocksize")?;
    let [n, c, h, w] = x.shape.as_slice() else {
        return Err(FieldError::new("input[0]", "expected [N, C, H, W]"));
    };
    let bb = b.saturating_mul(b);
    let shape = if node.op() == "DepthToSpace" {
        if b == 0 || c % bb != 0 {
            return Err(FieldError::new(
                "blocksize",
                format!("{c} channels are not divisible by {bb}"),
            ));
        }
        vec![*n, c / bb, h.saturating_mul(b), w.saturating_mul(b)]
    } else {
        if b == 0 || h % b != 0 || w % b != 0 {
            return Err(FieldError::new("blocksize", format!("{h}x{w} is not divisible by {b}")));
        }
        vec![*n, c.saturating_mul(bb), h / b, w / b]
    };
    one(Tensor::runtime(shape))
}

fn shape_of(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let x = input(inputs, 0)?;
    let r = i64::try_from(x.rank()).unwrap_or(0);
    let clamp = |v: i64| (if v < 0 { v.saturating_add(r) } else { v }).clamp(0, r);
    let (start, end) = (clamp(node.int("start", 0)?), clamp(node.int("end", r)?));
    let dims: Vec<i64> = x
        .shape
        .iter()
        .skip(usize::try_from(start).unwrap_or(0))
        .take(usize::try_from(end.saturating_sub(start)).unwrap_or(0))
        .map(|&d| i64::try_from(d).unwrap_or(i64::MAX))
        .collect();
    one(Tensor::int_values(vec![dims.len() as u64], dims))
}

fn constant(node: &Node<'_>) -> Result<Outputs, FieldError> {
    if let Some(t) = node.tensor("value")? {
        return one(from_proto(t, "value"));
    }
    if node.has("value_int") {
        return one(Tensor::int_values(vec![], vec![node.int("value_int", 0)?]));
    }
    if let Some(v) = node.ints("value_ints")? {
        let mut t = Tensor::runtime(vec![v.len() as u64])?;
        t.constant = true;
        t.ints = (v.len() as u64 <= MAX_VALUES).then(|| v.to_vec());
        return Ok(vec![t]);
    }
    if let Some(f) = node.float("value_float")? {
        let mut t = Tensor::int_values(vec![], vec![])?;
        t.ints = None;
        t.floats = Some(vec![f64::from(f)]);
        return Ok(vec![t]);
    }
    if let Some(v) = node.floats("value_floats")? {
        let mut t = Tensor::int_values(vec![v.len() as u64], vec![])?;
        t.ints = None;
        t.floats = (v.len() as u64 <= MAX_VALUES).then(|| v.iter().map(|&f| f64::from(f)).collect());
        return Ok(vec![t]);
    }
    Err(FieldError::new("value", "a Constant node needs a value attribute"))
}

fn constant_of_shape(node: &Node<'_>, inputs: &[Option<&Tensor>]) -> Result<Outputs, FieldError> {
    let dims = values(&known_ints(input(inputs, 0)?, 0)?, "input[0]")?;
    let fill = match node.tensor("value")? {
        Some(t) => from_proto(t, "value")?.ints.and_then(|v| v.first().copied()),
        None => Some(0),
    };
    let mut out = Tensor::runtime(dims)?;
    out.constant = true;
    let n = out.count();
    if n <= MAX_VALUES {
        out.ints = fill.map(|f| vec![f; usize::try_from(n).unwrap_or(0)]);
    }
    Ok(vec![out])
}
