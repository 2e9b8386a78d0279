//! Optimal replication for fixed per-layer precisions (DESIGN sections 3 and 9).
//!
//! Given each layer's [`LayerCost`], choose `1 <= r_l <= P_l` minimising the latency
//! `sum T_l`, the interval `max T_l` (with the chip floors) or a weighted mix, with the
//! charged area within the budget and optional caps (replication per layer, total tiles,
//! tile-exclusive placement). Under the ideal model (section 3) area is `sum r_l X_l`
//! crossbars; under the physical model ([`Physical`], section 9) it is whole IMAs,
//! `sum ceil(r_l X_l / xbars_per_ima)`, and `T_l` carries the ingress, egress and buffer
//! floors of section 9.3.
//!
//! - [`solve`]: the full answer with bounds, by the exact fast path or the ILP
//!   ([`SolverChoice`]); an ILP failure falls back to the exact fast path where one applies.
//! - [`min_interval`], [`min_latency`]: the exact fast paths alone, for search loops.
//! - [`Instance`]: the candidate lists every solver shares.
//!
//! ## Invariants
//! - Every returned replication is feasible and its [`Totals`] come from
//!   `imc_model::cost::totals`; no formula is re-implemented here.
//! - "Exact" means optimal over all integer replications meeting the constraints; the
//!   candidate reduction loses nothing (module `instance`).
//! - Bounds never exceed the optimum; `gap >= 0`.

mod bounds;
mod energy;
mod fast;
mod ilp;
mod instance;
#[cfg(test)]
mod physical_tests;
#[cfg(test)]
mod tests;

use std::fmt;

use imc_model::cost::totals;
use imc_model::physical::{self, Imas, PhysLayer, PhysicalConfig};
use imc_model::{ArchConfig, Crossbars, Cycles, LayerCost, Totals};

pub use bounds::balance_bound;
pub use fast::DP_CELL_LIMIT;
pub use instance::{Candidate, Instance};

/// What to minimise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Objective {
    /// Latency of one inference, `L = sum T_l`.
    Latency,
    /// Pipelined interval `I = max T_l` (maximises throughput).
    Throughput,
    /// `alpha * L / L0 + (1 - alpha) * I / I0`, with `L0`, `I0` the unreplicated (`r = 1`)
    /// latency and interval of the same costs; `alpha` in `0..=1`.
    Mixed {
        /// Weight of latency.
        alpha: f64,
    },
    /// Energy per inference, then latency (physical model only, DESIGN 9.4).
    Energy,
    /// Energy per inference times latency (physical model only, DESIGN 9.4).
    Edp,
}

/// Optional placement constraints; the default has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Constraints {
    /// At most this many replicas of any layer.
    pub max_replication: Option<u64>,
    /// At most this many tiles in use (also capped by a non-zero `ArchConfig::tiles`).
    pub max_tiles: Option<u64>,
    /// A tile holds replicas of one layer only: a layer's area is rounded up to whole tiles.
    pub tile_exclusive: bool,
}

/// The physical model of DESIGN section 9 applied to a mapping: its parameters and every
/// layer as that model sees it (shape, precision, the next layer's activation bits, stride).
#[derive(Clone, Copy, Debug)]
pub struct Physical<'a> {
    /// Hierarchy, widths, areas and energies.
    pub config: &'a PhysicalConfig,
    /// One per layer, in execution order, at the same precisions as the costs.
    pub layers: &'a [PhysLayer],
}

/// An area budget in the unit its model allocates: crossbars under the ideal model (DESIGN
/// section 3), whole IMAs under the physical model (section 9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// Crossbars, `sum r_l X_l`.
    Crossbars(Crossbars),
    /// IMAs, `sum ceil(r_l X_l / xbars_per_ima)`.
    Imas(Imas),
}

impl Budget {
    /// The count, in the budget's own unit.
    pub const fn units(self) -> u64 {
        match self {
            Budget::Crossbars(x) => x.get(),
            Budget::Imas(i) => i.get(),
        }
    }

