//! Batched kernels of [`Simplex`](crate::Simplex): the three-pass scheme of
//! [`vmath`].
//!
//! Rows are processed in blocks of [`BLOCK`]: pass 1 reduces each row to its scalars (the
//! squared chord and anti-chord $C^2$, $A^2$ of `dist`/`log`/`geodesic`, or $\theta^2$ of `exp`)
//! into stack arrays; pass 2 applies vmath's branch-free `atan2`, `cos`, `sin`, `sinc`,
//! `x_over_sin` over the block; pass 3 writes the coordinates. Rows of 2–5 coordinates run with
//! the width fixed at compile time (the row loop then vectorises across rows); rows of 16 or
//! more sum in 8 interleaved partial sums (vectorised).
//!
//! Square roots and divisions dominate (f64 `vsqrtpd` costs about twice a division), so `log`,
//! `geodesic` and the velocity use **one root per coordinate**, $s = \sqrt{pq}$: $(\sqrt p +
//! \sqrt q)^2 = p + q + 2s = e^2$, $(\sqrt q - \sqrt p)^2 = (q - p)^2/e^2$, $\sqrt p(\sqrt q -
//! \sqrt p) = (q - p)(p + s)/e^2$, and for $a, b \ge 0$ the squared slerp $(a\sqrt p +
//! b\sqrt q)^2 = a^2p + b^2q + 2abs$; every one a sum of non-negative terms or the exact
//! difference $q - p$ times positive factors, so there is no cancellation (points $10^{-10}$ apart
//! keep full relative accuracy, like the scalar $(q - p)/(\sqrt q + \sqrt p)$). Pass 1 leaves
//! $s$ (or the log numerator) in the output block for pass 3. The rare rows where this does not
//! hold are flagged in pass 1/2 and redone after the block with the scalar kernels' two-root
//! formulas (a rare-path fixup): a product $pq$ that underflows (below `MIN_POSITIVE / ε` with
//! $p, q > 0$) and, for the geodesic and its velocity, $t \notin \lbrack 0, 1 \rbrack$ (then $a$
//! or $b$ is negative). `exp` gets $\theta^2 = \sum_i v_i^2/(4p_i)$ without a root. Faces and
//! zero coordinates follow the scalar kernels' conventions through selects (`sqrt0`,
//! `recip0`), so they need no special path.
//!
//! Accuracy: the inline tests compare every override with the row-wise scalar kernel in both
//! dtypes, on random points, faces, vertices, points $10^{-10}$ apart and equal, tangent norms
//! $10^{-12}\dots 1$, $t \in \lbrack -0.2, 1.2 \rbrack$, $K = 2 \dots 64$ and batch sizes 1, 63,
//! 65, 1000: within 64 ulps of the row's largest entry (`dist`: 16 ulps relative), plus a
//! 16-ulp absolute floor where the exact value is 0 by cancellation (log at a vertex, the
//! velocity at a vertex, transport into a vertex), where both kernels return rounding noise.
//! The f32 envelope of the module docs of [`Simplex`](crate::Simplex) therefore carries over.

use crate::batch;
use crate::vmath::{self, BLOCK};
use crate::Real;

/// $\sqrt{\max(p, 0)}$ (as `simplex.rs`).
#[inline(always)]
fn sqrt0<T: Real>(p: T) -> T {
    p.max(T::zero()).sqrt()
}

/// $1/x$ for $x > 0$, else 0, as a select.
#[inline(always)]
fn recip0<T: Real>(x: T) -> T {
    let r = T::one() / x;
    if x > T::zero() {
        r
    } else {
        T::zero()
    }
}

/// $(\sqrt q - \sqrt p,\ \sqrt q + \sqrt p)$ with the difference as $(q - p)/(\sqrt q + \sqrt p)$
/// (0 where both vanish), branch-free; also returns $\sqrt p$, $\sqrt q$.
#[inline(always)]
fn diff_sum<T: Real>(p: T, q: T) -> (T, T, T, T) {
    let (x, z) = (sqrt0(p), sqrt0(q));
    let s = x + z;
    let d = (q.max(T::zero()) - p.max(T::zero())) / s;
    let d = if s > T::zero() { d } else { T::zero() };
    (d, s, x, z)
}

/// Per-row sums of two per-coordinate quantities `f(a_k, b_k, c_k) = (u, v)`:
/// `s1[i] = Σ u`, `s2[i] = Σ v`. Rows shorter than 16 are summed left to right with fused
/// multiply–adds by the caller's `f` convention (the scalar kernels' order); longer rows in 8
/// interleaved partial sums (vectorised).
#[inline(always)]
fn reduce2<T: Real, F>(a: &[T], b: &[T], c: &[T], d: usize, s1: &mut [T], s2: &mut [T], f: F)
where
    F: Fn(T, T, T, T, T) -> (T, T),
{
    #[inline(always)]
    fn fixed<T: Real, F, const N: usize>(
        a: &[T],
        b: &[T],
        c: &[T],
        s1: &mut [T],
        s2: &mut [T],
        f: &F,
    ) where
        F: Fn(T, T, T, T, T) -> (T, T),
    {
        for ((((s1, s2), a), b), c) in s1
            .iter_mut()
            .zip(s2.iter_mut())
            .zip(a.chunks_exact(N))
            .zip(b.chunks_exact(N))
            .zip(c.chunks_exact(N))
        {
            let (mut u, mut v) = (T::zero(), T::zero());
            for k in 0..N {
                (u, v) = f(a[k], b[k], c[k], u, v);
            }
            *s1 = u;
            *s2 = v;
        }
    }
    match d {
        2 => fixed::<T, F, 2>(a, b, c, s1, s2, &f),
        3 => fixed::<T, F, 3>(a, b, c, s1, s2, &f),
        4 => fixed::<T, F, 4>(a, b, c, s1, s2, &f),
        5 => fixed::<T, F, 5>(a, b, c, s1, s2, &f),
        _ if d < 16 => {
            for ((((s1, s2), a), b), c) in s1
                .iter_mut()
                .zip(s2.iter_mut())
                .zip(a.chunks_exact(d))
                .zip(b.chunks_exact(d))
                .zip(c.chunks_exact(d))
            {
                let (mut u, mut v) = (T::zero(), T::zero());
                for k in 0..d {
                    (u, v) = f(a[k], b[k], c[k], u, v);
                }
                *s1 = u;
                *s2 = v;
            }
        }
        _ => {
            const L: usize = 8;
            let m = d / L * L;
            for ((((s1, s2), a), b), c) in s1
                .iter_mut()
                .zip(s2.iter_mut())
                .zip(a.chunks_exact(d))
                .zip(b.chunks_exact(d))
                .zip(c.chunks_exact(d))
            {
                let (mut u, mut v) = ([T::zero(); L], [T::zero(); L]);
                for ((a, b), c) in a[..m]
                    .chunks_exact(L)
                    .zip(b[..m].chunks_exact(L))
                    .zip(c[..m].chunks_exact(L))
                {
                    for j in 0..L {
                        (u[j], v[j]) = f(a[j], b[j], c[j], u[j], v[j]);
                    }
                }
                for j in m..d {
                    (u[0], v[0]) = f(a[j], b[j], c[j], u[0], v[0]);
                }
                let h =
                    |x: [T; L]| ((x[0] + x[4]) + (x[2] + x[6])) + ((x[1] + x[5]) + (x[3] + x[7]));
                *s1 = h(u);
                *s2 = h(v);
            }
        }
    }
}

