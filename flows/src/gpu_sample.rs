//! Samplers whose geometry steps run on the GPU (feature `gpu`), with the CPU path as the
//! reference.
//!
//! Both samplers integrate from the points in `xs` (row-major `[n, D]`, `f32`) and overwrite
//! them with the result, like the CPU loops they mirror:
//!
//! * **Geodesic Euler** for a vector field $v_t$ on $[t_0, t_1]$ in $k$ steps,
//!   $$h = \frac{t_1 - t_0}{k},\qquad t_j = t_0 + j\,h,\qquad
//!   x_{j+1} = \exp_{x_j}\!\big(h\, v_{t_j}(x_j)\big),$$
//!   ([`GpuSampler::integrate_euler`]).
//! * **The $k$-step flow-map sampler** on a time grid $s_0, s_1, \dots, s_k$ for a
//!   [`FlowNet`] $X_{s,t}(x) = \exp_x\big((t - s)\, v_\theta(x, s, t)\big)$:
//!   $$x_{j+1} = \exp_{x_j}\!\big((s_{j+1} - s_j)\, v_\theta(x_j, s_j, s_{j+1})\big)$$
//!   ([`GpuSampler::flow_map_sample`]); for a one-time net the velocity is taken at
//!   $(s_j, s_j)$, exactly as [`FlowMap::map_into`](crate::FlowMap::map_into) does.
//!
//! The field (or network) is evaluated on the CPU; only the exponential map runs on the GPU.
//! The points stay in a device buffer ([`GpuBatch`]) across steps: each step uploads the
//! scaled velocities $h\,v$, runs the `exp` kernel of `geoflow-gpu` into a second buffer
//! (ping-pong, the kernel cannot write its input) and downloads the new points, which the next
//! field evaluation needs. [`GpuSampleTimings`] separates the copies, the kernels and the CPU
//! field evaluation.
//!
//! # Numerics
//!
//! Given the same $x_j$, the GPU computes the same $h\,v$ as the CPU (the same code on the same
//! inputs), so one step differs from the CPU step only by the two `exp` implementations: by at
//! most $(\varepsilon_{\rm gpu} + \varepsilon_{\rm cpu})\,|x_{j+1}|$, with the relative errors
//! of `exp` in `gpu/ERROR_BUDGET.md` (on S², $3.9\cdot10^{-7} + 3.0\cdot10^{-7}$). Over $k$
//! steps of an Euler map with Lipschitz constant $1 + hL$ these differences propagate to at
//! most
//! $$|x_k^{\rm gpu} - x_k^{\rm cpu}| \le \delta \sum_{j<k} (1 + hL)^j
//!   \le k\,\delta\, e^{L (t_1 - t_0)},\qquad
//!   \delta = (\varepsilon_{\rm gpu} + \varepsilon_{\rm cpu}) \max_j |x_j|,$$
//! which is what `flows/tests/gpu_sample.rs` checks (one step from identical inputs, and $k$
//! accumulated steps). Both are `f32` paths of equal accuracy: neither is closer to the exact
//! flow than the other.
//!
//! `f32` only (the GPU kernels are `f32`). Non-finite velocities and points are reported as
//! [`FlowError::Numerical`] with the step and row (velocities are never sent to the device).
//! Keep trajectories inside the `f32` envelope of the manifold: on the Poincaré ball a step
//! that ends within an ulp of the boundary rounds onto it in both paths (norm $\le 0.97$,
//! radius $\approx 4.2$, is safe; see `geoflow_manifolds::PoincareBall`). After the first
//! call on a batch shape the sampler reuses its device buffers and host scratch; the GPU crate
//! still creates a staging buffer per download and bind groups per dispatch.
//!
//! # Example
//!
//! ```
//! use geoflow_flows::gpu_sample::GpuSampler;
//! use geoflow_flows::VectorField;
//! use geoflow_gpu::{GpuContext, GpuError};
//! use geoflow_manifolds::{Manifold, Sphere};
//!
//! /// Rotation about the z axis: v(x) = e_z × x.
//! struct Spin;
//! impl VectorField<f32> for Spin {
//!     fn ambient_dim(&self) -> usize {
//!         3
//!     }
//!     fn eval_into(&mut self, _t: f32, xs: &[f32], out: &mut [f32]) {
//!         for (x, o) in xs.chunks_exact(3).zip(out.chunks_exact_mut(3)) {
//!             o.copy_from_slice(&[-x[1], x[0], 0.0]);
//!         }
//!     }
//!     fn jvp_into(&mut self, _: f32, _: &[f32], _: &[f32], _: &mut [f32], _: &mut [f32]) {
//!         unimplemented!()
//!     }
//! }
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
//! let mut sampler = GpuSampler::new(gpu);
//! let x0 = [1.0f32, 0.0, 0.0, 0.0, 0.6, 0.8];
//! let mut xs = x0;
//! let timings = sampler.integrate_euler(&s2, &mut Spin, &mut xs, 0.0, 1.0, 16)?;
//!
//! // The CPU reference: the same loop with the CPU exponential map.
//! let (mut cpu, mut v) = (x0, [0.0f32; 6]);
//! let h = 1.0 / 16.0;
//! for j in 0..16 {
//!     Spin.eval_into(j as f32 * h, &cpu, &mut v);
//!     v.iter_mut().for_each(|v| *v *= h);
//!     let x = cpu;
//!     s2.exp_batch_into(&x, &v, &mut cpu);
//! }
//! for (g, c) in xs.iter().zip(&cpu) {
//!     assert!((g - c).abs() < 1e-5);
//! }
//! println!("copies {:?}, kernels {:?}", timings.copies(), timings.kernel);
//!
//! // Bad input is an error, not a panic.
//! assert!(sampler.integrate_euler(&s2, &mut Spin, &mut xs[..5], 0.0, 1.0, 4).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::{Duration, Instant};

