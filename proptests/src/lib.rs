//! Property-based law suites for the geoflow manifolds (unpublished).
//!
//! [`law_suite!`] instantiates every law of [`geoflow_manifolds::testing`] with proptest for one
//! manifold in both precisions; each `tests/<manifold>.rs` is a few macro calls:
//!
//! ```text
//! use geoflow_manifolds::{Euclidean, Power};
//! use geoflow_proptests::{law_suite, SuiteConfig};
//!
//! // `T` is the scalar type: the expression is instantiated once with `T = f32`, once with f64.
//! law_suite!(euclidean3, Euclidean::<T>::new(3).unwrap());
//! law_suite!(seq, Power::new(Euclidean::<T>::new(2).unwrap(), 3).unwrap(), SuiteConfig {
//!     cases: 32,
//!     ..SuiteConfig::default()
//! });
//! ```
//!
//! Each call expands to a module `name` with submodules `f32_laws` and `f64_laws` (proptest
//! tests `geometry`, `geodesic_fd`, `transport`, `derivatives`, `singular_points`, `batch`,
//! `retraction`, plain tests `sampling` and, when configured, `density`) and a proptest
//! `f32_matches_f64`, so `cargo test -p geoflow-proptests sphere2::f64_laws` runs one slice.
//! Inputs are drawn from a proptest-chosen `u64` seed (shrinking is meaningless for seeds, so
//! a failure prints the seed and the exact failing values) and a tangent norm drawn
//! log-uniformly from `[1e-12, max]`, `max` = `norm_frac × injectivity radius`, capped at
//! `norm_cap` on non-compact manifolds. Failing cases are persisted next to the test file, in
//! `tests/<file>.regressions` (`FileFailurePersistence::WithSource("regressions")`), and replayed
//! first on the next run; commit them. `PENDING.md` holds the suites of the other manifolds.

#![deny(missing_docs)]

pub use geoflow_manifolds;
pub use geoflow_manifolds::testing::{DensityCheck, Draw, Tol};
pub use proptest;

/// Per-manifold settings of [`law_suite!`]; start from [`SuiteConfig::default`] and override
/// what the manifold needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SuiteConfig {
    /// Proptest cases per law (default 64).
    pub cases: u32,
    /// Largest tangent norm as a fraction of the injectivity radius (default 0.9).
    pub norm_frac: f64,
    /// Largest tangent norm on manifolds with infinite injectivity radius (default 3).
    pub norm_cap: f64,
    /// Pairs of independently sampled points are used by the laws that need the pair inside the
    /// injectivity radius only when their distance is below this fraction of it (default 0.9).
    pub far_frac: f64,
    /// Manifolds with boundary: shrink drawn tangent vectors until the exponential stays inside
    /// (see [`Draw::stay_inside`]; default `false`).
    pub stay_inside: bool,
    /// Perturb points along arbitrary ambient directions in the finite-difference and duality
    /// laws (default `true`, the project's rule); `false` projects the directions onto the
    /// tangent space, for formulas that are only defined on the manifold.
    pub ambient_directions: bool,
    /// Run the finite-difference laws in `f32` too (default `false`: their own error is about
    /// 1e-3 there; duality and finiteness always run).
    pub fd_f32: bool,
    /// Minimal log–log slope of the retraction error (default 1.8, i.e. a retraction; use 2.8
    /// for a second-order retraction, see
    /// [`retraction_order`](geoflow_manifolds::testing::retraction_order)).
    pub retraction_slope: f64,
    /// Rows of the batch = loop laws (default 9).
    pub batch_rows: usize,
    /// Multiplies the default [`Tol`] of `f32` (default 1).
    pub tol_f32: f64,
    /// Multiplies the default [`Tol`] of `f64` (default 1).
    pub tol_f64: f64,
    /// Multiplies the `f32` tolerance of the `f32 ≈ f64` law (default 1).
    pub tol_precision: f64,
    /// The sampler-vs-density check in `f64` ([`DensityCheck`]); `None` skips it (default).
    pub density: Option<DensityCheck>,
}

