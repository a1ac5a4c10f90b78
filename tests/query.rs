//! The typed query builder against a real DynamoDB Local: every operator, pagination past
//! 1 MB, `limit` after filters, cursors, the `created_at` index, reserved words, Scan refusal.

use std::collections::BTreeSet;

use eventosaurus::query::{
    begins_with, between, contains, ge, gt, is_in, le, lt, matches_all, ne, not_contains,
    Operation, Plan,
};
use eventosaurus::table::{self, Billing, CREATED_AT_INDEX};
use eventosaurus::{Error, Storable, Store, StoreOutcome, StoredEvent};
use eventosaurus_testkit::events::PhoneCall;
use eventosaurus_testkit::local::test_store;
use serde::{Deserialize, Serialize};

/// Every attribute name here is a DynamoDB reserved word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "reading", partition_key = name)]
struct Reading {
    name: String,
    status: String,
    count: i64,
    date: String,
    tags: Vec<String>,
}

/// About 1 KB per item, to fill pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "bulk", partition_key = person_id)]
struct Bulk {
    person_id: u64,
    seq: u32,
    marker: bool,
    payload: String,
}

fn reading(i: i64) -> Reading {
    Reading {
        name: "sensor".into(),
        status: if i % 2 == 0 {
            "ok".into()
        } else {
            "failed".into()
        },
        count: i,
        date: format!("2026-01-{:02}", i + 1),
        tags: vec![format!("t{}", i % 3)],
    }
}

fn stored(outcome: StoreOutcome) -> (eventosaurus::Uuid, String) {
    match outcome {
        StoreOutcome::Stored {
            event_uuid,
            created_at,
        } => (event_uuid, created_at.to_string()),
        other => panic!("expected Stored, got {other:?}"),
    }
}

/// Stores events with up to 32 requests in flight.
async fn store_all<E: Storable + Clone>(store: &Store, events: impl IntoIterator<Item = E>) {
    let mut tasks = tokio::task::JoinSet::new();
    for event in events {
        if tasks.len() >= 32 {
            tasks.join_next().await.unwrap().unwrap();
        }
        let store = store.clone();
        tasks.spawn(async move {
            assert!(!event.store(&store).await.expect("store").is_duplicate());
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
}

/// Runs each check on a real DynamoDB Local and on a test-mode store (in memory), which
/// evaluates the same plans.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod dynamodb_local {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::test_store(stringify!($name)).await).await
                }
            )*
        }
        mod test_mode {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(eventosaurus::Store::test()).await
                }
            )*
        }
    };
}

on_both_backends!(
    each_operator_returns_the_right_rows,
    reserved_words_go_through_placeholders,
    cursors_resume_with_no_gaps_and_no_repeats,
    created_at_conditions_use_the_index_and_order_by_time,
    no_partition_key_is_refused_unless_scan_is_allowed,
);

/// Creates a table, except in test mode, where tables need not exist.
async fn create(store: &Store, def: &eventosaurus::TableDef) {
    if store.client().is_ok() {
        table::create_table(store, def, Billing::OnDemand)
            .await
            .unwrap();
    }
}

/// Every item of the plan's partition, raw, to check results against `Condition::matches`.
async fn raw_partition(store: &Store, plan: &Plan) -> Vec<eventosaurus::codec::Item> {
    let partition = &plan.key_condition[..1];
    let everything = Plan::build(
        Reading::TABLE,
        store.environment_prefix(),
        partition,
        &Default::default(),
        Default::default(),
    )
    .unwrap();
    eventosaurus::query::collect_items(store.backend().clone(), everything)
        .await
        .unwrap()
}

