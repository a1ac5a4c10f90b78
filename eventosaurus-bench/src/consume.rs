//! The `consume` scenario: the stream consumer against a raw GetRecords loop on the same
//! stream (throughput), and store-to-handler latency at a stated poll interval.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_dynamodbstreams::Client as StreamsClient;
use eventosaurus::consume::{Consumer, StartingPosition};
use eventosaurus::{Storable, Store, StoredEvent};
use eventosaurus_testkit::events::PhoneCall;

use crate::report::Row;
use crate::scenarios::{order, phone_call, progress, raw_batch_write, raw_item, Bench};
use crate::stats::percentile;

/// The poll interval of the latency rounds (both sides), the consumer's default.
const POLL: Duration = Duration::from_millis(250);

fn streams_client(store: &Store) -> StreamsClient {
    StreamsClient::new(store.sdk_config().expect("a store built by Store::connect"))
}

/// The table's only shard (DynamoDB Local has one per table) and its stream.
async fn the_shard(store: &Store, streams: &StreamsClient) -> (String, String) {
    let table = store
        .client()
        .expect("a DynamoDB store")
        .describe_table()
        .table_name(store.table_name(PhoneCall::TABLE))
        .send()
        .await
        .expect("DescribeTable")
        .table
        .expect("table");
    let arn = table.latest_stream_arn().expect("a stream").to_owned();
    let description = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .expect("DescribeStream")
        .stream_description
        .expect("description");
    let shard = description.shards()[0]
        .shard_id()
        .expect("shard id")
        .to_owned();
    (arn, shard)
}

/// The raw side: GetShardIterator(TRIM_HORIZON), then GetRecords (1,000 a call) until `n`
/// records were read; with `decode`, each new image through `serde_dynamo::from_item`.
async fn raw_read(
    streams: &StreamsClient,
    arn: &str,
    shard: &str,
    n: usize,
    decode: bool,
) -> usize {
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("GetShardIterator")
        .shard_iterator;
    let mut read = 0;
    while read < n {
        let out = streams
            .get_records()
            .shard_iterator(iterator.take().expect("open shard"))
            .limit(1000)
            .send()
            .await
            .expect("GetRecords");
        for record in out.records.unwrap_or_default() {
            if decode {
                let image = record
                    .dynamodb
                    .and_then(|d| d.new_image)
                    .expect("new image");
                let call: PhoneCall = serde_dynamo::from_item(image).expect("decode");
                std::hint::black_box(call);
            }
            read += 1;
        }
        iterator = out.next_shard_iterator;
    }
    read
}

/// Ours: a consumer with a typed handler, from the oldest record, stopping after `n` events.
async fn ours_read(store: &Store, n: usize) -> u64 {
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    let consumer = Consumer::builder(store)
        .on(move |call: StoredEvent<PhoneCall>| {
            std::hint::black_box(&call);
            seen.fetch_add(1, Ordering::Relaxed);
            async { Ok(()) }
        })
        .start_at(StartingPosition::TrimHorizon)
        .limit(n as u64)
        .build()
        .expect("consumer");
    consumer.run().await.expect("consumer run");
    count.load(Ordering::Relaxed)
}

