//! GPU samplers against the CPU reference loops: one step from identical inputs agrees to the
//! published f32 error budget of `exp` (`gpu/ERROR_BUDGET.md`), and k accumulated steps to
//! the propagated bound of the module docs; bad input is an error, never a panic.
//!
//! Without an adapter every test prints `SKIPPED: no GPU adapter` and passes, unless
//! `GEOFLOW_REQUIRE_GPU=1` (then a missing adapter fails). Run on Mesa lavapipe with
//! `WGPU_BACKEND=vulkan GEOFLOW_REQUIRE_GPU=1 cargo test -p geoflow-flows --features gpu --test gpu_sample`.
#![cfg(feature = "gpu")]

use std::time::Instant;

use geoflow_flows::gpu_sample::GpuSampler;
use geoflow_flows::model::{FlowNet, NetConfig};
use geoflow_flows::{FlowError, FlowMap, VectorField};
use geoflow_gpu::GpuContext;
use geoflow_manifolds::{Differentiable, FlatTorus, Manifold, PoincareBall, Sphere};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The shared context, or `None` after printing `SKIPPED: no GPU adapter`; with
/// `GEOFLOW_REQUIRE_GPU=1` a missing adapter fails the test.
fn gpu() -> Option<&'static GpuContext> {
    match GpuContext::shared() {
        Ok(g) => Some(g),
        Err(e) => {
            let required = std::env::var("GEOFLOW_REQUIRE_GPU")
                .map(|v| !v.is_empty() && v != "0")
                .unwrap_or(false);
            assert!(!required, "GEOFLOW_REQUIRE_GPU is set, but: {e}");
            println!("SKIPPED: no GPU adapter ({e})");
            None
        }
    }
}

/// `(GPU, CPU)` worst relative f32 error of `exp` on `manifold`, from the summary table of the
/// published budget.
fn exp_budget(manifold: &str) -> (f64, f64) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../gpu/ERROR_BUDGET.md");
    let text = std::fs::read_to_string(path).expect("gpu/ERROR_BUDGET.md");
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "| manifold | op | gpu | cpu |" splits into 6 cells (empty at both ends).
        if cells.len() == 6 && cells[1] == manifold && cells[2] == "exp" {
            return (cells[3].parse().unwrap(), cells[4].parse().unwrap());
        }
    }
    panic!("no exp row for {manifold} in {path}");
}

/// Rotation on S² about the unit axis `a` with a time-dependent speed:
/// $v_t(x) = \omega (1 + t)\, a \times x$. Lipschitz in $x$ with constant $\le 2\omega$ on
/// $t \in [0, 1]$.
struct Rotation {
    a: [f32; 3],
    omega: f32,
}

impl VectorField<f32> for Rotation {
    fn ambient_dim(&self) -> usize {
        3
    }
    fn eval_into(&mut self, t: f32, xs: &[f32], out: &mut [f32]) {
        let [a0, a1, a2] = self.a;
        let w = self.omega * (1.0 + t);
        for (x, o) in xs.chunks_exact(3).zip(out.chunks_exact_mut(3)) {
            o[0] = w * (a1 * x[2] - a2 * x[1]);
            o[1] = w * (a2 * x[0] - a0 * x[2]);
            o[2] = w * (a0 * x[1] - a1 * x[0]);
        }
    }
    fn jvp_into(&mut self, _: f32, _: &[f32], _: &[f32], _: &mut [f32], _: &mut [f32]) {
        unimplemented!("not used")
    }
}

/// A constant field on the torus (Lipschitz constant 0).
struct Constant(Vec<f32>);

impl VectorField<f32> for Constant {
    fn ambient_dim(&self) -> usize {
        self.0.len()
    }
    fn eval_into(&mut self, _t: f32, _xs: &[f32], out: &mut [f32]) {
        for o in out.chunks_exact_mut(self.0.len()) {
            o.copy_from_slice(&self.0);
        }
    }
    fn jvp_into(&mut self, _: f32, _: &[f32], _: &[f32], _: &mut [f32], _: &mut [f32]) {
        unimplemented!("not used")
    }
}

