//! Elementwise functions of the tape and their derivatives up to the fourth order.
//!
//! A [`Unary`] is the `k`-th derivative $f^{(k)}$ of a base function $f$ ([`UFn`]). The tape's
//! elementwise node evaluates $f^{(k)}(x)$; its JVP is the node $f^{(k+1)}(x)\\,\dot x$, whose
//! VJP needs $f^{(k+2)}$. Derivatives are closed forms, so reverse-over-forward through a JVP
//! (order 2) and a JVP of a JVP (order 3) both work; asking for an order that is not
//! implemented panics with the function and order.
//!
//! The sinc family is written in $y = x^2$ (all of its members are entire functions of $y$):
//!
//! | [`UFn`] | $f(y)$ | $f^{(k)}(y)$ |
//! |---|---|---|
//! | `SincSqrt` | $\operatorname{sinc}\sqrt y$ | $S_k(y) = \frac{1}{2^k}\left(\frac{1}{r}\frac{d}{dr}\right)^k \frac{\sin r}{r}$, $r = \sqrt y$ |
//! | `CosSqrt` | $\cos\sqrt y$ | $-\tfrac12 S_{k-1}(y)$ |
//! | `SinhcSqrt` | $\operatorname{sinhc}\sqrt y$ | $H_k(y)$, the same with $\sinh$ |
//! | `CoshSqrt` | $\cosh\sqrt y$ | $\tfrac12 H_{k-1}(y)$ |
//!
//! $S_0, S_1$ are `geoflow_manifolds::numerics::{sinc, sinc_prime_over_x}` (shared with the
//! manifolds); higher orders use the Taylor series $S_k(y) = \sum_{m\ge0}
//! (-1)^{m+k}\frac{(m+k)!}{m!\\,(2m+2k+1)!} y^m$ (24 terms) below $y = 16$ and the spherical
//! Bessel closed forms $S_k = (-1)^k j_k(r)/(2r)^k$ above, where the upward recurrence is
//! stable enough (a loss of at most two digits at $k = 4$). Evaluated in `f64` for both
//! precisions.

use crate::Element;
use geoflow_manifolds::numerics::{sinc, sinc_prime_over_x};

/// A base elementwise function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UFn {
    /// $e^x$.
    Exp,
    /// $\ln x$.
    Log,
    /// $\sin x$.
    Sin,
    /// $\cos x$.
    Cos,
    /// $\tanh x$.
    Tanh,
    /// $\sigma(x) = 1/(1+e^{-x})$.
    Sigmoid,
    /// $x\\,\sigma(x)$.
    Silu,
    /// GELU, tanh approximation: $\tfrac12 x (1 + \tanh(\sqrt{2/\pi}(x + 0.044715 x^3)))$.
    Gelu,
    /// $\ln(1 + e^x)$, evaluated stably.
    Softplus,
    /// $\sqrt x$ (infinite derivative at 0).
    Sqrt,
    /// $x^2$.
    Square,
    /// $1/x$.
    Recip,
    /// $\operatorname{sinc}\sqrt y$ (see the module docs).
    SincSqrt,
    /// $\cos\sqrt y$.
    CosSqrt,
    /// $\operatorname{sinhc}\sqrt y$.
    SinhcSqrt,
    /// $\cosh\sqrt y$.
    CoshSqrt,
}

/// The `k`-th derivative of a base function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unary {
    /// The base function.
    pub f: UFn,
    /// The derivative order.
    pub k: u8,
}

