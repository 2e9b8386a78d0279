//! A replication problem reduced to per-layer candidate lists and one area budget.
//!
//! Every solver (fast paths, ILP, LP relaxation, brute force in tests) works on an
//! [`Instance`], so they all see the same choices.
//!
//! ## Invariants
//! - Each layer has at least one candidate; the first has the charged area of `r = 1`
//!   (with tile-exclusive placement it may be a larger `r` filling the same tiles; under the
//!   physical model, the smallest `r` whose line buffers fit).
//! - Areas are in the instance's unit ([`Budget`]): crossbars under the ideal model, whole
//!   IMAs under the physical model, where candidates come from the Pareto frontier of
//!   `(imas_l, T_l)` ([`imc_model::physical::frontier`]) because `T_l` is not monotone in `r`.
//! - Within a layer, candidates are sorted by replication; charged area is strictly
//!   increasing and time strictly decreasing (no candidate is dominated).
//! - A candidate's replication is the smallest `r` giving its time, so any optimal mapping
//!   over all `1 <= r <= min(P, cap)` has an equally good mapping over candidates.
//! - Every candidate is affordable on its own: its extra area over `r = 1` is at most
//!   [`Instance::spare`]. `min_area <= budget`, so all-ones is always feasible.

use imc_model::cost::chip_noc_floor;
use imc_model::physical::{self, floors, PhysLayer, PhysicalConfig, PhysicalError};
use imc_model::{ArchConfig, Cycles, LayerCost};

use super::{Budget, Constraints, Physical, ReplicateError};

/// One replication factor worth considering for a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Replication factor `r`.
    pub replication: u64,
    /// Layer time `T(r)`, NoC floor included.
    pub time: Cycles,
    /// Area charged against the budget, in the instance's unit: `r * X` crossbars, or
    /// `ceil(r X / xbars_per_ima)` IMAs under the physical model; rounded up to whole tiles
    /// when placement is tile-exclusive.
    pub area: u64,
}

/// A validated replication problem: candidate lists, effective budget, chip floor.
#[derive(Clone, Debug)]
pub struct Instance {
    layers: Vec<Vec<Candidate>>,
    budget: u64,
    min_area: u64,
    chip_floor: Cycles,
    unit: Budget,
    xbars_per_unit: u64,
    units_per_tile: u64,
}

/// `area` units charged against the budget: rounded up to whole tiles of `tile` units under
/// tile-exclusive placement (`Some`), as they are otherwise; `None` on overflow.
pub(super) fn tile_rounded(area: u64, tile: Option<u64>) -> Option<u64> {
    match tile {
        Some(per_tile) => area.div_ceil(per_tile).checked_mul(per_tile),
        None => Some(area),
    }
}

/// Area charged for `replication` replicas of a layer, `None` on overflow.
fn charged_area(cost: &LayerCost, replication: u64, tile: Option<u64>) -> Option<u64> {
    tile_rounded(cost.area(replication)?.get(), tile)
}

/// Candidates of one layer: for each distinct `ceil(P/r)` the smallest `r`, stopping at the
/// replication cap, at the NoC floor and where the extra area exceeds `spare`.
fn layer_candidates(cost: &LayerCost, cap: u64, tile: Option<u64>, spare: u64) -> Vec<Candidate> {
    let positions = cost.positions;
    let max_r = cap.min(positions);
    let t = cost.cycles_per_position.get();
    let floor = cost.noc_floor.get();
    // r = 1 is affordable: the caller checked min_area <= budget.
    let base = charged_area(cost, 1, tile).unwrap_or(u64::MAX);
    let mut out: Vec<Candidate> = Vec::new();
    let mut r = 1;
    loop {
        let quotient = positions.div_ceil(r);
        let compute = quotient * t; // <= P * t, checked in LayerCost::new
        let Some(area) = charged_area(cost, r, tile) else {
            break;
        };
        if area - base > spare {
            break;
        }
        let candidate = Candidate {
            replication: r,
            time: Cycles::new(compute.max(floor)),
            area,
        };
        // A larger r with the same charged area dominates the smaller one.
        if out.last().is_some_and(|last| last.area == candidate.area) {
            out.pop();
        }
        out.push(candidate);
        if compute <= floor || quotient == 1 {
            break;
        }
        // Smallest r' with ceil(P / r') <= quotient - 1.
        r = positions.div_ceil(quotient - 1);
        if r > max_r {
            break;
        }
    }
    out
}

