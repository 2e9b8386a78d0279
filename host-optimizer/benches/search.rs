//! Criterion benchmarks of the LRMP search (release profile):
//! - `rl_300_resnet50_proxy`: a 300-episode DDPG search on resnet50 with the proxy oracle and
//!   the exact replication fast path in the loop (target: < 60 s on 2 cores);
//! - `milp/<network>`: the exact joint MILP on every built-in network (target: < 30 s each).
//!
//! Run: `cargo bench -p host-optimizer --bench search`.

// Benchmark harness, not library code: a failure here should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use host_optimizer::accuracy::OracleSpec;
use host_optimizer::network;
use host_optimizer::search::adapters::run_with_project_tools;
use host_optimizer::search::{Goal, Method, ProblemSpec, RlConfig, SearchProblem};
use imc_model::ArchConfig;

fn problem(name: &str, goal: Goal) -> (network::Network, SearchProblem) {
    let net = network::load(name).expect("built-in network");
    let spec = ProblemSpec {
        goal,
        ..ProblemSpec::default()
    };
    let p = SearchProblem::new(ArchConfig::isaac(), &net, &spec).expect("valid problem");
    (net, p)
}

fn rl(c: &mut Criterion) {
    let mut group = c.benchmark_group("search");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60))
        .warm_up_time(Duration::from_secs(1));
    let (net, p) = problem("resnet50", Goal::Latency);
    group.bench_function("rl_300_resnet50_proxy", |b| {
        b.iter(|| {
            let rl = RlConfig {
                episodes: 300,
                ..RlConfig::default()
            };
            run_with_project_tools(&net, &p, &OracleSpec::Proxy, Method::Rl, rl, None, &mut |_| {}).expect("search")
        })
    });
    for name in ["resnet18", "resnet34", "resnet50", "vgg16", "mobilenetv2", "digits"] {
        for goal in [Goal::Latency, Goal::Throughput] {
            let (net, p) = problem(name, goal);
            group.bench_function(format!("milp/{name}/{}", goal.as_str()), |b| {
                b.iter(|| {
                    run_with_project_tools(
                        &net,
                        &p,
                        &OracleSpec::Proxy,
                        Method::Milp,
                        RlConfig::default(),
                        None,
                        &mut |_| {},
                    )
                    .expect("milp")
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, rl);
criterion_main!(benches);
