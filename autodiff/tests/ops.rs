//! Every op: VJP and JVP against central differences, duality, reverse-over-forward.

mod common;
use common::*;
use geoflow_autodiff::{Tape, Var};

fn r(seed: u64, rows: usize, cols: usize, lo: f64, hi: f64) -> Input {
    let mut g = rng(seed);
    input(randv(&mut g, rows * cols, lo, hi), rows, cols)
}

macro_rules! unary_case {
    ($name:ident, $method:ident, $lo:expr, $hi:expr) => {
        #[test]
        fn $name() {
            check_all(
                stringify!($method),
                &|t: &mut Tape<f64>, v: &[Var]| t.$method(v[0]),
                &[r(1, 3, 4, $lo, $hi)],
                7,
            );
        }
    };
}

unary_case!(exp_elem, exp_elem, -2.0, 2.0);
unary_case!(ln, ln, 0.3, 3.0);
unary_case!(sin, sin, -3.0, 3.0);
unary_case!(cos, cos, -3.0, 3.0);
unary_case!(tanh, tanh, -2.0, 2.0);
unary_case!(sigmoid, sigmoid, -4.0, 4.0);
unary_case!(silu, silu, -4.0, 4.0);
unary_case!(gelu, gelu, -3.0, 3.0);
unary_case!(softplus, softplus, -4.0, 4.0);
unary_case!(sqrt, sqrt, 0.5, 3.0);
unary_case!(square, square, -2.0, 2.0);
unary_case!(recip, recip, 0.5, 2.0);
unary_case!(sinc, sinc, -4.0, 4.0);
unary_case!(sinhc, sinhc, -3.0, 3.0);
unary_case!(sinc_sqrt, sinc_sqrt, 0.0, 30.0);
unary_case!(cos_sqrt, cos_sqrt, 0.0, 30.0);
unary_case!(sinhc_sqrt, sinhc_sqrt, 0.0, 20.0);
unary_case!(cosh_sqrt, cosh_sqrt, 0.0, 20.0);
unary_case!(neg, neg, -2.0, 2.0);
unary_case!(softmax, softmax, -2.0, 2.0);
unary_case!(log_softmax, log_softmax, -2.0, 2.0);
unary_case!(sum, sum, -2.0, 2.0);
unary_case!(sum_rows, sum_rows, -2.0, 2.0);
unary_case!(sum_cols, sum_cols, -2.0, 2.0);
unary_case!(mean, mean, -2.0, 2.0);
unary_case!(mean_rows, mean_rows, -2.0, 2.0);
unary_case!(mean_cols, mean_cols, -2.0, 2.0);
unary_case!(row_sq, row_sq, -2.0, 2.0);
unary_case!(row_norm, row_norm, -2.0, 2.0);

#[test]
fn sinc_near_zero_and_at_zero() {
    // Both sides of the series switch and exactly 0: finite, smooth.
    check_all(
        "sinc small",
        &|t: &mut Tape<f64>, v: &[Var]| t.sinc(v[0]),
        &[input(vec![1e-9, -3e-5, 2e-4, 0.5], 1, 4)],
        3,
    );
    let mut tape = Tape::<f64>::new();
    let x = tape.leaf(&[0.0], 1, 1);
    let y = tape.sinc(x);
    let one = tape.scalar(1.0);
    let dy = tape.jvp1(y, &[x], &[one]);
    let g = tape.backward(dy);
    assert_eq!(tape.value(y)[0], 1.0);
    assert_eq!(tape.value(dy)[0], 0.0);
    assert!((g.wrt(x)[0] + 1.0 / 3.0).abs() < 1e-15); // sinc''(0) = -1/3
}

#[test]
fn scale_offset() {
    check_all(
        "scale",
        &|t: &mut Tape<f64>, v: &[Var]| t.scale(v[0], -1.7),
        &[r(2, 2, 3, -1.0, 1.0)],
        1,
    );
    check_all(
        "offset",
        &|t: &mut Tape<f64>, v: &[Var]| {
            let a = t.offset(v[0], 0.3);
            t.square(a)
        },
        &[r(2, 2, 3, -1.0, 1.0)],
        1,
    );
}

