//! The tape: an arena of row-major buffers, `Copy` handles, eager forward kernels.

use crate::geometry::TapeManifold;
use crate::unary::{UFn, Unary};
use crate::Element;

/// A handle to a value recorded on a [`Tape`]: a row-major `[rows, cols]` buffer. `Copy`;
/// valid until the tape is [`reset`](Tape::reset) (or truncated below it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Var(pub(crate) u32);

impl Var {
    /// Position of the node on the tape (recording order).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Elementwise binary operations (with broadcasting of rows, columns or scalars).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bin {
    Add,
    Sub,
    Mul,
    Div,
    /// $a/b$, and 0 where $b = 0$ (both partials 0 there).
    DivSafe,
    /// $\operatorname{atan2}(a, b)$ (0 with zero partials at the origin).
    Atan2,
}

/// Which axis a reduction runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Every entry: `[rows, cols] -> [1, 1]`.
    All,
    /// Within each row: `[rows, cols] -> [rows, 1]`.
    Rows,
    /// Down each column: `[rows, cols] -> [1, cols]`.
    Cols,
}

/// Manifold primitives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MOp {
    Exp,
    Log,
    Dist,
    Inner,
    ProjTan,
    Geodesic,
    GeoVel,
}

pub(crate) enum Op<'m, T: Element> {
    Leaf,
    MatMul {
        a: Var,
        b: Var,
        ta: bool,
        tb: bool,
    },
    Affine {
        x: Var,
        w: Var,
        b: Var,
    },
    Bin(Bin, Var, Var),
    Scale(Var, T),
    Offset(Var, T),
    Unary(Unary, Var),
    /// $f^{(k+1)}(x)\\,\dot x$; the last field is the primal node $f(x)$ when its cache can
    /// be reused (SiLU's $\sigma(x)$, tanh's value).
    UnaryJvp(Unary, Var, Var, Option<Var>),
    Sum(Var, Axis),
    Broadcast(Var),
    Softmax(Var),
    LogSoftmax(Var),
    Concat(Var, Var),
    Slice(Var, usize),
    /// The same row-major buffer read with another shape.
    Reshape(Var),
    /// Rows of `a` at the indices stored at `tape.idx[off..off + rows]`.
    Gather(Var, usize),
    RowDot(Var, Var),
    RowSq(Var),
    RowNorm(Var),
    StopGrad(Var),
    Manifold {
        op: MOp,
        m: &'m dyn TapeManifold<T>,
        args: [Var; 3],
    },
    /// Untaped fused JVP of a manifold primitive (never differentiated).
    FusedJvp {
        op: MOp,
        m: &'m dyn TapeManifold<T>,
        args: [Var; 3],
        tans: [Option<Var>; 3],
    },
}

pub(crate) struct Node<'m, T: Element> {
    pub op: Op<'m, T>,
    pub rows: usize,
    pub cols: usize,
    pub off: usize,
    /// Scalars cached after the value (SiLU keeps $\sigma(x)$ there).
    pub aux: usize,
    pub grad: bool,
}

impl<T: Element> Node<'_, T> {
    #[inline]
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }
}

/// A Wengert list over `f32` or `f64` with pooled storage.
///
/// ```
/// use geoflow_autodiff::Tape;
/// let mut tape = Tape::<f64>::new();
/// let x = tape.leaf(&[1.0, 2.0, 3.0, 4.0], 2, 2);   // [2, 2], differentiable
/// let w = tape.constant(&[0.5, -1.0], 2, 1);        // [2, 1], no gradient
/// let y = tape.matmul(x, w);                         // [2, 1]
/// let y = tape.tanh(y);
/// let loss = tape.sum(y);
/// let g = tape.backward(loss);
/// assert_eq!(g.wrt(x).len(), 4);
/// assert!(g.get(w).is_none());
/// ```
///
/// Values are computed eagerly when an op is recorded and live in one arena; [`reset`](Tape::reset)
/// forgets the nodes but keeps every buffer, so a training loop that records the same graph each
/// step allocates nothing after the first step. `'m` is the lifetime of the manifolds that
/// manifold primitives borrow.
pub struct Tape<'m, T: Element> {
    pub(crate) nodes: Vec<Node<'m, T>>,
    pub(crate) vals: Vec<T>,
    pub(crate) top: usize,
    pub(crate) idx: Vec<usize>,
    pub(crate) tmap: Vec<Option<Var>>,
    pub(crate) live: Vec<bool>,
    pub(crate) scratch: Vec<T>,
}

impl<T: Element> Default for Tape<'_, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> std::fmt::Debug for Tape<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tape")
            .field("nodes", &self.nodes.len())
            .field("scalars", &self.top)
            .finish()
    }
}

/// Broadcast strides of an input of shape `(r, c)` inside an output of shape `(or, oc)`.
#[track_caller]
pub(crate) fn bstride(
    what: &str,
    (r, c): (usize, usize),
    (or, oc): (usize, usize),
) -> (usize, usize) {
    assert!(
        (r == or || r == 1) && (c == oc || c == 1),
        "{what}: cannot broadcast [{r}, {c}] to [{or}, {oc}]"
    );
    (if r == 1 { 0 } else { c }, usize::from(c != 1))
}

