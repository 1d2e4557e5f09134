//! The flat torus $T^n = (\mathbb R / 2\pi\mathbb Z)^n$, stored as `n` angles in $\lbrack -\pi, \pi)$.
//!
//! The metric is the Euclidean one of the angles, so every formula is the Euclidean formula
//! followed by the exact wrap [`wrap_angle`] into $\lbrack -\pi, \pi)$, componentwise:
//!
//! - $\exp_x(u) = \operatorname{wrap}(x + u)$, $\log_x(y) = \operatorname{wrap}(y - x)$,
//!   $d(x, y) = \lVert \log_x y \rVert$;
//! - geodesic $\gamma(t) = \operatorname{wrap}(x + t\log_x y)$, velocity $\dot\gamma(t) = \log_x y$
//!   (constant); parallel transport is the identity; the curvature is 0;
//! - injectivity radius $\pi$: the cut locus of $x$ is the set of points with some
//!   $|y_i - x_i| = \pi$ (mod $2\pi$). There [`FlatTorus::try_log`](crate::ManifoldExt::try_log)
//!   reports [`ManifoldError::CutLocus`] and `log_into` deterministically picks $-\pi$ for the
//!   tied component (the representative that `wrap_angle` gives to $\pm\pi$).
//!
//! Convention: angles live in $\lbrack -\pi, \pi)$ (not $\lbrack 0, 2\pi)$ as in some reference
//! code), so that the origin is an interior point and small negative angles stay small.
//!
//! Base distribution: uniform, $\log p_0 = -n \log 2\pi$ (w.r.t. the Riemannian volume, i.e.
//! Lebesgue measure on $\lbrack -\pi, \pi)^n$). [`WrappedNormal`] gives a wrapped Gaussian with
//! per-coordinate scales and an exactly bounded truncation of its density.
//!
//! # Numerical notes
//!
//! `wrap_angle` is exact: it is the identity on the floating-point interval
//! $\lbrack -\pi_T, \pi_T)$ ($\pi_T$ = `T::PI`), and otherwise reduces with a three-part
//! Cody–Waite split of $2\pi$ and fused multiply–adds, so the result is $x - 2\pi k$ to within
//! one ulp of the result (not of $x$) for $|x| \le 10^{15}$ (f64) / $4\cdot10^{6}$ (f32), where the naive
//! `x % (2π)` loses $|x| \cdot 2^{-53}$. A reduced value that rounds to $\pi_T$ is returned as
//! $-\pi_T$, so $\pi \mapsto -\pi$. Nothing else is singular. f32 envelope: exp/log/dist/geodesic
//! are exact up to one rounding of the sum $x + u$ (relative error ≤ 6e-8 per component).
//!
//! ```
//! use geoflow_manifolds::{prelude::*, FlatTorus};
//! use std::f64::consts::PI;
//! let m = FlatTorus::<f64>::new(2)?;
//! let (x, y) = ([3.0, 0.0], [-3.0, 0.5]);
//! // The short way round crosses ±π.
//! let v = m.log(&x, &y);
//! assert!((v[0] - (2.0 * PI - 6.0)).abs() < 1e-15 && v[1] == 0.5);
//! assert!((m.dist(&x, &y) - (v[0].hypot(0.5))).abs() < 1e-15);
//! assert_eq!(geoflow_manifolds::wrap_angle(PI), -PI);
//! # Ok::<(), ManifoldError>(())
//! ```

use core::marker::PhantomData;

use crate::manifold::expect_dim;
use crate::numerics::{all_finite, dot, norm};
use crate::torus_batch as tb;
use crate::{
    ConstantCurvature, Differentiable, Manifold, ManifoldError, ParallelTransport, Real, Sample,
};
use rand::Rng;

/// $2\pi = C_1 + C_2 + C_3$ (Cody–Waite split): $C_1$ is $2\pi$ rounded to the precision,
/// $C_2$ the rounded remainder, $C_3$ the next one. Values as (f32, f64).
pub(crate) const TWO_PI_1: (f32, f64) = (core::f32::consts::TAU, core::f64::consts::TAU);
pub(crate) const TWO_PI_2: (f32, f64) = (-1.748_455_5e-7, 2.449_293_598_294_706_4e-16);
pub(crate) const TWO_PI_3: (f32, f64) = (-6.860_498e-15, -5.989_539_619_436_679e-33);
/// $\pi - \pi_T$ (the part of $\pi$ that `T::PI` misses), as (f32, f64).
const PI_LO: (f32, f64) = (-8.742_278e-8, 1.224_646_799_147_353_2e-16);

