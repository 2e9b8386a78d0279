//! Small multi-layer perceptrons on candle (CPU) for the DDPG actor and critic.
//!
//! Weights are initialised from the caller's seeded RNG (PyTorch's default `U(-1/sqrt(fan_in),
//! 1/sqrt(fan_in))`), never from candle's own generator, so the same seed gives the same
//! network. Hidden layers use ReLU; the output is linear or sigmoid.

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, RngExt};

use super::problem::SearchError;

/// A candle failure as a search error.
pub fn tensor_error(e: candle_core::Error) -> SearchError {
    SearchError::Solver(format!("tensor: {e}"))
}

/// Output non-linearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// No activation (critic values).
    Linear,
    /// Sigmoid into `(0, 1)` (actor actions).
    Sigmoid,
}

/// A fully-connected network `sizes[0] -> ... -> sizes[last]`.
pub struct Mlp {
    layers: Vec<(Var, Var)>,
    head: Head,
}

impl Mlp {
    /// A network with layer sizes `sizes` (at least input and output), seeded from `rng`.
    pub fn new(sizes: &[usize], head: Head, rng: &mut impl Rng, device: &Device) -> Result<Mlp, SearchError> {
        let mut layers = Vec::new();
        for (&fan_in, &fan_out) in sizes.iter().zip(sizes.iter().skip(1)) {
            let bound = 1.0 / (fan_in as f32).sqrt();
            let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-bound..bound)).collect() };
            let w = Tensor::from_vec(draw(fan_in * fan_out), (fan_out, fan_in), device).map_err(tensor_error)?;
            let b = Tensor::from_vec(draw(fan_out), fan_out, device).map_err(tensor_error)?;
            layers.push((
                Var::from_tensor(&w).map_err(tensor_error)?,
                Var::from_tensor(&b).map_err(tensor_error)?,
            ));
        }
        Ok(Mlp { layers, head })
    }

    /// Forward pass of a batch `(n, inputs)`.
    pub fn forward(&self, input: &Tensor) -> Result<Tensor, SearchError> {
        let mut x = input.clone();
        let last = self.layers.len().saturating_sub(1);
        for (i, (w, b)) in self.layers.iter().enumerate() {
            x = x
                .matmul(&w.as_tensor().t().map_err(tensor_error)?)
                .map_err(tensor_error)?;
            x = x.broadcast_add(b.as_tensor()).map_err(tensor_error)?;
            if i < last {
                x = x.relu().map_err(tensor_error)?;
            }
        }
        match self.head {
            Head::Linear => Ok(x),
            Head::Sigmoid => candle_nn::ops::sigmoid(&x).map_err(tensor_error),
        }
    }

    /// The trainable variables (for an optimiser).
    pub fn vars(&self) -> Vec<Var> {
        self.layers.iter().flat_map(|(w, b)| [w.clone(), b.clone()]).collect()
    }

    /// An independent copy with the same weights (a target network).
    pub fn duplicate(&self) -> Result<Mlp, SearchError> {
        let copy = |v: &Var| Var::from_tensor(&v.as_tensor().copy().map_err(tensor_error)?).map_err(tensor_error);
        let layers = self
            .layers
            .iter()
            .map(|(w, b)| Ok((copy(w)?, copy(b)?)))
            .collect::<Result<_, SearchError>>()?;
        Ok(Mlp {
            layers,
            head: self.head,
        })
    }

    /// Soft update toward `source`: `self = tau * source + (1 - tau) * self`.
    pub fn soft_update(&self, source: &Mlp, tau: f64) -> Result<(), SearchError> {
        for ((tw, tb), (sw, sb)) in self.layers.iter().zip(&source.layers) {
            for (t, s) in [(tw, sw), (tb, sb)] {
                let mixed = ((s.as_tensor() * tau).map_err(tensor_error)?
                    + (t.as_tensor() * (1.0 - tau)).map_err(tensor_error)?)
                .map_err(tensor_error)?;
                t.set(&mixed.detach()).map_err(tensor_error)?;
            }
        }
        Ok(())
    }
}

/// A `(rows, cols)` f32 tensor from row-major data.
pub fn matrix(data: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Result<Tensor, SearchError> {
    Tensor::from_vec(data, (rows, cols), device).map_err(tensor_error)
}

/// The f32 values of a tensor, flattened.
pub fn values(t: &Tensor) -> Result<Vec<f32>, SearchError> {
    t.to_dtype(DType::F32)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(tensor_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::{AdamW, Optimizer, ParamsAdamW};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn same_seed_same_network_and_training_fits_a_line() {
        let dev = Device::Cpu;
        let a = Mlp::new(&[1, 16, 1], Head::Linear, &mut ChaCha8Rng::seed_from_u64(3), &dev).unwrap();
        let b = Mlp::new(&[1, 16, 1], Head::Linear, &mut ChaCha8Rng::seed_from_u64(3), &dev).unwrap();
        let xs = matrix((0..32).map(|i| i as f32 / 32.0).collect(), 32, 1, &dev).unwrap();
        assert_eq!(
            values(&a.forward(&xs).unwrap()).unwrap(),
            values(&b.forward(&xs).unwrap()).unwrap()
        );
        let ys = ((&xs * 2.0).unwrap() - 0.5).unwrap();
        let mut opt = AdamW::new(
            a.vars(),
            ParamsAdamW {
                lr: 1e-2,
                ..Default::default()
            },
        )
        .unwrap();
        let loss = |m: &Mlp| {
            (m.forward(&xs).unwrap() - &ys)
                .unwrap()
                .sqr()
                .unwrap()
                .mean_all()
                .unwrap()
        };
        let before = values(&loss(&a)).unwrap()[0];
        for _ in 0..300 {
            opt.backward_step(&loss(&a)).unwrap();
        }
        let after = values(&loss(&a)).unwrap()[0];
        assert!(after < before * 0.05, "loss {before} -> {after}");
        // Soft update with tau = 1 copies the weights.
        b.soft_update(&a, 1.0).unwrap();
        assert_eq!(
            values(&a.forward(&xs).unwrap()).unwrap(),
            values(&b.forward(&xs).unwrap()).unwrap()
        );
    }
}
