//! Property tests under the physical model (DESIGN section 9): on random small layers and
//! hierarchies, where `T_l` is not monotone in `r` and line buffers exclude some
//! replications, the fast paths and the ILP find the brute-force optimum over every
//! replication vector.

use imc_model::physical::{self, PhysLayer, PhysicalConfig, PhysicalParams};
use imc_model::{ArchConfig, ArchParams, Bits, LayerCost, LayerDims, LayerKind, LayerShape, Precision};
use proptest::prelude::*;

use super::*;

fn arch() -> ArchConfig {
    let mut p = ArchParams::ISAAC;
    // Small crossbars so tiny layers span several; tiles of 2 IMAs of 2 crossbars.
    p.xbar_rows = 16;
    p.xbar_cols = 16;
    p.xbars_per_tile = 4;
    ArchConfig::new(p).unwrap()
}

fn config(buffer_bytes: u64, link: u64) -> PhysicalConfig {
    PhysicalConfig::new(PhysicalParams {
        xbars_per_ima: 2,
        imas_per_tile: 2,
        tile_buffer_bytes: buffer_bytes,
        link_bits_per_cycle: link,
        io_bits_per_cycle: 16,
        ..PhysicalParams::ISAAC
    })
    .unwrap()
}

/// A convolution `c_in -> c_out`, kernel `k`, stride `s`, output `h x w`.
fn conv((c_in, c_out, k, s, h, w): (u32, u32, u32, u32, u32, u32)) -> (LayerShape, u32) {
    let dims = LayerDims {
        kind: LayerKind::Conv,
        c_in,
        c_out,
        kernel_h: k,
        kernel_w: k,
        groups: 1,
        in_h: (h - 1) * s + k,
        in_w: (w - 1) * s + k,
        out_h: h,
        out_w: w,
    };
    (LayerShape::new(dims).unwrap(), s)
}

/// Every feasible replication vector (buffers fit, IMAs within the budget, caps met) with
/// its `(L, I, E)` from `imc_model::physical::chip_report`.
fn brute_force(
    arch: &ArchConfig,
    config: &PhysicalConfig,
    layers: &[PhysLayer],
    budget: u64,
    c: &Constraints,
) -> Vec<(Vec<u64>, u64, u64, f64)> {
    let per_tile = config.imas_per_tile();
    let mut out = Vec::new();
    let mut r = vec![1u64; layers.len()];
    loop {
        let timings: Option<Vec<_>> = layers
            .iter()
            .zip(&r)
            .enumerate()
            .map(|(i, (l, &r))| physical::layer_timing(arch, config, l, i, r).ok())
            .collect();
        if let Some(t) = timings {
            let imas: Vec<u64> = t.iter().map(|t| t.imas.get()).collect();
            let (charged, tiles) = if c.tile_exclusive {
                let tiles: u64 = imas.iter().map(|i| i.div_ceil(per_tile)).sum();
                (tiles * per_tile, tiles)
            } else {
                let total: u64 = imas.iter().sum();
                (total, total.div_ceil(per_tile))
            };
            let cap_ok = r.iter().all(|&r| c.max_replication.is_none_or(|m| r <= m));
            if charged <= budget && cap_ok && c.max_tiles.is_none_or(|m| tiles <= m) {
                let chip = physical::chip_report(arch, config, layers, &r).unwrap();
                let t = chip.timing;
                out.push((r.clone(), t.latency.get(), t.interval.get(), chip.energy.total.to_f64()));
            }
        }
        let Some(i) = (0..r.len()).find(|&i| r[i] < layers[i].shape.positions()) else {
            break;
        };
        r[i] += 1;
        r[..i].fill(1);
    }
    out
}