impl<'m, T: Element> Tape<'m, T> {
    /// An empty tape.
    pub fn new() -> Self {
        Self {
            nodes: Vec::new(),
            vals: Vec::new(),
            top: 0,
            idx: Vec::new(),
            tmap: Vec::new(),
            live: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Forgets every node (all [`Var`]s become invalid) and keeps the buffers for reuse.
    pub fn reset(&mut self) {
        self.nodes.clear();
        self.idx.clear();
        self.top = 0;
    }

    /// Number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// `true` when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Scalars held by the arena for the recorded nodes.
    pub fn arena_len(&self) -> usize {
        self.top
    }

    /// Drops every node recorded after the first `len` (their [`Var`]s become invalid).
    pub fn truncate(&mut self, len: usize) {
        if len < self.nodes.len() {
            self.top = self.nodes[len].off;
            self.nodes.truncate(len);
        }
    }

    /// `(rows, cols)` of a value.
    #[track_caller]
    pub fn shape(&self, v: Var) -> (usize, usize) {
        let n = self.node(v);
        (n.rows, n.cols)
    }

    /// The value of `v`, row-major.
    #[track_caller]
    pub fn value(&self, v: Var) -> &[T] {
        let n = self.node(v);
        &self.vals[n.off..n.off + n.len()]
    }

    /// The single entry of a `[1, 1]` value.
    ///
    /// # Panics
    /// If `v` is not `[1, 1]`.
    #[track_caller]
    pub fn scalar_value(&self, v: Var) -> T {
        let (r, c) = self.shape(v);
        assert!(
            r == 1 && c == 1,
            "scalar_value: expected [1, 1], got [{r}, {c}]"
        );
        self.value(v)[0]
    }

    /// Whether gradients flow into `v` (it depends on a differentiable leaf).
    pub fn requires_grad(&self, v: Var) -> bool {
        self.node(v).grad
    }

    #[track_caller]
    pub(crate) fn node(&self, v: Var) -> &Node<'m, T> {
        let i = v.index();
        assert!(
            i < self.nodes.len(),
            "Var {i} is not on this tape ({} nodes; was the tape reset?)",
            self.nodes.len()
        );
        &self.nodes[i]
    }

    fn alloc(&mut self, len: usize) -> usize {
        let off = self.top;
        self.top += len;
        if self.vals.len() < self.top {
            self.vals.resize(self.top, T::zero());
        }
        off
    }

    pub(crate) fn push(&mut self, op: Op<'m, T>, rows: usize, cols: usize, grad: bool) -> Var {
        self.push_aux(op, rows, cols, grad, 0)
    }

    pub(crate) fn push_aux(
        &mut self,
        op: Op<'m, T>,
        rows: usize,
        cols: usize,
        grad: bool,
        aux: usize,
    ) -> Var {
        let off = self.alloc(rows * cols + aux);
        assert!(self.nodes.len() < u32::MAX as usize, "tape overflow");
        self.nodes.push(Node {
            op,
            rows,
            cols,
            off,
            aux,
            grad,
        });
        let v = Var((self.nodes.len() - 1) as u32);
        self.compute(v);
        v
    }

    fn g(&self, v: Var) -> bool {
        self.node(v).grad
    }

    // ---------------------------------------------------------------- leaves

    /// A constant `[rows, cols]` leaf (no gradient flows into it), copied into the arena.
    ///
    /// # Panics
    /// If `data.len() != rows * cols`.
    #[track_caller]
    pub fn constant(&mut self, data: &[T], rows: usize, cols: usize) -> Var {
        self.leaf_impl(data, rows, cols, false)
    }

    /// A differentiable `[rows, cols]` leaf (parameters, or inputs whose gradient you want).
    ///
    /// # Panics
    /// If `data.len() != rows * cols`.
    #[track_caller]
    pub fn leaf(&mut self, data: &[T], rows: usize, cols: usize) -> Var {
        self.leaf_impl(data, rows, cols, true)
    }

    #[track_caller]
    fn leaf_impl(&mut self, data: &[T], rows: usize, cols: usize, grad: bool) -> Var {
        assert!(
            data.len() == rows * cols,
            "leaf: data has {} scalars, shape [{rows}, {cols}] needs {}",
            data.len(),
            rows * cols
        );
        let v = self.push(Op::Leaf, rows, cols, grad);
        let off = self.nodes[v.index()].off;
        self.vals[off..off + data.len()].copy_from_slice(data);
        v
    }

    /// A constant with the shape of `a` whose entries are `f(a_i, b_i)` (no gradient).
    pub(crate) fn constant_map2(&mut self, a: Var, b: Var, f: impl Fn(T, T) -> T) -> Var {
        let (r, c) = self.shape(a);
        let (ao, bo) = (self.node(a).off, self.node(b).off);
        let v = self.push(Op::Leaf, r, c, false);
        let vo = self.nodes[v.index()].off;
        let (lo, hi) = self.vals.split_at_mut(vo);
        for k in 0..r * c {
            hi[k] = f(lo[ao + k], lo[bo + k]);
        }
        v
    }

    /// A constant `[rows, cols]` filled with `x`.
    pub fn full(&mut self, rows: usize, cols: usize, x: T) -> Var {
        let v = self.push(Op::Leaf, rows, cols, false);
        let off = self.nodes[v.index()].off;
        self.vals[off..off + rows * cols].fill(x);
        v
    }

    /// A constant `[rows, cols]` of zeros.
    pub fn zeros(&mut self, rows: usize, cols: usize) -> Var {
        self.full(rows, cols, T::zero())
    }

    /// A constant `[1, 1]`.
    pub fn scalar(&mut self, x: T) -> Var {
        self.full(1, 1, x)
    }

    /// Overwrites the value of a leaf in place. Values already computed from it are **not**
    /// recomputed: use this only before recording anything that reads the leaf.
    ///
    /// # Panics
    /// If `v` is not a leaf or the length differs.
    #[track_caller]
    pub fn set_leaf(&mut self, v: Var, data: &[T]) {
        let n = self.node(v);
        assert!(
            matches!(n.op, Op::Leaf),
            "set_leaf: Var {} is not a leaf",
            v.0
        );
        assert!(
            data.len() == n.len(),
            "set_leaf: expected {} scalars, got {}",
            n.len(),
            data.len()
        );
        let off = n.off;
        self.vals[off..off + data.len()].copy_from_slice(data);
    }

    // ---------------------------------------------------------------- linear algebra

    /// Matrix product `a · b` of `[m, k]` and `[k, n]`.
    ///
    /// # Panics
    /// If the inner dimensions differ (the message has both shapes).
    #[track_caller]
    pub fn matmul(&mut self, a: Var, b: Var) -> Var {
        self.matmul_t(a, b, false, false)
    }

    /// Matrix product `op(a) · op(b)` where `op` transposes when `ta` / `tb` (no copy).
    ///
    /// # Panics
    /// If the inner dimensions differ (the message has both shapes).
    #[track_caller]
    pub fn matmul_t(&mut self, a: Var, b: Var, ta: bool, tb: bool) -> Var {
        let (ar, ac) = self.shape(a);
        let (br, bc) = self.shape(b);
        let (m, k1) = if ta { (ac, ar) } else { (ar, ac) };
        let (k2, n) = if tb { (bc, br) } else { (br, bc) };
        assert!(
            k1 == k2,
            "matmul: inner dimensions differ: a is [{ar}, {ac}]{}, b is [{br}, {bc}]{}",
            if ta { "ᵀ" } else { "" },
            if tb { "ᵀ" } else { "" }
        );
        let grad = self.g(a) || self.g(b);
        self.push(Op::MatMul { a, b, ta, tb }, m, n, grad)
    }

    /// The affine map `x · w + b` with `x: [n, i]`, `w: [i, o]`, bias row `b: [1, o]`, fused
    /// (one pass over the output).
    ///
    /// # Panics
    /// On a shape mismatch (the message has the shapes).
    #[track_caller]
    pub fn affine(&mut self, x: Var, w: Var, b: Var) -> Var {
        let (xr, xc) = self.shape(x);
        let (wr, wc) = self.shape(w);
        let (br, bc) = self.shape(b);
        assert!(
            xc == wr && br == 1 && bc == wc,
            "affine: x [{xr}, {xc}] · w [{wr}, {wc}] + b [{br}, {bc}]: shapes do not fit"
        );
        let grad = self.g(x) || self.g(w) || self.g(b);
        self.push(Op::Affine { x, w, b }, xr, wc, grad)
    }

    // ---------------------------------------------------------------- elementwise

    #[track_caller]
    pub(crate) fn bin(&mut self, op: Bin, a: Var, b: Var) -> Var {
        let (ar, ac) = self.shape(a);
        let (br, bc) = self.shape(b);
        let (r, c) = (ar.max(br), ac.max(bc));
        let ok = (ar == r || ar == 1)
            && (br == r || br == 1)
            && (ac == c || ac == 1)
            && (bc == c || bc == 1);
        assert!(
            ok,
            "{op:?}: shapes [{ar}, {ac}] and [{br}, {bc}] do not broadcast"
        );
        let grad = self.g(a) || self.g(b);
        self.push(Op::Bin(op, a, b), r, c, grad)
    }

    /// `a + b`, broadcasting `[1, c]` rows, `[r, 1]` columns and `[1, 1]` scalars.
    ///
    /// # Panics
    /// If the shapes do not broadcast (the message has both).
    #[track_caller]
    pub fn add(&mut self, a: Var, b: Var) -> Var {
        self.bin(Bin::Add, a, b)
    }
    /// `a - b` (broadcasting like [`add`](Tape::add)).
    #[track_caller]
    pub fn sub(&mut self, a: Var, b: Var) -> Var {
        self.bin(Bin::Sub, a, b)
    }
    /// `a ⊙ b` (broadcasting like [`add`](Tape::add)).
    #[track_caller]
    pub fn mul(&mut self, a: Var, b: Var) -> Var {
        self.bin(Bin::Mul, a, b)
    }
    /// `a / b` (broadcasting like [`add`](Tape::add)).
    #[track_caller]
    pub fn div(&mut self, a: Var, b: Var) -> Var {
        self.bin(Bin::Div, a, b)
    }
    /// `a / b`, and 0 (with zero partials) where `b = 0`: the safe form for ratios whose
    /// limit at 0 is known to be 0 or is multiplied by 0.
    #[track_caller]
    pub fn div_safe(&mut self, a: Var, b: Var) -> Var {
        self.bin(Bin::DivSafe, a, b)
    }
    /// $\operatorname{atan2}(y, x)$ elementwise (broadcasting); 0 with zero partials at the origin.
    #[track_caller]
    pub fn atan2(&mut self, y: Var, x: Var) -> Var {
        self.bin(Bin::Atan2, y, x)
    }
    /// `c · a` for a constant `c`.
    pub fn scale(&mut self, a: Var, c: T) -> Var {
        let (r, cl) = self.shape(a);
        let grad = self.g(a);
        self.push(Op::Scale(a, c), r, cl, grad)
    }
    /// `a + c` for a constant `c`.
    pub fn offset(&mut self, a: Var, c: T) -> Var {
        let (r, cl) = self.shape(a);
        let grad = self.g(a);
        self.push(Op::Offset(a, c), r, cl, grad)
    }
    /// `-a`.
    pub fn neg(&mut self, a: Var) -> Var {
        self.scale(a, -T::one())
    }
    /// The elementwise function (or derivative of it) `u`.
    pub fn unary(&mut self, u: Unary, x: Var) -> Var {
        let (r, c) = self.shape(x);
        let grad = self.g(x);
        let aux = if (u.f, u.k) == (UFn::Silu, 0) {
            r * c
        } else {
            0
        };
        self.push_aux(Op::Unary(u, x), r, c, grad, aux)
    }
    pub(crate) fn unary_jvp(&mut self, u: Unary, x: Var, xd: Var, src: Option<Var>) -> Var {
        let (r, c) = self.shape(x);
        assert_eq!(self.shape(xd), (r, c), "unary_jvp: tangent shape");
        let grad = self.g(x) || self.g(xd);
        self.push(Op::UnaryJvp(u, x, xd, src), r, c, grad)
    }
    fn uf(&mut self, f: UFn, x: Var) -> Var {
        self.unary(Unary::new(f), x)
    }
    /// $e^x$.
    pub fn exp_elem(&mut self, x: Var) -> Var {
        self.uf(UFn::Exp, x)
    }
    /// $\ln x$.
    pub fn ln(&mut self, x: Var) -> Var {
        self.uf(UFn::Log, x)
    }
    /// $\sin x$.
    pub fn sin(&mut self, x: Var) -> Var {
        self.uf(UFn::Sin, x)
    }
    /// $\cos x$.
    pub fn cos(&mut self, x: Var) -> Var {
        self.uf(UFn::Cos, x)
    }
    /// $\tanh x$.
    pub fn tanh(&mut self, x: Var) -> Var {
        self.uf(UFn::Tanh, x)
    }
    /// $\sigma(x)$.
    pub fn sigmoid(&mut self, x: Var) -> Var {
        self.uf(UFn::Sigmoid, x)
    }
    /// $x\\,\sigma(x)$.
    pub fn silu(&mut self, x: Var) -> Var {
        self.uf(UFn::Silu, x)
    }
    /// GELU (tanh approximation).
    pub fn gelu(&mut self, x: Var) -> Var {
        self.uf(UFn::Gelu, x)
    }
    /// $\ln(1 + e^x)$.
    pub fn softplus(&mut self, x: Var) -> Var {
        self.uf(UFn::Softplus, x)
    }
    /// $\sqrt x$ (infinite derivative at 0; see [`row_norm`](Tape::row_norm) for norms).
    pub fn sqrt(&mut self, x: Var) -> Var {
        self.uf(UFn::Sqrt, x)
    }
    /// $x^2$.
    pub fn square(&mut self, x: Var) -> Var {
        self.uf(UFn::Square, x)
    }
    /// $1/x$.
    pub fn recip(&mut self, x: Var) -> Var {
        self.uf(UFn::Recip, x)
    }
    /// $\operatorname{sinc} x = \sin x / x$ (series-safe, smooth at 0 to every order), built
    /// as $\operatorname{sinc}\sqrt{y}$ of $y = x^2$.
    pub fn sinc(&mut self, x: Var) -> Var {
        let y = self.square(x);
        self.uf(UFn::SincSqrt, y)
    }
    /// $\sinh x / x$ (series-safe), as $\operatorname{sinhc}\sqrt{y}$ of $y = x^2$.
    pub fn sinhc(&mut self, x: Var) -> Var {
        let y = self.square(x);
        self.uf(UFn::SinhcSqrt, y)
    }
    /// $\operatorname{sinc}\sqrt y$: e.g. $\operatorname{sinc}\lVert v\rVert$ from
    /// $y = \lVert v\rVert^2$ ([`row_sq`](Tape::row_sq)) with every derivative finite at $v = 0$.
    pub fn sinc_sqrt(&mut self, y: Var) -> Var {
        self.uf(UFn::SincSqrt, y)
    }
    /// $\cos\sqrt y$.
    pub fn cos_sqrt(&mut self, y: Var) -> Var {
        self.uf(UFn::CosSqrt, y)
    }
    /// $\operatorname{sinhc}\sqrt y$.
    pub fn sinhc_sqrt(&mut self, y: Var) -> Var {
        self.uf(UFn::SinhcSqrt, y)
    }
    /// $\cosh\sqrt y$.
    pub fn cosh_sqrt(&mut self, y: Var) -> Var {
        self.uf(UFn::CoshSqrt, y)
    }

    // ---------------------------------------------------------------- reductions and shape

    /// Sum over an [`Axis`].
    pub fn sum_axis(&mut self, a: Var, axis: Axis) -> Var {
        let (r, c) = self.shape(a);
        let (or, oc) = match axis {
            Axis::All => (1, 1),
            Axis::Rows => (r, 1),
            Axis::Cols => (1, c),
        };
        let grad = self.g(a);
        self.push(Op::Sum(a, axis), or, oc, grad)
    }
    /// Sum of every entry, `[1, 1]`.
    pub fn sum(&mut self, a: Var) -> Var {
        self.sum_axis(a, Axis::All)
    }
    /// Sum of each row, `[rows, 1]`.
    pub fn sum_rows(&mut self, a: Var) -> Var {
        self.sum_axis(a, Axis::Rows)
    }
    /// Sum of each column, `[1, cols]`.
    pub fn sum_cols(&mut self, a: Var) -> Var {
        self.sum_axis(a, Axis::Cols)
    }
    /// Mean over an [`Axis`].
    pub fn mean_axis(&mut self, a: Var, axis: Axis) -> Var {
        let (r, c) = self.shape(a);
        let n = match axis {
            Axis::All => r * c,
            Axis::Rows => c,
            Axis::Cols => r,
        };
        let s = self.sum_axis(a, axis);
        self.scale(s, T::one() / T::c(n as f64))
    }
    /// Mean of every entry, `[1, 1]`.
    pub fn mean(&mut self, a: Var) -> Var {
        self.mean_axis(a, Axis::All)
    }
    /// Mean of each row, `[rows, 1]`.
    pub fn mean_rows(&mut self, a: Var) -> Var {
        self.mean_axis(a, Axis::Rows)
    }
    /// Mean of each column, `[1, cols]`.
    pub fn mean_cols(&mut self, a: Var) -> Var {
        self.mean_axis(a, Axis::Cols)
    }
    /// Repeats a `[1, c]`, `[r, 1]` or `[1, 1]` value into `[rows, cols]`.
    ///
    /// # Panics
    /// If the shape does not broadcast.
    #[track_caller]
    pub fn broadcast(&mut self, a: Var, rows: usize, cols: usize) -> Var {
        bstride("broadcast", self.shape(a), (rows, cols));
        let grad = self.g(a);
        self.push(Op::Broadcast(a), rows, cols, grad)
    }
    /// Softmax of each row.
    pub fn softmax(&mut self, a: Var) -> Var {
        let (r, c) = self.shape(a);
        let grad = self.g(a);
        self.push(Op::Softmax(a), r, c, grad)
    }
    /// Log-softmax of each row.
    pub fn log_softmax(&mut self, a: Var) -> Var {
        let (r, c) = self.shape(a);
        let grad = self.g(a);
        self.push(Op::LogSoftmax(a), r, c, grad)
    }
    /// Columns of `a` followed by the columns of `b`.
    ///
    /// # Panics
    /// If the row counts differ.
    #[track_caller]
    pub fn concat(&mut self, a: Var, b: Var) -> Var {
        let (ar, ac) = self.shape(a);
        let (br, bc) = self.shape(b);
        assert!(
            ar == br,
            "concat: row counts differ: [{ar}, {ac}] and [{br}, {bc}]"
        );
        let grad = self.g(a) || self.g(b);
        self.push(Op::Concat(a, b), ar, ac + bc, grad)
    }
    /// Columns `start..start + len` of `a`.
    ///
    /// # Panics
    /// If the range is out of bounds.
    #[track_caller]
    pub fn slice(&mut self, a: Var, start: usize, len: usize) -> Var {
        let (r, c) = self.shape(a);
        assert!(
            start + len <= c,
            "slice: columns {start}..{} of [{r}, {c}]",
            start + len
        );
        let grad = self.g(a);
        self.push(Op::Slice(a, start), r, len, grad)
    }
    /// The row-major buffer of `a` read as `[rows, cols]` (a copy; the gradient and the tangent
    /// are reshaped back). `[n, k d]` to `[n k, d]` turns a batch of `n` points of $M^k$ into a
    /// batch of $nk$ points of $M$.
    ///
    /// # Panics
    /// If `rows * cols` differs from the number of scalars of `a`.
    #[track_caller]
    pub fn reshape(&mut self, a: Var, rows: usize, cols: usize) -> Var {
        let (r, c) = self.shape(a);
        assert!(
            r * c == rows * cols,
            "reshape: [{r}, {c}] has {} scalars, [{rows}, {cols}] needs {}",
            r * c,
            rows * cols
        );
        let grad = self.g(a);
        self.push(Op::Reshape(a), rows, cols, grad)
    }
    /// Rows `indices` of `a` (repetitions allowed; the VJP scatters and adds).
    ///
    /// # Panics
    /// If an index is out of bounds.
    #[track_caller]
    pub fn gather(&mut self, a: Var, indices: &[usize]) -> Var {
        let (r, c) = self.shape(a);
        for &i in indices {
            assert!(i < r, "gather: row {i} of [{r}, {c}]");
        }
        let off = self.idx.len();
        self.idx.extend_from_slice(indices);
        self.gather_at(a, off, indices.len())
    }
    pub(crate) fn gather_at(&mut self, a: Var, off: usize, n: usize) -> Var {
        let c = self.shape(a).1;
        let grad = self.g(a);
        self.push(Op::Gather(a, off), n, c, grad)
    }
    /// Row-wise dot product of two `[r, c]` values, `[r, 1]`.
    ///
    /// # Panics
    /// If the shapes differ.
    #[track_caller]
    pub fn row_dot(&mut self, a: Var, b: Var) -> Var {
        let (ar, ac) = self.shape(a);
        let (br, bc) = self.shape(b);
        assert!(
            (ar, ac) == (br, bc),
            "row_dot: shapes differ: [{ar}, {ac}] and [{br}, {bc}]"
        );
        let grad = self.g(a) || self.g(b);
        self.push(Op::RowDot(a, b), ar, 1, grad)
    }
    /// Row-wise squared norm, `[r, 1]`.
    pub fn row_sq(&mut self, a: Var) -> Var {
        let r = self.shape(a).0;
        let grad = self.g(a);
        self.push(Op::RowSq(a), r, 1, grad)
    }
    /// Row-wise Euclidean norm, `[r, 1]`, with the zero subgradient at 0.
    pub fn row_norm(&mut self, a: Var) -> Var {
        let r = self.shape(a).0;
        let grad = self.g(a);
        self.push(Op::RowNorm(a), r, 1, grad)
    }
    /// The value of `a`, through which no gradient flows and whose tangent is zero.
    pub fn stop_gradient(&mut self, a: Var) -> Var {
        let (r, c) = self.shape(a);
        self.push(Op::StopGrad(a), r, c, false)
    }

    // ---------------------------------------------------------------- forward kernels

    fn compute(&mut self, v: Var) {
        let Self {
            nodes,
            vals,
            idx,
            scratch,
            ..
        } = self;
        let node = &nodes[v.index()];
        let (lo, hi) = vals.split_at_mut(node.off);
        let (out, aux) = hi[..node.len() + node.aux].split_at_mut(node.len());
        let shape = |v: Var| (nodes[v.index()].rows, nodes[v.index()].cols);
        let get = |v: Var| {
            let n = &nodes[v.index()];
            &lo[n.off..n.off + n.len()]
        };
        match node.op {
            Op::Leaf => {}
            Op::MatMul { a, b, ta, tb } => {
                let ((ar, ac), (br, bc)) = (shape(a), shape(b));
                T::gemm(out, get(a), ar, ac, ta, get(b), br, bc, tb, false);
            }
            Op::Affine { x, w, b } => {
                let ((xr, xc), (wr, wc)) = (shape(x), shape(w));
                let bias = get(b);
                for row in out.chunks_exact_mut(wc) {
                    row.copy_from_slice(bias);
                }
                T::gemm(out, get(x), xr, xc, false, get(w), wr, wc, false, true);
            }
            Op::Bin(op, a, b) => {
                let os = (node.rows, node.cols);
                let (a_, b_) = (get(a), get(b));
                let f = bin_eval::<T>(op);
                if shape(a) == os && shape(b) == os {
                    for ((o, &x), &y) in out.iter_mut().zip(a_).zip(b_) {
                        *o = f(x, y);
                    }
                } else {
                    let (sar, sac) = bstride("bin", shape(a), os);
                    let (sbr, sbc) = bstride("bin", shape(b), os);
                    for i in 0..os.0 {
                        let orow = &mut out[i * os.1..(i + 1) * os.1];
                        for (j, o) in orow.iter_mut().enumerate() {
                            *o = f(a_[i * sar + j * sac], b_[i * sbr + j * sbc]);
                        }
                    }
                }
            }
            Op::Scale(a, c) => {
                for (o, &x) in out.iter_mut().zip(get(a)) {
                    *o = c * x;
                }
            }
            Op::Offset(a, c) => {
                for (o, &x) in out.iter_mut().zip(get(a)) {
                    *o = x + c;
                }
            }
            Op::Unary(u, a) => unary_forward(u, get(a), out, aux),
            Op::UnaryJvp(u, x, xd, src) => {
                if let (Some(src), (UFn::Silu, 0)) = (src, (u.f, u.k)) {
                    let n = &nodes[src.index()];
                    let sig = &lo[n.off + n.len()..n.off + 2 * n.len()];
                    for (((o, &x), &t), &s) in out.iter_mut().zip(get(x)).zip(get(xd)).zip(sig) {
                        *o = silu_d1_s(x, s) * t;
                    }
                } else if let (Some(src), (UFn::Tanh, 0)) = (src, (u.f, u.k)) {
                    for ((o, &y), &t) in out.iter_mut().zip(get(src)).zip(get(xd)) {
                        *o = (T::one() - y * y) * t;
                    }
                } else if (u.f, u.k) == (UFn::Silu, 0) {
                    for ((o, &x), &t) in out.iter_mut().zip(get(x)).zip(get(xd)) {
                        *o = silu_d1(x) * t;
                    }
                } else if trig_fast(u, get(x)) {
                    let ab = trig_coef(u.next());
                    for ((o, &x), &t) in out.iter_mut().zip(get(x)).zip(get(xd)) {
                        *o = trig_d(ab, x) * t;
                    }
                } else {
                    let d = u.next();
                    for ((o, &x), &t) in out.iter_mut().zip(get(x)).zip(get(xd)) {
                        *o = d.eval(x) * t;
                    }
                }
            }
            Op::Sum(a, axis) => {
                let (r, c) = shape(a);
                let a = get(a);
                match axis {
                    Axis::All => out[0] = a.iter().copied().sum(),
                    Axis::Rows => {
                        for (o, row) in out.iter_mut().zip(a.chunks_exact(c.max(1))) {
                            *o = row.iter().copied().sum();
                        }
                        if c == 0 {
                            out.fill(T::zero());
                        }
                    }
                    Axis::Cols => {
                        out.fill(T::zero());
                        for row in a.chunks_exact(c.max(1)).take(r) {
                            for (o, &x) in out.iter_mut().zip(row) {
                                *o += x;
                            }
                        }
                    }
                }
            }
            Op::Broadcast(a) => {
                let (sr, sc) = bstride("broadcast", shape(a), (node.rows, node.cols));
                let a = get(a);
                for i in 0..node.rows {
                    for j in 0..node.cols {
                        out[i * node.cols + j] = a[i * sr + j * sc];
                    }
                }
            }
            Op::Softmax(a) | Op::LogSoftmax(a) => {
                let log = matches!(node.op, Op::LogSoftmax(_));
                let c = node.cols;
                for (o, row) in out.chunks_exact_mut(c).zip(get(a).chunks_exact(c)) {
                    let mx = row.iter().copied().fold(T::neg_infinity(), T::max);
                    let mut s = T::zero();
                    for (y, &x) in o.iter_mut().zip(row) {
                        *y = (x - mx).exp();
                        s += *y;
                    }
                    if log {
                        let ls = s.ln() + mx;
                        for (y, &x) in o.iter_mut().zip(row) {
                            *y = x - ls;
                        }
                    } else {
                        let inv = T::one() / s;
                        for y in o.iter_mut() {
                            *y *= inv;
                        }
                    }
                }
            }
            Op::Concat(a, b) => {
                let (ac, bc) = (shape(a).1, shape(b).1);
                let (a, b) = (get(a), get(b));
                for (i, o) in out.chunks_exact_mut(ac + bc).enumerate() {
                    o[..ac].copy_from_slice(&a[i * ac..(i + 1) * ac]);
                    o[ac..].copy_from_slice(&b[i * bc..(i + 1) * bc]);
                }
            }
            Op::Slice(a, start) => {
                let ac = shape(a).1;
                let c = node.cols;
                let a = get(a);
                for (i, o) in out.chunks_exact_mut(c.max(1)).enumerate() {
                    o.copy_from_slice(&a[i * ac + start..i * ac + start + c]);
                }
            }
            Op::Gather(a, off) => {
                let c = node.cols;
                let a = get(a);
                for (k, o) in out.chunks_exact_mut(c.max(1)).enumerate() {
                    let i = idx[off + k];
                    o.copy_from_slice(&a[i * c..(i + 1) * c]);
                }
            }
            Op::RowDot(a, b) => {
                let c = shape(a).1;
                let (a, b) = (get(a), get(b));
                for (i, o) in out.iter_mut().enumerate() {
                    *o = dot(&a[i * c..(i + 1) * c], &b[i * c..(i + 1) * c]);
                }
            }
            Op::RowSq(a) | Op::RowNorm(a) => {
                let c = shape(a).1;
                let root = matches!(node.op, Op::RowNorm(_));
                let a = get(a);
                for (i, o) in out.iter_mut().enumerate() {
                    let r = &a[i * c..(i + 1) * c];
                    *o = if root { norm(r) } else { dot(r, r) };
                }
            }
            Op::StopGrad(a) | Op::Reshape(a) => out.copy_from_slice(get(a)),
            Op::Manifold { op, m, args } => {
                let [a, b, c] = args;
                match op {
                    MOp::Exp => m.exp_batch_into(get(a), get(b), out),
                    MOp::Log => m.log_batch_into(get(a), get(b), out),
                    MOp::Dist => m.dist_batch_into(get(a), get(b), out),
                    MOp::Inner => m.inner_batch_into(get(a), get(b), get(c), out),
                    MOp::ProjTan => m.project_tangent_batch_into(get(a), get(b), out),
                    MOp::Geodesic => {
                        // exp_p(t log_p q) row by row, the same ambient function the VJP
                        // differentiates (the closed-form slerp agrees on the manifold only).
                        let d = m.ambient_dim();
                        scratch.clear();
                        scratch.resize(2 * d, T::zero());
                        let (l, w) = scratch.split_at_mut(d);
                        let (pa, qa, ta) = (get(a), get(b), get(c));
                        for (i, o) in out.chunks_exact_mut(d).enumerate() {
                            m.log_into(&pa[i * d..(i + 1) * d], &qa[i * d..(i + 1) * d], l);
                            for (x, &y) in w.iter_mut().zip(l.iter()) {
                                *x = ta[i] * y;
                            }
                            m.exp_into(&pa[i * d..(i + 1) * d], w, o);
                        }
                    }
                    MOp::GeoVel => m.geodesic_velocity_batch_into(get(a), get(b), get(c), out),
                }
            }
            Op::FusedJvp { op, m, args, tans } => {
                let d = m.ambient_dim();
                let n = node.rows;
                scratch.clear();
                scratch.resize(d, T::zero());
                let z = &scratch[..];
                let row = |v: Option<Var>, i: usize| match v {
                    Some(v) => &get(v)[i * d..(i + 1) * d],
                    None => z,
                };
                let [a, b, c] = args;
                for i in 0..n {
                    let (pa, pb) = (&get(a)[i * d..(i + 1) * d], &get(b)[i * d..(i + 1) * d]);
                    let (ta, tb) = (row(tans[0], i), row(tans[1], i));
                    match op {
                        MOp::Exp => m.exp_jvp(pa, pb, ta, tb, &mut out[i * d..(i + 1) * d]),
                        MOp::Log => m.log_jvp(pa, pb, ta, tb, &mut out[i * d..(i + 1) * d]),
                        MOp::ProjTan => {
                            m.project_tangent_jvp(pa, pb, ta, tb, &mut out[i * d..(i + 1) * d])
                        }
                        MOp::Dist => out[i] = m.dist_jvp(pa, pb, ta, tb),
                        MOp::Inner => {
                            let pc = &get(c)[i * d..(i + 1) * d];
                            out[i] = m.inner_jvp(pa, pb, pc, ta, tb, row(tans[2], i));
                        }
                        MOp::Geodesic | MOp::GeoVel => unreachable!("no fused JVP node for {op:?}"),
                    }
                }
            }
        }
    }
}

pub(crate) fn bin_eval<T: Element>(op: Bin) -> fn(T, T) -> T {
    match op {
        Bin::Add => |a, b| a + b,
        Bin::Sub => |a, b| a - b,
        Bin::Mul => |a, b| a * b,
        Bin::Div => |a, b| a / b,
        Bin::DivSafe => |a, b| if b == T::zero() { T::zero() } else { a / b },
        Bin::Atan2 => |a, b| {
            if a == T::zero() && b == T::zero() {
                T::zero()
            } else {
                a.atan2(b)
            }
        },
    }
}

/// Partial derivatives `(∂f/∂a, ∂f/∂b)` of a binary op.
#[inline]
pub(crate) fn bin_partials<T: Element>(op: Bin, a: T, b: T) -> (T, T) {
    match op {
        Bin::Add => (T::one(), T::one()),
        Bin::Sub => (T::one(), -T::one()),
        Bin::Mul => (b, a),
        Bin::Div => (T::one() / b, -a / (b * b)),
        Bin::DivSafe => {
            if b == T::zero() {
                (T::zero(), T::zero())
            } else {
                (T::one() / b, -a / (b * b))
            }
        }
        Bin::Atan2 => {
            let r2 = a * a + b * b;
            if r2 == T::zero() {
                (T::zero(), T::zero())
            } else {
                (b / r2, -a / r2)
            }
        }
    }
}

fn unary_forward<T: Element>(u: Unary, a: &[T], out: &mut [T], aux: &mut [T]) {
    // The hot activations get dedicated loops (the generic `eval` matches per element).
    match (u.f, u.k) {
        (UFn::Silu, 0) => {
            // σ(x) is kept in `aux` for the VJP and the JVP.
            for ((o, s), &x) in out.iter_mut().zip(aux.iter_mut()).zip(a) {
                let e = T::exp_fast(-x);
                *s = T::one() / (T::one() + e);
                *o = x * *s;
            }
        }
        (UFn::Tanh, 0) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = x.tanh();
            }
        }
        (UFn::Square, 0) => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = x * x;
            }
        }
        _ if trig_fast(u, a) => {
            let ab = trig_coef(u);
            for (o, &x) in out.iter_mut().zip(a) {
                *o = trig_d(ab, x);
            }
        }
        _ => {
            for (o, &x) in out.iter_mut().zip(a) {
                *o = u.eval(x);
            }
        }
    }
}

