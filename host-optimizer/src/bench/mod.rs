//! The paper table of `lrmp bench`: every method on every network, area factor and goal,
//! through the same cost model, replication optimiser and accuracy oracle; a Markdown
//! table and SVG plots under the output directory. Every number comes from a run.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use imc_model::physical::PhysicalConfig;
use imc_model::ArchConfig;

use crate::accuracy::measured::{has_weights, MeasuredOracle};
use crate::accuracy::proxy::{ProxyConstants, ProxyOracle};
use crate::accuracy::AccuracyOracle;
use crate::network::{self, Network};
use crate::search::adapters::run_with_oracle;
use crate::search::methods::{Method, MethodResult};
use crate::search::problem::{Goal, ProblemSpec, SearchError, SearchProblem};
use crate::search::rl::RlConfig;
use lrmp_trained::graph::model::Set;
use plots::{write_svg, Chart, Series};

mod plots;

/// What `lrmp bench` runs.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Architecture name (the table says which).
    pub arch_name: String,
    /// Architecture.
    pub arch: ArchConfig,
    /// The physical model, `None` for DESIGN section 3 alone (preset `ideal`).
    pub physical: Option<PhysicalConfig>,
    /// Network names or files.
    pub networks: Vec<String>,
    /// Area factors.
    pub area_factors: Vec<f64>,
    /// Goals.
    pub goals: Vec<Goal>,
    /// RL episodes (= random-search evaluations).
    pub episodes: usize,
    /// First seed.
    pub seed: u64,
    /// Seeds RL and random search each run (`seed`, `seed + 1`, ...); the table shows the
    /// mean gain over them, so one lucky or unlucky draw does not decide a comparison.
    pub seeds: usize,
    /// Accuracy budget in points.
    pub max_drop: f64,
    /// Cases run at once (worker threads).
    pub jobs: usize,
    /// Networks with trained weights (digits, fashion) use the `measured` oracle (validation
    /// images; the fitted proxy projects budgets and drives the MILP, whose answer is then
    /// measured); the others the proxy. RL and random search on them run this many episodes...
    pub measured_episodes: usize,
    /// ...over this many seeds (a measured evaluation of fashion takes about a second).
    pub measured_seeds: usize,
    /// Where the Fashion-MNIST files are (`None`: the environment variable or the package).
    pub data_dir: Option<std::path::PathBuf>,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            arch_name: "isaac".into(),
            arch: ArchConfig::isaac(),
            physical: Some(PhysicalConfig::isaac()),
            networks: [
                "resnet18",
                "resnet34",
                "resnet50",
                "vgg16",
                "mobilenetv2",
                "digits",
                "fashion",
            ]
            .map(String::from)
            .to_vec(),
            area_factors: vec![1.0, 1.5, 2.0],
            goals: vec![Goal::Latency, Goal::Throughput],
            episodes: 200,
            seed: 0,
            seeds: 3,
            max_drop: 1.0,
            jobs: std::thread::available_parallelism().map_or(1, usize::from),
            measured_episodes: 60,
            measured_seeds: 1,
            data_dir: None,
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

/// Gains of a seeded method over every seed of the bench.
#[derive(Clone, Debug)]
pub struct SeedRuns {
    /// RL or random search.
    pub method: Method,
    /// Best feasible gain of each seed (0 when a seed found nothing feasible).
    pub gains: Vec<f64>,
    /// Every seed ended within both budgets.
    pub feasible: bool,
    /// Evaluations each seed spent before first reaching its best gain (1 = the first).
    pub reached_at: Vec<usize>,
}

impl SeedRuns {
    /// Mean gain over the seeds.
    pub fn mean(&self) -> f64 {
        self.gains.iter().sum::<f64>() / self.gains.len().max(1) as f64
    }
    /// Mean evaluations the seeds spent before first reaching their best.
    pub fn mean_reached_at(&self) -> f64 {
        self.reached_at.iter().sum::<usize>() as f64 / self.reached_at.len().max(1) as f64
    }
    fn range(&self) -> (f64, f64) {
        let min = self.gains.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.gains.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (min, max)
    }
}

