//! The one error type of `eventosaurus-http`: configuration and serving errors, and the
//! request problems that become 4xx/5xx JSON answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What went wrong; request problems carry what the client should change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A requested table is not served: not registered, or not in the allow list (404).
    #[error("unknown stream `{table}`: this server serves {}", list(available))]
    UnknownTable {
        /// The name asked for.
        table: String,
        /// The logical names served.
        available: Vec<String>,
    },
    /// The `since` parameter is neither milliseconds since the epoch nor an ISO-8601 date or
    /// date-time (400).
    #[error(
        "since={value:?} is not a time: give milliseconds since the epoch (1732530000000), \
             an ISO-8601 date (2026-11-25) or date-time (2026-11-25T10:00:00Z)"
    )]
    BadSince {
        /// The value received.
        value: String,
    },
    /// The `Last-Event-ID` header is not an id this server issued for this environment and
    /// these tables (400).
    #[error(
        "bad Last-Event-ID: {reason}; send the `id` of an event received from this server \
             for these streams, or no Last-Event-ID to start at the newest events"
    )]
    BadLastEventId {
        /// What is wrong with it.
        reason: String,
    },
    /// The cap on concurrent stream clients is reached (503).
    #[error("too many clients: this server streams to at most {max} clients at once; retry later")]
    TooManyClients {
        /// The cap.
        max: usize,
    },
    /// The server is shutting down (503).
    #[error("the server is shutting down; retry later")]
    ShuttingDown,
    /// The server's configuration is invalid.
    #[error("invalid HTTP stream configuration: {reason}")]
    InvalidConfig {
        /// What to change.
        reason: String,
    },
    /// Listening on the address failed (in use, not permitted, malformed).
    #[error("cannot listen on {addr}: {source}; choose another address with --listen")]
    Listen {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTTP server failed while serving.
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// Reading a table's stream failed (DynamoDB, stream not enabled, table missing).
    #[error(transparent)]
    Store(#[from] eventosaurus::Error),
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "no stream".to_owned()
    } else {
        names.join(", ")
    }
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::UnknownTable { .. } => StatusCode::NOT_FOUND,
            Error::BadSince { .. } | Error::BadLastEventId { .. } => StatusCode::BAD_REQUEST,
            Error::TooManyClients { .. } | Error::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Error::Store(eventosaurus::Error::TableNotFound { .. })
            | Error::Store(eventosaurus::Error::StreamNotEnabled { .. }) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Error::Store(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    /// `{"error": "<message>", "status": N}`, plus `"available": [..]` for an unknown table.
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = serde_json::json!({
            "error": self.to_string(),
            "status": status.as_u16(),
        });
        if let Error::UnknownTable { available, .. } = &self {
            body["available"] = serde_json::json!(available);
        }
        (status, axum::Json(body)).into_response()
    }
}
