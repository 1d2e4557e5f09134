//! The two model interfaces samplers and likelihoods consume, on the plain slice API.
//!
//! A [`VectorField`] is a time-dependent tangent field $v_t(x)$ (a flow-matching model, an
//! analytic test field, or the diagonal $v_{t,t}$ of a flow map); a [`FlowMap`] is a two-time
//! map $X_{s,t}(x)$ (a generalised flow map, or an exact flow in tests). Both work on row-major
//! `[n, D]` batches (`D` = the manifold's ambient dimension) with one time shared by all rows,
//! and take `&mut self` so implementations can keep scratch buffers (a network keeps its
//! inference tape) and allocate nothing per call after warm-up.
//!
//! Neither touches the training tape: training records models on a
//! [`Tape`](geoflow_autodiff::Tape) directly (see [`crate::model`]).

use geoflow_manifolds::Real;

/// A time-dependent tangent vector field $v_t(x) \in T_xM$ evaluated on batches.
pub trait VectorField<T: Real> {
    /// Scalars per point (the manifold's ambient dimension `D`).
    fn ambient_dim(&self) -> usize;

    /// Writes $v_t(x_i)$ for every row $x_i$ of `xs` (`[n, D]`) into `out` (`[n, D]`).
    ///
    /// # Panics
    /// If the slice lengths are not `n * D` for the same `n`.
    fn eval_into(&mut self, t: T, xs: &[T], out: &mut [T]);

    /// Writes $v_t(x_i)$ into `v` and the directional derivative
    /// $\frac{d}{d\varepsilon} v_t(x_i + \varepsilon u_i)\big|_{\varepsilon=0}$ into `dv`, for
    /// directions `dirs` (`[n, D]`). Directions tangent at $x_i$ give a derivative that does
    /// not depend on how the field is extended off the manifold.
    ///
    /// # Panics
    /// If the slice lengths are not `n * D` for the same `n`.
    fn jvp_into(&mut self, t: T, xs: &[T], dirs: &[T], v: &mut [T], dv: &mut [T]);
}

/// A two-time flow map $X_{s,t}: M \to M$ evaluated on batches.
pub trait FlowMap<T: Real> {
    /// Scalars per point (the manifold's ambient dimension `D`).
    fn ambient_dim(&self) -> usize;

    /// Writes $X_{s,t}(x_i)$ for every row of `xs` (`[n, D]`) into `out` (`[n, D]`).
    ///
    /// # Panics
    /// If the slice lengths are not `n * D` for the same `n`.
    fn map_into(&mut self, s: T, t: T, xs: &[T], out: &mut [T]);
}

impl<T: Real, F: VectorField<T> + ?Sized> VectorField<T> for &mut F {
    fn ambient_dim(&self) -> usize {
        (**self).ambient_dim()
    }
    fn eval_into(&mut self, t: T, xs: &[T], out: &mut [T]) {
        (**self).eval_into(t, xs, out)
    }
    fn jvp_into(&mut self, t: T, xs: &[T], dirs: &[T], v: &mut [T], dv: &mut [T]) {
        (**self).jvp_into(t, xs, dirs, v, dv)
    }
}

impl<T: Real, F: FlowMap<T> + ?Sized> FlowMap<T> for &mut F {
    fn ambient_dim(&self) -> usize {
        (**self).ambient_dim()
    }
    fn map_into(&mut self, s: T, t: T, xs: &[T], out: &mut [T]) {
        (**self).map_into(s, t, xs, out)
    }
}
