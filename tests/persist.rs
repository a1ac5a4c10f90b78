//! Persistors on a real DynamoDB Local: backpressure of the async queue, flush, the failure
//! hooks, and the custom persistor example.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use eventosaurus::persist::{AsyncQueue, QueueOptions};
use eventosaurus::table::{self, Billing};
use eventosaurus::{Error, OnError, Storable, StoreOutcome};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::local::{
    count_items, create_example_tables, store_at, test_store, unique_prefix, DynamoLocal,
    StartOptions,
};

#[path = "../examples/jsonl_persistor.rs"]
mod jsonl_persistor;

fn call(i: u64) -> PhoneCall {
    PhoneCall {
        person_id: i % 7,
        phone_number: format!("555-{i:04}"),
        last_called: "today".into(),
    }
}

/// Polls a future once: `Some(output)` if it completed, `None` if it is waiting.
async fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Option<F::Output> {
    let mut future = future;
    std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_makes_store_wait_and_try_store_fail() {
    // A private server we can freeze: with it paused, nothing drains and the queue fills.
    let server = DynamoLocal::start(StartOptions {
        stop_with_this_process: true,
        ..Default::default()
    });
    let store = store_at(&server.endpoint(), &unique_prefix("backpressure")).await;
    table::create_table(&store, PhoneCall::TABLE, Billing::OnDemand)
        .await
        .unwrap();
    let capacity = 10;
    let queue = AsyncQueue::start(
        &store,
        QueueOptions::default().capacity(capacity).concurrency(1),
    );
    let queued = store.with_persistor(queue.clone());
    server.pause();

    // try_store succeeds until the queue (plus what the worker already took) is full.
    let mut accepted = 0u64;
    let full = loop {
        match call(accepted).try_store(&queued).await {
            Ok(StoreOutcome::Enqueued { .. }) => accepted += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(err) => break err,
        }
        assert!(accepted < 1_000, "the queue never filled up");
    };
    assert!(
        matches!(full, Error::QueueFull { capacity: 10 }),
        "{full:?}"
    );
    assert!(full.to_string().contains("full"));
    assert!(accepted >= capacity as u64, "accepted {accepted}");

    // store() waits for room instead of failing...
    let blocked_event = call(10_000);
    let mut blocked = pin!(blocked_event.store(&queued));
    assert!(
        poll_once(blocked.as_mut()).await.is_none(),
        "store must wait while the queue is full"
    );
    // ...and completes once the server answers again and the queue drains.
    server.resume();
    let outcome = blocked.await.unwrap();
    assert!(matches!(outcome, StoreOutcome::Enqueued { .. }));
    queue.flush().await;
    let stats = queue.stats();
    assert_eq!(stats.enqueued, accepted + 1);
    assert_eq!(stats.written, accepted + 1, "{stats:?}");
    assert_eq!(stats.in_flight, 0);
    assert_eq!(count_items(&store, PhoneCall::TABLE).await, accepted + 1);

    queue.shutdown().await;
    assert!(matches!(
        call(1).store(&queued).await.unwrap_err(),
        Error::QueueClosed
    ));
}

#[tokio::test]
async fn queue_flush_then_everything_is_stored_once() {
    let store = test_store("queue-flush").await;
    create_example_tables(&store).await;
    for batch_writes in [true, false] {
        let queue = AsyncQueue::start(&store, QueueOptions::default().batch_writes(batch_writes));
        let queued = store.with_persistor(queue.clone());
        for i in 0..300 {
            call(i).store(&queued).await.unwrap();
        }
        // The same NeatEvent 50 times: one write, 49 duplicates.
        let neat = NeatEvent {
            location: "here".into(),
            employee_name: "Bo".into(),
            employee_action: format!("{batch_writes}"),
        };
        for _ in 0..50 {
            neat.store(&queued).await.unwrap();
        }
        queue.flush().await;
        let stats = queue.stats();
        assert_eq!(
            (
                stats.enqueued,
                stats.written,
                stats.duplicates,
                stats.failed
            ),
            (350, 301, 49, 0),
            "{stats:?}"
        );
        queue.shutdown().await;
    }
    assert_eq!(count_items(&store, PhoneCall::TABLE).await, 600);
    assert_eq!(count_items(&store, NeatEvent::TABLE).await, 2);
}

static HOOKED: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "hooked_event", partition_key = id, custom_on_error)]
struct HookedEvent {
    id: String,
}

