//! The [`Manifold`] trait and its capability traits.
//!
//! A manifold is a set of points stored as slices of `ambient_dim()` scalars (ambient or global
//! coordinates), with tangent vectors stored the same way. Implementors write the `*_into`
//! kernels; every other method has a default in terms of them and is overridden where a better
//! formula exists.

use crate::batch::{self, expect_len, rows};
use crate::{ManifoldError, Real};
use num_traits::{Float, Zero};
use rand::Rng;

/// Checks one slice length.
///
/// # Panics
/// With the expected and actual length in the message.
#[track_caller]
#[inline]
pub fn expect_dim(len: usize, d: usize, what: &str) {
    assert!(len == d, "{what}: expected length {d}, got {len}");
}

/// A Riemannian manifold with closed-form exponential and logarithm maps.
///
/// Object safe (for a fixed `Scalar`). Points and tangent vectors are `&[Self::Scalar]` of
/// length [`ambient_dim`](Manifold::ambient_dim); a batch is a row-major `[n, ambient_dim]`
/// slice. Kernels trust their inputs (points on the manifold, vectors tangent); use
/// [`check_point`](Manifold::check_point) / [`check_tangent`](Manifold::check_tangent) at the
/// boundary of your program. Shape mistakes panic with the lengths in the message.
pub trait Manifold: Send + Sync {
    /// The scalar type, `f32` or `f64`.
    type Scalar: Real;

    /// Intrinsic dimension ($n$ for $S^n$).
    fn dim(&self) -> usize;
    /// Scalars per point and per tangent vector ($n+1$ for $S^n$).
    fn ambient_dim(&self) -> usize;

    /// Writes $\exp_p(v)$ into `out`.
    fn exp_into(&self, p: &[Self::Scalar], v: &[Self::Scalar], out: &mut [Self::Scalar]);
    /// Writes $\log_p(q)$ into `out`. At the cut locus each manifold makes a documented
    /// deterministic choice; [`try_log_into`](Manifold::try_log_into) reports it instead.
    fn log_into(&self, p: &[Self::Scalar], q: &[Self::Scalar], out: &mut [Self::Scalar]);
    /// Riemannian inner product $g_p(u, v)$.
    fn inner(&self, p: &[Self::Scalar], u: &[Self::Scalar], v: &[Self::Scalar]) -> Self::Scalar;
    /// Writes the closest point of the manifold to `x` (the manifold's retraction onto itself).
    fn project_point_into(&self, x: &[Self::Scalar], out: &mut [Self::Scalar]);
    /// Writes the projection of the ambient vector `u` onto $T_pM$ (orthogonal in the metric the
    /// manifold documents).
    fn project_tangent_into(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        out: &mut [Self::Scalar],
    );
    /// `Ok` when `p` is a point of the manifold up to the dtype-aware tolerance; otherwise how far
    /// off it is.
    fn check_point(&self, p: &[Self::Scalar]) -> Result<(), ManifoldError>;
    /// `Ok` when `v` is a tangent vector at `p` up to the dtype-aware tolerance.
    fn check_tangent(&self, p: &[Self::Scalar], v: &[Self::Scalar]) -> Result<(), ManifoldError>;

