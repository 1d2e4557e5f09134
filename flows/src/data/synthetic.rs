//! Synthetic distributions with exact log-densities: the [`Target`] trait, mixtures on
//! $S^n$, $T^n$, $H^n$ (Lorentz and Poincaré ball), the categorical toy, and the named
//! built-ins of [`builtin_synthetic`].
//!
//! Every density is with respect to the **Riemannian volume** of its manifold (surface measure
//! on $S^n$, Lebesgue measure of the angles on $T^n$, the hyperbolic volume on $H^n$ and
//! $B^n$), so $-\frac1N\sum_i \log p(x_i)$ over held-out points is the NLL in nats that the
//! flow likelihoods of this crate estimate.

use crate::data::{Sequences, Space};
use crate::{FlowError, Result};
use geoflow_manifolds::lorentz::WrappedNormal as LorentzNormal;
use geoflow_manifolds::torus::WrappedNormal as TorusNormal;
use geoflow_manifolds::{Diffeo, PoincareBall, Real, VonMisesFisher};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A distribution on a manifold that can be sampled and whose log-density (w.r.t. the
/// Riemannian volume) is known exactly. Points are rows of [`ambient_dim`](Self::ambient_dim)
/// scalars; batches are row-major `[n, D]`.
///
/// Object safe (the RNG is `&mut dyn RngCore`; pass `&mut rng` for any `rand` generator), so
/// `Box<dyn Target<T>>` works. Sampling is deterministic given the generator's state.
pub trait Target<T: Real> {
    /// Scalars per point, `D`.
    fn ambient_dim(&self) -> usize;

    /// Fills `out` (`[n, D]`, any `n`) with independent draws.
    ///
    /// # Panics
    /// If `out.len()` is not a multiple of `D`.
    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [T]);

    /// $\log p(x)$ for one point `x` (`D` scalars) w.r.t. the Riemannian volume.
    ///
    /// # Panics
    /// If `x.len() != D`.
    fn log_density(&self, x: &[T]) -> T;

    /// $\log p(x_i)$ for every row of `xs` (`[n, D]`) into `out` (`n`).
    ///
    /// # Panics
    /// If `xs.len() != out.len() * D`.
    #[track_caller]
    fn log_density_batch_into(&self, xs: &[T], out: &mut [T]) {
        let d = self.ambient_dim();
        assert_eq!(
            xs.len(),
            out.len() * d,
            "Target::log_density_batch_into: {} scalars for {} outputs of dimension {d}",
            xs.len(),
            out.len()
        );
        for (o, x) in out.iter_mut().zip(xs.chunks_exact(d)) {
            *o = self.log_density(x);
        }
    }

    /// `n` draws as a new `[n, D]` buffer.
    fn sample(&self, rng: &mut dyn RngCore, n: usize) -> Vec<T> {
        let mut out = vec![T::zero(); n * self.ambient_dim()];
        self.sample_into(rng, &mut out);
        out
    }
}

#[track_caller]
fn expect_rows(len: usize, d: usize, what: &str) {
    assert!(
        len % d == 0,
        "{what}: {len} scalars is not a whole number of points of dimension {d}"
    );
}

/// Normalised mixture weights (all positive) with their logs and cumulative sums.
#[derive(Debug, Clone, PartialEq)]
struct Weights {
    w: Vec<f64>,
    log_w: Vec<f64>,
    cum: Vec<f64>,
}

impl Weights {
    fn new<T: Real>(w: &[T], what: &str) -> Result<Self> {
        if w.is_empty() {
            return Err(FlowError::InvalidArgument(format!(
                "{what}: at least one component is needed"
            )));
        }
        if w.iter().any(|&x| !(x > T::zero() && x.is_finite())) {
            return Err(FlowError::InvalidArgument(format!(
                "{what}: weights must be finite and positive"
            )));
        }
        let total: f64 = w.iter().map(|x| x.to_f64_lossless()).sum();
        let w: Vec<f64> = w.iter().map(|x| x.to_f64_lossless() / total).collect();
        let log_w = w.iter().map(|x| x.ln()).collect();
        let mut acc = 0.0;
        let cum = w
            .iter()
            .map(|x| {
                acc += x;
                acc
            })
            .collect();
        Ok(Self { w, log_w, cum })
    }

    /// A component index drawn with probabilities `w` (one uniform draw).
    fn pick(&self, rng: &mut dyn RngCore) -> usize {
        let u = <f64 as Real>::uniform01(rng);
        self.cum
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.w.len() - 1)
    }
}

/// Streaming log-sum-exp in f64: no buffer, one pass, exact scaling.
struct Lse {
    m: f64,
    s: f64,
}