/// Wraps an angle into the floating-point interval $\lbrack -\pi_T, \pi_T)$ exactly.
///
/// The identity on $\lbrack -\pi_T, \pi_T)$ ($\pi_T$ = `T::PI`). Otherwise returns the correctly
/// rounded $x - 2\pi k$ with the integer $k$ that puts it in $\lbrack -\pi, \pi)$ (decided with
/// the exact remainder, not the rounded one), faithfully (error below one ulp of the result; the
/// f64 test values are all correctly rounded), for $|x| \le 10^{15}$ (f64) or $4\cdot 10^{6}$ (f32);
/// beyond that the result is still in range but may be off by a few ulps times $|x|/2^{50}$. A
/// result that rounds to $\pi_T$ is returned as $-\pi_T$ (so $\pi \mapsto -\pi$). NaN and
/// infinities give NaN.
///
/// ```
/// use geoflow_manifolds::wrap_angle;
/// use std::f64::consts::PI;
/// assert_eq!(wrap_angle(PI), -PI);
/// assert_eq!(wrap_angle(-PI), -PI);
/// assert_eq!(wrap_angle(-1e-30f64), -1e-30);
/// assert_eq!(wrap_angle(2.0 * PI), -2.4492935982947064e-16); // 2π_T − 2π, exactly
/// ```
#[inline]
pub fn wrap_angle<T: Real>(x: T) -> T {
    let pi = T::PI();
    if x >= -pi && x < pi {
        return x;
    }
    if !x.is_finite() {
        return T::nan();
    }
    let (c1, c2, c3) = (T::pick(TWO_PI_1), T::pick(TWO_PI_2), T::pick(TWO_PI_3));
    let pi_lo = T::pick(PI_LO);
    // r = hi + lo with hi = x − k C1 exact (fma, and |hi| < 8 is a multiple of ulp(C1)) and
    // lo = −k (C2 + C3) carrying the rest.
    let split = |k: T| {
        let hi = (-k).mul_add(c1, x);
        let lo = (-k).mul_add(c2, -k * c3);
        (hi, lo)
    };
    let mut k = (x * (T::one() / c1)).round();
    let (mut hi, mut lo) = split(k);
    // Fix k with the exact sign of r − π and r + π: hi ∓ π_T is exact near ±π (Sterbenz), and
    // the sign of a rounded sum is the sign of the exact sum.
    for _ in 0..3 {
        if (hi - pi) + (lo - pi_lo) >= T::zero() {
            k += T::one();
        } else if (hi + pi) + (lo + pi_lo) < T::zero() {
            k -= T::one();
        } else {
            break;
        }
        (hi, lo) = split(k);
    }
    let r = hi + lo;
    if r >= pi || r < -pi {
        -pi
    } else {
        r
    }
}

/// $\pi - |r|$ below which a wrapped difference counts as tied between the two arcs
/// (4 ulps of π): the rounding of $y - x$ cannot tell which way is shorter.
fn cut_tol<T: Real>() -> T {
    T::c(4.0) * T::epsilon() * T::PI()
}

/// The flat torus $T^n$; points are `n` angles in $\lbrack -\pi, \pi)$, tangent vectors are `n`
/// real numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlatTorus<T> {
    n: usize,
    _t: PhantomData<T>,
}

impl<T: Real> FlatTorus<T> {
    /// $T^n$ for $n \ge 1$.
    pub fn new(n: usize) -> Result<Self, ManifoldError> {
        if n == 0 {
            return Err(ManifoldError::InvalidParameter(
                "torus dimension must be at least 1",
            ));
        }
        Ok(Self { n, _t: PhantomData })
    }

    #[track_caller]
    fn expect2(&self, a: usize, b: usize, out: usize, what: &str) {
        expect_dim(a, self.n, what);
        expect_dim(b, self.n, what);
        expect_dim(out, self.n, what);
    }
}

