//! Adapters from the project's replication optimiser and accuracy oracles to the search's
//! small interfaces ([`Replicator`], [`DropOracle`], [`LayerDrops`]).
//!
//! The replicator is the exact fast path of [`crate::replicate`] (bisection for the
//! interval, knapsack DP for latency), with the exact ILP when the DP table would be too
//! large; a budget below one replica per layer is "does not fit", not an error.

use std::time::Duration;

use imc_model::{ArchConfig, LayerCost, Precision};

use super::evaluate::{DropOracle, Replicator};
use super::methods::{run_method, Method, MethodResult, Tools};
use super::milp::LayerDrops;
use super::problem::SearchProblem;
use super::problem::{Goal, SearchError};
use super::rl::{EpisodeReport, RlConfig};
use crate::accuracy::proxy::{ProxyConstants, ProxyOracle};
use crate::accuracy::{self, AccuracyOracle, OracleSpec};
use crate::network::Network;
use crate::replicate::{self, Budget, Constraints, Objective, Physical, ReplicateError, SolverChoice};

/// The exact replication optimiser of [`crate::replicate`], fast path first.
pub struct ExactReplicator {
    arch: ArchConfig,
}

impl ExactReplicator {
    /// For this architecture.
    pub fn new(arch: ArchConfig) -> Self {
        ExactReplicator { arch }
    }
}

fn objective(goal: Goal) -> Objective {
    match goal {
        Goal::Latency => Objective::Latency,
        Goal::Throughput => Objective::Throughput,
        Goal::Energy => Objective::Energy,
        Goal::Edp => Objective::Edp,
    }
}

impl Replicator for ExactReplicator {
    fn replicate(
        &mut self,
        costs: &[LayerCost],
        physical: Option<&Physical>,
        budget: Budget,
        goal: Goal,
    ) -> Result<Option<Vec<u64>>, SearchError> {
        let none = Constraints::default();
        let plan = match goal {
            Goal::Throughput => replicate::min_interval(&self.arch, costs, physical, budget, &none),
            Goal::Latency => replicate::min_latency(&self.arch, costs, physical, budget, &none),
            // The energy sweep (through `solve`, which chooses it for these objectives).
            Goal::Energy | Goal::Edp => Err(ReplicateError::NoFastPath("energy")),
        };
        match plan {
            Ok(plan) => Ok(Some(plan.replication)),
            Err(ReplicateError::Infeasible { .. }) => Ok(None),
            Err(ReplicateError::NoFastPath(_)) => {
                let problem = replicate::Problem {
                    arch: &self.arch,
                    costs,
                    physical: physical.copied(),
                    budget,
                    objective: objective(goal),
                    constraints: none,
                };
                let solver = match goal.is_energy() {
                    true => SolverChoice::Auto,
                    false => SolverChoice::Ilp,
                };
                match replicate::solve(&problem, solver) {
                    Ok(s) => Ok(Some(s.replication)),
                    Err(ReplicateError::Infeasible { .. }) => Ok(None),
                    Err(e) => Err(SearchError::Replication(e)),
                }
            }
            Err(e) => Err(SearchError::Replication(e)),
        }
    }
}

/// Any [`AccuracyOracle`] as the search's oracle.
pub struct OracleAdapter<'a>(pub &'a mut dyn AccuracyOracle);

impl DropOracle for OracleAdapter<'_> {
    fn drop(&mut self, precisions: &[Precision]) -> Result<f64, SearchError> {
        self.0.accuracy_drop(precisions).map_err(SearchError::Accuracy)
    }
}

impl LayerDrops for ProxyOracle {
    fn layer_drop(&self, layer: usize, precision: Precision) -> f64 {
        ProxyOracle::layer_drop(self, layer, precision)
    }
}

/// Runs `method` on `problem` with the project's exact replicator and the oracle `oracle`.
/// The fitted proxy's per-layer terms serve the budget projection and the joint MILP for
/// every oracle; the drops reported are always the oracle's own (for the MILP: its answer
/// measured by the oracle).
pub fn run_with_project_tools(
    network: &Network,
    problem: &SearchProblem,
    oracle: &OracleSpec,
    method: Method,
    rl: RlConfig,
    precisions: Option<Vec<Precision>>,
    on_episode: &mut dyn FnMut(EpisodeReport),
) -> Result<MethodResult, SearchError> {
    let mut built = accuracy::build(oracle, network, &problem.arch).map_err(SearchError::Accuracy)?;
    run_with_oracle(network, problem, built.as_mut(), method, rl, precisions, on_episode)
}

/// As [`run_with_project_tools`] with an oracle the caller keeps (so its cache serves
/// several methods).
pub fn run_with_oracle(
    network: &Network,
    problem: &SearchProblem,
    oracle: &mut dyn AccuracyOracle,
    method: Method,
    rl: RlConfig,
    precisions: Option<Vec<Precision>>,
    on_episode: &mut dyn FnMut(EpisodeReport),
) -> Result<MethodResult, SearchError> {
    let proxy = ProxyOracle::new(network, &ProxyConstants::committed().map_err(SearchError::Accuracy)?);
    let mut replicator = ExactReplicator::new(problem.arch);
    let mut adapter = OracleAdapter(oracle);
    let mut tools = Tools {
        replicator: &mut replicator,
        oracle: &mut adapter,
        layer_drops: Some(&proxy),
        rl,
        precisions,
        milp_time_limit: Duration::from_secs(20),
    };
    run_method(problem, method, &mut tools, on_episode)
}
