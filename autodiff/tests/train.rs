//! End-to-end: a tiny regression, flow matching on S², a flow-map (Lagrangian) loss trained
//! through a JVP, optimiser pieces and safetensors round trips.

mod common;
use common::rng;
use geoflow_autodiff::{
    io, Activation, Adam, AdamConfig, Ema, EmbeddingKind, Mlp, MlpConfig, Params, Schedule,
    TangentMlp, Tape,
};
use geoflow_manifolds::{prelude::*, Sphere};
use rand::Rng;

fn regression_losses(seed: u64, steps: usize) -> Vec<f64> {
    let mut r = rng(seed);
    let mut ps = Params::<f64>::new();
    let cfg = MlpConfig {
        input: 1,
        hidden: vec![32, 32],
        output: 1,
        activation: Activation::Tanh,
        residual: true,
        time: None,
        zero_last: false,
    };
    let net = Mlp::new(&mut ps, "net", cfg, &mut r);
    let xs: Vec<f64> = (0..64).map(|i| -1.0 + 2.0 * i as f64 / 63.0).collect();
    let ys: Vec<f64> = xs.iter().map(|x| (3.0 * x).sin()).collect();
    let mut opt =
        Adam::new(AdamConfig::adam(1e-2).clip(10.0), &ps).with_schedule(Schedule::Cosine {
            warmup: 10,
            total: steps as u64,
            min_factor: 0.1,
        });
    let mut tape = Tape::new();
    let mut grads = geoflow_autodiff::Grads::new();
    let mut losses = Vec::new();
    for _ in 0..steps {
        tape.reset();
        ps.bind(&mut tape);
        let x = tape.constant(&xs, 64, 1);
        let y = tape.constant(&ys, 64, 1);
        let p = net.forward(&mut tape, &ps, x, &[]);
        let e = tape.sub(p, y);
        let e2 = tape.square(e);
        let loss = tape.mean(e2);
        losses.push(tape.scalar_value(loss));
        tape.backward_into(loss, &mut grads);
        opt.step(&mut ps, &grads);
    }
    losses
}

#[test]
fn tiny_regression_loss_decreases_deterministically() {
    let a = regression_losses(42, 300);
    let b = regression_losses(42, 300);
    assert_eq!(a, b, "same seed, same losses");
    let (first, last) = (a[0], *a.last().unwrap());
    assert!(last < 0.02 * first, "loss {first} -> {last}");
}

fn sphere_fm_losses(seed: u64, steps: usize) -> Vec<f32> {
    let s2 = Sphere::<f32>::new(2).unwrap();
    let mut r = rng(seed);
    let mut ps = Params::<f32>::new();
    let mut cfg = MlpConfig::flow(3, 3, 64, 2, 1);
    cfg.time = Some((EmbeddingKind::Fourier { sigma: 1.0 }, 16, 1));
    let net = TangentMlp::new(Mlp::new(&mut ps, "v", cfg, &mut r));
    let mut opt = Adam::new(AdamConfig::adam(3e-3), &ps);
    let n = 128;
    let (mut x0, mut x1, mut t) = (vec![0.0f32; 3 * n], vec![0.0f32; 3 * n], vec![0.0f32; n]);
    let mut tape = Tape::new();
    let mut grads = geoflow_autodiff::Grads::new();
    let mut losses = Vec::new();
    for _ in 0..steps {
        s2.sample_base_batch_into(&mut r, &mut x0);
        // Data: a cap around the north pole.
        for row in x1.chunks_exact_mut(3) {
            let v = [
                0.3 * f32::standard_normal(&mut r),
                0.3 * f32::standard_normal(&mut r),
                1.0,
            ];
            let k = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            row.iter_mut().zip(v).for_each(|(o, x)| *o = x / k);
        }
        t.iter_mut().for_each(|x| *x = r.random_range(0.0..1.0));
        tape.reset();
        ps.bind(&mut tape);
        let (a, b, tt) = (
            tape.constant(&x0, n, 3),
            tape.constant(&x1, n, 3),
            tape.constant(&t, n, 1),
        );
        let xt = tape.geodesic(&s2, a, b, tt);
        let ut = tape.geodesic_velocity(&s2, a, b, tt);
        let v = net.forward(&mut tape, &ps, &s2, xt, &[tt]);
        let e = tape.sub(v, ut);
        let e2 = tape.inner(&s2, xt, e, e);
        let loss = tape.mean(e2);
        losses.push(tape.scalar_value(loss));
        tape.backward_into(loss, &mut grads);
        opt.step(&mut ps, &grads);
    }
    losses
}

