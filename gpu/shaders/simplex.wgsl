// Probability simplex with the Fisher-Rao metric, through x = sqrt(p) onto the radius-2 sphere.
// Mirrors geoflow_manifolds::simplex (f32 cutoffs of numerics).

// simplex::sqrt0: sqrt(max(p, 0)).
fn sqrt0(p: f32) -> f32 {
    return sqrt(max(p, 0.0));
}

// simplex::recip0: 1/x for x > 0, else 0.
fn recip0(x: f32) -> f32 {
    if (x > 0.0) {
        return 1.0 / x;
    }
    return 0.0;
}

// simplex::sqrt_diff: sqrt q - sqrt p as (q - p)/(sqrt q + sqrt p).
fn sqrt_diff(p: f32, q: f32, x: f32, z: f32) -> f32 {
    let s = x + z;
    if (s > 0.0) {
        return (max(q, 0.0) - max(p, 0.0)) / s;
    }
    return 0.0;
}

// simplex::chord_anti: (C^2, A^2).
fn chord_anti(base: u32) -> vec2<f32> {
    var m = vec4<f32>(0.0);
    for (var i = LANE; i < D; i += STRIDE) {
        let p = a[base + i];
        let q = b[base + i];
        let x = sqrt0(p);
        let z = sqrt0(q);
        let d = sqrt_diff(p, q, x, z);
        let e = x + z;
        m.x = fma(d, d, m.x);
        m.y = fma(e, e, m.y);
    }
    return red4(m).xy;
}

// Simplex::exp_into (exp_coeffs): (cos th x + sinc th w)^2, w = v/(2 sqrt p), th = |w|.
fn exp_row(row: u32, base: u32) {
    var t2 = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        let w = b[base + i] * 0.5 * recip0(sqrt0(a[base + i]));
        t2 = fma(w, w, t2);
    }
    let theta = sqrt(red1(t2));
    let co = m_cos(theta);
    let s = sinc(theta);
    for (var i = LANE; i < D; i += STRIDE) {
        let x = sqrt0(a[base + i]);
        let y = co * x + s * (b[base + i] * 0.5 * recip0(x));
        out[base + i] = y * y;
    }
}

// Simplex::log_into (log_scalars): 2 kappa (sqrt p (z - x) + sigma p).
fn log_row(row: u32, base: u32) {
    let ca = chord_anti(base);
    let alpha = 2.0 * m_atan2(sqrt(ca.x), sqrt(ca.y));
    let r2 = ca.x + ca.y;
    var sigma = 0.0;
    if (r2 > 0.0) {
        sigma = 2.0 * ca.x / r2;
    }
    let k2 = 2.0 * x_over_sin(alpha);
    for (var i = LANE; i < D; i += STRIDE) {
        let p = a[base + i];
        let q = b[base + i];
        let x = sqrt0(p);
        let z = sqrt0(q);
        let d = sqrt_diff(p, q, x, z);
        out[base + i] = k2 * fma(x, d, sigma * p);
    }
}

// Simplex::dist: 4 atan2(C, A).
fn dist_row(row: u32, base: u32) {
    let ca = chord_anti(base);
    if (LANE == 0u) {
        out[row] = 4.0 * m_atan2(sqrt(ca.x), sqrt(ca.y));
    }
}

// Simplex::inner: sum u v / p (+inf where p = 0 and u v != 0).
fn inner_row(row: u32, base: u32) {
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        let p = a[base + i];
        let uv = b[base + i] * c[base + i];
        if (p > 0.0) {
            s = s + uv / p;
        } else if (uv != 0.0) {
            s = s + f32_inf();
        }
    }
    let r = vec4<f32>(red1(s), 0.0, 0.0, 0.0);
    if (LANE == 0u) {
        out[row] = r.x;
    }
}

// Simplex::geodesic_into: the squared slerp of sqrt p, sqrt q with sinc ratios.
fn geodesic_row(row: u32, base: u32) {
    let t = c[row];
    let ca = chord_anti(base);
    let alpha = 2.0 * m_atan2(sqrt(ca.x), sqrt(ca.y));
    let s = sinc(alpha);
    let ta = t * alpha;
    let ka = (1.0 - t) * sinc(alpha - ta) / s;
    let kb = t * sinc(ta) / s;
    for (var i = LANE; i < D; i += STRIDE) {
        let y = fma(ka, sqrt0(a[base + i]), kb * sqrt0(b[base + i]));
        out[base + i] = y * y;
    }
}

// Simplex::geodesic_velocity_into: 2 y ydot.
fn geodesic_velocity_row(row: u32, base: u32) {
    let t = c[row];
    let ca = chord_anti(base);
    let alpha = 2.0 * m_atan2(sqrt(ca.x), sqrt(ca.y));
    let s = sinc(alpha);
    let ta = t * alpha;
    let ka = (1.0 - t) * sinc(alpha - ta) / s;
    let kb = t * sinc(ta) / s;
    let kappa = x_over_sin(alpha);
    let cd = kappa * m_cos(ta);
    let cx = -kappa * 2.0 * m_sin(0.5 * alpha) * m_sin((t - 0.5) * alpha);
    for (var i = LANE; i < D; i += STRIDE) {
        let p = a[base + i];
        let q = b[base + i];
        let x = sqrt0(p);
        let z = sqrt0(q);
        let y = fma(ka, x, kb * z);
        let ydot = fma(cd, sqrt_diff(p, q, x, z), cx * x);
        out[base + i] = 2.0 * y * ydot;
    }
}

// Simplex::transport_into (ParallelTransport): sphere transport of w = v/(2 sqrt p), pulled back with 2 sqrt q.
fn transport_row(row: u32, base: u32) {
    var m = vec4<f32>(0.0);
    for (var i = LANE; i < D; i += STRIDE) {
        let x = sqrt0(a[base + i]);
        let z = sqrt0(b[base + i]);
        m.x = fma(z, c[base + i] * 0.5 * recip0(x), m.x);
        m.y = fma(x, z, m.y);
    }
    let r = red4(m);
    let k = r.x / (1.0 + r.y);
    for (var i = LANE; i < D; i += STRIDE) {
        let x = sqrt0(a[base + i]);
        let z = sqrt0(b[base + i]);
        let w = c[base + i] * 0.5 * recip0(x);
        out[base + i] = 2.0 * z * fma(-k, x + z, w);
    }
}

// Simplex::project_tangent_into: u - (sum u / sum p) p.
fn project_tangent_row(row: u32, base: u32) {
    var m = vec4<f32>(0.0);
    for (var i = LANE; i < D; i += STRIDE) {
        m.x = m.x + b[base + i];
        m.y = m.y + a[base + i];
    }
    let r = red4(m);
    let k = r.x / r.y;
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = fma(-k, a[base + i], b[base + i]);
    }
}

// Simplex::project_point_into: max(x, 0) normalised to sum 1 (scaled by the largest entry
// first); the uniform point when no entry is positive.
fn project_point_row(row: u32, base: u32) {
    var mx = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        mx = max(mx, a[base + i]);
    }
    let m = red4_max(vec4<f32>(mx, 0.0, 0.0, 0.0)).x;
    if (m == 0.0) {
        for (var i = LANE; i < D; i += STRIDE) {
            out[base + i] = 1.0 / f32(D);
        }
        return;
    }
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        let o = max(a[base + i], 0.0) / m;
        out[base + i] = o;
        s = s + o;
    }
    let tot = red1(s);
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = out[base + i] / tot;
    }
}
