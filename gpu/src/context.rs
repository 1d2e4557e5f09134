//! The device ([`GpuContext`]), device-resident batches ([`GpuBatch`]), dispatch with
//! chunking and the 2-D grid, and timings.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::shaders::{self, Mode};
use crate::{Arg, Family, GpuError, GpuManifold, Op};

/// Time spent in host↔device copies and in kernels, measured on the host around
/// `submit` + a blocking `poll` (so each part includes its own submission latency).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// Host → device copies.
    pub upload: Duration,
    /// Kernels.
    pub kernel: Duration,
    /// Device → host copies.
    pub download: Duration,
    /// Compute dispatches recorded (more than one when the batch was chunked).
    pub dispatches: u32,
    /// The kernels' time measured on the device with timestamp queries (from the start to
    /// the end of the compute pass), where the adapter supports them; `kernel` is the host
    /// time around submit and wait.
    pub kernel_device: Option<Duration>,
}

impl Timings {
    /// Upload + kernel + download.
    pub fn total(&self) -> Duration {
        self.upload + self.kernel + self.download
    }

    fn add(&mut self, o: Timings) {
        self.upload += o.upload;
        self.kernel += o.kernel;
        self.download += o.download;
        self.dispatches += o.dispatches;
        self.kernel_device = match (self.kernel_device, o.kernel_device) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }
}

/// The limits that decide chunking and the dispatch grid. [`GpuContext::new`] takes them from
/// the device; [`GpuContext::with_chunk_limits`] overrides them (to test the chunking path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Largest storage binding in bytes (`max_storage_buffer_binding_size`).
    pub max_binding_bytes: u64,
    /// Largest device buffer in bytes (`max_buffer_size`); the host convenience calls upload
    /// in pieces of at most this size.
    pub max_buffer_bytes: u64,
    /// Workgroups per dispatch dimension (`max_compute_workgroups_per_dimension`, 65 535).
    pub max_workgroups_per_dim: u32,
}

struct Shared {
    device: wgpu::Device,
    queue: wgpu::Queue,
    name: String,
    backend: wgpu::Backend,
    limits: wgpu::Limits,
    subgroup: Option<u32>,
    timestamps: bool,
    layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    modules: Mutex<HashMap<(Family, Mode), wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<(Family, Op, Mode, u32), wgpu::ComputePipeline>>,
    copy: OnceLock<wgpu::ComputePipeline>,
}

/// One wgpu device and queue, with the compiled kernels cached per (manifold, op, mode,
/// dimension).
///
/// [`GpuContext::shared`] gives the process-wide one (created lazily, once); cloning is cheap
/// and shares the device and caches.
#[derive(Clone)]
pub struct GpuContext {
    shared: Arc<Shared>,
    chunk: ChunkLimits,
    mode: Option<Mode>,
}

impl core::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.shared.name)
            .field("backend", &self.shared.backend)
            .field("chunk", &self.chunk)
            .field("mode", &self.mode)
            .finish()
    }
}

/// A binding of `size` bytes of `buffer` from `offset`.
fn entry(binding: u32, buffer: &wgpu::Buffer, offset: u64, size: u64) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset,
            size: NonZeroU64::new(size),
        }),
    }
}

static SHARED: OnceLock<Result<GpuContext, GpuError>> = OnceLock::new();

fn wait(device: &wgpu::Device) -> Result<(), GpuError> {
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map(|_| ())
        .map_err(|e| GpuError::Device(e.to_string()))
}