/// A field that returns NaN for row 1 (to test the non-finite check).
struct Broken;

impl VectorField<f32> for Broken {
    fn ambient_dim(&self) -> usize {
        3
    }
    fn eval_into(&mut self, _t: f32, _xs: &[f32], out: &mut [f32]) {
        out.fill(0.0);
        out[4] = f32::NAN;
    }
    fn jvp_into(&mut self, _: f32, _: &[f32], _: &[f32], _: &mut [f32], _: &mut [f32]) {
        unimplemented!("not used")
    }
}

/// `n` random points on S².
fn sphere_points(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut xs = Vec::with_capacity(3 * n);
    for _ in 0..n {
        let g: [f64; 3] = std::array::from_fn(|_| rng.sample(rand_distr::StandardNormal));
        let r = g.iter().map(|x| x * x).sum::<f64>().sqrt();
        xs.extend(g.iter().map(|x| (x / r) as f32));
    }
    xs
}

/// `n` random points of the Poincaré ball B^d with Euclidean radius at most `r_max`.
fn ball_points(n: usize, d: usize, r_max: f64, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut xs = Vec::with_capacity(d * n);
    for _ in 0..n {
        let g: Vec<f64> = (0..d)
            .map(|_| rng.sample(rand_distr::StandardNormal))
            .collect();
        let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
        let r = r_max * rng.random::<f64>();
        xs.extend(g.iter().map(|x| (x / norm * r) as f32));
    }
    xs
}

/// `n` random points of T^d (angles in [-π, π)).
fn torus_points(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * d)
        .map(|_| rng.random_range(-std::f32::consts::PI..std::f32::consts::PI))
        .collect()
}

/// A net with small random weights: the default initialisation zeroes the last layer (so the
/// field would be 0); fill every parameter with `scale` U(-1, 1) / sqrt(width) instead.
fn random_net<M: Manifold<Scalar = f32> + Differentiable>(
    m: M,
    times: usize,
    scale: f32,
    seed: u64,
) -> FlowNet<f32, M> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = FlowNet::new(m, NetConfig::small(times), &mut rng);
    let ids: Vec<_> = net.params.ids().collect();
    for id in ids {
        let (rows, cols) = net.params.shape(id);
        let scale = scale / (rows.max(cols) as f32).sqrt();
        for p in net.params.get_mut(id) {
            *p = scale * rng.random_range(-1.0f32..1.0);
        }
    }
    net
}

/// Per-row distance between two batches (f64; angles wrapped to [-π, π) on the torus) and
/// the CPU row's norm.
fn row_errors(a: &[f32], b: &[f32], d: usize, wrap: bool) -> Vec<(f64, f64)> {
    a.chunks_exact(d)
        .zip(b.chunks_exact(d))
        .map(|(g, c)| {
            let mut e2 = 0.0;
            let mut n2 = 0.0;
            for (&g, &c) in g.iter().zip(c) {
                let mut diff = f64::from(g) - f64::from(c);
                if wrap {
                    let tau = std::f64::consts::TAU;
                    diff = (diff + std::f64::consts::PI).rem_euclid(tau) - std::f64::consts::PI;
                }
                e2 += diff * diff;
                n2 += f64::from(c) * f64::from(c);
            }
            (e2.sqrt(), n2.sqrt())
        })
        .collect()
}

/// One CPU geodesic Euler step x ← exp_x(h v_t(x)) (the reference).
fn cpu_step<M: Manifold<Scalar = f32>>(
    m: &M,
    field: &mut dyn VectorField<f32>,
    t: f32,
    h: f32,
    xs: &mut [f32],
) {
    let mut v = vec![0.0f32; xs.len()];
    field.eval_into(t, xs, &mut v);
    v.iter_mut().for_each(|v| *v *= h);
    let x = xs.to_vec();
    m.exp_batch_into(&x, &v, xs);
}

