//! Neural vector fields and flow maps: the reference network with its output projected to the
//! tangent space.
//!
//! A [`FlowNet`] is an MLP $f_\theta$ on the ambient coordinates of a point (optionally through
//! input features, e.g. $(\cos x, \sin x)$ on the torus) and one or two embedded times, with
//! its output projected onto the tangent space at the input:
//!
//! $$v_\theta(x, t) = P_x f_\theta(\phi(x), t) \quad\text{(one time: a vector field, RFM)},$$
//! $$v_\theta(x, s, t) = P_x f_\theta(\phi(x), s, t),\qquad
//!   X^\theta_{s,t}(x) = \exp_x\big((t - s)\,v_\theta(x, s, t)\big) \quad\text{(two times: a flow map)}.$$
//!
//! $X_{s,s} = \mathrm{id}$ holds exactly (the tangent step is $0 \cdot v$), and the diagonal
//! $v_\theta(x, t, t)$ is the instantaneous velocity of the flow the map approximates, so a
//! two-time net is also a [`VectorField`] (its implicit flow, used for likelihoods).
//!
//! Training records the network on a [`Tape`] with [`FlowNet::record`]; inference (samplers,
//! likelihoods) goes through the [`VectorField`] / [`FlowMap`] implementations, which run the
//! same network on a private inference tape (frozen parameters, no gradient bookkeeping) and
//! the projection and exponential map on the slice API. After the first call on a batch size,
//! evaluation allocates nothing.
//!
//! ```
//! use geoflow_flows::model::{FlowNet, NetConfig};
//! use geoflow_flows::VectorField;
//! use geoflow_manifolds::{Manifold, Sphere};
//! use rand::SeedableRng;
//!
//! let m = Sphere::<f64>::new(2).unwrap();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let mut net = FlowNet::new(m.clone(), NetConfig::small(1), &mut rng);
//! let x = [0.0, 0.0, 1.0, 1.0, 0.0, 0.0];
//! let mut v = [0.0; 6];
//! net.eval_into(0.3, &x, &mut v);
//! // The output is tangent: orthogonal to the point.
//! assert!((v[2]).abs() < 1e-12 && (v[3]).abs() < 1e-12);
//! ```

use crate::field::{FlowMap, VectorField};
use geoflow_autodiff::{
    Activation, Element, EmbeddingKind, Mlp, MlpConfig, Params, Tape, TapeManifold, Var,
};
use geoflow_manifolds::{batch::rows, Differentiable, Manifold};
use rand::Rng;

/// Panics with both lengths unless they agree.
#[track_caller]
fn same_len(a: usize, b: usize, what: &str) {
    assert!(a == b, "{what}: {a} scalars, expected {b}");
}

/// How a point's ambient coordinates are presented to the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Features {
    /// The coordinates themselves.
    Identity,
    /// $(\cos x_i, \sin x_i)$ for every coordinate: continuous across $0 \equiv 2\pi$ on the
    /// flat torus (an improvement over feeding raw angles, which the reference PyTorch code
    /// does; spec §2.4).
    Angles,
}

impl Features {
    /// Network input width for `d` ambient coordinates.
    pub fn width(self, d: usize) -> usize {
        match self {
            Features::Identity => d,
            Features::Angles => 2 * d,
        }
    }
}

/// Architecture of a [`FlowNet`].
#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    /// Hidden width.
    pub width: usize,
    /// Number of hidden layers.
    pub depth: usize,
    /// Number of time inputs: 1 (vector field) or 2 (flow map $v(x, s, t)$).
    pub times: usize,
    /// Hidden activation.
    pub activation: Activation,
    /// Residual connections between hidden layers of equal width.
    pub residual: bool,
    /// Sinusoidal features per time.
    pub time_features: usize,
    /// Input features.
    pub features: Features,
}

impl NetConfig {
    /// Width 256, depth 3, SiLU, 32 sinusoidal features per time (a CPU-sized version of the
    /// papers' tMLP).
    pub fn new(times: usize) -> Self {
        Self {
            width: 256,
            depth: 3,
            times,
            activation: Activation::Silu,
            residual: false,
            time_features: 32,
            features: Features::Identity,
        }
    }

    /// Width 32, depth 2: for tests and doc examples.
    pub fn small(times: usize) -> Self {
        Self {
            width: 32,
            depth: 2,
            ..Self::new(times)
        }
    }
}

/// A model recorded on the training tape: a vector field $v(x, t)$ (one time) or the
/// velocity $v(x, s, t)$ of a flow map (two times). The objectives of [`crate::objective`]
/// take any implementation: the [`FlowNet`] in training, exact analytic flows in the tests.
pub trait TapeModel<T: Element, M: TapeManifold<T>> {
    /// Number of time inputs (1 or 2).
    fn times(&self) -> usize;

