//! Training objectives: Riemannian flow matching and the four generalised flow-map
//! self-distillation losses (G-LSD, G-ESD, G-PSD, G-MF).
//!
//! Every objective draws base samples $x_0 \sim p_0$ (the manifold's [`Sample`] base), pairs
//! them with data $x_1$ (independently, or by minibatch optimal transport — see
//! [`Objective::pairing`]), and records a scalar loss on a [`Tape`] whose parameters are
//! bound. Norms are Riemannian, $\|u\|^2_g = g_x(u, u)$, so every term has the scale of the
//! flow-matching loss. Notation: $I_t = \exp_{x_0}(\kappa(t)\log_{x_0} x_1)$ is the geodesic
//! interpolant ([`crate::path`]), $\dot I_t$ its velocity, $\mathrm{sg}$ the stop-gradient,
//! $X_{s,t}(x) = \exp_x((t-s)\,v_{s,t}(x))$ the flow map of a two-time [`FlowNet`](crate::model::FlowNet).
//!
//! ## Riemannian flow matching ([`Method::Rfm`], spec §3)
//! $$\mathcal L_{RFM} = \mathbb E_{t, x_0, x_1}\,\big\|v_\theta(I_t, t) - \dot I_t\big\|^2_{g(I_t)},
//!   \qquad t \sim U[0, 1].$$
//! (The reference code also divides by the ambient dimension; a constant factor we drop.)
//! For a two-time net the same loss on the diagonal $v_\theta(I_t, t, t)$ is the "diagonal
//! term" $\mathcal L_{FM}$ that every flow-map objective below adds, with weight
//! $\lambda_{FM}$ ([`ObjectiveConfig::lambda_fm`], 1 by default) and, unless
//! [`ObjectiveConfig::diag_fraction`] splits the batch, on the same rows and times.
//!
//! ## G-LSD, Lagrangian self-distillation ([`Method::Lsd`], spec §5.5)
//! $$\mathcal L_{LSD} = \Big\|\partial_t X^\theta_{s,t}(I_s) - \mathrm{sg}\big[v^\theta_{t,t}(\mathrm{sg}[X^\theta_{s,t}(I_s)])\big]\Big\|^2_{g(X)}.$$
//! $\partial_t X$ is a forward-mode JVP in the scalar time $t$ recorded on the tape, so the
//! reverse sweep trains through it (reverse-over-forward).
//!
//! ## G-ESD, Eulerian self-distillation ([`Method::Esd`])
//! $$\mathcal L_{ESD} = \Big\|\partial_s X^\theta_{s,t}(I_s) + \mathrm{sg}\big[P_X\, d(X^\theta_{s,t})_{I_s}[v^\theta_{s,s}(I_s)]\big]\Big\|^2_{g(X)}:$$
//! a differentiable JVP in $s$, plus the push-forward of the diagonal velocity by the map (a
//! spatial JVP, untaped and stopped), projected onto $T_XM$. The vendored GFM code overwrites
//! the push-forward with $P_{I_s} v_{s,s}(I_s)$ (spec §5.5, flagged as an anomaly); that
//! variant is kept only behind `Esd { reproduce_overwrite: true }`.
//!
//! ## G-PSD, progressive self-distillation ([`Method::Psd`])
//! $$u = \tfrac12(s + t),\qquad \mathcal L_{PSD} = d_g\Big(X^\theta_{s,t}(I_s),\;
//!   \mathrm{sg}\big[X^\theta_{u,t}(X^\theta_{s,u}(I_s))\big]\Big)^2,$$
//! with the gradient-safe distance of the manifold crate (the reference code uses geoopt's
//! clamped sphere distance, whose gradient vanishes below ≈0.014 rad in f32 — we do not copy
//! that). `Psd { uniform_mid: true }` draws $u = hs + (1-h)t$, $h \sim U(0,1)$ instead.
//!
//! ## G-MF, Riemannian MeanFlow ([`Method::MeanFlow`], spec §5.7, in forward time)
//! The MeanFlow identity follows from the Eulerian equation with the conditional velocity
//! plugged in: $v_{s,t}(x_s) = \dot I_s + (t - s)\,\frac{d}{ds} v_{s,t}(x_s)$ along the path.
//! $$\mathcal L_{MF} = \Big\|v^\theta_{s,t}(I_s) - \mathrm{sg}\big[\dot I_s + (t - s)\,\big(\partial_x v^\theta_{s,t}(I_s)[\dot I_s] + \partial_s v^\theta_{s,t}(I_s)\big)\big]\Big\|^2_{g(I_s)},$$
//! one untaped JVP along $(\dot I_s, 1, 0)$ in $(x, s, t)$. The GFM code runs MeanFlow with
//! time reversed (data at 0); with $s' = 1 - t$, $t' = 1 - r$ and $v = -u$ this is the same
//! objective, written in this crate's convention so that the model is an ordinary flow map
//! sampled with [`crate::field::FlowMap`]. No separate FM term: on the diagonal rows
//! ($s = t$, fraction [`ObjectiveConfig::diag_fraction`], 3/4 by default, the ratio MeanFlow found best) the loss *is* flow
//! matching.
//!
//! MeanFlow and G-ESD use the adaptive weighting of Geng et al. by default
//! ([`ObjectiveConfig::adaptive_weight`]): with the plain squared loss the target's
//! $(t-s)\,\tfrac{d}{ds}v$ term feeds back and training diverges on the sphere in our runs, and
//! the plain G-ESD loss diverged on the RNA torus (T⁷); Eulerian objectives are known to need
//! such stabilisation (Boffi et al.). Set the option to `None` for the unweighted losses.
//!
//! ## Times ([`TimeSampler`])
//! The GFM code draws $t = t_{min} + (1 - t_{min})U_1$, $s = U_2 t$ (density $\propto 1/t$ on
//! the triangle; the default); also uniform on the triangle $0 \le s \le t \le 1$, and the
//! annealed gap $s \leftarrow \max(s, t - \delta_k)$ with $\delta_k$ growing linearly from
//! $\delta_0$ to 1 over a number of steps (Boffi et al.).
//!
//! ## Learned loss weights
//! With [`ObjectiveConfig::learned_weights`], a small network $w_\phi(s, t)$ turns the
//! per-sample self-distillation loss $\ell$ into $e^{-w}\ell + w$ (EDM2-style uncertainty
//! weighting; spec §4.2), trained jointly.

