//! The positive orthant of the sphere,
//! $S^n_+ = \lbrace x \in S^n : x_i \ge 0 \rbrace \subset \mathbb R^{n+1}$ (Fisher-Flow's space).
//!
//! Formulas and the domain policy are documented on [`PositiveOrthant`].

use crate::manifold::expect_dim;
use crate::numerics::norm;
use crate::sphere::normalise_into;
use crate::{
    ConstantCurvature, Differentiable, Manifold, ManifoldError, ParallelTransport, Real, Sample,
    Sphere,
};
use rand::Rng;

/// The positive orthant of the sphere,
/// $S^n_+ = \lbrace x \in S^n : x_i \ge 0 \rbrace \subset \mathbb R^{n+1}$ (Fisher-Flow's space).
///
/// Every geometric operation is the [`Sphere`]'s (same kernels, same numerical notes, same f32
/// envelope): $\exp_p(v) = \cos\lVert v\rVert\\,p + \operatorname{sinc}\lVert v\rVert\\,v$,
/// $\log_p q = \theta\\,w/\lVert w\rVert$, slerp geodesics, transport, derivatives. Two points of
/// the orthant have $\langle p, q\rangle \ge 0$, so $d(p, q) \le \pi/2$: **no pair of orthant
/// points is on the cut locus**, and slerp coefficients are non-negative, so geodesics between
/// orthant points stay in the orthant (it is geodesically convex).
///
/// # Leaving the domain
///
/// The exponential map can leave the orthant (for $v$ pointing out of a face). Policy:
/// - [`Manifold::exp_into`] returns the sphere's exponential as is (possibly with negative
///   coordinates), so that it stays smooth and its derivatives are the sphere's;
/// - [`PositiveOrthant::try_exp_into`] returns [`ManifoldError::LeftDomain`] with the most
///   negative coordinate (sign flipped) when it is below `-T::check_tol()`;
/// - [`PositiveOrthant::exp_clamped_into`] clamps negative coordinates to 0 and renormalises
///   (the nearest point of $S^n_+$ to a point of $S^n$);
/// - [`Manifold::project_point_into`] normalises then takes elementwise absolute values, as
///   Fisher-Flow's samplers do (a reflection, not the nearest point).
///
/// Tangent spaces are the sphere's, $T_pS^n_+ = p^\perp$ (at boundary points this includes
/// outward directions; see the policy above).
///
/// The base distribution is uniform on the orthant, $x = \lvert z\rvert/\lVert z\rVert$ with
/// $z \sim \mathcal N(0, I_{n+1})$, of log-density $\log p_0 = \log\Gamma(\tfrac{n+1}2) - \log 2 -
/// \tfrac{n+1}2\log\pi + (n+1)\log 2$ (the orthant is $2^{-(n+1)}$ of the sphere).
///
/// ```
/// use geoflow_manifolds::{prelude::*, PositiveOrthant};
/// let o = PositiveOrthant::<f64>::new(2)?;
/// let (p, q) = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]);
/// assert!((o.dist(&p, &q) - std::f64::consts::FRAC_PI_2).abs() < 1e-15);
/// let mid = o.geodesic(&p, &q, 0.5);
/// assert!(o.check_point(&mid).is_ok());
/// // stepping off the face x₂ = 0 outwards leaves the orthant:
/// let mut out = [0.0; 3];
/// assert!(o.try_exp_into(&p, &[0.0, 0.0, -0.1], &mut out).is_err());
/// # Ok::<(), ManifoldError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositiveOrthant<T> {
    sphere: Sphere<T>,
}

impl<T: Real> PositiveOrthant<T> {
    /// $S^n_+ \subset \mathbb R^{n+1}$ for $n \ge 1$.
    pub fn new(n: usize) -> Result<Self, ManifoldError> {
        Ok(Self {
            sphere: Sphere::new(n)?,
        })
    }

    /// The sphere this orthant lies in.
    pub fn sphere(&self) -> &Sphere<T> {
        &self.sphere
    }

