//! Optimal-transport couplings for minibatch flow matching: exact linear assignment,
//! log-domain Sinkhorn, and pairing of noise and data samples on a manifold.
//!
//! # The problem
//!
//! Given $x\_0^{(1)}, \dots, x\_0^{(n)}$ (noise) and $x\_1^{(1)}, \dots, x\_1^{(n)}$ (data) on
//! a manifold $M$ and the cost $C\_{ij} = d\_g\big(x\_0^{(i)}, x\_1^{(j)}\big)^2$, the OT plan
//! between the two uniform empirical measures solves
//! $$\pi^\star = \arg\min\_{\pi \in \Pi(\frac1n\mathbf 1, \frac1n\mathbf 1)} \sum\_{ij}
//! \pi\_{ij} C\_{ij},$$
//! a linear programme whose minimum is attained at a vertex of the feasible polytope, and every
//! vertex is a scaled permutation matrix $\pi\_{ij} = \frac1n \lbrack j = \sigma(i) \rbrack$
//! (Birkhoff–von Neumann), so the exact problem is the linear sum assignment
//! $\min\_\sigma \sum\_i C\_{i\sigma(i)}$ ([`assignment`]). For a product manifold
//! ([`Power`](geoflow_manifolds::Power), [`Product`](geoflow_manifolds::Product)) the squared
//! distance is the sum of the factors' squared distances, so passing
//! `Power<PositiveOrthant>` gives Fisher-Flow's cost
//! $\sum\_{\text{positions}} \arccos(\langle x\_0, x\_1\rangle)^2$.
//!
//! The entropic problem adds $\varepsilon\sum\_{ij}\pi\_{ij}\log\pi\_{ij}$; its solution is
//! $\pi\_{ij} = \exp\big((f\_i + g\_j - C\_{ij})/\varepsilon\big)$ with potentials from the
//! Sinkhorn iterations, run in the log domain ([`sinkhorn_log`]):
//! $$g\_j \leftarrow \varepsilon\log b\_j - \varepsilon\operatorname{LSE}\_i\big((f\_i - C\_{ij})
//! /\varepsilon\big), \qquad f\_i \leftarrow \varepsilon\log a\_i - \varepsilon
//! \operatorname{LSE}\_j\big((g\_j - C\_{ij})/\varepsilon\big).$$
//!
//! # Pairing ([`ot_pairs`])
//!
//! The Fisher-Flow code solves the exact problem (POT `emd`) and then draws $n$ index pairs
//! i.i.d. **with replacement** from the normalised plan. For an exact plan that is a permutation
//! this resampling only adds noise (some pairs appear twice, others not at all), so
//! [`OtMethod::Exact`] returns the optimal permutation itself, $(i, \sigma(i))$ for every $i$ —
//! the defensible reading of "sample from the plan" when the plan is a permutation. For
//! [`OtMethod::Sinkhorn`] the plan is diffuse, and $n$ pairs are drawn i.i.d. from it with the
//! caller's RNG (deterministic for a seeded generator), as the Fisher-Flow code does.
//! [`OtMethod::Auto`] is exact up to [`AUTO_EXACT_MAX`] points and Sinkhorn above.
//!
//! # Numerical notes
//!
//! - [`solve_assignment`] is the shortest augmenting path algorithm of Jonker–Volgenant in the
//!   form of Crouse (2016)[^crouse] that SciPy's `linear_sum_assignment` uses: one Dijkstra-like
//!   search per row over reduced costs, dual updates, $O(n^3)$ worst case. It works in f64 on
//!   any finite costs (no integrality, no scaling) and returns the dual variables, which
//!   certify optimality: $u\_i + v\_j \le C\_{ij}$ for all $i, j$ with equality on the matching
//!   (checked in the tests). Ties are broken deterministically.
//! - [`sinkhorn_log`] never exponentiates a positive number: both log-sum-exps are shifted by
//!   their maxima (the column pass makes two row-major passes, so no transposed copy is needed),
//!   in f64, with `vmath::exp`. Convergence is measured by the L1 error of the row marginals of
//!   the returned plan (its column marginals are exact up to rounding); not reaching `tol` in
//!   `max_iter` iterations is an error, never a silently returned plan.
//!
//! [^crouse]: D. F. Crouse, *On implementing 2D rectangular assignment algorithms*, IEEE
//!   Transactions on Aerospace and Electronic Systems 52(4), 1679–1696 (2016),
//!   doi:10.1109/TAES.2016.140952.
//!
//! # Example
//!
//! ```
//! use geoflow_flows::ot::{assignment, ot_pairs, OtMethod};
//! use geoflow_manifolds::{prelude::*, Sphere};
//! use rand::SeedableRng;
//!
//! // The cheapest matching of a 3×3 cost matrix.
//! let cost = [4.0, 1.0, 3.0, 2.0, 0.0, 5.0, 3.0, 2.0, 2.0];
//! assert_eq!(assignment(&cost, 3)?, vec![1, 0, 2]);
//!
//! // Noise and data on S², paired by the geodesic OT permutation.
//! let s2 = Sphere::<f64>::new(2)?;
//! let x0 = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
//! let x1 = [0.0, 0.8, 0.6, 0.8, 0.0, 0.6];
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let pairs = ot_pairs(&s2, &x0, &x1, OtMethod::Exact, &mut rng)?;
//! assert_eq!(pairs, vec![(0, 1), (1, 0)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::error::{FlowError, Result};
use crate::metric::{check_batch, fill_rows, max_of, sum_f64, RowDists};
use geoflow_manifolds::{vmath, Manifold, Real};
use num_traits::Zero;
use rand::Rng;

