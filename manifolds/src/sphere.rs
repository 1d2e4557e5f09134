//! The unit sphere $S^n = \lbrace x \in \mathbb{R}^{n+1} : \lVert x \rVert = 1 \rbrace$ with the
//! round metric, and the von Mises–Fisher distribution on it.
//!
//! Formulas, numerical notes, the cut-locus policy and the f32 envelope are documented on
//! [`Sphere`]; see also [`VonMisesFisher`].

use core::marker::PhantomData;

use crate::manifold::expect_dim;
use crate::numerics::{
    all_finite, angle_between, dot, horner, norm, sinc, sinc_prime_over_x, x_over_sin,
};
use crate::sphere_batch;
use crate::{
    ConstantCurvature, Differentiable, Manifold, ManifoldError, ParallelTransport, Real, Sample,
};
use rand::Rng;

/// Threshold on $\sin\theta = \lVert w \rVert$ below which [`Manifold::try_log_into`] reports the
/// cut locus (for $\theta > \pi/2$), as (f32, f64). Points $\pi - 10^{-6}$ apart are still
/// accepted in both precisions.
pub const CUT_LOCUS_TOL: (f32, f64) = (1e-7, 1e-12);

/// Series cutoffs of [`sin_minus_x_over_x3`] as (f32, f64). The closed form cancels with a
/// relative error of about $6\varepsilon/x^2$, so the 10-term series takes over below 2 (f32) and
/// 1 (f64); its truncation error there is below $10^{-16}$ relative.
pub const SIN_MINUS_X_CUTOFF: (f32, f64) = (2.0, 1.0);

/// Taylor coefficients in $y = x^2$ of $(\sin x - x)/x^3 = \sum_{k\ge1} (-1)^k x^{2k-2}/(2k+1)!$.
const SIN_MINUS_X_SERIES: [f64; 10] = [
    -1.0 / 6.0,
    1.0 / 120.0,
    -1.0 / 5040.0,
    1.0 / 362880.0,
    -1.0 / 39916800.0,
    1.0 / 6227020800.0,
    -1.0 / 1307674368000.0,
    1.0 / 355687428096000.0,
    -1.0 / 121645100408832000.0,
    1.0 / 51090942171709440000.0,
];

/// $(\sin x - x)/x^3 = (\operatorname{sinc} x - 1)/x^2$, which tends to $-1/6$ at 0.
///
/// Appears in the derivative of the sphere's logarithm (`docs/math/sphere.md`).
#[inline]
pub fn sin_minus_x_over_x3<T: Real>(x: T) -> T {
    if x.abs() < T::pick(SIN_MINUS_X_CUTOFF) {
        horner(x * x, &SIN_MINUS_X_SERIES)
    } else {
        (x.sin() - x) / (x * x * x)
    }
}

/// $\log\Gamma(m/2)$ for an integer $m \ge 1$, exactly as a sum of logarithms
/// ($\Gamma(k) = (k-1)!$, $\Gamma(k + \tfrac12) = \sqrt\pi\prod_{j=1}^{k}(j - \tfrac12)$).
pub(crate) fn ln_gamma_half(m: usize) -> f64 {
    debug_assert!(m >= 1);
    if m % 2 == 0 {
        (1..m / 2).map(|j| (j as f64).ln()).sum()
    } else {
        0.5 * core::f64::consts::PI.ln() + (1..=m / 2).map(|j| (j as f64 - 0.5).ln()).sum::<f64>()
    }
}

/// The scalars from which $w = q - \frac{\langle p,q\rangle}{\lVert p\rVert^2}p$ is formed
/// elementwise without cancellation, plus the angle.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogParts<T> {
    /// $\theta = 2\operatorname{atan2}(\lVert q-p\rVert, \lVert q+p\rVert)$.
    pub theta: T,
    /// $\sigma = -1$ (difference form, $\theta \le \pi/2$) or $+1$ (sum form).
    pub sigma: T,
    /// $\langle p, q + \sigma p\rangle / \lVert p\rVert^2$.
    pub a: T,
    /// `true` when $\theta > \pi/2$ (sum form).
    pub far: bool,
    /// $\lVert q - p\rVert$ and $\lVert q + p\rVert$.
    pub chord: T,
    /// See `chord`.
    pub anti: T,
}

impl<T: Real> LogParts<T> {
    /// One pass over `p`, `q`.
    #[inline]
    pub fn new(p: &[T], q: &[T]) -> Self {
        let (mut minus, mut plus, mut pp, mut pd, mut ps) =
            (T::zero(), T::zero(), T::zero(), T::zero(), T::zero());
        for (&x, &y) in p.iter().zip(q) {
            let d = y - x;
            let s = y + x;
            minus = d.madd(d, minus);
            plus = s.madd(s, plus);
            pp = x.madd(x, pp);
            pd = x.madd(d, pd);
            ps = x.madd(s, ps);
        }
        let (chord, anti) = (minus.sqrt(), plus.sqrt());
        let theta = T::c(2.0) * chord.atan2(anti);
        let far = minus > plus;
        let pp = if pp > T::zero() { pp } else { T::one() };
        if far {
            Self {
                theta,
                sigma: T::one(),
                a: ps / pp,
                far,
                chord,
                anti,
            }
        } else {
            Self {
                theta,
                sigma: -T::one(),
                a: pd / pp,
                far,
                chord,
                anti,
            }
        }
    }
    /// $(\sin t\theta, \cos t\theta)$. For $\theta > \pi/2$ and $t > \tfrac12$ it evaluates
    /// them at $\varphi = \pi - t\theta = (1-t)\pi + t\delta$ with $\delta = \pi - \theta =
    /// 2\operatorname{atan2}(\lVert q+p\rVert, \lVert q-p\rVert)$ computed directly, so that
    /// $\sin t\theta$ keeps its relative accuracy near $t\theta = \pi$ (where the rounding of
    /// $\theta$ itself would dominate).
    #[inline]
    pub fn sin_cos_t(&self, t: T) -> (T, T) {
        if self.far && t > T::c(0.5) {
            let delta = T::c(2.0) * self.anti.atan2(self.chord);
            let phi = (T::one() - t) * T::PI() + t * delta;
            let (s, c) = phi.sin_cos();
            (s, -c)
        } else {
            (t * self.theta).sin_cos()
        }
    }
    /// $w_i = (q_i + \sigma p_i) - a\\,p_i$.
    #[inline(always)]
    pub fn w(&self, p: T, q: T) -> T {
        (q + self.sigma * p) - self.a * p
    }
}

/// Writes $w$ into `out` and returns its parts and $\lVert w \rVert$.
#[inline]
fn write_w<T: Real>(p: &[T], q: &[T], out: &mut [T]) -> (LogParts<T>, T) {
    let lp = LogParts::new(p, q);
    for ((o, &x), &y) in out.iter_mut().zip(p).zip(q) {
        *o = lp.w(x, y);
    }
    (lp, norm(out))
}

/// The deterministic unit tangent used at the exact cut locus: $e_j - p_j p/\lVert p\rVert^2$,
/// normalised, with $j$ the first index minimising $\lvert p_j\rvert$.
fn cut_locus_direction<T: Real>(p: &[T], out: &mut [T]) {
    let mut j = 0;
    for (i, &x) in p.iter().enumerate() {
        if x.abs() < p[j].abs() {
            j = i;
        }
    }
    let pp = dot(p, p);
    let a = if pp > T::zero() { p[j] / pp } else { T::zero() };
    for (i, (o, &x)) in out.iter_mut().zip(p).enumerate() {
        *o = if i == j { T::one() } else { T::zero() } - a * x;
    }
    let n = norm(out);
    for o in out.iter_mut() {
        *o /= n;
    }
}

/// $\log_p q$ into `out` (see the `Sphere` docs); returns the parts and $\lVert w\rVert$.
#[inline]
pub(crate) fn log_kernel<T: Real>(p: &[T], q: &[T], out: &mut [T]) -> (LogParts<T>, T) {
    let (lp, nw) = write_w(p, q, out);
    if nw >= T::min_positive_value() {
        // θ/‖w‖ ≤ π/min_positive does not overflow in either precision.
        let k = lp.theta / nw;
        for o in out.iter_mut() {
            *o *= k;
        }
    } else if lp.far {
        cut_locus_direction(p, out);
        for o in out.iter_mut() {
            *o *= lp.theta;
        }
    } else {
        for o in out.iter_mut() {
            *o = T::zero();
        }
    }
    (lp, nw)
}

/// The scalar coefficients of the log derivative: $(\theta, c, k, \alpha, \beta)$ with
/// $c = \cos\theta$, $k = \theta/\sin\theta$, $\alpha = (c - k)/\sin^2\theta = 4k^3 f(2\theta)$,
/// $\beta = (kc - 1)/\sin^2\theta = k^3\operatorname{sinc}'(\theta)/\theta$, $f$ = [`sin_minus_x_over_x3`].
#[inline]
fn log_coeffs<T: Real>(p: &[T], q: &[T], lp: &LogParts<T>) -> (T, T, T, T) {
    let th = lp.theta;
    let k = if lp.far {
        // ‖w‖ (accurate) instead of sin θ (which inherits the rounding of θ near π); clamped so
        // that the exact cut locus gives large but finite coefficients.
        let mut s2 = T::zero();
        for (&x, &y) in p.iter().zip(q) {
            let w = lp.w(x, y);
            s2 = w.madd(w, s2);
        }
        th / s2.sqrt().max(T::epsilon())
    } else {
        x_over_sin(th)
    };
    let k3 = k * k * k;
    let alpha = T::c(4.0) * k3 * sin_minus_x_over_x3(T::c(2.0) * th);
    let beta = k3 * sinc_prime_over_x(th);
    (th.cos(), k, alpha, beta)
}

/// $\exp_p(v) = \cos\lVert v\rVert\\,p + \operatorname{sinc}\lVert v\rVert\\,v$ into `out`.
#[inline]
pub(crate) fn exp_kernel<T: Real>(p: &[T], v: &[T], out: &mut [T]) {
    let r = norm(v);
    let (c, s) = (r.cos(), sinc(r));
    for ((o, &x), &u) in out.iter_mut().zip(p).zip(v) {
        *o = c * x + s * u;
    }
}

/// $x/\lVert x\rVert$ into `out`; $e_0$ when $x = 0$.
#[inline]
pub(crate) fn normalise_into<T: Real>(x: &[T], out: &mut [T]) {
    let n = norm(x);
    if n > T::zero() {
        let inv = n.recip();
        if inv.is_finite() {
            for (o, &y) in out.iter_mut().zip(x) {
                *o = y * inv;
            }
        } else {
            for (o, &y) in out.iter_mut().zip(x) {
                *o = y / n;
            }
        }
    } else {
        for o in out.iter_mut() {
            *o = T::zero();
        }
        out[0] = T::one();
    }
}

