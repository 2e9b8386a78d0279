//! # lrmp-trained
//!
//! The networks this project trains and measures itself: for each, its architecture (the
//! one definition of its layer shapes: `lrmp-network`'s zoo builds the optimiser's view
//! from it), its data set loader with a fixed seeded split, its committed float weights,
//! the float reference forward pass, post-training quantization and the bit-accurate
//! forward pass through `imc_model::xbar`, and (feature `train`) retraining with candle.
//!
//! - [`digits`]: the small CNN on the UCI 8x8 handwritten digits.
//! - [`fashion_mnist`]: the Fashion-MNIST data set (read from the Debian package's IDX
//!   files through [`idx`]); its network is yet to come.
//!
//! ## Invariants
//! - Data and weights files are parsed once into validated types; errors name the file and
//!   line, and nothing after parsing can panic on data.
//! - Everything is deterministic: splits, initialisation and batch order come from fixed
//!   seeds.
//! - No solver and, without `train`, no neural-network stack: the controller link and the
//!   end-to-end tests use this crate without building either.

pub mod digits;
pub mod fashion_mnist;
pub mod idx;
