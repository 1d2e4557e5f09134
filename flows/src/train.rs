//! The training loop: seeded and deterministic, EMA, validation with early stopping,
//! atomic resumable checkpoints, JSON-lines logs.
//!
//! Every step draws its randomness from its own ChaCha8 stream (`seed`, stream = step), so a
//! run is a pure function of its configuration and seed, and a run resumed from a checkpoint
//! continues exactly as if it had never stopped (the checkpoint holds the parameters, the EMA,
//! both Adam moments and the step counter). Checkpoints are written to a temporary file that
//! is then renamed over the old one, so an interruption at any moment leaves either the old or
//! the new checkpoint, never a torn one.
//!
//! Minibatches are drawn uniformly with replacement from the training rows.
//!
//! ```
//! use geoflow_flows::model::{FlowNet, NetConfig};
//! use geoflow_flows::objective::{Method, ObjectiveConfig};
//! use geoflow_flows::train::{TrainConfig, Trainer};
//! use geoflow_manifolds::{ManifoldExt, Sphere};
//! use rand::SeedableRng;
//!
//! let m = Sphere::<f32>::new(2).unwrap();
//! let data: Vec<f32> = (0..64).flat_map(|i| m.project_point(&[1.0, 0.1 * (i % 7) as f32, 0.05 * (i % 5) as f32])).collect();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let net = FlowNet::new(m, NetConfig::small(1), &mut rng);
//! let config = TrainConfig { steps: 20, batch: 32, ..TrainConfig::default() };
//! let mut trainer = Trainer::new(net, ObjectiveConfig::new(Method::Rfm), config);
//! let report = trainer.fit(&data, None, &mut |_| {}).unwrap();
//! assert_eq!(report.steps, 20);
//! ```

use crate::error::{FlowError, Result};
use crate::model::FlowNet;
use crate::objective::{LossParts, Objective, ObjectiveConfig};
use geoflow_autodiff::{
    Adam, AdamConfig, Element, Ema, Grads, ParamId, Params, Schedule, Tape, TapeManifold,
};
use geoflow_manifolds::{Differentiable, Manifold, Sample};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Hyper-parameters of a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Optimisation steps.
    pub steps: u64,
    /// Minibatch size.
    pub batch: usize,
    /// Peak learning rate (AdamW).
    pub lr: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Linear warm-up steps (then cosine decay to `lr * lr_min_factor`).
    pub warmup: u64,
    /// Final learning rate as a fraction of `lr`.
    pub lr_min_factor: f64,
    /// Global gradient-norm clipping.
    pub clip: Option<f64>,
    /// EMA decay of the parameters (the EMA weights are the ones evaluated and sampled).
    pub ema: f64,
    /// Seed of every random draw.
    pub seed: u64,
    /// Validate every this many steps (0: never).
    pub eval_every: u64,
    /// Stop after this many validations without improvement.
    pub patience: Option<u64>,
    /// Checkpoint file (written atomically every `checkpoint_every` steps and at the end).
    pub checkpoint: Option<PathBuf>,
    /// Checkpoint period in steps.
    pub checkpoint_every: u64,
    /// JSON-lines log file (appended).
    pub log: Option<PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 1000,
            batch: 512,
            lr: 1e-3,
            weight_decay: 0.0,
            warmup: 100,
            lr_min_factor: 0.01,
            clip: Some(1.0),
            ema: 0.999,
            seed: 0,
            eval_every: 0,
            patience: None,
            checkpoint: None,
            checkpoint_every: 1000,
            log: None,
        }
    }
}

/// What the loop reports to its observer.
#[derive(Clone, Debug)]
pub enum Event {
    /// After every optimisation step.
    Step {
        /// Steps done.
        step: u64,
        /// Loss parts of the step.
        loss: LossParts,
        /// Gradient norm before clipping.
        grad_norm: f64,
        /// Learning rate used.
        lr: f64,
        /// Samples per second so far.
        throughput: f64,
    },
    /// After a validation.
    Eval {
        /// Steps done.
        step: u64,
        /// Validation score (lower is better).
        score: f64,
        /// Best score so far.
        best: f64,
    },
}

