//! Laws of `FlatTorus` in f32 and f64.

use geoflow_manifolds::testing::{ball_volume_flat, DensityCheck};
use geoflow_manifolds::{FlatTorus, Product, Sphere};
use geoflow_proptests::{law_suite, SuiteConfig};

law_suite!(
    torus2,
    FlatTorus::<T>::new(2).unwrap(),
    SuiteConfig {
        density: Some(DensityCheck {
            samples: 20_000,
            centres: 32,
            radius: 0.3,
            ball_volume: ball_volume_flat(2, 0.3),
            bias: 0.03,
            sigmas: 5.0,
        }),
        ..SuiteConfig::default()
    }
);
// T² × S²
law_suite!(
    torus2_sphere2,
    Product::new(
        FlatTorus::<T>::new(2).unwrap(),
        Sphere::<T>::new(2).unwrap()
    )
    .unwrap()
);
