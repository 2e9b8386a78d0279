//! # lrmp-network
//!
//! Networks: the mappable layers of a DNN, built in or imported from a file. A crate of its
//! own (host-optimizer re-exports it as `host_optimizer::network`) so that the fuzz targets
//! of the importers build without the solver and neural-network stacks.
//!
//! A [`Network`] is the validated form every optimiser takes: a non-empty list of named
//! conv/FC layers in execution order, each a validated [`LayerShape`]. Non-mappable
//! operations (pooling, element-wise adds, activations, reshapes) are dropped on import:
//! they cost nothing in the model (DESIGN section 3).
//!
//! [`load`] is the one entry point: a built-in name ([`BUILTIN`]) or a file path
//! (`.json` = PIMCOMP-NN graph, [`pimcomp`]; `.csv` / `.toml` = layer table, [`table`];
//! `.onnx` = ONNX graph, [`onnx`]; [`load_with`] takes the ONNX import options).
//! Every output feature-map size is derived from kernel, stride and padding in one place
//! (`geometry`), never typed by hand. Errors name the file, the layer and the field; no
//! input makes this crate panic. File formats are documented in `docs/network-formats.md`.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

mod builder;
mod geometry;
mod graph;
pub mod onnx;
pub mod pimcomp;
mod resnet;
pub mod table;
mod zoo;

use imc_model::LayerShape;

/// One mappable layer with its name and the geometry it was derived from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// Unique name within the network (`conv1`, `layer1.0.conv2`, `fc`).
    pub name: String,
    /// Validated dimensions.
    pub shape: LayerShape,
    /// Stride (height, width); `(1, 1)` for FC.
    pub stride: (u32, u32),
    /// Zero padding (height, width); `(0, 0)` for FC. For a file that pads asymmetrically
    /// this is the leading (top, left) side; both sides went into the output size.
    pub padding: (u32, u32),
}

/// A validated network: at least one mappable layer, unique names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// Name used in reports.
    pub name: String,
    /// Mappable layers in execution order.
    pub layers: Vec<Layer>,
}

/// A network that could not be built or imported. Names the file, the layer and the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkError {
    /// The file (or `builtin:NAME`) being read.
    pub source: String,
    /// The layer (or node) at fault, when one is.
    pub layer: Option<String>,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(layer) = &self.layer {
            write!(f, ": layer `{layer}`")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for NetworkError {}

impl NetworkError {
    /// An error about `source` (a file path or `builtin:NAME`).
    pub fn new(source: impl Into<String>, message: impl Into<String>) -> NetworkError {
        NetworkError {
            source: source.into(),
            layer: None,
            field: None,
            message: message.into(),
        }
    }

    /// Names the layer (or graph node) at fault.
    pub fn at_layer(mut self, layer: impl Into<String>) -> NetworkError {
        self.layer = Some(layer.into());
        self
    }

    /// Names the field at fault.
    pub fn at_field(mut self, field: impl Into<String>) -> NetworkError {
        self.field = Some(field.into());
        self
    }
}

impl Network {
    /// Validates a layer list: at least one layer, unique non-empty names. `source` names
    /// the file (or `builtin:NAME`) in errors.
    pub fn new(name: &str, source: &str, layers: Vec<Layer>) -> Result<Network, NetworkError> {
        if layers.is_empty() {
            return Err(NetworkError::new(source, "the network has no conv or fc layer"));
        }
        let mut seen = HashSet::new();
        for layer in &layers {
            if layer.name.trim().is_empty() {
                return Err(NetworkError::new(source, "a layer has an empty name").at_field("name"));
            }
            if !seen.insert(layer.name.as_str()) {
                let e = NetworkError::new(source, "duplicate layer name");
                return Err(e.at_layer(layer.name.clone()).at_field("name"));
            }
        }
        Ok(Network {
            name: name.to_owned(),
            layers,
        })
    }

    /// The layer called `name`.
    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.name == name)
    }

    /// Weights of all mappable layers (no biases, no batch-norm parameters).
    pub fn total_weights(&self) -> u64 {
        self.layers.iter().map(|l| l.shape.weights()).sum()
    }
}