/// Summary of a [`Trainer::fit`] call.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Steps done in total (including those of a resumed run).
    pub steps: u64,
    /// Loss of the last step.
    pub last_loss: f64,
    /// Best validation score and the step it was reached at.
    pub best: Option<(f64, u64)>,
    /// `true` when early stopping ended the run.
    pub stopped_early: bool,
    /// Wall time of this call in seconds.
    pub seconds: f64,
    /// Steps whose gradient was not finite (skipped).
    pub skipped: u64,
}

/// A validation function: scores the EMA network (lower is better), e.g. validation NLL.
pub type Validate<'a, T, M> = dyn FnMut(&mut FlowNet<T, M>) -> Result<f64> + 'a;

/// Trains a [`FlowNet`] with an [`Objective`].
pub struct Trainer<T: Element, M> {
    /// The network being trained (raw parameters).
    pub net: FlowNet<T, M>,
    /// The objective.
    pub objective: Objective<T, M>,
    /// Hyper-parameters.
    pub config: TrainConfig,
    ema: Ema<T>,
    opt: Adam<T>,
    best: Option<(f64, u64)>,
    best_params: Option<Params<T>>,
    bad_evals: u64,
}

impl<T: Element, M> Trainer<T, M>
where
    M: Manifold<Scalar = T> + Differentiable + Sample + TapeManifold<T> + Clone,
{
    /// A trainer at step 0.
    pub fn new(net: FlowNet<T, M>, objective: ObjectiveConfig, config: TrainConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x9e37_79b9_7f4a_7c15);
        let objective = Objective::new(objective, &mut rng);
        let ema = Ema::new(&net.params, config.ema);
        let opt = Self::optimiser(&config, &net.params);
        Self {
            net,
            objective,
            config,
            ema,
            opt,
            best: None,
            best_params: None,
            bad_evals: 0,
        }
    }

    fn optimiser(c: &TrainConfig, ps: &Params<T>) -> Adam<T> {
        let mut ac = AdamConfig::adamw(c.lr, c.weight_decay);
        if let Some(clip) = c.clip {
            ac = ac.clip(clip);
        }
        Adam::new(ac, ps).with_schedule(Schedule::Cosine {
            warmup: c.warmup,
            total: c.steps,
            min_factor: c.lr_min_factor,
        })
    }

    /// Steps done so far.
    pub fn steps(&self) -> u64 {
        self.opt.steps()
    }

    /// The EMA parameters.
    pub fn ema_params(&self) -> &Params<T> {
        self.ema.params()
    }

    /// A copy of the network carrying the EMA parameters (or the best validated ones when a
    /// validation ran): the model to sample and evaluate.
    pub fn model(&self) -> FlowNet<T, M> {
        let mut net = self.net.clone();
        let src = self.best_params.as_ref().unwrap_or(self.ema.params());
        copy_params(src, &mut net.params);
        net
    }

    /// Runs the loop until `config.steps` (or early stopping). `data` holds the training
    /// rows (`[n, D]`); `validate` scores the EMA model every `eval_every` steps.
    ///
    /// # Errors
    /// Bad data (empty, ragged, off the manifold: checked once up front), a failed
    /// validation, or an I/O error writing the checkpoint or log.
    pub fn fit(
        &mut self,
        data: &[T],
        validate: Option<&mut Validate<'_, T, M>>,
        observer: &mut dyn FnMut(&Event),
    ) -> Result<FitReport> {
        let until = self.config.steps;
        self.fit_until(data, validate, observer, until)
    }

    /// [`fit`](Trainer::fit), stopping after step `until` (at most `config.steps`): the
    /// schedule is that of the whole run, so `fit_until(k)` then `fit` is exactly `fit`
    /// (and so is a run interrupted after a checkpoint and resumed).
    ///
    /// # Errors
    /// As [`fit`](Trainer::fit).
    pub fn fit_until(
        &mut self,
        data: &[T],
        mut validate: Option<&mut Validate<'_, T, M>>,
        observer: &mut dyn FnMut(&Event),
        until: u64,
    ) -> Result<FitReport> {
        let until = until.min(self.config.steps);
        let m = self.net.manifold.clone();
        let d = m.ambient_dim();
        if data.is_empty() || data.len() % d != 0 {
            return Err(FlowError::InvalidArgument(format!(
                "training data has {} scalars, not a non-empty multiple of the ambient dimension {d}",
                data.len()
            )));
        }
        if self.config.batch == 0 {
            return Err(FlowError::InvalidArgument("batch size 0".into()));
        }
        if let Err((i, e)) = m.check_point_batch(data) {
            return Err(FlowError::InvalidArgument(format!(
                "training row {i} is not on the manifold: {e}"
            )));
        }
        let n = data.len() / d;
        let b = self.config.batch;
        let mut tape: Tape<'_, T> = Tape::new();
        let mut grads = Grads::new();
        let mut x1 = vec![T::zero(); b * d];
        let mut log = match &self.config.log {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| io_err(p, e))?,
            ),
            None => None,
        };
        let start = Instant::now();
        let first = self.opt.steps();
        let mut report = FitReport {
            steps: first,
            last_loss: f64::NAN,
            best: self.best,
            stopped_early: false,
            seconds: 0.0,
            skipped: 0,
        };
        while self.opt.steps() < until {
            let step = self.opt.steps();
            let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
            rng.set_stream(step + 1);
            for row in x1.chunks_exact_mut(d) {
                let i = rng.random_range(0..n);
                row.copy_from_slice(&data[i * d..(i + 1) * d]);
            }
            tape.reset();
            self.net.params.bind(&mut tape);
            let (loss, parts) = self
                .objective
                .record(&mut tape, &self.net, &m, &x1, &mut rng);
            tape.backward_into(loss, &mut grads);
            let info = self.opt.step(&mut self.net.params, &grads);
            self.objective.after_backward(&mut tape, loss);
            if info.skipped {
                report.skipped += 1;
                // A non-finite step does not advance the optimiser; advance the counter by
                // re-seeding the next draw from a later stream (the loop would otherwise
                // repeat this batch forever).
                self.opt_skip();
                continue;
            }
            self.ema.update(&self.net.params);
            let done = self.opt.steps();
            report.last_loss = parts.total;
            let elapsed = start.elapsed().as_secs_f64();
            let throughput = ((done - first) as f64 * b as f64) / elapsed.max(1e-9);
            observer(&Event::Step {
                step: done,
                loss: parts,
                grad_norm: info.grad_norm,
                lr: info.lr,
                throughput,
            });
            let mut line = format!(
                "{{\"step\":{done},\"loss\":{},\"fm\":{},\"sd\":{},\"grad_norm\":{},\"lr\":{},\"seconds\":{:.3}",
                json_num(parts.total),
                json_num(parts.fm),
                json_num(parts.sd),
                json_num(info.grad_norm),
                json_num(info.lr),
                elapsed
            );
            let eval_now = self.config.eval_every > 0
                && (done % self.config.eval_every == 0 || done == self.config.steps);
            if eval_now {
                if let Some(v) = validate.as_deref_mut() {
                    let mut model = self.net.clone();
                    copy_params(self.ema.params(), &mut model.params);
                    let score = v(&mut model)?;
                    if !score.is_finite() {
                        return Err(FlowError::Numerical(format!(
                            "validation score at step {done} is {score}"
                        )));
                    }
                    if self.best.is_none_or(|(b, _)| score < b) {
                        self.best = Some((score, done));
                        self.best_params = Some(self.ema.params().clone());
                        self.bad_evals = 0;
                    } else {
                        self.bad_evals += 1;
                    }
                    let best = self.best.map_or(score, |b| b.0);
                    observer(&Event::Eval {
                        step: done,
                        score,
                        best,
                    });
                    line.push_str(&format!(
                        ",\"val\":{},\"best_val\":{}",
                        json_num(score),
                        json_num(best)
                    ));
                }
            }
            line.push_str("}\n");
            if let (Some(f), Some(p)) = (&mut log, &self.config.log) {
                f.write_all(line.as_bytes()).map_err(|e| io_err(p, e))?;
            }
            let ckpt_now =
                self.config.checkpoint_every > 0 && done % self.config.checkpoint_every == 0;
            if ckpt_now {
                if let Some(p) = self.config.checkpoint.clone() {
                    self.save(&p)?;
                }
            }
            if let Some(pat) = self.config.patience {
                if eval_now && self.bad_evals >= pat {
                    report.stopped_early = true;
                    break;
                }
            }
        }
        if let Some(p) = self.config.checkpoint.clone() {
            self.save(&p)?;
        }
        report.steps = self.opt.steps();
        report.best = self.best;
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }

    /// A skipped step still consumes its step index (so that the next batch differs).
    fn opt_skip(&mut self) {
        let (m, v) = self.opt.moments();
        let (m, v) = (m.to_vec(), v.to_vec());
        let k = self.opt.steps() + 1;
        self.opt.restore(m, v, k);
    }

    /// Writes the checkpoint (parameters, EMA, best parameters, Adam moments, step, best
    /// score, objective step) to `path` atomically.
    ///
    /// # Errors
    /// On an I/O error.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut all: Params<T> = Params::new();
        let ps = &self.net.params;
        let (mm, vv) = self.opt.moments();
        for id in ps.ids() {
            let name = ps.name(id);
            let (r, c) = ps.shape(id);
            all.add(format!("model/{name}"), r, c, ps.get(id).to_vec());
            all.add(
                format!("ema/{name}"),
                r,
                c,
                self.ema.params().get(id).to_vec(),
            );
            all.add(format!("adam_m/{name}"), r, c, mm[id.index()].clone());
            all.add(format!("adam_v/{name}"), r, c, vv[id.index()].clone());
            if let Some(bp) = &self.best_params {
                all.add(format!("best/{name}"), r, c, bp.get(id).to_vec());
            }
        }
        let mut meta = HashMap::new();
        meta.insert("step".to_string(), self.opt.steps().to_string());
        meta.insert(
            "objective_step".to_string(),
            self.objective.step_count().to_string(),
        );
        meta.insert("bad_evals".to_string(), self.bad_evals.to_string());
        if let Some((b, s)) = self.best {
            meta.insert("best".to_string(), format!("{b:e}"));
            meta.insert("best_step".to_string(), s.to_string());
        }
        meta.insert(
            "method".to_string(),
            self.objective.config.method.name().to_string(),
        );
        write_safetensors(&all, meta, path)
    }

    /// Restores a checkpoint written by [`save`](Trainer::save) into this trainer (same
    /// architecture); training then continues from the saved step.
    ///
    /// # Errors
    /// A missing or malformed file, or one for another architecture.
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let (all, meta) = read_safetensors::<T>(path)?;
        let get = |all: &Params<T>, key: &str| -> Result<Vec<T>> {
            all.id(key).map(|id| all.get(id).to_vec()).ok_or_else(|| {
                FlowError::InvalidArgument(format!(
                    "{}: checkpoint has no tensor {key} (another architecture?)",
                    path.display()
                ))
            })
        };
        let ids: Vec<ParamId> = self.net.params.ids().collect();
        let (mut m, mut v) = (Vec::new(), Vec::new());
        let mut best = Params::new();
        for &id in &ids {
            let name = self.net.params.name(id).to_string();
            let want = self.net.params.get(id).len();
            let p = get(&all, &format!("model/{name}"))?;
            if p.len() != want {
                return Err(FlowError::InvalidArgument(format!(
                    "{}: tensor model/{name} has {} values, the network {want}",
                    path.display(),
                    p.len()
                )));
            }
            self.net.params.get_mut(id).copy_from_slice(&p);
            let e = get(&all, &format!("ema/{name}"))?;
            self.ema.params_mut().get_mut(id).copy_from_slice(&e);
            m.push(get(&all, &format!("adam_m/{name}"))?);
            v.push(get(&all, &format!("adam_v/{name}"))?);
            if let Ok(bp) = get(&all, &format!("best/{name}")) {
                let (r, c) = self.net.params.shape(id);
                best.add(name.clone(), r, c, bp);
            }
        }
        let num = |k: &str| -> Result<u64> {
            meta.get(k)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| FlowError::InvalidArgument(format!("{}: no {k}", path.display())))
        };
        let step = num("step")?;
        self.opt.restore(m, v, step);
        self.objective.set_step_count(num("objective_step")?);
        self.bad_evals = num("bad_evals").unwrap_or(0);
        self.best = match (meta.get("best"), meta.get("best_step")) {
            (Some(b), Some(s)) => b.parse().ok().zip(s.parse().ok()),
            _ => None,
        };
        self.best_params = (!best.is_empty()).then_some(best);
        Ok(())
    }
}

