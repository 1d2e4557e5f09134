//! Laws of `Sphere` in f32 and f64.

use geoflow_manifolds::testing::{ball_volume_constant_curvature, DensityCheck};
use geoflow_manifolds::Sphere;
use geoflow_proptests::{law_suite, SuiteConfig};

law_suite!(
    sphere2,
    Sphere::<T>::new(2).unwrap(),
    SuiteConfig {
        density: Some(DensityCheck {
            samples: 20_000,
            centres: 32,
            radius: 0.3,
            ball_volume: ball_volume_constant_curvature(2, 1.0, 0.3),
            bias: 0.03,
            sigmas: 5.0,
        }),
        ..SuiteConfig::default()
    }
);
law_suite!(sphere5, Sphere::<T>::new(5).unwrap());
