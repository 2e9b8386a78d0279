//! The steps of `demo` and `test`, each a cargo (or tool) invocation that must succeed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn step(title: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("\n==> {title}");
    let status = cmd.status().map_err(|e| format!("{title}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{title}: failed ({status})"))
    }
}

fn lrmp(args: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.args(["run", "-q", "--release", "-p", "host-optimizer", "--bin", "lrmp", "--"]).args(args);
    cmd
}

/// The main job: an optimised plan for a built-in network, end to end.
pub fn demo() -> Result<(), String> {
    step("build lrmp (release)", cargo().args(["build", "-q", "--release", "-p", "host-optimizer"]))?;
    step(
        "lrmp plan: resnet18 at 1.5x area, throughput objective",
        &mut lrmp(&["plan", "--network", "resnet18", "--area-factor", "1.5", "--objective", "throughput"]),
    )?;
    Ok(())
}

/// Every check CI runs.
pub fn test(quick: bool) -> Result<(), String> {
    step("cargo fmt --check", cargo().args(["fmt", "--all", "--check"]))?;
    step("cargo clippy (host)", cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    for target in ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"] {
        step(&format!("imc-model for {target}"), cargo().args(["build", "-p", "imc-model", "--target", target]))?;
    }
    step("cargo test (workspace)", cargo().args(["test", "--workspace"]))?;
    if quick {
        eprintln!("\n(--quick: slow scenarios skipped)");
    }
    Ok(())
}
