//! Laws of `Euclidean` in f32 and f64.

use geoflow_manifolds::testing::{ball_volume_flat, DensityCheck};
use geoflow_manifolds::Euclidean;
use geoflow_proptests::{law_suite, SuiteConfig};

law_suite!(euclidean1, Euclidean::<T>::new(1).unwrap());
law_suite!(
    euclidean3,
    Euclidean::<T>::new(3).unwrap(),
    SuiteConfig {
        // the exponential is the retraction: exact, so the order law holds trivially
        density: Some(DensityCheck {
            samples: 20_000,
            centres: 32,
            radius: 0.5,
            ball_volume: ball_volume_flat(3, 0.5),
            bias: 0.03,
            sigmas: 5.0,
        }),
        ..SuiteConfig::default()
    }
);
