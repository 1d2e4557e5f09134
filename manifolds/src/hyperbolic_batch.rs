//! Fast batched kernels of [`Lorentz`] and [`PoincareBall`] (three-pass, see [`crate::vmath`]).
//!
//! Rows are processed in blocks of [`BLOCK`]: pass 1 computes the per-row sums (norms, dots) a
//! row at a time, then the scalars derived from them (square roots, quotients, and the
//! transcendentals of [`crate::vmath`]) are evaluated in loops over the block that LLVM
//! vectorises, and the last pass writes the outputs. The formulas are those of the scalar
//! kernels, term for term:
//!
//! * **Lorentz.** The chord and the tangent norm take their plain (uncompensated) forms; rows
//!   that the scalar kernels would send to a compensated double-word branch (nearly parallel or
//!   radially separated far points, nearly radial tangent vectors with $x_0 > 4$, see
//!   [`COMPENSATE_ABOVE`]) are flagged in pass 1 and recomputed by the scalar kernel after the
//!   block, so their accuracy is the scalar kernel's.
//! * **Poincaré ball.** $a_p = 1 - \lVert p\rVert^2$ is computed with an error-free
//!   compensated sum (Ogita–Rump–Oishi `Sum2` of the exact squares): accurate to a few ulps of
//!   itself up to the boundary, like [`one_minus_norm2`](crate::poincare::one_minus_norm2), at
//!   a third of its cost. The boundary needs no other special branch.
//!
//! Results agree with the row-wise scalar kernels to a few ulps (tests below, on random and hard
//! inputs, in both precisions).

use crate::batch;
use crate::lorentz::COMPENSATE_ABOVE;
use crate::numerics::SINHC_CUTOFF;
use crate::poincare::K_PRIME_CUTOFF;
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

/// Per-row chord quantities of a block (see `lorentz::chord`).
struct ChordBlock<T> {
    c2: [T; BLOCK],
    x0: [T; BLOCK],
    y0: [T; BLOCK],
    e: [T; BLOCK],
    /// The row needs a compensated branch: recompute it with the scalar kernel.
    flag: [bool; BLOCK],
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
        let (mut sxx, mut syy, mut sdd, mut sss, mut sds) = (z, z, z, z, z);
        for (&a, &b) in xb.iter().zip(yb) {
            let dl = a - b;
            let s = a + b;
            sxx = a.madd(a, sxx);
            syy = b.madd(b, syy);
            sdd = dl.madd(dl, sdd);
            sss = s.madd(s, sss);
            sds = dl.madd(s, sds);
        }
        (xx[i], yy[i], dd[i], ss[i], ds[i]) = (sxx, syy, sdd, sss, sds);
    }
    let mut out = ChordBlock {
        c2: [z; BLOCK],
        x0: [z; BLOCK],
        y0: [z; BLOCK],
        e: [z; BLOCK],
        flag: [false; BLOCK],
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
        (angle[i], perp[i]) = (an, pe);
    }
    let q = T::c(0.25);
    let (cx, cs) = (
        T::c(COMPENSATE_ABOVE * COMPENSATE_ABOVE),
        T::c(2.0 * COMPENSATE_ABOVE),
    );
    for i in 0..nb {
        let both = (nx[i] > z) & (ny[i] > z);
        let (x0, y0) = (out.x0[i], out.y0[i]);
        let sigma = x0 + y0;
        let far_par = both & (angle[i] < q) & (x0 * y0 > cx);
        let far_rad = (perp[i] < q * dd[i]) & (sigma > cs);
        let deg = ss[i] == z;
        out.flag[i] = !deg & (far_par | far_rad);
        let an = sel(both, angle[i], z);
        let gap =
            one / (x0 + nx[i]) + one / (y0 + ny[i]) + nx[i] * ny[i] * an / (nx[i] + ny[i] + ns[i]);
        let t = gap * (sigma + ns[i]);
        let c2 = perp[i] + (ds[i] * k[i]) * (t / (sigma * sigma));
        out.c2[i] = sel(deg, dd[i], c2);
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
        for i in 0..nb {
            if ch.flag[i] {
                let r = (i0 + i) * d..(i0 + i + 1) * d;
                o[i] = m.dist(&xs[r.clone()], &ys[r]);
            }
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
            let dist = T::c(2.0) * vmath::asinh(T::c(0.5) * ch.c2[i].sqrt());
            f[i] = vmath::x_over_sinh(dist);
        }
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            let (x, y, or) = (&xs[r.clone()], &ys[r], &mut o[i * d..(i + 1) * d]);
            if ch.flag[i] {
                m.log_into(x, y, or);
                continue;
            }
            let (fi, h) = (f[i], T::c(0.5) * ch.c2[i]);
            or[0] = fi * (-ch.e[i] - h * ch.x0[i]);
            for ((o, &a), &b) in or[1..].iter_mut().zip(&x[1..]).zip(&y[1..]) {
                *o = fi * ((b - a) - h * a);
            }
        }
    });
}

