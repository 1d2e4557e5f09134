//! Small dense kernels and series-safe special functions shared by every manifold.
//!
//! Every removable singularity has a series branch. The cutoff belongs to the function, has one
//! value per precision (`(f32, f64)`), and is checked by the accuracy scan in this module's tests,
//! which compares both branches against a long Taylor series over $[10^{-8}, 2]$ on both sides of
//! the cutoff.
//!
//! | function | formula | near 0 |
//! |---|---|---|
//! | [`sinc`] | $\sin x / x$ | $1 - x^2/6 + x^4/120$ |
//! | [`sinc_prime_over_x`] | $(x\cos x - \sin x)/x^3$ | $-\tfrac13 + \tfrac{x^2}{30} - \dots$ (8 terms) |
//! | [`sinhc`] | $\sinh x / x$ | $1 + x^2/6 + x^4/120$ |
//! | [`sinhc_prime_over_x`] | $(x\cosh x - \sinh x)/x^3$ | $\tfrac13 + \tfrac{x^2}{30} + \dots$ (8 terms) |
//! | [`x_over_sin`] | $x / \sin x$ | $1 + x^2/6 + 7x^4/360$ |
//! | [`x_over_sinh`] | $x / \sinh x$ | $1 - x^2/6 + 7x^4/360$ |
//! | [`atanh_over_x`] | $\operatorname{artanh}(x)/x$ | $1 + x^2/3 + x^4/5$ |
//! | [`tanh_over_x`] | $\tanh(x)/x$ | $1 - x^2/3 + 2x^4/15$ |
//! | [`one_minus_cos_over_x2`] | $(1-\cos x)/x^2$ | computed as $2\sin^2(x/2)/x^2$, no cancellation |
//!
//! ```
//! use geoflow_manifolds::numerics::{sinc, sinc_prime_over_x};
//! assert_eq!(sinc(0.0f64), 1.0);
//! assert!((sinc_prime_over_x(1e-9f32) + 1.0 / 3.0).abs() < 1e-7);
//! ```

use crate::Real;

/// Euclidean dot product $\sum_i a_i b_i$.
///
/// # Panics
/// If the lengths differ (debug builds check; release builds read the shorter length).
#[inline]
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    debug_assert_eq!(a.len(), b.len());
    let mut s = T::zero();
    for (&x, &y) in a.iter().zip(b) {
        s = x.madd(y, s);
    }
    s
}

/// Squared Euclidean norm $\sum_i a_i^2$.
#[inline]
pub fn norm2<T: Real>(a: &[T]) -> T {
    dot(a, a)
}

/// Euclidean norm $\lVert a \rVert$, computed with a scaling pass when the plain sum of squares
/// would overflow or underflow.
#[inline]
pub fn norm<T: Real>(a: &[T]) -> T {
    let s = norm2(a);
    if s.is_normal() && s < T::max_value() {
        s.sqrt()
    } else {
        let m = a.iter().fold(T::zero(), |m, &x| m.max(x.abs()));
        if m == T::zero() || !m.is_finite() {
            return m;
        }
        let mut t = T::zero();
        for &x in a {
            let y = x / m;
            t += y * y;
        }
        m * t.sqrt()
    }
}

/// Squared Euclidean distance $\sum_i (a_i - b_i)^2$.
#[inline]
pub fn dist2<T: Real>(a: &[T], b: &[T]) -> T {
    let mut s = T::zero();
    for (&x, &y) in a.iter().zip(b) {
        let d = x - y;
        s = d.madd(d, s);
    }
    s
}

/// Largest absolute entry, $\max_i |a_i|$ (0 for an empty slice).
#[inline]
pub fn max_abs<T: Real>(a: &[T]) -> T {
    a.iter().fold(T::zero(), |m, &x| m.max(x.abs()))
}

/// `true` when every entry is finite.
#[inline]
pub fn all_finite<T: Real>(a: &[T]) -> bool {
    a.iter().all(|x| x.is_finite())
}

/// Horner evaluation of $\sum_k c_k y^k$ with `f64` coefficients converted to `T`.
#[inline(always)]
pub fn horner<T: Real>(y: T, coeffs: &[f64]) -> T {
    let mut acc = T::zero();
    for &c in coeffs.iter().rev() {
        acc = acc.madd(y, T::c(c));
    }
    acc
}

