//! Event versions and upcasters, on test mode and on DynamoDB Local: items of version 1 (written
//! by a raw SDK client, or stored by the version-1 type) and of version 2 are read as version 3
//! by queries, their streams, `get`, `get_many` and the stream consumer; the composite key
//! keeps an event's id across versions; a newer item and a failing upcaster are clear errors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use eventosaurus::codec::Item;
use eventosaurus::consume::{Consumer, StartingPosition};
use eventosaurus::schema::EVENT_VERSION;
use eventosaurus::table::{self, Billing};
use eventosaurus::{CreatedAt, Envelope, Error, Storable, Store, StoreOutcome, StoredEvent, Uuid};
use eventosaurus_testkit::local::test_store;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

/// Version 1 of a parcel shipment: the weight in whole kilograms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "shipment", partition_key = order_id, composite_key(order_id, parcel))]
pub struct ShipmentV1 {
    pub order_id: String,
    pub parcel: u32,
    pub weight_kg: u64,
}

/// Version 2: the weight in grams, under a new name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "shipment", partition_key = order_id, composite_key(order_id, parcel),
               version = 2, upcast(from = 1, with = kilograms_to_grams))]
pub struct ShipmentV2 {
    pub order_id: String,
    pub parcel: u32,
    pub weight_g: u64,
}

/// Version 3, the current one: and the carrier, which versions 1 and 2 did not record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "shipment", partition_key = order_id, composite_key(order_id, parcel),
               version = 3, upcast(from = 1, with = kilograms_to_grams),
               upcast(from = 2, with = carrier::assumed))]
pub struct Shipment {
    pub order_id: String,
    pub parcel: u32,
    pub weight_g: u64,
    pub carrier: String,
}

/// A version-1 type whose flattened map could carry any name, even a reserved one.
#[derive(Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "loose", partition_key = id)]
pub struct Loose {
    pub id: u64,
    #[serde(flatten)]
    pub rest: HashMap<String, u64>,
}

/// 1 → 2, on the item: `weight_kg` (N) becomes `weight_g` (N).
fn kilograms_to_grams(mut item: Item) -> Result<Item, String> {
    let kilograms = match item.remove("weight_kg") {
        Some(AttributeValue::N(n)) => n
            .parse::<u64>()
            .map_err(|e| format!("weight_kg {n:?}: {e}"))?,
        other => return Err(format!("no number weight_kg: {other:?}")),
    };
    item.insert(
        "weight_g".to_owned(),
        AttributeValue::N((kilograms * 1000).to_string()),
    );
    Ok(item)
}

mod carrier {
    /// 2 → 3, on JSON: everything before version 3 went by post.
    pub fn assumed(mut event: serde_json::Value) -> Result<serde_json::Value, String> {
        event["carrier"] = "post".into();
        Ok(event)
    }
}

async fn dynamodb_store(name: &str) -> Store {
    let store = test_store(name).await;
    table::create_table(&store, Shipment::TABLE, Billing::OnDemand)
        .await
        .expect("create the shipment table");
    store
}

/// Writes an item as it is, bypassing eventosaurus: with the SDK client on DynamoDB, through
/// the in-memory backend in test mode.
async fn raw_put(store: &Store, item: Item) {
    let table = store.table_name(Shipment::TABLE);
    match store.client() {
        Ok(client) => {
            client
                .put_item()
                .table_name(&table)
                .set_item(Some(item))
                .send()
                .await
                .expect("raw PutItem");
        }
        Err(_) => {
            store
                .backend()
                .put_if_absent(&table, Shipment::TABLE, item)
                .await
                .expect("raw put in memory");
        }
    }
}

