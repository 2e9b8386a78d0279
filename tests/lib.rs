//! Shared helpers for the end-to-end scenarios in this folder.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::Command;

/// True when `qemu-system-arm` runs; otherwise prints why the caller skips and returns false.
pub fn qemu_available() -> bool {
    let present = Command::new("qemu-system-arm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        println!("SKIPPED: qemu-system-arm is not installed (cargo xtask setup installs it)");
    }
    present
}

pub mod fault_io;
pub mod fault_uploads;
pub mod inline_device;
pub mod plans;
