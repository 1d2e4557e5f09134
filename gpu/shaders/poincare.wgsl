// Poincare ball B^n, curvature -1. Mirrors geoflow_manifolds::poincare (f32 cutoffs).
// a_p = 1 - |p|^2 is a double-word sum (poincare::one_minus_norm2), reduced with dw_add in the
// cooperative mode.

// poincare::k_of_y: asinh(sqrt y)/sqrt(y (1 + y)), series below K_PRIME_CUTOFF.0 * 1e-3.
fn k_of_y(y: f32) -> f32 {
    if (y < 0.25 * 1e-3) {
        return ((-16.0 / 35.0 * y + 8.0 / 15.0) * y - 2.0 / 3.0) * y + 1.0;
    }
    let c0 = sqrt(y);
    return m_asinh(c0) / (c0 * sqrt(1.0 + y));
}

// Partial (per lane) double-word sum of -x^2 (one_minus_norm2 without the leading 1).
fn neg_norm2_dw(s: vec2<f32>, x: f32) -> vec2<f32> {
    let hl = two_prod(x, x);
    return dw_add(s, -hl);
}

// Finishes one_minus_norm2 from a reduced partial sum.
fn one_minus(s: vec2<f32>) -> f32 {
    let r = dw_add(vec2<f32>(1.0, 0.0), s);
    return r.x + r.y;
}

// poincare::Pair of (P, Q) = (a, b), or (b, a) when `swap`: (ap, aq, dd, y) plus
// (|P|^2, P.(Q - P), P.v, (Q - P).v) with v = c[base..] (used by transport).
struct Pair {
    ap: f32,
    aq: f32,
    dd: f32,
    y: f32,
    pp: f32,
    pd: f32,
    pv: f32,
    dv: f32,
}

fn pt(base: u32, i: u32, swap: bool) -> f32 {
    return select(a[base + i], b[base + i], swap);
}

fn qt(base: u32, i: u32, swap: bool) -> f32 {
    return select(b[base + i], a[base + i], swap);
}

fn pair(base: u32, swap: bool, with_v: bool) -> Pair {
    var sp = vec2<f32>(0.0);
    var sq = vec2<f32>(0.0);
    var m = vec4<f32>(0.0);
    var m2 = vec4<f32>(0.0);
    for (var i = LANE; i < D; i += STRIDE) {
        let p = pt(base, i, swap);
        let q = qt(base, i, swap);
        sp = neg_norm2_dw(sp, p);
        sq = neg_norm2_dw(sq, q);
        let d = q - p;
        m.x = fma(d, d, m.x);
        m.y = fma(p, p, m.y);
        m.z = fma(p, d, m.z);
        if (with_v) {
            let v = c[base + i];
            m.w = fma(p, v, m.w);
            m2.x = fma(d, v, m2.x);
        }
    }
    let r = red_dw2(vec4<f32>(sp, sq));
    let rm = red8(mat2x4<f32>(m, m2));
    var pr: Pair;
    pr.ap = one_minus(r.xy);
    pr.aq = one_minus(r.zw);
    pr.dd = rm[0].x;
    pr.pp = rm[0].y;
    pr.pd = rm[0].z;
    pr.pv = rm[0].w;
    pr.dv = rm[1].x;
    pr.y = pr.dd / (pr.ap * pr.aq);
    return pr;
}

// e^x - 1 without cancellation (the u - 1 trick, as m_log1p).
fn m_expm1(x: f32) -> f32 {
    if (abs(x) > 20.0) {
        return m_exp(x) - 1.0;
    }
    let u = opaque(m_exp(x));
    if (u == 1.0) {
        return x;
    }
    return opaque(u - 1.0) * (x / m_log(u));
}

// poincare::perp: u - sigma p for a double-word sigma, the product exact by two_prod.
fn ball_perp(sg: vec2<f32>, p: f32, u: f32) -> f32 {
    let pe = two_prod(sg.x, p);
    return (opaque(u - pe.x) - pe.y) - sg.y * p;
}

