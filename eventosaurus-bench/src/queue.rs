//! The async-queue scenario: enqueue latency and sustained drain of the [`AsyncQueue`]
//! against the raw SDK's best puts.
//!
//! Each round runs every side once, each on a fresh table. The two sides of a comparison run
//! back to back, raw first in even rounds and ours first in odd ones (the raw-only reference
//! runs alone).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use eventosaurus::persist::{AsyncQueue, QueueOptions};
use eventosaurus::{Storable, Store};

use crate::report::Row;
use crate::scenarios::{
    per_sec, phone_call, progress, raw_batch_write, raw_item, raw_put, run_concurrent, Bench,
};
use crate::stats::{median, percentile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
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

use Side::*;

/// The comparisons, each run back to back within a round.
const PAIRS: [&[Side]; 4] = [
    &[RawPutLatency, OursEnqueueLatency],
    &[RawBatch, OursBatched],
    &[RawCondPut, OursUnbatched],
    &[RawPut32],
];

/// One side's sample: a median latency (with its p99) or a throughput.
struct Sample {
    value: f64,
    p99: Option<f64>,
}

/// Enqueue latency and sustained drain of the [`AsyncQueue`] against the raw SDK's best puts.
pub async fn async_queue(bench: &Bench) -> Vec<Row> {
    let mut samples: HashMap<Side, Vec<f64>> = HashMap::new();
    let mut p99: HashMap<Side, Vec<f64>> = HashMap::new();
    for round in 0..bench.plan.rounds {
        for pair in PAIRS {
            let mut pair = pair.to_vec();
            if round % 2 == 1 {
                pair.reverse();
            }
            for side in pair {
                let (store, table) = bench.fresh_store("queue").await;
                let sample = run_side(bench, side, &store, Arc::new(table)).await;
                bench.drop_store(&store).await;
                progress(format!("queue round {round} {side:?}: {:.1}", sample.value));
                samples.entry(side).or_default().push(sample.value);
                if let Some(tail) = sample.p99 {
                    p99.entry(side).or_default().push(tail);
                }
            }
        }
    }
    rows(&samples, &p99)
}

async fn run_side(bench: &Bench, side: Side, store: &Store, table: Arc<String>) -> Sample {
    let plan = &bench.plan;
    let queue_concurrency = QueueOptions::default().concurrency;
    let throughput = |value| Sample { value, p99: None };
    match side {
        RawPutLatency => raw_put_latency(bench, table, plan.latency_events / 5).await,
        OursEnqueueLatency => enqueue_latency(store, plan.latency_events).await,
        RawBatch => throughput(raw_batch_drain(bench, table, plan.drain_events).await),
        RawPut32 => throughput(raw_put_drain(bench, table, plan.drain_events / 2, 32, false).await),
        RawCondPut => throughput(
            raw_put_drain(bench, table, plan.drain_events / 2, queue_concurrency, true).await,
        ),
        OursBatched => throughput(queue_drain(store, plan.drain_events, true).await),
        OursUnbatched => throughput(queue_drain(store, plan.drain_events / 2, false).await),
    }
}

fn latencies(lat: &[f64]) -> Sample {
    Sample {
        value: median(lat),
        p99: Some(percentile(lat, 99.0)),
    }
}

/// `n` conditional PutItems one after the other: their latencies in µs.
async fn raw_put_latency(bench: &Bench, table: Arc<String>, n: usize) -> Sample {
    let client = bench.client.clone();
    let (_, lat) = run_concurrent(n, 1, move |i| {
        let (client, table) = (client.clone(), table.clone());
        async move { raw_put(&client, &table, raw_item(i, 0), true).await }
    })
    .await;
    latencies(&lat)
}

/// `n` calls of `store` on a queue with the default options: their latencies in µs.
async fn enqueue_latency(store: &Store, n: usize) -> Sample {
    let queue = AsyncQueue::start(store, QueueOptions::default());
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
    latencies(&lat)
}

/// `n` items in BatchWriteItems of 25 at the queue's concurrency: items per second.
async fn raw_batch_drain(bench: &Bench, table: Arc<String>, n: usize) -> f64 {
    let concurrency = QueueOptions::default().concurrency;
    let elapsed = raw_batch_write(&bench.client, table, n, concurrency, |i| raw_item(i, 0)).await;
    per_sec(n, elapsed)
}

/// `n` PutItems (`conditional` or not) at `concurrency`: items per second.
async fn raw_put_drain(
    bench: &Bench,
    table: Arc<String>,
    n: usize,
    concurrency: usize,
    conditional: bool,
) -> f64 {
    let client = bench.client.clone();
    let (elapsed, _) = run_concurrent(n, concurrency, move |i| {
        let (client, table) = (client.clone(), table.clone());
        async move { raw_put(&client, &table, raw_item(i, 0), conditional).await }
    })
    .await;
    per_sec(n, elapsed)
}

/// `n` events enqueued from one task, then `flush()`: events per second until flushed.
async fn queue_drain(store: &Store, n: usize, batch_writes: bool) -> f64 {
    let options = QueueOptions::default().batch_writes(batch_writes);
    let started = Instant::now();
    let queue = AsyncQueue::start(store, options);
    let qstore = store.with_persistor(queue.clone());
    for i in 0..n {
        let outcome = phone_call(i, 0).store(&qstore).await.expect("enqueue");
        black_box(outcome);
    }
    queue.flush().await;
    let elapsed = started.elapsed();
    queue.shutdown().await;
    check_queue(&queue, n);
    per_sec(n, elapsed)
}

fn check_queue(queue: &AsyncQueue, n: usize) {
    let stats = queue.stats();
    assert!(
        stats.written + stats.duplicates == n as u64 && stats.failed == 0,
        "the queue did not write every event: {stats:?}"
    );
}

fn rows(samples: &HashMap<Side, Vec<f64>>, p99: &HashMap<Side, Vec<f64>>) -> Vec<Row> {
    let take = |m: &HashMap<Side, Vec<f64>>, s| m.get(&s).cloned().unwrap_or_default();
    let qc = QueueOptions::default().concurrency.to_string();
    let row = |work: &str, concurrency: String, unit, raw, ours, target| Row {
        scenario: "queue",
        work: work.to_owned(),
        concurrency,
        unit,
        higher_is_better: unit == "ev/s",
        raw,
        ours,
        target,
        note: None,
    };
    vec![
        row(
            "async enqueue latency, median: queue store() vs one conditional PutItem",
            "1".to_owned(),
            "µs",
            take(samples, RawPutLatency),
            take(samples, OursEnqueueLatency),
            None,
        ),
        row(
            "async enqueue latency, p99: queue store() vs one conditional PutItem",
            "1".to_owned(),
            "µs",
            take(p99, RawPutLatency),
            take(p99, OursEnqueueLatency),
            None,
        ),
        row(
            "async drain (batched): enqueue N + flush vs raw BatchWriteItem×25",
            qc.clone(),
            "ev/s",
            take(samples, RawBatch),
            take(samples, OursBatched),
            Some(0.9),
        ),
        row(
            "async drain (batched) vs raw PutItem (unconditional), reference",
            format!("{qc} vs 32"),
            "ev/s",
            take(samples, RawPut32),
            take(samples, OursBatched),
            None,
        ),
        row(
            "async drain, batch_writes(false) vs raw conditional PutItem",
            qc.clone(),
            "ev/s",
            take(samples, RawCondPut),
            take(samples, OursUnbatched),
            None,
        ),
        row(
            "async drain, batch_writes(false) vs raw BatchWriteItem×25 (why we batch)",
            qc,
            "ev/s",
            take(samples, RawBatch),
            take(samples, OursUnbatched),
            None,
        ),
    ]
}
