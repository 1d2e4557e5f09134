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
//! ([`Tape::cos_sqrt`], [`Tape::sinc_sqrt`]), so every derivative is finite at $v = 0$. Norms
//! that vanish at $p = q$ are [`Tape::row_norm`]s (zero subgradient there) and enter the maps
//! only through functions of their square, such as $d/\sinh d = 1/\operatorname{sinhc}\sqrt{d^2}$,
//! so first and second derivatives at $p = q$ are right wherever the map is smooth there.
//!
//! | manifold | composite forms |
//! |---|---|
//! | `Euclidean` | all |
//! | `Sphere`, `PositiveOrthant` | all; at $p = q$ `log` takes the limit $\theta/\lVert w\rVert = 1$ along the sphere (the ambient formula has no derivative there), so its JVP is $P_p(\dot q - \dot p)$ like the fused one |
//! | `FlatTorus` | all: $p + v$ plus the constant wrap offset |
//! | `Simplex` | all, for interior points ($\sqrt p$ has an infinite derivative at a zero coordinate) |
//! | `Lorentz` | all; `exp`, `log`, `dist` read the spatial parts $\bar x$ and take $x_0 = \sqrt{1 + \lVert\bar x\rVert^2}$ like the fused kernels (zero partials in the given $x_0$) |
//! | `PoincareBall` | all |
//! | `Product<A, B>` | all when both factors have them: columns sliced per factor, results concatenated; $d = \lVert(d_A, d_B)\rVert$, inner products add |
//! | `Power<M>` | all when `M` has them: the `[n, k d]` batch is [reshaped](Tape::reshape) to `[n k, d]`, so the factor's composite is recorded once for any `k`; $d = \lVert(d_1, \dots, d_k)\rVert$ |
//!
//! **Hyperbolic composites.** Lorentz: $\exp_x u$ is
//! $\bar y = \cosh\theta\\,\bar x + \operatorname{sinhc}\theta\\,\bar u$, $y_0$ from the constraint,
//! with $\theta^2 = \lVert\bar u - \frac{\bar x\cdot\bar u}{x_0(1+x_0)}\bar x\rVert^2$ (the
//! Lorentz norm of $u$ as a sum of squares). The chord $c^2 = \langle y-x, y-x\rangle_L$ is the
//! Euclidean $\lVert\zeta\rVert^2$ of $\zeta = \delta - \frac{\delta\cdot s}{\sigma(\sigma+a)}s$
//! ($\delta = \bar y - \bar x$, $s = \bar y + \bar x$, $\sigma = x_0 + y_0$, $a = \sqrt{4 + c^2}$
//! from the plain $\lVert\delta\rVert^2 - (y_0 - x_0)^2$), so
//! $d = 2\operatorname{arsinh}(c/2)$ needs no arcosh and has the zero subgradient at $x = y$;
//! $\log_x y = \frac{d}{\sinh d}\big((y - x) - \frac{c^2}{2}x\big)$ as in the fused kernel.
//! Poincaré ball: $\exp_p u$ is the fused $\frac{2(\alpha p + \tau u)}{D}$ with numerator and
//! denominator multiplied by $\cosh r$ ($r^2 = \lambda_p^2\lVert u\rVert^2$, smooth at $u = 0$),
//! $d = 2\operatorname{arsinh}c$ with $c = \lVert q - p\rVert/\sqrt{a_pa_q}$ and
//! $\log_p q = \frac{d}{\sinh d}\frac{a_p\delta - \lVert\delta\rVert^2p}{a_q}$.
//! $\operatorname{arsinh}x = \ln(x + \sqrt{1 + x^2})$ (absolute error a few ulps, enough for
//! $d/\sinh d$). Numerical scope: the composites are plain formulas, without the fused kernels'
//! compensated chord and double-word $1 - \lVert p\rVert^2$; the Lorentz chord loses about
//! $\varepsilon x_0y_0$ relative for far, radially separated points, the ball about
//! $\varepsilon/a_p$. Measured in f64 for two points at radius 5 that are 5 apart: taped JVPs
//! of log, exp and geodesic within $3\cdot10^{-12}$, $1.3\cdot10^{-12}$ and $10^{-11}$ of the
//! fused JVPs (relative to the largest entry); from the origin to radius 5 and at radius 3,
//! within $10^{-13}$.
//!
//! A flow-map style derivative on $H^2$, trained through (reverse-over-forward):
//!
//! ```
//! use geoflow_autodiff::Tape;
//! use geoflow_manifolds::Lorentz;
//! let h = Lorentz::<f64>::new(2).unwrap();
//! let mut tape = Tape::new();
//! let x = tape.constant(&[2f64.sqrt(), 1.0, 0.0], 1, 3);
//! let v = tape.leaf(&[0.0, 0.0, 0.7], 1, 3);   // tangent at x
//! let t = tape.leaf(&[0.4], 1, 1);
//! let tv = tape.mul(t, v);
//! let y = tape.exp(&h, x, tv);                  // fused node
//! let one = tape.scalar(1.0);
//! let dy = tape.jvp1(y, &[t], &[one]);          // ∂ₜ exp_x(t v), through the composite
//! let speed2 = tape.inner(&h, y, dy, dy);       // = ⟨v, v⟩_L = 0.49 at every t
//! assert!((tape.scalar_value(speed2) - 0.49).abs() < 1e-12);
//! let g = tape.backward(speed2);                // d/dv of ⟨v, v⟩_L = 2 v (spatial part)
//! assert!((g.wrt(v)[2] - 1.4).abs() < 1e-9);
//! ```
//!
//! `geodesic(p, q, t)` is fused too (value $\exp_p(t\log_p q)$ row by row, which is the
//! ambient function that its VJP — `log_vjp` chained with `exp_vjp` — differentiates; the
//! closed-form `geodesic_into` agrees with it on the manifold only); its taped JVP is recorded as `exp(p, t · log(p, q))` of fused
//! nodes. `geodesic_velocity` is a target: it records no gradient (to train through a
//! velocity, take `tape.jvp` of `tape.geodesic` in `t`).

