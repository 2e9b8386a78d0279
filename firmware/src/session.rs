//! The controller's session: frames in, plan installed, runs measured, frames out.

use embedded_io::{Read, Write};
use imc_model::runtime::{self, EventDigest, Mode, Plan, PlanBuilder, PlanError, MAX_INFERENCES, MAX_LAYERS};
#[cfg(feature = "functional")]
use imc_model::wire::Classification;
use imc_model::wire::{
    self, Capabilities, CounterKind, Envelope, ErrorCode, FrameReader, Pushed, Reply, Request, RunReport, WireError,
    CHUNK_LAYERS, MAX_FRAME, UNKNOWN_SEQ,
};
#[cfg(feature = "functional")]
use imc_model::xbar::net::{NetError, NetScratch, NetStore, NET_MAX_WEIGHTS};

/// Sequence numbers up to this far behind the latest request are late duplicates (serial
/// number arithmetic: half the `u16` space behind, half ahead).
const LATE_WINDOW: u16 = 0x8000;

/// The controller's own clock, read around a run to report what the run cost it.
pub trait CycleCounter {
    /// Unit of [`CycleCounter::now`].
    const KIND: CounterKind;
    /// A monotonically increasing count.
    fn now(&mut self) -> u64;
}

/// A board without a usable counter.
pub struct NoCounter;

impl CycleCounter for NoCounter {
    const KIND: CounterKind = CounterKind::None;
    fn now(&mut self) -> u64 {
        0
    }
}

/// Session state. See the crate invariants.
pub struct Session {
    board: &'static str,
    installed: Option<Plan>,
    upload: Option<PlanBuilder>,
    /// The functional network (weights and biases, about 41 KiB).
    #[cfg(feature = "functional")]
    net: NetStore,
    /// Buffers of a functional forward pass (about 10 KiB).
    #[cfg(feature = "functional")]
    net_scratch: NetScratch,
    last_seq: Option<u16>,
    last_reply: [u8; MAX_FRAME],
    last_len: usize,
    /// Error replies to unreadable frames; kept apart so the cached reply survives them.
    error_reply: [u8; MAX_FRAME],
}

impl Session {
    /// A session with no plan installed.
    pub const fn new(board: &'static str) -> Session {
        Session {
            board,
            installed: None,
            upload: None,
            #[cfg(feature = "functional")]
            net: NetStore::new(),
            #[cfg(feature = "functional")]
            net_scratch: NetScratch::new(),
            last_seq: None,
            last_reply: [0; MAX_FRAME],
            last_len: 0,
            error_reply: [0; MAX_FRAME],
        }
    }

    /// The installed plan, if any.
    pub fn plan(&self) -> Option<&Plan> {
        self.installed.as_ref()
    }

    /// Serves the link until it reports end of input (`read` returns 0).
    pub fn serve<L: Read + Write, C: CycleCounter>(&mut self, link: &mut L, counter: &mut C) -> Result<(), L::Error> {
        let mut reader = FrameReader::new();
        let mut chunk = [0u8; 64];
        loop {
            let n = link.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            for &byte in chunk.get(..n).unwrap_or(&[]) {
                let reply = match reader.push(byte) {
                    Pushed::Pending => continue,
                    Pushed::Overflow => self.reply_uncached(UNKNOWN_SEQ, ErrorCode::Frame),
                    Pushed::Frame(frame) => self.handle_frame(frame, counter),
                };
                link.write_all(reply)?;
                link.flush()?;
            }
        }
    }

    /// Handles one frame (without delimiter) and returns the reply frame.
    pub fn handle_frame<C: CycleCounter>(&mut self, frame: &[u8], counter: &mut C) -> &[u8] {
        let Envelope { seq, body } = match wire::decode::<Request>(frame) {
            Ok(envelope) => envelope,
            Err(e) => {
                let (seq, code) = match e {
                    WireError::Version(_) => (UNKNOWN_SEQ, ErrorCode::Version(wire::FORMAT_VERSION)),
                    WireError::Body(seq) => (seq, ErrorCode::Decode),
                    _ => (UNKNOWN_SEQ, ErrorCode::Frame),
                };
                crate::log!("bad frame");
                return self.reply_uncached(seq, code);
            }
        };
        // A hello is always answered afresh and starts the numbering again (a new client
        // counts from its hello). Any other request repeats the latest (cached reply), is
        // late (behind it: a duplicate delivered after newer requests, refused without
        // being applied) or is new.
        if body != Request::Hello {
            if let Some(last) = self.last_seq {
                let behind = last.wrapping_sub(seq);
                if behind == 0 && self.last_len > 0 {
                    crate::log!("repeated seq {=u16}: cached reply", seq);
                    return self.last_reply.get(..self.last_len).unwrap_or(&[]);
                }
                if behind != 0 && behind < LATE_WINDOW {
                    crate::log!("late seq {=u16}: refused", seq);
                    return self.reply_uncached(seq, ErrorCode::Sequence);
                }
            }
        }
        let reply = self.apply(body, counter);
        self.last_len = encode_or_error(seq, &reply, &mut self.last_reply);
        self.last_seq = Some(seq);
        self.last_reply.get(..self.last_len).unwrap_or(&[])
    }

    fn reply_uncached(&mut self, seq: u16, code: ErrorCode) -> &[u8] {
        let len = encode_or_error(seq, &Reply::Error(code), &mut self.error_reply);
        self.error_reply.get(..len).unwrap_or(&[])
    }

