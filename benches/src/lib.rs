//! Shared pieces of geoflow's benchmarks: the manifold registry, seeded inputs, the batched
//! operations with preallocated outputs, and `#[inline(never)]` probes of the `vmath` slice
//! functions (for reading the generated assembly).
//!
//! Used by `benches/ops.rs` (criterion), `benches/vmath.rs` (criterion) and the
//! `geoflow_ops` binary that `peers/compare.sh` runs beside the Python peers.
//!
//! Sizes follow `../shared/bench/peers.py`: every input array holds `2^size_log2` scalars
//! (default 2²²), so a manifold with `D` ambient coordinates gets `n = 2^size_log2 / D` points.

use geoflow_manifolds::{prelude::*, Euclidean, FlatTorus, Lorentz, PoincareBall, Simplex, Sphere};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Seed of every benchmark input.
pub const SEED: u64 = 0x0067_656f_666c_6f77;

/// A batched operation, timed over whole `[n, D]` batches into preallocated outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `exp_batch_into(ps, vs)`.
    Exp,
    /// `log_batch_into(ps, qs)`.
    Log,
    /// `dist_batch_into(ps, qs)`.
    Dist,
    /// `inner_batch_into(ps, us, vs)`.
    Inner,
    /// `geodesic_batch_into(ps, qs, ts)`: the point $\gamma(t)$ only.
    Geodesic,
    /// `geodesic_velocity_batch_into(ps, qs, ts)`: the velocity only.
    GeodesicVelocity,
    /// Point and velocity (two calls): what the peers time as `geodesic`.
    GeodesicPair,
    /// `transport_batch_into(ps, qs, vs)`.
    Transport,
    /// `project_point_batch_into(xs)`.
    ProjectPoint,
    /// `project_tangent_batch_into(ps, us)`.
    ProjectTangent,
}

impl Op {
    /// The ops of the criterion bench (each batch method once).
    pub const BENCHED: [Op; 9] = [
        Op::Exp,
        Op::Log,
        Op::Dist,
        Op::Inner,
        Op::Geodesic,
        Op::GeodesicVelocity,
        Op::Transport,
        Op::ProjectPoint,
        Op::ProjectTangent,
    ];

    /// Every op, including [`Op::GeodesicPair`].
    pub const ALL: [Op; 10] = [
        Op::Exp,
        Op::Log,
        Op::Dist,
        Op::Inner,
        Op::Geodesic,
        Op::GeodesicVelocity,
        Op::GeodesicPair,
        Op::Transport,
        Op::ProjectPoint,
        Op::ProjectTangent,
    ];

    /// The name used in benchmark ids and JSON records.
    pub fn name(self) -> &'static str {
        match self {
            Op::Exp => "exp",
            Op::Log => "log",
            Op::Dist => "dist",
            Op::Inner => "inner",
            Op::Geodesic => "geodesic",
            Op::GeodesicVelocity => "geodesic_velocity",
            Op::GeodesicPair => "geodesic_pair",
            Op::Transport => "transport",
            Op::ProjectPoint => "project_point",
            Op::ProjectTangent => "project_tangent",
        }
    }

    /// Parses [`Op::name`].
    pub fn from_name(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.name() == s)
    }

    /// The op's name in `peers.py` records, if the peers time it (`geodesic_pair` is their
    /// `geodesic`).
    pub fn peer_name(self) -> Option<&'static str> {
        match self {
            Op::Exp => Some("exp"),
            Op::Log => Some("log"),
            Op::Dist => Some("dist"),
            Op::GeodesicPair => Some("geodesic"),
            _ => None,
        }
    }

    /// Bytes moved per point, inputs plus outputs once, with `peers.py`'s convention
    /// (exp/log 3·D, dist 2·D+1, geodesic 4·D+1 scalars).
    pub fn bytes_per_point(self, d: usize, esize: usize) -> usize {
        esize
            * match self {
                Op::Exp | Op::Log | Op::ProjectTangent => 3 * d,
                Op::Dist => 2 * d + 1,
                Op::Inner => 3 * d + 1,
                Op::Geodesic | Op::GeodesicVelocity => 3 * d + 1,
                Op::GeodesicPair => 4 * d + 1,
                Op::Transport => 4 * d,
                Op::ProjectPoint => 2 * d,
            }
    }
}