/// Largest number of points [`OtMethod::Auto`] solves exactly.
pub const AUTO_EXACT_MAX: usize = 1024;

const NONE: usize = usize::MAX;

// ---------------------------------------------------------------------------------------------
// Exact assignment
// ---------------------------------------------------------------------------------------------

/// An optimal assignment with its optimality certificate, from [`solve_assignment`].
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// `col_for_row[i]` $= \sigma(i)$, the column matched to row `i` (a permutation).
    pub col_for_row: Vec<usize>,
    /// $\sum\_i C\_{i\sigma(i)}$, summed in f64.
    pub cost: f64,
    /// Row duals $u\_i$.
    pub row_duals: Vec<f64>,
    /// Column duals $v\_j$, with $u\_i + v\_j \le C\_{ij}$ and equality on the matching (up to
    /// rounding), so $\sum\_i u\_i + \sum\_j v\_j$ equals the optimal cost.
    pub col_duals: Vec<f64>,
}

/// Checks an `n × n` cost matrix; returns an error naming the first bad entry.
fn check_square<T: Real>(cost: &[T], n: usize, what: &str) -> Result<()> {
    if cost.len() != n * n {
        return Err(FlowError::InvalidArgument(format!(
            "{what}: cost has {} entries, expected {n} × {n} = {}",
            cost.len(),
            n * n
        )));
    }
    if let Some(k) = cost.iter().position(|c| !c.is_finite()) {
        return Err(FlowError::InvalidArgument(format!(
            "{what}: cost[{}, {}] is not finite ({})",
            k / n,
            k % n,
            cost[k]
        )));
    }
    Ok(())
}

/// Minimum-cost perfect matching of the `n × n` cost matrix `cost` (row-major), with dual
/// certificate: the shortest augmenting path algorithm (Jonker–Volgenant / Crouse 2016, as in
/// SciPy), $O(n^3)$, in f64. See the [module docs](self).
///
/// `n = 0` gives the empty assignment.
///
/// # Errors
/// [`FlowError::InvalidArgument`] if `cost.len() != n * n` or an entry is not finite.
///
/// ```
/// use geoflow_flows::ot::solve_assignment;
/// let a = solve_assignment(&[1.0f32, 2.0, 2.0, 4.0], 2)?;
/// assert_eq!(a.col_for_row, vec![1, 0]);
/// assert_eq!(a.cost, 4.0);
/// let dual: f64 = a.row_duals.iter().chain(&a.col_duals).sum();
/// assert!((dual - a.cost).abs() < 1e-12);
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
pub fn solve_assignment<T: Real>(cost: &[T], n: usize) -> Result<Assignment> {
    check_square(cost, n, "solve_assignment")?;
    let c = |i: usize, j: usize| cost[i * n + j].to_f64_lossless();
    let mut u = vec![0.0f64; n];
    let mut v = vec![0.0f64; n];
    let mut spc = vec![f64::INFINITY; n]; // shortest path costs to each column
    let mut path = vec![NONE; n];
    let mut col4row = vec![NONE; n];
    let mut row4col = vec![NONE; n];
    let mut in_sr = vec![false; n];
    let mut in_sc = vec![false; n];
    let mut remaining = vec![0usize; n];

    for cur in 0..n {
        // Dijkstra over reduced costs from row `cur` to the nearest free column.
        let mut num_remaining = n;
        for (it, r) in remaining.iter_mut().enumerate() {
            // Reverse order: a constant cost matrix gives the identity (as SciPy).
            *r = n - it - 1;
        }
        in_sr.fill(false);
        in_sc.fill(false);
        spc.fill(f64::INFINITY);
        let mut min_val = 0.0f64;
        let mut i = cur;
        let sink = loop {
            in_sr[i] = true;
            let ui = u[i];
            let row = &cost[i * n..(i + 1) * n];
            let mut index = NONE;
            let mut lowest = f64::INFINITY;
            for (it, &j) in remaining[..num_remaining].iter().enumerate() {
                let r = min_val + row[j].to_f64_lossless() - ui - v[j];
                if r < spc[j] {
                    path[j] = i;
                    spc[j] = r;
                }
                // Among equal costs prefer a free column (a new sink).
                if spc[j] < lowest || (spc[j] == lowest && row4col[j] == NONE) {
                    lowest = spc[j];
                    index = it;
                }
            }
            // Finite costs: every column is reachable, so `lowest` is finite.
            min_val = lowest;
            let j = remaining[index];
            in_sc[j] = true;
            num_remaining -= 1;
            remaining[index] = remaining[num_remaining];
            if row4col[j] == NONE {
                break j;
            }
            i = row4col[j];
        };
        // Dual update.
        u[cur] += min_val;
        for r in 0..n {
            if in_sr[r] && r != cur {
                u[r] += min_val - spc[col4row[r]];
            }
        }
        for j in 0..n {
            if in_sc[j] {
                v[j] -= min_val - spc[j];
            }
        }
        // Augment along the path.
        let mut j = sink;
        loop {
            let r = path[j];
            row4col[j] = r;
            std::mem::swap(&mut col4row[r], &mut j);
            if r == cur {
                break;
            }
        }
    }
    let total = (0..n).map(|i| c(i, col4row[i])).sum();
    Ok(Assignment {
        col_for_row: col4row,
        cost: total,
        row_duals: u,
        col_duals: v,
    })
}