use crate::model::TapeModel;
use geoflow_autodiff::{
    Activation, Adam, AdamConfig, Element, EmbeddingKind, Grads, Mlp, MlpConfig, Params, Tape,
    TapeManifold, Var,
};
use geoflow_manifolds::{Differentiable, Manifold, Sample};
use rand::Rng;

use crate::path::{conditional_batch_into, Schedule};

/// The training objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Riemannian flow matching (one-time vector field).
    Rfm,
    /// G-LSD: Lagrangian self-distillation + diagonal FM.
    Lsd,
    /// G-ESD: Eulerian self-distillation + diagonal FM.
    Esd {
        /// Reproduce the vendored code's overwrite of the push-forward by $P_{I_s}v_{s,s}$.
        reproduce_overwrite: bool,
    },
    /// G-PSD: progressive self-distillation + diagonal FM.
    Psd {
        /// $u = hs + (1 - h)t$ with $h \sim U(0, 1)$ instead of the midpoint.
        uniform_mid: bool,
    },
    /// G-MF: Riemannian MeanFlow.
    MeanFlow,
}

impl Method {
    /// Parses `rfm`, `lsd`, `esd`, `esd-overwrite`, `psd`, `psd-uniform`, `mf`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "rfm" => Method::Rfm,
            "lsd" => Method::Lsd,
            "esd" => Method::Esd {
                reproduce_overwrite: false,
            },
            "esd-overwrite" => Method::Esd {
                reproduce_overwrite: true,
            },
            "psd" => Method::Psd { uniform_mid: false },
            "psd-uniform" => Method::Psd { uniform_mid: true },
            "mf" => Method::MeanFlow,
            _ => return None,
        })
    }

    /// The name [`parse`](Method::parse) accepts.
    pub fn name(self) -> &'static str {
        match self {
            Method::Rfm => "rfm",
            Method::Lsd => "lsd",
            Method::Esd {
                reproduce_overwrite: false,
            } => "esd",
            Method::Esd {
                reproduce_overwrite: true,
            } => "esd-overwrite",
            Method::Psd { uniform_mid: false } => "psd",
            Method::Psd { uniform_mid: true } => "psd-uniform",
            Method::MeanFlow => "mf",
        }
    }

    /// Number of time inputs of the network this objective trains.
    pub fn times(self) -> usize {
        match self {
            Method::Rfm => 1,
            _ => 2,
        }
    }
}