use crate::tape::{MOp, Op, Tape, Var};
use crate::Element;
use geoflow_manifolds::{
    wrap_angle, Differentiable, Euclidean, FlatTorus, Lorentz, Manifold, PoincareBall,
    PositiveOrthant, Power, Product, Simplex, Sphere,
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
    /// $k\\,w$ with the fused log's ambient $w = q - \frac{\langle p,q\rangle}{\lVert p\rVert^2}p$,
    /// recorded in its difference form $w = d - \frac{\langle p,d\rangle}{\lVert p\rVert^2}p$,
    /// $d = q - p$ (no cancellation for nearby points), and $k = \theta/\lVert w\rVert$,
    /// $\theta = 2\operatorname{atan2}(\lVert d\rVert, \lVert q+p\rVert)$, recorded as
    /// $1 + (\theta - \lVert w\rVert)/\lVert w\rVert$ with the safe division. At $p = q$ that is
    /// $k = 1$ with zero partials (the limit along the sphere, where $k = \theta/\sin\theta$), so the
    /// derivative there is $\dot w = P_p(\dot q - \dot p)$ like the fused `log_jvp`; a plain
    /// safe $\theta/\lVert w\rVert$ would give $k = 0$ and a zero derivative.
    pub fn log<T: Element>(tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let d = tape.sub(q, p);
        let th = angle(tape, p, q, d);
        let pd = tape.row_dot(p, d);
        let pp = tape.row_sq(p);
        let a = tape.div(pd, pp);
        let ap = tape.mul(a, p);
        let w = tape.sub(d, ap);
        let nw = tape.row_norm(w);
        let e = tape.sub(th, nw);
        let r = tape.div_safe(e, nw);
        let k = tape.offset(r, T::one());
        tape.mul(k, w)
    }
    /// $2\operatorname{atan2}(\lVert d\rVert, \lVert q+p\rVert)$ from $d = q - p$.
    fn angle<T: Element>(tape: &mut Tape<'_, T>, p: Var, q: Var, d: Var) -> Var {
        let s = tape.add(q, p);
        let (c, a) = (tape.row_norm(d), tape.row_norm(s));
        let h = tape.atan2(c, a);
        tape.scale(h, T::c(2.0))
    }
    /// $2\operatorname{atan2}(\lVert q-p\rVert, \lVert q+p\rVert)$.
    pub fn dist<T: Element>(tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let d = tape.sub(q, p);
        angle(tape, p, q, d)
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

/// $\operatorname{arsinh} x = \ln(x + \sqrt{1 + x^2})$ for $x \ge 0$, from $x$ and a separately
/// recorded $x^2$ (the smooth one: $x$ is typically a [`Tape::row_norm`]). Every intermediate is
/// at least 1, so value and derivatives are finite; the absolute error is a few ulps.
fn asinh_nonneg<T: Element>(tape: &mut Tape<'_, T>, x: Var, x2: Var) -> Var {
    let a = tape.offset(x2, T::one());
    let r = tape.sqrt(a);
    let s = tape.add(x, r);
    tape.ln(s)
}

/// $d/\sinh d = 1/\operatorname{sinhc}\sqrt{d^2}$: 1 with zero derivative at $d = 0$.
fn x_over_sinh<T: Element>(tape: &mut Tape<'_, T>, d: Var) -> Var {
    let d2 = tape.square(d);
    let s = tape.sinhc_sqrt(d2);
    tape.recip(s)
}

/// Lorentz composites. Like the fused kernels they read the spatial parts $\bar x = x_{1:n}$
/// only and take $x_0 = \sqrt{1 + \lVert\bar x\rVert^2}$ from the constraint (so the partials
/// in the given $x_0$ are zero, as in the fused VJPs), except the ambient `inner` and
/// `project_tangent`.
mod lorentz_composite {
    use super::*;

    /// $(\bar x, x_0)$ with $x_0 = \sqrt{1 + \lVert\bar x\rVert^2}$.
    pub fn spatial<T: Element>(tape: &mut Tape<'_, T>, x: Var, n: usize) -> (Var, Var) {
        let xb = tape.slice(x, 1, n);
        let xx = tape.row_sq(xb);
        let a = tape.offset(xx, T::one());
        (xb, tape.sqrt(a))
    }

    /// $\lVert u\rVert_L^2$ of the tangent vector at $x$ with spatial part $\bar u$, as the sum
    /// of squares $\lVert\bar u - \frac{\bar x\cdot\bar u}{x_0(1 + x_0)}\bar x\rVert^2$ (the
    /// spatial part of its transport to the origin): equal to
    /// $\lVert\bar u\rVert^2 - (\bar x\cdot\bar u)^2/x_0^2$, never negative, smooth.
    pub fn tangent_sq<T: Element>(tape: &mut Tape<'_, T>, xb: Var, x0: Var, ub: Var) -> Var {
        let k = tape.row_dot(xb, ub);
        let x1 = tape.offset(x0, T::one());
        let den = tape.mul(x0, x1);
        let kk = tape.div(k, den);
        let kx = tape.mul(kk, xb);
        let w = tape.sub(ub, kx);
        tape.row_sq(w)
    }

    /// The chord of $x, y$: $\delta = \bar y - \bar x$, $e = y_0 - x_0 = \delta\cdot s/\sigma$
    /// ($s = \bar y + \bar x$, $\sigma = x_0 + y_0$) and $c = \lVert\zeta\rVert$, $c^2$, where
    /// $\zeta = \delta - \frac{\delta\cdot s}{\sigma(\sigma + a)}s$, $a = \sqrt{4 + c^2}$: then
    /// $\lVert\zeta\rVert^2 = \lVert\delta\rVert^2 - e^2 = \langle y - x, y - x\rangle_L$ (as
    /// $a^2 = \sigma^2 - \lVert s\rVert^2$), a Euclidean norm, so $c$ has the zero subgradient
    /// at $x = y$ and $c^2$ is smooth. $a$ only scales the radial correction and is taken from
    /// the plain $\lVert\delta\rVert^2 - e^2$.
    pub struct Chord {
        pub delta: Var,
        pub e: Var,
        pub c: Var,
        pub c2: Var,
    }

    pub fn chord<T: Element>(
        tape: &mut Tape<'_, T>,
        (xb, x0): (Var, Var),
        (yb, y0): (Var, Var),
    ) -> Chord {
        let delta = tape.sub(yb, xb);
        let s = tape.add(yb, xb);
        let sigma = tape.add(x0, y0);
        let ds = tape.row_dot(delta, s);
        let e = tape.div(ds, sigma);
        let dd = tape.row_sq(delta);
        let e2 = tape.square(e);
        let raw = tape.sub(dd, e2);
        let a2 = tape.offset(raw, T::c(4.0));
        let a = tape.sqrt(a2);
        let sa = tape.add(sigma, a);
        let den = tape.mul(sigma, sa);
        let k = tape.div(ds, den);
        let ks = tape.mul(k, s);
        let zeta = tape.sub(delta, ks);
        let c = tape.row_norm(zeta);
        let c2 = tape.row_sq(zeta);
        Chord { delta, e, c, c2 }
    }

    /// $d = 2\operatorname{arsinh}(c/2)$.
    pub fn dist_of<T: Element>(tape: &mut Tape<'_, T>, ch: &Chord) -> Var {
        let h = tape.scale(ch.c, T::c(0.5));
        let h2 = tape.scale(ch.c2, T::c(0.25));
        let a = asinh_nonneg(tape, h, h2);
        tape.scale(a, T::c(2.0))
    }

    /// $\langle u, v\rangle_L = \bar u\cdot\bar v - u_0v_0$.
    pub fn minkowski<T: Element>(tape: &mut Tape<'_, T>, u: Var, v: Var, n: usize) -> Var {
        let (ub, vb) = (tape.slice(u, 1, n), tape.slice(v, 1, n));
        let (u0, v0) = (tape.slice(u, 0, 1), tape.slice(v, 0, 1));
        let s = tape.row_dot(ub, vb);
        let t = tape.mul(u0, v0);
        tape.sub(s, t)
    }
}

impl<T: Element> TapeManifold<T> for Lorentz<T> {
    /// $\bar y = \cosh\theta\\,\bar x + \operatorname{sinhc}\theta\\,\bar u$ with
    /// $\theta^2 = \lVert u\rVert_L^2$ (a sum of squares, `cosh_sqrt` / `sinhc_sqrt` of it, smooth
    /// at $u = 0$), then $y_0 = \sqrt{1 + \lVert\bar y\rVert^2}$.
    fn exp_composite(&self, tape: &mut Tape<'_, T>, x: Var, u: Var) -> Var {
        let n = self.dim();
        let (xb, x0) = lorentz_composite::spatial(tape, x, n);
        let ub = tape.slice(u, 1, n);
        let m = lorentz_composite::tangent_sq(tape, xb, x0, ub);
        let (c, s) = (tape.cosh_sqrt(m), tape.sinhc_sqrt(m));
        let a = tape.mul(c, xb);
        let b = tape.mul(s, ub);
        let yb = tape.add(a, b);
        let yy = tape.row_sq(yb);
        let y1 = tape.offset(yy, T::one());
        let y0 = tape.sqrt(y1);
        tape.concat(y0, yb)
    }
    /// $\frac{d}{\sinh d}\big((y - x) - \tfrac{c^2}{2}x\big)$ with the chord $c$, $y_0 - x_0 = e$
    /// and $d = 2\operatorname{arsinh}(c/2)$; $d/\sinh d$ is a function of $d^2$, so the
    /// derivative at $x = y$ is $\dot y - \dot x$ (the tangent lifts) and reverse-over-forward
    /// there is exact.
    fn log_composite(&self, tape: &mut Tape<'_, T>, x: Var, y: Var) -> Var {
        let n = self.dim();
        let (xb, x0) = lorentz_composite::spatial(tape, x, n);
        let ys = lorentz_composite::spatial(tape, y, n);
        let ch = lorentz_composite::chord(tape, (xb, x0), ys);
        let d = lorentz_composite::dist_of(tape, &ch);
        let f = x_over_sinh(tape, d);
        let h = tape.scale(ch.c2, T::c(0.5));
        let hx = tape.mul(h, xb);
        let zb = tape.sub(ch.delta, hx);
        let hx0 = tape.mul(h, x0);
        let z0 = tape.sub(ch.e, hx0);
        let z = tape.concat(z0, zb);
        tape.mul(f, z)
    }
    /// $2\operatorname{arsinh}(c/2)$ with the chord $c = \lVert\zeta\rVert$ (no arcosh; zero
    /// subgradient at $x = y$).
    fn dist_composite(&self, tape: &mut Tape<'_, T>, x: Var, y: Var) -> Var {
        let n = self.dim();
        let xs = lorentz_composite::spatial(tape, x, n);
        let ys = lorentz_composite::spatial(tape, y, n);
        let ch = lorentz_composite::chord(tape, xs, ys);
        lorentz_composite::dist_of(tape, &ch)
    }
    /// The Minkowski form $\langle u, v\rangle_L$.
    fn inner_composite(&self, tape: &mut Tape<'_, T>, _x: Var, u: Var, v: Var) -> Var {
        lorentz_composite::minkowski(tape, u, v, self.dim())
    }
    /// $u + \langle x, u\rangle_L\\,x$.
    fn project_tangent_composite(&self, tape: &mut Tape<'_, T>, x: Var, u: Var) -> Var {
        let k = lorentz_composite::minkowski(tape, x, u, self.dim());
        let kx = tape.mul(k, x);
        tape.add(u, kx)
    }
}

/// Poincaré-ball pair quantities: $a_p = 1 - \lVert p\rVert^2$.
fn ball_a<T: Element>(tape: &mut Tape<'_, T>, p: Var) -> (Var, Var) {
    let pp = tape.row_sq(p);
    let m = tape.neg(pp);
    (pp, tape.offset(m, T::one()))
}

/// The ball's $c = \lVert\delta\rVert/\sqrt{a_pa_q}$ (zero subgradient at $p = q$), its smooth
/// square, and $\delta = q - p$, $\lVert\delta\rVert^2$, $a_p$, $a_q$.
fn ball_chord<T: Element>(tape: &mut Tape<'_, T>, p: Var, q: Var) -> [Var; 6] {
    let delta = tape.sub(q, p);
    let dd = tape.row_sq(delta);
    let (_, ap) = ball_a(tape, p);
    let (_, aq) = ball_a(tape, q);
    let apaq = tape.mul(ap, aq);
    let c2 = tape.div(dd, apaq);
    let nd = tape.row_norm(delta);
    let r = tape.sqrt(apaq);
    let c = tape.div(nd, r);
    [c, c2, delta, dd, ap, aq]
}

impl<T: Element> TapeManifold<T> for PoincareBall<T> {
    /// $\exp_p(u) = \frac{2\big((\cosh r + \lambda_pS\operatorname{sinhc}r)\\,p + \operatorname{sinhc}r\\,u\big)}{a_p + (1 + \lVert p\rVert^2)\cosh r + 2\lambda_pS\operatorname{sinhc}r}$
    /// with $r^2 = \lambda_p^2\lVert u\rVert^2$, $S = p\cdot u$: the fused
    /// $\frac{2(\alpha p + \tau u)}{D}$ with numerator and denominator multiplied by $\cosh r$,
    /// so that only `cosh_sqrt` / `sinhc_sqrt` of $r^2$ appear (smooth at $u = 0$).
    fn exp_composite(&self, tape: &mut Tape<'_, T>, p: Var, u: Var) -> Var {
        let (pp, ap) = ball_a(tape, p);
        let ia = tape.recip(ap);
        let lam = tape.scale(ia, T::c(2.0));
        let uu = tape.row_sq(u);
        let l2 = tape.square(lam);
        let y = tape.mul(l2, uu);
        let (ch, sh) = (tape.cosh_sqrt(y), tape.sinhc_sqrt(y));
        let s = tape.row_dot(p, u);
        let ls = tape.mul(lam, s);
        let lss = tape.mul(ls, sh);
        let cp = tape.add(ch, lss);
        let a = tape.mul(cp, p);
        let b = tape.mul(sh, u);
        let num = tape.add(a, b);
        let num = tape.scale(num, T::c(2.0));
        let opp = tape.offset(pp, T::one());
        let t1 = tape.mul(opp, ch);
        let t2 = tape.scale(lss, T::c(2.0));
        let den = tape.add(ap, t1);
        let den = tape.add(den, t2);
        tape.div(num, den)
    }
    /// $\frac{d}{\sinh d}\cdot\frac{a_p\delta - \lVert\delta\rVert^2p}{a_q}$ with
    /// $d = 2\operatorname{arsinh}c$ (the fused $K(c^2)$ is $d/\sinh d$).
    fn log_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let [c, c2, delta, dd, ap, aq] = ball_chord(tape, p, q);
        let a = asinh_nonneg(tape, c, c2);
        let d = tape.scale(a, T::c(2.0));
        let f = x_over_sinh(tape, d);
        let k = tape.div(f, aq);
        let ad = tape.mul(ap, delta);
        let dp = tape.mul(dd, p);
        let v = tape.sub(ad, dp);
        tape.mul(k, v)
    }
    /// $2\operatorname{arsinh}c$, $c = \lVert q - p\rVert/\sqrt{a_pa_q}$.
    fn dist_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let [c, c2, ..] = ball_chord(tape, p, q);
        let a = asinh_nonneg(tape, c, c2);
        tape.scale(a, T::c(2.0))
    }
    /// $\lambda_p^2\\,u\cdot v$.
    fn inner_composite(&self, tape: &mut Tape<'_, T>, p: Var, u: Var, v: Var) -> Var {
        let (_, ap) = ball_a(tape, p);
        let ia = tape.recip(ap);
        let lam = tape.scale(ia, T::c(2.0));
        let l2 = tape.square(lam);
        let uv = tape.row_dot(u, v);
        tape.mul(l2, uv)
    }
    /// The identity.
    fn project_tangent_composite(&self, tape: &mut Tape<'_, T>, _p: Var, u: Var) -> Var {
        tape.scale(u, T::one())
    }
}

