//! Products of manifolds: [`Product`] $A \times B$ of two manifolds and [`Power`] $M^k$ of `k`
//! copies of one.
//!
//! A point of $A \times B$ is the concatenation `[a, b]` of a point of $A$ (`A::ambient_dim()`
//! scalars) and a point of $B$; a point of $M^k$ is `k` points of $M$ one after the other, so a
//! batch of `n` points of $M^k$ has exactly the memory layout of a batch of $n k$ points of $M$.
//! Nest products for more factors: $T^2 \times S^2$ is `Product<FlatTorus, Sphere>`,
//! $T^2 \times S^2 \times \mathbb R^3$ is `Product<Product<FlatTorus, Sphere>, Euclidean>`, a
//! sequence of $L$ categorical variables over $K + 1$ classes is `Power<Simplex>` with `k = L`.
//!
//! The metric is the product metric, so every operation acts factorwise on the corresponding
//! sub-slices:
//!
//! - $\exp_{(a,b)}(u, v) = (\exp_a u, \exp_b v)$, likewise $\log$, retractions, geodesics
//!   $\gamma(t) = (\gamma_A(t), \gamma_B(t))$, their velocities, parallel transport and both
//!   projections;
//! - $g_{(a,b)}((u, v), (u', v')) = g_a(u, u') + g_b(v, v')$;
//! - $d\big((a, b), (a', b')\big) = \sqrt{d_A(a, a')^2 + d_B(b, b')^2}$, computed with a scaled
//!   running sum (as LAPACK's `nrm2`) so it neither overflows nor underflows;
//! - the injectivity radius is the minimum over the factors (the product exponential is injective
//!   on the ball of that radius, since each factor's tangent component is no longer than the
//!   whole);
//! - the base distribution is the product of the factors' base distributions: samples are drawn
//!   factor after factor and log-densities add (with respect to the product volume measure);
//! - `check_point` / `check_tangent` check the total length, then report the first failing
//!   factor's error.
//!
//! Derivatives are factorwise too, except for the distance, which is differentiated by the chain
//! rule through $d = \sqrt{\sum_i d_i^2}$: $\dot d = \sum_i \frac{d_i}{d} \dot d_i$, and the
//! VJP passes the cotangent $g\\, d_i / d$ to factor $i$. At $d = 0$ (all $d_i = 0$) both return
//! the zero subgradient, like every factor does.
//!
//! Each capability trait ([`ParallelTransport`], [`Sample`], [`Differentiable`]) is implemented
//! for the product exactly when every factor implements it. A product is not of constant
//! curvature, so [`ConstantCurvature`](crate::ConstantCurvature) is never implemented.
//!
//! Numerical notes: everything inherits the factors' accuracy; the distance adds one rounding of a
//! scaled sum of squares (relative error below $2\varepsilon$ per factor). The f32 envelope is the
//! intersection of the factors' envelopes.
//!
//! ```
//! use geoflow_manifolds::{prelude::*, Euclidean, Power, Product};
//! let m = Product::new(Euclidean::<f64>::new(1)?, Euclidean::<f64>::new(2)?)?;
//! assert_eq!(m.ambient_dim(), 3);
//! assert_eq!(m.dist(&[0.0, 0.0, 0.0], &[3.0, 0.0, 4.0]), 5.0);
//! let seq = Power::new(Euclidean::<f64>::new(2)?, 3)?; // (ℝ²)³: 3 points of ℝ² in a row
//! assert_eq!(seq.exp(&[0.0; 6], &[1.0, 0.0, 0.0, 1.0, 2.0, 2.0]), vec![1.0, 0.0, 0.0, 1.0, 2.0, 2.0]);
//! assert!(Power::new(Euclidean::<f64>::new(2)?, 0).is_err());
//! # Ok::<(), ManifoldError>(())
//! ```

use core::ops::Range;

use num_traits::{Float, Zero};

use crate::batch::{expect_len, rows};
use crate::manifold::expect_dim;
use crate::{Differentiable, Manifold, ManifoldError, ParallelTransport, Real, Sample};
use rand::Rng;

/// Running $\sqrt{\sum_i x_i^2}$ with a scale factor (LAPACK `nrm2`), plus a running
/// $\sum_i x_i y_i$ kept in the same scale, for the chain rule of the product distance.
#[derive(Clone, Copy)]
struct ScaledSum<T> {
    scale: T,
    ssq: T,
    /// $\sum_i x_i y_i / \text{scale}$.
    dot: T,
}

impl<T: Real> ScaledSum<T> {
    #[inline]
    fn new() -> Self {
        Self {
            scale: T::zero(),
            ssq: T::one(),
            dot: T::zero(),
        }
    }
    /// Adds $x^2$ to the sum of squares and $x y$ to the dot product.
    #[inline]
    fn add(&mut self, x: T, y: T) {
        if x == T::zero() {
            return;
        }
        let a = x.abs();
        if a > self.scale || a.is_nan() {
            // new scale (NaN propagates through ssq)
            let r = self.scale / a;
            self.ssq = T::one() + self.ssq * r * r;
            self.dot = self.dot * r + (x / a) * y;
            self.scale = a;
        } else {
            let r = a / self.scale;
            self.ssq += r * r;
            self.dot += (x / self.scale) * y;
        }
    }
    /// $\sqrt{\sum_i x_i^2}$.
    #[inline]
    fn norm(&self) -> T {
        if self.scale == T::zero() {
            T::zero()
        } else {
            self.scale * self.ssq.sqrt()
        }
    }
    /// $\sum_i x_i y_i / \sqrt{\sum_i x_i^2}$, 0 when every $x_i = 0$.
    #[inline]
    fn dot_over_norm(&self) -> T {
        if self.scale == T::zero() {
            T::zero()
        } else {
            self.dot / self.ssq.sqrt()
        }
    }
}

/// The product manifold $A \times B$ with the product metric.
///
/// Every operation acts factorwise on the two sub-slices; inner products add, the distance is
/// $\sqrt{d_A^2 + d_B^2}$ (scaled, so it neither overflows nor underflows) and its derivatives
/// follow by the chain rule (zero subgradient at $d = 0$), the injectivity radius is the smaller
/// one, the base distribution is the product of the factors' (log-densities add), and
/// `check_point` reports the first failing factor. A capability trait is implemented when both
/// factors implement it. Nest products for more factors.
///
/// Points and tangent vectors are `A::ambient_dim() + B::ambient_dim()` scalars: the `A` part
/// first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Product<A, B> {
    a: A,
    b: B,
    da: usize,
    db: usize,
}

