//! Manifold operations as tape primitives.
//!
//! `tape.exp(&m, p, v)` records **one node per batch**: its value comes from the manifold's
//! batch kernel and its VJP from the closed-form [`Differentiable`] VJPs, row by row. The same
//! operation built from elementary tape ops (the *composite* form, [`TapeManifold`]) is kept
//! for two jobs:
//!
//! - it is the test oracle of the fused node (same value, same gradients);
//! - it carries the **taped JVP** of the fused node. The JVP of a primitive is itself
//!   differentiated by reverse-over-forward losses (the Lagrangian flow-map loss differentiates
//!   $\partial_t \exp_x((t-s)v)$), which needs second derivatives that `Differentiable` does
//!   not provide. So when [`Tape::jvp`] meets a fused node, it records the composite form of
//!   the same operation on the same inputs and differentiates that (its elementary ops all have
//!   taped JVP rules). The forward value of the fused node stays the fused one; only the
//!   tangent goes through the composite. The untaped [`Tape::jvp_value_into`] uses the fused
//!   `*_jvp` instead.
//!
//! Composite forms use only functions that are smooth where the manifold formula is: the sphere
//! exponential is $\cos\sqrt y\\,p + \operatorname{sinc}\sqrt y\\,v$ with $y = \lVert v\rVert^2$
//! ([`Tape::cos_sqrt`], [`Tape::sinc_sqrt`]), so every derivative is finite at $v = 0$.
//!
//! | manifold | composite forms |
//! |---|---|
//! | `Euclidean` | all |
//! | `Sphere`, `PositiveOrthant` | all; `log` is singular at $p = q$ (its fused VJP is not) |
//! | `FlatTorus` | all: $p + v$ plus the constant wrap offset |
//! | `Simplex` | all, for interior points ($\sqrt p$ has an infinite derivative at a zero coordinate) |
//!
//! `geodesic(p, q, t)` is fused too (value $\exp_p(t\log_p q)$ row by row, which is the
//! ambient function that its VJP — `log_vjp` chained with `exp_vjp` — differentiates; the
//! closed-form `geodesic_into` agrees with it on the manifold only); its taped JVP is recorded as `exp(p, t · log(p, q))` of fused
//! nodes. `geodesic_velocity` is a target: it records no gradient (to train through a
//! velocity, take `tape.jvp` of `tape.geodesic` in `t`).

use crate::tape::{MOp, Op, Tape, Var};
use crate::Element;
use geoflow_manifolds::{
    wrap_angle, Differentiable, Euclidean, FlatTorus, PositiveOrthant, Simplex, Sphere,
};

/// A manifold usable on the tape: the closed-form derivatives of [`Differentiable`] plus the
/// composite forms built from tape ops (see the module docs).
///
/// Every composite has a default that panics, so `impl TapeManifold<T> for MyManifold {}` is
/// enough for first-order training with fused primitives; a taped JVP through a primitive needs
/// its composite.
pub trait TapeManifold<T: Element>: Differentiable<Scalar = T> {
    /// $\exp_p(v)$ from tape ops.
    fn exp_composite(&self, tape: &mut Tape<'_, T>, p: Var, v: Var) -> Var {
        let _ = (tape, p, v);
        no_composite("exp")
    }
    /// $\log_p(q)$ from tape ops.
    fn log_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let _ = (tape, p, q);
        no_composite("log")
    }
    /// $d(p, q)$ from tape ops, `[n, 1]`.
    fn dist_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let _ = (tape, p, q);
        no_composite("dist")
    }
    /// $g_p(u, v)$ from tape ops, `[n, 1]`.
    fn inner_composite(&self, tape: &mut Tape<'_, T>, p: Var, u: Var, v: Var) -> Var {
        let _ = (tape, p, u, v);
        no_composite("inner")
    }
    /// $P_p(u)$ from tape ops.
    fn project_tangent_composite(&self, tape: &mut Tape<'_, T>, p: Var, u: Var) -> Var {
        let _ = (tape, p, u);
        no_composite("project_tangent")
    }
}

