// Plain device copy (vec4 loads and stores): the bandwidth reference of the benchmarks.

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256)
fn copy_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wid.y * nwg.x + wid.x) * 256u + lid.x;
    if (i < arrayLength(&dst)) {
        dst[i] = src[i];
    }
}
