//! A fast, host-only engine for [`QuantizedLayer::accumulate`]: the same accumulators and
//! the same ADC counts, bit for bit, from weights packed once (feature `std`).
//!
//! ## Method
//! At construction every weight column is stored twice, per group and row block of
//! `xbar_rows` rows:
//! - as bit planes: slice `k` of the offset-binary weight `u = w + 2^(b_w-1)` (bits
//!   `k*cell_bits..`) is `cell_bits` planes of `ceil(block_rows / 64)` `u64` words over the
//!   block's rows;
//! - as `i16` values, for exact dot products.
//!
//! Per output position and group the patch is gathered as the reference does. Then, per
//! row block, each input step `j` is bounded: every read `(j, k)` is at most
//! `S_j * (2^cell_bits - 1)`, `S_j` being the sum of the block's step-`j` input digits.
//! - Steps within the ADC range (`<= 2^adc_bits - 1`) cannot clip in any column. Their
//!   reads, shifted and added, are exactly `sum(x_j * u)`, and with the offset term removed
//!   the plain dot product of those input bits with the signed weights; all such steps of
//!   all blocks are one `i16` dot product per column. (A layer whose full block of all-ones
//!   digits and cells fits the ADC never computes the bound.)
//! - Steps that might clip are read as the hardware does: input bit planes
//!   `j*dac_bits + i` (`i < dac_bits`) are built, and read `(j, k)` is
//!   `sum_{i,m} 2^(i+m) * popcount(in_{j,i} & w_{k,m})`, clipped at `2^adc_bits - 1` (and
//!   counted), shifted by `j*dac_bits + k*cell_bits` and added; `2^(b_w-1)` times the sum
//!   of those steps' input bits over the block is subtracted. All-zero planes are skipped.
//!
//! [`PackedLayer::with_shortcut`]`(false)` drops the bound and reads every step through the
//! bit planes (same results; for tests and for measuring the plane path).
//!
//! Reads are counted as the reference counts them: one per column, row block, input step
//! and weight slice, clipped or not, whichever way the value was computed.

use std::vec;
use std::vec::Vec;

use super::layer::check_layer_io;
use super::{AdcStats, ConvGeometry, QuantizedLayer, XbarError};
use crate::{ArchConfig, Bits};

/// Bit `8i` of each byte lane gathered to bit `56 + i` by one multiply.
const GATHER_LSBS: u64 = 0x0102_0408_1020_4080;
/// The least significant bit of every byte lane.
const BYTE_LSBS: u64 = 0x0101_0101_0101_0101;
/// Rows per exact dot-product chunk: `4096 * 255 * 127` fits `i32`.
const DOT_CHUNK: usize = 4096;

/// A [`QuantizedLayer`] packed for fast exact evaluation on the host: owned weight bit
/// planes and `i16` weights, the geometry, the bias and the arch facts it was packed for.
#[derive(Clone, Debug)]
pub struct PackedLayer {
    geometry: ConvGeometry,
    bias: Vec<i64>,
    /// `w_bits`.
    w_bits: u32,
    /// Rows of one group (`geometry.rows()`).
    rows: usize,
    /// Rows per row block (`xbar_rows`, at most 4096).
    block_rows: usize,
    /// Row blocks per group.
    blocks: usize,
    /// `u64` words per plane (`ceil(min(block_rows, rows) / 64)`).
    words: usize,
    cell_bits: u32,
    dac_bits: u32,
    adc_max: u64,
    /// Weight slices `ceil(w_bits / cell_bits)`.
    slices: usize,
    /// Weights as `i16`, column after column (`c_out * rows`).
    weights: Vec<i16>,
    /// Weight bit planes `[c_out][blocks][slices][cell_bits][words]`.
    planes: Vec<u64>,
    /// Plane words per column (`blocks * slices * cell_bits * words`, at least 1).
    per_column: usize,
    /// Whether steps proven unable to clip take the exact dot product.
    shortcut: bool,
    /// Whether no read of this layer can clip whatever the input (a full block of
    /// all-ones digits and cells stays within the ADC).
    never_clips: bool,
}

/// What one row block of the current patch needs from the bit-plane path.
#[derive(Clone, Copy, Debug, Default)]
struct BlockPlan {
    /// Input steps that may clip (bit `j` for step `j`); 0 when the dot product covers all.
    steps: u16,
    /// Input bit planes `0..8` that are nonzero among those steps.
    planes: u8,
    /// Sum of the block's inputs restricted to those steps' bits.
    sum: i64,
}

/// Reusable buffers of [`PackedLayer::accumulate`]; grown on first use, never shrunk, so a
/// scratch kept per thread makes the calls allocation-free.
#[derive(Clone, Debug, Default)]
pub struct PackedScratch {
    patch: Vec<u8>,
    dot: Vec<i16>,
    /// Input bit planes `[blocks][8][words]` of the current patch.
    planes: Vec<u64>,
    plans: Vec<BlockPlan>,
}