    /// Like [`log_into`](Manifold::log_into), but returns [`ManifoldError::CutLocus`] when `q`
    /// is on the cut locus of `p` (no unique minimising geodesic). The default never fails.
    fn try_log_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) -> Result<(), ManifoldError> {
        self.log_into(p, q, out);
        Ok(())
    }

    /// Geodesic distance $d(p, q) = \lVert \log_p q \rVert_p$. The default allocates; every
    /// manifold in this crate overrides it with a direct, better-conditioned formula.
    fn dist(&self, p: &[Self::Scalar], q: &[Self::Scalar]) -> Self::Scalar {
        let mut v = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.log_into(p, q, &mut v);
        self.norm(p, &v)
    }

    /// Riemannian norm $\lVert v \rVert_p = \sqrt{g_p(v, v)}$.
    fn norm(&self, p: &[Self::Scalar], v: &[Self::Scalar]) -> Self::Scalar {
        self.inner(p, v, v).max(Self::Scalar::zero()).sqrt()
    }

    /// A retraction $R_p(v)$: a first-order approximation of $\exp_p(v)$. Default: the exponential
    /// itself (a second-order retraction).
    fn retract_into(&self, p: &[Self::Scalar], v: &[Self::Scalar], out: &mut [Self::Scalar]) {
        self.exp_into(p, v, out)
    }

    /// Writes $\gamma(t) = \exp_p(t \log_p q)$. The default allocates one scratch vector.
    fn geodesic_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        t: Self::Scalar,
        out: &mut [Self::Scalar],
    ) {
        let mut v = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.log_into(p, q, &mut v);
        for x in v.iter_mut() {
            *x *= t;
        }
        self.exp_into(p, &v, out);
    }

    /// Writes the geodesic velocity $\dot\gamma(t) \in T_{\gamma(t)}M$ of
    /// $\gamma(t) = \exp_p(t \log_p q)$. No default: every manifold writes its closed form.
    fn geodesic_velocity_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        t: Self::Scalar,
        out: &mut [Self::Scalar],
    );

    /// Injectivity radius (the same at every point for the manifolds of this crate):
    /// $\exp_p$ is a diffeomorphism on the open ball of this radius. `+∞` on Cartan–Hadamard
    /// manifolds.
    fn injectivity_radius(&self) -> Self::Scalar;

    /// # Batches
    ///
    /// Row-wise [`exp_into`](Manifold::exp_into) over `[n, d]` slices.
    ///
    /// # Panics
    /// If the three slices do not hold the same whole number of rows.
    #[track_caller]
    fn exp_batch_into(&self, ps: &[Self::Scalar], vs: &[Self::Scalar], outs: &mut [Self::Scalar]) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "exp_batch_into: ps");
        expect_len(vs.len(), n, d, "exp_batch_into: vs");
        expect_len(outs.len(), n, d, "exp_batch_into: outs");
        batch::map2(ps, vs, d, outs, d, |p, v, o| self.exp_into(p, v, o));
    }

    /// Row-wise [`log_into`](Manifold::log_into).
    ///
    /// # Panics
    /// If the three slices do not hold the same whole number of rows.
    #[track_caller]
    fn log_batch_into(&self, ps: &[Self::Scalar], qs: &[Self::Scalar], outs: &mut [Self::Scalar]) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "log_batch_into: ps");
        expect_len(qs.len(), n, d, "log_batch_into: qs");
        expect_len(outs.len(), n, d, "log_batch_into: outs");
        batch::map2(ps, qs, d, outs, d, |p, q, o| self.log_into(p, q, o));
    }

    /// Row-wise [`retract_into`](Manifold::retract_into).
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
        let n = rows(ps.len(), d, "retract_batch_into: ps");
        expect_len(vs.len(), n, d, "retract_batch_into: vs");
        expect_len(outs.len(), n, d, "retract_batch_into: outs");
        batch::map2(ps, vs, d, outs, d, |p, v, o| self.retract_into(p, v, o));
    }

    /// Row-wise [`dist`](Manifold::dist); `ds.len() == n`.
    ///
    /// # Panics
    /// If the slices do not hold the same whole number of rows.
    #[track_caller]
    fn dist_batch_into(&self, ps: &[Self::Scalar], qs: &[Self::Scalar], ds: &mut [Self::Scalar]) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "dist_batch_into: ps");
        expect_len(qs.len(), n, d, "dist_batch_into: qs");
        expect_len(ds.len(), n, 1, "dist_batch_into: ds");
        batch::map2(ps, qs, d, ds, 1, |p, q, o| o[0] = self.dist(p, q));
    }

    /// Row-wise [`inner`](Manifold::inner); `out.len() == n`.
    ///
    /// # Panics
    /// If the slices do not hold the same whole number of rows.
    #[track_caller]
    fn inner_batch_into(
        &self,
        ps: &[Self::Scalar],
        us: &[Self::Scalar],
        vs: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "inner_batch_into: ps");
        expect_len(us.len(), n, d, "inner_batch_into: us");
        expect_len(vs.len(), n, d, "inner_batch_into: vs");
        expect_len(out.len(), n, 1, "inner_batch_into: out");
        batch::map3(ps, us, vs, d, out, 1, |p, u, v, o| {
            o[0] = self.inner(p, u, v)
        });
    }

    /// Row-wise [`norm`](Manifold::norm); `out.len() == n`.
    ///
    /// # Panics
    /// If the slices do not hold the same whole number of rows.
    #[track_caller]
    fn norm_batch_into(&self, ps: &[Self::Scalar], vs: &[Self::Scalar], out: &mut [Self::Scalar]) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "norm_batch_into: ps");
        expect_len(vs.len(), n, d, "norm_batch_into: vs");
        expect_len(out.len(), n, 1, "norm_batch_into: out");
        batch::map2(ps, vs, d, out, 1, |p, v, o| o[0] = self.norm(p, v));
    }

    /// Row-wise [`geodesic_into`](Manifold::geodesic_into) with one `t` per row.
    ///
    /// # Panics
    /// If the slices do not hold the same whole number of rows or `ts.len() != n`.
    #[track_caller]
    fn geodesic_batch_into(
        &self,
        ps: &[Self::Scalar],
        qs: &[Self::Scalar],
        ts: &[Self::Scalar],
        outs: &mut [Self::Scalar],
    ) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "geodesic_batch_into: ps");
        expect_len(qs.len(), n, d, "geodesic_batch_into: qs");
        expect_len(ts.len(), n, 1, "geodesic_batch_into: ts");
        expect_len(outs.len(), n, d, "geodesic_batch_into: outs");
        batch::map2t(ps, qs, ts, d, outs, d, |p, q, t, o| {
            self.geodesic_into(p, q, t, o)
        });
    }

    /// Row-wise [`geodesic_velocity_into`](Manifold::geodesic_velocity_into) with one `t` per row.
    ///
    /// # Panics
    /// If the slices do not hold the same whole number of rows or `ts.len() != n`.
    #[track_caller]
    fn geodesic_velocity_batch_into(
        &self,
        ps: &[Self::Scalar],
        qs: &[Self::Scalar],
        ts: &[Self::Scalar],
        outs: &mut [Self::Scalar],
    ) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "geodesic_velocity_batch_into: ps");
        expect_len(qs.len(), n, d, "geodesic_velocity_batch_into: qs");
        expect_len(ts.len(), n, 1, "geodesic_velocity_batch_into: ts");
        expect_len(outs.len(), n, d, "geodesic_velocity_batch_into: outs");
        batch::map2t(ps, qs, ts, d, outs, d, |p, q, t, o| {
            self.geodesic_velocity_into(p, q, t, o)
        });
    }

    /// Writes the geodesic point $\gamma(t)$ and its velocity $\dot\gamma(t)$ together, the
    /// pair a flow-matching step needs ($x_t$ and the target velocity). The default calls
    /// [`geodesic_into`](Manifold::geodesic_into) and
    /// [`geodesic_velocity_into`](Manifold::geodesic_velocity_into); manifolds override it
    /// where the two share their expensive scalars.
    fn geodesic_with_velocity_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        t: Self::Scalar,
        point: &mut [Self::Scalar],
        velocity: &mut [Self::Scalar],
    ) {
        self.geodesic_into(p, q, t, point);
        self.geodesic_velocity_into(p, q, t, velocity);
    }

    /// Row-wise [`geodesic_with_velocity_into`](Manifold::geodesic_with_velocity_into): points
    /// into `points`, velocities into `velocities`, one `t` per row. The default makes the two
    /// batch calls (each parallel over rows).
    ///
    /// # Panics
    /// If the slices do not hold the same whole number of rows or `ts.len() != n`.
    #[track_caller]
    fn geodesic_with_velocity_batch_into(
        &self,
        ps: &[Self::Scalar],
        qs: &[Self::Scalar],
        ts: &[Self::Scalar],
        points: &mut [Self::Scalar],
        velocities: &mut [Self::Scalar],
    ) {
        let d = self.ambient_dim();
        let n = rows(ps.len(), d, "geodesic_with_velocity_batch_into: ps");
        expect_len(
            velocities.len(),
            n,
            d,
            "geodesic_with_velocity_batch_into: velocities",
        );
        self.geodesic_batch_into(ps, qs, ts, points);
        self.geodesic_velocity_batch_into(ps, qs, ts, velocities);
    }

    /// Row-wise [`project_point_into`](Manifold::project_point_into).
    ///
    /// # Panics
    /// If the slices do not hold the same whole number of rows.
    #[track_caller]
    fn project_point_batch_into(&self, xs: &[Self::Scalar], outs: &mut [Self::Scalar]) {
        let d = self.ambient_dim();
        let n = rows(xs.len(), d, "project_point_batch_into: xs");
        expect_len(outs.len(), n, d, "project_point_batch_into: outs");
        batch::map1(xs, d, outs, d, |x, o| self.project_point_into(x, o));
    }

    /// Row-wise [`project_tangent_into`](Manifold::project_tangent_into).
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
        let n = rows(ps.len(), d, "project_tangent_batch_into: ps");
        expect_len(us.len(), n, d, "project_tangent_batch_into: us");
        expect_len(outs.len(), n, d, "project_tangent_batch_into: outs");
        batch::map2(ps, us, d, outs, d, |p, u, o| {
            self.project_tangent_into(p, u, o)
        });
    }

    /// Checks every row of a batch of points; the error names the first bad row.
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
        for (i, p) in ps.chunks_exact(d).enumerate() {
            self.check_point(p).map_err(|e| (i, e))?;
        }
        Ok(())
    }
}

