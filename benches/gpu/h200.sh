#!/usr/bin/env bash
# GPU kernel bandwidth vs the device's copy bandwidth vs PyTorch (eager, torch.compile), for
# every op at 2^24 points in R^3 and 2^20 points in R^64 (sphere kernels; other manifolds with
# FAMILIES=all). Meant for a machine with an NVIDIA GPU (e.g. the H200); runs in under 3 minutes.
#
#   benches/gpu/h200.sh                      # builds the example in release if needed
#   GPU_BENCH_BIN=path/to/gpu_bench benches/gpu/h200.sh   # a binary built elsewhere
#   N3=4096 N64=256 REPS=3 benches/gpu/h200.sh            # tiny smoke run (e.g. on lavapipe)
#   PARITY_BIN=target/debug/deps/parity-<hash> ...        # also run the parity tests first
#
# wgpu reaches the NVIDIA GPU through Vulkan: the machine needs the NVIDIA Vulkan ICD
# (nvidia_icd.json and the libGLX_nvidia/libnvidia-gl libraries, often missing from CUDA-only
# containers). If the device line names llvmpipe, the run measured Mesa's CPU driver instead.
# Build the binary beforehand (cargo build --release -p geoflow-gpu --example gpu_bench) and
# pass it with GPU_BENCH_BIN to keep the run itself under 3 minutes.
#
# Output: the raw JSON lines (in $OUT_DIR, default a temp dir) and a joined table with
# kernel GB/s, % of the copy-kernel bandwidth, and the speed-up over torch eager / compile.
# Targets (issue 6): >= 70% of copy bandwidth, >= 3x eager, >= 1x torch.compile.
set -euo pipefail
cd "$(dirname "$0")/../.."

N3=${N3:-16777216}
N64=${N64:-1048576}
REPS=${REPS:-20}
FAMILIES=${FAMILIES:-sphere}
TORCH_BUDGET=${TORCH_BUDGET:-100}
OUT_DIR=${OUT_DIR:-$(mktemp -d)}
mkdir -p "$OUT_DIR"
start=$(date +%s)

BIN=${GPU_BENCH_BIN:-}
if [ -z "$BIN" ]; then
    if [ -x target/release/examples/gpu_bench ]; then
        BIN=target/release/examples/gpu_bench
    else
        cargo build --release -p geoflow-gpu --example gpu_bench
        BIN=target/release/examples/gpu_bench
    fi
fi

# Optional: the parity tests on this GPU first (a test binary built elsewhere with
# `cargo test -p geoflow-gpu --test parity --no-run`), writing its error budget next to the
# other results.
if [ -n "${PARITY_BIN:-}" ]; then
    echo "== parity tests on this device ($PARITY_BIN)"
    WGPU_BACKEND=${WGPU_BACKEND:-vulkan} GEOFLOW_REQUIRE_GPU=1 GEOFLOW_WRITE_ERROR_BUDGET=1 \
        GEOFLOW_ERROR_BUDGET_PATH="$OUT_DIR/ERROR_BUDGET.md" "$PARITY_BIN" --test-threads 2 \
        2>&1 | grep -E "^test |test result|over budget|^\|" | tail -40 || true
fi

echo "== geoflow-gpu kernels ($BIN; n3=$N3 n64=$N64 reps=$REPS families=$FAMILIES)"
WGPU_BACKEND=${WGPU_BACKEND:-vulkan} "$BIN" --n3 "$N3" --n64 "$N64" --reps "$REPS" \
    --families "$FAMILIES" | tee "$OUT_DIR/gpu.jsonl"

: > "$OUT_DIR/torch.jsonl"
if command -v python3 >/dev/null && python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "== PyTorch $(python3 -c 'import torch; print(torch.__version__)')"
    python3 benches/gpu/torch_ops.py "$N3" "$N64" "$REPS" "$TORCH_BUDGET" | tee "$OUT_DIR/torch.jsonl" || true
else
    echo "== PyTorch with CUDA not importable: torch columns left empty"
fi

if command -v python3 >/dev/null; then
    python3 - "$OUT_DIR/gpu.jsonl" "$OUT_DIR/torch.jsonl" <<'EOF'
import json, sys
gpu = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
torch = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
dev = next((r for r in gpu if r["kind"] == "device"), {})
copies = [r for r in gpu if r["kind"] == "copy_kernel"]
bufcopies = [r for r in gpu if r["kind"] == "copy_buffer"]
print()
print(f"device: {dev.get('adapter')} ({dev.get('backend')}), subgroup size {dev.get('subgroup')}")
if "llvmpipe" in str(dev.get("adapter", "")).lower():
    print("WARNING: this is Mesa's CPU Vulkan driver, not a GPU (is the NVIDIA Vulkan ICD installed?)")
for c, b in zip(copies, bufcopies):
    print(f"copy kernel {c['bytes']/1e6:.0f} MB: {c['gbps']:.0f} GB/s; copy_buffer_to_buffer: {b['gbps']:.0f} GB/s")
ref = {3: copies[0]["gbps"] if copies else None, 64: copies[-1]["gbps"] if copies else None}
tv = {(r["variant"], r["op"], r["d"]): r for r in torch if r.get("kind") == "torch"}
print()
print(f"{'manifold':<16}{'op':<19}{'D':>3}{'mode':>7}{'GB/s':>9}{'%copy':>7}{'eager GB/s':>12}{'x eager':>9}{'compile GB/s':>14}{'x compile':>11}  verdict")
ok_all = True
for r in gpu:
    if r["kind"] != "op":
        continue
    d = r["d"]
    pc = 100 * r["gbps"] / ref[d] if ref.get(d) else float("nan")
    e = tv.get(("eager", r["op"], d)) if r["manifold"] == "Sphere" else None
    c = tv.get(("compile", r["op"], d)) if r["manifold"] == "Sphere" else None
    xe = e["seconds"] / r["seconds"] if e else None
    xc = c["seconds"] / r["seconds"] if c else None
    ok = pc >= 70 and (xe is None or xe >= 3) and (xc is None or xc >= 1)
    ok_all &= ok
    f = lambda v, w, p=1: f"{v:>{w}.{p}f}" if v is not None else " " * (w - 1) + "-"
    print(f"{r['manifold']:<16}{r['op']:<19}{d:>3}{r['mode']:>7}{r['gbps']:>9.0f}{pc:>7.0f}"
          f"{f(e['gbps'] if e else None, 12, 0)}{f(xe, 9, 2)}{f(c['gbps'] if c else None, 14, 0)}{f(xc, 11, 2)}  {'ok' if ok else 'BELOW TARGET'}")
print()
print("all targets met" if ok_all else "some kernels are below target (>=70% copy, >=3x eager, >=1x compile)")
EOF
fi
echo "== done in $(( $(date +%s) - start ))s; raw results in $OUT_DIR"
