//! Shared support of the device tests: the adapter policy, input generation with the hard
//! cases of the CPU crate's envelopes, and the CPU references.

#![allow(dead_code)]

use geoflow_gpu::{Family, GpuContext, Op};
use geoflow_manifolds::prelude::*;
use geoflow_manifolds::{
    Euclidean, FlatTorus, Lorentz, PoincareBall, PositiveOrthant, Simplex, Sphere,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The shared context, or `None` (after printing `SKIPPED: no GPU adapter`) when there is no
/// adapter. With `GEOFLOW_REQUIRE_GPU=1` a missing adapter is a test failure.
pub fn gpu() -> Option<&'static GpuContext> {
    match GpuContext::shared() {
        Ok(g) => Some(g),
        Err(e) => {
            let required = std::env::var("GEOFLOW_REQUIRE_GPU")
                .map(|v| !v.is_empty() && v != "0")
                .unwrap_or(false);
            assert!(!required, "GEOFLOW_REQUIRE_GPU is set, but: {e}");
            println!("SKIPPED: no GPU adapter ({e})");
            None
        }
    }
}

/// Inputs of every op for one manifold: `n` rows of `d` scalars (f32, as the GPU gets them).
#[derive(Clone, Debug)]
pub struct Case {
    pub d: usize,
    pub n: usize,
    /// Points.
    pub ps: Vec<f32>,
    /// Second points (near, far, equal, antipodal, …).
    pub qs: Vec<f32>,
    /// Tangent vectors at `ps` of norms from 0 and 1e-12 up to a few units.
    pub vs: Vec<f32>,
    /// Unit tangent vectors at `ps`.
    pub us: Vec<f32>,
    /// Geodesic times (including 0, 1/2 ± 1 ulp, 1).
    pub ts: Vec<f32>,
    /// Ambient vectors (inputs of the projections).
    pub xs: Vec<f32>,
}

impl Case {
    /// The inputs of `op`, in the order of the CPU batch method.
    pub fn inputs(&self, op: Op) -> Vec<&[f32]> {
        match op {
            Op::Exp => vec![&self.ps, &self.vs],
            Op::Log | Op::Dist => vec![&self.ps, &self.qs],
            Op::Inner => vec![&self.ps, &self.us, &self.vs],
            Op::Geodesic | Op::GeodesicVelocity => vec![&self.ps, &self.qs, &self.ts],
            Op::Transport => vec![&self.ps, &self.qs, &self.vs],
            Op::ProjectTangent => vec![&self.ps, &self.xs],
            Op::ProjectPoint => vec![&self.xs],
        }
    }

    /// Scalars of the output of `op`.
    pub fn out_len(&self, op: Op) -> usize {
        if op.scalar_output() {
            self.n
        } else {
            self.n * self.d
        }
    }
}

fn normal(rng: &mut ChaCha8Rng, d: usize) -> Vec<f64> {
    (0..d).map(|_| f64::standard_normal(rng)).collect()
}

fn unit(rng: &mut ChaCha8Rng, d: usize) -> Vec<f64> {
    let v = normal(rng, d);
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter().map(|x| x / n).collect()
}

const TANGENT_NORMS: [f64; 12] = [
    0.0, 1e-12, 1e-9, 1e-6, 1e-4, 1e-3, 1e-2, 0.1, 0.7, 1.0, 2.0, 3.0,
];
const TS: [f64; 8] = [
    0.0,
    1.0,
    0.5,
    0.499_999_97,
    0.500_000_06,
    1e-4,
    0.9999,
    0.25,
];

/// Row `k`'s hard-case pattern: the choices cycle with different periods so that every
/// combination occurs.
fn pick<T: Copy>(list: &[T], k: usize, salt: usize) -> T {
    list[(k / (salt + 1) + k * salt) % list.len()]
}

