//! One behaviour suite, two backends: test mode (`Store::test()`, in memory) and a real
//! DynamoDB Local. Every behaviour runs on both, so test mode cannot drift from DynamoDB.

use eventosaurus::{Storable, Store, StoreOutcome};
use eventosaurus_workspace::events::{NeatEvent, PhoneCall};
use eventosaurus_workspace::local::{create_example_tables, test_store};

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
