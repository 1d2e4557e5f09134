//! Times geoflow's batched ops and prints one JSON object per line in `peers.py`'s record
//! format, so that `peers/compare.sh` can join them with the Python peers on
//! (manifold, dim, op, dtype, threads).
//!
//! ```text
//! geoflow_ops [--size-log2 22] [--threads 2,1] [--dtypes float32,float64]
//!             [--manifolds sphere,lorentz] [--ops exp,log] [--min-rep 3] [--max-rep 5]
//!             [--budget 0.1] [--quick]
//! ```
//!
//! Records: `env` first, one `op` per (manifold, dim, op, dtype, threads) with `lib` =
//! `geoflow`, `ns_per_point` = median wall time per call / n · 1e9, and `end`. Outputs are
//! preallocated and reused (no page faults in the timed calls). `geodesic_pair` (point and
//! velocity) is what `peers.py` calls `geodesic`; the record carries `peer_op` for the join.

use std::time::Instant;

use geoflow_benches::{for_each_manifold, points_for, pool, Op, Visitor, Workload};
use geoflow_manifolds::prelude::*;

struct Args {
    size_log2: u32,
    threads: Vec<usize>,
    dtypes: Vec<String>,
    manifolds: Vec<String>,
    ops: Vec<Op>,
    min_rep: usize,
    max_rep: usize,
    budget: f64,
}

fn usage(msg: &str) -> ! {
    eprintln!("geoflow_ops: {msg}");
    eprintln!(
        "usage: geoflow_ops [--size-log2 K] [--threads 2,1] [--dtypes float32,float64] \
         [--manifolds a,b] [--ops exp,log] [--min-rep N] [--max-rep N] [--budget S] [--quick]"
    );
    std::process::exit(2)
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_args() -> Args {
    let mut a = Args {
        size_log2: 22,
        threads: vec![2, 1],
        dtypes: list("float32,float64"),
        manifolds: Vec::new(),
        ops: Op::ALL.to_vec(),
        min_rep: 3,
        max_rep: 5,
        budget: 0.1,
    };
    let mut quick = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--quick" {
            quick = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            usage("help");
        }
        let Some(v) = it.next() else {
            usage(&format!("{flag} needs a value"))
        };
        let num = |v: &str| -> f64 {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {v}")))
        };
        match flag.as_str() {
            "--size-log2" => a.size_log2 = num(&v) as u32,
            "--threads" => a.threads = list(&v).iter().map(|t| num(t) as usize).collect(),
            "--dtypes" => a.dtypes = list(&v),
            "--manifolds" => a.manifolds = list(&v),
            "--ops" => {
                a.ops = list(&v)
                    .iter()
                    .map(|o| Op::from_name(o).unwrap_or_else(|| usage(&format!("unknown op {o}"))))
                    .collect()
            }
            "--min-rep" => a.min_rep = num(&v) as usize,
            "--max-rep" => a.max_rep = num(&v) as usize,
            "--budget" => a.budget = num(&v),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    if quick {
        a.size_log2 = a.size_log2.min(16);
        (a.min_rep, a.max_rep, a.budget) = (2, 3, 0.01);
    }
    for d in &a.dtypes {
        if d != "float32" && d != "float64" {
            usage(&format!("unknown dtype {d}"));
        }
    }
    a.max_rep = a.max_rep.max(a.min_rep).max(1);
    a
}

/// A JSON string literal (the strings here are plain ASCII names).
fn js(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

struct Runner<'a> {
    args: &'a Args,
    pools: &'a [(usize, rayon::ThreadPool)],
    dtype: &'static str,
}

impl Visitor for Runner<'_> {
    fn visit<M: Manifold + ParallelTransport + Sample>(
        &mut self,
        family: &'static str,
        dim: usize,
        m: M,
    ) {
        if !self.args.manifolds.is_empty() && !self.args.manifolds.iter().any(|x| x == family) {
            return;
        }
        let d = m.ambient_dim();
        let n = points_for(self.args.size_log2, d);
        let esize = core::mem::size_of::<M::Scalar>();
        let mut w = Workload::new(m, family, n);
        for (threads, pool) in self.pools {
            for &op in &self.args.ops {
                let mut times = Vec::new();
                pool.install(|| {
                    w.run(op); // warm-up (touches outputs, spins up the pool)
                    let mut spent = 0.0;
                    while times.len() < self.args.max_rep
                        && (times.len() < self.args.min_rep || spent < self.args.budget)
                    {
                        let t0 = Instant::now();
                        w.run(op);
                        let dt = t0.elapsed().as_secs_f64();
                        times.push(dt);
                        spent += dt;
                    }
                });
                let (min, max) = (
                    times.iter().copied().fold(f64::INFINITY, f64::min),
                    times.iter().copied().fold(0.0, f64::max),
                );
                let reps = times.len();
                let med = median(&mut times);
                let bpp = op.bytes_per_point(d, esize);
                let peer = op.peer_name().map_or("null".to_owned(), js);
                println!(
                    "{{\"kind\": \"op\", \"section\": \"ops\", \"lib\": \"geoflow\", \"manifold\": {}, \
                     \"dim\": {dim}, \"ambient\": {d}, \"op\": {}, \"peer_op\": {peer}, \"dtype\": {}, \
                     \"threads\": {threads}, \"n_points\": {n}, \"bytes_per_point\": {bpp}, \
                     \"median_s\": {med:e}, \"min_s\": {min:e}, \"max_s\": {max:e}, \"repeats\": {reps}, \
                     \"ns_per_point\": {}, \"ns_per_point_min\": {}, \"GBps\": {}, \"note\": \"\"}}",
                    js(family),
                    js(op.name()),
                    js(self.dtype),
                    med / n as f64 * 1e9,
                    min / n as f64 * 1e9,
                    bpp as f64 * n as f64 / med / 1e9,
                );
                eprintln!(
                    "geoflow {family:9}{dim:<3} {:17} {} t{threads}: {:9.2} ns/pt {:7.2} GB/s (x{reps})",
                    op.name(),
                    self.dtype,
                    med / n as f64 * 1e9,
                    bpp as f64 * n as f64 / med / 1e9
                );
            }
        }
    }
}

