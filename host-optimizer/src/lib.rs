//! # host-optimizer
//!
//! The host side of lrmp (the `lrmp` command is a thin shell over this library): networks
//! in, replication and precision search, plans and reports out, and the link that ships
//! plans to the controller firmware.
//!
//! ## Invariants
//! - Every model number comes from `imc-model`; this crate never re-implements a formula.
//! - Files and command-line values become validated types once, at the edge; errors name
//!   the file, the layer and the field. Library errors are typed; `anyhow` lives only in
//!   the binary.

pub mod accuracy;
pub mod arch_file;
pub mod digits;
pub mod link;
pub mod mapping;
pub mod plan_file;
pub mod precision;
pub mod replicate;
pub mod report;
pub mod search;

/// The network importers live in their own light crate (so fuzz targets build without the
/// solver and neural-network stacks); re-exported here under their old path.
pub use lrmp_network as network;
