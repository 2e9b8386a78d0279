//! The controller runtime (DESIGN section 5): a validated [`Plan`], tile placement of every
//! replica, and the discrete-event dispatcher that runs a stream of inferences in `layer`
//! or `row` mode.
//!
//! Invariants: no allocation (heapless capacities below, compiled into both the host and
//! the firmware), no clock (times are simulated accelerator cycles), and nothing after
//! [`Plan`] validation can panic or index out of bounds.

pub mod dispatch;
mod events;
pub mod plan;
mod rows;
mod runner;

#[cfg(test)]
mod tests;

pub use dispatch::{run, DispatchEvent, DispatchSink, EventDigest, Mode, NoSink, RunError, RunOutcome};
pub use plan::{model_layer, Plan, PlanBuilder, PlanError, PlanHeader, PlanLayer, TileRange};

/// Most layers a plan may have (resnet50 has 54 mappable layers, mobilenetv2 53).
pub const MAX_LAYERS: usize = 128;
/// Most replicas of one layer.
pub const MAX_REPLICAS: u64 = 1 << 20;
/// Most positions of one layer per inference.
pub const MAX_POSITIONS: u64 = u32::MAX as u64;
/// Longest layer time (and chip floor) accepted, 2^40 cycles (18 minutes at 1 GHz).
pub const MAX_LAYER_CYCLES: u64 = 1 << 40;
/// Most inferences in one run: `MAX_LAYERS * MAX_LAYER_CYCLES * MAX_INFERENCES < 2^63`.
pub const MAX_INFERENCES: u32 = 1 << 15;
/// Most row bands tracked per layer in `row` mode (taller maps are grouped).
pub const MAX_ROW_BANDS: usize = 128;
