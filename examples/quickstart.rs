//! Quickstart: create the tables, store events (one of them twice) and read them back.
//!
//! Run it with a DynamoDB Local the script starts and stops for you:
//!
//! ```sh
//! scripts/dynamodb-local.sh run cargo run --example quickstart
//! ```
//!
//! Against any other DynamoDB, set `EVENT_ENVIRONMENT_PREFIX` (and `AWS_ENDPOINT` or the
//! usual AWS variables) and run `cargo run --example quickstart`.

use eventosaurus::table::{self, Billing};
use eventosaurus::{Storable, Store, StoreOutcome};
use eventosaurus_workspace::events::{NeatEvent, PhoneCall};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> eventosaurus::Result<()> {
    let store = Store::from_env().await?;
    println!("environment prefix: {}", store.environment_prefix());

    for (def, outcome) in table::create_tables(
        &store,
        [PhoneCall::TABLE, NeatEvent::TABLE],
        Billing::OnDemand,
    )
    .await?
    {
        println!("table {}: {outcome:?}", store.table_name(def));
    }

    let call = PhoneCall {
        person_id: 5,
        phone_number: "555-0100".into(),
        last_called: "2026-11-23".into(),
    };
    let stored_call = call.store(&store).await?;
    println!("stored PhoneCall: {stored_call:?}");

    let neat = NeatEvent {
        location: "gardens".into(),
        employee_name: "Markus".into(),
        employee_action: "ate grapes".into(),
    };
    let first = neat.store(&store).await?;
    let second = neat.store(&store).await?;
    println!("stored NeatEvent: {first:?}");
    println!("stored it again:  {second:?}");
    // A duplicate is an outcome, not an error: nothing was written the second time.
    assert!(matches!(second, StoreOutcome::Duplicate { .. }));

    let call_back = store
        .get::<PhoneCall>(5u64, stored_call.event_uuid())
        .await?;
    println!("read back: {call_back:?}");
    let neat_back = store
        .get::<NeatEvent>("gardens", first.event_uuid())
        .await?;
    println!("read back: {neat_back:?}");
    Ok(())
}
