//! Hyperbolic space in the Poincaré ball model $B^n = \lbrace p \in \mathbb R^n : \lVert p\rVert < 1\rbrace$,
//! curvature $-1$.
//!
//! Metric $g_p = \lambda_p^2 I$ with conformal factor $\lambda_p = 2/(1 - \lVert p\rVert^2)$.
//! Points and tangent vectors are `n` scalars. Möbius addition
//! $a \oplus b = \frac{(1 + 2a\cdot b + \lVert b\rVert^2)a + (1 - \lVert a\rVert^2)b}{1 + 2a\cdot b + \lVert a\rVert^2\lVert b\rVert^2}$.
//! Write $a_p = 1 - \lVert p\rVert^2 = 2/\lambda_p$ and $\delta = q - p$.
//!
//! | operation | formula |
//! |---|---|
//! | distance | $d = 2\operatorname{artanh}\lVert -p\oplus q\rVert = 2\operatorname{arsinh}(c)$, $c^2 = \lVert\delta\rVert^2/(a_pa_q)$ |
//! | exp | $\exp_p(u) = p \oplus \tanh(\lambda_p\lVert u\rVert/2)\\,u/\lVert u\rVert = \frac{2(\alpha p + \tau u)}{D}$, $r = \lambda_p\lVert u\rVert$, $\tau = \frac{\tanh r}{r}$, $\alpha = 1 + \tau\lambda_p\\,p\cdot u$, $D = a_p\operatorname{sech}r + 2 - a_p + 2\tau\lambda_p\\,p\cdot u$ |
//! | log | $\log_p q = \frac{2}{\lambda_p}\operatorname{artanh}\lVert m\rVert\\,\frac{m}{\lVert m\rVert} = \frac{\operatorname{arsinh} c}{c\sqrt{1+c^2}}\cdot\frac{a_p\delta - \lVert\delta\rVert^2p}{a_q}$, $m = -p\oplus q$ |
//! | transport | $P_{p\to q}(v) = \frac{\lambda_p}{\lambda_q}\operatorname{gyr}\lbrack q, -p\rbrack v$ |
//! | geodesic | $\gamma(t) = p \oplus \tanh(td/2)\\,\hat m = \frac{2(w_1a_q\\,p + w_2a_p\\,q)}{M}$, $w_1 = \frac{\sinh((1-t)d)}{\sinh d}$, $w_2 = \frac{\sinh(td)}{\sinh d}$, $M = a_pa_q + w_1(2-a_p)a_q + w_2(2-a_q)a_p$ |
//! | base | wrapped normal at 0: $p = \tanh(\lVert v\rVert/2)\\,v/\lVert v\rVert$, $v \sim \mathcal N(0, I)$ |
//!
//! The map $p \mapsto \big(1 + \lVert p\rVert^2, 2p\big)/(1 - \lVert p\rVert^2)$ is an isometry onto
//! [`Lorentz`] ([`Diffeo`] impl), with inverse $x \mapsto \bar x/(1 + x_0)$.
//!
//! # Numerical notes
//!
//! * $-p \oplus q$ is evaluated as $(a_p\delta - \lVert\delta\rVert^2 p)/(\lVert\delta\rVert^2 + a_pa_q)$:
//!   the textbook numerator and denominator cancel for nearby points, these do not. The log map
//!   and distance never call $\operatorname{artanh}$ (ill-conditioned near 1): they use
//!   $d = 2\operatorname{arsinh}(c)$, accurate over the whole ball.
//! * $a_p = 1 - \lVert p\rVert^2$ is computed in double-word arithmetic ([`one_minus_norm2`]),
//!   accurate to a few ulps of itself for the given coordinates, so distances are accurate to
//!   $5\cdot10^{-16}$ relative (measured against a double-double reference) for norms up to
//!   $1 - 10^{-6}$ and beyond. The representation itself resolves a point only to
//!   $\varepsilon/a_p$ in hyperbolic distance (an ulp of $p$ against $1 - \lVert p\rVert$):
//!   $10^{-10}$ at $\lVert p\rVert = 1 - 10^{-6}$ in f64. Results of exp and geodesics are rounded
//!   to that resolution, and the tests check exactly that bound.
//! * Transport uses Ungar's gyration rewritten in $\delta = q - p$ and $a_p$, $a_q$; the textbook
//!   form cancels by $1/a_p^2$ near the boundary. The derivatives of Möbius addition use
//!   $a - a\oplus b = -\gamma(\lVert b\rVert^2a + b)/D$ for the same reason
//!   (`docs/math/hyperbolic.md`).
//! * Series branches: $\tanh(s)/s$ comes from [`numerics`](crate::numerics); this module adds
//!   $\frac{d}{ds}(\tanh s/s)/s$ ([`TANH_OVER_X_PRIME_CUTOFF`]), $\operatorname{arsinh}(c)/c$
//!   ([`ASINH_OVER_X_CUTOFF`]) and $K(y) = \operatorname{arsinh}\sqrt y/\sqrt{y(1+y)}$ with its
//!   derivative ([`K_PRIME_CUTOFF`]), each scanned against a long series on both sides of its
//!   cutoff.
//! * Geodesics and their velocities do not use Möbius addition: $p \oplus w$ divides by
//!   $1 + 2p\cdot w + \lVert p\rVert^2\lVert w\rVert^2$, which cancels to $O(a_p^2)$ when the
//!   geodesic crosses the ball (f64 lost $\varepsilon/a_p^2$; f32 returned NaN/inf). They use the
//!   Lorentz geodesic mapped to the ball (table), whose scalars are sums of positive terms for
//!   $t \in \lbrack 0, 1\rbrack$ (derivation in `docs/math/hyperbolic.md`). Measured against
//!   mpmath for norms up to $1 - 10^{-6}$, all separations: points $4\cdot10^{-16}$ absolute,
//!   velocities $3\cdot10^{-15}$ relative (f64).
//! * Exp does not use Möbius addition either (same cancellation: half of $\log_p(-p)$ landed
//!   $2.6\cdot10^{-10}$ from the origin in f64 at $a_p = 6\cdot10^{-4}$, inf in f32). It maps the
//!   Lorentz exponential to the ball (table) with its denominator as a sum of positive terms and,
//!   for steps back across the ball, the numerator split along $p$ ([`PoincareBall::exp_into`],
//!   `docs/math/hyperbolic.md`). Measured against mpmath for norms up to $1 - 10^{-6}$ (steps
//!   across the ball to $1.5\times$ its width, tangential and outward steps): $2.3\cdot10^{-15}$
//!   absolute (f64), and within $3.6\\,\varepsilon$ times the componentwise condition number in
//!   both dtypes; exp itself is ill-conditioned there for $n \ge 2$ (an ulp of the direction of
//!   $u$ moves a point landing near the far boundary by $\approx 4\varepsilon/a_p$).
//! * `project_point_into` pulls points to norm at most $1 - \epsilon$ with
//!   $\epsilon$ = [`BALL_EPS`] = $(10^{-6}, 10^{-12})$ for (f32, f64); `check_point` accepts
//!   exactly the points with $a_p > 0$.
//! * `retract_into` is the exponential (the trait default).
//! * Cut locus: none (Cartan–Hadamard; `try_log_into` never fails). `exp` never leaves the ball in exact arithmetic
//!   ($\tanh < 1$); a step that ends within an ulp of the sphere rounds onto it, so
//!   project the result when taking huge steps.
//!
//! # f32 envelope
//!
//! On given f32 coordinates the kernels are accurate to $2\cdot10^{-7}$ relative (distances,
//! measured) for every norm up to $1 - 10^{-6}$. The representation resolves points to
//! $\varepsilon/a_p \approx 6\cdot10^{-8}/a_p$: $10^{-6}$ for $\lVert p\rVert \le 0.97$ (radius
//! $\approx 4.2$) and $10^{-4}$ for $\lVert p\rVert \le 0.9997$ (radius $\approx 8$); beyond that use
//! f64. Geodesic points are accurate to $2.3\cdot10^{-7}$ absolute and geodesic velocities to
//! $1.2\cdot10^{-6}$ relative (measured, norms up to $1 - 10^{-6}$; the velocity error grows like
//! $\varepsilon d$ through $\sinh(td)$, with $d \le 29$ there). Exp is finite everywhere there
//! and accurate to $1.7\cdot10^{-6}$ absolute on the mpmath table (within $3.5\\,\varepsilon$ times
//! its condition number).
//!
//! ```
//! use geoflow_manifolds::{prelude::*, PoincareBall};
//! let b = PoincareBall::<f64>::new(2)?;
//! let (p, q) = ([0.0, 0.0], [0.5, 0.0]);
//! assert!((b.dist(&p, &q) - 2.0 * 0.5f64.atanh()).abs() < 1e-15);
//! let v = b.log(&p, &q);
//! let q2 = b.exp(&p, &v);
//! assert!((q2[0] - 0.5).abs() < 1e-15);
//! # Ok::<(), ManifoldError>(())
//! ```

use core::marker::PhantomData;

use crate::lorentz::{ln_sinhc, two_sum, Dw, Lorentz};
use crate::manifold::expect_dim;
use crate::numerics::{all_finite, dot, horner, norm2, sinhc, tanh_over_x};
use crate::{
    ConstantCurvature, Diffeo, Differentiable, Manifold, ManifoldError, ParallelTransport, Real,
    Sample,
};
use rand::Rng;

/// Points are pulled to norm at most $1 - \epsilon$ by `project_point_into`, as (f32, f64).
pub const BALL_EPS: (f32, f64) = (1e-6, 1e-12);

/// Series cutoffs of [`tanh_over_x_prime_over_x`] as (f32, f64). The closed form cancels like
/// $3/(2s^2)$; the 11-term series (radius of convergence $\pi/2$) takes over below.
pub const TANH_OVER_X_PRIME_CUTOFF: (f32, f64) = (0.5, 0.2);

/// Taylor coefficients in $s^2$ of $\frac{d}{ds}(\tanh s/s)/s$.
const TANH_OVER_X_PRIME_SERIES: [f64; 11] = [
    -2.0 / 3.0,
    8.0 / 15.0,
    -34.0 / 105.0,
    496.0 / 2835.0,
    -2764.0 / 31185.0,
    87376.0 / 2027025.0,
    -1859138.0 / 91216125.0,
    102473312.0 / 10854718875.0,
    -887722324.0 / 206239658625.0,
    75553864336.0 / 38979295480125.0,
    -227854983724.0 / 263683469424375.0,
];

/// $\frac{d}{ds}\big(\tanh s / s\big)\big/ s = (s\operatorname{sech}^2 s - \tanh s)/s^3$, which
/// tends to $-2/3$ at 0.
#[inline]
pub fn tanh_over_x_prime_over_x<T: Real>(s: T) -> T {
    if s.abs() < T::pick(TANH_OVER_X_PRIME_CUTOFF) {
        horner(s * s, &TANH_OVER_X_PRIME_SERIES)
    } else {
        let c = s.cosh();
        (s / (c * c) - s.tanh()) / (s * s * s)
    }
}

/// Series cutoffs of [`asinh_over_x`] as (f32, f64); no cancellation, the series avoids 0/0.
pub const ASINH_OVER_X_CUTOFF: (f32, f64) = (1e-2, 1e-4);

/// $\operatorname{arsinh}(x)/x$, with value 1 at 0.
#[inline]
pub fn asinh_over_x<T: Real>(x: T) -> T {
    if x.abs() < T::pick(ASINH_OVER_X_CUTOFF) {
        let x2 = x * x;
        T::one() - x2 / T::c(6.0) + T::c(3.0 / 40.0) * x2 * x2
    } else {
        x.asinh() / x
    }
}

/// Series cutoffs of [`k_of_y`] and [`k_prime`] in $y = c^2$, as (f32, f64). $K$ has no
/// cancellation (its series only avoids 0/0); $K'$ cancels like $1/y$, so its 16-term series
/// (radius of convergence 1) takes over below 0.25 / 0.04.
pub const K_PRIME_CUTOFF: (f32, f64) = (0.25, 0.04);

/// Taylor coefficients of $K(y) = \sum_n (-1)^n \frac{4^n (n!)^2}{(2n+1)!} y^n$.
const K_SERIES: [f64; 4] = [1.0, -2.0 / 3.0, 8.0 / 15.0, -16.0 / 35.0];

/// Taylor coefficients of $K'(y)$.
const K_PRIME_SERIES: [f64; 16] = [
    -0.6666666666666666,
    1.0666666666666667,
    -1.3714285714285714,
    1.6253968253968254,
    -1.847041847041847,
    2.045954045954046,
    -2.227816627816628,
    2.3963069610128436,
    -2.5539587347636883,
    2.7026018357287707,
    -2.8436071488972283,
    2.9780322141178246,
    -3.106712618431558,
    3.2303218738068185,
    -3.3494120811361023,
    3.4644423950337058,
];

