//! `lrmp run`: ship a plan to a board (QEMU by default), run a stream of inferences in
//! layer and row mode, and check the firmware's timing against the cost model.
//!
//! The check: in layer mode the firmware's first-inference latency and steady-state
//! interval equal the model's `L` and `I` exactly, its dispatch events equal the host's
//! replay of the same runtime and its event digest matches; row mode never exceeds layer
//! mode. Exit code 1 when the check fails, 2 for a bad plan or option.
//!
//! With `--functional` (digits plans only) the quantized digits network is also shipped and
//! every held-out sample is classified on the controller; each class and logits digest must
//! equal the host's (exit 1 otherwise).
//!
//! The controller-vs-accelerator ratio: the controller's cost per inference in layer mode
//! (its counter over the run divided by the inferences), as time at `--controller-mhz` (one
//! instruction per cycle), divided by the modelled interval `I` at the arch clock. Above 1
//! the controller, not the accelerator, would bound the throughput.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use host_optimizer::digits::dataset::Dataset;
use host_optimizer::digits::model::DigitsModel;
use host_optimizer::digits::weights::FloatWeights;
use host_optimizer::link::{self, Client, FunctionalCheck};
use host_optimizer::plan_file::{self, ValidPlan};
use imc_model::runtime::{self, EventDigest, Mode, MAX_INFERENCES};
use imc_model::wire::{CounterKind, RunReport};
use imc_model::Precision;
use serde_json::json;

use super::{Classify, CliResult, Failure};

/// Arguments of `lrmp run`.
#[derive(Args)]
pub struct RunArgs {
    /// `qemu` (the mps2-an386 board under QEMU) or a serial port of a real board.
    #[arg(long, value_name = "qemu|PORT", default_value = "qemu")]
    pub board: String,
    /// Plan file written by `lrmp plan --out` or `lrmp search --out`.
    #[arg(long, value_name = "PLAN")]
    pub plan: PathBuf,
    /// Inferences in the stream (at least 2, so an interval exists).
    #[arg(long, default_value_t = 8, allow_negative_numbers = true)]
    pub inferences: u32,
    /// Mode reported as `measured`; both modes are always run and checked.
    #[arg(long, value_enum, default_value_t = ModeArg::Layer)]
    pub mode: ModeArg,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Wall-clock limit of QEMU in seconds.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400), allow_negative_numbers = true)]
    pub timeout: u64,
    /// Also run the digits network functionally on the controller and compare every
    /// held-out prediction with the host's (digits plans only).
    #[arg(long)]
    pub functional: bool,
    /// Controller clock assumed for the controller-vs-accelerator time ratio (MHz, one
    /// instruction per cycle).
    #[arg(long, default_value_t = 200.0, allow_negative_numbers = true)]
    pub controller_mhz: f64,
}

/// Dispatcher mode on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Whole layers (reproduces the cost model exactly).
    Layer,
    /// Rows start as soon as their inputs exist.
    Row,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Layer => Mode::Layer,
            ModeArg::Row => Mode::Row,
        }
    }
}

/// Both modes as measured by the firmware, and the host's replay of the layer mode.
struct Measured {
    board: String,
    layer: RunReport,
    row: RunReport,
    replay_events: u64,
    replay_digest: u32,
    functional: Option<FunctionalCheck>,
}

/// What `--functional` runs: the digits model and the plan's precisions.
struct Functional {
    model: DigitsModel,
    precisions: Vec<Precision>,
}

