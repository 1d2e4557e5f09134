//! Times geoflow's training steps on the tape and prints one JSON object per line in
//! `peers.py`'s `train` record format, so that `peers/compare.sh --sections train` can join
//! them with PyTorch's on (op, dtype, threads).
//!
//! ```text
//! geoflow_train [--threads 2,1] [--dtypes float32,float64] [--batch 512] [--ops a,b]
//!               [--min-rep 20] [--max-rep 300] [--budget 0.1] [--quick]
//! ```
//!
//! The model is exactly `peers.py`'s `VectorField`: `[x (3), sin(a), cos(a)]` with
//! `a = π 2^k t`, `k < 8` (here as the sinusoidal embedding with scale `128π` and longest
//! period 256, the same frequencies in reverse order), then `19 → 256 → 256 → 256 → 3` with
//! SiLU, output projected onto `T_x S²` (`v − ⟨v, x⟩ x`); loss `mean_i ‖v_i − u_i‖²`; Adam,
//! learning rate 1e-3; batch 512; targets drawn from four clusters on S² like `peers.py`.
//!
//! Ops (`lib` = `geoflow`):
//! - `rfm_step`: a fresh batch (noise on S², cluster samples, times), the closed-form
//!   geodesic `x_t` and `ẋ_t` (outside the tape, as `torch.no_grad` in the peer), forward,
//!   loss, backward, Adam;
//! - `mlp_fwd_bwd`: forward + loss + backward on a fixed batch, no optimiser;
//! - `mlp_fwd`: forward alone, parameters bound as constants (no gradient bookkeeping);
//! - `flowmap_step` (ours only): the Lagrangian flow-map step with a two-time network
//!   `v(x, s, t)` (same widths, 3 + 2·16 inputs): `X = exp_x((t − s) v(x_s, s, t))`, its
//!   ∂ₜ recorded on the tape by the taped JVP, the loss `mean ‖∂ₜX − γ̇(t)‖²` against the
//!   conditional geodesic `γ` through `x_s`, backward through the JVP, Adam;
//! - `flowmap_fwd` (ours only): the forward `X` of that step alone (its unit of cost).
//!
//! `ms_per_step` is the median wall time of one step after warm-up; repeats as `peers.py`'s
//! `time_fn` (at least `--min-rep`, then until `--budget` seconds or `--max-rep`).
//! Matrix products use `threads` rayon threads (faer); elementwise work is sequential.

use std::time::Instant;

use geoflow_autodiff::{
    set_matmul_threads, Activation, Adam, AdamConfig, Element, EmbeddingKind, Grads, Mlp,
    MlpConfig, Params, TangentMlp, Tape,
};
use geoflow_benches::pool;
use geoflow_manifolds::{prelude::*, Sphere};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const OPS: [&str; 5] = [
    "rfm_step",
    "mlp_fwd_bwd",
    "mlp_fwd",
    "flowmap_step",
    "flowmap_fwd",
];

struct Args {
    threads: Vec<usize>,
    dtypes: Vec<String>,
    ops: Vec<String>,
    batch: usize,
    min_rep: usize,
    max_rep: usize,
    budget: f64,
}

