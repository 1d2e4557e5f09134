"""The sphere ops of geoflow-gpu in PyTorch (eager and torch.compile), same formulas and sizes.

Prints one JSON object per line, like the Rust `gpu_bench` example:
  {"kind": "torch", "variant": "eager"|"compile", "op": ..., "n": ..., "d": ..., "bytes": ...,
   "seconds": ..., "gbps": ...}
Usage: python3 torch_ops.py N3 N64 REPS [BUDGET_SECONDS]
Run only where `import torch` works and CUDA is available.
"""

import json
import math
import sys
import time

import torch


def sinc(r):
    # numerics::sinc with the f32 cutoff 1e-2
    r2 = r * r
    return torch.where(r < 1e-2, 1 - r2 / 6 + r2 * r2 / 120, torch.sin(r) / torch.where(r < 1e-2, 1, r))


def exp(p, v):
    r = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    return torch.cos(r) * p + sinc(r) * v


def angle(p, q):
    return 2 * torch.atan2(
        torch.linalg.vector_norm(q - p, dim=-1, keepdim=True),
        torch.linalg.vector_norm(q + p, dim=-1, keepdim=True),
    )


def log(p, q):
    th = angle(p, q)
    w = q - (p * q).sum(-1, keepdim=True) * p
    nw = torch.linalg.vector_norm(w, dim=-1, keepdim=True)
    return w * (th / torch.clamp(nw, min=1e-30))


def dist(p, q):
    return angle(p, q).squeeze(-1)


def inner(p, u, v):
    return (u * v).sum(-1)


def geodesic(p, q, t):
    th = angle(p, q)
    t = t.unsqueeze(-1)
    s = sinc(th)
    return (1 - t) * sinc((1 - t) * th) / s * p + t * sinc(t * th) / s * q


def geodesic_velocity(p, q, t):
    th = angle(p, q)
    t = t.unsqueeze(-1)
    lg = log(p, q)
    return torch.cos(t * th) * lg - th * torch.sin(t * th) * p


def transport(p, q, v):
    s = p + q
    s = s / torch.linalg.vector_norm(s, dim=-1, keepdim=True)
    return v - 2 * (s * v).sum(-1, keepdim=True) * s


def project_tangent(p, u):
    return u - (p * u).sum(-1, keepdim=True) * p


def project_point(x):
    return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)


OPS = {
    "exp": (exp, "pv", True),
    "log": (log, "pq", True),
    "dist": (dist, "pq", False),
    "inner": (inner, "pvv", False),
    "geodesic": (geodesic, "pqt", True),
    "geodesic_velocity": (geodesic_velocity, "pqt", True),
    "transport": (transport, "pqv", True),
    "project_tangent": (project_tangent, "px", True),
    "project_point": (project_point, "x", True),
}


def timed(f, args, reps):
    f(*args)
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        f(*args)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / reps


def main():
    n3, n64, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    budget = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
    t0 = time.time()
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(1)
    compiled = {}
    for n, d in ((n3, 3), (n64, 64)):
        p = torch.nn.functional.normalize(torch.randn(n, d, device=dev, generator=g), dim=-1)
        q = torch.nn.functional.normalize(torch.randn(n, d, device=dev, generator=g), dim=-1)
        v = 0.3 * project_tangent(p, torch.randn(n, d, device=dev, generator=g))
        t = torch.rand(n, device=dev, generator=g)
        x = 1.1 * q
        data = {"p": p, "q": q, "v": v, "t": t, "x": x}
        for name, (f, sig, rows_out) in OPS.items():
            args = [data[c] for c in sig]
            read = sum(1 if c == "t" else d for c in sig)
            nbytes = (read + (d if rows_out else 1)) * n * 4
            variants = [("eager", f)]
            if time.time() - t0 < budget:
                if name not in compiled:
                    compiled[name] = torch.compile(f, dynamic=True)
                variants.append(("compile", compiled[name]))
            else:
                print(json.dumps({"kind": "note", "message": f"torch.compile skipped for {name} n={n}: time budget"}))
            for variant, fn in variants:
                s = timed(fn, args, reps)
                print(json.dumps({"kind": "torch", "variant": variant, "op": name, "n": n, "d": d,
                                  "bytes": nbytes, "seconds": s, "gbps": round(nbytes / s / 1e9, 2)}),
                      flush=True)
        del p, q, v, t, x, data
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
