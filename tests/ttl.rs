//! Time to live against a real DynamoDB Local, and the same reads in test mode: TTL enabled
//! on the table, `expires_at` on every item however it is written, expired items hidden by
//! queries, counts and gets until DynamoDB deletes them, and shown with `include_expired`.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use chrono::{DateTime, Duration, Utc};
use eventosaurus::backend::Memory;
use eventosaurus::codec::Item;
use eventosaurus::persist::{AsyncQueue, QueueOptions};
use eventosaurus::query::Operation;
use eventosaurus::table::{self, Billing, Drift, Ttl, EXPIRES_AT};
use eventosaurus::{Storable, Store, StoreOutcome, Uuid};
use eventosaurus_testkit::local::test_store;
use serde::{Deserialize, Serialize};

/// Expires an hour after it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "session", partition_key = user, ttl = "1h")]
struct Session {
    user: String,
    seq: u32,
}

/// Expires when its offer ends; `None`: never.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "offer", partition_key = shop)]
struct Offer {
    shop: u64,
    title: String,
    #[eventosaurus(expires_at)]
    ends: Option<DateTime<Utc>>,
}

/// Turns TTL off on a table: drift for `check_table`, and a table where DynamoDB Local's TTL
/// deletion job (which removes expired items, as DynamoDB does, at a time of its choosing)
/// leaves expired items in place: they are then exactly the "expired but not yet deleted"
/// items a read must hide, for as long as the test needs them. Hiding depends on the type's `ttl`, not on the table's setting.
async fn disable_ttl(store: &Store, table: &str) {
    store
        .client()
        .unwrap()
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .enabled(false)
                .attribute_name(EXPIRES_AT)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

fn offer(title: &str, ends: Option<DateTime<Utc>>) -> Offer {
    Offer {
        shop: 7,
        title: title.into(),
        ends,
    }
}

fn stored(outcome: StoreOutcome) -> Uuid {
    match outcome {
        StoreOutcome::Stored { event_uuid, .. } => event_uuid,
        other => panic!("expected Stored, got {other:?}"),
    }
}

/// A store and, in test mode, its memory (to read items raw).
struct Env {
    store: Store,
    memory: Option<Memory>,
}

impl Env {
    fn test_mode() -> Env {
        let memory = Memory::new();
        Env {
            store: Store::with_backend(Arc::new(memory.clone()), "test"),
            memory: Some(memory),
        }
    }

    /// Every item of a table, raw: test mode's memory, or a consistent Scan with the SDK.
    async fn raw_items(&self, def: &eventosaurus::TableDef) -> Vec<Item> {
        let table = self.store.table_name(def);
        match &self.memory {
            Some(memory) => memory.items(&table),
            None => raw_items(&self.store, def).await,
        }
    }
}

/// Every item of a table, raw, with a consistent Scan of the SDK.
async fn raw_items(store: &Store, def: &eventosaurus::TableDef) -> Vec<Item> {
    let table = store.table_name(def);
    let client = store.client().expect("a DynamoDB store");
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

#[tokio::test]
async fn ttl_is_enabled_on_the_table_and_set_on_every_item_however_written() {
    let store = test_store("ttl-every-item").await;
    table::create_table(&store, Session::TABLE, Billing::OnDemand)
        .await
        .unwrap();
    let client = store.client().unwrap();
    let ttl = client
        .describe_time_to_live()
        .table_name(store.table_name(Session::TABLE))
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .expect("a TTL description");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some(EXPIRES_AT));
    assert_eq!(
        Session::TABLE.ttl,
        Some(Ttl::AfterCreation { seconds: 3600 })
    );

    // A conditional put, a transaction, and the async queue's BatchWriteItem.
    let session = |seq| Session {
        user: "ada".into(),
        seq,
    };
    session(0).store(&store).await.unwrap();
    store
        .transaction()
        .event(&session(1))
        .event(&session(2))
        .commit()
        .await
        .unwrap();
    let queue = AsyncQueue::start(&store, QueueOptions::default().batch_writes(true));
    let queued = store.with_persistor(queue.clone());
    for seq in 3..8 {
        session(seq).store(&queued).await.unwrap();
    }
    queue.flush().await;
    queue.shutdown().await;

    let items = raw_items(&store, Session::TABLE).await;
    assert_eq!(items.len(), 8);
    for item in &items {
        let created_at: eventosaurus::CreatedAt =
            item["created_at"].as_s().unwrap().parse().unwrap();
        let expires_at: i64 = item[EXPIRES_AT].as_n().expect("a number").parse().unwrap();
        assert_eq!(
            expires_at,
            created_at.timestamp_millis().div_euclid(1000) + 3600,
            "{item:?}"
        );
    }
    // The attribute is the library's, not the event's: it decodes as before.
    let read = Session::query().by_user("ada").run(&store).await.unwrap();
    assert_eq!(read.len(), 8);
    assert!(table::check_table(&store, Session::TABLE)
        .await
        .unwrap()
        .is_empty());
}

/// What hiding expired events looks like on either backend.
async fn expired_events_are_hidden_until_asked_for(env: Env) {
    let store = env.store.clone();
    if store.client().is_ok() {
        table::create_table(&store, Offer::TABLE, Billing::OnDemand)
            .await
            .unwrap();
        disable_ttl(&store, &store.table_name(Offer::TABLE)).await;
    }
    let now = Utc::now();
    let past = stored(
        offer("yesterday", Some(now - Duration::days(1)))
            .store(&store)
            .await
            .unwrap(),
    );
    let future = stored(
        offer("tomorrow", Some(now + Duration::days(1)))
            .store(&store)
            .await
            .unwrap(),
    );
    let never = stored(offer("always", None).store(&store).await.unwrap());

    // The item as stored: epoch seconds for a Some, nothing for a None.
    let items = env.raw_items(Offer::TABLE).await;
    let expiry_of = |title: &str| {
        items
            .iter()
            .find(|i| i["title"].as_s().unwrap() == title)
            .unwrap()
            .get(EXPIRES_AT)
            .cloned()
    };
    assert_eq!(
        expiry_of("yesterday"),
        Some(AttributeValue::N(
            (now - Duration::days(1)).timestamp().to_string()
        ))
    );
    assert_eq!(expiry_of("always"), None);

    let titles = |events: Vec<eventosaurus::StoredEvent<Offer>>| {
        let mut titles: Vec<String> = events.into_iter().map(|e| e.event.title).collect();
        titles.sort();
        titles
    };
    let query = Offer::query().by_shop(7u64);
    assert_eq!(
        titles(query.run(&store).await.unwrap()),
        ["always", "tomorrow"]
    );
    assert_eq!(
        query.count(&store).await.unwrap(),
        2,
        "COUNT with the filter"
    );
    let plan = query.explain(&store).unwrap();
    assert_eq!(plan.operation, Operation::Query);
    let filter = plan.expressions.filter_expression.as_deref().unwrap();
    assert_eq!(filter, "(attribute_not_exists(#n1) OR #n1 > :v1)");
    assert_eq!(plan.expressions.names["#n1"], EXPIRES_AT);
    // limit counts live events: page by one item, so the expired one takes a request.
    let limited = query
        .clone()
        .page_size(1)
        .limit(2)
        .run(&store)
        .await
        .unwrap();
    assert_eq!(titles(limited), ["always", "tomorrow"]);

    let all = query.clone().include_expired();
    assert_eq!(
        titles(all.run(&store).await.unwrap()),
        ["always", "tomorrow", "yesterday"]
    );
    assert_eq!(all.count(&store).await.unwrap(), 3);
    assert_eq!(all.explain(&store).unwrap().hide_expired, None);

    assert!(Offer::get(&store, 7u64, past).await.unwrap().is_none());
    assert!(Offer::get(&store, 7u64, future).await.unwrap().is_some());
    let many = store
        .get_many::<Offer, _>([(7u64, past), (7u64, never), (7u64, future)])
        .await
        .unwrap();
    assert_eq!(titles(many), ["always", "tomorrow"]);
    let by_id = Offer::query()
        .by_shop(7u64)
        .by_event_uuid(past)
        .include_expired()
        .run(&store)
        .await
        .unwrap();
    assert_eq!(
        titles(by_id),
        ["yesterday"],
        "the opt-out reads one by its key"
    );
}

#[tokio::test]
async fn expired_events_are_hidden_on_dynamodb_local() {
    let store = test_store("ttl-hidden").await;
    expired_events_are_hidden_until_asked_for(Env {
        store,
        memory: None,
    })
    .await;
}

#[tokio::test]
async fn expired_events_are_hidden_in_test_mode() {
    expired_events_are_hidden_until_asked_for(Env::test_mode()).await;
}

#[tokio::test]
async fn an_item_written_raw_with_a_past_expiry_is_hidden() {
    let store = test_store("ttl-raw").await;
    table::create_table(&store, Session::TABLE, Billing::OnDemand)
        .await
        .unwrap();
    disable_ttl(&store, &store.table_name(Session::TABLE)).await;
    let event_uuid = Uuid::new_v4();
    let mut item = Item::new();
    item.insert("user".into(), AttributeValue::S("raw".into()));
    item.insert("seq".into(), AttributeValue::N("1".into()));
    item.insert(
        "event_uuid".into(),
        AttributeValue::S(event_uuid.to_string()),
    );
    item.insert(
        "created_at".into(),
        AttributeValue::S("2020-01-01T00:00:00.000Z".into()),
    );
    item.insert(EXPIRES_AT.into(), AttributeValue::N("1577840400".into()));
    store
        .client()
        .unwrap()
        .put_item()
        .table_name(store.table_name(Session::TABLE))
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let query = Session::query().by_user("raw");
    assert!(query.run(&store).await.unwrap().is_empty());
    assert!(Session::get(&store, "raw", event_uuid)
        .await
        .unwrap()
        .is_none());
    let shown = query.include_expired().run(&store).await.unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].event_uuid, event_uuid);
}

#[tokio::test]
async fn a_table_without_its_ttl_is_drift_and_create_table_turns_it_on() {
    let store = test_store("ttl-drift").await;
    table::create_table(&store, Session::TABLE, Billing::OnDemand)
        .await
        .unwrap();
    let name = store.table_name(Session::TABLE);
    disable_ttl(&store, &name).await;
    let drift = table::check_table(&store, Session::TABLE).await.unwrap();
    assert_eq!(
        drift,
        [Drift::TimeToLive {
            expected: Some(EXPIRES_AT.into()),
            status: "DISABLED".into(),
            found: None,
        }]
    );
    assert!(
        drift[0].to_string().contains("run create-tables"),
        "{}",
        drift[0]
    );
    let ready = table::ensure_table(&store, Session::TABLE, Billing::OnDemand, None, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        ready.time_to_live,
        table::TtlOutcome::Enabled {
            attribute: EXPIRES_AT.into()
        }
    );
    assert!(table::check_table(&store, Session::TABLE)
        .await
        .unwrap()
        .is_empty());
}
