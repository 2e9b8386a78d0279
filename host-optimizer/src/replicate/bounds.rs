//! Provable lower bounds on the interval and the latency of any feasible replication.
//!
//! ## Invariants
//! - Every value here is at most the optimum of the corresponding objective over all
//!   feasible replications (proofs in `docs/replication.md`); tests check them against the
//!   exact fast paths.

use imc_model::{Cycles, LayerCost};

use super::instance::Instance;

/// Perfect-balance bound `sum_l P_l * X_l * t_l / B` on the interval (cycles, real), with
/// `B` the budget in crossbars: `budget_xbars` crossbars, or under the physical model
/// `budget_imas * xbars_per_ima` (an IMA holds at most that many crossbars of one layer, and
/// the floors only add time).
pub fn balance_bound(costs: &[LayerCost], budget_xbars: u64) -> f64 {
    let work: f64 = costs
        .iter()
        .map(|c| c.positions as f64 * c.xbars.get() as f64 * c.cycles_per_position.get() as f64)
        .sum();
    work / budget_xbars.max(1) as f64
}

/// Smallest integer `I` with `sum_l X_l * max(1, P_l t_l / I) <= budget`: the balance bound
/// with the `r_l >= 1` floor kept (never below `ceil` of the plain balance bound).
fn water_filling_bound(costs: &[LayerCost], budget: u64) -> u64 {
    let work = |c: &LayerCost| u128::from(c.positions) * u128::from(c.cycles_per_position.get());
    let fits = |interval: u64| {
        let i = u128::from(interval);
        let mut needed = 0u128; // area * interval
        for c in costs {
            needed += u128::from(c.xbars.get()) * work(c).max(i);
        }
        needed <= u128::from(budget) * i
    };
    let mut hi = costs.iter().map(work).max().unwrap_or(0).min(u128::from(u64::MAX)) as u64;
    if !fits(hi) {
        // Only when even all-ones does not fit, which an Instance rules out.
        return hi;
    }
    let mut lo = 0u64;
    // Invariant: hi fits, lo does not (0 never does for a non-empty network).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The tightest interval bound proven here: the water-filling balance bound, each layer's
/// time at its largest affordable replication, and the chip NoC floor.
pub fn interval_floor(inst: &Instance, costs: &[LayerCost]) -> Cycles {
    let per_layer = inst.fastest_times().max().unwrap_or(0);
    let budget_xbars = inst.budget().units().saturating_mul(inst.xbars_per_unit());
    let balance = water_filling_bound(costs, budget_xbars);
    Cycles::new(balance.max(per_layer).max(inst.chip_floor().get()))
}

/// Latency bound: every layer at its largest affordable replication at once.
pub fn latency_floor(inst: &Instance) -> Cycles {
    Cycles::new(inst.fastest_times().sum())
}
