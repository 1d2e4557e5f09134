//! Hyperbolic space $H^n$ in the Lorentz (hyperboloid) model, curvature $-1$.
//!
//! $H^n = \lbrace x \in \mathbb R^{n+1} : \langle x, x\rangle_L = -1,\ x_0 > 0 \rbrace$ with the
//! Minkowski form $\langle a, b\rangle_L = -a_0 b_0 + \sum_{i\ge1} a_i b_i$, which is positive
//! definite on $T_xH^n = \lbrace u : \langle x, u\rangle_L = 0\rbrace$. Points and tangent
//! vectors are `n + 1` scalars; the origin is $o = e_0$. Write $\bar x = x_{1:n}$ for the spatial
//! part: $H^n$ is the graph $x_0 = \sqrt{1 + \lVert \bar x\rVert^2}$ over $\mathbb R^n$, and
//! **the spatial parts are the coordinates every kernel reads**: $x_0$ (and $u_0$ for tangent
//! vectors) is implied by the constraint. This is what keeps the model accurate far from the
//! origin, where $x_0 \approx e^{r}/2$ and the Minkowski form cancels catastrophically.
//!
//! | operation | formula |
//! |---|---|
//! | distance | $d = 2\operatorname{arsinh}(c/2)$, chord $c^2 = \langle x-y, x-y\rangle_L = 2(\alpha - 1)$, $\alpha = -\langle x, y\rangle_L = \cosh d$ |
//! | exp | $\exp_x(u) = \cosh\theta\\,x + \operatorname{sinhc}\theta\\,u$, $\theta = \lVert u \rVert_L$ |
//! | log | $\log_x(y) = \frac{d}{\sinh d}\\,(y - \alpha x)$, with $y - \alpha x = (y - x) - \tfrac{c^2}{2} x$ |
//! | transport | $P_{x\to y}(v) = v + \frac{\langle y, v\rangle_L}{1 + \alpha}(x + y)$ |
//! | geodesic | $\gamma(t) = \cosh(td)\\,x + \frac{\sinh(td)}{\sinh d}(y - \alpha x) = \frac{\sinh((1-t)d)\\,x + \sinh(td)\\,y}{\sinh d}$ |
//! | velocity | $\dot\gamma(t) = d\sinh(td)\\,x + \cosh(td)\log_x y = \frac{d}{\sinh d}\big(\cosh(td)(y - x) + 2\sinh\frac d2\sinh((t-\frac12)d)\\,x\big)$ |
//! | base | wrapped normal $\mathcal{WN}(o, I)$, $\log p(z) = \log\mathcal N(v; 0, I) - (n-1)\log\frac{\sinh r}{r}$, $r = d(o, z)$ |
//!
//! # Numerical notes
//!
//! * **Distance.** $\operatorname{arcosh}(-\langle x,y\rangle_L)$ loses all digits for nearby
//!   points, and even the chord $\lVert\bar x - \bar y\rVert^2 - (x_0 - y_0)^2$ cancels by a
//!   factor $x_0^2$ for radially separated far points. The chord is computed from the spatial
//!   parts (with $x_0 := \sqrt{1+\lVert\bar x\rVert^2}$) as a **sum of non-negative terms**
//!   (derivation in `docs/math/hyperbolic.md`). With $\delta = \bar x - \bar y$,
//!   $s = \bar x + \bar y$, $\delta_\perp = \delta - \frac{\delta\cdot s}{\lVert s\rVert^2}s$:
//!   $$c^2 = \lVert\delta_\perp\rVert^2 + \frac{(\delta\cdot s)^2}{\lVert s\rVert^2}\frac{4 + c^2}{(x_0+y_0)^2},\qquad
//!   4 + c^2 = (x_0 + y_0 - \lVert s\rVert)(x_0 + y_0 + \lVert s\rVert),$$
//!   $$x_0 + y_0 - \lVert s\rVert = \frac{1}{x_0 + \lVert\bar x\rVert} + \frac{1}{y_0 + \lVert\bar y\rVert} +
//!   \frac{\lVert\bar x\rVert\lVert\bar y\rVert\\,\lVert\hat x - \hat y\rVert^2}{\lVert\bar x\rVert + \lVert\bar y\rVert + \lVert s\rVert}.$$
//!   The two remaining cancellations, $\delta_\perp$ when $\delta$ is nearly parallel to $s$
//!   and $\hat x - \hat y$ for nearly parallel points, are evaluated in double-word arithmetic
//!   (error-free fma products) when they occur. Measured against a double-double reference on
//!   the same (exact) inputs: relative error $\le 5\cdot10^{-16}$ (f64) and $\le 2\cdot10^{-7}$
//!   (f32) for radii up to 15 and separations from $10^{-10}$ to 30.
//! * **Conditioning of the representation.** Rounding $\bar x$ moves a point by up to about
//!   $\varepsilon x_0$ (tangentially) in hyperbolic distance, and a tangent vector by $\varepsilon$
//!   times its largest (radial) ambient entry; no formula can do better than that for inputs given
//!   in these coordinates. Radially the representation resolves $\varepsilon$ absolute. Results
//!   of exp / geodesics are rounded to this resolution, and an error at the start of a
//!   geodesic of length $\theta$ grows like $\cosh\theta$ at its end (Jacobi fields); the tests
//!   check exactly these bounds.
//! * **exp** reads $\bar x$ and $\bar u$ only: $\theta^2 = \lVert\bar u\rVert^2 - (\bar x\cdot\bar u)^2/x_0^2$
//!   (the Lorentz norm of the tangent vector with spatial part $\bar u$), evaluated as
//!   $\lVert\bar u_\perp\rVert^2 + (\hat x\cdot\bar u)^2/x_0^2$ (compensated when $\bar u$ is nearly
//!   radial), so it is never negative and never cancels. The textbook
//!   $\sqrt{\max(\langle u,u\rangle_L, 0)}$ from an ambient $u_0$ would lose a factor $x_0^2$.
//!   After the step $y_0 = \sqrt{1 + \lVert\bar y\rVert^2}$ is recomputed from the constraint
//!   (this removes drift; the derivatives include it).
//! * **log, dist, geodesics, transport** use $x_0 := \sqrt{1+\lVert\bar x\rVert^2}$ (the point
//!   as [`project_point_into`](Manifold::project_point_into) would make it), so they are functions
//!   of the spatial parts and their derivatives are unambiguous; `log_x y` writes $y - \alpha x$
//!   as $(y - x) - \frac{c^2}{2}x$ with $x_0 - y_0 = \delta\cdot s/(x_0+y_0)$, so nearby points
//!   lose nothing. Geodesics are evaluated from the nearer endpoint ($t \le 1/2$ from $x$, else
//!   from $y$), so both endpoints are reproduced exactly.
//! * **geodesic points** use the positive-weight form (last in the table): for far points the
//!   first cancels like $e^d$ ($2.6\cdot10^{-5}$ absolute at the midpoint of two points at
//!   radius 15). Measured against mpmath: $2\cdot10^{-15}$ relative to the ambient norm (f64),
//!   $2\cdot10^{-7}$ (f32, radii up to 5).
//! * **geodesic velocity** uses the second form of the table (derivative of
//!   $\frac{\sinh((1-t)d)x + \sinh(td)y}{\sinh d}$): the first cancels two terms $\sim e^{d/2}$
//!   times the result for far points near $t = 1/2$. Measured against mpmath: $2\cdot10^{-15}$
//!   relative up to radius 15 (f64), $3\cdot10^{-7}$ up to radius 5 (f32).
//! * **transport** evaluates $P_{x\to y}(v) = v + \frac{\langle y, v\rangle_L}{1+\alpha}(x + y)$ on
//!   the spatial parts with $\langle y, v\rangle_L = \langle y - \alpha x, v\rangle_x$, an inner product
//!   of two tangent vectors at $x$ taken without cancellation (the textbook Minkowski product
//!   cancels by $x_0y_0$: $3\cdot10^{-4}$ relative at radius 15). What remains is the rounding of
//!   $\bar v + \kappa(\bar x + \bar y)$: relative error about $\varepsilon(x_0 + y_0)$.
//! * `inner` is the plain Minkowski form of the ambient vectors (as specified; it cancels like
//!   $x_0^2$ for far points); `norm` uses the cancellation-free tangent formula of exp, so
//!   `norm(x, log_x y)` equals `dist(x, y)` to the resolution above even at radius 15.
//! * Overflow: $\cosh$ and $\sinh$ overflow beyond $d \approx 710$ (f64) and $89$ (f32); points
//!   beyond radius $\approx 354$ / $44$ have $x_0^2$ overflowing.
//! * Cut locus: none ($H^n$ is Cartan–Hadamard; `try_log_into` never fails); exp never leaves
//!   the hyperboloid (the time coordinate is recomputed). `retract_into` is the exponential
//!   itself (the trait default): it is already cheap and exact.
//!
//! # f32 envelope
//!
//! Kernels are accurate to $2\cdot10^{-7}$ relative (distances, measured) on the given f32
//! coordinates up to radius 15. What limits f32 is the representation: a point is resolved to
//! $\varepsilon x_0 \approx 6\cdot10^{-8}\\,e^r/2$ in hyperbolic distance, i.e. to $10^{-6}$ up to
//! radius $\approx 3.5$ and to $10^{-4}$ up to radius $\approx 8$. Beyond that use f64 (resolution
//! $10^{-10}$ at radius 15).
//!
//! ```
//! use geoflow_manifolds::{prelude::*, Lorentz};
//! let h = Lorentz::<f64>::new(2)?;
//! let o = [1.0, 0.0, 0.0];
//! let y = h.exp(&o, &[0.0, 1.5, 0.0]);
//! assert!((h.dist(&o, &y) - 1.5).abs() < 1e-14);
//! let v = h.log(&o, &y);
//! assert!((v[1] - 1.5).abs() < 1e-14);
//! # Ok::<(), ManifoldError>(())
//! ```

use core::marker::PhantomData;

use crate::manifold::expect_dim;
use crate::numerics::{all_finite, dot, norm2, sinhc, sinhc_prime_over_x, x_over_sinh};
use crate::{
    ConstantCurvature, Differentiable, Manifold, ManifoldError, ParallelTransport, Real, Sample,
};
use rand::Rng;

/// Hyperbolic space $H^n$ as the upper sheet of the hyperboloid in $\mathbb R^{n+1}$; points and
/// tangent vectors are `n + 1` scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lorentz<T> {
    n: usize,
    _t: PhantomData<T>,
}

impl<T: Real> Lorentz<T> {
    /// $H^n$ for $n \ge 1$.
    pub fn new(n: usize) -> Result<Self, ManifoldError> {
        if n == 0 {
            return Err(ManifoldError::InvalidParameter(
                "hyperbolic dimension must be at least 1",
            ));
        }
        Ok(Self { n, _t: PhantomData })
    }
}

/// Minkowski form $\langle a, b\rangle_L = -a_0 b_0 + \sum_{i\ge1} a_i b_i$.
#[inline]
pub fn minkowski<T: Real>(a: &[T], b: &[T]) -> T {
    dot(&a[1..], &b[1..]) - a[0] * b[0]
}

/// $x_0 = \sqrt{1 + \lVert\bar x\rVert^2}$ from the spatial part.
#[inline]
fn time_coord<T: Real>(xb: &[T]) -> T {
    (T::one() + norm2(xb)).sqrt()
}