#[test]
fn binary_ops_with_broadcasting() {
    let shapes = [
        ((3, 4), (3, 4)),
        ((3, 4), (1, 4)),
        ((3, 4), (3, 1)),
        ((3, 4), (1, 1)),
        ((1, 4), (3, 4)),
        ((3, 1), (1, 4)),
    ];
    for (k, &((ar, ac), (br, bc))) in shapes.iter().enumerate() {
        let xs = [
            r(10 + k as u64, ar, ac, 0.5, 2.0),
            r(20 + k as u64, br, bc, 0.5, 2.0),
        ];
        check_all(
            "add",
            &|t: &mut Tape<f64>, v: &[Var]| t.add(v[0], v[1]),
            &xs,
            1,
        );
        check_all(
            "sub",
            &|t: &mut Tape<f64>, v: &[Var]| t.sub(v[0], v[1]),
            &xs,
            2,
        );
        check_all(
            "mul",
            &|t: &mut Tape<f64>, v: &[Var]| t.mul(v[0], v[1]),
            &xs,
            3,
        );
        check_all(
            "div",
            &|t: &mut Tape<f64>, v: &[Var]| t.div(v[0], v[1]),
            &xs,
            4,
        );
        check_all(
            "div_safe",
            &|t: &mut Tape<f64>, v: &[Var]| t.div_safe(v[0], v[1]),
            &xs,
            5,
        );
        check_all(
            "atan2",
            &|t: &mut Tape<f64>, v: &[Var]| t.atan2(v[0], v[1]),
            &xs,
            6,
        );
    }
    // Same variable on both sides.
    check_all(
        "mul self",
        &|t: &mut Tape<f64>, v: &[Var]| t.mul(v[0], v[0]),
        &[r(3, 2, 2, -1.0, 1.0)],
        1,
    );
}

#[test]
fn matmul_all_transposes() {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a = if ta {
            r(1, 4, 3, -1.0, 1.0)
        } else {
            r(1, 3, 4, -1.0, 1.0)
        };
        let b = if tb {
            r(2, 2, 4, -1.0, 1.0)
        } else {
            r(2, 4, 2, -1.0, 1.0)
        };
        let f = move |t: &mut Tape<f64>, v: &[Var]| t.matmul_t(v[0], v[1], ta, tb);
        check_all("matmul", &f, &[a, b], 4);
    }
}

#[test]
fn affine_and_a_small_network() {
    let xs = [
        r(1, 5, 3, -1.0, 1.0),
        r(2, 3, 4, -1.0, 1.0),
        r(3, 1, 4, -1.0, 1.0),
    ];
    check_all(
        "affine",
        &|t: &mut Tape<f64>, v: &[Var]| t.affine(v[0], v[1], v[2]),
        &xs,
        1,
    );
    check_all(
        "affine silu affine",
        &|t: &mut Tape<f64>, v: &[Var]| {
            let h = t.affine(v[0], v[1], v[2]);
            let h = t.silu(h);
            let h2 = t.tanh(h);
            t.matmul_t(h, h2, false, true)
        },
        &xs,
        2,
    );
}

#[test]
fn shape_ops() {
    let xs = [r(1, 3, 4, -1.0, 1.0), r(2, 3, 2, -1.0, 1.0)];
    check_all(
        "concat",
        &|t: &mut Tape<f64>, v: &[Var]| {
            let c = t.concat(v[0], v[1]);
            t.square(c)
        },
        &xs,
        1,
    );
    check_all(
        "slice",
        &|t: &mut Tape<f64>, v: &[Var]| {
            let s = t.slice(v[0], 1, 2);
            t.sin(s)
        },
        &xs[..1],
        2,
    );
    check_all(
        "gather",
        &|t: &mut Tape<f64>, v: &[Var]| {
            let s = t.gather(v[0], &[2, 0, 2, 1]);
            t.square(s)
        },
        &xs[..1],
        3,
    );
    check_all(
        "broadcast",
        &|t: &mut Tape<f64>, v: &[Var]| {
            let s = t.sum_cols(v[0]);
            let b = t.broadcast(s, 3, 4);
            t.mul(b, v[0])
        },
        &xs[..1],
        4,
    );
    let ys = [r(3, 3, 4, -1.0, 1.0), r(4, 3, 4, -1.0, 1.0)];
    check_all(
        "row_dot",
        &|t: &mut Tape<f64>, v: &[Var]| {
            let d = t.row_dot(v[0], v[1]);
            t.square(d)
        },
        &ys,
        5,
    );
}