/// Seeded inputs of every op for `n` points.
#[derive(Clone, Debug)]
pub struct Inputs<T> {
    /// Points.
    pub n: usize,
    /// Ambient dimension.
    pub d: usize,
    /// Base points `[n, d]` (samples of the base distribution).
    pub ps: Vec<T>,
    /// Second points `[n, d]`.
    pub qs: Vec<T>,
    /// Tangent vectors at `ps` (see [`Inputs::new`] for their distribution).
    pub vs: Vec<T>,
    /// Tangent vectors at `ps`: projections of standard normal ambient vectors.
    pub us: Vec<T>,
    /// Ambient points near `ps` (`ps` + 0.01 · standard normal), for `project_point`.
    pub xs: Vec<T>,
    /// Times in $\lbrack 0, 1)$, one per point.
    pub ts: Vec<T>,
}

impl<T: Real> Inputs<T> {
    /// Draws the inputs for `n` points of `m` from `seed`, with the distributions of
    /// `peers.py`'s `make_data` for `family`, so that both sides time the same kind of inputs:
    ///
    /// - `sphere`: uniform points; tangent vectors of norm uniform in $\lbrack 0.1, 2.5)$;
    /// - `lorentz`, `poincare`: points at geodesic radius uniform in $\lbrack 0, 3)$ in a
    ///   uniform direction; tangent vectors in a uniform direction with Riemannian norm uniform in
    ///   $\lbrack 0.1, 2)$;
    /// - `torus`: uniform angles; tangent vectors standard normal;
    /// - `simplex`: Dirichlet(1) points (the peers' normalised exponentials); tangent vectors
    ///   $s \log_p q$ with $s$ uniform in $\lbrack 0.1, 1)$ (the peers time no simplex exp);
    /// - anything else: base samples and $s \log_p q$.
    pub fn new<M: Manifold<Scalar = T> + Sample>(m: &M, family: &str, n: usize, seed: u64) -> Self {
        let d = m.ambient_dim();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let zeros = || vec![T::zero(); n * d];
        let (mut ps, mut qs, mut vs, mut us) = (zeros(), zeros(), zeros(), zeros());
        let unif = |rng: &mut ChaCha8Rng, a: f64, b: f64| T::c(a) + T::c(b - a) * T::uniform01(rng);
        // A uniform direction in R^k.
        let direction = |rng: &mut ChaCha8Rng, out: &mut [T]| loop {
            out.iter_mut().for_each(|x| *x = T::standard_normal(rng));
            let r = out.iter().map(|&x| x * x).sum::<T>().sqrt();
            if r > T::c(1e-3) {
                out.iter_mut().for_each(|x| *x /= r);
                break;
            }
        };
        // Random tangent vectors at `ps` with Riemannian norm uniform in [a, b).
        let tangents = |rng: &mut ChaCha8Rng, ps: &[T], vs: &mut [T], a: f64, b: f64| {
            let mut g = vec![T::zero(); d];
            for (p, v) in ps.chunks_exact(d).zip(vs.chunks_exact_mut(d)) {
                loop {
                    g.iter_mut().for_each(|x| *x = T::standard_normal(rng));
                    m.project_tangent_into(p, &g, v);
                    let r = m.norm(p, v);
                    if r > T::c(1e-3) {
                        let s = unif(rng, a, b) / r;
                        v.iter_mut().for_each(|x| *x *= s);
                        break;
                    }
                }
            }
        };
        match family {
            "lorentz" | "poincare" => {
                let k = if family == "lorentz" { d - 1 } else { d };
                let mut u = vec![T::zero(); k];
                for out in [&mut ps, &mut qs] {
                    for row in out.chunks_exact_mut(d) {
                        let r = unif(&mut rng, 0.0, 3.0);
                        direction(&mut rng, &mut u);
                        if family == "lorentz" {
                            row[0] = r.cosh();
                            for (o, &x) in row[1..].iter_mut().zip(&u) {
                                *o = r.sinh() * x;
                            }
                        } else {
                            let a = (r * T::c(0.5)).tanh();
                            for (o, &x) in row.iter_mut().zip(&u) {
                                *o = a * x;
                            }
                        }
                    }
                }
                tangents(&mut rng, &ps, &mut vs, 0.1, 2.0);
            }
            "sphere" => {
                m.sample_base_batch_into(&mut rng, &mut ps);
                m.sample_base_batch_into(&mut rng, &mut qs);
                tangents(&mut rng, &ps, &mut vs, 0.1, 2.5);
            }
            "torus" => {
                m.sample_base_batch_into(&mut rng, &mut ps);
                m.sample_base_batch_into(&mut rng, &mut qs);
                vs.iter_mut()
                    .for_each(|x| *x = T::standard_normal(&mut rng));
            }
            _ => {
                m.sample_base_batch_into(&mut rng, &mut ps);
                m.sample_base_batch_into(&mut rng, &mut qs);
                m.log_batch_into(&ps, &qs, &mut vs);
                for v in vs.chunks_exact_mut(d) {
                    let s = unif(&mut rng, 0.1, 1.0);
                    v.iter_mut().for_each(|x| *x *= s);
                }
            }
        }
        let g: Vec<T> = (0..n * d).map(|_| T::standard_normal(&mut rng)).collect();
        m.project_tangent_batch_into(&ps, &g, &mut us);
        let xs: Vec<T> = ps
            .iter()
            .map(|&p| p + T::c(0.01) * T::standard_normal(&mut rng))
            .collect();
        let ts = (0..n).map(|_| T::uniform01(&mut rng)).collect();
        Inputs {
            n,
            d,
            ps,
            qs,
            vs,
            us,
            xs,
            ts,
        }
    }
}

