//! # geoflow-flows
//!
//! Generative models on Riemannian manifolds: Riemannian flow matching (RFM), Fisher-Flow and
//! generalised flow maps (G-LSD, G-ESD, G-PSD, G-MF), with their samplers, likelihoods,
//! optimal-transport couplings, datasets and metrics. Generic over every manifold of
//! [`geoflow_manifolds`] that has tape composites (Euclidean, sphere, orthant, simplex, torus,
//! Lorentz, Poincaré ball, products and powers).
//!
//! | module | what |
//! |---|---|
//! | [`path`] | geodesic conditional paths $x_t = \exp_{x_0}(\kappa(t)\log_{x_0}x_1)$ and closed-form velocities |
//! | [`model`] | [`FlowNet`](model::FlowNet): the tangent-projected MLP (one time: vector field; two times: flow map $X_{s,t}$) |
//! | [`objective`] | RFM and the four flow-map self-distillation losses, with their equations and stop-gradients |
//! | [`train`] | the loop: seeded, EMA, validation + early stopping, atomic resumable checkpoints, JSON-lines logs |
//! | [`field`] | the [`VectorField`] / [`FlowMap`] interfaces of samplers and likelihoods |
//! | [`sample`] | geodesic Euler, midpoint, RK4 (Munthe-Kaas) and projected samplers; $k$-step flow-map sampling |
//! | [`likelihood`] | probability-flow ODE backwards with the exact or Hutchinson Riemannian divergence, Dormand–Prince |
//! | [`metric`] | MMD with the geodesic kernel, NLL statistics, categorical KL, KDE baselines |
//! | [`ot`] | exact assignment (Jonker–Volgenant) and log-domain Sinkhorn on geodesic costs |
//! | `gpu_sample` | (feature `gpu`) geodesic Euler and flow-map sampling with the exponential map on the GPU |
//! | [`data`] | loaders (earth, RNA, CSV, text), seeded splits, synthetic targets with exact densities |
//!
//! The guide `geoflow::guide::flows` (facade crate) trains, samples and evaluates a model in a
//! dozen lines.
#![deny(missing_docs)]

pub mod data;
pub mod error;
pub mod field;
#[cfg(feature = "gpu")]
pub mod gpu_sample;
pub mod likelihood;
pub mod metric;
pub mod model;
pub mod objective;
pub mod ot;
pub mod path;
pub mod sample;
pub mod train;

pub use error::{FlowError, Result};
pub use field::{FlowMap, VectorField};
