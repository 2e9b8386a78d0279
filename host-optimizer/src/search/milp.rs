//! The exact joint MILP: precisions `(b_w, b_a)` and replication `r` of every layer at once,
//! under the area budget and an additive (proxy) accuracy budget. It is the optimum the RL
//! agent is measured against.
//!
//! Formulation (a multiple-choice knapsack with two resources): one binary per layer and
//! *item*, an item being a precision and a replication factor with its area `r * X_l(b_w)`,
//! time `T_l(r, b_a)` and proxy drop `d_l(b_w, b_a)`. Exactly one item per layer;
//! `sum area <= budget`; `sum drop <= max_drop`; minimise `sum T` (latency) or `z` with
//! `z >= T_l` for every layer (throughput). Reductions that keep the optimum:
//! - only replication factors where `ceil(P / r)` changes (the smallest `r` of each level),
//!   capped by what the budget could afford after every other layer's cheapest replica;
//! - items dominated within their layer (no less area, time and drop than another item) are
//!   dropped, which also merges precisions with equal `X_l` and `t_l`.
//!
//! Invariant: a returned solution is re-checked through `imc_model::cost::totals`.

use std::time::Duration;

use good_lp::{
    coin_cbc, constraint, variable, Expression, ProblemVariables, Solution, SolverModel, Variable, WithInitialSolution,
};
use imc_model::{Crossbars, LayerCost, Precision};

use super::interval::bisect_interval;
use super::problem::{Goal, SearchError, SearchProblem};

/// An additive accuracy model: the drop of the network is the sum of per-layer drops.
pub trait LayerDrops {
    /// Drop, in percentage points, of layer `layer` at `precision` (0 at 8/8).
    fn layer_drop(&self, layer: usize, precision: Precision) -> f64;
}

impl<F: Fn(usize, Precision) -> f64> LayerDrops for F {
    fn layer_drop(&self, layer: usize, precision: Precision) -> f64 {
        self(layer, precision)
    }
}

/// One choice for one layer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Item {
    pub(super) precision: Precision,
    pub(super) replication: u64,
    pub(super) area: u64,
    pub(super) time: u64,
    pub(super) drop: f64,
}

