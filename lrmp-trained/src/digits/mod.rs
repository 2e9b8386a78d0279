//! The built-in `digits` network: a small CNN trained by this project on the UCI
//! handwritten-digits data (8x8 images), one instance of the trained-network facility
//! ([`crate::graph`]).
//!
//! Architecture ([`SPEC`], the one definition: `lrmp-network`'s zoo builds the optimiser's
//! view of the network from it):
//! input `1x8x8` -> `conv1` 1->16 3x3 s1 p1 -> ReLU -> `conv2` 16->32 3x3 s2 p1 -> ReLU ->
//! flatten (`C, H, W`, 512) -> `fc1` 512->64 -> ReLU -> `fc2` 64->10.
//!
//! [`dataset`] holds the CSV (embedded in the binary) and its fixed seeded 80/20 split. The
//! data set has no third part: the search and the reports both measure on the held-out
//! 20 % (359 images), which training never sees.

pub mod dataset;

use imc_model::xbar::ConvGeometry;

use crate::graph::model::{DataSets, TrainedModel};
use crate::graph::weights::{FloatWeights, WeightsError};
use crate::graph::{conv, layer, GraphSpec, Node, Samples, SpecError, TrainConfig};
use dataset::{DataError, Dataset, Split};

/// Name of the network in reports.
pub const NAME: &str = "digits";

/// The committed data set, embedded so `--network digits` works from any directory.
pub const EMBEDDED_CSV: &str = include_str!("../../../data/digits/digits.csv");
/// The committed trained weights.
pub const EMBEDDED_WEIGHTS: &str = include_str!("../../../data/digits/weights.json");
/// Where retraining writes weights by default (the repository copy).
pub const WEIGHTS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/digits/weights.json");

/// The training run that produced the committed weights.
pub const TRAINING: TrainConfig = TrainConfig {
    seed: 42,
    epochs: 40,
    batch: 32,
    learning_rate: 2e-3,
    cosine: false,
    flip: false,
};

/// Image side in pixels.
pub const SIDE: usize = 8;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;
/// Classes.
pub const CLASSES: usize = 10;
/// Largest pixel count in the data set (inputs are scaled by `1 / PIXEL_MAX`).
pub const PIXEL_MAX: u8 = 16;

const NODES: [Node; 4] = [
    layer(0, "conv1", conv(1, 8, 16, 3, 1, 1), true),
    layer(1, "conv2", conv(16, 8, 32, 3, 2, 1), true),
    layer(2, "fc1", ConvGeometry::fc(512, 64), true),
    layer(3, "fc2", ConvGeometry::fc(64, CLASSES), false),
];

/// The network.
pub const SPEC: GraphSpec = GraphSpec {
    name: NAME,
    input: (1, SIDE, SIDE),
    pixel_max: PIXEL_MAX,
    classes: CLASSES,
    nodes: &NODES,
};

impl Samples for Dataset {
    fn len(&self) -> usize {
        self.samples.len()
    }
    fn image(&self, i: usize) -> Option<&[u8]> {
        self.samples.get(i).map(|s| &s.pixels[..])
    }
    fn label(&self, i: usize) -> Option<u8> {
        self.samples.get(i).map(|s| s.label)
    }
}

/// The data set and its split.
pub struct DigitsData {
    data: Dataset,
    split: Split,
}

impl DigitsData {
    /// Splits `data` 80/20 ([`Dataset::split`]).
    pub fn new(data: Dataset) -> DigitsData {
        let split = data.split();
        DigitsData { data, split }
    }
    /// The data set.
    pub fn data(&self) -> &Dataset {
        &self.data
    }
    /// The split.
    pub fn split(&self) -> &Split {
        &self.split
    }
}

impl DataSets for DigitsData {
    fn validation(&self) -> (&dyn Samples, &[usize]) {
        (&self.data, &self.split.test)
    }
    fn test(&self) -> (&dyn Samples, &[usize]) {
        (&self.data, &self.split.test)
    }
    fn calibration(&self) -> (&dyn Samples, &[usize]) {
        (&self.data, &self.split.train)
    }
    fn training(&self) -> (&dyn Samples, &[usize]) {
        (&self.data, &self.split.train)
    }
}

/// The committed weights.
pub fn embedded_weights() -> Result<FloatWeights, WeightsError> {
    FloatWeights::parse(&SPEC, "data/digits/weights.json (embedded)", EMBEDDED_WEIGHTS)
}

/// Why the digits network could not be prepared.
#[derive(Debug)]
pub enum ModelError {
    /// The data set is invalid.
    Data(DataError),
    /// The weights file is invalid or belongs to another network.
    Weights(WeightsError),
    /// The built-in spec is invalid (a programming error).
    Spec(SpecError),
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelError::Data(e) => e.fmt(f),
            ModelError::Weights(e) => e.fmt(f),
            ModelError::Spec(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ModelError {}

/// The network with `weights` (the committed ones if `None`) on `data` (the embedded CSV if
/// `None`), calibrated and measured in float.
pub fn model(data: Option<Dataset>, weights: Option<FloatWeights>) -> Result<TrainedModel, ModelError> {
    let weights = match weights {
        Some(w) => w,
        None => embedded_weights().map_err(ModelError::Weights)?,
    };
    let data = match data {
        Some(d) => d,
        None => Dataset::embedded().map_err(ModelError::Data)?,
    };
    TrainedModel::new(SPEC, weights, Box::new(DigitsData::new(data))).map_err(ModelError::Spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_weights_validate_and_round_trip() {
        let w = embedded_weights().unwrap();
        let again = FloatWeights::parse(&SPEC, "again", &w.to_json().unwrap()).unwrap();
        assert_eq!(w, again);
    }

    #[test]
    fn bad_weight_files_name_line_layer_or_network() {
        let e =
            FloatWeights::parse(&SPEC, "w.json", "{\n  \"format\": \"lrmp-trained-weights\",\n  oops\n}").unwrap_err();
        assert!(e.to_string().starts_with("w.json: line 3"), "{e}");
        let text = embedded_weights().unwrap().to_json().unwrap();
        let e = FloatWeights::parse(&crate::fashion::SPEC, "w.json", &text).unwrap_err();
        assert!(e.to_string().contains("for network `digits`, not `fashion`"), "{e}");
        let e = FloatWeights::parse(&SPEC, "w.json", &text.replace("\"version\": 1", "\"version\": 9")).unwrap_err();
        assert!(e.to_string().contains("version"), "{e}");
        let short = text.replacen("\"bias\": [", "\"bias\": [1.0,", 3);
        let e = FloatWeights::parse(&SPEC, "w.json", &short).unwrap_err();
        assert!(e.to_string().contains("layer `conv1`: 17 biases"), "{e}");
    }

    #[test]
    fn the_committed_network_is_accurate_in_float_and_at_8_8() {
        let m = model(None, None).unwrap();
        let float = m.float_accuracy(crate::graph::model::Set::Test);
        assert!(float > 0.98, "{float}");
        let p = vec![imc_model::Precision::BASELINE; SPEC.layer_count()];
        let e = m
            .evaluate(&imc_model::ArchConfig::isaac(), &p, crate::graph::model::Set::Test)
            .unwrap();
        assert!((float - e.accuracy).abs() <= 0.005, "{float} vs {}", e.accuracy);
    }
}
