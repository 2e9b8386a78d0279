//! The LRMP search loop: the DDPG agent walks the layers, choosing `(b_w, b_a)` for each;
//! the episode's precisions go through the exact replication optimiser and the accuracy
//! oracle ([`Evaluator`]), and the episode's reward is credited to each of its steps.
//!
//! State of layer `l` (all in `[0, 1]`): index, conv/FC, depthwise, `ln C_in`, `ln C_out`,
//! kernel, stride, `ln P`, `ln X(8)` (each log feature over the network's largest), share of
//! the baseline latency, share of the baseline area, pinned, and the previous action.
//! Pinned layers (first and last, unless freed) take no step.
//!
//! As in HAQ, each step's reward is the episode reward minus a moving average of past
//! episode rewards (a variance-reducing baseline). The search returns the best feasible
//! assignment it evaluated, not the final policy's.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use imc_model::{Bits, LayerCost, LayerKind, LayerShape, Precision};

use super::agent::{truncated_normal, Ddpg, DdpgConfig, Transition, ACTION_DIM};
use super::evaluate::{Evaluation, Evaluator};
use super::problem::{SearchError, SearchProblem};
use super::project::Projector;

/// Features of a state (static layer features, pinned flag, previous action).
pub const STATE_DIM: usize = 12 + ACTION_DIM;

/// Settings of an RL search.
#[derive(Clone, Debug)]
pub struct RlConfig {
    /// Episodes (= evaluations).
    pub episodes: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// The agent.
    pub ddpg: DdpgConfig,
}

impl Default for RlConfig {
    fn default() -> Self {
        RlConfig {
            episodes: 300,
            seed: 0,
            ddpg: DdpgConfig::default(),
        }
    }
}

/// What one episode did (for progress reporting).
#[derive(Clone, Copy, Debug)]
pub struct EpisodeReport {
    /// Episode index from 0.
    pub episode: usize,
    /// This episode's gain and drop.
    pub gain: f64,
    /// This episode's accuracy drop.
    pub drop: f64,
    /// Best feasible gain so far (0 if none).
    pub best_gain: f64,
    /// Drop of the best feasible assignment so far.
    pub best_drop: f64,
}

/// Outcome of an RL search.
#[derive(Clone, Debug)]
pub struct RlOutcome {
    /// Best feasible evaluation, if any episode was feasible.
    pub best: Option<Evaluation>,
    /// Reward of every episode.
    pub rewards: Vec<f64>,
}

/// Maps an action in `[0, 1]` to one of `bits` (equal-width bins, lowest first).
/// An action of exactly 1 falls in the last bin; an empty `bits` gives 8 bits.
pub fn action_to_bits(action: f32, bits: &[Bits]) -> Bits {
    let index = (action.clamp(0.0, 1.0) * bits.len() as f32) as usize;
    bits.get(index).or(bits.last()).copied().unwrap_or(Bits::EIGHT)
}

/// Static per-layer features (all but the previous action).
pub fn layer_features(problem: &SearchProblem) -> Vec<Vec<f32>> {
    let n = problem.len();
    // Per layer: shape, baseline cost, larger stride, pinned.
    let layers = || {
        let per_layer = problem.shapes.iter().zip(&problem.baseline_costs);
        per_layer
            .zip(&problem.strides)
            .zip(&problem.pinned)
            .map(|(((shape, cost), &(sh, sw)), &pinned)| (shape, cost, sh.max(sw), pinned))
    };
    let max_of = |f: &dyn Fn(&LayerShape, &LayerCost, u32) -> f64| {
        layers()
            .map(|(shape, cost, stride, _)| f(shape, cost, stride))
            .fold(0.0f64, f64::max)
    };
    let ln = |x: u64| (x.max(1) as f64).ln();
    let norm = |x: f64, m: f64| if m > 0.0 { (x / m) as f32 } else { 0.0 };
    let max_cin = max_of(&|s, _, _| ln(s.dims().c_in.into()));
    let max_cout = max_of(&|s, _, _| ln(s.dims().c_out.into()));
    let max_k = max_of(&|s, _, _| s.dims().kernel_h.max(s.dims().kernel_w).into());
    let max_stride = max_of(&|_, _, stride| stride.into());
    let max_p = max_of(&|_, cost, _| ln(cost.positions));
    let max_x = max_of(&|_, cost, _| ln(cost.xbars.get()));
    let latency = problem.baseline.latency.get().max(1) as f64;
    let area = problem.baseline.area.get().max(1) as f64;
    layers()
        .enumerate()
        .map(|(l, (shape, cost, stride, pinned))| {
            let d = shape.dims();
            vec![
                if n > 1 { l as f32 / (n - 1) as f32 } else { 0.0 },
                f32::from(u8::from(d.kind == LayerKind::Conv)),
                f32::from(u8::from(shape.is_depthwise())),
                norm(ln(d.c_in.into()), max_cin),
                norm(ln(d.c_out.into()), max_cout),
                norm(d.kernel_h.max(d.kernel_w).into(), max_k),
                norm(stride.into(), max_stride),
                norm(ln(cost.positions), max_p),
                norm(ln(cost.xbars.get()), max_x),
                (cost.time(1).get() as f64 / latency) as f32,
                (cost.xbars.get() as f64 / area) as f32,
                f32::from(u8::from(pinned)),
            ]
        })
        .collect()
}