/// Columns `[0, da)` and `[da, da + db)` of a product batch.
fn split2<T: Element>(tape: &mut Tape<'_, T>, x: Var, da: usize, db: usize) -> (Var, Var) {
    (tape.slice(x, 0, da), tape.slice(x, da, db))
}

/// Factorwise: slice the columns of each factor, apply its composite, concatenate. The distance
/// is the row norm of $(d_A, d_B)$ (zero subgradient at $d = 0$, like the fused one); inner
/// products add.
impl<T, A, B> TapeManifold<T> for Product<A, B>
where
    T: Element,
    A: TapeManifold<T>,
    B: TapeManifold<T>,
{
    fn exp_composite(&self, tape: &mut Tape<'_, T>, p: Var, v: Var) -> Var {
        let (a, b) = (self.first(), self.second());
        let (da, db) = (a.ambient_dim(), b.ambient_dim());
        let (pa, pb) = split2(tape, p, da, db);
        let (va, vb) = split2(tape, v, da, db);
        let ea = a.exp_composite(tape, pa, va);
        let eb = b.exp_composite(tape, pb, vb);
        tape.concat(ea, eb)
    }
    fn log_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let (a, b) = (self.first(), self.second());
        let (da, db) = (a.ambient_dim(), b.ambient_dim());
        let (pa, pb) = split2(tape, p, da, db);
        let (qa, qb) = split2(tape, q, da, db);
        let la = a.log_composite(tape, pa, qa);
        let lb = b.log_composite(tape, pb, qb);
        tape.concat(la, lb)
    }
    /// $\sqrt{d_A^2 + d_B^2}$ as the row norm of $(d_A, d_B)$.
    fn dist_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let (a, b) = (self.first(), self.second());
        let (da, db) = (a.ambient_dim(), b.ambient_dim());
        let (pa, pb) = split2(tape, p, da, db);
        let (qa, qb) = split2(tape, q, da, db);
        let xa = a.dist_composite(tape, pa, qa);
        let xb = b.dist_composite(tape, pb, qb);
        let both = tape.concat(xa, xb);
        tape.row_norm(both)
    }
    fn inner_composite(&self, tape: &mut Tape<'_, T>, p: Var, u: Var, v: Var) -> Var {
        let (a, b) = (self.first(), self.second());
        let (da, db) = (a.ambient_dim(), b.ambient_dim());
        let (pa, pb) = split2(tape, p, da, db);
        let (ua, ub) = split2(tape, u, da, db);
        let (va, vb) = split2(tape, v, da, db);
        let ia = a.inner_composite(tape, pa, ua, va);
        let ib = b.inner_composite(tape, pb, ub, vb);
        tape.add(ia, ib)
    }
    fn project_tangent_composite(&self, tape: &mut Tape<'_, T>, p: Var, u: Var) -> Var {
        let (a, b) = (self.first(), self.second());
        let (da, db) = (a.ambient_dim(), b.ambient_dim());
        let (pa, pb) = split2(tape, p, da, db);
        let (ua, ub) = split2(tape, u, da, db);
        let xa = a.project_tangent_composite(tape, pa, ua);
        let xb = b.project_tangent_composite(tape, pb, ub);
        tape.concat(xa, xb)
    }
}