impl<A, B> Product<A, B>
where
    A: Manifold,
    B: Manifold<Scalar = A::Scalar>,
{
    /// $A \times B$. Fails with [`ManifoldError::InvalidParameter`] if a factor has no
    /// coordinates.
    pub fn new(a: A, b: B) -> Result<Self, ManifoldError> {
        let (da, db) = (a.ambient_dim(), b.ambient_dim());
        if da == 0 || db == 0 {
            return Err(ManifoldError::InvalidParameter(
                "Product factors must have at least one ambient coordinate",
            ));
        }
        Ok(Self { a, b, da, db })
    }
    /// The first factor $A$.
    pub fn first(&self) -> &A {
        &self.a
    }
    /// The second factor $B$.
    pub fn second(&self) -> &B {
        &self.b
    }
    /// Splits a point or vector into its `(A, B)` parts.
    ///
    /// # Panics
    /// If `x.len() != ambient_dim()`.
    #[track_caller]
    #[inline]
    pub fn split<'s>(&self, x: &'s [A::Scalar]) -> (&'s [A::Scalar], &'s [A::Scalar]) {
        expect_dim(x.len(), self.da + self.db, "Product: input");
        x.split_at(self.da)
    }
    #[track_caller]
    #[inline]
    fn split_mut<'s>(&self, x: &'s mut [A::Scalar]) -> (&'s mut [A::Scalar], &'s mut [A::Scalar]) {
        expect_dim(x.len(), self.da + self.db, "Product: output");
        x.split_at_mut(self.da)
    }
}

impl<A, B> Manifold for Product<A, B>
where
    A: Manifold,
    B: Manifold<Scalar = A::Scalar>,
{
    type Scalar = A::Scalar;
    fn dim(&self) -> usize {
        self.a.dim() + self.b.dim()
    }
    fn ambient_dim(&self) -> usize {
        self.da + self.db
    }
    /// $(\exp_a u, \exp_b v)$.
    #[track_caller]
    fn exp_into(&self, p: &[Self::Scalar], v: &[Self::Scalar], out: &mut [Self::Scalar]) {
        let ((pa, pb), (va, vb), (oa, ob)) = (self.split(p), self.split(v), self.split_mut(out));
        self.a.exp_into(pa, va, oa);
        self.b.exp_into(pb, vb, ob);
    }
    /// $(\log_a a', \log_b b')$.
    #[track_caller]
    fn log_into(&self, p: &[Self::Scalar], q: &[Self::Scalar], out: &mut [Self::Scalar]) {
        let ((pa, pb), (qa, qb), (oa, ob)) = (self.split(p), self.split(q), self.split_mut(out));
        self.a.log_into(pa, qa, oa);
        self.b.log_into(pb, qb, ob);
    }
    /// `CutLocus` when either factor's pair is on its cut locus.
    #[track_caller]
    fn try_log_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) -> Result<(), ManifoldError> {
        let ((pa, pb), (qa, qb), (oa, ob)) = (self.split(p), self.split(q), self.split_mut(out));
        self.a.try_log_into(pa, qa, oa)?;
        self.b.try_log_into(pb, qb, ob)
    }
    /// $g_a(u_A, v_A) + g_b(u_B, v_B)$.
    #[track_caller]
    fn inner(&self, p: &[Self::Scalar], u: &[Self::Scalar], v: &[Self::Scalar]) -> Self::Scalar {
        let ((pa, pb), (ua, ub), (va, vb)) = (self.split(p), self.split(u), self.split(v));
        self.a.inner(pa, ua, va) + self.b.inner(pb, ub, vb)
    }
    /// $\sqrt{\lVert v_A\rVert^2 + \lVert v_B\rVert^2}$ without overflow.
    #[track_caller]
    fn norm(&self, p: &[Self::Scalar], v: &[Self::Scalar]) -> Self::Scalar {
        let ((pa, pb), (va, vb)) = (self.split(p), self.split(v));
        let mut s = ScaledSum::new();
        s.add(self.a.norm(pa, va), Self::Scalar::zero());
        s.add(self.b.norm(pb, vb), Self::Scalar::zero());
        s.norm()
    }
    /// $\sqrt{d_A^2 + d_B^2}$ without overflow.
    #[track_caller]
    fn dist(&self, p: &[Self::Scalar], q: &[Self::Scalar]) -> Self::Scalar {
        let ((pa, pb), (qa, qb)) = (self.split(p), self.split(q));
        let mut s = ScaledSum::new();
        s.add(self.a.dist(pa, qa), Self::Scalar::zero());
        s.add(self.b.dist(pb, qb), Self::Scalar::zero());
        s.norm()
    }
    /// Factorwise retraction; its order is the smaller of the factors' orders.
    #[track_caller]
    fn retract_into(&self, p: &[Self::Scalar], v: &[Self::Scalar], out: &mut [Self::Scalar]) {
        let ((pa, pb), (va, vb), (oa, ob)) = (self.split(p), self.split(v), self.split_mut(out));
        self.a.retract_into(pa, va, oa);
        self.b.retract_into(pb, vb, ob);
    }
    #[track_caller]
    fn project_point_into(&self, x: &[Self::Scalar], out: &mut [Self::Scalar]) {
        let ((xa, xb), (oa, ob)) = (self.split(x), self.split_mut(out));
        self.a.project_point_into(xa, oa);
        self.b.project_point_into(xb, ob);
    }
    #[track_caller]
    fn project_tangent_into(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (ua, ub), (oa, ob)) = (self.split(p), self.split(u), self.split_mut(out));
        self.a.project_tangent_into(pa, ua, oa);
        self.b.project_tangent_into(pb, ub, ob);
    }
    fn check_point(&self, p: &[Self::Scalar]) -> Result<(), ManifoldError> {
        if p.len() != self.da + self.db {
            return Err(ManifoldError::DimensionMismatch {
                expected: self.da + self.db,
                got: p.len(),
            });
        }
        let (pa, pb) = p.split_at(self.da);
        self.a.check_point(pa)?;
        self.b.check_point(pb)
    }
    fn check_tangent(&self, p: &[Self::Scalar], v: &[Self::Scalar]) -> Result<(), ManifoldError> {
        let d = self.da + self.db;
        for len in [p.len(), v.len()] {
            if len != d {
                return Err(ManifoldError::DimensionMismatch {
                    expected: d,
                    got: len,
                });
            }
        }
        let ((pa, pb), (va, vb)) = (p.split_at(self.da), v.split_at(self.da));
        self.a.check_tangent(pa, va)?;
        self.b.check_tangent(pb, vb)
    }
    /// $(\gamma_A(t), \gamma_B(t))$.
    #[track_caller]
    fn geodesic_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        t: Self::Scalar,
        out: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (qa, qb), (oa, ob)) = (self.split(p), self.split(q), self.split_mut(out));
        self.a.geodesic_into(pa, qa, t, oa);
        self.b.geodesic_into(pb, qb, t, ob);
    }
    /// $(\dot\gamma_A(t), \dot\gamma_B(t))$.
    #[track_caller]
    fn geodesic_velocity_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        t: Self::Scalar,
        out: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (qa, qb), (oa, ob)) = (self.split(p), self.split(q), self.split_mut(out));
        self.a.geodesic_velocity_into(pa, qa, t, oa);
        self.b.geodesic_velocity_into(pb, qb, t, ob);
    }
    /// $\min(\operatorname{inj} A, \operatorname{inj} B)$.
    fn injectivity_radius(&self) -> Self::Scalar {
        self.a.injectivity_radius().min(self.b.injectivity_radius())
    }
}

