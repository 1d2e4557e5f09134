//! Geodesic conditional probability paths and their closed-form velocities.
//!
//! Riemannian flow matching (spec §3.1) joins a base sample $x_0$ to a data sample $x_1$ by the
//! geodesic, run on a schedule $\kappa: [0, 1] \to [0, 1]$ with $\kappa(0) = 0$, $\kappa(1) = 1$:
//!
//! $$x_t = \exp_{x_0}\big(\kappa(t)\,\log_{x_0} x_1\big) = \gamma_{x_0 x_1}(\kappa(t)),\qquad
//!   \dot x_t = \kappa'(t)\,\dot\gamma_{x_0 x_1}(\kappa(t)).$$
//!
//! The velocity is the closed-form geodesic velocity of the manifold
//! ([`Manifold::geodesic_with_velocity_batch_into`]), never $\log_{x_t}(x_1)/(1 - t)$, which is
//! unstable near $t = 1$. (The spec writes the schedule as a decreasing $\kappa$ with
//! $d(x_t, x_1) = \kappa(t)\,d(x_0, x_1)$; ours is one minus that, so that $\kappa$ is the
//! fraction of the way travelled.)
//!
//! ```
//! use geoflow_flows::path::{conditional_batch_into, Schedule};
//! use geoflow_manifolds::Sphere;
//! let m = Sphere::<f64>::new(2).unwrap();
//! let (x0, x1) = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]);
//! let (mut xt, mut ut) = ([0.0; 3], [0.0; 3]);
//! conditional_batch_into(&m, Schedule::Linear, &x0, &x1, &[0.5], &mut xt, &mut ut);
//! let h = 0.5f64.sqrt();
//! assert!((xt[0] - h).abs() < 1e-15 && (xt[1] - h).abs() < 1e-15);
//! // Speed = distance / time = π/2.
//! assert!(((ut[0] * ut[0] + ut[1] * ut[1]).sqrt() - std::f64::consts::FRAC_PI_2).abs() < 1e-14);
//! ```

use geoflow_manifolds::{Manifold, Real};

/// A time schedule $\kappa$ with $\kappa(0) = 0$, $\kappa(1) = 1$, increasing.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Schedule {
    /// $\kappa(t) = t$: constant speed along the geodesic (RFM, GFM, Fisher-Flow).
    #[default]
    Linear,
    /// $\kappa(t) = 1 - \cos(\pi t / 2)$: slow start, fast finish.
    Cosine,
    /// $\kappa(t) = t^p$, $p > 0$.
    Power(f64),
}

impl Schedule {
    /// $(\kappa(t), \kappa'(t))$.
    pub fn eval<T: Real>(self, t: T) -> (T, T) {
        match self {
            Schedule::Linear => (t, T::one()),
            Schedule::Cosine => {
                let a = T::FRAC_PI_2() * t;
                (T::one() - a.cos(), T::FRAC_PI_2() * a.sin())
            }
            Schedule::Power(p) => {
                let p = T::c(p);
                (t.powf(p), p * t.powf(p - T::one()))
            }
        }
    }

    /// Parses `linear`, `cosine` or `power:P`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "linear" => Some(Schedule::Linear),
            "cosine" => Some(Schedule::Cosine),
            _ => s
                .strip_prefix("power:")
                .and_then(|p| p.parse::<f64>().ok())
                .filter(|p| p.is_finite() && *p > 0.0)
                .map(Schedule::Power),
        }
    }
}

/// For every row: $x_t$ and $\dot x_t$ of the geodesic path from `x0s` to `x1s` at times `ts`
/// (one per row) under `schedule`, into `xts`, `uts` (`[n, D]`).
///
/// # Panics
/// On slice lengths that do not describe the same batch.
#[track_caller]
pub fn conditional_batch_into<M: Manifold + ?Sized>(
    m: &M,
    schedule: Schedule,
    x0s: &[M::Scalar],
    x1s: &[M::Scalar],
    ts: &[M::Scalar],
    xts: &mut [M::Scalar],
    uts: &mut [M::Scalar],
) {
    let d = m.ambient_dim();
    match schedule {
        Schedule::Linear => m.geodesic_with_velocity_batch_into(x0s, x1s, ts, xts, uts),
        _ => {
            assert!(
                ts.len() * d == x0s.len(),
                "conditional_batch_into: {} times for {} scalars",
                ts.len(),
                x0s.len()
            );
            for ((((x0, x1), &t), xt), ut) in x0s
                .chunks_exact(d)
                .zip(x1s.chunks_exact(d))
                .zip(ts)
                .zip(xts.chunks_exact_mut(d))
                .zip(uts.chunks_exact_mut(d))
            {
                let (k, dk) = schedule.eval(t);
                m.geodesic_with_velocity_into(x0, x1, k, xt, ut);
                ut.iter_mut().for_each(|u| *u *= dk);
            }
        }
    }
}
