//! Analytic vector fields with exact flows and exact log-Jacobians: the oracles of the sampler
//! and likelihood tests, and the cases of the sampler accuracy table.
//!
//! Each field implements [`VectorField`] (value and exact JVP, in ambient coordinates, defined
//! off the manifold too), [`FlowMap`] (its exact flow $X_{s,t}$) and [`ExactFlow`] (the
//! log-determinant $\log\lvert\det dX_{s,t}\rvert = \int_s^t \operatorname{div}_g v_\tau(X_{s,\tau}x)\\,d\tau$
//! with respect to the Riemannian volume, so that the pushforward density is
//! $\log p_t(X_{s,t}x) = \log p_s(x) - \log\lvert\det dX_{s,t}(x)\rvert$).
//!
//! | field | manifold | $v_t(x)$ | $\operatorname{div}_g v_t$ |
//! |---|---|---|---|
//! | [`SphereRotation`] | $S^2$ | $\omega(t) \times x$, $\omega(t) = R_z(\alpha t)\\,\omega_0$ | 0 |
//! | [`SphereGradient`] | $S^n$ | $c(t)\\,(a - (a\cdot x)\\,x)$ | $-n\\,c(t)\\,a\cdot x$ |
//! | [`TorusDrift`] | $T^n$ | $c_0 + \cos(\omega t)\\,c_1$ | 0 |
//! | [`TorusSine`] | $T^n$ | $(1 + \beta t)\\,c_i \sin\theta_i$ | $(1 + \beta t)\sum_i c_i\cos\theta_i$ |
//! | [`HyperbolicBoost`] | $H^n$ (Lorentz) | $\beta(t)\\,(x_1, x_0, 0, \dots)$ | 0 |
//! | [`HyperbolicRadial`] | $H^n$ (Lorentz) | $c(t)\\,(e_0 - x_0 x) = c(t)P_x e_0$ | $-n\\,c(t)\\,x_0$ |
//! | [`BallBoost`] | $B^n$ (Poincaré) | $\beta(t)\big(\tfrac12(1 + \lVert p\rVert^2)e_1 - p_1 p\big)$ | 0 |
//! | [`BallRadial`] | $B^n$ (Poincaré) | $-c(t)\\,p$ | $-n\\,c(t)\frac{1 + \lVert p\rVert^2}{1 - \lVert p\rVert^2}$ |
//! | [`EuclideanLinear`] | $\mathbb R^n$ | $A x$ | $\operatorname{tr}A$ |
//!
//! with $c(t) = c_0 + c_1 t$, $\beta(t) = \beta_0 + \beta_1 t$. The boost and radial fields are
//! the same fields on the hyperboloid and on the ball (isometric models), the ball's Euclidean
//! divergence differs from the Riemannian one (the likelihood's chart correction). Exact flows:
//! the rotation with the rotating axis is $R_z(\alpha t)\exp\big((t - s)\lbrack \omega_0 - \alpha e_z\rbrack_\times\big)R_z(-\alpha s)$;
//! the gradient field moves $z = a\cdot x$ as $\operatorname{artanh} z$ by
//! $\Delta = \int_s^t c$ and scales the orthogonal part by $1/(\cosh\Delta + z\sinh\Delta)$; the
//! sine field moves $\tan(\theta_i/2)$ by the factor $e^{\Delta_i}$; the radial fields scale
//! $u = \tanh(r/2)$ by $e^{-\Delta}$.
//!
//! ```
//! use geoflow_flows::{sample::analytic::{ExactFlow, SphereGradient}, FlowMap};
//! let mut f = SphereGradient::new(vec![0.0, 0.0, 1.0], 1.0, 0.0)?;
//! let (x, mut y, mut lj) = ([1.0, 0.0, 0.0], [0.0; 3], [0.0]);
//! f.map_into(0.0, 1.0, &x, &mut y); // the equator moves to z = tanh 1
//! assert!((y[2] - 1f64.tanh()).abs() < 1e-15);
//! f.log_jacobian_into(0.0, 1.0, &x, &mut lj); // -2 ln cosh 1
//! assert!((lj[0] + 2.0 * 1f64.cosh().ln()).abs() < 1e-15);
//! # Ok::<(), geoflow_flows::FlowError>(())
//! ```

use super::{Method, Sampler};
use crate::{FlowError, FlowMap, Result, VectorField};
use geoflow_manifolds::numerics::{one_minus_cos_over_x2, sinc};
use geoflow_manifolds::{
    Differentiable, FlatTorus, Lorentz, ParallelTransport, PoincareBall, Real, Sample, Sphere,
};
use rand::SeedableRng;

/// A vector field with a closed-form flow and log-Jacobian (a test oracle).
pub trait ExactFlow<T: Real>: VectorField<T> + FlowMap<T> {
    /// Writes, for every row $x$ of `xs`, $\int_s^t \operatorname{div}_g v_\tau(X_{s,\tau}x)\\,d\tau$,
    /// the log-determinant of the flow's differential with respect to the Riemannian volume,
    /// into `out` (`n` scalars).
    ///
    /// # Panics
    /// If the slice lengths do not match.
    fn log_jacobian_into(&self, s: T, t: T, xs: &[T], out: &mut [T]);
}

