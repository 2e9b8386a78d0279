//! The host end of the link to the controller firmware: frames out, replies in, with
//! retransmission, over any byte stream (QEMU's TCP serial, a serial port, an in-memory
//! pipe in tests).
//!
//! Invariants: every request gets a fresh sequence number and is retransmitted (same number)
//! when no valid reply with that number arrives within the stream's read timeout, or when
//! the controller reports a damaged frame; an attempt also ends when the line carries
//! [`NOISE_BYTES_PER_ATTEMPT`] bytes without an intact frame or keeps talking for
//! [`ATTEMPT_WALL_LIMIT`] without the reply (a line that never falls silent cannot hang
//! the client); a request that fails names the last frame error it saw; a plan is checked
//! against the controller's capabilities before any of it is sent; an upload reports
//! success only after the controller's [`wire::plan_digest`] of its installed plan equals
//! the host's.

use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use imc_model::runtime::{Mode, Plan};
use imc_model::wire::{
    self, Capabilities, ErrorCode, FrameReader, Pushed, Reply, Request, RunReport, WireError, CHUNK_LAYERS, MAX_FRAME,
    UNKNOWN_SEQ,
};

/// Attempts per request before the link is declared dead.
pub const ATTEMPTS: u32 = 5;
/// Bytes an attempt may read without an intact frame before it is abandoned (eight
/// maximal frames: far more than a damaged reply or two, far less than a babbling line
/// sends in a second).
pub const NOISE_BYTES_PER_ATTEMPT: u64 = 8 * MAX_FRAME as u64;
/// Longest an attempt may go on reading without its reply while the line never falls
/// silent (a silent line ends the attempt at the stream's read timeout instead).
pub const ATTEMPT_WALL_LIMIT: Duration = Duration::from_secs(10);

/// Why a link exchange failed.
#[derive(Debug)]
pub enum LinkError {
    /// The byte stream failed.
    Io(io::Error),
    /// No valid reply after every attempt: the line stayed silent.
    NoReply,
    /// No valid reply after every attempt; frames arrived but could not be read.
    Unreadable {
        /// Why the last frame received could not be read (another format version, a bad
        /// CRC, ...).
        last: WireError,
    },
    /// No valid reply after every attempt: the line kept carrying bytes that were no
    /// frame, or kept talking without answering (wrong baud rate, not the controller).
    Noise {
        /// Bytes read during the request.
        bytes: u64,
        /// Why the last frame received could not be read, if any frame was delimited.
        last: Option<WireError>,
    },
    /// The controller refused the request.
    Refused(ErrorCode),
    /// A reply of the wrong kind.
    Unexpected(Reply),
    /// The upload was acknowledged but the controller's installed plan is not the one sent.
    Digest {
        /// [`wire::plan_digest`] of the plan sent.
        expected: u32,
        /// The controller's digest of its installed plan.
        installed: u32,
    },
    /// The plan exceeds what the controller can hold.
    Capacity {
        /// What is too large.
        what: &'static str,
        /// The plan's need.
        need: u64,
        /// The controller's capacity.
        have: u64,
    },
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Io(e) => write!(f, "link I/O: {e}"),
            LinkError::NoReply => write!(f, "no valid reply from the controller"),
            LinkError::Unreadable { last } => {
                write!(f, "no valid reply from the controller (last frame received: {last})")
            }
            LinkError::Noise { bytes, last } => {
                write!(
                    f,
                    "no valid reply from the controller: {bytes} bytes arrived without one \
                     (wrong baud rate, or not the controller?)"
                )?;
                match last {
                    Some(last) => write!(f, "; last frame received: {last}"),
                    None => Ok(()),
                }
            }
            LinkError::Refused(code) => write!(f, "the controller refused the request: {code:?}"),
            LinkError::Unexpected(reply) => {
                write!(f, "unexpected reply from the controller: {reply:?}")
            }
            LinkError::Digest { expected, installed } => write!(
                f,
                "the controller installed plan digest {installed:#010x}, not the {expected:#010x} sent"
            ),
            LinkError::Capacity { what, need, have } => {
                write!(f, "the plan needs {need} {what}; the controller holds at most {have}")
            }
        }
    }
}

impl std::error::Error for LinkError {}

