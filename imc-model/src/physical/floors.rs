//! Bandwidth, halo, buffer and I/O floors on layer time and interval (DESIGN section 9.3).

use core::fmt;

use super::params::PhysicalConfig;
use super::placement::{layer_imas, placement, tiles_for, Placement};
use super::quantity::{Imas, Tiles};
use super::PhysicalError;
use crate::arch::ArchConfig;
use crate::cost::{cycles_per_position, xbars_per_replica, Totals};
use crate::layer::{LayerKind, LayerShape};
use crate::units::{Bits, Crossbars, Cycles, Precision};

/// One mappable layer as the physical model sees it: its shape, precision, the activation
/// bits of the next mappable layer and the vertical stride (a [`LayerShape`] has no stride).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PhysLayer {
    /// The layer's shape.
    pub shape: LayerShape,
    /// Weight and activation (input) bits `b_w`, `b_a`.
    pub precision: Precision,
    /// `b_out,l`: activation bits of the next mappable layer (8 after the last).
    pub out_bits: Bits,
    /// Vertical stride `s_h`, at least 1 (1 for a fully-connected layer).
    pub stride_h: u32,
}

impl PhysLayer {
    /// A layer at `precision` whose outputs are read at `out_bits`.
    pub const fn new(shape: LayerShape, precision: Precision, out_bits: Bits, stride_h: u32) -> PhysLayer {
        PhysLayer {
            shape,
            precision,
            out_bits,
            stride_h,
        }
    }
}

/// The layers of a chain as the physical model sees them: each `(shape, stride_h)` at its
/// precision, its outputs read at the next layer's activation bits ([`out_bits`]). One
/// precision per layer; extra items on either side are ignored.
pub fn chain<'a, I>(layers: I, precisions: &'a [Precision]) -> impl Iterator<Item = PhysLayer> + 'a
where
    I: IntoIterator<Item = (LayerShape, u32)>,
    I::IntoIter: 'a,
{
    layers
        .into_iter()
        .zip(precisions)
        .enumerate()
        .map(move |(i, ((shape, stride_h), &p))| PhysLayer::new(shape, p, out_bits(precisions, i), stride_h))
}

/// `b_out,l` for layer `index` of a chain whose activation precisions are `precisions`: the
/// activation bits of the next mappable layer, [`Bits::EIGHT`] after the last (DESIGN 9.3).
pub fn out_bits(precisions: &[Precision], index: usize) -> Bits {
    index
        .checked_add(1)
        .and_then(|next| precisions.get(next))
        .map_or(Bits::EIGHT, |p| p.a_bits)
}

/// The term that sets a layer's time or the chip's interval (DESIGN 9.3).
///
/// The declaration order is the tie order (compute first); `Ord` follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Binding {
    /// `ceil(P/r) * t`: the crossbars.
    Compute,
    /// The layer's tiles cannot take in its input (with halo) faster.
    Ingress,
    /// The layer's tiles cannot send its output faster.
    Egress,
    /// The chip input port (interval only).
    Io,
    /// The section 3 NoC floor (`noc_bits_per_cycle > 0`), per layer or for the chip.
    Noc,
}

impl Binding {
    /// The report name: `compute`, `ingress`, `egress`, `io` or `noc`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Binding::Compute => "compute",
            Binding::Ingress => "ingress",
            Binding::Egress => "egress",
            Binding::Io => "io",
            Binding::Noc => "noc",
        }
    }

    /// The binding term of `terms` (in any order): the largest cycles, ties going to the
    /// first in the order compute, ingress, egress, io, noc. `None` for no terms.
    pub fn argmax(terms: &[(Binding, Cycles)]) -> Option<(Binding, Cycles)> {
        terms.iter().copied().fold(None, |best, (b, c)| match best {
            Some((bb, bc)) if bc > c || (bc == c && bb < b) => Some((bb, bc)),
            _ => Some((b, c)),
        })
    }
}

impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Strips `S_l = min(r_l, H_out)` the replicas split the output rows into.
pub fn strips(shape: &LayerShape, replication: u64) -> u64 {
    replication.min(u64::from(shape.dims().out_h))
}

/// Input rows one strip needs: `(q - 1) * s_h + K_h` with `q = ceil(H_out / S)` (padded rows
/// counted). `strips` must be at least 1.
pub fn strip_input_rows(shape: &LayerShape, stride_h: u32, strips: u64) -> Result<u64, PhysicalError> {
    let d = shape.dims();
    let q = u64::from(d.out_h).div_ceil(strips.max(1));
    // q <= 2^16, s_h < 2^32, K_h <= 2^8: no overflow, but keep it checked.
    (q - 1)
        .checked_mul(u64::from(stride_h))
        .and_then(|v| v.checked_add(u64::from(d.kernel_h)))
        .ok_or(PhysicalError::Overflow)
}

