//! The `proxy` oracle: an additive quantization-noise model of accuracy drop, for networks
//! without weights. It is a proxy, not a measurement.
//!
//! Model. Uniform quantization to `b` bits adds noise of relative power about
//! `1 / levels^2` to what it quantizes. Per layer `l` with precision `(b_w, b_a)`:
//!
//! ```text
//! layer_drop(l, b_w, b_a) = cw_l * e_w(b_w) + ca_l * e_a(b_a)        [percentage points]
//! e_w(b) = 1/(2^(b-1) - 1)^2 - 1/127^2     (symmetric weights; e_w(1) = 4, no levels left)
//! e_a(b) = 1/(2^b - 1)^2     - 1/255^2     (unsigned activations)
//! drop = sum_l layer_drop(l, ...)
//! ```
//! Both terms are zero at 8 bits, so the proxy is the drop relative to the 8/8 network.
//! The coefficients depend on the layer's position class only — first, middle, last — as
//! fitted on the digits network ([`calibrate`]); a network with `M` middle layers shares
//! the middle coefficient of the reference network equally: `c_mid = k_mid * M_ref / M`
//! (so "every middle layer at b bits" costs the same on any network). That transfer is an
//! assumption, not a measurement.

use imc_model::{Bits, Precision};
use serde::{Deserialize, Serialize};

use super::measured::MeasuredOracle;
use super::spearman::spearman;
use super::{check_len, AccuracyError, AccuracyOracle};
use crate::network::Network;
use lrmp_trained::digits::rng::SplitMix64;

/// The committed calibration (`data/digits/proxy-calibration.json`).
pub const EMBEDDED_CALIBRATION: &str = include_str!("../../../data/digits/proxy-calibration.json");

/// Coefficients per position class, in percentage points per unit of relative noise.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassCoefficients {
    /// First mappable layer.
    pub first: f64,
    /// Each middle layer of the reference network.
    pub middle: f64,
    /// Last mappable layer.
    pub last: f64,
}

/// Fitted constants of the proxy and how well it ranked assignments when fitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConstants {
    /// `"lrmp-proxy-calibration"`.
    pub format: String,
    /// Weight-noise coefficients.
    pub weight: ClassCoefficients,
    /// Activation-noise coefficients.
    pub activation: ClassCoefficients,
    /// Middle layers of the network the constants were fitted on.
    pub reference_middle_layers: usize,
    /// Spearman correlation of proxy and measured drops over random assignments.
    pub spearman: f64,
    /// How many random assignments that correlation used.
    pub spearman_assignments: usize,
    /// Seed of those assignments.
    pub seed: u64,
}

