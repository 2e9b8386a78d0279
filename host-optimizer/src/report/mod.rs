//! Reports (DESIGN section 7): JSON for machines, a table for people, each built from
//! measured or computed figures by a type with `Serialize` and `to_table`, so the command
//! line only prints them.
//!
//! - [`PlanReport`] (this module): `lrmp plan` and `lrmp search`. Its field names are a
//!   contract; fields beyond DESIGN are additions only.
//! - [`run::RunCheckReport`]: `lrmp run`, the firmware against the model.
//! - [`eval::EvalReport`]: `lrmp eval`, accuracy at given precisions.

pub mod eval;
pub mod physical;
pub mod run;

use std::fmt::Write as _;

use imc_model::cost::{LayerCost, Totals};
use imc_model::{ArchConfig, Precision};
use serde::Serialize;

use crate::network::Network;

/// Latency, interval and area of one mapping.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// `L`, cycles of one inference layer by layer.
    pub latency_cycles: u64,
    /// `I`, cycles between pipelined inferences.
    pub interval_cycles: u64,
    /// `A`, crossbars.
    pub area_xbars: u64,
    /// `L` in microseconds at the arch clock.
    pub latency_us: f64,
    /// Pipelined inferences per second, `clock / I`.
    pub throughput_per_s: f64,
    /// `A` in square millimetres: crossbars times `xbar_area_um2` under the ideal model,
    /// IMAs and tiles with their peripherals under the physical model.
    pub area_mm2: f64,
    /// Placement and energy under the physical model (DESIGN 9.5).
    #[serde(flatten)]
    pub physical: Option<physical::PhysicalSummary>,
}

impl Summary {
    /// Summarises totals on `arch`.
    pub fn new(arch: &ArchConfig, t: &Totals) -> Summary {
        let hz = f64::from(arch.clock_mhz()) * 1e6;
        Summary {
            latency_cycles: t.latency.get(),
            interval_cycles: t.interval.get(),
            area_xbars: t.area.get(),
            latency_us: t.latency.get() as f64 / f64::from(arch.clock_mhz()),
            throughput_per_s: hz / t.interval.get().max(1) as f64,
            area_mm2: t.area.get() as f64 * f64::from(arch.xbar_area_um2()) * 1e-6,
            physical: None,
        }
    }
}

/// The optimised mapping's summary, with its accuracy cost when known.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResultSummary {
    /// Latency, interval, area.
    #[serde(flatten)]
    pub summary: Summary,
    /// Accuracy drop in percentage points, `null` when no accuracy oracle ran.
    pub accuracy_drop: Option<f64>,
}

/// One layer of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerRow {
    /// Layer name.
    pub name: String,
    /// `conv` or `fc`.
    pub kind: &'static str,
    /// Rows per group `R`.
    pub rows: u64,
    /// Columns per group `C`.
    pub cols: u64,
    /// Groups.
    pub groups: u64,
    /// Positions per inference `P`.
    pub positions: u64,
    /// Weight bits.
    pub w_bits: u8,
    /// Activation bits.
    pub a_bits: u8,
    /// Crossbars per replica `X`.
    pub xbars_per_replica: u64,
    /// Replication `r`.
    pub replication: u64,
    /// Cycles per position `t`.
    pub cycles_per_position: u64,
    /// Layer time `T` in cycles.
    pub cycles: u64,
    /// `r * X`.
    pub area_xbars: u64,
    /// Layer time of the 8/8 unreplicated baseline.
    pub baseline_cycles: u64,
    /// True when a data-movement floor, not compute, sets `T`.
    pub noc_bound: bool,
    /// Placement, floors, binding and energy under the physical model (DESIGN 9.5).
    #[serde(flatten)]
    pub physical: Option<physical::PhysicalLayerRow>,
}

/// How replication was chosen and how far the result is from the balance bound.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Optimality {
    /// Solver that produced the replication.
    pub solver: String,
    /// Lower bound on the interval (perfect balance within the budget), cycles.
    pub interval_lower_bound_cycles: u64,
    /// `interval / bound - 1`.
    pub interval_gap: f64,
    /// Lower bound on the latency when the solver provides one, cycles.
    pub latency_lower_bound_cycles: Option<u64>,
    /// Gap of the objective to its best bound, `(value - bound) / bound`.
    pub objective_gap: f64,
    /// LP relaxation of the ILP in objective units, when it was computed.
    pub lp_relaxation: Option<f64>,
    /// Anything the solver wants the user to know (fallbacks, time limits).
    pub note: Option<String>,
}

