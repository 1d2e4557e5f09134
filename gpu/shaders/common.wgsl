// Shared part of every geoflow kernel module (f32).
//
// The host prepends one of two mode preludes (see `gpu/src/shaders.rs`), which define
//   WG      the workgroup size,
//   STRIDE  the stride of the element loops (1: one thread per point; WG: one workgroup per point),
//   LANE    this invocation's first element (0, or the local index in cooperative mode),
//   red1 / red4 / red8 / red4_max / red_dw2 / red_argmin   the row reductions (identity per thread, or
//           a workgroup tree reduction whose result is read back with workgroupUniformLoad),
//   start_row   the row of this invocation on the (possibly 2-D) dispatch grid,
// and appends the entry points `<op>_main`. Every element loop of a kernel reads
//     for (var i = LANE; i < D; i += STRIDE) { ... }
// so that the same source runs in both modes. `D` (the ambient dimension, scalars per row) is a
// pipeline-overridable constant.
//
// Bindings (one layout for every kernel): a, b, c are the inputs (p, q|v|u, ts|v), out the
// output; unused inputs are bound to `a`. The row count is arrayLength(&out) / (D or 1).

override D: u32 = 3u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// `opaque(x)` returns x, through an integer XOR with a runtime zero (the top bit of the output
// length, which no binding reaches) that the compiler cannot see through. It hides algebraic
// identities such as (a + b) - a = b or (1 + x) - 1 = x from the shader compilers' inexact
// rewrites (Mesa's NIR, for one, applies them to SPIR-V without NoContraction, and a float
// multiply by a runtime 1.0 was not enough), which would silently break two_sum, two_prod and
// log1p.
var<private> OPQ_MASK: u32;

fn set_opaque() {
    OPQ_MASK = arrayLength(&out) & 0x80000000u;
}

fn opaque(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ OPQ_MASK);
}

const PI: f32 = 3.14159265358979323846;
const FRAC_PI_2: f32 = 1.57079632679489661923;
const LN_2: f32 = 0.693147180559945309417;
const F32_MIN_POSITIVE: f32 = 1.17549435e-38;
const F32_EPSILON: f32 = 1.1920929e-7;

fn f32_inf() -> f32 {
    return bitcast<f32>(0x7f800000u);
}

fn f32_nan() -> f32 {
    return bitcast<f32>(0x7fc00000u);
}

fn is_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn is_normal(x: f32) -> bool {
    let e = bitcast<u32>(x) & 0x7f800000u;
    return e != 0u && e != 0x7f800000u;
}

// ---------------------------------------------------------------------------------------------
// Elementary functions. The WGSL built-ins sin, cos, exp, log, atan2, sinh, asinh, ... have
// loose (absolute, or thousands of ulps) error bounds on Vulkan/Metal and are implemented with
// hardware approximations on most GPUs, which would break the relative-accuracy envelope of the
// CPU crate (e.g. sinc near its cutoff, asinh of a small chord). These are Cephes-style f32
// implementations, accurate to about 1-2 ulps over the ranges the kernels use.
// ---------------------------------------------------------------------------------------------

// sin and cos of r in [-pi/4, pi/4] (Cephes sinf/cosf polynomials).
fn sin_poly(r: f32) -> f32 {
    let z = r * r;
    return ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
}

fn cos_poly(r: f32) -> f32 {
    let z = r * r;
    return ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z
        - 0.5 * z + 1.0;
}

// (sin x, cos x): Cody-Waite reduction by pi/2 (three parts), then the octant polynomials.
fn m_sincos(x: f32) -> vec2<f32> {
    let k = round(x * 0.636619772367581343);
    var r = x - k * 1.5703125;
    r = r - k * 4.837512969970703125e-4;
    r = r - k * 7.549789954891882e-8;
    let s = sin_poly(r);
    let co = cos_poly(r);
    let q = i32(k) & 3;
    if (q == 0) {
        return vec2<f32>(s, co);
    } else if (q == 1) {
        return vec2<f32>(co, -s);
    } else if (q == 2) {
        return vec2<f32>(-s, -co);
    }
    return vec2<f32>(-co, s);
}

fn m_sin(x: f32) -> f32 {
    return m_sincos(x).x;
}

fn m_cos(x: f32) -> f32 {
    return m_sincos(x).y;
}

