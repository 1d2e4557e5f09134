//! The scalar types of the tape (`f32`, `f64`) and the dense kernels that need more than
//! [`Real`]: matrix products through faer.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use geoflow_manifolds::Real;
use std::sync::atomic::{AtomicUsize, Ordering};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// Matrix products run so far (all threads), for allocation accounting in tests.
static GEMM_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Number of matrix products the tape has run since the program started.
///
/// With faer 0.24 a sequential product (`Par::Seq`, the default) allocates nothing, so a
/// training step allocates nothing after warm-up; with [`set_matmul_threads`] above 1 the
/// rayon path allocates a few small task buffers per product (about 9 for a `[512, 256] ×
/// [256, 256]` product on 2 threads). The counter lets tests relate heap traffic to products.
pub fn gemm_calls() -> usize {
    GEMM_CALLS.load(Ordering::Relaxed)
}

/// Number of threads faer may use for matrix products (1 = sequential, the default).
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Sets the number of threads used by the tape's matrix products (`Par::Seq` when 1, the
/// default). Values above 1 need the `rayon` feature; without it they are ignored.
pub fn set_matmul_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// The current matmul thread count (see [`set_matmul_threads`]).
pub fn matmul_threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

fn par() -> Par {
    #[cfg(feature = "rayon")]
    {
        let n = matmul_threads();
        if n > 1 {
            return Par::rayon(n);
        }
    }
    Par::Seq
}

/// A tape scalar: `f32` or `f64` (sealed). Adds the matrix product to [`Real`].
pub trait Element: Real + sealed::Sealed {
    /// `out = [out +] op(a) · op(b)` for row-major buffers, where `op` transposes when asked
    /// (without copying). `a` is stored `[ar, ac]`, `b` is stored `[br, bc]`; `out` is
    /// `[m, n]` with `m, n` the rows of `op(a)` and the columns of `op(b)`. With
    /// `accumulate = false` the previous contents of `out` are ignored.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        out: &mut [Self],
        a: &[Self],
        ar: usize,
        ac: usize,
        ta: bool,
        b: &[Self],
        br: usize,
        bc: usize,
        tb: bool,
        accumulate: bool,
    );
    /// $e^x$ by range reduction and a polynomial, branch-free so that loops over slices
    /// vectorise: within 2 ulp of `exp` ([`geoflow_manifolds::vmath::exp`]: Cephes `expf`
    /// in f32, a degree-13 Taylor polynomial in f64). The argument is clamped to $\lbrack -87, 88 \rbrack$ (f32) or
    /// $\lbrack -708, 709 \rbrack$ (f64), so the result is always finite and positive; NaN gives NaN.
    fn exp_fast(x: Self) -> Self;
    /// Bytes per scalar.
    const BYTES: usize;
    /// Appends the little-endian bytes of `xs` to `out`.
    fn write_le(xs: &[Self], out: &mut Vec<u8>);
    /// Decodes little-endian bytes (`b.len()` a multiple of [`BYTES`](Element::BYTES)).
    fn read_le(b: &[u8], out: &mut Vec<Self>);
}

macro_rules! exp_fast_impl {
    (f32, $x:expr) => {{
        // Cephes `expf` from `vmath` (vectorises: about 2x faster over a slice than a
        // range reduction through a saturating float-to-int cast); clamped so the result is
        // finite and positive.
        geoflow_manifolds::vmath::exp::<f32>(($x).clamp(-87.0, 88.0))
    }};
    (f64, $x:expr) => {{
        geoflow_manifolds::vmath::exp::<f64>(($x).clamp(-708.0, 709.0))
    }};
}

macro_rules! impl_element {
    ($t:ident) => {
        impl Element for $t {
            fn gemm(
                out: &mut [Self],
                a: &[Self],
                ar: usize,
                ac: usize,
                ta: bool,
                b: &[Self],
                br: usize,
                bc: usize,
                tb: bool,
                accumulate: bool,
            ) {
                GEMM_CALLS.fetch_add(1, Ordering::Relaxed);
                let av = MatRef::<$t>::from_row_major_slice(a, ar, ac);
                let bv = MatRef::<$t>::from_row_major_slice(b, br, bc);
                let av = if ta { av.transpose() } else { av };
                let bv = if tb { bv.transpose() } else { bv };
                let (m, n) = (av.nrows(), bv.ncols());
                debug_assert_eq!(av.ncols(), bv.nrows());
                let ov = MatMut::<$t>::from_row_major_slice_mut(out, m, n);
                let acc = if accumulate {
                    Accum::Add
                } else {
                    Accum::Replace
                };
                matmul(ov, acc, av, bv, 1.0, par());
            }
            #[inline(always)]
            fn exp_fast(x: Self) -> Self {
                exp_fast_impl!($t, x)
            }
            const BYTES: usize = std::mem::size_of::<$t>();
            fn write_le(xs: &[Self], out: &mut Vec<u8>) {
                for x in xs {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
            fn read_le(b: &[u8], out: &mut Vec<Self>) {
                out.extend(
                    b.chunks_exact(Self::BYTES)
                        .map(|c| <$t>::from_le_bytes(c.try_into().unwrap())),
                );
            }
        }
    };
}

impl_element!(f32);
impl_element!(f64);

#[cfg(test)]
mod tests {
    use super::Element;

    #[test]
    fn exp_fast_is_accurate() {
        let mut worst32 = 0.0f64;
        let mut worst64 = 0.0f64;
        for i in -20000..=20000 {
            let x = i as f64 * 0.0043;
            let e = x.exp();
            let a = f64::exp_fast(x);
            worst64 = worst64.max(((a - e) / e).abs());
            if x.abs() < 87.0 {
                let a = f32::exp_fast(x as f32) as f64;
                let e = (x as f32 as f64).exp();
                worst32 = worst32.max(((a - e) / e).abs());
            }
        }
        assert!(worst64 < 4.5e-16, "f64 exp_fast relative error {worst64}");
        assert!(worst32 < 2.5e-7, "f32 exp_fast relative error {worst32}");
        assert!(f32::exp_fast(f32::NAN).is_nan());
        assert!(f64::exp_fast(-1000.0) < 1e-300);
        assert!(f32::exp_fast(200.0).is_finite());
    }
}
