//! One behaviour suite, two backends: test mode (`Store::test()`, in memory) and a real
//! DynamoDB Local. Every behaviour runs on both, so test mode cannot drift from DynamoDB.

use eventosaurus::error::{CursorProblem, KeyValueProblem, QueryProblem};
use eventosaurus::query::{between, gt, Cursor};
use eventosaurus::table::{self, Billing};
use eventosaurus::{Error, Storable, Store, StoreOutcome};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::local::{create_example_tables, test_store};
use serde::{Deserialize, Serialize};

/// Integers beyond an `f64`'s 2^53. The id digests only `action`, so two accounts that
/// differ in the last digit store the same `event_uuid` under two partition keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "ledger", partition_key = account, composite_key(action))]
struct Ledger {
    account: u64,
    action: String,
    amount: u64,
}

/// 2^53 + 1 and 2^53: one `f64`, two numbers.
const ODD: u64 = 9_007_199_254_740_993;
const EVEN: u64 = 9_007_199_254_740_992;

/// Writes behaviours run against.
enum Backend {
    Memory,
    DynamoLocal,
}

async fn store_for(backend: Backend, name: &str) -> Store {
    match backend {
        Backend::Memory => Store::test(),
        Backend::DynamoLocal => {
            let store = test_store(name).await;
            create_example_tables(&store).await;
            table::create_table(&store, Ledger::TABLE, Billing::OnDemand)
                .await
                .expect("create the ledger table");
            store
        }
    }
}

/// Defines each behaviour once and a test per backend: `<name>::memory` and `<name>::dynamodb_local`.
macro_rules! behaviours {
    ($(async fn $name:ident($store:ident: Store) $body:block)*) => {$(
        mod $name {
            use super::*;
            async fn behaviour($store: Store) $body

            #[tokio::test]
            async fn memory() {
                behaviour(store_for(Backend::Memory, stringify!($name)).await).await;
            }

            #[tokio::test]
            async fn dynamodb_local() {
                behaviour(store_for(Backend::DynamoLocal, stringify!($name)).await).await;
            }
        }
    )*};
}

fn neat(action: &str) -> NeatEvent {
    NeatEvent {
        location: "gardens".into(),
        employee_name: "Markus".into(),
        employee_action: action.into(),
    }
}

fn call(person_id: u64, n: u32) -> PhoneCall {
    PhoneCall {
        person_id,
        phone_number: format!("555-{n:04}"),
        last_called: format!("2026-11-{:02}", n % 28 + 1),
    }
}

