//! Shared pieces of the eventosaurus workspace's integration tests, examples and tools:
//! the example event types, a helper that runs a real DynamoDB Local, and raw-SDK table helpers.
//!
//! Not published; the library is the `eventosaurus` crate.
#![warn(missing_docs)]

pub mod events;
pub mod local;
pub mod raw;