/// $K(y) = \frac{\operatorname{arsinh}\sqrt y}{\sqrt{y(1+y)}}$, the log-map factor
/// $\log_p q = K(c^2)\\,(a_p\delta - \lVert\delta\rVert^2 p)/a_q$; $K(0) = 1$.
#[inline]
pub fn k_of_y<T: Real>(y: T) -> T {
    if y < T::pick(K_PRIME_CUTOFF) * T::pick((1e-3, 1e-6)) {
        horner(y, &K_SERIES)
    } else {
        let c = y.sqrt();
        c.asinh() / (c * (T::one() + y).sqrt())
    }
}

/// $K'(y) = \frac{1/(1+y) - K(y)}{2y} - \frac{K(y)}{2(1+y)}$, which tends to $-2/3$ at 0.
#[inline]
pub fn k_prime<T: Real>(y: T) -> T {
    if y < T::pick(K_PRIME_CUTOFF) {
        horner(y, &K_PRIME_SERIES)
    } else {
        let k = k_of_y(y);
        let opy = T::one() + y;
        (T::one() / opy - k) / (T::c(2.0) * y) - k / (T::c(2.0) * opy)
    }
}

/// The Poincaré ball $B^n$; points and tangent vectors are `n` scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoincareBall<T> {
    n: usize,
    _t: PhantomData<T>,
}

impl<T: Real> PoincareBall<T> {
    /// $B^n$ for $n \ge 1$.
    pub fn new(n: usize) -> Result<Self, ManifoldError> {
        if n == 0 {
            return Err(ManifoldError::InvalidParameter(
                "Poincaré ball dimension must be at least 1",
            ));
        }
        Ok(Self { n, _t: PhantomData })
    }

    #[track_caller]
    #[inline]
    fn expect(&self, len: usize, what: &str) {
        expect_dim(len, self.n, what);
    }
}

/// $1 - \lVert p\rVert^2$, accurate to a few ulps of itself for the given coordinates: the
/// squares are split exactly ($x^2 = h + l$ with an fma) and summed in double-word arithmetic, so
/// near the boundary (where the value is much smaller than its terms) no digit is lost.
#[inline]
pub fn one_minus_norm2<T: Real>(p: &[T]) -> T {
    let mut s = Dw(T::one(), T::zero());
    for &x in p {
        let h = x * x;
        let l = x.mul_add(x, -h);
        s = s.add(Dw(-h, -l));
    }
    s.0 + s.1
}

/// Pair quantities: $a_p$, $a_q$, $\lVert\delta\rVert^2$, $y = c^2$.
#[derive(Debug, Clone, Copy)]
struct Pair<T> {
    ap: T,
    aq: T,
    dd: T,
    y: T,
}

impl<T: Real> Pair<T> {
    #[inline]
    fn new(p: &[T], q: &[T]) -> Self {
        let ap = one_minus_norm2(p);
        let aq = one_minus_norm2(q);
        let mut dd = T::zero();
        for (&a, &b) in p.iter().zip(q) {
            let d = b - a;
            dd = d.madd(d, dd);
        }
        Self {
            ap,
            aq,
            dd,
            y: dd / (ap * aq),
        }
    }
    /// $d = 2\operatorname{arsinh}(c)$.
    #[inline]
    fn dist(&self) -> T {
        T::c(2.0) * self.y.sqrt().asinh()
    }
}

/// Double-word product $a b$ (as the Lorentz model's compensated arithmetic).
#[inline]
fn dw_mul<T: Real>(a: Dw<T>, b: Dw<T>) -> Dw<T> {
    let p = a.0 * b.0;
    let e = a.0.mul_add(b.0, -p) + (a.0 * b.1 + a.1 * b.0);
    two_sum(p, e)
}

/// Double-word quotient $a/b$.
#[inline]
fn dw_div<T: Real>(a: Dw<T>, b: Dw<T>) -> Dw<T> {
    let q1 = a.0 / b.0;
    let r = a.add(dw_mul(b, Dw(-q1, T::zero())));
    two_sum(q1, r.0 / b.0)
}

/// The dot product $x\cdot y$ as a double word (error-free products summed in double-word
/// arithmetic).
#[inline]
pub(crate) fn dot_dw<T: Real>(x: &[T], y: &[T]) -> Dw<T> {
    let mut s = Dw(T::zero(), T::zero());
    for (&a, &b) in x.iter().zip(y) {
        let h = a * b;
        s = s.add(Dw(h, a.mul_add(b, -h)));
    }
    s
}

/// $u_i - \sigma p_i$ with $\sigma$ a double word.
#[inline]
pub(crate) fn perp<T: Real>(sigma: Dw<T>, p: T, u: T) -> T {
    (-sigma.0).mul_add(p, u) - sigma.1 * p
}

/// The scalars of the exp map $\exp_p(u) = \frac{2}{D}\big(\alpha\\,p + \tau u\big)$
/// ([`PoincareBall::exp_into`], `docs/math/hyperbolic.md`), from $a_p$ and the double-word
/// $\lVert p\rVert^2$, $\lVert u\rVert^2$, $p\cdot u$. Shared by the scalar and batch kernels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExpScalars<T> {
    /// $a_p = 1 - \lVert p\rVert^2$.
    pub ap: T,
    /// $\lambda_p = 2/a_p$.
    pub lam: T,
    /// $r = \lambda_p\lVert u\rVert$, the length of the step.
    pub r: T,
    /// $\tau = \tanh(r)/r$.
    pub tau: T,
    /// $\operatorname{sech} r$.
    pub sech: T,
    /// $S = p\cdot u$.
    pub s: T,
    /// $\lVert u\rVert^2$.
    pub uu: T,
    /// $D = a_p\operatorname{sech}r + (1 - \rho)^2 + 2\rho(1 - \tanh r) + 2\tau\lambda_p h$.
    pub den: T,
    /// $\alpha = 1 + \tau\lambda_pS$ (the coefficient of $p$ in the plain form).
    pub alpha: T,
    /// $c_p = (2\kappa - D)/D$: $\exp_p(u) = p + c_pp + c_u(u - \sigma p)$.
    pub cp: T,
    /// $c_u = 2\tau/D$.
    pub cu: T,
    /// $\sigma = S/\lVert p\rVert^2$ (double word) in the split form, else 0.
    pub sigma: Dw<T>,
}

impl<T: Real> ExpScalars<T> {
    /// From $a_p$, $\lVert p\rVert^2$, $\lVert u\rVert^2$, $p\cdot u$ (double words) and
    /// `perp2(σ)` $= \lVert u - \sigma p\rVert^2$ (see [`ExpScalars::value`]; called only for
    /// steps back across the ball).
    #[inline]
    pub(crate) fn new(
        ap: T,
        pp: Dw<T>,
        uu: Dw<T>,
        pu: Dw<T>,
        perp2: impl FnOnce(Dw<T>) -> T,
    ) -> Self {
        let (one, two, half) = (T::one(), T::c(2.0), T::c(0.5));
        let (ppv, uuv, s) = (pp.0 + pp.1, uu.0 + uu.1, pu.0 + pu.1);
        let rho = ppv.sqrt();
        let nu = uuv.sqrt();
        let lam = two / ap;
        let r = lam * nu;
        let tau = crate::numerics::tanh_over_x(r);
        let e1 = (-r).exp();
        let e2 = e1 * e1;
        let opd = one + e2;
        let omt = two * e2 / opd; // 1 − tanh r
        let sech = two * e1 / opd;
        let omr = ap / (one + rho); // 1 − ρ
                                    // h = ρ‖u‖ + S ≥ 0; for steps back across the ball as ρ²‖u_⊥‖²/(ρ‖u‖ − S) with
                                    // u_⊥ = u − σp, σ = S/ρ² in double words (exactly 0 for n = 1).
        let split = s < T::zero() && rho > half;
        let sigma = if split {
            dw_div(pu, pp)
        } else {
            Dw(T::zero(), T::zero())
        };
        let h = if split {
            ppv * perp2(sigma) / (rho * nu - s)
        } else {
            rho * nu + s
        };
        let tlh = tau * lam * h;
        let den = ap * sech + omr * omr + two * rho * omt + two * tlh;
        // α = 1 + τλS = (1 − tanh r) + tanh(r)(1 − ρ) + τλh ≥ 0 (no cancellation)
        let alpha = omt + tau * r * omr + tlh;
        // 1 − sech r = expm1(−r)²/(1 + e^{−2r}); 2α − D = a(1 − sech r) ≥ 0.
        let em = (-r).exp_m1();
        let ac1 = ap * (em * em / opd);
        let cp = if split {
            // ρκ = (a/2) e^{−ρ_h} expm1(2(ρ_h − r))/(1 + e^{−2r}) + ((1 + ρ²)/2) τλh/ρ,
            // ρ_h = 2 artanh ρ = 2 ln(1 + ρ) − ln a: the parallel part of α p + τ u.
            let opr = one + rho;
            let rh = two * rho.ln_1p() - ap.ln();
            let rk = half * ap * (ap / (opr * opr)) * (two * (rh - r)).exp_m1() / opd
                + half * (two - ap) * tlh / rho;
            // 2κ − D: from κ for long steps (its parallel part cancels there), as
            // a(1 − sech r) + 2τσ for short ones (whose terms are then O(a_p)).
            let k2 = if r > one {
                two * (rk / rho) - den
            } else {
                ac1 + two * tau * (sigma.0 + sigma.1)
            };
            k2 / den
        } else {
            ac1 / den
        };
        Self {
            ap,
            lam,
            r,
            tau,
            sech,
            s,
            uu: uuv,
            den,
            alpha,
            cp,
            cu: two * tau / den,
            sigma,
        }
    }
    /// From the vectors.
    #[inline]
    pub(crate) fn of(p: &[T], u: &[T]) -> Self {
        let perp2 = |sg: Dw<T>| {
            let mut s = T::zero();
            for (&p, &u) in p.iter().zip(u) {
                let d = perp(sg, p, u);
                s = d.madd(d, s);
            }
            s
        };
        Self::new(
            one_minus_norm2(p),
            dot_dw(p, p),
            dot_dw(u, u),
            dot_dw(p, u),
            perp2,
        )
    }
    /// Component $i$ of $\exp_p(u) - p$ (accurate to its own size).
    #[inline]
    pub(crate) fn increment(&self, p: T, u: T) -> T {
        self.cp * p + self.cu * perp(self.sigma, p, u)
    }
    /// Component $i$ of $\exp_p(u)$: $p_i + c_pp_i + c_u(u_i - \sigma p_i)$, an increment added
    /// to $p$ so that short steps are accurate to an ulp of $p$.
    #[inline]
    pub(crate) fn value(&self, p: T, u: T) -> T {
        p + (self.cp * p + self.cu * perp(self.sigma, p, u))
    }
}

