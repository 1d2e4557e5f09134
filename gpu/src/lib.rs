//! GPU kernels (WGSL compute shaders through [wgpu]) for the batched geodesic operations of
//! [`geoflow_manifolds`], in `f32`.
//!
//! Every batch method of the CPU crate has a GPU twin with the **same name, argument order and
//! row-major `[n, d]` slice layout**, called on a [`GpuContext`] with the manifold as first
//! argument (any [`GpuManifold`]: `Euclidean`, `Sphere`, `PositiveOrthant`, `Simplex`,
//! `FlatTorus`, `Lorentz`, `PoincareBall` over `f32`):
//!
//! | CPU (`geoflow_manifolds`) | GPU (`geoflow_gpu`) |
//! |---|---|
//! | `m.exp_batch_into(ps, vs, outs)` | `gpu.exp_batch_into(&m, ps, vs, outs)?` |
//! | `m.log_batch_into(ps, qs, outs)` | `gpu.log_batch_into(&m, ps, qs, outs)?` |
//! | `m.dist_batch_into(ps, qs, ds)` | `gpu.dist_batch_into(&m, ps, qs, ds)?` |
//! | `m.inner_batch_into(ps, us, vs, out)` | `gpu.inner_batch_into(&m, ps, us, vs, out)?` |
//! | `m.geodesic_batch_into(ps, qs, ts, outs)` | `gpu.geodesic_batch_into(&m, ps, qs, ts, outs)?` |
//! | `m.geodesic_velocity_batch_into(ps, qs, ts, outs)` | `gpu.geodesic_velocity_batch_into(&m, ps, qs, ts, outs)?` |
//! | `m.transport_batch_into(ps, qs, vs, outs)` | `gpu.transport_batch_into(&m, ps, qs, vs, outs)?` |
//! | `m.project_tangent_batch_into(ps, us, outs)` | `gpu.project_tangent_batch_into(&m, ps, us, outs)?` |
//! | `m.project_point_batch_into(xs, outs)` | `gpu.project_point_batch_into(&m, xs, outs)?` |
//!
//! Differences from the CPU calls: shape mistakes are **errors** ([`GpuError::Length`]), not
//! panics, so that nothing malformed reaches the device; each call returns [`Timings`] that
//! separate host↔device copies from kernel time. These calls upload, run and download; to keep
//! data on the device across several ops, use [`GpuBatch`]es with [`GpuContext::upload`],
//! [`GpuContext::run`] and [`GpuContext::download_into`].
//!
//! # Design
//!
//! * **One device per process**: [`GpuContext::shared`] creates it lazily (a `OnceLock`) with
//!   the adapter's own limits (`max_storage_buffer_binding_size`, `max_buffer_size`), and
//!   reports [`adapter_name`](GpuContext::adapter_name) and [`backend`](GpuContext::backend).
//!   Without an adapter it returns [`GpuError::NoAdapter`] (never panics).
//! * **Kernels** live in `gpu/shaders/*.wgsl`, one file per manifold (the orthant reuses the
//!   sphere's), embedded with `include_str!` ([`shaders`]). Each `<op>_row` function mirrors
//!   the CPU function it names in a comment, including its formula choices and its `f32`
//!   series cutoffs. The dimension `D` is a pipeline-overridable constant, so any dimension
//!   works and each (manifold, op, mode, D) pipeline is compiled once and cached.
//! * **Three mappings**, chosen by [`Mode::auto`] ([`GpuContext::mode_for`]): one invocation
//!   per point for `D < 32` ([`Mode::Thread`]); for `D ≥ 32` one subgroup per point with
//!   subgroup reductions ([`Mode::Subgroup`], where the adapter has a fixed subgroup size: 32
//!   on NVIDIA, 8 on lavapipe), else one workgroup of 64 invocations per point with
//!   shared-memory tree reductions ([`Mode::Coop`]). The same WGSL serves all three: element
//!   loops run `for (i = LANE; i < D; i += STRIDE)` and reductions go through
//!   `red4`/`red8`/`red_dw2`/…, defined by a mode prelude (`mode_thread.wgsl`,
//!   `mode_subgroup.wgsl`, `mode_coop.wgsl`). `GEOFLOW_GPU_NO_SUBGROUPS=1` disables the
//!   subgroup kernels; [`GpuContext::with_mode`] forces a mapping.
//! * **Elementary functions** are implemented in `common.wgsl` (Cephes-style `sin`, `cos`,
//!   `exp`, `log`, `log1p`, `sinh`, `cosh`, `tanh`, `asinh`, `atan2`): the WGSL built-ins
//!   only promise absolute or thousands-of-ulp accuracy on Vulkan and run on hardware
//!   approximations on many GPUs, which would break the CPU crate's relative-accuracy
//!   envelope near the series cutoffs.
//! * **Exact arithmetic under shader compilers**: the compensated (double-word) branches of
//!   Lorentz and Poincaré and the Cody–Waite step of the torus need error-free transforms.
//!   Shader compilers apply inexact algebraic rewrites (`(a + b) - a → b`) and may not fuse
//!   `fma` (lavapipe does neither as the CPU does), so the kernels route the critical
//!   intermediates through `opaque(x)` (an integer XOR with a runtime zero) and form exact
//!   products with Dekker's `two_prod` instead of `fma`.
//! * **Chunking**: a batch larger than one storage binding is dispatched in chunks of a
//!   multiple of 64 rows (so that every binding offset is 256-byte aligned); more than
//!   65 535 workgroups (per [`ChunkLimits::max_workgroups_per_dim`]) are laid out on a 2-D
//!   grid. The host calls also upload in pieces of at most `max_buffer_size`.
//! * **Timings**: host time around `submit` and a blocking `poll`, separately for uploads,
//!   kernels and downloads ([`Timings`]), plus the kernels' device time from timestamp queries
//!   ([`Timings::kernel_device`]) where the adapter supports them.
//!
//! # Accuracy
//!
//! `gpu/ERROR_BUDGET.md` is the measured f32 error of every op on every manifold against the
//! CPU f64 results on the same (f32-rounded) inputs, including the hard cases of the CPU
//! crate's envelopes. It is generated by the test `error_budget` (run it with
//! `GEOFLOW_WRITE_ERROR_BUDGET=1`), which also enforces the bounds.
//!
//! # Example
//!
//! ```
//! use geoflow_gpu::{GpuContext, GpuError};
//! use geoflow_manifolds::{prelude::*, Sphere};
//!
//! let gpu = match GpuContext::shared() {
//!     Ok(gpu) => gpu,
//!     Err(GpuError::NoAdapter(_)) => {
//!         println!("SKIPPED: no GPU adapter");
//!         return Ok(());
//!     }
//!     Err(e) => return Err(e.into()),
//! };
//! let s2 = Sphere::<f32>::new(2)?;
//! // Two points on S² and a tangent vector at each (rows of 3 scalars).
//! let ps = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
//! let vs = [0.0, 0.5, 0.0, 0.0, 0.0, -1.0];
//!
//! // Same call shape as the CPU batch method, plus the manifold and a `?`.
//! let mut qs = [0.0f32; 6];
//! let timings = gpu.exp_batch_into(&s2, &ps, &vs, &mut qs)?;
//! let mut cpu = [0.0f32; 6];
//! s2.exp_batch_into(&ps, &vs, &mut cpu);
//! for (g, c) in qs.iter().zip(&cpu) {
//!     assert!((g - c).abs() < 1e-6);
//! }
//! println!("kernel {:?}, copies {:?}", timings.kernel, timings.upload + timings.download);
//!
//! // Device-resident: upload once, run several ops, download once.
//! let p = gpu.upload(&ps, 3)?;
//! let v = gpu.upload(&vs, 3)?;
//! let q = gpu.alloc(2, 3)?;
//! gpu.run(&s2, geoflow_gpu::Op::Exp, &[&p, &v], &q)?;
//! let d = gpu.alloc(2, 1)?;
//! gpu.run(&s2, geoflow_gpu::Op::Dist, &[&p, &q], &d)?;
//! let ds = gpu.download(&d)?;
//! assert!((ds[0] - 0.5).abs() < 1e-6 && (ds[1] - 1.0).abs() < 1e-6);
//!
//! // Shape mistakes are errors, not panics.
//! assert!(gpu.exp_batch_into(&s2, &ps, &vs[..5], &mut qs).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Tests without a GPU
//!
//! The device tests print `SKIPPED: no GPU adapter` and pass when there is no adapter, unless
//! `GEOFLOW_REQUIRE_GPU=1` is set (as `.ci/run` does after installing Mesa's lavapipe, with
//! `WGPU_BACKEND=vulkan`), in which case a missing adapter fails. The shader sources are parsed
//! and validated with naga in unit tests that need no GPU.

