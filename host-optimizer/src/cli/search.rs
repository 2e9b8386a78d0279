//! `lrmp search`: precisions and replication under an area and an accuracy budget, by the
//! RL agent with the exact replication optimiser in the loop, the exact joint MILP, or a
//! baseline. Prints the DESIGN section 7 report (with `result.accuracy_drop` and a `search`
//! block) and optionally writes the plan file.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use host_optimizer::accuracy::measured::MeasuredOracle;
use host_optimizer::accuracy::proxy::ProxyConstants;
use host_optimizer::accuracy::OracleSpec;
use host_optimizer::plan_file;
use host_optimizer::report::physical::{attach, PhysicalMapping};
use host_optimizer::report::{PlanReport, ReportInput};
use host_optimizer::search::adapters::run_with_project_tools;
use host_optimizer::search::{EpisodeReport, Goal, Method, ProblemSpec, RlConfig, SearchError, SearchProblem};
use imc_model::physical;
use imc_model::Precision;
use indicatif::{ProgressBar, ProgressStyle};
use lrmp_trained::graph::model::Set;
use serde::Serialize;

use super::common::{area_factor, non_negative, out_error, FinetuneArgs, TargetArgs};
use super::{Classify, CliResult, Failure};

/// Arguments of `lrmp search`.
#[derive(Args)]
pub struct SearchArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    finetune: FinetuneArgs,
    /// rl, milp, random, uniform1..uniform8, replication, precision or baseline.
    #[arg(long, default_value = "rl", value_parser = parse_method)]
    method: Method,
    /// Episodes of RL (and evaluations of random search).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=1_000_000), allow_negative_numbers = true)]
    episodes: u64,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    seed: u64,
    /// Accuracy oracle: measured, proxy or external:CMD (default: measured where the
    /// network has weights, else proxy).
    #[arg(long, value_name = "ORACLE", value_parser = OracleSpec::parse)]
    accuracy: Option<OracleSpec>,
    /// Accuracy budget in percentage points.
    #[arg(long, value_name = "PCT", default_value = "1.0", value_parser = non_negative, allow_negative_numbers = true)]
    max_drop: f64,
    /// What the search minimises.
    #[arg(long, value_enum, default_value_t = GoalArg::Latency)]
    objective: GoalArg,
    /// Area budget as a multiple of the 8/8 unreplicated baseline's area.
    #[arg(long, value_name = "F", default_value = "1.0", value_parser = area_factor, allow_negative_numbers = true)]
    area_factor: f64,
    /// Let the first and last layers leave 8/8.
    #[arg(long)]
    free_ends: bool,
    /// Print the JSON report instead of a table.
    #[arg(long)]
    json: bool,
    /// Write the plan file here.
    #[arg(long, value_name = "PLAN")]
    out: Option<PathBuf>,
}

/// The search objective on the command line.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoalArg {
    /// Latency of one inference.
    Latency,
    /// Pipelined interval (throughput).
    Throughput,
    /// Energy per inference (physical model).
    Energy,
    /// Energy per inference times latency (physical model).
    Edp,
}

impl From<GoalArg> for Goal {
    fn from(g: GoalArg) -> Goal {
        match g {
            GoalArg::Latency => Goal::Latency,
            GoalArg::Throughput => Goal::Throughput,
            GoalArg::Energy => Goal::Energy,
            GoalArg::Edp => Goal::Edp,
        }
    }
}

fn parse_method(text: &str) -> Result<Method, String> {
    text.parse()
}

/// Maps a search error to the exit code: the user's problem or oracle is bad input.
pub fn classify(e: SearchError) -> Failure {
    match e {
        SearchError::Input(_) | SearchError::Accuracy(_) => Failure::BadInput(e.into()),
        _ => Failure::Internal(e.into()),
    }
}

