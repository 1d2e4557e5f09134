//! The device API: chunking past the binding limit and the 2-D grid (forced with small
//! limits), device-resident batches, bad input (errors, never a device crash).

mod common;

use common::{case, gpu};
use geoflow_gpu::{ChunkLimits, Family, GpuError, Mode, Op};
use geoflow_manifolds::prelude::*;
use geoflow_manifolds::{Lorentz, Simplex, Sphere};

/// Small limits: 4 KiB bindings (so a D = 3 batch of 5000 points takes 15+ chunks of 320
/// rows), 64 KiB buffers (host calls upload in pieces), 4 workgroups per grid dimension (so
/// every chunk needs the 2-D grid).
fn small() -> ChunkLimits {
    ChunkLimits {
        max_binding_bytes: 4096,
        max_buffer_bytes: 64 * 1024,
        max_workgroups_per_dim: 4,
    }
}

#[test]
fn chunked_and_2d_grid_results_equal_single_dispatch() {
    let Some(gpu) = gpu() else { return };
    for (family, d, n, limits) in [
        (Family::Sphere, 3, 5000, small()),
        (Family::Lorentz, 3, 5000, small()),
        (
            Family::Simplex,
            64,
            700,
            ChunkLimits {
                max_binding_bytes: 64 * 64 * 4,
                ..small()
            },
        ),
    ] {
        let c = case(family, d, n, 5);
        let small_gpu = gpu.with_chunk_limits(limits);
        assert_eq!(small_gpu.chunk_limits(), limits);
        for op in [Op::Exp, Op::Dist, Op::Geodesic, Op::Transport] {
            let mut whole = vec![0.0f32; c.out_len(op)];
            let mut chunked = vec![1.0f32; c.out_len(op)];
            let t1 = run(gpu, family, d, op, &c.inputs(op), &mut whole);
            let t2 = run(&small_gpu, family, d, op, &c.inputs(op), &mut chunked);
            assert_eq!(t1.dispatches, 1, "{family:?} {op:?}");
            assert!(
                t2.dispatches > 4,
                "{family:?} {op:?}: {} dispatches",
                t2.dispatches
            );
            assert_eq!(whole, chunked, "{family:?} {op:?} D={d}");
        }
    }
}

fn run(
    g: &geoflow_gpu::GpuContext,
    family: Family,
    d: usize,
    op: Op,
    ins: &[&[f32]],
    out: &mut [f32],
) -> geoflow_gpu::Timings {
    match family {
        Family::Sphere => g.batch_into(&Sphere::<f32>::new(d - 1).unwrap(), op, ins, out),
        Family::Lorentz => g.batch_into(&Lorentz::<f32>::new(d - 1).unwrap(), op, ins, out),
        Family::Simplex => g.batch_into(&Simplex::<f32>::new(d - 1).unwrap(), op, ins, out),
        _ => unreachable!(),
    }
    .unwrap()
}

/// Device-resident batches: upload once, chain exp → log → dist on the device, download once;
/// the result equals the host calls.
#[test]
fn device_batches_chain_ops() {
    let Some(gpu) = gpu() else { return };
    let s = Sphere::<f32>::new(7).unwrap();
    let c = case(Family::Sphere, 8, 3000, 9);
    let chunked = gpu.with_chunk_limits(ChunkLimits {
        max_buffer_bytes: 1 << 20,
        ..small()
    });
    for g in [gpu.with_mode(None), chunked] {
        let p = g.upload(&c.ps, 8).unwrap();
        let v = g.upload(&c.vs, 8).unwrap();
        let q = g.alloc(c.n, 8).unwrap();
        let w = g.alloc(c.n, 8).unwrap();
        let ds = g.alloc(c.n, 1).unwrap();
        g.run(&s, Op::Exp, &[&p, &v], &q).unwrap();
        g.run(&s, Op::Log, &[&p, &q], &w).unwrap();
        g.run(&s, Op::Dist, &[&p, &q], &ds).unwrap();
        let mut host_q = vec![0.0; c.n * 8];
        g.exp_batch_into(&s, &c.ps, &c.vs, &mut host_q).unwrap();
        assert_eq!(g.download(&q).unwrap(), host_q);
        let mut host_d = vec![0.0; c.n];
        g.dist_batch_into(&s, &c.ps, &host_q, &mut host_d).unwrap();
        assert_eq!(g.download(&ds).unwrap(), host_d);
        // |log_p exp_p v| = |v| for |v| < pi.
        let w = g.download(&w).unwrap();
        for i in 0..c.n {
            let r = i * 8..(i + 1) * 8;
            let nv = s.norm(&c.ps[r.clone()], &c.vs[r.clone()]);
            let nw = s.norm(&c.ps[r.clone()], &w[r]);
            if nv < 3.0 {
                assert!(
                    (nv - nw).abs() <= 2e-6 * nv.max(1.0),
                    "row {i}: {nv} vs {nw}"
                );
            }
        }
    }
}

