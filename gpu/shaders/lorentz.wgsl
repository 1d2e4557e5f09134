// Hyperbolic space H^n in the Lorentz (hyperboloid) model. Mirrors geoflow_manifolds::lorentz:
// every kernel reads the spatial parts (entries 1..D) and recomputes time coordinates from the
// constraint. The compensated (double-word) branches of the CPU code are mirrored with the same
// thresholds (lorentz::COMPENSATE_ABOVE = 4).

fn pt(base: u32, i: u32, swap: bool) -> f32 {
    return select(a[base + i], b[base + i], swap);
}

fn qt(base: u32, i: u32, swap: bool) -> f32 {
    return select(b[base + i], a[base + i], swap);
}

// The (a_i, b_i) double words of lorentz::perp2_dw's three callers: 0: (x, y) (the angle in
// chord), 1: (x - y, x + y) as exact two_sums (perp_compensated), 2: (u, x) (tangent_norm2).
fn lz_ab(base: u32, i: u32, swap: bool, mode: u32) -> vec4<f32> {
    let x = pt(base, i, swap);
    let y = qt(base, i, swap);
    if (mode == 0u) {
        return vec4<f32>(x, 0.0, y, 0.0);
    } else if (mode == 1u) {
        return vec4<f32>(two_sum(x, -y), two_sum(x, y));
    }
    return vec4<f32>(y, 0.0, x, 0.0);
}

// lorentz::perp2_dw: |a - (a.b/b.b) b|^2 with the projection in double-word arithmetic.
fn perp2_dw(base: u32, swap: bool, mode: u32) -> f32 {
    var ab = vec2<f32>(0.0);
    var bb = vec2<f32>(0.0);
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let v = lz_ab(base, i, swap, mode);
        ab = dw_add(ab, dw_mul(v.xy, v.zw));
        bb = dw_add(bb, dw_mul(v.zw, v.zw));
    }
    let r = red_dw2(vec4<f32>(ab, bb));
    let k = dw_div(r.xy, r.zw);
    let mk = -k;
    var perp = 0.0;
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let v = lz_ab(base, i, swap, mode);
        let rr = dw_add(v.xy, dw_mul(mk, v.zw));
        let s = rr.x + rr.y;
        perp = fma(s, s, perp);
    }
    return red1(perp);
}

// lorentz::Chord.
struct Chord {
    c2: f32,
    x0: f32,
    y0: f32,
    e: f32,
}

// lorentz::chord of the spatial parts of (X, Y) = (a, b), or (b, a) when `swap`.
fn chord(base: u32, swap: bool) -> Chord {
    var m0 = vec4<f32>(0.0);
    var m1 = vec4<f32>(0.0);
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let x = pt(base, i, swap);
        let y = qt(base, i, swap);
        let d = x - y;
        let s = x + y;
        m0.x = fma(x, x, m0.x);
        m0.y = fma(y, y, m0.y);
        m0.z = fma(d, d, m0.z);
        m0.w = fma(s, s, m0.w);
        m1.x = fma(d, s, m1.x);
    }
    let r = red8(mat2x4<f32>(m0, m1));
    let xx = r[0].x;
    let yy = r[0].y;
    let dd = r[0].z;
    let ss = r[0].w;
    let ds = r[1].x;
    var ch: Chord;
    ch.x0 = sqrt(1.0 + xx);
    ch.y0 = sqrt(1.0 + yy);
    let sigma = ch.x0 + ch.y0;
    ch.e = ds / sigma;
    if (ss == 0.0) {
        ch.c2 = dd;
        ch.e = 0.0;
        return ch;
    }
    let nx = sqrt(xx);
    let ny = sqrt(yy);
    let ns = sqrt(ss);
    let both = nx > 0.0 && ny > 0.0;
    let k = ds / ss;
    var m = vec4<f32>(0.0);
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let x = pt(base, i, swap);
        let y = qt(base, i, swap);
        if (both) {
            let ra = x / nx - y / ny;
            m.x = fma(ra, ra, m.x);
        }
        let rp = (x - y) - k * (x + y);
        m.y = fma(rp, rp, m.y);
    }
    let r2 = red4(m);
    var angle = 0.0;
    if (both) {
        angle = r2.x;
        if (angle < 0.25 && ch.x0 * ch.y0 > 16.0) {
            let s2 = min(perp2_dw(base, swap, 0u) / xx, 1.0);
            angle = 2.0 * s2 / (1.0 + sqrt(1.0 - s2));
        }
    }
    let gap = 1.0 / (ch.x0 + nx) + 1.0 / (ch.y0 + ny) + nx * ny * angle / (nx + ny + ns);
    let t = gap * (sigma + ns);
    var perp = r2.y;
    if (perp < 0.25 * dd && sigma > 8.0) {
        perp = perp2_dw(base, swap, 1u);
    }
    ch.c2 = perp + (ds * k) * (t / (sigma * sigma));
    return ch;
}

