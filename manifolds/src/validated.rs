//! [`Validated`]: a debugging wrapper that checks every input and output of a manifold.
//!
//! Kernels such as [`Manifold::exp_into`] trust their inputs for speed. When a model produces
//! NaNs or drifts off the manifold, wrap the manifold in `Validated` to find the first call that
//! received or produced a bad value: each method validates its points and tangent vectors with
//! [`Manifold::check_point`] / [`Manifold::check_tangent`] and panics with the operation, the
//! argument and the residual.
//!
//! ```
//! use geoflow_manifolds::{prelude::*, Euclidean, Validated};
//! let m = Validated::new(Euclidean::<f64>::new(2)?);
//! assert_eq!(m.exp(&[1.0, 2.0], &[1.0, 1.0]), vec![2.0, 3.0]);
//! let caught = std::panic::catch_unwind(|| m.exp(&[f64::NAN, 0.0], &[0.0, 0.0]));
//! assert!(caught.is_err());
//! # Ok::<(), ManifoldError>(())
//! ```

use crate::{Manifold, ManifoldError, ParallelTransport, Sample};
use num_traits::{Float, Zero};
use rand::Rng;

/// Wraps a manifold so that every call checks its inputs and outputs (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Validated<M>(pub M);

impl<M: Manifold> Validated<M> {
    /// Wraps `m`.
    pub fn new(m: M) -> Self {
        Self(m)
    }
    /// The wrapped manifold.
    pub fn inner_manifold(&self) -> &M {
        &self.0
    }
}

#[track_caller]
fn ok(op: &str, what: &str, r: Result<(), ManifoldError>) {
    if let Err(e) = r {
        panic!("Validated: {op}: {what}: {e}");
    }
}

impl<M: Manifold> Validated<M> {
    #[track_caller]
    fn point(&self, op: &str, what: &str, p: &[M::Scalar]) {
        ok(op, what, self.0.check_point(p));
    }
    #[track_caller]
    fn tangent(&self, op: &str, what: &str, p: &[M::Scalar], v: &[M::Scalar]) {
        ok(op, what, self.0.check_tangent(p, v));
    }
    #[track_caller]
    fn finite(&self, op: &str, what: &str, x: M::Scalar) {
        if !x.is_finite() {
            panic!("Validated: {op}: {what} is not finite ({x})");
        }
    }
}

impl<M: Manifold> Manifold for Validated<M> {
    type Scalar = M::Scalar;
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn ambient_dim(&self) -> usize {
        self.0.ambient_dim()
    }
    #[track_caller]
    fn exp_into(&self, p: &[M::Scalar], v: &[M::Scalar], out: &mut [M::Scalar]) {
        self.point("exp", "p", p);
        self.tangent("exp", "v", p, v);
        self.0.exp_into(p, v, out);
        self.point("exp", "result", out);
    }
    #[track_caller]
    fn log_into(&self, p: &[M::Scalar], q: &[M::Scalar], out: &mut [M::Scalar]) {
        self.point("log", "p", p);
        self.point("log", "q", q);
        self.0.log_into(p, q, out);
        self.tangent("log", "result", p, out);
    }
    #[track_caller]
    fn try_log_into(
        &self,
        p: &[M::Scalar],
        q: &[M::Scalar],
        out: &mut [M::Scalar],
    ) -> Result<(), ManifoldError> {
        self.point("try_log", "p", p);
        self.point("try_log", "q", q);
        self.0.try_log_into(p, q, out)?;
        self.tangent("try_log", "result", p, out);
        Ok(())
    }
    #[track_caller]
    fn inner(&self, p: &[M::Scalar], u: &[M::Scalar], v: &[M::Scalar]) -> M::Scalar {
        self.point("inner", "p", p);
        self.tangent("inner", "u", p, u);
        self.tangent("inner", "v", p, v);
        let r = self.0.inner(p, u, v);
        self.finite("inner", "result", r);
        r
    }
    #[track_caller]
    fn norm(&self, p: &[M::Scalar], v: &[M::Scalar]) -> M::Scalar {
        self.point("norm", "p", p);
        self.tangent("norm", "v", p, v);
        let r = self.0.norm(p, v);
        self.finite("norm", "result", r);
        r
    }
    #[track_caller]
    fn dist(&self, p: &[M::Scalar], q: &[M::Scalar]) -> M::Scalar {
        self.point("dist", "p", p);
        self.point("dist", "q", q);
        let r = self.0.dist(p, q);
        self.finite("dist", "result", r);
        r
    }
    #[track_caller]
    fn project_point_into(&self, x: &[M::Scalar], out: &mut [M::Scalar]) {
        self.0.project_point_into(x, out);
        self.point("project_point", "result", out);
    }
    #[track_caller]
    fn project_tangent_into(&self, p: &[M::Scalar], u: &[M::Scalar], out: &mut [M::Scalar]) {
        self.point("project_tangent", "p", p);
        self.0.project_tangent_into(p, u, out);
        self.tangent("project_tangent", "result", p, out);
    }
    fn check_point(&self, p: &[M::Scalar]) -> Result<(), ManifoldError> {
        self.0.check_point(p)
    }
    fn check_tangent(&self, p: &[M::Scalar], v: &[M::Scalar]) -> Result<(), ManifoldError> {
        self.0.check_tangent(p, v)
    }
    #[track_caller]
    fn retract_into(&self, p: &[M::Scalar], v: &[M::Scalar], out: &mut [M::Scalar]) {
        self.point("retract", "p", p);
        self.tangent("retract", "v", p, v);
        self.0.retract_into(p, v, out);
        self.point("retract", "result", out);
    }
    #[track_caller]
    fn geodesic_into(&self, p: &[M::Scalar], q: &[M::Scalar], t: M::Scalar, out: &mut [M::Scalar]) {
        self.point("geodesic", "p", p);
        self.point("geodesic", "q", q);
        self.0.geodesic_into(p, q, t, out);
        self.point("geodesic", "result", out);
    }
    #[track_caller]
    fn geodesic_velocity_into(
        &self,
        p: &[M::Scalar],
        q: &[M::Scalar],
        t: M::Scalar,
        out: &mut [M::Scalar],
    ) {
        self.point("geodesic_velocity", "p", p);
        self.point("geodesic_velocity", "q", q);
        self.0.geodesic_velocity_into(p, q, t, out);
        let mut g = vec![M::Scalar::zero(); out.len()];
        self.0.geodesic_into(p, q, t, &mut g);
        self.tangent("geodesic_velocity", "result", &g, out);
    }
    fn injectivity_radius(&self) -> M::Scalar {
        self.0.injectivity_radius()
    }
}

impl<M: ParallelTransport> ParallelTransport for Validated<M> {
    #[track_caller]
    fn transport_into(
        &self,
        p: &[M::Scalar],
        q: &[M::Scalar],
        v: &[M::Scalar],
        out: &mut [M::Scalar],
    ) {
        self.point("transport", "p", p);
        self.point("transport", "q", q);
        self.tangent("transport", "v", p, v);
        self.0.transport_into(p, q, v, out);
        self.tangent("transport", "result", q, out);
    }
}

impl<M: Sample> Sample for Validated<M> {
    #[track_caller]
    fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [M::Scalar]) {
        self.0.sample_base_into(rng, out);
        self.point("sample_base", "result", out);
    }
    #[track_caller]
    fn base_log_density(&self, p: &[M::Scalar]) -> M::Scalar {
        self.point("base_log_density", "p", p);
        self.0.base_log_density(p)
    }
}
