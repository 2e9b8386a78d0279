//! [`PackedLayer`] against the reference [`QuantizedLayer::accumulate`] (values and ADC
//! counts), and grouped convolution in the reference against plain integer arithmetic.

use super::*;
use crate::{ArchConfig, ArchParams, Bits};
use proptest::prelude::*;

extern crate std;
use std::vec;
use std::vec::Vec;

fn bits(b: u8) -> Bits {
    Bits::new(b).unwrap()
}

/// An isaac-like arch; `adc_bits` `None` is lossless, `Some(n)` is capped at lossless.
fn arch(rows: u32, cell_bits: u8, dac_bits: u8, adc_bits: Option<u8>) -> ArchConfig {
    let mut p = ArchParams::ISAAC;
    p.xbar_rows = rows;
    p.cell_bits = cell_bits;
    p.dac_bits = dac_bits;
    let lossless = ArchConfig::new(p).unwrap().lossless_adc_bits() as u8;
    p.adc_bits = adc_bits.map_or(lossless, |b| b.min(lossless));
    ArchConfig::new(p).unwrap()
}

/// SplitMix64, for reproducible tensors from one proptest seed.
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

/// Weights in the symmetric `w_bits` range; `skew` pushes them to `+max` (so reads clip).
fn weights(rng: &mut SplitMix, n: usize, w_bits: u8, skew: bool) -> Vec<i8> {
    let max = (1i64 << (w_bits - 1)) - 1;
    (0..n)
        .map(|_| {
            let r = rng.next();
            if skew && r.is_multiple_of(2) {
                max as i8
            } else {
                (((r >> 8) % (2 * max as u64 + 1)) as i64 - max) as i8
            }
        })
        .collect()
}

/// Activations in `0..2^a_bits`, a fraction `zeros / 4` of them zero (ReLU-like), and with
/// `skew` half of the rest at the top code.
fn activations(rng: &mut SplitMix, n: usize, a_bits: u8, zeros: u64, skew: bool) -> Vec<u8> {
    let max = (1u64 << a_bits) - 1;
    (0..n)
        .map(|_| {
            let r = rng.next();
            if r % 4 < zeros {
                0
            } else if skew && (r >> 3).is_multiple_of(2) {
                max as u8
            } else {
                ((r >> 8) % (max + 1)) as u8
            }
        })
        .collect()
}

/// Reference and packed engine (shortcut on and off) on one layer and input; all three
/// must agree on every accumulator and on the ADC counts.
fn check_same(a: &ArchConfig, layer: &QuantizedLayer<'_>, x: &[u8], a_bits: Bits) -> Result<AdcStats, TestCaseError> {
    let g = layer.geometry();
    let mut patch = vec![0u8; g.rows()];
    let mut want = vec![0i64; g.output_len()];
    let want_stats = layer.accumulate(a, x, a_bits, &mut patch, &mut want).unwrap();
    let mut scratch = PackedScratch::default();
    for shortcut in [true, false] {
        let packed = PackedLayer::new(a, layer).unwrap().with_shortcut(shortcut);
        prop_assert_eq!(packed.geometry(), g);
        // Twice with the same scratch: nothing may leak from one call into the next.
        for _ in 0..2 {
            let mut got = vec![i64::MIN; g.output_len()];
            let stats = packed.accumulate(x, a_bits, &mut scratch, &mut got).unwrap();
            prop_assert_eq!(&got, &want, "shortcut {}", shortcut);
            prop_assert_eq!(stats, want_stats, "shortcut {}", shortcut);
        }
    }
    Ok(want_stats)
}