/// Action in the middle of the bin of `bit` (the inverse of [`action_to_bits`]).
pub fn bits_to_action(bit: Bits, bits: &[Bits]) -> f32 {
    let index = bits.iter().position(|&b| b == bit).unwrap_or(bits.len() - 1);
    (index as f32 + 0.5) / bits.len() as f32
}

/// Runs the DDPG search for `config.episodes` episodes; `on_episode` sees every episode.
/// With a `projector`, each episode's precisions are projected onto the accuracy budget
/// before evaluation (HAQ's constraint step) and the agent learns from the projected actions.
pub fn search(
    evaluator: &mut Evaluator<'_>,
    config: &RlConfig,
    projector: Option<&Projector>,
    on_episode: &mut dyn FnMut(EpisodeReport),
) -> Result<RlOutcome, SearchError> {
    let problem = evaluator.problem();
    let features = layer_features(problem);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut agent = Ddpg::new(STATE_DIM, config.ddpg.clone(), &mut rng)?;
    let mut sigma = config.ddpg.noise_sigma;
    let mut moving_average: Option<f64> = None;
    let mut rewards = Vec::with_capacity(config.episodes);
    // Layers that take a step (not pinned).
    let free_count = problem.pinned.iter().filter(|&&pinned| !pinned).count();
    let state_of = |layer_features: &[f32], prev: [f32; ACTION_DIM]| {
        let mut s = layer_features.to_vec();
        s.extend_from_slice(&prev);
        s
    };
    for episode in 0..config.episodes {
        let warmup = episode < config.ddpg.warmup_episodes;
        let random_actions = warmup || rng.random::<f64>() < config.ddpg.random_episode_rate;
        let mut precisions = vec![Precision::BASELINE; problem.len()];
        let mut steps: Vec<(Vec<f32>, [f32; ACTION_DIM])> = Vec::with_capacity(free_count);
        let mut prev = [1.0f32; ACTION_DIM];
        for (precision, (layer_features, &pinned)) in precisions.iter_mut().zip(features.iter().zip(&problem.pinned)) {
            if pinned {
                continue;
            }
            let state = state_of(layer_features, prev);
            let action = if random_actions {
                [rng.random::<f32>(), rng.random::<f32>()]
            } else {
                let mu = agent.act(&state)?;
                mu.map(|m| truncated_normal(&mut rng, f64::from(m), sigma) as f32)
            };
            let [w_action, a_action] = action;
            *precision = Precision {
                w_bits: action_to_bits(w_action, &problem.bits),
                a_bits: action_to_bits(a_action, &problem.bits),
            };
            steps.push((state, action));
            prev = action;
        }
        if let Some(projector) = projector {
            precisions = projector.project(&precisions);
            // The steps were taken at the free layers, in order.
            let free_precisions = precisions.iter().zip(&problem.pinned).filter(|(_, &pinned)| !pinned);
            for (step, (p, _)) in steps.iter_mut().zip(free_precisions) {
                step.1 = [
                    bits_to_action(p.w_bits, &problem.bits),
                    bits_to_action(p.a_bits, &problem.bits),
                ];
            }
        }
        // An assignment evaluated before teaches nothing new and spends an evaluation:
        // widen the noise again (up to its initial width) so the next episodes move on.
        let revisit = evaluator.evaluated_before(&precisions);
        let eval = evaluator.evaluate(precisions)?;
        rewards.push(eval.reward);
        let baseline = moving_average.unwrap_or(eval.reward);
        let credited = (eval.reward - baseline) as f32;
        moving_average = Some(0.95 * baseline + 0.05 * eval.reward);
        // Each step's next state is the following step's; the last step's is its own.
        let next_steps = steps.iter().skip(1).chain(steps.last());
        for (i, ((state, action), (next_state, _))) in steps.iter().zip(next_steps).enumerate() {
            agent.remember(Transition {
                state: state.clone(),
                action: *action,
                reward: credited,
                next_state: next_state.clone(),
                done: i + 1 == steps.len(),
            });
        }
        if !warmup {
            for _ in 0..config.ddpg.updates_per_episode {
                agent.update(&mut rng)?;
            }
            sigma = if revisit {
                (sigma * config.ddpg.revisit_widening).min(config.ddpg.noise_sigma)
            } else {
                sigma * config.ddpg.noise_decay
            };
        }
        let (best_gain, best_drop) = evaluator.best().map_or((0.0, 0.0), |b| (b.gain, b.drop));
        on_episode(EpisodeReport {
            episode,
            gain: eval.gain,
            drop: eval.drop,
            best_gain,
            best_drop,
        });
    }
    Ok(RlOutcome {
        best: evaluator.best().cloned(),
        rewards,
    })
}
