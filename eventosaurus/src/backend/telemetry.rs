//! The tracing span of every DynamoDB call, following OpenTelemetry's semantic conventions
//! for database client spans, for DynamoDB, and for the AWS SDK.
//!
//! Every request the [`DynamoDb`](super::DynamoDb) backend sends runs inside one span
//! (level `INFO`, target [`SPAN_TARGET`], name `dynamodb`), created here and nowhere else.
//! Its fields are OpenTelemetry attribute names, so that `tracing-opentelemetry` exports them
//! as they are:
//!
//! | field | value |
//! |---|---|
//! | `otel.name` | `{operation} {table}`, e.g. `Query localhost_phone_call` |
//! | `otel.kind` | `client` |
//! | `db.system.name` | `aws.dynamodb` |
//! | `db.operation.name`, `rpc.method` | `PutItem`, `GetItem`, `BatchGetItem`, `BatchWriteItem`, `Query`, `Scan` |
//! | `db.collection.name` | the full table name (when the call names one table) |
//! | `aws.dynamodb.table_names` | the table names, joined with `,` (one string: tracing fields are scalars) |
//! | `rpc.system`, `rpc.service` | `aws-api`, `DynamoDB` |
//! | `server.address`, `server.port` | from the configured endpoint, else the region's standard endpoint |
//! | `cloud.region` | the SDK's region, when known |
//! | `aws.request_id` | DynamoDB's request id, when the call got an answer |
//! | `aws.dynamodb.consumed_capacity` | the `ConsumedCapacity` of the response as a JSON array, when asked for ([`Config`](crate::Config)'s `report_consumed_capacity`) |
//! | `aws.dynamodb.index_name`, `aws.dynamodb.limit`, `aws.dynamodb.consistent_read`, `aws.dynamodb.scan_forward`, `aws.dynamodb.select`, `aws.dynamodb.count`, `aws.dynamodb.scanned_count` | Query and Scan parameters and counts, when set |
//! | `error.type` | on failure: the AWS error code (e.g. `ResourceNotFoundException`), or the SDK's failure kind (`DispatchFailure`, `TimeoutError`, ...) |
//! | `otel.status_code`, `otel.status_description` | `ERROR` and the message, when the call failed |
//!
//! A conditional put that meets an existing item is DynamoDB's
//! `ConditionalCheckFailedException`: `error.type` says so, but the status stays unset,
//! because for eventosaurus it is an outcome (a duplicate, or this write's own earlier
//! attempt), not a failure.
//!
//! The SDK's own spans (its retries, the HTTP request) are children of this span.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::RequestId;
use aws_sdk_dynamodb::types::{Capacity, ConsumedCapacity};
use tracing::field::Empty;
use tracing::Span;

/// The target of the spans, to filter them (e.g. `RUST_LOG=eventosaurus::dynamodb=info`).
pub const SPAN_TARGET: &str = "eventosaurus::dynamodb";

/// `db.system.name` of every span.
pub const DB_SYSTEM_NAME: &str = "aws.dynamodb";

/// Where the calls go: the `server.*` and `cloud.region` attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Server {
    pub address: Option<String>,
    pub port: Option<u16>,
    pub region: Option<String>,
}

impl Server {
    /// From an endpoint URL, else (when `standard_endpoint` is allowed) from the region's
    /// standard endpoint, `dynamodb.<region>.amazonaws.com:443`.
    pub(crate) fn new(endpoint: Option<&str>, region: Option<&str>, standard: bool) -> Server {
        let region = region.map(str::to_owned);
        if let Some((address, port)) = endpoint.and_then(host_and_port) {
            return Server {
                address: Some(address),
                port: Some(port),
                region,
            };
        }
        match &region {
            Some(name) if standard => Server {
                address: Some(format!("dynamodb.{name}.amazonaws.com")),
                port: Some(443),
                region,
            },
            _ => Server {
                region,
                ..Server::default()
            },
        }
    }
}

/// The host and port of an `http://` or `https://` URL (the scheme's port by default).
fn host_and_port(url: &str) -> Option<(String, u16)> {
    let (rest, default_port) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, 443)
    } else {
        (url.strip_prefix("http://")?, 80)
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(port) => port.parse().ok()?,
        None => default_port,
    };
    Some((host.to_owned(), port))
}

/// The span of one call of `operation` on `tables`.
pub(crate) fn call_span(operation: &'static str, tables: &[&str], server: &Server) -> Span {
    let collection = match tables {
        [one] => Some(*one),
        _ => None,
    };
    // The field values are evaluated only when a subscriber wants the span.
    tracing::info_span!(
        target: SPAN_TARGET,
        "dynamodb",
        otel.name = match collection {
            Some(table) => format!("{operation} {table}"),
            None => operation.to_owned(),
        },
        otel.kind = "client",
        otel.status_code = Empty,
        otel.status_description = Empty,
        db.system.name = DB_SYSTEM_NAME,
        db.operation.name = operation,
        db.collection.name = collection,
        aws.dynamodb.table_names = tables.join(","),
        rpc.system = "aws-api",
        rpc.service = "DynamoDB",
        rpc.method = operation,
        server.address = server.address.as_deref(),
        // Integers as i64: tracing-opentelemetry exports u64 fields as strings.
        server.port = server.port.map(i64::from),
        cloud.region = server.region.as_deref(),
        aws.request_id = Empty,
        aws.dynamodb.consumed_capacity = Empty,
        aws.dynamodb.index_name = Empty,
        aws.dynamodb.limit = Empty,
        aws.dynamodb.consistent_read = Empty,
        aws.dynamodb.scan_forward = Empty,
        aws.dynamodb.select = Empty,
        aws.dynamodb.count = Empty,
        aws.dynamodb.scanned_count = Empty,
        error.type = Empty,
    )
}