/// The optimal permutation $\sigma$ (`σ[i]` = column of row `i`) of [`solve_assignment`].
///
/// # Errors
/// As [`solve_assignment`].
pub fn assignment<T: Real>(cost: &[T], n: usize) -> Result<Vec<usize>> {
    Ok(solve_assignment(cost, n)?.col_for_row)
}

// ---------------------------------------------------------------------------------------------
// Sinkhorn
// ---------------------------------------------------------------------------------------------

/// An entropic OT plan with uniform marginals, from [`sinkhorn_log`].
#[derive(Clone, Debug, PartialEq)]
pub struct SinkhornPlan<T> {
    /// Rows (source points).
    pub n: usize,
    /// Columns (target points).
    pub m: usize,
    /// $\pi\_{ij}$, `[n, m]` row-major; sums to 1, column sums $1/m$ (up to rounding), row sums
    /// $1/n$ within `marginal_error` in L1.
    pub plan: Vec<T>,
    /// Row potentials $f\_i$.
    pub row_potentials: Vec<T>,
    /// Column potentials $g\_j$.
    pub col_potentials: Vec<T>,
    /// Iterations run (each one column and one row update).
    pub iterations: usize,
    /// $\sum\_i \lvert \sum\_j \pi\_{ij} - 1/n \rvert$ of the returned plan (≤ `tol`).
    pub marginal_error: T,
}

/// Runs `f(j0, out_block, scratch)` over blocks of `out` in parallel with `rayon`.
fn blocks<F>(out: &mut [f64], block: usize, scratch_len: usize, f: F)
where
    F: Fn(usize, &mut [f64], &mut Vec<f64>) + Sync + Send,
{
    fill_rows(
        out,
        block,
        || vec![0.0f64; scratch_len],
        |s, k, o| f(k * block, o, s),
    );
}

