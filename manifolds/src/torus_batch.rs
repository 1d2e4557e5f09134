//! Batched kernels of [`FlatTorus`](crate::FlatTorus) and [`Euclidean`](crate::Euclidean):
//! straight slice loops that LLVM vectorises, instead of the per-row driver of the trait
//! defaults.
//!
//! Both manifolds are elementwise except for the row reductions (`dist`, `inner`, `norm`), so
//! the elementwise ops run over whole flat slices (`exp`, `log`, `geodesic`, projections,
//! transport) and the reductions over rows with the row length fixed at compile time for the
//! common small widths (the row loop then vectorises across rows).
//!
//! The torus wrap uses [`wrap_fast`], a branch-free form of [`wrap_angle`] that returns the same
//! value bit for bit wherever it does not flag the element: the identity on
//! $\lbrack -\pi_T, \pi_T)$; otherwise the Cody–Waite reduction with the first integer
//! $k = \operatorname{round}(x / 2\pi)$, accepted when the result is more than 16 ulps of π inside
//! $(-\pi, \pi)$ (there `wrap_angle`'s correction loop does not move $k$ and its final clamp does
//! not fire). Flagged elements (within 16 ulps of ±π, NaN, ±∞) make the kernel redo its chunk
//! with the exact scalar `wrap_angle`, so every result equals the scalar kernel's exactly.
//! Row sums keep the scalar kernels' summation order, so `dist`, `inner` and `norm` are bit-equal
//! to the scalar kernels too.

use crate::batch;
use crate::torus::{wrap_angle, TWO_PI_1, TWO_PI_2, TWO_PI_3};
use crate::vmath::BLOCK;
use crate::Real;

/// Elements per chunk of the elementwise passes (one rare-path redo covers one chunk).
const CHUNK: usize = 4 * BLOCK;

/// Branch-free [`wrap_angle`]: `(value, flag)`. Where `flag` is false the value equals
/// `wrap_angle(x)` bit for bit; where it is true (within 16 ulps of ±π after reduction, or a
/// non-finite `x`) the caller must use `wrap_angle(x)`.
#[inline(always)]
pub(crate) fn wrap_fast<T: Real>(x: T) -> (T, bool) {
    let pi = T::PI();
    let inside = x >= -pi && x < pi;
    let (c1, c2, c3) = (T::pick(TWO_PI_1), T::pick(TWO_PI_2), T::pick(TWO_PI_3));
    let k = (x * (T::one() / c1)).round();
    let hi = (-k).mul_add(c1, x);
    let lo = (-k).mul_add(c2, -k * c3);
    let r = hi + lo;
    let safe = r.abs() < pi - T::c(16.0) * T::epsilon() * pi;
    let v = if inside { x } else { r };
    (v, !inside & !safe)
}

/// `out[i] = wrap(f(a[i], b[i]))`, vectorised, with the exact scalar wrap redone per chunk on
/// the rare flagged elements.
#[inline(always)]
fn wrap_map2<T: Real>(a: &[T], b: &[T], out: &mut [T], f: impl Fn(T, T) -> T) {
    for ((o, a), b) in out
        .chunks_mut(CHUNK)
        .zip(a.chunks(CHUNK))
        .zip(b.chunks(CHUNK))
    {
        let mut bad = false;
        for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
            let (r, flag) = wrap_fast(f(a, b));
            *o = r;
            bad |= flag;
        }
        if bad {
            for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
                *o = wrap_angle(f(a, b));
            }
        }
    }
}

/// `out[i] = f(a[i], b[i])` over flat slices.
#[inline(always)]
fn map2_flat<T: Real>(a: &[T], b: &[T], out: &mut [T], f: impl Fn(T, T) -> T) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = f(a, b);
    }
}

/// Runs an elementwise kernel `k(a_block, b_block, out_block)` over the blocks of
/// [`batch::for_blocks`] (parallel for large batches).
#[inline(always)]
fn elementwise2<T: Real>(
    a: &[T],
    b: &[T],
    d: usize,
    out: &mut [T],
    k: impl Fn(&[T], &[T], &mut [T]) + Sync + Send,
) {
    let work = a.len() * 2 + out.len();
    batch::for_blocks(out, d, work, |r0, block| {
        let r = r0 * d..r0 * d + block.len();
        k(&a[r.clone()], &b[r], block);
    });
}