impl Unary {
    /// The function itself (order 0).
    pub fn new(f: UFn) -> Self {
        Self { f, k: 0 }
    }
    /// The next derivative.
    pub fn next(self) -> Self {
        Self {
            f: self.f,
            k: self.k + 1,
        }
    }
    /// Evaluates $f^{(k)}(x)$.
    ///
    /// # Panics
    /// If the order is not implemented (above 4, above 3 for GELU).
    #[track_caller]
    pub fn eval<T: Element>(self, x: T) -> T {
        let k = self.k as usize;
        match self.f {
            UFn::Exp => x.exp(),
            UFn::Log => {
                if k == 0 {
                    x.ln()
                } else {
                    let fact = (1..k).fold(1.0, |a, j| a * j as f64);
                    let s = if k % 2 == 1 { 1.0 } else { -1.0 };
                    T::c(s * fact) / x.powi(k as i32)
                }
            }
            UFn::Sin => match k % 4 {
                0 => x.sin(),
                1 => x.cos(),
                2 => -x.sin(),
                _ => -x.cos(),
            },
            UFn::Cos => match k % 4 {
                0 => x.cos(),
                1 => -x.sin(),
                2 => -x.cos(),
                _ => x.sin(),
            },
            UFn::Tanh => {
                let t = x.tanh();
                let u = T::one() - t * t;
                match k {
                    0 => t,
                    1 => u,
                    2 => T::c(-2.0) * t * u,
                    3 => u * (T::c(6.0) * t * t - T::c(2.0)),
                    4 => u * (T::c(16.0) * t - T::c(24.0) * t * t * t),
                    _ => unsupported(self),
                }
            }
            UFn::Sigmoid => sigmoid_deriv(x, k).unwrap_or_else(|| unsupported(self)),
            UFn::Silu => {
                if k > 4 {
                    unsupported(self)
                }
                let s = sigmoid_deriv(x, k).unwrap_or_else(|| unsupported(self));
                if k == 0 {
                    x * s
                } else {
                    x * s + T::c(k as f64) * sigmoid_deriv(x, k - 1).unwrap()
                }
            }
            UFn::Softplus => {
                if k == 0 {
                    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
                } else {
                    sigmoid_deriv(x, k - 1).unwrap_or_else(|| unsupported(self))
                }
            }
            UFn::Gelu => gelu_deriv(x, k).unwrap_or_else(|| unsupported(self)),
            UFn::Sqrt => {
                let c = (0..k).fold(1.0, |a, j| a * (0.5 - j as f64));
                if k == 0 {
                    x.sqrt()
                } else {
                    T::c(c) * x.sqrt() / x.powi(k as i32)
                }
            }
            UFn::Square => match k {
                0 => x * x,
                1 => T::c(2.0) * x,
                2 => T::c(2.0),
                _ => T::zero(),
            },
            UFn::Recip => {
                let fact = (1..=k).fold(1.0, |a, j| a * j as f64);
                let s = if k % 2 == 0 { 1.0 } else { -1.0 };
                T::c(s * fact) / x.powi(k as i32 + 1)
            }
            UFn::SincSqrt => T::c(sinc_family(x.to_f64_lossless(), k, false)),
            UFn::SinhcSqrt => T::c(sinc_family(x.to_f64_lossless(), k, true)),
            UFn::CosSqrt => {
                let y = x.to_f64_lossless();
                if k == 0 {
                    T::c(cos_sqrt(y, false))
                } else {
                    T::c(-0.5 * sinc_family(y, k - 1, false))
                }
            }
            UFn::CoshSqrt => {
                let y = x.to_f64_lossless();
                if k == 0 {
                    T::c(cos_sqrt(y, true))
                } else {
                    T::c(0.5 * sinc_family(y, k - 1, true))
                }
            }
        }
    }
}

#[track_caller]
fn unsupported(u: Unary) -> ! {
    panic!(
        "derivative of order {} of {:?} is not implemented (the tape supports up to order 4, 3 for GELU)",
        u.k, u.f
    )
}

/// $\sigma^{(k)}(x)$ for $k \le 4$.
fn sigmoid_deriv<T: Element>(x: T, k: usize) -> Option<T> {
    // σ(x) = 1/(1+e^{-x}) evaluated without overflow on either side.
    let s = if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    };
    let d = s * (T::one() - s);
    let (one, two, six, twelve) = (T::one(), T::c(2.0), T::c(6.0), T::c(12.0));
    Some(match k {
        0 => s,
        1 => d,
        2 => d * (one - two * s),
        3 => d * (one - six * s + six * s * s),
        4 => d * (one - two * s) * (one - twelve * s + twelve * s * s),
        _ => return None,
    })
}

/// GELU (tanh approximation) and its derivatives up to order 3.
fn gelu_deriv<T: Element>(x: T, k: usize) -> Option<T> {
    let c = T::c((2.0 / std::f64::consts::PI).sqrt());
    let a = T::c(0.044715);
    let (one, two, three, six) = (T::one(), T::c(2.0), T::c(3.0), T::c(6.0));
    let u = c * (x + a * x * x * x);
    let t = u.tanh();
    let s = one - t * t; // tanh'
    let u1 = c * (one + three * a * x * x);
    let u2 = six * c * a * x;
    let u3 = six * c * a;
    // h = 1 + tanh(u) and its derivatives.
    let h0 = one + t;
    let h1 = s * u1;
    let h2 = -two * t * s * u1 * u1 + s * u2;
    let h3 = s * ((six * t * t - two) * u1 * u1 * u1 - six * t * u1 * u2 + u3);
    let half = T::c(0.5);
    // g = x h / 2, g^{(n)} = (x h^{(n)} + n h^{(n-1)}) / 2.
    Some(match k {
        0 => half * x * h0,
        1 => half * (x * h1 + h0),
        2 => half * (x * h2 + two * h1),
        3 => half * (x * h3 + three * h2),
        _ => return None,
    })
}

/// Switch between the series and the closed form of the sinc family, in $y = x^2$.
pub const SINC_FAMILY_SERIES_MAX_Y: f64 = 16.0;

/// $\cos\sqrt y$ (or $\cosh\sqrt y$); for negative $y$ the other one of the pair.
fn cos_sqrt(y: f64, hyperbolic: bool) -> f64 {
    let neg = (y < 0.0) != hyperbolic; // evaluate cosh√|y|
    let r = y.abs().sqrt();
    if neg {
        r.cosh()
    } else {
        r.cos()
    }
}

