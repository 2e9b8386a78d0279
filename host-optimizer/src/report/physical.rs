//! The physical model's part of the plan report (DESIGN section 9.5): placement, floors,
//! bindings and energy, so every physical number can be recomputed from the report alone.
//!
//! Built from [`imc_model::physical`] results only; nothing here re-derives a formula.

use imc_model::physical::energy::host::{inferences_per_joule, microjoules, tops_per_w};
use imc_model::physical::{self, ChipReport, LayerEnergy, LayerTiming, PhysLayer, PhysicalConfig, PhysicalError};
use imc_model::{ArchConfig, Cycles, Totals};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{PlanReport, Summary};

/// Placement and energy of one mapping (flattened into `baseline` and `result`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhysicalSummary {
    /// `sum_l imas_l`.
    pub area_imas: u64,
    /// `ceil(sum_l imas_l / imas_per_tile)`.
    pub tiles: u64,
    /// Chip input cycles `io`.
    pub io_cycles: u64,
    /// What sets the interval: `compute`, `ingress`, `egress`, `io` or `noc`.
    pub interval_binding: &'static str,
    /// Energy of one inference, dynamic plus static, µJ.
    pub energy_uj: f64,
    /// Dynamic part, µJ.
    pub dynamic_energy_uj: f64,
    /// Static part, `tiles * tile_static_mw * I / clock`, µJ.
    pub static_energy_uj: f64,
    /// `1 / energy`.
    pub inferences_per_joule: f64,
    /// Tera-operations per second per watt, 2 operations per MAC.
    pub tops_per_w: f64,
}

/// A layer's energy by component, pJ per inference.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnergyRow {
    /// ADC conversions.
    pub adc: f64,
    /// Shift-and-add of conversion results.
    pub shift_add: f64,
    /// Crossbar array steps.
    pub array: f64,
    /// IMA input and output registers.
    pub registers: f64,
    /// DAC row drives.
    pub dac: f64,
    /// Input through the tile buffer and bus.
    pub buffer: f64,
    /// Output through the buffer and the NoC.
    pub noc: f64,
    /// Sum of the above.
    pub total: f64,
}

impl From<&LayerEnergy> for EnergyRow {
    fn from(e: &LayerEnergy) -> EnergyRow {
        EnergyRow {
            adc: e.adc.to_f64(),
            shift_add: e.shift_add.to_f64(),
            array: e.array.to_f64(),
            registers: e.registers.to_f64(),
            dac: e.dac.to_f64(),
            buffer: e.buffer.to_f64(),
            noc: e.noc.to_f64(),
            total: e.total.to_f64(),
        }
    }
}

/// One layer under the physical model (flattened into its [`super::LayerRow`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhysicalLayerRow {
    /// `C_in`.
    pub in_channels: u32,
    /// `H_in`.
    pub in_h: u32,
    /// `W_in`.
    pub in_w: u32,
    /// `C_out`.
    pub out_channels: u32,
    /// `H_out`.
    pub out_h: u32,
    /// `W_out`.
    pub out_w: u32,
    /// `K_h`.
    pub kernel_h: u32,
    /// `K_w`.
    pub kernel_w: u32,
    /// `s_h`.
    pub stride_h: u32,
    /// `b_out,l`: activation bits of the next mappable layer (8 after the last).
    pub out_bits: u8,
    /// `imas_l`.
    pub imas: u64,
    /// `tiles_l`.
    pub tile_share: u64,
    /// `S_l`.
    pub strips: u64,
    /// `Din_l`.
    pub ingress_bits: u64,
    /// `Dout_l`.
    pub egress_bits: u64,
    /// `ceil(P/r) * t`.
    pub compute_cycles: u64,
    /// `ceil(Din_l / (tiles_l * link))`.
    pub ingress_cycles: u64,
    /// `ceil(Dout_l / (tiles_l * link))`.
    pub egress_cycles: u64,
    /// The section 3 NoC floor (0 when unlimited).
    pub noc_cycles: u64,
    /// The term that sets `cycles`.
    pub binding: &'static str,
    /// Line-buffer bits the strips need.
    pub buffer_bits_needed: u64,
    /// Buffer bits of the layer's tiles.
    pub buffer_bits_available: u64,
    /// Dynamic energy by component.
    pub energy_pj: EnergyRow,
}

