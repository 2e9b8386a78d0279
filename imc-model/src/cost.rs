//! The normative cost model (DESIGN section 3): crossbars, cycles, latency, interval, area.
//!
//! Every function takes validated inputs ([`ArchConfig`], [`LayerShape`], [`Bits`]) and
//! uses checked integer arithmetic; an overflow is a [`CostError`], never a wrap or a panic.

use core::fmt;

use crate::arch::ArchConfig;
use crate::layer::LayerShape;
use crate::units::{ceil_log2, div_ceil, Bits, Crossbars, Cycles, Precision};

/// Why a cost could not be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostError {
    /// An intermediate result does not fit in 64 bits.
    Overflow,
    /// A replication factor outside `1..=positions` for the layer at this index.
    Replication {
        /// Layer index.
        layer: usize,
        /// The factor given.
        replication: u64,
        /// The layer's positions per inference.
        positions: u64,
    },
    /// The number of replication factors differs from the number of layers.
    LengthMismatch,
}

impl fmt::Display for CostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CostError::Overflow => write!(f, "cost does not fit in 64 bits"),
            CostError::Replication {
                layer,
                replication,
                positions,
            } => write!(f, "layer {layer}: replication {replication} is outside 1..={positions}"),
            CostError::LengthMismatch => write!(f, "one replication factor per layer is required"),
        }
    }
}

#[cfg(feature = "std")]
extern crate std;
#[cfg(feature = "std")]
impl std::error::Error for CostError {}

/// Weight slices `s_w = ceil(b_w / cell_bits)`: columns one weight occupies.
pub fn weight_slices(arch: &ArchConfig, w_bits: Bits) -> u64 {
    div_ceil(w_bits.get().into(), arch.cell_bits().into())
}

/// Row blocks `B = ceil(R / xbar_rows)` whose partial sums are reduced digitally.
pub fn row_blocks(arch: &ArchConfig, layer: &LayerShape) -> u64 {
    div_ceil(layer.rows_per_group(), arch.xbar_rows())
}

/// Crossbars one replica occupies, `X_l(b_w)`, with block-diagonal packing of groups.
pub fn xbars_per_replica(arch: &ArchConfig, layer: &LayerShape, w_bits: Bits) -> Result<Crossbars, CostError> {
    let rows = layer.rows_per_group();
    let cols = layer
        .cols_per_group()
        .checked_mul(weight_slices(arch, w_bits))
        .ok_or(CostError::Overflow)?;
    let g = layer.groups();
    let blocks = |r: u64, c: u64| div_ceil(r, arch.xbar_rows()).checked_mul(div_ceil(c, arch.xbar_cols()));
    let xbars = if g == 1 {
        blocks(rows, cols)
    } else if rows <= arch.xbar_rows() && cols <= arch.xbar_cols() {
        let per = (arch.xbar_rows() / rows).min(arch.xbar_cols() / cols);
        Some(div_ceil(g, per))
    } else {
        blocks(rows, cols).and_then(|b| b.checked_mul(g))
    };
    xbars.map(Crossbars::new).ok_or(CostError::Overflow)
}

/// Cycles per position `t(b_a) = ceil(b_a / dac_bits) * step + ceil(log2 B) * add`.
pub fn cycles_per_position(arch: &ArchConfig, layer: &LayerShape, a_bits: Bits) -> Cycles {
    let steps = div_ceil(a_bits.get().into(), arch.dac_bits().into());
    let stages = u64::from(ceil_log2(row_blocks(arch, layer)));
    // steps <= 16, step_cycles <= 1e6, stages <= 64, add_cycles <= 1e6: far below u64::MAX.
    Cycles::new(steps * arch.step_cycles().get() + stages * arch.add_cycles().get())
}

/// Bits of the layer's input feature map at precision `a_bits` (`D_l`).
pub fn input_bits(layer: &LayerShape, a_bits: Bits) -> u64 {
    // <= 2^20 channels * 2^32 pixels * 16 bits < 2^57.
    layer.input_elements() * u64::from(a_bits.get())
}

