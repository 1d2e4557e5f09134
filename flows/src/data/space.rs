//! [`Space`]: which manifold a dataset or a synthetic target lives on, as plain data.

use std::fmt;

/// The manifold of a built-in dataset or synthetic target, described by kind and intrinsic
/// dimension so that a caller (the CLI) can build the matching `geoflow_manifolds` type.
///
/// ```
/// use geoflow_flows::data::Space;
/// assert_eq!(Space::Sphere(2).ambient_dim(), 3);
/// assert_eq!(Space::FlatTorus(7).ambient_dim(), 7);
/// assert_eq!(Space::SimplexPower { classes: 4, positions: 10 }.ambient_dim(), 40);
/// assert_eq!(Space::Lorentz(2).to_string(), "H^2 (Lorentz)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Space {
    /// $\mathbb R^n$ (`Euclidean::new(n)`), `n` coordinates.
    Euclidean(usize),
    /// $S^n \subset \mathbb R^{n+1}$ (`Sphere::new(n)`).
    Sphere(usize),
    /// $T^n$ with angles in $\lbrack -\pi, \pi)$ (`FlatTorus::new(n)`).
    FlatTorus(usize),
    /// $H^n \subset \mathbb R^{n+1}$, the hyperboloid (`Lorentz::new(n)`).
    Lorentz(usize),
    /// $B^n$, the Poincaré ball (`PoincareBall::new(n)`).
    PoincareBall(usize),
    /// $(\Delta^{K-1})^L$: `positions` ($L$) factors `Simplex::new(classes - 1)`
    /// (`Power::new(Simplex::new(K - 1)?, L)`); one-hot sequences live on its vertices.
    SimplexPower {
        /// Categories per position, $K$.
        classes: usize,
        /// Sequence length, $L$.
        positions: usize,
    },
}

impl Space {
    /// Intrinsic dimension.
    pub fn dim(&self) -> usize {
        match *self {
            Space::Euclidean(n)
            | Space::Sphere(n)
            | Space::FlatTorus(n)
            | Space::Lorentz(n)
            | Space::PoincareBall(n) => n,
            Space::SimplexPower { classes, positions } => classes.saturating_sub(1) * positions,
        }
    }

    /// Scalars per point (the ambient dimension `D` of the rows).
    pub fn ambient_dim(&self) -> usize {
        match *self {
            Space::Euclidean(n) | Space::FlatTorus(n) | Space::PoincareBall(n) => n,
            Space::Sphere(n) | Space::Lorentz(n) => n + 1,
            Space::SimplexPower { classes, positions } => classes * positions,
        }
    }
}

impl fmt::Display for Space {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Space::Euclidean(n) => write!(f, "R^{n}"),
            Space::Sphere(n) => write!(f, "S^{n}"),
            Space::FlatTorus(n) => write!(f, "T^{n}"),
            Space::Lorentz(n) => write!(f, "H^{n} (Lorentz)"),
            Space::PoincareBall(n) => write!(f, "B^{n} (Poincare ball)"),
            Space::SimplexPower { classes, positions } => {
                write!(f, "(Delta^{})^{positions}", classes.saturating_sub(1))
            }
        }
    }
}
