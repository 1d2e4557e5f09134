//! Categorical sequences ([`Sequences`]) and their one-hot images on $(\Delta^{K-1})^L$ and
//! $(S^{K-1}_+)^L$.

use std::collections::BTreeMap;
use std::path::Path;

use crate::data::load::read_text;
use crate::data::Dataset;
use crate::{FlowError, Result};
use geoflow_manifolds::{PositiveOrthant, Power, Real, Simplex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` sequences of length `L` over a vocabulary of `K` symbols: tokens `u32` in `0..K`, stored
/// row-major as `[n, L]`, with the symbol table (`symbols()[t]` is the text of token `t`).
///
/// ```
/// use geoflow_flows::data::Sequences;
/// let s = Sequences::from_text("demo", "abcabcab", 3, None, 0)?;
/// assert_eq!((s.len(), s.seq_len(), s.vocab_size()), (2, 3, 3));
/// assert_eq!(s.row(1), &[0, 1, 2]);
/// assert_eq!(s.decode(0), "abc");
/// let p = s.to_simplex::<f64>(Some(0.5))?;          // rows of (Δ²)³, 9 scalars each
/// assert_eq!(&p.row(0)[..3], &[0.5, 0.25, 0.25]);
/// let x = s.to_orthant::<f64>(None)?;               // one-hot: vertices of (S²₊)³
/// assert_eq!(&x.row(0)[3..6], &[0.0, 1.0, 0.0]);
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequences {
    name: String,
    len: usize,
    symbols: Vec<String>,
    tokens: Vec<u32>,
}

impl Sequences {
    /// Sequences from a token buffer `[n, seq_len]` and a symbol table of `K = symbols.len()`
    /// entries. Errors ([`FlowError::InvalidArgument`]): `seq_len = 0`, `K = 0` or
    /// `K > u32::MAX`, a length that is not a multiple of `seq_len`, or a token `>= K`.
    pub fn new(
        name: impl Into<String>,
        seq_len: usize,
        symbols: Vec<String>,
        tokens: Vec<u32>,
    ) -> Result<Self> {
        let name = name.into();
        if seq_len == 0 {
            return Err(FlowError::InvalidArgument(format!(
                "sequences {name}: length must be at least 1"
            )));
        }
        if symbols.is_empty() || u32::try_from(symbols.len()).is_err() {
            return Err(FlowError::InvalidArgument(format!(
                "sequences {name}: vocabulary size {} not in 1..=u32::MAX",
                symbols.len()
            )));
        }
        if tokens.len() % seq_len != 0 {
            return Err(FlowError::InvalidArgument(format!(
                "sequences {name}: {} tokens is not a multiple of the length {seq_len}",
                tokens.len()
            )));
        }
        let k = symbols.len();
        if let Some(i) = tokens.iter().position(|&t| t as usize >= k) {
            return Err(FlowError::InvalidArgument(format!(
                "sequences {name}: token {} at sequence {}, position {} is not below the vocabulary size {k}",
                tokens[i],
                i / seq_len,
                i % seq_len
            )));
        }
        Ok(Self {
            name,
            len: seq_len,
            symbols,
            tokens,
        })
    }

    /// Character windows of a text: the vocabulary is the set of distinct characters (Unicode
    /// scalar values, `\n` included) sorted by code point; token `t` is `symbols()[t]`.
    ///
    /// - `count = None`: every non-overlapping window `[iL, (i+1)L)` in order,
    ///   $\lfloor N/L\rfloor$ of them ($N$ = characters); `seed` is unused.
    /// - `count = Some(n)`: `n` windows whose starts are drawn uniformly from `0..=N-L` with
    ///   `ChaCha8Rng::seed_from_u64(seed)` (they may overlap).
    ///
    /// Errors: `seq_len = 0`, or a text shorter than one window.
    pub fn from_text(
        name: impl Into<String>,
        text: &str,
        seq_len: usize,
        count: Option<usize>,
        seed: u64,
    ) -> Result<Self> {
        let name = name.into();
        if seq_len == 0 {
            return Err(FlowError::InvalidArgument(format!(
                "sequences {name}: length must be at least 1"
            )));
        }
        let mut table = BTreeMap::new();
        for c in text.chars() {
            table.entry(c).or_insert(0u32);
        }
        let symbols: Vec<String> = table.keys().map(|c| c.to_string()).collect();
        for (i, v) in table.values_mut().enumerate() {
            *v = i as u32;
        }
        let all: Vec<u32> = text.chars().map(|c| table[&c]).collect();
        if all.len() < seq_len {
            return Err(FlowError::Data {
                path: name,
                line: 0,
                msg: format!(
                    "text has {} characters, fewer than one window of {seq_len}",
                    all.len()
                ),
            });
        }
        let tokens = match count {
            None => all[..all.len() / seq_len * seq_len].to_vec(),
            Some(n) => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let last = all.len() - seq_len;
                let mut t = Vec::with_capacity(n * seq_len);
                for _ in 0..n {
                    let s = rng.random_range(0..=last);
                    t.extend_from_slice(&all[s..s + seq_len]);
                }
                t
            }
        };
        Self::new(name, seq_len, symbols, tokens)
    }

    /// [`from_text`](Self::from_text) on a UTF-8 file (invalid UTF-8 is a
    /// [`FlowError::Data`] with its line); named after the file stem.
    pub fn from_text_file(
        path: impl AsRef<Path>,
        seq_len: usize,
        count: Option<usize>,
        seed: u64,
    ) -> Result<Self> {
        let path = path.as_ref();
        let text = read_text(path)?;
        let mut s = Self::from_text(path.display().to_string(), &text, seq_len, count, seed)?;
        if let Some(stem) = path.file_stem() {
            s.name = stem.to_string_lossy().into_owned();
        }
        Ok(s)
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of sequences `n`.
    pub fn len(&self) -> usize {
        self.tokens.len() / self.len
    }

    /// `true` when there are no sequences.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Sequence length `L`.
    pub fn seq_len(&self) -> usize {
        self.len
    }

    /// Vocabulary size `K`.
    pub fn vocab_size(&self) -> usize {
        self.symbols.len()
    }

    /// The symbol table (`K` entries).
    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }

    /// All tokens, row-major `[n, L]`.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Sequence `i` (`L` tokens).
    ///
    /// # Panics
    /// If `i >= len()`.
    #[track_caller]
    pub fn row(&self, i: usize) -> &[u32] {
        assert!(
            i < self.len(),
            "Sequences::row: index {i} out of range for {} sequences",
            self.len()
        );
        &self.tokens[i * self.len..(i + 1) * self.len]
    }

    /// Sequence `i` as text (its symbols concatenated).
    ///
    /// # Panics
    /// If `i >= len()`.
    #[track_caller]
    pub fn decode(&self, i: usize) -> String {
        self.row(i)
            .iter()
            .map(|&t| self.symbols[t as usize].as_str())
            .collect()
    }

    /// The sequences `indices` (in that order) with the same vocabulary.
    ///
    /// # Panics
    /// If an index is `>= len()`.
    #[track_caller]
    pub fn subset(&self, indices: &[usize]) -> Self {
        let mut tokens = Vec::with_capacity(indices.len() * self.len);
        for &i in indices {
            tokens.extend_from_slice(self.row(i));
        }
        Self {
            name: self.name.clone(),
            len: self.len,
            symbols: self.symbols.clone(),
            tokens,
        }
    }

    /// The product simplex $(\Delta^{K-1})^L$ the rows of [`to_simplex`](Self::to_simplex) live
    /// on. Errors if `K < 2`.
    pub fn simplex_manifold<T: Real>(&self) -> Result<Power<Simplex<T>>> {
        let k = self.checked_k()?;
        Ok(Power::new(Simplex::new(k - 1)?, self.len)?)
    }

    /// The product orthant $(S^{K-1}_+)^L$ the rows of [`to_orthant`](Self::to_orthant) live on.
    /// Errors if `K < 2`.
    pub fn orthant_manifold<T: Real>(&self) -> Result<Power<PositiveOrthant<T>>> {
        let k = self.checked_k()?;
        Ok(Power::new(PositiveOrthant::new(k - 1)?, self.len)?)
    }

    fn checked_k(&self) -> Result<usize> {
        let k = self.vocab_size();
        if k < 2 {
            return Err(FlowError::InvalidArgument(format!(
                "sequences {}: a simplex needs at least 2 classes, vocabulary has {k}",
                self.name
            )));
        }
        Ok(k)
    }

    /// One-hot rows on $(\Delta^{K-1})^L$ (`[n, L·K]`, factor $l$ at `l*K..(l+1)*K`), with
    /// optional label smoothing `true_mass = Some(m)`: mass $m$ on the true class and
    /// $(1-m)/(K-1)$ on each other one ($m \in (0, 1\rbrack$; `None` is $m = 1$).
    /// Errors: `K < 2`, or $m$ outside $(0, 1\rbrack$.
    pub fn to_simplex<T: Real>(&self, true_mass: Option<f64>) -> Result<Dataset<T>> {
        let k = self.checked_k()?;
        let mut out = vec![T::zero(); self.tokens.len() * k];
        one_hot_into(&self.tokens, k, true_mass, false, &mut out)?;
        Dataset::new(format!("{}/simplex", self.name), self.len * k, out)
    }

    /// The image of [`to_simplex`](Self::to_simplex) under $p \mapsto \sqrt p$ on every factor:
    /// rows on $(S^{K-1}_+)^L$ (Fisher-Flow's representation); a one-hot row maps to itself.
    pub fn to_orthant<T: Real>(&self, true_mass: Option<f64>) -> Result<Dataset<T>> {
        let k = self.checked_k()?;
        let mut out = vec![T::zero(); self.tokens.len() * k];
        one_hot_into(&self.tokens, k, true_mass, true, &mut out)?;
        Dataset::new(format!("{}/orthant", self.name), self.len * k, out)
    }
}

