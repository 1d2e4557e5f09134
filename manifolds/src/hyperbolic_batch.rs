//! Fast batched kernels of [`Lorentz`] and [`PoincareBall`] (three-pass, see [`crate::vmath`]).
//!
//! Rows are processed in blocks of [`BLOCK`]: pass 1 computes the per-row sums (norms, dots) a
//! row at a time, then the scalars derived from them (square roots, quotients, and the
//! transcendentals of [`crate::vmath`]) are evaluated in loops over the block that LLVM
//! vectorises, and the last pass writes the outputs. The formulas are those of the scalar
//! kernels, term for term:
//!
//! * **Lorentz.** The chord and the tangent norm take their plain (uncompensated) forms; rows
//!   that the scalar kernels send to a compensated double-word branch (nearly parallel or
//!   radially separated far points, nearly radial tangent vectors with $x_0 > 4$, see
//!   [`COMPENSATE_ABOVE`]) take the same double-word computation inline in pass 1 (it is the
//!   common case far from the origin: $\log_x y$ is nearly radial there). Transport takes the
//!   tangent inner product plainly where that is exact enough and in double-word arithmetic
//!   (like the scalar kernel) for nearly radial vectors at $x_0 > 4$.
//! * **Poincaré ball.** $a_p = 1 - \lVert p\rVert^2$ is computed with an error-free
//!   compensated sum (Ogita–Rump–Oishi `Sum2` of the exact squares): accurate to a few ulps of
//!   itself up to the boundary, like [`one_minus_norm2`](crate::poincare::one_minus_norm2), at
//!   a third of its cost. The boundary needs no other special branch.
//!
//! Results agree with the row-wise scalar kernels to a few ulps (tests below, on random and hard
//! inputs, in both precisions), scaled by the size of the terms where both kernels add terms
//! much larger than the result (far geodesics, Möbius additions near the boundary).
//!
//! # Performance
//!
//! Measured against the Python peers and this machine's roofline in one run of
//! `bash benches/peers/compare.sh` (quiet 2-core machine, $2^{22}$ floats per array, 1 and 2
//! threads): see the table in the repository README, section "Speed", and the raw records in
//! `docs/bench/`. Rerun `./target/release/geoflow_ops --manifolds lorentz,poincare` for this family alone.

use crate::batch;
use crate::lorentz::{two_sum, Dw, COMPENSATE_ABOVE};
use crate::numerics::SINHC_CUTOFF;
use crate::poincare::{perp, K_PRIME_CUTOFF};
use crate::vmath::{self, BLOCK};
use crate::{Lorentz, Manifold, PoincareBall, Real};

/// `if c { a } else { b }` on two computed values (a blend in vectorised loops).
#[inline(always)]
fn sel<T: Copy>(c: bool, a: T, b: T) -> T {
    if c {
        a
    } else {
        b
    }
}

/// Runs `f(first_row, rows, out_rows)` over blocks of at most [`BLOCK`] output rows, split over
/// threads by [`batch::for_blocks`].
#[inline]
fn blocks<T: Real, F>(out: &mut [T], d_out: usize, work: usize, f: F)
where
    F: Fn(usize, usize, &mut [T]) + Sync + Send,
{
    batch::for_blocks(out, d_out, work, |r0, blk| {
        for (j, ob) in blk.chunks_mut(BLOCK * d_out).enumerate() {
            f(r0 + j * BLOCK, ob.len() / d_out, ob);
        }
    });
}

/// $\sinh\theta/\theta$ from $\sinh\theta$, with the series of [`vmath::sinhc`] below its cutoff.
#[inline(always)]
fn sinhc_from<T: Real>(th: T, sh: T) -> T {
    let x2 = th * th;
    let series = T::one() + x2 * T::c(1.0 / 6.0) + x2 * x2 * T::c(1.0 / 120.0);
    sel(th.abs() < T::pick(SINHC_CUTOFF), series, sh / th)
}

// ---------------------------------------------------------------------------------------------
// Lorentz
// ---------------------------------------------------------------------------------------------

/// Double-word product (as `lorentz::Dw::mul`).
#[inline(always)]
fn dw_mul<T: Real>(a: Dw<T>, b: Dw<T>) -> Dw<T> {
    let p = a.0 * b.0;
    let e = a.0.mul_add(b.0, -p) + (a.0 * b.1 + a.1 * b.0);
    two_sum(p, e)
}

/// Double-word quotient (as `lorentz::Dw::div`).
#[inline(always)]
fn dw_div<T: Real>(a: Dw<T>, b: Dw<T>) -> Dw<T> {
    let q1 = a.0 / b.0;
    let r = a.add(dw_mul(b, Dw(-q1, T::zero())));
    let q2 = r.0 / b.0;
    two_sum(q1, q2)
}

/// $\lVert a - \frac{a\cdot b}{\lVert b\rVert^2}b\rVert^2$ for vectors given entrywise as
/// double words, as accurate as the scalar kernels' `perp2_dw` (each entry of the
/// perpendicular part to a few ulps of itself) at about a third of its cost: the two dot products
/// by `Dot2` (error-free products, `two_sum` on the running sum, errors summed plainly), the
/// quotient $k$ in double-word arithmetic, and $a_i - k b_i$ as `fma(-k_hi, b_hi, a_hi)` (one
/// rounding of a value the size of the result) plus the low-order terms.
#[inline(always)]
fn perp2_dw<T: Real>(n: usize, a: impl Fn(usize) -> Dw<T>, b: impl Fn(usize) -> Dw<T>) -> T {
    let z = T::zero();
    let (mut abh, mut abl, mut bbh, mut bbl) = (z, z, z, z);
    for i in 0..n {
        let (Dw(ah, al), Dw(bh, bl)) = (a(i), b(i));
        let p = ah * bh;
        let e = ah.mul_add(bh, -p);
        let t = two_sum(abh, p);
        abh = t.0;
        abl += t.1 + e + (ah * bl + al * bh);
        let p = bh * bh;
        let e = bh.mul_add(bh, -p);
        let t = two_sum(bbh, p);
        bbh = t.0;
        bbl += t.1 + e + T::c(2.0) * bh * bl;
    }
    let k = dw_div(two_sum(abh, abl), two_sum(bbh, bbl));
    let mut perp = z;
    for i in 0..n {
        let (Dw(ah, al), Dw(bh, bl)) = (a(i), b(i));
        let r = (-k.0).mul_add(bh, ah) + ((al - k.0 * bl) - k.1 * bh);
        perp = r.madd(r, perp);
    }
    perp
}

/// $\langle a, b\rangle_x$ for tangent vectors at $x$ given by their spatial parts, with both
/// perpendicular parts (to $\bar x$) formed as accurately as in the scalar kernels'
/// `lorentz::tangent_inner` (see [`perp2_dw`] for the technique).
#[inline(always)]
fn tangent_inner_dw<T: Real>(xb: &[T], a: impl Fn(usize) -> T, b: impl Fn(usize) -> T) -> T {
    let z = T::zero();
    let (mut xah, mut xal, mut xbh, mut xbl, mut xxh, mut xxl) = (z, z, z, z, z, z);
    for (i, &x) in xb.iter().enumerate() {
        let (ai, bi) = (a(i), b(i));
        let p = x * ai;
        let t = two_sum(xah, p);
        xah = t.0;
        xal += t.1 + x.mul_add(ai, -p);
        let p = x * bi;
        let t = two_sum(xbh, p);
        xbh = t.0;
        xbl += t.1 + x.mul_add(bi, -p);
        let p = x * x;
        let t = two_sum(xxh, p);
        xxh = t.0;
        xxl += t.1 + x.mul_add(x, -p);
    }
    let (xa, xbv, xx) = (two_sum(xah, xal), two_sum(xbh, xbl), two_sum(xxh, xxl));
    let (ka, kb) = (dw_div(xa, xx), dw_div(xbv, xx));
    let mut perp = z;
    for (i, &x) in xb.iter().enumerate() {
        let ap = (-ka.0).mul_add(x, a(i)) - ka.1 * x;
        let bp = (-kb.0).mul_add(x, b(i)) - kb.1 * x;
        perp = ap.madd(bp, perp);
    }
    let xx = xx.0 + xx.1;
    perp + (xa.0 + xa.1) * (xbv.0 + xbv.1) / (xx * (T::one() + xx))
}

/// Per-row chord quantities of a block (see `lorentz::chord`).
struct ChordBlock<T> {
    c2: [T; BLOCK],
    x0: [T; BLOCK],
    y0: [T; BLOCK],
    e: [T; BLOCK],
}

