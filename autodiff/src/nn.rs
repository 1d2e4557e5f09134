//! Layers on the tape: named parameter sets, [`Linear`], [`Mlp`] with time embeddings and
//! residual blocks, and [`TangentMlp`] (output projected to the tangent space).
//!
//! Parameters live outside the tape in a [`Params`] set; each step [`Params::bind`] copies them
//! onto the tape as differentiable leaves (into pooled storage), the model records its forward
//! pass, and an optimiser ([`crate::optim`]) reads the gradients back by [`ParamId`].

use crate::{Element, Grads, Tape, TapeManifold, Var};
use rand::Rng;

/// A handle to one tensor of a [`Params`] set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamId(pub(crate) usize);

impl ParamId {
    /// Position in the set.
    pub fn index(self) -> usize {
        self.0
    }
}

/// Named `[rows, cols]` parameter tensors.
#[derive(Clone, Debug, Default)]
pub struct Params<T> {
    pub(crate) names: Vec<String>,
    pub(crate) shapes: Vec<(usize, usize)>,
    pub(crate) data: Vec<Vec<T>>,
    vars: Vec<Var>,
}

impl<T: Element> Params<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            names: Vec::new(),
            shapes: Vec::new(),
            data: Vec::new(),
            vars: Vec::new(),
        }
    }

    /// Adds a tensor.
    ///
    /// # Panics
    /// If the name is taken or `data.len() != rows * cols`.
    #[track_caller]
    pub fn add(
        &mut self,
        name: impl Into<String>,
        rows: usize,
        cols: usize,
        data: Vec<T>,
    ) -> ParamId {
        let name = name.into();
        assert!(
            self.id(&name).is_none(),
            "Params::add: the name {name:?} is taken"
        );
        assert!(
            data.len() == rows * cols,
            "Params::add: {name:?} has {} scalars, shape [{rows}, {cols}] needs {}",
            data.len(),
            rows * cols
        );
        self.names.push(name);
        self.shapes.push((rows, cols));
        self.data.push(data);
        ParamId(self.names.len() - 1)
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// Total number of scalars.
    pub fn num_scalars(&self) -> usize {
        self.data.iter().map(Vec::len).sum()
    }
    /// The id of a name.
    pub fn id(&self, name: &str) -> Option<ParamId> {
        self.names.iter().position(|n| n == name).map(ParamId)
    }
    /// The name of a tensor.
    pub fn name(&self, id: ParamId) -> &str {
        &self.names[id.0]
    }
    /// `(rows, cols)` of a tensor.
    pub fn shape(&self, id: ParamId) -> (usize, usize) {
        self.shapes[id.0]
    }
    /// The values of a tensor.
    pub fn get(&self, id: ParamId) -> &[T] {
        &self.data[id.0]
    }
    /// The values of a tensor, mutably.
    pub fn get_mut(&mut self, id: ParamId) -> &mut [T] {
        &mut self.data[id.0]
    }
    /// Every id, in insertion order.
    pub fn ids(&self) -> impl Iterator<Item = ParamId> {
        (0..self.len()).map(ParamId)
    }

    /// Records every tensor on the tape as a differentiable leaf (call once per step, after
    /// [`Tape::reset`]).
    pub fn bind(&mut self, tape: &mut Tape<'_, T>) {
        self.vars.clear();
        for (d, &(r, c)) in self.data.iter().zip(&self.shapes) {
            self.vars.push(tape.leaf(d, r, c));
        }
    }

    /// Like [`bind`](Params::bind), but as constants: no gradient flows into the parameters
    /// (a stop-gradient teacher, or inference).
    pub fn bind_frozen(&mut self, tape: &mut Tape<'_, T>) {
        self.vars.clear();
        for (d, &(r, c)) in self.data.iter().zip(&self.shapes) {
            self.vars.push(tape.constant(d, r, c));
        }
    }

    /// The tape variable of a tensor after [`bind`](Params::bind).
    ///
    /// # Panics
    /// If the set was not bound.
    #[track_caller]
    pub fn var(&self, id: ParamId) -> Var {
        *self.vars.get(id.0).unwrap_or_else(|| {
            panic!(
                "Params::var: {:?} is not bound to the tape (call Params::bind)",
                self.names[id.0]
            )
        })
    }

    /// The gradient of a tensor from a reverse sweep of the tape it was bound to.
    pub fn grad<'g>(&self, grads: &'g Grads<T>, id: ParamId) -> Option<&'g [T]> {
        self.vars.get(id.0).and_then(|&v| grads.get(v))
    }
}

/// Elementwise activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// No activation.
    Identity,
    /// $x\\,\sigma(x)$.
    Silu,
    /// $\tanh x$.
    Tanh,
    /// GELU (tanh approximation).
    Gelu,
    /// $\ln(1 + e^x)$.
    Softplus,
    /// $\sigma(x)$.
    Sigmoid,
}

