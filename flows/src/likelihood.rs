//! Exact log-likelihoods of flow models: the probability-flow ODE integrated backwards with its
//! Riemannian divergence (spec §3.5, §5.6).
//!
//! # The augmented ODE
//!
//! If $x_t$ solves $\dot x = v_t(x)$ and $p_t$ is the pushforward of the base density $p_0$
//! (densities with respect to the Riemannian volume), the continuity equation gives
//! $\frac{d}{dt}\log p_t(x_t) = -\operatorname{div}_g v_t(x_t)$. So we integrate
//! $$\frac{d}{dt}\begin{pmatrix}x\\\\ \ell\end{pmatrix} = \begin{pmatrix}v_t(x)\\\\ \operatorname{div}_g v_t(x)\end{pmatrix},\qquad x(1) = x_1,\quad \ell(1) = 0,$$
//! from $t = 1$ down to $t = 0$; then $\ell(0) = -\int_0^1\operatorname{div}_g v_t(x_t)\\,dt$ and
//! $$\log p_1(x_1) = \log p_0\big(x(0)\big) + \ell(0),$$
//! with $\log p_0$ from [`Sample::base_log_density`] at the (projected) end point.
//!
//! # The Riemannian divergence
//!
//! For a $g$-orthonormal basis $E_1, \dots, E_n$ of $T_pM$,
//! $$\operatorname{div}_g v(p) = \sum_{i=1}^n \big\langle E_i, dV_p\lbrack E_i\rbrack\big\rangle_g + c(p, v),$$
//! where $dV_p\lbrack E_i\rbrack$ is the ambient JVP of the model ([`VectorField::jvp_into`]) along the
//! tangent direction $E_i$, so it does not depend on how the model extends off the manifold,
//! and $c$ is the [`Divergence::divergence_correction`]:
//!
//! - on embedded manifolds (sphere, orthant, hyperboloid) the Levi-Civita connection is the
//!   tangential part of the ambient derivative and $\langle E_i, \cdot\rangle_g$ drops the normal
//!   part, so $c = 0$ (on $S^n$ this agrees with the ambient Jacobian trace of a
//!   project-evaluate-project network, spec §2.1; on $H^n$ with the Minkowski form and the
//!   Minkowski-orthonormal frame $E_i = P_{o\to p}e_i$);
//! - in a coordinate chart with metric matrix $G$ the sum is the trace of the coordinate
//!   Jacobian and $c = \tfrac12\\,d(\log\det G)\lbrack v\rbrack$: on the Poincaré ball ($G = \lambda_p^2 I$)
//!   $c = n\lambda_p\\,p\cdot v$, so $\operatorname{div}_g v = \operatorname{div}_E v + n\lambda_p\\,p\cdot v$
//!   (spec §2.6); on the Fisher–Rao simplex ($\det G \propto \prod_i p_i^{-1}$ in affine
//!   coordinates of the hyperplane) $c = -\tfrac12\sum_i v_i/p_i$;
//! - flat tori and $\mathbb R^n$: the standard basis, $c = 0$;
//! - products and powers: blockwise bases, corrections add.
//!
//! The trace is basis-independent, so any orthonormal basis gives the same value; the bases here
//! are Householder reflections (sphere, orthant, simplex through $\sqrt p$), transported frames
//! (hyperboloid) and scaled coordinate bases $e_i/\lambda_p$ (ball).
//!
//! # Estimators
//!
//! [`Estimator::Exact`] costs $n = \dim M$ JVPs per right-hand side evaluation.
//! [`Estimator::Hutchinson`] uses $\operatorname{div}_g v \approx \frac1K\sum_k
//! \langle z_k, dV\lbrack z_k\rbrack\rangle_g + c$ with $z_k = B_p\varepsilon_k$ for Rademacher or Gaussian
//! $\varepsilon_k$ and a linear map $B_p$ with $B_pB_p^{*} = \mathrm{id}_{T_pM}$
//! ([`Divergence::tangent_probe_into`]; e.g. the tangent projection on the sphere), which is
//! unbiased because $\mathbb E\lbrack \varepsilon\varepsilon^\top\rbrack = I$. $B_p$ depends smoothly on $p$,
//! and the $\varepsilon_k$ are drawn once per solve from the seed (FFJORD), so the right-hand
//! side stays a smooth deterministic function for the adaptive solver.
//!
//! # Solvers
//!
//! [`Solver::Dopri5`]: adaptive Dormand–Prince 5(4) with FSAL and Hairer's initial step, in
//! ambient coordinates on the augmented state (as torchdiffeq's `dopri5`, which the reference
//! code uses). The error estimate is scaled componentwise by $\mathrm{atol} + \mathrm{rtol}\max(\lvert y\rvert,
//! \lvert y_{\text{new}}\rvert)$ and reduced with [`ErrorNorm`] (RMS over the batch, as
//! torchdiffeq, or the worst row). The point is re-projected after each accepted step; when the
//! projection moves a point by more than the tolerance (a torus angle wrapping around) the FSAL
//! stage is re-evaluated. Step-size underflow and `max_steps` are reported as
//! [`FlowError::Numerical`]. [`Solver::Fixed`]: the geodesic samplers of [`crate::sample`]
//! (Euler, midpoint, RKMK4, …), with $\ell$ integrated by the same quadrature weights, e.g.
//! 1000 projected Euler steps as in the reference code.
//!
//! Each right-hand side evaluation is one batched field call per basis vector (or probe) for the
//! whole batch; [`Likelihood`] keeps every buffer between calls, so a solve allocates nothing
//! per step and nothing per point.
//!
//! # Example
//!
//! A gradient field on $S^2$ that pushes the uniform density towards $e_3$: its divergence at
//! the north pole (a fixed point) is $-2$, so the pole's likelihood at $t = 1$ is
//! $-\log 4\pi + 2$.
//!
//! ```
//! use geoflow_flows::likelihood::{log_likelihood, LikelihoodOptions};
//! use geoflow_flows::sample::analytic::SphereGradient;
//! use geoflow_manifolds::{prelude::*, Sphere};
//! let s2 = Sphere::<f64>::new(2)?;
//! let mut field = SphereGradient::new(vec![0.0, 0.0, 1.0], 1.0, 0.0)?;
//! let lp = log_likelihood(&s2, &mut field, &[0.0, 0.0, 1.0], &LikelihoodOptions::default())?;
//! let exact = -(4.0 * std::f64::consts::PI).ln() + 2.0;
//! assert!((lp[0] - exact).abs() < 1e-4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::sample::{buf, check_batch, Method, Rhs, Sampler};
use crate::{FlowError, Result, VectorField};
use geoflow_manifolds::numerics::{dot, norm};
use geoflow_manifolds::poincare::one_minus_norm2;
use geoflow_manifolds::{
    Differentiable, Euclidean, FlatTorus, Lorentz, Manifold, ParallelTransport, PoincareBall,
    PositiveOrthant, Power, Product, Real, Sample, Simplex, Sphere, Validated,
};
use rand::{Rng, SeedableRng};