    /// Records $v(x, \text{times}) \in T_xM$ for `x: [n, D]` and each time `[n, 1]`
    /// (parameters already bound to `tape`).
    fn record<'m>(&self, tape: &mut Tape<'m, T>, m: &'m M, x: Var, times: &[Var]) -> Var;

    /// Records the flow map $X_{s,t}(x) = \exp_x((t - s)\,v(x, s, t))$, returning `(X, v)`.
    fn record_map<'m>(
        &self,
        tape: &mut Tape<'m, T>,
        m: &'m M,
        x: Var,
        s: Var,
        t: Var,
    ) -> (Var, Var) {
        let v = self.record(tape, m, x, &[s, t]);
        let dt = tape.sub(t, s);
        let w = tape.mul(dt, v);
        (tape.exp(m, x, w), v)
    }
}

impl<T: Element, M> TapeModel<T, M> for FlowNet<T, M>
where
    M: Manifold<Scalar = T> + Differentiable + TapeManifold<T>,
{
    fn times(&self) -> usize {
        self.config.times
    }
    fn record<'m>(&self, tape: &mut Tape<'m, T>, m: &'m M, x: Var, times: &[Var]) -> Var {
        let f = self.record_raw(tape, x, times);
        tape.project_tangent(m, x, f)
    }
}

/// The reference network: an MLP whose output is projected onto $T_xM$ (see the module docs).
///
/// `M` is stored for inference; training passes the manifold to [`record`](FlowNet::record)
/// separately (the tape borrows it for its whole life, while the parameters are updated
/// between steps).
#[derive(Clone, Debug)]
pub struct FlowNet<T: Element, M> {
    /// The manifold.
    pub manifold: M,
    /// The parameters (names `net.{layer}.weight` / `.bias`).
    pub params: Params<T>,
    /// The architecture.
    pub config: NetConfig,
    mlp: Mlp<T>,
    infer: Inference<T>,
}

/// Scratch of the inference path: a tape without manifold ops, and buffers.
#[derive(Debug)]
struct Inference<T: Element> {
    tape: Tape<'static, T>,
    times: Vec<T>,
    times2: Vec<T>,
    f: Vec<T>,
    df: Vec<T>,
    v: Vec<T>,
}

impl<T: Element> Clone for Inference<T> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<T: Element> Inference<T> {
    fn new() -> Self {
        Self {
            tape: Tape::new(),
            times: Vec::new(),
            times2: Vec::new(),
            f: Vec::new(),
            df: Vec::new(),
            v: Vec::new(),
        }
    }
}

