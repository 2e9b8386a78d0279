//! `lrmp plan` end to end: every built-in network's JSON report is recomputed here from its
//! own per-layer fields with DESIGN section 3 written out independently, and bad input
//! exits with code 2 and a message that names what is wrong.

use std::process::{Command, Output};

use serde_json::Value;

fn lrmp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lrmp"))
        .args(args)
        .output()
        .expect("lrmp runs")
}

fn plan_json(args: &[&str]) -> Value {
    let mut all = vec!["plan", "--json"];
    all.extend_from_slice(args);
    let out = lrmp(&all);
    assert!(
        out.status.success(),
        "lrmp {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` is not an integer in {v}"))
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// DESIGN section 3 for the isaac preset (128x128, 2-bit cells, 1-bit DAC, 100-cycle step, 1-cycle add).
fn recompute_layer(l: &Value) -> (u64, u64, u64) {
    let (rows, cols, g) = (u(l, "rows"), u(l, "cols"), u(l, "groups"));
    let (wb, ab, r, p) = (u(l, "w_bits"), u(l, "a_bits"), u(l, "replication"), u(l, "positions"));
    let s_w = ceil_div(wb, 2);
    let x = if g == 1 {
        ceil_div(rows, 128) * ceil_div(cols * s_w, 128)
    } else if rows <= 128 && cols * s_w <= 128 {
        let per = (128 / rows).min(128 / (cols * s_w));
        ceil_div(g, per)
    } else {
        g * ceil_div(rows, 128) * ceil_div(cols * s_w, 128)
    };
    let blocks = ceil_div(rows, 128);
    let mut stages = 0;
    while (1u64 << stages) < blocks {
        stages += 1;
    }
    let t = ab * 100 + stages;
    assert!(r >= 1 && r <= p, "replication {r} outside 1..={p}");
    (x, t, ceil_div(p, r) * t)
}

fn check_report(report: &Value) {
    let mut latency = 0;
    let mut interval = 0;
    let mut area = 0;
    for l in report["layers"].as_array().expect("layers") {
        let (x, t, cycles) = recompute_layer(l);
        assert_eq!(u(l, "xbars_per_replica"), x, "{l}");
        assert_eq!(u(l, "cycles_per_position"), t, "{l}");
        assert_eq!(u(l, "cycles"), cycles, "{l}");
        latency += cycles;
        interval = interval.max(cycles);
        area += x * u(l, "replication");
    }
    let result = &report["result"];
    assert_eq!(u(result, "latency_cycles"), latency);
    assert_eq!(u(result, "interval_cycles"), interval);
    assert_eq!(u(result, "area_xbars"), area);
    assert!(area <= u(report, "budget_xbars"));
    let base = &report["baseline"];
    let gain = u(base, "latency_cycles") as f64 / latency as f64;
    assert!((report["latency_gain"].as_f64().unwrap() - gain).abs() < 1e-9);
    let gain = u(base, "interval_cycles") as f64 / interval as f64;
    assert!((report["throughput_gain"].as_f64().unwrap() - gain).abs() < 1e-9);
    assert!(result["accuracy_drop"].is_null());
}

#[test]
fn every_builtin_baseline_report_follows_the_cost_model() {
    for net in ["resnet18", "resnet34", "resnet50", "vgg16", "mobilenetv2", "digits"] {
        let report = plan_json(&["--network", net]);
        assert_eq!(report["network"], net);
        assert_eq!(report["arch"], "isaac");
        check_report(&report);
        // Area factor 1.0 at 8/8: the baseline itself is the only feasible mapping.
        assert_eq!(report["result"]["latency_cycles"], report["baseline"]["latency_cycles"]);
        for l in report["layers"].as_array().unwrap() {
            assert_eq!((u(l, "w_bits"), u(l, "a_bits"), u(l, "replication")), (8, 8, 1));
        }
    }
}