#![deny(missing_docs)]
// wgpu's API is safe; nothing here needs unsafe code.
#![forbid(unsafe_code)]

mod context;
mod ops;
pub mod shaders;

pub use context::{ChunkLimits, GpuBatch, GpuContext, Timings};
pub use ops::{Arg, Family, GpuError, GpuManifold, Op};
pub use shaders::Mode;

impl GpuContext {
    /// GPU `exp_batch_into(ps, vs, outs)`: $\exp_{p_i}(v_i)$ row by row.
    ///
    /// # Errors
    /// [`GpuError::Length`] on mismatched slice lengths; device errors.
    pub fn exp_batch_into<M: GpuManifold>(
        &self,
        m: &M,
        ps: &[f32],
        vs: &[f32],
        outs: &mut [f32],
    ) -> Result<Timings, GpuError> {
        let names = ["ps", "vs", "outs"];
        self.host_batch(m, Op::Exp, "exp_batch_into", &names, &[ps, vs], outs)
    }

    /// GPU `log_batch_into(ps, qs, outs)`: $\log_{p_i}(q_i)$.
    ///
    /// # Errors
    /// [`GpuError::Length`] on mismatched slice lengths; device errors.
    pub fn log_batch_into<M: GpuManifold>(
        &self,
        m: &M,
        ps: &[f32],
        qs: &[f32],
        outs: &mut [f32],
    ) -> Result<Timings, GpuError> {
        let names = ["ps", "qs", "outs"];
        self.host_batch(m, Op::Log, "log_batch_into", &names, &[ps, qs], outs)
    }

