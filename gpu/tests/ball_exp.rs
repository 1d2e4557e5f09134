//! Poincaré-ball exp on the device, on the inputs where the former Möbius form cancelled (steps
//! back across the ball near the boundary; the f32 half step of `log_p(-p)` returned inf): the
//! device must be finite and as accurate as the CPU f32 kernel up to the conditioning of exp.

mod common;

use common::gpu;
use geoflow_gpu::{Mode, Op};
use geoflow_manifolds::prelude::*;
use geoflow_manifolds::PoincareBall;

/// Rows `(p, u)` in f32: steps along `log_p q` (q = -p rotated by `dl` rad) of a fraction `f`
/// of its length, and tangential steps, at norms up to `1 - 1e-6`.
fn inputs(d: usize) -> (Vec<f32>, Vec<f32>) {
    let b = PoincareBall::<f64>::new(d).unwrap();
    let (mut ps, mut us) = (Vec::new(), Vec::new());
    for (k, &rho) in [0.5, 0.9, 0.99, 0.999, 0.99996054, 1.0 - 1e-6]
        .iter()
        .enumerate()
    {
        // a direction spread over the coordinates
        let mut dir: Vec<f64> = (0..d).map(|i| ((i + k) as f64 * 0.7 + 0.3).sin()).collect();
        let nd = dir.iter().map(|x| x * x).sum::<f64>().sqrt();
        dir.iter_mut().for_each(|x| *x /= nd);
        let p: Vec<f64> = dir.iter().map(|x| ((rho * x) as f32) as f64).collect();
        for dl in [0.0, 1e-3, 0.3] {
            let mut q: Vec<f64> = p.iter().map(|x| -x).collect();
            if d > 1 {
                let (c, s) = (f64::cos(dl), f64::sin(dl));
                let (a0, a1) = (q[0], q[1]);
                q[0] = c * a0 - s * a1;
                q[1] = s * a0 + c * a1;
            }
            let l = b.log(&p, &q);
            for f in [0.25, 0.5, 0.75, 1.0, 1.25] {
                ps.extend(p.iter().map(|&x| x as f32));
                us.extend(l.iter().map(|&x| (f * x) as f32));
            }
        }
    }
    (ps, us)
}

/// Componentwise condition number of exp (f64 JVPs along the axes) plus the output size.
fn cond(b: &PoincareBall<f64>, p: &[f64], u: &[f64]) -> f64 {
    let d = p.len();
    let z = vec![0.0; d];
    let (mut c, mut j) = (vec![0.0f64; d], vec![0.0; d]);
    for k in 0..d {
        let mut e = z.clone();
        e[k] = 1.0;
        b.exp_jvp(p, u, &e, &z, &mut j);
        (0..d).for_each(|i| c[i] += j[i].abs() * p[k].abs());
        b.exp_jvp(p, u, &z, &e, &mut j);
        (0..d).for_each(|i| c[i] += j[i].abs() * u[k].abs());
    }
    let e = b.exp(p, u);
    c.iter()
        .zip(&e)
        .map(|(c, e)| c + e.abs())
        .fold(0.0, f64::max)
}

#[test]
fn ball_exp_back_steps_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    for d in [1usize, 2, 3, 80] {
        let (ps, us) = inputs(d);
        let n = ps.len() / d;
        let b64 = PoincareBall::<f64>::new(d).unwrap();
        let b32 = PoincareBall::<f32>::new(d).unwrap();
        let mut cpu = vec![0.0f32; ps.len()];
        b32.exp_batch_into(&ps, &us, &mut cpu);
        for mode in [Mode::Thread, Mode::Coop, Mode::Subgroup] {
            let g = gpu.with_mode(Some(mode));
            let mut out = vec![f32::NAN; ps.len()];
            g.batch_into(&b32, Op::Exp, &[&ps, &us], &mut out).unwrap();
            for i in 0..n {
                let r = i * d..(i + 1) * d;
                let p: Vec<f64> = ps[r.clone()].iter().map(|&x| x as f64).collect();
                let u: Vec<f64> = us[r.clone()].iter().map(|&x| x as f64).collect();
                let e = b64.exp(&p, &u);
                let err = |o: &[f32]| {
                    o.iter()
                        .zip(&e)
                        .map(|(&x, y)| (x as f64 - y).abs())
                        .fold(0.0, f64::max)
                };
                let (eg, ec) = (err(&out[r.clone()]), err(&cpu[r.clone()]));
                let k = cond(&b64, &p, &u);
                let tol = 4.0 * ec + 8.0 * f32::EPSILON as f64 * k;
                assert!(
                    out[r.clone()].iter().all(|x| x.is_finite()) && eg <= tol,
                    "d={d} {mode:?} row {i}: gpu {:?} cpu {:?} ref {e:?} (err {eg:e}, tol {tol:e})",
                    &out[r.clone()],
                    &cpu[r]
                );
            }
        }
    }
}