impl<T: Real> Manifold for PoincareBall<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.n
    }
    fn ambient_dim(&self) -> usize {
        self.n
    }
    /// $\exp_p(u) = \frac{2}{D}\big(\alpha\\,p + \tau u\big)$ with $r = \lambda_p\lVert u\rVert$,
    /// $\tau = \tanh(r)/r$, $\alpha = 1 + \tau\lambda_p\\,p\cdot u$ and
    /// $D = a_p\operatorname{sech}r + 1 + \lVert p\rVert^2 + 2\tau\lambda_p\\,p\cdot u$: the
    /// Lorentz exponential $\cosh(r)x + \operatorname{sinhc}(r)w$ of $x = \varphi(p)$,
    /// $w = d\varphi_p(u)$ mapped back to the ball and divided by $\cosh r$
    /// (`docs/math/hyperbolic.md`). Evaluated without cancellation: $D$ as the sum of positive
    /// terms $a_p\operatorname{sech}r + (1 - \rho)^2 + 2\rho(1 - \tanh r) + 2\tau\lambda_ph$
    /// ($\rho = \lVert p\rVert$, $h = \rho\lVert u\rVert + p\cdot u \ge 0$, taken from the
    /// double-word wedge $\lVert p\rVert^2\lVert u\rVert^2 - (p\cdot u)^2$ when $p\cdot u < 0$), and
    /// for steps back across the ball ($p\cdot u < 0$, $\rho > 1/2$) the numerator as
    /// $\kappa p + \tau(u - \sigma p)$, $\sigma = p\cdot u/\rho^2$, with
    /// $\rho\kappa = \frac{a_p}{2}e^{-\rho_h}\frac{\operatorname{expm1}(2(\rho_h - r))}{1 + e^{-2r}} + \frac{1 + \rho^2}{2}\frac{\tau\lambda_ph}{\rho}$,
    /// $\rho_h = 2\operatorname{artanh}\rho$. The result is formed as the increment
    /// $p + \frac{2\kappa - D}{D}p + \frac{2\tau}{D}(u - \sigma p)$ ($\sigma = 0$, $\kappa = \alpha$
    /// without the split, where $2\alpha - D = a_p(1 - \operatorname{sech}r) \ge 0$), so short steps
    /// are exact to an ulp of $p$ and $u = 0$ returns $p$. The Möbius form
    /// $p \oplus \tanh(r/2)\hat u$ divides by $1 + 2p\cdot w + \lVert p\rVert^2\lVert w\rVert^2$, which
    /// cancels to $O(a_p^2)$ on steps back across the ball. Uses $p$ as given (no projection); a
    /// huge step may round onto the unit sphere.
    #[track_caller]
    fn exp_into(&self, p: &[T], u: &[T], out: &mut [T]) {
        self.expect(p.len(), "PoincareBall::exp_into: p");
        self.expect(u.len(), "PoincareBall::exp_into: u");
        self.expect(out.len(), "PoincareBall::exp_into: out");
        let e = ExpScalars::of(p, u);
        for ((o, &p), &u) in out.iter_mut().zip(p).zip(u) {
            *o = e.value(p, u);
        }
    }
    /// $K(c^2)\\,(a_p\delta - \lVert\delta\rVert^2 p)/a_q$ (module table); 0 at $p = q$.
    #[track_caller]
    fn log_into(&self, p: &[T], q: &[T], out: &mut [T]) {
        self.expect(p.len(), "PoincareBall::log_into: p");
        self.expect(q.len(), "PoincareBall::log_into: q");
        self.expect(out.len(), "PoincareBall::log_into: out");
        let pr = Pair::new(p, q);
        let k = k_of_y(pr.y) / pr.aq;
        for ((o, &p), &q) in out.iter_mut().zip(p).zip(q) {
            *o = k * (pr.ap * (q - p) - pr.dd * p);
        }
    }
    /// $\lambda_p^2\\,u\cdot v$.
    fn inner(&self, p: &[T], u: &[T], v: &[T]) -> T {
        let lam = T::c(2.0) / one_minus_norm2(p);
        lam * lam * dot(u, v)
    }
    fn norm(&self, p: &[T], v: &[T]) -> T {
        T::c(2.0) / one_minus_norm2(p) * crate::numerics::norm(v)
    }
    /// $2\operatorname{arsinh}\big(\lVert p - q\rVert/\sqrt{(1-\lVert p\rVert^2)(1-\lVert q\rVert^2)}\big)$.
    fn dist(&self, p: &[T], q: &[T]) -> T {
        Pair::new(p, q).dist()
    }
    /// Scales $x$ to norm $1 - \epsilon$ ([`BALL_EPS`]) when it is longer, else copies it.
    fn project_point_into(&self, x: &[T], out: &mut [T]) {
        let r = crate::numerics::norm(x);
        let m = T::one() - T::pick(BALL_EPS);
        let k = if r > m { m / r } else { T::one() };
        for (o, &x) in out.iter_mut().zip(x) {
            *o = k * x;
        }
    }
    /// The identity: $T_pB^n = \mathbb R^n$.
    fn project_tangent_into(&self, _p: &[T], u: &[T], out: &mut [T]) {
        out.copy_from_slice(u);
    }
    /// The ball is open: `p` must have $1 - \lVert p\rVert^2 > 0$ as computed (tolerance 0, since
    /// no tolerance can put a boundary point inside); the residual is $\lVert p\rVert^2 - 1 \ge 0$.
    fn check_point(&self, p: &[T]) -> Result<(), ManifoldError> {
        if p.len() != self.n {
            return Err(ManifoldError::DimensionMismatch {
                expected: self.n,
                got: p.len(),
            });
        }
        if !all_finite(p) {
            return Err(ManifoldError::NonFinite);
        }
        let a = one_minus_norm2(p);
        if a <= T::zero() {
            return Err(ManifoldError::NotOnManifold {
                residual: (-a).to_f64_lossless(),
                tol: 0.0,
            });
        }
        Ok(())
    }
    /// Every finite vector of length `n` is tangent.
    fn check_tangent(&self, p: &[T], v: &[T]) -> Result<(), ManifoldError> {
        self.check_point(p)?;
        if v.len() != self.n {
            return Err(ManifoldError::DimensionMismatch {
                expected: self.n,
                got: v.len(),
            });
        }
        if !all_finite(v) {
            return Err(ManifoldError::NonFinite);
        }
        Ok(())
    }
    /// $\gamma(t) = \frac{2(w_1a_q\\,p + w_2a_p\\,q)}{M}
    /// = p + \frac{2a_p}{M}\big(w_2\\,\delta - a_q(w_1\sinh^2\tfrac{td}2 + w_2\sinh^2\tfrac{(1-t)d}2)\\,p\big)$
    /// with $w_1 = \frac{\sinh((1-t)d)}{\sinh d}$, $w_2 = \frac{\sinh(td)}{\sinh d}$,
    /// $M = a_pa_q + w_1(2 - a_p)a_q + w_2(2 - a_q)a_p$: the Lorentz-model geodesic
    /// $\frac{\sinh((1-t)d)\\,x_p + \sinh(td)\\,x_q}{\sinh d}$ mapped to the ball and multiplied
    /// through by $a_pa_q\sinh d$ (`docs/math/hyperbolic.md`). For $t \in \lbrack 0, 1\rbrack$
    /// every scalar is a sum of positive terms, so the result has an absolute error of a few
    /// ulps; the Möbius form $p \oplus \tanh(td/2)\hat m$ divides by
    /// $1 + 2p\cdot w + \lVert p\rVert^2\lVert w\rVert^2$, which cancels to $O(a_p^2)$ when the
    /// geodesic crosses the ball. Evaluated from $q$ with $1 - t$ when $t > 1/2$, so both
    /// endpoints are exact; finite at $d = 0$.
    #[track_caller]
    fn geodesic_into(&self, p: &[T], q: &[T], t: T, out: &mut [T]) {
        self.expect(p.len(), "PoincareBall::geodesic_into: p");
        self.expect(q.len(), "PoincareBall::geodesic_into: q");
        self.expect(out.len(), "PoincareBall::geodesic_into: out");
        let (a, b, t) = if t <= T::c(0.5) {
            (p, q, t)
        } else {
            (q, p, T::one() - t)
        };
        let pr = Pair::new(a, b);
        let (cd, ca) = geodesic_coeffs(pr.ap, pr.aq, pr.dist(), t);
        for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
            *o = a + (cd * (b - a) - ca * a);
        }
    }
    /// $\dot\gamma(t) = \frac{4a_pa_q}{\operatorname{sinhc}(d)\\,M^2}\big((1 + e_1)\\,\delta + (e_1 - e_2)\\,p\big)$
    /// with $e_1 = a_p\sinh^2(td/2)$, $e_2 = a_q\sinh^2((1-t)d/2)$ and
    /// $M = a_pa_q + w_1(2 - a_p)a_q + w_2(2 - a_q)a_p$,
    /// $w_1 = \frac{\sinh((1-t)d)}{\sinh d}$, $w_2 = \frac{\sinh(td)}{\sinh d}$: the derivative of
    /// the Lorentz-model geodesic $\gamma = 2(w_1a_qp + w_2a_pq)/M$ mapped to the ball
    /// (`docs/math/hyperbolic.md`). Every scalar is a sum of positive terms, so there is no
    /// cancellation near the boundary (the Möbius form $p \oplus w(t)$ divides by
    /// $1 + 2p\cdot w + \lVert p\rVert^2\lVert w\rVert^2$, which cancels to $O(a_p^2)$ when $w$
    /// points back across the ball). Exact zero at $p = q$; finite at $d = 0$.
    #[track_caller]
    fn geodesic_velocity_into(&self, p: &[T], q: &[T], t: T, out: &mut [T]) {
        self.expect(p.len(), "PoincareBall::geodesic_velocity_into: p");
        self.expect(q.len(), "PoincareBall::geodesic_velocity_into: q");
        self.expect(out.len(), "PoincareBall::geodesic_velocity_into: out");
        let pr = Pair::new(p, q);
        let (k, c1, c2) = velocity_coeffs(pr.ap, pr.aq, pr.dist(), t);
        for ((o, &p), &q) in out.iter_mut().zip(p).zip(q) {
            *o = k * (c1 * (q - p) + c2 * p);
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
        crate::hyperbolic_batch::ball_exp(self, ps, vs, outs);
    }
    #[track_caller]
    fn log_batch_into(&self, ps: &[T], qs: &[T], outs: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "log_batch_into: ps");
        crate::batch::expect_len(qs.len(), n, d, "log_batch_into: qs");
        crate::batch::expect_len(outs.len(), n, d, "log_batch_into: outs");
        crate::hyperbolic_batch::ball_log(self, ps, qs, outs);
    }
    #[track_caller]
    fn dist_batch_into(&self, ps: &[T], qs: &[T], ds: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "dist_batch_into: ps");
        crate::batch::expect_len(qs.len(), n, d, "dist_batch_into: qs");
        crate::batch::expect_len(ds.len(), n, 1, "dist_batch_into: ds");
        crate::hyperbolic_batch::ball_dist(self, ps, qs, ds);
    }
    #[track_caller]
    fn inner_batch_into(&self, ps: &[T], us: &[T], vs: &[T], out: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "inner_batch_into: ps");
        crate::batch::expect_len(us.len(), n, d, "inner_batch_into: us");
        crate::batch::expect_len(vs.len(), n, d, "inner_batch_into: vs");
        crate::batch::expect_len(out.len(), n, 1, "inner_batch_into: out");
        crate::hyperbolic_batch::ball_inner(self, ps, us, vs, out);
    }
    #[track_caller]
    fn norm_batch_into(&self, ps: &[T], vs: &[T], out: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "norm_batch_into: ps");
        crate::batch::expect_len(vs.len(), n, d, "norm_batch_into: vs");
        crate::batch::expect_len(out.len(), n, 1, "norm_batch_into: out");
        crate::hyperbolic_batch::ball_norm(self, ps, vs, out);
    }
    #[track_caller]
    fn geodesic_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "geodesic_batch_into: ps");
        crate::batch::expect_len(qs.len(), n, d, "geodesic_batch_into: qs");
        crate::batch::expect_len(ts.len(), n, 1, "geodesic_batch_into: ts");
        crate::batch::expect_len(outs.len(), n, d, "geodesic_batch_into: outs");
        crate::hyperbolic_batch::ball_geodesic(self, ps, qs, ts, outs);
    }
    #[track_caller]
    fn geodesic_velocity_batch_into(&self, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "geodesic_velocity_batch_into: ps");
        crate::batch::expect_len(qs.len(), n, d, "geodesic_velocity_batch_into: qs");
        crate::batch::expect_len(ts.len(), n, 1, "geodesic_velocity_batch_into: ts");
        crate::batch::expect_len(outs.len(), n, d, "geodesic_velocity_batch_into: outs");
        crate::hyperbolic_batch::ball_geodesic_velocity(self, ps, qs, ts, outs);
    }
    #[track_caller]
    fn project_tangent_batch_into(&self, ps: &[T], us: &[T], outs: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "project_tangent_batch_into: ps");
        crate::batch::expect_len(us.len(), n, d, "project_tangent_batch_into: us");
        crate::batch::expect_len(outs.len(), n, d, "project_tangent_batch_into: outs");
        let _ = n;
        outs.copy_from_slice(us);
    }
}

/// The Lorentz-combination weights of the ball geodesic, $(w_1, w_2, M)$ with
/// $w_1 = \frac{\sinh((1-t)d)}{\sinh d} = (1-t)\frac{\operatorname{sinhc}((1-t)d)}{\operatorname{sinhc} d}$,
/// $w_2 = t\frac{\operatorname{sinhc}(td)}{\operatorname{sinhc} d}$ and
/// $M = a_pa_q + w_1(2 - a_p)a_q + w_2(2 - a_q)a_p$
/// ([`PoincareBall::geodesic_into`]).
#[inline]
fn lorentz_weights<T: Real>(ap: T, aq: T, d: T, t: T) -> (T, T, T) {
    let two = T::c(2.0);
    let u = T::one() - t;
    let sd = sinhc(d);
    let w1 = u * sinhc(u * d) / sd;
    let w2 = t * sinhc(t * d) / sd;
    (
        w1,
        w2,
        ap * aq + w1 * (two - ap) * aq + w2 * (two - aq) * ap,
    )
}