/// The double-word (compensated) branches of the chord and of the tangent norm run only for
/// points with $x_0$ (or $\sqrt{x_0y_0}$, $(x_0+y_0)/2$) above this: below it, the plain forms
/// lose at most a factor $x_0 \le 4$ (their error bounds are $\varepsilon x_0$, see
/// `docs/math/hyperbolic.md`), so points near the origin take the cheap path.
pub const COMPENSATE_ABOVE: f64 = 4.0;

/// The chord of two points given by their spatial parts, with the quantities the derivatives
/// reuse.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chord<T> {
    /// $c^2 = \langle x - y, x - y\rangle_L = 2(\alpha - 1)$.
    pub c2: T,
    /// $x_0 = \sqrt{1+\lVert\bar x\rVert^2}$.
    pub x0: T,
    /// $y_0 = \sqrt{1+\lVert\bar y\rVert^2}$.
    pub y0: T,
    /// $e = x_0 - y_0$, without cancellation.
    pub e: T,
}

impl<T: Real> Chord<T> {
    /// $d = 2\operatorname{arsinh}(c/2)$.
    #[inline]
    pub fn dist(&self) -> T {
        T::c(2.0) * (self.c2.sqrt() * T::c(0.5)).asinh()
    }
    /// $\sinh d = c\sqrt{1 + c^2/4}$.
    #[inline]
    pub fn sinh_d(&self) -> T {
        self.c2.sqrt() * (T::one() + T::c(0.25) * self.c2).sqrt()
    }
}

/// The geodesic weights $\big(\frac{\sinh((1-t)d)}{\sinh d}, \frac{\sinh(td)}{\sinh d}\big)$, finite
/// at $d = 0$ ([`Lorentz::geodesic_into`]; the batch kernel mirrors it).
#[inline]
pub(crate) fn geodesic_weights<T: Real>(d: T, t: T) -> (T, T) {
    let u = T::one() - t;
    let sd = sinhc(d);
    (u * sinhc(u * d) / sd, t * sinhc(t * d) / sd)
}

/// Coefficients $(c_\delta, c_x)$ of the geodesic velocity
/// $\dot\gamma = c_\delta\\,(y - x) + c_x\\,x$ at $t \le 1/2$ (times `sign`):
/// $c_\delta = \frac{d}{\sinh d}\cosh(td)$, $c_x = \frac{d}{\sinh d}2\sinh\frac d2\sinh((t-\frac12)d)$
/// ([`Lorentz::geodesic_velocity_into`]; the batch kernel mirrors it).
#[inline]
pub(crate) fn velocity_coeffs<T: Real>(d: T, t: T, sign: T) -> (T, T) {
    let f = sign * x_over_sinh(d);
    let half = T::c(0.5);
    (
        f * (t * d).cosh(),
        f * T::c(2.0) * (half * d).sinh() * ((t - half) * d).sinh(),
    )
}

/// Computes the chord $c^2 = \langle x-y, x-y\rangle_L$ from the spatial parts $\bar x$,
/// $\bar y$ as a sum of non-negative terms (see the module notes and `docs/math/hyperbolic.md`):
/// $c^2 = \lVert\delta_\perp\rVert^2 + \frac{(\delta\cdot s)^2}{\lVert s\rVert^2}\frac{t}{(x_0+y_0)^2}$,
/// $t = 4 + c^2 = (x_0 + y_0 - \lVert s\rVert)(x_0 + y_0 + \lVert s\rVert)$ with
/// $x_0 + y_0 - \lVert s\rVert = \frac{1}{x_0 + \lVert\bar x\rVert} + \frac{1}{y_0 + \lVert\bar y\rVert} +
/// \frac{\lVert\bar x\rVert\lVert\bar y\rVert\lVert\hat x - \hat y\rVert^2}{\lVert\bar x\rVert + \lVert\bar y\rVert + \lVert s\rVert}$.
pub(crate) fn chord<T: Real>(xb: &[T], yb: &[T]) -> Chord<T> {
    let (mut xx, mut yy, mut dd, mut ss, mut ds) =
        (T::zero(), T::zero(), T::zero(), T::zero(), T::zero());
    for (&a, &b) in xb.iter().zip(yb) {
        let d = a - b;
        let s = a + b;
        xx = a.madd(a, xx);
        yy = b.madd(b, yy);
        dd = d.madd(d, dd);
        ss = s.madd(s, ss);
        ds = d.madd(s, ds);
    }
    let x0 = (T::one() + xx).sqrt();
    let y0 = (T::one() + yy).sqrt();
    let sigma = x0 + y0;
    let e = ds / sigma;
    if ss == T::zero() {
        // ȳ = −x̄: then x0 = y0 and the chord is the Euclidean one.
        return Chord {
            c2: dd,
            x0,
            y0,
            e: T::zero(),
        };
    }
    let (nx, ny, ns) = (xx.sqrt(), yy.sqrt(), ss.sqrt());
    // ‖x̂ − ŷ‖² (0 when either point is the origin).
    let mut angle = T::zero();
    if nx > T::zero() && ny > T::zero() {
        for (&a, &b) in xb.iter().zip(yb) {
            let r = a / nx - b / ny;
            angle = r.madd(r, angle);
        }
        if angle < T::c(0.25) && x0 * y0 > T::c(COMPENSATE_ABOVE * COMPENSATE_ABOVE) {
            // nearly parallel: x̂ − ŷ cancels; use ‖x̂ − ŷ‖² = 2 sin²φ/(1 + cos φ) with
            // sin²φ = ‖x̄ − (x̄·ŷ)ŷ‖²/‖x̄‖² compensated. Matters once ε² x0 ≳ ε/x0.
            let s2 = (perp2_dw(xb.len(), |i| Dw(xb[i], T::zero()), |i| Dw(yb[i], T::zero())) / xx)
                .min(T::one());
            angle = T::c(2.0) * s2 / (T::one() + (T::one() - s2).sqrt());
        }
    }
    let gap = T::one() / (x0 + nx) + T::one() / (y0 + ny) + nx * ny * angle / (nx + ny + ns);
    let t = gap * (sigma + ns);
    let k = ds / ss;
    let mut perp = T::zero();
    for (&a, &b) in xb.iter().zip(yb) {
        let r = (a - b) - k * (a + b);
        perp = r.madd(r, perp);
    }
    if perp < T::c(0.25) * dd && sigma > T::c(2.0 * COMPENSATE_ABOVE) {
        // δ is within 30° of s: the rounding of k·s (≈ ε‖δ_∥‖ per entry) would dominate δ_⊥.
        perp = perp_compensated(xb, yb);
    }
    let c2 = perp + (ds * k) * (t / (sigma * sigma));
    Chord { c2, x0, y0, e }
}

/// A double-word number $h + l$ (error-free transformations), for the compensated chord.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dw<T>(pub T, pub T);

#[inline]
pub(crate) fn two_sum<T: Real>(a: T, b: T) -> Dw<T> {
    let s = a + b;
    let bb = s - a;
    Dw(s, (a - (s - bb)) + (b - bb))
}

impl<T: Real> Dw<T> {
    #[inline]
    pub(crate) fn add(self, o: Self) -> Self {
        let s = two_sum(self.0, o.0);
        two_sum(s.0, s.1 + self.1 + o.1)
    }
    #[inline]
    fn mul(self, o: Self) -> Self {
        let p = self.0 * o.0;
        let e = self.0.mul_add(o.0, -p) + (self.0 * o.1 + self.1 * o.0);
        two_sum(p, e)
    }
    #[inline]
    fn div(self, o: Self) -> Self {
        let q1 = self.0 / o.0;
        let r = self.add(o.mul(Dw(-q1, T::zero())));
        let q2 = r.0 / o.0;
        two_sum(q1, q2)
    }
}

/// $\lVert a - \frac{a\cdot b}{\lVert b\rVert^2}b\rVert^2$ for vectors given entrywise as
/// double words, with the dot products and the quotient carried in double-word arithmetic, so
/// each entry of the perpendicular part is accurate to a few ulps of itself (about 25 flops per
/// coordinate).
fn perp2_dw<T: Real>(n: usize, a: impl Fn(usize) -> Dw<T>, b: impl Fn(usize) -> Dw<T>) -> T {
    let zero = Dw(T::zero(), T::zero());
    let (mut ab, mut bb) = (zero, zero);
    for i in 0..n {
        let (ai, bi) = (a(i), b(i));
        ab = ab.add(ai.mul(bi));
        bb = bb.add(bi.mul(bi));
    }
    let k = ab.div(bb);
    let mk = Dw(-k.0, -k.1);
    let mut perp = T::zero();
    for i in 0..n {
        let r = a(i).add(mk.mul(b(i)));
        let r = r.0 + r.1;
        perp = r.madd(r, perp);
    }
    perp
}

/// $\lVert\delta_\perp\rVert^2$ of the chord, compensated ([`perp2_dw`]).
fn perp_compensated<T: Real>(xb: &[T], yb: &[T]) -> T {
    perp2_dw(
        xb.len(),
        |i| two_sum(xb[i], -yb[i]),
        |i| two_sum(xb[i], yb[i]),
    )
}

/// $\log\frac{\sinh r}{r}$ for $r \ge 0$, without overflow for large $r$.
#[inline]
pub(crate) fn ln_sinhc<T: Real>(r: T) -> T {
    if r < T::one() {
        sinhc(r).ln()
    } else {
        r - T::LN_2() + (-(T::c(-2.0) * r).exp()).ln_1p() - r.ln()
    }
}

/// Squared Lorentz norm of the tangent vector at $x$ with spatial part $\bar u$,
/// $\lVert\bar u\rVert^2 - (\bar x\cdot\bar u)^2/x_0^2$, evaluated as a sum of squares.
#[inline]
fn tangent_norm2<T: Real>(xb: &[T], ub: &[T]) -> T {
    let a = norm2(xb);
    let k = dot(xb, ub);
    if a == T::zero() {
        return norm2(ub);
    }
    let x02 = T::one() + a;
    let kk = k / a;
    let mut perp = T::zero();
    for (&x, &u) in xb.iter().zip(ub) {
        let r = u - kk * x;
        perp = r.madd(r, perp);
    }
    if perp < T::c(0.25) * norm2(ub) && x02 > T::c(COMPENSATE_ABOVE * COMPENSATE_ABOVE) {
        // nearly radial ū: the rounding of kk·x̄ would dominate ū_⊥ (as in the chord)
        perp = perp2_dw(xb.len(), |i| Dw(ub[i], T::zero()), |i| Dw(xb[i], T::zero()));
    }
    perp + k * k / (a * x02)
}

impl<T: Real> Lorentz<T> {
    #[track_caller]
    #[inline]
    fn expect(&self, len: usize, what: &str) {
        expect_dim(len, self.n + 1, what);
    }

    /// Writes the spatial part of $\exp_x(u)$ and returns $y_0$ after the step; shared by
    /// `exp_into` and the derivatives. Returns $(\theta^2, \cosh\theta, \operatorname{sinhc}\theta)$.
    #[inline]
    fn exp_parts(xb: &[T], ub: &[T]) -> (T, T, T) {
        let m = tangent_norm2(xb, ub);
        let th = m.sqrt();
        (m, th.cosh(), sinhc(th))
    }

