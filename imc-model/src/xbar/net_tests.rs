//! The controller's network store against a direct run of the crossbar model, and its
//! refusals.

extern crate std;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;

fn fc(inputs: u16, outputs: u16, w_bits: u8, a_bits: u8, requant: Option<NetRequant>) -> NetLayer {
    NetLayer {
        input: (inputs, 1, 1),
        c_out: outputs,
        kernel: (1, 1),
        stride: (1, 1),
        pad: (0, 0),
        w_bits,
        a_bits,
        requant,
    }
}

fn requant_to(out_bits: u8) -> NetRequant {
    let r = Requant::from_scale(0.05).unwrap();
    NetRequant {
        multiplier: r.multiplier(),
        shift: r.shift(),
        out_bits,
    }
}

/// A 6 -> 5 -> 3 network uploaded into a fresh store.
fn upload(store: &mut NetStore, w1: &[i8], b1: &[i32], w2: &[i8], b2: &[i32]) -> Result<(), NetError> {
    store.begin(ArchParams::ISAAC, 2)?;
    store.push_layer(fc(6, 5, 4, 3, Some(requant_to(5))))?;
    store.push_layer(fc(5, 3, 4, 5, None))?;
    store.push_weights(0, w1)?;
    store.push_weights(w1.len() as u32, w2)?;
    store.push_biases(0, b1)?;
    store.push_biases(b1.len() as u32, b2)?;
    store.commit()
}

/// The same forward pass written directly against `xbar`.
fn direct(input: &[u8], w1: &[i8], b1: &[i32], w2: &[i8], b2: &[i32]) -> Vec<i64> {
    let arch = ArchConfig::isaac();
    let four = Bits::new(4).unwrap();
    let l1 = QuantizedLayer::new(ConvGeometry::fc(6, 5), WeightMatrix::new(w1, 6, 5, four).unwrap(), b1).unwrap();
    let l2 = QuantizedLayer::new(ConvGeometry::fc(5, 3), WeightMatrix::new(w2, 5, 3, four).unwrap(), b2).unwrap();
    let (mut patch, mut acc1, mut act, mut acc2) = ([0u8; 8], [0i64; 5], [0u8; 5], [0i64; 3]);
    l1.accumulate(&arch, input, Bits::new(3).unwrap(), &mut patch, &mut acc1)
        .unwrap();
    let r = requant_to(5);
    let requant = Requant::from_parts(r.multiplier, r.shift).unwrap();
    requantize(&acc1, requant, Bits::new(5).unwrap(), &mut act).unwrap();
    l2.accumulate(&arch, &act, Bits::new(5).unwrap(), &mut patch, &mut acc2)
        .unwrap();
    acc2.to_vec()
}

proptest! {
    #[test]
    fn classify_equals_the_crossbar_model(
        w1 in prop::collection::vec(-7i8..=7, 30),
        w2 in prop::collection::vec(-7i8..=7, 15),
        b1 in prop::collection::vec(-500i32..500, 5),
        b2 in prop::collection::vec(-500i32..500, 3),
        input in prop::collection::vec(0u8..=7, 6),
    ) {
        let mut store = std::boxed::Box::new(NetStore::new());
        upload(&mut store, &w1, &b1, &w2, &b2).unwrap();
        let mut scratch = std::boxed::Box::new(NetScratch::new());
        let logits = direct(&input, &w1, &b1, &w2, &b2);
        let (class, digest) = store.classify(&input, &mut scratch).unwrap();
        prop_assert_eq!(usize::from(class), argmax(&logits));
        prop_assert_eq!(digest, logits_digest(&logits));
    }
}

#[test]
fn bad_uploads_and_samples_are_refused() {
    let mut store = std::boxed::Box::new(NetStore::new());
    let mut scratch = std::boxed::Box::new(NetScratch::new());
    let (w1, w2, b1, b2) = ([1i8; 30], [1i8; 15], [0i32; 5], [0i32; 3]);
    assert_eq!(store.classify(&[0; 6], &mut scratch), Err(NetError::NotReady));
    assert_eq!(store.begin(ArchParams::ISAAC, 9), Err(NetError::Capacity));
    // A weight outside the 4-bit symmetric range.
    let mut wide = w1;
    wide[3] = 8;
    assert_eq!(upload(&mut store, &wide, &b1, &w2, &b2), Err(NetError::Values));
    assert!(!store.is_ready());
    // Chaining: 5 outputs cannot feed 4 inputs; a_bits must match the requant's out_bits.
    store.begin(ArchParams::ISAAC, 2).unwrap();
    store.push_layer(fc(6, 5, 4, 3, Some(requant_to(5)))).unwrap();
    assert_eq!(store.push_layer(fc(4, 3, 4, 5, None)), Err(NetError::Geometry));
    store.begin(ArchParams::ISAAC, 2).unwrap();
    store.push_layer(fc(6, 5, 4, 3, Some(requant_to(5)))).unwrap();
    assert_eq!(store.push_layer(fc(5, 3, 4, 4, None)), Err(NetError::Bits));
    // Too many rows for the scratch.
    store.begin(ArchParams::ISAAC, 1).unwrap();
    assert_eq!(store.push_layer(fc(1025, 1, 4, 4, None)), Err(NetError::Capacity));
    // A commit with missing biases.
    store.begin(ArchParams::ISAAC, 2).unwrap();
    store.push_layer(fc(6, 5, 4, 3, Some(requant_to(5)))).unwrap();
    store.push_layer(fc(5, 3, 4, 5, None)).unwrap();
    store.push_weights(0, &w1).unwrap();
    store.push_weights(30, &w2).unwrap();
    assert_eq!(store.commit(), Err(NetError::Incomplete));
    // A good upload; then samples of the wrong length or too wide are refused.
    upload(&mut store, &w1, &b1, &w2, &b2).unwrap();
    assert_eq!(store.classify(&[0; 5], &mut scratch), Err(NetError::Input));
    assert_eq!(store.classify(&[8; 6], &mut scratch), Err(NetError::Input));
    assert!(store.classify(&[7; 6], &mut scratch).is_ok());
}
