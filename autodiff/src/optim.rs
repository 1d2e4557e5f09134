//! Optimisers: [`Adam`] / AdamW with global-norm gradient clipping, learning-rate
//! [`Schedule`]s, and an exponential moving average ([`Ema`]) of the parameters.

use crate::nn::Params;
use crate::{Element, Grads};

/// Adam hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct AdamConfig {
    /// Learning rate (the schedule multiplies it).
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator offset.
    pub eps: f64,
    /// Decoupled weight decay (AdamW); 0 for Adam.
    pub weight_decay: f64,
    /// Clip the global gradient norm to this value.
    pub clip_norm: Option<f64>,
}

impl AdamConfig {
    /// Adam with the usual defaults (β = (0.9, 0.999), ε = 1e-8).
    pub fn adam(lr: f64) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            clip_norm: None,
        }
    }
    /// AdamW: Adam with decoupled weight decay.
    pub fn adamw(lr: f64, weight_decay: f64) -> Self {
        Self {
            weight_decay,
            ..Self::adam(lr)
        }
    }
    /// With global-norm gradient clipping.
    pub fn clip(self, max_norm: f64) -> Self {
        Self {
            clip_norm: Some(max_norm),
            ..self
        }
    }
}

/// Learning-rate schedules: a multiplier of the base rate by step (0-based).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// Constant 1.
    Constant,
    /// Linear warm-up from 0 over `warmup` steps, then constant.
    Warmup {
        /// Warm-up steps.
        warmup: u64,
    },
    /// Linear warm-up, then cosine decay to `min_factor` at step `total`.
    Cosine {
        /// Warm-up steps.
        warmup: u64,
        /// Total steps.
        total: u64,
        /// Final multiplier.
        min_factor: f64,
    },
}

impl Schedule {
    /// The multiplier at `step`.
    pub fn factor(&self, step: u64) -> f64 {
        let warm = |w: u64| {
            if w > 0 && step < w {
                (step + 1) as f64 / w as f64
            } else {
                1.0
            }
        };
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Warmup { warmup } => warm(warmup),
            Schedule::Cosine {
                warmup,
                total,
                min_factor,
            } => {
                if step < warmup {
                    warm(warmup)
                } else {
                    let span = total.saturating_sub(warmup).max(1) as f64;
                    let x = ((step - warmup) as f64 / span).min(1.0);
                    min_factor + (1.0 - min_factor) * 0.5 * (1.0 + (std::f64::consts::PI * x).cos())
                }
            }
        }
    }
}

/// What one optimiser step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInfo {
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Learning rate used.
    pub lr: f64,
    /// `true` when the step was skipped because a gradient was not finite.
    pub skipped: bool,
}

/// Adam / AdamW.
#[derive(Clone, Debug)]
pub struct Adam<T> {
    /// Hyper-parameters.
    pub config: AdamConfig,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    m: Vec<Vec<T>>,
    v: Vec<Vec<T>>,
    step: u64,
}