impl OnError for HookedEvent {
    fn on_error(&self, error: &Error) {
        assert!(matches!(error, Error::TableNotFound { .. }), "{error:?}");
        assert!(self.id.starts_with("hook-"));
        HOOKED.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn on_error_fires_for_sync_and_async_failures() {
    // No table: every write fails with TableNotFound (not retryable).
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook_seen = seen.clone();
    let store = test_store("on-error")
        .await
        .with_error_hook(move |failed, error| {
            let event = failed
                .decode::<HookedEvent>()
                .expect("the hook can decode the event")
                .event;
            hook_seen
                .lock()
                .unwrap()
                .push((event.id, error.to_string()));
        });

    let err = HookedEvent {
        id: "hook-sync".into(),
    }
    .store(&store)
    .await
    .unwrap_err();
    assert!(matches!(err, Error::TableNotFound { .. }));
    assert_eq!(HOOKED.load(Ordering::SeqCst), 1);

    let queue = AsyncQueue::start(&store, QueueOptions::default());
    let queued = store.with_persistor(queue.clone());
    for i in 0..3 {
        let outcome = HookedEvent {
            id: format!("hook-async-{i}"),
        }
        .store(&queued)
        .await
        .unwrap();
        assert!(matches!(outcome, StoreOutcome::Enqueued { .. }));
    }
    queue.shutdown().await;
    assert_eq!(queue.stats().failed, 3);
    assert_eq!(HOOKED.load(Ordering::SeqCst), 4);
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        ["hook-async-0", "hook-async-1", "hook-async-2", "hook-sync"]
    );
    assert!(seen.iter().all(|(_, e)| e.contains("create-tables")));
}

#[tokio::test]
async fn custom_persistor_example_runs() {
    let store = test_store("jsonl").await;
    let path = std::env::temp_dir().join(format!("{}.jsonl", unique_prefix("jsonl")));
    let outcomes = jsonl_persistor::run(&store, &path).await.unwrap();
    assert_eq!(outcomes.len(), 3);
    assert!(matches!(outcomes[0], StoreOutcome::Stored { .. }));
    assert!(matches!(outcomes[1], StoreOutcome::Stored { .. }));
    assert!(outcomes[2].is_duplicate());
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["item"]["person_id"], 7);
    assert_eq!(
        lines[0]["item"]["event_uuid"],
        outcomes[0].event_uuid().to_string()
    );
    assert_eq!(lines[2]["outcome"], "duplicate");
    // And the events really are in DynamoDB.
    assert_eq!(count_items(&store, PhoneCall::TABLE).await, 1);
    assert_eq!(count_items(&store, NeatEvent::TABLE).await, 1);
    let _ = std::fs::remove_file(path);
}

/// An event whose `reading` DynamoDB cannot store when it is NaN: refused at `store()`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "hook_panic_reading", partition_key = sensor, custom_on_error)]
struct Reading {
    sensor: u64,
    reading: f64,
}

static TYPED_HOOK_CALLS: AtomicU64 = AtomicU64::new(0);

impl OnError for Reading {
    fn on_error(&self, _error: &Error) {
        TYPED_HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
        panic!("the typed hook panics on purpose");
    }
}

#[tokio::test]
async fn a_panicking_hook_on_a_synchronous_failure_neither_unwinds_nor_hides_the_error() {
    let global_calls = Arc::new(AtomicU64::new(0));
    let seen = global_calls.clone();
    let store = eventosaurus::Store::test().with_error_hook(move |_failed, _error| {
        seen.fetch_add(1, Ordering::SeqCst);
        panic!("the store-wide hook panics on purpose");
    });
    let bad = Reading {
        sensor: 1,
        reading: f64::NAN,
    };
    let result = bad.store(&store).await;
    assert!(
        matches!(result, Err(Error::InvalidValue { .. })),
        "the store returns the refusal, not the hooks' panics: {result:?}"
    );
    assert_eq!(TYPED_HOOK_CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(
        global_calls.load(Ordering::SeqCst),
        1,
        "the typed hook's panic does not skip the store-wide hook"
    );
    assert!(store.events::<Reading>().await.unwrap().is_empty());
}