/// Counters of one client's traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames written, retransmissions included.
    pub frames_sent: u64,
    /// Requests sent again.
    pub retransmissions: u64,
    /// Replies dropped as damaged or stale.
    pub dropped_replies: u64,
}

/// A client of the controller over a byte stream whose reads time out
/// (`ErrorKind::TimedOut` or `WouldBlock`).
pub struct Client<T> {
    io: T,
    reader: FrameReader,
    seq: u16,
    stats: LinkStats,
    attempts: u32,
}

impl<T: Read + Write> Client<T> {
    /// A client over `io`.
    pub fn new(io: T) -> Client<T> {
        Client {
            io,
            reader: FrameReader::new(),
            seq: 0,
            stats: LinkStats::default(),
            attempts: ATTEMPTS,
        }
    }

    /// Sets how many read timeouts a request may take before the link is declared dead
    /// (a long run answers only when it is done; [`ATTEMPTS`] by default).
    pub fn set_attempts(&mut self, attempts: u32) {
        self.attempts = attempts.max(1);
    }

    /// The byte stream.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The byte stream, mutably (a test's fault layer is switched through it).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// Traffic so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// Asks the controller what it can hold.
    pub fn hello(&mut self) -> Result<Capabilities, LinkError> {
        match self.request(&Request::Hello)? {
            Reply::Capabilities(c) => Ok(c),
            other => Err(unexpected(other)),
        }
    }

    /// Uploads and installs `plan`, after checking it fits the controller, and confirms
    /// the controller's digest of its installed plan. On an error the controller holds
    /// either its previous plan or `plan`, whole (a lost commit acknowledgement leaves the
    /// host unsure which): [`Client::plan_digest`] tells.
    pub fn upload(&mut self, plan: &Plan, caps: &Capabilities) -> Result<(), LinkError> {
        check_fits(plan, caps)?;
        self.expect_ack(&Request::PlanBegin(*plan.header()))?;
        let chunk = usize::from(caps.chunk_layers).clamp(1, CHUNK_LAYERS);
        for (index, layers) in plan.layers().chunks(chunk).enumerate() {
            let first_layer = u16::try_from(index * chunk).map_err(|_| LinkError::Capacity {
                what: "layers",
                need: plan.layers().len() as u64,
                have: u64::from(u16::MAX),
            })?;
            // `chunk <= CHUNK_LAYERS`, so the slice always fits the message's capacity.
            let layers = wire::heapless::Vec::from_slice(layers).map_err(|_| LinkError::NoReply)?;
            self.expect_ack(&Request::PlanChunk { first_layer, layers })?;
        }
        self.expect_ack(&Request::PlanCommit)?;
        let expected = wire::plan_digest(plan);
        match self.plan_digest()? {
            installed if installed == expected => Ok(()),
            installed => Err(LinkError::Digest { expected, installed }),
        }
    }

    /// The controller's [`wire::plan_digest`] of its installed plan.
    pub fn plan_digest(&mut self) -> Result<u32, LinkError> {
        match self.request(&Request::PlanDigest)? {
            Reply::PlanDigest(digest) => Ok(digest),
            other => Err(unexpected(other)),
        }
    }

    /// Runs the installed plan.
    pub fn run(&mut self, mode: Mode, inferences: u32) -> Result<RunReport, LinkError> {
        match self.request(&Request::Run { mode, inferences })? {
            Reply::Results(r) => Ok(r),
            other => Err(unexpected(other)),
        }
    }