/// Names accepted by [`builtin`] and [`load`].
pub const BUILTIN: &[&str] = &[
    "resnet18",
    "resnet34",
    "resnet50",
    "vgg16",
    "mobilenetv2",
    "digits",
    "fashion",
];

fn build(name: &str) -> Option<Result<Network, NetworkError>> {
    Some(match name {
        "resnet18" => resnet::resnet18(),
        "resnet34" => resnet::resnet34(),
        "resnet50" => resnet::resnet50(),
        "vgg16" => zoo::vgg16(),
        "mobilenetv2" => zoo::mobilenetv2(),
        "digits" => zoo::trained(&lrmp_trained::digits::SPEC),
        "fashion" => zoo::trained(&lrmp_trained::fashion::SPEC),
        _ => return None,
    })
}

/// A built-in network by name (one of [`BUILTIN`]).
pub fn builtin(name: &str) -> Option<Network> {
    build(name).and_then(Result::ok)
}

/// A built-in network name, or else a file path: `.onnx` (ONNX graph), `.json` (PIMCOMP-NN graph), `.csv` or
/// `.toml` (layer table). A built-in name wins over a file of the same name; write
/// `./resnet18` to load such a file.
pub fn load(spec: &str) -> Result<Network, NetworkError> {
    load_with(spec, &onnx::ImportOptions::default())
}

/// [`load`] with ONNX import options (an input shape for graphs with a symbolic spatial
/// size); giving an input shape for anything but an `.onnx` file is an error.
pub fn load_with(spec: &str, options: &onnx::ImportOptions) -> Result<Network, NetworkError> {
    let is_onnx = spec.to_ascii_lowercase().ends_with(".onnx");
    if options.input_shape.is_some() && !is_onnx {
        let e = NetworkError::new(spec, "an input shape (--input-shape) applies to .onnx files only");
        return Err(e.at_field("input_shape"));
    }
    if let Some(built) = build(spec) {
        return built;
    }
    let path = Path::new(spec);
    if path.is_file() && is_onnx {
        let source = path.display().to_string();
        let bytes = read(path, &source)?;
        return onnx::import(&bytes, &source, stem(path), options).map(|i| i.network);
    }
    if path.is_file() {
        return load_file(path);
    }
    if path.is_dir() {
        return Err(NetworkError::new(spec, "is a directory, not a network file"));
    }
    let message = format!(
        "not a built-in network ({}) and not an existing file",
        BUILTIN.join(", ")
    );
    Err(NetworkError::new(spec, message))
}

/// Imports a network file, choosing the format by extension. The network is named after
/// the file stem (a TOML table may set its own `name`).
pub fn load_file(path: &Path) -> Result<Network, NetworkError> {
    let source = path.display().to_string();
    let stem = stem(path);
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let parse: fn(&str, &str, &str) -> Result<Network, NetworkError> = match extension.as_deref() {
        Some("json") => pimcomp::parse,
        Some("csv") => table::parse_csv,
        Some("toml") => table::parse_toml,
        Some("onnx") => return onnx::parse(&read(path, &source)?, &source, stem),
        _ => {
            let e = NetworkError::new(
                source,
                "unknown network file type: expected .onnx, .json, .csv or .toml",
            );
            return Err(e);
        }
    };
    let bytes = read(path, &source)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes().iter().take(valid).filter(|&&b| b == b'\n').count();
        NetworkError::new(source.clone(), format!("line {line}: not UTF-8 text (byte {valid})"))
    })?;
    parse(&text, &source, stem)
}

/// The file stem a network is named after.
fn stem(path: &Path) -> &str {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("network")
}

fn read(path: &Path, source: &str) -> Result<Vec<u8>, NetworkError> {
    std::fs::read(path).map_err(|e| NetworkError::new(source, format!("cannot read the file: {e}")))
}

#[cfg(test)]
mod tests;
