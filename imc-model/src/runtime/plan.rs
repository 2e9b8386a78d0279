//! The plan a controller runs: per layer the numbers the dispatcher needs, and where every
//! replica sits on the chip.
//!
//! [`PlanLayer`] and [`PlanHeader`] are the raw forms that travel on the wire; [`Plan`] is
//! the validated form, built once (whole, or layer by layer through [`PlanBuilder`] as
//! chunks arrive). Invariants of a [`Plan`]:
//! - `1..=MAX_LAYERS` layers; every layer has `1 <= replication <= positions`,
//!   `positions = out_h * out_w <= MAX_POSITIONS`, `replication <= MAX_REPLICAS`,
//!   `cycles_per_position >= 1`, `xbars_per_replica >= 1`, bit widths valid;
//! - every layer time (`ceil(P/r) * t`, its data-movement floor) and the chip floor are at most
//!   [`MAX_LAYER_CYCLES`], so a stream of up to `MAX_INFERENCES` inferences cannot
//!   overflow `u64`;
//! - placement: replicas are packed in layer order, layer `l` starting at crossbar
//!   `first_xbar_l = sum_{i<l} r_i X_i`; when the chip has a tile count, every replica fits.
//!
//! After validation nothing here can panic or index out of bounds.

use core::fmt;
use core::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use super::{MAX_LAYERS, MAX_LAYER_CYCLES, MAX_POSITIONS, MAX_REPLICAS};
use crate::arch::ArchConfig;
use crate::cost::{chip_noc_floor, CostError, LayerCost};
use crate::layer::{LayerKind, LayerShape};
use crate::units::{Bits, Crossbars, Cycles, Precision};

/// Chip-wide part of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanHeader {
    /// Number of layers that follow.
    pub layer_count: u16,
    /// Crossbars per tile (placement).
    pub xbars_per_tile: u32,
    /// Tiles on the chip; 0 = unbounded (sized to the plan).
    pub tiles: u32,
    /// Chip floor on the pipelined interval: the section 3 NoC floor and, under the
    /// physical model (DESIGN 9.3), the chip input port `io` (0 = none).
    pub chip_floor_cycles: u64,
}

/// One layer of a plan, as it travels on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLayer {
    /// True for a fully-connected layer (needs its whole input before it starts).
    pub fully_connected: bool,
    /// Input feature-map height (row mode).
    pub in_h: u32,
    /// Kernel height (row mode).
    pub kernel_h: u32,
    /// Output feature-map height.
    pub out_h: u32,
    /// Output feature-map width.
    pub out_w: u32,
    /// Cycles per position `t_l`.
    pub cycles_per_position: u32,
    /// Crossbars per replica `X_l`.
    pub xbars_per_replica: u32,
    /// Replication `r_l`.
    pub replication: u32,
    /// Weight bits `b_w`.
    pub w_bits: u8,
    /// Activation bits `b_a`.
    pub a_bits: u8,
    /// Data-movement floor of the layer time (0 = none): the section 3 NoC floor and,
    /// under the physical model (DESIGN 9.3), the ingress and egress floors.
    pub floor_cycles: u64,
    /// First crossbar of the layer's first replica.
    pub first_xbar: u64,
}

impl PlanLayer {
    /// Positions per inference `P_l = out_h * out_w`.
    pub const fn positions(&self) -> u64 {
        self.out_h as u64 * self.out_w as u64
    }
    /// Layer time `max(ceil(P/r) * t, floor_cycles)`; valid once the layer is validated.
    pub const fn time(&self) -> Cycles {
        let r = if self.replication == 0 {
            1
        } else {
            self.replication as u64
        };
        let compute = self
            .positions()
            .div_ceil(r)
            .saturating_mul(self.cycles_per_position as u64);
        Cycles::new(if compute > self.floor_cycles {
            compute
        } else {
            self.floor_cycles
        })
    }
    /// Crossbars of all replicas, `r_l * X_l`.
    pub const fn area(&self) -> Crossbars {
        Crossbars::new(self.replication as u64 * self.xbars_per_replica as u64)
    }
}

/// Why a plan was refused. Indices name the layer at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanError {
    /// Zero layers, or more than [`MAX_LAYERS`].
    LayerCount,
    /// More (or fewer) layers than the header announced.
    CountMismatch,
    /// `xbars_per_tile` is zero.
    TileSize,
    /// A zero or out-of-range dimension, or an FC layer that is not 1x1.
    Shape(u16),
    /// Replication outside `1..=min(positions, MAX_REPLICAS)`.
    Replication(u16),
    /// Zero cycles per position or zero crossbars per replica.
    Cost(u16),
    /// A bit width outside `1..=16`.
    Bits(u16),
    /// A layer time above [`MAX_LAYER_CYCLES`] (or the chip floor is).
    TooSlow(u16),
    /// `first_xbar` is not where the previous layers end.
    Placement(u16),
    /// The replicas need more tiles than the chip has.
    TilesExceeded(u16),
    /// The plan could not be derived from the cost model.
    Model(u16),
}