/// Runs `lrmp run`.
pub fn run(args: RunArgs) -> CliResult {
    if args.inferences < 2 || args.inferences > MAX_INFERENCES {
        return Err(Failure::BadInput(anyhow!(
            "--inferences must be in 2..={MAX_INFERENCES}"
        )));
    }
    if !(args.controller_mhz.is_finite() && args.controller_mhz > 0.0) {
        return Err(Failure::BadInput(anyhow!("--controller-mhz must be positive")));
    }
    let file = plan_file::read(&args.plan)
        .map_err(|e| anyhow!("{}: {e}", args.plan.display()))
        .bad_input()?;
    let plan = file
        .validate()
        .map_err(|e| anyhow!("{}: {e}", args.plan.display()))
        .bad_input()?;
    let functional = if args.functional {
        if file.network != host_optimizer::digits::NAME {
            return Err(Failure::BadInput(anyhow!(
                "--functional needs a plan of the `digits` network; {} maps `{}`",
                args.plan.display(),
                file.network
            )));
        }
        let data = Dataset::embedded().internal()?;
        let weights = FloatWeights::embedded().internal()?;
        let precisions = file.layers.iter().map(|l| l.precision).collect();
        Some(Functional {
            model: DigitsModel::new(weights, data),
            precisions,
        })
    } else {
        None
    };
    let measured = if args.board == "qemu" {
        let elf = link::board::build_qemu_firmware(functional.is_some()).internal()?;
        let secs = Duration::from_secs(args.timeout);
        let mut qemu = link::connect_qemu(&elf, secs, Duration::from_millis(500)).internal()?;
        exchange(&mut qemu.stream, "qemu", &plan, args.inferences, functional.as_ref())?
    } else {
        let mut port = link::open_serial(&args.board, Duration::from_millis(500))
            .map_err(|e| anyhow!("{}: {e}", args.board))
            .bad_input()?;
        exchange(&mut port, &args.board, &plan, args.inferences, functional.as_ref())?
    };
    report(&args, &plan, &measured)
}

fn exchange<T: Read + Write>(
    io: T,
    board: &str,
    plan: &ValidPlan,
    inferences: u32,
    functional: Option<&Functional>,
) -> CliResult<Measured> {
    let mut client = Client::new(io);
    let caps = client.hello().internal()?;
    link::check_fits(&plan.runtime, &caps).bad_input()?;
    client.upload(&plan.runtime, &caps).internal()?;
    // A long run answers only when it is done: allow it ten minutes of read timeouts.
    client.set_attempts(1200);
    let layer = client.run(Mode::Layer, inferences).internal()?;
    let row = client.run(Mode::Row, inferences).internal()?;
    let mut digest = EventDigest::default();
    let replay = runtime::run(&plan.runtime, Mode::Layer, inferences, &mut digest).internal()?;
    let functional = match functional {
        Some(f) => Some(
            link::check_digits(&mut client, &caps, &plan.arch, &f.model, &f.precisions).map_err(|e| match e {
                link::FunctionalError::Link(_) => Failure::Internal(e.into()),
                other => Failure::BadInput(other.into()),
            })?,
        ),
        None => None,
    };
    Ok(Measured {
        board: format!("{board} ({})", caps.board),
        layer,
        row,
        replay_events: replay.dispatch_events,
        replay_digest: digest.0,
        functional,
    })
}

fn counter_name(kind: CounterKind) -> &'static str {
    match kind {
        CounterKind::Cycles => "cycles",
        CounterKind::Instructions => "instructions",
        CounterKind::Microseconds => "microseconds",
        CounterKind::None => "none",
    }
}

/// Controller time per inference (layer mode) over the modelled interval; `None` without a
/// counter or a zero interval.
fn controller_ratio(args: &RunArgs, plan: &ValidPlan, r: &RunReport) -> Option<(f64, f64, f64)> {
    let per_inference = r.controller_cost as f64 / f64::from(r.inferences.max(1));
    let controller_us = match r.counter {
        CounterKind::Cycles | CounterKind::Instructions => per_inference / args.controller_mhz,
        CounterKind::Microseconds => per_inference,
        CounterKind::None => return None,
    };
    let accelerator_us = plan.totals.interval.get() as f64 / f64::from(plan.arch.clock_mhz());
    (accelerator_us > 0.0).then(|| (controller_us, accelerator_us, controller_us / accelerator_us))
}

