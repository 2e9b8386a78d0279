//! `lrmp eval`: accuracy of a network at given precisions — measured through the
//! bit-accurate crossbar model (digits, fashion), the proxy noise model, or an external
//! evaluator. Also the maintenance commands of the trained networks: `--retrain` (`digits`
//! and `fashion`) and `--calibrate-proxy` (fits the proxy on both, prints how it scores in
//! sample and across networks).

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
use lrmp_trained::graph::model::Set;

use super::common::{FinetuneArgs, PrecisionArgs, TargetArgs};
use super::{Classify, CliResult, Failure};

/// Arguments of `lrmp eval`.
#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    finetune: FinetuneArgs,
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
    /// Float weights file for the measured oracle (default: the committed weights of the
    /// trained network); it must name the same network.
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Retrain the digits or fashion network with candle and write its weights.
    #[arg(long)]
    retrain: bool,
    /// Training epochs for --retrain.
    #[arg(long, requires = "retrain")]
    epochs: Option<u32>,
    /// Training seed for --retrain.
    #[arg(long, requires = "retrain")]
    seed: Option<u64>,
    /// Where --retrain writes the weights (default: the repository's data/NETWORK/weights.json).
    #[arg(long, value_name = "FILE", requires = "retrain")]
    weights_out: Option<PathBuf>,
    /// Fit the proxy on single-layer sweeps of the trained networks (digits, fashion;
    /// measured on validation images) and print how it scores in sample and across networks.
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
        return calibrate(&args, config);
    }
    let precisions = args.precision.resolve(&network)?;
    let spec = args
        .accuracy
        .clone()
        .unwrap_or_else(|| OracleSpec::default_for(&network))
        .with_data_dir(args.target.data_dir.clone());
    let spec = args.finetune.apply(spec);
    let (oracle, accuracy, float_accuracy, accuracy_drop, details) = match spec {
        OracleSpec::Measured { data_dir, finetune } => {
            let text = match &args.weights {
                Some(path) => Some(
                    std::fs::read_to_string(path).map_err(|e| Failure::BadInput(anyhow!("{}: {e}", path.display())))?,
                ),
                None => None,
            };
            let source = args
                .weights
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let weights = text.as_deref().map(|t| (source.as_str(), t));
            let mut oracle = MeasuredOracle::with_weights(&network, config, data_dir.as_deref(), weights)
                .bad_input()?
                .with_finetune(finetune);
            measurable(&network, &precisions)?;
            let e = oracle.evaluate(&precisions, Set::Test).bad_input()?;
            let float = oracle.model().float_accuracy(Set::Test);
            let drop = oracle.drop_on(&precisions, Set::Test).bad_input()?;
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
                calibration: constants.describe(),
                cross_network_spearman: constants.cross_network_spearman(),
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

fn calibrate(args: &EvalArgs, config: ArchConfig) -> CliResult {
    let mut networks: Vec<(Network, Box<dyn AccuracyOracle>)> = Vec::new();
    for name in ["digits", "fashion"] {
        let net = host_optimizer::network::builtin(name)
            .ok_or_else(|| Failure::Internal(anyhow!("built-in `{name}` is missing")))?;
        let oracle = MeasuredOracle::new(&net, config, args.target.data_dir.as_deref()).bad_input()?;
        networks.push((net, Box::new(oracle)));
    }
    let c = proxy::fit::calibrate(&mut networks, args.assignments, 0x5EED_0001).internal()?;
    let text = serde_json::to_string_pretty(&c).internal()? + "\n";
    if let Some(path) = &args.calibration_out {
        std::fs::write(path, &text).map_err(|e| Failure::BadInput(anyhow!("{}: {e}", path.display())))?;
    }
    let published = proxy::published::compare(&c).internal()?;
    if args.json {
        let value = serde_json::json!({ "calibration": c, "published": published });
        outln!("{}", serde_json::to_string_pretty(&value).internal()?);
    } else {
        outln!("{}", c.describe());
        outln!(
            "{:<10} {:<18} {:>11} {:>9} {:>9} {:>13}",
            "network",
            "fitted on",
            "assignments",
            "spearman",
            "MAE pp",
            "mean drop pp"
        );
        for s in &c.scores {
            outln!(
                "{:<10} {:<18} {:>11} {:>9.3} {:>9.2} {:>13.2}",
                s.network,
                s.fitted_on.join("+"),
                s.assignments,
                s.spearman,
                s.mae,
                s.mean_measured
            );
        }
        outln!("\nproxy against published ImageNet drops (data/published-accuracy):");
        outln!(
            "{:>4} {:<12} {:<22} {:<33} {:>5} {:>5} {:>10} {:>8}",
            "row",
            "network",
            "method",
            "pipeline",
            "W/A",
            "ends8",
            "published",
            "proxy"
        );
        for r in &published {
            let p = &r.published;
            outln!(
                "{:>4} {:<12} {:<22} {:<33} {:>5} {:>5} {:>10.2} {:>8.2}",
                p.row,
                p.network,
                p.method,
                p.pipeline,
                format!("{}/{}", p.w_bits, p.a_bits),
                if p.ends_at_8 { "yes" } else { "no" },
                p.published_drop,
                r.proxy_drop
            );
        }
    }
    Ok(())
}

fn retrain(args: &EvalArgs, network: &Network) -> CliResult {
    use lrmp_trained::graph::train;
    use lrmp_trained::graph::weights::TrainingInfo;
    use lrmp_trained::graph::Samples;
    use lrmp_trained::{digits, fashion, fashion_mnist::FashionMnist};
    let spec = host_optimizer::accuracy::measured::trained_spec(network).ok_or_else(|| {
        Failure::BadInput(anyhow!(
            "--retrain applies to the built-in `digits` and `fashion` networks only"
        ))
    })?;
    let (mut cfg, default_path) = if spec.name == fashion::NAME {
        (fashion::TRAINING, fashion::WEIGHTS_PATH)
    } else {
        (digits::TRAINING, digits::WEIGHTS_PATH)
    };
    cfg.epochs = args.epochs.unwrap_or(cfg.epochs);
    cfg.seed = args.seed.unwrap_or(cfg.seed);
    let log = |epoch: u32, loss: f32, acc: f64| {
        eprintln!(
            "epoch {epoch:3}  loss {loss:.4}  float test accuracy {:.2}%",
            100.0 * acc
        )
    };
    let info = |split_seed: u64, train: usize, test: usize| TrainingInfo {
        seed: cfg.seed,
        split_seed,
        epochs: cfg.epochs,
        batch: cfg.batch as u32,
        learning_rate: cfg.learning_rate,
        train_samples: train as u32,
        test_samples: test as u32,
        float_test_accuracy: 0.0,
    };
    let weights = if spec.name == fashion::NAME {
        let data = FashionMnist::load(args.target.data_dir.as_deref()).bad_input()?;
        let train_idx = fashion::training_indices(&data);
        let test: Vec<usize> = (0..data.test.len()).collect();
        let info = info(
            lrmp_trained::fashion_mnist::VALIDATION_SEED,
            train_idx.len(),
            test.len(),
        );
        train::train(spec, &data.train, &train_idx, (&data.test, &test), &cfg, info, log).internal()?
    } else {
        let data = digits::dataset::Dataset::embedded().internal()?;
        let split = data.split();
        let info = info(digits::dataset::SPLIT_SEED, split.train.len(), split.test.len());
        train::train(spec, &data, &split.train, (&data, &split.test), &cfg, info, log).internal()?
    };
    let path = args.weights_out.clone().unwrap_or_else(|| PathBuf::from(default_path));
    std::fs::write(&path, weights.to_json().internal()?)
        .map_err(|e| Failure::BadInput(anyhow!("{}: {e}", path.display())))?;
    outln!(
        "wrote {} (float test accuracy {:.2}%); rebuild lrmp to embed them",
        path.display(),
        100.0 * weights.training().float_test_accuracy
    );
    Ok(())
}
