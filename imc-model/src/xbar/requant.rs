//! Requantization of a layer's integer accumulators to the next layer's unsigned `b_a`.
//!
//! The real scale `s = s_w * s_a_in / s_a_out` is held as an integer multiplier and a right
//! shift (`s ~= multiplier * 2^-shift`, multiplier in `[2^30, 2^31)`, i.e. 31 significant
//! bits), the gemmlowp/TFLite scheme, rather than a `fixed` type: the shift varies per
//! layer over a range (`2^-60..2^30`) no single fixed-point format covers. Rounding is half
//! up, then the value is clamped to `0..=2^b_a - 1` — the clamp at zero is the ReLU.

use super::{functional_bits, XbarError};
use crate::Bits;

/// An integer requantization scale: `y = clamp(round(acc * multiplier / 2^shift))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requant {
    multiplier: u32,
    shift: u8,
}

impl Requant {
    /// The closest multiplier/shift pair to a positive real `scale` (31 significant bits).
    /// This is the only floating-point operation in the functional model; it runs when a
    /// layer is prepared, and the pair is what a plan would carry to the controller.
    pub fn from_scale(scale: f64) -> Result<Requant, XbarError> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(XbarError::BadScale);
        }
        // scale = mantissa * 2^exp with mantissa in [0.5, 1).
        let (mut mantissa, mut exp) = (scale, 0i32);
        while mantissa >= 1.0 && exp < 64 {
            mantissa /= 2.0;
            exp += 1;
        }
        while mantissa < 0.5 && exp > -128 {
            mantissa *= 2.0;
            exp -= 1;
        }
        // Truncating cast of a positive value after +0.5 rounds to nearest.
        let mut multiplier = (mantissa * (1u64 << 31) as f64 + 0.5) as u64;
        if multiplier == 1 << 31 {
            multiplier >>= 1;
            exp += 1;
        }
        let shift = 31 - exp;
        if !(1..=91).contains(&shift) {
            return Err(XbarError::BadScale);
        }
        Ok(Requant {
            multiplier: multiplier as u32,
            shift: shift as u8,
        })
    }

    /// Builds a pair directly (e.g. decoded from a plan); the multiplier must be in
    /// `[2^30, 2^31)` and the shift in `1..=91`.
    pub fn from_parts(multiplier: u32, shift: u8) -> Result<Requant, XbarError> {
        if (1 << 30..1 << 31).contains(&multiplier) && (1..=91).contains(&shift) {
            Ok(Requant { multiplier, shift })
        } else {
            Err(XbarError::BadScale)
        }
    }

    /// The multiplier (31 significant bits).
    pub const fn multiplier(&self) -> u32 {
        self.multiplier
    }
    /// The right shift.
    pub const fn shift(&self) -> u8 {
        self.shift
    }

    /// `round(acc * scale)` clamped to `0..=max`.
    pub fn apply(&self, acc: i64, max: u8) -> u8 {
        // |acc| < 2^63 and multiplier < 2^31: the product fits i128 with room for rounding.
        let product = i128::from(acc) * i128::from(self.multiplier);
        let rounded = (product + (1i128 << (self.shift - 1))) >> self.shift;
        rounded.clamp(0, i128::from(max)) as u8
    }
}

/// Requantizes accumulators to unsigned `out_bits` activations (`out` as long as `acc`).
pub fn requantize(acc: &[i64], requant: Requant, out_bits: Bits, out: &mut [u8]) -> Result<(), XbarError> {
    let bits = functional_bits("out_bits", out_bits)?;
    if out.len() != acc.len() {
        return Err(XbarError::LengthMismatch {
            what: "requantized output",
            expected: acc.len(),
            got: out.len(),
        });
    }
    let max = ((1u16 << bits) - 1) as u8;
    for (o, &a) in out.iter_mut().zip(acc) {
        *o = requant.apply(a, max);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_round_trips_to_31_bits() {
        for &s in &[1.0, 0.5, 0.75, 3.0e-5, 1234.5, 1.0 / 3.0, 2.0f64.powi(-59)] {
            let r = Requant::from_scale(s).unwrap();
            let back = f64::from(r.multiplier()) / 2f64.powi(i32::from(r.shift()));
            assert!((back - s).abs() <= s * 1e-9, "scale {s} -> {back}");
            assert_eq!(Requant::from_parts(r.multiplier(), r.shift()), Ok(r));
        }
        assert_eq!(Requant::from_scale(0.0), Err(XbarError::BadScale));
        assert_eq!(Requant::from_scale(f64::NAN), Err(XbarError::BadScale));
        assert_eq!(Requant::from_scale(1e30), Err(XbarError::BadScale));
    }

    #[test]
    fn apply_rounds_and_clamps() {
        let half = Requant::from_scale(0.5).unwrap();
        assert_eq!(half.apply(5, 255), 3); // 2.5 rounds up
        assert_eq!(half.apply(4, 255), 2);
        assert_eq!(half.apply(-7, 255), 0); // ReLU
        assert_eq!(half.apply(1000, 15), 15); // saturates at 2^b_a - 1
        assert_eq!(half.apply(i64::MAX, 255), 255);
        assert_eq!(half.apply(i64::MIN, 255), 0);
    }
}
