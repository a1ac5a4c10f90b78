//! Shared pieces of the eventosaurus workspace's integration tests, examples and tools:
//! the example event types, helpers that run a real DynamoDB Local and a kinesis-local,
//! raw-SDK table helpers, and a fault-injecting TCP proxy to put between a client and a server.
//!
//! Not published; the library is the `eventosaurus` crate.
#![warn(missing_docs)]

pub mod events;
pub mod fault_proxy;
pub mod kinesis_local;
pub mod local;
pub mod raw;
mod script_server;
pub mod sse;

/// The repository's root directory (this crate's parent), where `scripts/` lives.
pub fn repository_root() -> &'static std::path::Path {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest)
}
