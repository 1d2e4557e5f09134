//! Row-parallel drivers for the batch methods: split row-major `[n, d]` slices into blocks of
//! rows and run a per-row kernel on each block, over rayon (feature `rayon`) when the batch is
//! large enough to pay for it, sequentially otherwise.

use crate::Real;

/// Below this many scalars of output+input work a batch runs sequentially (rayon's fork-join
/// costs a few microseconds; a sequential S² exp does about 2¹⁴ scalars in that time).
pub const PAR_MIN_SCALARS: usize = 1 << 15;

/// Rows per parallel task: enough to amortise scheduling, few enough to balance two cores.
#[cfg(feature = "rayon")]
const fn rows_per_task(row_scalars: usize) -> usize {
    let r = (1 << 14) / if row_scalars == 0 { 1 } else { row_scalars };
    if r == 0 {
        1
    } else {
        r
    }
}

/// Checks that a batch slice holds `n` rows of `d` scalars and returns `n`.
///
/// # Panics
/// If `len` is not a multiple of `d`, with both lengths in the message.
#[track_caller]
#[inline]
pub fn rows(len: usize, d: usize, what: &str) -> usize {
    assert!(
        d > 0 && len % d == 0,
        "{what}: batch length {len} is not a multiple of the row length {d}"
    );
    len / d
}

/// Asserts that a batch argument has exactly `n * d` scalars.
///
/// # Panics
/// With the lengths in the message.
#[track_caller]
#[inline]
pub fn expect_len(len: usize, n: usize, d: usize, what: &str) {
    assert!(
        len == n * d,
        "{what}: expected {n} rows of {d} scalars ({} in all), got {len}",
        n * d
    );
}

/// Runs `f(row_index_start, out_block)` over blocks of output rows (each block is a whole number of
/// `d_out`-scalar rows), in parallel when the `rayon` feature is on and `work` is large.
#[inline]
pub fn for_blocks<T: Real, F>(out: &mut [T], d_out: usize, work: usize, f: F)
where
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    #[cfg(feature = "rayon")]
    {
        if work >= PAR_MIN_SCALARS && rayon::current_num_threads() > 1 {
            use rayon::prelude::*;
            let d_out = d_out.max(1);
            let rows = rows_per_task(d_out.max(work / (out.len() / d_out).max(1)));
            out.par_chunks_mut(rows * d_out)
                .enumerate()
                .for_each(|(k, block)| f(k * rows, block));
            return;
        }
    }
    let _ = (work, d_out);
    f(0, out);
}

/// [`for_blocks`] for an op with two outputs of `d` scalars per row:
/// `f(row_start, out_a_block, out_b_block)` over matching blocks of rows, in parallel with the
/// `rayon` feature when `work` is large (the same thresholds and task sizes).
#[inline]
pub fn for_blocks2<T: Real, F>(a: &mut [T], b: &mut [T], d: usize, work: usize, f: F)
where
    F: Fn(usize, &mut [T], &mut [T]) + Sync + Send,
{
    #[cfg(feature = "rayon")]
    {
        if work >= PAR_MIN_SCALARS && rayon::current_num_threads() > 1 {
            use rayon::prelude::*;
            let d = d.max(1);
            let rows = rows_per_task(d.max(work / (a.len() / d).max(1)));
            a.par_chunks_mut(rows * d)
                .zip(b.par_chunks_mut(rows * d))
                .enumerate()
                .for_each(|(k, (x, y))| f(k * rows, x, y));
            return;
        }
    }
    let _ = (work, d);
    f(0, a, b);
}

/// Per-row driver for an op with two row inputs of width `d_in` and an output of width `d_out`:
/// `f(a_i, b_i, out_i)` for every row `i`.
#[inline]
pub fn map2<T: Real, F>(a: &[T], b: &[T], d_in: usize, out: &mut [T], d_out: usize, f: F)
where
    F: Fn(&[T], &[T], &mut [T]) + Sync + Send,
{
    let work = a.len() * 2 + out.len();
    for_blocks(out, d_out, work, |r0, block| {
        for (k, o) in block.chunks_exact_mut(d_out).enumerate() {
            let i = r0 + k;
            f(
                &a[i * d_in..(i + 1) * d_in],
                &b[i * d_in..(i + 1) * d_in],
                o,
            );
        }
    });
}

