//! Composite forms of the hyperbolic models, products and powers (and the sphere's log at
//! p = q): composite = fused (values, gradients, JVPs), derivatives against finite differences,
//! reverse-over-forward through a JVP in time, v = 0, p = q, far points, and a tangent network
//! trained through a taped JVP of exp.

mod common;
use common::*;
use geoflow_autodiff::{
    EmbeddingKind, Mlp, MlpConfig, Params, TangentMlp, Tape, TapeManifold, Var,
};
use geoflow_manifolds::{
    prelude::*, Euclidean, FlatTorus, Lorentz, PoincareBall, Power, Product, Sphere,
};

fn leak<M>(m: M) -> &'static M {
    Box::leak(Box::new(m))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// Random points of `m`: raw coordinates in `[-s, s]` projected onto the manifold.
fn points(m: &impl Manifold<Scalar = f64>, n: usize, seed: u64, s: f64) -> Vec<f64> {
    let mut g = rng(seed);
    let x = randv(&mut g, n * m.ambient_dim(), -s, s);
    let mut out = vec![0.0; x.len()];
    m.project_point_batch_into(&x, &mut out);
    out
}

fn tangents(m: &impl Manifold<Scalar = f64>, ps: &[f64], seed: u64, s: f64) -> Vec<f64> {
    let mut g = rng(seed);
    let u = randv(&mut g, ps.len(), -s, s);
    let mut out = vec![0.0; ps.len()];
    m.project_tangent_batch_into(ps, &u, &mut out);
    out
}

/// `exp_p(v)` row by row, for pairs at a prescribed distance.
fn exps(m: &impl Manifold<Scalar = f64>, ps: &[f64], vs: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; ps.len()];
    m.exp_batch_into(ps, vs, &mut out);
    out
}

/// Rescales each row of the tangent batch `vs` at `ps` to Riemannian length `len`.
fn with_length(m: &impl Manifold<Scalar = f64>, ps: &[f64], vs: &mut [f64], len: f64) {
    let d = m.ambient_dim();
    for (p, v) in ps.chunks_exact(d).zip(vs.chunks_exact_mut(d)) {
        let r = m.norm(p, v);
        v.iter_mut().for_each(|x| *x *= len / r);
    }
}

fn lorentz_point_at(r: f64, dir: &[f64]) -> Vec<f64> {
    let nd = dir.iter().map(|x| x * x).sum::<f64>().sqrt();
    let xb: Vec<f64> = dir.iter().map(|x| r.sinh() * x / nd).collect();
    let x0 = (1.0 + xb.iter().map(|x| x * x).sum::<f64>()).sqrt();
    std::iter::once(x0).chain(xb).collect()
}

fn value_and_grads(f: &Build, xs: &[Input]) -> (Vec<f64>, Vec<f64>) {
    let mut tape = Tape::new();
    let vars: Vec<Var> = xs
        .iter()
        .map(|x| tape.leaf(&x.data, x.rows, x.cols))
        .collect();
    let y = f(&mut tape, &vars);
    let (r, c) = tape.shape(y);
    let w: Vec<f64> = (0..r * c).map(|i| ((i * 7 % 5) as f64) - 1.7).collect();
    let wv = tape.constant(&w, r, c);
    let pr = tape.mul(y, wv);
    let l = tape.sum(pr);
    let g = tape.backward(l);
    let mut grads = Vec::new();
    for (&v, x) in vars.iter().zip(xs) {
        match g.get(v) {
            Some(gv) => grads.extend_from_slice(gv),
            None => grads.extend(std::iter::repeat_n(0.0, x.data.len())),
        }
    }
    (tape.value(y).to_vec(), grads)
}

/// Taped JVP of `f` (through the composites) and the untaped one (fused `*_jvp`) along fixed
/// tangents.
fn jvps(f: &Build, xs: &[Input], seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut g = rng(seed);
    let mut tape = Tape::new();
    let vars: Vec<Var> = xs
        .iter()
        .map(|x| tape.leaf(&x.data, x.rows, x.cols))
        .collect();
    let tans: Vec<Var> = xs
        .iter()
        .map(|x| {
            let u = randv(&mut g, x.data.len(), -1.0, 1.0);
            tape.constant(&u, x.rows, x.cols)
        })
        .collect();
    let y = f(&mut tape, &vars);
    let dy = tape.jvp1(y, &vars, &tans);
    let taped = tape.value(dy).to_vec();
    let mut fused = vec![0.0; taped.len()];
    tape.jvp_value_into(y, &vars, &tans, &mut fused);
    (taped, fused)
}

type Pair<'a> = (&'a str, Box<Build>, Box<Build>, Vec<Input>);

