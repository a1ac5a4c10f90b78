//! The stream consumer against a real DynamoDB Local: typed, pattern and default handlers,
//! order per partition key, retries and `on_error`, starting points, the event limit.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventosaurus::consume::{Consumer, RawEvent, StartingPosition};
use eventosaurus::table::{self, Billing};
use eventosaurus::{Storable, Store, StoreOutcome, StoredEvent};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::local::test_store;

/// A third event type whose table matches the `phone_*` pattern.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "phone_text", partition_key = person_id, custom_on_error)]
pub struct PhoneText {
    pub person_id: u64,
    pub text: String,
}

/// Texts whose handler failed for good, as seen by the type's `on_error` hook.
static FAILED_TEXTS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

impl eventosaurus::OnError for PhoneText {
    fn on_error(&self, error: &eventosaurus::Error) {
        FAILED_TEXTS
            .lock()
            .unwrap()
            .push((self.text.clone(), error.to_string()));
    }
}

async fn tables(store: &Store) {
    table::create_tables(
        store,
        [PhoneCall::TABLE, NeatEvent::TABLE, PhoneText::TABLE],
        Billing::OnDemand,
    )
    .await
    .expect("create tables");
}

/// Waits (polling) until `done` holds, at most `timeout`.
async fn until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Seen {
    handler: &'static str,
    table: String,
    key: String,
    event_uuid: String,
    created_at: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn raw_seen(handler: &'static str, event: &RawEvent) -> Seen {
    let key = match (event.item.get("person_id"), event.item.get("location")) {
        (Some(aws_sdk_dynamodb::types::AttributeValue::N(n)), _) => n.clone(),
        (_, Some(aws_sdk_dynamodb::types::AttributeValue::S(s))) => s.clone(),
        _ => "?".to_owned(),
    };
    Seen {
        handler,
        table: event.table.clone(),
        key,
        event_uuid: event.event_uuid().expect("event_uuid").to_string(),
        created_at: event.created_at().expect("created_at").to_owned(),
    }
}

/// Stores `n` events of each of the writer's partition keys, in order, one key after another
/// interleaved: returns (table, key, event_uuid) of each.
async fn write_events(store: Store, writer: u64, rounds: u64) -> Vec<(String, String, String)> {
    let mut written = Vec::new();
    for round in 0..rounds {
        let person_id = writer * 10 + round % 3;
        let location = format!("site-{writer}-{}", round % 2);
        let (table, key, outcome) = match round % 10 {
            0..=3 => (
                "phone_call",
                person_id.to_string(),
                PhoneCall {
                    person_id,
                    phone_number: format!("555-{writer}-{round}"),
                    last_called: "2026-11-25".into(),
                }
                .store(&store)
                .await,
            ),
            4..=6 => (
                "phone_text",
                person_id.to_string(),
                PhoneText {
                    person_id,
                    text: format!("hello {writer}-{round}"),
                }
                .store(&store)
                .await,
            ),
            _ => (
                "neat_event",
                location.clone(),
                NeatEvent {
                    location,
                    employee_name: format!("writer {writer}"),
                    employee_action: format!("action {round}"),
                }
                .store(&store)
                .await,
            ),
        };
        let outcome = outcome.expect("store");
        assert!(
            matches!(outcome, StoreOutcome::Stored { .. }),
            "{outcome:?}"
        );
        written.push((table.to_owned(), key, outcome.event_uuid().to_string()));
    }
    written
}

/// Done-when 1: 2,000 events of 3 types stored while a consumer runs: each handled exactly
/// once, in `created_at` order per partition key, and each handler gets exactly its events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_once_in_order_to_the_most_specific_handler() {
    let store = test_store("consume-2000").await;
    tables(&store).await;
    let log: Log = Arc::default();
    let (typed_log, pattern_log, default_log) = (log.clone(), log.clone(), log.clone());
    let consumer = Consumer::builder(&store)
        .on(move |call: StoredEvent<PhoneCall>| {
            let log = typed_log.clone();
            async move {
                log.lock().unwrap().push(Seen {
                    handler: "typed",
                    table: "phone_call".into(),
                    key: call.person_id.to_string(),
                    event_uuid: call.event_uuid.to_string(),
                    created_at: call.created_at.to_string(),
                });
                Ok(())
            }
        })
        .on_table("phone_*", move |event: RawEvent| {
            let log = pattern_log.clone();
            async move {
                log.lock().unwrap().push(raw_seen("pattern", &event));
                Ok(())
            }
        })
        .unwrap()
        .on_any(move |event: RawEvent| {
            let log = default_log.clone();
            async move {
                log.lock().unwrap().push(raw_seen("default", &event));
                Ok(())
            }
        })
        .tables([PhoneCall::TABLE, NeatEvent::TABLE, PhoneText::TABLE])
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let consumer = Arc::new(consumer);
    let running = tokio::spawn({
        let consumer = consumer.clone();
        async move { consumer.run().await }
    });

    let writers: Vec<_> = (0..8)
        .map(|w| tokio::spawn(write_events(store.clone(), w, 250)))
        .collect();
    let mut written = Vec::new();
    for writer in writers {
        written.extend(writer.await.unwrap());
    }
    assert_eq!(written.len(), 2000);
    until(Duration::from_secs(60), "2,000 handled events", || {
        log.lock().unwrap().len() >= 2000
    })
    .await;
    // A little longer: a duplicate delivery would show up now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    consumer.shutdown_handle().shutdown();
    let stats = running.await.unwrap().expect("consumer run");

    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 2000, "each event handled exactly once");
    let ids: HashSet<&str> = seen.iter().map(|s| s.event_uuid.as_str()).collect();
    assert_eq!(ids.len(), 2000, "no event handled twice");
    let expected_handler = |table: &str| match table {
        "phone_call" => "typed",
        "phone_text" => "pattern",
        _ => "default",
    };
    let by_id: HashMap<&str, &Seen> = seen.iter().map(|s| (s.event_uuid.as_str(), s)).collect();
    for (table, key, id) in &written {
        let s = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("{table} {id} not handled"));
        assert_eq!(&s.table, table);
        assert_eq!(&s.key, key);
        assert_eq!(
            s.handler,
            expected_handler(table),
            "{table} went to {}",
            s.handler
        );
    }
    // Handling order per partition key follows created_at.
    let mut last: HashMap<(String, String), String> = HashMap::new();
    for s in &seen {
        let entry = last.entry((s.table.clone(), s.key.clone())).or_default();
        assert!(
            *entry <= s.created_at,
            "{} {}: {} handled after {}",
            s.table,
            s.key,
            s.created_at,
            entry
        );
        *entry = s.created_at.clone();
    }
    assert_eq!(stats.records, 2000);
    assert_eq!(stats.handled, 2000);
    assert_eq!((stats.failed, stats.retried, stats.unmatched), (0, 0, 0));
    assert_eq!(
        stats.shards.len(),
        3,
        "one shard per table on DynamoDB Local"
    );
    assert!(stats
        .shards
        .values()
        .all(|s| !s.active && s.lag_ms.is_some()));
}