// ---------------------------------------------------------------------------------------------
// The Divergence trait

/// What the likelihood needs from a manifold beyond [`Manifold`]: an orthonormal tangent basis,
/// a smooth Parseval frame for Hutchinson probes, and the chart correction of the divergence.
///
/// Every method accepts points on the manifold **or near it** (the stage points of an ambient
/// Runge–Kutta solver) and depends smoothly on them there. See the [module docs](self) for the
/// formula $\operatorname{div}_g v = \sum_i\langle E_i, dV\lbrack E_i\rbrack\rangle_g + c(p, v)$.
pub trait Divergence: Manifold {
    /// Writes $E_i$, the `i`-th vector of a $g$-orthonormal basis of $T_pM$
    /// (`i < self.dim()`), into `out` (`ambient_dim()` scalars).
    ///
    /// # Panics
    /// If `i >= self.dim()` or a slice has the wrong length.
    fn tangent_basis_vector_into(&self, p: &[Self::Scalar], i: usize, out: &mut [Self::Scalar]);

    /// Writes the whole basis as the rows of `basis` (`[dim, ambient_dim]`).
    ///
    /// # Panics
    /// If `basis.len() != dim() * ambient_dim()`.
    #[track_caller]
    fn tangent_basis_into(&self, p: &[Self::Scalar], basis: &mut [Self::Scalar]) {
        let d = self.ambient_dim();
        assert!(
            basis.len() == self.dim() * d,
            "tangent_basis_into: expected {} scalars, got {}",
            self.dim() * d,
            basis.len()
        );
        for (i, row) in basis.chunks_exact_mut(d).enumerate() {
            self.tangent_basis_vector_into(p, i, row);
        }
    }

    /// Length of the probe coefficient vectors of
    /// [`tangent_probe_into`](Divergence::tangent_probe_into).
    fn probe_dim(&self) -> usize;

    /// Writes $B_p\varepsilon \in T_pM$ for `eps` of length [`probe_dim`](Divergence::probe_dim):
    /// linear in $\varepsilon$, smooth in $p$, with $B_pB_p^{*} = \mathrm{id}_{T_pM}$ for the
    /// metric $g_p$ (the columns of $B_p$ form a Parseval frame of $T_pM$), so that
    /// $\mathbb E\langle B_p\varepsilon, A B_p\varepsilon\rangle_g = \operatorname{tr}A$ whenever
    /// $\mathbb E\lbrack \varepsilon\varepsilon^\top\rbrack = I$.
    ///
    /// # Panics
    /// If a slice has the wrong length.
    fn tangent_probe_into(
        &self,
        p: &[Self::Scalar],
        eps: &[Self::Scalar],
        out: &mut [Self::Scalar],
    );

    /// The chart term $c(p, v) = \tfrac12\\,d(\log\det G)_p\lbrack v\rbrack$ of the divergence (0 on
    /// embedded manifolds and flat charts).
    fn divergence_correction(&self, p: &[Self::Scalar], v: &[Self::Scalar]) -> Self::Scalar {
        let _ = (p, v);
        <Self::Scalar as num_traits::Zero>::zero()
    }
}

/// $e_i$ of a standard basis.
#[inline]
fn unit_into<T: Real>(i: usize, out: &mut [T]) {
    out.fill(T::zero());
    out[i] = T::one();
}

/// The `i`-th vector ($i < n$) of an orthonormal basis of $x^\perp \subset \mathbb R^{n+1}$: the
/// columns $j \ne k$ of the Householder reflection $H = I - 2ww^\top/w^\top w$,
/// $w = u + \operatorname{sign}(u_k)e_k$, $u = x/\lVert x\rVert$, $k = \arg\max_j\lvert u_j\rvert$
/// ($Hu = -\operatorname{sign}(u_k)e_k$, so $He_j \perp u$ for $j \ne k$). No cancellation:
/// $w^\top w = 2(1 + \lvert u_k\rvert) \ge 2$.
fn householder_into<T: Real>(x: &[T], i: usize, out: &mut [T]) {
    let r = norm(x);
    let (mut k, mut big) = (0, T::zero());
    for (j, &a) in x.iter().enumerate() {
        if a.abs() > big {
            k = j;
            big = a.abs();
        }
    }
    if !r.is_finite() || r <= T::zero() {
        // no direction: the basis of e_0^⊥ (or NaN, which the solver reports)
        let j = i + 1;
        unit_into(j, out);
        if !r.is_finite() {
            out.fill(T::nan());
        }
        return;
    }
    let j = if i < k { i } else { i + 1 };
    let inv = T::one() / r;
    let uk = x[k] * inv;
    let s = if uk < T::zero() { -T::one() } else { T::one() };
    let ww = T::c(2.0) * (T::one() + uk.abs());
    let c = T::c(2.0) * x[j] * inv / ww;
    for (o, &a) in out.iter_mut().zip(x) {
        *o = -c * a * inv;
    }
    out[k] -= c * s;
    out[j] += T::one();
}

/// $P_u\varepsilon = \varepsilon - (u\cdot\varepsilon)u$, $u = x/\lVert x\rVert$.
fn sphere_probe_into<T: Real>(x: &[T], eps: &[T], out: &mut [T]) {
    let r2 = dot(x, x);
    let k = if r2 > T::zero() {
        dot(x, eps) / r2
    } else {
        T::zero()
    };
    for ((o, &e), &a) in out.iter_mut().zip(eps).zip(x) {
        *o = e - k * a;
    }
}

#[track_caller]
fn expect_len(len: usize, d: usize, what: &str) {
    assert!(len == d, "{what}: expected length {d}, got {len}");
}

/// Standard basis, identity probes, no correction.
macro_rules! flat_divergence {
    ($ty:ident) => {
        impl<T: Real> Divergence for $ty<T> {
            #[track_caller]
            fn tangent_basis_vector_into(&self, p: &[T], i: usize, out: &mut [T]) {
                let d = self.ambient_dim();
                expect_len(
                    p.len(),
                    d,
                    concat!(stringify!($ty), "::tangent_basis_vector_into: p"),
                );
                expect_len(
                    out.len(),
                    d,
                    concat!(stringify!($ty), "::tangent_basis_vector_into: out"),
                );
                assert!(i < d, "tangent_basis_vector_into: index {i} >= dim {d}");
                unit_into(i, out);
            }
            fn probe_dim(&self) -> usize {
                self.ambient_dim()
            }
            #[track_caller]
            fn tangent_probe_into(&self, p: &[T], eps: &[T], out: &mut [T]) {
                let d = self.ambient_dim();
                expect_len(
                    p.len(),
                    d,
                    concat!(stringify!($ty), "::tangent_probe_into: p"),
                );
                expect_len(
                    eps.len(),
                    d,
                    concat!(stringify!($ty), "::tangent_probe_into: eps"),
                );
                out.copy_from_slice(eps);
            }
        }
    };
}
flat_divergence!(Euclidean);
flat_divergence!(FlatTorus);

