//! Evaluation metrics: maximum mean discrepancy with a geodesic kernel, negative
//! log-likelihood summaries, the KL divergence of categorical histograms, and a kernel density
//! estimate (KDE) baseline on the manifold.
//!
//! # MMD
//!
//! With the geodesic Gaussian kernel $k(x, y) = \exp\big(-d\_g(x, y)^2 / \sigma^2\big)$
//! ($\sigma = 1$ is $\gamma = 1$ in the GFM code), samples $x\_1, \dots, x\_n$ and
//! $y\_1, \dots, y\_m$, and the kernel sums
//! $K\_{xx} = \sum\_{i \ne i'} k(x\_i, x\_{i'})$, $K\_{yy} = \sum\_{j \ne j'} k(y\_j, y\_{j'})$,
//! $K\_{xy} = \sum\_{i, j} k(x\_i, y\_j)$, [`mmd`] returns
//!
//! - [`Estimator::Biased`] (the V-statistic over all ordered pairs including $i = i'$, then a
//!   square root, exactly what the GFM code logs as `mmd-001`, … when $n = m$):
//!   $$\mathrm{MMD}\_b = \sqrt{\max\Big(0,\ \frac{n + K\_{xx}}{n^2} + \frac{m + K\_{yy}}{m^2} -
//!   \frac{2K\_{xy}}{nm}\Big)},$$
//! - [`Estimator::Unbiased`] (the U-statistic of $\mathrm{MMD}^2$, **not** square-rooted; it
//!   is unbiased for $\mathrm{MMD}^2$ and so negative about half the time when the two
//!   distributions are equal):
//!   $$\widehat{\mathrm{MMD}^2}\_u = \frac{K\_{xx}}{n(n-1)} + \frac{K\_{yy}}{m(m-1)} -
//!   \frac{2K\_{xy}}{nm}.$$
//!
//! Numerical notes. The diagonal terms $k(x\_i, x\_i)$ are taken as exactly 1 (the GFM code
//! computes them with geoopt's clamped sphere distance, about $0.014$ rad in f32, which lowers
//! them to $\approx 1 - 2\cdot10^{-4}$; the effect on the MMD is of order $10^{-4}/n$). The
//! geodesic Gaussian kernel is not positive definite on curved manifolds in general, so the
//! biased quantity under the root can be slightly negative; it is clamped at 0 (the Python code
//! would return NaN). Kernel values are computed in `T`, all sums in f64, each row of the kernel
//! matrix sequentially and the row sums in index order, so the result is bitwise the same with
//! and without the `rayon` feature. Distances come from the manifold's batch distance
//! ([`Manifold::dist_batch_into`], vectorised on the sphere, torus and hyperbolic models), the
//! kernel from [`vmath::exp`]; symmetric sums use $i < i'$ only. Points are trusted to lie on
//! the manifold (check them at your data boundary with
//! [`check_point_batch`](Manifold::check_point_batch)); only finiteness is checked here.
//!
//! # NLL
//!
//! [`NllStats`] summarises per-point log-likelihoods $\ell\_i = \log p(x\_i)$ (nats) as
//! $\mathrm{NLL} = -\frac1n\sum\_i \ell\_i$ with standard error $s/\sqrt n$,
//! $s^2 = \frac{1}{n-1}\sum\_i (\ell\_i - \bar\ell)^2$.
//!
//! # KL of categorical histograms (Fisher-Flow toy)
//!
//! For sequences of $k$ positions over $d$ categories with true per-position probabilities
//! $p\_{\ell c}$ and the empirical frequencies $\hat p\_{\ell c}$ of generated sequences,
//! [`kl_categorical`] returns
//! $$\mathrm{KL}(\hat p \Vert p) = \frac1k \sum\_{\ell=1}^k \sum\_{c=1}^d \hat p\_{\ell c}
//! \log\frac{\hat p\_{\ell c}}{p\_{\ell c}},$$
//! with $0 \log 0 = 0$ (a class never sampled contributes nothing; the Fisher-Flow code returns
//! NaN there). The direction is the one the Fisher-Flow code uses: empirical first. A class with
//! $\hat p\_{\ell c} > 0$ but $p\_{\ell c} = 0$ makes that position's divergence $+\infty$
//! (which cannot happen when every $p\_{\ell c} > 0$, as with the toy's softmax targets).
//!
//! # KDE baseline
//!
//! [`Kde`] is $\hat p(x) = \frac1N\sum\_{i=1}^N K\_h(x; x\_i)$ with a normalised kernel centred
//! at each training point, one bandwidth $h$ for all (see [`KdeKernel`]):
//!
//! - [`KdeKernel::VonMisesFisher`] on $S^n$: $K\_h(x; \mu) = C\_{n+1}(\kappa)\exp(\kappa\\,
//!   \mu^\top x)$, $\kappa = 1/h^2$, log-normaliser from [`VonMisesFisher`];
//! - [`KdeKernel::WrappedNormalTorus`] on $T^n$: the product of 1-D wrapped normals with
//!   $\sigma = h$, with the truncation rule of
//!   [`torus::WrappedNormal`](geoflow_manifolds::torus::WrappedNormal) (relative error
//!   $< 10^{-16}$; windings below $2^{-60}$ of the main term are skipped);
//! - [`KdeKernel::WrappedNormalLorentz`] on $H^n$: the wrapped normal with $\Sigma = h^2 I$,
//!   which for an isotropic covariance is
//!   $\log K\_h(x;\mu) = -\frac n2\log(2\pi h^2) - \frac{r^2}{2h^2} - (n-1)\log\frac{\sinh r}{r}$,
//!   $r = d(\mu, x)$ (equal to [`lorentz::WrappedNormal`](geoflow_manifolds::lorentz::WrappedNormal)).
//!
//! For small $h$ all three are $\approx \mathcal N(0, h^2 I)$ in normal coordinates, so $h$ is a
//! geodesic length scale in every case. $\log\hat p(x)$ is a log-sum-exp over the training
//! points minus $\log N$ (never underflows), and the bandwidth is chosen by validation NLL
//! ([`Kde::fit_bandwidth`]). Each evaluation point costs one vectorised pass over the training
//! set (structure-of-arrays layout); batches run in parallel with the `rayon` feature.
//!
//! # Example
//!
//! ```
//! use geoflow_flows::metric::{mmd, Estimator, Kde, KdeKernel, NllStats};
//! use geoflow_manifolds::{prelude::*, Sphere};
//! use rand::SeedableRng;
//!
//! let s2 = Sphere::<f64>::new(2)?;
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let mut xs = vec![0.0; 200 * 3];
//! let mut ys = vec![0.0; 200 * 3];
//! s2.sample_base_batch_into(&mut rng, &mut xs);
//! s2.sample_base_batch_into(&mut rng, &mut ys);
//! // Two uniform samples: small MMD; a sample against itself: exactly 0.
//! assert!(mmd(&s2, &xs, &ys, 1.0, Estimator::Biased)? < 0.1);
//! assert_eq!(mmd(&s2, &xs, &xs, 1.0, Estimator::Biased)?, 0.0);
//!
//! // KDE of the uniform distribution: NLL close to log(4π) ≈ 2.53 for a wide kernel.
//! let kde = Kde::new(KdeKernel::VonMisesFisher, 2, &xs, 0.5)?;
//! let nll = kde.nll(&ys)?;
//! assert!((nll.mean - (4.0 * std::f64::consts::PI).ln()).abs() < 0.15);
//!
//! let stats = NllStats::from_log_likelihoods(&[-1.0, -2.0, -3.0])?;
//! assert_eq!(stats.mean, 2.0);
//! # Ok::<(), geoflow_flows::FlowError>(())
//! ```

use crate::error::{FlowError, Result};
use geoflow_manifolds::batch::PAR_MIN_SCALARS;
use geoflow_manifolds::{vmath, wrap_angle, Lorentz, Manifold, Real, Sphere, VonMisesFisher};
use num_traits::{Float, Zero};
use std::fmt;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Checks a row-major batch of points of `d` scalars: non-empty, a whole number of rows, all
/// finite. Returns the number of rows.
pub(crate) fn check_batch<T: Real>(xs: &[T], d: usize, what: &str) -> Result<usize> {
    if d == 0 {
        return Err(FlowError::InvalidArgument(format!(
            "{what}: the point dimension is 0"
        )));
    }
    if xs.is_empty() {
        return Err(FlowError::InvalidArgument(format!("{what}: empty batch")));
    }
    if xs.len() % d != 0 {
        return Err(FlowError::InvalidArgument(format!(
            "{what}: length {} is not a multiple of the point dimension {d}",
            xs.len()
        )));
    }
    if let Some(k) = xs.iter().position(|v| !v.is_finite()) {
        return Err(FlowError::InvalidArgument(format!(
            "{what}: point {} has a non-finite coordinate ({})",
            k / d,
            xs[k]
        )));
    }
    Ok(xs.len() / d)
}

