//! Exactness of the functional model against integer dot products, and the measured error
//! of the default 8-bit ADC.

use super::*;
use crate::{ArchConfig, ArchParams, Bits};
use proptest::prelude::*;

extern crate std;
use std::vec;
use std::vec::Vec;

fn arch(rows: u32, cell_bits: u8, dac_bits: u8, adc_bits: Option<u8>) -> ArchConfig {
    let mut p = ArchParams::ISAAC;
    p.xbar_rows = rows;
    p.cell_bits = cell_bits;
    p.dac_bits = dac_bits;
    let lossless = ArchConfig::new(p).unwrap().lossless_adc_bits() as u8;
    p.adc_bits = adc_bits.unwrap_or(lossless);
    ArchConfig::new(p).unwrap()
}

fn bits(b: u8) -> Bits {
    Bits::new(b).unwrap()
}

/// Weights in the symmetric range and activations in `0..2^a`, from raw random bytes.
fn fit(raw_w: &[i8], raw_x: &[u8], w_bits: u8, a_bits: u8) -> (Vec<i8>, Vec<u8>) {
    let wmax = (1i16 << (w_bits - 1)) - 1;
    let w = raw_w.iter().map(|&v| (i16::from(v) % (wmax + 1)) as i8).collect();
    let x = raw_x.iter().map(|&v| (u16::from(v) % (1 << a_bits)) as u8).collect();
    (w, x)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn lossless_adc_gives_exact_dot_product(
        rows in 1usize..300,
        cols in 1usize..5,
        w_bits in 2u8..=8,
        a_bits in 2u8..=8,
        cell_bits in 1u8..=4,
        dac_bits in 1u8..=4,
        xbar_rows in prop::sample::select(vec![16u32, 64, 128]),
        seed_w in prop::collection::vec(any::<i8>(), 1500),
        seed_x in prop::collection::vec(any::<u8>(), 300),
    ) {
        let a = arch(xbar_rows, cell_bits, dac_bits, None);
        let (w, x) = fit(&seed_w[..rows * cols], &seed_x[..rows], w_bits, a_bits);
        let m = WeightMatrix::new(&w, rows, cols, bits(w_bits)).unwrap();
        let mut out = vec![0i64; cols];
        let stats = mvm_into(&a, &m, &x, bits(a_bits), &mut out).unwrap();
        prop_assert_eq!(stats.clipped, 0);
        for (c, &got) in out.iter().enumerate() {
            prop_assert_eq!(got, exact_dot(&m, &x, c));
        }
    }

    #[test]
    fn conv_positions_match_direct_convolution(
        c_in in 1usize..4, c_out in 1usize..4, side in 3usize..7,
        k in 1usize..4, stride in 1usize..3, pad in 0usize..2,
        seed_w in prop::collection::vec(any::<i8>(), 144),
        seed_x in prop::collection::vec(any::<u8>(), 147),
        bias in prop::collection::vec(-500i32..500, 4),
    ) {
        prop_assume!(pad < k);
        let g = ConvGeometry { c_in, in_h: side, in_w: side, c_out, kernel: (k, k), stride: (stride, stride), pad: (pad, pad), groups: 1 };
        let (w, x) = fit(&seed_w[..g.rows() * c_out], &seed_x[..g.input_len()], 5, 6);
        let m = WeightMatrix::new(&w, g.rows(), c_out, bits(5)).unwrap();
        let layer = QuantizedLayer::new(g, m, &bias[..c_out]).unwrap();
        let mut patch = vec![0u8; g.rows()];
        let mut out = vec![0i64; g.output_len()];
        layer.accumulate(&ArchConfig::isaac(), &x, bits(6), &mut patch, &mut out).unwrap();
        let (oh, ow) = (g.out_h(), g.out_w());
        for co in 0..c_out { for oy in 0..oh { for ox in 0..ow {
            let mut want = i64::from(bias[co]);
            for ci in 0..c_in { for ky in 0..k { for kx in 0..k {
                let (iy, ix) = ((oy * stride + ky) as isize - pad as isize, (ox * stride + kx) as isize - pad as isize);
                if iy >= 0 && ix >= 0 && (iy as usize) < side && (ix as usize) < side {
                    let wv = w[((co * c_in + ci) * k + ky) * k + kx];
                    want += i64::from(wv) * i64::from(x[(ci * side + iy as usize) * side + ix as usize]);
                }
            }}}
            prop_assert_eq!(out[(co * oh + oy) * ow + ox], want);
        }}}
    }
}

