//! A short tour of geoflow's geometry: distances, a geodesic and its velocity, a transported
//! vector, and sampling, on several manifolds.
//!
//! Run with `cargo run --release --example tour`.

use geoflow::manifolds::{
    Euclidean, FlatTorus, Lorentz, PoincareBall, PositiveOrthant, Power, Simplex, Sphere,
};
use geoflow::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn fmt(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:+.6}")).collect();
    format!("[{}]", parts.join(", "))
}

/// Prints the geometry of one pair of points on `m`.
fn show<M>(name: &str, m: &M, p: &[f64], q: &[f64])
where
    M: Manifold<Scalar = f64> + ParallelTransport,
{
    println!(
        "\n== {name}  (dim {}, {} ambient coordinates)",
        m.dim(),
        m.ambient_dim()
    );
    m.check_point(p).expect("p is on the manifold");
    m.check_point(q).expect("q is on the manifold");
    println!("  p = {}", fmt(p));
    println!("  q = {}", fmt(q));
    let v = m.log(p, q);
    println!("  log_p q          = {}", fmt(&v));
    println!(
        "  d(p, q)          = {:.12}   (‖log_p q‖ = {:.12})",
        m.dist(p, q),
        m.norm(p, &v)
    );
    println!("  geodesic(0.5)    = {}", fmt(&m.geodesic(p, q, 0.5)));
    println!(
        "  velocity(0.5)    = {}",
        fmt(&m.geodesic_velocity(p, q, 0.5))
    );
    let back = m.exp(p, &v);
    let err = m.dist(&back, q);
    println!("  exp_p(log_p q)   = {}   (error {err:.1e})", fmt(&back));
    let w = m.transport(p, q, &v);
    println!(
        "  transport of log_p q to q = {}   (norm {:.12}, = −log_q p: {:.1e})",
        fmt(&w),
        m.norm(q, &w),
        w.iter()
            .zip(m.log(q, p))
            .map(|(a, b)| (a + b).abs())
            .fold(0.0, f64::max)
    );
}

fn main() -> Result<(), ManifoldError> {
    println!("geoflow geometry tour (f64)");

    let s2 = Sphere::<f64>::new(2)?;
    show("sphere S²", &s2, &[0.0, 0.0, 1.0], &[1.0, 0.0, 0.0]);
    let t = std::f64::consts::PI - 1e-6;
    let near_antipode = [t.sin(), 0.0, t.cos()];
    println!(
        "  near the cut locus: d = {:.15} (π − 1e-6 = {:.15})",
        s2.dist(&[0.0, 0.0, 1.0], &near_antipode),
        t
    );
    match s2.try_log(&[0.0, 0.0, 1.0], &[0.0, 0.0, -1.0]) {
        Err(e) => println!("  try_log at the antipode: {e}"),
        Ok(v) => println!("  try_log at the antipode: {}", fmt(&v)),
    }

    let h2 = Lorentz::<f64>::new(2)?;
    let p = h2.project_point(&[0.0, 0.3, -0.2]);
    let q = h2.project_point(&[0.0, 5.0, 2.0]);
    show("hyperboloid H²", &h2, &p, &q);

    let b2 = PoincareBall::<f64>::new(2)?;
    show("Poincaré disk B²", &b2, &[0.1, -0.2], &[0.7, 0.5]);
    let mut x = vec![0.0; 3];
    b2.to_target_into(&[0.7, 0.5], &mut x);
    println!("  as a point of the hyperboloid: {}", fmt(&x));

    let t2 = FlatTorus::<f64>::new(2)?;
    show("flat torus T²", &t2, &[3.0, -3.0], &[-3.0, 3.0]);

    let simplex = Simplex::<f64>::new(3)?;
    show(
        "probability simplex Δ³ (Fisher–Rao)",
        &simplex,
        &[0.1, 0.2, 0.3, 0.4],
        &[0.7, 0.1, 0.1, 0.1],
    );

    let orthant = PositiveOrthant::<f64>::new(2)?;
    let a = orthant.project_point(&[1.0, 2.0, 2.0]);
    let b = orthant.project_point(&[2.0, 0.1, 1.0]);
    show("positive orthant S²₊", &orthant, &a, &b);

    let seq = Power::new(Simplex::<f64>::new(3)?, 2)?;
    show(
        "sequences (Δ³)²",
        &seq,
        &[0.25, 0.25, 0.25, 0.25, 0.1, 0.2, 0.3, 0.4],
        &[0.7, 0.1, 0.1, 0.1, 0.4, 0.3, 0.2, 0.1],
    );

    let r3 = Euclidean::<f64>::new(3)?;
    show("Euclidean ℝ³", &r3, &[0.0, 0.0, 0.0], &[1.0, 2.0, 2.0]);

    println!("\n== sampling from base distributions (seed 0)");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x = s2.sample_base(&mut rng);
    println!(
        "  uniform on S²: {}   log p = {:.6} (= −log 4π)",
        fmt(&x),
        s2.base_log_density(&x)
    );
    let x = h2.sample_base(&mut rng);
    println!(
        "  wrapped normal on H²: {}   log p = {:.6}",
        fmt(&x),
        h2.base_log_density(&x)
    );
    let x = simplex.sample_base(&mut rng);
    println!(
        "  base on Δ³: {}   log p = {:.6}",
        fmt(&x),
        simplex.base_log_density(&x)
    );
    Ok(())
}
