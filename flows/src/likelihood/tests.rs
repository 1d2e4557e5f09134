use super::*;
use crate::sample::analytic::*;
use crate::FlowMap;
use geoflow_manifolds::{prelude::*, Diffeo};
use rand::SeedableRng;

fn rng(seed: u64) -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::seed_from_u64(seed)
}

/// Orthonormal, tangent basis and Parseval probes at a few base points.
fn check_frames<M: Divergence<Scalar = f64> + Sample>(m: &M, name: &str) {
    let (d, n, pd) = (m.ambient_dim(), m.dim(), m.probe_dim());
    let mut r = rng(3);
    let mut p = vec![0.0; d];
    let mut basis = vec![0.0; n * d];
    let mut u = vec![0.0; d];
    let mut b = vec![0.0; d];
    let mut e = vec![0.0; pd];
    for _ in 0..20 {
        m.sample_base_into(&mut r, &mut p);
        m.tangent_basis_into(&p, &mut basis);
        for i in 0..n {
            let ei = &basis[i * d..(i + 1) * d];
            assert!(m.check_tangent(&p, ei).is_ok(), "{name}: E_{i} not tangent");
            for j in 0..n {
                let g = m.inner(&p, ei, &basis[j * d..(j + 1) * d]);
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((g - want).abs() < 1e-12, "{name}: <E_{i}, E_{j}> = {g}");
            }
        }
        // Parseval: Σ_j g(B e_j, w)² = g(w, w) for tangent w
        for a in u.iter_mut() {
            *a = f64::standard_normal(&mut r);
        }
        let mut w = vec![0.0; d];
        m.project_tangent_into(&p, &u, &mut w);
        let mut s = 0.0;
        for j in 0..pd {
            e.fill(0.0);
            e[j] = 1.0;
            m.tangent_probe_into(&p, &e, &mut b);
            assert!(m.check_tangent(&p, &b).is_ok(), "{name}: probe not tangent");
            s += m.inner(&p, &b, &w).powi(2);
        }
        let ww = m.inner(&p, &w, &w);
        assert!(
            (s - ww).abs() < 1e-12 * (1.0 + ww),
            "{name}: Parseval {s} vs {ww}"
        );
    }
}

#[test]
fn frames_are_orthonormal_and_parseval() {
    check_frames(&Euclidean::<f64>::new(3).unwrap(), "euclidean");
    check_frames(&FlatTorus::<f64>::new(2).unwrap(), "torus");
    check_frames(&Sphere::<f64>::new(3).unwrap(), "sphere");
    check_frames(&PositiveOrthant::<f64>::new(2).unwrap(), "orthant");
    check_frames(&Lorentz::<f64>::new(3).unwrap(), "lorentz");
    check_frames(&PoincareBall::<f64>::new(3).unwrap(), "ball");
    check_frames(&Simplex::<f64>::new(3).unwrap(), "simplex");
    let prod = Product::new(
        Sphere::<f64>::new(2).unwrap(),
        FlatTorus::<f64>::new(2).unwrap(),
    );
    check_frames(&prod.unwrap(), "product");
    check_frames(
        &Power::new(Simplex::<f64>::new(2).unwrap(), 3).unwrap(),
        "power",
    );
}

/// `div` at base points against a closed form.
fn check_div<M, F>(m: &M, field: &mut F, t: f64, exact: impl Fn(&[f64]) -> f64, name: &str)
where
    M: Divergence<Scalar = f64> + Sample,
    F: VectorField<f64>,
{
    let d = m.ambient_dim();
    let mut xs = vec![0.0; 16 * d];
    m.sample_base_batch_into(&mut rng(5), &mut xs);
    let div = divergence(m, field, t, &xs, Estimator::Exact).unwrap();
    for (x, &g) in xs.chunks_exact(d).zip(&div) {
        let want = exact(x);
        assert!(
            (g - want).abs() < 1e-11 * (1.0 + want.abs()),
            "{name}: {g} vs {want}"
        );
    }
}