/// How $(s, t)$ pairs are drawn for the flow-map objectives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeSampler {
    /// $t = t_{min} + (1 - t_{min})U_1$, $s = U_2\,t$ (the GFM code).
    Scaled,
    /// Uniform on the triangle $0 \le s \le t \le 1$.
    Triangle,
    /// Uniform on the triangle, then $s \leftarrow \max(s, t - \delta_k)$ with
    /// $\delta_k = \delta_0 + (1 - \delta_0)\min(1, k / \text{steps})$ at training step $k$.
    Annealed {
        /// Initial largest gap $\delta_0$.
        start: f64,
        /// Steps over which the gap grows to 1.
        steps: u64,
    },
}

/// Configuration of an [`Objective`].
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectiveConfig {
    /// The loss.
    pub method: Method,
    /// Schedule of the conditional path.
    pub schedule: Schedule,
    /// $(s, t)$ sampler of the flow-map objectives.
    pub times: TimeSampler,
    /// Smallest $t$ drawn ($10^{-5}$ in the GFM code).
    pub t_min: f64,
    /// Weight $\lambda_{FM}$ of the diagonal flow-matching term of LSD/ESD/PSD.
    pub lambda_fm: f64,
    /// `None`: the FM term and the self-distillation term use every row at the same times
    /// (the GFM code). `Some(f)`: a fraction `f` of the rows is diagonal ($s = t$; the FM term
    /// is computed on those rows only) and the rest trains the self-distillation term. For
    /// MeanFlow, the fraction of rows with $s = t$ (default 3/4, as MeanFlow).
    pub diag_fraction: Option<f64>,
    /// Learn per-$(s, t)$ loss weights $e^{-w}\ell + w$.
    pub learned_weights: bool,
    /// MeanFlow's adaptive weighting $(p, c)$: each sample's squared residual $\ell$ is
    /// weighted by $\mathrm{sg}[1/(\ell + c)^p]$ (Geng et al.; $p = 1$ makes the loss behave
    /// like $\log(\ell + c)$). On by default for MeanFlow and G-ESD, the two Eulerian
    /// objectives, where the plain squared loss diverges in our runs (MeanFlow on S², G-ESD on
    /// T⁷): their residuals contain derivatives of the network that feed back into the target.
    pub adaptive_weight: Option<(f64, f64)>,
}

impl ObjectiveConfig {
    /// Defaults of the method: linear schedule, the GFM code's time sampler, $t_{min} =
    /// 10^{-5}$, $\lambda_{FM} = 1$, no split (MeanFlow: 3/4 diagonal rows and adaptive weights), fixed weights.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            schedule: Schedule::Linear,
            times: TimeSampler::Scaled,
            t_min: 1e-5,
            lambda_fm: 1.0,
            diag_fraction: match method {
                Method::MeanFlow => Some(0.75),
                _ => None,
            },
            learned_weights: false,
            adaptive_weight: match method {
                Method::MeanFlow | Method::Esd { .. } => Some((1.0, 1e-3)),
                _ => None,
            },
        }
    }
}

/// Per-step pairing of base samples with data (e.g. minibatch optimal transport): reorders the
/// rows of `x0s` given `x1s`. Must be deterministic given `rng`.
pub type Pairing<T, M> = Box<dyn FnMut(&M, &mut [T], &[T], &mut dyn rand::RngCore) + Send>;

/// Replaces the manifold's base distribution: fills `[n, D]` rows with base samples.
pub type BaseSampler<T> = Box<dyn FnMut(&mut dyn rand::RngCore, &mut [T]) + Send>;

