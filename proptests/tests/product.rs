//! Laws of `Product` and `Power` (of Euclidean spaces here; see PENDING.md for the curved ones).

use geoflow_manifolds::testing::{ball_volume_flat, DensityCheck};
use geoflow_manifolds::{Euclidean, Power, Product};
use geoflow_proptests::{law_suite, SuiteConfig};

law_suite!(
    product_e1_e2,
    Product::new(
        Euclidean::<T>::new(1).unwrap(),
        Euclidean::<T>::new(2).unwrap()
    )
    .unwrap(),
    SuiteConfig {
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
law_suite!(
    power_e2_3,
    Power::new(Euclidean::<T>::new(2).unwrap(), 3).unwrap()
);
law_suite!(
    nested,
    Product::new(
        Power::new(Euclidean::<T>::new(1).unwrap(), 2).unwrap(),
        Product::new(
            Euclidean::<T>::new(2).unwrap(),
            Euclidean::<T>::new(1).unwrap()
        )
        .unwrap()
    )
    .unwrap(),
    SuiteConfig {
        cases: 32,
        ..SuiteConfig::default()
    }
);