#[test]
fn exact_divergences() {
    let s3 = Sphere::<f64>::new(3).unwrap();
    let a = [0.5, -0.5, 0.5, 0.5];
    let mut f = SphereGradient::new(a.to_vec(), 0.7, 0.2).unwrap();
    let c = 0.7 + 0.2 * 0.3;
    check_div(
        &s3,
        &mut f,
        0.3,
        |x| -3.0 * c * dot(&a, x),
        "sphere gradient",
    );
    check_div(
        &PositiveOrthant::<f64>::new(3).unwrap(),
        &mut f,
        0.3,
        |x| -3.0 * c * dot(&a, x),
        "orthant gradient",
    );
    let s2 = Sphere::<f64>::new(2).unwrap();
    check_div(
        &s2,
        &mut SphereRotation::new([0.3, -0.4, 1.1], 1.5),
        0.4,
        |_| 0.0,
        "rotation",
    );
    let t2 = FlatTorus::<f64>::new(2).unwrap();
    let mut f = TorusSine::new(vec![1.0, -0.7], 1.0).unwrap();
    check_div(
        &t2,
        &mut f,
        0.5,
        |x| 1.5 * (x[0].cos() - 0.7 * x[1].cos()),
        "torus sine",
    );
    let h3 = Lorentz::<f64>::new(3).unwrap();
    check_div(
        &h3,
        &mut HyperbolicBoost::new(3, 1.0, 1.0).unwrap(),
        0.5,
        |_| 0.0,
        "boost",
    );
    let mut f = HyperbolicRadial::new(3, 0.8, -0.4).unwrap();
    check_div(&h3, &mut f, 0.5, |x| -3.0 * 0.6 * x[0], "radial");
    // the ball: the Euclidean divergence of the boost is -n β p₁ ≠ 0, the correction cancels it
    let b3 = PoincareBall::<f64>::new(3).unwrap();
    check_div(
        &b3,
        &mut BallBoost::new(3, 1.0, 1.0).unwrap(),
        0.5,
        |_| 0.0,
        "ball boost",
    );
    let mut f = BallRadial::new(3, 0.8, -0.4).unwrap();
    check_div(
        &b3,
        &mut f,
        0.5,
        |p| {
            let pp = dot(p, p);
            -3.0 * 0.6 * (1.0 + pp) / (1.0 - pp)
        },
        "ball radial",
    );
    let e2 = Euclidean::<f64>::new(2).unwrap();
    let mut f = EuclideanLinear::new(vec![0.3, -1.0, 0.5, -0.8]).unwrap();
    check_div(&e2, &mut f, 0.0, |_| -0.5, "linear");
}

/// The sphere gradient field pulled back to the simplex by $p \mapsto \sqrt p$:
/// $V(p) = 2\sqrt p \odot W(\sqrt p)$, whose Fisher–Rao divergence is the sphere divergence of
/// $W$ at $\sqrt p$ (an isometry up to the constant factor 2).
struct SimplexPullback(SphereGradient<f64>);

impl VectorField<f64> for SimplexPullback {
    fn ambient_dim(&self) -> usize {
        self.0.ambient_dim()
    }
    fn eval_into(&mut self, t: f64, ps: &[f64], out: &mut [f64]) {
        let xs: Vec<f64> = ps.iter().map(|p| p.sqrt()).collect();
        self.0.eval_into(t, &xs, out);
        for (o, x) in out.iter_mut().zip(&xs) {
            *o *= 2.0 * x;
        }
    }
    fn jvp_into(&mut self, t: f64, ps: &[f64], us: &[f64], v: &mut [f64], dv: &mut [f64]) {
        // dV[u] = (u/√p) ⊙ W + 2√p ⊙ dW[u/(2√p)]
        let xs: Vec<f64> = ps.iter().map(|p| p.sqrt()).collect();
        let ws: Vec<f64> = us.iter().zip(&xs).map(|(u, x)| u / (2.0 * x)).collect();
        let mut w = vec![0.0; ps.len()];
        self.0.jvp_into(t, &xs, &ws, &mut w, dv);
        for i in 0..ps.len() {
            v[i] = 2.0 * xs[i] * w[i];
            dv[i] = us[i] / xs[i] * w[i] + 2.0 * xs[i] * dv[i];
        }
    }
}