impl Activation {
    /// Records the activation of `x`.
    pub fn apply<T: Element>(self, tape: &mut Tape<'_, T>, x: Var) -> Var {
        match self {
            Activation::Identity => x,
            Activation::Silu => tape.silu(x),
            Activation::Tanh => tape.tanh(x),
            Activation::Gelu => tape.gelu(x),
            Activation::Softplus => tape.softplus(x),
            Activation::Sigmoid => tape.sigmoid(x),
        }
    }
}

/// `y = x W + b` with `W: [in, out]`, `b: [1, out]`, initialised like PyTorch
/// (uniform in $\pm 1/\sqrt{\text{in}}$).
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    /// The weight.
    pub w: ParamId,
    /// The bias row.
    pub b: ParamId,
    /// Input width.
    pub input: usize,
    /// Output width.
    pub output: usize,
}

impl Linear {
    /// Adds `{name}.weight` and `{name}.bias` to `ps`.
    pub fn new<T: Element, R: Rng + ?Sized>(
        ps: &mut Params<T>,
        name: &str,
        input: usize,
        output: usize,
        rng: &mut R,
    ) -> Self {
        let k = 1.0 / (input.max(1) as f64).sqrt();
        let mut u = |n: usize| {
            (0..n)
                .map(|_| T::c(rng.random_range(-k..k)))
                .collect::<Vec<T>>()
        };
        let w = ps.add(format!("{name}.weight"), input, output, u(input * output));
        let b = ps.add(format!("{name}.bias"), 1, output, u(output));
        Self {
            w,
            b,
            input,
            output,
        }
    }

    /// Sets the weight and bias to zero (e.g. the last layer of a residual or flow-map net).
    pub fn zero<T: Element>(&self, ps: &mut Params<T>) {
        ps.get_mut(self.w).fill(T::zero());
        ps.get_mut(self.b).fill(T::zero());
    }

    /// Records `x W + b` (one fused node).
    #[track_caller]
    pub fn forward<T: Element>(&self, tape: &mut Tape<'_, T>, ps: &Params<T>, x: Var) -> Var {
        tape.affine(x, ps.var(self.w), ps.var(self.b))
    }
}

/// How times are embedded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EmbeddingKind {
    /// Transformer/DDPM sinusoids of `scale · t` with frequencies
    /// $f_k = \text{max\\_period}^{-k/h}$, $k < h = \text{dim}/2$.
    Sinusoidal {
        /// Multiplier of the time (1000 for $t \in \lbrack 0, 1 \rbrack$ as in DDPM).
        scale: f64,
        /// Longest period (10 000 in the Transformer).
        max_period: f64,
    },
    /// Random Fourier features $\sin(2\pi b_k t), \cos(2\pi b_k t)$ with fixed
    /// $b_k \sim \mathcal N(0, \sigma^2)$.
    Fourier {
        /// The standard deviation $\sigma$ of the frequencies.
        sigma: f64,
    },
}

/// Time embedding of one or two times (`t`, or `s, t` for flow maps), each mapped to
/// `dim` features `[sin, cos]` and concatenated.
#[derive(Clone, Debug)]
pub struct TimeEmbedding<T> {
    /// Features per time (even).
    pub dim: usize,
    /// Number of times (1 or 2).
    pub times: usize,
    freqs: Vec<T>,
}

impl<T: Element> TimeEmbedding<T> {
    /// A new embedding; Fourier frequencies are drawn from `rng`.
    ///
    /// # Panics
    /// If `dim` is odd or zero, or `times` is not 1 or 2.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        kind: EmbeddingKind,
        dim: usize,
        times: usize,
        rng: &mut R,
    ) -> Self {
        assert!(
            dim > 0 && dim % 2 == 0,
            "TimeEmbedding: dim must be even and positive, got {dim}"
        );
        assert!(
            times == 1 || times == 2,
            "TimeEmbedding: 1 or 2 times, got {times}"
        );
        let h = dim / 2;
        let freqs = match kind {
            EmbeddingKind::Sinusoidal { scale, max_period } => (0..h)
                .map(|k| T::c(scale * (-(max_period.ln()) * k as f64 / h as f64).exp()))
                .collect(),
            EmbeddingKind::Fourier { sigma } => (0..h)
                .map(|_| T::c(2.0 * std::f64::consts::PI * sigma) * T::standard_normal(rng))
                .collect(),
        };
        Self { dim, times, freqs }
    }

    /// Output width: `dim * times`.
    pub fn width(&self) -> usize {
        self.dim * self.times
    }

    /// Records the embedding of `times` (each `[n, 1]`), `[n, dim * times]`.
    ///
    /// # Panics
    /// If the number of times differs from the configuration.
    #[track_caller]
    pub fn forward(&self, tape: &mut Tape<'_, T>, times: &[Var]) -> Var {
        assert!(
            times.len() == self.times,
            "TimeEmbedding: expected {} times, got {}",
            self.times,
            times.len()
        );
        let f = tape.constant(&self.freqs, 1, self.freqs.len());
        let mut out: Option<Var> = None;
        for &t in times {
            let a = tape.mul(t, f);
            let (s, c) = (tape.sin(a), tape.cos(a));
            let e = tape.concat(s, c);
            out = Some(match out {
                None => e,
                Some(o) => tape.concat(o, e),
            });
        }
        out.unwrap()
    }
}