/// RL against random search on one case, by mean gain over the same seeds and evaluations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// RL's mean gain is higher, by this fraction of random's.
    Better(f64),
    /// Equal means, both at the joint MILP's answer (nothing left to beat).
    TieAtMilp,
    /// Equal means below the MILP's answer.
    Tie,
    /// RL's mean gain is lower, by this fraction of random's.
    Worse(f64),
}

/// One configuration's results.
pub struct BenchCase {
    /// Network name.
    pub network: String,
    /// Area factor.
    pub area_factor: f64,
    /// Goal.
    pub goal: Goal,
    /// Results in [`METHODS`] order (RL and random: their first seed's run).
    pub results: Vec<MethodResult>,
    /// RL's and random search's gains over every seed.
    pub seed_runs: Vec<SeedRuns>,
    /// The problem (for plots).
    pub problem: SearchProblem,
    /// `measured` networks only: drops on the validation and the test images of the
    /// searched answers (RL, random, MILP, uniform4).
    pub measured: Vec<MeasuredDrops>,
}

/// One answer of a measured network on both image sets.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredDrops {
    /// The method.
    pub method: Method,
    /// Its gain.
    pub gain: f64,
    /// Drop on the validation images (what the search saw), points.
    pub validation: f64,
    /// Drop on the test images, points.
    pub test: f64,
}

impl BenchCase {
    /// The result of `method`.
    pub fn get(&self, method: Method) -> Option<&MethodResult> {
        self.results.iter().find(|r| r.method == method)
    }
    /// The seeded runs of `method` (RL or random).
    pub fn seeds_of(&self, method: Method) -> Option<&SeedRuns> {
        self.seed_runs.iter().find(|r| r.method == method)
    }
    /// Mean gain of `method` over the seeds (RL, random) or its one gain (the others).
    pub fn gain(&self, method: Method) -> Option<f64> {
        match self.seeds_of(method) {
            Some(runs) => Some(runs.mean()),
            None => self.get(method).map(|r| r.gain),
        }
    }
    /// `1 - gain / gain_milp` of `method` (mean over seeds for RL and random).
    pub fn gap_to_milp(&self, method: Method) -> Option<f64> {
        Some(1.0 - self.gain(method)? / self.gain(Method::Milp)?)
    }
    /// RL's gap to the joint MILP, `1 - gain_rl / gain_milp` (RL's mean over seeds).
    pub fn rl_gap(&self) -> Option<f64> {
        self.gap_to_milp(Method::Rl)
    }
    /// RL against random search (mean gains; relative tolerance 1e-9).
    pub fn rl_vs_random(&self) -> Option<Verdict> {
        let (rl, random) = (self.gain(Method::Rl)?, self.gain(Method::Random)?);
        let tol = 1e-9 * random.abs().max(1.0);
        Some(if rl > random + tol {
            Verdict::Better(rl / random - 1.0)
        } else if rl < random - tol {
            Verdict::Worse(1.0 - rl / random)
        } else if self.gain(Method::Milp).is_some_and(|m| rl >= m - tol) {
            Verdict::TieAtMilp
        } else {
            Verdict::Tie
        })
    }
}

