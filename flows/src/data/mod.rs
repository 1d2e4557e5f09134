//! Data: datasets on manifolds, loaders for the shared benchmark files, splits, categorical
//! sequences, and synthetic distributions with exact densities.
//!
//! # Datasets and loaders
//!
//! A [`Dataset<T>`] holds $n$ points of one manifold as a row-major `[n, D]` buffer ($D$ =
//! ambient dimension). The loaders turn the files described in `shared/data/README.md` into
//! points, computing the geometry in f64 and rounding to `T` at the end; every row passes the
//! manifold's `check_point`, and every problem is a [`FlowError::Data`](crate::FlowError::Data)
//! `path:line: message` (never a panic):
//!
//! - [`load_earth`]: `lat,lon` in degrees → $S^2$,
//!   $x = (\cos\phi\cos\lambda,\ \cos\phi\sin\lambda,\ \sin\phi)$ (the embedding of
//!   facebookresearch/riemannian-fm; riemannian-score-sde uses the antipodal point, an isometry,
//!   so likelihoods agree);
//! - [`load_rna`]: seven torsion angles in degrees → $T^7$; by default angles are mapped into
//!   $\lbrack -\pi, \pi)$, the convention of `geoflow_manifolds::FlatTorus` (RFM's
//!   $(\theta \bmod 360)\cdot\pi/180 \in \lbrack 0, 2\pi)$ is [`AngleRange::ZeroTwoPi`]; the two
//!   differ by whole turns, i.e. they are the same points of the torus);
//! - [`load_points_csv`]: ambient coordinates of any manifold, one point per line;
//! - [`load_builtin`] / [`builtin_path`]: `volcano`, `earthquake`, `flood`, `fire`, `rna` under
//!   the data directory (`$GEOFLOW_DATA`, else `../shared/data`).
//!
//! # Splits
//!
//! [`rfm_split`] is the RFM protocol: $\lfloor n/10\rfloor$ validation and test rows, the rest
//! for training, from a seeded permutation; [`fractions_split`] takes fractions
//! ($\lfloor f_0 n\rfloor$, $\lfloor f_1 n\rfloor$, rest).
//!
//! # Sequences
//!
//! [`Sequences`] are token sequences ($n \times L$, vocabulary $K$), e.g. character windows of a
//! text. Fisher-Flow represents a sequence as a point of $(\Delta^{K-1})^L$ (one-hot, optionally
//! smoothed: mass $m$ on the true class and $(1-m)/(K-1)$ elsewhere) or, through $p \mapsto
//! \sqrt p$, of $(S^{K-1}_+)^L$: [`Sequences::to_simplex`], [`Sequences::to_orthant`].
//!
//! # Synthetic targets
//!
//! [`Target`] distributions have exact samplers and exact log-densities **with respect to the
//! Riemannian volume** of their manifold, so they serve as NLL oracles:
//! [`VmfMixture`] on $S^n$, [`TorusWrappedMixture`] on $T^n$, [`HyperbolicWrappedMixture`] on
//! $H^n$ (Lorentz) and its image [`BallWrappedMixture`] on the Poincaré ball (an isometry, so
//! the density is the same function of the point), and the categorical [`CategoricalToy`].
//! Mixture densities are a log-sum-exp in f64,
//! $\log p(x) = m + \log\sum_j e^{\log w_j + \log p_j(x) - m}$, $m = \max_j(\log w_j + \log p_j(x))$,
//! evaluated in one streaming pass without buffers. [`builtin_synthetic`] names the ones the CLI
//! and the tests use.
//!
//! ```
//! use geoflow_flows::data::{builtin_synthetic, parse_earth, rfm_split, Dataset, Target};
//! use geoflow_manifolds::{prelude::*, Sphere};
//! use rand::SeedableRng;
//!
//! // A file's worth of Earth data, split by the RFM protocol.
//! let csv: String = (0..20).map(|i| format!("{},{}\n", i * 4 - 40, i * 9)).collect();
//! let d = parse_earth::<f64>("toy.csv", &csv)?;
//! let (train, val, test) = d.split(&rfm_split(d.len(), 0));
//! assert_eq!((train.len(), val.len(), test.len()), (16, 2, 2));
//!
//! // The exact NLL of the synthetic "continents" on their own samples (≈ their entropy).
//! let target = builtin_synthetic::<f64>("sphere-mixture", 0)?;
//! let t = target.as_target().unwrap();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//! let xs = Dataset::on_manifold("samples", &Sphere::<f64>::new(2)?, t.sample(&mut rng, 500))?;
//! let mut lp = vec![0.0; xs.len()];
//! t.log_density_batch_into(xs.as_slice(), &mut lp);
//! let nll = -lp.iter().sum::<f64>() / lp.len() as f64;
//! assert!(nll < (4.0 * std::f64::consts::PI).ln()); // better than uniform
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dataset;
mod load;
mod space;
mod split;
mod synthetic;
mod text;

#[cfg(test)]
mod tests;

pub use dataset::Dataset;
pub use load::{
    builtin_path, builtin_space, default_data_dir, lat_lon_to_sphere, load_builtin, load_earth,
    load_points_csv, load_rna, load_rna_with, parse_earth, parse_points_csv, parse_rna,
    sphere_to_lat_lon, AngleRange, BUILTIN_DATASETS, BUILTIN_ROWS, DATA_DIR_ENV,
};
pub use space::Space;
pub use split::{fractions_split, rfm_split, Split};
pub use synthetic::{
    builtin_synthetic, BallWrappedMixture, CategoricalToy, HyperbolicWrappedMixture, Synthetic,
    Target, TorusWrappedMixture, VmfMixture, CATEGORICAL_TOY_SHAPE, HYPERBOLIC_MIXTURE_COMPONENTS,
    SPHERE_MIXTURE_COMPONENTS, SYNTHETIC_NAMES, TORUS_MIXTURE_COMPONENTS,
};
pub use text::{argmax_tokens_into, one_hot_into, Sequences};