async fn each_operator_returns_the_right_rows(store: Store) {
    create(&store, Reading::TABLE).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(stored(reading(i).store(&store).await.unwrap()));
        tokio::time::sleep(std::time::Duration::from_millis(3)).await; // distinct created_at
    }
    // Another partition, which no query below may return.
    Reading {
        name: "other".into(),
        ..reading(3)
    }
    .store(&store)
    .await
    .unwrap();

    let q = || Reading::query().by_name("sensor");
    let counts = |events: Vec<StoredEvent<Reading>>| {
        events.iter().map(|e| e.count).collect::<BTreeSet<i64>>()
    };
    let set = |v: &[i64]| v.iter().copied().collect::<BTreeSet<i64>>();
    let cases = [
        ("EQ", q().by_count(3), set(&[3])),
        (
            "NE",
            q().by_count(ne(3)),
            set(&[0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11]),
        ),
        ("IN", q().by_count(is_in([1, 4, 7, 40])), set(&[1, 4, 7])),
        ("LE", q().by_count(le(2)), set(&[0, 1, 2])),
        ("LT", q().by_count(lt(2)), set(&[0, 1])),
        ("GE", q().by_count(ge(10)), set(&[10, 11])),
        ("GT", q().by_count(gt(9)), set(&[10, 11])), // numeric: "10" > "9"
        (
            "BETWEEN",
            q().by_count(between(2, 10)),
            set(&[2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ),
        (
            "BEGINS_WITH",
            q().by_date(begins_with("2026-01-1")),
            set(&[9, 10, 11]),
        ),
        (
            "CONTAINS string",
            q().by_status(contains("ail")),
            set(&[1, 3, 5, 7, 9, 11]),
        ),
        (
            "CONTAINS list",
            q().by_tags(contains("t1")),
            set(&[1, 4, 7, 10]),
        ),
        (
            "NOT_CONTAINS",
            q().by_status(not_contains("ail")),
            set(&[0, 2, 4, 6, 8, 10]),
        ),
        (
            "EQ string",
            q().by_status("ok").by_count(gt(7)),
            set(&[8, 10]),
        ),
        (
            "range EQ event_uuid",
            q().by_event_uuid(ids[5].0),
            set(&[5]),
        ),
        (
            "range BETWEEN created_at",
            q().by_created_at(between(&ids[2].1, &ids[4].1)),
            set(&[2, 3, 4]),
        ),
        (
            "range GT created_at",
            q().by_created_at(gt(ids[9].1.as_str())),
            set(&[10, 11]),
        ),
        (
            "range LE created_at + filter",
            q().by_created_at(le(&ids[3].1)).by_status("ok"),
            set(&[0, 2]),
        ),
        (
            "BEGINS_WITH event_uuid",
            q().by_event_uuid(begins_with(&ids[7].0.to_string()[..8])),
            set(&[7]),
        ),
    ];
    for (name, query, expected) in cases {
        let plan = query.explain(&store).unwrap();
        assert_eq!(plan.operation, Operation::Query, "{name}");
        let events = query
            .run(&store)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(events.iter().all(|e| e.name == "sensor"), "{name}");
        assert_eq!(counts(events), expected, "{name}: {plan:#?}");
        assert_eq!(
            query.count(&store).await.unwrap(),
            expected.len() as u64,
            "{name}: count"
        );
        // The pure evaluator agrees with DynamoDB on the same items.
        let all: Vec<_> = plan.conditions().cloned().collect();
        let local: BTreeSet<i64> = raw_partition(&store, &plan)
            .await
            .into_iter()
            .filter(|item| matches_all(&all, item))
            .map(|item| item["count"].as_n().unwrap().parse().unwrap())
            .collect();
        assert_eq!(
            local, expected,
            "{name}: Condition::matches disagrees with DynamoDB"
        );
    }
}

async fn reserved_words_go_through_placeholders(store: Store) {
    create(&store, Reading::TABLE).await;
    store_all(&store, (0..4).map(reading)).await;
    let query = Reading::query()
        .by_name("sensor")
        .by_status("ok")
        .by_count(ge(1))
        .by_date(lt("2026-01-04"));
    let plan = query.explain(&store).unwrap();
    let names: BTreeSet<&str> = plan
        .expressions
        .names
        .values()
        .map(String::as_str)
        .collect();
    assert_eq!(names, BTreeSet::from(["count", "date", "name", "status"]));
    let expressions = format!(
        "{:?} {:?}",
        plan.expressions.key_condition_expression, plan.expressions.filter_expression
    );
    for word in ["name", "status", "count", "date"] {
        assert!(
            !expressions.contains(word),
            "{word} must be a placeholder: {expressions}"
        );
    }
    let events = query.run(&store).await.unwrap();
    assert_eq!(events.iter().map(|e| e.count).collect::<Vec<_>>(), [2]);
}

#[tokio::test]
async fn a_partition_over_one_megabyte_is_read_completely() {
    let store = test_store("large").await;
    create(&store, Bulk::TABLE).await;
    let payload = "x".repeat(1000);
    let bulk = |person_id, seq| Bulk {
        person_id,
        seq,
        marker: seq % 100 == 7,
        payload: payload.clone(),
    };
    store_all(
        &store,
        (0..3000)
            .map(|seq| bulk(7, seq))
            .chain((0..20).map(|seq| bulk(8, seq))),
    )
    .await;

    let all = Bulk::query().by_person_id(7u64);
    let events = all.run(&store).await.unwrap();
    assert_eq!(events.len(), 3000);
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<BTreeSet<_>>().len(),
        3000,
        "no repeats"
    );
    assert_eq!(all.count(&store).await.unwrap(), 3000);

    // More than one page: ~3 MB at 1 MB per page.
    let mut pages = all.stream(&store);
    let mut sizes = Vec::new();
    while let Some(page) = pages.next_page().await {
        sizes.push(page.unwrap().events.len());
    }
    assert!(
        sizes.len() >= 3,
        "expected several 1 MB pages, got {sizes:?}"
    );
    assert_eq!(sizes.iter().sum::<usize>(), 3000);

    // A selective filter (30 matches, spread over every page) with a limit: exactly `limit`.
    let markers = Bulk::query().by_person_id(7u64).by_marker(true);
    assert_eq!(markers.count(&store).await.unwrap(), 30);
    assert_eq!(markers.run(&store).await.unwrap().len(), 30);
    for limit in [1, 7, 25, 30] {
        let found = markers.clone().limit(limit).run(&store).await.unwrap();
        assert_eq!(found.len(), limit, "limit {limit}");
        assert!(found.iter().all(|e| e.marker));
        assert_eq!(
            markers.clone().limit(limit).count(&store).await.unwrap(),
            limit as u64
        );
    }
    assert_eq!(
        markers.clone().limit(31).run(&store).await.unwrap().len(),
        30
    );
    // The limit is not DynamoDB's Limit: small pages still find every match.
    assert_eq!(
        markers
            .clone()
            .page_size(100)
            .limit(12)
            .run(&store)
            .await
            .unwrap()
            .len(),
        12
    );
}

