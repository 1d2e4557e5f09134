//! Loaders for the CSV/TSV files of the shared data directory, and the built-in dataset names.
//!
//! Every loader reads the whole file, reports the first problem as
//! [`FlowError::Data`] `{ path, line, msg }` (1-based line; `line = 0` for whole-file problems
//! such as "no data rows") and never panics on malformed input. Common rules:
//!
//! - lines are split on `\n`; a trailing `\r` (Windows line ends, as in `flood.csv`) and
//!   surrounding blanks are removed; blank lines and lines whose first non-blank character is
//!   `#` are skipped; a missing final newline is fine;
//! - the **first** remaining line is a header, and skipped, when *none* of its numeric fields
//!   parses as a number (so `lat,long` is a header, while `12.5,abc` is an error);
//! - numbers are parsed as `f64` (Rust's `str::parse`), must be finite, and are rounded to `T`
//!   at the end, after the geometry has been computed in `f64`.

use std::path::{Path, PathBuf};

use crate::data::{Dataset, Space};
use crate::{FlowError, Result};
use geoflow_manifolds::{wrap_angle, FlatTorus, Manifold, Real, Sphere};

/// Environment variable that overrides the default data directory (see [`default_data_dir`]).
pub const DATA_DIR_ENV: &str = "GEOFLOW_DATA";

/// Names accepted by [`builtin_path`], [`builtin_space`] and [`load_builtin`].
pub const BUILTIN_DATASETS: [&str; 5] = ["volcano", "earthquake", "flood", "fire", "rna"];

/// Expected row counts of the built-in files (measured; see the data README), in the order of
/// [`BUILTIN_DATASETS`].
pub const BUILTIN_ROWS: [usize; 5] = [827, 6120, 4875, 12809, 9478];

/// How RNA torsion angles are mapped to radians.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AngleRange {
    /// $\operatorname{wrap}(\theta\pi/180) \in \lbrack -\pi, \pi)$: the convention of
    /// [`FlatTorus`] (rows pass its `check_point`). The default.
    #[default]
    Signed,
    /// $(\theta \bmod 360)\cdot\pi/180 \in \lbrack 0, 2\pi)$, as facebookresearch/riemannian-fm.
    /// The same points of $T^n$ (each angle differs from [`Signed`](Self::Signed) by $0$ or
    /// $2\pi$), but these rows do **not** pass `FlatTorus::check_point`, so they are only
    /// range-checked; wrap them before handing them to geoflow's torus.
    ZeroTwoPi,
}

fn data_err(path: &str, line: usize, msg: impl Into<String>) -> FlowError {
    FlowError::Data {
        path: path.to_string(),
        line,
        msg: msg.into(),
    }
}

/// Reads a file as UTF-8 (a leading byte-order mark is dropped); invalid UTF-8 is reported
/// with the line where it starts.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| FlowError::Io {
        path: label.clone(),
        source,
    })?;
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
        data_err(&label, line, "invalid UTF-8")
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// The name of a dataset loaded from `path`: the file stem.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Non-blank, non-comment lines with their 1-based numbers, `\r` and blanks trimmed.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// Splits on `,` when the line has one, else on tabs, else on runs of blanks; fields trimmed.
fn split_fields<'a>(line: &'a str, out: &mut Vec<&'a str>) {
    out.clear();
    if line.contains(',') {
        out.extend(line.split(',').map(str::trim));
    } else if line.contains('\t') {
        out.extend(line.split('\t').map(str::trim));
    } else {
        out.extend(line.split_whitespace());
    }
}

/// Parses field `col` (0-based) as a finite `f64`.
fn parse_num(path: &str, line: usize, col: usize, field: &str) -> Result<f64> {
    if field.is_empty() {
        return Err(data_err(
            path,
            line,
            format!("column {}: empty field", col + 1),
        ));
    }
    let x: f64 = field.parse().map_err(|_| {
        data_err(
            path,
            line,
            format!("column {}: cannot parse {field:?} as a number", col + 1),
        )
    })?;
    if !x.is_finite() {
        return Err(data_err(
            path,
            line,
            format!("column {}: non-finite value {field:?}", col + 1),
        ));
    }
    Ok(x)
}

