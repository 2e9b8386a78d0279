//! The search problem: a network on an architecture, an area budget, an objective, the
//! precision choices and the accuracy budget.
//!
//! A [`SearchProblem`] is validated once: at least one layer, a non-empty set of bit widths,
//! a positive budget, a finite non-negative accuracy budget, and baseline (8/8, `r = 1`) costs
//! that fit in 64 bits. Every cost number comes from `imc_model::cost` and, under the
//! physical model (DESIGN section 9), from `imc_model::physical`: then the budget is in IMAs
//! and times carry the floors.

use std::fmt;

use imc_model::cost::totals;
use imc_model::physical::{self, floors, AreaFactor, PhysLayer, PhysicalConfig, PhysicalError};
use imc_model::{ArchConfig, Bits, CostError, Cycles, LayerCost, LayerShape, Precision, Totals};

use crate::accuracy::AccuracyError;
use crate::network::Network;
use crate::replicate::{Budget, Physical, ReplicateError};

/// What the search minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Goal {
    /// Latency of one inference `L = sum T_l`.
    Latency,
    /// Pipelined interval `I = max T_l` (throughput = clock / I).
    Throughput,
    /// Energy per inference (physical model only, DESIGN 9.4).
    Energy,
    /// Energy per inference times latency (physical model only).
    Edp,
}

impl Goal {
    /// Name used in reports and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Goal::Latency => "latency",
            Goal::Throughput => "throughput",
            Goal::Energy => "energy",
            Goal::Edp => "edp",
        }
    }
    /// The time this goal minimises: latency for `latency` and `edp`, the interval for
    /// `throughput` and `energy` (whose static part follows the interval).
    pub fn metric(self, t: &Totals) -> Cycles {
        match self {
            Goal::Latency | Goal::Edp => t.latency,
            Goal::Throughput | Goal::Energy => t.interval,
        }
    }
    /// True for the goals that need the physical model's energy.
    pub const fn is_energy(self) -> bool {
        matches!(self, Goal::Energy | Goal::Edp)
    }
}

/// Why a search could not be set up or run: the user's input, or the failing part with its
/// own typed error as the source.
#[derive(Debug)]
pub enum SearchError {
    /// The problem itself is malformed (bad budget, empty bit set, ...): the user's input.
    Input(String),
    /// The section 3 cost model refused a mapping (an overflow).
    Cost(CostError),
    /// The physical model refused a mapping.
    Physical(PhysicalError),
    /// The replication optimiser failed.
    Replication(ReplicateError),
    /// The accuracy oracle failed.
    Accuracy(AccuracyError),
    /// A solver or the agent's tensors failed, or a result broke an invariant.
    Solver(String),
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SearchError::Input(m) => write!(f, "invalid search problem: {m}"),
            SearchError::Cost(e) => write!(f, "cost model: {e}"),
            SearchError::Physical(e) => write!(f, "physical model: {e}"),
            SearchError::Replication(e) => write!(f, "replication optimiser: {e}"),
            SearchError::Accuracy(e) => write!(f, "accuracy oracle: {e}"),
            SearchError::Solver(m) => write!(f, "solver: {m}"),
        }
    }
}

impl std::error::Error for SearchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SearchError::Cost(e) => Some(e),
            SearchError::Physical(e) => Some(e),
            SearchError::Replication(e) => Some(e),
            SearchError::Accuracy(e) => Some(e),
            SearchError::Input(_) | SearchError::Solver(_) => None,
        }
    }
}

impl From<CostError> for SearchError {
    fn from(e: CostError) -> Self {
        SearchError::Cost(e)
    }
}

impl From<PhysicalError> for SearchError {
    fn from(e: PhysicalError) -> Self {
        SearchError::Physical(e)
    }
}

impl From<ReplicateError> for SearchError {
    fn from(e: ReplicateError) -> Self {
        SearchError::Replication(e)
    }
}

impl From<AccuracyError> for SearchError {
    fn from(e: AccuracyError) -> Self {
        SearchError::Accuracy(e)
    }
}

/// Raw knobs of a problem; validated by [`SearchProblem::new`].
#[derive(Clone, Debug)]
pub struct ProblemSpec {
    /// Area budget as a multiple of the baseline area `A_0`.
    pub area_factor: f64,
    /// What to minimise.
    pub goal: Goal,
    /// Bit widths the search may choose for `b_w` and `b_a`.
    pub bits: Vec<u8>,
    /// Let the first and last layers leave 8/8.
    pub free_ends: bool,
    /// Accuracy budget in percentage points.
    pub max_drop: f64,
}