fn main() {
    let args = parse_args();
    let t0 = Instant::now();
    let feats: Vec<&str> = [
        ("sse2", cfg!(target_feature = "sse2")),
        ("avx", cfg!(target_feature = "avx")),
        ("avx2", cfg!(target_feature = "avx2")),
        ("fma", cfg!(target_feature = "fma")),
        ("avx512f", cfg!(target_feature = "avx512f")),
    ]
    .into_iter()
    .filter_map(|(n, on)| on.then_some(n))
    .collect();
    println!(
        "{{\"kind\": \"env\", \"lib\": \"geoflow\", \"size_log2\": {}, \"threads\": {:?}, \
         \"dtypes\": [{}], \"target_features\": [{}], \"nproc\": {}}}",
        args.size_log2,
        args.threads,
        args.dtypes
            .iter()
            .map(|d| js(d))
            .collect::<Vec<_>>()
            .join(", "),
        feats.iter().map(|f| js(f)).collect::<Vec<_>>().join(", "),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let pools: Vec<(usize, rayon::ThreadPool)> =
        args.threads.iter().map(|&t| (t, pool(t))).collect();
    for dt in args.dtypes.clone() {
        if dt == "float32" {
            let mut r = Runner {
                args: &args,
                pools: &pools,
                dtype: "float32",
            };
            for_each_manifold::<f32, _>(&mut r);
        } else {
            let mut r = Runner {
                args: &args,
                pools: &pools,
                dtype: "float64",
            };
            for_each_manifold::<f64, _>(&mut r);
        }
    }
    println!(
        "{{\"kind\": \"end\", \"lib\": \"geoflow\", \"wall_s\": {}}}",
        t0.elapsed().as_secs_f64()
    );
}
