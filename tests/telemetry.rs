//! The tracing spans of DynamoDB calls carry OpenTelemetry's attributes: captured by a small
//! `tracing_subscriber::Layer` around real calls to DynamoDB Local.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use eventosaurus::backend::telemetry::SPAN_TARGET;
use eventosaurus::table::{self, Billing};
use eventosaurus::{Config, Error, Storable, Store, StoreOutcome};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::local::{endpoint, unique_prefix};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// A field value as recorded.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    /// Recorded as u64, which tracing-opentelemetry exports as a string: never wanted.
    Unsigned(u64),
    Bool(bool),
    Float(f64),
}

impl Value {
    fn str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

type Fields = BTreeMap<String, Value>;

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::Str(value.into()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::Unsigned(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::Bool(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::Float(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::Str(format!("{value:?}")));
    }
}

/// Keeps the fields of eventosaurus' DynamoDB spans, in the order the spans closed.
#[derive(Clone, Default)]
struct Capture {
    open: Arc<Mutex<BTreeMap<u64, Fields>>>,
    closed: Arc<Mutex<Vec<Fields>>>,
}

impl Capture {
    fn take(&self) -> Vec<Fields> {
        std::mem::take(&mut *self.closed.lock().unwrap())
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if attrs.metadata().target() != SPAN_TARGET {
            return;
        }
        let mut fields = Fields::new();
        attrs.record(&mut Visitor(&mut fields));
        self.open.lock().unwrap().insert(id.into_u64(), fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(fields) = self.open.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Visitor(fields));
        }
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(fields) = self.open.lock().unwrap().remove(&id.into_u64()) {
            self.closed.lock().unwrap().push(fields);
        }
    }
}

async fn store(name: &str, capacity: bool) -> Store {
    let config = Config::builder()
        .environment_prefix(unique_prefix(name))
        .endpoint(endpoint())
        .report_consumed_capacity(capacity)
        .build()
        .expect("config");
    Store::connect(config).await.expect("connect")
}

fn get<'a>(span: &'a Fields, key: &str) -> &'a Value {
    span.get(key)
        .unwrap_or_else(|| panic!("no `{key}` in {span:#?}"))
}

fn text<'a>(span: &'a Fields, key: &str) -> &'a str {
    get(span, key)
        .str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {span:#?}"))
}

fn the_span<'a>(spans: &'a [Fields], operation: &str) -> &'a Fields {
    let found: Vec<&Fields> = spans
        .iter()
        .filter(|s| s.get("db.operation.name") == Some(&Value::Str(operation.into())))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {operation} span expected in {spans:#?}"
    );
    found[0]
}

/// The convention attributes every span carries.
fn assert_conventions(span: &Fields, operation: &str, table: &str, port: i64) {
    assert_eq!(text(span, "db.system.name"), "aws.dynamodb");
    assert_eq!(text(span, "db.operation.name"), operation);
    assert_eq!(text(span, "rpc.method"), operation);
    assert_eq!(text(span, "rpc.system"), "aws-api");
    assert_eq!(text(span, "rpc.service"), "DynamoDB");
    assert_eq!(text(span, "aws.dynamodb.table_names"), table);
    assert_eq!(text(span, "db.collection.name"), table);
    assert_eq!(text(span, "otel.kind"), "client");
    assert_eq!(text(span, "otel.name"), format!("{operation} {table}"));
    assert_eq!(text(span, "server.address"), "127.0.0.1");
    assert_eq!(get(span, "server.port"), &Value::Int(port));
    assert_eq!(text(span, "cloud.region"), "us-east-1");
    assert!(
        span.values().all(|v| !matches!(v, Value::Unsigned(_))),
        "integers are i64 (an exporter turns u64 into text): {span:#?}"
    );
}

fn endpoint_port() -> i64 {
    endpoint()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port in the endpoint")
}

