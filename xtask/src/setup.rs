//! Installs (as root) or names (otherwise) what a fresh machine lacks.

use std::process::{Command, Stdio};

/// Debian packages: QEMU for the default board, CBC for the ILP, the ARM size tool, the
/// Fashion-MNIST data set.
const DEBIAN_PACKAGES: &[&str] = &[
    "qemu-system-arm",
    "coinor-libcbc-dev",
    "pkg-config",
    "binutils-arm-none-eabi",
    "dataset-fashion-mnist",
];
/// Cross targets for the firmware and the no_std model.
const TARGETS: &[&str] = &["thumbv7em-none-eabihf", "thumbv6m-none-eabi"];

fn quiet(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_installed(package: &str) -> bool {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output();
    out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Makes sure packages and targets are present, installing them where it can.
pub fn ensure() -> Result<(), String> {
    let missing: Vec<&str> = DEBIAN_PACKAGES.iter().copied().filter(|p| !is_installed(p)).collect();
    if !missing.is_empty() {
        if !is_root() {
            return Err(format!(
                "missing Debian packages: {0}\n  install them with: sudo apt-get update && sudo apt-get install -y {0}",
                missing.join(" ")
            ));
        }
        eprintln!("xtask: installing {}", missing.join(" "));
        let env = [("DEBIAN_FRONTEND", "noninteractive")];
        let update = Command::new("apt-get").args(["-q", "update"]).envs(env).status();
        let install = Command::new("apt-get")
            .args(["-q", "install", "-y"])
            .args(&missing)
            .envs(env)
            .status();
        if !update.is_ok_and(|s| s.success()) || !install.is_ok_and(|s| s.success()) {
            return Err(format!("apt-get could not install: {}", missing.join(" ")));
        }
    }
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    let installed = installed
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let targets: Vec<&str> = TARGETS.iter().copied().filter(|t| !installed.contains(t)).collect();
    if !targets.is_empty() && !quiet(Command::new("rustup").args(["target", "add"]).args(&targets)) {
        return Err(format!(
            "rustup could not add targets: {} (run `rustup target add` by hand)",
            targets.join(" ")
        ));
    }
    Ok(())
}
