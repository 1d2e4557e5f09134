#!/usr/bin/env python3
"""Join geoflow's batched-op and training timings with the Python peers' and print comparison
tables.

Inputs are JSON-lines files in peers.py's record format: one or more from the `geoflow_ops` /
`geoflow_train` binaries (lib "geoflow"; --ours may be repeated), one from `peers.py`.

- `op` records (section ops) are joined on (manifold, dim, op, dtype, threads); geoflow's
  `geodesic_pair` (point and velocity) carries `peer_op: "geodesic"`, the peers' name. The
  roofline (ns/point) is parsed from ROOFLINE.md section 2 when that file is given: 1 thread:
  max(memory floor 1T, SIMD compute floor on one core); 2 threads: its "roofline 2T".
- `train` records (section train) are joined on (op, dtype, threads) against the fastest peer
  (torch_ref or flow_matching for rfm_step); the table gives ms/step and peer/ours. Our own
  `flowmap_step` has no peer: it is listed with its cost in units of `flowmap_fwd` (the flow
  map's forward pass) and of `mlp_fwd`.

Standard library only.

    python3 join.py --ours geoflow.jsonl [--ours geoflow_train.jsonl] --peers peers.jsonl
                    [--roofline ROOFLINE.md] [--all] [--out joined.jsonl]
"""

import argparse
import json
import re
import sys

DTYPES = {"f32": "float32", "f64": "float64"}


def read_jsonl(path):
    recs = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                recs.append(json.loads(line))
            except json.JSONDecodeError as e:
                print(f"warning: {path}:{i}: not JSON ({e}); skipped", file=sys.stderr)
    return recs


def _num(s):
    m = re.match(r"\s*([0-9.]+)", s)
    return float(m.group(1)) if m else None


def parse_roofline(path):
    """{(manifold, dim, op, dtype): (roof_1t, roof_2t)} from the table in section 2."""
    table = {}
    try:
        text = open(path).read()
    except OSError:
        return table
    sec = text.split("## 2.", 1)
    if len(sec) < 2:
        return table
    for line in sec[1].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 7:
            continue
        name = cells[0].split()
        if len(name) != 3 or not name[1].isdigit() or cells[1] not in DTYPES:
            continue
        fam, dim, op = name[0], int(name[1]), name[2]
        floors = [_num(x) for x in cells[3].split("/")]
        simd = _num(cells[4])
        roof2 = _num(cells[6])
        if len(floors) != 2 or None in floors or simd is None or roof2 is None:
            continue
        table[(fam, dim, op, DTYPES[cells[1]])] = (max(floors[0], simd), roof2)
    return table


def key(r, op_field="op"):
    return (r.get("manifold"), int(r.get("dim", -1)), r.get(op_field), r.get("dtype"),
            int(r.get("threads", 0)))


def fmt(x, w=8, p=2):
    return f"{x:{w}.{p}f}" if isinstance(x, (int, float)) else f"{'-':>{w}}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", required=True, action="append",
                    help="geoflow_ops / geoflow_train output (JSON lines); may be repeated")
    ap.add_argument("--peers", required=True, help="peers.py output (JSON lines)")
    ap.add_argument("--roofline", default="", help="ROOFLINE.md (optional)")
    ap.add_argument("--all", action="store_true", help="also list geoflow rows no peer times")
    ap.add_argument("--out", default="", help="write the joined rows here as JSON lines")
    args = ap.parse_args()

    our_recs = [r for path in args.ours for r in read_jsonl(path)]
    ours = [r for r in our_recs if r.get("kind") == "op" and r.get("lib") == "geoflow"]
    ours_train = [r for r in our_recs if r.get("kind") == "train" and r.get("lib") == "geoflow"]
    peer_recs = read_jsonl(args.peers)
    rows = []
    if ours:
        rows += join_ops(args, ours, peer_recs)
    if ours_train:
        rows += join_train(ours_train, peer_recs)
    if not ours and not ours_train:
        print("no geoflow op or train records in " + ", ".join(args.ours))
    for r in peer_recs:
        if r.get("kind") == "end" and r.get("foreign_busy_cores") is not None:
            fb = r["foreign_busy_cores"]
            print(f"peers run: other processes kept {fb} cores busy on average"
                  + ("  (> 0.2: 2-thread rows unreliable)" if fb > 0.2 else ""))
        if r.get("kind") == "env":
            print(f"peers env: torch {r.get('torch')}, peers {r.get('peers')}, cpu {r.get('cpu')}")
    if args.out:
        with open(args.out, "w") as f:
            for x in rows:
                f.write(json.dumps(x) + "\n")