async fn cursors_resume_with_no_gaps_and_no_repeats(store: Store) {
    create(&store, PhoneCall::TABLE).await;
    let call = |i: u32| PhoneCall {
        person_id: 5,
        phone_number: format!("555-{}{i:03}", if i % 2 == 0 { "1" } else { "2" }),
        last_called: format!("day {i}"),
    };
    store_all(&store, (0..60).map(call)).await;

    for (name, query) in [
        ("all", PhoneCall::query().by_person_id(5u64)),
        (
            "filtered",
            PhoneCall::query()
                .by_person_id(5u64)
                .by_phone_number(begins_with("555-1")),
        ),
        (
            "index, descending",
            PhoneCall::query()
                .by_person_id(5u64)
                .by_created_at(gt("2000"))
                .descending(),
        ),
    ] {
        let expected: Vec<_> = query
            .run(&store)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event_uuid)
            .collect();
        assert!(!expected.is_empty());

        // Small pages, followed one after the other.
        let mut pages = query.clone().page_size(7).stream(&store);
        let mut seen = Vec::new();
        let mut cursors = Vec::new();
        while let Some(page) = pages.next_page().await {
            let page = page.unwrap();
            seen.extend(page.events.iter().map(|e| e.event_uuid));
            cursors.push((seen.len(), page.cursor));
        }
        assert_eq!(seen, expected, "{name}: pages");
        assert!(cursors.len() > 3, "{name}: several pages");
        // The last page may still carry a cursor when the requests after it matched
        // nothing (DynamoDB cannot know before reading); resuming from it then yields nothing.
        if name == "all" {
            assert!(
                cursors.last().unwrap().1.is_none(),
                "{name}: the last page has no cursor"
            );
        }

        // Resuming from any page's cursor gives exactly the rest.
        for (taken, cursor) in cursors
            .iter()
            .filter_map(|(n, c)| c.as_ref().map(|c| (*n, c)))
        {
            let rest: Vec<_> = query
                .clone()
                .after(cursor)
                .run(&store)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.event_uuid)
                .collect();
            assert_eq!(rest, expected[taken..], "{name}: resume after {taken}");
        }

        // `limit` cuts a page in the middle; its cursor resumes right after the last event.
        let mut chained = Vec::new();
        let mut cursor = None;
        loop {
            let mut next = query.clone().limit(6);
            if let Some(c) = cursor.take() {
                next = next.after(c);
            }
            let mut pages = next.stream(&store);
            let mut last_cursor = None;
            while let Some(page) = pages.next_page().await {
                let page = page.unwrap();
                chained.extend(page.events.iter().map(|e| e.event_uuid));
                last_cursor = page.cursor;
            }
            match last_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(chained, expected, "{name}: limit(6) chained by cursors");
    }

    // A cursor that is not one is an error, not a panic.
    let err = PhoneCall::query()
        .by_person_id(5u64)
        .after("not a cursor")
        .run(&store)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCursor { .. }), "{err:?}");
    let table_cursor = PhoneCall::query()
        .by_person_id(5u64)
        .page_size(2)
        .stream(&store)
        .next_page()
        .await;
    let table_cursor = table_cursor.unwrap().unwrap().cursor.unwrap();
    let err = PhoneCall::query()
        .by_person_id(5u64)
        .by_created_at(gt("2"))
        .after(&table_cursor)
        .run(&store)
        .await;
    assert!(
        matches!(err, Err(Error::InvalidCursor { .. })),
        "an index query needs an index cursor: {err:?}"
    );
}

