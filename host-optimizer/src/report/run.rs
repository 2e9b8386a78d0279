//! The report of `lrmp run`: the firmware's measurements in both modes beside the cost
//! model, the host's replay, the checks and their verdicts, the controller's own cost and,
//! with `--functional`, the bit-for-bit comparison of every sample.
//!
//! The checks (DESIGN section 5): in layer mode the first-inference latency and the
//! steady-state interval equal the model's `L` and `I` exactly and the dispatch events and
//! their digest equal the host's replay of the same runtime; row mode never exceeds layer
//! mode. The controller-vs-accelerator ratio is the controller's cost per inference in
//! layer mode, as time at the assumed controller clock (one instruction per cycle), over
//! the modelled interval at the arch clock: above 1 the controller, not the accelerator,
//! would bound the throughput.

use std::fmt::Write as _;

use imc_model::runtime::Mode;
use imc_model::wire::{CounterKind, RunReport};
use imc_model::Totals;
use lrmp_link::FunctionalCheck;
use serde::Serialize;

/// What the firmware measured: both modes, the host's replay of layer mode, and the
/// functional comparison when one was run.
pub struct RunMeasurements {
    /// Board name as the host and the controller call it.
    pub board: String,
    /// Layer-mode run.
    pub layer: RunReport,
    /// Row-mode run.
    pub row: RunReport,
    /// Dispatch events of the host's replay of layer mode.
    pub replay_events: u64,
    /// Event digest of the host's replay of layer mode.
    pub replay_digest: u32,
    /// The `--functional` comparison.
    pub functional: Option<FunctionalCheck>,
}

/// How the run was asked for.
pub struct RunRequest {
    /// The plan file shipped.
    pub plan: String,
    /// Inferences in each run.
    pub inferences: u32,
    /// The mode reported as `measured`.
    pub mode: Mode,
    /// Controller clock assumed for the ratio, MHz.
    pub controller_mhz: f64,
    /// Accelerator clock of the plan's arch, MHz.
    pub clock_mhz: u32,
}

/// The model's figures for the plan.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ModelFigures {
    /// `L`.
    pub latency_cycles: u64,
    /// `I`.
    pub interval_cycles: u64,
    /// `A`.
    pub area_xbars: u64,
}

/// What the controller spent on one run.
#[derive(Clone, Debug, Serialize)]
pub struct ControllerCost {
    /// Counter unit (`cycles`, `instructions`, `microseconds`, `none`).
    pub unit: &'static str,
    /// Total over the run.
    pub total: u64,
    /// Per layer execution (layers times inferences).
    pub per_layer_execution: f64,
    /// Per dispatch event.
    pub per_dispatch_event: f64,
}

/// One mode's measurement.
#[derive(Clone, Debug, Serialize)]
pub struct ModeFigures {
    /// First-inference latency.
    pub latency_cycles: u64,
    /// Steady-state interval.
    pub interval_cycles: u64,
    /// Batches dispatched to replicas.
    pub dispatch_events: u64,
    /// Layers times inferences.
    pub layer_executions: u64,
    /// What the controller spent.
    pub controller: ControllerCost,
}

/// The host's replay of layer mode.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Replay {
    /// Its dispatch events.
    pub dispatch_events: u64,
    /// Whether the firmware's event digest equals the replay's.
    pub event_digest_match: bool,
}

/// The individual timing checks.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Checks {
    /// Layer mode reproduces `L` and `I` exactly.
    pub layer_exact: bool,
    /// Layer mode dispatched what the host replay dispatched.
    pub replay_match: bool,
    /// Row mode is never slower than layer mode.
    pub row_not_above_layer: bool,
}

/// Controller time per inference against the accelerator's interval.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ControllerRatio {
    /// Controller clock assumed, MHz.
    pub controller_mhz: f64,
    /// Controller time per inference (layer mode), µs.
    pub controller_us_per_inference: f64,
    /// The modelled interval, µs.
    pub accelerator_interval_us: f64,
    /// The first over the second.
    pub ratio: f64,
}