/// Runs every method on one configuration: the `measured` oracle for networks with trained
/// weights, else the proxy.
pub fn run_case(
    network: &Network,
    arch: ArchConfig,
    physical: Option<PhysicalConfig>,
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
    let problem = SearchProblem::with_physical(arch, physical, network, &spec)?;
    let mut measured = match has_weights(network) {
        true => Some(MeasuredOracle::new(network, arch, config.data_dir.as_deref()).map_err(SearchError::Accuracy)?),
        false => None,
    };
    let mut proxy = match &measured {
        Some(_) => None,
        None => Some(ProxyOracle::new(
            network,
            &ProxyConstants::committed().map_err(SearchError::Accuracy)?,
        )),
    };
    let (episodes, seeds) = match measured {
        Some(_) => (config.measured_episodes, config.measured_seeds),
        None => (config.episodes, config.seeds),
    };
    let rl = RlConfig {
        episodes,
        seed: config.seed,
        ..RlConfig::default()
    };
    let mut results: Vec<MethodResult> = Vec::new();
    let mut seed_runs = Vec::new();
    for method in METHODS {
        if matches!(method, Method::Rl | Method::Random) {
            let mut runs = SeedRuns {
                method,
                gains: Vec::new(),
                feasible: true,
                reached_at: Vec::new(),
            };
            for k in 0..seeds.max(1) {
                let seeded = RlConfig {
                    seed: config.seed.wrapping_add(k as u64),
                    ..rl.clone()
                };
                let oracle = oracle_of(&mut measured, &mut proxy)?;
                let r = run_with_oracle(network, &problem, oracle, method, seeded, None, &mut |_| {})?;
                runs.gains.push(if r.feasible { r.gain } else { 0.0 });
                runs.feasible &= r.feasible;
                let reached = r
                    .history
                    .iter()
                    .position(|&(gain, drop)| drop <= config.max_drop && gain >= r.gain)
                    .map_or(r.history.len(), |i| i + 1);
                runs.reached_at.push(reached);
                if k == 0 {
                    results.push(r);
                }
            }
            seed_runs.push(runs);
            continue;
        }
        let reuse = results
            .iter()
            .find(|r| r.method == Method::Rl)
            .map(|r| r.precisions.clone());
        let oracle = oracle_of(&mut measured, &mut proxy)?;
        let r = run_with_oracle(network, &problem, oracle, method, rl.clone(), reuse, &mut |_| {})?;
        results.push(r);
    }
    let mut drops = Vec::new();
    if let Some(m) = measured.as_mut() {
        for method in [Method::Rl, Method::Random, Method::Milp, Method::Uniform(4)] {
            if let Some(r) = results.iter().find(|r| r.method == method) {
                drops.push(MeasuredDrops {
                    method,
                    gain: r.gain,
                    validation: r.drop,
                    test: m.drop_on(&r.precisions, Set::Test).map_err(SearchError::Accuracy)?,
                });
            }
        }
    }
    Ok(BenchCase {
        network: network.name.clone(),
        area_factor,
        goal,
        results,
        seed_runs,
        problem,
        measured: drops,
    })
}

/// The oracle of a case: the measured one where there is one.
fn oracle_of<'a>(
    measured: &'a mut Option<MeasuredOracle>,
    proxy: &'a mut Option<ProxyOracle>,
) -> Result<&'a mut dyn AccuracyOracle, SearchError> {
    match (measured, proxy) {
        (Some(m), _) => Ok(m),
        (None, Some(p)) => Ok(p),
        (None, None) => Err(SearchError::Input("no accuracy oracle".into())),
    }
}

