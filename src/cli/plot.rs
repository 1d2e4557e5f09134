//! SVG figures: data against samples, one panel per sample set.
//!
//! Points of S² are drawn on the Mollweide (equal-area) world projection with a 30° graticule;
//! points of a torus by their first two angles on $[0, 2\pi)^2$; points of H² on the Poincaré
//! disk (Lorentz points are mapped to the disk first).

use plotters::prelude::*;
use std::path::Path;

/// How points are laid out in the plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Projection {
    /// S² ⊂ ℝ³ on the Mollweide projection (x = cos φ cos λ, y = cos φ sin λ, z = sin φ).
    Mollweide,
    /// The first two angles of a torus point.
    Torus,
    /// The Poincaré disk (ball coordinates).
    Disk,
    /// The Lorentz model of H², shown on the Poincaré disk.
    LorentzDisk,
    /// The first two coordinates.
    Plane,
}

/// Mollweide coordinates of latitude `phi` and longitude `lam` (radians).
pub fn mollweide(phi: f64, lam: f64) -> (f64, f64) {
    let target = std::f64::consts::PI * phi.sin();
    let mut th = phi;
    for _ in 0..50 {
        let f = 2.0 * th + (2.0 * th).sin() - target;
        let df = 2.0 + 2.0 * (2.0 * th).cos();
        if df.abs() < 1e-12 {
            break;
        }
        let step = f / df;
        th -= step;
        if step.abs() < 1e-12 {
            break;
        }
    }
    let s2 = std::f64::consts::SQRT_2;
    (
        2.0 * s2 / std::f64::consts::PI * lam * th.cos(),
        s2 * th.sin(),
    )
}

fn project(p: Projection, x: &[f32]) -> (f64, f64) {
    let c = |i: usize| f64::from(x[i]);
    match p {
        Projection::Mollweide => {
            let (a, b, z) = (c(0), c(1), c(2));
            let r = (a * a + b * b + z * z).sqrt().max(1e-300);
            mollweide((z / r).clamp(-1.0, 1.0).asin(), b.atan2(a))
        }
        Projection::Torus | Projection::Plane => (c(0), c(1)),
        Projection::Disk => (c(0), c(1)),
        Projection::LorentzDisk => (c(1) / (1.0 + c(0)), c(2) / (1.0 + c(0))),
    }
}

fn range(p: Projection) -> ((f64, f64), (f64, f64)) {
    let s2 = std::f64::consts::SQRT_2;
    match p {
        Projection::Mollweide => ((-2.0 * s2, 2.0 * s2), (-s2, s2)),
        Projection::Torus => ((0.0, std::f64::consts::TAU), (0.0, std::f64::consts::TAU)),
        Projection::Disk | Projection::LorentzDisk => ((-1.0, 1.0), (-1.0, 1.0)),
        Projection::Plane => ((-4.0, 4.0), (-4.0, 4.0)),
    }
}