/// The functional comparison.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FunctionalFigures {
    /// Samples classified on the controller.
    pub samples: usize,
    /// Samples equal to the host's bit for bit.
    pub matches: usize,
    /// The controller's accuracy, 0..1.
    pub accuracy: f64,
    /// The host's accuracy, 0..1.
    pub host_accuracy: f64,
    /// Controller cost of one forward pass, in the counter's unit.
    pub controller_cost_per_sample: f64,
}

/// The whole report of `lrmp run` (`--json` prints it; [`RunCheckReport::to_table`] is the
/// text form).
#[derive(Clone, Debug, Serialize)]
pub struct RunCheckReport {
    /// Board.
    pub board: String,
    /// The mode reported as `measured` (`layer` or `row`).
    pub mode: &'static str,
    /// Inferences per run.
    pub inferences: u32,
    /// Plan file.
    pub plan: String,
    /// The model's figures.
    pub model: ModelFigures,
    /// The mode asked for.
    pub measured: ModeFigures,
    /// Layer mode.
    pub layer: ModeFigures,
    /// Row mode.
    pub row: ModeFigures,
    /// The host's replay.
    pub replay: Replay,
    /// The checks.
    pub checks: Checks,
    /// Every check passed.
    pub timing_match: bool,
    /// Controller against accelerator; `None` without a counter.
    pub controller_vs_accelerator: Option<ControllerRatio>,
    /// The functional comparison, when run.
    pub functional: Option<FunctionalFigures>,
}

/// Name of a counter unit.
pub fn counter_name(kind: CounterKind) -> &'static str {
    match kind {
        CounterKind::Cycles => "cycles",
        CounterKind::Instructions => "instructions",
        CounterKind::Microseconds => "microseconds",
        CounterKind::None => "none",
    }
}

fn per(cost: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        cost as f64 / n as f64
    }
}

fn mode_figures(r: &RunReport) -> ModeFigures {
    ModeFigures {
        latency_cycles: r.outcome.latency.get(),
        interval_cycles: r.outcome.interval.get(),
        dispatch_events: r.outcome.dispatch_events,
        layer_executions: r.outcome.layer_executions,
        controller: ControllerCost {
            unit: counter_name(r.counter),
            total: r.controller_cost,
            per_layer_execution: per(r.controller_cost, r.outcome.layer_executions),
            per_dispatch_event: per(r.controller_cost, r.outcome.dispatch_events),
        },
    }
}

/// Controller time per inference (layer mode) over the modelled interval; `None` without a
/// counter or a zero interval.
fn controller_ratio(request: &RunRequest, interval_cycles: u64, r: &RunReport) -> Option<ControllerRatio> {
    let per_inference = r.controller_cost as f64 / f64::from(r.inferences.max(1));
    let controller_us = match r.counter {
        CounterKind::Cycles | CounterKind::Instructions => per_inference / request.controller_mhz,
        CounterKind::Microseconds => per_inference,
        CounterKind::None => return None,
    };
    let accelerator_us = interval_cycles as f64 / f64::from(request.clock_mhz);
    (accelerator_us > 0.0).then(|| ControllerRatio {
        controller_mhz: request.controller_mhz,
        controller_us_per_inference: controller_us,
        accelerator_interval_us: accelerator_us,
        ratio: controller_us / accelerator_us,
    })
}

