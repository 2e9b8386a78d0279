//! The crossbar matrix-vector product: offset-binary weight slices, bit-serial inputs,
//! ADC clipping per column read, shift-and-add, offset subtraction, row-block reduction.
//!
//! Column splitting across crossbars (`C * s_w > xbar_cols`) changes placement, not
//! values: every column is read on its own, so only the row blocks of `xbar_rows` matter.

use super::{functional_bits, XbarError, MAX_FUNCTIONAL_BITS};
use crate::{ArchConfig, Bits};

const MAX_PAIRS: usize = MAX_FUNCTIONAL_BITS as usize;

/// A signed weight matrix over caller-owned storage: `cols` output columns, each a
/// contiguous run of `rows` weights (the `[out][in]` layout of conv and linear weights,
/// conv rows ordered `(c_in, k_h, k_w)`). Every weight is within `|w| <= 2^(b_w-1) - 1`.
#[derive(Clone, Copy, Debug)]
pub struct WeightMatrix<'a> {
    weights: &'a [i8],
    rows: usize,
    cols: usize,
    w_bits: Bits,
}

impl<'a> WeightMatrix<'a> {
    /// Validates the length and the symmetric range of every weight.
    pub fn new(weights: &'a [i8], rows: usize, cols: usize, w_bits: Bits) -> Result<Self, XbarError> {
        let bits = functional_bits("w_bits", w_bits)?;
        let expected = rows
            .checked_mul(cols)
            .ok_or(XbarError::BadGeometry("rows * cols overflows"))?;
        if weights.len() != expected {
            return Err(XbarError::LengthMismatch {
                what: "weights",
                expected,
                got: weights.len(),
            });
        }
        let max = (1i16 << (bits - 1)) - 1;
        if let Some(index) = weights.iter().position(|&w| i16::from(w).abs() > max) {
            return Err(XbarError::WeightOutOfRange { index });
        }
        Ok(WeightMatrix {
            weights,
            rows,
            cols,
            w_bits,
        })
    }
    /// Rows (inputs).
    pub const fn rows(&self) -> usize {
        self.rows
    }
    /// Columns (outputs).
    pub const fn cols(&self) -> usize {
        self.cols
    }
    /// Weight precision.
    pub const fn w_bits(&self) -> Bits {
        self.w_bits
    }
    /// The view of columns `first..first + count` (already range-checked), or `None` past
    /// the last column.
    pub(crate) fn columns(&self, first: usize, count: usize) -> Option<WeightMatrix<'a>> {
        let start = first.checked_mul(self.rows)?;
        let len = count.checked_mul(self.rows)?;
        let weights = self.weights.get(start..start.checked_add(len)?)?;
        Some(WeightMatrix {
            weights,
            rows: self.rows,
            cols: count,
            w_bits: self.w_bits,
        })
    }
    /// The weights of output column `col` (empty past the last column).
    pub fn column(&self, col: usize) -> &'a [i8] {
        self.weights.get(col * self.rows..(col + 1) * self.rows).unwrap_or(&[])
    }
}

/// ADC activity of one or more matrix-vector products.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdcStats {
    /// Column reads converted (one per row block, column, input step and weight slice).
    pub reads: u64,
    /// Reads whose analog sum exceeded `2^adc_bits - 1` and were clipped.
    pub clipped: u64,
}

impl AdcStats {
    /// Adds another product's counts.
    pub fn merge(&mut self, other: AdcStats) {
        self.reads = self.reads.saturating_add(other.reads);
        self.clipped = self.clipped.saturating_add(other.clipped);
    }
}

/// Checks that an input vector has `rows` values, each fitting `a_bits` unsigned bits.
pub(crate) fn check_input(x: &[u8], rows: usize, a_bits: u32) -> Result<(), XbarError> {
    if x.len() != rows {
        return Err(XbarError::LengthMismatch {
            what: "input",
            expected: rows,
            got: x.len(),
        });
    }
    let max = (1u16 << a_bits) - 1;
    match x.iter().position(|&v| u16::from(v) > max) {
        Some(index) => Err(XbarError::ActivationOutOfRange { index }),
        None => Ok(()),
    }
}