#[track_caller]
fn shapes<T>(d: usize, xs: &[T], out: &[T], what: &str) -> usize {
    assert!(
        d > 0 && xs.len() % d == 0 && out.len() == xs.len(),
        "{what}: expected [n, {d}] batches of equal length, got {} and {}",
        xs.len(),
        out.len()
    );
    xs.len() / d
}

#[track_caller]
fn shapes_lj<T>(d: usize, xs: &[T], out: &[T], what: &str) -> usize {
    assert!(
        d > 0 && xs.len() % d == 0 && out.len() * d == xs.len(),
        "{what}: expected an [n, {d}] batch and n outputs, got {} and {}",
        xs.len(),
        out.len()
    );
    xs.len() / d
}

/// $\int_s^t (c_0 + c_1\tau)\\,d\tau$.
#[inline]
fn linear_integral<T: Real>(c0: T, c1: T, s: T, t: T) -> T {
    c0 * (t - s) + c1 * T::c(0.5) * (t * t - s * s)
}

fn finite_params<T: Real>(ps: &[T], what: &str) -> Result<()> {
    if ps.iter().all(|p| p.is_finite()) {
        Ok(())
    } else {
        Err(FlowError::InvalidArgument(format!(
            "{what}: parameters must be finite"
        )))
    }
}

