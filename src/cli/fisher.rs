//! `geoflow fisher`: the Fisher-Flow toy (Dirichlet FM's benchmark, spec §6.7).
//!
//! Sequences of `L` positions over `K` classes from a fixed categorical distribution (per
//! position, softmax of uniform random logits). Three models per `K`, trained for the same
//! number of steps with the same network:
//!
//! - **Fisher-Flow**: RFM on $(S^{K-1}_+)^L$ (one-hot data mapped by $\sqrt{\cdot}$, which is
//!   the identity on vertices), uniform prior on the orthant, independent coupling;
//! - **Fisher-Flow + OT**: the same with exact minibatch optimal transport on the squared
//!   product geodesic cost;
//! - **Linear FM**: flow matching on the simplex with the Euclidean metric (straight lines from
//!   a flat Dirichlet prior), the baseline of the paper.
//!
//! `--smoothing m` trains on label-smoothed data (mass `m` on the true class). Each is sampled
//! with 100 geodesic Euler steps; the argmax class per position gives the
//! generated sequences, and the metric is $\mathrm{KL}(\hat p \,\|\, p)$ of the empirical
//! per-position marginals, averaged over positions.

use super::plot;
use super::FisherArgs;
use geoflow_flows::data::CategoricalToy;
use geoflow_flows::metric::{argmax_counts, kl_categorical};
use geoflow_flows::model::{FlowNet, NetConfig};
use geoflow_flows::objective::{Method, ObjectiveConfig};
use geoflow_flows::ot::{ot_pairs, OtMethod};
use geoflow_flows::sample::{Method as Ode, Sampler};
use geoflow_flows::train::{Event, TrainConfig, Trainer};
use geoflow_manifolds::{Euclidean, Manifold, PositiveOrthant, Power, Sample, Simplex};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::time::Instant;

type R<T> = Result<T, String>;

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

fn bar(quiet: bool, len: u64, label: String) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(label);
    pb
}

fn config(a: &FisherArgs) -> TrainConfig {
    TrainConfig {
        steps: a.steps,
        batch: 512,
        lr: 1e-3,
        weight_decay: 0.0,
        warmup: (a.steps / 20).min(200),
        lr_min_factor: 0.01,
        clip: Some(1.0),
        ema: 0.995,
        seed: a.seed,
        eval_every: 0,
        patience: None,
        checkpoint: None,
        checkpoint_every: 0,
        log: None,
    }
}

/// KL of the argmax marginals of `xs` (`[n, L·K]`) against the toy's probabilities.
fn kl(toy: &CategoricalToy, xs: &[f32]) -> R<f64> {
    let counts = argmax_counts(xs, toy.positions(), toy.classes()).map_err(e)?;
    Ok(kl_categorical(&counts, toy.probs(), toy.classes())
        .map_err(e)?
        .mean)
}