/// $\operatorname{silu}'(x) = \sigma(x)(1 + x(1 - \sigma(x)))$.
#[inline(always)]
pub(crate) fn silu_d1<T: Element>(x: T) -> T {
    silu_d1_s(x, T::one() / (T::one() + T::exp_fast(-x)))
}

/// [`silu_d1`] from a cached $s = \sigma(x)$.
#[inline(always)]
pub(crate) fn silu_d1_s<T: Element>(x: T, s: T) -> T {
    s * (T::one() + x * (T::one() - s))
}

/// $\operatorname{silu}''(x) = \sigma'(x)(2 + x(1 - 2\sigma(x)))$ from $s = \sigma(x)$.
#[inline(always)]
pub(crate) fn silu_d2_s<T: Element>(x: T, s: T) -> T {
    s * (T::one() - s) * (T::c(2.0) + x * (T::one() - T::c(2.0) * s))
}

#[inline]
pub(crate) fn dot<T: Element>(a: &[T], b: &[T]) -> T {
    let mut s = T::zero();
    for (&x, &y) in a.iter().zip(b) {
        s += x * y;
    }
    s
}

#[inline]
pub(crate) fn norm<T: Element>(a: &[T]) -> T {
    geoflow_manifolds::numerics::norm(a)
}

/// Whether the derivatives of sin/cos over `xs` may use [`trig_d`]: the function is sin or cos
/// and every $\lvert x\rvert$ is within `vmath::sin_cos`'s 2-ulp range ($1.2\cdot 10^4$ in
/// f32, $1.6 \cdot 10^6$ in f64); otherwise the callers fall back to `std`.
pub(crate) fn trig_fast<T: Element>(u: Unary, xs: &[T]) -> bool {
    let lim = T::c(if T::IS_F64 { 1.6e6 } else { 1.2e4 });
    matches!(u.f, UFn::Sin | UFn::Cos) && xs.iter().fold(T::zero(), |m, &x| m.max(x.abs())) <= lim
}