impl<T: Real> Manifold for FlatTorus<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.n
    }
    fn ambient_dim(&self) -> usize {
        self.n
    }
    /// $\operatorname{wrap}(x + u)$.
    ///
    /// # Panics
    /// If a slice length differs from `n`.
    #[track_caller]
    fn exp_into(&self, p: &[T], v: &[T], out: &mut [T]) {
        self.expect2(p.len(), v.len(), out.len(), "FlatTorus::exp_into");
        for ((o, &p), &v) in out.iter_mut().zip(p).zip(v) {
            *o = wrap_angle(p + v);
        }
    }
    /// $\operatorname{wrap}(y - x)$; a component tied at $\pm\pi$ becomes $-\pi$.
    ///
    /// # Panics
    /// If a slice length differs from `n`.
    #[track_caller]
    fn log_into(&self, p: &[T], q: &[T], out: &mut [T]) {
        self.expect2(p.len(), q.len(), out.len(), "FlatTorus::log_into");
        for ((o, &p), &q) in out.iter_mut().zip(p).zip(q) {
            *o = wrap_angle(q - p);
        }
    }
    /// [`ManifoldError::CutLocus`] when some component of $\operatorname{wrap}(y - x)$ is
    /// within 4 ulps of $\pm\pi$.
    fn try_log_into(&self, p: &[T], q: &[T], out: &mut [T]) -> Result<(), ManifoldError> {
        self.log_into(p, q, out);
        let pi = T::PI();
        if out.iter().any(|&r| pi - r.abs() <= cut_tol::<T>()) {
            return Err(ManifoldError::CutLocus);
        }
        Ok(())
    }
    /// The Euclidean inner product $u^\top v$.
    fn inner(&self, _p: &[T], u: &[T], v: &[T]) -> T {
        dot(u, v)
    }
    fn norm(&self, _p: &[T], v: &[T]) -> T {
        norm(v)
    }
    /// $\lVert \operatorname{wrap}(y - x) \rVert$, allocation-free.
    ///
    /// # Panics
    /// If a slice length differs from `n`.
    #[track_caller]
    fn dist(&self, p: &[T], q: &[T]) -> T {
        self.expect2(p.len(), q.len(), p.len(), "FlatTorus::dist");
        let mut s = T::zero();
        for (&p, &q) in p.iter().zip(q) {
            let d = wrap_angle(q - p);
            s = d.madd(d, s);
        }
        s.sqrt()
    }
    /// Componentwise [`wrap_angle`].
    fn project_point_into(&self, x: &[T], out: &mut [T]) {
        for (o, &x) in out.iter_mut().zip(x) {
            *o = wrap_angle(x);
        }
    }
    /// The identity (every vector is tangent).
    fn project_tangent_into(&self, _p: &[T], u: &[T], out: &mut [T]) {
        out.copy_from_slice(u);
    }
    /// Length, finiteness, and every angle in $\lbrack -\pi, \pi\rbrack$ up to
    /// `T::check_tol() · π` (π itself is accepted as the same point as −π); the residual is the
    /// largest distance outside that interval.
    fn check_point(&self, p: &[T]) -> Result<(), ManifoldError> {
        if p.len() != self.n {
            return Err(ManifoldError::DimensionMismatch {
                expected: self.n,
                got: p.len(),
            });
        }
        if !all_finite(p) {
            return Err(ManifoldError::NonFinite);
        }
        let pi = T::PI();
        let residual = p
            .iter()
            .fold(T::zero(), |m, &x| m.max(x.abs() - pi))
            .to_f64_lossless();
        let tol = (T::check_tol() * pi).to_f64_lossless();
        if residual > tol {
            return Err(ManifoldError::NotOnManifold { residual, tol });
        }
        Ok(())
    }
    /// `p` must be a point; `v` must have length `n` and be finite.
    fn check_tangent(&self, p: &[T], v: &[T]) -> Result<(), ManifoldError> {
        self.check_point(p)?;
        if v.len() != self.n {
            return Err(ManifoldError::DimensionMismatch {
                expected: self.n,
                got: v.len(),
            });
        }
        if !all_finite(v) {
            return Err(ManifoldError::NonFinite);
        }
        Ok(())
    }
    /// $\operatorname{wrap}(x + t\operatorname{wrap}(y - x))$, allocation-free.
    ///
    /// # Panics
    /// If a slice length differs from `n`.
    #[track_caller]
    fn geodesic_into(&self, p: &[T], q: &[T], t: T, out: &mut [T]) {
        self.expect2(p.len(), q.len(), out.len(), "FlatTorus::geodesic_into");
        for ((o, &p), &q) in out.iter_mut().zip(p).zip(q) {
            *o = wrap_angle(t.madd(wrap_angle(q - p), p));
        }
    }
    /// $\log_x y$ (constant in $t$).
    #[track_caller]
    fn geodesic_velocity_into(&self, p: &[T], q: &[T], _t: T, out: &mut [T]) {
        self.log_into(p, q, out)
    }
    /// $\pi$: along a coordinate circle the cut point is at distance $\pi$.
    fn injectivity_radius(&self) -> T {
        T::PI()
    }

    /// Batched [`dist`](Manifold::dist): vectorised slice loops (`torus_batch.rs`), equal to
    /// the row-wise scalar kernel.
    #[track_caller]
    fn dist_batch_into(&self, ps: &[T], qs: &[T], ds: &mut [T]) {
        let d = self.n;
        tb::shapes(&[ps, qs], d, ds, 1, "dist_batch_into");
        tb::torus_dist(ps, qs, d, ds);
    }
    /// Batched [`exp_into`](Manifold::exp_into) (vectorised, equal to the scalar kernel).
    #[track_caller]
    fn exp_batch_into(&self, ps: &[T], vs: &[T], outs: &mut [T]) {
        tb::shapes(&[ps, vs], self.n, outs, self.n, "exp_batch_into");
        tb::torus_exp(ps, vs, self.n, outs);
    }
    /// Batched [`log_into`](Manifold::log_into) (vectorised, equal to the scalar kernel).
    #[track_caller]
    fn log_batch_into(&self, ps: &[T], qs: &[T], outs: &mut [T]) {
        tb::shapes(&[ps, qs], self.n, outs, self.n, "log_batch_into");
        tb::torus_log(ps, qs, self.n, outs);
    }
    /// Batched [`inner`](Manifold::inner) (vectorised, equal to the scalar kernel).
    #[track_caller]
    fn inner_batch_into(&self, ps: &[T], us: &[T], vs: &[T], out: &mut [T]) {
        tb::shapes(&[ps, us, vs], self.n, out, 1, "inner_batch_into");
        tb::inner_rows(us, vs, self.n, out);
    }
    /// Batched [`norm`](Manifold::norm) (vectorised, equal to the scalar kernel).
    #[track_caller]
    fn norm_batch_into(&self, ps: &[T], vs: &[T], out: &mut [T]) {
        tb::shapes(&[ps, vs], self.n, out, 1, "norm_batch_into");
        tb::norm_rows(vs, self.n, out);
    }
    /// Batched [`geodesic_into`](Manifold::geodesic_into) (vectorised, equal to the scalar
    /// kernel).
    #[track_caller]
    fn geodesic_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        let n = tb::shapes(&[ps, qs], self.n, outs, self.n, "geodesic_batch_into");
        crate::batch::expect_len(ts.len(), n, 1, "geodesic_batch_into: ts");
        tb::torus_geodesic(ps, qs, ts, self.n, outs);
    }
    /// Batched [`geodesic_velocity_into`](Manifold::geodesic_velocity_into): the batched log.
    #[track_caller]
    fn geodesic_velocity_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        let n = tb::shapes(
            &[ps, qs],
            self.n,
            outs,
            self.n,
            "geodesic_velocity_batch_into",
        );
        crate::batch::expect_len(ts.len(), n, 1, "geodesic_velocity_batch_into: ts");
        tb::torus_log(ps, qs, self.n, outs);
    }
    /// Batched [`project_point_into`](Manifold::project_point_into).
    #[track_caller]
    fn project_point_batch_into(&self, xs: &[T], outs: &mut [T]) {
        tb::shapes(&[xs], self.n, outs, self.n, "project_point_batch_into");
        tb::torus_project_point(xs, self.n, outs);
    }
    /// Batched [`project_tangent_into`](Manifold::project_tangent_into): a copy.
    #[track_caller]
    fn project_tangent_batch_into(&self, ps: &[T], us: &[T], outs: &mut [T]) {
        tb::shapes(
            &[ps, us],
            self.n,
            outs,
            self.n,
            "project_tangent_batch_into",
        );
        tb::copy_rows(us, self.n, outs);
    }
}