/// Candidates of one layer under the physical model: its `(imas, T)` Pareto frontier up to
/// the replication cap, charged in IMAs (whole tiles of `units_per_tile` IMAs when `tile` is
/// set), stopping where the extra charge over the first point exceeds `spare`. The caller
/// has checked that the frontier is not empty.
fn physical_candidates(
    arch: &ArchConfig,
    config: &PhysicalConfig,
    layer: &PhysLayer,
    cap: u64,
    tile: Option<u64>,
    spare: u64,
) -> Result<Vec<Candidate>, ReplicateError> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut base: Option<u64> = None;
    for point in physical::frontier(arch, config, layer, cap) {
        let (r, c) = point.map_err(ReplicateError::Physical)?;
        let area = tile_rounded(c.imas.get(), tile).ok_or(ReplicateError::Overflow)?;
        let first = *base.get_or_insert(area);
        if area - first > spare {
            break;
        }
        // The frontier's times fall: a later point with the same charge dominates.
        if out.last().is_some_and(|last| last.area == area) {
            out.pop();
        }
        out.push(Candidate {
            replication: r,
            time: c.time,
            area,
        });
    }
    Ok(out)
}

/// The first frontier point's charge of every layer (its smallest feasible IMAs), or the
/// error naming a layer whose line buffers never fit.
fn physical_minimum(arch: &ArchConfig, p: &Physical, cap: u64, tile: Option<u64>) -> Result<Vec<u64>, ReplicateError> {
    p.layers
        .iter()
        .enumerate()
        .map(|(index, layer)| {
            let first = physical::frontier(arch, p.config, layer, cap).next();
            match first {
                Some(Ok((_, c))) => tile_rounded(c.imas.get(), tile).ok_or(ReplicateError::Overflow),
                Some(Err(e)) => Err(ReplicateError::Physical(e)),
                // No replication fits: `r = 1` says why (its line buffers, naming the layer).
                None => Err(ReplicateError::Physical(
                    floors::layer_timing(arch, p.config, layer, index, 1)
                        .err()
                        .unwrap_or(PhysicalError::Empty),
                )),
            }
        })
        .collect()
}

impl Instance {
    /// Builds the candidate lists. Checks the costs, the constraints and the budget, whose
    /// unit must match the model (crossbars without `physical`, IMAs with it).
    pub fn new(
        arch: &ArchConfig,
        costs: &[LayerCost],
        physical: Option<&Physical>,
        budget: Budget,
        constraints: &Constraints,
    ) -> Result<Instance, ReplicateError> {
        if costs.is_empty() {
            return Err(ReplicateError::NoLayers);
        }
        if let Some(layer) = costs.iter().position(|c| c.positions == 0) {
            return Err(ReplicateError::ZeroPositions { layer });
        }
        if costs
            .iter()
            .any(|c| c.positions.checked_mul(c.cycles_per_position.get()).is_none())
        {
            return Err(ReplicateError::Overflow);
        }
        let cap = constraints.max_replication.unwrap_or(u64::MAX);
        if cap == 0 {
            return Err(ReplicateError::Contradictory(
                "the replication cap is 0; every layer needs at least 1 replica",
            ));
        }
        let (unit, xbars_per_unit, units_per_tile) = match (physical, budget) {
            (None, Budget::Crossbars(_)) => (Budget::Crossbars(Default::default()), 1, arch.xbars_per_tile()),
            (Some(p), Budget::Imas(_)) => {
                if p.layers.len() != costs.len() {
                    return Err(ReplicateError::Physical(PhysicalError::LengthMismatch));
                }
                (
                    Budget::Imas(Default::default()),
                    p.config.xbars_per_ima(),
                    p.config.imas_per_tile(),
                )
            }
            _ => {
                return Err(ReplicateError::Contradictory(
                    "the budget's unit does not match the cost model",
                ))
            }
        };
        let tile = constraints.tile_exclusive.then_some(units_per_tile);
        let min_areas = match physical {
            None => costs
                .iter()
                .map(|c| charged_area(c, 1, tile).ok_or(ReplicateError::Overflow))
                .collect::<Result<Vec<u64>, _>>()?,
            Some(p) => physical_minimum(arch, p, cap, tile)?,
        };
        let min_area = min_areas
            .iter()
            .try_fold(0u64, |acc, &a| acc.checked_add(a))
            .ok_or(ReplicateError::Overflow)?;
        // The chip's own tile count is a cap too.
        let chip_tiles = Some(arch.tiles()).filter(|&t| t > 0);
        let tile_cap = match (constraints.max_tiles, chip_tiles) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut effective = budget.units();
        if let Some(max_tiles) = tile_cap {
            let min_tiles = min_area.div_ceil(units_per_tile);
            if max_tiles < min_tiles {
                return Err(ReplicateError::TileCapBelowMinimum { max_tiles, min_tiles });
            }
            effective = effective.min(max_tiles.saturating_mul(units_per_tile));
        }
        if effective < min_area {
            return Err(ReplicateError::Infeasible {
                budget,
                min_area: budget.same_unit(min_area),
            });
        }
        let spare = effective - min_area;
        let noc_floor = chip_noc_floor(arch, costs).map_err(|_| ReplicateError::Overflow)?;
        let (layers, chip_floor) = match physical {
            None => (
                costs.iter().map(|c| layer_candidates(c, cap, tile, spare)).collect(),
                noc_floor,
            ),
            Some(p) => {
                let layers = p
                    .layers
                    .iter()
                    .map(|l| physical_candidates(arch, p.config, l, cap, tile, spare))
                    .collect::<Result<Vec<_>, _>>()?;
                let io = match p.layers.first() {
                    Some(first) => floors::io_cycles(p.config, first).map_err(ReplicateError::Physical)?,
                    None => Cycles::ZERO,
                };
                (layers, noc_floor.max(io))
            }
        };
        Ok(Instance {
            layers,
            budget: effective,
            min_area,
            chip_floor,
            unit,
            xbars_per_unit,
            units_per_tile,
        })
    }

