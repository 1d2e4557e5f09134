//! Reverse mode: one VJP kernel per op, accumulated into a dense gradient arena.

use crate::tape::{
    bin_partials, bstride, dot, norm, silu_d1_s, silu_d2_s, trig_coef, trig_d, trig_fast, Axis,
    MOp, Op, Tape, Var,
};
use crate::Element;

/// Gradients from one reverse sweep, indexed by [`Var`].
///
/// Dense: one buffer mirroring the tape's arena. Reuse one `Grads` across steps with
/// [`Tape::backward_into`] to keep training allocation-free.
#[derive(Clone, Debug, Default)]
pub struct Grads<T> {
    data: Vec<T>,
    /// `(offset, rows, cols, has_gradient)` per node.
    spans: Vec<(usize, usize, usize, bool)>,
}

impl<T: Element> Grads<T> {
    /// Empty storage (sized by the first [`Tape::backward_into`]).
    pub fn new() -> Self {
        Self {
            data: Vec::new(),
            spans: Vec::new(),
        }
    }

    /// The gradient of the loss with respect to `v`, or `None` when no gradient flows into `v`
    /// (a constant, or a value recorded after the loss).
    pub fn get(&self, v: Var) -> Option<&[T]> {
        let &(off, r, c, has) = self.spans.get(v.index())?;
        has.then(|| &self.data[off..off + r * c])
    }

    /// Like [`get`](Grads::get), but panics when there is no gradient.
    ///
    /// # Panics
    /// If no gradient flows into `v`.
    #[track_caller]
    pub fn wrt(&self, v: Var) -> &[T] {
        self.get(v)
            .unwrap_or_else(|| panic!("no gradient flows into Var {}", v.index()))
    }

    /// `(rows, cols)` of the gradient of `v`.
    pub fn shape(&self, v: Var) -> Option<(usize, usize)> {
        self.spans.get(v.index()).map(|&(_, r, c, _)| (r, c))
    }
}

