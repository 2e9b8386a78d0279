//! A trained network ready to measure: spec, weights, its data (validation images the
//! search measures on, test images reports measure on, training images that calibrate),
//! the activation calibration and the float reference accuracies, computed once.

use std::sync::OnceLock;

use imc_model::{ArchConfig, Precision};

use super::float;
use super::quant::{evaluate, Evaluation, QuantError, QuantizedGraph};
use super::weights::FloatWeights;
use super::{GraphSpec, Samples, Shape, SpecError};

/// Image sets of one network: `(images, indices)` pairs.
pub trait DataSets: Send + Sync {
    /// Images the search measures accuracy on (never the test images).
    fn validation(&self) -> (&dyn Samples, &[usize]);
    /// Images reported accuracy is measured on.
    fn test(&self) -> (&dyn Samples, &[usize]);
    /// Training images the activation clips are calibrated on.
    fn calibration(&self) -> (&dyn Samples, &[usize]);
    /// Every training image (fine-tuning draws from them).
    fn training(&self) -> (&dyn Samples, &[usize]);
}

/// Which image set to measure on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Set {
    /// The validation images (search time).
    Validation,
    /// The test images (reports).
    Test,
}

/// Everything needed to measure a trained network at any precision.
pub struct TrainedModel {
    spec: GraphSpec,
    shapes: Vec<Shape>,
    weights: FloatWeights,
    data: Box<dyn DataSets>,
    clips: Vec<f32>,
    /// Float accuracies, measured on first use (the test set takes seconds).
    float_validation: OnceLock<f64>,
    float_test: OnceLock<f64>,
}

impl TrainedModel {
    /// Calibrates on the calibration images (float accuracies are measured on first use).
    pub fn new(spec: GraphSpec, weights: FloatWeights, data: Box<dyn DataSets>) -> Result<TrainedModel, SpecError> {
        let shapes = spec.shapes()?;
        let (cal, cal_idx) = data.calibration();
        let clips = float::calibrate(&spec, &shapes, &weights, cal, cal_idx);
        Ok(TrainedModel {
            spec,
            shapes,
            weights,
            data,
            clips,
            float_validation: OnceLock::new(),
            float_test: OnceLock::new(),
        })
    }

    /// The network.
    pub fn spec(&self) -> &GraphSpec {
        &self.spec
    }
    /// Shapes of every tensor.
    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }
    /// The float weights.
    pub fn weights(&self) -> &FloatWeights {
        &self.weights
    }
    /// The image sets.
    pub fn data(&self) -> &dyn DataSets {
        self.data.as_ref()
    }
    /// Calibrated clip of every tensor.
    pub fn clips(&self) -> &[f32] {
        &self.clips
    }
    /// Float accuracy (fraction) on a set.
    pub fn float_accuracy(&self, set: Set) -> f64 {
        let cell = match set {
            Set::Validation => &self.float_validation,
            Set::Test => &self.float_test,
        };
        *cell.get_or_init(|| {
            let (images, indices) = self.images(set);
            float::accuracy(&self.spec, &self.shapes, &self.weights, images, indices)
        })
    }
    /// Images of a set.
    pub fn images(&self, set: Set) -> (&dyn Samples, &[usize]) {
        match set {
            Set::Validation => self.data.validation(),
            Set::Test => self.data.test(),
        }
    }

    /// Quantizes for `precisions` on `arch`.
    pub fn quantize(&self, arch: &ArchConfig, precisions: &[Precision]) -> Result<QuantizedGraph, QuantError> {
        QuantizedGraph::new(&self.spec, &self.shapes, &self.weights, &self.clips, arch, precisions)
    }

    /// Quantizes other weights of the same network (fine-tuned ones) for `precisions` with
    /// this model's calibrated clips, so their grids are the ones fine-tuning trained for.
    pub fn quantize_with(
        &self,
        weights: &FloatWeights,
        arch: &ArchConfig,
        precisions: &[Precision],
    ) -> Result<QuantizedGraph, QuantError> {
        QuantizedGraph::new(&self.spec, &self.shapes, weights, &self.clips, arch, precisions)
    }

    /// Quantizes for `precisions` and runs a set through the crossbar model.
    pub fn evaluate(&self, arch: &ArchConfig, precisions: &[Precision], set: Set) -> Result<Evaluation, QuantError> {
        let q = self.quantize(arch, precisions)?;
        let (images, indices) = self.images(set);
        evaluate(&q, images, indices)
    }
}
