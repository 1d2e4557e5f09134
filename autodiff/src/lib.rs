//! # geoflow-autodiff
//!
//! A hand-written tape for geoflow's models: reverse mode, **forward mode that can itself be
//! differentiated** (a loss may contain a JVP and still be trained by reverse mode — the
//! Lagrangian and Eulerian flow-map objectives need exactly this), manifold operations as
//! first-class primitives, layers, and Adam.
//!
//! ## The tape
//!
//! A [`Tape<T>`](Tape) (`T` = `f32` or `f64`) is a Wengert list over row-major `[rows, cols]`
//! buffers. Ops compute their value eagerly into one pooled arena and return a `Copy` handle,
//! [`Var`]. [`Tape::reset`] forgets the nodes and keeps the buffers, so a training loop that
//! records the same graph every step allocates nothing after warm-up (gradients too, with
//! [`Tape::backward_into`] and a reused [`Grads`]). Shape mistakes panic with both shapes in the
//! message.
//!
//! | family | ops |
//! |---|---|
//! | leaves | [`constant`](Tape::constant), [`leaf`](Tape::leaf) (differentiable), [`full`](Tape::full), [`zeros`](Tape::zeros), [`scalar`](Tape::scalar) |
//! | linear algebra | [`matmul`](Tape::matmul), [`matmul_t`](Tape::matmul_t) (transposes without copies), [`affine`](Tape::affine) (`x W + b`, fused) — faer, sequential unless [`set_matmul_threads`] |
//! | broadcasting binary | [`add`](Tape::add), [`sub`](Tape::sub), [`mul`](Tape::mul), [`div`](Tape::div), [`div_safe`](Tape::div_safe), [`atan2`](Tape::atan2) (rows `[1, c]`, columns `[r, 1]`, scalars) |
//! | scalar | [`scale`](Tape::scale), [`offset`](Tape::offset), [`neg`](Tape::neg) |
//! | elementwise | [`exp_elem`](Tape::exp_elem), [`ln`](Tape::ln), [`sin`](Tape::sin), [`cos`](Tape::cos), [`tanh`](Tape::tanh), [`sigmoid`](Tape::sigmoid), [`silu`](Tape::silu), [`gelu`](Tape::gelu), [`softplus`](Tape::softplus), [`sqrt`](Tape::sqrt), [`square`](Tape::square), [`recip`](Tape::recip) |
//! | sinc family (series-safe, smooth at 0) | [`sinc`](Tape::sinc), [`sinhc`](Tape::sinhc), [`sinc_sqrt`](Tape::sinc_sqrt), [`cos_sqrt`](Tape::cos_sqrt), [`sinhc_sqrt`](Tape::sinhc_sqrt), [`cosh_sqrt`](Tape::cosh_sqrt) |
//! | reductions | [`sum`](Tape::sum), [`sum_rows`](Tape::sum_rows), [`sum_cols`](Tape::sum_cols), [`mean`](Tape::mean), [`mean_rows`](Tape::mean_rows), [`mean_cols`](Tape::mean_cols), [`broadcast`](Tape::broadcast) |
//! | rows | [`softmax`](Tape::softmax), [`log_softmax`](Tape::log_softmax), [`row_dot`](Tape::row_dot), [`row_sq`](Tape::row_sq), [`row_norm`](Tape::row_norm) |
//! | shape | [`concat`](Tape::concat), [`slice`](Tape::slice) (columns), [`gather`](Tape::gather) (rows), [`reshape`](Tape::reshape) |
//! | control | [`stop_gradient`](Tape::stop_gradient) |
//! | manifolds ([`geometry`]) | [`exp`](Tape::exp), [`log`](Tape::log), [`dist`](Tape::dist), [`inner`](Tape::inner), [`project_tangent`](Tape::project_tangent), [`geodesic`](Tape::geodesic), [`geodesic_velocity`](Tape::geodesic_velocity) |
//!
//! ## Derivatives
//!
//! - **Reverse mode**: [`Tape::backward`] runs one VJP kernel per op from a `[1, 1]` loss.
//!   Only nodes that depend on a differentiable leaf get gradients (a constant input costs no
//!   gradient matmul).
//! - **Forward mode on the tape**: [`Tape::jvp`] records each op's JVP rule *in tape ops*, so
//!   the tangent is a [`Var`] and `backward` differentiates through it (reverse-over-forward).
//!   Only nodes downstream of the inputs get a tangent: $\partial_t$ of a network costs about
//!   one extra forward pass. Elementwise functions carry closed-form derivatives up to the
//!   fourth order ([`unary`]), so a JVP of a JVP can be trained as well.
//! - **Untaped forward mode**: [`Tape::jvp_value_into`] for inference; the tape is left as it
//!   was and manifold primitives use their fused closed-form JVPs.
//!
//! - **Vector-Jacobian products** of non-scalar values: [`Tape::vjp_into`].
//!
//! Precision: the tape runs in `f32` or `f64`; the sinc family is evaluated in `f64` for both,
//! SiLU uses a branch-free exponential within 2 ulp of `exp` ([`Element::exp_fast`]). The
//! oracle tests run in `f64` (VJPs and JVPs against central differences to 1e-6, duality to
//! 1e-12); `f32` gradients of the flow-map loss agree with `f64` to 1e-6 relative.
//!
//! Manifold primitives are one node per batch backed by the closed-form derivatives of
//! [`geoflow_manifolds::Differentiable`]; their taped JVP goes through the composite form of
//! the same operation (see [`geometry`] for why and for which manifolds have one).
//!
//! ## A two-layer network fitted on the tape
//!
//! ```
//! use geoflow_autodiff::{Grads, Tape};
//! let xs: Vec<f64> = (0..32).map(|i| i as f64 / 31.0 * 2.0 - 1.0).collect();
//! let ys: Vec<f64> = xs.iter().map(|x| x * x).collect();
//! // Parameters: w1 [1, 16], b1 [1, 16], w2 [16, 1], b2 [1, 1].
//! let mut w1: Vec<f64> = (0..16).map(|i| (i as f64 - 7.5) / 4.0).collect();
//! let mut b1: Vec<f64> = (0..16).map(|i| 0.1 * (i % 3) as f64 - 0.1).collect();
//! let mut w2 = vec![0.1; 16];
//! let mut b2 = vec![0.0];
//! let mut tape = Tape::new();
//! let mut grads = Grads::new();
//! let mut losses = Vec::new();
//! for _ in 0..300 {
//!     tape.reset();
//!     let (pw1, pb1) = (tape.leaf(&w1, 1, 16), tape.leaf(&b1, 1, 16));
//!     let (pw2, pb2) = (tape.leaf(&w2, 16, 1), tape.leaf(&b2, 1, 1));
//!     let x = tape.constant(&xs, 32, 1);
//!     let y = tape.constant(&ys, 32, 1);
//!     let h = tape.affine(x, pw1, pb1);
//!     let h = tape.tanh(h);
//!     let p = tape.affine(h, pw2, pb2);
//!     let e = tape.sub(p, y);
//!     let e2 = tape.square(e);
//!     let loss = tape.mean(e2);
//!     losses.push(tape.scalar_value(loss));
//!     tape.backward_into(loss, &mut grads);
//!     for (w, v) in [(&mut w1, pw1), (&mut b1, pb1), (&mut w2, pw2), (&mut b2, pb2)] {
//!         for (a, g) in w.iter_mut().zip(grads.wrt(v)) {
//!             *a -= 0.2 * g;
//!         }
//!     }
//! }
//! assert!(losses[299] < 0.1 * losses[0]);
//! ```
//!
//! ## A JVP trained through
//!
//! Fit $f_\theta(t) = \sin(\theta t)$ so that its time derivative $\partial_t f = \theta
//! \cos(\theta t)$ matches $2\cos(2t)$ at $t = 0.3$: the loss contains the JVP, and its
//! gradient in $\theta$ comes from reverse mode through the forward-mode tangent.
//!
//! ```
//! use geoflow_autodiff::Tape;
//! let mut theta = 1.0f64;
//! let target = 2.0 * (2.0f64 * 0.3).cos();
//! let mut tape = Tape::new();
//! for _ in 0..200 {
//!     tape.reset();
//!     let th = tape.leaf(&[theta], 1, 1);
//!     let t = tape.constant(&[0.3], 1, 1);
//!     let f = tape.mul(th, t);
//!     let f = tape.sin(f);
//!     let one = tape.scalar(1.0);
//!     let [df] = tape.jvp([f], &[t], &[one]);      // ∂ₜ f, a Var on the tape
//!     let r = tape.offset(df, -target);
//!     let loss = tape.square(r);
//!     let g = tape.backward(loss);                   // reverse-over-forward
//!     theta -= 0.5 * g.wrt(th)[0];
//! }
//! assert!((theta - 2.0).abs() < 1e-6);
//! ```
//!
//! ## Models and training
//!
//! [`Params`] holds named tensors outside the tape; [`Params::bind`] records them as leaves
//! each step. [`Linear`], [`Mlp`] (widths, activations, residual blocks, sinusoidal or Fourier
//! embeddings of one or two times) and [`TangentMlp`] (output projected to $T_xM$) record their
//! forward pass; [`Adam`] (AdamW, clipping, [`Schedule`]s) and [`Ema`] update them, and
//! [`io`] saves them as safetensors atomically. Samplers and inference never need the tape.
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