/// Batched [`Lorentz::exp_into`](Manifold::exp_into).
pub(crate) fn lorentz_exp<T: Real>(m: &Lorentz<T>, xs: &[T], us: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    blocks(out, d, xs.len() * 2 + out.len(), |i0, nb, o| {
        let z = T::zero();
        let (mut aa, mut kk, mut uu) = ([z; BLOCK], [z; BLOCK], [z; BLOCK]);
        let row = |i: usize| (i0 + i) * d + 1..(i0 + i + 1) * d;
        for i in 0..nb {
            let (xb, ub) = (&xs[row(i)], &us[row(i)]);
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
        let mut perp = [z; BLOCK];
        for i in 0..nb {
            let (xb, ub) = (&xs[row(i)], &us[row(i)]);
            let mut p = z;
            for (&x, &u) in xb.iter().zip(ub) {
                let r = u - ka[i] * x;
                p = r.madd(r, p);
            }
            perp[i] = p;
        }
        let (mut c, mut s, mut flag) = ([z; BLOCK], [z; BLOCK], [false; BLOCK]);
        let cx = T::c(COMPENSATE_ABOVE * COMPENSATE_ABOVE);
        for i in 0..nb {
            let x02 = T::one() + aa[i];
            let deg = aa[i] == z;
            flag[i] = !deg & (perp[i] < T::c(0.25) * uu[i]) & (x02 > cx);
            let m2 = sel(deg, uu[i], perp[i] + kk[i] * kk[i] / (aa[i] * x02));
            let th = m2.sqrt();
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
        for i in 0..nb {
            if flag[i] {
                let r = (i0 + i) * d..(i0 + i + 1) * d;
                m.exp_into(&xs[r.clone()], &us[r], &mut o[i * d..(i + 1) * d]);
            }
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

/// Batched [`PoincareBall::exp_into`](Manifold::exp_into): $p \oplus w$,
/// $w = \frac{\lambda_p}{2}\frac{\tanh s}{s}u$.
pub(crate) fn ball_exp<T: Real>(m: &PoincareBall<T>, ps: &[T], us: &[T], out: &mut [T]) {
    let d = m.ambient_dim();
    blocks(out, d, ps.len() * 2 + out.len(), |i0, nb, o| {
        let z = T::zero();
        let (mut ap, mut pp, mut pu, mut uu) = ([z; BLOCK], [z; BLOCK], [z; BLOCK], [z; BLOCK]);
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            let (p, u) = (&ps[r.clone()], &us[r]);
            ap[i] = one_minus_norm2_fast(p);
            let (mut a, mut b, mut c) = (z, z, z);
            for (&x, &v) in p.iter().zip(u) {
                a = x.madd(x, a);
                b = x.madd(v, b);
                c = v.madd(v, c);
            }
            (pp[i], pu[i], uu[i]) = (a, b, c);
        }
        let (mut cb, mut cg, mut rd) = ([z; BLOCK], [z; BLOCK], [z; BLOCK]);
        let two = T::c(2.0);
        for i in 0..nb {
            let lam = two / ap[i];
            let s = T::c(0.5) * lam * uu[i].sqrt();
            let k = T::c(0.5) * lam * vmath::tanh_over_x(s);
            let ab = k * pu[i];
            let bb = k * k * uu[i];
            cb[i] = T::one() + two * ab + bb;
            rd[i] = T::one() + two * ab + pp[i] * bb;
            cg[i] = ap[i] * k;
        }
        for i in 0..nb {
            let r = (i0 + i) * d..(i0 + i + 1) * d;
            let (p, u) = (&ps[r.clone()], &us[r]);
            let (b, g, den) = (cb[i], cg[i], rd[i]);
            for ((o, &p), &u) in o[i * d..(i + 1) * d].iter_mut().zip(p).zip(u) {
                *o = (b * p + g * u) / den;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sample;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `|a - b| <= tol * scale` entrywise, with `scale` the row's ambient magnitude.
    fn close<T: Real>(a: &[T], b: &[T], d: usize, ulps: f64, what: &str) {
        close_cond(a, b, d, ulps, &vec![1.0; a.len() / d], what);
    }

    /// [`close`] with the tolerance of row `i` multiplied by `cond[i]` (the condition number of
    /// the formula both kernels evaluate, when their elementary functions round differently).
    fn close_cond<T: Real>(a: &[T], b: &[T], d: usize, ulps: f64, cond: &[f64], what: &str) {
        let eps = T::epsilon().to_f64_lossless();
        for (i, (ra, rb)) in a.chunks(d).zip(b.chunks(d)).enumerate() {
            let ulps = ulps * cond[i];
            let scale = rb
                .iter()
                .map(|x| x.to_f64_lossless().abs())
                .fold(0.0, f64::max)
                .max(f64::MIN_POSITIVE);
            for (x, y) in ra.iter().zip(rb) {
                let (x, y) = (x.to_f64_lossless(), y.to_f64_lossless());
                assert!(
                    x == y || (x - y).abs() <= ulps * eps * scale,
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
            }
        }
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
