//! A quantized conv or fully-connected layer run through the crossbar model.
//!
//! A convolution is run as its im2col positions: for each output pixel the input patch,
//! ordered `(c_in, k_h, k_w)` like the weight rows, is applied to the crossbar as one input
//! vector. A fully-connected layer is the 1x1 case. Feature maps are `C, H, W` (channel
//! major), so flattening a conv output for a following FC layer is the identity. Zero
//! padding is activation code 0, which is real zero (unsigned activations have no zero
//! point).
//!
//! Grouped convolution (`groups > 1`; depthwise is `groups == c_in == c_out`) is packed
//! block-diagonally, as [`crate::cost::xbars_per_replica`] counts it: every group is its
//! own matrix of [`ConvGeometry::rows`] rows (its `c_in / groups` channels) and
//! `c_out / groups` columns, split into row blocks of `xbar_rows`. Cells outside a group's
//! block are unprogrammed, so a column read sums only its own group's rows, and the
//! offset-binary correction uses only that group's inputs. Output channel `o` belongs to
//! group `o / (c_out / groups)`; weights keep the PyTorch layout `[c_out, c_in / groups,
//! k_h, k_w]` (column `o` holds its `rows()` weights).

use super::mvm::{mvm, WeightMatrix};
use super::{functional_bits, AdcStats, XbarError};
use crate::{ArchConfig, Bits};

/// Geometry of a (possibly grouped) convolution; a fully-connected layer is
/// [`ConvGeometry::fc`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input channels (input features for FC).
    pub c_in: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output channels (output features for FC).
    pub c_out: usize,
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Stride (height, width).
    pub stride: (usize, usize),
    /// Zero padding (height, width).
    pub pad: (usize, usize),
    /// Convolution groups: 1 is dense, `groups == c_in == c_out` is depthwise. Both
    /// `c_in` and `c_out` must be multiples of it.
    pub groups: usize,
}

impl ConvGeometry {
    /// A fully-connected layer `inputs -> outputs`.
    pub const fn fc(inputs: usize, outputs: usize) -> ConvGeometry {
        ConvGeometry {
            c_in: inputs,
            in_h: 1,
            in_w: 1,
            c_out: outputs,
            kernel: (1, 1),
            stride: (1, 1),
            pad: (0, 0),
            groups: 1,
        }
    }
    /// Whether this is the fully-connected case (1x1 kernel over a 1x1 map).
    pub const fn is_fc(&self) -> bool {
        self.kernel.0 == 1 && self.kernel.1 == 1 && self.in_h == 1 && self.in_w == 1
    }
    fn out_dim(input: usize, kernel: usize, stride: usize, pad: usize) -> Option<usize> {
        let padded = input.checked_add(pad.checked_mul(2)?)?;
        Some(padded.checked_sub(kernel)? / stride + 1)
    }
    /// Output height (0 if the geometry is invalid).
    pub fn out_h(&self) -> usize {
        Self::out_dim(self.in_h, self.kernel.0, self.stride.0.max(1), self.pad.0).unwrap_or(0)
    }
    /// Output width (0 if the geometry is invalid).
    pub fn out_w(&self) -> usize {
        Self::out_dim(self.in_w, self.kernel.1, self.stride.1.max(1), self.pad.1).unwrap_or(0)
    }
    /// Crossbar rows of one group, `(c_in / groups) * k_h * k_w` (all of them when dense).
    pub fn rows(&self) -> usize {
        self.group_in() * self.kernel.0 * self.kernel.1
    }
    /// Input channels of one group, `c_in / groups` (0 if `groups` is 0).
    pub fn group_in(&self) -> usize {
        self.c_in.checked_div(self.groups).unwrap_or(0)
    }
    /// Output channels (crossbar columns) of one group, `c_out / groups` (0 if `groups` is 0).
    pub fn group_out(&self) -> usize {
        self.c_out.checked_div(self.groups).unwrap_or(0)
    }
    /// Elements of the input feature map.
    pub fn input_len(&self) -> usize {
        self.c_in * self.in_h * self.in_w
    }
    /// Elements of the output feature map.
    pub fn output_len(&self) -> usize {
        self.c_out * self.out_h() * self.out_w()
    }
    pub(crate) fn validate(&self) -> Result<(), XbarError> {
        let fields = [
            ("groups", self.groups),
            ("c_in", self.c_in),
            ("in_h", self.in_h),
            ("in_w", self.in_w),
            ("c_out", self.c_out),
            ("kernel height", self.kernel.0),
            ("kernel width", self.kernel.1),
            ("stride height", self.stride.0),
            ("stride width", self.stride.1),
        ];
        if let Some((name, _)) = fields.iter().find(|(_, v)| *v == 0 || *v > 1 << 20) {
            return Err(XbarError::BadGeometry(name));
        }
        if !self.c_in.is_multiple_of(self.groups) {
            return Err(XbarError::BadGeometry("c_in is not a multiple of groups"));
        }
        if !self.c_out.is_multiple_of(self.groups) {
            return Err(XbarError::BadGeometry("c_out is not a multiple of groups"));
        }
        if self.pad.0 >= self.kernel.0 || self.pad.1 >= self.kernel.1 {
            return Err(XbarError::BadGeometry("padding must be smaller than the kernel"));
        }
        if self.out_h() == 0 || self.out_w() == 0 {
            return Err(XbarError::BadGeometry("kernel larger than the padded input"));
        }
        Ok(())
    }
}