/// The five (fused, composite) pairs of `m` on the inputs.
fn pairs<M: TapeManifold<f64>>(
    m: &'static M,
    p: &Input,
    q: &Input,
    v: &Input,
) -> Vec<Pair<'static>> {
    vec![
        (
            "exp",
            Box::new(move |tp: &mut Tape<f64>, x: &[Var]| tp.exp(m, x[0], x[1])),
            Box::new(move |tp: &mut Tape<f64>, x: &[Var]| tp.exp_composite(m, x[0], x[1])),
            vec![p.clone(), v.clone()],
        ),
        (
            "log",
            Box::new(move |tp: &mut Tape<f64>, x: &[Var]| tp.log(m, x[0], x[1])),
            Box::new(move |tp: &mut Tape<f64>, x: &[Var]| tp.log_composite(m, x[0], x[1])),
            vec![p.clone(), q.clone()],
        ),
        (
            "dist",
            Box::new(move |tp: &mut Tape<f64>, x: &[Var]| tp.dist(m, x[0], x[1])),
            Box::new(move |tp: &mut Tape<f64>, x: &[Var]| tp.dist_composite(m, x[0], x[1])),
            vec![p.clone(), q.clone()],
        ),
        (
            "inner",
            Box::new(move |tp: &mut Tape<f64>, x: &[Var]| tp.inner(m, x[0], x[1], x[2])),
            Box::new(move |tp: &mut Tape<f64>, x: &[Var]| tp.inner_composite(m, x[0], x[1], x[2])),
            vec![p.clone(), v.clone(), q.clone()],
        ),
        (
            "project_tangent",
            Box::new(move |tp: &mut Tape<f64>, x: &[Var]| tp.project_tangent(m, x[0], x[1])),
            Box::new(move |tp: &mut Tape<f64>, x: &[Var]| {
                tp.project_tangent_composite(m, x[0], x[1])
            }),
            vec![p.clone(), q.clone()],
        ),
    ]
}

/// Composite = fused: values (1e-12), gradients (VJPs, 1e-10) and JVPs (taped through the
/// composite vs the fused `*_jvp`, 1e-10); `skip` names ops whose comparison is not meaningful.
fn composite_equals_fused<M: TapeManifold<f64>>(
    name: &str,
    m: &'static M,
    p: &Input,
    q: &Input,
    v: &Input,
    skip: &[&str],
) {
    for (what, fused, comp, xs) in pairs(m, p, q, v) {
        if skip.contains(&what) {
            continue;
        }
        let (a, ga) = value_and_grads(&*fused, &xs);
        let (b, gb) = value_and_grads(&*comp, &xs);
        for (x, y) in a.iter().zip(&b) {
            assert!(
                close(*x, *y, 1e-12),
                "{name} {what}: fused {x} vs composite {y}"
            );
        }
        for (x, y) in ga.iter().zip(&gb) {
            assert!(
                close(*x, *y, 1e-10),
                "{name} {what} gradient: fused {x} vs composite {y}"
            );
        }
        let (taped, fj) = jvps(&*fused, &xs, 5);
        let (comp_taped, _) = jvps(&*comp, &xs, 5);
        for ((x, y), z) in taped.iter().zip(&fj).zip(&comp_taped) {
            assert!(x.is_finite() && y.is_finite(), "{name} {what}: JVP {x} {y}");
            assert!(
                close(*x, *y, 1e-10),
                "{name} {what} JVP: taped {x} vs fused {y}"
            );
            assert_eq!(
                x, z,
                "{name} {what}: taped JVP of fused node = of the composite"
            );
        }
    }
}

/// The finite-difference battery (VJP, taped JVP, untaped JVP, duality, reverse-over-forward)
/// on every fused primitive of `m`.
fn fd_battery<M: TapeManifold<f64>>(name: &str, m: &'static M, p: &Input, q: &Input, v: &Input) {
    fd_battery_tol(name, m, p, q, v, 1e-6, &[])
}

/// For far points: the composite's own values carry an absolute rounding of about
/// $\varepsilon x_0^2$ times their size (module docs of `geometry`), which central differences
/// amplify by $1/h$; its derivatives are checked through the fused ops there (taped JVP =
/// composite derivative against differences of the accurate fused values).
const FUSED_ONLY: &str = "fused only";

fn fd_battery_tol<M: TapeManifold<f64>>(
    name: &str,
    m: &'static M,
    p: &Input,
    q: &Input,
    v: &Input,
    tol: f64,
    skip: &[&str],
) {
    for (what, fused, comp, xs) in pairs(m, p, q, v) {
        if skip.contains(&what) {
            continue;
        }
        check_all_tol(&format!("{name} {what}"), &*fused, &xs, 11, tol);
        if !skip.contains(&FUSED_ONLY) {
            check_all_tol(&format!("{name} {what} (composite)"), &*comp, &xs, 12, tol);
        }
    }
    if !skip.contains(&"geodesic") {
        let n = p.rows;
        let t = input(
            (0..n).map(|i| 0.2 + 0.6 * i as f64 / n as f64).collect(),
            n,
            1,
        );
        check_all_tol(
            &format!("{name} geodesic"),
            &|tp: &mut Tape<f64>, x: &[Var]| tp.geodesic(m, x[0], x[1], x[2]),
            &[p.clone(), q.clone(), t],
            13,
            tol,
        );
    }
}