/// $S_k(y)$ (trigonometric) or $H_k(y)$ (hyperbolic); see the module docs.
pub fn sinc_family(y: f64, k: usize, hyperbolic: bool) -> f64 {
    if !hyperbolic && k <= 1 && y >= 0.0 {
        let r = y.sqrt();
        return if k == 0 {
            sinc(r)
        } else {
            0.5 * sinc_prime_over_x(r)
        };
    }
    if y.abs() < SINC_FAMILY_SERIES_MAX_Y {
        return sinc_series(y, k, hyperbolic);
    }
    if y < 0.0 {
        // sinc√y for y < 0 is sinhc√|y| with alternating derivative signs.
        let s = if k % 2 == 0 { 1.0 } else { -1.0 };
        return s * sinc_family(-y, k, !hyperbolic);
    }
    sinc_closed(y, k, hyperbolic)
}

/// The closed form (spherical Bessel functions by upward recurrence), for $y > 0$.
fn sinc_closed(y: f64, k: usize, hyperbolic: bool) -> f64 {
    let r = y.sqrt();
    // Spherical Bessel functions j_k (or modified i_k) by upward recurrence.
    let (mut a, mut b) = if hyperbolic {
        (r.sinh() / r, (r * r.cosh() - r.sinh()) / (r * r))
    } else {
        (r.sin() / r, (r.sin() - r * r.cos()) / (r * r))
    };
    let fk = if k == 0 {
        a
    } else {
        for j in 1..k {
            let c = (2 * j + 1) as f64 / r;
            let nb = if hyperbolic { a - c * b } else { c * b - a };
            a = b;
            b = nb;
        }
        b
    };
    // S_k = (-1)^k j_k / (2r)^k ; H_k = i_k / (2r)^k.
    let sign = if !hyperbolic && k % 2 == 1 { -1.0 } else { 1.0 };
    sign * fk / (2.0 * r).powi(k as i32)
}

fn sinc_series(y: f64, k: usize, hyperbolic: bool) -> f64 {
    // c_0 = (±1)^k k!/(2k+1)!, c_{m+1}/c_m = ±(m+k+1)/((m+1)(2m+2k+2)(2m+2k+3)).
    let mut c =
        (1..=k).fold(1.0, |a, j| a * j as f64) / (1..=2 * k + 1).fold(1.0, |a, j| a * j as f64);
    if !hyperbolic && k % 2 == 1 {
        c = -c;
    }
    let sgn = if hyperbolic { 1.0 } else { -1.0 };
    let mut sum = 0.0;
    let mut yp = 1.0;
    for m in 0..24 {
        sum += c * yp;
        let (m, k) = (m as f64, k as f64);
        c *= sgn * (m + k + 1.0)
            / ((m + 1.0) * (2.0 * m + 2.0 * k + 2.0) * (2.0 * m + 2.0 * k + 3.0));
        yp *= y;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd(u: Unary, x: f64) -> f64 {
        let h = 1e-5 * (1.0 + x.abs());
        (u.eval(x + h) - u.eval(x - h)) / (2.0 * h)
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let fns = [
            UFn::Exp,
            UFn::Log,
            UFn::Sin,
            UFn::Cos,
            UFn::Tanh,
            UFn::Sigmoid,
            UFn::Silu,
            UFn::Gelu,
            UFn::Softplus,
            UFn::Sqrt,
            UFn::Square,
            UFn::Recip,
            UFn::SincSqrt,
            UFn::CosSqrt,
            UFn::SinhcSqrt,
            UFn::CoshSqrt,
        ];
        for f in fns {
            let max_k = if f == UFn::Gelu { 2 } else { 3 };
            for k in 0..=max_k {
                for &x in &[0.3, 0.7, 1.3, 2.1, 15.0, 17.5, 30.0] {
                    let u = Unary { f, k };
                    let (a, b) = (u.next().eval(x), fd(u, x));
                    assert!(
                        (a - b).abs() <= 1e-6 * (1.0 + b.abs()) * (1.0 + u.eval(x).abs()),
                        "{f:?} order {k} at {x}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn sinc_family_branches_agree_at_the_switch() {
        for hyp in [false, true] {
            for k in 0..=4 {
                let y = SINC_FAMILY_SERIES_MAX_Y;
                let a = sinc_series(y, k, hyp);
                let b = sinc_closed(y, k, hyp);
                assert!(
                    (a - b).abs() <= 1e-13 * a.abs().max(1e-3),
                    "{hyp} {k}: {a} {b}"
                );
            }
        }
        assert_eq!(sinc_family(0.0, 0, false), 1.0);
        assert!((sinc_family(0.0, 1, false) + 1.0 / 6.0).abs() < 1e-16);
        assert!((sinc_family(0.0, 2, true) - 1.0 / 60.0).abs() < 1e-16);
    }
}
