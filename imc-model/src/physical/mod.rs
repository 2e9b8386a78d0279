//! # The physical cost model (DESIGN section 9)
//!
//! Section 3 ([`crate::cost`]) counts crossbars and crossbar steps. This module adds what
//! established simulators charge on top, without changing any section 3 formula: IMA and tile
//! granularity with peripherals, area in mm², activation bandwidth with the halo of
//! replicated row strips, tile buffers, the chip input port, and energy per inference.
//!
//! ## Formulas (symbols of DESIGN section 3; `r` = replication, `X` = crossbars per replica)
//! - **Parameters** (9.1): [`PhysicalParams`], validated into [`PhysicalConfig`];
//!   [`PhysicalParams::ISAAC`] holds the `isaac` values.
//! - **Placement** (9.2, [`placement`]): `imas_l = ceil(r_l X_l / xbars_per_ima)` (one layer
//!   per IMA); `tiles_l = ceil(imas_l / imas_per_tile)`; chip
//!   `tiles = ceil(sum imas_l / imas_per_tile)` (tiles filled in layer order);
//!   `A_mm2 = sum imas_l * ima_area_mm2 + tiles * tile_overhead_mm2`. The budget of area
//!   factor `F` ([`AreaFactor`], an exact rational) is the largest IMA count whose area is at
//!   most `F` times the 8/8, `r = 1` area ([`placement::budget_imas`]).
//! - **Floors** (9.3, [`floors`]): strips `S = min(r, H_out)`, `q = ceil(H_out / S)`, a strip
//!   reads `(q-1) s_h + K_h` input rows; `Din = C_in W_in b_a S ((q-1) s_h + K_h)` (FC:
//!   `C_in b_a`); `Dout = C_out H_out W_out b_out`; `ingress = ceil(Din / (tiles_l link))`,
//!   `egress = ceil(Dout / (tiles_l link))`; `T_l = max(ceil(P/r) t, ingress, egress, noc_l)`;
//!   `io = ceil(C_in,0 H_in,0 W_in,0 b_a,0 / io_bits_per_cycle)`;
//!   `I = max(max T_l, io, noc_chip)`, `L = sum T_l`; buffer `S K_h W_in C_in b_a <=
//!   8 tile_buffer_bytes tiles_l` or the replication is not a candidate; `binding` is the
//!   argmax term, ties to the first of compute, ingress, egress, io, noc. A layer's binding
//!   is one of compute, ingress, egress, noc (io is not a term of `T_l`: the image streams in
//!   while the first layer runs); `io` is reported as the chip's `interval_binding` when the
//!   input port sets `I`.
//! - **Energy** (9.4, [`energy`]): `steps = ceil(b_a / dac_bits)`,
//!   `N = P steps B g C s_w` conversions priced at `adc_pj` and `shift_add_pj`; array
//!   `P steps X array_step_pj`; registers `P steps ceil(X / xbars_per_ima) ima_register_pj`;
//!   DAC `P steps g R ceil(C s_w / xbar_cols) dac_row_step_pj`; buffer
//!   `Din (buffer + bus)`; NoC `Dout (buffer + hops noc)`; static
//!   `tiles tile_static_mw I / clock`.
//!
//! `tile_static_mw` is ISAAC Table I's power of the always-on tile units (eDRAM, bus, router
//! share, sigmoid, max-pool, tile shift-add). Charged over the whole interval *and* next to
//! the per-bit eDRAM, bus and router access energies, it counts those units' activity twice,
//! so the static term **errs high (conservative)**.
//!
//! ## Invariants
//! - `no_std`, no allocation, no `unsafe`, no floating point in a model result (only the
//!   `std`-gated host helpers `energy::host` and the `to_f64` conversions use `f64`).
//! - Energies, areas and powers are [`Fix`] (`U44F20`) numbers inside the typed units
//!   [`Picojoules`], [`SquareMillimetres`], [`Milliwatts`]; counts are [`Imas`], [`Tiles`],
//!   [`crate::units::Cycles`], [`crate::units::Crossbars`]. Parameters are rounded once to
//!   the `2^-20` grid; every later product with an event count and every sum is exact, and
//!   static energy is rounded once to the nearest `2^-20` pJ.
//! - Every integer product that could overflow is checked and reported as
//!   [`PhysicalError::Overflow`]; no function panics.
//! - `T_l` is **not monotone** in `r` (see [`floors::candidate`]); area and `imas_l` are.
//!   [`frontier()`] gives the Pareto frontier of `(imas_l, T_l)` an exact solver needs.

use core::fmt;

use crate::cost::CostError;

pub mod energy;
pub mod floors;
pub mod frontier;
pub mod params;
pub mod placement;
pub mod quantity;

#[cfg(test)]
mod tests;

pub use energy::{chip_report, layer_energy, ChipReport, EnergyTotals, LayerEnergy};
pub use floors::{candidate, chip_timing, layer_timing, Binding, Candidate, ChipTiming, LayerTiming, PhysLayer};
pub use frontier::{frontier, records, Frontier};
pub use params::{ParamError, PhysicalConfig, PhysicalParams};
pub use placement::{budget_imas, Placement};
pub use quantity::{AreaFactor, Fix, Imas, Milliwatts, ParseQuantityError, Picojoules, SquareMillimetres, Tiles};

/// Why a physical cost could not be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhysicalError {
    /// A parameter outside its range.
    Param(ParamError),
    /// The section 3 cost model refused the layer.
    Cost(CostError),
    /// An intermediate result does not fit.
    Overflow,
    /// A replication factor outside `1..=positions`.
    Replication {
        /// Layer index.
        layer: usize,
        /// The factor given.
        replication: u64,
        /// The layer's positions per inference.
        positions: u64,
    },
    /// A zero vertical stride.
    Stride {
        /// Layer index.
        layer: usize,
    },
    /// The strips' line buffers do not fit the layer's tiles: not a candidate.
    Buffer {
        /// Layer index.
        layer: usize,
        /// `S_l * K_h * W_in * C_in * b_a`.
        needed_bits: u64,
        /// `8 * tile_buffer_bytes * tiles_l`.
        available_bits: u64,
    },
    /// One replication factor per layer is required.
    LengthMismatch,
    /// A mapping without layers.
    Empty,
}

impl From<CostError> for PhysicalError {
    fn from(e: CostError) -> Self {
        PhysicalError::Cost(e)
    }
}

impl From<ParamError> for PhysicalError {
    fn from(e: ParamError) -> Self {
        PhysicalError::Param(e)
    }
}

impl fmt::Display for PhysicalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhysicalError::Param(e) => e.fmt(f),
            PhysicalError::Cost(e) => e.fmt(f),
            PhysicalError::Overflow => write!(f, "physical cost does not fit in 64 bits"),
            PhysicalError::Replication {
                layer,
                replication,
                positions,
            } => write!(f, "layer {layer}: replication {replication} is outside 1..={positions}"),
            PhysicalError::Stride { layer } => write!(f, "layer {layer}: stride_h must be at least 1"),
            PhysicalError::Buffer {
                layer,
                needed_bits,
                available_bits,
            } => write!(
                f,
                "layer {layer}: line buffers need {needed_bits} bits but its tiles hold {available_bits}"
            ),
            PhysicalError::LengthMismatch => write!(f, "one replication factor per layer is required"),
            PhysicalError::Empty => write!(f, "a mapping needs at least one layer"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PhysicalError {}
