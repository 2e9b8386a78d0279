//! Search tests on a small synthetic CNN with a synthetic additive drop model, so they do
//! not depend on the built-in networks or the calibrated proxy.

use std::time::Duration;

use imc_model::{ArchConfig, Bits, Precision};

use super::adapters::ExactReplicator;
use super::evaluate::{Evaluator, Replicator};
use super::methods::{run_method, Method, Tools};
use super::milp::{replicate_exact, solve_joint, LayerDrops};
use super::problem::fixtures::small_cnn;
use super::problem::{Goal, ProblemSpec, SearchError, SearchProblem};
use super::rl::RlConfig;

/// Drop of one layer: quantization noise of weights and activations, `0` at 8 bits.
fn layer_drop(_layer: usize, p: Precision) -> f64 {
    let noise = |b: Bits| 2f64.powi(-(i32::from(b.get()))) * 256.0 - 1.0;
    0.02 * noise(p.w_bits) + 0.03 * noise(p.a_bits)
}

fn problem(goal: Goal, factor: f64) -> SearchProblem {
    let spec = ProblemSpec {
        area_factor: factor,
        goal,
        ..ProblemSpec::default()
    };
    SearchProblem::new(ArchConfig::isaac(), &small_cnn(), &spec).unwrap()
}

fn oracle(p: &[Precision]) -> Result<f64, SearchError> {
    Ok(p.iter().enumerate().map(|(l, &q)| layer_drop(l, q)).sum())
}

fn run(problem: &SearchProblem, method: Method, episodes: usize, seed: u64) -> super::MethodResult {
    let mut replicator = replicate_exact;
    let mut oracle = oracle;
    let drops: &dyn LayerDrops = &layer_drop;
    let mut tools = Tools {
        replicator: &mut replicator,
        oracle: &mut oracle,
        layer_drops: Some(drops),
        rl: RlConfig {
            episodes,
            seed,
            ..RlConfig::default()
        },
        precisions: None,
        milp_time_limit: Duration::from_secs(30),
    };
    run_method(problem, method, &mut tools, &mut |_| {}).unwrap()
}

#[test]
fn exact_replication_matches_the_replicate_fast_path() {
    for goal in [Goal::Latency, Goal::Throughput] {
        let p = problem(goal, 1.3);
        let precisions = p.pin(vec![
            Precision {
                w_bits: Bits::new(4).unwrap(),
                a_bits: Bits::new(4).unwrap()
            };
            p.len()
        ]);
        let costs = p.costs(&precisions).unwrap();
        let r = replicate_exact(&costs, None, p.budget, goal).unwrap().unwrap();
        let t = imc_model::cost::totals(&p.arch, &costs, &r).unwrap();
        assert!(t.area.get() <= p.budget.units());
        // An independent exact method: the replication engineer's bisection / knapsack DP.
        let fast = ExactReplicator::new(p.arch)
            .replicate(&costs, None, p.budget, goal)
            .unwrap()
            .unwrap();
        let tf = imc_model::cost::totals(&p.arch, &costs, &fast).unwrap();
        assert_eq!(goal.metric(&t), goal.metric(&tf), "{goal:?}");
    }
}

#[test]
fn joint_milp_is_no_worse_than_any_method_and_respects_budgets() {
    for goal in [Goal::Latency, Goal::Throughput] {
        let p = problem(goal, 1.0);
        let milp = run(&p, Method::Milp, 1, 0);
        assert!(milp.feasible && milp.totals.area.get() <= p.budget.units() && milp.drop <= p.max_drop + 1e-9);
        for method in [Method::ReplicationOnly, Method::Uniform(6), Method::Random, Method::Rl] {
            let other = run(&p, method, 60, 1);
            if other.feasible {
                assert!(
                    other.gain <= milp.gain * (1.0 + 1e-12),
                    "{method} {} > milp {}",
                    other.gain,
                    milp.gain
                );
            }
        }
        // Some precision lowering is affordable under a 1-point budget: more than replication alone.
        assert!(milp.gain > run(&p, Method::ReplicationOnly, 1, 0).gain);
    }
}

#[test]
fn joint_milp_reports_infeasible_budgets_as_none() {
    let p = problem(Goal::Latency, 0.1);
    assert_eq!(solve_joint(&p, &layer_drop, Duration::from_secs(10)).unwrap(), None);
}

#[test]
fn same_seed_same_search_and_rl_beats_random() {
    let p = problem(Goal::Latency, 1.0);
    let a = run(&p, Method::Rl, 80, 5);
    let b = run(&p, Method::Rl, 80, 5);
    assert_eq!(a.precisions, b.precisions);
    assert_eq!(a.history, b.history);
    assert!(a.feasible);
    let random = run(&p, Method::Random, 80, 5);
    assert!(a.gain >= random.gain, "rl {} < random {}", a.gain, random.gain);
}

