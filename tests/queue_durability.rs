//! The async queue never silently loses an event: a DynamoDB Local killed mid-run (and
//! restarted, or never coming back) against 5,000 queued events.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventosaurus::persist::{AsyncQueue, QueueOptions, QueueStats};
use eventosaurus::{Storable, Store, StoreOutcome, Uuid};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::local::{
    count_items, create_example_tables, store_at, unique_prefix, DynamoLocal, StartOptions,
};

const EVENTS: usize = 5_000;
const KILL_AFTER_WRITTEN: u64 = 1_000;

fn db_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique_prefix(name));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Half PhoneCalls (random ids: batched), half NeatEvents (composite ids: conditional puts).
async fn enqueue_all(store: &Store) -> HashSet<Uuid> {
    let mut ids = HashSet::new();
    for i in 0..EVENTS {
        let outcome = if i % 2 == 0 {
            PhoneCall {
                person_id: (i % 40) as u64,
                phone_number: format!("555-{i:05}"),
                last_called: "today".into(),
            }
            .store(store)
            .await
        } else {
            NeatEvent {
                location: format!("site-{}", i % 20),
                employee_name: format!("e{i}"),
                employee_action: "did".into(),
            }
            .store(store)
            .await
        };
        match outcome.expect("enqueue") {
            StoreOutcome::Enqueued { event_uuid, .. } => assert!(ids.insert(event_uuid)),
            other => panic!("expected Enqueued, got {other:?}"),
        }
    }
    ids
}

async fn wait_until_written(queue: &AsyncQueue, n: u64) {
    // Waits on the queue's own counter; the sleep only paces the check.
    while queue.stats().written < n {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Counts every stored event with the query builder: one Query per partition, `Select=COUNT`.
async fn count_by_query(store: &Store) -> u64 {
    let mut total = 0;
    for person_id in 0..40u64 {
        total += PhoneCall::query()
            .by_person_id(person_id)
            .consistent_read()
            .count(store)
            .await
            .unwrap();
    }
    for site in 0..20 {
        total += NeatEvent::query()
            .by_location(format!("site-{site}"))
            .consistent_read()
            .count(store)
            .await
            .unwrap();
    }
    // Cross-check with a raw Scan, so a planning bug cannot hide a lost event.
    let scanned =
        count_items(store, PhoneCall::TABLE).await + count_items(store, NeatEvent::TABLE).await;
    assert_eq!(total, scanned);
    total
}

struct Run {
    stats: QueueStats,
    failed_ids: HashSet<Uuid>,
    stored: u64,
}

async fn kill_during_drain(restart: bool, options: QueueOptions) -> Run {
    let mut server = DynamoLocal::start(StartOptions {
        db_path: Some(db_dir(if restart {
            "kill-restart"
        } else {
            "kill-forever"
        })),
        stop_with_this_process: true,
        ..Default::default()
    });
    let store = store_at(&server.endpoint(), &unique_prefix("durability")).await;
    create_example_tables(&store).await;

    let failed_ids = Arc::new(Mutex::new(HashSet::new()));
    let hook_ids = failed_ids.clone();
    let store = store.with_error_hook(move |failed, _error| {
        assert!(
            hook_ids.lock().unwrap().insert(failed.event_uuid),
            "a failure is reported once"
        );
    });
    let queue = AsyncQueue::start(&store, options.capacity(EVENTS));
    let queued = store.with_persistor(queue.clone());

    let started = std::time::Instant::now();
    let ids = enqueue_all(&queued).await;
    eprintln!("enqueued {} events in {:?}", ids.len(), started.elapsed());
    assert_eq!(ids.len(), EVENTS);
    wait_until_written(&queue, KILL_AFTER_WRITTEN).await;
    server.kill9();
    let at_kill = queue.stats();
    eprintln!(
        "killed DynamoDB Local at {:?}: {at_kill:?}",
        started.elapsed()
    );
    if restart {
        tokio::time::sleep(Duration::from_secs(3)).await; // "a few seconds later"
        server.restart();
        eprintln!("restarted at {:?}", started.elapsed());
    }
    queue.shutdown().await;
    let stats = queue.stats();
    eprintln!("after shutdown at {:?}: {stats:?}", started.elapsed());
    let stored = if restart {
        count_by_query(&store).await
    } else {
        0
    };
    let failed_ids = failed_ids.lock().unwrap().clone();
    Run {
        stats,
        failed_ids,
        stored,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_restart_loses_nothing_and_duplicates_nothing() {
    // Retry for as long as it takes the server to come back.
    let options = QueueOptions::default()
        .concurrency(8)
        .retry_deadline(Duration::from_secs(900));
    let run = kill_during_drain(true, options).await;
    let s = run.stats;
    assert_eq!(s.enqueued, EVENTS as u64);
    assert_eq!(s.failed, 0, "{s:?}");
    assert!(run.failed_ids.is_empty());
    assert_eq!(s.in_flight, 0);
    // Every event is distinct: a retry that met its own earlier write is Stored, never a
    // Duplicate.
    assert_eq!(s.duplicates, 0, "{s:?}");
    assert_eq!(s.written, EVENTS as u64, "{s:?}");
    assert_eq!(run.stored, EVENTS as u64, "every event stored exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_never_returns_fails_the_rest_into_on_error() {
    let options = QueueOptions::default()
        .concurrency(8)
        .retry_deadline(Duration::from_secs(2))
        .backoff(Duration::from_millis(20), Duration::from_millis(200));
    let run = kill_during_drain(false, options).await;
    let s = run.stats;
    assert_eq!(s.enqueued, EVENTS as u64);
    assert_eq!(s.written + s.duplicates + s.failed, EVENTS as u64, "{s:?}");
    assert!(s.written >= KILL_AFTER_WRITTEN, "{s:?}");
    assert!(s.failed > 0, "{s:?}");
    assert_eq!(
        run.failed_ids.len() as u64,
        s.failed,
        "on_error got exactly the failed events"
    );
    assert_eq!(s.in_flight, 0);
}
