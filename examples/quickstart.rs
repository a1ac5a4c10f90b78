//! Quickstart: create the tables, store events (one of them twice) and read them back by key
//! and with the typed query builder.
//!
//! Run it with a DynamoDB Local the script starts and stops for you:
//!
//! ```sh
//! scripts/dynamodb-local.sh run cargo run --example quickstart
//! ```
//!
//! Against any other DynamoDB, set `EVENT_ENVIRONMENT_PREFIX` (and `AWS_ENDPOINT` or the
//! usual AWS variables) and run `cargo run --example quickstart`.

use chrono::{Duration, Utc};
use eventosaurus::query::{begins_with, gt};
use eventosaurus::table::{self, Billing};
use eventosaurus::{Storable, Store, StoreOutcome};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};

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

    // One event by its key (GetItem).
    let call_back = PhoneCall::get(&store, 5u64, stored_call.event_uuid()).await?;
    println!("read back by key: {call_back:?}");

    // Queries: a partition key EQ makes a DynamoDB Query (never a Scan); more conditions
    // become a range key condition or a filter. `explain` shows the request.
    let calls = PhoneCall::query()
        .by_person_id(5)
        .by_phone_number(begins_with("555"));
    let plan = calls.explain(&store)?;
    println!(
        "plan: {:?} on {} (key condition {:?}, filter {:?})",
        plan.operation,
        plan.table,
        plan.expressions
            .key_condition_expression
            .as_deref()
            .unwrap_or("-"),
        plan.expressions.filter_expression.as_deref().unwrap_or("-")
    );
    for call in calls.run(&store).await? {
        // created_at is typed: a chrono DateTime<Utc> inside, fixed-width text on the wire.
        let at: chrono::DateTime<Utc> = call.created_at.as_datetime();
        println!(
            "  {} at {} ({} ms ago): {:?}",
            call.event_uuid,
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            (Utc::now() - at).num_milliseconds(),
            call.event
        );
    }
    println!(
        "person 5 has {} calls",
        PhoneCall::query().by_person_id(5).count(&store).await?
    );

    // A created_at range uses the created_at index; newest first.
    let recent = PhoneCall::query()
        .by_person_id(5)
        .by_created_at(gt(Utc::now() - Duration::hours(1)))
        .descending()
        .limit(3);
    println!(
        "latest calls in the last hour: {}",
        recent.run(&store).await?.len()
    );

    let neat_back = NeatEvent::query()
        .by_location("gardens")
        .by_employee_name("Markus")
        .run(&store)
        .await?;
    println!("read back: {neat_back:?}");
    Ok(())
}
