//! Fast batched kernels of [`Sphere`] (and [`PositiveOrthant`](crate::PositiveOrthant), which
//! delegates to them).
//!
//! Every op processes rows in blocks of [`BLOCK`] rows in three passes: pass 1 walks each row
//! once and writes per-row scalars (sums of squares and dot products, with 8 independent
//! accumulators so that long rows vectorise) into stack arrays; pass 2 applies
//! [`vmath`]'s branch-free vectorised `atan2` / `sin_cos` over the block; pass 3 writes the
//! outputs. The formulas are the scalar kernels' (see [`Sphere`]), rewritten only where an exact
//! identity saves a transcendental:
//!
//! - the angle is $\theta = 2\operatorname{atan2}(c, a)$ with $c = \lVert q - p\rVert$,
//!   $a = \lVert q + p\rVert$; for $\theta > \pi/2$ the geodesic and its velocity evaluate
//!   $\delta = \pi - \theta = 2\operatorname{atan2}(a, c)$ directly and take $\theta = \pi - \delta$
//!   (one `atan2` per row, full relative accuracy of $\delta$ near the antipode);
//! - $\lVert w\rVert^2 = \lVert s\rVert^2 - \langle p, s\rangle^2/\lVert p\rVert^2$ with
//!   $s = q \mp p$ (the stable difference / sum form of the log): for points on the sphere the
//!   subtraction loses at most one bit, since $\lVert w\rVert^2 \ge \lVert s\rVert^2/2$;
//! - in the slerp branch ($\theta \le \pi/2$),
//!   $\sin\theta = 2ca/(c^2 + a^2)$ exactly (as $\theta = 2\operatorname{atan2}(c, a)$), so
//!   $\operatorname{sinc}\theta$ needs no third sine.
//!
//! The geodesic pair (`geodesic_with_velocity_batch_into`, the peers' `geodesic`) is one fused
//! pass: it reads $p$, $q$, $t$ once, computes the log's sums, one `atan2` and one `sin_cos` per
//! row, and writes the point and the velocity together; its slerp rows take
//! $\sin((1-t)\theta)/\sin\theta = \cos t\theta - \cot\theta\,\sin t\theta$ with
//! $\cot\theta = (a^2 - c^2)/(2ca)$, so no second sine (the outputs have scale 1, so the
//! cancellation near $t = 1$ costs only an absolute ulp or two; $t = 1$ is set exactly).
//!
//! # Rare-path fallback
//!
//! Rows that the fast formula cannot treat with the scalar kernels' accuracy are flagged in pass
//! 1 and recomputed by the exact scalar kernel after the block: sums of squares that underflow
//! to subnormals or overflow (the scalar `norm` rescales), $\lVert w\rVert^2$ below the
//! smallest normal number or below a quarter of $\lVert s\rVert^2$ ($p = q$, the exact cut
//! locus and its deterministic direction, inputs far off the sphere), and tangent vectors longer
//! than $10^5$ (f64) / $10^4$ (f32), where the vectorised argument reduction of `sin_cos` stops
//! being exact.
//!
//! # Accuracy
//!
//! Tested against the row-wise scalar kernels on random and hard-case rows (tiny tangent
//! vectors, points $10^{-10}$ and $\pi - 10^{-6}$ apart, exact equal and antipodal points,
//! both sides of the sinc cutoff, $t \in \lbrace 0, \tfrac12, 1\rbrace$), $d = 3, 5, 11, 64$, batch
//! sizes 1, 63, 65 and 1000: every output agrees to 16 ulps of the row's scale in both
//! precisions (measured at most 6.7 ulps in f64 and 5.9 in f32: vmath's functions are within 3
//! ulps of libm and the long rows sum in a different order), so the accuracy and the f32
//! envelope documented on [`Sphere`] carry over. Slerp rows keep the exact endpoints
//! $\gamma(0) = p$, $\gamma(1) = q$.
//! The fused pair agrees with `geodesic_into` / `geodesic_velocity_into` to at most 6.2 ulps
//! (f64) and 6.3 ulps (f32) of the row's scale on the same cases.
//!
//! # Performance
//!
//! Measured against the Python peers and this machine's roofline in one run of
//! `bash benches/peers/compare.sh` (quiet 2-core machine, $2^{22}$ floats per array, 1 and 2
//! threads): see the table in the repository README, section "Speed", and the raw records in
//! `docs/bench/`. Rerun `./target/release/geoflow_ops --manifolds sphere` for this family alone.

use crate::batch::{self, expect_len, rows};

use crate::numerics::{sinc, SINC_CUTOFF};
use crate::sphere::{log_kernel, normalise_into};
use crate::vmath::{self, BLOCK};
use crate::{Manifold, ParallelTransport, Real, Sphere};

// Block-local row indices are masked with `BLOCK - 1` (a no-op below BLOCK) so that the
// compiler drops the bounds checks of the per-row arrays and can vectorise across rows.
const _: () = assert!(BLOCK.is_power_of_two());

/// Independent accumulators per sum in pass 1 (one AVX2 register of f32, two of f64).
const L: usize = 8;