#[test]
fn flow_matching_on_the_sphere_decreases_deterministically() {
    let a = sphere_fm_losses(7, 150);
    assert_eq!(a, sphere_fm_losses(7, 150));
    let head: f32 = a[..15].iter().sum::<f32>() / 15.0;
    let tail: f32 = a[a.len() - 15..].iter().sum::<f32>() / 15.0;
    assert!(tail < 0.7 * head, "loss {head} -> {tail}");
}

/// The G-LSD loss: X = exp_x((t - s) P_x f(x, s, t)), residual ∂ₜX - (a fixed field).
fn lsd_loss(
    ps: &mut Params<f64>,
    net: &TangentMlp<f64>,
    s2: &Sphere<f64>,
    x: &[f64],
    s: &[f64],
    t: &[f64],
) -> (f64, Vec<f64>) {
    let n = s.len();
    let mut tape = Tape::new();
    ps.bind(&mut tape);
    let xv = tape.constant(x, n, 3);
    let sv = tape.constant(s, n, 1);
    let tv = tape.leaf(t, n, 1);
    let v = net.forward(&mut tape, ps, s2, xv, &[sv, tv]);
    let dt = tape.sub(tv, sv);
    let w = tape.mul(dt, v);
    let xst = tape.exp(s2, xv, w);
    let one = tape.full(n, 1, 1.0);
    let dx = tape.jvp1(xst, &[tv], &[one]);
    // The teacher sg[v_{t,t}(sg[X])] is a stop-gradient target; finite differences perturb
    // what the teacher sees too, so for this check it is a fixed field and nothing is detached.
    let teacher = tape.constant(&x.iter().map(|v| 0.3 * v.cos()).collect::<Vec<_>>(), n, 3);
    let r = tape.sub(dx, teacher);
    let r2 = tape.inner(s2, xst, r, r);
    let loss = tape.mean(r2);
    let g = tape.backward(loss);
    let id = ps.id("f.1.weight").unwrap();
    (tape.scalar_value(loss), ps.grad(&g, id).unwrap().to_vec())
}

