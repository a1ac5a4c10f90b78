//! How events are written. `sync` is the conditional PutItem every path ends in.

pub mod sync;
