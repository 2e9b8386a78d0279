//! The paper table of `lrmp bench`: every method on every network, area factor and goal,
//! through the same cost model, replication optimiser and accuracy oracle; a Markdown
//! table and SVG plots under the output directory. Every number comes from a run.

use std::fmt::Write as _;
use std::path::Path;

use imc_model::ArchConfig;

use super::adapters::run_with_project_tools;
use super::methods::{Method, MethodResult};
use super::plots::{write_svg, Chart, Series};
use super::problem::{Goal, ProblemSpec, SearchError, SearchProblem};
use super::rl::RlConfig;
use crate::accuracy::OracleSpec;
use crate::network::{self, Network};

/// What `lrmp bench` runs.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Network names or files.
    pub networks: Vec<String>,
    /// Area factors.
    pub area_factors: Vec<f64>,
    /// Goals.
    pub goals: Vec<Goal>,
    /// RL episodes (= random-search evaluations).
    pub episodes: usize,
    /// Seed.
    pub seed: u64,
    /// Accuracy budget in points.
    pub max_drop: f64,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            networks: ["resnet18", "resnet34", "resnet50", "vgg16", "mobilenetv2", "digits"]
                .map(String::from)
                .to_vec(),
            area_factors: vec![1.0, 1.5, 2.0],
            goals: vec![Goal::Latency, Goal::Throughput],
            episodes: 200,
            seed: 0,
            max_drop: 1.0,
        }
    }
}

/// Methods of one table cell, in column order (RL before precision-only, which reuses it).
pub const METHODS: [Method; 11] = [
    Method::Baseline,
    Method::ReplicationOnly,
    Method::Uniform(8),
    Method::Uniform(7),
    Method::Uniform(6),
    Method::Uniform(5),
    Method::Uniform(4),
    Method::Random,
    Method::Rl,
    Method::PrecisionOnly,
    Method::Milp,
];

/// One configuration's results.
pub struct BenchCase {
    /// Network name.
    pub network: String,
    /// Area factor.
    pub area_factor: f64,
    /// Goal.
    pub goal: Goal,
    /// Results in [`METHODS`] order.
    pub results: Vec<MethodResult>,
    /// The problem (for plots).
    pub problem: SearchProblem,
}

impl BenchCase {
    /// The result of `method`.
    pub fn get(&self, method: Method) -> Option<&MethodResult> {
        self.results.iter().find(|r| r.method == method)
    }
    /// RL's gap to the joint MILP, `1 - gain_rl / gain_milp`.
    pub fn rl_gap(&self) -> Option<f64> {
        Some(1.0 - self.get(Method::Rl)?.gain / self.get(Method::Milp)?.gain)
    }
}

/// Runs every method on one configuration with the proxy oracle.
pub fn run_case(
    network: &Network,
    arch: ArchConfig,
    area_factor: f64,
    goal: Goal,
    config: &BenchConfig,
) -> Result<BenchCase, SearchError> {
    let spec = ProblemSpec {
        area_factor,
        goal,
        max_drop: config.max_drop,
        ..ProblemSpec::default()
    };
    let problem = SearchProblem::new(arch, network, &spec)?;
    let rl = RlConfig {
        episodes: config.episodes,
        seed: config.seed,
        ..RlConfig::default()
    };
    let mut results: Vec<MethodResult> = Vec::new();
    for method in METHODS {
        let reuse = results
            .iter()
            .find(|r| r.method == Method::Rl)
            .map(|r| r.precisions.clone());
        let r = run_with_project_tools(
            network,
            &problem,
            &OracleSpec::Proxy,
            method,
            rl.clone(),
            reuse,
            &mut |_| {},
        )?;
        results.push(r);
    }
    Ok(BenchCase {
        network: network.name.clone(),
        area_factor,
        goal,
        results,
        problem,
    })
}

/// Runs the whole grid; `progress` hears about each case.
pub fn run_bench(config: &BenchConfig, progress: &mut dyn FnMut(&BenchCase)) -> Result<Vec<BenchCase>, SearchError> {
    let mut cases = Vec::new();
    for name in &config.networks {
        let net = network::load(name).map_err(|e| SearchError::Input(e.to_string()))?;
        for &goal in &config.goals {
            for &factor in &config.area_factors {
                let case = run_case(&net, ArchConfig::isaac(), factor, goal, config)?;
                progress(&case);
                cases.push(case);
            }
        }
    }
    Ok(cases)
}

fn cell(r: Option<&MethodResult>) -> String {
    match r {
        Some(r) if r.feasible => format!("{:.2}x", r.gain),
        Some(r) => format!("({:.2}x, drop {:.1})", r.gain, r.drop),
        None => "-".into(),
    }
}

