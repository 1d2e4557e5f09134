//! Tests of the synthetic targets: normalisation by quadrature (S², T², H² in both models) and
//! by importance sampling (S³, T³, H³), samplers against densities (mean log-density of
//! samples vs the quadrature entropy), determinism, f32 vs f64, and the categorical toy.

use super::*;
use geoflow_manifolds::{prelude::*, FlatTorus, Lorentz, PoincareBall, Sphere};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::f64::consts::{PI, TAU};

/// The shared data directory for tests: `$GEOFLOW_DATA` when set (worktrees that do not sit
/// next to `shared/`), else `../../shared/data` relative to the flows crate.
pub(crate) fn test_data_dir() -> std::path::PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(d) if !d.is_empty() => d.into(),
        _ => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    }
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Gauss–Legendre nodes and weights on [−1, 1] (Newton on the three-term recurrence).
fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    (0..n)
        .map(|i| {
            let mut x = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
            let mut dp = 0.0;
            for _ in 0..100 {
                let (mut p0, mut p1) = (1.0, x);
                for k in 2..=n {
                    let kf = k as f64;
                    (p0, p1) = (p1, ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf);
                }
                dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
                let dx = p1 / dp;
                x -= dx;
                if dx.abs() < 1e-16 {
                    break;
                }
            }
            (x, 2.0 / ((1.0 - x * x) * dp * dp))
        })
        .collect()
}

/// (∫ p, −∫ p log p) over S² in (u = cos θ, φ), area element du dφ: Gauss–Legendre in u, the
/// midpoint rule in φ (periodic, so spectrally accurate).
fn sphere_quadrature(t: &dyn Target<f64>, nu: usize, nphi: usize) -> (f64, f64) {
    let hp = TAU / nphi as f64;
    let (mut mass, mut ent) = (0.0, 0.0);
    for (u, wu) in gauss_legendre(nu) {
        let s = (1.0 - u * u).sqrt();
        for j in 0..nphi {
            let (sp, cp) = ((j as f64 + 0.5) * hp).sin_cos();
            let lp = t.log_density(&[s * cp, s * sp, u]);
            let p = lp.exp();
            mass += wu * p;
            ent -= wu * p * lp;
        }
    }
    (mass * hp, ent * hp)
}

/// (∫ p, −∫ p log p) over T² by the midpoint rule (periodic: spectrally accurate).
fn torus_quadrature(t: &dyn Target<f64>, n: usize) -> (f64, f64) {
    let h = TAU / n as f64;
    let (mut mass, mut ent) = (0.0, 0.0);
    for i in 0..n {
        for j in 0..n {
            let x = [-PI + (i as f64 + 0.5) * h, -PI + (j as f64 + 0.5) * h];
            let lp = t.log_density(&x);
            mass += lp.exp();
            ent -= lp.exp() * lp;
        }
    }
    (mass * h * h, ent * h * h)
}

/// Gauss–Legendre nodes and weights on [0, a].
fn gauss_legendre_on(a: f64, n: usize) -> impl Iterator<Item = (f64, f64)> {
    gauss_legendre(n)
        .into_iter()
        .map(move |(x, w)| (0.5 * a * (1.0 + x), 0.5 * a * w))
}

/// (∫ p, −∫ p log p) over H² (Lorentz) in geodesic polar coordinates about the origin:
/// z = (cosh ρ, sinh ρ cos θ, sinh ρ sin θ), dV = sinh ρ dρ dθ, ρ ≤ rho_max (Gauss–Legendre in
/// ρ, midpoint in θ).
fn lorentz_quadrature(t: &dyn Target<f64>, rho_max: f64, nr: usize, nt: usize) -> (f64, f64) {
    let ht = TAU / nt as f64;
    let (mut mass, mut ent) = (0.0, 0.0);
    for (rho, wr) in gauss_legendre_on(rho_max, nr) {
        let (ch, sh) = (rho.cosh(), rho.sinh());
        for j in 0..nt {
            let (s, c) = ((j as f64 + 0.5) * ht).sin_cos();
            let lp = t.log_density(&[ch, sh * c, sh * s]);
            mass += wr * lp.exp() * sh;
            ent -= wr * lp.exp() * lp * sh;
        }
    }
    (mass * ht, ent * ht)
}

