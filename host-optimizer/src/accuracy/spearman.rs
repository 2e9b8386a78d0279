//! Spearman rank correlation (Pearson correlation of average ranks; ties share the mean
//! rank), used to score how well the proxy orders precision assignments.

/// The 1-based rank of every value, in input order; equal values share their mean rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<(usize, f64)> = values.iter().copied().enumerate().collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    // (input position, rank) in sorted order; a tie is a run of equal neighbours.
    let mut ranked: Vec<(usize, f64)> = Vec::with_capacity(order.len());
    for tie in order.chunk_by(|a, b| a.1 == b.1) {
        let (first, last) = (ranked.len(), ranked.len() + tie.len() - 1);
        let mean = (first + last) as f64 / 2.0 + 1.0;
        ranked.extend(tie.iter().map(|&(k, _)| (k, mean)));
    }
    ranked.sort_unstable_by_key(|&(k, _)| k);
    ranked.into_iter().map(|(_, rank)| rank).collect()
}

/// Spearman's rho of two equally long series; `None` if shorter than 2 or constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        None
    } else {
        Some(cov / (va * vb).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 35.0]), Some(1.0));
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        // Ties: ranks (1.5, 1.5, 3) vs (1, 2, 3): rho = 0.866...
        let rho = spearman(&[5.0, 5.0, 9.0], &[1.0, 2.0, 3.0]).unwrap();
        assert!((rho - 0.8660254).abs() < 1e-6);
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
        assert_eq!(spearman(&[1.0], &[1.0]), None);
    }
}