/// Parallel transport along the minimising geodesic.
pub trait ParallelTransport: Manifold {
    /// Writes $P_{p \to q}(v)$, the parallel transport of $v \in T_pM$ along the minimising
    /// geodesic from `p` to `q`, into `out`.
    fn transport_into(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        v: &[Self::Scalar],
        out: &mut [Self::Scalar],
    );

    /// Row-wise [`transport_into`](ParallelTransport::transport_into).
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
        let n = rows(ps.len(), d, "transport_batch_into: ps");
        expect_len(qs.len(), n, d, "transport_batch_into: qs");
        expect_len(vs.len(), n, d, "transport_batch_into: vs");
        expect_len(outs.len(), n, d, "transport_batch_into: outs");
        batch::map3(ps, qs, vs, d, outs, d, |p, q, v, o| {
            self.transport_into(p, q, v, o)
        });
    }
}

/// Sampling from the manifold's base distribution, with its log-density.
///
/// Densities are with respect to the Riemannian volume measure unless the manifold's docs say
/// otherwise (the simplex states its reference measure).
pub trait Sample: Manifold {
    /// Draws one point from the base distribution into `out`.
    fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [Self::Scalar]);
    /// Log-density of the base distribution at `p`.
    fn base_log_density(&self, p: &[Self::Scalar]) -> Self::Scalar;

    /// Draws `n = outs.len() / ambient_dim()` points, sequentially from `rng` (deterministic for a
    /// seeded generator).
    ///
    /// # Panics
    /// If `outs.len()` is not a multiple of `ambient_dim()`.
    #[track_caller]
    fn sample_base_batch_into<R: Rng + ?Sized>(&self, rng: &mut R, outs: &mut [Self::Scalar]) {
        let d = self.ambient_dim();
        rows(outs.len(), d, "sample_base_batch_into: outs");
        for o in outs.chunks_exact_mut(d) {
            self.sample_base_into(rng, o);
        }
    }
}