/// Householder basis of $p^\perp$, tangent-projected probes, no correction.
macro_rules! sphere_divergence {
    ($ty:ident) => {
        impl<T: Real> Divergence for $ty<T> {
            #[track_caller]
            fn tangent_basis_vector_into(&self, p: &[T], i: usize, out: &mut [T]) {
                let d = self.ambient_dim();
                expect_len(
                    p.len(),
                    d,
                    concat!(stringify!($ty), "::tangent_basis_vector_into: p"),
                );
                expect_len(
                    out.len(),
                    d,
                    concat!(stringify!($ty), "::tangent_basis_vector_into: out"),
                );
                assert!(
                    i + 1 < d,
                    "tangent_basis_vector_into: index {i} >= dim {}",
                    d - 1
                );
                householder_into(p, i, out);
            }
            fn probe_dim(&self) -> usize {
                self.ambient_dim()
            }
            #[track_caller]
            fn tangent_probe_into(&self, p: &[T], eps: &[T], out: &mut [T]) {
                let d = self.ambient_dim();
                expect_len(
                    p.len(),
                    d,
                    concat!(stringify!($ty), "::tangent_probe_into: p"),
                );
                expect_len(
                    eps.len(),
                    d,
                    concat!(stringify!($ty), "::tangent_probe_into: eps"),
                );
                expect_len(
                    out.len(),
                    d,
                    concat!(stringify!($ty), "::tangent_probe_into: out"),
                );
                sphere_probe_into(p, eps, out);
            }
        }
    };
}
sphere_divergence!(Sphere);
sphere_divergence!(PositiveOrthant);

/// The frame $E_i = P_{o\to x}e_i = e_i + \frac{x_i}{1 + x_0}(o + x)$ transported from the
/// origin $o = e_0$ (Minkowski-orthonormal, tangent, smooth on all of $H^n$), with
/// $x_0 = \sqrt{1 + \lVert\bar x\rVert^2}$ recomputed from the spatial part; probes
/// $\sum_i\varepsilon_iE_i$.
impl<T: Real> Divergence for Lorentz<T> {
    #[track_caller]
    fn tangent_basis_vector_into(&self, p: &[T], i: usize, out: &mut [T]) {
        let d = self.ambient_dim();
        expect_len(p.len(), d, "Lorentz::tangent_basis_vector_into: p");
        expect_len(out.len(), d, "Lorentz::tangent_basis_vector_into: out");
        assert!(
            i + 1 < d,
            "tangent_basis_vector_into: index {i} >= dim {}",
            d - 1
        );
        let xb = &p[1..];
        let x0 = (T::one() + dot(xb, xb)).sqrt();
        let k = xb[i] / (T::one() + x0);
        out[0] = xb[i];
        for (o, &a) in out[1..].iter_mut().zip(xb) {
            *o = k * a;
        }
        out[i + 1] += T::one();
    }
    fn probe_dim(&self) -> usize {
        self.dim()
    }
    #[track_caller]
    fn tangent_probe_into(&self, p: &[T], eps: &[T], out: &mut [T]) {
        let d = self.ambient_dim();
        expect_len(p.len(), d, "Lorentz::tangent_probe_into: p");
        expect_len(eps.len(), d - 1, "Lorentz::tangent_probe_into: eps");
        expect_len(out.len(), d, "Lorentz::tangent_probe_into: out");
        let xb = &p[1..];
        let x0 = (T::one() + dot(xb, xb)).sqrt();
        let s = dot(xb, eps);
        let k = s / (T::one() + x0);
        out[0] = s;
        for ((o, &a), &e) in out[1..].iter_mut().zip(xb).zip(eps) {
            *o = e + k * a;
        }
    }
}

/// The coordinate basis scaled to unit length, $E_i = e_i/\lambda_p$, probes
/// $\varepsilon/\lambda_p$, and the chart term $n\lambda_p\\,p\cdot v$ (spec §2.6).
impl<T: Real> Divergence for PoincareBall<T> {
    #[track_caller]
    fn tangent_basis_vector_into(&self, p: &[T], i: usize, out: &mut [T]) {
        let d = self.ambient_dim();
        expect_len(p.len(), d, "PoincareBall::tangent_basis_vector_into: p");
        expect_len(out.len(), d, "PoincareBall::tangent_basis_vector_into: out");
        assert!(i < d, "tangent_basis_vector_into: index {i} >= dim {d}");
        out.fill(T::zero());
        out[i] = T::c(0.5) * one_minus_norm2(p);
    }
    fn probe_dim(&self) -> usize {
        self.ambient_dim()
    }
    #[track_caller]
    fn tangent_probe_into(&self, p: &[T], eps: &[T], out: &mut [T]) {
        let d = self.ambient_dim();
        expect_len(p.len(), d, "PoincareBall::tangent_probe_into: p");
        expect_len(eps.len(), d, "PoincareBall::tangent_probe_into: eps");
        expect_len(out.len(), d, "PoincareBall::tangent_probe_into: out");
        let k = T::c(0.5) * one_minus_norm2(p);
        for (o, &e) in out.iter_mut().zip(eps) {
            *o = k * e;
        }
    }
    /// $n\lambda_p\\,p\cdot v = \tfrac12\\,d(\log\det\lambda_p^2I)\lbrack v\rbrack$.
    fn divergence_correction(&self, p: &[T], v: &[T]) -> T {
        let n = T::c(self.ambient_dim() as f64);
        n * T::c(2.0) / one_minus_norm2(p) * dot(p, v)
    }
}