/// The chord of rows `i0..i0 + nb` of `xs`, `ys` (`d` scalars per row; spatial parts read), with
/// the endpoints swapped in rows where `swap[i]`.
#[inline(always)]
fn chord_block<T: Real>(
    xs: &[T],
    ys: &[T],
    d: usize,
    i0: usize,
    nb: usize,
    swap: &[bool; BLOCK],
) -> ChordBlock<T> {
    let z = T::zero();
    let (mut xx, mut yy, mut dd, mut ss, mut ds) =
        ([z; BLOCK], [z; BLOCK], [z; BLOCK], [z; BLOCK], [z; BLOCK]);
    let rowpair = |i: usize| {
        let r = (i0 + i) * d + 1..(i0 + i + 1) * d;
        let (a, b) = (&xs[r.clone()], &ys[r]);
        if swap[i] {
            (b, a)
        } else {
            (a, b)
        }
    };
    for i in 0..nb {
        let (xb, yb) = rowpair(i);
        // two lanes (even and odd entries) so that the dependency chains overlap
        let mut acc = [[z; 5]; 2];
        let step = |c: &mut [T; 5], a: T, b: T| {
            let dl = a - b;
            let s = a + b;
            c[0] = a.madd(a, c[0]);
            c[1] = b.madd(b, c[1]);
            c[2] = dl.madd(dl, c[2]);
            c[3] = s.madd(s, c[3]);
            c[4] = dl.madd(s, c[4]);
        };
        let m = xb.len() & !1;
        for (a, b) in xb[..m].chunks_exact(2).zip(yb[..m].chunks_exact(2)) {
            step(&mut acc[0], a[0], b[0]);
            step(&mut acc[1], a[1], b[1]);
        }
        for (&a, &b) in xb[m..].iter().zip(&yb[m..]) {
            step(&mut acc[0], a, b);
        }
        let [sxx, syy, sdd, sss, sds] = [0, 1, 2, 3, 4].map(|k| acc[0][k] + acc[1][k]);
        (xx[i], yy[i], dd[i], ss[i], ds[i]) = (sxx, syy, sdd, sss, sds);
    }
    let mut out = ChordBlock {
        c2: [z; BLOCK],
        x0: [z; BLOCK],
        y0: [z; BLOCK],
        e: [z; BLOCK],
    };
    let (mut nx, mut ny, mut ns, mut inx, mut iny, mut k) = (
        [z; BLOCK], [z; BLOCK], [z; BLOCK], [z; BLOCK], [z; BLOCK], [z; BLOCK],
    );
    let one = T::one();
    for i in 0..nb {
        out.x0[i] = (one + xx[i]).sqrt();
        out.y0[i] = (one + yy[i]).sqrt();
        out.e[i] = ds[i] / (out.x0[i] + out.y0[i]);
        nx[i] = xx[i].sqrt();
        ny[i] = yy[i].sqrt();
        ns[i] = ss[i].sqrt();
        inx[i] = sel(nx[i] > z, one / nx[i], z);
        iny[i] = sel(ny[i] > z, one / ny[i], z);
        k[i] = sel(ss[i] > z, ds[i] / ss[i], z);
    }
    let (mut angle, mut perp) = ([z; BLOCK], [z; BLOCK]);
    let (mut fix_a, mut fix_p) = ([false; BLOCK], [false; BLOCK]);
    let q = T::c(0.25);
    let (cx, cs) = (
        T::c(COMPENSATE_ABOVE * COMPENSATE_ABOVE),
        T::c(2.0 * COMPENSATE_ABOVE),
    );
    for i in 0..nb {
        let (xb, yb) = rowpair(i);
        let (mut an, mut pe) = (z, z);
        let (a_i, b_i, k_i) = (inx[i], iny[i], k[i]);
        for (&a, &b) in xb.iter().zip(yb) {
            let r = a * a_i - b * b_i;
            an = r.madd(r, an);
            let r = (a - b) - k_i * (a + b);
            pe = r.madd(r, pe);
        }
        let (x0, y0) = (out.x0[i], out.y0[i]);
        fix_a[i] = (nx[i] > z) & (ny[i] > z) & (an < q) & (x0 * y0 > cx);
        fix_p[i] = (pe < q * dd[i]) & (x0 + y0 > cs) & (ss[i] != z);
        (angle[i], perp[i]) = (an, pe);
    }
    // The compensated branches of `lorentz::chord`, after the block (the same double-word
    // algorithm, so the same accuracy): the nearly parallel rows ...
    for i in (0..nb).filter(|&i| fix_a[i]) {
        let (xb, yb) = rowpair(i);
        let s2 = (perp2_dw(xb.len(), |j| Dw(xb[j], z), |j| Dw(yb[j], z)) / xx[i]).min(one);
        angle[i] = T::c(2.0) * s2 / (one + (one - s2).sqrt());
    }
    let mut rad = [z; BLOCK];
    for i in 0..nb {
        let both = (nx[i] > z) & (ny[i] > z);
        let (x0, y0) = (out.x0[i], out.y0[i]);
        let sigma = x0 + y0;
        let an = sel(both, angle[i], z);
        let gap =
            one / (x0 + nx[i]) + one / (y0 + ny[i]) + nx[i] * ny[i] * an / (nx[i] + ny[i] + ns[i]);
        let t = gap * (sigma + ns[i]);
        rad[i] = (ds[i] * k[i]) * (t / (sigma * sigma));
        // ... and the nearly radial ones where the plain perpendicular part is not accurate
        // enough: its error is a few ulps of sqrt(dd * pe) (the entries of (x - y) - k (x + y)
        // are formed to an ulp of |x - y|), below 2 ulps of c2 when dd * pe <= c2² / 4 (which
        // holds wherever pe >= dd / 4, the rows the scalar kernel takes plainly)
        let c2 = perp[i] + rad[i];
        fix_p[i] &= dd[i] * perp[i] > q * c2 * c2;
    }
    for i in (0..nb).filter(|&i| fix_p[i]) {
        let (xb, yb) = rowpair(i);
        perp[i] = perp2_dw(
            xb.len(),
            |j| two_sum(xb[j], -yb[j]),
            |j| two_sum(xb[j], yb[j]),
        );
    }
    for i in 0..nb {
        let deg = ss[i] == z;
        out.c2[i] = sel(deg, dd[i], perp[i] + rad[i]);
        out.e[i] = sel(deg, z, out.e[i]);
    }
    out
}

/// Batched [`Lorentz::dist`](Manifold::dist) (shapes checked by the caller).
pub(crate) fn lorentz_dist<T: Real>(m: &Lorentz<T>, xs: &[T], ys: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    let nf = [false; BLOCK];
    blocks(out, 1, xs.len() * 2 + out.len(), |i0, nb, o| {
        let ch = chord_block(xs, ys, d, i0, nb, &nf);
        for i in 0..nb {
            o[i] = T::c(2.0) * vmath::asinh(T::c(0.5) * ch.c2[i].sqrt());
        }
    });
}

/// Batched [`Lorentz::log_into`](Manifold::log_into).
pub(crate) fn lorentz_log<T: Real>(m: &Lorentz<T>, xs: &[T], ys: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    let nf = [false; BLOCK];
    blocks(out, d, xs.len() * 2 + out.len(), |i0, nb, o| {
        let ch = chord_block(xs, ys, d, i0, nb, &nf);
        let mut f = [T::zero(); BLOCK];
        for i in 0..nb {
            // d/sinh d with sinh(d/2) = sqrt(c2)/2 =: sqrt(y): sinh d = 2 sqrt(y (1 + y)) and
            // d = 2 arsinh sqrt(y), so d/sinh d = K(y) (no exponential needed)
            f[i] = k_of_y(T::c(0.25) * ch.c2[i]);
        }
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            let (x, y, or) = (&xs[r.clone()], &ys[r], &mut o[i * d..(i + 1) * d]);
            let (fi, h) = (f[i], T::c(0.5) * ch.c2[i]);
            or[0] = fi * (-ch.e[i] - h * ch.x0[i]);
            for ((o, &a), &b) in or[1..].iter_mut().zip(&x[1..]).zip(&y[1..]) {
                *o = fi * ((b - a) - h * a);
            }
        }
    });
}

/// The `N` sums $\sum_j a_k(j)\,b_k(j)$, $j < n$, where `f(j)` gives the pairs
/// $(a_k(j), b_k(j))$: each a running `madd` sum split over two lanes (even and odd $j$) so that
/// the dependency chains overlap.
#[inline(always)]
fn sums2<T: Real, const N: usize>(n: usize, f: impl Fn(usize) -> [(T, T); N]) -> [T; N] {
    let mut acc = [[T::zero(); N]; 2];
    let m = n & !1;
    let mut j = 0;
    while j < m {
        for (l, a) in acc.iter_mut().enumerate() {
            let t = f(j + l);
            for k in 0..N {
                a[k] = t[k].0.madd(t[k].1, a[k]);
            }
        }
        j += 2;
    }
    if m < n {
        let t = f(m);
        for k in 0..N {
            acc[0][k] = t[k].0.madd(t[k].1, acc[0][k]);
        }
    }
    core::array::from_fn(|k| acc[0][k] + acc[1][k])
}