use geoflow_gpu::{GpuBatch, GpuContext, GpuError, GpuManifold, Op};
use geoflow_manifolds::{Differentiable, Manifold};

use crate::model::FlowNet;
use crate::{FlowError, Result, VectorField};

/// Where the time of one GPU sampling call went (host wall-clock times).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GpuSampleTimings {
    /// Host → device copies: the initial points and each step's velocities (writing them to
    /// the queue and waiting for the transfer before the kernel).
    pub upload: Duration,
    /// The `exp` kernels: host time around submit and wait.
    pub kernel: Duration,
    /// The kernels' time on the device from timestamp queries, where the adapter has them.
    pub kernel_device: Option<Duration>,
    /// Device → host copies of the points after each step.
    pub download: Duration,
    /// The field (or network) evaluation on the CPU, with the scaling by the step size.
    pub field: Duration,
    /// Steps taken.
    pub steps: usize,
}

impl GpuSampleTimings {
    /// Host↔device copies: `upload + download`.
    pub fn copies(&self) -> Duration {
        self.upload + self.download
    }

    /// Everything: copies, kernels and the CPU field.
    pub fn total(&self) -> Duration {
        self.copies() + self.kernel + self.field
    }
}

/// Geodesic samplers with the exponential map on the GPU (see the [module docs](self)).
///
/// Holds a [`GpuContext`] (a cheap clone sharing the device) and, after the first call, three
/// device batches and a host buffer for the velocities, reused while the batch shape stays the
/// same.
#[derive(Debug)]
pub struct GpuSampler {
    gpu: GpuContext,
    /// Points, next points, scaled velocities.
    bufs: Option<[GpuBatch; 3]>,
    hv: Vec<f32>,
}

/// A GPU error as a flow error: shape and size problems are invalid arguments, the rest
/// device failures.
fn gpu_error(e: GpuError) -> FlowError {
    match e {
        GpuError::Length { .. } | GpuError::TooLarge { .. } | GpuError::Aliased(_) => {
            FlowError::InvalidArgument(format!("gpu_sample: {e}"))
        }
        e => FlowError::Numerical(format!("gpu_sample: GPU failure: {e}")),
    }
}

fn invalid(msg: String) -> FlowError {
    FlowError::InvalidArgument(format!("gpu_sample: {msg}"))
}

impl GpuSampler {
    /// A sampler on `gpu` (e.g. [`GpuContext::shared`]`()?`, or a context with a forced
    /// [`Mode`](geoflow_gpu::Mode)).
    pub fn new(gpu: &GpuContext) -> Self {
        Self {
            gpu: gpu.clone(),
            bufs: None,
            hv: Vec::new(),
        }
    }