impl<A, B> ParallelTransport for Product<A, B>
where
    A: ParallelTransport,
    B: ParallelTransport<Scalar = A::Scalar>,
{
    /// $(P^A_{a \to a'} u, P^B_{b \to b'} v)$.
    #[track_caller]
    fn transport_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        v: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (qa, qb)) = (self.split(p), self.split(q));
        let ((va, vb), (oa, ob)) = (self.split(v), self.split_mut(out));
        self.a.transport_into(pa, qa, va, oa);
        self.b.transport_into(pb, qb, vb, ob);
    }
}

impl<A, B> Sample for Product<A, B>
where
    A: Sample,
    B: Sample<Scalar = A::Scalar>,
{
    /// The `A` part from `A`'s base distribution, then the `B` part from `B`'s.
    #[track_caller]
    fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [Self::Scalar]) {
        let (oa, ob) = self.split_mut(out);
        self.a.sample_base_into(rng, oa);
        self.b.sample_base_into(rng, ob);
    }
    /// $\log p_A(a) + \log p_B(b)$.
    #[track_caller]
    fn base_log_density(&self, p: &[Self::Scalar]) -> Self::Scalar {
        let (pa, pb) = self.split(p);
        self.a.base_log_density(pa) + self.b.base_log_density(pb)
    }
}

impl<A, B> Differentiable for Product<A, B>
where
    A: Differentiable,
    B: Differentiable<Scalar = A::Scalar>,
{
    #[track_caller]
    fn exp_jvp(
        &self,
        p: &[Self::Scalar],
        v: &[Self::Scalar],
        dp: &[Self::Scalar],
        dv: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (va, vb)) = (self.split(p), self.split(v));
        let ((dpa, dpb), (dva, dvb), (oa, ob)) =
            (self.split(dp), self.split(dv), self.split_mut(out));
        self.a.exp_jvp(pa, va, dpa, dva, oa);
        self.b.exp_jvp(pb, vb, dpb, dvb, ob);
    }
    #[track_caller]
    fn exp_vjp(
        &self,
        p: &[Self::Scalar],
        v: &[Self::Scalar],
        g: &[Self::Scalar],
        gp: &mut [Self::Scalar],
        gv: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (va, vb), (ga, gb)) = (self.split(p), self.split(v), self.split(g));
        let ((gpa, gpb), (gva, gvb)) = (self.split_mut(gp), self.split_mut(gv));
        self.a.exp_vjp(pa, va, ga, gpa, gva);
        self.b.exp_vjp(pb, vb, gb, gpb, gvb);
    }
    #[track_caller]
    fn log_jvp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        dp: &[Self::Scalar],
        dq: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (qa, qb)) = (self.split(p), self.split(q));
        let ((dpa, dpb), (dqa, dqb), (oa, ob)) =
            (self.split(dp), self.split(dq), self.split_mut(out));
        self.a.log_jvp(pa, qa, dpa, dqa, oa);
        self.b.log_jvp(pb, qb, dpb, dqb, ob);
    }
    #[track_caller]
    fn log_vjp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        g: &[Self::Scalar],
        gp: &mut [Self::Scalar],
        gq: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (qa, qb), (ga, gb)) = (self.split(p), self.split(q), self.split(g));
        let ((gpa, gpb), (gqa, gqb)) = (self.split_mut(gp), self.split_mut(gq));
        self.a.log_vjp(pa, qa, ga, gpa, gqa);
        self.b.log_vjp(pb, qb, gb, gpb, gqb);
    }
    /// $\dot d = (d_A \dot d_A + d_B \dot d_B) / d$; 0 at $d = 0$.
    #[track_caller]
    fn dist_jvp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        dp: &[Self::Scalar],
        dq: &[Self::Scalar],
    ) -> Self::Scalar {
        let ((pa, pb), (qa, qb)) = (self.split(p), self.split(q));
        let ((dpa, dpb), (dqa, dqb)) = (self.split(dp), self.split(dq));
        let mut s = ScaledSum::new();
        s.add(self.a.dist(pa, qa), self.a.dist_jvp(pa, qa, dpa, dqa));
        s.add(self.b.dist(pb, qb), self.b.dist_jvp(pb, qb, dpb, dqb));
        s.dot_over_norm()
    }
    /// Passes $g\\, d_A / d$ to `A` and $g\\, d_B / d$ to `B`; nothing at $d = 0$.
    #[track_caller]
    fn dist_vjp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        g: Self::Scalar,
        gp: &mut [Self::Scalar],
        gq: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (qa, qb)) = (self.split(p), self.split(q));
        let ((gpa, gpb), (gqa, gqb)) = (self.split_mut(gp), self.split_mut(gq));
        let (d_a, d_b) = (self.a.dist(pa, qa), self.b.dist(pb, qb));
        let mut s = ScaledSum::new();
        s.add(d_a, Self::Scalar::zero());
        s.add(d_b, Self::Scalar::zero());
        let d = s.norm();
        if d == Self::Scalar::zero() {
            return;
        }
        self.a.dist_vjp(pa, qa, g * (d_a / d), gpa, gqa);
        self.b.dist_vjp(pb, qb, g * (d_b / d), gpb, gqb);
    }
    #[track_caller]
    fn inner_jvp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        v: &[Self::Scalar],
        dp: &[Self::Scalar],
        du: &[Self::Scalar],
        dv: &[Self::Scalar],
    ) -> Self::Scalar {
        let ((pa, pb), (ua, ub), (va, vb)) = (self.split(p), self.split(u), self.split(v));
        let ((dpa, dpb), (dua, dub), (dva, dvb)) = (self.split(dp), self.split(du), self.split(dv));
        self.a.inner_jvp(pa, ua, va, dpa, dua, dva) + self.b.inner_jvp(pb, ub, vb, dpb, dub, dvb)
    }
    #[track_caller]
    fn inner_vjp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        v: &[Self::Scalar],
        g: Self::Scalar,
        gp: &mut [Self::Scalar],
        gu: &mut [Self::Scalar],
        gv: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (ua, ub), (va, vb)) = (self.split(p), self.split(u), self.split(v));
        let ((gpa, gpb), (gua, gub), (gva, gvb)) =
            (self.split_mut(gp), self.split_mut(gu), self.split_mut(gv));
        self.a.inner_vjp(pa, ua, va, g, gpa, gua, gva);
        self.b.inner_vjp(pb, ub, vb, g, gpb, gub, gvb);
    }
    #[track_caller]
    fn project_tangent_jvp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        dp: &[Self::Scalar],
        du: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (ua, ub)) = (self.split(p), self.split(u));
        let ((dpa, dpb), (dua, dub), (oa, ob)) =
            (self.split(dp), self.split(du), self.split_mut(out));
        self.a.project_tangent_jvp(pa, ua, dpa, dua, oa);
        self.b.project_tangent_jvp(pb, ub, dpb, dub, ob);
    }
    #[track_caller]
    fn project_tangent_vjp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        g: &[Self::Scalar],
        gp: &mut [Self::Scalar],
        gu: &mut [Self::Scalar],
    ) {
        let ((pa, pb), (ua, ub), (ga, gb)) = (self.split(p), self.split(u), self.split(g));
        let ((gpa, gpb), (gua, gub)) = (self.split_mut(gp), self.split_mut(gu));
        self.a.project_tangent_vjp(pa, ua, ga, gpa, gua);
        self.b.project_tangent_vjp(pb, ub, gb, gpb, gub);
    }
}