fn usage(msg: &str) -> ! {
    eprintln!("geoflow_train: {msg}");
    eprintln!(
        "usage: geoflow_train [--threads 2,1] [--dtypes float32,float64] [--batch 512] \
         [--ops {}] [--min-rep N] [--max-rep N] [--budget S] [--quick]",
        OPS.join(",")
    );
    std::process::exit(2)
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_args() -> Args {
    let mut a = Args {
        threads: vec![2, 1],
        dtypes: list("float32,float64"),
        ops: OPS.iter().map(|s| s.to_string()).collect(),
        batch: 512,
        min_rep: 20,
        max_rep: 300,
        budget: 0.1,
    };
    let mut quick = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--quick" {
            quick = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            usage("help");
        }
        let Some(v) = it.next() else {
            usage(&format!("{flag} needs a value"))
        };
        let num = |v: &str| -> f64 {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {v}")))
        };
        match flag.as_str() {
            "--threads" => a.threads = list(&v).iter().map(|t| num(t) as usize).collect(),
            "--dtypes" => a.dtypes = list(&v),
            "--ops" => a.ops = list(&v),
            "--batch" => a.batch = num(&v) as usize,
            "--min-rep" => a.min_rep = num(&v) as usize,
            "--max-rep" => a.max_rep = num(&v) as usize,
            "--budget" => a.budget = num(&v),
            // Accepted for symmetry with geoflow_ops / peers.py; not used here.
            "--size-log2" | "--manifolds" => {}
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    if quick {
        (a.min_rep, a.max_rep, a.budget) = (2, 3, 0.01);
    }
    for d in &a.dtypes {
        if d != "float32" && d != "float64" {
            usage(&format!("unknown dtype {d}"));
        }
    }
    for o in &a.ops {
        if !OPS.contains(&o.as_str()) {
            usage(&format!("unknown op {o}"));
        }
    }
    a.max_rep = a.max_rep.max(a.min_rep).max(1);
    a
}

/// A JSON string literal (the strings here are plain ASCII).
fn js(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// `peers.py`'s network: `times` = 1 (`VectorField`) or 2 (the flow map `v(x, s, t)`).
fn vector_field<T: Element>(
    ps: &mut Params<T>,
    times: usize,
    rng: &mut ChaCha8Rng,
) -> TangentMlp<T> {
    let config = MlpConfig {
        input: 3,
        hidden: vec![256; 3],
        output: 3,
        activation: Activation::Silu,
        residual: false,
        // f_k = 128π · 256^(-k/8) = π 2^(7-k), k < 8: peers.py's π 2^k in reverse order.
        time: Some((
            EmbeddingKind::Sinusoidal {
                scale: 128.0 * std::f64::consts::PI,
                max_period: 256.0,
            },
            16,
            times,
        )),
        zero_last: false,
    };
    TangentMlp::new(Mlp::new(ps, "v", config, rng))
}

/// A point of S² from a normal sample, normalised (as `F.normalize(randn)`).
fn normal_point<T: Element>(rng: &mut ChaCha8Rng, out: &mut [T]) {
    loop {
        let mut n = T::zero();
        for o in out.iter_mut() {
            *o = T::standard_normal(rng);
            n += *o * *o;
        }
        if n > T::c(1e-12) {
            let r = T::one() / n.sqrt();
            out.iter_mut().for_each(|o| *o *= r);
            return;
        }
    }
}

/// Four clusters on S², `64 · batch` samples (`peers.py`'s pool).
fn cluster_pool<T: Element>(rng: &mut ChaCha8Rng, batch: usize) -> Vec<T> {
    let mut centres = [T::zero(); 12];
    for c in centres.chunks_exact_mut(3) {
        normal_point(rng, c);
    }
    let mut pool = vec![T::zero(); 64 * batch * 3];
    for p in pool.chunks_exact_mut(3) {
        let k = rng.random_range(0..4usize);
        loop {
            let mut n = T::zero();
            for j in 0..3 {
                p[j] = centres[3 * k + j] + T::c(0.2) * T::standard_normal(rng);
                n += p[j] * p[j];
            }
            if n > T::c(1e-12) {
                let r = T::one() / n.sqrt();
                p.iter_mut().for_each(|o| *o *= r);
                break;
            }
        }
    }
    pool
}

/// Inputs of one step: noise `x0`, data `x1`, times `s ≤ t`, and the geodesic's points and
/// velocities at them.
struct Batch<T> {
    x0: Vec<T>,
    x1: Vec<T>,
    s: Vec<T>,
    t: Vec<T>,
    xs: Vec<T>,
    xt: Vec<T>,
    vt: Vec<T>,
}

impl<T: Element> Batch<T> {
    fn new(n: usize) -> Self {
        let z = |k: usize| vec![T::zero(); k * n];
        Self {
            x0: z(3),
            x1: z(3),
            s: z(1),
            t: z(1),
            xs: z(3),
            xt: z(3),
            vt: z(3),
        }
    }

    /// Draws a batch (noise, the `ctr`-th slice of the pool, times) and the closed-form
    /// geodesic at `t` (and at `s` for the flow map).
    fn draw(
        &mut self,
        m: &Sphere<T>,
        rng: &mut ChaCha8Rng,
        pool: &[T],
        ctr: &mut usize,
        two: bool,
    ) {
        let n = self.t.len();
        for p in self.x0.chunks_exact_mut(3) {
            normal_point(rng, p);
        }
        let i = (*ctr % 64) * n * 3;
        *ctr += 1;
        self.x1.copy_from_slice(&pool[i..i + 3 * n]);
        for (t, s) in self.t.iter_mut().zip(&mut self.s) {
            *t = T::c(rng.random_range(0.0..1.0));
            *s = if two {
                *t * T::c(rng.random_range(0.0..1.0))
            } else {
                T::zero()
            };
        }
        m.geodesic_batch_into(&self.x0, &self.x1, &self.t, &mut self.xt);
        m.geodesic_velocity_batch_into(&self.x0, &self.x1, &self.t, &mut self.vt);
        if two {
            m.geodesic_batch_into(&self.x0, &self.x1, &self.s, &mut self.xs);
        }
    }
}

struct Model<T: Element> {
    ps: Params<T>,
    net: TangentMlp<T>,
    opt: Adam<T>,
}

impl<T: Element> Model<T> {
    fn new(times: usize, rng: &mut ChaCha8Rng) -> Self {
        let mut ps = Params::new();
        let net = vector_field(&mut ps, times, rng);
        let opt = Adam::new(AdamConfig::adam(1e-3), &ps);
        Self { ps, net, opt }
    }
}

/// Forward + loss + backward of the RFM objective on a batch; returns the loss.
fn rfm_fwd_bwd<'m, T: Element>(
    tape: &mut Tape<'m, T>,
    grads: &mut Grads<T>,
    model: &mut Model<T>,
    m: &'m Sphere<T>,
    b: &Batch<T>,
) -> T {
    let n = b.t.len();
    tape.reset();
    model.ps.bind(tape);
    let x = tape.constant(&b.xt, n, 3);
    let t = tape.constant(&b.t, n, 1);
    let u = tape.constant(&b.vt, n, 3);
    let v = model.net.forward(tape, &model.ps, m, x, &[t]);
    let e = tape.sub(v, u);
    let e2 = tape.row_sq(e);
    let loss = tape.mean(e2);
    tape.backward_into(loss, grads);
    tape.scalar_value(loss)
}

/// Records `X = exp_x((t − s) v(x, s, t))` at `x = x_s`; returns `(X, t)`.
fn flowmap_forward<'m, T: Element>(
    tape: &mut Tape<'m, T>,
    model: &Model<T>,
    m: &'m Sphere<T>,
    b: &Batch<T>,
) -> (geoflow_autodiff::Var, geoflow_autodiff::Var) {
    let n = b.t.len();
    let x = tape.constant(&b.xs, n, 3);
    let s = tape.constant(&b.s, n, 1);
    let t = tape.constant(&b.t, n, 1);
    let v = model.net.forward(tape, &model.ps, m, x, &[s, t]);
    let dt = tape.sub(t, s);
    let w = tape.mul(dt, v);
    (tape.exp(m, x, w), t)
}

