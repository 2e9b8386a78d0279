//! Puts `memory.x` on the linker's search path (cortex-m-rt's `link.x` includes it) and
//! adds defmt's linker script when logs are enabled.
use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or("cargo sets OUT_DIR for build scripts")?);
    fs::copy("memory.x", out.join("memory.x")).map_err(|e| format!("memory.x (next to build.rs): {e}"))?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    if env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg=-Tdefmt.x");
    }
    Ok(())
}
