//! The error type of every fallible operation in `geoflow-manifolds`.

use core::fmt;

/// What went wrong, with how far off the input was where that can be measured.
///
/// Hot kernels (`exp_into`, `log_into`, …) never return this: they trust their inputs. It comes
/// from constructors, from `check_point` / `check_tangent`, and from the `try_*` variants.
///
/// ```
/// use geoflow_manifolds::{prelude::*, Sphere};
/// let s = Sphere::<f64>::new(2).unwrap();
/// let err = s.check_point(&[0.0, 0.0, 2.0]).unwrap_err();
/// assert!(err.to_string().contains("residual"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ManifoldError {
    /// The point does not satisfy the manifold's constraint; `residual` is the size of the
    /// violation in the constraint's own units and `tol` the tolerance it exceeded.
    NotOnManifold {
        /// Size of the constraint violation.
        residual: f64,
        /// Tolerance that was exceeded.
        tol: f64,
    },
    /// The vector is not in the tangent space at the given point.
    NotTangent {
        /// Size of the normal component (or of the violated linear constraint).
        residual: f64,
        /// Tolerance that was exceeded.
        tol: f64,
    },
    /// The logarithm (or geodesic, or transport) is asked for a pair of points on each other's
    /// cut locus, where no unique minimising geodesic exists (antipodes on the sphere, opposite
    /// angles on the torus).
    CutLocus,
    /// A slice has the wrong length.
    DimensionMismatch {
        /// Length that was expected.
        expected: usize,
        /// Length that was given.
        got: usize,
    },
    /// An input contains NaN or an infinity.
    NonFinite,
    /// A constructor parameter is out of range.
    InvalidParameter(&'static str),
    /// The result left the manifold's domain (for example, an exponential step that leaves the
    /// closed positive orthant or the simplex); `residual` says by how much.
    LeftDomain {
        /// How far outside the domain the result is (most negative coordinate, sign flipped).
        residual: f64,
    },
}

impl fmt::Display for ManifoldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotOnManifold { residual, tol } => write!(
                f,
                "point is not on the manifold: residual {residual:.3e} exceeds tolerance {tol:.3e}"
            ),
            Self::NotTangent { residual, tol } => write!(
                f,
                "vector is not tangent at the point: residual {residual:.3e} exceeds tolerance {tol:.3e}"
            ),
            Self::CutLocus => write!(
                f,
                "points are on each other's cut locus: no unique minimising geodesic"
            ),
            Self::DimensionMismatch { expected, got } => {
                write!(f, "dimension mismatch: expected length {expected}, got {got}")
            }
            Self::NonFinite => write!(f, "input contains NaN or infinity"),
            Self::InvalidParameter(msg) => write!(f, "invalid parameter: {msg}"),
            Self::LeftDomain { residual } => write!(
                f,
                "result left the manifold's domain by {residual:.3e}"
            ),
        }
    }
}

impl std::error::Error for ManifoldError {}
