//! The probability simplex $\Delta^n = \lbrace p \in \mathbb R^{n+1} : p_i \ge 0,\ \sum_i p_i = 1 \rbrace$
//! with the Fisher–Rao metric $g_p(u, v) = \sum_i u_i v_i / p_i$.
//!
//! Points are probability vectors of `n + 1` categories; tangent vectors sum to zero. Every
//! formula goes through the square-root map $\varphi(p) = \sqrt p$ (elementwise), an isometry
//! from $(\Delta^n, g)$ onto the positive orthant of the sphere of **radius 2**:
//! with $x = \sqrt p$, $z = \sqrt q$ and $w = v / (2\sqrt p) = d\varphi_p(v)$ (a unit-sphere
//! tangent vector, $\lVert v \rVert_p = 2\lVert w \rVert$),
//!
//! - $d(p, q) = 2\alpha$, $\alpha = \angle(x, z) = 2\operatorname{atan2}(\lVert z - x\rVert,
//!   \lVert z + x\rVert) \in \lbrack 0, \pi/2 \rbrack$ (equal to $2\arccos\sum_i\sqrt{p_iq_i}$,
//!   never computed with `acos`), so the diameter of $\Delta^n$ is $\pi$;
//! - $\exp_p(v) = \big(\cos\theta\\,x + \operatorname{sinc}\theta\\,w\big)^{\odot 2}$,
//!   $\theta = \lVert w \rVert = \tfrac12\lVert v\rVert_p$, so $d(p, \exp_p v) = \lVert v \rVert_p$
//!   while the geodesic stays inside the simplex;
//! - $\log_p(q) = 2\sqrt p \odot \frac{\alpha}{\sin\alpha}(z - \cos\alpha\\,x)
//!   = \frac{2\alpha}{\sin\alpha}\big(\sqrt p \odot (z - x) + 2\sin^2\tfrac\alpha2\\,p\big)$;
//! - geodesic: the squared slerp $\gamma(t) = y(t)^{\odot 2}$,
//!   $y(t) = \frac{\sin((1-t)\alpha)\\,x + \sin(t\alpha)\\,z}{\sin\alpha}$, velocity
//!   $\dot\gamma = 2y \odot \dot y$ with
//!   $\dot y = \frac{\alpha}{\sin\alpha}\big(\cos(t\alpha)(z - x) - 2\sin\tfrac\alpha2
//!   \sin((t - \tfrac12)\alpha)\\,x\big)$;
//! - parallel transport: push $w = v/(2\sqrt p)$ to the sphere, transport there,
//!   $w' = w - \frac{\langle z, w\rangle}{1 + \langle x, z\rangle}(x + z)$, pull back
//!   $2\sqrt q \odot w'$;
//! - tangent projection: the $g$-orthogonal one, $P_p(u) = u - \frac{\sum_i u_i}{\sum_i p_i}\\,p$.
//!   The $g$-normal space at $p$ is spanned by $p$ itself ($g_p(p, t) = \sum_i t_i = 0$), so this
//!   is the metric projection; it is also what makes $P_p$ self-adjoint in $g_p$, which the
//!   divergence and likelihood code relies on. (The Euclidean alternative
//!   $u - \operatorname{mean}(u)\mathbf 1$, used by some reference code, also yields tangent
//!   vectors but is not orthogonal for $g$.)
//!
//! # Domain
//!
//! - `dist`, `log_into` (values), `geodesic_into` and `geodesic_velocity_into` accept the whole
//!   **closed** simplex, zeros included: they never divide by $p_i$. (Tiny negative entries, as
//!   left by rounding, are read as 0.)
//! - `exp_into`, `inner`, `transport_into` and all derivatives are meant for **interior**
//!   points ($p_i > 0$), where the metric is finite. At a zero coordinate they use the face
//!   convention: a tangent vector there has $v_i = 0$, so $w_i$ is taken as 0 (no 0/0), and a
//!   derivative term that would divide by $\sqrt{p_i} = 0$ is dropped. `inner` returns $+\infty$
//!   if a vector has $v_i \ne 0$ where $p_i = 0$ (its Fisher–Rao norm is infinite).
//!
//! # When exp leaves the simplex
//!
//! The simplex is not complete: on the sphere, $y(\theta) = \cos\theta\\,x + \sin\theta\\,\hat w$
//! crosses the face $y_i = 0$ at $\theta_i = \operatorname{atan2}(x_i, -\hat w_i)$ for every $i$
//! with $\hat w_i < 0$, and since $\sum_i x_i \hat w_i = 0$ there always is one, before
//! $\theta = \pi/2$. So every geodesic from an interior point reaches the boundary at Fisher–Rao
//! length $< \pi$ (and arbitrarily soon near a face). Past that point the squared form is still a
//! point of the closed simplex (its entries are squares and sum to $\cos^2\theta + \sin^2\theta
//! = 1$), namely the great circle folded back into the orthant, a billiard path that reflects off
//! the face. `exp_into` returns that point (it is continuous, never NaN, and always a valid
//! point), but it is no longer the Riemannian exponential: there $d(p, \exp_p v) < \lVert v
//! \rVert_p$. [`Simplex::try_exp_into`] returns [`ManifoldError::LeftDomain`] instead, with the
//! most negative sphere coordinate $-\min_i y_i$ as the residual.
//!
//! `log` has no cut locus: any two points of the closed simplex are joined by the unique
//! minimising geodesic (the squared slerp, whose coefficients are non-negative), so `try_log`
//! never fails. **Injectivity radius:** [`Manifold::injectivity_radius`] reports $\pi$, the
//! diameter of $\Delta^n$ (reached between two vertices). On the sphere of radius 2 the
//! exponential is injective up to $2\pi$, so $\exp_p$ is injective on every ball of radius $\pi$
//! and $\log_p$ is defined on the whole simplex; what limits the exponential is the boundary, not
//! the cut locus (see above).
//!
//! # Base distribution and reference measures
//!
//! The base distribution is the flat Dirichlet$(\mathbf 1)$: uniform with respect to **Lebesgue
//! measure on the first $n$ coordinates** $(p_1, \dots, p_n)$, where its density is
//! $n! = \Gamma(n+1)$ ([`Simplex::log_density_lebesgue`]). Like every other manifold of the crate,
//! [`Sample::base_log_density`] returns the density with respect to the **Riemannian
//! (Fisher–Rao) volume**, $d\mathrm{vol} = \prod_i p_i^{-1/2}\\,dp_1\cdots dp_n$ (total volume
//! $\pi^{(n+1)/2}/\Gamma(\frac{n+1}2)$, the area of the orthant of the radius-2 sphere), which is
//! $\log p_0(p) = \log n! + \tfrac12 \sum_i \log p_i$ ($-\infty$ on the boundary). [`Dirichlet`]
//! gives general concentration parameters with both densities.
//!
//! # Numerical notes
//!
//! - $z - x$ is computed as $(q - p)/(\sqrt q + \sqrt p)$: exact differences of nearby points,
//!   so `dist` and `log` keep full relative accuracy for points $10^{-10}$ apart (where
//!   `acos` of the Bhattacharyya coefficient would return 0 or lose all digits).
//! - The angle is $\alpha = 2\operatorname{atan2}(C, A)$, with chord $C = \lVert z - x \rVert$
//!   and anti-chord $A = \lVert z + x \rVert$; $2\sin^2(\alpha/2) = 2C^2/(C^2 + A^2)$ has no
//!   cancellation. Series: $\alpha/\sin\alpha$, $\operatorname{sinc}$,
//!   $\operatorname{sinc}'(x)/x$ from [`numerics`](crate::numerics), and [`atan_over_x`]
//!   (cutoffs [`ATAN_OVER_X_CUTOFF`]) in the derivatives of `log` and `dist`.
//! - The derivatives differentiate the ambient formulas as implemented, with $p$ and $q$ used
//!   as given (not renormalised); see `docs/math/simplex.md`.
//! - f32 envelope (measured in the tests against f64 on the same f32 inputs): `dist`, `log`,
//!   `exp`, `geodesic`, `geodesic_velocity` and transport have relative error below `1e-6`
//!   (worst seen: 6.4e-7, the velocity) for $p_i \ge 10^{-6}$, distances from $10^{-6}$ to
//!   $\pi$ and tangent norms $10^{-12}\dots 1$; distances within $10^{-3}$ of $\pi$ to
//!   1e-6 relative. The JVPs/VJPs of exp, log and dist agree with f64 to below `1e-5`
//!   (worst seen: 6.9e-6) for $p_i \ge 10^{-3}$: their $1/\sqrt{p_i}$ factors amplify the
//!   rounding of the inputs. Closer to a face the f32 envelope is not claimed: `exp` divides by
//!   $\sqrt{p_i}$, so the small coordinates lose relative accuracy.
//!
//! ```
//! use geoflow_manifolds::{prelude::*, Simplex};
//! let m = Simplex::<f64>::new(2)?; // 3 categories
//! let p = [0.2f64, 0.3, 0.5];
//! let q = [0.6f64, 0.3, 0.1];
//! let bc: f64 = p.iter().zip(&q).map(|(a, b)| (a * b).sqrt()).sum();
//! assert!((m.dist(&p, &q) - 2.0 * bc.acos()).abs() < 1e-14);
//! let v = m.log(&p, &q);
//! assert!(v.iter().sum::<f64>().abs() < 1e-15);          // tangent: sums to 0
//! assert!((m.norm(&p, &v) - m.dist(&p, &q)).abs() < 1e-14); // ‖log‖ = d
//! let back = m.exp(&p, &v);
//! assert!(back.iter().zip(&q).all(|(a, b)| (a - b).abs() < 1e-15));
//! # Ok::<(), ManifoldError>(())
//! ```

use core::marker::PhantomData;

use crate::manifold::expect_dim;
use crate::numerics::{all_finite, horner, sinc, sinc_prime_over_x, x_over_sin};
use crate::simplex_batch as sb;
use crate::torus_batch::shapes;
use crate::{Differentiable, Manifold, ManifoldError, ParallelTransport, Real, Sample};
use rand::Rng;
use rand_distr::Distribution;

/// Series cutoffs of [`atan_over_x`] as (f32, f64). No cancellation: the series only avoids 0/0,
/// and its first omitted term, $x^8/9$, is below half an ulp under the cutoff.
pub const ATAN_OVER_X_CUTOFF: (f32, f64) = (1e-2, 1e-4);

/// $\arctan(x)/x$, with value 1 at 0.
#[inline]
pub fn atan_over_x<T: Real>(x: T) -> T {
    if x.abs() < T::pick(ATAN_OVER_X_CUTOFF) {
        horner(x * x, &[1.0, -1.0 / 3.0, 1.0 / 5.0, -1.0 / 7.0])
    } else {
        x.atan() / x
    }
}