fn conv_params() -> impl Strategy<Value = (u32, u32, u32, u32, u32, u32)> {
    (1u32..=6, 1u32..=12, 1u32..=3, 1u32..=2, 1u32..=4, 1u32..=2)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fast_paths_and_ilp_match_brute_force_under_the_physical_model(
        convs in prop::collection::vec(conv_params(), 1..=3),
        bits in prop::collection::vec((2u8..=8, 2u8..=8), 3),
        buffer in 2u64..=64,
        link in 16u64..=64,
        extra in 0u64..8,
        max_replication in prop::option::of(1u64..6),
        max_tiles in prop::option::of(1u64..8),
        tile_exclusive in any::<bool>(),
    ) {
        let arch = arch();
        let config = config(buffer, link);
        let shapes: Vec<(LayerShape, u32)> = convs.into_iter().map(conv).collect();
        let precisions: Vec<Precision> = bits
            .iter()
            .take(shapes.len())
            .map(|&(w, a)| Precision { w_bits: Bits::new(w).unwrap(), a_bits: Bits::new(a).unwrap() })
            .collect();
        let layers: Vec<PhysLayer> = shapes
            .iter()
            .zip(&precisions)
            .enumerate()
            .map(|(i, ((s, stride), &p))| PhysLayer::new(*s, p, physical::floors::out_bits(&precisions, i), *stride))
            .collect();
        let costs: Vec<LayerCost> = shapes
            .iter()
            .zip(&precisions)
            .map(|((s, _), &p)| LayerCost::new(&arch, s, p).unwrap())
            .collect();
        let c = Constraints { max_replication, max_tiles, tile_exclusive };
        let ones: u64 = costs
            .iter()
            .map(|k| k.xbars.get().div_ceil(config.xbars_per_ima()))
            .sum();
        let budget = ones + extra;
        let view = Physical { config: &config, layers: &layers };
        let all = brute_force(&arch, &config, &layers, budget, &c);
        let b = Budget::Imas(physical::Imas::new(budget));
        let problem = |objective| Problem {
            arch: &arch,
            costs: &costs,
            physical: Some(view),
            budget: b,
            objective,
            constraints: c,
        };
        let Some(best_latency) = all.iter().map(|t| t.1).min() else {
            prop_assert!(solve(&problem(Objective::Latency), SolverChoice::Auto).is_err());
            prop_assert!(min_interval(&arch, &costs, Some(&view), b, &c).is_err());
            return Ok(());
        };
        let best_interval = all.iter().map(|t| t.2).min().unwrap();
        let feasible = |r: &[u64]| all.iter().any(|(v, _, _, _)| v == r);
        let fast_latency = min_latency(&arch, &costs, Some(&view), b, &c).unwrap();
        let fast_interval = min_interval(&arch, &costs, Some(&view), b, &c).unwrap();
        prop_assert_eq!(fast_latency.totals.latency.get(), best_latency);
        prop_assert_eq!(fast_interval.totals.interval.get(), best_interval);
        prop_assert!(feasible(&fast_latency.replication) && feasible(&fast_interval.replication));
        for (objective, best) in [(Objective::Latency, best_latency), (Objective::Throughput, best_interval)] {
            let s = solve(&problem(objective), SolverChoice::Ilp).unwrap();
            prop_assert_eq!((s.solver, s.note.as_deref()), (SolverUsed::Ilp, None));
            let got = match objective {
                Objective::Latency => s.totals.latency.get(),
                _ => s.totals.interval.get(),
            };
            prop_assert_eq!(got, best);
            prop_assert!(feasible(&s.replication));
            prop_assert!(s.bounds.interval_floor.get() <= best_interval);
            prop_assert!(s.bounds.latency_floor.get() <= best_latency);
            prop_assert!(s.bounds.balance <= best_interval as f64 + 1e-9);
        }
        // Energy and EDP: the sweep's answer is feasible, never below the brute-force
        // optimum, and its bound never above it; a zero gap means it is the optimum.
        let best_energy = all.iter().map(|t| t.3).fold(f64::INFINITY, f64::min);
        let best_edp = all.iter().map(|t| t.3 * t.1 as f64).fold(f64::INFINITY, f64::min);
        for (objective, best) in [(Objective::Energy, best_energy), (Objective::Edp, best_edp)] {
            let s = solve(&problem(objective), SolverChoice::Auto).unwrap();
            prop_assert_eq!(s.solver, SolverUsed::EnergySweep);
            prop_assert!(feasible(&s.replication));
            let tol = 1e-9 * best;
            prop_assert!(s.objective_value >= best - tol, "{:?}: {} below the optimum {}", objective, s.objective_value, best);
            let bound = s.objective_value / (1.0 + s.bounds.gap);
            prop_assert!(bound <= best + tol, "{:?}: bound {} above the optimum {}", objective, bound, best);
            if s.bounds.gap == 0.0 {
                prop_assert!((s.objective_value - best).abs() <= tol);
            }
        }
    }
}