/// Runs the experiment and writes `table.md` and `kl.svg` into `a.out`.
pub fn run(a: &FisherArgs) -> R<()> {
    if a.classes.is_empty() || a.classes.iter().any(|&k| k < 2) || a.positions == 0 {
        return Err("--classes: integers >= 2; --positions >= 1".into());
    }
    if a.steps == 0 || a.samples == 0 {
        return Err("--steps and --samples must be positive".into());
    }
    std::fs::create_dir_all(&a.out).map_err(|err| format!("{}: {err}", a.out.display()))?;
    let l = a.positions;
    let mut rows: Vec<(usize, [f64; 3], f64)> = Vec::new();
    let t_all = Instant::now();
    for &k in &a.classes {
        let t0 = Instant::now();
        let toy = CategoricalToy::new(l, k, a.seed.wrapping_add(k as u64)).map_err(e)?;
        let mut rng = ChaCha8Rng::seed_from_u64(a.seed ^ 0xda7a);
        let pool = toy.sample(&mut rng, 50_000);
        let orth = pool.to_orthant::<f32>(a.smoothing).map_err(e)?.into_vec();
        let simp = pool.to_simplex::<f32>(a.smoothing).map_err(e)?.into_vec();
        let mut kls = [0.0f64; 3];
        for (j, name) in ["Fisher-Flow", "Fisher-Flow + OT", "Linear FM"]
            .iter()
            .enumerate()
        {
            let pb = bar(a.quiet, a.steps, format!("K={k} {name}"));
            let mut obs = |ev: &Event| {
                if let Event::Step { step, loss, .. } = ev {
                    pb.set_position(*step);
                    if step % 20 == 0 {
                        pb.set_message(format!("loss {:.4}", loss.total));
                    }
                }
            };
            let mut net_rng = ChaCha8Rng::seed_from_u64(a.seed);
            let xs = if j < 2 {
                let m = Power::new(PositiveOrthant::<f32>::new(k - 1).map_err(e)?, l).map_err(e)?;
                let net = FlowNet::new(m, NetConfig::new(1), &mut net_rng);
                let mut tr = Trainer::new(net, ObjectiveConfig::new(Method::Rfm), config(a));
                if j == 1 {
                    tr.objective.pairing = Some(Box::new(
                        |m: &Power<PositiveOrthant<f32>>, x0: &mut [f32], x1: &[f32], rng| {
                            // Exact minibatch OT; the optimal permutation re-pairs the base draws.
                            if let Ok(pairs) = ot_pairs(m, x0, x1, OtMethod::Exact, rng) {
                                let d = m.ambient_dim();
                                let old = x0.to_vec();
                                for (i0, i1) in pairs {
                                    x0[i1 * d..(i1 + 1) * d]
                                        .copy_from_slice(&old[i0 * d..(i0 + 1) * d]);
                                }
                            }
                        },
                    ));
                }
                tr.fit(&orth, None, &mut obs).map_err(e)?;
                let mut model = tr.model();
                let mut xs = vec![0.0f32; a.samples * m.ambient_dim()];
                let mut srng = ChaCha8Rng::seed_from_u64(a.seed ^ 0x5a);
                m.sample_base_batch_into(&mut srng, &mut xs);
                Sampler::new()
                    .integrate(&m, &mut model, &mut xs, 0.0, 1.0, 100, Ode::Euler)
                    .map_err(e)?;
                xs
            } else {
                let m = Euclidean::<f32>::new(l * k).map_err(e)?;
                let dir = Power::new(Simplex::<f32>::new(k - 1).map_err(e)?, l).map_err(e)?;
                let net = FlowNet::new(m, NetConfig::new(1), &mut net_rng);
                let mut tr = Trainer::new(net, ObjectiveConfig::new(Method::Rfm), config(a));
                let prior = dir;
                tr.objective.base = Some(Box::new(move |rng, out| {
                    prior.sample_base_batch_into(rng, out);
                }));
                tr.fit(&simp, None, &mut obs).map_err(e)?;
                let mut model = tr.model();
                let mut xs = vec![0.0f32; a.samples * m.ambient_dim()];
                let mut srng = ChaCha8Rng::seed_from_u64(a.seed ^ 0x5a);
                dir.sample_base_batch_into(&mut srng, &mut xs);
                Sampler::new()
                    .integrate(&m, &mut model, &mut xs, 0.0, 1.0, 100, Ode::Euler)
                    .map_err(e)?;
                xs
            };
            pb.finish_and_clear();
            kls[j] = kl(&toy, &xs)?;
        }
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "K = {k:>3}: KL Fisher-Flow {:.5}, Fisher-Flow + OT {:.5}, Linear FM {:.5} ({secs:.0} s)",
            kls[0], kls[1], kls[2]
        );
        rows.push((k, kls, secs));
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Fisher-Flow toy: {l} positions, target softmax(U[0,1]) per position, {} training steps (batch 512, 256×3 MLP), 100 Euler steps, KL(generated ‖ true) of the marginals over {} samples, mean over positions.\n",
        a.steps, a.samples
    );
    let _ = writeln!(
        t,
        "| classes K | Fisher-Flow | Fisher-Flow + OT | Linear FM | seconds |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|");
    for (k, v, s) in &rows {
        let _ = writeln!(
            t,
            "| {k} | {:.5} | {:.5} | {:.5} | {s:.0} |",
            v[0], v[1], v[2]
        );
    }
    let _ = writeln!(t, "\ntotal {:.0} s", t_all.elapsed().as_secs_f64());
    geoflow_flows::train::atomic_write(&a.out.join("table.md"), t.as_bytes()).map_err(e)?;
    let xs: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
    let series: Vec<(String, Vec<f64>)> = ["Fisher-Flow", "Fisher-Flow + OT", "Linear FM"]
        .iter()
        .enumerate()
        .map(|(j, n)| (n.to_string(), rows.iter().map(|r| r.1[j]).collect()))
        .collect();
    plot::lines(
        &a.out.join("kl.svg"),
        "KL of generated marginals vs number of classes",
        "classes K",
        "KL",
        &xs,
        &series,
    )?;
    print!("\n{t}");
    println!(
        "table: {}  plot: {}",
        a.out.join("table.md").display(),
        a.out.join("kl.svg").display()
    );
    Ok(())
}
