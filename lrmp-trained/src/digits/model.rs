//! The digits network ready to evaluate: weights, data, the fixed split, the activation
//! calibration and the float reference accuracy, computed once.

use imc_model::{ArchConfig, Precision};

use super::dataset::{Dataset, Split};
use super::float;
use super::quant::{evaluate, Evaluation, QuantError, QuantizedDigits};
use super::weights::FloatWeights;

/// Everything needed to measure the digits network's accuracy at any precision.
pub struct DigitsModel {
    weights: FloatWeights,
    data: Dataset,
    split: Split,
    clips: Vec<f32>,
    float_accuracy: f64,
}

impl DigitsModel {
    /// Calibrates on the training split and measures the float test accuracy.
    pub fn new(weights: FloatWeights, data: Dataset) -> DigitsModel {
        let split = data.split();
        let clips = float::calibrate(&weights, &data, &split.train);
        let float_accuracy = float::accuracy(&weights, &data, &split.test);
        DigitsModel {
            weights,
            data,
            split,
            clips,
            float_accuracy,
        }
    }

    /// The float network's accuracy on the held-out test split (fraction).
    pub fn float_accuracy(&self) -> f64 {
        self.float_accuracy
    }
    /// The weights.
    pub fn weights(&self) -> &FloatWeights {
        &self.weights
    }
    /// The data set.
    pub fn data(&self) -> &Dataset {
        &self.data
    }
    /// The split.
    pub fn split(&self) -> &Split {
        &self.split
    }
    /// Calibrated clip value of each layer's input.
    pub fn clips(&self) -> &[f32] {
        &self.clips
    }

    /// Quantizes for `precisions` and runs the test split through the crossbar model.
    pub fn evaluate(&self, arch: &ArchConfig, precisions: &[Precision]) -> Result<Evaluation, QuantError> {
        let q = QuantizedDigits::new(&self.weights, &self.clips, precisions)?;
        evaluate(arch, &q, &self.data, &self.split.test)
    }
}
