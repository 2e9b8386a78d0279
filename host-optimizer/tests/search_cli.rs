//! End-to-end checks of `lrmp search`: the JSON report, the plan file and exit codes.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::Command;

fn lrmp(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lrmp"))
        .args(args)
        .output()
        .expect("lrmp runs")
}

#[test]
fn milp_search_prints_the_report_with_accuracy_drop() {
    let out = lrmp(&[
        "search",
        "--network",
        "resnet18",
        "--method",
        "milp",
        "--accuracy",
        "proxy",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let drop = v["result"]["accuracy_drop"].as_f64().expect("accuracy_drop");
    assert!(drop <= 1.0 + 1e-9);
    assert!(v["latency_gain"].as_f64().unwrap() > 1.0);
    assert!(v["result"]["area_xbars"].as_u64().unwrap() <= v["budget_xbars"].as_u64().unwrap());
    assert_eq!(v["search"]["method"], "milp");
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(
        (layers[0]["w_bits"].as_u64(), layers[0]["a_bits"].as_u64()),
        (Some(8), Some(8))
    );
}

#[test]
fn rl_search_is_reproducible_and_writes_a_plan() {
    let dir = std::env::temp_dir().join(format!("lrmp-search-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plan = dir.join("a.plan");
    let args = |out: &str| {
        vec![
            "search",
            "--network",
            "digits",
            "--accuracy",
            "proxy",
            "--episodes",
            "30",
            "--seed",
            "3",
            "--json",
            "--out",
        ]
        .into_iter()
        .map(String::from)
        .chain([out.to_string()])
        .collect::<Vec<_>>()
    };
    let run = |out: &str| {
        let a = args(out);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        lrmp(&refs)
    };
    let a = run(plan.to_str().unwrap());
    let b = run(dir.join("b.plan").to_str().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let (va, vb): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&a.stdout).unwrap(),
        serde_json::from_slice(&b.stdout).unwrap(),
    );
    assert_eq!(va["layers"], vb["layers"]);
    assert_eq!(
        std::fs::read(&plan).unwrap(),
        std::fs::read(dir.join("b.plan")).unwrap()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_proxy_answer_says_it_is_a_proxy_and_what_it_was_fitted_on() {
    let out = lrmp(&[
        "search",
        "--network",
        "digits",
        "--accuracy",
        "proxy",
        "--episodes",
        "3",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("accuracy: PROXY, not a measurement (proxy fitted on single-layer sweeps of digits and fashion"),
        "{text}"
    );
    let measured = lrmp(&[
        "search",
        "--network",
        "digits",
        "--accuracy",
        "measured",
        "--episodes",
        "3",
    ]);
    assert!(!String::from_utf8_lossy(&measured.stdout).contains("PROXY"));
}

#[test]
fn bad_input_exits_with_code_2() {
    for args in [
        &["search", "--network", "nope"][..],
        &["search", "--network", "resnet18", "--method", "annealing"][..],
        &["search", "--network", "resnet18", "--max-drop", "-1"][..],
        &[
            "search",
            "--network",
            "resnet18",
            "--method",
            "milp",
            "--accuracy",
            "external:false",
        ][..],
    ] {
        let out = lrmp(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
