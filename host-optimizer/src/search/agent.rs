//! The DDPG agent (as in HAQ, which LRMP builds on): a deterministic actor `state -> action`
//! in `[0, 1]^2` (weight and activation precision), a critic `(state, action) -> Q`, target
//! copies of both updated softly, a replay buffer of transitions and truncated-normal
//! exploration noise whose width decays per episode.
//!
//! Determinism: every random draw (weights, noise, replay sampling) comes from one seeded
//! ChaCha generator owned by the caller, and candle's CPU kernels are deterministic for a
//! fixed thread count, so one seed gives one result (tested in `rl`).

use std::collections::VecDeque;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::{Rng, RngExt};

use super::mlp::{matrix, tensor_error, values, Head, Mlp};
use super::problem::SearchError;

/// Dimensions of an action: weight precision, activation precision.
pub const ACTION_DIM: usize = 2;

/// Hyper-parameters of the agent (defaults follow HAQ where it fixes them, scaled down in
/// network width and updates so a 300-episode search fits in a minute on two cores).
#[derive(Clone, Debug)]
pub struct DdpgConfig {
    /// Width of the two hidden layers of actor and critic.
    pub hidden: usize,
    /// Actor learning rate.
    pub actor_lr: f64,
    /// Critic learning rate.
    pub critic_lr: f64,
    /// Soft-update rate of the target networks.
    pub tau: f64,
    /// Discount between consecutive layers of one episode.
    pub gamma: f64,
    /// Minibatch size.
    pub batch: usize,
    /// Transitions kept in the replay buffer.
    pub replay_capacity: usize,
    /// Episodes with uniformly random actions before learning starts.
    pub warmup_episodes: usize,
    /// Initial standard deviation of the exploration noise (action units).
    pub noise_sigma: f64,
    /// Factor applied to the noise width after every learning episode.
    pub noise_decay: f64,
    /// Gradient steps after each learning episode.
    pub updates_per_episode: usize,
    /// Chance that an episode after warm-up takes uniformly random actions: an exploration
    /// floor once the Gaussian noise has decayed, so the policy cannot lock onto the first
    /// good region it finds (DDPG is off-policy, so it learns from these episodes too).
    pub random_episode_rate: f64,
    /// Factor applied to the noise width (capped at `noise_sigma`) after an episode whose
    /// assignment was evaluated before, instead of `noise_decay`.
    pub revisit_widening: f64,
}

impl Default for DdpgConfig {
    fn default() -> Self {
        DdpgConfig {
            hidden: 64,
            actor_lr: 1e-3,
            critic_lr: 2e-3,
            tau: 0.01,
            gamma: 1.0,
            batch: 64,
            replay_capacity: 4096,
            warmup_episodes: 20,
            noise_sigma: 0.3,
            noise_decay: 0.98,
            updates_per_episode: 24,
            random_episode_rate: 0.15,
            revisit_widening: 1.5,
        }
    }
}

/// One step of an episode.
#[derive(Clone, Debug)]
pub struct Transition {
    /// State before the action.
    pub state: Vec<f32>,
    /// The action taken.
    pub action: [f32; ACTION_DIM],
    /// Reward credited to this step.
    pub reward: f32,
    /// State after the action (ignored when `done`).
    pub next_state: Vec<f32>,
    /// Last layer of the episode.
    pub done: bool,
}

/// The DDPG learner.
pub struct Ddpg {
    config: DdpgConfig,
    state_dim: usize,
    device: Device,
    actor: Mlp,
    critic: Mlp,
    actor_target: Mlp,
    critic_target: Mlp,
    actor_opt: AdamW,
    critic_opt: AdamW,
    replay: VecDeque<Transition>,
}

/// A draw from `N(mean, sigma)` truncated to `[0, 1]` (rejection; clamped after 64 misses).
pub fn truncated_normal(rng: &mut impl Rng, mean: f64, sigma: f64) -> f64 {
    for _ in 0..64 {
        // Box-Muller from two uniforms in (0, 1].
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random::<f64>();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let x = mean + sigma * z;
        if (0.0..=1.0).contains(&x) {
            return x;
        }
    }
    mean.clamp(0.0, 1.0)
}

