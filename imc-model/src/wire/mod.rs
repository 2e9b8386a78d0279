//! The wire format between the host and the controller (DESIGN section 6).
//!
//! Every frame is `COBS(postcard(version, seq, body) ++ CRC-32/ISO-HDLC little-endian)`
//! followed by a `0x00` delimiter. The host sends [`Request`]s, the controller answers each
//! with one [`Reply`] carrying the same sequence number; the host retransmits a request
//! (same sequence number) when no valid reply arrives, and the controller answers a repeated
//! sequence number with its cached reply instead of acting twice, and a late one (behind the
//! latest in serial-number order, e.g. a duplicate overtaken by newer requests) with
//! [`ErrorCode::Sequence`] without acting. A [`Request::Hello`] starts the numbering again,
//! so a client opens with one.
//!
//! Capacities ([`MAX_FRAME`], [`CHUNK_LAYERS`], [`crate::runtime::MAX_LAYERS`], ...) are
//! compiled into both sides; the host checks a plan against them before sending it.
//!
//! Invariants: decoding never panics and never trusts a count or an index from the wire
//! (heapless capacities bound every sequence; layer indices are checked by the receiver);
//! a frame with a bad CRC, a bad COBS encoding, trailing bytes or another format version
//! is an error value.

mod digest;
mod frame;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use digest::plan_digest;
pub use frame::{decode, encode, FrameReader, Pushed, WireError};
/// Re-exported so both sides name the same `heapless` version in messages.
pub use heapless;

use crate::runtime::{Mode, PlanError, PlanHeader, PlanLayer, RunError, RunOutcome};
use crate::xbar::net::{NetError, NetLayer, NET_MAX_INPUT};
use crate::ArchParams;

/// Format version carried by every frame; a peer with another version is refused.
/// Bumped whenever a message is added or changes shape or meaning (3: [`Request::PlanDigest`]
/// and [`Reply::PlanDigest`]; 4: a plan's floors also carry the physical model's ingress,
/// egress and input-port floors, DESIGN 9.3), so a host and a firmware built apart refuse
/// each other cleanly instead of answering a new request with a decode error.
pub const FORMAT_VERSION: u16 = 4;
/// Most bytes of an encoded frame, delimiter included.
pub const MAX_FRAME: usize = 320;
/// Most bytes of a frame before COBS (postcard payload and CRC).
pub const MAX_PAYLOAD: usize = MAX_FRAME - 1 - MAX_FRAME / 254 - 1;
/// Plan layers per chunk; a worst-case chunk fits in [`MAX_FRAME`] (tested).
pub const CHUNK_LAYERS: usize = 4;
/// Weights per [`Request::NetWeights`] chunk; a full chunk fits in [`MAX_FRAME`] (tested).
pub const NET_WEIGHTS_CHUNK: usize = 256;
/// Biases per [`Request::NetBiases`] chunk (varints of up to 5 bytes; fits, tested).
pub const NET_BIASES_CHUNK: usize = 48;
/// Longest board name.
pub const BOARD_NAME_BYTES: usize = 24;
/// Sequence number the controller uses when it could not read the request's.
pub const UNKNOWN_SEQ: u16 = u16::MAX;

/// A message from the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Asks for the controller's [`Capabilities`].
    Hello,
    /// Starts a plan upload; discards any unfinished upload (not the installed plan).
    PlanBegin(PlanHeader),
    /// The next layers of the upload, starting at layer index `first_layer`.
    PlanChunk {
        /// Index of the first layer in this chunk; must be the next one expected.
        first_layer: u16,
        /// Up to [`CHUNK_LAYERS`] layers.
        layers: heapless::Vec<PlanLayer, CHUNK_LAYERS>,
    },
    /// Validates the upload and installs it in place of the previous plan.
    PlanCommit,
    /// Runs the installed plan.
    Run {
        /// Layer or row mode.
        mode: Mode,
        /// Inferences in the stream.
        inferences: u32,
    },
    /// Starts a functional network upload; the previous network stops being runnable.
    NetBegin {
        /// Crossbar parameters the functional model runs with (ADC, DAC, cell bits).
        arch: ArchParams,
        /// Layers that follow.
        layers: u8,
    },
    /// The next layer's description (all layers come before any tensor).
    NetLayer(NetLayer),
    /// Weights of all layers, concatenated in layer order, from `offset`.
    NetWeights {
        /// Index of the first weight; must equal the weights received so far.
        offset: u32,
        /// Up to [`NET_WEIGHTS_CHUNK`] weights.
        data: heapless::Vec<i8, NET_WEIGHTS_CHUNK>,
    },
    /// Biases of all layers, concatenated in layer order, from `offset`.
    NetBiases {
        /// Index of the first bias; must equal the biases received so far.
        offset: u32,
        /// Up to [`NET_BIASES_CHUNK`] biases.
        data: heapless::Vec<i32, NET_BIASES_CHUNK>,
    },
    /// Checks the uploaded network and makes it runnable.
    NetCommit,
    /// Classifies one sample: the first layer's input activation codes.
    Classify {
        /// Input codes (quantized by the host to the first layer's `a_bits`).
        input: heapless::Vec<u8, NET_MAX_INPUT>,
    },
    /// Asks for the [`plan_digest`] of the installed plan (after an upload, to confirm it).
    PlanDigest,
}