/// Milliseconds from `created_at` to now.
fn age_ms(created_at: &str) -> f64 {
    let at = chrono::DateTime::parse_from_rfc3339(created_at).expect("created_at");
    (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
        .num_microseconds()
        .unwrap_or(0) as f64
        / 1000.0
}

/// Store-to-handler latency, ours: a consumer at LATEST with [`POLL`]; `n` events stored one
/// every 20 ms. Returns each event's age when its handler ran.
async fn ours_latency(store: &Store, n: usize) -> Vec<f64> {
    let ages: Arc<Mutex<Vec<f64>>> = Arc::default();
    let sink = ages.clone();
    let consumer = Arc::new(
        Consumer::builder(store)
            .on(move |call: StoredEvent<PhoneCall>| {
                sink.lock()
                    .unwrap()
                    .push(age_ms(&call.created_at.to_string()));
                async { Ok(()) }
            })
            .start_at(StartingPosition::Latest)
            .poll_interval(POLL)
            .limit(n as u64)
            .build()
            .expect("consumer"),
    );
    let running = tokio::spawn({
        let consumer = consumer.clone();
        async move { consumer.run().await }
    });
    // The consumer reads from LATEST: give it time to take its iterator before storing.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for i in 0..n {
        phone_call(i, 0).store(store).await.expect("store");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.await.expect("join").expect("consumer run");
    let ages = ages.lock().unwrap().clone();
    ages
}

/// Store-to-handler latency, raw: a GetRecords loop from LATEST pausing [`POLL`] after an
/// empty read, decoding each new image.
async fn raw_latency(store: &Store, streams: &StreamsClient, n: usize) -> Vec<f64> {
    let (arn, shard) = the_shard(store, streams).await;
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::Latest)
        .send()
        .await
        .expect("GetShardIterator")
        .shard_iterator;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            for i in 0..n {
                phone_call(i, 0).store(&store).await.expect("store");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut ages = Vec::with_capacity(n);
    let mut last_report = Instant::now();
    while ages.len() < n {
        if last_report.elapsed() > Duration::from_secs(10) {
            progress(format!(
                "raw latency: {} of {n} records after 10 s more (writer finished: {})",
                ages.len(),
                writer.is_finished()
            ));
            last_report = Instant::now();
        }
        let out = streams
            .get_records()
            .shard_iterator(iterator.take().expect("open shard"))
            .send()
            .await
            .expect("GetRecords");
        let records = out.records.unwrap_or_default();
        let empty = records.is_empty();
        for record in records {
            let image = record
                .dynamodb
                .and_then(|d| d.new_image)
                .expect("new image");
            let stored: std::collections::HashMap<String, serde_json::Value> =
                serde_dynamo::from_item(image).expect("decode");
            ages.push(age_ms(stored["created_at"].as_str().expect("created_at")));
        }
        iterator = out.next_shard_iterator;
        if empty {
            tokio::time::sleep(POLL).await;
        }
    }
    writer.await.expect("writer");
    ages
}

/// Consumer throughput against raw GetRecords loops on the same stream, then latency.
pub async fn consume(bench: &Bench) -> Vec<Row> {
    let plan = &bench.plan;
    let n = plan.query_items / if plan.rounds <= 2 { 10 } else { 1 };
    let (store, table) = bench.fresh_store("consume").await;
    progress(format!(
        "loading {n} items (their stream records are the work)"
    ));
    raw_batch_write(&bench.client, Arc::new(table.clone()), n, 8, |i| {
        raw_item(i, 0)
    })
    .await;
    let streams = streams_client(&store);
    let (arn, shard) = the_shard(&store, &streams).await;
    let (mut raw, mut raw_decoded, mut ours) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..plan.rounds {
        // Alternate which side reads first, round by round.
        let ours_first = order(round)[0];
        {
            for kind in if ours_first { [2, 0, 1] } else { [0, 1, 2] } {
                let t = Instant::now();
                let read = match kind {
                    0 => raw_read(&streams, &arn, &shard, n, false).await as u64,
                    1 => raw_read(&streams, &arn, &shard, n, true).await as u64,
                    _ => ours_read(&store, n).await,
                };
                assert_eq!(read, n as u64, "every record read");
                let rate = n as f64 / t.elapsed().as_secs_f64();
                progress(format!(
                    "consume round {round}: {} {rate:.0} records/s",
                    ["raw", "raw+decode", "ours"][kind]
                ));
                [&mut raw, &mut raw_decoded, &mut ours][kind].push(rate);
            }
        }
    }
    let mut rows = vec![
        Row {
            scenario: "consume",
            work: format!("consumer (typed handler) reading {n} records from TRIM_HORIZON vs raw GetRecords loop (1,000/call)"),
            concurrency: "1 shard".to_owned(),
            unit: "records/s",
            higher_is_better: true,
            raw,
            ours: ours.clone(),
            target: Some(0.9),
            note: Some("ours includes DescribeTable, DescribeStream and GetShardIterator; the raw loop starts from a known shard".to_owned()),
        },
        Row {
            scenario: "consume",
            work: format!("consumer (typed handler) reading {n} records vs raw GetRecords loop + serde_dynamo decode"),
            concurrency: "1 shard".to_owned(),
            unit: "records/s",
            higher_is_better: true,
            raw: raw_decoded,
            ours,
            target: None,
            note: None,
        },
    ];
    bench.drop_store(&store).await;

    let events = if plan.rounds <= 2 { 50 } else { 200 };
    let (mut raw_p50, mut raw_p99, mut ours_p50, mut ours_p99) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..plan.rounds {
        for ours_first in order(round) {
            let (store, _) = bench.fresh_store("latency").await;
            let side = async {
                if ours_first {
                    ours_latency(&store, events).await
                } else {
                    raw_latency(&store, &streams_client(&store), events).await
                }
            };
            let Ok(ages) = tokio::time::timeout(Duration::from_secs(120), side).await else {
                progress(format!(
                    "latency round {round}: {} did not finish within 120 s; round skipped",
                    if ours_first { "ours" } else { "raw" }
                ));
                bench.drop_store(&store).await;
                continue;
            };
            assert_eq!(ages.len(), events);
            let (p50, p99) = (percentile(&ages, 50.0), percentile(&ages, 99.0));
            progress(format!(
                "latency round {round}: {} p50 {p50:.0} ms, p99 {p99:.0} ms",
                if ours_first { "ours" } else { "raw" }
            ));
            if ours_first {
                ours_p50.push(p50);
                ours_p99.push(p99);
            } else {
                raw_p50.push(p50);
                raw_p99.push(p99);
            }
            bench.drop_store(&store).await;
        }
    }
    for (label, raw, ours) in [("p50", raw_p50, ours_p50), ("p99", raw_p99, ours_p99)] {
        rows.push(Row {
            scenario: "consume",
            work: format!(
                "store-to-handler latency {label} ({events} events, one per 20 ms; poll interval {} ms) vs raw GetRecords loop, same poll",
                POLL.as_millis()
            ),
            concurrency: "1 shard".to_owned(),
            unit: "ms",
            higher_is_better: false,
            raw,
            ours,
            target: None,
            note: None,
        });
    }
    rows
}