    /// Writes $\dot m$ contributions: the gradients of $m = \lVert\bar u\rVert^2 - (\bar x\cdot\bar u)^2/x_0^2$
    /// are $\partial_{\bar u} m = 2\bar u - 2k\bar x/x_0^2$ and
    /// $\partial_{\bar x} m = -2k\bar u/x_0^2 + 2k^2\bar x/x_0^4$ with $k = \bar x\cdot\bar u$.
    #[inline]
    fn m_jvp(xb: &[T], ub: &[T], dxb: &[T], dub: &[T]) -> T {
        let k = dot(xb, ub);
        let x02 = T::one() + norm2(xb);
        let two = T::c(2.0);
        two * dot(ub, dub) - two * k * dot(xb, dub) / x02 - two * k * dot(ub, dxb) / x02
            + two * k * k * dot(xb, dxb) / (x02 * x02)
    }
}

impl<T: Real> Manifold for Lorentz<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.n
    }
    fn ambient_dim(&self) -> usize {
        self.n + 1
    }
    /// $\bar y = \cosh\theta\\,\bar x + \operatorname{sinhc}\theta\\,\bar u$,
    /// $\theta^2 = \lVert\bar u\rVert^2 - (\bar x\cdot\bar u)^2/x_0^2$, then
    /// $y_0 = \sqrt{1+\lVert\bar y\rVert^2}$. Reads only the spatial parts (module notes).
    #[track_caller]
    fn exp_into(&self, x: &[T], u: &[T], out: &mut [T]) {
        self.expect(x.len(), "Lorentz::exp_into: x");
        self.expect(u.len(), "Lorentz::exp_into: u");
        self.expect(out.len(), "Lorentz::exp_into: out");
        let (_, c, s) = Self::exp_parts(&x[1..], &u[1..]);
        let mut yy = T::zero();
        for ((o, &x), &u) in out[1..].iter_mut().zip(&x[1..]).zip(&u[1..]) {
            *o = c * x + s * u;
            yy = o.madd(*o, yy);
        }
        out[0] = (T::one() + yy).sqrt();
    }
    /// $\log_x y = \frac{d}{\sinh d}\big((y - x) - \tfrac{c^2}{2}x\big)$ with the accurate chord;
    /// $x_0, y_0$ are taken from the constraint. Never fails ($H^n$ has no cut locus).
    #[track_caller]
    fn log_into(&self, x: &[T], y: &[T], out: &mut [T]) {
        self.expect(x.len(), "Lorentz::log_into: x");
        self.expect(y.len(), "Lorentz::log_into: y");
        self.expect(out.len(), "Lorentz::log_into: out");
        let ch = chord(&x[1..], &y[1..]);
        let f = x_over_sinh(ch.dist());
        let h = T::c(0.5) * ch.c2;
        out[0] = f * (-ch.e - h * ch.x0);
        for i in 1..=self.n {
            out[i] = f * ((y[i] - x[i]) - h * x[i]);
        }
    }
    /// Minkowski form $\langle u, v\rangle_L$ (independent of `x`).
    fn inner(&self, _x: &[T], u: &[T], v: &[T]) -> T {
        minkowski(u, v)
    }
    /// $\sqrt{\lVert\bar v\rVert^2 - (\bar x\cdot\bar v)^2/x_0^2}$: the Lorentz norm of the tangent
    /// vector with spatial part $\bar v$, without cancellation (module notes).
    fn norm(&self, x: &[T], v: &[T]) -> T {
        tangent_norm2(&x[1..], &v[1..]).sqrt()
    }
    /// $2\operatorname{arsinh}(c/2)$ with the cancellation-aware chord.
    fn dist(&self, x: &[T], y: &[T]) -> T {
        chord(&x[1..], &y[1..]).dist()
    }
    /// Keeps $\bar x$ and sets $x_0 = \sqrt{1 + \lVert\bar x\rVert^2}$.
    fn project_point_into(&self, x: &[T], out: &mut [T]) {
        out[1..].copy_from_slice(&x[1..]);
        out[0] = time_coord(&x[1..]);
    }
    /// $u + \langle x, u\rangle_L\\,x$ (Minkowski-orthogonal projection for $x \in H^n$).
    fn project_tangent_into(&self, x: &[T], u: &[T], out: &mut [T]) {
        let k = minkowski(x, u);
        for ((o, &x), &u) in out.iter_mut().zip(x).zip(u) {
            *o = u + k * x;
        }
    }
    /// Residual $\lvert\langle x, x\rangle_L + 1\rvert$ with tolerance `check_tol`$\cdot(1 + x_0^2)$:
    /// rounding $x_0$ by a relative $\varepsilon$ moves $\langle x,x\rangle_L$ by $2\varepsilon x_0^2$.
    /// A point with $x_0 \le 0$ is rejected with residual $1 - x_0$.
    fn check_point(&self, x: &[T]) -> Result<(), ManifoldError> {
        if x.len() != self.n + 1 {
            return Err(ManifoldError::DimensionMismatch {
                expected: self.n + 1,
                got: x.len(),
            });
        }
        if !all_finite(x) {
            return Err(ManifoldError::NonFinite);
        }
        let tol = T::check_tol() * (T::one() + x[0] * x[0]);
        if x[0] <= T::zero() {
            return Err(ManifoldError::NotOnManifold {
                residual: (T::one() - x[0]).to_f64_lossless(),
                tol: tol.to_f64_lossless(),
            });
        }
        let r = (minkowski(x, x) + T::one()).abs();
        if r > tol {
            return Err(ManifoldError::NotOnManifold {
                residual: r.to_f64_lossless(),
                tol: tol.to_f64_lossless(),
            });
        }
        Ok(())
    }
    /// Residual $\lvert\langle x, u\rangle_L\rvert$ with tolerance
    /// `check_tol`$\cdot (1 + x_0^2) \lVert u\rVert_2$: the terms that cancel are of size
    /// $x_0\lVert u\rVert$, and a point that is itself only accurate to its rounding (a relative
    /// $\varepsilon x_0$ along the hyperboloid, as every computed point far from the origin is)
    /// moves the residual by a further $\varepsilon x_0^2 \lVert u\rVert$.
    fn check_tangent(&self, x: &[T], u: &[T]) -> Result<(), ManifoldError> {
        self.check_point(x)?;
        if u.len() != self.n + 1 {
            return Err(ManifoldError::DimensionMismatch {
                expected: self.n + 1,
                got: u.len(),
            });
        }
        if !all_finite(u) {
            return Err(ManifoldError::NonFinite);
        }
        let r = minkowski(x, u).abs();
        let tol = T::check_tol() * (T::one() + x[0] * x[0]) * norm2(u).sqrt();
        if r > tol {
            return Err(ManifoldError::NotTangent {
                residual: r.to_f64_lossless(),
                tol: tol.to_f64_lossless(),
            });
        }
        Ok(())
    }
    /// $\bar\gamma(t) = w_1\bar x + w_2\bar y$ with
    /// $w_1 = \frac{\sinh((1-t)d)}{\sinh d} = (1-t)\frac{\operatorname{sinhc}((1-t)d)}{\operatorname{sinhc} d}$,
    /// $w_2 = \frac{\sinh(td)}{\sinh d} = t\frac{\operatorname{sinhc}(td)}{\operatorname{sinhc} d}$ for
    /// $t \le 1/2$ (and the same from $y$ with $1 - t$ otherwise, so both endpoints are exact:
    /// $w_1 = 1$, $w_2 = 0$ at $t = 0$), then $\gamma_0$ from the constraint. For
    /// $t \in \lbrack 0, 1\rbrack$ both weights are positive: the error is a few ulps of
    /// $w_1\lVert\bar x\rVert + w_2\lVert\bar y\rVert \lesssim 2\gamma_0$. The equivalent
    /// $\cosh(td)\\,\bar x + w_2(\bar y - \alpha\bar x)$ cancels like $e^{d}$ for far points
    /// ($2\cdot10^{-5}$ absolute at the midpoint of two points at radius 15).
    #[track_caller]
    fn geodesic_into(&self, x: &[T], y: &[T], t: T, out: &mut [T]) {
        self.expect(x.len(), "Lorentz::geodesic_into: x");
        self.expect(y.len(), "Lorentz::geodesic_into: y");
        self.expect(out.len(), "Lorentz::geodesic_into: out");
        let (a, b, t) = if t <= T::c(0.5) {
            (x, y, t)
        } else {
            (y, x, T::one() - t)
        };
        let d = chord(&a[1..], &b[1..]).dist();
        let (w1, w2) = geodesic_weights(d, t);
        let mut gg = T::zero();
        for i in 1..=self.n {
            let g = w1 * a[i] + w2 * b[i];
            out[i] = g;
            gg = g.madd(g, gg);
        }
        out[0] = (T::one() + gg).sqrt();
    }
    /// $\dot\gamma(t) = \frac{d}{\sinh d}\big(\cosh(td)\\,(y - x) + 2\sinh\tfrac d2\sinh((t - \tfrac12)d)\\,x\big)$
    /// for $t \le 1/2$ (from $y$ with $1 - t$ and the sign flipped otherwise): the derivative of
    /// $\gamma(t) = \frac{\sinh((1-t)d)\\,x + \sinh(td)\\,y}{\sinh d}$ with
    /// $\cosh(td) - \cosh((1-t)d) = 2\sinh\frac d2\sinh((t-\frac12)d)$. The form
    /// $td^2\operatorname{sinhc}(td)\\,x + \cosh(td)\log_x y$ cancels two terms of size
    /// $e^{d/2}$ against an $O(1)$ result; here each term is at most the result's size (with
    /// $\lvert y - x\rvert$ bounded by the triangle inequality). Exact zero at $x = y$.
    #[track_caller]
    fn geodesic_velocity_into(&self, x: &[T], y: &[T], t: T, out: &mut [T]) {
        self.expect(x.len(), "Lorentz::geodesic_velocity_into: x");
        self.expect(y.len(), "Lorentz::geodesic_velocity_into: y");
        self.expect(out.len(), "Lorentz::geodesic_velocity_into: out");
        let (a, b, t, sign) = if t <= T::c(0.5) {
            (x, y, t, T::one())
        } else {
            (y, x, T::one() - t, -T::one())
        };
        let ch = chord(&a[1..], &b[1..]);
        let d = ch.dist();
        let (ca, cx) = velocity_coeffs(d, t, sign);
        out[0] = ca * -ch.e + cx * ch.x0;
        for i in 1..=self.n {
            out[i] = ca * (b[i] - a[i]) + cx * a[i];
        }
    }
    fn injectivity_radius(&self) -> T {
        T::infinity()
    }

    #[track_caller]
    fn exp_batch_into(&self, ps: &[T], vs: &[T], outs: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "exp_batch_into: ps");
        crate::batch::expect_len(vs.len(), n, d, "exp_batch_into: vs");
        crate::batch::expect_len(outs.len(), n, d, "exp_batch_into: outs");
        crate::hyperbolic_batch::lorentz_exp(self, ps, vs, outs);
    }
    #[track_caller]
    fn log_batch_into(&self, ps: &[T], qs: &[T], outs: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "log_batch_into: ps");
        crate::batch::expect_len(qs.len(), n, d, "log_batch_into: qs");
        crate::batch::expect_len(outs.len(), n, d, "log_batch_into: outs");
        crate::hyperbolic_batch::lorentz_log(self, ps, qs, outs);
    }
    #[track_caller]
    fn dist_batch_into(&self, ps: &[T], qs: &[T], ds: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "dist_batch_into: ps");
        crate::batch::expect_len(qs.len(), n, d, "dist_batch_into: qs");
        crate::batch::expect_len(ds.len(), n, 1, "dist_batch_into: ds");
        crate::hyperbolic_batch::lorentz_dist(self, ps, qs, ds);
    }
    #[track_caller]
    fn norm_batch_into(&self, ps: &[T], vs: &[T], out: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "norm_batch_into: ps");
        crate::batch::expect_len(vs.len(), n, d, "norm_batch_into: vs");
        crate::batch::expect_len(out.len(), n, 1, "norm_batch_into: out");
        crate::hyperbolic_batch::lorentz_norm(self, ps, vs, out);
    }
    #[track_caller]
    fn geodesic_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "geodesic_batch_into: ps");
        crate::batch::expect_len(qs.len(), n, d, "geodesic_batch_into: qs");
        crate::batch::expect_len(ts.len(), n, 1, "geodesic_batch_into: ts");
        crate::batch::expect_len(outs.len(), n, d, "geodesic_batch_into: outs");
        crate::hyperbolic_batch::lorentz_geodesic(self, ps, qs, ts, outs);
    }
    #[track_caller]
    fn geodesic_velocity_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "geodesic_velocity_batch_into: ps");
        crate::batch::expect_len(qs.len(), n, d, "geodesic_velocity_batch_into: qs");
        crate::batch::expect_len(ts.len(), n, 1, "geodesic_velocity_batch_into: ts");
        crate::batch::expect_len(outs.len(), n, d, "geodesic_velocity_batch_into: outs");
        crate::hyperbolic_batch::lorentz_geodesic_velocity(self, ps, qs, ts, outs);
    }
}

