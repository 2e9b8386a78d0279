//! `lrmp plan` end to end: every built-in network's JSON report is recomputed here from its
//! own fields with DESIGN section 3 (preset `ideal`) and section 9 (the default, physical
//! `isaac`) written out independently, and bad input exits with code 2 and a message that
//! names what is wrong.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/recompute.rs"]
mod recompute;

use recompute::{check_physical_report, check_report, lrmp, plan_json, u};
use serde_json::Value;

#[test]
fn every_builtin_baseline_report_follows_the_cost_model() {
    for net in ["resnet18", "resnet34", "resnet50", "vgg16", "mobilenetv2", "digits"] {
        let report = plan_json(&["--network", net, "--arch", "ideal"]);
        assert_eq!(report["network"], net);
        assert_eq!(report["arch"], "ideal");
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
    let report = plan_json(&["--network", "resnet18", "--bits", "4/5", "--arch", "ideal"]);
    check_report(&report);
    check_physical_report(&plan_json(&["--network", "resnet18", "--bits", "4/5"]));
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
        let report = plan_json(&[
            "--network",
            "resnet18",
            "--area-factor",
            "2",
            "--objective",
            objective,
            "--arch",
            "ideal",
        ]);
        check_report(&report);
        assert!(report["throughput_gain"].as_f64().unwrap() > 1.0, "{objective}");
        assert!(report["optimality"]["interval_lower_bound_cycles"].as_u64().unwrap() > 0);
    }
}

/// The Done-when of the physical model: on the default preset every built-in network's plan
/// at 1.5x area reports area in mm², energy and a binding per layer, and no layer exceeds its
/// ingress, egress or buffer limits (DESIGN section 9 recomputed from the report alone).
#[test]
fn every_builtin_physical_report_follows_design_section_9() {
    for net in ["resnet18", "resnet34", "resnet50", "vgg16", "mobilenetv2", "digits"] {
        for objective in ["throughput", "latency"] {
            let report = plan_json(&["--network", net, "--area-factor", "1.5", "--objective", objective]);
            assert_eq!(report["arch"], "isaac");
            let (latency, interval) = check_physical_report(&report);
            // Replication never makes the objective worse than the baseline.
            let base = &report["baseline"];
            match objective {
                "throughput" => assert!(interval <= u(base, "interval_cycles"), "{net}"),
                _ => assert!(latency <= u(base, "latency_cycles"), "{net}"),
            }
        }
        // At 1.0: replicas may still fill the crossbars an IMA holds beyond one replica
        // (conv1 of resnet18 is 4 crossbars in an IMA of 8), never worse than the baseline.
        let report = plan_json(&["--network", net]);
        let (latency, _) = check_physical_report(&report);
        assert!(latency <= u(&report["baseline"], "latency_cycles"), "{net}");
        assert_eq!(report["result"]["area_imas"], report["baseline"]["area_imas"], "{net}");
    }
    let noc = plan_json(&["--network", "resnet18", "--area-factor", "2", "--arch", "isaac-noc"]);
    check_physical_report(&noc);
}

/// The energy objectives (DESIGN 9.4): reports follow section 9, the energy plan uses no
/// more energy than the throughput plan, and the EDP plan has no larger energy x latency.
#[test]
fn energy_objectives_report_and_beat_the_time_objectives_on_their_figure() {
    let plan = |objective: &str| {
        let r = plan_json(&[
            "--network",
            "resnet18",
            "--area-factor",
            "1.5",
            "--objective",
            objective,
        ]);
        check_physical_report(&r);
        let solver = if objective.starts_with('e') {
            "energy-sweep"
        } else {
            "fast-path"
        };
        assert_eq!(r["optimality"]["solver"], solver);
        let e = r["result"]["energy_uj"].as_f64().unwrap();
        let l = r["result"]["latency_cycles"].as_f64().unwrap();
        (e, l)
    };
    let (e_energy, _) = plan("energy");
    let (e_edp, l_edp) = plan("edp");
    for objective in ["throughput", "latency"] {
        let (e, l) = plan(objective);
        assert!(
            e_energy <= e * (1.0 + 1e-12),
            "energy plan {e_energy} vs {objective} {e}"
        );
        assert!(e_edp * l_edp <= e * l * (1.0 + 1e-12), "edp plan vs {objective}");
    }
}

/// `--arch ideal` is DESIGN section 3 alone: no physical field in its report.
#[test]
fn ideal_reports_have_no_physical_fields() {
    let report = plan_json(&["--network", "resnet18", "--area-factor", "1.5", "--arch", "ideal"]);
    assert!(report.get("arch_params").is_none() && report.get("energy_gain").is_none());
    assert!(report["layers"][0].get("binding").is_none());
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
    use std::process::{Command, Stdio};
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
