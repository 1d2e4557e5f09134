//! Train / validation / test splits by index, seeded.

use crate::{FlowError, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A partition of `0..n` into three index lists. Apply it with
/// [`Dataset::split`](crate::data::Dataset::split) or [`Dataset::subset`](crate::data::Dataset::subset).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Validation rows (model selection).
    pub val: Vec<usize>,
    /// Test rows (reported metrics).
    pub test: Vec<usize>,
}

impl Split {
    /// `(train, val, test)` sizes.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.train.len(), self.val.len(), self.test.len())
    }

    /// `true` when the three lists together hold every index of `0..n` exactly once.
    pub fn is_partition_of(&self, n: usize) -> bool {
        let mut seen = vec![false; n];
        for &i in self.train.iter().chain(&self.val).chain(&self.test) {
            if i >= n || seen[i] {
                return false;
            }
            seen[i] = true;
        }
        seen.iter().all(|&s| s)
    }

    /// Splits a random permutation of `0..n` (from `ChaCha8Rng::seed_from_u64(seed)`) into
    /// consecutive blocks of `n_train`, `n_val` and the rest.
    fn permuted(n: usize, n_train: usize, n_val: usize, seed: u64) -> Self {
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let test = perm.split_off(n_train + n_val);
        let val = perm.split_off(n_train);
        Self {
            train: perm,
            val,
            test,
        }
    }
}

/// The Riemannian-flow-matching protocol: validation and test sets of $\lfloor n/10\rfloor$
/// rows each, the rest for training, from a random permutation seeded by `seed` (RFM uses seeds
/// 0–4).
///
/// Same sizes as facebookresearch/riemannian-fm (`manifm/datasets.py`: volcano 663/82/82, rna
/// 7584/947/947), but the permutation comes from `ChaCha8Rng::seed_from_u64(seed)` (Fisher–Yates
/// shuffle of `rand`), not from PyTorch's generator, so the rows differ from theirs.
///
/// ```
/// use geoflow_flows::data::rfm_split;
/// let s = rfm_split(827, 0);
/// assert_eq!(s.sizes(), (663, 82, 82));
/// assert!(s.is_partition_of(827));
/// assert_eq!(s, rfm_split(827, 0));
/// ```
pub fn rfm_split(n: usize, seed: u64) -> Split {
    let n_val = n / 10;
    Split::permuted(n, n - 2 * n_val, n_val, seed)
}

/// Fractions `[train, val, test]` (finite, non-negative, summing to 1 within `1e-9`) as in
/// oxcsml/riemannian-score-sde: $\lfloor f_0 n\rfloor$ training rows, $\lfloor f_1 n\rfloor$
/// validation rows, the rest for testing, from a random permutation seeded by `seed`
/// (`ChaCha8Rng`). Errors: [`FlowError::InvalidArgument`] for bad fractions.
///
/// ```
/// use geoflow_flows::data::fractions_split;
/// let s = fractions_split(827, [0.8, 0.1, 0.1], 3)?;
/// assert_eq!(s.sizes(), (661, 82, 84));
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
pub fn fractions_split(n: usize, fracs: [f64; 3], seed: u64) -> Result<Split> {
    if fracs.iter().any(|&f| !(f.is_finite() && f >= 0.0)) {
        return Err(FlowError::InvalidArgument(format!(
            "split fractions must be finite and non-negative, got {fracs:?}"
        )));
    }
    let sum: f64 = fracs.iter().sum();
    if (sum - 1.0).abs() > 1e-9 {
        return Err(FlowError::InvalidArgument(format!(
            "split fractions must sum to 1, got {fracs:?} (sum {sum})"
        )));
    }
    let n_train = ((fracs[0] * n as f64).floor() as usize).min(n);
    let n_val = ((fracs[1] * n as f64).floor() as usize).min(n - n_train);
    Ok(Split::permuted(n, n_train, n_val, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfm_sizes_match_the_protocol() {
        for (n, want) in [
            (827, (663, 82, 82)),
            (6120, (4896, 612, 612)),
            (4875, (3901, 487, 487)),
            (12809, (10249, 1280, 1280)),
            (9478, (7584, 947, 947)),
            (0, (0, 0, 0)),
            (9, (9, 0, 0)),
        ] {
            let s = rfm_split(n, 1);
            assert_eq!(s.sizes(), want, "n = {n}");
            assert!(s.is_partition_of(n));
        }
    }

    #[test]
    fn seeded_and_seed_dependent() {
        assert_eq!(rfm_split(100, 7), rfm_split(100, 7));
        assert_ne!(rfm_split(100, 7), rfm_split(100, 8));
        // Value stability: the permutation must not change between releases.
        let s = rfm_split(10, 0);
        assert_eq!(s.train, [2, 8, 6, 1, 9, 5, 7, 4]);
        assert_eq!((s.val, s.test), (vec![0], vec![3]));
    }

    #[test]
    fn fractions_validate() {
        assert!(fractions_split(10, [0.8, 0.1, 0.2], 0).is_err());
        assert!(fractions_split(10, [f64::NAN, 0.5, 0.5], 0).is_err());
        assert!(fractions_split(10, [1.2, -0.1, -0.1], 0).is_err());
        let s = fractions_split(10, [1.0, 0.0, 0.0], 0).unwrap();
        assert_eq!(s.sizes(), (10, 0, 0));
        let s = fractions_split(6120, [0.8, 0.1, 0.1], 0).unwrap();
        assert_eq!(s.sizes(), (4896, 612, 612));
        assert!(s.is_partition_of(6120));
    }
}
