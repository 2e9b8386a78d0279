//! The discrete-event dispatcher of DESIGN section 5, for a stream of inferences.
//!
//! Every replica has a busy-until time; every position of layer `l` of inference `k` goes
//! to the replica that frees first (ties to the lowest index). Positions are dispatched in
//! batches: one [`DispatchEvent`] per replica per batch, which is exact because within a
//! batch all the layer's replicas free at the same time, so one-by-one greedy dispatch
//! deals positions round robin and replica `j` gets `q + (j < rem)` of them.
//!
//! - `layer` mode: layer `l` of inference `k` starts when layer `l-1` of `k` and layer `l`
//!   of `k-1` are done; inference `k` is released at `k * chip_noc_floor`. Layer times are
//!   `max(ceil(P/r) t, noc_floor)`, so the first latency is `L` and every interval is `I`
//!   of the cost model exactly (a flow shop of identical jobs).
//! - `row` mode ([`super::rows`]): a layer's replicas work in lock-step waves of `r`
//!   positions; a wave starts as soon as the input rows it needs exist. Every completion
//!   is at or before its `layer`-mode time.
//!
//! The runtime never reads a clock: all times are simulated accelerator cycles.

use serde::{Deserialize, Serialize};

use super::plan::{Plan, PlanLayer, TileRange};
use super::rows::RowState;
use super::{MAX_INFERENCES, MAX_LAYERS};
use crate::units::Cycles;

/// How finely a layer may overlap its producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Whole layers, DESIGN section 5: reproduces the cost model exactly.
    Layer,
    /// Rows start as soon as the input rows they need exist.
    Row,
}

/// One batch of positions sent to one replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DispatchEvent {
    /// Inference index in the stream.
    pub inference: u32,
    /// Layer index.
    pub layer: u16,
    /// Replica index within the layer.
    pub replica: u32,
    /// Tiles holding the replica.
    pub tiles: TileRange,
    /// Positions in the batch (strided by the replication factor).
    pub positions: u32,
    /// When the replica starts the batch.
    pub start: Cycles,
    /// When the replica is free again.
    pub end: Cycles,
}

/// Receives every dispatch event (a board drives its tiles here; tests check them).
pub trait DispatchSink {
    /// One batch for one replica.
    fn dispatch(&mut self, event: &DispatchEvent);
}

/// Discards events.
pub struct NoSink;

impl DispatchSink for NoSink {
    fn dispatch(&mut self, _event: &DispatchEvent) {}
}

/// Folds every event into a 32-bit FNV-1a-style digest, so two sides can show they dispatched
/// the same batches to the same tiles at the same times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventDigest(pub u32);

impl Default for EventDigest {
    fn default() -> Self {
        EventDigest(0x811c_9dc5)
    }
}

impl DispatchSink for EventDigest {
    fn dispatch(&mut self, e: &DispatchEvent) {
        let words = [
            u64::from(e.inference),
            u64::from(e.layer),
            u64::from(e.replica),
            e.tiles.first,
            e.tiles.last,
            u64::from(e.positions),
            e.start.get(),
            e.end.get(),
        ];
        for word in words {
            // Folded a 32-bit word at a time: cheap enough to run per event on a controller.
            let folded = (word as u32) ^ ((word >> 32) as u32);
            self.0 = (self.0 ^ folded).wrapping_mul(0x0100_0193);
        }
    }
}

/// What a run measured, in accelerator cycles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// Completion of the first inference (released at 0).
    pub latency: Cycles,
    /// Steady-state interval: last completion minus the one before (0 for one inference).
    pub interval: Cycles,
    /// Completion of the last inference.
    pub makespan: Cycles,
    /// Batches dispatched to replicas.
    pub dispatch_events: u64,
    /// Layer executions (layers times inferences).
    pub layer_executions: u64,
}

/// A run request the runtime cannot serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunError {
    /// Inferences outside `1..=MAX_INFERENCES`.
    Inferences,
}

