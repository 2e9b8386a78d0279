//! Replication for the energy objectives of DESIGN 9.4 under the physical model: `energy`
//! (minimise energy per inference, then latency) and `edp` (energy x latency).
//!
//! Energy is `E = sum_l dyn_l(r_l) + s * tiles * I` with `s = tile_static_mw / clock`:
//! the dynamic part depends on `r` only through the halo of the row strips (ingress bits,
//! which are *not* monotone in `r`), the static part couples every layer through the tile
//! count and the interval. Neither the bisection nor the knapsack applies, so:
//!
//! - **Sweep** (the answer): for every interval target `tau` (every time a layer can take),
//!   each layer takes its fewest-charge, its fewest-IMA or its least-energy replication
//!   meeting `tau` (three mappings);
//!   the best feasible mapping over all targets, priced exactly by `imc_model::physical`, is
//!   returned (for `edp` the latency-optimal replication is a candidate too).
//! - **Bound** (the proof): for the optimum with largest layer time `tau*`, every layer's
//!   energy and IMAs are at least its least energy and fewest IMAs among replications
//!   meeting `tau*`, and `I >= max(tau*, chip floor)`; the minimum over `tau` of that sum is a
//!   lower bound on `E` (for `edp`, times `max(tau, latency floor)`). The report's
//!   `objective_gap` is the answer's distance to it; 0 proves the answer optimal.
//!
//! Candidates per layer: every feasible `r < H_out` (the strips change with each) and the
//! records of `imc_model::physical::records` from `H_out` on (strips fixed: energy constant,
//! the smallest `r` of a time dominates), so the per-target minima are over every `r`.

use imc_model::physical::{self, floors, Imas, PhysicalConfig, Picojoules};
use imc_model::{ArchConfig, Cycles};

use super::instance::{tile_rounded, Instance};
use super::{Physical, ReplicateError};

/// One replication of one layer, priced.
#[derive(Clone, Copy, Debug)]
struct Priced {
    replication: u64,
    time: Cycles,
    imas: u64,
    charge: u64,
    energy: Picojoules,
}

/// A layer's options sorted by time, with prefix minima (indices into `by_time[..=i]`) of
/// three keys: charge, IMAs and energy, each with ties to the others.
struct LayerOptions {
    by_time: Vec<Priced>,
    minima: Vec<[usize; 3]>,
}

/// The three orders of [`LayerOptions`]: fewest charge, fewest IMAs, least energy.
fn keys(o: &Priced) -> [(u64, u64, Picojoules); 3] {
    [
        (o.charge, o.imas, o.energy),
        (o.imas, o.charge, o.energy),
        (o.energy.to_bits(), o.imas, Picojoules::default()),
    ]
}

/// The options of one layer meeting a time target, best by each key.
#[derive(Clone, Copy)]
struct Meeting {
    fewest_charge: Priced,
    fewest_imas: Priced,
    least_energy: Priced,
}

impl LayerOptions {
    fn new(mut options: Vec<Priced>) -> LayerOptions {
        options.sort_by_key(|o| (o.time, o.charge, o.energy));
        let mut minima = Vec::with_capacity(options.len());
        let mut best = [0usize; 3];
        for (i, o) in options.iter().enumerate() {
            for (k, slot) in best.iter_mut().enumerate() {
                let beats = options.get(*slot).is_none_or(|b| keys(o).get(k) < keys(b).get(k));
                if i == 0 || beats {
                    *slot = i;
                }
            }
            minima.push(best);
        }
        LayerOptions {
            by_time: options,
            minima,
        }
    }

    /// The best options by each key among those with time at most `tau`.
    fn meeting(&self, tau: Cycles) -> Option<Meeting> {
        let n = self.by_time.partition_point(|o| o.time <= tau);
        let [c, i, e] = *self.minima.get(n.checked_sub(1)?)?;
        Some(Meeting {
            fewest_charge: *self.by_time.get(c)?,
            fewest_imas: *self.by_time.get(i)?,
            least_energy: *self.by_time.get(e)?,
        })
    }
}