/// $\log\Gamma(x)$ for $x > 0$ (Lanczos, $g = 7$, 9 terms; relative error about $10^{-15}$).
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    use core::f64::consts::PI;
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// $\sqrt{\max(p, 0)}$: rounding may leave tiny negative entries on a face.
#[inline(always)]
fn sqrt0<T: Real>(p: T) -> T {
    p.max(T::zero()).sqrt()
}

/// $1/x$ for $x > 0$, else 0 (the face convention of the module docs).
#[inline(always)]
fn recip0<T: Real>(x: T) -> T {
    if x > T::zero() {
        x.recip()
    } else {
        T::zero()
    }
}

/// $\sqrt q - \sqrt p$ computed as $(q - p)/(\sqrt q + \sqrt p)$ (exact for nearby points).
#[inline(always)]
fn sqrt_diff<T: Real>(p: T, q: T, x: T, z: T) -> T {
    let s = x + z;
    if s > T::zero() {
        (q.max(T::zero()) - p.max(T::zero())) / s
    } else {
        T::zero()
    }
}

/// Squared chord $C^2 = \lVert \sqrt q - \sqrt p\rVert^2$ and anti-chord
/// $A^2 = \lVert \sqrt q + \sqrt p\rVert^2$.
#[inline]
fn chord_anti<T: Real>(p: &[T], q: &[T]) -> (T, T) {
    let (mut c2, mut a2) = (T::zero(), T::zero());
    for (&p, &q) in p.iter().zip(q) {
        let (x, z) = (sqrt0(p), sqrt0(q));
        let d = sqrt_diff(p, q, x, z);
        let e = x + z;
        c2 = d.madd(d, c2);
        a2 = e.madd(e, a2);
    }
    (c2, a2)
}

/// The quantities of $\log_p q$ that do not depend on the coordinate (see the module docs).
struct LogScalars<T> {
    /// $\alpha = 2\operatorname{atan2}(C, A)$.
    alpha: T,
    /// $\kappa = \alpha/\sin\alpha$.
    kappa: T,
    /// $\sigma = 2\sin^2(\alpha/2) = 2C^2/(C^2 + A^2)$.
    sigma: T,
    /// $C^2$, $A^2$.
    c2: T,
    a2: T,
}

#[inline]
fn log_scalars<T: Real>(p: &[T], q: &[T]) -> LogScalars<T> {
    let (c2, a2) = chord_anti(p, q);
    let alpha = T::c(2.0) * c2.sqrt().atan2(a2.sqrt());
    let r2 = c2 + a2;
    let sigma = if r2 > T::zero() {
        T::c(2.0) * c2 / r2
    } else {
        T::zero()
    };
    LogScalars {
        alpha,
        kappa: x_over_sin(alpha),
        sigma,
        c2,
        a2,
    }
}

/// The probability simplex $\Delta^n$ (`n + 1` categories) with the Fisher–Rao metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Simplex<T> {
    n: usize,
    /// $\log n!$, the log-density of the flat Dirichlet w.r.t. Lebesgue measure.
    log_n_factorial: f64,
    _t: PhantomData<T>,
}

impl<T: Real> Simplex<T> {
    /// $\Delta^n$ for $n \ge 1$: points have `n + 1` coordinates.
    pub fn new(n: usize) -> Result<Self, ManifoldError> {
        if n == 0 {
            return Err(ManifoldError::InvalidParameter(
                "simplex dimension must be at least 1 (two categories)",
            ));
        }
        Ok(Self {
            n,
            log_n_factorial: ln_gamma(n as f64 + 1.0),
            _t: PhantomData,
        })
    }

    #[track_caller]
    fn expect3(&self, a: usize, b: usize, out: usize, what: &str) {
        let d = self.n + 1;
        expect_dim(a, d, what);
        expect_dim(b, d, what);
        expect_dim(out, d, what);
    }

    /// Like [`exp_into`](Manifold::exp_into), but returns [`ManifoldError::LeftDomain`] when the
    /// geodesic leaves the closed orthant before time 1, i.e. when some sphere coordinate
    /// $y_i = \cos\theta\\,x_i + \operatorname{sinc}\theta\\,w_i$ is below $-\epsilon$ (one ulp
    /// at unit scale, so that a step that lands exactly on a face is accepted). The residual is
    /// $-\min_i y_i$. `out` receives the folded point in either case.
    ///
    /// Every geodesic from a point of the simplex leaves it before $\theta = \pi/2$ (module
    /// docs), so $\theta > \pi/2$ is reported too, even where the end point has come back into
    /// the orthant ($\theta$ near $2\pi$; the residual may then be 0).
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    pub fn try_exp_into(&self, p: &[T], v: &[T], out: &mut [T]) -> Result<(), ManifoldError> {
        self.expect3(p.len(), v.len(), out.len(), "Simplex::try_exp_into");
        let (theta, c, s) = self.exp_coeffs(p, v);
        let mut worst = T::zero();
        for ((o, &p), &v) in out.iter_mut().zip(p).zip(v) {
            let x = sqrt0(p);
            let y = c * x + s * (v * T::c(0.5) * recip0(x));
            worst = worst.max(-y);
            *o = y * y;
        }
        // Past θ = π/2 the path has left the orthant on the way even where the end point is
        // back inside (θ close to 2π).
        if worst > T::epsilon() || theta > T::FRAC_PI_2() {
            return Err(ManifoldError::LeftDomain {
                residual: worst.to_f64_lossless(),
            });
        }
        Ok(())
    }

    /// [`try_exp_into`](Self::try_exp_into) into a new vector.
    pub fn try_exp(&self, p: &[T], v: &[T]) -> Result<Vec<T>, ManifoldError> {
        let mut out = vec![T::zero(); self.n + 1];
        self.try_exp_into(p, v, &mut out)?;
        Ok(out)
    }

    /// Log-density of the base distribution (flat Dirichlet) w.r.t. Lebesgue measure on the
    /// first $n$ coordinates: the constant $\log n!$ on the simplex.
    pub fn log_density_lebesgue(&self, _p: &[T]) -> T {
        T::c(self.log_n_factorial)
    }

    /// $(\theta, \cos\theta, \operatorname{sinc}\theta)$ of $\exp_p(v)$,
    /// $\theta = \lVert v/(2\sqrt p)\rVert$.
    #[inline]
    fn exp_coeffs(&self, p: &[T], v: &[T]) -> (T, T, T) {
        let mut t2 = T::zero();
        for (&p, &v) in p.iter().zip(v) {
            let w = v * T::c(0.5) * recip0(sqrt0(p));
            t2 = w.madd(w, t2);
        }
        let theta = t2.sqrt();
        (theta, theta.cos(), sinc(theta))
    }
}