/// `true` when no field parses as a number (a header line).
fn is_header(fields: &[&str]) -> bool {
    fields.iter().all(|f| f.parse::<f64>().is_err())
}

/// Drives a loader: calls `row(line, fields)` on every data line (comments, blanks and a
/// leading header skipped; `numeric_from` = the first column that must be numeric, used by the
/// header rule), then rejects an empty result.
fn for_each_row<'a>(
    path: &str,
    text: &'a str,
    numeric_from: usize,
    mut row: impl FnMut(usize, &[&'a str]) -> Result<()>,
) -> Result<usize> {
    let mut fields = Vec::new();
    let mut rows = 0usize;
    let mut first = true;
    for (line, l) in content_lines(text) {
        split_fields(l, &mut fields);
        if first {
            first = false;
            if fields.len() > numeric_from && is_header(&fields[numeric_from..]) {
                continue;
            }
        }
        row(line, &fields)?;
        rows += 1;
    }
    if rows == 0 {
        return Err(data_err(path, 0, "no data rows"));
    }
    Ok(rows)
}

fn check_cols(path: &str, line: usize, fields: &[&str], want: usize) -> Result<()> {
    if fields.len() != want {
        return Err(data_err(
            path,
            line,
            format!("expected {want} columns, found {}", fields.len()),
        ));
    }
    Ok(())
}

fn check_row<M: Manifold + ?Sized>(path: &str, line: usize, m: &M, p: &[M::Scalar]) -> Result<()> {
    m.check_point(p)
        .map_err(|e| data_err(path, line, format!("not a point of the manifold: {e}")))
}

/// $(\cos\phi\cos\lambda,\ \cos\phi\sin\lambda,\ \sin\phi)$ for latitude $\phi$ and longitude
/// $\lambda$ in degrees: the embedding of facebookresearch/riemannian-fm (north pole $= e_3$,
/// $(0°, 0°) = e_1$).
///
/// ```
/// use geoflow_flows::data::lat_lon_to_sphere;
/// let x = lat_lon_to_sphere(90.0, 123.0);
/// assert!(x[0].abs() < 1e-15 && x[1].abs() < 1e-15 && x[2] == 1.0);
/// ```
pub fn lat_lon_to_sphere(lat_deg: f64, lon_deg: f64) -> [f64; 3] {
    let (sl, cl) = lat_deg.to_radians().sin_cos();
    let (so, co) = lon_deg.to_radians().sin_cos();
    [cl * co, cl * so, sl]
}

/// Latitude and longitude in degrees of a point of $S^2$ (the inverse of
/// [`lat_lon_to_sphere`]): $(\operatorname{atan2}(z, \sqrt{x^2+y^2}),\ \operatorname{atan2}(y, x))$,
/// longitude in $(-180°, 180°]$. Accepts any nonzero vector (only its direction matters).
///
/// # Panics
/// If `x.len() != 3`.
#[track_caller]
pub fn sphere_to_lat_lon<T: Real>(x: &[T]) -> (f64, f64) {
    assert_eq!(
        x.len(),
        3,
        "sphere_to_lat_lon: want 3 coordinates, got {}",
        x.len()
    );
    let (a, b, c) = (
        x[0].to_f64_lossless(),
        x[1].to_f64_lossless(),
        x[2].to_f64_lossless(),
    );
    (c.atan2(a.hypot(b)).to_degrees(), b.atan2(a).to_degrees())
}

/// Loads an Earth-science CSV (`lat,lon` in degrees per line; `#` comments and a header line
/// allowed) onto $S^2 \subset \mathbb R^3$ with [`lat_lon_to_sphere`]. Latitude must lie in
/// $\lbrack -90, 90\rbrack$ and longitude in $\lbrack -180, 360\rbrack$ (both common
/// conventions). The dataset is named after the file stem.
///
/// ```no_run
/// let d = geoflow_flows::data::load_earth::<f64>("../shared/data/earth/volerup.csv")?;
/// assert_eq!((d.len(), d.dim()), (827, 3));
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
pub fn load_earth<T: Real>(path: impl AsRef<Path>) -> Result<Dataset<T>> {
    let path = path.as_ref();
    let d = parse_earth(&path.display().to_string(), &read_text(path)?)?;
    Ok(d.with_name(stem(path)))
}

/// [`load_earth`] on text already in memory; `label` names it in errors and is the dataset name.
///
/// ```
/// let text = "# comment\nlat,lon\n0,0\n90,0";
/// let d = geoflow_flows::data::parse_earth::<f64>("mem", text)?;
/// assert_eq!(d.row(0), &[1.0, 0.0, 0.0]);
/// let e = geoflow_flows::data::parse_earth::<f64>("mem", "0,0\n95,1").unwrap_err();
/// assert!(e.to_string().starts_with("mem:2:"));
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
pub fn parse_earth<T: Real>(label: &str, text: &str) -> Result<Dataset<T>> {
    let sphere = Sphere::<T>::new(2).expect("S^2 exists");
    let mut data = Vec::new();
    for_each_row(label, text, 0, |line, f| {
        check_cols(label, line, f, 2)?;
        let lat = parse_num(label, line, 0, f[0])?;
        let lon = parse_num(label, line, 1, f[1])?;
        if !(-90.0..=90.0).contains(&lat) {
            return Err(data_err(
                label,
                line,
                format!("latitude {lat} outside [-90, 90] degrees"),
            ));
        }
        if !(-180.0..=360.0).contains(&lon) {
            return Err(data_err(
                label,
                line,
                format!("longitude {lon} outside [-180, 360] degrees"),
            ));
        }
        let x = lat_lon_to_sphere(lat, lon).map(T::c);
        check_row(label, line, &sphere, &x)?;
        data.extend_from_slice(&x);
        Ok(())
    })?;
    Dataset::new(label, 3, data)
}

/// Loads the RNA torsion-angle TSV (`pdb_id base a1 … a7` per line, angles in degrees) onto the
/// flat torus $T^7$ with [`AngleRange::Signed`] (angles in $\lbrack -\pi, \pi)$, the
/// convention of [`FlatTorus`]). Angles must be finite and in $\lbrack -360, 360\rbrack$.
///
/// ```no_run
/// let d = geoflow_flows::data::load_rna::<f64>("../shared/data/rna/rna.tsv")?;
/// assert_eq!((d.len(), d.dim()), (9478, 7));
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
pub fn load_rna<T: Real>(path: impl AsRef<Path>) -> Result<Dataset<T>> {
    load_rna_with(path, AngleRange::Signed)
}

/// [`load_rna`] with a choice of angle range.
pub fn load_rna_with<T: Real>(path: impl AsRef<Path>, range: AngleRange) -> Result<Dataset<T>> {
    let path = path.as_ref();
    let d = parse_rna(&path.display().to_string(), &read_text(path)?, range)?;
    Ok(d.with_name(stem(path)))
}

/// [`load_rna_with`] on text already in memory; `label` names it in errors and is the dataset
/// name. Columns may be separated by tabs (as in the file) or blanks.
///
/// ```
/// use geoflow_flows::data::{parse_rna, AngleRange};
/// let line = "1abc\tG\t-90\t180\t0\t90\t270\t-180\t45";
/// let d = parse_rna::<f64>("mem", line, AngleRange::ZeroTwoPi)?;
/// let pi = std::f64::consts::PI;
/// assert!((d.row(0)[0] - 1.5 * pi).abs() < 1e-15 && d.row(0)[5] == pi);
/// let d = parse_rna::<f64>("mem", line, AngleRange::Signed)?;
/// assert!((d.row(0)[0] + 0.5 * pi).abs() < 1e-15 && d.row(0)[1] == -pi);
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
pub fn parse_rna<T: Real>(label: &str, text: &str, range: AngleRange) -> Result<Dataset<T>> {
    const N: usize = 7;
    let torus = FlatTorus::<T>::new(N).expect("T^7 exists");
    let two_pi = T::c(std::f64::consts::TAU);
    let mut data = Vec::new();
    for_each_row(label, text, 2, |line, f| {
        check_cols(label, line, f, N + 2)?;
        if f[0].is_empty() || f[1].is_empty() {
            return Err(data_err(label, line, "empty pdb_id or base"));
        }
        let mut x = [T::zero(); N];
        for (j, xj) in x.iter_mut().enumerate() {
            let deg = parse_num(label, line, j + 2, f[j + 2])?;
            if !(-360.0..=360.0).contains(&deg) {
                return Err(data_err(
                    label,
                    line,
                    format!("column {}: angle {deg} outside [-360, 360] degrees", j + 3),
                ));
            }
            let rad = deg.rem_euclid(360.0).to_radians();
            *xj = match range {
                AngleRange::Signed => wrap_angle(T::c(wrap_angle(rad))),
                AngleRange::ZeroTwoPi => {
                    let r = T::c(rad);
                    if r >= two_pi {
                        T::zero()
                    } else {
                        r
                    }
                }
            };
        }
        if range == AngleRange::Signed {
            check_row(label, line, &torus, &x)?;
        }
        data.extend_from_slice(&x);
        Ok(())
    })?;
    Dataset::new(label, N, data)
}

/// Loads points of the manifold `m` from a CSV: one point per line, `m.ambient_dim()`
/// coordinates separated by commas (or tabs, or blanks), `#` comments and an optional header
/// line. Every row must pass `m.check_point`; the error carries the line number and the
/// residual. The dataset is named after the file stem.
///
/// ```no_run
/// use geoflow_manifolds::Sphere;
/// let s2 = Sphere::<f64>::new(2)?;
/// let d = geoflow_flows::data::load_points_csv("points.csv", &s2)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_points_csv<M: Manifold + ?Sized>(
    path: impl AsRef<Path>,
    m: &M,
) -> Result<Dataset<M::Scalar>> {
    let path = path.as_ref();
    let d = parse_points_csv(&path.display().to_string(), &read_text(path)?, m)?;
    Ok(d.with_name(stem(path)))
}