/// One batch's buffers (reused between steps).
#[derive(Clone, Debug, Default)]
struct Buffers<T> {
    x0: Vec<T>,
    x1: Vec<T>,
    s: Vec<T>,
    t: Vec<T>,
    xs: Vec<T>,
    us: Vec<T>,
    xt: Vec<T>,
    ut: Vec<T>,
    ones: Vec<T>,
    a: Vec<T>,
    b: Vec<T>,
    c: Vec<T>,
    e: Vec<T>,
    f: Vec<T>,
}

/// Learned loss weights $w_\phi(s, t)$.
struct Weights<T: Element> {
    params: Params<T>,
    mlp: Mlp<T>,
    opt: Adam<T>,
    grads: Grads<T>,
}

/// The loss of one training step for a [`FlowNet`](crate::model::FlowNet) on manifold `M`: draws the batch and
/// records the objective of [`ObjectiveConfig`] on a tape.
pub struct Objective<T: Element, M> {
    /// The configuration.
    pub config: ObjectiveConfig,
    /// Optional coupling of base samples and data (minibatch OT for Fisher-Flow).
    pub pairing: Option<Pairing<T, M>>,
    /// Optional base distribution other than the manifold's [`Sample`] base (e.g. Dirichlet
    /// on the simplex for the linear flow-matching baseline).
    pub base: Option<BaseSampler<T>>,
    buf: Buffers<T>,
    weights: Option<Weights<T>>,
    step: u64,
}

/// The values of the loss terms of the last recorded step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossParts {
    /// Total loss.
    pub total: f64,
    /// Flow-matching (diagonal) term.
    pub fm: f64,
    /// Self-distillation term (0 for RFM).
    pub sd: f64,
}

