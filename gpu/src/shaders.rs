//! The WGSL sources (embedded with `include_str!`) and how a kernel module is assembled from
//! them: mode prelude + `common.wgsl` + the manifold's file + generated entry points.

use crate::{Family, Op};

/// `common.wgsl`: bindings, the f32 elementary functions, the series-safe functions of
/// `geoflow_manifolds::numerics`, double-word arithmetic.
pub const COMMON: &str = include_str!("../shaders/common.wgsl");
/// `mode_thread.wgsl`: one thread per point.
pub const MODE_THREAD: &str = include_str!("../shaders/mode_thread.wgsl");
/// `mode_coop.wgsl`: one workgroup per point, workgroup reductions.
pub const MODE_COOP: &str = include_str!("../shaders/mode_coop.wgsl");
/// `euclidean.wgsl`.
pub const EUCLIDEAN: &str = include_str!("../shaders/euclidean.wgsl");
/// `sphere.wgsl` (also the positive orthant).
pub const SPHERE: &str = include_str!("../shaders/sphere.wgsl");
/// `simplex.wgsl`.
pub const SIMPLEX: &str = include_str!("../shaders/simplex.wgsl");
/// `torus.wgsl`.
pub const TORUS: &str = include_str!("../shaders/torus.wgsl");
/// `lorentz.wgsl`.
pub const LORENTZ: &str = include_str!("../shaders/lorentz.wgsl");
/// `poincare.wgsl`.
pub const POINCARE: &str = include_str!("../shaders/poincare.wgsl");
/// `copy.wgsl`: the plain copy kernel the benchmarks use as the device's bandwidth reference.
pub const COPY: &str = include_str!("../shaders/copy.wgsl");

/// How rows are mapped to invocations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// One invocation per point (64 points per workgroup): small dimensions.
    Thread,
    /// One workgroup of 64 invocations per point, with workgroup-shared reductions: large
    /// dimensions.
    Coop,
}

impl Mode {
    /// The workgroup size (both modes use 64 invocations).
    pub const WORKGROUP: u32 = 64;

    /// The mode chosen automatically for `d` scalars per row: [`Mode::Coop`] from
    /// [`COOP_MIN_DIM`] on.
    pub fn auto(d: usize) -> Self {
        if d >= COOP_MIN_DIM {
            Mode::Coop
        } else {
            Mode::Thread
        }
    }

    /// Points covered by one workgroup.
    pub fn rows_per_workgroup(self) -> u32 {
        match self {
            Mode::Thread => Self::WORKGROUP,
            Mode::Coop => 1,
        }
    }
}

/// Ambient dimension from which the cooperative kernels are used.
pub const COOP_MIN_DIM: usize = 32;

/// The manifold-specific source of `family`.
pub fn family_source(family: Family) -> String {
    match family {
        Family::Euclidean => EUCLIDEAN.to_string(),
        Family::Sphere => format!("const ABS_PROJECT: bool = false;\n{SPHERE}"),
        Family::PositiveOrthant => format!("const ABS_PROJECT: bool = true;\n{SPHERE}"),
        Family::Simplex => SIMPLEX.to_string(),
        Family::FlatTorus => TORUS.to_string(),
        Family::Lorentz => LORENTZ.to_string(),
        Family::PoincareBall => POINCARE.to_string(),
    }
}

/// The entry point of `op`: `<op>_main`, which finds its row, bounds-checks it against the
/// output length and calls `<op>_row(row, row * D)`.
fn entry_point(op: Op) -> String {
    let name = op.name();
    let width = if op.scalar_output() { "1u" } else { "D" };
    format!(
        "\n@compute @workgroup_size(WG)\n\
         fn {name}_main(@builtin(workgroup_id) wid: vec3<u32>, \
         @builtin(num_workgroups) nwg: vec3<u32>, \
         @builtin(local_invocation_id) lid: vec3<u32>) {{\n    \
             set_opaque();\n    \
             let row = start_row(wid, nwg, lid);\n    \
             if (row >= arrayLength(&out) / {width}) {{\n        return;\n    }}\n    \
             {name}_row(row, row * D);\n}}\n"
    )
}

/// The complete WGSL module of `family` in `mode`, with one entry point per [`Op`].
pub fn module_source(family: Family, mode: Mode) -> String {
    let prelude = match mode {
        Mode::Thread => MODE_THREAD,
        Mode::Coop => MODE_COOP,
    };
    let mut s = format!("{prelude}\n{COMMON}\n{}\n", family_source(family));
    for op in Op::ALL {
        s.push_str(&entry_point(op));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(name: &str, src: &str) {
        let module = naga::front::wgsl::parse_str(src)
            .unwrap_or_else(|e| panic!("{name}: parse error\n{}", e.emit_to_string(src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: validation error\n{}", e.emit_to_string(src)));
    }

    /// Every kernel module (7 families × 2 modes) and the copy kernel parse and validate with
    /// naga, with no GPU.
    #[test]
    fn every_shader_parses_and_validates() {
        for family in Family::ALL {
            for mode in [Mode::Thread, Mode::Coop] {
                validate(
                    &format!("{family:?}/{mode:?}"),
                    &module_source(family, mode),
                );
            }
        }
        validate("copy", COPY);
    }

    /// Each kernel names its CPU mirror in a comment.
    #[test]
    fn kernels_name_their_cpu_functions() {
        for (src, ty) in [
            (EUCLIDEAN, "Euclidean::"),
            (SPHERE, "Sphere::"),
            (SIMPLEX, "Simplex"),
            (TORUS, "FlatTorus::"),
            (LORENTZ, "Lorentz::"),
            (POINCARE, "PoincareBall::"),
        ] {
            for op in Op::ALL {
                let f = format!("fn {}_row(", op.name());
                let at = src.find(&f).unwrap_or_else(|| panic!("{ty}: no {f}"));
                let before = &src[..at];
                let comment = before.lines().rev().take(3).collect::<Vec<_>>().join("\n");
                assert!(comment.contains(ty), "{ty}: {f} lacks a CPU-mirror comment");
            }
        }
    }
}
