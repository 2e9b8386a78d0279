//! Typed quantities of the physical model: fixed-point energy, area and power, and counts of
//! IMAs and tiles.
//!
//! Energy, area and power are [`Fix`] (`U44F20`) numbers wrapped in their own types, so a
//! picojoule is never added to a square millimetre and no float enters a model result.

use core::fmt;

use fixed::types::U44F20;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// The fixed-point number behind [`Picojoules`], [`SquareMillimetres`] and [`Milliwatts`].
///
/// `U44F20` (unsigned, 64 bits: 44 integer and 20 fraction bits):
/// - range up to `2^44 = 1.76e13`: 17.6 J per inference in picojoules, far above any network
///   this tool maps (VGG-16 at 8/8 is a few mJ), and room for mm² and mW alike;
/// - resolution `2^-20 = 9.5e-7`: the smallest published per-event energy (`shift_add_pj` =
///   0.021 pJ) is held to 5e-5 relative, and an area to one square micrometre;
/// - a product with an integer event count is exact (no rounding) until it overflows, which
///   is checked, so per-event sums are exact on the `2^-20` grid the parameters were rounded
///   to once when parsed;
/// - plain `u64` bits, so it costs nothing extra on a 32-bit controller and never needs
///   floating point.
pub type Fix = U44F20;

/// Fraction bits of [`Fix`].
pub const FRAC_BITS: u32 = 20;

/// Why a decimal could not be read as a fixed-point quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseQuantityError;

impl fmt::Display for ParseQuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected a non-negative decimal number below 2^44 (for example `1.67`)"
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ParseQuantityError {}

/// `round(micros * 2^20 / 10^6)` as raw [`Fix`] bits; exact to the nearest `2^-20`.
const fn micros_to_bits(micros: u32) -> u64 {
    // micros < 2^32, so micros * 2^20 < 2^52 and the sum below cannot overflow u64.
    ((micros as u64) * (1 << FRAC_BITS) + 500_000) / 1_000_000
}

macro_rules! fixed_quantity {
    ($t:ident, $unit:literal, $what:literal) => {
        #[doc = concat!("An amount of ", $what, " (", $unit, "), a [`Fix`] number.")]
        ///
        /// Serialized as a decimal string (`"1.67"`) in human-readable formats and as the raw
        /// `u64` bits in binary ones; read from a decimal string, an integer or, in
        /// human-readable formats, a float (rounded once to the nearest `2^-20`).
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $t(Fix);

        impl $t {
            /// Zero.
            pub const ZERO: $t = $t(Fix::ZERO);

            /// A whole number of units.
            pub const fn from_int(units: u32) -> Self {
                $t(Fix::from_bits((units as u64) << FRAC_BITS))
            }
            /// A whole number of units, or `None` above `2^44`.
            pub fn checked_from_int(units: u64) -> Option<Self> {
                Fix::checked_from_num(units).map($t)
            }
            /// `micros` millionths of a unit (rounded to the nearest `2^-20`): the exact way
            /// to write a preset's decimal in a `const`.
            pub const fn from_micros(micros: u32) -> Self {
                $t(Fix::from_bits(micros_to_bits(micros)))
            }
            /// Parses a decimal such as `"0.2148"` (rounded to the nearest `2^-20`).
            pub fn from_decimal_str(s: &str) -> Result<Self, ParseQuantityError> {
                Fix::from_str(s.trim()).map($t).map_err(|_| ParseQuantityError)
            }
            /// From raw bits (units of `2^-20`).
            pub const fn from_bits(bits: u64) -> Self {
                $t(Fix::from_bits(bits))
            }
            /// Raw bits (units of `2^-20`).
            pub const fn to_bits(self) -> u64 {
                self.0.to_bits()
            }
            /// The fixed-point value.
            pub const fn get(self) -> Fix {
                self.0
            }
            /// Sum, or `None` on overflow.
            pub fn checked_add(self, rhs: Self) -> Option<Self> {
                self.0.checked_add(rhs.0).map($t)
            }
            /// Difference, or `None` below zero.
            pub fn checked_sub(self, rhs: Self) -> Option<Self> {
                self.0.checked_sub(rhs.0).map($t)
            }
            /// Scaled by an integer count (exact), or `None` on overflow.
            pub fn checked_mul_int(self, count: u64) -> Option<Self> {
                self.0.checked_mul_int(count).map($t)
            }
            /// The value as `f64`, for host reports only.
            #[cfg(feature = "std")]
            pub fn to_f64(self) -> f64 {
                self.0.to_num::<f64>()
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} {}", self.0, $unit)
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.collect_str(&self.0)
                } else {
                    serializer.serialize_u64(self.0.to_bits())
                }
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if deserializer.is_human_readable() {
                    deserializer.deserialize_any(DecimalVisitor).map($t)
                } else {
                    deserializer.deserialize_u64(BitsVisitor).map($t)
                }
            }
        }
    };
}

