//! Law suite for [`Manifold`] implementations (feature `testing`).
//!
//! Every law is a public function that takes the manifold, its inputs (or a seed to draw them
//! from) and a [`Tol`], and returns [`LawResult`] = `Result<(), String>`: `Err` carries a message
//! with the law, the measured error, the bound and the failing inputs. So the laws work both in
//! plain `#[test]`s (`law(..).unwrap()`) and in proptest (`prop_assert!(r.is_ok(), "{}",
//! r.unwrap_err())`). They are generic, so they test your own manifolds too:
//!
//! ```
//! use geoflow_manifolds::{prelude::*, Euclidean, testing::{self, Draw, Tol}};
//! let m = Euclidean::<f64>::new(3)?;
//! for seed in 0..8 {
//!     let draw = Draw::norm(0.5); // tangent vectors of norm 0.5
//!     testing::geometry_laws(&m, seed, &draw, &Tol::of::<f64>()).unwrap();
//!     testing::derivative_laws(&m, seed, &Draw::norm(1e-9), true, true, &Tol::of::<f64>())
//!         .unwrap();
//! }
//! # Ok::<(), ManifoldError>(())
//! ```
//!
//! # Inputs
//!
//! Seeded laws draw from [`rng`] (ChaCha8, so a seed reproduces the inputs on every platform):
//! points with [`Sample::sample_base_into`] ([`random_point`]); tangent vectors by projecting a
//! standard Gaussian ambient vector with [`Manifold::project_tangent_into`] and rescaling it to a
//! chosen Riemannian norm ([`random_tangent`]); nearby points as $\exp_p(w)$. The [`Draw`]
//! passed to the seeded laws sets that norm: use tiny norms ($10^{-12}$ to $10^{-3}$) to
//! exercise the series branches and the singular points, and norms up to a fraction of the
//! injectivity radius ([`max_tangent_norm`]) to exercise the far field; [`log_uniform`] draws
//! norms over such a range. Laws that need a pair inside the injectivity radius skip pairs
//! outside `frac * injectivity_radius()` (documented per law) instead of failing. Manifolds with
//! boundary set [`Draw::stay_inside`].
//!
//! # Capabilities
//!
//! | capability | laws |
//! |---|---|
//! | [`Manifold`] (+ [`Sample`] to draw inputs) | [`geometry_laws`]: [`exp_log_identity`], [`log_exp_identity`], [`dist_is_log_norm`], [`dist_of_exp_is_norm`], [`dist_symmetric`], [`triangle_inequality`], [`geodesic_endpoints`], [`geodesic_constant_speed`], [`projections_idempotent`], [`outputs_valid`]; [`geodesic_velocity_matches_fd`]; [`retraction_order`]; [`batch_matches_loop`] |
//! | [`ParallelTransport`] | [`transport_laws`]: [`transport_isometry`], [`transport_roundtrip`]; [`transport_batch_matches_loop`] |
//! | [`Sample`] | [`samples_valid`], [`sample_batch_matches_loop`], [`sampler_matches_density`] |
//! | [`Differentiable`] | [`derivative_laws`]: [`exp_derivatives`], [`log_derivatives`], [`dist_derivatives`], [`inner_derivatives`], [`project_tangent_derivatives`]; [`singular_point_laws`] |
//! | two precisions | [`f32_matches_f64`] |
//!
//! # Tolerances
//!
//! [`Tol::of`] gives per-precision defaults. Values computed two ways must agree to
//! `rel * scale + abs * (1 + max|p|)`, where `scale` is the size of the compared quantity
//! (`max|v|` for tangent vectors, the distance for distances) and the absolute floor `abs` (a
//! few dozen ulps) absorbs the rounding of the points themselves, which dominates for tangent
//! vectors of norm $10^{-12}$ and for large coordinates (hyperboloid). Points are compared by
//! their geodesic distance, not coordinate by coordinate, so chart seams (a torus angle at
//! $\pm\pi$) do not matter.
//!
//! Finite differences are central differences along $\dot x$ with step
//! `h * (1 + max|x|)` and half of it, combined by Richardson extrapolation; the difference of the
//! two is the truncation estimate `trunc`. The JVP must agree to
//! `fd * max(|J|, |J_fd|) + trunc + 300 eps max|f| / step` (tolerance, truncation, rounding),
//! at the step or at one of three steps 8, 64, 512 times smaller (near a boundary, such as a
//! simplex coordinate of 1e-3, the largest step can be too coarse; a wrong JVP is off at all of
//! them). Across a chart seam the difference of two outputs is taken through $\log$ at the
//! central output. Where the step straddles a singular point ($p = q$ for log and dist,
//! $v = 0$ for exp), a formula need not be differentiable in directions normal to the manifold
//! (norms of off-manifold differences), so the finite-difference check uses the tangent parts of
//! the directions there (the distance check is skipped); duality and finiteness are always
//! checked along the ambient directions, and [`singular_point_laws`] checks the exact
//! derivatives at the singular points. Finite differences are meant for `f64` (in `f32` their
//! own error is about $10^{-3}$).

use crate::{Differentiable, Manifold, ParallelTransport, Real, Sample};
use num_traits::{Float, One, Zero};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use proptest;

/// What every law returns: `Err` holds a description of the failure with the offending values.
pub type LawResult = Result<(), String>;

/// Tolerances of the laws (see the [module docs](self#tolerances)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tol {
    /// Relative tolerance of values computed two ways.
    pub rel: f64,
    /// Absolute floor, multiplied by `1 + max|p|` of the points involved.
    pub abs: f64,
    /// Relative tolerance of finite-difference checks.
    pub fd: f64,
    /// Finite-difference step, multiplied by `1 + max|x|` of the perturbed input.
    pub h: f64,
}