/// The Markdown table: gain per method (infeasible results in parentheses), RL's drop and
/// its gap to the MILP.
pub fn markdown(cases: &[BenchCase], config: &BenchConfig) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Gain over the 8/8 unreplicated baseline at the same area factor (isaac preset, proxy accuracy, \
         max drop {} points, {} RL episodes = random-search evaluations, seed {}). Parenthesised: over the \
         accuracy budget. Gaps are `1 - gain / gain_MILP` (negative: better than the MILP's answer).\n",
        config.max_drop, config.episodes, config.seed
    );
    let mut header = String::from("| network | goal | area | ");
    for m in METHODS {
        let _ = write!(header, "{m} | ");
    }
    header.push_str("RL drop | RL gap to MILP | random gap to MILP | RL s | MILP s | MILP proven |");
    let _ = writeln!(s, "{header}");
    let _ = writeln!(s, "|{}", "---|".repeat(METHODS.len() + 9));
    for c in cases {
        let _ = write!(s, "| {} | {} | {:.1} | ", c.network, c.goal.as_str(), c.area_factor);
        for m in METHODS {
            let _ = write!(s, "{} | ", cell(c.get(m)));
        }
        let rl = c.get(Method::Rl);
        let milp = c.get(Method::Milp);
        let gap = |m: Method| match (c.get(m), milp) {
            (Some(r), Some(best)) => format!("{:.1}%", 100.0 * (1.0 - r.gain / best.gain)),
            _ => "-".into(),
        };
        let _ = writeln!(
            s,
            "{} | {} | {} | {} | {} | {} |",
            rl.map_or("-".into(), |r| format!("{:.3}", r.drop)),
            gap(Method::Rl),
            gap(Method::Random),
            rl.map_or("-".into(), |r| format!("{:.1}", r.seconds)),
            milp.map_or("-".into(), |r| format!("{:.1}", r.seconds)),
            match milp.and_then(|r| r.proven_optimal) {
                Some(true) => "yes",
                Some(false) => "NO (time limit: best found, not the optimum)",
                None => "-",
            },
        );
    }
    s
}

/// Writes `table.md` and the SVG plots into `dir`.
pub fn write_results(dir: &Path, cases: &[BenchCase], config: &BenchConfig) -> Result<(), SearchError> {
    let io = |e: std::io::Error| SearchError::Input(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(dir.join("table.md"), markdown(cases, config)).map_err(io)?;
    let first_latency = cases.iter().filter(|c| c.goal == Goal::Latency && c.area_factor == 1.0);
    for c in first_latency {
        let (Some(rl), p) = (c.get(Method::Rl), &c.problem) else {
            continue;
        };
        let costs = p.costs(&rl.precisions)?;
        let base = |f: &dyn Fn(usize) -> f64| (0..p.len()).map(|l| (l as f64, f(l))).collect::<Vec<_>>();
        let time = vec![
            Series {
                label: "8/8, r = 1".into(),
                points: base(&|l| p.baseline_costs[l].time(1).get() as f64),
            },
            Series {
                label: "LRMP (RL + ILP)".into(),
                points: base(&|l| costs[l].time(rl.replication[l]).get() as f64),
            },
        ];
        let chart = |title: &'static str, y: &'static str| Chart {
            title,
            x_label: "layer",
            y_label: y,
            scatter: false,
        };
        write_svg(
            &dir.join(format!("{}-layer-time.svg", c.network)),
            &chart("per-layer time", "cycles"),
            &time,
        )?;
        let area = vec![
            Series {
                label: "8/8, r = 1".into(),
                points: base(&|l| p.baseline_costs[l].xbars.get() as f64),
            },
            Series {
                label: "LRMP (RL + ILP)".into(),
                points: base(&|l| (costs[l].xbars.get() * rl.replication[l]) as f64),
            },
        ];
        write_svg(
            &dir.join(format!("{}-layer-area.svg", c.network)),
            &chart("per-layer area", "crossbars"),
            &area,
        )?;
        let mut scatter = vec![Series {
            label: "RL episodes".into(),
            points: rl.history.iter().map(|&(g, d)| (g, d)).collect(),
        }];
        if let Some(random) = c.get(Method::Random) {
            scatter.push(Series {
                label: "random".into(),
                points: random.history.clone(),
            });
        }
        let chart = Chart {
            title: "accuracy drop vs latency gain",
            x_label: "gain",
            y_label: "drop (points)",
            scatter: true,
        };
        write_svg(
            &dir.join(format!("{}-accuracy-vs-gain.svg", c.network)),
            &chart,
            &scatter,
        )?;
    }
    for goal in [Goal::Latency, Goal::Throughput] {
        let mut series = Vec::new();
        for m in [
            Method::ReplicationOnly,
            Method::Uniform(6),
            Method::Random,
            Method::Rl,
            Method::Milp,
        ] {
            let points: Vec<(f64, f64)> = cases
                .iter()
                .filter(|c| c.goal == goal && c.area_factor == 1.0)
                .enumerate()
                .filter_map(|(i, c)| c.get(m).map(|r| (i as f64, r.gain)))
                .collect();
            series.push(Series {
                label: m.to_string(),
                points,
            });
        }
        let title = format!("{} gain per method (area factor 1.0; x = network index)", goal.as_str());
        let chart = Chart {
            title: &title,
            x_label: "network",
            y_label: "gain",
            scatter: false,
        };
        if series.iter().any(|s| !s.points.is_empty()) {
            write_svg(&dir.join(format!("gain-{}.svg", goal.as_str())), &chart, &series)?;
        }
    }
    Ok(())
}
