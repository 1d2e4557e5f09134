//! Criterion benches of the GPU kernels: `kernel` (device-resident batches, kernel time only)
//! and `end_to_end` (host slices: upload + kernel + download) per op, manifold and size.
//! Names `op/manifold/f32/{kernel,end_to_end}`, ids `n{N}_d{D}`, `Throughput::Elements(n)`,
//! fixed seeds. Sizes are small so that `cargo test --benches -p geoflow-gpu` stays quick on
//! lavapipe; the H200 figures come from `benches/gpu/h200.sh`. Without an adapter the bench
//! prints `SKIPPED: no GPU adapter` and does nothing.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use geoflow_gpu::{GpuContext, GpuManifold, Op};
use geoflow_manifolds::{Lorentz, Manifold, ManifoldExt, Sample, Sphere};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const SIZES: [(usize, usize); 2] = [(1 << 12, 3), (1 << 9, 64)];
const OPS: [Op; 4] = [Op::Exp, Op::Log, Op::Dist, Op::Geodesic];

fn data<M: Manifold<Scalar = f32> + Sample + ManifoldExt>(m: &M, n: usize) -> [Vec<f32>; 3] {
    let d = m.ambient_dim();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut ps, mut qs, mut vs) = (Vec::new(), Vec::new(), Vec::new());
    let mut p = vec![0.0; d];
    let mut q = vec![0.0; d];
    for _ in 0..n {
        m.sample_base_into(&mut rng, &mut p);
        m.sample_base_into(&mut rng, &mut q);
        vs.extend(m.log(&p, &q).iter().map(|x| 0.3 * x));
        ps.extend_from_slice(&p);
        qs.extend_from_slice(&q);
    }
    [ps, qs, vs]
}

fn bench_manifold<M>(c: &mut Criterion, gpu: &GpuContext, name: &str, make: impl Fn(usize) -> M)
where
    M: GpuManifold + Manifold<Scalar = f32> + Sample + ManifoldExt,
{
    for op in OPS {
        for (n, d) in SIZES {
            let m = make(d);
            let [ps, qs, vs] = data(&m, n);
            let ts: Vec<f32> = (0..n).map(|i| (i as f32 + 0.5) / n as f32).collect();
            let host: Vec<&[f32]> = match op {
                Op::Exp => vec![&ps, &vs],
                Op::Log | Op::Dist => vec![&ps, &qs],
                _ => vec![&ps, &qs, &ts],
            };
            let w = if op.scalar_output() { 1 } else { d };
            let dev: Vec<geoflow_gpu::GpuBatch> = host
                .iter()
                .map(|h| gpu.upload(h, h.len() / n).unwrap())
                .collect();
            let refs: Vec<&geoflow_gpu::GpuBatch> = dev.iter().collect();
            let out = gpu.alloc(n, w).unwrap();
            let mut host_out = vec![0.0f32; n * w];
            let id = format!("n{n}_d{d}");
            let mut g = c.benchmark_group(format!("{}/{name}/f32", op.name()));
            g.throughput(Throughput::Elements(n as u64));
            g.sample_size(10);
            g.bench_with_input(BenchmarkId::new("kernel", id.clone()), &(), |b, _| {
                b.iter_custom(|iters| {
                    gpu.run_repeated(&m, op, &refs, &out, iters as u32)
                        .unwrap()
                        .kernel
                })
            });
            g.bench_with_input(BenchmarkId::new("end_to_end", id), &(), |b, _| {
                b.iter_custom(|iters| {
                    let mut total = std::time::Duration::ZERO;
                    for _ in 0..iters {
                        total += gpu
                            .batch_into(&m, op, &host, &mut host_out)
                            .unwrap()
                            .total();
                    }
                    total
                })
            });
            g.finish();
        }
    }
}

fn benches(c: &mut Criterion) {
    let gpu = match GpuContext::shared() {
        Ok(g) => g,
        Err(e) => {
            println!("SKIPPED: no GPU adapter ({e})");
            return;
        }
    };
    bench_manifold(c, gpu, "sphere", |d| Sphere::<f32>::new(d - 1).unwrap());
    bench_manifold(c, gpu, "lorentz", |d| Lorentz::<f32>::new(d - 1).unwrap());
}

criterion_group!(gpu_ops, benches);
criterion_main!(gpu_ops);