impl Default for ProblemSpec {
    fn default() -> Self {
        ProblemSpec {
            area_factor: 1.0,
            goal: Goal::Latency,
            bits: (2..=8).collect(),
            free_ends: false,
            max_drop: 1.0,
        }
    }
}

/// A validated search problem.
#[derive(Clone, Debug)]
pub struct SearchProblem {
    /// Hardware.
    pub arch: ArchConfig,
    /// The physical model (DESIGN section 9), `None` for section 3 alone.
    pub physical: Option<PhysicalConfig>,
    /// Network name (reports).
    pub network: String,
    /// Layer names, in order.
    pub names: Vec<String>,
    /// Layer shapes, in order.
    pub shapes: Vec<LayerShape>,
    /// Layer strides (height, width), in order.
    pub strides: Vec<(u32, u32)>,
    /// Area budget: crossbars, or IMAs under the physical model.
    pub budget: Budget,
    /// What to minimise.
    pub goal: Goal,
    /// Allowed bit widths, ascending, deduplicated, non-empty.
    pub bits: Vec<Bits>,
    /// Layers pinned to 8/8.
    pub pinned: Vec<bool>,
    /// Accuracy budget in percentage points.
    pub max_drop: f64,
    /// Baseline costs (8/8).
    pub baseline_costs: Vec<LayerCost>,
    /// Baseline totals (8/8, `r = 1`).
    pub baseline: Totals,
    /// Baseline energy per inference in pJ (physical model only).
    pub baseline_energy: Option<f64>,
}

impl SearchProblem {
    /// Validates `spec` for `network` on `arch` under the model of DESIGN section 3 alone.
    pub fn new(arch: ArchConfig, network: &Network, spec: &ProblemSpec) -> Result<SearchProblem, SearchError> {
        SearchProblem::with_physical(arch, None, network, spec)
    }

    /// Validates `spec` for `network` on `arch`, under the physical model when `physical` is
    /// given (the budget is then the IMAs of DESIGN 9.2).
    pub fn with_physical(
        arch: ArchConfig,
        physical: Option<PhysicalConfig>,
        network: &Network,
        spec: &ProblemSpec,
    ) -> Result<SearchProblem, SearchError> {
        let shapes: Vec<LayerShape> = network.layers.iter().map(|l| l.shape).collect();
        if shapes.is_empty() {
            return Err(SearchError::Input("the network has no mappable layer".into()));
        }
        if !(spec.area_factor.is_finite() && spec.area_factor > 0.0) {
            return Err(SearchError::Input(format!(
                "area factor {} must be positive",
                spec.area_factor
            )));
        }
        if !(spec.max_drop.is_finite() && spec.max_drop >= 0.0) {
            return Err(SearchError::Input(format!(
                "accuracy budget {} must be >= 0",
                spec.max_drop
            )));
        }
        let mut bits: Vec<Bits> = Vec::new();
        for &b in &spec.bits {
            let checked = Bits::new(b)
                .filter(|_| b <= 8)
                .ok_or_else(|| SearchError::Input(format!("bit width {b} is outside 1..=8")))?;
            bits.push(checked);
        }
        bits.sort();
        bits.dedup();
        if bits.is_empty() {
            return Err(SearchError::Input("no bit width to choose from".into()));
        }
        if spec.goal.is_energy() && physical.is_none() {
            return Err(SearchError::Input(format!(
                "the {} objective needs the physical model (an architecture with a [physical] table, \
                 such as the default `isaac`)",
                spec.goal.as_str()
            )));
        }
        let baseline_costs = shapes
            .iter()
            .map(|s| LayerCost::new(&arch, s, Precision::BASELINE))
            .collect::<Result<Vec<_>, _>>()?;
        let n = shapes.len();
        let ideal = totals(&arch, &baseline_costs, &vec![1; n])?;
        let no_budget = || SearchError::Input(format!("area factor {} gives no usable budget", spec.area_factor));
        let mut baseline_energy = None;
        let (baseline, budget) = match &physical {
            None => {
                // floor(F * A_0); f64 is exact for any realistic crossbar count (< 2^53).
                let budget = (spec.area_factor * ideal.area.get() as f64).floor();
                if budget < 1.0 || budget >= u64::MAX as f64 {
                    return Err(no_budget());
                }
                (ideal, Budget::Crossbars(imc_model::Crossbars::new(budget as u64)))
            }
            Some(config) => {
                let baseline = vec![Precision::BASELINE; n];
                let layers: Vec<PhysLayer> =
                    floors::chain(network.layers.iter().map(|l| (l.shape, l.stride.0)), &baseline).collect();
                let chip = physical::chip_timing(&arch, config, &layers, &vec![1; n]).map_err(|e| match e {
                    PhysicalError::Buffer { layer, .. } => SearchError::Input(format!(
                        "layer `{}` at 8/8: {e}",
                        network.layers.get(layer).map_or("?", |l| l.name.as_str())
                    )),
                    other => other.into(),
                })?;
                let factor = AreaFactor::from_decimal_str(&spec.area_factor.to_string()).map_err(|_| no_budget())?;
                let imas = physical::budget_imas(config, chip.placement.imas, factor)?;
                if imas.get() == 0 {
                    return Err(no_budget());
                }
                let baseline = chip.totals(ideal.area);
                baseline_energy = Some(
                    physical::chip_report(&arch, config, &layers, &vec![1; n])?
                        .energy
                        .total
                        .to_f64(),
                );
                (baseline, Budget::Imas(imas))
            }
        };
        let pinned = (0..n).map(|i| !spec.free_ends && (i == 0 || i + 1 == n)).collect();
        Ok(SearchProblem {
            arch,
            physical,
            network: network.name.clone(),
            names: network.layers.iter().map(|l| l.name.clone()).collect(),
            strides: network.layers.iter().map(|l| l.stride).collect(),
            shapes,
            budget,
            goal: spec.goal,
            bits,
            pinned,
            max_drop: spec.max_drop,
            baseline_costs,
            baseline,
            baseline_energy,
        })
    }