def join_train(ours, peer_recs):
    """Training steps: ours vs the fastest peer on (op, dtype, threads); the flow-map ratios."""
    peers = [r for r in peer_recs if r.get("kind") == "train" and r.get("lib") != "geoflow"
             and not r.get("error") and r.get("ms_per_step")]
    best = {}
    for r in peers:
        k = (r["op"], r.get("dtype"), int(r.get("threads", 0)))
        if k not in best or r["ms_per_step"] < best[k]["ms_per_step"]:
            best[k] = r
    mine = {(r["op"], r.get("dtype"), int(r.get("threads", 0))): r for r in ours}
    rows = []
    for (op, dt, th), r in sorted(mine.items()):
        b = best.get((op, dt, th))
        row = dict(section="train", op=op, dtype=dt, threads=th, batch=r.get("batch"),
                   ours_ms=r["ms_per_step"], ours_ms_min=r.get("ms_per_step_min"),
                   peer_ms=b["ms_per_step"] if b else None, peer=b["lib"] if b else None,
                   peer_ms_min=b.get("ms_per_step_min") if b else None,
                   speedup=(b["ms_per_step"] / r["ms_per_step"]) if b else None)
        if b and b.get("ms_per_step_min") and r.get("ms_per_step_min"):
            row["speedup_min"] = b["ms_per_step_min"] / r["ms_per_step_min"]
        if op == "flowmap_step":
            fwd = mine.get(("flowmap_fwd", dt, th))
            mf = mine.get(("mlp_fwd", dt, th))
            row["over_flowmap_fwd"] = r["ms_per_step"] / fwd["ms_per_step"] if fwd else None
            row["over_mlp_fwd"] = r["ms_per_step"] / mf["ms_per_step"] if mf else None
            if fwd and fwd.get("ms_per_step_min") and r.get("ms_per_step_min"):
                row["over_flowmap_fwd_min"] = r["ms_per_step_min"] / fwd["ms_per_step_min"]
        rows.append(row)
    hdr = (f"{'train op':13} {'dtype':7} {'thr':>3} {'ours ms':>8} {'(min)':>8} {'peer ms':>8} "
           f"{'(min)':>8} {'best peer':14} {'peer/ours':>9} {'(mins)':>7}  note")
    print("\n" + hdr)
    print("-" * len(hdr))
    for x in rows:
        note = ""
        if x["op"] == "flowmap_step":
            note = (f"= {fmt(x['over_flowmap_fwd'], 0, 1).strip()} x flowmap_fwd "
                    f"({fmt(x.get('over_flowmap_fwd_min'), 0, 1).strip()} on minima), "
                    f"{fmt(x['over_mlp_fwd'], 0, 1).strip()} x mlp_fwd (target <= 5)")
        print(f"{x['op']:13} {x['dtype']:7} {x['threads']:>3} {fmt(x['ours_ms'], 8, 3)} "
              f"{fmt(x['ours_ms_min'], 8, 3)} {fmt(x['peer_ms'], 8, 3)} "
              f"{fmt(x.get('peer_ms_min'), 8, 3)} {(x['peer'] or '-'):14} "
              f"{fmt(x['speedup'], 9, 2)} {fmt(x.get('speedup_min'), 7, 2)}  {note}")
    print("peer/ours compares medians; (mins) the fastest repeat of each side, steadier when "
          "other processes share the machine")
    missing = sorted(k for k in best if k not in mine)
    print(f"\n{sum(1 for x in rows if x['peer'])} train rows joined; {len(ours)} geoflow rows, "
          f"{len(peers)} peer rows; {len(missing)} peer keys without a geoflow row")
    if missing:
        print("  e.g. " + ", ".join(f"{o} {d} t{t}" for o, d, t in missing[:8]))
    return rows


