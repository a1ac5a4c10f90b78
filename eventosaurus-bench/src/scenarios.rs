//! What the scenarios share (the run's state, both sides' item building, the raw SDK calls,
//! concurrency and alternation helpers), the warm-up, and the sync-store scenario. The other
//! scenarios have a file each (`queue`, `query`, `client`, `transaction`, `consume`); each
//! runs the raw SDK and eventosaurus on the same work, alternating the order round by round,
//! on fresh tables, and returns one [`Row`] per comparison.

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeValue, PutRequest, ReturnValuesOnConditionCheckFailure, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use eventosaurus::table::{create_table, delete_table, Billing};
use eventosaurus::{Storable, Store, Uuid};
use eventosaurus_testkit::events::PhoneCall;
use eventosaurus_testkit::local::store_at;

use crate::report::Row;

/// The condition of eventosaurus' conditional put, written out for the raw side.
const PUT_CONDITION: &str = "attribute_not_exists(event_uuid)";
/// A fixed `last_called`, the same on both sides.
const LAST_CALLED: &str = "2026-11-23T19:38:57.123Z";
/// The pause after deleting a round's table (not timed).
const SETTLE: Duration = Duration::from_millis(500);
/// Partitions the write scenarios spread their events over.
const WRITE_PARTITIONS: u64 = 200;

/// Sizes of the work, scaled down by `--quick`.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Alternating rounds per comparison (each round runs both sides once).
    pub rounds: usize,
    /// Events per sync-store round at concurrency 1.
    pub sync_events_c1: usize,
    /// Events per sync-store round at concurrency 8 and 32.
    pub sync_events: usize,
    /// Events per async-queue drain round.
    pub drain_events: usize,
    /// Enqueues timed per latency round (below the queue's capacity, so no backpressure).
    pub latency_events: usize,
    /// Items in the query table (spread over `query_partitions`).
    pub query_items: usize,
    /// Partitions of the query table.
    pub query_partitions: u64,
    /// Events per client-side round.
    pub client_events: usize,
    /// Transactions per transaction round at concurrency 8 (a tenth at concurrency 1).
    pub transactions: usize,
}

impl Plan {
    /// The full plan, or a tenth of it for a smoke run.
    pub fn new(quick: bool, rounds: Option<usize>) -> Plan {
        let d = if quick { 10 } else { 1 };
        Plan {
            rounds: rounds.unwrap_or(if quick { 2 } else { 5 }).max(1),
            sync_events_c1: 2_000 / d,
            sync_events: 6_000 / d,
            drain_events: 20_000 / d,
            latency_events: 5_000 / d,
            query_items: 20_000,
            query_partitions: 200,
            client_events: 200_000 / d,
            transactions: 3_000 / d,
        }
    }
}

/// The shared state of a benchmark run.
pub struct Bench {
    /// The DynamoDB Local endpoint.
    pub endpoint: String,
    /// The sizes.
    pub plan: Plan,
    /// A client shared by every raw-side request (the same kind of client the store builds).
    pub(crate) client: Client,
    next_prefix: AtomicU64,
}

impl Bench {
    /// Connects to `endpoint`.
    pub async fn new(endpoint: String, plan: Plan) -> Bench {
        let store = store_at(&endpoint, "bench-setup").await;
        Bench {
            client: store.client().expect("a DynamoDB store").clone(),
            endpoint,
            plan,
            next_prefix: AtomicU64::new(0),
        }
    }

    /// The client shared by every raw-side request.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A store on a fresh environment prefix, with its PhoneCall table created.
    pub(crate) async fn fresh_store(&self, label: &str) -> (Store, String) {
        let n = self.next_prefix.fetch_add(1, Ordering::Relaxed);
        let store = store_at(&self.endpoint, &format!("b{n}-{label}")).await;
        create_table(&store, PhoneCall::TABLE, Billing::OnDemand)
            .await
            .expect("create the PhoneCall table");
        let table = store.table_name(PhoneCall::TABLE);
        (store, table)
    }

