//! The query scenario: `run` and `count` over every partition of a 20k-item, 200-partition
//! table, against the raw paginated Query (and `Select=COUNT`), at concurrency 1 and 8.

use std::hint::black_box;
use std::sync::Arc;

use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use aws_sdk_dynamodb::Client;
use eventosaurus::Store;
use eventosaurus_testkit::events::PhoneCall;

use crate::report::Row;
use crate::scenarios::{per_sec, progress, raw_batch_write, raw_item, run_concurrent, Bench};

/// One side of a query comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The raw paginated Query (or `Select=COUNT`).
    Raw,
    /// `PhoneCall::query().by_person_id(p).run` (or `count`).
    Ours,
    /// The raw Query plus `serde_dynamo::from_items` into `PhoneCall` (`run` only).
    RawDecoded,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Raw => "raw",
            Side::Ours => "ours",
            Side::RawDecoded => "raw+decode",
        }
    }
}

/// What every round queries: the loaded table, and how it is laid out.
struct Table {
    store: Store,
    client: Client,
    name: Arc<String>,
    partitions: u64,
    per_partition: usize,
}

/// `run` and `count` over every partition of a 20k-item, 200-partition table, against the
/// raw paginated Query (and `Select=COUNT`), at concurrency 1 and 8.
pub async fn query(bench: &Bench) -> Vec<Row> {
    let table = load(bench).await;
    let mut rows = Vec::new();
    for concurrency in [1usize, 8] {
        for counting in [false, true] {
            let sides: &[Side] = if counting {
                &[Side::Raw, Side::Ours]
            } else {
                &[Side::Raw, Side::Ours, Side::RawDecoded]
            };
            let mut samples = vec![Vec::new(); sides.len()];
            for round in 0..bench.plan.rounds {
                let mut order: Vec<usize> = (0..sides.len()).collect();
                if round % 2 == 1 {
                    order.reverse();
                }
                for at in order {
                    let rate = run_round(bench, &table, sides[at], concurrency, counting).await;
                    progress(format!(
                        "query {} c={concurrency} round {round} {}: {rate:.0}",
                        if counting { "count" } else { "run" },
                        sides[at].label()
                    ));
                    samples[at].push(rate);
                }
            }
            rows.extend(rows_of(&table, concurrency, counting, samples));
        }
    }
    bench.drop_store(&table.store).await;
    rows
}

/// A fresh table with `query_items` items, `per_partition` in each partition; checked.
async fn load(bench: &Bench) -> Table {
    let plan = &bench.plan;
    let (store, name) = bench.fresh_store("query").await;
    let table = Table {
        store,
        client: bench.client.clone(),
        name: Arc::new(name),
        partitions: plan.query_partitions,
        per_partition: plan.query_items / plan.query_partitions as usize,
    };
    progress(format!(
        "loading {} items into {} partitions",
        plan.query_items, table.partitions
    ));
    let per_partition = table.per_partition;
    // Partition = i / per_partition, so every partition holds `per_partition` items.
    let item = move |i| {
        let mut item = raw_item(i, 0);
        item.insert(
            "person_id".to_owned(),
            AttributeValue::N((i / per_partition).to_string()),
        );
        item
    };
    raw_batch_write(&table.client, table.name.clone(), plan.query_items, 8, item).await;
    // Both sides must see the same data.
    let expected = table.per_partition as u64;
    let raw = raw_query_count(&table.client, &table.name, 0).await;
    assert_eq!(raw, expected, "query table loaded");
    assert_eq!(
        ours_query_count(&table.store, 0).await,
        expected,
        "ours count"
    );
    table
}

/// One side over every partition at `concurrency`: items/s for `run`, queries/s for `count`.
async fn run_round(
    bench: &Bench,
    table: &Table,
    side: Side,
    concurrency: usize,
    counting: bool,
) -> f64 {
    let expected = table.per_partition as u64;
    let (client, name, store) = (
        table.client.clone(),
        table.name.clone(),
        table.store.clone(),
    );
    let partitions = table.partitions as usize;
    let (elapsed, _) = run_concurrent(partitions, concurrency, move |p| {
        let (client, name, store) = (client.clone(), name.clone(), store.clone());
        async move {
            let p = p as u64;
            let got = match (side, counting) {
                (Side::Raw, false) => raw_query_run(&client, &name, p).await as u64,
                (Side::Raw, true) => raw_query_count(&client, &name, p).await,
                (Side::Ours, false) => ours_query_run(&store, p).await as u64,
                (Side::Ours, true) => ours_query_count(&store, p).await,
                (Side::RawDecoded, _) => raw_query_run_decoded(&client, &name, p).await as u64,
            };
            assert_eq!(got, expected, "partition {p}");
        }
    })
    .await;
    if counting {
        per_sec(partitions, elapsed)
    } else {
        per_sec(bench.plan.query_items, elapsed)
    }
}

