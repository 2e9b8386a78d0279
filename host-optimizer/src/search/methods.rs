//! Every search method behind one entry point, [`run_method`], so the CLI and the paper
//! table compare them on the same cost model, replication optimiser and accuracy oracle.
//!
//! Methods: the 8/8 unreplicated baseline; replication only (8/8, exact ILP); precision
//! only (the RL agent's precisions with `r = 1`, i.e. what mixed precision alone buys);
//! uniform `k`-bit plus replication; random search plus ILP; the RL agent plus ILP; and the
//! exact joint MILP over the additive proxy.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use imc_model::{Bits, LayerCost, Precision, Totals};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::evaluate::{DropOracle, Evaluation, Evaluator, Replicator};
use super::knapsack::within_drop_budget;
use super::milp::{solve_joint_from, LayerDrops};
use super::problem::{SearchError, SearchProblem};
use super::project::Projector;
use super::rl::{self, EpisodeReport, RlConfig};

/// A search method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// 8/8, no replication.
    Baseline,
    /// 8/8 with exact replication.
    ReplicationOnly,
    /// RL precisions, no replication.
    PrecisionOnly,
    /// Uniform `k/k` (pinned ends 8/8) with exact replication.
    Uniform(u8),
    /// Random precisions with exact replication, as many evaluations as RL.
    Random,
    /// DDPG precisions with exact replication (LRMP).
    Rl,
    /// Exact joint MILP over the additive proxy.
    Milp,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Method::Baseline => write!(f, "baseline"),
            Method::ReplicationOnly => write!(f, "replication"),
            Method::PrecisionOnly => write!(f, "precision"),
            Method::Uniform(k) => write!(f, "uniform{k}"),
            Method::Random => write!(f, "random"),
            Method::Rl => write!(f, "rl"),
            Method::Milp => write!(f, "milp"),
        }
    }
}

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "baseline" => Method::Baseline,
            "replication" => Method::ReplicationOnly,
            "precision" => Method::PrecisionOnly,
            "random" => Method::Random,
            "rl" => Method::Rl,
            "milp" => Method::Milp,
            other => match other.strip_prefix("uniform").map(str::parse::<u8>) {
                Some(Ok(k)) if (1..=8).contains(&k) => Method::Uniform(k),
                _ => {
                    return Err(format!(
                        "unknown method `{s}` (rl, milp, random, uniform1..uniform8, replication, precision, baseline)"
                    ))
                }
            },
        })
    }
}

/// The outcome of one method on one problem.
#[derive(Clone, Debug)]
pub struct MethodResult {
    /// Which method.
    pub method: Method,
    /// Per-layer precisions.
    pub precisions: Vec<Precision>,
    /// Per-layer replication.
    pub replication: Vec<u64>,
    /// Totals of the mapping.
    pub totals: Totals,
    /// Gain of the goal over the baseline.
    pub gain: f64,
    /// Accuracy drop (percentage points).
    pub drop: f64,
    /// Within both budgets.
    pub feasible: bool,
    /// Evaluations the method spent (replication + accuracy calls).
    pub evaluations: usize,
    /// Wall time.
    pub seconds: f64,
    /// `(gain, drop)` of every evaluation the method made, in order.
    pub history: Vec<(f64, f64)>,
    /// For the joint MILP: whether CBC proved optimality within its time limit (`None` for
    /// the other methods). An unproven MILP answer is only the best found, not the optimum.
    pub proven_optimal: Option<bool>,
}

/// What a method may need besides the problem.
pub struct Tools<'a> {
    /// The exact replication optimiser.
    pub replicator: &'a mut dyn Replicator,
    /// The accuracy oracle.
    pub oracle: &'a mut dyn DropOracle,
    /// The additive proxy, when there is one (the joint MILP needs it).
    pub layer_drops: Option<&'a dyn LayerDrops>,
    /// RL settings (episodes also size random search).
    pub rl: RlConfig,
    /// Precisions for [`Method::PrecisionOnly`] (an RL result); RL runs first when `None`.
    pub precisions: Option<Vec<Precision>>,
    /// Time limit of the MILP solver.
    pub milp_time_limit: Duration,
}

