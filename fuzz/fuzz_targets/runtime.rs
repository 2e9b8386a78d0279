//! The runtime on arbitrary valid plans: a structured input (see [`Input`]) becomes a plan
//! with consistent placement, which is validated (inputs that fail are skipped) and run in
//! `layer` and `row` mode.
//!
//! Sizes are bounded so one input runs in milliseconds: at most [`MAX_FUZZ_LAYERS`] layers,
//! [`MAX_FUZZ_REPLICAS`] replicas per layer and [`MAX_FUZZ_INFERENCES`] inferences. Values
//! that set times (cycles per position, NoC floors, feature-map sizes) are unbounded up to
//! what validation accepts, so long layers and saturation edges are reached.
//!
//! Checks (`lrmp_fuzz::check_plan`, `lrmp_fuzz::check_runs`): every event goes to an
//! existing replica on its own tiles, never while that replica is busy, every position is
//! dispatched once; layer mode matches the flow-shop closed form; row mode is never later
//! and keeps the bottleneck period.
#![no_main]

use imc_model::runtime::{Plan, PlanHeader, PlanLayer, MAX_LAYER_CYCLES};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

const MAX_FUZZ_LAYERS: usize = 12;
const MAX_FUZZ_REPLICAS: u64 = 64;
const MAX_FUZZ_INFERENCES: u32 = 6;

#[derive(Arbitrary, Debug)]
struct Input {
    xbars_per_tile: u16,
    tiles: u16,
    chip_floor_cycles: u64,
    inferences: u8,
    layers: Vec<LayerInput>,
}

#[derive(Arbitrary, Debug)]
struct LayerInput {
    fully_connected: bool,
    in_h: u16,
    kernel_h: u8,
    out_h: u16,
    out_w: u16,
    cycles_per_position: u32,
    xbars_per_replica: u16,
    replication: u16,
    w_bits: u8,
    a_bits: u8,
    floor_cycles: u64,
}

fuzz_target!(|input: Input| {
    if input.layers.is_empty() || input.layers.len() > MAX_FUZZ_LAYERS {
        return;
    }
    let mut layers = Vec::new();
    let mut next_xbar = 0u64;
    for l in &input.layers {
        let (out_h, out_w) = if l.fully_connected {
            (1, 1)
        } else {
            (u32::from(l.out_h).max(1), u32::from(l.out_w).max(1))
        };
        let positions = u64::from(out_h) * u64::from(out_w);
        let replication = 1 + u64::from(l.replication) % positions.min(MAX_FUZZ_REPLICAS);
        let layer = PlanLayer {
            fully_connected: l.fully_connected,
            in_h: u32::from(l.in_h).max(1),
            kernel_h: u32::from(l.kernel_h).max(1),
            out_h,
            out_w,
            cycles_per_position: l.cycles_per_position.max(1),
            xbars_per_replica: u32::from(l.xbars_per_replica).max(1),
            replication: u32::try_from(replication).unwrap_or(1),
            w_bits: 1 + l.w_bits % 16,
            a_bits: 1 + l.a_bits % 16,
            floor_cycles: l.floor_cycles % (MAX_LAYER_CYCLES + 1),
            first_xbar: next_xbar,
        };
        next_xbar += layer.area().get();
        layers.push(layer);
    }
    let header = PlanHeader {
        layer_count: layers.len() as u16,
        xbars_per_tile: u32::from(input.xbars_per_tile).max(1),
        tiles: u32::from(input.tiles),
        chip_floor_cycles: input.chip_floor_cycles % (MAX_LAYER_CYCLES + 1),
    };
    let Ok(plan) = Plan::new(header, &layers) else {
        return;
    };
    lrmp_fuzz::check_plan(&plan, &layers);
    let inferences = 1 + u32::from(input.inferences) % MAX_FUZZ_INFERENCES;
    lrmp_fuzz::check_runs(&plan, inferences);
});