/// Runs a row-reduction kernel `k(a_rows, b_rows, out_rows)` (one output per `d`-row).
#[inline(always)]
fn rows2<T: Real>(
    a: &[T],
    b: &[T],
    d: usize,
    out: &mut [T],
    k: impl Fn(&[T], &[T], &mut [T]) + Sync + Send,
) {
    let work = a.len() * 2 + out.len();
    batch::for_blocks(out, 1, work, |r0, block| {
        let r = r0 * d..(r0 + block.len()) * d;
        k(&a[r.clone()], &b[r], block);
    });
}

/// `out[i] = Σ_k f(a[i,k], b[i,k])²` summed left to right with fused multiply–adds (the order
/// of `numerics::dot`), rows of compile-time width `N`.
#[inline(always)]
fn sumsq_rows_n<T: Real, const N: usize>(a: &[T], b: &[T], out: &mut [T], f: &impl Fn(T, T) -> T) {
    for ((o, a), b) in out.iter_mut().zip(a.chunks_exact(N)).zip(b.chunks_exact(N)) {
        let mut s = T::zero();
        for k in 0..N {
            let x = f(a[k], b[k]);
            s = x.madd(x, s);
        }
        *o = s;
    }
}

/// [`sumsq_rows_n`] for any width `d`, specialised for the common small ones.
#[inline(always)]
fn sumsq_rows<T: Real>(a: &[T], b: &[T], d: usize, out: &mut [T], f: impl Fn(T, T) -> T) {
    match d {
        1 => sumsq_rows_n::<T, 1>(a, b, out, &f),
        2 => sumsq_rows_n::<T, 2>(a, b, out, &f),
        3 => sumsq_rows_n::<T, 3>(a, b, out, &f),
        4 => sumsq_rows_n::<T, 4>(a, b, out, &f),
        8 => sumsq_rows_n::<T, 8>(a, b, out, &f),
        _ => {
            for ((o, a), b) in out.iter_mut().zip(a.chunks_exact(d)).zip(b.chunks_exact(d)) {
                let mut s = T::zero();
                for (&a, &b) in a.iter().zip(b) {
                    let x = f(a, b);
                    s = x.madd(x, s);
                }
                *o = s;
            }
        }
    }
}

/// `out[i] = Σ_k u[i,k] v[i,k]` in the order of `numerics::dot`.
#[inline(always)]
fn dot_rows<T: Real>(u: &[T], v: &[T], d: usize, out: &mut [T]) {
    #[inline(always)]
    fn n<T: Real, const N: usize>(u: &[T], v: &[T], out: &mut [T]) {
        for ((o, u), v) in out.iter_mut().zip(u.chunks_exact(N)).zip(v.chunks_exact(N)) {
            let mut s = T::zero();
            for k in 0..N {
                s = u[k].madd(v[k], s);
            }
            *o = s;
        }
    }
    match d {
        1 => n::<T, 1>(u, v, out),
        2 => n::<T, 2>(u, v, out),
        3 => n::<T, 3>(u, v, out),
        4 => n::<T, 4>(u, v, out),
        8 => n::<T, 8>(u, v, out),
        _ => {
            for ((o, u), v) in out.iter_mut().zip(u.chunks_exact(d)).zip(v.chunks_exact(d)) {
                *o = crate::numerics::dot(u, v);
            }
        }
    }
}

/// Square roots of row sums of squares, with the scalar `fallback(row_a, row_b)` on the rows
/// whose sum over- or underflowed (not normal, or infinite; NaN counts as fine when `nan_ok`):
/// exactly what `numerics::norm` (`nan_ok = false`) and `Euclidean::dist` (`true`) do.
#[inline(always)]
fn sqrt_or_fallback<T: Real>(
    a: &[T],
    b: &[T],
    d: usize,
    out: &mut [T],
    nan_ok: bool,
    fallback: impl Fn(&[T], &[T]) -> T,
) {
    let ok = |s: T| (s.is_normal() && s < T::max_value()) || (nan_ok && s.is_nan());
    let mut bad = false;
    for &s in out.iter() {
        bad |= !ok(s);
    }
    if bad {
        for (i, o) in out.iter_mut().enumerate() {
            if ok(*o) {
                *o = o.sqrt();
            } else {
                let r = i * d..(i + 1) * d;
                *o = fallback(&a[r.clone()], &b[r]);
            }
        }
    } else {
        for o in out.iter_mut() {
            *o = o.sqrt();
        }
    }
}