fn from_eval(method: Method, e: Evaluation, evaluations: usize, start: Instant) -> Result<MethodResult, SearchError> {
    let totals = e
        .totals
        .ok_or_else(|| SearchError::Input(format!("{method}: the mapping does not fit the budget")))?;
    Ok(MethodResult {
        method,
        precisions: e.precisions,
        replication: e.replication,
        totals,
        gain: e.gain,
        drop: e.drop,
        feasible: e.feasible,
        evaluations,
        seconds: start.elapsed().as_secs_f64(),
        history: Vec::new(),
        proven_optimal: None,
    })
}

/// Uniform `k/k` on every free layer.
pub fn uniform_precisions(problem: &SearchProblem, k: u8) -> Result<Vec<Precision>, SearchError> {
    let b = Bits::new(k).ok_or_else(|| SearchError::Input(format!("{k} bits")))?;
    Ok(problem.pin(vec![Precision { w_bits: b, a_bits: b }; problem.len()]))
}

/// Runs `method`; `on_episode` sees RL and random-search progress.
pub fn run_method(
    problem: &SearchProblem,
    method: Method,
    tools: &mut Tools<'_>,
    on_episode: &mut dyn FnMut(EpisodeReport),
) -> Result<MethodResult, SearchError> {
    let start = Instant::now();
    let projector = match (method, tools.layer_drops) {
        (Method::Random | Method::Rl | Method::PrecisionOnly | Method::Milp, Some(drops)) => {
            Some(Projector::new(problem, drops)?)
        }
        _ => None,
    };
    let mut eval = Evaluator::new(problem, &mut *tools.replicator, &mut *tools.oracle);
    match method {
        Method::Baseline => {
            let precisions = vec![Precision::BASELINE; problem.len()];
            let drop = tools.oracle.drop(&precisions)?;
            unreplicated(problem, method, precisions, &problem.baseline_costs, drop, start)
        }
        Method::ReplicationOnly => {
            let e = eval.evaluate(vec![Precision::BASELINE; problem.len()])?;
            from_eval(method, e, 1, start)
        }
        Method::Uniform(k) => {
            let e = eval.evaluate(uniform_precisions(problem, k)?)?;
            from_eval(method, e, 1, start)
        }
        Method::Random => {
            let mut rng = ChaCha8Rng::seed_from_u64(tools.rl.seed ^ 0x5eed_5eed);
            let mut last = None;
            for episode in 0..tools.rl.episodes.max(1) {
                // `problem.bits` is not empty (checked by `SearchProblem::new`), so every
                // draw is an index into it.
                let mut draw = || {
                    let i = rng.random_range(0..problem.bits.len());
                    problem
                        .bits
                        .get(i)
                        .copied()
                        .ok_or_else(|| SearchError::Input("no bit widths to draw from".into()))
                };
                let precisions = (0..problem.len())
                    .map(|_| {
                        Ok(Precision {
                            w_bits: draw()?,
                            a_bits: draw()?,
                        })
                    })
                    .collect::<Result<Vec<Precision>, SearchError>>()?;
                let precisions = match &projector {
                    Some(p) => p.project(&precisions),
                    None => precisions,
                };
                let e = eval.evaluate(precisions)?;
                let (best_gain, best_drop) = eval.best().map_or((0.0, 0.0), |b| (b.gain, b.drop));
                on_episode(EpisodeReport {
                    episode,
                    gain: e.gain,
                    drop: e.drop,
                    best_gain,
                    best_drop,
                });
                last = Some(e);
            }
            if eval.best().is_none() {
                // Nothing feasible: fall back, like RL, to 8/8 with replication.
                last = Some(eval.evaluate(vec![Precision::BASELINE; problem.len()])?);
            }
            best_or_last(method, &eval, last, start)
        }
        Method::Rl => {
            let outcome = rl::search(&mut eval, &tools.rl, projector.as_ref(), on_episode)?;
            let last = match outcome.best {
                Some(_) => None,
                // No feasible episode: fall back to 8/8 with replication, which is.
                None => Some(eval.evaluate(vec![Precision::BASELINE; problem.len()])?),
            };
            best_or_last(method, &eval, last, start)
        }
        Method::PrecisionOnly => {
            let precisions = match tools.precisions.clone() {
                Some(p) => p,
                None => {
                    let outcome = rl::search(&mut eval, &tools.rl, projector.as_ref(), on_episode)?;
                    outcome
                        .best
                        .map_or_else(|| vec![Precision::BASELINE; problem.len()], |b| b.precisions)
                }
            };
            let precisions = problem.pin(precisions);
            let costs = problem.costs(&precisions)?;
            let drop = tools.oracle.drop(&precisions)?;
            unreplicated(problem, method, precisions, &costs, drop, start)
        }
        Method::Milp => {
            let drops = tools.layer_drops.ok_or_else(|| {
                SearchError::Input("the joint MILP needs the additive proxy (--accuracy proxy)".into())
            })?;
            // Warm start: the budget projection of 8/8 (one evaluation through the exact
            // replicator), which is feasible and usually close, so CBC prunes from the start.
            let baseline = vec![Precision::BASELINE; problem.len()];
            let greedy = projector.as_ref().map_or(baseline.clone(), |p| p.project(&baseline));
            let warm = eval.evaluate(greedy)?;
            let evaluations = eval.evaluations() + 1;
            let warm = warm
                .feasible
                .then_some((warm.precisions.as_slice(), warm.replication.as_slice()));
            let solution = solve_joint_from(problem, drops, tools.milp_time_limit, warm)?
                .ok_or_else(|| SearchError::Input("no assignment fits both the area and the accuracy budget".into()))?;
            let mut solution = solution;
            if problem.physical.is_some() {
                // The MILP's items were conservative (see `milp`): replicate its precisions
                // exactly, which can only do as well or better.
                let exact = eval.evaluate(solution.precisions.clone())?;
                if let Some(t) = exact.totals {
                    let joint = problem.totals(
                        &solution.precisions,
                        &problem.costs(&solution.precisions)?,
                        &solution.replication,
                    )?;
                    let exact_gain = problem.gain_of(&solution.precisions, &exact.replication, &t)?;
                    if exact_gain >= problem.gain_of(&solution.precisions, &solution.replication, &joint)? {
                        solution.replication = exact.replication;
                    }
                }
            }
            let t = problem.totals(
                &solution.precisions,
                &problem.costs(&solution.precisions)?,
                &solution.replication,
            )?;
            let drop = tools.oracle.drop(&solution.precisions)?;
            Ok(MethodResult {
                method,
                gain: problem.gain_of(&solution.precisions, &solution.replication, &t)?,
                feasible: within_drop_budget(drop, problem.max_drop),
                precisions: solution.precisions,
                replication: solution.replication,
                totals: t,
                drop,
                evaluations,
                seconds: start.elapsed().as_secs_f64(),
                history: Vec::new(),
                proven_optimal: Some(solution.proven_optimal),
            })
        }
    }
}

