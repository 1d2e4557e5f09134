//! The error type of the flows crate.

use geoflow_manifolds::ManifoldError;
use std::fmt;

/// Everything that can go wrong in `geoflow-flows`: bad data (with the file and line), bad
/// arguments, numerical failures (reported, never swallowed) and I/O.
#[derive(Debug)]
pub enum FlowError {
    /// A data file could not be parsed: `path:line: message`.
    Data {
        /// The file (or a built-in dataset's name).
        path: String,
        /// 1-based line number (0 when the error is about the whole file).
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A point or tangent vector is off the manifold.
    Manifold(ManifoldError),
    /// An argument is out of range or inconsistent.
    InvalidArgument(String),
    /// A solver or estimator failed (non-finite state, step size underflow, …).
    Numerical(String),
    /// An I/O error with the path it concerns.
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowError::Data { path, line, msg } if *line > 0 => write!(f, "{path}:{line}: {msg}"),
            FlowError::Data { path, msg, .. } => write!(f, "{path}: {msg}"),
            FlowError::Manifold(e) => write!(f, "{e}"),
            FlowError::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            FlowError::Numerical(m) => write!(f, "numerical failure: {m}"),
            FlowError::Io { path, source } => write!(f, "{path}: {source}"),
        }
    }
}

impl std::error::Error for FlowError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FlowError::Manifold(e) => Some(e),
            FlowError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<ManifoldError> for FlowError {
    fn from(e: ManifoldError) -> Self {
        FlowError::Manifold(e)
    }
}

/// `Result` with [`FlowError`].
pub type Result<T, E = FlowError> = std::result::Result<T, E>;
