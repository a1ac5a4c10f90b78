//! Shared pieces of the eventosaurus workspace's integration tests, examples and tools:
//! the example event types, a helper that runs a real DynamoDB Local, raw-SDK table helpers,
//! and a fault-injecting TCP proxy to put between a client and that server.
//!
//! Not published; the library is the `eventosaurus` crate.
#![warn(missing_docs)]

pub mod events;
pub mod fault_proxy;
pub mod local;
pub mod raw;
pub mod sse;