impl Tol {
    /// Defaults for the scalar type: `f64`: `rel = 1e-10`, `abs = 32 eps`, `fd = 1e-6`,
    /// `h = 1e-5`; `f32`: `rel = 5e-5`, `abs = 32 eps`, `fd = 2e-2`, `h = 3e-3`.
    pub fn of<T: Real>() -> Self {
        let eps = T::epsilon().to_f64_lossless();
        Self {
            rel: if T::IS_F64 { 1e-10 } else { 5e-5 },
            abs: 32.0 * eps,
            fd: if T::IS_F64 { 1e-6 } else { 2e-2 },
            h: if T::IS_F64 { 1e-5 } else { 3e-3 },
        }
    }
    /// The same tolerances with `rel`, `abs` and `fd` multiplied by `k` (the step unchanged).
    pub fn scaled(self, k: f64) -> Self {
        Self {
            rel: self.rel * k,
            abs: self.abs * k,
            fd: self.fd * k,
            h: self.h,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// The seeded generator of every law: ChaCha8 from `seed`.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A number drawn log-uniformly from `[lo, hi]` (`0 < lo <= hi`), for tangent norms spanning
/// decades.
pub fn log_uniform<R: Rng + ?Sized>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    let u: f64 = rng.random();
    (lo.ln() + u * (hi.ln() - lo.ln())).exp()
}

/// `frac * injectivity_radius()`, or `cap` when the radius is infinite (or larger than `cap`).
pub fn max_tangent_norm<M: Manifold + ?Sized>(m: &M, frac: f64, cap: f64) -> f64 {
    let inj = m.injectivity_radius().to_f64_lossless();
    (frac * inj).min(cap)
}

/// One point from the base distribution.
pub fn random_point<M: Sample, R: Rng + ?Sized>(m: &M, rng: &mut R) -> Vec<M::Scalar> {
    let mut p = vec![M::Scalar::zero(); m.ambient_dim()];
    m.sample_base_into(rng, &mut p);
    p
}

/// An ambient vector with i.i.d. $\mathcal N(0, \sigma^2)$ entries.
pub fn random_ambient<M: Manifold + ?Sized, R: Rng + ?Sized>(
    m: &M,
    rng: &mut R,
    sigma: f64,
) -> Vec<M::Scalar> {
    (0..m.ambient_dim())
        .map(|_| M::Scalar::standard_normal(rng) * M::Scalar::c(sigma))
        .collect()
}

/// A tangent vector at `p` of Riemannian norm `norm`: a standard Gaussian ambient vector,
/// projected onto $T_pM$ and rescaled (zero if the projection vanishes).
pub fn random_tangent<M: Manifold + ?Sized, R: Rng + ?Sized>(
    m: &M,
    rng: &mut R,
    p: &[M::Scalar],
    norm: f64,
) -> Vec<M::Scalar> {
    let u = random_ambient(m, rng, 1.0);
    let mut v = vec![M::Scalar::zero(); m.ambient_dim()];
    m.project_tangent_into(p, &u, &mut v);
    let r = m.norm(p, &v).to_f64_lossless();
    if r > 0.0 && r.is_finite() {
        // two steps so that tiny norms do not underflow in f32
        let k = M::Scalar::c(norm / r);
        for x in v.iter_mut() {
            *x *= k;
        }
    } else {
        v.iter_mut().for_each(|x| *x = M::Scalar::zero());
    }
    v
}

/// How the seeded laws draw their inputs (see the [module docs](self#inputs)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// Riemannian norm of the drawn tangent vectors, and distance of the nearby points
    /// $q = \exp_p(w)$ from $p$.
    pub norm: f64,
    /// Laws that need a pair inside the injectivity radius use independently sampled pairs only
    /// within `far_frac * injectivity_radius()`.
    pub far_frac: f64,
    /// For manifolds with boundary (orthant, simplex), whose geodesics can leave the domain:
    /// halve each drawn tangent vector $v$ (at most 60 times) until $\exp_p(v)$ passes
    /// `check_point` and $t \mapsto \exp_p(tv)$, $t \in \lbrack 0, 1 \rbrack$, is still minimising
    /// in the loose sense $\lvert d(p, \exp_p v) - \lVert v\rVert\rvert \le 10^{-4}\lVert v\rVert$
    /// (a geodesic that left the domain and was folded back, like the simplex's squared sphere
    /// chart, is shorter than $\lVert v\rVert$). The laws then see only steps inside the domain;
    /// errors between their tolerance and $10^{-4}$ still fail them. `false` (the default)
    /// tests the vectors as drawn.
    pub stay_inside: bool,
}

impl Draw {
    /// Tangent norm `norm`, `far_frac = 0.9`, `stay_inside = false`.
    pub fn norm(norm: f64) -> Self {
        Self {
            norm,
            far_frac: 0.9,
            stay_inside: false,
        }
    }
    /// Draws a tangent vector at `p` of norm `self.norm`, shrunk into the domain when
    /// `stay_inside` is set.
    pub fn tangent<M: Manifold + ?Sized, R: Rng + ?Sized>(
        &self,
        m: &M,
        rng: &mut R,
        p: &[M::Scalar],
    ) -> Vec<M::Scalar> {
        let mut v = random_tangent(m, rng, p, self.norm);
        if self.stay_inside {
            let mut q = vec![M::Scalar::zero(); m.ambient_dim()];
            for _ in 0..60 {
                m.exp_into(p, &v, &mut q);
                let n = m.norm(p, &v).to_f64_lossless();
                let d = m.dist(p, &q).to_f64_lossless();
                if m.check_point(&q).is_ok() && (d - n).abs() <= 1e-4 * n {
                    break;
                }
                v.iter_mut().for_each(|x| *x *= M::Scalar::c(0.5));
            }
        }
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn f<T: Real>(x: T) -> f64 {
    x.to_f64_lossless()
}

fn amax<T: Real>(a: &[T]) -> f64 {
    a.iter().fold(0.0, |m, &x| m.max(f(x).abs()))
}

fn max_diff<T: Real>(a: &[T], b: &[T]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter().zip(b).fold(0.0, |m, (&x, &y)| {
        let d = (f(x) - f(y)).abs();
        if d.is_nan() {
            f64::INFINITY
        } else {
            m.max(d)
        }
    })
}

fn all_finite<T: Real>(a: &[T]) -> bool {
    a.iter().all(|x| x.is_finite())
}

fn dot64<T: Real>(a: &[T], b: &[T]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| f(x) * f(y)).sum()
}

fn zeros<M: Manifold + ?Sized>(m: &M) -> Vec<M::Scalar> {
    vec![M::Scalar::zero(); m.ambient_dim()]
}

/// `Err` unless `err <= bound` (NaN fails), with a message naming the law and the inputs.
fn expect_le(
    law: &str,
    what: &str,
    err: f64,
    bound: f64,
    ctx: impl FnOnce() -> String,
) -> LawResult {
    if err <= bound {
        Ok(())
    } else {
        Err(format!(
            "{law}: {what}: error {err:.3e} exceeds bound {bound:.3e}; {}",
            ctx()
        ))
    }
}

fn expect_vec<T: Real>(
    law: &str,
    what: &str,
    got: &[T],
    want: &[T],
    bound: f64,
    ctx: impl FnOnce() -> String,
) -> LawResult {
    let err = max_diff(got, want);
    expect_le(law, what, err, bound, || {
        format!("got {got:?}, want {want:?}; {}", ctx())
    })
}

/// Compares two points by their geodesic distance (not coordinates, which jump across chart
/// seams such as the torus's ±π).
fn expect_point<M: Manifold + ?Sized>(
    m: &M,
    law: &str,
    what: &str,
    got: &[M::Scalar],
    want: &[M::Scalar],
    bound: f64,
    ctx: impl FnOnce() -> String,
) -> LawResult {
    let err = f(m.dist(got, want));
    let err = if err.is_nan() || !all_finite(got) {
        f64::INFINITY
    } else {
        err
    };
    expect_le(
        law,
        &format!("{what} (geodesic distance)"),
        err,
        bound,
        || format!("got {got:?}, want {want:?}; {}", ctx()),
    )
}

/// Central difference `(a - b) / h2` of two outputs of a point-valued function, unless a
/// coordinate jumps by far more than the derivative allows (a chart seam, such as the torus's
/// ±π): then `(log_c a - log_c b) / h2` at the central output `c`, which equals the central
/// difference up to $O(h^2)$ on the manifold.
fn central_diff<M: Manifold + ?Sized>(
    m: &M,
    a: &[M::Scalar],
    b: &[M::Scalar],
    c: &[M::Scalar],
    h2: f64,
    jscale: f64,
) -> Vec<f64> {
    let seam = a
        .iter()
        .zip(b)
        .any(|(&x, &y)| (f(x) - f(y)).abs() > 50.0 * h2 * jscale.max(1.0));
    if seam {
        let (mut la, mut lb) = (zeros(m), zeros(m));
        m.log_into(c, a, &mut la);
        m.log_into(c, b, &mut lb);
        la.iter()
            .zip(&lb)
            .map(|(&x, &y)| (f(x) - f(y)) / h2)
            .collect()
    } else {
        a.iter().zip(b).map(|(&x, &y)| (f(x) - f(y)) / h2).collect()
    }
}

fn finite_or<T: Real>(law: &str, what: &str, x: &[T], ctx: impl FnOnce() -> String) -> LawResult {
    if all_finite(x) {
        Ok(())
    } else {
        Err(format!("{law}: {what} is not finite: {x:?}; {}", ctx()))
    }
}

fn valid<E: core::fmt::Display>(
    law: &str,
    what: &str,
    r: Result<(), E>,
    ctx: impl FnOnce() -> String,
) -> LawResult {
    r.map_err(|e| format!("{law}: {what} fails its check: {e}; {}", ctx()))
}

fn inside<M: Manifold + ?Sized>(m: &M, d: f64, frac: f64) -> bool {
    d < frac * f(m.injectivity_radius())
}

// ---------------------------------------------------------------------------------------------
// Geometry (Manifold)

/// $\exp_p(\log_p q) = q$. Skipped (Ok) unless $d(p, q) < 0.99\\,\operatorname{inj}$.
pub fn exp_log_identity<M: Manifold + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    tol: &Tol,
) -> LawResult {
    if !inside(m, f(m.dist(p, q)), 0.99) {
        return Ok(());
    }
    let (mut v, mut q2) = (zeros(m), zeros(m));
    m.log_into(p, q, &mut v);
    m.exp_into(p, &v, &mut q2);
    let bound = tol.rel * (1.0 + f(m.dist(p, q))) + tol.abs * (1.0 + amax(p).max(amax(q)));
    expect_point(
        m,
        "exp∘log = id",
        "exp_p(log_p q) vs q",
        &q2,
        q,
        bound,
        || format!("p = {p:?}, q = {q:?}, log_p q = {v:?}"),
    )
}

/// $\log_p(\exp_p v) = v$. Skipped (Ok) unless $\lVert v\rVert < 0.99\\,\operatorname{inj}$.
pub fn log_exp_identity<M: Manifold + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    v: &[M::Scalar],
    tol: &Tol,
) -> LawResult {
    if !inside(m, f(m.norm(p, v)), 0.99) {
        return Ok(());
    }
    let (mut q, mut v2) = (zeros(m), zeros(m));
    m.exp_into(p, v, &mut q);
    m.log_into(p, &q, &mut v2);
    let bound = tol.rel * amax(v) + tol.abs * (1.0 + amax(p));
    expect_vec(
        "log∘exp = id",
        "log_p(exp_p v) vs v",
        &v2,
        v,
        bound,
        || format!("p = {p:?}, v = {v:?}, exp_p v = {q:?}"),
    )
}

/// $d(p, q) = \lVert \log_p q\rVert_p$ (any pair; at the cut locus `log_into`'s choice has
/// length $d$ too).
pub fn dist_is_log_norm<M: Manifold + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    tol: &Tol,
) -> LawResult {
    let mut v = zeros(m);
    m.log_into(p, q, &mut v);
    let (d, n) = (f(m.dist(p, q)), f(m.norm(p, &v)));
    let bound = tol.rel * d + tol.abs * (1.0 + amax(p));
    expect_le(
        "dist = ‖log‖",
        "d(p, q) vs ‖log_p q‖",
        (d - n).abs(),
        bound,
        || format!("d = {d:e}, ‖log‖ = {n:e}, p = {p:?}, q = {q:?}"),
    )
}

/// $d(p, \exp_p v) = \lVert v\rVert_p$. Skipped (Ok) unless $\lVert v\rVert < 0.99\\,\operatorname{inj}$.
pub fn dist_of_exp_is_norm<M: Manifold + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    v: &[M::Scalar],
    tol: &Tol,
) -> LawResult {
    let n = f(m.norm(p, v));
    if !inside(m, n, 0.99) {
        return Ok(());
    }
    let mut q = zeros(m);
    m.exp_into(p, v, &mut q);
    let d = f(m.dist(p, &q));
    let bound = tol.rel * n + tol.abs * (1.0 + amax(p));
    expect_le(
        "d(p, exp v) = ‖v‖",
        "distance vs norm",
        (d - n).abs(),
        bound,
        || format!("d = {d:e}, ‖v‖ = {n:e}, p = {p:?}, v = {v:?}"),
    )
}

/// $d(p, q) = d(q, p)$ and $d(p, p) \approx 0$.
pub fn dist_symmetric<M: Manifold + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    tol: &Tol,
) -> LawResult {
    let (a, b) = (f(m.dist(p, q)), f(m.dist(q, p)));
    let scale = 1.0 + amax(p).max(amax(q));
    expect_le(
        "symmetry",
        "d(p, q) vs d(q, p)",
        (a - b).abs(),
        tol.rel * a + tol.abs * scale,
        || format!("d(p, q) = {a:e}, d(q, p) = {b:e}, p = {p:?}, q = {q:?}"),
    )?;
    let z = f(m.dist(p, p));
    expect_le("d(p, p) = 0", "d(p, p)", z.abs(), tol.abs * scale, || {
        format!("p = {p:?}")
    })
}

/// $d(p, r) \le d(p, q) + d(q, r)$.
pub fn triangle_inequality<M: Manifold + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    r: &[M::Scalar],
    tol: &Tol,
) -> LawResult {
    let (pr, pq, qr) = (f(m.dist(p, r)), f(m.dist(p, q)), f(m.dist(q, r)));
    let scale = 1.0 + amax(p).max(amax(q)).max(amax(r));
    expect_le(
        "triangle inequality",
        "d(p, r) - d(p, q) - d(q, r)",
        pr - pq - qr,
        tol.rel * pr + tol.abs * scale,
        || {
            format!("d(p,r) = {pr:e}, d(p,q) = {pq:e}, d(q,r) = {qr:e}; p = {p:?}, q = {q:?}, r = {r:?}")
        },
    )
}

/// $\gamma(0) = p$ and $\gamma(1) = q$. Skipped (Ok) unless $d(p, q) < 0.99\\,\operatorname{inj}$.
pub fn geodesic_endpoints<M: Manifold + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    tol: &Tol,
) -> LawResult {
    if !inside(m, f(m.dist(p, q)), 0.99) {
        return Ok(());
    }
    let mut g = zeros(m);
    let bound = tol.rel * (1.0 + f(m.dist(p, q))) + tol.abs * (1.0 + amax(p).max(amax(q)));
    m.geodesic_into(p, q, M::Scalar::zero(), &mut g);
    expect_point(m, "geodesic endpoints", "γ(0) vs p", &g, p, bound, || {
        format!("p = {p:?}, q = {q:?}")
    })?;
    m.geodesic_into(p, q, M::Scalar::one(), &mut g);
    expect_point(m, "geodesic endpoints", "γ(1) vs q", &g, q, bound, || {
        format!("p = {p:?}, q = {q:?}")
    })
}