/// Squared tangent norms $\theta^2 = \lVert\bar u\rVert^2 - (\bar x\cdot\bar u)^2/x_0^2$ of rows
/// `i0..i0 + nb` (`lorentz::tangent_norm2`: sum of squares, with the perpendicular part in
/// double-word arithmetic for nearly radial $\bar u$ at $x_0 > 4$).
#[inline(always)]
fn tangent_norm2_block<T: Real>(xs: &[T], us: &[T], d: usize, i0: usize, nb: usize) -> [T; BLOCK] {
    let z = T::zero();
    let row = |i: usize| (i0 + i) * d + 1..(i0 + i + 1) * d;
    let (mut aa, mut kk, mut uu) = ([z; BLOCK], [z; BLOCK], [z; BLOCK]);
    for i in 0..nb {
        let (xb, ub) = (&xs[row(i)], &us[row(i)][..d - 1]);
        let (mut a, mut k, mut u2) = (z, z, z);
        for (&x, &u) in xb.iter().zip(ub) {
            a = x.madd(x, a);
            k = x.madd(u, k);
            u2 = u.madd(u, u2);
        }
        (aa[i], kk[i], uu[i]) = (a, k, u2);
    }
    let mut ka = [z; BLOCK];
    for i in 0..nb {
        ka[i] = sel(aa[i] > z, kk[i] / aa[i], z);
    }
    let cx = T::c(COMPENSATE_ABOVE * COMPENSATE_ABOVE);
    let (mut perp, mut fix) = ([z; BLOCK], [false; BLOCK]);
    for i in 0..nb {
        let (xb, ub) = (&xs[row(i)], &us[row(i)][..d - 1]);
        let kai = ka[i];
        let [p] = sums2(xb.len(), |j| {
            let r = ub[j] - kai * xb[j];
            [(r, r)]
        });
        // Nearly radial ū at x0 > 4: the plain perpendicular part carries an error of a few
        // ulps of sqrt(uu * p) (the entries of ū − k x̄ are formed to an ulp of |ū|), below 2
        // ulps of θ² when uu * p <= θ⁴ / 4 (which holds wherever p >= uu / 4, the rows the
        // scalar kernel takes plainly); the others take its double-word form after the block.
        let x02 = T::one() + aa[i];
        let m2 = p + kk[i] * kk[i] / (aa[i] * x02);
        let q = T::c(0.25);
        fix[i] = (aa[i] != z) & (p < q * uu[i]) & (x02 > cx) & (uu[i] * p > q * m2 * m2);
        perp[i] = p;
    }
    for i in (0..nb).filter(|&i| fix[i]) {
        let (xb, ub) = (&xs[row(i)], &us[row(i)]);
        perp[i] = perp2_dw(xb.len(), |j| Dw(ub[j], z), |j| Dw(xb[j], z));
    }
    let mut m2 = [z; BLOCK];
    for i in 0..nb {
        let x02 = T::one() + aa[i];
        m2[i] = sel(aa[i] == z, uu[i], perp[i] + kk[i] * kk[i] / (aa[i] * x02));
    }
    m2
}

/// Batched [`Lorentz::exp_into`](Manifold::exp_into).
pub(crate) fn lorentz_exp<T: Real>(m: &Lorentz<T>, xs: &[T], us: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    blocks(out, d, xs.len() * 2 + out.len(), |i0, nb, o| {
        let z = T::zero();
        let row = |i: usize| (i0 + i) * d + 1..(i0 + i + 1) * d;
        let m2 = tangent_norm2_block(xs, us, d, i0, nb);
        let (mut c, mut s) = ([z; BLOCK], [z; BLOCK]);
        for i in 0..nb {
            let th = m2[i].sqrt();
            let (sh, ch) = vmath::sinh_cosh(th);
            c[i] = ch;
            s[i] = sinhc_from(th, sh);
        }
        let mut yy = [z; BLOCK];
        for i in 0..nb {
            let (xb, ub) = (&xs[row(i)], &us[row(i)]);
            let ob = &mut o[i * d + 1..(i + 1) * d];
            let mut acc = z;
            for ((o, &x), &u) in ob.iter_mut().zip(xb).zip(ub) {
                *o = c[i] * x + s[i] * u;
                acc = o.madd(*o, acc);
            }
            yy[i] = acc;
        }
        for v in yy[..nb].iter_mut() {
            *v = (T::one() + *v).sqrt();
        }
        for i in 0..nb {
            o[i * d] = yy[i];
        }
    });
}

/// `swap[i] = t_i > 1/2` and the time measured from the nearer endpoint, for rows `i0..i0 + nb`.
#[inline(always)]
fn near_end<T: Real>(ts: &[T], i0: usize, nb: usize) -> ([bool; BLOCK], [T; BLOCK]) {
    let (mut sw, mut tt) = ([false; BLOCK], [T::zero(); BLOCK]);
    let half = T::c(0.5);
    for i in 0..nb {
        let t = ts[i0 + i];
        // a NaN t swaps, like the scalar kernels' `if t <= 0.5 { .. } else { swap }`
        sw[i] = (t > half) | t.is_nan();
        tt[i] = sel(sw[i], T::one() - t, t);
    }
    (sw, tt)
}

/// The endpoints of row `i` in evaluation order (`(y, x)` when `swap`).
#[inline(always)]
fn ends<'a, T>(xs: &'a [T], ys: &'a [T], d: usize, row: usize, swap: bool) -> (&'a [T], &'a [T]) {
    let r = row * d..(row + 1) * d;
    if swap {
        (&ys[r.clone()], &xs[r])
    } else {
        (&xs[r.clone()], &ys[r])
    }
}

/// Batched [`Lorentz::geodesic_into`](Manifold::geodesic_into): the positive-weight form
/// $w_1\bar x + w_2\bar y$ of the scalar kernel (`c` = $w_1$, `r` = $w_2$).
pub(crate) fn lorentz_geodesic<T: Real>(
    m: &Lorentz<T>,
    xs: &[T],
    ys: &[T],
    ts: &[T],
    out: &mut [T],
) {
    let d = m.ambient_dim();
    blocks(out, d, xs.len() * 2 + out.len(), |i0, nb, o| {
        let z = T::zero();
        let (sw, tt) = near_end(ts, i0, nb);
        let ch = chord_block(xs, ys, d, i0, nb, &sw);
        let (mut c, mut r) = ([z; BLOCK], [z; BLOCK]);
        for i in 0..nb {
            let dist = T::c(2.0) * vmath::asinh(T::c(0.5) * ch.c2[i].sqrt());
            let td = tt[i] * dist;
            let u = T::one() - tt[i];
            let sd = vmath::sinhc(dist);
            c[i] = u * vmath::sinhc(u * dist) / sd;
            r[i] = tt[i] * vmath::sinhc(td) / sd;
        }
        let mut gg = [z; BLOCK];
        for i in 0..nb {
            let (a, b) = ends(xs, ys, d, i0 + i, sw[i]);
            let mut acc = z;
            for ((o, &a), &b) in o[i * d + 1..(i + 1) * d]
                .iter_mut()
                .zip(&a[1..])
                .zip(&b[1..])
            {
                let g = c[i] * a + r[i] * b;
                *o = g;
                acc = g.madd(g, acc);
            }
            gg[i] = acc;
        }
        for v in gg[..nb].iter_mut() {
            *v = (T::one() + *v).sqrt();
        }
        for i in 0..nb {
            o[i * d] = gg[i];
        }
    });
}

/// Batched [`Lorentz::geodesic_velocity_into`](Manifold::geodesic_velocity_into) (the
/// cancellation-free $c_\delta(y - x) + c_x x$ form of the scalar kernel).
pub(crate) fn lorentz_geodesic_velocity<T: Real>(
    m: &Lorentz<T>,
    xs: &[T],
    ys: &[T],
    ts: &[T],
    out: &mut [T],
) {
    let d = m.ambient_dim();
    blocks(out, d, xs.len() * 2 + out.len(), |i0, nb, o| {
        let z = T::zero();
        let (sw, tt) = near_end(ts, i0, nb);
        let ch = chord_block(xs, ys, d, i0, nb, &sw);
        let (mut cd, mut cx) = ([z; BLOCK], [z; BLOCK]);
        let half = T::c(0.5);
        for i in 0..nb {
            let dist = T::c(2.0) * vmath::asinh(half * ch.c2[i].sqrt());
            let f = sel(sw[i], -T::one(), T::one()) * vmath::x_over_sinh(dist);
            cd[i] = f * vmath::cosh(tt[i] * dist);
            cx[i] = f * T::c(2.0) * vmath::sinh(half * dist) * vmath::sinh((tt[i] - half) * dist);
        }
        for i in 0..nb {
            let (a, b) = ends(xs, ys, d, i0 + i, sw[i]);
            let or = &mut o[i * d..(i + 1) * d];
            or[0] = cd[i] * -ch.e[i] + cx[i] * ch.x0[i];
            for ((o, &a), &b) in or[1..].iter_mut().zip(&a[1..]).zip(&b[1..]) {
                *o = cd[i] * (b - a) + cx[i] * a;
            }
        }
    });
}