fn report(args: &RunArgs, plan: &ValidPlan, m: &Measured) -> CliResult {
    let (model_l, model_i) = (plan.totals.latency.get(), plan.totals.interval.get());
    let (layer, row) = (&m.layer.outcome, &m.row.outcome);
    let layer_exact = layer.latency.get() == model_l && layer.interval.get() == model_i;
    let replay_match = layer.dispatch_events == m.replay_events && m.layer.event_digest == m.replay_digest;
    let row_bounded = row.latency <= layer.latency && row.interval <= layer.interval;
    let timing_match = layer_exact && replay_match && row_bounded;
    let functional_match = m.functional.is_none_or(|f| f.matches == f.samples);
    let ratio = controller_ratio(args, plan, &m.layer);
    let ratio_json = ratio.map(|(c, a, r)| {
        json!({
            "controller_mhz": args.controller_mhz,
            "controller_us_per_inference": c,
            "accelerator_interval_us": a,
            "ratio": r,
        })
    });
    let functional_json = m.functional.map(|f| {
        json!({
            "samples": f.samples,
            "matches": f.matches,
            "accuracy": f.accuracy,
            "host_accuracy": f.host_accuracy,
            "controller_cost_per_sample": f.controller_cost_per_sample,
        })
    });
    let chosen = match args.mode {
        ModeArg::Layer => &m.layer,
        ModeArg::Row => &m.row,
    };
    let per = |cost: u64, n: u64| if n == 0 { 0.0 } else { cost as f64 / n as f64 };
    let cost_of = |r: &RunReport| {
        json!({
            "unit": counter_name(r.counter),
            "total": r.controller_cost,
            "per_layer_execution": per(r.controller_cost, r.outcome.layer_executions),
            "per_dispatch_event": per(r.controller_cost, r.outcome.dispatch_events),
        })
    };
    let figures = |r: &RunReport| {
        json!({
            "latency_cycles": r.outcome.latency.get(),
            "interval_cycles": r.outcome.interval.get(),
            "dispatch_events": r.outcome.dispatch_events,
            "layer_executions": r.outcome.layer_executions,
            "controller": cost_of(r),
        })
    };
    if args.json {
        let out = json!({
            "board": m.board,
            "mode": match args.mode { ModeArg::Layer => "layer", ModeArg::Row => "row" },
            "inferences": args.inferences,
            "plan": args.plan.display().to_string(),
            "model": {"latency_cycles": model_l, "interval_cycles": model_i, "area_xbars": plan.totals.area.get()},
            "measured": figures(chosen),
            "layer": figures(&m.layer),
            "row": figures(&m.row),
            "replay": {"dispatch_events": m.replay_events, "event_digest_match": m.layer.event_digest == m.replay_digest},
            "checks": {"layer_exact": layer_exact, "replay_match": replay_match, "row_not_above_layer": row_bounded},
            "timing_match": timing_match,
            "controller_vs_accelerator": ratio_json,
            "functional": functional_json,
        });
        outln!("{out:#}");
    } else {
        let ok = |b: bool| if b { "ok" } else { "MISMATCH" };
        outln!("board       {}", m.board);
        outln!("plan        {} ({} inferences)", args.plan.display(), args.inferences);
        outln!("model       latency {model_l} cycles, interval {model_i} cycles");
        outln!(
            "layer mode  latency {} cycles, interval {} cycles   [{}]",
            layer.latency.get(),
            layer.interval.get(),
            ok(layer_exact)
        );
        outln!(
            "row mode    latency {} cycles, interval {} cycles   [{}]",
            row.latency.get(),
            row.interval.get(),
            ok(row_bounded)
        );
        outln!(
            "dispatch    {} events over {} layer executions (host replay {})   [{}]",
            layer.dispatch_events,
            layer.layer_executions,
            m.replay_events,
            ok(replay_match)
        );
        for (name, r) in [("layer", &m.layer), ("row", &m.row)] {
            outln!(
                "controller  {name}: {} {} total, {:.1} per layer execution, {:.1} per dispatch event",
                r.controller_cost,
                counter_name(r.counter),
                per(r.controller_cost, r.outcome.layer_executions),
                per(r.controller_cost, r.outcome.dispatch_events)
            );
        }
        outln!("timing      {}", if timing_match { "match" } else { "MISMATCH" });
        match ratio {
            Some((c, a, r)) => outln!(
                "ratio       controller {c:.3} us per inference at {} MHz / accelerator interval {a:.3} us = {r:.3}",
                args.controller_mhz
            ),
            None => outln!("ratio       n/a (the controller has no counter)"),
        }
        if let Some(f) = m.functional {
            outln!(
                "functional  {}/{} samples match the host bit for bit, accuracy {:.4} (host {:.4}), {:.0} {} per sample   [{}]",
                f.matches,
                f.samples,
                f.accuracy,
                f.host_accuracy,
                f.controller_cost_per_sample,
                counter_name(m.layer.counter),
                ok(functional_match)
            );
        }
    }
    if !timing_match {
        return Err(Failure::Internal(anyhow!(
            "the firmware's timing does not match the model"
        )));
    }
    if !functional_match {
        return Err(Failure::Internal(anyhow!(
            "the firmware's functional results differ from the host's"
        )));
    }
    Ok(())
}