#[test]
fn stop_gradient_blocks_gradient_and_tangent() {
    let mut tape = Tape::<f64>::new();
    let x = tape.leaf(&[2.0], 1, 1);
    let s = tape.stop_gradient(x);
    let y = tape.mul(x, s); // x * sg(x): d/dx = sg(x) = 2
    let one = tape.scalar(1.0);
    let dy = tape.jvp1(y, &[x], &[one]);
    assert_eq!(tape.value(dy)[0], 2.0);
    let g = tape.backward(y);
    assert_eq!(g.wrt(x)[0], 2.0);
    assert!(g.get(s).is_none());
}

#[test]
fn jvp_of_a_jvp_is_the_second_derivative() {
    let mut tape = Tape::<f64>::new();
    let x = tape.leaf(&[0.7], 1, 1);
    let y = tape.silu(x);
    let one = tape.scalar(1.0);
    let d1 = tape.jvp1(y, &[x], &[one]);
    let d2 = tape.jvp1(d1, &[x], &[one]);
    let g = tape.backward(d2);
    let h = 1e-4;
    let f2 = |x: f64| {
        let s = |x: f64| x / (1.0 + (-x).exp());
        (s(x + h) - 2.0 * s(x) + s(x - h)) / (h * h)
    };
    assert!((tape.value(d2)[0] - f2(0.7)).abs() < 1e-6);
    let f3 = (f2(0.7 + 1e-3) - f2(0.7 - 1e-3)) / 2e-3;
    assert!((g.wrt(x)[0] - f3).abs() < 1e-4, "{} vs {f3}", g.wrt(x)[0]);
}

#[test]
#[should_panic(expected = "matmul: inner dimensions differ: a is [2, 3], b is [4, 5]")]
fn matmul_shape_mistake_panics_with_shapes() {
    let mut tape = Tape::<f32>::new();
    let a = tape.zeros(2, 3);
    let b = tape.zeros(4, 5);
    tape.matmul(a, b);
}

#[test]
#[should_panic(expected = "shapes [2, 3] and [3, 2] do not broadcast")]
fn broadcast_shape_mistake_panics_with_shapes() {
    let mut tape = Tape::<f64>::new();
    let a = tape.zeros(2, 3);
    let b = tape.zeros(3, 2);
    tape.add(a, b);
}

#[test]
fn f32_tape_runs() {
    let mut tape = Tape::<f32>::new();
    let x = tape.leaf(&[1.0, 2.0, 3.0, 4.0], 2, 2);
    let w = tape.leaf(&[0.5, -1.0, 2.0, 0.25], 2, 2);
    let y = tape.matmul(x, w);
    let y = tape.silu(y);
    let l = tape.mean(y);
    let g = tape.backward(l);
    assert!(g.wrt(w).iter().all(|v| v.is_finite()));
    assert!(g.wrt(x).iter().all(|v| v.is_finite()));
}

#[test]
#[should_panic(expected = "exp: expected [2, 3] (ambient dimension 3), got [2, 4]")]
fn manifold_shape_mistake_panics_with_shapes() {
    let s2 = geoflow_manifolds::Sphere::<f64>::new(2).unwrap();
    let mut tape = Tape::<f64>::new();
    let p = tape.zeros(2, 3);
    let v = tape.zeros(2, 4);
    tape.exp(&s2, p, v);
}

#[test]
fn vjp_of_a_vector_output() {
    let mut tape = Tape::<f64>::new();
    let x = tape.leaf(&[1.0, 2.0, 3.0], 1, 3);
    let y = tape.square(x);
    let mut g = geoflow_autodiff::Grads::new();
    tape.vjp_into(y, &[1.0, -1.0, 0.5], &mut g);
    assert_eq!(g.wrt(x), &[2.0, -4.0, 3.0]);
}
