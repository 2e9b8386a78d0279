//! What the dispatcher emits: one [`DispatchEvent`] per batch of positions sent to one
//! replica, and the sinks that receive them (a board drives its tiles; tests digest them).

use super::plan::TileRange;
use crate::units::Cycles;

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