impl Lse {
    fn new() -> Self {
        Self {
            m: f64::NEG_INFINITY,
            s: 0.0,
        }
    }
    fn add(&mut self, a: f64) {
        if a > self.m {
            self.s = self.s * (self.m - a).exp() + 1.0;
            self.m = a;
        } else {
            self.s += (a - self.m).exp();
        }
    }
    fn value(&self) -> f64 {
        self.m + self.s.ln()
    }
}

fn component_err(what: &str, j: usize, e: impl std::fmt::Display) -> FlowError {
    FlowError::InvalidArgument(format!("{what}: component {j}: {e}"))
}

/// A mixture of von Mises–Fisher laws on $S^n \subset \mathbb R^{n+1}$:
/// $$p(x) = \sum_j w_j\\,C_{n+1}(\kappa_j)\\,e^{\kappa_j\mu_j^\top x},$$
/// w.r.t. the surface measure of $S^n$, evaluated as a log-sum-exp of the components'
/// [`VonMisesFisher::log_density`] (exact normalisers; see there). Sampling picks a component
/// with probability $w_j$, then draws with Wood's exact algorithm.
///
/// ```
/// use geoflow_flows::data::{Target, VmfMixture};
/// use rand::SeedableRng;
/// let mix = VmfMixture::<f64>::new(&[1.0, 1.0], &[0.0, 0.0, 1.0, 0.0, 0.0, -1.0], &[10.0, 10.0])?;
/// // Equal weights, antipodal means: at a pole, half a single vMF's mode density (the other
/// // component adds a relative e^{-20}).
/// let one = 10.0 / (2.0 * std::f64::consts::PI * (1.0 - (-20.0f64).exp()));
/// assert!((mix.log_density(&[0.0, 0.0, 1.0]) - (0.5 * one).ln()).abs() < 1e-8);
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let xs = mix.sample(&mut rng, 4);
/// assert_eq!(xs.len(), 12);
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VmfMixture<T> {
    weights: Weights,
    comps: Vec<VonMisesFisher<T>>,
    d: usize,
}

impl<T: Real> VmfMixture<T> {
    /// `k = weights.len()` components with mean directions `means` (row-major `[k, n+1]`, unit
    /// vectors within `T::check_tol()`; renormalised) and concentrations `kappas` (`k` values,
    /// finite, $\ge 0$). Weights must be finite and positive; they are normalised.
    pub fn new(weights: &[T], means: &[T], kappas: &[T]) -> Result<Self> {
        const WHAT: &str = "vMF mixture";
        let w = Weights::new(weights, WHAT)?;
        let k = weights.len();
        if kappas.len() != k || means.is_empty() || means.len() % k != 0 {
            return Err(FlowError::InvalidArgument(format!(
                "{WHAT}: {k} weights, {} concentrations and {} mean coordinates do not match",
                kappas.len(),
                means.len()
            )));
        }
        let d = means.len() / k;
        let comps = means
            .chunks_exact(d)
            .zip(kappas)
            .enumerate()
            .map(|(j, (mu, &kappa))| {
                VonMisesFisher::new(mu, kappa).map_err(|e| component_err(WHAT, j, e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            weights: w,
            comps,
            d,
        })
    }

    /// The normalised weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights.w
    }

    /// The components.
    pub fn components(&self) -> &[VonMisesFisher<T>] {
        &self.comps
    }

    /// The manifold, $S^n$ with $n$ = `ambient_dim() - 1`.
    pub fn space(&self) -> Space {
        Space::Sphere(self.d - 1)
    }
}

impl<T: Real> Target<T> for VmfMixture<T> {
    fn ambient_dim(&self) -> usize {
        self.d
    }
    #[track_caller]
    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [T]) {
        expect_rows(out.len(), self.d, "VmfMixture::sample_into");
        for row in out.chunks_exact_mut(self.d) {
            let j = self.weights.pick(rng);
            self.comps[j].sample_into(rng, row);
        }
    }
    #[track_caller]
    fn log_density(&self, x: &[T]) -> T {
        let mut lse = Lse::new();
        for (c, &lw) in self.comps.iter().zip(&self.weights.log_w) {
            lse.add(lw + c.log_density(x).to_f64_lossless());
        }
        T::c(lse.value())
    }
}

/// A mixture of wrapped normals on the flat torus $T^n$ (angles in $\lbrack -\pi, \pi)$), each
/// with independent coordinates:
/// $$p(x) = \sum_j w_j \prod_{i=1}^n \sum_{m\in\mathbb Z}
/// \varphi_{\sigma_{ji}}\big(\operatorname{wrap}(x_i - \mu_{ji}) + 2\pi m\big),$$
/// w.r.t. the Lebesgue measure of the angles (the Riemannian volume of $T^n$, total $(2\pi)^n$).
///
/// The per-coordinate density is [`torus::WrappedNormal::log_density`](TorusNormal::log_density):
/// the winding sum (or, for $\sigma > 2$, its Fourier series) is **truncated with a proven
/// bound**, relative error below $2\cdot10^{-17}$ per coordinate, i.e. exact in f64. Sampling is
/// exact: $\operatorname{wrap}(\mu + \sigma z)$.
///
/// ```
/// use geoflow_flows::data::{Target, TorusWrappedMixture};
/// let mix = TorusWrappedMixture::<f64>::new(&[1.0], &[0.0, 0.0], &[0.1, 0.1])?;
/// let peak = -(2.0 * std::f64::consts::PI * 0.01f64).ln();
/// assert!((mix.log_density(&[0.0, 0.0]) - peak).abs() < 1e-12);
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TorusWrappedMixture<T> {
    weights: Weights,
    comps: Vec<TorusNormal<T>>,
    n: usize,
}

