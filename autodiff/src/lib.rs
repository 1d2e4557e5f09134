//! # geoflow-autodiff
//!
//! TODO docs
#![deny(missing_docs)]

mod backward;
mod element;
pub mod geometry;
mod jvp;
mod tape;
pub mod unary;

pub use backward::Grads;
pub use element::{matmul_threads, set_matmul_threads, Element};
pub use geometry::TapeManifold;
pub use tape::{Axis, Tape, Var};
