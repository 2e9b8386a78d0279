//! Layer geometry shared by the built-in builder and every importer.
//!
//! The only place where an output feature-map size is computed:
//! `out = (in + pad_begin + pad_end - dilation*(kernel-1) - 1) / stride + 1`, which is the
//! familiar `(in + 2*pad - k)/stride + 1` for symmetric padding and no dilation. Every
//! failure is a [`FieldError`] naming the offending field; callers add the file and layer.

use imc_model::layer::LIMITS;
use imc_model::{LayerDims, LayerError, LayerKind, LayerShape};

use super::{Layer, NetworkError};

/// A refused value: which field, and why. Becomes a [`NetworkError`] once the caller adds
/// the file and the layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Attaches the file and layer this error belongs to.
    pub fn locate(self, source: &str, layer: &str) -> NetworkError {
        NetworkError::new(source, self.message)
            .at_layer(layer)
            .at_field(self.field)
    }
}

impl From<LayerError> for FieldError {
    fn from(e: LayerError) -> FieldError {
        // The caller shows the field already: say only what is wrong with it.
        let (field, message) = match e {
            LayerError::Zero(f) => (f, "must be at least 1".to_string()),
            LayerError::TooLarge(f) => (f, format!("exceeds the supported size (at most {})", limit(f))),
            LayerError::NotDivisibleByGroups(f) => (f, "is not divisible by `groups`".to_string()),
            LayerError::FcNotFlat(f) => (f, "must be 1 for a fully-connected layer".to_string()),
        };
        FieldError::new(field, message)
    }
}

/// The largest value `imc_model` accepts for a layer field.
fn limit(field: &str) -> u32 {
    match field {
        "kernel_h" | "kernel_w" => LIMITS.kernel,
        "in_h" | "in_w" | "out_h" | "out_w" => LIMITS.spatial,
        _ => LIMITS.channels,
    }
}

/// A convolution as files describe it; [`ConvGeometry::layer`] derives the output size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeometry {
    pub c_in: u32,
    pub c_out: u32,
    /// (height, width)
    pub kernel: (u32, u32),
    pub stride: (u32, u32),
    /// Padding before the first row / column.
    pub pad_begin: (u32, u32),
    /// Padding after the last row / column (equal to `pad_begin` unless a file says not).
    pub pad_end: (u32, u32),
    pub dilation: (u32, u32),
    pub groups: u32,
    /// Input feature map (height, width).
    pub input: (u32, u32),
}

impl ConvGeometry {
    /// A square, symmetric, undilated convolution (what the built-in networks use).
    pub fn square(c_in: u32, c_out: u32, kernel: u32, stride: u32, pad: u32, groups: u32, input: (u32, u32)) -> Self {
        ConvGeometry {
            c_in,
            c_out,
            kernel: (kernel, kernel),
            stride: (stride, stride),
            pad_begin: (pad, pad),
            pad_end: (pad, pad),
            dilation: (1, 1),
            groups,
            input,
        }
    }

    /// Output feature map (height, width).
    pub fn output(&self) -> Result<(u32, u32), FieldError> {
        let h = out_size(
            self.input.0,
            self.kernel.0,
            self.stride.0,
            self.pad_begin.0 + self.pad_end.0,
            self.dilation.0,
            "h",
        )?;
        let w = out_size(
            self.input.1,
            self.kernel.1,
            self.stride.1,
            self.pad_begin.1 + self.pad_end.1,
            self.dilation.1,
            "w",
        )?;
        Ok((h, w))
    }

