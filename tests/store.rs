//! The write path against a real DynamoDB Local: conditional store, dedup, table shape,
//! and the errors a user meets.

use eventosaurus::codec::MAX_EVENT_SIZE;
use eventosaurus::table::{self, Billing, CreateOutcome, CREATED_AT_INDEX};
use eventosaurus::{Error, Storable, StoreOutcome};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::local::test_store;

fn neat() -> NeatEvent {
    NeatEvent {
        location: "gardens".into(),
        employee_name: "Markus".into(),
        employee_action: "ate grapes".into(),
    }
}

async fn item_count(store: &eventosaurus::Store, def: &eventosaurus::TableDef) -> i32 {
    store
        .client()
        .expect("a DynamoDB store")
        .scan()
        .table_name(store.table_name(def))
        .consistent_read(true)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .expect("scan")
        .count()
}

#[tokio::test]
async fn store_then_read_back_every_attribute() {
    let store = test_store("read-back").await;
    table::create_table(&store, PhoneCall::TABLE, Billing::OnDemand)
        .await
        .unwrap();
    let call = PhoneCall {
        person_id: 42,
        phone_number: "555-0199".into(),
        last_called: "2026-11-23".into(),
    };
    let before = eventosaurus::CreatedAt::now();
    let outcome = call.store(&store).await.unwrap();
    let StoreOutcome::Stored {
        event_uuid,
        created_at,
    } = outcome
    else {
        panic!("expected Stored, got {outcome:?}")
    };
    assert_eq!(
        event_uuid.get_version_num(),
        4,
        "no composite key: random v4"
    );
    assert!(
        created_at >= before && created_at.to_string().len() == 24,
        "{created_at}"
    );

    // Typed read.
    let back = store
        .get::<PhoneCall>(42u64, event_uuid)
        .await
        .unwrap()
        .expect("stored item");
    assert_eq!(back.event, call);
    assert_eq!(back.event_uuid, event_uuid);
    assert_eq!(back.created_at, created_at);

    // Raw read: every attribute, with its DynamoDB type.
    let raw = store
        .client()
        .expect("a DynamoDB store")
        .get_item()
        .table_name(store.table_name(PhoneCall::TABLE))
        .key(
            "person_id",
            aws_sdk_dynamodb::types::AttributeValue::N("42".into()),
        )
        .key(
            "event_uuid",
            aws_sdk_dynamodb::types::AttributeValue::S(event_uuid.to_string()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("raw item");
    let mut names: Vec<&str> = raw.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "created_at",
            "event_uuid",
            "last_called",
            "person_id",
            "phone_number"
        ]
    );
    assert_eq!(raw["person_id"].as_n().unwrap(), "42");
    assert_eq!(raw["phone_number"].as_s().unwrap(), "555-0199");
    assert_eq!(raw["created_at"].as_s().unwrap(), &created_at.to_string());

    // A different key reads nothing.
    assert!(store
        .get::<PhoneCall>(43u64, event_uuid)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn duplicate_composite_store_leaves_one_item() {
    let store = test_store("duplicate").await;
    table::create_table(&store, NeatEvent::TABLE, Billing::OnDemand)
        .await
        .unwrap();
    let first = neat().store(&store).await.unwrap();
    let second = neat().store(&store).await.unwrap();
    assert!(matches!(first, StoreOutcome::Stored { .. }), "{first:?}");
    assert_eq!(
        second,
        StoreOutcome::Duplicate {
            event_uuid: first.event_uuid()
        }
    );
    assert_eq!(
        first.event_uuid().to_string(),
        eventosaurus::event_id::TEST_VECTOR_UUID
    );
    assert_eq!(item_count(&store, NeatEvent::TABLE).await, 1);

    // The first write wins: the stored created_at is the first one.
    let StoreOutcome::Stored { created_at, .. } = first else {
        unreachable!()
    };
    let back = store
        .get::<NeatEvent>("gardens", second.event_uuid())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.created_at, created_at);

    // A different action is a different event.
    let other = NeatEvent {
        employee_action: "planted grapes".into(),
        ..neat()
    };
    assert!(!other.store(&store).await.unwrap().is_duplicate());
    assert_eq!(item_count(&store, NeatEvent::TABLE).await, 2);
}

#[tokio::test]
async fn two_hundred_concurrent_stores_leave_exactly_one_item() {
    let store = test_store("concurrent").await;
    table::create_table(&store, NeatEvent::TABLE, Billing::OnDemand)
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let store = store.clone();
        tasks.spawn(async move { neat().store(&store).await });
    }
    let (mut stored, mut duplicates) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        match result.unwrap().unwrap() {
            StoreOutcome::Stored { .. } => stored += 1,
            StoreOutcome::Duplicate { .. } => duplicates += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((stored, duplicates), (1, 199));
    assert_eq!(item_count(&store, NeatEvent::TABLE).await, 1);
}

#[tokio::test]
async fn table_has_exact_key_schema_and_lsi() {
    let store = test_store("schema").await;
    assert_eq!(
        table::create_table(&store, PhoneCall::TABLE, Billing::OnDemand)
            .await
            .unwrap(),
        CreateOutcome::Created
    );
    assert_eq!(
        table::create_table(&store, PhoneCall::TABLE, Billing::OnDemand)
            .await
            .unwrap(),
        CreateOutcome::AlreadyExists,
        "create is idempotent"
    );
    let live = table::describe_table(&store, PhoneCall::TABLE)
        .await
        .unwrap()
        .expect("table exists");
    assert_eq!(
        live.table_name(),
        Some(store.table_name(PhoneCall::TABLE).as_str())
    );
    let keys: Vec<(String, String)> = live
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("person_id".into(), "HASH".into()),
            ("event_uuid".into(), "RANGE".into())
        ]
    );
    let mut types: Vec<(String, String)> = live
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            ("created_at".into(), "S".into()),
            ("event_uuid".into(), "S".into()),
            ("person_id".into(), "N".into())
        ]
    );
    let lsis = live.local_secondary_indexes();
    assert_eq!(lsis.len(), 1);
    assert_eq!(lsis[0].index_name(), Some(CREATED_AT_INDEX));
    let lsi_keys: Vec<(&str, &str)> = lsis[0]
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(lsi_keys, [("person_id", "HASH"), ("created_at", "RANGE")]);
    assert_eq!(
        lsis[0]
            .projection()
            .and_then(|p| p.projection_type())
            .map(|p| p.as_str()),
        Some("ALL")
    );
    let billing = live
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map(|b| b.as_str());
    assert_eq!(billing, Some("PAY_PER_REQUEST"));
    // And the definition agrees with the live table.
    let spec = PhoneCall::TABLE.spec(store.environment_prefix(), Billing::OnDemand);
    assert!(table::drift(&spec, Some(&live)).is_empty());

    assert!(table::delete_table(&store, PhoneCall::TABLE).await.unwrap());
    assert!(table::describe_table(&store, PhoneCall::TABLE)
        .await
        .unwrap()
        .is_none());
    assert!(!table::delete_table(&store, PhoneCall::TABLE).await.unwrap());
}

