//! Exports eventosaurus' DynamoDB spans to stdout with OpenTelemetry: every call (PutItem,
//! GetItem, BatchGetItem, Query) is printed as an OpenTelemetry span with the database
//! conventions' attributes (`db.system.name = aws.dynamodb`, `db.operation.name`,
//! `aws.dynamodb.table_names`, `server.address`, `aws.dynamodb.consumed_capacity`, ...).
//!
//! `tracing-opentelemetry` and the OpenTelemetry SDK are heavy, so this example lives in its
//! own crate, outside the workspace (with its own lock file and target directory), and
//! `cargo test --workspace` never builds it. Run it from the repository's root, with a
//! DynamoDB Local the script starts and stops for you (the first build compiles the AWS SDK
//! once more for this crate: several minutes on 2 cores):
//!
//! ```sh
//! scripts/dynamodb-local.sh run cargo run --manifest-path examples/otel-stdout/Cargo.toml
//! ```

use eventosaurus::table::{self, Billing};
use eventosaurus::{Config, Storable, Store, StoreOutcome};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;

/// An event of this example.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "phone_call", partition_key = person_id)]
struct PhoneCall {
    person_id: u64,
    phone_number: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Spans go to stdout when they end (a simple, synchronous exporter: fine for an example;
    // use a batch exporter to a collector in production).
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(opentelemetry_stdout::SpanExporter::default())
        .build();
    let tracer = provider.tracer("eventosaurus-example");
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        // eventosaurus' call spans only (the SDK's own spans are below them).
        .with(Targets::new().with_target(
            eventosaurus::backend::telemetry::SPAN_TARGET,
            LevelFilter::INFO,
        ));
    if let Err(err) = tracing::subscriber::set_global_default(subscriber) {
        eprintln!("error: could not install the tracing subscriber: {err}");
        return std::process::ExitCode::FAILURE;
    }
    let result = run().await;
    if let Err(err) = provider.shutdown() {
        eprintln!("error: could not flush the spans: {err}");
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> eventosaurus::Result<()> {
    // EVENT_ENVIRONMENT_PREFIX and AWS_ENDPOINT (set by scripts/dynamodb-local.sh run), plus
    // ReturnConsumedCapacity=TOTAL on every request, so that the spans carry it.
    let config = Config::from_env()?.report_consumed_capacity(true);
    let store = Store::connect(config).await?;
    table::create_table(&store, PhoneCall::TABLE, Billing::OnDemand).await?;

    let call = PhoneCall {
        person_id: 5,
        phone_number: "555-0100".into(),
    };
    if let StoreOutcome::Stored { event_uuid, .. } = call.store(&store).await? {
        store.get::<PhoneCall>(5u64, event_uuid).await?;
        store.get_many::<PhoneCall, u64>([(5, event_uuid)]).await?;
    }
    let calls = PhoneCall::query().by_person_id(5).run(&store).await?;
    eprintln!(
        "{} call(s) of person 5; the spans follow on stdout",
        calls.len()
    );
    Ok(())
}