impl<T: Real> TorusWrappedMixture<T> {
    /// `k = weights.len()` components with means `means` (`[k, n]` angles, wrapped into
    /// $\lbrack -\pi, \pi)$) and standard deviations `sigmas` (`[k, n]`, finite and positive).
    pub fn new(weights: &[T], means: &[T], sigmas: &[T]) -> Result<Self> {
        const WHAT: &str = "torus wrapped-normal mixture";
        let w = Weights::new(weights, WHAT)?;
        let k = weights.len();
        if means.is_empty() || means.len() % k != 0 || sigmas.len() != means.len() {
            return Err(FlowError::InvalidArgument(format!(
                "{WHAT}: {k} weights, {} mean and {} sigma coordinates do not match",
                means.len(),
                sigmas.len()
            )));
        }
        let n = means.len() / k;
        let comps = means
            .chunks_exact(n)
            .zip(sigmas.chunks_exact(n))
            .enumerate()
            .map(|(j, (m, s))| TorusNormal::new(m, s).map_err(|e| component_err(WHAT, j, e)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            weights: w,
            comps,
            n,
        })
    }

    /// The normalised weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights.w
    }

    /// The components.
    pub fn components(&self) -> &[TorusNormal<T>] {
        &self.comps
    }

    /// The manifold, $T^n$.
    pub fn space(&self) -> Space {
        Space::FlatTorus(self.n)
    }
}

impl<T: Real> Target<T> for TorusWrappedMixture<T> {
    fn ambient_dim(&self) -> usize {
        self.n
    }
    #[track_caller]
    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [T]) {
        expect_rows(out.len(), self.n, "TorusWrappedMixture::sample_into");
        for row in out.chunks_exact_mut(self.n) {
            let j = self.weights.pick(rng);
            self.comps[j].sample_into(rng, row);
        }
    }
    #[track_caller]
    fn log_density(&self, x: &[T]) -> T {
        let mut lse = Lse::new();
        for (c, &lw) in self.comps.iter().zip(&self.weights.log_w) {
            lse.add(lw + c.log_density(x).to_f64_lossless());
        }
        T::c(lse.value())
    }
}

/// A mixture of wrapped normals $\mathcal{WN}(\mu_j, \operatorname{diag}\sigma_j^2)$ (Nagano et
/// al. 2019) on $H^n$ in the Lorentz model ($n+1$ coordinates):
/// $$p(z) = \sum_j w_j\\,\mathcal N(v_j; 0, \operatorname{diag}\sigma_j^2)
/// \Big(\frac{r_j}{\sinh r_j}\Big)^{n-1},\quad r_j = d(\mu_j, z),\quad
/// (0, v_j) = P_{\mu_j\to o}\log_{\mu_j} z,$$
/// w.r.t. the hyperbolic volume (closed form, exact; see
/// [`lorentz::WrappedNormal`](LorentzNormal)). Sampling: $v \sim \mathcal N(0,
/// \operatorname{diag}\sigma^2)$ in $T_oH^n$, transported to $\mu$, then $\exp_\mu$.
///
/// The frame of $\sigma$ is the one at the origin $o = e_0$ (coordinates $1..n$), carried to
/// $\mu_j$ by parallel transport, as in oxcsml/riemannian-score-sde.
///
/// ```
/// use geoflow_flows::data::{HyperbolicWrappedMixture, Target};
/// let mix = HyperbolicWrappedMixture::<f64>::new(&[1.0], &[1.0, 0.0, 0.0], &[0.25, 0.25])?;
/// // At the mean: N(0; 0, σ²I) in 2-D = 1/(2πσ²).
/// let peak = -(2.0 * std::f64::consts::PI * 0.25f64).ln();
/// assert!((mix.log_density(&[1.0, 0.0, 0.0]) - peak).abs() < 1e-14);
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
#[derive(Debug, Clone)]
pub struct HyperbolicWrappedMixture<T> {
    weights: Weights,
    comps: Vec<LorentzNormal<T>>,
    n: usize,
}