impl PlanError {
    /// The layer the refusal is about, if it is about one.
    pub const fn layer(self) -> Option<u16> {
        match self {
            PlanError::LayerCount | PlanError::CountMismatch | PlanError::TileSize => None,
            PlanError::Shape(i)
            | PlanError::Replication(i)
            | PlanError::Cost(i)
            | PlanError::Bits(i)
            | PlanError::TooSlow(i)
            | PlanError::Placement(i)
            | PlanError::TilesExceeded(i)
            | PlanError::Model(i) => Some(i),
        }
    }

    /// What is wrong, in words, without the layer (a caller may name the layer its way).
    pub const fn reason(self) -> PlanErrorReason {
        PlanErrorReason(self)
    }
}

/// The words of a [`PlanError`] without its layer index ([`PlanError::reason`]).
#[derive(Clone, Copy, Debug)]
pub struct PlanErrorReason(PlanError);

impl fmt::Display for PlanErrorReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            PlanError::LayerCount => write!(f, "it holds 1..={MAX_LAYERS} layers"),
            PlanError::CountMismatch => write!(f, "the layer count disagrees with the header"),
            PlanError::TileSize => write!(f, "`xbars_per_tile` is zero"),
            PlanError::Shape(_) => write!(f, "a dimension is zero or out of range"),
            PlanError::Replication(_) => {
                write!(f, "replication outside 1..=min(output positions, {MAX_REPLICAS})")
            }
            PlanError::Cost(_) => write!(f, "zero cycles per position or zero crossbars per replica"),
            PlanError::Bits(_) => write!(f, "a bit width outside 1..=16"),
            PlanError::TooSlow(_) => write!(f, "the layer takes more than {MAX_LAYER_CYCLES} cycles"),
            PlanError::Placement(_) => write!(f, "its crossbars do not follow the previous layer's"),
            PlanError::TilesExceeded(_) => write!(f, "the replicas need more tiles than the chip has"),
            PlanError::Model(_) => write!(f, "the cost model cannot derive it"),
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.layer() {
            Some(i) => write!(f, "layer {i}: {}", self.reason()),
            None => write!(f, "{}", self.reason()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PlanError {}

/// A validated plan. See the module invariants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    header: PlanHeader,
    xbars_per_tile: NonZeroU64,
    layers: heapless::Vec<PlanLayer, MAX_LAYERS>,
}

/// Tiles of consecutive replicas of one layer: a tile index and an offset within the tile
/// for the first and the last crossbar, advanced by `X` crossbars per replica.
pub(crate) struct TileCursor {
    first: u64,
    first_offset: u64,
    last: u64,
    last_offset: u64,
    step_tiles: u64,
    step_offset: u64,
    per_tile: u64,
}

impl TileCursor {
    /// The current replica's tiles.
    pub(crate) fn tiles(&self) -> TileRange {
        TileRange {
            first: self.first,
            last: self.last,
        }
    }
    /// Moves to the next replica.
    pub(crate) fn advance(&mut self) {
        let step = |tile: &mut u64, offset: &mut u64| {
            *tile += self.step_tiles;
            *offset += self.step_offset;
            if *offset >= self.per_tile {
                *offset -= self.per_tile;
                *tile += 1;
            }
        };
        step(&mut self.first, &mut self.first_offset);
        step(&mut self.last, &mut self.last_offset);
    }
}

/// The tiles one replica occupies, `first..=last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileRange {
    /// First tile.
    pub first: u64,
    /// Last tile (inclusive).
    pub last: u64,
}

impl Plan {
    /// Validates a whole plan.
    pub fn new(header: PlanHeader, layers: &[PlanLayer]) -> Result<Plan, PlanError> {
        let mut builder = PlanBuilder::new(header)?;
        for layer in layers {
            builder.push(*layer)?;
        }
        builder.finish()
    }

    /// Builds and validates a plan from the cost model of DESIGN section 3: per layer a
    /// shape, a precision and a replication, replicas packed in layer order.
    pub fn from_model<'a>(
        arch: &ArchConfig,
        layers: impl Iterator<Item = (&'a LayerShape, Precision, u64)> + Clone,
    ) -> Result<Plan, PlanError> {
        Plan::from_model_with_floors(arch, layers.map(|(s, p, r)| (s, p, r, Cycles::ZERO)), Cycles::ZERO)
    }