/// $\lVert\dot\gamma(t)\rVert_{\gamma(t)} = d(p, q)$ and $\dot\gamma(t) \in T_{\gamma(t)}M$.
/// Skipped (Ok) unless $d(p, q) < 0.99\\,\operatorname{inj}$.
pub fn geodesic_constant_speed<M: Manifold + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    t: M::Scalar,
    tol: &Tol,
) -> LawResult {
    let d = f(m.dist(p, q));
    if !inside(m, d, 0.99) {
        return Ok(());
    }
    let (mut g, mut v) = (zeros(m), zeros(m));
    m.geodesic_into(p, q, t, &mut g);
    m.geodesic_velocity_into(p, q, t, &mut v);
    let s = f(m.norm(&g, &v));
    let ctx = || format!("t = {t}, p = {p:?}, q = {q:?}, γ(t) = {g:?}, γ'(t) = {v:?}");
    expect_le(
        "constant speed",
        "‖γ'(t)‖ vs d(p, q)",
        (s - d).abs(),
        tol.rel * d + tol.abs * (1.0 + amax(p).max(amax(q))),
        || format!("‖γ'‖ = {s:e}, d = {d:e}; {}", ctx()),
    )?;
    valid("constant speed", "γ(t)", m.check_point(&g), ctx)?;
    valid("constant speed", "γ'(t)", m.check_tangent(&g, &v), ctx)
}

/// $\dot\gamma(t)$ matches the central difference $(\gamma(t+h) - \gamma(t-h)) / 2h$ (meant for
/// `f64`; see the [module docs](self#tolerances)). Across a chart seam (a coordinate that jumps,
/// such as a torus angle wrapping at ±π) the difference is taken as
/// $\log_{\gamma(t)}\gamma(t+h) - \log_{\gamma(t)}\gamma(t-h)$ instead. Skipped (Ok) unless
/// $d(p, q) < 0.95\\,\operatorname{inj}$.
pub fn geodesic_velocity_matches_fd<M: Manifold + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    t: M::Scalar,
    tol: &Tol,
) -> LawResult {
    if !inside(m, f(m.dist(p, q)), 0.95) {
        return Ok(());
    }
    let h = tol.h;
    let mut v = zeros(m);
    m.geodesic_velocity_into(p, q, t, &mut v);
    let mut c = zeros(m);
    m.geodesic_into(p, q, t, &mut c);
    let fd = richardson(
        h,
        |s| {
            let mut o = zeros(m);
            m.geodesic_into(p, q, M::Scalar::c(f(t) + s), &mut o);
            o
        },
        |a, b, h2| central_diff(m, a, b, &c, h2, amax(&v)),
    );
    expect_fd::<M::Scalar>("velocity = FD of geodesic", &v, &fd, h, tol, || {
        format!("t = {t}, p = {p:?}, q = {q:?}")
    })
}

/// Both projections are idempotent and land on the manifold / in the tangent space, and both fix
/// what is already there: with `x` an ambient point near the manifold, `p` a point and `u` an
/// ambient vector, $\pi(\pi(x)) = \pi(x)$, $\pi(p) = p$, $P_p(P_p u) = P_p u$.
pub fn projections_idempotent<M: Manifold + ?Sized>(
    m: &M,
    x: &[M::Scalar],
    p: &[M::Scalar],
    u: &[M::Scalar],
    tol: &Tol,
) -> LawResult {
    let law = "projections idempotent";
    let (mut a, mut b) = (zeros(m), zeros(m));
    m.project_point_into(x, &mut a);
    valid(law, "π(x)", m.check_point(&a), || {
        format!("x = {x:?}, π(x) = {a:?}")
    })?;
    m.project_point_into(&a, &mut b);
    let bound = tol.rel + tol.abs * (1.0 + amax(&a));
    expect_point(m, law, "π(π(x)) vs π(x)", &b, &a, bound, || {
        format!("x = {x:?}")
    })?;
    m.project_point_into(p, &mut b);
    let bound = tol.rel + tol.abs * (1.0 + amax(p));
    expect_point(m, law, "π(p) vs p", &b, p, bound, || format!("p = {p:?}"))?;
    m.project_tangent_into(p, u, &mut a);
    valid(law, "P_p u", m.check_tangent(p, &a), || {
        format!("p = {p:?}, u = {u:?}, P_p u = {a:?}")
    })?;
    m.project_tangent_into(p, &a, &mut b);
    let bound = tol.rel * amax(&a) + tol.abs * (1.0 + amax(p)) * amax(u).max(1e-300);
    expect_vec(law, "P_p(P_p u) vs P_p u", &b, &a, bound, || {
        format!("p = {p:?}, u = {u:?}")
    })
}

/// The outputs of exp, log, geodesic, velocity and retraction pass `check_point` /
/// `check_tangent` (for $\lVert v\rVert$ and $d(p, q)$ within the manifold's documented domain).
pub fn outputs_valid<M: Manifold + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    v: &[M::Scalar],
    t: M::Scalar,
) -> LawResult {
    let law = "outputs valid";
    let ctx = || format!("p = {p:?}, q = {q:?}, v = {v:?}, t = {t}");
    valid(law, "input p", m.check_point(p), ctx)?;
    valid(law, "input q", m.check_point(q), ctx)?;
    valid(law, "input v", m.check_tangent(p, v), ctx)?;
    let (mut a, mut b) = (zeros(m), zeros(m));
    m.exp_into(p, v, &mut a);
    valid(law, "exp_p v", m.check_point(&a), ctx)?;
    m.retract_into(p, v, &mut a);
    valid(law, "R_p v", m.check_point(&a), ctx)?;
    m.log_into(p, q, &mut a);
    valid(law, "log_p q", m.check_tangent(p, &a), ctx)?;
    m.geodesic_into(p, q, t, &mut a);
    valid(law, "γ(t)", m.check_point(&a), ctx)?;
    m.geodesic_velocity_into(p, q, t, &mut b);
    valid(law, "γ'(t)", m.check_tangent(&a, &b), ctx)
}

/// Convergence order of the retraction: the log–log slope of
/// $e(t) = d(R_p(tv), \exp_p(tv))$ over $t = 2^{-k}$, $k = 0, \dots, 9$, is at least
/// `min_slope`. A retraction (first order by definition: $DR_p(0) = \mathrm{id}$) has
/// $e(t) = O(t^2)$, slope 2; a second-order retraction has $e(t) = O(t^3)$, slope 3; pass a
/// little less (e.g. 1.8 or 2.8) for the fit. Errors at the rounding floor are dropped; if fewer
/// than three remain, the retraction equals exp to rounding and the law holds. Choose $v$ with
/// $\lVert v\rVert$ below the injectivity radius.
pub fn retraction_order<M: Manifold + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    v: &[M::Scalar],
    min_slope: f64,
) -> LawResult {
    let floor = 1e3 * f(M::Scalar::epsilon()) * (1.0 + amax(p));
    let (mut r, mut e, mut tv) = (zeros(m), zeros(m), zeros(m));
    let mut pts = Vec::new();
    for k in 0..10 {
        let t = 0.5f64.powi(k);
        for (o, &x) in tv.iter_mut().zip(v) {
            *o = x * M::Scalar::c(t);
        }
        m.retract_into(p, &tv, &mut r);
        m.exp_into(p, &tv, &mut e);
        let err = f(m.dist(&r, &e));
        if !err.is_finite() {
            return Err(format!(
                "retraction order: non-finite error at t = {t}; p = {p:?}, v = {v:?}"
            ));
        }
        if err > floor {
            pts.push((t.ln(), err.ln()));
        }
    }
    if pts.len() < 3 {
        return Ok(());
    }
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|a| a.0).sum::<f64>() / n,
        pts.iter().map(|a| a.1).sum::<f64>() / n,
    );
    let sxy: f64 = pts.iter().map(|a| (a.0 - mx) * (a.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|a| (a.0 - mx) * (a.0 - mx)).sum();
    let slope = sxy / sxx;
    if slope >= min_slope {
        Ok(())
    } else {
        Err(format!(
            "retraction order: log–log slope {slope:.3} < {min_slope}; (ln t, ln e) = {pts:?}; p = {p:?}, v = {v:?}"
        ))
    }
}