#[derive(Clone, Copy, Debug)]
enum Shape {
    Dense,
    Grouped,
    Depthwise,
    Fc,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn packed_equals_reference(
        shape in prop::sample::select(vec![Shape::Dense, Shape::Grouped, Shape::Depthwise, Shape::Fc]),
        groups in 1usize..=4,
        per_in in 1usize..=12,
        per_out in 1usize..=5,
        k in 1usize..=3,
        stride in 1usize..=2,
        pad in 0usize..=2,
        side in 1usize..=7,
        w_bits in 1u8..=8,
        a_bits in 1u8..=8,
        xbar_rows in prop::sample::select(vec![3u32, 8, 16, 64, 100, 128]),
        cell_bits in 1u8..=4,
        dac_bits in 1u8..=4,
        adc_bits in prop::option::of(1u8..=12),
        zeros in 0u64..=3,
        skew in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let (groups, per_in, per_out) = match shape {
            Shape::Dense | Shape::Fc => (1, per_in * 4, per_out * 2),
            Shape::Grouped => (groups, per_in, per_out),
            Shape::Depthwise => (groups * 4, 1, 1),
        };
        let g = match shape {
            Shape::Fc => ConvGeometry::fc(per_in * 10, per_out * 3),
            _ => ConvGeometry {
                c_in: groups * per_in,
                in_h: side + k,
                in_w: side + k - 1,
                c_out: groups * per_out,
                kernel: (k, k),
                stride: (stride, stride),
                pad: (pad.min(k - 1), pad.min(k - 1)),
                groups,
            },
        };
        let mut rng = SplitMix(seed);
        let w = weights(&mut rng, g.rows() * g.c_out, w_bits, skew);
        let x = activations(&mut rng, g.input_len(), a_bits, zeros, skew);
        let bias: Vec<i32> = (0..g.c_out).map(|_| (rng.next() % 2001) as i32 - 1000).collect();
        let a = arch(xbar_rows, cell_bits, dac_bits, adc_bits);
        let m = WeightMatrix::new(&w, g.rows(), g.c_out, bits(w_bits)).unwrap();
        let layer = QuantizedLayer::new(g, m, &bias).unwrap();
        check_same(&a, &layer, &x, bits(a_bits))?;
    }

    #[test]
    fn grouped_conv_matches_direct_integer_convolution(
        groups in 1usize..=4,
        per_in in 1usize..=4,
        per_out in 1usize..=3,
        k in 1usize..=3,
        stride in 1usize..=2,
        pad in 0usize..=1,
        side in 3usize..=7,
        xbar_rows in prop::sample::select(vec![4u32, 16, 128]),
        seed in any::<u64>(),
    ) {
        prop_assume!(pad < k);
        let g = ConvGeometry {
            c_in: groups * per_in, in_h: side, in_w: side, c_out: groups * per_out,
            kernel: (k, k), stride: (stride, stride), pad: (pad, pad), groups,
        };
        prop_assert_eq!(g.rows(), per_in * k * k);
        let mut rng = SplitMix(seed);
        let w = weights(&mut rng, g.rows() * g.c_out, 6, false);
        let x = activations(&mut rng, g.input_len(), 7, 1, false);
        let bias: Vec<i32> = (0..g.c_out).map(|_| (rng.next() % 201) as i32 - 100).collect();
        let a = arch(xbar_rows, 2, 1, None);
        let layer = QuantizedLayer::new(g, WeightMatrix::new(&w, g.rows(), g.c_out, bits(6)).unwrap(), &bias).unwrap();
        let mut patch = vec![0u8; g.rows()];
        let mut out = vec![0i64; g.output_len()];
        let stats = layer.accumulate(&a, &x, bits(7), &mut patch, &mut out).unwrap();
        prop_assert_eq!(stats.clipped, 0);
        let (oh, ow) = (g.out_h(), g.out_w());
        for co in 0..g.c_out { for oy in 0..oh { for ox in 0..ow {
            let group = co / per_out;
            let mut want = i64::from(bias[co]);
            for cl in 0..per_in { for ky in 0..k { for kx in 0..k {
                let ci = group * per_in + cl;
                let (iy, ix) = ((oy * stride + ky) as isize - pad as isize, (ox * stride + kx) as isize - pad as isize);
                if iy >= 0 && ix >= 0 && (iy as usize) < side && (ix as usize) < side {
                    let wv = w[((co * per_in + cl) * k + ky) * k + kx];
                    want += i64::from(wv) * i64::from(x[(ci * side + iy as usize) * side + ix as usize]);
                }
            }}}
            prop_assert_eq!(out[(co * oh + oy) * ow + ox], want);
        }}}
        let mut scratch = PackedScratch::default();
        let mut packed = vec![0i64; g.output_len()];
        PackedLayer::new(&a, &layer).unwrap().accumulate(&x, bits(7), &mut scratch, &mut packed).unwrap();
        prop_assert_eq!(packed, out);
    }
}