impl Ddpg {
    /// A fresh agent for states of `state_dim` features.
    pub fn new(state_dim: usize, config: DdpgConfig, rng: &mut impl Rng) -> Result<Ddpg, SearchError> {
        let device = Device::Cpu;
        let h = config.hidden.max(1);
        let actor = Mlp::new(&[state_dim, h, h, ACTION_DIM], Head::Sigmoid, rng, &device)?;
        let critic = Mlp::new(&[state_dim + ACTION_DIM, h, h, 1], Head::Linear, rng, &device)?;
        let actor_target = actor.duplicate()?;
        let critic_target = critic.duplicate()?;
        let adam = |lr| ParamsAdamW {
            lr,
            weight_decay: 0.0,
            ..Default::default()
        };
        let actor_opt = AdamW::new(actor.vars(), adam(config.actor_lr)).map_err(tensor_error)?;
        let critic_opt = AdamW::new(critic.vars(), adam(config.critic_lr)).map_err(tensor_error)?;
        Ok(Ddpg {
            config,
            state_dim,
            device,
            actor,
            critic,
            actor_target,
            critic_target,
            actor_opt,
            critic_opt,
            replay: VecDeque::new(),
        })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &DdpgConfig {
        &self.config
    }

    /// The actor's action for one state, without noise.
    pub fn act(&self, state: &[f32]) -> Result<[f32; ACTION_DIM], SearchError> {
        let s = matrix(state.to_vec(), 1, self.state_dim, &self.device)?;
        let a = values(&self.actor.forward(&s)?)?;
        a.first_chunk::<ACTION_DIM>()
            .copied()
            .ok_or_else(|| SearchError::Solver(format!("actor gave {} outputs, expected {ACTION_DIM}", a.len())))
    }

    /// Stores a transition, evicting the oldest beyond capacity.
    pub fn remember(&mut self, t: Transition) {
        if self.replay.len() >= self.config.replay_capacity.max(1) {
            self.replay.pop_front();
        }
        self.replay.push_back(t);
    }

    /// Transitions in the replay buffer.
    pub fn replay_len(&self) -> usize {
        self.replay.len()
    }

    /// One gradient step of critic and actor on a random minibatch, then soft target updates.
    pub fn update(&mut self, rng: &mut impl Rng) -> Result<(), SearchError> {
        if self.replay.is_empty() {
            return Ok(());
        }
        let n = self.config.batch.max(1);
        let (sd, dev) = (self.state_dim, &self.device);
        let (mut s, mut a, mut r, mut s2, mut live) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            // The index is below `len()`, so `get` always finds a transition.
            let t = self
                .replay
                .get(rng.random_range(0..self.replay.len()))
                .ok_or_else(|| SearchError::Solver("replay index out of range".into()))?;
            s.extend_from_slice(&t.state);
            a.extend_from_slice(&t.action);
            r.push(t.reward);
            s2.extend_from_slice(&t.next_state);
            live.push(if t.done { 0.0f32 } else { self.config.gamma as f32 });
        }
        let (s, a, s2) = (
            matrix(s, n, sd, dev)?,
            matrix(a, n, ACTION_DIM, dev)?,
            matrix(s2, n, sd, dev)?,
        );
        let (r, live) = (matrix(r, n, 1, dev)?, matrix(live, n, 1, dev)?);
        // Critic: y = r + gamma * (1 - done) * Q'(s', mu'(s')).
        let a2 = self.actor_target.forward(&s2)?;
        let q2 = self
            .critic_target
            .forward(&Tensor::cat(&[&s2, &a2], 1).map_err(tensor_error)?)?;
        let y = (r + (q2 * live).map_err(tensor_error)?).map_err(tensor_error)?.detach();
        let q = self.critic.forward(&Tensor::cat(&[&s, &a], 1).map_err(tensor_error)?)?;
        let critic_loss = (q - y)
            .map_err(tensor_error)?
            .sqr()
            .map_err(tensor_error)?
            .mean_all()
            .map_err(tensor_error)?;
        self.critic_opt.backward_step(&critic_loss).map_err(tensor_error)?;
        // Actor: maximise Q(s, mu(s)); only the actor's variables are stepped.
        let mu = self.actor.forward(&s)?;
        let q_mu = self
            .critic
            .forward(&Tensor::cat(&[&s, &mu], 1).map_err(tensor_error)?)?;
        let actor_loss = q_mu.mean_all().map_err(tensor_error)?.neg().map_err(tensor_error)?;
        self.actor_opt.backward_step(&actor_loss).map_err(tensor_error)?;
        self.actor_target.soft_update(&self.actor, self.config.tau)?;
        self.critic_target.soft_update(&self.critic, self.config.tau)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn truncated_normal_stays_in_unit_interval_and_centres_on_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let draws: Vec<f64> = (0..4000).map(|_| truncated_normal(&mut rng, 0.5, 0.1)).collect();
        assert!(draws.iter().all(|x| (0.0..=1.0).contains(x)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        let edge: Vec<f64> = (0..1000).map(|_| truncated_normal(&mut rng, 0.0, 0.5)).collect();
        assert!(edge.iter().all(|x| (0.0..=1.0).contains(x)));
    }

    #[test]
    fn actor_learns_the_rewarded_action_of_a_bandit() {
        // One state; reward = -(a0 - 0.8)^2 - (a1 - 0.2)^2. The actor must move toward (0.8, 0.2).
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let config = DdpgConfig {
            gamma: 0.0,
            batch: 32,
            ..DdpgConfig::default()
        };
        let mut agent = Ddpg::new(1, config, &mut rng).unwrap();
        for _ in 0..600 {
            let a = [rng.random::<f32>(), rng.random::<f32>()];
            let reward = -(a[0] - 0.8).powi(2) - (a[1] - 0.2).powi(2);
            agent.remember(Transition {
                state: vec![1.0],
                action: a,
                reward,
                next_state: vec![1.0],
                done: true,
            });
        }
        for _ in 0..800 {
            agent.update(&mut rng).unwrap();
        }
        let a = agent.act(&[1.0]).unwrap();
        assert!((a[0] - 0.8).abs() < 0.15 && (a[1] - 0.2).abs() < 0.15, "action {a:?}");
    }
}
