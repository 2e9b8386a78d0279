//! Shapes of mappable layers: convolutions (dense, grouped, depthwise) and fully-connected.
//!
//! A [`LayerShape`] is validated on construction: every dimension is non-zero and within
//! [`LIMITS`], channels divide by `groups`, and a fully-connected layer is 1x1 in and out.

use core::fmt;
use serde::{Deserialize, Serialize};

/// What kind of mappable layer this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// Convolution; `groups > 1` is grouped, `groups == c_in == c_out` is depthwise.
    Conv,
    /// Fully connected (one position per inference).
    Fc,
}

impl LayerKind {
    /// The name used in reports (`"conv"` or `"fc"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            LayerKind::Conv => "conv",
            LayerKind::Fc => "fc",
        }
    }
}

/// Raw layer dimensions; validate with [`LayerShape::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LayerDims {
    /// Conv or FC.
    pub kind: LayerKind,
    /// Input channels (input features for FC).
    pub c_in: u32,
    /// Output channels (output features for FC).
    pub c_out: u32,
    /// Kernel height.
    pub kernel_h: u32,
    /// Kernel width.
    pub kernel_w: u32,
    /// Convolution groups.
    pub groups: u32,
    /// Input feature-map height.
    pub in_h: u32,
    /// Input feature-map width.
    pub in_w: u32,
    /// Output feature-map height.
    pub out_h: u32,
    /// Output feature-map width.
    pub out_w: u32,
}

/// Upper bounds of a layer's dimensions. They keep every cost formula inside `u64`.
pub struct Limits {
    /// Channels or features.
    pub channels: u32,
    /// Kernel side.
    pub kernel: u32,
    /// Feature-map side.
    pub spatial: u32,
}

/// The accepted ranges for [`LayerDims`].
pub const LIMITS: Limits = Limits {
    channels: 1 << 20,
    kernel: 1 << 8,
    spatial: 1 << 16,
};

/// Why a layer's dimensions were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerError {
    /// A dimension is zero.
    Zero(&'static str),
    /// A dimension exceeds [`LIMITS`].
    TooLarge(&'static str),
    /// `c_in` or `c_out` is not a multiple of `groups`.
    NotDivisibleByGroups(&'static str),
    /// A fully-connected layer with a kernel, groups or spatial size other than 1.
    FcNotFlat(&'static str),
}

impl fmt::Display for LayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerError::Zero(field) => write!(f, "field `{field}` must be at least 1"),
            LayerError::TooLarge(field) => write!(f, "field `{field}` exceeds the supported size"),
            LayerError::NotDivisibleByGroups(field) => {
                write!(f, "field `{field}` is not divisible by `groups`")
            }
            LayerError::FcNotFlat(field) => {
                write!(f, "field `{field}` must be 1 for a fully-connected layer")
            }
        }
    }
}

#[cfg(feature = "std")]
extern crate std;
#[cfg(feature = "std")]
impl std::error::Error for LayerError {}

/// A validated mappable layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "LayerDims", into = "LayerDims")]
pub struct LayerShape(LayerDims);

impl LayerShape {
    /// Validates dimensions.
    pub fn new(d: LayerDims) -> Result<LayerShape, LayerError> {
        let fields = [
            ("c_in", d.c_in, LIMITS.channels),
            ("c_out", d.c_out, LIMITS.channels),
            ("kernel_h", d.kernel_h, LIMITS.kernel),
            ("kernel_w", d.kernel_w, LIMITS.kernel),
            ("groups", d.groups, LIMITS.channels),
            ("in_h", d.in_h, LIMITS.spatial),
            ("in_w", d.in_w, LIMITS.spatial),
            ("out_h", d.out_h, LIMITS.spatial),
            ("out_w", d.out_w, LIMITS.spatial),
        ];
        for (name, value, max) in fields {
            if value == 0 {
                return Err(LayerError::Zero(name));
            }
            if value > max {
                return Err(LayerError::TooLarge(name));
            }
        }
        if !d.c_in.is_multiple_of(d.groups) {
            return Err(LayerError::NotDivisibleByGroups("c_in"));
        }
        if !d.c_out.is_multiple_of(d.groups) {
            return Err(LayerError::NotDivisibleByGroups("c_out"));
        }
        if d.kind == LayerKind::Fc {
            let flat = [
                ("kernel_h", d.kernel_h),
                ("kernel_w", d.kernel_w),
                ("groups", d.groups),
                ("out_h", d.out_h),
                ("out_w", d.out_w),
            ];
            if let Some((name, _)) = flat.iter().find(|(_, v)| *v != 1) {
                return Err(LayerError::FcNotFlat(name));
            }
        }
        Ok(LayerShape(d))
    }

