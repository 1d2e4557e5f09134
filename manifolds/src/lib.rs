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
//! | $S^n$ | [`Sphere`] (+ [`VonMisesFisher`]) | $n+1$ |
//! | $S^n_+$ | [`PositiveOrthant`] | $n+1$ |
//! | $\Delta^n$ (Fisher–Rao) | [`Simplex`] | $n+1$ |
//! | $T^n$ (flat torus) | [`FlatTorus`] | $n$ |
//! | $A \times B$ | [`Product`] | sum of the factors' |
//! | $M^k$ | [`Power`] | $k$ times the factor's |
//! | $H^n$ (hyperboloid) | [`Lorentz`] | $n + 1$ |
//! | $B^n$ (Poincaré ball) | [`PoincareBall`] | $n$ |
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
pub mod euclidean;
mod hyperbolic_batch;
pub mod lorentz;
mod manifold;
pub mod numerics;
pub mod orthant;
pub mod poincare;
pub mod product;
mod real;
pub mod simplex;
mod simplex_batch;
mod simplex_diffeo;
pub mod sphere;
mod sphere_batch;
#[cfg(feature = "testing")]
pub mod testing;
pub mod torus;
mod torus_batch;
pub mod validated;
pub mod vmath;

pub use error::ManifoldError;
pub use euclidean::Euclidean;
pub use lorentz::Lorentz;
pub use manifold::{
    expect_dim, ConstantCurvature, Diffeo, Differentiable, Manifold, ManifoldExt,
    ParallelTransport, Sample,
};
pub use orthant::PositiveOrthant;
pub use poincare::{PoincareBall, BALL_EPS};
pub use product::{Power, Product};
pub use real::Real;
pub use simplex::{Dirichlet, Simplex};
pub use sphere::{Sphere, VonMisesFisher};
pub use torus::{wrap_angle, FlatTorus};
pub use validated::Validated;

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
