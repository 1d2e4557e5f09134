//! The `geoflow` command line program. `cargo run --release` with no arguments runs the
//! default job (see `geoflow --help`).

mod cli;

fn main() {
    std::process::exit(cli::main());
}