/// Everything the optimisers need about one layer at one precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerCost {
    /// Crossbars per replica `X_l`.
    pub xbars: Crossbars,
    /// Positions per inference `P_l`.
    pub positions: u64,
    /// Row blocks `B_l`.
    pub row_blocks: u64,
    /// Cycles per position `t_l`.
    pub cycles_per_position: Cycles,
    /// Input feature-map bits `D_l`.
    pub input_bits: u64,
    /// Data-movement floor `ceil(D_l / noc_bits_per_cycle)`, zero when the NoC is unlimited.
    pub noc_floor: Cycles,
}

impl LayerCost {
    /// Costs of `layer` at `precision` on `arch`.
    pub fn new(arch: &ArchConfig, layer: &LayerShape, precision: Precision) -> Result<LayerCost, CostError> {
        let positions = layer.positions();
        let cycles_per_position = cycles_per_position(arch, layer, precision.a_bits);
        // The unreplicated time must fit, so every replicated time fits too.
        positions
            .checked_mul(cycles_per_position.get())
            .ok_or(CostError::Overflow)?;
        let input_bits = input_bits(layer, precision.a_bits);
        let noc_floor = Cycles::new(arch.noc_bits_per_cycle().map_or(0, |noc| div_ceil(input_bits, noc)));
        Ok(LayerCost {
            xbars: xbars_per_replica(arch, layer, precision.w_bits)?,
            positions,
            row_blocks: row_blocks(arch, layer),
            cycles_per_position,
            input_bits,
            noc_floor,
        })
    }

    /// Compute time `ceil(P / r) * t` with `r` clamped into `1..=P`.
    pub fn compute_time(&self, replication: u64) -> Cycles {
        let r = replication.clamp(1, self.positions);
        Cycles::new(div_ceil(self.positions, r) * self.cycles_per_position.get())
    }

    /// Layer time `T_l(r)`: compute time, never below the data-movement floor.
    pub fn time(&self, replication: u64) -> Cycles {
        self.compute_time(replication).max(self.noc_floor)
    }

    /// True when the data-movement floor, not compute, sets the layer time at `r`.
    pub fn noc_bound(&self, replication: u64) -> bool {
        self.noc_floor > self.compute_time(replication)
    }

    /// Area of `r` replicas.
    pub fn area(&self, replication: u64) -> Option<Crossbars> {
        self.xbars.checked_mul(replication)
    }
}

/// Latency, interval and area of a whole mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Totals {
    /// Latency of one inference, layer by layer: `L = sum T_l`.
    pub latency: Cycles,
    /// Pipelined interval `I = max T_l` (and at least the chip NoC floor).
    pub interval: Cycles,
    /// Area `A = sum r_l X_l`.
    pub area: Crossbars,
}

/// Chip-level data-movement floor on the interval: `ceil(sum D_l / noc_bits_per_cycle)`.
pub fn chip_noc_floor(arch: &ArchConfig, costs: &[LayerCost]) -> Result<Cycles, CostError> {
    let Some(noc) = arch.noc_bits_per_cycle() else {
        return Ok(Cycles::new(0));
    };
    let total = costs
        .iter()
        .try_fold(0u64, |acc, c| acc.checked_add(c.input_bits))
        .ok_or(CostError::Overflow)?;
    Ok(Cycles::new(div_ceil(total, noc)))
}

