//! # geoflow-autodiff
//!
//! TODO docs
#![deny(missing_docs)]

mod backward;
mod element;
pub mod geometry;
pub mod io;
mod jvp;
pub mod nn;
pub mod optim;
mod tape;
pub mod unary;

pub use backward::Grads;
pub use element::{gemm_calls, matmul_threads, set_matmul_threads, Element};
pub use geometry::TapeManifold;
pub use nn::{
    Activation, EmbeddingKind, Linear, Mlp, MlpConfig, ParamId, Params, TangentMlp, TimeEmbedding,
};
pub use optim::{Adam, AdamConfig, Ema, Schedule, StepInfo};
pub use tape::{Axis, Tape, Var};
