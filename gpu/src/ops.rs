//! The manifold families, the operations, the [`GpuManifold`] trait and the error type.

use geoflow_manifolds::{
    Euclidean, FlatTorus, Lorentz, Manifold, PoincareBall, PositiveOrthant, Simplex, Sphere,
};

/// The manifolds with GPU kernels (one WGSL file each; the orthant shares the sphere's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// [`Euclidean`].
    Euclidean,
    /// [`Sphere`].
    Sphere,
    /// [`PositiveOrthant`].
    PositiveOrthant,
    /// [`Simplex`] (Fisher–Rao).
    Simplex,
    /// [`FlatTorus`].
    FlatTorus,
    /// [`Lorentz`].
    Lorentz,
    /// [`PoincareBall`].
    PoincareBall,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 7] = [
        Family::Euclidean,
        Family::Sphere,
        Family::PositiveOrthant,
        Family::Simplex,
        Family::FlatTorus,
        Family::Lorentz,
        Family::PoincareBall,
    ];

    /// The Rust type name of the CPU manifold.
    pub fn name(self) -> &'static str {
        match self {
            Family::Euclidean => "Euclidean",
            Family::Sphere => "Sphere",
            Family::PositiveOrthant => "PositiveOrthant",
            Family::Simplex => "Simplex",
            Family::FlatTorus => "FlatTorus",
            Family::Lorentz => "Lorentz",
            Family::PoincareBall => "PoincareBall",
        }
    }
}

/// A batched operation. Each one mirrors the CPU batch method of the same name
/// (`<name>_batch_into`), with the same arguments and row-major `[n, d]` slices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `exp_batch_into(ps, vs, outs)`.
    Exp,
    /// `log_batch_into(ps, qs, outs)`.
    Log,
    /// `dist_batch_into(ps, qs, ds)`: one scalar per row.
    Dist,
    /// `inner_batch_into(ps, us, vs, out)`: one scalar per row.
    Inner,
    /// `geodesic_batch_into(ps, qs, ts, outs)`: one `t` per row.
    Geodesic,
    /// `geodesic_velocity_batch_into(ps, qs, ts, outs)`.
    GeodesicVelocity,
    /// `transport_batch_into(ps, qs, vs, outs)` (`ParallelTransport`).
    Transport,
    /// `project_tangent_batch_into(ps, us, outs)`.
    ProjectTangent,
    /// `project_point_batch_into(xs, outs)`.
    ProjectPoint,
}

/// What each input of an op holds per row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// `d` scalars (a point or a tangent vector).
    Row,
    /// One scalar (the `t` of a geodesic).
    Scalar,
}

impl Op {
    /// Every op.
    pub const ALL: [Op; 9] = [
        Op::Exp,
        Op::Log,
        Op::Dist,
        Op::Inner,
        Op::Geodesic,
        Op::GeodesicVelocity,
        Op::Transport,
        Op::ProjectTangent,
        Op::ProjectPoint,
    ];

    /// The snake-case name (`geodesic_velocity`); the kernel is `<name>_main`.
    pub fn name(self) -> &'static str {
        match self {
            Op::Exp => "exp",
            Op::Log => "log",
            Op::Dist => "dist",
            Op::Inner => "inner",
            Op::Geodesic => "geodesic",
            Op::GeodesicVelocity => "geodesic_velocity",
            Op::Transport => "transport",
            Op::ProjectTangent => "project_tangent",
            Op::ProjectPoint => "project_point",
        }
    }

    /// The inputs, in the order of the CPU batch method.
    pub fn args(self) -> &'static [Arg] {
        use Arg::*;
        match self {
            Op::Exp | Op::Log | Op::Dist | Op::ProjectTangent => &[Row, Row],
            Op::Inner | Op::Transport => &[Row, Row, Row],
            Op::Geodesic | Op::GeodesicVelocity => &[Row, Row, Scalar],
            Op::ProjectPoint => &[Row],
        }
    }

    /// `true` when the output is one scalar per row (dist, inner).
    pub fn scalar_output(self) -> bool {
        matches!(self, Op::Dist | Op::Inner)
    }
}

/// A manifold whose batch operations run on the GPU: the `f32` manifolds of
/// `geoflow_manifolds` (Euclidean, Sphere, PositiveOrthant, Simplex, FlatTorus, Lorentz,
/// PoincareBall).
pub trait GpuManifold {
    /// The kernel family.
    fn family(&self) -> Family;
    /// Scalars per point (`Manifold::ambient_dim`).
    fn gpu_ambient_dim(&self) -> usize;
}

macro_rules! gpu_manifold {
    ($($ty:ident),*) => {$(
        impl GpuManifold for $ty<f32> {
            fn family(&self) -> Family {
                Family::$ty
            }
            fn gpu_ambient_dim(&self) -> usize {
                self.ambient_dim()
            }
        }
    )*};
}

gpu_manifold!(
    Euclidean,
    Sphere,
    PositiveOrthant,
    Simplex,
    FlatTorus,
    Lorentz,
    PoincareBall
);

/// Errors of the GPU crate. Shape mistakes are errors here (not panics), so that a bad call can
/// never reach the device.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum GpuError {
    /// No adapter (GPU or software Vulkan such as Mesa's lavapipe) was found.
    NoAdapter(String),
    /// The adapter refused to create a device.
    Device(String),
    /// A slice length does not match the batch: `what` names the argument.
    Length {
        /// The argument (`"exp_batch_into: vs"`).
        what: String,
        /// The expected number of scalars.
        expected: usize,
        /// The given number.
        got: usize,
    },
    /// A batch does not fit in one device buffer (`max_buffer_size`).
    TooLarge {
        /// Bytes needed.
        bytes: u64,
        /// The device's limit.
        max: u64,
    },
    /// Mapping a buffer for reading failed.
    Map(String),
    /// The output batch of a device op is also one of its inputs (a storage buffer cannot be
    /// read-only and writable in one dispatch).
    Aliased(String),
}

impl core::fmt::Display for GpuError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GpuError::NoAdapter(s) => write!(f, "no GPU adapter: {s}"),
            GpuError::Device(s) => write!(f, "GPU device error: {s}"),
            GpuError::Length {
                what,
                expected,
                got,
            } => write!(f, "{what}: expected {expected} scalars, got {got}"),
            GpuError::TooLarge { bytes, max } => write!(
                f,
                "batch of {bytes} bytes exceeds the device's max_buffer_size {max}"
            ),
            GpuError::Map(s) => write!(f, "buffer mapping failed: {s}"),
            GpuError::Aliased(s) => write!(f, "aliased batches: {s}"),
        }
    }
}

impl std::error::Error for GpuError {}
