//! The `proxy` oracle: an additive quantization-noise model of accuracy drop, for networks
//! without weights. It is a proxy, not a measurement: reports say so and name the
//! calibration ([`ProxyConstants::describe`]).
//!
//! Model. Uniform quantization to `b` bits adds noise of relative power about
//! `1 / levels^2` to what it quantizes. Per layer `l` with precision `(b_w, b_a)`:
//!
//! ```text
//! layer_drop(l, b_w, b_a) = cw_l * e_w(b_w) + ca_l * e_a(b_a)        [percentage points]
//! e_w(b) = 1/(2^(b-1) - 1)^2 - 1/127^2     (symmetric weights; e_w(1) = 4, no levels left)
//! e_a(b) = 1/(2^b - 1)^2     - 1/255^2     (unsigned activations)
//! cw_l = exp(theta_w . f_l),   ca_l = exp(theta_a . f_l)
//! drop = sum_l layer_drop(l, ...)
//! ```
//! Both terms are zero at 8 bits, so the proxy is the drop relative to the 8/8 network.
//! `f_l` are features every network has ([`FEATURES`]: position class, depthwise,
//! pointwise, fan-in, output channels, share of the network's MACs), and `theta` is fitted
//! ([`fit`]) on single-layer sweeps of the networks this project trains and measures. How
//! well that transfers is measured, not assumed: [`fit::calibrate`] scores the proxy on
//! random assignments of each trained network, in sample and fitted on the *other*
//! network only, and `docs/accuracy.md` adds a comparison with published ImageNet results.

pub mod fit;
pub mod published;

use imc_model::{Bits, LayerKind, Precision};
use serde::{Deserialize, Serialize};

use super::{check_len, AccuracyError, AccuracyOracle};
use crate::network::Network;

/// The committed calibration (`data/proxy-calibration.json`).
pub const EMBEDDED_CALIBRATION: &str = include_str!("../../../../data/proxy-calibration.json");

/// Names of the layer features, in the order of the coefficient vectors.
pub const FEATURES: [&str; 8] = [
    "intercept",
    "first",
    "last",
    "depthwise",
    "pointwise",
    "log2_fan_in",
    "log2_c_out",
    "mac_share",
];

/// Number of features.
pub const N_FEATURES: usize = FEATURES.len();

/// A layer coefficient is capped here (points per unit of relative noise): beyond it the
/// exponential would only extrapolate.
pub const MAX_COEFFICIENT: f64 = 1.0e4;

/// Features of every layer of `network` (see [`FEATURES`]).
pub fn layer_features(network: &Network) -> Vec<[f64; N_FEATURES]> {
    let n = network.layers.len();
    let macs: Vec<f64> = network
        .layers
        .iter()
        .map(|l| l.shape.weights() as f64 * l.shape.positions() as f64)
        .collect();
    let total: f64 = macs.iter().sum::<f64>().max(1.0);
    network
        .layers
        .iter()
        .zip(&macs)
        .enumerate()
        .map(|(i, (layer, &m))| {
            let d = layer.shape.dims();
            let flag = |b: bool| if b { 1.0 } else { 0.0 };
            let pointwise = d.kind == LayerKind::Conv && d.kernel_h == 1 && d.kernel_w == 1;
            [
                1.0,
                flag(i == 0),
                flag(i + 1 == n),
                flag(layer.shape.is_depthwise()),
                flag(pointwise),
                (layer.shape.rows_per_group().max(1) as f64).log2(),
                f64::from(d.c_out.max(1)).log2(),
                m / total,
            ]
        })
        .collect()
}

/// How well a calibration ranked and sized the drops of one network's random assignments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitScore {
    /// The network scored.
    pub network: String,
    /// The networks whose sweeps the scored coefficients were fitted on.
    pub fitted_on: Vec<String>,
    /// Random assignments scored.
    pub assignments: usize,
    /// Spearman correlation of proxy and measured drops.
    pub spearman: f64,
    /// Mean absolute error of the proxy drop, points.
    pub mae: f64,
    /// Mean measured drop of those assignments, points (the scale of the error).
    pub mean_measured: f64,
}