/// Closed-form derivatives in ambient coordinates, differentiating the formulas as implemented.
///
/// JVPs (`*_jvp`) overwrite `out` (or return the scalar); VJPs (`*_vjp`) **add** into the
/// gradient buffers, so several cotangents can be accumulated. Duality holds exactly:
/// $\langle g, J\dot x\rangle = \langle J^\top g, \dot x\rangle$. Every method is finite at
/// $v = 0$ and at $p = q$ (where the distance is not differentiable, `dist_*` returns the zero
/// subgradient).
pub trait Differentiable: Manifold {
    /// Directional derivative of $\exp_p(v)$ along $(\dot p, \dot v)$.
    fn exp_jvp(
        &self,
        p: &[Self::Scalar],
        v: &[Self::Scalar],
        dp: &[Self::Scalar],
        dv: &[Self::Scalar],
        out: &mut [Self::Scalar],
    );
    /// Adds $J_p^\top g$ to `gp` and $J_v^\top g$ to `gv` for $\exp_p(v)$.
    fn exp_vjp(
        &self,
        p: &[Self::Scalar],
        v: &[Self::Scalar],
        g: &[Self::Scalar],
        gp: &mut [Self::Scalar],
        gv: &mut [Self::Scalar],
    );
    /// Directional derivative of $\log_p(q)$ along $(\dot p, \dot q)$.
    fn log_jvp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        dp: &[Self::Scalar],
        dq: &[Self::Scalar],
        out: &mut [Self::Scalar],
    );
    /// Adds the VJP of $\log_p(q)$ into `gp`, `gq`.
    fn log_vjp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        g: &[Self::Scalar],
        gp: &mut [Self::Scalar],
        gq: &mut [Self::Scalar],
    );
    /// Directional derivative of $d(p, q)$ along $(\dot p, \dot q)$ (0 at $p = q$).
    fn dist_jvp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        dp: &[Self::Scalar],
        dq: &[Self::Scalar],
    ) -> Self::Scalar;
    /// Adds $g \nabla_p d$ and $g \nabla_q d$ into `gp`, `gq` (zero subgradient at $p = q$).
    fn dist_vjp(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        g: Self::Scalar,
        gp: &mut [Self::Scalar],
        gq: &mut [Self::Scalar],
    );
    /// Directional derivative of $g_p(u, v)$ along $(\dot p, \dot u, \dot v)$.
    fn inner_jvp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        v: &[Self::Scalar],
        dp: &[Self::Scalar],
        du: &[Self::Scalar],
        dv: &[Self::Scalar],
    ) -> Self::Scalar;
    /// Adds the VJP of $g_p(u, v)$ with scalar cotangent `g` into `gp`, `gu`, `gv`.
    fn inner_vjp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        v: &[Self::Scalar],
        g: Self::Scalar,
        gp: &mut [Self::Scalar],
        gu: &mut [Self::Scalar],
        gv: &mut [Self::Scalar],
    );
    /// Directional derivative of $P_p(u)$ (the tangent projection) along $(\dot p, \dot u)$.
    fn project_tangent_jvp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        dp: &[Self::Scalar],
        du: &[Self::Scalar],
        out: &mut [Self::Scalar],
    );
    /// Adds the VJP of $P_p(u)$ into `gp`, `gu`.
    fn project_tangent_vjp(
        &self,
        p: &[Self::Scalar],
        u: &[Self::Scalar],
        g: &[Self::Scalar],
        gp: &mut [Self::Scalar],
        gu: &mut [Self::Scalar],
    );
}