impl Default for SuiteConfig {
    fn default() -> Self {
        Self {
            cases: 64,
            norm_frac: 0.9,
            norm_cap: 3.0,
            far_frac: 0.9,
            stay_inside: false,
            ambient_directions: true,
            fd_f32: false,
            retraction_slope: 1.8,
            batch_rows: 9,
            tol_f32: 1.0,
            tol_f64: 1.0,
            tol_precision: 1.0,
            density: None,
        }
    }
}

impl SuiteConfig {
    /// The proptest configuration: `cases` cases, failures persisted in
    /// `tests/<file>.regressions` next to the test file.
    pub fn proptest_config(&self) -> proptest::test_runner::Config {
        proptest::test_runner::Config {
            cases: self.cases,
            failure_persistence: Some(Box::new(
                proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
            )),
            ..proptest::test_runner::Config::default()
        }
    }

    /// Maps `u ∈ [0, 1]` to a tangent norm log-uniform in `[1e-12, max]` for a manifold of
    /// injectivity radius `inj`.
    pub fn norm(&self, inj: f64, u: f64) -> f64 {
        let max = (self.norm_frac * inj).min(self.norm_cap);
        let (lo, hi) = (-12.0f64, max.log10());
        10f64.powf(lo + u * (hi - lo))
    }

    /// The [`Draw`] for `u ∈ [0, 1]` (norm from [`SuiteConfig::norm`]).
    pub fn draw(&self, inj: f64, u: f64) -> Draw {
        Draw {
            norm: self.norm(inj, u),
            far_frac: self.far_frac,
            stay_inside: self.stay_inside,
        }
    }

    /// The tolerance of scalar type `T` (the defaults times `tol_f32` / `tol_f64`).
    pub fn tol<T: geoflow_manifolds::Real>(&self) -> Tol {
        Tol::of::<T>().scaled(if T::IS_F64 {
            self.tol_f64
        } else {
            self.tol_f32
        })
    }
}

/// Turns a [`LawResult`](geoflow_manifolds::testing::LawResult) into a proptest failure with
/// the law's message.
#[macro_export]
macro_rules! check_law {
    ($e:expr) => {
        if let Err(msg) = $e {
            return Err($crate::proptest::test_runner::TestCaseError::fail(msg));
        }
    };
}