impl<T: Real> HyperbolicWrappedMixture<T> {
    /// `k = weights.len()` components with means `means` (`[k, n+1]`, points of the
    /// hyperboloid passing `Lorentz::check_point`) and variances `variances` (`[k, n]`, finite
    /// and positive; the squares of the standard deviations).
    pub fn new(weights: &[T], means: &[T], variances: &[T]) -> Result<Self> {
        const WHAT: &str = "hyperbolic wrapped-normal mixture";
        let w = Weights::new(weights, WHAT)?;
        let k = weights.len();
        if variances.is_empty() || variances.len() % k != 0 {
            return Err(FlowError::InvalidArgument(format!(
                "{WHAT}: {k} weights and {} variances do not match",
                variances.len()
            )));
        }
        let n = variances.len() / k;
        if means.len() != k * (n + 1) {
            return Err(FlowError::InvalidArgument(format!(
                "{WHAT}: {} mean coordinates, want {k} points of {} coordinates",
                means.len(),
                n + 1
            )));
        }
        let comps = means
            .chunks_exact(n + 1)
            .zip(variances.chunks_exact(n))
            .enumerate()
            .map(|(j, (m, v))| LorentzNormal::new(m, v).map_err(|e| component_err(WHAT, j, e)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            weights: w,
            comps,
            n,
        })
    }

    /// The same mixture with means given in Poincaré-ball coordinates (`[k, n]`, norm < 1) and
    /// standard deviations `stds` (`[k, n]`): the parametrisation of the riemannian-score-sde
    /// configs. The means are mapped with $x = (1 + \lVert p\rVert^2, 2p)/(1 - \lVert
    /// p\rVert^2)$, computed in f64.
    pub fn from_ball_means(weights: &[T], ball_means: &[T], stds: &[T]) -> Result<Self> {
        let k = weights.len().max(1);
        if ball_means.is_empty() || ball_means.len() % k != 0 {
            return Err(FlowError::InvalidArgument(format!(
                "hyperbolic wrapped-normal mixture: {} ball coordinates for {k} components",
                ball_means.len()
            )));
        }
        let n = ball_means.len() / k;
        let mut means = Vec::with_capacity(k * (n + 1));
        for (j, p) in ball_means.chunks_exact(n).enumerate() {
            let p2: f64 = p.iter().map(|x| x.to_f64_lossless().powi(2)).sum();
            if p2.is_nan() || p2 >= 1.0 {
                return Err(component_err(
                    "hyperbolic wrapped-normal mixture",
                    j,
                    "ball mean must have norm < 1",
                ));
            }
            let a = 1.0 - p2;
            means.push(T::c((1.0 + p2) / a));
            means.extend(p.iter().map(|x| T::c(2.0 * x.to_f64_lossless() / a)));
        }
        let variances: Vec<T> = stds.iter().map(|&s| s * s).collect();
        Self::new(weights, &means, &variances)
    }

    /// The normalised weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights.w
    }

    /// The components.
    pub fn components(&self) -> &[LorentzNormal<T>] {
        &self.comps
    }

    /// The manifold, $H^n$ (Lorentz).
    pub fn space(&self) -> Space {
        Space::Lorentz(self.n)
    }

    /// The same distribution on the Poincaré ball $B^n$.
    pub fn to_ball(&self) -> BallWrappedMixture<T> {
        BallWrappedMixture {
            ball: PoincareBall::new(self.n).expect("n >= 1 by construction"),
            lorentz: self.clone(),
        }
    }
}

impl<T: Real> Target<T> for HyperbolicWrappedMixture<T> {
    fn ambient_dim(&self) -> usize {
        self.n + 1
    }
    #[track_caller]
    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [T]) {
        expect_rows(
            out.len(),
            self.n + 1,
            "HyperbolicWrappedMixture::sample_into",
        );
        for row in out.chunks_exact_mut(self.n + 1) {
            let j = self.weights.pick(rng);
            self.comps[j].sample_into(rng, row);
        }
    }
    #[track_caller]
    fn log_density(&self, x: &[T]) -> T {
        let mut lse = Lse::new();
        for (c, &lw) in self.comps.iter().zip(&self.weights.log_w) {
            lse.add(lw + c.log_density(x).to_f64_lossless());
        }
        T::c(lse.value())
    }
}

/// Scratch rows up to this many coordinates live on the stack.
const STACK_DIM: usize = 17;