fn product(factors: &[u64]) -> Result<u64, PhysicalError> {
    factors
        .iter()
        .try_fold(1u64, |acc, &f| acc.checked_mul(f))
        .ok_or(PhysicalError::Overflow)
}

/// Bits of one input row of the whole input map: `C_in * W_in * b_a`.
fn row_bits(shape: &LayerShape, a_bits: Bits) -> Result<u64, PhysicalError> {
    let d = shape.dims();
    product(&[d.c_in.into(), d.in_w.into(), a_bits.get().into()])
}

/// Bits of a layer's whole input map, `D_l = C_in * H_in * W_in * b_a` (section 3).
pub fn input_map_bits(layer: &PhysLayer) -> Result<u64, PhysicalError> {
    let d = layer.shape.dims();
    product(&[
        d.c_in.into(),
        d.in_h.into(),
        d.in_w.into(),
        layer.precision.a_bits.get().into(),
    ])
}

/// Ingress bits `Din_l = C_in * W_in * b_a * S_l * ((q - 1) * s_h + K_h)`; for a
/// fully-connected layer `C_in * b_a`.
pub fn ingress_bits(layer: &PhysLayer, replication: u64) -> Result<u64, PhysicalError> {
    let shape = &layer.shape;
    let a = u64::from(layer.precision.a_bits.get());
    match shape.kind() {
        LayerKind::Fc => product(&[shape.dims().c_in.into(), a]),
        LayerKind::Conv => {
            let s = strips(shape, replication);
            let rows = strip_input_rows(shape, layer.stride_h, s)?;
            row_bits(shape, layer.precision.a_bits)?
                .checked_mul(s)
                .and_then(|v| v.checked_mul(rows))
                .ok_or(PhysicalError::Overflow)
        }
    }
}

/// Egress bits `Dout_l = C_out * H_out * W_out * b_out,l`.
pub fn egress_bits(layer: &PhysLayer) -> Result<u64, PhysicalError> {
    let d = layer.shape.dims();
    product(&[
        d.c_out.into(),
        d.out_h.into(),
        d.out_w.into(),
        layer.out_bits.get().into(),
    ])
}

/// Buffer bits the strips hold: `S_l * K_h * W_in * C_in * b_a` (each strip holds `K_h` input
/// rows).
pub fn buffer_bits_needed(layer: &PhysLayer, replication: u64) -> Result<u64, PhysicalError> {
    let shape = &layer.shape;
    row_bits(shape, layer.precision.a_bits)?
        .checked_mul(strips(shape, replication))
        .and_then(|v| v.checked_mul(u64::from(shape.dims().kernel_h)))
        .ok_or(PhysicalError::Overflow)
}

/// Buffer bits of `tiles` tiles: `8 * tile_buffer_bytes * tiles`.
pub fn buffer_bits_available(phys: &PhysicalConfig, tiles: Tiles) -> Result<u64, PhysicalError> {
    phys.tile_buffer_bytes()
        .checked_mul(8)
        .and_then(|v| v.checked_mul(tiles.get()))
        .ok_or(PhysicalError::Overflow)
}

/// Chip input cycles `io = ceil(C_in,0 * H_in,0 * W_in,0 * b_a,0 / io_bits_per_cycle)` for the
/// first mappable layer.
pub fn io_cycles(phys: &PhysicalConfig, first: &PhysLayer) -> Result<Cycles, PhysicalError> {
    Ok(Cycles::new(input_map_bits(first)?.div_ceil(phys.io_bits_per_cycle())))
}

/// Section 3 per-layer NoC floor `ceil(D_l / noc_bits_per_cycle)` (0 when unlimited), with
/// `D_l` the layer's input map bits.
fn noc_floor(arch: &ArchConfig, layer: &PhysLayer) -> Result<Cycles, PhysicalError> {
    let d = input_map_bits(layer)?;
    Ok(Cycles::new(arch.noc_bits_per_cycle().map_or(0, |noc| d.div_ceil(noc))))
}