/// Done-when 4: a handler failing for one event: retried, then `on_error`, and the rest of
/// the shard flows on. Unmatched tables are counted and skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_event_is_retried_then_reported_and_skipped() {
    let store = test_store("consume-poison").await;
    tables(&store).await;
    for i in 0..10 {
        let text = if i == 4 {
            "poison".to_owned()
        } else {
            format!("text {i}")
        };
        PhoneText { person_id: 7, text }
            .store(&store)
            .await
            .unwrap();
    }
    NeatEvent {
        location: "nowhere".into(),
        employee_name: "nobody".into(),
        employee_action: "nothing".into(),
    }
    .store(&store)
    .await
    .unwrap();
    let attempts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let handled: Arc<Mutex<Vec<String>>> = Arc::default();
    let dead: Arc<Mutex<Vec<String>>> = Arc::default();
    let consumer = Consumer::builder(&store)
        .on({
            let (attempts, handled) = (attempts.clone(), handled.clone());
            move |text: StoredEvent<PhoneText>| {
                let (attempts, handled) = (attempts.clone(), handled.clone());
                async move {
                    *attempts
                        .lock()
                        .unwrap()
                        .entry(text.text.clone())
                        .or_default() += 1;
                    if text.text == "poison" {
                        return Err("cannot digest this one".into());
                    }
                    handled.lock().unwrap().push(text.text.clone());
                    Ok(())
                }
            }
        })
        .dead_letter({
            let dead = dead.clone();
            move |event, error| {
                assert!(matches!(
                    error,
                    eventosaurus::Error::HandlerFailed { attempts: 3, .. }
                ));
                dead.lock()
                    .unwrap()
                    .push(event.decode::<PhoneText>().unwrap().text.clone());
            }
        })
        .table(NeatEvent::TABLE)
        .retry(3, Duration::from_millis(10))
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let consumer = Arc::new(consumer);
    let running = tokio::spawn({
        let consumer = consumer.clone();
        async move { consumer.run().await }
    });
    until(Duration::from_secs(30), "9 texts handled", || {
        handled.lock().unwrap().len() >= 9 && consumer.stats().unmatched == 1
    })
    .await;
    consumer.shutdown_handle().shutdown();
    let stats = running.await.unwrap().unwrap();
    let expected: Vec<String> = (0..10)
        .filter(|i| *i != 4)
        .map(|i| format!("text {i}"))
        .collect();
    assert_eq!(
        *handled.lock().unwrap(),
        expected,
        "the rest flows on, in order"
    );
    assert_eq!(attempts.lock().unwrap()["poison"], 3);
    let failed: Vec<_> = FAILED_TEXTS
        .lock()
        .unwrap()
        .iter()
        .filter(|(text, _)| text == "poison")
        .cloned()
        .collect();
    assert_eq!(failed.len(), 1, "on_error called once: {failed:?}");
    assert!(
        failed[0].1.contains("cannot digest this one"),
        "{}",
        failed[0].1
    );
    assert_eq!(*dead.lock().unwrap(), ["poison"]);
    assert_eq!(
        (stats.handled, stats.retried, stats.failed, stats.unmatched),
        (9, 2, 1, 1)
    );
}