/// Which figure the sweep minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnergyGoal {
    /// Energy per inference, then latency.
    Energy,
    /// Energy times latency.
    Edp,
}

/// The sweep's answer and the bound it is measured against.
#[derive(Clone, Debug)]
pub struct EnergyChoice {
    /// Replication per layer.
    pub replication: Vec<u64>,
    /// Latency of the answer.
    pub latency: Cycles,
    /// Its area charged against the budget (IMAs, tile-rounded if exclusive).
    pub charge: u64,
    /// The minimised figure: pJ, or pJ x cycles for `edp`.
    pub value: f64,
    /// Lower bound on that figure over every feasible replication.
    pub bound: f64,
}

/// The options of one layer (see the module docs), capped at `cap` replicas.
fn layer_options(
    arch: &ArchConfig,
    config: &PhysicalConfig,
    layer: &physical::PhysLayer,
    cap: u64,
    tile: Option<u64>,
) -> Result<LayerOptions, ReplicateError> {
    let err = ReplicateError::Physical;
    let out_h = u64::from(layer.shape.dims().out_h);
    let mut options = Vec::new();
    let mut push = |r: u64| -> Result<(), ReplicateError> {
        match floors::layer_timing(arch, config, layer, 0, r) {
            Ok(t) => {
                let energy = physical::layer_energy(arch, config, layer, r).map_err(err)?.total;
                options.push(Priced {
                    replication: r,
                    time: t.time,
                    imas: t.imas.get(),
                    charge: tile_rounded(t.imas.get(), tile).ok_or(ReplicateError::Overflow)?,
                    energy,
                });
                Ok(())
            }
            Err(physical::PhysicalError::Buffer { .. }) => Ok(()),
            Err(e) => Err(err(e)),
        }
    };
    let below = out_h.saturating_sub(1).min(cap).min(layer.shape.positions());
    for r in 1..=below {
        push(r)?;
    }
    for point in physical::records(arch, config, layer, cap) {
        let (r, _) = point.map_err(err)?;
        if r > below {
            push(r)?;
        }
    }
    Ok(LayerOptions::new(options))
}

/// Exact energy of a mapping (`sum dyn + static`), its latency and interval.
fn price(
    arch: &ArchConfig,
    config: &PhysicalConfig,
    chosen: &[Priced],
    chip_floor: Cycles,
) -> Result<(f64, Cycles), ReplicateError> {
    let overflow = || ReplicateError::Overflow;
    let mut dynamic = Picojoules::default();
    let mut imas = 0u64;
    let mut latency = 0u64;
    let mut slowest = chip_floor;
    for o in chosen {
        dynamic = dynamic.checked_add(o.energy).ok_or_else(overflow)?;
        imas = imas.checked_add(o.imas).ok_or_else(overflow)?;
        latency = latency.checked_add(o.time.get()).ok_or_else(overflow)?;
        slowest = slowest.max(o.time);
    }
    let tiles = physical::placement::tiles_for(config, Imas::new(imas));
    let fixed = physical::energy::static_energy(arch, config, tiles, slowest).map_err(ReplicateError::Physical)?;
    let total = dynamic.checked_add(fixed).ok_or_else(overflow)?;
    Ok((total.to_f64(), Cycles::new(latency)))
}