/// SplitMix64: a tiny deterministic generator for the error measurement below.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Relative RMS error (RMS of `got - exact` over RMS of `exact`) and the clipped-read
/// fraction of the isaac 8-bit ADC (128-row blocks) on `rows x 32` matrices, weights
/// uniform in `w_lo..=w_hi` and activations uniform in `a_lo..=a_hi` (8-bit codes).
fn adc_error(rows: usize, (w_lo, w_hi): (i16, i16), (a_lo, a_hi): (u16, u16)) -> (f64, f64) {
    let isaac = ArchConfig::isaac();
    let mut rng = SplitMix(7);
    let (cols, trials) = (32, 20);
    let (mut err2, mut ref2) = (0f64, 0f64);
    let mut stats = AdcStats::default();
    let span = |lo: i64, hi: i64, r: u64| lo + (r % (hi - lo + 1) as u64) as i64;
    for _ in 0..trials {
        let w: Vec<i8> = (0..rows * cols)
            .map(|_| span(w_lo.into(), w_hi.into(), rng.next()) as i8)
            .collect();
        let x: Vec<u8> = (0..rows)
            .map(|_| span(a_lo.into(), a_hi.into(), rng.next()) as u8)
            .collect();
        let m = WeightMatrix::new(&w, rows, cols, bits(8)).unwrap();
        let mut out = vec![0i64; cols];
        stats.merge(mvm_into(&isaac, &m, &x, bits(8), &mut out).unwrap());
        for (c, &got) in out.iter().enumerate() {
            let exact = exact_dot(&m, &x, c) as f64;
            err2 += (got as f64 - exact).powi(2);
            ref2 += exact * exact;
        }
    }
    ((err2 / ref2).sqrt(), stats.clipped as f64 / stats.reads as f64)
}

#[test]
fn eight_bit_adc_error_is_measured_and_bounded() {
    // isaac: 128 rows * 3 * 1 = 384 > 255, so an 8-bit ADC can clip; 9 bits are lossless.
    assert_eq!(ArchConfig::isaac().lossless_adc_bits(), 9);
    // Zero-mean weights: offset binary puts every slice near the middle of 0..=3, so a
    // 128-row column sums to about 128 * 1.5 * P(input bit) < 255 and almost never clips.
    let (sym_err, sym_clip) = adc_error(512, (-127, 127), (0, 255));
    // Same-sign large weights against large activations: slice sums near 128 * 2.5 clip.
    let (pos_err, pos_clip) = adc_error(512, (64, 127), (128, 255));
    std::println!(
        "8-bit ADC, 128-row blocks, 512 rows: zero-mean weights, uniform inputs: rel. RMS error {sym_err:.2e}, \
         clipped reads {:.3}%; positive weights 64..127, inputs 128..255: rel. RMS error {pos_err:.2e}, clipped reads {:.2}%",
        100.0 * sym_clip,
        100.0 * pos_clip
    );
    // Bounds from the measurement above (0 and 0; 0.45 and 3.1%), with margin: zero-mean
    // data is exact; in the skewed case only ~3% of reads clip, but they are the
    // most-significant (input MSB x weight MSB-slice) reads, so the result loses ~45%.
    assert!(sym_clip < 1e-3 && sym_err < 1e-3);
    assert!(pos_clip > 0.01 && pos_clip < 0.1, "the skewed case must clip");
    assert!(pos_err > 0.2 && pos_err < 0.7);
    // With a lossless (9-bit) ADC the same data has no error at all.
    let wide = arch(128, 2, 1, None);
    let w: Vec<i8> = (0..128).map(|i| (i % 255 - 127) as i8).collect();
    let x = [255u8; 128];
    let m = WeightMatrix::new(&w, 128, 1, bits(8)).unwrap();
    let mut out = [0i64; 1];
    mvm_into(&wide, &m, &x, bits(8), &mut out).unwrap();
    assert_eq!(out[0], exact_dot(&m, &x, 0));
}

#[test]
fn narrow_adc_clips_a_saturated_column() {
    // All inputs at max and all weights at +max: every slice read is 128 * 3 (LSB slice of
    // 127 + 128 = 255 is 0b11) which an 8-bit ADC clips to 255.
    let isaac = ArchConfig::isaac();
    let w = [127i8; 128];
    let x = [255u8; 128];
    let m = WeightMatrix::new(&w, 128, 1, bits(8)).unwrap();
    let mut out = [0i64; 1];
    let stats = mvm_into(&isaac, &m, &x, bits(8), &mut out).unwrap();
    assert!(stats.clipped > 0);
    assert!(out[0] < exact_dot(&m, &x, 0));
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let w = [0i8; 6];
    assert_eq!(
        WeightMatrix::new(&w, 2, 2, bits(4)).unwrap_err(),
        XbarError::LengthMismatch {
            what: "weights",
            expected: 4,
            got: 6
        }
    );
    assert_eq!(
        WeightMatrix::new(&[8, 0], 1, 2, bits(4)).unwrap_err(),
        XbarError::WeightOutOfRange { index: 0 }
    );
    assert!(matches!(
        WeightMatrix::new(&w, 3, 2, bits(9)),
        Err(XbarError::UnsupportedBits { .. })
    ));
    let m = WeightMatrix::new(&w, 3, 2, bits(4)).unwrap();
    let mut out = [0i64; 2];
    assert_eq!(
        mvm_into(&ArchConfig::isaac(), &m, &[0, 16, 0], bits(4), &mut out),
        Err(XbarError::ActivationOutOfRange { index: 1 })
    );
    assert!(mvm_into(&ArchConfig::isaac(), &m, &[0, 1], bits(4), &mut out).is_err());
    let g = ConvGeometry {
        c_in: 1,
        in_h: 2,
        in_w: 2,
        c_out: 1,
        kernel: (3, 3),
        stride: (1, 1),
        pad: (0, 0),
        groups: 1,
    };
    let wm = WeightMatrix::new(&[0i8; 9], 9, 1, bits(4)).unwrap();
    assert!(matches!(
        QuantizedLayer::new(g, wm, &[0]),
        Err(XbarError::BadGeometry(_))
    ));
}
