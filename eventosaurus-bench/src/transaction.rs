//! The transaction scenario: `store.transaction()...commit()` against a raw
//! `TransactWriteItems` of the same three items, alternating round by round.
//!
//! Each transaction puts an order (`attribute_not_exists(id)`), adds 1 to a counter item
//! (`ADD n :one`) of the application's table, and stores a `PhoneCall` event
//! (`attribute_not_exists(event_uuid)`). Keys are distinct, so there are no conflicts.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use eventosaurus::transaction::{AppTable, Put as TxPut, Update as TxUpdate};
use eventosaurus::Store;
use serde::Serialize;

use crate::report::Row;
use crate::scenarios::{order, per_sec, phone_call, progress, raw_item, run_concurrent, Bench};

/// The application's order, as the application would declare it.
#[derive(Debug, Serialize)]
struct Order {
    id: String,
    total: u64,
    currency: &'static str,
}

fn order_of(i: usize) -> Order {
    Order {
        id: format!("o-{i:07}"),
        total: 100 + i as u64 % 900,
        currency: "EUR",
    }
}

fn counter_key(i: usize) -> HashMap<String, AttributeValue> {
    [("id".to_owned(), AttributeValue::S(format!("c-{i:07}")))].into()
}

/// Creates the application's table (`<prefix>_bench_app`, key `id`).
async fn create_app_table(client: &Client, store: &Store) -> AppTable {
    let table = AppTable::new(format!("{}_bench_app", store.environment_prefix()), "id");
    client
        .create_table()
        .table_name(table.name())
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .expect("key schema"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the application table");
    table
}

/// Ours: the three items through the transaction builder.
async fn ours(store: &Store, app: &AppTable, i: usize) {
    let outcome = store
        .transaction()
        .put(TxPut::new(app, order_of(i)).condition("attribute_not_exists(id)"))
        .update(
            TxUpdate::from_key(app, counter_key(i), "ADD n :one")
                .raw_value(":one", AttributeValue::N("1".into())),
        )
        .event(&phone_call(i, 0))
        .commit()
        .await
        .expect("commit");
    assert!(outcome.is_committed(), "{outcome:?}");
    black_box(outcome);
}

/// Raw: the same three items, hand-built, in one `TransactWriteItems`; with `token`, also a
/// `ClientRequestToken` (as ours sends, for idempotent retries).
async fn raw(client: &Client, app: &str, events: &str, i: usize, token: bool) {
    let order = order_of(i);
    let order_item: HashMap<String, AttributeValue> = [
        ("id".to_owned(), AttributeValue::S(order.id)),
        (
            "total".to_owned(),
            AttributeValue::N(order.total.to_string()),
        ),
        (
            "currency".to_owned(),
            AttributeValue::S(order.currency.to_owned()),
        ),
    ]
    .into();
    let event = raw_item(i, 0);
    let token = token.then(|| match event.get("event_uuid") {
        Some(AttributeValue::S(id)) => id.clone(),
        _ => unreachable!("raw_item has an event_uuid"),
    });
    let items = vec![
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(app)
                    .set_item(Some(order_item))
                    .condition_expression("attribute_not_exists(id)")
                    .build()
                    .expect("put"),
            )
            .build(),
        TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(app)
                    .set_key(Some(counter_key(i)))
                    .update_expression("ADD n :one")
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .build()
                    .expect("update"),
            )
            .build(),
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(events)
                    .set_item(Some(event))
                    .condition_expression("attribute_not_exists(event_uuid)")
                    .build()
                    .expect("put"),
            )
            .build(),
    ];
    let output = client
        .transact_write_items()
        .set_transact_items(Some(items))
        .set_client_request_token(token)
        .send()
        .await
        .expect("raw TransactWriteItems");
    black_box(output);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Raw,
    RawWithToken,
    Ours,
}

/// Our commit against a raw `TransactWriteItems` of the same items, at concurrency 1 and 8;
/// and, as a reference, against the raw request with a `ClientRequestToken` too.
pub async fn transaction(bench: &Bench) -> Vec<Row> {
    let mut rows = Vec::new();
    for concurrency in [1usize, 8] {
        let n = if concurrency == 1 {
            bench.plan.transactions / 5
        } else {
            bench.plan.transactions
        };
        let mut rates: HashMap<&'static str, Vec<f64>> = HashMap::new();
        for round in 0..bench.plan.rounds {
            // Ours between the two raw sides, the raw order alternating round by round.
            let sides = if order(round)[0] {
                [Side::RawWithToken, Side::Ours, Side::Raw]
            } else {
                [Side::Raw, Side::Ours, Side::RawWithToken]
            };
            for side in sides {
                let (store, events) = bench.fresh_store("tx").await;
                let app = Arc::new(create_app_table(bench.client(), &store).await);
                let (elapsed, _) = if side == Side::Ours {
                    let store = store.clone();
                    let app = app.clone();
                    run_concurrent(n, concurrency, move |i| {
                        let (store, app) = (store.clone(), app.clone());
                        async move { ours(&store, &app, i).await }
                    })
                    .await
                } else {
                    let token = side == Side::RawWithToken;
                    let (client, app, events) =
                        (bench.client().clone(), app.clone(), Arc::new(events));
                    run_concurrent(n, concurrency, move |i| {
                        let (client, app, events) = (client.clone(), app.clone(), events.clone());
                        async move { raw(&client, app.name(), &events, i, token).await }
                    })
                    .await
                };
                let _ = bench
                    .client()
                    .delete_table()
                    .table_name(app.name())
                    .send()
                    .await;
                bench.drop_store(&store).await;
                let rate = per_sec(n, elapsed);
                progress(format!(
                    "transaction c={concurrency} round {round} {side:?}: {rate:.0} tx/s"
                ));
                let key = match side {
                    Side::Raw => "raw",
                    Side::RawWithToken => "raw+token",
                    Side::Ours => "ours",
                };
                rates.entry(key).or_default().push(rate);
            }
        }
        let take = |key| rates.get(key).cloned().unwrap_or_default();
        for (raw_key, work, target) in [
            (
                "raw",
                "transaction commit (put + update + event) vs raw TransactWriteItems",
                Some(0.95),
            ),
            (
                "raw+token",
                "transaction commit vs raw TransactWriteItems with a ClientRequestToken (reference)",
                None,
            ),
        ] {
            let (raw_rates, ours_rates) = (take(raw_key), take("ours"));
            let paired = crate::stats::paired_ratio(&raw_rates, &ours_rates, true);
            rows.push(Row {
                scenario: "transaction",
                work: work.to_owned(),
                concurrency: concurrency.to_string(),
                unit: "tx/s",
                higher_is_better: true,
                raw: raw_rates,
                ours: ours_rates,
                target,
                note: Some(format!(
                    "transaction vs {raw_key}, c={concurrency}: paired ratio (median of the per-round ratios) {paired:.2}×"
                )),
            });
        }
    }
    rows
}