/// Writes the (smoothed) one-hot encoding of `tokens` (any shape; one factor of `K = classes`
/// scalars per token) into `out` (`tokens.len() * classes` scalars): $m$ on the token's class,
/// $(1-m)/(K-1)$ elsewhere (`true_mass = None` is $m = 1$); with `sqrt = true` the square roots
/// (the orthant image). Allocation-free, for minibatches.
///
/// Errors ([`FlowError::InvalidArgument`]): `classes < 2`, $m \notin (0, 1\rbrack$, a token
/// `>= classes`, or `out` of the wrong length.
///
/// ```
/// let mut out = [0.0f32; 6];
/// geoflow_flows::data::one_hot_into(&[2, 0], 3, None, false, &mut out)?;
/// assert_eq!(out, [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
pub fn one_hot_into<T: Real>(
    tokens: &[u32],
    classes: usize,
    true_mass: Option<f64>,
    sqrt: bool,
    out: &mut [T],
) -> Result<()> {
    if classes < 2 {
        return Err(FlowError::InvalidArgument(format!(
            "one-hot encoding needs at least 2 classes, got {classes}"
        )));
    }
    let m = true_mass.unwrap_or(1.0);
    if !(m > 0.0 && m <= 1.0) {
        return Err(FlowError::InvalidArgument(format!(
            "label smoothing mass must be in (0, 1], got {m}"
        )));
    }
    if out.len() != tokens.len() * classes {
        return Err(FlowError::InvalidArgument(format!(
            "one-hot output has {} scalars, want {} tokens x {classes} classes",
            out.len(),
            tokens.len()
        )));
    }
    if let Some(&t) = tokens.iter().find(|&&t| t as usize >= classes) {
        return Err(FlowError::InvalidArgument(format!(
            "token {t} is not below the number of classes {classes}"
        )));
    }
    let rest = (1.0 - m) / (classes - 1) as f64;
    let (hi, lo) = if sqrt {
        (T::c(m.sqrt()), T::c(rest.sqrt()))
    } else {
        (T::c(m), T::c(rest))
    };
    for (o, &t) in out.chunks_exact_mut(classes).zip(tokens) {
        o.fill(lo);
        o[t as usize] = hi;
    }
    Ok(())
}