/// Batched [`Lorentz::transport_into`](crate::ParallelTransport::transport_into). The tangent inner
/// product $\langle z, v\rangle_x$ is taken in plain arithmetic, which loses at most a factor
/// $x_0^2$ where $z$ or $v$ is nearly radial; rows with $x_0 > 4$ and such a vector take the
/// scalar kernel's double-word `tangent_inner` inline.
pub(crate) fn lorentz_transport<T: Real>(
    m: &Lorentz<T>,
    xs: &[T],
    ys: &[T],
    vs: &[T],
    out: &mut [T],
) {
    let d = m.ambient_dim();
    let nf = [false; BLOCK];
    blocks(out, d, xs.len() * 3 + out.len(), |i0, nb, o| {
        let z = T::zero();
        let ch = chord_block(xs, ys, d, i0, nb, &nf);
        let row = |i: usize| (i0 + i) * d + 1..(i0 + i + 1) * d;
        let (mut xx, mut xz, mut xv, mut zz, mut vv) =
            ([z; BLOCK], [z; BLOCK], [z; BLOCK], [z; BLOCK], [z; BLOCK]);
        for i in 0..nb {
            let (x, y, v) = (&xs[row(i)], &ys[row(i)], &vs[row(i)]);
            let h = T::c(0.5) * ch.c2[i];
            let (mut a, mut b, mut c, mut e, mut f) = (z, z, z, z, z);
            for ((&x, &y), &v) in x.iter().zip(y).zip(v) {
                let zi = (y - x) - h * x;
                a = x.madd(x, a);
                b = x.madd(zi, b);
                c = x.madd(v, c);
                e = zi.madd(zi, e);
                f = v.madd(v, f);
            }
            (xx[i], xz[i], xv[i], zz[i], vv[i]) = (a, b, c, e, f);
        }
        let (mut ka, mut kb) = ([z; BLOCK], [z; BLOCK]);
        for i in 0..nb {
            let ok = xx[i] > z;
            ka[i] = sel(ok, xz[i] / xx[i], z);
            kb[i] = sel(ok, xv[i] / xx[i], z);
        }
        let (mut pzv, mut pzz, mut pvv) = ([z; BLOCK], [z; BLOCK], [z; BLOCK]);
        let mut dw = [false; BLOCK];
        let (q, cx) = (T::c(0.25), T::c(COMPENSATE_ABOVE * COMPENSATE_ABOVE));
        for i in 0..nb {
            let (x, y, v) = (&xs[row(i)], &ys[row(i)], &vs[row(i)]);
            let h = T::c(0.5) * ch.c2[i];
            let (mut a, mut b, mut c) = (z, z, z);
            for ((&x, &y), &v) in x.iter().zip(y).zip(v) {
                let zp = ((y - x) - h * x) - ka[i] * x;
                let vp = v - kb[i] * x;
                a = zp.madd(vp, a);
                b = zp.madd(zp, b);
                c = vp.madd(vp, c);
            }
            // nearly radial z or v at x0 > 4: the double-word tangent inner product of the
            // scalar kernel, inline
            let radial = (b < q * zz[i]) | (c < q * vv[i]);
            if xx[i] != z && radial && T::one() + xx[i] > cx {
                let hx = |j: usize| (y[j] - x[j]) - h * x[j];
                a = tangent_inner_dw(x, hx, |j| v[j]);
                dw[i] = true;
            }
            (pzv[i], pzz[i], pvv[i]) = (a, b, c);
        }
        let mut k = [z; BLOCK];
        for i in 0..nb {
            let deg = xx[i] == z;
            let yv = pzv[i] + xz[i] * xv[i] / (xx[i] * (T::one() + xx[i]));
            let yv = sel(deg | dw[i], pzv[i], yv);
            k[i] = yv / (T::c(2.0) + T::c(0.5) * ch.c2[i]);
        }
        let mut yw = [z; BLOCK];
        for i in 0..nb {
            let (x, y, v) = (&xs[row(i)], &ys[row(i)], &vs[row(i)]);
            let mut acc = z;
            for (((o, &x), &y), &v) in o[i * d + 1..(i + 1) * d].iter_mut().zip(x).zip(y).zip(v) {
                let w = v + k[i] * (x + y);
                *o = w;
                acc = y.madd(w, acc);
            }
            yw[i] = acc;
        }
        for i in 0..nb {
            o[i * d] = yw[i] / ch.y0[i];
        }
    });
}

