//! Wire checks: golden bytes, round trips, worst-case sizes, corruption and garbage.

extern crate std;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::runtime::{PlanHeader, PlanLayer, RunOutcome, MAX_INFERENCES, MAX_LAYERS};
use crate::units::Cycles;

fn frame_of<T: Serialize>(seq: u16, body: &T) -> Vec<u8> {
    let mut out = [0u8; MAX_FRAME];
    let n = encode(seq, body, &mut out).unwrap();
    out[..n].to_vec()
}

fn read_back<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<Envelope<T>, WireError> {
    let (last, frame) = bytes.split_last().unwrap();
    assert_eq!(*last, 0, "frames end with the delimiter");
    assert!(!frame.contains(&0), "COBS leaves no zero inside a frame");
    decode(frame)
}

fn layer(first_xbar: u64) -> PlanLayer {
    PlanLayer {
        fully_connected: false,
        in_h: 56,
        kernel_h: 3,
        out_h: 56,
        out_w: 56,
        cycles_per_position: 401,
        xbars_per_replica: 18,
        replication: 3,
        w_bits: 4,
        a_bits: 4,
        floor_cycles: 0,
        first_xbar,
    }
}

#[test]
fn golden_hello() {
    // version 4, seq 1, variant 0, CRC-32 of [04 01 00] little-endian, COBS, delimiter.
    // The CRC values and frames come from an independent CRC-32/ISO-HDLC (Python's
    // zlib.crc32) and COBS encoder. Versions 2 and 3 differed only in the version byte and,
    // through it, the CRC.
    assert_eq!(FORMAT_VERSION, 4);
    let bytes = frame_of(1, &Request::Hello);
    assert_eq!(bytes, [0x03, 0x04, 0x01, 0x05, 0x8f, 0x40, 0x53, 0xe1, 0x00]);
    assert_eq!(CRC.checksum(&[4, 1, 0]), 0xe153_408f);
}

#[test]
fn golden_run_and_ack() {
    let run = Request::Run {
        mode: Mode::Row,
        inferences: 300,
    };
    // 04 07 | 04 (Run) 01 (Row) ac 02 (varint 300) | CRC.
    let bytes = frame_of(7, &run);
    assert_eq!(
        bytes,
        [0x0b, 0x04, 0x07, 0x04, 0x01, 0xac, 0x02, 0x0c, 0x50, 0x6f, 0xfa, 0x00]
    );
    assert_eq!(read_back::<Request>(&bytes), Ok(Envelope { seq: 7, body: run }));
    // Ack is variant 1 of Reply.
    let ack = frame_of(7, &Reply::Ack);
    assert_eq!(ack, [0x08, 0x04, 0x07, 0x01, 0x9f, 0xd7, 0x0e, 0xc0, 0x00]);
}

#[test]
fn golden_functional_requests() {
    // 04 03 | 09 (NetCommit) | CRC.
    let commit = frame_of(3, &Request::NetCommit);
    assert_eq!(commit, [0x08, 0x04, 0x03, 0x09, 0xa9, 0x9a, 0xb9, 0xaa, 0x00]);
    // 04 04 | 0a (Classify) 02 (length) 05 00 | CRC: the zero byte is COBS-encoded.
    let input = heapless::Vec::from_slice(&[5, 0]).unwrap();
    let classify = frame_of(4, &Request::Classify { input });
    assert_eq!(
        classify,
        [0x06, 0x04, 0x04, 0x0a, 0x02, 0x05, 0x05, 0x3a, 0x85, 0x9d, 0xce, 0x00]
    );
    assert_eq!(CRC.checksum(&[4, 4, 10, 2, 5, 0]), 0xce9d_853a);
}

#[test]
fn golden_plan_digest() {
    // 04 02 | 0b (PlanDigest, request variant 11) | CRC.
    let request = frame_of(2, &Request::PlanDigest);
    assert_eq!(request, [0x08, 0x04, 0x02, 0x0b, 0xc4, 0xca, 0xac, 0x5d, 0x00]);
    // 04 02 | 05 (PlanDigest, reply variant 5) f8 ac d1 91 01 (varint 0x1234_5678) | CRC.
    let reply = frame_of(2, &Reply::PlanDigest(0x1234_5678));
    assert_eq!(
        reply,
        [0x0d, 0x04, 0x02, 0x05, 0xf8, 0xac, 0xd1, 0x91, 0x01, 0xe2, 0x38, 0xd5, 0xca, 0x00]
    );
    assert_eq!(
        read_back::<Reply>(&reply),
        Ok(Envelope {
            seq: 2,
            body: Reply::PlanDigest(0x1234_5678)
        })
    );
}