// PoincareBall::exp_into (poincare::ExpScalars): the Lorentz exponential mapped to the ball,
// p + c_p p + c_u (u - sigma p), with every scalar free of cancellation.
fn exp_row(row: u32, base: u32) {
    var sp = vec2<f32>(0.0);
    var su = vec2<f32>(0.0);
    var spu = vec2<f32>(0.0);
    for (var i = LANE; i < D; i += STRIDE) {
        let p = a[base + i];
        let u = b[base + i];
        sp = neg_norm2_dw(sp, p);
        su = dw_add(su, two_prod(u, u));
        spu = dw_add(spu, two_prod(p, u));
    }
    let r1 = red_dw2(vec4<f32>(sp, su));
    let r2 = red_dw2(vec4<f32>(spu, 0.0, 0.0));
    let ap = one_minus(r1.xy);
    let pp = -r1.xy;
    let ppv = pp.x + pp.y;
    let s = r2.x + r2.y;
    let rho = sqrt(ppv);
    let nu = sqrt(r1.z + r1.w);
    let lam = 2.0 / ap;
    let r = lam * nu;
    let tau = tanh_over_x(r);
    let e1 = m_exp(-r);
    let e2 = e1 * e1;
    let opd = 1.0 + e2;
    let omt = 2.0 * e2 / opd;
    let sech = 2.0 * e1 / opd;
    let omr = ap / (1.0 + rho);
    // steps back across the ball: h = rho^2 |u - sigma p|^2/(rho |u| - S), sigma = S/rho^2
    let back = s < 0.0 && rho > 0.5;
    var sg = vec2<f32>(0.0);
    if (back) {
        sg = dw_div(r2.xy, pp);
    }
    var w = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        let d = ball_perp(sg, a[base + i], b[base + i]);
        w = fma(d, d, w);
    }
    let perp2 = red1(w);
    var h = rho * nu + s;
    if (back) {
        h = ppv * perp2 / (rho * nu - s);
    }
    let tlh = tau * lam * h;
    let den = ap * sech + omr * omr + 2.0 * rho * omt + 2.0 * tlh;
    let em = m_expm1(-r);
    let ac1 = ap * (em * em / opd);
    var cp = ac1 / den;
    if (back) {
        var k2 = ac1 + 2.0 * tau * (sg.x + sg.y);
        if (r > 1.0) {
            let opr = 1.0 + rho;
            let rh = 2.0 * m_log1p(rho) - m_log(ap);
            let rk = 0.5 * ap * (ap / (opr * opr)) * m_expm1(2.0 * (rh - r)) / opd
                + 0.5 * (2.0 - ap) * tlh / rho;
            k2 = 2.0 * (rk / rho) - den;
        }
        cp = k2 / den;
    }
    let cu = 2.0 * tau / den;
    for (var i = LANE; i < D; i += STRIDE) {
        let p = a[base + i];
        out[base + i] = p + (cp * p + cu * ball_perp(sg, p, b[base + i]));
    }
}

// PoincareBall::log_into: K(y)/a_q (a_p (q - p) - |q - p|^2 p).
fn log_row(row: u32, base: u32) {
    let pr = pair(base, false, false);
    let k = k_of_y(pr.y) / pr.aq;
    for (var i = LANE; i < D; i += STRIDE) {
        let p = a[base + i];
        let q = b[base + i];
        out[base + i] = k * (pr.ap * (q - p) - pr.dd * p);
    }
}

// PoincareBall::dist (Pair::dist): 2 asinh(sqrt y).
fn dist_row(row: u32, base: u32) {
    let pr = pair(base, false, false);
    if (LANE == 0u) {
        out[row] = 2.0 * m_asinh(sqrt(pr.y));
    }
}

// PoincareBall::inner: lam^2 u.v.
fn inner_row(row: u32, base: u32) {
    var sp = vec2<f32>(0.0);
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        sp = neg_norm2_dw(sp, a[base + i]);
        s = fma(b[base + i], c[base + i], s);
    }
    let r = red_dw2(vec4<f32>(sp, 0.0, 0.0));
    let uv = red1(s);
    let lam = 2.0 / one_minus(r.xy);
    if (LANE == 0u) {
        out[row] = lam * lam * uv;
    }
}

