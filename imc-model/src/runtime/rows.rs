//! `row` mode of the dispatcher: a layer starts work as soon as the input rows it needs exist.
//!
//! Model (documented in docs/firmware.md): a layer's `r` replicas work in lock-step waves of
//! `r` consecutive positions (row-major), each wave taking `t` cycles. A wave belongs to the
//! output row of its last position; it starts when the previous wave of the layer is done
//! and the producer rows that output row needs are done. Output row `y` of a convolution
//! needs input rows up to `min(in_h - 1, y * s + k_h - 1 - (k_h - 1) / 2)` with stride
//! `s = max(1, in_h / out_h)`; those map onto the producer's output rows proportionally when
//! a pooling stage sits between. A fully-connected layer needs all producer rows. Tall maps
//! are grouped into at most [`MAX_ROW_BANDS`] bands of equal height (coarser, never earlier).
//! A layer bound by its NoC floor reports every row done at the layer's end.
//!
//! Waves run back to back: an as-soon-as-possible pass finds the earliest finish, and the
//! waves are dispatched contiguously ending then. Inferences are admitted at the plan's
//! bottleneck period (`max_l T_l`, at least the chip floor): the bottleneck's replicas are
//! busy that long per inference, so admitting faster only queues. With contiguous waves
//! every layer holds its replicas at most one period, so inference `k` runs exactly like
//! inference 0 shifted by `k` periods: the interval is the bottleneck period.
//!
//! Invariant: every time here is at or before the corresponding `layer`-mode time, because
//! every wave starts no later than the layer-mode start plus the waves before it.

use super::events::DispatchSink;
use super::plan::PlanLayer;
use super::runner::Runner;
use super::MAX_ROW_BANDS;

/// Band completion times of the producer and the current layer.
pub(crate) struct RowState {
    producer: [u64; MAX_ROW_BANDS],
    current: [u64; MAX_ROW_BANDS],
}

/// How a layer's output rows are grouped into bands.
#[derive(Clone, Copy)]
struct Bands {
    rows: u64,
    height: u64,
    count: u64,
}

impl Bands {
    fn of(layer: &PlanLayer) -> Bands {
        let rows = u64::from(layer.out_h).max(1);
        let height = rows.div_ceil(MAX_ROW_BANDS as u64);
        Bands {
            rows,
            height,
            count: rows.div_ceil(height),
        }
    }
    /// Band holding `row`, clamped to the table.
    fn band_of(&self, row: u64) -> usize {
        usize::try_from(row / self.height)
            .unwrap_or(usize::MAX)
            .min(MAX_ROW_BANDS - 1)
    }
}

/// Last producer row (in the producer's output rows) that output row `row` of `layer` needs.
fn needed_producer_row(layer: &PlanLayer, row: u64, producer: Bands) -> u64 {
    let last = producer.rows - 1;
    if layer.fully_connected {
        return last;
    }
    let in_h = u64::from(layer.in_h).max(1);
    let stride = (in_h / u64::from(layer.out_h).max(1)).max(1);
    let kernel = u64::from(layer.kernel_h).max(1);
    let reach = row.saturating_mul(stride).saturating_add(kernel - 1 - (kernel - 1) / 2);
    let last_input = reach.min(in_h - 1);
    let scaled = (last_input + 1).saturating_mul(producer.rows).div_ceil(in_h);
    scaled.saturating_sub(1).min(last)
}

/// One group of waves: the waves whose last position lies in `band`.
#[derive(Clone, Copy)]
struct Group {
    band: usize,
    last_row: u64,
    waves: u64,
    positions: u64,
}

/// The non-empty wave groups of a layer, in order.
fn groups(layer: &PlanLayer, bands: Bands) -> impl Iterator<Item = Group> {
    let width = u64::from(layer.out_w);
    let positions = layer.positions();
    let r = u64::from(layer.replication).max(1);
    let waves_total = positions.div_ceil(r);
    let mut waves_done = 0u64;
    (0..bands.count).filter_map(move |band| {
        let last_row = ((band + 1) * bands.height).min(bands.rows) - 1;
        let end_position = (last_row + 1) * width;
        let through = if end_position >= positions {
            waves_total
        } else {
            end_position / r
        };
        if through <= waves_done {
            return None;
        }
        let group = Group {
            band: usize::try_from(band)
                .unwrap_or(MAX_ROW_BANDS - 1)
                .min(MAX_ROW_BANDS - 1),
            last_row,
            waves: through - waves_done,
            positions: (through * r).min(positions) - waves_done * r,
        };
        waves_done = through;
        Some(group)
    })
}

impl RowState {
    pub(crate) fn new() -> RowState {
        RowState {
            producer: [0; MAX_ROW_BANDS],
            current: [0; MAX_ROW_BANDS],
        }
    }

    /// When the producer rows that `group` of `layer` needs are done.
    fn ready(&self, layer: &PlanLayer, group: Group, producer: Option<Bands>, release: u64) -> u64 {
        match producer {
            None => release,
            Some(p) => {
                let needed = needed_producer_row(layer, group.last_row, p);
                self.producer.get(p.band_of(needed)).copied().unwrap_or(u64::MAX)
            }
        }
    }

    /// Row mode, one inference released at `release`; returns its completion.
    ///
    /// Per layer, an as-soon-as-possible pass finds when the waves can finish; the waves are
    /// then dispatched back to back, ending then (as late a start as keeps that finish), so a
    /// layer holds its replicas for exactly its compute time and the stream stays periodic.
    pub(crate) fn inference<S: DispatchSink>(&mut self, runner: &mut Runner<'_, S>, k: u32, release: u64) -> u64 {
        let plan = runner.plan;
        let mut producer: Option<Bands> = None;
        let mut done = release;
        for (index, layer) in plan.layers().iter().enumerate() {
            let bands = Bands::of(layer);
            let t = u64::from(layer.cycles_per_position);
            let free = runner.layer_end.get(index).copied().unwrap_or(0);
            let (mut finish, mut first_start) = (free, None);
            for group in groups(layer, bands) {
                let start = finish.max(self.ready(layer, group, producer, release));
                first_start.get_or_insert(start);
                finish = start.saturating_add(group.waves.saturating_mul(t));
            }
            let compute = layer
                .positions()
                .div_ceil(u64::from(layer.replication).max(1))
                .saturating_mul(t);
            let mut cursor = finish.saturating_sub(compute);
            let mut pending = 0usize;
            for group in groups(layer, bands) {
                let start = cursor;
                cursor = runner.dispatch(k, index, layer, start, group.positions);
                if let Some(waiting) = self.current.get_mut(pending..group.band) {
                    waiting.fill(start.saturating_add(t));
                }
                if let Some(slot) = self.current.get_mut(group.band) {
                    *slot = cursor;
                }
                pending = group.band + 1;
            }
            let end = cursor.max(first_start.unwrap_or(cursor).saturating_add(layer.floor_cycles));
            if end > cursor {
                self.current.fill(end);
            }
            if let Some(slot) = runner.layer_end.get_mut(index) {
                *slot = end;
            }
            core::mem::swap(&mut self.producer, &mut self.current);
            producer = Some(bands);
            done = end;
        }
        done
    }
}