    /// [`Plan::from_model`] with floors a richer model adds (the physical model's ingress and
    /// egress per layer, its chip input port for the interval): each layer's floor is the
    /// larger of its NoC floor and the one given, the chip's the larger of the chip NoC floor
    /// and `chip_floor`. The controller then reproduces that model's `L` and `I` exactly.
    pub fn from_model_with_floors<'a>(
        arch: &ArchConfig,
        layers: impl Iterator<Item = (&'a LayerShape, Precision, u64, Cycles)> + Clone,
        chip_floor: Cycles,
    ) -> Result<Plan, PlanError> {
        let mut costs: heapless::Vec<LayerCost, MAX_LAYERS> = heapless::Vec::new();
        for (index, (shape, precision, _, _)) in layers.clone().enumerate() {
            let cost = LayerCost::new(arch, shape, precision).map_err(|_| PlanError::Model(index_u16(index)))?;
            costs.push(cost).map_err(|_| PlanError::LayerCount)?;
        }
        let noc = chip_noc_floor(arch, &costs).map_err(|_| PlanError::Model(0))?;
        let header = PlanHeader {
            layer_count: u16::try_from(costs.len()).map_err(|_| PlanError::LayerCount)?,
            xbars_per_tile: u32::try_from(arch.xbars_per_tile()).map_err(|_| PlanError::TileSize)?,
            tiles: u32::try_from(arch.tiles()).map_err(|_| PlanError::TileSize)?,
            chip_floor_cycles: noc.max(chip_floor).get(),
        };
        let mut builder = PlanBuilder::new(header)?;
        for (index, ((shape, precision, replication, floor), cost)) in layers.zip(costs.iter()).enumerate() {
            let mut layer = model_layer(shape, precision, cost, replication, builder.next_xbar)
                .map_err(|_| PlanError::Model(index_u16(index)))?;
            layer.floor_cycles = layer.floor_cycles.max(floor.get());
            builder.push(layer)?;
        }
        builder.finish()
    }

    /// The chip-wide header.
    pub fn header(&self) -> &PlanHeader {
        &self.header
    }
    /// The layers in execution order.
    pub fn layers(&self) -> &[PlanLayer] {
        &self.layers
    }
    /// Tiles holding replica `replica` of layer `layer`, `None` for an index outside the plan.
    pub fn replica_tiles(&self, layer: usize, replica: u32) -> Option<TileRange> {
        let l = self.layers.get(layer)?;
        (replica < l.replication).then(|| self.tiles_of(l, replica))
    }
    /// Tiles of a replica known to exist (`replica < l.replication`): pure arithmetic.
    fn tiles_of(&self, l: &PlanLayer, replica: u32) -> TileRange {
        let xbars = u64::from(l.xbars_per_replica);
        // first_xbar + r * X <= total area, checked to fit in u64 at validation.
        let start = l.first_xbar + u64::from(replica) * xbars;
        let tile = self.xbars_per_tile;
        TileRange {
            first: start / tile,
            last: (start + xbars - 1) / tile,
        }
    }
    /// Walks the tiles of a layer's replicas in order without a division per replica
    /// (64-bit division is a library call on a Cortex-M).
    pub(crate) fn tile_cursor(&self, l: &PlanLayer) -> TileCursor {
        let per_tile = self.xbars_per_tile.get();
        let xbars = u64::from(l.xbars_per_replica);
        let split = |xbar: u64| (xbar / per_tile, xbar % per_tile);
        let (first, first_offset) = split(l.first_xbar);
        let (last, last_offset) = split(l.first_xbar + xbars - 1);
        let (step_tiles, step_offset) = split(xbars);
        TileCursor {
            first,
            first_offset,
            last,
            last_offset,
            step_tiles,
            step_offset,
            per_tile,
        }
    }
    /// The pipeline's bottleneck period: the longest layer time, at least the chip floor.
    pub fn bottleneck(&self) -> Cycles {
        self.layers
            .iter()
            .map(PlanLayer::time)
            .fold(Cycles::new(self.header.chip_floor_cycles), Cycles::max)
    }
    /// Total crossbars of the plan, `sum r_l X_l`.
    pub fn area(&self) -> Crossbars {
        Crossbars::new(self.layers.last().map_or(0, |l| l.first_xbar + l.area().get()))
    }
}