#[test]
fn mixed_precision_keeps_the_ends_at_eight_bits() {
    let report = plan_json(&["--network", "resnet18", "--bits", "4/5"]);
    check_report(&report);
    let layers = report["layers"].as_array().unwrap();
    let bits = |l: &Value| (u(l, "w_bits"), u(l, "a_bits"));
    assert_eq!(bits(&layers[0]), (8, 8));
    assert_eq!(bits(layers.last().unwrap()), (8, 8));
    assert!(layers[1..layers.len() - 1].iter().all(|l| bits(l) == (4, 5)));
    let freed = plan_json(&["--network", "resnet18", "--bits", "4/5", "--free-ends"]);
    assert!(freed["layers"].as_array().unwrap().iter().all(|l| bits(l) == (4, 5)));
}

#[test]
fn replication_reports_follow_the_cost_model() {
    for objective in ["latency", "throughput"] {
        let report = plan_json(&["--network", "resnet18", "--area-factor", "2", "--objective", objective]);
        check_report(&report);
        assert!(report["throughput_gain"].as_f64().unwrap() > 1.0, "{objective}");
        assert!(report["optimality"]["interval_lower_bound_cycles"].as_u64().unwrap() > 0);
    }
}

fn assert_bad_input(args: &[&str], needle: &str) {
    let out = lrmp(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: `{needle}` not in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_input_exits_with_code_two() {
    assert_bad_input(&["plan", "--network", "resnet19"], "resnet18");
    assert_bad_input(&["plan", "--network", "resnet18", "--arch", "nope"], "isaac");
    assert_bad_input(&["plan", "--network", "resnet18", "--bits", "9/8"], "out of range");
    assert_bad_input(&["plan", "--network", "resnet18", "--bits", "0/8"], "out of range");
    assert_bad_input(&["plan", "--network", "resnet18", "--bits", "x"], "W/A");
    assert_bad_input(&["plan", "--network", "resnet18", "--area-factor", "-1"], "outside");
    assert_bad_input(&["plan", "--network", "resnet18", "--area-factor", "nan"], "outside");
    assert_bad_input(&["plan", "--network", "resnet18", "--objective", "speed"], "speed");
    assert_bad_input(
        &["plan", "--network", "resnet18", "--area-factor", "0.5"],
        "minimum area",
    );
}

#[test]
fn bad_arch_and_precision_files_name_the_field_and_layer() {
    let dir = std::env::temp_dir().join(format!("lrmp-plan-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let arch = dir.join("arch.toml");
    std::fs::write(&arch, "base = \"isaac\"\nxbar_cols = 0\n").unwrap();
    assert_bad_input(
        &["plan", "--network", "resnet18", "--arch", arch.to_str().unwrap()],
        "xbar_cols",
    );
    let prec = dir.join("p.toml");
    std::fs::write(&prec, "[layers]\n\"layer9.conv1\" = \"4/4\"\n").unwrap();
    assert_bad_input(
        &["plan", "--network", "resnet18", "--precisions", prec.to_str().unwrap()],
        "layer9.conv1",
    );
    std::fs::write(&prec, "[layers]\nconv1 = \"4/12\"\n").unwrap();
    assert_bad_input(
        &["plan", "--network", "resnet18", "--precisions", prec.to_str().unwrap()],
        "conv1",
    );
    // A report is a precision file.
    let report = lrmp(&["plan", "--network", "resnet18", "--bits", "3/7", "--json"]);
    let path = dir.join("report.json");
    std::fs::write(&path, &report.stdout).unwrap();
    let again = plan_json(&["--network", "resnet18", "--precisions", path.to_str().unwrap()]);
    assert_eq!(u(&again["layers"][1], "w_bits"), 3);
    assert_eq!(u(&again["layers"][1], "a_bits"), 7);
    std::fs::remove_dir_all(&dir).ok();
}

/// `lrmp plan --json | head -1`: a reader that closes the pipe early ends the command
/// quietly (exit 0, no panic), as with other Unix tools.
#[test]
fn a_closed_output_pipe_ends_quietly() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_lrmp"))
        .args(["plan", "--network", "resnet50", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end before the report is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