impl<T: Real> ParallelTransport for FlatTorus<T> {
    /// The identity.
    fn transport_into(&self, _p: &[T], _q: &[T], v: &[T], out: &mut [T]) {
        out.copy_from_slice(v);
    }

    /// Batched transport: a copy.
    #[track_caller]
    fn transport_batch_into(&self, ps: &[T], qs: &[T], vs: &[T], outs: &mut [T]) {
        crate::torus_batch::shapes(&[ps, qs, vs], self.n, outs, self.n, "transport_batch_into");
        crate::torus_batch::copy_rows(vs, self.n, outs);
    }
}

impl<T: Real> ConstantCurvature for FlatTorus<T> {
    /// 0 (flat).
    fn curvature(&self) -> T {
        T::zero()
    }
}

impl<T: Real> Sample for FlatTorus<T> {
    /// Uniform on $\lbrack -\pi, \pi)^n$.
    fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        let two_pi = T::c(2.0 * core::f64::consts::PI);
        for o in out.iter_mut() {
            *o = wrap_angle(two_pi.madd(T::uniform01(rng), -T::PI()));
        }
    }
    /// $-n\log 2\pi$ (w.r.t. the Riemannian volume, total mass $(2\pi)^n$).
    fn base_log_density(&self, _p: &[T]) -> T {
        T::c(-(self.n as f64) * (2.0 * core::f64::consts::PI).ln())
    }
}

/// The derivatives are those of the Euclidean formulas: `wrap_angle` has derivative 1 wherever it
/// is continuous (everywhere except at the jump $\pi \mapsto -\pi$, a null set where the
/// one-sided derivative 1 is returned).
impl<T: Real> Differentiable for FlatTorus<T> {
    /// $\dot x + \dot u$.
    fn exp_jvp(&self, _p: &[T], _v: &[T], dp: &[T], dv: &[T], out: &mut [T]) {
        for ((o, &a), &b) in out.iter_mut().zip(dp).zip(dv) {
            *o = a + b;
        }
    }
    fn exp_vjp(&self, _p: &[T], _v: &[T], g: &[T], gp: &mut [T], gv: &mut [T]) {
        for i in 0..g.len() {
            gp[i] += g[i];
            gv[i] += g[i];
        }
    }
    /// $\dot y - \dot x$.
    fn log_jvp(&self, _p: &[T], _q: &[T], dp: &[T], dq: &[T], out: &mut [T]) {
        for ((o, &a), &b) in out.iter_mut().zip(dp).zip(dq) {
            *o = b - a;
        }
    }
    fn log_vjp(&self, _p: &[T], _q: &[T], g: &[T], gp: &mut [T], gq: &mut [T]) {
        for i in 0..g.len() {
            gp[i] -= g[i];
            gq[i] += g[i];
        }
    }
    /// $\langle \log_x y, \dot y - \dot x\rangle / d$; 0 at $x = y$.
    fn dist_jvp(&self, p: &[T], q: &[T], dp: &[T], dq: &[T]) -> T {
        let d = self.dist(p, q);
        if d == T::zero() {
            return T::zero();
        }
        let mut s = T::zero();
        for i in 0..p.len() {
            s += wrap_angle(q[i] - p[i]) * (dq[i] - dp[i]);
        }
        s / d
    }
    fn dist_vjp(&self, p: &[T], q: &[T], g: T, gp: &mut [T], gq: &mut [T]) {
        let d = self.dist(p, q);
        if d == T::zero() {
            return;
        }
        let k = g / d;
        for i in 0..p.len() {
            let u = k * wrap_angle(q[i] - p[i]);
            gp[i] -= u;
            gq[i] += u;
        }
    }
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
    fn project_tangent_jvp(&self, _p: &[T], _u: &[T], _dp: &[T], du: &[T], out: &mut [T]) {
        out.copy_from_slice(du);
    }
    fn project_tangent_vjp(&self, _p: &[T], _u: &[T], g: &[T], _gp: &mut [T], gu: &mut [T]) {
        for i in 0..g.len() {
            gu[i] += g[i];
        }
    }
}

/// Relative truncation error target of [`WrappedNormal::log_density`]: the omitted terms are at
/// most $4e^{-40} \approx 1.7\cdot10^{-17}$ of the kept sum, per coordinate.
const WN_TAIL_EXPONENT: f64 = 40.0;

/// Scale above which [`WrappedNormal::log_density`] switches from the sum over windings to the
/// Fourier (theta-function) series, which converges faster for wide distributions.
const WN_FOURIER_SIGMA: f64 = 2.0;

/// The wrapped normal distribution on $T^n$ with independent coordinates:
/// $x_i = \operatorname{wrap}(\mu_i + \sigma_i z_i)$, $z \sim \mathcal N(0, I_n)$.
///
/// Its density w.r.t. the Riemannian volume (Lebesgue measure on $\lbrack -\pi, \pi)^n$) is
/// $$p(x) = \prod_i \sum_{k \in \mathbb Z} \varphi_{\sigma_i}(\delta_i + 2\pi k), \qquad
/// \delta_i = \operatorname{wrap}(x_i - \mu_i),$$
/// with $\varphi_\sigma$ the $\mathcal N(0, \sigma^2)$ density. [`log_density`](Self::log_density)
/// truncates each sum with a proven bound (see there).
///
/// ```
/// use geoflow_manifolds::{prelude::*, torus::WrappedNormal};
/// let wn = WrappedNormal::<f64>::new(&[0.0, 3.0], &[0.1, 5.0])?;
/// // With σ = 0.1 the wrapping is invisible; with σ = 5 the coordinate is nearly uniform.
/// let lp = wn.log_density(&[0.0, 3.0]);
/// let expected = -(0.1f64 * (2.0 * std::f64::consts::PI).sqrt()).ln()
///     - (2.0 * std::f64::consts::PI).ln();
/// assert!((lp - expected).abs() < 1e-5);
/// # Ok::<(), ManifoldError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WrappedNormal<T> {
    mean: Vec<T>,
    sigma: Vec<T>,
}

