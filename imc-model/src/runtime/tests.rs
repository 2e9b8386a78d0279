//! Runtime checks: layer mode reproduces `cost::totals` exactly and matches a one-position-
//! at-a-time oracle; row mode is never slower; placement and validation hold.

extern crate std;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::arch::{ArchConfig, ArchParams};
use crate::cost::{totals, LayerCost};
use crate::layer::{LayerDims, LayerKind, LayerShape};
use crate::units::{Bits, Cycles, Precision};

fn conv(c_in: u32, c_out: u32, k: u32, stride: u32, input: u32) -> LayerShape {
    let out = input / stride;
    LayerShape::new(LayerDims {
        kind: LayerKind::Conv,
        c_in,
        c_out,
        kernel_h: k,
        kernel_w: k,
        groups: 1,
        in_h: input,
        in_w: input,
        out_h: out,
        out_w: out,
    })
    .unwrap()
}

fn precision(w: u8, a: u8) -> Precision {
    Precision {
        w_bits: Bits::new(w).unwrap(),
        a_bits: Bits::new(a).unwrap(),
    }
}

type Spec = (LayerShape, Precision, u64);

fn plan_of(arch: &ArchConfig, spec: &[Spec]) -> Plan {
    Plan::from_model(arch, spec.iter().map(|(s, p, r)| (s, *p, *r))).unwrap()
}

fn model_totals(arch: &ArchConfig, spec: &[Spec]) -> crate::cost::Totals {
    let costs: Vec<LayerCost> = spec
        .iter()
        .map(|(s, p, _)| LayerCost::new(arch, s, *p).unwrap())
        .collect();
    let reps: Vec<u64> = spec.iter().map(|s| s.2).collect();
    totals(arch, &costs, &reps).unwrap()
}

/// One position at a time to the replica that frees first (lowest index on ties).
fn oracle_layer_mode(plan: &Plan, inferences: u32) -> (u64, u64) {
    let layers = plan.layers();
    let mut busy: Vec<Vec<u64>> = layers.iter().map(|l| std::vec![0; l.replication as usize]).collect();
    let mut layer_end = std::vec![0u64; layers.len()];
    let mut completions = Vec::new();
    for k in 0..u64::from(inferences) {
        let mut ready = k * plan.header().chip_floor_cycles;
        for (l, layer) in layers.iter().enumerate() {
            let start = ready.max(layer_end[l]);
            let mut end = start;
            for _ in 0..layer.positions() {
                let (j, free) = busy[l]
                    .iter()
                    .copied()
                    .enumerate()
                    .min_by_key(|&(j, b)| (b.max(start), j))
                    .unwrap();
                let finish = free.max(start) + u64::from(layer.cycles_per_position);
                busy[l][j] = finish;
                end = end.max(finish);
            }
            end = end.max(start + layer.floor_cycles);
            layer_end[l] = end;
            ready = end;
        }
        completions.push(ready);
    }
    let n = completions.len();
    let interval = if n > 1 {
        completions[n - 1] - completions[n - 2]
    } else {
        0
    };
    (completions[0], interval)
}

fn small_net() -> Vec<Spec> {
    std::vec![
        (conv(3, 16, 3, 1, 12), precision(8, 8), 5),
        (conv(16, 32, 3, 2, 12), precision(4, 6), 3),
        (conv(32, 32, 1, 1, 6), precision(2, 2), 1),
        (LayerShape::fc(32 * 36, 10).unwrap(), precision(8, 8), 1),
    ]
}

#[test]
fn layer_mode_reproduces_cost_model_and_oracle() {
    let arch = ArchConfig::isaac();
    let spec = small_net();
    let plan = plan_of(&arch, &spec);
    let model = model_totals(&arch, &spec);
    let out = run(&plan, Mode::Layer, 4, &mut NoSink).unwrap();
    assert_eq!(out.latency, model.latency);
    assert_eq!(out.interval, model.interval);
    assert_eq!(oracle_layer_mode(&plan, 4), (model.latency.get(), model.interval.get()));
    // One event per replica per layer execution.
    assert_eq!(out.dispatch_events, 4 * (5 + 3 + 1 + 1));
    assert_eq!(out.layer_executions, 16);
    assert_eq!(plan.area(), model.area);
}

#[test]
fn noc_floors_are_reproduced() {
    let mut p = ArchParams::ISAAC;
    p.noc_bits_per_cycle = 16;
    let arch = ArchConfig::new(p).unwrap();
    let mut spec = small_net();
    spec[0].2 = 144; // fully replicated: bound by its NoC floor
    let plan = plan_of(&arch, &spec);
    assert!(plan.layers()[0].floor_cycles > 0 && plan.header().chip_floor_cycles > 0);
    let model = model_totals(&arch, &spec);
    let out = run(&plan, Mode::Layer, 3, &mut NoSink).unwrap();
    assert_eq!((out.latency, out.interval), (model.latency, model.interval));
    assert_eq!(oracle_layer_mode(&plan, 3), (model.latency.get(), model.interval.get()));
}

#[test]
fn row_mode_overlaps_layers_but_never_exceeds_layer_mode() {
    let arch = ArchConfig::isaac();
    let plan = plan_of(&arch, &small_net());
    let layer = run(&plan, Mode::Layer, 4, &mut NoSink).unwrap();
    let row = run(&plan, Mode::Row, 4, &mut NoSink).unwrap();
    assert!(row.latency < layer.latency, "row {row:?} layer {layer:?}");
    assert!(row.interval <= layer.interval);
}

struct Recorder(Vec<DispatchEvent>);
impl DispatchSink for Recorder {
    fn dispatch(&mut self, event: &DispatchEvent) {
        self.0.push(*event);
    }
}

