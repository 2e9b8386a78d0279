//! Solver selection, fallback from the ILP to the exact fast path, and assembling a
//! [`Solution`] with its bounds.
//!
//! ## Invariants
//! - A solution reported as `SolverUsed::Ilp` without a note is proven optimal by CBC; a
//!   fast-path solution is exact by construction. Anything else carries a `note`.

use std::time::Duration;

use imc_model::{ArchConfig, LayerCost, Totals};

use super::energy::{self, EnergyGoal};
use super::ilp::{self, IlpChoice, Weights};
use super::instance::Instance;
use super::{bounds, fast, totals_of};
use super::{
    Bounds, Budget, Constraints, Objective, Physical, Plan, Problem, ReplicateError, Solution, SolverChoice, SolverUsed,
};

/// Time limit of the ILP in [`solve`] (CBC counts whole seconds).
pub const DEFAULT_ILP_TIME_LIMIT: Duration = Duration::from_secs(30);

fn plan_of(
    arch: &ArchConfig,
    costs: &[LayerCost],
    physical: Option<&Physical>,
    inst: &Instance,
    choice: &[usize],
) -> Result<Plan, ReplicateError> {
    let replication = inst.replication_of(choice);
    let totals = totals_of(arch, costs, physical, &replication)?;
    Ok(Plan { replication, totals })
}

/// Exact fast path for the smallest interval (bisection); the minimum-area replication
/// among those reaching it. Microseconds to a millisecond on ImageNet networks.
pub fn min_interval(
    arch: &ArchConfig,
    costs: &[LayerCost],
    physical: Option<&Physical>,
    budget: Budget,
    constraints: &Constraints,
) -> Result<Plan, ReplicateError> {
    let inst = Instance::new(arch, costs, physical, budget, constraints)?;
    plan_of(arch, costs, physical, &inst, &fast::min_interval_choice(&inst))
}

/// Exact fast path for the smallest latency (knapsack DP over spare crossbars); the
/// minimum-area replication among those reaching it. `NoFastPath` when the DP table would
/// exceed [`super::DP_CELL_LIMIT`] cells.
pub fn min_latency(
    arch: &ArchConfig,
    costs: &[LayerCost],
    physical: Option<&Physical>,
    budget: Budget,
    constraints: &Constraints,
) -> Result<Plan, ReplicateError> {
    let inst = Instance::new(arch, costs, physical, budget, constraints)?;
    let choice = fast::min_latency_choice(&inst).ok_or(ReplicateError::NoFastPath(TOO_LARGE))?;
    plan_of(arch, costs, physical, &inst, &choice)
}

const TOO_LARGE: &str = "the latency DP table would exceed DP_CELL_LIMIT cells";

/// Objective weights and the reference totals the mix is normalised by.
fn weights(objective: Objective, reference: &Totals) -> Weights {
    match objective {
        Objective::Latency => Weights {
            latency: 1.0,
            interval: 0.0,
        },
        Objective::Throughput => Weights {
            latency: 0.0,
            interval: 1.0,
        },
        Objective::Mixed { alpha } => Weights {
            latency: alpha / reference.latency.get().max(1) as f64,
            interval: (1.0 - alpha) / reference.interval.get().max(1) as f64,
        },
        // Solved by the energy sweep; the ILP never sees these weights.
        Objective::Energy | Objective::Edp => Weights {
            latency: 0.0,
            interval: 0.0,
        },
    }
}

fn objective_value(weights: Weights, latency: f64, interval: f64) -> f64 {
    weights.latency * latency + weights.interval * interval
}

/// The exact fast path for an objective, or why there is none.
fn fast_choice(inst: &Instance, objective: Objective) -> Result<Vec<usize>, &'static str> {
    match objective {
        Objective::Throughput => Ok(fast::min_interval_choice(inst)),
        Objective::Latency => fast::min_latency_choice(inst).ok_or(TOO_LARGE),
        Objective::Mixed { .. } => Err("the mixed objective is solved by the ILP only"),
        Objective::Energy | Objective::Edp => Err("the energy objectives are solved by the energy sweep"),
    }
}

type Chosen = (Vec<usize>, SolverUsed, Option<String>);