/// The report of `lrmp plan` and `lrmp search` (DESIGN section 7).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanReport {
    /// Network name.
    pub network: String,
    /// Architecture name.
    pub arch: String,
    /// `latency`, `throughput` or `mixed`.
    pub objective: String,
    /// Area budget in crossbars (under the physical model: the budget's IMAs times
    /// `xbars_per_ima`, the most crossbars it can hold).
    pub budget_xbars: u64,
    /// Area budget in IMAs (physical model only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_imas: Option<u64>,
    /// Every architecture parameter, physical ones included (physical model only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch_params: Option<serde_json::Value>,
    /// Budget over baseline area.
    pub area_factor: f64,
    /// Accelerator clock.
    pub clock_mhz: u32,
    /// The 8/8 unreplicated mapping.
    pub baseline: Summary,
    /// The chosen mapping.
    pub result: ResultSummary,
    /// `L0 / L`.
    pub latency_gain: f64,
    /// `I0 / I`.
    pub throughput_gain: f64,
    /// `E0 / E`, energy per inference (physical model only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub energy_gain: Option<f64>,
    /// Replication solver and bound, when replication was optimised.
    pub optimality: Option<Optimality>,
    /// Per-layer detail.
    pub layers: Vec<LayerRow>,
}

/// Everything a report is built from.
pub struct ReportInput<'a> {
    /// Network.
    pub network: &'a Network,
    /// Architecture name.
    pub arch_name: &'a str,
    /// Architecture.
    pub arch: &'a ArchConfig,
    /// Objective name.
    pub objective: &'a str,
    /// Area budget.
    pub budget_xbars: u64,
    /// Area factor.
    pub area_factor: f64,
    /// Baseline per-layer costs.
    pub baseline_costs: &'a [LayerCost],
    /// Baseline totals.
    pub baseline: &'a Totals,
    /// Chosen precisions.
    pub precisions: &'a [Precision],
    /// Per-layer costs at the chosen precisions.
    pub costs: &'a [LayerCost],
    /// Chosen replication.
    pub replication: &'a [u64],
    /// Totals of the chosen mapping.
    pub result: &'a Totals,
}

impl PlanReport {
    /// Builds the report; all slices are per layer, in layer order.
    pub fn build(i: &ReportInput<'_>) -> PlanReport {
        let layers = i
            .network
            .layers
            .iter()
            .zip(i.precisions)
            .zip(i.costs.iter().zip(i.baseline_costs))
            .zip(i.replication)
            .map(|(((layer, p), (c, b)), &r)| LayerRow {
                name: layer.name.clone(),
                kind: layer.shape.kind().as_str(),
                rows: layer.shape.rows_per_group(),
                cols: layer.shape.cols_per_group(),
                groups: layer.shape.groups(),
                positions: c.positions,
                w_bits: p.w_bits.get(),
                a_bits: p.a_bits.get(),
                xbars_per_replica: c.xbars.get(),
                replication: r,
                cycles_per_position: c.cycles_per_position.get(),
                cycles: c.time(r).get(),
                area_xbars: c.xbars.get() * r,
                baseline_cycles: b.time(1).get(),
                noc_bound: c.noc_bound(r),
                physical: None,
            })
            .collect();
        let ratio = |a: u64, b: u64| a as f64 / b.max(1) as f64;
        PlanReport {
            network: i.network.name.clone(),
            arch: i.arch_name.to_string(),
            objective: i.objective.to_string(),
            budget_xbars: i.budget_xbars,
            budget_imas: None,
            arch_params: None,
            area_factor: i.area_factor,
            clock_mhz: i.arch.clock_mhz(),
            baseline: Summary::new(i.arch, i.baseline),
            result: ResultSummary {
                summary: Summary::new(i.arch, i.result),
                accuracy_drop: None,
            },
            latency_gain: ratio(i.baseline.latency.get(), i.result.latency.get()),
            throughput_gain: ratio(i.baseline.interval.get(), i.result.interval.get()),
            energy_gain: None,
            optimality: None,
            layers,
        }
    }