#[test]
fn events_cover_every_position_on_the_right_tiles() {
    let mut small_tiles = ArchParams::ISAAC;
    small_tiles.xbars_per_tile = 5; // replicas straddle tiles; some span several
    for arch in [ArchConfig::isaac(), ArchConfig::new(small_tiles).unwrap()] {
        let plan = plan_of(&arch, &small_net());
        for mode in [Mode::Layer, Mode::Row] {
            let mut rec = Recorder(Vec::new());
            run(&plan, mode, 2, &mut rec).unwrap();
            for (l, layer) in plan.layers().iter().enumerate() {
                let mine: Vec<_> = rec
                    .0
                    .iter()
                    .filter(|e| e.layer as usize == l && e.inference == 1)
                    .collect();
                let total: u64 = mine.iter().map(|e| u64::from(e.positions)).sum();
                assert_eq!(total, layer.positions());
                for e in mine {
                    assert_eq!(Some(e.tiles), plan.replica_tiles(l, e.replica), "{e:?}");
                    let busy = u64::from(e.positions) * u64::from(layer.cycles_per_position);
                    assert_eq!(e.end.get() - e.start.get(), busy);
                }
            }
        }
    }
    let plan = plan_of(&ArchConfig::isaac(), &small_net());
    // Replicas are packed in layer order: conv1 = 5 replicas of 1 crossbar on tile 0;
    // the FC layer sits after every earlier replica.
    assert_eq!(plan.replica_tiles(0, 4), Some(TileRange { first: 0, last: 0 }));
    assert_eq!(plan.replica_tiles(0, 5), None);
    assert_eq!(plan.replica_tiles(9, 0), None);
}

#[test]
fn validation_refuses_bad_layers() {
    let arch = ArchConfig::isaac();
    let plan = plan_of(&arch, &small_net());
    let header = *plan.header();
    let good: Vec<PlanLayer> = plan.layers().to_vec();
    let mut bad = good.clone();
    bad[1].replication = 0;
    assert_eq!(Plan::new(header, &bad), Err(PlanError::Replication(1)));
    let mut bad = good.clone();
    bad[2].first_xbar += 1;
    assert_eq!(Plan::new(header, &bad), Err(PlanError::Placement(2)));
    let mut bad = good.clone();
    bad[3].out_h = 2;
    assert_eq!(Plan::new(header, &bad), Err(PlanError::Shape(3)));
    assert_eq!(Plan::new(header, &good[..3]), Err(PlanError::CountMismatch));
    let mut small_chip = header;
    small_chip.tiles = 1;
    small_chip.xbars_per_tile = 4;
    assert!(matches!(Plan::new(small_chip, &good), Err(PlanError::TilesExceeded(_))));
    assert_eq!(run(&plan, Mode::Layer, 0, &mut NoSink), Err(RunError::Inferences));
}

#[test]
fn resnet_sized_stream_is_exact_and_batched() {
    // 54 layers with ResNet-50-like extents; 12544-position layers dispatched in batches.
    let arch = ArchConfig::isaac();
    let mut spec = std::vec![(conv(3, 64, 7, 2, 224), Precision::BASELINE, 64)];
    for i in 0..52u32 {
        let side = [56, 28, 14, 7][(i / 13) as usize];
        spec.push((
            conv(64 << (i / 13), 64 << (i / 13), 3, 1, side),
            precision(2 + (i % 7) as u8, 4),
            1 + u64::from(i % 5),
        ));
    }
    spec.push((LayerShape::fc(2048, 1000).unwrap(), Precision::BASELINE, 1));
    let plan = plan_of(&arch, &spec);
    let model = model_totals(&arch, &spec);
    let out = run(&plan, Mode::Layer, 8, &mut NoSink).unwrap();
    assert_eq!((out.latency, out.interval), (model.latency, model.interval));
    let row = run(&plan, Mode::Row, 8, &mut NoSink).unwrap();
    assert!(row.latency <= out.latency && row.interval <= out.interval);
    assert_eq!(out.dispatch_events, 8 * spec.iter().map(|s| s.2).sum::<u64>());
}

fn arb_spec() -> impl Strategy<Value = Vec<Spec>> {
    let layer = (1u32..5, 1u32..4, 1u32..3, 2u8..9, 1u8..9, 1u32..40).prop_map(|(c, k, s, w, a, r)| {
        let side = 8;
        let shape = conv(4 * c, 8, k, s, side);
        let reps = u64::from(r).min(shape.positions());
        (shape, precision(w, a), reps)
    });
    prop::collection::vec(layer, 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn layer_mode_is_exact_and_row_mode_never_slower(spec in arb_spec(), n in 1u32..6, noc in 0u64..3) {
        let mut p = ArchParams::ISAAC;
        p.noc_bits_per_cycle = [0, 8, 64][noc as usize];
        let arch = ArchConfig::new(p).unwrap();
        let plan = plan_of(&arch, &spec);
        let model = model_totals(&arch, &spec);
        let layer = run(&plan, Mode::Layer, n, &mut NoSink).unwrap();
        prop_assert_eq!(layer.latency, model.latency);
        let expected_interval = if n > 1 { model.interval } else { Cycles::new(0) };
        prop_assert_eq!(layer.interval, expected_interval);
        prop_assert_eq!(oracle_layer_mode(&plan, n), (model.latency.get(), expected_interval.get()));
        let row = run(&plan, Mode::Row, n, &mut NoSink).unwrap();
        prop_assert!(row.latency <= layer.latency);
        prop_assert!(row.interval <= layer.interval, "row {:?} layer {:?}", row, layer);
        // Admitted at the bottleneck period, the row-mode stream is exactly periodic.
        prop_assert_eq!(row.interval, layer.interval);
        prop_assert!(row.makespan <= layer.makespan);
    }
}
