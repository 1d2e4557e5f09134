//! The commands, generic over the manifold (one monomorphised copy per supported space).

use super::plot::{self, Projection};
use super::{
    CompareArgs, DataArgs, DataCmd, DemoArgs, EvalArgs, FisherArgs, SampleArgs, TrainArgs,
};
use geoflow_autodiff::TapeManifold;
use geoflow_flows::data::{
    builtin_space, builtin_synthetic, load_builtin, load_points_csv, rfm_split, Space, Synthetic,
    BUILTIN_DATASETS,
};
use geoflow_flows::likelihood::{log_likelihood, Divergence, Estimator, LikelihoodOptions, Solver};
use geoflow_flows::metric::{mmd, Estimator as MmdEstimator, Kde, KdeKernel, NllStats};
use geoflow_flows::model::{Features, FlowNet, NetConfig};
use geoflow_flows::objective::{Method, ObjectiveConfig, TimeSampler};
use geoflow_flows::path::Schedule;
use geoflow_flows::sample::{uniform_grid, Method as Ode, Sampler};
use geoflow_flows::train::{Event, FitReport, TrainConfig, Trainer};
use geoflow_manifolds::{
    Differentiable, Euclidean, FlatTorus, Lorentz, Manifold, ParallelTransport, PoincareBall,
    Sample, Sphere,
};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

type R<T> = Result<T, String>;

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

/// Everything a command needs of a manifold.
pub trait Geo:
    Manifold<Scalar = f32>
    + Differentiable
    + Sample
    + ParallelTransport
    + Divergence
    + TapeManifold<f32>
    + Clone
    + Send
    + Sync
    + 'static
{
}
impl<M> Geo for M where
    M: Manifold<Scalar = f32>
        + Differentiable
        + Sample
        + ParallelTransport
        + Divergence
        + TapeManifold<f32>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// Runs `$body` with `$m` bound to the manifold of `$space`.
macro_rules! with_space {
    ($space:expr, $m:ident => $body:expr) => {{
        match $space {
            Space::Sphere(n) => {
                let $m = Sphere::<f32>::new(n).map_err(e)?;
                $body
            }
            Space::FlatTorus(n) => {
                let $m = FlatTorus::<f32>::new(n).map_err(e)?;
                $body
            }
            Space::Lorentz(n) => {
                let $m = Lorentz::<f32>::new(n).map_err(e)?;
                $body
            }
            Space::PoincareBall(n) => {
                let $m = PoincareBall::<f32>::new(n).map_err(e)?;
                $body
            }
            Space::Euclidean(n) => {
                let $m = Euclidean::<f32>::new(n).map_err(e)?;
                $body
            }
            other => return Err(format!("{other}: not supported by this command")),
        }
    }};
}

/// `sphere:2`, `torus:7`, `lorentz:2`, `poincare:2`, `euclidean:3`.
pub fn parse_space(s: &str) -> R<Space> {
    let (kind, n) = s
        .split_once(':')
        .ok_or_else(|| format!("manifold {s:?}: expected KIND:N, e.g. sphere:2"))?;
    let n: usize = n
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("manifold {s:?}: the dimension must be a positive integer"))?;
    Ok(match kind {
        "sphere" => Space::Sphere(n),
        "torus" => Space::FlatTorus(n),
        "lorentz" => Space::Lorentz(n),
        "poincare" => Space::PoincareBall(n),
        "euclidean" => Space::Euclidean(n),
        _ => {
            return Err(format!(
            "manifold {s:?}: unknown kind {kind:?} (sphere, torus, lorentz, poincare, euclidean)"
        ))
        }
    })
}

/// The inverse of [`parse_space`].
pub fn space_spec(s: Space) -> String {
    match s {
        Space::Sphere(n) => format!("sphere:{n}"),
        Space::FlatTorus(n) => format!("torus:{n}"),
        Space::Lorentz(n) => format!("lorentz:{n}"),
        Space::PoincareBall(n) => format!("poincare:{n}"),
        Space::Euclidean(n) => format!("euclidean:{n}"),
        other => format!("{other}"),
    }
}

