//! Property tests: fast paths, ILP and brute force agree on random small instances, and
//! the bounds never exceed the optimum.

use imc_model::cost::totals;
use imc_model::{ArchConfig, ArchParams, Crossbars, Cycles, LayerCost};
use proptest::prelude::*;

use super::*;

const NOC_BITS: u64 = 16;
const TILE: u32 = 4;

fn arch(noc: bool) -> ArchConfig {
    let mut p = ArchParams::ISAAC;
    p.xbars_per_tile = TILE;
    p.noc_bits_per_cycle = if noc { NOC_BITS } else { 0 };
    ArchConfig::new(p).unwrap()
}

fn cost(arch: &ArchConfig, (positions, t, xbars, input_bits): (u64, u64, u64, u64)) -> LayerCost {
    LayerCost {
        xbars: Crossbars::new(xbars),
        positions,
        row_blocks: 1,
        cycles_per_position: Cycles::new(t),
        input_bits,
        noc_floor: Cycles::new(arch.noc_bits_per_cycle().map_or(0, |n| input_bits.div_ceil(n))),
    }
}

/// Independent statement of feasibility: every `r` in range, charged area, tile counts.
fn feasible(arch: &ArchConfig, costs: &[LayerCost], r: &[u64], budget: u64, c: &Constraints) -> bool {
    let tile = arch.xbars_per_tile();
    let areas: Vec<u64> = costs.iter().zip(r).map(|(k, &r)| r * k.xbars.get()).collect();
    let (charged, tiles) = if c.tile_exclusive {
        let tiles: u64 = areas.iter().map(|a| a.div_ceil(tile)).sum();
        (tiles * tile, tiles)
    } else {
        let total: u64 = areas.iter().sum();
        (total, total.div_ceil(tile))
    };
    let cap_ok = r.iter().all(|&r| c.max_replication.is_none_or(|m| r <= m));
    charged <= budget && cap_ok && c.max_tiles.is_none_or(|m| tiles <= m)
}

/// Every feasible replication with its totals.
fn brute_force(arch: &ArchConfig, costs: &[LayerCost], budget: u64, c: &Constraints) -> Vec<(Vec<u64>, Totals)> {
    let mut out = Vec::new();
    let mut r = vec![1u64; costs.len()];
    loop {
        if feasible(arch, costs, &r, budget, c) {
            out.push((r.clone(), totals(arch, costs, &r).unwrap()));
        }
        let Some(i) = (0..r.len()).find(|&i| r[i] < costs[i].positions) else {
            break;
        };
        r[i] += 1;
        r[..i].fill(1);
    }
    out
}

fn mixed_score(alpha: f64, t: &Totals, reference: &Totals) -> f64 {
    alpha * t.latency.get() as f64 / reference.latency.get() as f64
        + (1.0 - alpha) * t.interval.get() as f64 / reference.interval.get() as f64
}

fn constraints() -> impl Strategy<Value = Constraints> {
    (prop::option::of(1u64..6), prop::option::of(1u64..12), any::<bool>()).prop_map(
        |(max_replication, max_tiles, tile_exclusive)| Constraints {
            max_replication,
            max_tiles,
            tile_exclusive,
        },
    )
}

