//! # geoflow-manifolds
//!
//! Exact, fast Riemannian geometry over `f32` and `f64`: exponential and logarithm maps,
//! geodesics **and their velocities**, distances, parallel transport, projections, validity
//! checks, sampling with log-densities, and closed-form JVPs/VJPs of every operation, for the
//! manifolds that geometric generative models live on.
//!
//! | manifold | type | ambient coordinates |
//! |---|---|---|
//! | $\mathbb R^n$ | [`Euclidean`] | $n$ |
//!
//! Points and tangent vectors are slices of [`Manifold::ambient_dim`] scalars; batches are
//! row-major `[n, ambient_dim]` slices, processed in parallel with rayon (feature `rayon`).
//!
//! ```
//! use geoflow_manifolds::{prelude::*, Euclidean};
//! let m = Euclidean::<f64>::new(3)?;
//! let (p, q) = ([0.0, 0.0, 0.0], [1.0, 2.0, 2.0]);
//! assert_eq!(m.dist(&p, &q), 3.0);
//! # Ok::<(), ManifoldError>(())
//! ```
#![deny(missing_docs)]

pub mod batch;
mod error;
mod euclidean;
mod manifold;
pub mod numerics;
mod real;
pub mod vmath;

pub use error::ManifoldError;
pub use euclidean::Euclidean;
pub use manifold::{
    expect_dim, ConstantCurvature, Diffeo, Differentiable, Manifold, ManifoldExt,
    ParallelTransport, Sample,
};
pub use real::Real;

/// Everything needed to call manifold methods: the traits, the error and the scalar trait.
///
/// ```
/// use geoflow_manifolds::prelude::*;
/// ```
pub mod prelude {
    pub use crate::{
        ConstantCurvature, Diffeo, Differentiable, Manifold, ManifoldError, ManifoldExt,
        ParallelTransport, Real, Sample,
    };
}
