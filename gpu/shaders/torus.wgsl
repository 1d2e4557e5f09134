// Flat torus T^n (angles in [-pi, pi)). Mirrors geoflow_manifolds::torus.

// x - k c1 rounded once, as the CPU's fma(-k, c1, x): k c1 = p + e exactly (two_prod), and
// x - p is exact where it matters (Sterbenz), so this does not need a fused fma (lavapipe's is
// not).
fn wrap_hi(x: f32, k: f32, c1: f32) -> f32 {
    let pe = two_prod(k, c1);
    return opaque(x - pe.x) - pe.y;
}

// torus::wrap_angle: Cody-Waite split of 2 pi (TWO_PI_1..3, f32 values), k fixed with the exact
// sign of r - pi and r + pi (PI_LO = pi - pi_f32).
fn wrap_angle(x: f32) -> f32 {
    let pi = PI;
    if (x >= -pi && x < pi) {
        return x;
    }
    if (!is_finite(x)) {
        return f32_nan();
    }
    let c1 = 6.28318548202514648;
    let c2 = -1.7484555e-7;
    let c3 = -6.860498e-15;
    let pi_lo = -8.742278e-8;
    var k = round(x * (1.0 / c1));
    var hi = wrap_hi(x, k, c1);
    var lo = fma(-k, c2, -k * c3);
    for (var it = 0; it < 3; it++) {
        if ((hi - pi) + (lo - pi_lo) >= 0.0) {
            k = k + 1.0;
        } else if ((hi + pi) + (lo + pi_lo) < 0.0) {
            k = k - 1.0;
        } else {
            break;
        }
        hi = wrap_hi(x, k, c1);
        lo = fma(-k, c2, -k * c3);
    }
    let r = hi + lo;
    if (r >= pi || r < -pi) {
        return -pi;
    }
    return r;
}

// FlatTorus::exp_into: wrap(p + v).
fn exp_row(row: u32, base: u32) {
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = wrap_angle(a[base + i] + b[base + i]);
    }
}

// FlatTorus::log_into: wrap(q - p).
fn log_row(row: u32, base: u32) {
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = wrap_angle(b[base + i] - a[base + i]);
    }
}

// FlatTorus::dist: |wrap(q - p)|.
fn dist_row(row: u32, base: u32) {
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        let d = wrap_angle(b[base + i] - a[base + i]);
        s = fma(d, d, s);
    }
    let r = vec4<f32>(red1(s), 0.0, 0.0, 0.0);
    if (LANE == 0u) {
        out[row] = sqrt(r.x);
    }
}

// FlatTorus::inner: u.v.
fn inner_row(row: u32, base: u32) {
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        s = fma(b[base + i], c[base + i], s);
    }
    let r = vec4<f32>(red1(s), 0.0, 0.0, 0.0);
    if (LANE == 0u) {
        out[row] = r.x;
    }
}

// FlatTorus::geodesic_into: wrap(fma(t, wrap(q - p), p)).
fn geodesic_row(row: u32, base: u32) {
    let t = c[row];
    for (var i = LANE; i < D; i += STRIDE) {
        let x = a[base + i];
        out[base + i] = wrap_angle(fma(t, wrap_angle(b[base + i] - x), x));
    }
}

// FlatTorus::geodesic_velocity_into: log_p q.
fn geodesic_velocity_row(row: u32, base: u32) {
    log_row(row, base);
}

// FlatTorus::transport_into (ParallelTransport): v.
fn transport_row(row: u32, base: u32) {
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = c[base + i];
    }
}

// FlatTorus::project_tangent_into: u.
fn project_tangent_row(row: u32, base: u32) {
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = b[base + i];
    }
}

// FlatTorus::project_point_into: wrap(x).
fn project_point_row(row: u32, base: u32) {
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = wrap_angle(a[base + i]);
    }
}