/// Sum of a slice in f64 with four independent accumulators (so the loop pipelines).
#[inline]
pub(crate) fn sum_f64<T: Real>(xs: &[T]) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut it = xs.chunks_exact(4);
    for c in &mut it {
        for k in 0..4 {
            acc[k] += c[k].to_f64_lossless();
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &v in it.remainder() {
        s += v.to_f64_lossless();
    }
    s
}

/// Maximum of a non-empty slice without NaNs (eight independent lanes, so the loop
/// vectorises; `f64::max` in a fold is one long dependency chain). `-∞` for an empty slice.
#[inline]
pub(crate) fn max_of<T: Real>(xs: &[T]) -> T {
    let mut acc = [T::neg_infinity(); 8];
    let mut it = xs.chunks_exact(8);
    for c in &mut it {
        for k in 0..8 {
            acc[k] = if c[k] > acc[k] { c[k] } else { acc[k] };
        }
    }
    let mut m = T::neg_infinity();
    for &v in acc.iter().chain(it.remainder()) {
        m = if v > m { v } else { m };
    }
    m
}

/// Distances from one point to the rows of a batch, through the manifold's batch distance, in
/// chunks small enough that the batch kernel never forks (callers parallelise the outer loop).
/// Allocation-free after construction.
pub(crate) struct RowDists<T> {
    d: usize,
    chunk: usize,
    rep: Vec<T>,
    ds: Vec<T>,
}

impl<T: Real> RowDists<T> {
    /// Scratch for points of `d` scalars and at most `max_rows` targets per call.
    pub(crate) fn new(d: usize, max_rows: usize) -> Self {
        // The manifolds' batch drivers fork when 2·rows·d + rows ≥ PAR_MIN_SCALARS.
        let chunk = ((PAR_MIN_SCALARS - 1) / (2 * d + 1))
            .clamp(1, 1024)
            .min(max_rows.max(1));
        Self {
            d,
            chunk,
            rep: vec![T::zero(); chunk * d],
            ds: vec![T::zero(); chunk],
        }
    }

    /// Calls `f(j0, ds)` with `ds[k]` $= d(x, y\_{j\_0 + k})$, chunk after chunk, over all rows
    /// of `ys`.
    pub(crate) fn for_each_chunk<M, F>(&mut self, m: &M, x: &[T], ys: &[T], mut f: F)
    where
        M: Manifold<Scalar = T> + ?Sized,
        F: FnMut(usize, &mut [T]),
    {
        let d = self.d;
        let ny = ys.len() / d;
        let fill = self.chunk.min(ny);
        for r in self.rep[..fill * d].chunks_exact_mut(d) {
            r.copy_from_slice(x);
        }
        let mut j0 = 0;
        while j0 < ny {
            let len = self.chunk.min(ny - j0);
            let ds = &mut self.ds[..len];
            m.dist_batch_into(&self.rep[..len * d], &ys[j0 * d..(j0 + len) * d], ds);
            f(j0, ds);
            j0 += len;
        }
    }
}

/// Runs `row(scratch, i)` for `i in 0..n` and returns the results in index order; in parallel
/// with the `rayon` feature (one scratch per worker), sequentially otherwise.
pub(crate) fn map_rows<S, R, I, F>(n: usize, init: I, row: F) -> Vec<R>
where
    S: Send,
    R: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize) -> R + Sync + Send,
{
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        if n > 1 && rayon::current_num_threads() > 1 {
            return (0..n)
                .into_par_iter()
                .with_min_len(4)
                .map_init(&init, |s, i| row(s, i))
                .collect();
        }
    }
    let mut s = init();
    (0..n).map(|i| row(&mut s, i)).collect()
}

/// Runs `row(scratch, i, out_row)` over the rows (`width` scalars each) of `out`; in parallel
/// with the `rayon` feature (one scratch per worker split), sequentially otherwise.
pub(crate) fn fill_rows<S, U, I, F>(out: &mut [U], width: usize, init: I, row: F)
where
    U: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize, &mut [U]) + Sync + Send,
{
    let width = width.max(1);
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        if out.len() > width && rayon::current_num_threads() > 1 {
            out.par_chunks_mut(width)
                .enumerate()
                .with_min_len(4)
                .for_each_init(&init, |s, (i, o)| row(s, i, o));
            return;
        }
    }
    let mut s = init();
    for (i, o) in out.chunks_mut(width).enumerate() {
        row(&mut s, i, o);
    }
}

// ---------------------------------------------------------------------------------------------
// MMD
// ---------------------------------------------------------------------------------------------

/// Which MMD estimator [`mmd`] returns (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Estimator {
    /// The V-statistic over all ordered pairs (including $i = i'$), square-rooted: the GFM code's
    /// MMD. Always $\ge 0$.
    #[default]
    Biased,
    /// The unbiased U-statistic of $\mathrm{MMD}^2$ (diagonal terms excluded), **not**
    /// square-rooted; can be negative. Needs at least two points per sample.
    Unbiased,
}

/// Sum of $k(x\_i, y\_j)$ over $j$ for one row, through `rd` (see [`RowDists`]).
fn kernel_row_sum<M>(
    rd: &mut RowDists<M::Scalar>,
    m: &M,
    x: &[M::Scalar],
    ys: &[M::Scalar],
    sigma: M::Scalar,
) -> f64
where
    M: Manifold + ?Sized,
{
    let floor = <M::Scalar as Real>::c(-1.0e4);
    let mut s = 0.0;
    rd.for_each_chunk(m, x, ys, |_, ds| {
        for v in ds.iter_mut() {
            // d/σ (not d·(1/σ)): finite for every σ > 0, 0 at d = 0.
            let t = *v / sigma;
            *v = (-(t * t)).max(floor);
        }
        vmath::exp_inplace(ds);
        s += sum_f64(ds);
    });
    s
}

/// $\sum\_{i < i'} k(x\_i, x\_{i'})$ (`ys = None`) or $\sum\_{i,j} k(x\_i, y\_j)$.
fn kernel_sum<M>(m: &M, xs: &[M::Scalar], ys: Option<&[M::Scalar]>, sigma: M::Scalar) -> f64
where
    M: Manifold + ?Sized,
{
    let d = m.ambient_dim();
    let n = xs.len() / d;
    let max_rows = ys.map_or(n, |y| y.len() / d);
    let rows = map_rows(
        n,
        || RowDists::new(d, max_rows),
        |rd, i| {
            let x = &xs[i * d..(i + 1) * d];
            let targets = match ys {
                Some(y) => y,
                None => &xs[(i + 1) * d..],
            };
            if targets.is_empty() {
                0.0
            } else {
                kernel_row_sum(rd, m, x, targets, sigma)
            }
        },
    );
    rows.iter().sum()
}

/// Maximum mean discrepancy between the samples `xs` (`[n, D]`) and `ys` (`[m, D]`) on the
/// manifold `m` with the kernel $k(x, y) = \exp(-d\_g(x, y)^2/\sigma^2)$.
///
/// [`Estimator::Biased`] returns $\mathrm{MMD}\_b \ge 0$ (the GFM code's number for
/// $\sigma = 1$); [`Estimator::Unbiased`] returns the U-statistic of $\mathrm{MMD}^2$, which
/// may be negative. Formulas and numerical notes in the [module docs](self). Cost: $(n^2/2 +
/// m^2/2 + nm)$ distance and `exp` evaluations, no allocation per pair.
///
/// # Errors
/// [`FlowError::InvalidArgument`] for an empty sample, a length that is not a multiple of
/// `m.ambient_dim()`, a non-finite coordinate, `sigma` not finite and positive, or fewer than two
/// points per sample with [`Estimator::Unbiased`].
///
/// ```
/// use geoflow_flows::metric::{mmd, Estimator};
/// use geoflow_manifolds::FlatTorus;
/// let t1 = FlatTorus::<f64>::new(1)?;
/// // One point each, at distance 1: MMD_b² = 1 + 1 − 2e^{−1}.
/// let v = mmd(&t1, &[0.0], &[1.0], 1.0, Estimator::Biased)?;
/// assert!((v * v - (2.0 - 2.0 * (-1.0f64).exp())).abs() < 1e-14);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn mmd<M>(
    m: &M,
    xs: &[M::Scalar],
    ys: &[M::Scalar],
    sigma: M::Scalar,
    estimator: Estimator,
) -> Result<M::Scalar>
where
    M: Manifold + ?Sized,
{
    let d = m.ambient_dim();
    let n = check_batch(xs, d, "mmd: xs")?;
    let k = check_batch(ys, d, "mmd: ys")?;
    if !(sigma > M::Scalar::zero() && sigma.is_finite()) {
        return Err(FlowError::InvalidArgument(format!(
            "mmd: sigma must be finite and positive, got {sigma}"
        )));
    }
    if estimator == Estimator::Unbiased && (n < 2 || k < 2) {
        return Err(FlowError::InvalidArgument(format!(
            "mmd: the unbiased estimator needs at least 2 points per sample, got {n} and {k}"
        )));
    }
    let kxx = 2.0 * kernel_sum(m, xs, None, sigma);
    let kyy = 2.0 * kernel_sum(m, ys, None, sigma);
    let kxy = kernel_sum(m, xs, Some(ys), sigma);
    let (nf, kf) = (n as f64, k as f64);
    let cross = 2.0 * kxy / (nf * kf);
    let v = match estimator {
        Estimator::Biased => {
            let v2 = (nf + kxx) / (nf * nf) + (kf + kyy) / (kf * kf) - cross;
            v2.max(0.0).sqrt()
        }
        Estimator::Unbiased => kxx / (nf * (nf - 1.0)) + kyy / (kf * (kf - 1.0)) - cross,
    };
    Ok(M::Scalar::c(v))
}

