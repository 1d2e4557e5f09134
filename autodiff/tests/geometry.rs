//! Manifold primitives: fused = composite, derivatives against finite differences, duality,
//! reverse-over-forward, finite gradients at v = 0 and p = q.

mod common;
use common::*;
use geoflow_autodiff::{Tape, TapeManifold, Var};
use geoflow_manifolds::{prelude::*, Euclidean, FlatTorus, PositiveOrthant, Simplex, Sphere};

fn leak<M>(m: M) -> &'static M {
    Box::leak(Box::new(m))
}

fn sphere_points(seed: u64, n: usize, d: usize) -> Vec<f64> {
    let mut g = rng(seed);
    let mut x = randv(&mut g, n * d, -1.0, 1.0);
    for row in x.chunks_exact_mut(d) {
        let s = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        row.iter_mut().for_each(|v| *v /= s);
    }
    x
}

fn tangents(m: &impl Manifold<Scalar = f64>, ps: &[f64], seed: u64, scale: f64) -> Vec<f64> {
    let d = m.ambient_dim();
    let mut g = rng(seed);
    let u = randv(&mut g, ps.len(), -scale, scale);
    let mut out = vec![0.0; ps.len()];
    m.project_tangent_batch_into(ps, &u, &mut out);
    let _ = d;
    out
}