/// Coefficients $(c_\delta, c_p)$ of the geodesic point $\gamma(t) = p + c_\delta\\,\delta - c_p\\,p$:
/// $c_\delta = 2a_pw_2/M$, $c_p = 2a_pa_q(w_1\sinh^2\frac{td}2 + w_2\sinh^2\frac{(1-t)d}2)/M$
/// ([`PoincareBall::geodesic_into`]; the batch kernel mirrors it).
#[inline]
fn geodesic_coeffs<T: Real>(ap: T, aq: T, d: T, t: T) -> (T, T) {
    let (w1, w2, m) = lorentz_weights(ap, aq, d, t);
    let half = T::c(0.5);
    let h1 = (half * t * d).sinh();
    let h2 = (half * (T::one() - t) * d).sinh();
    let k = T::c(2.0) * (ap / m);
    (k * w2, k * aq * (w1 * h1 * h1 + w2 * h2 * h2))
}

/// Coefficients $(k, 1 + e_1, e_1 - e_2)$ of the geodesic velocity
/// $\dot\gamma(t) = k\big((1 + e_1)\\,\delta + (e_1 - e_2)\\,p\big)$,
/// $k = \frac{4a_pa_q}{\operatorname{sinhc}(d)M^2}$, from $a_p$, $a_q$ and the distance $d$
/// ([`PoincareBall::geodesic_velocity_into`]; the batch kernel mirrors it).
#[inline]
fn velocity_coeffs<T: Real>(ap: T, aq: T, d: T, t: T) -> (T, T, T) {
    let (_, _, m) = lorentz_weights(ap, aq, d, t);
    let half = T::c(0.5);
    let h1 = (half * t * d).sinh();
    let h2 = (half * (T::one() - t) * d).sinh();
    let e1 = ap * h1 * h1;
    let e2 = aq * h2 * h2;
    let k = T::c(4.0) * (ap / m) * (aq / m) / sinhc(d);
    (k, T::one() + e1, e1 - e2)
}

impl<T: Real> ParallelTransport for PoincareBall<T> {
    /// $\frac{a_q}{a_p}\operatorname{gyr}\lbrack q, -p\rbrack v$. Ungar's closed form
    /// $\operatorname{gyr}\lbrack q, -p\rbrack v = v + 2(Aq - Bp)/D$ cancels catastrophically near
    /// the boundary (its terms are $O(1)$, its value $O(a_p)$); substituting $q = p + \delta$,
    /// $\lVert p\rVert^2 = 1 - a_p$ gives the cancellation-free
    /// $Aq - Bp = (a_p\\,\delta\cdot v - \lVert\delta\rVert^2\\,p\cdot v)\\,p + A\\,\delta$ with
    /// $A = 2(p\cdot\delta)(p\cdot v) - a_p\\,p\cdot v - (1 - a_p)\\,\delta\cdot v$ and
    /// $D = \lVert\delta\rVert^2 + a_pa_q$ (derivation in `docs/math/hyperbolic.md`).
    #[track_caller]
    fn transport_into(&self, p: &[T], q: &[T], v: &[T], out: &mut [T]) {
        self.expect(p.len(), "PoincareBall::transport_into: p");
        self.expect(q.len(), "PoincareBall::transport_into: q");
        self.expect(v.len(), "PoincareBall::transport_into: v");
        self.expect(out.len(), "PoincareBall::transport_into: out");
        let pr = Pair::new(p, q);
        let (mut pd, mut pv, mut dv) = (T::zero(), T::zero(), T::zero());
        for i in 0..self.n {
            let d = q[i] - p[i];
            pd = p[i].madd(d, pd);
            pv = p[i].madd(v[i], pv);
            dv = d.madd(v[i], dv);
        }
        let two = T::c(2.0);
        let a = two * pd * pv - pr.ap * pv - (T::one() - pr.ap) * dv;
        let cp = pr.ap * dv - pr.dd * pv;
        let k = two / (pr.dd + pr.ap * pr.aq);
        let r = pr.aq / pr.ap;
        for i in 0..self.n {
            out[i] = r * (v[i] + k * (cp * p[i] + a * (q[i] - p[i])));
        }
    }
    #[track_caller]
    fn transport_batch_into(&self, ps: &[T], qs: &[T], vs: &[T], outs: &mut [T]) {
        let d = self.ambient_dim();
        let n = crate::batch::rows(ps.len(), d, "transport_batch_into: ps");
        crate::batch::expect_len(qs.len(), n, d, "transport_batch_into: qs");
        crate::batch::expect_len(vs.len(), n, d, "transport_batch_into: vs");
        crate::batch::expect_len(outs.len(), n, d, "transport_batch_into: outs");
        crate::hyperbolic_batch::ball_transport(self, ps, qs, vs, outs);
    }
}

impl<T: Real> ConstantCurvature for PoincareBall<T> {
    fn curvature(&self) -> T {
        -T::one()
    }
}

impl<T: Real> Sample for PoincareBall<T> {
    /// The Lorentz base $\mathcal{WN}(o, I)$ pushed through the isometry:
    /// $p = \tanh(\lVert v\rVert/2)\\,v/\lVert v\rVert = \tfrac12 T(\lVert v\rVert/2)\\,v$,
    /// $v \sim \mathcal N(0, I_n)$ (geoopt's $\exp_0(v/\lambda_0)$).
    #[track_caller]
    fn sample_base_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        self.expect(out.len(), "PoincareBall::sample_base_into: out");
        for o in out.iter_mut() {
            *o = T::standard_normal(rng);
        }
        let r = norm2(out).sqrt();
        let k = T::c(0.5) * tanh_over_x(T::c(0.5) * r);
        for o in out.iter_mut() {
            *o *= k;
        }
    }
    /// $-\tfrac{r^2}{2} - \tfrac n2\log 2\pi - (n-1)\log\frac{\sinh r}{r}$, $r = d(0, p) =
    /// 2\operatorname{arsinh}(\lVert p\rVert/\sqrt{1-\lVert p\rVert^2})$ (w.r.t. the Riemannian
    /// volume, the same function of $r$ as on [`Lorentz`]).
    fn base_log_density(&self, p: &[T]) -> T {
        let r = T::c(2.0) * (norm2(p).sqrt() / one_minus_norm2(p).sqrt()).asinh();
        let n = self.n as f64;
        -T::c(0.5) * r * r
            - T::c(0.5 * n * (2.0 * core::f64::consts::PI).ln())
            - T::c(n - 1.0) * ln_sinhc(r)
    }
}

impl<T: Real> Diffeo for PoincareBall<T> {
    type Target = Lorentz<T>;
    fn target(&self) -> Lorentz<T> {
        Lorentz::new(self.n).expect("n >= 1 by construction")
    }
    /// $x = \big(1 + \lVert p\rVert^2, 2p\big)/(1 - \lVert p\rVert^2)$.
    #[track_caller]
    fn to_target_into(&self, p: &[T], out: &mut [T]) {
        self.expect(p.len(), "PoincareBall::to_target_into: p");
        expect_dim(out.len(), self.n + 1, "PoincareBall::to_target_into: out");
        let ap = one_minus_norm2(p);
        out[0] = (T::one() + norm2(p)) / ap;
        for i in 0..self.n {
            out[i + 1] = T::c(2.0) * p[i] / ap;
        }
    }
    /// $p = \bar x/(1 + x_0)$.
    #[track_caller]
    fn from_target_into(&self, x: &[T], out: &mut [T]) {
        expect_dim(x.len(), self.n + 1, "PoincareBall::from_target_into: x");
        self.expect(out.len(), "PoincareBall::from_target_into: out");
        let k = T::one() / (T::one() + x[0]);
        for i in 0..self.n {
            out[i] = k * x[i + 1];
        }
    }
    /// $d\varphi_p(u) = \big(\lambda_p^2\\,p\cdot u,\ \lambda_p u + \lambda_p^2(p\cdot u)\\,p\big)$.
    #[track_caller]
    fn push_tangent_into(&self, p: &[T], u: &[T], out: &mut [T]) {
        self.expect(p.len(), "PoincareBall::push_tangent_into: p");
        self.expect(u.len(), "PoincareBall::push_tangent_into: u");
        expect_dim(
            out.len(),
            self.n + 1,
            "PoincareBall::push_tangent_into: out",
        );
        let lam = T::c(2.0) / one_minus_norm2(p);
        let k = lam * lam * dot(p, u);
        out[0] = k;
        for i in 0..self.n {
            out[i + 1] = lam * u[i] + k * p[i];
        }
    }
    /// $d(\varphi^{-1})\_x(w) = \bar w/(1 + x_0) - \bar x\\,w_0/(1 + x_0)^2$.
    #[track_caller]
    fn pull_tangent_into(&self, x: &[T], w: &[T], out: &mut [T]) {
        expect_dim(x.len(), self.n + 1, "PoincareBall::pull_tangent_into: x");
        expect_dim(w.len(), self.n + 1, "PoincareBall::pull_tangent_into: w");
        self.expect(out.len(), "PoincareBall::pull_tangent_into: out");
        let k = T::one() / (T::one() + x[0]);
        let k2 = k * k * w[0];
        for i in 0..self.n {
            out[i] = k * w[i + 1] - k2 * x[i + 1];
        }
    }
}

impl<T: Real> ExpScalars<T> {
    /// $\tau_p = \tau'(r)/r$ ([`tanh_over_x_prime_over_x`]), finite at $r = 0$.
    #[inline]
    fn tau_p(&self) -> T {
        tanh_over_x_prime_over_x(self.r)
    }
}