/// The unit sphere $S^n = \lbrace x \in \mathbb{R}^{n+1} : \lVert x \rVert = 1 \rbrace$ with the
/// round metric (curvature 1).
///
/// Points and tangent vectors use ambient coordinates (`n + 1` scalars); `n` is intrinsic. The
/// metric is the Euclidean one, $\langle u, v\rangle_p = u^\top v$, and $T_pS^n = p^\perp$.
///
/// | operation | formula |
/// |---|---|
/// | exp | $\exp_p(v) = \cos\lVert v \rVert\\,p + \operatorname{sinc}\lVert v \rVert\\,v$ |
/// | angle | $\theta = d(p, q) = 2\operatorname{atan2}(\lVert q - p\rVert, \lVert q + p\rVert)$ |
/// | log | $\log_p q = \theta\\,\dfrac{w}{\lVert w \rVert}$, $w = q - \dfrac{\langle p, q\rangle}{\lVert p\rVert^2}\\,p$ |
/// | geodesic | $\gamma(t) = \dfrac{\sin((1-t)\theta)\\,p + \sin(t\theta)\\,q}{\sin\theta}$ (slerp) |
/// | velocity | $\dot\gamma(t) = \dfrac{\theta}{\sin\theta}\big(\cos(t\theta)\\,q - \cos((1-t)\theta)\\,p\big) = \cos(t\theta)\log_p q - t\theta^2\operatorname{sinc}(t\theta)\\,p$ |
/// | transport | $P_{p\to q}(v) = v - \dfrac{\langle q, v\rangle}{1 + \langle p, q\rangle}(p + q)$ |
/// | projections | $\pi(x) = x/\lVert x \rVert$, $P_p(u) = u - \langle p, u\rangle\\,p$ |
/// | retraction | $R_p(v) = (p + v)/\lVert p + v \rVert$ (second order) |
/// | base density | uniform, $\log p_0 = \log\Gamma(\tfrac{n+1}2) - \log 2 - \tfrac{n+1}2\log\pi$ |
///
/// # Numerical notes
///
/// - **Angles** never use `acos`: $\theta$ is the chord/anti-chord `atan2`
///   ([`angle_between`]), accurate to a few ulps over $[0, \pi]$.
/// - **Log.** $w = q - \langle p,q\rangle p/\lVert p\rVert^2$ is formed from the difference
///   $d = q - p$ when $\theta \le \pi/2$, as $w = d - \frac{\langle p, d\rangle}{\lVert p\rVert^2}p$,
///   and from the sum $s = q + p$ when $\theta > \pi/2$, as $w = s - \frac{\langle p, s\rangle}{\lVert p\rVert^2}p$.
///   Both are exact rewrites of the same ambient formula; $d$ (resp. $s$) is computed without
///   rounding for nearby (resp. nearly antipodal) points, so $w$ carries full relative precision
///   at both ends, where the textbook $q - \cos\theta\\,p$ loses $\log_{10}(1/\theta)$ digits.
///   The length is $\theta$ itself, so $\lVert \log_p q\rVert = d(p, q)$ to rounding.
/// - **Geodesic.** For $\theta \le \pi/2$ slerp with the ratios
///   $\sin(t\theta)/\sin\theta = t\operatorname{sinc}(t\theta)/\operatorname{sinc}\theta$ (no 0/0,
///   exact endpoints $\gamma(0) = p$, $\gamma(1) = q$); for $\theta > \pi/2$, where
///   $1/\sin\theta$ amplifies the rounding of $\theta$, the equal form
///   $\cos(t\theta)\\,p + \frac{\sin t\theta}{\theta}\log_p q$, with $\sin t\theta$ and
///   $\cos t\theta$ evaluated at $\pi - t\theta = (1-t)\pi + t(\pi - \theta)$ for $t > \tfrac12$
///   ($\pi - \theta = 2\operatorname{atan2}(\lVert q+p\rVert, \lVert q-p\rVert)$ is computed
///   directly), so $\gamma(1) = q$ to full relative precision even at $\theta = \pi - 10^{-6}$.
/// - **Velocity.** The first closed form of the spec, rewritten with $q = \cos\theta\\,p + \sin\theta\\,\hat w$
///   as $\cos(t\theta)\log_p q - t\theta^2\operatorname{sinc}(t\theta)\\,p$: no cancellation at
///   $\theta \to 0$ nor at $\theta \to \pi$, valid for every $t$.
/// - **Transport** uses $1 + \langle p, q\rangle = \tfrac12\lVert p + q\rVert^2$ and $\langle q, v\rangle = \langle p + q, v\rangle$
///   (equal for $v \perp p$), i.e. the Householder form $v - 2\langle \hat s, v\rangle \hat s$,
///   $\hat s = (p+q)/\lVert p + q\rVert$: bounded and accurate up to the antipode. A non-tangent
///   `v` is reflected as a whole (its normal part is not the one the textbook formula gives).
/// - **Derivatives** (see [`Differentiable`] and `docs/math/sphere.md`) use
///   [`sinc_prime_over_x`] and [`sin_minus_x_over_x3`], both with series branches, so they are
///   finite at $v = 0$ and $p = q$.
///
/// # Cut locus
///
/// $\log_p q$ is undefined at $q = -p$. [`Manifold::try_log_into`] returns
/// [`ManifoldError::CutLocus`] when $\lVert w \rVert = \sin\theta$ is below
/// [`CUT_LOCUS_TOL`] (`1e-7` in f32, `1e-12` in f64) with $\theta > \pi/2$. Below that, the
/// direction of $w$ is still used by `log_into` (it is the limit direction for exact inputs, but
/// its relative error grows like $\varepsilon/(\pi - \theta)$). When $w$ vanishes exactly (exact
/// antipodes), `log_into` returns $\theta\\,\hat e$ with
/// $\hat e$ the unit vector along $e_j - \frac{p_j}{\lVert p\rVert^2} p$, where $j$ is the first
/// index minimising $\lvert p_j\rvert$ (deterministic, finite, tangent). `geodesic_into`,
/// `geodesic_velocity_into` and `transport_into` follow the same choice.
///
/// # Accuracy (measured by the tests in this module)
///
/// f64: relative error ≤ 1e-12 (most ≤ 1e-14) for exp, log, dist, geodesic and velocity over
/// $\lVert v \rVert \in [10^{-12}, \pi)$, points $10^{-10}$ apart and points $\pi - 10^{-6}$ apart.
///
/// **f32 envelope** (measured by `f32_envelope` against an f64 evaluation at the same f32
/// inputs, $\theta \in [10^{-12}, \pi - 10^{-6}]$, $t \in [0, 1]$): relative error of exp ≤ 4e-7,
/// dist ≤ 2e-7, log ≤ 4e-7, geodesic ≤ 3e-7, velocity ≤ 4e-7 (measured 3.1e-7, 1.6e-7, 2.7e-7,
/// 1.7e-7, 3.1e-7), uniformly up to the antipode thanks to the sum form of $w$ and the
/// $\pi - t\theta$ evaluation of $\sin t\theta$. Against the *exact* geometric answer, inputs
/// rounded to f32 carry their own error: near the antipode the direction of $\log_p q$ has
/// condition number $1/(\pi - \theta)$, so rounded generic inputs give about
/// $6\cdot10^{-8}/(\pi - \theta)$ (inherent, not the kernel's).
/// Derivatives (`f32_derivatives_match_f64`, $\lVert v\rVert, \theta \le 3$, both sides of
/// every f32 cutoff): exp JVP ≤ 6e-7 and log JVP/VJP ≤ 6e-7 relative to the output's (or the
/// cotangent's) scale (measured 4.2e-7 and 3.7e-7).
/// Coordinates that differ by less than about $10^{-19}$ (the square root of the smallest
/// normal f32) round to a zero angle.
///
/// ```
/// use geoflow_manifolds::{prelude::*, Sphere};
/// let s = Sphere::<f64>::new(2)?;
/// let (p, q) = ([0.0, 0.0, 1.0], [1.0, 0.0, 0.0]);
/// assert!((s.dist(&p, &q) - std::f64::consts::FRAC_PI_2).abs() < 1e-15);
/// let v = s.log(&p, &q);
/// assert!((v[0] - std::f64::consts::FRAC_PI_2).abs() < 1e-15);
/// let r = s.exp(&p, &v);
/// assert!(r.iter().zip(&q).all(|(a, b)| (a - b).abs() < 1e-15));
/// assert_eq!(s.try_log(&p, &[0.0, 0.0, -1.0]), Err(ManifoldError::CutLocus));
/// # Ok::<(), ManifoldError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sphere<T> {
    n: usize,
    /// $\log \lvert S^n\rvert = \log 2 + \tfrac{n+1}2\log\pi - \log\Gamma(\tfrac{n+1}2)$.
    log_area: f64,
    _t: PhantomData<T>,
}

impl<T: Real> Sphere<T> {
    /// $S^n \subset \mathbb R^{n+1}$ for $n \ge 1$ (points have `n + 1` coordinates).
    pub fn new(n: usize) -> Result<Self, ManifoldError> {
        if n == 0 {
            return Err(ManifoldError::InvalidParameter(
                "sphere dimension must be at least 1",
            ));
        }
        let m = n + 1;
        let log_area = core::f64::consts::LN_2 + 0.5 * m as f64 * core::f64::consts::PI.ln()
            - ln_gamma_half(m);
        Ok(Self {
            n,
            log_area,
            _t: PhantomData,
        })
    }

    /// $\log$ of the surface area $\lvert S^n\rvert = 2\pi^{(n+1)/2}/\Gamma(\tfrac{n+1}2)$.
    pub fn log_area(&self) -> T {
        T::c(self.log_area)
    }

    #[track_caller]
    #[inline]
    fn shape2(&self, a: &[T], b: &[T], out: &[T], what: &str) {
        let d = self.n + 1;
        expect_dim(a.len(), d, what);
        expect_dim(b.len(), d, what);
        expect_dim(out.len(), d, what);
    }
}