/// A timestamp start delivers the first record at or after it and everything after; `limit`
/// stops after exactly that many events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamp_start_and_limit() {
    let store = test_store("consume-at").await;
    tables(&store).await;
    for i in 0..5 {
        PhoneCall {
            person_id: 1,
            phone_number: format!("before {i}"),
            last_called: String::new(),
        }
        .store(&store)
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let start = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    for i in 0..5 {
        PhoneCall {
            person_id: 1,
            phone_number: format!("after {i}"),
            last_called: String::new(),
        }
        .store(&store)
        .await
        .unwrap();
    }
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let consumer = Consumer::builder(&store)
        .on({
            let seen = seen.clone();
            move |call: StoredEvent<PhoneCall>| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(call.phone_number.clone());
                    Ok(())
                }
            }
        })
        .start_at(StartingPosition::At(start))
        .limit(3)
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let stats = tokio::time::timeout(Duration::from_secs(30), consumer.run())
        .await
        .expect("the limit stops the consumer")
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["after 0", "after 1", "after 2"]);
    assert_eq!(stats.handled, 3);
    assert_eq!(stats.skipped, 5);
}

/// A table without a stream is refused with a message that says what to do.
#[tokio::test]
async fn a_table_without_stream_is_an_error() {
    let store = test_store("consume-nostream").await;
    table::create_table_with_stream(&store, PhoneCall::TABLE, Billing::OnDemand, None)
        .await
        .unwrap();
    let consumer = Consumer::builder(&store)
        .on(|_: StoredEvent<PhoneCall>| async { Ok(()) })
        .build()
        .unwrap();
    let error = consumer.run().await.unwrap_err();
    assert!(
        matches!(error, eventosaurus::Error::StreamNotEnabled { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("--enable-streams"));
    // Turning it on makes the table consumable.
    let outcome = eventosaurus::consume::enable_stream(&store, PhoneCall::TABLE)
        .await
        .unwrap();
    assert_eq!(outcome, eventosaurus::consume::EnableStreamOutcome::Enabled);
    let live = table::describe_table(&store, PhoneCall::TABLE)
        .await
        .unwrap()
        .unwrap();
    assert!(table::drift(
        &PhoneCall::TABLE.spec(store.environment_prefix(), Billing::OnDemand),
        Some(&live)
    )
    .is_empty());
    PhoneCall {
        person_id: 3,
        phone_number: "x".into(),
        last_called: String::new(),
    }
    .store(&store)
    .await
    .unwrap();
    let consumer = Consumer::builder(&store)
        .on(|_: StoredEvent<PhoneCall>| async { Ok(()) })
        .limit(1)
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let stats = tokio::time::timeout(Duration::from_secs(30), consumer.run())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stats.handled, 1);
}

/// `dedup_window` drops a second record with the same `event_uuid` (here an item written
/// twice by a raw writer: INSERT, then MODIFY); without it both are handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_window_drops_repeats_of_an_event_uuid() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let store = test_store("consume-dedup").await;
    tables(&store).await;
    let id = eventosaurus::Uuid::new_v4().to_string();
    for number in ["first", "second"] {
        store
            .client()
            .expect("a DynamoDB store")
            .put_item()
            .table_name(store.table_name(PhoneCall::TABLE))
            .item("person_id", AttributeValue::N("9".into()))
            .item("event_uuid", AttributeValue::S(id.clone()))
            .item(
                "created_at",
                AttributeValue::S("2026-11-25T10:00:00.000Z".into()),
            )
            .item("phone_number", AttributeValue::S(number.into()))
            .item("last_called", AttributeValue::S(String::new()))
            .send()
            .await
            .unwrap();
    }
    PhoneCall {
        person_id: 9,
        phone_number: "third".into(),
        last_called: String::new(),
    }
    .store(&store)
    .await
    .unwrap();
    for dedup in [true, false] {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = seen.clone();
        let mut builder = Consumer::builder(&store)
            .on(move |call: StoredEvent<PhoneCall>| {
                sink.lock().unwrap().push(call.phone_number.clone());
                async { Ok(()) }
            })
            .poll_interval(Duration::from_millis(50));
        if dedup {
            builder = builder.dedup_window(Duration::from_secs(60));
        }
        let consumer = Arc::new(builder.build().unwrap());
        let running = tokio::spawn({
            let consumer = consumer.clone();
            async move { consumer.run().await }
        });
        until(Duration::from_secs(30), "the third call", || {
            seen.lock().unwrap().contains(&"third".to_owned())
        })
        .await;
        consumer.shutdown_handle().shutdown();
        let stats = running.await.unwrap().unwrap();
        if dedup {
            assert_eq!(*seen.lock().unwrap(), ["first", "third"]);
            assert_eq!((stats.handled, stats.deduplicated), (2, 1));
        } else {
            assert_eq!(*seen.lock().unwrap(), ["first", "second", "third"]);
            assert_eq!((stats.handled, stats.deduplicated), (3, 0));
        }
    }
}