/// Runs `y = W^T x` through the crossbar model and hands each column's result to
/// `emit(col, value)`. Returns the ADC activity.
pub fn mvm(
    arch: &ArchConfig,
    w: &WeightMatrix<'_>,
    x: &[u8],
    a_bits: Bits,
    mut emit: impl FnMut(usize, i64),
) -> Result<AdcStats, XbarError> {
    let a = functional_bits("a_bits", a_bits)?;
    check_input(x, w.rows, a)?;
    let wb = u32::from(w.w_bits.get());
    let cell = u32::from(arch.cell_bits());
    let dac = u32::from(arch.dac_bits());
    let slices = wb.div_ceil(cell) as usize;
    let steps = a.div_ceil(dac) as usize;
    let cell_mask = (1u32 << cell) - 1;
    let dac_mask = (1u32 << dac) - 1;
    let adc_max = (1u64 << arch.adc_bits()) - 1;
    let offset = 1i16 << (wb - 1);
    // `xbar_rows <= 4096` (ArchConfig invariant), so the block size fits `usize`.
    let block = arch.xbar_rows() as usize;
    let mut stats = AdcStats::default();
    for col in 0..w.cols {
        let mut total = 0i64;
        for (xs, ws) in x.chunks(block).zip(w.column(col).chunks(block)) {
            // partial[j][k]: the analog sum of input step j against weight slice k.
            let mut partial = [[0u32; MAX_PAIRS]; MAX_PAIRS];
            for (&xi, &wi) in xs.iter().zip(ws) {
                if xi == 0 {
                    continue;
                }
                // Offset binary: 1..=2^b_w - 1, fits u32.
                let u = (i16::from(wi) + offset) as u32;
                for (j, row) in partial.iter_mut().enumerate().take(steps) {
                    let bits_in = (u32::from(xi) >> (j as u32 * dac)) & dac_mask;
                    if bits_in == 0 {
                        continue;
                    }
                    for (k, sum) in row.iter_mut().enumerate().take(slices) {
                        *sum += bits_in * ((u >> (k as u32 * cell)) & cell_mask);
                    }
                }
            }
            let mut block_sum = 0i64;
            for (j, row) in partial.iter().enumerate().take(steps) {
                for (k, &analog) in row.iter().enumerate().take(slices) {
                    let read = u64::from(analog).min(adc_max);
                    stats.reads += 1;
                    if u64::from(analog) > adc_max {
                        stats.clipped += 1;
                    }
                    block_sum += (read as i64) << (j as u32 * dac + k as u32 * cell);
                }
            }
            let x_sum: i64 = xs.iter().map(|&v| i64::from(v)).sum();
            total += block_sum - i64::from(offset) * x_sum;
        }
        emit(col, total);
    }
    Ok(stats)
}

/// [`mvm`] writing column `c` to `out[c]`; `out` must have `w.cols()` elements.
pub fn mvm_into(
    arch: &ArchConfig,
    w: &WeightMatrix<'_>,
    x: &[u8],
    a_bits: Bits,
    out: &mut [i64],
) -> Result<AdcStats, XbarError> {
    if out.len() != w.cols {
        return Err(XbarError::LengthMismatch {
            what: "output",
            expected: w.cols,
            got: out.len(),
        });
    }
    mvm(arch, w, x, a_bits, |c, v| {
        if let Some(slot) = out.get_mut(c) {
            *slot = v;
        }
    })
}

/// The exact integer product `sum_r x[r] * w[c][r]` of column `col`: the reference a
/// lossless ADC must reproduce.
pub fn exact_dot(w: &WeightMatrix<'_>, x: &[u8], col: usize) -> i64 {
    w.column(col)
        .iter()
        .zip(x)
        .map(|(&wi, &xi)| i64::from(wi) * i64::from(xi))
        .sum()
}
