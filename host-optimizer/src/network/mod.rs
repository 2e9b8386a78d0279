//! Networks: the mappable layers of a DNN, built in or imported from a file.
//!
//! A [`Network`] is the validated form every optimiser takes: a non-empty list of named
//! conv/FC layers in execution order, each a validated [`LayerShape`]. Non-mappable
//! operations (pooling, element-wise adds, activations, reshapes) are dropped on import:
//! they cost nothing in the model (DESIGN section 3).

use std::fmt;

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
    /// Zero padding (height, width); `(0, 0)` for FC.
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