#[test]
fn simplex_divergence_and_likelihood_through_the_sphere() {
    let simplex = Simplex::<f64>::new(2).unwrap();
    let a = vec![1.0, 1.0, 1.0];
    let grad = SphereGradient::new(a.clone(), 0.5, 0.0).unwrap();
    let mut f = SimplexPullback(grad.clone());
    let a3 = 1.0 / 3f64.sqrt();
    check_div(
        &simplex,
        &mut f,
        0.0,
        |p| -2.0 * 0.5 * a3 * p.iter().map(|p| p.sqrt()).sum::<f64>(),
        "simplex pullback",
    );
    // likelihood at interior points near the centre: the exact answer is the Dirichlet(1)
    // density at the pre-image minus the log-Jacobian of the sphere flow
    let ps = [0.3, 0.3, 0.4, 0.25, 0.4, 0.35, 0.5, 0.2, 0.3];
    let opts = LikelihoodOptions {
        solver: Solver::dopri5(1e-9, 1e-9),
        estimator: Estimator::Exact,
    };
    let lp = log_likelihood(&simplex, &mut f, &ps, &opts).unwrap();
    let mut g = grad;
    for (p, &l) in ps.chunks_exact(3).zip(&lp) {
        let x1: Vec<f64> = p.iter().map(|p| p.sqrt()).collect();
        let mut x0 = [0.0; 3];
        g.map_into(1.0, 0.0, &x1, &mut x0);
        let mut lj = [0.0];
        g.log_jacobian_into(0.0, 1.0, &x0, &mut lj);
        let p0: Vec<f64> = x0.iter().map(|x| x * x).collect();
        let want = simplex.base_log_density(&p0) - lj[0];
        assert!((l - want).abs() < 1e-7, "{l} vs {want}");
    }
}

/// Exact pushforward log-density at t = 1 of `field` from the base of `m`.
fn exact_log_p1<M, F>(m: &M, field: &mut F, xs: &[f64]) -> Vec<f64>
where
    M: Sample<Scalar = f64>,
    F: ExactFlow<f64>,
{
    let d = m.ambient_dim();
    let mut x0 = vec![0.0; xs.len()];
    field.map_into(1.0, 0.0, xs, &mut x0);
    let mut lj = vec![0.0; xs.len() / d];
    field.log_jacobian_into(0.0, 1.0, &x0, &mut lj);
    x0.chunks_exact(d)
        .zip(&lj)
        .map(|(x, l)| m.base_log_density(x) - l)
        .collect()
}

fn check_likelihood<M, F>(m: &M, field: &mut F, opts: &LikelihoodOptions<f64>, tol: f64, name: &str)
where
    M: Divergence<Scalar = f64> + Sample + ParallelTransport + Differentiable,
    F: ExactFlow<f64>,
{
    let d = m.ambient_dim();
    let mut x0 = vec![0.0; 24 * d];
    m.sample_base_batch_into(&mut rng(11), &mut x0);
    // points of the support of p₁ (a contraction's image is a ball)
    let mut xs = vec![0.0; 24 * d];
    field.map_into(0.0, 1.0, &x0, &mut xs);
    let want = exact_log_p1(m, field, &xs);
    let (got, stats) = log_likelihood_with_stats(m, field, &xs, opts).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < tol, "{name}: {g} vs {w} ({stats:?})");
    }
}

#[test]
fn likelihoods_match_exact_pushforwards() {
    let tight = LikelihoodOptions {
        solver: Solver::dopri5(1e-9, 1e-9),
        estimator: Estimator::Exact,
    };
    let s2 = Sphere::<f64>::new(2).unwrap();
    // volume-preserving: log p₁ = -log 4π everywhere
    let mut rot = SphereRotation::new([0.3, -0.4, 1.1], 1.5);
    check_likelihood(&s2, &mut rot, &tight, 1e-12, "rotation");
    let mut grad = SphereGradient::new(vec![0.2, 0.5, 0.8], 1.2, -1.0).unwrap();
    check_likelihood(&s2, &mut grad, &tight, 1e-7, "sphere gradient");
    check_likelihood(
        &s2,
        &mut grad,
        &LikelihoodOptions::default(),
        1e-3,
        "sphere gradient, default",
    );
    let t2 = FlatTorus::<f64>::new(2).unwrap();
    let mut sine = TorusSine::new(vec![1.0, -0.7], 1.0).unwrap();
    check_likelihood(&t2, &mut sine, &tight, 1e-7, "torus sine");
    let e2 = Euclidean::<f64>::new(2).unwrap();
    let mut lin = EuclideanLinear::new(vec![0.3, -1.0, 0.5, -0.8]).unwrap();
    check_likelihood(&e2, &mut lin, &tight, 1e-7, "linear");
    let h2 = Lorentz::<f64>::new(2).unwrap();
    let mut rad = HyperbolicRadial::new(2, 1.0, -1.0).unwrap();
    check_likelihood(&h2, &mut rad, &tight, 1e-7, "hyperbolic radial");
    let b2 = PoincareBall::<f64>::new(2).unwrap();
    let mut brad = BallRadial::new(2, 1.0, -1.0).unwrap();
    check_likelihood(&b2, &mut brad, &tight, 1e-7, "ball radial");
    let mut bboost = BallBoost::new(2, 0.5, 0.5).unwrap();
    check_likelihood(&b2, &mut bboost, &tight, 1e-7, "ball boost");
}