/// Batched [`Lorentz::norm`](Manifold::norm): the tangent norm of exp.
pub(crate) fn lorentz_norm<T: Real>(m: &Lorentz<T>, xs: &[T], vs: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    blocks(out, 1, xs.len() * 2 + out.len(), |i0, nb, o| {
        let m2 = tangent_norm2_block(xs, vs, d, i0, nb);
        for i in 0..nb {
            o[i] = m2[i].sqrt();
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Poincaré ball
// ---------------------------------------------------------------------------------------------

/// $1 - \lVert p\rVert^2$ by Ogita–Rump–Oishi `Sum2` of the exact squares $x^2 = h + l$: the
/// running sum is carried with error-free `two_sum`, the errors summed plainly; accurate as if
/// computed in twice the working precision, then rounded.
#[inline(always)]
fn one_minus_norm2_fast<T: Real>(p: &[T]) -> T {
    let mut s = T::one();
    let mut c = T::zero();
    for &x in p {
        let h = x * x;
        let l = x.mul_add(x, -h);
        let t = s - h;
        let bb = t - s;
        let e = (s - (t - bb)) + (-h - bb);
        s = t;
        c += e - l;
    }
    s + c
}

/// Taylor coefficients of $K(y)$ (as in `poincare::k_of_y`).
const K_SERIES: [f64; 4] = [1.0, -2.0 / 3.0, 8.0 / 15.0, -16.0 / 35.0];

/// $K(y) = \operatorname{arsinh}\sqrt y/\sqrt{y(1+y)}$, branch-free (`poincare::k_of_y`).
#[inline(always)]
fn k_of_y<T: Real>(y: T) -> T {
    let series = T::c(K_SERIES[0])
        + y * (T::c(K_SERIES[1]) + y * (T::c(K_SERIES[2]) + y * T::c(K_SERIES[3])));
    let c = y.sqrt();
    let closed = vmath::asinh(c) / (c * (T::one() + y).sqrt());
    sel(
        y < T::pick(K_PRIME_CUTOFF) * T::pick((1e-3, 1e-6)),
        series,
        closed,
    )
}

/// Pass 1 of the pair ops: $a_p$, $a_q$, $\lVert q - p\rVert^2$ per row.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn pair_block<T: Real>(
    ps: &[T],
    qs: &[T],
    d: usize,
    i0: usize,
    nb: usize,
) -> ([T; BLOCK], [T; BLOCK], [T; BLOCK]) {
    let z = T::zero();
    let (mut ap, mut aq, mut dd) = ([z; BLOCK], [z; BLOCK], [z; BLOCK]);
    for i in 0..nb {
        let r = (i0 + i) * d..(i0 + i + 1) * d;
        let (p, q) = (&ps[r.clone()], &qs[r]);
        ap[i] = one_minus_norm2_fast(p);
        aq[i] = one_minus_norm2_fast(q);
        let mut s = z;
        for (&a, &b) in p.iter().zip(q) {
            let dl = b - a;
            s = dl.madd(dl, s);
        }
        dd[i] = s;
    }
    (ap, aq, dd)
}

/// Batched [`PoincareBall::dist`](Manifold::dist).
pub(crate) fn ball_dist<T: Real>(m: &PoincareBall<T>, ps: &[T], qs: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    blocks(out, 1, ps.len() * 2 + out.len(), |i0, nb, o| {
        let (ap, aq, dd) = pair_block(ps, qs, d, i0, nb);
        for i in 0..nb {
            let y = dd[i] / (ap[i] * aq[i]);
            o[i] = T::c(2.0) * vmath::asinh(y.sqrt());
        }
    });
}

/// Batched [`PoincareBall::log_into`](Manifold::log_into).
pub(crate) fn ball_log<T: Real>(m: &PoincareBall<T>, ps: &[T], qs: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    blocks(out, d, ps.len() * 2 + out.len(), |i0, nb, o| {
        let (ap, aq, dd) = pair_block(ps, qs, d, i0, nb);
        let mut k = [T::zero(); BLOCK];
        for i in 0..nb {
            let y = dd[i] / (ap[i] * aq[i]);
            k[i] = k_of_y(y) / aq[i];
        }
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            let (p, q) = (&ps[r.clone()], &qs[r]);
            let (ki, a, s) = (k[i], ap[i], dd[i]);
            for ((o, &p), &q) in o[i * d..(i + 1) * d].iter_mut().zip(p).zip(q) {
                *o = ki * (a * (q - p) - s * p);
            }
        }
    });
}

/// $p\cdot p$, $p\cdot u$, $u\cdot u$ as double words, by compensated summation (Ogita, Rump
/// and Oishi's Dot2: as accurate as the sums taken in twice the precision) in three independent
/// chains (the accuracy of `poincare::dot_dw` at a fraction of its latency).
#[inline(always)]
fn dots_dw<T: Real>(p: &[T], u: &[T]) -> (Dw<T>, Dw<T>, Dw<T>) {
    let z = T::zero();
    let (mut s, mut c) = ([z; 3], [z; 3]);
    for (&x, &y) in p.iter().zip(u) {
        for (k, (a, b)) in [(x, x), (x, y), (y, y)].into_iter().enumerate() {
            let h = a * b;
            let e = a.mul_add(b, -h);
            let t = two_sum(s[k], h);
            s[k] = t.0;
            c[k] += t.1 + e;
        }
    }
    let f = |k: usize| two_sum(s[k], c[k]);
    (f(0), f(1), f(2))
}

/// $1 - \lVert p\rVert^2$ (compensated, as `one_minus_norm2_fast`) and the plain sums
/// $p\cdot p$, $p\cdot u$, $u\cdot u$, each in two lanes (even and odd entries) to halve the
/// dependency chains.
#[inline(always)]
fn exp_sums<T: Real>(p: &[T], u: &[T]) -> (T, T, T, T) {
    let z = T::zero();
    let (mut s0, mut s1, mut c0, mut c1) = (T::one(), z, z, z);
    let (mut a0, mut a1, mut b0, mut b1, mut w0, mut w1) = (z, z, z, z, z, z);
    let (pc, uc) = (p.chunks_exact(2), u.chunks_exact(2));
    let (pr, ur) = (pc.remainder(), uc.remainder());
    for (x, y) in pc.zip(uc) {
        let (h0, h1) = (x[0] * x[0], x[1] * x[1]);
        let (l0, l1) = (x[0].mul_add(x[0], -h0), x[1].mul_add(x[1], -h1));
        let (t0, t1) = (two_sum(s0, -h0), two_sum(s1, -h1));
        (s0, s1) = (t0.0, t1.0);
        c0 += t0.1 - l0;
        c1 += t1.1 - l1;
        (a0, a1) = (x[0].madd(x[0], a0), x[1].madd(x[1], a1));
        (b0, b1) = (x[0].madd(y[0], b0), x[1].madd(y[1], b1));
        (w0, w1) = (y[0].madd(y[0], w0), y[1].madd(y[1], w1));
    }
    for (&x, &y) in pr.iter().zip(ur) {
        let h = x * x;
        let t = two_sum(s0, -h);
        s0 = t.0;
        c0 += t.1 - x.mul_add(x, -h);
        (a0, b0, w0) = (x.madd(x, a0), x.madd(y, b0), y.madd(y, w0));
    }
    let t = two_sum(s0, s1);
    (t.0 + (t.1 + (c0 + c1)), a0 + a1, b0 + b1, w0 + w1)
}

/// Batched [`PoincareBall::exp_into`](Manifold::exp_into): the cancellation-free Lorentz form of
/// the scalar kernel, the scalars of `poincare::ExpScalars::new` per row. Pass 1 takes the
/// sums (in double words, as the scalar kernel, only for steps back across the ball, where they
/// feed cancelling terms) and, for steps back across the ball ($p\cdot u < 0$, $\lVert p\rVert > 1/2$),
/// $\sigma$ and the double-word perpendicular part $\lVert u - \sigma p\rVert^2$; pass 2 evaluates
/// both forms with vmath's branch-free functions and selects; pass 3 forms the increment.
pub(crate) fn ball_exp<T: Real>(m: &PoincareBall<T>, ps: &[T], us: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    blocks(out, d, ps.len() * 2 + out.len(), |i0, nb, o| {
        let z = T::zero();
        let zd = Dw(z, z);
        let (one, two, half) = (T::one(), T::c(2.0), T::c(0.5));
        let (mut ap, mut ppv, mut uuv, mut sv) = ([z; BLOCK], [z; BLOCK], [z; BLOCK], [z; BLOCK]);
        let (mut sg, mut p2) = ([zd; BLOCK], [z; BLOCK]);
        let mut spl = [false; BLOCK];
        let (mut idx, mut ns) = ([0usize; BLOCK], 0usize);
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            let (p, u) = (&ps[r.clone()], &us[r]);
            let (a, b, c);
            (ap[i], a, b, c) = exp_sums(p, u);
            (ppv[i], sv[i], uuv[i]) = (a, b, c);
            spl[i] = b < z && a.sqrt() > half;
            idx[ns] = i;
            ns += usize::from(spl[i]);
        }
        // steps back across the ball: the sums and the perpendicular part u − σp in double
        // words, as the scalar kernel (a separate loop: no mispredicted branch per row)
        for &i in &idx[..ns] {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            let (p, u) = (&ps[r.clone()], &us[r]);
            let (pp, pu, uu) = dots_dw(p, u);
            ppv[i] = pp.0 + pp.1;
            uuv[i] = uu.0 + uu.1;
            sv[i] = pu.0 + pu.1;
            let s = dw_div(pu, pp);
            let mut acc = z;
            for (&p, &u) in p.iter().zip(u) {
                let e = perp(s, p, u);
                acc = e.madd(e, acc);
            }
            sg[i] = s;
            p2[i] = acc;
        }
        // pass 2: the scalars of `ExpScalars::new`, branch-free
        let (mut cp, mut cu) = ([z; BLOCK], [z; BLOCK]);
        for i in 0..nb {
            let (a, s, split) = (ap[i], sv[i], spl[i]);
            let rho = ppv[i].sqrt();
            let nu = uuv[i].sqrt();
            let lam = two / a;
            let r = lam * nu;
            let tau = vmath::tanh_over_x(r);
            let e1 = vmath::exp(-r);
            let e2 = e1 * e1;
            let opd = one + e2;
            let omt = two * e2 / opd; // 1 − tanh r
            let sech = two * e1 / opd;
            let opr = one + rho;
            let omr = a / opr; // 1 − ρ
            let h = sel(split, ppv[i] * p2[i] / (rho * nu - s), rho * nu + s);
            let tlh = tau * lam * h;
            let den = a * sech + omr * omr + two * rho * omt + two * tlh;
            let em = vmath::expm1(-r);
            let ac1 = a * (em * em / opd);
            // split rows: ρκ from ρ_h = 2 ln(1 + ρ) − ln a (see `ExpScalars::new`)
            let rh = two * vmath::log1p(rho) - vmath::log(a);
            let rk = half * a * (a / (opr * opr)) * vmath::expm1(two * (rh - r)) / opd
                + half * (two - a) * tlh / rho;
            let k2 = sel(
                r > one,
                two * (rk / rho) - den,
                ac1 + two * tau * (sg[i].0 + sg[i].1),
            );
            cp[i] = sel(split, k2, ac1) / den;
            cu[i] = two * tau / den;
        }
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            let (p, u) = (&ps[r.clone()], &us[r]);
            let (a, b, s) = (cp[i], cu[i], sg[i]);
            for ((o, &p), &u) in o[i * d..(i + 1) * d].iter_mut().zip(p).zip(u) {
                *o = p + (a * p + b * perp(s, p, u));
            }
        }
    });
}

/// Batched [`PoincareBall::geodesic_into`](Manifold::geodesic_into): the Lorentz-combination
/// form $p + c_\delta\\,\delta - c_p\\,p$ of the scalar kernel (from the nearer end).
pub(crate) fn ball_geodesic<T: Real>(
    m: &PoincareBall<T>,
    ps: &[T],
    qs: &[T],
    ts: &[T],
    out: &mut [T],
) {
    let d = m.ambient_dim();
    blocks(out, d, ps.len() * 2 + out.len(), |i0, nb, o| {
        let z = T::zero();
        let (sw, tt) = near_end(ts, i0, nb);
        let (mut ap, mut aq, mut dd) = ([z; BLOCK], [z; BLOCK], [z; BLOCK]);
        for i in 0..nb {
            let (a, b) = ends(ps, qs, d, i0 + i, sw[i]);
            ap[i] = one_minus_norm2_fast(a);
            aq[i] = one_minus_norm2_fast(b);
            let mut s = z;
            for (&x, &y) in a.iter().zip(b) {
                let dl = y - x;
                s = dl.madd(dl, s);
            }
            dd[i] = s;
        }
        let (mut cd, mut ca) = ([z; BLOCK], [z; BLOCK]);
        let (two, half) = (T::c(2.0), T::c(0.5));
        for i in 0..nb {
            let dist = two * vmath::asinh((dd[i] / (ap[i] * aq[i])).sqrt());
            let (t, u) = (tt[i], T::one() - tt[i]);
            let sd = vmath::sinhc(dist);
            let w1 = u * vmath::sinhc(u * dist) / sd;
            let w2 = t * vmath::sinhc(t * dist) / sd;
            let mm = ap[i] * aq[i] + w1 * (two - ap[i]) * aq[i] + w2 * (two - aq[i]) * ap[i];
            let h1 = vmath::sinh(half * t * dist);
            let h2 = vmath::sinh(half * u * dist);
            let k = two * (ap[i] / mm);
            cd[i] = k * w2;
            ca[i] = k * aq[i] * (w1 * h1 * h1 + w2 * h2 * h2);
        }
        for i in 0..nb {
            let (a, b) = ends(ps, qs, d, i0 + i, sw[i]);
            for ((o, &x), &y) in o[i * d..(i + 1) * d].iter_mut().zip(a).zip(b) {
                *o = x + (cd[i] * (y - x) - ca[i] * x);
            }
        }
    });
}