/// Copies parameter values between two sets with the same layout.
pub fn copy_params<T: Element>(src: &Params<T>, dst: &mut Params<T>) {
    let ids: Vec<ParamId> = dst.ids().collect();
    for id in ids {
        dst.get_mut(id).copy_from_slice(src.get(id));
    }
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:e}")
    } else {
        "null".to_string()
    }
}

fn io_err(p: &Path, e: std::io::Error) -> FlowError {
    FlowError::Io {
        path: p.display().to_string(),
        source: e,
    }
}

/// Writes `ps` with string metadata as safetensors, atomically (temporary file + rename).
///
/// # Errors
/// On an I/O error.
pub fn write_safetensors<T: Element>(
    ps: &Params<T>,
    meta: HashMap<String, String>,
    path: &Path,
) -> Result<()> {
    use safetensors::tensor::{Dtype, TensorView};
    let dtype = if T::IS_F64 { Dtype::F64 } else { Dtype::F32 };
    let bytes: Vec<Vec<u8>> = ps
        .ids()
        .map(|id| {
            let mut b = Vec::new();
            T::write_le(ps.get(id), &mut b);
            b
        })
        .collect();
    let mut views = Vec::new();
    for (id, b) in ps.ids().zip(&bytes) {
        let (r, c) = ps.shape(id);
        let v = TensorView::new(dtype, vec![r, c], b)
            .map_err(|e| FlowError::InvalidArgument(e.to_string()))?;
        views.push((ps.name(id).to_string(), v));
    }
    let out = safetensors::serialize(views, Some(meta))
        .map_err(|e| FlowError::InvalidArgument(e.to_string()))?;
    atomic_write(path, &out)
}

/// Reads a safetensors file written by [`write_safetensors`].
///
/// # Errors
/// A missing or malformed file, or a dtype other than `T`'s.
pub fn read_safetensors<T: Element>(path: &Path) -> Result<(Params<T>, HashMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let (_, header) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| FlowError::Data {
            path: path.display().to_string(),
            line: 0,
            msg: format!("not a safetensors file: {e}"),
        })?;
    let meta = header.metadata().clone().unwrap_or_default();
    let ps = geoflow_autodiff::io::from_bytes::<T>(&bytes).map_err(|e| FlowError::Data {
        path: path.display().to_string(),
        line: 0,
        msg: e.to_string(),
    })?;
    Ok((ps, meta))
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
///
/// # Errors
/// On an I/O error (the temporary file is removed).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(path, e)
    })
}
