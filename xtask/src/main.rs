//! Project tasks: `cargo xtask demo` (the main job end to end) and `cargo xtask test`
//! (every check CI runs). Both install or check what they need first.

mod fuzz;
mod process;
mod setup;
mod steps;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <demo|test|setup|fuzz>
  demo    run the main job end to end (search, plan, run on the QEMU board)
  test    run every check CI runs: fmt, clippy, tests, no_std and board builds
  setup   install or check the Debian packages and rustup targets the project needs
  fuzz    [--seconds N] [TARGET...]  fuzz every target (or the named ones) for N seconds each (default 60;
          nightly + cargo-fuzz, installed when missing)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first().map(|(command, rest)| (command.as_str(), rest)) {
        Some(("demo", _)) => setup::ensure().and_then(|()| steps::demo()),
        // Fuzzing last: it needs nightly (skipped with a message without it); docs/fuzzing.md.
        Some(("test", _)) => setup::ensure()
            .and_then(|()| steps::test())
            .and_then(|()| fuzz::bounded()),
        Some(("setup", _)) => setup::ensure(),
        Some(("fuzz", rest)) => fuzz::command(rest),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