/// Search-specific fields added to the plan report.
#[derive(Serialize)]
struct SearchInfo {
    method: String,
    oracle: String,
    episodes: u64,
    seed: u64,
    max_drop: f64,
    feasible: bool,
    evaluations: usize,
    seconds: f64,
    gain: f64,
    /// Gain of replication alone (every layer 8/8) at the same area, for comparison.
    replication_only_gain: f64,
    /// MILP only: CBC proved optimality within its time limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    proven_optimal: Option<bool>,
    /// `measured` only: the answer measured on the test images the search never saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    test: Option<TestMeasurement>,
}

/// The final answer measured on the test images.
#[derive(Serialize)]
struct TestMeasurement {
    /// Test images.
    images: usize,
    /// Float accuracy on them (fraction).
    float_accuracy: f64,
    /// Accuracy through the crossbar model (fraction).
    accuracy: f64,
    /// Drop in points (the search's own drop is on the validation images).
    accuracy_drop: f64,
    /// Whether the test drop is within the budget.
    within_budget: bool,
}

/// Measures the final assignment on the test images (measured oracle only).
fn measure_on_test(
    oracle: &OracleSpec,
    network: &host_optimizer::network::Network,
    arch: imc_model::ArchConfig,
    precisions: &[Precision],
    max_drop: f64,
) -> CliResult<Option<TestMeasurement>> {
    let OracleSpec::Measured { data_dir, finetune } = oracle else {
        return Ok(None);
    };
    let mut measured = MeasuredOracle::new(network, arch, data_dir.as_deref())
        .bad_input()?
        .with_finetune(*finetune);
    let e = measured.evaluate(precisions, Set::Test).bad_input()?;
    let float_accuracy = measured.model().float_accuracy(Set::Test);
    let accuracy_drop = 100.0 * (float_accuracy - e.accuracy);
    Ok(Some(TestMeasurement {
        images: e.total,
        float_accuracy,
        accuracy: e.accuracy,
        accuracy_drop,
        within_budget: accuracy_drop <= max_drop + 1e-9,
    }))
}

#[derive(Serialize)]
struct SearchReport {
    #[serde(flatten)]
    plan: PlanReport,
    search: SearchInfo,
}

