//! The steps of `demo` and `test`, each a cargo (or tool) invocation that must succeed.
//! The bounded fuzzing run that ends `test` lives in `fuzz` (main calls it last).

use std::process::Command;

use crate::process::{cargo, root, step};

/// Board crates (own workspaces under `boards/`) and their targets.
const BOARDS: &[(&str, &str)] = &[
    ("qemu-mps2-an386", "thumbv7em-none-eabihf"),
    ("rp-pico", "thumbv6m-none-eabi"),
];

fn lrmp(args: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.args(["run", "-q", "--release", "-p", "host-optimizer", "--bin", "lrmp", "--"])
        .args(args);
    cmd
}

/// The main job: an LRMP search (RL with exact replication in the loop) on a built-in
/// network, its plan written, run on the QEMU board and checked against the model.
pub fn demo() -> Result<(), String> {
    let plan = root().join("target").join("demo-resnet18.plan");
    let plan_arg = plan.to_string_lossy().into_owned();
    step(
        "build lrmp (release)",
        cargo().args(["build", "-q", "--release", "-p", "host-optimizer"]),
    )?;
    step(
        "lrmp search: resnet18, RL + exact replication, 1.5x area, throughput, 1-point accuracy budget",
        &mut lrmp(&[
            "search",
            "--network",
            "resnet18",
            "--method",
            "rl",
            "--episodes",
            "120",
            "--area-factor",
            "1.5",
            "--objective",
            "throughput",
            "--out",
            &plan_arg,
        ]),
    )?;
    step(
        "lrmp run: the plan on the QEMU mps2-an386 board, timing checked against the model",
        &mut lrmp(&["run", "--board", "qemu", "--plan", &plan_arg]),
    )?;
    Ok(())
}

/// Every check CI runs.
pub fn test() -> Result<(), String> {
    step("cargo fmt --check", cargo().args(["fmt", "--all", "--check"]))?;
    step(
        "cargo clippy (host)",
        cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]),
    )?;
    step(
        "cargo doc (warnings denied)",
        cargo()
            .env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--workspace", "--no-deps"]),
    )?;
    for target in ["thumbv7em-none-eabihf", "thumbv6m-none-eabi"] {
        step(
            &format!("imc-model for {target}"),
            cargo().args(["build", "-p", "imc-model", "--target", target]),
        )?;
    }
    // Shared with `lrmp run`, which builds the QEMU board into the same folder.
    let target_dir = root().join("target");
    for (board, target) in BOARDS {
        let dir = root().join("boards").join(board);
        step(
            &format!("board {board} ({target})"),
            cargo().current_dir(&dir).env("CARGO_TARGET_DIR", &target_dir).args([
                "build",
                "--profile",
                "firmware",
                "--target",
                target,
            ]),
        )?;
        let elf = target_dir.join(target).join("firmware").join(format!("board-{board}"));
        step(
            &format!("size of {board} (flash = text + data, static RAM = data + bss)"),
            Command::new("arm-none-eabi-size").arg(&elf),
        )?;
        step(
            &format!("clippy board {board}"),
            cargo().current_dir(&dir).env("CARGO_TARGET_DIR", &target_dir).args([
                "clippy",
                "--profile",
                "firmware",
                "--target",
                target,
                "--",
                "-D",
                "warnings",
            ]),
        )?;
    }
    step("cargo test (workspace)", cargo().args(["test", "--workspace"]))?;
    Ok(())
}