impl<T: Real> ParallelTransport for Lorentz<T> {
    /// $P_{x\to y}(v) = v + \frac{\langle y, v\rangle_L}{1 + \alpha}(x + y)$, evaluated on the
    /// spatial parts: $1 + \alpha = 2 + c^2/2$, and for $v \in T_xH^n$
    /// $\langle y, v\rangle_L = \langle z, v\rangle_x$ with $z = y - \alpha x = (y - x) - \frac{c^2}{2}x$,
    /// the inner product of two tangent vectors at $x$ computed without cancellation
    /// (`tangent_inner`); the textbook $\langle y, v\rangle_L$ cancels by $x_0y_0$. Then
    /// $\bar w = \bar v + \kappa(\bar x + \bar y)$ and $w_0 = \bar y\cdot\bar w/y_0$ (tangency at $y$).
    /// Reads $\bar x, \bar y, \bar v$ only; relative error about $\varepsilon(x_0 + y_0)$.
    #[track_caller]
    fn transport_into(&self, x: &[T], y: &[T], v: &[T], out: &mut [T]) {
        self.expect(x.len(), "Lorentz::transport_into: x");
        self.expect(y.len(), "Lorentz::transport_into: y");
        self.expect(v.len(), "Lorentz::transport_into: v");
        self.expect(out.len(), "Lorentz::transport_into: out");
        let ch = chord(&x[1..], &y[1..]);
        let h = T::c(0.5) * ch.c2;
        let (xb, yb, vb) = (&x[1..], &y[1..], &v[1..]);
        let yv = tangent_inner(xb, |i| (yb[i] - xb[i]) - h * xb[i], |i| vb[i]);
        let k = yv / (T::c(2.0) + h);
        let mut yw = T::zero();
        for i in 1..=self.n {
            let w = v[i] + k * (x[i] + y[i]);
            out[i] = w;
            yw = y[i].madd(w, yw);
        }
        out[0] = yw / ch.y0;
    }
    #[track_caller]
    fn transport_batch_into(&self, ps: &[T], qs: &[T], vs: &[T], outs: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "transport_batch_into: ps");
        crate::batch::expect_len(qs.len(), n, d, "transport_batch_into: qs");
        crate::batch::expect_len(vs.len(), n, d, "transport_batch_into: vs");
        crate::batch::expect_len(outs.len(), n, d, "transport_batch_into: outs");
        crate::hyperbolic_batch::lorentz_transport(self, ps, qs, vs, outs);
    }
}

/// $\langle a, b\rangle_x = \bar a\cdot\bar b - (\bar x\cdot\bar a)(\bar x\cdot\bar b)/x_0^2$ for tangent
/// vectors at $x$ given by their spatial parts (entrywise closures), evaluated as
/// $\bar a_\perp\cdot\bar b_\perp + (\hat x\cdot\bar a)(\hat x\cdot\bar b)/x_0^2$ with both perpendicular
/// parts (to $\bar x$) formed in double-word arithmetic, so nearly radial vectors lose nothing.
fn tangent_inner<T: Real>(xb: &[T], a: impl Fn(usize) -> T, b: impl Fn(usize) -> T) -> T {
    let n = xb.len();
    let zero = Dw(T::zero(), T::zero());
    let (mut xa, mut xbv, mut xx) = (zero, zero, zero);
    for i in 0..n {
        let xi = Dw(xb[i], T::zero());
        xa = xa.add(xi.mul(Dw(a(i), T::zero())));
        xbv = xbv.add(xi.mul(Dw(b(i), T::zero())));
        xx = xx.add(xi.mul(xi));
    }
    if xx.0 == T::zero() {
        let mut s = T::zero();
        for i in 0..n {
            s = a(i).madd(b(i), s);
        }
        return s;
    }
    let (ka, kb) = (xa.div(xx), xbv.div(xx));
    let (mka, mkb) = (Dw(-ka.0, -ka.1), Dw(-kb.0, -kb.1));
    let mut perp = T::zero();
    for i in 0..n {
        let xi = Dw(xb[i], T::zero());
        let ap = Dw(a(i), T::zero()).add(mka.mul(xi));
        let bp = Dw(b(i), T::zero()).add(mkb.mul(xi));
        perp = (ap.0 + ap.1).madd(bp.0 + bp.1, perp);
    }
    let xx = xx.0 + xx.1;
    perp + (xa.0 + xa.1) * (xbv.0 + xbv.1) / (xx * (T::one() + xx))
}

impl<T: Real> ConstantCurvature for Lorentz<T> {
    fn curvature(&self) -> T {
        -T::one()
    }
}

impl<T: Real> Sample for Lorentz<T> {
    /// Wrapped normal $\mathcal{WN}(o, I)$: $v \sim \mathcal N(0, I_n)$,
    /// $z = \exp_o(0, v) = (\cosh\lVert v\rVert, \operatorname{sinhc}\lVert v\rVert\\,v)$.
    #[track_caller]
    fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        self.expect(out.len(), "Lorentz::sample_base_into: out");
        for o in out[1..].iter_mut() {
            *o = T::standard_normal(rng);
        }
        let r = norm2(&out[1..]).sqrt();
        let s = sinhc(r);
        let mut zz = T::zero();
        for o in out[1..].iter_mut() {
            *o *= s;
            zz = o.madd(*o, zz);
        }
        out[0] = (T::one() + zz).sqrt();
    }
    /// $-\tfrac{r^2}{2} - \tfrac n2\log 2\pi - (n-1)\log\frac{\sinh r}{r}$ with
    /// $r = d(o, z) = \operatorname{arsinh}\lVert\bar z\rVert$ (density w.r.t. the Riemannian
    /// volume).
    fn base_log_density(&self, z: &[T]) -> T {
        let r = norm2(&z[1..]).sqrt().asinh();
        let n = self.n as f64;
        -T::c(0.5) * r * r
            - T::c(0.5 * n * (2.0 * core::f64::consts::PI).ln())
            - T::c(n - 1.0) * ln_sinhc(r)
    }
}

/// The wrapped normal distribution $\mathcal{WN}(\mu, \Sigma)$ on $H^n$ (Nagano et al. 2019[^1])
/// with diagonal $\Sigma$: $v \sim \mathcal N(0, \Sigma)$ in $\mathbb R^n \cong T_oH^n$,
/// $u = P_{o\to\mu}(0, v)$, $z = \exp_\mu u$.
///
/// $\log p(z) = \log\mathcal N(v; 0, \Sigma) - (n-1)\log\frac{\sinh r}{r}$ with $r = d(\mu, z)$
/// and $(0, v) = P_{\mu\to o}\log_\mu z$, a density with respect to the Riemannian volume.
///
/// [^1]: Y. Nagano, S. Yamaguchi, Y. Fujita, M. Koyama, *A Wrapped Normal Distribution on
/// Hyperbolic Space for Gradient-Based Learning*, ICML 2019, arXiv:1902.02992.
///
/// ```
/// use geoflow_manifolds::{prelude::*, lorentz::WrappedNormal, Lorentz};
/// use rand::SeedableRng;
/// let wn = WrappedNormal::<f64>::new(&[2f64.sqrt(), 1.0, 0.0], &[0.5, 2.0])?;
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let mut z = [0.0; 3];
/// wn.sample_into(&mut rng, &mut z);
/// assert!(Lorentz::<f64>::new(2)?.check_point(&z).is_ok());
/// assert!(wn.log_density(&z).is_finite());
/// # Ok::<(), ManifoldError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WrappedNormal<T> {
    space: Lorentz<T>,
    mu: Vec<T>,
    var: Vec<T>,
    log_norm: T,
}

impl<T: Real> WrappedNormal<T> {
    /// $\mathcal{WN}(\mu, \operatorname{diag}(\sigma^2))$ on $H^n$ with $n$ = `var.len()`;
    /// `mu` has `n + 1` coordinates and must pass [`Lorentz::check_point`](Manifold::check_point);
    /// every variance must be finite and positive.
    pub fn new(mu: &[T], var: &[T]) -> Result<Self, ManifoldError> {
        let space = Lorentz::new(var.len())?;
        space.check_point(mu)?;
        if !var.iter().all(|&s| s > T::zero() && s.is_finite()) {
            return Err(ManifoldError::InvalidParameter(
                "wrapped normal variances must be finite and positive",
            ));
        }
        let mut log_norm = T::zero();
        for &s in var {
            log_norm -= T::c(0.5) * (T::c(2.0 * core::f64::consts::PI) * s).ln();
        }
        Ok(Self {
            space,
            mu: mu.to_vec(),
            var: var.to_vec(),
            log_norm,
        })
    }

    /// The manifold $H^n$.
    pub fn space(&self) -> Lorentz<T> {
        self.space
    }

    /// Draws one point into `out` (`n + 1` scalars). Allocation-free: $\lVert u\rVert_L =
    /// \lVert v\rVert$ exactly (transport is an isometry), and
    /// $\bar u = v + \frac{\bar\mu\cdot v}{1+\mu_0}\bar\mu$.
    ///
    /// # Panics
    /// If `out` does not have `n + 1` scalars.
    #[track_caller]
    pub fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        let n = self.var.len();
        expect_dim(out.len(), n + 1, "WrappedNormal::sample_into: out");
        let mb = &self.mu[1..];
        for (o, &s) in out[1..].iter_mut().zip(&self.var) {
            *o = s.sqrt() * T::standard_normal(rng);
        }
        let th = norm2(&out[1..]).sqrt();
        let k = dot(mb, &out[1..]) / (T::one() + time_coord(mb));
        let (c, s) = (th.cosh(), sinhc(th));
        let mut zz = T::zero();
        for (o, &m) in out[1..].iter_mut().zip(mb) {
            let u = *o + k * m;
            *o = c * m + s * u;
            zz = o.madd(*o, zz);
        }
        out[0] = (T::one() + zz).sqrt();
    }

    /// $\log p(z)$ w.r.t. the Riemannian volume, exact: $u = \log_\mu z$,
    /// $v = \bar u - \frac{u_0}{1 + \mu_0}\bar\mu$, $r = d(\mu, z)$.
    ///
    /// # Panics
    /// If `z` does not have `n + 1` scalars.
    #[track_caller]
    pub fn log_density(&self, z: &[T]) -> T {
        let n = self.var.len();
        expect_dim(z.len(), n + 1, "WrappedNormal::log_density: z");
        let mb = &self.mu[1..];
        let ch = chord(mb, &z[1..]);
        let r = ch.dist();
        let f = x_over_sinh(r);
        let h = T::c(0.5) * ch.c2;
        let u0 = f * (-ch.e - h * ch.x0);
        let k = u0 / (T::one() + ch.x0);
        let mut q = T::zero();
        for i in 0..n {
            let ui = f * ((z[i + 1] - mb[i]) - h * mb[i]);
            let vi = ui - k * mb[i];
            q += vi * vi / self.var[i];
        }
        self.log_norm - T::c(0.5) * q - T::c(n as f64 - 1.0) * ln_sinhc(r)
    }
}