    fn apply<C: CycleCounter>(&mut self, request: Request, counter: &mut C) -> Reply {
        match request {
            Request::Hello => Reply::Capabilities(self.capabilities::<C>()),
            Request::PlanBegin(header) => match PlanBuilder::new(header) {
                Ok(builder) => {
                    crate::log!("upload of {=u16} layers", header.layer_count);
                    self.upload = Some(builder);
                    Reply::Ack
                }
                Err(e) => self.refuse_upload(e),
            },
            Request::PlanChunk { first_layer, layers } => {
                let Some(builder) = self.upload.as_mut() else {
                    return Reply::Error(ErrorCode::Sequence);
                };
                if usize::from(first_layer) != builder.len() {
                    return Reply::Error(ErrorCode::Sequence);
                }
                for layer in layers {
                    if let Err(e) = builder.push(layer) {
                        return self.refuse_upload(e);
                    }
                }
                Reply::Ack
            }
            Request::PlanCommit => match self.upload.take().map(PlanBuilder::finish) {
                None => Reply::Error(ErrorCode::Sequence),
                Some(Err(e)) => Reply::Error(ErrorCode::Plan(e)),
                Some(Ok(plan)) => {
                    crate::log!("plan installed: {=usize} layers", plan.layers().len());
                    self.installed = Some(plan);
                    Reply::Ack
                }
            },
            Request::Run { mode, inferences } => self.run(mode, inferences, counter),
            Request::PlanDigest => match self.installed.as_ref() {
                Some(plan) => Reply::PlanDigest(wire::plan_digest(plan)),
                None => Reply::Error(ErrorCode::NoPlan),
            },
            #[cfg(feature = "functional")]
            Request::NetBegin { .. }
            | Request::NetLayer(_)
            | Request::NetWeights { .. }
            | Request::NetBiases { .. }
            | Request::NetCommit
            | Request::Classify { .. } => self.functional(request, counter),
            // Built without the functional store: its capacity is 0 in the capabilities,
            // so a host never sends these; a stray one is out of sequence.
            #[cfg(not(feature = "functional"))]
            Request::NetBegin { .. }
            | Request::NetLayer(_)
            | Request::NetWeights { .. }
            | Request::NetBiases { .. }
            | Request::NetCommit
            | Request::Classify { .. } => Reply::Error(ErrorCode::Sequence),
        }
    }

    #[cfg(feature = "functional")]
    fn functional<C: CycleCounter>(&mut self, request: Request, counter: &mut C) -> Reply {
        match request {
            Request::NetBegin { arch, layers } => net_reply(self.net.begin(arch, layers)),
            Request::NetLayer(layer) => net_reply(self.net.push_layer(layer)),
            Request::NetWeights { offset, data } => net_reply(self.net.push_weights(offset, &data)),
            Request::NetBiases { offset, data } => net_reply(self.net.push_biases(offset, &data)),
            Request::NetCommit => net_reply(self.net.commit()),
            Request::Classify { input } => {
                let before = counter.now();
                let result = self.net.classify(&input, &mut self.net_scratch);
                let controller_cost = counter.now().wrapping_sub(before);
                match result {
                    Ok((class, logits_digest)) => Reply::Classified(Classification {
                        class,
                        logits_digest,
                        controller_cost,
                    }),
                    Err(e) => Reply::Error(ErrorCode::Net(e)),
                }
            }
            _ => Reply::Error(ErrorCode::Sequence),
        }
    }

    fn refuse_upload(&mut self, e: PlanError) -> Reply {
        self.upload = None;
        Reply::Error(ErrorCode::Plan(e))
    }

    fn capabilities<C: CycleCounter>(&self) -> Capabilities {
        let mut board = imc_model::wire::heapless::String::new();
        for c in self.board.chars() {
            if board.push(c).is_err() {
                break;
            }
        }
        Capabilities {
            board,
            max_layers: MAX_LAYERS as u16,
            chunk_layers: CHUNK_LAYERS as u16,
            max_frame: MAX_FRAME as u16,
            max_inferences: MAX_INFERENCES,
            counter: C::KIND,
            #[cfg(feature = "functional")]
            net_max_weights: NET_MAX_WEIGHTS as u32,
            #[cfg(not(feature = "functional"))]
            net_max_weights: 0,
        }
    }

    fn run<C: CycleCounter>(&mut self, mode: Mode, inferences: u32, counter: &mut C) -> Reply {
        let Some(plan) = self.installed.as_ref() else {
            return Reply::Error(ErrorCode::NoPlan);
        };
        let mut digest = EventDigest::default();
        let before = counter.now();
        let outcome = runtime::run(plan, mode, inferences, &mut digest);
        let controller_cost = counter.now().wrapping_sub(before);
        match outcome {
            Ok(outcome) => {
                crate::log!(
                    "run done: {=u64} dispatch events, cost {=u64}",
                    outcome.dispatch_events,
                    controller_cost
                );
                Reply::Results(RunReport {
                    mode,
                    inferences,
                    outcome,
                    counter: C::KIND,
                    controller_cost,
                    event_digest: digest.0,
                })
            }
            Err(e) => Reply::Error(ErrorCode::Run(e)),
        }
    }
}

#[cfg(feature = "functional")]
fn net_reply(result: Result<(), NetError>) -> Reply {
    match result {
        Ok(()) => Reply::Ack,
        Err(e) => Reply::Error(ErrorCode::Net(e)),
    }
}

/// Encodes a reply; every reply fits a frame (tested in `imc-model`), so the fallback, an
/// empty reply the host times out on and retransmits, is never expected.
fn encode_or_error(seq: u16, reply: &Reply, out: &mut [u8; MAX_FRAME]) -> usize {
    wire::encode(seq, reply, out).unwrap_or(0)
}
