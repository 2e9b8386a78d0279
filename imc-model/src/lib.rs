//! # imc-model
//!
//! A `no_std`, allocation-free model of spatial in-memory-computing (IMC) DNN accelerators
//! built from NVM crossbars, shared bit for bit by the host optimiser and the controller
//! firmware.
//!
//! - [`arch`]: validated hardware parameters ([`ArchConfig`], the `isaac` preset).
//! - [`layer`]: validated shapes of mappable layers (conv, grouped/depthwise conv, FC).
//! - [`cost`]: the normative cost model — crossbars per replica, cycles per position,
//!   layer time with replication, latency, pipelined interval, area.
//!
//! ## Invariants
//! - No `unsafe`, no allocation, no floating point in any model result: times are integer
//!   [`Cycles`], area is integer [`Crossbars`].
//! - Inputs are validated once into types ([`ArchConfig`], [`LayerShape`], [`Bits`]); after
//!   that, functions cannot panic. Arithmetic that could exceed `u64` is checked and
//!   reported as an error value.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// With `std`, error types implement `std::error::Error`; nothing else uses std.
#[cfg(feature = "std")]
extern crate std;

pub mod arch;
pub mod cost;
pub mod layer;
pub mod runtime;
pub mod units;
pub mod wire;
pub mod xbar;

pub use arch::{ArchConfig, ArchError, ArchParams};
pub use cost::{CostError, LayerCost, Totals};
pub use layer::{LayerDims, LayerError, LayerKind, LayerShape};
pub use units::{Bits, Crossbars, Cycles, Precision};
