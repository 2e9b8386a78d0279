//! Hardware parameters of the crossbar accelerator (DESIGN section 2).
//!
//! [`ArchParams`] is the raw, user-editable form (what a TOML/JSON preset holds);
//! [`ArchConfig`] is the validated form every model function takes. Once an
//! `ArchConfig` exists, every field is in a range where the cost formulas cannot
//! divide by zero or overflow for any layer of validated shape.

use core::fmt;
use serde::{Deserialize, Serialize};

use crate::units::Cycles;

/// Raw hardware parameters, as read from a preset file. Convert with [`ArchConfig::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchParams {
    /// Crossbar rows (word lines) in cells.
    pub xbar_rows: u32,
    /// Crossbar columns (bit lines) in cells.
    pub xbar_cols: u32,
    /// Bits stored per NVM cell.
    pub cell_bits: u8,
    /// Input bits applied per step (1 = bit-serial).
    pub dac_bits: u8,
    /// ADC resolution of one column read.
    pub adc_bits: u8,
    /// Cycles of one crossbar step: apply input bits, read and convert all columns.
    pub step_cycles: u64,
    /// Cycles of one digital add stage when partial sums from row blocks are reduced.
    pub add_cycles: u64,
    /// Crossbars in one tile.
    pub xbars_per_tile: u32,
    /// Tiles on the chip; 0 sizes the chip to the area budget.
    pub tiles: u32,
    /// Area of one crossbar with its share of peripherals, in square micrometres.
    pub xbar_area_um2: u32,
    /// Accelerator clock in MHz.
    pub clock_mhz: u32,
    /// Chip activation bandwidth in bits per cycle; 0 = unlimited.
    pub noc_bits_per_cycle: u64,
}

impl ArchParams {
    /// The `isaac` preset (after ISAAC, ISCA 2016, and PUMA, ASPLOS 2019).
    pub const ISAAC: ArchParams = ArchParams {
        xbar_rows: 128,
        xbar_cols: 128,
        cell_bits: 2,
        dac_bits: 1,
        adc_bits: 8,
        step_cycles: 100,
        add_cycles: 1,
        xbars_per_tile: 96,
        tiles: 0,
        xbar_area_um2: 3875,
        clock_mhz: 1000,
        noc_bits_per_cycle: 0,
    };
}

/// A parameter outside the range the model supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchError {
    /// The offending field, spelled as in the preset file.
    pub field: &'static str,
    /// The value that was given.
    pub value: u64,
    /// Smallest accepted value.
    pub min: u64,
    /// Largest accepted value.
    pub max: u64,
}

impl fmt::Display for ArchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "field `{}` = {} is out of range (accepted {}..={})",
            self.field, self.value, self.min, self.max
        )
    }
}

#[cfg(feature = "std")]
extern crate std;
#[cfg(feature = "std")]
impl std::error::Error for ArchError {}

/// Validated hardware parameters. Construct with [`ArchConfig::new`] or [`ArchConfig::isaac`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ArchParams", into = "ArchParams")]
pub struct ArchConfig(ArchParams);

/// Largest crossbar dimension accepted; real NVM arrays stop well below this.
pub const MAX_XBAR_DIM: u32 = 4096;

fn check(field: &'static str, value: u64, min: u64, max: u64) -> Result<(), ArchError> {
    if value < min || value > max {
        Err(ArchError { field, value, min, max })
    } else {
        Ok(())
    }
}

impl ArchConfig {
    /// Validates raw parameters.
    pub fn new(p: ArchParams) -> Result<ArchConfig, ArchError> {
        let dim = u64::from(MAX_XBAR_DIM);
        check("xbar_rows", p.xbar_rows.into(), 1, dim)?;
        check("xbar_cols", p.xbar_cols.into(), 1, dim)?;
        check("cell_bits", p.cell_bits.into(), 1, 8)?;
        check("dac_bits", p.dac_bits.into(), 1, 8)?;
        check("adc_bits", p.adc_bits.into(), 1, 32)?;
        check("step_cycles", p.step_cycles, 1, 1_000_000)?;
        check("add_cycles", p.add_cycles, 0, 1_000_000)?;
        check("xbars_per_tile", p.xbars_per_tile.into(), 1, 1 << 20)?;
        check("tiles", p.tiles.into(), 0, 1 << 24)?;
        check("xbar_area_um2", p.xbar_area_um2.into(), 1, 1 << 30)?;
        check("clock_mhz", p.clock_mhz.into(), 1, 100_000)?;
        check("noc_bits_per_cycle", p.noc_bits_per_cycle, 0, 1 << 40)?;
        Ok(ArchConfig(p))
    }