/// The power manifold $M^k$: `k` copies of `M` with the product metric, every operation acting
/// factorwise as for [`Product`] (distance $\sqrt{\sum_i d_i^2}$, injectivity radius that of `M`).
///
/// Points and tangent vectors are `k * M::ambient_dim()` scalars: factor `i` occupies
/// `i * d .. (i + 1) * d` with `d = M::ambient_dim()`. A batch of `n` points of $M^k$ is a batch
/// of $n k$ points of $M$, so the batch methods of exp, log, retraction, both projections and
/// transport call `M`'s batch methods on the same slices (one parallel pass, no per-row
/// dispatch); distances, norms and inner products reduce over the `k` factors of each row;
/// geodesics and velocities (one `t` per row of $M^k$) loop over the factors of each row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Power<M> {
    m: M,
    k: usize,
    d: usize,
}

impl<M: Manifold> Power<M> {
    /// $M^k$ for $k \ge 1$; fails with [`ManifoldError::InvalidParameter`] for $k = 0$.
    pub fn new(m: M, k: usize) -> Result<Self, ManifoldError> {
        if k == 0 {
            return Err(ManifoldError::InvalidParameter(
                "Power needs at least one factor (k >= 1)",
            ));
        }
        let d = m.ambient_dim();
        if d == 0 {
            return Err(ManifoldError::InvalidParameter(
                "Power factor must have at least one ambient coordinate",
            ));
        }
        if d.checked_mul(k).is_none() {
            return Err(ManifoldError::InvalidParameter(
                "Power: k * ambient_dim overflows usize",
            ));
        }
        Ok(Self { m, k, d })
    }
    /// The factor manifold $M$.
    pub fn factor(&self) -> &M {
        &self.m
    }
    /// The number of factors $k$.
    pub fn k(&self) -> usize {
        self.k
    }
    /// The coordinates of factor `i`: `i * d .. (i + 1) * d`.
    #[inline]
    fn r(&self, i: usize) -> Range<usize> {
        i * self.d..(i + 1) * self.d
    }
    #[track_caller]
    #[inline]
    fn expect(&self, len: usize, what: &str) {
        expect_dim(len, self.k * self.d, what);
    }
}

