//! `lrmp plan`: replication for given precisions, with the report of DESIGN section 7.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use clap::ValueEnum;
use host_optimizer::replicate::{self, Constraints, Objective, Problem, ReplicateError, SolverChoice};
use host_optimizer::report::{Optimality, PlanReport, ReportInput};
use host_optimizer::{mapping, plan_file};

use super::common::{area_factor, out_error, unit_interval, ObjectiveArg, PrecisionArgs, TargetArgs};
use super::{Classify, CliResult, Failure};

/// Arguments of `lrmp plan`.
#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    precision: PrecisionArgs,
    /// Area budget as a multiple of the 8/8 unreplicated baseline's area.
    #[arg(long, value_name = "F", default_value = "1.0", value_parser = area_factor, allow_hyphen_values = true)]
    area_factor: f64,
    /// What replication minimises.
    #[arg(long, value_enum, default_value_t = ObjectiveArg::Latency)]
    objective: ObjectiveArg,
    /// Weight of latency in the mixed objective.
    #[arg(long, default_value = "0.5", value_parser = unit_interval, allow_negative_numbers = true)]
    alpha: f64,
    /// Replication solver: the fastest exact one, the ILP (CBC), or the exact fast path.
    #[arg(long, value_enum, default_value_t = SolverArg::Auto)]
    solver: SolverArg,
    /// At most this many replicas of any layer.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    max_replication: Option<u64>,
    /// At most this many tiles in use.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    max_tiles: Option<u64>,
    /// A tile holds replicas of one layer only (areas round up to whole tiles).
    #[arg(long)]
    tile_exclusive: bool,
    /// Print the JSON report instead of a table.
    #[arg(long)]
    json: bool,
    /// Write the plan (postcard bytes) for `lrmp run`.
    #[arg(long, value_name = "PLAN")]
    out: Option<PathBuf>,
}

/// Replication solver choice on the command line.
#[derive(ValueEnum, Clone, Copy)]
enum SolverArg {
    /// The fastest exact method for the request.
    Auto,
    /// The integer linear program (CBC).
    Ilp,
    /// Bisection (throughput) or knapsack DP (latency).
    FastPath,
}

/// Runs `lrmp plan`.
pub fn run(args: PlanArgs) -> CliResult {
    let (network, arch) = args.target.load()?;
    let precisions = args.precision.resolve(&network)?;
    let config = &arch.config;
    let baseline_costs = mapping::baseline_costs(config, &network).bad_input()?;
    let baseline = mapping::unreplicated(config, &baseline_costs).bad_input()?;
    let budget = mapping::budget(baseline.area, args.area_factor);
    let costs = mapping::layer_costs(config, &network, &precisions).bad_input()?;
    let objective = match args.objective {
        ObjectiveArg::Latency => Objective::Latency,
        ObjectiveArg::Throughput => Objective::Throughput,
        ObjectiveArg::Mixed => Objective::Mixed { alpha: args.alpha },
    };
    let problem = Problem {
        arch: config,
        costs: &costs,
        budget,
        objective,
        constraints: Constraints {
            max_replication: args.max_replication,
            max_tiles: args.max_tiles,
            tile_exclusive: args.tile_exclusive,
        },
    };
    let solver = match args.solver {
        SolverArg::Auto => SolverChoice::Auto,
        SolverArg::Ilp => SolverChoice::Ilp,
        SolverArg::FastPath => SolverChoice::FastPath,
    };
    let solution = replicate::solve(&problem, solver).map_err(|e| match e {
        ReplicateError::Infeasible { budget, min_area } => Failure::BadInput(anyhow!(
            "the budget of {} crossbars (area factor {}) cannot hold `{}` at these precisions: \
             the minimum area is {} crossbars (area factor {:.4})",
            budget.get(),
            args.area_factor,
            network.name,
            min_area.get(),
            min_area.get() as f64 / baseline.area.get() as f64
        )),
        ReplicateError::Solver(_) | ReplicateError::Overflow => Failure::Internal(e.into()),
        other => Failure::BadInput(other.into()),
    })?;
    let replication = solution.replication;
    let result = mapping::totals(config, &network, &costs, &replication).internal()?;
    let report = PlanReport::build(&ReportInput {
        network: &network,
        arch_name: &arch.name,
        arch: config,
        objective: args.objective.as_str(),
        budget_xbars: budget.get(),
        area_factor: args.area_factor,
        baseline_costs: &baseline_costs,
        baseline: &baseline,
        precisions: &precisions,
        costs: &costs,
        replication: &replication,
        result: &result,
    });
    let report = PlanReport {
        optimality: Some(Optimality {
            solver: solution.solver.as_str().to_string(),
            interval_lower_bound_cycles: solution.bounds.interval_floor.get(),
            interval_gap: result.interval.get() as f64 / solution.bounds.interval_floor.get().max(1) as f64 - 1.0,
            latency_lower_bound_cycles: Some(solution.bounds.latency_floor.get()),
            objective_gap: solution.bounds.gap,
            lp_relaxation: solution.bounds.lp_relaxation,
            note: solution.note,
        }),
        ..report
    };
    if let Some(path) = &args.out {
        let file = plan_file::build(config, &network, &precisions, &replication).map_err(|e| out_error(path, e))?;
        plan_file::write(&file, path).map_err(|e| out_error(path, e))?;
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report).internal()?);
    } else {
        out!("{}", report.to_table());
    }
    Ok(())
}