impl PackedLayer {
    /// Packs a validated layer for `arch`.
    pub fn new(arch: &ArchConfig, layer: &QuantizedLayer<'_>) -> Result<PackedLayer, XbarError> {
        let geometry = *layer.geometry();
        geometry.validate()?;
        let w = layer.weights();
        let w_bits = u32::from(w.w_bits().get());
        let rows = geometry.rows();
        // `xbar_rows <= 4096` (ArchConfig invariant).
        let block_rows = usize::try_from(arch.xbar_rows()).map_err(|_| XbarError::BadGeometry("xbar_rows"))?;
        let blocks = rows.div_ceil(block_rows);
        let words = rows.min(block_rows).div_ceil(64);
        let cell_bits = u32::from(arch.cell_bits());
        let slices = w_bits.div_ceil(cell_bits) as usize;
        let offset = 1i16 << (w_bits - 1);
        let per_column = (blocks * slices * cell_bits as usize * words).max(1);
        let too_big = XbarError::BadGeometry("packed layer does not fit memory");
        let plane_len = per_column.checked_mul(geometry.c_out).ok_or(too_big)?;
        let mut planes = vec![0u64; plane_len];
        let mut weights = Vec::with_capacity(rows.checked_mul(geometry.c_out).ok_or(too_big)?);
        for (col, column_planes) in planes.chunks_exact_mut(per_column).enumerate().take(geometry.c_out) {
            let column = w.column(col);
            weights.extend(column.iter().map(|&v| i16::from(v)));
            let block_len = slices * cell_bits as usize * words;
            for (block_weights, block_planes) in column
                .chunks(block_rows)
                .zip(column_planes.chunks_exact_mut(block_len.max(1)))
            {
                for (r, &v) in block_weights.iter().enumerate() {
                    // Offset binary: 1..=2^b_w - 1.
                    let u = (i16::from(v) + offset) as u32;
                    let (word, bit) = (r / 64, r % 64);
                    for (k, slice_planes) in block_planes
                        .chunks_exact_mut((cell_bits as usize * words).max(1))
                        .enumerate()
                    {
                        for (m, plane) in slice_planes.chunks_exact_mut(words.max(1)).enumerate() {
                            if (u >> (k as u32 * cell_bits + m as u32)) & 1 == 1 {
                                if let Some(slot) = plane.get_mut(word) {
                                    *slot |= 1u64 << bit;
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(PackedLayer {
            geometry,
            bias: layer.bias().iter().map(|&b| i64::from(b)).collect(),
            w_bits,
            rows,
            block_rows,
            blocks,
            words,
            cell_bits,
            dac_bits: u32::from(arch.dac_bits()),
            adc_max: (1u64 << arch.adc_bits()) - 1,
            slices,
            weights,
            planes,
            per_column,
            shortcut: true,
            never_clips: (rows.min(block_rows) as u64)
                .saturating_mul((1u64 << cell_bits) - 1)
                .saturating_mul((1u64 << arch.dac_bits()) - 1)
                < 1u64 << arch.adc_bits(),
        })
    }

    /// The same layer with the no-clip shortcut on (the default) or off. Off, every input
    /// step is read through the bit planes; the results are identical either way, only the
    /// speed differs.
    #[must_use]
    pub fn with_shortcut(mut self, on: bool) -> PackedLayer {
        self.shortcut = on;
        self
    }

    /// The geometry.
    pub fn geometry(&self) -> &ConvGeometry {
        &self.geometry
    }

    /// `acc + bias` of every output (`C, H, W`, [`ConvGeometry::output_len`] elements), bit
    /// for bit equal to [`QuantizedLayer::accumulate`] on the arch the layer was packed for,
    /// with the same ADC counts and the same input checks and errors.
    pub fn accumulate(
        &self,
        input: &[u8],
        a_bits: Bits,
        scratch: &mut PackedScratch,
        out: &mut [i64],
    ) -> Result<AdcStats, XbarError> {
        let g = &self.geometry;
        let a = check_layer_io(g, input, a_bits, out)?;
        let steps = a.div_ceil(self.dac_bits) as usize;
        scratch.patch.resize(self.rows, 0);
        scratch.dot.resize(self.rows, 0);
        scratch.planes.resize(self.blocks * 8 * self.words, 0);
        scratch.plans.resize(self.blocks, BlockPlan::default());
        let (out_h, out_w) = (g.out_h(), g.out_w());
        let positions = out_h * out_w;
        let cols = g.group_out();
        let mut clipped = 0u64;
        for oy in 0..out_h {
            for ox in 0..out_w {
                let position = oy * out_w + ox;
                for group in 0..g.groups {
                    self.gather(input, oy, ox, group, &mut scratch.patch);
                    let (any_input, any_clip) = self.plan(a, steps, scratch);
                    let first = group * cols;
                    let columns = self.weights.chunks_exact(self.rows.max(1)).skip(first).take(cols);
                    let column_planes = self.planes.chunks_exact(self.per_column).skip(first);
                    let biases = self.bias.iter().skip(first);
                    let slots = out
                        .iter_mut()
                        .skip(first * positions + position)
                        .step_by(positions.max(1));
                    for (((weights, planes), &bias), slot) in columns.zip(column_planes).zip(biases).zip(slots) {
                        let mut acc = bias;
                        if any_input {
                            acc += dot(&scratch.dot, weights);
                            if any_clip {
                                acc += self.plane_reads(scratch, planes, &mut clipped);
                            }
                        }
                        *slot = acc;
                    }
                }
            }
        }
        // One read per output, row block, input step and weight slice, as the reference.
        let reads = [positions, g.c_out, self.blocks, steps, self.slices]
            .iter()
            .fold(1u64, |n, &f| n.saturating_mul(f as u64));
        Ok(AdcStats { reads, clipped })
    }

    /// Copies the receptive field of output pixel `(oy, ox)` over `group`'s input channels
    /// into `patch` (`rows` elements), zero outside the input.
    fn gather(&self, input: &[u8], oy: usize, ox: usize, group: usize, patch: &mut [u8]) {
        let g = &self.geometry;
        let (kh, kw) = g.kernel;
        let per = g.group_in();
        let x0 = ox * g.stride.1;
        // The whole kernel row lies inside the input: copy it as one run.
        let inside = x0 >= g.pad.1 && x0 - g.pad.1 + kw <= g.in_w;
        let mut runs = patch.chunks_exact_mut(kw.max(1));
        for c in group * per..(group + 1) * per {
            for ky in 0..kh {
                let Some(run) = runs.next() else { return };
                let iy = (oy * g.stride.0 + ky).checked_sub(g.pad.0).filter(|&y| y < g.in_h);
                let Some(y) = iy else {
                    run.fill(0);
                    continue;
                };
                let base = (c * g.in_h + y) * g.in_w;
                if inside {
                    let start = base + x0 - g.pad.1;
                    match input.get(start..start + kw) {
                        Some(src) => run.copy_from_slice(src),
                        None => run.fill(0),
                    }
                } else {
                    for (kx, slot) in run.iter_mut().enumerate() {
                        let ix = (x0 + kx).checked_sub(g.pad.1).filter(|&x| x < g.in_w);
                        *slot = ix.and_then(|x| input.get(base + x)).copied().unwrap_or(0);
                    }
                }
            }
        }
    }

    /// Decides, per row block of the gathered patch, which input steps go through the bit
    /// planes, builds those planes and the dot-product input (the other steps' bits).
    /// Returns whether any input is nonzero and whether any block uses the planes.
    fn plan(&self, a: u32, steps: usize, scratch: &mut PackedScratch) -> (bool, bool) {
        let cell_max = (1u64 << self.cell_bits) - 1;
        let dac_max = (1u64 << self.dac_bits) - 1;
        let dac_mask = (1u32 << self.dac_bits) - 1;
        let words = self.words.max(1);
        if self.shortcut && self.never_clips {
            let mut any_input = false;
            for (d, &v) in scratch.dot.iter_mut().zip(&scratch.patch) {
                *d = i16::from(v);
                any_input |= v != 0;
            }
            return (any_input, false);
        }
        let (mut any_input, mut any_clip) = (false, false);
        let blocks = scratch
            .patch
            .chunks(self.block_rows)
            .zip(scratch.dot.chunks_mut(self.block_rows))
            .zip(scratch.planes.chunks_exact_mut(8 * words))
            .zip(scratch.plans.iter_mut());
        for (((xs, dot), planes), plan) in blocks {
            *plan = BlockPlan::default();
            let nonzero = xs.iter().filter(|&&v| v != 0).count() as u64;
            if nonzero == 0 {
                dot.fill(0);
                continue;
            }
            any_input = true;
            // Steps that may clip, as a mask of input bits.
            let mut clip_bits = 0u32;
            if !self.shortcut {
                plan.steps = (1u16 << steps) - 1;
                clip_bits = (1u32 << a) - 1;
            } else if nonzero * dac_max * cell_max > self.adc_max {
                let mut counts = [0u64; 8];
                for (p, count) in counts.iter_mut().enumerate().take(a as usize) {
                    *count = xs.iter().map(|&v| u64::from((v >> p) & 1)).sum();
                }
                for j in 0..steps {
                    let lo = j as u32 * self.dac_bits;
                    let digit_sum: u64 = (0..self.dac_bits)
                        .filter_map(|i| counts.get((lo + i) as usize).map(|&c| c << i))
                        .sum();
                    if digit_sum * cell_max > self.adc_max {
                        plan.steps |= 1 << j;
                        clip_bits |= dac_mask << lo;
                    }
                }
            }
            // x < 2^8: only the low byte of the mask matters.
            let clip_bits = (clip_bits & 0xff) as u8;
            for (d, &v) in dot.iter_mut().zip(xs) {
                *d = i16::from(v & !clip_bits);
            }
            if clip_bits == 0 {
                continue;
            }
            any_clip = true;
            plan.sum = xs.iter().map(|&v| i64::from(v & clip_bits)).sum();
            plan.planes = build_planes(xs, clip_bits, words, planes);
        }
        (any_input, any_clip)
    }

    /// The bit-plane part of one column over every row block: clipped reads of the steps
    /// that may clip, shifted and added, minus their offset term.
    fn plane_reads(&self, scratch: &PackedScratch, planes: &[u64], clipped: &mut u64) -> i64 {
        let words = self.words.max(1);
        let cell = self.cell_bits as usize;
        let offset = 1i64 << (self.w_bits - 1);
        let mut total = 0i64;
        let weight_blocks = planes.chunks_exact((self.slices * cell * words).max(1));
        let input_blocks = scratch.planes.chunks_exact(8 * words);
        for ((plan, w_block), in_block) in scratch.plans.iter().zip(weight_blocks).zip(input_blocks) {
            if plan.steps == 0 {
                continue;
            }
            for (k, w_slice) in w_block.chunks_exact(cell * words).enumerate() {
                let shift_k = k as u32 * self.cell_bits;
                let mut steps = plan.steps;
                while steps != 0 {
                    let j = steps.trailing_zeros();
                    steps &= steps - 1;
                    let lo = j * self.dac_bits;
                    let mut analog = 0u64;
                    for i in 0..self.dac_bits {
                        let p = lo + i;
                        if p >= 8 || (plan.planes >> p) & 1 == 0 {
                            continue;
                        }
                        let Some(in_plane) = in_block.get(p as usize * words..(p as usize + 1) * words) else {
                            continue;
                        };
                        for (m, w_plane) in w_slice.chunks_exact(words).enumerate() {
                            let ones = and_ones(in_plane, w_plane);
                            analog += u64::from(ones) << (i + m as u32);
                        }
                    }
                    if analog > self.adc_max {
                        *clipped += 1;
                    }
                    // A read is at most 2^32: the shift stays below 2^48.
                    total += (analog.min(self.adc_max) as i64) << (lo + shift_k);
                }
            }
            total -= offset * plan.sum;
        }
        total
    }
}

/// `popcount(a & b)` over two planes, unrolled for the common one- and two-word planes
/// (blocks of up to 128 rows).
#[inline(always)]
fn and_ones(a: &[u64], b: &[u64]) -> u32 {
    match (a, b) {
        ([a0], [b0]) => (a0 & b0).count_ones(),
        ([a0, a1], [b0, b1]) => (a0 & b0).count_ones() + (a1 & b1).count_ones(),
        _ => a.iter().zip(b).map(|(&x, &w)| (x & w).count_ones()).sum(),
    }
}

/// Builds the input bit planes `p` in `bits` of one row block into `planes` (`[8][words]`)
/// and returns which of them are nonzero.
fn build_planes(xs: &[u8], bits: u8, words: usize, planes: &mut [u64]) -> u8 {
    let mut nonzero = 0u8;
    for (p, plane) in planes.chunks_exact_mut(words).enumerate() {
        if (bits >> p) & 1 == 0 {
            continue;
        }
        plane.fill(0);
        for (word, rows) in plane.iter_mut().zip(xs.chunks(64)) {
            for (q, lanes) in rows.chunks(8).enumerate() {
                let mut bytes = [0u8; 8];
                for (b, &v) in bytes.iter_mut().zip(lanes) {
                    *b = v;
                }
                let v = u64::from_le_bytes(bytes);
                let gathered = (((v >> p) & BYTE_LSBS).wrapping_mul(GATHER_LSBS)) >> 56;
                *word |= gathered << (8 * q);
            }
            if *word != 0 {
                nonzero |= 1 << p;
            }
        }
    }
    nonzero
}

/// The exact dot product of inputs and one column's weights (in `i32` chunks that cannot
/// overflow).
fn dot(x: &[i16], w: &[i16]) -> i64 {
    x.chunks(DOT_CHUNK)
        .zip(w.chunks(DOT_CHUNK))
        .map(|(xs, ws)| {
            let part: i32 = xs.iter().zip(ws).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum();
            i64::from(part)
        })
        .sum()
}
