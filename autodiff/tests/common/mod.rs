//! Finite-difference oracles shared by the integration tests (f64).
#![allow(dead_code)]

use geoflow_autodiff::{Tape, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn randv(rng: &mut ChaCha8Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// An input: data and shape.
#[derive(Clone, Debug)]
pub struct Input {
    pub data: Vec<f64>,
    pub rows: usize,
    pub cols: usize,
}

pub fn input(data: Vec<f64>, rows: usize, cols: usize) -> Input {
    assert_eq!(data.len(), rows * cols);
    Input { data, rows, cols }
}

pub type Build = dyn for<'t, 'm> Fn(&'t mut Tape<'m, f64>, &[Var]) -> Var;

/// Evaluates the graph on fresh leaves; returns (value, shape).
pub fn eval(f: &Build, xs: &[Input]) -> Vec<f64> {
    let mut tape = Tape::new();
    let vars: Vec<Var> = xs
        .iter()
        .map(|x| tape.leaf(&x.data, x.rows, x.cols))
        .collect();
    let y = f(&mut tape, &vars);
    tape.value(y).to_vec()
}

fn dotv(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// VJP vs central differences, JVP vs central differences, duality, and reverse-over-forward
/// vs finite differences of the JVP, all for the graph `f` at `xs`.
pub fn check_all(name: &str, f: &Build, xs: &[Input], seed: u64) {
    check_all_tol(name, f, xs, seed, 1e-6)
}

pub fn check_all_tol(name: &str, f: &Build, xs: &[Input], seed: u64, tol: f64) {
    let mut r = rng(seed);
    let y0 = eval(f, xs);
    let w = randv(&mut r, y0.len(), -1.0, 1.0);
    let us: Vec<Vec<f64>> = xs
        .iter()
        .map(|x| randv(&mut r, x.data.len(), -1.0, 1.0))
        .collect();
    let h = 1e-6;

    // Reverse mode: gradient of <w, f(x)>.
    let mut tape = Tape::new();
    let vars: Vec<Var> = xs
        .iter()
        .map(|x| tape.leaf(&x.data, x.rows, x.cols))
        .collect();
    let y = f(&mut tape, &vars);
    let (yr, yc) = tape.shape(y);
    let wv = tape.constant(&w, yr, yc);
    let p = tape.mul(y, wv);
    let l = tape.sum(p);
    let grads = tape.backward(l);
    let g: Vec<Vec<f64>> = vars
        .iter()
        .zip(xs)
        .map(|(&v, x)| {
            grads
                .get(v)
                .map(|g| g.to_vec())
                .unwrap_or(vec![0.0; x.data.len()])
        })
        .collect();
    for (k, x) in xs.iter().enumerate() {
        for i in 0..x.data.len() {
            let mut xp = xs.to_vec();
            let mut xm = xs.to_vec();
            xp[k].data[i] += h;
            xm[k].data[i] -= h;
            let fd = (dotv(&w, &eval(f, &xp)) - dotv(&w, &eval(f, &xm))) / (2.0 * h);
            assert!(
                close(g[k][i], fd, tol),
                "{name}: VJP input {k} entry {i}: tape {} vs finite differences {fd}",
                g[k][i]
            );
        }
    }

    // Forward mode (taped): J u.
    let mut tape = Tape::new();
    let vars: Vec<Var> = xs
        .iter()
        .map(|x| tape.leaf(&x.data, x.rows, x.cols))
        .collect();
    let tans: Vec<Var> = us
        .iter()
        .zip(xs)
        .map(|(u, x)| tape.constant(u, x.rows, x.cols))
        .collect();
    let y = f(&mut tape, &vars);
    let dy = tape.jvp1(y, &vars, &tans);
    let ju = tape.value(dy).to_vec();
    let xp: Vec<Input> = xs
        .iter()
        .zip(&us)
        .map(|(x, u)| {
            input(
                x.data.iter().zip(u).map(|(a, b)| a + h * b).collect(),
                x.rows,
                x.cols,
            )
        })
        .collect();
    let xm: Vec<Input> = xs
        .iter()
        .zip(&us)
        .map(|(x, u)| {
            input(
                x.data.iter().zip(u).map(|(a, b)| a - h * b).collect(),
                x.rows,
                x.cols,
            )
        })
        .collect();
    let (fp, fm) = (eval(f, &xp), eval(f, &xm));
    for i in 0..ju.len() {
        let fd = (fp[i] - fm[i]) / (2.0 * h);
        assert!(
            close(ju[i], fd, tol),
            "{name}: JVP entry {i}: tape {} vs finite differences {fd}",
            ju[i]
        );
    }

    // Untaped JVP agrees with the taped one.
    let mut out = vec![0.0; ju.len()];
    tape.jvp_value_into(y, &vars, &tans, &mut out);
    for i in 0..ju.len() {
        assert!(
            close(out[i], ju[i], 1e-10),
            "{name}: untaped JVP entry {i}: {} vs {}",
            out[i],
            ju[i]
        );
    }

    // Duality: <w, J u> = <Jᵀ w, u>.
    let lhs = dotv(&w, &ju);
    let rhs: f64 = g.iter().zip(&us).map(|(g, u)| dotv(g, u)).sum();
    assert!(
        (lhs - rhs).abs() <= 1e-12 * (1.0 + lhs.abs().max(rhs.abs())),
        "{name}: duality <w, Ju> = {lhs} vs <Jᵀw, u> = {rhs}"
    );

    // Reverse-over-forward: gradient of <w, J(x) u> in x vs finite differences.
    let jvp_dot = |xs: &[Input]| {
        let mut tape = Tape::new();
        let vars: Vec<Var> = xs
            .iter()
            .map(|x| tape.leaf(&x.data, x.rows, x.cols))
            .collect();
        let tans: Vec<Var> = us
            .iter()
            .zip(xs)
            .map(|(u, x)| tape.constant(u, x.rows, x.cols))
            .collect();
        let y = f(&mut tape, &vars);
        let dy = tape.jvp1(y, &vars, &tans);
        dotv(&w, tape.value(dy))
    };
    let mut tape = Tape::new();
    let vars: Vec<Var> = xs
        .iter()
        .map(|x| tape.leaf(&x.data, x.rows, x.cols))
        .collect();
    let tans: Vec<Var> = us
        .iter()
        .zip(xs)
        .map(|(u, x)| tape.constant(u, x.rows, x.cols))
        .collect();
    let y = f(&mut tape, &vars);
    let dy = tape.jvp1(y, &vars, &tans);
    let wv = tape.constant(&w, yr, yc);
    let p = tape.mul(dy, wv);
    let l = tape.sum(p);
    let grads = tape.backward(l);
    let h2 = 1e-5;
    for (k, x) in xs.iter().enumerate() {
        let gk = grads
            .get(vars[k])
            .map(|g| g.to_vec())
            .unwrap_or(vec![0.0; x.data.len()]);
        for i in 0..x.data.len() {
            let mut xp = xs.to_vec();
            let mut xm = xs.to_vec();
            xp[k].data[i] += h2;
            xm[k].data[i] -= h2;
            let fd = (jvp_dot(&xp) - jvp_dot(&xm)) / (2.0 * h2);
            assert!(
                close(gk[i], fd, tol * 10.0),
                "{name}: reverse-over-forward input {k} entry {i}: tape {} vs finite differences {fd}",
                gk[i]
            );
        }
    }
}