/// Turns the ILP's outcome into a choice, falling back to the exact fast path when CBC
/// failed or stopped before proving optimality.
fn ilp_or_fallback(
    inst: &Instance,
    objective: Objective,
    outcome: Result<IlpChoice, String>,
) -> Result<Chosen, ReplicateError> {
    match outcome {
        Ok(IlpChoice {
            choice,
            proven_optimal: true,
        }) => Ok((choice, SolverUsed::Ilp, None)),
        Ok(IlpChoice {
            choice,
            proven_optimal: false,
        }) => Ok(match fast_choice(inst, objective) {
            Ok(exact) => (
                exact,
                SolverUsed::FastPath,
                Some("the ILP hit its time limit before proving optimality; used the exact fast path".into()),
            ),
            Err(_) => (
                choice,
                SolverUsed::Ilp,
                Some("the ILP hit its time limit: best solution found, not proven optimal".into()),
            ),
        }),
        Err(why) => match fast_choice(inst, objective) {
            Ok(exact) => Ok((
                exact,
                SolverUsed::FastPath,
                Some(format!("the ILP failed ({why}); used the exact fast path")),
            )),
            Err(_) => Err(ReplicateError::Solver(why)),
        },
    }
}

/// [`solve_with_time_limit`] with [`DEFAULT_ILP_TIME_LIMIT`].
pub fn solve(p: &Problem, solver: SolverChoice) -> Result<Solution, ReplicateError> {
    solve_with_time_limit(p, solver, DEFAULT_ILP_TIME_LIMIT)
}

/// Optimal replication for `p` by `solver`, with bounds. The ILP (and the LP relaxation)
/// stop after `time_limit`.
pub fn solve_with_time_limit(
    p: &Problem,
    solver: SolverChoice,
    time_limit: Duration,
) -> Result<Solution, ReplicateError> {
    if let Objective::Mixed { alpha } = p.objective {
        if !(0.0..=1.0).contains(&alpha) {
            return Err(ReplicateError::InvalidAlpha(alpha));
        }
    }
    let physical = p.physical.as_ref();
    if matches!(p.objective, Objective::Energy | Objective::Edp) && physical.is_none() {
        return Err(ReplicateError::NeedsPhysicalModel);
    }
    let inst = Instance::new(p.arch, p.costs, physical, p.budget, &p.constraints)?;
    if let Objective::Energy | Objective::Edp = p.objective {
        return solve_energy(p, &inst);
    }
    // The mix is normalised by the unreplicated mapping; under the physical model, by each
    // layer's smallest replication whose line buffers fit (r = 1 where it does).
    let unreplicated = match physical {
        None => vec![1; p.costs.len()],
        Some(_) => inst.replication_of(&vec![0; p.costs.len()]),
    };
    let reference = totals_of(p.arch, p.costs, physical, &unreplicated)?;
    let weights = weights(p.objective, &reference);
    let run_ilp = || ilp_or_fallback(&inst, p.objective, ilp::solve(&inst, weights, time_limit));
    let (choice, used, note) = match solver {
        SolverChoice::FastPath => (
            fast_choice(&inst, p.objective).map_err(ReplicateError::NoFastPath)?,
            SolverUsed::FastPath,
            None,
        ),
        SolverChoice::Ilp => run_ilp()?,
        SolverChoice::Auto => match fast_choice(&inst, p.objective) {
            Ok(choice) => (choice, SolverUsed::FastPath, None),
            Err(_) => run_ilp()?,
        },
    };
    let plan = plan_of(p.arch, p.costs, physical, &inst, &choice)?;
    let charged_area = inst.area_of(&choice);
    let latency = plan.totals.latency.get() as f64;
    let interval = plan.totals.interval.get() as f64;
    let objective = objective_value(weights, latency, interval);
    let interval_floor = bounds::interval_floor(&inst, p.costs);
    let latency_floor = bounds::latency_floor(&inst);
    let lp_relaxation = ilp::relaxation(&inst, weights, time_limit).ok();
    let simple = objective_value(weights, latency_floor.get() as f64, interval_floor.get() as f64);
    let bound = lp_relaxation.map_or(simple, |lp| lp.max(simple));
    let gap = if bound > 0.0 {
        ((objective - bound) / bound).max(0.0)
    } else {
        0.0
    };
    Ok(Solution {
        replication: plan.replication,
        totals: plan.totals,
        charged_area: inst.unit().same_unit(charged_area),
        tiles: charged_area.div_ceil(inst.units_per_tile()),
        objective_value: objective,
        solver: used,
        bounds: Bounds {
            balance: bounds::balance_bound(p.costs, inst.budget().units().saturating_mul(inst.xbars_per_unit())),
            interval_floor,
            latency_floor,
            lp_relaxation,
            gap,
        },
        note,
    })
}