/// Every backend call of a store that asked for its consumed capacity: PutItem, GetItem,
/// BatchGetItem, Query (with its parameters), and the capacity as DynamoDB reported it.
#[tokio::test]
async fn spans_carry_the_opentelemetry_attributes_and_consumed_capacity() {
    let store = store("spans_capacity", true).await;
    table::create_table(&store, PhoneCall::TABLE, Billing::OnDemand)
        .await
        .expect("create table");
    let table = store.table_name(PhoneCall::TABLE);
    let port = endpoint_port();

    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    let call = PhoneCall {
        person_id: 5,
        phone_number: "555-0100".into(),
        last_called: "2026-01-01".into(),
    };
    let StoreOutcome::Stored { event_uuid, .. } = call.store(&store).await.expect("store") else {
        panic!("not stored")
    };
    assert!(store
        .get::<PhoneCall>(5u64, event_uuid)
        .await
        .expect("get")
        .is_some());
    let many = store
        .get_many::<PhoneCall, u64>([(5, event_uuid)])
        .await
        .expect("get_many");
    assert_eq!(many.len(), 1);
    let found = PhoneCall::query()
        .by_person_id(5)
        .page_size(10)
        .consistent_read()
        .descending()
        .run(&store)
        .await
        .expect("query");
    assert_eq!(found.len(), 1);

    let spans = capture.take();
    for operation in ["PutItem", "GetItem", "BatchGetItem", "Query"] {
        let span = the_span(&spans, operation);
        assert_conventions(span, operation, &table, port);
        assert!(!span.contains_key("error.type"), "{span:#?}");
        assert!(!span.contains_key("otel.status_code"), "{span:#?}");
        let capacity: serde_json::Value =
            serde_json::from_str(text(span, "aws.dynamodb.consumed_capacity"))
                .expect("consumed capacity as JSON");
        let capacity = capacity.as_array().expect("a JSON array");
        assert_eq!(capacity.len(), 1, "{capacity:?}");
        assert_eq!(capacity[0]["TableName"], table.as_str());
        let units = capacity[0]["CapacityUnits"].as_f64().expect("units");
        assert!(units > 0.0, "{operation} consumed {units} units");
        assert!(!text(span, "aws.request_id").is_empty());
    }
    let query = the_span(&spans, "Query");
    assert_eq!(get(query, "aws.dynamodb.limit"), &Value::Int(10));
    assert_eq!(
        get(query, "aws.dynamodb.consistent_read"),
        &Value::Bool(true)
    );
    assert_eq!(get(query, "aws.dynamodb.scan_forward"), &Value::Bool(false));
    assert_eq!(get(query, "aws.dynamodb.count"), &Value::Int(1));
    assert_eq!(get(query, "aws.dynamodb.scanned_count"), &Value::Int(1));
    assert!(!query.contains_key("aws.dynamodb.index_name"));
    eprintln!("{:#?}", the_span(&spans, "PutItem"));
}

/// Without the opt-in there is no capacity; a failure carries `error.type` and the error
/// status; a conditional put that meets its item carries `error.type` but no error status.
#[tokio::test]
async fn spans_record_failures_and_no_capacity_by_default() {
    let store = store("spans_errors", false).await;
    table::create_table(&store, NeatEvent::TABLE, Billing::OnDemand)
        .await
        .expect("create table");
    let neat = store.table_name(NeatEvent::TABLE);
    let missing = store.table_name(PhoneCall::TABLE); // never created
    let port = endpoint_port();

    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    let error = PhoneCall::query()
        .by_person_id(1)
        .run(&store)
        .await
        .expect_err("no table");
    assert!(matches!(error, Error::TableNotFound { .. }), "{error:?}");
    let spans = capture.take();
    let query = the_span(&spans, "Query");
    assert_conventions(query, "Query", &missing, port);
    assert_eq!(text(query, "error.type"), "ResourceNotFoundException");
    assert_eq!(text(query, "otel.status_code"), "ERROR");
    assert!(!text(query, "otel.status_description").is_empty());

    let event = NeatEvent {
        location: "gardens".into(),
        employee_name: "Markus".into(),
        employee_action: "ate grapes".into(),
    };
    assert!(!event.store(&store).await.expect("first").is_duplicate());
    assert!(event.store(&store).await.expect("second").is_duplicate());
    let spans = capture.take();
    let puts: Vec<&Fields> = spans
        .iter()
        .filter(|s| text(s, "db.operation.name") == "PutItem")
        .collect();
    assert_eq!(puts.len(), 2, "{spans:#?}");
    for put in &puts {
        assert_conventions(put, "PutItem", &neat, port);
        assert!(
            !put.contains_key("aws.dynamodb.consumed_capacity"),
            "{put:#?}"
        );
        assert!(!put.contains_key("otel.status_code"), "{put:#?}");
    }
    assert!(!puts[0].contains_key("error.type"));
    assert_eq!(
        text(puts[1], "error.type"),
        "ConditionalCheckFailedException"
    );
}
