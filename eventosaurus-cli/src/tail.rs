//! `tail`: print the events of the registered tables as they are stored (DynamoDB Streams),
//! and the stream parts of the table commands.

use eventosaurus::table_stream::StreamDrift;

/// One line describing a table whose stream differs from the definition.
pub fn describe_stream_drift(drift: &StreamDrift) -> String {
    match drift.actual {
        None => format!(
            "no stream (expected {}): run create-tables --enable-streams",
            drift.expected
        ),
        Some(actual) => format!(
            "stream of view type {actual}, expected {} (records must carry the new item); \
             disable the stream, then run create-tables --enable-streams",
            drift.expected
        ),
    }
}