/// Coefficients `(a, b)` with $f^{(k)}(x) = a \sin x + b \cos x$ for $f$ = sin or cos, so
/// that [`trig_d`] is branch-free and vectorises.
pub(crate) fn trig_coef<T: Element>(u: Unary) -> (T, T) {
    let q = (u.k as usize + usize::from(u.f == UFn::Cos)) % 4;
    let (a, b) = [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)][q];
    (T::c(a), T::c(b))
}

/// $a \sin x + b \cos x$ through `vmath::sin_cos` (see [`trig_coef`]).
#[inline(always)]
pub(crate) fn trig_d<T: Element>((a, b): (T, T), x: T) -> T {
    let (s, c) = geoflow_manifolds::vmath::sin_cos(x);
    a * s + b * c
}

#[cfg(test)]
mod tests {
    use crate::Tape;

    /// sin/cos and their taped derivatives go through `vmath` inside its range and through
    /// `std` beyond; both agree with `std`.
    #[test]
    fn sin_cos_fast_paths_match_std() {
        fn check(xs: &[f64], tol: f64) {
            let n = xs.len();
            let mut tape = Tape::<f64>::new();
            let x = tape.leaf(xs, n, 1);
            let (s, c) = (tape.sin(x), tape.cos(x));
            let ones = vec![1.0; n];
            let one = tape.constant(&ones, n, 1);
            let [ds, dc] = tape.jvp([s, c], &[x], &[one]);
            let (sv, cv) = (tape.value(s).to_vec(), tape.value(c).to_vec());
            let (dsv, dcv) = (tape.value(ds).to_vec(), tape.value(dc).to_vec());
            // d/dx of sum(cos' = -sin) = -cos; exercises the UnaryJvp VJP.
            let loss = tape.sum(dc);
            let g = tape.backward(loss);
            for (k, &x0) in xs.iter().enumerate() {
                let (es, ec) = (x0.sin(), x0.cos());
                for (got, want) in [
                    (sv[k], es),
                    (cv[k], ec),
                    (dsv[k], ec),
                    (dcv[k], -es),
                    (g.wrt(x)[k], -ec),
                ] {
                    assert!((got - want).abs() <= tol, "x = {x0}: {got} vs {want}");
                }
            }
        }
        let inside: Vec<f64> = (0..4001).map(|i| (i as f64 - 2000.0) * 0.2013).collect();
        check(&inside, 1e-13);
        check(&[3.0e6, -1.0, 2.5], 1e-15);

        let xs: Vec<f32> = (0..2001).map(|i| (i as f32 - 1000.0) * 0.4013).collect();
        let mut tape = Tape::<f32>::new();
        let x = tape.constant(&xs, xs.len(), 1);
        let s = tape.sin(x);
        for (&got, &x0) in tape.value(s).iter().zip(&xs) {
            let want = (x0 as f64).sin();
            assert!(
                (got as f64 - want).abs() < 5e-7,
                "f32 sin({x0}): {got} vs {want}"
            );
        }
    }
}