/// A version-1 item as an old writer (not eventosaurus) stored it: no `event_version`.
fn raw_v1_item(order_id: &str, parcel: u32, weight_kg: &str) -> (Item, Uuid) {
    let event_uuid = Uuid::new_v4();
    let item = [
        ("order_id", AttributeValue::S(order_id.to_owned())),
        ("parcel", AttributeValue::N(parcel.to_string())),
        ("weight_kg", AttributeValue::N(weight_kg.to_owned())),
        ("event_uuid", AttributeValue::S(event_uuid.to_string())),
        (
            "created_at",
            AttributeValue::S(CreatedAt::now().to_string()),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    (item, event_uuid)
}

fn stored_id(outcome: StoreOutcome) -> Uuid {
    match outcome {
        StoreOutcome::Stored { event_uuid, .. } => event_uuid,
        other => panic!("expected Stored, got {other:?}"),
    }
}

/// One order with four parcels, each stored another way: a raw v1 item, the v1 type, the v2
/// type and the v3 type. Returns each parcel's id, in parcel order.
async fn store_every_version(store: &Store, order_id: &str) -> Vec<Uuid> {
    let (item, raw_id) = raw_v1_item(order_id, 1, "2");
    raw_put(store, item).await;
    let v1 = ShipmentV1 {
        order_id: order_id.into(),
        parcel: 2,
        weight_kg: 3,
    };
    let v2 = ShipmentV2 {
        order_id: order_id.into(),
        parcel: 3,
        weight_g: 4500,
    };
    let v3 = Shipment {
        order_id: order_id.into(),
        parcel: 4,
        weight_g: 500,
        carrier: "bike".into(),
    };
    vec![
        raw_id,
        stored_id(v1.store(store).await.expect("store v1")),
        stored_id(v2.store(store).await.expect("store v2")),
        stored_id(v3.store(store).await.expect("store v3")),
    ]
}

/// What the four parcels of [`store_every_version`] read as in version 3.
fn expected(order_id: &str) -> Vec<Shipment> {
    let post = |parcel, weight_g| Shipment {
        order_id: order_id.into(),
        parcel,
        weight_g,
        carrier: "post".into(),
    };
    vec![
        post(1, 2000),
        post(2, 3000),
        post(3, 4500),
        Shipment {
            order_id: order_id.into(),
            parcel: 4,
            weight_g: 500,
            carrier: "bike".into(),
        },
    ]
}

fn by_parcel(mut events: Vec<StoredEvent<Shipment>>) -> Vec<Shipment> {
    events.sort_by_key(|e| e.parcel);
    events.into_iter().map(|e| e.event).collect()
}

/// Done-when 1 for queries and gets: every version reads as version 3.
async fn old_items_read_as_the_current_version(store: Store) {
    let ids = store_every_version(&store, "o-1").await;
    let want = expected("o-1");

    let run = Shipment::query().by_order_id("o-1").run(&store).await;
    assert_eq!(by_parcel(run.expect("query run")), want);

    let mut events = Shipment::query()
        .by_order_id("o-1")
        .page_size(2)
        .events(&store);
    let mut streamed = Vec::new();
    while let Some(event) = events.next().await {
        streamed.push(event.expect("a streamed event"));
    }
    assert_eq!(by_parcel(streamed), want);

    for (id, want) in ids.iter().zip(&want) {
        let got = Shipment::get(&store, "o-1", *id).await.expect("get");
        assert_eq!(got.map(|e| e.event).as_ref(), Some(want));
    }
    let many = store
        .get_many::<Shipment, _>(ids.iter().map(|id| ("o-1", *id)))
        .await
        .expect("get_many");
    assert_eq!(many.into_iter().map(|e| e.event).collect::<Vec<_>>(), want);

    // Conditions are DynamoDB's, on items as stored: `weight_g` exists from version 2 on.
    let filtered = Shipment::query()
        .by_order_id("o-1")
        .by_weight_g(eventosaurus::query::gt(0u64))
        .run(&store)
        .await
        .expect("filtered query");
    assert_eq!(
        by_parcel(filtered)
            .iter()
            .map(|s| s.parcel)
            .collect::<Vec<_>>(),
        [3, 4]
    );
}

/// Only types of version 2 and later write `event_version`; an envelope says which shape its
/// data has.
async fn event_version_is_stored_from_version_two(store: Store) {
    let ids = store_every_version(&store, "o-2").await;
    let table = store.table_name(Shipment::TABLE);
    let mut versions = Vec::new();
    for id in &ids {
        let key: Item = [
            ("order_id".to_owned(), AttributeValue::S("o-2".into())),
            ("event_uuid".to_owned(), AttributeValue::S(id.to_string())),
        ]
        .into();
        let item = store
            .backend()
            .get(&table, Shipment::TABLE, key)
            .await
            .expect("raw get")
            .expect("the item");
        let envelope = Envelope::from_item(Shipment::TABLE, &item).expect("envelope");
        assert!(!envelope.data.contains_key(EVENT_VERSION));
        versions.push((item.get(EVENT_VERSION).cloned(), envelope.event_version));
    }
    let n = |v: &str| Some(AttributeValue::N(v.into()));
    assert_eq!(
        versions,
        [(None, 1), (None, 1), (n("2"), 2), (n("3"), 3)],
        "raw v1, the v1 type, the v2 type, the v3 type"
    );
    // A read event was upcast: its envelope has the type's version and shape.
    let read = Shipment::get(&store, "o-2", ids[0])
        .await
        .expect("get")
        .expect("found");
    let envelope = Envelope::from_stored(&read).expect("envelope");
    assert_eq!(envelope.event_version, 3);
    assert_eq!(envelope.data["weight_g"], 2000);
    assert_eq!(envelope.data["carrier"], "post");
}

/// Done-when 2: the composite key digests the same names and values in every version, so the
/// same parcel stored again by a later version is a duplicate.
async fn a_later_version_of_a_stored_event_is_a_duplicate(store: Store) {
    let v1 = ShipmentV1 {
        order_id: "o-3".into(),
        parcel: 1,
        weight_kg: 7,
    };
    let id = stored_id(v1.store(&store).await.expect("store v1"));
    let v2 = ShipmentV2 {
        order_id: "o-3".into(),
        parcel: 1,
        weight_g: 7000,
    };
    assert_eq!(v2.event_uuid(), id);
    assert_eq!(
        v2.store(&store).await.expect("store v2"),
        StoreOutcome::Duplicate { event_uuid: id }
    );
    let v3 = Shipment {
        order_id: "o-3".into(),
        parcel: 1,
        weight_g: 7000,
        carrier: "post".into(),
    };
    assert_eq!(
        v3.store(&store).await.expect("store v3"),
        StoreOutcome::Duplicate { event_uuid: id }
    );
    let read = Shipment::get(&store, "o-3", id).await.expect("get");
    assert_eq!(
        read.map(|e| e.event),
        Some(v3),
        "the first write (v1) stays"
    );
}

/// Done-when 3: an item newer than the type, and an item its upcaster cannot read, are errors
/// that say so.
async fn newer_items_and_failing_upcasters_are_clear_errors(store: Store) {
    let newer = Shipment {
        order_id: "o-4".into(),
        parcel: 1,
        weight_g: 1,
        carrier: "bike".into(),
    };
    let newer_id = stored_id(newer.store(&store).await.expect("store v3"));
    let error = ShipmentV2::get(&store, "o-4", newer_id).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::VersionTooNew {
                event_type: "ShipmentV2",
                item_version: 3,
                known_version: 2,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("before any writer"), "{error}");
    let error = ShipmentV2::query()
        .by_order_id("o-4")
        .run(&store)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::VersionTooNew { .. }), "{error:?}");

    let (item, broken_id) = raw_v1_item("o-5", 1, "1.5");
    raw_put(&store, item).await;
    let error = Shipment::get(&store, "o-5", broken_id).await.unwrap_err();
    let Error::Decode { reason, .. } = &error else {
        panic!("expected Error::Decode, got {error:?}");
    };
    assert!(
        reason.contains("upcaster `kilograms_to_grams` (version 1 to 2)")
            && reason.contains("weight_kg \"1.5\""),
        "{reason}"
    );

    let mut bad_version = raw_v1_item("o-5", 2, "1").0;
    bad_version.insert(EVENT_VERSION.into(), AttributeValue::S("2".into()));
    let bad_id = match bad_version.get("event_uuid") {
        Some(AttributeValue::S(id)) => id.parse::<Uuid>().expect("uuid"),
        _ => unreachable!("raw_v1_item sets event_uuid"),
    };
    raw_put(&store, bad_version).await;
    let error = Shipment::get(&store, "o-5", bad_id).await.unwrap_err();
    assert!(
        matches!(&error, Error::Decode { reason, .. } if reason.contains("`event_version` is not a number")),
        "{error:?}"
    );
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn memory() {
                super::$name(eventosaurus::Store::test()).await;
            }

            #[tokio::test]
            async fn dynamodb_local() {
                super::$name(super::dynamodb_store(stringify!($name)).await).await;
            }
        }
    )*};
}