/// [`load_points_csv`] on text already in memory; `label` names it in errors and is the
/// dataset name.
///
/// ```
/// use geoflow_manifolds::Sphere;
/// let s2 = Sphere::<f64>::new(2)?;
/// let d = geoflow_flows::data::parse_points_csv("mem", "x,y,z\n0,0,1\n0.6,0.8,0", &s2)?;
/// assert_eq!(d.len(), 2);
/// let e = geoflow_flows::data::parse_points_csv("mem", "0,0,1\n# c\n0,0,2", &s2).unwrap_err();
/// assert!(e.to_string().starts_with("mem:3: not a point"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_points_csv<M: Manifold + ?Sized>(
    label: &str,
    text: &str,
    m: &M,
) -> Result<Dataset<M::Scalar>> {
    let d = m.ambient_dim();
    let mut data = Vec::new();
    let mut x = vec![<M::Scalar as num_traits::Zero>::zero(); d];
    for_each_row(label, text, 0, |line, f| {
        check_cols(label, line, f, d)?;
        for (j, (xj, s)) in x.iter_mut().zip(f).enumerate() {
            *xj = M::Scalar::c(parse_num(label, line, j, s)?);
        }
        check_row(label, line, m, &x)?;
        data.extend_from_slice(&x);
        Ok(())
    })?;
    Dataset::new(label, d, data)
}