/// Log-domain Sinkhorn for the cost `cost` (`[n, m]` row-major), uniform marginals $1/n$ and
/// $1/m$, entropic regularisation `eps` (in cost units), at most `max_iter` iterations, stopping
/// when the L1 row-marginal error is at most `tol`. Formulas in the [module docs](self).
///
/// Cost per iteration: $2nm$ exponentials (vectorised), parallel with the `rayon` feature. As
/// $\varepsilon \to 0$ the plan tends to an optimal (unregularised) plan, and the iteration count
/// grows like $\max C / \varepsilon$; a good default is a few percent of the mean cost.
///
/// # Errors
/// [`FlowError::InvalidArgument`] for bad shapes, a non-finite cost, `eps` or `tol` not finite
/// and positive, or `max_iter = 0`; [`FlowError::Numerical`] when the marginal error is still
/// above `tol` after `max_iter` iterations (the message gives it).
///
/// ```
/// use geoflow_flows::ot::sinkhorn_log;
/// // Two points each, matching 0→0 and 1→1 is free: a small ε gives a near-diagonal plan.
/// let plan = sinkhorn_log(&[0.0f64, 1.0, 1.0, 0.0], 2, 2, 0.05, 1000, 1e-10)?;
/// assert!((plan.plan[0] - 0.5).abs() < 1e-8 && plan.plan[1] < 1e-8);
/// // Too few iterations is an error, not a silent answer.
/// assert!(sinkhorn_log(&[0.0f64, 1.0, 3.0, 0.0, 2.0, 7.0], 2, 3, 0.01, 1, 1e-12).is_err());
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
pub fn sinkhorn_log<T: Real>(
    cost: &[T],
    n: usize,
    m: usize,
    eps: T,
    max_iter: usize,
    tol: T,
) -> Result<SinkhornPlan<T>> {
    if n == 0 || m == 0 || cost.len() != n * m {
        return Err(FlowError::InvalidArgument(format!(
            "sinkhorn_log: cost has {} entries for a {n} × {m} problem (both must be positive)",
            cost.len()
        )));
    }
    if let Some(k) = cost.iter().position(|c| !c.is_finite()) {
        return Err(FlowError::InvalidArgument(format!(
            "sinkhorn_log: cost[{}, {}] is not finite ({})",
            k / m,
            k % m,
            cost[k]
        )));
    }
    if !(eps > T::zero() && eps.is_finite() && tol > T::zero() && tol.is_finite()) {
        return Err(FlowError::InvalidArgument(format!(
            "sinkhorn_log: eps ({eps}) and tol ({tol}) must be finite and positive"
        )));
    }
    if max_iter == 0 {
        return Err(FlowError::InvalidArgument(
            "sinkhorn_log: max_iter must be positive".into(),
        ));
    }
    let e = eps.to_f64_lossless();
    let inv_e = 1.0 / e;
    let (log_a, log_b) = (-(n as f64).ln(), -(m as f64).ln());
    let a = 1.0 / n as f64;
    let tol = tol.to_f64_lossless();
    let mut f = vec![0.0f64; n];
    let mut f_new = vec![0.0f64; n];
    let mut g = vec![0.0f64; m];
    const COL_BLOCK: usize = 512;
    let mut iterations = 0;
    let mut err = f64::INFINITY;
    while iterations < max_iter {
        iterations += 1;
        // g_j = ε log b − ε LSE_i((f_i − C_ij)/ε): two row-major passes per column block.
        {
            let f = &f;
            blocks(&mut g, COL_BLOCK, 2 * COL_BLOCK, |j0, gb, s| {
                let w = gb.len();
                let (mx, t) = s.split_at_mut(COL_BLOCK);
                let (mx, t) = (&mut mx[..w], &mut t[..w]);
                mx.fill(f64::NEG_INFINITY);
                for (i, &fi) in f.iter().enumerate() {
                    let row = &cost[i * m + j0..i * m + j0 + w];
                    for (x, &c) in mx.iter_mut().zip(row) {
                        *x = x.max((fi - c.to_f64_lossless()) * inv_e);
                    }
                }
                gb.fill(0.0);
                for (i, &fi) in f.iter().enumerate() {
                    let row = &cost[i * m + j0..i * m + j0 + w];
                    for ((y, &c), &x) in t.iter_mut().zip(row).zip(mx.iter()) {
                        *y = (fi - c.to_f64_lossless()) * inv_e - x;
                    }
                    vmath::exp_inplace(t);
                    for (s, &y) in gb.iter_mut().zip(t.iter()) {
                        *s += y;
                    }
                }
                for (gj, &x) in gb.iter_mut().zip(mx.iter()) {
                    *gj = e * (log_b - (x + gj.ln()));
                }
            });
        }
        // f_i = ε log a − ε LSE_j((g_j − C_ij)/ε), one row at a time.
        {
            let g = &g;
            fill_rows(
                &mut f_new,
                1,
                || vec![0.0f64; m],
                |t, i, fi| {
                    let row = &cost[i * m..(i + 1) * m];
                    for ((y, &c), &gj) in t.iter_mut().zip(row).zip(g) {
                        *y = (gj - c.to_f64_lossless()) * inv_e;
                    }
                    let mx = max_of(t);
                    for y in t.iter_mut() {
                        *y -= mx;
                    }
                    vmath::exp_inplace(t);
                    fi[0] = e * (log_a - (mx + sum_f64(t).ln()));
                },
            );
        }
        // Row sums of the plan (f, g) are a·exp((f_i − f_new_i)/ε).
        err = f
            .iter()
            .zip(&f_new)
            .map(|(&fo, &fnew)| a * ((fo - fnew) * inv_e).exp_m1().abs())
            .sum();
        if err <= tol {
            break;
        }
        std::mem::swap(&mut f, &mut f_new);
    }
    if err.is_nan() || err > tol {
        return Err(FlowError::Numerical(format!(
            "sinkhorn_log: not converged after {iterations} iterations: row-marginal L1 error \
             {err:.3e} > tol {tol:.1e} (eps = {e}); increase max_iter or eps"
        )));
    }
    let mut plan = vec![T::zero(); n * m];
    {
        let (f, g) = (&f, &g);
        fill_rows(
            &mut plan,
            m,
            || vec![0.0f64; m],
            |t, i, out| {
                let row = &cost[i * m..(i + 1) * m];
                for ((y, &c), &gj) in t.iter_mut().zip(row).zip(g) {
                    *y = (f[i] + gj - c.to_f64_lossless()) * inv_e;
                }
                vmath::exp_inplace(t);
                for (o, &y) in out.iter_mut().zip(t.iter()) {
                    *o = T::c(y);
                }
            },
        );
    }
    Ok(SinkhornPlan {
        n,
        m,
        plan,
        row_potentials: f.iter().map(|&v| T::c(v)).collect(),
        col_potentials: g.iter().map(|&v| T::c(v)).collect(),
        iterations,
        marginal_error: T::c(err),
    })
}

// ---------------------------------------------------------------------------------------------
// Pairing on a manifold
// ---------------------------------------------------------------------------------------------

/// How [`ot_pairs`] couples the two samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OtMethod {
    /// Exact assignment; returns the optimal permutation $(i, \sigma(i))$.
    Exact,
    /// Entropic OT with $\varepsilon$ = `rel_eps` × the mean cost (so one value suits any
    /// manifold and dimension; `rel_eps` itself when all costs are 0), then $n$ pairs drawn
    /// i.i.d. from the plan. See [`sinkhorn_log`] for `max_iter` and `tol`.
    Sinkhorn {
        /// $\varepsilon$ relative to the mean of $C\_{ij}$.
        rel_eps: f64,
        /// Iteration cap.
        max_iter: usize,
        /// Tolerance on the L1 row-marginal error.
        tol: f64,
    },
    /// [`Exact`](OtMethod::Exact) up to [`AUTO_EXACT_MAX`] points, else
    /// [`SINKHORN_DEFAULT`](OtMethod::SINKHORN_DEFAULT).
    Auto,
}