/// Through the square-root map: $E_i = \sqrt p \odot W_i$ for the Householder basis $W_i$ of
/// $\sqrt p^\perp$ (Fisher–Rao orthonormal, summing to zero), probes
/// $\sqrt p \odot P_{\sqrt p}\varepsilon$, and the chart term $-\tfrac12\sum_i v_i/p_i$
/// (interior points only: the metric is infinite on the boundary).
impl<T: Real> Divergence for Simplex<T> {
    #[track_caller]
    fn tangent_basis_vector_into(&self, p: &[T], i: usize, out: &mut [T]) {
        let d = self.ambient_dim();
        expect_len(p.len(), d, "Simplex::tangent_basis_vector_into: p");
        expect_len(out.len(), d, "Simplex::tangent_basis_vector_into: out");
        assert!(
            i + 1 < d,
            "tangent_basis_vector_into: index {i} >= dim {}",
            d - 1
        );
        // E_l = x_l (δ_lj - c w_l) with x = sqrt(p), u = x/r, w = u + e_k, c = 2u_j/(wᵀw):
        // E_l = x_l δ_lj - c x_l²/r - c x_k δ_lk, computed in place from out = x
        for (o, &a) in out.iter_mut().zip(p) {
            *o = a.max(T::zero()).sqrt();
        }
        let r = norm(out);
        let (mut k, mut big) = (0, T::zero());
        for (j, &a) in out.iter().enumerate() {
            if a > big {
                k = j;
                big = a;
            }
        }
        if !r.is_finite() || r <= T::zero() {
            out.fill(T::nan());
            return;
        }
        let j = if i < k { i } else { i + 1 };
        let inv = T::one() / r;
        let ww = T::c(2.0) * (T::one() + big * inv);
        let c = T::c(2.0) * out[j] * inv / ww;
        let (sk, sj) = (out[k], out[j]);
        for o in out.iter_mut() {
            *o = -c * *o * *o * inv;
        }
        out[k] -= c * sk;
        out[j] += sj;
    }
    fn probe_dim(&self) -> usize {
        self.ambient_dim()
    }
    #[track_caller]
    fn tangent_probe_into(&self, p: &[T], eps: &[T], out: &mut [T]) {
        let d = self.ambient_dim();
        expect_len(p.len(), d, "Simplex::tangent_probe_into: p");
        expect_len(eps.len(), d, "Simplex::tangent_probe_into: eps");
        expect_len(out.len(), d, "Simplex::tangent_probe_into: out");
        // sqrt(p) ⊙ (eps - (x·eps)/|x|² x), x = sqrt(p)
        let (mut xe, mut xx) = (T::zero(), T::zero());
        for (&a, &e) in p.iter().zip(eps) {
            let x = a.max(T::zero()).sqrt();
            xe = x.madd(e, xe);
            xx = x.madd(x, xx);
        }
        let k = if xx > T::zero() { xe / xx } else { T::zero() };
        for ((o, &a), &e) in out.iter_mut().zip(p).zip(eps) {
            let x = a.max(T::zero()).sqrt();
            *o = x * (e - k * x);
        }
    }
    /// $-\tfrac12\sum_i v_i/p_i$.
    fn divergence_correction(&self, p: &[T], v: &[T]) -> T {
        let s = p.iter().zip(v).fold(T::zero(), |s, (&p, &v)| s + v / p);
        -T::c(0.5) * s
    }
}

impl<A, B> Divergence for Product<A, B>
where
    A: Divergence,
    B: Divergence<Scalar = A::Scalar>,
{
    #[track_caller]
    fn tangent_basis_vector_into(&self, p: &[A::Scalar], i: usize, out: &mut [A::Scalar]) {
        let (a, b) = (self.first(), self.second());
        let (pa, pb) = self.split(p);
        let (oa, ob) = out.split_at_mut(a.ambient_dim());
        if i < a.dim() {
            a.tangent_basis_vector_into(pa, i, oa);
            ob.fill(num_traits::Zero::zero());
        } else {
            b.tangent_basis_vector_into(pb, i - a.dim(), ob);
            oa.fill(num_traits::Zero::zero());
        }
    }
    fn probe_dim(&self) -> usize {
        self.first().probe_dim() + self.second().probe_dim()
    }
    #[track_caller]
    fn tangent_probe_into(&self, p: &[A::Scalar], eps: &[A::Scalar], out: &mut [A::Scalar]) {
        let (a, b) = (self.first(), self.second());
        let (pa, pb) = self.split(p);
        expect_len(
            eps.len(),
            self.probe_dim(),
            "Product::tangent_probe_into: eps",
        );
        let (ea, eb) = eps.split_at(a.probe_dim());
        let (oa, ob) = out.split_at_mut(a.ambient_dim());
        a.tangent_probe_into(pa, ea, oa);
        b.tangent_probe_into(pb, eb, ob);
    }
    fn divergence_correction(&self, p: &[A::Scalar], v: &[A::Scalar]) -> A::Scalar {
        let ((pa, pb), (va, vb)) = (self.split(p), self.split(v));
        self.first().divergence_correction(pa, va) + self.second().divergence_correction(pb, vb)
    }
}

impl<M: Divergence> Divergence for Power<M> {
    #[track_caller]
    fn tangent_basis_vector_into(&self, p: &[M::Scalar], i: usize, out: &mut [M::Scalar]) {
        let f = self.factor();
        let (d, n) = (f.ambient_dim(), f.dim().max(1));
        expect_len(
            p.len(),
            self.ambient_dim(),
            "Power::tangent_basis_vector_into: p",
        );
        expect_len(
            out.len(),
            self.ambient_dim(),
            "Power::tangent_basis_vector_into: out",
        );
        let b = i / n;
        out.fill(num_traits::Zero::zero());
        f.tangent_basis_vector_into(&p[b * d..(b + 1) * d], i % n, &mut out[b * d..(b + 1) * d]);
    }
    fn probe_dim(&self) -> usize {
        self.k() * self.factor().probe_dim()
    }
    #[track_caller]
    fn tangent_probe_into(&self, p: &[M::Scalar], eps: &[M::Scalar], out: &mut [M::Scalar]) {
        let f = self.factor();
        let (d, e) = (f.ambient_dim(), f.probe_dim());
        expect_len(p.len(), self.ambient_dim(), "Power::tangent_probe_into: p");
        expect_len(
            eps.len(),
            self.probe_dim(),
            "Power::tangent_probe_into: eps",
        );
        expect_len(
            out.len(),
            self.ambient_dim(),
            "Power::tangent_probe_into: out",
        );
        for ((p, eps), out) in p
            .chunks_exact(d)
            .zip(eps.chunks_exact(e.max(1)))
            .zip(out.chunks_exact_mut(d))
        {
            f.tangent_probe_into(p, eps, out);
        }
    }
    fn divergence_correction(&self, p: &[M::Scalar], v: &[M::Scalar]) -> M::Scalar {
        let f = self.factor();
        let d = f.ambient_dim();
        p.chunks_exact(d)
            .zip(v.chunks_exact(d))
            .fold(num_traits::Zero::zero(), |s: M::Scalar, (p, v)| {
                s + f.divergence_correction(p, v)
            })
    }
}