/// Every batch method of [`Manifold`] equals the row-wise loop of its kernel, on `n` rows drawn
/// from `seed` (points, nearby points at tangent norm `norm`, tangent vectors, one `t` per row),
/// and `check_point_batch` accepts the points.
pub fn batch_matches_loop<M: Sample>(
    m: &M,
    seed: u64,
    n: usize,
    draw: &Draw,
    tol: &Tol,
) -> LawResult {
    let d = m.ambient_dim();
    let mut g = rng(seed);
    let (mut ps, mut qs, mut vs, mut us, mut ts) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let p = random_point(m, &mut g);
        let v = draw.tangent(m, &mut g, &p);
        let u = random_tangent(m, &mut g, &p, 1.0);
        let mut q = zeros(m);
        m.exp_into(&p, &draw.tangent(m, &mut g, &p), &mut q);
        ps.extend_from_slice(&p);
        qs.extend_from_slice(&q);
        vs.extend_from_slice(&v);
        us.extend_from_slice(&u);
        ts.push(M::Scalar::uniform01(&mut g));
    }
    let law = "batch = loop";
    let mut out = vec![M::Scalar::zero(); n * d];
    let mut row = zeros(m);
    let mut s = vec![M::Scalar::zero(); n];
    let bound = |x: &[M::Scalar]| tol.rel * (1.0 + amax(x)) + tol.abs * (1.0 + amax(&ps));
    type Rowwise<'a, T> = &'a dyn Fn(usize, &mut [T]);
    let check = |what: &str, out: &[M::Scalar], f_row: Rowwise<'_, M::Scalar>| -> LawResult {
        let mut row = vec![M::Scalar::zero(); d];
        for i in 0..n {
            f_row(i, &mut row);
            expect_vec(
                law,
                what,
                &out[i * d..(i + 1) * d],
                &row,
                bound(&row),
                || format!("row {i} of {n}, seed {seed}"),
            )?;
        }
        Ok(())
    };
    let r = |i: usize| i * d..(i + 1) * d;
    m.exp_batch_into(&ps, &vs, &mut out);
    check("exp", &out, &|i, o| m.exp_into(&ps[r(i)], &vs[r(i)], o))?;
    m.log_batch_into(&ps, &qs, &mut out);
    check("log", &out, &|i, o| m.log_into(&ps[r(i)], &qs[r(i)], o))?;
    m.retract_batch_into(&ps, &vs, &mut out);
    check("retract", &out, &|i, o| {
        m.retract_into(&ps[r(i)], &vs[r(i)], o)
    })?;
    m.geodesic_batch_into(&ps, &qs, &ts, &mut out);
    check("geodesic", &out, &|i, o| {
        m.geodesic_into(&ps[r(i)], &qs[r(i)], ts[i], o)
    })?;
    m.geodesic_velocity_batch_into(&ps, &qs, &ts, &mut out);
    check("geodesic velocity", &out, &|i, o| {
        m.geodesic_velocity_into(&ps[r(i)], &qs[r(i)], ts[i], o)
    })?;
    let mut vel = vec![M::Scalar::zero(); n * d];
    m.geodesic_with_velocity_batch_into(&ps, &qs, &ts, &mut out, &mut vel);
    check("geodesic_with_velocity (point)", &out, &|i, o| {
        m.geodesic_into(&ps[r(i)], &qs[r(i)], ts[i], o)
    })?;
    check("geodesic_with_velocity (velocity)", &vel, &|i, o| {
        m.geodesic_velocity_into(&ps[r(i)], &qs[r(i)], ts[i], o)
    })?;
    let (mut gp, mut gv, mut want) = (zeros(m), zeros(m), zeros(m));
    m.geodesic_with_velocity_into(&ps[r(0)], &qs[r(0)], ts[0], &mut gp, &mut gv);
    m.geodesic_velocity_into(&ps[r(0)], &qs[r(0)], ts[0], &mut want);
    expect_vec(
        law,
        "geodesic_with_velocity_into",
        &gv,
        &want,
        bound(&want),
        || format!("row 0 of {n}, seed {seed}"),
    )?;
    m.project_point_batch_into(&qs, &mut out);
    check("project_point", &out, &|i, o| {
        m.project_point_into(&qs[r(i)], o)
    })?;
    m.project_tangent_batch_into(&ps, &us, &mut out);
    check("project_tangent", &out, &|i, o| {
        m.project_tangent_into(&ps[r(i)], &us[r(i)], o)
    })?;
    type ScalarOp<'a, T> = (&'a str, &'a dyn Fn(&mut [T]), &'a dyn Fn(usize) -> T);
    let scalars: [ScalarOp<'_, M::Scalar>; 3] = [
        ("dist", &|s| m.dist_batch_into(&ps, &qs, s), &|i| {
            m.dist(&ps[r(i)], &qs[r(i)])
        }),
        ("inner", &|s| m.inner_batch_into(&ps, &us, &vs, s), &|i| {
            m.inner(&ps[r(i)], &us[r(i)], &vs[r(i)])
        }),
        ("norm", &|s| m.norm_batch_into(&ps, &us, s), &|i| {
            m.norm(&ps[r(i)], &us[r(i)])
        }),
    ];
    for (what, batch, one) in scalars {
        batch(&mut s);
        for i in 0..n {
            row[0] = one(i);
            expect_vec(law, what, &s[i..i + 1], &row[..1], bound(&row[..1]), || {
                format!("row {i} of {n}, seed {seed}")
            })?;
        }
    }
    m.check_point_batch(&ps)
        .map_err(|(i, e)| format!("{law}: check_point_batch rejects row {i}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Transport

/// Parallel transport is an isometry, $g_q(P u, P v) = g_p(u, v)$, and lands in $T_qM$.
/// Skipped (Ok) unless $d(p, q) < 0.99\\,\operatorname{inj}$.
pub fn transport_isometry<M: ParallelTransport + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    u: &[M::Scalar],
    v: &[M::Scalar],
    tol: &Tol,
) -> LawResult {
    if !inside(m, f(m.dist(p, q)), 0.99) {
        return Ok(());
    }
    let law = "transport isometry";
    let (mut a, mut b) = (zeros(m), zeros(m));
    m.transport_into(p, q, u, &mut a);
    m.transport_into(p, q, v, &mut b);
    let ctx = || format!("p = {p:?}, q = {q:?}, u = {u:?}, v = {v:?}");
    valid(law, "P u", m.check_tangent(q, &a), ctx)?;
    let (x, y) = (f(m.inner(p, u, v)), f(m.inner(q, &a, &b)));
    // the metric may cancel (Lorentz): scale by the ambient products too
    let amb: f64 = u
        .iter()
        .zip(v)
        .map(|(&a, &b)| (f(a) * f(b)).abs())
        .sum::<f64>()
        + a.iter()
            .zip(&b)
            .map(|(&x, &y)| (f(x) * f(y)).abs())
            .sum::<f64>();
    let scale = (f(m.norm(p, u)) * f(m.norm(p, v))).max(amb);
    expect_le(
        law,
        "g_q(Pu, Pv) vs g_p(u, v)",
        (x - y).abs(),
        (tol.rel + tol.abs) * scale,
        || format!("g_p = {x:e}, g_q = {y:e}; {}", ctx()),
    )
}

/// Transporting back gives the vector back: $P_{q\to p}P_{p\to q} v = v$.
/// Skipped (Ok) unless $d(p, q) < 0.99\\,\operatorname{inj}$.
pub fn transport_roundtrip<M: ParallelTransport + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    v: &[M::Scalar],
    tol: &Tol,
) -> LawResult {
    if !inside(m, f(m.dist(p, q)), 0.99) {
        return Ok(());
    }
    let (mut a, mut b) = (zeros(m), zeros(m));
    m.transport_into(p, q, v, &mut a);
    m.transport_into(q, p, &a, &mut b);
    let bound = (tol.rel + tol.abs * (1.0 + amax(p).max(amax(q)))) * amax(v);
    expect_vec(
        "transport back = id",
        "P_{q→p} P_{p→q} v vs v",
        &b,
        v,
        bound,
        || format!("p = {p:?}, q = {q:?}, v = {v:?}"),
    )
}