fn projection(s: Space) -> Projection {
    match s {
        Space::Sphere(2) => Projection::Mollweide,
        Space::FlatTorus(_) => Projection::Torus,
        Space::PoincareBall(_) => Projection::Disk,
        Space::Lorentz(2) => Projection::LorentzDisk,
        _ => Projection::Plane,
    }
}

/// A dataset split for training and evaluation.
pub struct Prepared {
    /// Name.
    pub name: String,
    /// Manifold.
    pub space: Space,
    /// Rows `[n, D]`.
    pub train: Vec<f32>,
    /// Validation rows.
    pub val: Vec<f32>,
    /// Test rows.
    pub test: Vec<f32>,
    /// The exact density, for synthetic data.
    pub target: Option<Synthetic<f32>>,
}

/// Loads or draws the dataset and splits it (RFM protocol: ⌊n/10⌋ validation and test rows,
/// seeded permutation).
pub fn prepare(a: &DataArgs) -> R<Prepared> {
    let (space, rows, target, name): (Space, Vec<f32>, Option<Synthetic<f32>>, String) = if let Ok(
        s,
    ) =
        builtin_synthetic::<f32>(&a.data, a.seed)
    {
        let space = s.space();
        let t = s.as_target().ok_or_else(|| {
            format!(
                "{}: not a continuous dataset (see `geoflow fisher`)",
                a.data
            )
        })?;
        if a.synthetic_n < 10 {
            return Err("--synthetic-n must be at least 10".into());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(a.seed ^ 0x5eed);
        let rows = t.sample(&mut rng, a.synthetic_n);
        (space, rows, Some(s), a.data.clone())
    } else if BUILTIN_DATASETS.contains(&a.data.as_str()) {
        let ds = load_builtin::<f32>(&a.data, a.data_dir.as_deref()).map_err(e)?;
        (
            builtin_space(&a.data).map_err(e)?,
            ds.into_vec(),
            None,
            a.data.clone(),
        )
    } else {
        let path = PathBuf::from(&a.data);
        if !path.exists() {
            return Err(format!(
                    "--data {}: neither a built-in dataset (sphere-mixture, torus-mixture, hyperbolic-mixture, poincare-mixture, {}) nor an existing file",
                    a.data,
                    BUILTIN_DATASETS.join(", ")
                ));
        }
        let spec = a.manifold.as_deref().ok_or_else(|| {
            format!(
                "--data {}: a CSV file needs --manifold (e.g. sphere:2)",
                a.data
            )
        })?;
        let space = parse_space(spec)?;
        let rows = with_space!(space, m => load_points_csv(&path, &m).map_err(e)?.into_vec());
        (space, rows, None, a.data.clone())
    };
    if let Some(s) = &a.manifold {
        if parse_space(s)? != space {
            return Err(format!(
                "--manifold {s} does not match the dataset's manifold {space}"
            ));
        }
    }
    let d = space.ambient_dim();
    let n = rows.len() / d;
    if n < 10 {
        return Err(format!(
            "{name}: {n} points; at least 10 are needed for a split"
        ));
    }
    let split = rfm_split(n, a.seed);
    let pick = |idx: &[usize]| -> Vec<f32> {
        idx.iter()
            .flat_map(|&i| rows[i * d..(i + 1) * d].iter().copied())
            .collect()
    };
    Ok(Prepared {
        name,
        space,
        train: pick(&split.train),
        val: pick(&split.val),
        test: pick(&split.test),
        target,
    })
}

fn net_config(space: Space, times: usize, width: usize, depth: usize) -> NetConfig {
    let mut c = NetConfig::new(times);
    c.width = width;
    c.depth = depth;
    if matches!(space, Space::FlatTorus(_)) {
        c.features = Features::Angles;
    }
    c
}

fn progress(quiet: bool, len: u64, label: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_prefix(label.to_string());
    pb
}

/// Validation / evaluation likelihood options: the adaptive solver, exact divergence in low
/// dimension, Hutchinson above 16.
fn nll_options(dim: usize, tol: f64) -> LikelihoodOptions<f32> {
    LikelihoodOptions {
        solver: Solver::dopri5(tol as f32, tol as f32),
        estimator: if dim <= 16 {
            Estimator::Exact
        } else {
            Estimator::Hutchinson {
                n_probes: 4,
                probe: geoflow_flows::likelihood::Probe::Rademacher,
                seed: 0,
            }
        },
    }
}

/// Trains one model; returns the model and the fit report, and writes
/// `out/model.safetensors`.
fn train_on<M: Geo>(
    m: M,
    p: &Prepared,
    a: &TrainArgs,
    out: &Path,
) -> R<(FlowNet<f32, M>, FitReport)> {
    let method = Method::parse(&a.method).ok_or_else(|| {
        format!(
            "--method {}: expected rfm, lsd, esd, psd, mf, esd-overwrite or psd-uniform",
            a.method
        )
    })?;
    let mut oc = ObjectiveConfig::new(method);
    oc.schedule = Schedule::parse(&a.schedule).ok_or_else(|| {
        format!(
            "--schedule {}: expected linear, cosine or power:P",
            a.schedule
        )
    })?;
    oc.times = match a.times.as_str() {
        "scaled" => TimeSampler::Scaled,
        "triangle" => TimeSampler::Triangle,
        "annealed" => TimeSampler::Annealed {
            start: 0.05,
            steps: (a.steps / 2).max(1),
        },
        t => {
            return Err(format!(
                "--times {t}: expected scaled, triangle or annealed"
            ))
        }
    };
    oc.lambda_fm = a.lambda_fm;
    if let Some(f) = a.diag_fraction {
        if !(0.0..=1.0).contains(&f) {
            return Err(format!("--diag-fraction {f}: not in [0, 1]"));
        }
        oc.diag_fraction = Some(f);
    }
    oc.learned_weights = a.learned_weights;
    if let Some(w) = &a.adaptive_weight {
        oc.adaptive_weight = if w == "none" {
            None
        } else {
            let bad = || format!("--adaptive-weight {w}: expected `none` or `P,C` (e.g. 1,0.001)");
            let (p, c) = w.split_once(',').ok_or_else(bad)?;
            let (p, c): (f64, f64) = (p.parse().map_err(|_| bad())?, c.parse().map_err(|_| bad())?);
            if !(p >= 0.0 && c > 0.0 && p.is_finite() && c.is_finite()) {
                return Err(bad());
            }
            Some((p, c))
        };
    }
    if a.batch == 0 || a.steps == 0 || a.width == 0 {
        return Err("--batch, --steps and --width must be positive".into());
    }
    if !(a.lr > 0.0 && a.lr.is_finite() && (0.0..1.0).contains(&a.ema)) {
        return Err("--lr must be positive and --ema in [0, 1)".into());
    }
    std::fs::create_dir_all(out).map_err(|err| format!("{}: {err}", out.display()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(a.data.seed);
    let net = FlowNet::new(
        m.clone(),
        net_config(p.space, method.times(), a.width, a.depth),
        &mut rng,
    );
    let ckpt = out.join("checkpoint.safetensors");
    let config = TrainConfig {
        steps: a.steps,
        batch: a.batch,
        lr: a.lr,
        weight_decay: a.weight_decay,
        warmup: (a.steps / 20).min(200),
        lr_min_factor: 0.01,
        clip: Some(1.0),
        ema: a.ema,
        seed: a.data.seed,
        eval_every: a.eval_every,
        patience: a.patience,
        checkpoint: Some(ckpt.clone()),
        checkpoint_every: (a.steps / 10).max(100),
        log: Some(out.join("log.jsonl")),
    };
    let mut trainer = Trainer::new(net, oc, config);
    if a.resume {
        if !ckpt.exists() {
            return Err(format!("--resume: no checkpoint at {}", ckpt.display()));
        }
        trainer.resume(&ckpt).map_err(e)?;
    } else if out.join("log.jsonl").exists() {
        std::fs::remove_file(out.join("log.jsonl")).map_err(e)?;
    }
    let pb = progress(a.quiet, a.steps, method.name());
    pb.set_position(trainer.steps());
    let val = p.val.clone();
    let dim = m.dim();
    let mm = m.clone();
    let mut validate = move |net: &mut FlowNet<f32, M>| -> geoflow_flows::Result<f64> {
        let opts = LikelihoodOptions {
            solver: Solver::Fixed {
                steps: 16,
                method: Ode::Rk4,
            },
            ..nll_options(dim, 1e-4)
        };
        let lp = log_likelihood(&mm, net, &val, &opts)?;
        Ok(NllStats::from_log_likelihoods(&lp)?.mean as f64)
    };
    let mut observer = |ev: &Event| match ev {
        Event::Step {
            step,
            loss,
            throughput,
            ..
        } => {
            pb.set_position(*step);
            if step % 10 == 0 {
                pb.set_message(format!(
                    "loss {:.4} {:.0} samples/s",
                    loss.total, throughput
                ));
            }
        }
        Event::Eval { score, best, .. } => {
            pb.println(format!("  validation NLL {score:.4} (best {best:.4})"));
        }
    };
    let v: Option<&mut geoflow_flows::train::Validate<'_, f32, M>> = if a.eval_every > 0 {
        Some(&mut validate)
    } else {
        None
    };
    let report = trainer.fit(&p.train, v, &mut observer).map_err(e)?;
    pb.finish_and_clear();
    let model = trainer.model();
    let mut meta = HashMap::new();
    meta.insert("manifold".to_string(), space_spec(p.space));
    meta.insert("method".to_string(), method.name().to_string());
    meta.insert("data".to_string(), p.name.clone());
    meta.insert("seed".to_string(), a.data.seed.to_string());
    meta.insert("steps".to_string(), report.steps.to_string());
    meta.insert(
        "train_seconds".to_string(),
        format!("{:.1}", report.seconds),
    );
    model
        .save(&out.join("model.safetensors"), &meta)
        .map_err(e)?;
    Ok((model, report))
}

/// `geoflow train`.
pub fn train(a: &TrainArgs) -> R<PathBuf> {
    let p = prepare(&a.data)?;
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "geoflow-out/{}-{}",
            p.name.replace(['/', '.'], "_"),
            a.method
        ))
    });
    let t0 = Instant::now();
    let report = with_space!(p.space, m => train_on(m, &p, a, &out)?.1);
    println!(
        "trained {} on {} ({}, {} training points): {} steps in {:.1} s, last loss {:.4}{}",
        a.method,
        p.name,
        p.space,
        p.train.len() / p.space.ambient_dim(),
        report.steps,
        t0.elapsed().as_secs_f64(),
        report.last_loss,
        report
            .best
            .map(|(b, s)| format!(", best validation NLL {b:.4} at step {s}"))
            .unwrap_or_default()
    );
    println!("model: {}", out.join("model.safetensors").display());
    Ok(out.join("model.safetensors"))
}

