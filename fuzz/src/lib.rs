//! Invariant checks shared by the fuzz targets (see `docs/fuzzing.md`).
//!
//! Each check takes a value that passed the library's own validation and asserts what the
//! library documents about it; a failed assertion is a fuzz finding. The checks use only
//! public APIs and restate the documented properties independently (running sums, a flow
//! shop's closed form), so they do not share a bug with the code under test.
//!
//! Work is bounded by the callers: [`check_runs`] is only given plans small enough that a
//! run takes milliseconds.

use imc_model::runtime::{
    run, DispatchEvent, DispatchSink, Mode, Plan, PlanLayer, RunOutcome, MAX_LAYERS, MAX_LAYER_CYCLES, MAX_REPLICAS,
};
use imc_model::{ArchConfig, Bits, LayerCost, Precision};
use lrmp_network::Network;

/// Checks a validated plan against the documented invariants of `imc_model::runtime::plan`;
/// `layers` are the raw layers it was built from.
pub fn check_plan(plan: &Plan, layers: &[PlanLayer]) {
    assert_eq!(plan.layers(), layers, "validation must not change layers");
    assert!((1..=MAX_LAYERS).contains(&layers.len()));
    assert_eq!(usize::from(plan.header().layer_count), layers.len());
    assert!(plan.header().xbars_per_tile > 0);
    let tiles = u64::from(plan.header().tiles);
    let mut next_xbar = 0u64;
    for (index, l) in layers.iter().enumerate() {
        let positions = u64::from(l.out_h) * u64::from(l.out_w);
        let r = u64::from(l.replication);
        assert!(r >= 1 && r <= positions && r <= MAX_REPLICAS, "layer {index}: {l:?}");
        assert!(l.cycles_per_position >= 1 && l.xbars_per_replica >= 1);
        assert!(Bits::new(l.w_bits).is_some() && Bits::new(l.a_bits).is_some());
        assert!(!l.fully_connected || (l.out_h, l.out_w) == (1, 1));
        let compute = positions.div_ceil(r) * u64::from(l.cycles_per_position);
        assert_eq!(l.time().get(), compute.max(l.floor_cycles));
        assert!(l.time().get() <= MAX_LAYER_CYCLES);
        assert_eq!(l.first_xbar, next_xbar, "layer {index}: placement");
        next_xbar = next_xbar
            .checked_add(r * u64::from(l.xbars_per_replica))
            .expect("validated area fits u64");
        for replica in [0, l.replication / 2, l.replication - 1] {
            let range = plan.replica_tiles(index, replica).expect("replica exists");
            assert!(range.first <= range.last);
            assert!(
                tiles == 0 || range.last < tiles,
                "layer {index} replica {replica}: {range:?}"
            );
        }
        assert_eq!(plan.replica_tiles(index, l.replication), None);
    }
    assert_eq!(plan.replica_tiles(layers.len(), 0), None);
    assert_eq!(plan.area().get(), next_xbar);
    let bottleneck = layers
        .iter()
        .map(|l| l.time().get())
        .fold(plan.header().chip_floor_cycles, u64::max);
    assert_eq!(plan.bottleneck().get(), bottleneck);
    assert!(bottleneck <= MAX_LAYER_CYCLES);
}

/// Replica-batches a run would dispatch, an upper bound on its work.
pub fn dispatch_work(plan: &Plan, inferences: u32) -> u64 {
    let replicas: u64 = plan.layers().iter().map(|l| u64::from(l.replication)).sum();
    // Row mode deals each layer in at most `MAX_ROW_BANDS` groups of at most `r` batches.
    replicas * u64::from(inferences) * imc_model::runtime::MAX_ROW_BANDS as u64
}

/// Checks every dispatch event against the plan as it arrives.
struct Checker<'a> {
    plan: &'a Plan,
    inferences: u32,
    /// Positions dispatched per (inference, layer).
    positions: Vec<u64>,
    /// When each replica (flattened over layers) is free again.
    replica_free: Vec<u64>,
    /// Index of each layer's first replica in `replica_free`.
    replica_base: Vec<usize>,
    events: u64,
}

