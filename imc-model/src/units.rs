//! Typed hardware quantities: cycles, crossbars, replicas and bit widths are never bare
//! integers in APIs.
//!
//! Each is a newtype with a private field (as smoltcp's `time.rs` does for durations): built
//! with `new`, read with `get`, combined with checked or saturating arithmetic that keeps
//! the unit. Raw integers remain only in wire and file structs whose field names carry the
//! unit (`latency_cycles`, `xbars_per_replica`).

use core::fmt;
use serde::{Deserialize, Serialize};

/// A duration in accelerator clock cycles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cycles(u64);

/// A count of crossbars (the unit of area in the cost model).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Crossbars(u64);

macro_rules! checked_quantity {
    ($t:ident, $unit:literal) => {
        impl $t {
            /// Zero.
            pub const ZERO: $t = $t(0);
            /// A quantity of this many units.
            pub const fn new(count: u64) -> Self {
                $t(count)
            }
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
            /// Difference, or `None` when `rhs` is larger.
            pub fn checked_sub(self, rhs: Self) -> Option<Self> {
                self.0.checked_sub(rhs.0).map($t)
            }
            /// Sum, clamped at the largest value.
            pub const fn saturating_add(self, rhs: Self) -> Self {
                $t(self.0.saturating_add(rhs.0))
            }
            /// Difference, clamped at zero.
            pub const fn saturating_sub(self, rhs: Self) -> Self {
                $t(self.0.saturating_sub(rhs.0))
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

impl Crossbars {
    /// The crossbars of `replicas` copies of a replica of this size, or `None` on overflow.
    pub fn times(self, replicas: Replicas) -> Option<Crossbars> {
        self.checked_mul(replicas.get())
    }
}

/// A replication factor: how many copies of a layer's crossbars share its positions
/// (DESIGN section 3, `r_l`). At least one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Replicas(u64);

impl Replicas {
    /// One copy: the unreplicated mapping.
    pub const ONE: Replicas = Replicas(1);
    /// `Some` for a factor of at least one.
    pub const fn new(count: u64) -> Option<Replicas> {
        if count >= 1 {
            Some(Replicas(count))
        } else {
            None
        }
    }
    /// `count`, raised to one when it is zero.
    pub const fn at_least_one(count: u64) -> Replicas {
        Replicas(if count == 0 { 1 } else { count })
    }
    /// The factor.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl Default for Replicas {
    fn default() -> Self {
        Replicas::ONE
    }
}

impl TryFrom<u64> for Replicas {
    type Error = ZeroReplicas;
    fn try_from(count: u64) -> Result<Self, ZeroReplicas> {
        Replicas::new(count).ok_or(ZeroReplicas)
    }
}

impl From<Replicas> for u64 {
    fn from(r: Replicas) -> u64 {
        r.0
    }
}

impl fmt::Display for Replicas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} replicas", self.0)
    }
}

/// A replication factor of zero: every layer needs at least one copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZeroReplicas;

impl fmt::Display for ZeroReplicas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a replication factor must be at least 1")
    }
}

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
    fn replicas_are_at_least_one() {
        assert_eq!(Replicas::new(0), None);
        assert_eq!(Replicas::new(3).map(Replicas::get), Some(3));
        assert_eq!(Replicas::at_least_one(0), Replicas::ONE);
        assert_eq!(
            Crossbars::new(4).times(Replicas::at_least_one(229)),
            Some(Crossbars::new(916))
        );
        assert_eq!(Crossbars::new(u64::MAX).times(Replicas::at_least_one(2)), None);
        assert_eq!(Cycles::new(3).saturating_sub(Cycles::new(5)), Cycles::ZERO);
    }

    #[test]
    fn bits_range() {
        assert!(Bits::new(0).is_none());
        assert_eq!(Bits::new(1).map(Bits::get), Some(1));
        assert!(Bits::new(16).is_some());
        assert!(Bits::new(17).is_none());
    }
}