/// Reverse-over-forward in a scalar time: $L = \sum w \odot \partial_t\exp_p(t v)$ at per-row
/// times `t`; its gradients in `p` and `v` against central differences of $L$ (the JVP value
/// itself is checked against finite differences by the battery). Returns the JVP values.
fn time_jvp_loss<M: TapeManifold<f64>>(
    name: &str,
    m: &'static M,
    ps: &[f64],
    vs: &[f64],
    ts: &[f64],
) -> Vec<f64> {
    time_jvp_loss_tol(name, m, ps, vs, ts, 1e-6)
}

fn time_jvp_loss_tol<M: TapeManifold<f64>>(
    name: &str,
    m: &'static M,
    ps: &[f64],
    vs: &[f64],
    ts: &[f64],
    tol: f64,
) -> Vec<f64> {
    let d = m.ambient_dim();
    let n = ps.len() / d;
    let w: Vec<f64> = (0..n * d)
        .map(|i| ((i * 5 % 7) as f64) / 3.0 - 1.0)
        .collect();
    let run = |ps: &[f64], vs: &[f64], grads: bool| {
        let mut tape = Tape::new();
        let p = tape.leaf(ps, n, d);
        let v = tape.leaf(vs, n, d);
        let t = tape.leaf(ts, n, 1);
        let tv = tape.mul(t, v);
        let e = tape.exp(m, p, tv);
        let ones = vec![1.0; n];
        let one = tape.constant(&ones, n, 1);
        let de = tape.jvp1(e, &[t], &[one]);
        let wv = tape.constant(&w, n, d);
        let pr = tape.mul(de, wv);
        let l = tape.sum(pr);
        let val = tape.scalar_value(l);
        let dev = tape.value(de).to_vec();
        if !grads {
            return (val, dev, vec![], vec![]);
        }
        let g = tape.backward(l);
        (val, dev, g.wrt(p).to_vec(), g.wrt(v).to_vec())
    };
    let (_, de, gp, gv) = run(ps, vs, true);
    assert!(
        de.iter().chain(&gp).chain(&gv).all(|x| x.is_finite()),
        "{name}: non-finite time JVP or gradients"
    );
    let h = 1e-5;
    for (k, g) in [(0, &gp), (1, &gv)] {
        for i in 0..ps.len() {
            let (mut a, mut b) = ((ps.to_vec(), vs.to_vec()), (ps.to_vec(), vs.to_vec()));
            if k == 0 {
                a.0[i] += h;
                b.0[i] -= h;
            } else {
                a.1[i] += h;
                b.1[i] -= h;
            }
            let fd = (run(&a.0, &a.1, false).0 - run(&b.0, &b.1, false).0) / (2.0 * h);
            assert!(
                close(g[i], fd, tol),
                "{name}: d/d{} of <w, d/dt exp_p(t v)> entry {i}: tape {} vs finite differences {fd}",
                ["p", "v"][k],
                g[i]
            );
        }
    }
    de
}

fn lorentz_inputs(
    m: &Lorentz<f64>,
    n: usize,
    seed: u64,
    spread: f64,
    step: f64,
) -> (Input, Input, Input) {
    let d = m.ambient_dim();
    let ps = points(m, n, seed, spread);
    let qs = points(m, n, seed + 1, spread);
    let vs = tangents(m, &ps, seed + 2, step);
    (input(ps, n, d), input(qs, n, d), input(vs, n, d))
}

#[test]
fn lorentz_composites() {
    let m = leak(Lorentz::<f64>::new(3).unwrap());
    let (p, q, v) = lorentz_inputs(m, 3, 1, 1.0, 0.8);
    composite_equals_fused("lorentz", m, &p, &q, &v, &[]);
    fd_battery("lorentz", m, &p, &q, &v);
}

#[test]
fn lorentz_at_zero_tangent_and_equal_points() {
    let m = leak(Lorentz::<f64>::new(2).unwrap());
    let (p, _, v) = lorentz_inputs(m, 2, 3, 1.2, 0.5);
    let zero = input(vec![0.0; p.data.len()], p.rows, p.cols);
    // p = q and v = 0: the maps are smooth there in the spatial chart, so the whole battery
    // (reverse-over-forward included) applies, except dist (|·|-like at 0).
    composite_equals_fused("lorentz p = q", m, &p, &p, &zero, &[]);
    fd_battery_tol("lorentz p = q, v = 0", m, &p, &p, &zero, 1e-6, &["dist"]);
    // log at p = q: derivative = (tangent lifts of) q̇ − ṗ.
    let mut tape = Tape::<f64>::new();
    let (pv, qv) = (
        tape.leaf(&p.data, p.rows, p.cols),
        tape.leaf(&p.data, p.rows, p.cols),
    );
    let dq = tape.constant(&v.data, v.rows, v.cols);
    let l = tape.log(m, pv, qv);
    let dl = tape.jvp1(l, &[qv], &[dq]);
    for (a, b) in tape.value(dl).iter().zip(&v.data) {
        assert!((a - b).abs() < 1e-14, "{a} vs {b}");
    }
    // dist at p = q: zero subgradient, finite second-order terms.
    let d = tape.dist(m, pv, qv);
    let dd = tape.jvp1(d, &[qv], &[dq]);
    assert!(tape.value(dd).iter().all(|&x| x == 0.0));
    let s = tape.sum(d);
    let s2 = tape.sum(dl);
    let loss = tape.add(s, s2);
    let g = tape.backward(loss);
    assert!(g.wrt(pv).iter().chain(g.wrt(qv)).all(|x| x.is_finite()));
    // exp at v = 0 through the time JVP.
    let ts = vec![0.0, 0.3];
    let de = time_jvp_loss("lorentz exp_p(t v)", m, &p.data, &v.data, &ts);
    // At t = 0 the velocity is v; at any t its Lorentz norm is ‖v‖_L.
    for (i, (row, vr)) in de.chunks_exact(3).zip(v.data.chunks_exact(3)).enumerate() {
        let mink = |a: &[f64], b: &[f64]| -a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        assert!(close(mink(row, row), mink(vr, vr), 1e-12), "speed, row {i}");
        if ts[i] == 0.0 {
            assert!(row.iter().zip(vr).all(|(a, b)| (a - b).abs() < 1e-14));
        }
    }
    let zs = vec![0.0; v.data.len()];
    time_jvp_loss("lorentz exp_p(t 0)", m, &p.data, &zs, &ts);
}

