//! A custom persistor: writes every event to DynamoDB like the default, and also appends it
//! to a JSON-lines file (an audit trail, a local replay log, ...).
//!
//! ```sh
//! scripts/dynamodb-local.sh run cargo run --example jsonl_persistor -- /tmp/events.jsonl
//! ```
//!
//! To write your own persistor, implement [`Persistor::persist`]: it receives the table
//! definition, the full table name and the encoded item (with `event_uuid` and
//! `created_at`), and returns the typed outcome. Delegate to [`Synchronous`] (or an
//! [`AsyncQueue`](eventosaurus::persist::AsyncQueue)) for the DynamoDB write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use eventosaurus::backend::Backend;
use eventosaurus::persist::{EventWrite, PersistFuture, Persistor, Synchronous};
use eventosaurus::table::{self, Billing};
use eventosaurus::{Storable, Store, StoreOutcome};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};

/// Writes through to DynamoDB, then appends `{"table":..,"outcome":..,"item":..}` per event.
pub struct JsonLinesPersistor {
    file: Mutex<std::fs::File>,
    inner: Synchronous,
}

impl JsonLinesPersistor {
    /// Appends to `path`, creating it if needed.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(JsonLinesPersistor {
            file: Mutex::new(file),
            inner: Synchronous,
        })
    }
}

impl Persistor for JsonLinesPersistor {
    fn persist<'a>(&'a self, backend: &'a dyn Backend, write: EventWrite) -> PersistFuture<'a> {
        Box::pin(async move {
            // The item as plain JSON (serde_dynamo reads DynamoDB items into any serde type).
            let json: serde_json::Value =
                serde_dynamo::from_item(write.item.clone()).map_err(|e| {
                    eventosaurus::Error::Decode {
                        event_type: write.table.event_type,
                        table: write.table_name.clone(),
                        reason: e.to_string(),
                    }
                })?;
            let table_name = write.table_name.clone();
            let outcome = self.inner.persist(backend, write).await?;
            let line = serde_json::json!({
                "table": table_name,
                "outcome": if outcome.is_duplicate() { "duplicate" } else { "stored" },
                "item": json,
            });
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            // A failed audit append is logged, not fatal: the event is already in DynamoDB.
            if let Err(err) = writeln!(file, "{line}") {
                tracing::warn!(%err, "could not append to the JSON-lines file");
            }
            Ok(outcome)
        })
    }
}

/// Stores a PhoneCall and a NeatEvent (twice) through the persistor; returns the outcomes.
pub async fn run(
    store: &Store,
    path: &Path,
) -> Result<Vec<StoreOutcome>, Box<dyn std::error::Error>> {
    table::create_tables(
        store,
        [PhoneCall::TABLE, NeatEvent::TABLE],
        Billing::OnDemand,
    )
    .await?;
    let store = store.with_persistor(JsonLinesPersistor::open(path)?);
    let neat = NeatEvent {
        location: "lab".into(),
        employee_name: "Ada".into(),
        employee_action: "wrote a persistor".into(),
    };
    let outcomes = vec![
        PhoneCall {
            person_id: 7,
            phone_number: "555-0107".into(),
            last_called: "today".into(),
        }
        .store(&store)
        .await?,
        neat.store(&store).await?,
        neat.store(&store).await?,
    ];
    Ok(outcomes)
}

#[allow(dead_code)] // the tests include this file as a module and call `run` instead
#[tokio::main]
async fn main() -> std::process::ExitCode {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("events.jsonl"));
    let result = async {
        let store = Store::from_env().await?;
        let outcomes = run(&store, &path).await?;
        for outcome in outcomes {
            println!("{outcome:?}");
        }
        println!("appended to {}:", path.display());
        print!("{}", std::fs::read_to_string(&path)?);
        Ok::<_, Box<dyn std::error::Error>>(())
    }
    .await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