/// A trained model and its method.
struct Loaded<M: Geo> {
    net: FlowNet<f32, M>,
    method: String,
    path: PathBuf,
}

fn load_model<M: Geo>(m: &M, space: Space, path: &Path) -> R<Loaded<M>> {
    let (config, meta) = FlowNet::<f32, M>::read_metadata(path).map_err(e)?;
    let spec = meta.get("manifold").cloned().unwrap_or_default();
    if parse_space(&spec).ok() != Some(space) {
        return Err(format!(
            "{}: the model was trained on {spec:?}, the data is on {}",
            path.display(),
            space_spec(space)
        ));
    }
    if meta.get("dtype").is_some_and(|d| d != "f32") {
        return Err(format!("{}: not an f32 model", path.display()));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut net = FlowNet::new(m.clone(), config, &mut rng);
    net.load(path).map_err(e)?;
    Ok(Loaded {
        net,
        method: meta.get("method").cloned().unwrap_or_else(|| "?".into()),
        path: path.to_path_buf(),
    })
}

/// Draws `n` base samples and pushes them through the model with `k` steps.
fn generate<M: Geo>(
    m: &M,
    l: &mut Loaded<M>,
    n: usize,
    k: usize,
    ode: Ode,
    seed: u64,
) -> R<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut xs = vec![0.0f32; n * m.ambient_dim()];
    m.sample_base_batch_into(&mut rng, &mut xs);
    let mut sampler = Sampler::new();
    if l.net.config.times == 2 {
        let grid = uniform_grid::<f32>(k).map_err(e)?;
        sampler
            .flow_map_sample(m, &mut l.net, &mut xs, &grid)
            .map_err(e)?;
    } else {
        sampler
            .integrate(m, &mut l.net, &mut xs, 0.0, 1.0, k, ode)
            .map_err(e)?;
    }
    Ok(xs)
}

