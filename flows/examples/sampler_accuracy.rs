//! Prints the sampler accuracy table (maximum geodesic error against the exact flow and the
//! observed order, for every method on the analytic test fields) as Markdown:
//!
//! ```text
//! cargo run -p geoflow-flows --release --example sampler_accuracy [N1 N2 ...]
//! ```
//!
//! Default step counts: 8 16 32 64 128.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut steps: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    if steps.is_empty() {
        steps = vec![8, 16, 32, 64, 128];
    }
    print!("{}", geoflow_flows::sample::accuracy_table(&steps)?);
    Ok(())
}
