//! The float weights file of a trained network (`data/<network>/weights.json`).
//!
//! Format (JSON, one object):
//! ```text
//! { "format": "lrmp-trained-weights", "version": 1, "network": "fashion",
//!   "training": { ...how they were made: seeds, epochs, accuracy... },
//!   "layers": [ { "name": "conv1", "shape": [16, 1, 3, 3],
//!                 "weight": [f32...], "bias": [f32...] }, ... ] }
//! ```
//! `weight` is row-major in `shape` (`[out, in / groups, k_h, k_w]`, `[out, in]` for FC),
//! the PyTorch/candle layout; `bias` has `out` entries. Layers appear in execution order
//! with the names and shapes of the network's [`GraphSpec`]. Every value must be finite.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::GraphSpec;
use imc_model::xbar::ConvGeometry;

/// Value of the `format` field.
pub const FORMAT: &str = "lrmp-trained-weights";
/// Supported `version`.
pub const VERSION: u32 = 1;

/// How a weights file was produced (informational; not used for inference).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingInfo {
    /// Seed of initialisation and batch order.
    pub seed: u64,
    /// Seed of the train/test (or validation) split.
    pub split_seed: u64,
    /// Passes over the training images.
    pub epochs: u32,
    /// Mini-batch size.
    pub batch: u32,
    /// AdamW learning rate (the peak, if a schedule is used).
    pub learning_rate: f64,
    /// Training samples.
    pub train_samples: u32,
    /// Held-out test samples.
    pub test_samples: u32,
    /// Float accuracy on the test images, fraction in 0..1.
    pub float_test_accuracy: f64,
}

/// Float weights of one layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloatLayer {
    /// Layer name.
    pub name: String,
    /// Weight shape.
    pub shape: Vec<usize>,
    /// Weights, row-major in `shape`.
    pub weight: Vec<f32>,
    /// Biases, one per output.
    pub bias: Vec<f32>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsFile {
    format: String,
    version: u32,
    network: String,
    training: TrainingInfo,
    layers: Vec<FloatLayer>,
}

/// Validated float weights: exactly the layers of one [`GraphSpec`], shapes checked, all
/// finite.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatWeights {
    network: &'static str,
    training: TrainingInfo,
    layers: Vec<FloatLayer>,
}

/// A weights file that could not be read; names the file and the line or layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsError {
    /// The file.
    pub source: String,
    /// What is wrong (with the line for syntax errors, the layer for content errors).
    pub message: String,
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

impl std::error::Error for WeightsError {}

/// Weight tensor shape of a layer: `[c_out, c_in / groups, k_h, k_w]`, `[c_out, c_in]` for FC.
pub fn weight_shape(g: &ConvGeometry) -> Vec<usize> {
    if g.is_fc() {
        vec![g.c_out, g.c_in]
    } else {
        vec![g.c_out, g.c_in / g.groups.max(1), g.kernel.0, g.kernel.1]
    }
}

impl FloatWeights {
    /// Validates layers against the network.
    pub fn new(spec: &GraphSpec, training: TrainingInfo, layers: Vec<FloatLayer>) -> Result<FloatWeights, String> {
        let count = spec.layer_count();
        if layers.len() != count {
            return Err(format!(
                "expected {count} layers for network `{}`, found {}",
                spec.name,
                layers.len()
            ));
        }
        for (layer, (_, name, geometry, _)) in layers.iter().zip(spec.layers()) {
            let at = |m: String| format!("layer `{name}`: {m}");
            if layer.name != name {
                return Err(format!("layer `{}` found where `{name}` belongs", layer.name));
            }
            let shape = weight_shape(&geometry);
            if layer.shape != shape {
                return Err(at(format!("shape {:?}, the network needs {shape:?}", layer.shape)));
            }
            let count: usize = shape.iter().product();
            if layer.weight.len() != count {
                return Err(at(format!("{} weights, the shape needs {count}", layer.weight.len())));
            }
            if layer.bias.len() != geometry.c_out {
                return Err(at(format!(
                    "{} biases, the layer has {} outputs",
                    layer.bias.len(),
                    geometry.c_out
                )));
            }
            if let Some(i) = layer.weight.iter().position(|v| !v.is_finite()) {
                return Err(at(format!("weight {i} is not finite")));
            }
            if let Some(i) = layer.bias.iter().position(|v| !v.is_finite()) {
                return Err(at(format!("bias {i} is not finite")));
            }
        }
        Ok(FloatWeights {
            network: spec.name,
            training,
            layers,
        })
    }

    /// Parses and validates a weights file for `spec`; `source` names it in errors.
    pub fn parse(spec: &GraphSpec, source: &str, text: &str) -> Result<FloatWeights, WeightsError> {
        let err = |message: String| WeightsError {
            source: source.to_string(),
            message,
        };
        let file: WeightsFile =
            serde_json::from_str(text).map_err(|e| err(format!("line {} column {}: {e}", e.line(), e.column())))?;
        if file.format != FORMAT {
            return Err(err(format!("`format` is `{}`, expected `{FORMAT}`", file.format)));
        }
        if file.version != VERSION {
            return Err(err(format!(
                "`version` {} is not supported (expected {VERSION})",
                file.version
            )));
        }
        if file.network != spec.name {
            return Err(err(format!(
                "the weights are for network `{}`, not `{}`",
                file.network, spec.name
            )));
        }
        FloatWeights::new(spec, file.training, file.layers).map_err(err)
    }

    /// The network these weights belong to.
    pub fn network(&self) -> &'static str {
        self.network
    }
    /// Layers in execution order (one per layer of the spec).
    pub fn layers(&self) -> &[FloatLayer] {
        &self.layers
    }
    /// How they were trained.
    pub fn training(&self) -> &TrainingInfo {
        &self.training
    }
    /// The same weights with other training information.
    pub fn with_training(mut self, training: TrainingInfo) -> FloatWeights {
        self.training = training;
        self
    }

    /// The file text: a readable header, one line per weight array.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut out = String::new();
        out.push_str(&format!(
            "{{\n  \"format\": \"{FORMAT}\",\n  \"version\": {VERSION},\n  \"network\": {},\n",
            serde_json::to_string(self.network)?
        ));
        out.push_str(&format!(
            "  \"training\": {},\n  \"layers\": [\n",
            serde_json::to_string(&self.training)?
        ));
        for (i, layer) in self.layers.iter().enumerate() {
            out.push_str(&format!(
                "    {{\n      \"name\": {},\n      \"shape\": {},\n      \"weight\": {},\n      \"bias\": {}\n    }}{}\n",
                serde_json::to_string(&layer.name)?,
                serde_json::to_string(&layer.shape)?,
                serde_json::to_string(&layer.weight)?,
                serde_json::to_string(&layer.bias)?,
                if i + 1 < self.layers.len() { "," } else { "" }
            ));
        }
        out.push_str("  ]\n}\n");
        Ok(out)
    }
}
