//! Parameters of the physical model (DESIGN section 9.1): hierarchy, link widths, component
//! areas, per-event energies and static power.
//!
//! [`PhysicalParams`] is the raw, serializable form (what a preset file holds);
//! [`PhysicalConfig`] is the validated form every function of the physical model takes.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::quantity::{Fix, Milliwatts, Picojoules, SquareMillimetres, FRAC_BITS};
use crate::units::Bits;

/// Raw physical parameters. Validate with [`PhysicalConfig::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhysicalParams {
    /// Crossbars in one IMA (in-situ multiply-accumulate unit).
    pub xbars_per_ima: u32,
    /// IMAs in one tile.
    pub imas_per_tile: u32,
    /// Activation buffer (eDRAM) per tile, bytes.
    pub tile_buffer_bytes: u64,
    /// NoC bits per cycle into, and out of, one tile.
    pub link_bits_per_cycle: u64,
    /// Chip input port (off-chip link), bits per cycle.
    pub io_bits_per_cycle: u64,
    /// Area of one IMA with its arrays, ADCs, DACs, S+H, registers and shift-add units.
    pub ima_area_mm2: SquareMillimetres,
    /// Area charged per used tile: eDRAM, bus, router share, digital units.
    pub tile_overhead_mm2: SquareMillimetres,
    /// One ADC conversion.
    pub adc_pj: Picojoules,
    /// One crossbar step (one array, one step).
    pub array_step_pj: Picojoules,
    /// One DAC driving one row for one step.
    pub dac_row_step_pj: Picojoules,
    /// One shift-and-add of one conversion result.
    pub shift_add_pj: Picojoules,
    /// Input and output registers of one IMA for one step.
    pub ima_register_pj: Picojoules,
    /// eDRAM read or write, per bit.
    pub buffer_pj_per_bit: Picojoules,
    /// Tile bus, per bit.
    pub bus_pj_per_bit: Picojoules,
    /// Router and link, per bit and hop.
    pub noc_pj_per_bit_hop: Picojoules,
    /// Hops of one inter-tile transfer (average).
    pub noc_hops: u32,
    /// Power of a used tile whether busy or not (errs high: see the module docs).
    pub tile_static_mw: Milliwatts,
}

impl PhysicalParams {
    /// The `isaac` preset of DESIGN section 9.1 (ISAAC, ISCA 2016, Table I, 32 nm; per-event
    /// energies after the Accelergy ISAAC library).
    pub const ISAAC: PhysicalParams = PhysicalParams {
        xbars_per_ima: 8,
        imas_per_tile: 12,
        tile_buffer_bytes: 65536,
        link_bits_per_cycle: 32,
        io_bits_per_cycle: 51,
        ima_area_mm2: SquareMillimetres::from_micros(13_100),
        tile_overhead_mm2: SquareMillimetres::from_micros(214_800),
        adc_pj: Picojoules::from_micros(1_670_000),
        array_step_pj: Picojoules::from_micros(30_000_000),
        dac_row_step_pj: Picojoules::from_micros(390_000),
        shift_add_pj: Picojoules::from_micros(21_000),
        ima_register_pj: Picojoules::from_micros(147_000_000),
        buffer_pj_per_bit: Picojoules::from_micros(80_000),
        bus_pj_per_bit: Picojoules::from_micros(54_000),
        noc_pj_per_bit_hop: Picojoules::from_micros(80_000),
        noc_hops: 1,
        tile_static_mw: Milliwatts::from_micros(39_170_000),
    };
}

/// A parameter outside the accepted range. Values are shown as decimals; an integer field's
/// value above `2^44` is shown as `2^44 - 2^-20`, the largest [`Fix`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamError {
    /// The offending field, spelled as in the preset file.
    pub field: &'static str,
    /// The value given.
    pub value: Fix,
    /// Smallest accepted value.
    pub min: Fix,
    /// Largest accepted value.
    pub max: Fix,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "field `{}` = {} is out of range (minimum {}, maximum {})",
            self.field, self.value, self.min, self.max
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ParamError {}

/// Accepted ranges, shared by validation and the docs.
pub mod bounds {
    use super::Fix;