/// Implements [`VectorField`] and [`FlowMap`] from inherent `eval_row`, `jvp_row`, `flow_row`.
macro_rules! field_impls {
    ($ty:ident) => {
        impl<T: Real> VectorField<T> for $ty<T> {
            fn ambient_dim(&self) -> usize {
                $ty::ambient_dim(self)
            }
            #[track_caller]
            fn eval_into(&mut self, t: T, xs: &[T], out: &mut [T]) {
                let d = $ty::ambient_dim(self);
                shapes(d, xs, out, concat!(stringify!($ty), "::eval_into"));
                for (x, o) in xs.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
                    self.eval_row(t, x, o);
                }
            }
            #[track_caller]
            fn jvp_into(&mut self, t: T, xs: &[T], dirs: &[T], v: &mut [T], dv: &mut [T]) {
                let d = $ty::ambient_dim(self);
                shapes(d, xs, dirs, concat!(stringify!($ty), "::jvp_into"));
                shapes(d, xs, v, concat!(stringify!($ty), "::jvp_into"));
                shapes(d, xs, dv, concat!(stringify!($ty), "::jvp_into"));
                for (((x, u), v), dv) in xs
                    .chunks_exact(d)
                    .zip(dirs.chunks_exact(d))
                    .zip(v.chunks_exact_mut(d))
                    .zip(dv.chunks_exact_mut(d))
                {
                    self.eval_row(t, x, v);
                    self.jvp_row(t, x, u, dv);
                }
            }
        }
        impl<T: Real> FlowMap<T> for $ty<T> {
            fn ambient_dim(&self) -> usize {
                $ty::ambient_dim(self)
            }
            #[track_caller]
            fn map_into(&mut self, s: T, t: T, xs: &[T], out: &mut [T]) {
                let d = $ty::ambient_dim(self);
                shapes(d, xs, out, concat!(stringify!($ty), "::map_into"));
                for (x, o) in xs.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
                    self.flow_row(s, t, x, o);
                }
            }
        }
        impl<T: Real> ExactFlow<T> for $ty<T> {
            #[track_caller]
            fn log_jacobian_into(&self, s: T, t: T, xs: &[T], out: &mut [T]) {
                let d = $ty::ambient_dim(self);
                shapes_lj(d, xs, out, concat!(stringify!($ty), "::log_jacobian_into"));
                for (x, o) in xs.chunks_exact(d).zip(out.iter_mut()) {
                    *o = self.log_jacobian_row(s, t, x);
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// S²: rotation about a rotating axis

/// The rotation field $v_t(x) = \omega(t) \times x$ on $S^2$ with the axis
/// $\omega(t) = R_z(\alpha t)\\,\omega_0$ turning about $e_z$ at rate $\alpha$ (a Killing field:
/// divergence 0). $\alpha = 0$ gives the rotation about a fixed axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SphereRotation<T> {
    omega: [T; 3],
    alpha: T,
}

impl<T: Real> SphereRotation<T> {
    /// The field with $\omega_0$ = `omega` and axis rate `alpha`.
    pub fn new(omega: [T; 3], alpha: T) -> Self {
        Self { omega, alpha }
    }
    /// Scalars per point (the manifold's ambient dimension).
    pub fn ambient_dim(&self) -> usize {
        3
    }
    /// $R_z(\theta)\\,y$.
    fn rz(theta: T, y: [T; 3]) -> [T; 3] {
        let (s, c) = theta.sin_cos();
        [c * y[0] - s * y[1], s * y[0] + c * y[1], y[2]]
    }
    fn omega_at(&self, t: T) -> [T; 3] {
        Self::rz(self.alpha * t, self.omega)
    }
    fn cross(a: [T; 3], b: &[T]) -> [T; 3] {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    }
    fn eval_row(&self, t: T, x: &[T], out: &mut [T]) {
        out.copy_from_slice(&Self::cross(self.omega_at(t), x));
    }
    fn jvp_row(&self, t: T, _x: &[T], u: &[T], out: &mut [T]) {
        out.copy_from_slice(&Self::cross(self.omega_at(t), u));
    }
    /// $\exp(\tau\lbrack a\rbrack_\times)\\,y$ by Rodrigues' formula.
    fn rotate(a: [T; 3], tau: T, y: [T; 3]) -> [T; 3] {
        let th = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt() * tau;
        let (s1, s2) = (tau * sinc(th), tau * tau * one_minus_cos_over_x2(th));
        let ay = Self::cross(a, &y);
        let aay = Self::cross(a, &ay);
        [
            y[0] + s1 * ay[0] + s2 * aay[0],
            y[1] + s1 * ay[1] + s2 * aay[1],
            y[2] + s1 * ay[2] + s2 * aay[2],
        ]
    }
    fn flow_row(&self, s: T, t: T, x: &[T], out: &mut [T]) {
        let y = Self::rz(-self.alpha * s, [x[0], x[1], x[2]]);
        let a = [self.omega[0], self.omega[1], self.omega[2] - self.alpha];
        let y = Self::rotate(a, t - s, y);
        out.copy_from_slice(&Self::rz(self.alpha * t, y));
    }
    fn log_jacobian_row(&self, _s: T, _t: T, _x: &[T]) -> T {
        T::zero()
    }
}
field_impls!(SphereRotation);

// ---------------------------------------------------------------------------------------------
// Sⁿ: gradient of a height function

/// The gradient field $v_t(x) = c(t)\\,(a - (a\cdot x)\\,x)$ of the height $a\cdot x$ on $S^n$
/// ($a$ normalised, $c(t) = c_0 + c_1t$): it pushes mass towards $a$, with
/// $\operatorname{div} v_t = -n\\,c(t)\\,a\cdot x$.
#[derive(Debug, Clone, PartialEq)]
pub struct SphereGradient<T> {
    a: Vec<T>,
    c0: T,
    c1: T,
}

impl<T: Real> SphereGradient<T> {
    /// The field on $S^n$, $n$ = `a.len() - 1`.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if `a` has fewer than 2 entries, is zero or not finite.
    pub fn new(a: Vec<T>, c0: T, c1: T) -> Result<Self> {
        finite_params(&a, "SphereGradient")?;
        finite_params(&[c0, c1], "SphereGradient")?;
        let r = a.iter().fold(T::zero(), |s, &x| x.madd(x, s)).sqrt();
        if a.len() < 2 || !r.is_finite() || r <= T::zero() {
            return Err(FlowError::InvalidArgument(
                "SphereGradient: a must be a non-zero vector with at least 2 entries".into(),
            ));
        }
        Ok(Self {
            a: a.into_iter().map(|x| x / r).collect(),
            c0,
            c1,
        })
    }
    /// Scalars per point (the manifold's ambient dimension).
    pub fn ambient_dim(&self) -> usize {
        self.a.len()
    }
    fn ax(&self, x: &[T]) -> T {
        self.a
            .iter()
            .zip(x)
            .fold(T::zero(), |s, (&a, &x)| a.madd(x, s))
    }
    fn eval_row(&self, t: T, x: &[T], out: &mut [T]) {
        let c = self.c0 + self.c1 * t;
        let z = self.ax(x);
        for ((o, &a), &x) in out.iter_mut().zip(&self.a).zip(x) {
            *o = c * (a - z * x);
        }
    }
    fn jvp_row(&self, t: T, x: &[T], u: &[T], out: &mut [T]) {
        let c = self.c0 + self.c1 * t;
        let (z, au) = (self.ax(x), self.ax(u));
        for ((o, &x), &u) in out.iter_mut().zip(x).zip(u) {
            *o = -c * (au * x + z * u);
        }
    }
    /// $\cosh\Delta + z\sinh\Delta = \tfrac12\big(e^\Delta(1 + z) + e^{-\Delta}(1 - z)\big)$.
    fn e(z: T, delta: T) -> T {
        T::c(0.5) * (delta.exp() * (T::one() + z) + (-delta).exp() * (T::one() - z))
    }
    fn flow_row(&self, s: T, t: T, x: &[T], out: &mut [T]) {
        let delta = linear_integral(self.c0, self.c1, s, t);
        let z = self.ax(x);
        let e = Self::e(z, delta);
        let zt = (z * delta.cosh() + delta.sinh()) / e;
        for ((o, &a), &x) in out.iter_mut().zip(&self.a).zip(x) {
            *o = zt * a + (x - z * a) / e;
        }
    }
    fn log_jacobian_row(&self, s: T, t: T, x: &[T]) -> T {
        let delta = linear_integral(self.c0, self.c1, s, t);
        -T::c((self.a.len() - 1) as f64) * Self::e(self.ax(x), delta).ln()
    }
}
field_impls!(SphereGradient);

// ---------------------------------------------------------------------------------------------
// Tⁿ: drift and sine fields

/// The spatially constant field $v_t = c_0 + \cos(\omega t)\\,c_1$ on $T^n$ (divergence 0): the
/// samplers reduce to quadrature rules of their order.
#[derive(Debug, Clone, PartialEq)]
pub struct TorusDrift<T> {
    c0: Vec<T>,
    c1: Vec<T>,
    omega: T,
}

impl<T: Real> TorusDrift<T> {
    /// $v_t = c_0 + c_1$ (constant in time).
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if the vectors are empty, differ in length or are not
    /// finite.
    pub fn new(c0: Vec<T>, c1: Vec<T>) -> Result<Self> {
        Self::with_frequency(c0, c1, T::zero())
    }
    /// $v_t = c_0 + \cos(\omega t)\\,c_1$.
    ///
    /// # Errors
    /// As [`TorusDrift::new`].
    pub fn with_frequency(c0: Vec<T>, c1: Vec<T>, omega: T) -> Result<Self> {
        finite_params(&c0, "TorusDrift")?;
        finite_params(&c1, "TorusDrift")?;
        finite_params(&[omega], "TorusDrift")?;
        if c0.is_empty() || c0.len() != c1.len() {
            return Err(FlowError::InvalidArgument(
                "TorusDrift: c0 and c1 must be non-empty and of equal length".into(),
            ));
        }
        Ok(Self { c0, c1, omega })
    }
    /// Scalars per point (the manifold's ambient dimension).
    pub fn ambient_dim(&self) -> usize {
        self.c0.len()
    }
    fn eval_row(&self, t: T, _x: &[T], out: &mut [T]) {
        let c = (self.omega * t).cos();
        for ((o, &a), &b) in out.iter_mut().zip(&self.c0).zip(&self.c1) {
            *o = a + c * b;
        }
    }
    fn jvp_row(&self, _t: T, _x: &[T], _u: &[T], out: &mut [T]) {
        out.fill(T::zero());
    }
    fn flow_row(&self, s: T, t: T, x: &[T], out: &mut [T]) {
        // ∫_s^t cos(ωτ) dτ = (t - s) sinc-difference, exact at ω = 0
        let w = self.omega;
        let half = T::c(0.5);
        let ic = (t - s) * (w * (t + s) * half).cos() * sinc(w * (t - s) * half);
        for (((o, &x), &a), &b) in out.iter_mut().zip(x).zip(&self.c0).zip(&self.c1) {
            *o = geoflow_manifolds::wrap_angle(x + (t - s) * a + ic * b);
        }
    }
    fn log_jacobian_row(&self, _s: T, _t: T, _x: &[T]) -> T {
        T::zero()
    }
}
field_impls!(TorusDrift);

/// The field $v_t(\theta)_i = (1 + \beta t)\\,c_i\sin\theta_i$ on $T^n$: it concentrates mass at
/// $\theta_i = \pi$ (for $c_i > 0$), divergence $(1 + \beta t)\sum_i c_i\cos\theta_i$.
#[derive(Debug, Clone, PartialEq)]
pub struct TorusSine<T> {
    c: Vec<T>,
    beta: T,
}

impl<T: Real> TorusSine<T> {
    /// The field with amplitudes `c` (one per angle) and time factor $1 + \beta t$.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if `c` is empty or a parameter is not finite.
    pub fn new(c: Vec<T>, beta: T) -> Result<Self> {
        finite_params(&c, "TorusSine")?;
        finite_params(&[beta], "TorusSine")?;
        if c.is_empty() {
            return Err(FlowError::InvalidArgument(
                "TorusSine: c must be non-empty".into(),
            ));
        }
        Ok(Self { c, beta })
    }
    /// Scalars per point (the manifold's ambient dimension).
    pub fn ambient_dim(&self) -> usize {
        self.c.len()
    }
    fn eval_row(&self, t: T, x: &[T], out: &mut [T]) {
        let g = T::one() + self.beta * t;
        for ((o, &c), &x) in out.iter_mut().zip(&self.c).zip(x) {
            *o = g * c * x.sin();
        }
    }
    fn jvp_row(&self, t: T, x: &[T], u: &[T], out: &mut [T]) {
        let g = T::one() + self.beta * t;
        for (((o, &c), &x), &u) in out.iter_mut().zip(&self.c).zip(x).zip(u) {
            *o = g * c * x.cos() * u;
        }
    }
    fn flow_row(&self, s: T, t: T, x: &[T], out: &mut [T]) {
        let gi = linear_integral(T::one(), self.beta, s, t);
        let half = T::c(0.5);
        for ((o, &c), &x) in out.iter_mut().zip(&self.c).zip(x) {
            let d = c * gi * half;
            let (sn, cs) = (x * half).sin_cos();
            *o = geoflow_manifolds::wrap_angle(T::c(2.0) * (sn * d.exp()).atan2(cs * (-d).exp()));
        }
    }
    fn log_jacobian_row(&self, s: T, t: T, x: &[T]) -> T {
        let gi = linear_integral(T::one(), self.beta, s, t);
        let half = T::c(0.5);
        let mut lj = T::zero();
        for (&c, &x) in self.c.iter().zip(x) {
            let d = c * gi;
            let (sn, cs) = (x * half).sin_cos();
            lj -= (sn * sn * d.exp() + cs * cs * (-d).exp()).ln();
        }
        lj
    }
}
field_impls!(TorusSine);

// ---------------------------------------------------------------------------------------------
// Hⁿ (hyperboloid): boost and radial contraction

/// The Lorentz boost field $v_t(x) = \beta(t)\\,(x_1, x_0, 0, \dots, 0)$ on $H^n \subset \mathbb R^{n+1}$,
/// $\beta(t) = \beta_0 + \beta_1t$ (a Killing field; its orbits are hypercycles, not geodesics).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HyperbolicBoost<T> {
    n: usize,
    b0: T,
    b1: T,
}

impl<T: Real> HyperbolicBoost<T> {
    /// The field on $H^n$.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if `n == 0` or a parameter is not finite.
    pub fn new(n: usize, b0: T, b1: T) -> Result<Self> {
        finite_params(&[b0, b1], "HyperbolicBoost")?;
        if n == 0 {
            return Err(FlowError::InvalidArgument(
                "HyperbolicBoost: n must be at least 1".into(),
            ));
        }
        Ok(Self { n, b0, b1 })
    }
    /// Scalars per point (the manifold's ambient dimension).
    pub fn ambient_dim(&self) -> usize {
        self.n + 1
    }
    fn eval_row(&self, t: T, x: &[T], out: &mut [T]) {
        let b = self.b0 + self.b1 * t;
        out.fill(T::zero());
        out[0] = b * x[1];
        out[1] = b * x[0];
    }
    fn jvp_row(&self, t: T, x: &[T], u: &[T], out: &mut [T]) {
        self.eval_row(t, u, out);
        let _ = x;
    }
    fn flow_row(&self, s: T, t: T, x: &[T], out: &mut [T]) {
        let b = linear_integral(self.b0, self.b1, s, t);
        let (sh, ch) = (b.sinh(), b.cosh());
        out.copy_from_slice(x);
        out[1] = sh * x[0] + ch * x[1];
        let yy = out[1..].iter().fold(T::zero(), |s, &y| y.madd(y, s));
        out[0] = (T::one() + yy).sqrt();
    }
    fn log_jacobian_row(&self, _s: T, _t: T, _x: &[T]) -> T {
        T::zero()
    }
}
field_impls!(HyperbolicBoost);

/// The radial field $v_t(x) = c(t)\\,(e_0 - x_0x) = c(t)\\,P_xe_0 = -c(t)\sinh r\\,\partial_r$ on
/// $H^n$ (Lorentz), a contraction towards the origin for $c > 0$ along geodesics:
/// $\tanh(r/2)$ shrinks by $e^{-\Delta}$, $\Delta = \int_s^t c$. Divergence $-n\\,c(t)\\,x_0$.
/// For $c < 0$ the flow reaches infinity in finite time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HyperbolicRadial<T> {
    n: usize,
    c0: T,
    c1: T,
}

