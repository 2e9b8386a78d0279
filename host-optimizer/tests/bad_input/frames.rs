//! Frame rows of the bad-input catalogue: what a controller (or a line that is not one)
//! sends back, fed to the link [`Client`] through a scripted byte stream. Each test is
//! named after its row id (`-` becomes `_`) and listed in [`ROWS`].

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::time::Duration;

use host_optimizer::link::{Client, LinkError, ATTEMPTS, NOISE_BYTES_PER_ATTEMPT};
use imc_model::wire::{self, Capabilities, CounterKind, ErrorCode, Reply, FORMAT_VERSION, MAX_FRAME, UNKNOWN_SEQ};

/// Row ids covered here.
pub const ROWS: &[&str] = &[
    "frame-garbage",
    "frame-bad-crc",
    "frame-other-version",
    "frame-refused-version",
    "frame-wrong-reply",
    "frame-oversized",
    "frame-line-closed",
    "frame-capacities",
    "frame-endless-noise",
];

/// What the scripted controller does when the client reads.
enum Step {
    /// These bytes arrive.
    Bytes(Vec<u8>),
    /// The read times out (the line is silent).
    Silence,
}

/// A byte stream that plays `steps` in order, then stays silent (or closes, or babbles).
struct Scripted {
    steps: VecDeque<Step>,
    after: After,
}

/// The stream once its script is played.
#[derive(Clone, Copy)]
enum After {
    Silent,
    Closed,
    /// Endless non-zero bytes, never a timeout: a line full of noise.
    Noise,
}

impl Scripted {
    fn new(steps: Vec<Step>, after: After) -> Scripted {
        Scripted {
            steps: steps.into(),
            after,
        }
    }
}

impl Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.steps.pop_front() {
            Some(Step::Bytes(mut bytes)) => {
                let n = bytes.len().min(buf.len());
                buf[..n].copy_from_slice(&bytes[..n]);
                if n < bytes.len() {
                    self.steps.push_front(Step::Bytes(bytes.split_off(n)));
                }
                Ok(n)
            }
            Some(Step::Silence) => Err(io::ErrorKind::TimedOut.into()),
            None => match self.after {
                After::Silent => Err(io::ErrorKind::TimedOut.into()),
                After::Closed => Ok(0),
                After::Noise => {
                    buf.fill(0x55);
                    Ok(buf.len())
                }
            },
        }
    }
}

impl Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The frame the firmware would send: `reply` with sequence number `seq`.
fn frame(seq: u16, reply: &Reply) -> Vec<u8> {
    let mut out = [0u8; MAX_FRAME];
    let n = wire::encode(seq, reply, &mut out).expect("encodes");
    out[..n].to_vec()
}

/// A frame built by hand with format version `version` (valid COBS and CRC).
fn frame_with_version(version: u16, seq: u16, reply: &Reply) -> Vec<u8> {
    let mut payload = postcard::to_allocvec(&(version, seq)).expect("header");
    payload.extend(postcard::to_allocvec(reply).expect("body"));
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&payload);
    payload.extend(crc.to_le_bytes());
    let mut out = vec![0u8; MAX_FRAME];
    let n = cobs::try_encode(&payload, &mut out).expect("fits");
    out.truncate(n);
    out.push(0);
    out
}

fn capabilities(max_frame: u16) -> Reply {
    Reply::Capabilities(Capabilities {
        board: wire::heapless::String::try_from("scripted").expect("short name"),
        max_layers: 128,
        chunk_layers: 4,
        max_frame,
        max_inferences: 1 << 15,
        counter: CounterKind::None,
        net_max_weights: 0,
    })
}

/// `hello` over the script, on a thread with a deadline so a hang fails the test.
fn hello(steps: Vec<Step>, after: After) -> Result<Result<Capabilities, LinkError>, &'static str> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut client = Client::new(Scripted::new(steps, after));
        let _ = tx.send(client.hello());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .map_err(|_| "hung: no answer within 20 s")
}

fn error_text(steps: Vec<Step>, after: After) -> String {
    match hello(steps, after).expect("no hang") {
        Ok(caps) => panic!("accepted {caps:?}"),
        Err(e) => e.to_string(),
    }
}

