//! Host replay and firmware run agree: for the optimal replication plan (`lrmp plan`'s
//! defaults: 8/8, ISAAC, area factor 1.5) of every built-in network, both objectives and
//! both cost models (the physical one of DESIGN section 9, whose floors travel in the plan,
//! and section 3 alone),
//! the firmware session (in memory, through the wire and the link client) reports exactly
//! what `imc_model::runtime::run` on the host reports, in layer and row mode: the same
//! outcome (latency, interval, makespan, dispatch events, layer executions), the same
//! digest of every dispatch event, and, in layer mode, the cost model's latency and
//! interval.

// Test code: a failed assertion (or unwrap, or out-of-range index) is the report we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use host_optimizer::link::Client;
use host_optimizer::replicate::{self, Budget, Constraints, Objective, Physical, Problem, SolverChoice};
use host_optimizer::{mapping, network, plan_file};
use imc_model::physical::{self, AreaFactor, PhysicalConfig};
use imc_model::runtime::{self, EventDigest, Mode};
use imc_model::wire::{CounterKind, RunReport};
use imc_model::{ArchConfig, Precision};
use lrmp_tests::inline_device::InlineDevice;

/// Area budget of every plan, as a multiple of the 8/8 unreplicated area.
const AREA_FACTOR: f64 = 1.5;
/// Inferences per run: enough for a steady-state interval and replica reuse.
const INFERENCES: u32 = 3;

/// The plan `lrmp plan --network <name> --area-factor 1.5 --objective <objective>` writes.
fn optimal_plan(name: &str, objective: Objective, model: Option<&PhysicalConfig>) -> plan_file::ValidPlan {
    let arch = ArchConfig::isaac();
    let net = network::builtin(name).expect("built in");
    let n = net.layers.len();
    let precisions = vec![Precision::BASELINE; n];
    let baseline_costs = mapping::baseline_costs(&arch, &net).expect("maps");
    let baseline = mapping::unreplicated(&arch, &baseline_costs).expect("totals");
    let costs = mapping::layer_costs(&arch, &net, &precisions).expect("maps");
    let layers = mapping::phys_layers(&net, &precisions);
    let budget = match model {
        None => Budget::Crossbars(mapping::budget(baseline.area, AREA_FACTOR)),
        Some(config) => {
            let chip = physical::chip_timing(&arch, config, &layers, &vec![1; n]).expect("8/8 fits");
            let factor = AreaFactor::from_decimal_str("1.5").expect("a factor");
            Budget::Imas(physical::budget_imas(config, chip.placement.imas, factor).expect("a budget"))
        }
    };
    let problem = Problem {
        arch: &arch,
        costs: &costs,
        physical: model.map(|config| Physical {
            config,
            layers: &layers,
        }),
        budget,
        objective,
        constraints: Constraints::default(),
    };
    let solution = replicate::solve(&problem, SolverChoice::Auto).expect("feasible at 1.5x");
    plan_file::build_with(&arch, model, &net, &precisions, &solution.replication)
        .expect("builds")
        .validate()
        .expect("valid")
}

/// What the firmware must report for `plan`: the host replay, with the in-memory board's
/// counter (none, so no controller cost).
fn host_replay(plan: &runtime::Plan, mode: Mode) -> RunReport {
    let mut digest = EventDigest::default();
    let outcome = runtime::run(plan, mode, INFERENCES, &mut digest).expect("the plan runs");
    RunReport {
        mode,
        inferences: INFERENCES,
        outcome,
        counter: CounterKind::None,
        controller_cost: 0,
        event_digest: digest.0,
    }
}

#[test]
fn firmware_runs_equal_host_replays_for_every_builtin_network() {
    let mut compared = 0;
    let isaac = PhysicalConfig::isaac();
    for (name, model) in network::BUILTIN
        .iter()
        .flat_map(|name| [(name, Some(&isaac)), (name, None)])
    {
        for (objective_name, objective) in [("latency", Objective::Latency), ("throughput", Objective::Throughput)] {
            let plan = optimal_plan(name, objective, model);
            let mut client = Client::new(InlineDevice::new("in-memory"));
            let caps = client.hello().expect("hello");
            client.upload(&plan.runtime, &caps).expect("upload");
            for mode in [Mode::Layer, Mode::Row] {
                let model_name = if model.is_some() { "physical" } else { "ideal" };
                let what = format!("{name}, {objective_name}, {model_name}, {mode:?} mode");
                let expected = host_replay(&plan.runtime, mode);
                let measured = client.run(mode, INFERENCES).expect("run");
                assert_eq!(measured, expected, "{what}: firmware run vs host replay");
                if mode == Mode::Layer {
                    assert_eq!(
                        (measured.outcome.latency, measured.outcome.interval),
                        (plan.totals.latency, plan.totals.interval),
                        "{what}: layer mode vs the cost model"
                    );
                } else {
                    assert!(
                        measured.outcome.latency <= plan.totals.latency,
                        "{what}: row mode reports more than layer mode"
                    );
                }
                println!(
                    "{what}: latency {} interval {} cycles, {} dispatch events, digest {:#010x}: equal",
                    measured.outcome.latency.get(),
                    measured.outcome.interval.get(),
                    measured.outcome.dispatch_events,
                    measured.event_digest
                );
                compared += 1;
            }
            assert_eq!(client.stats().retransmissions, 0, "{name}: a clean link");
        }
    }
    assert_eq!(compared, 2 * 2 * 2 * network::BUILTIN.len());
}