/// $\log\frac{d}{du}$-free parts of the radial flow: `(ratio, log_jacobian)` for a point of
/// ball radius $u$ with $1 - u^2 = a$, moved by $\Delta$ in $n$ dimensions.
fn radial<T: Real>(u: T, a: T, delta: T, n: usize) -> (T, T) {
    let q = (-delta).exp();
    // 1 - u_t² = (1 - u²) + u²(1 - q²)
    let at = a - u * u * (q * q - T::one());
    (q * a / at, T::c(n as f64) * (-delta - (at / a).ln()))
}

impl<T: Real> HyperbolicRadial<T> {
    /// The field on $H^n$ with $c(t) = c_0 + c_1t$.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if `n == 0` or a parameter is not finite.
    pub fn new(n: usize, c0: T, c1: T) -> Result<Self> {
        finite_params(&[c0, c1], "HyperbolicRadial")?;
        if n == 0 {
            return Err(FlowError::InvalidArgument(
                "HyperbolicRadial: n must be at least 1".into(),
            ));
        }
        Ok(Self { n, c0, c1 })
    }
    /// Scalars per point (the manifold's ambient dimension).
    pub fn ambient_dim(&self) -> usize {
        self.n + 1
    }
    fn eval_row(&self, t: T, x: &[T], out: &mut [T]) {
        let c = self.c0 + self.c1 * t;
        for (o, &y) in out.iter_mut().zip(x) {
            *o = -c * x[0] * y;
        }
        out[0] += c;
    }
    fn jvp_row(&self, t: T, x: &[T], u: &[T], out: &mut [T]) {
        let c = self.c0 + self.c1 * t;
        for ((o, &y), &w) in out.iter_mut().zip(x).zip(u) {
            *o = -c * (u[0] * y + x[0] * w);
        }
    }
    /// Ball radius $u = \lVert\bar x\rVert/(1 + x_0)$ and $1 - u^2 = 2/(1 + x_0)$.
    fn ball_radius(x: &[T]) -> (T, T) {
        let xx = x[1..].iter().fold(T::zero(), |s, &y| y.madd(y, s));
        let x0 = (T::one() + xx).sqrt();
        (xx.sqrt() / (T::one() + x0), T::c(2.0) / (T::one() + x0))
    }
    fn flow_row(&self, s: T, t: T, x: &[T], out: &mut [T]) {
        let (u, a) = Self::ball_radius(x);
        let (ratio, _) = radial(u, a, linear_integral(self.c0, self.c1, s, t), self.n);
        let mut yy = T::zero();
        for (o, &y) in out[1..].iter_mut().zip(&x[1..]) {
            *o = ratio * y;
            yy = o.madd(*o, yy);
        }
        out[0] = (T::one() + yy).sqrt();
    }
    fn log_jacobian_row(&self, s: T, t: T, x: &[T]) -> T {
        let (u, a) = Self::ball_radius(x);
        radial(u, a, linear_integral(self.c0, self.c1, s, t), self.n).1
    }
}
field_impls!(HyperbolicRadial);

