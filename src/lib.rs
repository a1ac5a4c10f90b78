//! Shared pieces of the eventosaurus workspace's integration tests, examples and tools:
//! the example event types and helpers that run a real DynamoDB Local and a kinesis-local.
//!
//! Not published; the library is the `eventosaurus` crate.
#![warn(missing_docs)]

pub mod events;
pub mod kinesis_local;
pub mod local;
