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
/// `mode_subgroup.wgsl`: one subgroup per point, subgroup reductions.
pub const MODE_SUBGROUP: &str = include_str!("../shaders/mode_subgroup.wgsl");
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
    /// dimensions on adapters without a fixed subgroup size.
    Coop,
    /// One subgroup per point (`64 / subgroup size` points per workgroup) with subgroup
    /// reductions (`subgroupAdd`, shuffles): large dimensions where the adapter supports
    /// subgroups with a fixed size (32 on NVIDIA).
    Subgroup,
}

impl Mode {
    /// The workgroup size (both modes use 64 invocations).
    pub const WORKGROUP: u32 = 64;

    /// The mode chosen automatically for `d` scalars per row on an adapter with the given
    /// fixed subgroup size (`None`: no subgroups, or a variable size): [`Mode::Thread`] below
    /// [`COOP_MIN_DIM`], else [`Mode::Subgroup`] when there is a fixed subgroup size, else
    /// [`Mode::Coop`].
    pub fn auto(d: usize, subgroup: Option<u32>) -> Self {
        if d < COOP_MIN_DIM {
            Mode::Thread
        } else if subgroup.is_some() {
            Mode::Subgroup
        } else {
            Mode::Coop
        }
    }

    /// Points covered by one workgroup (`subgroup`: the subgroup size, for
    /// [`Mode::Subgroup`]).
    pub fn rows_per_workgroup(self, subgroup: u32) -> u32 {
        match self {
            Mode::Thread => Self::WORKGROUP,
            Mode::Coop => 1,
            Mode::Subgroup => Self::WORKGROUP / subgroup.max(1),
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
fn entry_point(op: Op, mode: Mode) -> String {
    let name = op.name();
    let width = if op.scalar_output() { "1u" } else { "D" };
    let (extra, start) = match mode {
        Mode::Subgroup => (
            ", @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) sg_lane: u32",
            "start_row_sg(wid, nwg, sg_id, sg_lane)",
        ),
        _ => ("", "start_row(wid, nwg, lid)"),
    };
    format!(
        "\n@compute @workgroup_size(WG)\n\
         fn {name}_main(@builtin(workgroup_id) wid: vec3<u32>, \
         @builtin(num_workgroups) nwg: vec3<u32>, \
         @builtin(local_invocation_id) lid: vec3<u32>{extra}) {{\n    \
             set_opaque();\n    \
             let row = {start};\n    \
             if (row >= arrayLength(&out) / {width}) {{\n        return;\n    }}\n    \
             {name}_row(row, row * D);\n}}\n"
    )
}

/// The complete WGSL module of `family` in `mode`, with one entry point per [`Op`].
pub fn module_source(family: Family, mode: Mode) -> String {
    let prelude = match mode {
        Mode::Thread => MODE_THREAD,
        Mode::Coop => MODE_COOP,
        Mode::Subgroup => MODE_SUBGROUP,
    };
    let mut s = format!("{prelude}\n{COMMON}\n{}\n", family_source(family));
    for op in Op::ALL {
        s.push_str(&entry_point(op, mode));
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
            naga::valid::Capabilities::SUBGROUP,
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: validation error\n{}", e.emit_to_string(src)));
    }

    /// Every kernel module (7 families × 3 modes) and the copy kernel parse and validate with
    /// naga, with no GPU.
    #[test]
    fn every_shader_parses_and_validates() {
        for family in Family::ALL {
            for mode in [Mode::Thread, Mode::Coop, Mode::Subgroup] {
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
