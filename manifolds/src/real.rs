//! The scalar trait: [`Real`] is implemented for `f32` and `f64` only (sealed).
//!
//! Everything a trait bound cannot express — literals, per-precision constants, sampling — is a
//! method on the trait, so generic code reads like the formula:
//!
//! ```
//! use geoflow_manifolds::Real;
//! fn half<T: Real>(x: T) -> T { T::c(0.5) * x }
//! assert_eq!(half(3.0f32), 1.5);
//! assert_eq!(<f64 as Real>::pick((1e-3, 1e-6)), 1e-6);
//! ```

use core::fmt::{Debug, Display};
use num_traits::{Float, FloatConst, NumAssign};
use rand::Rng;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point scalar: `f32` or `f64`.
///
/// Sealed: geoflow's accuracy guarantees, series cutoffs and tolerances are tuned per precision,
/// so no other type can implement it.
pub trait Real:
    Float
    + FloatConst
    + NumAssign
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + core::iter::Sum
    + 'static
    + sealed::Sealed
{
    /// `true` for `f64`, `false` for `f32`.
    const IS_F64: bool;
    /// Short name of the type (`"f32"` or `"f64"`), used in benchmark ids and messages.
    const NAME: &'static str;

    /// A literal: `T::c(0.5)`. Rounds to nearest for `f32`.
    fn c(x: f64) -> Self;
    /// A per-precision constant: the first element for `f32`, the second for `f64`.
    fn pick(c: (f32, f64)) -> Self;
    /// Widens to `f64` (exact).
    fn to_f64_lossless(self) -> f64;
    /// One draw from the standard normal distribution $\mathcal N(0, 1)$.
    fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> Self;
    /// One draw from the uniform distribution on $[0, 1)$.
    fn uniform01<R: Rng + ?Sized>(rng: &mut R) -> Self;
    /// $a \cdot b + c$ for accumulation loops: a fused multiply-add when the build target has
    /// FMA (`-C target-cpu=x86-64-v3` or newer), else a multiply and an add. Unlike
    /// [`mul_add`](num_traits::Float::mul_add), it never becomes a call to libm's software `fma`
    /// (tens of nanoseconds) on a target without FMA. Use `mul_add` only where the exactness of
    /// a fused operation is part of the algorithm (error-free products).
    #[inline(always)]
    fn madd(self, b: Self, c: Self) -> Self {
        if cfg!(target_feature = "fma") {
            self.mul_add(b, c)
        } else {
            self * b + c
        }
    }
    /// Default absolute tolerance of validity checks (`check_point`, `check_tangent`):
    /// `1e-5` for `f32`, `1e-10` for `f64`, i.e. about 100 ulps at unit scale.
    fn check_tol() -> Self {
        Self::pick((1e-5, 1e-10))
    }
}

impl Real for f32 {
    const IS_F64: bool = false;
    const NAME: &'static str = "f32";
    #[inline(always)]
    fn c(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn pick(c: (f32, f64)) -> Self {
        c.0
    }
    #[inline(always)]
    fn to_f64_lossless(self) -> f64 {
        self as f64
    }
    fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> Self {
        rng.sample::<f32, _>(rand_distr::StandardNormal)
    }
    fn uniform01<R: Rng + ?Sized>(rng: &mut R) -> Self {
        rng.random::<f32>()
    }
}

impl Real for f64 {
    const IS_F64: bool = true;
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn c(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn pick(c: (f32, f64)) -> Self {
        c.1
    }
    #[inline(always)]
    fn to_f64_lossless(self) -> f64 {
        self
    }
    fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> Self {
        rng.sample::<f64, _>(rand_distr::StandardNormal)
    }
    fn uniform01<R: Rng + ?Sized>(rng: &mut R) -> Self {
        rng.random::<f64>()
    }
}