/// The tangent $\dot\pi = (\bar x\cdot\dot{\bar x}/x_0, \dot{\bar x})$, returned as its $0$-th
/// component (the rest is $\dot{\bar x}$).
#[inline]
fn pi_dot0<T: Real>(x0: T, xb: &[T], dxb: &[T]) -> T {
    dot(xb, dxb) / x0
}

/// Quantities shared by the derivatives of log and dist.
struct LogParts<T> {
    ch: Chord<T>,
    /// $f = d/\sinh d$.
    f: T,
    /// $g = f'(d)/\sinh d = -\operatorname{sinhc}'(d)/d \cdot f^3$.
    g: T,
    h: T,
}

impl<T: Real> LogParts<T> {
    fn new(x: &[T], y: &[T]) -> Self {
        let ch = chord(&x[1..], &y[1..]);
        let d = ch.dist();
        let f = x_over_sinh(d);
        let g = -sinhc_prime_over_x(d) * f * f * f;
        Self {
            ch,
            f,
            g,
            h: T::c(0.5) * ch.c2,
        }
    }
    /// $z_i = (y - \alpha x)\_i$ (projected points).
    #[inline]
    fn z(&self, x: &[T], y: &[T], i: usize) -> T {
        if i == 0 {
            -self.ch.e - self.h * self.ch.x0
        } else {
            (y[i] - x[i]) - self.h * x[i]
        }
    }
    /// $z'_i = (x - \alpha y)\_i$.
    #[inline]
    fn zp(&self, x: &[T], y: &[T], i: usize) -> T {
        if i == 0 {
            self.ch.e - self.h * self.ch.y0
        } else {
            (x[i] - y[i]) - self.h * y[i]
        }
    }
    /// $\dot\alpha = -\langle\dot x, z\rangle_L - \langle z', \dot y\rangle_L$ for tangent
    /// $\dot x = \dot\pi_x$, $\dot y = \dot\pi_y$.
    fn alpha_dot(&self, x: &[T], y: &[T], dx: &[T], dy: &[T]) -> T {
        let dx0 = pi_dot0(self.ch.x0, &x[1..], &dx[1..]);
        let dy0 = pi_dot0(self.ch.y0, &y[1..], &dy[1..]);
        let mut s = dx0 * self.z(x, y, 0) + dy0 * self.zp(x, y, 0);
        for i in 1..x.len() {
            s -= dx[i] * self.z(x, y, i) + dy[i] * self.zp(x, y, i);
        }
        s
    }
}