on_both_backends!(
    old_items_read_as_the_current_version,
    event_version_is_stored_from_version_two,
    a_later_version_of_a_stored_event_is_a_duplicate,
    newer_items_and_failing_upcasters_are_clear_errors,
);

/// Done-when 1 for the stream consumer: a typed handler of the current version gets every
/// stored version as version 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_stream_handler_reads_every_version_as_the_current_one() {
    let store = dynamodb_store("versions-consume").await;
    let ids = store_every_version(&store, "o-6").await;
    let seen: Arc<Mutex<HashMap<Uuid, Shipment>>> = Arc::default();
    let consumer = Consumer::builder(&store)
        .on({
            let seen = seen.clone();
            move |shipment: StoredEvent<Shipment>| {
                let seen = seen.clone();
                async move {
                    seen.lock()
                        .expect("seen")
                        .insert(shipment.event_uuid, shipment.event);
                    Ok(())
                }
            }
        })
        .start_at(StartingPosition::TrimHorizon)
        .limit(ids.len() as u64)
        .poll_interval(Duration::from_millis(50))
        .build()
        .expect("consumer");
    let stats = tokio::time::timeout(Duration::from_secs(60), consumer.run())
        .await
        .expect("the consumer stops after its limit")
        .expect("consumer run");
    assert_eq!((stats.handled, stats.failed), (4, 0));
    let seen = seen.lock().expect("seen");
    let got: Vec<Option<&Shipment>> = ids.iter().map(|id| seen.get(id)).collect();
    let want = expected("o-6");
    assert_eq!(got, want.iter().map(Some).collect::<Vec<_>>());
}