#[track_caller]
fn no_composite(what: &str) -> ! {
    panic!("this manifold has no composite form of {what}: a taped JVP through tape.{what} needs one (see geoflow_autodiff::geometry)")
}

impl<T: Element> TapeManifold<T> for Euclidean<T> {
    fn exp_composite(&self, tape: &mut Tape<'_, T>, p: Var, v: Var) -> Var {
        tape.add(p, v)
    }
    fn log_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        tape.sub(q, p)
    }
    fn dist_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let d = tape.sub(q, p);
        tape.row_norm(d)
    }
    fn inner_composite(&self, tape: &mut Tape<'_, T>, _p: Var, u: Var, v: Var) -> Var {
        tape.row_dot(u, v)
    }
    fn project_tangent_composite(&self, tape: &mut Tape<'_, T>, _p: Var, u: Var) -> Var {
        tape.scale(u, T::one())
    }
}

/// Sphere composites (shared with the orthant, whose formulas are the sphere's).
mod sphere_composite {
    use super::*;
    /// $\cos\sqrt y\\,p + \operatorname{sinc}\sqrt y\\,v$, $y = \lVert v\rVert^2$.
    pub fn exp<T: Element>(tape: &mut Tape<'_, T>, p: Var, v: Var) -> Var {
        let y = tape.row_sq(v);
        let c = tape.cos_sqrt(y);
        let s = tape.sinc_sqrt(y);
        let a = tape.mul(c, p);
        let b = tape.mul(s, v);
        tape.add(a, b)
    }
    /// $\theta\\,w/\lVert w\rVert$, $w = q - \frac{\langle p,q\rangle}{\lVert p\rVert^2}p$,
    /// $\theta = 2\operatorname{atan2}(\lVert q-p\rVert, \lVert q+p\rVert)$ (as implemented).
    pub fn log<T: Element>(tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let th = dist(tape, p, q);
        let pq = tape.row_dot(p, q);
        let pp = tape.row_sq(p);
        let a = tape.div(pq, pp);
        let ap = tape.mul(a, p);
        let w = tape.sub(q, ap);
        let nw = tape.row_norm(w);
        let k = tape.div_safe(th, nw);
        tape.mul(k, w)
    }
    /// $2\operatorname{atan2}(\lVert q-p\rVert, \lVert q+p\rVert)$.
    pub fn dist<T: Element>(tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let d = tape.sub(q, p);
        let s = tape.add(q, p);
        let (c, a) = (tape.row_norm(d), tape.row_norm(s));
        let h = tape.atan2(c, a);
        tape.scale(h, T::c(2.0))
    }
    /// $u - \langle p, u\rangle p$.
    pub fn proj<T: Element>(tape: &mut Tape<'_, T>, p: Var, u: Var) -> Var {
        let a = tape.row_dot(p, u);
        let ap = tape.mul(a, p);
        tape.sub(u, ap)
    }
}

macro_rules! sphere_like {
    ($m:ident) => {
        impl<T: Element> TapeManifold<T> for $m<T> {
            fn exp_composite(&self, tape: &mut Tape<'_, T>, p: Var, v: Var) -> Var {
                sphere_composite::exp(tape, p, v)
            }
            fn log_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
                sphere_composite::log(tape, p, q)
            }
            fn dist_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
                sphere_composite::dist(tape, p, q)
            }
            fn inner_composite(&self, tape: &mut Tape<'_, T>, _p: Var, u: Var, v: Var) -> Var {
                tape.row_dot(u, v)
            }
            fn project_tangent_composite(&self, tape: &mut Tape<'_, T>, p: Var, u: Var) -> Var {
                sphere_composite::proj(tape, p, u)
            }
        }
    };
}
sphere_like!(Sphere);
sphere_like!(PositiveOrthant);

