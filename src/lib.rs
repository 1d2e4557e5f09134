//! # geoflow
//!
//! Differentiable Riemannian geometry and few-step generative models on manifolds.
//!
//! This facade re-exports the workspace crates:
//!
//! - [`manifolds`] (`geoflow-manifolds`): scalars, the [`Manifold`](manifolds::Manifold) trait
//!   family, the manifolds, closed-form derivatives, sampling and the law suite.
//! - `gpu` (`geoflow-gpu`, feature `gpu`, off by default): WGSL compute kernels (wgpu) for the
//!   batched geodesic operations, in `f32`.
//!
//! ```
//! use geoflow::prelude::*;
//! use geoflow::manifolds::Euclidean;
//! let e = Euclidean::<f64>::new(2)?;
//! assert_eq!(e.dist(&[0.0, 0.0], &[3.0, 4.0]), 5.0);
//! # Ok::<(), ManifoldError>(())
//! ```
#![deny(missing_docs)]

pub use geoflow_autodiff as autodiff;
pub use geoflow_flows as flows;
pub use geoflow_manifolds as manifolds;

/// Guides, with examples that run as doctests.
pub mod guide {
    #[doc = include_str!("../docs/guide/geometry.md")]
    pub mod geometry {}
    #[doc = include_str!("../docs/guide/flows.md")]
    pub mod flows {}
}

#[cfg(feature = "gpu")]
pub use geoflow_gpu as gpu;

/// The traits and types most programs need: `use geoflow::prelude::*;`.
pub mod prelude {
    pub use geoflow_manifolds::prelude::*;
}