    /// Sends a request with no acknowledgement semantics checked; for tests of refusals.
    pub fn request(&mut self, request: &Request) -> Result<Reply, LinkError> {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == UNKNOWN_SEQ {
            self.seq = 0;
        }
        let mut frame = [0u8; MAX_FRAME];
        let len = wire::encode(self.seq, request, &mut frame).map_err(|_| LinkError::Capacity {
            what: "frame bytes",
            need: MAX_FRAME as u64 + 1,
            have: MAX_FRAME as u64,
        })?;
        let frame = frame.get(..len).ok_or(LinkError::Capacity {
            what: "frame bytes",
            need: len as u64,
            have: MAX_FRAME as u64,
        })?;
        let mut heard = Heard::default();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                self.stats.retransmissions += 1;
            }
            self.io.write_all(frame).map_err(LinkError::Io)?;
            self.io.flush().map_err(LinkError::Io)?;
            self.stats.frames_sent += 1;
            if let Some(reply) = self.await_reply(&mut heard)? {
                return Ok(reply);
            }
        }
        Err(heard.failure())
    }

    /// Reads until the reply to the current sequence number arrives (`Some`) or the
    /// request must be retransmitted (`None`): the read timed out, the controller could
    /// not read the request, or the attempt's noise or wall-clock limit was reached.
    fn await_reply(&mut self, heard: &mut Heard) -> Result<Option<Reply>, LinkError> {
        let mut byte = [0u8; 1];
        let started = Instant::now();
        // Bytes of this attempt since its start or its last intact frame.
        let mut since_intact = 0u64;
        heard.babbling = false;
        loop {
            match self.io.read(&mut byte) {
                Ok(0) => return Err(LinkError::Io(io::ErrorKind::UnexpectedEof.into())),
                Ok(_) => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LinkError::Io(e)),
            }
            heard.bytes += 1;
            since_intact += 1;
            if since_intact > NOISE_BYTES_PER_ATTEMPT || started.elapsed() > ATTEMPT_WALL_LIMIT {
                heard.babbling = true;
                return Ok(None);
            }
            let frame = match self.reader.push(byte[0]) {
                Pushed::Pending => continue,
                Pushed::Overflow => {
                    self.stats.dropped_replies += 1;
                    heard.last_error = Some(WireError::TooLong);
                    continue;
                }
                Pushed::Frame(frame) => frame,
            };
            let env = match wire::decode::<Reply>(frame) {
                Ok(env) => env,
                Err(e) => {
                    self.stats.dropped_replies += 1;
                    heard.last_error = Some(e);
                    continue;
                }
            };
            since_intact = 0;
            if env.seq == self.seq {
                return match env.body {
                    Reply::Error(ErrorCode::Frame) => Ok(None),
                    Reply::Error(code) => Err(LinkError::Refused(code)),
                    reply => Ok(Some(reply)),
                };
            }
            if env.seq == UNKNOWN_SEQ {
                return match env.body {
                    Reply::Error(ErrorCode::Version(v)) => Err(LinkError::Refused(ErrorCode::Version(v))),
                    // The controller could not read our frame: send it again.
                    _ => Ok(None),
                };
            }
            // A stale reply to an earlier attempt: keep listening.
            self.stats.dropped_replies += 1;
        }
    }

    pub(crate) fn expect_ack(&mut self, request: &Request) -> Result<(), LinkError> {
        match self.request(request)? {
            Reply::Ack => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

/// What one request's attempts heard besides its reply.
#[derive(Default)]
struct Heard {
    /// Bytes read during the request.
    bytes: u64,
    /// Why the last delimited frame could not be read.
    last_error: Option<WireError>,
    /// The latest attempt ended at its noise or wall-clock limit, not in silence.
    babbling: bool,
}

impl Heard {
    /// The error of a request none of whose attempts got a reply.
    fn failure(&self) -> LinkError {
        match (self.babbling, self.last_error) {
            (true, last) => LinkError::Noise {
                bytes: self.bytes,
                last,
            },
            (false, Some(last)) => LinkError::Unreadable { last },
            (false, None) => LinkError::NoReply,
        }
    }
}

pub(crate) fn unexpected(reply: Reply) -> LinkError {
    match reply {
        Reply::Error(code) => LinkError::Refused(code),
        other => LinkError::Unexpected(other),
    }
}

/// Refuses a plan the controller could not hold, before anything is sent.
pub fn check_fits(plan: &Plan, caps: &Capabilities) -> Result<(), LinkError> {
    let need = plan.layers().len() as u64;
    let have = u64::from(caps.max_layers);
    if need > have {
        return Err(LinkError::Capacity {
            what: "layers",
            need,
            have,
        });
    }
    if caps.chunk_layers == 0 || usize::from(caps.max_frame) != MAX_FRAME {
        return Err(LinkError::Capacity {
            what: "frame bytes (the firmware was built with other wire capacities)",
            need: MAX_FRAME as u64,
            have: u64::from(caps.max_frame),
        });
    }
    Ok(())
}
