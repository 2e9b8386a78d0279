//! `lrmp eval`: accuracy of a network at given precisions — measured through the
//! bit-accurate crossbar model (digits), the proxy noise model, or an external evaluator.
//! Also the two maintenance commands of the digits network: `--retrain` (feature `train`)
//! and `--calibrate-proxy` (fits the proxy against `measured`, prints its Spearman figure).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use host_optimizer::accuracy::external::ExternalOracle;
use host_optimizer::accuracy::measured::MeasuredOracle;
use host_optimizer::accuracy::proxy::{self, ProxyConstants, ProxyOracle};
use host_optimizer::accuracy::{AccuracyOracle, OracleSpec};
use host_optimizer::network::Network;
use host_optimizer::report::eval::{EvalReport, OracleDetails};
use imc_model::{ArchConfig, Precision};
use serde_json::{json, Value};

use super::common::{PrecisionArgs, TargetArgs};
use super::{Classify, CliResult, Failure};

/// Arguments of `lrmp eval`.
#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    precision: PrecisionArgs,
    /// Accuracy oracle: measured (crossbar model; networks with weights), proxy (noise
    /// model) or external:CMD. Default: measured where weights exist, else proxy.
    #[arg(long, value_name = "ORACLE", value_parser = OracleSpec::parse)]
    accuracy: Option<OracleSpec>,
    /// Seconds an external evaluator may take for one assignment.
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = timeout_secs, allow_negative_numbers = true)]
    external_timeout: Duration,
    /// Override the architecture's ADC resolution (e.g. to compare with a lossless ADC).
    #[arg(long, value_name = "BITS", allow_negative_numbers = true)]
    adc_bits: Option<u8>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Retrain the digits network with candle and write its weights (needs a build with
    /// `--features train`).
    #[arg(long)]
    retrain: bool,
    /// Training epochs for --retrain.
    #[arg(long, requires = "retrain")]
    epochs: Option<u32>,
    /// Training seed for --retrain.
    #[arg(long, requires = "retrain")]
    seed: Option<u64>,
    /// Where --retrain writes the weights (default: the repository's data/digits/weights.json).
    #[arg(long, value_name = "FILE", requires = "retrain")]
    weights_out: Option<PathBuf>,
    /// Fit the proxy against `measured` on the digits network and print the Spearman
    /// correlation over random assignments.
    #[arg(long, conflicts_with = "retrain")]
    calibrate_proxy: bool,
    /// Random assignments scored by --calibrate-proxy.
    #[arg(long, default_value = "100", requires = "calibrate_proxy")]
    assignments: usize,
    /// Where --calibrate-proxy writes the constants (not written if omitted).
    #[arg(long, value_name = "FILE", requires = "calibrate_proxy")]
    calibration_out: Option<PathBuf>,
}

fn timeout_secs(text: &str) -> Result<Duration, String> {
    let s: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if s.is_finite() && s > 0.0 && s <= 86_400.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(format!("{text} is outside (0, 86400] seconds"))
    }
}

/// Runs `lrmp eval`.
pub fn run(args: EvalArgs) -> CliResult {
    let (network, arch) = args.target.load()?;
    let mut config = arch.config;
    if let Some(bits) = args.adc_bits {
        let mut p = *config.params();
        p.adc_bits = bits;
        config = ArchConfig::new(p).map_err(|e| Failure::BadInput(anyhow!("--adc-bits: {e}")))?;
    }
    if args.retrain {
        return retrain(&args, &network);
    }
    if args.calibrate_proxy {
        return calibrate(&args, &network, config);
    }
    let precisions = args.precision.resolve(&network)?;
    let spec = args
        .accuracy
        .clone()
        .unwrap_or_else(|| OracleSpec::default_for(&network));
    let (oracle, accuracy, float_accuracy, accuracy_drop, details) = match spec {
        OracleSpec::Measured => {
            let mut oracle = MeasuredOracle::new(&network, config).bad_input()?;
            measurable(&network, &precisions)?;
            let e = oracle.evaluate(&precisions).internal()?;
            let float = oracle.model().float_accuracy();
            let drop = oracle.accuracy_drop(&precisions).internal()?;
            let details = OracleDetails::Measured {
                test_samples: e.total,
                correct: e.correct,
                adc_reads: e.adc.reads,
                adc_clipped: e.adc.clipped,
            };
            ("measured", Some(e.accuracy), Some(float), drop, details)
        }
        OracleSpec::Proxy => {
            let constants = ProxyConstants::committed().internal()?;
            let mut oracle = ProxyOracle::new(&network, &constants);
            let drop = oracle.accuracy_drop(&precisions).internal()?;
            let layer_drops = precisions
                .iter()
                .enumerate()
                .map(|(l, &p)| oracle.layer_drop(l, p))
                .collect();
            let details = OracleDetails::Proxy {
                layer_drops,
                proxy_spearman: constants.spearman,
            };
            ("proxy", None, None, drop, details)
        }
        OracleSpec::External(command) => {
            let mut oracle = ExternalOracle::new(&command, &network, args.external_timeout);
            let drop = oracle.accuracy_drop(&precisions).bad_input()?;
            ("external", None, None, drop, OracleDetails::External { command })
        }
    };
    let report = EvalReport {
        network: network.name.clone(),
        arch: arch.name.clone(),
        adc_bits: config.adc_bits(),
        layers: EvalReport::layers(&network, &precisions),
        oracle,
        accuracy,
        float_accuracy,
        accuracy_drop,
        details,
    };
    if args.json {
        let value = serde_json::to_value(&report).internal()?;
        outln!("{}", serde_json::to_string_pretty(&value).internal()?);
    } else {
        out!("{}", report.to_table());
    }
    Ok(())
}