// Chord::dist: 2 asinh(c/2).
fn chord_dist(ch: Chord) -> f32 {
    return 2.0 * m_asinh(sqrt(ch.c2) * 0.5);
}

// lorentz::tangent_norm2 of x = a, u = b (spatial parts).
fn tangent_norm2(base: u32) -> f32 {
    var m = vec4<f32>(0.0);
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let x = a[base + i];
        let u = b[base + i];
        m.x = fma(x, x, m.x);
        m.y = fma(x, u, m.y);
        m.z = fma(u, u, m.z);
    }
    let r = red4(m);
    let aa = r.x;
    let k = r.y;
    if (aa == 0.0) {
        return r.z;
    }
    let x02 = 1.0 + aa;
    let kk = k / aa;
    var perp = 0.0;
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let rr = b[base + i] - kk * a[base + i];
        perp = fma(rr, rr, perp);
    }
    perp = red1(perp);
    if (perp < 0.25 * r.z && x02 > 16.0) {
        perp = perp2_dw(base, false, 2u);
    }
    return perp + k * k / (aa * x02);
}

// lorentz::tangent_inner with x = a, a_i = (y_i - x_i) - h x_i (y = b), b_i = v_i (= c).
fn tangent_inner_yv(base: u32, h: f32) -> f32 {
    var xa = vec2<f32>(0.0);
    var xb = vec2<f32>(0.0);
    var xx = vec2<f32>(0.0);
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let x = a[base + i];
        let ai = (b[base + i] - x) - h * x;
        let xi = dw(x);
        xa = dw_add(xa, dw_mul(xi, dw(ai)));
        xb = dw_add(xb, dw_mul(xi, dw(c[base + i])));
        xx = dw_add(xx, dw_mul(xi, xi));
    }
    let r1 = red_dw2(vec4<f32>(xa, xb));
    let r2 = red_dw2(vec4<f32>(xx, 0.0, 0.0));
    if (r2.x == 0.0) {
        var s = 0.0;
        for (var i = 1u + LANE; i < D; i += STRIDE) {
            let x = a[base + i];
            let ai = (b[base + i] - x) - h * x;
            s = fma(ai, c[base + i], s);
        }
        return red1(s);
    }
    let ka = dw_div(r1.xy, r2.xy);
    let kb = dw_div(r1.zw, r2.xy);
    var perp = 0.0;
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let x = a[base + i];
        let ai = (b[base + i] - x) - h * x;
        let xi = dw(x);
        let ap = dw_add(dw(ai), dw_mul(-ka, xi));
        let bp = dw_add(dw(c[base + i]), dw_mul(-kb, xi));
        perp = fma(ap.x + ap.y, bp.x + bp.y, perp);
    }
    perp = red1(perp);
    let xxs = r2.x + r2.y;
    return perp + (r1.x + r1.y) * (r1.z + r1.w) / (xxs * (1.0 + xxs));
}

// Lorentz::exp_into: cosh(th) x + sinhc(th) u on the spatial parts, th^2 = tangent_norm2,
// then y0 = sqrt(1 + |y|^2).
fn exp_row(row: u32, base: u32) {
    let th = sqrt(tangent_norm2(base));
    let co = m_cosh(th);
    let s = sinhc(th);
    var yy = 0.0;
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let o = co * a[base + i] + s * b[base + i];
        out[base + i] = o;
        yy = fma(o, o, yy);
    }
    let r = red1(yy);
    if (LANE == 0u) {
        out[base] = sqrt(1.0 + r);
    }
}

