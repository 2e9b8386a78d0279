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
//! Under the physical model (DESIGN section 9) an item's area is its IMAs and its time
//! carries the floors; the items come from each layer's `(imas, T)` Pareto frontier. A
//! layer's egress depends on the *next* layer's activation bits, which the separable
//! knapsack cannot see, so items take it at 8 bits: an upper bound on the true time (egress
//! only grows with those bits). The optimum is then the optimum of that conservative model,
//! not proven for the true one ([`JointSolution::proven_optimal`] is CBC's proof for the
//! model it solved; callers under the physical model say the rest).
//!
//! Invariant: a returned solution is re-checked through the problem's cost model.

use std::time::Duration;

use imc_model::physical::{self, PhysLayer};
use imc_model::{Bits, LayerCost, Precision};

use super::interval::bisect_interval;
use super::knapsack::{pareto, replication_levels, solve_items, within_drop_budget, Item, Minimise};
use super::problem::{Goal, SearchError, SearchProblem};
use crate::replicate::{Budget, Physical};

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
    /// CBC proved optimality of the model it solved within the time limit (else: best found,
    /// an upper bound on what the optimum's latency/interval is, so RL's gap to it is
    /// understated). Under the physical model that model is the conservative one.
    pub proven_optimal: bool,
}

/// Exact replication for fixed costs (every layer has a single precision) by the knapsack
/// core, under the ideal model of DESIGN section 3 (a [`super::evaluate::Replicator`]
/// independent of [`crate::replicate`], for cross-checks).
pub fn replicate_exact(
    costs: &[LayerCost],
    physical: Option<&Physical>,
    budget: Budget,
    goal: Goal,
) -> Result<Option<Vec<u64>>, SearchError> {
    let Budget::Crossbars(budget) = budget else {
        return Err(SearchError::Input("replicate_exact prices crossbars only".into()));
    };
    if physical.is_some() {
        return Err(SearchError::Input(
            "replicate_exact models DESIGN section 3 only".into(),
        ));
    }
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
    let chosen = solve_items(
        &layers,
        Budget::Crossbars(budget),
        None,
        match goal {
            Goal::Latency => Minimise::TotalTime,
            Goal::Throughput => Minimise::MaxTime,
            Goal::Energy | Goal::Edp => {
                return Err(SearchError::Input("replicate_exact models time goals only".into()));
            }
        },
        Duration::from_secs(60),
        None,
    )?;
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
    if problem.pinned.get(layer) == Some(&true) {
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

/// One precision of one layer: its drop and its replication choices `(r, area, time)`,
/// cheapest first.
type LayerOption = (Precision, f64, Vec<(u64, u64, u64)>);

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
    let budget = problem.budget.units();
    // Per layer and precision: the replication choices as (r, area, time), cheapest first.
    let mut options: Vec<Vec<LayerOption>> = Vec::with_capacity(problem.len());
    for (l, shape) in problem.shapes.iter().enumerate() {
        let mut layer = Vec::new();
        for p in layer_choices(problem, l) {
            let cost = LayerCost::new(&problem.arch, shape, p)?;
            let choices = match &problem.physical {
                None => {
                    let x = cost.xbars.get().max(1);
                    replication_levels(cost.positions, budget / x)
                        .into_iter()
                        .map(|r| (r, r * x, cost.time(r).get()))
                        .collect()
                }
                Some(config) => {
                    let stride = problem.strides.get(l).map_or(1, |s| s.0);
                    let conservative = PhysLayer::new(*shape, p, Bits::EIGHT, stride);
                    let mut out = Vec::new();
                    for point in physical::frontier(&problem.arch, config, &conservative, u64::MAX) {
                        let (r, c) = point?;
                        if c.imas.get() > budget {
                            break;
                        }
                        out.push((r, c.imas.get(), c.time.get()));
                    }
                    out
                }
            };
            if !choices.is_empty() {
                layer.push((p, drops.layer_drop(l, p), choices));
            }
        }
        options.push(layer);
    }
    let cheapest: Vec<u64> = options
        .iter()
        .map(|o| {
            o.iter()
                .filter_map(|(_, _, c)| c.first().map(|c| c.1))
                .min()
                .unwrap_or(u64::MAX)
        })
        .collect();
    let Some(min_area) = cheapest.iter().try_fold(0u64, |acc, &c| acc.checked_add(c)) else {
        return Ok(None);
    };
    if min_area > budget {
        return Ok(None);
    }
    let layers: Vec<Vec<Item>> = options
        .iter()
        .zip(&cheapest)
        .map(|(opts, &cheapest)| {
            let room = budget - (min_area - cheapest);
            let mut items = Vec::new();
            for (precision, drop, choices) in opts {
                for &(r, area, time) in choices.iter().take_while(|c| c.1 <= room) {
                    items.push(Item {
                        precision: *precision,
                        replication: r,
                        area,
                        time,
                        drop: *drop,
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
    if problem.goal.is_energy() {
        return Err(SearchError::Input(format!(
            "the joint MILP optimises latency or throughput; search the {} objective with rl or random",
            problem.goal.as_str()
        )));
    }
    let solved = match problem.goal {
        Goal::Energy | Goal::Edp => None,
        // Bisection on the interval with a min-area knapsack per step: several small models
        // instead of one large one (CBC proves those quickly); the same optimum.
        Goal::Throughput => bisect_interval(&layers, problem.budget, problem.max_drop, time_limit)?,
        Goal::Latency => solve_items(
            &layers,
            problem.budget,
            Some(problem.max_drop),
            Minimise::TotalTime,
            time_limit,
            start.as_deref(),
        )?,
    };
    let Some((chosen, proven_optimal)) = solved else {
        return Ok(None);
    };
    let precisions: Vec<Precision> = chosen.iter().map(|i| i.precision).collect();
    let replication: Vec<u64> = chosen.iter().map(|i| i.replication).collect();
    let costs = problem.costs(&precisions)?;
    problem.totals(&precisions, &costs, &replication)?;
    let area = problem.charged_area(&costs, &replication)?;
    if area > budget {
        return Err(SearchError::Solver(format!(
            "MILP area {} exceeds the budget {}",
            problem.budget.same_unit(area),
            problem.budget
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
    if precisions.len() != layers.len() || replication.len() != layers.len() || problem.physical.is_some() {
        // Under the physical model the items' times are conservative: a start would have to
        // be re-costed the same way; the solver does without one.
        return Ok(None);
    }
    let costs = problem.costs(precisions)?;
    let mut picked = Vec::with_capacity(layers.len());
    let (mut area, mut drop) = (0u64, 0.0f64);
    let mapping = costs.iter().zip(precisions).zip(replication);
    for (l, (items, ((cost, &precision), &r))) in layers.iter().zip(mapping).enumerate() {
        let (a, t, d) = (
            r.saturating_mul(cost.xbars.get()),
            cost.time(r).get(),
            drops.layer_drop(l, precision),
        );
        let Some((i, item)) = items
            .iter()
            .enumerate()
            .find(|(_, it)| it.area <= a && it.time <= t && it.drop <= d + 1e-12)
        else {
            return Ok(None);
        };
        area = area.saturating_add(item.area);
        drop += item.drop;
        picked.push(i);
    }
    Ok((area <= problem.budget.units() && within_drop_budget(drop, problem.max_drop)).then_some(picked))
}