// ---------------------------------------------------------------------------------------------
// NLL
// ---------------------------------------------------------------------------------------------

/// Negative log-likelihood summary: mean NLL (nats) over `n` points and its standard error.
///
/// ```
/// use geoflow_flows::metric::NllStats;
/// let s = NllStats::from_log_likelihoods(&[1.0f64, 2.0, 3.0, 4.0])?;
/// assert_eq!((s.mean, s.n), (-2.5, 4));
/// // sd = √(5/3), stderr = sd/√4
/// assert!((s.stderr - (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-15);
/// assert_eq!(s.to_string(), "-2.5000 ± 0.6455 (n = 4)");
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NllStats<T> {
    /// $-\frac1n\sum\_i \log p(x\_i)$.
    pub mean: T,
    /// $s/\sqrt n$ with the sample standard deviation $s$ (denominator $n - 1$); $+\infty$ when
    /// $n = 1$.
    pub stderr: T,
    /// Number of points.
    pub n: usize,
}

impl<T: Real> NllStats<T> {
    /// Summarises per-point log-likelihoods $\log p(x\_i)$ (two passes in f64).
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if `log_likelihoods` is empty, and
    /// [`FlowError::Numerical`] naming the first non-finite value (a likelihood solver that
    /// diverged, or a point of zero density).
    pub fn from_log_likelihoods(log_likelihoods: &[T]) -> Result<Self> {
        let n = log_likelihoods.len();
        if n == 0 {
            return Err(FlowError::InvalidArgument(
                "NllStats: no log-likelihoods".into(),
            ));
        }
        if let Some(i) = log_likelihoods.iter().position(|v| !v.is_finite()) {
            return Err(FlowError::Numerical(format!(
                "NllStats: log-likelihood {i} is not finite ({})",
                log_likelihoods[i]
            )));
        }
        let mean = sum_f64(log_likelihoods) / n as f64;
        let stderr = if n == 1 {
            f64::INFINITY
        } else {
            let ss: f64 = log_likelihoods
                .iter()
                .map(|&v| {
                    let e = v.to_f64_lossless() - mean;
                    e * e
                })
                .sum();
            (ss / (n as f64 - 1.0)).sqrt() / (n as f64).sqrt()
        };
        Ok(Self {
            mean: T::c(-mean),
            stderr: T::c(stderr),
            n,
        })
    }
}

impl<T: Real> fmt::Display for NllStats<T> {
    /// `mean ± stderr (n = …)` with four decimals (or the given precision).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = f.precision().unwrap_or(4);
        write!(
            f,
            "{:.p$} ± {:.p$} (n = {})",
            self.mean, self.stderr, self.n
        )
    }
}

// ---------------------------------------------------------------------------------------------
// KL of categorical histograms
// ---------------------------------------------------------------------------------------------

/// $\mathrm{KL}(\hat p \Vert p)$ per position and its average over positions, from
/// [`kl_categorical`].
#[derive(Clone, Debug, PartialEq)]
pub struct KlEstimate<T> {
    /// $\frac1k\sum\_\ell \mathrm{KL}(\hat p\_\ell \Vert p\_\ell)$ ($+\infty$ if any position is).
    pub mean: T,
    /// $\mathrm{KL}(\hat p\_\ell \Vert p\_\ell)$ for each position $\ell$.
    pub per_position: Vec<T>,
}

/// Checks `[k, d]` row-major probabilities: finite, $\ge 0$, rows summing to 1 within
/// `1e-3` (f32) or `1e-8` (f64). Returns `k`.
fn check_probs<T: Real>(probs: &[T], categories: usize, what: &str) -> Result<usize> {
    if categories == 0 {
        return Err(FlowError::InvalidArgument(format!(
            "{what}: categories must be positive"
        )));
    }
    if probs.is_empty() || probs.len() % categories != 0 {
        return Err(FlowError::InvalidArgument(format!(
            "{what}: true_probs has length {}, not a positive multiple of categories = {categories}",
            probs.len()
        )));
    }
    let tol = T::pick((1e-3, 1e-8)).to_f64_lossless();
    for (l, row) in probs.chunks_exact(categories).enumerate() {
        if let Some(c) = row.iter().position(|&p| !(p >= T::zero() && p.is_finite())) {
            return Err(FlowError::InvalidArgument(format!(
                "{what}: true probability at position {l}, category {c} is {} (must be finite and >= 0)",
                row[c]
            )));
        }
        let s = sum_f64(row);
        if (s - 1.0).abs() > tol {
            return Err(FlowError::InvalidArgument(format!(
                "{what}: true probabilities at position {l} sum to {s}, not 1 (tolerance {tol})"
            )));
        }
    }
    Ok(probs.len() / categories)
}

/// $\mathrm{KL}(\hat p \Vert p)$ from per-position category counts.
///
/// `counts` and `true_probs` are `[k, d]` row-major (`d = categories`): `counts[ℓ·d + c]` is how
/// many generated sequences have category `c` at position `ℓ`, `true_probs[ℓ·d + c]` $= p\_{\ell
/// c}$. Each position's divergence is $\sum\_c \hat p\_{\ell c}\log(\hat p\_{\ell c}/p\_{\ell c})$
/// in f64 with $0\log 0 = 0$; it is $+\infty$ when a sampled class has $p\_{\ell c} = 0$. It can
/// be negative by rounding (order $10^{-16}$), or by up to the row-sum tolerance when
/// `true_probs` rows do not sum to exactly 1; the values are not clamped. See the
/// [module docs](self).
///
/// # Errors
/// [`FlowError::InvalidArgument`] if the shapes disagree, `true_probs` has a negative or
/// non-finite entry or a row not summing to 1 (within `1e-3` for f32, `1e-8` for f64), or a
/// position has no counts.
///
/// ```
/// use geoflow_flows::metric::kl_categorical;
/// // One position, two classes: p̂ = (3/4, 1/4) against p = (1/2, 1/2).
/// let kl = kl_categorical(&[3, 1], &[0.5f64, 0.5], 2)?;
/// let exact = 0.75 * 1.5f64.ln() + 0.25 * 0.5f64.ln();
/// assert!((kl.mean - exact).abs() < 1e-15);
/// // A class never generated contributes 0 (0 log 0 = 0), not NaN.
/// assert!((kl_categorical(&[4, 0], &[0.5f64, 0.5], 2)?.mean - 2f64.ln()).abs() < 1e-15);
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
pub fn kl_categorical<T: Real>(
    counts: &[u64],
    true_probs: &[T],
    categories: usize,
) -> Result<KlEstimate<T>> {
    let k = check_probs(true_probs, categories, "kl_categorical")?;
    if counts.len() != true_probs.len() {
        return Err(FlowError::InvalidArgument(format!(
            "kl_categorical: counts has length {}, true_probs {} ({k} positions × {categories} categories)",
            counts.len(),
            true_probs.len()
        )));
    }
    let mut per_position = Vec::with_capacity(k);
    let mut total = 0.0f64;
    for (l, (cs, ps)) in counts
        .chunks_exact(categories)
        .zip(true_probs.chunks_exact(categories))
        .enumerate()
    {
        let n: u64 = cs.iter().sum();
        if n == 0 {
            return Err(FlowError::InvalidArgument(format!(
                "kl_categorical: position {l} has no counts"
            )));
        }
        let nf = n as f64;
        let mut kl = 0.0f64;
        for (&c, &p) in cs.iter().zip(ps) {
            if c == 0 {
                continue; // 0 log 0 = 0
            }
            let q = c as f64 / nf;
            let p = p.to_f64_lossless();
            if p == 0.0 {
                kl = f64::INFINITY;
                break;
            }
            kl += q * (q / p).ln();
        }
        total += kl;
        per_position.push(T::c(kl));
    }
    Ok(KlEstimate {
        mean: T::c(total / k as f64),
        per_position,
    })
}

/// Per-position category counts (`[k, d]`, row-major) of integer-coded sequences `samples`
/// (`[N, k]`, row-major, each entry in `0..categories`).
///
/// # Errors
/// [`FlowError::InvalidArgument`] if `positions` or `categories` is 0, `samples` is empty or not
/// a multiple of `positions`, or an entry is out of range (with its sequence and position).
pub fn category_counts(samples: &[usize], positions: usize, categories: usize) -> Result<Vec<u64>> {
    if positions == 0 || categories == 0 {
        return Err(FlowError::InvalidArgument(
            "category_counts: positions and categories must be positive".into(),
        ));
    }
    if samples.is_empty() || samples.len() % positions != 0 {
        return Err(FlowError::InvalidArgument(format!(
            "category_counts: {} samples is not a positive multiple of {positions} positions",
            samples.len()
        )));
    }
    let mut counts = vec![0u64; positions * categories];
    for (s, seq) in samples.chunks_exact(positions).enumerate() {
        for (l, &c) in seq.iter().enumerate() {
            if c >= categories {
                return Err(FlowError::InvalidArgument(format!(
                    "category_counts: sequence {s}, position {l}: category {c} >= {categories}"
                )));
            }
            counts[l * categories + c] += 1;
        }
    }
    Ok(counts)
}