impl RunCheckReport {
    /// Checks `m` against the model's `totals`.
    pub fn new(request: &RunRequest, totals: &Totals, m: &RunMeasurements) -> RunCheckReport {
        let (model_l, model_i) = (totals.latency.get(), totals.interval.get());
        let (layer, row) = (&m.layer.outcome, &m.row.outcome);
        let checks = Checks {
            layer_exact: layer.latency.get() == model_l && layer.interval.get() == model_i,
            replay_match: layer.dispatch_events == m.replay_events && m.layer.event_digest == m.replay_digest,
            row_not_above_layer: row.latency <= layer.latency && row.interval <= layer.interval,
        };
        let (mode, measured) = match request.mode {
            Mode::Layer => ("layer", &m.layer),
            Mode::Row => ("row", &m.row),
        };
        RunCheckReport {
            board: m.board.clone(),
            mode,
            inferences: request.inferences,
            plan: request.plan.clone(),
            model: ModelFigures {
                latency_cycles: model_l,
                interval_cycles: model_i,
                area_xbars: totals.area.get(),
            },
            measured: mode_figures(measured),
            layer: mode_figures(&m.layer),
            row: mode_figures(&m.row),
            replay: Replay {
                dispatch_events: m.replay_events,
                event_digest_match: m.layer.event_digest == m.replay_digest,
            },
            timing_match: checks.layer_exact && checks.replay_match && checks.row_not_above_layer,
            checks,
            controller_vs_accelerator: controller_ratio(request, model_i, &m.layer),
            functional: m.functional.map(|f| FunctionalFigures {
                samples: f.samples,
                matches: f.matches,
                accuracy: f.accuracy,
                host_accuracy: f.host_accuracy,
                controller_cost_per_sample: f.controller_cost_per_sample,
            }),
        }
    }

    /// Every functional sample matched (true when none was run).
    pub fn functional_match(&self) -> bool {
        self.functional.is_none_or(|f| f.matches == f.samples)
    }

    /// The text report, one line per figure, each check's verdict in brackets.
    pub fn to_table(&self) -> String {
        let ok = |b: bool| if b { "ok" } else { "MISMATCH" };
        let mut out = String::new();
        // Writing to a String cannot fail.
        let mut line = |text: String| {
            let _ = writeln!(out, "{text}");
        };
        line(format!("board       {}", self.board));
        line(format!("plan        {} ({} inferences)", self.plan, self.inferences));
        line(format!(
            "model       latency {} cycles, interval {} cycles",
            self.model.latency_cycles, self.model.interval_cycles
        ));
        line(format!(
            "layer mode  latency {} cycles, interval {} cycles   [{}]",
            self.layer.latency_cycles,
            self.layer.interval_cycles,
            ok(self.checks.layer_exact)
        ));
        line(format!(
            "row mode    latency {} cycles, interval {} cycles   [{}]",
            self.row.latency_cycles,
            self.row.interval_cycles,
            ok(self.checks.row_not_above_layer)
        ));
        line(format!(
            "dispatch    {} events over {} layer executions (host replay {})   [{}]",
            self.layer.dispatch_events,
            self.layer.layer_executions,
            self.replay.dispatch_events,
            ok(self.checks.replay_match)
        ));
        for (name, r) in [("layer", &self.layer), ("row", &self.row)] {
            line(format!(
                "controller  {name}: {} {} total, {:.1} per layer execution, {:.1} per dispatch event",
                r.controller.total,
                r.controller.unit,
                r.controller.per_layer_execution,
                r.controller.per_dispatch_event
            ));
        }
        line(format!(
            "timing      {}",
            if self.timing_match { "match" } else { "MISMATCH" }
        ));
        line(match self.controller_vs_accelerator {
            Some(c) => format!(
                "ratio       controller {:.3} us per inference at {} MHz / accelerator interval {:.3} us = {:.3}",
                c.controller_us_per_inference, c.controller_mhz, c.accelerator_interval_us, c.ratio
            ),
            None => "ratio       n/a (the controller has no counter)".to_owned(),
        });
        if let Some(f) = self.functional {
            line(format!(
                "functional  {}/{} samples match the host bit for bit, accuracy {:.4} (host {:.4}), {:.0} {} per sample   [{}]",
                f.matches,
                f.samples,
                f.accuracy,
                f.host_accuracy,
                f.controller_cost_per_sample,
                self.layer.controller.unit,
                ok(self.functional_match())
            ));
        }
        out
    }
}
