//! The replication ILP (and its LP relaxation) over an [`Instance`], solved by CBC through
//! `good_lp`.
//!
//! One binary `x[l][c]` per layer and candidate, `sum_c x[l][c] = 1`, charged area
//! `sum x[l][c] * area[l][c] <= budget`. The objective is
//! `w_L * sum x[l][c] * T[l][c] + w_I * I` with, when `w_I > 0`, an interval variable
//! `I >= sum_c x[l][c] * T[l][c]` for every layer and `I >= chip NoC floor`. Latency is
//! `(1, 0)`, throughput `(0, 1)` (with `I` integer), the mix `(alpha/L0, (1-alpha)/I0)`.
//! Replication caps, tile caps and tile-exclusive placement are already in the candidate
//! lists and the effective budget, so they need no rows of their own.
//!
//! ## Invariants
//! - A returned choice has one candidate per layer and fits the budget; it is read back by
//!   the largest `x` per layer and checked, never trusted blindly.

use std::time::Duration;

use good_lp::solvers::coin_cbc::coin_cbc;
use good_lp::{variable, Expression, ProblemVariables, ResolutionError, Solution, SolutionStatus, SolverModel};
use good_lp::{Variable, WithTimeLimit};

use super::instance::Instance;

/// Objective weights: `latency * L + interval * I`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Weight of the latency sum.
    pub latency: f64,
    /// Weight of the interval variable (0: no interval variable).
    pub interval: f64,
}

/// What the ILP returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IlpChoice {
    /// Candidate index per layer.
    pub choice: Vec<usize>,
    /// False when CBC stopped on its time limit with a feasible but unproven incumbent.
    pub proven_optimal: bool,
}

/// The model: variables per layer (empty for a layer with one candidate), the objective.
struct Model {
    vars: ProblemVariables,
    x: Vec<Vec<Variable>>,
    interval: Option<Variable>,
    objective: Expression,
}

fn build(inst: &Instance, weights: Weights, integer: bool) -> Model {
    let mut vars = ProblemVariables::new();
    let x: Vec<Vec<Variable>> = inst
        .layers()
        .iter()
        .map(|cands| {
            let def = || if integer { variable().binary() } else { variable().min(0).max(1) };
            if cands.len() > 1 {
                cands.iter().map(|_| vars.add(def())).collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    let interval = (weights.interval > 0.0).then(|| {
        let lowest = inst.layers().iter().filter_map(|c| c.last()).map(|c| c.time.get()).max().unwrap_or(0);
        let def = variable().min(lowest.max(inst.chip_floor().get()) as f64);
        vars.add(if integer { def.integer() } else { def })
    });
    let mut objective = Expression::with_capacity(x.iter().map(Vec::len).sum::<usize>() + 1);
    for (cands, xs) in inst.layers().iter().zip(&x) {
        match xs.as_slice() {
            [] => objective += weights.latency * cands[0].time.get() as f64,
            xs => {
                for (cand, &v) in cands.iter().zip(xs) {
                    objective.add_mul(weights.latency * cand.time.get() as f64, v);
                }
            }
        }
    }
    if let Some(i) = interval {
        objective.add_mul(weights.interval, i);
    }
    Model { vars, x, interval, objective }
}

/// Solves the model; `integer = false` gives the LP relaxation.
fn run(
    inst: &Instance,
    weights: Weights,
    integer: bool,
    time_limit: Duration,
) -> Result<(Vec<Vec<f64>>, f64, SolutionStatus), ResolutionError> {
    let Model { vars, x, interval, objective } = build(inst, weights, integer);
    let mut model = vars.minimise(objective.clone()).using(coin_cbc).with_time_limit(time_limit.as_secs_f64());
    let mut area = Expression::with_capacity(x.iter().map(Vec::len).sum());
    let mut fixed_area = 0.0;
    for (cands, xs) in inst.layers().iter().zip(&x) {
        if xs.is_empty() {
            fixed_area += cands[0].area.get() as f64;
            if let Some(i) = interval {
                model.add_constraint(Expression::from(i).geq(cands[0].time.get() as f64));
            }
            continue;
        }
        let mut one = Expression::with_capacity(xs.len());
        let mut time = Expression::with_capacity(xs.len());
        for (cand, &v) in cands.iter().zip(xs) {
            one.add_mul(1.0, v);
            time.add_mul(cand.time.get() as f64, v);
            area.add_mul(cand.area.get() as f64, v);
        }
        model.add_constraint(one.eq(1.0));
        if let Some(i) = interval {
            model.add_constraint(time.leq(i));
        }
    }
    model.add_constraint(area.leq(inst.budget().get() as f64 - fixed_area));
    let solution = model.solve()?;
    let values = x.iter().map(|xs| xs.iter().map(|&v| solution.value(v)).collect()).collect();
    Ok((values, objective.eval_with(&solution), solution.status()))
}

/// Solves the ILP. `Err` says why CBC gave no usable answer.
pub fn solve(inst: &Instance, weights: Weights, time_limit: Duration) -> Result<IlpChoice, String> {
    let (values, _, status) = run(inst, weights, true, time_limit).map_err(|e| e.to_string())?;
    let choice: Vec<usize> = values
        .iter()
        .map(|xs| xs.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(c, _)| c))
        .collect();
    let picked_once = values.iter().zip(&choice).all(|(xs, &c)| xs.is_empty() || xs[c] > 0.5);
    if !picked_once || inst.area_of(&choice) > inst.budget().get() {
        return Err(format!("CBC stopped ({status:?}) without a feasible integer solution"));
    }
    Ok(IlpChoice { choice, proven_optimal: matches!(status, SolutionStatus::Optimal) })
}

/// Value of the LP relaxation (same units as the objective), a lower bound on the ILP.
pub fn relaxation(inst: &Instance, weights: Weights, time_limit: Duration) -> Result<f64, String> {
    match run(inst, weights, false, time_limit) {
        Ok((_, value, SolutionStatus::Optimal)) => Ok(value),
        Ok((_, _, status)) => Err(format!("LP relaxation stopped early ({status:?})")),
        Err(e) => Err(e.to_string()),
    }
}
