//! Energy per inference (DESIGN section 9.4): per-event dynamic energy by component, static
//! energy of the used tiles over the interval, and totals.

use super::floors::{chip_timing, egress_bits, ingress_bits, ChipTiming, PhysLayer};
use super::params::PhysicalConfig;
use super::quantity::{Picojoules, Tiles};
use super::PhysicalError;
use crate::arch::ArchConfig;
use crate::cost::{row_blocks, weight_slices, xbars_per_replica};
use crate::layer::LayerShape;
use crate::units::Cycles;

/// Event counts of one layer for one inference (DESIGN 9.4), before they are priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerEvents {
    /// Crossbar steps per position, `ceil(b_a / dac_bits)`.
    pub steps: u64,
    /// ADC conversions (also shift-adds) `N_l = P * steps * B * g * C * s_w`.
    pub conversions: u64,
    /// Array steps `P * steps * X_l`.
    pub array_steps: u64,
    /// IMA register steps `P * steps * ceil(X_l / xbars_per_ima)`.
    pub register_steps: u64,
    /// DAC row-steps `P * steps * g * R * ceil(C * s_w / xbar_cols)`.
    pub dac_row_steps: u64,
    /// Ingress bits `Din_l` (buffer and bus).
    pub ingress_bits: u64,
    /// Egress bits `Dout_l` (buffer and NoC).
    pub egress_bits: u64,
}

fn mul_all(factors: &[u64]) -> Result<u64, PhysicalError> {
    factors
        .iter()
        .try_fold(1u64, |acc, &f| acc.checked_mul(f))
        .ok_or(PhysicalError::Overflow)
}

/// Event counts of `layer` at replication `r` (only `Din_l` depends on `r`, via the halo).
pub fn layer_events(
    arch: &ArchConfig,
    phys: &PhysicalConfig,
    layer: &PhysLayer,
    replication: u64,
) -> Result<LayerEvents, PhysicalError> {
    let shape = &layer.shape;
    let p = shape.positions();
    let steps = u64::from(layer.precision.a_bits.get()).div_ceil(u64::from(arch.dac_bits()));
    let b = row_blocks(arch, shape);
    let g = shape.groups();
    let cols = shape
        .cols_per_group()
        .checked_mul(weight_slices(arch, layer.precision.w_bits))
        .ok_or(PhysicalError::Overflow)?;
    let x = xbars_per_replica(arch, shape, layer.precision.w_bits)?.get();
    Ok(LayerEvents {
        steps,
        conversions: mul_all(&[p, steps, b, g, cols])?,
        array_steps: mul_all(&[p, steps, x])?,
        register_steps: mul_all(&[p, steps, x.div_ceil(phys.xbars_per_ima())])?,
        dac_row_steps: mul_all(&[p, steps, g, shape.rows_per_group(), cols.div_ceil(arch.xbar_cols())])?,
        ingress_bits: ingress_bits(layer, replication)?,
        egress_bits: egress_bits(layer)?,
    })
}

/// Dynamic energy of one layer for one inference, by component (report field `energy_pj`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayerEnergy {
    /// `N_l * adc_pj`.
    pub adc: Picojoules,
    /// `N_l * shift_add_pj`.
    pub shift_add: Picojoules,
    /// `P * steps * X_l * array_step_pj`.
    pub array: Picojoules,
    /// `P * steps * ceil(X_l / xbars_per_ima) * ima_register_pj`.
    pub registers: Picojoules,
    /// `P * steps * g * R * ceil(C * s_w / xbar_cols) * dac_row_step_pj`.
    pub dac: Picojoules,
    /// `Din_l * (buffer_pj_per_bit + bus_pj_per_bit)`.
    pub buffer: Picojoules,
    /// `Dout_l * (buffer_pj_per_bit + noc_hops * noc_pj_per_bit_hop)`.
    pub noc: Picojoules,
    /// Sum of the seven components.
    pub total: Picojoules,
}

fn price(count: u64, per_event: Picojoules) -> Result<Picojoules, PhysicalError> {
    per_event.checked_mul_int(count).ok_or(PhysicalError::Overflow)
}

/// Prices `events` with the per-event energies of `phys` (exact on the `2^-20` pJ grid).
pub fn price_events(phys: &PhysicalConfig, events: &LayerEvents) -> Result<LayerEnergy, PhysicalError> {
    let overflow = PhysicalError::Overflow;
    let ingress_per_bit = phys.buffer_per_bit().checked_add(phys.bus_per_bit()).ok_or(overflow)?;
    let egress_per_bit = phys
        .noc_per_bit_hop()
        .checked_mul_int(phys.noc_hops())
        .and_then(|n| n.checked_add(phys.buffer_per_bit()))
        .ok_or(overflow)?;
    let adc = price(events.conversions, phys.adc())?;
    let shift_add = price(events.conversions, phys.shift_add())?;
    let array = price(events.array_steps, phys.array_step())?;
    let registers = price(events.register_steps, phys.ima_register())?;
    let dac = price(events.dac_row_steps, phys.dac_row_step())?;
    let buffer = price(events.ingress_bits, ingress_per_bit)?;
    let noc = price(events.egress_bits, egress_per_bit)?;
    let total = [shift_add, array, registers, dac, buffer, noc]
        .iter()
        .try_fold(adc, |acc, &e| acc.checked_add(e))
        .ok_or(overflow)?;
    Ok(LayerEnergy {
        adc,
        shift_add,
        array,
        registers,
        dac,
        buffer,
        noc,
        total,
    })
}

