//! Trust under faults, against a real DynamoDB Local through the fault proxy of the test
//! helper (no mocked SDK): a bad event fails alone, a lost response is `Stored` and never a
//! `Duplicate`, a stalled attempt is retried, `flush` waits for exactly what came before it,
//! panicking hooks, cancelled stores and shutdown keep the counters exact.
//!
//! Every figure is read back from DynamoDB and printed with `eprintln!`
//! (`cargo test --test queue_faults -- --nocapture` shows them).

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use eventosaurus::persist::{
    AsyncQueue, EventWrite, PersistFuture, Persistor, QueueOptions, QueueStats,
};
use eventosaurus::table::{create_tables, Billing};
use eventosaurus::{Error, OnError, Storable, Store, StoreOutcome, Uuid};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::fault_proxy::{Fault, FaultProxy};
use eventosaurus_testkit::local::{count_items, endpoint, store_at, unique_prefix};
use serde::{Deserialize, Serialize};

/// Every test stops by itself within this.
const LIMIT: Duration = Duration::from_secs(180);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}"))
}

/// A reading with a float: NaN is something DynamoDB refuses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "reading", partition_key = sensor)]
struct Reading {
    sensor: u64,
    seq: u64,
    value: f64,
}

/// An event whose own failure hook panics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "fragile", partition_key = id, custom_on_error)]
struct Fragile {
    id: u64,
}

impl OnError for Fragile {
    fn on_error(&self, _error: &Error) {
        panic!(
            "the on_error hook of Fragile {} panics (on purpose)",
            self.id
        );
    }
}

/// A proxy in front of the shared DynamoDB Local, and a store through it with its own
/// environment prefix and the tables of `defs`.
async fn setup(name: &str, defs: &[&'static eventosaurus::TableDef]) -> (FaultProxy, Store) {
    let proxy = FaultProxy::start(endpoint()).await;
    let store = store_at(&proxy.endpoint(), &unique_prefix(name)).await;
    create_tables(&store, defs.iter().copied(), Billing::OnDemand)
        .await
        .expect("create the test tables");
    (proxy, store)
}

/// A store-wide hook that records each failed event (once) and its error.
type Failures = Arc<Mutex<Vec<(Uuid, String)>>>;

fn recording(store: &Store) -> (Store, Failures) {
    let failures: Failures = Arc::default();
    let seen = failures.clone();
    let store = store.with_error_hook(move |failed, error| {
        seen.lock()
            .unwrap()
            .push((failed.event_uuid, format!("{error:?}")));
    });
    (store, failures)
}

fn distinct_ids(failures: &Failures) -> HashSet<Uuid> {
    let failures = failures.lock().unwrap();
    let ids: HashSet<Uuid> = failures.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), failures.len(), "each failure is reported once");
    ids
}

