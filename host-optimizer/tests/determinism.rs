//! Determinism of `lrmp search` and `lrmp plan` (docs/determinism.md): the same arguments
//! and seed give byte-identical plan files and identical JSON reports, across runs and
//! across thread counts (`RAYON_NUM_THREADS` and `CANDLE_NUM_THREADS`, which candle's CPU
//! backend reads for its thread pools). The only field allowed to differ is the documented
//! wall-clock field [`TIMING_FIELDS`]; everything else, floats included, must be equal.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Report fields that measure wall-clock time, as `/`-separated JSON paths.
const TIMING_FIELDS: &[&str] = &["search/seconds"];

/// Thread counts each command runs with, twice each.
const THREADS: &[usize] = &[1, 2, 1, 2];

/// A fresh empty directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lrmp-determinism-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// One run of `lrmp <args> --out <plan> --json` with `threads` threads: the plan file's
/// bytes and the report.
fn run_lrmp(args: &[&str], threads: usize, plan: &Path) -> (Vec<u8>, Value) {
    let threads = threads.to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_lrmp"))
        .args(args)
        .arg("--out")
        .arg(plan)
        .arg("--json")
        .env("RAYON_NUM_THREADS", &threads)
        .env("CANDLE_NUM_THREADS", &threads)
        .output()
        .expect("lrmp starts");
    assert!(
        output.status.success(),
        "lrmp {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    let bytes = std::fs::read(plan).expect("the plan file was written");
    assert!(!bytes.is_empty(), "empty plan file");
    (bytes, report)
}

/// The report without its timing fields; each timing field must be present (so a renamed
/// field cannot hide a new source of difference).
fn without_timing(mut report: Value, expect_timing: bool) -> Value {
    for path in TIMING_FIELDS {
        let (parent, field) = path.rsplit_once('/').expect("a nested path");
        let removed = report
            .pointer_mut(&format!("/{parent}"))
            .and_then(Value::as_object_mut)
            .and_then(|object| object.remove(field));
        if expect_timing {
            assert!(
                removed.as_ref().is_some_and(Value::is_number),
                "timing field {path} missing"
            );
        }
    }
    report
}

/// Runs `args` with every entry of [`THREADS`]; every plan file and report must equal the
/// first.
fn assert_deterministic(test: &str, args: &[&str], timed: bool) {
    let dir = scratch(test);
    let mut first: Option<(Vec<u8>, Value)> = None;
    for (i, &threads) in THREADS.iter().enumerate() {
        let (plan, report) = run_lrmp(args, threads, &dir.join(format!("run{i}.plan")));
        let report = without_timing(report, timed);
        match &first {
            None => first = Some((plan, report)),
            Some((plan0, report0)) => {
                assert!(
                    plan == *plan0,
                    "{test}: run {i} ({threads} threads) wrote a different plan file"
                );
                assert_eq!(
                    report, *report0,
                    "{test}: run {i} ({threads} threads) reported differently"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn search_args(method: &'static str) -> Vec<&'static str> {
    vec![
        "search",
        "--network",
        "resnet18",
        "--method",
        method,
        "--episodes",
        "30",
        "--seed",
        "7",
        "--area-factor",
        "1.5",
        "--objective",
        "latency",
    ]
}

#[test]
fn rl_search_is_deterministic() {
    assert_deterministic("rl", &search_args("rl"), true);
}

#[test]
fn random_search_is_deterministic() {
    assert_deterministic("random", &search_args("random"), true);
}

#[test]
fn milp_search_is_deterministic() {
    assert_deterministic("milp", &search_args("milp"), true);
}

#[test]
fn plan_is_deterministic() {
    for objective in ["latency", "throughput"] {
        let args = [
            "plan",
            "--network",
            "resnet18",
            "--area-factor",
            "1.5",
            "--objective",
            objective,
            "--bits",
            "4/6",
        ];
        assert_deterministic(&format!("plan-{objective}"), &args, false);
    }
}

/// The measured accuracy oracle (the digits network run through the bit-accurate crossbar
/// model on its held-out split) under thread counts. Slow in a debug build (about 100 s for
/// the four runs), so it is left out of the default run:
/// `cargo test --release -p host-optimizer --test determinism -- --ignored`.
#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn measured_oracle_search_is_deterministic() {
    let args = [
        "search",
        "--network",
        "digits",
        "--method",
        "rl",
        "--episodes",
        "4",
        "--seed",
        "7",
        "--area-factor",
        "1.5",
        "--accuracy",
        "measured",
    ];
    assert_deterministic("digits-measured", &args, true);
}
