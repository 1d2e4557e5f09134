//! Batched kernels of [`Simplex`](crate::Simplex).