/// $(C^2, A^2)$ per row, accumulated as in `simplex::chord_anti`.
///
/// Rows of [`FLAT_MAX`] or more coordinates use one square root per coordinate instead of two:
/// with $s = \sqrt{pq}$, $(\sqrt p + \sqrt q)^2 = p + q + 2s$ and $(\sqrt q - \sqrt p)^2 = (q -
/// p)^2 / (p + q + 2s)$, all terms non-negative (no cancellation). Where $pq$ is below
/// [`tiny_pq`] with $p, q > 0$ (underflow of the product) the row is recomputed with the
/// two-root form and `tiny[i]` is set, so that pass 3 can use the same rule.
#[inline(always)]
fn chord_anti_rows<T: Real>(
    p: &[T],
    q: &[T],
    d: usize,
    c2: &mut [T],
    a2: &mut [T],
    tiny: &mut [bool],
) {
    let exact = |p: T, q: T, _: T, c: T, a: T| {
        let (dd, e, _, _) = diff_sum(p, q);
        (dd.madd(dd, c), e.madd(e, a))
    };
    if d < FLAT_MAX {
        reduce2(p, q, q, d, c2, a2, exact);
        return;
    }
    const L: usize = 8;
    let m = d / L * L;
    let lim = tiny_pq::<T>();
    // The smallest product p_i q_i over the coordinates where both are positive, tracked in
    // float lanes (a bool flag would stop the loop from vectorising).
    let term = |p: T, q: T, c: T, a: T, t: T| {
        let (pm, qm) = (p.max(T::zero()), q.max(T::zero()));
        let pq = pm * qm;
        let e2 = pm + qm + T::c(2.0) * pq.sqrt();
        let dq = qm - pm;
        let r = dq * dq / e2;
        let r = if e2 > T::zero() { r } else { T::zero() };
        let both = pm > T::zero() && qm > T::zero();
        (c + r, a + e2, t.min(if both { pq } else { T::infinity() }))
    };
    for ((((c2, a2), tiny), p), q) in c2
        .iter_mut()
        .zip(a2.iter_mut())
        .zip(tiny.iter_mut())
        .zip(p.chunks_exact(d))
        .zip(q.chunks_exact(d))
    {
        let (mut u, mut v, mut t) = ([T::zero(); L], [T::zero(); L], [T::infinity(); L]);
        for (p, q) in p[..m].chunks_exact(L).zip(q[..m].chunks_exact(L)) {
            for j in 0..L {
                (u[j], v[j], t[j]) = term(p[j], q[j], u[j], v[j], t[j]);
            }
        }
        for j in m..d {
            (u[0], v[0], t[0]) = term(p[j], q[j], u[0], v[0], t[0]);
        }
        let h = |x: [T; L]| ((x[0] + x[4]) + (x[2] + x[6])) + ((x[1] + x[5]) + (x[3] + x[7]));
        *tiny = t.iter().any(|&t| t < lim);
        if *tiny {
            let (c, a) = (core::slice::from_mut(c2), core::slice::from_mut(a2));
            reduce2(p, q, q, d, c, a, exact);
        } else {
            *c2 = h(u);
            *a2 = h(v);
        }
    }
}

