//! Typed hardware quantities: cycles, crossbars and bit widths are never bare integers in APIs.

use core::fmt;
use serde::{Deserialize, Serialize};

/// A duration in accelerator clock cycles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cycles(pub u64);

/// A count of crossbars (the unit of area in the cost model).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Crossbars(pub u64);

macro_rules! checked_quantity {
    ($t:ident, $unit:literal) => {
        impl $t {
            /// The raw count.
            pub const fn get(self) -> u64 {
                self.0
            }
            /// Sum, or `None` on overflow.
            pub fn checked_add(self, rhs: Self) -> Option<Self> {
                self.0.checked_add(rhs.0).map($t)
            }
            /// Scaled by an integer factor, or `None` on overflow.
            pub fn checked_mul(self, factor: u64) -> Option<Self> {
                self.0.checked_mul(factor).map($t)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} {}", self.0, $unit)
            }
        }
    };
}
checked_quantity!(Cycles, "cycles");
checked_quantity!(Crossbars, "crossbars");

/// A bit width of a weight or an activation, `1..=Bits::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Bits(u8);

impl Bits {
    /// Widest precision the model accepts; the functional model accumulates in `i64`.
    pub const MAX: u8 = 16;
    /// The 8-bit precision of the baseline mapping.
    pub const EIGHT: Bits = Bits(8);

    /// `Some` for `1..=Bits::MAX`.
    pub const fn new(bits: u8) -> Option<Bits> {
        if bits >= 1 && bits <= Self::MAX {
            Some(Bits(bits))
        } else {
            None
        }
    }
    /// The width in bits.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Bits {
    type Error = OutOfRange;
    fn try_from(bits: u8) -> Result<Self, OutOfRange> {
        Bits::new(bits).ok_or(OutOfRange)
    }
}

impl From<Bits> for u8 {
    fn from(bits: Bits) -> u8 {
        bits.0
    }
}

/// A bit width outside `1..=Bits::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange;

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bit width must be in 1..={}", Bits::MAX)
    }
}

/// Weight and activation precision of one layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Precision {
    /// Weight bits `b_w`.
    pub w_bits: Bits,
    /// Activation (input) bits `b_a`.
    pub a_bits: Bits,
}

impl Precision {
    /// The 8/8 precision of the baseline mapping.
    pub const BASELINE: Precision = Precision {
        w_bits: Bits::EIGHT,
        a_bits: Bits::EIGHT,
    };
}

/// `ceil(a / b)` for `b > 0`.
pub(crate) const fn div_ceil(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// `ceil(log2(n))`, with `ceil(log2(0)) = ceil(log2(1)) = 0`.
pub const fn ceil_log2(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_log2_matches_definition() {
        assert_eq!(ceil_log2(1), 0);
        assert_eq!(ceil_log2(2), 1);
        assert_eq!(ceil_log2(3), 2);
        assert_eq!(ceil_log2(4), 2);
        assert_eq!(ceil_log2(5), 3);
        assert_eq!(ceil_log2(4608), 13);
        for n in 2u64..5000 {
            let k = ceil_log2(n);
            assert!(1u64 << k >= n && (1u64 << (k - 1)) < n, "n={n}");
        }
    }

    #[test]
    fn bits_range() {
        assert!(Bits::new(0).is_none());
        assert_eq!(Bits::new(1).map(Bits::get), Some(1));
        assert!(Bits::new(16).is_some());
        assert!(Bits::new(17).is_none());
    }
}
