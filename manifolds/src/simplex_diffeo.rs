//! The square-root diffeomorphism $\varphi(p) = \sqrt p$ from the simplex $\Delta^n$ (Fisher–Rao)
//! onto the positive orthant $S^n_+$ of the unit sphere.
//!
//! $\varphi$ is an isometry up to the factor 2: $\lVert d\varphi_p(u)\rVert^2 = \tfrac14 g_p(u, u)$,
//! so Fisher–Rao distances are twice the orthant's great-circle distances and geodesics map to
//! geodesics. Push-forward $d\varphi_p(u) = u / (2\sqrt p)$, inverse $y \mapsto y \odot y$,
//! pull-back $d(\varphi^{-1})_y(w) = 2y\odot w$. Like the rest of [`Simplex`], the push-forward
//! needs interior points; at a zero coordinate it uses the face convention ($u_i = 0$ there, and
//! the component is set to 0 instead of 0/0).
//!
//! ```
//! use geoflow_manifolds::{prelude::*, Simplex};
//! let m = Simplex::<f64>::new(2)?;
//! let p = [0.25, 0.25, 0.5];
//! let mut y = [0.0; 3];
//! m.to_target_into(&p, &mut y);
//! assert!((y[2] - 0.5f64.sqrt()).abs() < 1e-15);
//! let mut back = [0.0; 3];
//! m.from_target_into(&y, &mut back);
//! assert!((back[2] - 0.5).abs() < 1e-15);
//! # Ok::<(), ManifoldError>(())
//! ```

use crate::manifold::expect_dim;
use crate::{Diffeo, Manifold, PositiveOrthant, Real, Simplex};

impl<T: Real> Diffeo for Simplex<T> {
    type Target = PositiveOrthant<T>;
    /// $S^n_+ \subset \mathbb R^{n+1}$, the orthant of the unit sphere of the same dimension.
    fn target(&self) -> PositiveOrthant<T> {
        PositiveOrthant::new(self.dim()).expect("Simplex::new already checked n >= 1")
    }
    /// $\sqrt p$ (negative rounding residue read as 0).
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    fn to_target_into(&self, x: &[T], out: &mut [T]) {
        let d = self.ambient_dim();
        expect_dim(x.len(), d, "Simplex::to_target_into: x");
        expect_dim(out.len(), d, "Simplex::to_target_into: out");
        for (o, &p) in out.iter_mut().zip(x) {
            *o = p.max(T::zero()).sqrt();
        }
    }
    /// $y \odot y$.
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    fn from_target_into(&self, y: &[T], out: &mut [T]) {
        let d = self.ambient_dim();
        expect_dim(y.len(), d, "Simplex::from_target_into: y");
        expect_dim(out.len(), d, "Simplex::from_target_into: out");
        for (o, &y) in out.iter_mut().zip(y) {
            *o = y * y;
        }
    }
    /// $u / (2\sqrt p)$ (0 where $p_i = 0$).
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    fn push_tangent_into(&self, x: &[T], u: &[T], out: &mut [T]) {
        let d = self.ambient_dim();
        expect_dim(x.len(), d, "Simplex::push_tangent_into: x");
        expect_dim(u.len(), d, "Simplex::push_tangent_into: u");
        expect_dim(out.len(), d, "Simplex::push_tangent_into: out");
        for ((o, &p), &u) in out.iter_mut().zip(x).zip(u) {
            let s = p.max(T::zero()).sqrt();
            *o = if s > T::zero() {
                u / (T::c(2.0) * s)
            } else {
                T::zero()
            };
        }
    }
    /// $2y \odot w$.
    ///
    /// # Panics
    /// If a slice length differs from `n + 1`.
    #[track_caller]
    fn pull_tangent_into(&self, y: &[T], w: &[T], out: &mut [T]) {
        let d = self.ambient_dim();
        expect_dim(y.len(), d, "Simplex::pull_tangent_into: y");
        expect_dim(w.len(), d, "Simplex::pull_tangent_into: w");
        expect_dim(out.len(), d, "Simplex::pull_tangent_into: out");
        for ((o, &y), &w) in out.iter_mut().zip(y).zip(w) {
            *o = T::c(2.0) * y * w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::{angle_between, dot};
    use crate::ManifoldExt;

    fn check<T: Real>(tol: f64) {
        let m = Simplex::<T>::new(2).unwrap();
        assert_eq!(m.target().ambient_dim(), 3);
        let p: Vec<T> = [0.2, 0.3, 0.5].iter().map(|&a| T::c(a)).collect();
        let q: Vec<T> = [0.6, 0.3, 0.1].iter().map(|&a| T::c(a)).collect();
        let u = m.log(&p, &q);
        let (mut y, mut z, mut w, mut back) = (
            vec![T::zero(); 3],
            vec![T::zero(); 3],
            vec![T::zero(); 3],
            vec![T::zero(); 3],
        );
        m.to_target_into(&p, &mut y);
        m.to_target_into(&q, &mut z);
        // On the unit sphere, and the Fisher–Rao distance is twice the great-circle angle.
        assert!((dot(&y, &y) - T::one()).abs().to_f64_lossless() < tol);
        assert!(
            (m.dist(&p, &q) - T::c(2.0) * angle_between(&y, &z))
                .abs()
                .to_f64_lossless()
                < tol
        );
        m.from_target_into(&y, &mut back);
        for i in 0..3 {
            assert!((back[i] - p[i]).abs().to_f64_lossless() < tol);
        }
        // Push-forward: the pull-back factor 1/4, tangent to the sphere, inverse of pull.
        m.push_tangent_into(&p, &u, &mut w);
        assert!(
            (T::c(4.0) * dot(&w, &w) - m.inner(&p, &u, &u))
                .abs()
                .to_f64_lossless()
                < tol
        );
        assert!(dot(&w, &y).abs().to_f64_lossless() < tol);
        m.pull_tangent_into(&y, &w, &mut back);
        for i in 0..3 {
            assert!((back[i] - u[i]).abs().to_f64_lossless() < tol);
        }
        // Face convention: no NaN at a zero coordinate.
        let f = [T::zero(), T::c(0.5), T::c(0.5)];
        m.push_tangent_into(&f, &[T::zero(), T::c(0.1), T::c(-0.1)], &mut w);
        assert!(w.iter().all(|a| a.is_finite()) && w[0] == T::zero());
    }

    #[test]
    fn square_root_map_both_dtypes() {
        check::<f64>(1e-14);
        check::<f32>(1e-6);
    }
}
