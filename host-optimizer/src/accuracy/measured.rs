//! The `measured` oracle: a network this project trained (`digits`, `fashion`) run through
//! the bit-accurate crossbar model, cached per assignment and image set.
//!
//! The search measures on validation images (for `fashion`, held-out training images; for
//! `digits`, whose data set has no third part, its held-out test split), and reports measure
//! on the test images. By default the committed float weights are quantized post-training
//! (symmetric per-layer weights, calibrated unsigned activations; see
//! `lrmp_trained::graph::quant`); with [`MeasuredOracle::with_finetune`] each assignment is
//! first fine-tuned with fake quantization (`lrmp_trained::graph::finetune`), as the paper
//! fine-tunes every candidate, and the fine-tuned weights are kept only if they beat
//! post-training quantization on the validation images. `docs/accuracy.md` reports what each costs.

use std::collections::HashMap;
use std::path::Path;

use imc_model::{ArchConfig, Precision};

use super::{check_len, AccuracyError, AccuracyOracle};
use crate::network::Network;
use lrmp_trained::graph::finetune::{finetune, FinetuneConfig};
use lrmp_trained::graph::model::{Set, TrainedModel};
use lrmp_trained::graph::quant::Evaluation;
use lrmp_trained::graph::weights::FloatWeights;
use lrmp_trained::graph::GraphSpec;
use lrmp_trained::{digits, fashion};

/// The trained network named like `network`, if its layers are exactly that network's.
pub fn trained_spec(network: &Network) -> Option<&'static GraphSpec> {
    let spec = lrmp_trained::TRAINED.into_iter().find(|s| s.name == network.name)?;
    let same = network.layers.len() == spec.layer_count()
        && network.layers.iter().zip(spec.layers()).all(|(l, (_, name, g, _))| {
            let d = l.shape.dims();
            l.name == name
                && d.c_in as usize == g.c_in
                && d.c_out as usize == g.c_out
                && d.out_h as usize == g.out_h()
                && d.groups as usize == g.groups
        });
    same.then_some(spec)
}

/// Whether `network` is a built-in network whose weights we ship.
pub fn has_weights(network: &Network) -> bool {
    trained_spec(network).is_some()
}

/// Measures accuracy through the crossbar model.
pub struct MeasuredOracle {
    model: TrainedModel,
    arch: ArchConfig,
    finetune: FinetuneConfig,
    cache: HashMap<(Vec<Precision>, Set), Evaluation>,
    /// Per assignment, the fine-tuned weights if they beat post-training quantization on the
    /// validation images, else `None` (validation and test measure the same choice).
    tuned: HashMap<Vec<Precision>, Option<FloatWeights>>,
}

impl MeasuredOracle {
    /// The trained network `network` with its committed weights, on `arch`; data sets that
    /// are not embedded are read from `data_dir` (else their default place).
    pub fn new(network: &Network, arch: ArchConfig, data_dir: Option<&Path>) -> Result<MeasuredOracle, AccuracyError> {
        MeasuredOracle::with_weights(network, arch, data_dir, None)
    }

    /// As [`MeasuredOracle::new`] with other weights: a weights file's text and its name
    /// (checked against the network: a file for another network is an error).
    pub fn with_weights(
        network: &Network,
        arch: ArchConfig,
        data_dir: Option<&Path>,
        weights: Option<(&str, &str)>,
    ) -> Result<MeasuredOracle, AccuracyError> {
        let spec = trained_spec(network).ok_or_else(|| AccuracyError::NoWeights(network.name.clone()))?;
        let model_error = |e: &dyn std::fmt::Display| AccuracyError::Model(e.to_string());
        let weights = match weights {
            Some((source, text)) => Some(FloatWeights::parse(spec, source, text).map_err(|e| model_error(&e))?),
            None => None,
        };
        let model = if spec.name == fashion::NAME {
            fashion::model(data_dir, weights).map_err(|e| model_error(&e))?
        } else {
            digits::model(None, weights).map_err(|e| model_error(&e))?
        };
        Ok(MeasuredOracle::from_model(model, arch))
    }

    /// An oracle over an already loaded model (other weights, other data).
    pub fn from_model(model: TrainedModel, arch: ArchConfig) -> MeasuredOracle {
        MeasuredOracle {
            model,
            arch,
            finetune: FinetuneConfig::default(),
            cache: HashMap::new(),
            tuned: HashMap::new(),
        }
    }

    /// The same oracle fine-tuning each assignment before measuring it (0 steps: none).
    pub fn with_finetune(mut self, finetune: FinetuneConfig) -> MeasuredOracle {
        self.finetune = finetune;
        self.cache.clear();
        self.tuned.clear();
        self
    }

    /// The model.
    pub fn model(&self) -> &TrainedModel {
        &self.model
    }

    /// Full evaluation (accuracy, counts, ADC activity) of an assignment on a set.
    pub fn evaluate(&mut self, precisions: &[Precision], set: Set) -> Result<Evaluation, AccuracyError> {
        check_len(self.model.spec().layer_count(), precisions)?;
        let key = (precisions.to_vec(), set);
        if let Some(e) = self.cache.get(&key) {
            return Ok(*e);
        }
        let quant_error = |e: lrmp_trained::graph::quant::QuantError| AccuracyError::Model(e.to_string());
        let e = if self.finetune.steps == 0 {
            self.model.evaluate(&self.arch, precisions, set).map_err(quant_error)?
        } else {
            if !self.tuned.contains_key(precisions) {
                let w = finetune(&self.model, precisions, &self.finetune)
                    .map_err(|e| AccuracyError::Model(e.to_string()))?;
                // Fine-tuning can also hurt (a learning rate that re-heats a converged
                // network at high precision): keep it only where it helps, judged on the
                // validation images, never the test images.
                let (images, indices) = self.model.images(Set::Validation);
                let q = self
                    .model
                    .quantize_with(&w, &self.arch, precisions)
                    .map_err(quant_error)?;
                let tuned = lrmp_trained::graph::quant::evaluate(&q, images, indices).map_err(quant_error)?;
                let plain = self
                    .model
                    .evaluate(&self.arch, precisions, Set::Validation)
                    .map_err(quant_error)?;
                let keep = (tuned.accuracy > plain.accuracy).then_some(w);
                self.tuned.insert(precisions.to_vec(), keep);
            }
            match self.tuned.get(precisions) {
                Some(Some(w)) => {
                    let q = self
                        .model
                        .quantize_with(w, &self.arch, precisions)
                        .map_err(quant_error)?;
                    let (images, indices) = self.model.images(set);
                    lrmp_trained::graph::quant::evaluate(&q, images, indices).map_err(quant_error)?
                }
                _ => self.model.evaluate(&self.arch, precisions, set).map_err(quant_error)?,
            }
        };
        self.cache.insert(key, e);
        Ok(e)
    }

    /// Drop in points against the float network on a set.
    pub fn drop_on(&mut self, precisions: &[Precision], set: Set) -> Result<f64, AccuracyError> {
        let e = self.evaluate(precisions, set)?;
        Ok(100.0 * (self.model.float_accuracy(set) - e.accuracy))
    }
}

impl AccuracyOracle for MeasuredOracle {
    /// The search-time drop: on the validation images.
    fn accuracy_drop(&mut self, precisions: &[Precision]) -> Result<f64, AccuracyError> {
        self.drop_on(precisions, Set::Validation)
    }
    fn kind(&self) -> &'static str {
        "measured"
    }
}
