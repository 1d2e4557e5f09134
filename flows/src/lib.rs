//! # geoflow-flows
//!
//! Generative models on Riemannian manifolds: Riemannian flow matching, Fisher-Flow and
//! generalised flow maps, with their samplers, likelihoods, optimal-transport couplings,
//! datasets and metrics.
#![deny(missing_docs)]

pub mod data;
pub mod error;
pub mod field;
#[cfg(feature = "gpu")]
pub mod gpu_sample;

pub use error::{FlowError, Result};
pub use field::{FlowMap, VectorField};
pub mod model;
pub mod objective;
pub mod path;
pub mod train;