/// A manifold, its inputs and preallocated outputs: [`Workload::run`] allocates nothing.
pub struct Workload<M: Manifold> {
    /// The manifold.
    pub m: M,
    /// The inputs.
    pub inp: Inputs<M::Scalar>,
    /// `[n, d]` output.
    pub out: Vec<M::Scalar>,
    /// Second `[n, d]` output (the velocity of [`Op::GeodesicPair`]).
    pub out2: Vec<M::Scalar>,
    /// `[n]` output of `dist` and `inner`.
    pub out_scalar: Vec<M::Scalar>,
}

impl<M: Manifold + ParallelTransport + Sample> Workload<M> {
    /// Inputs for `n` points of `family` (see [`Inputs::new`]) from [`SEED`] and zeroed
    /// (touched) outputs.
    pub fn new(m: M, family: &str, n: usize) -> Self {
        let inp = Inputs::new(&m, family, n, SEED);
        let d = inp.d;
        Workload {
            m,
            inp,
            out: zeros(n * d),
            out2: zeros(n * d),
            out_scalar: zeros(n),
        }
    }

    /// Runs `op` once over the whole batch.
    pub fn run(&mut self, op: Op) {
        let (m, i) = (&self.m, &self.inp);
        match op {
            Op::Exp => m.exp_batch_into(&i.ps, &i.vs, &mut self.out),
            Op::Log => m.log_batch_into(&i.ps, &i.qs, &mut self.out),
            Op::Dist => m.dist_batch_into(&i.ps, &i.qs, &mut self.out_scalar),
            Op::Inner => m.inner_batch_into(&i.ps, &i.us, &i.vs, &mut self.out_scalar),
            Op::Geodesic => m.geodesic_batch_into(&i.ps, &i.qs, &i.ts, &mut self.out),
            Op::GeodesicVelocity => {
                m.geodesic_velocity_batch_into(&i.ps, &i.qs, &i.ts, &mut self.out)
            }
            Op::GeodesicPair => {
                m.geodesic_with_velocity_batch_into(
                    &i.ps,
                    &i.qs,
                    &i.ts,
                    &mut self.out,
                    &mut self.out2,
                );
            }
            Op::Transport => m.transport_batch_into(&i.ps, &i.qs, &i.vs, &mut self.out),
            Op::ProjectPoint => m.project_point_batch_into(&i.xs, &mut self.out),
            Op::ProjectTangent => m.project_tangent_batch_into(&i.ps, &i.us, &mut self.out),
        }
    }
}

fn zeros<T: Real>(n: usize) -> Vec<T> {
    vec![T::zero(); n]
}

/// Receives every benchmarked manifold from [`for_each_manifold`].
pub trait Visitor {
    /// One manifold: `family` and `dim` are the join key of `peers.py` (`dim` is the intrinsic
    /// dimension, except for the simplex, where it is the number of categories K).
    fn visit<M: Manifold + ParallelTransport + Sample>(
        &mut self,
        family: &'static str,
        dim: usize,
        m: M,
    );
}