impl<M: Manifold> Manifold for Power<M> {
    type Scalar = M::Scalar;
    fn dim(&self) -> usize {
        self.k * self.m.dim()
    }
    fn ambient_dim(&self) -> usize {
        self.k * self.d
    }
    /// $(\exp_{p_i} v_i)_i$.
    #[track_caller]
    fn exp_into(&self, p: &[Self::Scalar], v: &[Self::Scalar], out: &mut [Self::Scalar]) {
        self.expect(p.len(), "Power::exp_into: p");
        self.expect(v.len(), "Power::exp_into: v");
        self.expect(out.len(), "Power::exp_into: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m.exp_into(&p[r.clone()], &v[r.clone()], &mut out[r]);
        }
    }
    /// $(\log_{p_i} q_i)_i$.
    #[track_caller]
    fn log_into(&self, p: &[Self::Scalar], q: &[Self::Scalar], out: &mut [Self::Scalar]) {
        self.expect(p.len(), "Power::log_into: p");
        self.expect(q.len(), "Power::log_into: q");
        self.expect(out.len(), "Power::log_into: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m.log_into(&p[r.clone()], &q[r.clone()], &mut out[r]);
        }
    }
    /// `CutLocus` when any factor's pair is on its cut locus.
    #[track_caller]
    fn try_log_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) -> Result<(), ManifoldError> {
        self.expect(p.len(), "Power::try_log_into: p");
        self.expect(q.len(), "Power::try_log_into: q");
        self.expect(out.len(), "Power::try_log_into: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m
                .try_log_into(&p[r.clone()], &q[r.clone()], &mut out[r])?;
        }
        Ok(())
    }
    /// $\sum_i g_{p_i}(u_i, v_i)$.
    #[track_caller]
    fn inner(&self, p: &[Self::Scalar], u: &[Self::Scalar], v: &[Self::Scalar]) -> Self::Scalar {
        self.expect(p.len(), "Power::inner: p");
        self.expect(u.len(), "Power::inner: u");
        self.expect(v.len(), "Power::inner: v");
        let mut s = Self::Scalar::zero();
        for i in 0..self.k {
            let r = self.r(i);
            s += self.m.inner(&p[r.clone()], &u[r.clone()], &v[r]);
        }
        s
    }
    /// $\sqrt{\sum_i \lVert v_i\rVert^2}$ without overflow.
    #[track_caller]
    fn norm(&self, p: &[Self::Scalar], v: &[Self::Scalar]) -> Self::Scalar {
        self.expect(p.len(), "Power::norm: p");
        self.expect(v.len(), "Power::norm: v");
        let mut s = ScaledSum::new();
        for i in 0..self.k {
            let r = self.r(i);
            s.add(self.m.norm(&p[r.clone()], &v[r]), Self::Scalar::zero());
        }
        s.norm()
    }
    /// $\sqrt{\sum_i d(p_i, q_i)^2}$ without overflow.
    #[track_caller]
    fn dist(&self, p: &[Self::Scalar], q: &[Self::Scalar]) -> Self::Scalar {
        self.expect(p.len(), "Power::dist: p");
        self.expect(q.len(), "Power::dist: q");
        let mut s = ScaledSum::new();
        for i in 0..self.k {
            let r = self.r(i);
            s.add(self.m.dist(&p[r.clone()], &q[r]), Self::Scalar::zero());
        }
        s.norm()
    }
    /// Factorwise retraction (same order as `M`'s).
    #[track_caller]
    fn retract_into(&self, p: &[Self::Scalar], v: &[Self::Scalar], out: &mut [Self::Scalar]) {
        self.expect(p.len(), "Power::retract_into: p");
        self.expect(v.len(), "Power::retract_into: v");
        self.expect(out.len(), "Power::retract_into: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m
                .retract_into(&p[r.clone()], &v[r.clone()], &mut out[r]);
        }
    }
    #[track_caller]
    fn project_point_into(&self, x: &[Self::Scalar], out: &mut [Self::Scalar]) {
        self.expect(x.len(), "Power::project_point_into: x");
        self.expect(out.len(), "Power::project_point_into: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m.project_point_into(&x[r.clone()], &mut out[r]);
        }
    }
    #[track_caller]
    fn project_tangent_into(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) {
        self.expect(p.len(), "Power::project_tangent_into: p");
        self.expect(u.len(), "Power::project_tangent_into: u");
        self.expect(out.len(), "Power::project_tangent_into: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m
                .project_tangent_into(&p[r.clone()], &u[r.clone()], &mut out[r]);
        }
    }
    fn check_point(&self, p: &[Self::Scalar]) -> Result<(), ManifoldError> {
        let n = self.k * self.d;
        if p.len() != n {
            return Err(ManifoldError::DimensionMismatch {
                expected: n,
                got: p.len(),
            });
        }
        p.chunks_exact(self.d)
            .try_for_each(|pi| self.m.check_point(pi))
    }
    fn check_tangent(&self, p: &[Self::Scalar], v: &[Self::Scalar]) -> Result<(), ManifoldError> {
        let n = self.k * self.d;
        for len in [p.len(), v.len()] {
            if len != n {
                return Err(ManifoldError::DimensionMismatch {
                    expected: n,
                    got: len,
                });
            }
        }
        p.chunks_exact(self.d)
            .zip(v.chunks_exact(self.d))
            .try_for_each(|(pi, vi)| self.m.check_tangent(pi, vi))
    }
    /// $(\gamma_i(t))_i$.
    #[track_caller]
    fn geodesic_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        t: Self::Scalar,
        out: &mut [Self::Scalar],
    ) {
        self.expect(p.len(), "Power::geodesic_into: p");
        self.expect(q.len(), "Power::geodesic_into: q");
        self.expect(out.len(), "Power::geodesic_into: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m
                .geodesic_into(&p[r.clone()], &q[r.clone()], t, &mut out[r]);
        }
    }
    /// $(\dot\gamma_i(t))_i$.
    #[track_caller]
    fn geodesic_velocity_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        t: Self::Scalar,
        out: &mut [Self::Scalar],
    ) {
        self.expect(p.len(), "Power::geodesic_velocity_into: p");
        self.expect(q.len(), "Power::geodesic_velocity_into: q");
        self.expect(out.len(), "Power::geodesic_velocity_into: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m
                .geodesic_velocity_into(&p[r.clone()], &q[r.clone()], t, &mut out[r]);
        }
    }
    /// The factor's injectivity radius.
    fn injectivity_radius(&self) -> Self::Scalar {
        self.m.injectivity_radius()
    }

    /// `M`'s batch exp on the same slices (as `n * k` points of `M`).
    ///
    /// # Panics
    /// If the three slices do not hold the same whole number of rows.
    #[track_caller]
    fn exp_batch_into(&self, ps: &[Self::Scalar], vs: &[Self::Scalar], outs: &mut [Self::Scalar]) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "Power::exp_batch_into: ps");
        expect_len(vs.len(), n, d, "Power::exp_batch_into: vs");
        expect_len(outs.len(), n, d, "Power::exp_batch_into: outs");
        self.m.exp_batch_into(ps, vs, outs);
    }
    /// `M`'s batch log on the same slices (as `n * k` points of `M`).
    ///
    /// # Panics
    /// If the three slices do not hold the same whole number of rows.
    #[track_caller]
    fn log_batch_into(&self, ps: &[Self::Scalar], qs: &[Self::Scalar], outs: &mut [Self::Scalar]) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "Power::log_batch_into: ps");
        expect_len(qs.len(), n, d, "Power::log_batch_into: qs");
        expect_len(outs.len(), n, d, "Power::log_batch_into: outs");
        self.m.log_batch_into(ps, qs, outs);
    }
    /// `M`'s batch retraction on the same slices (as `n * k` points of `M`).
    ///
    /// # Panics
    /// If the three slices do not hold the same whole number of rows.
    #[track_caller]
    fn retract_batch_into(
        &self,
        ps: &[Self::Scalar],
        vs: &[Self::Scalar],
        outs: &mut [Self::Scalar],
    ) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "Power::retract_batch_into: ps");
        expect_len(vs.len(), n, d, "Power::retract_batch_into: vs");
        expect_len(outs.len(), n, d, "Power::retract_batch_into: outs");
        self.m.retract_batch_into(ps, vs, outs);
    }
    /// `M`'s batch point projection on the same slices (as `n * k` points of `M`).
    ///
    /// # Panics
    /// If the slices do not hold the same whole number of rows.
    #[track_caller]
    fn project_point_batch_into(&self, xs: &[Self::Scalar], outs: &mut [Self::Scalar]) {
        let d = self.ambient_dim();
        let n = rows(xs.len(), d, "Power::project_point_batch_into: xs");
        expect_len(outs.len(), n, d, "Power::project_point_batch_into: outs");
        self.m.project_point_batch_into(xs, outs);
    }
    /// `M`'s batch tangent projection on the same slices (as `n * k` points of `M`).
    ///
    /// # Panics
    /// If the slices do not hold the same whole number of rows.
    #[track_caller]
    fn project_tangent_batch_into(
        &self,
        ps: &[Self::Scalar],
        us: &[Self::Scalar],
        outs: &mut [Self::Scalar],
    ) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "Power::project_tangent_batch_into: ps");
        expect_len(us.len(), n, d, "Power::project_tangent_batch_into: us");
        expect_len(outs.len(), n, d, "Power::project_tangent_batch_into: outs");
        self.m.project_tangent_batch_into(ps, us, outs);
    }
    fn check_point_batch(&self, ps: &[Self::Scalar]) -> Result<(), (usize, ManifoldError)> {
        let d = self.ambient_dim();
        if ps.len() % d != 0 {
            return Err((
                0,
                ManifoldError::DimensionMismatch {
                    expected: d * (ps.len() / d + 1),
                    got: ps.len(),
                },
            ));
        }
        // Row index of M^k = factor row index / k.
        self.m
            .check_point_batch(ps)
            .map_err(|(i, e)| (i / self.k, e))
    }
}