/// `geoflow sample`.
pub fn sample(a: &SampleArgs) -> R<()> {
    let (_, meta) = FlowNet::<f32, Sphere<f32>>::read_metadata(&a.model).map_err(e)?;
    let space = parse_space(meta.get("manifold").map_or("", String::as_str))
        .map_err(|err| format!("{}: {err}", a.model.display()))?;
    let ode: Ode = a.sampler.parse().map_err(|_| {
        format!(
            "--sampler {}: expected euler, midpoint, rk4 or projected",
            a.sampler
        )
    })?;
    if a.n == 0 {
        return Err("--n must be positive".into());
    }
    let xs = with_space!(space, m => {
        let mut l = load_model(&m, space, &a.model)?;
        let k = a.steps.unwrap_or(if l.net.config.times == 2 { 1 } else { 100 });
        if k == 0 {
            return Err("--steps must be positive".into());
        }
        generate(&m, &mut l, a.n, k, ode, a.seed)?
    });
    let d = space.ambient_dim();
    let mut text = String::new();
    for row in xs.chunks_exact(d) {
        let line: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
        text.push_str(&line.join(","));
        text.push('\n');
    }
    match &a.out {
        Some(p) => geoflow_flows::train::atomic_write(p, text.as_bytes()).map_err(e)?,
        None => print!("{text}"),
    }
    if let Some(p) = &a.plot {
        plot::panels(
            p,
            "samples",
            projection(space),
            d,
            &[],
            &[("samples".into(), xs)],
        )?;
    }
    Ok(())
}