// e^x (Cephes expf): x = n ln2 + r, |r| <= ln2/2.
fn m_exp(x0: f32) -> f32 {
    if (x0 > 88.72283905206835) {
        return f32_inf();
    }
    if (x0 < -103.97) {
        return 0.0;
    }
    let n = floor(x0 * 1.44269504088896341 + 0.5);
    var x = x0 - n * 0.693359375;
    x = x - n * -2.12194440e-4;
    let z = x * x;
    let y = (((((1.9875691500e-4 * x + 1.3981999507e-3) * x + 8.3334519073e-3) * x
        + 4.1665795894e-2) * x + 1.6666665459e-1) * x + 5.0000001201e-1) * z + x + 1.0;
    // ldexp in two steps so that 2^n itself never overflows or underflows.
    let n1 = i32(n) / 2;
    return ldexp(ldexp(y, n1), i32(n) - n1);
}

// ln x for x > 0 (Cephes logf).
fn m_log(x0: f32) -> f32 {
    if (!(x0 > 0.0)) {
        if (x0 == 0.0) {
            return -f32_inf();
        }
        return f32_nan();
    }
    if (!is_finite(x0)) {
        return x0;
    }
    let fr = frexp(x0);
    var x = fr.fract;
    var e = f32(fr.exp);
    if (x < 0.707106781186547524) {
        e = e - 1.0;
        x = x + x - 1.0;
    } else {
        x = x - 1.0;
    }
    let z = x * x;
    var y = ((((((((7.0376836292e-2 * x - 1.1514610310e-1) * x + 1.1676998740e-1) * x
        - 1.2420140846e-1) * x + 1.4249322787e-1) * x - 1.6668057665e-1) * x
        + 2.0000714765e-1) * x - 2.4999993993e-1) * x + 3.3333331174e-1) * x * z;
    y = y + -2.12194440e-4 * e;
    y = y + -0.5 * z;
    return x + y + 0.693359375 * e;
}

// ln(1 + x) without cancellation (the u - 1 trick).
fn m_log1p(x: f32) -> f32 {
    let u = opaque(1.0 + x);
    if (u == 1.0) {
        return x;
    }
    return m_log(u) * (x / opaque(u - 1.0));
}

fn m_sinh(x: f32) -> f32 {
    let ax = abs(x);
    if (ax <= 1.0) {
        let z = x * x;
        return ((2.03721912945e-4 * z + 8.33028376239e-3) * z + 1.66667160211e-1) * z * x + x;
    }
    let e = m_exp(ax);
    let s = 0.5 * e - 0.5 / e;
    return select(s, -s, x < 0.0);
}

fn m_cosh(x: f32) -> f32 {
    let e = m_exp(abs(x));
    return 0.5 * e + 0.5 / e;
}

