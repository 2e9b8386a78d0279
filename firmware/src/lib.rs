//! # firmware
//!
//! The controller side of lrmp as a `no_std` library: it receives plans over a byte link,
//! runs them with `imc-model`'s runtime and reports measurements. Boards (`boards/*`) supply
//! the link (any `embedded-io` `Read + Write`) and a [`CycleCounter`].
//!
//! [`Session`] is the state machine: `Hello` -> capabilities; `PlanBegin`, `PlanChunk`s,
//! `PlanCommit` -> a validated plan replaces the installed one; `PlanDigest` -> the installed
//! plan's CRC-32, so the host can confirm an upload; `Run` -> results;
//! `NetBegin`, `NetLayer`s, `NetWeights`, `NetBiases`, `NetCommit` -> a quantized network
//! for functional runs; `Classify` -> the class and logits digest of one sample.
//!
//! ## Invariants
//! - Bytes from the link become a validated [`imc_model::runtime::Plan`] only through
//!   `PlanBuilder`; a bad frame, an out-of-order chunk or an invalid plan gets an error
//!   reply and leaves the installed plan untouched.
//! - A repeated sequence number (the host retransmitting after a lost reply) gets the cached
//!   reply; a late one (behind the latest, a duplicate overtaken by newer requests) gets a
//!   `Sequence` error; neither is applied twice. A `Hello` is always answered and starts
//!   the numbering again, so a new client begins with one.
//! - No allocation; fixed RAM: two plans (installed and upload), two frame buffers and the
//!   functional network store with its scratch buffers.
#![no_std]

mod session;

/// The wire format this firmware speaks (re-exported so boards need no `imc-model` line).
pub use imc_model::wire;
pub use session::{CycleCounter, NoCounter, Session};

/// Logs through defmt when the `defmt` feature is on; compiles to nothing otherwise.
#[macro_export]
#[doc(hidden)]
macro_rules! log {
    ($($arg:tt)*) => {
        #[cfg(feature = "defmt")]
        defmt::info!($($arg)*);
    };
}