/// One row of an evaluation table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Method name.
    pub method: String,
    /// Steps.
    pub steps: usize,
    /// MMD against the test split.
    pub mmd: f64,
}

/// Evaluation of several models on one dataset.
pub struct Evaluation {
    /// MMD rows.
    pub rows: Vec<Row>,
    /// NLL per method (mean, standard error, seconds).
    pub nll: Vec<(String, f64, f64, f64)>,
    /// Models whose likelihood failed: (method, reason).
    pub failed: Vec<(String, String)>,
    /// Baselines: (name, NLL, standard error).
    pub baselines: Vec<(String, f64, f64)>,
    /// Samples to plot: (title, points).
    pub plots: Vec<(String, Vec<f32>)>,
    /// Test points used.
    pub n_test: usize,
}

fn evaluate<M: Geo>(
    m: &M,
    p: &Prepared,
    models: &mut [Loaded<M>],
    steps: &[usize],
    n_eval: Option<usize>,
    nll: bool,
    tol: f64,
    kde: bool,
    seed: u64,
) -> R<Evaluation> {
    let d = p.space.ambient_dim();
    let n_all = p.test.len() / d;
    let n = n_eval.map_or(n_all, |k| k.min(n_all)).max(1);
    let test = &p.test[..n * d];
    let mut ev = Evaluation {
        rows: Vec::new(),
        nll: Vec::new(),
        failed: Vec::new(),
        baselines: Vec::new(),
        plots: Vec::new(),
        n_test: n,
    };
    for l in models.iter_mut() {
        for &k in steps {
            let xs = match generate(m, l, n, k, Ode::Euler, seed ^ 0xe7a1) {
                Ok(xs) => xs,
                Err(why) => {
                    // A model that leaves the manifold (e.g. overflows in f32) is reported in the
                    // table, and the other rows still run.
                    ev.failed
                        .push((format!("{} sampling with {k} steps", l.method), why));
                    ev.rows.push(Row {
                        method: l.method.clone(),
                        steps: k,
                        mmd: f64::NAN,
                    });
                    continue;
                }
            };
            let v = mmd(m, &xs, test, 1.0f32, MmdEstimator::Biased).map_err(e)?;
            ev.rows.push(Row {
                method: l.method.clone(),
                steps: k,
                mmd: f64::from(v),
            });
            if k <= 4 || k == *steps.iter().max().unwrap_or(&k) {
                ev.plots.push((
                    format!("{} · {k} step{}", l.method, if k == 1 { "" } else { "s" }),
                    xs,
                ));
            }
        }
        if nll {
            let t0 = Instant::now();
            let mut opts = nll_options(m.dim(), tol);
            if let Solver::Dopri5 { max_steps, .. } = &mut opts.solver {
                *max_steps = 2000;
            }
            match log_likelihood(m, &mut l.net, test, &opts)
                .and_then(|lp| NllStats::from_log_likelihoods(&lp))
            {
                Ok(s) => ev.nll.push((
                    l.method.clone(),
                    f64::from(s.mean),
                    f64::from(s.stderr),
                    t0.elapsed().as_secs_f64(),
                )),
                // A model whose likelihood ODE cannot be solved is reported in the table.
                Err(err) => ev
                    .failed
                    .push((l.method.clone(), format!("{}: {err}", l.path.display()))),
            }
        }
    }
    // Baselines: the base distribution, the exact density, the KDE.
    let base: Vec<f32> = test
        .chunks_exact(d)
        .map(|x| m.base_log_density(x))
        .collect();
    if let Ok(s) = NllStats::from_log_likelihoods(&base) {
        ev.baselines.push((
            "base distribution".into(),
            f64::from(s.mean),
            f64::from(s.stderr),
        ));
    }
    if let Some(t) = p.target.as_ref().and_then(|s| s.as_target()) {
        let mut lp = vec![0.0f32; n];
        t.log_density_batch_into(test, &mut lp);
        if let Ok(s) = NllStats::from_log_likelihoods(&lp) {
            ev.baselines.push((
                "true density".into(),
                f64::from(s.mean),
                f64::from(s.stderr),
            ));
        }
    }
    if kde {
        let kernel = match p.space {
            Space::Sphere(_) => Some(KdeKernel::VonMisesFisher),
            Space::FlatTorus(_) => Some(KdeKernel::WrappedNormalTorus),
            Space::Lorentz(_) => Some(KdeKernel::WrappedNormalLorentz),
            _ => None,
        };
        if let Some(kernel) = kernel {
            let grid = kernel.default_grid::<f32>();
            let (h, _) = Kde::fit_bandwidth(kernel, m.dim(), &p.train, &p.val, &grid).map_err(e)?;
            let k = Kde::new(kernel, m.dim(), &p.train, h).map_err(e)?;
            let s = k.nll(test).map_err(e)?;
            ev.baselines.push((
                format!("KDE (bandwidth {h:.3} chosen on validation)"),
                f64::from(s.mean),
                f64::from(s.stderr),
            ));
        }
    }
    Ok(ev)
}