    /// Crossbars per IMA and IMAs per tile: `1..=4096`.
    pub const HIERARCHY_MAX: u64 = 4096;
    /// Tile buffer: at least one activation of the widest precision (2 bytes), at most 1 GiB.
    pub const BUFFER_BYTES: (u64, u64) = (2, 1 << 30);
    /// Link and I/O widths: at least one activation of the widest precision
    /// ([`crate::units::Bits::MAX`] bits), at most `2^20` bits a cycle.
    pub const WIDTH_BITS: (u64, u64) = (crate::units::Bits::MAX as u64, 1 << 20);
    /// Hops of one transfer: `1..=1024`.
    pub const HOPS_MAX: u64 = 1024;
    /// Smallest accepted energy, area or power: the smallest positive [`Fix`], `2^-20`.
    pub const POSITIVE_MIN: Fix = Fix::DELTA;
    /// Largest accepted per-event energy: 1 µJ (`10^6` pJ).
    pub const ENERGY_MAX: Fix = Fix::from_bits(1_000_000 << super::FRAC_BITS);
    /// Largest accepted area of an IMA or tile overhead: `10^4` mm².
    pub const AREA_MAX: Fix = Fix::from_bits(10_000 << super::FRAC_BITS);
    /// Largest accepted static power of a tile: `10^6` mW.
    pub const POWER_MAX: Fix = Fix::from_bits(1_000_000 << super::FRAC_BITS);
}

fn saturating_fix(v: u64) -> Fix {
    Fix::checked_from_num(v).unwrap_or(Fix::MAX)
}

fn check_int(field: &'static str, value: u64, min: u64, max: u64) -> Result<(), ParamError> {
    if value < min || value > max {
        Err(ParamError {
            field,
            value: saturating_fix(value),
            min: saturating_fix(min),
            max: saturating_fix(max),
        })
    } else {
        Ok(())
    }
}

fn check_fix(field: &'static str, value: Fix, max: Fix) -> Result<(), ParamError> {
    let min = bounds::POSITIVE_MIN;
    if value < min || value > max {
        Err(ParamError { field, value, min, max })
    } else {
        Ok(())
    }
}

/// Validated physical parameters. Construct with [`PhysicalConfig::new`] or
/// [`PhysicalConfig::isaac`].
///
/// Every field is non-zero and bounded ([`bounds`]): widths carry at least one activation of
/// the widest precision, energies are at most 1 µJ an event, areas at most `10^4` mm². Sums
/// and products that can still overflow (with huge networks) are checked where computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PhysicalParams", into = "PhysicalParams")]
pub struct PhysicalConfig(PhysicalParams);

impl PhysicalConfig {
    /// Validates raw parameters; the error names the first bad field and its range.
    pub fn new(p: PhysicalParams) -> Result<PhysicalConfig, ParamError> {
        use bounds::*;
        check_int("xbars_per_ima", p.xbars_per_ima.into(), 1, HIERARCHY_MAX)?;
        check_int("imas_per_tile", p.imas_per_tile.into(), 1, HIERARCHY_MAX)?;
        check_int("tile_buffer_bytes", p.tile_buffer_bytes, BUFFER_BYTES.0, BUFFER_BYTES.1)?;
        check_int("link_bits_per_cycle", p.link_bits_per_cycle, WIDTH_BITS.0, WIDTH_BITS.1)?;
        check_int("io_bits_per_cycle", p.io_bits_per_cycle, WIDTH_BITS.0, WIDTH_BITS.1)?;
        check_fix("ima_area_mm2", p.ima_area_mm2.get(), AREA_MAX)?;
        check_fix("tile_overhead_mm2", p.tile_overhead_mm2.get(), AREA_MAX)?;
        let energies = [
            ("adc_pj", p.adc_pj),
            ("array_step_pj", p.array_step_pj),
            ("dac_row_step_pj", p.dac_row_step_pj),
            ("shift_add_pj", p.shift_add_pj),
            ("ima_register_pj", p.ima_register_pj),
            ("buffer_pj_per_bit", p.buffer_pj_per_bit),
            ("bus_pj_per_bit", p.bus_pj_per_bit),
            ("noc_pj_per_bit_hop", p.noc_pj_per_bit_hop),
        ];
        for (field, e) in energies {
            check_fix(field, e.get(), ENERGY_MAX)?;
        }
        check_int("noc_hops", p.noc_hops.into(), 1, HOPS_MAX)?;
        check_fix("tile_static_mw", p.tile_static_mw.get(), POWER_MAX)?;
        Ok(PhysicalConfig(p))
    }