impl<'a> Checker<'a> {
    fn new(plan: &'a Plan, inferences: u32) -> Checker<'a> {
        let mut replica_base = Vec::new();
        let mut total = 0usize;
        for l in plan.layers() {
            replica_base.push(total);
            total += l.replication as usize;
        }
        Checker {
            plan,
            inferences,
            positions: vec![0; inferences as usize * plan.layers().len()],
            replica_free: vec![0; total],
            replica_base,
            events: 0,
        }
    }
}

impl DispatchSink for Checker<'_> {
    fn dispatch(&mut self, e: &DispatchEvent) {
        let index = usize::from(e.layer);
        let l = self.plan.layers()[index];
        assert!(e.inference < self.inferences, "{e:?}");
        assert!(e.replica < l.replication, "{e:?}");
        assert_eq!(Some(e.tiles), self.plan.replica_tiles(index, e.replica), "{e:?}");
        assert!(e.positions >= 1, "{e:?}");
        let busy = u64::from(e.positions) * u64::from(l.cycles_per_position);
        assert_eq!(e.end.get() - e.start.get(), busy, "{e:?}");
        let free = &mut self.replica_free[self.replica_base[index] + e.replica as usize];
        assert!(e.start.get() >= *free, "replica busy until {free}: {e:?}");
        *free = e.end.get();
        self.positions[e.inference as usize * self.plan.layers().len() + index] += u64::from(e.positions);
        self.events += 1;
    }
}

/// Runs `plan` in `mode`, checking every event; returns the outcome.
fn checked_run(plan: &Plan, mode: Mode, inferences: u32) -> RunOutcome {
    let mut checker = Checker::new(plan, inferences);
    let outcome = run(plan, mode, inferences, &mut checker).expect("inference count is in range");
    for (slot, done) in checker.positions.iter().enumerate() {
        let l = plan.layers()[slot % plan.layers().len()];
        assert_eq!(
            *done,
            l.positions(),
            "{mode:?}: inference/layer slot {slot} dispatched {done}"
        );
    }
    assert_eq!(outcome.dispatch_events, checker.events);
    assert_eq!(
        outcome.layer_executions,
        u64::from(inferences) * plan.layers().len() as u64
    );
    outcome
}

/// Runs `plan` in both modes for `inferences` (`1..=MAX_INFERENCES`) inferences and checks
/// the documented outcomes: layer mode is the closed form of a flow shop of identical jobs
/// released every `chip_floor_cycles` cycles (latency `sum T_l`, interval the bottleneck
/// period); row mode is never later and has the same period.
pub fn check_runs(plan: &Plan, inferences: u32) {
    let layer = checked_run(plan, Mode::Layer, inferences);
    let latency: u64 = plan.layers().iter().map(|l| l.time().get()).sum();
    let period = plan.bottleneck().get();
    let later = u64::from(inferences - 1) * period;
    assert_eq!(layer.latency.get(), latency, "layer-mode latency");
    assert_eq!(
        layer.interval.get(),
        if inferences > 1 { period } else { 0 },
        "layer-mode interval"
    );
    assert_eq!(layer.makespan.get(), latency + later, "layer-mode makespan");
    let row = checked_run(plan, Mode::Row, inferences);
    assert!(row.latency <= layer.latency, "row {row:?} layer {layer:?}");
    assert_eq!(row.interval, layer.interval, "row {row:?} layer {layer:?}");
    assert!(row.makespan <= layer.makespan, "row {row:?} layer {layer:?}");
    assert!(row.dispatch_events >= layer.dispatch_events);
}

/// Checks an imported network: non-empty, unique non-empty names, and every layer goes
/// through the cost model and into a plan without a panic (errors are allowed: an
/// imported layer may be too large for a preset).
pub fn check_network(net: &Network) {
    assert!(!net.layers.is_empty());
    let mut names: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
    assert!(names.iter().all(|n| !n.trim().is_empty()));
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "duplicate layer names");
    let arch = ArchConfig::isaac();
    let eight = Bits::new(8).expect("8 bits is valid");
    let precision = Precision {
        w_bits: eight,
        a_bits: eight,
    };
    for layer in &net.layers {
        let d = layer.shape.dims();
        assert!(
            d.out_h >= 1 && d.out_w >= 1 && d.c_in >= 1 && d.c_out >= 1,
            "{}",
            layer.name
        );
        let _ = LayerCost::new(&arch, &layer.shape, precision);
    }
    let _ = Plan::from_model(&arch, net.layers.iter().map(|l| (&l.shape, precision, 1)));
    let _ = net.total_weights();
}