/// The codec: a version-1 type writes no `event_version` (and refuses an event that serializes
/// one itself), a later one writes its number, counted in the item's size.
#[test]
fn encoding_writes_the_version_from_version_two() {
    let created_at = CreatedAt::now();
    let v1 = ShipmentV1 {
        order_id: "o".into(),
        parcel: 1,
        weight_kg: 1,
    };
    let item = eventosaurus::codec::encode(&v1, "t", &v1.event_uuid(), &created_at).unwrap();
    assert!(!item.contains_key(EVENT_VERSION));
    let v3 = Shipment {
        order_id: "o".into(),
        parcel: 1,
        weight_g: 1,
        carrier: "x".into(),
    };
    let item = eventosaurus::codec::encode(&v3, "t", &v3.event_uuid(), &created_at).unwrap();
    assert_eq!(item[EVENT_VERSION], AttributeValue::N("3".into()));
    let mut without = item.clone();
    without.remove(EVENT_VERSION);
    assert_eq!(
        eventosaurus::codec::item_size(&item),
        eventosaurus::codec::item_size(&without) + EVENT_VERSION.len() + 2,
        "the name, and one byte of digits plus one of exponent"
    );
    let loose = Loose {
        id: 1,
        rest: [(EVENT_VERSION.to_owned(), 5)].into(),
    };
    let error =
        eventosaurus::codec::encode(&loose, "t", &loose.event_uuid(), &created_at).unwrap_err();
    assert!(
        matches!(&error, Error::InvalidEvent { reason, .. } if reason.contains("`event_version`")),
        "{error:?}"
    );
}
