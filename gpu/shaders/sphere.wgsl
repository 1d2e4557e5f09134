// Sphere S^n in R^(n+1) (and PositiveOrthant, which differs only in project_point: the host
// prepends `const ABS_PROJECT: bool = true;` for the orthant, `false` for the sphere).
// Mirrors geoflow_manifolds::sphere (and orthant); f32 cutoffs of numerics.

// sphere::LogParts: theta, sigma, a, far, chord, anti (+ pp for the cut-locus direction).
struct SphLog {
    theta: f32,
    sigma: f32,
    a: f32,
    far: bool,
    chord: f32,
    anti: f32,
    pp: f32,
    nw: f32,
}

// sphere::LogParts::new over p = a[base..], q = b[base..].
fn sph_parts(base: u32) -> SphLog {
    var m0 = vec4<f32>(0.0);
    var m1 = vec4<f32>(0.0);
    for (var i = LANE; i < D; i += STRIDE) {
        let x = a[base + i];
        let y = b[base + i];
        let d = y - x;
        let s = y + x;
        m0.x = fma(d, d, m0.x);
        m0.y = fma(s, s, m0.y);
        m0.z = fma(x, x, m0.z);
        m0.w = fma(x, d, m0.w);
        m1.x = fma(x, s, m1.x);
    }
    let r = red8(mat2x4<f32>(m0, m1));
    let minus = r[0].x;
    let plus = r[0].y;
    var pp = r[0].z;
    let chord = sqrt(minus);
    let anti = sqrt(plus);
    var lp: SphLog;
    lp.theta = 2.0 * m_atan2(chord, anti);
    lp.far = minus > plus;
    lp.chord = chord;
    lp.anti = anti;
    lp.pp = pp;
    if (!(pp > 0.0)) {
        pp = 1.0;
    }
    if (lp.far) {
        lp.sigma = 1.0;
        lp.a = r[1].x / pp;
    } else {
        lp.sigma = -1.0;
        lp.a = r[0].w / pp;
    }
    lp.nw = 0.0;
    return lp;
}

// sphere::LogParts::sin_cos_t: (sin t theta, cos t theta), evaluated at phi = pi - t theta
// from delta = pi - theta when theta > pi/2 and t > 1/2.
fn sph_sin_cos_t(lp: SphLog, t: f32) -> vec2<f32> {
    if (lp.far && t > 0.5) {
        let delta = 2.0 * m_atan2(lp.anti, lp.chord);
        let phi = (1.0 - t) * PI + t * delta;
        let sc = m_sincos(phi);
        return vec2<f32>(sc.x, -sc.y);
    }
    return m_sincos(t * lp.theta);
}

// sphere::cut_locus_direction: the unit tangent e_j - p_j p / |p|^2 (j = first argmin |p_j|),
// written into out[base..].
fn sph_cut_locus_direction(base: u32, pp: f32) {
    var best = f32_inf();
    var j = 0xffffffffu;
    for (var i = LANE; i < D; i += STRIDE) {
        let v = abs(a[base + i]);
        if (v < best) {
            best = v;
            j = i;
        }
    }
    j = red_argmin(best, j);
    let pj = a[base + j];
    var k = 0.0;
    if (pp > 0.0) {
        k = pj / pp;
    }
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        let o = select(0.0, 1.0, i == j) - k * a[base + i];
        out[base + i] = o;
        s = fma(o, o, s);
    }
    let n = sqrt_sum(red1(s));
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = out[base + i] / n;
    }
}

// sphere::log_kernel: theta w/|w| into out[base..]; returns the parts (with nw = |w|).
fn sph_log_kernel(base: u32) -> SphLog {
    var lp = sph_parts(base);
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        let x = a[base + i];
        let y = b[base + i];
        let w = (y + lp.sigma * x) - lp.a * x;
        out[base + i] = w;
        s = fma(w, w, s);
    }
    let nw = sqrt_sum(red1(s));
    lp.nw = nw;
    if (nw >= F32_MIN_POSITIVE) {
        let k = lp.theta / nw;
        for (var i = LANE; i < D; i += STRIDE) {
            out[base + i] = out[base + i] * k;
        }
    } else if (lp.far) {
        sph_cut_locus_direction(base, lp.pp);
        for (var i = LANE; i < D; i += STRIDE) {
            out[base + i] = out[base + i] * lp.theta;
        }
    } else {
        for (var i = LANE; i < D; i += STRIDE) {
            out[base + i] = 0.0;
        }
    }
    return lp;
}

// Sphere::exp_into (sphere::exp_kernel): cos|v| p + sinc|v| v.
fn exp_row(row: u32, base: u32) {
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        let v = b[base + i];
        s = fma(v, v, s);
    }
    let r = sqrt_sum(red1(s));
    let co = m_cos(r);
    let sc = sinc(r);
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = co * a[base + i] + sc * b[base + i];
    }
}