    /// A sampler on the process-wide device.
    ///
    /// # Errors
    /// [`FlowError::Numerical`] when there is no adapter or no device (the message says which).
    pub fn shared() -> Result<Self> {
        GpuContext::shared().map(Self::new).map_err(gpu_error)
    }

    /// The device context.
    pub fn context(&self) -> &GpuContext {
        &self.gpu
    }

    /// Geodesic Euler: $x \leftarrow \exp_x(h\,v_{t_j}(x))$ with $h = (t_1 - t_0)/k$ and
    /// $t_j = t_0 + j\,h$ for $j = 0, \dots, k-1$ (`k = steps`), over the rows of `xs`
    /// (`[n, D]`), which are overwritten with the result. The field runs on the CPU, the
    /// exponential map on the GPU.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] when `xs` is not `[n, D]` for the manifold's `D`, the
    /// field's dimension differs, a row of `xs` is not a point of `m`, `steps` is 0 or a time
    /// is not finite; [`FlowError::Numerical`] when the field returns a non-finite value, the
    /// exponential map gives a non-finite point or the device fails. On an error `xs` holds
    /// the last completed step.
    pub fn integrate_euler<M, F>(
        &mut self,
        m: &M,
        field: &mut F,
        xs: &mut [f32],
        t0: f32,
        t1: f32,
        steps: usize,
    ) -> Result<GpuSampleTimings>
    where
        M: Manifold<Scalar = f32> + GpuManifold,
        F: VectorField<f32> + ?Sized,
    {
        let d = m.ambient_dim();
        if field.ambient_dim() != d {
            return Err(invalid(format!(
                "integrate_euler: the field has ambient dimension {}, the manifold {d}",
                field.ambient_dim()
            )));
        }
        if steps == 0 {
            return Err(invalid("integrate_euler: steps must be at least 1".into()));
        }
        if !t0.is_finite() || !t1.is_finite() {
            return Err(invalid(format!(
                "integrate_euler: times must be finite, got t0 = {t0}, t1 = {t1}"
            )));
        }
        let h = (t1 - t0) / steps as f32;
        self.run_steps(
            m,
            xs,
            steps,
            "integrate_euler",
            |j| {
                let t = t0 + j as f32 * h;
                (t, t, h)
            },
            |t, _, x, v| field.eval_into(t, x, v),
        )
    }

    /// The $k$-step flow-map sampler on the time grid `grid` ($s_0, \dots, s_k$, $k \ge 1$):
    /// $x \leftarrow \exp_x\big((s_{j+1} - s_j)\,v_\theta(x, s_j, s_{j+1})\big)$ with the
    /// velocity from [`FlowNet::velocity_into`] on the CPU (at $(s_j, s_j)$ for a one-time
    /// net, as in [`FlowMap::map_into`](crate::FlowMap::map_into)) and the exponential map on
    /// the GPU; `xs` (`[n, D]`) is overwritten with the samples.
    ///
    /// # Errors
    /// [`FlowError::InvalidArgument`] when `xs` is not `[n, D]`, the net's dimension differs
    /// from `m`'s, a row of `xs` is not a point of `m`, or `grid` has fewer than 2 times or a
    /// non-finite one; [`FlowError::Numerical`] when the net returns a non-finite value, the
    /// exponential map gives a non-finite point or the device fails. On an error `xs` holds
    /// the last completed step.
    pub fn flow_map_sample<M>(
        &mut self,
        m: &M,
        net: &mut FlowNet<f32, M>,
        xs: &mut [f32],
        grid: &[f32],
    ) -> Result<GpuSampleTimings>
    where
        M: Manifold<Scalar = f32> + Differentiable + GpuManifold,
    {
        let d = m.ambient_dim();
        if net.ambient_dim() != d {
            return Err(invalid(format!(
                "flow_map_sample: the net has ambient dimension {}, the manifold {d}",
                net.ambient_dim()
            )));
        }
        if grid.len() < 2 {
            return Err(invalid(format!(
                "flow_map_sample: the time grid needs at least 2 times, got {}",
                grid.len()
            )));
        }
        if let Some(j) = grid.iter().position(|t| !t.is_finite()) {
            return Err(invalid(format!(
                "flow_map_sample: grid[{j}] = {} is not finite",
                grid[j]
            )));
        }
        let two_times = net.config.times == 2;
        self.run_steps(
            m,
            xs,
            grid.len() - 1,
            "flow_map_sample",
            |j| (grid[j], grid[j + 1], grid[j + 1] - grid[j]),
            |s, t, x, v| net.velocity_into(s, if two_times { t } else { s }, x, v),
        )
    }

