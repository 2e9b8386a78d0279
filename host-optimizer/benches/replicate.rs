//! Replication optimiser timings on the built-in networks at 8/8 precision, under the
//! physical model of DESIGN section 9 (the default `isaac` preset) and the ideal model of
//! section 3 (preset `ideal`).
//!
//! `cargo bench -p host-optimizer --bench replicate`. Budgets are `floor(F * A_0)` crossbars
//! under the ideal model and the IMAs of DESIGN 9.2 under the physical one. Medians go into
//! docs/replication.md and docs/cost-model.md.

// Benchmark harness, not library code: a failure here should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use host_optimizer::replicate::{
    min_interval, min_latency, solve, Budget, Constraints, Objective, Physical, Problem, SolverChoice,
};
use host_optimizer::{mapping, network};
use imc_model::physical::{self, AreaFactor, PhysLayer, PhysicalConfig};
use imc_model::{ArchConfig, LayerCost, Precision};

const NETWORKS: [&str; 5] = ["resnet18", "resnet34", "resnet50", "vgg16", "mobilenetv2"];

struct Setup {
    arch: ArchConfig,
    config: PhysicalConfig,
    costs: Vec<LayerCost>,
    layers: Vec<PhysLayer>,
    ideal_budget: Budget,
    physical_budget: Budget,
}

fn setup(name: &str, area_factor: &str) -> Setup {
    let arch = ArchConfig::isaac();
    let config = PhysicalConfig::isaac();
    let net = network::load(name).expect("built-in network");
    let n = net.layers.len();
    let costs = mapping::baseline_costs(&arch, &net).expect("costs");
    let layers = mapping::phys_layers(&net, &vec![Precision::BASELINE; n]);
    let area = mapping::unreplicated(&arch, &costs).expect("totals").area;
    let factor = AreaFactor::from_decimal_str(area_factor).expect("factor");
    let chip = physical::chip_timing(&arch, &config, &layers, &vec![1; n]).expect("8/8 fits");
    Setup {
        ideal_budget: Budget::Crossbars(mapping::budget(area, area_factor.parse().expect("factor"))),
        physical_budget: Budget::Imas(physical::budget_imas(&config, chip.placement.imas, factor).expect("budget")),
        arch,
        config,
        costs,
        layers,
    }
}

impl Setup {
    fn physical(&self) -> Physical<'_> {
        Physical {
            config: &self.config,
            layers: &self.layers,
        }
    }
    fn problem(&self, objective: Objective, physical: bool) -> Problem<'_> {
        Problem {
            arch: &self.arch,
            costs: &self.costs,
            physical: physical.then(|| self.physical()),
            budget: if physical {
                self.physical_budget
            } else {
                self.ideal_budget
            },
            objective,
            constraints: Constraints::default(),
        }
    }
}

fn throughput(c: &mut Criterion) {
    let s = setup("resnet50", "1.5");
    let none = Constraints::default();
    let mut group = c.benchmark_group("throughput/resnet50/F1.5");
    group.bench_function("physical/fast-path", |b| {
        b.iter(|| {
            min_interval(
                &s.arch,
                black_box(&s.costs),
                Some(&s.physical()),
                s.physical_budget,
                &none,
            )
        })
    });
    group.bench_function("ideal/fast-path", |b| {
        b.iter(|| min_interval(&s.arch, black_box(&s.costs), None, s.ideal_budget, &none))
    });
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    for (model, physical) in [("physical", true), ("ideal", false)] {
        let problem = s.problem(Objective::Throughput, physical);
        group.bench_function(format!("{model}/solve-ilp"), |b| {
            b.iter(|| solve(black_box(&problem), SolverChoice::Ilp))
        });
        group.bench_function(format!("{model}/solve-auto"), |b| {
            b.iter(|| solve(black_box(&problem), SolverChoice::Auto))
        });
    }
    group.finish();
}

fn latency(c: &mut Criterion) {
    let none = Constraints::default();
    for name in NETWORKS {
        let s = setup(name, "2.0");
        let mut group = c.benchmark_group(format!("latency/{name}/F2"));
        group.sample_size(10).measurement_time(Duration::from_secs(5));
        group.bench_function("physical/fast-path", |b| {
            b.iter(|| {
                min_latency(
                    &s.arch,
                    black_box(&s.costs),
                    Some(&s.physical()),
                    s.physical_budget,
                    &none,
                )
            })
        });
        group.bench_function("ideal/fast-path", |b| {
            b.iter(|| min_latency(&s.arch, black_box(&s.costs), None, s.ideal_budget, &none))
        });
        let problem = s.problem(Objective::Latency, true);
        group.bench_function("physical/solve-ilp", |b| {
            b.iter(|| solve(black_box(&problem), SolverChoice::Ilp))
        });
        group.finish();
    }
}

criterion_group!(benches, throughput, latency);
criterion_main!(benches);