fn tiny_layers() -> impl Strategy<Value = Vec<(u64, u64, u64, u64)>> {
    prop::collection::vec((1u64..=9, 1u64..=20, 1u64..=5, 0u64..=400), 1..=3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn fast_paths_and_ilp_match_brute_force(
        layers in tiny_layers(),
        noc in any::<bool>(),
        extra in 0u64..30,
        c in constraints(),
        alpha in 0.0f64..=1.0,
    ) {
        let arch = arch(noc);
        let costs: Vec<LayerCost> = layers.into_iter().map(|l| cost(&arch, l)).collect();
        let ones: u64 = costs.iter().map(|k| k.xbars.get()).sum();
        let budget = ones + extra;
        let all = brute_force(&arch, &costs, budget, &c);
        let problem = |objective| Problem { arch: &arch, costs: &costs, physical: None, budget: Budget::Crossbars(Crossbars::new(budget)), objective, constraints: c };
        let Some(best_latency) = all.iter().map(|(_, t)| t.latency).min() else {
            // Nothing fits: every solver must say so.
            prop_assert!(solve(&problem(Objective::Latency), SolverChoice::Auto).is_err());
            prop_assert!(min_interval(&arch, &costs, None, Budget::Crossbars(Crossbars::new(budget)), &c).is_err());
            return Ok(());
        };
        let best_interval = all.iter().map(|(_, t)| t.interval).min().unwrap();
        let fast_latency = min_latency(&arch, &costs, None, Budget::Crossbars(Crossbars::new(budget)), &c).unwrap();
        let fast_interval = min_interval(&arch, &costs, None, Budget::Crossbars(Crossbars::new(budget)), &c).unwrap();
        prop_assert_eq!(fast_latency.totals.latency, best_latency);
        prop_assert_eq!(fast_interval.totals.interval, best_interval);
        for plan in [&fast_latency, &fast_interval] {
            prop_assert!(feasible(&arch, &costs, &plan.replication, budget, &c));
        }
        let ilp_latency = solve(&problem(Objective::Latency), SolverChoice::Ilp).unwrap();
        let ilp_interval = solve(&problem(Objective::Throughput), SolverChoice::Ilp).unwrap();
        prop_assert_eq!((ilp_latency.solver, ilp_latency.note.as_deref()), (SolverUsed::Ilp, None));
        prop_assert_eq!((ilp_interval.solver, ilp_interval.note.as_deref()), (SolverUsed::Ilp, None));
        prop_assert_eq!(ilp_latency.totals.latency, best_latency);
        prop_assert_eq!(ilp_interval.totals.interval, best_interval);
        prop_assert!(feasible(&arch, &costs, &ilp_latency.replication, budget, &c));
        prop_assert!(feasible(&arch, &costs, &ilp_interval.replication, budget, &c));
        for s in [&ilp_latency, &ilp_interval] {
            prop_assert!(s.bounds.interval_floor <= best_interval);
            prop_assert!(s.bounds.latency_floor <= best_latency);
            prop_assert!(s.bounds.balance <= best_interval.get() as f64 + 1e-9);
            prop_assert!(s.bounds.gap >= 0.0);
        }
        let lp = ilp_latency.bounds.lp_relaxation.unwrap();
        prop_assert!(lp <= best_latency.get() as f64 * (1.0 + 1e-9));
        let reference = totals(&arch, &costs, &vec![1; costs.len()]).unwrap();
        let best_mixed = all.iter().map(|(_, t)| mixed_score(alpha, t, &reference)).fold(f64::INFINITY, f64::min);
        let mixed = solve(&problem(Objective::Mixed { alpha }), SolverChoice::Auto).unwrap();
        prop_assert_eq!(mixed.solver, SolverUsed::Ilp);
        prop_assert!(feasible(&arch, &costs, &mixed.replication, budget, &c));
        prop_assert!((mixed.objective_value - best_mixed).abs() <= 1e-9 * best_mixed.max(1.0),
            "mixed {} vs brute force {}", mixed.objective_value, best_mixed);
    }

    #[test]
    fn ilp_matches_fast_paths_on_larger_instances(
        layers in prop::collection::vec((1u64..=4000, 1u64..=900, 1u64..=80, 0u64..=1_000_000), 1..=10),
        noc in any::<bool>(),
        factor in 1.0f64..3.0,
        c in constraints(),
    ) {
        let arch = arch(noc);
        let costs: Vec<LayerCost> = layers.into_iter().map(|l| cost(&arch, l)).collect();
        let ones: u64 = costs.iter().map(|k| k.xbars.get()).sum();
        // Scale the tile cap with the network so it is sometimes binding, sometimes not.
        let c = Constraints { max_tiles: c.max_tiles.map(|m| m * ones / 4 + 1), ..c };
        let budget = Budget::Crossbars(Crossbars::new((factor * ones as f64) as u64));
        let problem = |objective| Problem { arch: &arch, costs: &costs, physical: None, budget, objective, constraints: c };
        let Ok(fast_latency) = min_latency(&arch, &costs, None, budget, &c) else {
            prop_assert!(solve(&problem(Objective::Latency), SolverChoice::Ilp).is_err());
            return Ok(());
        };
        let fast_interval = min_interval(&arch, &costs, None, budget, &c).unwrap();
        let ilp_latency = solve(&problem(Objective::Latency), SolverChoice::Ilp).unwrap();
        let ilp_interval = solve(&problem(Objective::Throughput), SolverChoice::Ilp).unwrap();
        // No fallback may hide a disagreement: both answers come from CBC, proven optimal.
        prop_assert_eq!((ilp_latency.solver, ilp_latency.note.as_deref()), (SolverUsed::Ilp, None));
        prop_assert_eq!((ilp_interval.solver, ilp_interval.note.as_deref()), (SolverUsed::Ilp, None));
        prop_assert_eq!(ilp_latency.totals.latency, fast_latency.totals.latency);
        prop_assert_eq!(ilp_interval.totals.interval, fast_interval.totals.interval);
        prop_assert!(ilp_interval.bounds.interval_floor <= fast_interval.totals.interval);
        prop_assert!(ilp_latency.bounds.lp_relaxation.unwrap() <= fast_latency.totals.latency.get() as f64 * (1.0 + 1e-9));
    }
}

#[test]
fn fast_path_refuses_mixed_and_auto_picks_fast_path() {
    let arch = arch(false);
    let costs = [cost(&arch, (100, 10, 3, 0)), cost(&arch, (25, 40, 5, 0))];
    let p = |objective| Problem {
        arch: &arch,
        costs: &costs,
        physical: None,
        budget: Budget::Crossbars(Crossbars::new(40)),
        objective,
        constraints: Constraints::default(),
    };
    let mixed = p(Objective::Mixed { alpha: 0.3 });
    assert!(matches!(
        solve(&mixed, SolverChoice::FastPath),
        Err(ReplicateError::NoFastPath(_))
    ));
    let bad = p(Objective::Mixed { alpha: 1.5 });
    assert_eq!(solve(&bad, SolverChoice::Auto), Err(ReplicateError::InvalidAlpha(1.5)));
    let s = solve(&p(Objective::Throughput), SolverChoice::Auto).unwrap();
    assert_eq!((s.solver, s.note.as_deref()), (SolverUsed::FastPath, None));
    // I = 200 needs r0 >= 5 (ceil(100/5)*10) and r1 >= 5 (ceil(25/5)*40): 15 + 25 = 40
    // crossbars; anything lower needs r1 >= 7 (35 crossbars), leaving layer 0 at 1000.
    assert_eq!(s.replication, vec![5, 5]);
    assert_eq!(s.objective_value, 200.0);
    assert_eq!(s.charged_area, Budget::Crossbars(Crossbars::new(40)));
}

#[test]
fn balance_bound_formula() {
    let arch = arch(false);
    let costs = [cost(&arch, (100, 10, 3, 0)), cost(&arch, (25, 40, 5, 0))];
    // (100*3*10 + 25*5*40) / 80 = (3000 + 5000) / 80 = 100.
    assert_eq!(balance_bound(&costs, 80), 100.0);
}