impl<T: Real> Manifold for Sphere<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.n
    }
    fn ambient_dim(&self) -> usize {
        self.n + 1
    }
    /// $\cos\lVert v\rVert\\,p + \operatorname{sinc}\lVert v\rVert\\,v$, with `p` and `v` taken as
    /// given (no projection).
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    fn exp_into(&self, p: &[T], v: &[T], out: &mut [T]) {
        self.shape2(p, v, out, "Sphere::exp_into");
        exp_kernel(p, v, out)
    }
    /// $\theta\\,w/\lVert w\rVert$ (see the [`Sphere`] docs for the stable form of $w$ and the cut
    /// locus choice).
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    fn log_into(&self, p: &[T], q: &[T], out: &mut [T]) {
        self.shape2(p, q, out, "Sphere::log_into");
        log_kernel(p, q, out);
    }
    /// Like `log_into`; `Err(CutLocus)` when $\theta > \pi/2$ and $\lVert w\rVert \le$
    /// [`CUT_LOCUS_TOL`] (then `out` holds `log_into`'s deterministic choice).
    #[track_caller]
    fn try_log_into(&self, p: &[T], q: &[T], out: &mut [T]) -> Result<(), ManifoldError> {
        self.shape2(p, q, out, "Sphere::try_log_into");
        let (lp, nw) = log_kernel(p, q, out);
        if lp.far && nw <= T::pick(CUT_LOCUS_TOL) {
            Err(ManifoldError::CutLocus)
        } else {
            Ok(())
        }
    }
    /// $u^\top v$.
    fn inner(&self, _p: &[T], u: &[T], v: &[T]) -> T {
        dot(u, v)
    }
    fn norm(&self, _p: &[T], v: &[T]) -> T {
        norm(v)
    }
    /// $2\operatorname{atan2}(\lVert q - p\rVert, \lVert q + p\rVert)$.
    fn dist(&self, p: &[T], q: &[T]) -> T {
        angle_between(p, q)
    }
    /// $x/\lVert x\rVert$; the zero vector maps to $e_0 = (1, 0, \dots, 0)$.
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    fn project_point_into(&self, x: &[T], out: &mut [T]) {
        self.shape2(x, x, out, "Sphere::project_point_into");
        normalise_into(x, out)
    }
    /// $u - \langle p, u\rangle\\,p$.
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    fn project_tangent_into(&self, p: &[T], u: &[T], out: &mut [T]) {
        self.shape2(p, u, out, "Sphere::project_tangent_into");
        let a = dot(p, u);
        for ((o, &x), &y) in out.iter_mut().zip(p).zip(u) {
            *o = y - a * x;
        }
    }
    /// Checks the length, finiteness and $\lvert \lVert p\rVert - 1\rvert \le$ `T::check_tol()`.
    fn check_point(&self, p: &[T]) -> Result<(), ManifoldError> {
        if p.len() != self.n + 1 {
            return Err(ManifoldError::DimensionMismatch {
                expected: self.n + 1,
                got: p.len(),
            });
        }
        if !all_finite(p) {
            return Err(ManifoldError::NonFinite);
        }
        let r = (norm(p) - T::one()).abs();
        let tol = T::check_tol();
        if r > tol {
            return Err(ManifoldError::NotOnManifold {
                residual: r.to_f64_lossless(),
                tol: tol.to_f64_lossless(),
            });
        }
        Ok(())
    }
    /// Checks `p`, then the length and finiteness of `v` and
    /// $\lvert\langle p, v\rangle\rvert \le$ `T::check_tol()`$\cdot\max(1, \lVert v\rVert)$.
    fn check_tangent(&self, p: &[T], v: &[T]) -> Result<(), ManifoldError> {
        self.check_point(p)?;
        if v.len() != self.n + 1 {
            return Err(ManifoldError::DimensionMismatch {
                expected: self.n + 1,
                got: v.len(),
            });
        }
        if !all_finite(v) {
            return Err(ManifoldError::NonFinite);
        }
        let r = dot(p, v).abs();
        let tol = T::check_tol() * norm(v).max(T::one());
        if r > tol {
            return Err(ManifoldError::NotTangent {
                residual: r.to_f64_lossless(),
                tol: tol.to_f64_lossless(),
            });
        }
        Ok(())
    }
    /// The projection retraction $(p + v)/\lVert p + v\rVert$. It agrees with $\exp_p(v)$ to
    /// second order ($R_p(tv) = p + tv - \tfrac{t^2}{2}\lVert v\rVert^2 p + O(t^3)$), so it is a
    /// second-order retraction. $p + v = 0$ maps to $e_0$.
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    fn retract_into(&self, p: &[T], v: &[T], out: &mut [T]) {
        self.shape2(p, v, out, "Sphere::retract_into");
        for ((o, &x), &u) in out.iter_mut().zip(p).zip(v) {
            *o = x + u;
        }
        let n = norm(out);
        if n > T::zero() {
            for o in out.iter_mut() {
                *o /= n;
            }
        } else {
            for o in out.iter_mut() {
                *o = T::zero();
            }
            out[0] = T::one();
        }
    }
    /// Slerp with sinc ratios for $\theta \le \pi/2$,
    /// $\frac{(1-t)\operatorname{sinc}((1-t)\theta)}{\operatorname{sinc}\theta}p + \frac{t\operatorname{sinc}(t\theta)}{\operatorname{sinc}\theta}q$;
    /// $\cos(t\theta)\\,p + t\operatorname{sinc}(t\theta)\log_p q$ beyond (and at the cut locus,
    /// with `log_into`'s choice). Allocation-free.
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    fn geodesic_into(&self, p: &[T], q: &[T], t: T, out: &mut [T]) {
        self.shape2(p, q, out, "Sphere::geodesic_into");
        let th = angle_between(p, q);
        if th <= T::FRAC_PI_2() {
            let one = T::one();
            let sc = sinc(th);
            let a = (one - t) * sinc((one - t) * th) / sc;
            let b = t * sinc(t * th) / sc;
            for ((o, &x), &y) in out.iter_mut().zip(p).zip(q) {
                *o = a * x + b * y;
            }
        } else {
            // cos tθ p + (sin tθ / θ) θŵ, with θ > π/2.
            let (lp, _) = log_kernel(p, q, out);
            let (st, ct) = lp.sin_cos_t(t);
            let k = st / lp.theta;
            for (o, &x) in out.iter_mut().zip(p) {
                *o = ct * x + k * *o;
            }
        }
    }
    /// $\cos(t\theta)\log_p q - t\theta^2\operatorname{sinc}(t\theta)\\,p$, which equals the
    /// spec's $\frac{\theta}{\sin\theta}(\cos(t\theta)q - \cos((1-t)\theta)p)$ and is stable at
    /// $\theta \to 0$ and $\theta \to \pi$ for every $t$.
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    fn geodesic_velocity_into(&self, p: &[T], q: &[T], t: T, out: &mut [T]) {
        self.shape2(p, q, out, "Sphere::geodesic_velocity_into");
        let (lp, _) = log_kernel(p, q, out);
        let (st, ct) = lp.sin_cos_t(t);
        let s = lp.theta * st;
        for (o, &x) in out.iter_mut().zip(p) {
            *o = ct * *o - s * x;
        }
    }
    /// $\pi$.
    fn injectivity_radius(&self) -> T {
        T::PI()
    }
    /// Vectorised blocks of rows (`sphere_batch`), same formulas and accuracy as `exp_into`.
    #[track_caller]
    fn exp_batch_into(&self, ps: &[T], vs: &[T], outs: &mut [T]) {
        sphere_batch::exp(self, ps, vs, outs)
    }
    /// Vectorised blocks of rows; rows at the cut locus or with $p = q$ use `log_into`.
    #[track_caller]
    fn log_batch_into(&self, ps: &[T], qs: &[T], outs: &mut [T]) {
        sphere_batch::log(self, ps, qs, outs)
    }
    /// Vectorised blocks of rows (`sphere_batch`).
    #[track_caller]
    fn dist_batch_into(&self, ps: &[T], qs: &[T], ds: &mut [T]) {
        sphere_batch::dist(self, ps, qs, ds)
    }
    /// Row-wise $u^\top v$ (`sphere_batch`).
    #[track_caller]
    fn inner_batch_into(&self, ps: &[T], us: &[T], vs: &[T], out: &mut [T]) {
        sphere_batch::inner(self, ps, us, vs, out)
    }
    /// Row-wise $\lVert v\rVert$ (`sphere_batch`).
    #[track_caller]
    fn norm_batch_into(&self, ps: &[T], vs: &[T], out: &mut [T]) {
        sphere_batch::norm(self, ps, vs, out)
    }
    /// Vectorised blocks of rows; rows at the cut locus use `geodesic_into`.
    #[track_caller]
    fn geodesic_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        sphere_batch::geodesic(self, ps, qs, ts, outs)
    }
    /// Vectorised blocks of rows; rows at the cut locus or with $p = q$ use
    /// `geodesic_velocity_into`.
    #[track_caller]
    fn geodesic_velocity_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        sphere_batch::geodesic_velocity(self, ps, qs, ts, outs)
    }
    /// One log for both outputs (bit for bit the two scalar kernels).
    #[track_caller]
    fn geodesic_with_velocity_into(
        &self,
        p: &[T],
        q: &[T],
        t: T,
        point: &mut [T],
        velocity: &mut [T],
    ) {
        self.shape2(p, q, point, "Sphere::geodesic_with_velocity_into");
        self.shape2(p, q, velocity, "Sphere::geodesic_with_velocity_into");
        sphere_batch::geodesic_pair_row(p, q, t, point, velocity)
    }
    /// One fused pass over the rows (`sphere_batch`): one `atan2` and one `sin_cos` per row for
    /// both outputs; rows at the cut locus or with $p = q$ use the scalar kernels.
    #[track_caller]
    fn geodesic_with_velocity_batch_into(
        &self,
        ps: &[T],
        qs: &[T],
        ts: &[T],
        points: &mut [T],
        velocities: &mut [T],
    ) {
        sphere_batch::geodesic_pair(self, ps, qs, ts, points, velocities)
    }
    /// Row-wise $x/\lVert x\rVert$ (`sphere_batch`).
    #[track_caller]
    fn project_point_batch_into(&self, xs: &[T], outs: &mut [T]) {
        sphere_batch::project_point(self, xs, outs, false)
    }
    /// Row-wise $u - \langle p, u\rangle p$ (`sphere_batch`).
    #[track_caller]
    fn project_tangent_batch_into(&self, ps: &[T], us: &[T], outs: &mut [T]) {
        sphere_batch::project_tangent(self, ps, us, outs)
    }
}

impl<T: Real> ParallelTransport for Sphere<T> {
    /// $v - 2\langle\hat s, v\rangle\hat s$ with $\hat s = (p + q)/\lVert p + q\rVert$, equal to
    /// $v - \frac{\langle q, v\rangle}{1 + \langle p, q\rangle}(p + q)$ for $v \in T_pS^n$ and
    /// accurate up to the antipode. At exact antipodes ($p + q = 0$) it transports along
    /// `log_into`'s deterministic direction $\hat e$: $v - 2\langle\hat e, v\rangle\hat e$, the
    /// limit of the formula along that geodesic.
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    fn transport_into(&self, p: &[T], q: &[T], v: &[T], out: &mut [T]) {
        self.shape2(p, q, out, "Sphere::transport_into");
        expect_dim(v.len(), self.n + 1, "Sphere::transport_into: v");
        for ((o, &x), &y) in out.iter_mut().zip(p).zip(q) {
            *o = x + y;
        }
        let ns = norm(out);
        if ns >= T::min_positive_value() {
            let inv = ns.recip();
            for o in out.iter_mut() {
                *o *= inv;
            }
        } else {
            cut_locus_direction(p, out);
        }
        // out = ŝ; out ← v − 2⟨ŝ, v⟩ ŝ.
        let k = T::c(2.0) * dot(out, v);
        for (o, &u) in out.iter_mut().zip(v) {
            *o = u - k * *o;
        }
    }
    /// Row-wise Householder form (`sphere_batch`); rows with $p + q \approx 0$ use
    /// `transport_into`.
    #[track_caller]
    fn transport_batch_into(&self, ps: &[T], qs: &[T], vs: &[T], outs: &mut [T]) {
        sphere_batch::transport(self, ps, qs, vs, outs)
    }
}

impl<T: Real> ConstantCurvature for Sphere<T> {
    /// 1.
    fn curvature(&self) -> T {
        T::one()
    }
}

impl<T: Real> Sample for Sphere<T> {
    /// Uniform: $z \sim \mathcal N(0, I_{n+1})$, $x = z/\lVert z\rVert$.
    ///
    /// # Panics
    /// If `out` does not have `n + 1` entries.
    #[track_caller]
    fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        expect_dim(out.len(), self.n + 1, "Sphere::sample_base_into: out");
        loop {
            for o in out.iter_mut() {
                *o = T::standard_normal(rng);
            }
            let r = norm(out);
            if r > T::zero() {
                for o in out.iter_mut() {
                    *o /= r;
                }
                return;
            }
        }
    }
    /// $-\log\lvert S^n\rvert = \log\Gamma(\tfrac{n+1}2) - \log 2 - \tfrac{n+1}2\log\pi$
    /// (constant).
    fn base_log_density(&self, _p: &[T]) -> T {
        T::c(-self.log_area)
    }
}

