//! The envelope on both backends: a source, a linked field and shard_by are stored with the
//! event, come back from a query, and make the same envelope from the typed event and from
//! the raw item. Unconfigured, nothing extra is stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use eventosaurus::table::{create_table, Billing};
use eventosaurus::{Envelope, Error, Storable, Store, StoreOutcome, Uuid};
use eventosaurus_testkit::local::{create_example_tables, test_store};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A ZooStream-style event: its data, records linked to it, ordered by workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "classification", partition_key = subject_id, shard_by = workflow_id)]
pub struct Classification {
    pub subject_id: u64,
    pub workflow_id: String,
    pub annotations: Vec<String>,
    #[eventosaurus(linked)]
    pub subjects: Vec<Subject>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub id: u64,
    pub metadata: BTreeMap<String, String>,
}

/// An event that has a field of the name eventosaurus uses for the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "imported", partition_key = id)]
pub struct Imported {
    pub id: String,
    pub event_source: String,
}

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
            for def in [Classification::TABLE, Imported::TABLE] {
                create_table(&store, def, Billing::OnDemand)
                    .await
                    .expect("create table");
            }
            store
        }
    }
}

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

fn classification(subject_id: u64) -> Classification {
    Classification {
        subject_id,
        workflow_id: "w-1138".into(),
        annotations: vec!["T0: yes".into()],
        subjects: vec![Subject {
            id: subject_id,
            metadata: [("filename".to_owned(), "galaxy.png".to_owned())].into(),
        }],
    }
}

/// The item as stored, through the store's backend.
async fn raw_item<E: Storable>(
    store: &Store,
    key: AttributeValue,
    event_uuid: Uuid,
) -> HashMap<String, AttributeValue> {
    let item = [
        (E::TABLE.partition_key.to_owned(), key),
        (
            "event_uuid".to_owned(),
            AttributeValue::S(event_uuid.to_string()),
        ),
    ]
    .into();
    store
        .backend()
        .get(&store.table_name(E::TABLE), E::TABLE, item)
        .await
        .unwrap()
        .expect("the item is stored")
}

fn names(item: &HashMap<String, AttributeValue>) -> BTreeSet<&str> {
    item.keys().map(String::as_str).collect()
}

behaviours! {
    async fn the_envelope_round_trips(store: Store) {
        assert_eq!(Classification::TABLE.linked, Some("subjects"));
        assert_eq!(Classification::TABLE.shard_by, Some("workflow_id"));
        let store = store.with_source("panoptes").unwrap();
        let outcome = classification(5).store(&store).await.unwrap();
        let StoreOutcome::Stored { event_uuid, created_at } = outcome else { panic!("{outcome:?}") };

        // Stored: the fields (the linked one as a plain field) and event_source.
        let item = raw_item::<Classification>(&store, AttributeValue::N("5".into()), event_uuid).await;
        assert_eq!(
            names(&item),
            BTreeSet::from(["subject_id", "workflow_id", "annotations", "subjects", "event_uuid", "created_at", "event_source"])
        );
        assert_eq!(item["event_source"], AttributeValue::S("panoptes".into()));

        // Queried: the typed event carries its source.
        let found = Classification::query().by_subject_id(5).run(&store).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].event, classification(5));
        assert_eq!(found[0].source.as_deref(), Some("panoptes"));

        // The envelope, from the typed event and from the raw item: the same.
        let envelope = Envelope::from_stored(&found[0]).unwrap();
        assert_eq!(envelope, Envelope::from_item(Classification::TABLE, &item).unwrap());
        let json = serde_json::to_value(&envelope).unwrap();
        assert_eq!(
            json,
            json!({
                "event": "Classification",
                "source": "panoptes",
                "event_uuid": event_uuid.to_string(),
                "created_at": created_at.to_string(),
                "partition_key": "w-1138",
                "data": {"subject_id": 5, "workflow_id": "w-1138", "annotations": ["T0: yes"]},
                "linked": [{"id": 5, "metadata": {"filename": "galaxy.png"}}],
                "event_version": 1,
            })
        );
        let back: Envelope = serde_json::from_str(&json.to_string()).unwrap();
        assert_eq!(back, envelope);
    }

    async fn events_of_a_transaction_carry_the_source(store: Store) {
        let store = store.with_source("panoptes").unwrap();
        let outcome = store.transaction().event(&classification(6)).commit().await.unwrap();
        assert!(outcome.is_committed(), "{outcome:?}");
        let found = Classification::query().by_subject_id(6).run(&store).await.unwrap();
        assert_eq!(found[0].source.as_deref(), Some("panoptes"));
        assert_eq!(Envelope::from_stored(&found[0]).unwrap().source.as_deref(), Some("panoptes"));
    }

    async fn without_a_source_nothing_extra_is_stored(store: Store) {
        assert_eq!(store.source(), None);
        let event_uuid = classification(7).store(&store).await.unwrap().event_uuid();
        let item = raw_item::<Classification>(&store, AttributeValue::N("7".into()), event_uuid).await;
        assert_eq!(
            names(&item),
            BTreeSet::from(["subject_id", "workflow_id", "annotations", "subjects", "event_uuid", "created_at"])
        );
        let found = Classification::query().by_subject_id(7).run(&store).await.unwrap();
        assert_eq!(found[0].source, None);
        let envelope = Envelope::from_stored(&found[0]).unwrap();
        assert_eq!(envelope.source, None);
        assert_eq!(serde_json::to_value(&envelope).unwrap()["source"], serde_json::Value::Null);

        // The example events have neither linked nor shard_by: the partition key orders them.
        let call = eventosaurus_testkit::events::PhoneCall { person_id: 9, phone_number: "555".into(), last_called: "today".into() };
        let id = call.store(&store).await.unwrap().event_uuid();
        let stored = store.get::<eventosaurus_testkit::events::PhoneCall>(9u64, id).await.unwrap().unwrap();
        let envelope = Envelope::from_stored(&stored).unwrap();
        assert_eq!((envelope.partition_key.as_str(), envelope.linked), ("9", None));
        assert_eq!(envelope.event, "PhoneCall");
    }

    async fn an_event_field_named_event_source_is_kept_apart(store: Store) {
        let imported = Imported { id: "i-1".into(), event_source: "legacy-import".into() };
        // Without a configured source the field is the event's own.
        let id = imported.store(&store).await.unwrap().event_uuid();
        let back = store.get::<Imported>("i-1", id).await.unwrap().unwrap();
        assert_eq!((back.event.clone(), back.source.clone()), (imported.clone(), None));
        assert_eq!(Envelope::from_stored(&back).unwrap().data["event_source"], json!("legacy-import"));
        // With one, the event is refused rather than one value overwriting the other.
        let error = imported.store(&store.with_source("panoptes").unwrap()).await.unwrap_err();
        assert!(matches!(error, Error::InvalidEvent { .. }), "{error:?}");
        assert!(error.to_string().contains("event_source"), "{error}");
    }
}

#[test]
fn a_source_is_validated() {
    let error = Store::test().with_source("two words").unwrap_err();
    assert!(matches!(error, Error::InvalidSource { .. }), "{error:?}");
}