/// The joint optimum.
#[derive(Clone, Debug, PartialEq)]
pub struct JointSolution {
    /// Per-layer precisions.
    pub precisions: Vec<Precision>,
    /// Per-layer replication.
    pub replication: Vec<u64>,
    /// Proxy drop of the solution (sum of layer drops).
    pub drop: f64,
    /// Binary variables the model had after the reductions.
    pub variables: usize,
    /// CBC proved optimality within the time limit (else: best found, an upper bound on
    /// what the optimum's latency/interval is, so RL's gap to it is understated).
    pub proven_optimal: bool,
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
pub(super) fn pareto(mut items: Vec<Item>) -> Vec<Item> {
    items.sort_by(|a, b| {
        (a.area, a.time)
            .cmp(&(b.area, b.time))
            .then(a.drop.total_cmp(&b.drop))
            .then((b.precision.w_bits, b.precision.a_bits).cmp(&(a.precision.w_bits, a.precision.a_bits)))
    });
    let mut kept: Vec<Item> = Vec::new();
    for item in items {
        // Every kept item has area <= item.area (sorted), so dominance needs time and drop.
        if !kept.iter().any(|k| k.time <= item.time && k.drop <= item.drop) {
            kept.push(item);
        }
    }
    kept
}

/// Builds and solves the model; `None` when no choice fits both budgets.
pub(super) fn solve_items(
    layers: &[Vec<Item>],
    budget: Crossbars,
    max_drop: Option<f64>,
    goal: Goal,
    time_limit: Duration,
    start: Option<&[usize]>,
) -> Result<Option<(Vec<Item>, bool)>, SearchError> {
    let mut vars = ProblemVariables::new();
    let x: Vec<Vec<Variable>> = layers
        .iter()
        .map(|items| items.iter().map(|_| vars.add(variable().binary())).collect())
        .collect();
    let z = vars.add(variable().min(0.0));
    let time_of = |l: usize| -> Expression {
        let mut e = Expression::from(0.0);
        for (item, &v) in layers[l].iter().zip(&x[l]) {
            e.add_mul(item.time as f64, v);
        }
        e
    };
    let objective: Expression = match goal {
        Goal::Latency => (0..layers.len()).map(time_of).sum(),
        Goal::Throughput => z.into(),
    };
    let mut model = vars.minimise(objective).using(coin_cbc);
    model.set_parameter("seconds", &time_limit.as_secs().max(1).to_string());
    model.set_parameter("threads", "1");
    if let Some(start) = start {
        // A known feasible assignment (one item index per layer) as CBC's first incumbent.
        let mut values = Vec::new();
        for (vs, &chosen) in x.iter().zip(start) {
            values.extend(
                vs.iter()
                    .enumerate()
                    .map(|(i, &v)| (v, if i == chosen { 1.0 } else { 0.0 })),
            );
        }
        if goal == Goal::Throughput {
            let worst = layers
                .iter()
                .zip(start)
                .map(|(items, &i)| items[i].time)
                .max()
                .unwrap_or(0);
            values.push((z, worst as f64));
        }
        model = model.with_initial_solution(values);
    }
    let mut area = Expression::from(0.0);
    let mut drop = Expression::from(0.0);
    for (l, items) in layers.iter().enumerate() {
        let one: Expression = x[l].iter().copied().sum();
        model = model.with(constraint!(one == 1.0));
        for (item, &v) in items.iter().zip(&x[l]) {
            area.add_mul(item.area as f64, v);
            drop.add_mul(item.drop, v);
        }
        if goal == Goal::Throughput {
            model = model.with(constraint!(time_of(l) <= z));
        }
    }
    model = model.with(constraint!(area <= budget.get() as f64));
    if let Some(max_drop) = max_drop {
        // A hair of slack so that a sum equal to the budget is not lost to rounding.
        model = model.with(constraint!(drop <= max_drop + 1e-9));
    }
    let solution = match model.solve() {
        Ok(s) => s,
        Err(good_lp::ResolutionError::Infeasible) => return Ok(None),
        Err(e) => return Err(SearchError::Solver(e.to_string())),
    };
    let proven_optimal = solution.model().is_proven_optimal();
    let chosen = layers
        .iter()
        .zip(&x)
        .map(|(items, vs)| {
            let best = vs
                .iter()
                .enumerate()
                .max_by(|a, b| solution.value(*a.1).total_cmp(&solution.value(*b.1)));
            best.map(|(i, _)| items[i])
                .ok_or_else(|| SearchError::Solver("a layer has no choice".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((chosen, proven_optimal)))
}

/// Exact replication for fixed costs (every layer has a single precision).
pub fn replicate_exact(costs: &[LayerCost], budget: Crossbars, goal: Goal) -> Result<Option<Vec<u64>>, SearchError> {
    let min_area: u64 = costs.iter().map(|c| c.xbars.get()).sum();
    if min_area > budget.get() {
        return Ok(None);
    }
    let spare = budget.get() - min_area;
    let layers: Vec<Vec<Item>> = costs
        .iter()
        .map(|c| {
            let r_max = 1 + spare / c.xbars.get().max(1);
            let items = replication_levels(c.positions, r_max)
                .into_iter()
                .map(|r| Item {
                    precision: Precision::BASELINE,
                    replication: r,
                    area: r * c.xbars.get(),
                    time: c.time(r).get(),
                    drop: 0.0,
                })
                .collect();
            pareto(items)
        })
        .collect();
    let chosen = solve_items(&layers, budget, None, goal, Duration::from_secs(60), None)?;
    match chosen {
        Some((items, true)) => Ok(Some(items.iter().map(|i| i.replication).collect())),
        Some((_, false)) => Err(SearchError::Solver(
            "replication ILP stopped before proving optimality".into(),
        )),
        None => Ok(None),
    }
}

/// The precisions a layer may take: 8/8 when pinned, else every pair of allowed widths.
pub fn layer_choices(problem: &SearchProblem, layer: usize) -> Vec<Precision> {
    if problem.pinned[layer] {
        return vec![Precision::BASELINE];
    }
    let mut out = Vec::new();
    for &w_bits in &problem.bits {
        for &a_bits in &problem.bits {
            out.push(Precision { w_bits, a_bits });
        }
    }
    out
}

/// Solves the joint problem exactly with the additive accuracy model `drops`.
/// `None` when no assignment fits both budgets.
pub fn solve_joint(
    problem: &SearchProblem,
    drops: &dyn LayerDrops,
    time_limit: Duration,
) -> Result<Option<JointSolution>, SearchError> {
    solve_joint_from(problem, drops, time_limit, None)
}

/// [`solve_joint`] with a known feasible mapping `(precisions, replication)` as the
/// solver's first incumbent (it only speeds the search; the optimum is the same). A start
/// that does not fit both budgets is ignored.
pub fn solve_joint_from(
    problem: &SearchProblem,
    drops: &dyn LayerDrops,
    time_limit: Duration,
    start: Option<(&[Precision], &[u64])>,
) -> Result<Option<JointSolution>, SearchError> {
    let mut options: Vec<Vec<(Precision, LayerCost, f64)>> = Vec::with_capacity(problem.len());
    for (l, shape) in problem.shapes.iter().enumerate() {
        let mut layer = Vec::new();
        for p in layer_choices(problem, l) {
            let cost = LayerCost::new(&problem.arch, shape, p)?;
            layer.push((p, cost, drops.layer_drop(l, p)));
        }
        options.push(layer);
    }
    let cheapest: Vec<u64> = options
        .iter()
        .map(|o| o.iter().map(|(_, c, _)| c.xbars.get()).min().unwrap_or(0))
        .collect();
    let min_area: u64 = cheapest.iter().sum();
    if min_area > problem.budget.get() {
        return Ok(None);
    }
    let layers: Vec<Vec<Item>> = options
        .iter()
        .enumerate()
        .map(|(l, opts)| {
            let others = min_area - cheapest[l];
            let mut items = Vec::new();
            for &(precision, cost, drop) in opts {
                let x = cost.xbars.get().max(1);
                let Some(room) = problem.budget.get().checked_sub(others) else {
                    continue;
                };
                for r in replication_levels(cost.positions, room / x) {
                    items.push(Item {
                        precision,
                        replication: r,
                        area: r * x,
                        time: cost.time(r).get(),
                        drop,
                    });
                }
            }
            pareto(items)
        })
        .collect();
    let variables = layers.iter().map(Vec::len).sum();
    let start = match start {
        Some((precisions, replication)) => start_items(problem, drops, &layers, precisions, replication)?,
        None => None,
    };
    let solved = match problem.goal {
        // Bisection on the interval with a min-area knapsack per step: several small models
        // instead of one large one (CBC proves those quickly); the same optimum.
        Goal::Throughput => bisect_interval(&layers, problem.budget, problem.max_drop, time_limit)?,
        Goal::Latency => solve_items(
            &layers,
            problem.budget,
            Some(problem.max_drop),
            problem.goal,
            time_limit,
            start.as_deref(),
        )?,
    };
    let Some((chosen, proven_optimal)) = solved else {
        return Ok(None);
    };
    let precisions: Vec<Precision> = chosen.iter().map(|i| i.precision).collect();
    let replication: Vec<u64> = chosen.iter().map(|i| i.replication).collect();
    let t = imc_model::cost::totals(&problem.arch, &problem.costs(&precisions)?, &replication)?;
    if t.area > problem.budget {
        return Err(SearchError::Solver(format!(
            "MILP area {} exceeds the budget {}",
            t.area, problem.budget
        )));
    }
    Ok(Some(JointSolution {
        precisions,
        replication,
        drop: chosen.iter().map(|i| i.drop).sum(),
        variables,
        proven_optimal,
    }))
}

/// Item indices, one per layer, no worse on area, time and drop than the mapping
/// `(precisions, replication)`; `None` when it does not fit both budgets.
fn start_items(
    problem: &SearchProblem,
    drops: &dyn LayerDrops,
    layers: &[Vec<Item>],
    precisions: &[Precision],
    replication: &[u64],
) -> Result<Option<Vec<usize>>, SearchError> {
    if precisions.len() != layers.len() || replication.len() != layers.len() {
        return Ok(None);
    }
    let costs = problem.costs(precisions)?;
    let mut picked = Vec::with_capacity(layers.len());
    let (mut area, mut drop) = (0u64, 0.0f64);
    for (l, items) in layers.iter().enumerate() {
        let (a, t, d) = (
            replication[l].saturating_mul(costs[l].xbars.get()),
            costs[l].time(replication[l]).get(),
            drops.layer_drop(l, precisions[l]),
        );
        let Some(i) = items
            .iter()
            .position(|it| it.area <= a && it.time <= t && it.drop <= d + 1e-12)
        else {
            return Ok(None);
        };
        area = area.saturating_add(items[i].area);
        drop += items[i].drop;
        picked.push(i);
    }
    Ok((area <= problem.budget.get() && drop <= problem.max_drop + 1e-9).then_some(picked))
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