impl<T: Real> Differentiable for Lorentz<T> {
    /// $\dot{\bar y} = \cosh\theta\\,\dot{\bar x} + \operatorname{sinhc}\theta\\,\dot{\bar u} + \tfrac{\dot m}{2}(\operatorname{sinhc}\theta\\,\bar x + \tfrac{\operatorname{sinhc}'\theta}{\theta}\bar u)$,
    /// $\dot y_0 = \bar y\cdot\dot{\bar y}/y_0$ ($m = \theta^2$; `docs/math/hyperbolic.md`).
    #[track_caller]
    fn exp_jvp(&self, x: &[T], u: &[T], dx: &[T], du: &[T], out: &mut [T]) {
        self.expect(out.len(), "Lorentz::exp_jvp: out");
        let (xb, ub) = (&x[1..], &u[1..]);
        let (m, c, s) = Self::exp_parts(xb, ub);
        let sp = sinhc_prime_over_x(m.sqrt());
        let hm = T::c(0.5) * Self::m_jvp(xb, ub, &dx[1..], &du[1..]);
        let (mut yy, mut ydy) = (T::zero(), T::zero());
        for i in 1..=self.n {
            let y = c * x[i] + s * u[i];
            let dy = c * dx[i] + s * du[i] + hm * (s * x[i] + sp * u[i]);
            out[i] = dy;
            yy = y.madd(y, yy);
            ydy = y.madd(dy, ydy);
        }
        out[0] = ydy / (T::one() + yy).sqrt();
    }
    #[track_caller]
    fn exp_vjp(&self, x: &[T], u: &[T], g: &[T], gx: &mut [T], gu: &mut [T]) {
        self.expect(g.len(), "Lorentz::exp_vjp: g");
        let (xb, ub) = (&x[1..], &u[1..]);
        let (m, c, s) = Self::exp_parts(xb, ub);
        let sp = sinhc_prime_over_x(m.sqrt());
        let mut yy = T::zero();
        for i in 1..=self.n {
            let y = c * x[i] + s * u[i];
            yy = y.madd(y, yy);
        }
        let k0 = g[0] / (T::one() + yy).sqrt();
        // g̃ = ḡ + g0 ȳ/y0; k2 = ½ g̃·(S x̄ + sp ū).
        let mut k2 = T::zero();
        for i in 1..=self.n {
            let gt = g[i] + k0 * (c * x[i] + s * u[i]);
            gx[i] += c * gt;
            gu[i] += s * gt;
            k2 += gt * (s * x[i] + sp * u[i]);
        }
        k2 *= T::c(0.5);
        // ∂m/∂ū = 2ū − 2k x̄/x0², ∂m/∂x̄ = −2k ū/x0² + 2k² x̄/x0⁴.
        let k = dot(xb, ub);
        let x02 = T::one() + norm2(xb);
        let two = T::c(2.0);
        for i in 1..=self.n {
            gu[i] += k2 * (two * u[i] - two * k * x[i] / x02);
            gx[i] += k2 * (-two * k * u[i] / x02 + two * k * k * x[i] / (x02 * x02));
        }
    }
    /// $\dot L = g\dot\alpha\\,z + f(\dot y - \dot\alpha x - \alpha\dot x)$ with $z = y - \alpha x$,
    /// $f = d/\sinh d$, $g = f'(d)/\sinh d$, on the tangent lifts $\dot x = \dot\pi_x$,
    /// $\dot y = \dot\pi_y$.
    #[track_caller]
    fn log_jvp(&self, x: &[T], y: &[T], dx: &[T], dy: &[T], out: &mut [T]) {
        self.expect(out.len(), "Lorentz::log_jvp: out");
        let lp = LogParts::new(x, y);
        let ad = lp.alpha_dot(x, y, dx, dy);
        let al = T::one() + lp.h;
        let dx0 = pi_dot0(lp.ch.x0, &x[1..], &dx[1..]);
        let dy0 = pi_dot0(lp.ch.y0, &y[1..], &dy[1..]);
        out[0] = lp.g * ad * lp.z(x, y, 0) + lp.f * (dy0 - ad * lp.ch.x0 - al * dx0);
        for i in 1..=self.n {
            out[i] = lp.g * ad * lp.z(x, y, i) + lp.f * (dy[i] - ad * x[i] - al * dx[i]);
        }
    }
    #[track_caller]
    fn log_vjp(&self, x: &[T], y: &[T], g: &[T], gx: &mut [T], gy: &mut [T]) {
        self.expect(g.len(), "Lorentz::log_vjp: g");
        let lp = LogParts::new(x, y);
        let al = T::one() + lp.h;
        // κ = g G·z − f G·x (Euclidean dots, projected x0).
        let mut gz = g[0] * lp.z(x, y, 0);
        let mut gxd = g[0] * lp.ch.x0;
        for i in 1..=self.n {
            gz += g[i] * lp.z(x, y, i);
            gxd += g[i] * x[i];
        }
        let kappa = lp.g * gz - lp.f * gxd;
        // Cotangents on the tangent lifts: a = −κ J z − fα G, b = −κ J z' + f G.
        let a0 = kappa * lp.z(x, y, 0) - lp.f * al * g[0];
        let b0 = kappa * lp.zp(x, y, 0) + lp.f * g[0];
        let (ka, kb) = (a0 / lp.ch.x0, b0 / lp.ch.y0);
        for i in 1..=self.n {
            gx[i] += -kappa * lp.z(x, y, i) - lp.f * al * g[i] + ka * x[i];
            gy[i] += -kappa * lp.zp(x, y, i) + lp.f * g[i] + kb * y[i];
        }
    }
    /// $\dot d = \dot\alpha/\sinh d$; 0 at $x = y$.
    fn dist_jvp(&self, x: &[T], y: &[T], dx: &[T], dy: &[T]) -> T {
        let lp = LogParts::new(x, y);
        if lp.ch.c2 == T::zero() {
            return T::zero();
        }
        lp.alpha_dot(x, y, dx, dy) / lp.ch.sinh_d()
    }
    fn dist_vjp(&self, x: &[T], y: &[T], g: T, gx: &mut [T], gy: &mut [T]) {
        let lp = LogParts::new(x, y);
        if lp.ch.c2 == T::zero() {
            return;
        }
        let k = g / lp.ch.sinh_d();
        let (ka, kb) = (k * lp.z(x, y, 0) / lp.ch.x0, k * lp.zp(x, y, 0) / lp.ch.y0);
        for i in 1..=self.n {
            gx[i] += -k * lp.z(x, y, i) + ka * x[i];
            gy[i] += -k * lp.zp(x, y, i) + kb * y[i];
        }
    }
    fn inner_jvp(&self, _x: &[T], u: &[T], v: &[T], _dx: &[T], du: &[T], dv: &[T]) -> T {
        minkowski(du, v) + minkowski(u, dv)
    }
    fn inner_vjp(
        &self,
        _x: &[T],
        u: &[T],
        v: &[T],
        g: T,
        _gx: &mut [T],
        gu: &mut [T],
        gv: &mut [T],
    ) {
        gu[0] -= g * v[0];
        gv[0] -= g * u[0];
        for i in 1..=self.n {
            gu[i] += g * v[i];
            gv[i] += g * u[i];
        }
    }
    /// $\dot u + (\langle\dot x, u\rangle_L + \langle x, \dot u\rangle_L)x + \langle x, u\rangle_L\dot x$.
    fn project_tangent_jvp(&self, x: &[T], u: &[T], dx: &[T], du: &[T], out: &mut [T]) {
        let k = minkowski(x, u);
        let dk = minkowski(dx, u) + minkowski(x, du);
        for i in 0..=self.n {
            out[i] = du[i] + dk * x[i] + k * dx[i];
        }
    }
    fn project_tangent_vjp(&self, x: &[T], u: &[T], g: &[T], gx: &mut [T], gu: &mut [T]) {
        let k = minkowski(x, u);
        let gxd = dot(g, x);
        for i in 0..=self.n {
            let j = if i == 0 { -T::one() } else { T::one() };
            gu[i] += g[i] + gxd * j * x[i];
            gx[i] += gxd * j * u[i] + k * g[i];
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ManifoldExt;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Double-double arithmetic for reference values.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Dd(pub f64, pub f64);
    fn two_sum(a: f64, b: f64) -> Dd {
        let s = a + b;
        let bb = s - a;
        Dd(s, (a - (s - bb)) + (b - bb))
    }
    impl Dd {
        pub fn from(a: f64) -> Self {
            Dd(a, 0.0)
        }
        pub fn add(self, o: Dd) -> Dd {
            let s = two_sum(self.0, o.0);
            let e = s.1 + self.1 + o.1;
            two_sum(s.0, e)
        }
        pub fn neg(self) -> Dd {
            Dd(-self.0, -self.1)
        }
        pub fn sub(self, o: Dd) -> Dd {
            self.add(o.neg())
        }
        pub fn mul(self, o: Dd) -> Dd {
            let p = self.0 * o.0;
            let e = self.0.mul_add(o.0, -p) + (self.0 * o.1 + self.1 * o.0);
            two_sum(p, e)
        }
        pub fn div(self, o: Dd) -> Dd {
            let q1 = self.0 / o.0;
            let r = self.sub(o.mul(Dd::from(q1)));
            let q2 = r.0 / o.0;
            let r = r.sub(o.mul(Dd::from(q2)));
            let q3 = r.0 / o.0;
            Dd::from(q1).add(Dd::from(q2)).add(Dd::from(q3))
        }
        pub fn sqrt(self) -> Dd {
            if self.0 <= 0.0 {
                return Dd::from(0.0);
            }
            let x = Dd::from(self.0.sqrt());
            // one Newton step: x + (a − x²)/(2x)
            x.add(self.sub(x.mul(x)).div(Dd::from(2.0 * x.0)))
        }
    }

    /// Reference chord² of the points with spatial parts `x`, `y` (exact inputs), double-double.
    pub(crate) fn ref_chord2(x: &[f64], y: &[f64]) -> f64 {
        let (mut xx, mut yy, mut dd, mut ds) =
            (Dd::from(1.0), Dd::from(1.0), Dd::from(0.0), Dd::from(0.0));
        for (&a, &b) in x.iter().zip(y) {
            let (a, b) = (Dd::from(a), Dd::from(b));
            xx = xx.add(a.mul(a));
            yy = yy.add(b.mul(b));
            let d = a.sub(b);
            dd = dd.add(d.mul(d));
            ds = ds.add(d.mul(a.add(b)));
        }
        let e = ds.div(xx.sqrt().add(yy.sqrt()));
        dd.sub(e.mul(e)).0
    }
    pub(crate) fn ref_dist(x: &[f64], y: &[f64]) -> f64 {
        2.0 * (ref_chord2(x, y).max(0.0).sqrt() / 2.0).asinh()
    }

    /// A point at radius `r` in direction `dir` (spatial unit vector).
    pub(crate) fn point<T: Real>(r: f64, dir: &[f64]) -> Vec<T> {
        let s = r.sinh();
        let mut x: Vec<T> = core::iter::once(T::zero())
            .chain(dir.iter().map(|&d| T::c(s * d)))
            .collect();
        let xb: Vec<T> = x[1..].to_vec();
        x[0] = time_coord(&xb);
        x
    }

    fn unit(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
        let v: Vec<f64> = (0..n).map(|_| f64::standard_normal(rng)).collect();
        let r = crate::numerics::norm(&v);
        v.iter().map(|x| x / r).collect()
    }

    /// Random unit tangent vector at x (f64), mixed radial/tangential by `mix`.
    fn tangent_dir(h: &Lorentz<f64>, x: &[f64], rng: &mut ChaCha8Rng) -> Vec<f64> {
        let n = x.len() - 1;
        let raw: Vec<f64> = core::iter::once(0.0).chain(unit(rng, n)).collect();
        let u = h.project_tangent(x, &raw);
        let nn = h.norm(x, &u);
        u.iter().map(|a| a / nn).collect()
    }

    /// Pairs (x, y) at radius `r` separated by `sep`, in three kinds of direction.
    fn pairs(r: f64, sep: f64, n: usize, rng: &mut ChaCha8Rng) -> Vec<(Vec<f64>, Vec<f64>)> {
        let h = Lorentz::<f64>::new(n).unwrap();
        let dir = unit(rng, n);
        let x = point::<f64>(r, &dir);
        let mut out = Vec::new();
        // radial outward / inward
        for s in [1.0, -1.0] {
            let y = point::<f64>((r + s * sep).max(0.0), &dir);
            out.push((x.clone(), y));
        }
        for _ in 0..4 {
            let w = tangent_dir(&h, &x, rng);
            let v: Vec<f64> = w.iter().map(|a| a * sep).collect();
            out.push((x.clone(), h.exp(&x, &v)));
        }
        out
    }

    fn widen(x: &[f32]) -> Vec<f64> {
        x.iter().map(|&a| a as f64).collect()
    }

    #[test]
    fn dist_accuracy_scan_against_double_double() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let h = Lorentz::<f64>::new(3).unwrap();
        let h32 = Lorentz::<f32>::new(3).unwrap();
        let mut worst = (0.0f64, 0.0, 0.0);
        let mut worst32 = [(0.0f64, 0.0, 0.0); 3];
        for &r in &[0.0, 1e-3, 0.5, 2.0, 5.0, 9.0, 15.0] {
            for &sep in &[1e-10, 1e-6, 1e-3, 0.1, 1.0, 5.0, 20.0, 30.0] {
                for (x, y) in pairs(r, sep, 3, &mut rng) {
                    if ref_dist(&[0.0; 3], &y[1..]) > 15.01 {
                        continue;
                    }
                    let d_ref = ref_dist(&x[1..], &y[1..]);
                    let e = ((h.dist(&x, &y) - d_ref) / d_ref).abs();
                    if e > worst.0 {
                        worst = (e, r, sep);
                    }
                    // f32: inputs rounded to f32, reference of the rounded inputs.
                    let x32: Vec<f32> = x.iter().map(|&a| a as f32).collect();
                    let y32: Vec<f32> = y.iter().map(|&a| a as f32).collect();
                    let d32 = ref_dist(&widen(&x32)[1..], &widen(&y32)[1..]);
                    if d32 > 0.0 {
                        let e = ((h32.dist(&x32, &y32) as f64 - d32) / d32).abs();
                        let slot = if r <= 5.0 {
                            0
                        } else if r <= 9.0 {
                            1
                        } else {
                            2
                        };
                        if e > worst32[slot].0 {
                            worst32[slot] = (e, r, sep);
                        }
                    }
                }
            }
        }
        eprintln!("lorentz dist f64 worst {worst:?}; f32 worst (r<=5, r<=9, r<=15) {worst32:?}");
        assert!(worst.0 < 1e-12, "f64 {worst:?}");
        assert!(worst.0 < 2e-15, "f64 {worst:?}");
        assert!(worst32.iter().all(|w| w.0 < 1e-6), "f32 {worst32:?}");
    }

    // ---------------------------------------------------------------------------------------
    // Shared derivative checker (also used by the Poincaré tests).

    fn rand_vec(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
        (0..n).map(|_| f64::standard_normal(rng)).collect()
    }
    fn axpy(a: &[f64], h: f64, b: &[f64]) -> Vec<f64> {
        a.iter().zip(b).map(|(x, y)| x + h * y).collect()
    }
    fn d64(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }
    fn close(a: f64, b: f64, scale: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (scale + a.abs().max(b.abs()))
    }

    /// JVP vs central finite differences (h = 1e-6, along arbitrary ambient directions) and
    /// VJP/JVP duality for exp, log, dist, inner and project_tangent at `(p, v)` / `(p, q)`.
    pub(crate) fn check_derivatives<M: Differentiable<Scalar = f64>>(
        m: &M,
        p: &[f64],
        v: &[f64],
        q: &[f64],
        rng: &mut ChaCha8Rng,
        fd_tol: f64,
        what: &str,
    ) {
        let d = m.ambient_dim();
        let h = 1e-6;
        for _ in 0..3 {
            let (dp, dv, dq, g) = (
                rand_vec(rng, d),
                rand_vec(rng, d),
                rand_vec(rng, d),
                rand_vec(rng, d),
            );
            let scale = 1.0;
            // exp
            let mut j = vec![0.0; d];
            m.exp_jvp(p, v, &dp, &dv, &mut j);
            let fp = m.exp(&axpy(p, h, &dp), &axpy(v, h, &dv));
            let fm = m.exp(&axpy(p, -h, &dp), &axpy(v, -h, &dv));
            let jn = crate::numerics::norm(&j);
            for i in 0..d {
                let fd = (fp[i] - fm[i]) / (2.0 * h);
                assert!(
                    close(j[i], fd, jn + scale, fd_tol),
                    "{what}: exp_jvp[{i}] {} vs fd {fd}",
                    j[i]
                );
            }
            let (mut gp, mut gv) = (vec![0.0; d], vec![0.0; d]);
            m.exp_vjp(p, v, &g, &mut gp, &mut gv);
            let (l, r) = (d64(&g, &j), d64(&gp, &dp) + d64(&gv, &dv));
            assert!(close(l, r, 1.0, 1e-12), "{what}: exp duality {l} vs {r}");
            // log
            m.log_jvp(p, q, &dp, &dq, &mut j);
            let fp = m.log(&axpy(p, h, &dp), &axpy(q, h, &dq));
            let fm = m.log(&axpy(p, -h, &dp), &axpy(q, -h, &dq));
            let jn = crate::numerics::norm(&j);
            for i in 0..d {
                let fd = (fp[i] - fm[i]) / (2.0 * h);
                assert!(
                    close(j[i], fd, jn + scale, fd_tol),
                    "{what}: log_jvp[{i}] {} vs fd {fd}",
                    j[i]
                );
            }
            let (mut gp, mut gq) = (vec![0.0; d], vec![0.0; d]);
            m.log_vjp(p, q, &g, &mut gp, &mut gq);
            let (l, r) = (d64(&g, &j), d64(&gp, &dp) + d64(&gq, &dq));
            assert!(close(l, r, 1.0, 1e-12), "{what}: log duality {l} vs {r}");
            // dist (finite differences only away from the kink at p = q)
            let jd = m.dist_jvp(p, q, &dp, &dq);
            let fd = (m.dist(&axpy(p, h, &dp), &axpy(q, h, &dq))
                - m.dist(&axpy(p, -h, &dp), &axpy(q, -h, &dq)))
                / (2.0 * h);
            if m.dist(p, q) > 1e-3 {
                assert!(
                    close(jd, fd, scale, fd_tol),
                    "{what}: dist_jvp {jd} vs fd {fd}"
                );
            } else if m.dist(p, q) == 0.0 {
                assert_eq!(jd, 0.0, "{what}: dist_jvp at p = q");
            }
            let (mut gp, mut gq) = (vec![0.0; d], vec![0.0; d]);
            m.dist_vjp(p, q, 0.7, &mut gp, &mut gq);
            let r = d64(&gp, &dp) + d64(&gq, &dq);
            assert!(close(0.7 * jd, r, 1.0, 1e-12), "{what}: dist duality");
            assert!(jd.is_finite() && gp.iter().chain(&gq).all(|x| x.is_finite()));
            // inner(p, v, dq) with directions (dp, dv, g)
            let ji = m.inner_jvp(p, v, &dq, &dp, &dv, &g);
            let fd = (m.inner(&axpy(p, h, &dp), &axpy(v, h, &dv), &axpy(&dq, h, &g))
                - m.inner(&axpy(p, -h, &dp), &axpy(v, -h, &dv), &axpy(&dq, -h, &g)))
                / (2.0 * h);
            assert!(
                close(ji, fd, scale, fd_tol),
                "{what}: inner_jvp {ji} vs {fd}"
            );
            let (mut gp, mut gu, mut gw) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
            m.inner_vjp(p, v, &dq, 1.3, &mut gp, &mut gu, &mut gw);
            let r = d64(&gp, &dp) + d64(&gu, &dv) + d64(&gw, &g);
            assert!(close(1.3 * ji, r, 1.0, 1e-12), "{what}: inner duality");
            // project_tangent(p, dq)
            m.project_tangent_jvp(p, &dq, &dp, &dv, &mut j);
            let fp = m.project_tangent(&axpy(p, h, &dp), &axpy(&dq, h, &dv));
            let fm = m.project_tangent(&axpy(p, -h, &dp), &axpy(&dq, -h, &dv));
            for i in 0..d {
                let fd = (fp[i] - fm[i]) / (2.0 * h);
                assert!(
                    close(j[i], fd, scale, fd_tol),
                    "{what}: project_tangent_jvp"
                );
            }
            let (mut gp, mut gu) = (vec![0.0; d], vec![0.0; d]);
            m.project_tangent_vjp(p, &dq, &g, &mut gp, &mut gu);
            let (l, r) = (d64(&g, &j), d64(&gp, &dp) + d64(&gu, &dv));
            assert!(close(l, r, 1.0, 1e-12), "{what}: project_tangent duality");
        }
    }

    fn scaled(v: &[f64], k: f64) -> Vec<f64> {
        v.iter().map(|x| x * k).collect()
    }

    #[test]
    fn derivatives_match_finite_differences_and_duality() {
        let h = Lorentz::<f64>::new(3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for &r in &[0.0, 0.4, 1.5] {
            let x = point::<f64>(r, &unit(&mut rng, 3));
            let w = tangent_dir(&h, &x, &mut rng);
            // θ on both sides of the sinhc (1e-4) and sinhc' (1.0) cutoffs, v = 0, tiny v.
            for &th in &[0.0, 1e-9, 0.99e-4, 1.01e-4, 0.3, 0.99, 1.01, 2.5] {
                let v = scaled(&w, th);
                let y = h.exp(&x, &v);
                check_derivatives(&h, &x, &v, &y, &mut rng, 1e-6, &format!("r={r} th={th}"));
            }
        }
    }

    #[test]
    fn exp_log_round_trips_far_and_tiny() {
        let h = Lorentz::<f64>::new(3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for &r in &[0.0, 1.0, 5.0, 10.0, 15.0] {
            let x = point::<f64>(r, &unit(&mut rng, 3));
            for _ in 0..4 {
                let w = tangent_dir(&h, &x, &mut rng);
                for &th in &[1e-12, 1e-8, 1e-4, 1e-3, 0.5, 3.0, 10.0] {
                    let v = scaled(&w, th);
                    // resolution of the representation: an ulp of x̄ moves the point by ≈ ε x0
                    let res = 4.0 * f64::EPSILON * x[0];
                    // and an error at x or in v grows like cosh θ, sinh θ along the geodesic
                    let grow = 1.0 + th.cosh();
                    let nv = h.norm(&x, &v);
                    assert!(((nv - th) / th).abs() < 1e-12, "norm {nv} vs {th}");
                    let y = h.exp(&x, &v);
                    assert!(h.check_point(&y).is_ok());
                    let dy = h.dist(&x, &y);
                    assert!(
                        (dy - nv).abs() < 1e-12 * nv + res * grow,
                        "r={r} th={th}: dist {dy} vs {nv}"
                    );
                    let l = h.log(&x, &y);
                    let nl = h.norm(&x, &l);
                    // resolution of a tangent vector: an ulp of its (large, radial) entries
                    let tres = 4.0 * f64::EPSILON * crate::numerics::norm(&l[1..]);
                    assert!(
                        (nl - dy).abs() < 1e-12 * dy + tres,
                        "r={r} th={th}: |log| {nl} vs {dy}"
                    );
                    // log∘exp = id, measured in the metric at x
                    let diff: Vec<f64> = l.iter().zip(&v).map(|(a, b)| a - b).collect();
                    let e = h.norm(&x, &diff) / nv;
                    assert!(e < 1e-12 + res * grow / nv, "r={r} th={th}: log(exp) {e}");
                    // exp∘log = id
                    let y2 = h.exp(&x, &l);
                    let e = h.dist(&y, &y2);
                    // an error in the tangent vector grows like sinh θ along the geodesic
                    let tol = 1e-12 * nv + res * grow;
                    assert!(e <= tol, "r={r} th={th}: exp(log) err {e}");
                    assert!(
                        h.check_tangent(&x, &l).is_ok(),
                        "{:?}",
                        h.check_tangent(&x, &l)
                    );
                }
            }
        }
    }

    #[test]
    fn transport_is_an_isometry_and_maps_log_to_minus_log() {
        let h = Lorentz::<f64>::new(3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for &(r, sep) in &[
            (0.0, 1e-10),
            (0.5, 1.0),
            (3.0, 1e-6),
            (3.0, 4.0),
            (10.0, 2.0),
            (14.0, 1e-6),
            (12.0, 3.0),
        ] {
            let x = point::<f64>(r, &unit(&mut rng, 3));
            let y = h.exp(&x, &scaled(&tangent_dir(&h, &x, &mut rng), sep));
            let u = scaled(&tangent_dir(&h, &x, &mut rng), 0.7);
            let v = tangent_dir(&h, &x, &mut rng);
            let (pu, pv) = (h.transport(&x, &y, &u), h.transport(&x, &y, &v));
            assert!(h.check_tangent(&y, &pu).is_ok());
            // documented conditioning: ε (x0 + y0)
            let tol = 1e-13 + 8.0 * f64::EPSILON * (x[0] + y[0]);
            let nu = h.norm(&y, &pu);
            assert!((nu - 0.7).abs() < tol, "r={r} sep={sep}: |Pu| {nu}");
            // angles by polarisation with the accurate norm (the Minkowski form cancels by x0²)
            let pol = |p: &[f64], a: &[f64], b: &[f64]| {
                let s: Vec<f64> = a.iter().zip(b).map(|(x, y)| x + y).collect();
                let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
                (h.norm(p, &s).powi(2) - h.norm(p, &d).powi(2))
                    / (4.0 * h.norm(p, a) * h.norm(p, b))
            };
            let (cos, pcos) = (pol(&x, &u, &v), pol(&y, &pu, &pv));
            assert!((cos - pcos).abs() < tol, "{cos} vs {pcos}");
            let l = h.log(&x, &y);
            let pl = h.transport(&x, &y, &l);
            let ml = h.log(&y, &x);
            let diff: Vec<f64> = pl.iter().zip(&ml).map(|(a, b)| a + b).collect();
            let e = h.norm(&y, &diff);
            assert!(
                e <= tol * sep + 4.0 * f64::EPSILON * y[0],
                "r={r} sep={sep}: {e}"
            );
        }
    }

    #[test]
    fn geodesics_and_velocities() {
        let h = Lorentz::<f64>::new(2).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for &(r, sep) in &[
            (0.0, 0.0),
            (0.0, 1e-9),
            (1.0, 0.7),
            (4.0, 6.0),
            (12.0, 1e-5),
        ] {
            let x = point::<f64>(r, &unit(&mut rng, 2));
            let y = h.exp(&x, &scaled(&tangent_dir(&h, &x, &mut rng), sep));
            assert_eq!(h.geodesic(&x, &y, 0.0), h.project_point(&x));
            assert_eq!(h.geodesic(&x, &y, 1.0), h.project_point(&y));
            let l = h.log(&x, &y);
            let v0 = h.geodesic_velocity(&x, &y, 0.0);
            for i in 0..3 {
                assert!((v0[i] - l[i]).abs() <= 1e-12 * (1.0 + l[i].abs()));
            }
            for &t in &[0.2, 0.5, 0.5 + 1e-12, 0.8] {
                let g = h.geodesic(&x, &y, t);
                let ge = h.exp(&x, &scaled(&l, t));
                let res = 8.0 * f64::EPSILON * x[0].max(y[0]) * (1.0 + sep);
                let e = h.dist(&g, &ge);
                assert!(e <= 1e-12 * sep + res, "t={t} r={r} sep={sep}: {e}");
                assert!((h.dist(&x, &g) - t * sep).abs() <= 1e-12 * sep + res);
                let vel = h.geodesic_velocity(&x, &y, t);
                assert!(h.check_tangent(&g, &vel).is_ok());
                assert!(
                    (h.norm(&g, &vel) - sep).abs() <= 1e-11 * (1.0 + sep),
                    "t={t}"
                );
                // finite difference of the geodesic in the spatial coordinates
                let dt = 1e-6;
                let (gp, gm) = (h.geodesic(&x, &y, t + dt), h.geodesic(&x, &y, t - dt));
                for i in 1..3 {
                    let fd = (gp[i] - gm[i]) / (2.0 * dt);
                    assert!(
                        (fd - vel[i]).abs() <= 1e-6 * (1.0 + g[0]) * (1.0 + sep),
                        "t={t} {fd} {}",
                        vel[i]
                    );
                }
            }
        }
    }

    /// ∫ p dvol over H² in geodesic polar coordinates around the origin
    /// (dvol = sinh r dr dφ): midpoint rule in r, trapezoid in φ.
    fn integrate_h2(f: impl Fn(&[f64]) -> f64, rmax: f64) -> f64 {
        let (nr, nphi) = (3000, 256);
        let dr = rmax / nr as f64;
        let dphi = 2.0 * core::f64::consts::PI / nphi as f64;
        let mut s = 0.0;
        for i in 0..nr {
            let r = (i as f64 + 0.5) * dr;
            for j in 0..nphi {
                let phi = j as f64 * dphi;
                let z = [r.cosh(), r.sinh() * phi.cos(), r.sinh() * phi.sin()];
                s += f(&z).exp() * r.sinh();
            }
        }
        s * dr * dphi
    }

    #[test]
    fn densities_are_normalised_on_h2() {
        let h = Lorentz::<f64>::new(2).unwrap();
        let z = integrate_h2(|z| h.base_log_density(z), 12.0);
        assert!((z - 1.0).abs() < 1e-6, "base integrates to {z}");
        let mu = point::<f64>(0.8, &[0.6, 0.8]);
        let wn = WrappedNormal::new(&mu, &[0.3, 0.9]).unwrap();
        let z = integrate_h2(|z| wn.log_density(z), 14.0);
        assert!((z - 1.0).abs() < 1e-5, "wrapped normal integrates to {z}");
        // the isotropic WN at the origin is the base distribution
        let wn0 = WrappedNormal::new(&[1.0, 0.0, 0.0], &[1.0, 1.0]).unwrap();
        let z = point::<f64>(1.3, &[0.0, 1.0]);
        assert!((wn0.log_density(&z) - h.base_log_density(&z)).abs() < 1e-14);
    }

    #[test]
    fn sampling_matches_its_density() {
        let h = Lorentz::<f64>::new(3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let n = 20000;
        let mut m2 = 0.0;
        for _ in 0..n {
            let z = h.sample_base(&mut rng);
            assert!(h.check_point(&z).is_ok());
            let r = h.dist(&[1.0, 0.0, 0.0, 0.0], &z);
            m2 += r * r;
        }
        m2 /= n as f64;
        assert!((m2 - 3.0).abs() < 0.1, "E r² = {m2}");
        // WN: the pulled-back tangent vectors have the requested variances.
        let mu = point::<f64>(2.0, &[0.0, 0.6, 0.8]);
        let var = vec![0.2, 1.0, 3.0];
        let wn = WrappedNormal::new(&mu, &var).unwrap();
        let mut acc = [0.0; 3];
        let mut z = [0.0; 4];
        let o = [1.0, 0.0, 0.0, 0.0];
        for _ in 0..n {
            wn.sample_into(&mut rng, &mut z);
            assert!(h.check_point(&z).is_ok());
            let v = h.transport(&mu, &o, &h.log(&mu, &z));
            for i in 0..3 {
                acc[i] += v[i + 1] * v[i + 1];
            }
        }
        for i in 0..3 {
            let s = acc[i] / n as f64;
            assert!(
                (s / var[i] - 1.0).abs() < 0.05,
                "var[{i}] {s} vs {}",
                var[i]
            );
        }
        // Seeded value stability.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let a = h.sample_base(&mut rng);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(a, h.sample_base(&mut rng));
    }

    #[test]
    fn coincident_points() {
        let h = Lorentz::<f64>::new(2).unwrap();
        for r in [0.0, 2.0, 15.0] {
            let x = point::<f64>(r, &[0.6, 0.8]);
            assert_eq!(h.dist(&x, &x), 0.0);
            assert!(h.log(&x, &x).iter().all(|&a| a == 0.0));
            assert_eq!(h.exp(&x, &[0.0; 3]), x);
            assert!(h.geodesic_velocity(&x, &x, 0.7).iter().all(|&a| a == 0.0));
            let v = h.project_tangent(&x, &[0.0, 1.0, -1.0]);
            let pv = h.transport(&x, &x, &v);
            assert!(pv
                .iter()
                .zip(&v)
                .all(|(a, b)| (a - b).abs() <= 1e-15 * (1.0 + b.abs())));
        }
    }

    #[test]
    fn checks_and_constructor() {
        assert!(Lorentz::<f64>::new(0).is_err());
        let h = Lorentz::<f64>::new(2).unwrap();
        assert!(h.check_point(&[1.0, 0.0, 0.0]).is_ok());
        assert!(matches!(
            h.check_point(&[1.0, 0.0]),
            Err(ManifoldError::DimensionMismatch { .. })
        ));
        assert_eq!(
            h.check_point(&[f64::NAN, 0.0, 0.0]),
            Err(ManifoldError::NonFinite)
        );
        assert!(matches!(
            h.check_point(&[-1.0, 0.0, 0.0]),
            Err(ManifoldError::NotOnManifold { .. })
        ));
        assert!(matches!(
            h.check_point(&[1.1, 0.0, 0.0]),
            Err(ManifoldError::NotOnManifold { .. })
        ));
        // far points pass after projection in both precisions (tolerance scales with x0²)
        let x = point::<f64>(15.0, &[0.6, 0.8]);
        assert!(h.check_point(&x).is_ok());
        let x32 = point::<f32>(5.0, &[0.6, 0.8]);
        assert!(Lorentz::<f32>::new(2).unwrap().check_point(&x32).is_ok());
        assert!(matches!(
            h.check_tangent(&[1.0, 0.0, 0.0], &[1.0, 0.0, 0.0]),
            Err(ManifoldError::NotTangent { .. })
        ));
        assert!(h
            .check_tangent(&x, &h.project_tangent(&x, &[0.3, 1.0, -2.0]))
            .is_ok());
        assert_eq!(h.curvature(), -1.0);
        assert_eq!(h.injectivity_radius(), f64::INFINITY);
        assert!(WrappedNormal::<f64>::new(&[1.0, 0.0, 0.0], &[1.0, 0.0]).is_err());
    }

    #[test]
    fn f32_agrees_with_f64() {
        let h = Lorentz::<f64>::new(3).unwrap();
        let h32 = Lorentz::<f32>::new(3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        for &r in &[0.0, 1.0, 5.0] {
            let x = point::<f64>(r, &unit(&mut rng, 3));
            let x32: Vec<f32> = x.iter().map(|&a| a as f32).collect();
            let x = widen(&x32);
            for &th in &[1e-6, 1e-3, 0.5, 3.0] {
                let v = scaled(&tangent_dir(&h, &x, &mut rng), th);
                let v32: Vec<f32> = v.iter().map(|&a| a as f32).collect();
                let v = widen(&v32);
                let y = h.exp(&x, &v);
                let y32 = widen(&h32.exp(&x32, &v32));
                let res = 4.0 * f32::EPSILON as f64 * x[0];
                let e = h.dist(&y, &y32);
                assert!(e <= 1e-6 * th + res, "r={r} th={th}: {e}");
                let d32 = h32.dist(&x32, &h32.exp(&x32, &v32)) as f64;
                let d = h.norm(&x, &v);
                assert!((d32 - d).abs() < 1e-6 * d + res, "r={r} th={th}: {d32}");
            }
        }
    }

    include!("testdata/lorentz_geodesic_ref.rs");

    /// $\lVert a - b\rVert / \lVert b\rVert$ (Euclidean, ambient).
    fn rel_err(a: &[f64], b: &[f64]) -> f64 {
        let e: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        (e / b.iter().map(|y| y * y).sum::<f64>()).sqrt()
    }

    /// The point with spatial part `xb` (time part from the constraint).
    fn lift(xb: &[f64]) -> Vec<f64> {
        let mut x = vec![(1.0 + xb.iter().map(|v| v * v).sum::<f64>()).sqrt()];
        x.extend_from_slice(xb);
        x
    }

    /// Far points near $t = 1/2$: the former $td^2\operatorname{sinhc}(td)\\,x + \cosh(td)\log_x y$
    /// cancelled two terms of size $e^{d/2}$ (8e-8 relative disagreement between scalar and
    /// batch on an H¹⁶ pair like this one).
    #[test]
    fn geodesic_velocity_far_points_regression() {
        let m = Lorentz::<f64>::new(16).unwrap();
        let (x, y) = (lift(&FAR_X), lift(&FAR_Y));
        for (t, rf) in [(0.5, &FAR_V_HALF), (0.5 + f64::EPSILON / 2.0, &FAR_V_AFTER)] {
            let v = m.geodesic_velocity(&x, &y, t);
            let mut vb = vec![0.0; 17];
            m.geodesic_velocity_batch_into(&x, &y, &[t], &mut vb);
            assert!(rel_err(&v, rf) < 1e-14, "{t}: {}", rel_err(&v, rf));
            assert!(rel_err(&vb, rf) < 1e-14, "{t}: {}", rel_err(&vb, rf));
        }
    }

    /// The midpoint of two points at radius 15 is near the origin; the former
    /// $\cosh(td)\,\bar x + w_2(\bar y - \alpha\bar x)$ cancelled like $e^d$ there
    /// ($2.6\cdot10^{-5}$ absolute scalar, $5\cdot10^{-3}$ batch). References from mpmath.
    #[test]
    fn geodesic_far_points_regression() {
        let m = Lorentz::<f64>::new(2).unwrap();
        let x = lift(&[1634508.6862359024, 0.0]);
        let y = lift(&[-980705.2117415414, 1307606.948988722]);
        let cases = [
            (
                0.5,
                [1.1180339887498425, 0.22360679774992667, 0.44721359549985334],
            ),
            (
                0.25,
                [955.8863729855481, 955.885849910646, 0.00026153736162081424],
            ),
            (
                0.75,
                [955.8863729855481, -573.5313007164983, 764.7088368509337],
            ),
        ];
        for (t, rf) in cases {
            let g = m.geodesic(&x, &y, t);
            let mut gb = vec![0.0; 3];
            m.geodesic_batch_into(&x, &y, &[t], &mut gb);
            assert!(rel_err(&g, &rf) < 4e-15, "{t}: {g:?}");
            assert!(rel_err(&gb, &rf) < 4e-15, "{t}: {gb:?}");
        }
    }

    /// Scalar and batch geodesic points and velocities (relative to the ambient norm) in both
    /// dtypes against [`LORENTZ_GEODESIC_REF`]: radii up to 15
    /// (f64) and 5 (f32), separations from $10^{-7}$ rad to antipodal, $t \in [0, 1]$ including
    /// just past $1/2$.
    #[test]
    fn geodesic_velocity_accuracy_scan() {
        let m = Lorentz::<f64>::new(2).unwrap();
        let m32 = Lorentz::<f32>::new(2).unwrap();
        let down = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let up = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        let (mut xs, mut ys, mut ts) = (vec![], vec![], vec![]);
        for r in &LORENTZ_GEODESIC_REF {
            xs.extend(lift(&r[0..2]));
            ys.extend(lift(&r[2..4]));
            ts.push(r[4]);
        }
        let mut vb = vec![0.0; xs.len()];
        m.geodesic_velocity_batch_into(&xs, &ys, &ts, &mut vb);
        let mut vb32 = vec![0.0f32; xs.len()];
        m32.geodesic_velocity_batch_into(&down(&xs), &down(&ys), &down(&ts), &mut vb32);
        let (mut gb, mut gb32) = (vec![0.0; xs.len()], vec![0.0f32; xs.len()]);
        m.geodesic_batch_into(&xs, &ys, &ts, &mut gb);
        m32.geodesic_batch_into(&down(&xs), &down(&ys), &down(&ts), &mut gb32);
        let (mut g64, mut g32) = (0.0f64, 0.0f64);
        let (mut e64, mut e32) = (0.0f64, 0.0f64);
        for (i, r) in LORENTZ_GEODESIC_REF.iter().enumerate() {
            let s = 3 * i..3 * i + 3;
            let (x, y, rf) = (&xs[s.clone()], &ys[s.clone()], &r[5..8]);
            let v = m.geodesic_velocity(x, y, r[4]);
            let errs64 = [rel_err(&v, rf), rel_err(&vb[s.clone()], rf)];
            assert!(errs64[0].max(errs64[1]) < 1e-14, "row {i}: {errs64:?}");
            e64 = e64.max(errs64[0]).max(errs64[1]);
            let gr = &r[8..11];
            let g = m.geodesic(x, y, r[4]);
            let gerr = [rel_err(&g, gr), rel_err(&gb[s.clone()], gr)];
            assert!(gerr[0].max(gerr[1]) < 4e-15, "row {i}: {gerr:?}");
            g64 = g64.max(gerr[0]).max(gerr[1]);
            if r[..4].iter().all(|v| v.abs() < 75.0) {
                let v32 = m32.geodesic_velocity(&down(x), &down(y), r[4] as f32);
                let errs32 = [rel_err(&up(&v32), rf), rel_err(&up(&vb32[s.clone()]), rf)];
                assert!(errs32[0].max(errs32[1]) < 2e-6, "row {i}: {errs32:?}");
                e32 = e32.max(errs32[0]).max(errs32[1]);
                let g = m32.geodesic(&down(x), &down(y), r[4] as f32);
                let gerr = [rel_err(&up(&g), gr), rel_err(&up(&gb32[s.clone()]), gr)];
                assert!(gerr[0].max(gerr[1]) < 5e-7, "row {i}: {gerr:?}");
                g32 = g32.max(gerr[0]).max(gerr[1]);
            }
        }
        println!("lorentz geodesic velocity: max rel err f64 {e64:.2e}, f32 {e32:.2e}");
        println!("lorentz geodesic point: max rel err f64 {g64:.2e}, f32 {g32:.2e}");
    }
}
