//! What the importer knows about a tensor (its shape, whether it is a constant, and the
//! values of small integer and float constants), and the reading of node attributes and
//! constant tensors from the protobuf messages.

use super::proto::{attribute_type, data_type, AttributeProto, NodeProto, TensorProto};
use crate::geometry::FieldError;

/// Largest tensor rank accepted (real networks use at most 6).
pub(crate) const MAX_RANK: usize = 32;
/// Constants with at most this many elements keep their values (shape arithmetic needs
/// only small ones; weights are never read).
pub(crate) const MAX_VALUES: u64 = 64;

/// A tensor whose shape is known. The batch dimension of the graph input is taken as 1.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<u64>,
    /// Known without running the network (an initializer, a `Constant`, or computed only
    /// from such tensors and from shapes).
    pub constant: bool,
    /// Integer contents, when known and small.
    pub ints: Option<Vec<i64>>,
    /// Float contents, when known and small.
    pub floats: Option<Vec<f64>>,
}

impl Tensor {
    /// A runtime tensor of `shape`.
    pub fn runtime(shape: Vec<u64>) -> Result<Tensor, FieldError> {
        check_rank(&shape)?;
        Ok(Tensor {
            shape,
            constant: false,
            ints: None,
            floats: None,
        })
    }

    /// A constant tensor with known integer values.
    pub fn int_values(shape: Vec<u64>, ints: Vec<i64>) -> Result<Tensor, FieldError> {
        check_rank(&shape)?;
        Ok(Tensor {
            shape,
            constant: true,
            ints: Some(ints),
            floats: None,
        })
    }

    /// Number of elements (saturating: only compared with small limits or checked later).
    pub fn count(&self) -> u64 {
        element_count(&self.shape)
    }

    /// The rank.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
}

/// Product of `dims`, saturating at `u64::MAX`.
pub(crate) fn element_count(dims: &[u64]) -> u64 {
    dims.iter().fold(1u64, |acc, &d| acc.saturating_mul(d))
}

fn check_rank(shape: &[u64]) -> Result<(), FieldError> {
    if shape.len() > MAX_RANK {
        return Err(FieldError::new(
            "shape",
            format!("rank {} exceeds the supported {MAX_RANK}", shape.len()),
        ));
    }
    Ok(())
}

/// Reads a constant tensor: its dimensions always, its values when small and stored in
/// the file (external data is never read).
pub(crate) fn from_proto(t: &TensorProto, field: &str) -> Result<Tensor, FieldError> {
    let mut shape = Vec::with_capacity(t.dims.len().min(MAX_RANK + 1));
    for (i, &d) in t.dims.iter().enumerate() {
        let d = u64::try_from(d)
            .map_err(|_| FieldError::new(field, format!("tensor `{}`: dimension {i} is {d}", t.name)))?;
        shape.push(d);
        check_rank(&shape).map_err(|e| FieldError::new(field, e.message))?;
    }
    let count = element_count(&shape);
    let mut tensor = Tensor {
        shape,
        constant: true,
        ints: None,
        floats: None,
    };
    if count <= MAX_VALUES && t.data_location != 1 {
        let n = usize::try_from(count).unwrap_or(0);
        tensor.ints = int_values(t, n);
        tensor.floats = float_values(t, n);
    }
    Ok(tensor)
}

fn int_values(t: &TensorProto, n: usize) -> Option<Vec<i64>> {
    let width = match t.data_type {
        data_type::INT64 => 8,
        data_type::INT32 => 4,
        data_type::INT16 => 2,
        data_type::INT8 | data_type::UINT8 | data_type::BOOL => 1,
        _ => return None,
    };
    let values: Vec<i64> = if !t.raw_data.is_empty() {
        t.raw_data
            .chunks_exact(width)
            .map(|c| signed_le(c, t.data_type))
            .collect()
    } else if t.data_type == data_type::INT64 {
        t.int64_data.clone()
    } else {
        t.int32_data.iter().map(|&v| i64::from(v)).collect()
    };
    (values.len() == n).then_some(values)
}

