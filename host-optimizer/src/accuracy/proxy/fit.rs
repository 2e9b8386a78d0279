//! Fitting the proxy on measured networks, and scoring it in sample and across networks.
//!
//! 1. **Sweeps** ([`sweep`]): for every layer of a trained network, its `b_w` (then its `b_a`)
//!    at 2..=7 with every other layer at 8/8, measured on the validation images; the slope
//!    through the origin of `drop - drop(8/8)` on the noise term is that layer's observed
//!    coefficient.
//! 2. **Fit** ([`fit`]): ridge regression of `ln(max(slope, SLOPE_FLOOR))` on the layer
//!    features, pooled over the networks given (the intercept is not penalised).
//! 3. **Score** ([`score`]): Spearman correlation and mean absolute error of proxy against
//!    measured drops over random assignments (every layer's `b_w`, `b_a` uniform in
//!    `bits`).
//!
//! [`calibrate`] fits on all networks (the committed constants), scores each network in
//! sample, then refits on all networks but one and scores the one left out.

use imc_model::{Bits, Precision};

use super::{
    activation_noise, layer_features, weight_noise, FitScore, ProxyConstants, ProxyOracle, FEATURES, N_FEATURES,
};
use crate::accuracy::spearman::spearman;
use crate::accuracy::{AccuracyError, AccuracyOracle};
use crate::network::Network;
use lrmp_trained::rng::SplitMix64;

/// Observed slopes below this are treated as this (`ln 0` is not a target).
pub const SLOPE_FLOOR: f64 = 0.01;

/// One network's single-layer sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Network name.
    pub network: String,
    /// Features of each layer.
    pub features: Vec<[f64; N_FEATURES]>,
    /// Observed `(weight, activation)` slope of each layer, points per unit noise.
    pub slopes: Vec<(f64, f64)>,
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

/// Sweeps every layer of `network` through `oracle` (see the module docs).
pub fn sweep(oracle: &mut dyn AccuracyOracle, network: &Network) -> Result<Sweep, AccuracyError> {
    let n = network.layers.len();
    let base = vec![Precision::BASELINE; n];
    let d0 = oracle.accuracy_drop(&base)?;
    let mut slopes = Vec::with_capacity(n);
    for l in 0..n {
        let (mut w_points, mut a_points) = (Vec::new(), Vec::new());
        for b in 2..=7 {
            let mut p = base.clone();
            if let Some(layer) = p.get_mut(l) {
                layer.w_bits = bits(b);
            }
            w_points.push((weight_noise(bits(b)), oracle.accuracy_drop(&p)? - d0));
            let mut p = base.clone();
            if let Some(layer) = p.get_mut(l) {
                layer.a_bits = bits(b);
            }
            a_points.push((activation_noise(bits(b)), oracle.accuracy_drop(&p)? - d0));
        }
        slopes.push((slope(&w_points), slope(&a_points)));
    }
    Ok(Sweep {
        network: network.name.clone(),
        features: layer_features(network),
        slopes,
    })
}

/// Solves `a x = b` (square, Gauss-Jordan elimination with partial pivoting on the
/// augmented rows); `None` if singular.
fn solve(a: Vec<[f64; N_FEATURES]>, b: [f64; N_FEATURES]) -> Option<[f64; N_FEATURES]> {
    // Augmented rows: the coefficients, then the right-hand side.
    let mut rows: Vec<Vec<f64>> = a
        .iter()
        .zip(b)
        .map(|(r, rhs)| r.iter().copied().chain([rhs]).collect())
        .collect();
    let at = |row: &[f64], col: usize| row.get(col).copied().unwrap_or(0.0);
    for col in 0..N_FEATURES {
        let (pivot, _) = rows
            .iter()
            .enumerate()
            .skip(col)
            .max_by(|(_, x), (_, y)| at(x, col).abs().total_cmp(&at(y, col).abs()))?;
        rows.swap(col, pivot);
        let pivot_row = rows.get(col)?.clone();
        let p = at(&pivot_row, col);
        if p.abs() < 1e-12 {
            return None;
        }
        for (r, row) in rows.iter_mut().enumerate() {
            if r == col {
                continue;
            }
            let factor = at(row, col) / p;
            for (x, y) in row.iter_mut().zip(&pivot_row) {
                *x -= factor * y;
            }
        }
    }
    let mut x = [0.0; N_FEATURES];
    for (xi, (i, row)) in x.iter_mut().zip(rows.iter().enumerate()) {
        *xi = at(row, N_FEATURES) / at(row, i);
    }
    Some(x)
}