    /// Every layer at `precisions` as the physical model sees it (one per layer).
    pub fn phys_layers(&self, precisions: &[Precision]) -> Vec<PhysLayer> {
        let layers = self.shapes.iter().zip(&self.strides).map(|(s, stride)| (*s, stride.0));
        floors::chain(layers, precisions).collect()
    }

    /// Latency, interval (with the physical floors when the model has them) and crossbar
    /// area of a mapping; `costs` are those of `precisions`.
    pub fn totals(
        &self,
        precisions: &[Precision],
        costs: &[LayerCost],
        replication: &[u64],
    ) -> Result<Totals, SearchError> {
        let ideal = totals(&self.arch, costs, replication)?;
        match &self.physical {
            None => Ok(ideal),
            Some(config) => {
                let chip = physical::chip_timing(&self.arch, config, &self.phys_layers(precisions), replication)?;
                Ok(chip.totals(ideal.area))
            }
        }
    }

    /// Area of a mapping in the budget's unit: `sum r X` crossbars, or IMAs.
    pub fn charged_area(&self, costs: &[LayerCost], replication: &[u64]) -> Result<u64, SearchError> {
        let mut sum: u64 = 0;
        for (c, &r) in costs.iter().zip(replication) {
            let a = match &self.physical {
                None => c.area(r).map(|a| a.get()),
                Some(config) => physical::placement::layer_imas(config, c.xbars, r)
                    .ok()
                    .map(|i| i.get()),
            };
            sum = a
                .and_then(|a| sum.checked_add(a))
                .ok_or(SearchError::Cost(CostError::Overflow))?;
        }
        Ok(sum)
    }

    /// Crossbars the budget can hold: the budget itself, or its IMAs times `xbars_per_ima`
    /// (what the relaxed heuristics of the projection compare crossbar areas with).
    pub fn budget_xbars(&self) -> u64 {
        self.budget
            .max_crossbars(self.physical.map_or(1, |p| p.xbars_per_ima()))
    }

    /// The physical model applied to `layers` (from [`SearchProblem::phys_layers`]).
    pub fn physical_view<'a>(&'a self, layers: &'a [PhysLayer]) -> Option<Physical<'a>> {
        self.physical.as_ref().map(|config| Physical { config, layers })
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.shapes.len()
    }

    /// Always false: a problem has at least one layer.
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// Per-layer costs at `precisions` (one per layer).
    pub fn costs(&self, precisions: &[Precision]) -> Result<Vec<LayerCost>, SearchError> {
        if precisions.len() != self.len() {
            return Err(SearchError::Input(format!(
                "{} precisions for {} layers",
                precisions.len(),
                self.len()
            )));
        }
        self.shapes
            .iter()
            .zip(precisions)
            .map(|(s, p)| LayerCost::new(&self.arch, s, *p).map_err(SearchError::from))
            .collect()
    }

