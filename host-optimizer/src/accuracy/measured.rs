//! The `measured` oracle: the digits network through the bit-accurate crossbar model on its
//! held-out test split, cached per assignment.
//!
//! No quantization-aware fine-tuning is done: the committed float weights are quantized
//! post-training (symmetric per-layer weights, calibrated unsigned activations; see
//! `digits::quant`). `docs/accuracy.md` reports what that costs at low precision.

use std::collections::HashMap;

use imc_model::{ArchConfig, Precision};

use super::{check_len, AccuracyError, AccuracyOracle};
use crate::network::Network;
use lrmp_trained::digits::model::DigitsModel;
use lrmp_trained::digits::quant::Evaluation;
use lrmp_trained::digits::{dataset::Dataset, weights::FloatWeights, LAYERS, NAME};

/// Whether `network` is the built-in digits network whose weights we ship.
pub fn has_weights(network: &Network) -> bool {
    network.name == NAME
        && network.layers.len() == LAYERS.len()
        && network.layers.iter().zip(&LAYERS).all(|(l, spec)| {
            let d = l.shape.dims();
            l.name == spec.name
                && d.c_in as usize == spec.geometry.c_in
                && d.c_out as usize == spec.geometry.c_out
                && d.out_h as usize == spec.geometry.out_h()
        })
}

/// Measures accuracy through the crossbar model.
pub struct MeasuredOracle {
    model: DigitsModel,
    arch: ArchConfig,
    cache: HashMap<Vec<Precision>, Evaluation>,
}

impl MeasuredOracle {
    /// The digits network with its committed weights, on `arch`.
    pub fn new(network: &Network, arch: ArchConfig) -> Result<MeasuredOracle, AccuracyError> {
        if !has_weights(network) {
            return Err(AccuracyError::NoWeights(network.name.clone()));
        }
        let data = Dataset::embedded().map_err(|e| AccuracyError::Model(e.to_string()))?;
        let weights = FloatWeights::embedded().map_err(|e| AccuracyError::Model(e.to_string()))?;
        Ok(MeasuredOracle::from_model(DigitsModel::new(weights, data), arch))
    }

    /// An oracle over an already loaded model (other weights, other data).
    pub fn from_model(model: DigitsModel, arch: ArchConfig) -> MeasuredOracle {
        MeasuredOracle {
            model,
            arch,
            cache: HashMap::new(),
        }
    }

    /// The model.
    pub fn model(&self) -> &DigitsModel {
        &self.model
    }

    /// Full evaluation (accuracy, counts, ADC activity) of an assignment.
    pub fn evaluate(&mut self, precisions: &[Precision]) -> Result<Evaluation, AccuracyError> {
        check_len(LAYERS.len(), precisions)?;
        if let Some(e) = self.cache.get(precisions) {
            return Ok(*e);
        }
        let e = self
            .model
            .evaluate(&self.arch, precisions)
            .map_err(|e| AccuracyError::Model(e.to_string()))?;
        self.cache.insert(precisions.to_vec(), e);
        Ok(e)
    }
}

impl AccuracyOracle for MeasuredOracle {
    fn accuracy_drop(&mut self, precisions: &[Precision]) -> Result<f64, AccuracyError> {
        let e = self.evaluate(precisions)?;
        Ok(100.0 * (self.model.float_accuracy() - e.accuracy))
    }
    fn kind(&self) -> &'static str {
        "measured"
    }
}