/// `transport_batch_into` equals the row-wise loop.
pub fn transport_batch_matches_loop<M: ParallelTransport + Sample>(
    m: &M,
    seed: u64,
    n: usize,
    draw: &Draw,
    tol: &Tol,
) -> LawResult {
    let d = m.ambient_dim();
    let mut g = rng(seed);
    let (mut ps, mut qs, mut vs) = (vec![], vec![], vec![]);
    for _ in 0..n {
        let p = random_point(m, &mut g);
        let mut q = zeros(m);
        m.exp_into(&p, &draw.tangent(m, &mut g, &p), &mut q);
        vs.extend(random_tangent(m, &mut g, &p, 1.0));
        ps.extend(p);
        qs.extend(q);
    }
    let mut out = vec![M::Scalar::zero(); n * d];
    m.transport_batch_into(&ps, &qs, &vs, &mut out);
    let mut row = zeros(m);
    for i in 0..n {
        let r = i * d..(i + 1) * d;
        m.transport_into(&ps[r.clone()], &qs[r.clone()], &vs[r.clone()], &mut row);
        let bound = tol.rel * (1.0 + amax(&row)) + tol.abs * (1.0 + amax(&ps[r.clone()]));
        expect_vec("batch = loop", "transport", &out[r], &row, bound, || {
            format!("row {i} of {n}, seed {seed}")
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Sampling

/// `n` draws from the seeded sampler pass `check_point` and have a finite log-density.
pub fn samples_valid<M: Sample>(m: &M, seed: u64, n: usize) -> LawResult {
    let mut g = rng(seed);
    for i in 0..n {
        let p = random_point(m, &mut g);
        valid("samples valid", "sample", m.check_point(&p), || {
            format!("draw {i}, seed {seed}: {p:?}")
        })?;
        let l = m.base_log_density(&p);
        if !l.is_finite() {
            return Err(format!(
                "samples valid: log-density {l} at draw {i}, seed {seed}: {p:?}"
            ));
        }
    }
    Ok(())
}

/// `sample_base_batch_into` draws exactly what the loop of `sample_base_into` draws from the
/// same seed (the trait's documented sequential order).
pub fn sample_batch_matches_loop<M: Sample>(m: &M, seed: u64, n: usize) -> LawResult {
    let d = m.ambient_dim();
    let mut out = vec![M::Scalar::zero(); n * d];
    m.sample_base_batch_into(&mut rng(seed), &mut out);
    let mut g = rng(seed);
    for i in 0..n {
        let p = random_point(m, &mut g);
        if out[i * d..(i + 1) * d] != p[..] {
            return Err(format!(
                "sample batch = loop: row {i} of {n} (seed {seed}) is {:?}, the loop drew {p:?}",
                &out[i * d..(i + 1) * d]
            ));
        }
    }
    Ok(())
}

/// Settings of [`sampler_matches_density`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DensityCheck {
    /// Number of samples $N$.
    pub samples: usize,
    /// Number of ball centres $J$.
    pub centres: usize,
    /// Geodesic radius $r$ of the balls.
    pub radius: f64,
    /// Riemannian volume of a geodesic ball of radius $r$ (see [`ball_volume_flat`] and
    /// [`ball_volume_constant_curvature`]).
    pub ball_volume: f64,
    /// Allowed relative bias, for the $O(r^2)$ terms that the expansion leaves.
    pub bias: f64,
    /// Allowed statistical error in standard deviations.
    pub sigmas: f64,
}

/// Checks the sampler against `base_log_density` by counting samples in small geodesic balls.
///
/// Draw centres $c_1, \dots, c_J$ and samples $x_1, \dots, x_N$ from the sampler, independently.
/// For a ball $B(c, r)$, $P(x \in B) = \int_B p \\, d\mathrm{vol} = p(c)\\,\mathrm{vol}\\,B(c, r)
/// \\,(1 + O(r^2))$, so the total count $H = \sum_i k_i$, with $k_i$ the number of balls that
/// contain $x_i$, has mean $N \sum_j p(c_j)\\,V(r)$ up to $O(r^2)$. The $k_i$ are i.i.d., so
/// the standard deviation of $H$ is estimated without assumptions as $\sqrt{N}$ times their
/// sample standard deviation. The law holds if
/// $\lvert H - N\sum_j p(c_j) V(r)\rvert \le \text{sigmas}\\,\hat\sigma_H + \text{bias}\\,N\sum_j p(c_j)V(r)$.
///
/// Why this is sound and not circular: the count uses only the sampler and the distance, the
/// prediction only the density and the volume of a ball, so a wrong normalising constant, a
/// wrong shape or a sampler from another distribution all show. Drawing the centres from $p$
/// itself also cancels the $O(r^2)$ density-variation term on average: it is proportional to
/// $\Delta p(c)/p(c)$, whose mean under $p$ is $\int \Delta p\\, d\mathrm{vol} = 0$. What remains
/// is the ball-volume error, zero when [`DensityCheck::ball_volume`] is exact (constant
/// curvature, [`ball_volume_constant_curvature`]), and boundary effects for balls that leave a
/// manifold with boundary. Use small $r$ with enough samples that each ball holds hundreds of
/// them; in dimension above about 4 the balls get too thin to be practical.
pub fn sampler_matches_density<M: Sample>(m: &M, seed: u64, check: &DensityCheck) -> LawResult {
    let mut g = rng(seed);
    let centres: Vec<Vec<M::Scalar>> = (0..check.centres)
        .map(|_| random_point(m, &mut g))
        .collect();
    let want_p: f64 = centres
        .iter()
        .map(|c| f(m.base_log_density(c)).exp())
        .sum::<f64>()
        * check.ball_volume;
    let mut x = zeros(m);
    let (mut sum, mut sum2) = (0.0f64, 0.0f64);
    for _ in 0..check.samples {
        m.sample_base_into(&mut g, &mut x);
        let k = centres
            .iter()
            .filter(|c| f(m.dist(c, &x)) < check.radius)
            .count() as f64;
        sum += k;
        sum2 += k * k;
    }
    let n = check.samples as f64;
    let mean = sum / n;
    let var = (sum2 / n - mean * mean).max(0.0) * n / (n - 1.0).max(1.0);
    let sigma = (n * var).sqrt().max(1.0);
    let want = n * want_p;
    let err = (sum - want).abs();
    let bound = check.sigmas * sigma + check.bias * want;
    expect_le("sampler matches density", "ball counts", err, bound, || {
        format!(
            "counted {sum} samples in {} balls of radius {}, density predicts {want:.1} (σ ≈ {sigma:.1}); seed {seed}",
            check.centres, check.radius
        )
    })
}

/// Volume of the Euclidean ball of radius $r$ in $\mathbb R^n$:
/// $\pi^{n/2} r^n / \Gamma(n/2 + 1)$.
pub fn ball_volume_flat(n: usize, r: f64) -> f64 {
    // V_n = V_{n-2} 2π / n, V_0 = 1, V_1 = 2
    let mut v = if n % 2 == 0 { 1.0 } else { 2.0 };
    let mut k = if n % 2 == 0 { 2 } else { 3 };
    while k <= n {
        v *= 2.0 * core::f64::consts::PI / k as f64;
        k += 2;
    }
    v * r.powi(n as i32)
}

/// Volume of a geodesic ball of radius $r$ in the $n$-dimensional space form of curvature $K$:
/// $\lvert S^{n-1}\rvert \int_0^r \operatorname{sn}_K(s)^{n-1} ds$ with
/// $\operatorname{sn}_K(s) = \sin(\sqrt K s)/\sqrt K$ ($K > 0$), $s$ ($K = 0$),
/// $\sinh(\sqrt{-K} s)/\sqrt{-K}$ ($K < 0$); Simpson's rule on 2000 intervals.
pub fn ball_volume_constant_curvature(n: usize, k: f64, r: f64) -> f64 {
    let area = n as f64 * ball_volume_flat(n, 1.0);
    let sn = |s: f64| {
        if k > 0.0 {
            (k.sqrt() * s).sin() / k.sqrt()
        } else if k < 0.0 {
            ((-k).sqrt() * s).sinh() / (-k).sqrt()
        } else {
            s
        }
    };
    let m = 2000;
    let h = r / m as f64;
    let mut acc = 0.0;
    for i in 0..=m {
        let w = if i == 0 || i == m {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        acc += w * sn(i as f64 * h).powi(n as i32 - 1);
    }
    area * acc * h / 3.0
}

// ---------------------------------------------------------------------------------------------
// Derivatives

fn add_scaled<T: Real>(x: &[T], dx: &[T], h: f64) -> Vec<T> {
    x.iter()
        .zip(dx)
        .map(|(&a, &b)| T::c(f(a) + h * f(b)))
        .collect()
}

fn step<T: Real>(tol: &Tol, xs: &[&[T]]) -> f64 {
    tol.h * (1.0 + xs.iter().fold(0.0f64, |m, x| m.max(amax(x))))
}

/// A finite-difference estimate of a directional derivative.
struct Fd {
    /// Richardson extrapolation $(4 D(h/2) - D(h)) / 3$ of the central differences $D$.
    r: Vec<f64>,
    /// $\max_i \lvert D(h)_i - D(h/2)_i\rvert$: three times the truncation error of $D(h/2)$,
    /// a generous bound on that of `r`.
    trunc: f64,
    /// Largest output magnitude (for the rounding error of the differences).
    fmax: f64,
}

/// Richardson-extrapolated central differences ([`richardson_at`]) for the steps
/// $h, h/8, h/64, h/512$: near a boundary or a strongly curved region the largest step may be
/// too coarse, and [`expect_fd`] accepts the JVP if it matches at any of them (a wrong JVP is
/// off at every step).
fn richardson<T: Real>(
    h: f64,
    eval: impl Fn(f64) -> Vec<T>,
    diff: impl Fn(&[T], &[T], f64) -> Vec<f64>,
) -> Vec<(f64, Fd)> {
    (0..4)
        .map(|k| {
            let hk = h * 0.125f64.powi(k);
            (hk, richardson_at(hk, &eval, &diff))
        })
        .collect()
}

/// Central differences of `eval(s)` (the function at $x + s\dot x$) with steps `h` and `h/2`,
/// combined by Richardson extrapolation; `diff(a, b, 2s)` forms one central difference.
fn richardson_at<T: Real>(
    h: f64,
    eval: impl Fn(f64) -> Vec<T>,
    diff: impl Fn(&[T], &[T], f64) -> Vec<f64>,
) -> Fd {
    let (a1, b1) = (eval(h), eval(-h));
    let (a2, b2) = (eval(0.5 * h), eval(-0.5 * h));
    let fmax = [&a1, &b1, &a2, &b2]
        .iter()
        .fold(0.0f64, |m, x| m.max(amax(x)));
    let (d1, d2) = (diff(&a1, &b1, 2.0 * h), diff(&a2, &b2, h));
    let r = d1
        .iter()
        .zip(&d2)
        .map(|(&x, &y)| (4.0 * y - x) / 3.0)
        .collect();
    let trunc = d1
        .iter()
        .zip(&d2)
        .fold(0.0f64, |m, (&x, &y)| m.max((x - y).abs()));
    Fd { r, trunc, fmax }
}

fn plain_diff<T: Real>(a: &[T], b: &[T], h2: f64) -> Vec<f64> {
    a.iter().zip(b).map(|(&x, &y)| (f(x) - f(y)) / h2).collect()
}

/// `JVP ≈ FD` up to `fd * max(|J|, |R|)`, the estimated truncation error and the rounding
/// error of the differences, at one of the steps of [`richardson`].
fn expect_fd<T: Real>(
    law: &str,
    jvp: &[T],
    fds: &[(f64, Fd)],
    _h: f64,
    tol: &Tol,
    ctx: impl FnOnce() -> String,
) -> LawResult {
    let j: Vec<f64> = jvp.iter().map(|&x| f(x)).collect();
    let mut worst: Option<(f64, f64, f64, &Fd)> = None;
    for (h, fd) in fds {
        let bound =
            tol.fd * amax(&j).max(amax(&fd.r)) + fd.trunc + 300.0 * f(T::epsilon()) * fd.fmax / h;
        let err = max_diff(&j, &fd.r);
        if err <= bound {
            return Ok(());
        }
        let ratio = err / bound;
        let better = match worst {
            None => true,
            Some(w) => ratio < w.0 / w.1,
        };
        if better {
            worst = Some((err, bound, *h, fd));
        }
    }
    let (err, bound, h, fd) = worst.expect("at least one step");
    expect_le(law, "JVP vs central difference", err, bound, || {
        format!(
            "JVP = {j:?}, FD = {:?} (step {h:.1e}, truncation estimate {:.2e}; the best of {} steps); {}",
            fd.r,
            fd.trunc,
            fds.len(),
            ctx()
        )
    })
}

/// The tangent projection of `u` at `p`.
fn tangent_part<M: Manifold + ?Sized>(m: &M, p: &[M::Scalar], u: &[M::Scalar]) -> Vec<M::Scalar> {
    let mut o = zeros(m);
    m.project_tangent_into(p, u, &mut o);
    o
}

fn expect_dual(
    law: &str,
    lhs: f64,
    rhs: f64,
    scale: f64,
    tol: &Tol,
    ctx: impl FnOnce() -> String,
) -> LawResult {
    expect_le(
        law,
        "duality ⟨g, J ẋ⟩ vs ⟨Jᵀ g, ẋ⟩",
        (lhs - rhs).abs(),
        (tol.rel + tol.abs) * scale,
        || format!("⟨g, J ẋ⟩ = {lhs:e}, ⟨Jᵀ g, ẋ⟩ = {rhs:e}; {}", ctx()),
    )
}

/// JVP of $\exp_p(v)$ along $(\dot p, \dot v)$ against central differences (when `fd`; across
/// a chart seam, as in [`geodesic_velocity_matches_fd`], via $\log$ at $\exp_p(v)$), and
/// duality $\langle g, J\dot x\rangle = \langle J^\top g, \dot x\rangle$ with the VJP, which must
/// add into its buffers (they start non-zero here).
pub fn exp_derivatives<M: Differentiable + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    v: &[M::Scalar],
    dp: &[M::Scalar],
    dv: &[M::Scalar],
    g: &[M::Scalar],
    fd: bool,
    tol: &Tol,
) -> LawResult {
    let law = "exp derivatives";
    let ctx = || format!("p = {p:?}, v = {v:?}, dp = {dp:?}, dv = {dv:?}, g = {g:?}");
    let mut j = zeros(m);
    m.exp_jvp(p, v, dp, dv, &mut j);
    finite_or(law, "JVP", &j, ctx)?;
    if fd {
        // Across v = 0 only tangent v-directions are meaningful (see the docs).
        let h = step(tol, &[p, v]);
        let dv_fd = if f(m.norm(p, v)) < 1e3 * h * amax(dv) {
            tangent_part(m, p, dv)
        } else {
            dv.to_vec()
        };
        let mut jf = zeros(m);
        m.exp_jvp(p, v, dp, &dv_fd, &mut jf);
        let mut c = zeros(m);
        m.exp_into(p, v, &mut c);
        let fdv = richardson(
            h,
            |s| {
                let mut o = zeros(m);
                m.exp_into(&add_scaled(p, dp, s), &add_scaled(v, &dv_fd, s), &mut o);
                o
            },
            |a, b, h2| central_diff(m, a, b, &c, h2, amax(&jf)),
        );
        expect_fd::<M::Scalar>(law, &jf, &fdv, h, tol, || {
            format!("v̇ used = {dv_fd:?}; {}", ctx())
        })?;
    }
    let (mut gp, mut gv) = (g.to_vec(), g.to_vec());
    m.exp_vjp(p, v, g, &mut gp, &mut gv);
    finite_or(law, "VJP", &gp, ctx)?;
    finite_or(law, "VJP", &gv, ctx)?;
    let lhs = dot64(g, &j);
    let rhs = dot64(&gp, dp) + dot64(&gv, dv) - dot64(g, dp) - dot64(g, dv);
    let scale = amax(g) * amax(&j) * j.len() as f64
        + (amax(&gp) + amax(g)) * amax(dp) * dp.len() as f64
        + (amax(&gv) + amax(g)) * amax(dv) * dv.len() as f64;
    expect_dual(law, lhs, rhs, scale, tol, ctx)
}

/// JVP of $\log_p(q)$ against central differences (when `fd`), and duality with the VJP.
pub fn log_derivatives<M: Differentiable + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    dp: &[M::Scalar],
    dq: &[M::Scalar],
    g: &[M::Scalar],
    fd: bool,
    tol: &Tol,
) -> LawResult {
    let law = "log derivatives";
    let ctx = || format!("p = {p:?}, q = {q:?}, dp = {dp:?}, dq = {dq:?}, g = {g:?}");
    let mut j = zeros(m);
    m.log_jvp(p, q, dp, dq, &mut j);
    finite_or(law, "JVP", &j, ctx)?;
    if fd {
        // Across p = q only tangent directions are meaningful (see the docs).
        let h = step(tol, &[p, q]);
        let (dp_fd, dq_fd) = if f(m.dist(p, q)) < 1e3 * h * amax(dp).max(amax(dq)) {
            (tangent_part(m, p, dp), tangent_part(m, q, dq))
        } else {
            (dp.to_vec(), dq.to_vec())
        };
        let mut jf = zeros(m);
        m.log_jvp(p, q, &dp_fd, &dq_fd, &mut jf);
        let fdv = richardson(
            h,
            |s| {
                let mut o = zeros(m);
                m.log_into(&add_scaled(p, &dp_fd, s), &add_scaled(q, &dq_fd, s), &mut o);
                o
            },
            plain_diff,
        );
        expect_fd::<M::Scalar>(law, &jf, &fdv, h, tol, || {
            format!("ṗ, q̇ used = {dp_fd:?}, {dq_fd:?}; {}", ctx())
        })?;
    }
    let (mut gp, mut gq) = (zeros(m), zeros(m));
    m.log_vjp(p, q, g, &mut gp, &mut gq);
    finite_or(law, "VJP", &gp, ctx)?;
    finite_or(law, "VJP", &gq, ctx)?;
    let lhs = dot64(g, &j);
    let rhs = dot64(&gp, dp) + dot64(&gq, dq);
    let scale = amax(g) * amax(&j) * j.len() as f64
        + (amax(&gp) * amax(dp) + amax(&gq) * amax(dq)) * dp.len() as f64;
    expect_dual(law, lhs, rhs, scale, tol, ctx)
}

/// JVP of $d(p, q)$ against central differences (when `fd` and $d(p, q)$ is well above the
/// step, where $d$ is smooth), and duality with the VJP.
pub fn dist_derivatives<M: Differentiable + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    q: &[M::Scalar],
    dp: &[M::Scalar],
    dq: &[M::Scalar],
    g: M::Scalar,
    fd: bool,
    tol: &Tol,
) -> LawResult {
    let law = "dist derivatives";
    let ctx = || format!("p = {p:?}, q = {q:?}, dp = {dp:?}, dq = {dq:?}, g = {g}");
    let j = m.dist_jvp(p, q, dp, dq);
    finite_or(law, "JVP", &[j], ctx)?;
    let h = step(tol, &[p, q]);
    let d = f(m.dist(p, q));
    if fd && d > 1e3 * h * (amax(dp) + amax(dq)) {
        let fdv = richardson(
            h,
            |s| vec![m.dist(&add_scaled(p, dp, s), &add_scaled(q, dq, s))],
            plain_diff,
        );
        expect_fd::<M::Scalar>(law, &[j], &fdv, h, tol, ctx)?;
    }
    let (mut gp, mut gq) = (zeros(m), zeros(m));
    m.dist_vjp(p, q, g, &mut gp, &mut gq);
    finite_or(law, "VJP", &gp, ctx)?;
    finite_or(law, "VJP", &gq, ctx)?;
    let lhs = f(g) * f(j);
    let rhs = dot64(&gp, dp) + dot64(&gq, dq);
    let scale =
        (f(g) * f(j)).abs() + (amax(&gp) * amax(dp) + amax(&gq) * amax(dq)) * dp.len() as f64;
    expect_dual(law, lhs, rhs, scale, tol, ctx)
}

/// JVP of $g_p(u, v)$ against central differences (when `fd`), and duality with the VJP.
pub fn inner_derivatives<M: Differentiable + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    u: &[M::Scalar],
    v: &[M::Scalar],
    dirs: [&[M::Scalar]; 3],
    g: M::Scalar,
    fd: bool,
    tol: &Tol,
) -> LawResult {
    let [dp, du, dv] = dirs;
    let law = "inner derivatives";
    let ctx = || format!("p = {p:?}, u = {u:?}, v = {v:?}, dp = {dp:?}, du = {du:?}, dv = {dv:?}");
    let j = m.inner_jvp(p, u, v, dp, du, dv);
    finite_or(law, "JVP", &[j], ctx)?;
    if fd {
        let h = step(tol, &[p, u, v]);
        let at = |s: f64| {
            vec![m.inner(
                &add_scaled(p, dp, s),
                &add_scaled(u, du, s),
                &add_scaled(v, dv, s),
            )]
        };
        let fdv = richardson(h, at, plain_diff);
        expect_fd::<M::Scalar>(law, &[j], &fdv, h, tol, ctx)?;
    }
    let (mut gp, mut gu, mut gv) = (zeros(m), zeros(m), zeros(m));
    m.inner_vjp(p, u, v, g, &mut gp, &mut gu, &mut gv);
    for x in [&gp, &gu, &gv] {
        finite_or(law, "VJP", x, ctx)?;
    }
    let lhs = f(g) * f(j);
    let rhs = dot64(&gp, dp) + dot64(&gu, du) + dot64(&gv, dv);
    let scale = (f(g) * f(j)).abs()
        + (amax(&gp) * amax(dp) + amax(&gu) * amax(du) + amax(&gv) * amax(dv)) * dp.len() as f64;
    expect_dual(law, lhs, rhs, scale, tol, ctx)
}

