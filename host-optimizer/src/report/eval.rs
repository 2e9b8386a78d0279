//! The report of `lrmp eval`: a network's accuracy at given precisions, from whichever
//! oracle answered, with what that oracle can say about itself (samples and ADC clipping
//! when measured; per-layer terms and calibration when a proxy; the command when external).

use std::fmt::Write as _;

use imc_model::Precision;
use serde::Serialize;

use crate::network::Network;

/// One layer's precision.
#[derive(Clone, Debug, Serialize)]
pub struct LayerPrecision {
    /// Layer name.
    pub name: String,
    /// `b_w`.
    pub w_bits: u8,
    /// `b_a`.
    pub a_bits: u8,
}

/// What the oracle adds to the report.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum OracleDetails {
    /// Through the bit-accurate crossbar model on held-out samples.
    Measured {
        /// Held-out samples.
        test_samples: usize,
        /// Samples classified correctly.
        correct: usize,
        /// Column reads of every ADC.
        adc_reads: u64,
        /// Reads the ADC clipped.
        adc_clipped: u64,
    },
    /// The quantization-noise proxy.
    Proxy {
        /// Each layer's term of the drop, points.
        layer_drops: Vec<f64>,
        /// What the proxy was fitted on ([`crate::accuracy::proxy::ProxyConstants::describe`]).
        calibration: String,
        /// Its lowest Spearman correlation with measured drops on a network it was *not*
        /// fitted on (`docs/accuracy.md`).
        cross_network_spearman: f64,
    },
    /// An external evaluator.
    External {
        /// Its command.
        command: String,
    },
}

/// The whole report (`--json` prints it; [`EvalReport::to_table`] is the text form).
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// Network.
    pub network: String,
    /// Architecture preset or file.
    pub arch: String,
    /// ADC resolution the evaluation used.
    pub adc_bits: u8,
    /// Precisions evaluated.
    pub layers: Vec<LayerPrecision>,
    /// `measured`, `proxy` or `external`.
    pub oracle: &'static str,
    /// Accuracy at these precisions, 0..1 (measured only).
    pub accuracy: Option<f64>,
    /// Float accuracy, 0..1 (measured only).
    pub float_accuracy: Option<f64>,
    /// Drop from the reference, percentage points.
    pub accuracy_drop: f64,
    /// What the oracle adds.
    #[serde(flatten)]
    pub details: OracleDetails,
}

impl EvalReport {
    /// The report's common part for `network` at `precisions`.
    pub fn layers(network: &Network, precisions: &[Precision]) -> Vec<LayerPrecision> {
        network
            .layers
            .iter()
            .zip(precisions)
            .map(|(l, p)| LayerPrecision {
                name: l.name.clone(),
                w_bits: p.w_bits.get(),
                a_bits: p.a_bits.get(),
            })
            .collect()
    }

    /// The text report.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let layers: Vec<String> = self
            .layers
            .iter()
            .map(|l| format!("{} {}/{}", l.name, l.w_bits, l.a_bits))
            .collect();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "network         {} (arch {}, ADC {} bits)",
            self.network, self.arch, self.adc_bits
        );
        let _ = writeln!(out, "precisions      {}", layers.join(", "));
        let drop = self.accuracy_drop;
        let _ = match &self.details {
            OracleDetails::Measured {
                test_samples,
                correct,
                adc_reads,
                adc_clipped,
            } => {
                let clipped = 100.0 * *adc_clipped as f64 / (*adc_reads).max(1) as f64;
                write!(
                    out,
                    "accuracy        {:.2}% ({correct}/{test_samples} held-out samples, through the crossbar model)\n\
                     float accuracy  {:.2}%\naccuracy drop   {drop:.2} pp\n\
                     ADC             {adc_clipped} of {adc_reads} column reads clipped ({clipped:.3}%)\n",
                    100.0 * self.accuracy.unwrap_or(0.0),
                    100.0 * self.float_accuracy.unwrap_or(0.0),
                )
            }
            OracleDetails::Proxy {
                calibration,
                cross_network_spearman,
                ..
            } => writeln!(
                out,
                "accuracy drop   {drop:.2} pp (PROXY, not a measurement: {calibration}; \
                 Spearman {cross_network_spearman:.2} on a network it was not fitted on)"
            ),
            OracleDetails::External { command } => {
                writeln!(out, "accuracy drop   {drop:.2} pp (external evaluator `{command}`)")
            }
        };
        out
    }
}