#[test]
fn worst_case_functional_chunks_fit_a_frame() {
    let arch = crate::ArchParams {
        xbar_rows: u32::MAX,
        xbar_cols: u32::MAX,
        step_cycles: u64::MAX,
        add_cycles: u64::MAX,
        noc_bits_per_cycle: u64::MAX,
        ..crate::ArchParams::ISAAC
    };
    let layer = crate::xbar::net::NetLayer {
        input: (u16::MAX, u16::MAX, u16::MAX),
        c_out: u16::MAX,
        kernel: (u8::MAX, u8::MAX),
        stride: (u8::MAX, u8::MAX),
        pad: (u8::MAX, u8::MAX),
        w_bits: 8,
        a_bits: 8,
        requant: Some(crate::xbar::net::NetRequant {
            multiplier: u32::MAX,
            shift: u8::MAX,
            out_bits: 8,
        }),
    };
    let mut weights = heapless::Vec::new();
    weights.resize(NET_WEIGHTS_CHUNK, -1i8).unwrap();
    let mut biases = heapless::Vec::new();
    biases.resize(NET_BIASES_CHUNK, i32::MIN).unwrap();
    let mut input = heapless::Vec::new();
    input.resize(crate::xbar::net::NET_MAX_INPUT, 0xff).unwrap();
    let requests = [
        Request::NetBegin { arch, layers: u8::MAX },
        Request::NetLayer(layer),
        Request::NetWeights {
            offset: u32::MAX,
            data: weights,
        },
        Request::NetBiases {
            offset: u32::MAX,
            data: biases,
        },
        Request::Classify { input },
    ];
    for r in requests {
        let bytes = frame_of(u16::MAX, &r);
        assert_eq!(read_back::<Request>(&bytes), Ok(Envelope { seq: u16::MAX, body: r }));
    }
    let classified = Reply::Classified(Classification {
        class: u8::MAX,
        logits_digest: u32::MAX,
        controller_cost: u64::MAX,
    });
    let refused = Reply::Error(ErrorCode::Net(crate::xbar::net::NetError::Capacity));
    for r in [classified, refused] {
        assert_eq!(read_back::<Reply>(&frame_of(1, &r)), Ok(Envelope { seq: 1, body: r }));
    }
}

use super::frame::TESTS_CRC as CRC;

#[test]
fn every_message_round_trips() {
    let header = PlanHeader {
        layer_count: 54,
        xbars_per_tile: 96,
        tiles: 0,
        chip_floor_cycles: 12,
    };
    let layers = heapless::Vec::from_slice(&[layer(0), layer(54)]).unwrap();
    let requests = [
        Request::Hello,
        Request::PlanBegin(header),
        Request::PlanChunk { first_layer: 4, layers },
        Request::PlanCommit,
        Request::Run {
            mode: Mode::Layer,
            inferences: 5,
        },
    ];
    for (seq, r) in requests.into_iter().enumerate() {
        let seq = seq as u16;
        assert_eq!(read_back::<Request>(&frame_of(seq, &r)), Ok(Envelope { seq, body: r }));
    }
    let outcome = RunOutcome {
        latency: Cycles::new(123_456_789),
        interval: Cycles::new(4_567),
        makespan: Cycles::new(u64::MAX),
        dispatch_events: 1 << 40,
        layer_executions: 216,
    };
    let replies = [
        Reply::Ack,
        Reply::Error(ErrorCode::Plan(crate::runtime::PlanError::Placement(3))),
        Reply::Error(ErrorCode::Version(9)),
        Reply::Capabilities(Capabilities {
            board: heapless::String::try_from("qemu-mps2-an386").unwrap(),
            max_layers: MAX_LAYERS as u16,
            chunk_layers: CHUNK_LAYERS as u16,
            max_frame: MAX_FRAME as u16,
            max_inferences: MAX_INFERENCES,
            counter: CounterKind::Instructions,
            net_max_weights: u32::MAX,
        }),
        Reply::Results(RunReport {
            mode: Mode::Row,
            inferences: 4,
            outcome,
            counter: CounterKind::Cycles,
            controller_cost: u64::MAX,
            event_digest: 0xdead_beef,
        }),
    ];
    for r in replies {
        assert_eq!(
            read_back::<Reply>(&frame_of(UNKNOWN_SEQ, &r)),
            Ok(Envelope {
                seq: UNKNOWN_SEQ,
                body: r
            })
        );
    }
}