/// Wide rows only (`d ≥ FLAT_MAX`): [`chord_anti_rows`] that also stores a per-coordinate
/// quantity into the output block `out` (used as scratch by pass 3): with $s = \sqrt{pq}$ and
/// $e^2 = p + q + 2s$, `STORE = 0` stores $\sqrt p(\sqrt q - \sqrt p) = (q - p)(p + s)/e^2$
/// (for `log`), `STORE = 1` stores $s$ (for `geodesic` and the velocity). One root and one
/// division per coordinate. Rows flagged `tiny` are recomputed exactly and leave `out` to the
/// caller.
#[inline(always)]
fn chord_anti_store<T: Real, const STORE: u8>(
    p: &[T],
    q: &[T],
    d: usize,
    c2: &mut [T],
    a2: &mut [T],
    tiny: &mut [bool],
    out: &mut [T],
) {
    let exact = |p: T, q: T, _: T, c: T, a: T| {
        let (dd, e, _, _) = diff_sum(p, q);
        (dd.madd(dd, c), e.madd(e, a))
    };
    #[inline(always)]
    fn fixed<T: Real, const N: usize>(
        p: &[T],
        q: &[T],
        c2: &mut [T],
        a2: &mut [T],
        tiny: &mut [bool],
        out: &mut [T],
        term: &impl Fn(T, T, T, T, T) -> (T, T, T, T),
    ) {
        let lim = tiny_pq::<T>();
        for (((((c2, a2), tiny), p), q), o) in c2
            .iter_mut()
            .zip(a2.iter_mut())
            .zip(tiny.iter_mut())
            .zip(p.chunks_exact(N))
            .zip(q.chunks_exact(N))
            .zip(out.chunks_exact_mut(N))
        {
            let (mut c, mut a, mut t) = (T::zero(), T::zero(), T::infinity());
            for k in 0..N {
                (c, a, t, o[k]) = term(p[k], q[k], c, a, t);
            }
            (*c2, *a2, *tiny) = (c, a, t < lim);
        }
    }
    let term = |p: T, q: T, c: T, a: T, t: T| {
        let (pm, qm) = (p.max(T::zero()), q.max(T::zero()));
        let pq = pm * qm;
        let s = pq.sqrt();
        let e2 = pm + qm + T::c(2.0) * s;
        let dq = qm - pm;
        let inv = T::one() / e2;
        let inv = if e2 > T::zero() { inv } else { T::zero() };
        let r = dq * dq * inv;
        let both = pm > T::zero() && qm > T::zero();
        let st = if STORE == 0 { dq * (pm + s) * inv } else { s };
        (
            c + r,
            a + e2,
            t.min(if both { pq } else { T::infinity() }),
            st,
        )
    };
    match d {
        2 => fixed::<T, 2>(p, q, c2, a2, tiny, out, &term),
        3 => fixed::<T, 3>(p, q, c2, a2, tiny, out, &term),
        4 => fixed::<T, 4>(p, q, c2, a2, tiny, out, &term),
        5 => fixed::<T, 5>(p, q, c2, a2, tiny, out, &term),
        _ => {}
    }
    if (2..=5).contains(&d) {
        // Rare rows with underflowing products: exact sums (pass 3 redoes them too).
        for (((c2, a2), &tiny), (p, q)) in c2
            .iter_mut()
            .zip(a2.iter_mut())
            .zip(tiny.iter())
            .zip(p.chunks_exact(d).zip(q.chunks_exact(d)))
        {
            if tiny {
                let (c, a) = (core::slice::from_mut(c2), core::slice::from_mut(a2));
                reduce2(p, q, q, d, c, a, exact);
            }
        }
        return;
    }
    const L: usize = 8;
    let m = d / L * L;
    let lim = tiny_pq::<T>();
    for (((((c2, a2), tiny), p), q), o) in c2
        .iter_mut()
        .zip(a2.iter_mut())
        .zip(tiny.iter_mut())
        .zip(p.chunks_exact(d))
        .zip(q.chunks_exact(d))
        .zip(out.chunks_exact_mut(d))
    {
        let (mut u, mut v, mut t) = ([T::zero(); L], [T::zero(); L], [T::infinity(); L]);
        for ((p, q), o) in p[..m]
            .chunks_exact(L)
            .zip(q[..m].chunks_exact(L))
            .zip(o[..m].chunks_exact_mut(L))
        {
            for j in 0..L {
                (u[j], v[j], t[j], o[j]) = term(p[j], q[j], u[j], v[j], t[j]);
            }
        }
        for j in m..d {
            (u[0], v[0], t[0], o[j]) = term(p[j], q[j], u[0], v[0], t[0]);
        }
        let h = |x: [T; L]| ((x[0] + x[4]) + (x[2] + x[6])) + ((x[1] + x[5]) + (x[3] + x[7]));
        *tiny = t.iter().any(|&t| t < lim);
        if *tiny {
            let (c, a) = (core::slice::from_mut(c2), core::slice::from_mut(a2));
            reduce2(p, q, q, d, c, a, exact);
        } else {
            *c2 = h(u);
            *a2 = h(v);
        }
    }
}

/// Products $pq$ below this (with $p, q > 0$) may have lost bits to underflow: the wide-row
/// one-root forms are not used for that row (`MIN_POSITIVE / ε`).
#[inline(always)]
fn tiny_pq<T: Real>() -> T {
    T::min_positive_value() / T::epsilon()
}

/// Rows narrower than this run pass 3 over the flat block with the row scalars broadcast per
/// coordinate (a loop over 2–15 coordinates per row does not vectorise well); wider rows loop
/// over their coordinates.
const FLAT_MAX: usize = 16;

/// Pass 3: `out[i, k] = f(a[i, k], b[i, k], c[i, k], out[i, k], [s_0[i], …, s_{M-1}[i]])` over a block of
/// `out.len() / d` rows.
#[inline(always)]
fn pass3<T: Real, const M: usize>(
    a: &[T],
    b: &[T],
    c: &[T],
    d: usize,
    s: [&[T]; M],
    out: &mut [T],
    f: impl Fn(T, T, T, T, [T; M]) -> T,
) {
    #[inline(always)]
    fn fixed<T: Real, const M: usize, const N: usize>(
        a: &[T],
        b: &[T],
        c: &[T],
        s: [&[T]; M],
        out: &mut [T],
        f: &impl Fn(T, T, T, T, [T; M]) -> T,
    ) {
        for (i, (((o, a), b), c)) in out
            .chunks_exact_mut(N)
            .zip(a.chunks_exact(N))
            .zip(b.chunks_exact(N))
            .zip(c.chunks_exact(N))
            .enumerate()
        {
            let mut si = [T::zero(); M];
            for m in 0..M {
                si[m] = s[m][i];
            }
            for k in 0..N {
                o[k] = f(a[k], b[k], c[k], o[k], si);
            }
        }
    }
    if d < FLAT_MAX {
        match d {
            2 => return fixed::<T, M, 2>(a, b, c, s, out, &f),
            3 => return fixed::<T, M, 3>(a, b, c, s, out, &f),
            4 => return fixed::<T, M, 4>(a, b, c, s, out, &f),
            5 => return fixed::<T, M, 5>(a, b, c, s, out, &f),
            _ => {}
        }
        let n = out.len() / d;
        let mut buf = [[T::zero(); BLOCK * FLAT_MAX]; M];
        for (buf, s) in buf.iter_mut().zip(s) {
            for (row, &v) in buf[..n * d].chunks_exact_mut(d).zip(&s[..n]) {
                row.fill(v);
            }
        }
        for (j, (((o, &a), &b), &c)) in out.iter_mut().zip(a).zip(b).zip(c).enumerate() {
            let mut sj = [T::zero(); M];
            for m in 0..M {
                sj[m] = buf[m][j];
            }
            *o = f(a, b, c, *o, sj);
        }
    } else {
        for (i, (((o, a), b), c)) in out
            .chunks_exact_mut(d)
            .zip(a.chunks_exact(d))
            .zip(b.chunks_exact(d))
            .zip(c.chunks_exact(d))
            .enumerate()
        {
            let mut si = [T::zero(); M];
            for m in 0..M {
                si[m] = s[m][i];
            }
            for (((o, &a), &b), &c) in o.iter_mut().zip(a).zip(b).zip(c) {
                *o = f(a, b, c, *o, si);
            }
        }
    }
}