fn dw_layer(w: &[i8], bias: &[i32]) -> QuantizedLayer<'static> {
    let g = ConvGeometry {
        c_in: 4,
        in_h: 5,
        in_w: 5,
        c_out: 4,
        kernel: (3, 3),
        stride: (1, 1),
        pad: (1, 1),
        groups: 4,
    };
    let w: &'static [i8] = Vec::leak(w.to_vec());
    let bias: &'static [i32] = Vec::leak(bias.to_vec());
    QuantizedLayer::new(g, WeightMatrix::new(w, 9, 4, bits(4)).unwrap(), bias).unwrap()
}

#[test]
fn depthwise_channels_see_only_their_own_input() {
    // Channel c has all weights c + 1, so output c at the centre is 9 * (c + 1) * x_c.
    let w: Vec<i8> = (0..36).map(|i| (i / 9 + 1) as i8).collect();
    let layer = dw_layer(&w, &[0; 4]);
    let x: Vec<u8> = (0..100).map(|i| (i / 25 + 1) as u8).collect();
    let mut out = vec![0i64; 100];
    let a = arch(128, 2, 1, None);
    layer.accumulate(&a, &x, bits(4), &mut [0u8; 9], &mut out).unwrap();
    for c in 0..4 {
        assert_eq!(out[c * 25 + 12], 9 * (c as i64 + 1) * (c as i64 + 1));
    }
}

#[test]
fn bad_groups_are_rejected() {
    let dense = ConvGeometry {
        c_in: 6,
        in_h: 4,
        in_w: 4,
        c_out: 4,
        kernel: (3, 3),
        stride: (1, 1),
        pad: (1, 1),
        groups: 1,
    };
    assert_eq!(dense.rows(), 54);
    assert_eq!(ConvGeometry { groups: 2, ..dense }.rows(), 27);
    assert_eq!(ConvGeometry::fc(10, 3).groups, 1);
    let w = [0i8; 54 * 4];
    for (groups, field) in [
        (0, "groups"),
        (4, "c_in is not a multiple of groups"),
        (3, "c_out is not a multiple of groups"),
    ] {
        let g = ConvGeometry { groups, ..dense };
        let rows = 6usize.checked_div(groups).map_or(54, |per| per * 9);
        let m = WeightMatrix::new(&w[..rows * 4], rows, 4, bits(4)).unwrap();
        assert_eq!(
            QuantizedLayer::new(g, m, &[0; 4]).unwrap_err(),
            XbarError::BadGeometry(field),
            "groups {groups}"
        );
    }
    // Weight rows are one group's rows.
    let g = ConvGeometry { groups: 2, ..dense };
    let m = WeightMatrix::new(&w[..54 * 4], 54, 4, bits(4)).unwrap();
    assert!(matches!(
        QuantizedLayer::new(g, m, &[0; 4]),
        Err(XbarError::LengthMismatch {
            what: "weight rows",
            ..
        })
    ));
}

#[test]
fn packed_refuses_what_the_reference_refuses() {
    let layer = dw_layer(&[1; 36], &[0; 4]);
    let a = ArchConfig::isaac();
    let packed = PackedLayer::new(&a, &layer).unwrap();
    let mut scratch = PackedScratch::default();
    let mut patch = [0u8; 9];
    let good = [1u8; 100];
    let mut out = [0i64; 100];
    let cases: [(&[u8], Bits, usize); 5] = [
        (&good, bits(9), 100),
        (&good[..99], bits(4), 100),
        (&[16u8; 100], bits(4), 100),
        (&good, bits(4), 99),
        (&good, Bits::new(16).unwrap(), 100),
    ];
    for (x, a_bits, out_len) in cases {
        let want = layer
            .accumulate(&a, x, a_bits, &mut patch, &mut out[..out_len])
            .unwrap_err();
        let got = packed
            .accumulate(x, a_bits, &mut scratch, &mut out[..out_len])
            .unwrap_err();
        assert_eq!(got, want);
    }
    assert_eq!(
        packed.accumulate(&[16u8; 100], bits(4), &mut scratch, &mut out),
        Err(XbarError::ActivationOutOfRange { index: 0 })
    );
}