impl<T: Real> WrappedNormal<T> {
    /// A wrapped normal with mean angles `mean` (wrapped into $\lbrack -\pi, \pi)$) and
    /// per-coordinate scales `sigma`. Errors: empty or unequal lengths, non-finite mean, or a
    /// scale that is not finite and positive.
    pub fn new(mean: &[T], sigma: &[T]) -> Result<Self, ManifoldError> {
        if mean.is_empty() {
            return Err(ManifoldError::InvalidParameter(
                "wrapped normal needs at least one coordinate",
            ));
        }
        if mean.len() != sigma.len() {
            return Err(ManifoldError::DimensionMismatch {
                expected: mean.len(),
                got: sigma.len(),
            });
        }
        if !all_finite(mean) {
            return Err(ManifoldError::NonFinite);
        }
        if sigma.iter().any(|&s| !(s > T::zero() && s.is_finite())) {
            return Err(ManifoldError::InvalidParameter(
                "wrapped normal scales must be finite and positive",
            ));
        }
        Ok(Self {
            mean: mean.iter().map(|&m| wrap_angle(m)).collect(),
            sigma: sigma.to_vec(),
        })
    }

    /// Number of angles $n$.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// The mean angles (wrapped).
    pub fn mean(&self) -> &[T] {
        &self.mean
    }

    /// The per-coordinate scales.
    pub fn sigma(&self) -> &[T] {
        &self.sigma
    }

    /// Draws one point into `out`: $\operatorname{wrap}(\mu_i + \sigma_i z_i)$.
    ///
    /// # Panics
    /// If `out.len() != n`.
    #[track_caller]
    pub fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        expect_dim(
            out.len(),
            self.mean.len(),
            "WrappedNormal::sample_into: out",
        );
        for ((o, &m), &s) in out.iter_mut().zip(&self.mean).zip(&self.sigma) {
            *o = wrap_angle(s.madd(T::standard_normal(rng), m));
        }
    }

    /// Log-density at `x` w.r.t. the Riemannian volume of $T^n$, computed in f64.
    ///
    /// Per coordinate, with $\delta = \operatorname{wrap}(x_i - \mu_i) \in \lbrack -\pi, \pi)$:
    ///
    /// - $\sigma \le 2$: the sum over windings $|k| \le K$, in log space around the $k = 0$ term,
    ///   $\log\varphi_\sigma(\delta) + \log\big(1 + \sum_{0 < |k| \le K}
    ///   e^{-2\pi k(\delta + \pi k)/\sigma^2}\big)$. Every omitted term is at most
    ///   $e^{-2\pi^2 K(K+1)/\sigma^2}$ times the $k = 0$ term and they decay geometrically, so
    ///   taking the smallest $K \ge 1$ with $2\pi^2K(K+1)/\sigma^2 \ge 40$ bounds the relative
    ///   error of the density by $4e^{-40} < 2\cdot10^{-17}$ ($K \le 2$ here).
    /// - $\sigma > 2$: the Fourier series
    ///   $\frac{1}{2\pi}\big(1 + 2\sum_{m=1}^{M} e^{-m^2\sigma^2/2}\cos m\delta\big)$ with the
    ///   smallest $M$ such that $(M+1)^2\sigma^2/2 \ge 40$; the omitted tail is below
    ///   $4e^{-40}$ while the kept sum is at least $0.72/(2\pi)$, so the relative error is below
    ///   $10^{-16}$ ($M \le 4$ here).
    ///
    /// # Panics
    /// If `x.len() != n`.
    #[track_caller]
    pub fn log_density(&self, x: &[T]) -> T {
        expect_dim(x.len(), self.mean.len(), "WrappedNormal::log_density: x");
        let mut total = 0.0f64;
        for ((&x, &m), &s) in x.iter().zip(&self.mean).zip(&self.sigma) {
            let delta = wrap_angle(x.to_f64_lossless() - m.to_f64_lossless());
            total += wrapped_normal_log_density_1d(delta, s.to_f64_lossless());
        }
        T::c(total)
    }
}

