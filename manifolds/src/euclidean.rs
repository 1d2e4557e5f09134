//! Euclidean space $\mathbb R^n$ with the standard metric.
//!
//! $\exp_p(v) = p + v$, $\log_p(q) = q - p$, $d(p, q) = \lVert q - p\rVert$, transport is the
//! identity, and the base distribution is the standard normal
//! $\log p_0(x) = -\tfrac12\lVert x\rVert^2 - \tfrac n2 \log 2\pi$.
//!
//! Numerical notes: nothing is singular. `dist` uses a scaled norm only if the plain sum of
//! squares over- or underflows. The f32 envelope is that of plain f32 arithmetic (relative
//! error ≈ 1e-7 per op).
//!
//! ```
//! use geoflow_manifolds::{prelude::*, Euclidean};
//! let e = Euclidean::<f64>::new(2)?;
//! assert_eq!(e.dist(&[0.0, 0.0], &[3.0, 4.0]), 5.0);
//! assert_eq!(e.geodesic(&[0.0, 0.0], &[2.0, 2.0], 0.25), vec![0.5, 0.5]);
//! # Ok::<(), geoflow_manifolds::ManifoldError>(())
//! ```

use core::marker::PhantomData;

use crate::manifold::expect_dim;
use crate::numerics::{all_finite, dot, norm};
use crate::torus_batch as tb;
use crate::{
    ConstantCurvature, Differentiable, Manifold, ManifoldError, ParallelTransport, Real, Sample,
};
use rand::Rng;

/// Euclidean space $\mathbb R^n$; points and tangent vectors are `n` scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Euclidean<T> {
    n: usize,
    _t: PhantomData<T>,
}

impl<T: Real> Euclidean<T> {
    /// $\mathbb R^n$ for $n \ge 1$.
    pub fn new(n: usize) -> Result<Self, ManifoldError> {
        if n == 0 {
            return Err(ManifoldError::InvalidParameter(
                "Euclidean dimension must be at least 1",
            ));
        }
        Ok(Self { n, _t: PhantomData })
    }
}