    /// A fully-connected layer `c_in -> c_out`.
    pub fn fc(c_in: u32, c_out: u32) -> Result<LayerShape, LayerError> {
        LayerShape::new(LayerDims {
            kind: LayerKind::Fc,
            c_in,
            c_out,
            kernel_h: 1,
            kernel_w: 1,
            groups: 1,
            in_h: 1,
            in_w: 1,
            out_h: 1,
            out_w: 1,
        })
    }

    /// The dimensions.
    pub const fn dims(&self) -> &LayerDims {
        &self.0
    }
    /// Conv or FC.
    pub const fn kind(&self) -> LayerKind {
        self.0.kind
    }
    /// Convolution groups.
    pub const fn groups(&self) -> u64 {
        self.0.groups as u64
    }
    /// Depthwise: one input and one output channel per group, several groups.
    pub const fn is_depthwise(&self) -> bool {
        self.0.groups > 1 && self.0.groups == self.0.c_in && self.0.groups == self.0.c_out
    }
    /// Crossbar rows one group needs: `R = (C_in/g) * K_h * K_w`.
    pub const fn rows_per_group(&self) -> u64 {
        (self.0.c_in / self.0.groups) as u64 * self.0.kernel_h as u64 * self.0.kernel_w as u64
    }
    /// Weight columns one group needs before slicing: `C = C_out/g`.
    pub const fn cols_per_group(&self) -> u64 {
        (self.0.c_out / self.0.groups) as u64
    }
    /// Positions per inference `P = H_out * W_out` (1 for FC).
    pub const fn positions(&self) -> u64 {
        match self.0.kind {
            LayerKind::Fc => 1,
            LayerKind::Conv => self.0.out_h as u64 * self.0.out_w as u64,
        }
    }
    /// Elements of the input feature map.
    pub const fn input_elements(&self) -> u64 {
        self.0.c_in as u64 * self.0.in_h as u64 * self.0.in_w as u64
    }
    /// Number of weights.
    pub const fn weights(&self) -> u64 {
        self.rows_per_group() * self.0.c_out as u64
    }
}

impl TryFrom<LayerDims> for LayerShape {
    type Error = LayerError;
    fn try_from(d: LayerDims) -> Result<Self, LayerError> {
        LayerShape::new(d)
    }
}

impl From<LayerShape> for LayerDims {
    fn from(s: LayerShape) -> LayerDims {
        s.0
    }
}

/// Shapes for tests across the crate.
#[cfg(test)]
pub(crate) mod test_shapes {
    use super::*;

    /// A square convolution whose input and output maps are both `out` a side.
    pub(crate) fn conv(c_in: u32, c_out: u32, k: u32, g: u32, out: u32) -> LayerDims {
        LayerDims {
            kind: LayerKind::Conv,
            c_in,
            c_out,
            kernel_h: k,
            kernel_w: k,
            groups: g,
            in_h: out,
            in_w: out,
            out_h: out,
            out_w: out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_shapes::conv;
    use super::*;

    #[test]
    fn rows_cols_positions() {
        let s = LayerShape::new(conv(64, 128, 3, 1, 28)).unwrap();
        assert_eq!((s.rows_per_group(), s.cols_per_group(), s.positions()), (576, 128, 784));
        let dw = LayerShape::new(conv(32, 32, 3, 32, 112)).unwrap();
        assert!(dw.is_depthwise());
        assert_eq!((dw.rows_per_group(), dw.cols_per_group()), (9, 1));
        let fc = LayerShape::fc(512, 1000).unwrap();
        assert_eq!(
            (fc.rows_per_group(), fc.cols_per_group(), fc.positions()),
            (512, 1000, 1)
        );
    }

    #[test]
    fn bad_dims_are_errors() {
        assert_eq!(LayerShape::new(conv(0, 8, 3, 1, 4)), Err(LayerError::Zero("c_in")));
        assert_eq!(
            LayerShape::new(conv(6, 8, 3, 4, 4)),
            Err(LayerError::NotDivisibleByGroups("c_in"))
        );
        assert_eq!(
            LayerShape::new(conv(8, 6, 3, 4, 4)),
            Err(LayerError::NotDivisibleByGroups("c_out"))
        );
        assert_eq!(
            LayerShape::new(conv(8, 8, 1000, 1, 4)),
            Err(LayerError::TooLarge("kernel_h"))
        );
        let mut d = conv(8, 8, 1, 1, 1);
        d.kind = LayerKind::Fc;
        d.out_w = 2;
        assert_eq!(LayerShape::new(d), Err(LayerError::FcNotFlat("out_w")));
    }
}