/// Checks the shapes of a batch op with row inputs `ins` (each `n` rows of `d`) and output
/// `out` (`n` rows of `d_out`); returns `n`.
///
/// # Panics
/// With the lengths in the message.
#[track_caller]
#[inline]
pub(crate) fn shapes<T>(ins: &[&[T]], d: usize, out: &[T], d_out: usize, what: &str) -> usize {
    let n = batch::rows(ins[0].len(), d, what);
    for a in &ins[1..] {
        batch::expect_len(a.len(), n, d, what);
    }
    batch::expect_len(out.len(), n, d_out, what);
    n
}

// ---------------------------------------------------------------- flat torus

/// `wrap(p + v)` over a batch.
pub(crate) fn torus_exp<T: Real>(ps: &[T], vs: &[T], d: usize, outs: &mut [T]) {
    elementwise2(ps, vs, d, outs, |p, v, o| wrap_map2(p, v, o, |p, v| p + v));
}

/// `wrap(q - p)` over a batch.
pub(crate) fn torus_log<T: Real>(ps: &[T], qs: &[T], d: usize, outs: &mut [T]) {
    elementwise2(ps, qs, d, outs, |p, q, o| wrap_map2(p, q, o, |p, q| q - p));
}

/// Componentwise `wrap(x)`.
pub(crate) fn torus_project_point<T: Real>(xs: &[T], d: usize, outs: &mut [T]) {
    elementwise2(xs, xs, d, outs, |x, _, o| wrap_map2(x, x, o, |x, _| x));
}

/// $\lVert \operatorname{wrap}(q - p)\rVert$ per row (the scalar kernel's summation order).
pub(crate) fn torus_dist<T: Real>(ps: &[T], qs: &[T], d: usize, ds: &mut [T]) {
    rows2(ps, qs, d, ds, |p, q, out| {
        let mut buf = [T::zero(); CHUNK];
        let rows = (CHUNK / d).max(1);
        if d > CHUNK {
            for ((o, p), q) in out.iter_mut().zip(p.chunks_exact(d)).zip(q.chunks_exact(d)) {
                let mut s = T::zero();
                for (&p, &q) in p.iter().zip(q) {
                    let x = wrap_angle(q - p);
                    s = x.madd(x, s);
                }
                *o = s.sqrt();
            }
            return;
        }
        for ((o, p), q) in out
            .chunks_mut(rows)
            .zip(p.chunks(rows * d))
            .zip(q.chunks(rows * d))
        {
            let w = &mut buf[..p.len()];
            wrap_map2(p, q, w, |p, q| q - p);
            sumsq_rows(w, w, d, o, |x, _| x);
            for o in o.iter_mut() {
                *o = o.sqrt();
            }
        }
    });
}

/// $\operatorname{wrap}(p + t\operatorname{wrap}(q - p))$ per row.
pub(crate) fn torus_geodesic<T: Real>(ps: &[T], qs: &[T], ts: &[T], d: usize, outs: &mut [T]) {
    let work = ps.len() * 2 + outs.len();
    batch::for_blocks(outs, d, work, |r0, block| {
        let n = block.len() / d;
        let r = r0 * d..r0 * d + block.len();
        let (p, q, t) = (&ps[r.clone()], &qs[r], &ts[r0..r0 + n]);
        let rows = (CHUNK / d).max(1);
        let mut tb = [T::zero(); CHUNK];
        for (((o, p), q), t) in block
            .chunks_mut(rows * d)
            .zip(p.chunks(rows * d))
            .zip(q.chunks(rows * d))
            .zip(t.chunks(rows))
        {
            if d > CHUNK {
                for ((o, &p), &q) in o.iter_mut().zip(p).zip(q) {
                    *o = wrap_angle(t[0].madd(wrap_angle(q - p), p));
                }
                continue;
            }
            // Each row's t broadcast over its coordinates, so the wrap loop runs flat.
            let tb = &mut tb[..o.len()];
            bcast_rows(t, d, tb);
            let mut bad = false;
            for (((o, &p), &q), &t) in o.iter_mut().zip(p).zip(q).zip(tb.iter()) {
                let (l, f1) = wrap_fast(q - p);
                let (g, f2) = wrap_fast(t.madd(l, p));
                *o = g;
                bad |= f1 | f2;
            }
            if bad {
                for (((o, &p), &q), &t) in o.iter_mut().zip(p).zip(q).zip(tb.iter()) {
                    *o = wrap_angle(t.madd(wrap_angle(q - p), p));
                }
            }
        }
    });
}