impl<T: Real> Manifold for Simplex<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.n
    }
    fn ambient_dim(&self) -> usize {
        self.n + 1
    }
    /// $\big(\cos\theta\\,\sqrt p + \operatorname{sinc}\theta\\,\frac{v}{2\sqrt p}\big)^{\odot 2}$,
    /// $\theta = \lVert v/(2\sqrt p)\rVert$. Past the boundary this is the folded point (see
    /// the module docs and [`Simplex::try_exp_into`]).
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    fn exp_into(&self, p: &[T], v: &[T], out: &mut [T]) {
        self.expect3(p.len(), v.len(), out.len(), "Simplex::exp_into");
        let (_, c, s) = self.exp_coeffs(p, v);
        for ((o, &p), &v) in out.iter_mut().zip(p).zip(v) {
            let x = sqrt0(p);
            let y = c * x + s * (v * T::c(0.5) * recip0(x));
            *o = y * y;
        }
    }
    /// $\frac{2\alpha}{\sin\alpha}\big(\sqrt p\odot(\sqrt q - \sqrt p) + 2\sin^2\tfrac\alpha2\\,p\big)$.
    /// Never at a cut locus (see the module docs).
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    fn log_into(&self, p: &[T], q: &[T], out: &mut [T]) {
        self.expect3(p.len(), q.len(), out.len(), "Simplex::log_into");
        let s = log_scalars(p, q);
        let k2 = T::c(2.0) * s.kappa;
        for ((o, &p), &q) in out.iter_mut().zip(p).zip(q) {
            let (x, z) = (sqrt0(p), sqrt0(q));
            let d = sqrt_diff(p, q, x, z);
            *o = k2 * x.madd(d, s.sigma * p);
        }
    }
    /// $\sum_i u_i v_i / p_i$ (a zero $p_i$ contributes 0 if $u_iv_i = 0$, else $\pm\infty$).
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    fn inner(&self, p: &[T], u: &[T], v: &[T]) -> T {
        self.expect3(p.len(), u.len(), v.len(), "Simplex::inner");
        let mut s = T::zero();
        for ((&p, &u), &v) in p.iter().zip(u).zip(v) {
            let uv = u * v;
            if p > T::zero() {
                s += uv / p;
            } else if uv != T::zero() {
                s += uv / T::zero();
            }
        }
        s
    }
    /// $4\operatorname{atan2}(\lVert \sqrt q - \sqrt p\rVert, \lVert \sqrt q + \sqrt p\rVert)$,
    /// accurate over $\lbrack 0, \pi \rbrack$, zeros allowed.
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    fn dist(&self, p: &[T], q: &[T]) -> T {
        self.expect3(p.len(), q.len(), p.len(), "Simplex::dist");
        let (c2, a2) = chord_anti(p, q);
        T::c(4.0) * c2.sqrt().atan2(a2.sqrt())
    }
    /// Clamps negative (and NaN) entries to 0 and renormalises to sum 1; the all-zero vector
    /// maps to the uniform distribution. This is a retraction onto the simplex (the identity
    /// on it), not the Euclidean nearest point (which would shift every entry by the same
    /// amount before clamping).
    fn project_point_into(&self, x: &[T], out: &mut [T]) {
        let m = x.iter().fold(T::zero(), |m, &a| m.max(a));
        if m == T::zero() {
            let u = T::one() / T::c((self.n + 1) as f64);
            out.iter_mut().for_each(|o| *o = u);
            return;
        }
        // Scale by the largest entry first so that huge inputs do not overflow the sum.
        let mut s = T::zero();
        for (o, &a) in out.iter_mut().zip(x) {
            *o = a.max(T::zero()) / m;
            s += *o;
        }
        out.iter_mut().for_each(|o| *o /= s);
    }
    /// The $g$-orthogonal projection $u - \frac{\sum_i u_i}{\sum_i p_i}\\,p$.
    fn project_tangent_into(&self, p: &[T], u: &[T], out: &mut [T]) {
        let c = u.iter().copied().sum::<T>() / p.iter().copied().sum::<T>();
        for ((o, &p), &u) in out.iter_mut().zip(p).zip(u) {
            *o = (-c).madd(p, u);
        }
    }
    /// Length, finiteness, $p_i \ge -\mathrm{tol}$ and $|\sum_i p_i - 1| \le
    /// \mathrm{tol}\cdot(n+1)$ with `tol = T::check_tol()`. The error carries the violated
    /// residual (most negative entry, sign flipped, or the sum's deviation) and its tolerance.
    fn check_point(&self, p: &[T]) -> Result<(), ManifoldError> {
        let d = self.n + 1;
        if p.len() != d {
            return Err(ManifoldError::DimensionMismatch {
                expected: d,
                got: p.len(),
            });
        }
        if !all_finite(p) {
            return Err(ManifoldError::NonFinite);
        }
        let tol = T::check_tol();
        let neg = p.iter().fold(T::zero(), |m, &a| m.max(-a));
        if neg > tol {
            return Err(ManifoldError::NotOnManifold {
                residual: neg.to_f64_lossless(),
                tol: tol.to_f64_lossless(),
            });
        }
        let sum_err = (p.iter().copied().sum::<T>() - T::one()).abs();
        let tol_sum = tol * T::c(d as f64);
        if sum_err > tol_sum {
            return Err(ManifoldError::NotOnManifold {
                residual: sum_err.to_f64_lossless(),
                tol: tol_sum.to_f64_lossless(),
            });
        }
        Ok(())
    }
    /// `p` must be a point, `v` finite of length `n + 1` with
    /// $|\sum_i v_i| \le \mathrm{tol}\cdot\max(1, \lVert v\rVert_1)$.
    fn check_tangent(&self, p: &[T], v: &[T]) -> Result<(), ManifoldError> {
        self.check_point(p)?;
        let d = self.n + 1;
        if v.len() != d {
            return Err(ManifoldError::DimensionMismatch {
                expected: d,
                got: v.len(),
            });
        }
        if !all_finite(v) {
            return Err(ManifoldError::NonFinite);
        }
        let l1 = v.iter().fold(T::zero(), |s, &a| s + a.abs());
        let tol = T::check_tol() * l1.max(T::one());
        let residual = v.iter().copied().sum::<T>().abs();
        if residual > tol {
            return Err(ManifoldError::NotTangent {
                residual: residual.to_f64_lossless(),
                tol: tol.to_f64_lossless(),
            });
        }
        Ok(())
    }
    /// The squared slerp $\big(\frac{\sin((1-t)\alpha)}{\sin\alpha}\sqrt p +
    /// \frac{\sin(t\alpha)}{\sin\alpha}\sqrt q\big)^{\odot 2}$, with the ratios written as
    /// $(1-t)\operatorname{sinc}((1-t)\alpha)/\operatorname{sinc}\alpha$ (no 0/0 at $p = q$).
    /// Zeros allowed; for $t \notin \lbrack 0, 1\rbrack$ the extension is folded like `exp`.
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    fn geodesic_into(&self, p: &[T], q: &[T], t: T, out: &mut [T]) {
        self.expect3(p.len(), q.len(), out.len(), "Simplex::geodesic_into");
        let (c2, a2) = chord_anti(p, q);
        let alpha = T::c(2.0) * c2.sqrt().atan2(a2.sqrt());
        let s = sinc(alpha);
        let ta = t * alpha;
        let a = (T::one() - t) * sinc(alpha - ta) / s;
        let b = t * sinc(ta) / s;
        for ((o, &p), &q) in out.iter_mut().zip(p).zip(q) {
            let y = a.madd(sqrt0(p), b * sqrt0(q));
            *o = y * y;
        }
    }
    /// $2y(t)\odot\dot y(t)$ with $\dot y = \frac{\alpha}{\sin\alpha}\big(\cos(t\alpha)(\sqrt q -
    /// \sqrt p) - 2\sin\tfrac\alpha2\sin((t-\tfrac12)\alpha)\sqrt p\big)$: no cancellation and no
    /// 0/0 as $\alpha \to 0$, where it tends to $2\sqrt{\gamma(t)}\odot(\sqrt q - \sqrt p)$.
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    fn geodesic_velocity_into(&self, p: &[T], q: &[T], t: T, out: &mut [T]) {
        self.expect3(
            p.len(),
            q.len(),
            out.len(),
            "Simplex::geodesic_velocity_into",
        );
        let (c2, a2) = chord_anti(p, q);
        let alpha = T::c(2.0) * c2.sqrt().atan2(a2.sqrt());
        let half = T::c(0.5);
        let s = sinc(alpha);
        let ta = t * alpha;
        let a = (T::one() - t) * sinc(alpha - ta) / s;
        let b = t * sinc(ta) / s;
        let kappa = x_over_sin(alpha);
        let cd = kappa * ta.cos();
        let cx = -kappa * T::c(2.0) * (half * alpha).sin() * ((t - half) * alpha).sin();
        for ((o, &p), &q) in out.iter_mut().zip(p).zip(q) {
            let (x, z) = (sqrt0(p), sqrt0(q));
            let y = a.madd(x, b * z);
            let ydot = cd.madd(sqrt_diff(p, q, x, z), cx * x);
            *o = T::c(2.0) * y * ydot;
        }
    }
    /// $\pi$, the diameter of $\Delta^n$ (see the module docs for why this, not the boundary
    /// distance, is reported).
    fn injectivity_radius(&self) -> T {
        T::PI()
    }

    /// Batched [`dist`](Manifold::dist): vectorised three-pass kernel (`simplex_batch.rs`),
    /// within a few ulps of the row-wise scalar kernel.
    #[track_caller]
    fn dist_batch_into(&self, ps: &[T], qs: &[T], ds: &mut [T]) {
        let d = self.n + 1;
        shapes(&[ps, qs], d, ds, 1, "dist_batch_into");
        sb::dist(ps, qs, d, ds);
    }
    /// Batched [`exp_into`](Manifold::exp_into) (vectorised, a few ulps from the scalar kernel).
    #[track_caller]
    fn exp_batch_into(&self, ps: &[T], vs: &[T], outs: &mut [T]) {
        let d = self.n + 1;
        shapes(&[ps, vs], d, outs, d, "exp_batch_into");
        sb::exp(ps, vs, d, outs);
    }
    /// Batched [`log_into`](Manifold::log_into) (vectorised, a few ulps from the scalar kernel).
    #[track_caller]
    fn log_batch_into(&self, ps: &[T], qs: &[T], outs: &mut [T]) {
        let d = self.n + 1;
        shapes(&[ps, qs], d, outs, d, "log_batch_into");
        sb::log(ps, qs, d, outs);
    }
    /// Batched [`project_point_into`](Manifold::project_point_into) (vectorised).
    #[track_caller]
    fn project_point_batch_into(&self, xs: &[T], outs: &mut [T]) {
        let d = self.n + 1;
        shapes(&[xs], d, outs, d, "project_point_batch_into");
        sb::project_point(xs, d, outs);
    }
    /// Batched [`inner`](Manifold::inner) (vectorised).
    #[track_caller]
    fn inner_batch_into(&self, ps: &[T], us: &[T], vs: &[T], out: &mut [T]) {
        let d = self.n + 1;
        shapes(&[ps, us, vs], d, out, 1, "inner_batch_into");
        sb::inner(ps, us, vs, d, out);
    }
    /// Batched [`geodesic_into`](Manifold::geodesic_into) (vectorised, a few ulps from the
    /// scalar kernel).
    #[track_caller]
    fn geodesic_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        let d = self.n + 1;
        let n = shapes(&[ps, qs], d, outs, d, "geodesic_batch_into");
        crate::batch::expect_len(ts.len(), n, 1, "geodesic_batch_into: ts");
        sb::geodesic(ps, qs, ts, d, outs);
    }
    /// Batched [`geodesic_velocity_into`](Manifold::geodesic_velocity_into) (vectorised, a few
    /// ulps from the scalar kernel).
    #[track_caller]
    fn geodesic_velocity_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        let d = self.n + 1;
        let n = shapes(&[ps, qs], d, outs, d, "geodesic_velocity_batch_into");
        crate::batch::expect_len(ts.len(), n, 1, "geodesic_velocity_batch_into: ts");
        sb::geodesic_velocity(ps, qs, ts, d, outs);
    }
}

impl<T: Real> ParallelTransport for Simplex<T> {
    /// $2\sqrt q \odot \big(w - \frac{\langle \sqrt q, w\rangle}{1 + \langle \sqrt p, \sqrt q
    /// \rangle}(\sqrt p + \sqrt q)\big)$ with $w = v/(2\sqrt p)$: the sphere transport conjugated
    /// by the square-root isometry. The denominator is at least 1 on the simplex.
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    fn transport_into(&self, p: &[T], q: &[T], v: &[T], out: &mut [T]) {
        self.expect3(p.len(), q.len(), v.len(), "Simplex::transport_into");
        expect_dim(out.len(), self.n + 1, "Simplex::transport_into: out");
        let (mut zw, mut xz) = (T::zero(), T::zero());
        for ((&p, &q), &v) in p.iter().zip(q).zip(v) {
            let (x, z) = (sqrt0(p), sqrt0(q));
            zw = z.madd(v * T::c(0.5) * recip0(x), zw);
            xz = x.madd(z, xz);
        }
        let k = zw / (T::one() + xz);
        for (((o, &p), &q), &v) in out.iter_mut().zip(p).zip(q).zip(v) {
            let (x, z) = (sqrt0(p), sqrt0(q));
            let w = v * T::c(0.5) * recip0(x);
            *o = T::c(2.0) * z * (-k).madd(x + z, w);
        }
    }
    /// Batched transport (vectorised row sums, a few ulps from the scalar kernel).
    #[track_caller]
    fn transport_batch_into(&self, ps: &[T], qs: &[T], vs: &[T], outs: &mut [T]) {
        let d = self.n + 1;
        shapes(&[ps, qs, vs], d, outs, d, "transport_batch_into");
        sb::transport(ps, qs, vs, d, outs);
    }
}

impl<T: Real> Sample for Simplex<T> {
    /// The flat Dirichlet$(\mathbf 1)$, i.e. normalised standard exponential draws (in f64).
    fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        expect_dim(out.len(), self.n + 1, "Simplex::sample_base_into: out");
        let mut s = 0.0f64;
        for o in out.iter_mut() {
            let d = rng.sample::<f64, _>(rand_distr::Exp1);
            s += d;
            *o = T::c(d);
        }
        let inv = T::c(1.0 / s);
        out.iter_mut().for_each(|o| *o *= inv);
    }
    /// Density of the flat Dirichlet w.r.t. the **Fisher–Rao volume**:
    /// $\log n! + \tfrac12\sum_i \log p_i$ ($-\infty$ on the boundary). For the density w.r.t.
    /// Lebesgue measure on the first $n$ coordinates see [`Simplex::log_density_lebesgue`].
    fn base_log_density(&self, p: &[T]) -> T {
        let s: f64 = p.iter().map(|&a| a.to_f64_lossless().ln()).sum();
        T::c(self.log_n_factorial + 0.5 * s)
    }
}

