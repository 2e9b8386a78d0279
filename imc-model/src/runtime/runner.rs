//! The dispatch core both modes share: the plan, the sink, when each layer last finished,
//! and the round-robin deal of a batch of positions over a layer's replicas.

use super::events::{DispatchEvent, DispatchSink};
use super::plan::{Plan, PlanLayer};
use super::MAX_LAYERS;
use crate::units::Cycles;

/// State shared by both modes: the plan, the sink, and when each layer last finished.
pub(crate) struct Runner<'a, S> {
    pub(crate) plan: &'a Plan,
    sink: &'a mut S,
    pub(crate) events: u64,
    /// Completion of layer `l` for the previous inference (all its replicas are free then).
    pub(crate) layer_end: [u64; MAX_LAYERS],
}

impl<'a, S: DispatchSink> Runner<'a, S> {
    /// A runner with every layer free at cycle 0.
    pub(crate) fn new(plan: &'a Plan, sink: &'a mut S) -> Self {
        Runner {
            plan,
            sink,
            events: 0,
            layer_end: [0; MAX_LAYERS],
        }
    }

    /// Layer mode, one inference; returns its completion.
    pub(crate) fn layer_inference(&mut self, k: u32, release: u64) -> u64 {
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
            let end = batch_end.max(start.saturating_add(layer.floor_cycles));
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
            start: Cycles::new(start),
            end: Cycles::new(replica_end),
        });
        end = end.max(replica_end);
        tiles.advance();
    }
    *events += busy;
    end
}