// Lorentz::log_into: d/sinh d ((y - x) - c^2/2 x).
fn log_row(row: u32, base: u32) {
    let ch = chord(base, false);
    let f = x_over_sinh(chord_dist(ch));
    let h = 0.5 * ch.c2;
    if (LANE == 0u) {
        out[base] = f * (-ch.e - h * ch.x0);
    }
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let x = a[base + i];
        out[base + i] = f * ((b[base + i] - x) - h * x);
    }
}

// Lorentz::dist (Chord::dist).
fn dist_row(row: u32, base: u32) {
    let ch = chord(base, false);
    if (LANE == 0u) {
        out[row] = chord_dist(ch);
    }
}

// Lorentz::inner (lorentz::minkowski): sum_{i>=1} u_i v_i - u_0 v_0.
fn inner_row(row: u32, base: u32) {
    var s = 0.0;
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        s = fma(b[base + i], c[base + i], s);
    }
    let r = red1(s);
    if (LANE == 0u) {
        out[row] = r - b[base] * c[base];
    }
}

// Lorentz::geodesic_into: from the nearer endpoint A, w1 A + w2 B with the positive weights
// w1 = sinh((1-t)d)/sinh d, w2 = sinh(td)/sinh d (no e^d cancellation for far points), time
// coordinate from the constraint.
fn geodesic_row(row: u32, base: u32) {
    var t = c[row];
    let swap = !(t <= 0.5);
    if (swap) {
        t = 1.0 - t;
    }
    let ch = chord(base, swap);
    let d = chord_dist(ch);
    let u = 1.0 - t;
    let sd = sinhc(d);
    let w1 = u * sinhc(u * d) / sd;
    let w2 = t * sinhc(t * d) / sd;
    var gg = 0.0;
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let x = pt(base, i, swap);
        let y = qt(base, i, swap);
        let g = w1 * x + w2 * y;
        out[base + i] = g;
        gg = fma(g, g, gg);
    }
    let s = red1(gg);
    if (LANE == 0u) {
        out[base] = sqrt(1.0 + s);
    }
}

// Lorentz::geodesic_velocity_into: d/sinh d (cosh(td) (B - A) + 2 sinh(d/2) sinh((t - 1/2)d) A)
// (sign-flipped from B).
fn geodesic_velocity_row(row: u32, base: u32) {
    var t = c[row];
    let swap = !(t <= 0.5);
    var sign = 1.0;
    if (swap) {
        t = 1.0 - t;
        sign = -1.0;
    }
    let ch = chord(base, swap);
    let d = chord_dist(ch);
    let f = sign * x_over_sinh(d);
    let cd = f * m_cosh(t * d);
    let cx = f * 2.0 * m_sinh(0.5 * d) * m_sinh((t - 0.5) * d);
    if (LANE == 0u) {
        out[base] = cd * -ch.e + cx * ch.x0;
    }
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let x = pt(base, i, swap);
        let y = qt(base, i, swap);
        out[base + i] = cd * (y - x) + cx * x;
    }
}

// Lorentz::transport_into: v + <y, v>_L/(1 + alpha) (x + y) on the spatial parts, with
// <y, v>_L = tangent_inner(y - alpha x, v); time coordinate <y_bar, w_bar>/y0.
fn transport_row(row: u32, base: u32) {
    let ch = chord(base, false);
    let h = 0.5 * ch.c2;
    let yv = tangent_inner_yv(base, h);
    let k = yv / (2.0 + h);
    var yw = 0.0;
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let y = b[base + i];
        let w = c[base + i] + k * (a[base + i] + y);
        out[base + i] = w;
        yw = fma(y, w, yw);
    }
    let s = red1(yw);
    if (LANE == 0u) {
        out[base] = s / ch.y0;
    }
}

// Lorentz::project_tangent_into: u + <x, u>_L x.
fn project_tangent_row(row: u32, base: u32) {
    var s = 0.0;
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        s = fma(a[base + i], b[base + i], s);
    }
    let k = red1(s) - a[base] * b[base];
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = b[base + i] + k * a[base + i];
    }
}

// Lorentz::project_point_into: spatial part kept, x0 = sqrt(1 + |x_bar|^2).
fn project_point_row(row: u32, base: u32) {
    var s = 0.0;
    for (var i = 1u + LANE; i < D; i += STRIDE) {
        let x = a[base + i];
        out[base + i] = x;
        s = fma(x, x, s);
    }
    let r = red1(s);
    if (LANE == 0u) {
        out[base] = sqrt(1.0 + r);
    }
}