    /// GPU `dist_batch_into(ps, qs, ds)`: one distance per row.
    ///
    /// # Errors
    /// [`GpuError::Length`] on mismatched slice lengths; device errors.
    pub fn dist_batch_into<M: GpuManifold>(
        &self,
        m: &M,
        ps: &[f32],
        qs: &[f32],
        ds: &mut [f32],
    ) -> Result<Timings, GpuError> {
        let names = ["ps", "qs", "ds"];
        self.host_batch(m, Op::Dist, "dist_batch_into", &names, &[ps, qs], ds)
    }

    /// GPU `inner_batch_into(ps, us, vs, out)`: $\langle u_i, v_i\rangle_{p_i}$.
    ///
    /// # Errors
    /// [`GpuError::Length`] on mismatched slice lengths; device errors.
    pub fn inner_batch_into<M: GpuManifold>(
        &self,
        m: &M,
        ps: &[f32],
        us: &[f32],
        vs: &[f32],
        out: &mut [f32],
    ) -> Result<Timings, GpuError> {
        let names = ["ps", "us", "vs", "out"];
        self.host_batch(m, Op::Inner, "inner_batch_into", &names, &[ps, us, vs], out)
    }

    /// GPU `geodesic_batch_into(ps, qs, ts, outs)`: $\gamma_i(t_i)$ (one `t` per row).
    ///
    /// # Errors
    /// [`GpuError::Length`] on mismatched slice lengths; device errors.
    pub fn geodesic_batch_into<M: GpuManifold>(
        &self,
        m: &M,
        ps: &[f32],
        qs: &[f32],
        ts: &[f32],
        outs: &mut [f32],
    ) -> Result<Timings, GpuError> {
        let names = ["ps", "qs", "ts", "outs"];
        let method = "geodesic_batch_into";
        self.host_batch(m, Op::Geodesic, method, &names, &[ps, qs, ts], outs)
    }

