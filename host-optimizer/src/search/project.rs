//! Accuracy-budget projection (as HAQ and LRMP do inside an episode): a proposed precision
//! assignment is first *repaired* until the additive drop fits the budget, then the budget
//! left over is *spent* by lowering bits where that buys the most.
//!
//! The per-layer drop is the additive proxy's term `d_l(b_w, b_a)`. The per-layer
//! performance term is a Lagrangian of the continuous relaxation of replication (`r` real in
//! `[1, P_l]`, `T_l` the unreplicated time, `X_l` the crossbars at the layer's precision):
//! - latency: `min_r T_l / r + lambda r X_l`, `lambda` the price of area at which the
//!   relaxed replication of the current assignment fills the budget;
//! - throughput: the area `X_l max(1, T_l / I)` the layer needs to reach the interval `I`,
//!   `I` the smallest interval the relaxed replication of the current assignment reaches
//!   (choices that cannot reach `I` even at `r = P_l` are priced out).
//!
//! Both are additive over layers, as is the drop, so the projection is a greedy on a
//! multiple-choice knapsack. The price is re-derived from each projected result and the
//! projection redone from the proposal (a few rounds, keeping the best relaxed objective).
//!
//! - Repair: while the drop exceeds the budget, take the single-layer change with the
//!   largest drop reduction per unit of score increase.
//! - Spend: while a move fits the remaining budget and lowers the score, take the one with
//!   the largest score reduction per unit of drop increase.
//!
//! Invariants: pinned layers keep their only choice (8/8); the result's additive drop is
//! within the budget whenever any assignment is (the all-lowest-drop one is reachable);
//! deterministic (ties go to the lowest layer, then the first choice).

use imc_model::{LayerCost, Precision};

use super::knapsack::within_drop_budget;
use super::milp::{layer_choices, LayerDrops};
use super::problem::{Goal, SearchError, SearchProblem};

/// Slack on the real-valued time and area ratios of the relaxation, so that a ratio equal to
/// an integer is not pushed past it by rounding (drop budgets use [`within_drop_budget`]).
const RATIO_SLACK: f64 = 1e-9;
/// Rounds of "derive the price, project the proposal".
const ROUNDS: usize = 3;
/// Area multiplier of a choice that cannot reach the interval even fully replicated.
const UNREACHABLE: f64 = 1e3;

#[derive(Clone, Copy, Debug)]
struct Choice {
    precision: Precision,
    /// Unreplicated time `T_l`, cycles.
    time: f64,
    /// Crossbars `X_l`.
    xbars: f64,
    /// Positions `P_l` (the largest useful replication).
    positions: f64,
    drop: f64,
}

/// The price that makes the per-layer score additive (see the module documentation).
#[derive(Clone, Copy, Debug)]
enum Price {
    /// Latency: cycles per crossbar.
    Area(f64),
    /// Throughput: the target interval, cycles.
    Interval(f64),
}

impl Choice {
    /// Relaxed replication at area price `lambda`.
    fn replication(&self, lambda: f64) -> f64 {
        (self.time / (lambda * self.xbars.max(1.0)))
            .sqrt()
            .clamp(1.0, self.positions.max(1.0))
    }
    fn score(&self, price: Price) -> f64 {
        match price {
            Price::Area(lambda) => {
                let r = self.replication(lambda);
                self.time / r + lambda * self.xbars * r
            }
            Price::Interval(interval) => {
                let need = (self.time / interval * (1.0 - RATIO_SLACK)).ceil().max(1.0);
                let reach = if need > self.positions.max(1.0) * (1.0 + RATIO_SLACK) {
                    UNREACHABLE
                } else {
                    1.0
                };
                self.xbars * need * reach
            }
        }
    }
}

/// The precomputed per-layer tables of one problem.
#[derive(Clone, Debug)]
pub struct Projector {
    layers: Vec<Vec<Choice>>,
    max_drop: f64,
    goal: Goal,
    budget: f64,
}

impl Projector {
    /// Tables for `problem` with the additive drop model `drops`.
    pub fn new(problem: &SearchProblem, drops: &dyn LayerDrops) -> Result<Projector, SearchError> {
        let mut layers = Vec::with_capacity(problem.len());
        for (l, shape) in problem.shapes.iter().enumerate() {
            let mut choices = Vec::new();
            for precision in layer_choices(problem, l) {
                let cost = LayerCost::new(&problem.arch, shape, precision)?;
                choices.push(Choice {
                    precision,
                    time: cost.time(1).get() as f64,
                    xbars: cost.xbars.get() as f64,
                    positions: cost.positions as f64,
                    drop: drops.layer_drop(l, precision),
                });
            }
            layers.push(choices);
        }
        Ok(Projector {
            layers,
            max_drop: problem.max_drop,
            goal: problem.goal,
            budget: problem.budget_xbars() as f64,
        })
    }

