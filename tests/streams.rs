//! Query results as `futures` streams, and `Store::get_many` (BatchGetItem), against a real
//! DynamoDB Local and in test mode.
//!
//! Back-pressure is proven with counters, not timing: a backend wrapper counts the requests
//! sent and the items they returned, and the test checks after every event taken that the
//! stream has fetched at most one page more than was consumed.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventosaurus::backend::{
    Backend, BackendFuture, BatchGetResponse, BatchPut, PageResponse, PutOutcome,
};
use eventosaurus::codec::Item;
use eventosaurus::persist::{AsyncQueue, QueueOptions};
use eventosaurus::query::Plan;
use eventosaurus::table::{self, Billing};
use eventosaurus::{Storable, Store, StoreOutcome, TableDef, Uuid};
use eventosaurus_testkit::events::PhoneCall;
use eventosaurus_testkit::local::test_store;
use futures_util::{FutureExt, StreamExt};

/// A backend in front of another that counts what goes through, and can hold back keys of a
/// `BatchGetItem` (as DynamoDB does when throttled), to test the retries.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn Backend>,
    query_requests: AtomicU64,
    items_returned: AtomicU64,
    batch_gets: AtomicU64,
    unprocessed_returned: AtomicU64,
    /// Each `batch_get` sends only this many keys and returns the rest as unprocessed.
    batch_get_cap: Option<usize>,
    /// The number of keys of each `batch_get` call.
    batch_get_sizes: Mutex<Vec<usize>>,
}

impl Counting {
    fn over(store: &Store, batch_get_cap: Option<usize>) -> (Arc<Counting>, Store) {
        let counting = Arc::new(Counting {
            inner: store.backend().clone(),
            query_requests: AtomicU64::new(0),
            items_returned: AtomicU64::new(0),
            batch_gets: AtomicU64::new(0),
            unprocessed_returned: AtomicU64::new(0),
            batch_get_cap,
            batch_get_sizes: Mutex::new(Vec::new()),
        });
        let counted = Store::with_backend(counting.clone(), store.environment_prefix());
        (counting, counted)
    }

    fn requests(&self) -> u64 {
        self.query_requests.load(Ordering::SeqCst)
    }

    fn items(&self) -> u64 {
        self.items_returned.load(Ordering::SeqCst)
    }
}

impl Backend for Counting {
    fn label(&self) -> &str {
        self.inner.label()
    }

    fn put_if_absent<'a>(
        &'a self,
        table: &'a str,
        def: &'a TableDef,
        item: Item,
    ) -> BackendFuture<'a, PutOutcome> {
        self.inner.put_if_absent(table, def, item)
    }

    fn batch_put(&self, puts: Vec<BatchPut>) -> BackendFuture<'_, Vec<BatchPut>> {
        self.inner.batch_put(puts)
    }

    fn get<'a>(
        &'a self,
        table: &'a str,
        def: &'a TableDef,
        key: Item,
    ) -> BackendFuture<'a, Option<Item>> {
        self.inner.get(table, def, key)
    }

    fn batch_get<'a>(
        &'a self,
        table: &'a str,
        def: &'a TableDef,
        mut keys: Vec<Item>,
    ) -> BackendFuture<'a, BatchGetResponse> {
        self.batch_gets.fetch_add(1, Ordering::SeqCst);
        self.batch_get_sizes.lock().unwrap().push(keys.len());
        let held_back = match self.batch_get_cap {
            Some(cap) if keys.len() > cap => keys.split_off(cap),
            _ => Vec::new(),
        };
        Box::pin(async move {
            let mut response = self.inner.batch_get(table, def, keys).await?;
            self.unprocessed_returned
                .fetch_add(response.unprocessed.len() as u64, Ordering::SeqCst);
            response.unprocessed.extend(held_back);
            Ok(response)
        })
    }

    fn query_page<'a>(
        &'a self,
        plan: &'a Plan,
        start: Option<Item>,
    ) -> BackendFuture<'a, PageResponse> {
        self.query_requests.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let response = self.inner.query_page(plan, start).await?;
            let items = response.items.as_ref().map_or(0, |items| items.len());
            self.items_returned
                .fetch_add(items as u64, Ordering::SeqCst);
            Ok(response)
        })
    }

    fn with_retries_disabled(self: Arc<Self>) -> Arc<dyn Backend> {
        self
    }
}