/// A [`HyperbolicWrappedMixture`] expressed on the Poincaré ball $B^n$ ($n$ coordinates): points
/// are mapped through the isometry $\varphi^{-1}: H^n \to B^n$, $p = \bar x/(1 + x_0)$
/// ([`Diffeo`] of [`PoincareBall`]). Because $\varphi$ is an **isometry**, the density w.r.t. the
/// Riemannian volume is unchanged: $p_B(p) = p_H(\varphi(p))$ with
/// $\varphi(p) = (1 + \lVert p\rVert^2, 2p)/(1 - \lVert p\rVert^2)$. (W.r.t. the Lebesgue measure
/// of the ball coordinates it would be $p_B(p)\\,\lambda_p^n$, $\lambda_p = 2/(1-\lVert p\rVert^2)$.)
///
/// Domain: the open unit ball; `log_density` is $-\infty$ for a point on or outside the unit
/// sphere (and NaN for NaN input).
/// Allocation: `log_density` uses a stack buffer for $n < 17$, `sample_into` one buffer per call.
///
/// ```
/// use geoflow_flows::data::{HyperbolicWrappedMixture, Target};
/// let h = HyperbolicWrappedMixture::<f64>::from_ball_means(&[1.0], &[0.4, 0.0], &[0.5, 0.5])?;
/// let b = h.to_ball();
/// let z = [1.25, 0.75, 0.0]; // the Lorentz point of the ball point (1/3, 0)
/// assert!((b.log_density(&[1.0 / 3.0, 0.0]) - h.log_density(&z)).abs() < 1e-14);
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
#[derive(Debug, Clone)]
pub struct BallWrappedMixture<T> {
    ball: PoincareBall<T>,
    lorentz: HyperbolicWrappedMixture<T>,
}

impl<T: Real> BallWrappedMixture<T> {
    /// The Lorentz-model mixture this one is the image of.
    pub fn lorentz(&self) -> &HyperbolicWrappedMixture<T> {
        &self.lorentz
    }

    /// The manifold, $B^n$.
    pub fn space(&self) -> Space {
        Space::PoincareBall(self.lorentz.n)
    }
}

impl<T: Real> Target<T> for BallWrappedMixture<T> {
    fn ambient_dim(&self) -> usize {
        self.lorentz.n
    }
    #[track_caller]
    fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [T]) {
        let n = self.lorentz.n;
        expect_rows(out.len(), n, "BallWrappedMixture::sample_into");
        let mut z = vec![T::zero(); n + 1];
        for row in out.chunks_exact_mut(n) {
            let j = self.lorentz.weights.pick(rng);
            self.lorentz.comps[j].sample_into(rng, &mut z);
            self.ball.from_target_into(&z, row);
        }
    }
    #[track_caller]
    fn log_density(&self, p: &[T]) -> T {
        let n = self.lorentz.n;
        assert_eq!(
            p.len(),
            n,
            "BallWrappedMixture::log_density: point of {} coordinates, want {n}",
            p.len()
        );
        if p.iter().map(|&x| x * x).sum::<T>() >= T::one() {
            return T::neg_infinity();
        }
        let mut stack = [T::zero(); STACK_DIM];
        let mut heap = Vec::new();
        let z: &mut [T] = if n < STACK_DIM {
            &mut stack[..n + 1]
        } else {
            heap.resize(n + 1, T::zero());
            &mut heap
        };
        self.ball.to_target_into(p, z);
        self.lorentz.log_density(z)
    }
}

/// The Dirichlet-FM / Fisher-Flow toy: $L$ independent positions, each a categorical law over
/// $K$ classes with probabilities $\mathrm{softmax}(u_{l\cdot})$, $u \sim U\lbrack 0,1)^{L\times
/// K}$ drawn once from `ChaCha8Rng::seed_from_u64(seed)` (row-major order). The law of a sequence
/// is $q(s) = \prod_l q_l(s_l)$, a probability mass (w.r.t. counting measure), exact.
///
/// The probabilities are close to uniform (ratios at most $e$), so KL divergences to it are
/// small; [`marginal`](Self::marginal) gives $q_l$, [`log_prob`](Self::log_prob) $\log q(s)$.
///
/// ```
/// use geoflow_flows::data::CategoricalToy;
/// use rand::SeedableRng;
/// let toy = CategoricalToy::new(4, 5, 0)?;
/// let s: f64 = toy.marginal(2).iter().sum();
/// assert!((s - 1.0).abs() < 1e-15);
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let seqs = toy.sample(&mut rng, 3);
/// assert_eq!((seqs.len(), seqs.seq_len(), seqs.vocab_size()), (3, 4, 5));
/// assert!(toy.log_prob(seqs.row(0)) < 0.0);
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CategoricalToy {
    positions: usize,
    classes: usize,
    probs: Vec<f64>,
    log_probs: Vec<f64>,
    cum: Vec<f64>,
}

impl CategoricalToy {
    /// The toy with `positions` ($L \ge 1$) and `classes` ($K \ge 2$), probabilities
    /// $\mathrm{softmax}(U\lbrack 0,1)^{L\times K})$ seeded by `seed`.
    pub fn new(positions: usize, classes: usize, seed: u64) -> Result<Self> {
        Self::check_shape(positions, classes)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut probs = vec![0.0; positions * classes];
        for row in probs.chunks_exact_mut(classes) {
            for p in row.iter_mut() {
                *p = <f64 as Real>::uniform01(&mut rng);
            }
            // softmax of values in [0, 1): no overflow, no need to shift.
            let z: f64 = row.iter().map(|u| u.exp()).sum();
            for p in row.iter_mut() {
                *p = p.exp() / z;
            }
        }
        Self::from_probs(positions, classes, probs)
    }