fn best_or_last(
    method: Method,
    eval: &Evaluator<'_>,
    last: Option<Evaluation>,
    start: Instant,
) -> Result<MethodResult, SearchError> {
    let n = eval.evaluations();
    let result = match (eval.best().cloned(), last) {
        (Some(best), _) => from_eval(method, best, n, start),
        (None, Some(last)) if last.totals.is_some() => from_eval(method, last, n, start),
        _ => Err(SearchError::Input(format!(
            "{method}: no evaluated mapping fits the budget"
        ))),
    }?;
    Ok(MethodResult {
        history: eval.history().to_vec(),
        ..result
    })
}

/// The result of one unreplicated mapping at `precisions` (`costs` are theirs), checked
/// against the accuracy and area budgets.
fn unreplicated(
    problem: &SearchProblem,
    method: Method,
    precisions: Vec<Precision>,
    costs: &[LayerCost],
    drop: f64,
    start: Instant,
) -> Result<MethodResult, SearchError> {
    let replication = vec![1; problem.len()];
    let t = problem.totals(&precisions, costs, &replication)?;
    let area = problem.charged_area(costs, &replication)?;
    let gain = problem.gain_of(&precisions, &replication, &t)?;
    Ok(MethodResult {
        method,
        precisions,
        replication,
        totals: t,
        gain,
        drop,
        feasible: drop <= problem.max_drop && area <= problem.budget.units(),
        evaluations: 1,
        seconds: start.elapsed().as_secs_f64(),
        history: Vec::new(),
        proven_optimal: None,
    })
}
