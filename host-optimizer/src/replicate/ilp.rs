//! The replication ILP (and its LP relaxation) over an [`Instance`], solved by CBC through
//! `good_lp`.
//!
//! Choosing one candidate per layer, `T_l` its time and `A_l` its charged area, with
//! `sum_l A_l <= budget`. The objective is `w_L * sum_l T_l + w_I * I` with, when
//! `w_I > 0`, an interval variable `I >= T_l` for every layer and `I >= chip NoC floor`. Latency is
//! `(1, 0)`, throughput `(0, 1)` (with `I` integer), the mix `(alpha/L0, (1-alpha)/I0)`.
//! Replication caps, tile caps and tile-exclusive placement are already in the candidate
//! lists and the effective budget, so they need no rows of their own.
//!
//! ## Invariants
//! - A returned choice has one candidate per layer and fits the budget; CBC's values are
//!   checked (integral, monotone, within budget), never trusted blindly.

use std::time::Duration;

use good_lp::solvers::coin_cbc::coin_cbc;
use good_lp::{variable, Expression, ProblemVariables, ResolutionError, Solution, SolutionStatus, SolverModel};
use good_lp::{Variable, WithTimeLimit};

use super::instance::{Candidate, Instance};

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

/// The model in incremental form: `y[l][c-1] = 1` iff layer `l` takes candidate `c` or a
/// later one (`c >= 1`), with `y[l][c] <= y[l][c-1]`. Equivalent to one binary per
/// candidate (a unimodular change of variables, same LP relaxation), but branching on
/// `y` splits a layer's choices into "fewer than c" / "at least c", which CBC closes far
/// faster than the multiple-choice form.
struct Model {
    vars: ProblemVariables,
    y: Vec<Vec<Variable>>,
    interval: Option<Variable>,
    objective: Expression,
}

/// Factor that brings the objective's coefficients to cycles: CBC's tolerances are absolute,
/// and a mix normalised to ~1 would let it stop early on differences of a few hundred
/// cycles. The optimum is unchanged by a positive scale.
fn scale(weights: Weights) -> f64 {
    let largest = weights.latency.max(weights.interval);
    if largest > 0.0 {
        1.0 / largest
    } else {
        1.0
    }
}

fn build(inst: &Instance, weights: Weights, integer: bool) -> Model {
    let factor = scale(weights);
    let weights = Weights {
        latency: weights.latency * factor,
        interval: weights.interval * factor,
    };
    let mut vars = ProblemVariables::new();
    let def = || {
        if integer {
            variable().binary()
        } else {
            variable().min(0).max(1)
        }
    };
    let y: Vec<Vec<Variable>> = inst
        .layers()
        .iter()
        .map(|cands| cands.iter().skip(1).map(|_| vars.add(def())).collect())
        .collect();
    let interval = (weights.interval > 0.0).then(|| {
        let lowest = inst.fastest_times().max().unwrap_or(0);
        let def = variable().min(lowest.max(inst.chip_floor().get()) as f64);
        vars.add(if integer { def.integer() } else { def })
    });
    let mut objective = Expression::with_capacity(y.iter().map(Vec::len).sum::<usize>() + 1);
    if weights.latency > 0.0 {
        for (cands, ys) in inst.layers().iter().zip(&y) {
            objective += weights.latency * first_time(cands) as f64;
            for ((from, to), &v) in steps(cands).zip(ys) {
                objective.add_mul(weights.latency * delta(to.time.get(), from.time.get()), v);
            }
        }
    }
    if let Some(i) = interval {
        objective.add_mul(weights.interval, i);
    }
    Model {
        vars,
        y,
        interval,
        objective,
    }
}

/// Consecutive candidates `(from, to)`: one `y` variable switches each step on.
fn steps(cands: &[Candidate]) -> impl Iterator<Item = (&Candidate, &Candidate)> {
    cands.iter().zip(cands.iter().skip(1))
}

/// Time of the layer's unreplicated (first) candidate.
fn first_time(cands: &[Candidate]) -> u64 {
    cands.first().map_or(0, |c| c.time.get())
}

/// `to - from` as a float (times fall and areas grow along a candidate list).
fn delta(to: u64, from: u64) -> f64 {
    to as f64 - from as f64
}

/// Solves the model; `integer = false` gives the LP relaxation. Returns, per layer, the
/// values of its `y` variables.
fn run(
    inst: &Instance,
    weights: Weights,
    integer: bool,
    time_limit: Duration,
) -> Result<(Vec<Vec<f64>>, f64, SolutionStatus), ResolutionError> {
    let Model {
        vars,
        y,
        interval,
        objective,
    } = build(inst, weights, integer);
    let mut model = vars
        .minimise(objective.clone())
        .using(coin_cbc)
        .with_time_limit(time_limit.as_secs_f64());
    let mut area = Expression::with_capacity(y.iter().map(Vec::len).sum());
    for (cands, ys) in inst.layers().iter().zip(&y) {
        let mut time = Expression::from(first_time(cands) as f64);
        for ((from, to), &v) in steps(cands).zip(ys) {
            time.add_mul(delta(to.time.get(), from.time.get()), v);
            area.add_mul(delta(to.area, from.area), v);
        }
        for (&before, &after) in ys.iter().zip(ys.iter().skip(1)) {
            model.add_constraint(Expression::from(after).leq(before));
        }
        if let Some(i) = interval {
            model.add_constraint(time.leq(i));
        }
    }
    model.add_constraint(area.leq(inst.spare() as f64));
    let solution = model.solve()?;
    let values = y
        .iter()
        .map(|ys| ys.iter().map(|&v| solution.value(v)).collect())
        .collect();
    Ok((
        values,
        objective.eval_with(&solution) / scale(weights),
        solution.status(),
    ))
}

/// Solves the ILP. `Err` says why CBC gave no usable answer.
///
/// No MIP start is passed: with CBC 2.10 a start made CBC report "optimal" for a worse
/// latency and return non-integral throughput solutions (measured on resnet34/50).
pub fn solve(inst: &Instance, weights: Weights, time_limit: Duration) -> Result<IlpChoice, String> {
    let (values, _, status) = run(inst, weights, true, time_limit).map_err(|e| e.to_string())?;
    // Candidate index = number of leading ones; the y's must be a clean 1..10..0 pattern.
    let choice: Vec<usize> = values
        .iter()
        .map(|ys| ys.iter().take_while(|&&v| v > 0.5).count())
        .collect();
    let integral = values.iter().flatten().all(|&v| !(1e-3..=1.0 - 1e-3).contains(&v));
    let monotone = values
        .iter()
        .zip(&choice)
        .all(|(ys, &c)| ys.iter().skip(c).all(|&v| v < 0.5));
    if !integral || !monotone || inst.area_of(&choice) > inst.budget().units() {
        return Err(format!("CBC stopped ({status:?}) without a feasible integer solution"));
    }
    Ok(IlpChoice {
        choice,
        proven_optimal: matches!(status, SolutionStatus::Optimal),
    })
}

/// Value of the LP relaxation (same units as the objective), a lower bound on the ILP.
pub fn relaxation(inst: &Instance, weights: Weights, time_limit: Duration) -> Result<f64, String> {
    match run(inst, weights, false, time_limit) {
        Ok((_, value, SolutionStatus::Optimal)) => Ok(value),
        Ok((_, _, status)) => Err(format!("LP relaxation stopped early ({status:?})")),
        Err(e) => Err(e.to_string()),
    }
}