    /// A product of categorical laws with the given probabilities (`[L, K]`, each row finite,
    /// non-negative and summing to 1 within `1e-9`; rows are renormalised).
    pub fn from_probs(positions: usize, classes: usize, mut probs: Vec<f64>) -> Result<Self> {
        Self::check_shape(positions, classes)?;
        if probs.len() != positions * classes {
            return Err(FlowError::InvalidArgument(format!(
                "categorical toy: {} probabilities, want {positions} x {classes}",
                probs.len()
            )));
        }
        for (l, row) in probs.chunks_exact_mut(classes).enumerate() {
            let s: f64 = row.iter().sum();
            if row.iter().any(|&p| !(p >= 0.0 && p.is_finite())) || (s - 1.0).abs() > 1e-9 {
                return Err(FlowError::InvalidArgument(format!(
                    "categorical toy: position {l}: probabilities must be non-negative and sum to 1"
                )));
            }
            row.iter_mut().for_each(|p| *p /= s);
        }
        let log_probs = probs.iter().map(|p| p.ln()).collect();
        let mut cum = probs.clone();
        for row in cum.chunks_exact_mut(classes) {
            let mut acc = 0.0;
            for c in row.iter_mut() {
                acc += *c;
                *c = acc;
            }
        }
        Ok(Self {
            positions,
            classes,
            probs,
            log_probs,
            cum,
        })
    }

    fn check_shape(positions: usize, classes: usize) -> Result<()> {
        if positions == 0 || classes < 2 || u32::try_from(classes).is_err() {
            return Err(FlowError::InvalidArgument(format!(
                "categorical toy: need positions >= 1 and 2 <= classes <= u32::MAX, got {positions} x {classes}"
            )));
        }
        if positions.checked_mul(classes).is_none() {
            return Err(FlowError::InvalidArgument(
                "categorical toy: positions x classes overflows".into(),
            ));
        }
        Ok(())
    }

    /// Sequence length $L$.
    pub fn positions(&self) -> usize {
        self.positions
    }

    /// Classes per position $K$.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// All probabilities, row-major `[L, K]`.
    pub fn probs(&self) -> &[f64] {
        &self.probs
    }

    /// The marginal law $q_l$ of position `l` (`K` probabilities).
    ///
    /// # Panics
    /// If `l >= positions()`.
    #[track_caller]
    pub fn marginal(&self, l: usize) -> &[f64] {
        assert!(
            l < self.positions,
            "CategoricalToy::marginal: position {l} out of range for {}",
            self.positions
        );
        &self.probs[l * self.classes..(l + 1) * self.classes]
    }

    /// The symbol table used by [`sample`](Self::sample): `"0"`, `"1"`, …, `"K-1"`.
    pub fn symbols(&self) -> Vec<String> {
        (0..self.classes).map(|k| k.to_string()).collect()
    }

    /// Fills `out` (`[n, L]` tokens) with independent sequences (one uniform draw per token,
    /// inverse CDF). Allocation-free.
    ///
    /// # Panics
    /// If `out.len()` is not a multiple of `L`.
    #[track_caller]
    pub fn sample_tokens_into(&self, rng: &mut dyn RngCore, out: &mut [u32]) {
        expect_rows(
            out.len(),
            self.positions,
            "CategoricalToy::sample_tokens_into",
        );
        for seq in out.chunks_exact_mut(self.positions) {
            for (t, cum) in seq.iter_mut().zip(self.cum.chunks_exact(self.classes)) {
                let u = <f64 as Real>::uniform01(rng);
                let k = cum.iter().position(|&c| u < c).unwrap_or_else(|| {
                    // u ≥ the rounded total: the last class with positive mass.
                    cum.iter().rposition(|&c| c > 0.0).unwrap_or(0)
                });
                *t = k as u32;
            }
        }
    }

    /// `n` sequences as [`Sequences`] named `categorical-toy`, symbols [`symbols`](Self::symbols).
    pub fn sample(&self, rng: &mut dyn RngCore, n: usize) -> Sequences {
        let mut tokens = vec![0u32; n * self.positions];
        self.sample_tokens_into(rng, &mut tokens);
        Sequences::new("categorical-toy", self.positions, self.symbols(), tokens)
            .expect("tokens are below K by construction")
    }

