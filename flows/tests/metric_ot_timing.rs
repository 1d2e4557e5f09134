//! Release-mode timings of the metric and OT kernels (ignored by default):
//!
//! ```text
//! cargo test --release -p geoflow-flows [--features rayon] --test metric_ot_timing -- --ignored --nocapture
//! ```

use geoflow_flows::metric::{mmd, Estimator, Kde, KdeKernel};
use geoflow_flows::ot::{ot_pairs, sinkhorn_log, solve_assignment, sq_dist_matrix, OtMethod};
use geoflow_manifolds::{lorentz, prelude::*, FlatTorus, Lorentz, Sphere};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// CPU seconds used by this process so far (user + system, from /proc; 10 ms ticks), or NaN
/// where /proc is unavailable. On a shared machine CPU time is the load-independent measure:
/// on an idle machine, wall time ≈ CPU time / threads for the parallel kernels.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').map_or(0, |k| k + 2)..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `f` `reps` times; returns (best wall seconds, mean CPU seconds per run, last result),
/// and prints both.
fn best_of<R>(reps: usize, mut f: impl FnMut() -> R) -> (f64, R) {
    let mut best = f64::INFINITY;
    let mut out = None;
    let c0 = cpu_seconds();
    for _ in 0..reps {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    let cpu = (cpu_seconds() - c0) / reps as f64;
    print!(
        "[wall best {:8.1} ms, cpu mean {:8.1} ms] ",
        best * 1e3,
        cpu * 1e3
    );
    (best, out.unwrap())
}

fn threads() -> usize {
    #[cfg(feature = "rayon")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "rayon"))]
    {
        1
    }
}

#[test]
#[ignore]
fn timings() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    println!("threads: {}", threads());

    // MMD 5000 × 5000 on S².
    for dtype in ["f64", "f32"] {
        let n = 5000;
        let s2 = Sphere::<f64>::new(2).unwrap();
        let (mut xs, mut ys) = (vec![0.0; n * 3], vec![0.0; n * 3]);
        s2.sample_base_batch_into(&mut rng, &mut xs);
        s2.sample_base_batch_into(&mut rng, &mut ys);
        let (t, v) = if dtype == "f64" {
            best_of(5, || mmd(&s2, &xs, &ys, 1.0, Estimator::Biased).unwrap())
        } else {
            let s2f = Sphere::<f32>::new(2).unwrap();
            let (xf, yf): (Vec<f32>, Vec<f32>) = (
                xs.iter().map(|&v| v as f32).collect(),
                ys.iter().map(|&v| v as f32).collect(),
            );
            let (t, v) = best_of(5, || mmd(&s2f, &xf, &yf, 1.0, Estimator::Biased).unwrap());
            (t, v as f64)
        };
        println!(
            "mmd S2 {dtype} 5000x5000 biased: {:.1} ms (value {v:.5})",
            t * 1e3
        );
    }

    // Exact assignment n = 1024: uniform costs and squared geodesic costs on S².
    let n = 1024;
    let cost: Vec<f64> = (0..n * n).map(|_| f64::uniform01(&mut rng)).collect();
    let (t, a) = best_of(5, || solve_assignment(&cost, n).unwrap());
    println!(
        "assignment n=1024 uniform[0,1) costs: {:.1} ms (cost {:.4})",
        t * 1e3,
        a.cost
    );
    let s2 = Sphere::<f64>::new(2).unwrap();
    let (mut x0, mut x1) = (vec![0.0; n * 3], vec![0.0; n * 3]);
    s2.sample_base_batch_into(&mut rng, &mut x0);
    s2.sample_base_batch_into(&mut rng, &mut x1);
    let (tc, cost) = best_of(5, || sq_dist_matrix(&s2, &x0, &x1).unwrap());
    let (t, a) = best_of(5, || solve_assignment(&cost, n).unwrap());
    println!(
        "assignment n=1024 S2 geodesic^2 costs: {:.1} ms (+ {:.1} ms cost matrix; cost {:.4})",
        t * 1e3,
        tc * 1e3,
        a.cost
    );
    let (t, _) = best_of(5, || {
        ot_pairs(&s2, &x0, &x1, OtMethod::Exact, &mut rng).unwrap()
    });
    println!("ot_pairs exact n=1024 S2: {:.1} ms", t * 1e3);

    // Sinkhorn (Auto above 1024 points): n = 2048 on S².
    let n = 2048;
    let (mut x0, mut x1) = (vec![0.0; n * 3], vec![0.0; n * 3]);
    s2.sample_base_batch_into(&mut rng, &mut x0);
    s2.sample_base_batch_into(&mut rng, &mut x1);
    let cost = sq_dist_matrix(&s2, &x0, &x1).unwrap();
    let mean = cost.iter().sum::<f64>() / cost.len() as f64;
    let (t, p) = best_of(1, || {
        sinkhorn_log(&cost, n, n, 0.05 * mean, 5000, 1e-4).unwrap()
    });
    println!(
        "sinkhorn_log n=2048 S2 eps=0.05*mean: {:.1} ms, {} iterations ({:.2} ms/iter)",
        t * 1e3,
        p.iterations,
        t * 1e3 / p.iterations as f64
    );
    let (t, _) = best_of(1, || {
        ot_pairs(&s2, &x0, &x1, OtMethod::Auto, &mut rng).unwrap()
    });
    println!("ot_pairs auto (sinkhorn) n=2048 S2: {:.1} ms", t * 1e3);

    // KDE 10k training × 1k evaluation points.
    let (nt, ne) = (10_000, 1_000);
    let (mut tr, mut ev) = (vec![0.0; nt * 3], vec![0.0; ne * 3]);
    s2.sample_base_batch_into(&mut rng, &mut tr);
    s2.sample_base_batch_into(&mut rng, &mut ev);
    let kde = Kde::new(KdeKernel::VonMisesFisher, 2, &tr, 0.1).unwrap();
    let (t, nll) = best_of(5, || kde.nll(&ev).unwrap());
    println!("kde vMF S2 10k x 1k: {:.1} ms (nll {})", t * 1e3, nll);

    for dim in [2usize, 7] {
        let t_n = FlatTorus::<f64>::new(dim).unwrap();
        let (mut tr, mut ev) = (vec![0.0; nt * dim], vec![0.0; ne * dim]);
        t_n.sample_base_batch_into(&mut rng, &mut tr);
        t_n.sample_base_batch_into(&mut rng, &mut ev);
        for h in [0.3, 3.0] {
            let kde = Kde::new(KdeKernel::WrappedNormalTorus, dim, &tr, h).unwrap();
            let (t, nll) = best_of(5, || kde.nll(&ev).unwrap());
            println!(
                "kde wrapped normal T{dim} h={h} 10k x 1k: {:.1} ms (nll {})",
                t * 1e3,
                nll
            );
        }
    }

    let wn = lorentz::WrappedNormal::new(&[1.0, 0.0, 0.0], &[1.0, 1.0]).unwrap();
    let h2 = Lorentz::<f64>::new(2).unwrap();
    let (mut tr, mut ev) = (vec![0.0; nt * 3], vec![0.0; ne * 3]);
    for x in tr.chunks_exact_mut(3) {
        wn.sample_into(&mut rng, x);
    }
    for x in ev.chunks_exact_mut(3) {
        wn.sample_into(&mut rng, x);
    }
    assert!(h2.check_point_batch(&tr).is_ok());
    let kde = Kde::new(KdeKernel::WrappedNormalLorentz, 2, &tr, 0.3).unwrap();
    let (t, nll) = best_of(5, || kde.nll(&ev).unwrap());
    println!(
        "kde wrapped normal H2 10k x 1k: {:.1} ms (nll {})",
        t * 1e3,
        nll
    );
}