/// Unit direction at angle `phi` in the plane of the first two axes.
fn dir2(phi: f64) -> [f64; 2] {
    [phi.cos(), phi.sin()]
}

/// The angle between two points at hyperbolic radius `r` that are `d` apart:
/// $\cosh d = \cosh^2 r - \sinh^2 r\cos\varphi$.
fn angle_for(r: f64, d: f64) -> f64 {
    ((r.cosh().powi(2) - d.cosh()) / r.sinh().powi(2)).acos()
}

#[test]
fn lorentz_far_points() {
    // Distance 5: from the origin to radius 5, and between two points at radius 5 (x0 ≈ 74).
    let m = leak(Lorentz::<f64>::new(2).unwrap());
    let phi = angle_for(5.0, 5.0);
    let ps = [
        lorentz_point_at(0.0, &[1.0, 0.0]),
        lorentz_point_at(5.0, &dir2(0.4)),
        lorentz_point_at(5.0, &dir2(1.0)),
    ]
    .concat();
    let qs = [
        lorentz_point_at(5.0, &dir2(2.0)),
        lorentz_point_at(5.0, &dir2(0.4 + phi)),
        lorentz_point_at(5.0, &dir2(1.0 - phi)),
    ]
    .concat();
    for (a, b) in ps.chunks_exact(3).zip(qs.chunks_exact(3)) {
        assert!((m.dist(a, b) - 5.0).abs() < 1e-12, "{}", m.dist(a, b));
    }
    let mut vs = tangents(m, &ps, 21, 1.0);
    with_length(m, &ps, &mut vs, 5.0);
    let (p, q, v) = (
        input(ps.clone(), 3, 3),
        input(qs, 3, 3),
        input(vs.clone(), 3, 3),
    );
    composite_equals_fused("lorentz far", m, &p, &q, &v, &[]);
    // The geodesic's taped JVP (composite log then exp) agrees with the fused one to about
    // 1e-11 relative here (ε x0² of the composites), above the battery's 1e-12 duality bar.
    fd_battery_tol(
        "lorentz far",
        m,
        &p,
        &q,
        &v,
        1e-5,
        &[FUSED_ONLY, "geodesic"],
    );
    let t = input(vec![0.2, 0.5, 0.9], 3, 1);
    let geo: &Build = &|tp: &mut Tape<f64>, x: &[Var]| tp.geodesic(m, x[0], x[1], x[2]);
    let (taped, fused) = jvps(geo, &[p.clone(), q.clone(), t], 7);
    let scale = fused.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    for (a, b) in taped.iter().zip(&fused) {
        assert!(
            (a - b).abs() <= 1e-10 * scale,
            "far geodesic JVP: taped {a} vs fused {b}"
        );
    }
    let mut tape = Tape::<f64>::new();
    let (a, b) = (tape.leaf(&p.data, 3, 3), tape.leaf(&q.data, 3, 3));
    let d = tape.dist_composite(m, a, b);
    assert!(tape.value(d).iter().all(|x| (x - 5.0).abs() < 1e-12));
    let l = tape.log_composite(m, a, b);
    let nl = tape.inner_composite(m, a, l, l);
    assert!(tape.value(nl).iter().all(|x| (x - 25.0).abs() < 1e-9));
    time_jvp_loss_tol(
        "lorentz far exp_p(t v)",
        m,
        &ps,
        &vs,
        &[0.5, 1.0, 0.0],
        1e-5,
    );
}

fn ball_inputs(
    m: &PoincareBall<f64>,
    n: usize,
    seed: u64,
    s: f64,
    step: f64,
) -> (Input, Input, Input) {
    let d = m.ambient_dim();
    let ps = points(m, n, seed, s);
    let qs = points(m, n, seed + 1, s);
    let vs = tangents(m, &ps, seed + 2, step);
    (input(ps, n, d), input(qs, n, d), input(vs, n, d))
}