/// Records what a successful response says: its request id and consumed capacity.
pub(crate) fn record_response<'a>(
    span: &Span,
    response: &impl RequestId,
    capacity: impl IntoIterator<Item = &'a ConsumedCapacity>,
) {
    if span.is_disabled() {
        return;
    }
    if let Some(id) = response.request_id() {
        span.record("aws.request_id", id);
    }
    let capacity: Vec<serde_json::Value> = capacity.into_iter().map(capacity_json).collect();
    if !capacity.is_empty() {
        span.record(
            "aws.dynamodb.consumed_capacity",
            serde_json::Value::Array(capacity).to_string(),
        );
    }
}

/// Records a failed call: `error.type`, the request id, and (unless `expected`) the error
/// status.
pub(crate) fn record_error<E: ProvideErrorMetadata>(
    span: &Span,
    error: &SdkError<E, HttpResponse>,
    expected: bool,
) {
    if span.is_disabled() {
        return;
    }
    let kind = match error {
        SdkError::ServiceError(service) => service.err().code().unwrap_or("_OTHER"),
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        SdkError::TimeoutError(_) => "TimeoutError",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ResponseError(_) => "ResponseError",
        _ => "_OTHER",
    };
    span.record("error.type", kind);
    if let Some(id) = error.request_id() {
        span.record("aws.request_id", id);
    }
    if !expected {
        span.record("otel.status_code", "ERROR");
        let description = error.message().unwrap_or(kind);
        span.record("otel.status_description", description);
    }
}

/// One `ConsumedCapacity` in the API's JSON shape (only the parts DynamoDB returned).
fn capacity_json(consumed: &ConsumedCapacity) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    if let Some(name) = consumed.table_name() {
        object.insert("TableName".into(), name.into());
    }
    units(
        &mut object,
        consumed.capacity_units(),
        consumed.read_capacity_units(),
        consumed.write_capacity_units(),
    );
    if let Some(table) = consumed.table() {
        object.insert("Table".into(), capacity_units_json(table));
    }
    for (key, indexes) in [
        ("LocalSecondaryIndexes", consumed.local_secondary_indexes()),
        (
            "GlobalSecondaryIndexes",
            consumed.global_secondary_indexes(),
        ),
    ] {
        if let Some(indexes) = indexes {
            let map = indexes
                .iter()
                .map(|(name, capacity)| (name.clone(), capacity_units_json(capacity)))
                .collect();
            object.insert(key.into(), serde_json::Value::Object(map));
        }
    }
    serde_json::Value::Object(object)
}

fn capacity_units_json(capacity: &Capacity) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    units(
        &mut object,
        capacity.capacity_units(),
        capacity.read_capacity_units(),
        capacity.write_capacity_units(),
    );
    serde_json::Value::Object(object)
}

fn units(
    object: &mut serde_json::Map<String, serde_json::Value>,
    total: Option<f64>,
    read: Option<f64>,
    write: Option<f64>,
) {
    for (key, value) in [
        ("CapacityUnits", total),
        ("ReadCapacityUnits", read),
        ("WriteCapacityUnits", write),
    ] {
        if let Some(value) = value {
            object.insert(key.into(), value.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_from_endpoint_or_region() {
        let local = Server::new(Some("http://127.0.0.1:8000"), Some("us-east-1"), true);
        assert_eq!(local.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(local.port, Some(8000));
        assert_eq!(local.region.as_deref(), Some("us-east-1"));
        let v6 = Server::new(Some("https://[::1]/x"), None, true);
        assert_eq!((v6.address.as_deref(), v6.port), (Some("::1"), Some(443)));
        let aws = Server::new(None, Some("eu-west-1"), true);
        assert_eq!(
            aws.address.as_deref(),
            Some("dynamodb.eu-west-1.amazonaws.com")
        );
        assert_eq!(aws.port, Some(443));
        let unknown = Server::new(Some("the client's endpoint"), Some("eu-west-1"), false);
        assert_eq!((unknown.address, unknown.port), (None, None));
        assert_eq!(
            host_and_port("http://localhost"),
            Some(("localhost".into(), 80))
        );
        assert_eq!(host_and_port("http://:80"), None);
        assert_eq!(host_and_port("http://h:port"), None);
    }

    #[test]
    fn consumed_capacity_in_the_api_shape() {
        let consumed = ConsumedCapacity::builder()
            .table_name("dev_t")
            .capacity_units(1.5)
            .table(Capacity::builder().capacity_units(0.5).build())
            .build();
        assert_eq!(
            capacity_json(&consumed).to_string(),
            r#"{"CapacityUnits":1.5,"Table":{"CapacityUnits":0.5},"TableName":"dev_t"}"#
        );
    }
}