/// Runs the whole grid on `config.jobs` worker threads (each case is seeded on its own, so
/// the table does not depend on the number of jobs; only the seconds do). `progress` hears
/// about each case as it finishes; the cases come back in grid order.
pub fn run_bench(config: &BenchConfig, progress: &mut dyn FnMut(&BenchCase)) -> Result<Vec<BenchCase>, SearchError> {
    let mut nets = Vec::new();
    for name in &config.networks {
        nets.push(network::load(name).map_err(|e| SearchError::Input(e.to_string()))?);
    }
    let mut grid = Vec::new();
    for net in &nets {
        for &goal in &config.goals {
            for &factor in &config.area_factors {
                grid.push((net, goal, factor));
            }
        }
    }
    let next = AtomicUsize::new(0);
    let (grid, next) = (&grid, &next);
    std::thread::scope(|scope| {
        let (done, finished) = mpsc::channel();
        for _ in 0..config.jobs.clamp(1, grid.len().max(1)) {
            let done = done.clone();
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(net, goal, factor)) = grid.get(i) else { break };
                let case = run_case(net, config.arch, config.physical, factor, goal, config);
                if done.send((i, case)).is_err() {
                    break;
                }
            });
        }
        drop(done);
        // Cases arrive in completion order; each grid index comes once, so sorting by it
        // restores grid order.
        let mut cases: Vec<(usize, BenchCase)> = Vec::with_capacity(grid.len());
        for (i, case) in finished {
            // An error ends the bench; the workers stop at their next send.
            let case = case?;
            progress(&case);
            cases.push((i, case));
        }
        cases.sort_unstable_by_key(|&(i, _)| i);
        Ok(cases.into_iter().map(|(_, case)| case).collect())
    })
}

fn cell(case: &BenchCase, method: Method) -> String {
    if let Some(runs) = case.seeds_of(method) {
        return match runs.feasible {
            true => format!("{:.2}x", runs.mean()),
            false => format!("({:.2}x, a seed over budget)", runs.mean()),
        };
    }
    match case.get(method) {
        Some(r) if r.feasible => format!("{:.2}x", r.gain),
        Some(r) => format!("({:.2}x, drop {:.1})", r.gain, r.drop),
        None => "-".into(),
    }
}

fn verdict_cell(case: &BenchCase) -> String {
    let reached = |m: Method| case.seeds_of(m).map_or(f64::NAN, SeedRuns::mean_reached_at);
    match case.rl_vs_random() {
        Some(Verdict::Better(f)) => format!("better (+{:.1}%)", 100.0 * f),
        Some(Verdict::TieAtMilp) => format!(
            "tie at the MILP's answer (reached after {:.0} vs {:.0} evaluations)",
            reached(Method::Rl),
            reached(Method::Random)
        ),
        Some(Verdict::Tie) => "TIE".into(),
        Some(Verdict::Worse(f)) => format!("WORSE (-{:.1}%)", 100.0 * f),
        None => "-".into(),
    }
}

fn seeds_cell(case: &BenchCase, method: Method) -> String {
    case.seeds_of(method).map_or("-".into(), |r| {
        let (min, max) = r.range();
        format!("{min:.2}–{max:.2}")
    })
}

/// One line counting RL's verdicts against random search.
pub fn verdict_summary(cases: &[BenchCase]) -> String {
    let verdicts: Vec<Verdict> = cases.iter().filter_map(BenchCase::rl_vs_random).collect();
    let count = |f: fn(&Verdict) -> bool| verdicts.iter().filter(|v| f(v)).count();
    format!(
        "RL against random search at equal evaluations (mean gain over the same seeds): better in {}, \
         tied at the joint MILP's answer in {}, tied below it in {}, worse in {} of {} cases.",
        count(|v| matches!(v, Verdict::Better(_))),
        count(|v| matches!(v, Verdict::TieAtMilp)),
        count(|v| matches!(v, Verdict::Tie)),
        count(|v| matches!(v, Verdict::Worse(_))),
        verdicts.len()
    )
}

