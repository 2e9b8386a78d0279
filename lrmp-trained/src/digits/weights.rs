//! The float weights file of the digits network (`data/digits/weights.json`).
//!
//! Format (JSON, one object):
//! ```text
//! { "format": "lrmp-digits-weights", "version": 1,
//!   "training": { ...how they were made: seeds, epochs, accuracy... },
//!   "layers": [ { "name": "conv1", "shape": [16, 1, 3, 3],
//!                 "weight": [f32...], "bias": [f32...] }, ... ] }
//! ```
//! `weight` is row-major in `shape` (`[out, in, k_h, k_w]`, `[out, in]` for FC), the
//! PyTorch/candle layout; `bias` has `out` entries. Layers appear in execution order with
//! the names and shapes of [`super::LAYERS`]. Every value must be finite.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{weight_shape, LAYERS};

/// Value of the `format` field.
pub const FORMAT: &str = "lrmp-digits-weights";
/// Supported `version`.
pub const VERSION: u32 = 1;

/// How a weights file was produced (informational; not used for inference).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingInfo {
    /// Seed of initialisation and batch order.
    pub seed: u64,
    /// Seed of the train/test split.
    pub split_seed: u64,
    /// Passes over the training split.
    pub epochs: u32,
    /// Mini-batch size.
    pub batch: u32,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// Training samples.
    pub train_samples: u32,
    /// Held-out test samples.
    pub test_samples: u32,
    /// Float accuracy on the test split, fraction in 0..1.
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
    training: TrainingInfo,
    layers: Vec<FloatLayer>,
}

/// Validated float weights: exactly the layers of [`LAYERS`], shapes checked, all finite.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatWeights {
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

impl FloatWeights {
    /// Validates layers against the architecture.
    pub fn new(training: TrainingInfo, layers: Vec<FloatLayer>) -> Result<FloatWeights, String> {
        if layers.len() != LAYERS.len() {
            return Err(format!("expected {} layers, found {}", LAYERS.len(), layers.len()));
        }
        for (layer, spec) in layers.iter().zip(&LAYERS) {
            let at = |m: String| format!("layer `{}`: {m}", spec.name);
            if layer.name != spec.name {
                return Err(format!("layer `{}` found where `{}` belongs", layer.name, spec.name));
            }
            let shape = weight_shape(spec);
            if layer.shape != shape {
                return Err(at(format!("shape {:?}, the network needs {shape:?}", layer.shape)));
            }
            let count: usize = shape.iter().product();
            if layer.weight.len() != count {
                return Err(at(format!("{} weights, the shape needs {count}", layer.weight.len())));
            }
            if layer.bias.len() != spec.geometry.c_out {
                return Err(at(format!(
                    "{} biases, the layer has {} outputs",
                    layer.bias.len(),
                    spec.geometry.c_out
                )));
            }
            if let Some(i) = layer.weight.iter().position(|v| !v.is_finite()) {
                return Err(at(format!("weight {i} is not finite")));
            }
            if let Some(i) = layer.bias.iter().position(|v| !v.is_finite()) {
                return Err(at(format!("bias {i} is not finite")));
            }
        }
        Ok(FloatWeights { training, layers })
    }

    /// Parses and validates a weights file; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<FloatWeights, WeightsError> {
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
        FloatWeights::new(file.training, file.layers).map_err(err)
    }

    /// The committed weights embedded in the binary.
    pub fn embedded() -> Result<FloatWeights, WeightsError> {
        FloatWeights::parse("data/digits/weights.json (embedded)", super::EMBEDDED_WEIGHTS)
    }

    /// Layers in execution order (as many as [`LAYERS`]).
    pub fn layers(&self) -> &[FloatLayer] {
        &self.layers
    }
    /// How they were trained.
    pub fn training(&self) -> &TrainingInfo {
        &self.training
    }

    /// The file text: a readable header, one line per weight array.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut out = String::new();
        out.push_str(&format!("{{\n  \"format\": \"{FORMAT}\",\n  \"version\": {VERSION},\n"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_weights_validate_and_round_trip() {
        let w = FloatWeights::embedded().unwrap();
        let again = FloatWeights::parse("again", &w.to_json().unwrap()).unwrap();
        assert_eq!(w, again);
    }

    #[test]
    fn bad_files_name_line_or_layer() {
        let e = FloatWeights::parse("w.json", "{\n  \"format\": \"lrmp-digits-weights\",\n  oops\n}").unwrap_err();
        assert!(e.to_string().starts_with("w.json: line 3"), "{e}");
        let mut w = FloatWeights::embedded().unwrap();
        w.layers[2].bias.pop();
        let e = FloatWeights::parse("w.json", &w.to_json().unwrap()).unwrap_err();
        assert!(e.to_string().contains("layer `fc1`: 63 biases"), "{e}");
        let text = FloatWeights::embedded()
            .unwrap()
            .to_json()
            .unwrap()
            .replace("\"version\": 1", "\"version\": 9");
        assert!(FloatWeights::parse("w.json", &text)
            .unwrap_err()
            .to_string()
            .contains("version"));
    }
}