/// A random point with hardness pattern `k`.
fn point(family: Family, d: usize, rng: &mut ChaCha8Rng, k: usize) -> Vec<f64> {
    match family {
        Family::Euclidean => normal(rng, d).iter().map(|x| 2.0 * x).collect(),
        Family::Sphere => unit(rng, d),
        Family::PositiveOrthant => unit(rng, d).iter().map(|x| x.abs()).collect(),
        Family::Simplex => {
            let e: Vec<f64> = normal(rng, d).iter().map(|x| x.exp()).collect();
            let s: f64 = e.iter().sum();
            e.iter().map(|x| 0.95 * x / s + 0.05 / d as f64).collect()
        }
        Family::FlatTorus => (0..d)
            .map(|_| rng.random_range(-std::f64::consts::PI..std::f64::consts::PI))
            .collect(),
        Family::Lorentz | Family::PoincareBall => {
            let r: f64 =
                pick(&[0.0, 1e-3, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0], k, 1) * rng.random_range(0.9..1.0);
            let n = if family == Family::Lorentz { d - 1 } else { d };
            let dir = unit(rng, n);
            if family == Family::Lorentz {
                let mut x = vec![r.cosh()];
                x.extend(dir.iter().map(|u| r.sinh() * u));
                x
            } else {
                dir.iter().map(|u| (0.5 * r).tanh() * u).collect()
            }
        }
    }
}

/// Rounds a point to f32 the way a user would store it (Lorentz: the time coordinate
/// recomputed from the rounded spatial part).
fn round_point(family: Family, p: &[f64]) -> Vec<f32> {
    let mut r: Vec<f32> = p.iter().map(|&x| x as f32).collect();
    if family == Family::Lorentz {
        let s: f64 = r[1..].iter().map(|&x| (x as f64) * (x as f64)).sum();
        r[0] = (1.0 + s).sqrt() as f32;
    }
    r
}

fn widen(a: &[f32]) -> Vec<f64> {
    a.iter().map(|&x| x as f64).collect()
}

/// Dispatches a generic body over the f64 and f32 manifold of `family`.
macro_rules! with_manifold {
    ($family:expr, $d:expr, |$m64:ident, $m32:ident| $body:expr) => {{
        let d = $d;
        match $family {
            Family::Euclidean => {
                let ($m64, $m32) = (
                    Euclidean::<f64>::new(d).unwrap(),
                    Euclidean::<f32>::new(d).unwrap(),
                );
                $body
            }
            Family::Sphere => {
                let ($m64, $m32) = (
                    Sphere::<f64>::new(d - 1).unwrap(),
                    Sphere::<f32>::new(d - 1).unwrap(),
                );
                $body
            }
            Family::PositiveOrthant => {
                let ($m64, $m32) = (
                    PositiveOrthant::<f64>::new(d - 1).unwrap(),
                    PositiveOrthant::<f32>::new(d - 1).unwrap(),
                );
                $body
            }
            Family::Simplex => {
                let ($m64, $m32) = (
                    Simplex::<f64>::new(d - 1).unwrap(),
                    Simplex::<f32>::new(d - 1).unwrap(),
                );
                $body
            }
            Family::FlatTorus => {
                let ($m64, $m32) = (
                    FlatTorus::<f64>::new(d).unwrap(),
                    FlatTorus::<f32>::new(d).unwrap(),
                );
                $body
            }
            Family::Lorentz => {
                let ($m64, $m32) = (
                    Lorentz::<f64>::new(d - 1).unwrap(),
                    Lorentz::<f32>::new(d - 1).unwrap(),
                );
                $body
            }
            Family::PoincareBall => {
                let ($m64, $m32) = (
                    PoincareBall::<f64>::new(d).unwrap(),
                    PoincareBall::<f32>::new(d).unwrap(),
                );
                $body
            }
        }
    }};
}
#[allow(unused_imports)]
pub(crate) use with_manifold;

fn tangent<M: Manifold<Scalar = f64>>(
    m: &M,
    p: &[f64],
    rng: &mut ChaCha8Rng,
    norm: f64,
) -> Vec<f64> {
    let u = normal(rng, p.len());
    let mut t = vec![0.0; p.len()];
    m.project_tangent_into(p, &u, &mut t);
    let n = m.norm(p, &t);
    if n > 0.0 {
        t.iter().map(|x| x * norm / n).collect()
    } else {
        t
    }
}