impl<T: Element, M: Manifold<Scalar = T> + Differentiable> FlowNet<T, M> {
    /// A freshly initialised network for `manifold` (PyTorch-style uniform initialisation from
    /// `rng`; the last layer starts at zero, so the initial field is $0$ and the initial flow
    /// map the identity).
    ///
    /// # Panics
    /// If `config.times` is not 1 or 2, or a width is zero.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(manifold: M, config: NetConfig, rng: &mut R) -> Self {
        assert!(
            config.times == 1 || config.times == 2,
            "FlowNet: 1 or 2 times, got {}",
            config.times
        );
        assert!(
            config.width > 0 && config.time_features > 0 && config.time_features % 2 == 0,
            "FlowNet: width and (even) time_features must be positive"
        );
        let d = manifold.ambient_dim();
        let mut params = Params::new();
        let mlp = Mlp::new(
            &mut params,
            "net",
            MlpConfig {
                input: config.features.width(d),
                hidden: vec![config.width; config.depth],
                output: d,
                activation: config.activation,
                residual: config.residual,
                time: Some((
                    EmbeddingKind::Sinusoidal {
                        // Periods from 2/64 to ~2 on t ∈ [0, 1]: f_k = 64π · 64^(-k/h).
                        scale: 64.0 * std::f64::consts::PI,
                        max_period: 64.0,
                    },
                    config.time_features,
                    config.times,
                )),
                zero_last: true,
            },
            rng,
        );
        Self {
            manifold,
            params,
            config,
            mlp,
            infer: Inference::new(),
        }
    }

    /// The architecture as `key=value` metadata (see [`save`](FlowNet::save)).
    pub fn metadata(&self) -> std::collections::HashMap<String, String> {
        let c = &self.config;
        let mut meta = std::collections::HashMap::new();
        meta.insert("width".into(), c.width.to_string());
        meta.insert("depth".into(), c.depth.to_string());
        meta.insert("times".into(), c.times.to_string());
        meta.insert("time_features".into(), c.time_features.to_string());
        meta.insert("residual".into(), c.residual.to_string());
        meta.insert(
            "activation".into(),
            format!("{:?}", c.activation).to_lowercase(),
        );
        meta.insert(
            "features".into(),
            match c.features {
                Features::Identity => "identity",
                Features::Angles => "angles",
            }
            .into(),
        );
        meta.insert(
            "ambient_dim".into(),
            self.manifold.ambient_dim().to_string(),
        );
        meta.insert("dtype".into(), if T::IS_F64 { "f64" } else { "f32" }.into());
        meta
    }

    /// Saves the parameters with the architecture and `extra` metadata (e.g. the manifold and
    /// the training method) as one safetensors file, atomically.
    ///
    /// # Errors
    /// On an I/O error.
    pub fn save(
        &self,
        path: &std::path::Path,
        extra: &std::collections::HashMap<String, String>,
    ) -> crate::Result<()> {
        let mut meta = self.metadata();
        meta.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        crate::train::write_safetensors(&self.params, meta, path)
    }

    /// Reads the metadata of a model file written by [`save`](FlowNet::save), to rebuild the
    /// manifold and the [`NetConfig`] before [`load`](FlowNet::load).
    ///
    /// # Errors
    /// A missing or malformed file, or missing architecture keys.
    pub fn read_metadata(
        path: &std::path::Path,
    ) -> crate::Result<(NetConfig, std::collections::HashMap<String, String>)> {
        let bytes = std::fs::read(path).map_err(|e| crate::FlowError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let bad = |msg: String| crate::FlowError::Data {
            path: path.display().to_string(),
            line: 0,
            msg,
        };
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| bad(format!("not a safetensors model file: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let num = |k: &str| -> crate::Result<usize> {
            meta.get(k)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| bad(format!("model file has no valid `{k}` entry")))
        };
        let activation = match meta.get("activation").map(String::as_str) {
            Some("silu") | None => Activation::Silu,
            Some("tanh") => Activation::Tanh,
            Some("gelu") => Activation::Gelu,
            Some("softplus") => Activation::Softplus,
            Some(a) => return Err(bad(format!("unknown activation {a:?}"))),
        };
        let config = NetConfig {
            width: num("width")?,
            depth: num("depth")?,
            times: num("times")?,
            activation,
            residual: meta.get("residual").is_some_and(|v| v == "true"),
            time_features: num("time_features")?,
            features: match meta.get("features").map(String::as_str) {
                Some("angles") => Features::Angles,
                _ => Features::Identity,
            },
        };
        Ok((config, meta))
    }

    /// Loads parameters saved by [`save`](FlowNet::save) into this network (built with the
    /// same manifold and [`NetConfig`]).
    ///
    /// # Errors
    /// A missing or malformed file, or parameters of another shape or precision.
    pub fn load(&mut self, path: &std::path::Path) -> crate::Result<()> {
        let (ps, _) = crate::train::read_safetensors::<T>(path)?;
        let ids: Vec<_> = self.params.ids().collect();
        for id in ids {
            let name = self.params.name(id).to_string();
            let src = ps.id(&name).ok_or_else(|| crate::FlowError::Data {
                path: path.display().to_string(),
                line: 0,
                msg: format!("model file has no tensor {name}"),
            })?;
            if ps.get(src).len() != self.params.get(id).len() {
                return Err(crate::FlowError::Data {
                    path: path.display().to_string(),
                    line: 0,
                    msg: format!("tensor {name} has another shape than the network's"),
                });
            }
            self.params.get_mut(id).copy_from_slice(ps.get(src));
        }
        Ok(())
    }

    /// Ambient dimension of the points.
    pub fn ambient_dim(&self) -> usize {
        self.manifold.ambient_dim()
    }

    /// Records the unprojected network output $f_\theta(\phi(x), \text{times})$ on a tape whose
    /// parameters are bound (`self.params.bind(tape)` or `bind_frozen`).
    #[track_caller]
    pub fn record_raw(&self, tape: &mut Tape<'_, T>, x: Var, times: &[Var]) -> Var {
        let input = match self.config.features {
            Features::Identity => x,
            Features::Angles => {
                let (c, s) = (tape.cos(x), tape.sin(x));
                tape.concat(c, s)
            }
        };
        self.mlp.forward(tape, &self.params, input, times)
    }

    /// Runs $f_\theta$ (unprojected) on `xs` at `times` (each one scalar for all rows) on the
    /// inference tape; the result is left in `self.infer.f`. With `dirs`, also the directional
    /// derivative along `dirs` into `self.infer.df`.
    fn run(&mut self, times: [T; 2], xs: &[T], dirs: Option<&[T]>) {
        let d = self.manifold.ambient_dim();
        let n = rows(xs.len(), d, "FlowNet: xs");
        let inf = &mut self.infer;
        inf.times.clear();
        inf.times.resize(n, times[0]);
        inf.times2.clear();
        inf.times2.resize(n, times[1]);
        let tape = &mut inf.tape;
        tape.reset();
        self.params.bind_frozen(tape);
        let x = match dirs {
            Some(_) => tape.leaf(xs, n, d),
            None => tape.constant(xs, n, d),
        };
        let t0 = tape.constant(&inf.times, n, 1);
        let tv = if self.config.times == 2 {
            let t1 = tape.constant(&inf.times2, n, 1);
            [t0, t1]
        } else {
            [t0, t0]
        };
        let input = match self.config.features {
            Features::Identity => x,
            Features::Angles => {
                let (c, s) = (tape.cos(x), tape.sin(x));
                tape.concat(c, s)
            }
        };
        let f = self
            .mlp
            .forward(tape, &self.params, input, &tv[..self.config.times]);
        inf.f.clear();
        inf.f.extend_from_slice(tape.value(f));
        if let Some(u) = dirs {
            same_len(u.len(), n * d, "FlowNet: dirs");
            let du = tape.constant(u, n, d);
            inf.df.clear();
            inf.df.resize(n * d, T::zero());
            tape.jvp_value_into(f, &[x], &[du], &mut inf.df);
        }
    }

    /// $v_\theta(x_i, s, t)$ for a two-time net (or $v_\theta(x_i, t)$ for a one-time net,
    /// ignoring `s`) into `out`.
    ///
    /// # Panics
    /// On slice lengths that are not `n * D`.
    #[track_caller]
    pub fn velocity_into(&mut self, s: T, t: T, xs: &[T], out: &mut [T]) {
        same_len(out.len(), xs.len(), "FlowNet: out");
        let times = if self.config.times == 2 {
            [s, t]
        } else {
            [t, t]
        };
        self.run(times, xs, None);
        self.manifold
            .project_tangent_batch_into(xs, &self.infer.f, out);
    }
}

