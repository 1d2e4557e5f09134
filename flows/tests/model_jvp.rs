//! The untaped JVP of the network in (x, s) — MeanFlow's target — against finite differences.

use geoflow_autodiff::Tape;
use geoflow_flows::model::{FlowNet, NetConfig, TapeModel};
use geoflow_manifolds::{Sample, Sphere};
use rand::SeedableRng;

#[test]
fn meanflow_jvp_of_the_network_matches_finite_differences() {
    let m = Sphere::<f64>::new(2).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut net = FlowNet::new(m, NetConfig::small(2), &mut rng);
    let ids: Vec<_> = net.params.ids().collect();
    for id in ids {
        for (k, p) in net.params.get_mut(id).iter_mut().enumerate() {
            *p += 0.05 * ((k % 7) as f64 - 3.0);
        }
    }
    let n = 4;
    let mut x = vec![0.0; 3 * n];
    m.sample_base_batch_into(&mut rng, &mut x);
    let u: Vec<f64> = x
        .chunks(3)
        .flat_map(|p| {
            let a = [0.3, -0.2, 0.5];
            let d: f64 = p.iter().zip(&a).map(|(x, y)| x * y).sum();
            (0..3).map(move |i| a[i] - d * p[i])
        })
        .collect();
    let (s0, t0) = (0.3, 0.8);
    let mut tape = Tape::new();
    net.params.bind(&mut tape);
    let xv = tape.constant(&x, n, 3);
    let s = tape.constant(&vec![s0; n], n, 1);
    let t = tape.constant(&vec![t0; n], n, 1);
    let v = net.record(&mut tape, &m, xv, &[s, t]);
    let du = tape.constant(&u, n, 3);
    let one = tape.constant(&vec![1.0; n], n, 1);
    let mut dv = vec![0.0; 3 * n];
    tape.jvp_value_into(v, &[xv, s], &[du, one], &mut dv);
    let h = 1e-6;
    let xp: Vec<f64> = x.iter().zip(&u).map(|(a, b)| a + h * b).collect();
    let xm: Vec<f64> = x.iter().zip(&u).map(|(a, b)| a - h * b).collect();
    let (mut vp, mut vm) = (vec![0.0; 3 * n], vec![0.0; 3 * n]);
    net.velocity_into(s0 + h, t0, &xp, &mut vp);
    net.velocity_into(s0 - h, t0, &xm, &mut vm);
    for i in 0..3 * n {
        let fd = (vp[i] - vm[i]) / (2.0 * h);
        assert!(
            (fd - dv[i]).abs() < 1e-6 * (1.0 + fd.abs()),
            "{i}: fd {fd} jvp {}",
            dv[i]
        );
    }
}