/// Fitted constants of the proxy and how well they did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConstants {
    /// `"lrmp-proxy-calibration"`.
    pub format: String,
    /// `2`.
    pub version: u32,
    /// Feature names, [`FEATURES`].
    pub features: Vec<String>,
    /// Networks whose single-layer sweeps the coefficients were fitted on.
    pub fitted_on: Vec<String>,
    /// Ridge penalty of the fit (all coefficients but the intercept).
    pub ridge: f64,
    /// `theta_w`, one per feature.
    pub weight: Vec<f64>,
    /// `theta_a`, one per feature.
    pub activation: Vec<f64>,
    /// Bits of the random assignments scored (each layer's `b_w` and `b_a` uniform in it).
    pub score_bits: (u8, u8),
    /// Seed of those assignments.
    pub seed: u64,
    /// Scores: in sample (fitted on every network) and across networks.
    pub scores: Vec<FitScore>,
}

impl ProxyConstants {
    /// The committed calibration, validated.
    pub fn committed() -> Result<ProxyConstants, AccuracyError> {
        ProxyConstants::parse("data/proxy-calibration.json (embedded)", EMBEDDED_CALIBRATION)
    }
    /// Parses and validates a calibration file.
    pub fn parse(source: &str, text: &str) -> Result<ProxyConstants, AccuracyError> {
        let err = |m: String| AccuracyError::Model(format!("{source}: {m}"));
        let c: ProxyConstants =
            serde_json::from_str(text).map_err(|e| err(format!("line {} column {}: {e}", e.line(), e.column())))?;
        if c.format != "lrmp-proxy-calibration" || c.version != 2 {
            return Err(err("not a version 2 proxy calibration file".into()));
        }
        if c.features.iter().map(String::as_str).ne(FEATURES) {
            return Err(err(format!("features must be {FEATURES:?}")));
        }
        if c.weight.len() != N_FEATURES || c.activation.len() != N_FEATURES {
            return Err(err(format!(
                "weight and activation need {N_FEATURES} coefficients each"
            )));
        }
        if c.weight.iter().chain(&c.activation).any(|v| !v.is_finite()) {
            return Err(err("coefficients must be finite".into()));
        }
        Ok(c)
    }
    /// The lowest Spearman figure on a network the scored coefficients were not fitted on
    /// (0 if none was scored).
    pub fn cross_network_spearman(&self) -> f64 {
        self.scores
            .iter()
            .filter(|s| !s.fitted_on.contains(&s.network))
            .map(|s| s.spearman)
            .reduce(f64::min)
            .unwrap_or(0.0)
    }

    /// One line for reports: what the proxy was fitted on.
    pub fn describe(&self) -> String {
        format!(
            "proxy fitted on single-layer sweeps of {} (measured, validation images)",
            self.fitted_on.join(" and ")
        )
    }
}

/// Relative noise power of `b`-bit symmetric weights, zero at 8 bits.
pub fn weight_noise(b: Bits) -> f64 {
    let levels = (1u32 << (b.get() - 1)) - 1;
    let e = if levels == 0 {
        4.0
    } else {
        1.0 / f64::from(levels).powi(2)
    };
    e - 1.0 / 127f64.powi(2)
}

/// Relative noise power of `b`-bit unsigned activations, zero at 8 bits.
pub fn activation_noise(b: Bits) -> f64 {
    1.0 / f64::from((1u32 << b.get()) - 1).powi(2) - 1.0 / 255f64.powi(2)
}

/// `exp(theta . f)`, capped at [`MAX_COEFFICIENT`].
fn coefficient(theta: &[f64], f: &[f64; N_FEATURES]) -> f64 {
    let z: f64 = theta.iter().zip(f).map(|(t, x)| t * x).sum();
    z.exp().min(MAX_COEFFICIENT)
}

/// The proxy for one network: a weight and an activation coefficient per layer.
#[derive(Clone, Debug)]
pub struct ProxyOracle {
    coefficients: Vec<(f64, f64)>,
}

impl ProxyOracle {
    /// Coefficients for `network`'s layers from their features.
    pub fn new(network: &Network, c: &ProxyConstants) -> ProxyOracle {
        ProxyOracle::from_theta(network, &c.weight, &c.activation)
    }