// Lorentz-combination weights of the ball geodesic (poincare::lorentz_weights): (w1, w2, M),
// w1 = sinh((1-t)d)/sinh d, w2 = sinh(td)/sinh d, M = ap aq + w1 (2 - ap) aq + w2 (2 - aq) ap.
fn ball_weights(ap: f32, aq: f32, d: f32, t: f32) -> vec3<f32> {
    let u = 1.0 - t;
    let sd = sinhc(d);
    let w1 = u * sinhc(u * d) / sd;
    let w2 = t * sinhc(t * d) / sd;
    return vec3<f32>(w1, w2, ap * aq + w1 * (2.0 - ap) * aq + w2 * (2.0 - aq) * ap);
}

// PoincareBall::geodesic_into: from the nearer endpoint A,
// A + cd (B - A) - ca A, cd = 2 ap w2/M, ca = 2 ap aq (w1 sinh^2(td/2) + w2 sinh^2((1-t)d/2))/M
// (the Lorentz geodesic mapped to the ball; no Mobius denominator).
fn geodesic_row(row: u32, base: u32) {
    var t = c[row];
    let swap = !(t <= 0.5);
    if (swap) {
        t = 1.0 - t;
    }
    let pr = pair(base, swap, false);
    let d = 2.0 * m_asinh(sqrt(pr.y));
    let w = ball_weights(pr.ap, pr.aq, d, t);
    let h1 = m_sinh(0.5 * t * d);
    let h2 = m_sinh(0.5 * (1.0 - t) * d);
    let k = 2.0 * (pr.ap / w.z);
    let cd = k * w.y;
    let ca = k * pr.aq * (w.x * h1 * h1 + w.y * h2 * h2);
    for (var i = LANE; i < D; i += STRIDE) {
        let x = pt(base, i, swap);
        let y = qt(base, i, swap);
        out[base + i] = x + (cd * (y - x) - ca * x);
    }
}

// PoincareBall::geodesic_velocity_into: k ((1 + e1)(q - p) + (e1 - e2) p),
// k = 4 ap aq/(sinhc(d) M^2), e1 = ap sinh^2(td/2), e2 = aq sinh^2((1-t)d/2).
fn geodesic_velocity_row(row: u32, base: u32) {
    let t = c[row];
    let pr = pair(base, false, false);
    let d = 2.0 * m_asinh(sqrt(pr.y));
    let w = ball_weights(pr.ap, pr.aq, d, t);
    let h1 = m_sinh(0.5 * t * d);
    let h2 = m_sinh(0.5 * (1.0 - t) * d);
    let e1 = pr.ap * h1 * h1;
    let e2 = pr.aq * h2 * h2;
    let k = 4.0 * (pr.ap / w.z) * (pr.aq / w.z) / sinhc(d);
    for (var i = LANE; i < D; i += STRIDE) {
        let p = a[base + i];
        let q = b[base + i];
        out[base + i] = k * ((1.0 + e1) * (q - p) + (e1 - e2) * p);
    }
}

// PoincareBall::transport_into: Ungar's gyration in delta = q - p, a_p, a_q.
fn transport_row(row: u32, base: u32) {
    let pr = pair(base, false, true);
    let aa = 2.0 * pr.pd * pr.pv - pr.ap * pr.pv - (1.0 - pr.ap) * pr.dv;
    let cp = pr.ap * pr.dv - pr.dd * pr.pv;
    let k = 2.0 / (pr.dd + pr.ap * pr.aq);
    let r = pr.aq / pr.ap;
    for (var i = LANE; i < D; i += STRIDE) {
        let p = a[base + i];
        let q = b[base + i];
        out[base + i] = r * (c[base + i] + k * (cp * p + aa * (q - p)));
    }
}

// PoincareBall::project_tangent_into: u.
fn project_tangent_row(row: u32, base: u32) {
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = b[base + i];
    }
}

// PoincareBall::project_point_into: scale to norm at most 1 - BALL_EPS.0 (1e-6).
fn project_point_row(row: u32, base: u32) {
    var s = 0.0;
    for (var i = LANE; i < D; i += STRIDE) {
        s = fma(a[base + i], a[base + i], s);
    }
    let r = sqrt_sum(red1(s));
    let eps: f32 = 1e-6;
    let m = 1.0 - eps;
    var k = 1.0;
    if (r > m) {
        k = m / r;
    }
    for (var i = LANE; i < D; i += STRIDE) {
        out[base + i] = k * a[base + i];
    }
}