/// The CPU reference of `integrate_euler`, also returning the largest point norm on the way.
fn cpu_euler<M: Manifold<Scalar = f32>>(
    m: &M,
    field: &mut dyn VectorField<f32>,
    xs: &mut [f32],
    t0: f32,
    t1: f32,
    k: usize,
) -> f64 {
    let h = (t1 - t0) / k as f32;
    let d = m.ambient_dim();
    let norm = |xs: &[f32]| {
        xs.chunks_exact(d)
            .map(|x| x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt())
            .fold(0.0, f64::max)
    };
    let mut r = norm(xs);
    for j in 0..k {
        cpu_step(m, field, t0 + j as f32 * h, h, xs);
        r = r.max(norm(xs));
    }
    r
}

/// Checks one GPU Euler step from identical inputs against the CPU step at every step of a
/// k-step run (the CPU step restarts from the GPU points each time):
/// |x_gpu - x_cpu| ≤ (ε_gpu + ε_cpu) |x_cpu| per row. Returns the worst relative error.
#[allow(clippy::too_many_arguments)]
fn check_single_steps<M: Manifold<Scalar = f32> + geoflow_gpu::GpuManifold>(
    sampler: &mut GpuSampler,
    m: &M,
    family: &str,
    field: &mut dyn VectorField<f32>,
    xs: &[f32],
    t0: f32,
    t1: f32,
    k: usize,
    wrap: bool,
) -> f64 {
    let (g, c) = exp_budget(family);
    let d = m.ambient_dim();
    let h = (t1 - t0) / k as f32;
    let mut x = xs.to_vec();
    let mut worst = 0.0f64;
    for j in 0..k {
        let (s, t) = (t0 + j as f32 * h, t0 + (j + 1) as f32 * h);
        let mut cpu = x.clone();
        // integrate_euler with one step uses h' = (t - s) / 1.
        cpu_step(m, field, s, (t - s) / 1.0, &mut cpu);
        sampler.integrate_euler(m, field, &mut x, s, t, 1).unwrap();
        for (i, (e, r)) in row_errors(&x, &cpu, d, wrap).into_iter().enumerate() {
            assert!(
                e <= (g + c) * r + 1e-30,
                "{family} step {j} row {i}: |Δ| = {e:e}, budget (ε_gpu + ε_cpu) |x| = {:e}",
                (g + c) * r
            );
            worst = worst.max(e / r.max(1e-30));
        }
    }
    worst
}

/// The accumulated check: k GPU steps against k CPU steps, |Δ| ≤ k (ε_gpu + ε_cpu) R G with R
/// the largest point norm on the CPU trajectory and G the error growth factor of the flow.
/// Returns the worst |Δ| / R.
#[allow(clippy::too_many_arguments)]
fn check_accumulated<M: Manifold<Scalar = f32> + geoflow_gpu::GpuManifold>(
    sampler: &mut GpuSampler,
    m: &M,
    family: &str,
    field: &mut dyn VectorField<f32>,
    xs: &[f32],
    t0: f32,
    t1: f32,
    k: usize,
    growth: f64,
    wrap: bool,
) -> f64 {
    let (g, c) = exp_budget(family);
    let d = m.ambient_dim();
    let mut gpu_x = xs.to_vec();
    let timings = sampler
        .integrate_euler(m, field, &mut gpu_x, t0, t1, k)
        .unwrap();
    assert_eq!(timings.steps, k);
    let mut cpu_x = xs.to_vec();
    let r = cpu_euler(m, field, &mut cpu_x, t0, t1, k);
    let tol = k as f64 * (g + c) * r * growth;
    let errors = row_errors(&gpu_x, &cpu_x, d, wrap);
    let worst = errors.iter().map(|&(e, _)| e).fold(0.0, f64::max);
    let moved = row_errors(&cpu_x, xs, d, wrap)
        .into_iter()
        .map(|(e, _)| e)
        .fold(0.0, f64::max);
    let differ = errors.iter().filter(|&&(e, _)| e > 0.0).count();
    println!(
        "{family}: moved up to {moved:.3}, {differ} of {} rows differ",
        errors.len()
    );
    assert!(
        worst <= tol,
        "{family}: {k} steps: max |Δ| = {worst:e} > k (ε_gpu + ε_cpu) R G = {tol:e}"
    );
    println!(
        "{family}: {k} Euler steps: max |Δ| / R = {:.2e} (bound {:.2e}; per step {:.2e})",
        worst / r,
        tol / r,
        g + c
    );
    worst / r
}