impl<T: Real> Differentiable for Simplex<T> {
    /// See `docs/math/simplex.md`: $\dot{\text{out}} = 2y\odot\dot y$ with
    /// $\dot y = \cos\theta\\,\dot x + \operatorname{sinc}\theta\\,\dot w +
    /// \langle w, \dot w\rangle(s'w - \operatorname{sinc}\theta\\,x)$,
    /// $s' = \operatorname{sinc}'(\theta)/\theta$, $\dot x = \dot p/(2x)$ and
    /// $\dot w = \dot v/(2x) - w\odot\dot x/x$.
    fn exp_jvp(&self, p: &[T], v: &[T], dp: &[T], dv: &[T], out: &mut [T]) {
        let half = T::c(0.5);
        let mut t2 = T::zero();
        let mut wdw = T::zero();
        for i in 0..p.len() {
            let ix = recip0(sqrt0(p[i]));
            let w = v[i] * half * ix;
            let dx = dp[i] * half * ix;
            let dw = dv[i] * half * ix - w * dx * ix;
            t2 = w.madd(w, t2);
            wdw = w.madd(dw, wdw);
        }
        let theta = t2.sqrt();
        let (c, s, sp) = (theta.cos(), sinc(theta), sinc_prime_over_x(theta));
        for i in 0..p.len() {
            let x = sqrt0(p[i]);
            let ix = recip0(x);
            let w = v[i] * half * ix;
            let dx = dp[i] * half * ix;
            let dw = dv[i] * half * ix - w * dx * ix;
            let y = c * x + s * w;
            let dy = c * dx + s * dw + wdw * (sp * w - s * x);
            out[i] = T::c(2.0) * y * dy;
        }
    }
    fn exp_vjp(&self, p: &[T], v: &[T], g: &[T], gp: &mut [T], gv: &mut [T]) {
        let half = T::c(0.5);
        let mut t2 = T::zero();
        for i in 0..p.len() {
            let w = v[i] * half * recip0(sqrt0(p[i]));
            t2 = w.madd(w, t2);
        }
        let theta = t2.sqrt();
        let (c, s, sp) = (theta.cos(), sinc(theta), sinc_prime_over_x(theta));
        // h = 2 y ⊙ g is the cotangent of y; k = −sinc θ ⟨h, x⟩ + s' ⟨h, w⟩.
        let (mut hx, mut hw) = (T::zero(), T::zero());
        for i in 0..p.len() {
            let x = sqrt0(p[i]);
            let w = v[i] * half * recip0(x);
            let h = T::c(2.0) * (c * x + s * w) * g[i];
            hx = h.madd(x, hx);
            hw = h.madd(w, hw);
        }
        let k = sp * hw - s * hx;
        for i in 0..p.len() {
            let x = sqrt0(p[i]);
            let ix = recip0(x);
            let w = v[i] * half * ix;
            let h = T::c(2.0) * (c * x + s * w) * g[i];
            let gw = s * h + k * w;
            gv[i] += gw * half * ix;
            let gx = c * h - gw * w * ix;
            gp[i] += gx * half * ix;
        }
    }
    /// See `docs/math/simplex.md`: with $\rho = C^2/A^2$, $m = x\odot d + \sigma p$,
    /// $\dot{\text{out}} = 2\dot\rho(\kappa_\rho m + \kappa\sigma_\rho p)
    /// + \kappa(d/x - 1 + 2\sigma)\odot\dot p + \kappa (x/z)\odot\dot q$.
    fn log_jvp(&self, p: &[T], q: &[T], dp: &[T], dq: &[T], out: &mut [T]) {
        let j = LogJet::new(p, q);
        let mut drho = T::zero();
        for i in 0..p.len() {
            let (cp, cq) = j.rho_grad(p[i], q[i]);
            drho += cp * dp[i] + cq * dq[i];
        }
        for i in 0..p.len() {
            let (ap, aq, m_rho) = j.coord(p[i], q[i]);
            out[i] = m_rho * drho + ap * dp[i] + aq * dq[i];
        }
    }
    fn log_vjp(&self, p: &[T], q: &[T], g: &[T], gp: &mut [T], gq: &mut [T]) {
        let j = LogJet::new(p, q);
        let mut g_rho = T::zero();
        for i in 0..p.len() {
            let (ap, aq, m_rho) = j.coord(p[i], q[i]);
            g_rho += m_rho * g[i];
            gp[i] += ap * g[i];
            gq[i] += aq * g[i];
        }
        for i in 0..p.len() {
            let (cp, cq) = j.rho_grad(p[i], q[i]);
            gp[i] += g_rho * cp;
            gq[i] += g_rho * cq;
        }
    }
    /// $\dot D = \frac{2}{\sqrt{A^2}(1+\rho)}\sum_i\Big(\big(\hat d_i - \tfrac{C}{A^2}e_i\big)
    /// \frac{\dot q_i}{z_i} - \big(\hat d_i + \tfrac{C}{A^2}e_i\big)\frac{\dot p_i}{x_i}\Big)$,
    /// $\hat d = d/C$, $e = x + z$; 0 at $p = q$.
    fn dist_jvp(&self, p: &[T], q: &[T], dp: &[T], dq: &[T]) -> T {
        let (c2, a2) = chord_anti(p, q);
        if c2 == T::zero() || a2 == T::zero() {
            return T::zero();
        }
        let (c, k, ce) = dist_scalars(c2, a2);
        let mut s = T::zero();
        for i in 0..p.len() {
            let (x, z) = (sqrt0(p[i]), sqrt0(q[i]));
            let dh = sqrt_diff(p[i], q[i], x, z) / c;
            let e = x + z;
            s += (dh - ce * e) * dq[i] * recip0(z) - (dh + ce * e) * dp[i] * recip0(x);
        }
        k * s
    }
    fn dist_vjp(&self, p: &[T], q: &[T], g: T, gp: &mut [T], gq: &mut [T]) {
        let (c2, a2) = chord_anti(p, q);
        if c2 == T::zero() || a2 == T::zero() {
            return;
        }
        let (c, k, ce) = dist_scalars(c2, a2);
        let gk = g * k;
        for i in 0..p.len() {
            let (x, z) = (sqrt0(p[i]), sqrt0(q[i]));
            let dh = sqrt_diff(p[i], q[i], x, z) / c;
            let e = x + z;
            gq[i] += gk * (dh - ce * e) * recip0(z);
            gp[i] -= gk * (dh + ce * e) * recip0(x);
        }
    }
    /// $\sum_i (\dot u_i v_i + u_i\dot v_i)/p_i - u_iv_i\dot p_i/p_i^2$.
    fn inner_jvp(&self, p: &[T], u: &[T], v: &[T], dp: &[T], du: &[T], dv: &[T]) -> T {
        let mut s = T::zero();
        for i in 0..p.len() {
            let ip = recip0(p[i]);
            s += (du[i] * v[i] + u[i] * dv[i]) * ip - u[i] * v[i] * dp[i] * ip * ip;
        }
        s
    }
    fn inner_vjp(&self, p: &[T], u: &[T], v: &[T], g: T, gp: &mut [T], gu: &mut [T], gv: &mut [T]) {
        for i in 0..p.len() {
            let ip = recip0(p[i]);
            gu[i] += g * v[i] * ip;
            gv[i] += g * u[i] * ip;
            gp[i] -= g * u[i] * v[i] * ip * ip;
        }
    }
    /// $\dot u - \dot c\\,p - c\\,\dot p$ with $c = S_u/S_p$,
    /// $\dot c = \sum\dot u/S_p - S_u\sum\dot p/S_p^2$.
    fn project_tangent_jvp(&self, p: &[T], u: &[T], dp: &[T], du: &[T], out: &mut [T]) {
        let sp: T = p.iter().copied().sum();
        let su: T = u.iter().copied().sum();
        let c = su / sp;
        let dc = (du.iter().copied().sum::<T>() - c * dp.iter().copied().sum::<T>()) / sp;
        for i in 0..p.len() {
            out[i] = du[i] - dc * p[i] - c * dp[i];
        }
    }
    fn project_tangent_vjp(&self, p: &[T], u: &[T], g: &[T], gp: &mut [T], gu: &mut [T]) {
        let sp: T = p.iter().copied().sum();
        let su: T = u.iter().copied().sum();
        let c = su / sp;
        let gdotp = crate::numerics::dot(g, p) / sp;
        for i in 0..p.len() {
            gu[i] += g[i] - gdotp;
            gp[i] += c * gdotp - c * g[i];
        }
    }
}

/// $\big(C,\ \frac{2}{A(1+\rho)},\ C/A^2\big)$ for the distance derivatives.
#[inline]
fn dist_scalars<T: Real>(c2: T, a2: T) -> (T, T, T) {
    let c = c2.sqrt();
    let a = a2.sqrt();
    let rho = c2 / a2;
    (c, T::c(2.0) / (a * (T::one() + rho)), c / a2)
}

/// Scalars of the derivative of $\log_p q$ (see `docs/math/simplex.md`).
struct LogJet<T> {
    kappa: T,
    sigma: T,
    rho: T,
    /// $1/A^2$.
    inv_a2: T,
    /// $2\kappa_\rho$ and $2\kappa\sigma_\rho$.
    two_kappa_rho: T,
    two_kappa_sigma_rho: T,
}

impl<T: Real> LogJet<T> {
    #[inline]
    fn new(p: &[T], q: &[T]) -> Self {
        let s = log_scalars(p, q);
        let inv_a2 = recip0(s.a2);
        let rho = s.c2 * inv_a2;
        let r = rho.sqrt();
        let one = T::one();
        // κ'(α)/α = −sinc'(α)/α · (α/sin α)², and κ_ρ = 2 (κ'(α)/α) atan(r)/r / (1 + ρ).
        let k1 = -sinc_prime_over_x(s.alpha) * s.kappa * s.kappa;
        let kappa_rho = T::c(2.0) * k1 * atan_over_x(r) / (one + rho);
        let sigma_rho = T::c(2.0) / ((one + rho) * (one + rho));
        Self {
            kappa: s.kappa,
            sigma: s.sigma,
            rho,
            inv_a2,
            two_kappa_rho: T::c(2.0) * kappa_rho,
            two_kappa_sigma_rho: T::c(2.0) * s.kappa * sigma_rho,
        }
    }

    /// $(\partial\rho/\partial p_i, \partial\rho/\partial q_i)
    /// = \big(-(d_i + \rho e_i)/(A^2 x_i),\ (d_i - \rho e_i)/(A^2 z_i)\big)$.
    #[inline]
    fn rho_grad(&self, p: T, q: T) -> (T, T) {
        let (x, z) = (sqrt0(p), sqrt0(q));
        let d = sqrt_diff(p, q, x, z);
        let e = x + z;
        (
            -(d + self.rho * e) * self.inv_a2 * recip0(x),
            (d - self.rho * e) * self.inv_a2 * recip0(z),
        )
    }