/// Configuration of an [`Mlp`].
#[derive(Clone, Debug)]
pub struct MlpConfig {
    /// Width of the data input.
    pub input: usize,
    /// Widths of the hidden layers.
    pub hidden: Vec<usize>,
    /// Output width.
    pub output: usize,
    /// Hidden activation.
    pub activation: Activation,
    /// Residual connections `h + act(h W + b)` around hidden layers whose input and output
    /// widths agree.
    pub residual: bool,
    /// Time embedding: `(kind, features per time, number of times)`.
    pub time: Option<(EmbeddingKind, usize, usize)>,
    /// Initialise the last layer to zero.
    pub zero_last: bool,
}

impl MlpConfig {
    /// The flow-matching network of the papers: `input` + time embedding, `depth` hidden
    /// layers of `width`, SiLU, output `output`.
    pub fn flow(input: usize, output: usize, width: usize, depth: usize, times: usize) -> Self {
        Self {
            input,
            hidden: vec![width; depth],
            output,
            activation: Activation::Silu,
            residual: false,
            time: Some((
                EmbeddingKind::Sinusoidal {
                    scale: 1000.0,
                    max_period: 10000.0,
                },
                64,
                times,
            )),
            zero_last: false,
        }
    }
}

/// A multilayer perceptron with optional time embedding and residual blocks.
#[derive(Clone, Debug)]
pub struct Mlp<T> {
    /// The layers (hidden then output).
    pub layers: Vec<Linear>,
    /// The time embedding.
    pub embedding: Option<TimeEmbedding<T>>,
    /// The configuration.
    pub config: MlpConfig,
}

impl<T: Element> Mlp<T> {
    /// Adds the layers' parameters to `ps` as `{name}.{i}.weight` / `.bias`.
    pub fn new<R: Rng + ?Sized>(
        ps: &mut Params<T>,
        name: &str,
        config: MlpConfig,
        rng: &mut R,
    ) -> Self {
        let embedding = config
            .time
            .map(|(k, d, n)| TimeEmbedding::new(k, d, n, rng));
        let mut width = config.input + embedding.as_ref().map_or(0, |e| e.width());
        let mut layers = Vec::new();
        for (i, &h) in config.hidden.iter().enumerate() {
            layers.push(Linear::new(ps, &format!("{name}.{i}"), width, h, rng));
            width = h;
        }
        let last = Linear::new(
            ps,
            &format!("{name}.{}", config.hidden.len()),
            width,
            config.output,
            rng,
        );
        if config.zero_last {
            last.zero(ps);
        }
        layers.push(last);
        Self {
            layers,
            embedding,
            config,
        }
    }

    /// Records the network on `x: [n, input]` and `times` (each `[n, 1]`; empty without an
    /// embedding), `[n, output]`.
    ///
    /// # Panics
    /// On a shape mismatch.
    #[track_caller]
    pub fn forward(&self, tape: &mut Tape<'_, T>, ps: &Params<T>, x: Var, times: &[Var]) -> Var {
        let mut h = match &self.embedding {
            Some(e) => {
                let te = e.forward(tape, times);
                tape.concat(x, te)
            }
            None => x,
        };
        let (hidden, last) = self.layers.split_at(self.layers.len() - 1);
        for l in hidden {
            let z = l.forward(tape, ps, h);
            let a = self.config.activation.apply(tape, z);
            h = if self.config.residual && l.input == l.output {
                tape.add(h, a)
            } else {
                a
            };
        }
        last[0].forward(tape, ps, h)
    }
}

/// An [`Mlp`] whose output is projected onto $T_xM$ at its input point $x$:
/// $v(x, t) = P_x f_\theta(x, t)$.
#[derive(Clone, Debug)]
pub struct TangentMlp<T> {
    /// The network (input and output widths are the ambient dimension).
    pub mlp: Mlp<T>,
}

impl<T: Element> TangentMlp<T> {
    /// Wraps a network.
    pub fn new(mlp: Mlp<T>) -> Self {
        Self { mlp }
    }

    /// Records $P_x f_\theta(x, \text{times})$.
    #[track_caller]
    pub fn forward<'m, M: TapeManifold<T>>(
        &self,
        tape: &mut Tape<'m, T>,
        ps: &Params<T>,
        m: &'m M,
        x: Var,
        times: &[Var],
    ) -> Var {
        let f = self.mlp.forward(tape, ps, x, times);
        tape.project_tangent(m, x, f)
    }
}