impl<T: Real> Manifold for Euclidean<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.n
    }
    fn ambient_dim(&self) -> usize {
        self.n
    }
    /// $p + v$.
    fn exp_into(&self, p: &[T], v: &[T], out: &mut [T]) {
        for ((o, &p), &v) in out.iter_mut().zip(p).zip(v) {
            *o = p + v;
        }
    }
    /// $q - p$.
    fn log_into(&self, p: &[T], q: &[T], out: &mut [T]) {
        for ((o, &p), &q) in out.iter_mut().zip(p).zip(q) {
            *o = q - p;
        }
    }
    fn inner(&self, _p: &[T], u: &[T], v: &[T]) -> T {
        dot(u, v)
    }
    fn norm(&self, _p: &[T], v: &[T]) -> T {
        norm(v)
    }
    fn dist(&self, p: &[T], q: &[T]) -> T {
        let s = crate::numerics::dist2(p, q);
        if (s.is_normal() && s < T::max_value()) || s.is_nan() {
            return s.sqrt();
        }
        // Over- or underflow of the plain sum of squares: rescale by the largest difference
        // (two allocation-free passes; NaN propagates through `m`).
        let m = p.iter().zip(q).fold(T::zero(), |m, (&a, &b)| {
            let d = (b - a).abs();
            if d > m || d.is_nan() {
                d
            } else {
                m
            }
        });
        if !m.is_finite() || m == T::zero() {
            return m;
        }
        let mut t = T::zero();
        for (&a, &b) in p.iter().zip(q) {
            let y = (b - a) / m;
            t += y * y;
        }
        m * t.sqrt()
    }
    fn project_point_into(&self, x: &[T], out: &mut [T]) {
        out.copy_from_slice(x);
    }
    fn project_tangent_into(&self, _p: &[T], u: &[T], out: &mut [T]) {
        out.copy_from_slice(u);
    }
    #[track_caller]
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
        Ok(())
    }
    fn check_tangent(&self, p: &[T], v: &[T]) -> Result<(), ManifoldError> {
        self.check_point(p)?;
        self.check_point(v)
    }
    /// $(1-t)\,p + t\,q$, written as $p + t(q - p)$.
    fn geodesic_into(&self, p: &[T], q: &[T], t: T, out: &mut [T]) {
        expect_dim(out.len(), self.n, "Euclidean::geodesic_into: out");
        for ((o, &p), &q) in out.iter_mut().zip(p).zip(q) {
            *o = t.madd(q - p, p);
        }
    }
    /// $q - p$ (constant in $t$).
    fn geodesic_velocity_into(&self, p: &[T], q: &[T], _t: T, out: &mut [T]) {
        self.log_into(p, q, out)
    }
    fn injectivity_radius(&self) -> T {
        T::infinity()
    }

    /// Batched [`dist`](Manifold::dist): vectorised slice loops (`torus_batch.rs`), equal to
    /// the row-wise scalar kernel.
    #[track_caller]
    fn dist_batch_into(&self, ps: &[T], qs: &[T], ds: &mut [T]) {
        let d = self.n;
        tb::shapes(&[ps, qs], d, ds, 1, "dist_batch_into");
        tb::euclid_dist(ps, qs, d, ds, |p, q| self.dist(p, q));
    }
    /// Batched [`exp_into`](Manifold::exp_into) (vectorised, equal to the scalar kernel).
    #[track_caller]
    fn exp_batch_into(&self, ps: &[T], vs: &[T], outs: &mut [T]) {
        tb::shapes(&[ps, vs], self.n, outs, self.n, "exp_batch_into");
        tb::euclid_exp(ps, vs, self.n, outs);
    }
    /// Batched [`log_into`](Manifold::log_into) (vectorised, equal to the scalar kernel).
    #[track_caller]
    fn log_batch_into(&self, ps: &[T], qs: &[T], outs: &mut [T]) {
        tb::shapes(&[ps, qs], self.n, outs, self.n, "log_batch_into");
        tb::euclid_log(ps, qs, self.n, outs);
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
        tb::euclid_geodesic(ps, qs, ts, self.n, outs);
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
        tb::euclid_log(ps, qs, self.n, outs);
    }
    /// Batched [`project_point_into`](Manifold::project_point_into).
    #[track_caller]
    fn project_point_batch_into(&self, xs: &[T], outs: &mut [T]) {
        tb::shapes(&[xs], self.n, outs, self.n, "project_point_batch_into");
        tb::copy_rows(xs, self.n, outs);
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

impl<T: Real> ParallelTransport for Euclidean<T> {
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

impl<T: Real> ConstantCurvature for Euclidean<T> {
    fn curvature(&self) -> T {
        T::zero()
    }
}

impl<T: Real> Sample for Euclidean<T> {
    /// Standard normal $\mathcal N(0, I_n)$.
    fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        for o in out.iter_mut() {
            *o = T::standard_normal(rng);
        }
    }
    /// $-\tfrac12\lVert x\rVert^2 - \tfrac n2\log 2\pi$.
    fn base_log_density(&self, p: &[T]) -> T {
        -T::c(0.5) * dot(p, p) - T::c(0.5 * self.n as f64 * (2.0 * core::f64::consts::PI).ln())
    }
}

impl<T: Real> Differentiable for Euclidean<T> {
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
    /// $\langle q - p, \dot q - \dot p\rangle / d$; 0 at $p = q$.
    fn dist_jvp(&self, p: &[T], q: &[T], dp: &[T], dq: &[T]) -> T {
        let d = self.dist(p, q);
        if d == T::zero() {
            return T::zero();
        }
        let mut s = T::zero();
        for i in 0..p.len() {
            s += (q[i] - p[i]) * (dq[i] - dp[i]);
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
            let u = k * (q[i] - p[i]);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManifoldExt;

    #[test]
    fn closed_forms() {
        let e = Euclidean::<f64>::new(3).unwrap();
        let (p, q) = ([1.0, 2.0, 3.0], [2.0, 2.0, 5.0]);
        assert_eq!(e.log(&p, &q), vec![1.0, 0.0, 2.0]);
        assert!((e.dist(&p, &q) - 5f64.sqrt()).abs() < 1e-15);
        assert_eq!(e.geodesic_velocity(&p, &q, 0.3), vec![1.0, 0.0, 2.0]);
        assert!(Euclidean::<f32>::new(0).is_err());
        assert!(e.dist(&[0.0, 0.0, 0.0], &[f64::NAN, 0.0, 0.0]).is_nan());
        assert!((e.dist(&[0.0; 3], &[3e200, 4e200, 0.0]) - 5e200).abs() < 1e186);
        assert!((e.dist(&[0.0; 3], &[3e-200, 4e-200, 0.0]) - 5e-200).abs() < 1e-214);
        assert_eq!(
            e.check_point(&[f64::NAN, 0.0, 0.0]),
            Err(ManifoldError::NonFinite)
        );
        assert!(matches!(
            e.check_point(&[0.0]),
            Err(ManifoldError::DimensionMismatch { .. })
        ));
    }
}
