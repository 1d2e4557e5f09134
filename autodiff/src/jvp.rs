//! Forward mode recorded on the tape (differentiable: reverse-over-forward), and the untaped
//! forward mode for inference.
//!
//! Each op's JVP rule is written in tape ops below, so the tangent of an output is an ordinary
//! [`Var`] and [`Tape::backward`] differentiates through it. Manifold primitives record their
//! composite form (see [`crate::geometry`]) and differentiate that; the untaped path uses the
//! fused closed-form `*_jvp` of [`geoflow_manifolds::Differentiable`] instead.

use crate::tape::{Bin, MOp, Op, Tape, Var};
use crate::unary::{UFn, Unary};
use crate::Element;

impl<'m, T: Element> Tape<'m, T> {
    /// Forward-mode derivative of `outputs` along `tangents` of `inputs`, recorded on the tape.
    ///
    /// Returns one tangent [`Var`] per output (a zero constant for an output that does not
    /// depend on the inputs). The tangents are ordinary values: a loss built from them is
    /// trained by [`backward`](Tape::backward) (reverse-over-forward). The cost is about one
    /// extra forward pass over the nodes between the first input and the last output, and only
    /// nodes that depend on an input get a tangent (a JVP in a scalar time input skips the
    /// spatial branch entirely).
    ///
    /// ```
    /// use geoflow_autodiff::Tape;
    /// let mut tape = Tape::<f64>::new();
    /// let t = tape.leaf(&[0.5], 1, 1);
    /// let y = tape.sin(t);
    /// let one = tape.scalar(1.0);
    /// let [dy] = tape.jvp([y], &[t], &[one]);          // cos t
    /// assert!((tape.value(dy)[0] - 0.5f64.cos()).abs() < 1e-15);
    /// let g = tape.backward(dy);                       // d/dt cos t = -sin t
    /// assert!((g.wrt(t)[0] + 0.5f64.sin()).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    /// If `inputs` and `tangents` differ in length or a tangent's shape differs from its input's.
    #[track_caller]
    pub fn jvp<const N: usize>(
        &mut self,
        outputs: [Var; N],
        inputs: &[Var],
        tangents: &[Var],
    ) -> [Var; N] {
        self.jvp_impl(outputs, inputs, tangents, false)
    }

    /// [`jvp`](Tape::jvp) of one output.
    #[track_caller]
    pub fn jvp1(&mut self, output: Var, inputs: &[Var], tangents: &[Var]) -> Var {
        let [d] = self.jvp([output], inputs, tangents);
        d
    }

    /// Untaped forward mode for inference: writes the tangent of `output` into `out` and leaves
    /// the tape as it was. Manifold primitives use their fused closed-form JVPs.
    ///
    /// # Panics
    /// If `out` does not hold the output's `rows * cols` scalars, or as [`jvp`](Tape::jvp).
    #[track_caller]
    pub fn jvp_value_into(&mut self, output: Var, inputs: &[Var], tangents: &[Var], out: &mut [T]) {
        let mark = self.len();
        let [d] = self.jvp_impl([output], inputs, tangents, true);
        let v = self.value(d);
        assert!(
            out.len() == v.len(),
            "jvp_value_into: out has {} scalars, the output {}",
            out.len(),
            v.len()
        );
        out.copy_from_slice(v);
        self.truncate(mark);
    }

    #[track_caller]
    fn jvp_impl<const N: usize>(
        &mut self,
        outputs: [Var; N],
        inputs: &[Var],
        tangents: &[Var],
        fused: bool,
    ) -> [Var; N] {
        assert!(
            inputs.len() == tangents.len(),
            "jvp: {} inputs but {} tangents",
            inputs.len(),
            tangents.len()
        );
        for (&x, &t) in inputs.iter().zip(tangents) {
            let (xs, ts) = (self.shape(x), self.shape(t));
            assert!(
                xs == ts,
                "jvp: input {} is {xs:?} but its tangent is {ts:?}",
                x.index()
            );
        }
        let mut tmap = std::mem::take(&mut self.tmap);
        tmap.clear();
        tmap.resize(self.nodes.len(), None);
        for (&x, &t) in inputs.iter().zip(tangents) {
            tmap[x.index()] = Some(t);
        }
        let start = inputs.iter().map(|v| v.index()).min().unwrap_or(0);
        let end = outputs.iter().map(|v| v.index() + 1).max().unwrap_or(0);
        self.walk(&mut tmap, start, end, inputs, fused);
        let res = outputs.map(|o| match tmap[o.index()] {
            Some(t) => t,
            None => {
                let (r, c) = self.shape(o);
                self.zeros(r, c)
            }
        });
        self.tmap = tmap;
        res
    }