/// Both kernel mappings give the same results up to the rounding of the reductions.
#[test]
fn thread_and_coop_mappings_agree() {
    let Some(gpu) = gpu() else { return };
    let s = Simplex::<f32>::new(40).unwrap();
    let c = case(Family::Simplex, 41, 500, 3);
    let mut a = vec![0.0; c.n * 41];
    let mut b = vec![0.0; c.n * 41];
    gpu.with_mode(Some(Mode::Thread))
        .log_batch_into(&s, &c.ps, &c.qs, &mut a)
        .unwrap();
    gpu.with_mode(Some(Mode::Coop))
        .log_batch_into(&s, &c.ps, &c.qs, &mut b)
        .unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-6 * (1.0 + x.abs()), "{x} vs {y}");
    }
}

#[test]
fn bad_input_is_an_error_not_a_crash() {
    let Some(gpu) = gpu() else { return };
    let s = Sphere::<f32>::new(2).unwrap();
    let ps = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    let mut out = [0.0f32; 6];
    let mut ds = [0.0f32; 2];
    // Wrong lengths in each argument.
    let e = gpu.exp_batch_into(&s, &ps, &ps[..5], &mut out).unwrap_err();
    assert!(
        matches!(&e, GpuError::Length { what, expected: 6, got: 5 } if what.contains("vs")),
        "{e}"
    );
    assert!(gpu
        .exp_batch_into(&s, &ps[..4], &ps[..4], &mut out[..4])
        .is_err());
    assert!(gpu.log_batch_into(&s, &ps, &ps, &mut out[..3]).is_err());
    assert!(gpu.dist_batch_into(&s, &ps, &ps, &mut out).is_err());
    assert!(gpu
        .geodesic_batch_into(&s, &ps, &ps, &[0.5], &mut out)
        .is_err());
    assert!(gpu
        .inner_batch_into(&s, &ps, &ps, &ps[..3], &mut ds)
        .is_err());
    assert!(gpu.batch_into(&s, Op::Exp, &[&ps], &mut out).is_err());
    // Device batches: mismatched rows, widths, number of inputs.
    let p = gpu.upload(&ps, 3).unwrap();
    let p1 = gpu.upload(&ps[..3], 3).unwrap();
    let o = gpu.alloc(2, 3).unwrap();
    let o1 = gpu.alloc(2, 1).unwrap();
    assert!(gpu.run(&s, Op::Exp, &[&p, &p1], &o).is_err());
    assert!(gpu.run(&s, Op::Exp, &[&p, &p], &o1).is_err());
    assert!(gpu.run(&s, Op::Dist, &[&p, &p], &o).is_err());
    assert!(gpu.run(&s, Op::Exp, &[&p], &o).is_err());
    assert!(gpu.upload(&ps[..5], 3).is_err());
    // In-place (output = input) is refused.
    assert!(matches!(
        gpu.run(&s, Op::Exp, &[&p, &o], &o),
        Err(GpuError::Aliased(_))
    ));
    let mut short = [0.0f32; 5];
    assert!(gpu.download_into(&o, &mut short).is_err());
    // Too large for the (forced) buffer limit.
    let tiny = gpu.with_chunk_limits(ChunkLimits {
        max_buffer_bytes: 16,
        ..small()
    });
    assert!(matches!(
        tiny.upload(&ps, 3),
        Err(GpuError::TooLarge { .. })
    ));
    // Empty batches are fine.
    assert_eq!(
        gpu.exp_batch_into(&s, &[], &[], &mut [])
            .unwrap()
            .dispatches,
        0
    );
    // The device still works after all that.
    gpu.exp_batch_into(&s, &ps, &[0.0; 6], &mut out).unwrap();
    assert_eq!(out, ps);
}

#[test]
fn context_reports_adapter_and_limits() {
    let Some(gpu) = gpu() else { return };
    assert!(!gpu.adapter_name().is_empty());
    assert!(!gpu.backend().is_empty());
    let l = gpu.chunk_limits();
    assert_eq!(
        l.max_binding_bytes,
        gpu.limits().max_storage_buffer_binding_size
    );
    assert!(l.max_workgroups_per_dim >= 65_535);
    println!(
        "{} ({}): binding {} B, buffer {} B",
        gpu.adapter_name(),
        gpu.backend(),
        l.max_binding_bytes,
        l.max_buffer_bytes
    );
}