impl<T: Element> Tape<'_, T> {
    /// Reverse sweep from a `[1, 1]` loss: the gradient of the loss with respect to every value
    /// that depends on a differentiable leaf. Allocates the returned storage; see
    /// [`backward_into`](Tape::backward_into) for the allocation-free form.
    ///
    /// # Panics
    /// If `loss` is not `[1, 1]`.
    #[track_caller]
    pub fn backward(&mut self, loss: Var) -> Grads<T> {
        let mut g = Grads::new();
        self.backward_into(loss, &mut g);
        g
    }

    /// [`backward`](Tape::backward) into reused storage.
    ///
    /// # Panics
    /// If `loss` is not `[1, 1]`.
    #[track_caller]
    pub fn backward_into(&mut self, loss: Var, grads: &mut Grads<T>) {
        let (r, c) = self.shape(loss);
        assert!(
            r == 1 && c == 1,
            "backward: the loss must be [1, 1], got [{r}, {c}]"
        );
        self.sweep(loss, None, grads);
    }

    /// Vector-Jacobian product: the gradients of $\langle w, y\rangle$ for a value `y` of any
    /// shape and a cotangent `w` of the same shape (e.g. Hutchinson divergence estimates).
    ///
    /// # Panics
    /// If `w.len()` differs from the number of scalars of `y`.
    #[track_caller]
    pub fn vjp_into(&mut self, y: Var, w: &[T], grads: &mut Grads<T>) {
        let (r, c) = self.shape(y);
        assert!(
            w.len() == r * c,
            "vjp: the cotangent has {} scalars, the value is [{r}, {c}]",
            w.len()
        );
        self.sweep(y, Some(w), grads);
    }

    fn sweep(&mut self, loss: Var, seed: Option<&[T]>, grads: &mut Grads<T>) {
        let end = loss.index() + 1;
        if grads.data.len() < self.top {
            grads.data.resize(self.top, T::zero());
        }
        grads.spans.clear();
        grads.spans.extend(
            self.nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.off, n.rows, n.cols, n.grad && i < end)),
        );
        for n in &self.nodes[..end] {
            if n.grad {
                grads.data[n.off..n.off + n.len()].fill(T::zero());
            }
        }
        if !self.nodes[loss.index()].grad {
            return;
        }
        let n = &self.nodes[loss.index()];
        match seed {
            None => grads.data[n.off] = T::one(),
            Some(w) => grads.data[n.off..n.off + n.len()].copy_from_slice(w),
        }
        // Only nodes the loss depends on through differentiable edges need their VJP: a
        // stopped teacher branch recorded with differentiable parameters costs nothing here.
        let mut live = std::mem::take(&mut self.live);
        live.clear();
        live.resize(end, false);
        live[loss.index()] = true;
        for i in (0..end).rev() {
            if !(live[i] && self.nodes[i].grad) {
                continue;
            }
            for v in op_inputs(&self.nodes[i].op).into_iter().flatten() {
                if v.index() < end && self.nodes[v.index()].grad {
                    live[v.index()] = true;
                }
            }
            self.vjp(i, &mut grads.data);
        }
        self.live = live;
    }

    /// Adds the VJP of node `i` into the gradients of its inputs.
    fn vjp(&mut self, i: usize, gdata: &mut [T]) {
        let Self {
            nodes,
            vals,
            idx,
            scratch,
            ..
        } = self;
        let node = &nodes[i];
        let (glo, ghi) = gdata.split_at_mut(node.off);
        let g = &ghi[..node.len()];
        let val = |v: Var| {
            let n = &nodes[v.index()];
            &vals[n.off..n.off + n.len()]
        };
        let y = &vals[node.off..node.off + node.len()];
        let aux = &vals[node.off + node.len()..node.off + node.len() + node.aux];
        // The cache of a node (SiLU's σ).
        let cache = |v: Var| {
            let n = &nodes[v.index()];
            &vals[n.off + n.len()..n.off + n.len() + n.aux]
        };
        let shape = |v: Var| (nodes[v.index()].rows, nodes[v.index()].cols);
        let needs = |v: Var| nodes[v.index()].grad;
        // The gradient slice of an input (always below this node in the arena).
        macro_rules! gm {
            ($v:expr) => {{
                let n = &nodes[$v.index()];
                &mut glo[n.off..n.off + n.len()]
            }};
        }
        match node.op {
            Op::Leaf | Op::StopGrad(_) => {}
            Op::MatMul { a, b, ta, tb } => {
                let ((ar, ac), (br, bc)) = (shape(a), shape(b));
                let (m, n) = (node.rows, node.cols);
                if needs(a) {
                    if !ta {
                        T::gemm(gm!(a), g, m, n, false, val(b), br, bc, !tb, true);
                    } else {
                        T::gemm(gm!(a), val(b), br, bc, tb, g, m, n, true, true);
                    }
                }
                if needs(b) {
                    if !tb {
                        T::gemm(gm!(b), val(a), ar, ac, !ta, g, m, n, false, true);
                    } else {
                        T::gemm(gm!(b), g, m, n, true, val(a), ar, ac, ta, true);
                    }
                }
            }
            Op::Affine { x, w, b } => {
                let ((xr, xc), (wr, wc)) = (shape(x), shape(w));
                if needs(x) {
                    T::gemm(gm!(x), g, xr, wc, false, val(w), wr, wc, true, true);
                }
                if needs(w) {
                    T::gemm(gm!(w), val(x), xr, xc, true, g, xr, wc, false, true);
                }
                if needs(b) {
                    let gb = gm!(b);
                    for row in g.chunks_exact(wc) {
                        for (o, &x) in gb.iter_mut().zip(row) {
                            *o += x;
                        }
                    }
                }
            }
            Op::Bin(op, a, b) => {
                let os = (node.rows, node.cols);
                let (av, bv) = (val(a), val(b));
                let (sar, sac) = bstride("bin", shape(a), os);
                let (sbr, sbc) = bstride("bin", shape(b), os);
                let same = shape(a) == os && shape(b) == os;
                for (which, v) in [(0, a), (1, b)] {
                    if !needs(v) {
                        continue;
                    }
                    let gv = gm!(v);
                    if same {
                        for k in 0..g.len() {
                            let p = bin_partials(op, av[k], bv[k]);
                            gv[k] += g[k] * if which == 0 { p.0 } else { p.1 };
                        }
                    } else {
                        let (sr, sc) = if which == 0 { (sar, sac) } else { (sbr, sbc) };
                        for r in 0..os.0 {
                            for c in 0..os.1 {
                                let (ia, ib) = (r * sar + c * sac, r * sbr + c * sbc);
                                let p = bin_partials(op, av[ia], bv[ib]);
                                gv[r * sr + c * sc] +=
                                    g[r * os.1 + c] * if which == 0 { p.0 } else { p.1 };
                            }
                        }
                    }
                }
            }
            Op::Scale(a, c) => {
                for (o, &x) in gm!(a).iter_mut().zip(g) {
                    *o += c * x;
                }
            }
            Op::Offset(a, _) => {
                for (o, &x) in gm!(a).iter_mut().zip(g) {
                    *o += x;
                }
            }
            Op::Unary(u, a) => {
                let d = u.next();
                let xs = val(a);
                let ga = gm!(a);
                match (u.f, u.k) {
                    (crate::unary::UFn::Silu, 0) => {
                        for (((o, &x), &s), &gi) in ga.iter_mut().zip(xs).zip(aux).zip(g) {
                            *o += gi * silu_d1_s(x, s);
                        }
                    }
                    (crate::unary::UFn::Exp, 0) => {
                        for ((o, &yy), &gi) in ga.iter_mut().zip(y).zip(g) {
                            *o += gi * yy;
                        }
                    }
                    (crate::unary::UFn::Tanh, 0) => {
                        for ((o, &yy), &gi) in ga.iter_mut().zip(y).zip(g) {
                            *o += gi * (T::one() - yy * yy);
                        }
                    }
                    _ if trig_fast(u, xs) => {
                        let ab = trig_coef(d);
                        for ((o, &x), &gi) in ga.iter_mut().zip(xs).zip(g) {
                            *o += gi * trig_d(ab, x);
                        }
                    }
                    _ => {
                        for ((o, &x), &gi) in ga.iter_mut().zip(xs).zip(g) {
                            *o += gi * d.eval(x);
                        }
                    }
                }
            }
            Op::UnaryJvp(u, x, xd, Some(src)) if (u.f, u.k) == (crate::unary::UFn::Silu, 0) => {
                let (xs, ts, sig) = (val(x), val(xd), cache(src));
                if needs(xd) {
                    for (((o, &x), &s), &gi) in gm!(xd).iter_mut().zip(xs).zip(sig).zip(g) {
                        *o += gi * silu_d1_s(x, s);
                    }
                }
                if needs(x) {
                    for ((((o, &x), &t), &s), &gi) in
                        gm!(x).iter_mut().zip(xs).zip(ts).zip(sig).zip(g)
                    {
                        *o += gi * t * silu_d2_s(x, s);
                    }
                }
            }
            Op::UnaryJvp(u, x, xd, _) if trig_fast(u, val(x)) => {
                let (d1, d2) = (trig_coef(u.next()), trig_coef(u.next().next()));
                let (xs, ts) = (val(x), val(xd));
                if needs(xd) {
                    for ((o, &x), &gi) in gm!(xd).iter_mut().zip(xs).zip(g) {
                        *o += gi * trig_d(d1, x);
                    }
                }
                if needs(x) {
                    for (((o, &x), &t), &gi) in gm!(x).iter_mut().zip(xs).zip(ts).zip(g) {
                        *o += gi * t * trig_d(d2, x);
                    }
                }
            }
            Op::UnaryJvp(u, x, xd, _) => {
                let (d1, d2) = (u.next(), u.next().next());
                let (xs, ts) = (val(x), val(xd));
                if needs(xd) {
                    for ((o, &x), &gi) in gm!(xd).iter_mut().zip(xs).zip(g) {
                        *o += gi * d1.eval(x);
                    }
                }
                if needs(x) {
                    for (((o, &x), &t), &gi) in gm!(x).iter_mut().zip(xs).zip(ts).zip(g) {
                        *o += gi * t * d2.eval(x);
                    }
                }
            }
            Op::Sum(a, axis) => {
                let (_, c) = shape(a);
                let ga = gm!(a);
                match axis {
                    Axis::All => {
                        for o in ga.iter_mut() {
                            *o += g[0];
                        }
                    }
                    Axis::Rows => {
                        for (row, &gi) in ga.chunks_exact_mut(c.max(1)).zip(g) {
                            for o in row {
                                *o += gi;
                            }
                        }
                    }
                    Axis::Cols => {
                        for row in ga.chunks_exact_mut(c.max(1)) {
                            for (o, &gi) in row.iter_mut().zip(g) {
                                *o += gi;
                            }
                        }
                    }
                }
            }
            Op::Broadcast(a) => {
                let (sr, sc) = bstride("broadcast", shape(a), (node.rows, node.cols));
                let ga = gm!(a);
                for r in 0..node.rows {
                    for c in 0..node.cols {
                        ga[r * sr + c * sc] += g[r * node.cols + c];
                    }
                }
            }
            Op::Softmax(a) => {
                let c = node.cols;
                let ga = gm!(a);
                for ((o, yr), gr) in ga
                    .chunks_exact_mut(c)
                    .zip(y.chunks_exact(c))
                    .zip(g.chunks_exact(c))
                {
                    let s = dot(gr, yr);
                    for ((o, &yy), &gi) in o.iter_mut().zip(yr).zip(gr) {
                        *o += yy * (gi - s);
                    }
                }
            }
            Op::LogSoftmax(a) => {
                let c = node.cols;
                let ga = gm!(a);
                for ((o, yr), gr) in ga
                    .chunks_exact_mut(c)
                    .zip(y.chunks_exact(c))
                    .zip(g.chunks_exact(c))
                {
                    let s: T = gr.iter().copied().sum();
                    for ((o, &yy), &gi) in o.iter_mut().zip(yr).zip(gr) {
                        *o += gi - yy.exp() * s;
                    }
                }
            }
            Op::Concat(a, b) => {
                let (ac, bc) = (shape(a).1, shape(b).1);
                let w = ac + bc;
                if needs(a) {
                    let ga = gm!(a);
                    for (r, row) in g.chunks_exact(w).enumerate() {
                        for (o, &x) in ga[r * ac..(r + 1) * ac].iter_mut().zip(&row[..ac]) {
                            *o += x;
                        }
                    }
                }
                if needs(b) {
                    let gb = gm!(b);
                    for (r, row) in g.chunks_exact(w).enumerate() {
                        for (o, &x) in gb[r * bc..(r + 1) * bc].iter_mut().zip(&row[ac..]) {
                            *o += x;
                        }
                    }
                }
            }
            Op::Slice(a, start) => {
                let ac = shape(a).1;
                let c = node.cols;
                let ga = gm!(a);
                for (r, row) in g.chunks_exact(c.max(1)).enumerate() {
                    for (o, &x) in ga[r * ac + start..r * ac + start + c].iter_mut().zip(row) {
                        *o += x;
                    }
                }
            }
            Op::Reshape(a) => {
                for (o, &x) in gm!(a).iter_mut().zip(g) {
                    *o += x;
                }
            }
            Op::Gather(a, off) => {
                let c = node.cols;
                let ga = gm!(a);
                for (k, row) in g.chunks_exact(c.max(1)).enumerate() {
                    let r = idx[off + k];
                    for (o, &x) in ga[r * c..(r + 1) * c].iter_mut().zip(row) {
                        *o += x;
                    }
                }
            }
            Op::RowDot(a, b) => {
                let c = shape(a).1;
                for (v, other) in [(a, b), (b, a)] {
                    if !needs(v) {
                        continue;
                    }
                    let ov = val(other);
                    let gv = gm!(v);
                    for (r, &gi) in g.iter().enumerate() {
                        for (o, &x) in gv[r * c..(r + 1) * c]
                            .iter_mut()
                            .zip(&ov[r * c..(r + 1) * c])
                        {
                            *o += gi * x;
                        }
                    }
                }
            }
            Op::RowSq(a) | Op::RowNorm(a) => {
                let c = shape(a).1;
                let root = matches!(node.op, Op::RowNorm(_));
                let av = val(a);
                let ga = gm!(a);
                for (r, &gi) in g.iter().enumerate() {
                    let row = &av[r * c..(r + 1) * c];
                    let k = if root {
                        let n = norm(row);
                        if n > T::zero() {
                            gi / n
                        } else {
                            T::zero()
                        }
                    } else {
                        T::c(2.0) * gi
                    };
                    for (o, &x) in ga[r * c..(r + 1) * c].iter_mut().zip(row) {
                        *o += k * x;
                    }
                }
            }
            Op::Manifold { op, m, args } => {
                let d = m.ambient_dim();
                let n = node.rows;
                let [a, b, c] = args;
                let nargs = match op {
                    MOp::Inner | MOp::Geodesic | MOp::GeoVel => 3,
                    _ => 2,
                };
                if op == MOp::GeoVel {
                    return;
                }
                // Scratch: gradients of the (up to three) arguments, then per-row work vectors.
                let third = if op == MOp::Geodesic { n } else { n * d };
                scratch.clear();
                scratch.resize(2 * n * d + third + 3 * d, T::zero());
                let (ga, rest) = scratch.split_at_mut(n * d);
                let (gb, rest) = rest.split_at_mut(n * d);
                let (gc, work) = rest.split_at_mut(third);
                let (av, bv) = (val(a), val(b));
                for i in 0..n {
                    let rs = i * d..(i + 1) * d;
                    let (pa, pb) = (&av[rs.clone()], &bv[rs.clone()]);
                    match op {
                        MOp::Exp => {
                            m.exp_vjp(pa, pb, &g[rs.clone()], &mut ga[rs.clone()], &mut gb[rs])
                        }
                        MOp::Log => {
                            m.log_vjp(pa, pb, &g[rs.clone()], &mut ga[rs.clone()], &mut gb[rs])
                        }
                        MOp::ProjTan => m.project_tangent_vjp(
                            pa,
                            pb,
                            &g[rs.clone()],
                            &mut ga[rs.clone()],
                            &mut gb[rs],
                        ),
                        MOp::Dist => m.dist_vjp(pa, pb, g[i], &mut ga[rs.clone()], &mut gb[rs]),
                        MOp::Inner => {
                            let pc = &val(c)[rs.clone()];
                            m.inner_vjp(
                                pa,
                                pb,
                                pc,
                                g[i],
                                &mut ga[rs.clone()],
                                &mut gb[rs.clone()],
                                &mut gc[rs],
                            );
                        }
                        MOp::Geodesic => {
                            // γ = exp_p(t l), l = log_p q.
                            let t = val(c)[i];
                            let (l, w) = work.split_at_mut(d);
                            let (w, gw) = w.split_at_mut(d);
                            m.log_into(pa, pb, l);
                            for (wk, &lk) in w.iter_mut().zip(l.iter()) {
                                *wk = t * lk;
                            }
                            gw.fill(T::zero());
                            m.exp_vjp(pa, w, &g[rs.clone()], &mut ga[rs.clone()], gw);
                            gc[i] += dot(gw, l);
                            for x in gw.iter_mut() {
                                *x *= t;
                            }
                            m.log_vjp(pa, pb, gw, &mut ga[rs.clone()], &mut gb[rs]);
                        }
                        MOp::GeoVel => unreachable!(),
                    }
                }
                for (k, v) in [a, b, c].into_iter().enumerate().take(nargs) {
                    if !needs(v) {
                        continue;
                    }
                    let src: &[T] = match k {
                        0 => ga,
                        1 => gb,
                        _ => gc,
                    };
                    for (o, &x) in gm!(v).iter_mut().zip(src) {
                        *o += x;
                    }
                }
            }
            Op::FusedJvp { .. } => {
                panic!("the untaped JVP (jvp_value_into) is not differentiable; use Tape::jvp")
            }
        }
    }
}