    /// Deletes the round's table, then lets DynamoDB Local settle for a moment, so that the
    /// clean-up of one round does not slow the next one down.
    pub(crate) async fn drop_store(&self, store: &Store) {
        let _ = delete_table(store, PhoneCall::TABLE).await;
        tokio::time::sleep(SETTLE).await;
    }
}

// ---------------------------------------------------------------------------------------
// The two sides' item building.

pub(crate) fn phone_call(i: usize, base: u64) -> PhoneCall {
    PhoneCall {
        person_id: base + i as u64 % WRITE_PARTITIONS,
        phone_number: format!("+1-555-{i:07}"),
        last_called: LAST_CALLED.to_owned(),
    }
}

/// The raw side's item: hand-built, with a fresh UUID v4 and `created_at`, the same
/// attributes and values eventosaurus writes for [`phone_call`].
pub(crate) fn raw_item(i: usize, base: u64) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::with_capacity(5);
    item.insert(
        "person_id".to_owned(),
        AttributeValue::N((base + i as u64 % WRITE_PARTITIONS).to_string()),
    );
    item.insert(
        "phone_number".to_owned(),
        AttributeValue::S(format!("+1-555-{i:07}")),
    );
    item.insert(
        "last_called".to_owned(),
        AttributeValue::S(LAST_CALLED.to_owned()),
    );
    item.insert(
        "event_uuid".to_owned(),
        AttributeValue::S(Uuid::new_v4().hyphenated().to_string()),
    );
    item.insert(
        "created_at".to_owned(),
        AttributeValue::S(eventosaurus::CreatedAt::now().to_string()),
    );
    item
}

pub(crate) async fn raw_put(
    client: &Client,
    table: &str,
    item: HashMap<String, AttributeValue>,
    cond: bool,
) {
    let mut request = client.put_item().table_name(table).set_item(Some(item));
    if cond {
        request = request
            .condition_expression(PUT_CONDITION)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::None);
    }
    request.send().await.expect("raw PutItem");
}

pub(crate) async fn raw_batch(
    client: &Client,
    table: &str,
    items: Vec<HashMap<String, AttributeValue>>,
) {
    let mut requests: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build()
        })
        .collect();
    let mut delay = Duration::from_millis(5);
    loop {
        let out = client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .expect("raw BatchWriteItem");
        requests = out
            .unprocessed_items
            .and_then(|mut m| m.remove(table))
            .unwrap_or_default();
        if requests.is_empty() {
            return;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(500));
    }
}

/// Writes the items `item(0..n)` with raw BatchWriteItems of 25 on `concurrency` tasks;
/// returns the elapsed time.
pub(crate) async fn raw_batch_write(
    client: &Client,
    table: Arc<String>,
    n: usize,
    concurrency: usize,
    item: impl Fn(usize) -> HashMap<String, AttributeValue> + Clone + Send + Sync + 'static,
) -> Duration {
    let client = client.clone();
    let (elapsed, _) = run_concurrent(n.div_ceil(25), concurrency, move |c| {
        let (client, table, item) = (client.clone(), table.clone(), item.clone());
        async move {
            let items = (c * 25..((c + 1) * 25).min(n)).map(item).collect();
            raw_batch(&client, &table, items).await
        }
    })
    .await;
    elapsed
}

/// Runs `task(i)` for `i` in `0..n` on `concurrency` tokio tasks; returns the elapsed time
/// and every call's latency.
pub(crate) async fn run_concurrent<F, Fut>(
    n: usize,
    concurrency: usize,
    task: F,
) -> (Duration, Vec<f64>)
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (next, task) = (next.clone(), task.clone());
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return latencies;
                }
                let t = Instant::now();
                task(i).await;
                latencies.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }));
    }
    let mut latencies = Vec::with_capacity(n);
    for h in handles {
        latencies.extend(h.await.expect("bench task"));
    }
    (started.elapsed(), latencies)
}