/// Batched [`PoincareBall::geodesic_velocity_into`](Manifold::geodesic_velocity_into): the
/// cancellation-free Lorentz-combination form of the scalar kernel,
/// $k\big((1 + e_1)\\,\delta + (e_1 - e_2)\\,p\big)$.
pub(crate) fn ball_geodesic_velocity<T: Real>(
    m: &PoincareBall<T>,
    ps: &[T],
    qs: &[T],
    ts: &[T],
    out: &mut [T],
) {
    let d = m.ambient_dim();
    blocks(out, d, ps.len() * 2 + out.len(), |i0, nb, o| {
        let z = T::zero();
        let (ap, aq, dd) = pair_block(ps, qs, d, i0, nb);
        let (mut k, mut c1, mut c2) = ([z; BLOCK], [z; BLOCK], [z; BLOCK]);
        let (two, half) = (T::c(2.0), T::c(0.5));
        for i in 0..nb {
            let dist = two * vmath::asinh((dd[i] / (ap[i] * aq[i])).sqrt());
            let (t, u) = (ts[i0 + i], T::one() - ts[i0 + i]);
            let sd = vmath::sinhc(dist);
            let w1 = u * vmath::sinhc(u * dist) / sd;
            let w2 = t * vmath::sinhc(t * dist) / sd;
            let mm = ap[i] * aq[i] + w1 * (two - ap[i]) * aq[i] + w2 * (two - aq[i]) * ap[i];
            let h1 = vmath::sinh(half * t * dist);
            let h2 = vmath::sinh(half * u * dist);
            let (e1, e2) = (ap[i] * h1 * h1, aq[i] * h2 * h2);
            k[i] = T::c(4.0) * (ap[i] / mm) * (aq[i] / mm) / sd;
            c1[i] = T::one() + e1;
            c2[i] = e1 - e2;
        }
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            let (p, q) = (&ps[r.clone()], &qs[r]);
            for ((o, &x), &y) in o[i * d..(i + 1) * d].iter_mut().zip(p).zip(q) {
                *o = k[i] * (c1[i] * (y - x) + c2[i] * x);
            }
        }
    });
}

/// Batched [`PoincareBall::transport_into`](crate::ParallelTransport::transport_into) (the
/// cancellation-free gyration form of the scalar kernel).
pub(crate) fn ball_transport<T: Real>(
    m: &PoincareBall<T>,
    ps: &[T],
    qs: &[T],
    vs: &[T],
    out: &mut [T],
) {
    let d = m.ambient_dim();
    blocks(out, d, ps.len() * 3 + out.len(), |i0, nb, o| {
        let z = T::zero();
        let (ap, aq, dd) = pair_block(ps, qs, d, i0, nb);
        let (mut cp, mut ca, mut ck, mut cr) = ([z; BLOCK], [z; BLOCK], [z; BLOCK], [z; BLOCK]);
        let two = T::c(2.0);
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            let (p, q, v) = (&ps[r.clone()], &qs[r.clone()], &vs[r]);
            let (mut pd, mut pv, mut dv) = (z, z, z);
            for ((&p, &q), &v) in p.iter().zip(q).zip(v) {
                let dl = q - p;
                pd = p.madd(dl, pd);
                pv = p.madd(v, pv);
                dv = dl.madd(v, dv);
            }
            ca[i] = two * pd * pv - ap[i] * pv - (T::one() - ap[i]) * dv;
            cp[i] = ap[i] * dv - dd[i] * pv;
        }
        for i in 0..nb {
            ck[i] = two / (dd[i] + ap[i] * aq[i]);
            cr[i] = aq[i] / ap[i];
        }
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            let (p, q, v) = (&ps[r.clone()], &qs[r.clone()], &vs[r]);
            let (a, c, k, rr) = (ca[i], cp[i], ck[i], cr[i]);
            for (((o, &p), &q), &v) in o[i * d..(i + 1) * d].iter_mut().zip(p).zip(q).zip(v) {
                *o = rr * (v + k * (c * p + a * (q - p)));
            }
        }
    });
}

/// Batched [`PoincareBall::inner`](Manifold::inner): $\lambda_p^2\\,u\cdot v$.
pub(crate) fn ball_inner<T: Real>(
    m: &PoincareBall<T>,
    ps: &[T],
    us: &[T],
    vs: &[T],
    out: &mut [T],
) {
    let d = m.ambient_dim();
    blocks(out, 1, ps.len() * 3 + out.len(), |i0, nb, o| {
        let (mut ap, mut uv) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            ap[i] = one_minus_norm2_fast(&ps[r.clone()]);
            let mut s = T::zero();
            for (&a, &b) in us[r.clone()].iter().zip(&vs[r]) {
                s = a.madd(b, s);
            }
            uv[i] = s;
        }
        for i in 0..nb {
            let lam = T::c(2.0) / ap[i];
            o[i] = lam * lam * uv[i];
        }
    });
}