/// Per-position counts of the arg-max category of generated points (`[N, k·d]` row-major: each
/// sequence is $k$ blocks of $d$ scores, e.g. points of $(\Delta^{d-1})^k$ or of the positive
/// orthant $(S^{d-1}\_+)^k$, where the arg-max of $x$ and of $x \odot x$ agree). Ties go to the
/// lowest category, as `argmax` in NumPy/PyTorch.
///
/// # Errors
/// [`FlowError::InvalidArgument`] on bad shapes or a non-finite score (with its sequence and
/// position).
pub fn argmax_counts<T: Real>(
    points: &[T],
    positions: usize,
    categories: usize,
) -> Result<Vec<u64>> {
    if positions == 0 || categories == 0 {
        return Err(FlowError::InvalidArgument(
            "argmax_counts: positions and categories must be positive".into(),
        ));
    }
    let w = positions * categories;
    if points.is_empty() || points.len() % w != 0 {
        return Err(FlowError::InvalidArgument(format!(
            "argmax_counts: {} scalars is not a positive multiple of {positions} × {categories}",
            points.len()
        )));
    }
    let mut counts = vec![0u64; w];
    for (s, seq) in points.chunks_exact(w).enumerate() {
        for (l, block) in seq.chunks_exact(categories).enumerate() {
            let mut best = 0;
            for (c, &v) in block.iter().enumerate() {
                if !v.is_finite() {
                    return Err(FlowError::InvalidArgument(format!(
                        "argmax_counts: sequence {s}, position {l}, category {c} is not finite ({v})"
                    )));
                }
                if v > block[best] {
                    best = c;
                }
            }
            counts[l * categories + best] += 1;
        }
    }
    Ok(counts)
}

/// [`kl_categorical`] from integer-coded sequences (`[N, k]`, see [`category_counts`]).
///
/// # Errors
/// As [`category_counts`] and [`kl_categorical`].
pub fn kl_categorical_samples<T: Real>(
    samples: &[usize],
    true_probs: &[T],
    categories: usize,
) -> Result<KlEstimate<T>> {
    let k = check_probs(true_probs, categories, "kl_categorical_samples")?;
    let counts = category_counts(samples, k, categories)?;
    kl_categorical(&counts, true_probs, categories)
}

// ---------------------------------------------------------------------------------------------
// KDE
// ---------------------------------------------------------------------------------------------

/// The kernel of a [`Kde`]; the bandwidth $h > 0$ is a geodesic length scale for all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KdeKernel {
    /// von Mises–Fisher on $S^n$ (points of $n + 1$ unit-norm coordinates), $\kappa = 1/h^2$.
    VonMisesFisher,
    /// Product of 1-D wrapped normals on $T^n$ ($n$ angles; any finite angle, wrapped into
    /// $\lbrack -\pi, \pi)$), $\sigma = h$ per coordinate.
    WrappedNormalTorus,
    /// Wrapped normal on the hyperboloid $H^n$ ($n + 1$ coordinates), $\Sigma = h^2 I\_n$.
    WrappedNormalLorentz,
}

impl KdeKernel {
    /// Scalars per point for intrinsic dimension `n`.
    pub fn ambient_dim(self, n: usize) -> usize {
        match self {
            KdeKernel::WrappedNormalTorus => n,
            _ => n + 1,
        }
    }

    /// A default bandwidth grid: 25 log-spaced values from $10^{-3}$ to 2 (vMF, i.e.
    /// $\kappa$ from $0.25$ to $10^6$), or from $10^{-2}$ to $\pi$ (torus, Lorentz). Clustered
    /// data such as the Earth volcano set select $h$ of a few $10^{-2}$ rad.
    pub fn default_grid<T: Real>(self) -> Vec<T> {
        let (lo, hi) = match self {
            KdeKernel::VonMisesFisher => (1e-3f64, 2.0f64),
            _ => (1e-2, core::f64::consts::PI),
        };
        let steps = 24;
        (0..=steps)
            .map(|i| T::c(lo * (hi / lo).powf(i as f64 / steps as f64)))
            .collect()
    }
}

/// Smallest number of windings `K ≥ 1` with $2\pi^2K(K+1)/\sigma^2 \ge 40$, or of Fourier
/// terms `M ≥ 1` with $(M+1)^2\sigma^2/2 \ge 40$ — the truncation rule of
/// [`torus::WrappedNormal`](geoflow_manifolds::torus::WrappedNormal).
fn torus_terms(h: f64) -> (bool, usize) {
    use core::f64::consts::PI;
    const TAIL: f64 = 40.0;
    if h <= 2.0 {
        let mut k = 1usize;
        while 2.0 * PI * PI * (k * (k + 1)) as f64 / (h * h) < TAIL {
            k += 1;
        }
        (false, k)
    } else {
        let mut m = 1usize;
        while ((m + 1) * (m + 1)) as f64 * h * h / 2.0 < TAIL {
            m += 1;
        }
        (true, m)
    }
}

/// Per-bandwidth constants of a [`Kde`].
#[derive(Clone, Copy, Debug)]
struct KdeConsts<T> {
    h: T,
    /// The log-normaliser added to every log-kernel ($\log N$ is subtracted separately).
    log_c: T,
    /// vMF: $\kappa/2$; torus windings / Lorentz: $1/(2h^2)$.
    a: T,
    /// Torus: Fourier branch?
    fourier: bool,
    /// Torus: number of windings or Fourier terms.
    terms: usize,
    /// Torus, Fourier branch: $2e^{-m^2h^2/2}$ for $m = 1, \dots$ (`terms` ≤ 4 used).
    fq: [T; 8],
}

/// A kernel density estimate on $S^n$, $T^n$ or $H^n$ (see the [module docs](self)).
///
/// ```
/// use geoflow_flows::metric::{Kde, KdeKernel};
/// use geoflow_manifolds::torus::WrappedNormal;
/// // One training point: the KDE is the kernel itself.
/// let kde = Kde::new(KdeKernel::WrappedNormalTorus, 2, &[0.5f64, -3.0], 0.7)?;
/// let wn = WrappedNormal::new(&[0.5, -3.0], &[0.7, 0.7])?;
/// let x = [2.0, 3.0];
/// assert!((kde.log_density(&x)? - wn.log_density(&x)).abs() < 1e-13);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Kde<T> {
    kernel: KdeKernel,
    n: usize,
    d: usize,
    len: usize,
    /// Training points, row-major `[N, d]` (torus angles wrapped).
    rows: Vec<T>,
    /// The same, coordinate-major `[d, N]`.
    cols: Vec<T>,
    consts: KdeConsts<T>,
    log_len: f64,
}

/// Scratch buffers for one evaluation (one per worker).
struct KdeScratch<T> {
    acc: Vec<T>,
    tmp: Vec<T>,
    rest: Vec<T>,
    rd: RowDists<T>,
}

impl<T: Real> Kde<T> {
    /// A KDE with the given kernel on the `n`-dimensional manifold, training points `train`
    /// (`[N, D]` row-major, `D = kernel.ambient_dim(n)`) and bandwidth `h`.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] for `n = 0`, a bad length, a non-finite coordinate, a point
    /// off the manifold (sphere: unit norm, hyperboloid: $\langle x, x\rangle\_L = -1$, $x\_0 >
    /// 0$, within the manifolds' default tolerance; the message names the point), or `h` not
    /// finite and positive.
    pub fn new(kernel: KdeKernel, n: usize, train: &[T], h: T) -> Result<Self> {
        if n == 0 {
            return Err(FlowError::InvalidArgument(
                "Kde: the intrinsic dimension must be positive".into(),
            ));
        }
        let d = kernel.ambient_dim(n);
        let len = check_batch(train, d, "Kde: training points")?;
        check_points(kernel, n, train, "Kde: training point")?;
        let mut rows = train.to_vec();
        if kernel == KdeKernel::WrappedNormalTorus {
            for v in rows.iter_mut() {
                *v = wrap_angle(*v);
            }
        }
        let mut cols = vec![T::zero(); len * d];
        for (i, r) in rows.chunks_exact(d).enumerate() {
            for (j, &v) in r.iter().enumerate() {
                cols[j * len + i] = v;
            }
        }
        let consts = Self::consts(kernel, n, h)?;
        Ok(Self {
            kernel,
            n,
            d,
            len,
            rows,
            cols,
            consts,
            log_len: (len as f64).ln(),
        })
    }

