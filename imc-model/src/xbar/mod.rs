//! Bit-accurate functional model of a crossbar layer (DESIGN section 4).
//!
//! What a mapped layer computes, bit for bit, on the hardware that [`crate::cost`] times:
//! - weights are signed `b_w`-bit integers in the symmetric range `|w| <= 2^(b_w-1) - 1`,
//!   stored offset-binary `w + 2^(b_w-1)` in `ceil(b_w / cell_bits)` slices of `cell_bits`;
//! - activations are unsigned `b_a`-bit integers streamed `dac_bits` at a time;
//! - every (input step, weight slice) pair is one column read per row block, clipped by the
//!   ADC to `2^adc_bits - 1`;
//! - reads are shifted and added, the offset term `2^(b_w-1) * sum(x)` is subtracted
//!   digitally (exactly), row blocks are added, the layer bias is added, and [`Requant`]
//!   maps the accumulator to the next layer's `b_a`.
//!
//! [`mvm()`] is the matrix-vector core; [`net`] runs a whole network of such layers from a
//! fixed-capacity store (the controller's functional inference); [`QuantizedLayer`] runs a
//! conv (im2col positions over the same core), a grouped or depthwise conv (each group its
//! own block-diagonal matrix, see [`ConvGeometry::groups`]) or a fully-connected layer.
//! Everything works on caller-owned slices: no allocation, integer only (the single float
//! is [`Requant::from_scale`], used when a plan is prepared, never in the datapath), so
//! host and Cortex-M results are identical.
//!
//! With feature `std`, `PackedLayer` is a fast host-only engine: weights packed once into
//! bit planes, column reads as popcounts. It computes the same accumulators and ADC counts
//! as [`QuantizedLayer::accumulate`], bit for bit (property-tested); it allocates, and the
//! reference stays the definition.
//!
//! ## Invariants
//! - Weight and activation widths are `1..=8` bits (`i8`/`u8` storage); wider is
//!   [`XbarError::UnsupportedBits`].
//! - Values are range-checked when a view is built ([`WeightMatrix::new`]) or an input is
//!   applied; after that nothing can panic or overflow: column reads fit `u32`
//!   (`4096 rows * 255 * 255`), accumulators are `i64`, requantization works in `i128`.
//! - With `adc_bits >= ArchConfig::lossless_adc_bits()` the result equals the exact integer
//!   dot product (property-tested).

mod layer;
mod mvm;
pub mod net;
#[cfg(feature = "std")]
mod packed;
#[cfg(test)]
#[cfg(feature = "std")]
mod packed_tests;
mod requant;
#[cfg(test)]
mod tests;

use core::fmt;

pub use layer::{ConvGeometry, QuantizedLayer};
pub use mvm::{exact_dot, mvm, mvm_into, AdcStats, WeightMatrix};
#[cfg(feature = "std")]
pub use packed::{PackedLayer, PackedScratch};
pub use requant::{requantize, Requant};

/// Widest weight or activation the functional model stores (`i8` / `u8`).
pub const MAX_FUNCTIONAL_BITS: u8 = 8;

/// Why a functional-model call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XbarError {
    /// A bit width outside `1..=8` (`what` is `"w_bits"`, `"a_bits"` or `"out_bits"`).
    UnsupportedBits {
        /// Which width.
        what: &'static str,
        /// The width given.
        bits: u8,
    },
    /// A slice has the wrong length.
    LengthMismatch {
        /// Which slice.
        what: &'static str,
        /// Length the shapes require.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// A weight outside the symmetric `b_w`-bit range.
    WeightOutOfRange {
        /// Index in the weight slice.
        index: usize,
    },
    /// An activation that does not fit `b_a` unsigned bits.
    ActivationOutOfRange {
        /// Index in the input slice.
        index: usize,
    },
    /// A requantization scale that is not finite and positive, or outside `2^-60..2^30`.
    BadScale,
    /// Inconsistent convolution geometry (named field).
    BadGeometry(&'static str),
}

impl fmt::Display for XbarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XbarError::UnsupportedBits { what, bits } => {
                write!(
                    f,
                    "{what} = {bits} is not supported by the functional model (1..={MAX_FUNCTIONAL_BITS})"
                )
            }
            XbarError::LengthMismatch { what, expected, got } => {
                write!(f, "{what} has {got} elements, the shape needs {expected}")
            }
            XbarError::WeightOutOfRange { index } => {
                write!(f, "weight {index} is outside the symmetric range of w_bits")
            }
            XbarError::ActivationOutOfRange { index } => {
                write!(f, "activation {index} does not fit a_bits")
            }
            XbarError::BadScale => write!(
                f,
                "requantization scale must be finite, positive and within 2^-60..2^30"
            ),
            XbarError::BadGeometry(field) => {
                write!(f, "convolution geometry is inconsistent: {field}")
            }
        }
    }
}

#[cfg(feature = "std")]
extern crate std;
#[cfg(feature = "std")]
impl std::error::Error for XbarError {}

/// Checks a bit width against `1..=MAX_FUNCTIONAL_BITS`.
pub(crate) fn functional_bits(what: &'static str, bits: crate::Bits) -> Result<u32, XbarError> {
    if bits.get() <= MAX_FUNCTIONAL_BITS {
        Ok(u32::from(bits.get()))
    } else {
        Err(XbarError::UnsupportedBits { what, bits: bits.get() })
    }
}
