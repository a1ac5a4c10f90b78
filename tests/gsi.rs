//! Global secondary indexes on a real DynamoDB Local and in test mode: a query by an index's
//! partition key is a Query on the index (never a Scan) that finds events across the table's
//! partitions, in the index's order; cursors page over it; consistent reads are refused; an
//! event without an index key is not in it; and an index added to an existing table is
//! backfilled with the old events.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventosaurus::backend::telemetry::SPAN_TARGET;
use eventosaurus::error::QueryProblem;
use eventosaurus::query::{gt, IndexKind, Operation};
use eventosaurus::table::{self, Billing, Drift, TableDef};
use eventosaurus::{Error, Storable, Store, StoreOutcome, StoredEvent, Uuid};
use eventosaurus_testkit::local::test_store;
use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Partitioned by person; found by phone number (newest first by `created_at`) or by carrier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(
    table = "call_log",
    partition_key = person_id,
    index(name = "by_phone", partition_key = phone_number, sort_key = created_at),
    index(name = "by_carrier", partition_key = carrier, sort_key = seq)
)]
struct CallLog {
    person_id: u64,
    phone_number: String,
    /// Left out when empty: such an event is not in `by_carrier`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    carrier: String,
    seq: u32,
}

/// `CallLog`'s table as it was before the indexes were declared.
const WITHOUT_INDEXES: TableDef = TableDef {
    indexes: &[],
    ..*<CallLog as Storable>::TABLE
};

fn call(seq: u32) -> CallLog {
    CallLog {
        person_id: u64::from(seq % 5),
        phone_number: format!("555-{}", seq % 3),
        carrier: match seq % 4 {
            0 => String::new(),
            _ => "acme".into(),
        },
        seq,
    }
}

/// Stores `call(0..n)` one by one (so `created_at` grows with `seq`, give or take a
/// millisecond), returning each id with its event.
async fn store_calls(store: &Store, n: u32) -> Vec<(Uuid, CallLog)> {
    let mut stored = Vec::new();
    for seq in 0..n {
        let event = call(seq);
        match event.store(store).await.unwrap() {
            StoreOutcome::Stored { event_uuid, .. } => stored.push((event_uuid, event)),
            other => panic!("{other:?}"),
        }
    }
    stored
}

fn ids(events: &[StoredEvent<CallLog>]) -> BTreeSet<Uuid> {
    events.iter().map(|e| e.event_uuid).collect()
}

fn expected(stored: &[(Uuid, CallLog)], keep: impl Fn(&CallLog) -> bool) -> BTreeSet<Uuid> {
    stored
        .iter()
        .filter(|(_, e)| keep(e))
        .map(|(id, _)| *id)
        .collect()
}

/// Runs `query` until it returns `want` (a GSI is eventually consistent), for at most 30 s.
async fn eventually(
    query: impl Fn() -> CallLogQuery,
    store: &Store,
    want: &BTreeSet<Uuid>,
) -> Vec<StoredEvent<CallLog>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = query().run(store).await.unwrap();
        if ids(&events) == *want || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A DynamoDB call: its operation and index.
type Call = (String, Option<String>);

/// Every eventosaurus call span, as it was recorded.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<Call>>>);

struct Names<'a>(&'a mut Call);

impl Visit for Names<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "db.operation.name" => self.0 .0 = value.to_owned(),
            "aws.dynamodb.index_name" => self.0 .1 = Some(value.to_owned()),
            _ => {}
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S: Subscriber> Layer<S> for Calls {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        if attrs.metadata().target() == SPAN_TARGET {
            let mut call = (String::new(), None);
            attrs.record(&mut Names(&mut call));
            self.0.lock().unwrap().push(call);
        }
    }

    fn on_record(&self, _: &Id, values: &tracing::span::Record<'_>, _: Context<'_, S>) {
        if let Some(last) = self.0.lock().unwrap().last_mut() {
            values.record(&mut Names(last));
        }
    }
}