/// A message from the controller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// Answer to [`Request::Hello`].
    Capabilities(Capabilities),
    /// The request was applied.
    Ack,
    /// The request was refused; the installed plan is unchanged.
    Error(ErrorCode),
    /// Answer to [`Request::Run`].
    Results(RunReport),
    /// Answer to [`Request::Classify`].
    Classified(Classification),
    /// Answer to [`Request::PlanDigest`]: the installed plan's [`plan_digest`].
    PlanDigest(u32),
}

/// The controller's functional result for one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// Index of the largest logit (first on ties).
    pub class: u8,
    /// [`crate::xbar::net::logits_digest`] of the logits.
    pub logits_digest: u32,
    /// What the forward pass cost the controller, in [`Capabilities::counter`] units.
    pub controller_cost: u64,
}

/// What the controller can hold and measure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The board's name.
    pub board: heapless::String<BOARD_NAME_BYTES>,
    /// [`crate::runtime::MAX_LAYERS`] as compiled into the firmware.
    pub max_layers: u16,
    /// [`CHUNK_LAYERS`] as compiled into the firmware.
    pub chunk_layers: u16,
    /// [`MAX_FRAME`] as compiled into the firmware.
    pub max_frame: u16,
    /// [`crate::runtime::MAX_INFERENCES`] as compiled into the firmware.
    pub max_inferences: u32,
    /// What the controller's own counter counts.
    pub counter: CounterKind,
    /// [`crate::xbar::net::NET_MAX_WEIGHTS`] as compiled into the firmware (0: no
    /// functional runs).
    pub net_max_weights: u32,
}

/// Unit of the controller's own cost counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterKind {
    /// CPU clock cycles (a real board's DWT).
    Cycles,
    /// Executed instructions (QEMU with `-icount`), at the counter's resolution.
    Instructions,
    /// Microseconds of a hardware timer.
    Microseconds,
    /// No counter.
    None,
}

/// Why the controller refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// Bad COBS, bad CRC, or longer than [`MAX_FRAME`]: retransmit.
    Frame,
    /// The frame was intact but its body does not decode.
    Decode,
    /// Another format version; carries the controller's.
    Version(u16),
    /// A chunk out of order, or a chunk or commit without an upload in progress.
    Sequence,
    /// The plan (or a layer of it) is invalid.
    Plan(PlanError),
    /// Run requested before any plan was installed.
    NoPlan,
    /// The run request is outside the controller's limits.
    Run(RunError),
    /// A functional upload step or sample was refused; the network is not runnable until
    /// a new upload commits (a refused sample leaves it runnable).
    Net(NetError),
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ErrorCode::Frame => write!(f, "damaged frame (bad COBS or CRC, or too long)"),
            ErrorCode::Decode => write!(f, "the frame's body does not decode"),
            ErrorCode::Version(v) => write!(f, "another wire format version (the controller speaks {v})"),
            ErrorCode::Sequence => write!(f, "an upload chunk or commit out of sequence"),
            ErrorCode::Plan(e) => write!(f, "invalid plan: {e}"),
            ErrorCode::NoPlan => write!(f, "no plan is installed"),
            ErrorCode::Run(e) => write!(f, "run refused: {e}"),
            ErrorCode::Net(e) => write!(f, "functional network refused: {e}"),
        }
    }
}

/// The controller's measurements of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// Mode that was run.
    pub mode: Mode,
    /// Inferences that were run.
    pub inferences: u32,
    /// Simulated accelerator timing and dispatch counts.
    pub outcome: RunOutcome,
    /// Unit of `controller_cost`.
    pub counter: CounterKind,
    /// What the controller itself spent on the run, in `counter` units.
    pub controller_cost: u64,
    /// [`crate::runtime::EventDigest`] of every dispatch event of the run.
    pub event_digest: u32,
}

/// A message with its format version and sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope<T> {
    /// Sequence number; a reply echoes its request's.
    pub seq: u16,
    /// The message.
    pub body: T,
}