impl OtMethod {
    /// `Sinkhorn { rel_eps: 0.05, max_iter: 5000, tol: 1e-4 }`.
    pub const SINKHORN_DEFAULT: OtMethod = OtMethod::Sinkhorn {
        rel_eps: 0.05,
        max_iter: 5000,
        tol: 1e-4,
    };
}

/// The squared-distance cost $C\_{ij} = d\_g(x\_i, y\_j)^2$ between the rows of `xs` (`[n, D]`)
/// and `ys` (`[m, D]`), `[n, m]` row-major, from the manifold's batch distance (parallel over
/// rows with the `rayon` feature). On [`Power`](geoflow_manifolds::Power) and
/// [`Product`](geoflow_manifolds::Product) manifolds it is the sum of the factors' squared
/// distances.
///
/// # Errors
/// [`FlowError::InvalidArgument`] for an empty sample, a length that is not a multiple of
/// `m.ambient_dim()`, or a non-finite coordinate.
pub fn sq_dist_matrix<M>(m: &M, xs: &[M::Scalar], ys: &[M::Scalar]) -> Result<Vec<M::Scalar>>
where
    M: Manifold + ?Sized,
{
    let d = m.ambient_dim();
    let n = check_batch(xs, d, "sq_dist_matrix: xs")?;
    let k = check_batch(ys, d, "sq_dist_matrix: ys")?;
    let mut out = vec![M::Scalar::zero(); n * k];
    fill_rows(
        &mut out,
        k,
        || RowDists::new(d, k),
        |rd, i, row| {
            rd.for_each_chunk(m, &xs[i * d..(i + 1) * d], ys, |j0, ds| {
                for (o, &v) in row[j0..j0 + ds.len()].iter_mut().zip(ds.iter()) {
                    *o = v * v;
                }
            });
        },
    );
    Ok(out)
}

/// Pairs the noise sample `x0s` with the data sample `x1s` (both `[n, D]`) by optimal transport
/// for the cost $d\_g^2$ on `m`, returning $n$ index pairs `(i0, i1)`.
///
/// - [`OtMethod::Exact`]: $(i, \sigma(i))$ for $i = 0, \dots, n-1$, with $\sigma$ the optimal
///   permutation (each point used once; `rng` untouched). The Fisher-Flow code instead draws $n$
///   pairs with replacement from the permutation plan; see the [module docs](self).
/// - [`OtMethod::Sinkhorn`]: $n$ pairs drawn i.i.d. from the entropic plan with `rng`, in draw
///   order.
/// - [`OtMethod::Auto`]: exact for $n \le$ [`AUTO_EXACT_MAX`], else
///   [`OtMethod::SINKHORN_DEFAULT`].
///
/// Deterministic for a seeded `rng`.
///
/// # Errors
/// As [`sq_dist_matrix`]; [`FlowError::InvalidArgument`] if the samples have different sizes or
/// a Sinkhorn parameter is invalid; [`FlowError::Numerical`] if Sinkhorn does not converge.
pub fn ot_pairs<M, R>(
    m: &M,
    x0s: &[M::Scalar],
    x1s: &[M::Scalar],
    method: OtMethod,
    rng: &mut R,
) -> Result<Vec<(usize, usize)>>
where
    M: Manifold + ?Sized,
    R: Rng + ?Sized,
{
    let cost = sq_dist_matrix(m, x0s, x1s)?;
    let d = m.ambient_dim();
    let (n, k) = (x0s.len() / d, x1s.len() / d);
    if n != k {
        return Err(FlowError::InvalidArgument(format!(
            "ot_pairs: the samples have {n} and {k} points; minibatch OT pairs equal batches"
        )));
    }
    let method = match method {
        OtMethod::Auto if n <= AUTO_EXACT_MAX => OtMethod::Exact,
        OtMethod::Auto => OtMethod::SINKHORN_DEFAULT,
        other => other,
    };
    match method {
        OtMethod::Sinkhorn {
            rel_eps,
            max_iter,
            tol,
        } => {
            if !(rel_eps > 0.0 && rel_eps.is_finite()) {
                return Err(FlowError::InvalidArgument(format!(
                    "ot_pairs: rel_eps must be finite and positive, got {rel_eps}"
                )));
            }
            let mean = sum_f64(&cost) / cost.len() as f64;
            let eps = if mean > 0.0 { rel_eps * mean } else { rel_eps };
            let plan = sinkhorn_log(&cost, n, n, M::Scalar::c(eps), max_iter, M::Scalar::c(tol))?;
            Ok(sample_pairs(&plan.plan, n, n, rng))
        }
        _ => Ok(assignment(&cost, n)?.into_iter().enumerate().collect()),
    }
}