/// Runs `lrmp search`.
pub fn run(args: SearchArgs) -> CliResult {
    let (network, arch) = args.target.load()?;
    let spec = ProblemSpec {
        area_factor: args.area_factor,
        goal: args.objective.into(),
        bits: (2..=8).collect(),
        free_ends: args.free_ends,
        max_drop: args.max_drop,
    };
    let problem = SearchProblem::with_physical(arch.config, arch.physical, &network, &spec).map_err(classify)?;
    let oracle = args
        .accuracy
        .clone()
        .unwrap_or_else(|| OracleSpec::default_for(&network))
        .with_data_dir(args.target.data_dir.clone());
    let oracle = args.finetune.apply(oracle);
    let episodes = usize::try_from(args.episodes).bad_input()?;
    let bar = if std::io::stderr().is_terminal()
        && matches!(args.method, Method::Rl | Method::Random | Method::PrecisionOnly)
    {
        let bar = ProgressBar::new(args.episodes);
        let style =
            ProgressStyle::with_template("{bar:30} {pos}/{len} episodes  {msg}  [{elapsed}<{eta}]").internal()?;
        bar.set_style(style);
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut on_episode = |r: EpisodeReport| {
        bar.set_position(r.episode as u64 + 1);
        bar.set_message(format!(
            "best gain {:.2}x at drop {:.2}  (this: {:.2}x, {:.2})",
            r.best_gain, r.best_drop, r.gain, r.drop
        ));
    };
    let rl = RlConfig {
        episodes,
        seed: args.seed,
        ..RlConfig::default()
    };
    let result = run_with_project_tools(&network, &problem, &oracle, args.method, rl, None, &mut on_episode)
        .map_err(classify)?;
    bar.finish_and_clear();
    let costs = problem.costs(&result.precisions).map_err(classify)?;
    let mut plan = PlanReport::build(&ReportInput {
        network: &network,
        arch_name: &arch.name,
        arch: &problem.arch,
        objective: problem.goal.as_str(),
        budget_xbars: problem.budget_xbars(),
        area_factor: args.area_factor,
        baseline_costs: &problem.baseline_costs,
        baseline: &problem.baseline,
        precisions: &result.precisions,
        costs: &costs,
        replication: &result.replication,
        result: &result.totals,
    });
    plan.result.accuracy_drop = Some(result.drop);
    let plan = match &problem.physical {
        Some(config) => {
            let ones = vec![1; problem.len()];
            let base_layers = problem.phys_layers(&vec![Precision::BASELINE; problem.len()]);
            let layers = problem.phys_layers(&result.precisions);
            let base_chip = physical::chip_report(&problem.arch, config, &base_layers, &ones).internal()?;
            let chip = physical::chip_report(&problem.arch, config, &layers, &result.replication).internal()?;
            let baseline = PhysicalMapping {
                layers: &base_layers,
                replication: &ones,
                chip: &base_chip,
            };
            let mapping = PhysicalMapping {
                layers: &layers,
                replication: &result.replication,
                chip: &chip,
            };
            attach(plan, &problem.arch, config, problem.budget.units(), &baseline, &mapping).internal()?
        }
        None => plan,
    };
    if let Some(path) = &args.out {
        let file = plan_file::build_with(
            &problem.arch,
            problem.physical.as_ref(),
            &network,
            &result.precisions,
            &result.replication,
        )
        .internal()?;
        plan_file::write(&file, path).map_err(|e| out_error(path, e))?;
    }
    let info = SearchInfo {
        method: result.method.to_string(),
        oracle: oracle.label(),
        episodes: args.episodes,
        seed: args.seed,
        max_drop: args.max_drop,
        feasible: result.feasible,
        evaluations: result.evaluations,
        seconds: result.seconds,
        gain: result.gain,
        replication_only_gain: run_with_project_tools(
            &network,
            &problem,
            &OracleSpec::Proxy,
            Method::ReplicationOnly,
            RlConfig::default(),
            None,
            &mut |_| {},
        )
        .map_err(classify)?
        .gain,
        // Under the physical model CBC's proof covers only its conservative model.
        proven_optimal: result.proven_optimal.map(|p| p && problem.physical.is_none()),
        test: measure_on_test(&oracle, &network, problem.arch, &result.precisions, args.max_drop)?,
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&SearchReport { plan, search: info }).internal()?
        );
    } else {
        out!("{}", plan.to_table());
        outln!(
            "search: {} ({} evaluations, {:.1} s), {} gain {:.3}x (replication alone: {:.3}x), accuracy drop {:.3} points (budget {}){}",
            info.method,
            info.evaluations,
            info.seconds,
            problem.goal.as_str(),
            info.gain,
            info.replication_only_gain,
            result.drop,
            args.max_drop,
            if result.feasible {
                ""
            } else {
                " - NOT within the accuracy budget"
            }
        );
        if matches!(oracle, OracleSpec::Proxy) {
            let c = ProxyConstants::committed().internal()?;
            outln!(
                "accuracy: PROXY, not a measurement ({}; Spearman {:.2} on a network it was not fitted on)",
                c.describe(),
                c.cross_network_spearman()
            );
        }
        if let Some(t) = &info.test {
            outln!(
                "measured on the {} test images the search never saw: {:.2}% (float {:.2}%), drop {:.2} points, {}",
                t.images,
                100.0 * t.accuracy,
                100.0 * t.float_accuracy,
                t.accuracy_drop,
                if t.within_budget {
                    "within the budget"
                } else {
                    "NOT within the budget"
                }
            );
        }
        match (result.proven_optimal, problem.physical.is_some()) {
            (Some(cbc_proof), true) => outln!(
                "milp: {} a conservative physical model (each layer's egress at 8 bits), then replicated \
                 exactly; not a proven optimum of the physical model",
                if cbc_proof {
                    "optimal for"
                } else {
                    "best found (CBC time limit) for"
                }
            ),
            (Some(false), false) => {
                outln!("milp: CBC hit its time limit; this is the best assignment found, not a proven optimum")
            }
            _ => {}
        }
    }
    Ok(())
}
