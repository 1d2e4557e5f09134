//! Laws of `Lorentz` in f32 and f64.

use geoflow_manifolds::testing::{ball_volume_constant_curvature, DensityCheck};
use geoflow_manifolds::Lorentz;
use geoflow_proptests::{law_suite, SuiteConfig};

law_suite!(
    lorentz2,
    Lorentz::<T>::new(2).unwrap(),
    SuiteConfig {
        density: Some(DensityCheck {
            samples: 20_000,
            centres: 32,
            radius: 0.3,
            ball_volume: ball_volume_constant_curvature(2, -1.0, 0.3),
            bias: 0.03,
            sigmas: 5.0,
        }),
        ..SuiteConfig::default()
    }
);
