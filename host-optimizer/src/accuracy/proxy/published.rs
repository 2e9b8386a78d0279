//! The proxy against published ImageNet quantization results (`data/published-accuracy/`).
//!
//! Each row of `comparison.csv` names a built-in network, a uniform `W/A`, and whether the
//! source kept the first and last layers at 8 bits; the proxy's drop for that assignment is
//! set beside the published drop. The published pipelines differ from ours (per-channel
//! scales, quantization-aware training, reconstruction), which the `pipeline` column says:
//! the comparison shows where the proxy sits among them, not a fit.

use imc_model::{Bits, Precision};
use serde::{Deserialize, Serialize};

use super::{ProxyConstants, ProxyOracle};
use crate::accuracy::{AccuracyError, AccuracyOracle};
use crate::network;

/// The committed comparison rows.
pub const EMBEDDED_ROWS: &str = include_str!("../../../../data/published-accuracy/comparison.csv");

/// One published result and the proxy's answer for the same assignment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Published {
    /// Row of `SOURCES.md` Table A.
    pub row: u32,
    /// Built-in network.
    pub network: String,
    /// Quantization method of the source.
    pub method: String,
    /// Its pipeline (QAT/PTQ, scale granularity).
    pub pipeline: String,
    /// Weight bits.
    pub w_bits: u8,
    /// Activation bits.
    pub a_bits: u8,
    /// Whether the first and last layers stay at 8/8.
    pub ends_at_8: bool,
    /// Published drop, points.
    pub published_drop: f64,
    /// Source key in `SOURCES.md`.
    pub source: String,
}

/// A published row with the proxy's drop.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Compared {
    /// The published result.
    #[serde(flatten)]
    pub published: Published,
    /// The proxy's drop for the same assignment, points.
    pub proxy_drop: f64,
}

/// Every committed row with the proxy's drop under `constants`.
pub fn compare(constants: &ProxyConstants) -> Result<Vec<Compared>, AccuracyError> {
    let err = |m: String| AccuracyError::Model(format!("data/published-accuracy/comparison.csv: {m}"));
    let mut reader = csv::Reader::from_reader(EMBEDDED_ROWS.as_bytes());
    let mut out = Vec::new();
    for row in reader.deserialize::<Published>() {
        let p = row.map_err(|e| err(e.to_string()))?;
        let net = network::builtin(&p.network).ok_or_else(|| err(format!("`{}` is not built in", p.network)))?;
        let bits = |b: u8| Bits::new(b).ok_or_else(|| err(format!("{b} bits")));
        let uniform = Precision {
            w_bits: bits(p.w_bits)?,
            a_bits: bits(p.a_bits)?,
        };
        let n = net.layers.len();
        let assignment: Vec<Precision> = (0..n)
            .map(|l| {
                if p.ends_at_8 && (l == 0 || l + 1 == n) {
                    Precision::BASELINE
                } else {
                    uniform
                }
            })
            .collect();
        let proxy_drop = ProxyOracle::new(&net, constants).accuracy_drop(&assignment)?;
        out.push(Compared {
            published: p,
            proxy_drop,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_committed_row_is_a_built_in_network_and_compares() {
        let rows = compare(&ProxyConstants::committed().unwrap()).unwrap();
        assert!(rows.len() >= 20);
        for name in ["resnet18", "resnet34", "resnet50", "vgg16", "mobilenetv2"] {
            assert!(rows.iter().any(|r| r.published.network == name), "{name}");
        }
        assert!(rows.iter().all(|r| r.proxy_drop.is_finite() && r.proxy_drop >= 0.0));
    }
}