    /// The budget's unit (the value inside is meaningless; see [`Budget::same_unit`]).
    pub fn unit(&self) -> Budget {
        self.unit
    }

    /// Crossbars one unit of area holds at most: 1, or `xbars_per_ima` under the physical
    /// model (what the balance bounds divide by).
    pub fn xbars_per_unit(&self) -> u64 {
        self.xbars_per_unit
    }

    /// Units of area in one tile: crossbars or IMAs per tile.
    pub fn units_per_tile(&self) -> u64 {
        self.units_per_tile
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Always false: an instance has at least one layer.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Candidates of layer `layer` (sorted by replication; empty past the last layer).
    pub fn candidates(&self, layer: usize) -> &[Candidate] {
        self.layers.get(layer).map_or(&[], Vec::as_slice)
    }

    /// All candidate lists in layer order.
    pub fn layers(&self) -> &[Vec<Candidate>] {
        &self.layers
    }

    /// Each layer's time at its last (largest affordable) candidate: no replication within
    /// the budget makes that layer faster.
    pub fn fastest_times(&self) -> impl Iterator<Item = u64> + '_ {
        self.layers.iter().filter_map(|c| c.last()).map(|c| c.time.get())
    }

    /// Charged-area budget after the tile caps: `min(budget, max_tiles * units_per_tile)`.
    pub fn budget(&self) -> Budget {
        self.unit.same_unit(self.budget)
    }

    /// Charged area of the all-ones mapping (the cheapest feasible one).
    pub fn min_area(&self) -> Budget {
        self.unit.same_unit(self.min_area)
    }

    /// Budget left after every layer has one replica.
    pub fn spare(&self) -> u64 {
        self.budget - self.min_area
    }

    /// Chip data-movement floor on the interval (0 when the NoC is unlimited).
    pub fn chip_floor(&self) -> Cycles {
        self.chip_floor
    }

    /// Candidate `c` of a layer; an index past the list (no solver returns one) takes the
    /// unreplicated first candidate.
    fn chosen(cands: &[Candidate], c: usize) -> Option<&Candidate> {
        cands.get(c).or(cands.first())
    }

    /// Replication factors of a choice of one candidate index per layer.
    pub fn replication_of(&self, choice: &[usize]) -> Vec<u64> {
        self.layers
            .iter()
            .zip(choice)
            .map(|(cands, &c)| Self::chosen(cands, c).map_or(1, |k| k.replication))
            .collect()
    }

