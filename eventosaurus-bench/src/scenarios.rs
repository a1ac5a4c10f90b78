//! The scenarios: each runs the raw SDK and eventosaurus on the same work, alternating the
//! order round by round, on fresh tables, and returns one [`Row`] per comparison.

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeValue, PutRequest, ReturnValuesOnConditionCheckFailure, Select, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use eventosaurus::persist::{AsyncQueue, QueueOptions};
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

async fn raw_put(client: &Client, table: &str, item: HashMap<String, AttributeValue>, cond: bool) {
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

// ---------------------------------------------------------------------------------------
// 2. Async queue.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum QueueSide {
    /// Raw PutItem with the condition at concurrency 1: the latency `store` would have.
    RawPutLatency,
    /// The queue's `store` (enqueue) latency.
    OursEnqueueLatency,
    /// Raw BatchWriteItem×25 at the queue's concurrency.
    RawBatch,
    /// Raw unconditional PutItem at concurrency 32.
    RawPut32,
    /// Raw conditional PutItem at the queue's concurrency.
    RawCondPut,
    /// The queue, defaults (batched random ids).
    OursBatched,
    /// The queue with `batch_writes(false)`.
    OursUnbatched,
}

/// Enqueue latency and sustained drain of the [`AsyncQueue`] against the raw SDK's best puts.
pub async fn async_queue(bench: &Bench) -> Vec<Row> {
    use QueueSide::*;
    let qc = QueueOptions::default().concurrency;
    // Each round runs every side once. The two sides of a comparison run back to back, raw
    // first in even rounds and ours first in odd ones (the raw-only reference runs alone).
    let pairs: [&[QueueSide]; 4] = [
        &[RawPutLatency, OursEnqueueLatency],
        &[RawBatch, OursBatched],
        &[RawCondPut, OursUnbatched],
        &[RawPut32],
    ];
    let mut samples: HashMap<QueueSide, Vec<f64>> = HashMap::new();
    let mut p99: HashMap<QueueSide, Vec<f64>> = HashMap::new();
    for round in 0..bench.plan.rounds {
        let mut this_round = Vec::new();
        for pair in pairs {
            let mut pair = pair.to_vec();
            if round % 2 == 1 {
                pair.reverse();
            }
            this_round.extend(pair);
        }
        for side in this_round {
            let (store, table) = bench.fresh_store("queue").await;
            let table = Arc::new(table);
            let client = bench.client.clone();
            let (value, tail) = match side {
                RawPutLatency => {
                    let n = bench.plan.latency_events / 5;
                    let (_, lat) = run_concurrent(n, 1, move |i| {
                        let (client, table) = (client.clone(), table.clone());
                        async move { raw_put(&client, &table, raw_item(i, 0), true).await }
                    })
                    .await;
                    (
                        crate::stats::median(&lat),
                        Some(crate::stats::percentile(&lat, 99.0)),
                    )
                }
                OursEnqueueLatency => {
                    let n = bench.plan.latency_events;
                    let queue = AsyncQueue::start(&store, QueueOptions::default());
                    let qstore = store.with_persistor(queue.clone());
                    let mut lat = Vec::with_capacity(n);
                    for i in 0..n {
                        let event = phone_call(i, 0);
                        let t = Instant::now();
                        let outcome = event.store(&qstore).await.expect("enqueue");
                        lat.push(t.elapsed().as_secs_f64() * 1e6);
                        black_box(outcome);
                    }
                    queue.shutdown().await;
                    check_queue(&queue, n);
                    (
                        crate::stats::median(&lat),
                        Some(crate::stats::percentile(&lat, 99.0)),
                    )
                }
                RawBatch => {
                    let n = bench.plan.drain_events;
                    let chunks = n.div_ceil(25);
                    let (elapsed, _) = run_concurrent(chunks, qc, move |c| {
                        let (client, table) = (client.clone(), table.clone());
                        async move {
                            let items = (c * 25..((c + 1) * 25).min(n))
                                .map(|i| raw_item(i, 0))
                                .collect();
                            raw_batch(&client, &table, items).await
                        }
                    })
                    .await;
                    (per_sec(n, elapsed), None)
                }
                RawPut32 | RawCondPut => {
                    let n = bench.plan.drain_events / 2;
                    let (c, cond) = if side == RawPut32 {
                        (32, false)
                    } else {
                        (qc, true)
                    };
                    let (elapsed, _) = run_concurrent(n, c, move |i| {
                        let (client, table) = (client.clone(), table.clone());
                        async move { raw_put(&client, &table, raw_item(i, 0), cond).await }
                    })
                    .await;
                    (per_sec(n, elapsed), None)
                }
                OursBatched | OursUnbatched => {
                    let n = if side == OursBatched {
                        bench.plan.drain_events
                    } else {
                        bench.plan.drain_events / 2
                    };
                    let options = QueueOptions::default().batch_writes(side == OursBatched);
                    let started = Instant::now();
                    let queue = AsyncQueue::start(&store, options);
                    let qstore = store.with_persistor(queue.clone());
                    for i in 0..n {
                        let outcome = phone_call(i, 0).store(&qstore).await.expect("enqueue");
                        black_box(outcome);
                    }
                    queue.flush().await;
                    let elapsed = started.elapsed();
                    queue.shutdown().await;
                    check_queue(&queue, n);
                    (per_sec(n, elapsed), None)
                }
            };
            bench.drop_store(&store).await;
            progress(format!("queue round {round} {side:?}: {value:.1}"));
            samples.entry(side).or_default().push(value);
            if let Some(t) = tail {
                p99.entry(side).or_default().push(t);
            }
        }
    }
    let take = |m: &HashMap<QueueSide, Vec<f64>>, s| m.get(&s).cloned().unwrap_or_default();
    let qc_s = qc.to_string();
    vec![
        Row {
            scenario: "queue",
            work: "async enqueue latency, median: queue store() vs one conditional PutItem"
                .to_owned(),
            concurrency: "1".to_owned(),
            unit: "µs",
            higher_is_better: false,
            raw: take(&samples, RawPutLatency),
            ours: take(&samples, OursEnqueueLatency),
            target: None,
            note: None,
        },
        Row {
            scenario: "queue",
            work: "async enqueue latency, p99: queue store() vs one conditional PutItem".to_owned(),
            concurrency: "1".to_owned(),
            unit: "µs",
            higher_is_better: false,
            raw: take(&p99, RawPutLatency),
            ours: take(&p99, OursEnqueueLatency),
            target: None,
            note: None,
        },
        Row {
            scenario: "queue",
            work: "async drain (batched): enqueue N + flush vs raw BatchWriteItem×25".to_owned(),
            concurrency: qc_s.clone(),
            unit: "ev/s",
            higher_is_better: true,
            raw: take(&samples, RawBatch),
            ours: take(&samples, OursBatched),
            target: Some(0.9),
            note: None,
        },
        Row {
            scenario: "queue",
            work: "async drain (batched) vs raw PutItem (unconditional), reference".to_owned(),
            concurrency: format!("{qc} vs 32"),
            unit: "ev/s",
            higher_is_better: true,
            raw: take(&samples, RawPut32),
            ours: take(&samples, OursBatched),
            target: None,
            note: None,
        },
        Row {
            scenario: "queue",
            work: "async drain, batch_writes(false) vs raw conditional PutItem".to_owned(),
            concurrency: qc_s.clone(),
            unit: "ev/s",
            higher_is_better: true,
            raw: take(&samples, RawCondPut),
            ours: take(&samples, OursUnbatched),
            target: None,
            note: None,
        },
        Row {
            scenario: "queue",
            work: "async drain, batch_writes(false) vs raw BatchWriteItem×25 (why we batch)"
                .to_owned(),
            concurrency: qc_s,
            unit: "ev/s",
            higher_is_better: true,
            raw: take(&samples, RawBatch),
            ours: take(&samples, OursUnbatched),
            target: None,
            note: None,
        },
    ]
}

