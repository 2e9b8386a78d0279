//! `lrmp run`: ship a plan to a board (QEMU by default), run a stream of inferences in
//! layer and row mode, and check the firmware's timing against the cost model.
//!
//! The checks and the report are `host_optimizer::report::run`. Exit code 1 when a check
//! fails, 2 for a bad plan or option.
//!
//! With `--functional` (digits plans only) the quantized digits network is also shipped and
//! every held-out sample is classified on the controller; each class and logits digest must
//! equal the host's (exit 1 otherwise).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use host_optimizer::link::{self, Client};
use host_optimizer::plan_file::{self, ValidPlan};
use host_optimizer::report::run::{RunCheckReport, RunMeasurements, RunRequest};
use imc_model::runtime::{self, EventDigest, Mode, MAX_INFERENCES};
use imc_model::Precision;
use lrmp_trained::graph::model::TrainedModel;

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

/// What `--functional` runs: the trained model and the plan's precisions.
struct Functional {
    model: TrainedModel,
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
        let spec = lrmp_trained::TRAINED
            .into_iter()
            .find(|s| s.name == file.network)
            .ok_or_else(|| {
                anyhow!(
                    "--functional needs a plan of a network with trained weights (digits, fashion); {} maps `{}`",
                    args.plan.display(),
                    file.network
                )
            })
            .bad_input()?;
        // Say what the controller lacks before loading data or starting a board.
        link::fits_controller(spec).bad_input()?;
        let model = lrmp_trained::digits::model(None, None).internal()?;
        let precisions = file.layers.iter().map(|l| l.precision).collect();
        Some(Functional { model, precisions })
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
    let request = RunRequest {
        plan: args.plan.display().to_string(),
        inferences: args.inferences,
        mode: args.mode.into(),
        controller_mhz: args.controller_mhz,
        clock_mhz: plan.arch.clock_mhz(),
    };
    let report = RunCheckReport::new(&request, &plan.totals, &measured);
    if args.json {
        let out = serde_json::to_value(&report).internal()?;
        outln!("{out:#}");
    } else {
        out!("{}", report.to_table());
    }
    if !report.timing_match {
        return Err(Failure::Internal(anyhow!(
            "the firmware's timing does not match the model"
        )));
    }
    if !report.functional_match() {
        return Err(Failure::Internal(anyhow!(
            "the firmware's functional results differ from the host's"
        )));
    }
    Ok(())
}

fn exchange<T: Read + Write>(
    io: T,
    board: &str,
    plan: &ValidPlan,
    inferences: u32,
    functional: Option<&Functional>,
) -> CliResult<RunMeasurements> {
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
            link::check_network(&mut client, &caps, &plan.arch, &f.model, &f.precisions, usize::MAX).map_err(|e| {
                match e {
                    link::FunctionalError::Link(_) => Failure::Internal(e.into()),
                    other => Failure::BadInput(other.into()),
                }
            })?,
        ),
        None => None,
    };
    Ok(RunMeasurements {
        board: format!("{board} ({})", caps.board),
        layer,
        row,
        replay_events: replay.dispatch_events,
        replay_digest: digest.0,
        functional,
    })
}