pub(crate) fn per_sec(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

/// Alternates the sides round by round: raw first in even rounds, ours first in odd ones.
pub(crate) fn order(round: usize) -> [bool; 2] {
    if round % 2 == 0 {
        [false, true]
    } else {
        [true, false]
    }
}

pub(crate) fn progress(msg: impl AsRef<str>) {
    eprintln!("[bench] {}", msg.as_ref());
}

// ---------------------------------------------------------------------------------------
// Warm-up.

/// Mixed conditional puts (c=8) and partition queries for `secs` seconds, so that the JVM
/// behind DynamoDB Local is compiled and settled before anything is measured.
pub async fn warm_up(bench: &Bench, secs: u64) {
    if secs == 0 {
        return;
    }
    progress(format!("warming DynamoDB Local up for {secs} s"));
    let (store, table) = bench.fresh_store("warmup").await;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let done = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for w in 0..8usize {
        let (client, table, store, done) = (
            bench.client.clone(),
            table.clone(),
            store.clone(),
            done.clone(),
        );
        handles.push(tokio::spawn(async move {
            let mut i = w;
            while Instant::now() < deadline {
                if i % 10 == 9 {
                    client
                        .query()
                        .table_name(&table)
                        .key_condition_expression("person_id = :p")
                        .expression_attribute_values(
                            ":p",
                            AttributeValue::N((i as u64 % WRITE_PARTITIONS).to_string()),
                        )
                        .send()
                        .await
                        .expect("warm-up Query");
                } else if i % 2 == 0 {
                    raw_put(&client, &table, raw_item(i, 0), true).await;
                } else {
                    phone_call(i, 0).store(&store).await.expect("warm-up store");
                }
                i += 8;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for h in handles {
        h.await.expect("warm-up task");
    }
    bench.drop_store(&store).await;
    progress(format!(
        "warm-up done: {} requests",
        done.load(Ordering::Relaxed)
    ));
}

// ---------------------------------------------------------------------------------------
// 1. Sync store.

/// `event.store(&store)` against a raw conditional PutItem, at concurrency 1, 8 and 32.
pub async fn sync_store(bench: &Bench) -> Vec<Row> {
    let mut rows = Vec::new();
    for concurrency in [1usize, 8, 32] {
        let n = if concurrency == 1 {
            bench.plan.sync_events_c1
        } else {
            bench.plan.sync_events
        };
        let (mut raw, mut ours) = (Vec::new(), Vec::new());
        for round in 0..bench.plan.rounds {
            for is_ours in order(round) {
                let (store, table) = bench
                    .fresh_store(if is_ours { "sync-ours" } else { "sync-raw" })
                    .await;
                let (elapsed, _) = if is_ours {
                    let store = store.clone();
                    run_concurrent(n, concurrency, move |i| {
                        let store = store.clone();
                        async move {
                            let outcome = phone_call(i, 0).store(&store).await.expect("store");
                            black_box(outcome);
                        }
                    })
                    .await
                } else {
                    let (client, table) = (bench.client.clone(), Arc::new(table));
                    run_concurrent(n, concurrency, move |i| {
                        let (client, table) = (client.clone(), table.clone());
                        async move { raw_put(&client, &table, raw_item(i, 0), true).await }
                    })
                    .await
                };
                bench.drop_store(&store).await;
                let rate = per_sec(n, elapsed);
                progress(format!(
                    "sync c={concurrency} round {round} {}: {rate:.0} ev/s",
                    if is_ours { "ours" } else { "raw" }
                ));
                if is_ours { &mut ours } else { &mut raw }.push(rate);
            }
        }
        rows.push(Row {
            scenario: "sync",
            work: "sync store: event.store() vs conditional PutItem".to_owned(),
            concurrency: concurrency.to_string(),
            unit: "ev/s",
            higher_is_better: true,
            raw,
            ours,
            target: Some(0.95),
            note: None,
        });
    }
    rows
}