#[test]
fn poincare_composites() {
    let m = leak(PoincareBall::<f64>::new(3).unwrap());
    let (p, q, v) = ball_inputs(m, 3, 31, 0.5, 0.4);
    composite_equals_fused("ball", m, &p, &q, &v, &[]);
    fd_battery("ball", m, &p, &q, &v);
}

#[test]
fn poincare_at_zero_tangent_equal_points_and_far() {
    let m = leak(PoincareBall::<f64>::new(2).unwrap());
    let (p, _, v) = ball_inputs(m, 2, 41, 0.5, 0.4);
    let zero = input(vec![0.0; p.data.len()], p.rows, p.cols);
    composite_equals_fused("ball p = q", m, &p, &p, &zero, &[]);
    fd_battery_tol("ball p = q, v = 0", m, &p, &p, &zero, 1e-6, &["dist"]);
    let ts = [0.0, 0.7];
    let de = time_jvp_loss("ball exp_p(t v)", m, &p.data, &v.data, &ts);
    assert!(de[..2]
        .iter()
        .zip(&v.data)
        .all(|(a, b)| (a - b).abs() < 1e-14));
    time_jvp_loss("ball exp_p(t 0)", m, &p.data, &zero.data, &ts);
    // dist at p = q: zero subgradient.
    let mut tape = Tape::<f64>::new();
    let (a, b) = (tape.leaf(&p.data, 2, 2), tape.leaf(&p.data, 2, 2));
    let d = tape.dist(m, a, b);
    let s = tape.sum(d);
    let g = tape.backward(s);
    assert!(g.wrt(a).iter().chain(g.wrt(b)).all(|&x| x == 0.0));
    // Far (distance 5): from the origin to hyperbolic radius 5 (‖p‖ = tanh 2.5), and between
    // two points at radius 5 (a_p ≈ 0.027).
    let r = 2.5f64.tanh();
    let phi = angle_for(5.0, 5.0);
    let at = |phi: f64| dir2(phi).map(|x| r * x);
    let ps = [[0.0, 0.0], at(0.3), at(2.0)].concat();
    let qs = [at(1.0), at(0.3 + phi), at(2.0 - phi)].concat();
    for (a, b) in ps.chunks_exact(2).zip(qs.chunks_exact(2)) {
        assert!((m.dist(a, b) - 5.0).abs() < 1e-12, "{}", m.dist(a, b));
    }
    let mut vs = tangents(m, &ps, 43, 1.0);
    with_length(m, &ps, &mut vs, 5.0);
    let (p, q, v) = (
        input(ps.clone(), 3, 2),
        input(qs, 3, 2),
        input(vs.clone(), 3, 2),
    );
    composite_equals_fused("ball far", m, &p, &q, &v, &[]);
    fd_battery_tol("ball far", m, &p, &q, &v, 1e-5, &[FUSED_ONLY]);
    time_jvp_loss_tol("ball far exp_p(t v)", m, &ps, &vs, &[0.5, 1.0, 0.2], 1e-5);
}

#[test]
fn product_composites() {
    let st = leak(
        Product::new(
            Sphere::<f64>::new(2).unwrap(),
            FlatTorus::<f64>::new(2).unwrap(),
        )
        .unwrap(),
    );
    let (ps, qs) = (points(st, 3, 51, 1.0), points(st, 3, 52, 1.0));
    let vs = tangents(st, &ps, 53, 0.7);
    let (p, q, v) = (input(ps, 3, 5), input(qs, 3, 5), input(vs, 3, 5));
    composite_equals_fused("S2 x T2", st, &p, &q, &v, &[]);
    fd_battery("S2 x T2", st, &p, &q, &v);

    // Nested, with the hyperbolic factors: (H² × B²) × R².
    let hb = leak(
        Product::new(
            Product::new(
                Lorentz::<f64>::new(2).unwrap(),
                PoincareBall::<f64>::new(2).unwrap(),
            )
            .unwrap(),
            Euclidean::<f64>::new(2).unwrap(),
        )
        .unwrap(),
    );
    let (ps, qs) = (points(hb, 2, 54, 0.6), points(hb, 2, 55, 0.6));
    let vs = tangents(hb, &ps, 56, 0.5);
    let d = hb.ambient_dim();
    let (p, q, v) = (
        input(ps.clone(), 2, d),
        input(qs, 2, d),
        input(vs.clone(), 2, d),
    );
    composite_equals_fused("(H2 x B2) x R2", hb, &p, &q, &v, &[]);
    fd_battery("(H2 x B2) x R2", hb, &p, &q, &v);
    time_jvp_loss("(H2 x B2) x R2 exp_p(t v)", hb, &ps, &vs, &[0.0, 0.6]);

    // Distance at p = q: zero subgradient; with one factor equal, the other carries it all.
    let mut tape = Tape::<f64>::new();
    let (a, b) = (tape.leaf(&ps, 2, d), tape.leaf(&ps, 2, d));
    let dist = tape.dist(hb, a, b);
    let dc = tape.dist_composite(hb, a, b);
    let s = tape.add(dist, dc);
    let s = tape.sum(s);
    let g = tape.backward(s);
    assert!(g.wrt(a).iter().chain(g.wrt(b)).all(|&x| x == 0.0));
    let mut q2 = ps.clone();
    q2[d + 5] += 0.3; // second row, Euclidean factor only
    let qi = input(q2, 2, d);
    let pi = input(ps.clone(), 2, d);
    let f: &Build = &|tp: &mut Tape<f64>, x: &[Var]| tp.dist(hb, x[0], x[1]);
    let c: &Build = &|tp: &mut Tape<f64>, x: &[Var]| tp.dist_composite(hb, x[0], x[1]);
    let (va, ga) = value_and_grads(f, &[pi.clone(), qi.clone()]);
    let (vb, gb) = value_and_grads(c, &[pi, qi]);
    assert_eq!(va[0], 0.0);
    assert!((va[1] - 0.3).abs() < 1e-14 && (vb[1] - 0.3).abs() < 1e-14);
    for (x, y) in ga.iter().zip(&gb) {
        assert!(x.is_finite() && close(*x, *y, 1e-12), "{x} vs {y}");
    }
}

