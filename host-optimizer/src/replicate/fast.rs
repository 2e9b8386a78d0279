//! Exact fast paths over an [`Instance`]: bisection for the interval, a multiple-choice
//! knapsack DP for the latency.
//!
//! Both return one candidate index per layer. Both are exact over the candidate lists,
//! which lose nothing (see [`super::instance`]); `docs/replication.md` has the proofs.
//!
//! ## Invariants
//! - [`min_interval_choice`] returns the minimum-area choice among those with the smallest
//!   interval; [`min_latency_choice`] the minimum-area choice among those with the smallest
//!   latency. Both choices fit the budget.
//! - The DP refuses (returns `None`) rather than allocate more than [`DP_CELL_LIMIT`] cells.

use super::instance::Instance;

/// Largest DP table (layers x budget steps) the latency fast path will allocate:
/// 4 bytes a cell, so at most 160 MB.
pub const DP_CELL_LIMIT: u64 = 40_000_000;

/// Index of the cheapest candidate of `layer` whose time is at most `target`, if any.
fn cheapest_meeting(inst: &Instance, layer: usize, target: u64) -> Option<usize> {
    let cands = inst.candidates(layer);
    let i = cands.partition_point(|c| c.time.get() > target);
    (i < cands.len()).then_some(i)
}

/// Extra charged area (over the layer's cheapest candidate) needed to meet `target`, or
/// `None` when some layer cannot meet it at all.
fn extra_area_for(inst: &Instance, target: u64) -> Option<u64> {
    let mut extra = 0u64;
    for layer in 0..inst.len() {
        let cands = inst.candidates(layer);
        let i = cheapest_meeting(inst, layer, target)?;
        extra += cands.get(i)?.area - cands.first()?.area;
    }
    Some(extra)
}

/// Smallest interval: bisection on the integer target interval.
///
/// For a target `T`, each layer's cheapest candidate with `T_l <= T` is forced, so the target
/// is reachable iff those areas fit the budget; feasibility is monotone in `T`, and the
/// smallest feasible `T` is a candidate time. The returned choice has the smallest area
/// among choices reaching the optimal interval.
pub fn min_interval_choice(inst: &Instance) -> Vec<usize> {
    let spare = inst.spare();
    let layers = inst.layers();
    // Every layer can reach its last candidate's time; all-ones (the first) always fits.
    let mut lo = inst.fastest_times().max().unwrap_or(0);
    let mut hi = layers
        .iter()
        .filter_map(|c| c.first())
        .map(|c| c.time.get())
        .max()
        .unwrap_or(0);
    if lo < hi && extra_area_for(inst, lo).is_some_and(|e| e <= spare) {
        hi = lo;
    }
    // Invariant: hi feasible; every target below lo infeasible.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if extra_area_for(inst, mid).is_some_and(|e| e <= spare) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    // The chip NoC floor caps what replication can buy; below it, spend no area.
    let target = hi.max(inst.chip_floor().get());
    (0..inst.len())
        .map(|l| cheapest_meeting(inst, l, target).unwrap_or(0))
        .collect()
}

const fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Smallest latency: a multiple-choice knapsack DP over spare crossbars.
///
/// `best[s]` is the smallest latency of the layers so far using at most `s` units of spare
/// area; a unit is the gcd of every candidate's extra area (a whole tile under tile-exclusive
/// placement). Returns `None` when the table would exceed [`DP_CELL_LIMIT`] cells.
pub fn min_latency_choice(inst: &Instance) -> Option<Vec<usize>> {
    let layers = inst.layers();
    // Extra area of each candidate over its layer's cheapest (candidates are sorted by area).
    let extras: Vec<Vec<u64>> = layers
        .iter()
        .map(|cands| {
            let base = cands.first().map_or(0, |c| c.area);
            cands.iter().map(|c| c.area - base).collect()
        })
        .collect();
    let unit = extras.iter().flatten().fold(0, |g, &e| gcd(g, e));
    if unit == 0 {
        // No layer can grow: the only choice is all-ones.
        return Some(vec![0; layers.len()]);
    }
    let useful: u64 = extras.iter().map(|e| e.last().copied().unwrap_or(0)).sum();
    let steps = inst.spare().min(useful) / unit;
    let width = usize::try_from(steps).ok()?.checked_add(1)?;
    if (width as u64).saturating_mul(layers.len() as u64) > DP_CELL_LIMIT {
        return None;
    }
    let mut best = vec![0u64; width];
    let mut next = vec![u64::MAX; width];
    let mut choices = vec![0u32; width * layers.len()];
    for ((cands, extra), chosen) in layers.iter().zip(&extras).zip(choices.chunks_exact_mut(width)) {
        next.fill(u64::MAX);
        for (c, (cand, &e)) in cands.iter().zip(extra).enumerate() {
            let shift = (e / unit) as usize;
            if shift >= width {
                break;
            }
            let time = cand.time.get();
            let index = c as u32; // candidates per layer <= 2^17 (2*sqrt(2^32))
            let targets = next.iter_mut().zip(chosen.iter_mut()).skip(shift);
            for ((dst, ch), &src) in targets.zip(&best) {
                let value = src.saturating_add(time);
                if value < *dst {
                    *dst = value;
                    *ch = index;
                }
            }
        }
        std::mem::swap(&mut best, &mut next);
    }
    // `best` is non-increasing; the first step reaching the optimum uses the least area.
    let optimum = *best.last()?;
    let mut s = best.partition_point(|&v| v > optimum);
    let mut choice = vec![0usize; layers.len()];
    let rows = choices.chunks_exact(width).zip(&extras);
    for (slot, (row, extra)) in choice.iter_mut().zip(rows).rev() {
        let c = *row.get(s)? as usize;
        *slot = c;
        s -= (extra.get(c)? / unit) as usize;
    }
    Some(choice)
}
