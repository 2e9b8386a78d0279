//! Frame decoding: arbitrary bytes as one frame and as a byte stream, decoded as both a
//! host [`Request`] and a controller [`Reply`].
//!
//! Checks: nothing panics; the reader never yields a frame with a delimiter in it or longer
//! than `MAX_FRAME`; a frame that decodes re-encodes within `MAX_FRAME` and decodes back to
//! the same envelope.
#![no_main]

use std::fmt::Debug;

use imc_model::wire::{decode, encode, FrameReader, Pushed, Reply, Request, MAX_FRAME};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;

fuzz_target!(|data: &[u8]| {
    round_trips::<Request>(data);
    round_trips::<Reply>(data);
    let mut reader = FrameReader::new();
    for &byte in data {
        if let Pushed::Frame(frame) = reader.push(byte) {
            assert!(!frame.is_empty() && frame.len() < MAX_FRAME);
            assert!(!frame.contains(&0));
            round_trips::<Request>(frame);
            round_trips::<Reply>(frame);
        }
    }
});

fn round_trips<T: Serialize + DeserializeOwned + PartialEq + Debug>(frame: &[u8]) {
    let Ok(envelope) = decode::<T>(frame) else {
        return;
    };
    let mut out = [0u8; MAX_FRAME];
    let written = encode(envelope.seq, &envelope.body, &mut out)
        .unwrap_or_else(|e| panic!("decoded {envelope:?} does not re-encode: {e}"));
    assert_eq!(out[written - 1], 0, "delimiter");
    let again = decode::<T>(&out[..written - 1]).expect("a re-encoded frame decodes");
    assert_eq!(again, envelope);
}