async fn created_at_conditions_use_the_index_and_order_by_time(store: Store) {
    create(&store, PhoneCall::TABLE).await;
    let mut created = Vec::new();
    for i in 0..6 {
        let call = PhoneCall {
            person_id: 9,
            phone_number: format!("555-{i}"),
            last_called: "x".into(),
        };
        created.push(stored(call.store(&store).await.unwrap()));
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let query = PhoneCall::query()
        .by_person_id(9u64)
        .by_created_at(ge(created[2].1.as_str()));
    let plan = query.explain(&store).unwrap();
    assert_eq!(plan.index.as_deref(), Some(CREATED_AT_INDEX));
    assert_eq!(plan.key_condition.len(), 2);
    assert_eq!(plan.key_condition[1].attribute, "created_at");
    assert_eq!(plan.expressions.filter_expression, None);
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["index"], CREATED_AT_INDEX);

    let numbers = |events: Vec<StoredEvent<PhoneCall>>| {
        events
            .into_iter()
            .map(|e| e.event.phone_number)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        numbers(query.run(&store).await.unwrap()),
        ["555-2", "555-3", "555-4", "555-5"]
    );
    assert_eq!(
        numbers(query.clone().descending().run(&store).await.unwrap()),
        ["555-5", "555-4", "555-3", "555-2"]
    );
    assert_eq!(
        numbers(
            query
                .clone()
                .descending()
                .limit(2)
                .run(&store)
                .await
                .unwrap()
        ),
        ["555-5", "555-4"]
    );
    assert_eq!(
        numbers(query.clone().consistent_read().run(&store).await.unwrap()).len(),
        4
    );

    // On the table, events come in event_uuid order, and descending() reverses it.
    let by_uuid = PhoneCall::query().by_person_id(9u64);
    assert_eq!(by_uuid.explain(&store).unwrap().index, None);
    let ascending: Vec<_> = by_uuid
        .run(&store)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_uuid)
        .collect();
    let mut sorted = ascending.clone();
    sorted.sort_by_key(|u| u.hyphenated().to_string());
    assert_eq!(ascending, sorted);
    let mut descending: Vec<_> = by_uuid
        .clone()
        .descending()
        .run(&store)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_uuid)
        .collect();
    descending.reverse();
    assert_eq!(descending, ascending);

    // One event by key, with a borrowed string key too.
    let neat = eventosaurus_testkit::events::NeatEvent {
        location: "gardens".into(),
        employee_name: "Markus".into(),
        employee_action: "ate grapes".into(),
    };
    create(&store, eventosaurus_testkit::events::NeatEvent::TABLE).await;
    let (neat_uuid, _) = stored(neat.store(&store).await.unwrap());
    let location = String::from("gardens");
    let back = eventosaurus_testkit::events::NeatEvent::get(&store, location.as_str(), neat_uuid)
        .await
        .unwrap();
    assert_eq!(back.map(|e| e.event), Some(neat));

    // One event by key.
    let (uuid, created_at) = &created[1];
    let one = PhoneCall::get(&store, 9u64, *uuid)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        (one.phone_number.as_str(), &one.created_at.to_string()),
        ("555-1", created_at)
    );
}