/// Polls a future once: `Some(output)` if it completed, `None` if it is waiting.
async fn poll_once<F: Future>(mut future: std::pin::Pin<&mut F>) -> Option<F::Output> {
    std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
        std::task::Poll::Ready(output) => std::task::Poll::Ready(Some(output)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await
}

/// Waits (pacing the check) until the queue's counters satisfy `condition`.
async fn until_stats(queue: &AsyncQueue, condition: impl Fn(&QueueStats) -> bool) -> QueueStats {
    loop {
        let stats = queue.stats();
        if condition(&stats) {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn neat(location: &str, who: &str) -> NeatEvent {
    NeatEvent {
        location: location.into(),
        employee_name: who.into(),
        employee_action: "did".into(),
    }
}

fn call(i: u64, marker: &str) -> PhoneCall {
    PhoneCall {
        person_id: i % 5,
        phone_number: format!("{marker}-{i:05}"),
        last_called: "today".into(),
    }
}

async fn count_neat(store: &Store, location: &str) -> u64 {
    NeatEvent::query()
        .by_location(location.to_owned())
        .consistent_read()
        .count(store)
        .await
        .expect("count by query")
}

fn assert_balanced(s: &QueueStats) {
    assert_eq!(
        s.enqueued,
        s.written + s.duplicates + s.failed + s.in_flight,
        "{s:?}"
    );
}

// ---------------------------------------------------------------------------------------
// One bad event fails alone.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nan_events_fail_alone_and_the_other_192_are_stored() {
    within("the NaN test", async {
        let (_proxy, store) = setup("nan", &[Reading::TABLE]).await;
        let (store, failures) = recording(&store);
        let queue = AsyncQueue::start(&store, QueueOptions::default());
        let queued = store.with_persistor(queue.clone());

        let mut refused_at_store = 0u64;
        let mut bad_seqs = BTreeSet::new();
        for seq in 0..200u64 {
            // 8 NaNs, one in each run of 25 (so every batch of 25 may carry one).
            let bad = seq % 25 == 7;
            let value = if bad { f64::NAN } else { seq as f64 / 4.0 };
            if bad {
                bad_seqs.insert(seq);
            }
            let reading = Reading {
                sensor: seq % 4,
                seq,
                value,
            };
            match reading.store(&queued).await {
                Ok(StoreOutcome::Enqueued { .. }) => {}
                Ok(other) => panic!("expected Enqueued, got {other:?}"),
                Err(error) => {
                    assert!(bad, "a good reading was refused: {error}");
                    refused_at_store += 1;
                }
            }
        }
        queue.flush().await;
        let stats = queue.stats();

        // Read back what DynamoDB holds.
        let mut stored_seqs = BTreeSet::new();
        for sensor in 0..4u64 {
            for event in Reading::query()
                .by_sensor(sensor)
                .consistent_read()
                .run(&store)
                .await
                .expect("query the readings")
            {
                assert!(stored_seqs.insert(event.event.seq), "stored once");
            }
        }
        let scanned = count_items(&store, Reading::TABLE).await;
        let hooked = distinct_ids(&failures);
        eprintln!(
            "NaN test: 200 events, 8 NaN -> stored (read back) {} (scan {scanned}), refused at \
             store() {refused_at_store}, failed in the queue {}, failure hooks {}; {stats:?}",
            stored_seqs.len(),
            stats.failed,
            hooked.len()
        );
        assert_eq!(stored_seqs.len(), 192);
        assert_eq!(scanned, 192);
        let good: BTreeSet<u64> = (0..200).filter(|s| !bad_seqs.contains(s)).collect();
        assert_eq!(stored_seqs, good, "exactly the good readings are stored");
        assert_eq!(refused_at_store + stats.failed, 8, "{stats:?}");
        assert_eq!(hooked.len(), 8, "the hooks saw exactly the 8");
        assert_eq!(stats.written, 192, "{stats:?}");
        assert_eq!(stats.in_flight, 0);
        assert_balanced(&stats);
        queue.shutdown().await;
    })
    .await;
}

/// Puts something DynamoDB refuses (a number `NaN`) into the items of some events *after*
/// the codec, so the queue meets a rejected batch whatever `store()` validates.
struct Corrupting {
    queue: AsyncQueue,
}

impl Persistor for Corrupting {
    fn persist<'a>(
        &'a self,
        backend: &'a dyn eventosaurus::backend::Backend,
        mut write: EventWrite,
    ) -> PersistFuture<'a> {
        let bad = matches!(
            write.item.get("phone_number"),
            Some(AttributeValue::S(number)) if number.starts_with("bad")
        );
        if bad {
            write
                .item
                .insert("last_called".into(), AttributeValue::N("NaN".into()));
        }
        self.queue.persist(backend, write)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_rejected_by_dynamodb_is_split_until_the_bad_events_fail_alone() {
    within("the batch split test", async {
        let (proxy, store) = setup("split", &[PhoneCall::TABLE]).await;
        let (store, failures) = recording(&store);
        let queue = AsyncQueue::start(&store, QueueOptions::default());
        let queued = store.with_persistor(Corrupting {
            queue: queue.clone(),
        });
        let mut bad_ids = HashSet::new();
        for i in 0..200u64 {
            let bad = i % 25 == 7;
            let outcome = call(i, if bad { "bad" } else { "good" })
                .store(&queued)
                .await
                .expect("enqueued");
            if bad {
                bad_ids.insert(outcome.event_uuid());
            }
        }
        queue.flush().await;
        let stats = queue.stats();
        let stored = count_items(&store, PhoneCall::TABLE).await;
        let hooked = distinct_ids(&failures);
        let proxied = proxy.stats();
        eprintln!(
            "split test: 200 events, 8 refused by DynamoDB -> stored (scan) {stored}, failed {}, \
             hooks {}; requests through the proxy {}; {stats:?}",
            stats.failed,
            hooked.len(),
            proxied.requests()
        );
        assert_eq!(stored, 192);
        assert_eq!(stats.written, 192, "{stats:?}");
        assert_eq!(stats.failed, 8, "{stats:?}");
        assert_eq!(hooked, bad_ids, "the hooks saw exactly the 8 bad events");
        for (_, error) in failures.lock().unwrap().iter() {
            assert!(error.contains("ValidationException"), "{error}");
        }
        assert_balanced(&stats);
        queue.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// A lost response is Stored, never Duplicate.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_response_is_stored_not_duplicate_with_the_synchronous_persistor() {
    within("the synchronous lost-response test", async {
        let (proxy, store) = setup("lostsync", &[NeatEvent::TABLE]).await;
        let event = neat("lost-sync", "Ann");
        // The PutItem reaches DynamoDB, its response does not reach the SDK, which retries.
        proxy.inject(Fault::LoseResponse, 1, |r| r.operation() == "PutItem");
        let first = event.store(&store).await.expect("stored despite the reset");
        let lost = proxy.stats().lost;
        let stored = count_neat(&store, "lost-sync").await;
        eprintln!("synchronous lost response: outcome {first:?}, responses lost {lost}, items stored (query) {stored}");
        assert!(matches!(first, StoreOutcome::Stored { .. }), "{first:?}");
        assert_eq!(lost, 1);
        assert_eq!(stored, 1);

        // Another store of the same event is a duplicate: the comparison is not "always Stored".
        let second = event.store(&store).await.expect("a second store");
        assert!(matches!(second, StoreOutcome::Duplicate { .. }), "{second:?}");
        assert_eq!(second.event_uuid(), first.event_uuid());
        assert_eq!(count_neat(&store, "lost-sync").await, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_response_is_stored_not_duplicate_through_the_queue() {
    within("the queued lost-response test", async {
        let (proxy, store) = setup("lostqueue", &[NeatEvent::TABLE, PhoneCall::TABLE]).await;
        let queue = AsyncQueue::start(
            &store,
            QueueOptions::default().backoff(Duration::from_millis(10), Duration::from_millis(50)),
        );
        let queued = store.with_persistor(queue.clone());

        // A composite-key event: a conditional put whose response is lost.
        proxy.inject(Fault::LoseResponse, 1, |r| r.operation() == "PutItem");
        neat("lost-queue", "Bo").store(&queued).await.unwrap();
        queue.flush().await;
        let stats = queue.stats();
        let stored = count_neat(&store, "lost-queue").await;
        eprintln!("queued lost response (conditional put): items stored (query) {stored}, responses lost {}; {stats:?}", proxy.stats().lost);
        assert_eq!(proxy.stats().lost, 1);
        assert_eq!((stats.written, stats.duplicates, stats.failed), (1, 0, 0), "{stats:?}");
        assert!(stats.retried >= 1, "{stats:?}");
        assert_eq!(stored, 1);

        // Random-id events in a BatchWriteItem whose response is lost: rewritten, identical.
        proxy.inject(Fault::LoseResponse, 1, |r| r.operation() == "BatchWriteItem");
        let calls: Vec<PhoneCall> = (0..10).map(|i| call(i, "lost")).collect();
        for c in &calls {
            c.store(&queued).await.unwrap();
        }
        queue.flush().await;
        let stats = queue.stats();
        let stored_calls = count_items(&store, PhoneCall::TABLE).await;
        eprintln!("queued lost response (batch): items stored (scan) {stored_calls}, responses lost {}; {stats:?}", proxy.stats().lost);
        assert_eq!(stored_calls, 10);
        assert_eq!((stats.written, stats.duplicates, stats.failed), (11, 0, 0), "{stats:?}");

        // Another store of the same composite event is a duplicate.
        neat("lost-queue", "Bo").store(&queued).await.unwrap();
        queue.flush().await;
        assert_eq!(queue.stats().duplicates, 1);
        assert_eq!(count_neat(&store, "lost-queue").await, 1);
        queue.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// A stalled attempt times out and is retried.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_attempt_times_out_and_is_retried() {
    within("the stall test", async {
        let (proxy, store) = setup("stall", &[NeatEvent::TABLE, PhoneCall::TABLE]).await;
        let queue = AsyncQueue::start(
            &store,
            QueueOptions::default()
                .attempt_timeout(Duration::from_millis(500))
                .backoff(Duration::from_millis(10), Duration::from_millis(50)),
        );
        let queued = store.with_persistor(queue.clone());
        proxy.inject(Fault::Stall, 1, |r| r.operation() == "PutItem");
        proxy.inject(Fault::Stall, 1, |r| r.operation() == "BatchWriteItem");
        neat("stall", "Cy").store(&queued).await.unwrap();
        for i in 0..5 {
            call(i, "stall").store(&queued).await.unwrap();
        }
        queue.flush().await;
        let stats = queue.stats();
        let stored =
            count_neat(&store, "stall").await + count_items(&store, PhoneCall::TABLE).await;
        eprintln!(
            "stall: stalled requests {}, items stored (read back) {stored}; {stats:?}",
            proxy.stats().stalled
        );
        // Both stalled requests (one PutItem, one BatchWriteItem) were abandoned and retried
        // (a loaded machine may time out a slow answer too: at least the two).
        assert_eq!(proxy.stats().stalled, 2);
        assert!(stats.timed_out_attempts >= 2, "{stats:?}");
        assert!(stats.retried >= stats.timed_out_attempts, "{stats:?}");
        assert_eq!(
            (stats.written, stats.duplicates, stats.failed),
            (6, 0, 0),
            "{stats:?}"
        );
        assert_eq!(stored, 6);
        queue.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// flush() waits for exactly what was enqueued before it.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_waits_for_the_retrying_event_and_not_for_later_ones() {
    within("the flush test", async {
        let (proxy, store) = setup("flush", &[NeatEvent::TABLE, PhoneCall::TABLE]).await;
        let queue = AsyncQueue::start(
            &store,
            QueueOptions::default()
                .capacity(500)
                .attempt_timeout(Duration::from_millis(500))
                .max_attempts(1_000)
                .backoff(Duration::from_millis(20), Duration::from_millis(100)),
        );
        let queued = store.with_persistor(queue.clone());

        // Event A is answered 500 until released: it keeps retrying.
        let a_rule = proxy.inject(Fault::Error500, u64::MAX, |r| {
            r.operation() == "PutItem" && r.body_contains("flush-a")
        });
        neat("flush-a", "Al").store(&queued).await.unwrap();
        proxy.wait_until(|s| s.errored >= 1).await;

        // Meanwhile other tasks keep storing.
        let stop = Arc::new(AtomicBool::new(false));
        let produced = Arc::new(AtomicU64::new(0));
        let mut producers = Vec::new();
        for p in 0..2u64 {
            let (queued, stop, produced) = (queued.clone(), stop.clone(), produced.clone());
            producers.push(tokio::spawn(async move {
                let mut i = p * 1_000_000;
                while !stop.load(Ordering::SeqCst) {
                    call(i, "traffic").store(&queued).await.unwrap();
                    produced.fetch_add(1, Ordering::SeqCst);
                    i += 1;
                }
            }));
        }
        until_stats(&queue, |s| s.written >= 50).await;

        // The flush point. Event B, enqueued after it, stalls until released.
        let flushed = queue.flush();
        let at_flush = queue.stats();
        proxy.inject(Fault::Stall, u64::MAX, |r| {
            r.operation() == "PutItem" && r.body_contains("flush-b")
        });
        neat("flush-b", "Bea").store(&queued).await.unwrap();

        // More events complete than were enqueued at the flush point, yet A is not written:
        // the flush still waits (a global count would have let it return here).
        let overtaken = until_stats(&queue, |s| {
            s.written + s.duplicates + s.failed >= at_flush.enqueued + 100
        })
        .await;
        let mut flushed = std::pin::pin!(flushed);
        assert!(
            poll_once(flushed.as_mut()).await.is_none(),
            "flush returned while A, enqueued before it, was still retrying: {overtaken:?}"
        );
        assert_eq!(count_neat(&store, "flush-a").await, 0);

        // Release A: the flush returns once it is written.
        let errored_while_held = proxy.stats().errored;
        proxy.remove_rule(a_rule);
        flushed.await;
        let after = queue.stats();
        let proxied = proxy.stats();
        let a_stored = count_neat(&store, "flush-a").await;
        let b_stored = count_neat(&store, "flush-b").await;
        eprintln!(
            "flush: at the call {at_flush:?}; completed meanwhile while A was held {overtaken:?}; \
             when it returned {after:?}; A stored {a_stored} after {errored_while_held} injected \
             500s; B (after the call) stored {b_stored}, stalled {} times",
            proxied.stalled
        );
        assert_eq!(a_stored, 1);
        // B, enqueued after the call, was not waited for: still in flight, not stored.
        assert!(proxied.stalled >= 1);
        assert_eq!(b_stored, 0);
        assert!(after.in_flight >= 1, "{after:?}");
        assert_balanced(&after);

        // Release B; stop the traffic; everything is written once.
        proxy.clear_rules();
        stop.store(true, Ordering::SeqCst);
        for producer in producers {
            producer.await.unwrap();
        }
        queue.flush().await;
        let end = queue.stats();
        let calls = count_items(&store, PhoneCall::TABLE).await;
        eprintln!(
            "flush: in the end {end:?}; traffic stored (scan) {calls} of {} produced",
            produced.load(Ordering::SeqCst)
        );
        assert_eq!(count_neat(&store, "flush-b").await, 1);
        assert_eq!(calls, produced.load(Ordering::SeqCst));
        assert_eq!(
            (end.failed, end.duplicates, end.in_flight),
            (0, 0, 0),
            "{end:?}"
        );
        queue.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Panicking hooks.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_hook_neither_hangs_flush_nor_loses_the_other_failures() {
    within("the panicking hook test", async {
        // No tables: every write fails (table not found), and every failure calls the hooks.
        let proxy = FaultProxy::start(endpoint()).await;
        let store = store_at(&proxy.endpoint(), &unique_prefix("panics")).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hook_seen = seen.clone();
        let store = store.with_error_hook(move |failed, error| {
            let n = {
                let mut seen = hook_seen.lock().unwrap();
                seen.push((failed.event_uuid, format!("{error}")));
                seen.len()
            };
            if n % 2 == 1 {
                panic!("the store-wide hook panics on failure #{n} (on purpose)");
            }
        });
        let queue = AsyncQueue::start(&store, QueueOptions::default());
        let queued = store.with_persistor(queue.clone());
        let mut ids = HashSet::new();
        for id in 0..10u64 {
            // Fragile's own on_error panics every time.
            ids.insert(Fragile { id }.store(&queued).await.unwrap().event_uuid());
        }
        queue.flush().await;
        let stats = queue.stats();
        let seen = seen.lock().unwrap().clone();
        let seen_ids: HashSet<Uuid> = seen.iter().map(|(id, _)| *id).collect();
        eprintln!(
            "panicking hooks: 10 events failed -> store-wide hook called {} times for {} distinct \
             events, hook panics counted {}; {stats:?}",
            seen.len(),
            seen_ids.len(),
            stats.hook_panics
        );
        assert_eq!(stats.failed, 10, "{stats:?}");
        assert_eq!(seen.len(), 10, "every failure reached the store-wide hook");
        assert_eq!(seen_ids, ids);
        assert!(
            seen.iter().all(|(_, e)| e.contains("does not exist")),
            "{seen:?}"
        );
        // 10 typed hooks + 5 store-wide ones panicked.
        assert_eq!(stats.hook_panics, 15, "{stats:?}");
        assert_eq!(stats.in_flight, 0);
        within("shutdown", queue.shutdown()).await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Cancelled stores.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_store_leaves_exact_stats_and_flush_returns() {
    within("the cancellation test", async {
        let (proxy, store) = setup("cancel", &[PhoneCall::TABLE]).await;
        let queue = AsyncQueue::start(
            &store,
            QueueOptions::default()
                .capacity(4)
                .concurrency(1)
                .attempt_timeout(Duration::from_millis(300))
                .backoff(Duration::from_millis(10), Duration::from_millis(50)),
        );
        let queued = store.with_persistor(queue.clone());
        // Nothing is answered: the worker holds its batch, the dispatcher and the channel fill.
        proxy.set_mode(Fault::Stall);
        let mut accepted = 0u64;
        loop {
            match call(accepted, "cancel").try_store(&queued).await {
                Ok(_) => accepted += 1,
                Err(Error::QueueFull { .. }) => break,
                Err(other) => panic!("unexpected {other}"),
            }
            assert!(accepted < 1_000, "the queue never filled");
        }
        // Stores that wait for room, dropped while waiting. The dispatcher may still take a
        // few events off the channel, so a store may also complete: it is then counted as
        // accepted. Each store either enqueues (and counts) or leaves no trace.
        let (mut by_timeout, mut by_select) = (0u32, 0u32);
        for i in 0..200u64 {
            if by_timeout == 3 && by_select == 3 {
                break;
            }
            let event = call(10_000 + i, "cancel");
            if by_timeout < 3 {
                // ...by a timeout...
                match tokio::time::timeout(Duration::from_millis(50), event.store(&queued)).await {
                    Ok(outcome) => {
                        outcome.expect("enqueued");
                        accepted += 1;
                    }
                    Err(_) => by_timeout += 1,
                }
            } else {
                // ...and by a select that polls the store once, then takes the other branch.
                tokio::select! {
                    biased;
                    outcome = event.store(&queued) => {
                        outcome.expect("enqueued");
                        accepted += 1;
                    }
                    () = std::future::ready(()) => by_select += 1,
                }
            }
        }
        assert_eq!((by_timeout, by_select), (3, 3), "six stores were cancelled");
        let at_cancel = queue.stats();
        assert_eq!(
            at_cancel.enqueued, accepted,
            "cancelled stores enqueued nothing: {at_cancel:?}"
        );
        assert_balanced(&at_cancel);

        proxy.set_mode(Fault::PassThrough);
        queue.flush().await;
        let stats = queue.stats();
        let stored = count_items(&store, PhoneCall::TABLE).await;
        eprintln!(
            "cancelled stores: {accepted} accepted, 6 cancelled while waiting ({by_timeout} by a \
             timeout, {by_select} by a select); stats at cancel \
             {at_cancel:?}; after flush {stats:?}; items stored (scan) {stored}"
        );
        assert_eq!(stats.enqueued, accepted);
        assert_eq!(
            (stats.written, stats.in_flight, stats.failed),
            (accepted, 0, 0),
            "{stats:?}"
        );
        assert_eq!(stored, accepted);
        queue.shutdown().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Shutdown.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_concurrent_shutdown_waits_for_the_drain() {
    within("the shutdown test", async {
        let (proxy, store) = setup("shutdown", &[NeatEvent::TABLE, PhoneCall::TABLE]).await;
        let queue = AsyncQueue::start(
            &store,
            QueueOptions::default().backoff(Duration::from_millis(50), Duration::from_millis(200)),
        );
        let queued = store.with_persistor(queue.clone());
        // The first requests fail: the drain takes a few retries.
        proxy.inject(Fault::Error500, 6, |_| true);
        for i in 0..30 {
            call(i, "shutdown").store(&queued).await.unwrap();
        }
        for i in 0..5 {
            neat("shutdown", &format!("p{i}")).store(&queued).await.unwrap();
        }
        let mut callers = Vec::new();
        for _ in 0..4 {
            let queue = queue.clone();
            callers.push(tokio::spawn(async move {
                queue.shutdown().await;
                queue.stats()
            }));
        }
        for caller in callers {
            let seen = caller.await.unwrap();
            assert_eq!((seen.in_flight, seen.written), (0, 35), "a shutdown returned early: {seen:?}");
        }
        within("a later shutdown", queue.shutdown()).await;
        let stats = queue.stats();
        let stored = count_items(&store, PhoneCall::TABLE).await + count_neat(&store, "shutdown").await;
        eprintln!("concurrent shutdown: 4 callers + 1 later, all saw the drain; 500s injected {}; items stored (read back) {stored}; {stats:?}", proxy.stats().errored);
        assert_eq!(stored, 35);
        assert!(matches!(
            call(99, "shutdown").store(&queued).await,
            Err(Error::QueueClosed)
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_timeout_hands_the_leftovers_to_the_hooks_as_failed() {
    within("the shutdown_timeout test", async {
        let (proxy, store) = setup("shutdowntimeout", &[NeatEvent::TABLE, PhoneCall::TABLE]).await;
        let (store, failures) = recording(&store);
        let queue = AsyncQueue::start(
            &store,
            QueueOptions::default().attempt_timeout(Duration::from_secs(60)),
        );
        let queued = store.with_persistor(queue.clone());
        proxy.set_mode(Fault::Stall);
        let mut ids = HashSet::new();
        for i in 0..5 {
            ids.insert(call(i, "left").store(&queued).await.unwrap().event_uuid());
            ids.insert(neat("left", &format!("p{i}")).store(&queued).await.unwrap().event_uuid());
        }
        proxy.wait_until(|s| s.stalled >= 1).await;
        // A plain shutdown waiting alongside returns when the timed one gives up.
        let plain = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.shutdown().await })
        };
        let stats = queue.shutdown_timeout(Duration::from_millis(300)).await;
        within("the plain shutdown", plain).await.unwrap();
        proxy.set_mode(Fault::PassThrough);
        let stored = count_items(&store, PhoneCall::TABLE).await + count_neat(&store, "left").await;
        let hooked = distinct_ids(&failures);
        eprintln!("shutdown_timeout: 10 events stalled -> failed {}, abandoned {}, hooks {}, items stored (read back) {stored}; {stats:?}", stats.failed, stats.abandoned, hooked.len());
        assert_eq!((stats.enqueued, stats.failed, stats.abandoned, stats.in_flight), (10, 10, 10, 0), "{stats:?}");
        assert_eq!(hooked, ids);
        assert!(failures
            .lock()
            .unwrap()
            .iter()
            .all(|(_, e)| e.contains("QueueShutdownTimedOut")));
        assert_eq!(stored, 0, "stalled requests never reached DynamoDB");
        assert!(matches!(
            call(99, "left").store(&queued).await,
            Err(Error::QueueClosed)
        ));
    })
    .await;
}