/// The data directory used when none is given: `$GEOFLOW_DATA` when set and non-empty, else
/// `../shared/data` relative to the current directory.
pub fn default_data_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("../shared/data"),
    }
}

/// The file of a built-in dataset under `data_dir` (or [`default_data_dir`] when `None`):
/// volcano → `earth/volerup.csv`, earthquake → `earth/quakes_all.csv`, flood →
/// `earth/flood.csv`, fire → `earth/fire.csv`, rna → `rna/rna.tsv`. Does not check that the
/// file exists (loading does, with an I/O error naming the path). Unknown names give
/// [`FlowError::InvalidArgument`] listing the known ones.
///
/// ```
/// use geoflow_flows::data::builtin_path;
/// use std::path::Path;
/// let p = builtin_path("rna", Some(Path::new("/data")))?;
/// assert_eq!(p, Path::new("/data/rna/rna.tsv"));
/// assert!(builtin_path("mars", None).is_err());
/// # Ok::<(), geoflow_flows::FlowError>(())
/// ```
pub fn builtin_path(name: &str, data_dir: Option<&Path>) -> Result<PathBuf> {
    let rel = match name {
        "volcano" => "earth/volerup.csv",
        "earthquake" => "earth/quakes_all.csv",
        "flood" => "earth/flood.csv",
        "fire" => "earth/fire.csv",
        "rna" => "rna/rna.tsv",
        _ => {
            return Err(FlowError::InvalidArgument(format!(
                "unknown dataset {name:?}; built-in datasets: {}",
                BUILTIN_DATASETS.join(", ")
            )))
        }
    };
    let dir = data_dir.map_or_else(default_data_dir, Path::to_path_buf);
    Ok(dir.join(rel))
}