#[test]
fn power_composites() {
    let pw = leak(Power::new(Sphere::<f64>::new(2).unwrap(), 3).unwrap());
    let (ps, qs) = (points(pw, 2, 61, 1.0), points(pw, 2, 62, 1.0));
    let vs = tangents(pw, &ps, 63, 0.7);
    let (p, q, v) = (input(ps, 2, 9), input(qs, 2, 9), input(vs, 2, 9));
    composite_equals_fused("(S2)^3", pw, &p, &q, &v, &[]);
    fd_battery("(S2)^3", pw, &p, &q, &v);

    let ph = leak(Power::new(Lorentz::<f64>::new(2).unwrap(), 2).unwrap());
    let (ps, qs) = (points(ph, 2, 64, 0.8), points(ph, 2, 65, 0.8));
    let vs = tangents(ph, &ps, 66, 0.6);
    let (p, q, v) = (
        input(ps.clone(), 2, 6),
        input(qs, 2, 6),
        input(vs.clone(), 2, 6),
    );
    composite_equals_fused("(H2)^2", ph, &p, &q, &v, &[]);
    fd_battery("(H2)^2", ph, &p, &q, &v);
    time_jvp_loss("(H2)^2 exp_p(t v)", ph, &ps, &vs, &[0.25, 0.9]);
}

#[test]
fn power_with_many_factors_records_a_fixed_graph() {
    // k = 100: the composite is recorded once on the [n k, d] batch (graph size independent of k).
    let count = |k: usize| {
        let pw = leak(Power::new(Sphere::<f64>::new(2).unwrap(), k).unwrap());
        let (ps, qs) = (points(pw, 4, 71, 1.0), points(pw, 4, 72, 1.0));
        let d = pw.ambient_dim();
        let (p, q) = (input(ps, 4, d), input(qs, 4, d));
        let vs = tangents(pw, &p.data, 73, 0.5);
        let v = input(vs, 4, d);
        composite_equals_fused(&format!("(S2)^{k}"), pw, &p, &q, &v, &[]);
        let mut tape = Tape::<f64>::new();
        let (a, b) = (tape.leaf(&p.data, 4, d), tape.leaf(&q.data, 4, d));
        let before = tape.len();
        let _ = tape.log_composite(pw, a, b);
        tape.len() - before
    };
    assert_eq!(count(2), count(100));
}