#[test]
fn saturated_columns_clip_identically() {
    // Every activation and weight at the top: the isaac 8-bit ADC clips, in both engines.
    let g = ConvGeometry {
        c_in: 16,
        in_h: 6,
        in_w: 6,
        c_out: 8,
        kernel: (3, 3),
        stride: (1, 1),
        pad: (1, 1),
        groups: 1,
    };
    let w = vec![127i8; g.rows() * 8];
    let bias = [5i32; 8];
    let layer = QuantizedLayer::new(g, WeightMatrix::new(&w, g.rows(), 8, bits(8)).unwrap(), &bias).unwrap();
    let x = vec![255u8; g.input_len()];
    let stats = check_same(&ArchConfig::isaac(), &layer, &x, bits(8)).unwrap();
    assert!(stats.clipped > 0);
}

/// Single-thread speed on representative layers (8/8 bits, isaac): 16 -> 16 3x3 at 14x14,
/// depthwise 3x3 with 32 groups at 14x14, 1x1 64 -> 64 at 7x7, 3x3 64 -> 64 at 7x7.
/// Meaningful only optimised: `cargo test --release -p imc-model --features std --lib --
/// --ignored packed_speed --nocapture`.
#[test]
#[ignore = "timing print; run optimised with --ignored"]
fn packed_speed() {
    let conv = |c_in, c_out, side, k, groups| ConvGeometry {
        c_in,
        in_h: side,
        in_w: side,
        c_out,
        kernel: (k, k),
        stride: (1, 1),
        pad: (k / 2, k / 2),
        groups,
    };
    for (name, g) in [
        ("16->16 3x3 14x14", conv(16, 16, 14, 3, 1)),
        ("depthwise 32 3x3 14x14", conv(32, 32, 14, 3, 32)),
        ("64->64 1x1 7x7", conv(64, 64, 7, 1, 1)),
        ("64->64 3x3 7x7", conv(64, 64, 7, 3, 1)),
    ] {
        std::println!("{name}:");
        layer_speed(g);
    }
}

fn layer_speed(g: ConvGeometry) {
    let a = ArchConfig::isaac();
    let mut rng = SplitMix(1);
    let w = weights(&mut rng, g.rows() * g.c_out, 8, false);
    let bias = vec![0i32; g.c_out];
    let layer = QuantizedLayer::new(g, WeightMatrix::new(&w, g.rows(), g.c_out, bits(8)).unwrap(), &bias).unwrap();
    let macs = (g.rows() * g.output_len()) as f64;
    for (name, zeros, skew) in [
        ("ReLU-like, half zero", 2, false),
        ("dense uniform", 0, false),
        ("skewed (clips)", 0, true),
    ] {
        let x = activations(&mut rng, g.input_len(), 8, zeros, skew);
        let mut out = vec![0i64; g.output_len()];
        let mut patch = vec![0u8; g.rows()];
        let reps = 20;
        let t = std::time::Instant::now();
        for _ in 0..reps {
            layer.accumulate(&a, &x, bits(8), &mut patch, &mut out).unwrap();
        }
        let reference = macs * reps as f64 / t.elapsed().as_secs_f64();
        for shortcut in [true, false] {
            let packed = PackedLayer::new(&a, &layer).unwrap().with_shortcut(shortcut);
            let mut scratch = PackedScratch::default();
            let reps = 200;
            let t = std::time::Instant::now();
            for _ in 0..reps {
                packed.accumulate(&x, bits(8), &mut scratch, &mut out).unwrap();
            }
            let rate = macs * reps as f64 / t.elapsed().as_secs_f64();
            std::println!(
                "{name}: packed (shortcut {shortcut}) {:.0} MMAC/s, reference {:.0} MMAC/s",
                rate / 1e6,
                reference / 1e6
            );
        }
    }
}