/// Draws `n` index pairs i.i.d. from the (possibly unnormalised) plan `[n, m]` by inversion of
/// its cumulative sum (f64).
fn sample_pairs<T: Real, R: Rng + ?Sized>(
    plan: &[T],
    n: usize,
    m: usize,
    rng: &mut R,
) -> Vec<(usize, usize)> {
    let mut cdf = Vec::with_capacity(plan.len());
    let mut s = 0.0f64;
    for &p in plan {
        s += p.to_f64_lossless();
        cdf.push(s);
    }
    (0..n)
        .map(|_| {
            let u = f64::uniform01(rng) * s;
            let k = cdf.partition_point(|&c| c <= u).min(plan.len() - 1);
            (k / m, k % m)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geoflow_manifolds::prelude::*;
    use geoflow_manifolds::{PositiveOrthant, Power, Sphere};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    fn brute_force(cost: &[f64], n: usize) -> f64 {
        fn rec(cost: &[f64], n: usize, i: usize, used: &mut [bool], acc: f64, best: &mut f64) {
            if i == n {
                *best = best.min(acc);
                return;
            }
            for j in 0..n {
                if !used[j] {
                    used[j] = true;
                    rec(cost, n, i + 1, used, acc + cost[i * n + j], best);
                    used[j] = false;
                }
            }
        }
        let mut best = f64::INFINITY;
        rec(cost, n, 0, &mut vec![false; n], 0.0, &mut best);
        best
    }

    /// Classic O(n³) Hungarian algorithm with potentials (1-based, e-maxx form): an independent
    /// second method.
    fn hungarian(cost: &[f64], n: usize) -> f64 {
        let a = |i: usize, j: usize| cost[(i - 1) * n + (j - 1)];
        let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; n + 1]);
        let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
        for i in 1..=n {
            p[0] = i;
            let mut j0 = 0;
            let mut minv = vec![f64::INFINITY; n + 1];
            let mut used = vec![false; n + 1];
            loop {
                used[j0] = true;
                let (i0, mut delta, mut j1) = (p[j0], f64::INFINITY, 0);
                for j in 1..=n {
                    if !used[j] {
                        let cur = a(i0, j) - u[i0] - v[j];
                        if cur < minv[j] {
                            minv[j] = cur;
                            way[j] = j0;
                        }
                        if minv[j] < delta {
                            delta = minv[j];
                            j1 = j;
                        }
                    }
                }
                for j in 0..=n {
                    if used[j] {
                        u[p[j]] += delta;
                        v[j] -= delta;
                    } else {
                        minv[j] -= delta;
                    }
                }
                j0 = j1;
                if p[j0] == 0 {
                    break;
                }
            }
            loop {
                let j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
                if j0 == 0 {
                    break;
                }
            }
        }
        (1..=n).map(|j| a(p[j], j)).sum()
    }

    fn is_permutation(s: &[usize]) -> bool {
        let mut seen = vec![false; s.len()];
        s.iter()
            .all(|&j| j < s.len() && !std::mem::replace(&mut seen[j], true))
    }

    /// Dual feasibility and complementary slackness, relative to the cost scale.
    fn check_certificate(cost: &[f64], n: usize, a: &Assignment) {
        let scale = cost.iter().fold(1.0f64, |m, &c| m.max(c.abs()));
        let tol = 1e-9 * scale;
        for i in 0..n {
            for j in 0..n {
                let r = cost[i * n + j] - a.row_duals[i] - a.col_duals[j];
                assert!(r >= -tol, "dual infeasible at ({i}, {j}): {r}");
                if a.col_for_row[i] == j {
                    assert!(r.abs() <= tol, "slackness fails at ({i}, {j}): {r}");
                }
            }
        }
    }

    #[test]
    fn assignment_matches_brute_force() {
        let mut r = rng(1);
        for n in 1..=7 {
            for trial in 0..40 {
                let cost: Vec<f64> = (0..n * n)
                    .map(|_| {
                        let x = f64::uniform01(&mut r);
                        // Some trials with integer costs (many ties) and negative costs.
                        match trial % 3 {
                            0 => x,
                            1 => (x * 4.0).floor(),
                            _ => (x - 0.5) * 1e3,
                        }
                    })
                    .collect();
                let a = solve_assignment(&cost, n).unwrap();
                assert!(is_permutation(&a.col_for_row));
                let best = brute_force(&cost, n);
                assert!(
                    (a.cost - best).abs() <= 1e-9 * (1.0 + best.abs()),
                    "n={n}: {} vs {best}",
                    a.cost
                );
                check_certificate(&cost, n, &a);
            }
        }
    }

    #[test]
    fn assignment_matches_hungarian_and_certificate_for_larger_n() {
        let mut r = rng(2);
        for &n in &[20usize, 64, 150] {
            for trial in 0..3 {
                let cost: Vec<f64> = (0..n * n)
                    .map(|_| {
                        let x = f64::uniform01(&mut r);
                        if trial == 1 {
                            (x * 10.0).floor()
                        } else {
                            x
                        }
                    })
                    .collect();
                let a = solve_assignment(&cost, n).unwrap();
                assert!(is_permutation(&a.col_for_row));
                let h = hungarian(&cost, n);
                assert!(
                    (a.cost - h).abs() < 1e-9 * (1.0 + h),
                    "n={n}: {} vs {h}",
                    a.cost
                );
                check_certificate(&cost, n, &a);
            }
        }
        // Geodesic cost on S² (structured, not i.i.d.).
        let s2 = Sphere::<f64>::new(2).unwrap();
        let n = 200;
        let (mut x0, mut x1) = (vec![0.0; n * 3], vec![0.0; n * 3]);
        s2.sample_base_batch_into(&mut r, &mut x0);
        s2.sample_base_batch_into(&mut r, &mut x1);
        let cost = sq_dist_matrix(&s2, &x0, &x1).unwrap();
        let a = solve_assignment(&cost, n).unwrap();
        check_certificate(&cost, n, &a);
        assert!((a.cost - hungarian(&cost, n)).abs() < 1e-9 * a.cost);
    }

    #[test]
    fn assignment_edge_cases() {
        assert_eq!(assignment::<f64>(&[], 0).unwrap(), Vec::<usize>::new());
        assert_eq!(assignment(&[3.0f32], 1).unwrap(), vec![0]);
        // Constant cost: the identity (SciPy's convention).
        assert_eq!(assignment(&[1.0f64; 16], 4).unwrap(), vec![0, 1, 2, 3]);
        // Huge and tiny magnitudes.
        let a = assignment(&[1e300f64, 0.0, 0.0, 1e300], 2).unwrap();
        assert_eq!(a, vec![1, 0]);
        let e = assignment(&[1.0, f64::NAN, 0.0, 1.0], 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cost[0, 1]"), "{e}");
        assert!(assignment(&[1.0f64, 2.0, 3.0], 2).is_err());
        // f32 costs are solved in f64.
        let c32: Vec<f32> = [4.0, 1.0, 3.0, 2.0, 0.0, 5.0, 3.0, 2.0, 2.0].to_vec();
        assert_eq!(assignment(&c32, 3).unwrap(), vec![1, 0, 2]);
    }

    #[test]
    fn sinkhorn_marginals_and_limit() {
        let mut r = rng(3);
        let (n, m) = (30, 45);
        let cost: Vec<f64> = (0..n * m).map(|_| f64::uniform01(&mut r)).collect();
        let p = sinkhorn_log(&cost, n, m, 0.05, 10_000, 1e-10).unwrap();
        assert!(p.marginal_error <= 1e-10);
        let total: f64 = p.plan.iter().sum();
        assert!((total - 1.0).abs() < 1e-9);
        for j in 0..m {
            let cs: f64 = (0..n).map(|i| p.plan[i * m + j]).sum();
            assert!((cs - 1.0 / m as f64).abs() < 1e-12);
        }
        let row_err: f64 = (0..n)
            .map(|i| (p.plan[i * m..(i + 1) * m].iter().sum::<f64>() - 1.0 / n as f64).abs())
            .sum();
        assert!(row_err <= 1e-10);
        // Plan entries equal exp((f + g − C)/ε).
        let k = 7 * m + 11;
        let want = ((p.row_potentials[7] + p.col_potentials[11] - cost[k]) / 0.05).exp();
        assert!((p.plan[k] - want).abs() < 1e-15);
        // Small ε on a square problem: the entropic plan's transport cost is within ε log n of
        // the assignment optimum / n (entropy of a permutation plan: log n; of any plan: ≤ 2 log n).
        let n = 40;
        let cost: Vec<f64> = (0..n * n).map(|_| f64::uniform01(&mut r)).collect();
        let opt = solve_assignment(&cost, n).unwrap().cost / n as f64;
        let eps = 0.01;
        let p = sinkhorn_log(&cost, n, n, eps, 20_000, 1e-6).unwrap();
        let ot: f64 = p.plan.iter().zip(&cost).map(|(a, b)| a * b).sum();
        assert!(
            ot >= opt - 1e-5 && ot <= opt + eps * (n as f64).ln(),
            "{ot} vs {opt}"
        );
        // f32 works (computed in f64 internally).
        let c32: Vec<f32> = cost.iter().map(|&c| c as f32).collect();
        let p32 = sinkhorn_log(&c32, n, n, 0.05f32, 10_000, 1e-5).unwrap();
        assert!(p32.plan.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn sinkhorn_huge_costs_and_errors() {
        // Costs ≫ ε: no underflow to NaN thanks to the shifted log-sum-exps.
        let cost = [1e4f64, 0.0, 0.0, 1e4];
        let p = sinkhorn_log(&cost, 2, 2, 1.0, 100, 1e-12).unwrap();
        assert!((p.plan[1] - 0.5).abs() < 1e-12 && p.plan[0] < 1e-300);
        let e = sinkhorn_log(&[0.0f64, 1.0, 3.0, 0.0, 2.0, 7.0], 2, 3, 0.01, 2, 1e-12).unwrap_err();
        assert!(matches!(e, FlowError::Numerical(_)));
        assert!(e.to_string().contains("not converged"));
        assert!(sinkhorn_log(&[0.0f64; 4], 2, 2, 0.0, 10, 1e-6).is_err());
        assert!(sinkhorn_log(&[0.0f64; 4], 2, 2, 1.0, 0, 1e-6).is_err());
        assert!(sinkhorn_log(&[0.0f64; 4], 2, 2, 1.0, 10, f64::NAN).is_err());
        assert!(sinkhorn_log(&[0.0f64; 3], 2, 2, 1.0, 10, 1e-6).is_err());
        assert!(sinkhorn_log(&[0.0, f64::INFINITY, 0.0, 0.0], 2, 2, 1.0, 10, 1e-6).is_err());
        // 1 × m and n × 1.
        let p = sinkhorn_log(&[1.0f64, 2.0, 3.0], 1, 3, 0.1, 10, 1e-12).unwrap();
        assert!(p.plan.iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-14));
    }

    #[test]
    fn ot_pairs_exact_is_the_permutation_and_fisher_cost() {
        // Fisher-Flow: sequences of 3 positions over 4 letters on (S³₊)³.
        let orth = PositiveOrthant::<f64>::new(3).unwrap();
        let p = Power::new(orth, 3).unwrap();
        let d = p.ambient_dim();
        let mut r = rng(4);
        let n = 12;
        let (mut x0, mut x1) = (vec![0.0; n * d], vec![0.0; n * d]);
        p.sample_base_batch_into(&mut r, &mut x0);
        p.sample_base_batch_into(&mut r, &mut x1);
        let cost = sq_dist_matrix(&p, &x0, &x1).unwrap();
        // C_ij = Σ_positions arccos(<x0, x1>)².
        for (i, j) in [(0, 0), (3, 7), (11, 2)] {
            let mut want = 0.0;
            for l in 0..3 {
                let a = &x0[i * d + 4 * l..i * d + 4 * l + 4];
                let b = &x1[j * d + 4 * l..j * d + 4 * l + 4];
                let dot: f64 = a.iter().zip(b).map(|(u, v)| u * v).sum();
                want += dot.clamp(-1.0, 1.0).acos().powi(2);
            }
            assert!((cost[i * n + j] - want).abs() < 1e-12);
        }
        let pairs = ot_pairs(&p, &x0, &x1, OtMethod::Exact, &mut r).unwrap();
        let sigma = assignment(&cost, n).unwrap();
        assert_eq!(pairs, sigma.iter().copied().enumerate().collect::<Vec<_>>());
        // Auto is exact at this size and leaves the RNG alone.
        let mut r1 = rng(9);
        let auto = ot_pairs(&p, &x0, &x1, OtMethod::Auto, &mut r1).unwrap();
        assert_eq!(auto, pairs);
        assert_eq!(r1.random::<u64>(), rng(9).random::<u64>());
        // OT pairs cost no more than the identity pairing.
        let ot: f64 = pairs.iter().map(|&(i, j)| cost[i * n + j]).sum();
        let id: f64 = (0..n).map(|i| cost[i * n + i]).sum();
        assert!(ot <= id);
    }

    #[test]
    fn ot_pairs_sinkhorn_is_seeded_and_concentrates_on_the_optimum() {
        let s2 = Sphere::<f64>::new(2).unwrap();
        let mut r = rng(5);
        let n = 64;
        let (mut x0, mut x1) = (vec![0.0; n * 3], vec![0.0; n * 3]);
        s2.sample_base_batch_into(&mut r, &mut x0);
        s2.sample_base_batch_into(&mut r, &mut x1);
        let method = OtMethod::Sinkhorn {
            rel_eps: 0.01,
            max_iter: 20_000,
            tol: 1e-5,
        };
        let a = ot_pairs(&s2, &x0, &x1, method, &mut rng(6)).unwrap();
        let b = ot_pairs(&s2, &x0, &x1, method, &mut rng(6)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), n);
        assert_ne!(a, ot_pairs(&s2, &x0, &x1, method, &mut rng(7)).unwrap());
        // The drawn pairs are far cheaper than random pairs and close to the optimum.
        let cost = sq_dist_matrix(&s2, &x0, &x1).unwrap();
        let mean = cost.iter().sum::<f64>() / cost.len() as f64;
        let opt = solve_assignment(&cost, n).unwrap().cost / n as f64;
        let drawn = a.iter().map(|&(i, j)| cost[i * n + j]).sum::<f64>() / n as f64;
        assert!(
            drawn < opt + 0.2 * mean,
            "{drawn} vs opt {opt}, mean {mean}"
        );
        // Errors.
        assert!(ot_pairs(&s2, &x0, &x1[..30], OtMethod::Exact, &mut r).is_err());
        let bad = OtMethod::Sinkhorn {
            rel_eps: -1.0,
            max_iter: 10,
            tol: 1e-3,
        };
        assert!(ot_pairs(&s2, &x0, &x1, bad, &mut r).is_err());
        // All points equal: zero cost, any coupling is optimal; Sinkhorn still converges.
        let same = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let pairs = ot_pairs(&s2, &same, &same, OtMethod::SINKHORN_DEFAULT, &mut r).unwrap();
        assert_eq!(pairs.len(), 2);
    }

    #[test]
    fn sample_pairs_frequencies() {
        let plan = [0.1f64, 0.2, 0.3, 0.4];
        let mut r = rng(7);
        let mut counts = [0usize; 4];
        for _ in 0..5000 {
            for (i, j) in sample_pairs(&plan, 2, 2, &mut r) {
                counts[i * 2 + j] += 1;
            }
        }
        for k in 0..4 {
            let f = counts[k] as f64 / 10_000.0;
            assert!((f - plan[k]).abs() < 0.015, "{k}: {f}");
        }
    }
}