#[test]
fn fixed_step_solvers_converge_at_their_order() {
    let s2 = Sphere::<f64>::new(2).unwrap();
    let mut grad = SphereGradient::new(vec![0.2, 0.5, 0.8], 1.2, -1.0).unwrap();
    let mut xs = vec![0.0; 16 * 3];
    s2.sample_base_batch_into(&mut rng(2), &mut xs);
    let want = exact_log_p1(&s2, &mut grad, &xs);
    for (method, order) in [
        (Method::Euler, 1.0),
        (Method::ProjectedEuler, 1.0),
        (Method::Midpoint, 2.0),
        (Method::Rk4, 4.0),
    ] {
        let mut err = |steps| {
            let opts = LikelihoodOptions {
                solver: Solver::Fixed { steps, method },
                estimator: Estimator::Exact,
            };
            let (got, st) = log_likelihood_with_stats(&s2, &mut grad, &xs, &opts).unwrap();
            assert_eq!(st.rhs_evals, steps * method.evals_per_step());
            assert_eq!(st.field_calls, 2 * st.rhs_evals);
            got.iter()
                .zip(&want)
                .map(|(g, w)| (g - w).abs())
                .fold(0.0, f64::max)
        };
        let (e1, e2) = (err(32), err(64));
        let o = (e1 / e2).log2();
        assert!(
            (o - order).abs() < 0.2,
            "{method}: order {o} ({e1:.1e}, {e2:.1e})"
        );
    }
}

/// The sum of two fields (for a boost plus a contraction, which has no closed-form flow).
struct Sum<A, B>(A, B);

impl<A: VectorField<f64>, B: VectorField<f64>> VectorField<f64> for Sum<A, B> {
    fn ambient_dim(&self) -> usize {
        self.0.ambient_dim()
    }
    fn eval_into(&mut self, t: f64, xs: &[f64], out: &mut [f64]) {
        let mut w = vec![0.0; xs.len()];
        self.0.eval_into(t, xs, out);
        self.1.eval_into(t, xs, &mut w);
        out.iter_mut().zip(&w).for_each(|(o, w)| *o += w);
    }
    fn jvp_into(&mut self, t: f64, xs: &[f64], us: &[f64], v: &mut [f64], dv: &mut [f64]) {
        let (mut w, mut dw) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        self.0.jvp_into(t, xs, us, v, dv);
        self.1.jvp_into(t, xs, us, &mut w, &mut dw);
        v.iter_mut().zip(&w).for_each(|(o, w)| *o += w);
        dv.iter_mut().zip(&dw).for_each(|(o, w)| *o += w);
    }
}

#[test]
fn poincare_correction_matches_lorentz_through_the_isometry() {
    let b2 = PoincareBall::<f64>::new(2).unwrap();
    let h2 = b2.target();
    let mut ps = vec![0.0; 20 * 2];
    b2.sample_base_batch_into(&mut rng(8), &mut ps);
    let mut xs = vec![0.0; 20 * 3];
    for (p, x) in ps.chunks_exact(2).zip(xs.chunks_exact_mut(3)) {
        b2.to_target_into(p, x);
    }
    let opts = LikelihoodOptions {
        solver: Solver::dopri5(1e-9, 1e-9),
        estimator: Estimator::Exact,
    };
    let mut fb = Sum(
        BallBoost::new(2, 0.8, -0.5).unwrap(),
        BallRadial::new(2, 0.6, 0.4).unwrap(),
    );
    let mut fh = Sum(
        HyperbolicBoost::new(2, 0.8, -0.5).unwrap(),
        HyperbolicRadial::new(2, 0.6, 0.4).unwrap(),
    );
    // push the base samples to t = 1 (points of the support of p₁), in the Lorentz model
    crate::sample::integrate(&h2, &mut fh, &mut xs, 0.0, 1.0, 100, Method::Rk4).unwrap();
    for (x, p) in xs.chunks_exact(3).zip(ps.chunks_exact_mut(2)) {
        b2.from_target_into(x, p);
    }
    let lb = log_likelihood(&b2, &mut fb, &ps, &opts).unwrap();
    let lh = log_likelihood(&h2, &mut fh, &xs, &opts).unwrap();
    let mut spread = 0.0f64;
    for (a, b) in lb.iter().zip(&lh) {
        assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        spread = spread.max((a - lb[0]).abs());
    }
    assert!(spread > 0.5, "the test needs a non-trivial density");
}