/// Series cutoffs of [`sinc`] as (f32, f64). `sin(x)/x` has no cancellation: the series only
/// avoids 0/0, and three terms are exact to the last bit below the cutoff.
pub const SINC_CUTOFF: (f32, f64) = (1e-2, 1e-4);

/// $\operatorname{sinc} x = \sin x / x$, with $\operatorname{sinc} 0 = 1$.
#[inline]
pub fn sinc<T: Real>(x: T) -> T {
    if x.abs() < T::pick(SINC_CUTOFF) {
        let x2 = x * x;
        T::one() - x2 / T::c(6.0) + x2 * x2 / T::c(120.0)
    } else {
        x.sin() / x
    }
}

/// Series cutoffs of [`sinc_prime_over_x`] as (f32, f64). The closed form cancels badly: it is
/// still off by about 1e-6 in f32 at x = 0.3, so the 8-term series takes over below 0.7 / 1.0.
pub const SINC_PRIME_CUTOFF: (f32, f64) = (0.7, 1.0);

/// Taylor coefficients in $y = x^2$ of $(x\cos x - \sin x)/x^3 = \sum_{k\ge1} (-1)^k \frac{2k}{(2k+1)!} x^{2k-2}$.
const SINC_PRIME_SERIES: [f64; 8] = [
    -1.0 / 3.0,
    1.0 / 30.0,
    -1.0 / 840.0,
    1.0 / 45360.0,
    -1.0 / 3991680.0,
    1.0 / 518918400.0,
    -1.0 / 93405312000.0,
    1.0 / 22230464256000.0,
];

/// $\operatorname{sinc}'(x)/x = (x\cos x - \sin x)/x^3$, which tends to $-1/3$ at 0.
///
/// It is the factor that appears in every derivative of $\operatorname{sinc}\lVert v \rVert$
/// with respect to $v$: $\nabla_v \operatorname{sinc}\lVert v\rVert = \frac{\operatorname{sinc}'(r)}{r} v$.
#[inline]
pub fn sinc_prime_over_x<T: Real>(x: T) -> T {
    if x.abs() < T::pick(SINC_PRIME_CUTOFF) {
        horner(x * x, &SINC_PRIME_SERIES)
    } else {
        (x * x.cos() - x.sin()) / (x * x * x)
    }
}

/// Series cutoffs of [`sinhc`] as (f32, f64); no cancellation, the series avoids 0/0.
pub const SINHC_CUTOFF: (f32, f64) = (1e-2, 1e-4);

/// $\operatorname{sinhc} x = \sinh x / x$, with $\operatorname{sinhc} 0 = 1$.
#[inline]
pub fn sinhc<T: Real>(x: T) -> T {
    if x.abs() < T::pick(SINHC_CUTOFF) {
        let x2 = x * x;
        T::one() + x2 / T::c(6.0) + x2 * x2 / T::c(120.0)
    } else {
        x.sinh() / x
    }
}

/// Series cutoffs of [`sinhc_prime_over_x`] as (f32, f64), chosen like [`SINC_PRIME_CUTOFF`].
pub const SINHC_PRIME_CUTOFF: (f32, f64) = (0.7, 1.0);

const SINHC_PRIME_SERIES: [f64; 8] = [
    1.0 / 3.0,
    1.0 / 30.0,
    1.0 / 840.0,
    1.0 / 45360.0,
    1.0 / 3991680.0,
    1.0 / 518918400.0,
    1.0 / 93405312000.0,
    1.0 / 22230464256000.0,
];

/// $\operatorname{sinhc}'(x)/x = (x\cosh x - \sinh x)/x^3$, which tends to $1/3$ at 0.
#[inline]
pub fn sinhc_prime_over_x<T: Real>(x: T) -> T {
    if x.abs() < T::pick(SINHC_PRIME_CUTOFF) {
        horner(x * x, &SINHC_PRIME_SERIES)
    } else {
        (x * x.cosh() - x.sinh()) / (x * x * x)
    }
}

/// Series cutoffs of [`x_over_sin`] as (f32, f64); no cancellation, the series avoids 0/0.
pub const X_OVER_SIN_CUTOFF: (f32, f64) = (1e-2, 1e-4);

