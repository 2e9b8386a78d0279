//! # host-optimizer
//!
//! The optimiser of lrmp (the `lrmp` command is a thin shell over this library): networks
//! in, replication and precision search, plans and reports out. Networks come from
//! `lrmp-network`, the trained networks from `lrmp-trained`, plan files and the link to the
//! controller from `lrmp-link` (re-exported here as [`network`], [`link`], [`plan_file`]).
//!
//! - [`arch_file`], [`precision`]: architecture and precision files, validated once; the
//!   presets `isaac` (the physical model of DESIGN section 9, the default) and `ideal`
//!   (section 3 alone).
//! - [`mapping`]: per-layer costs, the layers as the physical model sees them, the 8/8
//!   baseline and the area budget.
//! - [`replicate`]: exact replication for fixed precisions under either model (fast paths
//!   and the CBC ILP over the same candidates), and the energy objectives' sweep with its
//!   lower bound.
//! - [`accuracy`]: the accuracy oracles (measured, proxy, external).
//! - [`search`]: precisions and replication together (RL, random, the exact joint MILP).
//! - [`mod@bench`]: every method on every case, the table and the plots of `lrmp bench`.
//! - [`report`]: the reports of `lrmp plan` and `lrmp search` (JSON and text, with the
//!   physical model's fields of DESIGN 9.5), `lrmp run` and `lrmp eval`.
//!
//! ## Invariants
//! - Every model number comes from `imc-model`; this crate never re-implements a formula.
//! - Files and command-line values become validated types once, at the edge; errors name
//!   the file, the layer and the field. Library errors are typed; `anyhow` lives only in
//!   the binary.

pub mod accuracy;
pub mod arch_file;
pub mod bench;
pub mod mapping;
pub mod precision;
pub mod replicate;
pub mod report;
pub mod search;

/// The network importers live in their own light crate (so fuzz targets build without the
/// solver and neural-network stacks); re-exported here under their old path.
pub use lrmp_network as network;

/// The host side of the controller link and the plan files live in their own light crate
/// (the end-to-end tests use it without the solver and neural-network stacks).
pub use lrmp_link as link;
pub use lrmp_link::plan_file;
