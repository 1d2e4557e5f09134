//! A training step (forward, backward, Adam) and a flow-map step (a JVP in time, trained
//! through) allocate nothing after warm-up.

use geoflow_autodiff::{
    gemm_calls, Adam, AdamConfig, Grads, Mlp, MlpConfig, Params, TangentMlp, Tape,
};
use geoflow_manifolds::Sphere;
use rand::SeedableRng;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn training_steps_allocate_nothing_after_warm_up() {
    let s2 = Sphere::<f32>::new(2).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut ps = Params::<f32>::new();
    let net = TangentMlp::new(Mlp::new(
        &mut ps,
        "v",
        MlpConfig::flow(3, 3, 32, 3, 2),
        &mut rng,
    ));
    let mut opt = Adam::new(AdamConfig::adamw(1e-3, 1e-4).clip(1.0), &ps);
    let n = 64;
    let x: Vec<f32> = (0..n * 3)
        .map(|i| if i % 3 == 2 { 1.0 } else { 0.0 })
        .collect();
    let s: Vec<f32> = (0..n).map(|i| i as f32 / (2 * n) as f32).collect();
    let t: Vec<f32> = (0..n).map(|i| 0.5 + i as f32 / (2 * n) as f32).collect();
    let ones = vec![1.0f32; n];
    let mut tape = Tape::new();
    let mut grads = Grads::new();
    let mut step = || {
        let tape = &mut tape;
        tape.reset();
        ps.bind(tape);
        let xv = tape.constant(&x, n, 3);
        let sv = tape.constant(&s, n, 1);
        let tv = tape.constant(&t, n, 1);
        let v = net.forward(tape, &ps, &s2, xv, &[sv, tv]);
        let dt = tape.sub(tv, sv);
        let w = tape.mul(dt, v);
        let xst = tape.exp(&s2, xv, w);
        let one = tape.constant(&ones, n, 1);
        let dx = tape.jvp1(xst, &[tv], &[one]);
        let xs = tape.stop_gradient(xst);
        let r = tape.sub(dx, xs);
        let r2 = tape.row_sq(r);
        let loss = tape.mean(r2);
        tape.backward_into(loss, &mut grads);
        opt.step(&mut ps, &grads);
    };
    for _ in 0..3 {
        step();
    }
    let calls = gemm_calls();
    let region = Region::new(GLOBAL);
    for _ in 0..5 {
        step();
    }
    let stats = region.change();
    let calls = gemm_calls() - calls;
    // The tape, the JVP, backward, Adam and faer's sequential matrix products (faer 0.24,
    // `Par::Seq`) allocate nothing after warm-up.
    assert!(calls > 0);
    assert_eq!(
        (
            stats.allocations,
            stats.reallocations,
            stats.bytes_allocated
        ),
        (0, 0, 0),
        "heap traffic after warm-up ({calls} matrix products): {stats:?}"
    );
    eprintln!("5 steps: {calls} matrix products, {stats:?}");
}