#[tokio::test]
async fn missing_table_error_names_create_tables() {
    let store = test_store("missing").await;
    let err = neat().store(&store).await.unwrap_err();
    assert!(
        matches!(err, Error::TableNotFound { ref table } if table.ends_with("_neat_event")),
        "{err:?}"
    );
    assert!(err.to_string().contains("create-tables"), "{err}");
}

#[tokio::test]
async fn item_over_400_kb_is_rejected_before_sending() {
    let store = test_store("too-large").await;
    // No table yet: if a request were sent, the error would be TableNotFound instead.
    for len in [400 * 1024, MAX_EVENT_SIZE] {
        let huge = PhoneCall {
            person_id: 1,
            phone_number: "x".repeat(len),
            last_called: "today".into(),
        };
        match huge.store(&store).await.unwrap_err() {
            Error::ItemTooLarge { size, limit, .. } => {
                assert_eq!(limit, MAX_EVENT_SIZE);
                assert!(size > limit);
            }
            other => panic!("expected ItemTooLarge for {len} bytes, got {other:?}"),
        }
    }
    // The largest event we accept, DynamoDB Local accepts too (item + LSI copy = 400 KB).
    table::create_table(&store, PhoneCall::TABLE, Billing::OnDemand)
        .await
        .unwrap();
    let overhead = item_size(&PhoneCall {
        person_id: 1,
        phone_number: String::new(),
        last_called: "today".into(),
    });
    let fits = PhoneCall {
        person_id: 1,
        phone_number: "x".repeat(MAX_EVENT_SIZE - overhead),
        last_called: "today".into(),
    };
    assert!(matches!(
        fits.store(&store).await.unwrap(),
        StoreOutcome::Stored { .. }
    ));
    let over = PhoneCall {
        phone_number: "x".repeat(MAX_EVENT_SIZE - overhead + 1),
        ..fits
    };
    assert!(matches!(
        over.store(&store).await.unwrap_err(),
        Error::ItemTooLarge { .. }
    ));
}

fn item_size(event: &PhoneCall) -> usize {
    let id = eventosaurus::event_id::random_event_uuid();
    let item =
        eventosaurus::codec::encode(event, "t", &id, &eventosaurus::CreatedAt::now()).unwrap();
    eventosaurus::codec::item_size(&item)
}

#[tokio::test]
async fn unreachable_endpoint_is_a_network_error_naming_it() {
    // A port nothing listens on: bind one, learn it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let store = eventosaurus_testkit::local::store_at(&endpoint, "unreachable").await;
    let err = neat().store(&store).await.unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
    assert!(err.to_string().contains(&endpoint), "{err}");
    assert!(err.is_retryable());
}