/// Runs `k(r0, rows, out_block)` over blocks of at most [`BLOCK`] rows of an op with output
/// width `d_out` (parallel over [`batch::for_blocks`] for large batches).
#[inline(always)]
fn blocks<T: Real>(
    out: &mut [T],
    d_out: usize,
    work: usize,
    k: impl Fn(usize, usize, &mut [T]) + Sync + Send,
) {
    batch::for_blocks(out, d_out, work, |r0, block| {
        for (j, ob) in block.chunks_mut(BLOCK * d_out).enumerate() {
            k(r0 + j * BLOCK, ob.len() / d_out, ob);
        }
    });
}

/// Fisher–Rao distance $4\operatorname{atan2}(C, A)$ per row.
pub(crate) fn dist<T: Real>(ps: &[T], qs: &[T], d: usize, ds: &mut [T]) {
    blocks(ds, 1, ps.len() * 2 + ds.len(), |r0, n, out| {
        let r = r0 * d..(r0 + n) * d;
        let (mut c2, mut a2) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
        let mut tiny = [false; BLOCK];
        chord_anti_rows(
            &ps[r.clone()],
            &qs[r],
            d,
            &mut c2[..n],
            &mut a2[..n],
            &mut tiny[..n],
        );
        for ((o, &c2), &a2) in out.iter_mut().zip(&c2[..n]).zip(&a2[..n]) {
            *o = T::c(4.0) * vmath::atan2(c2.sqrt(), a2.sqrt());
        }
    });
}

/// $\log_p q = 2\kappa\big(\sqrt p \odot (\sqrt q - \sqrt p) + \sigma p\big)$ per row.
pub(crate) fn log<T: Real>(ps: &[T], qs: &[T], d: usize, outs: &mut [T]) {
    blocks(outs, d, ps.len() * 2 + outs.len(), |r0, n, out| {
        let r = r0 * d..(r0 + n) * d;
        let (p, q) = (&ps[r.clone()], &qs[r]);
        let (mut c2, mut a2) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
        let mut tiny = [false; BLOCK];
        chord_anti_store::<T, 0>(p, q, d, &mut c2[..n], &mut a2[..n], &mut tiny[..n], out);
        let (k2, sigma) = (&mut c2, &mut a2);
        for (k2, sigma) in k2[..n].iter_mut().zip(sigma[..n].iter_mut()) {
            let (c2, a2) = (*k2, *sigma);
            let alpha = T::c(2.0) * vmath::atan2(c2.sqrt(), a2.sqrt());
            let r2 = c2 + a2;
            let s = T::c(2.0) * c2 / r2;
            *sigma = if r2 > T::zero() { s } else { T::zero() };
            *k2 = T::c(2.0) * vmath::x_over_sin(alpha);
        }
        // `out` holds √p (√q − √p) from pass 1.
        pass3(
            p,
            q,
            q,
            d,
            [&k2[..], &sigma[..]],
            out,
            |p, _, _, o, [k2, sigma]| k2 * sigma.madd(p, o),
        );
        fix_rows(p, q, d, &tiny[..n], out, |p, q, o, i| {
            for ((o, &p), &q) in o.iter_mut().zip(p).zip(q) {
                let (dd, _, x, _) = diff_sum(p, q);
                *o = k2[i] * x.madd(dd, sigma[i] * p);
            }
        });
    });
}

/// Rare-path fixup: `f(p_row, q_row, out_row, i)` on the rows with `flag[i]`.
#[inline(always)]
fn fix_rows<T: Real>(
    p: &[T],
    q: &[T],
    d: usize,
    flag: &[bool],
    out: &mut [T],
    f: impl Fn(&[T], &[T], &mut [T], usize),
) {
    if !flag.iter().any(|&f| f) {
        return;
    }
    for (i, ((o, p), q)) in out
        .chunks_exact_mut(d)
        .zip(p.chunks_exact(d))
        .zip(q.chunks_exact(d))
        .enumerate()
    {
        if flag[i] {
            f(p, q, o, i);
        }
    }
}

/// $\exp_p v = (\cos\theta\\,\sqrt p + \operatorname{sinc}\theta\\,v/(2\sqrt p))^{\odot 2}$ per row.
pub(crate) fn exp<T: Real>(ps: &[T], vs: &[T], d: usize, outs: &mut [T]) {
    blocks(outs, d, ps.len() * 2 + outs.len(), |r0, n, out| {
        let r = r0 * d..(r0 + n) * d;
        let (p, v) = (&ps[r.clone()], &vs[r]);
        let (mut cs, mut sn) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
        // θ² = Σ v²/(4p) (no root; 0 where p ≤ 0, the face convention).
        reduce2(p, v, v, d, &mut cs[..n], &mut sn[..n], |p, v, _, t2, z| {
            let w2 = T::c(0.25) * v * v / p;
            (t2 + if p > T::zero() { w2 } else { T::zero() }, z)
        });
        for (c, s) in cs[..n].iter_mut().zip(sn[..n].iter_mut()) {
            let theta = c.sqrt();
            *c = vmath::cos(theta);
            *s = vmath::sinc(theta);
        }
        pass3(p, v, v, d, [&cs[..], &sn[..]], out, |p, v, _, _, [c, s]| {
            let x = sqrt0(p);
            let y = c * x + s * (v * T::c(0.5) * recip0(x));
            y * y
        });
    });
}