    /// GPU `geodesic_velocity_batch_into(ps, qs, ts, outs)`: $\dot\gamma_i(t_i)$.
    ///
    /// # Errors
    /// [`GpuError::Length`] on mismatched slice lengths; device errors.
    pub fn geodesic_velocity_batch_into<M: GpuManifold>(
        &self,
        m: &M,
        ps: &[f32],
        qs: &[f32],
        ts: &[f32],
        outs: &mut [f32],
    ) -> Result<Timings, GpuError> {
        let names = ["ps", "qs", "ts", "outs"];
        let method = "geodesic_velocity_batch_into";
        self.host_batch(m, Op::GeodesicVelocity, method, &names, &[ps, qs, ts], outs)
    }

    /// GPU `transport_batch_into(ps, qs, vs, outs)`: parallel transport of $v_i$ from $p_i$
    /// to $q_i$ along the minimising geodesic.
    ///
    /// # Errors
    /// [`GpuError::Length`] on mismatched slice lengths; device errors.
    pub fn transport_batch_into<M: GpuManifold>(
        &self,
        m: &M,
        ps: &[f32],
        qs: &[f32],
        vs: &[f32],
        outs: &mut [f32],
    ) -> Result<Timings, GpuError> {
        let names = ["ps", "qs", "vs", "outs"];
        let method = "transport_batch_into";
        self.host_batch(m, Op::Transport, method, &names, &[ps, qs, vs], outs)
    }

    /// GPU `project_tangent_batch_into(ps, us, outs)`.
    ///
    /// # Errors
    /// [`GpuError::Length`] on mismatched slice lengths; device errors.
    pub fn project_tangent_batch_into<M: GpuManifold>(
        &self,
        m: &M,
        ps: &[f32],
        us: &[f32],
        outs: &mut [f32],
    ) -> Result<Timings, GpuError> {
        let names = ["ps", "us", "outs"];
        let method = "project_tangent_batch_into";
        self.host_batch(m, Op::ProjectTangent, method, &names, &[ps, us], outs)
    }

    /// GPU `project_point_batch_into(xs, outs)`.
    ///
    /// # Errors
    /// [`GpuError::Length`] on mismatched slice lengths; device errors.
    pub fn project_point_batch_into<M: GpuManifold>(
        &self,
        m: &M,
        xs: &[f32],
        outs: &mut [f32],
    ) -> Result<Timings, GpuError> {
        let names = ["xs", "outs"];
        let method = "project_point_batch_into";
        self.host_batch(m, Op::ProjectPoint, method, &names, &[xs], outs)
    }

    /// Any op on host slices, inputs in the order of the CPU batch method.
    ///
    /// # Errors
    /// [`GpuError::Length`] on a wrong number of inputs or mismatched lengths; device errors.
    pub fn batch_into<M: GpuManifold>(
        &self,
        m: &M,
        op: Op,
        inputs: &[&[f32]],
        out: &mut [f32],
    ) -> Result<Timings, GpuError> {
        if inputs.len() != op.args().len() {
            return Err(GpuError::Length {
                what: format!("{}: number of inputs", op.name()),
                expected: op.args().len(),
                got: inputs.len(),
            });
        }
        let names = ["input 0", "input 1", "input 2", "out"];
        let mut n: Vec<&str> = names[..inputs.len()].to_vec();
        n.push("out");
        self.host_batch(m, op, op.name(), &n, inputs, out)
    }
}