#[test]
fn hutchinson_is_unbiased() {
    fn check<M, F>(m: &M, field: &mut F, name: &str)
    where
        M: Divergence<Scalar = f64> + Sample,
        F: VectorField<f64>,
    {
        let d = m.ambient_dim();
        let mut xs = vec![0.0; 4 * d];
        m.sample_base_batch_into(&mut rng(21), &mut xs);
        let exact = divergence(m, field, 0.3, &xs, Estimator::Exact).unwrap();
        for probe in [Probe::Rademacher, Probe::Gaussian] {
            let k = 20_000;
            let est = Estimator::Hutchinson {
                n_probes: k,
                probe,
                seed: 5,
            };
            let h = divergence(m, field, 0.3, &xs, est).unwrap();
            for (a, b) in h.iter().zip(&exact) {
                // |error| within ~5 standard errors for O(1) Jacobians
                assert!(
                    (a - b).abs() < 0.05 * (1.0 + b.abs()),
                    "{name} {probe:?}: {a} vs {b}"
                );
            }
            // deterministic given the seed
            assert_eq!(h, divergence(m, field, 0.3, &xs, est).unwrap());
        }
    }
    let s2 = Sphere::<f64>::new(2).unwrap();
    check(
        &s2,
        &mut SphereGradient::new(vec![0.2, 0.5, 0.8], 1.2, -1.0).unwrap(),
        "sphere",
    );
    let h2 = Lorentz::<f64>::new(2).unwrap();
    check(
        &h2,
        &mut HyperbolicRadial::new(2, 0.5, 0.0).unwrap(),
        "lorentz",
    );
    let b2 = PoincareBall::<f64>::new(2).unwrap();
    check(&b2, &mut BallRadial::new(2, 0.5, 0.0).unwrap(), "ball");
    let t2 = FlatTorus::<f64>::new(2).unwrap();
    check(
        &t2,
        &mut TorusSine::new(vec![1.0, -0.7], 1.0).unwrap(),
        "torus",
    );

    // the Hutchinson likelihood averages to the exact one
    let mut grad = SphereGradient::new(vec![0.2, 0.5, 0.8], 1.2, -1.0).unwrap();
    let xs = [0.0, 0.6, 0.8, 1.0, 0.0, 0.0];
    let want = exact_log_p1(&s2, &mut grad, &xs);
    let runs = 200;
    let mut samples = vec![[0.0; 2]; runs];
    let mut lik = Likelihood::new(LikelihoodOptions {
        solver: Solver::Fixed {
            steps: 16,
            method: Method::Rk4,
        },
        estimator: Estimator::Exact,
    });
    for (seed, out) in samples.iter_mut().enumerate() {
        lik.options_mut().estimator = Estimator::Hutchinson {
            n_probes: 1,
            probe: Probe::Rademacher,
            seed: seed as u64,
        };
        lik.log_likelihood_into(&s2, &mut grad, &xs, out).unwrap();
    }
    for i in 0..2 {
        let mean = samples.iter().map(|s| s[i]).sum::<f64>() / runs as f64;
        let var = samples.iter().map(|s| (s[i] - mean).powi(2)).sum::<f64>() / (runs - 1) as f64;
        let se = (var / runs as f64).sqrt();
        assert!(var > 0.0);
        assert!(
            (mean - want[i]).abs() < 4.0 * se + 1e-4,
            "{mean} vs {} (se {se})",
            want[i]
        );
    }
}