/// Error growth factor of the CPU Euler map, measured: the largest ratio
/// |Δx_k| / |Δx_0| for tangent perturbations of size 1e-3 of the initial points, at least 1,
/// doubled to cover errors injected at later steps and the nonlinearity.
fn measured_growth<M: Manifold<Scalar = f32>>(
    m: &M,
    field: &mut dyn VectorField<f32>,
    xs: &[f32],
    t0: f32,
    t1: f32,
    k: usize,
) -> f64 {
    growth_of(m, xs, |x| {
        cpu_euler(m, field, x, t0, t1, k);
    })
}

/// The growth factor of `run` (a CPU trajectory from the rows it is given, in place), as in
/// [`measured_growth`].
fn growth_of<M: Manifold<Scalar = f32>>(m: &M, xs: &[f32], mut run: impl FnMut(&mut [f32])) -> f64 {
    let d = m.ambient_dim();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let u: Vec<f32> = (0..xs.len())
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let mut pu = vec![0.0f32; xs.len()];
    m.project_tangent_batch_into(xs, &u, &mut pu);
    // Scale each row's tangent to norm 1e-3 and move along it.
    for p in pu.chunks_exact_mut(d) {
        let n = p.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-30);
        p.iter_mut().for_each(|v| *v *= 1e-3 / n);
    }
    let mut ys = vec![0.0f32; xs.len()];
    m.exp_batch_into(xs, &pu, &mut ys);
    let (mut a, mut b) = (xs.to_vec(), ys.clone());
    let before = row_errors(&a, &b, d, false);
    run(&mut a);
    run(&mut b);
    let after = row_errors(&a, &b, d, false);
    let amp = before
        .iter()
        .zip(&after)
        .map(|((e0, _), (e1, _))| e1 / e0)
        .fold(1.0, f64::max);
    2.0 * amp
}

#[test]
fn euler_rotation_on_s2_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    let m = Sphere::<f32>::new(2).unwrap();
    let a = [0.48f32, -0.6, 0.64]; // unit
    let mut field = Rotation { a, omega: 1.5 };
    let mut sampler = GpuSampler::new(gpu);
    let xs = sphere_points(4096, 1);
    let worst = check_single_steps(
        &mut sampler,
        &m,
        "Sphere",
        &mut field,
        &xs,
        0.0,
        1.0,
        8,
        false,
    );
    println!("Sphere rotation: single steps: max rel. |Δ| = {worst:.2e}");
    // A Killing field: its exact flow is an isometry, so the Euler map expands errors only
    // by 1 + O(h²) per step (the crude bound e^{LT} with L = 4ω would be e⁶). Measured:
    let growth = measured_growth(&m, &mut field, &xs, 0.0, 1.0, 32);
    println!("Sphere rotation: growth factor {growth:.2}");
    check_accumulated(
        &mut sampler,
        &m,
        "Sphere",
        &mut field,
        &xs,
        0.0,
        1.0,
        32,
        growth,
        false,
    );
}