impl<T: Element> TapeManifold<T> for FlatTorus<T> {
    /// $p + v + c$ with the constant $c = \operatorname{wrap}(p + v) - (p + v)$: the wrap is
    /// locally a constant shift.
    fn exp_composite(&self, tape: &mut Tape<'_, T>, p: Var, v: Var) -> Var {
        let s = tape.add(p, v);
        let off = tape.constant_map2(p, v, |a, b| wrap_angle(a + b) - (a + b));
        tape.add(s, off)
    }
    /// $q - p + c$ with the constant $c = \operatorname{wrap}(q - p) - (q - p)$.
    fn log_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let s = tape.sub(q, p);
        let off = tape.constant_map2(p, q, |a, b| wrap_angle(b - a) - (b - a));
        tape.add(s, off)
    }
    fn dist_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let l = self.log_composite(tape, p, q);
        tape.row_norm(l)
    }
    fn inner_composite(&self, tape: &mut Tape<'_, T>, _p: Var, u: Var, v: Var) -> Var {
        tape.row_dot(u, v)
    }
    fn project_tangent_composite(&self, tape: &mut Tape<'_, T>, _p: Var, u: Var) -> Var {
        tape.scale(u, T::one())
    }
}

/// Simplex composites on $x = \sqrt p$, $z = \sqrt q$ (interior points).
mod simplex_composite {
    use super::*;
    /// $C = \lVert z - x\rVert$, $A = \lVert z + x\rVert$ and $d = z - x$.
    pub fn chord_anti<T: Element>(tape: &mut Tape<'_, T>, p: Var, q: Var) -> (Var, Var, Var, Var) {
        let (x, z) = (tape.sqrt(p), tape.sqrt(q));
        let d = tape.sub(z, x);
        let e = tape.add(z, x);
        let (c, a) = (tape.row_norm(d), tape.row_norm(e));
        (x, d, c, a)
    }
}

impl<T: Element> TapeManifold<T> for Simplex<T> {
    /// $(\cos\theta\,x + \operatorname{sinc}\theta\,u)^{\odot 2}$ with $x = \sqrt p$,
    /// $u = v/(2x)$, $\theta^2 = \lVert u\rVert^2$.
    fn exp_composite(&self, tape: &mut Tape<'_, T>, p: Var, v: Var) -> Var {
        let x = tape.sqrt(p);
        let hv = tape.scale(v, T::c(0.5));
        let u = tape.div(hv, x);
        let y = tape.row_sq(u);
        let (c, s) = (tape.cos_sqrt(y), tape.sinc_sqrt(y));
        let a = tape.mul(c, x);
        let b = tape.mul(s, u);
        let w = tape.add(a, b);
        tape.square(w)
    }
    /// $2\kappa\,(x \odot (z - x) + \sigma p)$ with $\alpha = 2\operatorname{atan2}(C, A)$,
    /// $\kappa = \alpha/\sin\alpha$, $\sigma = 2C^2/(C^2 + A^2)$.
    fn log_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let (x, d, c, a) = simplex_composite::chord_anti(tape, p, q);
        let h = tape.atan2(c, a);
        let alpha = tape.scale(h, T::c(2.0));
        let a2 = tape.square(alpha);
        let sinc = tape.sinc_sqrt(a2);
        let kappa = tape.recip(sinc);
        let (c2, aa2) = (tape.square(c), tape.square(a));
        let r2 = tape.add(c2, aa2);
        let sig = tape.div(c2, r2);
        let sig = tape.scale(sig, T::c(2.0));
        let xd = tape.mul(x, d);
        let sp = tape.mul(sig, p);
        let inner = tape.add(xd, sp);
        let k2 = tape.scale(kappa, T::c(2.0));
        tape.mul(k2, inner)
    }
    /// $4\operatorname{atan2}(C, A)$.
    fn dist_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let (_, _, c, a) = simplex_composite::chord_anti(tape, p, q);
        let h = tape.atan2(c, a);
        tape.scale(h, T::c(4.0))
    }
    /// $\sum_i u_i v_i / p_i$.
    fn inner_composite(&self, tape: &mut Tape<'_, T>, p: Var, u: Var, v: Var) -> Var {
        let uv = tape.mul(u, v);
        let w = tape.div(uv, p);
        tape.sum_rows(w)
    }
    /// $u - \frac{\sum_i u_i}{\sum_i p_i}\,p$ (as implemented).
    fn project_tangent_composite(&self, tape: &mut Tape<'_, T>, p: Var, u: Var) -> Var {
        let su = tape.sum_rows(u);
        let sp = tape.sum_rows(p);
        let c = tape.div(su, sp);
        let cp = tape.mul(c, p);
        tape.sub(u, cp)
    }
}

