//! The independent recomputation of `lrmp plan --json` reports (DESIGN section 3 written
//! out again, for the isaac preset), shared by the integration tests that check reports:
//! `plan_cli.rs` (built-in networks) and `onnx_import.rs` (imported ONNX graphs). Include
//! it with `#[path = "common/recompute.rs"] mod recompute;`.

#![allow(dead_code)]
// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::{Command, Output};

use serde_json::Value;

/// Runs the `lrmp` binary under test.
pub fn lrmp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lrmp"))
        .args(args)
        .output()
        .expect("lrmp runs")
}

/// `lrmp plan --json ARGS`, which must succeed, parsed.
pub fn plan_json(args: &[&str]) -> Value {
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

/// An integer field of a report object.
pub fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` is not an integer in {v}"))
}

/// `ceil(a / b)`.
pub fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// DESIGN section 3 for the isaac preset (128x128, 2-bit cells, 1-bit DAC, 100-cycle step, 1-cycle add).
pub fn recompute_layer(l: &Value) -> (u64, u64, u64) {
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

/// Checks every per-layer figure and the totals of a plan report against the recomputation.
pub fn check_report(report: &Value) {
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
