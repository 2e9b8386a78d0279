//! # lrmp-trained
//!
//! The networks this project trains and measures itself, as instances of one facility
//! ([`graph`]): a network is a static [`graph::GraphSpec`] (the one definition of its layer
//! shapes: `lrmp-network`'s zoo builds the optimiser's view from it), with its data set
//! loader and fixed seeded splits, its committed float weights ([`graph::weights`]), the
//! float reference pass, post-training quantization and the bit-accurate pass through
//! `imc_model::xbar` ([`graph::quant`]), and (feature `train`) training with candle.
//!
//! - [`digits`]: the small CNN on the UCI 8x8 handwritten digits (embedded CSV).
//! - [`fashion`]: the residual CNN on Fashion-MNIST ([`fashion_mnist`] reads the Debian
//!   package's IDX files through [`idx`]).
//!
//! ## Invariants
//! - Data and weights files are parsed once into validated types; errors name the file and
//!   line (or layer), and nothing after parsing can panic on data.
//! - A weights file names its network, and loading it for another network is an error.
//! - Everything is deterministic: splits, initialisation and batch order come from fixed
//!   seeds ([`rng`]); evaluation splits images across threads but merges in index order.
//! - No solver and, without `train`, no neural-network stack: the controller link and the
//!   end-to-end tests use this crate without building either.

pub mod digits;
pub mod fashion;
pub mod fashion_mnist;
pub mod graph;
pub mod idx;
pub mod rng;

/// Every network this crate trains, by name.
pub const TRAINED: [&graph::GraphSpec; 2] = [&digits::SPEC, &fashion::SPEC];
