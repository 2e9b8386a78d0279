//! Running the project's tools: the repository root, `cargo` there, and one titled step.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (the parent of `xtask/`).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `cargo` (the one running xtask, when known) started in the repository root.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs `cmd` under a `==> title` line; an error names the step when it cannot start or fails.
pub(crate) fn step(title: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("\n==> {title}");
    let status = cmd.status().map_err(|e| format!("{title}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{title}: failed ({status})"))
    }
}
