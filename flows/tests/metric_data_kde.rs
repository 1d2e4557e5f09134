//! KDE baselines on the shared Earth (S²) and RNA (T⁷) data: bandwidth chosen by validation NLL
//! on a seeded 80/10/10 split, test NLL printed. Skips with a message when the data are absent.

use geoflow_flows::metric::{Kde, KdeKernel};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

const EARTHQUAKE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/earth/quakes_all.csv"
);
const RNA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/rna/rna.tsv");

/// Rows of numbers split on `sep`, skipping `#` comments and lines whose `cols` fields do not
/// all parse (headers); `cols` selects the columns.
fn read_rows(path: &str, sep: char, cols: &[usize]) -> Option<Vec<Vec<f64>>> {
    if !Path::new(path).exists() {
        println!("SKIPPED: {path} not found");
        return None;
    }
    let text = std::fs::read_to_string(path).expect("readable data file");
    let mut rows = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(sep).collect();
        let vals: Option<Vec<f64>> = cols
            .iter()
            .map(|&c| fields.get(c).and_then(|f| f.trim().parse().ok()))
            .collect();
        if let Some(v) = vals {
            rows.push(v);
        }
    }
    Some(rows)
}

/// Seeded 80/10/10 split of row indices.
fn split(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let (a, b) = (n * 8 / 10, n * 9 / 10);
    (idx[..a].to_vec(), idx[a..b].to_vec(), idx[b..].to_vec())
}

fn gather(points: &[f64], d: usize, idx: &[usize]) -> Vec<f64> {
    idx.iter()
        .flat_map(|&i| points[i * d..(i + 1) * d].iter().copied())
        .collect()
}

#[test]
fn earthquake_vmf_kde_baseline() {
    let Some(rows) = read_rows(EARTHQUAKE, ',', &[0, 1]) else {
        return;
    };
    assert_eq!(rows.len(), 6120);
    let pts: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            let (lat, lon) = (r[0].to_radians(), r[1].to_radians());
            [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
        })
        .collect();
    let (tr, va, te) = split(rows.len(), 0);
    // Debug builds (unoptimised vmath) select on 120 validation points and a coarser grid to
    // stay under 10 s; release builds use the whole split and the default grid.
    let (nv, step) = if cfg!(debug_assertions) {
        (120, 2)
    } else {
        (va.len(), 1)
    };
    let (train, val, test) = (
        gather(&pts, 3, &tr),
        gather(&pts, 3, &va[..nv]),
        gather(&pts, 3, &te),
    );
    let grid: Vec<f64> = KdeKernel::VonMisesFisher
        .default_grid::<f64>()
        .into_iter()
        .step_by(step)
        .collect();
    let (h, nlls) = Kde::fit_bandwidth(KdeKernel::VonMisesFisher, 2, &train, &val, &grid).unwrap();
    let nll = Kde::new(KdeKernel::VonMisesFisher, 2, &train, h)
        .unwrap()
        .nll(&test)
        .unwrap();
    println!("earthquake vMF KDE: h = {h:.4}, val NLL curve {nlls:.3?}, test NLL {nll}");
    // Far more concentrated than uniform (log 4π ≈ 2.53), and the choice is interior.
    assert!(nll.mean < 1.0, "{nll}");
    assert!(h > grid[0] && h < grid[grid.len() - 1]);
}

#[test]
fn rna_torus_kde_baseline() {
    let Some(rows) = read_rows(RNA, '\t', &[2, 3, 4, 5, 6, 7, 8]) else {
        return;
    };
    assert_eq!(rows.len(), 9478);
    let pts: Vec<f64> = rows.iter().flatten().map(|d| d.to_radians()).collect();
    let (tr, va, te) = split(rows.len(), 0);
    // Debug builds: a coarse grid and 60 validation / test points (< 10 s); release builds use
    // the whole split and a finer grid.
    let (nv, grid) = if cfg!(debug_assertions) {
        (60, vec![0.07, 0.12, 0.2])
    } else {
        (
            va.len().min(te.len()),
            vec![0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3],
        )
    };
    let (train, val, test) = (
        gather(&pts, 7, &tr),
        gather(&pts, 7, &va[..nv]),
        gather(&pts, 7, &te[..nv]),
    );
    let (h, nlls) =
        Kde::fit_bandwidth(KdeKernel::WrappedNormalTorus, 7, &train, &val, &grid).unwrap();
    let nll = Kde::new(KdeKernel::WrappedNormalTorus, 7, &train, h)
        .unwrap()
        .nll(&test)
        .unwrap();
    println!("RNA T7 wrapped-normal KDE: h = {h}, val NLL {nlls:.3?}, test NLL {nll}");
    // Uniform on T⁷ has NLL 7 log 2π ≈ 12.87; the data are strongly clustered.
    assert!(nll.mean < 12.87 - 5.0, "{nll}");
}
