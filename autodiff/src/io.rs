//! Saving and loading [`Params`] as safetensors, written atomically (a temporary file in the
//! same directory, then a rename).

use crate::nn::Params;
use crate::Element;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::io::Write;
use std::path::Path;

/// Errors of [`save`] and [`load`].
#[derive(Debug)]
pub enum IoError {
    /// The file system.
    Io(std::io::Error),
    /// The safetensors format.
    Format(String),
    /// A tensor is missing, has the wrong shape or the wrong dtype.
    Mismatch(String),
}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IoError::Io(e) => write!(f, "i/o error: {e}"),
            IoError::Format(e) => write!(f, "safetensors error: {e}"),
            IoError::Mismatch(e) => write!(f, "parameter mismatch: {e}"),
        }
    }
}

impl std::error::Error for IoError {}

impl From<std::io::Error> for IoError {
    fn from(e: std::io::Error) -> Self {
        IoError::Io(e)
    }
}

fn dtype<T: Element>() -> Dtype {
    if T::IS_F64 {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

/// The safetensors bytes of a parameter set.
pub fn to_bytes<T: Element>(ps: &Params<T>) -> Result<Vec<u8>, IoError> {
    let bytes: Vec<Vec<u8>> = ps
        .data
        .iter()
        .map(|d| {
            let mut b = Vec::with_capacity(d.len() * T::BYTES);
            T::write_le(d, &mut b);
            b
        })
        .collect();
    let mut views = Vec::with_capacity(ps.len());
    for ((name, &(r, c)), b) in ps.names.iter().zip(&ps.shapes).zip(&bytes) {
        let v = TensorView::new(dtype::<T>(), vec![r, c], b)
            .map_err(|e| IoError::Format(e.to_string()))?;
        views.push((name.as_str(), v));
    }
    safetensors::serialize(views, None).map_err(|e| IoError::Format(e.to_string()))
}

/// Writes `ps` to `path` atomically: the bytes go to `path.tmp-<pid>` in the same directory,
/// are flushed to disk, and the file is renamed over `path`.
pub fn save<T: Element>(ps: &Params<T>, path: impl AsRef<Path>) -> Result<(), IoError> {
    let path = path.as_ref();
    let bytes = to_bytes(ps)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(())
}

/// Reads a parameter set (every tensor, names sorted as stored). Tensors must be 2-D (or 1-D,
/// read as one row) of the tape's dtype.
pub fn load<T: Element>(path: impl AsRef<Path>) -> Result<Params<T>, IoError> {
    let bytes = std::fs::read(path)?;
    from_bytes(&bytes)
}

/// Parses safetensors bytes into a new parameter set.
pub fn from_bytes<T: Element>(bytes: &[u8]) -> Result<Params<T>, IoError> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| IoError::Format(e.to_string()))?;
    let mut names: Vec<&str> = st.names();
    names.sort_unstable();
    let mut ps = Params::new();
    for name in names {
        let v = st
            .tensor(name)
            .map_err(|e| IoError::Format(e.to_string()))?;
        let (r, c) = shape2(name, v.shape())?;
        if v.dtype() != dtype::<T>() {
            return Err(IoError::Mismatch(format!(
                "{name}: dtype {:?}, expected {:?}",
                v.dtype(),
                dtype::<T>()
            )));
        }
        let mut d = Vec::with_capacity(r * c);
        T::read_le(v.data(), &mut d);
        ps.add(name, r, c, d);
    }
    Ok(ps)
}

fn shape2(name: &str, s: &[usize]) -> Result<(usize, usize), IoError> {
    match *s {
        [n] => Ok((1, n)),
        [r, c] => Ok((r, c)),
        _ => Err(IoError::Mismatch(format!(
            "{name}: shape {s:?} is not 1-D or 2-D"
        ))),
    }
}

/// Loads the values of every tensor of `ps` from `path`, matching by name and shape.
pub fn load_into<T: Element>(ps: &mut Params<T>, path: impl AsRef<Path>) -> Result<(), IoError> {
    let bytes = std::fs::read(path)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| IoError::Format(e.to_string()))?;
    for i in 0..ps.len() {
        let name = ps.names[i].clone();
        let v = st
            .tensor(&name)
            .map_err(|_| IoError::Mismatch(format!("{name}: missing")))?;
        let shape = shape2(&name, v.shape())?;
        if shape != ps.shapes[i] || v.dtype() != dtype::<T>() {
            return Err(IoError::Mismatch(format!(
                "{name}: stored {:?} {:?}, expected {:?} {:?}",
                v.dtype(),
                shape,
                dtype::<T>(),
                ps.shapes[i]
            )));
        }
        let d = &mut ps.data[i];
        d.clear();
        T::read_le(v.data(), d);
    }
    Ok(())
}