/// $x / \sin x$, with value 1 at 0. Defined for $|x| < \pi$.
#[inline]
pub fn x_over_sin<T: Real>(x: T) -> T {
    if x.abs() < T::pick(X_OVER_SIN_CUTOFF) {
        let x2 = x * x;
        T::one() + x2 / T::c(6.0) + T::c(7.0 / 360.0) * x2 * x2
    } else {
        x / x.sin()
    }
}

/// Series cutoffs of [`x_over_sinh`] as (f32, f64); no cancellation, the series avoids 0/0.
pub const X_OVER_SINH_CUTOFF: (f32, f64) = (1e-2, 1e-4);

/// $x / \sinh x$, with value 1 at 0; underflows gracefully to 0 for large $|x|$.
#[inline]
pub fn x_over_sinh<T: Real>(x: T) -> T {
    if x.abs() < T::pick(X_OVER_SINH_CUTOFF) {
        let x2 = x * x;
        T::one() - x2 / T::c(6.0) + T::c(7.0 / 360.0) * x2 * x2
    } else {
        let s = x.sinh();
        if s.is_infinite() {
            T::zero()
        } else {
            x / s
        }
    }
}

/// Series cutoffs of [`atanh_over_x`] as (f32, f64); no cancellation, the series avoids 0/0.
pub const ATANH_OVER_X_CUTOFF: (f32, f64) = (1e-2, 1e-4);

/// $\operatorname{artanh}(x)/x$ for $|x| < 1$, with value 1 at 0.
#[inline]
pub fn atanh_over_x<T: Real>(x: T) -> T {
    if x.abs() < T::pick(ATANH_OVER_X_CUTOFF) {
        let x2 = x * x;
        T::one() + x2 / T::c(3.0) + x2 * x2 / T::c(5.0)
    } else {
        x.atanh() / x
    }
}

/// Series cutoffs of [`tanh_over_x`] as (f32, f64); no cancellation, the series avoids 0/0.
pub const TANH_OVER_X_CUTOFF: (f32, f64) = (1e-2, 1e-4);

/// $\tanh(x)/x$, with value 1 at 0.
#[inline]
pub fn tanh_over_x<T: Real>(x: T) -> T {
    if x.abs() < T::pick(TANH_OVER_X_CUTOFF) {
        let x2 = x * x;
        T::one() - x2 / T::c(3.0) + T::c(2.0 / 15.0) * x2 * x2
    } else {
        x.tanh() / x
    }
}

/// $(1 - \cos x)/x^2$, computed as $\tfrac12 \operatorname{sinc}^2(x/2)$, exact near 0 without a
/// series branch of its own.
#[inline]
pub fn one_minus_cos_over_x2<T: Real>(x: T) -> T {
    let s = sinc(x * T::c(0.5));
    T::c(0.5) * s * s
}