// ---------------------------------------------------------------------------------------------
// Bⁿ (Poincaré ball): the same boost and radial fields in ball coordinates

/// [`HyperbolicBoost`] in Poincaré-ball coordinates:
/// $v_t(p) = \beta(t)\big(\tfrac12(1 + \lVert p\rVert^2)\\,e_1 - p_1\\,p\big)$ (a Killing field whose
/// Euclidean divergence $-n\beta p_1$ is cancelled by the chart correction $n\lambda_p\\,p\cdot v$).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BallBoost<T> {
    n: usize,
    b0: T,
    b1: T,
}

impl<T: Real> BallBoost<T> {
    /// The field on $B^n$.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if `n == 0` or a parameter is not finite.
    pub fn new(n: usize, b0: T, b1: T) -> Result<Self> {
        finite_params(&[b0, b1], "BallBoost")?;
        if n == 0 {
            return Err(FlowError::InvalidArgument(
                "BallBoost: n must be at least 1".into(),
            ));
        }
        Ok(Self { n, b0, b1 })
    }
    /// Scalars per point (the manifold's ambient dimension).
    pub fn ambient_dim(&self) -> usize {
        self.n
    }
    fn eval_row(&self, t: T, p: &[T], out: &mut [T]) {
        let b = self.b0 + self.b1 * t;
        let pp = p.iter().fold(T::zero(), |s, &y| y.madd(y, s));
        for (o, &y) in out.iter_mut().zip(p) {
            *o = -b * p[0] * y;
        }
        out[0] += b * T::c(0.5) * (T::one() + pp);
    }
    fn jvp_row(&self, t: T, p: &[T], u: &[T], out: &mut [T]) {
        let b = self.b0 + self.b1 * t;
        let pu = p.iter().zip(u).fold(T::zero(), |s, (&a, &c)| a.madd(c, s));
        for ((o, &y), &w) in out.iter_mut().zip(p).zip(u) {
            *o = -b * (u[0] * y + p[0] * w);
        }
        out[0] += b * pu;
    }
    fn flow_row(&self, s: T, t: T, p: &[T], out: &mut [T]) {
        // to the hyperboloid, boost, back
        let b = linear_integral(self.b0, self.b1, s, t);
        let (sh, ch) = (b.sinh(), b.cosh());
        let pp = p.iter().fold(T::zero(), |s, &y| y.madd(y, s));
        let a = T::one() - pp;
        let x0 = (T::one() + pp) / a;
        let x1 = T::c(2.0) * p[0] / a;
        let (y0, y1) = (ch * x0 + sh * x1, sh * x0 + ch * x1);
        let k = T::one() / (T::one() + y0);
        for (o, &y) in out.iter_mut().zip(p) {
            *o = k * T::c(2.0) * y / a;
        }
        out[0] = k * y1;
    }
    fn log_jacobian_row(&self, _s: T, _t: T, _p: &[T]) -> T {
        T::zero()
    }
}
field_impls!(BallBoost);