impl<M: Divergence> Divergence for Validated<M> {
    fn tangent_basis_vector_into(&self, p: &[M::Scalar], i: usize, out: &mut [M::Scalar]) {
        self.0.tangent_basis_vector_into(p, i, out)
    }
    fn probe_dim(&self) -> usize {
        self.0.probe_dim()
    }
    fn tangent_probe_into(&self, p: &[M::Scalar], eps: &[M::Scalar], out: &mut [M::Scalar]) {
        self.0.tangent_probe_into(p, eps, out)
    }
    fn divergence_correction(&self, p: &[M::Scalar], v: &[M::Scalar]) -> M::Scalar {
        self.0.divergence_correction(p, v)
    }
}

// ---------------------------------------------------------------------------------------------
// Estimators

/// The distribution of Hutchinson probe coefficients (mean 0, identity covariance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Probe {
    /// $\varepsilon_i = \pm1$ with probability $\tfrac12$ each (lower variance in a basis).
    Rademacher,
    /// $\varepsilon_i \sim \mathcal N(0, 1)$.
    Gaussian,
}

/// How the divergence is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Estimator {
    /// $\sum_i\langle E_i, dV\lbrack E_i\rbrack\rangle_g$ over an orthonormal basis: `dim()` JVPs.
    Exact,
    /// $\frac1K\sum_k\langle z_k, dV\lbrack z_k\rbrack\rangle_g$ with $K$ = `n_probes` probes per point,
    /// drawn once per solve from `seed` (deterministic): `n_probes` JVPs.
    Hutchinson {
        /// Probes per point ($\ge 1$).
        n_probes: usize,
        /// Their distribution.
        probe: Probe,
        /// Seed of the ChaCha8 generator.
        seed: u64,
    },
}

/// Reusable scratch for divergence evaluations ([`DivergenceEval::divergence_into`]).
#[derive(Debug, Clone, Default)]
pub struct DivergenceEval<T> {
    dirs: Vec<T>,
    dv: Vec<T>,
    probes: Vec<T>,
    n_probes: usize,
}

impl<T: Real> DivergenceEval<T> {
    /// Empty scratch, sized on first use.
    pub fn new() -> Self {
        Self {
            dirs: Vec::new(),
            dv: Vec::new(),
            probes: Vec::new(),
            n_probes: 0,
        }
    }

    /// Writes $v_t(x_i)$ into `v` (`[n, D]`) and $\operatorname{div}_g v_t(x_i)$ (or its
    /// Hutchinson estimate, with probes drawn from the estimator's seed) into `div` (`n`).
    ///
    /// ```
    /// use geoflow_flows::likelihood::{DivergenceEval, Estimator};
    /// use geoflow_flows::sample::analytic::SphereGradient;
    /// use geoflow_manifolds::{prelude::*, Sphere};
    /// let s2 = Sphere::<f64>::new(2)?;
    /// let mut f = SphereGradient::new(vec![0.0, 0.0, 1.0], 1.0, 0.0)?; // div = -2 z
    /// let (x, mut v, mut div) = ([0.6, 0.0, 0.8], [0.0; 3], [0.0]);
    /// DivergenceEval::new().divergence_into(&s2, &mut f, 0.0, &x, Estimator::Exact, &mut v, &mut div)?;
    /// assert!((div[0] + 1.6).abs() < 1e-15);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] for mismatched shapes or `n_probes == 0`.
    #[allow(clippy::too_many_arguments)]
    pub fn divergence_into<M, F>(
        &mut self,
        m: &M,
        field: &mut F,
        t: T,
        xs: &[T],
        estimator: Estimator,
        v: &mut [T],
        div: &mut [T],
    ) -> Result<()>
    where
        M: Divergence<Scalar = T>,
        F: VectorField<T> + ?Sized,
    {
        let d = m.ambient_dim();
        if field.ambient_dim() != d || d == 0 || xs.len() % d != 0 {
            return Err(FlowError::InvalidArgument(format!(
                "divergence_into: {} scalars and a model of ambient dimension {} do not fit a manifold of ambient dimension {d}",
                xs.len(),
                field.ambient_dim()
            )));
        }
        let n = xs.len() / d;
        if v.len() != xs.len() || div.len() != n {
            return Err(FlowError::InvalidArgument(format!(
                "divergence_into: expected {} velocity scalars and {n} divergences, got {} and {}",
                xs.len(),
                v.len(),
                div.len()
            )));
        }
        match estimator {
            Estimator::Exact => {
                self.exact(m, field, t, xs, v, div);
            }
            Estimator::Hutchinson {
                n_probes,
                probe,
                seed,
            } => {
                self.draw_probes(m, n, n_probes, probe, seed)?;
                self.hutchinson(m, field, t, xs, v, div);
            }
        }
        Ok(())
    }