/// $\operatorname{atan2}(y, x)$ angle between two unit-scale vectors from their chord and
/// anti-chord: $\theta = 2\operatorname{atan2}(\lVert a - b\rVert, \lVert a + b\rVert)$.
///
/// Accurate to a few ulps over the whole range $[0, \pi]$, unlike $\arccos\langle a, b\rangle$,
/// which loses half the digits near 0 and near $\pi$.
#[inline]
pub fn angle_between<T: Real>(a: &[T], b: &[T]) -> T {
    let mut minus = T::zero();
    let mut plus = T::zero();
    for (&x, &y) in a.iter().zip(b) {
        let d = x - y;
        let s = x + y;
        minus = d.madd(d, minus);
        plus = s.madd(s, plus);
    }
    T::c(2.0) * minus.sqrt().atan2(plus.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long Taylor reference in f64 (exact to ~1e-16 relative on [0, 2]).
    fn series(x: f64, terms: impl Fn(usize) -> f64, n: usize) -> f64 {
        (0..n).map(|k| terms(k) * x.powi(2 * k as i32)).sum()
    }
    fn fact(n: usize) -> f64 {
        (1..=n).map(|k| k as f64).product()
    }
    fn sign(k: usize) -> f64 {
        if k % 2 == 0 {
            1.0
        } else {
            -1.0
        }
    }

    fn grid() -> Vec<f64> {
        // log grid over [1e-8, 2] plus points just either side of every cutoff.
        let mut xs: Vec<f64> = (0..=400)
            .map(|i| 1e-8 * (2e8f64).powf(i as f64 / 400.0))
            .collect();
        for c in [1e-4, 1e-2, 0.7, 1.0] {
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
    ) {
        let mut worst32: (f64, f64) = (0.0, 0.0);
        let mut worst64: (f64, f64) = (0.0, 0.0);
        for x in grid() {
            if x >= domain {
                continue;
            }
            let r = reference(x);
            let x32 = x as f32;
            let r32 = reference(x32 as f64); // reference at the rounded argument
            let e32 = ((f32f(x32) as f64 - r32) / r32.abs().max(1e-300)).abs();
            let e64 = ((f64f(x) - r) / r.abs().max(1e-300)).abs();
            if e32 > worst32.0 {
                worst32 = (e32, x);
            }
            if e64 > worst64.0 {
                worst64 = (e64, x);
            }
        }
        assert!(
            worst32.0 < 1e-6,
            "{name} f32: rel err {:.2e} at x = {:.3e}",
            worst32.0,
            worst32.1
        );
        assert!(
            worst64.0 < 1e-14,
            "{name} f64: rel err {:.2e} at x = {:.3e}",
            worst64.0,
            worst64.1
        );
    }

    #[test]
    fn sinc_family_accuracy_scan() {
        scan(
            "sinc",
            sinc::<f32>,
            sinc::<f64>,
            |x| series(x, |k| sign(k) / fact(2 * k + 1), 20),
            2.01,
        );
        scan(
            "sinc_prime_over_x",
            sinc_prime_over_x::<f32>,
            sinc_prime_over_x::<f64>,
            |x| {
                series(
                    x,
                    |k| sign(k + 1) * (2 * k + 2) as f64 / fact(2 * k + 3),
                    20,
                )
            },
            2.01,
        );
        scan(
            "sinhc",
            sinhc::<f32>,
            sinhc::<f64>,
            |x| series(x, |k| 1.0 / fact(2 * k + 1), 20),
            2.01,
        );
        scan(
            "sinhc_prime_over_x",
            sinhc_prime_over_x::<f32>,
            sinhc_prime_over_x::<f64>,
            |x| series(x, |k| (2 * k + 2) as f64 / fact(2 * k + 3), 20),
            2.01,
        );
        scan(
            "atanh_over_x",
            atanh_over_x::<f32>,
            atanh_over_x::<f64>,
            |x| series(x, |k| 1.0 / (2 * k + 1) as f64, 200),
            0.5,
        );
        scan(
            "one_minus_cos_over_x2",
            one_minus_cos_over_x2::<f32>,
            one_minus_cos_over_x2::<f64>,
            |x| series(x, |k| sign(k) / fact(2 * k + 2), 20),
            2.01,
        );
    }

    #[test]
    fn reciprocal_functions_match_closed_forms() {
        for x in grid() {
            if x > 1e-3 && x < 2.0 {
                assert!((x_over_sin(x) - x / x.sin()).abs() < 1e-15 * x_over_sin(x));
                assert!((x_over_sinh(x) - x / x.sinh()).abs() < 1e-15);
                assert!((tanh_over_x(x) - x.tanh() / x).abs() < 1e-15);
            }
        }
        assert_eq!(x_over_sin(0.0f32), 1.0);
        assert_eq!(x_over_sinh(0.0f64), 1.0);
        assert_eq!(x_over_sinh(1000.0f64), 0.0);
        assert_eq!(tanh_over_x(0.0f64), 1.0);
        assert_eq!(atanh_over_x(0.0f64), 1.0);
    }

    #[test]
    fn angle_between_is_accurate_near_zero_and_pi() {
        let a = [1.0f64, 0.0, 0.0];
        let t = 1e-9f64;
        let b = [t.cos(), t.sin(), 0.0];
        assert!((angle_between(&a, &b) - t).abs() < 1e-24);
        let t = std::f64::consts::PI - 1e-6;
        let b = [t.cos(), t.sin(), 0.0];
        assert!((angle_between(&a, &b) - t).abs() < 1e-15);
    }

    #[test]
    fn norm_survives_overflow_and_underflow() {
        assert!((norm(&[3e200f64, 4e200]) - 5e200).abs() < 1e186);
        assert!((norm(&[3e-200f64, 4e-200]) - 5e-200).abs() < 1e-214);
        assert_eq!(norm::<f32>(&[0.0, 0.0]), 0.0);
    }
}