/// Creates a table, except in test mode, where tables need not exist.
async fn create(store: &Store, def: &'static TableDef) {
    if store.client().is_ok() {
        table::create_table(store, def, Billing::OnDemand)
            .await
            .expect("create table");
    }
}

fn call(person_id: u64, n: usize) -> PhoneCall {
    PhoneCall {
        person_id,
        phone_number: format!("555-{n:05}"),
        last_called: "2026-01-01".into(),
    }
}

/// Writes `n` calls of one person through an async queue (BatchWriteItem), and waits.
async fn store_calls(store: &Store, person_id: u64, n: usize) {
    let queue = AsyncQueue::start(store, QueueOptions::default().concurrency(4));
    let writer = store.with_persistor(queue.clone());
    for i in 0..n {
        writer.store(&call(person_id, i)).await.expect("enqueue");
    }
    queue.flush().await;
    queue.shutdown().await;
    assert_eq!(queue.stats().failed, 0, "{:?}", queue.stats());
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod dynamodb_local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::test_store(stringify!($name)).await).await
                }
            )*
        }
        mod test_mode {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(eventosaurus::Store::test()).await
                }
            )*
        }
    };
}

on_both_backends!(
    events_stream_of_5000_holds_at_most_one_page,
    pages_stream_fetches_a_page_per_poll_and_is_cancel_safe,
    get_many_returns_exactly_the_present_events_in_key_order,
    get_many_retries_unprocessed_keys,
);

const EVENTS: usize = 5_000;
const PAGE: u64 = 100;

