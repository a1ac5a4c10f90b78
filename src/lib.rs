//! Shared pieces of the eventosaurus workspace's integration tests, examples and tools:
//! the example event types and a helper that runs a real DynamoDB Local.
//!
//! Not published; the library is the `eventosaurus` crate.
#![warn(missing_docs)]

pub mod events;
pub mod local;