/// Batched [`PoincareBall::norm`](Manifold::norm): $\lambda_p\lVert v\rVert$.
pub(crate) fn ball_norm<T: Real>(m: &PoincareBall<T>, ps: &[T], vs: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    blocks(out, 1, ps.len() * 2 + out.len(), |i0, nb, o| {
        let (mut ap, mut vv) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            ap[i] = one_minus_norm2_fast(&ps[r.clone()]);
            vv[i] = crate::numerics::norm2(&vs[r]);
        }
        for i in 0..nb {
            o[i] = T::c(2.0) / ap[i] * vv[i].sqrt();
        }
        for i in 0..nb {
            if !(vv[i].is_normal() && vv[i] < T::max_value()) {
                // ‖v‖² under- or overflows: the scalar kernel rescales
                let r = (i0 + i) * d..(i0 + i + 1) * d;
                o[i] = m.norm(&ps[r.clone()], &vs[r]);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ParallelTransport, Sample};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `|a - b| <= tol * scale` entrywise, with `scale` the row's ambient magnitude.
    fn close<T: Real>(a: &[T], b: &[T], d: usize, ulps: f64, what: &str) {
        close_cond(a, b, d, ulps, &vec![1.0; a.len() / d], what);
    }

    /// [`close`] with the tolerance of row `i` multiplied by `cond[i]` (the condition number of
    /// the formula both kernels evaluate, when their elementary functions round differently).
    fn close_cond<T: Real>(a: &[T], b: &[T], d: usize, ulps: f64, cond: &[f64], what: &str) {
        close_scaled(a, b, d, ulps, cond, &vec![0.0; cond.len()], what);
    }

    /// [`close_cond`] with the scale of row `i` at least `floor[i]` (the size of the terms the
    /// formula adds, where they are larger than the result).
    fn close_scaled<T: Real>(
        a: &[T],
        b: &[T],
        d: usize,
        ulps: f64,
        cond: &[f64],
        floor: &[f64],
        what: &str,
    ) {
        let eps = T::epsilon().to_f64_lossless();
        for (i, (ra, rb)) in a.chunks(d).zip(b.chunks(d)).enumerate() {
            let ulps = ulps * cond[i];
            let scale = rb
                .iter()
                .map(|x| x.to_f64_lossless().abs())
                .fold(floor[i], f64::max)
                .max(f64::MIN_POSITIVE);
            for (x, y) in ra.iter().zip(rb) {
                let (x, y) = (x.to_f64_lossless(), y.to_f64_lossless());
                assert!(
                    x == y || (x.is_nan() && y.is_nan()) || (x - y).abs() <= ulps * eps * scale,
                    "{what}: row {i}: batch {x:e} vs scalar {y:e} (d = {d})"
                );
            }
        }
    }

    /// Random tangent vector at `x` with log-uniform norm in `[1e-12, 4]`, radial or generic.
    fn tangent_lorentz<T: Real>(m: &Lorentz<T>, x: &[T], g: &mut ChaCha8Rng) -> Vec<T> {
        let d = m.ambient_dim();
        let mut v: Vec<T> = (0..d).map(|_| T::standard_normal(g)).collect();
        if g.random::<f64>() < 0.2 {
            // (nearly) radial: along x̄
            for k in 1..d {
                v[k] = x[k] + T::c(1e-9) * v[k];
            }
        }
        let mut w = vec![T::zero(); d];
        m.project_tangent_into(x, &v, &mut w);
        let nrm = m.norm(x, &w);
        let target = T::c(10f64.powf(-12.0 + 12.6 * g.random::<f64>()));
        if nrm > T::zero() {
            for a in w.iter_mut() {
                *a *= target / nrm;
            }
        }
        w
    }

    /// Points on H^n with radii up to `rmax`, with pairs near each other, antipodal-ish, radial.
    fn lorentz_pairs<T: Real>(m: &Lorentz<T>, n: usize, rmax: f64, seed: u64) -> (Vec<T>, Vec<T>) {
        let mut g = ChaCha8Rng::seed_from_u64(seed);
        let d = m.ambient_dim();
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        let pt = |dir: &[f64], r: f64| -> Vec<T> {
            let nn = dir.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-300);
            let mut p = vec![T::zero(); d];
            for k in 1..d {
                p[k] = T::c(r.sinh() * dir[k - 1] / nn);
            }
            let mut q = vec![T::zero(); d];
            m.project_point_into(&p, &mut q);
            q
        };
        for i in 0..n {
            let dir: Vec<f64> = (0..d - 1).map(|_| g.random::<f64>() - 0.5).collect();
            let r = rmax * g.random::<f64>();
            let x = pt(&dir, r);
            let kind = i % 5;
            let y = match kind {
                0 => {
                    let dir2: Vec<f64> = (0..d - 1).map(|_| g.random::<f64>() - 0.5).collect();
                    {
                        let r2 = rmax * g.random::<f64>();
                        pt(&dir2, r2)
                    }
                }
                1 => {
                    // nearby: 1e-10 .. 1e-3 apart
                    let dir2: Vec<f64> = dir
                        .iter()
                        .map(|a| {
                            a + 10f64.powf(-10.0 + 7.0 * g.random::<f64>())
                                * (g.random::<f64>() - 0.5)
                        })
                        .collect();
                    pt(&dir2, r)
                }
                2 => {
                    let r2 = rmax * g.random::<f64>();
                    pt(&dir, r2) // radial
                }
                3 => {
                    let neg: Vec<f64> = dir.iter().map(|a| -a).collect();
                    pt(&neg, r) // ȳ = −x̄
                }
                _ => x.clone(),
            };
            xs.extend(x);
            ys.extend(y);
        }
        (xs, ys)
    }

    /// Row `i` of a batch.
    fn row<T>(v: &[T], d: usize, i: usize) -> &[T] {
        &v[i * d..(i + 1) * d]
    }

    /// Largest absolute entry.
    fn amax<T: Real>(v: &[T]) -> f64 {
        v.iter()
            .map(|x| x.to_f64_lossless().abs())
            .fold(0.0, f64::max)
    }

    /// Times for the geodesic tests: the ends, 1/2 and either side of it, and random.
    fn times<T: Real>(rows: usize) -> Vec<T> {
        let mut g = ChaCha8Rng::seed_from_u64(3);
        (0..rows)
            .map(|i| match i % 6 {
                0 => T::zero(),
                1 => T::one(),
                2 => T::c(0.5),
                3 => T::c(0.5) + T::epsilon(),
                _ => T::c(g.random::<f64>()),
            })
            .collect()
    }

    fn check_lorentz_more<T: Real>(m: &Lorentz<T>, xs: &[T], ys: &[T], us: &[T], ulps: f64) {
        let d = m.ambient_dim();
        let rows = xs.len() / d;
        let ts = times::<T>(rows);
        let ones = vec![1.0; rows];
        // Both kernels add terms c·a + r·((b − a) − h·a) (and k·a + c·(…) for the velocity)
        // that are much larger than the result for far points (the Jacobi-field growth of the
        // module notes); their elementary functions round differently, so the tolerance is
        // relative to the largest term.
        let floor: Vec<f64> = (0..rows)
            .map(|i| {
                let f = |v: &[T]| v.iter().map(|x| x.to_f64_lossless()).collect::<Vec<_>>();
                let (mut x, mut y) = (f(row(xs, d, i)), f(row(ys, d, i)));
                let dist = m.dist(row(xs, d, i), row(ys, d, i)).to_f64_lossless();
                let mut t = ts[i].to_f64_lossless();
                if t > 0.5 {
                    (x, y, t) = (y, x, 1.0 - t);
                }
                let h = (dist.cosh() - 1.0).max(0.0);
                let (c, sh) = ((t * dist).cosh(), (t * dist).sinh());
                let r = if dist > 0.0 { sh / dist.sinh() } else { t };
                let k = dist * sh;
                let cv = c * crate::numerics::x_over_sinh(dist);
                (0..d)
                    .map(|j| {
                        let z = (y[j] - x[j]).abs() + h * x[j].abs();
                        (c * x[j].abs() + r * z).max(k * x[j].abs() + cv * z)
                    })
                    .fold(0.0, f64::max)
            })
            .collect();
        let mut a = vec![T::zero(); rows * d];
        let mut b = vec![T::zero(); rows * d];
        lorentz_geodesic(m, xs, ys, &ts, &mut a);
        for i in 0..rows {
            m.geodesic_into(
                row(xs, d, i),
                row(ys, d, i),
                ts[i],
                &mut b[i * d..(i + 1) * d],
            );
        }
        close_scaled(&a, &b, d, ulps, &ones, &floor, "lorentz geodesic");
        lorentz_geodesic_velocity(m, xs, ys, &ts, &mut a);
        for i in 0..rows {
            m.geodesic_velocity_into(
                row(xs, d, i),
                row(ys, d, i),
                ts[i],
                &mut b[i * d..(i + 1) * d],
            );
        }
        close_scaled(&a, &b, d, ulps, &ones, &floor, "lorentz geodesic velocity");
        // transport: relative error about ε(x0 + y0) of |v|
        let floor: Vec<f64> = (0..rows)
            .map(|i| amax(row(us, d, i)) * (row(xs, d, i)[0] + row(ys, d, i)[0]).to_f64_lossless())
            .collect();
        lorentz_transport(m, xs, ys, us, &mut a);
        for i in 0..rows {
            m.transport_into(
                row(xs, d, i),
                row(ys, d, i),
                row(us, d, i),
                &mut b[i * d..(i + 1) * d],
            );
        }
        close_scaled(&a, &b, d, ulps, &ones, &floor, "lorentz transport");
        // norm
        let (mut a1, mut b1) = (vec![T::zero(); rows], vec![T::zero(); rows]);
        lorentz_norm(m, xs, us, &mut a1);
        for i in 0..rows {
            b1[i] = m.norm(row(xs, d, i), row(us, d, i));
        }
        close(&a1, &b1, 1, ulps, "lorentz norm");
        // and through the trait overrides
        let mut c = vec![T::zero(); rows * d];
        m.exp_batch_into(xs, us, &mut c);
        lorentz_exp(m, xs, us, &mut a);
        assert_eq!(a, c);
    }

    fn check_ball_more<T: Real>(m: &PoincareBall<T>, ps: &[T], qs: &[T], us: &[T], ulps: f64) {
        let d = m.ambient_dim();
        let rows = ps.len() / d;
        let ts = times::<T>(rows);
        // the ball resolves points to ε/a_p (module notes): scale by 1/a of both ends
        let cond: Vec<f64> = (0..rows)
            .map(|i| {
                let a = |p: &[T]| crate::poincare::one_minus_norm2(p).to_f64_lossless();
                1.0 / a(row(ps, d, i)).min(a(row(qs, d, i)))
            })
            .collect();
        // terms of the size of the endpoints (the midpoint of p and −p is 0)
        let floor: Vec<f64> = (0..rows)
            .map(|i| {
                let dist = m.dist(row(ps, d, i), row(qs, d, i)).to_f64_lossless();
                (1.0 + dist) * amax(row(ps, d, i)).max(amax(row(qs, d, i)))
            })
            .collect();
        let mut a = vec![T::zero(); rows * d];
        let mut b = vec![T::zero(); rows * d];
        ball_geodesic(m, ps, qs, &ts, &mut a);
        for i in 0..rows {
            m.geodesic_into(
                row(ps, d, i),
                row(qs, d, i),
                ts[i],
                &mut b[i * d..(i + 1) * d],
            );
        }
        close_scaled(&a, &b, d, ulps, &cond, &floor, "ball geodesic");
        ball_geodesic_velocity(m, ps, qs, &ts, &mut a);
        for i in 0..rows {
            m.geodesic_velocity_into(
                row(ps, d, i),
                row(qs, d, i),
                ts[i],
                &mut b[i * d..(i + 1) * d],
            );
        }
        // the velocity formula (scalar and batch alike) loses a factor 1/a² near the boundary
        let cond2: Vec<f64> = cond.iter().map(|c| c * c).collect();
        close_scaled(&a, &b, d, ulps, &cond2, &floor, "ball geodesic velocity");
        ball_transport(m, ps, qs, us, &mut a);
        for i in 0..rows {
            m.transport_into(
                row(ps, d, i),
                row(qs, d, i),
                row(us, d, i),
                &mut b[i * d..(i + 1) * d],
            );
        }
        close(&a, &b, d, ulps, "ball transport");
        let (mut a1, mut b1) = (vec![T::zero(); rows], vec![T::zero(); rows]);
        ball_norm(m, ps, us, &mut a1);
        for i in 0..rows {
            b1[i] = m.norm(row(ps, d, i), row(us, d, i));
        }
        close(&a1, &b1, 1, ulps, "ball norm");
        ball_inner(m, ps, us, us, &mut a1);
        for i in 0..rows {
            b1[i] = m.inner(row(ps, d, i), row(us, d, i), row(us, d, i));
        }
        close(&a1, &b1, 1, ulps, "ball inner");
        let mut c = vec![T::zero(); rows * d];
        m.project_tangent_batch_into(ps, us, &mut c);
        assert_eq!(&c, us);
    }

    fn check_lorentz<T: Real>(rmax: f64, ulps: f64) {
        for n in [1usize, 2, 16] {
            let m = Lorentz::<T>::new(n).unwrap();
            let d = n + 1;
            for rows in [1usize, 63, 65, 1000] {
                let (xs, ys) = lorentz_pairs(&m, rows, rmax, rows as u64 + 17 * n as u64);
                // dist
                let mut a = vec![T::zero(); rows];
                let mut b = vec![T::zero(); rows];
                lorentz_dist(&m, &xs, &ys, &mut a);
                for i in 0..rows {
                    b[i] = m.dist(&xs[i * d..(i + 1) * d], &ys[i * d..(i + 1) * d]);
                }
                close(&a, &b, 1, ulps, "lorentz dist");
                // log
                let mut a = vec![T::zero(); rows * d];
                let mut b = vec![T::zero(); rows * d];
                lorentz_log(&m, &xs, &ys, &mut a);
                for i in 0..rows {
                    let r = i * d..(i + 1) * d;
                    m.log_into(&xs[r.clone()], &ys[r.clone()], &mut b[r]);
                }
                close(&a, &b, d, ulps, "lorentz log");
                // exp
                let mut g = ChaCha8Rng::seed_from_u64(5);
                let mut us = Vec::new();
                for i in 0..rows {
                    us.extend(tangent_lorentz(&m, &xs[i * d..(i + 1) * d], &mut g));
                }
                lorentz_exp(&m, &xs, &us, &mut a);
                for i in 0..rows {
                    let r = i * d..(i + 1) * d;
                    m.exp_into(&xs[r.clone()], &us[r.clone()], &mut b[r]);
                }
                close(&a, &b, d, ulps, "lorentz exp");
                check_lorentz_more(&m, &xs, &ys, &us, ulps);
            }
        }
    }

    #[test]
    fn empty_batches_and_shape_errors() {
        let h = Lorentz::<f64>::new(2).unwrap();
        let b = PoincareBall::<f32>::new(3).unwrap();
        h.exp_batch_into(&[], &[], &mut []);
        h.dist_batch_into(&[], &[], &mut []);
        b.log_batch_into(&[], &[], &mut []);
        b.geodesic_batch_into(&[], &[], &[], &mut []);
        let r = std::panic::catch_unwind(|| {
            let mut out = [0.0; 1];
            h.dist_batch_into(&[1.0, 0.0, 0.0], &[1.0, 0.0, 0.0], &mut out[..0]);
        });
        assert!(r.is_err());
    }

    #[test]
    fn lorentz_batch_matches_scalar_f64() {
        check_lorentz::<f64>(15.0, 16.0);
    }

    #[test]
    fn lorentz_batch_matches_scalar_f32() {
        check_lorentz::<f32>(5.0, 16.0);
    }

    /// Points in B^n with norms up to 1 − 1e-6 (dense near the boundary), nearby pairs, equal
    /// pairs, and opposite pairs.
    fn ball_pairs<T: Real>(n: usize, rows: usize, seed: u64) -> (Vec<T>, Vec<T>) {
        let mut g = ChaCha8Rng::seed_from_u64(seed);
        let (mut ps, mut qs) = (Vec::new(), Vec::new());
        let pt = |g: &mut ChaCha8Rng| -> (Vec<f64>, f64) {
            let dir: Vec<f64> = (0..n).map(|_| g.random::<f64>() - 0.5).collect();
            let nn = dir.iter().map(|a| a * a).sum::<f64>().sqrt();
            let r = if g.random::<bool>() {
                g.random::<f64>()
            } else {
                1.0 - 10f64.powf(-6.0 * g.random::<f64>())
            };
            (dir.iter().map(|a| a / nn * r).collect(), r)
        };
        for i in 0..rows {
            let (p, _) = pt(&mut g);
            let q: Vec<f64> = match i % 4 {
                0 => pt(&mut g).0,
                1 => {
                    let h = 10f64.powf(-10.0 + 7.0 * g.random::<f64>());
                    p.iter()
                        .map(|a| a * (1.0 - h * g.random::<f64>()))
                        .collect()
                }
                2 => p.clone(),
                _ => p.iter().map(|a| -a).collect(),
            };
            ps.extend(p.iter().map(|&a| T::c(a)));
            qs.extend(q.iter().map(|&a| T::c(a)));
        }
        // keep every point strictly inside (f32 rounding may land on the sphere)
        let m = PoincareBall::<T>::new(n).unwrap();
        for v in [&mut ps, &mut qs] {
            for row in v.chunks_mut(n) {
                if m.check_point(row).is_err() {
                    let c = row.to_vec();
                    m.project_point_into(&c, row);
                }
            }
        }
        (ps, qs)
    }

    fn check_ball<T: Real>(ulps: f64) {
        for n in [1usize, 2, 16] {
            let m = PoincareBall::<T>::new(n).unwrap();
            let d = n;
            for rows in [1usize, 63, 65, 1000] {
                let (ps, qs) = ball_pairs::<T>(n, rows, rows as u64 + 31 * n as u64);
                let mut a = vec![T::zero(); rows];
                let mut b = vec![T::zero(); rows];
                ball_dist(&m, &ps, &qs, &mut a);
                for i in 0..rows {
                    b[i] = m.dist(&ps[i * d..(i + 1) * d], &qs[i * d..(i + 1) * d]);
                }
                close(&a, &b, 1, ulps, "ball dist");
                let mut a = vec![T::zero(); rows * d];
                let mut b = vec![T::zero(); rows * d];
                ball_log(&m, &ps, &qs, &mut a);
                for i in 0..rows {
                    let r = i * d..(i + 1) * d;
                    m.log_into(&ps[r.clone()], &qs[r.clone()], &mut b[r]);
                }
                close(&a, &b, d, ulps, "ball log");
                // exp along the logs (long steps) and tiny / random vectors
                let mut g = ChaCha8Rng::seed_from_u64(9);
                let mut us = b.clone();
                for (i, row) in us.chunks_mut(d).enumerate() {
                    if i % 3 == 1 {
                        let s = T::c(10f64.powf(-12.0 + 12.0 * g.random::<f64>()));
                        for a in row.iter_mut() {
                            *a = s * T::standard_normal(&mut g);
                        }
                    }
                }
                ball_exp(&m, &ps, &us, &mut a);
                for i in 0..rows {
                    let r = i * d..(i + 1) * d;
                    m.exp_into(&ps[r.clone()], &us[r.clone()], &mut b[r]);
                }
                // p ⊕ w: β = 1 + 2p·w + ‖w‖² and D = 1 + 2p·w + ‖p‖²‖w‖² cancel for long
                // steps towards −p; both kernels round tanh differently, so scale by their
                // condition numbers.
                let cond: Vec<f64> = (0..rows)
                    .map(|i| {
                        let f = |v: &[T]| v.iter().map(|x| x.to_f64_lossless()).collect::<Vec<_>>();
                        let (p, u) = (f(&ps[i * d..(i + 1) * d]), f(&us[i * d..(i + 1) * d]));
                        let pp: f64 = p.iter().map(|x| x * x).sum();
                        let uu: f64 = u.iter().map(|x| x * x).sum();
                        let pu: f64 = p.iter().zip(&u).map(|(x, y)| x * y).sum();
                        let lam = 2.0 / (1.0 - pp);
                        let s = 0.5 * lam * uu.sqrt();
                        let k = 0.5 * lam * crate::numerics::tanh_over_x(s);
                        let (ab, bb) = (k * pu, k * k * uu);
                        let c1 = (1.0 + 2.0 * ab.abs() + bb) / (1.0 + 2.0 * ab + bb).abs();
                        let c2 =
                            (1.0 + 2.0 * ab.abs() + pp * bb) / (1.0 + 2.0 * ab + pp * bb).abs();
                        // numerator (βp + γku)/D cancels when the step ends near the origin
                        let (beta, den) = (1.0 + 2.0 * ab + bb, 1.0 + 2.0 * ab + pp * bb);
                        let g = (1.0 - pp) * k;
                        let terms = p
                            .iter()
                            .zip(&u)
                            .map(|(x, y)| (beta * x).abs() + (g * y).abs())
                            .fold(0.0, f64::max)
                            / den.abs();
                        let out = p
                            .iter()
                            .zip(&u)
                            .map(|(x, y)| ((beta * x + g * y) / den).abs())
                            .fold(f64::MIN_POSITIVE, f64::max);
                        (c1 + c2) * (terms / out).max(1.0)
                    })
                    .collect();
                close_cond(&a, &b, d, ulps, &cond, "ball exp");
                check_ball_more(&m, &ps, &qs, &us, ulps);
            }
        }
        let m = PoincareBall::<T>::new(3).unwrap();
        let mut g = ChaCha8Rng::seed_from_u64(1);
        let mut z = vec![T::zero(); 3];
        m.sample_base_into(&mut g, &mut z);
    }

    #[test]
    fn ball_batch_matches_scalar_f64() {
        check_ball::<f64>(16.0);
    }

    #[test]
    fn ball_batch_matches_scalar_f32() {
        check_ball::<f32>(16.0);
    }
}