    /// Coefficients from explicit `theta_w`, `theta_a`.
    pub fn from_theta(network: &Network, weight: &[f64], activation: &[f64]) -> ProxyOracle {
        let coefficients = layer_features(network)
            .iter()
            .map(|f| (coefficient(weight, f), coefficient(activation, f)))
            .collect();
        ProxyOracle { coefficients }
    }

    /// The additive term of layer `layer` at precision `p`, in percentage points (0 for an
    /// index past the last layer).
    pub fn layer_drop(&self, layer: usize, p: Precision) -> f64 {
        self.coefficients.get(layer).map_or(0.0, |(cw, ca)| {
            cw * weight_noise(p.w_bits) + ca * activation_noise(p.a_bits)
        })
    }

    /// The `(weight, activation)` coefficient of every layer.
    pub fn coefficients(&self) -> &[(f64, f64)] {
        &self.coefficients
    }

    /// Layers the proxy covers.
    pub fn layers(&self) -> usize {
        self.coefficients.len()
    }
}

impl AccuracyOracle for ProxyOracle {
    fn accuracy_drop(&mut self, precisions: &[Precision]) -> Result<f64, AccuracyError> {
        check_len(self.coefficients.len(), precisions)?;
        Ok(precisions.iter().enumerate().map(|(l, &p)| self.layer_drop(l, p)).sum())
    }
    fn kind(&self) -> &'static str {
        "proxy"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network;

    fn p(w: u8, a: u8) -> Precision {
        Precision {
            w_bits: Bits::new(w).unwrap(),
            a_bits: Bits::new(a).unwrap(),
        }
    }

    #[test]
    fn committed_constants_are_valid_and_terms_add_up() {
        let c = ProxyConstants::committed().unwrap();
        // In sample and across networks, for each of the two trained networks.
        assert_eq!(c.scores.len(), 4, "{c:?}");
        assert!(c.scores.iter().all(|s| s.assignments >= 50), "{c:?}");
        assert!(c.cross_network_spearman() > 0.0, "{c:?}");
        let net = network::builtin("resnet18").unwrap();
        let mut proxy = ProxyOracle::new(&net, &c);
        let n = net.layers.len();
        let assignment: Vec<Precision> = (0..n).map(|l| p(2 + (l % 7) as u8, 8 - (l % 7) as u8)).collect();
        let sum: f64 = assignment
            .iter()
            .enumerate()
            .map(|(l, &q)| proxy.layer_drop(l, q))
            .sum();
        assert!((proxy.accuracy_drop(&assignment).unwrap() - sum).abs() < 1e-9);
        assert_eq!(proxy.accuracy_drop(&vec![Precision::BASELINE; n]).unwrap(), 0.0);
        assert!(proxy.accuracy_drop(&assignment[1..]).is_err());
    }

    #[test]
    fn fewer_bits_never_cost_less() {
        let c = ProxyConstants::committed().unwrap();
        for name in network::BUILTIN {
            let proxy = ProxyOracle::new(&network::builtin(name).unwrap(), &c);
            for l in 0..proxy.layers() {
                for b in 1..8 {
                    assert!(proxy.layer_drop(l, p(b, 8)) >= proxy.layer_drop(l, p(b + 1, 8)));
                    assert!(proxy.layer_drop(l, p(8, b)) >= proxy.layer_drop(l, p(8, b + 1)));
                }
            }
        }
    }

    #[test]
    fn features_name_the_layer_kinds() {
        let net = network::builtin("mobilenetv2").unwrap();
        let f = layer_features(&net);
        assert_eq!(f[0][1], 1.0);
        assert_eq!(f.last().unwrap()[2], 1.0);
        assert!(f.iter().any(|x| x[3] == 1.0) && f.iter().any(|x| x[4] == 1.0));
        let share: f64 = f.iter().map(|x| x[7]).sum();
        assert!((share - 1.0).abs() < 1e-9);
    }

    #[test]
    fn bad_calibration_files_are_errors() {
        assert!(ProxyConstants::parse("c.json", "{")
            .unwrap_err()
            .to_string()
            .contains("c.json: line 1"));
        let text = EMBEDDED_CALIBRATION.replacen("\"version\": 2", "\"version\": 1", 1);
        assert!(ProxyConstants::parse("c.json", &text).is_err());
    }
}