    /// $\exp_p(v)$ into `out`, then `Err(LeftDomain { residual })` if its most negative
    /// coordinate is below `-T::check_tol()` (`out` keeps the unclamped sphere exponential).
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    pub fn try_exp_into(&self, p: &[T], v: &[T], out: &mut [T]) -> Result<(), ManifoldError> {
        self.sphere.exp_into(p, v, out);
        let lo = out.iter().fold(T::zero(), |m, &x| m.min(x));
        if -lo > T::check_tol() {
            Err(ManifoldError::LeftDomain {
                residual: (-lo).to_f64_lossless(),
            })
        } else {
            Ok(())
        }
    }

    /// $\exp_p(v)$ with negative coordinates clamped to 0 and the result renormalised: the
    /// nearest point of $S^n_+$ to $\exp_p(v)$. If every coordinate is $\le 0$ the result is
    /// $e_j$ with $j$ the first index of the largest coordinate.
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    pub fn exp_clamped_into(&self, p: &[T], v: &[T], out: &mut [T]) {
        self.sphere.exp_into(p, v, out);
        let mut j = 0;
        for i in 0..out.len() {
            if out[i] > out[j] {
                j = i;
            }
        }
        if out[j] > T::zero() {
            for o in out.iter_mut() {
                *o = o.max(T::zero());
            }
            let n = norm(out);
            for o in out.iter_mut() {
                *o /= n;
            }
        } else {
            for o in out.iter_mut() {
                *o = T::zero();
            }
            out[j] = T::one();
        }
    }
}