/// Ridge regression of `y` on rows `x` (penalty `ridge` on all but the intercept).
fn ridge_fit(x: &[[f64; N_FEATURES]], y: &[f64], ridge: f64) -> Option<[f64; N_FEATURES]> {
    let mut a = vec![[0.0; N_FEATURES]; N_FEATURES];
    let mut b = [0.0; N_FEATURES];
    for (row, &target) in x.iter().zip(y) {
        for ((ai, bi), &xi) in a.iter_mut().zip(b.iter_mut()).zip(row) {
            *bi += xi * target;
            for (aij, &xj) in ai.iter_mut().zip(row) {
                *aij += xi * xj;
            }
        }
    }
    // Penalise every coefficient but the intercept (index 0).
    for (i, r) in a.iter_mut().enumerate().skip(1) {
        if let Some(d) = r.get_mut(i) {
            *d += ridge;
        }
    }
    solve(a, b)
}

/// `(theta_w, theta_a)` fitted on the sweeps given.
pub fn fit(sweeps: &[&Sweep], ridge: f64) -> Result<([f64; N_FEATURES], [f64; N_FEATURES]), AccuracyError> {
    let x: Vec<[f64; N_FEATURES]> = sweeps.iter().flat_map(|s| s.features.iter().copied()).collect();
    let target = |pick: fn(&(f64, f64)) -> f64| -> Vec<f64> {
        sweeps
            .iter()
            .flat_map(|s| s.slopes.iter().map(move |p| pick(p).max(SLOPE_FLOOR).ln()))
            .collect()
    };
    let singular = || AccuracyError::Model("the proxy fit is singular (too few layers for the features)".into());
    let w = ridge_fit(&x, &target(|p| p.0), ridge).ok_or_else(singular)?;
    let a = ridge_fit(&x, &target(|p| p.1), ridge).ok_or_else(singular)?;
    Ok((w, a))
}

/// Random assignments of `n` layers, each width uniform in `lo..=hi`.
pub fn random_assignments(n: usize, count: usize, (lo, hi): (u8, u8), seed: u64) -> Vec<Vec<Precision>> {
    let mut rng = SplitMix64::new(seed);
    let span = u64::from(hi.saturating_sub(lo)) + 1;
    (0..count)
        .map(|_| {
            (0..n)
                .map(|_| Precision {
                    w_bits: bits(lo + rng.below(span) as u8),
                    a_bits: bits(lo + rng.below(span) as u8),
                })
                .collect()
        })
        .collect()
}

/// Scores `proxy` against `measured` on `assignments` (drops relative to 8/8 on both sides).
pub fn score(
    measured: &mut dyn AccuracyOracle,
    proxy: &mut ProxyOracle,
    network: &str,
    fitted_on: &[String],
    assignments: &[Vec<Precision>],
) -> Result<FitScore, AccuracyError> {
    let n = proxy.layers();
    let d0 = measured.accuracy_drop(&vec![Precision::BASELINE; n])?;
    let mut m = Vec::with_capacity(assignments.len());
    let mut p = Vec::with_capacity(assignments.len());
    for a in assignments {
        m.push(measured.accuracy_drop(a)? - d0);
        p.push(proxy.accuracy_drop(a)?);
    }
    let count = m.len().max(1) as f64;
    Ok(FitScore {
        network: network.to_string(),
        fitted_on: fitted_on.to_vec(),
        assignments: m.len(),
        spearman: spearman(&m, &p).unwrap_or(0.0),
        mae: m.iter().zip(&p).map(|(x, y)| (x - y).abs()).sum::<f64>() / count,
        mean_measured: m.iter().sum::<f64>() / count,
    })
}