    fn walk(
        &mut self,
        tmap: &mut Vec<Option<Var>>,
        start: usize,
        end: usize,
        seeds: &[Var],
        fused: bool,
    ) {
        for i in start..end {
            if seeds.iter().any(|s| s.index() == i) {
                continue;
            }
            let t = self.jvp_rule(i, tmap, fused);
            if tmap.len() < self.nodes.len() {
                tmap.resize(self.nodes.len(), None);
            }
            tmap[i] = t;
        }
    }

    /// Adds two optional tangents, broadcasting a lone one to `shape`.
    fn add_opt(&mut self, a: Option<Var>, b: Option<Var>, shape: (usize, usize)) -> Option<Var> {
        match (a, b) {
            (Some(a), Some(b)) => Some(self.add(a, b)),
            (Some(a), None) | (None, Some(a)) => Some(self.fit(a, shape)),
            (None, None) => None,
        }
    }

    fn fit(&mut self, a: Var, shape: (usize, usize)) -> Var {
        if self.shape(a) == shape {
            a
        } else {
            self.broadcast(a, shape.0, shape.1)
        }
    }

    fn jvp_rule(&mut self, i: usize, tmap: &mut Vec<Option<Var>>, fused: bool) -> Option<Var> {
        let y = Var(i as u32);
        let shape = (self.nodes[i].rows, self.nodes[i].cols);
        let t = |v: Var| tmap[v.index()];
        // Copy out what the rule needs so the tape can be extended.
        match self.nodes[i].op {
            Op::Leaf | Op::StopGrad(_) => None,
            Op::MatMul { a, b, ta, tb } => {
                let x = t(a).map(|da| self.matmul_t(da, b, ta, tb));
                let z = t(b).map(|db| self.matmul_t(a, db, ta, tb));
                self.add_opt(x, z, shape)
            }
            Op::Affine { x, w, b } => {
                let (dx, dw, db) = (t(x), t(w), t(b));
                let first = match (dx, db) {
                    (Some(dx), Some(db)) => Some(self.affine(dx, w, db)),
                    (Some(dx), None) => Some(self.matmul(dx, w)),
                    (None, Some(db)) => Some(self.broadcast(db, shape.0, shape.1)),
                    (None, None) => None,
                };
                let second = dw.map(|dw| self.matmul(x, dw));
                self.add_opt(first, second, shape)
            }
            Op::Bin(op, a, b) => {
                let (da, db) = (t(a), t(b));
                if da.is_none() && db.is_none() {
                    return None;
                }
                match op {
                    Bin::Add => self.add_opt(da, db, shape),
                    Bin::Sub => {
                        let ndb = db.map(|d| self.neg(d));
                        self.add_opt(da, ndb, shape)
                    }
                    Bin::Mul => {
                        let x = da.map(|d| self.mul(d, b));
                        let z = db.map(|d| self.mul(a, d));
                        self.add_opt(x, z, shape)
                    }
                    Bin::Div | Bin::DivSafe => {
                        // (ȧ - y ḃ) / b
                        let yb = db.map(|d| {
                            let p = self.mul(y, d);
                            self.neg(p)
                        });
                        let num = self.add_opt(da, yb, shape).unwrap();
                        Some(if op == Bin::Div {
                            self.div(num, b)
                        } else {
                            self.div_safe(num, b)
                        })
                    }
                    Bin::Atan2 => {
                        // (b ȧ - a ḃ) / (a² + b²)
                        let x = da.map(|d| self.mul(b, d));
                        let z = db.map(|d| {
                            let p = self.mul(a, d);
                            self.neg(p)
                        });
                        let num = self.add_opt(x, z, shape).unwrap();
                        let (a2, b2) = (self.square(a), self.square(b));
                        let den = self.add(a2, b2);
                        Some(self.div_safe(num, den))
                    }
                }
            }
            Op::Scale(a, c) => t(a).map(|d| self.scale(d, c)),
            Op::Offset(a, _) => t(a),
            Op::Unary(u, x) => t(x).map(|d| self.unary_jvp(u, x, d, Some(y))),
            Op::UnaryJvp(u, x, xd, src) => {
                // d(f'(x) ẋ) = f''(x) ẋ_x ẋ + f'(x) ẋ_ẋ
                let first = t(x).map(|dx| {
                    let p = self.unary_jvp(u.next(), x, dx, None);
                    self.mul(p, xd)
                });
                let second = t(xd).map(|dd| self.unary_jvp(u, x, dd, src));
                self.add_opt(first, second, shape)
            }
            Op::Sum(a, axis) => t(a).map(|d| self.sum_axis(d, axis)),
            Op::Broadcast(a) => t(a).map(|d| self.broadcast(d, shape.0, shape.1)),
            Op::Softmax(a) => t(a).map(|d| {
                let s = self.row_dot(y, d);
                let c = self.sub(d, s);
                self.mul(y, c)
            }),
            Op::LogSoftmax(a) => t(a).map(|d| {
                let p = self.unary(Unary::new(UFn::Exp), y);
                let s = self.row_dot(p, d);
                self.sub(d, s)
            }),
            Op::Concat(a, b) => {
                let (da, db) = (t(a), t(b));
                if da.is_none() && db.is_none() {
                    return None;
                }
                let da = da.unwrap_or_else(|| {
                    let (r, c) = self.shape(a);
                    self.zeros(r, c)
                });
                let db = db.unwrap_or_else(|| {
                    let (r, c) = self.shape(b);
                    self.zeros(r, c)
                });
                Some(self.concat(da, db))
            }
            Op::Slice(a, start) => t(a).map(|d| self.slice(d, start, shape.1)),
            Op::Reshape(a) => t(a).map(|d| self.reshape(d, shape.0, shape.1)),
            Op::Gather(a, off) => t(a).map(|d| self.gather_at(d, off, shape.0)),
            Op::RowDot(a, b) => {
                let x = t(a).map(|d| self.row_dot(d, b));
                let z = t(b).map(|d| self.row_dot(a, d));
                self.add_opt(x, z, shape)
            }
            Op::RowSq(a) => t(a).map(|d| {
                let p = self.row_dot(a, d);
                self.scale(p, T::c(2.0))
            }),
            Op::RowNorm(a) => t(a).map(|d| {
                let p = self.row_dot(a, d);
                self.div_safe(p, y)
            }),
            Op::Manifold { op, m, args } => {
                let nargs = match op {
                    MOp::Inner | MOp::Geodesic | MOp::GeoVel => 3,
                    _ => 2,
                };
                let tans = [
                    t(args[0]),
                    t(args[1]),
                    if nargs == 3 { t(args[2]) } else { None },
                ];
                if tans.iter().all(Option::is_none) || op == MOp::GeoVel {
                    return None;
                }
                if fused && op != MOp::Geodesic {
                    let grad = false;
                    return Some(self.push(
                        Op::FusedJvp { op, m, args, tans },
                        shape.0,
                        shape.1,
                        grad,
                    ));
                }
                // Record the composite form and differentiate it.
                let mark = self.nodes.len();
                let [a, b, c] = args;
                let out = match op {
                    MOp::Exp => m.exp_composite(self, a, b),
                    MOp::Log => m.log_composite(self, a, b),
                    MOp::Dist => m.dist_composite(self, a, b),
                    MOp::Inner => m.inner_composite(self, a, b, c),
                    MOp::ProjTan => m.project_tangent_composite(self, a, b),
                    MOp::Geodesic => {
                        let l = self.log_dyn(m, a, b);
                        let w = self.mul(l, c);
                        self.exp_dyn(m, a, w)
                    }
                    MOp::GeoVel => unreachable!(),
                };
                tmap.resize(self.nodes.len(), None);
                let end = self.nodes.len();
                self.walk(tmap, mark, end, &[], fused);
                tmap[out.index()].or_else(|| {
                    // The composite may return one of its inputs unchanged (e.g. a projection
                    // that is the identity).
                    if out.index() < mark {
                        tmap[out.index()]
                    } else {
                        None
                    }
                })
            }
            Op::FusedJvp { .. } => panic!("the untaped JVP nodes cannot be differentiated again"),
        }
    }
}