    /// The `isaac` preset, already valid.
    pub const fn isaac() -> ArchConfig {
        ArchConfig(ArchParams::ISAAC)
    }

    /// The raw parameters.
    pub const fn params(&self) -> &ArchParams {
        &self.0
    }
    /// Crossbar rows.
    pub const fn xbar_rows(&self) -> u64 {
        self.0.xbar_rows as u64
    }
    /// Crossbar columns.
    pub const fn xbar_cols(&self) -> u64 {
        self.0.xbar_cols as u64
    }
    /// Bits per cell.
    pub const fn cell_bits(&self) -> u8 {
        self.0.cell_bits
    }
    /// Input bits per step.
    pub const fn dac_bits(&self) -> u8 {
        self.0.dac_bits
    }
    /// ADC resolution.
    pub const fn adc_bits(&self) -> u8 {
        self.0.adc_bits
    }
    /// One crossbar step.
    pub const fn step_cycles(&self) -> Cycles {
        Cycles::new(self.0.step_cycles)
    }
    /// One reduction add stage.
    pub const fn add_cycles(&self) -> Cycles {
        Cycles::new(self.0.add_cycles)
    }
    /// Crossbars per tile.
    pub const fn xbars_per_tile(&self) -> u64 {
        self.0.xbars_per_tile as u64
    }
    /// Tiles on the chip (0 = sized to the budget).
    pub const fn tiles(&self) -> u64 {
        self.0.tiles as u64
    }
    /// Clock in MHz.
    pub const fn clock_mhz(&self) -> u32 {
        self.0.clock_mhz
    }
    /// Crossbar area in square micrometres.
    pub const fn xbar_area_um2(&self) -> u32 {
        self.0.xbar_area_um2
    }
    /// NoC bandwidth in bits per cycle, `None` when unlimited.
    pub const fn noc_bits_per_cycle(&self) -> Option<u64> {
        match self.0.noc_bits_per_cycle {
            0 => None,
            n => Some(n),
        }
    }
    /// ADC width at which every column read is exact (DESIGN section 4).
    pub fn lossless_adc_bits(&self) -> u32 {
        let max_sum = self.xbar_rows() * ((1u64 << self.cell_bits()) - 1) * ((1u64 << self.dac_bits()) - 1);
        crate::units::ceil_log2(max_sum + 1)
    }
}

impl TryFrom<ArchParams> for ArchConfig {
    type Error = ArchError;
    fn try_from(p: ArchParams) -> Result<Self, ArchError> {
        ArchConfig::new(p)
    }
}

impl From<ArchConfig> for ArchParams {
    fn from(c: ArchConfig) -> ArchParams {
        c.0
    }
}

impl Default for ArchConfig {
    fn default() -> Self {
        ArchConfig::isaac()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isaac_preset_is_valid_and_matches_design() {
        let a = ArchConfig::new(ArchParams::ISAAC).unwrap();
        assert_eq!(a, ArchConfig::isaac());
        assert_eq!(
            (a.xbar_rows(), a.xbar_cols(), a.cell_bits(), a.dac_bits()),
            (128, 128, 2, 1)
        );
        assert_eq!(a.step_cycles(), Cycles::new(100));
        assert_eq!(a.noc_bits_per_cycle(), None);
        // 128 rows * 3 * 1 = 384 -> 9 bits for a lossless read.
        assert_eq!(a.lossless_adc_bits(), 9);
    }

    #[test]
    fn zero_and_absurd_values_are_errors() {
        let mut p = ArchParams::ISAAC;
        p.xbar_rows = 0;
        assert_eq!(ArchConfig::new(p).unwrap_err().field, "xbar_rows");
        let mut p = ArchParams::ISAAC;
        p.cell_bits = 9;
        assert_eq!(ArchConfig::new(p).unwrap_err().field, "cell_bits");
        let mut p = ArchParams::ISAAC;
        p.step_cycles = 0;
        assert_eq!(ArchConfig::new(p).unwrap_err().field, "step_cycles");
        let mut p = ArchParams::ISAAC;
        p.clock_mhz = 0;
        assert_eq!(ArchConfig::new(p).unwrap_err().field, "clock_mhz");
    }
}