impl<T: Real> Manifold for PositiveOrthant<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.sphere.dim()
    }
    fn ambient_dim(&self) -> usize {
        self.sphere.ambient_dim()
    }
    /// The sphere's exponential, returned as is even when it leaves the orthant (see the
    /// [`PositiveOrthant`] docs).
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    fn exp_into(&self, p: &[T], v: &[T], out: &mut [T]) {
        self.sphere.exp_into(p, v, out)
    }
    /// The sphere's logarithm (orthant points are never antipodal).
    #[track_caller]
    fn log_into(&self, p: &[T], q: &[T], out: &mut [T]) {
        self.sphere.log_into(p, q, out)
    }
    #[track_caller]
    fn try_log_into(&self, p: &[T], q: &[T], out: &mut [T]) -> Result<(), ManifoldError> {
        self.sphere.try_log_into(p, q, out)
    }
    fn inner(&self, p: &[T], u: &[T], v: &[T]) -> T {
        self.sphere.inner(p, u, v)
    }
    fn norm(&self, p: &[T], v: &[T]) -> T {
        self.sphere.norm(p, v)
    }
    fn dist(&self, p: &[T], q: &[T]) -> T {
        self.sphere.dist(p, q)
    }
    /// $\lvert x\rvert/\lVert x\rVert$ (normalise, then elementwise absolute value, as
    /// Fisher-Flow does): points with negative coordinates are reflected into the orthant; the
    /// zero vector maps to $e_0$.
    ///
    /// # Panics
    /// If a slice does not have `n + 1` entries.
    #[track_caller]
    fn project_point_into(&self, x: &[T], out: &mut [T]) {
        expect_dim(
            x.len(),
            self.ambient_dim(),
            "PositiveOrthant::project_point_into: x",
        );
        expect_dim(
            out.len(),
            self.ambient_dim(),
            "PositiveOrthant::project_point_into: out",
        );
        normalise_into(x, out);
        for o in out.iter_mut() {
            *o = o.abs();
        }
    }
    #[track_caller]
    fn project_tangent_into(&self, p: &[T], u: &[T], out: &mut [T]) {
        self.sphere.project_tangent_into(p, u, out)
    }
    /// The sphere's check, then $\min_i x_i \ge$ `-T::check_tol()` (residual: $-\min_i x_i$).
    fn check_point(&self, p: &[T]) -> Result<(), ManifoldError> {
        self.sphere.check_point(p)?;
        let lo = p.iter().fold(T::zero(), |m, &x| m.min(x));
        let tol = T::check_tol();
        if -lo > tol {
            return Err(ManifoldError::NotOnManifold {
                residual: (-lo).to_f64_lossless(),
                tol: tol.to_f64_lossless(),
            });
        }
        Ok(())
    }
    /// The orthant check of `p`, then the sphere's tangent check of `v`.
    fn check_tangent(&self, p: &[T], v: &[T]) -> Result<(), ManifoldError> {
        self.check_point(p)?;
        self.sphere.check_tangent(p, v)
    }
    /// The sphere's projection retraction $(p+v)/\lVert p+v\rVert$ (second order; may leave the
    /// orthant like `exp_into`).
    #[track_caller]
    fn retract_into(&self, p: &[T], v: &[T], out: &mut [T]) {
        self.sphere.retract_into(p, v, out)
    }
    /// Slerp (stays in the orthant for $t \in [0, 1]$).
    #[track_caller]
    fn geodesic_into(&self, p: &[T], q: &[T], t: T, out: &mut [T]) {
        self.sphere.geodesic_into(p, q, t, out)
    }
    #[track_caller]
    fn geodesic_velocity_into(&self, p: &[T], q: &[T], t: T, out: &mut [T]) {
        self.sphere.geodesic_velocity_into(p, q, t, out)
    }
    /// $\pi$, the sphere's (orthant points are at most $\pi/2$ apart).
    fn injectivity_radius(&self) -> T {
        self.sphere.injectivity_radius()
    }
    /// The sphere's vectorised batch kernel.
    #[track_caller]
    fn exp_batch_into(&self, ps: &[T], vs: &[T], outs: &mut [T]) {
        self.sphere.exp_batch_into(ps, vs, outs)
    }
    /// The sphere's vectorised batch kernel.
    #[track_caller]
    fn log_batch_into(&self, ps: &[T], qs: &[T], outs: &mut [T]) {
        self.sphere.log_batch_into(ps, qs, outs)
    }
    /// The sphere's vectorised batch kernel.
    #[track_caller]
    fn dist_batch_into(&self, ps: &[T], qs: &[T], ds: &mut [T]) {
        self.sphere.dist_batch_into(ps, qs, ds)
    }
    /// The sphere's batch kernel.
    #[track_caller]
    fn inner_batch_into(&self, ps: &[T], us: &[T], vs: &[T], out: &mut [T]) {
        self.sphere.inner_batch_into(ps, us, vs, out)
    }
    /// The sphere's batch kernel.
    #[track_caller]
    fn norm_batch_into(&self, ps: &[T], vs: &[T], out: &mut [T]) {
        self.sphere.norm_batch_into(ps, vs, out)
    }
    /// The sphere's vectorised batch kernel.
    #[track_caller]
    fn geodesic_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        self.sphere.geodesic_batch_into(ps, qs, ts, outs)
    }
    /// The sphere's vectorised batch kernel.
    #[track_caller]
    fn geodesic_velocity_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        self.sphere.geodesic_velocity_batch_into(ps, qs, ts, outs)
    }
    /// The sphere's (one log for both outputs).
    #[track_caller]
    fn geodesic_with_velocity_into(
        &self,
        p: &[T],
        q: &[T],
        t: T,
        point: &mut [T],
        velocity: &mut [T],
    ) {
        self.sphere
            .geodesic_with_velocity_into(p, q, t, point, velocity)
    }
    /// The sphere's fused batch kernel.
    #[track_caller]
    fn geodesic_with_velocity_batch_into(
        &self,
        ps: &[T],
        qs: &[T],
        ts: &[T],
        points: &mut [T],
        velocities: &mut [T],
    ) {
        self.sphere
            .geodesic_with_velocity_batch_into(ps, qs, ts, points, velocities)
    }
    /// The sphere's batch normalisation, then elementwise absolute values.
    #[track_caller]
    fn project_point_batch_into(&self, xs: &[T], outs: &mut [T]) {
        crate::sphere_batch::project_point(&self.sphere, xs, outs, true)
    }
    /// The sphere's batch kernel.
    #[track_caller]
    fn project_tangent_batch_into(&self, ps: &[T], us: &[T], outs: &mut [T]) {
        self.sphere.project_tangent_batch_into(ps, us, outs)
    }
}

impl<T: Real> ParallelTransport for PositiveOrthant<T> {
    #[track_caller]
    fn transport_into(&self, p: &[T], q: &[T], v: &[T], out: &mut [T]) {
        self.sphere.transport_into(p, q, v, out)
    }
    /// The sphere's batch kernel.
    #[track_caller]
    fn transport_batch_into(&self, ps: &[T], qs: &[T], vs: &[T], outs: &mut [T]) {
        self.sphere.transport_batch_into(ps, qs, vs, outs)
    }
}