impl<'m, T: Element> Tape<'m, T> {
    #[track_caller]
    fn check_batch(&self, what: &str, d: usize, vars: &[Var]) -> usize {
        let n = self.shape(vars[0]).0;
        for &v in vars {
            let (r, cc) = self.shape(v);
            assert!(
                r == n && cc == d,
                "{what}: expected [{n}, {d}] (ambient dimension {d}), got [{r}, {cc}]"
            );
        }
        n
    }

    #[track_caller]
    fn check_times(&self, what: &str, n: usize, t: Var) {
        let (r, c) = self.shape(t);
        assert!(
            r == n && c == 1,
            "{what}: times must be [{n}, 1], got [{r}, {c}]"
        );
    }

    pub(crate) fn exp_dyn(&mut self, m: &'m dyn TapeManifold<T>, p: Var, v: Var) -> Var {
        let n = self.check_batch("exp", m.ambient_dim(), &[p, v]);
        let grad = self.requires_grad(p) || self.requires_grad(v);
        self.push(
            Op::Manifold {
                op: MOp::Exp,
                m,
                args: [p, v, v],
            },
            n,
            m.ambient_dim(),
            grad,
        )
    }

    pub(crate) fn log_dyn(&mut self, m: &'m dyn TapeManifold<T>, p: Var, q: Var) -> Var {
        let n = self.check_batch("log", m.ambient_dim(), &[p, q]);
        let grad = self.requires_grad(p) || self.requires_grad(q);
        self.push(
            Op::Manifold {
                op: MOp::Log,
                m,
                args: [p, q, q],
            },
            n,
            m.ambient_dim(),
            grad,
        )
    }

    /// $\exp_p(v)$ row by row for `[n, d]` batches: one fused node.
    ///
    /// # Panics
    /// If the shapes are not `[n, ambient_dim]`.
    #[track_caller]
    pub fn exp<M: TapeManifold<T>>(&mut self, m: &'m M, p: Var, v: Var) -> Var {
        self.exp_dyn(m, p, v)
    }

    /// $\log_p(q)$ row by row: one fused node.
    ///
    /// # Panics
    /// If the shapes are not `[n, ambient_dim]`.
    #[track_caller]
    pub fn log<M: TapeManifold<T>>(&mut self, m: &'m M, p: Var, q: Var) -> Var {
        self.log_dyn(m, p, q)
    }

    /// $d(p, q)$ row by row, `[n, 1]` (zero subgradient at $p = q$).
    ///
    /// # Panics
    /// If the shapes are not `[n, ambient_dim]`.
    #[track_caller]
    pub fn dist<M: TapeManifold<T>>(&mut self, m: &'m M, p: Var, q: Var) -> Var {
        let n = self.check_batch("dist", m.ambient_dim(), &[p, q]);
        let grad = self.requires_grad(p) || self.requires_grad(q);
        self.push(
            Op::Manifold {
                op: MOp::Dist,
                m,
                args: [p, q, q],
            },
            n,
            1,
            grad,
        )
    }

    /// $g_p(u, v)$ row by row, `[n, 1]`.
    ///
    /// # Panics
    /// If the shapes are not `[n, ambient_dim]`.
    #[track_caller]
    pub fn inner<M: TapeManifold<T>>(&mut self, m: &'m M, p: Var, u: Var, v: Var) -> Var {
        let n = self.check_batch("inner", m.ambient_dim(), &[p, u, v]);
        let grad = self.requires_grad(p) || self.requires_grad(u) || self.requires_grad(v);
        self.push(
            Op::Manifold {
                op: MOp::Inner,
                m,
                args: [p, u, v],
            },
            n,
            1,
            grad,
        )
    }