/// Manifolds of constant sectional curvature.
pub trait ConstantCurvature: Manifold {
    /// The sectional curvature $K$ (1 for the unit sphere, −1 for hyperbolic space, 0 when flat).
    fn curvature(&self) -> Self::Scalar;
}

/// A diffeomorphism from this manifold onto another (`Target`), with its push-forward and
/// pull-back of tangent vectors.
///
/// Implemented by [`Simplex`](crate::Simplex) (onto [`PositiveOrthant`](crate::PositiveOrthant),
/// $p \mapsto \sqrt p$, an isometry up to the factor 2) and by
/// [`PoincareBall`](crate::PoincareBall) (onto [`Lorentz`](crate::Lorentz), an isometry).
pub trait Diffeo: Manifold {
    /// The manifold this one is mapped onto.
    type Target: Manifold<Scalar = Self::Scalar>;
    /// The target manifold.
    fn target(&self) -> Self::Target;
    /// Writes $\varphi(x)$.
    fn to_target_into(&self, x: &[Self::Scalar], out: &mut [Self::Scalar]);
    /// Writes $\varphi^{-1}(y)$.
    #[allow(clippy::wrong_self_convention)]
    fn from_target_into(&self, y: &[Self::Scalar], out: &mut [Self::Scalar]);
    /// Writes the push-forward $d\varphi_x(u)$ of a tangent vector at `x`.
    fn push_tangent_into(&self, x: &[Self::Scalar], u: &[Self::Scalar], out: &mut [Self::Scalar]);
    /// Writes the pull-back $d(\varphi^{-1})_y(w)$ of a tangent vector at `y`.
    fn pull_tangent_into(&self, y: &[Self::Scalar], w: &[Self::Scalar], out: &mut [Self::Scalar]);
}