/// The energy objectives (DESIGN 9.4): the sweep of [`energy`], its bound as the gap.
fn solve_energy(p: &Problem, inst: &Instance) -> Result<Solution, ReplicateError> {
    let physical = p.physical.as_ref().ok_or(ReplicateError::NeedsPhysicalModel)?;
    let goal = match p.objective {
        Objective::Edp => EnergyGoal::Edp,
        _ => EnergyGoal::Energy,
    };
    let cap = p.constraints.max_replication.unwrap_or(u64::MAX);
    let latency_optimal = match goal {
        EnergyGoal::Edp => fast::min_latency_choice(inst).map(|c| inst.replication_of(&c)),
        EnergyGoal::Energy => None,
    };
    let choice = energy::solve(
        p.arch,
        physical,
        inst,
        cap,
        p.constraints.tile_exclusive,
        goal,
        latency_optimal.as_deref(),
    )?;
    let totals = totals_of(p.arch, p.costs, Some(physical), &choice.replication)?;
    let charged = choice.charge;
    let gap = if choice.bound > 0.0 {
        ((choice.value - choice.bound) / choice.bound).max(0.0)
    } else {
        0.0
    };
    Ok(Solution {
        replication: choice.replication,
        totals,
        charged_area: inst.unit().same_unit(charged),
        tiles: charged.div_ceil(inst.units_per_tile()),
        objective_value: choice.value,
        solver: SolverUsed::EnergySweep,
        bounds: Bounds {
            balance: bounds::balance_bound(p.costs, inst.budget().units().saturating_mul(inst.xbars_per_unit())),
            interval_floor: bounds::interval_floor(inst, p.costs),
            latency_floor: bounds::latency_floor(inst),
            lp_relaxation: None,
            gap,
        },
        note: (gap > 0.0).then(|| {
            format!(
                "energy sweep: within {:.4}% of its lower bound ({:.6e}); not proven optimal",
                100.0 * gap,
                choice.bound
            )
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imc_model::{Crossbars, Cycles};

    fn instance() -> Instance {
        let cost = |positions: u64, xbars: u64| LayerCost {
            xbars: Crossbars::new(xbars),
            positions,
            row_blocks: 1,
            cycles_per_position: Cycles::new(10),
            input_bits: 0,
            noc_floor: Cycles::new(0),
        };
        Instance::new(
            &ArchConfig::isaac(),
            &[cost(50, 2), cost(9, 3)],
            None,
            Budget::Crossbars(Crossbars::new(30)),
            &Constraints::default(),
        )
        .unwrap()
    }

    #[test]
    fn ilp_failure_falls_back_to_fast_path_with_note() {
        let inst = instance();
        let (choice, used, note) = ilp_or_fallback(&inst, Objective::Throughput, Err("injected".into())).unwrap();
        assert_eq!(choice, fast::min_interval_choice(&inst));
        assert_eq!(used, SolverUsed::FastPath);
        assert!(note.is_some_and(|n| n.contains("injected")));
    }

    #[test]
    fn unproven_ilp_falls_back_or_says_so() {
        let inst = instance();
        let bogus = IlpChoice {
            choice: vec![0, 0],
            proven_optimal: false,
        };
        let (choice, used, note) = ilp_or_fallback(&inst, Objective::Latency, Ok(bogus.clone())).unwrap();
        assert_eq!(Some(choice), fast::min_latency_choice(&inst));
        assert_eq!(used, SolverUsed::FastPath);
        assert!(note.is_some());
        let mixed = Objective::Mixed { alpha: 0.5 };
        let (choice, used, note) = ilp_or_fallback(&inst, mixed, Ok(bogus)).unwrap();
        assert_eq!((choice, used), (vec![0, 0], SolverUsed::Ilp));
        assert!(note.is_some_and(|n| n.contains("not proven")));
        let err = ilp_or_fallback(&inst, mixed, Err("injected".into())).unwrap_err();
        assert_eq!(err, ReplicateError::Solver("injected".into()));
    }
}