impl<T: Element, M: Manifold<Scalar = T> + Differentiable> VectorField<T> for FlowNet<T, M> {
    fn ambient_dim(&self) -> usize {
        self.manifold.ambient_dim()
    }

    /// $v_\theta(x, t)$; for a two-time net, the diagonal $v_\theta(x, t, t)$.
    fn eval_into(&mut self, t: T, xs: &[T], out: &mut [T]) {
        self.velocity_into(t, t, xs, out);
    }

    fn jvp_into(&mut self, t: T, xs: &[T], dirs: &[T], v: &mut [T], dv: &mut [T]) {
        let d = self.manifold.ambient_dim();
        same_len(v.len(), xs.len(), "FlowNet::jvp_into: v");
        same_len(dv.len(), xs.len(), "FlowNet::jvp_into: dv");
        self.run([t, t], xs, Some(dirs));
        let inf = &self.infer;
        self.manifold.project_tangent_batch_into(xs, &inf.f, v);
        // d(P_x f(x))[u] = (dP)[u] f + P_x df[u]: the closed-form JVP of the projection.
        for (((x, f), (u, df)), o) in xs
            .chunks_exact(d)
            .zip(inf.f.chunks_exact(d))
            .zip(dirs.chunks_exact(d).zip(inf.df.chunks_exact(d)))
            .zip(dv.chunks_exact_mut(d))
        {
            self.manifold.project_tangent_jvp(x, f, u, df, o);
        }
    }
}

impl<T: Element, M: Manifold<Scalar = T> + Differentiable> FlowMap<T> for FlowNet<T, M> {
    fn ambient_dim(&self) -> usize {
        self.manifold.ambient_dim()
    }

    /// $X_{s,t}(x) = \exp_x((t - s)\,v_\theta(x, s, t))$. For a one-time net this is one
    /// geodesic Euler step of its field from `s` to `t`.
    fn map_into(&mut self, s: T, t: T, xs: &[T], out: &mut [T]) {
        same_len(out.len(), xs.len(), "FlowNet::map_into: out");
        let times = if self.config.times == 2 {
            [s, t]
        } else {
            [s, s]
        };
        self.run(times, xs, None);
        let inf = &mut self.infer;
        inf.v.clear();
        inf.v.resize(xs.len(), T::zero());
        self.manifold
            .project_tangent_batch_into(xs, &inf.f, &mut inf.v);
        let h = t - s;
        inf.v.iter_mut().for_each(|v| *v *= h);
        self.manifold.exp_batch_into(xs, &inf.v, out);
    }
}