/// Every attempt sees `bytes` and then silence.
fn each_attempt(bytes: &[u8]) -> Vec<Step> {
    (0..ATTEMPTS)
        .flat_map(|_| [Step::Bytes(bytes.to_vec()), Step::Silence])
        .collect()
}

#[test]
fn frame_garbage() {
    let text = error_text(each_attempt(b"\x13garbage\x00\xff\xfe\x00"), After::Silent);
    assert_eq!(
        text,
        "no valid reply from the controller (last frame received: bad COBS encoding)"
    );
}

#[test]
fn frame_bad_crc() {
    let mut f = frame(1, &capabilities(MAX_FRAME as u16));
    // Bytes 0-3 are COBS codes, version, sequence number and the next COBS code (after
    // the zero variant index); byte 5 is the board name's first letter: only the CRC breaks.
    f[5] ^= 0x01;
    let text = error_text(each_attempt(&f), After::Silent);
    assert_eq!(
        text,
        "no valid reply from the controller (last frame received: CRC mismatch)"
    );
}

/// A controller speaking another wire version: its replies are intact but unreadable,
/// and the message names their version.
#[test]
fn frame_other_version() {
    let f = frame_with_version(FORMAT_VERSION + 1, 1, &capabilities(MAX_FRAME as u16));
    let text = error_text(each_attempt(&f), After::Silent);
    assert_eq!(
        text,
        format!(
            "no valid reply from the controller (last frame received: format version {}, expected {FORMAT_VERSION})",
            FORMAT_VERSION + 1
        )
    );
}

#[test]
fn frame_refused_version() {
    let f = frame(UNKNOWN_SEQ, &Reply::Error(ErrorCode::Version(FORMAT_VERSION + 1)));
    let text = error_text(vec![Step::Bytes(f)], After::Silent);
    assert_eq!(
        text,
        format!("the controller refused the request: Version({})", FORMAT_VERSION + 1)
    );
}

#[test]
fn frame_wrong_reply() {
    let text = error_text(vec![Step::Bytes(frame(1, &Reply::Ack))], After::Silent);
    assert_eq!(text, "unexpected reply from the controller: Ack");
}

#[test]
fn frame_oversized() {
    let mut long = vec![0x42u8; 4 * MAX_FRAME];
    long.push(0);
    let text = error_text(each_attempt(&long), After::Silent);
    assert_eq!(
        text,
        format!("no valid reply from the controller (last frame received: message longer than {MAX_FRAME} bytes)")
    );
}

#[test]
fn frame_line_closed() {
    let text = error_text(vec![Step::Bytes(b"\x05abc".to_vec())], After::Closed);
    assert!(text.starts_with("link I/O: "), "{text}");
    assert!(text.contains("end of file"), "{text}");
}

#[test]
fn frame_capacities() {
    let f = frame(1, &capabilities(64));
    let caps = match hello(vec![Step::Bytes(f)], After::Silent).expect("no hang") {
        Ok(caps) => caps,
        Err(e) => panic!("hello failed: {e}"),
    };
    let net = host_optimizer::network::builtin("digits").expect("built in");
    let arch = imc_model::ArchConfig::isaac();
    let n = net.layers.len();
    let file = host_optimizer::plan_file::build(&arch, &net, &vec![imc_model::Precision::BASELINE; n], &vec![1; n])
        .expect("a valid plan");
    let plan = file.validate().expect("valid");
    let text = host_optimizer::link::check_fits(&plan.runtime, &caps)
        .expect_err("refused")
        .to_string();
    assert!(
        text.contains("frame bytes (the firmware was built with other wire capacities)") && text.contains("64"),
        "{text}"
    );
}

/// A line that never falls silent but never carries a frame either (wrong baud rate, a
/// device that is not the controller): each attempt gives up after
/// `NOISE_BYTES_PER_ATTEMPT` bytes, and the request after `ATTEMPTS` of them.
#[test]
fn frame_endless_noise() {
    let text = match hello(Vec::new(), After::Noise) {
        Err(hang) => panic!("{hang}"),
        Ok(result) => result.expect_err("noise is no reply").to_string(),
    };
    let bytes = u64::from(ATTEMPTS) * (NOISE_BYTES_PER_ATTEMPT + 1);
    assert_eq!(
        text,
        format!(
            "no valid reply from the controller: {bytes} bytes arrived without one \
             (wrong baud rate, or not the controller?)"
        )
    );
}
