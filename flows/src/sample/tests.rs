use super::analytic::*;
use super::*;
use geoflow_manifolds::{prelude::*, FlatTorus, Lorentz, PoincareBall, Sphere};
use rand::SeedableRng;

fn rng() -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::seed_from_u64(7)
}

#[test]
fn observed_orders_match_theory() {
    let rows = sampler_accuracy(&[16, 32, 64, 128]).unwrap();
    assert_eq!(rows.len(), 7 * Method::ALL.len());
    for r in &rows {
        assert!(r.errors.iter().all(|e| e.is_finite()), "{r:?}");
        let o = r.order.unwrap();
        // rk4-transport is of order 3 where trajectories curve on a curved manifold
        let curved_orbits = ["S² rotation", "H² boost", "B² boost"]
            .iter()
            .any(|c| r.case.starts_with(c));
        let want = match r.method {
            Method::Rk4Transport if !curved_orbits => 4.0,
            m => m.order() as f64,
        };
        let slack = if r.method == Method::Euler { 0.2 } else { 0.15 };
        assert!(
            (o - want).abs() < slack,
            "{} {}: order {o}, want {want}",
            r.case,
            r.method
        );
    }
    let table = accuracy_table(&[8, 16]).unwrap();
    assert_eq!(table.lines().count(), 2 + rows.len());
}

#[test]
fn exact_flow_map_sampling_is_exact_for_any_grid() {
    let s2 = Sphere::<f64>::new(2).unwrap();
    let mut map = SphereRotation::new([0.3, -0.4, 1.1], 1.5);
    let mut x0 = vec![0.0; 30];
    s2.sample_base_batch_into(&mut rng(), &mut x0);
    let mut exact = vec![0.0; 30];
    map.map_into(0.0, 1.0, &x0, &mut exact);
    let mut sampler = Sampler::new();
    for k in [1, 2, 3, 8] {
        let mut xs = x0.clone();
        sampler
            .flow_map_sample(&s2, &mut map, &mut xs, &uniform_grid(k).unwrap())
            .unwrap();
        for (a, b) in xs.iter().zip(&exact) {
            assert!((a - b).abs() < 1e-14, "k = {k}");
        }
    }
    // decreasing grids run the map backwards
    let mut xs = exact.clone();
    flow_map_sample(&s2, &mut map, &mut xs, &[1.0, 0.4, 0.0]).unwrap();
    for (a, b) in xs.iter().zip(&x0) {
        assert!((a - b).abs() < 1e-14);
    }
}

#[test]
fn forward_then_backward_returns_to_start() {
    let h2 = Lorentz::<f64>::new(2).unwrap();
    let mut field = HyperbolicBoost::new(2, 0.5, 0.5).unwrap();
    let mut x0 = vec![0.0; 24];
    h2.sample_base_batch_into(&mut rng(), &mut x0);
    let mut xs = x0.clone();
    let mut s = Sampler::new();
    s.integrate(&h2, &mut field, &mut xs, 0.0, 1.0, 64, Method::Rk4)
        .unwrap();
    s.integrate(&h2, &mut field, &mut xs, 1.0, 0.0, 64, Method::Rk4)
        .unwrap();
    for (a, b) in xs.chunks_exact(3).zip(x0.chunks_exact(3)) {
        assert!(h2.dist(a, b) < 1e-7, "{}", h2.dist(a, b));
    }
}

#[test]
fn torus_drift_quadrature_and_wrapping() {
    let t2 = FlatTorus::<f64>::new(2).unwrap();
    // constant field: every method is exact, and the result is wrapped into [-π, π)
    let mut f = TorusDrift::new(vec![3.0, -2.0], vec![1.0, 0.0]).unwrap();
    for method in Method::ALL {
        let mut xs = vec![3.0, -3.0];
        integrate(&t2, &mut f, &mut xs, 0.0, 1.0, 3, method).unwrap();
        let want = [
            geoflow_manifolds::wrap_angle(7.0),
            geoflow_manifolds::wrap_angle(-5.0),
        ];
        assert!(t2.check_point(&xs).is_ok());
        assert!(
            (xs[0] - want[0]).abs() < 1e-13 && (xs[1] - want[1]).abs() < 1e-13,
            "{method}"
        );
    }
}

#[test]
fn rk4_f32_on_the_sphere() {
    let s2 = Sphere::<f32>::new(2).unwrap();
    let mut f = SphereRotation::new([0.3f32, -0.4, 1.1], 1.5);
    let mut x0 = vec![0f32; 48];
    s2.sample_base_batch_into(&mut rng(), &mut x0);
    let mut exact = vec![0f32; 48];
    f.map_into(0.0, 1.0, &x0, &mut exact);
    let mut xs = x0.clone();
    integrate(&s2, &mut f, &mut xs, 0.0, 1.0, 32, Method::Rk4).unwrap();
    for (a, b) in xs.chunks_exact(3).zip(exact.chunks_exact(3)) {
        assert!(s2.dist(a, b) < 2e-5, "{}", s2.dist(a, b));
    }
}

