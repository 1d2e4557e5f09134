//! The flow-matching MLP of the papers scaled to this machine: input 3 + time embedding, three
//! hidden layers of width 256, SiLU, batch 512, f32.
//!
//! - `forward/mlp/f32`: one forward pass on a fresh tape (the unit of the flow-map target);
//! - `train_step/mlp/f32`: forward + backward + Adam;
//! - `flow_map_step/mlp/f32`: the Lagrangian flow-map step on S²: forward of
//!   $X = \exp_x((t-s)v(x,s,t))$, its JVP in $t$ recorded on the tape, the loss on the JVP,
//!   backward through it (reverse-over-forward), Adam.
//!
//! Ids are `threads{N}`; matmul threads come from `set_matmul_threads` (rayon feature), the
//! elementwise work is sequential. Run: `cargo bench -p geoflow-autodiff --features rayon`.

#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use geoflow_autodiff::{
    set_matmul_threads, Adam, AdamConfig, Grads, Mlp, MlpConfig, Params, TangentMlp, Tape,
};
use geoflow_manifolds::{prelude::*, Sphere};
use rand::{Rng, SeedableRng};
use std::time::Duration;

const N: usize = 512;

struct Setup {
    ps: Params<f32>,
    net: TangentMlp<f32>,
    opt: Adam<f32>,
    x: Vec<f32>,
    y: Vec<f32>,
    s: Vec<f32>,
    t: Vec<f32>,
    ones: Vec<f32>,
}

fn setup(times: usize) -> Setup {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let s2 = Sphere::<f32>::new(2).unwrap();
    let mut ps = Params::new();
    let net = TangentMlp::new(Mlp::new(
        &mut ps,
        "v",
        MlpConfig::flow(3, 3, 256, 3, times),
        &mut rng,
    ));
    let opt = Adam::new(AdamConfig::adam(1e-4), &ps);
    let mut x = vec![0.0; 3 * N];
    s2.sample_base_batch_into(&mut rng, &mut x);
    let y: Vec<f32> = (0..3 * N).map(|_| rng.random_range(-1.0..1.0)).collect();
    let t: Vec<f32> = (0..N).map(|_| rng.random_range(0.0..1.0)).collect();
    let s: Vec<f32> = t
        .iter()
        .map(|&t| t * rng.random_range(0.0..1.0f32))
        .collect();
    Setup {
        ps,
        net,
        opt,
        x,
        y,
        s,
        t,
        ones: vec![1.0; N],
    }
}

fn bench(c: &mut Criterion) {
    let s2 = Sphere::<f32>::new(2).unwrap();
    for threads in [1usize, 2] {
        set_matmul_threads(threads);
        let id = format!("threads{threads}");
        let mut g = c.benchmark_group("mlp");
        g.throughput(Throughput::Elements(N as u64));
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));

        let mut st = setup(1);
        let mut tape = Tape::new();
        g.bench_function(format!("forward/mlp/f32/{id}"), |b| {
            b.iter(|| {
                tape.reset();
                st.ps.bind_frozen(&mut tape);
                let x = tape.constant(&st.x, N, 3);
                let t = tape.constant(&st.t, N, 1);
                let v = st.net.mlp.forward(&mut tape, &st.ps, x, &[t]);
                tape.value(v)[0]
            })
        });

        let mut grads = Grads::new();
        g.bench_function(format!("train_step/mlp/f32/{id}"), |b| {
            b.iter(|| {
                tape.reset();
                st.ps.bind(&mut tape);
                let x = tape.constant(&st.x, N, 3);
                let t = tape.constant(&st.t, N, 1);
                let y = tape.constant(&st.y, N, 3);
                let v = st.net.mlp.forward(&mut tape, &st.ps, x, &[t]);
                let e = tape.sub(v, y);
                let e2 = tape.square(e);
                let loss = tape.mean(e2);
                tape.backward_into(loss, &mut grads);
                st.opt.step(&mut st.ps, &grads);
            })
        });

        let mut st = setup(2);
        g.bench_function(format!("flow_map_step/mlp/f32/{id}"), |b| {
            b.iter(|| {
                tape.reset();
                st.ps.bind(&mut tape);
                let x = tape.constant(&st.x, N, 3);
                let s = tape.constant(&st.s, N, 1);
                let t = tape.constant(&st.t, N, 1);
                let v = st.net.forward(&mut tape, &st.ps, &s2, x, &[s, t]);
                let dt = tape.sub(t, s);
                let w = tape.mul(dt, v);
                let xst = tape.exp(&s2, x, w);
                let one = tape.constant(&st.ones, N, 1);
                let dx = tape.jvp1(xst, &[t], &[one]);
                let xs = tape.stop_gradient(xst);
                let y = tape.constant(&st.y, N, 3);
                let target = tape.project_tangent(&s2, xs, y);
                let r = tape.sub(dx, target);
                let r2 = tape.inner(&s2, xs, r, r);
                let loss = tape.mean(r2);
                tape.backward_into(loss, &mut grads);
                st.opt.step(&mut st.ps, &grads);
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