    /// Per-coordinate partials holding $\rho$ fixed, and $\partial\,\mathrm{out}_i/\partial\rho$:
    /// $\big(\kappa(d_i/x_i - 1 + 2\sigma),\ \kappa x_i/z_i,\ 2\kappa_\rho m_i + 2\kappa\sigma_\rho p_i\big)$.
    #[inline]
    fn coord(&self, p: T, q: T) -> (T, T, T) {
        let (x, z) = (sqrt0(p), sqrt0(q));
        let d = sqrt_diff(p, q, x, z);
        let m = x.madd(d, self.sigma * p);
        let one = T::one();
        (
            self.kappa * (d * recip0(x) - one + T::c(2.0) * self.sigma),
            self.kappa * x * recip0(z),
            self.two_kappa_rho * m + self.two_kappa_sigma_rho * p,
        )
    }
}

/// The Dirichlet distribution $\mathrm{Dir}(\alpha)$ on $\Delta^n$ ($n + 1$ concentration
/// parameters).
///
/// Sampled as normalised Gamma$(\alpha_i, 1)$ draws (rand_distr, in f64). Two densities:
/// [`log_density`](Self::log_density) w.r.t. **Lebesgue measure on the first $n$ coordinates**
/// (the textbook one),
/// $\log\Gamma(\sum_i\alpha_i) - \sum_i\log\Gamma(\alpha_i) + \sum_i(\alpha_i - 1)\log p_i$, and
/// [`log_density_riemannian`](Self::log_density_riemannian) w.r.t. the Fisher–Rao volume,
/// which adds $\tfrac12\sum_i\log p_i$ (the volume element is $\prod_i p_i^{-1/2}$ times
/// Lebesgue).
///
/// ```
/// use geoflow_manifolds::Dirichlet;
/// use rand::SeedableRng;
/// let d = Dirichlet::<f64>::new(&[2.0, 3.0, 5.0])?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
/// let mut p = [0.0; 3];
/// d.sample_into(&mut rng, &mut p);
/// assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-15);
/// // Dir(1, 1) on Δ¹ is uniform on [0, 1]: density 1.
/// assert!(Dirichlet::<f64>::new(&[1.0, 1.0])?.log_density(&[0.3, 0.7]).abs() < 1e-14);
/// # Ok::<(), geoflow_manifolds::ManifoldError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dirichlet<T> {
    alpha: Vec<T>,
    gammas: Vec<rand_distr::Gamma<f64>>,
    log_norm: f64,
}