/// The rows of one concurrency and mode; `samples` in the order of the sides.
fn rows_of(table: &Table, concurrency: usize, counting: bool, samples: Vec<Vec<f64>>) -> Vec<Row> {
    let (partitions, per_partition) = (table.partitions, table.per_partition);
    let mut samples = samples.into_iter();
    let (raw, ours) = (
        samples.next().unwrap_or_default(),
        samples.next().unwrap_or_default(),
    );
    let row = |work: String, raw, ours, target| Row {
        scenario: "query",
        work,
        concurrency: concurrency.to_string(),
        unit: if counting { "queries/s" } else { "items/s" },
        higher_is_better: true,
        raw,
        ours,
        target,
        note: None,
    };
    let mut rows = Vec::new();
    if let Some(raw_decoded) = samples.next() {
        rows.push(row(
            format!(
                "query run(), {partitions} partitions × {per_partition} vs raw paginated Query + serde_dynamo decode"
            ),
            raw_decoded,
            ours.clone(),
            None,
        ));
    }
    let work = if counting {
        format!(
            "query count(), {partitions} partitions × {per_partition} vs raw Select=COUNT Query"
        )
    } else {
        format!("query run(), {partitions} partitions × {per_partition} vs raw paginated Query")
    };
    rows.push(row(work, raw, ours, Some(0.9)));
    rows
}

/// Ours: `PhoneCall::query().by_person_id(p).run(store)`, returning the number of events
/// (decoded into typed `StoredEvent<PhoneCall>`s).
async fn ours_query_run(store: &Store, person_id: u64) -> usize {
    let events = PhoneCall::query()
        .by_person_id(person_id)
        .run(store)
        .await
        .expect("query run");
    black_box(events).len()
}

/// Ours: `PhoneCall::query().by_person_id(p).count(store)` (`Select=COUNT`, all pages).
async fn ours_query_count(store: &Store, person_id: u64) -> u64 {
    PhoneCall::query()
        .by_person_id(person_id)
        .count(store)
        .await
        .expect("query count")
}

/// Raw: a paginated Query of one partition (`Select=COUNT` when `counting`), as a raw-SDK
/// user writes it, each page handed to `page`.
async fn raw_query_pages(
    client: &Client,
    table: &str,
    person_id: u64,
    counting: bool,
    mut page: impl FnMut(QueryOutput),
) {
    let mut start = None;
    loop {
        let mut output = client
            .query()
            .table_name(table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "person_id")
            .expression_attribute_values(":pk", AttributeValue::N(person_id.to_string()))
            .set_select(counting.then_some(Select::Count))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("raw Query");
        start = output.last_evaluated_key.take();
        page(output);
        if start.is_none() {
            return;
        }
    }
}

/// Raw: a paginated Query of one partition, collecting every item.
async fn raw_query_run(client: &Client, table: &str, person_id: u64) -> usize {
    let mut items = Vec::new();
    raw_query_pages(client, table, person_id, false, |page| {
        items.extend(page.items.unwrap_or_default())
    })
    .await;
    black_box(items).len()
}

/// Raw, typed: [`raw_query_run`] plus `serde_dynamo::from_items` into `PhoneCall`, what a
/// raw-SDK user who wants typed values would write.
async fn raw_query_run_decoded(client: &Client, table: &str, person_id: u64) -> usize {
    let mut events: Vec<PhoneCall> = Vec::new();
    raw_query_pages(client, table, person_id, false, |page| {
        let decoded: Vec<PhoneCall> =
            serde_dynamo::from_items(page.items.unwrap_or_default()).expect("decode");
        events.extend(decoded);
    })
    .await;
    black_box(events).len()
}

/// Raw: a paginated `Select=COUNT` Query of one partition, summed.
async fn raw_query_count(client: &Client, table: &str, person_id: u64) -> u64 {
    let mut total = 0u64;
    raw_query_pages(client, table, person_id, true, |page| {
        total += page.count as u64
    })
    .await;
    total
}
