//! `lrmp eval` end to end: the committed digits weights through the crossbar model, the
//! proxy, the external-evaluator protocol and its failures, and bad input.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn lrmp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lrmp"))
        .args(args)
        .output()
        .expect("lrmp runs")
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn digits_at_8_8_is_within_one_point_of_float() {
    let v = json(&lrmp(&["eval", "--network", "digits", "--bits", "8/8", "--json"]));
    let (acc, float, drop) = (
        v["accuracy"].as_f64().unwrap(),
        v["float_accuracy"].as_f64().unwrap(),
        v["accuracy_drop"].as_f64().unwrap(),
    );
    assert_eq!(v["network"], "digits");
    assert_eq!(v["oracle"], "measured");
    assert!(float >= 0.95, "float accuracy {float}");
    assert!((drop - 100.0 * (float - acc)).abs() < 1e-9);
    assert!(drop.abs() <= 1.0, "8/8 drop {drop} pp");
    assert_eq!(v["test_samples"], 359);
}

#[test]
fn lower_precision_costs_accuracy_and_ends_stay_8_8() {
    let v = json(&lrmp(&["eval", "--network", "digits", "--bits", "2/2", "--json"]));
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(
        (layers[0]["w_bits"].as_u64(), layers[1]["w_bits"].as_u64()),
        (Some(8), Some(2))
    );
    assert_eq!(layers[3]["a_bits"], 8);
    assert!(v["accuracy_drop"].as_f64().unwrap() > 10.0, "{v}");
}

#[test]
fn proxy_works_without_weights_and_measured_refuses() {
    let v = json(&lrmp(&["eval", "--network", "resnet18", "--bits", "4/4", "--json"]));
    assert_eq!(v["oracle"], "proxy");
    assert!(v["accuracy"].is_null());
    let terms: f64 = v["layer_drops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .sum();
    assert!((terms - v["accuracy_drop"].as_f64().unwrap()).abs() < 1e-9);
    let out = lrmp(&["eval", "--network", "resnet18", "--accuracy", "measured"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no trained weights"), "{}", stderr(&out));
}

#[test]
fn external_evaluator_answers_and_failures_are_clear() {
    let ok = "external:cat >/dev/null; echo '{\"accuracy\": 0.5, \"reference_accuracy\": 0.75}'";
    let v = json(&lrmp(&["eval", "--network", "digits", "--accuracy", ok, "--json"]));
    assert_eq!(v["accuracy_drop"], 25.0);
    let cases = [
        ("external:echo 'cuda out of memory' >&2; exit 7", "exit code 7"),
        ("external:echo 'not json'", "invalid answer"),
        ("external:sleep 20", "did not answer within 0.5 s"),
    ];
    for (spec, needle) in cases {
        let out = lrmp(&[
            "eval",
            "--network",
            "digits",
            "--accuracy",
            spec,
            "--external-timeout",
            "0.5",
        ]);
        assert_eq!(out.status.code(), Some(2), "{spec}");
        assert!(stderr(&out).contains(needle), "{spec}: {}", stderr(&out));
    }
}

#[test]
fn example_evaluator_script_speaks_the_protocol() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 not found; skipping the example script");
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/evaluator.py");
    let spec = format!("external:python3 {}", script.display());
    let out = Command::new(env!("CARGO_BIN_EXE_lrmp"))
        .args([
            "eval",
            "--network",
            "digits",
            "--bits",
            "8/8",
            "--accuracy",
            &spec,
            "--json",
        ])
        .env("LRMP", env!("CARGO_BIN_EXE_lrmp"))
        .output()
        .unwrap();
    let v = json(&out);
    assert!(v["accuracy_drop"].as_f64().unwrap().abs() <= 1.0, "{v}");
}

#[test]
fn bad_input_exits_2() {
    for args in [
        &["eval", "--network", "digits", "--bits", "9/4"][..],
        &["eval", "--network", "digits", "--accuracy", "oracle"][..],
        &["eval", "--network", "digits", "--adc-bits", "0"][..],
        &["eval", "--network", "nonesuch"][..],
    ] {
        let out = lrmp(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}