    /// The most crossbars the budget can hold: itself, or its IMAs times `xbars_per_ima`.
    pub const fn max_crossbars(self, xbars_per_ima: u64) -> u64 {
        match self {
            Budget::Crossbars(x) => x.get(),
            Budget::Imas(i) => i.get().saturating_mul(xbars_per_ima),
        }
    }

    /// `n` in the same unit as `self`.
    pub const fn same_unit(self, n: u64) -> Budget {
        match self {
            Budget::Crossbars(_) => Budget::Crossbars(Crossbars::new(n)),
            Budget::Imas(_) => Budget::Imas(Imas::new(n)),
        }
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Budget::Crossbars(x) => x.fmt(f),
            Budget::Imas(i) => i.fmt(f),
        }
    }
}

/// A replication problem.
#[derive(Clone, Copy, Debug)]
pub struct Problem<'a> {
    /// Hardware parameters (tile size, tile count, NoC).
    pub arch: &'a ArchConfig,
    /// Per-layer costs at the chosen precisions, in execution order.
    pub costs: &'a [LayerCost],
    /// The physical model, or `None` for the ideal model of section 3 alone.
    pub physical: Option<Physical<'a>>,
    /// Area budget: crossbars under the ideal model, IMAs under the physical one.
    pub budget: Budget,
    /// What to minimise.
    pub objective: Objective,
    /// Extra constraints.
    pub constraints: Constraints,
}

/// Which solver [`solve`] uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SolverChoice {
    /// The fastest exact method for the request: the fast path unless the objective is mixed
    /// (or the latency DP table would be too large), else the ILP.
    #[default]
    Auto,
    /// The ILP through CBC.
    Ilp,
    /// The exact fast path (an error for the mixed objective).
    FastPath,
}

/// Which solver produced a [`Solution`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SolverUsed {
    /// Bisection (throughput) or knapsack DP (latency).
    FastPath,
    /// CBC on the ILP.
    Ilp,
    /// The interval sweep of the energy objectives, with its lower bound.
    EnergySweep,
}

impl SolverUsed {
    /// Name for reports: `"fast-path"`, `"ilp"` or `"energy-sweep"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SolverUsed::FastPath => "fast-path",
            SolverUsed::Ilp => "ilp",
            SolverUsed::EnergySweep => "energy-sweep",
        }
    }
}

/// Lower bounds and the result's distance to them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// Perfect-balance bound on the interval, `sum_l P_l X_l t_l / budget` cycles.
    pub balance: f64,
    /// Tightest proven interval bound: balance with `r_l >= 1`, per-layer floor at the
    /// largest affordable replication, chip NoC floor.
    pub interval_floor: Cycles,
    /// Latency bound: every layer at its largest affordable replication at once.
    pub latency_floor: Cycles,
    /// LP relaxation of the ILP, in objective units; `None` if it was not computed.
    pub lp_relaxation: Option<f64>,
    /// `(objective - bound) / bound` against the best bound for the objective (0 = proven
    /// optimal by the bound alone).
    pub gap: f64,
}

/// A replication with its totals and how it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    /// Replication factor per layer.
    pub replication: Vec<u64>,
    /// Latency, interval and area (`sum r_l X_l`) from the cost model.
    pub totals: Totals,
    /// Area charged against the budget (tile-rounded under tile-exclusive placement).
    pub charged_area: Budget,
    /// Tiles in use.
    pub tiles: u64,
    /// Objective value: cycles for latency/throughput, the weighted score for the mix.
    pub objective_value: f64,
    /// The solver that produced the replication.
    pub solver: SolverUsed,
    /// Lower bounds and gap.
    pub bounds: Bounds,
    /// Anything the caller should know (a fallback, an unproven optimum).
    pub note: Option<String>,
}

