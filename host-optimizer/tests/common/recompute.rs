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

/// A number field of a report object.
pub fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number in {v}"))
}

/// `a` and `b` agree to a relative `1e-4` (the physical parameters are rounded once to the
/// `2^-20` grid of the model's fixed-point numbers; this side computes in `f64`).
fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-4 * a.abs().max(b.abs()).max(1e-9),
        "{what}: report {a}, recomputed {b}"
    );
}

/// What DESIGN section 9 gives for one layer, from the report's own fields.
struct PhysicalLayer {
    time: u64,
    imas: u64,
    energy_pj: f64,
}

/// DESIGN section 9.2 to 9.4 for one layer, written out again from the report alone, and
/// checked against every physical field of the layer. `next_a_bits` is `b_out,l`.
fn recompute_physical_layer(p: &Value, l: &Value, next_a_bits: u64) -> PhysicalLayer {
    let (x, t, compute) = recompute_layer(l);
    let (xpi, ipt, link) = (
        u(p, "xbars_per_ima"),
        u(p, "imas_per_tile"),
        u(p, "link_bits_per_cycle"),
    );
    let (r, pos, a) = (u(l, "replication"), u(l, "positions"), u(l, "a_bits"));
    let (c_in, in_h, in_w) = (u(l, "in_channels"), u(l, "in_h"), u(l, "in_w"));
    let (c_out, out_h, out_w) = (u(l, "out_channels"), u(l, "out_h"), u(l, "out_w"));
    let (k_h, s_h) = (u(l, "kernel_h"), u(l, "stride_h"));
    assert_eq!(u(l, "out_bits"), next_a_bits, "b_out of {l}");
    let imas = ceil_div(r * x, xpi);
    let tiles = ceil_div(imas, ipt);
    let strips = r.min(out_h);
    let q = ceil_div(out_h, strips);
    let d_in = if l["kind"] == "fc" {
        c_in * a
    } else {
        c_in * in_w * a * strips * ((q - 1) * s_h + k_h)
    };
    let d_out = c_out * out_h * out_w * next_a_bits;
    let ingress = ceil_div(d_in, tiles * link);
    let egress = ceil_div(d_out, tiles * link);
    let noc = match u(p, "noc_bits_per_cycle") {
        0 => 0,
        n => ceil_div(c_in * in_h * in_w * a, n),
    };
    let terms = [
        ("compute", compute),
        ("ingress", ingress),
        ("egress", egress),
        ("noc", noc),
    ];
    let time = terms.iter().map(|t| t.1).max().unwrap();
    let binding = terms.iter().find(|t| t.1 == time).unwrap().0;
    let buffer_needed = strips * k_h * in_w * c_in * a;
    let buffer_available = 8 * u(p, "tile_buffer_bytes") * tiles;
    assert!(buffer_needed <= buffer_available, "line buffers overflow in {l}");
    for (key, want) in [
        ("imas", imas),
        ("tile_share", tiles),
        ("strips", strips),
        ("ingress_bits", d_in),
        ("egress_bits", d_out),
        ("compute_cycles", compute),
        ("ingress_cycles", ingress),
        ("egress_cycles", egress),
        ("cycles", time),
        ("buffer_bits_needed", buffer_needed),
        ("buffer_bits_available", buffer_available),
    ] {
        assert_eq!(u(l, key), want, "`{key}` of {l}");
    }
    assert_eq!(l["binding"], binding, "binding of {l}");
    // Energy (9.4): event counts times per-event energies.
    let (rows, cols, g, wb) = (u(l, "rows"), u(l, "cols"), u(l, "groups"), u(l, "w_bits"));
    let s_w = ceil_div(wb, u(p, "cell_bits"));
    let steps = ceil_div(a, u(p, "dac_bits")) as f64;
    let blocks = ceil_div(rows, u(p, "xbar_rows")) as f64;
    let pos = pos as f64;
    let conversions = pos * steps * blocks * (g * cols * s_w) as f64;
    let e = &l["energy_pj"];
    let parts = [
        ("adc", conversions * f(p, "adc_pj")),
        ("shift_add", conversions * f(p, "shift_add_pj")),
        ("array", pos * steps * x as f64 * f(p, "array_step_pj")),
        (
            "registers",
            pos * steps * ceil_div(x, xpi) as f64 * f(p, "ima_register_pj"),
        ),
        (
            "dac",
            pos * steps * (g * rows * ceil_div(cols * s_w, u(p, "xbar_cols"))) as f64 * f(p, "dac_row_step_pj"),
        ),
        (
            "buffer",
            d_in as f64 * (f(p, "buffer_pj_per_bit") + f(p, "bus_pj_per_bit")),
        ),
        (
            "noc",
            d_out as f64 * (f(p, "buffer_pj_per_bit") + u(p, "noc_hops") as f64 * f(p, "noc_pj_per_bit_hop")),
        ),
    ];
    for (key, want) in parts {
        close(f(e, key), want, &format!("energy `{key}` of {}", l["name"]));
    }
    let total: f64 = parts.iter().map(|p| p.1).sum();
    close(f(e, "total"), total, &format!("energy total of {}", l["name"]));
    assert!(time >= t);
    PhysicalLayer {
        time,
        imas,
        energy_pj: total,
    }
}