    /// Baseline figure of a time goal over the result's: `L_0 / L` or `I_0 / I` (for the
    /// energy goals, the time they follow; [`SearchProblem::gain_of`] is their gain).
    pub fn gain(&self, t: &Totals) -> f64 {
        let base = self.goal.metric(&self.baseline).get() as f64;
        base / (self.goal.metric(t).get().max(1) as f64)
    }

    /// Baseline figure of the goal over the mapping's: `L_0 / L`, `I_0 / I`, `E_0 / E` or
    /// `E_0 L_0 / (E L)`; `t` are the mapping's totals.
    pub fn gain_of(&self, precisions: &[Precision], replication: &[u64], t: &Totals) -> Result<f64, SearchError> {
        match (self.goal, &self.physical, self.baseline_energy) {
            (Goal::Energy | Goal::Edp, Some(config), Some(e0)) => {
                let chip = physical::chip_report(&self.arch, config, &self.phys_layers(precisions), replication)?;
                let e = chip.energy.total.to_f64().max(f64::MIN_POSITIVE);
                Ok(match self.goal {
                    Goal::Edp => e0 * self.baseline.latency.get() as f64 / (e * t.latency.get().max(1) as f64),
                    _ => e0 / e,
                })
            }
            _ => Ok(self.gain(t)),
        }
    }

    /// `precisions` with pinned layers forced back to 8/8.
    pub fn pin(&self, mut precisions: Vec<Precision>) -> Vec<Precision> {
        for (p, &pinned) in precisions.iter_mut().zip(&self.pinned) {
            if pinned {
                *p = Precision::BASELINE;
            }
        }
        precisions
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Small synthetic networks for the search tests (the built-ins live in `network`).
    use imc_model::{LayerDims, LayerKind, LayerShape};

    use crate::network::{Layer, Network};

    fn conv(name: &str, c_in: u32, c_out: u32, k: u32, stride: u32, out: u32) -> Layer {
        let dims = LayerDims {
            kind: LayerKind::Conv,
            c_in,
            c_out,
            kernel_h: k,
            kernel_w: k,
            groups: 1,
            in_h: out * stride,
            in_w: out * stride,
            out_h: out,
            out_w: out,
        };
        Layer {
            name: name.into(),
            shape: LayerShape::new(dims).unwrap(),
            stride: (stride, stride),
            padding: (k / 2, k / 2),
        }
    }

    /// A 7-layer CNN with layers of very different cost, so precision and replication matter.
    pub fn small_cnn() -> Network {
        let fc = Layer {
            name: "fc".into(),
            shape: LayerShape::fc(256, 10).unwrap(),
            stride: (1, 1),
            padding: (0, 0),
        };
        Network {
            name: "small".into(),
            layers: vec![
                conv("c1", 3, 32, 3, 1, 32),
                conv("c2", 32, 64, 3, 2, 16),
                conv("c3", 64, 64, 3, 1, 16),
                conv("c4", 64, 128, 3, 2, 8),
                conv("c5", 128, 128, 3, 1, 8),
                conv("c6", 128, 256, 3, 2, 4),
                fc,
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_floor_of_factor_times_baseline_area() {
        let net = fixtures::small_cnn();
        let spec = ProblemSpec {
            area_factor: 1.5,
            ..ProblemSpec::default()
        };
        let p = SearchProblem::new(ArchConfig::isaac(), &net, &spec).unwrap();
        assert_eq!(p.budget.units(), (1.5 * p.baseline.area.get() as f64).floor() as u64);
        assert_eq!(p.pinned, vec![true, false, false, false, false, false, true]);
        assert!((p.gain(&p.baseline) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_specs_are_input_errors() {
        let net = fixtures::small_cnn();
        let bad = [
            ProblemSpec {
                area_factor: 0.0,
                ..ProblemSpec::default()
            },
            ProblemSpec {
                area_factor: f64::NAN,
                ..ProblemSpec::default()
            },
            ProblemSpec {
                max_drop: -1.0,
                ..ProblemSpec::default()
            },
            ProblemSpec {
                bits: vec![],
                ..ProblemSpec::default()
            },
            ProblemSpec {
                bits: vec![9],
                ..ProblemSpec::default()
            },
        ];
        for spec in bad {
            assert!(matches!(
                SearchProblem::new(ArchConfig::isaac(), &net, &spec),
                Err(SearchError::Input(_))
            ));
        }
    }
}
