//! The multiple-choice knapsack core under every exact solver of the search: one item per
//! layer (a precision and a replication factor with its area, time and drop), exactly one
//! item chosen per layer, the area budget and an optional additive drop budget, and one of
//! three objectives. Replication (`replicate_exact`), the joint MILP and its interval
//! bisection all build `Item`s and call `solve_items`.
//!
//! Invariant: `pareto` keeps every item that could be in an optimum for any objective here
//! (no kept item is beaten on area, time and drop at once by another).

use std::time::Duration;

use good_lp::{
    coin_cbc, constraint, variable, Expression, ProblemVariables, Solution, SolverModel, Variable, WithInitialSolution,
};
use imc_model::Precision;

use crate::replicate::Budget;

use super::problem::SearchError;

/// Slack allowed on an accuracy budget, in percentage points, so that a sum of per-layer
/// drops equal to the budget is not lost to floating-point rounding. The one tolerance every
/// budget check of the search uses.
pub const DROP_TOLERANCE: f64 = 1e-9;

/// `drop` is within the budget `max_drop` (with [`DROP_TOLERANCE`]).
pub fn within_drop_budget(drop: f64, max_drop: f64) -> bool {
    drop <= max_drop + DROP_TOLERANCE
}

/// One choice for one layer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub(crate) precision: Precision,
    pub(crate) replication: u64,
    pub(crate) area: u64,
    pub(crate) time: u64,
    pub(crate) drop: f64,
}

/// What the knapsack minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Minimise {
    /// The sum of the chosen items' times (latency).
    TotalTime,
    /// The largest chosen item's time (pipelined interval).
    MaxTime,
    /// The sum of the chosen items' areas.
    TotalArea,
}

/// Smallest replication of each distinct `ceil(p / r)` level, ascending, up to `r_max`.
pub fn replication_levels(positions: u64, r_max: u64) -> Vec<u64> {
    let r_max = r_max.min(positions);
    let mut levels = Vec::new();
    let mut r = 1;
    while r <= r_max {
        levels.push(r);
        let q = positions.div_ceil(r);
        if q <= 1 {
            break;
        }
        // Smallest r' with ceil(p / r') <= q - 1.
        r = positions.div_ceil(q - 1);
    }
    levels
}

/// Keeps the items of one layer that no other item beats on area, time and drop at once.
pub(crate) fn pareto(items: Vec<Item>) -> Vec<Item> {
    pareto_on(items, |item| item.time)
}

/// Keeps the items of one layer that no other item beats on area and drop at once, time
/// being no concern (a min-area knapsack whose items all meet one interval).
pub(crate) fn pareto_area_drop(items: Vec<Item>) -> Vec<Item> {
    pareto_on(items, |_| 0)
}

/// Pareto filter on area, `time_of` and drop; among equals, the item with the higher
/// precision is kept.
fn pareto_on(mut items: Vec<Item>, time_of: fn(&Item) -> u64) -> Vec<Item> {
    items.sort_by(|a, b| {
        (a.area, time_of(a))
            .cmp(&(b.area, time_of(b)))
            .then(a.drop.total_cmp(&b.drop))
            .then((b.precision.w_bits, b.precision.a_bits).cmp(&(a.precision.w_bits, a.precision.a_bits)))
    });
    let mut kept: Vec<Item> = Vec::new();
    for item in items {
        // Every kept item has area <= item.area (sorted), so dominance needs time and drop.
        if !kept.iter().any(|k| time_of(k) <= time_of(&item) && k.drop <= item.drop) {
            kept.push(item);
        }
    }
    kept
}

/// Builds and solves the model; `None` when no choice fits both budgets.
pub(crate) fn solve_items(
    layers: &[Vec<Item>],
    budget: Budget,
    max_drop: Option<f64>,
    minimise: Minimise,
    time_limit: Duration,
    start: Option<&[usize]>,
) -> Result<Option<(Vec<Item>, bool)>, SearchError> {
    let mut vars = ProblemVariables::new();
    // Each layer's items beside their binaries.
    let x: Vec<Vec<(Item, Variable)>> = layers
        .iter()
        .map(|items| {
            items
                .iter()
                .map(|&item| (item, vars.add(variable().binary())))
                .collect()
        })
        .collect();
    let z = vars.add(variable().min(0.0));
    let weighted = |layer: &[(Item, Variable)], weight: fn(&Item) -> u64| -> Expression {
        let mut e = Expression::from(0.0);
        for (item, v) in layer {
            e.add_mul(weight(item) as f64, *v);
        }
        e
    };
    let time_of = |layer: &[(Item, Variable)]| weighted(layer, |i| i.time);
    let objective: Expression = match minimise {
        Minimise::TotalTime => x.iter().map(|layer| time_of(layer)).sum(),
        Minimise::MaxTime => z.into(),
        Minimise::TotalArea => x.iter().map(|layer| weighted(layer, |i| i.area)).sum(),
    };
    let mut model = vars.minimise(objective).using(coin_cbc);
    model.set_parameter("seconds", &time_limit.as_secs().max(1).to_string());
    model.set_parameter("threads", "1");
    if let Some(start) = start {
        // A known feasible assignment (one item index per layer) as CBC's first incumbent.
        let mut values = Vec::new();
        let mut worst = 0;
        for (layer, &chosen) in x.iter().zip(start) {
            for (i, (item, v)) in layer.iter().enumerate() {
                values.push((*v, if i == chosen { 1.0 } else { 0.0 }));
                if i == chosen {
                    worst = worst.max(item.time);
                }
            }
        }
        if minimise == Minimise::MaxTime {
            values.push((z, worst as f64));
        }
        model = model.with_initial_solution(values);
    }
    let mut area = Expression::from(0.0);
    let mut drop = Expression::from(0.0);
    for layer in &x {
        let one: Expression = layer.iter().map(|(_, v)| *v).sum();
        model = model.with(constraint!(one == 1.0));
        for (item, v) in layer {
            area.add_mul(item.area as f64, *v);
            drop.add_mul(item.drop, *v);
        }
        if minimise == Minimise::MaxTime {
            model = model.with(constraint!(time_of(layer) <= z));
        }
    }
    model = model.with(constraint!(area <= budget.units() as f64));
    if let Some(max_drop) = max_drop {
        model = model.with(constraint!(drop <= max_drop + DROP_TOLERANCE));
    }
    let solution = match model.solve() {
        Ok(s) => s,
        Err(good_lp::ResolutionError::Infeasible) => return Ok(None),
        Err(e) => return Err(SearchError::Solver(e.to_string())),
    };
    let proven_optimal = solution.model().is_proven_optimal();
    let chosen = x
        .iter()
        .map(|layer| {
            layer
                .iter()
                .max_by(|a, b| solution.value(a.1).total_cmp(&solution.value(b.1)))
                .map(|(item, _)| *item)
                .ok_or_else(|| SearchError::Solver("a layer has no choice".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((chosen, proven_optimal)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_levels_are_where_the_quotient_changes() {
        for p in [1u64, 2, 7, 49, 196, 3136] {
            let levels = replication_levels(p, u64::MAX);
            let mut expected = vec![1u64];
            for r in 2..=p {
                if p.div_ceil(r) < p.div_ceil(r - 1) {
                    expected.push(r);
                }
            }
            assert_eq!(levels, expected, "p = {p}");
        }
        assert_eq!(replication_levels(49, 3), vec![1, 2, 3]);
    }
}