async fn no_partition_key_is_refused_unless_scan_is_allowed(store: Store) {
    create(&store, PhoneCall::TABLE).await;
    let calls = (0..30).map(|i| PhoneCall {
        person_id: i % 5,
        phone_number: if i % 3 == 0 {
            "555-0100".into()
        } else {
            format!("555-{i}")
        },
        last_called: "x".into(),
    });
    store_all(&store, calls).await;

    let query = PhoneCall::query().by_phone_number("555-0100");
    for err in [
        query.run(&store).await.unwrap_err(),
        query.count(&store).await.unwrap_err(),
        query.explain(&store).unwrap_err(),
    ] {
        match &err {
            Error::ScanRequired { table, .. } => {
                assert_eq!(table, &store.table_name(PhoneCall::TABLE))
            }
            other => panic!("expected ScanRequired, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("allow_scan") && message.contains("person_id"),
            "{message}"
        );
    }
    // A partition key condition other than EQ does not make a Query either.
    assert!(matches!(
        PhoneCall::query().by_person_id(gt(1)).run(&store).await,
        Err(Error::ScanRequired { .. })
    ));

    let scan = query.clone().allow_scan().page_size(4);
    assert_eq!(scan.explain(&store).unwrap().operation, Operation::Scan);
    let found = scan.run(&store).await.unwrap();
    assert_eq!(found.len(), 10);
    assert!(found.iter().all(|e| e.phone_number == "555-0100"));
    assert_eq!(scan.count(&store).await.unwrap(), 10);
    assert_eq!(scan.clone().limit(3).run(&store).await.unwrap().len(), 3);
    let persons = PhoneCall::query().by_person_id(is_in([1, 2])).allow_scan();
    assert_eq!(persons.count(&store).await.unwrap(), 12);
}

#[tokio::test]
async fn a_missing_table_is_the_usual_error() {
    let store = test_store("query-missing").await;
    let err = PhoneCall::query()
        .by_person_id(1u64)
        .run(&store)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TableNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("create-tables"));
}

/// Renamed fields, floats, lists and sets: the builder uses stored names and field types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[serde(rename_all = "camelCase")]
#[eventosaurus(table = "booking", partition_key = hotel_id)]
struct Booking {
    #[serde(rename = "hotel")]
    hotel_id: i32,
    room_rate: f64,
    paid: bool,
    tags: Vec<String>,
    nights: std::collections::BTreeSet<u8>,
    #[serde(skip)]
    scratch: String,
}

#[test]
fn the_builder_uses_stored_names_and_field_types() {
    use eventosaurus::query::{Condition, Operator};
    use eventosaurus_testkit::events::NeatEvent;
    let plan = Booking::query()
        .by_hotel_id(7)
        .by_room_rate(between(9.5, 120.0))
        .by_paid(true)
        .by_tags(contains("sea view"))
        .by_nights(not_contains(3))
        .plan("dev")
        .unwrap();
    use aws_sdk_dynamodb::types::AttributeValue::{Bool, N, S};
    assert_eq!(
        plan.key_condition,
        [Condition::new("hotel", Operator::Eq, vec![N("7".into())])]
    );
    assert_eq!(
        plan.filter,
        [
            Condition::new(
                "roomRate",
                Operator::Between,
                vec![N("9.5".into()), N("120".into())]
            ),
            Condition::new("paid", Operator::Eq, vec![Bool(true)]),
            Condition::new("tags", Operator::Contains, vec![S("sea view".into())]),
            Condition::new("nights", Operator::NotContains, vec![N("3".into())]),
        ]
    );
    // String keys, &str and String values, and a Uuid for event_uuid.
    let uuid = eventosaurus::Uuid::nil();
    let plan = NeatEvent::query()
        .by_location(String::from("gardens"))
        .by_event_uuid(uuid)
        .plan("dev")
        .unwrap();
    assert_eq!(
        plan.key_condition[1],
        Condition::new("event_uuid", Operator::Eq, vec![S(uuid.to_string())])
    );
    let explained = serde_json::to_string(&plan).unwrap();
    assert!(
        explained.contains(r##""key_condition_expression":"#n0 = :v0 AND #n1 = :v1""##),
        "{explained}"
    );
}