impl GpuContext {
    /// Opens the first adapter wgpu finds (honouring `WGPU_BACKEND`, `WGPU_POWER_PREF`, …),
    /// with the adapter's own limits (not wgpu's defaults, which cap a binding at 128 MiB).
    ///
    /// # Errors
    /// [`GpuError::NoAdapter`] when there is no adapter, [`GpuError::Device`] when the device
    /// cannot be created.
    pub fn new() -> Result<Self, GpuError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter =
            pollster::block_on(
                instance.request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::from_env()
                        .unwrap_or(wgpu::PowerPreference::HighPerformance),
                    force_fallback_adapter: false,
                    compatible_surface: None,
                    apply_limit_buckets: false,
                }),
            )
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        // Subgroup kernels need one fixed subgroup size that divides the workgroup (64).
        // GEOFLOW_GPU_NO_SUBGROUPS=1 turns them off (to compare with the workgroup kernels).
        let (lo, hi) = (info.subgroup_min_size, info.subgroup_max_size);
        let subgroup = (adapter.features().contains(wgpu::Features::SUBGROUP)
            && lo == hi
            && lo.is_power_of_two()
            && (4..=64).contains(&lo)
            && std::env::var_os("GEOFLOW_GPU_NO_SUBGROUPS").is_none())
        .then_some(lo);
        let mut features = wgpu::Features::empty();
        if subgroup.is_some() {
            features |= wgpu::Features::SUBGROUP;
        }
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        if timestamps {
            features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("geoflow-gpu"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::Device(e.to_string()))?;
        let entry = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("geoflow-gpu rows"),
            entries: &[
                entry(0, true),
                entry(1, true),
                entry(2, true),
                entry(3, false),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("geoflow-gpu"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let chunk = ChunkLimits {
            max_binding_bytes: limits.max_storage_buffer_binding_size,
            max_buffer_bytes: limits.max_buffer_size,
            max_workgroups_per_dim: limits.max_compute_workgroups_per_dimension,
        };
        Ok(Self {
            shared: Arc::new(Shared {
                device,
                queue,
                name: info.name,
                backend: info.backend,
                limits,
                subgroup,
                timestamps,
                layout,
                pipeline_layout,
                modules: Mutex::new(HashMap::new()),
                pipelines: Mutex::new(HashMap::new()),
                copy: OnceLock::new(),
            }),
            chunk,
            mode: None,
        })
    }

    /// The process-wide context, created on first use.
    ///
    /// # Errors
    /// The error of [`GpuContext::new`] (remembered: later calls return it again).
    pub fn shared() -> Result<&'static GpuContext, GpuError> {
        SHARED
            .get_or_init(GpuContext::new)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The adapter's name (e.g. `"NVIDIA H200"`, `"llvmpipe (LLVM 15.0.6, 256 bits)"`).
    pub fn adapter_name(&self) -> &str {
        &self.shared.name
    }

    /// The backend (`"vulkan"`, `"metal"`, `"dx12"`, …).
    pub fn backend(&self) -> String {
        self.shared.backend.to_string()
    }

    /// The device's limits (as requested: the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.shared.limits
    }

    /// The limits used for chunking and the dispatch grid.
    pub fn chunk_limits(&self) -> ChunkLimits {
        self.chunk
    }

    /// The same device with other chunking limits (each clamped to the device's own), e.g. a
    /// 4 KiB binding and 4 workgroups per dimension to exercise chunking and the 2-D grid on
    /// small batches.
    pub fn with_chunk_limits(&self, limits: ChunkLimits) -> Self {
        let own = self.shared.limits.clone();
        Self {
            shared: self.shared.clone(),
            chunk: ChunkLimits {
                max_binding_bytes: limits
                    .max_binding_bytes
                    .min(own.max_storage_buffer_binding_size),
                max_buffer_bytes: limits.max_buffer_bytes.min(own.max_buffer_size),
                max_workgroups_per_dim: limits
                    .max_workgroups_per_dim
                    .clamp(1, own.max_compute_workgroups_per_dimension),
            },
            mode: self.mode,
        }
    }

    /// The same device with the kernel mode forced (`None`: automatic, [`Mode::auto`]).
    pub fn with_mode(&self, mode: Option<Mode>) -> Self {
        Self {
            mode,
            ..self.clone()
        }
    }

    /// The wgpu device (for users who bind geoflow's buffers into their own passes).
    pub fn device(&self) -> &wgpu::Device {
        &self.shared.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.shared.queue
    }

    /// The fixed subgroup size the subgroup kernels use (`None`: they are not available).
    pub fn subgroup_size(&self) -> Option<u32> {
        self.shared.subgroup
    }

    /// The kernel mapping used for rows of `d` scalars: the forced one (see
    /// [`with_mode`](Self::with_mode); a forced [`Mode::Subgroup`] falls back to
    /// [`Mode::Coop`] without subgroups), else [`Mode::auto`].
    pub fn mode_for(&self, d: usize) -> Mode {
        let sg = self.shared.subgroup;
        match self.mode {
            Some(Mode::Subgroup) if sg.is_none() => Mode::Coop,
            Some(m) => m,
            None => Mode::auto(d, sg),
        }
    }

    fn rows_per_workgroup(&self, mode: Mode) -> usize {
        mode.rows_per_workgroup(self.shared.subgroup.unwrap_or(1)) as usize
    }

    fn pipeline(&self, family: Family, op: Op, mode: Mode, d: u32) -> wgpu::ComputePipeline {
        let key = (family, op, mode, d);
        if let Some(p) = self.shared.pipelines.lock().unwrap().get(&key) {
            return p.clone();
        }
        let module = {
            let mut modules = self.shared.modules.lock().unwrap();
            modules
                .entry((family, mode))
                .or_insert_with(|| {
                    self.shared
                        .device
                        .create_shader_module(wgpu::ShaderModuleDescriptor {
                            label: Some(family.name()),
                            source: wgpu::ShaderSource::Wgsl(
                                shaders::module_source(family, mode).into(),
                            ),
                        })
                })
                .clone()
        };
        let entry = format!("{}_main", op.name());
        let sg = f64::from(self.shared.subgroup.unwrap_or(32));
        let consts = [("D", f64::from(d)), ("STRIDE", sg)];
        let pipeline =
            self.shared
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&entry),
                    layout: Some(&self.shared.pipeline_layout),
                    module: &module,
                    entry_point: Some(&entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: if mode == Mode::Subgroup {
                            &consts[..]
                        } else {
                            &consts[..1]
                        },
                        zero_initialize_workgroup_memory: false,
                    },
                    cache: None,
                });
        self.shared
            .pipelines
            .lock()
            .unwrap()
            .insert(key, pipeline.clone());
        pipeline
    }

    /// Runs `f` inside validation and out-of-memory error scopes, so that a wgpu error becomes
    /// [`GpuError::Device`] instead of the default handler's panic.
    fn scoped<R>(&self, f: impl FnOnce() -> Result<R, GpuError>) -> Result<R, GpuError> {
        let device = &self.shared.device;
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let r = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        match v.or(o) {
            Some(e) => Err(GpuError::Device(e.to_string())),
            None => r,
        }
    }

    fn copy_pipeline(&self) -> &wgpu::ComputePipeline {
        self.shared.copy.get_or_init(|| {
            let module = self
                .shared
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some("copy"),
                    source: wgpu::ShaderSource::Wgsl(shaders::COPY.into()),
                });
            self.shared
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some("copy"),
                    layout: Some(&self.shared.pipeline_layout),
                    module: &module,
                    entry_point: Some("copy_main"),
                    compilation_options: Default::default(),
                    cache: None,
                })
        })
    }

    /// A device buffer of `rows * width` scalars (uninitialised content is zero).
    fn buffer(&self, scalars: usize) -> Result<wgpu::Buffer, GpuError> {
        let bytes = (scalars.max(1) * 4) as u64;
        if bytes > self.chunk.max_buffer_bytes {
            return Err(GpuError::TooLarge {
                bytes,
                max: self.chunk.max_buffer_bytes,
            });
        }
        self.scoped(|| {
            Ok(self.shared.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("geoflow-gpu batch"),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }))
        })
    }

    /// Uploads `data` (row-major, `width` scalars per row) into a new device batch.
    ///
    /// # Errors
    /// [`GpuError::Length`] if `data.len()` is not a multiple of `width` (or `width` is 0);
    /// [`GpuError::TooLarge`] past `max_buffer_size`.
    pub fn upload(&self, data: &[f32], width: usize) -> Result<GpuBatch, GpuError> {
        if width == 0 || !data.len().is_multiple_of(width) {
            return Err(GpuError::Length {
                what: format!("upload: rows of {width} scalars"),
                expected: width * (data.len() / width.max(1) + 1),
                got: data.len(),
            });
        }
        let buffer = self.buffer(data.len())?;
        self.shared
            .queue
            .write_buffer(&buffer, 0, bytemuck::cast_slice(data));
        Ok(GpuBatch {
            buffer,
            rows: data.len() / width,
            width,
        })
    }

    /// A zeroed device batch of `rows` rows of `width` scalars (an output).
    ///
    /// # Errors
    /// [`GpuError::TooLarge`] past `max_buffer_size`.
    pub fn alloc(&self, rows: usize, width: usize) -> Result<GpuBatch, GpuError> {
        Ok(GpuBatch {
            buffer: self.buffer(rows * width)?,
            rows,
            width,
        })
    }

    /// Waits for pending uploads; returns the time that took.
    ///
    /// # Errors
    /// A device error while waiting.
    pub fn flush(&self) -> Result<Duration, GpuError> {
        let t0 = Instant::now();
        self.shared.queue.submit([]);
        wait(&self.shared.device)?;
        Ok(t0.elapsed())
    }

    /// Downloads a device batch into `out` (`batch.len()` scalars); returns the time taken.
    ///
    /// # Errors
    /// [`GpuError::Length`] on a length mismatch, [`GpuError::Map`] if mapping fails.
    pub fn download_into(&self, batch: &GpuBatch, out: &mut [f32]) -> Result<Duration, GpuError> {
        if out.len() != batch.len() {
            return Err(GpuError::Length {
                what: "download_into: out".into(),
                expected: batch.len(),
                got: out.len(),
            });
        }
        self.download_raw(&batch.buffer, out)
    }

    /// Downloads a device batch into a new vector.
    ///
    /// # Errors
    /// As [`download_into`](Self::download_into).
    pub fn download(&self, batch: &GpuBatch) -> Result<Vec<f32>, GpuError> {
        let mut v = vec![0.0; batch.len()];
        self.download_into(batch, &mut v)?;
        Ok(v)
    }

    fn download_raw(&self, buffer: &wgpu::Buffer, out: &mut [f32]) -> Result<Duration, GpuError> {
        let t0 = Instant::now();
        if out.is_empty() {
            return Ok(Duration::ZERO);
        }
        let bytes = (out.len() * 4) as u64;
        let device = &self.shared.device;
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("geoflow-gpu staging"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        self.shared.queue.submit([enc.finish()]);
        let (tx, rx) = mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        wait(device)?;
        rx.recv()
            .map_err(|e| GpuError::Map(e.to_string()))?
            .map_err(|e| GpuError::Map(e.to_string()))?;
        {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| GpuError::Map(e.to_string()))?;
            out.copy_from_slice(bytemuck::cast_slice(&view));
        }
        staging.unmap();
        Ok(t0.elapsed())
    }

    /// Rows per binding chunk for rows of `d` scalars: a multiple of 64 (so that every chunk
    /// offset is a multiple of 256 bytes, the largest storage offset alignment) that fits the
    /// binding limit and the 2-D grid.
    fn chunk_rows(&self, d: usize, mode: Mode) -> Result<usize, GpuError> {
        let row_bytes = (d * 4) as u64;
        let by_binding = (self.chunk.max_binding_bytes / row_bytes) as usize / 64 * 64;
        if by_binding == 0 {
            return Err(GpuError::TooLarge {
                bytes: 64 * row_bytes,
                max: self.chunk.max_binding_bytes,
            });
        }
        let w = self.chunk.max_workgroups_per_dim as usize;
        let by_grid = (w * w * self.rows_per_workgroup(mode) / 64 * 64).max(64);
        Ok(by_binding.min(by_grid))
    }

    /// Records `op` over `rows` rows of the given buffers (inputs of `widths`), chunked and on
    /// the 2-D grid, `reps` times; returns the number of dispatches.
    fn record<'b>(
        &self,
        enc: &mut wgpu::CommandEncoder,
        m: &dyn GpuManifold,
        op: Op,
        inputs: &[&'b wgpu::Buffer],
        out: &'b wgpu::Buffer,
        rows: usize,
        reps: u32,
        timestamps: Option<&wgpu::QuerySet>,
    ) -> Result<u32, GpuError> {
        let d = m.gpu_ambient_dim();
        let mode = self.mode_for(d);
        let pipeline = self.pipeline(m.family(), op, mode, d as u32);
        let chunk = self.chunk_rows(d, mode)?;
        let out_w = if op.scalar_output() { 1 } else { d };
        let mut groups = Vec::new();
        let mut r0 = 0;
        while r0 < rows {
            let n = chunk.min(rows - r0);
            let bind = |binding: u32, buffer: &'b wgpu::Buffer, w: usize| {
                entry(binding, buffer, (r0 * w * 4) as u64, (n * w * 4) as u64)
            };
            let args = op.args();
            let width = |k: usize| match args.get(k) {
                Some(Arg::Scalar) => 1,
                _ => d,
            };
            // Unused inputs are bound to the first one.
            let pick = |k: usize| if k < inputs.len() { k } else { 0 };
            let entries = [
                bind(0, inputs[pick(0)], width(pick(0))),
                bind(1, inputs[pick(1)], width(pick(1))),
                bind(2, inputs[pick(2)], width(pick(2))),
                bind(3, out, out_w),
            ];
            let bg = self
                .shared
                .device
                .create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &self.shared.layout,
                    entries: &entries,
                });
            let wgs = n.div_ceil(self.rows_per_workgroup(mode)) as u32;
            groups.push((bg, self.grid(wgs)));
            r0 += n;
        }
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(op.name()),
            timestamp_writes: timestamps.map(|query_set| wgpu::ComputePassTimestampWrites {
                query_set,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            }),
        });
        pass.set_pipeline(&pipeline);
        for _ in 0..reps {
            for (bg, (x, y)) in &groups {
                pass.set_bind_group(0, bg, &[]);
                pass.dispatch_workgroups(*x, *y, 1);
            }
        }
        Ok(groups.len() as u32 * reps)
    }

    /// A 1-D grid of `wgs` workgroups laid out as `x × y` with `x ≤ max_workgroups_per_dim`.
    fn grid(&self, wgs: u32) -> (u32, u32) {
        let max = self.chunk.max_workgroups_per_dim;
        if wgs <= max {
            (wgs, 1)
        } else {
            // As square as needed and no more: x y - wgs < y idle workgroups.
            let y = wgs.div_ceil(max);
            (wgs.div_ceil(y), y)
        }
    }

    /// Runs `op` of manifold `m` on device batches: `inputs` in the order of the CPU batch
    /// method (`ps, vs` for exp, `ps, qs, ts` for geodesics, …), output into `out`. Batches
    /// larger than one binding are processed in chunks.
    ///
    /// # Errors
    /// [`GpuError::Length`] if the batches do not match in rows or widths.
    pub fn run<M: GpuManifold>(
        &self,
        m: &M,
        op: Op,
        inputs: &[&GpuBatch],
        out: &GpuBatch,
    ) -> Result<Timings, GpuError> {
        self.run_repeated(m, op, inputs, out, 1)
    }

    /// [`run`](Self::run) `reps` times in one submission (for timing kernels).
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn run_repeated<M: GpuManifold>(
        &self,
        m: &M,
        op: Op,
        inputs: &[&GpuBatch],
        out: &GpuBatch,
        reps: u32,
    ) -> Result<Timings, GpuError> {
        let d = m.gpu_ambient_dim();
        let args = op.args();
        let what = |k: &str| format!("{}_batch: {k}", op.name());
        if inputs.len() != args.len() {
            return Err(GpuError::Length {
                what: what("number of inputs"),
                expected: args.len(),
                got: inputs.len(),
            });
        }
        let rows = inputs[0].rows;
        for (k, (b, a)) in inputs.iter().zip(args).enumerate() {
            let w = if *a == Arg::Scalar { 1 } else { d };
            if b.width != w || b.rows != rows {
                return Err(GpuError::Length {
                    what: what(&format!("input {k}")),
                    expected: rows * w,
                    got: b.len(),
                });
            }
        }
        let out_w = if op.scalar_output() { 1 } else { d };
        if out.width != out_w || out.rows != rows {
            return Err(GpuError::Length {
                what: what("out"),
                expected: rows * out_w,
                got: out.len(),
            });
        }
        if inputs
            .iter()
            .any(|b| std::ptr::eq(*b, out) || b.buffer == out.buffer)
        {
            return Err(GpuError::Aliased(format!(
                "{}: the output batch is also an input",
                op.name()
            )));
        }
        let bufs: Vec<&wgpu::Buffer> = inputs.iter().map(|b| &b.buffer).collect();
        self.dispatch(m, op, &bufs, &out.buffer, rows, reps)
    }

    fn dispatch(
        &self,
        m: &dyn GpuManifold,
        op: Op,
        inputs: &[&wgpu::Buffer],
        out: &wgpu::Buffer,
        rows: usize,
        reps: u32,
    ) -> Result<Timings, GpuError> {
        if rows == 0 {
            return Ok(Timings::default());
        }
        self.scoped(|| self.dispatch_unscoped(m, op, inputs, out, rows, reps))
    }

    fn dispatch_unscoped(
        &self,
        m: &dyn GpuManifold,
        op: Op,
        inputs: &[&wgpu::Buffer],
        out: &wgpu::Buffer,
        rows: usize,
        reps: u32,
    ) -> Result<Timings, GpuError> {
        let device = &self.shared.device;
        let mut enc = device.create_command_encoder(&Default::default());
        let ts = self.shared.timestamps.then(|| self.query_set());
        let dispatches = self.record(
            &mut enc,
            m,
            op,
            inputs,
            out,
            rows,
            reps,
            ts.as_ref().map(|t| &t.0),
        )?;
        if let Some((set, resolve)) = &ts {
            enc.resolve_query_set(set, 0..2, resolve, 0);
        }
        let cmd = enc.finish();
        // Settle pending uploads first so that they are not counted as kernel time.
        let upload = self.flush()?;
        let t0 = Instant::now();
        self.shared.queue.submit([cmd]);
        wait(device)?;
        let kernel = t0.elapsed();
        let kernel_device = match &ts {
            Some((_, resolve)) => Some(self.read_timestamps(resolve)?),
            None => None,
        };
        Ok(Timings {
            upload,
            kernel,
            download: Duration::ZERO,
            dispatches,
            kernel_device,
        })
    }

    /// Copies `src` into `dst` (same length) with a plain vec4 copy kernel `reps` times in one
    /// submission and returns the kernel time (on the device with timestamp queries where
    /// supported, else on the host around submit and wait): the device's own copy bandwidth,
    /// the reference of the benchmarks. Lengths must be multiples of 4 scalars.
    ///
    /// # Errors
    /// [`GpuError::Length`] on mismatched or unaligned lengths.
    pub fn copy_kernel<'b>(
        &self,
        src: &'b GpuBatch,
        dst: &'b GpuBatch,
        reps: u32,
    ) -> Result<Duration, GpuError> {
        if src.len() != dst.len() || !src.len().is_multiple_of(4) || src.is_empty() {
            return Err(GpuError::Length {
                what: "copy_kernel: dst".into(),
                expected: src.len(),
                got: dst.len(),
            });
        }
        let bytes = (src.len() * 4) as u64;
        if bytes > self.chunk.max_binding_bytes {
            return Err(GpuError::TooLarge {
                bytes,
                max: self.chunk.max_binding_bytes,
            });
        }
        let device = &self.shared.device;
        let bind = |binding: u32, buffer: &'b wgpu::Buffer| entry(binding, buffer, 0, bytes);
        let bg = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &self.shared.layout,
            entries: &[
                bind(0, &src.buffer),
                bind(1, &src.buffer),
                bind(2, &src.buffer),
                bind(3, &dst.buffer),
            ],
        });
        let (x, y) = self.grid((src.len() / 4).div_ceil(256) as u32);
        let mut enc = device.create_command_encoder(&Default::default());
        let ts = self.shared.timestamps.then(|| self.query_set());
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("copy"),
                timestamp_writes: ts.as_ref().map(|t| wgpu::ComputePassTimestampWrites {
                    query_set: &t.0,
                    beginning_of_pass_write_index: Some(0),
                    end_of_pass_write_index: Some(1),
                }),
            });
            pass.set_pipeline(self.copy_pipeline());
            pass.set_bind_group(0, &bg, &[]);
            for _ in 0..reps {
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        if let Some((set, resolve)) = &ts {
            enc.resolve_query_set(set, 0..2, resolve, 0);
        }
        let cmd = enc.finish();
        self.flush()?;
        let t0 = Instant::now();
        self.shared.queue.submit([cmd]);
        wait(device)?;
        let host = t0.elapsed();
        match &ts {
            Some((_, resolve)) => self.read_timestamps(resolve),
            None => Ok(host),
        }
    }

    fn query_set(&self) -> (wgpu::QuerySet, wgpu::Buffer) {
        let device = &self.shared.device;
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("geoflow-gpu timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        (set, resolve)
    }

    fn read_timestamps(&self, resolve: &wgpu::Buffer) -> Result<Duration, GpuError> {
        let mut raw = [0.0f32; 4];
        self.download_raw(resolve, &mut raw)?;
        let b: &[u8] = bytemuck::cast_slice(&raw);
        let word = |k: usize| u64::from_le_bytes(b[8 * k..8 * k + 8].try_into().unwrap());
        let period = f64::from(self.shared.queue.get_timestamp_period());
        let ns = word(1).saturating_sub(word(0)) as f64 * period;
        Ok(Duration::from_nanos(ns as u64))
    }

    /// `copy_buffer_to_buffer` of `src` into `dst`, `reps` times in one submission (the
    /// driver's copy engine path); returns the time.
    ///
    /// # Errors
    /// [`GpuError::Length`] on mismatched lengths.
    pub fn copy_buffer(
        &self,
        src: &GpuBatch,
        dst: &GpuBatch,
        reps: u32,
    ) -> Result<Duration, GpuError> {
        if src.len() != dst.len() {
            return Err(GpuError::Length {
                what: "copy_buffer: dst".into(),
                expected: src.len(),
                got: dst.len(),
            });
        }
        let device = &self.shared.device;
        let mut enc = device.create_command_encoder(&Default::default());
        for _ in 0..reps {
            enc.copy_buffer_to_buffer(&src.buffer, 0, &dst.buffer, 0, (src.len() * 4) as u64);
        }
        let cmd = enc.finish();
        self.flush()?;
        let t0 = Instant::now();
        self.shared.queue.submit([cmd]);
        wait(device)?;
        Ok(t0.elapsed())
    }

    /// The host-slice path behind the `*_batch_into` calls: checks the lengths like the CPU
    /// batch methods (but returns errors), then uploads, runs and downloads in pieces that fit
    /// one device buffer.
    pub(crate) fn host_batch(
        &self,
        m: &dyn GpuManifold,
        op: Op,
        method: &str,
        names: &[&str],
        inputs: &[&[f32]],
        out: &mut [f32],
    ) -> Result<Timings, GpuError> {
        let d = m.gpu_ambient_dim();
        let args = op.args();
        debug_assert_eq!(inputs.len(), args.len());
        if d == 0 || !inputs[0].len().is_multiple_of(d) {
            return Err(GpuError::Length {
                what: format!("{method}: {} (rows of {d} scalars)", names[0]),
                expected: d * (inputs[0].len() / d.max(1) + 1),
                got: inputs[0].len(),
            });
        }
        let rows = inputs[0].len() / d;
        let width = |a: &Arg| if *a == Arg::Scalar { 1 } else { d };
        for k in 1..inputs.len() {
            let expected = rows * width(&args[k]);
            if inputs[k].len() != expected {
                return Err(GpuError::Length {
                    what: format!("{method}: {}", names[k]),
                    expected,
                    got: inputs[k].len(),
                });
            }
        }
        let out_w = if op.scalar_output() { 1 } else { d };
        if out.len() != rows * out_w {
            return Err(GpuError::Length {
                what: format!("{method}: {}", names[inputs.len()]),
                expected: rows * out_w,
                got: out.len(),
            });
        }
        let mut timings = Timings::default();
        if rows == 0 {
            return Ok(timings);
        }
        // Rows per piece: buffers of at most max_buffer_size, a multiple of 64 rows.
        let piece = ((self.chunk.max_buffer_bytes / (d as u64 * 4)) as usize / 64 * 64)
            .max(64)
            .min(rows);
        let bufs: Vec<wgpu::Buffer> = args
            .iter()
            .map(|a| self.buffer(piece * width(a)))
            .collect::<Result<_, _>>()?;
        let out_buf = self.buffer(piece * out_w)?;
        let mut r0 = 0;
        while r0 < rows {
            let n = piece.min(rows - r0);
            let t0 = Instant::now();
            for ((buf, a), src) in bufs.iter().zip(args).zip(inputs) {
                let w = width(a);
                self.shared.queue.write_buffer(
                    buf,
                    0,
                    bytemuck::cast_slice(&src[r0 * w..(r0 + n) * w]),
                );
            }
            let write = t0.elapsed();
            let refs: Vec<&wgpu::Buffer> = bufs.iter().collect();
            // The kernel binds exactly n rows, so reusing the larger buffers is fine.
            let mut t = self.dispatch(m, op, &refs, &out_buf, n, 1)?;
            t.upload += write;
            t.download = self.download_raw(&out_buf, &mut out[r0 * out_w..(r0 + n) * out_w])?;
            timings.add(t);
            r0 += n;
        }
        Ok(timings)
    }
}

/// A device-resident batch: `rows` rows of `width` scalars (`f32`) in one storage buffer.
/// Upload once with [`GpuContext::upload`], run many ops with [`GpuContext::run`] (outputs from
/// [`GpuContext::alloc`] can feed the next op), download once with
/// [`GpuContext::download_into`].
#[derive(Debug)]
pub struct GpuBatch {
    buffer: wgpu::Buffer,
    rows: usize,
    width: usize,
}

impl GpuBatch {
    /// Number of rows (points).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Scalars per row (the ambient dimension, or 1 for `ts` and scalar outputs).
    pub fn width(&self) -> usize {
        self.width
    }

    /// `rows * width`.
    pub fn len(&self) -> usize {
        self.rows * self.width
    }

    /// `true` for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The wgpu buffer.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }
}