/// A layer ready for the crossbar: geometry, quantized weights and the bias in accumulator
/// units (`bias / (s_w * s_a_in)`), all borrowed from the caller.
#[derive(Clone, Copy, Debug)]
pub struct QuantizedLayer<'a> {
    geometry: ConvGeometry,
    weights: WeightMatrix<'a>,
    bias: &'a [i32],
}

impl<'a> QuantizedLayer<'a> {
    /// Validates that geometry, weights (`c_out` columns of `rows()` weights) and bias agree.
    pub fn new(geometry: ConvGeometry, weights: WeightMatrix<'a>, bias: &'a [i32]) -> Result<Self, XbarError> {
        geometry.validate()?;
        if weights.rows() != geometry.rows() {
            return Err(XbarError::LengthMismatch {
                what: "weight rows",
                expected: geometry.rows(),
                got: weights.rows(),
            });
        }
        if weights.cols() != geometry.c_out {
            return Err(XbarError::LengthMismatch {
                what: "weight columns",
                expected: geometry.c_out,
                got: weights.cols(),
            });
        }
        if bias.len() != geometry.c_out {
            return Err(XbarError::LengthMismatch {
                what: "bias",
                expected: geometry.c_out,
                got: bias.len(),
            });
        }
        Ok(QuantizedLayer {
            geometry,
            weights,
            bias,
        })
    }
    /// The geometry.
    pub const fn geometry(&self) -> &ConvGeometry {
        &self.geometry
    }
    /// The weights.
    pub const fn weights(&self) -> &WeightMatrix<'a> {
        &self.weights
    }
    /// The bias in accumulator units, one per output channel.
    pub const fn bias(&self) -> &'a [i32] {
        self.bias
    }

    /// Runs every output position through the crossbar model and writes `acc + bias` to
    /// `out` (`C, H, W`, [`ConvGeometry::output_len`] elements). `patch` is im2col scratch
    /// of at least [`ConvGeometry::rows`] elements (one group's rows). Each group's patch
    /// is applied to that group's columns only (block-diagonal packing, see the module
    /// docs).
    pub fn accumulate(
        &self,
        arch: &ArchConfig,
        input: &[u8],
        a_bits: Bits,
        patch: &mut [u8],
        out: &mut [i64],
    ) -> Result<AdcStats, XbarError> {
        let g = &self.geometry;
        check_layer_io(g, input, a_bits, out)?;
        let rows = g.rows();
        let patch = patch.get_mut(..rows).ok_or(XbarError::LengthMismatch {
            what: "im2col scratch",
            expected: rows,
            got: 0,
        })?;
        let (out_h, out_w) = (g.out_h(), g.out_w());
        let positions = out_h * out_w;
        let cols = g.group_out();
        let mut stats = AdcStats::default();
        for oy in 0..out_h {
            for ox in 0..out_w {
                let position = oy * out_w + ox;
                for group in 0..g.groups {
                    self.gather(input, oy, ox, group, patch);
                    let first = group * cols;
                    let weights = self
                        .weights
                        .columns(first, cols)
                        .ok_or(XbarError::BadGeometry("groups"))?;
                    let bias = self.bias;
                    stats.merge(mvm(arch, &weights, patch, a_bits, |c, v| {
                        let channel = first + c;
                        if let (Some(slot), Some(&b)) = (out.get_mut(channel * positions + position), bias.get(channel))
                        {
                            *slot = v + i64::from(b);
                        }
                    })?);
                }
            }
        }
        Ok(stats)
    }

    /// Copies the receptive field of output pixel `(oy, ox)` over the input channels of
    /// `group` into `patch`, zero outside the input.
    fn gather(&self, input: &[u8], oy: usize, ox: usize, group: usize, patch: &mut [u8]) {
        let g = &self.geometry;
        let (kh, kw) = g.kernel;
        let per = g.group_in();
        let mut slots = patch.iter_mut();
        for c in group * per..(group + 1) * per {
            for ky in 0..kh {
                let iy = (oy * g.stride.0 + ky).checked_sub(g.pad.0).filter(|&y| y < g.in_h);
                for kx in 0..kw {
                    let ix = (ox * g.stride.1 + kx).checked_sub(g.pad.1).filter(|&x| x < g.in_w);
                    let value = match (iy, ix) {
                        (Some(y), Some(x)) => input.get((c * g.in_h + y) * g.in_w + x).copied().unwrap_or(0),
                        _ => 0,
                    };
                    if let Some(slot) = slots.next() {
                        *slot = value;
                    }
                }
            }
        }
    }
}

/// The input and output checks of a layer run, in the order the reference makes them:
/// `a_bits`, input length, activation range, output length.
pub(crate) fn check_layer_io(g: &ConvGeometry, input: &[u8], a_bits: Bits, out: &[i64]) -> Result<u32, XbarError> {
    let a = functional_bits("a_bits", a_bits)?;
    if input.len() != g.input_len() {
        return Err(XbarError::LengthMismatch {
            what: "input",
            expected: g.input_len(),
            got: input.len(),
        });
    }
    let max = (1u16 << a) - 1;
    if let Some(index) = input.iter().position(|&v| u16::from(v) > max) {
        return Err(XbarError::ActivationOutOfRange { index });
    }
    if out.len() != g.output_len() {
        return Err(XbarError::LengthMismatch {
            what: "output",
            expected: g.output_len(),
            got: out.len(),
        });
    }
    Ok(a)
}