fn table(p: &Prepared, ev: &Evaluation, steps: &[usize]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} on {}: {} test points, MMD with kernel exp(-d²) (biased, as the GFM code), NLL in nats",
        p.name, p.space, ev.n_test
    );
    let mut methods: Vec<String> = Vec::new();
    for r in &ev.rows {
        if !methods.contains(&r.method) {
            methods.push(r.method.clone());
        }
    }
    let _ = write!(s, "| method |");
    for k in steps {
        let _ = write!(s, " MMD {k} step{} |", if *k == 1 { "" } else { "s" });
    }
    let _ = writeln!(s, " NLL |");
    let _ = write!(s, "|---|");
    for _ in steps {
        let _ = write!(s, "---|");
    }
    let _ = writeln!(s, "---|");
    for meth in &methods {
        let _ = write!(s, "| {meth} |");
        for k in steps {
            match ev.rows.iter().find(|r| &r.method == meth && r.steps == *k) {
                Some(r) if r.mmd.is_finite() => {
                    let _ = write!(s, " {:.4} |", r.mmd);
                }
                Some(_) => {
                    let _ = write!(s, " failed |");
                }
                None => {
                    let _ = write!(s, " – |");
                }
            }
        }
        match ev.nll.iter().find(|x| &x.0 == meth) {
            Some((_, v, se, _)) => {
                let _ = writeln!(s, " {v:.3} ± {se:.3} |");
            }
            None if ev.failed.iter().any(|x| &x.0 == meth) => {
                let _ = writeln!(s, " failed (see below) |");
            }
            None => {
                let _ = writeln!(s, " – |");
            }
        }
    }
    for (name, v, se) in &ev.baselines {
        let _ = writeln!(
            s,
            "| {name} |{} {v:.3} ± {se:.3} |",
            " – |".repeat(steps.len())
        );
    }
    s
}

