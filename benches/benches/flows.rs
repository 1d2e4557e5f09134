//! The flows crate's speed targets, each measured against the network work it cannot avoid:
//!
//! - `train/rfm_step` vs `train/net_fwd_bwd`: an RFM step on S² (batch 512, the reference
//!   256×3 network) — base samples, geodesic path and velocity, the projected network, the
//!   metric loss, backward, AdamW — against the bare network forward + backward + AdamW on the
//!   same shapes (target ≤ 1.2×);
//! - `train/lsd_step` vs `train/rfm_step2`: a G-LSD step against an RFM step of the same
//!   two-time network (target ≤ 3×);
//! - `sample/rfm_euler_k` vs `sample/net_fwd_k`: k geodesic Euler steps of an RFM model on
//!   4096 points against k bare forward passes (target ≤ 1.2×), and `sample/flowmap_k` for
//!   the flow-map sampler (target ≤ 1.1×).
//!
//! `cargo bench -p geoflow-benches --bench flows`; `cargo test --benches` runs each once.

#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use geoflow_autodiff::{Adam, AdamConfig, Grads, Tape};
use geoflow_flows::model::{FlowNet, NetConfig};
use geoflow_flows::objective::{Method, Objective, ObjectiveConfig};
use geoflow_flows::{FlowMap, VectorField};
use geoflow_manifolds::prelude::*;
use geoflow_manifolds::Sphere;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const BATCH: usize = 512;

/// Points sampled: 4096 when benchmarking, 64 in `cargo test --benches` (criterion's test mode).
fn samples() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        4096
    } else {
        64
    }
}

fn data(n: usize) -> Vec<f32> {
    let m = Sphere::<f32>::new(2).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut x = vec![0.0f32; 3 * n];
    m.sample_base_batch_into(&mut rng, &mut x);
    // Concentrate around the north pole so the data is not the base distribution.
    for p in x.chunks_exact_mut(3) {
        p[2] = p[2].abs() * 4.0;
        let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        p.iter_mut().for_each(|v| *v /= r);
    }
    x
}

fn net(times: usize) -> FlowNet<f32, Sphere<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut net = FlowNet::new(Sphere::new(2).unwrap(), NetConfig::new(times), &mut rng);
    // A non-zero last layer (zero-initialised nets short-cut nothing, but be realistic).
    let ids: Vec<_> = net.params.ids().collect();
    for id in ids {
        for (k, p) in net.params.get_mut(id).iter_mut().enumerate() {
            *p += 1e-3 * ((k % 13) as f32 - 6.0);
        }
    }
    net
}

fn train(c: &mut Criterion) {
    let m = Sphere::<f32>::new(2).unwrap();
    let x1 = data(BATCH);
    let mut g = c.benchmark_group("train");
    g.sample_size(20);
    for (name, method) in [
        ("rfm_step", Method::Rfm),
        ("rfm_step2", Method::Rfm),
        ("lsd_step", Method::Lsd),
    ] {
        let times = if name == "rfm_step2" {
            2
        } else {
            method.times()
        };
        let mut net = net(times);
        let mut opt = Adam::new(AdamConfig::adam(1e-4), &net.params);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut obj: Objective<f32, Sphere<f32>> =
            Objective::new(ObjectiveConfig::new(method), &mut rng);
        let mut tape = Tape::new();
        let mut grads = Grads::new();
        let two = name == "rfm_step2";
        g.bench_function(name, |b| {
            b.iter(|| {
                tape.reset();
                net.params.bind(&mut tape);
                let loss = if two {
                    // RFM on the diagonal of a two-time network.
                    let mut c = ObjectiveConfig::new(Method::Lsd);
                    c.diag_fraction = Some(1.0);
                    obj.config = c;
                    obj.record(&mut tape, &net, &m, &x1, &mut rng).0
                } else {
                    obj.record(&mut tape, &net, &m, &x1, &mut rng).0
                };
                tape.backward_into(loss, &mut grads);
                opt.step(&mut net.params, &grads);
                black_box(tape.scalar_value(loss))
            })
        });
    }
    // The bare network: forward on constant inputs, squared error, backward, AdamW.
    let mut net1 = net(1);
    let mut opt = Adam::new(AdamConfig::adam(1e-4), &net1.params);
    let mut tape = Tape::new();
    let mut grads = Grads::new();
    let t: Vec<f32> = (0..BATCH).map(|i| i as f32 / BATCH as f32).collect();
    g.bench_function("net_fwd_bwd", |b| {
        b.iter(|| {
            tape.reset();
            net1.params.bind(&mut tape);
            let x = tape.constant(&x1, BATCH, 3);
            let tv = tape.constant(&t, BATCH, 1);
            let f = net1.record_raw(&mut tape, x, &[tv]);
            let e = tape.sub(f, x);
            let e2 = tape.row_sq(e);
            let loss = tape.mean(e2);
            tape.backward_into(loss, &mut grads);
            opt.step(&mut net1.params, &grads);
            black_box(tape.scalar_value(loss))
        })
    });
    g.finish();
}

fn sample(c: &mut Criterion) {
    let m = Sphere::<f32>::new(2).unwrap();
    let n = samples();
    let x0 = data(n);
    let mut g = c.benchmark_group("sample");
    g.sample_size(10);
    for k in [4usize, 16] {
        let mut rfm = net(1);
        let mut xs = x0.clone();
        let mut v = vec![0.0f32; xs.len()];
        let mut next = vec![0.0f32; xs.len()];
        g.bench_function(format!("rfm_euler_{k}"), |b| {
            b.iter(|| {
                xs.copy_from_slice(&x0);
                let h = 1.0 / k as f32;
                for i in 0..k {
                    rfm.eval_into(i as f32 * h, &xs, &mut v);
                    v.iter_mut().for_each(|a| *a *= h);
                    m.exp_batch_into(&xs, &v, &mut next);
                    std::mem::swap(&mut xs, &mut next);
                }
                black_box(xs[0])
            })
        });
        let mut fm = net(2);
        g.bench_function(format!("flowmap_{k}"), |b| {
            b.iter(|| {
                xs.copy_from_slice(&x0);
                let h = 1.0 / k as f32;
                for i in 0..k {
                    fm.map_into(i as f32 * h, (i + 1) as f32 * h, &xs, &mut next);
                    std::mem::swap(&mut xs, &mut next);
                }
                black_box(xs[0])
            })
        });
        let mut bare = net(1);
        let mut tape = Tape::<f32>::new();
        let t = vec![0.5f32; n];
        g.bench_function(format!("net_fwd_{k}"), |b| {
            b.iter(|| {
                for _ in 0..k {
                    tape.reset();
                    bare.params.bind_frozen(&mut tape);
                    let x = tape.constant(&x0, n, 3);
                    let tv = tape.constant(&t, n, 1);
                    let f = bare.record_raw(&mut tape, x, &[tv]);
                    black_box(tape.value(f)[0]);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, train, sample);
criterion_main!(benches);