#[test]
fn sphere_log_derivative_at_equal_points() {
    // Fixed defect: the composite log had k = θ/‖w‖ = 0/0 → 0 with zero partials at p = q, so
    // the taped JVP of log there was 0 instead of P_p(q̇ − ṗ).
    let m = leak(Sphere::<f64>::new(2).unwrap());
    let ps = points(m, 2, 81, 1.0);
    let dp = tangents(m, &ps, 82, 1.0);
    let dq = tangents(m, &ps, 83, 1.0);
    let mut tape = Tape::<f64>::new();
    let (p, q) = (tape.leaf(&ps, 2, 3), tape.leaf(&ps, 2, 3));
    let (tp, tq) = (tape.constant(&dp, 2, 3), tape.constant(&dq, 2, 3));
    let l = tape.log(m, p, q);
    let dl = tape.jvp1(l, &[p, q], &[tp, tq]);
    let taped = tape.value(dl).to_vec();
    let mut fused = vec![0.0; 6];
    tape.jvp_value_into(l, &[p, q], &[tp, tq], &mut fused);
    // Along the sphere: central differences of log_{exp_p(h ṗ)} exp_p(h q̇).
    let h = 1e-5;
    let at = |s: f64| {
        let pv: Vec<f64> = dp.iter().map(|x| s * x).collect();
        let qv: Vec<f64> = dq.iter().map(|x| s * x).collect();
        let (a, b) = (exps(m, &ps, &pv), exps(m, &ps, &qv));
        let mut out = vec![0.0; 6];
        m.log_batch_into(&a, &b, &mut out);
        out
    };
    let (fp, fm) = (at(h), at(-h));
    for i in 0..6 {
        let fd = (fp[i] - fm[i]) / (2.0 * h);
        let want = dq[i] - dp[i]; // P_p(q̇ − ṗ) for tangent ṗ, q̇
        assert!(close(taped[i], want, 1e-14), "taped {} vs {want}", taped[i]);
        assert!(close(fused[i], want, 1e-14), "fused {} vs {want}", fused[i]);
        assert!(
            close(taped[i], fd, 1e-8),
            "taped {} vs finite differences {fd}",
            taped[i]
        );
    }
    // Reverse-over-forward there: finite, and along the sphere equal to finite differences of
    // g(p', q') = <c, JVP at (p', q')> with p' = exp_p(h e), q' = exp_q(h f) (p' ≠ q' there).
    let c = [0.3, -0.2, 0.5, 0.1, 0.4, -0.6];
    let g_at = |pa: &[f64], qa: &[f64], grads: bool| {
        let mut tape = Tape::<f64>::new();
        let (p, q) = (tape.leaf(pa, 2, 3), tape.leaf(qa, 2, 3));
        let (tp, tq) = (tape.constant(&dp, 2, 3), tape.constant(&dq, 2, 3));
        let l = tape.log(m, p, q);
        let dl = tape.jvp1(l, &[p, q], &[tp, tq]);
        let cv = tape.constant(&c, 2, 3);
        let pr = tape.mul(dl, cv);
        let loss = tape.sum(pr);
        let val = tape.scalar_value(loss);
        if !grads {
            return (val, vec![], vec![]);
        }
        let g = tape.backward(loss);
        (val, g.wrt(p).to_vec(), g.wrt(q).to_vec())
    };
    let (_, gp, gq) = g_at(&ps, &ps, true);
    assert!(gp.iter().chain(&gq).all(|x| x.is_finite()));
    let e = tangents(m, &ps, 84, 1.0);
    let f = tangents(m, &ps, 85, 1.0);
    let moved = |s: f64| {
        let (ev, fv): (Vec<f64>, Vec<f64>) = (
            e.iter().map(|x| s * x).collect(),
            f.iter().map(|x| s * x).collect(),
        );
        g_at(&exps(m, &ps, &ev), &exps(m, &ps, &fv), false).0
    };
    let h = 1e-5;
    let fd = (moved(h) - moved(-h)) / (2.0 * h);
    let tape_dir: f64 = gp
        .iter()
        .zip(&e)
        .chain(gq.iter().zip(&f))
        .map(|(a, b)| a * b)
        .sum();
    assert!(
        close(tape_dir, fd, 1e-7),
        "reverse-over-forward at p = q: {tape_dir} vs {fd}"
    );
}

/// A tangent network on `m`, a flow-map style loss with a taped JVP in time through exp, one
/// backward pass: every gradient finite and some nonzero.
fn tangent_mlp_end_to_end<M: TapeManifold<f64> + Sample<Scalar = f64>>(name: &str, m: &'static M) {
    let d = m.ambient_dim();
    let mut r = rng(91);
    let mut ps = Params::new();
    let mut cfg = MlpConfig::flow(d, d, 16, 2, 2);
    cfg.time = Some((
        EmbeddingKind::Sinusoidal {
            scale: 10.0,
            max_period: 100.0,
        },
        8,
        2,
    ));
    let net = TangentMlp::new(Mlp::new(&mut ps, "f", cfg, &mut r));
    let n = 6;
    let mut x = vec![0.0; n * d];
    m.sample_base_batch_into(&mut r, &mut x);
    let s: Vec<f64> = (0..n).map(|i| 0.1 * i as f64).collect();
    let t: Vec<f64> = (0..n)
        .map(|i| 0.1 * i as f64 + if i % 2 == 0 { 0.0 } else { 0.3 })
        .collect();
    let target = tangents(m, &x, 92, 0.5);
    let mut tape = Tape::<f64>::new();
    ps.bind(&mut tape);
    let xv = tape.constant(&x, n, d);
    let sv = tape.constant(&s, n, 1);
    let tv = tape.constant(&t, n, 1);
    let v = net.forward(&mut tape, &ps, m, xv, &[sv, tv]);
    // X_{s,t}(x) = exp_x((t − s) v(x, s, t)); ∂ₜ X by a taped JVP in t.
    let dt = tape.sub(tv, sv);
    let step = tape.mul(dt, v);
    let e = tape.exp(m, xv, step);
    let ones = vec![1.0; n];
    let one = tape.constant(&ones, n, 1);
    let de = tape.jvp1(e, &[tv], &[one]);
    let tg = tape.constant(&target, n, d);
    let res = tape.sub(de, tg);
    let r2 = tape.square(res);
    let l1 = tape.mean(r2);
    let l2 = tape.mean_sq_dist(m, e, xv);
    let loss = tape.add(l1, l2);
    assert!(tape.scalar_value(loss).is_finite(), "{name}: loss");
    assert!(tape.value(de).iter().all(|x| x.is_finite()), "{name}: ∂ₜX");
    let g = tape.backward(loss);
    let mut nonzero = 0;
    for id in ps.ids() {
        let gv = g.wrt(ps.var(id));
        assert!(
            gv.iter().all(|x| x.is_finite()),
            "{name}: gradient of {id:?}"
        );
        nonzero += gv.iter().filter(|&&x| x != 0.0).count();
    }
    assert!(nonzero > 0, "{name}: all gradients zero");
}