behaviours! {
    async fn composite_key_dedup(store: Store) {
        let first = neat("ate grapes").store(&store).await.unwrap();
        let second = neat("ate grapes").store(&store).await.unwrap();
        assert!(matches!(first, StoreOutcome::Stored { .. }), "{first:?}");
        assert_eq!(second, StoreOutcome::Duplicate { event_uuid: first.event_uuid() });
        assert_eq!(first.event_uuid().to_string(), eventosaurus::event_id::TEST_VECTOR_UUID);
        // The first write wins: its created_at is the one stored.
        let StoreOutcome::Stored { created_at, .. } = &first else { unreachable!() };
        let back = store.get::<NeatEvent>("gardens", first.event_uuid()).await.unwrap().unwrap();
        assert_eq!(&back.created_at, created_at);
        assert_eq!(back.event, neat("ate grapes"));
    }

    async fn random_ids_never_collide(store: Store) {
        let a = call(1, 1).store(&store).await.unwrap();
        let b = call(1, 1).store(&store).await.unwrap();
        assert!(matches!(a, StoreOutcome::Stored { .. }) && matches!(b, StoreOutcome::Stored { .. }));
        assert_ne!(a.event_uuid(), b.event_uuid());
        for outcome in [a, b] {
            let back = store.get::<PhoneCall>(1u64, outcome.event_uuid()).await.unwrap().unwrap();
            assert_eq!(back.event, call(1, 1));
        }
    }

    async fn get_by_key(store: Store) {
        let stored = call(9, 3).store(&store).await.unwrap();
        assert!(store.get::<PhoneCall>(9u64, stored.event_uuid()).await.unwrap().is_some());
        assert!(store.get::<PhoneCall>(8u64, stored.event_uuid()).await.unwrap().is_none());
        let unknown = eventosaurus::event_id::random_event_uuid();
        assert!(store.get::<PhoneCall>(9u64, unknown).await.unwrap().is_none());
    }

    async fn numbers_are_compared_exactly(store: Store) {
        let odd = Ledger { account: ODD, action: "open".into(), amount: ODD };
        let even = Ledger { account: EVEN, action: "open".into(), amount: EVEN };
        let first = odd.store(&store).await.unwrap();
        let second = even.store(&store).await.unwrap();
        assert_eq!(first.event_uuid(), second.event_uuid(), "same id, two partitions");
        assert!(matches!(second, StoreOutcome::Stored { .. }), "not a duplicate: {second:?}");
        let back = store.get::<Ledger>(ODD, first.event_uuid()).await.unwrap().unwrap();
        assert_eq!(back.event, odd);
        let back = store.get::<Ledger>(EVEN, first.event_uuid()).await.unwrap().unwrap();
        assert_eq!(back.event, even);
        let found = Ledger::query().by_account(ODD).run(&store).await.unwrap();
        assert_eq!(found.iter().map(|e| &e.event).collect::<Vec<_>>(), [&odd]);
        let above = |account| Ledger::query().by_account(account).by_amount(gt(EVEN));
        assert_eq!(above(ODD).count(&store).await.unwrap(), 1);
        assert_eq!(above(EVEN).count(&store).await.unwrap(), 0);
        let scan = Ledger::query().by_amount(ODD).allow_scan().run(&store).await.unwrap();
        assert_eq!(scan.len(), 1);
        assert_eq!(scan[0].event, odd);
    }

    async fn between_high_low_is_an_invalid_query(store: Store) {
        call(1, 1).store(&store).await.unwrap();
        let key = PhoneCall::query().by_person_id(1u64).by_event_uuid(between("z", "a"));
        let filter = PhoneCall::query().by_person_id(1u64).by_phone_number(between("9", "1"));
        let scan = PhoneCall::query().by_person_id(between(9u64, 1)).allow_scan();
        for (query, attribute) in [(key, "event_uuid"), (filter, "phone_number"), (scan, "person_id")] {
            let expected = QueryProblem::BetweenBoundsReversed { attribute: attribute.into() };
            for err in [query.run(&store).await.unwrap_err(), query.count(&store).await.unwrap_err()] {
                assert!(matches!(&err, Error::InvalidQuery { problem, .. } if *problem == expected), "{err:?}");
            }
        }
    }

    async fn an_empty_key_value_is_an_invalid_query(store: Store) {
        neat("ate grapes").store(&store).await.unwrap();
        let partition = NeatEvent::query().by_location("");
        let range = NeatEvent::query().by_location("gardens").by_created_at(gt(""));
        for (query, attribute) in [(partition, "location"), (range, "created_at")] {
            let err = query.run(&store).await.unwrap_err();
            assert!(
                matches!(&err, Error::InvalidQuery { problem: QueryProblem::EmptyKeyValue { attribute: a, .. }, .. } if a == attribute),
                "{err:?}"
            );
        }
        // In a filter, an empty string is an ordinary value.
        let filter = NeatEvent::query().by_location("gardens").by_employee_name("");
        assert!(filter.run(&store).await.unwrap().is_empty());
    }

    async fn a_cursor_from_another_partition_is_an_invalid_cursor(store: Store) {
        for n in 0..3 {
            call(1, n).store(&store).await.unwrap();
            call(2, n).store(&store).await.unwrap();
        }
        let mut pages = PhoneCall::query().by_person_id(1u64).page_size(1).stream(&store);
        let cursor = pages.next_page().await.unwrap().unwrap().cursor.expect("more pages");
        let resumed = PhoneCall::query().by_person_id(1u64).after(&cursor).run(&store).await.unwrap();
        assert_eq!(resumed.len(), 2);
        let err = PhoneCall::query().by_person_id(2u64).after(&cursor).run(&store).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidCursor { problem: CursorProblem::OutsideKeyCondition { attribute, .. } } if attribute == "person_id"),
            "{err:?}"
        );
        let huge = Cursor::from(r#"{"person_id":{"N":"1e9223372036854775807"},"event_uuid":{"S":"a"}}"#);
        let err = PhoneCall::query().by_person_id(1u64).after(huge).run(&store).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidCursor { problem: CursorProblem::BadKeyValue { problem: KeyValueProblem::InvalidNumber(_), .. } }),
            "{err:?}"
        );
        assert!(err.to_string().contains("too large"), "{err}");
    }

    async fn created_at_is_ordered_and_fixed_width(store: Store) {
        let mut previous: Option<eventosaurus::CreatedAt> = None;
        for n in 0..5 {
            let StoreOutcome::Stored { created_at, .. } = call(2, n).store(&store).await.unwrap() else {
                panic!("expected Stored")
            };
            assert_eq!(created_at.to_string().len(), 24);
            if let Some(previous) = previous {
                assert!(created_at >= previous, "{created_at} < {previous}");
                assert!(created_at.to_string() >= previous.to_string(), "text order is time order");
            }
            previous = Some(created_at);
        }
    }

    async fn events_lists_what_was_stored(store: Store) {
        call(5, 1).store(&store).await.unwrap();
        neat("ate grapes").store(&store).await.unwrap();
        neat("ate grapes").store(&store).await.unwrap();
        let calls = store.events::<PhoneCall>().await.unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].event, call(5, 1));
        assert_eq!(
            store.events::<NeatEvent>().await.unwrap().len(),
            1,
            "the duplicate was not stored"
        );
    }
}