async fn index_queries_find_events_across_partitions(store: Store) {
    if store.client().is_ok() {
        table::create_table(&store, CallLog::TABLE, Billing::OnDemand)
            .await
            .unwrap();
    }
    let stored = store_calls(&store, 30).await;
    let by_phone = || CallLog::query().by_phone_number("555-1");
    let want = expected(&stored, |e| e.phone_number == "555-1");
    assert_eq!(want.len(), 10);

    let plan = by_phone().explain(&store).unwrap();
    assert_eq!(plan.operation, Operation::Query);
    assert_eq!(plan.index.as_deref(), Some("by_phone"));
    assert_eq!(plan.index_kind, Some(IndexKind::Global));

    let calls = Calls::default();
    let subscriber = tracing_subscriber::registry().with(calls.clone());
    let guard = tracing::subscriber::set_default(subscriber);
    let found = eventually(by_phone, &store, &want).await;
    drop(guard);
    assert_eq!(ids(&found), want);
    let persons: BTreeSet<u64> = found.iter().map(|e| e.person_id).collect();
    assert_eq!(persons.len(), 5, "the index spans the table's partitions");
    let created: Vec<_> = found.iter().map(|e| e.created_at).collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "index order");
    if store.client().is_ok() {
        let calls = calls.0.lock().unwrap().clone();
        assert!(!calls.is_empty());
        for (operation, index) in &calls {
            assert_eq!(operation, "Query", "{calls:?}");
            assert_eq!(index.as_deref(), Some("by_phone"), "{calls:?}");
        }
    }

    let newest_first = by_phone().descending().run(&store).await.unwrap();
    let mut reversed = created.clone();
    reversed.reverse();
    let newest: Vec<_> = newest_first.iter().map(|e| e.created_at).collect();
    assert_eq!(newest, reversed);
    assert_eq!(by_phone().count(&store).await.unwrap(), 10);

    // The index's sort key as the range key condition; the table's key as a filter.
    let middle = created[5];
    let later = by_phone().by_created_at(gt(middle)).by_person_id(1u64);
    let plan = later.explain(&store).unwrap();
    assert_eq!(plan.key_condition.len(), 2);
    assert_eq!(plan.filter.len(), 1);
    let want_later = expected(&stored, |e| e.phone_number == "555-1" && e.person_id == 1);
    let got: BTreeSet<Uuid> = ids(&later.run(&store).await.unwrap());
    let want_later: BTreeSet<Uuid> = want_later
        .into_iter()
        .filter(|id| {
            found
                .iter()
                .any(|e| e.event_uuid == *id && e.created_at > middle)
        })
        .collect();
    assert_eq!(got, want_later);

    // An event without the carrier attribute is not in by_carrier; the others come by seq.
    let acme = CallLog::query()
        .by_carrier("acme")
        .run(&store)
        .await
        .unwrap();
    let seqs: Vec<u32> = acme.iter().map(|e| e.seq).collect();
    let want_seqs: Vec<u32> = (0..30).filter(|s| s % 4 != 0).collect();
    assert_eq!(seqs, want_seqs);
    let missing = CallLog::query()
        .by_carrier("")
        .plan(store.environment_prefix())
        .unwrap_err();
    assert!(matches!(
        missing,
        Error::InvalidQuery {
            problem: QueryProblem::EmptyKeyValue { .. },
            ..
        }
    ));
}

