//! `lrmp bench`: the paper table. Runs every search method on the built-in networks at
//! several area factors for both objectives, and writes `table.md` and SVG plots.

use std::path::PathBuf;

use clap::Args;
use host_optimizer::bench::{markdown, run_bench, write_results, BenchConfig};
use host_optimizer::search::Goal;

use super::search::classify;
use super::{Classify, CliResult};

/// Arguments of `lrmp bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Architecture preset or file (`ideal`: the model of DESIGN section 3 alone).
    #[arg(long, default_value = "isaac")]
    arch: String,
    /// Networks (built-in names or files), comma separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "resnet18,resnet34,resnet50,vgg16,mobilenetv2,digits,fashion"
    )]
    networks: Vec<String>,
    /// Area factors, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1.0,1.5,2.0", value_parser = super::common::area_factor, allow_negative_numbers = true)]
    area_factors: Vec<f64>,
    /// RL episodes per case (and random-search evaluations).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=100_000), allow_negative_numbers = true)]
    episodes: u64,
    /// First seed.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    seed: u64,
    /// Seeds RL and random search each run (the table shows their mean gain).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    seeds: u64,
    /// Cases run at once (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: Option<u64>,
    /// Accuracy budget in percentage points.
    #[arg(long, default_value = "1.0", value_parser = super::common::non_negative, allow_negative_numbers = true)]
    max_drop: f64,
    /// Output directory.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// RL episodes (= random-search evaluations) on networks measured through the crossbar
    /// model (digits, fashion).
    #[arg(long, default_value = "60", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    measured_episodes: u64,
    /// Seeds of RL and random search on measured networks.
    #[arg(long, default_value = "1", value_parser = clap::value_parser!(u64).range(1..=100))]
    measured_seeds: u64,
    /// Folder of the Fashion-MNIST IDX files (default: $LRMP_FASHION_MNIST_DIR, else the
    /// Debian package's).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Runs `lrmp bench`.
pub fn run(args: BenchArgs) -> CliResult {
    let arch = host_optimizer::arch_file::load(&args.arch).bad_input()?;
    let config = BenchConfig {
        arch_name: arch.name,
        arch: arch.config,
        physical: arch.physical,
        networks: args.networks,
        area_factors: args.area_factors,
        goals: vec![Goal::Latency, Goal::Throughput],
        episodes: args.episodes as usize,
        seed: args.seed,
        seeds: args.seeds as usize,
        jobs: args.jobs.map_or_else(|| BenchConfig::default().jobs, |j| j as usize),
        max_drop: args.max_drop,
        measured_episodes: args.measured_episodes as usize,
        measured_seeds: args.measured_seeds as usize,
        data_dir: args.data_dir,
    };
    let cases = run_bench(&config, &mut |c| {
        eprintln!(
            "{} {} x{:.1}: RL gap to MILP {:.1}%, RL vs random {:?}",
            c.network,
            c.goal.as_str(),
            c.area_factor,
            100.0 * c.rl_gap().unwrap_or(f64::NAN),
            c.rl_vs_random()
        );
    })
    .map_err(classify)?;
    write_results(&args.out, &cases, &config).map_err(classify)?;
    out!("{}", markdown(&cases, &config));
    Ok(())
}