/// A little-endian integer of 1, 2, 4 or 8 bytes; UINT8 and BOOL are unsigned.
fn signed_le(bytes: &[u8], kind: i32) -> i64 {
    let mut buf = [0u8; 8];
    for (slot, b) in buf.iter_mut().zip(bytes) {
        *slot = *b;
    }
    let unsigned = u64::from_le_bytes(buf);
    let bits = 8 * bytes.len() as u32;
    if kind == data_type::UINT8 || kind == data_type::BOOL || bits >= 64 {
        return unsigned as i64;
    }
    let shift = 64 - bits;
    ((unsigned << shift) as i64) >> shift
}

fn float_values(t: &TensorProto, n: usize) -> Option<Vec<f64>> {
    let values: Vec<f64> = match t.data_type {
        data_type::FLOAT if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b.copy_from_slice(c);
                f64::from(f32::from_le_bytes(b))
            })
            .collect(),
        data_type::FLOAT => t.float_data.iter().map(|&v| f64::from(v)).collect(),
        data_type::DOUBLE if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                f64::from_le_bytes(b)
            })
            .collect(),
        data_type::DOUBLE => t.double_data.clone(),
        _ => return None,
    };
    (values.len() == n).then_some(values)
}

/// A node with the label errors use (its name, else its first output, else its position).
pub(crate) struct Node<'a> {
    pub proto: &'a NodeProto,
    pub label: String,
    /// The default-domain opset the graph imports.
    pub opset: i64,
}

impl<'a> Node<'a> {
    /// The operator name.
    pub fn op(&self) -> &'a str {
        &self.proto.op_type
    }

    fn attr(&self, name: &str) -> Option<&'a AttributeProto> {
        self.proto.attribute.iter().find(|a| a.name == name)
    }

    fn typed(&self, name: &str, kind: i32) -> Result<Option<&'a AttributeProto>, FieldError> {
        match self.attr(name) {
            Some(a) if a.r#type != 0 && a.r#type != kind => Err(FieldError::new(
                name,
                format!("attribute has type {}, expected {kind}", a.r#type),
            )),
            other => Ok(other),
        }
    }

    /// An integer attribute, `default` when absent.
    pub fn int(&self, name: &str, default: i64) -> Result<i64, FieldError> {
        Ok(self.typed(name, attribute_type::INT)?.map_or(default, |a| a.i))
    }

    /// An integer-list attribute.
    pub fn ints(&self, name: &str) -> Result<Option<&'a [i64]>, FieldError> {
        Ok(self.typed(name, attribute_type::INTS)?.map(|a| a.ints.as_slice()))
    }

    /// A float-list attribute.
    pub fn floats(&self, name: &str) -> Result<Option<&'a [f32]>, FieldError> {
        Ok(self.typed(name, attribute_type::FLOATS)?.map(|a| a.floats.as_slice()))
    }

    /// A string attribute (lossy UTF-8).
    pub fn string(&self, name: &str) -> Result<Option<String>, FieldError> {
        Ok(self
            .typed(name, attribute_type::STRING)?
            .map(|a| String::from_utf8_lossy(&a.s).into_owned()))
    }

    /// A float attribute.
    pub fn float(&self, name: &str) -> Result<Option<f32>, FieldError> {
        Ok(self.typed(name, attribute_type::FLOAT)?.map(|a| a.f))
    }

    /// A tensor attribute.
    pub fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>, FieldError> {
        Ok(self.typed(name, attribute_type::TENSOR)?.and_then(|a| a.t.as_ref()))
    }

    /// Whether the attribute is present at all.
    pub fn has(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }
}

/// An axis attribute in `[-rank, rank)` made non-negative.
pub(crate) fn axis(value: i64, rank: usize, field: &str) -> Result<usize, FieldError> {
    let r = i64::try_from(rank).unwrap_or(i64::MAX);
    let a = if value < 0 { value.saturating_add(r) } else { value };
    if (0..r).contains(&a) {
        usize::try_from(a).map_err(|_| FieldError::new(field, "axis out of range"))
    } else {
        Err(FieldError::new(
            field,
            format!("axis {value} is outside a rank-{rank} tensor"),
        ))
    }
}

/// A dimension as `u32` for a layer field.
pub(crate) fn dim32(value: u64, field: &str) -> Result<u32, FieldError> {
    u32::try_from(value).map_err(|_| FieldError::new(field, format!("{value} exceeds u32")))
}

/// A non-negative attribute value as `u64`.
pub(crate) fn non_negative(value: i64, field: &str) -> Result<u64, FieldError> {
    u64::try_from(value).map_err(|_| FieldError::new(field, format!("{value} is negative")))
}
