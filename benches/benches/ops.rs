//! Every batched op × manifold × dtype at `n · D = 2^22` scalars per array, on 1 and 2 threads,
//! writing into preallocated buffers.
//!
//! Ids: group `op/manifold/dtype`, benchmark `n{N}_d{D}/t{threads}`, throughput `n` points.
//! The manifolds come from [`geoflow_benches::for_each_manifold`]: adding one is one line there
//! (the peers' set is listed, commented, ready to enable).
//!
//! `cargo bench -p geoflow-benches --bench ops` measures; `cargo test --benches` (criterion's
//! test mode: no `--bench` argument) runs every op once at 2^12 scalars per array.
//! `GEOFLOW_BENCH_LOG2=16` overrides the size.

// criterion_group!/criterion_main! generate undocumented public items.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use geoflow_benches::{for_each_manifold, points_for, pool, Op, Visitor, Workload};
use geoflow_manifolds::prelude::*;

/// Scalars per array: 2^22 when benchmarking, 2^12 in test mode.
fn size_log2() -> u32 {
    if let Some(k) = std::env::var("GEOFLOW_BENCH_LOG2")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return k;
    }
    if std::env::args().any(|a| a == "--bench") {
        22
    } else {
        12
    }
}

struct Bench<'a> {
    c: &'a mut Criterion,
    pools: Vec<(usize, rayon::ThreadPool)>,
    size_log2: u32,
}

impl Visitor for Bench<'_> {
    fn visit<M: Manifold + ParallelTransport + Sample>(
        &mut self,
        family: &'static str,
        _dim: usize,
        m: M,
    ) {
        let d = m.ambient_dim();
        let n = points_for(self.size_log2, d);
        let mut w = Workload::new(m, family, n);
        for op in Op::BENCHED {
            let mut g =
                self.c
                    .benchmark_group(format!("{}/{}/{}", op.name(), family, M::Scalar::NAME));
            g.throughput(Throughput::Elements(n as u64));
            for (threads, pool) in &self.pools {
                let id = BenchmarkId::new(format!("n{n}_d{d}"), format!("t{threads}"));
                g.bench_function(id, |b| {
                    b.iter_custom(|iters| {
                        pool.install(|| {
                            let t0 = Instant::now();
                            for _ in 0..iters {
                                w.run(op);
                            }
                            t0.elapsed()
                        })
                    })
                });
            }
            g.finish();
        }
    }
}

fn ops(c: &mut Criterion) {
    let pools = vec![(1, pool(1)), (2, pool(2))];
    let mut b = Bench {
        c,
        pools,
        size_log2: size_log2(),
    };
    for_each_manifold::<f32, _>(&mut b);
    for_each_manifold::<f64, _>(&mut b);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = ops
}
criterion_main!(benches);