fn check_queue(queue: &AsyncQueue, n: usize) {
    let stats = queue.stats();
    assert!(
        stats.written + stats.duplicates == n as u64 && stats.failed == 0,
        "the queue did not write every event: {stats:?}"
    );
}

// ---------------------------------------------------------------------------------------
// 3. Query.

/// Ours: `PhoneCall::query().by_person_id(p).run(store)`, returning the number of events
/// (decoded into typed `StoredEvent<PhoneCall>`s). `Option` so that a backend without the
/// query builder can leave the row as a TODO.
async fn ours_query_run(store: &Store, person_id: u64) -> Option<usize> {
    let events = PhoneCall::query()
        .by_person_id(person_id)
        .run(store)
        .await
        .expect("query run");
    Some(black_box(events).len())
}

/// Ours: `PhoneCall::query().by_person_id(p).count(store)` (`Select=COUNT`, all pages).
async fn ours_query_count(store: &Store, person_id: u64) -> Option<u64> {
    Some(
        PhoneCall::query()
            .by_person_id(person_id)
            .count(store)
            .await
            .expect("query count"),
    )
}

/// Raw: a paginated Query of one partition, collecting every item.
async fn raw_query_run(client: &Client, table: &str, person_id: u64) -> usize {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .query()
            .table_name(table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "person_id")
            .expression_attribute_values(":pk", AttributeValue::N(person_id.to_string()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("raw Query");
        start = page.last_evaluated_key;
        items.extend(page.items.unwrap_or_default());
        if start.is_none() {
            return black_box(items).len();
        }
    }
}

/// Raw, typed: [`raw_query_run`] plus `serde_dynamo::from_items` into `PhoneCall`, what a
/// raw-SDK user who wants typed values would write.
async fn raw_query_run_decoded(client: &Client, table: &str, person_id: u64) -> usize {
    let mut events: Vec<PhoneCall> = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .query()
            .table_name(table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "person_id")
            .expression_attribute_values(":pk", AttributeValue::N(person_id.to_string()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("raw Query");
        start = page.last_evaluated_key;
        let decoded: Vec<PhoneCall> =
            serde_dynamo::from_items(page.items.unwrap_or_default()).expect("decode");
        events.extend(decoded);
        if start.is_none() {
            return black_box(events).len();
        }
    }
}

/// Raw: a paginated `Select=COUNT` Query of one partition, summed.
async fn raw_query_count(client: &Client, table: &str, person_id: u64) -> u64 {
    let mut total = 0u64;
    let mut start = None;
    loop {
        let page = client
            .query()
            .table_name(table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "person_id")
            .expression_attribute_values(":pk", AttributeValue::N(person_id.to_string()))
            .select(Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("raw Query COUNT");
        total += page.count as u64;
        start = page.last_evaluated_key;
        if start.is_none() {
            return total;
        }
    }
}

/// `run` and `count` over every partition of a 20k-item, 200-partition table, against the
/// raw paginated Query (and `Select=COUNT`), at concurrency 1 and 8.
pub async fn query(bench: &Bench) -> Vec<Row> {
    let plan = &bench.plan;
    let (store, table) = bench.fresh_store("query").await;
    let table = Arc::new(table);
    let partitions = plan.query_partitions;
    let per_partition = plan.query_items / partitions as usize;
    progress(format!(
        "loading {} items into {partitions} partitions",
        plan.query_items
    ));
    {
        let (client, table) = (bench.client.clone(), table.clone());
        let n = plan.query_items;
        run_concurrent(n.div_ceil(25), 8, move |c| {
            let (client, table) = (client.clone(), table.clone());
            async move {
                // Partition = i / per_partition, so every partition holds `per_partition` items.
                let items = (c * 25..((c + 1) * 25).min(n))
                    .map(|i| {
                        let mut item = raw_item(i, 0);
                        item.insert(
                            "person_id".to_owned(),
                            AttributeValue::N((i / per_partition).to_string()),
                        );
                        item
                    })
                    .collect();
                raw_batch(&client, &table, items).await
            }
        })
        .await;
    }
    // Both sides must see the same data.
    let expected = per_partition as u64;
    assert_eq!(
        raw_query_count(&bench.client, &table, 0).await,
        expected,
        "query table loaded"
    );
    let ours_available = ours_query_run(&store, 0).await.is_some();
    if let Some(count) = ours_query_count(&store, 0).await {
        assert_eq!(count, expected, "ours count");
    }

    let mut rows = Vec::new();
    for concurrency in [1usize, 8] {
        for counting in [false, true] {
            // 0 = raw, 1 = ours, 2 = raw + serde_dynamo decode into PhoneCall (run only).
            let (mut raw, mut ours, mut raw_decoded) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..plan.rounds {
                let mut kinds: Vec<u8> = if counting { vec![0, 1] } else { vec![0, 1, 2] };
                if round % 2 == 1 {
                    kinds.reverse();
                }
                for kind in kinds {
                    if kind == 1 && !ours_available {
                        continue;
                    }
                    let (client, table, store) =
                        (bench.client.clone(), table.clone(), store.clone());
                    let (elapsed, _) = run_concurrent(partitions as usize, concurrency, move |p| {
                        let (client, table, store) = (client.clone(), table.clone(), store.clone());
                        async move {
                            let p = p as u64;
                            let got = match (kind, counting) {
                                (0, false) => raw_query_run(&client, &table, p).await as u64,
                                (0, true) => raw_query_count(&client, &table, p).await,
                                (1, false) => ours_query_run(&store, p).await.unwrap_or(0) as u64,
                                (1, true) => ours_query_count(&store, p).await.unwrap_or(0),
                                _ => raw_query_run_decoded(&client, &table, p).await as u64,
                            };
                            assert_eq!(got, expected, "partition {p}");
                        }
                    })
                    .await;
                    // run: items/s; count: Select=COUNT queries/s.
                    let rate = if counting {
                        per_sec(partitions as usize, elapsed)
                    } else {
                        per_sec(plan.query_items, elapsed)
                    };
                    progress(format!(
                        "query {} c={concurrency} round {round} {}: {rate:.0}",
                        if counting { "count" } else { "run" },
                        ["raw", "ours", "raw+decode"][kind as usize]
                    ));
                    [&mut raw, &mut ours, &mut raw_decoded][kind as usize].push(rate);
                }
            }
            if !counting {
                rows.push(Row {
                    scenario: "query",
                    work: format!(
                        "query run(), {partitions} partitions × {per_partition} vs raw paginated Query + serde_dynamo decode"
                    ),
                    concurrency: concurrency.to_string(),
                    unit: "items/s",
                    higher_is_better: true,
                    raw: raw_decoded,
                    ours: ours.clone(),
                    target: None,
                    note: None,
                });
            }
            rows.push(Row {
                scenario: "query",
                work: if counting {
                    format!("query count(), {partitions} partitions × {per_partition} vs raw Select=COUNT Query")
                } else {
                    format!("query run(), {partitions} partitions × {per_partition} vs raw paginated Query")
                },
                concurrency: concurrency.to_string(),
                unit: if counting { "queries/s" } else { "items/s" },
                higher_is_better: true,
                raw,
                ours,
                target: Some(0.9),
                note: (!ours_available).then(|| {
                    "the query builder (issue 5) is not on this branch yet: the eventosaurus side is a TODO in \
                     eventosaurus-bench/src/scenarios.rs (ours_query_run / ours_query_count)"
                        .to_owned()
                }),
            });
        }
    }
    bench.drop_store(&store).await;
    rows
}