/// The Markdown table: gain per method (infeasible results in parentheses), RL's drop and
/// its gap to the MILP.
pub fn markdown(cases: &[BenchCase], config: &BenchConfig) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Gain over the 8/8 unreplicated baseline at the same area factor ({} preset, max drop {} points). \
         Accuracy: `measured` through the crossbar model for the networks this project trained \
         (digits, fashion: validation images, {} RL episodes = random-search evaluations, {} seed(s); \
         test-image drops in the table below), the fitted proxy for the others ({} episodes, seeds \
         {}..{}). RL and random: mean over seeds (range in the `seeds` columns). Parenthesised: over \
         the accuracy budget. Gaps are `1 - gain / gain_MILP` (negative: better than the MILP's \
         answer).{}\n\n{}\n",
        config.arch_name,
        config.max_drop,
        config.measured_episodes,
        config.measured_seeds,
        config.episodes,
        config.seed,
        config.seed.wrapping_add(config.seeds.max(1) as u64 - 1),
        if config.physical.is_some() {
            " Physical model (DESIGN section 9): the joint MILP prices each layer's egress at 8 \
             bits, a conservative separable model, so it is not a proven optimum here and RL can \
             beat it."
        } else {
            ""
        },
        verdict_summary(cases)
    );
    let mut header = String::from("| network | goal | area | ");
    for m in METHODS {
        let _ = write!(header, "{m} | ");
    }
    header.push_str(
        "RL vs random | RL seeds | random seeds | RL drop | RL gap to MILP | random gap to MILP | RL s | MILP s | \
         MILP proven |",
    );
    let _ = writeln!(s, "{header}");
    let _ = writeln!(s, "|{}", "---|".repeat(METHODS.len() + 12));
    for c in cases {
        let _ = write!(s, "| {} | {} | {:.1} | ", c.network, c.goal.as_str(), c.area_factor);
        for m in METHODS {
            let _ = write!(s, "{} | ", cell(c, m));
        }
        let rl = c.get(Method::Rl);
        let milp = c.get(Method::Milp);
        let gap = |m: Method| c.gap_to_milp(m).map_or("-".into(), |g| format!("{:.1}%", 100.0 * g));
        let _ = writeln!(
            s,
            "{} | {} | {} | {} | {} | {} | {} | {} | {} |",
            verdict_cell(c),
            seeds_cell(c, Method::Rl),
            seeds_cell(c, Method::Random),
            rl.map_or("-".into(), |r| format!("{:.3}", r.drop)),
            gap(Method::Rl),
            gap(Method::Random),
            rl.map_or("-".into(), |r| format!("{:.1}", r.seconds)),
            milp.map_or("-".into(), |r| format!("{:.1}", r.seconds)),
            match (milp.and_then(|r| r.proven_optimal), config.physical.is_some()) {
                // Under the physical model the MILP's items price egress at 8 bits (see
                // `search::milp`): at best optimal for that conservative model.
                (Some(true), true) => "no (optimal for conservative egress)",
                (Some(false), true) => "no (conservative egress; CBC time limit)",
                (Some(true), false) => "yes",
                (Some(false), false) => "NO (time limit: best found, not the optimum)",
                (None, _) => "-",
            },
        );
    }
    let measured: Vec<&BenchCase> = cases.iter().filter(|c| !c.measured.is_empty()).collect();
    if !measured.is_empty() {
        let _ = writeln!(
            s,
            "\nMeasured networks: each answer's drop on the validation images the search saw and on \
             the test images it never saw (points; budget {}).\n\n| network | goal | area | method | gain | \
             validation drop | test drop |\n|---|---|---|---|---|---|---|",
            config.max_drop
        );
        for c in measured {
            for d in &c.measured {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.1} | {} | {:.2}x | {:.2} | {:.2} |",
                    c.network,
                    c.goal.as_str(),
                    c.area_factor,
                    d.method,
                    d.gain,
                    d.validation,
                    d.test
                );
            }
        }
    }
    s
}