    /// $\log q(s) = \sum_l \log q_l(s_l)$ of one sequence (`L` tokens); $-\infty$ for a class of
    /// probability 0.
    ///
    /// # Panics
    /// If `seq.len() != L` or a token is `>= K`.
    #[track_caller]
    pub fn log_prob(&self, seq: &[u32]) -> f64 {
        assert_eq!(
            seq.len(),
            self.positions,
            "CategoricalToy::log_prob: sequence of {} tokens, want {}",
            seq.len(),
            self.positions
        );
        let mut s = 0.0;
        for (l, &t) in seq.iter().enumerate() {
            assert!(
                (t as usize) < self.classes,
                "CategoricalToy::log_prob: token {t} is not below {}",
                self.classes
            );
            s += self.log_probs[l * self.classes + t as usize];
        }
        s
    }

    /// [`log_prob`](Self::log_prob) of every sequence of `seqs` (`[n, L]`) into `out` (`n`).
    ///
    /// # Panics
    /// If `seqs.len() != out.len() * L` or a token is `>= K`.
    #[track_caller]
    pub fn log_prob_batch_into(&self, seqs: &[u32], out: &mut [f64]) {
        assert_eq!(
            seqs.len(),
            out.len() * self.positions,
            "CategoricalToy::log_prob_batch_into: {} tokens for {} sequences of {}",
            seqs.len(),
            out.len(),
            self.positions
        );
        for (o, s) in out.iter_mut().zip(seqs.chunks_exact(self.positions)) {
            *o = self.log_prob(s);
        }
    }

    /// The entropy $-\sum_s q(s)\log q(s) = \sum_l H(q_l)$ in nats ($0 \log 0 = 0$).
    pub fn entropy(&self) -> f64 {
        self.probs
            .iter()
            .filter(|&&p| p > 0.0)
            .map(|&p| -p * p.ln())
            .sum()
    }

    /// The manifold of the one-hot encodings, $(\Delta^{K-1})^L$.
    pub fn space(&self) -> Space {
        Space::SimplexPower {
            classes: self.classes,
            positions: self.positions,
        }
    }
}

/// Names accepted by [`builtin_synthetic`].
pub const SYNTHETIC_NAMES: [&str; 5] = [
    "sphere-mixture",
    "torus-mixture",
    "hyperbolic-mixture",
    "poincare-mixture",
    "categorical-toy",
];

/// A named built-in synthetic distribution ([`builtin_synthetic`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Synthetic<T> {
    /// "sphere-mixture": on $S^2$.
    Sphere(VmfMixture<T>),
    /// "torus-mixture": on $T^2$.
    Torus(TorusWrappedMixture<T>),
    /// "hyperbolic-mixture": on $H^2$ (Lorentz).
    Hyperbolic(HyperbolicWrappedMixture<T>),
    /// "poincare-mixture": the same law on $B^2$.
    Ball(BallWrappedMixture<T>),
    /// "categorical-toy": sequences (no continuous density; see [`CategoricalToy`]).
    Categorical(CategoricalToy),
}

impl<T: Real> Synthetic<T> {
    /// The manifold.
    pub fn space(&self) -> Space {
        match self {
            Synthetic::Sphere(m) => m.space(),
            Synthetic::Torus(m) => m.space(),
            Synthetic::Hyperbolic(m) => m.space(),
            Synthetic::Ball(m) => m.space(),
            Synthetic::Categorical(m) => m.space(),
        }
    }

    /// The continuous distribution as a [`Target`]; `None` for the categorical toy.
    pub fn as_target(&self) -> Option<&dyn Target<T>> {
        match self {
            Synthetic::Sphere(m) => Some(m),
            Synthetic::Torus(m) => Some(m),
            Synthetic::Hyperbolic(m) => Some(m),
            Synthetic::Ball(m) => Some(m),
            Synthetic::Categorical(_) => None,
        }
    }

    /// The categorical toy; `None` for the continuous distributions.
    pub fn as_categorical(&self) -> Option<&CategoricalToy> {
        match self {
            Synthetic::Categorical(c) => Some(c),
            _ => None,
        }
    }
}

/// The six "continents" of `sphere-mixture` as (latitude°, longitude°, κ, weight).
pub const SPHERE_MIXTURE_COMPONENTS: [(f64, f64, f64, f64); 6] = [
    (48.0, 10.0, 60.0, 0.15),   // Europe
    (5.0, 20.0, 25.0, 0.20),    // Africa
    (40.0, -100.0, 30.0, 0.20), // North America
    (-15.0, -60.0, 40.0, 0.15), // South America
    (35.0, 100.0, 20.0, 0.20),  // Asia
    (-25.0, 135.0, 80.0, 0.10), // Australia
];

/// The four components of `torus-mixture` as (μ₁, μ₂, σ₁, σ₂); equal weights.
pub const TORUS_MIXTURE_COMPONENTS: [(f64, f64, f64, f64); 4] = [
    (-1.5, -1.5, 0.3, 0.3),
    (1.5, 1.5, 0.4, 0.25),
    (-1.5, 1.5, 0.25, 0.5),
    (3.0, -3.0, 0.5, 0.5), // straddles the ±π seam in both angles
];