impl core::fmt::Display for RunError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RunError::Inferences => write!(f, "inference count outside 1..={MAX_INFERENCES}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RunError {}

/// Simulates `inferences` inferences of `plan` in `mode`, sending every batch to `sink`.
pub fn run<S: DispatchSink>(plan: &Plan, mode: Mode, inferences: u32, sink: &mut S) -> Result<RunOutcome, RunError> {
    if inferences == 0 || inferences > MAX_INFERENCES {
        return Err(RunError::Inferences);
    }
    let mut runner = Runner {
        plan,
        sink,
        events: 0,
        layer_end: [0; MAX_LAYERS],
    };
    let mut rows = RowState::new();
    let (mut first, mut previous, mut last) = (0, 0, 0);
    let release_step = match mode {
        Mode::Layer => plan.header().chip_noc_floor,
        Mode::Row => plan.bottleneck(),
    };
    for k in 0..inferences {
        let release = u64::from(k).saturating_mul(release_step);
        let done = match mode {
            Mode::Layer => runner.layer_inference(k, release),
            Mode::Row => rows.inference(&mut runner, k, release),
        };
        if k == 0 {
            first = done;
        }
        previous = last;
        last = done;
    }
    let interval = if inferences > 1 {
        last.saturating_sub(previous)
    } else {
        0
    };
    Ok(RunOutcome {
        latency: Cycles(first),
        interval: Cycles(interval),
        makespan: Cycles(last),
        dispatch_events: runner.events,
        layer_executions: u64::from(inferences) * plan.layers().len() as u64,
    })
}

/// State shared by both modes: the plan, the sink, and when each layer last finished.
pub(crate) struct Runner<'a, S> {
    pub(crate) plan: &'a Plan,
    sink: &'a mut S,
    events: u64,
    /// Completion of layer `l` for the previous inference (all its replicas are free then).
    pub(crate) layer_end: [u64; MAX_LAYERS],
}

impl<S: DispatchSink> Runner<'_, S> {
    /// Layer mode, one inference; returns its completion.
    fn layer_inference(&mut self, k: u32, release: u64) -> u64 {
        let plan = self.plan;
        let mut ready = release;
        for ((index, layer), previous_end) in plan.layers().iter().enumerate().zip(self.layer_end.iter_mut()) {
            let start = ready.max(*previous_end);
            let batch_end = dispatch_batch(
                plan,
                self.sink,
                &mut self.events,
                (k, index, layer),
                start,
                layer.positions(),
            );
            let end = batch_end.max(start.saturating_add(layer.noc_floor));
            *previous_end = end;
            ready = end;
        }
        ready
    }

    /// Sends `count` positions of `layer`, all replicas free at `start`; returns when the
    /// last replica finishes.
    pub(crate) fn dispatch(&mut self, k: u32, index: usize, layer: &PlanLayer, start: u64, count: u64) -> u64 {
        dispatch_batch(self.plan, self.sink, &mut self.events, (k, index, layer), start, count)
    }
}

/// Round-robin deal of `count` positions over the layer's replicas, all free at `start`:
/// replica `j` gets `q + (j < rem)` positions, one event each.
fn dispatch_batch<S: DispatchSink>(
    plan: &Plan,
    sink: &mut S,
    events: &mut u64,
    (k, index, layer): (u32, usize, &PlanLayer),
    start: u64,
    count: u64,
) -> u64 {
    let r = u64::from(layer.replication).max(1);
    let (q, rem) = (count / r, count % r);
    let t = u64::from(layer.cycles_per_position);
    let busy = r.min(count);
    let mut end = start;
    let mut tiles = plan.tile_cursor(layer);
    for replica in 0..busy {
        let positions = q + u64::from(replica < rem);
        let replica_end = start.saturating_add(positions.saturating_mul(t));
        // replica < r <= u32::MAX and positions <= P <= 2^32 - 1 by plan validation.
        let replica = u32::try_from(replica).unwrap_or(u32::MAX);
        sink.dispatch(&DispatchEvent {
            inference: k,
            layer: u16::try_from(index).unwrap_or(u16::MAX),
            replica,
            tiles: tiles.tiles(),
            positions: u32::try_from(positions).unwrap_or(u32::MAX),
            start: Cycles(start),
            end: Cycles(replica_end),
        });
        end = end.max(replica_end);
        tiles.advance();
    }
    *events += busy;
    end
}