/// Instantiates the whole law suite for one manifold in `f32` and `f64`.
///
/// `law_suite!(name, expr)` or `law_suite!(name, expr, config)`, where `expr` builds the
/// manifold in terms of the scalar type `T` (e.g. `Sphere::<T>::new(2).unwrap()`) and `config`
/// is a [`SuiteConfig`]. The manifold must implement `Manifold`, `ParallelTransport`, `Sample`
/// and `Differentiable`. See the [crate docs](crate) for what it generates.
#[macro_export]
macro_rules! law_suite {
    ($name:ident, $ctor:expr) => {
        $crate::law_suite!($name, $ctor, $crate::SuiteConfig::default());
    };
    ($name:ident, $ctor:expr, $cfg:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::law_suite!(@precision f32_laws, f32, $ctor, $cfg);
            $crate::law_suite!(@precision f64_laws, f64, $ctor, $cfg);

            #[allow(unused_imports)]
            use $crate::proptest::prelude::*;
            $crate::proptest::proptest! {
                #![proptest_config({ let c: $crate::SuiteConfig = $cfg; c.proptest_config() })]
                #[test]
                fn f32_matches_f64(seed in any::<u64>(), u in 0.0f64..1.0) {
                    let cfg: $crate::SuiteConfig = $cfg;
                    let m32 = { #[allow(dead_code)] type T = f32; $ctor };
                    let m64 = { #[allow(dead_code)] type T = f64; $ctor };
                    let draw = cfg.draw(
                        $crate::geoflow_manifolds::Manifold::injectivity_radius(&m64), u);
                    let tol = $crate::Tol::of::<f32>().scaled(cfg.tol_precision);
                    $crate::check_law!($crate::geoflow_manifolds::testing::f32_matches_f64(
                        &m32, &m64, seed, &draw, &tol));
                }
            }
        }
    };
    (@precision $module:ident, $t:ty, $ctor:expr, $cfg:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::proptest::prelude::*;
            use $crate::geoflow_manifolds::testing as laws;
            #[allow(unused_imports)]
            use $crate::geoflow_manifolds::Manifold as _;

            #[allow(dead_code)]
            type T = $t;

            fn setup(u: f64) -> (
                impl $crate::geoflow_manifolds::Differentiable<Scalar = T>
                    + $crate::geoflow_manifolds::ParallelTransport
                    + $crate::geoflow_manifolds::Sample,
                $crate::SuiteConfig,
                $crate::Tol,
                $crate::Draw,
            ) {
                let cfg: $crate::SuiteConfig = $cfg;
                let m = $ctor;
                let inj = $crate::geoflow_manifolds::Real::to_f64_lossless(
                    $crate::geoflow_manifolds::Manifold::injectivity_radius(&m));
                let draw = cfg.draw(inj, u);
                let tol = cfg.tol::<T>();
                (m, cfg, tol, draw)
            }

            fn fd(cfg: &$crate::SuiteConfig) -> bool {
                <T as $crate::geoflow_manifolds::Real>::IS_F64 || cfg.fd_f32
            }

            $crate::proptest::proptest! {
                #![proptest_config({ let c: $crate::SuiteConfig = $cfg; c.proptest_config() })]

                #[test]
                fn geometry(seed in any::<u64>(), u in 0.0f64..1.0) {
                    let (m, cfg, tol, draw) = setup(u);
                    $crate::check_law!(laws::geometry_laws(&m, seed, &draw, &tol));
                }

                #[test]
                fn geodesic_fd(seed in any::<u64>(), u in 0.0f64..1.0) {
                    let (m, cfg, tol, draw) = setup(u);
                    if fd(&cfg) {
                        $crate::check_law!(laws::geodesic_fd_law(&m, seed, &draw, &tol));
                    }
                }

                #[test]
                fn transport(seed in any::<u64>(), u in 0.0f64..1.0) {
                    let (m, _cfg, tol, draw) = setup(u);
                    $crate::check_law!(laws::transport_laws(&m, seed, &draw, &tol));
                }

                #[test]
                fn derivatives(seed in any::<u64>(), u in 0.0f64..1.0) {
                    let (m, cfg, tol, draw) = setup(u);
                    $crate::check_law!(laws::derivative_laws(
                        &m, seed, &draw, cfg.ambient_directions, fd(&cfg), &tol));
                }

                #[test]
                fn singular_points(seed in any::<u64>()) {
                    let (m, _cfg, tol, _draw) = setup(0.5);
                    $crate::check_law!(laws::singular_laws(&m, seed, &tol));
                }

                #[test]
                fn batch(seed in any::<u64>(), u in 0.0f64..1.0) {
                    let (m, cfg, tol, draw) = setup(u);
                    $crate::check_law!(laws::batch_matches_loop(
                        &m, seed, cfg.batch_rows, &draw, &tol));
                    $crate::check_law!(laws::transport_batch_matches_loop(
                        &m, seed, cfg.batch_rows, &draw, &tol));
                }

                #[test]
                fn retraction(seed in any::<u64>()) {
                    // unit-ish step well inside the injectivity radius
                    let (m, cfg, _tol, _draw) = setup(0.0);
                    let mut rng = laws::rng(seed);
                    let p = laws::random_point(&m, &mut rng);
                    let n = laws::max_tangent_norm(&m, 0.5, 1.0);
                    let v = $crate::Draw { norm: n, ..cfg.draw(1.0, 0.0) }
                        .tangent(&m, &mut rng, &p);
                    $crate::check_law!(laws::retraction_order(&m, &p, &v, cfg.retraction_slope)
                        .map_err(|e| format!("{e} [seed {seed}]")));
                }
            }

            #[test]
            fn sampling() {
                let (m, _cfg, _tol, _draw) = setup(0.5);
                for seed in 0..4 {
                    laws::samples_valid(&m, seed, 256).unwrap();
                    laws::sample_batch_matches_loop(&m, seed, 33).unwrap();
                }
            }

            #[test]
            fn density() {
                let (m, cfg, _tol, _draw) = setup(0.5);
                if let (Some(check), true) = (cfg.density, <T as $crate::geoflow_manifolds::Real>::IS_F64) {
                    laws::sampler_matches_density(&m, 20260, &check).unwrap();
                }
            }
        }
    };
}
