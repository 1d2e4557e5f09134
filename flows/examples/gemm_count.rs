//! Counts matrix products per training step of each objective (diagnostics).
use geoflow_autodiff::{gemm_calls, Grads, Tape};
use geoflow_flows::model::{FlowNet, NetConfig};
use geoflow_flows::objective::{Method, Objective, ObjectiveConfig};
use geoflow_manifolds::{Sample, Sphere};
use rand::SeedableRng;

fn main() {
    let m = Sphere::<f32>::new(2).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut x1 = vec![0.0f32; 512 * 3];
    m.sample_base_batch_into(&mut rng, &mut x1);
    for method in [
        Method::Rfm,
        Method::Lsd,
        Method::Esd {
            reproduce_overwrite: false,
        },
        Method::Psd { uniform_mid: false },
        Method::MeanFlow,
    ] {
        let mut net = FlowNet::new(m, NetConfig::new(method.times()), &mut rng);
        let mut obj: Objective<f32, Sphere<f32>> =
            Objective::new(ObjectiveConfig::new(method), &mut rng);
        let mut tape = Tape::new();
        let mut grads = Grads::new();
        tape.reset();
        net.params.bind(&mut tape);
        let g0 = gemm_calls();
        let (loss, _) = obj.record(&mut tape, &net, &m, &x1, &mut rng);
        let g1 = gemm_calls();
        tape.backward_into(loss, &mut grads);
        let g2 = gemm_calls();
        println!(
            "{:>4}: forward+jvp {} gemms, backward {} gemms, tape nodes {}",
            method.name(),
            g1 - g0,
            g2 - g1,
            tape.len()
        );
    }
}