/// The Lagrangian flow-map step: forward, ∂ₜ on the tape, loss, backward, Adam.
fn flowmap_step<'m, T: Element>(
    tape: &mut Tape<'m, T>,
    grads: &mut Grads<T>,
    model: &mut Model<T>,
    m: &'m Sphere<T>,
    b: &Batch<T>,
    ones: &[T],
) -> T {
    let n = b.t.len();
    tape.reset();
    model.ps.bind(tape);
    let (xst, t) = flowmap_forward(tape, model, m, b);
    let one = tape.constant(ones, n, 1);
    let dx = tape.jvp1(xst, &[t], &[one]);
    let u = tape.constant(&b.vt, n, 3);
    let r = tape.sub(dx, u);
    let r2 = tape.row_sq(r);
    let loss = tape.mean(r2);
    tape.backward_into(loss, grads);
    model.opt.step(&mut model.ps, grads);
    tape.scalar_value(loss)
}

/// Warm-up, then `peers.py`'s `time_fn` loop; returns the wall times in seconds.
fn time_fn(args: &Args, mut f: impl FnMut()) -> Vec<f64> {
    let t0 = Instant::now();
    f();
    if t0.elapsed().as_secs_f64() < 0.01 {
        f();
    }
    let mut times = Vec::new();
    let mut spent = 0.0;
    while times.len() < args.max_rep && (times.len() < args.min_rep || spent < args.budget) {
        let t0 = Instant::now();
        f();
        let dt = t0.elapsed().as_secs_f64();
        times.push(dt);
        spent += dt;
    }
    times
}

/// Forward FLOPs of the one-time network (`peers.py`'s `mlp_flops`).
fn mlp_flops(batch: usize) -> f64 {
    let macs = 19 * 256 + 256 * 256 * 2 + 256 * 3;
    2.0 * macs as f64 * batch as f64
}