def join_ops(args, ours, peer_recs):
    """Batched ops: ours vs the fastest peer on (manifold, dim, op, dtype, threads)."""
    peers = [r for r in peer_recs if r.get("kind") == "op" and r.get("section", "ops") == "ops"
             and r.get("lib") != "geoflow" and not r.get("error") and r.get("ns_per_point")]
    roof = parse_roofline(args.roofline) if args.roofline else {}
    if args.roofline and not roof:
        print(f"note: no roofline table parsed from {args.roofline}; roofline column left empty",
              file=sys.stderr)

    best = {}
    for r in peers:
        k = key(r)
        if k not in best or r["ns_per_point"] < best[k]["ns_per_point"]:
            best[k] = r

    rows = []
    for r in ours:
        pk = key(r, "peer_op") if r.get("peer_op") else None
        b = best.get(pk) if pk else None
        if b is None and not args.all:
            continue
        fam, dim, _, dt, th = key(r)
        rf = roof.get((fam, dim, r.get("peer_op") or r["op"], dt))
        rl = None if rf is None else (rf[0] if th == 1 else rf[1])
        rows.append(dict(
            manifold=fam, dim=dim, op=r.get("peer_op") or r["op"], geoflow_op=r["op"], dtype=dt,
            threads=th, n_points=r.get("n_points"), ours_ns=r["ns_per_point"],
            peer_ns=b["ns_per_point"] if b else None, peer=b["lib"] if b else None,
            peer_n_points=b.get("n_points") if b else None,
            speedup=(b["ns_per_point"] / r["ns_per_point"]) if b else None,
            roofline_ns=rl, ours_over_roof=(r["ns_per_point"] / rl) if rl else None))

    rows.sort(key=lambda x: (x["manifold"], x["dim"], x["op"], x["dtype"], x["threads"]))
    hdr = (f"{'manifold':9} {'dim':>4} {'op':17} {'dtype':7} {'thr':>3} {'ours ns/pt':>10} "
           f"{'peer ns/pt':>10} {'best peer':14} {'peer/ours':>9} {'roof ns/pt':>10} {'ours/roof':>9}")
    print(hdr)
    print("-" * len(hdr))
    for x in rows:
        print(f"{x['manifold']:9} {x['dim']:>4} {x['op']:17} {x['dtype']:7} {x['threads']:>3} "
              f"{fmt(x['ours_ns'], 10)} {fmt(x['peer_ns'], 10)} {(x['peer'] or '-'):14} "
              f"{fmt(x['speedup'], 9, 1)} {fmt(x['roofline_ns'], 10, 1)} {fmt(x['ours_over_roof'], 9, 1)}")
    joined = sum(1 for x in rows if x["peer"])
    our_keys = {key(r, "peer_op") for r in ours if r.get("peer_op")}
    missing = sorted(k for k in best if k not in our_keys)
    print(f"\n{joined} rows joined; {len(ours)} geoflow rows, {len(peers)} peer rows; "
          f"{len(missing)} peer keys without a geoflow row")
    if missing:
        shown = ", ".join(f"{m} {d} {o} {t} t{th}" for m, d, o, t, th in missing[:8])
        print(f"  e.g. {shown}{' ...' if len(missing) > 8 else ''}")
    if roof:
        print("roofline: ROOFLINE.md section 2 (1T = max(mem floor 1T, SIMD compute floor), "
              "2T = its 'roofline 2T'); measured on the project's 2-core machine kind, not this run")
    for x in rows:
        x["section"] = "ops"
    return rows


if __name__ == "__main__":
    main()