    fn consts(kernel: KdeKernel, n: usize, h: T) -> Result<KdeConsts<T>> {
        if !(h > T::zero() && h.is_finite()) {
            return Err(FlowError::InvalidArgument(format!(
                "Kde: bandwidth must be finite and positive, got {h}"
            )));
        }
        let hf = h.to_f64_lossless();
        let two_pi = 2.0 * core::f64::consts::PI;
        let nf = n as f64;
        Ok(match kernel {
            KdeKernel::VonMisesFisher => {
                let kappa = 1.0 / (hf * hf);
                if !kappa.is_finite() {
                    return Err(FlowError::InvalidArgument(format!(
                        "Kde: bandwidth {h} gives an infinite concentration"
                    )));
                }
                let mut mu = vec![0.0f64; n + 1];
                mu[0] = 1.0;
                // log C + κ in f64: the cancellation is exact enough there even for κ = 10⁶.
                let vmf = VonMisesFisher::<f64>::new(&mu, kappa)?;
                KdeConsts {
                    h,
                    log_c: T::c(vmf.log_normaliser() + kappa),
                    a: T::c(0.5 * kappa),
                    fourier: false,
                    terms: 0,
                    fq: [T::zero(); 8],
                }
            }
            KdeKernel::WrappedNormalTorus => {
                let (fourier, terms) = torus_terms(hf);
                let per = if fourier {
                    -two_pi.ln()
                } else {
                    -hf.ln() - 0.5 * two_pi.ln()
                };
                let mut fq = [T::zero(); 8];
                for (m, q) in fq.iter_mut().enumerate().take(terms) {
                    let m1 = (m + 1) as f64;
                    *q = T::c(2.0 * (-m1 * m1 * hf * hf / 2.0).exp());
                }
                KdeConsts {
                    h,
                    log_c: T::c(nf * per),
                    a: T::c(0.5 / (hf * hf)),
                    fourier,
                    terms,
                    fq,
                }
            }
            KdeKernel::WrappedNormalLorentz => KdeConsts {
                h,
                log_c: T::c(-0.5 * nf * (two_pi * hf * hf).ln()),
                a: T::c(0.5 / (hf * hf)),
                fourier: false,
                terms: 0,
                fq: [T::zero(); 8],
            },
        })
    }

    /// The kernel.
    pub fn kernel(&self) -> KdeKernel {
        self.kernel
    }
    /// The bandwidth $h$.
    pub fn bandwidth(&self) -> T {
        self.consts.h
    }
    /// The intrinsic dimension $n$.
    pub fn dim(&self) -> usize {
        self.n
    }
    /// Scalars per point.
    pub fn ambient_dim(&self) -> usize {
        self.d
    }
    /// Number of training points $N$.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Always `false` (a KDE has at least one training point).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Changes the bandwidth in place (keeps the training data).
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if `h` is not finite and positive.
    pub fn set_bandwidth(&mut self, h: T) -> Result<()> {
        self.consts = Self::consts(self.kernel, self.n, h)?;
        Ok(())
    }

    fn scratch(&self) -> KdeScratch<T> {
        KdeScratch {
            acc: vec![T::zero(); self.len],
            tmp: vec![T::zero(); self.len],
            rest: vec![T::zero(); self.len],
            rd: RowDists::new(self.d, self.len),
        }
    }

    /// $\log\hat p(x)$ at one point `x` (`D` scalars).
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if `x` has the wrong length, is not finite or is off the
    /// manifold.
    pub fn log_density(&self, x: &[T]) -> Result<T> {
        if x.len() != self.d {
            return Err(FlowError::InvalidArgument(format!(
                "Kde::log_density: point has {} scalars, expected {}",
                x.len(),
                self.d
            )));
        }
        check_batch(x, self.d, "Kde::log_density")?;
        check_points(self.kernel, self.n, x, "Kde::log_density: point")?;
        Ok(self.eval(x, &mut self.scratch()))
    }

    /// Writes $\log\hat p(x\_i)$ for every row of `xs` (`[M, D]`) into `out` (`M` values), in
    /// parallel with the `rayon` feature.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if `out.len()` is not the number of rows, or as
    /// [`log_density`](Self::log_density) for any row (the message names it).
    pub fn log_density_batch_into(&self, xs: &[T], out: &mut [T]) -> Result<()> {
        let m = check_batch(xs, self.d, "Kde::log_density_batch_into: xs")?;
        if out.len() != m {
            return Err(FlowError::InvalidArgument(format!(
                "Kde::log_density_batch_into: out has {} entries for {m} points",
                out.len()
            )));
        }
        check_points(self.kernel, self.n, xs, "Kde: evaluation point")?;
        let vals = map_rows(
            m,
            || self.scratch(),
            |s, i| self.eval(&xs[i * self.d..(i + 1) * self.d], s),
        );
        out.copy_from_slice(&vals);
        Ok(())
    }

    /// $\log\hat p(x\_i)$ for every row of `xs` as a new vector.
    ///
    /// # Errors
    /// As [`log_density_batch_into`](Self::log_density_batch_into).
    pub fn log_densities(&self, xs: &[T]) -> Result<Vec<T>> {
        let m = check_batch(xs, self.d, "Kde::log_densities: xs")?;
        let mut out = vec![T::zero(); m];
        self.log_density_batch_into(xs, &mut out)?;
        Ok(out)
    }

    /// NLL of the points `xs` under the KDE ([`NllStats`]).
    ///
    /// # Errors
    /// As [`log_density_batch_into`](Self::log_density_batch_into).
    pub fn nll(&self, xs: &[T]) -> Result<NllStats<T>> {
        NllStats::from_log_likelihoods(&self.log_densities(xs)?)
    }

    /// Chooses the bandwidth with the lowest validation NLL over `grid` (ties: the first), and
    /// returns it with the validation NLL of every grid value (same order as `grid`). Use
    /// [`KdeKernel::default_grid`] when you have no better idea.
    ///
    /// # Errors
    /// As [`Kde::new`] for `train`, [`log_density_batch_into`](Self::log_density_batch_into) for
    /// `val`, and [`FlowError::InvalidArgument`] for an empty grid or a grid value that is not
    /// finite and positive.
    pub fn fit_bandwidth(
        kernel: KdeKernel,
        n: usize,
        train: &[T],
        val: &[T],
        grid: &[T],
    ) -> Result<(T, Vec<T>)> {
        let Some(&h0) = grid.first() else {
            return Err(FlowError::InvalidArgument(
                "Kde::fit_bandwidth: empty bandwidth grid".into(),
            ));
        };
        let mut kde = Kde::new(kernel, n, train, h0)?;
        let mut nlls = Vec::with_capacity(grid.len());
        let (mut best, mut best_nll) = (h0, T::infinity());
        for &h in grid {
            kde.set_bandwidth(h)?;
            let nll = kde.nll(val)?.mean;
            if nll < best_nll {
                (best, best_nll) = (h, nll);
            }
            nlls.push(nll);
        }
        Ok((best, nlls))
    }

    /// $\log\hat p(x)$ for a checked point.
    fn eval(&self, x: &[T], s: &mut KdeScratch<T>) -> T {
        let c = &self.consts;
        let acc = &mut s.acc[..];
        match self.kernel {
            KdeKernel::VonMisesFisher => {
                // log K = (log C + κ) − κ/2 ‖x − μ‖²; the constant is added after the sum.
                acc.fill(T::zero());
                for (j, &xj) in x.iter().enumerate() {
                    let col = &self.cols[j * self.len..(j + 1) * self.len];
                    for (a, &v) in acc.iter_mut().zip(col) {
                        let e = v - xj;
                        *a = e.madd(e, *a);
                    }
                }
                let na = -c.a;
                for a in acc.iter_mut() {
                    *a = na * *a;
                }
            }
            KdeKernel::WrappedNormalTorus => {
                acc.fill(T::zero());
                let (tmp, rest) = (&mut s.tmp[..], &mut s.rest[..]);
                for (j, &xj) in x.iter().enumerate() {
                    let xj = wrap_angle(xj);
                    let col = &self.cols[j * self.len..(j + 1) * self.len];
                    // δ = wrap(μ − x) ∈ [−π, π] (both in [−π, π), one correction suffices).
                    let (pi, two_pi) = (T::PI(), T::c(2.0 * core::f64::consts::PI));
                    for (t, &v) in tmp.iter_mut().zip(col) {
                        let e = v - xj;
                        let e = if e >= pi { e - two_pi } else { e };
                        *t = if e < -pi { e + two_pi } else { e };
                    }
                    torus_log_kernel_1d(c, tmp, rest);
                    for (a, &r) in acc.iter_mut().zip(rest.iter()) {
                        *a += r;
                    }
                }
            }
            KdeKernel::WrappedNormalLorentz => {
                let n1 = T::c(self.n as f64 - 1.0);
                let na = -c.a;
                let ln2 = T::LN_2();
                let space = Lorentz::<T>::new(self.n).expect("n > 0 checked in Kde::new");
                s.rd.for_each_chunk(&space, x, &self.rows, |j0, ds| {
                    for (a, &r) in acc[j0..j0 + ds.len()].iter_mut().zip(ds.iter()) {
                        *a = na * r * r - n1 * ln_sinhc(r, ln2);
                    }
                });
            }
        }
        let lse = log_sum_exp(acc);
        T::c(lse + c.log_c.to_f64_lossless() - self.log_len)
    }
}

/// Below this $r$, [`ln_sinhc`] uses its Taylor series (four terms: truncation error
/// $< r^8/37800 < 3\cdot10^{-13}$, far below the absolute accuracy a log-density needs).
const LN_SINHC_SERIES: f64 = 0.1;