    /// Draws `n * n_probes * probe_dim` coefficients from the seed.
    pub(crate) fn draw_probes<M: Divergence<Scalar = T>>(
        &mut self,
        m: &M,
        n: usize,
        n_probes: usize,
        probe: Probe,
        seed: u64,
    ) -> Result<()> {
        if n_probes == 0 {
            return Err(FlowError::InvalidArgument(
                "Hutchinson estimator: n_probes must be at least 1".into(),
            ));
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let eps = buf(&mut self.probes, n * n_probes * m.probe_dim());
        match probe {
            Probe::Rademacher => {
                for e in eps.iter_mut() {
                    *e = if rng.random::<bool>() {
                        T::one()
                    } else {
                        -T::one()
                    };
                }
            }
            Probe::Gaussian => {
                for e in eps.iter_mut() {
                    *e = T::standard_normal(&mut rng);
                }
            }
        }
        self.n_probes = n_probes;
        Ok(())
    }

    /// Exact divergence: one batched JVP per basis vector. Returns the number of field calls.
    pub(crate) fn exact<M, F>(
        &mut self,
        m: &M,
        field: &mut F,
        t: T,
        xs: &[T],
        v: &mut [T],
        div: &mut [T],
    ) -> usize
    where
        M: Divergence<Scalar = T>,
        F: VectorField<T> + ?Sized,
    {
        let d = m.ambient_dim();
        let dirs = buf(&mut self.dirs, xs.len());
        let dv = buf(&mut self.dv, xs.len());
        div.fill(T::zero());
        if m.dim() == 0 {
            field.eval_into(t, xs, v);
            return 1;
        }
        for i in 0..m.dim() {
            for (x, e) in xs.chunks_exact(d).zip(dirs.chunks_exact_mut(d)) {
                m.tangent_basis_vector_into(x, i, e);
            }
            field.jvp_into(t, xs, dirs, v, dv);
            for (((x, e), w), s) in xs
                .chunks_exact(d)
                .zip(dirs.chunks_exact(d))
                .zip(dv.chunks_exact(d))
                .zip(div.iter_mut())
            {
                *s += m.inner(x, e, w);
            }
        }
        for ((x, w), s) in xs
            .chunks_exact(d)
            .zip(v.chunks_exact(d))
            .zip(div.iter_mut())
        {
            *s += m.divergence_correction(x, w);
        }
        m.dim()
    }

    /// Hutchinson estimate with the probes of the last [`draw_probes`](Self::draw_probes).
    /// Returns the number of field calls.
    pub(crate) fn hutchinson<M, F>(
        &mut self,
        m: &M,
        field: &mut F,
        t: T,
        xs: &[T],
        v: &mut [T],
        div: &mut [T],
    ) -> usize
    where
        M: Divergence<Scalar = T>,
        F: VectorField<T> + ?Sized,
    {
        let d = m.ambient_dim();
        let pd = m.probe_dim();
        let k = self.n_probes;
        let dirs = buf(&mut self.dirs, xs.len());
        let dv = buf(&mut self.dv, xs.len());
        let eps = &self.probes[..div.len() * k * pd];
        div.fill(T::zero());
        let w = T::one() / T::c(k as f64);
        for j in 0..k {
            for (r, (x, e)) in xs.chunks_exact(d).zip(dirs.chunks_exact_mut(d)).enumerate() {
                let o = (r * k + j) * pd;
                m.tangent_probe_into(x, &eps[o..o + pd], e);
            }
            field.jvp_into(t, xs, dirs, v, dv);
            for (((x, e), g), s) in xs
                .chunks_exact(d)
                .zip(dirs.chunks_exact(d))
                .zip(dv.chunks_exact(d))
                .zip(div.iter_mut())
            {
                *s += w * m.inner(x, e, g);
            }
        }
        for ((x, g), s) in xs
            .chunks_exact(d)
            .zip(v.chunks_exact(d))
            .zip(div.iter_mut())
        {
            *s += m.divergence_correction(x, g);
        }
        k
    }
}

/// The divergence of `field` at time `t` on every row of `xs` (allocating convenience for
/// [`DivergenceEval::divergence_into`]).
///
/// # Errors
/// As [`DivergenceEval::divergence_into`].
pub fn divergence<M, F>(
    m: &M,
    field: &mut F,
    t: M::Scalar,
    xs: &[M::Scalar],
    estimator: Estimator,
) -> Result<Vec<M::Scalar>>
where
    M: Divergence,
    F: VectorField<M::Scalar> + ?Sized,
{
    let d = m.ambient_dim().max(1);
    let mut v = vec![<M::Scalar as num_traits::Zero>::zero(); xs.len()];
    let mut div = vec![<M::Scalar as num_traits::Zero>::zero(); xs.len() / d];
    DivergenceEval::new().divergence_into(m, field, t, xs, estimator, &mut v, &mut div)?;
    Ok(div)
}

// ---------------------------------------------------------------------------------------------
// Solvers and options

/// How the adaptive solver reduces the scaled error estimate to one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorNorm {
    /// Root mean square over every component of the batch (torchdiffeq's default).
    Rms,
    /// The largest per-row root mean square: every point meets the tolerance (more steps).
    Max,
}

/// The ODE solver of the likelihood.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Solver<T> {
    /// Adaptive Dormand–Prince 5(4) in ambient coordinates.
    Dopri5 {
        /// Absolute tolerance ($> 0$).
        atol: T,
        /// Relative tolerance ($\ge 0$).
        rtol: T,
        /// Maximum number of attempted steps (accepted and rejected).
        max_steps: usize,
        /// Reduction of the error estimate.
        norm: ErrorNorm,
    },
    /// `steps` equal steps of a geodesic sampler method.
    Fixed {
        /// Number of steps ($\ge 1$).
        steps: usize,
        /// The method.
        method: Method,
    },
}

impl<T: Real> Solver<T> {
    /// Dopri5 with the given tolerances, 10 000 steps at most, RMS norm.
    pub fn dopri5(atol: T, rtol: T) -> Self {
        Solver::Dopri5 {
            atol,
            rtol,
            max_steps: 10_000,
            norm: ErrorNorm::Rms,
        }
    }
}

/// Options of [`log_likelihood`]. Default: Dopri5 with atol = rtol = $10^{-5}$, exact divergence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LikelihoodOptions<T> {
    /// The ODE solver.
    pub solver: Solver<T>,
    /// The divergence estimator.
    pub estimator: Estimator,
}

impl<T: Real> Default for LikelihoodOptions<T> {
    fn default() -> Self {
        Self {
            solver: Solver::dopri5(T::c(1e-5), T::c(1e-5)),
            estimator: Estimator::Exact,
        }
    }
}

/// Work done by one likelihood solve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LikelihoodStats {
    /// Accepted steps.
    pub accepted_steps: usize,
    /// Rejected steps (adaptive solver only).
    pub rejected_steps: usize,
    /// Right-hand side evaluations of the augmented ODE (each is one field value and one
    /// divergence for the whole batch).
    pub rhs_evals: usize,
    /// Batched field calls ([`VectorField::jvp_into`] and [`VectorField::eval_into`]).
    pub field_calls: usize,
}

/// The augmented right-hand side $(v_t(x), \operatorname{div}_g v_t(x))$.
struct AugRhs<'a, M, F: ?Sized, T> {
    m: &'a M,
    field: &'a mut F,
    div: &'a mut DivergenceEval<T>,
    hutchinson: bool,
    stats: &'a mut LikelihoodStats,
}

impl<M, F, T> Rhs<T> for AugRhs<'_, M, F, T>
where
    T: Real,
    M: Divergence<Scalar = T>,
    F: VectorField<T> + ?Sized,
{
    fn eval(&mut self, t: T, xs: &[T], v: &mut [T], aux: &mut [T]) -> Result<()> {
        let calls = if self.hutchinson {
            self.div.hutchinson(self.m, self.field, t, xs, v, aux)
        } else {
            self.div.exact(self.m, self.field, t, xs, v, aux)
        };
        self.stats.rhs_evals += 1;
        self.stats.field_calls += calls;
        Ok(())
    }
}

// Dormand–Prince 5(4) tableau.
const C: [f64; 7] = [0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0];
const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
        0.0,
        0.0,
    ],
    [
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
        0.0,
    ],
    [
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
/// $b - b^*$: fifth-order minus embedded fourth-order weights (7 stages, FSAL).
const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];

