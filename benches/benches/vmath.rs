//! ns/element of the `vmath` slice functions against `std`'s scalar functions (libm calls) in a
//! plain loop, on 4096 in-cache elements, for `f32` and `f64`.
//!
//! Groups `vmath/{function}/{dtype}`, ids `vmath` and `std` (the series-safe quotients compare
//! with `numerics`, which calls std). Reference rows: `axpb` (`x·a + b`) and `sqrt`. The `std`
//! loop inlines the call site (generic closure), so it measures the libm call itself.
//!
//! The vmath loops vectorise to the target's width: SSE2 (2 × f64, 4 × f32, no FMA) on the
//! default x86-64 target; `RUSTFLAGS="-C target-cpu=x86-64-v3"` (AVX2 + FMA) or `native` to
//! see what wider vectors give.

// criterion_group!/criterion_main! generate undocumented public items.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use geoflow_manifolds::{numerics, vmath, Real};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N: usize = 4096;

fn inputs<T: Real>(lo: f64, hi: f64, seed: u64) -> Vec<T> {
    let mut g = ChaCha8Rng::seed_from_u64(seed);
    (0..N)
        .map(|_| T::c(lo + (hi - lo) * g.random::<f64>()))
        .collect()
}

type Slice<T> = fn(&[T], &mut [T]);

fn unary<T: Real>(
    c: &mut Criterion,
    name: &str,
    dom: (f64, f64),
    ours: Slice<T>,
    std: impl Fn(T) -> T,
) {
    let x = inputs::<T>(dom.0, dom.1, 1);
    let mut out = vec![T::zero(); N];
    let mut g = c.benchmark_group(format!("vmath/{name}/{}", T::NAME));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("vmath", |b| {
        b.iter(|| ours(black_box(&x), black_box(&mut out)))
    });
    g.bench_function("std", |b| {
        b.iter(|| {
            for (o, &x) in out.iter_mut().zip(black_box(&x)) {
                *o = std(x);
            }
            black_box(&mut out);
        })
    });
    g.finish();
}

fn pairs<T: Real>(c: &mut Criterion) {
    let x = inputs::<T>(-12.0, 12.0, 2);
    let y = inputs::<T>(-2.0, 2.0, 3);
    let (mut s, mut co) = (vec![T::zero(); N], vec![T::zero(); N]);
    let mut g = c.benchmark_group(format!("vmath/sin_cos/{}", T::NAME));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("vmath", |b| {
        b.iter(|| vmath::sin_cos_slice(black_box(&x), &mut s, &mut co))
    });
    g.bench_function("std", |b| {
        b.iter(|| {
            for ((s, c), &x) in s.iter_mut().zip(co.iter_mut()).zip(black_box(&x)) {
                (*s, *c) = (x.sin(), x.cos());
            }
            black_box((&mut s, &mut co));
        })
    });
    g.finish();
    let xs = inputs::<T>(-5.0, 5.0, 4);
    let mut g = c.benchmark_group(format!("vmath/sinh_cosh/{}", T::NAME));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("vmath", |b| {
        b.iter(|| vmath::sinh_cosh_slice(black_box(&xs), &mut s, &mut co))
    });
    g.bench_function("std", |b| {
        b.iter(|| {
            for ((s, c), &x) in s.iter_mut().zip(co.iter_mut()).zip(black_box(&xs)) {
                (*s, *c) = (x.sinh(), x.cosh());
            }
            black_box((&mut s, &mut co));
        })
    });
    g.finish();
    let mut g = c.benchmark_group(format!("vmath/atan2/{}", T::NAME));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("vmath", |b| {
        b.iter(|| vmath::atan2_slice(black_box(&y), black_box(&x), &mut s))
    });
    g.bench_function("std", |b| {
        b.iter(|| {
            for ((o, &y), &x) in s.iter_mut().zip(black_box(&y)).zip(black_box(&x)) {
                *o = y.atan2(x);
            }
            black_box(&mut s);
        })
    });
    g.finish();
}

fn axpb<T: Real>(x: &[T], out: &mut [T]) {
    for (o, &x) in out.iter_mut().zip(x) {
        *o = x * T::c(1.5) + T::c(0.25);
    }
}

fn sqrt<T: Real>(x: &[T], out: &mut [T]) {
    for (o, &x) in out.iter_mut().zip(x) {
        *o = x.sqrt();
    }
}

fn all<T: Real>(c: &mut Criterion) {
    unary::<T>(c, "axpb", (-1.0, 1.0), axpb, |x| x * T::c(1.5) + T::c(0.25));
    unary::<T>(c, "sqrt", (0.0, 4.0), sqrt, |x| x.sqrt());
    unary::<T>(c, "sin", (-12.0, 12.0), vmath::sin_slice, |x| x.sin());
    unary::<T>(c, "cos", (-12.0, 12.0), vmath::cos_slice, |x| x.cos());
    unary::<T>(c, "exp", (-10.0, 10.0), vmath::exp_slice, |x| x.exp());
    unary::<T>(c, "log", (0.01, 100.0), vmath::log_slice, |x| x.ln());
    unary::<T>(c, "atan", (-5.0, 5.0), vmath::atan_slice, |x| x.atan());
    unary::<T>(c, "acos", (-1.0, 1.0), vmath::acos_slice, |x| x.acos());
    unary::<T>(c, "tanh", (-5.0, 5.0), vmath::tanh_slice, |x| x.tanh());
    unary::<T>(c, "acosh", (1.0, 10.0), vmath::acosh_slice, |x| x.acosh());
    unary::<T>(c, "asinh", (-10.0, 10.0), vmath::asinh_slice, |x| x.asinh());
    unary::<T>(c, "atanh", (-0.99, 0.99), vmath::atanh_slice, |x| x.atanh());
    unary::<T>(c, "expm1", (-1.0, 1.0), vmath::expm1_slice, |x| x.exp_m1());
    unary::<T>(c, "log1p", (-0.5, 2.0), vmath::log1p_slice, |x| x.ln_1p());
    unary::<T>(c, "sinc", (0.0, 3.0), vmath::sinc_slice, numerics::sinc);
    unary::<T>(c, "sinhc", (0.0, 5.0), vmath::sinhc_slice, numerics::sinhc);
    unary::<T>(
        c,
        "x_over_sin",
        (0.0, 3.0),
        vmath::x_over_sin_slice,
        numerics::x_over_sin,
    );
    unary::<T>(
        c,
        "x_over_sinh",
        (0.0, 5.0),
        vmath::x_over_sinh_slice,
        numerics::x_over_sinh,
    );
    unary::<T>(
        c,
        "tanh_over_x",
        (0.0, 5.0),
        vmath::tanh_over_x_slice,
        numerics::tanh_over_x,
    );
    unary::<T>(
        c,
        "atanh_over_x",
        (0.0, 0.99),
        vmath::atanh_over_x_slice,
        numerics::atanh_over_x,
    );
    pairs::<T>(c);
}

fn benches(c: &mut Criterion) {
    all::<f32>(c);
    all::<f64>(c);
}

criterion_group! {
    name = vmath_benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(600));
    targets = benches
}
criterion_main!(vmath_benches);