/// ∫ p λ² dx over the Poincaré disk in ball polar coordinates (r ≤ r_max, area r dr dθ): the
/// Riemannian volume of B² is λ_p² dp, λ_p = 2/(1 − |p|²).
fn ball_quadrature(t: &dyn Target<f64>, r_max: f64, nr: usize, nt: usize) -> f64 {
    let ht = TAU / nt as f64;
    let mut mass = 0.0;
    for (r, wr) in gauss_legendre_on(r_max, nr) {
        let lam = 2.0 / (1.0 - r * r);
        for j in 0..nt {
            let (s, c) = ((j as f64 + 0.5) * ht).sin_cos();
            mass += wr * t.log_density(&[r * c, r * s]).exp() * lam * lam * r;
        }
    }
    mass * ht
}

/// Asserts that −mean log p over `n` samples matches `entropy` within 5 standard errors.
fn assert_entropy_matches(t: &dyn Target<f64>, entropy: f64, n: usize, seed: u64) {
    let xs = t.sample(&mut rng(seed), n);
    let mut lp = vec![0.0; n];
    t.log_density_batch_into(&xs, &mut lp);
    let mean = -lp.iter().sum::<f64>() / n as f64;
    println!("  sample NLL {mean:.5} vs entropy {entropy:.5}");
    let var = lp.iter().map(|l| (-l - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    assert!(
        (mean - entropy).abs() < 5.0 * se,
        "sample NLL {mean} vs entropy {entropy} (se {se})"
    );
}

fn target(name: &str) -> Synthetic<f64> {
    builtin_synthetic::<f64>(name, 0).unwrap()
}

#[test]
fn gauss_legendre_is_exact_for_polynomials() {
    let gl = gauss_legendre(20);
    assert!((gl.iter().map(|(_, w)| w).sum::<f64>() - 2.0).abs() < 1e-14);
    let m38: f64 = gl.iter().map(|(x, w)| w * x.powi(38)).sum();
    assert!((m38 - 2.0 / 39.0).abs() < 1e-14, "{m38}");
}

#[test]
fn sphere_mixture_normalised_and_sampler_matches() {
    let s = target("sphere-mixture");
    let t = s.as_target().unwrap();
    let (mass, ent) = sphere_quadrature(t, 300, 600);
    println!("sphere-mixture: mass - 1 = {:e}, entropy {ent}", mass - 1.0);
    assert!((mass - 1.0).abs() < 1e-12, "mass {mass}");
    // Far below the uniform entropy log 4π = 2.531.
    assert!(ent < 2.0, "entropy {ent}");
    assert_entropy_matches(t, ent, 20_000, 1);
    // Samples are on the sphere.
    let xs = t.sample(&mut rng(2), 1000);
    Dataset::on_manifold("s", &Sphere::<f64>::new(2).unwrap(), xs).unwrap();
}

#[test]
fn torus_mixture_normalised_and_sampler_matches() {
    let s = target("torus-mixture");
    let t = s.as_target().unwrap();
    let (mass, ent) = torus_quadrature(t, 400);
    println!("torus-mixture: mass - 1 = {:e}, entropy {ent}", mass - 1.0);
    assert!((mass - 1.0).abs() < 1e-10, "mass {mass}");
    assert_entropy_matches(t, ent, 20_000, 3);
    let xs = t.sample(&mut rng(4), 1000);
    Dataset::on_manifold("t", &FlatTorus::<f64>::new(2).unwrap(), xs).unwrap();
}

#[test]
fn hyperbolic_mixture_normalised_in_both_models() {
    let h = target("hyperbolic-mixture");
    let b = target("poincare-mixture");
    let (th, tb) = (h.as_target().unwrap(), b.as_target().unwrap());
    let (mass, ent) = lorentz_quadrature(th, 7.0, 300, 360);
    assert!((mass - 1.0).abs() < 1e-10, "Lorentz mass {mass}");
    // In ball coordinates with the Riemannian volume λ² dx (r ≤ tanh 3.5: the rest is < 1e-12).
    let mass_b = ball_quadrature(tb, (3.5f64).tanh(), 400, 360);
    println!(
        "hyperbolic-mixture: Lorentz mass - 1 = {:e}, ball mass - 1 = {:e}, entropy {ent}",
        mass - 1.0,
        mass_b - 1.0
    );
    assert!((mass_b - 1.0).abs() < 1e-10, "ball mass {mass_b}");
    assert_entropy_matches(th, ent, 20_000, 5);
    assert_entropy_matches(tb, ent, 20_000, 6);
    // Samples are points, and the ball density is the Lorentz density at the image.
    let zs = th.sample(&mut rng(7), 500);
    let lor = Lorentz::<f64>::new(2).unwrap();
    let ball = PoincareBall::<f64>::new(2).unwrap();
    Dataset::on_manifold("h", &lor, zs.clone()).unwrap();
    for z in zs.chunks_exact(3) {
        let mut p = [0.0; 2];
        ball.from_target_into(z, &mut p);
        let (a, c) = (th.log_density(z), tb.log_density(&p));
        assert!((a - c).abs() < 1e-12 * (1.0 + a.abs()), "{a} vs {c}");
    }
    assert_eq!(tb.log_density(&[0.6, 0.8]), f64::NEG_INFINITY);
    assert_eq!(tb.log_density(&[2.0, 0.0]), f64::NEG_INFINITY);
    let ps = tb.sample(&mut rng(8), 500);
    Dataset::on_manifold("b", &ball, ps).unwrap();
}

/// Importance estimate of ∫ p dV = E_q[p/q] with `n` draws from the proposal; returns
/// (estimate, standard error).
fn importance(
    target: &dyn Target<f64>,
    proposal: impl Fn(&mut ChaCha8Rng, &mut [f64]) -> f64,
    d: usize,
    n: usize,
) -> (f64, f64) {
    let mut r = rng(11);
    let mut x = vec![0.0; d];
    let (mut s, mut s2) = (0.0, 0.0);
    for _ in 0..n {
        let lq = proposal(&mut r, &mut x);
        let w = (target.log_density(&x) - lq).exp();
        s += w;
        s2 += w * w;
    }
    let mean = s / n as f64;
    println!("  importance estimate of the mass: {mean:.5}");
    (mean, ((s2 / n as f64 - mean * mean) / n as f64).sqrt())
}

#[test]
fn higher_dimensional_mixtures_integrate_to_one_by_importance_sampling() {
    // S³: uniform proposal (area 2π²).
    let mus = [
        1.0, 0.0, 0.0, 0.0, //
        0.0, 0.0, 0.6, 0.8, //
        -0.5, 0.5, -0.5, 0.5,
    ];
    let v = VmfMixture::<f64>::new(&[0.5, 0.3, 0.2], &mus, &[5.0, 8.0, 3.0]).unwrap();
    let s3 = Sphere::<f64>::new(3).unwrap();
    let (m, se) = importance(
        &v,
        |r, x| {
            s3.sample_base_into(r, x);
            s3.base_log_density(x)
        },
        4,
        200_000,
    );
    assert!((m - 1.0).abs() < 5.0 * se && se < 0.01, "S^3: {m} ± {se}");

    // T³: uniform proposal.
    let t = TorusWrappedMixture::<f64>::new(
        &[1.0, 2.0],
        &[0.0, 1.0, -2.0, 3.0, 3.0, 3.0],
        &[0.5, 0.7, 1.0, 0.4, 2.5, 0.6],
    )
    .unwrap();
    let t3 = FlatTorus::<f64>::new(3).unwrap();
    let (m, se) = importance(
        &t,
        |r, x| {
            t3.sample_base_into(r, x);
            t3.base_log_density(x)
        },
        3,
        200_000,
    );
    assert!((m - 1.0).abs() < 5.0 * se && se < 0.01, "T^3: {m} ± {se}");

    // H³: proposal = the base wrapped normal WN(o, I) (heavier tails than the target).
    let h = HyperbolicWrappedMixture::<f64>::from_ball_means(
        &[1.0, 1.0, 2.0],
        &[0.3, 0.0, 0.0, 0.0, -0.5, 0.1, 0.0, 0.0, 0.0],
        &[0.3, 0.5, 0.4, 0.6, 0.2, 0.3, 0.5, 0.5, 0.5],
    )
    .unwrap();
    let h3 = Lorentz::<f64>::new(3).unwrap();
    let (m, se) = importance(
        &h,
        |r, x| {
            h3.sample_base_into(r, x);
            h3.base_log_density(x)
        },
        4,
        200_000,
    );
    assert!((m - 1.0).abs() < 5.0 * se && se < 0.01, "H^3: {m} ± {se}");

    // The same H³ law on B³: proposal = the ball's base law.
    let b = h.to_ball();
    let b3 = PoincareBall::<f64>::new(3).unwrap();
    let (m, se) = importance(
        &b,
        |r, x| {
            b3.sample_base_into(r, x);
            b3.base_log_density(x)
        },
        3,
        200_000,
    );
    assert!((m - 1.0).abs() < 5.0 * se && se < 0.01, "B^3: {m} ± {se}");
}

#[test]
fn sampling_is_deterministic_and_seed_dependent() {
    for name in [
        "sphere-mixture",
        "torus-mixture",
        "hyperbolic-mixture",
        "poincare-mixture",
    ] {
        let s = builtin_synthetic::<f32>(name, 0).unwrap();
        let t = s.as_target().unwrap();
        let a = t.sample(&mut rng(42), 64);
        let b = t.sample(&mut rng(42), 64);
        let c = t.sample(&mut rng(43), 64);
        assert_eq!(a, b, "{name}");
        assert_ne!(a, c, "{name}");
        assert_eq!(a.len(), 64 * s.space().ambient_dim());
    }
}

#[test]
fn f32_densities_agree_with_f64() {
    for name in [
        "sphere-mixture",
        "torus-mixture",
        "hyperbolic-mixture",
        "poincare-mixture",
    ] {
        let s64 = target(name);
        let s32 = builtin_synthetic::<f32>(name, 0).unwrap();
        let (t64, t32) = (s64.as_target().unwrap(), s32.as_target().unwrap());
        let xs = t64.sample(&mut rng(9), 200);
        let xs32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
        let mut a = vec![0.0f64; 200];
        let mut b = vec![0.0f32; 200];
        t64.log_density_batch_into(&xs, &mut a);
        t32.log_density_batch_into(&xs32, &mut b);
        for (x, y) in a.iter().zip(&b) {
            // f32 inputs move the point by ~1e-7 relative; the log-density gradient is O(κ).
            assert!(
                (x - *y as f64).abs() < 2e-4 * (1.0 + x.abs()),
                "{name}: {x} vs {y}"
            );
        }
    }
}

#[test]
fn log_density_far_in_the_tails_is_finite() {
    // Log-sum-exp keeps far points finite (no underflow to −∞).
    let s = target("sphere-mixture");
    let t = s.as_target().unwrap();
    let south = [0.0, 0.0, -1.0];
    let lp = t.log_density(&south);
    assert!(lp.is_finite() && lp < -20.0, "{lp}");
    let h = target("hyperbolic-mixture");
    let th = h.as_target().unwrap();
    let r: f64 = 30.0;
    let lp = th.log_density(&[r.cosh(), r.sinh(), 0.0]);
    assert!(lp.is_finite() && lp < -1000.0, "{lp}");
}

#[test]
fn constructors_reject_bad_parameters() {
    let mu = [0.0, 0.0, 1.0];
    assert!(VmfMixture::<f64>::new(&[], &[], &[]).is_err());
    assert!(VmfMixture::<f64>::new(&[0.0], &mu, &[1.0]).is_err());
    assert!(VmfMixture::<f64>::new(&[f64::NAN], &mu, &[1.0]).is_err());
    assert!(VmfMixture::<f64>::new(&[1.0], &mu, &[-1.0]).is_err());
    assert!(VmfMixture::<f64>::new(&[1.0], &[0.0, 0.0, 2.0], &[1.0]).is_err());
    assert!(VmfMixture::<f64>::new(&[1.0, 1.0], &mu, &[1.0, 1.0]).is_err());
    let e = VmfMixture::<f64>::new(&[1.0, 1.0], &[0.0, 0.0, 1.0, 0.0, 0.0, 3.0], &[1.0, 1.0])
        .unwrap_err();
    assert!(e.to_string().contains("component 1"), "{e}");
    assert!(TorusWrappedMixture::<f64>::new(&[1.0], &[0.0, 0.0], &[0.1]).is_err());
    assert!(TorusWrappedMixture::<f64>::new(&[1.0], &[0.0], &[0.0]).is_err());
    assert!(HyperbolicWrappedMixture::<f64>::new(&[1.0], &[2.0, 0.0, 0.0], &[1.0, 1.0]).is_err());
    assert!(HyperbolicWrappedMixture::<f64>::new(&[1.0], &[1.0, 0.0], &[1.0, 1.0]).is_err());
    assert!(
        HyperbolicWrappedMixture::<f64>::from_ball_means(&[1.0], &[1.0, 0.0], &[1.0, 1.0]).is_err()
    );
    assert!(builtin_synthetic::<f64>("klein-bottle", 0).is_err());
}

#[test]
fn builtin_spaces_and_weights() {
    assert_eq!(target("sphere-mixture").space(), Space::Sphere(2));
    assert_eq!(target("torus-mixture").space(), Space::FlatTorus(2));
    assert_eq!(target("hyperbolic-mixture").space(), Space::Lorentz(2));
    assert_eq!(target("poincare-mixture").space(), Space::PoincareBall(2));
    let c = target("categorical-toy");
    assert_eq!(
        c.space(),
        Space::SimplexPower {
            classes: 20,
            positions: 4
        }
    );
    assert!(c.as_target().is_none() && c.as_categorical().is_some());
    for name in SYNTHETIC_NAMES {
        let s = target(name);
        if let Some(t) = s.as_target() {
            assert_eq!(t.ambient_dim(), s.space().ambient_dim(), "{name}");
        }
    }
    if let Synthetic::Sphere(v) = target("sphere-mixture") {
        assert!((v.weights().iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(v.components().len(), 6);
        // Means well separated: pairwise angles above 40°.
        let c = v.components();
        for i in 0..6 {
            for j in 0..i {
                let d = Sphere::<f64>::new(2)
                    .unwrap()
                    .dist(c[i].mean_direction(), c[j].mean_direction());
                assert!(d > 40f64.to_radians(), "{i} {j}: {d}");
            }
        }
    } else {
        panic!("sphere-mixture is a vMF mixture");
    }
}

#[test]
fn categorical_toy_is_exact() {
    let toy = CategoricalToy::new(3, 4, 5).unwrap();
    assert_eq!(toy, CategoricalToy::new(3, 4, 5).unwrap());
    assert_ne!(toy, CategoricalToy::new(3, 4, 6).unwrap());
    // softmax of U[0,1): ratios below e.
    for l in 0..3 {
        let m = toy.marginal(l);
        assert!((m.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        let (lo, hi) = m
            .iter()
            .fold((1.0f64, 0.0f64), |(a, b), &p| (a.min(p), b.max(p)));
        assert!(hi / lo < std::f64::consts::E);
    }
    // Σ_s q(s) = 1 over all 4³ sequences, and the entropy is −Σ q log q.
    let (mut total, mut ent) = (0.0, 0.0);
    for s in 0..64u32 {
        let seq = [s % 4, (s / 4) % 4, s / 16];
        let lp = toy.log_prob(&seq);
        total += lp.exp();
        ent -= lp.exp() * lp;
    }
    assert!((total - 1.0).abs() < 1e-14);
    assert!((ent - toy.entropy()).abs() < 1e-13);
    // Empirical marginals of samples within 5 standard errors.
    let n = 40_000;
    let seqs = toy.sample(&mut rng(1), n);
    for l in 0..3 {
        let mut counts = [0usize; 4];
        for i in 0..n {
            counts[seqs.row(i)[l] as usize] += 1;
        }
        for (k, &c) in counts.iter().enumerate() {
            let p = toy.marginal(l)[k];
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!(
                (c as f64 / n as f64 - p).abs() < 5.0 * se,
                "pos {l} class {k}"
            );
        }
    }
    // Batch log-probs and the mean NLL of samples ≈ entropy.
    let mut lp = vec![0.0; n];
    toy.log_prob_batch_into(seqs.tokens(), &mut lp);
    let nll = -lp.iter().sum::<f64>() / n as f64;
    assert!((nll - toy.entropy()).abs() < 0.01);
    // One-hot images are points of the product simplex.
    let p = seqs.subset(&[0, 1, 2]).to_simplex::<f64>(None).unwrap();
    assert_eq!(p.dim(), 12);
    assert!(CategoricalToy::new(0, 4, 0).is_err());
    assert!(CategoricalToy::new(2, 1, 0).is_err());
    assert!(CategoricalToy::from_probs(1, 2, vec![0.5, 0.6]).is_err());
    assert!(CategoricalToy::from_probs(1, 2, vec![-0.5, 1.5]).is_err());
    // Zero-probability classes are never sampled and have log-prob −∞.
    let z = CategoricalToy::from_probs(1, 3, vec![0.0, 1.0, 0.0]).unwrap();
    let s = z.sample(&mut rng(0), 100);
    assert!(s.tokens().iter().all(|&t| t == 1));
    assert_eq!(z.log_prob(&[0]), f64::NEG_INFINITY);
    assert_eq!(z.entropy(), 0.0);
}

#[test]
fn seeded_values_are_stable() {
    let t = CategoricalToy::new(1, 3, 0).unwrap();
    let want = [
        0.36045544600433216,
        0.28265149335183326,
        0.35689306064383464,
    ];
    for (a, b) in t.probs().iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }
    let cases: [(&str, &[f64]); 4] = [
        (
            "sphere-mixture",
            &[0.08782924713248294, 0.6944000185948984, 0.7142090993004402],
        ),
        ("torus-mixture", &[-1.536015408856962, 1.6514431401227927]),
        (
            "hyperbolic-mixture",
            &[
                1.3426413594250066,
                -0.07211791763538064,
                -0.8930200591221711,
            ],
        ),
        (
            "poincare-mixture",
            &[-0.030784873384580615, -0.3812022081524932],
        ),
    ];
    for (name, want) in cases {
        let x = target(name).as_target().unwrap().sample(&mut rng(0), 1);
        for (a, b) in x.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{name}: {a} vs {b}");
        }
    }
}
