//! The area/time trade-off of one layer under the physical model: the replications that an
//! exact solver needs to consider.
//!
//! `T_l(r)` is not monotone in `r` and the candidate set is not an interval (see
//! [`super::floors::candidate`]), so a solver cannot bisect on `r`. What it needs is the
//! Pareto frontier of `(imas_l, T_l)` over the candidates: every other replication is
//! dominated (as many IMAs or more, as slow or slower) by a point of the frontier.

use super::floors::{layer_timing, Candidate, LayerTiming, PhysLayer};
use super::params::PhysicalConfig;
use super::PhysicalError;
use crate::arch::ArchConfig;
use crate::cost::xbars_per_replica;

/// Iterator over the Pareto frontier of one layer's replications, in increasing `r`.
///
/// Yields `(r, candidate)` with strictly increasing `imas` and strictly decreasing `time`;
/// for each frontier `(imas, time)` the smallest `r` that reaches it. Every candidate `r'` in
/// `1..=max_replication` is dominated by a yielded point (`imas <= imas(r')`,
/// `time <= T(r')`). An error (overflow) is yielded once and ends it.
///
/// Cost: every `r < H_out` is evaluated (strips change with each). From `r = H_out` on the
/// strips, hence `Din_l`, are fixed, so between two changes of `ceil(P/r)` or of `tiles_l`
/// nothing but `imas_l` changes (candidacy, ingress and egress are constant, compute too):
/// the smallest `r` of such a run dominates the rest of it, and only run starts are
/// evaluated; where compute binds, more tiles cannot help before `ceil(P/r)` falls, so tile
/// changes are skipped too. About `H_out + 2 sqrt(P)` (+ tile changes where a floor binds)
/// evaluations instead of `P`.
/// (Checked against brute force: tests `frontier_dominates_every_candidate` and
/// `frontier_equals_brute_force_on_real_layers`.)
#[derive(Clone, Debug)]
pub struct Frontier<'a> {
    arch: &'a ArchConfig,
    phys: &'a PhysicalConfig,
    layer: &'a PhysLayer,
    next_r: u64,
    last_r: u64,
    xbars: Option<u64>,
    best: Option<Candidate>,
    pending: Option<(u64, Candidate)>,
    merge_equal_imas: bool,
    done: bool,
}

/// The Pareto frontier of `layer`'s replications `1..=min(max_replication, P_l)`.
pub fn frontier<'a>(
    arch: &'a ArchConfig,
    phys: &'a PhysicalConfig,
    layer: &'a PhysLayer,
    max_replication: u64,
) -> Frontier<'a> {
    Frontier {
        arch,
        phys,
        layer,
        next_r: 1,
        last_r: max_replication.min(layer.shape.positions()),
        xbars: None,
        best: None,
        pending: None,
        merge_equal_imas: true,
        done: false,
    }
}

/// Every *record* of `layer`'s replications `1..=min(max_replication, P_l)`: each `r` whose
/// time is below that of every smaller feasible `r`, in increasing `r` (so time falls
/// strictly while IMAs, strips and ingress bits never fall).
///
/// The smallest `r` meeting a time target is always a record, and it is the one with the
/// fewest IMAs *and* the least ingress (halo) energy among those meeting it; the
/// [`frontier`] keeps only the fastest record of each IMA count, which is what area and time
/// need but not energy. Same skipping and cost as [`frontier`].
pub fn records<'a>(
    arch: &'a ArchConfig,
    phys: &'a PhysicalConfig,
    layer: &'a PhysLayer,
    max_replication: u64,
) -> Frontier<'a> {
    Frontier {
        merge_equal_imas: false,
        ..frontier(arch, phys, layer, max_replication)
    }
}

impl Frontier<'_> {
    /// The next `r` that can start a new run (see the type's docs).
    fn next_interesting(&mut self, r: u64, timing: Option<&LayerTiming>) -> Result<u64, PhysicalError> {
        let step = r.saturating_add(1);
        let shape = &self.layer.shape;
        if r < u64::from(shape.dims().out_h) {
            return Ok(step);
        }
        let x = match self.xbars {
            Some(x) => x,
            None => {
                let x = xbars_per_replica(self.arch, shape, self.layer.precision.w_bits)?.get();
                self.xbars = Some(x);
                x
            }
        };
        let p = shape.positions();
        // ceil(P/r') < q = ceil(P/r) first at r' = ceil(P / (q - 1)).
        let q = p.div_ceil(r);
        let compute_break = match q.checked_sub(1) {
            Some(q1) if q1 > 0 => p.div_ceil(q1),
            _ => u64::MAX,
        };
        // tiles_l(r') > tiles_l(r) first at r' = floor(tiles * imas_per_tile * xbars_per_ima / X) + 1.
        let per_tile = u128::from(self.phys.imas_per_tile()) * u128::from(self.phys.xbars_per_ima());
        let imas = (u128::from(r) * u128::from(x)).div_ceil(u128::from(self.phys.xbars_per_ima()));
        let tiles = imas.div_ceil(u128::from(self.phys.imas_per_tile()));
        let tile_break = (tiles * per_tile)
            .checked_div(u128::from(x))
            .map_or(u64::MAX, |v| u64::try_from(v).unwrap_or(u64::MAX).saturating_add(1));
        // Compute binds at a candidate r: more tiles cannot go below it before the next break.
        let compute_bound = timing.is_some_and(|t| t.time == t.compute_cycles);
        let next = if compute_bound {
            compute_break
        } else {
            compute_break.min(tile_break)
        };
        Ok(next.max(step))
    }
}

impl Iterator for Frontier<'_> {
    type Item = Result<(u64, Candidate), PhysicalError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        while self.next_r <= self.last_r {
            let r = self.next_r;
            let timing = match layer_timing(self.arch, self.phys, self.layer, 0, r) {
                Ok(t) => Some(t),
                Err(PhysicalError::Buffer { .. }) => None,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.next_r = match self.next_interesting(r, timing.as_ref()) {
                Ok(next) => next,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            let Some(t) = timing else {
                continue;
            };
            let c = Candidate {
                imas: t.imas,
                time: t.time,
            };
            if self.best.is_some_and(|b| c.time >= b.time) {
                continue;
            }
            self.best = Some(c);
            if !self.merge_equal_imas {
                return Some(Ok((r, c)));
            }
            match self.pending.replace((r, c)) {
                // Same IMAs and faster: the new point replaces the pending one.
                Some((_, p)) if p.imas == c.imas => continue,
                Some(p) => return Some(Ok(p)),
                None => continue,
            }
        }
        self.done = true;
        self.pending.take().map(Ok)
    }
}