/// Dynamic energy of `layer` at replication `r` for one inference.
pub fn layer_energy(
    arch: &ArchConfig,
    phys: &PhysicalConfig,
    layer: &PhysLayer,
    replication: u64,
) -> Result<LayerEnergy, PhysicalError> {
    price_events(phys, &layer_events(arch, phys, layer, replication)?)
}

/// Static energy per inference `tiles * tile_static_mw * I / clock` (mW x µs = nJ = 1000 pJ),
/// rounded to the nearest `2^-20` pJ (the only rounding after parsing).
pub fn static_energy(
    arch: &ArchConfig,
    phys: &PhysicalConfig,
    tiles: Tiles,
    interval: Cycles,
) -> Result<Picojoules, PhysicalError> {
    let clock = u128::from(arch.clock_mhz());
    let scaled = u128::from(phys.tile_static().to_bits())
        .checked_mul(u128::from(tiles.get()))
        .and_then(|v| v.checked_mul(u128::from(interval.get())))
        .and_then(|v| v.checked_mul(1000))
        .and_then(|v| v.checked_add(clock / 2))
        .ok_or(PhysicalError::Overflow)?;
    // clock_mhz >= 1 after ArchConfig validation.
    let bits = scaled.checked_div(clock).ok_or(PhysicalError::Overflow)?;
    u64::try_from(bits)
        .map(Picojoules::from_bits)
        .map_err(|_| PhysicalError::Overflow)
}

/// Energy of one inference of a whole mapping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnergyTotals {
    /// Sum over layers of each dynamic component, and their total.
    pub dynamic: LayerEnergy,
    /// `tiles * tile_static_mw * I / clock`.
    pub static_energy: Picojoules,
    /// Dynamic plus static.
    pub total: Picojoules,
}

fn add_energy(a: &LayerEnergy, b: &LayerEnergy) -> Option<LayerEnergy> {
    Some(LayerEnergy {
        adc: a.adc.checked_add(b.adc)?,
        shift_add: a.shift_add.checked_add(b.shift_add)?,
        array: a.array.checked_add(b.array)?,
        registers: a.registers.checked_add(b.registers)?,
        dac: a.dac.checked_add(b.dac)?,
        buffer: a.buffer.checked_add(b.buffer)?,
        noc: a.noc.checked_add(b.noc)?,
        total: a.total.checked_add(b.total)?,
    })
}

/// Timing, placement and energy of a whole mapping, from one pass over the layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChipReport {
    /// Latency, interval, bindings, io, placement.
    pub timing: ChipTiming,
    /// Energy per inference.
    pub energy: EnergyTotals,
    /// Multiply-accumulates of one inference (`sum_l P_l * R_l * C_out,l`).
    pub macs: u64,
}

/// Multiply-accumulates of one inference of a layer: `P * (C_in/g) * K_h * K_w * C_out`.
pub fn macs(shape: &LayerShape) -> Result<u64, PhysicalError> {
    shape
        .positions()
        .checked_mul(shape.weights())
        .ok_or(PhysicalError::Overflow)
}

/// Timing, placement and energy of `layers` with `replication[l]` replicas of layer `l`.
pub fn chip_report(
    arch: &ArchConfig,
    phys: &PhysicalConfig,
    layers: &[PhysLayer],
    replication: &[u64],
) -> Result<ChipReport, PhysicalError> {
    let timing = chip_timing(arch, phys, layers, replication)?;
    let mut dynamic = LayerEnergy::default();
    let mut total_macs: u64 = 0;
    for (layer, &r) in layers.iter().zip(replication) {
        let e = layer_energy(arch, phys, layer, r)?;
        dynamic = add_energy(&dynamic, &e).ok_or(PhysicalError::Overflow)?;
        total_macs = total_macs
            .checked_add(macs(&layer.shape)?)
            .ok_or(PhysicalError::Overflow)?;
    }
    let static_energy = static_energy(arch, phys, timing.placement.tiles, timing.interval)?;
    let total = dynamic
        .total
        .checked_add(static_energy)
        .ok_or(PhysicalError::Overflow)?;
    Ok(ChipReport {
        timing,
        energy: EnergyTotals {
            dynamic,
            static_energy,
            total,
        },
        macs: total_macs,
    })
}

/// Host-side figures of merit (floating point, `std` only).
#[cfg(feature = "std")]
pub mod host {
    use super::Picojoules;

    /// Energy in microjoules.
    pub fn microjoules(e: Picojoules) -> f64 {
        e.to_f64() * 1e-6
    }
    /// Inferences per joule, `10^12 / E_pJ` (infinite for zero energy).
    pub fn inferences_per_joule(per_inference: Picojoules) -> f64 {
        1e12 / per_inference.to_f64()
    }
    /// TOPS/W with 2 operations per MAC: `2 * MACs / E_pJ` (ops per pJ = tera-ops per joule).
    pub fn tops_per_w(macs: u64, per_inference: Picojoules) -> f64 {
        2.0 * macs as f64 / per_inference.to_f64()
    }
}