    /// Additive drop of `precisions` under the tables' drop model.
    pub fn drop_of(&self, precisions: &[Precision]) -> f64 {
        self.chosen(&self.indices(precisions)).map(|c| c.drop).sum()
    }

    /// The choice at each layer's index in `at`. Every index comes from [`Self::indices`] or
    /// [`Self::best_move`] over these same tables, so `get` always finds it.
    fn chosen<'s>(&'s self, at: &'s [usize]) -> impl Iterator<Item = &'s Choice> + 's {
        at.iter().zip(&self.layers).filter_map(|(&i, c)| c.get(i))
    }

    /// Index of each layer's precision in its table (the first choice when absent, which
    /// only happens for pinned layers given a non-8/8 precision).
    fn indices(&self, precisions: &[Precision]) -> Vec<usize> {
        self.layers
            .iter()
            .enumerate()
            .map(|(l, choices)| {
                let p = precisions.get(l).copied().unwrap_or(Precision::BASELINE);
                choices.iter().position(|c| c.precision == p).unwrap_or(0)
            })
            .collect()
    }

    /// The price at which the relaxed replication of `at` fills the budget, and the relaxed
    /// objective (latency or interval) there.
    /// The energy goals use the relaxation of the time they follow ([`Goal::metric`]): static
    /// energy, the bulk of it, grows with the interval (`energy`) and `edp` with latency.
    fn price(&self, at: &[usize]) -> (Price, f64) {
        match self.goal {
            Goal::Latency | Goal::Edp => {
                let area = |lambda: f64| self.chosen(at).map(|c| c.xbars * c.replication(lambda)).sum::<f64>();
                let (mut lo, mut hi) = (-60.0f64, 60.0f64); // ln lambda
                for _ in 0..80 {
                    let mid = 0.5 * (lo + hi);
                    if area(mid.exp()) > self.budget {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let lambda = hi.exp();
                (
                    Price::Area(lambda),
                    self.chosen(at).map(|c| c.time / c.replication(lambda)).sum(),
                )
            }
            Goal::Throughput | Goal::Energy => {
                let area = |i: f64| {
                    self.chosen(at)
                        .map(|c| c.xbars * (c.time / i * (1.0 - RATIO_SLACK)).ceil().max(1.0))
                        .sum::<f64>()
                };
                let floor = self
                    .chosen(at)
                    .map(|c| c.time / c.positions.max(1.0))
                    .fold(1.0, f64::max);
                let top = self.chosen(at).map(|c| c.time).fold(floor, f64::max);
                let (mut lo, mut hi) = (floor, top);
                if area(floor) > self.budget {
                    for _ in 0..80 {
                        let mid = 0.5 * (lo + hi);
                        if area(mid) > self.budget {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                } else {
                    hi = floor;
                }
                (Price::Interval(hi), hi)
            }
        }
    }

    /// Repairs `precisions` into the accuracy budget, then spends what budget remains; the
    /// price is re-derived from each result and the best of `ROUNDS` rounds is kept.
    pub fn project(&self, precisions: &[Precision]) -> Vec<Precision> {
        let proposal = self.indices(precisions);
        let (mut price, _) = self.price(&proposal);
        let mut best: Option<(f64, Vec<usize>)> = None;
        for _ in 0..ROUNDS {
            let at = self.project_at(proposal.clone(), price);
            let (next, objective) = self.price(&at);
            if best.as_ref().is_none_or(|(b, _)| objective < *b) {
                best = Some((objective, at));
            }
            price = next;
        }
        let at = best.map_or(proposal, |(_, at)| at);
        self.chosen(&at).map(|c| c.precision).collect()
    }

    fn project_at(&self, mut at: Vec<usize>, price: Price) -> Vec<usize> {
        let mut drop: f64 = self.chosen(&at).map(|c| c.drop).sum();
        // Repair: most drop removed per unit of score added.
        while !within_drop_budget(drop, self.max_drop) {
            let best = self.best_move(&at, |cur, c| {
                let saved = cur.drop - c.drop;
                (saved > 0.0).then(|| saved / (c.score(price) - cur.score(price)).max(1e-12))
            });
            let Some((l, i, added)) = best else { break };
            drop += added;
            if let Some(slot) = at.get_mut(l) {
                *slot = i;
            }
        }
        // Spend: most score removed per unit of drop added, within the remaining budget.
        loop {
            let room = self.max_drop - drop;
            let best = self.best_move(&at, |cur, c| {
                let gained = cur.score(price) - c.score(price);
                let cost = c.drop - cur.drop;
                (gained > 0.0 && cost <= room + RATIO_SLACK).then(|| gained / cost.max(1e-12))
            });
            let Some((l, i, added)) = best else { break };
            drop += added;
            if let Some(slot) = at.get_mut(l) {
                *slot = i;
            }
        }
        at
    }

    /// The `(layer, choice, drop added)` with the highest `ratio` (ties: first found).
    fn best_move(&self, at: &[usize], ratio: impl Fn(&Choice, &Choice) -> Option<f64>) -> Option<(usize, usize, f64)> {
        let mut best: Option<(f64, usize, usize, f64)> = None;
        for (l, (choices, &current)) in self.layers.iter().zip(at).enumerate() {
            let Some(cur) = choices.get(current) else {
                continue;
            };
            for (i, c) in choices.iter().enumerate() {
                if let Some(r) = ratio(cur, c) {
                    if best.is_none_or(|(b, ..)| r > b) {
                        best = Some((r, l, i, c.drop - cur.drop));
                    }
                }
            }
        }
        best.map(|(_, l, i, added)| (l, i, added))
    }
}

#[cfg(test)]
mod tests {
    use imc_model::{ArchConfig, Bits};
    use proptest::prelude::*;

    use super::*;
    use crate::search::problem::fixtures::small_cnn;
    use crate::search::problem::ProblemSpec;

    fn layer_drop(l: usize, p: Precision) -> f64 {
        let noise = |b: Bits| 2f64.powi(-(i32::from(b.get()))) * 256.0 - 1.0;
        (0.01 + 0.005 * l as f64) * noise(p.w_bits) + 0.02 * noise(p.a_bits)
    }

    fn problem(goal: Goal, max_drop: f64) -> SearchProblem {
        let spec = ProblemSpec {
            goal,
            max_drop,
            ..ProblemSpec::default()
        };
        SearchProblem::new(ArchConfig::isaac(), &small_cnn(), &spec).unwrap()
    }

    /// The relaxed objective (latency or interval) of `precisions`.
    fn objective(p: &Projector, precisions: &[Precision]) -> f64 {
        p.price(&p.indices(precisions)).1
    }

    proptest! {
        #[test]
        fn projection_fits_the_budget_keeps_pins_and_is_deterministic(
            bits in proptest::collection::vec((2u8..=8, 2u8..=8), 7),
            max_drop in 0.0f64..3.0,
            throughput in any::<bool>(),
        ) {
            let goal = if throughput { Goal::Throughput } else { Goal::Latency };
            let pr = problem(goal, max_drop);
            let proj = Projector::new(&pr, &layer_drop).unwrap();
            let proposed: Vec<Precision> = bits.iter().map(|&(w, a)| Precision {
                w_bits: Bits::new(w).unwrap(), a_bits: Bits::new(a).unwrap() }).collect();
            let out = proj.project(&proposed);
            prop_assert!(proj.drop_of(&out) <= max_drop + 1e-9);
            prop_assert_eq!(out[0], Precision::BASELINE);
            prop_assert_eq!(out[6], Precision::BASELINE);
            prop_assert_eq!(proj.project(&proposed), out);
        }
    }

    #[test]
    fn zero_budget_projects_to_baseline_and_spending_lowers_bits() {
        let pr = problem(Goal::Latency, 0.0);
        let proj = Projector::new(&pr, &layer_drop).unwrap();
        let two = Precision {
            w_bits: Bits::new(2).unwrap(),
            a_bits: Bits::new(2).unwrap(),
        };
        assert!(proj.project(&[two; 7]).iter().all(|&p| p == Precision::BASELINE));
        let pr = problem(Goal::Latency, 1.0);
        let proj = Projector::new(&pr, &layer_drop).unwrap();
        let out = proj.project(&[Precision::BASELINE; 7]);
        assert!(objective(&proj, &out) < objective(&proj, &[Precision::BASELINE; 7]));
        assert!(out.iter().any(|&p| p != Precision::BASELINE));
        assert!(proj.drop_of(&out) <= 1.0 + 1e-9);
    }
}