impl<T: Real> ConstantCurvature for PositiveOrthant<T> {
    /// 1.
    fn curvature(&self) -> T {
        T::one()
    }
}

impl<T: Real> Sample for PositiveOrthant<T> {
    /// Uniform on the orthant: $\lvert z\rvert/\lVert z\rVert$, $z \sim \mathcal N(0, I_{n+1})$.
    ///
    /// # Panics
    /// If `out` does not have `n + 1` entries.
    #[track_caller]
    fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        self.sphere.sample_base_into(rng, out);
        for o in out.iter_mut() {
            *o = o.abs();
        }
    }
    /// The sphere's uniform log-density plus $(n+1)\log 2$.
    fn base_log_density(&self, p: &[T]) -> T {
        self.sphere.base_log_density(p) + T::c(self.ambient_dim() as f64 * core::f64::consts::LN_2)
    }
}

/// The sphere's derivatives (same formulas, `p` taken as given; see `docs/math/sphere.md`).
impl<T: Real> Differentiable for PositiveOrthant<T> {
    fn exp_jvp(&self, p: &[T], v: &[T], dp: &[T], dv: &[T], out: &mut [T]) {
        self.sphere.exp_jvp(p, v, dp, dv, out)
    }
    fn exp_vjp(&self, p: &[T], v: &[T], g: &[T], gp: &mut [T], gv: &mut [T]) {
        self.sphere.exp_vjp(p, v, g, gp, gv)
    }
    fn log_jvp(&self, p: &[T], q: &[T], dp: &[T], dq: &[T], out: &mut [T]) {
        self.sphere.log_jvp(p, q, dp, dq, out)
    }
    fn log_vjp(&self, p: &[T], q: &[T], g: &[T], gp: &mut [T], gq: &mut [T]) {
        self.sphere.log_vjp(p, q, g, gp, gq)
    }
    fn dist_jvp(&self, p: &[T], q: &[T], dp: &[T], dq: &[T]) -> T {
        self.sphere.dist_jvp(p, q, dp, dq)
    }
    fn dist_vjp(&self, p: &[T], q: &[T], g: T, gp: &mut [T], gq: &mut [T]) {
        self.sphere.dist_vjp(p, q, g, gp, gq)
    }
    fn inner_jvp(&self, p: &[T], u: &[T], v: &[T], dp: &[T], du: &[T], dv: &[T]) -> T {
        self.sphere.inner_jvp(p, u, v, dp, du, dv)
    }
    fn inner_vjp(&self, p: &[T], u: &[T], v: &[T], g: T, gp: &mut [T], gu: &mut [T], gv: &mut [T]) {
        self.sphere.inner_vjp(p, u, v, g, gp, gu, gv)
    }
    fn project_tangent_jvp(&self, p: &[T], u: &[T], dp: &[T], du: &[T], out: &mut [T]) {
        self.sphere.project_tangent_jvp(p, u, dp, du, out)
    }
    fn project_tangent_vjp(&self, p: &[T], u: &[T], g: &[T], gp: &mut [T], gu: &mut [T]) {
        self.sphere.project_tangent_vjp(p, u, g, gp, gu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sphere::exp_kernel;
    use crate::ManifoldExt;
    use rand::SeedableRng;

    fn orthant_checks<T: Real>() {
        let o = PositiveOrthant::<T>::new(2).unwrap();
        let (z, one) = (T::zero(), T::one());
        let p = [one, z, z];
        let q = [z, one, z];
        // no cut locus among orthant points
        let mut out = [z; 3];
        assert!(o.try_log_into(&p, &q, &mut out).is_ok());
        assert!((out[1] - T::FRAC_PI_2()).abs() < T::c(1e-6));
        // exp leaving the orthant
        let v = [z, z, T::c(-0.3)];
        o.exp_into(&p, &v, &mut out);
        assert!(out[2] < z);
        match o.try_exp_into(&p, &v, &mut out) {
            Err(ManifoldError::LeftDomain { residual }) => {
                assert!((residual - 0.3f64.sin()).abs() < 1e-6)
            }
            r => panic!("expected LeftDomain, got {r:?}"),
        }
        assert!(o.try_exp_into(&p, &[z, z, T::c(0.3)], &mut out).is_ok());
        o.exp_clamped_into(&p, &v, &mut out);
        assert!(o.check_point(&out).is_ok());
        assert!((out[0] - one).abs() < T::c(1e-7) && out[2] == z);
        // all-negative after exp: e_j of the largest coordinate
        o.exp_clamped_into(&p, &[z, T::c(-0.01), z], &mut [z; 3]);
        let mut r = [z; 3];
        o.exp_clamped_into(&p, &[z, z, z], &mut r);
        assert_eq!(r, p);
        // projection: normalise then abs
        o.project_point_into(&[T::c(-3.0), T::c(4.0), z], &mut out);
        assert!((out[0] - T::c(0.6)).abs() < T::c(1e-7) && (out[1] - T::c(0.8)).abs() < T::c(1e-7));
        o.project_point_into(&[z, z, z], &mut out);
        assert_eq!(out, p);
        // check_point
        assert!(matches!(
            o.check_point(&[-one, z, z]),
            Err(ManifoldError::NotOnManifold { .. })
        ));
        assert!(o
            .check_point(&[-T::check_tol() * T::c(0.5), one, z])
            .is_ok());
        assert!(o.check_tangent(&p, &[z, one, -one]).is_ok());
        // geodesic stays in the orthant
        let a = [T::c(0.6), T::c(0.8), z];
        let b = [z, T::c(0.6), T::c(0.8)];
        for i in 0..=10 {
            let g = o.geodesic(&a, &b, T::c(i as f64 / 10.0));
            assert!(o.check_point(&g).is_ok(), "{g:?}");
        }
        assert_eq!(o.curvature(), one);
    }

    #[test]
    fn orthant_policies_f32_f64() {
        orthant_checks::<f32>();
        orthant_checks::<f64>();
    }

    #[test]
    fn orthant_base_density_and_sampler() {
        let o = PositiveOrthant::<f64>::new(2).unwrap();
        let s = Sphere::<f64>::new(2).unwrap();
        let x = [1.0, 0.0, 0.0];
        assert!(
            (o.base_log_density(&x) - (s.base_log_density(&x) + 3.0 * 2f64.ln())).abs() < 1e-15
        );
        // 1/(4π/8) = 2/π on S²_+
        assert!((o.base_log_density(&x) - (2.0 / std::f64::consts::PI).ln()).abs() < 1e-14);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 20000;
        let mut mean = [0.0; 3];
        for _ in 0..n {
            let y = o.sample_base(&mut rng);
            assert!(o.check_point(&y).is_ok());
            for i in 0..3 {
                mean[i] += y[i] / n as f64;
            }
        }
        // E|x_i| on S² = 1/2 for each coordinate.
        for m in mean {
            assert!((m - 0.5).abs() < 0.01, "{mean:?}");
        }
        let o32 = PositiveOrthant::<f32>::new(4).unwrap();
        let y = o32.sample_base(&mut rng);
        assert!(o32.check_point(&y).is_ok());
    }

    #[test]
    fn orthant_delegates_to_sphere() {
        let o = PositiveOrthant::<f64>::new(3).unwrap();
        let s = o.sphere();
        let p = [0.5, 0.5, 0.5, 0.5];
        let q = [0.1, 0.7, 0.7, 0.1f64];
        let qn: Vec<f64> = {
            let n = norm(&q);
            q.iter().map(|x| x / n).collect()
        };
        assert_eq!(o.log(&p, &qn), s.log(&p, &qn));
        assert_eq!(o.dist(&p, &qn), s.dist(&p, &qn));
        assert_eq!(
            o.geodesic_velocity(&p, &qn, 0.3),
            s.geodesic_velocity(&p, &qn, 0.3)
        );
        assert_eq!(
            o.transport(&p, &qn, &[0.5, -0.5, 0.5, -0.5]),
            s.transport(&p, &qn, &[0.5, -0.5, 0.5, -0.5])
        );
        let v = [0.1, -0.1, 0.0, 0.0];
        let mut a = [0.0; 4];
        let mut b = [0.0; 4];
        exp_kernel(&p, &v, &mut a);
        o.exp_into(&p, &v, &mut b);
        assert_eq!(a, b);
        assert!(PositiveOrthant::<f32>::new(0).is_err());
    }
}