/// Writes an SVG with one panel per `(title, points)` (rows of `d` coordinates), each showing
/// `data` in grey under the panel's points in colour.
///
/// # Errors
/// A drawing or I/O error, as one line of text.
pub fn panels(
    path: &Path,
    title: &str,
    projection: Projection,
    d: usize,
    data: &[f32],
    sets: &[(String, Vec<f32>)],
) -> Result<(), String> {
    let cols = sets.len().clamp(1, 3);
    let rows = sets.len().div_ceil(cols).max(1);
    let aspect = if projection == Projection::Mollweide {
        2.0
    } else {
        1.0
    };
    let pw = 420u32;
    let ph = (f64::from(pw) / aspect) as u32 + 40;
    let tmp = path.with_extension("svg.tmp");
    {
        let root =
            SVGBackend::new(&tmp, (pw * cols as u32, ph * rows as u32 + 40)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let root = root
            .titled(title, ("sans-serif", 20))
            .map_err(|e| err(&e))?;
        let areas = root.split_evenly((rows, cols));
        let ((x0, x1), (y0, y1)) = range(projection);
        for (area, (name, pts)) in areas.iter().zip(sets) {
            let mut chart = ChartBuilder::on(area)
                .caption(name, ("sans-serif", 15))
                .margin(6)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| err(&e))?;
            draw_frame(&mut chart, projection).map_err(|e| err(&e))?;
            let grey = RGBColor(150, 150, 150).mix(0.5);
            chart
                .draw_series(
                    thin(data, d).map(|x| Circle::new(project(projection, x), 1, grey.filled())),
                )
                .map_err(|e| err(&e))?;
            let col = RGBColor(200, 30, 30).mix(0.6);
            chart
                .draw_series(
                    thin(pts, d).map(|x| Circle::new(project(projection, x), 1, col.filled())),
                )
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// At most [`MAX_POINTS`] rows of `xs`, evenly spaced (keeps the SVG small).
fn thin(xs: &[f32], d: usize) -> impl Iterator<Item = &[f32]> {
    let n = xs.len() / d.max(1);
    let step = n.div_ceil(MAX_POINTS).max(1);
    xs.chunks_exact(d).step_by(step)
}

/// Points drawn per set in a panel.
const MAX_POINTS: usize = 300;

type Chart<'a> = ChartContext<
    'a,
    SVGBackend<'a>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn draw_frame(
    chart: &mut Chart<'_>,
    projection: Projection,
) -> Result<(), Box<dyn std::error::Error>> {
    let line = RGBColor(190, 190, 210);
    match projection {
        Projection::Mollweide => {
            let deg = std::f64::consts::PI / 180.0;
            for lon in (-180..=180).step_by(30) {
                let pts: Vec<_> = (-90..=90)
                    .step_by(5)
                    .map(|lat| mollweide(f64::from(lat) * deg, f64::from(lon) * deg))
                    .collect();
                chart.draw_series(LineSeries::new(pts, line))?;
            }
            for lat in (-60..=60).step_by(30) {
                let pts: Vec<_> = (-180..=180)
                    .step_by(5)
                    .map(|lon| mollweide(f64::from(lat) * deg, f64::from(lon) * deg))
                    .collect();
                chart.draw_series(LineSeries::new(pts, line))?;
            }
        }
        Projection::Disk | Projection::LorentzDisk => {
            let pts: Vec<_> = (0..=360)
                .map(|k| {
                    let a = f64::from(k) * std::f64::consts::PI / 180.0;
                    (a.cos(), a.sin())
                })
                .collect();
            chart.draw_series(LineSeries::new(pts, line))?;
        }
        Projection::Torus | Projection::Plane => {
            chart.configure_mesh().disable_mesh().draw()?;
        }
    }
    Ok(())
}

/// Writes an SVG line chart of `series` against `xs` (log scale on both axes).
///
/// # Errors
/// A drawing or I/O error, as one line of text.
pub fn lines(
    path: &Path,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    xs: &[f64],
    series: &[(String, Vec<f64>)],
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let pos = |v: f64| v.max(1e-6);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, ys) in series {
        for &y in ys {
            lo = lo.min(pos(y));
            hi = hi.max(pos(y));
        }
    }
    if !lo.is_finite() || xs.is_empty() {
        return Err(format!("{}: nothing to plot", path.display()));
    }
    let x0 = xs.iter().copied().fold(f64::INFINITY, f64::min).max(1e-9);
    let x1 = xs
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        .max(x0 * 1.01);
    let tmp = path.with_extension("svg.tmp");
    {
        let root = SVGBackend::new(&tmp, (720, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                (x0 / 1.2..x1 * 1.2).log_scale(),
                (lo / 2.0..hi * 2.0).log_scale(),
            )
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc(xlabel)
            .y_desc(ylabel)
            .draw()
            .map_err(|e| err(&e))?;
        let colours = [
            RGBColor(31, 119, 180),
            RGBColor(44, 160, 44),
            RGBColor(214, 39, 40),
            RGBColor(148, 103, 189),
        ];
        for (i, (name, ys)) in series.iter().enumerate() {
            let c = colours[i % colours.len()];
            let pts: Vec<(f64, f64)> = xs.iter().zip(ys).map(|(&x, &y)| (x, pos(y))).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled())))
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}