impl PhysicalLayerRow {
    fn new(layer: &PhysLayer, t: &LayerTiming, e: &LayerEnergy) -> PhysicalLayerRow {
        let d = layer.shape.dims();
        PhysicalLayerRow {
            in_channels: d.c_in,
            in_h: d.in_h,
            in_w: d.in_w,
            out_channels: d.c_out,
            out_h: d.out_h,
            out_w: d.out_w,
            kernel_h: d.kernel_h,
            kernel_w: d.kernel_w,
            stride_h: layer.stride_h,
            out_bits: layer.out_bits.get(),
            imas: t.imas.get(),
            tile_share: t.tile_share.get(),
            strips: t.strips,
            ingress_bits: t.ingress_bits,
            egress_bits: t.egress_bits,
            compute_cycles: t.compute_cycles.get(),
            ingress_cycles: t.ingress_cycles.get(),
            egress_cycles: t.egress_cycles.get(),
            noc_cycles: t.noc_cycles.get(),
            binding: t.binding.as_str(),
            buffer_bits_needed: t.buffer_bits_needed,
            buffer_bits_available: t.buffer_bits_available,
            energy_pj: EnergyRow::from(e),
        }
    }
}

/// A mapping under the physical model: its layers, replication and chip report.
pub struct PhysicalMapping<'a> {
    /// Layers as the physical model sees them.
    pub layers: &'a [PhysLayer],
    /// Replication per layer.
    pub replication: &'a [u64],
    /// Timing, placement and energy of the whole mapping.
    pub chip: &'a ChipReport,
}

impl PhysicalMapping<'_> {
    /// Latency and interval with the floors; area stays `sum r_l X_l` crossbars.
    pub fn totals(&self, ideal: &Totals) -> Totals {
        self.chip.timing.totals(ideal.area)
    }

    fn summary(&self) -> PhysicalSummary {
        let e = &self.chip.energy;
        PhysicalSummary {
            area_imas: self.chip.timing.placement.imas.get(),
            tiles: self.chip.timing.placement.tiles.get(),
            io_cycles: self.chip.timing.io_cycles.get(),
            interval_binding: self.chip.timing.interval_binding.as_str(),
            energy_uj: microjoules(e.total),
            dynamic_energy_uj: microjoules(e.dynamic.total),
            static_energy_uj: microjoules(e.static_energy),
            inferences_per_joule: inferences_per_joule(e.total),
            tops_per_w: tops_per_w(self.chip.macs, e.total),
        }
    }
}

/// Every `ArchConfig` field and every physical parameter, flat, numbers as JSON numbers.
fn arch_params(arch: &ArchConfig, config: &PhysicalConfig) -> Value {
    let mut map = Map::new();
    for value in [
        serde_json::to_value(arch.params()),
        serde_json::to_value(config.params()),
    ] {
        if let Ok(Value::Object(fields)) = value {
            for (key, v) in fields {
                // Energies and areas serialize as exact decimal strings; report them as numbers.
                let v = match v {
                    Value::String(s) => s.parse::<f64>().ok().map_or(Value::String(s), Value::from),
                    other => other,
                };
                map.insert(key, v);
            }
        }
    }
    Value::Object(map)
}

/// Replaces what the ideal model put in `report` with the physical model's numbers and adds
/// the fields of DESIGN 9.5: area in IMAs, tiles and mm², floors, bindings and energy.
pub fn attach(
    report: PlanReport,
    arch: &ArchConfig,
    config: &PhysicalConfig,
    budget_imas: u64,
    baseline: &PhysicalMapping,
    result: &PhysicalMapping,
) -> Result<PlanReport, PhysicalError> {
    let mut layers = report.layers;
    for (index, row) in layers.iter_mut().enumerate() {
        let (Some(layer), Some(&r), Some(&r0), Some(base_layer)) = (
            result.layers.get(index),
            result.replication.get(index),
            baseline.replication.get(index),
            baseline.layers.get(index),
        ) else {
            return Err(PhysicalError::LengthMismatch);
        };
        let t = physical::layer_timing(arch, config, layer, index, r)?;
        let e = physical::layer_energy(arch, config, layer, r)?;
        let t0 = physical::layer_timing(arch, config, base_layer, index, r0)?;
        row.cycles = t.time.get();
        row.baseline_cycles = t0.time.get();
        row.noc_bound = t.time != t.compute_cycles;
        row.physical = Some(PhysicalLayerRow::new(layer, &t, &e));
    }
    let with = |mut s: Summary, m: &PhysicalMapping| {
        s.area_mm2 = m.chip.timing.placement.area.to_f64();
        s.physical = Some(m.summary());
        s
    };
    let ratio = |a: Cycles, b: Cycles| a.get() as f64 / b.get().max(1) as f64;
    let energy_gain = baseline.chip.energy.total.to_f64() / result.chip.energy.total.to_f64().max(f64::MIN_POSITIVE);
    let mut result_summary = report.result;
    result_summary.summary = with(result_summary.summary, result);
    Ok(PlanReport {
        arch_params: Some(arch_params(arch, config)),
        budget_imas: Some(budget_imas),
        energy_gain: Some(energy_gain),
        baseline: with(report.baseline, baseline),
        result: result_summary,
        latency_gain: ratio(baseline.chip.timing.latency, result.chip.timing.latency),
        throughput_gain: ratio(baseline.chip.timing.interval, result.chip.timing.interval),
        layers,
        ..report
    })
}