/// JVP of the tangent projection $P_p(u)$ against central differences (when `fd`), and duality
/// with the VJP.
pub fn project_tangent_derivatives<M: Differentiable + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    u: &[M::Scalar],
    dp: &[M::Scalar],
    du: &[M::Scalar],
    g: &[M::Scalar],
    fd: bool,
    tol: &Tol,
) -> LawResult {
    let law = "project_tangent derivatives";
    let ctx = || format!("p = {p:?}, u = {u:?}, dp = {dp:?}, du = {du:?}, g = {g:?}");
    let mut j = zeros(m);
    m.project_tangent_jvp(p, u, dp, du, &mut j);
    finite_or(law, "JVP", &j, ctx)?;
    if fd {
        let h = step(tol, &[p, u]);
        let fdv = richardson(
            h,
            |s| {
                let mut o = zeros(m);
                m.project_tangent_into(&add_scaled(p, dp, s), &add_scaled(u, du, s), &mut o);
                o
            },
            plain_diff,
        );
        expect_fd::<M::Scalar>(law, &j, &fdv, h, tol, ctx)?;
    }
    let (mut gp, mut gu) = (zeros(m), zeros(m));
    m.project_tangent_vjp(p, u, g, &mut gp, &mut gu);
    finite_or(law, "VJP", &gp, ctx)?;
    finite_or(law, "VJP", &gu, ctx)?;
    let lhs = dot64(g, &j);
    let rhs = dot64(&gp, dp) + dot64(&gu, du);
    let scale = amax(g) * amax(&j) * j.len() as f64
        + (amax(&gp) * amax(dp) + amax(&gu) * amax(du)) * dp.len() as f64;
    expect_dual(law, lhs, rhs, scale, tol, ctx)
}

/// Values and derivatives at the singular points $v = 0$ and $p = q$, with `u` tangent at `p`
/// and `a` an arbitrary ambient vector:
///
/// - $\exp_p(0) = p$, $\log_p(p) = 0$, $d(p, p) = 0$;
/// - $D\exp_p(0)\\,[\dot p = u] = u$ and $D\exp_p(0)\\,[\dot v = u] = u$ (the differential of
///   $\exp_p$ at 0 is the identity);
/// - $D\log\\,[\dot q = u] = u$ and $D\log\\,[\dot p = u] = -u$ at $q = p$;
/// - the distance's JVP is 0 and its VJP adds nothing at $p = q$ (zero subgradient);
/// - every JVP and VJP is finite along the ambient direction `a` as well.
pub fn singular_point_laws<M: Differentiable + ?Sized>(
    m: &M,
    p: &[M::Scalar],
    u: &[M::Scalar],
    a: &[M::Scalar],
    tol: &Tol,
) -> LawResult {
    let law = "singular points";
    let ctx = || format!("p = {p:?}, u = {u:?}, a = {a:?}");
    let z = zeros(m);
    let mut o = zeros(m);
    let sp = 1.0 + amax(p);
    let bound_u = tol.rel * amax(u) + tol.abs * sp * amax(u).max(1e-300);
    m.exp_into(p, &z, &mut o);
    expect_point(m, law, "exp_p(0) vs p", &o, p, tol.abs * sp, ctx)?;
    m.log_into(p, p, &mut o);
    expect_vec(law, "log_p(p) vs 0", &o, &z, tol.abs * sp, ctx)?;
    expect_le(law, "d(p, p)", f(m.dist(p, p)).abs(), tol.abs * sp, ctx)?;
    m.exp_jvp(p, &z, u, &z, &mut o);
    expect_vec(law, "Dexp_p(0)[ṗ = u] vs u", &o, u, bound_u, ctx)?;
    m.exp_jvp(p, &z, &z, u, &mut o);
    expect_vec(law, "Dexp_p(0)[v̇ = u] vs u", &o, u, bound_u, ctx)?;
    m.log_jvp(p, p, &z, u, &mut o);
    expect_vec(law, "Dlog at q = p [q̇ = u] vs u", &o, u, bound_u, ctx)?;
    let neg: Vec<M::Scalar> = u.iter().map(|&x| -x).collect();
    m.log_jvp(p, p, u, &z, &mut o);
    expect_vec(law, "Dlog at q = p [ṗ = u] vs -u", &o, &neg, bound_u, ctx)?;
    let dj = m.dist_jvp(p, p, a, u);
    if dj != M::Scalar::zero() {
        return Err(format!(
            "{law}: dist_jvp at p = q is {dj}, not 0; {}",
            ctx()
        ));
    }
    let (mut g1, mut g2) = (zeros(m), zeros(m));
    m.dist_vjp(p, p, M::Scalar::one(), &mut g1, &mut g2);
    if g1.iter().chain(&g2).any(|&x| x != M::Scalar::zero()) {
        return Err(format!(
            "{law}: dist_vjp at p = q added {g1:?}, {g2:?}, not 0; {}",
            ctx()
        ));
    }
    // finiteness along arbitrary ambient directions
    m.exp_jvp(p, &z, a, a, &mut o);
    finite_or(law, "exp JVP at v = 0", &o, ctx)?;
    m.log_jvp(p, p, a, a, &mut o);
    finite_or(law, "log JVP at q = p", &o, ctx)?;
    m.exp_vjp(p, &z, a, &mut g1, &mut g2);
    finite_or(law, "exp VJP at v = 0", &g1, ctx)?;
    finite_or(law, "exp VJP at v = 0", &g2, ctx)?;
    m.log_vjp(p, p, a, &mut g1, &mut g2);
    finite_or(law, "log VJP at q = p", &g1, ctx)?;
    finite_or(law, "log VJP at q = p", &g2, ctx)?;
    m.project_tangent_jvp(p, &z, a, a, &mut o);
    finite_or(law, "project_tangent JVP at u = 0", &o, ctx)?;
    let ij = m.inner_jvp(p, &z, &z, a, a, a);
    finite_or(law, "inner JVP at u = v = 0", &[ij], ctx)
}