/// Reusable likelihood solver: owns the options and every buffer (no allocation per step or per
/// point; repeated calls with at most the same batch size allocate nothing).
#[derive(Debug, Clone)]
pub struct Likelihood<T> {
    opts: LikelihoodOptions<T>,
    div: DivergenceEval<T>,
    sampler: Sampler<T>,
    k: Vec<T>,
    y: Vec<T>,
    ynew: Vec<T>,
    err: Vec<T>,
}

impl<T: Real> Likelihood<T> {
    /// A solver with these options (validated on use).
    pub fn new(opts: LikelihoodOptions<T>) -> Self {
        Self {
            opts,
            div: DivergenceEval::new(),
            sampler: Sampler::new(),
            k: Vec::new(),
            y: Vec::new(),
            ynew: Vec::new(),
            err: Vec::new(),
        }
    }

    /// The options.
    pub fn options(&self) -> &LikelihoodOptions<T> {
        &self.opts
    }

    /// The options, to change between solves (e.g. the Hutchinson seed); buffers are kept.
    pub fn options_mut(&mut self) -> &mut LikelihoodOptions<T> {
        &mut self.opts
    }

    /// Writes $\log p_1(x_i)$ for every row of `xs` into `out` (`n` scalars) and returns the
    /// work done. Points on the simplex boundary, where the base density vanishes, get
    /// $-\infty$.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] for bad options, mismatched shapes or rows off the
    /// manifold; [`FlowError::Numerical`] for a non-finite state or divergence, step-size
    /// underflow or `max_steps` exceeded.
    pub fn log_likelihood_into<M, F>(
        &mut self,
        m: &M,
        field: &mut F,
        xs: &[T],
        out: &mut [T],
    ) -> Result<LikelihoodStats>
    where
        M: Divergence<Scalar = T> + Sample + ParallelTransport + Differentiable,
        F: VectorField<T> + ?Sized,
    {
        let n = check_batch(m, field.ambient_dim(), xs, "log_likelihood")?;
        if out.len() != n {
            return Err(FlowError::InvalidArgument(format!(
                "log_likelihood: {n} points but {} outputs",
                out.len()
            )));
        }
        let d = m.ambient_dim();
        let nd = n * d;
        let mut stats = LikelihoodStats::default();
        if n == 0 {
            return Ok(stats);
        }
        let hutchinson = match self.opts.estimator {
            Estimator::Exact => false,
            Estimator::Hutchinson {
                n_probes,
                probe,
                seed,
            } => {
                self.div.draw_probes(m, n, n_probes, probe, seed)?;
                true
            }
        };
        let Self {
            opts,
            div,
            sampler,
            k,
            y,
            ynew,
            err,
        } = self;
        let len = nd + n;
        let y = buf(y, len);
        y[..nd].copy_from_slice(xs);
        y[nd..].fill(T::zero());
        let mut rhs = AugRhs {
            m,
            field,
            div,
            hutchinson,
            stats: &mut stats,
        };
        match opts.solver {
            Solver::Fixed { steps, method } => {
                let (x, l) = y.split_at_mut(nd);
                sampler.run(m, &mut rhs, x, l, T::one(), T::zero(), steps, method)?;
            }
            Solver::Dopri5 {
                atol,
                rtol,
                max_steps,
                norm,
            } => {
                if !(atol > T::zero() && atol.is_finite() && rtol >= T::zero() && rtol.is_finite())
                {
                    return Err(FlowError::InvalidArgument(format!(
                        "log_likelihood: need atol > 0 and rtol >= 0 (finite), got atol = {atol}, rtol = {rtol}"
                    )));
                }
                if max_steps == 0 {
                    return Err(FlowError::InvalidArgument(
                        "log_likelihood: max_steps must be at least 1".into(),
                    ));
                }
                let cfg = Dopri {
                    n,
                    d,
                    atol,
                    rtol,
                    max_steps,
                    norm,
                };
                cfg.solve(
                    m,
                    &mut rhs,
                    y,
                    buf(k, 7 * len),
                    buf(ynew, len),
                    buf(err, len),
                )?;
            }
        }
        let (x, l) = y.split_at(nd);
        for ((o, x), &l) in out.iter_mut().zip(x.chunks_exact(d)).zip(l) {
            *o = m.base_log_density(x) + l;
        }
        if let Some(i) = out.iter().position(|o| o.is_nan()) {
            return Err(FlowError::Numerical(format!(
                "log_likelihood: NaN log-density for row {i}"
            )));
        }
        Ok(stats)
    }
}

/// Evaluates the augmented right-hand side at the state `y = [x | ℓ]` into `out = [v | div]`.
fn eval_aug<M, R, T>(
    rhs: &mut AugRhs<'_, M, R, T>,
    nd: usize,
    t: T,
    y: &[T],
    out: &mut [T],
) -> Result<()>
where
    T: Real,
    M: Divergence<Scalar = T>,
    R: VectorField<T> + ?Sized,
{
    let (v, l) = out.split_at_mut(nd);
    rhs.eval(t, &y[..nd], v, l)
}

/// One Dormand–Prince solve from $t = 1$ to $0$ on the augmented state `[x (n·d) | ℓ (n)]`.
struct Dopri<T> {
    n: usize,
    d: usize,
    atol: T,
    rtol: T,
    max_steps: usize,
    norm: ErrorNorm,
}

