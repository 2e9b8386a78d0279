//! Subcommands of `lrmp`, one file each, and the failure type that sets the exit code.

/// `print!` that returns a failed write instead of panicking; a reader that closed the pipe
/// early (`lrmp plan --json | head`) ends the command quietly.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        std::io::stdout()
            .write_fmt(format_args!($($arg)*))
            .map_err($crate::cli::output_failure)?
    }};
}

/// [`out!`] with a newline.
macro_rules! outln {
    ($($arg:tt)*) => { out!("{}\n", format_args!($($arg)*)) };
}

mod bench;
mod common;
mod eval;
mod import;
mod plan;
mod run;
mod search;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Layer Replication with Mixed Precision for NVM-crossbar IMC accelerators.
#[derive(Parser)]
#[command(name = "lrmp", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Optimal replication for given per-layer precisions (default 8/8).
    Plan(plan::PlanArgs),
    /// Search precisions and replication (RL + ILP, exact MILP, baselines).
    Search(search::SearchArgs),
    /// Ship a plan to a board (or QEMU), run it and check its timing against the model.
    Run(run::RunArgs),
    /// Accuracy of a network at given precisions through the crossbar model.
    Eval(eval::EvalArgs),
    /// The paper table: every method on every built-in network, with plots.
    Bench(bench::BenchArgs),
    /// Show the layers a network file imports to (and what was skipped); write a TOML table.
    Import(import::ImportArgs),
}

/// Why a command failed; decides the exit code.
pub enum Failure {
    /// The user's input is wrong (exit code 2).
    BadInput(anyhow::Error),
    /// Something inside failed (exit code 1).
    Internal(anyhow::Error),
    /// Whoever read our output closed it (exit code 0, nothing printed).
    OutputClosed,
}

/// A failed write to stdout: a closed pipe is the reader's choice, anything else is ours.
pub fn output_failure(e: std::io::Error) -> Failure {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => Failure::OutputClosed,
        _ => Failure::Internal(anyhow::Error::new(e).context("writing to standard output")),
    }
}

/// Result of a subcommand.
pub type CliResult<T = ()> = Result<T, Failure>;

/// Classifies library errors at the edge.
pub trait Classify<T> {
    /// The error is the user's input.
    fn bad_input(self) -> CliResult<T>;
    /// The error is ours.
    fn internal(self) -> CliResult<T>;
}

impl<T, E: Into<anyhow::Error>> Classify<T> for Result<T, E> {
    fn bad_input(self) -> CliResult<T> {
        self.map_err(|e| Failure::BadInput(e.into()))
    }
    fn internal(self) -> CliResult<T> {
        self.map_err(|e| Failure::Internal(e.into()))
    }
}

/// Parses the command line, runs the subcommand and maps its outcome to an exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Plan(args) => plan::run(args),
        Command::Search(args) => search::run(args),
        Command::Run(args) => run::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Import(args) => import::run(args),
    };
    match outcome {
        Ok(()) | Err(Failure::OutputClosed) => ExitCode::SUCCESS,
        Err(Failure::BadInput(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Internal(e)) => {
            eprintln!("internal error: {e:#}");
            ExitCode::from(1)
        }
    }
}