/// Everything DESIGN 9.3 and 9.5 report about one layer at one replication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerTiming {
    /// Replication `r_l`.
    pub replication: u64,
    /// Crossbars per replica `X_l`.
    pub xbars: Crossbars,
    /// `imas_l = ceil(r_l * X_l / xbars_per_ima)`.
    pub imas: Imas,
    /// `tiles_l = ceil(imas_l / imas_per_tile)` (report field `tile_share`).
    pub tile_share: Tiles,
    /// `S_l`.
    pub strips: u64,
    /// `Din_l`.
    pub ingress_bits: u64,
    /// `Dout_l`.
    pub egress_bits: u64,
    /// `ceil(P_l / r_l) * t_l`.
    pub compute_cycles: Cycles,
    /// `ceil(Din_l / (tiles_l * link_bits_per_cycle))`.
    pub ingress_cycles: Cycles,
    /// `ceil(Dout_l / (tiles_l * link_bits_per_cycle))`.
    pub egress_cycles: Cycles,
    /// Section 3 NoC floor (0 when `noc_bits_per_cycle = 0`).
    pub noc_cycles: Cycles,
    /// `T_l`: the largest of the terms above.
    pub time: Cycles,
    /// The term that sets `T_l` (never [`Binding::Io`]).
    pub binding: Binding,
    /// Buffer bits the strips need, `S_l * K_h * W_in * C_in * b_a`.
    pub buffer_bits_needed: u64,
    /// Buffer bits of the layer's tiles, `8 * tile_buffer_bytes * tiles_l`.
    pub buffer_bits_available: u64,
}

/// Times and floors of layer `index` (used to name it in errors) at replication `r`.
///
/// Errors: `r` outside `1..=P_l` ([`PhysicalError::Replication`]), a zero stride
/// ([`PhysicalError::Stride`]), line buffers that do not fit ([`PhysicalError::Buffer`]: the
/// replication is not a candidate), or an overflow.
pub fn layer_timing(
    arch: &ArchConfig,
    phys: &PhysicalConfig,
    layer: &PhysLayer,
    index: usize,
    replication: u64,
) -> Result<LayerTiming, PhysicalError> {
    let shape = &layer.shape;
    let positions = shape.positions();
    if replication == 0 || replication > positions {
        return Err(PhysicalError::Replication {
            layer: index,
            replication,
            positions,
        });
    }
    if layer.stride_h == 0 {
        return Err(PhysicalError::Stride { layer: index });
    }
    let xbars = xbars_per_replica(arch, shape, layer.precision.w_bits)?;
    let imas = layer_imas(phys, xbars, replication)?;
    let tile_share = tiles_for(phys, imas);
    let needed = buffer_bits_needed(layer, replication)?;
    let available = buffer_bits_available(phys, tile_share)?;
    if needed > available {
        return Err(PhysicalError::Buffer {
            layer: index,
            needed_bits: needed,
            available_bits: available,
        });
    }
    let t = cycles_per_position(arch, shape, layer.precision.a_bits);
    let compute = positions
        .div_ceil(replication)
        .checked_mul(t.get())
        .ok_or(PhysicalError::Overflow)?;
    let link = tile_share
        .get()
        .checked_mul(phys.link_bits_per_cycle())
        .ok_or(PhysicalError::Overflow)?;
    let din = ingress_bits(layer, replication)?;
    let dout = egress_bits(layer)?;
    // link >= 16 > 0: tiles_l >= 1 because r >= 1 and X_l >= 1.
    let ingress = Cycles::new(din.div_ceil(link.max(1)));
    let egress = Cycles::new(dout.div_ceil(link.max(1)));
    let noc = noc_floor(arch, layer)?;
    let compute = Cycles::new(compute);
    let terms = [
        (Binding::Compute, compute),
        (Binding::Ingress, ingress),
        (Binding::Egress, egress),
        (Binding::Noc, noc),
    ];
    let (binding, time) = Binding::argmax(&terms).unwrap_or((Binding::Compute, compute));
    Ok(LayerTiming {
        replication,
        xbars,
        imas,
        tile_share,
        strips: strips(shape, replication),
        ingress_bits: din,
        egress_bits: dout,
        compute_cycles: compute,
        ingress_cycles: ingress,
        egress_cycles: egress,
        noc_cycles: noc,
        time,
        binding,
        buffer_bits_needed: needed,
        buffer_bits_available: available,
    })
}

/// What an exact replication solver needs about one choice of `r`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// `imas_l` at this `r`.
    pub imas: Imas,
    /// `T_l` at this `r`.
    pub time: Cycles,
}