/// `buf[i*d + k] = ts[i]`: one scalar per row broadcast over the row (compile-time widths for
/// the small ones, where `fill` would be a call per row).
#[inline(always)]
fn bcast_rows<T: Real>(ts: &[T], d: usize, buf: &mut [T]) {
    #[inline(always)]
    fn n<T: Real, const N: usize>(ts: &[T], buf: &mut [T]) {
        for (row, &t) in buf.chunks_exact_mut(N).zip(ts) {
            for x in row.iter_mut() {
                *x = t;
            }
        }
    }
    match d {
        1 => n::<T, 1>(ts, buf),
        2 => n::<T, 2>(ts, buf),
        3 => n::<T, 3>(ts, buf),
        4 => n::<T, 4>(ts, buf),
        8 => n::<T, 8>(ts, buf),
        _ => {
            for (row, &t) in buf.chunks_exact_mut(d).zip(ts) {
                row.fill(t);
            }
        }
    }
}

// ---------------------------------------------------------------- shared by both

/// `out = a` (parallel transport and tangent projection of the flat manifolds).
pub(crate) fn copy_rows<T: Real>(a: &[T], d: usize, outs: &mut [T]) {
    elementwise2(a, a, d, outs, |a, _, o| o.copy_from_slice(a));
}

/// $u^\top v$ per row (the order of `numerics::dot`).
pub(crate) fn inner_rows<T: Real>(us: &[T], vs: &[T], d: usize, out: &mut [T]) {
    rows2(us, vs, d, out, |u, v, o| dot_rows(u, v, d, o));
}

/// `numerics::norm` per row (plain sum of squares, the scaled pass only on over/underflow).
pub(crate) fn norm_rows<T: Real>(vs: &[T], d: usize, out: &mut [T]) {
    rows2(vs, vs, d, out, |v, _, o| {
        sumsq_rows(v, v, d, o, |x, _| x);
        sqrt_or_fallback(v, v, d, o, false, |v, _| crate::numerics::norm(v));
    });
}

// ---------------------------------------------------------------- Euclidean

/// $p + v$ over a batch.
pub(crate) fn euclid_exp<T: Real>(ps: &[T], vs: &[T], d: usize, outs: &mut [T]) {
    elementwise2(ps, vs, d, outs, |p, v, o| map2_flat(p, v, o, |p, v| p + v));
}

/// $q - p$ over a batch.
pub(crate) fn euclid_log<T: Real>(ps: &[T], qs: &[T], d: usize, outs: &mut [T]) {
    elementwise2(ps, qs, d, outs, |p, q, o| map2_flat(p, q, o, |p, q| q - p));
}

/// $p + t(q - p)$ per row.
pub(crate) fn euclid_geodesic<T: Real>(ps: &[T], qs: &[T], ts: &[T], d: usize, outs: &mut [T]) {
    let work = ps.len() * 2 + outs.len();
    batch::for_blocks(outs, d, work, |r0, block| {
        let n = block.len() / d;
        let r = r0 * d..r0 * d + block.len();
        let (p, q, t) = (&ps[r.clone()], &qs[r], &ts[r0..r0 + n]);
        if d > CHUNK {
            for (((o, p), q), &t) in block
                .chunks_exact_mut(d)
                .zip(p.chunks_exact(d))
                .zip(q.chunks_exact(d))
                .zip(t)
            {
                for ((o, &p), &q) in o.iter_mut().zip(p).zip(q) {
                    *o = t.madd(q - p, p);
                }
            }
            return;
        }
        // Rows in chunks, each row's t broadcast, then one flat loop.
        let rows = CHUNK / d;
        let mut tb = [T::zero(); CHUNK];
        for (((o, p), q), t) in block
            .chunks_mut(rows * d)
            .zip(p.chunks(rows * d))
            .zip(q.chunks(rows * d))
            .zip(t.chunks(rows))
        {
            let tb = &mut tb[..o.len()];
            bcast_rows(t, d, tb);
            for (((o, &p), &q), &t) in o.iter_mut().zip(p).zip(q).zip(tb.iter()) {
                *o = t.madd(q - p, p);
            }
        }
    });
}