    /// Charged area of a choice of one candidate index per layer.
    pub fn area_of(&self, choice: &[usize]) -> u64 {
        self.layers
            .iter()
            .zip(choice)
            .map(|(cands, &c)| Self::chosen(cands, c).map_or(0, |k| k.area))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imc_model::Crossbars;

    fn xb(n: u64) -> Budget {
        Budget::Crossbars(Crossbars::new(n))
    }

    fn cost(positions: u64, t: u64, xbars: u64, noc_floor: u64) -> LayerCost {
        LayerCost {
            xbars: Crossbars::new(xbars),
            positions,
            row_blocks: 1,
            cycles_per_position: Cycles::new(t),
            input_bits: 0,
            noc_floor: Cycles::new(noc_floor),
        }
    }

    /// Reference: every r, smallest r per distinct time, no cap on area.
    fn all_distinct(c: &LayerCost, cap: u64) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for r in 1..=c.positions.min(cap) {
            let t = c.time(r).get();
            if out.last().is_none_or(|&(_, last)| t < last) {
                out.push((r, t));
            }
        }
        out
    }

    #[test]
    fn candidates_are_exactly_the_distinct_times() {
        for positions in [1u64, 2, 3, 7, 49, 50, 196, 784, 3136, 12544] {
            for cap in [1u64, 5, 100, u64::MAX] {
                let c = cost(positions, 3, 2, 0);
                let got: Vec<(u64, u64)> = layer_candidates(&c, cap, None, u64::MAX)
                    .iter()
                    .map(|k| (k.replication, k.time.get()))
                    .collect();
                assert_eq!(got, all_distinct(&c, cap), "P={positions} cap={cap}");
            }
        }
        // O(sqrt P): 12544 positions have at most 2*sqrt(12544) = 224 distinct quotients.
        assert!(layer_candidates(&cost(12544, 1, 1, 0), u64::MAX, None, u64::MAX).len() <= 224);
    }

    #[test]
    fn noc_floor_stops_candidates() {
        let c = cost(100, 10, 1, 250);
        let got = layer_candidates(&c, u64::MAX, None, u64::MAX);
        // ceil(100/r)*10 <= 250 first at r = 4 (ceil(100/4) = 25).
        assert_eq!(got.last().map(|k| (k.replication, k.time)), Some((4, Cycles::new(250))));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn tile_exclusive_rounds_and_drops_dominated() {
        let c = cost(10, 1, 30, 0);
        let got = layer_candidates(&c, u64::MAX, Some(96), u64::MAX);
        // r=1,2,3 fit in one tile (30, 60, 90 <= 96): only r=3 survives at 96.
        assert_eq!(
            got[0],
            Candidate {
                replication: 3,
                time: Cycles::new(4),
                area: 96
            }
        );
        assert!(got.windows(2).all(|w| w[0].area < w[1].area && w[0].time > w[1].time));
    }

    #[test]
    fn spare_cuts_unaffordable_candidates() {
        let c = cost(100, 1, 10, 0);
        let got = layer_candidates(&c, u64::MAX, None, 25);
        assert!(got.iter().all(|k| k.area - 10 <= 25));
        assert_eq!(got.last().map(|k| k.replication), Some(3));
    }

    #[test]
    fn errors_name_minimum_area_and_tile_cap() {
        let arch = ArchConfig::isaac();
        let costs = [cost(4, 1, 50, 0), cost(4, 1, 50, 0)];
        let none = Constraints::default();
        assert_eq!(
            Instance::new(&arch, &costs, None, xb(99), &none).unwrap_err(),
            ReplicateError::Infeasible {
                budget: xb(99),
                min_area: xb(100)
            }
        );
        let exclusive = Constraints {
            tile_exclusive: true,
            ..Constraints::default()
        };
        assert_eq!(
            Instance::new(&arch, &costs, None, xb(150), &exclusive).unwrap_err(),
            ReplicateError::Infeasible {
                budget: xb(150),
                min_area: xb(192)
            }
        );
        let capped = Constraints {
            max_tiles: Some(1),
            ..Constraints::default()
        };
        assert_eq!(
            Instance::new(&arch, &costs, None, xb(1000), &capped).unwrap_err(),
            ReplicateError::TileCapBelowMinimum {
                max_tiles: 1,
                min_tiles: 2
            }
        );
        let zero = Constraints {
            max_replication: Some(0),
            ..Constraints::default()
        };
        assert!(matches!(
            Instance::new(&arch, &costs, None, xb(1000), &zero),
            Err(ReplicateError::Contradictory(_))
        ));
        let inst = Instance::new(
            &arch,
            &costs,
            None,
            xb(1000),
            &Constraints {
                max_tiles: Some(3),
                ..none
            },
        )
        .unwrap();
        assert_eq!(inst.budget(), xb(288));
    }
}