/// Checks a physical-model plan report (DESIGN section 9, 9.5 fields) against DESIGN
/// section 9 written out again, from the report alone: per-layer floors, bindings, buffers
/// and energy, and the totals, area, budget and gains. Returns the result's `(L, I)`.
pub fn check_physical_report(report: &Value) -> (u64, u64) {
    let p = &report["arch_params"];
    let layers = report["layers"].as_array().expect("layers");
    let (xpi, ipt) = (u(p, "xbars_per_ima"), u(p, "imas_per_tile"));
    let (mut latency, mut slowest, mut imas, mut dynamic) = (0u64, 0u64, 0u64, 0f64);
    for (i, l) in layers.iter().enumerate() {
        let next = layers.get(i + 1).map_or(8, |n| u(n, "a_bits"));
        let layer = recompute_physical_layer(p, l, next);
        latency += layer.time;
        slowest = slowest.max(layer.time);
        imas += layer.imas;
        dynamic += layer.energy_pj;
    }
    let first = &layers[0];
    let io = ceil_div(
        u(first, "in_channels") * u(first, "in_h") * u(first, "in_w") * u(first, "a_bits"),
        u(p, "io_bits_per_cycle"),
    );
    let noc_chip = match u(p, "noc_bits_per_cycle") {
        0 => 0,
        n => ceil_div(
            layers
                .iter()
                .map(|l| u(l, "in_channels") * u(l, "in_h") * u(l, "in_w") * u(l, "a_bits"))
                .sum(),
            n,
        ),
    };
    let interval = slowest.max(io).max(noc_chip);
    let tiles = ceil_div(imas, ipt);
    let area = |n: u64| n as f64 * f(p, "ima_area_mm2") + ceil_div(n, ipt) as f64 * f(p, "tile_overhead_mm2");
    let r = &report["result"];
    assert_eq!(
        (u(r, "latency_cycles"), u(r, "interval_cycles")),
        (latency, interval),
        "result L, I"
    );
    assert_eq!((u(r, "area_imas"), u(r, "tiles"), u(r, "io_cycles")), (imas, tiles, io));
    close(f(r, "area_mm2"), area(imas), "result area");
    let static_pj = tiles as f64 * f(p, "tile_static_mw") * interval as f64 / u(p, "clock_mhz") as f64 * 1000.0;
    close(f(r, "energy_uj"), (dynamic + static_pj) * 1e-6, "result energy");
    close(f(r, "static_energy_uj"), static_pj * 1e-6, "result static energy");
    close(
        f(r, "inferences_per_joule"),
        1e12 / (dynamic + static_pj),
        "inferences per joule",
    );
    // Budget (9.2): the largest IMA count whose area is at most F times the baseline's.
    let budget = u(report, "budget_imas");
    assert!(imas <= budget, "{imas} IMAs over the budget of {budget}");
    let b = &report["baseline"];
    let limit = f(report, "area_factor") * area(u(b, "area_imas"));
    assert!(
        area(budget) <= limit * (1.0 + 1e-9),
        "budget {budget} IMAs exceeds the area"
    );
    assert!(
        area(budget + 1) > limit * (1.0 - 1e-9),
        "budget {budget} IMAs is not the largest"
    );
    assert!(u(b, "area_imas") * xpi >= u(b, "area_xbars"));
    let gain = |key: &str, of: &Value| u(b, key) as f64 / u(of, key) as f64;
    close(f(report, "latency_gain"), gain("latency_cycles", r), "latency gain");
    close(
        f(report, "throughput_gain"),
        gain("interval_cycles", r),
        "throughput gain",
    );
    close(
        f(report, "energy_gain"),
        f(b, "energy_uj") / f(r, "energy_uj"),
        "energy gain",
    );
    (latency, interval)
}