#[test]
fn tangent_mlp_on_lorentz_and_on_sphere_times_torus() {
    tangent_mlp_end_to_end("H3", leak(Lorentz::<f64>::new(3).unwrap()));
    tangent_mlp_end_to_end(
        "S2 x T2",
        leak(
            Product::new(
                Sphere::<f64>::new(2).unwrap(),
                FlatTorus::<f64>::new(2).unwrap(),
            )
            .unwrap(),
        ),
    );
}

/// The composites in f32 agree with f64 (the same graph on rounded inputs).
#[test]
fn f32_composites_match_f64() {
    fn run<M32, M64>(m32: &'static M32, m64: &'static M64, ps: &[f64], vs: &[f64], qs: &[f64])
    where
        M32: TapeManifold<f32>,
        M64: TapeManifold<f64>,
    {
        let d = m64.ambient_dim();
        let n = ps.len() / d;
        let u: Vec<f64> = (0..ps.len())
            .map(|i| ((i * 3 % 7) as f64) / 7.0 - 0.4)
            .collect();
        let r32 = |x: &[f64]| x.iter().map(|&a| a as f32).collect::<Vec<_>>();
        let mut t64 = Tape::<f64>::new();
        let (p, v, q) = (t64.leaf(ps, n, d), t64.leaf(vs, n, d), t64.leaf(qs, n, d));
        let du = t64.constant(&u, n, d);
        let e = t64.exp(m64, p, v);
        let l = t64.log(m64, p, q);
        let [de, dl] = t64.jvp([e, l], &[p, v, q], &[du, du, du]);
        let mut t32 = Tape::<f32>::new();
        let (p, v, q) = (
            t32.leaf(&r32(ps), n, d),
            t32.leaf(&r32(vs), n, d),
            t32.leaf(&r32(qs), n, d),
        );
        let du32 = t32.constant(&r32(&u), n, d);
        let e = t32.exp(m32, p, v);
        let l = t32.log(m32, p, q);
        let [de32, dl32] = t32.jvp([e, l], &[p, v, q], &[du32, du32, du32]);
        for (a, b) in [(de, de32), (dl, dl32)] {
            let (x, y) = (t64.value(a), t32.value(b));
            let scale = x.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for (&x, &y) in x.iter().zip(y) {
                assert!((x - y as f64).abs() <= 2e-5 * scale, "f32 {y} vs f64 {x}");
            }
        }
    }
    let (h32, h64) = (
        leak(Lorentz::<f32>::new(2).unwrap()),
        leak(Lorentz::<f64>::new(2).unwrap()),
    );
    let ps = points(h64, 3, 101, 1.0);
    let qs = points(h64, 3, 102, 1.0);
    let vs = tangents(h64, &ps, 103, 0.8);
    // Inputs rounded to f32 and re-projected, so both precisions see the same points.
    let fix = |x: &[f64]| {
        let r: Vec<f64> = x.iter().map(|&a| a as f32 as f64).collect();
        let mut o = vec![0.0; r.len()];
        h64.project_point_batch_into(&r, &mut o);
        o
    };
    let (ps, qs) = (fix(&ps), fix(&qs));
    run(h32, h64, &ps, &vs, &qs);
    let (b32, b64) = (
        leak(PoincareBall::<f32>::new(2).unwrap()),
        leak(PoincareBall::<f64>::new(2).unwrap()),
    );
    let ps = points(b64, 3, 104, 0.6);
    let qs = points(b64, 3, 105, 0.6);
    let vs = tangents(b64, &ps, 106, 0.8);
    run(b32, b64, &ps, &vs, &qs);
}

/// `reshape`: VJP, taped JVP, duality and reverse-over-forward against finite differences,
/// through nonlinear ops on both sides, and the shape check.
#[test]
fn reshape_op() {
    let mut g = rng(111);
    let x = input(randv(&mut g, 12, -1.0, 1.0), 2, 6);
    check_all(
        "reshape",
        &|tp: &mut Tape<f64>, v: &[Var]| {
            let a = tp.sin(v[0]);
            let b = tp.mul(a, v[0]);
            let r = tp.reshape(b, 4, 3);
            let s = tp.row_sq(r);
            let s = tp.reshape(s, 2, 2);
            let c = tp.reshape(r, 12, 1);
            let c = tp.sum(c);
            tp.mul(s, c)
        },
        &[x],
        7,
    );
    let mut tape = Tape::<f64>::new();
    let a = tape.leaf(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
    let r = tape.reshape(a, 3, 2);
    assert_eq!(tape.shape(r), (3, 2));
    assert_eq!(tape.value(r), tape.value(a));
    let bad = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut t = Tape::<f64>::new();
        let a = t.leaf(&[1.0; 6], 2, 3);
        t.reshape(a, 4, 2);
    }));
    assert!(bad.is_err());
}
