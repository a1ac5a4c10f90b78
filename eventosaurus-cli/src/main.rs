//! The `eventosaurus-cli` binary: the whole CLI is the library's `main`.
//!
//! Built inside the eventosaurus repository, it also compiles the repository's example events
//! (`src/events.rs` of the root package: `PhoneCall`, `NeatEvent`), so that
//! `cargo run -p eventosaurus-cli -- create-tables` knows them; `build.rs` sets the cfg. A
//! packaged crate has no such file and builds the plain CLI. An application gets the CLI for
//! its own events with its own three-line binary (see the crate docs and `examples/my_app_cli.rs`).

#[cfg(eventosaurus_repo_examples)]
#[path = "../../src/events.rs"]
#[allow(dead_code)]
mod example_events;

fn main() {
    eventosaurus_cli::main()
}