#[test]
fn worst_case_chunk_fits_a_frame() {
    let worst = PlanLayer {
        fully_connected: true,
        in_h: u32::MAX,
        kernel_h: u32::MAX,
        out_h: u32::MAX,
        out_w: u32::MAX,
        cycles_per_position: u32::MAX,
        xbars_per_replica: u32::MAX,
        replication: u32::MAX,
        w_bits: u8::MAX,
        a_bits: u8::MAX,
        floor_cycles: u64::MAX,
        first_xbar: u64::MAX,
    };
    let layers = heapless::Vec::from_slice(&[worst; CHUNK_LAYERS]).unwrap();
    let chunk = Request::PlanChunk {
        first_layer: u16::MAX,
        layers,
    };
    let mut out = [0u8; MAX_FRAME];
    assert!(encode(u16::MAX, &chunk, &mut out).is_ok());
}

#[test]
fn corruption_is_detected_never_trusted() {
    let bytes = frame_of(3, &Request::PlanCommit);
    let frame = &bytes[..bytes.len() - 1];
    for i in 0..frame.len() {
        for bit in 0..8 {
            let mut bad = frame.to_vec();
            bad[i] ^= 1 << bit;
            // A flipped bit that makes a zero would end the frame early on the link; here
            // the whole corrupted frame is decoded and must be refused either way.
            assert!(decode::<Request>(&bad).is_err(), "byte {i} bit {bit}");
        }
    }
}

#[test]
fn version_and_trailing_bytes_are_refused() {
    // A frame from a future version 5 and one from version 3 (floors without the physical
    // model): same layout, other version number.
    let mut payload = std::vec![3u8, 5, 0];
    payload.extend_from_slice(&CRC.checksum(&payload).to_le_bytes());
    let mut enc = [0u8; 32];
    let n = cobs::try_encode(&payload, &mut enc).unwrap();
    assert_eq!(decode::<Request>(&enc[..n]), Err(WireError::Version(3)));
    let mut payload = std::vec![5u8, 5, 0];
    payload.extend_from_slice(&CRC.checksum(&payload).to_le_bytes());
    let n = cobs::try_encode(&payload, &mut enc).unwrap();
    assert_eq!(decode::<Request>(&enc[..n]), Err(WireError::Version(5)));
    // Version 4, seq 5, Hello, then a stray byte.
    let mut payload = std::vec![4u8, 5, 0, 9];
    payload.extend_from_slice(&CRC.checksum(&payload).to_le_bytes());
    let n = cobs::try_encode(&payload, &mut enc).unwrap();
    assert_eq!(decode::<Request>(&enc[..n]), Err(WireError::Body(5)));
    // A chunk claiming more layers than CHUNK_LAYERS: the count is not trusted.
    let mut payload = std::vec![4u8, 6, 2, 0, 200];
    payload.extend_from_slice(&CRC.checksum(&payload).to_le_bytes());
    let n = cobs::try_encode(&payload, &mut enc).unwrap();
    assert_eq!(decode::<Request>(&enc[..n]), Err(WireError::Body(6)));
}

#[test]
fn frame_reader_splits_and_drops_overlong_frames() {
    let mut reader = FrameReader::new();
    let mut stream = Vec::new();
    stream.extend(std::iter::repeat_n(7u8, MAX_FRAME + 5));
    stream.push(0);
    stream.push(0);
    stream.extend(frame_of(2, &Request::Hello));
    let mut seen = Vec::new();
    for b in stream {
        match reader.push(b) {
            Pushed::Pending => {}
            Pushed::Overflow => seen.push(None),
            Pushed::Frame(f) => seen.push(Some(decode::<Request>(f).map(|e| e.seq))),
        }
    }
    assert_eq!(seen, [None, Some(Ok(2))]);
}

proptest! {
    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode::<Request>(&bytes);
        let _ = decode::<Reply>(&bytes);
        let mut reader = FrameReader::new();
        for b in &bytes {
            if let Pushed::Frame(f) = reader.push(*b) {
                let _ = decode::<Request>(f);
            }
        }
    }

    #[test]
    fn plan_chunks_round_trip(xbar in any::<u64>(), r in any::<u32>(), n in 0usize..=CHUNK_LAYERS) {
        let mut l = layer(xbar);
        l.replication = r;
        let layers = heapless::Vec::from_slice(&std::vec![l; n]).unwrap();
        let req = Request::PlanChunk { first_layer: 1, layers };
        prop_assert_eq!(read_back::<Request>(&frame_of(9, &req)), Ok(Envelope { seq: 9, body: req }));
    }
}
