//! `lrmp run`: ship a plan to a board (QEMU by default), run a stream of inferences in
//! layer and row mode, and check the firmware's timing against the cost model.
//!
//! The check: in layer mode the firmware's first-inference latency and steady-state
//! interval equal the model's `L` and `I` exactly, its dispatch events equal the host's
//! replay of the same runtime and its event digest matches; row mode never exceeds layer
//! mode. Exit code 1 when the check fails, 2 for a bad plan or option.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use host_optimizer::link::{self, Client};
use host_optimizer::plan_file::{self, ValidPlan};
use imc_model::runtime::{self, EventDigest, Mode, MAX_INFERENCES};
use imc_model::wire::{CounterKind, RunReport};
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
    #[arg(long, default_value_t = 8)]
    pub inferences: u32,
    /// Mode reported as `measured`; both modes are always run and checked.
    #[arg(long, value_enum, default_value_t = ModeArg::Layer)]
    pub mode: ModeArg,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Wall-clock limit of QEMU in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
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
}

/// Runs `lrmp run`.
pub fn run(args: RunArgs) -> CliResult {
    if args.inferences < 2 || args.inferences > MAX_INFERENCES {
        return Err(Failure::BadInput(anyhow!(
            "--inferences must be in 2..={MAX_INFERENCES}"
        )));
    }
    let plan = plan_file::read(&args.plan).and_then(|f| f.validate());
    let plan = plan.map_err(|e| anyhow!("{}: {e}", args.plan.display())).bad_input()?;
    let measured = if args.board == "qemu" {
        let elf = link::board::build_qemu_firmware().internal()?;
        let secs = Duration::from_secs(args.timeout);
        let mut qemu = link::connect_qemu(&elf, secs, Duration::from_millis(500)).internal()?;
        exchange(&mut qemu.stream, "qemu", &plan, args.inferences)?
    } else {
        let mut port = link::open_serial(&args.board, Duration::from_millis(500))
            .map_err(|e| anyhow!("{}: {e}", args.board))
            .bad_input()?;
        exchange(&mut port, &args.board, &plan, args.inferences)?
    };
    report(&args, &plan, &measured)
}

fn exchange<T: Read + Write>(io: T, board: &str, plan: &ValidPlan, inferences: u32) -> CliResult<Measured> {
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
    Ok(Measured {
        board: format!("{board} ({})", caps.board),
        layer,
        row,
        replay_events: replay.dispatch_events,
        replay_digest: digest.0,
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

fn report(args: &RunArgs, plan: &ValidPlan, m: &Measured) -> CliResult {
    let (model_l, model_i) = (plan.totals.latency.get(), plan.totals.interval.get());
    let (layer, row) = (&m.layer.outcome, &m.row.outcome);
    let layer_exact = layer.latency.get() == model_l && layer.interval.get() == model_i;
    let replay_match = layer.dispatch_events == m.replay_events && m.layer.event_digest == m.replay_digest;
    let row_bounded = row.latency <= layer.latency && row.interval <= layer.interval;
    let timing_match = layer_exact && replay_match && row_bounded;
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
        });
        println!("{out:#}");
    } else {
        let ok = |b: bool| if b { "ok" } else { "MISMATCH" };
        println!("board       {}", m.board);
        println!("plan        {} ({} inferences)", args.plan.display(), args.inferences);
        println!("model       latency {model_l} cycles, interval {model_i} cycles");
        println!(
            "layer mode  latency {} cycles, interval {} cycles   [{}]",
            layer.latency.get(),
            layer.interval.get(),
            ok(layer_exact)
        );
        println!(
            "row mode    latency {} cycles, interval {} cycles   [{}]",
            row.latency.get(),
            row.interval.get(),
            ok(row_bounded)
        );
        println!(
            "dispatch    {} events over {} layer executions (host replay {})   [{}]",
            layer.dispatch_events,
            layer.layer_executions,
            m.replay_events,
            ok(replay_match)
        );
        for (name, r) in [("layer", &m.layer), ("row", &m.row)] {
            println!(
                "controller  {name}: {} {} total, {:.1} per layer execution, {:.1} per dispatch event",
                r.controller_cost,
                counter_name(r.counter),
                per(r.controller_cost, r.outcome.layer_executions),
                per(r.controller_cost, r.outcome.dispatch_events)
            );
        }
        println!("timing      {}", if timing_match { "match" } else { "MISMATCH" });
    }
    if timing_match {
        Ok(())
    } else {
        Err(Failure::Internal(anyhow!(
            "the firmware's timing does not match the model"
        )))
    }
}
