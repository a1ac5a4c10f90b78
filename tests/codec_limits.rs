//! DynamoDB's rules for values, checked at `store()`, against a real DynamoDB Local.
//!
//! Two directions for every boundary:
//! * what eventosaurus accepts, DynamoDB Local accepts too (our rules are not stricter);
//! * what eventosaurus refuses, DynamoDB Local refuses too (the rule is real), and a
//!   refused event writes nothing.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use eventosaurus::codec::{self, Item, Violation, MAX_EVENT_SIZE};
use eventosaurus::persist::{AsyncQueue, QueueOptions};
use eventosaurus::table::{self, Billing, CREATED_AT, EVENT_UUID};
use eventosaurus::{Error, Storable, Store, StoreOutcome};
use eventosaurus_testkit::local::{count_items, test_store};
use serde::{Deserialize, Serialize};

/// An event with a string key, a float, nested readings and a free-form payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "probe", partition_key = key)]
struct Probe {
    key: String,
    value: f64,
    readings: Vec<Reading>,
    payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    value: f64,
}

fn probe(key: &str, value: f64) -> Probe {
    Probe {
        key: key.to_owned(),
        value,
        readings: Vec::new(),
        payload: serde_json::Value::Null,
    }
}

async fn store_with_table(name: &str) -> Store {
    let store = test_store(name).await;
    table::create_table(&store, Probe::TABLE, Billing::OnDemand)
        .await
        .expect("create the probe table");
    store
}

/// A raw item of the probe table with one extra attribute (no eventosaurus check).
fn raw_item(key: &str, name: &str, value: AttributeValue) -> Item {
    let mut item = Item::new();
    item.insert("key".into(), AttributeValue::S(key.into()));
    item.insert(
        EVENT_UUID.into(),
        AttributeValue::S(eventosaurus::event_id::random_event_uuid().to_string()),
    );
    item.insert(
        CREATED_AT.into(),
        AttributeValue::S(eventosaurus::CreatedAt::now().to_string()),
    );
    item.insert(name.into(), value);
    item
}

/// PutItem with the raw SDK: `Ok` or DynamoDB's error message.
async fn raw_put(store: &Store, item: Item) -> Result<(), String> {
    store
        .client()
        .expect("a DynamoDB store")
        .put_item()
        .table_name(store.table_name(Probe::TABLE))
        .set_item(Some(item))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            use aws_sdk_dynamodb::error::ProvideErrorMetadata;
            format!("{:?}: {:?}", e.code(), e.message())
        })
}

fn nested_arrays(levels: usize) -> serde_json::Value {
    (0..levels).fold(serde_json::json!(1), |v, _| serde_json::json!([v]))
}

fn nested_lists(levels: usize) -> AttributeValue {
    (0..levels).fold(AttributeValue::N("1".into()), |v, _| {
        AttributeValue::L(vec![v])
    })
}

#[tokio::test]
async fn nan_is_refused_at_store_and_nothing_is_written() {
    let store = store_with_table("nan").await;
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = probe("k", value).store(&store).await.unwrap_err();
        match &err {
            Error::InvalidValue {
                path, violation, ..
            } => {
                assert_eq!(path, "value");
                assert!(
                    matches!(violation, Violation::NotANumber { .. }),
                    "{violation:?}"
                );
            }
            other => panic!("expected InvalidValue, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains("`value`") && message.contains("NaN and infinities"),
            "{message}"
        );
    }
    // A NaN deep in the event is named by its path.
    let mut deep = probe("k", 1.0);
    deep.readings = [1.0, 2.0, 3.0, f64::NAN]
        .into_iter()
        .map(|value| Reading { value })
        .collect();
    let err = deep.store(&store).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidValue { path, .. } if path == "readings[3].value"),
        "{err:?}"
    );
    deep.readings[3].value = 4.0;
    deep.store(&store).await.expect("the fixed event is stored");
    assert_eq!(
        count_items(&store, Probe::TABLE).await,
        1,
        "only the valid event"
    );
}