#[test]
fn evaluator_counts_and_scores() {
    let p = problem(Goal::Throughput, 1.0);
    let mut replicator = replicate_exact;
    let mut oracle = oracle;
    let mut e = Evaluator::new(&p, &mut replicator, &mut oracle);
    let base = e.evaluate(vec![Precision::BASELINE; p.len()]).unwrap();
    assert!(base.feasible && base.gain >= 1.0 && (base.reward - base.gain.ln()).abs() < 1e-12);
    let two = Bits::new(2).unwrap();
    let low = e
        .evaluate(vec![
            Precision {
                w_bits: two,
                a_bits: two
            };
            p.len()
        ])
        .unwrap();
    // Pinned ends stay 8/8; the drop of 2-bit middles exceeds one point and is penalised.
    assert_eq!(low.precisions[0], Precision::BASELINE);
    assert!(!low.feasible && low.reward < low.gain.ln());
    assert_eq!(e.evaluations(), 2);
    assert_eq!(e.best().map(|b| b.gain), Some(base.gain));
}

/// Measures RL, random and the joint MILP on built-in networks with the calibrated proxy
/// (`cargo test --release -p host-optimizer --lib measure_builtin -- --ignored --nocapture`;
/// `LRMP_NETS=resnet50,vgg16`, `LRMP_EPISODES=300`).
#[test]
#[ignore = "slow: a measurement, run in release"]
fn measure_builtin_networks() {
    use crate::accuracy::OracleSpec;
    let nets = std::env::var("LRMP_NETS").unwrap_or_else(|_| "resnet50".into());
    let episodes: usize = std::env::var("LRMP_EPISODES")
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(300);
    for name in nets.split(',') {
        let net = crate::network::load(name).unwrap();
        for goal in [Goal::Latency, Goal::Throughput] {
            let spec = ProblemSpec {
                goal,
                ..ProblemSpec::default()
            };
            let p = SearchProblem::new(ArchConfig::isaac(), &net, &spec).unwrap();
            let rl = RlConfig {
                episodes,
                ..RlConfig::default()
            };
            let mut line = format!("{name} {}:", goal.as_str());
            for m in [Method::Milp, Method::Rl, Method::Random, Method::ReplicationOnly] {
                let r = super::adapters::run_with_project_tools(
                    &net,
                    &p,
                    &OracleSpec::Proxy,
                    m,
                    rl.clone(),
                    None,
                    &mut |_| {},
                )
                .unwrap();
                line += &format!("  {m} {:.3}x drop {:.3} ({:.1} s)", r.gain, r.drop, r.seconds);
            }
            println!("{line}");
        }
    }
}

/// RL against random search over several seeds on chosen cases (`LRMP_CASES=
/// resnet18:latency:2.0,...`, `LRMP_SEEDS=5`, `LRMP_EPISODES=200`): final best and the
/// evaluation at which each reached it.
#[test]
#[ignore = "slow: a measurement, run in release"]
fn measure_rl_against_random() {
    use crate::accuracy::OracleSpec;
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.into());
    let seeds: u64 = env("LRMP_SEEDS", "3").parse().unwrap();
    let episodes: usize = env("LRMP_EPISODES", "200").parse().unwrap();
    let methods: Vec<Method> = env("LRMP_METHODS", "rl,random")
        .split(',')
        .map(|m| m.parse().unwrap())
        .collect();
    let mut ddpg = super::agent::DdpgConfig::default();
    if let Ok(v) = std::env::var("LRMP_DECAY") {
        ddpg.noise_decay = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("LRMP_SIGMA") {
        ddpg.noise_sigma = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("LRMP_WARMUP") {
        ddpg.warmup_episodes = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("LRMP_RANDOM_EPISODES") {
        ddpg.random_episode_rate = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("LRMP_WIDEN") {
        ddpg.revisit_widening = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("LRMP_UPDATES") {
        ddpg.updates_per_episode = v.parse().unwrap();
    }
    for case in env("LRMP_CASES", "resnet18:latency:2.0").split(',') {
        let parts: Vec<&str> = case.split(':').collect();
        let net = crate::network::load(parts[0]).unwrap();
        let goal = if parts[1] == "latency" {
            Goal::Latency
        } else {
            Goal::Throughput
        };
        let spec = ProblemSpec {
            goal,
            area_factor: parts[2].parse().unwrap(),
            ..ProblemSpec::default()
        };
        let p = SearchProblem::new(ArchConfig::isaac(), &net, &spec).unwrap();
        for &m in &methods {
            let mut line = format!("{case} {m}:");
            let mut sum = 0.0;
            for seed in 0..seeds {
                let rl = RlConfig {
                    episodes,
                    seed,
                    ddpg: ddpg.clone(),
                };
                let r = super::adapters::run_with_project_tools(&net, &p, &OracleSpec::Proxy, m, rl, None, &mut |_| {})
                    .unwrap();
                let at = r
                    .history
                    .iter()
                    .position(|&(g, d)| d <= spec.max_drop && g >= r.gain - 1e-9);
                sum += r.gain;
                line += &format!(" {:.2}@{}", r.gain, at.unwrap_or(usize::MAX));
            }
            println!("{line}  mean {:.3}", sum / seeds as f64);
        }
    }
}