/// Totals of a mapping with replication `replication[l]` for layer `l`.
pub fn totals(arch: &ArchConfig, costs: &[LayerCost], replication: &[u64]) -> Result<Totals, CostError> {
    if costs.len() != replication.len() {
        return Err(CostError::LengthMismatch);
    }
    let mut latency = Cycles::new(0);
    let mut interval = chip_noc_floor(arch, costs)?;
    let mut area = Crossbars::new(0);
    for (layer, (cost, &r)) in costs.iter().zip(replication).enumerate() {
        if r == 0 || r > cost.positions {
            return Err(CostError::Replication {
                layer,
                replication: r,
                positions: cost.positions,
            });
        }
        let time = cost.time(r);
        latency = latency.checked_add(time).ok_or(CostError::Overflow)?;
        interval = interval.max(time);
        area = cost
            .area(r)
            .and_then(|a| area.checked_add(a))
            .ok_or(CostError::Overflow)?;
    }
    Ok(Totals {
        latency,
        interval,
        area,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::ArchParams;

    fn bits(b: u8) -> Bits {
        Bits::new(b).unwrap()
    }

    fn conv(c_in: u32, c_out: u32, k: u32, g: u32, out: u32) -> LayerShape {
        LayerShape::new(crate::layer::test_shapes::conv(c_in, c_out, k, g, out)).unwrap()
    }

    #[test]
    fn weight_slices_round_up() {
        let a = ArchConfig::isaac();
        let s: [u64; 8] = core::array::from_fn(|i| weight_slices(&a, bits(i as u8 + 1)));
        assert_eq!(s, [1, 1, 2, 2, 3, 3, 4, 4]);
    }

    #[test]
    fn dense_conv_crossbars() {
        let a = ArchConfig::isaac();
        // ResNet conv1: R = 3*7*7 = 147 -> 2 row blocks; C*s_w = 64*4 = 256 -> 2 column blocks.
        let c1 = conv(3, 64, 7, 1, 112);
        assert_eq!(xbars_per_replica(&a, &c1, bits(8)), Ok(Crossbars::new(4)));
        // At 2 bits: 64 columns -> 1 column block.
        assert_eq!(xbars_per_replica(&a, &c1, bits(2)), Ok(Crossbars::new(2)));
        // 3x3 512->512: R = 4608 -> 36 row blocks; 512*4 = 2048 -> 16 column blocks.
        let c = conv(512, 512, 3, 1, 7);
        assert_eq!(xbars_per_replica(&a, &c, bits(8)), Ok(Crossbars::new(576)));
        // 5 bits -> 3 slices: 1536 columns -> 12 blocks.
        assert_eq!(xbars_per_replica(&a, &c, bits(5)), Ok(Crossbars::new(432)));
    }

    #[test]
    fn depthwise_groups_pack_block_diagonally() {
        let a = ArchConfig::isaac();
        // R = 9, C*s_w = 4: per = min(128/9 = 14, 128/4 = 32) = 14 groups a crossbar.
        let dw = conv(32, 32, 3, 32, 112);
        assert_eq!(xbars_per_replica(&a, &dw, bits(8)), Ok(Crossbars::new(3)));
        // 960 groups / 14 = 68.6 -> 69.
        let dw = conv(960, 960, 3, 960, 7);
        assert_eq!(xbars_per_replica(&a, &dw, bits(8)), Ok(Crossbars::new(69)));
        // At 2 bits: per = min(14, 128) = 14, unchanged: rows limit the packing.
        assert_eq!(xbars_per_replica(&a, &dw, bits(2)), Ok(Crossbars::new(69)));
    }

    #[test]
    fn grouped_conv_packing_and_overflowing_groups() {
        let a = ArchConfig::isaac();
        // g=4, 64->64, 3x3: R = 16*9 = 144 > 128, so each group spans crossbars:
        // 4 * ceil(144/128)=2 * ceil(16*4/128)=1 = 8.
        let g = conv(64, 64, 3, 4, 14);
        assert_eq!(xbars_per_replica(&a, &g, bits(8)), Ok(Crossbars::new(8)));
        // g=8, 64->128, 1x1: R = 8, C*s_w = 16*4 = 64: per = min(16, 2) = 2 -> 4 crossbars.
        let g = conv(64, 128, 1, 8, 14);
        assert_eq!(xbars_per_replica(&a, &g, bits(8)), Ok(Crossbars::new(4)));
        // g=2, 512->512, 3x3: 2 * ceil(2304/128)=18 * ceil(1024/128)=8 = 288.
        let g = conv(512, 512, 3, 2, 7);
        assert_eq!(xbars_per_replica(&a, &g, bits(8)), Ok(Crossbars::new(288)));
    }

    #[test]
    fn cycles_per_position_includes_reduction_tree() {
        let a = ArchConfig::isaac();
        // B = 1: no add stage.
        assert_eq!(cycles_per_position(&a, &conv(8, 8, 3, 1, 4), bits(8)), Cycles::new(800));
        // R = 147: B = 2, one add stage.
        assert_eq!(
            cycles_per_position(&a, &conv(3, 64, 7, 1, 112), bits(8)),
            Cycles::new(801)
        );
        // R = 4608: B = 36, ceil(log2 36) = 6 stages.
        assert_eq!(
            cycles_per_position(&a, &conv(512, 512, 3, 1, 7), bits(4)),
            Cycles::new(406)
        );
        // FC 4096 inputs: B = 32 -> 5 stages.
        assert_eq!(
            cycles_per_position(&a, &LayerShape::fc(4096, 1000).unwrap(), bits(8)),
            Cycles::new(805)
        );
        // A 2-bit DAC takes ceil(5/2) = 3 steps.
        let mut p = ArchParams::ISAAC;
        p.dac_bits = 2;
        p.add_cycles = 3;
        let a2 = ArchConfig::new(p).unwrap();
        assert_eq!(
            cycles_per_position(&a2, &conv(3, 64, 7, 1, 112), bits(5)),
            Cycles::new(303)
        );
    }

    #[test]
    fn layer_time_and_totals() {
        let a = ArchConfig::isaac();
        let c1 = LayerCost::new(&a, &conv(3, 64, 7, 1, 112), Precision::BASELINE).unwrap();
        assert_eq!(c1.positions, 12544);
        assert_eq!(c1.time(1), Cycles::new(12544 * 801));
        // ceil(12544 / 3) = 4182.
        assert_eq!(c1.time(3), Cycles::new(4182 * 801));
        let fc = LayerCost::new(&a, &LayerShape::fc(512, 1000).unwrap(), Precision::BASELINE).unwrap();
        assert_eq!(fc.xbars, Crossbars::new(128));
        assert_eq!(fc.time(1), Cycles::new(802));
        let t = totals(&a, &[c1, fc], &[3, 1]).unwrap();
        assert_eq!(t.latency, Cycles::new(4182 * 801 + 802));
        assert_eq!(t.interval, Cycles::new(4182 * 801));
        assert_eq!(t.area, Crossbars::new(3 * 4 + 128));
        assert_eq!(
            totals(&a, &[c1, fc], &[3, 2]),
            Err(CostError::Replication {
                layer: 1,
                replication: 2,
                positions: 1
            })
        );
        assert_eq!(totals(&a, &[c1], &[1, 1]), Err(CostError::LengthMismatch));
    }

    #[test]
    fn noc_floor_bounds_replication() {
        let mut p = ArchParams::ISAAC;
        p.noc_bits_per_cycle = 64;
        let a = ArchConfig::new(p).unwrap();
        let shape = conv(3, 64, 7, 1, 112);
        let c = LayerCost::new(&a, &shape, Precision::BASELINE).unwrap();
        // D = 3*112*112*8 = 301056 bits -> 4704 cycles at 64 bits/cycle.
        assert_eq!(c.noc_floor, Cycles::new(4704));
        assert_eq!(c.time(12544), Cycles::new(4704));
        assert!(c.noc_bound(12544) && !c.noc_bound(1));
        let t = totals(&a, &[c, c], &[12544, 12544]).unwrap();
        assert_eq!(t.interval, Cycles::new(2 * 4704));
    }
}