    /// $P_p(u)$, the projection onto $T_pM$, row by row.
    ///
    /// # Panics
    /// If the shapes are not `[n, ambient_dim]`.
    #[track_caller]
    pub fn project_tangent<M: TapeManifold<T>>(&mut self, m: &'m M, p: Var, u: Var) -> Var {
        let n = self.check_batch("project_tangent", m.ambient_dim(), &[p, u]);
        let grad = self.requires_grad(p) || self.requires_grad(u);
        self.push(
            Op::Manifold {
                op: MOp::ProjTan,
                m,
                args: [p, u, u],
            },
            n,
            m.ambient_dim(),
            grad,
        )
    }

    /// $\gamma(t) = \exp_p(t\log_p q)$ row by row with one time per row (`t: [n, 1]`).
    ///
    /// # Panics
    /// If the shapes do not fit.
    #[track_caller]
    pub fn geodesic<M: TapeManifold<T>>(&mut self, m: &'m M, p: Var, q: Var, t: Var) -> Var {
        let n = self.check_batch("geodesic", m.ambient_dim(), &[p, q]);
        self.check_times("geodesic", n, t);
        let grad = self.requires_grad(p) || self.requires_grad(q) || self.requires_grad(t);
        self.push(
            Op::Manifold {
                op: MOp::Geodesic,
                m,
                args: [p, q, t],
            },
            n,
            m.ambient_dim(),
            grad,
        )
    }

    /// $\dot\gamma(t)$ row by row: a regression **target**, recorded without gradient and with
    /// zero tangent (see the module docs for a differentiable velocity).
    ///
    /// # Panics
    /// If the shapes do not fit.
    #[track_caller]
    pub fn geodesic_velocity<M: TapeManifold<T>>(
        &mut self,
        m: &'m M,
        p: Var,
        q: Var,
        t: Var,
    ) -> Var {
        let n = self.check_batch("geodesic_velocity", m.ambient_dim(), &[p, q]);
        self.check_times("geodesic_velocity", n, t);
        self.push(
            Op::Manifold {
                op: MOp::GeoVel,
                m,
                args: [p, q, t],
            },
            n,
            m.ambient_dim(),
            false,
        )
    }

    /// $\frac1n\sum_i d(a_i, b_i)^2$, `[1, 1]`.
    #[track_caller]
    pub fn mean_sq_dist<M: TapeManifold<T>>(&mut self, m: &'m M, a: Var, b: Var) -> Var {
        let d = self.dist(m, a, b);
        let d2 = self.square(d);
        self.mean(d2)
    }

    /// The composite (tape-op) form of $\exp_p(v)$: the oracle of [`exp`](Tape::exp).
    #[track_caller]
    pub fn exp_composite<M: TapeManifold<T>>(&mut self, m: &M, p: Var, v: Var) -> Var {
        m.exp_composite(self, p, v)
    }
    /// The composite form of $\log_p(q)$.
    #[track_caller]
    pub fn log_composite<M: TapeManifold<T>>(&mut self, m: &M, p: Var, q: Var) -> Var {
        m.log_composite(self, p, q)
    }
    /// The composite form of $d(p, q)$.
    #[track_caller]
    pub fn dist_composite<M: TapeManifold<T>>(&mut self, m: &M, p: Var, q: Var) -> Var {
        m.dist_composite(self, p, q)
    }
    /// The composite form of $g_p(u, v)$.
    #[track_caller]
    pub fn inner_composite<M: TapeManifold<T>>(&mut self, m: &M, p: Var, u: Var, v: Var) -> Var {
        m.inner_composite(self, p, u, v)
    }
    /// The composite form of $P_p(u)$.
    #[track_caller]
    pub fn project_tangent_composite<M: TapeManifold<T>>(&mut self, m: &M, p: Var, u: Var) -> Var {
        m.project_tangent_composite(self, p, u)
    }
}