// Sphere::log_into.
fn log_row(row: u32, base: u32) {
    sph_log_kernel(base);
}

// Sphere::dist (numerics::angle_between): 2 atan2(|q - p|, |q + p|).
fn dist_row(row: u32, base: u32) {
    var m = vec4<f32>(0.0);
    for (var i = LANE; i < D; i += STRIDE) {
        let x = a[base + i];
        let y = b[base + i];
        let d = x - y;
        let s = x + y;
        m.x = fma(d, d, m.x);
        m.y = fma(s, s, m.y);
    }
    let r = red4(m);
    if (LANE == 0u) {
        out[row] = 2.0 * m_atan2(sqrt(r.x), sqrt(r.y));
    }
}

// Sphere::inner: u.v.
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

// Sphere::geodesic_into: sinc-ratio slerp for theta <= pi/2, cos(t theta) p + sin(t theta)/theta
// log_p q beyond.
fn geodesic_row(row: u32, base: u32) {
    let t = c[row];
    var m = vec4<f32>(0.0);
    for (var i = LANE; i < D; i += STRIDE) {
        let x = a[base + i];
        let y = b[base + i];
        let d = x - y;
        let s = x + y;
        m.x = fma(d, d, m.x);
        m.y = fma(s, s, m.y);
    }
    let r = red4(m);
    let th = 2.0 * m_atan2(sqrt(r.x), sqrt(r.y));
    if (th <= FRAC_PI_2) {
        let sc = sinc(th);
        let ca = (1.0 - t) * sinc((1.0 - t) * th) / sc;
        let cb = t * sinc(t * th) / sc;
        for (var i = LANE; i < D; i += STRIDE) {
            out[base + i] = ca * a[base + i] + cb * b[base + i];
        }
    } else {
        let lp = sph_log_kernel(base);
        let st = sph_sin_cos_t(lp, t);
        let k = st.x / lp.theta;
        for (var i = LANE; i < D; i += STRIDE) {
            out[base + i] = st.y * a[base + i] + k * out[base + i];
        }
    }
}

// Sphere::geodesic_velocity_into: cos(t theta) log_p q - theta sin(t theta) p.
fn geodesic_velocity_row(row: u32, base: u32) {
    let t = c[row];
    let lp = sph_log_kernel(base);
    let st = sph_sin_cos_t(lp, t);
    let s = lp.theta * st.x;
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = st.y * out[base + i] - s * a[base + i];
    }
}

// Sphere::transport_into: v - 2<s, v> s with s = (p + q)/|p + q| (cut-locus direction at
// antipodes).
fn transport_row(row: u32, base: u32) {
    var s2 = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        let o = a[base + i] + b[base + i];
        out[base + i] = o;
        s2 = fma(o, o, s2);
    }
    let r = vec4<f32>(red1(s2), 0.0, 0.0, 0.0);
    let ns = sqrt_sum(r.x);
    if (ns >= F32_MIN_POSITIVE) {
        let inv = 1.0 / ns;
        for (var i = LANE; i < D; i += STRIDE) {
            out[base + i] = out[base + i] * inv;
        }
    } else {
        var pp = 0.0;
        for (var i = LANE; i < D; i += STRIDE) {
            pp = fma(a[base + i], a[base + i], pp);
        }
        sph_cut_locus_direction(base, red1(pp));
    }
    var sv = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        sv = fma(out[base + i], c[base + i], sv);
    }
    let k = 2.0 * red1(sv);
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = c[base + i] - k * out[base + i];
    }
}

// Sphere::project_tangent_into: u - <p, u> p.
fn project_tangent_row(row: u32, base: u32) {
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        s = fma(a[base + i], b[base + i], s);
    }
    let k = red1(s);
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = b[base + i] - k * a[base + i];
    }
}

// Sphere::project_point_into (sphere::normalise_into): x/|x|, e_0 for x = 0;
// PositiveOrthant::project_point_into takes absolute values afterwards.
fn project_point_row(row: u32, base: u32) {
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        s = fma(a[base + i], a[base + i], s);
    }
    let n = sqrt_sum(red1(s));
    if (n > 0.0) {
        let inv = 1.0 / n;
        let fin = is_finite(inv);
        for (var i = LANE; i < D; i += STRIDE) {
            var o = select(a[base + i] / n, a[base + i] * inv, fin);
            if (ABS_PROJECT) {
                o = abs(o);
            }
            out[base + i] = o;
        }
    } else {
        for (var i = LANE; i < D; i += STRIDE) {
            out[base + i] = select(0.0, 1.0, i == 0u);
        }
    }
}
