//! The built-in `digits` network: a small CNN trained by this project on the UCI
//! handwritten-digits data (8x8 images), evaluated through the bit-accurate crossbar model.
//!
//! Architecture ([`LAYERS`], the one definition: `lrmp-network`'s zoo builds the
//! optimiser's view of the network from it):
//! input `1x8x8` -> `conv1` 1->16 3x3 s1 p1 -> ReLU -> `conv2` 16->32 3x3 s2 p1 -> ReLU ->
//! flatten (`C, H, W`, 512) -> `fc1` 512->64 -> ReLU -> `fc2` 64->10.
//!
//! - [`dataset`]: the CSV (embedded in the binary), its fixed seeded 80/20 split.
//! - [`weights`]: the committed float weights file and its validation.
//! - [`float`]: the float reference forward pass and activation calibration.
//! - [`quant`]: per-layer quantization and the forward pass through `imc_model::xbar`.
//! - `train` (feature `train`): retraining with candle.
//!
//! ## Invariants
//! - Files are parsed once into validated types ([`dataset::Dataset`], [`weights::FloatWeights`]);
//!   errors name the file and line. Nothing after parsing can panic on data.
//! - Everything is deterministic: the split, the initialisation and the batch order come
//!   from [`rng::SplitMix64`] with fixed seeds.

pub mod dataset;
pub mod float;
pub mod model;
pub mod quant;
pub mod rng;
#[cfg(feature = "train")]
pub mod train;
pub mod weights;

use imc_model::xbar::ConvGeometry;

/// Name of the network in reports.
pub const NAME: &str = "digits";

/// The committed data set, embedded so `--network digits` works from any directory.
pub const EMBEDDED_CSV: &str = include_str!("../../../data/digits/digits.csv");
/// The committed trained weights.
pub const EMBEDDED_WEIGHTS: &str = include_str!("../../../data/digits/weights.json");
/// Where `--retrain` writes weights by default (the repository copy).
pub const WEIGHTS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/digits/weights.json");

/// Image side in pixels.
pub const SIDE: usize = 8;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;
/// Classes.
pub const CLASSES: usize = 10;
/// Largest pixel count in the data set (inputs are scaled by `1 / PIXEL_MAX`).
pub const PIXEL_MAX: u8 = 16;

/// One layer of the digits network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerSpec {
    /// Name, as in reports and the weights file.
    pub name: &'static str,
    /// Geometry (FC layers are the 1x1 case).
    pub geometry: ConvGeometry,
    /// Whether a ReLU follows (all but the last layer).
    pub relu: bool,
}

/// The four mappable layers in execution order.
pub const LAYERS: [LayerSpec; 4] = [
    LayerSpec {
        name: "conv1",
        geometry: ConvGeometry {
            c_in: 1,
            in_h: 8,
            in_w: 8,
            c_out: 16,
            kernel: (3, 3),
            stride: (1, 1),
            pad: (1, 1),
        },
        relu: true,
    },
    LayerSpec {
        name: "conv2",
        geometry: ConvGeometry {
            c_in: 16,
            in_h: 8,
            in_w: 8,
            c_out: 32,
            kernel: (3, 3),
            stride: (2, 2),
            pad: (1, 1),
        },
        relu: true,
    },
    LayerSpec {
        name: "fc1",
        geometry: ConvGeometry::fc(512, 64),
        relu: true,
    },
    LayerSpec {
        name: "fc2",
        geometry: ConvGeometry::fc(64, CLASSES),
        relu: false,
    },
];

/// Weight tensor shape `[c_out, c_in, k_h, k_w]` (`[out, in]` for FC) of a layer.
pub fn weight_shape(spec: &LayerSpec) -> Vec<usize> {
    let g = &spec.geometry;
    if g.is_fc() {
        vec![g.c_out, g.c_in]
    } else {
        vec![g.c_out, g.c_in, g.kernel.0, g.kernel.1]
    }
}

/// Index of the largest logit (the first on ties).
pub fn argmax<T: PartialOrd + Copy>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if values.get(best).is_some_and(|b| v > b) {
            best = i;
        }
    }
    best
}