/// The four components of `hyperbolic-mixture` as (ball mean, standard deviations in the
/// origin's frame); equal weights. From oxcsml/riemannian-score-sde
/// `config/experiment/hyperboloid.yaml` (means $(\pm0.4, 0)$, $(0, \pm0.4)$ in the ball, scales
/// $(0.15, 0.5)$ / $(0.5, 0.15)$, dataset `wrapnormmix`).
pub const HYPERBOLIC_MIXTURE_COMPONENTS: [([f64; 2], [f64; 2]); 4] = [
    ([-0.4, 0.0], [0.15, 0.5]),
    ([0.4, 0.0], [0.15, 0.5]),
    ([0.0, -0.4], [0.5, 0.15]),
    ([0.0, 0.4], [0.5, 0.15]),
];

/// Positions and classes of the built-in `categorical-toy` ($L = 4$ as in Dirichlet FM; $K = 20$).
pub const CATEGORICAL_TOY_SHAPE: (usize, usize) = (4, 20);

/// A named synthetic distribution with fixed, documented parameters:
///
/// | name | space | definition |
/// |---|---|---|
/// | `sphere-mixture` | $S^2$ | 6 vMF "continents", [`SPHERE_MIXTURE_COMPONENTS`] (κ 20–80) |
/// | `torus-mixture` | $T^2$ | 4 wrapped normals, [`TORUS_MIXTURE_COMPONENTS`], equal weights |
/// | `hyperbolic-mixture` | $H^2$ (Lorentz) | 4 wrapped normals of riemannian-score-sde, [`HYPERBOLIC_MIXTURE_COMPONENTS`] |
/// | `poincare-mixture` | $B^2$ | the same law through the isometry $H^2 \to B^2$ |
/// | `categorical-toy` | $(\Delta^{19})^4$ | [`CategoricalToy::new`]`(4, 20, seed)` |
///
/// `seed` only enters the categorical toy (its probabilities are random by definition); the
/// continuous mixtures are fixed so that NLLs compare across runs. Unknown names give
/// [`FlowError::InvalidArgument`] listing [`SYNTHETIC_NAMES`].
///
/// ```
/// use geoflow_flows::data::{builtin_synthetic, Space, Target};
/// use rand::SeedableRng;
/// let s = builtin_synthetic::<f32>("sphere-mixture", 0)?;
/// assert_eq!(s.space(), Space::Sphere(2));
/// let t = s.as_target().unwrap();
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let x = t.sample(&mut rng, 100);
/// let mut lp = vec![0.0f32; 100];
/// t.log_density_batch_into(&x, &mut lp);
/// assert!(lp.iter().all(|v| v.is_finite()));
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
pub fn builtin_synthetic<T: Real>(name: &str, seed: u64) -> Result<Synthetic<T>> {
    match name {
        "sphere-mixture" => {
            let mut w = Vec::new();
            let mut mu = Vec::new();
            let mut kappa = Vec::new();
            for &(lat, lon, k, wt) in &SPHERE_MIXTURE_COMPONENTS {
                w.push(T::c(wt));
                mu.extend(crate::data::lat_lon_to_sphere(lat, lon).map(T::c));
                kappa.push(T::c(k));
            }
            Ok(Synthetic::Sphere(VmfMixture::new(&w, &mu, &kappa)?))
        }
        "torus-mixture" => {
            let w = [T::one(); 4];
            let mut mu = Vec::new();
            let mut sigma = Vec::new();
            for &(m1, m2, s1, s2) in &TORUS_MIXTURE_COMPONENTS {
                mu.extend([T::c(m1), T::c(m2)]);
                sigma.extend([T::c(s1), T::c(s2)]);
            }
            Ok(Synthetic::Torus(TorusWrappedMixture::new(&w, &mu, &sigma)?))
        }
        "hyperbolic-mixture" | "poincare-mixture" => {
            let w = [T::one(); 4];
            let mut mu = Vec::new();
            let mut sd = Vec::new();
            for (m, s) in &HYPERBOLIC_MIXTURE_COMPONENTS {
                mu.extend(m.map(T::c));
                sd.extend(s.map(T::c));
            }
            let h = HyperbolicWrappedMixture::from_ball_means(&w, &mu, &sd)?;
            Ok(if name == "poincare-mixture" {
                Synthetic::Ball(h.to_ball())
            } else {
                Synthetic::Hyperbolic(h)
            })
        }
        "categorical-toy" => {
            let (l, k) = CATEGORICAL_TOY_SHAPE;
            Ok(Synthetic::Categorical(CategoricalToy::new(l, k, seed)?))
        }
        _ => Err(FlowError::InvalidArgument(format!(
            "unknown synthetic distribution {name:?}; known: {}",
            SYNTHETIC_NAMES.join(", ")
        ))),
    }
}