    /// The validated mappable layer.
    pub fn layer(&self, name: &str) -> Result<Layer, FieldError> {
        let (out_h, out_w) = self.output()?;
        // Checked here (LayerShape checks too) to say which numbers disagree.
        if self.groups > 0 {
            for (field, channels) in [("c_in", self.c_in), ("c_out", self.c_out)] {
                if !channels.is_multiple_of(self.groups) {
                    let message = format!("{channels} channels are not divisible by {} groups", self.groups);
                    return Err(FieldError::new(field, message));
                }
            }
        }
        let shape = LayerShape::new(LayerDims {
            kind: LayerKind::Conv,
            c_in: self.c_in,
            c_out: self.c_out,
            kernel_h: self.kernel.0,
            kernel_w: self.kernel.1,
            groups: self.groups,
            in_h: self.input.0,
            in_w: self.input.1,
            out_h,
            out_w,
        })?;
        Ok(Layer {
            name: name.to_owned(),
            shape,
            stride: self.stride,
            padding: self.pad_begin,
        })
    }
}

/// A fully-connected layer `c_in -> c_out`.
pub(crate) fn fc_layer(name: &str, c_in: u32, c_out: u32) -> Result<Layer, FieldError> {
    let shape = LayerShape::fc(c_in, c_out)?;
    Ok(Layer {
        name: name.to_owned(),
        shape,
        stride: (1, 1),
        padding: (0, 0),
    })
}

/// One output side of a convolution or pooling window. `axis` (`"h"` or `"w"`) names the
/// field in errors. Computed in `u64`, so no input can overflow it.
pub(crate) fn out_size(
    input: u32,
    kernel: u32,
    stride: u32,
    pad_total: u32,
    dilation: u32,
    axis: &str,
) -> Result<u32, FieldError> {
    let positive = [
        ("in_", input),
        ("kernel_", kernel),
        ("stride_", stride),
        ("dilation_", dilation),
    ];
    if let Some((prefix, _)) = positive.iter().find(|(_, v)| *v == 0) {
        return Err(FieldError::new(format!("{prefix}{axis}"), "must be at least 1"));
    }
    let span = u64::from(dilation) * (u64::from(kernel) - 1) + 1;
    let padded = u64::from(input) + u64::from(pad_total);
    if padded < span {
        return Err(FieldError::new(
            format!("kernel_{axis}"),
            format!("a window of {span} does not fit the padded input of {padded}"),
        ));
    }
    let out = (padded - span) / u64::from(stride) + 1;
    u32::try_from(out).map_err(|_| FieldError::new(format!("in_{axis}"), "output size exceeds u32"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_formula() {
        // (224 + 2*3 - 7)/2 + 1 = 112; (112 + 2 - 3)/2 + 1 = 56; (7 - 7)/1 + 1 = 1.
        assert_eq!(out_size(224, 7, 2, 6, 1, "h"), Ok(112));
        assert_eq!(out_size(112, 3, 2, 2, 1, "h"), Ok(56));
        assert_eq!(out_size(7, 7, 1, 0, 1, "h"), Ok(1));
        // Floor division: (8 + 2 - 3)/2 + 1 = 4.
        assert_eq!(out_size(8, 3, 2, 2, 1, "w"), Ok(4));
        // Dilation 2 makes a 3x3 window span 5.
        assert_eq!(out_size(10, 3, 1, 0, 2, "h"), Ok(6));
    }

    #[test]
    fn impossible_windows_name_the_field() {
        assert_eq!(out_size(2, 5, 1, 0, 1, "h").unwrap_err().field, "kernel_h");
        assert_eq!(out_size(8, 3, 0, 0, 1, "w").unwrap_err().field, "stride_w");
        assert_eq!(out_size(0, 3, 1, 2, 1, "h").unwrap_err().field, "in_h");
    }

    #[test]
    fn layer_errors_carry_their_field() {
        let g = ConvGeometry::square(6, 8, 3, 1, 1, 4, (8, 8));
        assert_eq!(g.layer("x").unwrap_err().field, "c_in");
        let ok = ConvGeometry::square(8, 8, 3, 2, 1, 8, (8, 8)).layer("dw").unwrap();
        assert_eq!((ok.shape.dims().out_h, ok.shape.dims().out_w), (4, 4));
        assert!(ok.shape.is_depthwise());
    }
}