impl<M: ParallelTransport> ParallelTransport for Power<M> {
    /// $(P_{p_i \to q_i} v_i)_i$.
    #[track_caller]
    fn transport_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        v: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) {
        self.expect(p.len(), "Power::transport_into: p");
        self.expect(q.len(), "Power::transport_into: q");
        self.expect(v.len(), "Power::transport_into: v");
        self.expect(out.len(), "Power::transport_into: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m
                .transport_into(&p[r.clone()], &q[r.clone()], &v[r.clone()], &mut out[r]);
        }
    }
    /// `M`'s batch transport on the same slices (as `n * k` points of `M`).
    ///
    /// # Panics
    /// If the slices do not hold the same whole number of rows.
    #[track_caller]
    fn transport_batch_into(
        &self,
        ps: &[Self::Scalar],
        qs: &[Self::Scalar],
        vs: &[Self::Scalar],
        outs: &mut [Self::Scalar],
    ) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "Power::transport_batch_into: ps");
        expect_len(qs.len(), n, d, "Power::transport_batch_into: qs");
        expect_len(vs.len(), n, d, "Power::transport_batch_into: vs");
        expect_len(outs.len(), n, d, "Power::transport_batch_into: outs");
        self.m.transport_batch_into(ps, qs, vs, outs);
    }
}

impl<M: Sample> Sample for Power<M> {
    /// Factor after factor from `M`'s base distribution.
    #[track_caller]
    fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [Self::Scalar]) {
        self.expect(out.len(), "Power::sample_base_into: out");
        for o in out.chunks_exact_mut(self.d) {
            self.m.sample_base_into(rng, o);
        }
    }
    /// $\sum_i \log p_M(p_i)$.
    #[track_caller]
    fn base_log_density(&self, p: &[Self::Scalar]) -> Self::Scalar {
        self.expect(p.len(), "Power::base_log_density: p");
        p.chunks_exact(self.d)
            .map(|pi| self.m.base_log_density(pi))
            .sum()
    }
    /// `M`'s batch sampler on the same slice: the same draws as the row-wise loop.
    ///
    /// # Panics
    /// If `outs.len()` is not a multiple of `ambient_dim()`.
    #[track_caller]
    fn sample_base_batch_into<R: Rng + ?Sized>(&self, rng: &mut R, outs: &mut [Self::Scalar]) {
        rows(
            outs.len(),
            self.ambient_dim(),
            "Power::sample_base_batch_into: outs",
        );
        self.m.sample_base_batch_into(rng, outs);
    }
}