/// Round a tangent vector of the f64 point `p64` to f32, at the rounded point: re-projected at
/// the rounded point in f64 so that the f32 input is tangent to working precision.
fn round_tangent<M: Manifold<Scalar = f64>>(m: &M, p32: &[f32], t: &[f64]) -> Vec<f32> {
    let p = widen(p32);
    let mut o = vec![0.0; t.len()];
    m.project_tangent_into(&p, t, &mut o);
    o.iter().map(|&x| x as f32).collect()
}

fn gen<M: Manifold<Scalar = f64>>(family: Family, m: &M, d: usize, n: usize, seed: u64) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pi = std::f64::consts::PI;
    let sphere_like = matches!(family, Family::Sphere | Family::PositiveOrthant);
    let q_dists: Vec<f64> = match family {
        Family::Sphere | Family::PositiveOrthant => vec![
            0.0,
            1e-7,
            1e-5,
            1e-3,
            0.1,
            1.0,
            2.0,
            3.0,
            pi / 2.0 - 1e-4,
            pi / 2.0 + 1e-4,
            pi - 1e-3,
            pi - 1e-6,
            -1.0,
        ],
        Family::Lorentz | Family::PoincareBall => {
            vec![0.0, 1e-6, 1e-4, 1e-2, 0.1, 0.5, 1.0, -2.0]
        }
        Family::Simplex => vec![0.0, 1e-6, 1e-4, 1e-2, 0.3, 1.0, 2.0, -2.0],
        _ => vec![0.0, 1e-6, 1e-3, 0.1, 1.0, 3.0, -2.0],
    };
    let mut c = Case {
        d,
        n,
        ps: Vec::with_capacity(n * d),
        qs: Vec::with_capacity(n * d),
        vs: Vec::with_capacity(n * d),
        us: Vec::with_capacity(n * d),
        ts: Vec::with_capacity(n),
        xs: Vec::with_capacity(n * d),
    };
    for k in 0..n {
        let p = point(family, d, &mut rng, k);
        let p32 = round_point(family, &p);
        // q: exp_p of a tangent of the listed length; -1: the antipode; -2: independent point.
        let dq = pick(&q_dists, k, 2);
        let q32 = if dq == 0.0 {
            p32.clone()
        } else if dq == -1.0 {
            p32.iter().map(|x| -x).collect()
        } else if dq < 0.0 {
            round_point(family, &point(family, d, &mut rng, k + 3))
        } else {
            let t = tangent(m, &p, &mut rng, dq);
            let mut q = vec![0.0; d];
            m.exp_into(&p, &t, &mut q);
            if family == Family::PositiveOrthant {
                q.iter_mut().for_each(|x| *x = x.abs());
            }
            round_point(family, &q)
        };
        let vmax = match family {
            Family::Simplex => 1.0,
            _ if sphere_like => 3.0,
            _ => 2.0,
        };
        let vn = pick(&TANGENT_NORMS, k, 3).min(vmax);
        let v = tangent(m, &p, &mut rng, vn);
        let u = tangent(m, &p, &mut rng, 1.0);
        let mut x = normal(&mut rng, d);
        match family {
            Family::FlatTorus => x.iter_mut().for_each(|a| *a *= 8.0),
            Family::Simplex => x.iter_mut().for_each(|a| *a += 0.3),
            Family::PoincareBall => x.iter_mut().for_each(|a| *a *= 0.5),
            _ => {}
        }
        if k == 0 {
            x.iter_mut().for_each(|a| *a = 0.0);
        }
        c.vs.extend(round_tangent(m, &p32, &v));
        c.us.extend(round_tangent(m, &p32, &u));
        c.ps.extend(p32);
        c.qs.extend(q32);
        c.xs.extend(x.iter().map(|&a| a as f32));
        let t = if k % 2 == 0 {
            pick(&TS, k, 4)
        } else {
            rng.random_range(0.0..1.0)
        };
        c.ts.push(t as f32);
    }
    c
}

/// The inputs of every op for `family` in `d` ambient dimensions, `n` rows (fixed seed).
pub fn case(family: Family, d: usize, n: usize, seed: u64) -> Case {
    with_manifold!(family, d, |m64, _m32| gen(family, &m64, d, n, seed))
}