/// The benchmarked manifolds, in one place for the criterion bench and the `geoflow_ops`
/// binary. Adding a manifold is one line. Besides ℝ³, these are the peers' set
/// (`../shared/bench/peers.py`: S², S⁶³, H², H¹⁶, B², B¹⁶, T², T⁸, K = 4, 64).
pub fn for_each_manifold<T: Real, V: Visitor>(v: &mut V) {
    v.visit("euclidean", 3, Euclidean::<T>::new(3).expect("R^3"));
    v.visit("sphere", 2, Sphere::<T>::new(2).expect("S^2"));
    v.visit("sphere", 63, Sphere::<T>::new(63).expect("S^63"));
    v.visit("lorentz", 2, Lorentz::<T>::new(2).expect("H^2"));
    v.visit("lorentz", 16, Lorentz::<T>::new(16).expect("H^16"));
    v.visit("poincare", 2, PoincareBall::<T>::new(2).expect("B^2"));
    v.visit("poincare", 16, PoincareBall::<T>::new(16).expect("B^16"));
    v.visit("torus", 2, FlatTorus::<T>::new(2).expect("T^2"));
    v.visit("torus", 8, FlatTorus::<T>::new(8).expect("T^8"));
    v.visit("simplex", 4, Simplex::<T>::new(3).expect("K = 4"));
    v.visit("simplex", 64, Simplex::<T>::new(63).expect("K = 64"));
}

/// Points for a batch of `2^size_log2` scalars per array with `d` ambient coordinates.
pub fn points_for(size_log2: u32, d: usize) -> usize {
    ((1usize << size_log2) / d).max(1)
}

/// A rayon pool with `threads` threads.
///
/// # Panics
/// If the pool cannot be built.
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon thread pool")
}

/// `#[inline(never)]` monomorphic wrappers of the `vmath` slice functions, to read their
/// assembly (`cargo rustc --release -p geoflow-benches --lib -- --emit asm`) and to check that
/// they vectorise.
pub mod probe {
    use geoflow_manifolds::vmath;

    macro_rules! probes {
        ($($name:ident: $f:path, $t:ty;)*) => {$(
            #[doc = concat!("`", stringify!($f), "` on `", stringify!($t), "`.")]
            #[inline(never)]
            pub fn $name(x: &[$t], out: &mut [$t]) {
                $f(x, out)
            }
        )*};
    }

    probes! {
        exp_f64: vmath::exp_slice, f64;
        exp_f32: vmath::exp_slice, f32;
        log_f64: vmath::log_slice, f64;
        log_f32: vmath::log_slice, f32;
        acos_f64: vmath::acos_slice, f64;
        acos_f32: vmath::acos_slice, f32;
        acosh_f64: vmath::acosh_slice, f64;
        tanh_f32: vmath::tanh_slice, f32;
        sinc_f64: vmath::sinc_slice, f64;
    }

    /// `vmath::sin_cos_slice` on `f64`.
    #[inline(never)]
    pub fn sin_cos_f64(x: &[f64], s: &mut [f64], c: &mut [f64]) {
        vmath::sin_cos_slice(x, s, c)
    }

    /// `vmath::sin_cos_slice` on `f32`.
    #[inline(never)]
    pub fn sin_cos_f32(x: &[f32], s: &mut [f32], c: &mut [f32]) {
        vmath::sin_cos_slice(x, s, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(Vec<(&'static str, usize, usize)>);
    impl Visitor for Count {
        fn visit<M: Manifold + ParallelTransport + Sample>(
            &mut self,
            family: &'static str,
            dim: usize,
            m: M,
        ) {
            let n = points_for(10, m.ambient_dim());
            let mut w = Workload::new(m, family, n);
            for op in Op::ALL {
                w.run(op);
            }
            assert!(w.out.iter().all(|x| x.to_f64_lossless().is_finite()));
            self.0.push((family, dim, n));
        }
    }

    #[test]
    fn every_op_runs_on_every_manifold() {
        let mut c = Count(Vec::new());
        for_each_manifold::<f32, _>(&mut c);
        for_each_manifold::<f64, _>(&mut c);
        assert!(c.0.contains(&("euclidean", 3, 341)));
    }

    #[test]
    fn op_names_round_trip() {
        for op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(op));
        }
        assert_eq!(Op::GeodesicPair.peer_name(), Some("geodesic"));
        assert_eq!(Op::Exp.bytes_per_point(3, 4), 36);
        assert_eq!(Op::GeodesicPair.bytes_per_point(3, 8), 104);
    }
}