#[tokio::test]
async fn queued_batch_of_200_with_8_nan_stores_the_192_others() {
    let store = store_with_table("nan-queue").await;
    let queue = AsyncQueue::start(&store, QueueOptions::default().concurrency(4));
    let queued = store.with_persistor(queue.clone());
    let (mut refused, mut enqueued) = (0, 0);
    for i in 0..200u32 {
        let value = if i % 25 == 7 { f64::NAN } else { f64::from(i) };
        match probe(&format!("k{}", i % 10), value).store(&queued).await {
            Ok(StoreOutcome::Enqueued { .. }) => enqueued += 1,
            Err(Error::InvalidValue { path, .. }) if value.is_nan() => {
                assert_eq!(path, "value");
                refused += 1;
            }
            other => panic!("event {i}: unexpected {other:?}"),
        }
    }
    queue.flush().await;
    let stats = queue.stats();
    queue.shutdown().await;
    assert_eq!((refused, enqueued), (8, 192));
    assert_eq!(stats.enqueued, 192, "refused events never reach the queue");
    assert_eq!(stats.failed, 0, "{stats:?}");
    assert_eq!(count_items(&store, Probe::TABLE).await, 192);
}

#[tokio::test]
async fn number_boundaries_match_dynamodb_local() {
    let store = store_with_table("numbers").await;
    let d38 = "12345678901234567890123456789012345678";
    let accepted = [
        d38.to_owned(),
        format!("-{d38}"),
        format!("{d38}000"),
        format!("0.00{d38}"),
        "1E-130".to_owned(),
        "-1E-130".to_owned(),
        "9.9999999999999999999999999999999999999E+125".to_owned(),
        "-9.9999999999999999999999999999999999999E+125".to_owned(),
        "0E-200".to_owned(),
        u64::MAX.to_string(),
        i64::MIN.to_string(),
        1e-130f64.to_string(),
        9.99e125f64.to_string(),
    ];
    for text in &accepted {
        let item = raw_item("k", "n", AttributeValue::N(text.clone()));
        codec::validate::check_item(&item).unwrap_or_else(|e| panic!("we refuse {text}: {e:?}"));
        raw_put(&store, item)
            .await
            .unwrap_or_else(|e| panic!("we accept {text}, DynamoDB Local does not: {e}"));
    }
    let refused = [
        format!("{d38}9"),
        format!("1.{d38}"),
        "1E-131".to_owned(),
        "0.99E-130".to_owned(),
        "1E+126".to_owned(),
        "-1E+126".to_owned(),
        "NaN".to_owned(),
        "inf".to_owned(),
        "-inf".to_owned(),
        f64::MAX.to_string(),
        u128::MAX.to_string(),
    ];
    for text in &refused {
        let item = raw_item("k", "n", AttributeValue::N(text.clone()));
        assert!(
            codec::validate::check_item(&item).is_err(),
            "we accept {text}"
        );
        let answer = raw_put(&store, item).await;
        assert!(
            answer
                .as_ref()
                .is_err_and(|e| e.contains("ValidationException")),
            "we refuse {text}, DynamoDB Local answers {answer:?}"
        );
    }
    // Inside a number set, the same rules.
    let item = raw_item(
        "k",
        "ns",
        AttributeValue::Ns(vec!["1E-130".into(), d38.into()]),
    );
    assert!(codec::validate::check_item(&item).is_ok());
    raw_put(&store, item).await.expect("a valid number set");
    let item = raw_item(
        "k",
        "ns",
        AttributeValue::Ns(vec!["1".into(), "1E+126".into()]),
    );
    assert!(codec::validate::check_item(&item).is_err());
    assert!(raw_put(&store, item).await.is_err());

    // Through store(): floats at the edges of the range.
    let stored = count_items(&store, Probe::TABLE).await;
    probe("k", 1e-130).store(&store).await.expect("1e-130");
    probe("k", -9.99e125)
        .store(&store)
        .await
        .expect("-9.99e125");
    for value in [1e-131, 1e126, f64::MAX, f64::MIN_POSITIVE] {
        let err = probe("k", value).store(&store).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidValue { path, .. } if path == "value"),
            "{value}: {err:?}"
        );
    }
    assert_eq!(count_items(&store, Probe::TABLE).await, stored + 2);
}

#[tokio::test]
async fn partition_key_boundaries_match_dynamodb_local() {
    let store = store_with_table("keys").await;
    let key_2048 = "k".repeat(2048);
    let key_2049 = "k".repeat(2049);
    probe(&key_2048, 1.0)
        .store(&store)
        .await
        .expect("a 2,048-byte key is stored");
    let err = probe(&key_2049, 1.0).store(&store).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvalidValue { path, violation: Violation::PartitionKeyTooLong { bytes: 2049 }, .. }
                if path == "key"
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("2,048"), "{err}");
    assert!(
        raw_put(&store, raw_item(&key_2049, "x", AttributeValue::Bool(true)))
            .await
            .is_err(),
        "DynamoDB Local refuses 2,049 bytes too"
    );
    let err = probe("", 1.0).store(&store).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidValue {
                violation: Violation::PartitionKeyEmpty,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        raw_put(&store, raw_item("", "x", AttributeValue::Bool(true)))
            .await
            .is_err()
    );
    assert_eq!(count_items(&store, Probe::TABLE).await, 1);
}