/// `(imas_l, T_l)` of `layer` at replication `r`, or `Ok(None)` when `r` is not a candidate
/// (the line buffers do not fit). Other errors (`r` outside `1..=P_l`, a zero stride, an
/// overflow) name layer 0: call [`layer_timing`] with the index to name the layer.
///
/// **`T_l` is not monotone in `r`** (nor is the candidate set an interval): more replicas
/// shrink compute but add strips, whose halo rows raise `Din_l`, and `tiles_l` (hence the link
/// width and the buffer) grows in steps of `imas_per_tile`. A solver must enumerate `r` (or
/// the breakpoints of `ceil(P/r)`), not bisect on it. See the tests
/// `time_is_not_monotone_in_replication` for concrete ISAAC counter-examples.
pub fn candidate(
    arch: &ArchConfig,
    phys: &PhysicalConfig,
    layer: &PhysLayer,
    replication: u64,
) -> Result<Option<Candidate>, PhysicalError> {
    match layer_timing(arch, phys, layer, 0, replication) {
        Ok(t) => Ok(Some(Candidate {
            imas: t.imas,
            time: t.time,
        })),
        Err(PhysicalError::Buffer { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Latency, interval and placement of a whole mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChipTiming {
    /// `L = sum_l T_l` (nothing for io: the image streams in while the first layer runs).
    pub latency: Cycles,
    /// `I = max(max_l T_l, io, noc_chip)`.
    pub interval: Cycles,
    /// What sets `I`: the binding of the slowest layer, or [`Binding::Io`], or
    /// [`Binding::Noc`] for the chip NoC floor (ties: compute, ingress, egress, io, noc).
    pub interval_binding: Binding,
    /// Index of the slowest layer (on equal times, the one whose binding comes first in the
    /// order compute, ingress, egress, noc; then the lowest index).
    pub slowest_layer: usize,
    /// Chip input cycles `io`.
    pub io_cycles: Cycles,
    /// Section 3 chip NoC floor `ceil(sum_l D_l / noc_bits_per_cycle)` (0 when unlimited).
    pub noc_cycles: Cycles,
    /// IMAs, tiles and area.
    pub placement: Placement,
}

impl ChipTiming {
    /// The section 3 [`Totals`] of this mapping: its `L` and `I` (with the floors) and the
    /// crossbar area `area` (`sum r_l X_l`, which section 9 leaves as it is).
    pub const fn totals(&self, area: Crossbars) -> Totals {
        Totals {
            latency: self.latency,
            interval: self.interval,
            area,
        }
    }
}

/// Latency, interval and placement of `layers` with `replication[l]` replicas of layer `l`.
/// Any layer whose buffers do not fit makes the whole mapping an error naming it.
pub fn chip_timing(
    arch: &ArchConfig,
    phys: &PhysicalConfig,
    layers: &[PhysLayer],
    replication: &[u64],
) -> Result<ChipTiming, PhysicalError> {
    if layers.len() != replication.len() {
        return Err(PhysicalError::LengthMismatch);
    }
    let first = layers.first().ok_or(PhysicalError::Empty)?;
    let io = io_cycles(phys, first)?;
    let mut latency: u64 = 0;
    let mut imas = Imas::ZERO;
    let mut input_bits: u64 = 0;
    let mut slowest: Option<(usize, Binding, Cycles)> = None;
    for (index, (layer, &r)) in layers.iter().zip(replication).enumerate() {
        let t = layer_timing(arch, phys, layer, index, r)?;
        latency = latency.checked_add(t.time.get()).ok_or(PhysicalError::Overflow)?;
        imas = imas.checked_add(t.imas).ok_or(PhysicalError::Overflow)?;
        input_bits = input_bits
            .checked_add(input_map_bits(layer)?)
            .ok_or(PhysicalError::Overflow)?;
        slowest = match slowest {
            Some((i, b, c)) if c > t.time || (c == t.time && b <= t.binding) => Some((i, b, c)),
            _ => Some((index, t.binding, t.time)),
        };
    }
    let noc = Cycles::new(arch.noc_bits_per_cycle().map_or(0, |n| input_bits.div_ceil(n)));
    let (slowest_layer, layer_binding, layer_time) = slowest.unwrap_or((0, Binding::Compute, Cycles::new(0)));
    let terms = [(layer_binding, layer_time), (Binding::Io, io), (Binding::Noc, noc)];
    let (interval_binding, interval) = Binding::argmax(&terms).unwrap_or((layer_binding, layer_time));
    Ok(ChipTiming {
        latency: Cycles::new(latency),
        interval,
        interval_binding,
        slowest_layer,
        io_cycles: io,
        noc_cycles: noc,
        placement: placement(phys, imas)?,
    })
}
