//! LRMP search: per-layer weight and activation precisions plus replication, under an area
//! budget and an accuracy budget.
//!
//! - [`problem`]: the validated [`SearchProblem`] (network, arch, budget, goal, bit choices).
//! - [`evaluate`]: one evaluation = exact replication + accuracy oracle + reward; every
//!   method goes through it.
//! - [`agent`], [`mlp`], [`rl`]: the HAQ-style DDPG agent on candle (CPU) and its loop.
//! - [`project`]: the accuracy-budget projection (repair, then spend) used by RL and random.
//! - [`knapsack`]: the multiple-choice knapsack core (items, Pareto filter, CBC model).
//! - [`milp`]: the exact joint MILP (precisions and replication at once, additive proxy),
//!   with [`interval`]'s bisection for the throughput goal.
//! - [`methods`]: baselines and every method behind [`run_method`].
//!
//! Invariants: every cost comes from `imc_model::cost`; the same seed gives the same result.

pub mod adapters;
pub mod agent;
pub mod evaluate;
pub mod interval;
pub mod knapsack;
pub mod methods;
pub mod milp;
pub mod mlp;
pub mod problem;
pub mod project;
pub mod rl;

pub use evaluate::{DropOracle, Evaluation, Evaluator, Replicator};
pub use knapsack::{replication_levels, within_drop_budget, DROP_TOLERANCE};
pub use methods::{run_method, Method, MethodResult, Tools};
pub use milp::{replicate_exact, solve_joint, solve_joint_from, JointSolution, LayerDrops};
pub use problem::{Goal, ProblemSpec, SearchError, SearchProblem};
pub use project::Projector;
pub use rl::{EpisodeReport, RlConfig};
#[cfg(test)]
mod tests;