/// Per-row driver for an op with one row input: `f(a_i, out_i)`.
#[inline]
pub fn map1<T: Real, F>(a: &[T], d_in: usize, out: &mut [T], d_out: usize, f: F)
where
    F: Fn(&[T], &mut [T]) + Sync + Send,
{
    let work = a.len() + out.len();
    for_blocks(out, d_out, work, |r0, block| {
        for (k, o) in block.chunks_exact_mut(d_out).enumerate() {
            let i = r0 + k;
            f(&a[i * d_in..(i + 1) * d_in], o);
        }
    });
}

/// Per-row driver for an op with three row inputs: `f(a_i, b_i, c_i, out_i)`.
#[inline]
pub fn map3<T: Real, F>(a: &[T], b: &[T], c: &[T], d_in: usize, out: &mut [T], d_out: usize, f: F)
where
    F: Fn(&[T], &[T], &[T], &mut [T]) + Sync + Send,
{
    let work = a.len() * 3 + out.len();
    for_blocks(out, d_out, work, |r0, block| {
        for (k, o) in block.chunks_exact_mut(d_out).enumerate() {
            let i = r0 + k;
            let r = i * d_in..(i + 1) * d_in;
            f(&a[r.clone()], &b[r.clone()], &c[r], o);
        }
    });
}

/// Per-row driver for an op with two row inputs and one scalar per row: `f(a_i, b_i, t_i, out_i)`.
#[inline]
pub fn map2t<T: Real, F>(a: &[T], b: &[T], ts: &[T], d_in: usize, out: &mut [T], d_out: usize, f: F)
where
    F: Fn(&[T], &[T], T, &mut [T]) + Sync + Send,
{
    let work = a.len() * 2 + out.len();
    for_blocks(out, d_out, work, |r0, block| {
        for (k, o) in block.chunks_exact_mut(d_out).enumerate() {
            let i = r0 + k;
            let r = i * d_in..(i + 1) * d_in;
            f(&a[r.clone()], &b[r], ts[i], o);
        }
    });
}

#[cfg(all(test, feature = "rayon"))]
mod tests {
    use crate::{Lorentz, Manifold, ManifoldExt, Sample, Simplex, Sphere};
    use rand::SeedableRng;

    /// Runs `f` on a pool of `threads` threads.
    fn on<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(f)
    }

    /// Parallel batches (large enough to split over two threads, with a ragged last task) equal
    /// the sequential ones bit for bit: rows are independent.
    fn parallel_equals_sequential<M: Manifold<Scalar = f64> + Sample>(m: &M) {
        let d = m.ambient_dim();
        let n = 3 * super::PAR_MIN_SCALARS / d + 17;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (mut ps, mut qs) = (vec![0.0; n * d], vec![0.0; n * d]);
        m.sample_base_batch_into(&mut rng, &mut ps);
        m.sample_base_batch_into(&mut rng, &mut qs);
        let ts: Vec<f64> = (0..n).map(|i| (i % 11) as f64 / 10.0).collect();
        let run = |threads| {
            on(threads, || {
                let (mut a, mut b, mut c, mut s) = (
                    vec![0.0; n * d],
                    vec![0.0; n * d],
                    vec![0.0; n * d],
                    vec![0.0; n],
                );
                m.log_batch_into(&ps, &qs, &mut a);
                m.dist_batch_into(&ps, &qs, &mut s);
                m.geodesic_with_velocity_batch_into(&ps, &qs, &ts, &mut b, &mut c);
                (a, b, c, s)
            })
        };
        let (one, two) = (run(1), run(2));
        assert!(one == two, "parallel batch differs from sequential");
        // And the batch rows are the scalar kernels' results.
        let i = n - 1;
        let r = i * d..(i + 1) * d;
        let want = m.log(&ps[r.clone()], &qs[r.clone()]);
        for (a, b) in one.0[r].iter().zip(&want) {
            assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()));
        }
    }

    #[test]
    fn parallel_batches_equal_sequential_batches() {
        parallel_equals_sequential(&Sphere::<f64>::new(2).unwrap());
        parallel_equals_sequential(&Lorentz::<f64>::new(2).unwrap());
        parallel_equals_sequential(&Simplex::<f64>::new(3).unwrap());
    }
}
