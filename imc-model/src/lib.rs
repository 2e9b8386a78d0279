//! # imc-model
//!
//! A `no_std`, allocation-free model of spatial in-memory-computing (IMC) DNN accelerators
//! built from NVM crossbars, shared bit for bit by the host optimiser and the controller
//! firmware.
//!
//! - [`units`]: typed quantities ([`Cycles`], [`Crossbars`], [`Replicas`], [`Bits`],
//!   [`Precision`]) with private fields and checked arithmetic.
//! - [`arch`]: validated hardware parameters ([`ArchConfig`], the `isaac` preset).
//! - [`layer`]: validated shapes of mappable layers (conv, grouped/depthwise conv, FC).
//! - [`cost`]: the normative cost model of DESIGN section 3 (`docs/design.md`) — crossbars
//!   per replica, cycles per position, layer time with replication, latency, pipelined
//!   interval, area.
//! - [`physical`]: the physical model of DESIGN section 9 — IMA and tile placement, area
//!   in mm², bandwidth, halo and buffer floors, energy per inference, in fixed point.
//! - [`xbar`]: the bit-accurate functional crossbar model (section 4), one layer (dense,
//!   grouped or depthwise conv, FC) and a whole quantized network from a fixed store; with
//!   feature `std`, also a fast host-only engine with the same results.
//! - [`runtime`]: the controller runtime (section 5), timing only: validated plans and the
//!   discrete-event dispatcher in `layer` and `row` mode.
//! - [`wire`]: the wire format between host and controller (section 6).
//!
//! ## Invariants
//! - No `unsafe`, no allocation (except the `std`-only packed engine of [`xbar`]), no
//!   floating point in any model result: times are integer [`Cycles`], area is integer
//!   [`Crossbars`], energy and mm² are fixed-point.
//! - Inputs are validated once into types ([`ArchConfig`], [`LayerShape`], [`Bits`]); after
//!   that, functions cannot panic. Arithmetic that could exceed `u64` is checked and
//!   reported as an error value.
#![no_std]

// With `std`, error types implement `std::error::Error` and `xbar` has its host-only
// packed engine; nothing else uses std.
#[cfg(feature = "std")]
extern crate std;

pub mod arch;
pub mod cost;
pub mod layer;
pub mod physical;
pub mod runtime;
pub mod units;
pub mod wire;
pub mod xbar;

pub use arch::{ArchConfig, ArchError, ArchParams};
pub use cost::{CostError, LayerCost, Totals};
pub use layer::{LayerDims, LayerError, LayerKind, LayerShape};
pub use units::{Bits, Crossbars, Cycles, Precision, Replicas};