#[test]
fn euler_constant_on_torus_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    let m = FlatTorus::<f32>::new(4).unwrap();
    let mut field = Constant(vec![0.7, -2.3, 5.1, 0.05]);
    let mut sampler = GpuSampler::new(gpu);
    let xs = torus_points(4096, 4, 2);
    let worst = check_single_steps(
        &mut sampler,
        &m,
        "FlatTorus",
        &mut field,
        &xs,
        0.0,
        1.0,
        8,
        true,
    );
    println!("FlatTorus constant: single steps: max rel. |Δ| = {worst:.2e}");
    // A constant field: the Euler map is a translation (Lipschitz 1), errors only add up.
    check_accumulated(
        &mut sampler,
        &m,
        "FlatTorus",
        &mut field,
        &xs,
        0.0,
        1.0,
        32,
        1.0,
        true,
    );
}

#[test]
fn euler_flownet_on_s2_and_ball_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    let mut sampler = GpuSampler::new(gpu);

    let s2 = Sphere::<f32>::new(2).unwrap();
    let mut net = random_net(s2, 1, 2.0, 3);
    let xs = sphere_points(512, 4);
    let worst = check_single_steps(
        &mut sampler,
        &s2,
        "Sphere",
        &mut net,
        &xs,
        0.0,
        1.0,
        8,
        false,
    );
    println!("Sphere FlowNet: single steps: max rel. |Δ| = {worst:.2e}");
    // No analytic Lipschitz constant for a network: the growth factor is measured.
    let growth = measured_growth(&s2, &mut net, &xs, 0.0, 1.0, 16);
    println!("Sphere FlowNet: growth factor {growth:.2}");
    check_accumulated(
        &mut sampler,
        &s2,
        "Sphere",
        &mut net,
        &xs,
        0.0,
        1.0,
        16,
        growth,
        false,
    );

    let ball = PoincareBall::<f32>::new(2).unwrap();
    let mut net = random_net(ball, 1, 0.3, 5);
    let xs = ball_points(512, 2, 0.5, 6);
    // Stay inside the f32 envelope of the ball (norm ≤ 0.97, radius ≈ 4.2): further out a
    // step can round onto the boundary in both paths.
    let r = cpu_euler(&ball, &mut net, &mut xs.clone(), 0.0, 1.0, 16);
    println!("PoincareBall FlowNet: largest norm {r:.3}");
    assert!(r <= 0.97, "trajectory reaches norm {r}");
    let worst = check_single_steps(
        &mut sampler,
        &ball,
        "PoincareBall",
        &mut net,
        &xs,
        0.0,
        1.0,
        8,
        false,
    );
    println!("PoincareBall FlowNet: single steps: max rel. |Δ| = {worst:.2e}");
    let growth = measured_growth(&ball, &mut net, &xs, 0.0, 1.0, 16);
    println!("PoincareBall FlowNet: growth factor {growth:.2}");
    check_accumulated(
        &mut sampler,
        &ball,
        "PoincareBall",
        &mut net,
        &xs,
        0.0,
        1.0,
        16,
        growth,
        false,
    );
}