/// Fewest weight bits the measured oracle quantizes to: symmetric signed weights need a
/// sign and at least one magnitude bit (`digits::quant`).
const MEASURED_MIN_W_BITS: u8 = 2;

/// Refuses, as the user's input, precisions the measured oracle cannot quantize.
fn measurable(network: &Network, precisions: &[Precision]) -> CliResult {
    match network
        .layers
        .iter()
        .zip(precisions)
        .find(|(_, p)| p.w_bits.get() < MEASURED_MIN_W_BITS)
    {
        Some((layer, p)) => Err(Failure::BadInput(anyhow!(
            "layer `{}`: w_bits = {} is below the {MEASURED_MIN_W_BITS} weight bits the measured oracle \
             quantizes to (a sign and a magnitude bit); use more bits or --accuracy proxy",
            layer.name,
            p.w_bits.get()
        ))),
        None => Ok(()),
    }
}

fn calibrate(args: &EvalArgs, network: &Network, config: ArchConfig) -> CliResult {
    let mut measured = MeasuredOracle::new(network, config).bad_input()?;
    let c = proxy::calibrate(&mut measured, network, args.assignments, 0x5EED_0001).internal()?;
    let text = serde_json::to_string_pretty(&c.constants).internal()? + "\n";
    if let Some(path) = &args.calibration_out {
        std::fs::write(path, &text).map_err(|e| Failure::BadInput(anyhow!("{}: {e}", path.display())))?;
    }
    if args.json {
        let pairs: Vec<Value> = c
            .pairs
            .iter()
            .map(|(m, p)| json!({"measured": m, "proxy": p}))
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"constants": c.constants, "pairs": pairs})).internal()?
        );
    } else {
        out!("{text}");
        outln!(
            "Spearman correlation of proxy vs measured drop over {} random assignments: {:.3}",
            args.assignments,
            c.constants.spearman
        );
    }
    Ok(())
}

#[cfg(feature = "train")]
fn retrain(args: &EvalArgs, network: &Network) -> CliResult {
    use lrmp_trained::digits::{dataset::Dataset, train};
    if !host_optimizer::accuracy::measured::has_weights(network) {
        return Err(Failure::BadInput(anyhow!(
            "--retrain applies to the built-in `digits` network only"
        )));
    }
    let mut cfg = train::TrainConfig::default();
    cfg.epochs = args.epochs.unwrap_or(cfg.epochs);
    cfg.seed = args.seed.unwrap_or(cfg.seed);
    let data = Dataset::embedded().internal()?;
    let weights = train::train(&data, &cfg, |epoch, loss, acc| {
        eprintln!(
            "epoch {epoch:3}  loss {loss:.4}  float test accuracy {:.2}%",
            100.0 * acc
        )
    })
    .internal()?;
    let path = args
        .weights_out
        .clone()
        .unwrap_or_else(|| PathBuf::from(lrmp_trained::digits::WEIGHTS_PATH));
    std::fs::write(&path, weights.to_json().internal()?)
        .map_err(|e| Failure::BadInput(anyhow!("{}: {e}", path.display())))?;
    outln!(
        "wrote {} (float test accuracy {:.2}%); rebuild lrmp to embed them",
        path.display(),
        100.0 * weights.training().float_test_accuracy
    );
    Ok(())
}

#[cfg(not(feature = "train"))]
fn retrain(_args: &EvalArgs, _network: &Network) -> CliResult {
    Err(Failure::BadInput(anyhow!(
        "this lrmp was built without training support; rebuild with \
         `cargo build --release -p host-optimizer --features train`"
    )))
}