/// `geoflow eval`.
pub fn eval(a: &EvalArgs) -> R<()> {
    if a.steps.is_empty() || a.steps.contains(&0) {
        return Err("--steps: a comma-separated list of positive integers".into());
    }
    let p = prepare(&a.data)?;
    let (text, plots) = with_space!(p.space, m => {
        let mut models = Vec::new();
        for path in &a.model {
            models.push(load_model(&m, p.space, path)?);
        }
        let ev = evaluate(&m, &p, &mut models, &a.steps, a.n_eval, !a.no_nll, a.tol, a.kde, a.data.seed)?;
        (table(&p, &ev, &a.steps), ev.plots)
    });
    print!("{text}");
    if let Some(path) = &a.plot {
        let d = p.space.ambient_dim();
        plot::panels(path, &p.name, projection(p.space), d, &p.test, &plots)?;
        println!("plot: {}", path.display());
    }
    Ok(())
}

/// `geoflow data`.
pub fn data(a: &DataCmd) -> R<()> {
    let p = prepare(&a.data)?;
    let d = p.space.ambient_dim();
    let (ntr, nva, nte) = (p.train.len() / d, p.val.len() / d, p.test.len() / d);
    println!("dataset   {}", p.name);
    println!("manifold  {} (ambient dimension {d})", p.space);
    println!(
        "points    {} (train {ntr}, validation {nva}, test {nte}; RFM split, seed {})",
        ntr + nva + nte,
        a.data.seed
    );
    with_space!(p.space, m => {
        let lp: Vec<f32> = p.test.chunks_exact(d).map(|x| m.base_log_density(x)).collect();
        if let Ok(s) = NllStats::from_log_likelihoods(&lp) {
            println!("base-distribution test NLL {:.3} nats", s.mean);
        }
    });
    if let Some(t) = p.target.as_ref().and_then(|s| s.as_target()) {
        let mut lp = vec![0.0f32; nte];
        t.log_density_batch_into(&p.test, &mut lp);
        if let Ok(s) = NllStats::from_log_likelihoods(&lp) {
            println!("true-density test NLL {:.3} ± {:.3} nats", s.mean, s.stderr);
        }
    }
    for (i, row) in p.train.chunks_exact(d).take(3).enumerate() {
        println!("train[{i}] {row:?}");
    }
    if let Some(path) = &a.plot {
        plot::panels(
            path,
            &p.name,
            projection(p.space),
            d,
            &[],
            &[("training split".into(), p.train.clone())],
        )?;
        println!("plot: {}", path.display());
    }
    Ok(())
}

fn train_args(data: &DataArgs, method: &str, a: &CompareArgs) -> TrainArgs {
    TrainArgs {
        data: data.clone(),
        method: method.into(),
        steps: a.train_steps,
        batch: a.batch,
        lr: a.lr,
        weight_decay: 0.0,
        width: a.width,
        depth: a.depth,
        ema: 0.995,
        out: None,
        resume: false,
        eval_every: 0,
        patience: None,
        times: "scaled".into(),
        lambda_fm: 1.0,
        diag_fraction: None,
        learned_weights: false,
        adaptive_weight: None,
        schedule: "linear".into(),
        quiet: a.quiet,
    }
}

