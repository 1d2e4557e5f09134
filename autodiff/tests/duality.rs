//! Property tests: JVP/VJP duality ⟨w, J u⟩ = ⟨Jᵀ w, u⟩ to 1e-12 on random small networks and
//! on the sphere exponential at random points and tangents.

use geoflow_autodiff::{Tape, Var};
use geoflow_manifolds::Sphere;
use proptest::prelude::*;

fn duality(
    build: &dyn Fn(&mut Tape<'_, f64>, &[Var]) -> Var,
    xs: &[(Vec<f64>, usize, usize)],
    us: &[Vec<f64>],
    w: &[f64],
) -> (f64, f64) {
    let mut tape = Tape::new();
    let vars: Vec<Var> = xs.iter().map(|(d, r, c)| tape.leaf(d, *r, *c)).collect();
    let tans: Vec<Var> = us
        .iter()
        .zip(xs)
        .map(|(u, (_, r, c))| tape.constant(u, *r, *c))
        .collect();
    let y = build(&mut tape, &vars);
    let dy = tape.jvp1(y, &vars, &tans);
    let (r, c) = tape.shape(y);
    let wv = tape.constant(&w[..r * c], r, c);
    let p = tape.mul(y, wv);
    let l = tape.sum(p);
    let lhs: f64 = tape.value(dy).iter().zip(w).map(|(a, b)| a * b).sum();
    let g = tape.backward(l);
    let rhs: f64 = vars
        .iter()
        .zip(us)
        .map(|(&v, u)| {
            g.get(v)
                .map_or(0.0, |g| g.iter().zip(u).map(|(a, b)| a * b).sum())
        })
        .sum();
    (lhs, rhs)
}

fn vec_of(n: usize) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(-1.5f64..1.5, n)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn network_duality(rows in 1usize..5, inp in 1usize..5, out in 1usize..5, act in 0usize..6,
                       data in vec_of(3 * 25 + 2 * 25 + 50)) {
        let take = |o: usize, n: usize| data[o..o + n].to_vec();
        let xs = vec![
            (take(0, rows * inp), rows, inp),
            (take(25, inp * out), inp, out),
            (take(50, out), 1, out),
        ];
        let us = vec![take(75, rows * inp), take(100, inp * out), take(125, out)];
        let w = take(130, 25);
        let build = move |t: &mut Tape<'_, f64>, v: &[Var]| {
            let z = t.affine(v[0], v[1], v[2]);
            let a = match act {
                0 => t.silu(z),
                1 => t.tanh(z),
                2 => t.gelu(z),
                3 => t.softplus(z),
                4 => t.softmax(z),
                _ => t.sinc(z),
            };
            let s = t.row_sq(a);
            t.mul(a, s)
        };
        let (lhs, rhs) = duality(&build, &xs, &us, &w);
        prop_assert!((lhs - rhs).abs() <= 1e-12 * (1.0 + lhs.abs().max(rhs.abs())), "{} vs {}", lhs, rhs);
    }

    #[test]
    fn sphere_exp_duality(p in vec_of(6), v in vec_of(6), up in vec_of(6), uv in vec_of(6), w in vec_of(6), scale in -12i32..1) {
        let m: &'static Sphere<f64> = Box::leak(Box::new(Sphere::new(2).unwrap()));
        let mut p = p;
        for r in p.chunks_exact_mut(3) {
            let n = r.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-3);
            r.iter_mut().for_each(|x| *x /= n);
        }
        let k = 10f64.powi(scale);
        let v: Vec<f64> = v.iter().map(|x| x * k).collect();
        let xs = vec![(p, 2, 3), (v, 2, 3)];
        let build = move |t: &mut Tape<'_, f64>, a: &[Var]| t.exp(m, a[0], a[1]);
        let (lhs, rhs) = duality(&build, &xs, &[up, uv], &w);
        prop_assert!((lhs - rhs).abs() <= 1e-12 * (1.0 + lhs.abs().max(rhs.abs())), "{} vs {}", lhs, rhs);
    }
}