impl<T: Real> Differentiable for PoincareBall<T> {
    /// Differentiates $\exp_p(u) = 2(\alpha p + \tau u)/D$ with $\alpha = 1 + \tau\lambda S$,
    /// $D = a\operatorname{sech}r + 2 - a + 2\tau\lambda S$, $S = p\cdot u$ (the function
    /// [`exp_into`](Manifold::exp_into) evaluates; `docs/math/hyperbolic.md`). With
    /// $P = p\cdot\dot p$, $q = \frac12\dot{(r^2)} = \lambda^3\lVert u\rVert^2P + \lambda^2u\cdot\dot u$:
    /// $\dot\tau = \tau_pq$, $\dot{\operatorname{sech}} = -\operatorname{sech}\tau q$,
    /// $\dot\lambda = \lambda^2P$, $\dot a = -2P$,
    /// $\dot\alpha = \tau_pq\lambda S + \tau\lambda^2PS + \tau\lambda\dot S$,
    /// $\dot D = -2P(\operatorname{sech} - 1) - a\operatorname{sech}\tau q + 2\dot\alpha$ and
    /// $\dot e = \big(2(\dot\alpha p + \alpha\dot p + \dot\tau u + \tau\dot u) - e\dot D\big)/D$,
    /// evaluated as $\big(2(\alpha\dot p + \dot\tau u + \tau\dot u - \dot\alpha(e - p)) - e(\dot D - 2\dot\alpha)\big)/D$
    /// with $\alpha$, $D$, $e - p$ from the accurate value kernel. Finite everywhere; on steps back
    /// across the ball near the boundary $\dot\alpha$ and $\dot D$ are formed from terms
    /// $O(1/a_p^2)$ larger than the result, so the derivative loses about $\varepsilon/a_p^2$
    /// relative there (f64 at $a_p = 6\cdot10^{-4}$: $10^{-10}$ on the half step of $\log_p(-p)$,
    /// $2\cdot10^{-7}$ on the full step); generic points are accurate to rounding.
    #[track_caller]
    fn exp_jvp(&self, p: &[T], u: &[T], dp: &[T], du: &[T], out: &mut [T]) {
        self.expect(p.len(), "PoincareBall::exp_jvp: p");
        self.expect(u.len(), "PoincareBall::exp_jvp: u");
        self.expect(dp.len(), "PoincareBall::exp_jvp: dp");
        self.expect(du.len(), "PoincareBall::exp_jvp: du");
        self.expect(out.len(), "PoincareBall::exp_jvp: out");
        let e = ExpScalars::of(p, u);
        let (pdp, udu, sdot) = (dot(p, dp), dot(u, du), dot(dp, u) + dot(p, du));
        let (lam, tau, tp) = (e.lam, e.tau, e.tau_p());
        let two = T::c(2.0);
        let q = lam * lam * (lam * e.uu * pdp + udu);
        let taud = tp * q;
        let alphad = taud * lam * e.s + tau * lam * lam * pdp * e.s + tau * lam * sdot;
        let dend = -two * pdp * (e.sech - T::one()) - e.ap * e.sech * tau * q + two * alphad;
        // 2α̇p − eḊ = −2α̇(e − p) − e(Ḋ − 2α̇): no cancellation when e ≈ p.
        let dend0 = dend - two * alphad;
        for i in 0..self.n {
            let inc = e.increment(p[i], u[i]);
            let ei = p[i] + inc;
            out[i] = (two * (e.alpha * dp[i] + taud * u[i] + tau * du[i] - alphad * inc)
                - ei * dend0)
                / e.den;
        }
    }
    /// The adjoint of [`exp_jvp`](Differentiable::exp_jvp), term by term.
    #[track_caller]
    fn exp_vjp(&self, p: &[T], u: &[T], g: &[T], gp: &mut [T], gu: &mut [T]) {
        self.expect(p.len(), "PoincareBall::exp_vjp: p");
        self.expect(u.len(), "PoincareBall::exp_vjp: u");
        self.expect(g.len(), "PoincareBall::exp_vjp: g");
        self.expect(gp.len(), "PoincareBall::exp_vjp: gp");
        self.expect(gu.len(), "PoincareBall::exp_vjp: gu");
        let e = ExpScalars::of(p, u);
        let (lam, tau, tp) = (e.lam, e.tau, e.tau_p());
        let two = T::c(2.0);
        let (mut go, mut ginc, mut guu) = (T::zero(), T::zero(), T::zero());
        for i in 0..self.n {
            let inc = e.increment(p[i], u[i]);
            go += g[i] * (p[i] + inc);
            ginc += g[i] * inc;
            guu += g[i] * u[i];
        }
        let inv = T::one() / e.den;
        // ⟨g, ė⟩ = (2α g·ṗ + 2τ g·u̇)/D + cα α̇ + cτ τ̇ + c_s q + c_P P, cα = −2 g·(e − p)/D.
        let ca = -two * ginc * inv;
        let ct = two * guu * inv;
        let cs = go * e.ap * e.sech * tau * inv;
        let cpp = two * go * (e.sech - T::one()) * inv;
        // α̇ = τ_p λ S q + τλ²S P + τλ Ṡ, τ̇ = τ_p q, q = λ³‖u‖² P + λ² U.
        let cq = ca * tp * lam * e.s + ct * tp + cs;
        let c_p = ca * tau * lam * lam * e.s + cpp + cq * lam * lam * lam * e.uu;
        let c_u = cq * lam * lam;
        let c_s = ca * tau * lam;
        let (kp, ku) = (two * e.alpha * inv, two * tau * inv);
        for i in 0..self.n {
            gp[i] += c_p * p[i] + c_s * u[i] + kp * g[i];
            gu[i] += c_u * u[i] + c_s * p[i] + ku * g[i];
        }
    }
    /// $L = K(y)V/a_q$, $V = a_p\delta - \lVert\delta\rVert^2p$, $y = \lVert\delta\rVert^2/(a_pa_q)$:
    /// $\dot L = K'\dot y\\,V/a_q + K\dot V/a_q - KV\dot a_q/a_q^2$.
    #[track_caller]
    fn log_jvp(&self, p: &[T], q: &[T], dp: &[T], dq: &[T], out: &mut [T]) {
        self.expect(out.len(), "PoincareBall::log_jvp: out");
        let pr = Pair::new(p, q);
        let (k, kp) = (k_of_y(pr.y), k_prime(pr.y));
        let two = T::c(2.0);
        let (mut ddd, mut pdp, mut qdq) = (T::zero(), T::zero(), T::zero());
        for i in 0..self.n {
            let dd = dq[i] - dp[i];
            ddd += (q[i] - p[i]) * dd;
            pdp += p[i] * dp[i];
            qdq += q[i] * dq[i];
        }
        let (dap, daq) = (-two * pdp, -two * qdq);
        let ydot = two * ddd / (pr.ap * pr.aq) - pr.y * (dap / pr.ap + daq / pr.aq);
        let c1 = (kp * ydot - k * daq / pr.aq) / pr.aq;
        let c2 = k / pr.aq;
        for i in 0..self.n {
            let del = q[i] - p[i];
            let v = pr.ap * del - pr.dd * p[i];
            let vdot = dap * del + pr.ap * (dq[i] - dp[i]) - two * ddd * p[i] - pr.dd * dp[i];
            out[i] = c1 * v + c2 * vdot;
        }
    }
    #[track_caller]
    fn log_vjp(&self, p: &[T], q: &[T], g: &[T], gp: &mut [T], gq: &mut [T]) {
        self.expect(g.len(), "PoincareBall::log_vjp: g");
        let pr = Pair::new(p, q);
        let (k, kp) = (k_of_y(pr.y), k_prime(pr.y));
        let two = T::c(2.0);
        let (mut gv, mut gd, mut gpd) = (T::zero(), T::zero(), T::zero());
        for i in 0..self.n {
            let del = q[i] - p[i];
            gv += g[i] * (pr.ap * del - pr.dd * p[i]);
            gd += g[i] * del;
            gpd += g[i] * p[i];
        }
        let a1 = kp * gv / pr.aq;
        let a2 = k / pr.aq;
        let a3 = -k * gv / (pr.aq * pr.aq);
        // ẏ = 2(δ·δ̇)/(a_p a_q) − y(ȧp/ap + ȧq/aq);
        // G·V̇ = ȧp(G·δ) + ap(G·δ̇) − 2(δ·δ̇)(G·p) − ‖δ‖²(G·ṗ).
        let c_dd = a1 * two / (pr.ap * pr.aq) - a2 * two * gpd; // on δ·δ̇
        let c_ap = -a1 * pr.y / pr.ap + a2 * gd; // on ȧp
        let c_aq = -a1 * pr.y / pr.aq + a3; // on ȧq
        for i in 0..self.n {
            let del = q[i] - p[i];
            let cd = c_dd * del + a2 * pr.ap * g[i]; // coefficient vector on δ̇
            gq[i] += cd - two * c_aq * q[i];
            gp[i] += -cd - two * c_ap * p[i] - a2 * pr.dd * g[i];
        }
    }
    /// $\dot d = \frac{2}{\sqrt{a_pa_q}\sqrt{1+y}}\Big(\frac{\delta\cdot\dot\delta}{\lVert\delta\rVert} - \frac{\lVert\delta\rVert}{2}\big(\frac{\dot a_p}{a_p} + \frac{\dot a_q}{a_q}\big)\Big)$; 0 at $p = q$.
    fn dist_jvp(&self, p: &[T], q: &[T], dp: &[T], dq: &[T]) -> T {
        let pr = Pair::new(p, q);
        if pr.dd == T::zero() {
            return T::zero();
        }
        let nd = pr.dd.sqrt();
        let (mut ddd, mut pdp, mut qdq) = (T::zero(), T::zero(), T::zero());
        for i in 0..self.n {
            ddd += (q[i] - p[i]) * (dq[i] - dp[i]);
            pdp += p[i] * dp[i];
            qdq += q[i] * dq[i];
        }
        let two = T::c(2.0);
        let pre = two / ((pr.ap * pr.aq).sqrt() * (T::one() + pr.y).sqrt());
        pre * (ddd / nd + nd * (pdp / pr.ap + qdq / pr.aq))
    }
    fn dist_vjp(&self, p: &[T], q: &[T], g: T, gp: &mut [T], gq: &mut [T]) {
        let pr = Pair::new(p, q);
        if pr.dd == T::zero() {
            return;
        }
        let nd = pr.dd.sqrt();
        let pre = g * T::c(2.0) / ((pr.ap * pr.aq).sqrt() * (T::one() + pr.y).sqrt());
        for i in 0..self.n {
            let u = (q[i] - p[i]) / nd;
            gp[i] += pre * (-u + nd * p[i] / pr.ap);
            gq[i] += pre * (u + nd * q[i] / pr.aq);
        }
    }
    /// $2\lambda^3(p\cdot\dot p)(u\cdot v) + \lambda^2(\dot u\cdot v + u\cdot\dot v)$.
    fn inner_jvp(&self, p: &[T], u: &[T], v: &[T], dp: &[T], du: &[T], dv: &[T]) -> T {
        let lam = T::c(2.0) / one_minus_norm2(p);
        let l2 = lam * lam;
        T::c(2.0) * l2 * lam * dot(p, dp) * dot(u, v) + l2 * (dot(du, v) + dot(u, dv))
    }
    fn inner_vjp(&self, p: &[T], u: &[T], v: &[T], g: T, gp: &mut [T], gu: &mut [T], gv: &mut [T]) {
        let lam = T::c(2.0) / one_minus_norm2(p);
        let l2 = lam * lam;
        let kp = g * T::c(2.0) * l2 * lam * dot(u, v);
        for i in 0..self.n {
            gp[i] += kp * p[i];
            gu[i] += g * l2 * v[i];
            gv[i] += g * l2 * u[i];
        }
    }
    fn project_tangent_jvp(&self, _p: &[T], _u: &[T], _dp: &[T], du: &[T], out: &mut [T]) {
        out.copy_from_slice(du);
    }
    fn project_tangent_vjp(&self, _p: &[T], _u: &[T], g: &[T], _gp: &mut [T], gu: &mut [T]) {
        for i in 0..g.len() {
            gu[i] += g[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lorentz::tests::{check_derivatives, ref_dist, Dd};
    use crate::ManifoldExt;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Allocating wrappers of the [`Diffeo`] kernels for the tests.
    #[allow(clippy::wrong_self_convention)]
    trait DiffeoExt {
        fn to_target(&self, p: &[f64]) -> Vec<f64>;
        fn from_target(&self, x: &[f64]) -> Vec<f64>;
        fn push_tangent(&self, p: &[f64], u: &[f64]) -> Vec<f64>;
        fn pull_tangent(&self, x: &[f64], w: &[f64]) -> Vec<f64>;
    }
    impl DiffeoExt for PoincareBall<f64> {
        fn to_target(&self, p: &[f64]) -> Vec<f64> {
            let mut o = vec![0.0; p.len() + 1];
            self.to_target_into(p, &mut o);
            o
        }
        fn from_target(&self, x: &[f64]) -> Vec<f64> {
            let mut o = vec![0.0; x.len() - 1];
            self.from_target_into(x, &mut o);
            o
        }
        fn push_tangent(&self, p: &[f64], u: &[f64]) -> Vec<f64> {
            let mut o = vec![0.0; p.len() + 1];
            self.push_tangent_into(p, u, &mut o);
            o
        }
        fn pull_tangent(&self, x: &[f64], w: &[f64]) -> Vec<f64> {
            let mut o = vec![0.0; x.len() - 1];
            self.pull_tangent_into(x, w, &mut o);
            o
        }
    }

    fn grid() -> Vec<f64> {
        let mut xs: Vec<f64> = (0..=300)
            .map(|i| 1e-8 * (1e8f64).powf(i as f64 / 300.0))
            .collect();
        for c in [1e-4, 1e-2, 0.04, 0.2, 0.25, 0.5] {
            for f in [0.999, 0.99999, 1.0, 1.00001, 1.001] {
                xs.push(c * f);
            }
        }
        xs
    }

    fn scan(
        name: &str,
        f32f: impl Fn(f32) -> f32,
        f64f: impl Fn(f64) -> f64,
        reference: impl Fn(f64) -> f64,
        domain: f64,
        tol64: f64,
    ) {
        let (mut w32, mut w64) = ((0.0f64, 0.0), (0.0f64, 0.0));
        for x in grid() {
            if x > domain {
                continue;
            }
            let x32 = x as f32;
            let r32 = reference(x32 as f64);
            let e32 = ((f32f(x32) as f64 - r32) / r32.abs()).abs();
            let r = reference(x);
            let e64 = ((f64f(x) - r) / r.abs()).abs();
            if e32 > w32.0 {
                w32 = (e32, x);
            }
            if e64 > w64.0 {
                w64 = (e64, x);
            }
        }
        assert!(w32.0 < 1e-6, "{name} f32 {w32:?}");
        assert!(w64.0 < tol64, "{name} f64 {w64:?}");
    }

    /// Taylor coefficients of tanh from tanh' = 1 − tanh².
    fn tanh_coeffs(n: usize) -> Vec<f64> {
        let mut t = vec![0.0; n];
        t[1] = 1.0;
        for m in 1..n - 1 {
            let conv: f64 = (0..=m).map(|i| t[i] * t[m - i]).sum();
            t[m + 1] = -conv / (m + 1) as f64;
        }
        t
    }

    #[test]
    fn series_accuracy_scans() {
        let t = tanh_coeffs(121);
        scan(
            "tanh_over_x_prime_over_x",
            tanh_over_x_prime_over_x::<f32>,
            tanh_over_x_prime_over_x::<f64>,
            |s| {
                (1..60)
                    .map(|k| 2.0 * k as f64 * t[2 * k + 1] * s.powi(2 * k as i32 - 2))
                    .sum()
            },
            1.0,
            3e-14,
        );
        // K(y) = Σ (−1)^n 4^n (n!)²/(2n+1)! yⁿ, ratio −2(n+1)/(2n+3).
        let kc: Vec<f64> = (0..400)
            .scan(1.0, |c, n| {
                let v = *c;
                *c *= -2.0 * (n as f64 + 1.0) / (2.0 * n as f64 + 3.0);
                Some(v)
            })
            .collect();
        scan(
            "k_of_y",
            k_of_y::<f32>,
            k_of_y::<f64>,
            |y| {
                kc.iter()
                    .enumerate()
                    .map(|(n, c)| c * y.powi(n as i32))
                    .sum()
            },
            0.5,
            1e-14,
        );
        scan(
            "k_prime",
            k_prime::<f32>,
            k_prime::<f64>,
            |y| {
                kc.iter()
                    .enumerate()
                    .skip(1)
                    .map(|(n, c)| n as f64 * c * y.powi(n as i32 - 1))
                    .sum()
            },
            0.5,
            2e-14,
        );
        // arsinh(x)/x = Σ (−1)ⁿ (2n)!/(4ⁿ (n!)² (2n+1)) x^{2n}
        scan(
            "asinh_over_x",
            asinh_over_x::<f32>,
            asinh_over_x::<f64>,
            |x| {
                let mut c = 1.0;
                let mut s = 0.0;
                for n in 0..200i32 {
                    s += c / (2 * n + 1) as f64 * x.powi(2 * n);
                    c *= -((2 * n + 1) as f64) / ((2 * n + 2) as f64);
                }
                s
            },
            0.5,
            1e-15,
        );
    }

    /// Reference ball distance of exact inputs, double-double.
    fn ref_ball_dist(p: &[f64], q: &[f64]) -> f64 {
        let (mut ap, mut aq, mut dd) = (Dd::from(1.0), Dd::from(1.0), Dd::from(0.0));
        for (&a, &b) in p.iter().zip(q) {
            let (a, b) = (Dd::from(a), Dd::from(b));
            ap = ap.sub(a.mul(a));
            aq = aq.sub(b.mul(b));
            let d = a.sub(b);
            dd = dd.add(d.mul(d));
        }
        2.0 * dd.div(ap.mul(aq)).0.sqrt().asinh()
    }

    fn unit(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
        let v: Vec<f64> = (0..n).map(|_| f64::standard_normal(rng)).collect();
        let r = crate::numerics::norm(&v);
        v.iter().map(|x| x / r).collect()
    }
    fn scaled(v: &[f64], k: f64) -> Vec<f64> {
        v.iter().map(|x| x * k).collect()
    }

    /// Points at Euclidean norm `rho` and tangent unit (metric) directions.
    fn pairs(rho: f64, sep: f64, rng: &mut ChaCha8Rng) -> Vec<(Vec<f64>, Vec<f64>)> {
        let b = PoincareBall::<f64>::new(3).unwrap();
        let p = scaled(&unit(rng, 3), rho);
        let mut out = vec![];
        for _ in 0..4 {
            let w = unit(rng, 3);
            let v = scaled(&w, sep / b.norm(&p, &w));
            out.push((p.clone(), b.exp(&p, &v)));
        }
        // radial
        let dir = scaled(&p, 1.0 / rho.max(1e-300));
        if rho > 0.0 {
            let v = scaled(&dir, -sep / b.norm(&p, &dir));
            out.push((p.clone(), b.exp(&p, &v)));
        }
        out
    }

    #[test]
    fn dist_accuracy_and_agreement_with_lorentz() {
        let b = PoincareBall::<f64>::new(3).unwrap();
        let b32 = PoincareBall::<f32>::new(3).unwrap();
        let h = b.target();
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let mut worst = 0.0f64;
        let mut worst32 = [0.0f64; 3];
        for &rho in &[0.0, 0.3, 0.9, 0.999, 1.0 - 1e-6] {
            for &sep in &[1e-10, 1e-6, 1e-3, 0.5, 3.0, 12.0] {
                for (p, q) in pairs(rho, sep, &mut rng) {
                    if one_minus_norm2(&q) < 1e-12 {
                        continue;
                    }
                    let d = b.dist(&p, &q);
                    let r = ref_ball_dist(&p, &q);
                    worst = worst.max(((d - r) / r).abs());
                    // the isometry: Lorentz distance of the images (exact images in dd would
                    // be the reference; the rounding of the images costs ε x0)
                    let (x, y) = (b.to_target(&p), b.to_target(&q));
                    let dl = ref_dist(&x[1..], &y[1..]);
                    let res = 8.0 * f64::EPSILON * x[0].max(y[0]);
                    assert!(
                        (dl - r).abs() <= 1e-12 * r + res,
                        "rho={rho} sep={sep}: {dl} {r}"
                    );
                    assert!((h.dist(&x, &y) - r).abs() <= 1e-12 * r + res);
                    let (p32, q32): (Vec<f32>, Vec<f32>) = (
                        p.iter().map(|&a| a as f32).collect(),
                        q.iter().map(|&a| a as f32).collect(),
                    );
                    let (pw, qw): (Vec<f64>, Vec<f64>) = (
                        p32.iter().map(|&a| a as f64).collect(),
                        q32.iter().map(|&a| a as f64).collect(),
                    );
                    if one_minus_norm2(&qw) > 0.0 && one_minus_norm2(&pw) > 0.0 {
                        let r32 = ref_ball_dist(&pw, &qw);
                        if r32 > 0.0 {
                            let e = ((b32.dist(&p32, &q32) as f64 - r32) / r32).abs();
                            let nmax = crate::numerics::norm(&qw).max(rho);
                            let slot = if nmax <= 0.9 {
                                0
                            } else if nmax <= 0.999 {
                                1
                            } else {
                                2
                            };
                            worst32[slot] = worst32[slot].max(e);
                        }
                    }
                }
            }
        }
        eprintln!("ball dist f64 worst {worst:e}; f32 (≤0.9, ≤0.999, ≤1−1e-6) {worst32:?}");
        assert!(worst < 2e-15, "{worst}");
        assert!(worst32.iter().all(|&w| w < 1e-6), "{worst32:?}");
    }

    #[test]
    fn isometry_maps_operations() {
        let b = PoincareBall::<f64>::new(2).unwrap();
        let h = b.target();
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        for &rho in &[0.0, 0.5, 0.95] {
            let p = scaled(&unit(&mut rng, 2), rho);
            let u = scaled(&unit(&mut rng, 2), 0.3);
            let x = b.to_target(&p);
            assert!(h.check_point(&x).is_ok());
            let p2 = b.from_target(&x);
            assert!(p.iter().zip(&p2).all(|(a, c)| (a - c).abs() < 1e-15));
            let w = b.push_tangent(&p, &u);
            assert!(h.check_tangent(&x, &w).is_ok());
            assert!((h.norm(&x, &w) - b.norm(&p, &u)).abs() < 1e-13 * b.norm(&p, &u));
            let u2 = b.pull_tangent(&x, &w);
            assert!(u.iter().zip(&u2).all(|(a, c)| (a - c).abs() < 1e-14));
            // exp, log and transport commute with the isometry
            let q = b.exp(&p, &u);
            let y = h.exp(&x, &w);
            let q2 = b.from_target(&y);
            assert!(
                q.iter().zip(&q2).all(|(a, c)| (a - c).abs() < 1e-14),
                "{q:?} {q2:?}"
            );
            let l = b.log(&p, &q);
            assert!(l.iter().zip(&u).all(|(a, c)| (a - c).abs() < 1e-12 * 0.3));
            let v = scaled(&unit(&mut rng, 2), 0.7);
            let pv = b.transport(&p, &q, &v);
            let pv_l = b.pull_tangent(&y, &h.transport(&x, &y, &b.push_tangent(&p, &v)));
            assert!(
                pv.iter().zip(&pv_l).all(|(a, c)| (a - c).abs() < 1e-13),
                "{pv:?} {pv_l:?}"
            );
        }
    }

    #[test]
    fn round_trips_transport_and_geodesics() {
        let b = PoincareBall::<f64>::new(3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(29);
        for &rho in &[0.0, 0.4, 0.99, 1.0 - 1e-6] {
            for &sep in &[1e-12, 1e-8, 1e-3, 0.5, 4.0] {
                for (p, q) in pairs(rho, sep, &mut rng) {
                    let ap = one_minus_norm2(&p);
                    // an ulp of p is ε/a_p in hyperbolic distance
                    let res = 4.0 * f64::EPSILON / ap;
                    let d = b.dist(&p, &q);
                    let l = b.log(&p, &q);
                    let nl = b.norm(&p, &l);
                    assert!(
                        (nl - d).abs() <= 1e-12 * d + 1e-300,
                        "rho={rho} sep={sep}: {nl} {d}"
                    );
                    let q2 = b.exp(&p, &l);
                    let e = b.dist(&q, &q2);
                    assert!(
                        e <= 1e-12 * d + res * (1.0 + d.cosh()),
                        "rho={rho} sep={sep}: {e}"
                    );
                    // transport
                    let v = unit(&mut rng, 3);
                    let w = unit(&mut rng, 3);
                    let (pv, pw) = (b.transport(&p, &q, &v), b.transport(&p, &q, &w));
                    let (i0, i1) = (b.inner(&p, &v, &w), b.inner(&q, &pv, &pw));
                    let n0 = b.inner(&p, &v, &v);
                    assert!(
                        (i0 - i1).abs() <= 1e-11 * n0,
                        "rho={rho} sep={sep}: {i0} {i1}"
                    );
                    let pl = b.transport(&p, &q, &l);
                    let ml = b.log(&q, &p);
                    let diff: Vec<f64> = pl.iter().zip(&ml).map(|(a, c)| a + c).collect();
                    let e = b.norm(&q, &diff);
                    assert!(
                        e <= 1e-11 * d + res,
                        "rho={rho} sep={sep}: transport log {e}"
                    );
                    // geodesic
                    assert_eq!(b.geodesic(&p, &q, 0.0), p);
                    assert_eq!(b.geodesic(&p, &q, 1.0), q);
                    let v0 = b.geodesic_velocity(&p, &q, 0.0);
                    let lmax = crate::numerics::max_abs(&l);
                    for (a, c) in v0.iter().zip(&l) {
                        assert!(
                            (a - c).abs() <= 1e-12 * lmax,
                            "rho={rho} sep={sep}: {a} {c}"
                        );
                    }
                    for &t in &[0.3, 0.5, 0.5 + 1e-12, 0.9] {
                        let g = b.geodesic(&p, &q, t);
                        let ge = b.exp(&p, &scaled(&l, t));
                        let e = b.dist(&g, &ge);
                        assert!(e <= 1e-12 * d + res * (1.0 + d.cosh()), "t={t}: {e}");
                        let vel = b.geodesic_velocity(&p, &q, t);
                        let nv = b.norm(&g, &vel);
                        // the metric at the rounded γ(t) is itself only known to ε/a_γ
                        let amin = one_minus_norm2(&g).min(ap).min(one_minus_norm2(&q));
                        let tol = 1e-12 + 64.0 * f64::EPSILON / amin;
                        assert!(
                            (nv - d).abs() <= tol * d,
                            "rho={rho} t={t}: |v| {nv} {d} tol {tol}"
                        );
                        if sep >= 1e-3 && rho < 0.999 {
                            let dt = 1e-6;
                            let (gp, gm) = (b.geodesic(&p, &q, t + dt), b.geodesic(&p, &q, t - dt));
                            for i in 0..3 {
                                let fd = (gp[i] - gm[i]) / (2.0 * dt);
                                assert!((fd - vel[i]).abs() <= 1e-7 * (1.0 + d), "t={t}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn derivatives_match_finite_differences_and_duality() {
        let b = PoincareBall::<f64>::new(3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        for &rho in &[0.0, 0.3, 0.8] {
            let p = scaled(&unit(&mut rng, 3), rho);
            let w = unit(&mut rng, 3);
            let lam = 2.0 / one_minus_norm2(&p);
            // s = λ‖u‖/2 on both sides of 1e-4 (tanh_over_x, arsinh(c)/c) and 0.2 (T_p); the
            // log's y = c² = sinh²(s).
            // K's own series below y = 4e-8 (s ≈ 2e-4) and K' below y = 0.04 (s = asinh 0.2).
            let sk = 0.2f64.asinh();
            // exp's r = 2s: tanh_over_x below r = 1e-4, its derivative's series below r = 0.2.
            for &s in &[
                0.0,
                1e-9,
                0.49e-4,
                0.51e-4,
                0.099,
                0.101,
                0.99e-4,
                1.01e-4,
                1.99e-4,
                2.01e-4,
                0.199,
                0.201,
                0.999 * sk,
                1.001 * sk,
                0.7,
                2.0,
            ] {
                let v = scaled(&w, 2.0 * s / lam);
                let q = b.exp(&p, &v);
                check_derivatives(&b, &p, &v, &q, &mut rng, 1e-6, &format!("rho={rho} s={s}"));
            }
        }
    }

    /// ∫ exp(f) dvol over B² in hyperbolic polar coordinates around 0.
    #[test]
    fn base_density_is_normalised_and_sampled() {
        let b = PoincareBall::<f64>::new(2).unwrap();
        let (nr, nphi, rmax) = (3000, 64, 12.0);
        let dr = rmax / nr as f64;
        let mut s = 0.0;
        for i in 0..nr {
            let r = (i as f64 + 0.5) * dr;
            for j in 0..nphi {
                let phi = j as f64 * 2.0 * core::f64::consts::PI / nphi as f64;
                let t = (r / 2.0).tanh();
                s += b.base_log_density(&[t * phi.cos(), t * phi.sin()]).exp() * r.sinh();
            }
        }
        let z = s * dr * 2.0 * core::f64::consts::PI / nphi as f64;
        assert!((z - 1.0).abs() < 1e-6, "{z}");
        // same function of r as the Lorentz base, through the isometry
        let h = b.target();
        let p = [0.3, -0.5];
        assert!((b.base_log_density(&p) - h.base_log_density(&b.to_target(&p))).abs() < 1e-13);
        let b3 = PoincareBall::<f64>::new(3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut m2 = 0.0;
        for _ in 0..20000 {
            let p = b3.sample_base(&mut rng);
            assert!(b3.check_point(&p).is_ok());
            let r = b3.dist(&[0.0; 3], &p);
            m2 += r * r / 20000.0;
        }
        assert!((m2 - 3.0).abs() < 0.1, "{m2}");
    }

    #[test]
    fn coincident_points() {
        let b = PoincareBall::<f64>::new(2).unwrap();
        let p = [0.3, -0.9];
        assert_eq!(b.dist(&p, &p), 0.0);
        assert_eq!(b.log(&p, &p), vec![0.0, 0.0]);
        assert_eq!(b.exp(&p, &[0.0, 0.0]), p.to_vec());
        assert_eq!(b.geodesic_velocity(&p, &p, 0.3), vec![0.0, 0.0]);
        assert_eq!(b.transport(&p, &p, &[1.0, 2.0]), vec![1.0, 2.0]);
    }

    #[test]
    fn checks_projection_and_constructor() {
        assert!(PoincareBall::<f32>::new(0).is_err());
        let b = PoincareBall::<f64>::new(2).unwrap();
        assert!(b.check_point(&[0.5, 0.5]).is_ok());
        assert!(matches!(
            b.check_point(&[0.8, 0.6]),
            Err(ManifoldError::NotOnManifold { .. })
        ));
        assert_eq!(
            b.check_point(&[f64::NAN, 0.0]),
            Err(ManifoldError::NonFinite)
        );
        assert!(matches!(
            b.check_point(&[0.1]),
            Err(ManifoldError::DimensionMismatch { .. })
        ));
        let p = b.project_point(&[3.0, 4.0]);
        assert!(b.check_point(&p).is_ok());
        assert!((crate::numerics::norm(&p) - (1.0 - 1e-12)).abs() < 1e-15);
        let b32 = PoincareBall::<f32>::new(2).unwrap();
        assert!(b32.check_point(&b32.project_point(&[3.0, 4.0])).is_ok());
        assert_eq!(b.project_point(&[0.1, 0.2]), vec![0.1, 0.2]);
        assert!(b.check_tangent(&[0.0, 0.0], &[1e9, 1.0]).is_ok());
        assert_eq!(b.curvature(), -1.0);
    }

    #[test]
    fn f32_agrees_with_f64() {
        let b = PoincareBall::<f64>::new(3).unwrap();
        let b32 = PoincareBall::<f32>::new(3).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(37);
        for &rho in &[0.0, 0.5, 0.9] {
            let p32: Vec<f32> = scaled(&unit(&mut rng, 3), rho)
                .iter()
                .map(|&a| a as f32)
                .collect();
            let p: Vec<f64> = p32.iter().map(|&a| a as f64).collect();
            let res = 4.0 * f32::EPSILON as f64 / one_minus_norm2(&p);
            for &sep in &[1e-6, 1e-3, 0.5, 3.0] {
                let w = unit(&mut rng, 3);
                let v32: Vec<f32> = scaled(&w, sep / b.norm(&p, &w))
                    .iter()
                    .map(|&a| a as f32)
                    .collect();
                let v: Vec<f64> = v32.iter().map(|&a| a as f64).collect();
                let q32 = b32.exp(&p32, &v32);
                let qw: Vec<f64> = q32.iter().map(|&a| a as f64).collect();
                let q = b.exp(&p, &v);
                let e = b.dist(&q, &qw);
                assert!(
                    e <= 1e-6 * sep + res * (1.0 + sep.cosh()),
                    "rho={rho} sep={sep}: {e}"
                );
                let l32 = b32.log(&p32, &q32);
                let l = b.log(&p, &qw);
                for i in 0..3 {
                    assert!((l32[i] as f64 - l[i]).abs() <= 2e-6 * crate::numerics::max_abs(&l));
                }
                let d32 = b32.dist(&p32, &q32) as f64;
                assert!(
                    (d32 - b.dist(&p, &qw)).abs() <= 1e-6 * d32,
                    "rho={rho} sep={sep}"
                );
            }
        }
    }

    include!("testdata/ball_geodesic_ref.rs");

    /// $\lVert a - b\rVert / \lVert b\rVert$.
    fn rel_err(a: &[f64], b: &[f64]) -> f64 {
        let e: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        (e / b.iter().map(|y| y * y).sum::<f64>()).sqrt()
    }

    #[test]
    fn geodesic_velocity_regressions_near_the_boundary() {
        // f32: the former Möbius form divided by 1 + 2p·w + ‖p‖²‖w‖², which cancels to a_p² below
        // the f32 epsilon here, and returned NaN.
        let b32 = PoincareBall::<f32>::new(1).unwrap();
        let (p32, q32) = ([-0.99996054f32], [0.9999958f32]);
        let v = b32.geodesic_velocity(&p32, &q32, 0.5);
        let r32 = 8.856145077234035;
        assert!((v[0] as f64 - r32).abs() < 1e-6 * r32, "{v:?}");
        let mut vb = [0.0f32];
        b32.geodesic_velocity_batch_into(&p32, &q32, &[0.5], &mut vb);
        assert!((vb[0] as f64 - r32).abs() < 1e-6 * r32, "{vb:?}");
        // f64: the same denominator lost accuracy like 1/a_p² (3e-8 relative here).
        let b = PoincareBall::<f64>::new(1).unwrap();
        let (p, q) = ([-0.9997061657051862], [0.9997061657051862]);
        let t = 0.5 + f64::EPSILON / 2.0;
        let r64 = 8.825494825222337;
        let v = b.geodesic_velocity(&p, &q, t);
        assert!((v[0] - r64).abs() < 1e-13 * r64, "{v:?}");
        let mut vb = [0.0];
        b.geodesic_velocity_batch_into(&p, &q, &[t], &mut vb);
        assert!((vb[0] - r64).abs() < 1e-13 * r64, "{vb:?}");
    }

    #[test]
    fn geodesic_regressions_near_the_boundary() {
        // The same Möbius denominator: f32 returned inf, f64 an absolute error of 9e-10 at the
        // origin (and 1.6e-7 relative at t = 1/2 on the f32 pair).
        let b32 = PoincareBall::<f32>::new(1).unwrap();
        let (p32, q32) = ([-0.99996054f32], [0.9999958f32]);
        let r32 = 0.5092354435789077;
        let g = b32.geodesic(&p32, &q32, 0.5);
        let mut gb = [0.0f32];
        b32.geodesic_batch_into(&p32, &q32, &[0.5], &mut gb);
        for x in [g[0], gb[0]] {
            assert!((x as f64 - r32).abs() < 3e-7, "{x}");
        }
        let b = PoincareBall::<f64>::new(1).unwrap();
        let (p, q) = ([-0.9997061657051862], [0.9997061657051862]);
        let t = 0.5 + f64::EPSILON / 2.0;
        let mut gb = [0.0];
        b.geodesic_batch_into(&p, &q, &[t], &mut gb);
        for x in [b.geodesic(&p, &q, t)[0], gb[0]] {
            assert!((x - 9.79826755867201e-16).abs() < 4e-16, "{x}");
        }
        let (p, q) = ([-0.9999605417251587], [0.9999958276748657]);
        for x in [b.geodesic(&p, &q, 0.5)[0], b.geodesic(&p, &q, 0.8)[0]] {
            let r = if x < 0.9 { r32 } else { 0.9995018298329648 };
            assert!((x - r).abs() < 3e-16, "{x}");
        }
    }

    /// Scalar and batch geodesic points (absolute error) and velocities (relative error) in both
    /// dtypes against [`BALL_GEODESIC_REF`]: norms up to
    /// $1 - 10^{-6}$, separations from $10^{-6}$ rad to antipodal, $t \in [0, 1]$ including just
    /// past $1/2$.
    #[test]
    fn geodesic_velocity_accuracy_scan() {
        let b = PoincareBall::<f64>::new(2).unwrap();
        let b32 = PoincareBall::<f32>::new(2).unwrap();
        let rows = BALL_GEODESIC_REF.len();
        let (mut ps, mut qs, mut ts, mut refs) = (vec![], vec![], vec![], vec![]);
        for r in &BALL_GEODESIC_REF {
            ps.extend_from_slice(&r[0..2]);
            qs.extend_from_slice(&r[2..4]);
            ts.push(r[4]);
            refs.extend_from_slice(&r[5..7]);
        }
        let (mut gb, mut gb32) = (vec![0.0; 2 * rows], vec![0.0f32; 2 * rows]);
        let down = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let (ps32, qs32, ts32) = (down(&ps), down(&qs), down(&ts));
        let mut vb = vec![0.0; 2 * rows];
        b.geodesic_velocity_batch_into(&ps, &qs, &ts, &mut vb);
        let mut vb32 = vec![0.0f32; 2 * rows];
        b32.geodesic_velocity_batch_into(&ps32, &qs32, &ts32, &mut vb32);
        let (mut e64, mut e32) = (0.0f64, 0.0f64);
        b.geodesic_batch_into(&ps, &qs, &ts, &mut gb);
        b32.geodesic_batch_into(&ps32, &qs32, &ts32, &mut gb32);
        let (mut g64, mut g32) = (0.0f64, 0.0f64);
        for i in 0..rows {
            let s = 2 * i..2 * i + 2;
            let rf = &refs[s.clone()];
            let v = b.geodesic_velocity(&ps[s.clone()], &qs[s.clone()], ts[i]);
            let v32 = b32.geodesic_velocity(&ps32[s.clone()], &qs32[s.clone()], ts32[i]);
            let up = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
            let errs64 = [rel_err(&v, rf), rel_err(&vb[s.clone()], rf)];
            let errs32 = [rel_err(&up(&v32), rf), rel_err(&up(&vb32[s.clone()]), rf)];
            for e in errs64.iter().chain(&errs32) {
                assert!(e.is_finite(), "row {i}: {:?}", BALL_GEODESIC_REF[i]);
            }
            e64 = errs64.iter().fold(e64, |m, &e| m.max(e));
            e32 = errs32.iter().fold(e32, |m, &e| m.max(e));
            assert!(errs64[0].max(errs64[1]) < 1e-14, "row {i}: {errs64:?}");
            assert!(errs32[0].max(errs32[1]) < 2e-6, "row {i}: {errs32:?}");
            let gr = &BALL_GEODESIC_REF[i][7..9];
            let abs = |g: &[f64]| {
                g.iter()
                    .zip(gr)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f64::max)
            };
            let g = b.geodesic(&ps[s.clone()], &qs[s.clone()], ts[i]);
            let g_32 = b32.geodesic(&ps32[s.clone()], &qs32[s.clone()], ts32[i]);
            let ga = [abs(&g), abs(&gb[s.clone()])];
            let ga32 = [abs(&up(&g_32)), abs(&up(&gb32[s.clone()]))];
            assert!(ga[0].max(ga[1]) < 1e-15, "row {i}: {ga:?}");
            assert!(ga32[0].max(ga32[1]) < 4e-7, "row {i}: {ga32:?}");
            g64 = g64.max(ga[0]).max(ga[1]);
            g32 = g32.max(ga32[0]).max(ga32[1]);
        }
        println!("ball geodesic velocity: max rel err f64 {e64:.2e}, f32 {e32:.2e}");
        println!("ball geodesic point: max abs err f64 {g64:.2e}, f32 {g32:.2e}");
    }
}

#[cfg(test)]
mod exp_tests {
    use super::*;
    use crate::ManifoldExt;

    include!("testdata/ball_exp_ref.rs");

    /// Componentwise condition number of $\exp$ at `(p, u)` (f64 JVPs along the coordinate axes):
    /// $\max_i \sum_j |\partial_{p_j}e_i||p_j| + |\partial_{u_j}e_i||u_j|$, plus $\lVert e\rVert_\infty$.
    fn cond(p: &[f64], u: &[f64]) -> f64 {
        let n = p.len();
        let b = PoincareBall::<f64>::new(n).unwrap();
        let z = vec![0.0; n];
        let mut c = vec![0.0f64; n];
        let mut j = vec![0.0; n];
        for k in 0..n {
            let mut d = z.clone();
            d[k] = 1.0;
            b.exp_jvp(p, u, &d, &z, &mut j);
            for i in 0..n {
                c[i] += j[i].abs() * p[k].abs();
            }
            b.exp_jvp(p, u, &z, &d, &mut j);
            for i in 0..n {
                c[i] += j[i].abs() * u[k].abs();
            }
        }
        let e = b.exp(p, u);
        c.iter()
            .zip(&e)
            .map(|(c, e)| c + e.abs())
            .fold(0.0, f64::max)
    }

    /// Max absolute error of the scalar and batch kernels over a table, and the max of the error
    /// over $\varepsilon\kappa$ (condition number [`cond`]).
    fn scan<T: Real>(rows: &[impl AsRef<[f64]>], n: usize) -> (f64, f64) {
        let b = PoincareBall::<T>::new(n).unwrap();
        let eps = T::epsilon().to_f64_lossless();
        let (mut ea, mut ec) = (0.0f64, 0.0f64);
        for row in rows {
            let row = row.as_ref();
            let p: Vec<T> = row[..n].iter().map(|&x| T::c(x)).collect();
            let u: Vec<T> = row[n..2 * n].iter().map(|&x| T::c(x)).collect();
            let r = &row[2 * n..];
            let k = cond(&row[..n], &row[n..2 * n]);
            let mut ob = vec![T::zero(); n];
            b.exp_batch_into(&p, &u, &mut ob);
            // derivatives finite in the dtype (values AND derivatives, documented domain)
            let ones = vec![T::one(); n];
            let mut j = vec![T::zero(); n];
            b.exp_jvp(&p, &u, &ones, &ones, &mut j);
            let (mut gp, mut gu) = (vec![T::zero(); n], vec![T::zero(); n]);
            b.exp_vjp(&p, &u, &ones, &mut gp, &mut gu);
            assert!(
                j.iter().chain(&gp).chain(&gu).all(|x| x.is_finite()),
                "{row:?}: {j:?} {gp:?} {gu:?}"
            );
            for o in [b.exp(&p, &u), ob] {
                let o: Vec<f64> = o.iter().map(|x| x.to_f64_lossless()).collect();
                assert!(o.iter().all(|x| x.is_finite()), "{row:?}: {o:?}");
                let a: f64 = o
                    .iter()
                    .zip(r)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f64::max);
                ea = ea.max(a);
                ec = ec.max(a / (eps * k));
            }
        }
        (ea, ec)
    }

    /// Scalar and batch exp in both dtypes against [`BALL_EXP_REF_F64_1`] and friends: norms up to
    /// $1 - 10^{-6}$, steps along $\log_p q$ for $q$ at $-p$ rotated by $0 \ldots 1$ rad, at
    /// $0.1 \ldots 1.5$ of its length (landing near $p$, the origin, $q$ and beyond), tangential and
    /// outward steps of hyperbolic length $10^{-12} \ldots 10$. The error is bounded by a small
    /// multiple of $\varepsilon$ times the componentwise condition number [`cond`] (measured:
    /// 3.6 in f64, 3.5 in f32); in f64 it is at most $2.4\cdot10^{-15}$ absolute.
    #[test]
    fn exp_accuracy_scan_near_the_boundary() {
        for (name, e, abs) in [
            ("f64 n=1", scan::<f64>(&BALL_EXP_REF_F64_1, 1), 5e-15),
            ("f64 n=2", scan::<f64>(&BALL_EXP_REF_F64_2, 2), 5e-15),
            ("f32 n=1", scan::<f32>(&BALL_EXP_REF_F32_1, 1), 4e-6),
            ("f32 n=2", scan::<f32>(&BALL_EXP_REF_F32_2, 2), 4e-6),
        ] {
            eprintln!("{name}: abs {:.3e} err/(eps cond) {:.3}", e.0, e.1);
            assert!(e.0 <= abs && e.1 <= 8.0, "{name}: {e:?}");
        }
    }

    #[test]
    fn exp_regressions_near_the_boundary() {
        // The Möbius form p ⊕ tanh(r/2)û divided by 1 + 2p·w + ‖p‖²‖w‖², which cancels to a_p²:
        // half of log_p(−p) landed at −2.6e-10 (f64) and the full step 3.6e-9 from −p; in f32 the
        // half step returned inf.
        let b = PoincareBall::<f64>::new(1).unwrap();
        let p = [-0.9997061657051862];
        for (u, r, tol) in [
            (0.0025928520579498212, 2.684727703539133e-16, 1e-15),
            (0.0051857041158996425, 0.9997061657051862, 1e-15),
        ] {
            let mut ob = [0.0];
            b.exp_batch_into(&p, &[u], &mut ob);
            for x in [b.exp(&p, &[u])[0], ob[0]] {
                assert!((x - r).abs() <= tol, "u={u}: {x} vs {r}");
            }
        }
        // the step computed by the log kernel itself
        let l = b.log(&p, &[-p[0]]);
        assert!(b.exp(&p, &[0.5 * l[0]])[0].abs() < 1e-15);
        assert!((b.exp(&p, &l)[0] + p[0]).abs() < 1e-15);
        let b32 = PoincareBall::<f32>::new(1).unwrap();
        let p = [-0.99996054f32];
        for (u, r) in [
            (0.00042745860991999507f32, -4.3912456673265286e-08),
            (0.0008549172198399901, 0.999960541718228),
        ] {
            let mut ob = [0.0f32];
            b32.exp_batch_into(&p, &[u], &mut ob);
            for x in [b32.exp(&p, &[u])[0], ob[0]] {
                // one ulp of p moves the exact half step by 7e-3 (condition ≈ 6e4 there)
                assert!(
                    x.is_finite() && (x as f64 - r).abs() <= 6e-7,
                    "u={u}: {x} vs {r}"
                );
            }
        }
    }

    /// JVP/VJP of exp on steps back across the ball (the split form, short and long, $r = 1$ on
    /// both sides) and on outward steps near the boundary.
    #[test]
    fn exp_derivatives_on_back_steps() {
        use crate::lorentz::tests::check_derivatives;
        use rand::SeedableRng;
        let b = PoincareBall::<f64>::new(3).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for &rho in &[0.55, 0.8, 0.95] {
            let p = [rho * 0.6, -rho * 0.8, 0.0];
            let lam = 2.0 / one_minus_norm2(&p);
            for &dir in &[
                [-0.6, 0.8, 0.0],
                [-0.6, 0.7, 0.3873],
                [0.0, 0.0, 1.0],
                [0.6, -0.8, 0.0],
            ] {
                let nd: f64 = dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2];
                for &r in &[1e-9, 0.3, 0.999, 1.001, 2.5] {
                    let k = r / (lam * nd.sqrt());
                    let v = [k * dir[0], k * dir[1], k * dir[2]];
                    let q = b.exp(&p, &v);
                    check_derivatives(&b, &p, &v, &q, &mut rng, 1e-6, &format!("rho={rho} r={r}"));
                }
            }
        }
    }

    /// Exp JVP/VJP near the boundary (the regression steps, a 2-D variant): JVP against central
    /// differences and duality.
    #[test]
    fn exp_derivatives_near_the_boundary() {
        // (p, u, duality tolerance): the derivatives are evaluated in the plain form and lose
        // ~ε/a_p² relative on steps across the ball near the boundary (half step at
        // a_p = 6e-4: 1e-10), more where the step ends near the far boundary (full step: 4e-7).
        for (p, u, tol) in [
            (vec![-0.9997061657051862], vec![0.0025928520579498212], 1e-9),
            (vec![-0.9997061657051862], vec![0.0051857041158996425], 2e-6),
            (vec![-0.99, -0.1], vec![0.01, 0.002], 1e-12),
            (vec![0.6, -0.79], vec![-0.003, 0.004], 1e-12),
        ] {
            let n = p.len();
            let b = PoincareBall::<f64>::new(n).unwrap();
            let dp: Vec<f64> = (0..n).map(|i| 0.3 + 0.2 * i as f64).collect();
            let du: Vec<f64> = (0..n).map(|i| -0.1 + 0.05 * i as f64).collect();
            let g: Vec<f64> = (0..n).map(|i| 1.0 - 0.7 * i as f64).collect();
            let mut j = vec![0.0; n];
            b.exp_jvp(&p, &u, &dp, &du, &mut j);
            let h = 1e-9;
            let sh = |x: &[f64], d: &[f64], t: f64| -> Vec<f64> {
                x.iter().zip(d).map(|(a, b)| a + t * b).collect()
            };
            let fp = b.exp(&sh(&p, &dp, h), &sh(&u, &du, h));
            let fm = b.exp(&sh(&p, &dp, -h), &sh(&u, &du, -h));
            let jn = crate::numerics::norm(&j);
            for i in 0..n {
                let fd = (fp[i] - fm[i]) / (2.0 * h);
                assert!(
                    (fd - j[i]).abs() <= 1e-5 * jn + 1e3 * tol,
                    "{p:?} {u:?}: {j:?} vs fd {fd}"
                );
            }
            let (mut gp, mut gu) = (vec![0.0; n], vec![0.0; n]);
            b.exp_vjp(&p, &u, &g, &mut gp, &mut gu);
            let lhs = dot(&g, &j);
            let rhs = dot(&gp, &dp) + dot(&gu, &du);
            let scale = crate::numerics::norm(&g) * jn
                + crate::numerics::norm(&gp) * crate::numerics::norm(&dp)
                + crate::numerics::norm(&gu) * crate::numerics::norm(&du);
            assert!((lhs - rhs).abs() <= tol * scale, "{p:?}: {lhs} vs {rhs}");
        }
        // Against mpmath (60 digits): ∂e/∂p and ∂e/∂u of the f64 half step.
        let b = PoincareBall::<f64>::new(1).unwrap();
        let (p, u) = ([-0.9997061657051862], [0.0025928520579498212]);
        let (rp, ru) = (-13313.713234866565, 1701.8893920620932);
        let mut j = [0.0];
        b.exp_jvp(&p, &u, &[1.0], &[0.0], &mut j);
        assert!((j[0] - rp).abs() <= 1e-9 * rp.abs(), "{j:?}");
        b.exp_jvp(&p, &u, &[0.0], &[1.0], &mut j);
        assert!((j[0] - ru).abs() <= 1e-9 * ru.abs(), "{j:?}");
        let (mut gp, mut gu) = ([0.0], [0.0]);
        b.exp_vjp(&p, &u, &[1.0], &mut gp, &mut gu);
        assert!((gp[0] - rp).abs() <= 1e-9 * rp.abs(), "{gp:?}");
        assert!((gu[0] - ru).abs() <= 1e-9 * ru.abs(), "{gu:?}");
        // full step (lands on −p): ∂e/∂p = −16.645803184347953, ∂e/∂u = 0.999999999999999.
        let u = [0.0051857041158996425];
        let (mut gp, mut gu) = ([0.0], [0.0]);
        b.exp_vjp(&p, &u, &[1.0], &mut gp, &mut gu);
        assert!((gp[0] + 16.645803184347953).abs() <= 4e-6 * 16.65, "{gp:?}");
        assert!((gu[0] - 0.999999999999999).abs() <= 4e-6, "{gu:?}");
    }
}