impl<T: Real> Dirichlet<T> {
    /// $\mathrm{Dir}(\alpha)$; errors unless there are at least two parameters, all finite and
    /// positive.
    pub fn new(alpha: &[T]) -> Result<Self, ManifoldError> {
        if alpha.len() < 2 {
            return Err(ManifoldError::InvalidParameter(
                "Dirichlet needs at least two concentration parameters",
            ));
        }
        if alpha.iter().any(|&a| !(a > T::zero() && a.is_finite())) {
            return Err(ManifoldError::InvalidParameter(
                "Dirichlet concentration parameters must be finite and positive",
            ));
        }
        let a64: Vec<f64> = alpha.iter().map(|a| a.to_f64_lossless()).collect();
        let gammas = a64
            .iter()
            .map(|&a| rand_distr::Gamma::new(a, 1.0))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ManifoldError::InvalidParameter("Dirichlet parameter rejected"))?;
        let log_norm = ln_gamma(a64.iter().sum()) - a64.iter().map(|&a| ln_gamma(a)).sum::<f64>();
        Ok(Self {
            alpha: alpha.to_vec(),
            gammas,
            log_norm,
        })
    }

    /// The concentration parameters.
    pub fn alpha(&self) -> &[T] {
        &self.alpha
    }

    /// Draws one point into `out`. If every Gamma draw underflows to 0 (only for tiny
    /// $\alpha_i$), returns the vertex $e_j$ with $j$ drawn with probability
    /// $\alpha_j/\sum_i\alpha_i$, the small-$\alpha$ limit of the distribution.
    ///
    /// # Panics
    /// If `out.len()` differs from the number of parameters.
    #[track_caller]
    pub fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        expect_dim(out.len(), self.alpha.len(), "Dirichlet::sample_into: out");
        let mut s = 0.0f64;
        for (o, g) in out.iter_mut().zip(&self.gammas) {
            let d = g.sample(rng);
            s += d;
            *o = T::c(d);
        }
        if s > 0.0 && s.is_finite() {
            let inv = T::c(1.0 / s);
            out.iter_mut().for_each(|o| *o *= inv);
        } else {
            let total: f64 = self.alpha.iter().map(|a| a.to_f64_lossless()).sum();
            let mut u = rng.random::<f64>() * total;
            let mut j = self.alpha.len() - 1;
            for (i, a) in self.alpha.iter().enumerate() {
                u -= a.to_f64_lossless();
                if u < 0.0 {
                    j = i;
                    break;
                }
            }
            out.iter_mut().for_each(|o| *o = T::zero());
            out[j] = T::one();
        }
    }

    /// Log-density w.r.t. Lebesgue measure on the first $n$ coordinates (computed in f64; a
    /// coordinate with $\alpha_i = 1$ contributes nothing even where $p_i = 0$).
    ///
    /// # Panics
    /// If `p.len()` differs from the number of parameters.
    #[track_caller]
    pub fn log_density(&self, p: &[T]) -> T {
        expect_dim(p.len(), self.alpha.len(), "Dirichlet::log_density: p");
        let mut s = self.log_norm;
        for (&a, &p) in self.alpha.iter().zip(p) {
            let a = a.to_f64_lossless();
            if a != 1.0 {
                s += (a - 1.0) * p.to_f64_lossless().ln();
            }
        }
        T::c(s)
    }

    /// Log-density w.r.t. the Fisher–Rao volume of [`Simplex`]:
    /// [`log_density`](Self::log_density) $+ \tfrac12\sum_i\log p_i$.
    ///
    /// # Panics
    /// If `p.len()` differs from the number of parameters.
    #[track_caller]
    pub fn log_density_riemannian(&self, p: &[T]) -> T {
        let l = self.log_density(p).to_f64_lossless();
        let s: f64 = p.iter().map(|&a| a.to_f64_lossless().ln()).sum();
        T::c(l + 0.5 * s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::dot;
    use crate::ManifoldExt;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::f64::consts::PI;

    fn m64(n: usize) -> Simplex<f64> {
        Simplex::new(n).unwrap()
    }
    fn to<T: Real>(a: &[f64]) -> Vec<T> {
        a.iter().map(|&x| T::c(x)).collect()
    }
    fn up(a: &[f32]) -> Vec<f64> {
        a.iter().map(|&x| x as f64).collect()
    }
    fn rel(a: &[f64], b: &[f64]) -> f64 {
        let num = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        let den = b.iter().map(|y| y.abs()).fold(0.0, f64::max);
        num / den.max(1e-300)
    }
    /// Naive acos reference, fine away from 0 and π.
    fn bhattacharyya_dist(p: &[f64], q: &[f64]) -> f64 {
        let s: f64 = p.iter().zip(q).map(|(a, b)| (a * b).sqrt()).sum();
        2.0 * s.min(1.0).acos()
    }
    fn random_point(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
        let mut p = vec![0.0; n + 1];
        m64(n).sample_base_into(rng, &mut p);
        p
    }
    fn random_tangent(rng: &mut ChaCha8Rng, m: &Simplex<f64>, p: &[f64], scale: f64) -> Vec<f64> {
        let u: Vec<f64> = (0..p.len()).map(|_| rng.random::<f64>() - 0.5).collect();
        let mut v = m.project_tangent(p, &u);
        let nv = m.norm(p, &v);
        v.iter_mut().for_each(|x| *x *= scale / nv);
        v
    }

    #[test]
    fn ln_gamma_and_atan_over_x() {
        assert!(ln_gamma(1.0).abs() < 1e-15);
        assert!(ln_gamma(2.0).abs() < 1e-15);
        assert!((ln_gamma(0.5) - PI.sqrt().ln()).abs() < 1e-14);
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(101.0) - (1..=100).map(|k| (k as f64).ln()).sum::<f64>()).abs() < 1e-11);
        assert!((ln_gamma(0.1) - 2.252_712_651_734_206).abs() < 1e-14);
        // Accuracy scan of atan(x)/x against its alternating series (and the closed form above
        // the cutoff), both sides of the cutoffs.
        let series = |x: f64| -> f64 {
            (0..60)
                .map(|k| (-1f64).powi(k) * x.powi(2 * k) / (2 * k + 1) as f64)
                .sum()
        };
        let mut xs: Vec<f64> = (0..=200)
            .map(|i| 1e-8 * (5e7f64).powf(i as f64 / 200.0))
            .collect();
        for c in [1e-4, 1e-2] {
            for f in [0.999, 0.99999, 1.0, 1.00001, 1.001] {
                xs.push(c * f);
            }
        }
        for x in xs {
            let r = if x < 0.5 { series(x) } else { x.atan() / x };
            assert!((atan_over_x(x) - r).abs() < 4e-16, "f64 at {x}");
            let r32 = {
                let x = x as f32 as f64;
                if x < 0.5 {
                    series(x)
                } else {
                    x.atan() / x
                }
            };
            assert!(
                (atan_over_x(x as f32) as f64 - r32).abs() < 1.2e-7,
                "f32 at {x}"
            );
        }
        assert_eq!(atan_over_x(0.0f64), 1.0);
    }

    #[test]
    fn closed_forms_at_generic_points() {
        let m = m64(3);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..200 {
            let p = random_point(&mut rng, 3);
            let q = random_point(&mut rng, 3);
            let d = m.dist(&p, &q);
            assert!((d - bhattacharyya_dist(&p, &q)).abs() < 1e-7); // acos loses digits
            assert!((d - m.dist(&q, &p)).abs() < 1e-15);
            let v = m.log(&p, &q);
            assert!(v.iter().sum::<f64>().abs() < 1e-15);
            assert!((m.norm(&p, &v) - d).abs() < 1e-13 * (1.0 + d));
            assert!(rel(&m.exp(&p, &v), &q) < 1e-13);
            // d(p, exp_p v) = ‖v‖ inside the domain, and log ∘ exp = id.
            let sc = 0.3 * rng.random::<f64>();
            let w = random_tangent(&mut rng, &m, &p, sc);
            if let Ok(e) = m.try_exp(&p, &w) {
                assert!((m.dist(&p, &e) - m.norm(&p, &w)).abs() < 1e-13);
                assert!(rel(&m.log(&p, &e), &w) < 1e-11);
            }
            // Geodesic = exp(t log) = squared slerp, ends at q, velocity identities.
            for t in [0.0, 0.25, 0.5, 0.9, 1.0] {
                let g = m.geodesic(&p, &q, t);
                let tv: Vec<f64> = v.iter().map(|x| t * x).collect();
                assert!(rel(&g, &m.exp(&p, &tv)) < 1e-13);
                assert!((m.dist(&p, &g) - t * d).abs() < 1e-13);
                let vel = m.geodesic_velocity(&p, &q, t);
                assert!(vel.iter().sum::<f64>().abs() < 1e-14);
                assert!((m.norm(&g, &vel) - d).abs() < 1e-11 * (1.0 + d));
                // Parallel transport of the initial velocity.
                assert!(rel(&vel, &m.transport(&p, &g, &v)) < 1e-11);
                let h = 1e-6;
                if t > 0.0 && t < 1.0 {
                    let (a, b) = (m.geodesic(&p, &q, t + h), m.geodesic(&p, &q, t - h));
                    let fd: Vec<f64> = a.iter().zip(&b).map(|(x, y)| (x - y) / (2.0 * h)).collect();
                    assert!(rel(&fd, &vel) < 1e-8);
                    // γ̇(t) = log_{γ(t)}(q) / (1 − t)
                    let l: Vec<f64> = m.log(&g, &q).iter().map(|x| x / (1.0 - t)).collect();
                    assert!(rel(&l, &vel) < 1e-11);
                }
            }
            assert!(rel(&m.geodesic(&p, &q, 1.0), &q) < 1e-15);
            assert!(rel(&m.geodesic_velocity(&p, &q, 0.0), &v) < 1e-13);
        }
    }

    #[test]
    fn transport_is_an_isometry_and_reverses_log() {
        let m = m64(4);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..100 {
            let p = random_point(&mut rng, 4);
            let q = random_point(&mut rng, 4);
            let u = random_tangent(&mut rng, &m, &p, 1.0);
            let w = random_tangent(&mut rng, &m, &p, 0.5);
            let (tu, tw) = (m.transport(&p, &q, &u), m.transport(&p, &q, &w));
            assert!(tu.iter().sum::<f64>().abs() < 1e-14);
            assert!((m.inner(&q, &tu, &tw) - m.inner(&p, &u, &w)).abs() < 1e-12);
            let back: Vec<f64> = m.log(&q, &p).iter().map(|x| -x).collect();
            assert!(rel(&m.transport(&p, &q, &m.log(&p, &q)), &back) < 1e-12);
            assert!(rel(&m.transport(&p, &p, &u), &u) < 1e-15);
        }
    }

    /// log_p q for q = p + δ, up to O(δ³): δ − δ²/(4p) + p Σ δ²/(4p).
    fn log_series(p: &[f64], q: &[f64]) -> Vec<f64> {
        let delta: Vec<f64> = p.iter().zip(q).map(|(a, b)| b - a).collect();
        let s: f64 = delta.iter().zip(p).map(|(d, p)| d * d / (4.0 * p)).sum();
        delta
            .iter()
            .zip(p)
            .map(|(d, p)| d - d * d / (4.0 * p) + p * s)
            .collect()
    }

    #[test]
    fn points_1e_10_apart() {
        let m = m64(2);
        let p = [0.2, 0.3, 0.5];
        for eps in [1e-10, 3e-9, 1e-7] {
            let q = [0.2 + eps, 0.3 - 0.4 * eps, 0.5 - 0.6 * eps];
            let q = [q[0], q[1], 1.0 - q[0] - q[1]];
            let v = m.log(&p, &q);
            let r = log_series(&p, &q);
            assert!(rel(&v, &r) < 1e-12, "eps {eps}: {:e}", rel(&v, &r));
            let d_ref = m.norm(&p, &r);
            assert!((m.dist(&p, &q) - d_ref).abs() < 1e-12 * d_ref);
            assert!((m.norm(&p, &v) - d_ref).abs() < 1e-12 * d_ref);
            // Velocity at the midpoint ≈ log (constant speed, tiny curvature).
            let vel = m.geodesic_velocity(&p, &q, 0.5);
            assert!(rel(&vel, &r) < 10.0 * eps + 1e-12, "{:e}", rel(&vel, &r));
        }
        // Exactly equal points: everything is 0, nothing is NaN.
        assert_eq!(m.dist(&p, &p), 0.0);
        assert!(m.log(&p, &p).iter().all(|&x| x == 0.0));
        assert!(m.geodesic_velocity(&p, &p, 0.3).iter().all(|&x| x == 0.0));
        assert!(rel(&m.geodesic(&p, &p, 0.3), &p) < 4e-16);
    }

    #[test]
    fn near_and_on_faces() {
        let m = m64(2);
        let p = [1e-12, 0.4, 0.6 - 1e-12];
        let q = [0.3, 1e-12, 0.7 - 1e-12];
        let v = m.log(&p, &q);
        assert!(v.iter().all(|x| x.is_finite()));
        assert!((m.norm(&p, &v) - m.dist(&p, &q)).abs() < 1e-12);
        let e = m.exp(&p, &v);
        for i in 0..3 {
            assert!((e[i] - q[i]).abs() < 1e-13, "{e:?}");
        }
        assert!((m.dist(&p, &q) - bhattacharyya_dist(&p, &q)).abs() < 1e-7);
        // Exact zeros: dist, log values, geodesic and velocity are finite.
        let a = [0.0, 0.5, 0.5];
        let b = [1.0, 0.0, 0.0];
        assert!((m.dist(&a, &b) - PI).abs() < 1e-15); // orthogonal supports: the diameter
        let c = [0.25, 0.25, 0.5];
        let d_ac = m.dist(&a, &c);
        assert!((d_ac - bhattacharyya_dist(&a, &c)).abs() < 1e-12);
        let l = m.log(&a, &c);
        assert_eq!(l[0], 0.0);
        assert!(l.iter().all(|x| x.is_finite()));
        for t in [0.0, 0.3, 1.0] {
            let g = m.geodesic(&a, &c, t);
            assert!(g.iter().all(|&x| x >= 0.0) && (g.iter().sum::<f64>() - 1.0).abs() < 1e-15);
            let vel = m.geodesic_velocity(&a, &c, t);
            assert!(vel.iter().all(|x| x.is_finite()));
        }
        assert!(rel(&m.geodesic(&a, &c, 1.0), &c) < 1e-15);
        assert!(rel(&m.geodesic(&a, &b, 0.5), &[0.5, 0.25, 0.25]) < 1e-15);
        // Face convention: exp at a zero coordinate with v_i = 0 stays on the face.
        let w = [0.0, 0.1, -0.1];
        let e = m.exp(&a, &w);
        assert_eq!(e[0], 0.0);
        assert!((m.dist(&a, &e) - m.norm(&a, &w)).abs() < 1e-14);
        assert_eq!(
            m.inner(&a, &[1.0, -1.0, 0.0], &[1.0, -1.0, 0.0]),
            f64::INFINITY
        );
        let mut o = [0.0; 3];
        m.transport_into(&a, &c, &w, &mut o);
        assert!(o.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn leaving_the_simplex() {
        let m = m64(2);
        let p = [0.01, 0.49, 0.5];
        // Straight at the face p₀ = 0: the sphere coordinate y₀ crosses 0 at θ = atan2(x₀, −ŵ₀).
        let u = m.project_tangent(&p, &[-1.0, 0.5, 0.5]);
        let nu = m.norm(&p, &u);
        let w0 = u[0] / (2.0 * p[0].sqrt()) / (nu / 2.0);
        let theta_hit = p[0].sqrt().atan2(-w0);
        let at = |theta: f64| -> Vec<f64> { u.iter().map(|x| x * 2.0 * theta / nu).collect() };
        // Before the hit: ok, and it is the exponential (distance = length).
        let v = at(theta_hit * 0.99);
        assert!(m.try_exp(&p, &v).is_ok());
        assert!((m.dist(&p, &m.exp(&p, &v)) - m.norm(&p, &v)).abs() < 1e-13);
        // After: LeftDomain, while exp_into still returns a valid (folded) point.
        let v = at(theta_hit * 1.2);
        match m.try_exp(&p, &v) {
            Err(ManifoldError::LeftDomain { residual }) => assert!(residual > 0.0),
            r => panic!("{r:?}"),
        }
        let e = m.exp(&p, &v);
        assert!(m.check_point(&e).is_ok());
        assert!(m.dist(&p, &e) < m.norm(&p, &v));
        // Far past π/2 (θ close to 2π the end point is back inside): still reported.
        let v = at(2.0 * PI - 1e-3);
        assert!(matches!(
            m.try_exp(&p, &v),
            Err(ManifoldError::LeftDomain { .. })
        ));
        // Landing exactly on a face (log to a face point) is accepted.
        let q = [0.0, 0.3, 0.7];
        let l = m.log(&p, &q);
        assert!(m.try_exp(&p, &l).is_ok());
    }

    #[test]
    fn checks_and_projections() {
        let m = m64(2);
        assert!(Simplex::<f32>::new(0).is_err());
        assert_eq!((m.dim(), m.ambient_dim()), (2, 3));
        assert_eq!(m.injectivity_radius(), PI);
        assert!(m.check_point(&[0.2, 0.3, 0.5]).is_ok());
        assert!(m.check_point(&[0.0, 0.0, 1.0]).is_ok());
        match m.check_point(&[0.2, 0.3, 0.6]) {
            Err(ManifoldError::NotOnManifold { residual, tol }) => {
                assert!((residual - 0.1).abs() < 1e-12 && (tol - 3e-10).abs() < 1e-20)
            }
            e => panic!("{e:?}"),
        }
        match m.check_point(&[-0.1, 0.6, 0.5]) {
            Err(ManifoldError::NotOnManifold { residual, .. }) => {
                assert!((residual - 0.1).abs() < 1e-15)
            }
            e => panic!("{e:?}"),
        }
        assert!(m.check_point(&[-1e-12, 0.5, 0.5 + 1e-12]).is_ok());
        assert_eq!(
            m.check_point(&[0.5, 0.5]),
            Err(ManifoldError::DimensionMismatch {
                expected: 3,
                got: 2
            })
        );
        assert_eq!(
            m.check_point(&[f64::NAN, 0.5, 0.5]),
            Err(ManifoldError::NonFinite)
        );
        let p = [0.2, 0.3, 0.5];
        assert!(m.check_tangent(&p, &[0.1, -0.05, -0.05]).is_ok());
        assert!(matches!(
            m.check_tangent(&p, &[0.1, 0.0, 0.0]),
            Err(ManifoldError::NotTangent { .. })
        ));
        assert!(m.check_tangent(&p, &[1e6, -1e6 + 1e-5, -1e-5]).is_ok()); // scaled by ‖v‖₁
        assert_eq!(
            m.check_tangent(&p, &[0.0, f64::INFINITY, 0.0]),
            Err(ManifoldError::NonFinite)
        );
        // Point projection: clamp and renormalise; all-zero → uniform; identity on Δ.
        assert!(rel(&m.project_point(&[-1.0, 1.0, 3.0]), &[0.0, 0.25, 0.75]) < 1e-16);
        assert!(rel(&m.project_point(&[-1.0, 0.0, -3.0]), &[1.0 / 3.0; 3]) < 1e-16);
        assert!(rel(&m.project_point(&[1e308, 1e308, 0.0]), &[0.5, 0.5, 0.0]) < 1e-16);
        assert!(rel(&m.project_point(&p), &p) < 1e-16);
        // Tangent projection: tangent, idempotent, g-orthogonal (residual ∝ p is g-normal).
        let u = [0.3, -1.0, 2.0];
        let pu = m.project_tangent(&p, &u);
        assert!(pu.iter().sum::<f64>().abs() < 1e-15);
        assert!(rel(&m.project_tangent(&p, &pu), &pu) < 1e-15);
        let r: Vec<f64> = u.iter().zip(&pu).map(|(a, b)| a - b).collect();
        assert!(m.inner(&p, &r, &[0.1, -0.3, 0.2]).abs() < 1e-15);
    }

    #[test]
    fn sampling_and_densities() {
        let m = Simplex::<f64>::new(3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut mean = [0.0; 4];
        for _ in 0..4000 {
            let p = m.sample_base(&mut rng);
            assert!(m.check_point(&p).is_ok());
            for i in 0..4 {
                mean[i] += p[i] / 4000.0;
            }
        }
        assert!(mean.iter().all(|x| (x - 0.25).abs() < 0.02), "{mean:?}");
        let p = [0.1, 0.2, 0.3, 0.4];
        assert!((m.log_density_lebesgue(&p) - 6f64.ln()).abs() < 1e-14);
        let expected = 6f64.ln() + 0.5 * p.iter().map(|x: &f64| x.ln()).sum::<f64>();
        assert!((m.base_log_density(&p) - expected).abs() < 1e-14);
        assert_eq!(m.base_log_density(&[0.0, 0.5, 0.5, 0.0]), f64::NEG_INFINITY);
        // Δ¹ in the chart s ↦ (s, 1 − s): dvol = ds/√(s(1−s)); both densities integrate to 1.
        let m1 = m64(1);
        let d = Dirichlet::<f64>::new(&[2.5, 1.5]).unwrap();
        let n = 200_000;
        let (mut vol, mut leb, mut riem) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let s = (i as f64 + 0.5) / n as f64;
            let w = 1.0 / (s * (1.0 - s)).sqrt() / n as f64;
            vol += m1.base_log_density(&[s, 1.0 - s]).exp() * w;
            leb += d.log_density(&[s, 1.0 - s]).exp() / n as f64;
            riem += d.log_density_riemannian(&[s, 1.0 - s]).exp() * w;
        }
        assert!((vol - 1.0).abs() < 1e-6, "{vol}");
        assert!((leb - 1.0).abs() < 1e-6, "{leb}");
        assert!((riem - 1.0).abs() < 1e-6, "{riem}");
        // Dirichlet sampling: mean α/Σα.
        let d = Dirichlet::<f32>::new(&[2.0, 3.0, 5.0]).unwrap();
        let mut acc = [0.0f64; 3];
        let mut out = [0.0f32; 3];
        for _ in 0..4000 {
            d.sample_into(&mut rng, &mut out);
            assert!(Simplex::<f32>::new(2).unwrap().check_point(&out).is_ok());
            for i in 0..3 {
                acc[i] += out[i] as f64 / 4000.0;
            }
        }
        assert!(
            (acc[0] - 0.2).abs() < 0.01 && (acc[2] - 0.5).abs() < 0.01,
            "{acc:?}"
        );
        assert_eq!(d.alpha(), &[2.0, 3.0, 5.0]);
        assert!(Dirichlet::<f64>::new(&[1.0]).is_err());
        assert!(Dirichlet::<f64>::new(&[1.0, 0.0]).is_err());
        assert!(Dirichlet::<f64>::new(&[1.0, f64::NAN]).is_err());
        // Tiny α: the draws underflow; the fallback returns a vertex.
        let d = Dirichlet::<f64>::new(&[1e-300, 1e-300]).unwrap();
        let mut out = [0.0; 2];
        d.sample_into(&mut rng, &mut out);
        assert!((out[0] + out[1] - 1.0).abs() < 1e-15);
    }

    // ---------- derivatives ----------

    /// Central finite differences of `f` along `dir` at `x` (f64).
    fn fd_vec(f: &dyn Fn(&[f64]) -> Vec<f64>, x: &[f64], dir: &[f64], h: f64) -> Vec<f64> {
        let xp: Vec<f64> = x.iter().zip(dir).map(|(a, b)| a + h * b).collect();
        let xm: Vec<f64> = x.iter().zip(dir).map(|(a, b)| a - h * b).collect();
        f(&xp)
            .iter()
            .zip(f(&xm))
            .map(|(a, b)| (a - b) / (2.0 * h))
            .collect()
    }

    fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
        let scale = b.iter().map(|x| x.abs()).fold(1e-3f64, f64::max);
        a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol * scale)
    }

    /// FD and duality checks for every derivative at (p, q = second point, v tangent), along
    /// arbitrary ambient directions.
    fn check_derivatives(p: &[f64], q: &[f64], v: &[f64], rng: &mut ChaCha8Rng, label: &str) {
        let n = p.len() - 1;
        let m = m64(n);
        let rnd = |rng: &mut ChaCha8Rng| -> Vec<f64> {
            (0..=n).map(|_| rng.random::<f64>() - 0.5).collect()
        };
        // Scale ambient directions of points by p (keeps p ± h·dp inside near faces).
        let dp: Vec<f64> = rnd(rng)
            .iter()
            .zip(p)
            .map(|(a, b)| a * b.min(0.1))
            .collect();
        let dq: Vec<f64> = rnd(rng)
            .iter()
            .zip(q)
            .map(|(a, b)| a * b.min(0.1))
            .collect();
        let dv = rnd(rng);
        let g = rnd(rng);
        let h = 1e-6;
        let tol = 1e-6;
        let mut out = vec![0.0; n + 1];

        // exp in (p, v)
        m.exp_jvp(p, v, &dp, &dv, &mut out);
        let fd = fd_vec(
            &|x| m.exp(&x[..=n], &x[n + 1..]),
            &[p, v].concat(),
            &[&dp[..], &dv[..]].concat(),
            h,
        );
        assert!(close(&out, &fd, tol), "{label}: exp jvp {out:?} vs {fd:?}");
        let (mut gp, mut gv) = (vec![0.0; n + 1], vec![0.0; n + 1]);
        m.exp_vjp(p, v, &g, &mut gp, &mut gv);
        let (l, r) = (dot(&g, &out), dot(&gp, &dp) + dot(&gv, &dv));
        assert!(
            (l - r).abs() <= 1e-12 * (1.0 + l.abs()),
            "{label}: exp duality {l} {r}"
        );

        // log in (p, q)
        m.log_jvp(p, q, &dp, &dq, &mut out);
        let fd = fd_vec(
            &|x| m.log(&x[..=n], &x[n + 1..]),
            &[p, q].concat(),
            &[&dp[..], &dq[..]].concat(),
            h,
        );
        assert!(close(&out, &fd, tol), "{label}: log jvp {out:?} vs {fd:?}");
        let (mut gp, mut gq) = (vec![0.0; n + 1], vec![0.0; n + 1]);
        m.log_vjp(p, q, &g, &mut gp, &mut gq);
        let (l, r) = (dot(&g, &out), dot(&gp, &dp) + dot(&gq, &dq));
        assert!(
            (l - r).abs() <= 1e-12 * (1.0 + l.abs()),
            "{label}: log duality {l} {r}"
        );

        // dist in (p, q), skipped at p = q (not differentiable; zero subgradient checked apart)
        let jd = m.dist_jvp(p, q, &dp, &dq);
        if m.dist(p, q) > 1e-4 {
            let fd = fd_vec(
                &|x| vec![m.dist(&x[..=n], &x[n + 1..])],
                &[p, q].concat(),
                &[&dp[..], &dq[..]].concat(),
                h,
            );
            assert!(close(&[jd], &fd, tol), "{label}: dist jvp {jd} vs {fd:?}");
        }
        let (mut gp, mut gq) = (vec![0.0; n + 1], vec![0.0; n + 1]);
        m.dist_vjp(p, q, 1.5, &mut gp, &mut gq);
        let r = dot(&gp, &dp) + dot(&gq, &dq);
        assert!(
            (1.5 * jd - r).abs() <= 1e-12 * (1.0 + jd.abs()),
            "{label}: dist duality"
        );

        // inner in (p, u, v) with u = v, v = dv
        let u = v;
        let w = &dv;
        let du = rnd(rng);
        let j = m.inner_jvp(p, u, w, &dp, &du, &g);
        let fd = fd_vec(
            &|x| vec![m.inner(&x[..=n], &x[n + 1..2 * n + 2], &x[2 * n + 2..])],
            &[p, u, w].concat(),
            &[&dp[..], &du[..], &g[..]].concat(),
            h,
        );
        assert!(close(&[j], &fd, tol), "{label}: inner jvp");
        let (mut a, mut b, mut c) = (vec![0.0; n + 1], vec![0.0; n + 1], vec![0.0; n + 1]);
        m.inner_vjp(p, u, w, 1.0, &mut a, &mut b, &mut c);
        let r = dot(&a, &dp) + dot(&b, &du) + dot(&c, &g);
        assert!(
            (j - r).abs() <= 1e-12 * (1.0 + j.abs()),
            "{label}: inner duality"
        );

        // project_tangent in (p, u)
        m.project_tangent_jvp(p, &du, &dp, &dv, &mut out);
        let fd = fd_vec(
            &|x| m.project_tangent(&x[..=n], &x[n + 1..]),
            &[p, &du[..]].concat(),
            &[&dp[..], &dv[..]].concat(),
            h,
        );
        assert!(close(&out, &fd, tol), "{label}: project_tangent jvp");
        let (mut a, mut b) = (vec![0.0; n + 1], vec![0.0; n + 1]);
        m.project_tangent_vjp(p, &du, &g, &mut a, &mut b);
        let (l, r) = (dot(&g, &out), dot(&a, &dp) + dot(&b, &dv));
        assert!(
            (l - r).abs() <= 1e-12 * (1.0 + l.abs()),
            "{label}: project_tangent duality"
        );
    }

    #[test]
    fn derivatives_at_generic_points() {
        let m = m64(3);
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        for k in 0..30 {
            let p = random_point(&mut rng, 3);
            let q = random_point(&mut rng, 3);
            if p.iter().chain(&q).any(|&x| x < 0.02) {
                continue;
            }
            let sc = 0.8 * rng.random::<f64>();
            let v = random_tangent(&mut rng, &m, &p, sc);
            check_derivatives(&p, &q, &v, &mut rng, &format!("generic {k}"));
        }
    }

    #[test]
    fn derivatives_at_special_points() {
        let m = m64(2);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let p = [0.2, 0.3, 0.5];
        // v = 0, tiny v, p = q, points 1e-10 apart.
        check_derivatives(&p, &p, &[0.0; 3], &mut rng, "v = 0, p = q");
        check_derivatives(
            &p,
            &[0.2 + 1e-10, 0.3, 0.5 - 1e-10],
            &[1e-12, -1e-12, 0.0],
            &mut rng,
            "tiny",
        );
        // Both sides of every cutoff: θ and α at the sinc / x_over_sin / atan cutoffs (1e-4) and
        // at the sinc′/x cutoff (1.0); log's α = d/2, exp's θ = ‖v‖/2.
        for target in [1e-4, 1.0] {
            for f in [0.99, 1.01] {
                let a = target * f;
                let v = random_tangent(&mut rng, &m, &p, 2.0 * a);
                let q = m.exp(&p, &v);
                check_derivatives(&p, &q, &v, &mut rng, &format!("cutoff {a}"));
            }
        }
        // Near a face (interior, p₀ = 1e-4 and 1e-12 for finiteness).
        let pf = [1e-4, 0.4, 0.6 - 1e-4];
        let qf = [0.3, 0.3, 0.4];
        let v = random_tangent(&mut rng, &m, &pf, 0.2);
        check_derivatives(&pf, &qf, &v, &mut rng, "near face");
        let pe = [1e-12, 0.4, 0.6 - 1e-12];
        let v = m.project_tangent(&pe, &[1e-13, 0.1, -0.1]);
        let mut out = [0.0; 3];
        let dirs = [0.3, -0.2, 0.1];
        m.exp_jvp(&pe, &v, &dirs, &dirs, &mut out);
        assert!(out.iter().all(|x| x.is_finite()));
        m.log_jvp(&pe, &qf, &dirs, &dirs, &mut out);
        assert!(out.iter().all(|x| x.is_finite()));
        assert!(m.dist_jvp(&pe, &qf, &dirs, &dirs).is_finite());
        // Zero subgradient of dist at p = q.
        assert_eq!(m.dist_jvp(&p, &p, &dirs, &dirs), 0.0);
        let (mut gp, mut gq) = ([0.0; 3], [0.0; 3]);
        m.dist_vjp(&p, &p, 1.0, &mut gp, &mut gq);
        assert_eq!((gp, gq), ([0.0; 3], [0.0; 3]));
        // VJPs accumulate.
        let (mut gp, mut gv) = ([1.0; 3], [2.0; 3]);
        m.exp_vjp(&p, &[0.0; 3], &[0.0; 3], &mut gp, &mut gv);
        assert_eq!((gp, gv), ([1.0; 3], [2.0; 3]));
    }

    #[test]
    fn f32_envelope() {
        // f32 results vs f64 on the same (rounded) inputs.
        let m32 = Simplex::<f32>::new(3).unwrap();
        let m = m64(3);
        let mut rng = ChaCha8Rng::seed_from_u64(33);
        let mut worst = [0.0f64; 6];
        for k in 0..400 {
            let p32: Vec<f32> = to(&random_point(&mut rng, 3));
            let mut q32: Vec<f32> = to(&random_point(&mut rng, 3));
            if k % 4 == 1 {
                // close points (distance ~1e-5 … 1e-6)
                q32 = p32
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| x * (1.0 + 1e-5 * (i as f32 - 1.5)))
                    .collect();
            }
            if p32.iter().chain(&q32).any(|&x| x < 1e-6) {
                continue;
            }
            let (p, q) = (up(&p32), up(&q32));
            let d = m.dist(&p, &q);
            worst[0] = worst[0].max((m32.dist(&p32, &q32) as f64 - d).abs() / d.max(1e-30));
            worst[1] = worst[1].max(rel(&up(&m32.log(&p32, &q32)), &m.log(&p, &q)));
            let t = (k % 7) as f32 / 6.0;
            worst[2] = worst[2].max(rel(
                &up(&m32.geodesic(&p32, &q32, t)),
                &m.geodesic(&p, &q, t as f64),
            ));
            worst[3] = worst[3].max(rel(
                &up(&m32.geodesic_velocity(&p32, &q32, t)),
                &m.geodesic_velocity(&p, &q, t as f64),
            ));
            let scale = [1e-12, 1e-6, 1e-3, 0.3, 1.0][k % 5];
            let v: Vec<f32> = to(&random_tangent(&mut rng, &m, &p, scale));
            worst[4] = worst[4].max(rel(&up(&m32.exp(&p32, &v)), &m.exp(&p, &up(&v))));
            worst[5] = worst[5].max(rel(
                &up(&m32.transport(&p32, &q32, &v)),
                &m.transport(&p, &q, &up(&v)),
            ));
        }
        eprintln!(
            "f32 envelope (dist, log, geodesic, velocity, exp, transport): {:?}",
            worst.map(|w| format!("{w:.1e}"))
        );
        for (w, name) in
            worst
                .iter()
                .zip(["dist", "log", "geodesic", "velocity", "exp", "transport"])
        {
            assert!(*w < 1e-6, "f32 {name}: {w:e}");
        }
    }

    #[test]
    fn distances_near_pi() {
        // Δ¹: p = (1 − a, a), q = (b, 1 − b) have d = π − 2 asin√a − 2 asin√b.
        for (a, b) in [(1e-14, 1e-14), (2.5e-13, 0.0), (1e-12, 1e-10)] {
            let m = m64(1);
            let (p, q) = ([1.0 - a, a], [b, 1.0 - b]);
            let exact = PI - 2.0 * f64::sqrt(a).asin() - 2.0 * f64::sqrt(b).asin();
            assert!((m.dist(&p, &q) - exact).abs() < 2e-15, "{a} {b}");
            let v = m.log(&p, &q);
            assert!((m.norm(&p, &v) - exact).abs() < 1e-14);
            let back = m.exp(&p, &v);
            assert!((back[0] - q[0]).abs() < 1e-15 && (back[1] - q[1]).abs() < 1e-15);
        }
        // f32: π − 1e-3 apart (a = b = 6.25e-8), against the f64 value on the same inputs.
        let m32 = Simplex::<f32>::new(1).unwrap();
        let (a, b) = (6.25e-8f32, 6.25e-8f32);
        let (p, q) = ([1.0 - a, a], [b, 1.0 - b]);
        let d64 = m64(1).dist(&up(&p), &up(&q));
        assert!((m32.dist(&p, &q) as f64 - d64).abs() < 1e-6 * d64);
    }

    #[test]
    fn f32_derivatives_match_f64() {
        let m32 = Simplex::<f32>::new(3).unwrap();
        let m = m64(3);
        let mut rng = ChaCha8Rng::seed_from_u64(77);
        let mut worst = 0.0f64;
        for k in 0..50 {
            let p32: Vec<f32> = to(&random_point(&mut rng, 3));
            let q32: Vec<f32> = to(&random_point(&mut rng, 3));
            if p32.iter().chain(&q32).any(|&x| x < 1e-3) {
                continue;
            }
            let sc = [0.0, 1e-6, 0.3, 1.5][k % 4];
            let v32: Vec<f32> = to(&random_tangent(&mut rng, &m, &up(&p32), sc));
            let dirs: Vec<f32> = (0..4).map(|_| rng.random::<f32>() - 0.5).collect();
            let (p, q, v, dd) = (up(&p32), up(&q32), up(&v32), up(&dirs));
            let (mut o32, mut o) = (vec![0.0f32; 4], vec![0.0; 4]);
            m32.exp_jvp(&p32, &v32, &dirs, &dirs, &mut o32);
            m.exp_jvp(&p, &v, &dd, &dd, &mut o);
            worst = worst.max(rel(&up(&o32), &o));
            m32.log_jvp(&p32, &q32, &dirs, &dirs, &mut o32);
            m.log_jvp(&p, &q, &dd, &dd, &mut o);
            worst = worst.max(rel(&up(&o32), &o));
            let (mut gp32, mut gq32) = (vec![0.0f32; 4], vec![0.0f32; 4]);
            let (mut gp, mut gq) = (vec![0.0; 4], vec![0.0; 4]);
            m32.log_vjp(&p32, &q32, &dirs, &mut gp32, &mut gq32);
            m.log_vjp(&p, &q, &dd, &mut gp, &mut gq);
            worst = worst.max(rel(&up(&gp32), &gp)).max(rel(&up(&gq32), &gq));
            let (j32, j) = (
                m32.dist_jvp(&p32, &q32, &dirs, &dirs),
                m.dist_jvp(&p, &q, &dd, &dd),
            );
            worst = worst.max((j32 as f64 - j).abs() / j.abs().max(1.0));
        }
        assert!(worst < 1e-5, "f32 derivatives: {worst:e}");
    }

    #[test]
    fn f32_both_sides_of_cutoffs() {
        // α = d/2 and θ = ‖v‖/2 on both sides of the f32 cutoffs (1e-2: sinc, x/sin, atan(x)/x;
        // 0.7: sinc′/x), values and derivatives against f64 on the same inputs.
        let m32 = Simplex::<f32>::new(2).unwrap();
        let m = m64(2);
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let p32 = [0.2f32, 0.3, 0.5];
        let p = up(&p32);
        for target in [1e-2, 0.7] {
            for f in [0.98, 1.02] {
                let v32: Vec<f32> = to(&random_tangent(&mut rng, &m, &p, 2.0 * target * f));
                let v = up(&v32);
                let q32 = m32.exp(&p32, &v32);
                assert!(rel(&up(&q32), &m.exp(&p, &v)) < 1e-6);
                let q = up(&q32);
                assert!(rel(&up(&m32.log(&p32, &q32)), &m.log(&p, &q)) < 1e-6);
                let d = m.dist(&p, &q);
                assert!((m32.dist(&p32, &q32) as f64 - d).abs() < 1e-6 * d);
                let vel = m.geodesic_velocity(&p, &q, 0.3);
                assert!(rel(&up(&m32.geodesic_velocity(&p32, &q32, 0.3)), &vel) < 1e-6);
                let dirs = [0.3f32, -0.1, 0.25];
                let (mut o32, mut o) = ([0.0f32; 3], [0.0; 3]);
                m32.exp_jvp(&p32, &v32, &dirs, &dirs, &mut o32);
                m.exp_jvp(&p, &v, &up(&dirs), &up(&dirs), &mut o);
                assert!(rel(&up(&o32), &o) < 1e-5);
                // Different directions for p and q (equal ones cancel to O(α) in the output).
                let dq = [-0.2f32, 0.4, 0.1];
                m32.log_jvp(&p32, &q32, &dirs, &dq, &mut o32);
                m.log_jvp(&p, &q, &up(&dirs), &up(&dq), &mut o);
                assert!(
                    rel(&up(&o32), &o) < 1e-5,
                    "{target} {f}: {:e}",
                    rel(&up(&o32), &o)
                );
            }
        }
    }

    #[test]
    fn batch_matches_loop() {
        let m = Simplex::<f32>::new(1).unwrap();
        let ps = [0.25f32, 0.75, 0.5, 0.5];
        let qs = [0.5f32, 0.5, 0.9, 0.1];
        let mut ds = [0.0f32; 2];
        m.dist_batch_into(&ps, &qs, &mut ds);
        assert_eq!(ds[0], m.dist(&ps[..2], &qs[..2]));
        assert_eq!(ds[1], m.dist(&ps[2..], &qs[2..]));
    }
}