impl<T: Element> Adam<T> {
    /// Moments sized for `ps`.
    pub fn new(config: AdamConfig, ps: &Params<T>) -> Self {
        let z = || ps.data.iter().map(|d| vec![T::zero(); d.len()]).collect();
        Self {
            config,
            schedule: Schedule::Constant,
            m: z(),
            v: z(),
            step: 0,
        }
    }
    /// With a schedule.
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }
    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The first and second moments, one buffer per parameter tensor (for checkpoints).
    pub fn moments(&self) -> (&[Vec<T>], &[Vec<T>]) {
        (&self.m, &self.v)
    }

    /// Restores the moments and the step counter saved from [`moments`](Adam::moments) and
    /// [`steps`](Adam::steps) (resuming from a checkpoint).
    ///
    /// # Panics
    /// If the buffers do not have the layout of this optimiser's parameters.
    #[track_caller]
    pub fn restore(&mut self, m: Vec<Vec<T>>, v: Vec<Vec<T>>, step: u64) {
        let same = |a: &[Vec<T>], b: &[Vec<T>]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.len() == y.len())
        };
        assert!(
            same(&m, &self.m) && same(&v, &self.v),
            "Adam::restore: moment buffers do not match the parameters"
        );
        self.m = m;
        self.v = v;
        self.step = step;
    }

    /// One update of `ps` from the gradients of the tape it was bound to. Parameters without a
    /// gradient are left unchanged (no moment update).
    /// A non-finite gradient skips the whole step.
    pub fn step(&mut self, ps: &mut Params<T>, grads: &Grads<T>) -> StepInfo {
        let c = self.config;
        let lr = c.lr * self.schedule.factor(self.step);
        let mut sq = 0.0f64;
        for id in ps.ids() {
            if let Some(g) = ps.grad(grads, id) {
                sq += sum_sq(g);
            }
        }
        let norm = sq.sqrt();
        if !norm.is_finite() {
            return StepInfo {
                grad_norm: norm,
                lr,
                skipped: true,
            };
        }
        let clip = match c.clip_norm {
            Some(mx) if norm > mx => mx / norm,
            _ => 1.0,
        };
        self.step += 1;
        let t = self.step as i32;
        let (b1, b2) = (T::c(c.beta1), T::c(c.beta2));
        let bc1 = T::c(1.0 - c.beta1.powi(t));
        let bc2 = T::c(1.0 - c.beta2.powi(t));
        let step = T::c(lr) / bc1;
        let (eps, clip, decay) = (
            T::c(c.eps),
            T::c(clip),
            T::one() - T::c(lr * c.weight_decay),
        );
        let inv_sqrt_bc2 = T::one() / bc2.sqrt();
        for id in ps.ids() {
            let Some(g) = ps.grad(grads, id) else {
                continue;
            };
            let (m, v) = (&mut self.m[id.0], &mut self.v[id.0]);
            let p = &mut ps.data[id.0];
            let (c1, c2) = (T::one() - b1, T::one() - b2);
            // One fused pass over (p, m, v, g), written with iterators so that it vectorises.
            for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
                let gk = g * clip;
                *m = b1 * *m + c1 * gk;
                *v = b2 * *v + c2 * gk * gk;
                let denom = v.sqrt() * inv_sqrt_bc2 + eps;
                *p = *p * decay - step * *m / denom;
            }
        }
        StepInfo {
            grad_norm: norm,
            lr,
            skipped: false,
        }
    }
}

/// Exponential moving average of parameters: $\bar\theta \leftarrow d\\,\bar\theta + (1-d)\\,\theta$.
#[derive(Clone, Debug)]
pub struct Ema<T> {
    /// Decay $d$.
    pub decay: f64,
    shadow: Params<T>,
}

impl<T: Element> Ema<T> {
    /// Starts at the current parameters.
    pub fn new(ps: &Params<T>, decay: f64) -> Self {
        Self {
            decay,
            shadow: ps.clone(),
        }
    }
    /// Moves the average towards `ps`.
    pub fn update(&mut self, ps: &Params<T>) {
        let d = T::c(self.decay);
        for (s, p) in self.shadow.data.iter_mut().zip(&ps.data) {
            for (a, &b) in s.iter_mut().zip(p) {
                *a = d * *a + (T::one() - d) * b;
            }
        }
    }
    /// The averaged parameters.
    pub fn params(&self) -> &Params<T> {
        &self.shadow
    }
    /// The averaged parameters, mutable (restoring a checkpoint).
    pub fn params_mut(&mut self) -> &mut Params<T> {
        &mut self.shadow
    }
    /// Writes the averaged values into `ps` (same layout).
    pub fn copy_to(&self, ps: &mut Params<T>) {
        for (p, s) in ps.data.iter_mut().zip(&self.shadow.data) {
            p.copy_from_slice(s);
        }
    }
}

/// $\sum_k g_k^2$ in `f64`: blocks of 256 summed in `T` over 8 lanes (vectorises), each block
/// total added in `f64` (a block whose `T` sum overflows is redone in `f64`).
fn sum_sq<T: Element>(g: &[T]) -> f64 {
    let mut total = 0.0f64;
    for block in g.chunks(256) {
        let mut lanes = [T::zero(); 8];
        let mut it = block.chunks_exact(8);
        for c in &mut it {
            for (l, &x) in lanes.iter_mut().zip(c) {
                *l += x * x;
            }
        }
        for (l, &x) in lanes.iter_mut().zip(it.remainder()) {
            *l += x * x;
        }
        let b = lanes.iter().map(|l| l.to_f64_lossless()).sum::<f64>();
        // An f32 square can overflow where the f64 one does not: redo that block in f64.
        total += if b.is_finite() {
            b
        } else {
            block
                .iter()
                .map(|x| x.to_f64_lossless() * x.to_f64_lossless())
                .sum()
        };
    }
    total
}