    /// The `isaac` preset, already valid.
    pub const fn isaac() -> PhysicalConfig {
        PhysicalConfig(PhysicalParams::ISAAC)
    }

    /// The raw parameters.
    pub const fn params(&self) -> &PhysicalParams {
        &self.0
    }
    /// Crossbars per IMA.
    pub const fn xbars_per_ima(&self) -> u64 {
        self.0.xbars_per_ima as u64
    }
    /// IMAs per tile.
    pub const fn imas_per_tile(&self) -> u64 {
        self.0.imas_per_tile as u64
    }
    /// Crossbars per tile, `xbars_per_ima * imas_per_tile` (at most `2^24`).
    pub const fn xbars_per_tile(&self) -> u64 {
        self.xbars_per_ima() * self.imas_per_tile()
    }
    /// Tile buffer in bytes.
    pub const fn tile_buffer_bytes(&self) -> u64 {
        self.0.tile_buffer_bytes
    }
    /// Link width into and out of one tile, bits per cycle.
    pub const fn link_bits_per_cycle(&self) -> u64 {
        self.0.link_bits_per_cycle
    }
    /// Chip input port width, bits per cycle.
    pub const fn io_bits_per_cycle(&self) -> u64 {
        self.0.io_bits_per_cycle
    }
    /// Area of one IMA.
    pub const fn ima_area(&self) -> SquareMillimetres {
        self.0.ima_area_mm2
    }
    /// Area overhead of one used tile.
    pub const fn tile_overhead(&self) -> SquareMillimetres {
        self.0.tile_overhead_mm2
    }
    /// One ADC conversion.
    pub const fn adc(&self) -> Picojoules {
        self.0.adc_pj
    }
    /// One array step.
    pub const fn array_step(&self) -> Picojoules {
        self.0.array_step_pj
    }
    /// One DAC row-step.
    pub const fn dac_row_step(&self) -> Picojoules {
        self.0.dac_row_step_pj
    }
    /// One shift-and-add.
    pub const fn shift_add(&self) -> Picojoules {
        self.0.shift_add_pj
    }
    /// IMA registers for one step.
    pub const fn ima_register(&self) -> Picojoules {
        self.0.ima_register_pj
    }
    /// eDRAM access per bit.
    pub const fn buffer_per_bit(&self) -> Picojoules {
        self.0.buffer_pj_per_bit
    }
    /// Tile bus per bit.
    pub const fn bus_per_bit(&self) -> Picojoules {
        self.0.bus_pj_per_bit
    }
    /// NoC per bit and hop.
    pub const fn noc_per_bit_hop(&self) -> Picojoules {
        self.0.noc_pj_per_bit_hop
    }
    /// Hops of one transfer.
    pub const fn noc_hops(&self) -> u64 {
        self.0.noc_hops as u64
    }
    /// Static power of one used tile.
    pub const fn tile_static(&self) -> Milliwatts {
        self.0.tile_static_mw
    }
}

impl TryFrom<PhysicalParams> for PhysicalConfig {
    type Error = ParamError;
    fn try_from(p: PhysicalParams) -> Result<Self, ParamError> {
        PhysicalConfig::new(p)
    }
}

impl From<PhysicalConfig> for PhysicalParams {
    fn from(c: PhysicalConfig) -> PhysicalParams {
        c.0
    }
}

impl Default for PhysicalConfig {
    fn default() -> Self {
        PhysicalConfig::isaac()
    }
}

// The widest activation must fit the narrowest accepted width (checked at compile time).
const _: () = assert!(bounds::WIDTH_BITS.0 >= Bits::MAX as u64);
const _: () = assert!(FRAC_BITS == 20);