/// The inputs an op's VJP may send gradient to (a superset is fine: it only costs work).
fn op_inputs<T: Element>(op: &Op<'_, T>) -> [Option<Var>; 4] {
    match *op {
        Op::Leaf | Op::StopGrad(_) => [None; 4],
        Op::MatMul { a, b, .. } => [Some(a), Some(b), None, None],
        Op::Affine { x, w, b } => [Some(x), Some(w), Some(b), None],
        Op::Bin(_, a, b) | Op::Concat(a, b) | Op::RowDot(a, b) => [Some(a), Some(b), None, None],
        Op::Scale(a, _)
        | Op::Offset(a, _)
        | Op::Unary(_, a)
        | Op::Sum(a, _)
        | Op::Broadcast(a)
        | Op::Softmax(a)
        | Op::LogSoftmax(a)
        | Op::Slice(a, _)
        | Op::Reshape(a)
        | Op::Gather(a, _)
        | Op::RowSq(a)
        | Op::RowNorm(a) => [Some(a), None, None, None],
        Op::UnaryJvp(_, x, dx, c) => [Some(x), Some(dx), c, None],
        Op::Manifold { args, .. } => [Some(args[0]), Some(args[1]), Some(args[2]), None],
        Op::FusedJvp { args, tans, .. } => [
            Some(args[0]),
            Some(args[1]),
            Some(args[2]),
            tans[0].or(tans[1]).or(tans[2]),
        ],
    }
}