/// Log-density of the 1-D wrapped normal at $\delta \in \lbrack -\pi, \pi)$ (see
/// [`WrappedNormal::log_density`] for the truncation rule).
fn wrapped_normal_log_density_1d(delta: f64, sigma: f64) -> f64 {
    use core::f64::consts::PI;
    let s2 = sigma * sigma;
    if sigma <= WN_FOURIER_SIGMA {
        // Smallest K ≥ 1 with 2π²K(K+1)/σ² ≥ 40.
        let mut k_max = 1i64;
        while 2.0 * PI * PI * (k_max * (k_max + 1)) as f64 / s2 < WN_TAIL_EXPONENT {
            k_max += 1;
        }
        let mut rest = 0.0;
        for k in 1..=k_max {
            let kf = k as f64;
            // (δ ± 2πk)² − δ² = 4πk(πk ± δ) ≥ 0.
            rest += (-2.0 * PI * kf * (PI * kf + delta) / s2).exp();
            rest += (-2.0 * PI * kf * (PI * kf - delta) / s2).exp();
        }
        -0.5 * delta * delta / s2 - sigma.ln() - 0.5 * (2.0 * PI).ln() + rest.ln_1p()
    } else {
        // Smallest M ≥ 1 with (M+1)²σ²/2 ≥ 40.
        let mut m_max = 1i64;
        while ((m_max + 1) * (m_max + 1)) as f64 * s2 / 2.0 < WN_TAIL_EXPONENT {
            m_max += 1;
        }
        let mut sum = 0.0;
        for m in 1..=m_max {
            let mf = m as f64;
            sum += (-mf * mf * s2 / 2.0).exp() * (mf * delta).cos();
        }
        (2.0 * sum).ln_1p() - (2.0 * PI).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManifoldExt;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::f64::consts::PI;

    fn next_up(x: f64) -> f64 {
        f64::from_bits(if x >= 0.0 {
            x.to_bits() + 1
        } else {
            x.to_bits() - 1
        })
    }
    fn next_down(x: f64) -> f64 {
        -next_up(-x)
    }

    #[test]
    fn wrap_angle_exact_values_f64() {
        // Reference values from a 60-digit evaluation of x − 2πk.
        let cases = [
            (PI, -PI),
            (-PI, -PI),
            (3.0 * PI, 3.141_592_653_589_792_7),
            (-3.0 * PI, -3.141_592_653_589_792_7),
            (1e6, -0.357_564_167_085_735),
            (-1e6, 0.357_564_167_085_735),
            (123_456.789, -1.519_100_771_690_377_7),
            (-1e-30, -1e-30),
            (1e-300, 1e-300),
            (2.0 * PI, -2.449_293_598_294_706_4e-16),
            (6_283.185_307_179_587, 2.666_614_099_178_015e-13),
            (1e9, 0.577_395_423_501_385_2),
            (0.0, 0.0),
            (next_down(PI), next_down(PI)),
            (next_up(PI), -PI),
            (-next_up(PI), -PI),
        ];
        for (x, r) in cases {
            assert_eq!(wrap_angle(x), r, "wrap_angle({x:e})");
        }
        assert!(wrap_angle(f64::NAN).is_nan());
        assert!(wrap_angle(f64::INFINITY).is_nan());
    }

    #[test]
    fn wrap_angle_exact_values_f32() {
        let pi = core::f32::consts::PI;
        let cases: [(f32, f32); 9] = [
            // π_T (f32) is above π: its exact reduction is one ulp above −π_T.
            (pi, -3.141_592_5),
            (-pi, -pi),
            (3.0 * pi, -pi),
            (-3.0 * pi, -pi),
            (1e6, -0.357_564_18),
            (-1e6, 0.357_564_18),
            (-1e-30, -1e-30),
            (2.0 * pi, 1.748_455_5e-7),
            (1000.0 * 2.0 * pi, 2.396_954_1e-4),
        ];
        for (x, r) in cases {
            // Faithful: within one ulp of the exact reduction.
            let w = wrap_angle(x);
            let ulp = f32::EPSILON * r.abs().max(f32::MIN_POSITIVE);
            assert!(
                (w - r).abs() <= ulp,
                "wrap_angle({x:e}) = {w:e}, want {r:e}"
            );
        }
    }

    #[test]
    fn wrap_angle_matches_sin_cos_reduction() {
        // libm's sin/cos reduce their argument exactly (Payne–Hanek), so sin(wrap(x)) = sin(x)
        // to ~1 ulp exactly when the reduction is exact; a naive `x % TAU` is off by |x|·1e-16.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..2000 {
            let x = (rng.random::<f64>() - 0.5) * 2e6;
            let w = wrap_angle(x);
            assert!((-PI..PI).contains(&w));
            assert!((w.sin() - x.sin()).abs() < 4e-16, "x = {x}");
            assert!((w.cos() - x.cos()).abs() < 4e-16, "x = {x}");
            let x32 = x as f32;
            let w32 = wrap_angle(x32);
            let w64 = wrap_angle(x32 as f64);
            assert!((-core::f32::consts::PI..core::f32::consts::PI).contains(&w32));
            // f32 result is the rounding of the exact f64 reduction (or its ±π twin).
            let d = (w32 as f64 - w64).abs();
            let err = d.min((d - 2.0 * PI).abs());
            assert!(err <= 2.4e-7, "x = {x32}: {w32} vs {w64}");
        }
    }

    #[test]
    fn closed_forms_and_cut_locus() {
        let m = FlatTorus::<f64>::new(3).unwrap();
        let x = [3.0, -3.0, 0.5];
        let y = [-3.0, 3.0, 0.25];
        let v = m.log(&x, &y);
        let short = 2.0 * PI - 6.0;
        assert!((v[0] - short).abs() < 1e-15 && (v[1] + short).abs() < 1e-15);
        assert_eq!(v[2], -0.25);
        assert!((m.dist(&x, &y) - m.norm(&x, &v)).abs() < 1e-15);
        let e = m.exp(&x, &v);
        for i in 0..3 {
            assert!((e[i] - y[i]).abs() < 1e-15);
        }
        // Geodesic crosses the seam and ends at y; velocity is constant.
        let mid = m.geodesic(&x, &y, 0.5);
        assert!((mid[0] - wrap_angle(3.0 + short / 2.0)).abs() < 1e-15);
        let end = m.geodesic(&x, &y, 1.0);
        for i in 0..3 {
            assert!((end[i] - y[i]).abs() < 1e-15);
        }
        assert_eq!(m.geodesic_velocity(&x, &y, 0.7), v);
        // Cut locus: a component exactly π apart.
        let (a, b) = ([0.0, 0.0, 0.0], [-PI, 0.1, 0.0]);
        assert_eq!(m.try_log(&a, &b), Err(ManifoldError::CutLocus));
        assert_eq!(m.log(&a, &b)[0], -PI);
        assert_eq!(m.try_log(&b, &a), Err(ManifoldError::CutLocus));
        assert_eq!(m.log(&b, &a)[0], -PI);
        // Just inside on both sides of the tolerance.
        let c = [-PI + 1e-9, 0.1, 0.0];
        assert!(m.try_log(&a, &c).is_ok());
        assert!((m.dist(&a, &b) - (PI * PI + 0.01f64).sqrt()).abs() < 1e-15);
        assert_eq!(m.injectivity_radius(), PI);
        assert_eq!(m.curvature(), 0.0);
    }

    #[test]
    fn f32_cut_locus_is_symmetric() {
        let m = FlatTorus::<f32>::new(1).unwrap();
        let pi = core::f32::consts::PI;
        assert_eq!(m.try_log(&[0.0], &[-pi]), Err(ManifoldError::CutLocus));
        assert_eq!(m.try_log(&[-pi], &[0.0]), Err(ManifoldError::CutLocus));
        assert!(m.try_log(&[0.0], &[-pi + 1e-5]).is_ok());
    }

    #[test]
    fn checks() {
        let m = FlatTorus::<f64>::new(2).unwrap();
        assert!(FlatTorus::<f32>::new(0).is_err());
        assert!(m.check_point(&[PI, -PI]).is_ok());
        assert!(m.check_point(&[0.1, 3.2]).is_err());
        match m.check_point(&[0.1, 3.2]) {
            Err(ManifoldError::NotOnManifold { residual, tol }) => {
                assert!((residual - (3.2 - PI)).abs() < 1e-15 && tol > 0.0)
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(
            m.check_point(&[0.1]),
            Err(ManifoldError::DimensionMismatch {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            m.check_point(&[f64::NAN, 0.0]),
            Err(ManifoldError::NonFinite)
        );
        assert!(m.check_tangent(&[0.0, 0.0], &[100.0, -7.0]).is_ok());
        assert_eq!(
            m.check_tangent(&[0.0, 0.0], &[f64::INFINITY, 0.0]),
            Err(ManifoldError::NonFinite)
        );
        let mut out = [0.0; 2];
        m.project_point_into(&[7.0, -7.0], &mut out);
        assert!(m.check_point(&out).is_ok());
        assert!((out[0] - (7.0 - 2.0 * PI)).abs() < 1e-15);
    }

    #[test]
    fn sampling_and_base_density() {
        let m = FlatTorus::<f32>::new(7).unwrap();
        assert!((m.base_log_density(&[0.0; 7]) - -12.865_139).abs() < 1e-5);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut mean = 0.0f64;
        for _ in 0..2000 {
            let x = m.sample_base(&mut rng);
            assert!(m.check_point(&x).is_ok());
            assert!(x
                .iter()
                .all(|&a| (-core::f32::consts::PI..core::f32::consts::PI).contains(&a)));
            mean += x[0] as f64;
        }
        assert!((mean / 2000.0).abs() < 0.15);
    }

    #[test]
    fn wrapped_normal_density_integrates_to_one() {
        for &s in &[0.05, 0.5, 1.0, 1.9, 2.0, 2.1, 3.0, 10.0] {
            let wn = WrappedNormal::<f64>::new(&[2.5], &[s]).unwrap();
            // Midpoint rule on a periodic analytic function converges geometrically.
            let n = 4000;
            let h = 2.0 * PI / n as f64;
            let mass: f64 = (0..n)
                .map(|i| wn.log_density(&[-PI + (i as f64 + 0.5) * h]).exp() * h)
                .sum();
            assert!((mass - 1.0).abs() < 1e-12, "sigma {s}: mass {mass}");
        }
    }

    #[test]
    fn wrapped_normal_branches_agree_with_long_sum() {
        let long = |d: f64, s: f64| -> f64 {
            let mut t = 0.0;
            for k in -200i64..=200 {
                let z = (d + 2.0 * PI * k as f64) / s;
                t += (-0.5 * z * z).exp();
            }
            (t / (s * (2.0 * PI).sqrt())).ln()
        };
        for &s in &[0.01, 0.3, 1.0, 1.999, 2.0, 2.001, 4.0, 30.0] {
            for &d in &[-PI, -2.0, -0.1, 0.0, 1.0, 3.1] {
                let wn = WrappedNormal::<f64>::new(&[0.0], &[s]).unwrap();
                let a = wn.log_density(&[d]);
                let b = long(d, s);
                if b.is_finite() {
                    assert!(
                        (a - b).abs() < 1e-13 * (1.0 + b.abs()),
                        "s {s} d {d}: {a} vs {b}"
                    );
                }
            }
        }
        // Tiny σ far from the mean: finite (log space), equals the Gaussian tail.
        let wn = WrappedNormal::<f32>::new(&[0.0], &[1e-3]).unwrap();
        let lp = wn.log_density(&[3.0]);
        assert!(lp.is_finite() && lp < -4e6);
    }

    #[test]
    fn wrapped_normal_sampling_and_errors() {
        assert!(WrappedNormal::<f64>::new(&[], &[]).is_err());
        assert!(WrappedNormal::<f64>::new(&[0.0], &[0.0]).is_err());
        assert!(WrappedNormal::<f64>::new(&[0.0], &[f64::NAN]).is_err());
        assert!(WrappedNormal::<f64>::new(&[0.0, 1.0], &[1.0]).is_err());
        let wn = WrappedNormal::<f64>::new(&[7.0, -1.0], &[0.2, 0.2]).unwrap();
        assert!((wn.mean()[0] - (7.0 - 2.0 * PI)).abs() < 1e-15);
        assert_eq!(wn.dim(), 2);
        assert_eq!(wn.sigma(), &[0.2, 0.2]);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut out = [0.0; 2];
        let mut acc = [0.0; 2];
        for _ in 0..4000 {
            wn.sample_into(&mut rng, &mut out);
            for i in 0..2 {
                acc[i] += wrap_angle(out[i] - wn.mean()[i]) / 4000.0;
            }
        }
        assert!(acc[0].abs() < 0.02 && acc[1].abs() < 0.02);
    }

    fn fd_check<T: Real>(m: &FlatTorus<T>, tol: f64) {
        // JVP vs central differences (away from the seam) and VJP/JVP duality.
        let p: Vec<T> = [0.3, -2.0, 3.0].iter().map(|&x| T::c(x)).collect();
        let q: Vec<T> = [-2.9, 1.0, -3.0].iter().map(|&x| T::c(x)).collect();
        let dp: Vec<T> = [0.7, -0.2, 0.1].iter().map(|&x| T::c(x)).collect();
        let dq: Vec<T> = [0.3, 0.5, -0.4].iter().map(|&x| T::c(x)).collect();
        let g: Vec<T> = [1.0, -2.0, 0.5].iter().map(|&x| T::c(x)).collect();
        let h = T::pick((1e-3, 1e-6));
        let plus: Vec<T> = p.iter().zip(&dp).map(|(&a, &b)| a + h * b).collect();
        let minus: Vec<T> = p.iter().zip(&dp).map(|(&a, &b)| a - h * b).collect();
        let qp: Vec<T> = q.iter().zip(&dq).map(|(&a, &b)| a + h * b).collect();
        let qm: Vec<T> = q.iter().zip(&dq).map(|(&a, &b)| a - h * b).collect();
        let fd = (m.dist(&plus, &qp) - m.dist(&minus, &qm)) / (T::c(2.0) * h);
        let jvp = m.dist_jvp(&p, &q, &dp, &dq);
        assert!((fd - jvp).abs().to_f64_lossless() < tol, "dist jvp");
        let mut gp = vec![T::zero(); 3];
        let mut gq = vec![T::zero(); 3];
        m.dist_vjp(&p, &q, T::one(), &mut gp, &mut gq);
        let dual = dot(&gp, &dp) + dot(&gq, &dq);
        assert!((dual - jvp).abs().to_f64_lossless() < tol);
        let mut out = vec![T::zero(); 3];
        m.log_jvp(&p, &q, &dp, &dq, &mut out);
        let lp = m.log(&plus, &qp);
        let lm = m.log(&minus, &qm);
        for i in 0..3 {
            let fd = (lp[i] - lm[i]) / (T::c(2.0) * h);
            assert!((fd - out[i]).abs().to_f64_lossless() < tol);
        }
        let (mut gp, mut gq) = (vec![T::zero(); 3], vec![T::zero(); 3]);
        m.log_vjp(&p, &q, &g, &mut gp, &mut gq);
        let lhs = dot(&g, &out);
        let rhs = dot(&gp, &dp) + dot(&gq, &dq);
        assert!((lhs - rhs).abs().to_f64_lossless() < tol);
        m.exp_jvp(&p, &q, &dp, &dq, &mut out);
        let (mut gp, mut gv) = (vec![T::zero(); 3], vec![T::zero(); 3]);
        m.exp_vjp(&p, &q, &g, &mut gp, &mut gv);
        assert!(
            (dot(&g, &out) - dot(&gp, &dp) - dot(&gv, &dq))
                .abs()
                .to_f64_lossless()
                < tol
        );
        // Zero subgradient at p = q.
        assert_eq!(m.dist_jvp(&p, &p, &dp, &dq), T::zero());
        let u = [T::c(1.0), T::c(2.0), T::c(-1.0)];
        let j = m.inner_jvp(&p, &u, &g, &dp, &dq, &dp);
        let (mut a, mut b, mut c) = (vec![T::zero(); 3], vec![T::zero(); 3], vec![T::zero(); 3]);
        m.inner_vjp(&p, &u, &g, T::one(), &mut a, &mut b, &mut c);
        assert!((j - dot(&b, &dq) - dot(&c, &dp)).abs().to_f64_lossless() < tol);
        m.project_tangent_jvp(&p, &u, &dp, &dq, &mut out);
        assert_eq!(out, dq);
        let (mut a, mut b) = (vec![T::zero(); 3], vec![T::zero(); 3]);
        m.project_tangent_vjp(&p, &u, &g, &mut a, &mut b);
        assert_eq!(b, g);
    }

    #[test]
    fn derivatives_both_dtypes() {
        fd_check(&FlatTorus::<f64>::new(3).unwrap(), 1e-8);
        fd_check(&FlatTorus::<f32>::new(3).unwrap(), 2e-3);
    }

    #[test]
    fn batch_matches_loop_and_transport_is_identity() {
        let m = FlatTorus::<f32>::new(2).unwrap();
        let ps = [0.1f32, 3.0, -3.0, 0.0];
        let qs = [-3.1f32, -3.0, 3.0, 1.0];
        let mut outs = [0.0f32; 4];
        m.log_batch_into(&ps, &qs, &mut outs);
        assert_eq!(&outs[..2], &m.log(&ps[..2], &qs[..2])[..]);
        assert_eq!(&outs[2..], &m.log(&ps[2..], &qs[2..])[..]);
        assert_eq!(m.transport(&ps[..2], &qs[..2], &[1.0, 2.0]), vec![1.0, 2.0]);
    }
}
