//! # lrmp-link
//!
//! The host side of the controller link, and the plan files it ships: the contract crate
//! is `imc-model` (its `wire` module defines every byte), the device side is `firmware`,
//! and this crate is the host side, light enough for the end-to-end tests and any tool to
//! use without the optimiser's solver or neural-network stack (postcard-rpc's host /
//! device / contract split).
//!
//! - [`plan_file`]: the plan file format (`lrmp plan --out`, `lrmp run --plan`), validated
//!   through the cost model on read.
//! - [`Client`] (module `client`): frames out, replies in, retransmission, the capability
//!   check and the digest-confirmed upload.
//! - [`board`]: starting the QEMU board or opening a serial port.
//! - [`functional`]: the digits network shipped to the controller and checked bit for bit.
//!
//! ## Invariants
//! - A request that fails names the last frame error it saw; nothing here panics on what
//!   the line carries.
//! - A plan reaches the controller only after the host checked it fits the controller's
//!   capabilities, and an upload succeeds only when the controller's digest of its
//!   installed plan equals the host's.

pub mod board;
mod client;
pub mod functional;
pub mod plan_file;

pub use board::{connect_qemu, open_serial, QemuBoard, QemuError};
pub use client::*;
pub use functional::{check_network, fits_controller, functional_net, FunctionalCheck, FunctionalError, FunctionalNet};