/// Ridge penalty of the committed fit.
pub const RIDGE: f64 = 1.0;
/// Bits of the scored random assignments.
pub const SCORE_BITS: (u8, u8) = (3, 8);

/// Fits on every `(network, oracle)` given, scores each in sample, and scores each against a
/// fit on the others only.
pub fn calibrate(
    networks: &mut [(Network, Box<dyn AccuracyOracle>)],
    assignments: usize,
    seed: u64,
) -> Result<ProxyConstants, AccuracyError> {
    let mut sweeps = Vec::new();
    for (net, oracle) in networks.iter_mut() {
        sweeps.push(sweep(oracle.as_mut(), net)?);
    }
    let names: Vec<String> = sweeps.iter().map(|s| s.network.clone()).collect();
    let all: Vec<&Sweep> = sweeps.iter().collect();
    let (w, a) = fit(&all, RIDGE)?;
    let mut scores = Vec::new();
    for (i, (net, oracle)) in networks.iter_mut().enumerate() {
        let sample = random_assignments(net.layers.len(), assignments, SCORE_BITS, seed);
        let mut proxy = ProxyOracle::from_theta(net, &w, &a);
        scores.push(score(oracle.as_mut(), &mut proxy, &net.name, &names, &sample)?);
        let others: Vec<&Sweep> = sweeps
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, s)| s)
            .collect();
        if !others.is_empty() {
            let (ow, oa) = fit(&others, RIDGE)?;
            let mut proxy = ProxyOracle::from_theta(net, &ow, &oa);
            let fitted: Vec<String> = others.iter().map(|s| s.network.clone()).collect();
            scores.push(score(oracle.as_mut(), &mut proxy, &net.name, &fitted, &sample)?);
        }
    }
    Ok(ProxyConstants {
        format: "lrmp-proxy-calibration".into(),
        version: 2,
        features: FEATURES.iter().map(|s| (*s).to_string()).collect(),
        fitted_on: names,
        ridge: RIDGE,
        weight: w.to_vec(),
        activation: a.to_vec(),
        score_bits: SCORE_BITS,
        seed,
        scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network;

    /// An oracle that is exactly a proxy with known coefficients.
    struct Known(ProxyOracle);
    impl AccuracyOracle for Known {
        fn accuracy_drop(&mut self, p: &[Precision]) -> Result<f64, AccuracyError> {
            self.0.accuracy_drop(p)
        }
        fn kind(&self) -> &'static str {
            "known"
        }
    }

    #[test]
    fn a_proxy_shaped_truth_is_recovered_and_ranked_perfectly() {
        let net = network::builtin("resnet18").unwrap();
        let w = [1.0, 0.5, 0.3, 0.0, -0.2, 0.1, 0.05, 2.0];
        let a = [0.5, 0.2, 0.1, 0.0, 0.1, 0.05, 0.1, 1.0];
        let mut truth = Known(ProxyOracle::from_theta(&net, &w, &a));
        let s = sweep(&mut truth, &net).unwrap();
        let (fw, fa) = fit(&[&s], 1e-9).unwrap();
        let mut fitted = ProxyOracle::from_theta(&net, &fw, &fa);
        let sample = random_assignments(net.layers.len(), 30, (2, 8), 1);
        let sc = score(&mut truth, &mut fitted, "resnet18", &["resnet18".into()], &sample).unwrap();
        assert!(
            sc.spearman > 0.999 && sc.mae < 1e-6 * sc.mean_measured.max(1.0),
            "{sc:?}"
        );
    }
}
