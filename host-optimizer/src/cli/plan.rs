//! `lrmp plan`: replication for given precisions, with the report of DESIGN section 7.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use clap::ValueEnum;
use host_optimizer::replicate::{
    self, Budget, Constraints, Objective, Physical, Problem, ReplicateError, SolverChoice,
};
use host_optimizer::report::physical::{attach, PhysicalMapping};
use host_optimizer::report::{Optimality, PlanReport, ReportInput};
use host_optimizer::{mapping, plan_file};
use imc_model::physical::{self, PhysicalError};

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
    let mut baseline = mapping::unreplicated(config, &baseline_costs).bad_input()?;
    let costs = mapping::layer_costs(config, &network, &precisions).bad_input()?;
    let n = network.layers.len();
    let layer_name = |i: usize| network.layers.get(i).map_or("?", |l| l.name.as_str());
    let physical_error = |e: PhysicalError| match e {
        PhysicalError::Buffer {
            layer,
            needed_bits,
            available_bits,
        } => Failure::BadInput(anyhow!(
            "layer `{}`: its line buffers need {needed_bits} bits but its tiles hold {available_bits}",
            layer_name(layer)
        )),
        other => Failure::Internal(other.into()),
    };
    // Under the physical model: the layers it sees, the 8/8 baseline's chip and the budget
    // in IMAs (DESIGN 9.2); under the ideal model the budget is crossbars (section 3).
    let phys_layers = mapping::phys_layers(&network, &precisions);
    let baseline_phys = mapping::phys_layers(&network, &vec![imc_model::Precision::BASELINE; n]);
    let ones = vec![1u64; n];
    let baseline_chip = match &arch.physical {
        Some(p) => Some(physical::chip_report(config, p, &baseline_phys, &ones).map_err(physical_error)?),
        None => None,
    };
    let budget = match (&arch.physical, &baseline_chip) {
        (Some(p), Some(chip)) => {
            let factor = physical::AreaFactor::from_decimal_str(&args.area_factor.to_string())
                .map_err(|e| Failure::BadInput(anyhow!("--area-factor {}: {e}", args.area_factor)))?;
            Budget::Imas(physical::budget_imas(p, chip.timing.placement.imas, factor).internal()?)
        }
        _ => Budget::Crossbars(mapping::budget(baseline.area, args.area_factor)),
    };
    let objective = match args.objective {
        ObjectiveArg::Latency => Objective::Latency,
        ObjectiveArg::Throughput => Objective::Throughput,
        ObjectiveArg::Mixed => Objective::Mixed { alpha: args.alpha },
        ObjectiveArg::Energy => Objective::Energy,
        ObjectiveArg::Edp => Objective::Edp,
    };
    let problem = Problem {
        arch: config,
        costs: &costs,
        physical: arch.physical.as_ref().map(|p| Physical {
            config: p,
            layers: &phys_layers,
        }),
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
    // The baseline in the budget's unit: IMAs under the physical model, else crossbars.
    let baseline_units = baseline_chip
        .as_ref()
        .map_or(baseline.area.get(), |chip| chip.timing.placement.imas.get());
    let solution = replicate::solve(&problem, solver).map_err(|e| match e {
        ReplicateError::Infeasible { budget, min_area } => Failure::BadInput(anyhow!(
            "the budget of {budget} (area factor {}) cannot hold `{}` at these precisions: \
             the minimum area is {min_area} (area factor {:.4})",
            args.area_factor,
            network.name,
            min_area.units() as f64 / baseline_units.max(1) as f64
        )),
        // Line buffers that fit at no replication are the input's; the rest is ours.
        ReplicateError::Physical(e) => physical_error(e),
        ReplicateError::NeedsPhysicalModel => {
            Failure::BadInput(anyhow!("--objective {}: {e}", args.objective.as_str()))
        }
        ReplicateError::Solver(_) | ReplicateError::Overflow => Failure::Internal(e.into()),
        other => Failure::BadInput(other.into()),
    })?;
    let replication = solution.replication;
    let mut result = mapping::totals(config, &network, &costs, &replication).internal()?;
    let result_chip = match &arch.physical {
        Some(p) => Some(physical::chip_report(config, p, &phys_layers, &replication).map_err(physical_error)?),
        None => None,
    };
    let budget_xbars = budget.max_crossbars(arch.physical.map_or(1, |p| p.xbars_per_ima()));
    let baseline_mapping = baseline_chip.as_ref().map(|chip| PhysicalMapping {
        layers: &baseline_phys,
        replication: &ones,
        chip,
    });
    let result_mapping = result_chip.as_ref().map(|chip| PhysicalMapping {
        layers: &phys_layers,
        replication: &replication,
        chip,
    });
    if let (Some(b), Some(r)) = (&baseline_mapping, &result_mapping) {
        baseline = b.totals(&baseline);
        result = r.totals(&result);
    }
    let report = PlanReport::build(&ReportInput {
        network: &network,
        arch_name: &arch.name,
        arch: config,
        objective: args.objective.as_str(),
        budget_xbars,
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
    let report = match (&arch.physical, &baseline_mapping, &result_mapping) {
        (Some(p), Some(b), Some(r)) => attach(report, config, p, budget.units(), b, r).map_err(physical_error)?,
        _ => report,
    };
    if let Some(path) = &args.out {
        let file = plan_file::build_with(config, arch.physical.as_ref(), &network, &precisions, &replication)
            .map_err(|e| out_error(path, e))?;
        plan_file::write(&file, path).map_err(|e| out_error(path, e))?;
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report).internal()?);
    } else {
        out!("{}", report.to_table());
    }
    Ok(())
}