/// The most likely class of every factor of rows on $(\Delta^{K-1})^L$ or $(S^{K-1}_+)^L$
/// (`points` is `[n, L·K]` flattened; one token per `K` scalars; the first maximum wins; NaN
/// never wins). Writes `points.len() / classes` tokens into `out`.
///
/// # Panics
/// If `classes == 0`, `points.len()` is not a multiple of `classes`, or
/// `out.len() != points.len() / classes`.
///
/// ```
/// let mut t = [0u32; 2];
/// geoflow_flows::data::argmax_tokens_into(&[0.1f64, 0.7, 0.2, 0.5, 0.2, 0.3], 3, &mut t);
/// assert_eq!(t, [1, 0]);
/// ```
#[track_caller]
pub fn argmax_tokens_into<T: Real>(points: &[T], classes: usize, out: &mut [u32]) {
    assert!(
        classes > 0 && points.len() % classes == 0 && out.len() == points.len() / classes,
        "argmax_tokens_into: {} scalars, {classes} classes, {} outputs",
        points.len(),
        out.len()
    );
    for (o, f) in out.iter_mut().zip(points.chunks_exact(classes)) {
        let mut best = 0usize;
        for (j, &x) in f.iter().enumerate() {
            if x > f[best] || f[best].is_nan() {
                best = j;
            }
        }
        *o = best as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geoflow_manifolds::Manifold;

    #[test]
    fn windows_and_vocabulary() {
        let s = Sequences::from_text("t", "hello world\n", 4, None, 0).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s.symbols(), &["\n", " ", "d", "e", "h", "l", "o", "r", "w"]);
        assert_eq!(s.decode(0), "hell");
        assert_eq!(s.decode(2), "rld\n");
        let r = Sequences::from_text("t", "hello world\n", 4, Some(50), 9).unwrap();
        assert_eq!(r.len(), 50);
        assert_eq!(
            r,
            Sequences::from_text("t", "hello world\n", 4, Some(50), 9).unwrap()
        );
        assert_ne!(
            r,
            Sequences::from_text("t", "hello world\n", 4, Some(50), 10).unwrap()
        );
        let text = "hello world\n";
        for i in 0..r.len() {
            assert!(text.contains(&r.decode(i)));
        }
        assert!(Sequences::from_text("t", "abc", 4, None, 0).is_err());
        assert!(Sequences::from_text("t", "abc", 0, None, 0).is_err());
        // Unicode characters are single tokens.
        let u = Sequences::from_text("t", "αβαβ", 2, None, 0).unwrap();
        assert_eq!((u.len(), u.vocab_size()), (2, 2));
    }

    #[test]
    fn new_validates() {
        let sym = vec!["a".to_string(), "b".to_string()];
        assert!(Sequences::new("s", 2, sym.clone(), vec![0, 1, 1]).is_err());
        assert!(Sequences::new("s", 2, sym.clone(), vec![0, 2]).is_err());
        assert!(Sequences::new("s", 0, sym.clone(), vec![]).is_err());
        assert!(Sequences::new("s", 2, vec![], vec![]).is_err());
        let s = Sequences::new("s", 2, sym, vec![0, 1, 1, 0]).unwrap();
        assert_eq!(s.subset(&[1]).tokens(), &[1, 0]);
    }

    #[test]
    fn simplex_and_orthant_rows_are_points() {
        let s = Sequences::from_text("t", "abcdabcaddcb", 3, None, 0).unwrap();
        let sm = s.simplex_manifold::<f64>().unwrap();
        let om = s.orthant_manifold::<f64>().unwrap();
        for m in [None, Some(0.98), Some(0.25), Some(0.1)] {
            let p = s.to_simplex::<f64>(m).unwrap();
            let x = s.to_orthant::<f64>(m).unwrap();
            assert_eq!(p.dim(), 12);
            p.check_on(&sm).unwrap();
            x.check_on(&om).unwrap();
            for (a, b) in p.as_slice().iter().zip(x.as_slice()) {
                assert!((a.sqrt() - b).abs() < 1e-15);
            }
            let mut t = vec![0u32; s.tokens().len()];
            argmax_tokens_into(p.as_slice(), 4, &mut t);
            if m.is_none_or(|m| m > 0.25) {
                assert_eq!(t, s.tokens());
            }
        }
        let p = s.to_simplex::<f32>(Some(0.98)).unwrap();
        let sm32 = s.simplex_manifold::<f32>().unwrap();
        for r in p.rows() {
            sm32.check_point(r).unwrap();
        }
        assert!(s.to_simplex::<f64>(Some(0.0)).is_err());
        assert!(s.to_simplex::<f64>(Some(1.5)).is_err());
        assert!(s.to_simplex::<f64>(Some(f64::NAN)).is_err());
        let one = Sequences::from_text("t", "aaaa", 2, None, 0).unwrap();
        assert!(one.to_simplex::<f64>(None).is_err());
        let mut out = [0.0f64; 3];
        assert!(one_hot_into(&[0], 2, None, false, &mut out).is_err());
        assert!(one_hot_into(&[5], 3, None, false, &mut out).is_err());
    }

    #[test]
    fn tiny_shakespeare_if_present() {
        let p = crate::data::tests::test_data_dir().join("tinyshakespeare/input.txt");
        if !p.exists() {
            println!("SKIPPED: {} not found", p.display());
            return;
        }
        let s = Sequences::from_text_file(&p, 64, Some(100), 0).unwrap();
        assert_eq!(s.vocab_size(), 65);
        assert_eq!((s.len(), s.seq_len()), (100, 64));
        assert_eq!(s.name(), "input");
        let all = Sequences::from_text_file(&p, 256, None, 0).unwrap();
        assert_eq!(all.len(), 1_115_394 / 256);
    }
}