/// $\log(\sinh r / r)$ for $r \ge 0$, branch-free (both sides computed, one selected):
/// $\frac{r^2}{6} - \frac{r^4}{180} + \frac{r^6}{2835} - \frac{r^8}{37800}$ below
/// [`LN_SINHC_SERIES`], else $r - \log 2 - \log r + \operatorname{log1p}(-e^{-2r})$ (absolute
/// error a few ulps of $\lvert\log r\rvert + r$; no overflow for any $r$).
#[inline(always)]
fn ln_sinhc<T: Real>(r: T, ln2: T) -> T {
    let r2 = r * r;
    let series = r2
        * (T::c(1.0 / 6.0)
            + r2 * (T::c(-1.0 / 180.0) + r2 * (T::c(1.0 / 2835.0) + r2 * T::c(-1.0 / 37800.0))));
    let rr = if r < T::c(LN_SINHC_SERIES) {
        T::one()
    } else {
        r
    };
    let large = rr - ln2 - vmath::log(rr) + vmath::log1p(-vmath::exp(T::c(-2.0) * rr));
    if r < T::c(LN_SINHC_SERIES) {
        series
    } else {
        large
    }
}

/// 1-D wrapped-normal log-density, without the constant $-\log h - \frac12\log 2\pi$ (windings)
/// or $-\log 2\pi$ (Fourier), at every $\delta \in \lbrack -\pi, \pi\rbrack$ of `delta`, into
/// `out`. Same truncation as [`torus::WrappedNormal`](geoflow_manifolds::torus::WrappedNormal).
fn torus_log_kernel_1d<T: Real>(c: &KdeConsts<T>, delta: &[T], out: &mut [T]) {
    let pi = T::PI();
    if !c.fourier {
        // log φ(δ) + log(1 + Σ_{0<|k|≤K} exp(−2πk(πk ± δ)/σ²)), without log(σ√2π).
        let two_a = T::c(2.0) * c.a; // 1/σ²
        out.fill(T::zero());
        for k in 1..=c.terms {
            let kf = T::c(k as f64);
            let s = -T::c(2.0) * pi * kf * two_a;
            let pk = pi * kf;
            // With |δ| the two windings are exp(s(πk + |δ|)) ≤ exp(sπk) and exp(s(πk − |δ|)).
            // The first is skipped when exp(sπk) < 2⁻⁶⁰ (relative to the k = 0 term; h < 0.69
            // for k = 1), which saves one exponential per coordinate for narrow kernels.
            if (s * pk).to_f64_lossless() < -60.0 * core::f64::consts::LN_2 {
                for (o, &d) in out.iter_mut().zip(delta) {
                    *o += vmath::exp(s * (pk - d.abs()));
                }
            } else {
                for (o, &d) in out.iter_mut().zip(delta) {
                    *o += vmath::exp(s * (pk + d)) + vmath::exp(s * (pk - d));
                }
            }
        }
        let na = -c.a;
        for (o, &d) in out.iter_mut().zip(delta) {
            *o = na * d * d + vmath::log1p(*o);
        }
    } else {
        // log(1 + 2 Σ_{m ≤ M} e^{−m²σ²/2} cos mδ), M ≤ 4: one vectorised pass per term.
        out.fill(T::one());
        for (m, &q) in c.fq[..c.terms].iter().enumerate() {
            let mf = T::c((m + 1) as f64);
            for (o, &d) in out.iter_mut().zip(delta) {
                *o = q.madd(vmath::cos(mf * d), *o);
            }
        }
        vmath::log_inplace(out);
    }
}

/// $\log\sum\_i e^{a\_i}$ in f64 (max-shifted; `a` is overwritten).
fn log_sum_exp<T: Real>(a: &mut [T]) -> f64 {
    let mx = max_of(a);
    for v in a.iter_mut() {
        *v -= mx;
    }
    vmath::exp_inplace(a);
    mx.to_f64_lossless() + sum_f64(a).ln()
}