/// [`HyperbolicRadial`] in Poincaré-ball coordinates: $v_t(p) = -c(t)\\,p$, whose Riemannian
/// divergence $-n\\,c(t)\frac{1 + \lVert p\rVert^2}{1 - \lVert p\rVert^2}$ differs from the
/// Euclidean $-n\\,c(t)$.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BallRadial<T> {
    n: usize,
    c0: T,
    c1: T,
}

impl<T: Real> BallRadial<T> {
    /// The field on $B^n$ with $c(t) = c_0 + c_1t$.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if `n == 0` or a parameter is not finite.
    pub fn new(n: usize, c0: T, c1: T) -> Result<Self> {
        finite_params(&[c0, c1], "BallRadial")?;
        if n == 0 {
            return Err(FlowError::InvalidArgument(
                "BallRadial: n must be at least 1".into(),
            ));
        }
        Ok(Self { n, c0, c1 })
    }
    /// Scalars per point (the manifold's ambient dimension).
    pub fn ambient_dim(&self) -> usize {
        self.n
    }
    fn eval_row(&self, t: T, p: &[T], out: &mut [T]) {
        let c = self.c0 + self.c1 * t;
        for (o, &y) in out.iter_mut().zip(p) {
            *o = -c * y;
        }
    }
    fn jvp_row(&self, t: T, _p: &[T], u: &[T], out: &mut [T]) {
        self.eval_row(t, u, out);
    }
    fn flow_row(&self, s: T, t: T, p: &[T], out: &mut [T]) {
        let q = (-linear_integral(self.c0, self.c1, s, t)).exp();
        for (o, &y) in out.iter_mut().zip(p) {
            *o = q * y;
        }
    }
    fn log_jacobian_row(&self, s: T, t: T, p: &[T]) -> T {
        let pp = p.iter().fold(T::zero(), |s, &y| y.madd(y, s));
        let delta = linear_integral(self.c0, self.c1, s, t);
        radial(pp.sqrt(), T::one() - pp, delta, self.n).1
    }
}
field_impls!(BallRadial);

// ---------------------------------------------------------------------------------------------
// ℝⁿ: linear field

/// The linear field $v(x) = Ax$ on $\mathbb R^n$ ($A$ row-major $n \times n$), with flow
/// $e^{(t-s)A}$ and log-Jacobian $(t - s)\operatorname{tr}A$: it maps $\mathcal N(0, I)$ to
/// $\mathcal N(0, e^{A}e^{A^\top})$ at $t = 1$.
#[derive(Debug, Clone, PartialEq)]
pub struct EuclideanLinear<T> {
    n: usize,
    a: Vec<T>,
}

