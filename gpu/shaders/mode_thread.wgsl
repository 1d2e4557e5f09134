// Mode prelude: one thread per point (small D). Reductions are the identity; no barriers.

const WG: u32 = 64u;
const STRIDE: u32 = 1u;
const COOP: bool = false;
var<private> LANE: u32;

fn start_row(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    LANE = 0u;
    return (wid.y * nwg.x + wid.x) * WG + lid.x;
}

fn red1(v: f32) -> f32 {
    return v;
}

fn red4(v: vec4<f32>) -> vec4<f32> {
    return v;
}

fn red8(v: mat2x4<f32>) -> mat2x4<f32> {
    return v;
}

fn red4_max(v: vec4<f32>) -> vec4<f32> {
    return v;
}

fn red_dw2(v: vec4<f32>) -> vec4<f32> {
    return v;
}

// (min value, first index with it); ties resolved to the smaller index.
fn red_argmin(v: f32, i: u32) -> u32 {
    return i;
}