/// The manifold of a built-in dataset: $S^2$ for the Earth sets, $T^7$ for rna.
pub fn builtin_space(name: &str) -> Result<Space> {
    match name {
        "volcano" | "earthquake" | "flood" | "fire" => Ok(Space::Sphere(2)),
        "rna" => Ok(Space::FlatTorus(7)),
        _ => Err(FlowError::InvalidArgument(format!(
            "unknown dataset {name:?}; built-in datasets: {}",
            BUILTIN_DATASETS.join(", ")
        ))),
    }
}

/// Loads a built-in dataset by name ([`builtin_path`]) with the matching loader
/// ([`load_earth`] or [`load_rna`]); the dataset is named `name`.
pub fn load_builtin<T: Real>(name: &str, data_dir: Option<&Path>) -> Result<Dataset<T>> {
    let path = builtin_path(name, data_dir)?;
    let d = match builtin_space(name)? {
        Space::FlatTorus(_) => load_rna(&path)?,
        _ => load_earth(&path)?,
    };
    Ok(d.with_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn shared(rel: &str) -> Option<PathBuf> {
        let p = crate::data::tests::test_data_dir().join(rel);
        if p.exists() {
            Some(p)
        } else {
            println!("SKIPPED: {} not found", p.display());
            None
        }
    }

    struct TempFile(PathBuf);
    impl TempFile {
        fn new(tag: &str, contents: &[u8]) -> Self {
            let p = std::env::temp_dir()
                .join(format!("geoflow-data-test-{}-{tag}", std::process::id()));
            std::fs::File::create(&p)
                .and_then(|mut f| f.write_all(contents))
                .unwrap();
            TempFile(p)
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn err_of<T: std::fmt::Debug>(r: Result<T>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn real_files_row_counts_and_splits() {
        for (i, name) in BUILTIN_DATASETS.iter().enumerate() {
            let dir = crate::data::tests::test_data_dir();
            let Some(_) = shared(
                builtin_path(name, Some(Path::new("")))
                    .unwrap()
                    .to_str()
                    .unwrap(),
            ) else {
                continue;
            };
            let d = load_builtin::<f64>(name, Some(&dir)).unwrap();
            assert_eq!(d.len(), BUILTIN_ROWS[i], "{name}");
            assert_eq!(d.name(), *name);
            let space = builtin_space(name).unwrap();
            assert_eq!(d.dim(), space.ambient_dim());
            let s = crate::data::rfm_split(d.len(), 0);
            assert!(s.is_partition_of(d.len()));
            let n = d.len();
            assert_eq!(s.sizes(), (n - 2 * (n / 10), n / 10, n / 10));
            if *name == "volcano" {
                assert_eq!(s.sizes(), (663, 82, 82));
            }
            if *name == "rna" {
                assert_eq!(s.sizes(), (7584, 947, 947));
            }
            // f32 loads the same rows.
            let d32 = load_builtin::<f32>(name, Some(&dir)).unwrap();
            assert_eq!(d32.len(), d.len());
        }
    }

    #[test]
    fn volcano_first_row_and_ranges() {
        let Some(p) = shared("earth/volerup.csv") else {
            return;
        };
        let d = load_earth::<f64>(&p).unwrap();
        assert_eq!(d.name(), "volerup");
        // Line 3 of the file: -30.2,-178.47.
        let want = lat_lon_to_sphere(-30.2, -178.47);
        assert_eq!(d.row(0), &want);
        let (lat, lon) = sphere_to_lat_lon(d.row(0));
        assert!((lat + 30.2).abs() < 1e-12 && (lon + 178.47).abs() < 1e-12);
        let s = Sphere::<f64>::new(2).unwrap();
        d.check_on(&s).unwrap();
    }

    #[test]
    fn rna_angles_in_range_and_conventions_agree() {
        let Some(p) = shared("rna/rna.tsv") else {
            return;
        };
        let a = load_rna::<f64>(&p).unwrap();
        let b = load_rna_with::<f64>(&p, AngleRange::ZeroTwoPi).unwrap();
        assert_eq!(a.len(), 9478);
        let pi = std::f64::consts::PI;
        for (x, y) in a.as_slice().iter().zip(b.as_slice()) {
            assert!((-pi..pi).contains(x));
            assert!((0.0..2.0 * pi).contains(y));
            assert!(wrap_angle(x - y).abs() < 1e-14);
        }
        // First line: 402d G -69.168933 …
        assert!((a.row(0)[0] - (-69.168933f64).to_radians()).abs() < 1e-15);
        let t = FlatTorus::<f32>::new(7).unwrap();
        load_rna::<f32>(&p).unwrap().check_on(&t).unwrap();
    }

    #[test]
    fn malformed_files_report_the_line() {
        // Bad number on line 7 (lines 1-2 comment and header).
        let text = b"# c\nlat,lon\n1,2\n3,4\n5,6\n7,8\n9,x\n10,11";
        let f = TempFile::new("bad7.csv", text);
        let e = err_of(load_earth::<f64>(&f.0));
        assert!(e.contains(":7:") && e.contains("column 2"), "{e}");
        assert!(e.starts_with(&f.0.display().to_string()), "{e}");

        let cases: [(&str, &str, &str); 9] = [
            ("1,2\n3\n", ":2:", "expected 2 columns"),
            ("1,2\n3,4,5", ":2:", "expected 2 columns"),
            ("1,2\nNaN,4", ":2:", "non-finite"),
            ("1,2\n\n\n3,inf", ":4:", "non-finite"),
            ("1,2\n91,0", ":2:", "latitude"),
            ("1,2\n-90.5,0", ":2:", "latitude"),
            ("1,2\n0,400", ":2:", "longitude"),
            ("1.5,abc", ":1:", "cannot parse"),
            ("1,2\n,3", ":2:", "empty field"),
        ];
        for (text, line, what) in cases {
            let e = err_of(parse_earth::<f64>("m", text));
            assert!(e.contains(line) && e.contains(what), "{text:?}: {e}");
        }
        // Empty files, comment-only files, and header-only files are errors (line 0).
        for text in ["", "\n\n", "# only\n# comments", "lat,lon\n"] {
            let f = TempFile::new("empty.csv", text.as_bytes());
            let e = load_earth::<f32>(&f.0).unwrap_err();
            match e {
                FlowError::Data { line, ref msg, .. } => {
                    assert_eq!(line, 0);
                    assert!(msg.contains("no data rows"));
                }
                other => panic!("{other}"),
            }
        }
        // A byte-order mark before a header-less first row is ignored.
        let f = TempFile::new("bom.csv", "\u{feff}10,20\n30,40".as_bytes());
        assert_eq!(load_earth::<f64>(&f.0).unwrap().len(), 2);
        // Invalid UTF-8 on line 3.
        let f = TempFile::new("utf8.csv", b"1,2\n3,4\n5,\xff6\n");
        let e = err_of(load_earth::<f64>(&f.0));
        assert!(e.contains(":3:") && e.contains("UTF-8"), "{e}");
        // Missing file: an I/O error naming the path.
        let e = load_earth::<f64>("/nonexistent/geoflow.csv").unwrap_err();
        assert!(matches!(e, FlowError::Io { .. }) && e.to_string().contains("/nonexistent"));
    }

    #[test]
    fn earth_quirks_crlf_no_trailing_newline_no_header() {
        let d = parse_earth::<f64>("m", "# a\r\nlat,long\r\n0,0\r\n0,90").unwrap();
        assert_eq!(d.len(), 2);
        assert!((d.row(1)[1] - 1.0).abs() < 1e-15);
        let d = parse_earth::<f64>("m", "# a\n10,20\n30,40\n").unwrap();
        assert_eq!(d.len(), 2);
        // A second header-like line is an error, not skipped.
        let e = err_of(parse_earth::<f64>("m", "lat,lon\nlat,lon\n1,2"));
        assert!(e.contains(":2:"), "{e}");
    }

    #[test]
    fn rna_malformed() {
        let good = "1a\tG\t1\t2\t3\t4\t5\t6\t7";
        let cases = [
            (
                format!("{good}\n1a\tG\t1\t2\t3\t4\t5\t6"),
                ":2:",
                "expected 9 columns",
            ),
            (
                format!("{good}\n1a\tG\t1\t2\t3\t4\t5\t6\t1e400"),
                ":2:",
                "non-finite",
            ),
            (
                format!("{good}\n1a\tG\t1\t2\t3\t4\t5\t6\t400"),
                ":2:",
                "outside",
            ),
            (format!("{good}\n1a\t\t1\t2\t3\t4\t5\t6\t7"), ":2:", "empty"),
            (
                format!("{good}\n1a\tG\t1\t2\tx\t4\t5\t6\t7"),
                ":2:",
                "column 5",
            ),
        ];
        for (text, line, what) in cases {
            let e = err_of(parse_rna::<f64>("m", &text, AngleRange::Signed));
            assert!(e.contains(line) && e.contains(what), "{text:?}: {e}");
        }
        // Header allowed.
        let d = parse_rna::<f64>(
            "m",
            &format!("id\tbase\ta\tb\tc\td\te\tf\tg\n{good}"),
            AngleRange::Signed,
        )
        .unwrap();
        assert_eq!(d.len(), 1);
        // f32: 180 degrees rounds to -pi exactly, never +pi.
        let d =
            parse_rna::<f32>("m", "x G 180 -180 179.99999 0 0 0 0", AngleRange::Signed).unwrap();
        assert_eq!(d.row(0)[0], -std::f32::consts::PI);
        assert_eq!(d.row(0)[1], -std::f32::consts::PI);
        let t = FlatTorus::<f32>::new(7).unwrap();
        d.check_on(&t).unwrap();
        let d = parse_rna::<f32>("m", "x G -0.000001 0 0 0 0 0 0", AngleRange::ZeroTwoPi).unwrap();
        assert!(d.row(0)[0] < 2.0 * std::f32::consts::PI);
    }

    #[test]
    fn points_csv_checks_the_manifold() {
        let s2 = Sphere::<f64>::new(2).unwrap();
        let f = TempFile::new(
            "pts.csv",
            b"# points\nx,y,z\n0,0,1\n1,0,0\n0.6,0.8,0.0\n0,0,1.001\n",
        );
        let e = err_of(load_points_csv(&f.0, &s2));
        assert!(e.contains(":6:") && e.contains("not a point"), "{e}");
        let e = err_of(parse_points_csv("m", "0,0,1\n0,1", &s2));
        assert!(e.contains(":2:") && e.contains("expected 3 columns"), "{e}");
        let d = parse_points_csv("m", "0 0 1\n1\t0\t0", &s2).unwrap();
        assert_eq!(d.as_slice(), &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        let t = FlatTorus::<f32>::new(2).unwrap();
        let e = err_of(parse_points_csv("m", "0,0\n0,3.5", &t));
        assert!(e.contains(":2:"), "{e}");
        let e = err_of(parse_points_csv("m", "", &t));
        assert!(e.contains("no data rows"), "{e}");
    }

    #[test]
    fn builtin_names() {
        let dir = Path::new("/d");
        for (name, rel) in [
            ("volcano", "earth/volerup.csv"),
            ("earthquake", "earth/quakes_all.csv"),
            ("flood", "earth/flood.csv"),
            ("fire", "earth/fire.csv"),
            ("rna", "rna/rna.tsv"),
        ] {
            assert_eq!(builtin_path(name, Some(dir)).unwrap(), dir.join(rel));
        }
        let e = err_of(builtin_path("moon", None));
        assert!(e.contains("volcano"), "{e}");
        assert_eq!(builtin_space("rna").unwrap(), Space::FlatTorus(7));
        assert!(builtin_space("x").is_err());
        let e = load_builtin::<f64>("fire", Some(Path::new("/nonexistent-geoflow"))).unwrap_err();
        assert!(
            e.to_string()
                .contains("/nonexistent-geoflow/earth/fire.csv"),
            "{e}"
        );
    }
}
