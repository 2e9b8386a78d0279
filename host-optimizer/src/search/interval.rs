//! The throughput case of the joint MILP, solved by bisection on the interval.
//!
//! The optimal interval `I* = max_l T_l` is one of the items' times. For a candidate `I`
//! every layer keeps its items with `T <= I`, and the question "does some choice fit the area
//! and the accuracy budget?" is a two-resource multiple-choice knapsack (minimise area under
//! the drop budget), a far smaller model than the joint one. The smallest feasible candidate
//! is `I*`, and the knapsack's answer there is an optimal mapping.
//!
//! Invariant: `proven` is true only when every knapsack CBC answered was proven (a feasible
//! answer is always checked against both budgets before it is believed).

use std::time::Duration;

use crate::replicate::Budget;

use super::knapsack::{pareto_area_drop, solve_items, within_drop_budget, Item, Minimise};
use super::problem::SearchError;

/// Smallest-interval mapping over `layers` (items per layer), and whether it is proven.
pub(super) fn bisect_interval(
    layers: &[Vec<Item>],
    budget: Budget,
    max_drop: f64,
    time_limit: Duration,
) -> Result<Option<(Vec<Item>, bool)>, SearchError> {
    let mut times: Vec<u64> = layers.iter().flatten().map(|i| i.time).collect();
    times.sort_unstable();
    times.dedup();
    // No interval below the slowest layer's fastest item.
    let floor = layers
        .iter()
        .map(|items| items.iter().map(|i| i.time).min().unwrap_or(0))
        .max()
        .unwrap_or(0);
    let times: Vec<u64> = times.into_iter().filter(|&t| t >= floor).collect();
    let per_solve = (time_limit / 8).max(Duration::from_secs(1));
    let mut proven = true;
    let mut feasible_at = |interval: u64| -> Result<Option<Vec<Item>>, SearchError> {
        let mut knapsack = Vec::with_capacity(layers.len());
        for items in layers {
            let fits: Vec<Item> = items.iter().filter(|i| i.time <= interval).copied().collect();
            if fits.is_empty() {
                return Ok(None);
            }
            knapsack.push(pareto_area_drop(fits));
        }
        let min_area: u64 = knapsack
            .iter()
            .map(|o| o.iter().map(|i| i.area).min().unwrap_or(0))
            .sum();
        let min_drop: f64 = knapsack
            .iter()
            .map(|o| o.iter().map(|i| i.drop).fold(f64::INFINITY, f64::min))
            .sum();
        if min_area > budget.units() || !within_drop_budget(min_drop, max_drop) {
            return Ok(None);
        }
        let Some((chosen, solved_proven)) =
            solve_items(&knapsack, budget, Some(max_drop), Minimise::TotalArea, per_solve, None)?
        else {
            return Ok(None);
        };
        let area: u64 = chosen.iter().map(|i| i.area).sum();
        let drop: f64 = chosen.iter().map(|i| i.drop).sum();
        if area <= budget.units() && within_drop_budget(drop, max_drop) {
            Ok(Some(chosen))
        } else {
            proven &= solved_proven;
            Ok(None)
        }
    };
    let (mut lo, mut hi) = (0usize, times.len());
    let mut best: Option<Vec<Item>> = None;
    // Invariant: every candidate below `lo` is infeasible, `best` is feasible at `times[hi]`.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let Some(&interval) = times.get(mid) else {
            break;
        };
        match feasible_at(interval)? {
            Some(chosen) => {
                best = Some(chosen);
                hi = mid;
            }
            None => lo = mid + 1,
        }
    }
    Ok(best.map(|chosen| (chosen, proven)))
}