/// The flow-map sampler: one step from identical inputs equals `FlowNet::map_into` up to the
/// exp budget, for two-time nets on S² and the ball and a one-time net (velocity at (s, s)).
#[test]
fn flow_map_sample_matches_map_into() {
    let Some(gpu) = gpu() else { return };
    let mut sampler = GpuSampler::new(gpu);
    let grid = [0.0f32, 0.1, 0.35, 0.7, 1.0];

    fn check<M>(
        sampler: &mut GpuSampler,
        family: &str,
        net: &mut FlowNet<f32, M>,
        xs: &[f32],
        grid: &[f32],
    ) where
        M: Manifold<Scalar = f32> + Differentiable + geoflow_gpu::GpuManifold + Clone,
    {
        let m = net.manifold.clone();
        let d = m.ambient_dim();
        let (g, c) = exp_budget(family);
        // Step by step from identical inputs.
        let mut x = xs.to_vec();
        let mut worst = 0.0f64;
        for w in grid.windows(2) {
            let mut cpu = vec![0.0f32; x.len()];
            net.map_into(w[0], w[1], &x, &mut cpu);
            sampler.flow_map_sample(&m, net, &mut x, w).unwrap();
            for (i, (e, r)) in row_errors(&x, &cpu, d, false).into_iter().enumerate() {
                assert!(
                    e <= (g + c) * r + 1e-30,
                    "{family} step {w:?} row {i}: |Δ| = {e:e} > {:e}",
                    (g + c) * r
                );
                worst = worst.max(e / r.max(1e-30));
            }
        }
        // The whole grid at once against the CPU loop.
        let mut gpu_x = xs.to_vec();
        let t = sampler.flow_map_sample(&m, net, &mut gpu_x, grid).unwrap();
        assert_eq!(t.steps, grid.len() - 1);
        let mut cpu_flow = |x: &mut [f32]| {
            for w in grid.windows(2) {
                let x0 = x.to_vec();
                net.map_into(w[0], w[1], &x0, x);
            }
        };
        let mut cpu_x = xs.to_vec();
        cpu_flow(&mut cpu_x);
        // The propagated bound with the growth factor measured on the CPU sampler.
        let growth = growth_of(&m, xs, cpu_flow);
        let k = grid.len() - 1;
        let whole = row_errors(&gpu_x, &cpu_x, d, false)
            .into_iter()
            .map(|(e, r)| e / r.max(1e-30))
            .fold(0.0, f64::max);
        println!(
            "{family} flow map ({} times): single steps max rel. |Δ| = {worst:.2e}, \
             {k} steps {whole:.2e} (bound {:.2e}, growth {growth:.2})",
            net.config.times,
            growth * k as f64 * (g + c)
        );
        assert!(
            whole <= growth * k as f64 * (g + c),
            "{family}: {whole:e} (growth {growth:.2})"
        );
    }

    let s2 = Sphere::<f32>::new(2).unwrap();
    let xs = sphere_points(512, 7);
    check(
        &mut sampler,
        "Sphere",
        &mut random_net(s2, 2, 2.0, 8),
        &xs,
        &grid,
    );
    check(
        &mut sampler,
        "Sphere",
        &mut random_net(s2, 1, 2.0, 9),
        &xs,
        &grid,
    );
    let ball = PoincareBall::<f32>::new(3).unwrap();
    let xs = ball_points(512, 3, 0.7, 10);
    check(
        &mut sampler,
        "PoincareBall",
        &mut random_net(ball, 2, 0.5, 11),
        &xs,
        &grid,
    );
}

