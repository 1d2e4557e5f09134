//! The `geoflow` command line program.

mod fisher;
mod plot;
mod run;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Differentiable Riemannian geometry and few-step generative models on manifolds.
///
/// With no command, runs the default job (`geoflow demo`): RFM and G-LSD trained side by side
/// on a built-in synthetic dataset on S², then sampled with 1, 2, 4 and 100 steps and
/// evaluated (NLL, MMD), with a world-map plot of data against samples.
#[derive(Parser, Debug)]
#[command(name = "geoflow", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Train a model (RFM, or a generalised flow map) on a dataset.
    Train(TrainArgs),
    /// Draw samples from a trained model.
    Sample(SampleArgs),
    /// Evaluate trained models: MMD by number of steps and NLL, one table.
    Eval(EvalArgs),
    /// Inspect a dataset: size, split, manifold, baselines.
    Data(DataCmd),
    /// The default job: RFM and G-LSD side by side on a built-in S² dataset.
    Demo(DemoArgs),
    /// Train several methods on one dataset and evaluate them in one table (+ figure).
    Compare(CompareArgs),
    /// Fisher-Flow on the categorical toy: KL of generated marginals vs the number of classes.
    Fisher(FisherArgs),
    /// Accuracy of the ODE samplers on analytic flows vs the number of steps.
    Accuracy,
}

/// Where the data comes from.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Dataset: a built-in name (sphere-mixture, torus-mixture, hyperbolic-mixture,
    /// poincare-mixture, volcano, earthquake, flood, fire, rna) or a CSV of points (then
    /// --manifold is required).
    #[arg(long, default_value = "sphere-mixture")]
    pub data: String,
    /// Manifold of a CSV file: sphere:N, torus:N, lorentz:N, poincare:N, euclidean:N.
    #[arg(long)]
    pub manifold: Option<String>,
    /// Folder of the real datasets (default: $GEOFLOW_DATA, else ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Points drawn from a synthetic distribution (split 80/10/10).
    #[arg(long, default_value_t = 20_000)]
    pub synthetic_n: usize,
    /// Seed of the split, the initialisation and every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `geoflow train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Objective: rfm, lsd, esd, psd, mf (also esd-overwrite, psd-uniform).
    #[arg(long, default_value = "rfm")]
    pub method: String,
    /// Optimisation steps.
    #[arg(long, default_value_t = 3000)]
    pub steps: u64,
    /// Minibatch size.
    #[arg(long, default_value_t = 512)]
    pub batch: usize,
    /// Peak learning rate (AdamW, warm-up then cosine decay).
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Hidden width of the network.
    #[arg(long, default_value_t = 256)]
    pub width: usize,
    /// Hidden layers.
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    /// EMA decay of the evaluated weights.
    #[arg(long, default_value_t = 0.999)]
    pub ema: f64,
    /// Output folder (model.safetensors, checkpoint.safetensors, log.jsonl).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue from the checkpoint in --out.
    #[arg(long)]
    pub resume: bool,
    /// Validate (NLL on the validation split) every this many steps; 0 = never.
    #[arg(long, default_value_t = 0)]
    pub eval_every: u64,
    /// Early stopping after this many validations without improvement.
    #[arg(long)]
    pub patience: Option<u64>,
    /// (s, t) sampler of the flow-map objectives: scaled, triangle, annealed.
    #[arg(long, default_value = "scaled")]
    pub times: String,
    /// Weight of the diagonal flow-matching term of LSD/ESD/PSD.
    #[arg(long, default_value_t = 1.0)]
    pub lambda_fm: f64,
    /// Fraction of diagonal rows (s = t); default: the method's.
    #[arg(long)]
    pub diag_fraction: Option<f64>,
    /// Learn per-(s, t) loss weights.
    #[arg(long)]
    pub learned_weights: bool,
    /// Adaptive loss weighting 1/(l + c)^p of the self-distillation residuals: `none`, or
    /// `P,C` (default: 1,0.001 for esd and mf, none for the others).
    #[arg(long)]
    pub adaptive_weight: Option<String>,
    /// Path schedule: linear, cosine, power:P.
    #[arg(long, default_value = "linear")]
    pub schedule: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `geoflow sample`.