/// Checks that every row of `xs` lies on the kernel's manifold (finite values already checked).
fn check_points<T: Real>(kernel: KdeKernel, n: usize, xs: &[T], what: &str) -> Result<()> {
    let bad = match kernel {
        KdeKernel::VonMisesFisher => Sphere::<T>::new(n)?.check_point_batch(xs),
        KdeKernel::WrappedNormalLorentz => Lorentz::<T>::new(n)?.check_point_batch(xs),
        KdeKernel::WrappedNormalTorus => Ok(()),
    };
    bad.map_err(|(i, e)| FlowError::InvalidArgument(format!("{what} {i}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geoflow_manifolds::prelude::*;
    use geoflow_manifolds::{lorentz, torus, FlatTorus, PositiveOrthant, Power};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    fn uniform_sphere(n: usize, count: usize, seed: u64) -> Vec<f64> {
        let s = Sphere::<f64>::new(n).unwrap();
        let mut xs = vec![0.0; count * (n + 1)];
        s.sample_base_batch_into(&mut rng(seed), &mut xs);
        xs
    }

    /// Direct O(n²) MMD with scalar distances and `f64::exp`.
    fn mmd_naive<M: Manifold<Scalar = f64>>(
        m: &M,
        xs: &[f64],
        ys: &[f64],
        sigma: f64,
        unbiased: bool,
    ) -> f64 {
        let d = m.ambient_dim();
        let (n, k) = (xs.len() / d, ys.len() / d);
        let kern = |a: &[f64], b: &[f64]| (-(m.dist(a, b) / sigma).powi(2)).exp();
        fn row(s: &[f64], i: usize, d: usize) -> &[f64] {
            &s[i * d..(i + 1) * d]
        }
        let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
        for i in 0..n {
            for j in 0..n {
                if !(unbiased && i == j) {
                    sxx += if i == j {
                        1.0
                    } else {
                        kern(row(xs, i, d), row(xs, j, d))
                    };
                }
            }
        }
        for i in 0..k {
            for j in 0..k {
                if !(unbiased && i == j) {
                    syy += if i == j {
                        1.0
                    } else {
                        kern(row(ys, i, d), row(ys, j, d))
                    };
                }
            }
        }
        for i in 0..n {
            for j in 0..k {
                sxy += kern(row(xs, i, d), row(ys, j, d));
            }
        }
        let (nf, kf) = (n as f64, k as f64);
        if unbiased {
            sxx / (nf * (nf - 1.0)) + syy / (kf * (kf - 1.0)) - 2.0 * sxy / (nf * kf)
        } else {
            (sxx / (nf * nf) + syy / (kf * kf) - 2.0 * sxy / (nf * kf))
                .max(0.0)
                .sqrt()
        }
    }

    #[test]
    fn mmd_matches_naive_double_sum() {
        let s2 = Sphere::<f64>::new(2).unwrap();
        let xs = uniform_sphere(2, 57, 1);
        // ys: a concentrated sample, different size.
        let vmf = VonMisesFisher::<f64>::new(&[0.0, 0.0, 1.0], 4.0).unwrap();
        let mut ys = vec![0.0; 41 * 3];
        let mut r = rng(2);
        for y in ys.chunks_exact_mut(3) {
            vmf.sample_into(&mut r, y);
        }
        for sigma in [0.3, 1.0, 2.5] {
            for (est, unb) in [(Estimator::Biased, false), (Estimator::Unbiased, true)] {
                let got = mmd(&s2, &xs, &ys, sigma, est).unwrap();
                let want = mmd_naive(&s2, &xs, &ys, sigma, unb);
                assert!(
                    (got - want).abs() < 1e-13,
                    "{sigma} {est:?}: {got} vs {want}"
                );
            }
        }
        // f32 agrees with f64 to f32 accuracy.
        let (x32, y32): (Vec<f32>, Vec<f32>) = (
            xs.iter().map(|&v| v as f32).collect(),
            ys.iter().map(|&v| v as f32).collect(),
        );
        let s2f = Sphere::<f32>::new(2).unwrap();
        let a = mmd(&s2f, &x32, &y32, 1.0, Estimator::Biased).unwrap() as f64;
        let b = mmd(&s2, &xs, &ys, 1.0, Estimator::Biased).unwrap();
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    #[test]
    fn mmd_on_torus_and_power_manifolds() {
        let t2 = FlatTorus::<f64>::new(2).unwrap();
        let mut r = rng(3);
        let xs: Vec<f64> = (0..60)
            .map(|_| (f64::uniform01(&mut r) - 0.5) * 6.0)
            .collect();
        let ys: Vec<f64> = (0..80)
            .map(|_| (f64::uniform01(&mut r) - 0.5) * 2.0)
            .collect();
        let got = mmd(&t2, &xs, &ys, 1.0, Estimator::Unbiased).unwrap();
        let want = mmd_naive(&t2, &xs, &ys, 1.0, true);
        assert!((got - want).abs() < 1e-13);
        // Power of orthants (Fisher-Flow sequences): squared distance adds over positions.
        let p = Power::new(PositiveOrthant::<f64>::new(3).unwrap(), 4).unwrap();
        let mut xs = vec![0.0; 20 * 16];
        let mut ys = vec![0.0; 25 * 16];
        p.sample_base_batch_into(&mut r, &mut xs);
        p.sample_base_batch_into(&mut r, &mut ys);
        let got = mmd(&p, &xs, &ys, 1.5, Estimator::Biased).unwrap();
        assert!((got - mmd_naive(&p, &xs, &ys, 1.5, false)).abs() < 1e-13);
    }

    #[test]
    fn mmd_identical_samples_and_separation() {
        let s2 = Sphere::<f64>::new(2).unwrap();
        let xs = uniform_sphere(2, 100, 4);
        assert_eq!(mmd(&s2, &xs, &xs, 1.0, Estimator::Biased).unwrap(), 0.0);
        // U-statistic of a sample against itself: K_xx/(n(n−1))·2 − 2(K_xx + n)/n² < 0.
        assert!(mmd(&s2, &xs, &xs, 1.0, Estimator::Unbiased).unwrap() < 0.0);
        // Antipodal point masses: MMD_b² = 2 − 2 exp(−π²).
        let v = mmd(
            &s2,
            &[0.0, 0.0, 1.0],
            &[0.0, 0.0, -1.0],
            1.0,
            Estimator::Biased,
        )
        .unwrap();
        let pi2 = std::f64::consts::PI.powi(2);
        assert!((v - (2.0 - 2.0 * (-pi2).exp()).sqrt()).abs() < 1e-15);
        // Tiny sigma: kernel is the identity on distinct points, no NaN.
        // (10 points each: MMD_b² = 1/10 + 1/10.)
        let v = mmd(&s2, &xs[..30], &xs[30..60], 1e-300, Estimator::Biased).unwrap();
        assert!((v - (2.0f64 / 10.0).sqrt()).abs() < 1e-14, "{v}");
    }

    #[test]
    fn mmd_errors() {
        let s2 = Sphere::<f64>::new(2).unwrap();
        let x = [0.0, 0.0, 1.0];
        let e = |r: Result<f64>| r.unwrap_err().to_string();
        assert!(e(mmd(&s2, &[], &x, 1.0, Estimator::Biased)).contains("empty"));
        assert!(e(mmd(&s2, &x, &[0.0, 1.0], 1.0, Estimator::Biased)).contains("multiple"));
        assert!(
            e(mmd(&s2, &x, &[f64::NAN, 0.0, 1.0], 1.0, Estimator::Biased)).contains("non-finite")
        );
        assert!(e(mmd(&s2, &x, &x, 0.0, Estimator::Biased)).contains("sigma"));
        assert!(e(mmd(&s2, &x, &x, f64::INFINITY, Estimator::Biased)).contains("sigma"));
        assert!(e(mmd(&s2, &x, &x, 1.0, Estimator::Unbiased)).contains("at least 2"));
    }

    #[test]
    fn row_dists_chunks_cover_all_rows() {
        // A manifold with a large ambient dimension forces chunks of a few rows.
        let p = Power::new(Sphere::<f64>::new(2).unwrap(), 1000).unwrap();
        let d = p.ambient_dim();
        let mut ys = vec![0.0; 37 * d];
        p.sample_base_batch_into(&mut rng(5), &mut ys);
        let x = ys[..d].to_vec();
        let mut rd = RowDists::new(d, 37);
        assert!(rd.chunk < 37);
        let mut seen = vec![f64::NAN; 37];
        rd.for_each_chunk(&p, &x, &ys, |j0, ds| {
            seen[j0..j0 + ds.len()].copy_from_slice(ds)
        });
        for (j, &v) in seen.iter().enumerate() {
            assert!((v - p.dist(&x, &ys[j * d..(j + 1) * d])).abs() < 1e-12);
        }
    }

    #[test]
    fn nll_stats() {
        let s = NllStats::from_log_likelihoods(&[2.0f32]).unwrap();
        assert_eq!(s.mean, -2.0);
        assert!(s.stderr.is_infinite());
        assert!(NllStats::<f64>::from_log_likelihoods(&[]).is_err());
        let e = NllStats::from_log_likelihoods(&[1.0, f64::NEG_INFINITY]).unwrap_err();
        assert!(e.to_string().contains("log-likelihood 1"));
        let s = NllStats::from_log_likelihoods(&[1e8 + 1.0, 1e8 - 1.0f64]).unwrap();
        assert_eq!(s.mean, -1e8);
        assert!((s.stderr - 1.0).abs() < 1e-9);
        assert_eq!(format!("{s:.1}"), "-100000000.0 ± 1.0 (n = 2)");
    }

    #[test]
    fn kl_categorical_values_and_errors() {
        // Two positions, three classes.
        let p = [0.2f64, 0.3, 0.5, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0];
        let counts = [2, 3, 5, 0, 6, 4];
        let kl = kl_categorical(&counts, &p, 3).unwrap();
        assert!(kl.per_position[0].abs() < 1e-15);
        let want1 = 0.6 * (0.6f64 * 3.0).ln() + 0.4 * (0.4f64 * 3.0).ln();
        assert!((kl.per_position[1] - want1).abs() < 1e-15);
        assert!((kl.mean - want1 / 2.0).abs() < 1e-15);
        // From samples: same histogram.
        let samples = [0, 1, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2, 1];
        let c = category_counts(&samples, 2, 3).unwrap();
        assert_eq!(c, vec![2, 3, 5, 0, 6, 4]);
        assert_eq!(kl_categorical_samples(&samples, &p, 3).unwrap(), kl);
        // Mass where p has none: +∞.
        let kl = kl_categorical(&[1, 1], &[1.0f64, 0.0], 2).unwrap();
        assert!(kl.mean.is_infinite() && kl.mean > 0.0);
        // Errors.
        assert!(kl_categorical(&[1, 1], &[0.5f64, 0.6], 2).is_err());
        assert!(kl_categorical(&[1, 1], &[-0.5f64, 1.5], 2).is_err());
        assert!(kl_categorical(&[0, 0], &[0.5f64, 0.5], 2).is_err());
        assert!(kl_categorical(&[1, 1, 1], &[0.5f64, 0.5], 2).is_err());
        assert!(kl_categorical::<f64>(&[], &[], 2).is_err());
        assert!(category_counts(&[0, 3], 2, 3)
            .unwrap_err()
            .to_string()
            .contains("position 1"));
        assert!(category_counts(&[0, 1, 2], 2, 3).is_err());
        // f32 tolerance on the row sums.
        assert!(kl_categorical(&[1, 1], &[0.5f32, 0.5001], 2).is_ok());
    }

    #[test]
    fn argmax_counts_of_points() {
        // 2 sequences × 2 positions × 3 categories.
        let pts = [0.1, 0.7, 0.2, 0.5, 0.5, 0.0, 0.8, 0.1, 0.1, 0.0, 0.0, 1.0];
        let c = argmax_counts(&pts, 2, 3).unwrap();
        assert_eq!(c, vec![1, 1, 0, 1, 0, 1]);
        assert!(argmax_counts(&[0.1, f64::NAN, 0.2], 1, 3).is_err());
        assert!(argmax_counts(&[0.1, 0.2], 1, 3).is_err());
    }

    #[test]
    fn kde_kernels_match_the_manifold_laws() {
        let mut r = rng(6);
        // vMF on S² and S⁴, several bandwidths.
        for n in [2usize, 4] {
            let train = uniform_sphere(n, 7, 10 + n as u64);
            let x = uniform_sphere(n, 1, 20 + n as u64);
            for h in [0.05, 0.3, 1.0, 3.0] {
                let kde = Kde::new(KdeKernel::VonMisesFisher, n, &train, h).unwrap();
                let want: Vec<f64> = train
                    .chunks_exact(n + 1)
                    .map(|mu| {
                        VonMisesFisher::new(mu, 1.0 / (h * h))
                            .unwrap()
                            .log_density(&x)
                    })
                    .collect();
                let want = lse(&want) - 7f64.ln();
                let got = kde.log_density(&x).unwrap();
                assert!(
                    (got - want).abs() < 1e-11 * (1.0 + want.abs()),
                    "{n} {h}: {got} {want}"
                );
            }
        }
        // Product wrapped normal on T³ across the windings / Fourier switch.
        let train: Vec<f64> = (0..9 * 3)
            .map(|_| (f64::uniform01(&mut r) - 0.5) * 6.0)
            .collect();
        let x = [3.1, -3.1, 0.2];
        for h in [0.05, 0.5, 1.0, 1.9, 2.0, 2.1, 4.0, 20.0] {
            let kde = Kde::new(KdeKernel::WrappedNormalTorus, 3, &train, h).unwrap();
            let want: Vec<f64> = train
                .chunks_exact(3)
                .map(|mu| {
                    torus::WrappedNormal::new(mu, &[h; 3])
                        .unwrap()
                        .log_density(&x)
                })
                .collect();
            let want = lse(&want) - 9f64.ln();
            let got = kde.log_density(&x).unwrap();
            assert!(
                (got - want).abs() < 1e-12 * (1.0 + want.abs()),
                "{h}: {got} {want}"
            );
        }
        // Angles outside [−π, π) are wrapped.
        let kde = Kde::new(KdeKernel::WrappedNormalTorus, 3, &train, 0.5).unwrap();
        let shifted = [
            3.1 + 4.0 * std::f64::consts::PI,
            -3.1,
            0.2 - 2.0 * std::f64::consts::PI,
        ];
        assert!((kde.log_density(&shifted).unwrap() - kde.log_density(&x).unwrap()).abs() < 1e-12);
        // Wrapped normal on H², H³ and H¹: near and far points (r up to ~12).
        for n in [1usize, 2, 3] {
            let h = lorentz::WrappedNormal::new(&origin(n), &vec![1.5; n]).unwrap();
            let mut train = vec![0.0; 8 * (n + 1)];
            for t in train.chunks_exact_mut(n + 1) {
                h.sample_into(&mut r, t);
            }
            let far = lorentz::WrappedNormal::new(&origin(n), &vec![16.0; n]).unwrap();
            for trial in 0..6 {
                let mut x = vec![0.0; n + 1];
                if trial < 3 {
                    h.sample_into(&mut r, &mut x);
                } else {
                    far.sample_into(&mut r, &mut x);
                }
                for bw in [0.1, 0.8, 3.0] {
                    let kde = Kde::new(KdeKernel::WrappedNormalLorentz, n, &train, bw).unwrap();
                    let want: Vec<f64> = train
                        .chunks_exact(n + 1)
                        .map(|mu| {
                            lorentz::WrappedNormal::new(mu, &vec![bw * bw; n])
                                .unwrap()
                                .log_density(&x)
                        })
                        .collect();
                    let want = lse(&want) - 8f64.ln();
                    let got = kde.log_density(&x).unwrap();
                    assert!(
                        (got - want).abs() < 1e-10 * (1.0 + want.abs()),
                        "H{n} {bw} trial {trial}: {got} {want}"
                    );
                }
            }
        }
    }

    fn origin(n: usize) -> Vec<f64> {
        let mut o = vec![0.0; n + 1];
        o[0] = 1.0;
        o
    }

    fn lse(v: &[f64]) -> f64 {
        let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
    }

    #[test]
    fn kde_integrates_to_one_on_the_circle_and_s2() {
        // T¹: trapezoid rule on a fine periodic grid is spectrally accurate.
        let train = [0.3, -2.9, 3.0];
        for h in [0.2, 1.0, 3.0] {
            let kde = Kde::new(KdeKernel::WrappedNormalTorus, 1, &train, h).unwrap();
            let m = 4000;
            let xs: Vec<f64> = (0..m)
                .map(|i| -std::f64::consts::PI + 2.0 * std::f64::consts::PI * i as f64 / m as f64)
                .collect();
            let lp = kde.log_densities(&xs).unwrap();
            let mass: f64 =
                lp.iter().map(|v| v.exp()).sum::<f64>() * 2.0 * std::f64::consts::PI / m as f64;
            assert!((mass - 1.0).abs() < 1e-10, "{h}: {mass}");
        }
        // S²: integrate in (z, φ) with Gauss-free midpoint rule (smooth kernel, h = 0.5).
        let train = [0.0, 0.0, 1.0, 0.6, 0.0, 0.8];
        let kde = Kde::new(KdeKernel::VonMisesFisher, 2, &train, 0.5).unwrap();
        let (nz, nphi) = (400, 400);
        let mut pts = Vec::with_capacity(nz * nphi * 3);
        for i in 0..nz {
            let z = -1.0 + 2.0 * (i as f64 + 0.5) / nz as f64;
            let rr = (1.0 - z * z).sqrt();
            for j in 0..nphi {
                let phi = 2.0 * std::f64::consts::PI * j as f64 / nphi as f64;
                pts.extend_from_slice(&[rr * phi.cos(), rr * phi.sin(), z]);
            }
        }
        let lp = kde.log_densities(&pts).unwrap();
        let cell = 2.0 / nz as f64 * 2.0 * std::f64::consts::PI / nphi as f64;
        let mass: f64 = lp.iter().map(|v| v.exp()).sum::<f64>() * cell;
        assert!((mass - 1.0).abs() < 1e-4, "{mass}");
    }

    #[test]
    fn kde_f32_agrees_with_f64() {
        let train = uniform_sphere(2, 50, 30);
        let val = uniform_sphere(2, 5, 31);
        let (t32, v32): (Vec<f32>, Vec<f32>) = (
            train.iter().map(|&v| v as f32).collect(),
            val.iter().map(|&v| v as f32).collect(),
        );
        for (kernel, n) in [(KdeKernel::VonMisesFisher, 2)] {
            let a = Kde::new(kernel, n, &train, 0.2)
                .unwrap()
                .log_densities(&val)
                .unwrap();
            let b = Kde::new(kernel, n, &t32, 0.2f32)
                .unwrap()
                .log_densities(&v32)
                .unwrap();
            for (x, y) in a.iter().zip(&b) {
                assert!((x - *y as f64).abs() < 1e-4 * (1.0 + x.abs()), "{x} {y}");
            }
        }
        let tor: Vec<f64> = train.iter().map(|v| v * 3.0).collect();
        let tor32: Vec<f32> = tor.iter().map(|&v| v as f32).collect();
        let valt: Vec<f64> = val.iter().map(|v| v * 3.0).collect();
        let valt32: Vec<f32> = valt.iter().map(|&v| v as f32).collect();
        for h in [0.1, 1.0, 3.0] {
            let a = Kde::new(KdeKernel::WrappedNormalTorus, 3, &tor, h)
                .unwrap()
                .log_densities(&valt)
                .unwrap();
            let b = Kde::new(KdeKernel::WrappedNormalTorus, 3, &tor32, h as f32)
                .unwrap()
                .log_densities(&valt32)
                .unwrap();
            for (x, y) in a.iter().zip(&b) {
                assert!(
                    (x - *y as f64).abs() < 1e-4 * (1.0 + x.abs()),
                    "{h}: {x} {y}"
                );
            }
        }
    }

    #[test]
    fn kde_bandwidth_selection() {
        // Data from a vMF with κ = 100 (scale 0.1): the selected bandwidth is of that order,
        // the validation NLL curve is finite everywhere, and the chosen value is its argmin.
        let vmf = VonMisesFisher::<f64>::new(&[0.0, 0.0, 1.0], 100.0).unwrap();
        let mut r = rng(7);
        let mut draw = |k: usize| {
            let mut v = vec![0.0; k * 3];
            for x in v.chunks_exact_mut(3) {
                vmf.sample_into(&mut r, x);
            }
            v
        };
        let (train, val) = (draw(400), draw(200));
        let grid = KdeKernel::VonMisesFisher.default_grid::<f64>();
        assert_eq!(grid.len(), 25);
        let (best, nlls) =
            Kde::fit_bandwidth(KdeKernel::VonMisesFisher, 2, &train, &val, &grid).unwrap();
        assert_eq!(nlls.len(), grid.len());
        assert!(nlls.iter().all(|v| v.is_finite()));
        let imin = (0..nlls.len())
            .min_by(|&a, &b| nlls[a].total_cmp(&nlls[b]))
            .unwrap();
        assert_eq!(best, grid[imin]);
        assert!(best > 0.02 && best < 0.2, "{best}");
        // The KDE is worse than the true density but not by much.
        let true_nll = -val.chunks_exact(3).map(|x| vmf.log_density(x)).sum::<f64>() / 200.0;
        assert!(nlls[imin] > true_nll - 0.2 && nlls[imin] < true_nll + 0.5);
        // Errors.
        assert!(Kde::fit_bandwidth(KdeKernel::VonMisesFisher, 2, &train, &val, &[]).is_err());
        assert!(
            Kde::fit_bandwidth(KdeKernel::VonMisesFisher, 2, &train, &val, &[0.1, -1.0]).is_err()
        );
    }

    #[test]
    fn kde_errors() {
        let e = Kde::new(
            KdeKernel::VonMisesFisher,
            2,
            &[0.0, 0.0, 1.0, 0.0, 0.0, 2.0],
            0.1,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("training point 1"), "{e}");
        assert!(Kde::new(KdeKernel::VonMisesFisher, 2, &[0.0, 1.0], 0.1).is_err());
        assert!(Kde::new(KdeKernel::VonMisesFisher, 0, &[1.0], 0.1).is_err());
        assert!(Kde::new(KdeKernel::WrappedNormalLorentz, 1, &[1.0, 0.5], 0.1).is_err());
        assert!(Kde::new(KdeKernel::WrappedNormalTorus, 1, &[1.0], 0.0).is_err());
        assert!(Kde::new(KdeKernel::WrappedNormalTorus, 1, &[1.0], f64::NAN).is_err());
        assert!(Kde::new(KdeKernel::WrappedNormalTorus, 1, &[f64::INFINITY], 1.0).is_err());
        let kde = Kde::new(KdeKernel::WrappedNormalTorus, 2, &[1.0, 2.0], 1.0).unwrap();
        assert!(kde.log_density(&[1.0]).is_err());
        assert!(kde.log_density(&[1.0, f64::NAN]).is_err());
        let mut out = [0.0; 3];
        assert!(kde
            .log_density_batch_into(&[1.0, 2.0, 3.0, 4.0], &mut out)
            .is_err());
        // Far from every training point with a tiny bandwidth: finite, very negative.
        let kde = Kde::new(KdeKernel::VonMisesFisher, 2, &[0.0f64, 0.0, 1.0], 1e-3).unwrap();
        let v = kde.log_density(&[0.0, 0.0, -1.0]).unwrap();
        assert!(v.is_finite() && v < -1e6);
        let _ = FlatTorus::<f64>::new(1);
    }
}
