//! Placement and area (DESIGN section 9.2): whole IMAs per layer, tiles in layer order, area
//! in mm² with peripherals, and the iso-area budget in IMAs.

use super::params::PhysicalConfig;
use super::quantity::{AreaFactor, Imas, SquareMillimetres, Tiles};
use super::PhysicalError;
use crate::arch::ArchConfig;
use crate::cost::xbars_per_replica;
use crate::layer::LayerShape;
use crate::units::{Bits, Crossbars};

/// IMAs of `replication` replicas of a layer of `xbars` crossbars each:
/// `imas_l = ceil(r_l * X_l / xbars_per_ima)` (one layer per IMA).
pub fn layer_imas(phys: &PhysicalConfig, xbars: Crossbars, replication: u64) -> Result<Imas, PhysicalError> {
    let total = xbars.get().checked_mul(replication).ok_or(PhysicalError::Overflow)?;
    Ok(Imas::new(total.div_ceil(phys.xbars_per_ima())))
}

/// Tiles needed by `imas` IMAs: `ceil(imas / imas_per_tile)`. Used both for a layer's tile
/// share `tiles_l` and for the chip's `tiles = ceil(sum_l imas_l / imas_per_tile)`.
pub fn tiles_for(phys: &PhysicalConfig, imas: Imas) -> Tiles {
    Tiles::new(imas.get().div_ceil(phys.imas_per_tile()))
}

/// The area of a chip holding `imas` IMAs in `tiles` tiles:
/// `imas * ima_area_mm2 + tiles * tile_overhead_mm2`.
pub fn area(phys: &PhysicalConfig, imas: Imas, tiles: Tiles) -> Result<SquareMillimetres, PhysicalError> {
    phys.ima_area()
        .checked_mul_int(imas.get())
        .and_then(|a| {
            phys.tile_overhead()
                .checked_mul_int(tiles.get())
                .and_then(|o| a.checked_add(o))
        })
        .ok_or(PhysicalError::Overflow)
}

/// Placement of a whole mapping: total IMAs, tiles (filled in layer order) and area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// `sum_l imas_l`.
    pub imas: Imas,
    /// `ceil(sum_l imas_l / imas_per_tile)`.
    pub tiles: Tiles,
    /// `A_mm2 = imas * ima_area_mm2 + tiles * tile_overhead_mm2`.
    pub area: SquareMillimetres,
}

/// Placement of a chip with `imas` IMAs in total (DESIGN 9.2: IMAs fill tiles in layer order,
/// so only the total matters).
pub fn placement(phys: &PhysicalConfig, imas: Imas) -> Result<Placement, PhysicalError> {
    let tiles = tiles_for(phys, imas);
    Ok(Placement {
        imas,
        tiles,
        area: area(phys, imas, tiles)?,
    })
}

/// IMAs of the 8/8, `r = 1` baseline mapping: `sum_l ceil(X_l(8) / xbars_per_ima)`.
pub fn baseline_imas(arch: &ArchConfig, phys: &PhysicalConfig, layers: &[LayerShape]) -> Result<Imas, PhysicalError> {
    layers.iter().try_fold(Imas::ZERO, |acc, shape| {
        let x = xbars_per_replica(arch, shape, Bits::EIGHT)?;
        acc.checked_add(layer_imas(phys, x, 1)?).ok_or(PhysicalError::Overflow)
    })
}

/// The budget of `--area-factor F`: the largest total IMA count `n` with
/// `area(n) <= F * area(baseline_imas)` (DESIGN 9.2), where
/// `area(n) = n * ima_area_mm2 + ceil(n / imas_per_tile) * tile_overhead_mm2`.
///
/// Exact: both sides are compared as integers on the `2^-20` mm² grid of the parameters,
/// scaled by `F`'s denominator (`area(n) * den <= num * area(baseline)` in `u128`). The result
/// may be below `baseline_imas` when `F < 1`; whether such a budget is usable (mixed precision
/// can need fewer IMAs) is the caller's decision.
pub fn budget_imas(phys: &PhysicalConfig, baseline_imas: Imas, factor: AreaFactor) -> Result<Imas, PhysicalError> {
    let base = placement(phys, baseline_imas)?.area.to_bits();
    let limit = u128::from(base)
        .checked_mul(u128::from(factor.num()))
        .ok_or(PhysicalError::Overflow)?;
    let den = u128::from(factor.den());
    let ima = u128::from(phys.ima_area().to_bits());
    let ovh = u128::from(phys.tile_overhead().to_bits());
    let per_tile = u128::from(phys.imas_per_tile());
    // area(n) * den, exact in u128 for n < 2^64 (ima, ovh < 2^34 after validation).
    let fits = |n: u128| -> bool {
        let tiles = n.div_ceil(per_tile);
        let a = n.saturating_mul(ima).saturating_add(tiles.saturating_mul(ovh));
        a.saturating_mul(den) <= limit
    };
    // `area` is strictly increasing in `n` (ima > 0), so the largest fitting `n` is found by
    // bisection on `[0, hi]`, with `hi` the first power of two that does not fit.
    let mut hi: u128 = 1;
    while fits(hi) {
        hi = hi.checked_mul(2).ok_or(PhysicalError::Overflow)?;
        if hi > u128::from(u64::MAX) {
            return Err(PhysicalError::Overflow);
        }
    }
    let mut lo: u128 = 0; // area(0) = 0 always fits.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    u64::try_from(lo).map(Imas::new).map_err(|_| PhysicalError::Overflow)
}