/// A replication and its totals, from a fast path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Replication factor per layer.
    pub replication: Vec<u64>,
    /// Latency, interval and area from the cost model.
    pub totals: Totals,
}

/// Why no replication was returned.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplicateError {
    /// The network has no layers.
    NoLayers,
    /// A layer with zero positions (not a valid cost).
    ZeroPositions {
        /// Layer index.
        layer: usize,
    },
    /// The mixed objective's weight is not in `0..=1`.
    InvalidAlpha(f64),
    /// The budget is below the area of one replica per layer.
    Infeasible {
        /// The budget given.
        budget: Budget,
        /// Smallest charged area of any mapping (all `r = 1`, tile-rounded if exclusive).
        min_area: Budget,
    },
    /// The physical model refused a layer; [`physical::PhysicalError::Buffer`] when no
    /// replication of it fits its line buffers (the figures are those of `r = 1`).
    Physical(physical::PhysicalError),
    /// The tile cap is below the tiles one replica per layer needs.
    TileCapBelowMinimum {
        /// The cap (the smaller of `max_tiles` and the chip's tiles).
        max_tiles: u64,
        /// Tiles of the all-ones mapping.
        min_tiles: u64,
    },
    /// Constraints that no mapping can meet.
    Contradictory(&'static str),
    /// The requested fast path does not apply.
    NoFastPath(&'static str),
    /// The ILP solver failed and no exact fast path applies.
    Solver(String),
    /// A cost does not fit in 64 bits.
    Overflow,
    /// The energy objectives need the physical model.
    NeedsPhysicalModel,
}

impl fmt::Display for ReplicateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplicateError::NoLayers => write!(f, "the network has no mappable layers"),
            ReplicateError::ZeroPositions { layer } => write!(f, "layer {layer} has zero positions"),
            ReplicateError::InvalidAlpha(a) => write!(f, "mixed objective weight {a} is not in 0..=1"),
            ReplicateError::Infeasible { budget, min_area } => write!(
                f,
                "budget of {budget} is infeasible: one replica of every layer needs {min_area}"
            ),
            ReplicateError::TileCapBelowMinimum { max_tiles, min_tiles } => write!(
                f,
                "contradictory constraints: at most {max_tiles} tiles allowed, but one replica of every \
                 layer needs {min_tiles}"
            ),
            ReplicateError::Contradictory(why) => write!(f, "contradictory constraints: {why}"),
            ReplicateError::NoFastPath(why) => write!(f, "no exact fast path: {why}"),
            ReplicateError::Solver(why) => write!(f, "ILP solver failed: {why}"),
            ReplicateError::Overflow => write!(f, "a cost does not fit in 64 bits"),
            ReplicateError::NeedsPhysicalModel => write!(
                f,
                "the energy and edp objectives need the physical model (an architecture with a \
                 [physical] table, such as the default `isaac`; `ideal` has no energy)"
            ),
            ReplicateError::Physical(e) => write!(f, "physical model: {e}"),
        }
    }
}

impl std::error::Error for ReplicateError {}

mod solve;
pub use solve::{min_interval, min_latency, solve, solve_with_time_limit, DEFAULT_ILP_TIME_LIMIT};

/// Totals of a replication, mapping cost-model errors (which a valid choice cannot cause).
/// Under the physical model latency and interval carry its floors; area stays
/// `sum r_l X_l` crossbars.
fn totals_of(
    arch: &ArchConfig,
    costs: &[LayerCost],
    physical: Option<&Physical>,
    replication: &[u64],
) -> Result<Totals, ReplicateError> {
    let ideal = totals(arch, costs, replication).map_err(|_| ReplicateError::Overflow)?;
    match physical {
        None => Ok(ideal),
        Some(p) => {
            let chip =
                physical::chip_timing(arch, p.config, p.layers, replication).map_err(ReplicateError::Physical)?;
            Ok(chip.totals(ideal.area))
        }
    }
}