fn run<T: Element>(args: &Args, dtype: &str, threads: usize) {
    let n = args.batch;
    let m = Sphere::<T>::new(2).expect("S²");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let pool_pts = cluster_pool::<T>(&mut rng, n);
    let ones = vec![T::one(); n];
    for op in &args.ops {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let two = op.starts_with("flowmap");
        let mut model = Model::<T>::new(if two { 2 } else { 1 }, &mut rng);
        let mut tape: Tape<'_, T> = Tape::new();
        let mut grads = Grads::new();
        let mut b = Batch::new(n);
        let mut ctr = 0usize;
        b.draw(&m, &mut rng, &pool_pts, &mut ctr, two);
        let mut sink = T::zero();
        let (times, note) = match op.as_str() {
            "rfm_step" => (
                time_fn(args, || {
                    b.draw(&m, &mut rng, &pool_pts, &mut ctr, false);
                    sink += rfm_fwd_bwd(&mut tape, &mut grads, &mut model, &m, &b);
                    model.opt.step(&mut model.ps, &grads);
                }),
                "closed-form geodesic path + MLP + MSE + backward + Adam (geoflow tape)",
            ),
            "mlp_fwd_bwd" => (
                time_fn(args, || {
                    sink += rfm_fwd_bwd(&mut tape, &mut grads, &mut model, &m, &b);
                }),
                "MLP forward + MSE + backward, no optimizer (geoflow tape)",
            ),
            "mlp_fwd" => (
                time_fn(args, || {
                    tape.reset();
                    model.ps.bind_frozen(&mut tape);
                    let x = tape.constant(&b.xt, n, 3);
                    let t = tape.constant(&b.t, n, 1);
                    let v = model.net.forward(&mut tape, &model.ps, &m, x, &[t]);
                    sink += tape.value(v)[0];
                }),
                "MLP forward, parameters as constants (geoflow tape)",
            ),
            "flowmap_step" => (
                time_fn(args, || {
                    b.draw(&m, &mut rng, &pool_pts, &mut ctr, true);
                    sink += flowmap_step(&mut tape, &mut grads, &mut model, &m, &b, &ones);
                }),
                "Lagrangian flow map on S2: X = exp_x((t-s) v(x,s,t)), d/dt X by the taped JVP, \
                 MSE to the geodesic velocity, backward through the JVP, Adam; 35-256-256-256-3",
            ),
            "flowmap_fwd" => (
                time_fn(args, || {
                    tape.reset();
                    model.ps.bind_frozen(&mut tape);
                    let (x, _) = flowmap_forward(&mut tape, &model, &m, &b);
                    sink += tape.value(x)[0];
                }),
                "forward of the flow map X = exp_x((t-s) v(x,s,t)) alone (unit of flowmap_step)",
            ),
            _ => unreachable!(),
        };
        std::hint::black_box(sink);
        let mut t = times.clone();
        let reps = t.len();
        let med = median(&mut t);
        let (min, max) = (t[0], t[reps - 1]);
        let gflops = match op.as_str() {
            "mlp_fwd" => format!("{}", mlp_flops(n) / med / 1e9),
            "mlp_fwd_bwd" | "rfm_step" => format!("{}", 3.0 * mlp_flops(n) / med / 1e9),
            _ => "null".to_owned(),
        };
        println!(
            "{{\"kind\": \"train\", \"section\": \"train\", \"lib\": \"geoflow\", \"manifold\": \"sphere\", \
             \"dim\": 2, \"ambient\": 3, \"op\": {}, \"dtype\": {}, \"threads\": {threads}, \
             \"batch\": {n}, \"n_points\": {n}, \"median_s\": {med:e}, \"min_s\": {min:e}, \
             \"max_s\": {max:e}, \"repeats\": {reps}, \"ns_per_point\": {}, \"ms_per_step\": {}, \
             \"ms_per_step_min\": {}, \"GFLOPs\": {gflops}, \"note\": {}}}",
            js(op),
            js(dtype),
            med / n as f64 * 1e9,
            med * 1e3,
            min * 1e3,
            js(note),
        );
        eprintln!(
            "geoflow        train {op:12} {dtype} t{threads}: {:8.3} ms/step (min {:.3}, x{reps})",
            med * 1e3,
            min * 1e3
        );
    }
}

fn main() {
    let args = parse_args();
    let t0 = Instant::now();
    println!(
        "{{\"kind\": \"env\", \"lib\": \"geoflow\", \"section\": \"train\", \"threads\": {:?}, \
         \"dtypes\": [{}], \"batch\": {}, \"nproc\": {}}}",
        args.threads,
        args.dtypes
            .iter()
            .map(|d| js(d))
            .collect::<Vec<_>>()
            .join(", "),
        args.batch,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    for &threads in &args.threads {
        let p = pool(threads);
        p.install(|| {
            set_matmul_threads(threads);
            for dt in &args.dtypes {
                if dt == "float32" {
                    run::<f32>(&args, "float32", threads);
                } else {
                    run::<f64>(&args, "float64", threads);
                }
            }
        });
    }
    set_matmul_threads(1);
    println!(
        "{{\"kind\": \"end\", \"lib\": \"geoflow\", \"wall_s\": {}}}",
        t0.elapsed().as_secs_f64()
    );
}