    /// The shared loop: `times(j) = (s, t, h)` for step `j`, `velocity(s, t, xs, out)` on the
    /// CPU, then $x \leftarrow \exp_x(h v)$ on the GPU.
    fn run_steps<M>(
        &mut self,
        m: &M,
        xs: &mut [f32],
        steps: usize,
        method: &str,
        times: impl Fn(usize) -> (f32, f32, f32),
        mut velocity: impl FnMut(f32, f32, &[f32], &mut [f32]),
    ) -> Result<GpuSampleTimings>
    where
        M: Manifold<Scalar = f32> + GpuManifold,
    {
        let d = m.ambient_dim();
        if d == 0 || xs.len() % d != 0 {
            return Err(invalid(format!(
                "{method}: xs has {} scalars, not a whole number of rows of {d}",
                xs.len()
            )));
        }
        if let Err((i, e)) = m.check_point_batch(xs) {
            return Err(invalid(format!(
                "{method}: row {i} of xs is not a point: {e}"
            )));
        }
        let n = xs.len() / d;
        let mut timings = GpuSampleTimings::default();
        if n == 0 {
            return Ok(timings);
        }
        let [mut x, mut y, v] = match self.bufs.take() {
            Some(b) if b[0].rows() == n && b[0].width() == d => b,
            _ => {
                let alloc = || self.gpu.alloc(n, d).map_err(gpu_error);
                [alloc()?, alloc()?, alloc()?]
            }
        };
        self.hv.clear();
        self.hv.resize(xs.len(), 0.0);
        let queue = self.gpu.queue();
        let started = Instant::now();
        queue.write_buffer(x.buffer(), 0, bytemuck::cast_slice(xs));
        timings.upload += started.elapsed();
        let mut result = Ok(());
        for j in 0..steps {
            let (s, t, h) = times(j);
            let started = Instant::now();
            velocity(s, t, xs, &mut self.hv);
            let mut bad = None;
            for (k, v) in self.hv.iter_mut().enumerate() {
                *v *= h;
                if !v.is_finite() && bad.is_none() {
                    bad = Some(k);
                }
            }
            timings.field += started.elapsed();
            if let Some(k) = bad {
                result = Err(FlowError::Numerical(format!(
                    "{method}: step {j} (s = {s}, t = {t}): non-finite velocity in row {}",
                    k / d
                )));
                break;
            }
            let started = Instant::now();
            queue.write_buffer(v.buffer(), 0, bytemuck::cast_slice(&self.hv));
            timings.upload += started.elapsed();
            // Download into the velocity scratch (already uploaded), so that `xs` only ever
            // holds finite, completed steps.
            let step = self
                .gpu
                .run(m, Op::Exp, &[&x, &v], &y)
                .and_then(|r| Ok((r, self.gpu.download_into(&y, &mut self.hv)?)));
            match step {
                Ok((r, down)) => {
                    if let Some(k) = self.hv.iter().position(|x| !x.is_finite()) {
                        result = Err(FlowError::Numerical(format!(
                            "{method}: step {j} (s = {s}, t = {t}): the exponential map gave a \
                             non-finite point in row {}",
                            k / d
                        )));
                        break;
                    }
                    xs.copy_from_slice(&self.hv);
                    timings.upload += r.upload;
                    timings.kernel += r.kernel;
                    timings.kernel_device = match (timings.kernel_device, r.kernel_device) {
                        (Some(a), Some(b)) => Some(a + b),
                        (None, b) if j == 0 => b,
                        _ => None,
                    };
                    timings.download += down;
                    timings.steps += 1;
                }
                Err(e) => {
                    result = Err(gpu_error(e));
                    break;
                }
            }
            std::mem::swap(&mut x, &mut y);
        }
        self.bufs = Some([x, y, v]);
        result.map(|()| timings)
    }
}
