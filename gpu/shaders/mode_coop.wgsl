// Mode prelude: one workgroup per point (large D). Each reduction is a shared-memory tree over
// the WG lanes; the result is read back with workgroupUniformLoad, so every lane gets it and the
// control flow that depends on it stays uniform.

const WG: u32 = 64u;
const STRIDE: u32 = 64u;
const COOP: bool = true;
var<private> LANE: u32;

var<workgroup> wg_a: array<vec4<f32>, 64>;
var<workgroup> wg_b: array<vec4<f32>, 64>;
var<workgroup> wg_res4: vec4<f32>;
var<workgroup> wg_res8: mat2x4<f32>;
var<workgroup> wg_idx: u32;

fn start_row(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    LANE = lid.x;
    return wid.y * nwg.x + wid.x;
}

fn red4(v: vec4<f32>) -> vec4<f32> {
    wg_a[LANE] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (LANE < s) {
            wg_a[LANE] = wg_a[LANE] + wg_a[LANE + s];
        }
        workgroupBarrier();
    }
    if (LANE == 0u) {
        wg_res4 = wg_a[0];
    }
    return workgroupUniformLoad(&wg_res4);
}

fn red1(v: f32) -> f32 {
    return red4(vec4<f32>(v, 0.0, 0.0, 0.0)).x;
}

fn red8(v: mat2x4<f32>) -> mat2x4<f32> {
    wg_a[LANE] = v[0];
    wg_b[LANE] = v[1];
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (LANE < s) {
            wg_a[LANE] = wg_a[LANE] + wg_a[LANE + s];
            wg_b[LANE] = wg_b[LANE] + wg_b[LANE + s];
        }
        workgroupBarrier();
    }
    if (LANE == 0u) {
        wg_res8 = mat2x4<f32>(wg_a[0], wg_b[0]);
    }
    return workgroupUniformLoad(&wg_res8);
}

fn red4_max(v: vec4<f32>) -> vec4<f32> {
    wg_a[LANE] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (LANE < s) {
            wg_a[LANE] = max(wg_a[LANE], wg_a[LANE + s]);
        }
        workgroupBarrier();
    }
    if (LANE == 0u) {
        wg_res4 = wg_a[0];
    }
    return workgroupUniformLoad(&wg_res4);
}

// Two double-word sums (hi, lo, hi, lo), combined with dw_add.
fn red_dw2(v: vec4<f32>) -> vec4<f32> {
    wg_a[LANE] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (LANE < s) {
            let x = wg_a[LANE];
            let y = wg_a[LANE + s];
            wg_a[LANE] = vec4<f32>(dw_add(x.xy, y.xy), dw_add(x.zw, y.zw));
        }
        workgroupBarrier();
    }
    if (LANE == 0u) {
        wg_res4 = wg_a[0];
    }
    return workgroupUniformLoad(&wg_res4);
}

// The first index minimising the value (each lane passes its own first minimiser).
fn red_argmin(v: f32, i: u32) -> u32 {
    wg_a[LANE] = vec4<f32>(v, bitcast<f32>(i), 0.0, 0.0);
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (LANE < s) {
            let x = wg_a[LANE];
            let y = wg_a[LANE + s];
            let xi = bitcast<u32>(x.y);
            let yi = bitcast<u32>(y.y);
            if (y.x < x.x || (y.x == x.x && yi < xi)) {
                wg_a[LANE] = y;
            }
        }
        workgroupBarrier();
    }
    if (LANE == 0u) {
        wg_idx = bitcast<u32>(wg_a[0].y);
    }
    return workgroupUniformLoad(&wg_idx);
}
