//! Options shared by several subcommands, and their conversion into validated values.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use host_optimizer::accuracy::OracleSpec;
use host_optimizer::arch_file::{self, NamedArch};
use host_optimizer::network::{self, Network};
use host_optimizer::precision;
use imc_model::Precision;

use super::{Classify, CliResult, Failure};

/// Which network on which chip.
#[derive(Args, Clone)]
pub struct TargetArgs {
    /// A built-in network (resnet18, resnet34, resnet50, vgg16, mobilenetv2, digits, fashion) or a
    /// network file (.onnx graph, .json PIMCOMP-NN graph, .csv or .toml layer table).
    #[arg(long, value_name = "NAME|FILE")]
    pub network: String,
    /// C,H,W of an ONNX graph's input, for graphs exported with a symbolic spatial size.
    #[arg(long, value_name = "C,H,W", value_parser = input_shape)]
    pub input_shape: Option<[u32; 3]>,
    /// Architecture preset (isaac, isaac-noc) or a TOML/JSON file.
    #[arg(long, value_name = "PRESET|FILE", default_value = "isaac")]
    pub arch: String,
    /// Folder of the Fashion-MNIST IDX files (default: $LRMP_FASHION_MNIST_DIR, else
    /// /usr/share/datasets/fashion-mnist from the Debian package dataset-fashion-mnist).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
}

impl TargetArgs {
    /// Loads and validates the network and the architecture.
    pub fn load(&self) -> CliResult<(Network, NamedArch)> {
        for (option, value) in [("--network", &self.network), ("--arch", &self.arch)] {
            if value.trim().is_empty() {
                return Err(Failure::BadInput(anyhow!(
                    "{option} is empty: give a built-in name or a file"
                )));
            }
        }
        let options = network::onnx::ImportOptions {
            input_shape: self.input_shape,
        };
        let network = network::load_with(&self.network, &options).bad_input()?;
        let arch = arch_file::load(&self.arch).bad_input()?;
        Ok((network, arch))
    }
}

/// Per-layer precisions.
#[derive(Args, Clone)]
pub struct PrecisionArgs {
    /// Weight/activation bits for every layer but the first and last (e.g. 4/6).
    #[arg(long, value_name = "W/A", conflicts_with = "precisions", allow_hyphen_values = true)]
    pub bits: Option<String>,
    /// A precision file (TOML or JSON; a `--json` report works too).
    #[arg(long, value_name = "FILE")]
    pub precisions: Option<PathBuf>,
    /// Let `--bits` apply to the first and last mappable layers too.
    #[arg(long)]
    pub free_ends: bool,
}

impl PrecisionArgs {
    /// One precision per layer (8/8 where nothing else is said).
    pub fn resolve(&self, network: &Network) -> CliResult<Vec<Precision>> {
        if let Some(path) = &self.precisions {
            return precision::load_file(path, network).bad_input();
        }
        let p = match &self.bits {
            Some(text) => precision::parse_bits(text).map_err(|m| Failure::BadInput(anyhow!("--bits: {m}")))?,
            None => Precision::BASELINE,
        };
        Ok(precision::uniform(network, p, self.free_ends))
    }
}

/// What the optimiser minimises.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectiveArg {
    /// Latency of one inference, `sum T_l`.
    Latency,
    /// Pipelined interval `max T_l` (maximises throughput).
    Throughput,
    /// `alpha * L/L0 + (1 - alpha) * I/I0` (set `--alpha`).
    Mixed,
    /// Energy per inference, then latency (physical model).
    Energy,
    /// Energy per inference times latency (physical model).
    Edp,
}

impl ObjectiveArg {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectiveArg::Latency => "latency",
            ObjectiveArg::Throughput => "throughput",
            ObjectiveArg::Mixed => "mixed",
            ObjectiveArg::Energy => "energy",
            ObjectiveArg::Edp => "edp",
        }
    }
}

/// Parses `--input-shape C,H,W`: three positive integers.
pub fn input_shape(text: &str) -> Result<[u32; 3], String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [c, h, w] = parts.as_slice() else {
        return Err(format!("`{text}` is not C,H,W (e.g. 3,224,224)"));
    };
    let one = |v: &str| match v.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{v}` in `{text}` is not a positive integer")),
    };
    Ok([one(c)?, one(h)?, one(w)?])
}

/// Parses an area factor: finite, positive, at most 1000.
pub fn area_factor(text: &str) -> Result<f64, String> {
    let f: f64 = text.parse().map_err(|_| format!("`{text}` is not a number"))?;
    if f.is_finite() && f > 0.0 && f <= 1000.0 {
        Ok(f)
    } else {
        Err(format!("{text} is outside (0, 1000]"))
    }
}

/// Parses a number `>= 0` (an accuracy budget in percentage points).
pub fn non_negative(text: &str) -> Result<f64, String> {
    let v: f64 = text.parse().map_err(|_| format!("`{text}` is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{text} must be a finite number >= 0"))
    }
}

/// Where `--out` failed to write: the path and the OS error.
pub fn out_error(path: &std::path::Path, e: impl std::fmt::Display) -> Failure {
    Failure::BadInput(anyhow!("--out {}: {e}", path.display()))
}

/// Parses a weight in `[0, 1]`.
pub fn unit_interval(text: &str) -> Result<f64, String> {
    let f: f64 = text.parse().map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err(format!("{text} is outside [0, 1]"))
    }
}

/// Options of the `measured` oracle's fine-tuning.
#[derive(Args, Clone, Copy)]
pub struct FinetuneArgs {
    /// measured only: quantization-aware fine-tuning steps before each measurement (batch
    /// 64 training images a step; 0 = post-training quantization only).
    #[arg(long, value_name = "N", default_value = "0", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub finetune_steps: u32,
    /// measured only: AdamW learning rate of the fine-tuning.
    #[arg(long, value_name = "LR", default_value = "1e-3", value_parser = finetune_lr)]
    pub finetune_lr: f64,
}

fn finetune_lr(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{text}` is not a positive learning rate")),
    }
}

impl FinetuneArgs {
    /// `oracle` with these options applied (a no-op for oracles other than `measured`).
    pub fn apply(&self, oracle: OracleSpec) -> OracleSpec {
        oracle.with_finetune(self.finetune_steps as usize, self.finetune_lr)
    }
}