/// Slerp coefficients of `simplex::geodesic_into` from $(C^2, A^2, t)$: $(\alpha, a, b)$.
#[inline(always)]
fn slerp<T: Real>(c2: T, a2: T, t: T) -> (T, T, T) {
    let alpha = T::c(2.0) * vmath::atan2(c2.sqrt(), a2.sqrt());
    let s = vmath::sinc(alpha);
    let ta = t * alpha;
    let a = (T::one() - t) * vmath::sinc(alpha - ta) / s;
    let b = t * vmath::sinc(ta) / s;
    (alpha, a, b)
}

/// The squared slerp per row.
pub(crate) fn geodesic<T: Real>(ps: &[T], qs: &[T], ts: &[T], d: usize, outs: &mut [T]) {
    blocks(outs, d, ps.len() * 2 + outs.len(), |r0, n, out| {
        let r = r0 * d..(r0 + n) * d;
        let (p, q) = (&ps[r.clone()], &qs[r]);
        let (mut ca, mut cb) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
        let mut tiny = [false; BLOCK];
        chord_anti_store::<T, 1>(p, q, d, &mut ca[..n], &mut cb[..n], &mut tiny[..n], out);
        for ((a, b), &t) in ca[..n]
            .iter_mut()
            .zip(cb[..n].iter_mut())
            .zip(&ts[r0..r0 + n])
        {
            (_, *a, *b) = slerp(*a, *b, t);
        }
        for ((f, &a), &b) in tiny[..n].iter_mut().zip(&ca[..n]).zip(&cb[..n]) {
            *f = *f || a < T::zero() || b < T::zero();
        }
        // With a, b ≥ 0 (t in [0, 1]): y² = a²p + b²q + 2ab√(pq), no cancellation; `out`
        // holds √(pq) from pass 1. Other rows (t outside [0, 1], underflowing products) are
        // redone with the two-root form.
        pass3(p, q, q, d, [&ca[..], &cb[..]], out, |p, q, _, s, [a, b]| {
            let (pm, qm) = (p.max(T::zero()), q.max(T::zero()));
            (a * a).madd(pm, (b * b).madd(qm, T::c(2.0) * a * b * s))
        });
        fix_rows(p, q, d, &tiny[..n], out, |p, q, o, i| {
            for ((o, &p), &q) in o.iter_mut().zip(p).zip(q) {
                let y = ca[i].madd(sqrt0(p), cb[i] * sqrt0(q));
                *o = y * y;
            }
        });
    });
}

/// The geodesic velocity $2y \odot \dot y$ per row (`simplex::geodesic_velocity_into`).
pub(crate) fn geodesic_velocity<T: Real>(ps: &[T], qs: &[T], ts: &[T], d: usize, outs: &mut [T]) {
    blocks(outs, d, ps.len() * 2 + outs.len(), |r0, n, out| {
        let r = r0 * d..(r0 + n) * d;
        let (p, q) = (&ps[r.clone()], &qs[r]);
        let (mut ca, mut cb) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
        let (mut cd, mut cx) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
        let mut tiny = [false; BLOCK];
        chord_anti_store::<T, 1>(p, q, d, &mut ca[..n], &mut cb[..n], &mut tiny[..n], out);
        let half = T::c(0.5);
        for ((((a, b), cd), cx), &t) in ca[..n]
            .iter_mut()
            .zip(cb[..n].iter_mut())
            .zip(cd[..n].iter_mut())
            .zip(cx[..n].iter_mut())
            .zip(&ts[r0..r0 + n])
        {
            let alpha;
            (alpha, *a, *b) = slerp(*a, *b, t);
            let kappa = vmath::x_over_sin(alpha);
            *cd = kappa * vmath::cos(t * alpha);
            *cx = -kappa * T::c(2.0) * vmath::sin(half * alpha) * vmath::sin((t - half) * alpha);
        }
        for ((f, &a), &b) in tiny[..n].iter_mut().zip(&ca[..n]).zip(&cb[..n]) {
            *f = *f || a < T::zero() || b < T::zero();
        }
        // With a, b ≥ 0, s = √(pq) (in `out` from pass 1) and e² = p + q + 2s:
        // y (√q − √p) = (q − p)(ap + (a + b)s + bq)/e², y √p = ap + bs. Other rows are redone
        // with the two-root form.
        let sc = [&ca[..], &cb[..], &cd[..], &cx[..]];
        pass3(p, q, q, d, sc, out, |p, q, _, s, [a, b, cd, cx]| {
            let (pm, qm) = (p.max(T::zero()), q.max(T::zero()));
            let e2 = pm + qm + T::c(2.0) * s;
            let yd = (qm - pm) * a.madd(pm, (a + b).madd(s, b * qm)) / e2;
            let yd = if e2 > T::zero() { yd } else { T::zero() };
            let yx = a.madd(pm, b * s);
            T::c(2.0) * cd.madd(yd, cx * yx)
        });
        fix_rows(p, q, d, &tiny[..n], out, |p, q, o, i| {
            for ((o, &p), &q) in o.iter_mut().zip(p).zip(q) {
                let (dd, _, x, z) = diff_sum(p, q);
                let y = ca[i].madd(x, cb[i] * z);
                let ydot = cd[i].madd(dd, cx[i] * x);
                *o = T::c(2.0) * y * ydot;
            }
        });
    });
}