/// A `[n, k d]` batch of $M^k$ read as the `[n k, d]` batch of its factor points (one copy,
/// whatever `k`).
#[track_caller]
fn unstack<T: Element>(tape: &mut Tape<'_, T>, x: Var, k: usize, d: usize) -> Var {
    let n = tape.shape(x).0;
    tape.reshape(x, n * k, d)
}

/// The inverse of [`unstack`]: `[n k, c]` read as `[n, k c]`.
fn stack<T: Element>(tape: &mut Tape<'_, T>, x: Var, k: usize) -> Var {
    let (nk, c) = tape.shape(x);
    tape.reshape(x, nk / k, k * c)
}

/// The `k` factors of each row as one batch of `n k` factor points ([`Tape::reshape`]): the
/// factor's composite is recorded once whatever `k`, as the fused batch kernels do. The
/// distance is the row norm of the `[n, k]` factor distances, inner products sum over them.
impl<T: Element, M: TapeManifold<T>> TapeManifold<T> for Power<M> {
    fn exp_composite(&self, tape: &mut Tape<'_, T>, p: Var, v: Var) -> Var {
        let (m, k, d) = (self.factor(), self.k(), self.factor().ambient_dim());
        let (pf, vf) = (unstack(tape, p, k, d), unstack(tape, v, k, d));
        let e = m.exp_composite(tape, pf, vf);
        stack(tape, e, k)
    }
    fn log_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let (m, k, d) = (self.factor(), self.k(), self.factor().ambient_dim());
        let (pf, qf) = (unstack(tape, p, k, d), unstack(tape, q, k, d));
        let l = m.log_composite(tape, pf, qf);
        stack(tape, l, k)
    }
    /// $\sqrt{\sum_i d_i^2}$ as the row norm of the `[n, k]` factor distances.
    fn dist_composite(&self, tape: &mut Tape<'_, T>, p: Var, q: Var) -> Var {
        let (m, k, d) = (self.factor(), self.k(), self.factor().ambient_dim());
        let (pf, qf) = (unstack(tape, p, k, d), unstack(tape, q, k, d));
        let di = m.dist_composite(tape, pf, qf);
        let rows = stack(tape, di, k);
        tape.row_norm(rows)
    }
    fn inner_composite(&self, tape: &mut Tape<'_, T>, p: Var, u: Var, v: Var) -> Var {
        let (m, k, d) = (self.factor(), self.k(), self.factor().ambient_dim());
        let pf = unstack(tape, p, k, d);
        let (uf, vf) = (unstack(tape, u, k, d), unstack(tape, v, k, d));
        let gi = m.inner_composite(tape, pf, uf, vf);
        let rows = stack(tape, gi, k);
        tape.sum_rows(rows)
    }
    fn project_tangent_composite(&self, tape: &mut Tape<'_, T>, p: Var, u: Var) -> Var {
        let (m, k, d) = (self.factor(), self.k(), self.factor().ambient_dim());
        let (pf, uf) = (unstack(tape, p, k, d), unstack(tape, u, k, d));
        let x = m.project_tangent_composite(tape, pf, uf);
        stack(tape, x, k)
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
