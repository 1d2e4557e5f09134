//! Laws of `Simplex` (Fisher–Rao) in f32 and f64.

use geoflow_manifolds::testing::{ball_volume_constant_curvature, DensityCheck};
use geoflow_manifolds::{Power, Simplex};
use geoflow_proptests::{law_suite, SuiteConfig};

law_suite!(
    simplex2,
    Simplex::<T>::new(2).unwrap(),
    SuiteConfig {
        stay_inside: true,
        // Fisher–Rao Δ² is the positive orthant of the sphere of radius 2: curvature 1/4
        density: Some(DensityCheck {
            samples: 20_000,
            centres: 32,
            radius: 0.2,
            ball_volume: ball_volume_constant_curvature(2, 0.25, 0.2),
            bias: 0.03,
            sigmas: 5.0,
        }),
        ..SuiteConfig::default()
    }
);
// sequences: (Δ³)⁴
law_suite!(
    simplex3_pow4,
    Power::new(Simplex::<T>::new(3).unwrap(), 4).unwrap(),
    SuiteConfig {
        stay_inside: true,
        ..SuiteConfig::default()
    }
);
