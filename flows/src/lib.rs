//! # geoflow-flows
//!
//! Generative models on Riemannian manifolds: Riemannian flow matching, Fisher-Flow and
//! generalised flow maps, with their samplers, likelihoods, optimal-transport couplings,
//! datasets and metrics.
#![deny(missing_docs)]

pub mod error;
pub mod field;
pub mod metric;
pub mod ot;

pub use error::{FlowError, Result};
pub use field::{FlowMap, VectorField};