#[derive(Args, Debug, Clone)]
pub struct SampleArgs {
    /// A model file written by `geoflow train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Steps (flow maps: jumps of the map; RFM: ODE steps).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Number of samples.
    #[arg(long, default_value_t = 1000)]
    pub n: usize,
    /// ODE sampler for vector fields: euler, midpoint, rk4, projected.
    #[arg(long, default_value = "euler")]
    pub sampler: String,
    /// Seed of the base samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output CSV (one point per line); default: standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write an SVG of the samples.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `geoflow eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Model files (repeat the option for several).
    #[arg(long, required = true)]
    pub model: Vec<PathBuf>,
    /// Numbers of steps, comma-separated.
    #[arg(long, default_value = "1,2,4,100", value_delimiter = ',')]
    pub steps: Vec<usize>,
    /// Evaluate on this many test points at most (default: all).
    #[arg(long)]
    pub n_eval: Option<usize>,
    /// Skip the likelihoods.
    #[arg(long)]
    pub no_nll: bool,
    /// Absolute and relative tolerance of the adaptive likelihood solver.
    #[arg(long, default_value_t = 1e-5)]
    pub tol: f64,
    /// Also fit the KDE baseline (bandwidth chosen on the validation split).
    #[arg(long)]
    pub kde: bool,
    /// Write an SVG of data against samples at the smallest three step counts.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `geoflow data`.
#[derive(Args, Debug, Clone)]
pub struct DataCmd {
    #[command(flatten)]
    pub data: DataArgs,
    /// Write an SVG of the training split.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `geoflow demo` (the default job).
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Training steps per model.
    #[arg(long, default_value_t = 3000)]
    pub steps: u64,
    /// Output folder.
    #[arg(long, default_value = "geoflow-out/demo")]
    pub out: PathBuf,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// `geoflow compare`.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Methods, comma-separated (rfm, lsd, esd, psd, mf, esd-overwrite, psd-uniform).
    #[arg(long, default_value = "rfm,lsd,esd,psd,mf", value_delimiter = ',')]
    pub methods: Vec<String>,
    /// Training steps per model.
    #[arg(long, default_value_t = 3000)]
    pub train_steps: u64,
    /// Minibatch size.
    #[arg(long, default_value_t = 512)]
    pub batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Hidden width.
    #[arg(long, default_value_t = 256)]
    pub width: usize,
    /// Hidden layers.
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    /// Numbers of sampling steps, comma-separated.
    #[arg(long, default_value = "1,2,4,100", value_delimiter = ',')]
    pub steps: Vec<usize>,
    /// Evaluate on this many test points at most.
    #[arg(long)]
    pub n_eval: Option<usize>,
    /// Skip the likelihoods.
    #[arg(long)]
    pub no_nll: bool,
    /// Tolerance of the adaptive likelihood solver.
    #[arg(long, default_value_t = 1e-5)]
    pub tol: f64,
    /// Also fit the KDE baseline.
    #[arg(long)]
    pub kde: bool,
    /// Output folder (models, table, figure).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// `geoflow fisher`.
#[derive(Args, Debug, Clone)]
pub struct FisherArgs {
    /// Numbers of classes, comma-separated.
    #[arg(long, default_value = "5,10,20,40,80,160", value_delimiter = ',')]
    pub classes: Vec<usize>,
    /// Sequence length.
    #[arg(long, default_value_t = 4)]
    pub positions: usize,
    /// Training steps per model.
    #[arg(long, default_value_t = 2000)]
    pub steps: u64,
    /// Generated sequences for the KL estimate.
    #[arg(long, default_value_t = 20_000)]
    pub samples: usize,
    /// Label smoothing of the training data: mass on the true class (e.g. 0.98); off by default.
    #[arg(long)]
    pub smoothing: Option<f64>,
    /// Output folder (table and plot).
    #[arg(long, default_value = "geoflow-out/fisher")]
    pub out: PathBuf,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// Parses the arguments and runs; returns the exit code. Errors are printed as one line.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return 0;
            }
            let msg = e.to_string();
            let first = msg
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            eprintln!("{} (see `geoflow --help`)", first.trim());
            return 2;
        }
    };
    // Matrix products use every core (large inference batches gain most; see the README).
    if let Ok(n) = std::thread::available_parallelism() {
        geoflow_autodiff::set_matmul_threads(n.get());
    }
    let res = match cli.cmd {
        None => run::demo(&DemoArgs {
            steps: 3000,
            out: PathBuf::from("geoflow-out/demo"),
            seed: 0,
            quiet: false,
        }),
        Some(Cmd::Demo(a)) => run::demo(&a),
        Some(Cmd::Compare(a)) => run::compare(&a),
        Some(Cmd::Train(a)) => run::train(&a).map(|_| ()),
        Some(Cmd::Sample(a)) => run::sample(&a),
        Some(Cmd::Eval(a)) => run::eval(&a),
        Some(Cmd::Data(a)) => run::data(&a),
        Some(Cmd::Fisher(a)) => run::fisher(&a),
        Some(Cmd::Accuracy) => run::accuracy(),
    };
    match res {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