impl<T: Real> EuclideanLinear<T> {
    /// The field $Ax$; `a` holds $n^2$ entries, row-major, $1 \le n \le 16$.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] if `a.len()` is not such a square or an entry is not
    /// finite.
    pub fn new(a: Vec<T>) -> Result<Self> {
        finite_params(&a, "EuclideanLinear")?;
        let n = (a.len() as f64).sqrt().round() as usize;
        if n == 0 || n > 16 || n * n != a.len() {
            return Err(FlowError::InvalidArgument(format!(
                "EuclideanLinear: {} entries is not an n x n matrix with 1 <= n <= 16",
                a.len()
            )));
        }
        Ok(Self { n, a })
    }
    /// Scalars per point (the manifold's ambient dimension).
    pub fn ambient_dim(&self) -> usize {
        self.n
    }
    fn eval_row(&self, _t: T, x: &[T], out: &mut [T]) {
        for (o, row) in out.iter_mut().zip(self.a.chunks_exact(self.n)) {
            *o = row
                .iter()
                .zip(x)
                .fold(T::zero(), |s, (&a, &x)| a.madd(x, s));
        }
    }
    fn jvp_row(&self, t: T, _x: &[T], u: &[T], out: &mut [T]) {
        self.eval_row(t, u, out);
    }
    /// $e^{\tau A}y$ by scaling and squaring of a 20-term Taylor series applied to the vector
    /// (Horner in $A$, so no matrix is formed): $e^{\tau A}y = (e^{\tau A/2^j})^{2^j} y$.
    fn flow_row(&self, s: T, t: T, x: &[T], out: &mut [T]) {
        let n = self.n;
        let tau = t - s;
        let norm = self
            .a
            .chunks_exact(n)
            .map(|r| r.iter().fold(T::zero(), |s, &a| s + a.abs()))
            .fold(T::zero(), T::max)
            * tau.abs();
        let mut j = 0;
        while norm / T::c(2f64.powi(j)) > T::c(0.25) && j < 20 {
            j += 1;
        }
        let h = tau / T::c(2f64.powi(j));
        out.copy_from_slice(x);
        let mut acc = [T::zero(); 16];
        let mut tmp = [T::zero(); 16];
        for _ in 0..(1u64 << j) {
            // out <- Σ_k (hA)^k out / k!  (Horner: acc = out + hA/1 (out + hA/2 (out + ...)))
            acc[..n].copy_from_slice(out);
            for k in (1..=20).rev() {
                let c = h / T::c(k as f64);
                for (i, row) in self.a.chunks_exact(n).enumerate() {
                    tmp[i] = row
                        .iter()
                        .zip(&acc[..n])
                        .fold(T::zero(), |s, (&a, &y)| a.madd(y, s));
                }
                for i in 0..n {
                    acc[i] = out[i] + c * tmp[i];
                }
            }
            out.copy_from_slice(&acc[..n]);
        }
    }
    fn log_jacobian_row(&self, s: T, t: T, _x: &[T]) -> T {
        let tr = (0..self.n).fold(T::zero(), |acc, i| acc + self.a[i * self.n + i]);
        (t - s) * tr
    }
}
field_impls!(EuclideanLinear);

// ---------------------------------------------------------------------------------------------
// The sampler accuracy table

/// One row of the sampler accuracy table: the maximum geodesic error against the exact flow
/// for each step count, and the observed order.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracyRow {
    /// The test case (manifold and field).
    pub case: String,
    /// The method.
    pub method: Method,
    /// The step counts.
    pub steps: Vec<usize>,
    /// $\max_i d(x_i^{\text{num}}, x_i^{\text{exact}})$ for each step count.
    pub errors: Vec<f64>,
    /// The least-squares slope of $-\log$ error against $\log N$ over the errors above
    /// $10^{-12}$ (`None` with fewer than two).
    pub order: Option<f64>,
}

fn observed_order(steps: &[usize], errors: &[f64]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = steps
        .iter()
        .zip(errors)
        .filter(|(_, &e)| e > 1e-12 && e.is_finite())
        .map(|(&n, &e)| ((n as f64).ln(), e.ln()))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let k = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / k,
        pts.iter().map(|p| p.1).sum::<f64>() / k,
    );
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    Some(-sxy / sxx)
}

fn accuracy_case<M, F>(
    case: &str,
    m: &M,
    field: &mut F,
    origin: &[f64],
    steps: &[usize],
    rows: &mut Vec<AccuracyRow>,
) -> Result<()>
where
    M: ParallelTransport<Scalar = f64> + Differentiable + Sample,
    F: ExactFlow<f64>,
{
    const POINTS: usize = 32;
    let d = m.ambient_dim();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261202);
    let mut base = vec![0.0; POINTS * d];
    m.sample_base_batch_into(&mut rng, &mut base);
    // halfway along the geodesic from `origin`: keeps hyperbolic points within radius ~2
    let mut x0 = vec![0.0; POINTS * d];
    for (b, x) in base.chunks_exact(d).zip(x0.chunks_exact_mut(d)) {
        m.geodesic_into(origin, b, 0.5, x);
    }
    let mut exact = vec![0.0; POINTS * d];
    field.map_into(0.0, 1.0, &x0, &mut exact);
    let mut sampler = Sampler::new();
    let mut xs = x0.clone();
    for method in Method::ALL {
        let mut errors = Vec::with_capacity(steps.len());
        for &n in steps {
            xs.copy_from_slice(&x0);
            let err = match sampler.integrate(m, field, &mut xs, 0.0, 1.0, n, method) {
                Ok(()) => xs
                    .chunks_exact(d)
                    .zip(exact.chunks_exact(d))
                    .map(|(a, b)| m.dist(a, b))
                    .fold(0.0, f64::max),
                Err(FlowError::Numerical(_)) => f64::INFINITY,
                Err(e) => return Err(e),
            };
            errors.push(err);
        }
        rows.push(AccuracyRow {
            case: case.to_string(),
            method,
            steps: steps.to_vec(),
            order: observed_order(steps, &errors),
            errors,
        });
    }
    Ok(())
}

