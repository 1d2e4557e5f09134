//! Kernel and copy bandwidth of the GPU kernels, one JSON object per line (read by
//! `benches/gpu/h200.sh`). Run with `cargo run --release -p geoflow-gpu --example gpu_bench`.
//!
//! ```text
//! gpu_bench [--n3 POINTS] [--n64 POINTS] [--reps R] [--families sphere,lorentz,...|all]
//! ```
//!
//! For every family and op it times `R` dispatches of the kernel in one submission on
//! device-resident batches of `--n3` points in R^3 and `--n64` points in R^64, and reports the
//! bytes each dispatch must move (inputs read + output written, f32) per second. It also
//! reports the device's own copy bandwidth (a vec4 copy kernel and `copy_buffer_to_buffer`) on
//! a buffer of the same size as the largest op's traffic, and one end-to-end host call per op
//! (upload + kernel + download).

use std::time::Duration;

use geoflow_gpu::{Arg, Family, GpuContext, GpuManifold, Op};
use geoflow_manifolds::{
    Euclidean, FlatTorus, Lorentz, Manifold, ManifoldExt, PoincareBall, PositiveOrthant, Sample,
    Simplex, Sphere,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

struct Args {
    n3: usize,
    n64: usize,
    reps: u32,
    families: Vec<Family>,
}

fn parse() -> Args {
    let mut a = Args {
        n3: 1 << 24,
        n64: 1 << 20,
        reps: 20,
        families: vec![Family::Sphere],
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--n3" => a.n3 = v.parse().expect("--n3"),
            "--n64" => a.n64 = v.parse().expect("--n64"),
            "--reps" => a.reps = v.parse().expect("--reps"),
            "--families" => {
                a.families = if v == "all" {
                    Family::ALL.to_vec()
                } else {
                    v.split(',')
                        .map(|s| {
                            *Family::ALL
                                .iter()
                                .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
                                .unwrap_or_else(|| panic!("unknown family {s}"))
                        })
                        .collect()
                }
            }
            _ => panic!("unknown argument {k}"),
        }
    }
    a
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Valid inputs for every op: `n` points, tangent vectors, second points, times, ambient
/// vectors. Generated from a few hundred CPU samples tiled (the GPU does not care).
fn inputs<M>(m: &M, n: usize) -> [Vec<f32>; 5]
where
    M: Manifold<Scalar = f32> + Sample + ManifoldExt,
{
    let d = m.ambient_dim();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let k = 256.min(n.max(1));
    let mut base = [Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for i in 0..k {
        let mut p = vec![0.0f32; d];
        let mut q = vec![0.0f32; d];
        m.sample_base_into(&mut rng, &mut p);
        m.sample_base_into(&mut rng, &mut q);
        // Tangent at p: a short step towards q.
        let v: Vec<f32> = m.log(&p, &q).iter().map(|x| 0.3 * x).collect();
        base[0].extend(&p);
        base[1].extend(&v);
        base[2].extend(&q);
        base[3].push((i as f32 + 0.5) / k as f32);
        base[4].extend(q.iter().map(|x| 1.1 * x));
    }
    let tile = |b: &Vec<f32>, w: usize| -> Vec<f32> {
        let mut out = Vec::with_capacity(n * w);
        while out.len() < n * w {
            let take = (n * w - out.len()).min(b.len());
            out.extend_from_slice(&b[..take]);
        }
        out
    };
    [
        tile(&base[0], d),
        tile(&base[1], d),
        tile(&base[2], d),
        tile(&base[3], 1),
        tile(&base[4], d),
    ]
}

fn bench_family<M>(gpu: &GpuContext, m: &M, n: usize, reps: u32)
where
    M: GpuManifold + Manifold<Scalar = f32> + Sample + ManifoldExt,
{
    let d = m.ambient_dim();
    let [ps, vs, qs, ts, xs] = inputs(m, n);
    let p = gpu.upload(&ps, d).unwrap();
    let v = gpu.upload(&vs, d).unwrap();
    let q = gpu.upload(&qs, d).unwrap();
    let t = gpu.upload(&ts, 1).unwrap();
    let x = gpu.upload(&xs, d).unwrap();
    let out_rows = gpu.alloc(n, d).unwrap();
    let out_scalar = gpu.alloc(n, 1).unwrap();
    gpu.flush().unwrap();
    for op in Op::ALL {
        let ins: Vec<&geoflow_gpu::GpuBatch> = match op {
            Op::Exp => vec![&p, &v],
            Op::Log | Op::Dist => vec![&p, &q],
            Op::Inner => vec![&p, &v, &v],
            Op::Geodesic | Op::GeodesicVelocity => vec![&p, &q, &t],
            Op::Transport => vec![&p, &q, &v],
            Op::ProjectTangent => vec![&p, &x],
            Op::ProjectPoint => vec![&x],
        };
        let out = if op.scalar_output() {
            &out_scalar
        } else {
            &out_rows
        };
        let read: usize = op
            .args()
            .iter()
            .map(|a| if *a == Arg::Scalar { 1 } else { d })
            .sum();
        let written = if op.scalar_output() { 1 } else { d };
        let bytes = ((read + written) * n * 4) as f64;
        // Warm-up (compiles the pipeline), then the timed submission.
        gpu.run(m, op, &ins, out).unwrap();
        let tm = gpu.run_repeated(m, op, &ins, out, reps).unwrap();
        // Device time (timestamp queries) where available, else host time; both amortised
        // over `reps` dispatches in one submission.
        let host_s = secs(tm.kernel) / reps as f64;
        let s = tm.kernel_device.map_or(host_s, |t| secs(t) / reps as f64);
        println!(
            "{{\"kind\":\"op\",\"manifold\":\"{}\",\"op\":\"{}\",\"n\":{n},\"d\":{d},\"mode\":\"{:?}\",\
             \"bytes\":{bytes},\"seconds\":{s:e},\"host_seconds\":{host_s:e},\"gbps\":{:.2},\"dispatches\":{}}}",
            m.family().name(),
            op.name(),
            gpu.mode_for(d),
            bytes / s / 1e9,
            tm.dispatches / reps
        );
        // End to end: host slices in and out.
        let host_ins: Vec<&[f32]> = match op {
            Op::Exp => vec![&ps, &vs],
            Op::Log | Op::Dist => vec![&ps, &qs],
            Op::Inner => vec![&ps, &vs, &vs],
            Op::Geodesic | Op::GeodesicVelocity => vec![&ps, &qs, &ts],
            Op::Transport => vec![&ps, &qs, &vs],
            Op::ProjectTangent => vec![&ps, &xs],
            Op::ProjectPoint => vec![&xs],
        };
        let mut host_out = vec![0.0f32; n * written];
        let e2e = gpu.batch_into(m, op, &host_ins, &mut host_out).unwrap();
        println!(
            "{{\"kind\":\"end_to_end\",\"manifold\":\"{}\",\"op\":\"{}\",\"n\":{n},\"d\":{d},\
             \"upload_s\":{:e},\"kernel_s\":{:e},\"download_s\":{:e}}}",
            m.family().name(),
            op.name(),
            secs(e2e.upload),
            secs(e2e.kernel),
            secs(e2e.download)
        );
    }
}

fn copy_bandwidth(gpu: &GpuContext, scalars: usize, reps: u32) {
    let scalars = scalars / 4 * 4;
    let src = gpu.upload(&vec![1.0f32; scalars], 4).unwrap();
    let dst = gpu.alloc(scalars / 4, 4).unwrap();
    gpu.flush().unwrap();
    let bytes = (2 * scalars * 4) as f64; // read + write
    gpu.copy_kernel(&src, &dst, 1).unwrap();
    let s = secs(gpu.copy_kernel(&src, &dst, reps).unwrap()) / reps as f64;
    println!(
        "{{\"kind\":\"copy_kernel\",\"bytes\":{bytes},\"seconds\":{s:e},\"gbps\":{:.2}}}",
        bytes / s / 1e9
    );
    gpu.copy_buffer(&src, &dst, 1).unwrap();
    let s = secs(gpu.copy_buffer(&src, &dst, reps).unwrap()) / reps as f64;
    println!(
        "{{\"kind\":\"copy_buffer\",\"bytes\":{bytes},\"seconds\":{s:e},\"gbps\":{:.2}}}",
        bytes / s / 1e9
    );
}

fn main() {
    let a = parse();
    let gpu = match GpuContext::shared() {
        Ok(g) => g,
        Err(e) => {
            println!("{{\"kind\":\"error\",\"message\":\"{e}\"}}");
            std::process::exit(2);
        }
    };
    println!(
        "{{\"kind\":\"device\",\"adapter\":\"{}\",\"backend\":\"{}\",\"max_binding_bytes\":{},\"max_buffer_bytes\":{},\"subgroup\":{}}}",
        gpu.adapter_name(),
        gpu.backend(),
        gpu.chunk_limits().max_binding_bytes,
        gpu.chunk_limits().max_buffer_bytes,
        gpu.subgroup_size().unwrap_or(0)
    );
    // Copy reference: as many bytes as exp moves at each size (3 arrays of n d scalars).
    copy_bandwidth(gpu, 3 * 3 * a.n3 / 2, a.reps);
    copy_bandwidth(gpu, 3 * 64 * a.n64 / 2, a.reps);
    for &f in &a.families {
        for (n, d) in [(a.n3, 3usize), (a.n64, 64)] {
            match f {
                Family::Euclidean => {
                    bench_family(gpu, &Euclidean::<f32>::new(d).unwrap(), n, a.reps)
                }
                Family::Sphere => bench_family(gpu, &Sphere::<f32>::new(d - 1).unwrap(), n, a.reps),
                Family::PositiveOrthant => {
                    bench_family(gpu, &PositiveOrthant::<f32>::new(d - 1).unwrap(), n, a.reps)
                }
                Family::Simplex => {
                    bench_family(gpu, &Simplex::<f32>::new(d - 1).unwrap(), n, a.reps)
                }
                Family::FlatTorus => {
                    bench_family(gpu, &FlatTorus::<f32>::new(d).unwrap(), n, a.reps)
                }
                Family::Lorentz => {
                    bench_family(gpu, &Lorentz::<f32>::new(d - 1).unwrap(), n, a.reps)
                }
                Family::PoincareBall => {
                    bench_family(gpu, &PoincareBall::<f32>::new(d).unwrap(), n, a.reps)
                }
            }
        }
    }
}