/// (CPU f64 reference on the widened inputs, CPU f32 result, per-row error scale) of `op`.
/// The scale is the output's norm, except for `inner` (`|u|·|v|`, as inner products cancel).
pub fn reference(family: Family, op: Op, c: &Case) -> (Vec<f64>, Vec<f32>) {
    with_manifold!(family, c.d, |m64, m32| {
        let ins = c.inputs(op);
        let w: Vec<Vec<f64>> = ins.iter().map(|a| widen(a)).collect();
        let mut r = vec![0.0f64; c.out_len(op)];
        let mut s = vec![0.0f32; c.out_len(op)];
        match op {
            Op::Exp => {
                m64.exp_batch_into(&w[0], &w[1], &mut r);
                m32.exp_batch_into(ins[0], ins[1], &mut s);
            }
            Op::Log => {
                m64.log_batch_into(&w[0], &w[1], &mut r);
                m32.log_batch_into(ins[0], ins[1], &mut s);
            }
            Op::Dist => {
                m64.dist_batch_into(&w[0], &w[1], &mut r);
                m32.dist_batch_into(ins[0], ins[1], &mut s);
            }
            Op::Inner => {
                m64.inner_batch_into(&w[0], &w[1], &w[2], &mut r);
                m32.inner_batch_into(ins[0], ins[1], ins[2], &mut s);
            }
            Op::Geodesic => {
                m64.geodesic_batch_into(&w[0], &w[1], &w[2], &mut r);
                m32.geodesic_batch_into(ins[0], ins[1], ins[2], &mut s);
            }
            Op::GeodesicVelocity => {
                m64.geodesic_velocity_batch_into(&w[0], &w[1], &w[2], &mut r);
                m32.geodesic_velocity_batch_into(ins[0], ins[1], ins[2], &mut s);
            }
            Op::Transport => {
                m64.transport_batch_into(&w[0], &w[1], &w[2], &mut r);
                m32.transport_batch_into(ins[0], ins[1], ins[2], &mut s);
            }
            Op::ProjectTangent => {
                m64.project_tangent_batch_into(&w[0], &w[1], &mut r);
                m32.project_tangent_batch_into(ins[0], ins[1], &mut s);
            }
            Op::ProjectPoint => {
                m64.project_point_batch_into(&w[0], &mut r);
                m32.project_point_batch_into(ins[0], &mut s);
            }
        }
        (r, s)
    })
}

/// Per-row error scale: `|u|_p |v|_p` for inner (f64 norms), else `None` (the output norm).
pub fn inner_scale(family: Family, c: &Case) -> Vec<f64> {
    with_manifold!(family, c.d, |m64, _m32| {
        (0..c.n)
            .map(|i| {
                let r = i * c.d..(i + 1) * c.d;
                let p = widen(&c.ps[r.clone()]);
                let u = widen(&c.us[r.clone()]);
                let v = widen(&c.vs[r]);
                m64.norm(&p, &u) * m64.norm(&p, &v)
            })
            .collect()
    })
}

/// Worst relative error of `got` against `r` over the rows (row width `w`), with the given
/// per-row floors of the denominator; returns (error, row).
pub fn worst<T: Copy + Into<f64>>(got: &[T], r: &[f64], w: usize, floor: &[f64]) -> (f64, usize) {
    let mut worst = (0.0, 0);
    for (i, (g, rr)) in got.chunks(w).zip(r.chunks(w)).enumerate() {
        let mut num = 0.0;
        let mut den = 0.0;
        for (&a, &b) in g.iter().zip(rr) {
            let a: f64 = a.into();
            num += (a - b) * (a - b);
            den += b * b;
        }
        let fl = floor.get(i).copied().unwrap_or(0.0);
        let e = if num == 0.0 {
            0.0
        } else if num.is_nan() {
            f64::INFINITY
        } else {
            num.sqrt() / den.sqrt().max(fl).max(1e-30)
        };
        if e > worst.0 {
            worst = (e, i);
        }
    }
    worst
}