/// Pairwise sum of the accumulators.
#[inline(always)]
fn hsum<T: Real>(a: &[T; L]) -> T {
    ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

/// The row length: the compile-time `D` when it is not 0 (so that short rows unroll), else `d`.
#[inline(always)]
fn dim<const D: usize>(d: usize) -> usize {
    if D == 0 {
        d
    } else {
        D
    }
}

/// `N` sums $\sum_k x_k y_k$ over one row, where `term(k)` gives the `N` pairs at coordinate
/// `k`: blocks of [`L`] coordinates into `L` accumulators each, then the tail in order (for
/// rows shorter than `L` this is the scalar kernels' sequential sum, bit for bit).
#[inline(always)]
fn row_sums<T: Real, const N: usize>(d: usize, term: impl Fn(usize) -> [(T, T); N]) -> [T; N] {
    let mut out = [T::zero(); N];
    let mut k = 0;
    if d >= L {
        let mut acc = [[T::zero(); L]; N];
        while k + L <= d {
            for j in 0..L {
                let t = term(k + j);
                for n in 0..N {
                    acc[n][j] = t[n].0.madd(t[n].1, acc[n][j]);
                }
            }
            k += L;
        }
        for n in 0..N {
            out[n] = hsum(&acc[n]);
        }
    }
    while k < d {
        let t = term(k);
        for n in 0..N {
            out[n] = t[n].0.madd(t[n].1, out[n]);
        }
        k += 1;
    }
    out
}

/// `true` when a sum of squares is 0 or a normal number below the overflow threshold, i.e.
/// when the scalar `norm` would take its plain `sqrt` branch (or return 0).
#[inline(always)]
fn plain_norm2<T: Real>(s: T) -> bool {
    s == T::zero() || (s >= T::min_positive_value() && s < T::max_value())
}

/// $\operatorname{sinc} x$ from $\sin x$, with the scalar [`crate::numerics::sinc`]'s series
/// below [`SINC_CUTOFF`] (its coefficients as products, not divisions: within an ulp).
#[inline(always)]
fn sinc_from<T: Real>(x: T, s: T) -> T {
    let x2 = x * x;
    let series = T::one() - x2 * T::c(1.0 / 6.0) + x2 * x2 * T::c(1.0 / 120.0);
    if x.abs() < T::pick(SINC_CUTOFF) {
        series
    } else {
        s / x
    }
}

/// Largest $\lVert v\rVert^2$ the fast exp takes (the vectorised `sin_cos` is exact to about
/// $1.6\cdot10^6$ (f64) / $1.2\cdot10^4$ (f32)); longer vectors go to the scalar kernel.
const EXP_MAX_R2: (f32, f64) = (1e8, 1e10);

/// Calls `rows_fn::<T, 3>` for $S^2$ (unrolled rows) and `rows_fn::<T, 0>` otherwise.
macro_rules! by_dim {
    ($f:ident, $d:expr, $($arg:expr),*) => {
        if $d == 3 {
            $f::<T, 3>($($arg),*)
        } else {
            $f::<T, 0>($($arg),*)
        }
    };
}

/// Exp of the rows of `out` (`ps`, `vs` start at the same row).
fn exp_rows<T: Real, const D: usize>(m: &Sphere<T>, ps: &[T], vs: &[T], out: &mut [T], d: usize) {
    let d = dim::<D>(d);
    let n = out.len() / d;
    let mut r0 = 0;
    while r0 < n {
        let nb = (n - r0).min(BLOCK);
        let (mut r, mut sn, mut cs) = ([T::zero(); BLOCK], [T::zero(); BLOCK], [T::zero(); BLOCK]);
        let mut bad = [false; BLOCK];
        let rg = r0 * d..(r0 + nb) * d;
        let (pb, vb) = (&ps[rg.clone()], &vs[rg.clone()]);
        for (i, v) in vb.chunks_exact(d).enumerate() {
            let i = i & (BLOCK - 1);
            let [r2] = row_sums(d, |k| [(v[k], v[k])]);
            bad[i] = !(plain_norm2(r2) && r2 < T::pick(EXP_MAX_R2));
            r[i] = r2.sqrt();
        }
        let any = bad[..nb].iter().any(|&b| b);
        vmath::sin_cos_slice(&r[..nb], &mut sn[..nb], &mut cs[..nb]);
        for i in 0..nb {
            sn[i] = sinc_from(r[i], sn[i]);
        }
        let rows = out[rg].chunks_exact_mut(d).zip(pb.chunks_exact(d));
        for (i, ((o, p), v)) in rows.zip(vb.chunks_exact(d)).enumerate() {
            let i = i & (BLOCK - 1);
            let (c, s) = (cs[i], sn[i]);
            for k in 0..d {
                o[k] = c * p[k] + s * v[k];
            }
        }
        if any {
            for i in (0..nb).filter(|&i| bad[i]) {
                let row = (r0 + i) * d;
                let r = row..row + d;
                m.exp_into(&ps[r.clone()], &vs[r.clone()], &mut out[r]);
            }
        }
        r0 += nb;
    }
}

/// Pass 1 of log and velocity for one row: `(far, sigma, a, ‖w‖², ‖q−p‖², ‖q+p‖², ok)`.
#[inline(always)]
fn log_scalars<T: Real>(p: &[T], q: &[T], d: usize) -> (bool, T, T, T, T, T, bool) {
    let [mi, pl, pp, pd, ps] = row_sums(d, |k| {
        let (x, y) = (p[k], q[k]);
        let (dd, s) = (y - x, y + x);
        [(dd, dd), (s, s), (x, x), (x, dd), (x, s)]
    });
    let far = mi > pl;
    let pp = if pp > T::zero() { pp } else { T::one() };
    let (ss, ps) = if far { (pl, ps) } else { (mi, pd) };
    let sigma = if far { T::one() } else { -T::one() };
    let a = ps / pp;
    let nw2 = ss - a * ps;
    let ok = nw2 >= T::min_positive_value() && nw2 >= T::c(0.25) * ss && ss < T::max_value();
    (far, sigma, a, nw2, mi, pl, ok)
}

/// Log of the rows of `out`.
fn log_rows<T: Real, const D: usize>(m: &Sphere<T>, ps: &[T], qs: &[T], out: &mut [T], d: usize) {
    let d = dim::<D>(d);
    let n = out.len() / d;
    let mut r0 = 0;
    while r0 < n {
        let nb = (n - r0).min(BLOCK);
        let z = [T::zero(); BLOCK];
        let (mut ch, mut an, mut th, mut nw, mut sg, mut aa) = (z, z, z, z, z, z);
        let mut bad = [false; BLOCK];
        let rg = r0 * d..(r0 + nb) * d;
        let (pb, qb) = (&ps[rg.clone()], &qs[rg.clone()]);
        for (i, (p, q)) in pb.chunks_exact(d).zip(qb.chunks_exact(d)).enumerate() {
            let i = i & (BLOCK - 1);
            let (_, sigma, a, nw2, mi, pl, ok) = log_scalars(p, q, d);
            bad[i] = !ok;
            ch[i] = mi.sqrt();
            an[i] = pl.sqrt();
            nw[i] = nw2.sqrt();
            sg[i] = sigma;
            aa[i] = a;
        }
        let any = bad[..nb].iter().any(|&b| b);
        vmath::atan2_slice(&ch[..nb], &an[..nb], &mut th[..nb]);
        for i in 0..nb {
            th[i] = T::c(2.0) * th[i] / nw[i];
        }
        let rows = out[rg].chunks_exact_mut(d).zip(pb.chunks_exact(d));
        for (i, ((o, p), q)) in rows.zip(qb.chunks_exact(d)).enumerate() {
            let i = i & (BLOCK - 1);
            let (k, s, a) = (th[i], sg[i], aa[i]);
            for j in 0..d {
                o[j] = k * ((q[j] + s * p[j]) - a * p[j]);
            }
        }
        if any {
            for i in (0..nb).filter(|&i| bad[i]) {
                let row = (r0 + i) * d;
                let r = row..row + d;
                m.log_into(&ps[r.clone()], &qs[r.clone()], &mut out[r]);
            }
        }
        r0 += nb;
    }
}

/// Distances of the rows of `ds` (one scalar per row).
fn dist_rows<T: Real, const D: usize>(ps: &[T], qs: &[T], ds: &mut [T], d: usize) {
    let d = dim::<D>(d);
    for (r0, ob) in (0..ds.len()).step_by(BLOCK).zip(ds.chunks_mut(BLOCK)) {
        let nb = ob.len();
        let (mut ch, mut an) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
        let rg = r0 * d..(r0 + nb) * d;
        let (pb, qb) = (&ps[rg.clone()], &qs[rg]);
        for (i, (p, q)) in pb.chunks_exact(d).zip(qb.chunks_exact(d)).enumerate() {
            let i = i & (BLOCK - 1);
            let [mi, pl] = row_sums(d, |k| {
                let (dd, s) = (p[k] - q[k], p[k] + q[k]);
                [(dd, dd), (s, s)]
            });
            ch[i] = mi.sqrt();
            an[i] = pl.sqrt();
        }
        vmath::atan2_slice(&ch[..nb], &an[..nb], ob);
        for o in ob.iter_mut() {
            *o = T::c(2.0) * *o;
        }
    }
}

/// The angle and, for $\theta > \pi/2$, $\delta = \pi - \theta$ from one `atan2`
/// (see the module docs); `r = atan2(far ? a : c, far ? c : a)`.
#[inline(always)]
fn theta_delta<T: Real>(far: bool, r: T) -> (T, T) {
    let r2 = T::c(2.0) * r;
    if far {
        (T::PI() - r2, r2)
    } else {
        (r2, T::PI() - r2)
    }
}

/// Geodesic points of the rows of `out`.
fn geodesic_rows<T: Real, const D: usize>(
    m: &Sphere<T>,
    ps: &[T],
    qs: &[T],
    ts: &[T],
    out: &mut [T],
    d: usize,
) {
    let d = dim::<D>(d);
    let n = out.len() / d;
    let mut r0 = 0;
    while r0 < n {
        let nb = (n - r0).min(BLOCK);
        let z = [T::zero(); BLOCK];
        let (mut y, mut x, mut ang, mut sc, mut sin2) = (z, z, z, z, z);
        let (mut arg1, mut s1, mut c1, mut arg2) = (z, z, z, z);
        let (mut ca, mut cb, mut cg, mut aw) = (z, z, z, z);
        let mut bad = [false; BLOCK];
        // Pass 1: sums; for θ > π/2 also the scalars of w = (q + p) − a p.
        let rg = r0 * d..(r0 + nb) * d;
        let (pb, qb) = (&ps[rg.clone()], &qs[rg.clone()]);
        for (i, (p, q)) in pb.chunks_exact(d).zip(qb.chunks_exact(d)).enumerate() {
            let i = i & (BLOCK - 1);
            let [mi, pl, pp, psum] = row_sums(d, |k| {
                let (u, v) = (p[k], q[k]);
                let (dd, s) = (v - u, v + u);
                [(dd, dd), (s, s), (u, u), (u, s)]
            });
            let far = mi > pl;
            let (c, a) = (mi.sqrt(), pl.sqrt());
            y[i] = if far { a } else { c };
            x[i] = if far { c } else { a };
            // 1/sin θ = (c² + a²)/(2ca) for the slerp branch (+∞ at p = q).
            sc[i] = (mi + pl) / (T::c(2.0) * c * a);
            let pp = if pp > T::zero() { pp } else { T::one() };
            let a_w = psum / pp;
            aw[i] = a_w;
            // ‖w‖ of the sum form (used only when far).
            cg[i] = (pl - a_w * psum).sqrt();
            bad[i] = far
                && !(pl - a_w * psum >= T::min_positive_value()
                    && pl - a_w * psum >= T::c(0.25) * pl
                    && pl < T::max_value());
            // `bad`: far rows for the scalar kernel (cut locus); `far` itself goes in ca.
            ca[i] = if far { T::one() } else { T::zero() };
        }
        vmath::atan2_slice(&y[..nb], &x[..nb], &mut ang[..nb]);
        for (i, &t) in ts[r0..r0 + nb].iter().enumerate() {
            let i = i & (BLOCK - 1);
            let far = ca[i] > T::zero();
            let one = T::one();
            let (th, de) = theta_delta(far, ang[i]);
            let psi = if t > T::c(0.5) {
                (one - t) * T::PI() + t * de
            } else {
                t * th
            };
            arg1[i] = if far { psi } else { (one - t) * th };
            arg2[i] = t * th;
        }
        vmath::sin_cos_slice(&arg1[..nb], &mut s1[..nb], &mut c1[..nb]);
        vmath::sin_slice(&arg2[..nb], &mut sin2[..nb]);
        let any = bad[..nb].iter().any(|&b| b);
        for (i, &t) in ts[r0..r0 + nb].iter().enumerate() {
            let i = i & (BLOCK - 1);
            let far = ca[i] > T::zero();
            let one = T::one();
            // sin((1-t)θ)/sin θ and sin(tθ)/sin θ (the scalar kernel's sinc ratios, without
            // their divisions); their limits 1 - t and t at θ = 0.
            let inv = sc[i];
            let eq = !inv.is_finite();
            let na = if eq { one - t } else { s1[i] * inv };
            let nb_ = if eq { t } else { sin2[i] * inv };
            // Exact endpoints γ(0) = p, γ(1) = q like the scalar slerp (where the numerator and
            // the denominator are the same sinc θ).
            let na = if t == T::zero() { one } else { na };
            let nb_ = if t == one { one } else { nb_ };
            let ct = if t > T::c(0.5) { -c1[i] } else { c1[i] };
            let g = s1[i] / cg[i];
            ca[i] = if far { ct } else { na };
            cb[i] = if far { T::zero() } else { nb_ };
            cg[i] = if far { g } else { T::zero() };
            aw[i] = if far { aw[i] } else { T::zero() };
        }
        let rows = out[rg].chunks_exact_mut(d).zip(pb.chunks_exact(d));
        for (i, ((o, p), q)) in rows.zip(qb.chunks_exact(d)).enumerate() {
            let i = i & (BLOCK - 1);
            let (a, b, g, k) = (ca[i], cb[i], cg[i], aw[i]);
            for j in 0..d {
                o[j] = (a * p[j] + b * q[j]) + g * ((q[j] + p[j]) - k * p[j]);
            }
        }
        if any {
            for i in (0..nb).filter(|&i| bad[i]) {
                let row = (r0 + i) * d;
                let r = row..row + d;
                m.geodesic_into(&ps[r.clone()], &qs[r.clone()], ts[r0 + i], &mut out[r]);
            }
        }
        r0 += nb;
    }
}

/// Geodesic velocities of the rows of `out`.
fn velocity_rows<T: Real, const D: usize>(
    m: &Sphere<T>,
    ps: &[T],
    qs: &[T],
    ts: &[T],
    out: &mut [T],
    d: usize,
) {
    let d = dim::<D>(d);
    let n = out.len() / d;
    let mut r0 = 0;
    while r0 < n {
        let nb = (n - r0).min(BLOCK);
        let z = [T::zero(); BLOCK];
        let (mut y, mut x, mut ang, mut nw, mut sg, mut aa, mut fl) = (z, z, z, z, z, z, z);
        let (mut sn, mut cs) = (z, z);
        let mut bad = [false; BLOCK];
        let rg = r0 * d..(r0 + nb) * d;
        let (pb, qb) = (&ps[rg.clone()], &qs[rg.clone()]);
        for (i, (p, q)) in pb.chunks_exact(d).zip(qb.chunks_exact(d)).enumerate() {
            let i = i & (BLOCK - 1);
            let (far, sigma, a, nw2, mi, pl, ok) = log_scalars(p, q, d);
            bad[i] = !ok;
            let (c, an) = (mi.sqrt(), pl.sqrt());
            y[i] = if far { an } else { c };
            x[i] = if far { c } else { an };
            nw[i] = nw2.sqrt();
            sg[i] = sigma;
            aa[i] = a;
        }
        let any = bad[..nb].iter().any(|&b| b);
        vmath::atan2_slice(&y[..nb], &x[..nb], &mut ang[..nb]);
        for (i, &t) in ts[r0..r0 + nb].iter().enumerate() {
            let i = i & (BLOCK - 1);
            let far = sg[i] > T::zero();
            let (th, de) = theta_delta(far, ang[i]);
            let flip = far && t > T::c(0.5);
            ang[i] = if flip {
                (T::one() - t) * T::PI() + t * de
            } else {
                t * th
            };
            fl[i] = if flip { -T::one() } else { T::one() };
            // ang ← ψ, nw ← θ/‖w‖ (log scale), x ← θ.
            nw[i] = th / nw[i];
            x[i] = th;
        }
        vmath::sin_cos_slice(&ang[..nb], &mut sn[..nb], &mut cs[..nb]);
        let rows = out[rg].chunks_exact_mut(d).zip(pb.chunks_exact(d));
        for (i, ((o, p), q)) in rows.zip(qb.chunks_exact(d)).enumerate() {
            let i = i & (BLOCK - 1);
            let (k, s, a) = (nw[i], sg[i], aa[i]);
            let (ct, st) = (fl[i] * cs[i], x[i] * sn[i]);
            for j in 0..d {
                o[j] = ct * (k * ((q[j] + s * p[j]) - a * p[j])) - st * p[j];
            }
        }
        if any {
            for i in (0..nb).filter(|&i| bad[i]) {
                let row = (r0 + i) * d;
                let r = row..row + d;
                m.geodesic_velocity_into(&ps[r.clone()], &qs[r.clone()], ts[r0 + i], &mut out[r]);
            }
        }
        r0 += nb;
    }
}

/// Geodesic points and velocities of the rows of `pts` / `vel` in one pass over `p`, `q`, `t`
/// (the union of [`geodesic_rows`] and [`velocity_rows`]): one `atan2` and one `sin_cos` per
/// row shared by both outputs; the slerp rows take
/// $\sin((1-t)\theta)/\sin\theta = \cos t\theta - \cot\theta\,\sin t\theta$ with
/// $\cot\theta = (a^2 - c^2)/(2ca)$ (no second sine).
///
/// With $\psi$ = $t\theta$ (or $(1-t)\pi + t\delta$ when $\theta > \pi/2$, $t > \tfrac12$) and
/// $c_t = \pm\cos\psi = \cos t\theta$, $s_t = \sin\psi = \sin t\theta$:
/// slerp rows write $\gamma = (c_t - s_t\cot\theta)\\,p + \frac{s_t}{\sin\theta}q$,
/// far rows $\gamma = c_t\\,p + \frac{s_t}{\lVert w\rVert}w$ ($w = (q+p) - a\\,p$), and every row
/// $\dot\gamma = c_t\frac{\theta}{\lVert w\rVert}w - \theta s_t\\,p$ with the log's $w$ (the
/// difference form for slerp rows). Rows the log kernel cannot treat exactly (see the module
/// docs) get both outputs from the scalar kernels.
fn geodesic_pair_rows<T: Real, const D: usize>(
    ps: &[T],
    qs: &[T],
    ts: &[T],
    pts: &mut [T],
    vel: &mut [T],
    d: usize,
) {
    let d = dim::<D>(d);
    let n = pts.len() / d;
    let mut r0 = 0;
    while r0 < n {
        let nb = (n - r0).min(BLOCK);
        let z = [T::zero(); BLOCK];
        let (mut y, mut x, mut ang, mut nw, mut sg, mut aa, mut sc) = (z, z, z, z, z, z, z);
        let (mut sn, mut cs, mut cot) = (z, z, z);
        let (mut ca, mut cb, mut cg, mut cv, mut cp) = (z, z, z, z, z);
        let mut bad = [false; BLOCK];
        // Pass 1: the log's sums (w in the difference form for θ ≤ π/2, the sum form beyond).
        let rg = r0 * d..(r0 + nb) * d;
        let (pb, qb) = (&ps[rg.clone()], &qs[rg.clone()]);
        for (i, (p, q)) in pb.chunks_exact(d).zip(qb.chunks_exact(d)).enumerate() {
            let i = i & (BLOCK - 1);
            let (far, sigma, a, nw2, mi, pl, ok) = log_scalars(p, q, d);
            bad[i] = !ok;
            let (c, an) = (mi.sqrt(), pl.sqrt());
            y[i] = if far { an } else { c };
            x[i] = if far { c } else { an };
            // 1/sin θ = (c² + a²)/(2ca) and cot θ = (a² − c²)/(2ca) for the slerp rows
            // (θ = 2 atan2(c, a) exactly; +∞ / NaN at p = q, a fallback row).
            let r = (T::c(2.0) * c * an).recip();
            sc[i] = (mi + pl) * r;
            cot[i] = (pl - mi) * r;
            nw[i] = nw2.sqrt();
            sg[i] = sigma;
            aa[i] = a;
        }
        let any = bad[..nb].iter().any(|&b| b);
        vmath::atan2_slice(&y[..nb], &x[..nb], &mut ang[..nb]);
        // Pass 2: ψ (into ang), (1 − t)θ, θ (into x).
        for (i, &t) in ts[r0..r0 + nb].iter().enumerate() {
            let i = i & (BLOCK - 1);
            let far = sg[i] > T::zero();
            let (th, de) = theta_delta(far, ang[i]);
            let flip = far && t > T::c(0.5);
            ang[i] = if flip {
                (T::one() - t) * T::PI() + t * de
            } else {
                t * th
            };
            y[i] = if flip { -T::one() } else { T::one() };
            x[i] = th;
        }
        vmath::sin_cos_slice(&ang[..nb], &mut sn[..nb], &mut cs[..nb]);
        for (i, &t) in ts[r0..r0 + nb].iter().enumerate() {
            let i = i & (BLOCK - 1);
            let far = sg[i] > T::zero();
            let one = T::one();
            let (th, st) = (x[i], sn[i]);
            let ct = y[i] * cs[i];
            let inv = sc[i];
            let eq = !inv.is_finite();
            // sin((1 − t)θ)/sin θ = cos tθ − cot θ sin tθ (absolute error of a few ulps, as
            // the outputs' scale is 1).
            let na = if eq { one - t } else { ct - cot[i] * st };
            let nb_ = if eq { t } else { st * inv };
            // Exact endpoints γ(0) = p, γ(1) = q like the scalar slerp.
            let na = if t == T::zero() { one } else { na };
            let na = if t == one { T::zero() } else { na };
            let nb_ = if t == one { one } else { nb_ };
            let rw = nw[i].recip();
            // γ = ca p + cb q + cg w,  γ' = cv w − cp p.
            ca[i] = if far { ct } else { na };
            cb[i] = if far { T::zero() } else { nb_ };
            cg[i] = if far { st * rw } else { T::zero() };
            cv[i] = ct * (th * rw);
            cp[i] = th * st;
        }
        let rows = pts[rg.clone()]
            .chunks_exact_mut(d)
            .zip(vel[rg].chunks_exact_mut(d));
        let rows = rows.zip(pb.chunks_exact(d)).zip(qb.chunks_exact(d));
        for (i, (((o, v), p), q)) in rows.enumerate() {
            let i = i & (BLOCK - 1);
            let (a, b, g, s, k) = (ca[i], cb[i], cg[i], sg[i], aa[i]);
            let (kv, kp) = (cv[i], cp[i]);
            for j in 0..d {
                let w = (q[j] + s * p[j]) - k * p[j];
                o[j] = (a * p[j] + b * q[j]) + g * w;
                v[j] = kv * w - kp * p[j];
            }
        }
        if any {
            for i in (0..nb).filter(|&i| bad[i]) {
                let row = (r0 + i) * d;
                let r = row..row + d;
                let (p, q, t) = (&ps[r.clone()], &qs[r.clone()], ts[r0 + i]);
                geodesic_pair_row(p, q, t, &mut pts[r.clone()], &mut vel[r]);
            }
        }
        r0 += nb;
    }
}

/// The scalar [`Manifold::geodesic_with_velocity_into`] of the sphere: bit for bit
/// `geodesic_into` then `geodesic_velocity_into`, with the log (and, beyond $\pi/2$, the
/// `sin_cos`) computed once.
pub(crate) fn geodesic_pair_row<T: Real>(p: &[T], q: &[T], t: T, point: &mut [T], vel: &mut [T]) {
    let (lp, _) = log_kernel(p, q, vel);
    let th = lp.theta;
    let (st, ct) = lp.sin_cos_t(t);
    if th <= T::FRAC_PI_2() {
        let one = T::one();
        let sc = sinc(th);
        let a = (one - t) * sinc((one - t) * th) / sc;
        let b = t * sinc(t * th) / sc;
        for ((o, &x), &y) in point.iter_mut().zip(p).zip(q) {
            *o = a * x + b * y;
        }
    } else {
        let k = st / th;
        for ((o, &x), &l) in point.iter_mut().zip(p).zip(vel.iter()) {
            *o = ct * x + k * l;
        }
    }
    let s = th * st;
    for (v, &x) in vel.iter_mut().zip(p) {
        *v = ct * *v - s * x;
    }
}

/// Parallel transport of the rows of `out` (Householder form, see [`Sphere`]).
fn transport_rows<T: Real, const D: usize>(
    m: &Sphere<T>,
    ps: &[T],
    qs: &[T],
    vs: &[T],
    out: &mut [T],
    d: usize,
) {
    let d = dim::<D>(d);
    for (i, o) in out.chunks_exact_mut(d).enumerate() {
        let r = i * d..(i + 1) * d;
        let (p, q, v) = (&ps[r.clone()], &qs[r.clone()], &vs[r]);
        let [ss, sv] = row_sums(d, |k| {
            let s = p[k] + q[k];
            [(s, s), (s, v[k])]
        });
        if ss >= T::min_positive_value() && ss < T::max_value() {
            let inv = ss.sqrt().recip();
            let k = T::c(2.0) * (sv * inv);
            for (((o, &x), &y), &u) in o.iter_mut().zip(p).zip(q).zip(v) {
                *o = u - k * ((x + y) * inv);
            }
        } else {
            m.transport_into(p, q, v, o);
        }
    }
}

/// Row-wise $\langle u, v\rangle$ into `out` (one scalar per row).
fn inner_rows<T: Real, const D: usize>(us: &[T], vs: &[T], out: &mut [T], d: usize) {
    let d = dim::<D>(d);
    for (i, o) in out.iter_mut().enumerate() {
        let (u, v) = (&us[i * d..(i + 1) * d], &vs[i * d..(i + 1) * d]);
        *o = row_sums(d, |k| [(u[k], v[k])])[0];
    }
}

/// Row-wise $\lVert v\rVert$ into `out`.
fn norm_rows<T: Real, const D: usize>(vs: &[T], out: &mut [T], d: usize) {
    let d = dim::<D>(d);
    for (i, o) in out.iter_mut().enumerate() {
        let v = &vs[i * d..(i + 1) * d];
        let [r2] = row_sums(d, |k| [(v[k], v[k])]);
        // A zero sum may hide tiny nonzero entries: the scalar norm rescales them.
        *o = if r2 >= T::min_positive_value() && r2 < T::max_value() {
            r2.sqrt()
        } else {
            crate::numerics::norm(v)
        };
    }
}

/// Row-wise $x/\lVert x\rVert$ (then $\lvert\cdot\rvert$ when `abs`) into `out`.
fn project_point_rows<T: Real, const D: usize>(xs: &[T], out: &mut [T], d: usize, abs: bool) {
    let d = dim::<D>(d);
    for (i, o) in out.chunks_exact_mut(d).enumerate() {
        let x = &xs[i * d..(i + 1) * d];
        let [r2] = row_sums(d, |k| [(x[k], x[k])]);
        if r2 >= T::min_positive_value() && r2 < T::max_value() {
            let inv = r2.sqrt().recip();
            for (o, &y) in o.iter_mut().zip(x) {
                *o = y * inv;
            }
        } else {
            normalise_into(x, o);
        }
        if abs {
            for o in o.iter_mut() {
                *o = o.abs();
            }
        }
    }
}

/// Row-wise $u - \langle p, u\rangle p$ into `out`.
fn project_tangent_rows<T: Real, const D: usize>(ps: &[T], us: &[T], out: &mut [T], d: usize) {
    let d = dim::<D>(d);
    for (i, o) in out.chunks_exact_mut(d).enumerate() {
        let r = i * d..(i + 1) * d;
        let (p, u) = (&ps[r.clone()], &us[r]);
        let [a] = row_sums(d, |k| [(p[k], u[k])]);
        for ((o, &x), &y) in o.iter_mut().zip(p).zip(u) {
            *o = y - a * x;
        }
    }
}

/// [`Manifold::exp_batch_into`] for the sphere.
///
/// # Panics
/// If the slices do not hold the same whole number of rows.
#[track_caller]
pub(crate) fn exp<T: Real>(m: &Sphere<T>, ps: &[T], vs: &[T], outs: &mut [T]) {
    let d = m.ambient_dim();
    let n = rows(ps.len(), d, "exp_batch_into: ps");
    expect_len(vs.len(), n, d, "exp_batch_into: vs");
    expect_len(outs.len(), n, d, "exp_batch_into: outs");
    batch::for_blocks(outs, d, 3 * ps.len(), |r0, o| {
        let (p, v) = (&ps[r0 * d..], &vs[r0 * d..]);
        by_dim!(exp_rows, d, m, p, v, o, d)
    });
}

/// [`Manifold::log_batch_into`] for the sphere.
///
/// # Panics
/// If the slices do not hold the same whole number of rows.
#[track_caller]
pub(crate) fn log<T: Real>(m: &Sphere<T>, ps: &[T], qs: &[T], outs: &mut [T]) {
    let d = m.ambient_dim();
    let n = rows(ps.len(), d, "log_batch_into: ps");
    expect_len(qs.len(), n, d, "log_batch_into: qs");
    expect_len(outs.len(), n, d, "log_batch_into: outs");
    batch::for_blocks(outs, d, 3 * ps.len(), |r0, o| {
        let (p, q) = (&ps[r0 * d..], &qs[r0 * d..]);
        by_dim!(log_rows, d, m, p, q, o, d)
    });
}

/// [`Manifold::dist_batch_into`] for the sphere.
///
/// # Panics
/// If the slices do not hold the same whole number of rows.
#[track_caller]
pub(crate) fn dist<T: Real>(m: &Sphere<T>, ps: &[T], qs: &[T], ds: &mut [T]) {
    let d = m.ambient_dim();
    let n = rows(ps.len(), d, "dist_batch_into: ps");
    expect_len(qs.len(), n, d, "dist_batch_into: qs");
    expect_len(ds.len(), n, 1, "dist_batch_into: ds");
    batch::for_blocks(ds, 1, 2 * ps.len() + n, |r0, o| {
        let (p, q) = (&ps[r0 * d..], &qs[r0 * d..]);
        by_dim!(dist_rows, d, p, q, o, d)
    });
}

/// [`Manifold::inner_batch_into`] for the sphere.
///
/// # Panics
/// If the slices do not hold the same whole number of rows.
#[track_caller]
pub(crate) fn inner<T: Real>(m: &Sphere<T>, ps: &[T], us: &[T], vs: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    let n = rows(ps.len(), d, "inner_batch_into: ps");
    expect_len(us.len(), n, d, "inner_batch_into: us");
    expect_len(vs.len(), n, d, "inner_batch_into: vs");
    expect_len(out.len(), n, 1, "inner_batch_into: out");
    batch::for_blocks(out, 1, 2 * us.len() + n, |r0, o| {
        let (u, v) = (&us[r0 * d..], &vs[r0 * d..]);
        by_dim!(inner_rows, d, u, v, o, d)
    });
}

/// [`Manifold::norm_batch_into`] for the sphere.
///
/// # Panics
/// If the slices do not hold the same whole number of rows.
#[track_caller]
pub(crate) fn norm<T: Real>(m: &Sphere<T>, ps: &[T], vs: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    let n = rows(ps.len(), d, "norm_batch_into: ps");
    expect_len(vs.len(), n, d, "norm_batch_into: vs");
    expect_len(out.len(), n, 1, "norm_batch_into: out");
    batch::for_blocks(out, 1, vs.len() + n, |r0, o| {
        by_dim!(norm_rows, d, &vs[r0 * d..], o, d)
    });
}

/// [`Manifold::geodesic_batch_into`] for the sphere.
///
/// # Panics
/// If the slices do not hold the same whole number of rows or `ts.len() != n`.
#[track_caller]
pub(crate) fn geodesic<T: Real>(m: &Sphere<T>, ps: &[T], qs: &[T], ts: &[T], outs: &mut [T]) {
    let d = m.ambient_dim();
    let n = rows(ps.len(), d, "geodesic_batch_into: ps");
    expect_len(qs.len(), n, d, "geodesic_batch_into: qs");
    expect_len(ts.len(), n, 1, "geodesic_batch_into: ts");
    expect_len(outs.len(), n, d, "geodesic_batch_into: outs");
    batch::for_blocks(outs, d, 3 * ps.len(), |r0, o| {
        let (p, q, t) = (&ps[r0 * d..], &qs[r0 * d..], &ts[r0..]);
        by_dim!(geodesic_rows, d, m, p, q, t, o, d)
    });
}

/// [`Manifold::geodesic_velocity_batch_into`] for the sphere.
///
/// # Panics
/// If the slices do not hold the same whole number of rows or `ts.len() != n`.
#[track_caller]
pub(crate) fn geodesic_velocity<T: Real>(
    m: &Sphere<T>,
    ps: &[T],
    qs: &[T],
    ts: &[T],
    outs: &mut [T],
) {
    let d = m.ambient_dim();
    let n = rows(ps.len(), d, "geodesic_velocity_batch_into: ps");
    expect_len(qs.len(), n, d, "geodesic_velocity_batch_into: qs");
    expect_len(ts.len(), n, 1, "geodesic_velocity_batch_into: ts");
    expect_len(outs.len(), n, d, "geodesic_velocity_batch_into: outs");
    batch::for_blocks(outs, d, 3 * ps.len(), |r0, o| {
        let (p, q, t) = (&ps[r0 * d..], &qs[r0 * d..], &ts[r0..]);
        by_dim!(velocity_rows, d, m, p, q, t, o, d)
    });
}

/// [`Manifold::geodesic_with_velocity_batch_into`] for the sphere: one fused pass.
///
/// # Panics
/// If the slices do not hold the same whole number of rows or `ts.len() != n`.
#[track_caller]
pub(crate) fn geodesic_pair<T: Real>(
    m: &Sphere<T>,
    ps: &[T],
    qs: &[T],
    ts: &[T],
    points: &mut [T],
    velocities: &mut [T],
) {
    let d = m.ambient_dim();
    let n = rows(ps.len(), d, "geodesic_with_velocity_batch_into: ps");
    expect_len(qs.len(), n, d, "geodesic_with_velocity_batch_into: qs");
    expect_len(ts.len(), n, 1, "geodesic_with_velocity_batch_into: ts");
    expect_len(
        points.len(),
        n,
        d,
        "geodesic_with_velocity_batch_into: points",
    );
    expect_len(
        velocities.len(),
        n,
        d,
        "geodesic_with_velocity_batch_into: velocities",
    );
    batch::for_blocks2(points, velocities, d, 4 * ps.len(), |r0, o, v| {
        let (p, q, t) = (&ps[r0 * d..], &qs[r0 * d..], &ts[r0..]);
        by_dim!(geodesic_pair_rows, d, p, q, t, o, v, d)
    });
}

/// [`ParallelTransport::transport_batch_into`] for the sphere.
///
/// # Panics
/// If the slices do not hold the same whole number of rows.
#[track_caller]
pub(crate) fn transport<T: Real>(m: &Sphere<T>, ps: &[T], qs: &[T], vs: &[T], outs: &mut [T]) {
    let d = m.ambient_dim();
    let n = rows(ps.len(), d, "transport_batch_into: ps");
    expect_len(qs.len(), n, d, "transport_batch_into: qs");
    expect_len(vs.len(), n, d, "transport_batch_into: vs");
    expect_len(outs.len(), n, d, "transport_batch_into: outs");
    batch::for_blocks(outs, d, 4 * ps.len(), |r0, o| {
        let (p, q, v) = (&ps[r0 * d..], &qs[r0 * d..], &vs[r0 * d..]);
        by_dim!(transport_rows, d, m, p, q, v, o, d)
    });
}

/// [`Manifold::project_point_batch_into`] for the sphere (`abs = false`) and the positive
/// orthant (`abs = true`: elementwise absolute value after normalising).
///
/// # Panics
/// If the slices do not hold the same whole number of rows.
#[track_caller]
pub(crate) fn project_point<T: Real>(m: &Sphere<T>, xs: &[T], outs: &mut [T], abs: bool) {
    let d = m.ambient_dim();
    let n = rows(xs.len(), d, "project_point_batch_into: xs");
    expect_len(outs.len(), n, d, "project_point_batch_into: outs");
    batch::for_blocks(outs, d, 2 * xs.len(), |r0, o| {
        by_dim!(project_point_rows, d, &xs[r0 * d..], o, d, abs)
    });
}

/// [`Manifold::project_tangent_batch_into`] for the sphere.
///
/// # Panics
/// If the slices do not hold the same whole number of rows.
#[track_caller]
pub(crate) fn project_tangent<T: Real>(m: &Sphere<T>, ps: &[T], us: &[T], outs: &mut [T]) {
    let d = m.ambient_dim();
    let n = rows(ps.len(), d, "project_tangent_batch_into: ps");
    expect_len(us.len(), n, d, "project_tangent_batch_into: us");
    expect_len(outs.len(), n, d, "project_tangent_batch_into: outs");
    batch::for_blocks(outs, d, 3 * ps.len(), |r0, o| {
        let (p, u) = (&ps[r0 * d..], &us[r0 * d..]);
        by_dim!(project_tangent_rows, d, p, u, o, d)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PositiveOrthant;
    use core::f64::consts::{FRAC_PI_2, PI};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn nrm(a: &[f64]) -> f64 {
        a.iter().map(|x| x * x).sum::<f64>().sqrt()
    }
    fn unit(r: &mut ChaCha8Rng, d: usize) -> Vec<f64> {
        let g: Vec<f64> = (0..d).map(|_| f64::standard_normal(r)).collect();
        let n = nrm(&g);
        g.iter().map(|x| x / n).collect()
    }
    /// A unit vector orthogonal to `p` (Gram–Schmidt twice).
    fn ortho(r: &mut ChaCha8Rng, p: &[f64]) -> Vec<f64> {
        let mut e = unit(r, p.len());
        for _ in 0..2 {
            let a: f64 = e.iter().zip(p).map(|(x, y)| x * y).sum();
            e.iter_mut().zip(p).for_each(|(x, y)| *x -= a * y);
        }
        let n = nrm(&e);
        e.iter().map(|x| x / n).collect()
    }

    /// Rows of inputs, f64: random ones and the hard cases, cycling.
    struct Case {
        ps: Vec<f64>,
        qs: Vec<f64>,
        vs: Vec<f64>,
        us: Vec<f64>,
        xs: Vec<f64>,
        ts: Vec<f64>,
    }

    fn cases(n: usize, d: usize, seed: u64) -> Case {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let mut c = Case {
            ps: vec![],
            qs: vec![],
            vs: vec![],
            us: vec![],
            xs: vec![],
            ts: vec![],
        };
        for i in 0..n {
            let p = unit(&mut r, d);
            let e = ortho(&mut r, &p);
            let u: f64 = r.random();
            // (angle to q, |v|, t); angle < 0: q uniform.
            let (th, nv, t) = match i % 12 {
                0 => (-1.0, 3.0 * u, r.random()),
                1 => (1e-10, 1e-12, 0.5),
                2 => (PI - 1e-6, 1e-3, 0.75),
                3 => (0.0, 0.0, 0.3),
                4 => (PI, 1e-4 * 0.999, 1.0),
                5 => (FRAC_PI_2 + 1e-9, 1e-2 * 1.001, 0.0),
                6 => (1e-6, 1e-6, 1.0),
                7 => (3.0, 3.1, 0.5),
                8 => (2.0, 1e-4 * 1.001, 0.9),
                9 => (PI * u, 1e-3 * u, 2.0 * r.random::<f64>() - 0.5),
                10 => (FRAC_PI_2 - 1e-9, 1e-2 * 0.999, 0.5000001),
                _ => (1e-4, 0.7, 1e-8),
            };
            let q: Vec<f64> = if th < 0.0 {
                unit(&mut r, d)
            } else if th == PI {
                p.iter().map(|x| -x).collect()
            } else {
                p.iter()
                    .zip(&e)
                    .map(|(x, y)| th.cos() * x + th.sin() * y)
                    .collect()
            };
            let v: Vec<f64> = e.iter().map(|x| nv * x).collect();
            let w = ortho(&mut r, &p);
            let scale = match i % 12 {
                3 => 0.0,
                4 => 1e-30,
                5 => 1e-200,
                _ => 0.1 + 10.0 * u,
            };
            let x: Vec<f64> = p
                .iter()
                .map(|y| scale * (y + 0.3 * f64::standard_normal(&mut r)))
                .collect();
            c.ps.extend(p);
            c.qs.extend(q);
            c.vs.extend(v);
            c.us.extend(w);
            c.xs.extend(x);
            c.ts.push(t);
        }
        c
    }

    fn cast<T: Real>(a: &[f64]) -> Vec<T> {
        a.iter().map(|&x| T::c(x)).collect()
    }

    /// Every entry within 16 ulps of the reference row's largest entry.
    #[track_caller]
    fn close<T: Real>(what: &str, got: &[T], want: &[T], w: usize) {
        let tol = 16.0 * T::epsilon().to_f64_lossless();
        for (i, (g, r)) in got.chunks(w).zip(want.chunks(w)).enumerate() {
            let scale = r
                .iter()
                .fold(0.0f64, |m, x| m.max(x.to_f64_lossless().abs()));
            for (a, b) in g.iter().zip(r) {
                let err = (a.to_f64_lossless() - b.to_f64_lossless()).abs();
                assert!(
                    err <= tol * scale + T::min_positive_value().to_f64_lossless(),
                    "{what} ({}, row {i} of width {w}): batch {g:?} vs scalar {r:?}",
                    T::NAME
                );
            }
        }
    }

    fn check_all<T: Real>(d: usize, n: usize) {
        let m = Sphere::<T>::new(d - 1).unwrap();
        let c = cases(n, d, (d * 1000 + n) as u64);
        let (ps, qs, vs, us, xs, ts) = (
            cast::<T>(&c.ps),
            cast::<T>(&c.qs),
            cast::<T>(&c.vs),
            cast::<T>(&c.us),
            cast::<T>(&c.xs),
            cast::<T>(&c.ts),
        );
        let (mut got, mut want) = (vec![T::zero(); n * d], vec![T::zero(); n * d]);
        let (mut gs, mut ws) = (vec![T::zero(); n], vec![T::zero(); n]);
        let row = |i: usize| i * d..(i + 1) * d;

        m.exp_batch_into(&ps, &vs, &mut got);
        for i in 0..n {
            m.exp_into(&ps[row(i)], &vs[row(i)], &mut want[row(i)]);
        }
        close("exp", &got, &want, d);

        m.log_batch_into(&ps, &qs, &mut got);
        for i in 0..n {
            m.log_into(&ps[row(i)], &qs[row(i)], &mut want[row(i)]);
        }
        close("log", &got, &want, d);

        m.dist_batch_into(&ps, &qs, &mut gs);
        for i in 0..n {
            ws[i] = m.dist(&ps[row(i)], &qs[row(i)]);
        }
        close("dist", &gs, &ws, 1);

        m.inner_batch_into(&ps, &us, &vs, &mut gs);
        for i in 0..n {
            ws[i] = m.inner(&ps[row(i)], &us[row(i)], &vs[row(i)]);
        }
        // The inner product of orthogonal-ish vectors cancels: compare at the scale of |u||v|.
        for i in 0..n {
            let s = m.norm(&ps[row(i)], &us[row(i)]) * m.norm(&ps[row(i)], &vs[row(i)]);
            assert!(
                (gs[i] - ws[i]).abs() <= T::c(16.0) * T::epsilon() * s,
                "inner row {i}"
            );
        }

        m.norm_batch_into(&ps, &xs, &mut gs);
        for i in 0..n {
            ws[i] = m.norm(&ps[row(i)], &xs[row(i)]);
        }
        close("norm", &gs, &ws, 1);

        m.geodesic_batch_into(&ps, &qs, &ts, &mut got);
        for i in 0..n {
            m.geodesic_into(&ps[row(i)], &qs[row(i)], ts[i], &mut want[row(i)]);
        }
        close("geodesic", &got, &want, d);

        m.geodesic_velocity_batch_into(&ps, &qs, &ts, &mut got);
        for i in 0..n {
            m.geodesic_velocity_into(&ps[row(i)], &qs[row(i)], ts[i], &mut want[row(i)]);
        }
        close("geodesic_velocity", &got, &want, d);

        // The fused pair against both scalar kernels; the scalar pair bit for bit.
        let (mut gv, mut wv) = (vec![T::zero(); n * d], vec![T::zero(); n * d]);
        let (mut sp, mut sv) = (vec![T::zero(); d], vec![T::zero(); d]);
        m.geodesic_with_velocity_batch_into(&ps, &qs, &ts, &mut got, &mut gv);
        for i in 0..n {
            let (p, q) = (&ps[row(i)], &qs[row(i)]);
            m.geodesic_into(p, q, ts[i], &mut want[row(i)]);
            m.geodesic_velocity_into(p, q, ts[i], &mut wv[row(i)]);
            m.geodesic_with_velocity_into(p, q, ts[i], &mut sp, &mut sv);
            assert_eq!(&sp[..], &want[row(i)], "scalar pair point, row {i}");
            assert_eq!(&sv[..], &wv[row(i)], "scalar pair velocity, row {i}");
        }
        close("pair point", &got, &want, d);
        close("pair velocity", &gv, &wv, d);
        PositiveOrthant::<T>::new(d - 1)
            .unwrap()
            .geodesic_with_velocity_batch_into(&ps, &qs, &ts, &mut got, &mut gv);
        close("orthant pair point", &got, &want, d);
        close("orthant pair velocity", &gv, &wv, d);

        m.transport_batch_into(&ps, &qs, &us, &mut got);
        for i in 0..n {
            m.transport_into(&ps[row(i)], &qs[row(i)], &us[row(i)], &mut want[row(i)]);
        }
        close("transport", &got, &want, d);

        m.project_point_batch_into(&xs, &mut got);
        for i in 0..n {
            m.project_point_into(&xs[row(i)], &mut want[row(i)]);
        }
        close("project_point", &got, &want, d);

        m.project_tangent_batch_into(&ps, &xs, &mut got);
        for i in 0..n {
            m.project_tangent_into(&ps[row(i)], &xs[row(i)], &mut want[row(i)]);
        }
        close("project_tangent", &got, &want, d);

        let o = PositiveOrthant::<T>::new(d - 1).unwrap();
        o.project_point_batch_into(&xs, &mut got);
        for i in 0..n {
            o.project_point_into(&xs[row(i)], &mut want[row(i)]);
        }
        close("orthant project_point", &got, &want, d);
        o.geodesic_batch_into(&ps, &qs, &ts, &mut got);
        for i in 0..n {
            o.geodesic_into(&ps[row(i)], &qs[row(i)], ts[i], &mut want[row(i)]);
        }
        close("orthant geodesic", &got, &want, d);
    }

    #[test]
    fn batch_matches_scalar_f64() {
        for d in [3, 5, 11, 64] {
            for n in [1, 63, 65, 1000] {
                check_all::<f64>(d, n);
            }
        }
    }

    #[test]
    fn batch_matches_scalar_f32() {
        for d in [3, 5, 11, 64] {
            for n in [1, 63, 65, 1000] {
                check_all::<f32>(d, n);
            }
        }
    }

    #[test]
    fn geodesic_endpoints_exact_for_slerp_rows() {
        let (d, n) = (3, 200);
        let m = Sphere::<f64>::new(d - 1).unwrap();
        let c = cases(n, d, 7);
        let mut out = vec![0.0; n * d];
        for (t, want) in [(0.0, &c.ps), (1.0, &c.qs)] {
            m.geodesic_batch_into(&c.ps, &c.qs, &vec![t; n], &mut out);
            for i in 0..n {
                let r = i * d..(i + 1) * d;
                if m.dist(&c.ps[r.clone()], &c.qs[r.clone()]) <= FRAC_PI_2 {
                    assert_eq!(&out[r.clone()], &want[r], "row {i}, t = {t}");
                }
            }
        }
    }

    #[test]
    fn geodesic_pair_endpoints_exact_for_slerp_rows() {
        let (d, n) = (3, 200);
        let m = Sphere::<f64>::new(d - 1).unwrap();
        let c = cases(n, d, 7);
        let (mut out, mut vel) = (vec![0.0; n * d], vec![0.0; n * d]);
        for (t, want) in [(0.0, &c.ps), (1.0, &c.qs)] {
            m.geodesic_with_velocity_batch_into(&c.ps, &c.qs, &vec![t; n], &mut out, &mut vel);
            for i in 0..n {
                let r = i * d..(i + 1) * d;
                if m.dist(&c.ps[r.clone()], &c.qs[r.clone()]) <= FRAC_PI_2 {
                    assert_eq!(&out[r.clone()], &want[r], "row {i}, t = {t}");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "geodesic_with_velocity_batch_into: velocities")]
    fn pair_shape_mismatch_panics() {
        let m = Sphere::<f64>::new(2).unwrap();
        let (mut out, mut vel) = ([0.0; 6], [0.0; 3]);
        m.geodesic_with_velocity_batch_into(&[0.0; 6], &[0.0; 6], &[0.0; 2], &mut out, &mut vel);
    }

    #[test]
    #[should_panic(expected = "exp_batch_into: vs")]
    fn shape_mismatch_panics() {
        let m = Sphere::<f64>::new(2).unwrap();
        let mut out = [0.0; 6];
        m.exp_batch_into(&[0.0; 6], &[0.0; 3], &mut out);
    }
}