/// $\lVert q - p\rVert$ per row, with `Euclidean::dist`'s scaled pass (`fallback`) on the rows
/// whose sum of squares over- or underflows.
pub(crate) fn euclid_dist<T: Real>(
    ps: &[T],
    qs: &[T],
    d: usize,
    ds: &mut [T],
    fallback: impl Fn(&[T], &[T]) -> T + Sync + Send,
) {
    rows2(ps, qs, d, ds, |p, q, o| {
        sumsq_rows(p, q, d, o, |p, q| p - q);
        sqrt_or_fallback(p, q, d, o, true, &fallback);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Euclidean, FlatTorus, Manifold, ParallelTransport};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn same<T: Real>(a: &[T], b: &[T], what: &str) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                x.to_bits_eq(*y),
                "{what}: element {i}: batch {x:?} vs scalar {y:?}"
            );
        }
    }

    trait BitsEq {
        fn to_bits_eq(self, o: Self) -> bool;
    }
    impl<T: Real> BitsEq for T {
        fn to_bits_eq(self, o: Self) -> bool {
            (self.is_nan() && o.is_nan())
                || (self == o && self.is_sign_negative() == o.is_sign_negative())
        }
    }

    #[test]
    fn wrap_fast_is_exact() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let pi = core::f64::consts::PI;
        let mut xs: Vec<f64> = vec![
            pi,
            -pi,
            2.0 * pi,
            -2.0 * pi,
            3.0 * pi,
            -3.0 * pi,
            1e15,
            -1e15,
            1e300,
            f64::INFINITY,
            f64::NAN,
            0.0,
            -0.0,
            1e-300,
        ];
        for _ in 0..100_000 {
            let s: f64 = rng.random_range(-30.0..30.0);
            xs.push(rng.random_range(-1.0..1.0) * 10f64.powf(s.min(15.0)));
            let k: f64 = rng.random_range(-1e6..1e6f64).round();
            let x = (2.0 * k + 1.0) * pi;
            xs.push(x);
            xs.push(f64::from_bits(x.to_bits() + 1));
            xs.push(f64::from_bits(x.to_bits() - 1));
        }
        for &x in &xs {
            let (r, flag) = wrap_fast(x);
            if !flag {
                assert!(
                    r.to_bits_eq(wrap_angle(x)),
                    "f64 {x:e}: {r} vs {}",
                    wrap_angle(x)
                );
            }
            let x32 = x as f32;
            let (r, flag) = wrap_fast(x32);
            if !flag {
                assert!(r.to_bits_eq(wrap_angle(x32)), "f32 {x32:e}");
            }
        }
        // The slice kernel (with the rare path) is exact everywhere.
        let mut out = vec![0.0; xs.len()];
        wrap_map2(&xs, &xs, &mut out, |x, _| x);
        let want: Vec<f64> = xs.iter().map(|&x| wrap_angle(x)).collect();
        same(&out, &want, "wrap_map2");
    }

    fn check_torus<T: Real>(d: usize, n: usize, rng: &mut ChaCha8Rng) {
        let m = FlatTorus::<T>::new(d).unwrap();
        let pi = core::f64::consts::PI;
        let gen = |rng: &mut ChaCha8Rng, s: f64| -> Vec<T> {
            (0..n * d)
                .map(|i| {
                    let x = match i % 7 {
                        0 => pi,
                        1 => -pi * (1.0 - 1e-16),
                        _ => rng.random_range(-s..s),
                    };
                    T::c(x)
                })
                .collect()
        };
        let (ps, qs, vs) = (gen(rng, pi), gen(rng, pi), gen(rng, 20.0));
        let ts: Vec<T> = (0..n).map(|_| T::c(rng.random_range(-1.5..1.5))).collect();
        let mut o = vec![T::zero(); n * d];
        let mut w = vec![T::zero(); n * d];
        let mut s = vec![T::zero(); n];
        let mut sw = vec![T::zero(); n];
        let row = |i: usize, a: &[T]| a[i * d..(i + 1) * d].to_vec();
        m.exp_batch_into(&ps, &vs, &mut o);
        for i in 0..n {
            m.exp_into(&row(i, &ps), &row(i, &vs), &mut w[i * d..(i + 1) * d]);
        }
        same(&o, &w, "torus exp");
        m.log_batch_into(&ps, &qs, &mut o);
        for i in 0..n {
            m.log_into(&row(i, &ps), &row(i, &qs), &mut w[i * d..(i + 1) * d]);
        }
        same(&o, &w, "torus log");
        m.geodesic_velocity_batch_into(&ps, &qs, &ts, &mut o);
        same(&o, &w, "torus velocity");
        m.geodesic_batch_into(&ps, &qs, &ts, &mut o);
        for i in 0..n {
            m.geodesic_into(
                &row(i, &ps),
                &row(i, &qs),
                ts[i],
                &mut w[i * d..(i + 1) * d],
            );
        }
        same(&o, &w, "torus geodesic");
        m.project_point_batch_into(&vs, &mut o);
        for i in 0..n {
            m.project_point_into(&row(i, &vs), &mut w[i * d..(i + 1) * d]);
        }
        same(&o, &w, "torus project_point");
        m.dist_batch_into(&ps, &qs, &mut s);
        for i in 0..n {
            sw[i] = m.dist(&row(i, &ps), &row(i, &qs));
        }
        same(&s, &sw, "torus dist");
        m.inner_batch_into(&ps, &qs, &vs, &mut s);
        for i in 0..n {
            sw[i] = m.inner(&row(i, &ps), &row(i, &qs), &row(i, &vs));
        }
        same(&s, &sw, "torus inner");
        m.norm_batch_into(&ps, &vs, &mut s);
        for i in 0..n {
            sw[i] = m.norm(&row(i, &ps), &row(i, &vs));
        }
        same(&s, &sw, "torus norm");
        m.transport_batch_into(&ps, &qs, &vs, &mut o);
        same(&o, &vs, "torus transport");
        m.project_tangent_batch_into(&ps, &vs, &mut o);
        same(&o, &vs, "torus project_tangent");
    }

    fn check_euclid<T: Real>(d: usize, n: usize, rng: &mut ChaCha8Rng) {
        let m = Euclidean::<T>::new(d).unwrap();
        let gen = |rng: &mut ChaCha8Rng| -> Vec<T> {
            (0..n * d)
                .map(|i| {
                    let s = match i % 11 {
                        0 => 1e-30,
                        1 => 1e30,
                        _ => 1.0,
                    };
                    T::c(rng.random_range(-s..s))
                })
                .collect()
        };
        let (ps, qs, vs) = (gen(rng), gen(rng), gen(rng));
        let ts: Vec<T> = (0..n).map(|_| T::c(rng.random_range(-1.5..1.5))).collect();
        let mut o = vec![T::zero(); n * d];
        let mut w = vec![T::zero(); n * d];
        let mut s = vec![T::zero(); n];
        let mut sw = vec![T::zero(); n];
        let row = |i: usize, a: &[T]| a[i * d..(i + 1) * d].to_vec();
        m.exp_batch_into(&ps, &vs, &mut o);
        for i in 0..n {
            m.exp_into(&row(i, &ps), &row(i, &vs), &mut w[i * d..(i + 1) * d]);
        }
        same(&o, &w, "euclid exp");
        m.log_batch_into(&ps, &qs, &mut o);
        for i in 0..n {
            m.log_into(&row(i, &ps), &row(i, &qs), &mut w[i * d..(i + 1) * d]);
        }
        same(&o, &w, "euclid log");
        m.geodesic_velocity_batch_into(&ps, &qs, &ts, &mut o);
        same(&o, &w, "euclid velocity");
        m.geodesic_batch_into(&ps, &qs, &ts, &mut o);
        for i in 0..n {
            m.geodesic_into(
                &row(i, &ps),
                &row(i, &qs),
                ts[i],
                &mut w[i * d..(i + 1) * d],
            );
        }
        same(&o, &w, "euclid geodesic");
        m.dist_batch_into(&ps, &qs, &mut s);
        for i in 0..n {
            sw[i] = m.dist(&row(i, &ps), &row(i, &qs));
        }
        same(&s, &sw, "euclid dist");
        m.inner_batch_into(&ps, &qs, &vs, &mut s);
        for i in 0..n {
            sw[i] = m.inner(&row(i, &ps), &row(i, &qs), &row(i, &vs));
        }
        same(&s, &sw, "euclid inner");
        m.norm_batch_into(&ps, &vs, &mut s);
        for i in 0..n {
            sw[i] = m.norm(&row(i, &ps), &row(i, &vs));
        }
        same(&s, &sw, "euclid norm");
        m.transport_batch_into(&ps, &qs, &vs, &mut o);
        same(&o, &vs, "euclid transport");
        m.project_tangent_batch_into(&ps, &vs, &mut o);
        same(&o, &vs, "euclid project_tangent");
        m.project_point_batch_into(&vs, &mut o);
        same(&o, &vs, "euclid project_point");
    }

    #[test]
    fn batches_equal_the_scalar_kernels() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for &n in &[1, 63, 65, 1000] {
            for &d in &[1, 2, 3, 5, 8, 300] {
                check_torus::<f64>(d, n, &mut rng);
                check_torus::<f32>(d, n, &mut rng);
                check_euclid::<f64>(d, n, &mut rng);
                check_euclid::<f32>(d, n, &mut rng);
            }
        }
    }
}