// ---------------------------------------------------------------------------------------------
// Seeded bundles

/// The [`Manifold`] laws on inputs drawn from `seed`: `p`, `r` from the sampler, `v` tangent at
/// `p` of norm `norm`, `q = exp_p(v)`, a second sampled point `q2` (used by the laws that need a
/// pair inside `far_frac * injectivity_radius()` only when it is), an ambient point near `p` and
/// an ambient vector. Runs [`exp_log_identity`], [`log_exp_identity`], [`dist_is_log_norm`],
/// [`dist_of_exp_is_norm`], [`dist_symmetric`], [`triangle_inequality`],
/// [`geodesic_endpoints`], [`geodesic_constant_speed`], [`projections_idempotent`] and
/// [`outputs_valid`].
pub fn geometry_laws<M: Sample>(m: &M, seed: u64, draw: &Draw, tol: &Tol) -> LawResult {
    let far_frac = draw.far_frac;
    let mut g = rng(seed);
    let p = random_point(m, &mut g);
    let r = random_point(m, &mut g);
    let q2 = random_point(m, &mut g);
    let v = draw.tangent(m, &mut g, &p);
    let mut q = zeros(m);
    m.exp_into(&p, &v, &mut q);
    let t = M::Scalar::uniform01(&mut g);
    let noise = random_ambient(m, &mut g, 1e-3 * (1.0 + amax(&p)));
    let x: Vec<M::Scalar> = p.iter().zip(&noise).map(|(&a, &b)| a + b).collect();
    let u = random_ambient(m, &mut g, 1.0);
    let add_seed = |e: String| format!("{e} [seed {seed}, draw {draw:?}]");
    let run = || -> LawResult {
        exp_log_identity(m, &p, &q, tol)?;
        log_exp_identity(m, &p, &v, tol)?;
        dist_is_log_norm(m, &p, &q, tol)?;
        dist_of_exp_is_norm(m, &p, &v, tol)?;
        dist_symmetric(m, &p, &q, tol)?;
        dist_symmetric(m, &p, &q2, tol)?;
        triangle_inequality(m, &p, &q, &r, tol)?;
        triangle_inequality(m, &p, &q2, &r, tol)?;
        geodesic_endpoints(m, &p, &q, tol)?;
        geodesic_constant_speed(m, &p, &q, t, tol)?;
        projections_idempotent(m, &x, &p, &u, tol)?;
        outputs_valid(m, &p, &q, &v, t)?;
        if inside(m, f(m.dist(&p, &q2)), far_frac) {
            exp_log_identity(m, &p, &q2, tol)?;
            dist_is_log_norm(m, &p, &q2, tol)?;
            geodesic_endpoints(m, &p, &q2, tol)?;
            geodesic_constant_speed(m, &p, &q2, t, tol)?;
            outputs_valid(m, &p, &q2, &v, t)?;
        }
        Ok(())
    };
    run().map_err(add_seed)
}

/// [`geodesic_velocity_matches_fd`] with `p` sampled, `q = exp_p(v)`, $\lVert v\rVert$ = `norm`,
/// `t` uniform in $[0, 1]$.
pub fn geodesic_fd_law<M: Sample>(m: &M, seed: u64, draw: &Draw, tol: &Tol) -> LawResult {
    let mut g = rng(seed);
    let p = random_point(m, &mut g);
    let v = draw.tangent(m, &mut g, &p);
    let mut q = zeros(m);
    m.exp_into(&p, &v, &mut q);
    let t = M::Scalar::uniform01(&mut g);
    geodesic_velocity_matches_fd(m, &p, &q, t, tol).map_err(|e| format!("{e} [seed {seed}]"))
}

/// [`transport_isometry`] and [`transport_roundtrip`] with `p` sampled, `q = exp_p(w)`,
/// $\lVert w\rVert$ = `norm`, and `u`, `v` tangent at `p` of norm 1.
pub fn transport_laws<M: ParallelTransport + Sample>(
    m: &M,
    seed: u64,
    draw: &Draw,
    tol: &Tol,
) -> LawResult {
    let mut g = rng(seed);
    let p = random_point(m, &mut g);
    let w = draw.tangent(m, &mut g, &p);
    let mut q = zeros(m);
    m.exp_into(&p, &w, &mut q);
    let u = random_tangent(m, &mut g, &p, 1.0);
    let v = random_tangent(m, &mut g, &p, 1.0);
    let run = || -> LawResult {
        transport_isometry(m, &p, &q, &u, &v, tol)?;
        transport_roundtrip(m, &p, &q, &v, tol)
    };
    run().map_err(|e| format!("{e} [seed {seed}, draw {draw:?}]"))
}

/// The [`Differentiable`] laws on inputs drawn from `seed`: `p` sampled, `v` tangent of norm
/// `norm`, `q = exp_p(w)` with $\lVert w\rVert$ = `norm`, `u` tangent of norm 1, directions
/// standard Gaussian in ambient space (`ambient_directions`) or projected onto $T_pM$ (for
/// manifolds whose formulas are only defined on the manifold, or whose ambient perturbations
/// would leave the domain), Gaussian cotangents. Central differences only when `fd` (use `f64`).
pub fn derivative_laws<M: Differentiable + Sample>(
    m: &M,
    seed: u64,
    draw: &Draw,
    ambient_directions: bool,
    fd: bool,
    tol: &Tol,
) -> LawResult {
    let mut gen = rng(seed);
    let p = random_point(m, &mut gen);
    let v = draw.tangent(m, &mut gen, &p);
    let w = draw.tangent(m, &mut gen, &p);
    let mut q = zeros(m);
    m.exp_into(&p, &w, &mut q);
    let u = random_tangent(m, &mut gen, &p, 1.0);
    let mut dir = |at: &[M::Scalar]| {
        let a = random_ambient(m, &mut gen, 1.0);
        if ambient_directions {
            a
        } else {
            let mut o = zeros(m);
            m.project_tangent_into(at, &a, &mut o);
            o
        }
    };
    let (dp, dv, dq, du) = (dir(&p), dir(&p), dir(&q), dir(&p));
    let g = random_ambient(m, &mut gen, 1.0);
    let gs = M::Scalar::standard_normal(&mut gen);
    let run = || -> LawResult {
        exp_derivatives(m, &p, &v, &dp, &dv, &g, fd, tol)?;
        log_derivatives(m, &p, &q, &dp, &dq, &g, fd, tol)?;
        dist_derivatives(m, &p, &q, &dp, &dq, gs, fd, tol)?;
        inner_derivatives(m, &p, &u, &v, [&dp, &du, &dv], gs, fd, tol)?;
        project_tangent_derivatives(m, &p, &g, &dp, &du, &v, fd, tol)
    };
    run().map_err(|e| format!("{e} [seed {seed}, draw {draw:?}]"))
}

/// [`singular_point_laws`] at a sampled `p` with a unit tangent `u` and a Gaussian ambient `a`.
pub fn singular_laws<M: Differentiable + Sample>(m: &M, seed: u64, tol: &Tol) -> LawResult {
    let mut g = rng(seed);
    let p = random_point(m, &mut g);
    let u = random_tangent(m, &mut g, &p, 1.0);
    let a = random_ambient(m, &mut g, 1.0);
    singular_point_laws(m, &p, &u, &a, tol).map_err(|e| format!("{e} [seed {seed}]"))
}

// ---------------------------------------------------------------------------------------------
// Precision