/// Allocating conveniences, implemented for every [`Manifold`] (including `dyn Manifold`).
///
/// ```
/// use geoflow_manifolds::{prelude::*, Euclidean};
/// let e = Euclidean::<f64>::new(2).unwrap();
/// assert_eq!(e.exp(&[1.0, 2.0], &[0.5, -1.0]), vec![1.5, 1.0]);
/// ```
pub trait ManifoldExt: Manifold {
    /// $\exp_p(v)$ as a new vector.
    fn exp(&self, p: &[Self::Scalar], v: &[Self::Scalar]) -> Vec<Self::Scalar> {
        let mut out = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.exp_into(p, v, &mut out);
        out
    }
    /// $\log_p(q)$ as a new vector (the deterministic choice at the cut locus).
    fn log(&self, p: &[Self::Scalar], q: &[Self::Scalar]) -> Vec<Self::Scalar> {
        let mut out = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.log_into(p, q, &mut out);
        out
    }
    /// $\log_p(q)$, or [`ManifoldError::CutLocus`].
    fn try_log(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
    ) -> Result<Vec<Self::Scalar>, ManifoldError> {
        let mut out = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.try_log_into(p, q, &mut out)?;
        Ok(out)
    }
    /// $\gamma(t) = \exp_p(t\log_p q)$ as a new vector.
    fn geodesic(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        t: Self::Scalar,
    ) -> Vec<Self::Scalar> {
        let mut out = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.geodesic_into(p, q, t, &mut out);
        out
    }
    /// $\dot\gamma(t)$ as a new vector.
    fn geodesic_velocity(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        t: Self::Scalar,
    ) -> Vec<Self::Scalar> {
        let mut out = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.geodesic_velocity_into(p, q, t, &mut out);
        out
    }
    /// The closest point of the manifold to `x`, as a new vector.
    fn project_point(&self, x: &[Self::Scalar]) -> Vec<Self::Scalar> {
        let mut out = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.project_point_into(x, &mut out);
        out
    }
    /// The tangent projection $P_p(u)$ as a new vector.
    fn project_tangent(&self, p: &[Self::Scalar], u: &[Self::Scalar]) -> Vec<Self::Scalar> {
        let mut out = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.project_tangent_into(p, u, &mut out);
        out
    }
    /// $R_p(v)$ as a new vector.
    fn retract(&self, p: &[Self::Scalar], v: &[Self::Scalar]) -> Vec<Self::Scalar> {
        let mut out = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.retract_into(p, v, &mut out);
        out
    }
    /// $P_{p\to q}(v)$ as a new vector.
    fn transport(
        &self,
        p: &[Self::Scalar],
        q: &[Self::Scalar],
        v: &[Self::Scalar],
    ) -> Vec<Self::Scalar>
    where
        Self: ParallelTransport,
    {
        let mut out = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.transport_into(p, q, v, &mut out);
        out
    }
    /// One draw from the base distribution as a new vector.
    fn sample_base<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<Self::Scalar>
    where
        Self: Sample,
    {
        let mut out = vec![Self::Scalar::zero(); self.ambient_dim()];
        self.sample_base_into(rng, &mut out);
        out
    }
}

impl<M: Manifold + ?Sized> ManifoldExt for M {}