/// Every primitive of `m`, fused, through the full oracle battery.
fn battery<M: TapeManifold<f64>>(
    name: &str,
    m: &'static M,
    ps: Vec<f64>,
    qs: Vec<f64>,
    vs: Vec<f64>,
    composite: bool,
) {
    let d = m.ambient_dim();
    let n = ps.len() / d;
    let p = input(ps, n, d);
    let q = input(qs, n, d);
    let v = input(vs, n, d);
    let t = input(
        (0..n).map(|i| 0.2 + 0.6 * i as f64 / n as f64).collect(),
        n,
        1,
    );
    let full = composite;
    let run = |what: &str, f: &Build, xs: &[Input]| {
        if full {
            check_all(&format!("{name} {what}"), f, xs, 11);
        }
    };
    run(
        "exp",
        &|tp: &mut Tape<f64>, x: &[Var]| tp.exp(m, x[0], x[1]),
        &[p.clone(), v.clone()],
    );
    run(
        "log",
        &|tp: &mut Tape<f64>, x: &[Var]| tp.log(m, x[0], x[1]),
        &[p.clone(), q.clone()],
    );
    run(
        "dist",
        &|tp: &mut Tape<f64>, x: &[Var]| tp.dist(m, x[0], x[1]),
        &[p.clone(), q.clone()],
    );
    run(
        "inner",
        &|tp: &mut Tape<f64>, x: &[Var]| tp.inner(m, x[0], x[1], x[2]),
        &[p.clone(), v.clone(), q.clone()],
    );
    run(
        "project_tangent",
        &|tp: &mut Tape<f64>, x: &[Var]| tp.project_tangent(m, x[0], x[1]),
        &[p.clone(), q.clone()],
    );
    run(
        "geodesic",
        &|tp: &mut Tape<f64>, x: &[Var]| tp.geodesic(m, x[0], x[1], x[2]),
        &[p.clone(), q.clone(), t.clone()],
    );
    if composite {
        // Fused = composite: values and gradients.
        let pairs: [(&str, &Build, &Build, Vec<Input>); 5] = [
            (
                "exp",
                &|tp: &mut Tape<f64>, x: &[Var]| tp.exp(m, x[0], x[1]),
                &|tp: &mut Tape<f64>, x: &[Var]| tp.exp_composite(m, x[0], x[1]),
                vec![p.clone(), v.clone()],
            ),
            (
                "log",
                &|tp: &mut Tape<f64>, x: &[Var]| tp.log(m, x[0], x[1]),
                &|tp: &mut Tape<f64>, x: &[Var]| tp.log_composite(m, x[0], x[1]),
                vec![p.clone(), q.clone()],
            ),
            (
                "dist",
                &|tp: &mut Tape<f64>, x: &[Var]| tp.dist(m, x[0], x[1]),
                &|tp: &mut Tape<f64>, x: &[Var]| tp.dist_composite(m, x[0], x[1]),
                vec![p.clone(), q.clone()],
            ),
            (
                "inner",
                &|tp: &mut Tape<f64>, x: &[Var]| tp.inner(m, x[0], x[1], x[2]),
                &|tp: &mut Tape<f64>, x: &[Var]| tp.inner_composite(m, x[0], x[1], x[2]),
                vec![p.clone(), v.clone(), q.clone()],
            ),
            (
                "project_tangent",
                &|tp: &mut Tape<f64>, x: &[Var]| tp.project_tangent(m, x[0], x[1]),
                &|tp: &mut Tape<f64>, x: &[Var]| tp.project_tangent_composite(m, x[0], x[1]),
                vec![p.clone(), q.clone()],
            ),
        ];
        for (what, fused, comp, xs) in pairs {
            let (a, ga) = value_and_grads(fused, &xs);
            let (b, gb) = value_and_grads(comp, &xs);
            for (x, y) in a.iter().zip(&b) {
                assert!(
                    (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
                    "{name} {what}: fused {x} vs composite {y}"
                );
            }
            for (x, y) in ga.iter().zip(&gb) {
                assert!(
                    (x - y).abs() <= 1e-10 * (1.0 + y.abs()),
                    "{name} {what} gradient: fused {x} vs composite {y}"
                );
            }
        }
    }
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
    for &v in &vars {
        grads.extend_from_slice(g.get(v).unwrap_or(&[]));
    }
    (tape.value(y).to_vec(), grads)
}

#[test]
fn sphere_primitives() {
    let m = leak(Sphere::<f64>::new(2).unwrap());
    let ps = sphere_points(1, 4, 3);
    let qs = sphere_points(2, 4, 3);
    let vs = tangents(m, &ps, 3, 1.5);
    battery("sphere", m, ps, qs, vs, true);
}

#[test]
fn orthant_primitives() {
    let m = leak(PositiveOrthant::<f64>::new(3).unwrap());
    let abs = |x: Vec<f64>| x.into_iter().map(f64::abs).collect::<Vec<_>>();
    let ps = abs(sphere_points(4, 3, 4));
    let qs = abs(sphere_points(5, 3, 4));
    let vs = tangents(m, &ps, 6, 0.3);
    battery("orthant", m, ps, qs, vs, true);
}

#[test]
fn euclidean_primitives() {
    let m = leak(Euclidean::<f64>::new(3).unwrap());
    let mut g = rng(7);
    let (ps, qs, vs) = (
        randv(&mut g, 9, -1.0, 1.0),
        randv(&mut g, 9, -1.0, 1.0),
        randv(&mut g, 9, -1.0, 1.0),
    );
    battery("euclidean", m, ps, qs, vs, true);
}

#[test]
fn torus_primitives() {
    let m = leak(FlatTorus::<f64>::new(2).unwrap());
    let mut g = rng(8);
    let (ps, qs, vs) = (
        randv(&mut g, 8, -3.0, 3.0),
        randv(&mut g, 8, -3.0, 3.0),
        randv(&mut g, 8, -2.0, 2.0),
    );
    battery("torus", m, ps, qs, vs, true);
}

#[test]
fn simplex_primitives() {
    let m = leak(Simplex::<f64>::new(2).unwrap());
    let mut g = rng(9);
    let mut pts = |n: usize| {
        let mut x = randv(&mut g, n * 3, 0.2, 1.0);
        for r in x.chunks_exact_mut(3) {
            let s: f64 = r.iter().sum();
            r.iter_mut().for_each(|v| *v /= s);
        }
        x
    };
    let (ps, qs) = (pts(3), pts(3));
    let vs = tangents(m, &ps, 10, 0.2);
    battery("simplex", m, ps, qs, vs, true);
}

#[test]
fn finite_gradients_at_zero_tangent_and_equal_points() {
    let m = leak(Sphere::<f64>::new(2).unwrap());
    let ps = sphere_points(12, 2, 3);
    let mut tape = Tape::<f64>::new();
    let p = tape.leaf(&ps, 2, 3);
    let v = tape.leaf(&[0.0; 6], 2, 3);
    let q = tape.leaf(&ps, 2, 3);
    let e = tape.exp(m, p, v);
    let l = tape.log(m, p, q);
    let d = tape.dist(m, p, q);
    let s1 = tape.sum(e);
    let s2 = tape.sum(l);
    let s3 = tape.sum(d);
    let a = tape.add(s1, s2);
    let loss = tape.add(a, s3);
    let g = tape.backward(loss);
    for var in [p, v, q] {
        assert!(g.wrt(var).iter().all(|x| x.is_finite()), "{:?}", g.wrt(var));
    }
    // dist at p = q: zero subgradient.
    let mut tape = Tape::<f64>::new();
    let p = tape.leaf(&ps, 2, 3);
    let q = tape.leaf(&ps, 2, 3);
    let d = tape.dist(m, p, q);
    let s = tape.sum(d);
    let g = tape.backward(s);
    assert!(g.wrt(p).iter().chain(g.wrt(q)).all(|&x| x == 0.0));
    // Reverse-over-forward at v = 0 (the flow-map case t = s): finite, and matches the
    // closed form d/dv <w, dexp_p(0)[u]> = d/dv <w, u + ...>.
    let mut tape = Tape::<f64>::new();
    let p = tape.leaf(&ps, 2, 3);
    let v = tape.leaf(&[0.0; 6], 2, 3);
    let u = tape.constant(&[0.1, -0.2, 0.3, 0.0, 0.5, -0.1], 2, 3);
    let e = tape.exp(m, p, v);
    let de = tape.jvp1(e, &[v], &[u]);
    assert!(tape
        .value(de)
        .iter()
        .zip(tape.value(u))
        .all(|(a, b)| (a - b).abs() < 1e-15));
    let s = tape.row_sq(de);
    let l = tape.sum(s);
    let g = tape.backward(l);
    assert!(g.wrt(p).iter().chain(g.wrt(v)).all(|x| x.is_finite()));
}

#[test]
fn reverse_over_forward_through_exp_at_tiny_tangents() {
    // v of norm 1e-12 .. 1e-3 and across the series switch of the sinc family.
    let m = leak(Sphere::<f64>::new(2).unwrap());
    for &s in &[1e-12, 1e-6, 1e-3, 3.9, 4.1] {
        let ps = sphere_points(13, 2, 3);
        let mut vs = tangents(m, &ps, 14, 1.0);
        for row in vs.chunks_exact_mut(3) {
            let r = row.iter().map(|x| x * x).sum::<f64>().sqrt();
            row.iter_mut().for_each(|x| *x *= s / r);
        }
        check_all_tol(
            &format!("sphere exp at |v| = {s}"),
            &|tp: &mut Tape<f64>, x: &[Var]| tp.exp(m, x[0], x[1]),
            &[input(ps, 2, 3), input(vs, 2, 3)],
            5,
            2e-6,
        );
    }
}