/// Parallel transport $2\sqrt q \odot (w - k(\sqrt p + \sqrt q))$, $w = v/(2\sqrt p)$,
/// $k = \langle \sqrt q, w\rangle / (1 + \langle \sqrt p, \sqrt q\rangle)$ per row.
pub(crate) fn transport<T: Real>(ps: &[T], qs: &[T], vs: &[T], d: usize, outs: &mut [T]) {
    blocks(outs, d, ps.len() * 3 + outs.len(), |r0, n, out| {
        let r = r0 * d..(r0 + n) * d;
        let (p, q, v) = (&ps[r.clone()], &qs[r.clone()], &vs[r]);
        let (mut zw, mut xz) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
        reduce2(p, q, v, d, &mut zw[..n], &mut xz[..n], |p, q, v, zw, xz| {
            let (x, z) = (sqrt0(p), sqrt0(q));
            (z.madd(v * T::c(0.5) * recip0(x), zw), x.madd(z, xz))
        });
        for (zw, &xz) in zw[..n].iter_mut().zip(&xz[..n]) {
            *zw /= T::one() + xz;
        }
        pass3(p, q, v, d, [&zw[..]], out, |p, q, v, _, [k]| {
            let (x, z) = (sqrt0(p), sqrt0(q));
            let w = v * T::c(0.5) * recip0(x);
            T::c(2.0) * z * (-k).madd(x + z, w)
        });
    });
}

/// $\sum_i u_i v_i / p_i$ per row (a zero or negative $p_i$ contributes 0 when $u_iv_i = 0$,
/// else $u_iv_i/0$, as `Simplex::inner`).
pub(crate) fn inner<T: Real>(ps: &[T], us: &[T], vs: &[T], d: usize, out: &mut [T]) {
    blocks(out, 1, ps.len() * 3 + out.len(), |r0, n, o| {
        let r = r0 * d..(r0 + n) * d;
        let mut junk = [T::zero(); BLOCK];
        reduce2(
            &ps[r.clone()],
            &us[r.clone()],
            &vs[r],
            d,
            o,
            &mut junk[..n],
            |p, u, v, s, j| {
                let uv = u * v;
                let inside = uv / p;
                let face = if uv != T::zero() {
                    uv / T::zero()
                } else {
                    T::zero()
                };
                (s + if p > T::zero() { inside } else { face }, j)
            },
        );
    });
}