impl<M: Differentiable> Differentiable for Power<M> {
    #[track_caller]
    fn exp_jvp(
        &self,
        p: &[Self::Scalar],
        v: &[Self::Scalar],
        dp: &[Self::Scalar],
        dv: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) {
        for (x, what) in [
            (p, "Power::exp_jvp: p"),
            (v, "Power::exp_jvp: v"),
            (dp, "Power::exp_jvp: dp"),
            (dv, "Power::exp_jvp: dv"),
        ] {
            self.expect(x.len(), what);
        }
        self.expect(out.len(), "Power::exp_jvp: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m.exp_jvp(
                &p[r.clone()],
                &v[r.clone()],
                &dp[r.clone()],
                &dv[r.clone()],
                &mut out[r],
            );
        }
    }
    #[track_caller]
    fn exp_vjp(
        &self,
        p: &[Self::Scalar],
        v: &[Self::Scalar],
        g: &[Self::Scalar],
        gp: &mut [Self::Scalar],
        gv: &mut [Self::Scalar],
    ) {
        for (x, what) in [
            (p, "Power::exp_vjp: p"),
            (v, "Power::exp_vjp: v"),
            (g, "Power::exp_vjp: g"),
        ] {
            self.expect(x.len(), what);
        }
        self.expect(gp.len(), "Power::exp_vjp: gp");
        self.expect(gv.len(), "Power::exp_vjp: gv");
        for i in 0..self.k {
            let r = self.r(i);
            self.m.exp_vjp(
                &p[r.clone()],
                &v[r.clone()],
                &g[r.clone()],
                &mut gp[r.clone()],
                &mut gv[r],
            );
        }
    }
    #[track_caller]
    fn log_jvp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        dp: &[Self::Scalar],
        dq: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) {
        for (x, what) in [
            (p, "Power::log_jvp: p"),
            (q, "Power::log_jvp: q"),
            (dp, "Power::log_jvp: dp"),
            (dq, "Power::log_jvp: dq"),
        ] {
            self.expect(x.len(), what);
        }
        self.expect(out.len(), "Power::log_jvp: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m.log_jvp(
                &p[r.clone()],
                &q[r.clone()],
                &dp[r.clone()],
                &dq[r.clone()],
                &mut out[r],
            );
        }
    }
    #[track_caller]
    fn log_vjp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        g: &[Self::Scalar],
        gp: &mut [Self::Scalar],
        gq: &mut [Self::Scalar],
    ) {
        for (x, what) in [
            (p, "Power::log_vjp: p"),
            (q, "Power::log_vjp: q"),
            (g, "Power::log_vjp: g"),
        ] {
            self.expect(x.len(), what);
        }
        self.expect(gp.len(), "Power::log_vjp: gp");
        self.expect(gq.len(), "Power::log_vjp: gq");
        for i in 0..self.k {
            let r = self.r(i);
            self.m.log_vjp(
                &p[r.clone()],
                &q[r.clone()],
                &g[r.clone()],
                &mut gp[r.clone()],
                &mut gq[r],
            );
        }
    }
    /// $\dot d = \sum_i d_i \dot d_i / d$ in one scaled pass; 0 at $d = 0$.
    #[track_caller]
    fn dist_jvp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        dp: &[Self::Scalar],
        dq: &[Self::Scalar],
    ) -> Self::Scalar {
        for (x, what) in [
            (p, "Power::dist_jvp: p"),
            (q, "Power::dist_jvp: q"),
            (dp, "Power::dist_jvp: dp"),
            (dq, "Power::dist_jvp: dq"),
        ] {
            self.expect(x.len(), what);
        }
        let mut s = ScaledSum::new();
        for i in 0..self.k {
            let r = self.r(i);
            let (pi, qi) = (&p[r.clone()], &q[r.clone()]);
            let di = self.m.dist(pi, qi);
            if di != Self::Scalar::zero() {
                s.add(di, self.m.dist_jvp(pi, qi, &dp[r.clone()], &dq[r]));
            }
        }
        s.dot_over_norm()
    }
    /// Passes $g\\, d_i / d$ to factor $i$ (two passes: $d$ first); nothing at $d = 0$.
    #[track_caller]
    fn dist_vjp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        g: Self::Scalar,
        gp: &mut [Self::Scalar],
        gq: &mut [Self::Scalar],
    ) {
        self.expect(gp.len(), "Power::dist_vjp: gp");
        self.expect(gq.len(), "Power::dist_vjp: gq");
        let d = self.dist(p, q);
        if d == Self::Scalar::zero() {
            return;
        }
        for i in 0..self.k {
            let r = self.r(i);
            let (pi, qi) = (&p[r.clone()], &q[r.clone()]);
            let di = self.m.dist(pi, qi);
            if di != Self::Scalar::zero() {
                self.m
                    .dist_vjp(pi, qi, g * (di / d), &mut gp[r.clone()], &mut gq[r]);
            }
        }
    }
    #[track_caller]
    fn inner_jvp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        v: &[Self::Scalar],
        dp: &[Self::Scalar],
        du: &[Self::Scalar],
        dv: &[Self::Scalar],
    ) -> Self::Scalar {
        for (x, what) in [
            (p, "Power::inner_jvp: p"),
            (u, "Power::inner_jvp: u"),
            (v, "Power::inner_jvp: v"),
            (dp, "Power::inner_jvp: dp"),
            (du, "Power::inner_jvp: du"),
            (dv, "Power::inner_jvp: dv"),
        ] {
            self.expect(x.len(), what);
        }
        let mut s = Self::Scalar::zero();
        for i in 0..self.k {
            let r = self.r(i);
            s += self.m.inner_jvp(
                &p[r.clone()],
                &u[r.clone()],
                &v[r.clone()],
                &dp[r.clone()],
                &du[r.clone()],
                &dv[r],
            );
        }
        s
    }
    #[track_caller]
    fn inner_vjp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        v: &[Self::Scalar],
        g: Self::Scalar,
        gp: &mut [Self::Scalar],
        gu: &mut [Self::Scalar],
        gv: &mut [Self::Scalar],
    ) {
        for (x, what) in [
            (p, "Power::inner_vjp: p"),
            (u, "Power::inner_vjp: u"),
            (v, "Power::inner_vjp: v"),
        ] {
            self.expect(x.len(), what);
        }
        for (x, what) in [
            (gp.len(), "Power::inner_vjp: gp"),
            (gu.len(), "Power::inner_vjp: gu"),
            (gv.len(), "Power::inner_vjp: gv"),
        ] {
            self.expect(x, what);
        }
        for i in 0..self.k {
            let r = self.r(i);
            self.m.inner_vjp(
                &p[r.clone()],
                &u[r.clone()],
                &v[r.clone()],
                g,
                &mut gp[r.clone()],
                &mut gu[r.clone()],
                &mut gv[r],
            );
        }
    }
    #[track_caller]
    fn project_tangent_jvp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        dp: &[Self::Scalar],
        du: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) {
        for (x, what) in [
            (p, "Power::project_tangent_jvp: p"),
            (u, "Power::project_tangent_jvp: u"),
            (dp, "Power::project_tangent_jvp: dp"),
            (du, "Power::project_tangent_jvp: du"),
        ] {
            self.expect(x.len(), what);
        }
        self.expect(out.len(), "Power::project_tangent_jvp: out");
        for i in 0..self.k {
            let r = self.r(i);
            self.m.project_tangent_jvp(
                &p[r.clone()],
                &u[r.clone()],
                &dp[r.clone()],
                &du[r.clone()],
                &mut out[r],
            );
        }
    }
    #[track_caller]
    fn project_tangent_vjp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        g: &[Self::Scalar],
        gp: &mut [Self::Scalar],
        gu: &mut [Self::Scalar],
    ) {
        for (x, what) in [
            (p, "Power::project_tangent_vjp: p"),
            (u, "Power::project_tangent_vjp: u"),
            (g, "Power::project_tangent_vjp: g"),
        ] {
            self.expect(x.len(), what);
        }
        self.expect(gp.len(), "Power::project_tangent_vjp: gp");
        self.expect(gu.len(), "Power::project_tangent_vjp: gu");
        for i in 0..self.k {
            let r = self.r(i);
            self.m.project_tangent_vjp(
                &p[r.clone()],
                &u[r.clone()],
                &g[r.clone()],
                &mut gp[r.clone()],
                &mut gu[r],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Euclidean, ManifoldExt};

    fn e(n: usize) -> Euclidean<f64> {
        Euclidean::new(n).unwrap()
    }

    #[test]
    fn constructors() {
        assert!(Power::new(e(2), 0).is_err());
        let p = Power::new(e(2), 3).unwrap();
        assert_eq!((p.dim(), p.ambient_dim(), p.k()), (6, 6, 3));
        let m = Product::new(e(1), Power::new(e(2), 2).unwrap()).unwrap();
        assert_eq!((m.dim(), m.ambient_dim()), (5, 5));
        assert_eq!(m.injectivity_radius(), f64::INFINITY);
    }

    #[test]
    fn product_distance_is_robust() {
        let close = |a: f64, b: f64| assert!((a - b).abs() <= 2e-16 * b, "{a} vs {b}");
        let m = Product::new(e(1), e(1)).unwrap();
        close(m.dist(&[0.0, 0.0], &[3e200, 4e200]), 5e200);
        close(m.dist(&[0.0, 0.0], &[3e-200, 4e-200]), 5e-200);
        assert_eq!(m.dist(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        let p = Power::new(e(1), 2).unwrap();
        close(p.dist(&[0.0, 0.0], &[3e200, 4e200]), 5e200);
        close(p.norm(&[0.0, 0.0], &[3e-200, 4e-200]), 5e-200);
        let mut s = ScaledSum::new();
        s.add(f64::NAN, 0.0);
        s.add(1.0, 0.0);
        assert!(s.norm().is_nan());
    }

    #[test]
    fn dist_derivatives_chain_rule_and_zero_subgradient() {
        let m = Product::new(e(2), e(1)).unwrap();
        let (p, q) = ([0.0, 0.0, 0.0], [3.0, 0.0, 4.0]);
        let (dp, dq) = ([0.1, 0.2, -0.3], [0.5, -0.1, 0.2]);
        let jvp = m.dist_jvp(&p, &q, &dp, &dq);
        // d = |q - p| in R³: derivative <q - p, dq - dp> / d
        let want = (3.0 * 0.4 + 4.0 * 0.5) / 5.0;
        assert!((jvp - want).abs() < 1e-15, "{jvp} vs {want}");
        let (mut gp, mut gq) = ([0.0; 3], [0.0; 3]);
        m.dist_vjp(&p, &q, 2.0, &mut gp, &mut gq);
        assert_eq!(gq, [1.2, 0.0, 1.6]);
        assert_eq!(gp, [-1.2, 0.0, -1.6]);
        // p = q: zero subgradient, finite
        assert_eq!(m.dist_jvp(&p, &p, &dp, &dq), 0.0);
        let (mut gp, mut gq) = ([0.0; 3], [0.0; 3]);
        m.dist_vjp(&p, &p, 1.0, &mut gp, &mut gq);
        assert_eq!((gp, gq), ([0.0; 3], [0.0; 3]));
        // one factor at distance 0, the other not
        let pw = Power::new(e(1), 3).unwrap();
        let q = [0.0, 2.0, 0.0];
        assert_eq!(pw.dist_jvp(&p, &q, &dp, &dq), -0.1 - 0.2);
    }

    #[test]
    fn power_batches_match_rows() {
        let pw = Power::new(e(2), 3).unwrap();
        let ps: Vec<f64> = (0..12).map(|i| i as f64).collect();
        let vs: Vec<f64> = (0..12).map(|i| (i as f64).sin()).collect();
        let mut out = vec![0.0; 12];
        pw.exp_batch_into(&ps, &vs, &mut out);
        for r in 0..2 {
            let row = r * 6..(r + 1) * 6;
            assert_eq!(
                pw.exp(&ps[row.clone()], &vs[row.clone()]),
                out[row].to_vec()
            );
        }
        let mut ds = [0.0; 2];
        pw.dist_batch_into(&ps, &vs, &mut ds);
        assert_eq!(ds[1], pw.dist(&ps[6..], &vs[6..]));
        assert_eq!(pw.check_point_batch(&ps[..7]).unwrap_err().0, 0);
    }

    #[test]
    fn check_reports_first_failing_factor() {
        let m = Product::new(e(1), e(2)).unwrap();
        assert_eq!(
            m.check_point(&[0.0, 1.0, f64::NAN]),
            Err(ManifoldError::NonFinite)
        );
        assert!(matches!(
            m.check_point(&[0.0, 1.0]),
            Err(ManifoldError::DimensionMismatch {
                expected: 3,
                got: 2
            })
        ));
        let pw = Power::new(e(1), 2).unwrap();
        assert_eq!(
            pw.check_tangent(&[0.0, 0.0], &[f64::INFINITY, 0.0]),
            Err(ManifoldError::NonFinite)
        );
    }

    #[test]
    #[should_panic(expected = "expected length 4")]
    fn shape_mistakes_panic_with_lengths() {
        let m = Product::new(e(2), e(2)).unwrap();
        let mut out = [0.0; 4];
        m.exp_into(&[0.0; 3], &[0.0; 4], &mut out);
    }
}