/// A `Stream` over 5,000 events, consumed slowly: after every event taken, the requests sent
/// are at most `ceil(k / p) + 1`, and the items fetched but not yet consumed at most one page.
/// At checkpoints the consumer pauses (on a multi-threaded runtime): nothing is fetched while
/// it does not poll.
async fn events_stream_of_5000_holds_at_most_one_page(store: Store) {
    create(&store, PhoneCall::TABLE).await;
    store_calls(&store, 7, EVENTS).await;
    store_calls(&store, 8, 10).await; // another partition, not read
    let (counting, counted) = Counting::over(&store, None);

    let mut events = PhoneCall::query()
        .by_person_id(7)
        .page_size(PAGE as u32)
        .events(&counted);
    assert_eq!(
        counting.requests(),
        0,
        "nothing is sent before the first poll"
    );
    let mut seen = HashSet::new();
    let mut consumed = 0u64;
    let mut max_held = 0u64;
    let mut figures = Vec::new();
    while let Some(event) = events.next().await {
        let event = event.expect("event");
        assert_eq!(event.person_id, 7);
        assert!(seen.insert(event.event_uuid), "an event came twice");
        consumed += 1;
        let sent = counting.requests();
        let held = counting.items() - consumed;
        max_held = max_held.max(held);
        assert!(
            sent <= consumed.div_ceil(PAGE) + 1,
            "{sent} requests sent after {consumed} events (page size {PAGE})"
        );
        assert!(held <= PAGE, "{held} items fetched but not consumed");
        assert_eq!(held, events.buffered_items() as u64);
        assert_eq!(sent, events.requests());
        if consumed % 1_250 == 0 || consumed == 50 {
            // A slow consumer: while it does not poll, nothing more is fetched.
            let before = (counting.requests(), counting.items());
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!((counting.requests(), counting.items()), before);
            figures.push(format!("{consumed} consumed: {sent} requests, {held} held"));
        } else {
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(consumed, EVENTS as u64);
    let sent = counting.requests();
    assert!(
        sent == 50 || sent == 51,
        "5,000 events in pages of 100 take 50 requests (51 with an empty last page), not {sent}"
    );
    eprintln!(
        "[{}] events stream: {}; total {sent} requests for {consumed} events, at most {max_held} items held",
        counted.backend().label(),
        figures.join("; ")
    );
}

/// `pages()` (and the older `stream()` with `next_page`) sends one request per page taken;
/// a `next_page` future dropped while its request is in flight loses nothing.
async fn pages_stream_fetches_a_page_per_poll_and_is_cancel_safe(store: Store) {
    create(&store, PhoneCall::TABLE).await;
    store_calls(&store, 3, 250).await;
    let (counting, counted) = Counting::over(&store, None);
    let query = PhoneCall::query().by_person_id(3).page_size(100);

    let mut pages = query.pages(&counted);
    let mut sizes = Vec::new();
    let mut ids = HashSet::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("page");
        sizes.push(page.events.len());
        ids.extend(page.events.iter().map(|e| e.event_uuid));
        assert_eq!(
            counting.requests(),
            sizes.len() as u64,
            "one request per page"
        );
    }
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(ids.len(), 250);

    // The older API: the same pages, and a future dropped mid-request is resumed.
    let before = counting.requests();
    let mut pages = query.stream(&counted);
    let mut first = Vec::new();
    // Polled once, then dropped: on DynamoDB the request is in flight (in test mode it may
    // already be done, in which case the page is returned here).
    if let Some(page) = pages.next_page().now_or_never() {
        first = page.expect("page").expect("first page").events;
    }
    let mut all = first;
    while let Some(page) = pages.next_page().await {
        all.extend(page.expect("page").events);
    }
    assert_eq!(all.len(), 250, "nothing lost or repeated");
    assert_eq!(
        all.iter().map(|e| e.event_uuid).collect::<HashSet<_>>(),
        ids
    );
    assert_eq!(
        counting.requests() - before,
        3,
        "the dropped request was not sent again"
    );

    // The streams own what they need: one can be moved into a task.
    let events = query.events(&counted);
    let in_task = tokio::spawn(async move { events.count().await });
    assert_eq!(in_task.await.expect("task"), 250);

    // A planning error is the first and only item.
    let mut refused = PhoneCall::query()
        .by_phone_number("555-00001")
        .events(&counted);
    assert!(matches!(
        refused.next().await,
        Some(Err(eventosaurus::Error::ScanRequired { .. }))
    ));
    assert!(refused.next().await.is_none());
}

/// 250 keys (200 present, 50 missing, one given twice) in a scrambled order: exactly the
/// present events, in the order of the keys, in 3 requests of at most 100 keys.
async fn get_many_returns_exactly_the_present_events_in_key_order(store: Store) {
    create(&store, PhoneCall::TABLE).await;
    let mut present = Vec::new();
    for i in 0..200 {
        let person_id = (i % 7) as u64;
        match call(person_id, i).store(&store).await.expect("store") {
            StoreOutcome::Stored { event_uuid, .. } => present.push((person_id, event_uuid)),
            other => panic!("expected Stored, got {other:?}"),
        }
    }
    let mut keys: Vec<(u64, Uuid)> = present.clone();
    keys.extend((0..50).map(|i| (i % 7, Uuid::new_v4()))); // never stored
                                                           // A fixed scramble (37 is coprime with 250), so present and missing keys interleave.
    let mut keys: Vec<(u64, Uuid)> = (0..250).map(|i| keys[(i * 37) % 250]).collect();
    keys.insert(5, keys[200]); // one key twice
    let present_set: HashSet<(u64, Uuid)> = present.iter().copied().collect();
    let mut expected = Vec::new();
    for key in &keys {
        if present_set.contains(key) && !expected.contains(key) {
            expected.push(*key);
        }
    }
    assert_eq!(expected.len(), 200);

    let (counting, counted) = Counting::over(&store, None);
    let found = counted
        .get_many::<PhoneCall, _>(keys.iter().copied())
        .await
        .expect("get_many");
    let got: Vec<(u64, Uuid)> = found.iter().map(|e| (e.person_id, e.event_uuid)).collect();
    assert_eq!(got, expected);
    for event in &found {
        let i: usize = event.phone_number[4..].parse().expect("number");
        assert_eq!(event.event, call(event.person_id, i));
    }
    let sizes = counting.batch_get_sizes.lock().unwrap().clone();
    let unprocessed = counting.unprocessed_returned.load(Ordering::SeqCst);
    assert!(sizes.iter().all(|&n| n <= 100), "{sizes:?}");
    if unprocessed == 0 {
        assert_eq!(sizes, [100, 100, 50], "250 distinct keys in 3 requests");
    }
    assert!(counted
        .get_many::<PhoneCall, u64>([])
        .await
        .expect("no keys")
        .is_empty());
}

/// Keys a request leaves unprocessed are sent again until every one is read.
async fn get_many_retries_unprocessed_keys(store: Store) {
    create(&store, PhoneCall::TABLE).await;
    let mut keys = Vec::new();
    for i in 0..120 {
        if let StoreOutcome::Stored { event_uuid, .. } =
            call(1, i).store(&store).await.expect("store")
        {
            keys.push((1u64, event_uuid));
        }
    }
    // Each request processes at most 30 keys and hands back the rest.
    let (counting, counted) = Counting::over(&store, Some(30));
    let found = counted
        .get_many::<PhoneCall, _>(keys.iter().copied())
        .await
        .expect("get_many");
    assert_eq!(
        found
            .iter()
            .map(|e| (e.person_id, e.event_uuid))
            .collect::<Vec<_>>(),
        keys
    );
    // 100 keys: 100, 70, 40, 10; then 20 keys: 20.
    assert_eq!(
        *counting.batch_get_sizes.lock().unwrap(),
        [100, 70, 40, 10, 20]
    );
}

/// About 190 KB per item: 100 of them are more than a BatchGetItem response may carry (16 MB).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "big_blob", partition_key = id)]
struct BigBlob {
    id: u64,
    payload: String,
}

/// On a real DynamoDB Local, 100 keys of 190 KB items exceed the 16 MB response limit: the
/// server leaves keys unprocessed and `get_many` sends them again until all are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_many_past_16_mb_retries_what_dynamodb_left_unprocessed() {
    let store = test_store("get_many_16mb").await;
    create(&store, BigBlob::TABLE).await;
    let payload = "x".repeat(190_000);
    let mut keys = Vec::new();
    for id in 0..100u64 {
        let blob = BigBlob {
            id,
            payload: payload.clone(),
        };
        if let StoreOutcome::Stored { event_uuid, .. } = blob.store(&store).await.expect("store") {
            keys.push((id, event_uuid));
        }
    }
    let (counting, counted) = Counting::over(&store, None);
    let found = counted
        .get_many::<BigBlob, _>(keys.iter().copied())
        .await
        .expect("get_many");
    assert_eq!(
        found
            .iter()
            .map(|b| (b.id, b.event_uuid))
            .collect::<Vec<_>>(),
        keys
    );
    let unprocessed = counting.unprocessed_returned.load(Ordering::SeqCst);
    let sizes = counting.batch_get_sizes.lock().unwrap().clone();
    eprintln!(
        "16 MB: requests {sizes:?}, unprocessed keys returned by DynamoDB Local: {unprocessed}"
    );
    assert!(
        unprocessed > 0,
        "DynamoDB Local returned everything in one response: {sizes:?}"
    );
    assert!(sizes.len() >= 2);
}