impl ProxyConstants {
    /// The committed calibration, validated (finite, non-negative coefficients).
    pub fn committed() -> Result<ProxyConstants, AccuracyError> {
        ProxyConstants::parse("data/digits/proxy-calibration.json (embedded)", EMBEDDED_CALIBRATION)
    }
    /// Parses and validates a calibration file.
    pub fn parse(source: &str, text: &str) -> Result<ProxyConstants, AccuracyError> {
        let err = |m: String| AccuracyError::Model(format!("{source}: {m}"));
        let c: ProxyConstants =
            serde_json::from_str(text).map_err(|e| err(format!("line {} column {}: {e}", e.line(), e.column())))?;
        let all = [c.weight, c.activation]
            .into_iter()
            .flat_map(|k| [k.first, k.middle, k.last]);
        if c.format != "lrmp-proxy-calibration" || c.reference_middle_layers == 0 {
            return Err(err("not a proxy calibration file".into()));
        }
        if all.into_iter().any(|v| !(v.is_finite() && v >= 0.0)) {
            return Err(err("coefficients must be finite and non-negative".into()));
        }
        Ok(c)
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

/// The proxy for one network: a weight and an activation coefficient per layer.
#[derive(Clone, Debug)]
pub struct ProxyOracle {
    coefficients: Vec<(f64, f64)>,
}

impl ProxyOracle {
    /// Coefficients for `network`'s layers from their position class.
    pub fn new(network: &Network, c: &ProxyConstants) -> ProxyOracle {
        let n = network.layers.len();
        let middle = n.saturating_sub(2).max(1) as f64;
        let share = c.reference_middle_layers as f64 / middle;
        let coefficients = (0..n)
            .map(|l| match l {
                0 => (c.weight.first, c.activation.first),
                l if l + 1 == n => (c.weight.last, c.activation.last),
                _ => (c.weight.middle * share, c.activation.middle * share),
            })
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

fn bits(b: u8) -> Bits {
    Bits::new(b).unwrap_or(Bits::EIGHT)
}

/// Least-squares slope through the origin of `drop` on `noise`, clamped at 0.
fn slope(points: &[(f64, f64)]) -> f64 {
    let (num, den) = points
        .iter()
        .fold((0.0, 0.0), |(n, d), (e, drop)| (n + e * drop, d + e * e));
    if den > 0.0 {
        (num / den).max(0.0)
    } else {
        0.0
    }
}

/// The entry of `per_class` (first, middle, last layer) for layer `l` of `n`.
fn of_class<T>(per_class: &mut [T; 3], l: usize, n: usize) -> &mut T {
    let [first, middle, last] = per_class;
    if l == 0 {
        first
    } else if l + 1 == n {
        last
    } else {
        middle
    }
}

/// A proxy fitted against `measured`, and its rank agreement with it.
pub struct Calibration {
    /// The fitted constants (with the Spearman figure filled in).
    pub constants: ProxyConstants,
    /// `(measured, proxy)` drops of the random assignments.
    pub pairs: Vec<(f64, f64)>,
}

/// Fits the coefficients on single-layer sweeps (one layer's `b_w` or `b_a` at 2..=7, the
/// rest 8/8; slope through the origin of `drop - drop(8/8)` on the noise term, pooled per
/// class), then scores the proxy on `assignments` random assignments (every layer's `b_w`
/// and `b_a` uniform in 2..=8, ends included) by Spearman correlation.
pub fn calibrate(
    measured: &mut MeasuredOracle,
    network: &Network,
    assignments: usize,
    seed: u64,
) -> Result<Calibration, AccuracyError> {
    let n = network.layers.len();
    let base = vec![Precision::BASELINE; n];
    let d0 = measured.accuracy_drop(&base)?;
    // (noise, drop) points per layer class: first, middle, last.
    let mut w_points: [Vec<(f64, f64)>; 3] = Default::default();
    let mut a_points: [Vec<(f64, f64)>; 3] = Default::default();
    for l in 0..n {
        for b in 2..=7 {
            // `l < n == p.len()`: `get_mut` always finds the layer.
            let mut p = base.clone();
            if let Some(layer) = p.get_mut(l) {
                layer.w_bits = bits(b);
            }
            of_class(&mut w_points, l, n).push((weight_noise(bits(b)), measured.accuracy_drop(&p)? - d0));
            let mut p = base.clone();
            if let Some(layer) = p.get_mut(l) {
                layer.a_bits = bits(b);
            }
            of_class(&mut a_points, l, n).push((activation_noise(bits(b)), measured.accuracy_drop(&p)? - d0));
        }
    }
    let coeffs = |[first, middle, last]: &[Vec<(f64, f64)>; 3]| ClassCoefficients {
        first: slope(first),
        middle: slope(middle),
        last: slope(last),
    };
    let mut constants = ProxyConstants {
        format: "lrmp-proxy-calibration".into(),
        weight: coeffs(&w_points),
        activation: coeffs(&a_points),
        reference_middle_layers: n.saturating_sub(2).max(1),
        spearman: 0.0,
        spearman_assignments: assignments,
        seed,
    };
    let mut proxy = ProxyOracle::new(network, &constants);
    let mut rng = SplitMix64::new(seed);
    let mut pairs = Vec::with_capacity(assignments);
    for _ in 0..assignments {
        let p: Vec<Precision> = (0..n)
            .map(|_| Precision {
                w_bits: bits(2 + rng.below(7) as u8),
                a_bits: bits(2 + rng.below(7) as u8),
            })
            .collect();
        pairs.push((measured.accuracy_drop(&p)?, proxy.accuracy_drop(&p)?));
    }
    let (m, p): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    constants.spearman = spearman(&m, &p).unwrap_or(0.0);
    Ok(Calibration { constants, pairs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network;

    fn p(w: u8, a: u8) -> Precision {
        Precision {
            w_bits: bits(w),
            a_bits: bits(a),
        }
    }

    #[test]
    fn committed_constants_are_valid_and_terms_add_up() {
        let c = ProxyConstants::committed().unwrap();
        assert!(c.spearman_assignments >= 100 && c.spearman > 0.5, "{c:?}");
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
        let proxy = ProxyOracle::new(&network::builtin("digits").unwrap(), &c);
        for l in 0..proxy.layers() {
            for b in 1..8 {
                assert!(proxy.layer_drop(l, p(b, 8)) >= proxy.layer_drop(l, p(b + 1, 8)));
                assert!(proxy.layer_drop(l, p(8, b)) >= proxy.layer_drop(l, p(8, b + 1)));
            }
        }
    }

    #[test]
    fn middle_budget_is_shared() {
        let c = ProxyConstants::committed().unwrap();
        let digits = ProxyOracle::new(&network::builtin("digits").unwrap(), &c);
        let resnet = ProxyOracle::new(&network::builtin("resnet18").unwrap(), &c);
        let all = |o: &ProxyOracle| (1..o.layers() - 1).map(|l| o.layer_drop(l, p(4, 4))).sum::<f64>();
        assert!((all(&digits) - all(&resnet)).abs() < 1e-9);
    }

    #[test]
    fn bad_calibration_files_are_errors() {
        assert!(ProxyConstants::parse("c.json", "{")
            .unwrap_err()
            .to_string()
            .contains("c.json: line 1"));
        let text = EMBEDDED_CALIBRATION.replacen("\"first\": ", "\"first\": -", 1);
        assert!(ProxyConstants::parse("c.json", &text).is_err());
    }
}
