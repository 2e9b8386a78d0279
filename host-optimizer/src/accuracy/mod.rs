//! Accuracy oracles: how much accuracy a precision assignment costs, in percentage points.
//!
//! Three implementations behind [`AccuracyOracle`], chosen by `--accuracy`:
//! - [`measured::MeasuredOracle`] (`measured`): a network this project trained (`digits`,
//!   `fashion`) run through the bit-accurate crossbar model: validation images at search
//!   time, test images in reports. Real, but only for networks with weights.
//! - [`proxy::ProxyOracle`] (`proxy`): a documented additive quantization-noise model for
//!   networks without weights (the ImageNet zoo). A *proxy*, calibrated against `measured`;
//!   its per-layer terms ([`proxy::ProxyOracle::layer_drop`]) feed the exact MILP.
//! - [`external::ExternalOracle`] (`external:CMD`): the user's own evaluator as a
//!   subprocess (JSON over stdin/stdout, timeout, cache).
//!
//! ## Invariants
//! - A drop is `100 * (reference_accuracy - accuracy)`: percentage points, may be negative
//!   when quantization happens to help.
//! - Every oracle checks that an assignment has one precision per layer before using it.

pub mod external;
pub mod measured;
pub mod proxy;
pub mod spearman;

use std::fmt;
use std::path::PathBuf;

use imc_model::{ArchConfig, Precision};
pub use lrmp_trained::graph::finetune::FinetuneConfig;

use crate::network::Network;

/// Accuracy cost of precision assignments.
pub trait AccuracyOracle {
    /// Accuracy drop in percentage points of `precisions` (one per layer, in layer order).
    fn accuracy_drop(&mut self, precisions: &[Precision]) -> Result<f64, AccuracyError>;
    /// `"measured"`, `"proxy"` or `"external"`.
    fn kind(&self) -> &'static str;
}

/// Why an oracle could not answer.
#[derive(Debug)]
pub enum AccuracyError {
    /// The assignment does not have one precision per layer.
    LayerCount {
        /// Layers of the network.
        expected: usize,
        /// Precisions given.
        got: usize,
    },
    /// `measured` was asked for a network that has no trained weights.
    NoWeights(String),
    /// The built-in data or weights could not be read, or quantization failed.
    Model(String),
    /// The external evaluator failed, hung or printed garbage.
    External(external::ExternalError),
    /// An oracle answered a drop that is not a finite number.
    NotFinite(f64),
}

impl fmt::Display for AccuracyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccuracyError::LayerCount { expected, got } => {
                write!(
                    f,
                    "precision assignment has {got} entries, the network has {expected} layers"
                )
            }
            AccuracyError::NoWeights(net) => write!(
                f,
                "network `{net}` has no trained weights, so accuracy cannot be measured; \
                 use --accuracy proxy (a noise model) or --accuracy external:CMD"
            ),
            AccuracyError::Model(m) => write!(f, "{m}"),
            AccuracyError::External(e) => write!(f, "{e}"),
            AccuracyError::NotFinite(d) => write!(f, "the oracle returned {d}, not a finite accuracy drop"),
        }
    }
}

impl std::error::Error for AccuracyError {}

/// `--accuracy` as parsed: which oracle.
#[derive(Clone, Debug, PartialEq)]
pub enum OracleSpec {
    /// Through the crossbar model (networks with weights).
    Measured {
        /// Where a data set that is not embedded is read from (`--data-dir`); `None` is its
        /// environment variable or default place.
        data_dir: Option<PathBuf>,
        /// Quantization-aware fine-tuning before each measurement (`--finetune-steps`; 0
        /// steps is none).
        finetune: FinetuneConfig,
    },
    /// The noise-model proxy.
    Proxy,
    /// A user's evaluator command.
    External(String),
}

impl OracleSpec {
    /// Parses `measured`, `proxy` or `external:CMD`.
    pub fn parse(text: &str) -> Result<OracleSpec, String> {
        match text {
            "measured" => Ok(OracleSpec::Measured {
                data_dir: None,
                finetune: FinetuneConfig::default(),
            }),
            "proxy" => Ok(OracleSpec::Proxy),
            _ => match text.strip_prefix("external:") {
                Some(cmd) if !cmd.trim().is_empty() => Ok(OracleSpec::External(cmd.to_string())),
                Some(_) => Err("`external:` needs a command, e.g. external:'python3 examples/evaluator.py'".into()),
                None => Err(format!(
                    "`{text}` is not an accuracy oracle (measured, proxy, external:CMD)"
                )),
            },
        }
    }

    /// The default for a network: `measured` where weights exist, else `proxy`.
    pub fn default_for(network: &Network) -> OracleSpec {
        if measured::has_weights(network) {
            OracleSpec::Measured {
                data_dir: None,
                finetune: FinetuneConfig::default(),
            }
        } else {
            OracleSpec::Proxy
        }
    }

    /// The same oracle reading its data from `dir` (only `measured` reads data).
    pub fn with_data_dir(self, dir: Option<PathBuf>) -> OracleSpec {
        match self {
            OracleSpec::Measured { data_dir, finetune } => OracleSpec::Measured {
                data_dir: dir.or(data_dir),
                finetune,
            },
            other => other,
        }
    }

    /// The same oracle fine-tuning `steps` steps at `learning_rate` before each measurement
    /// (only `measured` fine-tunes).
    pub fn with_finetune(self, steps: usize, learning_rate: f64) -> OracleSpec {
        match self {
            OracleSpec::Measured { data_dir, finetune } => OracleSpec::Measured {
                data_dir,
                finetune: FinetuneConfig {
                    steps,
                    learning_rate,
                    ..finetune
                },
            },
            other => other,
        }
    }

    /// The name reports print: `measured`, `proxy` or `external:CMD`.
    pub fn label(&self) -> String {
        match self {
            OracleSpec::Measured { finetune, .. } if finetune.steps > 0 => {
                format!("measured (fine-tuned {} steps)", finetune.steps)
            }
            OracleSpec::Measured { .. } => "measured".into(),
            OracleSpec::Proxy => "proxy".into(),
            OracleSpec::External(cmd) => format!("external:{cmd}"),
        }
    }
}

/// Builds the oracle `spec` for `network` on `arch`. The proxy uses the committed
/// calibration; the external oracle uses [`external::DEFAULT_TIMEOUT`].
pub fn build(
    spec: &OracleSpec,
    network: &Network,
    arch: &ArchConfig,
) -> Result<Box<dyn AccuracyOracle>, AccuracyError> {
    Ok(match spec {
        OracleSpec::Measured { data_dir, finetune } => {
            Box::new(measured::MeasuredOracle::new(network, *arch, data_dir.as_deref())?.with_finetune(*finetune))
        }
        OracleSpec::Proxy => Box::new(proxy::ProxyOracle::new(network, &proxy::ProxyConstants::committed()?)),
        OracleSpec::External(cmd) => Box::new(external::ExternalOracle::new(cmd, network, external::DEFAULT_TIMEOUT)),
    })
}

/// Checks that `precisions` has one entry per layer.
pub(crate) fn check_len(expected: usize, precisions: &[Precision]) -> Result<(), AccuracyError> {
    if precisions.len() == expected {
        Ok(())
    } else {
        Err(AccuracyError::LayerCount {
            expected,
            got: precisions.len(),
        })
    }
}