/// `Simplex::project_point_into` per row: negative and NaN entries to 0, divided by the
/// largest entry, then by the sum (all-zero rows map to the uniform distribution). Narrow rows
/// are the scalar kernel's arithmetic; wide rows take the maximum and the sum in 8 lanes and
/// multiply by reciprocals.
pub(crate) fn project_point<T: Real>(xs: &[T], d: usize, outs: &mut [T]) {
    #[inline(always)]
    fn fixed<T: Real, const N: usize>(x: &[T], out: &mut [T]) {
        let u = T::one() / T::c(N as f64);
        for (o, x) in out.chunks_exact_mut(N).zip(x.chunks_exact(N)) {
            let mut m = T::zero();
            for k in 0..N {
                m = m.max(x[k]);
            }
            let mut s = T::zero();
            for k in 0..N {
                o[k] = x[k].max(T::zero()) / m;
                s += o[k];
            }
            for o in o.iter_mut() {
                let v = *o / s;
                *o = if m == T::zero() { u } else { v };
            }
        }
    }
    blocks(outs, d, xs.len() + outs.len(), |r0, n, out| {
        let x = &xs[r0 * d..(r0 + n) * d];
        match d {
            2 => return fixed::<T, 2>(x, out),
            3 => return fixed::<T, 3>(x, out),
            4 => return fixed::<T, 4>(x, out),
            5 => return fixed::<T, 5>(x, out),
            _ => {}
        }
        const L: usize = 8;
        let m8 = d / L * L;
        let u = T::one() / T::c(d as f64);
        let h = |x: [T; L]| ((x[0] + x[4]) + (x[2] + x[6])) + ((x[1] + x[5]) + (x[3] + x[7]));
        for (o, x) in out.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
            let mut mx = [T::zero(); L];
            for c in x[..m8].chunks_exact(L) {
                for j in 0..L {
                    mx[j] = mx[j].max(c[j]);
                }
            }
            let mut m = mx.iter().fold(T::zero(), |m, &a| m.max(a));
            for &a in &x[m8..] {
                m = m.max(a);
            }
            if m == T::zero() {
                o.iter_mut().for_each(|o| *o = u);
                continue;
            }
            // Multiplications by the reciprocals (one rounding more than the scalar kernel's
            // divisions, a few ulps in all; divisions would bound the loop).
            let rm = T::one() / m;
            let mut sl = [T::zero(); L];
            for (o, x) in o[..m8].chunks_exact_mut(L).zip(x[..m8].chunks_exact(L)) {
                for j in 0..L {
                    o[j] = x[j].max(T::zero()) * rm;
                    sl[j] += o[j];
                }
            }
            let mut s = h(sl);
            for (o, &x) in o[m8..].iter_mut().zip(&x[m8..]) {
                *o = x.max(T::zero()) * rm;
                s += *o;
            }
            let rs = T::one() / s;
            for o in o.iter_mut() {
                *o *= rs;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use crate::{Manifold, ParallelTransport, Real, Simplex};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// ‖batch − scalar‖∞ ≤ tol · ‖scalar‖∞ + floor per row.
    fn rows_close<T: Real>(a: &[T], b: &[T], d: usize, tol: f64, floor: f64, what: &str) {
        for (i, (a, b)) in a.chunks(d).zip(b.chunks(d)).enumerate() {
            let scale = b
                .iter()
                .fold(0.0f64, |m, &x| m.max(x.to_f64_lossless().abs()));
            let err = a.iter().zip(b).fold(0.0f64, |m, (&x, &y)| {
                m.max((x.to_f64_lossless() - y.to_f64_lossless()).abs())
            });
            assert!(
                err <= tol * scale + floor,
                "{what}: row {i}: err {err:e} > {tol:e} * {scale:e}\n batch  {a:?}\n scalar {b:?}"
            );
        }
    }

    /// A random point: Dirichlet-ish, with some rows on faces, near faces, at vertices.
    fn point(rng: &mut ChaCha8Rng, k: usize, kind: usize) -> Vec<f64> {
        let mut p: Vec<f64> = (0..k)
            .map(|_| -rng.random::<f64>().max(1e-300).ln())
            .collect();
        match kind % 6 {
            0 => p[0] = 0.0,
            1 => p[k - 1] *= 1e-9,
            2 => {
                p.iter_mut().for_each(|x| *x = 0.0);
                p[rng.random_range(0..k)] = 1.0;
            }
            _ => {}
        }
        let s: f64 = p.iter().sum();
        p.iter_mut().for_each(|x| *x /= s);
        p
    }

    fn check<T: Real>(k: usize, n: usize, rng: &mut ChaCha8Rng) {
        let m = Simplex::<T>::new(k - 1).unwrap();
        let mut ps = Vec::new();
        let mut qs = Vec::new();
        let mut vs = Vec::new();
        let mut us = Vec::new();
        let mut ts = Vec::new();
        for i in 0..n {
            let p = point(rng, k, i);
            // q: independent, or p moved by 1e-10 / 1e-4, or p itself.
            let q = match i % 5 {
                0 => p.clone(),
                1 => {
                    let mut q: Vec<f64> = p
                        .iter()
                        .map(|&x| x * (1.0 + 1e-10 * rng.random::<f64>()))
                        .collect();
                    let s: f64 = q.iter().sum();
                    q.iter_mut().for_each(|x| *x /= s);
                    q
                }
                2 => point(rng, k, i + 1),
                _ => point(rng, k, 3),
            };
            let pt: Vec<T> = p.iter().map(|&x| T::c(x)).collect();
            // Tangent vectors of norm 1e-12 … 1, zero where p is (the face convention).
            let scale = 10f64.powf(-12.0 * rng.random::<f64>());
            let mut v: Vec<f64> = p
                .iter()
                .map(|&x| {
                    if x > 0.0 {
                        rng.random_range(-1.0..1.0) * x.sqrt()
                    } else {
                        0.0
                    }
                })
                .collect();
            let vt: Vec<T> = v.iter().map(|&x| T::c(x)).collect();
            let mut vp = vec![T::zero(); k];
            m.project_tangent_into(&pt, &vt, &mut vp);
            let nv = m.norm(&pt, &vp).to_f64_lossless();
            if nv > 0.0 {
                v = vp
                    .iter()
                    .map(|&x| x.to_f64_lossless() * scale * 0.7 / nv)
                    .collect();
            }
            ps.extend(pt);
            qs.extend(q.iter().map(|&x| T::c(x)));
            vs.extend(v.iter().map(|&x| T::c(x)));
            us.extend((0..k).map(|j| {
                T::c(if p[j] > 0.0 {
                    rng.random_range(-1.0..1.0)
                } else {
                    0.0
                })
            }));
            ts.push(T::c(match i % 4 {
                0 => 0.0,
                1 => 1.0,
                _ => rng.random_range(-0.2..1.2),
            }));
        }
        let eps = T::epsilon().to_f64_lossless();
        let tol = 64.0 * eps;
        let row = |a: &[T], i: usize| a[i * k..(i + 1) * k].to_vec();
        let mut o = vec![T::zero(); n * k];
        let mut w = vec![T::zero(); n * k];
        let mut s = vec![T::zero(); n];
        let mut sw = vec![T::zero(); n];

        m.dist_batch_into(&ps, &qs, &mut s);
        for i in 0..n {
            sw[i] = m.dist(&row(&ps, i), &row(&qs, i));
        }
        rows_close(&s, &sw, 1, 16.0 * eps, 0.0, "dist");

        m.log_batch_into(&ps, &qs, &mut o);
        for i in 0..n {
            m.log_into(&row(&ps, i), &row(&qs, i), &mut w[i * k..(i + 1) * k]);
        }
        // At a vertex p the log is 0 by cancellation (x_j d_j + σ = 0): rounding noise there.
        rows_close(&o, &w, k, tol, 16.0 * eps, "log");

        m.exp_batch_into(&ps, &vs, &mut o);
        for i in 0..n {
            m.exp_into(&row(&ps, i), &row(&vs, i), &mut w[i * k..(i + 1) * k]);
        }
        rows_close(&o, &w, k, tol, 0.0, "exp");

        m.geodesic_batch_into(&ps, &qs, &ts, &mut o);
        for i in 0..n {
            m.geodesic_into(
                &row(&ps, i),
                &row(&qs, i),
                ts[i],
                &mut w[i * k..(i + 1) * k],
            );
        }
        rows_close(&o, &w, k, tol, 0.0, "geodesic");

        m.geodesic_velocity_batch_into(&ps, &qs, &ts, &mut o);
        for i in 0..n {
            m.geodesic_velocity_into(
                &row(&ps, i),
                &row(&qs, i),
                ts[i],
                &mut w[i * k..(i + 1) * k],
            );
        }
        // Where the velocity is 0 (p = q, a vertex), both kernels return rounding noise of the
        // unit-scale terms.
        rows_close(&o, &w, k, tol, 16.0 * eps, "geodesic_velocity");

        m.transport_batch_into(&ps, &qs, &vs, &mut o);
        for i in 0..n {
            m.transport_into(
                &row(&ps, i),
                &row(&qs, i),
                &row(&vs, i),
                &mut w[i * k..(i + 1) * k],
            );
        }
        // Transport into a vertex is 0 by cancellation: compare per row against the size of
        // the terms, Σ |v_i| √(q_i / p_i) (which bounds both parts of the formula).
        for i in 0..n {
            let (p, q, v) = (row(&ps, i), row(&qs, i), row(&vs, i));
            let mag: f64 = (0..k)
                .map(|j| {
                    let (p, q) = (p[j].to_f64_lossless(), q[j].to_f64_lossless().max(0.0));
                    if p > 0.0 {
                        v[j].to_f64_lossless().abs() * (q / p).sqrt()
                    } else {
                        0.0
                    }
                })
                .sum();
            let r = i * k..(i + 1) * k;
            rows_close(&o[r.clone()], &w[r], k, tol, 4.0 * tol * mag, "transport");
        }

        m.inner_batch_into(&ps, &us, &vs, &mut s);
        for i in 0..n {
            sw[i] = m.inner(&row(&ps, i), &row(&us, i), &row(&vs, i));
        }
        // Sums with cancellation: relative to the sum of the magnitudes of the terms.
        for i in 0..n {
            let (p, u, v) = (row(&ps, i), row(&us, i), row(&vs, i));
            let mag: f64 = (0..k)
                .map(|j| {
                    let p = p[j].to_f64_lossless();
                    if p > 0.0 {
                        (u[j].to_f64_lossless() * v[j].to_f64_lossless() / p).abs()
                    } else {
                        0.0
                    }
                })
                .sum();
            let err = (s[i].to_f64_lossless() - sw[i].to_f64_lossless()).abs();
            assert!(err <= tol * mag, "inner row {i}: {:?} vs {:?}", s[i], sw[i]);
        }
    }

    #[test]
    fn batches_match_the_scalar_kernels() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for &n in &[1, 63, 65, 1000] {
            for &k in &[2, 4, 5, 7, 17, 64] {
                check::<f64>(k, n, &mut rng);
                check::<f32>(k, n, &mut rng);
            }
        }
    }

    #[test]
    fn project_point_matches_the_scalar_kernel() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for &k in &[2usize, 4, 5, 7, 17, 64] {
            for &n in &[1usize, 63, 65, 1000] {
                let m = Simplex::<f64>::new(k - 1).unwrap();
                let xs: Vec<f64> = (0..n * k)
                    .map(|i| match (i / k) % 5 {
                        0 => 0.0,
                        1 => f64::NAN,
                        2 => -rng.random::<f64>(),
                        _ => rng.random_range(-0.2..1.0) * 1e300,
                    })
                    .collect();
                let mut o = vec![0.0; n * k];
                let mut w = vec![0.0; n * k];
                m.project_point_batch_into(&xs, &mut o);
                for i in 0..n {
                    m.project_point_into(&xs[i * k..(i + 1) * k], &mut w[i * k..(i + 1) * k]);
                }
                rows_close(&o, &w, k, 16.0 * f64::EPSILON, 0.0, "project_point");
                let x32: Vec<f32> = xs.iter().map(|&x| (x * 1e-290) as f32).collect();
                let m32 = Simplex::<f32>::new(k - 1).unwrap();
                let mut o32 = vec![0.0f32; n * k];
                let mut w32 = vec![0.0f32; n * k];
                m32.project_point_batch_into(&x32, &mut o32);
                for i in 0..n {
                    m32.project_point_into(&x32[i * k..(i + 1) * k], &mut w32[i * k..(i + 1) * k]);
                }
                rows_close(
                    &o32,
                    &w32,
                    k,
                    16.0 * f32::EPSILON as f64,
                    0.0,
                    "project_point f32",
                );
            }
        }
    }

    #[test]
    fn far_points_and_vertices() {
        // Distances at and near π (opposite vertices), in both dtypes.
        let m = Simplex::<f64>::new(3).unwrap();
        let ps = [
            1.0,
            0.0,
            0.0,
            0.0,
            0.5,
            0.5,
            0.0,
            0.0,
            1.0 - 1e-12,
            1e-12,
            0.0,
            0.0,
        ];
        let qs = [
            0.0,
            1.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.5,
            0.5,
            0.0,
            1e-12,
            1.0 - 1e-12,
            0.0,
        ];
        let mut ds = [0.0; 3];
        m.dist_batch_into(&ps, &qs, &mut ds);
        for i in 0..3 {
            let want = m.dist(&ps[4 * i..4 * i + 4], &qs[4 * i..4 * i + 4]);
            assert!(
                (ds[i] - want).abs() <= 4e-16 * want,
                "{i}: {} vs {want}",
                ds[i]
            );
        }
        assert!((ds[0] - core::f64::consts::PI).abs() < 1e-15);
        assert_eq!(crate::vmath::atan2(0.0f64, 0.0), 0.0);

        // Wide rows whose products p_i q_i underflow take the two-root path (`tiny`).
        let k = 64;
        let m = Simplex::<f64>::new(k - 1).unwrap();
        let mut p: Vec<f64> = (0..k)
            .map(|i| if i % 3 == 0 { 1e-170 } else { 1.0 + i as f64 })
            .collect();
        let mut q: Vec<f64> = (0..k)
            .map(|i| if i % 3 == 0 { 3e-170 } else { 2.0 + i as f64 })
            .collect();
        for x in [&mut p, &mut q] {
            let s: f64 = x.iter().sum();
            x.iter_mut().for_each(|v| *v /= s);
        }
        let mut o = vec![0.0; k];
        let mut w = vec![0.0; k];
        m.log_batch_into(&p, &q, &mut o);
        m.log_into(&p, &q, &mut w);
        for i in 0..k {
            assert!(
                (o[i] - w[i]).abs() <= 1e-14 * w[i].abs(),
                "log {i}: {} vs {}",
                o[i],
                w[i]
            );
        }
        m.geodesic_batch_into(&p, &q, &[0.3], &mut o);
        m.geodesic_into(&p, &q, 0.3, &mut w);
        for i in 0..k {
            let tol = 1e-14 * w[i].abs();
            assert!(
                (o[i] - w[i]).abs() <= tol,
                "geodesic {i}: {} vs {}",
                o[i],
                w[i]
            );
        }
        let v: Vec<f64> = p.iter().zip(&q).map(|(a, b)| a - b).collect();
        m.transport_batch_into(&p, &q, &v, &mut o);
        m.transport_into(&p, &q, &v, &mut w);
        rows_close(&o, &w, k, 1e-14, 0.0, "transport (tiny products)");
        m.geodesic_velocity_batch_into(&p, &q, &[0.3], &mut o);
        m.geodesic_velocity_into(&p, &q, 0.3, &mut w);
        for i in 0..k {
            let tol = 1e-14 * w[i].abs();
            assert!(
                (o[i] - w[i]).abs() <= tol,
                "velocity {i}: {} vs {}",
                o[i],
                w[i]
            );
        }
    }
}