#[test]
fn products_and_powers() {
    // S² × T²: divergences and log-densities add over the factors
    let prod = Product::new(
        Sphere::<f64>::new(2).unwrap(),
        FlatTorus::<f64>::new(2).unwrap(),
    )
    .unwrap();
    struct Pair(SphereGradient<f64>, TorusSine<f64>);
    impl VectorField<f64> for Pair {
        fn ambient_dim(&self) -> usize {
            5
        }
        fn eval_into(&mut self, t: f64, xs: &[f64], out: &mut [f64]) {
            for (x, o) in xs.chunks_exact(5).zip(out.chunks_exact_mut(5)) {
                self.0.eval_into(t, &x[..3], &mut o[..3]);
                self.1.eval_into(t, &x[3..], &mut o[3..]);
            }
        }
        fn jvp_into(&mut self, t: f64, xs: &[f64], us: &[f64], v: &mut [f64], dv: &mut [f64]) {
            for (((x, u), v), dv) in xs
                .chunks_exact(5)
                .zip(us.chunks_exact(5))
                .zip(v.chunks_exact_mut(5))
                .zip(dv.chunks_exact_mut(5))
            {
                self.0
                    .jvp_into(t, &x[..3], &u[..3], &mut v[..3], &mut dv[..3]);
                self.1
                    .jvp_into(t, &x[3..], &u[3..], &mut v[3..], &mut dv[3..]);
            }
        }
    }
    let g = SphereGradient::new(vec![0.2, 0.5, 0.8], 1.2, -1.0).unwrap();
    let s = TorusSine::new(vec![1.0, -0.7], 1.0).unwrap();
    let mut f = Pair(g.clone(), s.clone());
    let mut xs = vec![0.0; 8 * 5];
    prod.sample_base_batch_into(&mut rng(4), &mut xs);
    let opts = LikelihoodOptions {
        solver: Solver::dopri5(1e-9, 1e-9),
        estimator: Estimator::Exact,
    };
    let got = log_likelihood(&prod, &mut f, &xs, &opts).unwrap();
    let (mut g, mut s) = (g, s);
    let xa: Vec<f64> = xs.chunks_exact(5).flat_map(|x| x[..3].to_vec()).collect();
    let xb: Vec<f64> = xs.chunks_exact(5).flat_map(|x| x[3..].to_vec()).collect();
    let wa = exact_log_p1(prod.first(), &mut g, &xa);
    let wb = exact_log_p1(prod.second(), &mut s, &xb);
    for ((l, a), b) in got.iter().zip(&wa).zip(&wb) {
        assert!((l - a - b).abs() < 1e-7, "{l} vs {}", a + b);
    }

    // (Δ²)³: a power of simplices, divergence = sum over the factors
    let pw = Power::new(Simplex::<f64>::new(2).unwrap(), 3).unwrap();
    struct Rows(SimplexPullback);
    impl VectorField<f64> for Rows {
        fn ambient_dim(&self) -> usize {
            9
        }
        fn eval_into(&mut self, t: f64, xs: &[f64], out: &mut [f64]) {
            self.0.eval_into(t, xs, out) // rows of 3 = factors of 3: the same layout
        }
        fn jvp_into(&mut self, t: f64, xs: &[f64], us: &[f64], v: &mut [f64], dv: &mut [f64]) {
            self.0.jvp_into(t, xs, us, v, dv)
        }
    }
    let mut f = Rows(SimplexPullback(
        SphereGradient::new(vec![1.0, 1.0, 1.0], 0.5, 0.0).unwrap(),
    ));
    let a3 = 1.0 / 3f64.sqrt();
    check_div(
        &pw,
        &mut f,
        0.0,
        |p| -2.0 * 0.5 * a3 * p.iter().map(|p| p.sqrt()).sum::<f64>(),
        "power of simplices",
    );
}