/// Plot points `(layer, y)` of per-layer values.
fn by_layer(ys: impl Iterator<Item = f64>) -> Vec<(f64, f64)> {
    ys.enumerate().map(|(l, y)| (l as f64, y)).collect()
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
        // Per layer of the RL plan: its cost and replication.
        let planned = || costs.iter().zip(rl.replication.iter().copied());
        let time = vec![
            Series {
                label: "8/8, r = 1".into(),
                points: by_layer(p.baseline_costs.iter().map(|c| c.time(1).get() as f64)),
            },
            Series {
                label: "LRMP (RL + ILP)".into(),
                points: by_layer(planned().map(|(c, r)| c.time(r).get() as f64)),
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
                points: by_layer(p.baseline_costs.iter().map(|c| c.xbars.get() as f64)),
            },
            Series {
                label: "LRMP (RL + ILP)".into(),
                points: by_layer(planned().map(|(c, r)| (c.xbars.get() * r) as f64)),
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
                .filter_map(|(i, c)| c.gain(m).map(|g| (i as f64, g)))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn digits_config() -> BenchConfig {
        BenchConfig {
            networks: vec!["digits".into()],
            area_factors: vec![1.5, 2.0, 1.0],
            goals: vec![Goal::Throughput],
            episodes: 6,
            seed: 3,
            seeds: 2,
            max_drop: 1.0,
            jobs: 2,
            measured_episodes: 6,
            measured_seeds: 2,
            ..BenchConfig::default()
        }
    }

    #[test]
    fn seeded_methods_run_every_seed_and_the_table_reports_their_mean() {
        let config = digits_config();
        let mut heard = 0;
        let cases = run_bench(&config, &mut |_| heard += 1).unwrap();
        // Grid order whatever order the two workers finish in.
        let factors: Vec<f64> = cases.iter().map(|c| c.area_factor).collect();
        assert_eq!((factors, heard), (vec![1.5, 2.0, 1.0], 3));
        let case = &cases[0];
        assert_eq!(case.results.len(), METHODS.len());
        for m in [Method::Rl, Method::Random] {
            let runs = case.seeds_of(m).unwrap();
            assert_eq!(runs.gains.len(), 2);
            // The first seed's full result is the one kept in `results`.
            assert_eq!(runs.gains[0], case.get(m).unwrap().gain);
            assert_eq!(case.gain(m), Some((runs.gains[0] + runs.gains[1]) / 2.0));
            // The first seed reached its best at the recorded evaluation, not before.
            let history = &case.get(m).unwrap().history;
            let at = runs.reached_at[0];
            assert!((1..=history.len()).contains(&at), "{at}");
            assert_eq!(history[at - 1].0, runs.gains[0]);
            assert!(history[..at - 1].iter().all(|&(g, d)| g < runs.gains[0] || d > 1.0));
        }
        let table = markdown(&cases, &config);
        assert!(table.contains("seeds 3..4"), "{table}");
        assert!(table.contains(&verdict_summary(&cases)));
        let row = table.lines().find(|l| l.starts_with("| digits |")).unwrap();
        assert_eq!(row.matches('|').count(), METHODS.len() + 13, "{row}");
    }

    #[test]
    fn the_largest_seed_wraps_instead_of_overflowing() {
        let config = BenchConfig {
            area_factors: vec![1.5],
            episodes: 2,
            measured_episodes: 2,
            seed: u64::MAX,
            ..digits_config()
        };
        let cases = run_bench(&config, &mut |_| {}).unwrap();
        assert!(markdown(&cases, &config).contains(&format!("seeds {}..0", u64::MAX)));
    }

    #[test]
    fn verdicts_compare_means_and_name_ties_at_the_milp() {
        let config = digits_config();
        let mut case = run_bench(&config, &mut |_| {}).unwrap().remove(0);
        let milp = case.gain(Method::Milp).unwrap();
        let mut set = |rl: f64, random: f64| {
            for runs in &mut case.seed_runs {
                runs.gains = vec![if runs.method == Method::Rl { rl } else { random }];
            }
            case.rl_vs_random().unwrap()
        };
        assert_eq!(set(milp, milp), Verdict::TieAtMilp);
        assert_eq!(set(milp / 2.0, milp / 2.0), Verdict::Tie);
        assert!(matches!(set(milp, milp / 2.0), Verdict::Better(f) if (f - 1.0).abs() < 1e-12));
        assert!(matches!(set(milp / 2.0, milp), Verdict::Worse(f) if (f - 0.5).abs() < 1e-12));
    }
}
