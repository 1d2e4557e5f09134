//! The training loop: determinism, resumable checkpoints, logs, bad input; G-LSD training
//! improves one-step samples.

use geoflow_flows::data::builtin_synthetic;
use geoflow_flows::metric::{mmd, Estimator};
use geoflow_flows::model::{FlowNet, NetConfig};
use geoflow_flows::objective::{Method, ObjectiveConfig};
use geoflow_flows::sample::{uniform_grid, Sampler};
use geoflow_flows::train::{TrainConfig, Trainer};
use geoflow_manifolds::{FlatTorus, Lorentz, PoincareBall, Sample, Sphere};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn sphere_data(n: usize) -> Vec<f32> {
    let t = builtin_synthetic::<f32>("sphere-mixture", 0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    t.as_target().unwrap().sample(&mut rng, n)
}

fn trainer(method: Method, steps: u64, dir: Option<&std::path::Path>) -> Trainer<f32, Sphere<f32>> {
    let m = Sphere::<f32>::new(2).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let net = FlowNet::new(m, NetConfig::small(method.times()), &mut rng);
    let config = TrainConfig {
        steps,
        batch: 64,
        warmup: 5,
        seed: 3,
        checkpoint: dir.map(|d| d.join("ckpt.safetensors")),
        checkpoint_every: 10,
        log: dir.map(|d| d.join("log.jsonl")),
        ..TrainConfig::default()
    };
    Trainer::new(net, ObjectiveConfig::new(method), config)
}

#[test]
fn training_is_deterministic_and_resumes_exactly() {
    let data = sphere_data(500);
    let dir = std::env::temp_dir().join(format!("geoflow-train-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for method in [Method::Rfm, Method::Lsd] {
        // Straight through.
        let mut a = trainer(method, 30, None);
        a.fit(&data, None, &mut |_| {}).unwrap();
        // Same again: identical.
        let mut b = trainer(method, 30, None);
        b.fit(&data, None, &mut |_| {}).unwrap();
        // Interrupted after 20 steps (the checkpoint at step 20), resumed in a new trainer.
        let mut c = trainer(method, 30, Some(&dir));
        c.fit_until(&data, None, &mut |_| {}, 20).unwrap();
        let mut d = trainer(method, 30, Some(&dir));
        d.resume(&dir.join("ckpt.safetensors")).unwrap();
        assert_eq!(d.steps(), 20);
        d.fit(&data, None, &mut |_| {}).unwrap();
        for id in a.net.params.ids() {
            assert_eq!(a.net.params.get(id), b.net.params.get(id));
            assert_eq!(
                a.net.params.get(id),
                d.net.params.get(id),
                "{}: resumed run differs",
                method.name()
            );
            assert_eq!(a.ema_params().get(id), d.ema_params().get(id));
        }
        let log = std::fs::read_to_string(dir.join("log.jsonl")).unwrap();
        assert_eq!(log.lines().count(), 30, "one JSON line per step");
        assert!(log
            .lines()
            .all(|l| l.starts_with("{\"step\":") && l.ends_with('}')));
        std::fs::remove_file(dir.join("log.jsonl")).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_training_data_is_an_error() {
    let mut t = trainer(Method::Rfm, 5, None);
    assert!(t.fit(&[], None, &mut |_| {}).is_err());
    assert!(t.fit(&[1.0, 0.0], None, &mut |_| {}).is_err());
    let off = [2.0f32, 0.0, 0.0];
    let e = t.fit(&off, None, &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("row 0"), "{e}");
    let nan = [f32::NAN, 0.0, 0.0];
    assert!(t.fit(&nan, None, &mut |_| {}).is_err());
    assert!(t.resume(std::path::Path::new("/nonexistent/ckpt")).is_err());
}

/// A G-LSD trainer with a 64×2 network.
fn lsd_small(steps: u64) -> Trainer<f32, Sphere<f32>> {
    let m = Sphere::<f32>::new(2).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut nc = NetConfig::small(2);
    nc.width = 64;
    let net = FlowNet::new(m, nc, &mut rng);
    let config = TrainConfig {
        steps,
        batch: 128,
        lr: 5e-3,
        warmup: 20,
        ema: 0.9,
        seed: 3,
        ..TrainConfig::default()
    };
    Trainer::new(net, ObjectiveConfig::new(Method::Lsd), config)
}

#[test]
fn lsd_training_reduces_one_step_mmd() {
    let m = Sphere::<f32>::new(2).unwrap();
    let data = sphere_data(1500);
    let one_step_mmd = |t: &Trainer<f32, Sphere<f32>>| {
        let mut model = t.model();
        let mut xs = vec![0.0f32; 3 * 400];
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        m.sample_base_batch_into(&mut rng, &mut xs);
        Sampler::new()
            .flow_map_sample(&m, &mut model, &mut xs, &uniform_grid(1).unwrap())
            .unwrap();
        mmd(&m, &xs, &data[..3 * 400], 1.0, Estimator::Biased).unwrap()
    };
    let mut t = lsd_small(400);
    let before = one_step_mmd(&t);
    t.fit(&data, None, &mut |_| {}).unwrap();
    let after = one_step_mmd(&t);
    assert!(after < 0.6 * before, "one-step MMD {before} -> {after}");
    // Deterministic: the same seed gives the same number.
    let mut t2 = lsd_small(400);
    t2.fit(&data, None, &mut |_| {}).unwrap();
    assert_eq!(one_step_mmd(&t2), after);
}

#[test]
fn every_objective_trains_on_every_manifold_without_nan() {
    fn run<M>(m: M, method: Method)
    where
        M: geoflow_manifolds::Manifold<Scalar = f32>
            + geoflow_manifolds::Differentiable
            + Sample
            + geoflow_autodiff::TapeManifold<f32>
            + Clone,
    {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut data = vec![0.0f32; 64 * m.ambient_dim()];
        m.sample_base_batch_into(&mut rng, &mut data);
        let net = FlowNet::new(m, NetConfig::small(method.times()), &mut rng);
        let config = TrainConfig {
            steps: 5,
            batch: 32,
            warmup: 1,
            ..TrainConfig::default()
        };
        let mut t = Trainer::new(net, ObjectiveConfig::new(method), config);
        let r = t.fit(&data, None, &mut |_| {}).unwrap();
        assert!(
            r.last_loss.is_finite(),
            "{}: loss {}",
            method.name(),
            r.last_loss
        );
        assert_eq!(r.skipped, 0);
    }
    for method in [
        Method::Rfm,
        Method::Lsd,
        Method::Esd {
            reproduce_overwrite: false,
        },
        Method::Psd { uniform_mid: false },
        Method::MeanFlow,
    ] {
        run(Sphere::<f32>::new(2).unwrap(), method);
        run(FlatTorus::<f32>::new(3).unwrap(), method);
        run(Lorentz::<f32>::new(2).unwrap(), method);
        run(PoincareBall::<f32>::new(2).unwrap(), method);
        run(
            geoflow_manifolds::Product::new(
                Sphere::<f32>::new(2).unwrap(),
                FlatTorus::<f32>::new(1).unwrap(),
            )
            .unwrap(),
            method,
        );
        run(
            geoflow_manifolds::Power::new(
                geoflow_manifolds::PositiveOrthant::<f32>::new(3).unwrap(),
                4,
            )
            .unwrap(),
            method,
        );
    }
}

#[test]
fn validation_keeps_the_best_model_and_stops_early() {
    let data = sphere_data(300);
    let mut t = trainer(Method::Rfm, 100, None);
    t.config.eval_every = 10;
    t.config.patience = Some(2);
    // Scores get worse after the second validation: stop at the fourth, keep the second.
    let mut calls = 0;
    let mut validate = |_: &mut FlowNet<f32, Sphere<f32>>| -> geoflow_flows::Result<f64> {
        calls += 1;
        Ok([3.0, 1.0, 2.0, 2.5, 0.5][calls - 1])
    };
    let r = t.fit(&data, Some(&mut validate), &mut |_| {}).unwrap();
    assert!(r.stopped_early);
    assert_eq!(r.steps, 40);
    assert_eq!(r.best, Some((1.0, 20)));
    // A failing validation is reported, not swallowed.
    let mut t = trainer(Method::Rfm, 20, None);
    t.config.eval_every = 10;
    let mut bad =
        |_: &mut FlowNet<f32, Sphere<f32>>| -> geoflow_flows::Result<f64> { Ok(f64::NAN) };
    assert!(t.fit(&data, Some(&mut bad), &mut |_| {}).is_err());
}