impl<T: Element, M> Objective<T, M>
where
    M: Manifold<Scalar = T> + Differentiable + Sample + TapeManifold<T>,
{
    /// A new objective.
    ///
    /// # Panics
    /// If a fraction is outside $[0, 1]$ or $t_{min} \notin [0, 1)$.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(config: ObjectiveConfig, rng: &mut R) -> Self {
        if let Some(f) = config.diag_fraction {
            assert!((0.0..=1.0).contains(&f), "diag_fraction {f} not in [0, 1]");
        }
        assert!(
            (0.0..1.0).contains(&config.t_min),
            "t_min {} not in [0, 1)",
            config.t_min
        );
        let weights = config.learned_weights.then(|| {
            let mut params = Params::new();
            let mlp = Mlp::new(
                &mut params,
                "weight",
                MlpConfig {
                    input: 1,
                    hidden: vec![64],
                    output: 1,
                    activation: Activation::Silu,
                    residual: false,
                    time: Some((
                        EmbeddingKind::Sinusoidal {
                            scale: 64.0 * std::f64::consts::PI,
                            max_period: 64.0,
                        },
                        16,
                        2,
                    )),
                    zero_last: true,
                },
                rng,
            );
            let opt = Adam::new(AdamConfig::adam(1e-3), &params);
            Weights {
                params,
                mlp,
                opt,
                grads: Grads::new(),
            }
        });
        Self {
            config,
            pairing: None,
            base: None,
            buf: Buffers::default(),
            weights,
            step: 0,
        }
    }

    /// Training steps recorded so far (drives the annealed time sampler).
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Sets the step counter (when resuming).
    pub fn set_step_count(&mut self, k: u64) {
        self.step = k;
    }

    /// Draws a batch (data rows `x1s`, `[n, D]`) and records the loss on `tape`, whose
    /// parameters must be bound (`net.params.bind(tape)`). Returns the loss variable and its
    /// parts.
    ///
    /// # Panics
    /// If the network's number of times does not match the method, or on shape mismatches.
    #[track_caller]
    pub fn record<'m, R: Rng + ?Sized, N: TapeModel<T, M>>(
        &mut self,
        tape: &mut Tape<'m, T>,
        net: &N,
        m: &'m M,
        x1s: &[T],
        rng: &mut R,
    ) -> (Var, LossParts) {
        self.record_with_teacher(tape, net, net, m, x1s, rng)
    }

    /// [`record`](Objective::record) with a separate teacher for every stop-gradient part
    /// (an EMA copy, or a frozen copy in gradient tests); the teacher's parameters must be
    /// bound too (`bind_frozen`). With `teacher` the same object as `net`, this is the GFM
    /// code's "current network under no-grad" teacher and no work is duplicated.
    #[track_caller]
    pub fn record_with_teacher<'m, R: Rng + ?Sized, N: TapeModel<T, M>, K: TapeModel<T, M>>(
        &mut self,
        tape: &mut Tape<'m, T>,
        net: &N,
        teacher: &K,
        m: &'m M,
        x1s: &[T],
        rng: &mut R,
    ) -> (Var, LossParts) {
        let same = std::ptr::eq(
            net as *const N as *const u8,
            teacher as *const K as *const u8,
        );
        let tm = Teacher {
            model: teacher,
            same,
        };
        assert!(
            net.times() == self.config.method.times(),
            "objective {} needs a {}-time network, got {}",
            self.config.method.name(),
            self.config.method.times(),
            net.times()
        );
        let d = m.ambient_dim();
        let n = x1s.len() / d;
        assert!(n > 0 && n * d == x1s.len(), "empty or ragged batch");
        self.prepare(m, x1s, rng);
        self.step += 1;
        if let Some(w) = &mut self.weights {
            w.params.bind(tape);
        }
        match self.config.method {
            Method::Rfm => {
                let fm = self.fm_term(tape, net, m, 0, n, false);
                let v = tape.scalar_value(fm).to_f64().unwrap_or(f64::NAN);
                (
                    fm,
                    LossParts {
                        total: v,
                        fm: v,
                        sd: 0.0,
                    },
                )
            }
            Method::MeanFlow => {
                let l = self.meanflow_term(tape, net, &tm, m, n);
                let v = tape.scalar_value(l).to_f64().unwrap_or(f64::NAN);
                (
                    l,
                    LossParts {
                        total: v,
                        fm: 0.0,
                        sd: v,
                    },
                )
            }
            method => {
                let (fm_rows, sd_start) = match self.config.diag_fraction {
                    None => ((0, n), 0),
                    Some(f) => {
                        let k = ((f * n as f64).round() as usize).min(n);
                        ((0, k), k)
                    }
                };
                let sd = match method {
                    Method::Lsd => self.lsd_term(tape, net, &tm, m, sd_start, n),
                    Method::Esd {
                        reproduce_overwrite,
                    } => self.esd_term(tape, net, &tm, m, sd_start, n, reproduce_overwrite),
                    Method::Psd { uniform_mid } => {
                        self.psd_term(tape, net, &tm, m, sd_start, n, uniform_mid, rng)
                    }
                    _ => unreachable!(),
                };
                let sdv = tape.scalar_value(sd).to_f64().unwrap_or(f64::NAN);
                if fm_rows.1 > fm_rows.0 && self.config.lambda_fm > 0.0 {
                    let fm = self.fm_term(tape, net, m, fm_rows.0, fm_rows.1, true);
                    let fmv = tape.scalar_value(fm).to_f64().unwrap_or(f64::NAN);
                    let fm_w = tape.scale(fm, T::c(self.config.lambda_fm));
                    let total = tape.add(sd, fm_w);
                    let tv = tape.scalar_value(total).to_f64().unwrap_or(f64::NAN);
                    (
                        total,
                        LossParts {
                            total: tv,
                            fm: fmv,
                            sd: sdv,
                        },
                    )
                } else {
                    (
                        sd,
                        LossParts {
                            total: sdv,
                            fm: 0.0,
                            sd: sdv,
                        },
                    )
                }
            }
        }
    }

    /// After `tape.backward_into(loss, grads)`: updates the learned loss weights (if any).
    pub fn after_backward(&mut self, tape: &mut Tape<'_, T>, loss: Var) {
        if let Some(w) = &mut self.weights {
            tape.backward_into(loss, &mut w.grads);
            w.opt.step(&mut w.params, &w.grads);
        }
    }

    /// Base samples, pairing, times and the conditional path at $t$ (and at $s$).
    fn prepare<R: Rng + ?Sized>(&mut self, m: &M, x1s: &[T], rng: &mut R) {
        let d = m.ambient_dim();
        let n = x1s.len() / d;
        let b = &mut self.buf;
        for v in [
            &mut b.x0, &mut b.xs, &mut b.us, &mut b.xt, &mut b.ut, &mut b.a, &mut b.b, &mut b.c,
            &mut b.e, &mut b.f,
        ] {
            v.clear();
            v.resize(n * d, T::zero());
        }
        for v in [&mut b.s, &mut b.t, &mut b.ones] {
            v.clear();
            v.resize(n, T::one());
        }
        b.x1.clear();
        b.x1.extend_from_slice(x1s);
        match &mut self.base {
            Some(f) => f(&mut DynRng(rng), &mut b.x0),
            None => m.sample_base_batch_into(rng, &mut b.x0),
        }
        if let Some(pair) = &mut self.pairing {
            let mut r = DynRng(rng);
            pair(m, &mut b.x0, &b.x1, &mut r);
        }
        let c = &self.config;
        let t_min = c.t_min;
        let diag_rows = match (c.method, c.diag_fraction) {
            (Method::MeanFlow, Some(f)) => ((f * n as f64).round() as usize).min(n),
            _ => 0,
        };
        for i in 0..n {
            let (s, t) = match c.method {
                Method::Rfm => {
                    let t: f64 = rng.random_range(0.0..1.0);
                    (t, t)
                }
                _ => {
                    let (u1, u2): (f64, f64) =
                        (rng.random_range(0.0..1.0), rng.random_range(0.0..1.0));
                    match c.times {
                        TimeSampler::Scaled => {
                            let t = t_min + (1.0 - t_min) * u1;
                            (u2 * t, t)
                        }
                        TimeSampler::Triangle => (u1.min(u2), u1.max(u2)),
                        TimeSampler::Annealed { start, steps } => {
                            let (s, t) = (u1.min(u2), u1.max(u2));
                            let frac = (self.step as f64 / steps.max(1) as f64).min(1.0);
                            let gap = start + (1.0 - start) * frac;
                            (s.max(t - gap), t)
                        }
                    }
                }
            };
            let s = if i < diag_rows { t } else { s };
            b.s[i] = T::c(s);
            b.t[i] = T::c(t);
        }
        conditional_batch_into(m, c.schedule, &b.x0, &b.x1, &b.t, &mut b.xt, &mut b.ut);
        if c.method != Method::Rfm {
            conditional_batch_into(m, c.schedule, &b.x0, &b.x1, &b.s, &mut b.xs, &mut b.us);
        }
    }

    /// Mean of $\|r_i\|^2_{g(x_i)}$, weighted by the learned weights when `weighted`.
    fn mean_sq<'m>(
        &self,
        tape: &mut Tape<'m, T>,
        m: &'m M,
        x: Var,
        r: Var,
        st: Option<(Var, Var)>,
    ) -> Var {
        let l = tape.inner(m, x, r, r);
        let l = match self.config.adaptive_weight {
            Some((p, c)) => {
                let n = tape.shape(l).0;
                let w: Vec<T> = tape
                    .value(l)
                    .iter()
                    .map(|&v| T::one() / (v + T::c(c)).powf(T::c(p)))
                    .collect();
                let w = tape.constant(&w, n, 1);
                tape.mul(l, w)
            }
            None => l,
        };
        self.reduce(tape, l, st)
    }

    /// Mean of per-row losses `l: [n, 1]`, with learned weights if configured.
    fn reduce(&self, tape: &mut Tape<'_, T>, l: Var, st: Option<(Var, Var)>) -> Var {
        match (&self.weights, st) {
            (Some(w), Some((s, t))) => {
                let n = tape.shape(l).0;
                let z = tape.zeros(n, 1);
                let wv = w.mlp.forward(tape, &w.params, z, &[s, t]);
                let nw = tape.neg(wv);
                let e = tape.exp_elem(nw);
                let el = tape.mul(e, l);
                let tot = tape.add(el, wv);
                tape.mean(tot)
            }
            _ => tape.mean(l),
        }
    }

    /// Rows `[lo, hi)`: $\|v(I_t, t[, t]) - \dot I_t\|^2_g$.
    fn fm_term<'m>(
        &self,
        tape: &mut Tape<'m, T>,
        net: &impl TapeModel<T, M>,
        m: &'m M,
        lo: usize,
        hi: usize,
        two: bool,
    ) -> Var {
        let d = m.ambient_dim();
        let b = &self.buf;
        let k = hi - lo;
        let x = tape.constant(&b.xt[lo * d..hi * d], k, d);
        let t = tape.constant(&b.t[lo..hi], k, 1);
        let u = tape.constant(&b.ut[lo * d..hi * d], k, d);
        let v = if two {
            net.record(tape, m, x, &[t, t])
        } else {
            net.record(tape, m, x, &[t])
        };
        let r = tape.sub(v, u);
        let l = tape.inner(m, x, r, r);
        tape.mean(l)
    }

    /// G-LSD on rows `[lo, hi)`.
    fn lsd_term<'m, K: TapeModel<T, M>>(
        &self,
        tape: &mut Tape<'m, T>,
        net: &impl TapeModel<T, M>,
        teacher: &Teacher<'_, K>,
        m: &'m M,
        lo: usize,
        hi: usize,
    ) -> Var {
        let d = m.ambient_dim();
        let b = &self.buf;
        let k = hi - lo;
        if k == 0 {
            return tape.scalar(T::zero());
        }
        let x = tape.constant(&b.xs[lo * d..hi * d], k, d);
        let s = tape.constant(&b.s[lo..hi], k, 1);
        let t = tape.constant(&b.t[lo..hi], k, 1);
        let (big_x, _) = net.record_map(tape, m, x, s, t);
        let one = tape.constant(&b.ones[lo..hi], k, 1);
        let dx = tape.jvp1(big_x, &[t], &[one]);
        // Everything under a stop-gradient is the teacher's: with the student as its own
        // teacher this is sg[X]; with a separate teacher, its own map (so the surrogate's
        // gradient is exactly the derivative with the teacher frozen).
        let xd = if teacher.same {
            tape.stop_gradient(big_x)
        } else {
            let xk = teacher.model.record_map(tape, m, x, s, t).0;
            tape.stop_gradient(xk)
        };
        let teacher = teacher.model.record(tape, m, xd, &[t, t]);
        let teacher = tape.stop_gradient(teacher);
        let r = tape.sub(dx, teacher);
        self.mean_sq(tape, m, xd, r, Some((s, t)))
    }

    /// G-ESD on rows `[lo, hi)`.
    fn esd_term<'m, K: TapeModel<T, M>>(
        &mut self,
        tape: &mut Tape<'m, T>,
        net: &impl TapeModel<T, M>,
        teacher: &Teacher<'_, K>,
        m: &'m M,
        lo: usize,
        hi: usize,
        overwrite: bool,
    ) -> Var {
        let d = m.ambient_dim();
        let k = hi - lo;
        if k == 0 {
            return tape.scalar(T::zero());
        }
        let x = tape.constant(&self.buf.xs[lo * d..hi * d], k, d);
        let s = tape.constant(&self.buf.s[lo..hi], k, 1);
        let t = tape.constant(&self.buf.t[lo..hi], k, 1);
        let (big_x, _) = net.record_map(tape, m, x, s, t);
        let one = tape.constant(&self.buf.ones[lo..hi], k, 1);
        let dsx = tape.jvp1(big_x, &[s], &[one]);
        // The transporting velocity v_{s,s}(I_s), stopped.
        let vss = teacher.model.record(tape, m, x, &[s, s]);
        let map_t = if teacher.same {
            big_x
        } else {
            teacher.model.record_map(tape, m, x, s, t).0
        };
        let b = &mut self.buf;
        let (pf, proj) = (&mut b.a[..k * d], &mut b.b[..k * d]);
        let (xv, uv) = (&mut b.e[..k * d], &mut b.f[..k * d]);
        xv.copy_from_slice(tape.value(map_t));
        uv.copy_from_slice(tape.value(vss));
        if overwrite {
            m.project_tangent_batch_into(&b.xs[lo * d..hi * d], uv, proj);
        } else {
            let u = tape.constant(uv, k, d);
            tape.jvp_value_into(map_t, &[x], &[u], pf);
            m.project_tangent_batch_into(xv, pf, proj);
        }
        let push = tape.constant(proj, k, d);
        let xd = tape.stop_gradient(map_t);
        let r = tape.add(dsx, push);
        self.mean_sq(tape, m, xd, r, Some((s, t)))
    }

    /// G-PSD on rows `[lo, hi)`.
    fn psd_term<'m, R: Rng + ?Sized, K: TapeModel<T, M>>(
        &mut self,
        tape: &mut Tape<'m, T>,
        net: &impl TapeModel<T, M>,
        teacher: &Teacher<'_, K>,
        m: &'m M,
        lo: usize,
        hi: usize,
        uniform_mid: bool,
        rng: &mut R,
    ) -> Var {
        let d = m.ambient_dim();
        let k = hi - lo;
        if k == 0 {
            return tape.scalar(T::zero());
        }
        let b = &mut self.buf;
        for i in lo..hi {
            let h = if uniform_mid {
                T::c(rng.random_range(0.0..1.0))
            } else {
                T::c(0.5)
            };
            b.c[i] = h * b.s[i] + (T::one() - h) * b.t[i];
        }
        let b = &self.buf;
        let x = tape.constant(&b.xs[lo * d..hi * d], k, d);
        let s = tape.constant(&b.s[lo..hi], k, 1);
        let t = tape.constant(&b.t[lo..hi], k, 1);
        let u = tape.constant(&b.c[lo..hi], k, 1);
        let (student, _) = net.record_map(tape, m, x, s, t);
        let (xu, _) = teacher.model.record_map(tape, m, x, s, u);
        let xu = tape.stop_gradient(xu);
        let (target, _) = teacher.model.record_map(tape, m, xu, u, t);
        let target = tape.stop_gradient(target);
        let dist = tape.dist(m, student, target);
        let l = tape.square(dist);
        self.reduce(tape, l, Some((s, t)))
    }

    /// G-MF on all rows.
    fn meanflow_term<'m, K: TapeModel<T, M>>(
        &mut self,
        tape: &mut Tape<'m, T>,
        net: &impl TapeModel<T, M>,
        teacher: &Teacher<'_, K>,
        m: &'m M,
        n: usize,
    ) -> Var {
        let d = m.ambient_dim();
        let x = tape.constant(&self.buf.xs, n, d);
        let s = tape.constant(&self.buf.s, n, 1);
        let t = tape.constant(&self.buf.t, n, 1);
        let v = net.record(tape, m, x, &[s, t]);
        let vt = if teacher.same {
            v
        } else {
            teacher.model.record(tape, m, x, &[s, t])
        };
        let b = &mut self.buf;
        let du = tape.constant(&b.us, n, d);
        let one = tape.constant(&b.ones, n, 1);
        tape.jvp_value_into(vt, &[x, s], &[du, one], &mut b.a);
        // target = İ_s + (t − s) dv, stopped.
        for ((a, &s), &t) in b.a.chunks_exact_mut(d).zip(&b.s).zip(&b.t) {
            let h = t - s;
            a.iter_mut().for_each(|a| *a *= h);
        }
        for (a, &u) in b.a.iter_mut().zip(&b.us) {
            *a += u;
        }
        let target = tape.constant(&b.a, n, d);
        let r = tape.sub(v, target);
        self.mean_sq(tape, m, x, r, Some((s, t)))
    }
}

/// The model used for the stop-gradient parts, and whether it is the student itself.
struct Teacher<'a, K> {
    model: &'a K,
    same: bool,
}

/// Adapts a generic `Rng` to `dyn RngCore` for [`Pairing`] callbacks.
struct DynRng<'a, R: ?Sized>(&'a mut R);

impl<R: Rng + ?Sized> rand::RngCore for DynRng<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.0.fill_bytes(dst)
    }
}
