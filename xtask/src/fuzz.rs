//! Fuzzing (`fuzz/`, docs/fuzzing.md): a bounded run of every target as the last step of
//! `cargo xtask test`, and `cargo xtask fuzz [--seconds N] [TARGET...]` for longer campaigns.
//!
//! The fuzz workspace needs a nightly toolchain and cargo-fuzz. Without nightly the step
//! prints a `skipped` line and succeeds (CI images without nightly still pass); with
//! nightly, cargo-fuzz is installed when missing and any crash fails the step. Each run
//! writes new inputs to a fresh temporary corpus, so the committed seeds
//! (`fuzz/seeds/<target>/`) stay as they are; crashes land in `fuzz/artifacts/<target>/`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::process::{root, step};

/// Every fuzz target (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &[
    "frame_decode",
    "plan_decode",
    "runtime",
    "network_json",
    "network_table",
    "net_upload",
    "onnx_decode",
];

/// Seconds per target when neither `--seconds` nor `LRMP_FUZZ_SECONDS` says otherwise.
const DEFAULT_SECONDS: u64 = 60;

/// The bounded run of `cargo xtask test`: every target for `LRMP_FUZZ_SECONDS` seconds
/// (default 60); `LRMP_FUZZ_SECONDS=0` skips it.
pub fn bounded() -> Result<(), String> {
    let seconds = match std::env::var("LRMP_FUZZ_SECONDS") {
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("LRMP_FUZZ_SECONDS={text:?} is not a number of seconds"))?,
        Err(_) => DEFAULT_SECONDS,
    };
    if seconds == 0 {
        eprintln!("\n==> fuzz: skipped (LRMP_FUZZ_SECONDS=0)");
        return Ok(());
    }
    campaign(TARGETS, seconds)
}

/// `cargo xtask fuzz [--seconds N] [TARGET...]`: the named targets, or all, for `N` seconds each
/// (default `LRMP_FUZZ_SECONDS`, else 60).
pub fn command(args: &[String]) -> Result<(), String> {
    let fallback = std::env::var("LRMP_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_SECONDS);
    let (targets, seconds) = parse_args(args, fallback)?;
    campaign(&targets, seconds)
}

/// The targets and seconds per target that `args` ask for; `fallback` seconds when absent.
fn parse_args(args: &[String], fallback: u64) -> Result<(Vec<&'static str>, u64), String> {
    let mut seconds = fallback;
    let mut targets = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--seconds" {
            let value = rest.next().ok_or("--seconds needs a value")?;
            seconds = value
                .parse::<u64>()
                .map_err(|_| format!("--seconds {value:?}: not a number"))?;
        } else if let Some(name) = TARGETS.iter().find(|t| **t == arg) {
            targets.push(*name);
        } else {
            return Err(format!(
                "unknown fuzz argument {arg:?}; targets: {}",
                TARGETS.join(", ")
            ));
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    Ok((targets, seconds))
}

/// True when rustup lists a nightly toolchain.
fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.starts_with("nightly"))
        })
        .unwrap_or(false)
}

/// `cargo +nightly ...` from the repository root. Goes through rustup's `cargo` proxy (not
/// `$CARGO`, which is the pinned toolchain's cargo and would ignore `+nightly`).
fn nightly_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root()).arg("+nightly");
    // Variables cargo sets for xtask itself would point the nested cargo at the pinned toolchain.
    for var in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO_TARGET_DIR"] {
        cmd.env_remove(var);
    }
    cmd
}

/// Installs cargo-fuzz when `cargo +nightly fuzz --version` fails.
fn ensure_cargo_fuzz() -> Result<(), String> {
    let present = nightly_cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    step(
        "install cargo-fuzz (cargo install cargo-fuzz --locked)",
        nightly_cargo().args(["install", "cargo-fuzz", "--locked"]),
    )
}

/// A fresh, empty corpus folder for one run of `target`.
fn scratch_corpus(target: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("lrmp-fuzz-{}-{target}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Builds every target once, then runs each in turn for `seconds`; stops at the first crash.
fn campaign(targets: &[&str], seconds: u64) -> Result<(), String> {
    if !has_nightly() {
        eprintln!("\n==> fuzz: skipped: no nightly toolchain (rustup toolchain install nightly to enable)");
        return Ok(());
    }
    ensure_cargo_fuzz()?;
    step("fuzz: build all targets", nightly_cargo().args(["fuzz", "build"]))?;
    for target in targets {
        let corpus = scratch_corpus(target)?;
        let seeds = root().join("fuzz").join("seeds").join(target);
        let started = Instant::now();
        // The first corpus folder receives new inputs; the seeds are only read.
        let result = step(
            &format!("fuzz {target} for {seconds} s"),
            nightly_cargo()
                .args(["fuzz", "run", target])
                .arg(&corpus)
                .arg(&seeds)
                .args(["--", &format!("-max_total_time={seconds}"), "-print_final_stats=1"]),
        );
        let _ = std::fs::remove_dir_all(&corpus);
        result.map_err(|e| format!("{e}; the crashing input is in fuzz/artifacts/{target}/ (see docs/fuzzing.md)"))?;
        eprintln!("fuzz {target}: no findings in {:.0} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments_pick_targets_and_seconds() {
        assert_eq!(parse_args(&args(&[]), 60), Ok((TARGETS.to_vec(), 60)));
        assert_eq!(
            parse_args(&args(&["--seconds", "5", "runtime"]), 60),
            Ok((vec!["runtime"], 5))
        );
        assert_eq!(
            parse_args(&args(&["plan_decode", "frame_decode"]), 9),
            Ok((vec!["plan_decode", "frame_decode"], 9))
        );
        assert!(parse_args(&args(&["--seconds"]), 60).is_err());
        assert!(parse_args(&args(&["--seconds", "x"]), 60).is_err());
        assert!(parse_args(&args(&["fuzz_everything"]), 60).is_err());
    }

    #[test]
    fn every_target_has_a_source_and_seeds() {
        for target in TARGETS {
            let fuzz = root().join("fuzz");
            assert!(
                fuzz.join("fuzz_targets").join(format!("{target}.rs")).is_file(),
                "{target}"
            );
            let seeds = std::fs::read_dir(fuzz.join("seeds").join(target)).map(Iterator::count);
            assert!(seeds.is_ok_and(|n| n > 0), "{target}: no seeds");
        }
    }
}