/// Runs every method of [`Method::ALL`] with each step count on the accuracy cases and returns
/// one row per case and method. Start points: 32 seeded base samples, each moved halfway
/// towards a centre along the geodesic (so hyperbolic points lie within radius about 2);
/// f64; $t: 0 \to 1$; a run that diverges (non-finite state) has error `inf`. Cases:
///
/// - `S² rotation, rotating axis`: [`SphereRotation`] $\omega_0 = (0.3, -0.4, 1.1)$, $\alpha = 1.5$;
/// - `S² gradient, c = 1.2 - t`: [`SphereGradient`] $a \propto (0.2, 0.5, 0.8)$;
/// - `T² drift, cos(3t)`: [`TorusDrift`] $c_0 = (1, -0.5)$, $c_1 = (0.7, 1.3)$, $\omega = 3$;
/// - `T² sine, 1 + t`: [`TorusSine`] $c = (1, -0.7)$, $\beta = 1$;
/// - `H² boost, 1 + t`: [`HyperbolicBoost`] on [`Lorentz`];
/// - `H² radial, c = 1 - t`: [`HyperbolicRadial`] on [`Lorentz`];
/// - `B² boost, 1 + t`: [`BallBoost`] on [`PoincareBall`].
///
/// # Errors
/// A sampler error (none is expected for step counts $\ge 1$).
pub fn sampler_accuracy(steps: &[usize]) -> Result<Vec<AccuracyRow>> {
    let mut rows = Vec::new();
    let s2 = Sphere::<f64>::new(2)?;
    let t2 = FlatTorus::<f64>::new(2)?;
    let h2 = Lorentz::<f64>::new(2)?;
    let b2 = PoincareBall::<f64>::new(2)?;
    accuracy_case(
        "S² rotation, rotating axis",
        &s2,
        &mut SphereRotation::new([0.3, -0.4, 1.1], 1.5),
        &[0.0, 0.0, 1.0],
        steps,
        &mut rows,
    )?;
    accuracy_case(
        "S² gradient, c = 1.2 - t",
        &s2,
        &mut SphereGradient::new(vec![0.2, 0.5, 0.8], 1.2, -1.0)?,
        &[-0.2, -0.5, 0.8426149773176358],
        steps,
        &mut rows,
    )?;
    accuracy_case(
        "T² drift, cos(3t)",
        &t2,
        &mut TorusDrift::with_frequency(vec![1.0, -0.5], vec![0.7, 1.3], 3.0)?,
        &[0.0, 0.0],
        steps,
        &mut rows,
    )?;
    accuracy_case(
        "T² sine, 1 + t",
        &t2,
        &mut TorusSine::new(vec![1.0, -0.7], 1.0)?,
        &[0.0, 0.0],
        steps,
        &mut rows,
    )?;
    accuracy_case(
        "H² boost, 1 + t",
        &h2,
        &mut HyperbolicBoost::new(2, 1.0, 1.0)?,
        &[1.0, 0.0, 0.0],
        steps,
        &mut rows,
    )?;
    accuracy_case(
        "H² radial, c = 1 - t",
        &h2,
        &mut HyperbolicRadial::new(2, 1.0, -1.0)?,
        &[1.0, 0.0, 0.0],
        steps,
        &mut rows,
    )?;
    accuracy_case(
        "B² boost, 1 + t",
        &b2,
        &mut BallBoost::new(2, 1.0, 1.0)?,
        &[0.0, 0.0],
        steps,
        &mut rows,
    )?;
    Ok(rows)
}

/// The [`sampler_accuracy`] rows as a Markdown table (errors in `%.1e`, order to two
/// decimals), ready for `docs/results.md`.
///
/// ```
/// let table = geoflow_flows::sample::accuracy_table(&[4, 8])?;
/// assert!(table.starts_with("| case | method | N = 4 | N = 8 | order |"));
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
///
/// # Errors
/// As [`sampler_accuracy`].
pub fn accuracy_table(steps: &[usize]) -> Result<String> {
    use core::fmt::Write;
    let rows = sampler_accuracy(steps)?;
    let mut s = String::from("| case | method |");
    for n in steps {
        let _ = write!(s, " N = {n} |");
    }
    s.push_str(" order |\n|---|---|");
    for _ in steps {
        s.push_str("---|");
    }
    s.push_str("---|\n");
    for r in &rows {
        let _ = write!(s, "| {} | {} |", r.case, r.method);
        for e in &r.errors {
            let _ = write!(s, " {e:.1e} |");
        }
        match r.order {
            Some(o) => {
                let _ = writeln!(s, " {o:.2} |");
            }
            None => s.push_str(" – |\n"),
        }
    }
    Ok(s)
}