impl<T: Real> Dopri<T> {
    /// The error norm of `e` (already divided by the componentwise scale).
    fn reduce(&self, e: &[T]) -> T {
        let nd = self.n * self.d;
        match self.norm {
            ErrorNorm::Rms => {
                (e.iter().fold(T::zero(), |s, &x| x.madd(x, s)) / T::c(e.len() as f64)).sqrt()
            }
            ErrorNorm::Max => {
                let k = T::c((self.d + 1) as f64);
                let mut worst = T::zero();
                for (r, row) in e[..nd].chunks_exact(self.d).enumerate() {
                    let l = e[nd + r];
                    let s = row.iter().fold(l * l, |s, &x| x.madd(x, s));
                    let v = (s / k).sqrt();
                    if v > worst || v.is_nan() {
                        worst = v; // NaN propagates
                    }
                }
                worst
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn solve<M, R>(
        &self,
        m: &M,
        rhs: &mut AugRhs<'_, M, R, T>,
        y: &mut [T],
        k: &mut [T],
        ynew: &mut [T],
        err: &mut [T],
    ) -> Result<()>
    where
        M: Divergence<Scalar = T> + ParallelTransport + Differentiable,
        R: VectorField<T> + ?Sized,
    {
        let nd = self.n * self.d;
        let len = y.len();
        let (t_end, mut t) = (T::zero(), T::one());
        let dir = -T::one();
        let sc = |a: T, b: T| self.atol + self.rtol * a.abs().max(b.abs());
        let stage_error = |t: T, what: &str| {
            FlowError::Numerical(format!(
                "log_likelihood: {what} at t = {t} (non-finite field or divergence)"
            ))
        };

        // k1 = f(1, y)
        eval_aug(rhs, nd, t, y, &mut k[..len])?;
        if let Some(i) = k[..len].iter().position(|x| !x.is_finite()) {
            let row = if i < nd { i / self.d } else { i - nd };
            return Err(FlowError::Numerical(format!(
                "log_likelihood: non-finite field or divergence at t = 1 for row {row}"
            )));
        }

        // Hairer's initial step
        let span = (t_end - t).abs();
        for i in 0..len {
            err[i] = y[i] / sc(y[i], y[i]);
        }
        let d0 = self.reduce(err);
        for i in 0..len {
            err[i] = k[i] / sc(y[i], y[i]);
        }
        let d1 = self.reduce(err);
        let small = T::c(1e-5);
        let mut h0 = if d0 < small || d1 < small {
            T::c(1e-6)
        } else {
            T::c(0.01) * d0 / d1
        };
        h0 = h0.min(span);
        for i in 0..len {
            ynew[i] = y[i] + dir * h0 * k[i];
        }
        {
            let (k1, rest) = k.split_at_mut(len);
            eval_aug(rhs, nd, t + dir * h0, ynew, &mut rest[..len])?;
            for i in 0..len {
                err[i] = (rest[i] - k1[i]) / sc(y[i], y[i]);
            }
        }
        let d2 = self.reduce(err) / h0;
        let dm = d1.max(d2);
        let h1 = if dm.is_nan() || dm <= T::c(1e-15) {
            T::c(1e-6).max(h0 * T::c(1e-3))
        } else {
            (T::c(0.01) / dm).powf(T::c(0.2))
        };
        let mut h = (T::c(100.0) * h0).min(h1).min(span);
        if h.is_nan() || h <= T::zero() {
            h = span; // non-finite estimate: let the step control sort it out
        }

        let mut attempts = 0usize;
        let eps = T::epsilon();
        while (t - t_end) * (-dir) > T::zero() {
            if attempts >= self.max_steps {
                return Err(FlowError::Numerical(format!(
                    "log_likelihood: max_steps = {} reached at t = {t}",
                    self.max_steps
                )));
            }
            attempts += 1;
            let remaining = (t_end - t).abs();
            let last = h >= remaining * (T::one() - T::c(4.0) * eps);
            let hs = if last { remaining } else { h };
            if hs < T::c(16.0) * eps * t.abs().max(T::one()) {
                return Err(FlowError::Numerical(format!(
                    "log_likelihood: step size underflow (h = {hs}) at t = {t}"
                )));
            }
            let hh = dir * hs;
            // stages 2..7; the 7th stage point is the 5th-order solution
            for s in 1..7 {
                let (done, rest) = k.split_at_mut(s * len);
                for i in 0..len {
                    let mut acc = T::zero();
                    for (j, a) in A[s][..s].iter().enumerate() {
                        if *a != 0.0 {
                            acc = T::c(*a).madd(done[j * len + i], acc);
                        }
                    }
                    ynew[i] = hh.madd(acc, y[i]);
                }
                let ts = if s == 6 { t + hh } else { t + T::c(C[s]) * hh };
                eval_aug(rhs, nd, ts, ynew, &mut rest[..len])?;
            }
            for i in 0..len {
                let mut e = T::zero();
                for (j, c) in E.iter().enumerate() {
                    if *c != 0.0 {
                        e = T::c(*c).madd(k[j * len + i], e);
                    }
                }
                err[i] = hh * e / sc(y[i], ynew[i]);
            }
            let en = self.reduce(err);
            if en <= T::one() {
                t = if last { t_end } else { t + hh };
                rhs.stats.accepted_steps += 1;
                // re-project; FSAL unless the projection moved a point beyond the tolerance
                m.project_point_batch_into(&ynew[..nd], &mut y[..nd]);
                y[nd..].copy_from_slice(&ynew[nd..]);
                let moved = (0..nd).any(|i| (y[i] - ynew[i]).abs() > sc(y[i], ynew[i]));
                if let Some(i) = y.iter().position(|x| !x.is_finite()) {
                    let row = if i < nd { i / self.d } else { i - nd };
                    return Err(FlowError::Numerical(format!(
                        "log_likelihood: non-finite state for row {row} at t = {t}"
                    )));
                }
                let (k1, rest) = k.split_at_mut(len);
                if moved {
                    eval_aug(rhs, nd, t, y, k1)?;
                    if k1.iter().any(|x| !x.is_finite()) {
                        return Err(stage_error(t, "non-finite right-hand side"));
                    }
                } else {
                    k1.copy_from_slice(&rest[5 * len..6 * len]);
                }
                let f = if en > T::zero() {
                    T::c(0.9) * en.powf(T::c(-0.2))
                } else {
                    T::c(10.0)
                };
                h = hs * f.max(T::c(0.2)).min(T::c(10.0));
            } else {
                rhs.stats.rejected_steps += 1;
                let f = if en.is_finite() {
                    T::c(0.9) * en.powf(T::c(-0.2))
                } else {
                    T::c(0.2)
                };
                h = hs * f.max(T::c(0.2)).min(T::one());
            }
        }
        Ok(())
    }
}

/// $\log p_1(x_i)$ for every row of `xs` (a fresh [`Likelihood`] per call).
///
/// # Errors
/// As [`Likelihood::log_likelihood_into`].
pub fn log_likelihood<M, F>(
    m: &M,
    field: &mut F,
    xs: &[M::Scalar],
    opts: &LikelihoodOptions<M::Scalar>,
) -> Result<Vec<M::Scalar>>
where
    M: Divergence + Sample + ParallelTransport + Differentiable,
    F: VectorField<M::Scalar> + ?Sized,
{
    Ok(log_likelihood_with_stats(m, field, xs, opts)?.0)
}

/// [`log_likelihood`] and the work it did.
///
/// # Errors
/// As [`Likelihood::log_likelihood_into`].
pub fn log_likelihood_with_stats<M, F>(
    m: &M,
    field: &mut F,
    xs: &[M::Scalar],
    opts: &LikelihoodOptions<M::Scalar>,
) -> Result<(Vec<M::Scalar>, LikelihoodStats)>
where
    M: Divergence + Sample + ParallelTransport + Differentiable,
    F: VectorField<M::Scalar> + ?Sized,
{
    let d = m.ambient_dim().max(1);
    let mut out = vec![<M::Scalar as num_traits::Zero>::zero(); xs.len() / d];
    let stats = Likelihood::new(*opts).log_likelihood_into(m, field, xs, &mut out)?;
    Ok((out, stats))
}

#[cfg(test)]
mod tests;
