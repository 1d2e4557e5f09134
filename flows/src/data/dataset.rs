//! [`Dataset`]: the points of one manifold as a row-major `[n, D]` buffer.

use crate::data::split::Split;
use crate::{FlowError, Result};
use geoflow_manifolds::{Manifold, Real};

/// Points of one manifold, stored row-major as `[n, D]` with `D` = [`dim`](Self::dim) (the
/// manifold's ambient dimension), plus a name for messages and reports.
///
/// Every constructor guarantees `D ≥ 1`, `data.len() = n · D` and finite entries; the loaders in
/// [`crate::data`] also guarantee that every row passed the manifold's `check_point`.
///
/// ```
/// use geoflow_flows::data::Dataset;
/// let d = Dataset::new("pts", 2, vec![0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0])?;
/// assert_eq!((d.len(), d.dim()), (3, 2));
/// assert_eq!(d.row(1), &[2.0, 3.0]);
/// let s = d.subset(&[2, 0]);
/// assert_eq!(s.as_slice(), &[4.0, 5.0, 0.0, 1.0]);
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<T> {
    name: String,
    dim: usize,
    data: Vec<T>,
}

impl<T: Real> Dataset<T> {
    /// A dataset of `data.len() / dim` rows. Errors ([`FlowError::InvalidArgument`]): `dim = 0`,
    /// a length that is not a multiple of `dim`, or a non-finite entry.
    pub fn new(name: impl Into<String>, dim: usize, data: Vec<T>) -> Result<Self> {
        let name = name.into();
        if dim == 0 {
            return Err(FlowError::InvalidArgument(format!(
                "dataset {name}: dimension must be at least 1"
            )));
        }
        if data.len() % dim != 0 {
            return Err(FlowError::InvalidArgument(format!(
                "dataset {name}: {} scalars is not a multiple of the dimension {dim}",
                data.len()
            )));
        }
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(FlowError::InvalidArgument(format!(
                "dataset {name}: row {} has a non-finite coordinate",
                i / dim
            )));
        }
        Ok(Self { name, dim, data })
    }

    /// Like [`new`](Self::new), and checks every row with `m.check_point`; the error names the
    /// (0-based) row. The dimension is `m.ambient_dim()`.
    pub fn on_manifold<M: Manifold<Scalar = T> + ?Sized>(
        name: impl Into<String>,
        m: &M,
        data: Vec<T>,
    ) -> Result<Self> {
        let d = Self::new(name, m.ambient_dim(), data)?;
        d.check_on(m)?;
        Ok(d)
    }

    /// Checks every row with `m.check_point` (and the dimension against `m.ambient_dim()`).
    pub fn check_on<M: Manifold<Scalar = T> + ?Sized>(&self, m: &M) -> Result<()> {
        if m.ambient_dim() != self.dim {
            return Err(FlowError::InvalidArgument(format!(
                "dataset {}: rows have {} coordinates, the manifold needs {}",
                self.name,
                self.dim,
                m.ambient_dim()
            )));
        }
        for (i, r) in self.rows().enumerate() {
            m.check_point(r).map_err(|e| {
                FlowError::InvalidArgument(format!(
                    "dataset {}: row {i} is not a point of the manifold: {e}",
                    self.name
                ))
            })?;
        }
        Ok(())
    }

    /// The name (a built-in dataset's name, or the file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames the dataset.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Number of points `n`.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// `true` when there are no points.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Scalars per point `D` (the ambient dimension).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Point `i` (`D` scalars).
    ///
    /// # Panics
    /// If `i >= len()`.
    #[track_caller]
    pub fn row(&self, i: usize) -> &[T] {
        assert!(
            i < self.len(),
            "Dataset::row: index {i} out of range for {} rows",
            self.len()
        );
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The points in order, each `D` scalars.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, T> {
        self.data.chunks_exact(self.dim)
    }

    /// The whole row-major `[n, D]` buffer.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// Consumes the dataset, returning the row-major `[n, D]` buffer.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// The rows `indices` (in that order, repeats allowed) as a new dataset with the same name.
    ///
    /// # Panics
    /// If an index is `>= len()`.
    #[track_caller]
    pub fn subset(&self, indices: &[usize]) -> Self {
        let mut data = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Self {
            name: self.name.clone(),
            dim: self.dim,
            data,
        }
    }

    /// Gathers rows `indices` into `out` (`[indices.len(), D]`) without allocating (for
    /// minibatches).
    ///
    /// # Panics
    /// If an index is `>= len()` or `out.len() != indices.len() * D`.
    #[track_caller]
    pub fn gather_into(&self, indices: &[usize], out: &mut [T]) {
        assert_eq!(
            out.len(),
            indices.len() * self.dim,
            "Dataset::gather_into: out has {} scalars, want {} rows x {}",
            out.len(),
            indices.len(),
            self.dim
        );
        for (o, &i) in out.chunks_exact_mut(self.dim).zip(indices) {
            o.copy_from_slice(self.row(i));
        }
    }

    /// The three parts `(train, val, test)` of a [`Split`], named `name/train` etc.
    ///
    /// # Panics
    /// If the split has an index `>= len()` (it was made for another dataset).
    #[track_caller]
    pub fn split(&self, s: &Split) -> (Self, Self, Self) {
        let part = |idx: &[usize], tag: &str| {
            let mut d = self.subset(idx);
            d.name = format!("{}/{tag}", self.name);
            d
        };
        (
            part(&s.train, "train"),
            part(&s.val, "val"),
            part(&s.test, "test"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geoflow_manifolds::Sphere;

    #[test]
    fn constructors_validate() {
        assert!(Dataset::<f64>::new("x", 0, vec![]).is_err());
        assert!(Dataset::new("x", 2, vec![1.0f64, 2.0, 3.0]).is_err());
        let e = Dataset::new("x", 2, vec![1.0f64, 2.0, f64::NAN, 0.0]).unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
        let s = Sphere::<f64>::new(2).unwrap();
        assert!(Dataset::on_manifold("s", &s, vec![0.0, 0.0, 1.0]).is_ok());
        let e = Dataset::on_manifold("s", &s, vec![0.0, 0.0, 1.0, 0.0, 0.0, 2.0]).unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
        let empty = Dataset::<f32>::new("e", 3, vec![]).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
    }

    #[test]
    fn accessors_subset_gather_split() {
        let d = Dataset::new("d", 2, (0..10).map(f64::from).collect()).unwrap();
        assert_eq!(d.len(), 5);
        assert_eq!(d.rows().nth(4).unwrap(), &[8.0, 9.0]);
        let s = d.subset(&[4, 4, 0]);
        assert_eq!(s.as_slice(), &[8.0, 9.0, 8.0, 9.0, 0.0, 1.0]);
        let mut out = [0.0; 4];
        d.gather_into(&[1, 3], &mut out);
        assert_eq!(out, [2.0, 3.0, 6.0, 7.0]);
        let sp = Split {
            train: vec![0, 1, 2],
            val: vec![3],
            test: vec![4],
        };
        let (a, b, c) = d.split(&sp);
        assert_eq!((a.len(), b.len(), c.len()), (3, 1, 1));
        assert_eq!(c.name(), "d/test");
        assert_eq!(c.row(0), &[8.0, 9.0]);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn row_out_of_range_panics() {
        let d = Dataset::new("d", 1, vec![1.0f32]).unwrap();
        let _ = d.row(1);
    }
}