async fn cursors_page_over_the_index(store: Store) {
    if store.client().is_ok() {
        table::create_table(&store, CallLog::TABLE, Billing::OnDemand)
            .await
            .unwrap();
    }
    let stored = store_calls(&store, 24).await;
    let want = expected(&stored, |e| !e.carrier.is_empty());
    let query = || CallLog::query().by_carrier("acme").page_size(4);
    eventually(query, &store, &want).await;
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let mut q = query().limit(5);
        if let Some(cursor) = cursor.take() {
            q = q.after(cursor);
        }
        let mut stream = q.pages(&store);
        let Some(page) = stream.next_page().await else {
            break;
        };
        let page = page.unwrap();
        pages += 1;
        seen.extend(page.events.iter().map(|e| e.event.seq));
        match page.cursor {
            Some(next) => {
                let key: serde_json::Value = serde_json::from_str(next.as_str()).unwrap();
                let mut names: Vec<&String> = key.as_object().unwrap().keys().collect();
                names.sort();
                assert_eq!(names, ["carrier", "event_uuid", "person_id", "seq"]);
                cursor = Some(next);
            }
            None => break,
        }
    }
    let want_seqs: Vec<u32> = (0..24).filter(|s| s % 4 != 0).collect();
    assert_eq!(seen, want_seqs, "no gaps, no repeats, in seq order");
    assert!(pages >= 4, "{pages} pages");

    let err = query().consistent_read().run(&store).await.unwrap_err();
    match &err {
        Error::InvalidQuery {
            problem: QueryProblem::ConsistentReadOnGlobalIndex { index },
            ..
        } => assert_eq!(index, "by_carrier"),
        other => panic!("{other:?}"),
    }
    // By the table's partition key, a consistent read is fine.
    let mine = CallLog::query()
        .by_person_id(1u64)
        .by_carrier("acme")
        .consistent_read()
        .run(&store)
        .await
        .unwrap();
    assert_eq!(
        ids(&mine),
        expected(&stored, |e| e.person_id == 1 && !e.carrier.is_empty())
    );
}

#[tokio::test]
async fn index_queries_on_dynamodb_local() {
    index_queries_find_events_across_partitions(test_store("gsi-query").await).await;
}

#[tokio::test]
async fn index_queries_in_test_mode() {
    index_queries_find_events_across_partitions(Store::test()).await;
}

#[tokio::test]
async fn index_cursors_on_dynamodb_local() {
    cursors_page_over_the_index(test_store("gsi-cursor").await).await;
}

#[tokio::test]
async fn index_cursors_in_test_mode() {
    cursors_page_over_the_index(Store::test()).await;
}

#[tokio::test]
async fn an_empty_index_key_is_refused_before_sending() {
    for store in [Store::test(), test_store("gsi-empty").await] {
        let event = CallLog {
            phone_number: String::new(),
            ..call(1)
        };
        match event.store(&store).await {
            Err(Error::InvalidValue {
                path, violation, ..
            }) => {
                assert_eq!(path, "phone_number");
                assert_eq!(
                    violation,
                    eventosaurus::error::Violation::IndexKeyEmpty { index: "by_phone" }
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn an_index_added_to_an_existing_table_is_backfilled() {
    let store = test_store("gsi-add").await;
    table::create_table(&store, &WITHOUT_INDEXES, Billing::OnDemand)
        .await
        .unwrap();
    let stored = store_calls(&store, 12).await;
    let drift = table::check_table(&store, CallLog::TABLE).await.unwrap();
    assert_eq!(
        drift,
        [
            Drift::MissingGlobalIndex {
                index: "by_phone".into()
            },
            Drift::MissingGlobalIndex {
                index: "by_carrier".into()
            },
        ]
    );
    let mut statuses = Vec::new();
    let ready = table::ensure_table(&store, CallLog::TABLE, Billing::OnDemand, None, &mut |p| {
        statuses.push((p.index.to_owned(), p.status.map(str::to_owned)))
    })
    .await
    .unwrap();
    assert_eq!(ready.outcome, table::CreateOutcome::AlreadyExists);
    assert_eq!(ready.added_indexes, ["by_phone", "by_carrier"]);
    for index in ["by_phone", "by_carrier"] {
        let last = statuses.iter().rev().find(|(i, _)| i == index).unwrap();
        assert_eq!(last.1.as_deref(), Some("ACTIVE"), "{statuses:?}");
    }
    assert!(table::check_table(&store, CallLog::TABLE)
        .await
        .unwrap()
        .is_empty());
    // The old events appear in the new index once it is backfilled.
    let want = expected(&stored, |e| e.phone_number == "555-2");
    let found = eventually(|| CallLog::query().by_phone_number("555-2"), &store, &want).await;
    assert_eq!(ids(&found), want);
    // Again: nothing to add.
    let again = table::ensure_table(&store, CallLog::TABLE, Billing::OnDemand, None, &mut |_| {})
        .await
        .unwrap();
    assert!(again.added_indexes.is_empty());
}