/// The requests refused above as invalid queries and cursors are refused by DynamoDB Local
/// itself (sent raw, past the planner), so that test mode is not stricter than DynamoDB.
#[tokio::test]
async fn dynamodb_local_refuses_what_test_mode_refuses() {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    let store = store_for(Backend::DynamoLocal, "raw-validation").await;
    for n in 0..2 {
        call(1, n).store(&store).await.unwrap();
    }
    let calls = store.table_name(PhoneCall::TABLE);
    let neat_events = store.table_name(NeatEvent::TABLE);
    let mut page = PhoneCall::query()
        .by_person_id(1u64)
        .page_size(1)
        .stream(&store);
    let cursor = page
        .next_page()
        .await
        .unwrap()
        .unwrap()
        .cursor
        .expect("more pages");
    let mut start = eventosaurus::codec::Item::new();
    for (name, value) in serde_json::from_str::<serde_json::Value>(cursor.as_str())
        .unwrap()
        .as_object()
        .unwrap()
    {
        start.insert(
            name.clone(),
            eventosaurus::query::json::key_value_from_json(value).unwrap(),
        );
    }
    let query = |table: &str, key: &str| {
        store
            .client()
            .expect("a DynamoDB store")
            .query()
            .table_name(table)
            .key_condition_expression(key)
            .expression_attribute_names("#pk", "person_id")
    };
    let cases = [
        (
            "BETWEEN high, low in a key condition",
            query(&calls, "#pk = :p AND event_uuid BETWEEN :h AND :l")
                .expression_attribute_values(":p", N("1".into()))
                .expression_attribute_values(":h", S("z".into()))
                .expression_attribute_values(":l", S("a".into())),
        ),
        (
            "BETWEEN high, low in a filter",
            query(&calls, "#pk = :p")
                .filter_expression("phone_number BETWEEN :h AND :l")
                .expression_attribute_values(":p", N("1".into()))
                .expression_attribute_values(":h", S("9".into()))
                .expression_attribute_values(":l", S("1".into())),
        ),
        (
            "an empty partition key",
            query(&neat_events, "#pk = :p")
                .expression_attribute_names("#pk", "location")
                .expression_attribute_values(":p", S(String::new())),
        ),
        (
            "an empty range value on the index",
            query(&calls, "#pk = :p AND created_at > :e")
                .index_name(table::CREATED_AT_INDEX)
                .expression_attribute_values(":p", N("1".into()))
                .expression_attribute_values(":e", S(String::new())),
        ),
        (
            "a cursor from another partition",
            query(&calls, "#pk = :p")
                .expression_attribute_values(":p", N("2".into()))
                .set_exclusive_start_key(Some(start)),
        ),
        (
            "a number beyond DynamoDB's range",
            query(&calls, "#pk = :p")
                .expression_attribute_values(":p", N("1e9223372036854775807".into())),
        ),
    ];
    for (case, request) in cases {
        let err = request.send().await.expect_err(case);
        assert_eq!(err.code(), Some("ValidationException"), "{case}: {err:?}");
    }
}
