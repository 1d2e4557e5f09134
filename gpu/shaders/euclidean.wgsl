// Euclidean R^n. Mirrors geoflow_manifolds::euclidean.

// Euclidean::exp_into: p + v.
fn exp_row(row: u32, base: u32) {
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = a[base + i] + b[base + i];
    }
}

// Euclidean::log_into: q - p.
fn log_row(row: u32, base: u32) {
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = b[base + i] - a[base + i];
    }
}

// Euclidean::dist (numerics::dist2, without the over/underflow rescaling).
fn dist_row(row: u32, base: u32) {
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        let d = a[base + i] - b[base + i];
        s = fma(d, d, s);
    }
    let r = vec4<f32>(red1(s), 0.0, 0.0, 0.0);
    if (LANE == 0u) {
        out[row] = sqrt_sum(r.x);
    }
}

// Euclidean::inner: u.v.
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

// Euclidean::geodesic_into: fma(t, q - p, p).
fn geodesic_row(row: u32, base: u32) {
    let t = c[row];
    for (var i = LANE; i < D; i += STRIDE) {
        let x = a[base + i];
        out[base + i] = fma(t, b[base + i] - x, x);
    }
}

// Euclidean::geodesic_velocity_into: q - p.
fn geodesic_velocity_row(row: u32, base: u32) {
    log_row(row, base);
}

// Euclidean::transport_into (ParallelTransport): v.
fn transport_row(row: u32, base: u32) {
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = c[base + i];
    }
}

// Euclidean::project_tangent_into: u.
fn project_tangent_row(row: u32, base: u32) {
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = b[base + i];
    }
}

// Euclidean::project_point_into: x.
fn project_point_row(row: u32, base: u32) {
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = a[base + i];
    }
}