#[test]
fn poincare_and_lorentz_samplers_agree_through_the_isometry() {
    use geoflow_manifolds::Diffeo;
    let b2 = PoincareBall::<f64>::new(2).unwrap();
    let h2 = b2.target();
    let mut p0 = vec![0.0; 20];
    b2.sample_base_batch_into(&mut rng(), &mut p0);
    for p in p0.chunks_exact_mut(2) {
        p[0] *= 0.5;
        p[1] *= 0.5;
    }
    let mut x0 = vec![0.0; 30];
    for (p, x) in p0.chunks_exact(2).zip(x0.chunks_exact_mut(3)) {
        b2.to_target_into(p, x);
    }
    for method in [
        Method::Euler,
        Method::Midpoint,
        Method::Rk4,
        Method::Rk4Transport,
    ] {
        let (mut ps, mut xs) = (p0.clone(), x0.clone());
        integrate(
            &b2,
            &mut BallBoost::new(2, 1.0, 1.0).unwrap(),
            &mut ps,
            0.0,
            1.0,
            10,
            method,
        )
        .unwrap();
        integrate(
            &h2,
            &mut HyperbolicBoost::new(2, 1.0, 1.0).unwrap(),
            &mut xs,
            0.0,
            1.0,
            10,
            method,
        )
        .unwrap();
        // geodesic methods are intrinsic: the same discrete trajectory in both models
        for (p, x) in ps.chunks_exact(2).zip(xs.chunks_exact(3)) {
            let mut q = [0.0; 3];
            b2.to_target_into(p, &mut q);
            assert!(h2.dist(&q, x) < 1e-9, "{method}: {}", h2.dist(&q, x));
        }
    }
}

#[test]
fn bad_input_is_an_error() {
    let s2 = Sphere::<f64>::new(2).unwrap();
    let mut f = SphereRotation::new([0.0, 0.0, 1.0], 0.0);
    let mut xs = vec![1.0, 0.0, 0.0];
    let e = |r: Result<()>| matches!(r, Err(FlowError::InvalidArgument(_)));
    assert!(e(integrate(
        &s2,
        &mut f,
        &mut xs,
        0.0,
        1.0,
        0,
        Method::Euler
    )));
    assert!(e(integrate(
        &s2,
        &mut f,
        &mut xs,
        f64::NAN,
        1.0,
        4,
        Method::Euler
    )));
    assert!(e(integrate(
        &s2,
        &mut f,
        &mut [1.0, 0.0],
        0.0,
        1.0,
        4,
        Method::Euler
    )));
    assert!(e(integrate(
        &s2,
        &mut f,
        &mut [2.0, 0.0, 0.0],
        0.0,
        1.0,
        4,
        Method::Euler
    )));
    let t2 = FlatTorus::<f64>::new(2).unwrap();
    assert!(e(integrate(
        &t2,
        &mut f,
        &mut [0.0; 2],
        0.0,
        1.0,
        4,
        Method::Euler
    )));
    assert!(e(flow_map_sample(&s2, &mut f, &mut xs, &[0.0])));
    assert!(e(flow_map_sample(&s2, &mut f, &mut xs, &[0.0, 0.5, 0.5])));
    assert!(e(flow_map_sample(&s2, &mut f, &mut xs, &[0.0, f64::NAN])));
    assert!(uniform_grid::<f64>(0).is_err());
    assert_eq!(
        uniform_grid::<f64>(4).unwrap(),
        vec![0.0, 0.25, 0.5, 0.75, 1.0]
    );
    assert_eq!("rk4".parse::<Method>().unwrap(), Method::Rk4);
    assert!("rk5".parse::<Method>().is_err());
    // empty batches are fine
    integrate(&s2, &mut f, &mut [], 0.0, 1.0, 4, Method::Rk4).unwrap();
}

/// A field that returns NaN: reported, with the row, as a numerical failure.
struct Broken;
impl VectorField<f64> for Broken {
    fn ambient_dim(&self) -> usize {
        3
    }
    fn eval_into(&mut self, _t: f64, xs: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        out[xs.len() - 1] = f64::NAN;
    }
    fn jvp_into(&mut self, t: f64, xs: &[f64], _d: &[f64], v: &mut [f64], dv: &mut [f64]) {
        self.eval_into(t, xs, v);
        dv.fill(0.0);
    }
}

#[test]
fn non_finite_states_are_reported() {
    let s2 = Sphere::<f64>::new(2).unwrap();
    let mut xs = vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    for method in Method::ALL {
        match integrate(&s2, &mut Broken, &mut xs.clone(), 0.0, 1.0, 4, method) {
            Err(FlowError::Numerical(msg)) => assert!(msg.contains("row 1"), "{msg}"),
            r => panic!("{method}: {r:?}"),
        }
    }
    // a hyperbolic field that explodes: reported, not NaN in the output
    let h2 = Lorentz::<f64>::new(2).unwrap();
    let mut f = HyperbolicRadial::new(2, -40.0, 0.0).unwrap();
    xs = vec![2f64.sqrt(), 1.0, 0.0];
    assert!(matches!(
        integrate(&h2, &mut f, &mut xs, 0.0, 1.0, 4, Method::Euler),
        Err(FlowError::Numerical(_))
    ));
}

#[test]
fn reuse_allocates_nothing() {
    let s2 = Sphere::<f64>::new(2).unwrap();
    let mut f = SphereGradient::new(vec![0.0, 0.0, 1.0], 1.0, 0.0).unwrap();
    let mut xs = vec![0.0; 300];
    s2.sample_base_batch_into(&mut rng(), &mut xs);
    let mut s = Sampler::new();
    s.integrate(&s2, &mut f, &mut xs, 0.0, 1.0, 2, Method::Rk4)
        .unwrap();
    let ptrs: Vec<*const f64> =
        s.k.iter()
            .chain([&s.y, &s.acc, &s.tmp])
            .map(|v| v.as_ptr())
            .collect();
    for method in Method::ALL {
        s.integrate(&s2, &mut f, &mut xs, 1.0, 0.0, 3, method)
            .unwrap();
        s.integrate(&s2, &mut f, &mut xs[..150], 1.0, 0.0, 3, method)
            .unwrap();
    }
    let now: Vec<*const f64> =
        s.k.iter()
            .chain([&s.y, &s.acc, &s.tmp])
            .map(|v| v.as_ptr())
            .collect();
    assert_eq!(ptrs, now);
}