/// Derivatives of the formulas as implemented, in ambient coordinates, with `p` (and `q`, `v`)
/// taken as given; the derivations are in `docs/math/sphere.md`. In particular
/// $\partial_p \exp_p(v)\\,\dot p = \cos\lVert v\rVert\\,\dot p$ (no projection of $v$ or $p$),
/// and $\log_p q$ is invariant under positive rescaling of $p$ and of $q$, so its Jacobians
/// annihilate the normal directions.
impl<T: Real> Differentiable for Sphere<T> {
    /// $\cos r\\,\dot p + \operatorname{sinc} r\\,\dot v + \langle v, \dot v\rangle\big(\frac{\operatorname{sinc}'r}{r}v - \operatorname{sinc} r\\,p\big)$, $r = \lVert v\rVert$.
    fn exp_jvp(&self, p: &[T], v: &[T], dp: &[T], dv: &[T], out: &mut [T]) {
        let r = norm(v);
        let (c, s, ds) = (r.cos(), sinc(r), sinc_prime_over_x(r));
        let vdv = dot(v, dv);
        let (kv, kp) = (ds * vdv, s * vdv);
        for i in 0..out.len() {
            out[i] = c * dp[i] + s * dv[i] + kv * v[i] - kp * p[i];
        }
    }
    fn exp_vjp(&self, p: &[T], v: &[T], g: &[T], gp: &mut [T], gv: &mut [T]) {
        let r = norm(v);
        let (c, s, ds) = (r.cos(), sinc(r), sinc_prime_over_x(r));
        let k = ds * dot(g, v) - s * dot(g, p);
        for i in 0..g.len() {
            gp[i] += c * g[i];
            gv[i] += s * g[i] + k * v[i];
        }
    }
    /// $k(\dot q - c\\,\dot p) + (\alpha\langle w,\dot q\rangle + \beta\langle w,\dot p\rangle - \langle p,\dot q\rangle)\\,w
    /// \- k(\langle w,\dot p\rangle + \langle p, \dot q - c\\,\dot p\rangle)\\,p$
    /// with $c = \cos\theta$, $k = \theta/\sin\theta$, $\alpha = (c - k)/\sin^2\theta$,
    /// $\beta = (kc - 1)/\sin^2\theta$ (series-safe). At $p = q$ it is $P_p(\dot q - \dot p)$.
    fn log_jvp(&self, p: &[T], q: &[T], dp: &[T], dq: &[T], out: &mut [T]) {
        let lp = LogParts::new(p, q);
        let (c, k, alpha, beta) = log_coeffs(p, q, &lp);
        let (mut wdq, mut wdp, mut pdq, mut pdp) = (T::zero(), T::zero(), T::zero(), T::zero());
        for i in 0..p.len() {
            let w = lp.w(p[i], q[i]);
            out[i] = w;
            wdq += w * dq[i];
            wdp += w * dp[i];
            pdq += p[i] * dq[i];
            pdp += p[i] * dp[i];
        }
        let a = alpha * wdq + beta * wdp - pdq;
        let b = k * (wdp + pdq - c * pdp);
        for i in 0..p.len() {
            out[i] = k * (dq[i] - c * dp[i]) + a * out[i] - b * p[i];
        }
    }
    fn log_vjp(&self, p: &[T], q: &[T], g: &[T], gp: &mut [T], gq: &mut [T]) {
        let lp = LogParts::new(p, q);
        let (c, k, alpha, beta) = log_coeffs(p, q, &lp);
        let (mut gw, mut gpp) = (T::zero(), T::zero());
        for i in 0..p.len() {
            gw += g[i] * lp.w(p[i], q[i]);
            gpp += g[i] * p[i];
        }
        let kc = k * c;
        // gq += k g + (α⟨g,w⟩) w − (⟨g,w⟩ + k⟨g,p⟩) p
        // gp += −kc g + (β⟨g,w⟩ − k⟨g,p⟩) w + kc⟨g,p⟩ p
        let (qw, qp) = (alpha * gw, gw + k * gpp);
        let (pw, pp) = (beta * gw - k * gpp, kc * gpp);
        for i in 0..p.len() {
            let w = lp.w(p[i], q[i]);
            gq[i] += k * g[i] + qw * w - qp * p[i];
            gp[i] += -kc * g[i] + pw * w + pp * p[i];
        }
    }
    /// $-\langle \hat w, \dot p\rangle + \langle \cos\theta\\,\hat w - \sin\theta\\,p, \dot q\rangle$
    /// with $\hat w = w/\lVert w\rVert$; the zero subgradient when $w = 0$ ($p = q$ or exact
    /// antipodes).
    fn dist_jvp(&self, p: &[T], q: &[T], dp: &[T], dq: &[T]) -> T {
        let lp = LogParts::new(p, q);
        let (mut ww, mut wdp, mut wdq, mut pdq) = (T::zero(), T::zero(), T::zero(), T::zero());
        for i in 0..p.len() {
            let w = lp.w(p[i], q[i]);
            ww += w * w;
            wdp += w * dp[i];
            wdq += w * dq[i];
            pdq += p[i] * dq[i];
        }
        let s = ww.sqrt();
        if s.is_nan() || s <= T::zero() {
            return T::zero();
        }
        (lp.theta.cos() * wdq - wdp) / s - lp.theta.sin() * pdq
    }
    fn dist_vjp(&self, p: &[T], q: &[T], g: T, gp: &mut [T], gq: &mut [T]) {
        let lp = LogParts::new(p, q);
        let mut ww = T::zero();
        for i in 0..p.len() {
            let w = lp.w(p[i], q[i]);
            ww += w * w;
        }
        let s = ww.sqrt();
        if s.is_nan() || s <= T::zero() {
            return;
        }
        let kw = g / s;
        let (qw, qp) = (kw * lp.theta.cos(), g * lp.theta.sin());
        for i in 0..p.len() {
            let w = lp.w(p[i], q[i]);
            gp[i] -= kw * w;
            gq[i] += qw * w - qp * p[i];
        }
    }
    /// $\langle \dot u, v\rangle + \langle u, \dot v\rangle$ (the metric does not depend on $p$).
    fn inner_jvp(&self, _p: &[T], u: &[T], v: &[T], _dp: &[T], du: &[T], dv: &[T]) -> T {
        dot(du, v) + dot(u, dv)
    }
    fn inner_vjp(
        &self,
        _p: &[T],
        u: &[T],
        v: &[T],
        g: T,
        _gp: &mut [T],
        gu: &mut [T],
        gv: &mut [T],
    ) {
        for i in 0..u.len() {
            gu[i] += g * v[i];
            gv[i] += g * u[i];
        }
    }
    /// $\dot u - (\langle \dot p, u\rangle + \langle p, \dot u\rangle)\\,p - \langle p, u\rangle\\,\dot p$.
    fn project_tangent_jvp(&self, p: &[T], u: &[T], dp: &[T], du: &[T], out: &mut [T]) {
        let a = dot(p, u);
        let b = dot(dp, u) + dot(p, du);
        for i in 0..out.len() {
            out[i] = du[i] - b * p[i] - a * dp[i];
        }
    }
    /// `gu += g − ⟨g,p⟩p`, `gp += −⟨g,p⟩u − ⟨p,u⟩g`.
    fn project_tangent_vjp(&self, p: &[T], u: &[T], g: &[T], gp: &mut [T], gu: &mut [T]) {
        let (a, gpp) = (dot(p, u), dot(g, p));
        for i in 0..g.len() {
            gu[i] += g[i] - gpp * p[i];
            gp[i] -= gpp * u[i] + a * g[i];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// von Mises–Fisher
// ---------------------------------------------------------------------------------------------

/// Below this concentration the normaliser uses the power series of $I_\nu$; above, the uniform
/// (Debye) asymptotic expansion with four correction terms, whose truncation error is below
/// $10^{-13}$ there (next term $\sim u_5/(\nu^2+\kappa^2)^{5/2}$).
const VMF_SERIES_MAX_KAPPA: f64 = 500.0;

/// $\log I_\nu(\kappa) - \nu\log(\kappa/2) + \log\Gamma(\nu+1)$, i.e. $\log\sum_k \frac{(\kappa^2/4)^k}{k!\\,(\nu+1)\_k}$
/// (all terms positive: accurate to a few hundred ulps; used for $\kappa \le 500$).
fn log_bessel_series_scaled(nu: f64, kappa: f64) -> f64 {
    let y = 0.25 * kappa * kappa;
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    let mut k = 0.0f64;
    loop {
        k += 1.0;
        term *= y / (k * (nu + k));
        sum += term;
        if term < 1e-17 * sum || k > 10_000.0 {
            break;
        }
    }
    sum.ln()
}

/// Debye's uniform expansion (DLMF 10.41.3, A&S 9.3.9): with $R = \sqrt{\nu^2+\kappa^2}$,
/// $p = \nu/R$, $\log I_\nu(\kappa) = R + \nu\log\frac{\kappa}{\nu+R} - \tfrac12\log(2\pi R) + \log\sum_{k=0}^4 \frac{u_k(p)}{\nu^k}$,
/// with $u_k(p)/\nu^k = P_k(p^2)/R^k$ so that $\nu = 0$ is fine. Returns the pieces
/// $(R, \log\text{sum})$.
fn debye_parts(nu: f64, kappa: f64) -> (f64, f64) {
    let r = nu.hypot(kappa);
    let p2 = (nu / r) * (nu / r);
    let u1 = (3.0 - 5.0 * p2) / 24.0;
    let u2 = (81.0 - 462.0 * p2 + 385.0 * p2 * p2) / 1152.0;
    let u3 = horner::<f64>(p2, &[30375.0, -369603.0, 765765.0, -425425.0]) / 414720.0;
    let u4 = horner::<f64>(
        p2,
        &[
            4465125.0,
            -94121676.0,
            349922430.0,
            -446185740.0,
            185910725.0,
        ],
    ) / 39813120.0;
    let x = 1.0 / r;
    let sum = 1.0 + x * (u1 + x * (u2 + x * (u3 + x * u4)));
    (r, sum.ln())
}

/// $\log I_\nu(\kappa)$ for $\nu \ge 0$, $\kappa > 0$ (series below 500, Debye above); absolute
/// error below about $10^{-13}\max(1, \log I_\nu)$.
#[cfg(test)]
fn log_bessel_i(nu: f64, kappa: f64) -> f64 {
    if kappa <= VMF_SERIES_MAX_KAPPA {
        nu * (0.5 * kappa).ln() - ln_gamma_f64(nu + 1.0) + log_bessel_series_scaled(nu, kappa)
    } else {
        let (r, ls) = debye_parts(nu, kappa);
        r + nu * (kappa / (nu + r)).ln() - 0.5 * (2.0 * core::f64::consts::PI * r).ln() + ls
    }
}

/// $\log\Gamma(x)$ for $x = m/2$, $m$ a positive integer (the only arguments used here).
fn ln_gamma_f64(x: f64) -> f64 {
    ln_gamma_half((2.0 * x).round() as usize)
}

/// $\log C_m(\kappa) + \kappa$ for the vMF density $C_m(\kappa)e^{\kappa\mu^\top x}$ on
/// $S^{m-1}\subset\mathbb R^m$, $\nu = m/2 - 1$:
/// $\log C_m = \nu\log\kappa - \tfrac m2\log 2\pi - \log I_\nu(\kappa)$. Adding $\kappa$ removes
/// the large cancelling terms, so the log-density $\log C_m + \kappa + \kappa(\mu^\top x - 1)$
/// keeps its absolute accuracy at large $\kappa$.
pub(crate) fn vmf_log_norm_plus_kappa(m: usize, kappa: f64) -> f64 {
    use core::f64::consts::PI;
    let nu = 0.5 * m as f64 - 1.0;
    let half_m_log_2pi = 0.5 * m as f64 * (2.0 * PI).ln();
    if m == 3 {
        // log(κ / (4π sinh κ)) + κ, stable for every κ.
        return if kappa < 1.0 {
            crate::numerics::x_over_sinh(kappa).ln() - (4.0 * PI).ln() + kappa
        } else {
            kappa.ln() - (2.0 * PI).ln() - (-(-2.0 * kappa).exp()).ln_1p()
        };
    }
    vmf_log_norm_plus_kappa_general(nu, half_m_log_2pi, kappa)
}

/// The general-$\nu$ path of [`vmf_log_norm_plus_kappa`] (also used to test it at $m = 3$).
fn vmf_log_norm_plus_kappa_general(nu: f64, half_m_log_2pi: f64, kappa: f64) -> f64 {
    if kappa <= VMF_SERIES_MAX_KAPPA {
        // ν log κ − ν log(κ/2) + lnΓ(ν+1) − log S = ν log 2 + lnΓ(ν+1) − log S.
        nu * core::f64::consts::LN_2 + ln_gamma_f64(nu + 1.0)
            - half_m_log_2pi
            - log_bessel_series_scaled(nu, kappa)
            + kappa
    } else {
        // ν log κ − R − ν log(κ/(ν+R)) + ½log(2πR) − log Σ + κ
        //   = ν log(ν+R) − ν²/(R+κ) + ½log(2πR) − log Σ.
        let (r, ls) = debye_parts(nu, kappa);
        let log_nu_r = if nu > 0.0 { nu * (nu + r).ln() } else { 0.0 };
        log_nu_r - nu * nu / (r + kappa) + 0.5 * (2.0 * core::f64::consts::PI * r).ln()
            - ls
            - half_m_log_2pi
    }
}

/// The von Mises–Fisher distribution on $S^{m-1}\subset\mathbb R^m$ ($m \ge 2$ = the ambient
/// dimension = `mu.len()`): density $C_m(\kappa)\exp(\kappa\\,\mu^\top x)$ with respect to the
/// surface measure, $C_m(\kappa) = \frac{\kappa^{\nu}}{(2\pi)^{m/2} I_\nu(\kappa)}$, $\nu = m/2 - 1$.
///
/// - Sampling: Wood's (1994) rejection algorithm[^wood] (exact, no approximation), computed in
///   f64 and rounded to `T`.
/// - Normaliser: exact closed form $\kappa/(4\pi\sinh\kappa)$ on $S^2$ (evaluated as
///   $\log\kappa - \log 2\pi - \kappa - \log(1 - e^{-2\kappa})$); for other $m$,
///   $\log I_\nu$ by its power series for $\kappa \le 500$ and Debye's uniform asymptotic
///   expansion (four terms) above. Absolute error of the log-normaliser about $10^{-13}$
///   (measured against quadrature and the $\nu = \tfrac12$ closed form in the tests).
///   $\kappa = 0$ is the uniform distribution.
///
/// [^wood]: A. T. A. Wood, *Simulation of the von Mises Fisher distribution*, Communications in
///   Statistics – Simulation and Computation 23(1), 157–164 (1994),
///   doi:10.1080/03610919408813161.
///
/// ```
/// use geoflow_manifolds::{prelude::*, Sphere, VonMisesFisher};
/// use rand::SeedableRng;
/// let vmf = VonMisesFisher::<f64>::new(&[0.0, 0.0, 1.0], 10.0)?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let mut x = [0.0; 3];
/// vmf.sample_into(&mut rng, &mut x);
/// assert!(Sphere::<f64>::new(2)?.check_point(&x).is_ok());
/// // density at the mode: κ / (2π (1 − e^{−2κ}))
/// let mode = 10.0 / (2.0 * std::f64::consts::PI * (1.0 - (-20.0f64).exp()));
/// assert!((vmf.log_density(&[0.0, 0.0, 1.0]) - mode.ln()).abs() < 1e-13);
/// # Ok::<(), ManifoldError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VonMisesFisher<T> {
    mu: Vec<T>,
    kappa: T,
    log_norm_plus_kappa: f64,
    // Wood's constants: b, x0, c = κ x0 + (m−1) log(1 − x0²), and the Beta((m−1)/2, (m−1)/2) law.
    b: f64,
    x0: f64,
    c: f64,
    beta: rand_distr::Beta<f64>,
}

impl<T: Real> VonMisesFisher<T> {
    /// The vMF law with mean direction `mu` (a unit vector of length $m \ge 2$, within
    /// `T::check_tol()`; it is renormalised) and concentration $\kappa \ge 0$ (finite).
    pub fn new(mu: &[T], kappa: T) -> Result<Self, ManifoldError> {
        let m = mu.len();
        if m < 2 {
            return Err(ManifoldError::InvalidParameter(
                "von Mises-Fisher needs at least 2 ambient coordinates",
            ));
        }
        if !kappa.is_finite() || kappa < T::zero() {
            return Err(ManifoldError::InvalidParameter(
                "von Mises-Fisher concentration must be finite and >= 0",
            ));
        }
        Sphere::<T>::new(m - 1)?.check_point(mu)?;
        let mut unit = vec![T::zero(); m];
        normalise_into(mu, &mut unit);
        let k = kappa.to_f64_lossless();
        let m1 = (m - 1) as f64;
        let b = m1 / (2.0 * k + (4.0 * k * k + m1 * m1).sqrt());
        let x0 = (1.0 - b) / (1.0 + b);
        let c = k * x0 + m1 * (1.0 - x0 * x0).ln();
        let beta = rand_distr::Beta::new(0.5 * m1, 0.5 * m1)
            .map_err(|_| ManifoldError::InvalidParameter("von Mises-Fisher: bad Beta law"))?;
        Ok(Self {
            mu: unit,
            kappa,
            log_norm_plus_kappa: vmf_log_norm_plus_kappa(m, k),
            b,
            x0,
            c,
            beta,
        })
    }

    /// The mean direction $\mu$.
    pub fn mean_direction(&self) -> &[T] {
        &self.mu
    }

    /// The concentration $\kappa$.
    pub fn concentration(&self) -> T {
        self.kappa
    }

    /// $\log C_m(\kappa)$, the log of the normalising constant.
    pub fn log_normaliser(&self) -> T {
        T::c(self.log_norm_plus_kappa - self.kappa.to_f64_lossless())
    }

    /// $\log C_m(\kappa) + \kappa\\,\mu^\top x$, evaluated as
    /// $(\log C_m + \kappa) - \tfrac\kappa2\lVert x - \mu\rVert^2$ (equal for unit `x`, and exact
    /// near the mode at any $\kappa$).
    ///
    /// # Panics
    /// If `x.len() != m`.
    #[track_caller]
    pub fn log_density(&self, x: &[T]) -> T {
        expect_dim(x.len(), self.mu.len(), "VonMisesFisher::log_density: x");
        let d2 = crate::numerics::dist2(x, &self.mu);
        T::c(self.log_norm_plus_kappa) - T::c(0.5) * self.kappa * d2
    }

    /// Draws one point by Wood's algorithm: $W = \mu^\top x$ by rejection from a Beta proposal,
    /// then $x = W\mu + \sqrt{1 - W^2}\\,\xi$ with $\xi$ uniform on the unit sphere of $\mu^\perp$.
    ///
    /// # Panics
    /// If `out.len() != m`.
    #[track_caller]
    pub fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        use rand_distr::Distribution;
        expect_dim(out.len(), self.mu.len(), "VonMisesFisher::sample_into: out");
        let k = self.kappa.to_f64_lossless();
        let m1 = (self.mu.len() - 1) as f64;
        let (w, one_minus_w) = loop {
            let z: f64 = self.beta.sample(rng);
            let u = f64::uniform01(rng);
            let den = 1.0 - (1.0 - self.b) * z;
            let w = (1.0 - (1.0 + self.b) * z) / den;
            let one_minus_w = 2.0 * self.b * z / den;
            if k * w + m1 * (1.0 - self.x0 * w).ln() - self.c >= u.ln() {
                break (w, one_minus_w);
            }
        };
        let r = (one_minus_w * (2.0 - one_minus_w)).max(0.0).sqrt();
        // ξ: a Gaussian projected onto μ⊥, normalised.
        loop {
            for o in out.iter_mut() {
                *o = T::standard_normal(rng);
            }
            let a = dot(out, &self.mu);
            for (o, &x) in out.iter_mut().zip(&self.mu) {
                *o -= a * x;
            }
            let n = norm(out);
            if n > T::zero() {
                let (tw, tr) = (T::c(w), T::c(r) / n);
                for (o, &x) in out.iter_mut().zip(&self.mu) {
                    *o = tw * x + tr * *o;
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManifoldExt;
    use core::f64::consts::{FRAC_PI_2, PI};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }
    fn nrm(a: &[f64]) -> f64 {
        a.iter().map(|x| x * x).sum::<f64>().sqrt()
    }
    fn sub(a: &[f64], b: &[f64]) -> Vec<f64> {
        a.iter().zip(b).map(|(x, y)| x - y).collect()
    }
    fn axpy(a: &[f64], k: f64, b: &[f64]) -> Vec<f64> {
        a.iter().zip(b).map(|(x, y)| x + k * y).collect()
    }
    fn rel(a: &[f64], b: &[f64]) -> f64 {
        nrm(&sub(a, b)) / nrm(b).max(1e-300)
    }
    fn gauss(r: &mut ChaCha8Rng, d: usize) -> Vec<f64> {
        (0..d).map(|_| f64::standard_normal(r)).collect()
    }
    fn unit(r: &mut ChaCha8Rng, d: usize) -> Vec<f64> {
        let g = gauss(r, d);
        let n = nrm(&g);
        g.iter().map(|x| x / n).collect()
    }
    /// A unit vector orthogonal to `p` (Gram–Schmidt twice).
    fn unit_tangent(r: &mut ChaCha8Rng, p: &[f64]) -> Vec<f64> {
        let mut u = gauss(r, p.len());
        for _ in 0..2 {
            let a = dot(&u, p);
            u = axpy(&u, -a, p);
        }
        let n = nrm(&u);
        u.iter().map(|x| x / n).collect()
    }
    /// p, u orthonormal; q = cos θ p + sin θ u.
    fn at_angle(p: &[f64], u: &[f64], th: f64) -> Vec<f64> {
        p.iter()
            .zip(u)
            .map(|(a, b)| th.cos() * a + th.sin() * b)
            .collect()
    }
    fn to32(a: &[f64]) -> Vec<f32> {
        a.iter().map(|&x| x as f32).collect()
    }
    fn to64(a: &[f32]) -> Vec<f64> {
        a.iter().map(|&x| x as f64).collect()
    }

    // ---------------------------------------------------------------- closed forms, checks

    fn closed_forms_for<T: Real>(tol: f64) {
        let s = Sphere::<T>::new(2).unwrap();
        let (z, one) = (T::zero(), T::one());
        let c = |x: f64| T::c(x);
        let close = |a: &[T], b: &[f64]| {
            let a: Vec<f64> = a.iter().map(|x| x.to_f64_lossless()).collect();
            assert!(nrm(&sub(&a, b)) <= tol * nrm(b).max(1.0), "{a:?} vs {b:?}");
        };
        let p = [z, z, one];
        let q = [one, z, z];
        assert!((s.dist(&p, &q).to_f64_lossless() - FRAC_PI_2).abs() < tol);
        close(&s.log(&p, &q), &[FRAC_PI_2, 0.0, 0.0]);
        close(&s.exp(&p, &s.log(&p, &q)), &[1.0, 0.0, 0.0]);
        let h = 0.5f64.sqrt();
        close(&s.geodesic(&p, &q, c(0.5)), &[h, 0.0, h]);
        close(&s.geodesic(&p, &q, z), &[0.0, 0.0, 1.0]);
        close(&s.geodesic(&p, &q, one), &[1.0, 0.0, 0.0]);
        let t = 0.3;
        let a = t * FRAC_PI_2;
        close(
            &s.geodesic_velocity(&p, &q, c(t)),
            &[FRAC_PI_2 * a.cos(), 0.0, -FRAC_PI_2 * a.sin()],
        );
        // transport of e0 from e2 to e0 along the quarter circle is −e2
        close(&s.transport(&p, &q, &[one, z, z]), &[0.0, 0.0, -1.0]);
        close(&s.transport(&p, &q, &[z, one, z]), &[0.0, 1.0, 0.0]);
        // exp with a 3-4-5 vector: cos 5 p + sin5/5 v
        let v = [c(3.0), c(4.0), z];
        let (c5, s5) = (5f64.cos(), 5f64.sin() / 5.0);
        close(&s.exp(&p, &v), &[3.0 * s5, 4.0 * s5, c5]);
        close(&s.project_point(&[c(3.0), z, c(4.0)]), &[0.6, 0.0, 0.8]);
        close(&s.project_point(&[z, z, z]), &[1.0, 0.0, 0.0]);
        close(&s.project_tangent(&p, &[one, one, one]), &[1.0, 1.0, 0.0]);
        close(
            &s.retract(&p, &[one, z, z]),
            &[0.5f64.sqrt(), 0.0, 0.5f64.sqrt()],
        );
        close(&s.retract(&p, &[z, z, -one]), &[1.0, 0.0, 0.0]);
        assert_eq!(s.injectivity_radius(), T::PI());
        assert_eq!(s.curvature(), one);
        assert_eq!(s.dim(), 2);
        assert_eq!(s.ambient_dim(), 3);
        assert!((s.norm(&p, &v).to_f64_lossless() - 5.0).abs() < tol * 5.0);
        assert!((s.inner(&p, &v, &v).to_f64_lossless() - 25.0).abs() < tol * 25.0);
        // checks
        assert!(Sphere::<T>::new(0).is_err());
        assert!(s.check_point(&p).is_ok());
        assert!(matches!(
            s.check_point(&[z, one]),
            Err(ManifoldError::DimensionMismatch {
                expected: 3,
                got: 2
            })
        ));
        assert_eq!(
            s.check_point(&[T::nan(), z, one]),
            Err(ManifoldError::NonFinite)
        );
        let tol_c = T::check_tol();
        assert!(s.check_point(&[z, z, one + tol_c * c(0.5)]).is_ok());
        match s.check_point(&[z, z, one + tol_c * c(4.0)]) {
            Err(ManifoldError::NotOnManifold { residual, tol }) => {
                assert!((residual / tol - 4.0).abs() < 0.01, "{residual} {tol}")
            }
            e => panic!("{e:?}"),
        }
        assert!(s.check_tangent(&p, &[one, c(-2.0), z]).is_ok());
        assert!(s.check_tangent(&p, &[c(1e3), z, tol_c * c(500.0)]).is_ok());
        assert!(matches!(
            s.check_tangent(&p, &[one, z, tol_c * c(2.0)]),
            Err(ManifoldError::NotTangent { .. })
        ));
        assert_eq!(
            s.check_tangent(&p, &[one, T::infinity(), z]),
            Err(ManifoldError::NonFinite)
        );
    }

    #[test]
    fn closed_forms_f32_f64() {
        closed_forms_for::<f32>(1e-6);
        closed_forms_for::<f64>(1e-15);
    }

    #[test]
    fn base_density_and_ln_gamma() {
        // ln Γ(m/2) against known values.
        assert_eq!(ln_gamma_half(2), 0.0);
        assert!((ln_gamma_half(1) - 0.5 * PI.ln()).abs() < 1e-15);
        assert!((ln_gamma_half(3) - (0.5 * PI.sqrt()).ln()).abs() < 1e-15);
        assert!((ln_gamma_half(10) - 24f64.ln()).abs() < 1e-14);
        assert!((ln_gamma_half(7) - (15.0 / 8.0 * PI.sqrt()).ln()).abs() < 1e-14);
        let x = [1.0, 0.0, 0.0];
        let s2 = Sphere::<f64>::new(2).unwrap();
        assert!((s2.base_log_density(&x) + (4.0 * PI).ln()).abs() < 1e-15);
        let s1 = Sphere::<f64>::new(1).unwrap();
        assert!((s1.base_log_density(&x[..2]) + (2.0 * PI).ln()).abs() < 1e-15);
        let s3 = Sphere::<f32>::new(3).unwrap();
        let l = s3.base_log_density(&[1.0, 0.0, 0.0, 0.0]) as f64;
        assert!((l + (2.0 * PI * PI).ln()).abs() < 1e-6);
        // S^4: area 8π²/3
        let s4 = Sphere::<f64>::new(4).unwrap();
        assert!((s4.log_area() - (8.0 * PI * PI / 3.0).ln()).abs() < 1e-14);
    }

    #[test]
    fn base_sampler_is_uniform_enough() {
        for n in [1usize, 2, 5] {
            let s = Sphere::<f64>::new(n).unwrap();
            let d = n + 1;
            let mut r = rng(n as u64);
            let k = 20000;
            let (mut m1, mut m2) = (vec![0.0; d], vec![0.0; d]);
            for _ in 0..k {
                let x = s.sample_base(&mut r);
                assert!(s.check_point(&x).is_ok());
                for i in 0..d {
                    m1[i] += x[i] / k as f64;
                    m2[i] += x[i] * x[i] / k as f64;
                }
            }
            // E x = 0 (sd 1/sqrt(k d)), E x_i² = 1/d.
            for i in 0..d {
                assert!(m1[i].abs() < 0.03, "{n}: {m1:?}");
                assert!((m2[i] - 1.0 / d as f64).abs() < 0.02, "{n}: {m2:?}");
            }
        }
        let s = Sphere::<f32>::new(3).unwrap();
        let x = s.sample_base(&mut rng(1));
        assert!(s.check_point(&x).is_ok());
    }

    // ---------------------------------------------------------------- cut locus

    fn cut_locus_for<T: Real>() {
        let s = Sphere::<T>::new(2).unwrap();
        let (z, one) = (T::zero(), T::one());
        let p = [one, z, z];
        let q = [-one, z, z];
        let mut out = [z; 3];
        assert_eq!(
            s.try_log_into(&p, &q, &mut out),
            Err(ManifoldError::CutLocus)
        );
        // deterministic choice: e_1 (first index of min |p_j|), length π
        assert_eq!(s.log(&p, &q), out.to_vec());
        assert!((out[1] - T::PI()).abs() <= T::epsilon() * T::c(4.0));
        assert!(out[0] == z && out[2] == z);
        // generic p: finite, tangent, norm π
        let r = T::c(3f64.sqrt()).recip();
        let p = [r, -r, r];
        let q = [-r, r, -r];
        let l = s.log(&p, &q);
        assert!(l.iter().all(|x| x.is_finite()));
        assert!(dot(&l, &p).abs() < T::c(1e-6));
        assert!((norm(&l) - T::PI()).abs() < T::c(1e-6));
        // geodesic / velocity / transport at the cut locus follow the same choice
        let g = s.geodesic(&p, &q, one);
        assert!(g.iter().zip(&q).all(|(a, b)| (*a - *b).abs() < T::c(1e-6)));
        let v = s.geodesic_velocity(&p, &q, z);
        assert!(v.iter().zip(&l).all(|(a, b)| (*a - *b).abs() < T::c(1e-6)));
        let e: Vec<T> = l.iter().map(|&x| x / T::PI()).collect();
        let te = s.transport(&p, &q, &e);
        assert!(te.iter().zip(&e).all(|(a, b)| (*a + *b).abs() < T::c(1e-6)));
        // both sides of CUT_LOCUS_TOL (sin θ = ‖w‖)
        let tol = T::pick(CUT_LOCUS_TOL).to_f64_lossless();
        let p = [one, z, z];
        for (f, ok) in [(2.0, true), (0.5, false)] {
            let sn = tol * f;
            let q = [T::c(-(1.0 - sn * sn).sqrt()), T::c(sn), z];
            let res = s.try_log_into(&p, &q, &mut out);
            assert_eq!(res.is_ok(), ok, "sinθ = {sn:e}");
            // log_into still uses the true direction
            assert!((out[1] - T::PI()).abs() < T::c(1e-5) && out[1] > z);
        }
        // π − 1e-6 is accepted in both precisions
        let d: f64 = 1e-6;
        let q = [T::c(-d.cos()), T::c(d.sin()), z];
        assert!(s.try_log_into(&p, &q, &mut out).is_ok());
    }

    #[test]
    fn cut_locus_policy_f32_f64() {
        cut_locus_for::<f32>();
        cut_locus_for::<f64>();
    }

    // ---------------------------------------------------------------- accuracy

    /// Axis-aligned configurations (exactly representable up to the rounding of cos/sin):
    /// p = e0, q = (cos θ, sin θ, 0); reference θ = atan2(q1, q0) of the rounded q.
    fn axis_accuracy<T: Real>(tol: f64) {
        let s = Sphere::<T>::new(2).unwrap();
        let z = T::zero();
        let p = [T::one(), z, z];
        let mut thetas: Vec<f64> = (0..=24)
            .map(|i| 1e-12 * 10f64.powf(i as f64 * 0.5))
            .collect();
        thetas.extend([
            1e-10,
            0.5,
            1.0 - 1e-9,
            1.0 + 1e-9,
            FRAC_PI_2 - 1e-9,
            FRAC_PI_2 + 1e-9,
            2.0,
            3.0,
            PI - 1e-3,
            PI - 1e-5,
            PI - 1e-6,
        ]);
        for &th in &thetas {
            let q = [T::c(th.cos()), T::c(th.sin()), z];
            let (q0, q1) = (q[0].to_f64_lossless(), q[1].to_f64_lossless());
            let th_ref = q1.atan2(q0);
            let d = s.dist(&p, &q).to_f64_lossless();
            assert!(
                (d - th_ref).abs() <= tol * th_ref,
                "dist θ={th:e}: {d} vs {th_ref}"
            );
            let l: Vec<f64> = s.log(&p, &q).iter().map(|x| x.to_f64_lossless()).collect();
            assert!(
                rel(&l, &[0.0, th_ref, 0.0]) <= tol,
                "log θ={th:e}: {l:?} vs {th_ref}"
            );
            for t in [0.0, 0.25, 0.5, 0.9, 1.0] {
                let a = t * th_ref;
                let g: Vec<f64> = s
                    .geodesic(&p, &q, T::c(t))
                    .iter()
                    .map(|x| x.to_f64_lossless())
                    .collect();
                assert!(
                    nrm(&sub(&g, &[a.cos(), a.sin(), 0.0])) <= 2.0 * tol,
                    "geodesic θ={th:e} t={t}: {g:?}"
                );
                if t > 0.0 {
                    // relative to the sin component, which is what carries the information
                    assert!(
                        (g[1] - a.sin()).abs() <= 2.0 * tol * a.sin(),
                        "geodesic θ={th:e} t={t}: {} vs {}",
                        g[1],
                        a.sin()
                    );
                }
                let v: Vec<f64> = s
                    .geodesic_velocity(&p, &q, T::c(t))
                    .iter()
                    .map(|x| x.to_f64_lossless())
                    .collect();
                let v_ref = [-th_ref * a.sin(), th_ref * a.cos(), 0.0];
                assert!(
                    rel(&v, &v_ref) <= 2.0 * tol,
                    "velocity θ={th:e} t={t}: {v:?} vs {v_ref:?}"
                );
            }
        }
        // exp: p = e0, v = r e1 → (cos r, sin r, 0); and log(exp) = v for r < π
        for i in 0..=26 {
            let r = 1e-12 * 10f64.powf(i as f64 * 0.5);
            for r in [r, 1.0 - 1e-9, 1.0 + 1e-9, 3.0, PI - 1e-6] {
                let v = [z, T::c(r), z];
                let r = v[1].to_f64_lossless();
                let e: Vec<f64> = s.exp(&p, &v).iter().map(|x| x.to_f64_lossless()).collect();
                assert!(rel(&e, &[r.cos(), r.sin(), 0.0]) <= tol, "exp r={r:e}");
                assert!((e[1] - r.sin()).abs() <= tol * r.sin().abs(), "exp r={r:e}");
            }
        }
    }

    #[test]
    fn accuracy_axis_aligned_f64() {
        axis_accuracy::<f64>(1e-14);
    }

    #[test]
    fn accuracy_axis_aligned_f32() {
        axis_accuracy::<f32>(4e-7);
    }

    /// Generic orientation in S⁴: the inputs carry ~1e-16 rounding, so the attainable accuracy
    /// is backward: |error| ≤ 1e-12 θ + c·ε/sin θ. Also log∘exp, exp∘log, ‖log‖ = dist and the
    /// four velocity forms.
    #[test]
    fn accuracy_generic_frames_f64() {
        let s = Sphere::<f64>::new(4).unwrap();
        let mut r = rng(11);
        for _ in 0..20 {
            let p = unit(&mut r, 5);
            let u = unit_tangent(&mut r, &p);
            for th in [
                1e-12,
                1e-10,
                1e-6,
                1e-3,
                0.3,
                1.0,
                FRAC_PI_2,
                2.5,
                PI - 1e-3,
                PI - 1e-6,
            ] {
                let v: Vec<f64> = u.iter().map(|x| th * x).collect();
                let q = s.exp(&p, &v);
                let bound = 1e-12 * th + 1e-15 * (1.0 + 1.0 / th.sin());
                let l = s.log(&p, &q);
                assert!(
                    nrm(&sub(&l, &v)) <= bound,
                    "θ={th:e}: {:e}",
                    nrm(&sub(&l, &v))
                );
                assert!((s.dist(&p, &q) - th).abs() <= bound);
                assert!((nrm(&l) - s.dist(&p, &q)).abs() <= 1e-15 * th.max(1e-300) * 4.0);
                let e = s.exp(&p, &l);
                assert!(nrm(&sub(&e, &q)) <= 1e-15);
                if th > 1e-6 && th < 3.0 {
                    for t in [0.2, 0.7] {
                        let x = s.geodesic(&p, &q, t);
                        let vel = s.geodesic_velocity(&p, &q, t);
                        let f3 = s
                            .log(&x, &q)
                            .iter()
                            .map(|y| y / (1.0 - t))
                            .collect::<Vec<_>>();
                        let f4 = s.log(&x, &p).iter().map(|y| -y / t).collect::<Vec<_>>();
                        let f2 = s.transport(&p, &x, &l);
                        for f in [f2, f3, f4] {
                            assert!(rel(&vel, &f) < 1e-12, "θ={th} t={t}");
                        }
                        // γ(t) = exp_p(t log_p q)
                        let tl: Vec<f64> = l.iter().map(|y| t * y).collect();
                        assert!(nrm(&sub(&x, &s.exp(&p, &tl))) < 1e-15);
                    }
                }
            }
        }
    }

    #[test]
    fn points_1e10_apart_and_pi_minus_1e6() {
        // exactly representable directions: p = e0 scaled frame with permutations and signs
        let s = Sphere::<f64>::new(3).unwrap();
        for (th, dir) in [(1e-10, 1usize), (1e-10, 3), (PI - 1e-6, 2)] {
            let p = [0.0, 0.0, 0.0, -1.0];
            let mut q = [0.0; 4];
            q[3] = -th.cos();
            q[dir - 1] = th.sin();
            let th_ref = q[dir - 1].atan2(-q[3]);
            let l = s.log(&p, &q);
            assert!((l[dir - 1] - th_ref).abs() <= 1e-15 * th_ref, "{l:?}");
            assert!((s.dist(&p, &q) - th_ref).abs() <= 1e-15 * th_ref);
            let m = s.geodesic(&p, &q, 0.5);
            assert!((m[dir - 1] - (th_ref / 2.0).sin()).abs() <= 1e-15 * (th_ref / 2.0).sin());
            let v = s.geodesic_velocity(&p, &q, 1.0);
            assert!((v[dir - 1] - th_ref * th_ref.cos()).abs() <= 1e-15 * th_ref);
            // transport is isometric and finite
            let w = [0.3, -0.2, 0.1, 0.0];
            let tw = s.transport(&p, &q, &w);
            assert!((nrm(&tw) - nrm(&w)).abs() < 1e-15);
            assert!(dot(&tw, &q).abs() < 1e-15 * (1.0 + 1.0 / (PI - th)));
        }
    }

    #[test]
    fn transport_laws_and_antipodes() {
        let s = Sphere::<f64>::new(3).unwrap();
        let mut r = rng(5);
        for th in [1e-8, 0.5, 2.0, PI - 1e-6, PI - 1e-9] {
            let p = unit(&mut r, 4);
            let u = unit_tangent(&mut r, &p);
            let q = at_angle(&p, &u, th);
            let v = unit_tangent(&mut r, &p);
            let w = unit_tangent(&mut r, &p);
            let (tv, tw) = (s.transport(&p, &q, &v), s.transport(&p, &q, &w));
            assert!((dot(&tv, &tw) - dot(&v, &w)).abs() < 1e-14);
            assert!(dot(&tv, &q).abs() < 1e-15 * (4.0 + 1.0 / (PI - th)));
            // log_p q ↦ −log_q p
            let l = s.log(&p, &q);
            let tl = s.transport(&p, &q, &l);
            let back = s.log(&q, &p);
            let tol = 1e-14 + 1e-15 / (PI - th).min(1.0);
            assert!(nrm(&axpy(&tl, 1.0, &back)) <= tol * th.max(1.0), "θ={th:e}");
        }
    }

    #[test]
    fn retraction_is_second_order() {
        let s = Sphere::<f64>::new(2).unwrap();
        let p = [0.6, 0.0, 0.8];
        let v = [0.8, 0.3, -0.6];
        let err = |t: f64| {
            let tv: Vec<f64> = v.iter().map(|x| t * x).collect();
            nrm(&sub(&s.retract(&p, &tv), &s.exp(&p, &tv)))
        };
        let slope = (err(1e-2).ln() - err(1e-3).ln()) / 10f64.ln();
        assert!((slope - 3.0).abs() < 0.05, "slope {slope}");
    }

    #[test]
    fn sin_minus_x_over_x3_scan() {
        fn reference(x: f64) -> f64 {
            // Σ_{k≥1} (−1)^k x^{2k−2}/(2k+1)!, 40 terms
            let mut term = -1.0 / 6.0;
            let mut sum = term;
            for k in 2..40 {
                term *= -x * x / ((2 * k) as f64 * (2 * k + 1) as f64);
                sum += term;
            }
            sum
        }
        let mut xs: Vec<f64> = (0..=400)
            .map(|i| 1e-8 * (6.28e8f64).powf(i as f64 / 400.0))
            .collect();
        for c in [1.0, 2.0] {
            for f in [0.999, 0.99999, 1.0, 1.00001, 1.001] {
                xs.push(c * f);
            }
        }
        let (mut w32, mut w64) = (0f64, 0f64);
        for x in xs {
            let x32 = x as f32;
            let r32 = reference(x32 as f64);
            let r = reference(x);
            w32 = w32.max(((sin_minus_x_over_x3(x32) as f64 - r32) / r32).abs());
            w64 = w64.max(((sin_minus_x_over_x3(x) - r) / r).abs());
        }
        assert!(w32 < 1e-6, "f32 {w32:e}");
        assert!(w64 < 1e-14, "f64 {w64:e}");
        assert_eq!(sin_minus_x_over_x3(0.0f64), -1.0 / 6.0);
    }

    // ---------------------------------------------------------------- derivatives

    type Jvp<'a> = &'a dyn Fn(&[f64], &[f64], &[f64], &[f64]) -> Vec<f64>;
    type Val<'a> = &'a dyn Fn(&[f64], &[f64]) -> Vec<f64>;
    type Vjp<'a> = &'a dyn Fn(&[f64], &[f64], &[f64], &mut [f64], &mut [f64]);

    /// JVP vs central differences (ambient directions) and VJP duality for a two-argument
    /// vector op.
    #[allow(clippy::too_many_arguments)]
    fn check2(
        name: &str,
        f: Val,
        jvp: Jvp,
        vjp: Vjp,
        x: &[f64],
        y: &[f64],
        dx: &[f64],
        dy: &[f64],
        g: &[f64],
        h: f64,
        fd_tol: f64,
    ) {
        let j = jvp(x, y, dx, dy);
        assert!(j.iter().all(|v| v.is_finite()), "{name}: non-finite JVP");
        if h > 0.0 {
            let fp = f(&axpy(x, h, dx), &axpy(y, h, dy));
            let fm = f(&axpy(x, -h, dx), &axpy(y, -h, dy));
            let fd: Vec<f64> = fp
                .iter()
                .zip(&fm)
                .map(|(a, b)| (a - b) / (2.0 * h))
                .collect();
            let e = nrm(&sub(&j, &fd)) / nrm(&fd).max(1e-3);
            assert!(
                e < fd_tol,
                "{name}: JVP vs FD rel err {e:e}\n {j:?}\n {fd:?}"
            );
        }
        let (mut gx, mut gy) = (vec![0.0; x.len()], vec![0.0; y.len()]);
        vjp(x, y, g, &mut gx, &mut gy);
        assert!(
            gx.iter().chain(&gy).all(|v| v.is_finite()),
            "{name}: non-finite VJP"
        );
        let lhs = dot(g, &j);
        let rhs = dot(&gx, dx) + dot(&gy, dy);
        let scale = nrm(g) * nrm(&j) + nrm(&gx) * nrm(dx) + nrm(&gy) * nrm(dy);
        assert!(
            (lhs - rhs).abs() <= 1e-13 * scale.max(1e-300),
            "{name}: duality {lhs} vs {rhs}"
        );
        // VJPs add
        let (mut gx2, mut gy2) = (gx.clone(), gy.clone());
        vjp(x, y, g, &mut gx2, &mut gy2);
        assert!(
            rel(&gx2, &gx.iter().map(|v| 2.0 * v).collect::<Vec<_>>()) < 1e-15 || nrm(&gx) == 0.0
        );
    }

    fn exp_case(s: &Sphere<f64>, p: &[f64], v: &[f64], r: &mut ChaCha8Rng, h: f64) {
        let d = p.len();
        let (dp, dv, g) = (gauss(r, d), gauss(r, d), gauss(r, d));
        check2(
            "exp",
            &|a, b| s.exp(a, b),
            &|a, b, da, db| {
                let mut o = vec![0.0; d];
                s.exp_jvp(a, b, da, db, &mut o);
                o
            },
            &|a, b, g, ga, gb| s.exp_vjp(a, b, g, ga, gb),
            p,
            v,
            &dp,
            &dv,
            &g,
            h,
            1e-6,
        );
    }

    fn log_case(s: &Sphere<f64>, p: &[f64], q: &[f64], r: &mut ChaCha8Rng, h: f64, tangent: bool) {
        let d = p.len();
        let (mut dp, mut dq, g) = (gauss(r, d), gauss(r, d), gauss(r, d));
        if tangent {
            dp = s.project_tangent(p, &dp);
            dq = s.project_tangent(p, &dq);
        }
        let name = format!("log θ={:e}", s.dist(p, q));
        check2(
            &name,
            &|a, b| s.log(a, b),
            &|a, b, da, db| {
                let mut o = vec![0.0; d];
                s.log_jvp(a, b, da, db, &mut o);
                o
            },
            &|a, b, g, ga, gb| s.log_vjp(a, b, g, ga, gb),
            p,
            q,
            &dp,
            &dq,
            &g,
            h,
            1e-6,
        );
        // dist: scalar op, wrapped as a 1-vector
        check2(
            &format!("dist θ={:e}", s.dist(p, q)),
            &|a, b| vec![s.dist(a, b)],
            &|a, b, da, db| vec![s.dist_jvp(a, b, da, db)],
            &|a, b, g, ga, gb| s.dist_vjp(a, b, g[0], ga, gb),
            p,
            q,
            &dp,
            &dq,
            &[g[0]],
            if tangent { 0.0 } else { h },
            1e-6,
        );
    }

    #[test]
    fn exp_derivatives_match_fd_and_duality() {
        let s = Sphere::<f64>::new(3).unwrap();
        let mut r = rng(21);
        for _ in 0..4 {
            let p = unit(&mut r, 4);
            let u = unit_tangent(&mut r, &p);
            // both sides of SINC_PRIME_CUTOFF (1.0 in f64) and of SINC_CUTOFF (1e-4)
            for rv in [
                0.0,
                1e-9,
                1e-4 * 0.999,
                1e-4 * 1.001,
                0.3,
                0.999,
                1.001,
                2.0,
                3.0,
                7.0,
            ] {
                let v: Vec<f64> = u.iter().map(|x| rv * x).collect();
                exp_case(&s, &p, &v, &mut r, 1e-6);
                // non-tangent v: the formula takes v as given
                let vn = axpy(&v, 0.1, &p);
                exp_case(&s, &p, &vn, &mut r, 1e-6);
            }
        }
    }

    #[test]
    fn log_and_dist_derivatives_match_fd_and_duality() {
        let s = Sphere::<f64>::new(3).unwrap();
        let mut r = rng(22);
        for _ in 0..4 {
            let p = unit(&mut r, 4);
            let u = unit_tangent(&mut r, &p);
            // cutoffs: x_over_sin 1e-4, sinc_prime 1.0 (θ), sin_minus_x 1.0 (2θ = 1 → θ = 0.5),
            // branch switch π/2.
            for (th, h) in [
                (1e-5, 3e-9),
                (1e-3, 1e-7),
                (0.0999, 1e-7),
                (0.3, 1e-6),
                (0.4999, 1e-6),
                (0.5001, 1e-6),
                (0.999, 1e-6),
                (1.001, 1e-6),
                (FRAC_PI_2 - 1e-4, 1e-6),
                (FRAC_PI_2 + 1e-4, 1e-6),
                (2.0, 1e-6),
                (3.0, 1e-7),
                (PI - 1e-3, 1e-9),
            ] {
                let q = at_angle(&p, &u, th);
                log_case(&s, &p, &q, &mut r, h, false);
            }
            // p = q: JVP = P_p(q̇ − ṗ), exact along tangent directions (the ambient formula has
            // a cone in the normal direction there).
            log_case(&s, &p, &p, &mut r, 1e-6, true);
            let (dp, dq) = (gauss(&mut r, 4), gauss(&mut r, 4));
            let mut o = vec![0.0; 4];
            s.log_jvp(&p, &p, &dp, &dq, &mut o);
            let want = s.project_tangent(&p, &sub(&dq, &dp));
            assert!(rel(&o, &want) < 1e-15);
            assert_eq!(s.dist_jvp(&p, &p, &dp, &dq), 0.0);
            let (mut gp, mut gq) = (vec![1.0; 4], vec![2.0; 4]);
            s.dist_vjp(&p, &p, 3.0, &mut gp, &mut gq);
            assert_eq!((gp, gq), (vec![1.0; 4], vec![2.0; 4]));
        }
        // exact antipodes: finite (huge) derivatives, zero dist subgradient
        let p = [1.0, 0.0, 0.0, 0.0];
        let q = [-1.0, 0.0, 0.0, 0.0];
        let mut o = vec![0.0; 4];
        s.log_jvp(&p, &q, &[0.1, 0.2, 0.3, 0.4], &[0.4, 0.3, 0.2, 0.1], &mut o);
        assert!(o.iter().all(|x| x.is_finite()));
        assert_eq!(s.dist_jvp(&p, &q, &[0.1; 4], &[0.2; 4]), 0.0);
    }

    #[test]
    fn inner_and_projection_derivatives() {
        let s = Sphere::<f64>::new(2).unwrap();
        let mut r = rng(23);
        let p = unit(&mut r, 3);
        let (u, v, dp, du, dv) = (
            gauss(&mut r, 3),
            gauss(&mut r, 3),
            gauss(&mut r, 3),
            gauss(&mut r, 3),
            gauss(&mut r, 3),
        );
        check2(
            "project_tangent",
            &|a, b| s.project_tangent(a, b),
            &|a, b, da, db| {
                let mut o = vec![0.0; 3];
                s.project_tangent_jvp(a, b, da, db, &mut o);
                o
            },
            &|a, b, g, ga, gb| s.project_tangent_vjp(a, b, g, ga, gb),
            &p,
            &u,
            &dp,
            &du,
            &v,
            1e-6,
            1e-8,
        );
        let h = 1e-6;
        let f = |a: &[f64], b: &[f64], c: &[f64]| s.inner(a, b, c);
        let fd = (f(&axpy(&p, h, &dp), &axpy(&u, h, &du), &axpy(&v, h, &dv))
            - f(&axpy(&p, -h, &dp), &axpy(&u, -h, &du), &axpy(&v, -h, &dv)))
            / (2.0 * h);
        let j = s.inner_jvp(&p, &u, &v, &dp, &du, &dv);
        assert!((j - fd).abs() < 1e-8 * j.abs().max(1.0));
        let (mut gp, mut gu, mut gv) = (vec![0.0; 3], vec![0.0; 3], vec![0.0; 3]);
        s.inner_vjp(&p, &u, &v, 1.7, &mut gp, &mut gu, &mut gv);
        let rhs = dot(&gp, &dp) + dot(&gu, &du) + dot(&gv, &dv);
        assert!((1.7 * j - rhs).abs() < 1e-13 * rhs.abs().max(1.0));
    }

    #[test]
    fn derivatives_are_finite_in_f32() {
        let s = Sphere::<f32>::new(2).unwrap();
        let p = [0.0f32, 0.6, 0.8];
        let d = [0.3f32, -0.2, 0.5];
        for q in [p, [0.0, 0.8, 0.6], [0.0, -0.6, -0.8], [1.0, 0.0, 0.0]] {
            let mut o = [0.0f32; 3];
            s.log_jvp(&p, &q, &d, &d, &mut o);
            assert!(o.iter().all(|x| x.is_finite()), "{q:?}");
            let (mut a, mut b) = ([0.0f32; 3], [0.0f32; 3]);
            s.log_vjp(&p, &q, &d, &mut a, &mut b);
            s.dist_vjp(&p, &q, 1.0, &mut a, &mut b);
            assert!(a.iter().chain(&b).all(|x| x.is_finite()));
            assert!(s.dist_jvp(&p, &q, &d, &d).is_finite());
        }
        let mut o = [0.0f32; 3];
        s.exp_jvp(&p, &[0.0; 3], &d, &d, &mut o);
        assert_eq!(o, [0.6, -0.4, 1.0]);
    }

    /// f32 derivatives against f64 at the same inputs, on both sides of the f32 cutoffs
    /// (sinc 1e-2, sinc'/x 0.7, x/sin 1e-2, (sin x − x)/x³ at 2θ = 2) and the π/2 branch.
    #[test]
    fn f32_derivatives_match_f64() {
        let s32 = Sphere::<f32>::new(3).unwrap();
        let s64 = Sphere::<f64>::new(3).unwrap();
        let mut r = rng(41);
        let mut worst = (0f64, 0f64);
        for _ in 0..4 {
            let p = to32(&unit(&mut r, 4));
            let p64 = to64(&p);
            let u = unit_tangent(&mut r, &p64);
            let (d1, d2, g) = (
                to32(&gauss(&mut r, 4)),
                to32(&gauss(&mut r, 4)),
                to32(&gauss(&mut r, 4)),
            );
            for x in [
                0.0, 1e-5, 0.0099, 0.0101, 0.3, 0.699, 0.701, 0.999, 1.001, 1.5, 1.6, 2.5, 3.0,
            ] {
                let v = to32(&u.iter().map(|y| x * y).collect::<Vec<_>>());
                let v64 = to64(&v);
                let mut o32 = [0f32; 4];
                let mut o64 = [0f64; 4];
                s32.exp_jvp(&p, &v, &d1, &d2, &mut o32);
                s64.exp_jvp(&p64, &v64, &to64(&d1), &to64(&d2), &mut o64);
                worst.0 = worst.0.max(rel(&to64(&o32), &o64));
                let q = s32.exp(&p, &v);
                let q64 = to64(&q);
                s32.log_jvp(&p, &q, &d1, &d2, &mut o32);
                s64.log_jvp(&p64, &q64, &to64(&d1), &to64(&d2), &mut o64);
                worst.1 = worst.1.max(rel(&to64(&o32), &o64));
                let (mut a, mut b) = ([0f32; 4], [0f32; 4]);
                let (mut a64, mut b64) = ([0f64; 4], [0f64; 4]);
                s32.log_vjp(&p, &q, &g, &mut a, &mut b);
                s64.log_vjp(&p64, &q64, &to64(&g), &mut a64, &mut b64);
                // VJPs: error relative to the cotangent's scale (the gradient itself may cancel)
                let sc = nrm(&to64(&g));
                let e = |x: &[f32], y: &[f64]| nrm(&sub(&to64(x), y)) / nrm(y).max(sc);
                worst.1 = worst.1.max(e(&a, &a64)).max(e(&b, &b64));
            }
        }
        eprintln!(
            "f32 derivative envelope: exp_jvp {:.2e}, log_jvp/vjp {:.2e}",
            worst.0, worst.1
        );
        assert!(worst.0 < 6e-7 && worst.1 < 6e-7, "{worst:?}");
    }

    // ---------------------------------------------------------------- f32 envelope

    /// Measures the f32 error against f64 evaluated at the same (f32) inputs and checks the
    /// envelope documented in the `Sphere` docs. Run with `--nocapture` to see the numbers.
    #[test]
    fn f32_envelope() {
        let s32 = Sphere::<f32>::new(4).unwrap();
        let s64 = Sphere::<f64>::new(4).unwrap();
        let mut r = rng(31);
        let (mut e_exp, mut e_dist, mut e_log, mut e_geo, mut e_vel) =
            (0f64, 0f64, 0f64, 0f64, 0f64);
        let (mut e_log_far, mut e_geo_far, mut e_vel_far) = (0f64, 0f64, 0f64);
        for _ in 0..200 {
            let p = to32(&unit(&mut r, 5));
            let p64 = to64(&p);
            let u = unit_tangent(&mut r, &p64);
            let k = (f64::uniform01(&mut r) * 12.0) as i32;
            for th in [
                10f64.powi(-k),
                f64::uniform01(&mut r) * PI,
                PI - 10f64.powi(-(k % 7)),
            ] {
                let v = to32(&u.iter().map(|x| th * x).collect::<Vec<_>>());
                let v64 = to64(&v);
                e_exp = e_exp.max(rel(&to64(&s32.exp(&p, &v)), &s64.exp(&p64, &v64)));
                let q = s32.exp(&p, &v);
                let q64 = to64(&q);
                let d64 = s64.dist(&p64, &q64);
                e_dist = e_dist.max((s32.dist(&p, &q) as f64 - d64).abs() / d64.max(1e-300));
                let el = rel(&to64(&s32.log(&p, &q)), &s64.log(&p64, &q64));
                if d64 <= PI - 1e-3 {
                    e_log = e_log.max(el);
                    for t in [0.1f32, 0.5, 1.0] {
                        let g = s64.geodesic(&p64, &q64, t as f64);
                        e_geo = e_geo.max(rel(&to64(&s32.geodesic(&p, &q, t)), &g));
                        let vel = s64.geodesic_velocity(&p64, &q64, t as f64);
                        e_vel = e_vel.max(rel(&to64(&s32.geodesic_velocity(&p, &q, t)), &vel));
                    }
                } else {
                    e_log_far = e_log_far.max(el);
                    for t in [0.1f32, 0.5, 1.0] {
                        let g = s64.geodesic(&p64, &q64, t as f64);
                        e_geo_far = e_geo_far.max(rel(&to64(&s32.geodesic(&p, &q, t)), &g));
                        let vel = s64.geodesic_velocity(&p64, &q64, t as f64);
                        e_vel_far =
                            e_vel_far.max(rel(&to64(&s32.geodesic_velocity(&p, &q, t)), &vel));
                    }
                }
            }
        }
        eprintln!(
            "f32 envelope: exp {e_exp:.2e}, dist {e_dist:.2e}, log {e_log:.2e}, \
             geodesic {e_geo:.2e}, velocity {e_vel:.2e}; \
             θ > π − 1e-3: log {e_log_far:.2e}, geodesic {e_geo_far:.2e}, velocity {e_vel_far:.2e}"
        );
        assert!(e_exp <= 4e-7);
        assert!(e_dist <= 2e-7);
        assert!(e_log.max(e_log_far) <= 4e-7);
        assert!(e_geo.max(e_geo_far) <= 3e-7);
        assert!(e_vel.max(e_vel_far) <= 4e-7);
    }

    // ---------------------------------------------------------------- von Mises–Fisher

    /// Composite Simpson on [a, b] with n (even) intervals.
    fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
        let h = (b - a) / n as f64;
        let mut s = f(a) + f(b);
        for i in 1..n {
            s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        s * h / 3.0
    }

    /// ∫_{S^{m−1}} exp(log_density) = |S^{m−2}| ∫_0^π f(cos φ μ + sin φ e) sin^{m−2} φ dφ.
    fn vmf_mass(m: usize, kappa: f64) -> f64 {
        let mut r = rng(m as u64 * 1000 + kappa as u64);
        let mu = unit(&mut r, m);
        let e = unit_tangent(&mut r, &mu);
        let vmf = VonMisesFisher::<f64>::new(&mu, kappa).unwrap();
        let area = if m == 2 {
            2.0
        } else {
            Sphere::<f64>::new(m - 2).unwrap().log_area().exp()
        };
        let phi_max = if kappa > 100.0 {
            (60.0 / kappa).sqrt() * 2.0
        } else {
            PI
        };
        let f = |phi: f64| {
            let x = at_angle(&mu, &e, phi);
            vmf.log_density(&x).exp() * phi.sin().powi(m as i32 - 2)
        };
        area * simpson(f, 0.0, phi_max.min(PI), 20000)
    }

    #[test]
    fn vmf_normalises_to_one() {
        for m in [2usize, 3, 4, 5, 10] {
            for kappa in [0.0, 1e-3, 0.3, 1.0, 10.0, 100.0, 499.0, 501.0, 2000.0, 1e4] {
                let mass = vmf_mass(m, kappa);
                assert!((mass - 1.0).abs() < 1e-10, "m={m} κ={kappa}: mass {mass}");
            }
        }
    }

    #[test]
    fn log_bessel_matches_half_order_closed_form_and_branches_agree() {
        // ν = 1/2: I = sqrt(2/(πκ)) sinh κ
        for kappa in [
            1e-3, 0.5, 1.0, 10.0, 100.0, 499.0, 500.0, 501.0, 1000.0, 1e4, 1e6,
        ] {
            let exact = 0.5 * (2.0 / (PI * kappa)).ln() + kappa + (-(-2.0 * kappa).exp()).ln_1p()
                - 2f64.ln();
            let got = log_bessel_i(0.5, kappa);
            assert!(
                (got - exact).abs() <= 1e-13 * exact.abs().max(1.0),
                "κ={kappa}: {got} vs {exact}"
            );
            // general vMF path at m = 3 vs the S² closed form
            let gen = vmf_log_norm_plus_kappa_general(0.5, 1.5 * (2.0 * PI).ln(), kappa);
            let closed = vmf_log_norm_plus_kappa(3, kappa);
            assert!((gen - closed).abs() < 1e-12, "κ={kappa}: {gen} vs {closed}");
        }
        // series vs Debye on both sides of the crossover, several orders
        for nu in [0.0f64, 0.5, 1.0, 1.5, 4.0, 49.5, 300.0] {
            for kappa in [300.0f64, 500.0, 700.0] {
                let series = nu * (0.5 * kappa).ln() - ln_gamma_f64(nu + 1.0)
                    + log_bessel_series_scaled(nu, kappa);
                let (rr, ls) = debye_parts(nu, kappa);
                let debye = rr + nu * (kappa / (nu + rr)).ln() - 0.5 * (2.0 * PI * rr).ln() + ls;
                assert!(
                    (series - debye).abs() <= 2e-13 * series.abs(),
                    "ν={nu} κ={kappa}: {series} vs {debye}"
                );
            }
        }
    }

    #[test]
    fn vmf_sampler_mean_resultant() {
        for m in [3usize, 4, 6] {
            for kappa in [0.0, 2.0, 50.0] {
                let mut r = rng(m as u64 + 17);
                let mu = unit(&mut r, m);
                let vmf = VonMisesFisher::<f64>::new(&mu, kappa).unwrap();
                let s = Sphere::<f64>::new(m - 1).unwrap();
                let n = 20000;
                let mut mean = 0.0;
                let mut x = vec![0.0; m];
                for _ in 0..n {
                    vmf.sample_into(&mut r, &mut x);
                    assert!(s.check_point(&x).is_ok());
                    mean += dot(&x, &mu) / n as f64;
                }
                let nu = 0.5 * m as f64 - 1.0;
                let a = if kappa == 0.0 {
                    0.0
                } else {
                    (log_bessel_i(nu + 1.0, kappa) - log_bessel_i(nu, kappa)).exp()
                };
                // sd of μᵀx ≤ 1/sqrt(m); 5 sigma
                assert!(
                    (mean - a).abs() < 5.0 / ((m * n) as f64).sqrt(),
                    "m={m} κ={kappa}: {mean} vs {a}"
                );
            }
        }
        let vmf = VonMisesFisher::<f32>::new(&[0.6, 0.8], 3.0).unwrap();
        let mut x = [0.0f32; 2];
        vmf.sample_into(&mut rng(3), &mut x);
        assert!(Sphere::<f32>::new(1).unwrap().check_point(&x).is_ok());
        assert!((vmf.log_density(&[0.6, 0.8]) - vmf.log_normaliser() - 3.0).abs() < 1e-5);
        assert_eq!(vmf.concentration(), 3.0);
        assert_eq!(vmf.mean_direction(), &[0.6, 0.8]);
        assert!(VonMisesFisher::<f64>::new(&[1.0], 1.0).is_err());
        assert!(VonMisesFisher::<f64>::new(&[1.0, 0.0], -1.0).is_err());
        assert!(VonMisesFisher::<f64>::new(&[1.0, 0.0], f64::NAN).is_err());
        assert!(VonMisesFisher::<f64>::new(&[2.0, 0.0], 1.0).is_err());
    }
}
