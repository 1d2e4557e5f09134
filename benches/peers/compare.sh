#!/usr/bin/env bash
# Side-by-side comparison of geoflow's batched ops with the Python peers, in one run.
#
#   benches/peers/compare.sh [--quick] [--threads 2,1] [--dtypes float32,float64]
#                            [--manifolds sphere,lorentz] [--size-log2 22]
#                            [--peers-file FILE] [--no-malloc-reuse] [--all]
#                            [--sections ops,train] [--budget S]
#
# 1. Rust: builds and runs (release) `geoflow_ops` for section `ops`, which times every batched
#    op for the same (manifold, dim, op, dtype, threads) keys as peers.py, and `geoflow_train`
#    for section `train` (peers.py's training model on geoflow's tape: rfm_step, mlp_fwd_bwd,
#    mlp_fwd, and our flowmap_step / flowmap_fwd); peers.py-style JSON lines
#    -> target/peers/geoflow.jsonl (ops) and target/peers/geoflow_train.jsonl (train).
# 2. Python: creates target/peers-venv if missing (PEERS_VENV=/path/to/venv uses an existing
#    one instead), pip-installs the exact versions of ../shared/bench/README.md (torch 2.15.0 is
#    the CUDA wheel: ~3 GB, ~2.5 min, once), and runs ../shared/bench/peers.py --sections
#    <the same sections> -> target/peers/peers.jsonl. With --peers-file FILE the peers are not
#    run and FILE is used instead (no venv needed).
# 3. Joins with join.py (stdlib only): ops on (manifold, dim, op, dtype, threads) with ours
#    ns/pt, best peer ns/pt and name, the ratio, and the roofline of ROOFLINE.md section 2; train
#    on (op, dtype, threads) with ms/step, best peer, the ratio, and the flow-map step's cost in
#    forward passes -> target/peers/joined.jsonl.
#
# --sections defaults to ops. --budget (seconds of timed repeats per row) goes to both sides.
#
# --quick runs both sides at 2^16 scalars per array with few repeats (a smoke test).
# peers.py gets --malloc-reuse by default, because geoflow reuses its output buffers (see the
# shared README); --no-malloc-reuse turns that off. GEOFLOW_SHARED overrides the location of
# the shared folder (default: ../shared beside the repository).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHARED="${GEOFLOW_SHARED:-$ROOT/../shared}"
PEERS_PY="$SHARED/bench/peers.py"
ROOFLINE="$SHARED/bench/ROOFLINE.md"
OUT="$ROOT/target/peers"
VENV="${PEERS_VENV:-$ROOT/target/peers-venv}"
PY="${PYTHON:-python3}"

quick=0
peers_file=""
malloc_reuse=1
show_all=""
sections="ops"
common=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1; shift ;;
        --peers-file) peers_file="$2"; shift 2 ;;
        --no-malloc-reuse) malloc_reuse=0; shift ;;
        --all) show_all="--all"; shift ;;
        --sections) sections="$2"; shift 2 ;;
        --threads|--dtypes|--manifolds|--size-log2|--budget) common+=("$1" "$2"); shift 2 ;;
        -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ "$quick" = 1 ] && common+=("--quick")

mkdir -p "$OUT"

if [ -z "$peers_file" ] && [ ! -f "$PEERS_PY" ]; then
    echo "compare.sh: error: $PEERS_PY not found." >&2
    echo "  The peers script lives in the shared folder beside the repository (../shared/bench/peers.py);" >&2
    echo "  set GEOFLOW_SHARED=/path/to/shared, or pass --peers-file FILE with a peers.py output." >&2
    exit 1
fi

has_section() { case ",$sections," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
for s in ${sections//,/ }; do
    case "$s" in
        ops|train) ;;
        *) echo "compare.sh: unknown section $s (ops, train)" >&2; exit 2 ;;
    esac
done

ours=()
if has_section ops; then
    echo "== geoflow ops (Rust, release): ${common[*]:-defaults}" >&2
    (cd "$ROOT" && cargo build --release -q -p geoflow-benches --bin geoflow_ops)
    "$ROOT/target/release/geoflow_ops" "${common[@]}" > "$OUT/geoflow.jsonl"
    ours+=(--ours "$OUT/geoflow.jsonl")
fi
if has_section train; then
    echo "== geoflow train (Rust, release): ${common[*]:-defaults}" >&2
    (cd "$ROOT" && cargo build --release -q -p geoflow-benches --bin geoflow_train)
    "$ROOT/target/release/geoflow_train" "${common[@]}" > "$OUT/geoflow_train.jsonl"
    ours+=(--ours "$OUT/geoflow_train.jsonl")
fi

if [ -z "$peers_file" ]; then
    if [ ! -x "$VENV/bin/python" ]; then
        echo "== creating $VENV and installing the peers (torch is ~3 GB; once)" >&2
        "$PY" -m venv "$VENV"
        "$VENV/bin/pip" install --upgrade pip >&2
        "$VENV/bin/pip" install torch==2.15.0 geoopt==0.5.1 geomstats==2.8.0 \
            flow-matching==1.0.10 numpy==2.3.5 >&2
    fi
    extra=(--sections "$sections")
    [ "$malloc_reuse" = 1 ] && extra+=(--malloc-reuse)
    echo "== peers.py ${common[*]:-} ${extra[*]}" >&2
    "$VENV/bin/python" "$PEERS_PY" "${common[@]}" "${extra[@]}" --out "$OUT/peers.jsonl"
    peers_file="$OUT/peers.jsonl"
fi

roof=()
if [ -f "$ROOFLINE" ]; then
    roof=(--roofline "$ROOFLINE")
else
    echo "note: $ROOFLINE not found; no roofline column" >&2
fi
"$PY" "$ROOT/benches/peers/join.py" "${ours[@]}" --peers "$peers_file" \
    "${roof[@]}" $show_all --out "$OUT/joined.jsonl"