#[tokio::test]
async fn nesting_boundary_matches_dynamodb_local() {
    let store = store_with_table("depth").await;
    // `payload` is level 1; 31 arrays put the innermost number at level 32.
    let mut ok = probe("k", 1.0);
    ok.payload = nested_arrays(31);
    ok.store(&store).await.expect("32 levels are stored");
    let mut deep = probe("k", 1.0);
    deep.payload = nested_arrays(32);
    let err = deep.store(&store).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvalidValue { path, violation: Violation::TooDeep { depth: 33 }, .. }
                if path.starts_with("payload[0][0]")
        ),
        "{err:?}"
    );
    assert!(
        raw_put(&store, raw_item("k", "payload", nested_lists(32)))
            .await
            .is_err(),
        "DynamoDB Local refuses 33 levels too"
    );
    // Read back exactly what was stored.
    let stored = Probe::query().by_key("k").run(&store).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event, ok);
}

/// Values of every kind whose size DynamoDB counts in its own way.
fn sized_values() -> Vec<(&'static str, AttributeValue)> {
    let n = |t: &str| AttributeValue::N(t.to_owned());
    let d38 = "12345678901234567890123456789012345678";
    let mut values = vec![];
    for text in [
        "0",
        "1",
        "12",
        "123",
        "1234",
        "12300",
        "1.5",
        "0.5",
        "0.05",
        "-1",
        "-12",
        "-123",
        "-0.05",
        "1E-130",
        "-9.9999999999999999999999999999999999999E+125",
        d38,
        "-12345678901234567890123456789012345678",
        "-1234567890123456789012345678901234567.8",
        "18446744073709551615",
        "-9223372036854775808",
    ] {
        values.push(("n", n(text)));
    }
    values.push(("b", AttributeValue::Bool(false)));
    values.push(("z", AttributeValue::Null(true)));
    values.push(("bin", AttributeValue::B(Blob::new(vec![7u8; 10]))));
    values.push(("list", AttributeValue::L(vec![])));
    values.push((
        "list",
        AttributeValue::L(vec![n("-5"), AttributeValue::S("héllo".into()), n("0.5")]),
    ));
    values.push(("map", AttributeValue::M(Default::default())));
    values.push((
        "map",
        AttributeValue::M(
            [
                ("a".to_owned(), n("123")),
                (
                    "nested".to_owned(),
                    AttributeValue::M([("x".to_owned(), AttributeValue::L(vec![n("-1")]))].into()),
                ),
            ]
            .into(),
        ),
    ));
    values.push(("ss", AttributeValue::Ss(vec!["a".into(), "bc".into()])));
    values.push((
        "ns",
        AttributeValue::Ns(vec!["-1".into(), "12300".into(), d38.into()]),
    ));
    values.push((
        "bs",
        AttributeValue::Bs(vec![Blob::new(vec![1u8, 2]), Blob::new(vec![3u8])]),
    ));
    values
}

#[tokio::test]
async fn item_sizes_match_dynamodb_local_to_the_byte() {
    let store = store_with_table("sizes").await;
    for (name, value) in sized_values() {
        // Pad with a string so that the item is exactly the limit by our count.
        let mut item = raw_item("k", name, value.clone());
        item.insert("pad".into(), AttributeValue::S(String::new()));
        let padding = MAX_EVENT_SIZE - codec::item_size(&item);
        item.insert("pad".into(), AttributeValue::S("p".repeat(padding)));
        assert_eq!(codec::validate::check_item(&item), Ok(MAX_EVENT_SIZE));
        raw_put(&store, item.clone()).await.unwrap_or_else(|e| {
            panic!("{value:?}: we count exactly the limit, DynamoDB Local refuses: {e}")
        });
        // One more byte: over the limit for us, and for DynamoDB Local.
        item.insert("pad".into(), AttributeValue::S("p".repeat(padding + 1)));
        assert_eq!(codec::item_size(&item), MAX_EVENT_SIZE + 1);
        let answer = raw_put(&store, item).await;
        assert!(
            answer.is_err(),
            "{value:?}: one byte over our limit, DynamoDB Local still accepts: we count too much"
        );
    }
}