#[test]
fn lagrangian_flow_map_gradient_matches_finite_differences() {
    let s2 = Sphere::<f64>::new(2).unwrap();
    let mut r = rng(3);
    let mut ps = Params::<f64>::new();
    let mut cfg = MlpConfig::flow(3, 3, 16, 2, 2);
    cfg.time = Some((
        EmbeddingKind::Sinusoidal {
            scale: 10.0,
            max_period: 100.0,
        },
        8,
        2,
    ));
    let net = TangentMlp::new(Mlp::new(&mut ps, "f", cfg, &mut r));
    let n = 5;
    let mut x = vec![0.0; 3 * n];
    s2.sample_base_batch_into(&mut r, &mut x);
    let t: Vec<f64> = (0..n).map(|i| 0.3 + 0.1 * i as f64).collect();
    let s: Vec<f64> = t
        .iter()
        .enumerate()
        .map(|(i, &t)| if i == 0 { t - 1e-7 } else { 0.5 * t })
        .collect();
    let (_, g) = lsd_loss(&mut ps, &net, &s2, &x, &s, &t);
    let id = ps.id("f.1.weight").unwrap();
    for k in [0, 5, 17, 100] {
        let h = 1e-6;
        let orig = ps.get(id)[k];
        ps.get_mut(id)[k] = orig + h;
        let lp = lsd_loss(&mut ps, &net, &s2, &x, &s, &t).0;
        ps.get_mut(id)[k] = orig - h;
        let lm = lsd_loss(&mut ps, &net, &s2, &x, &s, &t).0;
        ps.get_mut(id)[k] = orig;
        let fd = (lp - lm) / (2.0 * h);
        assert!(
            (g[k] - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
            "entry {k}: tape {} vs finite differences {fd}",
            g[k]
        );
    }
}

#[test]
fn schedules_and_ema() {
    let c = Schedule::Cosine {
        warmup: 10,
        total: 110,
        min_factor: 0.1,
    };
    assert!((c.factor(0) - 0.1).abs() < 1e-12);
    assert!((c.factor(9) - 1.0).abs() < 1e-12);
    assert!((c.factor(10) - 1.0).abs() < 1e-12);
    assert!((c.factor(60) - 0.55).abs() < 1e-12);
    assert!((c.factor(110) - 0.1).abs() < 1e-12);
    assert!((c.factor(1000) - 0.1).abs() < 1e-12);
    assert_eq!(Schedule::Warmup { warmup: 4 }.factor(1), 0.5);
    let mut ps = Params::<f64>::new();
    let id = ps.add("a", 1, 2, vec![1.0, 2.0]);
    let mut ema = Ema::new(&ps, 0.5);
    ps.get_mut(id).copy_from_slice(&[3.0, 4.0]);
    ema.update(&ps);
    assert_eq!(ema.params().get(id), &[2.0, 3.0]);
}

#[test]
fn adamw_clipping_and_first_step() {
    // The first Adam step moves every coordinate by lr·sign(g) (bias-corrected), whatever the
    // clipping; AdamW also shrinks by lr·wd.
    let mut ps = Params::<f64>::new();
    let id = ps.add("w", 1, 3, vec![1.0, -2.0, 0.5]);
    let mut tape = Tape::new();
    ps.bind(&mut tape);
    let c = tape.constant(&[100.0, -3.0, 0.0], 1, 3);
    let p = tape.mul(ps.var(id), c);
    let l = tape.sum(p);
    let g = tape.backward(l);
    let mut opt = Adam::new(AdamConfig::adamw(0.1, 0.01).clip(1.0), &ps);
    let info = opt.step(&mut ps, &g);
    assert!((info.grad_norm - (100.0f64 * 100.0 + 9.0).sqrt()).abs() < 1e-9);
    let w = ps.get(id);
    assert!((w[0] - (1.0 * 0.999 - 0.1)).abs() < 1e-6, "{w:?}");
    assert!((w[1] - (-2.0 * 0.999 + 0.1)).abs() < 1e-6, "{w:?}");
    assert!((w[2] - 0.5 * 0.999).abs() < 1e-9, "{w:?}");
}

#[test]
fn safetensors_round_trip_atomically() {
    let dir = std::env::temp_dir().join(format!("geoflow-autodiff-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("params.safetensors");
    let mut r = rng(5);
    let mut ps = Params::<f32>::new();
    let _net = Mlp::new(&mut ps, "net", MlpConfig::flow(3, 3, 8, 2, 1), &mut r);
    io::save(&ps, &path).unwrap();
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    let back = io::load::<f32>(&path).unwrap();
    for id in ps.ids() {
        let b = back.id(ps.name(id)).unwrap();
        assert_eq!(back.shape(b), ps.shape(id));
        assert_eq!(back.get(b), ps.get(id));
    }
    let mut again = ps.clone();
    again.get_mut(again.ids().next().unwrap()).fill(0.0);
    io::load_into(&mut again, &path).unwrap();
    for id in ps.ids() {
        assert_eq!(again.get(id), ps.get(id));
    }
    assert!(
        io::load::<f64>(&path).is_err(),
        "dtype mismatch is an error"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exact_rotation_flow_has_zero_lagrangian_residual() {
    // On the equator of S², X_{s,t}(x) = exp_x((t - s) ω × x) is the rotation about e_z, so
    // ∂ₜX = ω × X exactly: the taped JVP through the fused exp must reproduce it.
    let s2 = Sphere::<f64>::new(2).unwrap();
    let n = 6;
    let x: Vec<f64> = (0..n)
        .flat_map(|i| {
            let a = i as f64;
            [a.cos(), a.sin(), 0.0]
        })
        .collect();
    let s: Vec<f64> = (0..n).map(|i| 0.1 * i as f64).collect();
    let t: Vec<f64> = (0..n)
        .map(|i| if i == 0 { 0.0 } else { 0.9 - 0.05 * i as f64 })
        .collect();
    let rot = [0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0]; // x·M = e_z × x
    let mut tape = Tape::new();
    let xv = tape.constant(&x, n, 3);
    let sv = tape.constant(&s, n, 1);
    let tv = tape.leaf(&t, n, 1);
    let m = tape.constant(&rot, 3, 3);
    let v = tape.matmul(xv, m);
    let dt = tape.sub(tv, sv);
    let w = tape.mul(dt, v);
    let xst = tape.exp(&s2, xv, w);
    let one = tape.full(n, 1, 1.0);
    let dx = tape.jvp1(xst, &[tv], &[one]);
    let target = tape.matmul(xst, m);
    for (a, b) in tape.value(dx).iter().zip(tape.value(target)) {
        assert!((a - b).abs() < 1e-13, "{a} vs {b}");
    }
    // Untaped (fused closed-form JVP) agrees.
    let mut out = vec![0.0; 3 * n];
    tape.jvp_value_into(xst, &[tv], &[one], &mut out);
    for (a, b) in out.iter().zip(tape.value(target)) {
        assert!((a - b).abs() < 1e-13, "{a} vs {b}");
    }
}

#[test]
fn f32_flow_map_gradients_at_t_equal_s_are_finite_and_match_f64() {
    // t = s gives w = 0 in exp_x(w): the reverse-over-forward path goes through the sinc family
    // at 0 in both precisions.
    fn grads<T: geoflow_autodiff::Element>(x: &[T]) -> Vec<T> {
        let s2 = Sphere::<T>::new(2).unwrap();
        let mut tape = Tape::new();
        let xv = tape.constant(x, 2, 3);
        let u = tape.leaf(
            &[
                T::c(0.3),
                T::c(-0.2),
                T::c(0.1),
                T::c(0.0),
                T::c(0.4),
                T::c(0.2),
            ],
            2,
            3,
        );
        let v = tape.project_tangent(&s2, xv, u);
        let tv = tape.constant(&[T::c(0.5), T::c(0.25)], 2, 1);
        let sv = tape.constant(&[T::c(0.5), T::c(0.25)], 2, 1);
        let dt = tape.sub(tv, sv);
        let w = tape.mul(dt, v);
        let xst = tape.exp(&s2, xv, w);
        let one = tape.full(2, 1, T::one());
        let dx = tape.jvp1(xst, &[tv], &[one]);
        let r = tape.row_sq(dx);
        let l = tape.sum(r);
        tape.backward(l).wrt(u).to_vec()
    }
    let k = (1.0f64 / 3.0).sqrt();
    let x64 = [1.0, 0.0, 0.0, k, k, k];
    let g64 = grads::<f64>(&x64);
    let g32 = grads::<f32>(&x64.map(|v| v as f32));
    for (a, b) in g32.iter().zip(&g64) {
        assert!(
            a.is_finite() && (*a as f64 - b).abs() < 1e-6 * (1.0 + b.abs()),
            "{a} vs {b}"
        );
    }
}