#[test]
fn stats_reuse_and_f32() {
    let s2 = Sphere::<f64>::new(2).unwrap();
    let mut grad = SphereGradient::new(vec![0.2, 0.5, 0.8], 1.2, -1.0).unwrap();
    let mut xs = vec![0.0; 500 * 3];
    s2.sample_base_batch_into(&mut rng(1), &mut xs);
    let mut lik = Likelihood::new(LikelihoodOptions::default());
    let mut out = vec![0.0; 500];
    let st = lik
        .log_likelihood_into(&s2, &mut grad, &xs, &mut out)
        .unwrap();
    assert!(st.accepted_steps > 0);
    // FSAL: 6 new stages per attempted step, plus the first stage and the initial-step probe
    assert_eq!(
        st.rhs_evals,
        6 * (st.accepted_steps + st.rejected_steps) + 2
    );
    assert_eq!(st.field_calls, 2 * st.rhs_evals);
    let ptrs = [
        lik.k.as_ptr(),
        lik.y.as_ptr(),
        lik.ynew.as_ptr(),
        lik.err.as_ptr(),
    ];
    lik.log_likelihood_into(&s2, &mut grad, &xs[..600], &mut out[..200])
        .unwrap();
    let st2 = lik
        .log_likelihood_into(&s2, &mut grad, &xs, &mut out)
        .unwrap();
    assert_eq!(st, st2);
    assert_eq!(
        ptrs,
        [
            lik.k.as_ptr(),
            lik.y.as_ptr(),
            lik.ynew.as_ptr(),
            lik.err.as_ptr()
        ]
    );

    // f32
    let s2f = Sphere::<f32>::new(2).unwrap();
    let mut gf = SphereGradient::new(vec![0.2f32, 0.5, 0.8], 1.2, -1.0).unwrap();
    let xf: Vec<f32> = xs[..60].iter().map(|&x| x as f32).collect();
    let xf: Vec<f32> = xf
        .chunks_exact(3)
        .flat_map(|x| s2f.project_point(x))
        .collect();
    let lf = log_likelihood(&s2f, &mut gf, &xf, &LikelihoodOptions::default()).unwrap();
    let x64: Vec<f64> = xf.iter().map(|&x| x as f64).collect();
    let want = exact_log_p1(&s2, &mut grad, &x64);
    for (a, b) in lf.iter().zip(&want) {
        assert!((*a as f64 - b).abs() < 1e-3, "{a} vs {b}");
    }
}

#[test]
fn errors_are_reported() {
    let s2 = Sphere::<f64>::new(2).unwrap();
    let mut grad = SphereGradient::new(vec![0.0, 0.0, 1.0], 1.0, 0.0).unwrap();
    let x = [0.0, 0.0, 1.0];
    let inv = |opts: LikelihoodOptions<f64>| {
        matches!(
            log_likelihood(&s2, &mut grad.clone(), &x, &opts),
            Err(FlowError::InvalidArgument(_))
        )
    };
    assert!(inv(LikelihoodOptions {
        solver: Solver::dopri5(0.0, 1e-5),
        ..Default::default()
    }));
    assert!(inv(LikelihoodOptions {
        solver: Solver::dopri5(1e-5, f64::NAN),
        ..Default::default()
    }));
    assert!(inv(LikelihoodOptions {
        solver: Solver::Fixed {
            steps: 0,
            method: Method::Rk4
        },
        ..Default::default()
    }));
    assert!(inv(LikelihoodOptions {
        estimator: Estimator::Hutchinson {
            n_probes: 0,
            probe: Probe::Gaussian,
            seed: 0
        },
        ..Default::default()
    }));
    let mut out = [0.0; 2];
    assert!(matches!(
        Likelihood::new(LikelihoodOptions::default())
            .log_likelihood_into(&s2, &mut grad, &x, &mut out),
        Err(FlowError::InvalidArgument(_))
    ));
    assert!(matches!(
        log_likelihood(
            &s2,
            &mut grad,
            &[0.0, 0.0, 2.0],
            &LikelihoodOptions::default()
        ),
        Err(FlowError::InvalidArgument(_))
    ));
    // max_steps
    let few = LikelihoodOptions {
        solver: Solver::Dopri5 {
            atol: 1e-12,
            rtol: 1e-12,
            max_steps: 3,
            norm: ErrorNorm::Max,
        },
        estimator: Estimator::Exact,
    };
    match log_likelihood(&s2, &mut grad, &x, &few) {
        Err(FlowError::Numerical(m)) => assert!(m.contains("max_steps"), "{m}"),
        r => panic!("{r:?}"),
    }
    // backwards in time the contraction becomes an expansion that reaches infinity at t ≈ 0.97
    let h2 = Lorentz::<f64>::new(2).unwrap();
    let mut rad = HyperbolicRadial::new(2, 10.0, 0.0).unwrap();
    let x = [10f64.cosh(), 10f64.sinh(), 0.0];
    for solver in [
        Solver::dopri5(1e-6, 1e-6),
        Solver::Fixed {
            steps: 50,
            method: Method::Rk4,
        },
    ] {
        let opts = LikelihoodOptions {
            solver,
            estimator: Estimator::Exact,
        };
        assert!(
            matches!(
                log_likelihood(&h2, &mut rad, &x, &opts),
                Err(FlowError::Numerical(_))
            ),
            "{solver:?}"
        );
    }
}
