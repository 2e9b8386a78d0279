//! Replication optimiser timings on the built-in networks at 8/8 precision.
//!
//! `cargo bench -p host-optimizer --bench replicate`. Budgets are `floor(F * A_0)` with
//! `A_0` the unreplicated 8/8 area (DESIGN section 3). Medians go into docs/replication.md.

// Benchmark harness, not library code: a failure here should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use host_optimizer::replicate::{min_interval, min_latency, solve, Constraints, Objective, Problem, SolverChoice};
use host_optimizer::{mapping, network};
use imc_model::{ArchConfig, Crossbars, LayerCost};

const NETWORKS: [&str; 5] = ["resnet18", "resnet34", "resnet50", "vgg16", "mobilenetv2"];

fn setup(name: &str, area_factor: f64) -> (ArchConfig, Vec<LayerCost>, Crossbars) {
    let arch = ArchConfig::isaac();
    let net = network::load(name).expect("built-in network");
    let costs = mapping::baseline_costs(&arch, &net).expect("costs");
    let area = mapping::unreplicated(&arch, &costs).expect("totals").area;
    (arch, costs, mapping::budget(area, area_factor))
}

fn throughput(c: &mut Criterion) {
    let (arch, costs, budget) = setup("resnet50", 1.5);
    let none = Constraints::default();
    let problem = Problem {
        arch: &arch,
        costs: &costs,
        budget,
        objective: Objective::Throughput,
        constraints: none,
    };
    let mut group = c.benchmark_group("throughput/resnet50/F1.5");
    group.bench_function("fast-path", |b| {
        b.iter(|| min_interval(&arch, black_box(&costs), budget, &none))
    });
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    group.bench_function("solve-ilp", |b| {
        b.iter(|| solve(black_box(&problem), SolverChoice::Ilp))
    });
    group.bench_function("solve-auto", |b| {
        b.iter(|| solve(black_box(&problem), SolverChoice::Auto))
    });
    group.finish();
}

fn latency(c: &mut Criterion) {
    let none = Constraints::default();
    for name in NETWORKS {
        let (arch, costs, budget) = setup(name, 2.0);
        let problem = Problem {
            arch: &arch,
            costs: &costs,
            budget,
            objective: Objective::Latency,
            constraints: none,
        };
        let mut group = c.benchmark_group(format!("latency/{name}/F2"));
        group.sample_size(10).measurement_time(Duration::from_secs(5));
        group.bench_function("fast-path", |b| {
            b.iter(|| min_latency(&arch, black_box(&costs), budget, &none))
        });
        group.bench_function("solve-ilp", |b| {
            b.iter(|| solve(black_box(&problem), SolverChoice::Ilp))
        });
        group.finish();
    }
}

criterion_group!(benches, throughput, latency);
criterion_main!(benches);
