//! Times the adaptive likelihood solver on $10^4$ points of $S^2$: once with an analytic field
//! (the solver's own overhead) and once with a small hand-written MLP field with its exact JVP
//! (a stand-in for a trained model), and prints the work counters.
//!
//! ```text
//! cargo run -p geoflow-flows --release --example likelihood_overhead
//! ```

use geoflow_flows::likelihood::{Likelihood, LikelihoodOptions};
use geoflow_flows::sample::analytic::SphereGradient;
use geoflow_flows::VectorField;
use geoflow_manifolds::{prelude::*, Sphere};
use rand::SeedableRng;
use std::time::Instant;

/// $v(t, x) = P_x\big(W_3 \tanh(W_2 \tanh(W_1 [x, t] + b_1) + b_2)\big)$ with width `h`.
struct Mlp {
    h: usize,
    w1: Vec<f64>,
    w2: Vec<f64>,
    w3: Vec<f64>,
    a1: Vec<f64>,
    a2: Vec<f64>,
    d1: Vec<f64>,
    d2: Vec<f64>,
}

impl Mlp {
    fn new(h: usize) -> Self {
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut init = |n: usize, fan: usize| -> Vec<f64> {
            (0..n)
                .map(|_| f64::standard_normal(&mut r) / (fan as f64).sqrt())
                .collect()
        };
        Self {
            h,
            w1: init(h * 4, 4),
            w2: init(h * h, h),
            w3: init(3 * h, h),
            a1: vec![0.0; h],
            a2: vec![0.0; h],
            d1: vec![0.0; h],
            d2: vec![0.0; h],
        }
    }
    /// One row: value into `v`, and the JVP along `u` into `dv` when given.
    fn row(&mut self, t: f64, x: &[f64], u: Option<&[f64]>, v: &mut [f64], dv: Option<&mut [f64]>) {
        let h = self.h;
        for i in 0..h {
            let w = &self.w1[i * 4..i * 4 + 4];
            let z = w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + w[3] * t;
            self.a1[i] = z.tanh();
            if let Some(u) = u {
                self.d1[i] =
                    (1.0 - self.a1[i] * self.a1[i]) * (w[0] * u[0] + w[1] * u[1] + w[2] * u[2]);
            }
        }
        for i in 0..h {
            let w = &self.w2[i * h..(i + 1) * h];
            let z: f64 = w.iter().zip(&self.a1).map(|(a, b)| a * b).sum();
            self.a2[i] = z.tanh();
            if u.is_some() {
                let dz: f64 = w.iter().zip(&self.d1).map(|(a, b)| a * b).sum();
                self.d2[i] = (1.0 - self.a2[i] * self.a2[i]) * dz;
            }
        }
        let mut f = [0.0; 3];
        let mut df = [0.0; 3];
        for i in 0..3 {
            let w = &self.w3[i * h..(i + 1) * h];
            f[i] = w.iter().zip(&self.a2).map(|(a, b)| a * b).sum();
            df[i] = w.iter().zip(&self.d2).map(|(a, b)| a * b).sum();
        }
        // tangent projection P_x f = f - (x·f) x and its derivative
        let xf = x[0] * f[0] + x[1] * f[1] + x[2] * f[2];
        for i in 0..3 {
            v[i] = f[i] - xf * x[i];
        }
        if let (Some(u), Some(dv)) = (u, dv) {
            let d = u[0] * f[0]
                + u[1] * f[1]
                + u[2] * f[2]
                + x[0] * df[0]
                + x[1] * df[1]
                + x[2] * df[2];
            for i in 0..3 {
                dv[i] = df[i] - d * x[i] - xf * u[i];
            }
        }
    }
}

impl VectorField<f64> for Mlp {
    fn ambient_dim(&self) -> usize {
        3
    }
    fn eval_into(&mut self, t: f64, xs: &[f64], out: &mut [f64]) {
        for (x, o) in xs.chunks_exact(3).zip(out.chunks_exact_mut(3)) {
            self.row(t, x, None, o, None);
        }
    }
    fn jvp_into(&mut self, t: f64, xs: &[f64], dirs: &[f64], v: &mut [f64], dv: &mut [f64]) {
        for (((x, u), v), dv) in xs
            .chunks_exact(3)
            .zip(dirs.chunks_exact(3))
            .zip(v.chunks_exact_mut(3))
            .zip(dv.chunks_exact_mut(3))
        {
            self.row(t, x, Some(u), v, Some(dv));
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let s2 = Sphere::<f64>::new(2)?;
    let n = 10_000;
    let mut xs = vec![0.0; 3 * n];
    s2.sample_base_batch_into(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1), &mut xs);
    let mut out = vec![0.0; n];
    let mut lik = Likelihood::new(LikelihoodOptions::default());

    let mut grad = SphereGradient::new(vec![0.2, 0.5, 0.8], 1.2, -1.0)?;
    let t0 = Instant::now();
    let st = lik.log_likelihood_into(&s2, &mut grad, &xs, &mut out)?;
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "analytic field, {n} points: {dt:.3} s, {st:?}, {:.1} µs per point and rhs evaluation",
        1e6 * dt / (n * st.rhs_evals) as f64
    );

    for h in [64, 128] {
        let mut mlp = Mlp::new(h);
        let t0 = Instant::now();
        let st = lik.log_likelihood_into(&s2, &mut mlp, &xs, &mut out)?;
        let dt = t0.elapsed().as_secs_f64();
        let mean = out.iter().sum::<f64>() / n as f64;
        println!("MLP 4-{h}-{h}-3 field, {n} points: {dt:.3} s, {st:?}, mean log p = {mean:.4}");
    }
    Ok(())
}