    /// A table for a terminal.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let b = &self.baseline;
        let r = &self.result.summary;
        let _ = writeln!(
            s,
            "{} on {} ({} MHz), objective {}, budget {} crossbars ({:.2}x baseline area)",
            self.network, self.arch, self.clock_mhz, self.objective, self.budget_xbars, self.area_factor
        );
        let _ = writeln!(
            s,
            "{:<12} {:>16} {:>16} {:>10}",
            "", "baseline 8/8", "this plan", "gain"
        );
        let _ = writeln!(
            s,
            "{:<12} {:>16} {:>16} {:>9.2}x",
            "latency", b.latency_cycles, r.latency_cycles, self.latency_gain
        );
        let _ = writeln!(
            s,
            "{:<12} {:>16} {:>16} {:>9.2}x",
            "interval", b.interval_cycles, r.interval_cycles, self.throughput_gain
        );
        let _ = writeln!(s, "{:<12} {:>16.1} {:>16.1}", "latency us", b.latency_us, r.latency_us);
        let _ = writeln!(
            s,
            "{:<12} {:>16.1} {:>16.1}",
            "inferences/s", b.throughput_per_s, r.throughput_per_s
        );
        let _ = writeln!(s, "{:<12} {:>16} {:>16}", "crossbars", b.area_xbars, r.area_xbars);
        if let (Some(bp), Some(rp)) = (&b.physical, &r.physical) {
            let _ = writeln!(s, "{:<12} {:>16} {:>16}", "IMAs", bp.area_imas, rp.area_imas);
            let _ = writeln!(s, "{:<12} {:>16} {:>16}", "tiles", bp.tiles, rp.tiles);
            let _ = writeln!(s, "{:<12} {:>16.3} {:>16.3}", "area mm2", b.area_mm2, r.area_mm2);
            let _ = writeln!(
                s,
                "{:<12} {:>16.2} {:>16.2} {:>9.2}x",
                "energy uJ",
                bp.energy_uj,
                rp.energy_uj,
                self.energy_gain.unwrap_or(1.0)
            );
            let _ = writeln!(s, "{:<12} {:>16.3} {:>16.3}", "TOPS/W", bp.tops_per_w, rp.tops_per_w);
            let _ = writeln!(
                s,
                "{:<12} {:>16} {:>16}",
                "interval set", bp.interval_binding, rp.interval_binding
            );
        }
        if let Some(drop) = self.result.accuracy_drop {
            let _ = writeln!(s, "{:<12} {:>16} {:>15.2}pp", "accuracy", "", -drop);
        }
        if let Some(o) = &self.optimality {
            let _ = writeln!(
                s,
                "replication by {}; interval {:.2}% above the balance bound ({} cycles)",
                o.solver,
                100.0 * o.interval_gap,
                o.interval_lower_bound_cycles
            );
            if let Some(note) = &o.note {
                let _ = writeln!(s, "note: {note}");
            }
        }
        let width = self.layers.iter().map(|l| l.name.len()).max().unwrap_or(5).max(5);
        let _ = writeln!(
            s,
            "\n{:<width$} {:>4} {:>6} {:>5} {:>6} {:>4} {:>7} {:>6} {:>5} {:>12} {:>12}",
            "layer", "kind", "rows", "cols", "pos", "W/A", "xbars", "repl", "t", "cycles", "baseline"
        );
        for l in &self.layers {
            let _ = writeln!(
                s,
                "{:<width$} {:>4} {:>6} {:>5} {:>6} {:>4} {:>7} {:>6} {:>5} {:>12} {:>12}{}",
                l.name,
                l.kind,
                l.rows,
                l.cols,
                l.positions,
                format!("{}/{}", l.w_bits, l.a_bits),
                l.xbars_per_replica,
                l.replication,
                l.cycles_per_position,
                l.cycles,
                l.baseline_cycles,
                match &l.physical {
                    Some(p) if p.binding != "compute" => format!("  {}-bound", p.binding),
                    None if l.noc_bound => "  noc-bound".to_string(),
                    _ => String::new(),
                }
            );
        }
        s
    }
}
