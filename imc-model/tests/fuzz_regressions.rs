//! Regression tests for fuzz findings (`fuzz/`, docs/fuzzing.md): each crashing input is kept
//! under `tests/fuzz-crashes/` (named `<target>-<what>`) and replayed here with the check
//! the fuzz target made.

use imc_model::wire::{decode, encode, FrameReader, Pushed, Reply, Request, WireError, MAX_FRAME, MAX_PAYLOAD};

/// `frame_decode` finding 1: the reader handed on a 320-byte frame (321 with its delimiter),
/// one byte more than `MAX_FRAME` allows and than `encode` ever writes.
const READER_OVERLONG: &[u8] = include_bytes!("fuzz-crashes/frame_decode-320-byte-frame");

#[test]
fn reader_yields_only_frames_encode_can_write() {
    let mut reader = FrameReader::new();
    let mut frames = 0;
    let mut overflows = 0;
    for &byte in READER_OVERLONG {
        match reader.push(byte) {
            Pushed::Pending => {}
            Pushed::Overflow => overflows += 1,
            Pushed::Frame(frame) => {
                frames += 1;
                assert!(frame.len() < MAX_FRAME, "{} bytes", frame.len());
            }
        }
    }
    assert_eq!(overflows, 1, "the 320-byte frame is dropped");
    assert_eq!(frames, 0);
}

#[test]
fn reader_boundary_is_max_frame_with_delimiter() {
    for (body, expect_frame) in [(MAX_FRAME - 1, true), (MAX_FRAME, false)] {
        let mut reader = FrameReader::new();
        for _ in 0..body {
            assert_eq!(reader.push(0x42), Pushed::Pending);
        }
        match reader.push(0) {
            Pushed::Frame(frame) => assert!(expect_frame && frame.len() == body),
            Pushed::Overflow => assert!(!expect_frame),
            Pushed::Pending => panic!("a delimiter after {body} bytes ends a frame"),
        }
    }
}

#[test]
fn decode_refuses_what_encode_cannot_write() {
    assert_eq!(
        decode::<Request>(&READER_OVERLONG[..MAX_FRAME]),
        Err(WireError::TooLong)
    );
    // A payload one byte longer than `MAX_PAYLOAD` whose COBS form still fits the frame.
    let payload: Vec<u8> = (0..=MAX_PAYLOAD)
        .map(|i| if i % 100 == 99 { 0 } else { 0x55 })
        .collect();
    let mut frame = [0u8; MAX_FRAME];
    let n = cobs::try_encode(&payload, &mut frame).unwrap();
    assert!(n < MAX_FRAME);
    assert_eq!(decode::<Reply>(&frame[..n]), Err(WireError::TooLong));
    // A frame `encode` writes still decodes.
    let mut out = [0u8; MAX_FRAME];
    let written = encode(7, &Request::Hello, &mut out).unwrap();
    assert_eq!(decode::<Request>(&out[..written - 1]).map(|e| e.seq), Ok(7));
}

/// The committed `frame_decode` seeds are frames of the current wire version (a version bump
/// must re-encode them, or the fuzzer starts from inputs the decoder refuses at once).
#[test]
fn frame_seeds_decode_under_the_current_version() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/frame_decode");
    let mut frames = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for frame in bytes.split(|&b| b == 0).filter(|f| !f.is_empty()) {
            let ok = decode::<Request>(frame).is_ok() || decode::<Reply>(frame).is_ok();
            assert!(ok, "{}: a frame the current version does not decode", path.display());
            frames += 1;
        }
    }
    assert!(frames >= 12, "{frames} seed frames");
}
