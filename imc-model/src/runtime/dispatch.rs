//! The discrete-event dispatcher of DESIGN section 5, for a stream of inferences.
//!
//! Every replica has a busy-until time; every position of layer `l` of inference `k` goes
//! to the replica that frees first (ties to the lowest index). Positions are dispatched in
//! batches: one [`DispatchEvent`] per replica per batch, which is exact because within a
//! batch all the layer's replicas free at the same time, so one-by-one greedy dispatch
//! deals positions round robin and replica `j` gets `q + (j < rem)` of them.
//!
//! - `layer` mode: layer `l` of inference `k` starts when layer `l-1` of `k` and layer `l`
//!   of `k-1` are done; inference `k` is released at `k * chip_floor_cycles`. Layer times are
//!   `max(ceil(P/r) t, floor_cycles)`, so the first latency is `L` and every interval is `I`
//!   of the cost model exactly (a flow shop of identical jobs).
//! - `row` mode (module `rows`): a layer's replicas work in lock-step waves of `r`
//!   positions; a wave starts as soon as the input rows it needs exist. Every completion
//!   is at or before its `layer`-mode time.
//!
//! The runtime never reads a clock: all times are simulated accelerator cycles.

use serde::{Deserialize, Serialize};

pub use super::events::{DispatchEvent, DispatchSink, EventDigest, NoSink};
use super::plan::Plan;
use super::rows::RowState;
use super::runner::Runner;
use super::MAX_INFERENCES;
use crate::units::Cycles;

/// How finely a layer may overlap its producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Whole layers, DESIGN section 5: reproduces the cost model exactly.
    Layer,
    /// Rows start as soon as the input rows they need exist.
    Row,
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
    let mut runner = Runner::new(plan, sink);
    let mut rows = RowState::new();
    let (mut first, mut previous, mut last) = (0, 0, 0);
    let release_step = match mode {
        Mode::Layer => plan.header().chip_floor_cycles,
        Mode::Row => plan.bottleneck().get(),
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
        latency: Cycles::new(first),
        interval: Cycles::new(interval),
        makespan: Cycles::new(last),
        dispatch_events: runner.events,
        layer_executions: u64::from(inferences) * plan.layers().len() as u64,
    })
}