/// The sweep and its bound for `goal` on `inst`'s problem (see the module docs).
/// `latency_optimal` is an extra candidate (the latency fast path's choice), if any.
pub fn solve(
    arch: &ArchConfig,
    p: &Physical,
    inst: &Instance,
    cap: u64,
    tile_exclusive: bool,
    goal: EnergyGoal,
    latency_optimal: Option<&[u64]>,
) -> Result<EnergyChoice, ReplicateError> {
    let tile = tile_exclusive.then_some(inst.units_per_tile());
    let layers = p
        .layers
        .iter()
        .map(|l| layer_options(arch, p.config, l, cap, tile))
        .collect::<Result<Vec<_>, _>>()?;
    let budget = inst.budget().units();
    let floor = inst.chip_floor();
    // Any feasible mapping's latency is at least the latency optimum (the exact fast path's
    // answer, when the caller passes it) and at least each layer's fastest affordable time.
    let mut latency_floor = super::bounds::latency_floor(inst).get() as f64;
    let mut taus: Vec<Cycles> = layers.iter().flat_map(|l| l.by_time.iter().map(|o| o.time)).collect();
    taus.sort();
    taus.dedup();
    let figure = |energy: f64, latency: Cycles| match goal {
        EnergyGoal::Energy => energy,
        EnergyGoal::Edp => energy * latency.get() as f64,
    };
    let mut best: Option<EnergyChoice> = None;
    let mut bound = f64::INFINITY;
    let consider = |chosen: &[Priced], best: &mut Option<EnergyChoice>| -> Result<(), ReplicateError> {
        let charge: u64 = chosen.iter().map(|o| o.charge).sum();
        if charge > budget {
            return Ok(());
        }
        let (energy, latency) = price(arch, p.config, chosen, floor)?;
        let value = figure(energy, latency);
        let better = best
            .as_ref()
            .is_none_or(|b| value < b.value || (value == b.value && latency < b.latency));
        if better {
            *best = Some(EnergyChoice {
                replication: chosen.iter().map(|o| o.replication).collect(),
                latency,
                charge,
                value,
                bound: 0.0,
            });
        }
        Ok(())
    };
    let latency_optimal = latency_optimal.and_then(|replication| {
        layers
            .iter()
            .zip(replication)
            .map(|(l, &r)| l.by_time.iter().find(|o| o.replication == r).copied())
            .collect::<Option<Vec<_>>>()
    });
    if let Some(chosen) = &latency_optimal {
        latency_floor = latency_floor.max(chosen.iter().map(|o| o.time.get() as f64).sum());
        consider(chosen, &mut best)?;
    }
    // Targets from the slowest down: the fewest IMAs meeting a target only grow as it falls.
    for &tau in taus.iter().rev() {
        let Some(meets) = layers.iter().map(|l| l.meeting(tau)).collect::<Option<Vec<_>>>() else {
            break;
        };
        let fewest: Vec<Priced> = meets.iter().map(|m| m.fewest_charge).collect();
        let compact: Vec<Priced> = meets.iter().map(|m| m.fewest_imas).collect();
        let least: Vec<Priced> = meets.iter().map(|m| m.least_energy).collect();
        let min_charge: u64 = fewest.iter().map(|o| o.charge).sum();
        if min_charge > budget {
            break;
        }
        // Lower bound at this target: least energy and fewest IMAs, I at least max(tau, floor).
        let dynamic = least
            .iter()
            .try_fold(Picojoules::default(), |acc, o| acc.checked_add(o.energy))
            .ok_or(ReplicateError::Overflow)?;
        let imas: u64 = compact.iter().map(|o| o.imas).sum();
        let tiles = physical::placement::tiles_for(p.config, Imas::new(imas));
        let fixed =
            physical::energy::static_energy(arch, p.config, tiles, tau.max(floor)).map_err(ReplicateError::Physical)?;
        let low = dynamic.to_f64() + fixed.to_f64();
        let low = match goal {
            EnergyGoal::Energy => low,
            EnergyGoal::Edp => low * latency_floor.max(tau.get() as f64),
        };
        bound = bound.min(low);
        consider(&fewest, &mut best)?;
        consider(&compact, &mut best)?;
        consider(&least, &mut best)?;
    }

    let mut best = best.ok_or(ReplicateError::Contradictory(
        "no replication meets the budget (the cheapest one should)",
    ))?;
    best.bound = bound.min(best.value);
    Ok(best)
}