/// Converts one layer's model costs into its plan entry.
pub fn model_layer(
    shape: &LayerShape,
    precision: Precision,
    cost: &LayerCost,
    replication: u64,
    first_xbar: u64,
) -> Result<PlanLayer, CostError> {
    let d = shape.dims();
    let narrow = |v: u64| u32::try_from(v).map_err(|_| CostError::Overflow);
    Ok(PlanLayer {
        fully_connected: d.kind == LayerKind::Fc,
        in_h: d.in_h,
        kernel_h: d.kernel_h,
        out_h: d.out_h,
        out_w: d.out_w,
        cycles_per_position: narrow(cost.cycles_per_position.get())?,
        xbars_per_replica: narrow(cost.xbars.get())?,
        replication: narrow(replication)?,
        w_bits: precision.w_bits.get(),
        a_bits: precision.a_bits.get(),
        floor_cycles: cost.noc_floor.get(),
        first_xbar,
    })
}

fn index_u16(index: usize) -> u16 {
    u16::try_from(index).unwrap_or(u16::MAX)
}

/// Builds a [`Plan`] one layer at a time (as chunks arrive), validating each layer on entry.
#[derive(Clone, Debug)]
pub struct PlanBuilder {
    header: PlanHeader,
    xbars_per_tile: NonZeroU64,
    layers: heapless::Vec<PlanLayer, MAX_LAYERS>,
    next_xbar: u64,
}

impl PlanBuilder {
    /// Starts a plan; refuses a header the controller cannot hold.
    pub fn new(header: PlanHeader) -> Result<PlanBuilder, PlanError> {
        let count = usize::from(header.layer_count);
        if count == 0 || count > MAX_LAYERS {
            return Err(PlanError::LayerCount);
        }
        let xbars_per_tile = NonZeroU64::new(header.xbars_per_tile.into()).ok_or(PlanError::TileSize)?;
        if header.chip_floor_cycles > MAX_LAYER_CYCLES {
            return Err(PlanError::TooSlow(0));
        }
        Ok(PlanBuilder {
            header,
            xbars_per_tile,
            layers: heapless::Vec::new(),
            next_xbar: 0,
        })
    }

    /// Layers accepted so far.
    pub fn len(&self) -> usize {
        self.layers.len()
    }
    /// True before the first layer.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Validates and appends the next layer.
    pub fn push(&mut self, l: PlanLayer) -> Result<(), PlanError> {
        let index = index_u16(self.layers.len());
        if self.layers.len() >= usize::from(self.header.layer_count) {
            return Err(PlanError::CountMismatch);
        }
        let dims = [l.in_h, l.kernel_h, l.out_h, l.out_w];
        if dims.contains(&0) || (l.fully_connected && (l.out_h, l.out_w) != (1, 1)) {
            return Err(PlanError::Shape(index));
        }
        let positions = l.positions();
        if positions > MAX_POSITIONS {
            return Err(PlanError::Shape(index));
        }
        let r = u64::from(l.replication);
        if r == 0 || r > positions || r > MAX_REPLICAS {
            return Err(PlanError::Replication(index));
        }
        if l.cycles_per_position == 0 || l.xbars_per_replica == 0 {
            return Err(PlanError::Cost(index));
        }
        if Bits::new(l.w_bits).is_none() || Bits::new(l.a_bits).is_none() {
            return Err(PlanError::Bits(index));
        }
        // positions <= 2^32 and t < 2^32, so the product fits in u64 before the bound check.
        if positions.div_ceil(r) * u64::from(l.cycles_per_position) > MAX_LAYER_CYCLES
            || l.floor_cycles > MAX_LAYER_CYCLES
        {
            return Err(PlanError::TooSlow(index));
        }
        if l.first_xbar != self.next_xbar {
            return Err(PlanError::Placement(index));
        }
        let end = self
            .next_xbar
            .checked_add(l.area().get())
            .ok_or(PlanError::Placement(index))?;
        let tiles = u64::from(self.header.tiles);
        if tiles > 0 && end.div_ceil(self.xbars_per_tile.get()) > tiles {
            return Err(PlanError::TilesExceeded(index));
        }
        self.layers.push(l).map_err(|_| PlanError::LayerCount)?;
        self.next_xbar = end;
        Ok(())
    }

    /// The validated plan, once every announced layer has arrived.
    pub fn finish(self) -> Result<Plan, PlanError> {
        if self.layers.len() != usize::from(self.header.layer_count) {
            return Err(PlanError::CountMismatch);
        }
        Ok(Plan {
            header: self.header,
            xbars_per_tile: self.xbars_per_tile,
            layers: self.layers,
        })
    }
}
