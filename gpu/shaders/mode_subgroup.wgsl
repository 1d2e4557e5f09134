// Mode prelude: one subgroup per point (large D, where the adapter has a fixed subgroup size).
// STRIDE (pipeline constant) is the subgroup size; reductions are subgroup operations (no
// barriers, no shared memory), the double-word and argmin ones a butterfly of
// subgroupShuffleXor whose result is then taken from the first lane, so that every lane sees
// bit-identical values and branches on them stay subgroup-uniform.

const WG: u32 = 64u;
override STRIDE: u32 = 32u;
const COOP: bool = true;
var<private> LANE: u32;

fn start_row_sg(wid: vec3<u32>, nwg: vec3<u32>, sg_id: u32, sg_lane: u32) -> u32 {
    LANE = sg_lane;
    return (wid.y * nwg.x + wid.x) * (WG / STRIDE) + sg_id;
}

fn red1(v: f32) -> f32 {
    return subgroupAdd(v);
}

fn red4(v: vec4<f32>) -> vec4<f32> {
    return subgroupAdd(v);
}

fn red8(v: mat2x4<f32>) -> mat2x4<f32> {
    return mat2x4<f32>(subgroupAdd(v[0]), subgroupAdd(v[1]));
}

fn red4_max(v: vec4<f32>) -> vec4<f32> {
    return subgroupMax(v);
}

// Two double-word sums (hi, lo, hi, lo), combined with dw_add.
fn red_dw2(v: vec4<f32>) -> vec4<f32> {
    var x = v;
    for (var off = STRIDE / 2u; off > 0u; off = off / 2u) {
        let y = subgroupShuffleXor(x, off);
        x = vec4<f32>(dw_add(x.xy, y.xy), dw_add(x.zw, y.zw));
    }
    return subgroupBroadcastFirst(x);
}

// The first index minimising the value (each lane passes its own first minimiser).
fn red_argmin(v: f32, i: u32) -> u32 {
    var bv = v;
    var bi = i;
    for (var off = STRIDE / 2u; off > 0u; off = off / 2u) {
        let ov = subgroupShuffleXor(bv, off);
        let oi = subgroupShuffleXor(bi, off);
        if (ov < bv || (ov == bv && oi < bi)) {
            bv = ov;
            bi = oi;
        }
    }
    return subgroupBroadcastFirst(bi);
}