#[test]
fn bad_input_is_an_error() {
    let Some(gpu) = gpu() else { return };
    let mut sampler = GpuSampler::new(gpu);
    let s2 = Sphere::<f32>::new(2).unwrap();
    let mut field = Rotation {
        a: [0.0, 0.0, 1.0],
        omega: 1.0,
    };
    let mut xs = sphere_points(4, 12);
    let x0 = xs.clone();
    let invalid = |r: Result<_, FlowError>| match r {
        Err(FlowError::InvalidArgument(msg)) => msg,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };

    // Length not a multiple of D.
    let msg = invalid(sampler.integrate_euler(&s2, &mut field, &mut xs[..5], 0.0, 1.0, 4));
    assert!(msg.contains("5 scalars"), "{msg}");
    // Field of another dimension.
    let mut c4 = Constant(vec![0.0; 4]);
    invalid(sampler.integrate_euler(&s2, &mut c4, &mut xs, 0.0, 1.0, 4));
    // No steps, non-finite times.
    invalid(sampler.integrate_euler(&s2, &mut field, &mut xs, 0.0, 1.0, 0));
    invalid(sampler.integrate_euler(&s2, &mut field, &mut xs, 0.0, f32::NAN, 4));
    // A row off the manifold.
    let mut off = xs.clone();
    off[3] = 2.0;
    let msg = invalid(sampler.integrate_euler(&s2, &mut field, &mut off, 0.0, 1.0, 4));
    assert!(msg.contains("row 1"), "{msg}");
    assert_eq!(xs, x0, "failed calls must not touch xs");

    // A non-finite velocity: Numerical, with the row, and xs is left at the last good step.
    match sampler.integrate_euler(&s2, &mut Broken, &mut xs, 0.0, 1.0, 3) {
        Err(FlowError::Numerical(msg)) => assert!(msg.contains("row 1"), "{msg}"),
        other => panic!("expected Numerical, got {other:?}"),
    }
    assert_eq!(xs, x0);

    // Flow maps: short or non-finite grids, a net of another dimension.
    let mut net = random_net(s2, 2, 2.0, 13);
    invalid(sampler.flow_map_sample(&s2, &mut net, &mut xs, &[0.0]));
    invalid(sampler.flow_map_sample(&s2, &mut net, &mut xs, &[0.0, f32::INFINITY]));
    invalid(sampler.flow_map_sample(&s2, &mut net, &mut xs[..7], &[0.0, 1.0]));
    let s3 = Sphere::<f32>::new(3).unwrap();
    let mut net3 = random_net(s3, 2, 2.0, 14);
    invalid(sampler.flow_map_sample(&s2, &mut net3, &mut xs, &[0.0, 1.0]));
    assert_eq!(xs, x0);

    // Empty batches are fine; and the sampler still works after errors and shape changes.
    let mut empty: [f32; 0] = [];
    let t = sampler
        .integrate_euler(&s2, &mut field, &mut empty, 0.0, 1.0, 4)
        .unwrap();
    assert_eq!(t.steps, 0);
    for n in [4, 100, 4] {
        let mut xs = sphere_points(n, 15);
        let mut cpu = xs.clone();
        sampler
            .integrate_euler(&s2, &mut field, &mut xs, 0.0, 1.0, 4)
            .unwrap();
        cpu_euler(&s2, &mut field, &mut cpu, 0.0, 1.0, 4);
        let worst = row_errors(&xs, &cpu, 3, false)
            .into_iter()
            .map(|(e, _)| e)
            .fold(0.0, f64::max);
        assert!(worst < 1e-5, "n = {n}: {worst:e}");
    }
}

/// Copy vs kernel time for 2^16 points on S² (printed; run with `--nocapture`), and the
/// agreement at that size.
#[test]
fn timing_split_2_16_points_on_s2() {
    let Some(gpu) = gpu() else { return };
    let m = Sphere::<f32>::new(2).unwrap();
    let mut field = Rotation {
        a: [0.0, 0.6, 0.8],
        omega: 1.0,
    };
    let mut sampler = GpuSampler::new(gpu);
    let n = 1 << 16;
    let k = 8;
    let xs = sphere_points(n, 16);
    // Warm-up (pipeline compilation, buffer allocation).
    let mut x = xs.clone();
    sampler
        .integrate_euler(&m, &mut field, &mut x, 0.0, 1.0, 1)
        .unwrap();
    let mut x = xs.clone();
    let wall = Instant::now();
    let t = sampler
        .integrate_euler(&m, &mut field, &mut x, 0.0, 1.0, k)
        .unwrap();
    let wall = wall.elapsed();
    let mut cpu = xs.clone();
    let cpu_time = Instant::now();
    cpu_euler(&m, &mut field, &mut cpu, 0.0, 1.0, k);
    let cpu_time = cpu_time.elapsed();
    let worst = row_errors(&x, &cpu, 3, false)
        .into_iter()
        .map(|(e, _)| e)
        .fold(0.0, f64::max);
    println!(
        "S², n = 2^16, {k} steps on {} ({}): wall {wall:?}; copies {:?} (up {:?}, down {:?}), \
         kernels {:?} (device {:?}), CPU field {:?}; CPU reference loop {cpu_time:?}; max |Δ| {worst:.2e}",
        gpu.adapter_name(),
        gpu.backend(),
        t.copies(),
        t.upload,
        t.download,
        t.kernel,
        t.kernel_device,
        t.field,
    );
    let (g, c) = exp_budget("Sphere");
    assert!(worst <= k as f64 * (g + c) * 2f64.exp() * 2.0, "{worst:e}");
}
