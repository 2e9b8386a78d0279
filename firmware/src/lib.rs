//! # firmware
//!
//! The controller side of lrmp as a `no_std` library: it receives plans over a byte link,
//! runs them with `imc-model`'s runtime and reports measurements. Boards (`boards/*`) supply
//! the UART and the cycle counter. (Filled in by the firmware issue.)
#![no_std]
#![forbid(unsafe_code)]