fn compare_on<M: Geo>(m: M, p: &Prepared, a: &CompareArgs, out: &Path) -> R<String> {
    let t0 = Instant::now();
    let mut models = Vec::new();
    let mut budget = String::new();
    for method in &a.methods {
        let ta = train_args(&a.data, method, a);
        let dir = out.join(method);
        let t = Instant::now();
        let (net, report) = train_on(m.clone(), p, &ta, &dir)?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "  trained {method:>4}: {} steps in {secs:.1} s (last loss {:.4})",
            report.steps, report.last_loss
        );
        let _ = write!(budget, "{method} {secs:.0} s, ");
        models.push(Loaded {
            net,
            method: method.clone(),
            path: dir.join("model.safetensors"),
        });
    }
    let te = Instant::now();
    let ev = evaluate(
        &m,
        p,
        &mut models,
        &a.steps,
        a.n_eval,
        !a.no_nll,
        a.tol,
        a.kde,
        a.data.seed,
    )?;
    let mut text = table(p, &ev, &a.steps);
    let _ = writeln!(
        text,
        "\nTraining: {} steps, batch {}, {}×{} MLP, AdamW lr {} (warm-up, cosine), EMA 0.995, seed {}; wall time {}evaluation {:.0} s, total {:.0} s.",
        a.train_steps,
        a.batch,
        a.width,
        a.depth,
        a.lr,
        a.data.seed,
        budget,
        te.elapsed().as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    let nll_secs: Vec<String> = ev
        .nll
        .iter()
        .map(|(mth, _, _, s)| format!("{mth} {s:.0} s"))
        .collect();
    if !nll_secs.is_empty() {
        let _ = writeln!(
            text,
            "Likelihood wall time (adaptive Dormand–Prince, tol {}): {}.",
            a.tol,
            nll_secs.join(", ")
        );
    }
    let plots: Vec<(String, Vec<f32>)> = ev
        .plots
        .iter()
        .filter(|(name, _)| {
            let steps_part = name.split(" · ").nth(1).unwrap_or("");
            let k: usize = steps_part
                .split(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            k <= 4 || name.starts_with("rfm")
        })
        .cloned()
        .collect();
    let d = p.space.ambient_dim();
    let svg = out.join("samples.svg");
    plot::panels(
        &svg,
        &format!("{}: test data (grey) vs samples (red)", p.name),
        projection(p.space),
        d,
        &p.test[..ev.n_test * d],
        &plots,
    )?;
    let _ = writeln!(text, "Figure: {}", svg.display());
    Ok(text)
}

/// `geoflow compare`.
pub fn compare(a: &CompareArgs) -> R<()> {
    if a.methods.is_empty() || a.steps.is_empty() || a.steps.contains(&0) {
        return Err("--methods and --steps must be non-empty (steps positive)".into());
    }
    for mth in &a.methods {
        Method::parse(mth).ok_or_else(|| format!("--methods: unknown method {mth:?}"))?;
    }
    let p = prepare(&a.data)?;
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "geoflow-out/compare-{}",
            p.name.replace(['/', '.'], "_")
        ))
    });
    std::fs::create_dir_all(&out).map_err(|err| format!("{}: {err}", out.display()))?;
    println!(
        "geoflow compare: {} on {} ({} training points), methods {}",
        p.name,
        p.space,
        p.train.len() / p.space.ambient_dim(),
        a.methods.join(", ")
    );
    let text = with_space!(p.space, m => compare_on(m, &p, a, &out)?);
    println!();
    print!("{text}");
    geoflow_flows::train::atomic_write(&out.join("results.md"), text.as_bytes()).map_err(e)?;
    println!("table: {}", out.join("results.md").display());
    Ok(())
}

/// The default job: `compare` on the built-in S² mixture with RFM and G-LSD.
pub fn demo(a: &DemoArgs) -> R<()> {
    println!("geoflow demo: RFM and G-LSD side by side on the built-in sphere-mixture (S², 6 von Mises–Fisher \"continents\").");
    println!("Run `geoflow --help` for the other commands.\n");
    let c = CompareArgs {
        data: DataArgs {
            data: "sphere-mixture".into(),
            manifold: None,
            data_dir: None,
            synthetic_n: 20_000,
            seed: a.seed,
        },
        methods: vec!["rfm".into(), "lsd".into()],
        train_steps: a.steps,
        batch: 512,
        lr: 2e-3,
        width: 256,
        depth: 3,
        steps: vec![1, 2, 4, 100],
        n_eval: Some(2000),
        no_nll: false,
        tol: 1e-5,
        kde: true,
        out: Some(a.out.clone()),
        quiet: a.quiet,
    };
    compare(&c)
}

/// `geoflow accuracy`.
pub fn accuracy() -> R<()> {
    let steps = [4usize, 8, 16, 32, 64];
    let t = geoflow_flows::sample::accuracy_table(&steps).map_err(e)?;
    println!("Error at t = 1 (max over points, f64) of each sampler vs the number of steps on analytic flows,");
    println!("and the order fitted on the last two step counts.\n");
    print!("{t}");
    Ok(())
}

/// `geoflow fisher`.
pub fn fisher(a: &FisherArgs) -> R<()> {
    super::fisher::run(a)
}
