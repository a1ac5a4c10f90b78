//! Sets `cfg(eventosaurus_repo_examples)` when this crate is built inside the eventosaurus
//! repository, so that the binary (not the library) also compiles the repository's example
//! events from `../src/events.rs` (see `src/main.rs`).
//!
//! Why not a dependency on the example events' crate: a published crate may not depend, even
//! optionally, on an unpublished one. A packaged copy of this crate has no `../src/events.rs`
//! next to it, so it builds the plain CLI.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(eventosaurus_repo_examples)");
    println!("cargo::rerun-if-changed=build.rs");
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let repo = Path::new(&dir).join("..");
    let root_manifest = repo.join("Cargo.toml");
    let events = repo.join("src").join("events.rs");
    let in_repo = std::fs::read_to_string(&root_manifest)
        .is_ok_and(|manifest| manifest.contains("name = \"eventosaurus-workspace\""))
        && events.is_file();
    if in_repo {
        println!("cargo::rerun-if-changed={}", root_manifest.display());
        println!("cargo::rerun-if-changed={}", events.display());
        println!("cargo::rustc-cfg=eventosaurus_repo_examples");
    }
}