fixed_quantity!(Picojoules, "pJ", "energy");
fixed_quantity!(SquareMillimetres, "mm²", "area");
fixed_quantity!(Milliwatts, "mW", "power");

/// Reads a [`Fix`] from a decimal string, an integer or a float.
struct DecimalVisitor;

impl<'de> Visitor<'de> for DecimalVisitor {
    type Value = Fix;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a non-negative decimal number below 2^44")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Fix, E> {
        Fix::from_str(v.trim()).map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fix, E> {
        Fix::checked_from_num(v).ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fix, E> {
        Fix::checked_from_num(v).ok_or_else(|| E::invalid_value(de::Unexpected::Signed(v), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fix, E> {
        // An input conversion only: the value is rounded once to the nearest 2^-20 and the
        // model never sees the float.
        Fix::checked_from_num(v).ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
    }
}

/// Reads a [`Fix`] from its raw bits (binary formats).
struct BitsVisitor;

impl<'de> Visitor<'de> for BitsVisitor {
    type Value = Fix;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the u64 bits of a U44F20 number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fix, E> {
        Ok(Fix::from_bits(v))
    }
}

macro_rules! count {
    ($t:ident, $what:literal) => {
        #[doc = concat!("A count of ", $what, ".")]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $t(u64);

        impl $t {
            /// Zero.
            pub const ZERO: $t = $t(0);
            /// This many.
            pub const fn new(count: u64) -> Self {
                $t(count)
            }
            /// The count.
            pub const fn get(self) -> u64 {
                self.0
            }
            /// Sum, or `None` on overflow.
            pub fn checked_add(self, rhs: Self) -> Option<Self> {
                self.0.checked_add(rhs.0).map($t)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} {}", self.0, $what)
            }
        }
    };
}

count!(Imas, "IMAs");
count!(Tiles, "tiles");

/// An exact rational factor `num / den` (the `--area-factor` of a budget).
///
/// A host passes `1.5` exactly as `AreaFactor::new(3, 2)` or
/// `AreaFactor::from_decimal_str("1.5")` (= 15/10); no float is involved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AreaFactor {
    num: u64,
    den: u64,
}

impl AreaFactor {
    /// Factor 1 (iso-area).
    pub const ONE: AreaFactor = AreaFactor { num: 1, den: 1 };

    /// `num / den`; `None` when `den` is zero.
    pub const fn new(num: u64, den: u64) -> Option<AreaFactor> {
        if den == 0 {
            None
        } else {
            Some(AreaFactor { num, den })
        }
    }

    /// Parses a plain decimal `"1.5"`, `"2"`, `"0.75"` (digits, at most one point, at most 18
    /// fraction digits) exactly.
    pub fn from_decimal_str(s: &str) -> Result<AreaFactor, ParseQuantityError> {
        let s = s.trim();
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if (int.is_empty() && frac.is_empty()) || frac.len() > 18 {
            return Err(ParseQuantityError);
        }
        let mut num: u64 = 0;
        let mut den: u64 = 1;
        for (i, c) in int.bytes().chain(frac.bytes()).enumerate() {
            let digit = match c {
                b'0'..=b'9' => u64::from(c - b'0'),
                _ => return Err(ParseQuantityError),
            };
            num = num
                .checked_mul(10)
                .and_then(|n| n.checked_add(digit))
                .ok_or(ParseQuantityError)?;
            if i >= int.len() {
                den = den.checked_mul(10).ok_or(ParseQuantityError)?;
            }
        }
        Ok(AreaFactor { num, den })
    }

    /// Numerator.
    pub const fn num(self) -> u64 {
        self.num
    }
    /// Denominator (never zero).
    pub const fn den(self) -> u64 {
        self.den
    }
}

impl fmt::Display for AreaFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}
