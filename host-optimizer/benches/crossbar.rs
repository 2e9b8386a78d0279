//! Criterion benchmark of the functional crossbar model at search speed (release profile):
//! - `fashion_test_10k/<b>`: one precision assignment (uniform `b/b`) of the `fashion`
//!   network through the bit-accurate crossbar model on all 10,000 Fashion-MNIST test images,
//!   on every core (target: < 30 s on 2 cores);
//! - `digits_test_359/8`: the same for the digits network's 359 held-out images.
//!
//! Needs the Debian package `dataset-fashion-mnist` (or `LRMP_FASHION_MNIST_DIR`).
//! Run: `cargo bench -p host-optimizer --bench crossbar`.

// Benchmark harness, not library code: a failure here should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use imc_model::{ArchConfig, Bits, Precision};
use lrmp_trained::graph::model::Set;

fn uniform(n: usize, b: u8) -> Vec<Precision> {
    let b = Bits::new(b).unwrap();
    vec![Precision { w_bits: b, a_bits: b }; n]
}

fn crossbar(c: &mut Criterion) {
    let mut group = c.benchmark_group("crossbar");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60))
        .warm_up_time(Duration::from_secs(1));
    let arch = ArchConfig::isaac();
    let fashion = lrmp_trained::fashion::model(None, None).expect("the fashion network and its data set");
    let n = fashion.spec().layer_count();
    for b in [8, 4] {
        group.bench_function(format!("fashion_test_10k/{b}"), |bench| {
            bench.iter(|| fashion.evaluate(&arch, &uniform(n, b), Set::Test).expect("evaluation"))
        });
    }
    let digits = lrmp_trained::digits::model(None, None).expect("the digits network");
    group.bench_function("digits_test_359/8", |bench| {
        bench.iter(|| digits.evaluate(&arch, &uniform(4, 8), Set::Test).expect("evaluation"))
    });
    group.finish();
}

criterion_group!(benches, crossbar);
criterion_main!(benches);