/// The `f32` manifold agrees with the `f64` one: inputs are drawn from `seed` with the `f64`
/// manifold (`p` sampled, `q = exp_p(w)` and `v` tangent of norm `norm`, `t` uniform), rounded
/// to `f32`, and both precisions evaluate exp, log, dist, norm, inner, geodesic, velocity and
/// retraction on the *same rounded inputs* (so the comparison measures the `f32` kernels, not the
/// conditioning of the inputs). Use `tol = Tol::of::<f32>()`.
pub fn f32_matches_f64<M32, M64>(
    m32: &M32,
    m64: &M64,
    seed: u64,
    draw: &Draw,
    tol: &Tol,
) -> LawResult
where
    M32: Manifold<Scalar = f32>,
    M64: Sample<Scalar = f64>,
{
    let norm = draw.norm;
    let mut g = rng(seed);
    let p = random_point(m64, &mut g);
    let w = draw.tangent(m64, &mut g, &p);
    let v = draw.tangent(m64, &mut g, &p);
    let u = random_tangent(m64, &mut g, &p, 1.0);
    let mut q = zeros(m64);
    m64.exp_into(&p, &w, &mut q);
    let t: f64 = g.random::<f32>() as f64;
    let down = |x: &[f64]| -> Vec<f32> { x.iter().map(|&a| a as f32).collect() };
    let up = |x: &[f32]| -> Vec<f64> { x.iter().map(|&a| a as f64).collect() };
    let (p32, q32, v32, u32_) = (down(&p), down(&q), down(&v), down(&u));
    let (p, q, v, u) = (up(&p32), up(&q32), up(&v32), up(&u32_));
    let sp = 1.0 + amax(&p).max(amax(&q));
    let ctx = || format!("p = {p:?}, q = {q:?}, v = {v:?}, t = {t} [seed {seed}, draw {draw:?}]");
    let law = "f32 ≈ f64";
    let (mut a32, mut a64) = (vec![0f32; p.len()], vec![0f64; p.len()]);
    let bound_pt = tol.rel * (1.0 + norm) + tol.abs * sp;
    let bound_tv = |x: &[f64]| tol.rel * amax(x) + tol.abs * sp * amax(x).max(amax(&v));
    m32.exp_into(&p32, &v32, &mut a32);
    m64.exp_into(&p, &v, &mut a64);
    expect_point(m64, law, "exp", &up(&a32), &a64, bound_pt, ctx)?;
    m32.retract_into(&p32, &v32, &mut a32);
    m64.retract_into(&p, &v, &mut a64);
    expect_point(m64, law, "retract", &up(&a32), &a64, bound_pt, ctx)?;
    m32.geodesic_into(&p32, &q32, t as f32, &mut a32);
    m64.geodesic_into(&p, &q, t, &mut a64);
    expect_point(m64, law, "geodesic", &up(&a32), &a64, bound_pt, ctx)?;
    m32.log_into(&p32, &q32, &mut a32);
    m64.log_into(&p, &q, &mut a64);
    expect_vec(law, "log", &up(&a32), &a64, bound_tv(&a64), ctx)?;
    m32.geodesic_velocity_into(&p32, &q32, t as f32, &mut a32);
    m64.geodesic_velocity_into(&p, &q, t, &mut a64);
    expect_vec(
        law,
        "geodesic velocity",
        &up(&a32),
        &a64,
        bound_tv(&a64),
        ctx,
    )?;
    let scalars = [
        ("dist", m32.dist(&p32, &q32) as f64, m64.dist(&p, &q)),
        ("norm", m32.norm(&p32, &v32) as f64, m64.norm(&p, &v)),
        (
            "inner",
            m32.inner(&p32, &u32_, &v32) as f64,
            m64.inner(&p, &u, &v),
        ),
    ];
    for (what, x32, x64) in scalars {
        let b = tol.rel * x64.abs() + tol.abs * sp * norm.max(1e-300);
        expect_le(law, what, (x32 - x64).abs(), b, || {
            format!("f32 {x32:e}, f64 {x64:e}; {}", ctx())
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Euclidean, Power, Product};

    #[test]
    fn ball_volumes() {
        assert!((ball_volume_flat(2, 1.0) - core::f64::consts::PI).abs() < 1e-15);
        assert!((ball_volume_flat(3, 2.0) - 32.0 / 3.0 * core::f64::consts::PI).abs() < 1e-12);
        // S²: area of a cap of radius r is 2π(1 - cos r)
        let r = 0.7;
        let cap = 2.0 * core::f64::consts::PI * (1.0 - f64::cos(r));
        assert!((ball_volume_constant_curvature(2, 1.0, r) - cap).abs() < 1e-12);
        assert!((ball_volume_constant_curvature(3, 0.0, r) - ball_volume_flat(3, r)).abs() < 1e-12);
    }

    #[test]
    fn laws_hold_for_euclidean_and_products() {
        let e = Euclidean::<f64>::new(3).unwrap();
        let pw = Power::new(Euclidean::<f64>::new(2).unwrap(), 3).unwrap();
        let pr = Product::new(e, Euclidean::<f64>::new(1).unwrap()).unwrap();
        let tol = Tol::of::<f64>();
        for seed in 0..4 {
            for norm in [1e-12, 1e-3, 1.0] {
                geometry_laws(&pw, seed, &Draw::norm(norm), &tol).unwrap();
                derivative_laws(&pr, seed, &Draw::norm(norm), true, true, &tol).unwrap();
                transport_laws(&pr, seed, &Draw::norm(norm), &tol).unwrap();
            }
            singular_laws(&pw, seed, &tol).unwrap();
            batch_matches_loop(&pw, seed, 5, &Draw::norm(0.5), &tol).unwrap();
        }
    }

    #[test]
    fn laws_catch_bugs() {
        // a "manifold" whose log is off by a factor: exp∘log and dist = ‖log‖ must fail
        let e = Euclidean::<f64>::new(2).unwrap();
        let tol = Tol::of::<f64>();
        let p = [0.0, 0.0];
        assert!(exp_log_identity(&e, &p, &[1.0, 1.0], &tol).is_ok());
        assert!(retraction_order(&e, &p, &[1.0, 0.0], 2.0).is_ok());
        let err = expect_vec("x", "y", &[1.0f64], &[1.1], 1e-3, String::new).unwrap_err();
        assert!(err.contains("exceeds bound"), "{err}");
        let err = expect_le("x", "y", f64::NAN, 1.0, String::new).unwrap_err();
        assert!(err.contains("NaN"), "{err}");
    }

    /// Euclidean space with one deliberate bug, to check that the laws catch it.
    struct Buggy {
        e: Euclidean<f64>,
        bug: u32,
    }

    impl Manifold for Buggy {
        type Scalar = f64;
        fn dim(&self) -> usize {
            self.e.dim()
        }
        fn ambient_dim(&self) -> usize {
            self.e.ambient_dim()
        }
        fn exp_into(&self, p: &[f64], v: &[f64], out: &mut [f64]) {
            self.e.exp_into(p, v, out);
            if self.bug == 1 {
                out[0] += 1e-6 * v[0];
            }
        }
        fn log_into(&self, p: &[f64], q: &[f64], out: &mut [f64]) {
            self.e.log_into(p, q, out)
        }
        fn inner(&self, p: &[f64], u: &[f64], v: &[f64]) -> f64 {
            self.e.inner(p, u, v)
        }
        fn dist(&self, p: &[f64], q: &[f64]) -> f64 {
            self.e.dist(p, q) * if self.bug == 2 { 1.0 + 1e-7 } else { 1.0 }
        }
        fn retract_into(&self, p: &[f64], v: &[f64], out: &mut [f64]) {
            self.e.exp_into(p, v, out);
            if self.bug == 12 {
                out[0] += v.iter().map(|x| x * x).sum::<f64>();
            }
        }
        fn project_point_into(&self, x: &[f64], out: &mut [f64]) {
            self.e.project_point_into(x, out)
        }
        fn project_tangent_into(&self, p: &[f64], u: &[f64], out: &mut [f64]) {
            self.e.project_tangent_into(p, u, out)
        }
        fn check_point(&self, p: &[f64]) -> Result<(), crate::ManifoldError> {
            self.e.check_point(p)
        }
        fn check_tangent(&self, p: &[f64], v: &[f64]) -> Result<(), crate::ManifoldError> {
            self.e.check_tangent(p, v)
        }
        fn geodesic_velocity_into(&self, p: &[f64], q: &[f64], t: f64, out: &mut [f64]) {
            self.e.geodesic_velocity_into(p, q, t, out);
            if self.bug == 6 {
                out[0] *= 1.0 + 1e-6;
            }
        }
        fn injectivity_radius(&self) -> f64 {
            f64::INFINITY
        }
    }
    impl ParallelTransport for Buggy {
        fn transport_into(&self, p: &[f64], q: &[f64], v: &[f64], out: &mut [f64]) {
            self.e.transport_into(p, q, v, out);
            if self.bug == 7 {
                out[0] *= 1.0 + 1e-6;
            }
        }
    }
    impl Sample for Buggy {
        fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [f64]) {
            self.e.sample_base_into(rng, out)
        }
        fn base_log_density(&self, p: &[f64]) -> f64 {
            self.e.base_log_density(p) + if self.bug == 8 { 0.2 } else { 0.0 }
        }
    }
    impl Differentiable for Buggy {
        fn exp_jvp(&self, p: &[f64], v: &[f64], dp: &[f64], dv: &[f64], out: &mut [f64]) {
            let z = vec![0.0; dp.len()];
            self.e
                .exp_jvp(p, v, if self.bug == 3 { &z } else { dp }, dv, out)
        }
        fn exp_vjp(&self, p: &[f64], v: &[f64], g: &[f64], gp: &mut [f64], gv: &mut [f64]) {
            if self.bug == 4 {
                gp.iter_mut().for_each(|x| *x = 0.0);
            }
            self.e.exp_vjp(p, v, g, gp, gv)
        }
        fn log_jvp(&self, p: &[f64], q: &[f64], dp: &[f64], dq: &[f64], out: &mut [f64]) {
            self.e.log_jvp(p, q, dp, dq, out)
        }
        fn log_vjp(&self, p: &[f64], q: &[f64], g: &[f64], gp: &mut [f64], gq: &mut [f64]) {
            self.e.log_vjp(p, q, g, gp, gq);
            if self.bug == 10 {
                gp[0] += 2.0 * g[0];
            }
        }
        fn dist_jvp(&self, p: &[f64], q: &[f64], dp: &[f64], dq: &[f64]) -> f64 {
            if self.bug == 5 && p == q {
                return f64::NAN;
            }
            self.e.dist_jvp(p, q, dp, dq)
        }
        fn dist_vjp(&self, p: &[f64], q: &[f64], g: f64, gp: &mut [f64], gq: &mut [f64]) {
            self.e.dist_vjp(p, q, g, gp, gq)
        }
        fn inner_jvp(
            &self,
            p: &[f64],
            u: &[f64],
            v: &[f64],
            dp: &[f64],
            du: &[f64],
            dv: &[f64],
        ) -> f64 {
            self.e.inner_jvp(p, u, v, dp, du, dv)
        }
        fn inner_vjp(
            &self,
            p: &[f64],
            u: &[f64],
            v: &[f64],
            g: f64,
            gp: &mut [f64],
            gu: &mut [f64],
            gv: &mut [f64],
        ) {
            let mut scratch = vec![0.0; gu.len()];
            let gu = if self.bug == 11 { &mut scratch[..] } else { gu };
            self.e.inner_vjp(p, u, v, g, gp, gu, gv)
        }
        fn project_tangent_jvp(
            &self,
            p: &[f64],
            u: &[f64],
            dp: &[f64],
            du: &[f64],
            out: &mut [f64],
        ) {
            self.e.project_tangent_jvp(p, u, dp, du, out)
        }
        fn project_tangent_vjp(
            &self,
            p: &[f64],
            u: &[f64],
            g: &[f64],
            gp: &mut [f64],
            gu: &mut [f64],
        ) {
            self.e.project_tangent_vjp(p, u, g, gp, gu)
        }
    }

    #[test]
    fn laws_catch_deliberate_bugs() {
        let tol = Tol::of::<f64>();
        let m = |bug| Buggy {
            e: Euclidean::new(3).unwrap(),
            bug,
        };
        let density = DensityCheck {
            samples: 20_000,
            centres: 32,
            radius: 0.5,
            ball_volume: ball_volume_flat(3, 0.5),
            bias: 0.03,
            sigmas: 5.0,
        };
        let all = |b: &Buggy, seed: u64| -> LawResult {
            let draw = Draw::norm(0.7);
            geometry_laws(b, seed, &draw, &tol)?;
            geodesic_fd_law(b, seed, &draw, &tol)?;
            transport_laws(b, seed, &draw, &tol)?;
            derivative_laws(b, seed, &draw, true, true, &tol)?;
            singular_laws(b, seed, &tol)?;
            let mut g = rng(seed);
            let p = random_point(b, &mut g);
            let v = random_tangent(b, &mut g, &p, 1.0);
            retraction_order(b, &p, &v, 2.8)?;
            sampler_matches_density(b, seed, &density)
        };
        all(&m(0), 1).unwrap();
        for bug in [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12] {
            let err = all(&m(bug), 1).expect_err(&format!("bug {bug} not caught"));
            assert!(!err.is_empty());
            eprintln!("bug {bug}: {}", err.chars().take(120).collect::<String>());
        }
        // a first-order retraction passes with the first-order slope
        let b = m(12);
        retraction_order(&b, &[0.0; 3], &[1.0, 0.5, 0.0], 1.8).unwrap();
    }
}