fn m_tanh(x: f32) -> f32 {
    let ax = abs(x);
    if (ax > 44.0) {
        return select(1.0, -1.0, x < 0.0);
    }
    if (ax >= 0.625) {
        let t = 1.0 - 2.0 / (m_exp(2.0 * ax) + 1.0);
        return select(t, -t, x < 0.0);
    }
    let z = x * x;
    return ((((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z
        + 1.33314422036e-1) * z - 3.33332819422e-1) * z * x + x;
}

fn m_asinh(x: f32) -> f32 {
    let ax = abs(x);
    var r: f32;
    if (ax > 1e18) {
        r = m_log(ax) + LN_2;
    } else {
        let a2 = ax * ax;
        r = m_log1p(ax + a2 / (1.0 + sqrt(1.0 + a2)));
    }
    return select(r, -r, x < 0.0);
}

// atan x (Cephes atanf).
fn m_atan(x0: f32) -> f32 {
    var x = abs(x0);
    var y = 0.0;
    if (x > 2.414213562373095) {
        y = FRAC_PI_2;
        x = -1.0 / x;
    } else if (x > 0.4142135623730950) {
        y = 0.785398163397448309616;
        x = (x - 1.0) / (x + 1.0);
    }
    let z = x * x;
    y = y + (((8.05374449538e-2 * z - 1.38776856032e-1) * z + 1.99777106478e-1) * z
        - 3.33329491539e-1) * z * x + x;
    return select(y, -y, x0 < 0.0);
}

fn m_atan2(y: f32, x: f32) -> f32 {
    let ax = abs(x);
    let ay = abs(y);
    if (ax == 0.0 && ay == 0.0) {
        return select(0.0, PI, x < 0.0 || bitcast<u32>(x) == 0x80000000u);
    }
    var r: f32;
    if (ay <= ax) {
        r = m_atan(ay / ax);
    } else {
        r = FRAC_PI_2 - m_atan(ax / ay);
    }
    if (x < 0.0) {
        r = PI - r;
    }
    return select(r, -r, y < 0.0);
}

// ---------------------------------------------------------------------------------------------
// Series-safe functions, mirroring geoflow_manifolds::numerics (f32 cutoffs).
// ---------------------------------------------------------------------------------------------

// numerics::sinc, SINC_CUTOFF.0 = 1e-2.
fn sinc(x: f32) -> f32 {
    if (abs(x) < 1e-2) {
        let x2 = x * x;
        return 1.0 - x2 / 6.0 + x2 * x2 / 120.0;
    }
    return m_sin(x) / x;
}

// numerics::sinhc, SINHC_CUTOFF.0 = 1e-2.
fn sinhc(x: f32) -> f32 {
    if (abs(x) < 1e-2) {
        let x2 = x * x;
        return 1.0 + x2 / 6.0 + x2 * x2 / 120.0;
    }
    return m_sinh(x) / x;
}

// numerics::x_over_sin, X_OVER_SIN_CUTOFF.0 = 1e-2.
fn x_over_sin(x: f32) -> f32 {
    if (abs(x) < 1e-2) {
        let x2 = x * x;
        return 1.0 + x2 / 6.0 + (7.0 / 360.0) * x2 * x2;
    }
    return x / m_sin(x);
}

// numerics::x_over_sinh, X_OVER_SINH_CUTOFF.0 = 1e-2.
fn x_over_sinh(x: f32) -> f32 {
    if (abs(x) < 1e-2) {
        let x2 = x * x;
        return 1.0 - x2 / 6.0 + (7.0 / 360.0) * x2 * x2;
    }
    let s = m_sinh(x);
    if (!is_finite(s)) {
        return 0.0;
    }
    return x / s;
}

// numerics::tanh_over_x, TANH_OVER_X_CUTOFF.0 = 1e-2.
fn tanh_over_x(x: f32) -> f32 {
    if (abs(x) < 1e-2) {
        let x2 = x * x;
        return 1.0 - x2 / 3.0 + (2.0 / 15.0) * x2 * x2;
    }
    return m_tanh(x) / x;
}

// poincare::asinh_over_x, ASINH_OVER_X_CUTOFF.0 = 1e-2.
fn asinh_over_x(x: f32) -> f32 {
    if (abs(x) < 1e-2) {
        let x2 = x * x;
        return 1.0 - x2 / 6.0 + (3.0 / 40.0) * x2 * x2;
    }
    return m_asinh(x) / x;
}

// ---------------------------------------------------------------------------------------------
// Double-word arithmetic (lorentz::Dw / two_sum), as vec2(hi, lo). The CPU forms the exact
// product with a fused mul_add; here it is Dekker's two_prod (Veltkamp splitting), which is exact
// whether or not the driver fuses `fma`, and `opaque` keeps the compilers from simplifying the
// error terms away.
// ---------------------------------------------------------------------------------------------

fn two_sum(x: f32, y: f32) -> vec2<f32> {
    let s = opaque(x + y);
    let bb = opaque(s - x);
    let e1 = opaque(x - opaque(s - bb));
    let e2 = opaque(y - bb);
    return vec2<f32>(s, e1 + e2);
}

fn dw_add(x: vec2<f32>, y: vec2<f32>) -> vec2<f32> {
    let s = two_sum(x.x, y.x);
    return two_sum(s.x, opaque(s.y + x.y) + y.y);
}

// Veltkamp split of x into hi + lo with hi of 12 significant bits (|x| < 1e34).
fn split(x: f32) -> vec2<f32> {
    let t = opaque(4097.0 * x);
    let hi = opaque(t - opaque(t - x));
    return vec2<f32>(hi, opaque(x - hi));
}

// Dekker's exact product: x y = p + e. Needs no fused fma (Mesa's lavapipe, for one, lowers
// `fma` to a multiply and an add), and a contracted fma would not change the result.
fn two_prod(x: f32, y: f32) -> vec2<f32> {
    let p = opaque(x * y);
    let xs = split(x);
    let ys = split(y);
    var e = opaque(opaque(xs.x * ys.x) - p);
    e = opaque(e + opaque(xs.x * ys.y));
    e = opaque(e + opaque(xs.y * ys.x));
    e = e + opaque(xs.y * ys.y);
    return vec2<f32>(p, e);
}

fn dw_mul(x: vec2<f32>, y: vec2<f32>) -> vec2<f32> {
    let pe = two_prod(x.x, y.x);
    let e = pe.y + (x.x * y.y + x.y * y.x);
    return two_sum(pe.x, e);
}

fn dw_div(x: vec2<f32>, y: vec2<f32>) -> vec2<f32> {
    let q1 = x.x / y.x;
    let r = dw_add(x, dw_mul(y, vec2<f32>(-q1, 0.0)));
    let q2 = r.x / y.x;
    return two_sum(q1, q2);
}

fn dw(x: f32) -> vec2<f32> {
    return vec2<f32>(x, 0.0);
}

// sqrt of a sum of squares (numerics::norm without its rescaling branch: see ERROR_BUDGET.md).
fn sqrt_sum(s: f32) -> f32 {
    return sqrt(s);
}
