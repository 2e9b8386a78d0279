//! One evaluation of a precision assignment: exact replication, then accuracy, then reward.
//!
//! Every search method (RL, random, uniform, greedy) goes through the same [`Evaluator`], so
//! they are compared on the same cost model, the same replication optimiser and the same
//! accuracy oracle, and "number of evaluations" means the same thing for all of them.
//!
//! Reward (documented in `docs/search.md`): `ln(gain)` when the accuracy drop is within
//! the budget, else `ln(gain) - EXCESS_PENALTY * (drop - max_drop) / max(max_drop, 0.1)`.
//! `ln` makes a doubling of the gain worth the same anywhere on the scale; the penalty is
//! proportional to the excess so an almost-feasible assignment still teaches the agent which
//! way to go. A mapping that does not fit the area budget at all gets [`NO_FIT_REWARD`].

use std::collections::HashMap;

use imc_model::{LayerCost, Precision, Totals};

use super::knapsack::within_drop_budget;
use super::problem::{Goal, SearchError, SearchProblem};
use crate::accuracy::AccuracyError;
use crate::replicate::{Budget, Physical};

/// Reward lost per accuracy budget of excess drop.
pub const EXCESS_PENALTY: f64 = 3.0;
/// Reward of a mapping that does not fit the area budget even unreplicated.
pub const NO_FIT_REWARD: f64 = -10.0;

/// The exact replication optimiser, as the search sees it: replication factors minimising
/// `goal` under `budget` for fixed per-layer costs (and, under the physical model, the layers
/// it sees), or `None` when even the cheapest replication does not fit.
pub trait Replicator {
    /// Replication factors, one per layer.
    fn replicate(
        &mut self,
        costs: &[LayerCost],
        physical: Option<&Physical>,
        budget: Budget,
        goal: Goal,
    ) -> Result<Option<Vec<u64>>, SearchError>;
}

impl<F> Replicator for F
where
    F: FnMut(&[LayerCost], Option<&Physical>, Budget, Goal) -> Result<Option<Vec<u64>>, SearchError>,
{
    fn replicate(
        &mut self,
        costs: &[LayerCost],
        physical: Option<&Physical>,
        budget: Budget,
        goal: Goal,
    ) -> Result<Option<Vec<u64>>, SearchError> {
        self(costs, physical, budget, goal)
    }
}

/// An accuracy oracle: the drop, in percentage points, of the network at these precisions.
pub trait DropOracle {
    /// Accuracy drop in percentage points.
    fn drop(&mut self, precisions: &[Precision]) -> Result<f64, SearchError>;
}

impl<F> DropOracle for F
where
    F: FnMut(&[Precision]) -> Result<f64, SearchError>,
{
    fn drop(&mut self, precisions: &[Precision]) -> Result<f64, SearchError> {
        self(precisions)
    }
}

/// The outcome of one evaluated assignment.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Per-layer precisions.
    pub precisions: Vec<Precision>,
    /// Per-layer replication (all ones when the mapping does not fit).
    pub replication: Vec<u64>,
    /// Totals of the mapping; `None` when it does not fit the budget.
    pub totals: Option<Totals>,
    /// Gain of the goal over the baseline (0 when it does not fit).
    pub gain: f64,
    /// Accuracy drop in percentage points.
    pub drop: f64,
    /// Fits the area budget and the accuracy budget.
    pub feasible: bool,
    /// Reward as defined in the module documentation.
    pub reward: f64,
}

/// Evaluates assignments, counts evaluations and keeps the best feasible one.
pub struct Evaluator<'a> {
    problem: &'a SearchProblem,
    replicator: &'a mut dyn Replicator,
    oracle: &'a mut dyn DropOracle,
    drops: HashMap<Vec<Precision>, f64>,
    evaluations: usize,
    best: Option<Evaluation>,
    history: Vec<(f64, f64)>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator for `problem` with this optimiser and oracle.
    pub fn new(problem: &'a SearchProblem, replicator: &'a mut dyn Replicator, oracle: &'a mut dyn DropOracle) -> Self {
        Evaluator {
            problem,
            replicator,
            oracle,
            drops: HashMap::new(),
            evaluations: 0,
            best: None,
            history: Vec::new(),
        }
    }

    /// The problem being searched.
    pub fn problem(&self) -> &'a SearchProblem {
        self.problem
    }

    /// Evaluations so far (repeats count: each is one step of the search).
    pub fn evaluations(&self) -> usize {
        self.evaluations
    }

    /// Whether `precisions` (pinned as [`Evaluator::evaluate`] pins them) was evaluated
    /// before: the oracle cache holds every assignment evaluated.
    pub fn evaluated_before(&self, precisions: &[Precision]) -> bool {
        self.drops.contains_key(&self.problem.pin(precisions.to_vec()))
    }

    /// Best feasible evaluation so far (highest gain, then lowest drop).
    pub fn best(&self) -> Option<&Evaluation> {
        self.best.as_ref()
    }

    /// `(gain, drop)` of every evaluation, in order.
    pub fn history(&self) -> &[(f64, f64)] {
        &self.history
    }

    /// Replicates exactly, queries the oracle (cached per assignment) and scores.
    /// Pinned layers are forced to 8/8 first.
    pub fn evaluate(&mut self, precisions: Vec<Precision>) -> Result<Evaluation, SearchError> {
        let p = self.problem;
        let precisions = p.pin(precisions);
        let costs = p.costs(&precisions)?;
        let layers = match p.physical {
            Some(_) => p.phys_layers(&precisions),
            None => Vec::new(),
        };
        let replication = self
            .replicator
            .replicate(&costs, p.physical_view(&layers).as_ref(), p.budget, p.goal)?;
        let drop = match self.drops.get(&precisions) {
            Some(&d) => d,
            None => {
                let d = self.oracle.drop(&precisions)?;
                if !d.is_finite() {
                    return Err(SearchError::Accuracy(AccuracyError::NotFinite(d)));
                }
                self.drops.insert(precisions.clone(), d);
                d
            }
        };
        let excess = (drop - p.max_drop).max(0.0) / p.max_drop.max(0.1);
        let eval = match replication {
            Some(replication) => {
                let t = p.totals(&precisions, &costs, &replication)?;
                let area = p.charged_area(&costs, &replication)?;
                if area > p.budget.units() {
                    return Err(SearchError::Solver(format!(
                        "area {} exceeds the budget {}",
                        p.budget.same_unit(area),
                        p.budget
                    )));
                }
                let gain = p.gain_of(&precisions, &replication, &t)?;
                Evaluation {
                    precisions,
                    replication,
                    totals: Some(t),
                    gain,
                    drop,
                    feasible: within_drop_budget(drop, p.max_drop),
                    reward: gain.ln() - EXCESS_PENALTY * excess,
                }
            }
            None => Evaluation {
                replication: vec![1; precisions.len()],
                precisions,
                totals: None,
                gain: 0.0,
                drop,
                feasible: false,
                reward: NO_FIT_REWARD - EXCESS_PENALTY * excess,
            },
        };
        self.evaluations += 1;
        self.history.push((eval.gain, eval.drop));
        let better = match &self.best {
            None => eval.feasible,
            Some(b) => eval.feasible && (eval.gain > b.gain || (eval.gain == b.gain && eval.drop < b.drop)),
        };
        if better {
            self.best = Some(eval.clone());
        }
        Ok(eval)
    }
}
