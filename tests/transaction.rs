//! Transactions, one behaviour suite on two backends: test mode (`backend::Memory`) and a real
//! DynamoDB Local. Application writes and events commit together or not at all, with the
//! same outcomes on both.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use eventosaurus::backend::{
    KeySchema, Memory, TransactAction, TransactItem, TransactResult, TransactWrite,
};
use eventosaurus::transaction::{
    AppTable, ConditionCheck, Delete, Put, TransactionOutcome, Update,
};
use eventosaurus::{Error, Storable, Store, StoreOutcome};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::local::{create_example_tables, test_store};
use serde_json::json;

type Item = HashMap<String, AttributeValue>;

/// A store, the application's `accounts` table, and a way to read it back.
struct Env {
    store: Store,
    accounts: AppTable,
    /// Test mode's tables (`None` on DynamoDB Local).
    memory: Option<Memory>,
}

impl Env {
    async fn memory() -> Env {
        let memory = Memory::new();
        Env {
            store: Store::with_backend(Arc::new(memory.clone()), "test"),
            accounts: AppTable::new("test_accounts", "account_id"),
            memory: Some(memory),
        }
    }

    async fn dynamodb_local(name: &str) -> Env {
        let store = test_store(name).await;
        create_example_tables(&store).await;
        let accounts = AppTable::new(
            format!("{}_accounts", store.environment_prefix()),
            "account_id",
        );
        store
            .client()
            .expect("a DynamoDB store")
            .create_table()
            .table_name(accounts.name())
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("account_id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("account_id")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create the accounts table");
        Env {
            store,
            accounts,
            memory: None,
        }
    }

    /// The account item, read back (consistently) from the backend.
    async fn account(&self, id: &str) -> Option<Item> {
        let wanted = AttributeValue::S(id.to_owned());
        match &self.memory {
            Some(memory) => memory
                .items(self.accounts.name())
                .into_iter()
                .find(|item| item.get("account_id") == Some(&wanted)),
            None => {
                self.store
                    .client()
                    .unwrap()
                    .get_item()
                    .table_name(self.accounts.name())
                    .key("account_id", wanted)
                    .consistent_read(true)
                    .send()
                    .await
                    .expect("GetItem")
                    .item
            }
        }
    }

    async fn balance(&self, id: &str) -> Option<String> {
        self.account(id)
            .await
            .and_then(|item| item.get("balance").and_then(|b| b.as_n().ok()).cloned())
    }

    fn key(&self, id: &str) -> serde_json::Value {
        json!({ "account_id": id })
    }

    /// Creates an account (with an event, as every transaction needs one).
    async fn open_account(&self, id: &str, balance: u64) {
        let outcome = self
            .store
            .transaction()
            .put(Put::new(
                &self.accounts,
                json!({ "account_id": id, "balance": balance }),
            ))
            .event(&call(1000, balance as u32))
            .commit()
            .await
            .expect("open an account");
        assert!(outcome.is_committed(), "{outcome:?}");
    }
}

/// Defines each behaviour once and a test per backend: `<name>::memory` and `<name>::dynamodb_local`.
macro_rules! behaviours {
    ($(async fn $name:ident($env:ident: Env) $body:block)*) => {$(
        mod $name {
            use super::*;
            async fn behaviour($env: Env) $body

            #[tokio::test]
            async fn memory() {
                behaviour(Env::memory().await).await;
            }

            #[tokio::test]
            async fn dynamodb_local() {
                behaviour(Env::dynamodb_local(stringify!($name)).await).await;
            }
        }
    )*};
}

fn call(person_id: u64, n: u32) -> PhoneCall {
    PhoneCall {
        person_id,
        phone_number: format!("555-{n:04}"),
        last_called: "2026-11-25".into(),
    }
}

fn neat(action: &str) -> NeatEvent {
    NeatEvent {
        location: "gardens".into(),
        employee_name: "Markus".into(),
        employee_action: action.into(),
    }
}

/// A store whose error hook records the ids of the events it is called with.
fn with_recording_hook(store: &Store) -> (Store, Arc<Mutex<Vec<eventosaurus::Uuid>>>) {
    let failed = Arc::new(Mutex::new(Vec::new()));
    let seen = failed.clone();
    let store =
        store.with_error_hook(move |event, _error| seen.lock().unwrap().push(event.event_uuid));
    (store, failed)
}

behaviours! {
    async fn an_app_write_and_an_event_commit_together(env: Env) {
        let tx = env
            .store
            .transaction()
            .put(Put::new(&env.accounts, json!({ "account_id": "a1", "balance": 100, "owner": "Ada" })))
            .event(&call(1, 1))
            .event(&neat("opened an account"));
        let ids = tx.event_uuids();
        let created_at = tx.created_at();
        assert_eq!(ids.len(), 2);
        let outcome = tx.commit().await.unwrap();
        assert_eq!(outcome, TransactionOutcome::Committed { event_uuids: ids.clone(), created_at });

        let account = env.account("a1").await.expect("the account was written");
        assert_eq!(account["balance"], AttributeValue::N("100".into()));
        assert_eq!(account["owner"], AttributeValue::S("Ada".into()));
        let stored = env.store.get::<PhoneCall>(1u64, ids[0]).await.unwrap().expect("the event was written");
        assert_eq!(stored.event, call(1, 1));
        assert_eq!(stored.created_at, created_at);
        assert_eq!(ids[1], neat("opened an account").event_uuid(), "a composite event keeps its id");
        assert!(env.store.get::<NeatEvent>("gardens", ids[1]).await.unwrap().is_some());
    }

    async fn a_failing_app_condition_writes_neither(env: Env) {
        env.open_account("a1", 10).await;
        let (store, failed) = with_recording_hook(&env.store);
        let tx = store
            .transaction()
            .event(&call(2, 1))
            .update(
                Update::new(&env.accounts, env.key("a1"), "SET balance = balance - :amount")
                    .condition("balance >= :amount")
                    .value(":amount", 50)
                    .return_item_on_failure(),
            );
        let event_uuid = tx.event_uuids()[0];
        let outcome = tx.commit().await.unwrap();
        let TransactionOutcome::ConditionFailed { index, item, .. } = outcome else {
            panic!("expected ConditionFailed, got {outcome:?}")
        };
        assert_eq!(index, 1, "the update is the second item");
        let item = item.expect("the existing item was asked for");
        assert_eq!(item["balance"], AttributeValue::N("10".into()));
        assert_eq!(env.balance("a1").await.as_deref(), Some("10"), "not debited");
        assert!(store.get::<PhoneCall>(2u64, event_uuid).await.unwrap().is_none(), "no event");
        assert!(failed.lock().unwrap().is_empty(), "a failed condition is an outcome, not a failure");

        // The same with a condition check as the failing item, and a put that would succeed.
        let outcome = env
            .store
            .transaction()
            .put(Put::new(&env.accounts, json!({ "account_id": "a2", "balance": 1 })))
            .condition_check(ConditionCheck::new(&env.accounts, env.key("a1"), "#b > :min").name("#b", "balance").value(":min", 10))
            .event(&call(2, 2))
            .commit()
            .await
            .unwrap();
        assert!(matches!(outcome, TransactionOutcome::ConditionFailed { index: 1, item: None, .. }), "{outcome:?}");
        assert_eq!(env.account("a2").await, None, "the put of the canceled transaction was not applied");
        assert_eq!(env.store.events::<PhoneCall>().await.unwrap().len(), 1, "only the opening event");
    }

    async fn a_duplicate_event_writes_neither(env: Env) {
        let first = neat("closed the account").store(&env.store).await.unwrap();
        assert!(matches!(first, StoreOutcome::Stored { .. }));
        let outcome = env
            .store
            .transaction()
            .put(Put::new(&env.accounts, json!({ "account_id": "a1", "balance": 0 })))
            .event(&neat("closed the account"))
            .commit()
            .await
            .unwrap();
        assert_eq!(outcome, TransactionOutcome::Duplicate { event_uuid: first.event_uuid() });
        assert_eq!(env.account("a1").await, None, "the application write was not applied");

        // A duplicate wins over a failing application condition: the command already ran.
        let outcome = env
            .store
            .transaction()
            .condition_check(ConditionCheck::new(&env.accounts, env.key("a1"), "attribute_exists(account_id)"))
            .event(&call(3, 1))
            .event(&neat("closed the account"))
            .commit()
            .await
            .unwrap();
        assert_eq!(outcome, TransactionOutcome::Duplicate { event_uuid: first.event_uuid() });
        assert!(env.store.events::<PhoneCall>().await.unwrap().is_empty());
        let stored = env.store.events::<NeatEvent>().await.unwrap();
        assert_eq!(stored.len(), 1);
        let StoreOutcome::Stored { created_at, .. } = first else { unreachable!() };
        assert_eq!(stored[0].created_at, created_at, "the first write is untouched");
    }

    async fn more_than_100_items_are_refused_before_sending(env: Env) {
        let (store, failed) = with_recording_hook(&env.store);
        let mut tx = store.transaction();
        for i in 0..100 {
            tx = tx.put(Put::new(&env.accounts, json!({ "account_id": format!("a{i}"), "balance": i })));
        }
        let tx = tx.event(&call(4, 1));
        assert_eq!(tx.len(), 101);
        let ids = tx.event_uuids();
        let error = tx.commit().await.unwrap_err();
        assert!(matches!(error, Error::TransactionTooLarge { items: 101, limit: 100 }), "{error:?}");
        assert!(error.to_string().contains("nothing was sent"), "{error}");
        assert_eq!(env.account("a0").await, None);
        assert_eq!(*failed.lock().unwrap(), ids, "the failure hooks saw the event");

        // Exactly 100 is fine.
        let mut tx = env.store.transaction();
        for i in 0..99 {
            tx = tx.put(Put::new(&env.accounts, json!({ "account_id": format!("a{i}"), "balance": i })));
        }
        let outcome = tx.event(&call(4, 2)).commit().await.unwrap();
        assert!(outcome.is_committed(), "{outcome:?}");
        assert_eq!(env.balance("a98").await.as_deref(), Some("98"));
    }

    async fn updates_deletes_and_condition_checks(env: Env) {
        env.open_account("a1", 100).await;
        env.open_account("a2", 5).await;
        let outcome = env
            .store
            .transaction()
            .update(
                Update::new(&env.accounts, env.key("a1"), "SET balance = balance - :d, visits = if_not_exists(visits, :zero) + :one ADD tags :t")
                    .condition("balance >= :d")
                    .value(":d", 30)
                    .value(":zero", 0)
                    .value(":one", 1)
                    .raw_value(":t", AttributeValue::Ss(vec!["gold".into()])),
            )
            .delete(Delete::new(&env.accounts, env.key("a2")).condition("attribute_exists(account_id)"))
            .condition_check(ConditionCheck::new(&env.accounts, env.key("a3"), "attribute_not_exists(account_id)"))
            .event(&call(5, 1))
            .commit()
            .await
            .unwrap();
        assert!(outcome.is_committed(), "{outcome:?}");
        let a1 = env.account("a1").await.unwrap();
        assert_eq!(a1["balance"], AttributeValue::N("70".into()));
        assert_eq!(a1["visits"], AttributeValue::N("1".into()));
        assert_eq!(a1["tags"], AttributeValue::Ss(vec!["gold".into()]));
        assert_eq!(env.account("a2").await, None, "deleted");

        // An update of a missing item creates it.
        let outcome = env
            .store
            .transaction()
            .update(Update::new(&env.accounts, env.key("a9"), "SET balance = :b").value(":b", 7.5))
            .event(&call(5, 2))
            .commit()
            .await
            .unwrap();
        assert!(outcome.is_committed(), "{outcome:?}");
        assert_eq!(env.balance("a9").await.as_deref(), Some("7.5"));
    }

    async fn what_dynamodb_would_refuse_is_refused_before_sending(env: Env) {
        let no_event = env
            .store
            .transaction()
            .put(Put::new(&env.accounts, json!({ "account_id": "a1" })))
            .commit()
            .await
            .unwrap_err();
        assert!(no_event.to_string().contains("no event"), "{no_event}");

        let twice = env
            .store
            .transaction()
            .put(Put::new(&env.accounts, json!({ "account_id": "a1" })))
            .delete(Delete::new(&env.accounts, env.key("a1")))
            .event(&call(6, 1))
            .commit()
            .await
            .unwrap_err();
        assert!(matches!(twice, Error::InvalidTransaction { .. }), "{twice:?}");
        assert!(twice.to_string().contains("one operation per item"), "{twice}");

        let keyless = env
            .store
            .transaction()
            .put(Put::new(&env.accounts, json!({ "id": "a1" })))
            .event(&call(6, 2))
            .commit()
            .await
            .unwrap_err();
        assert!(keyless.to_string().contains("key attribute `account_id`"), "{keyless}");

        let same_event_twice = env.store.transaction().event(&neat("x")).event(&neat("x")).commit().await.unwrap_err();
        assert!(matches!(same_event_twice, Error::InvalidTransaction { .. }), "{same_event_twice:?}");
        assert!(env.store.events::<PhoneCall>().await.unwrap().is_empty());
        assert_eq!(env.account("a1").await, None);
    }

    async fn a_repeated_request_token_applies_once(env: Env) {
        env.open_account("a1", 0).await;
        let item = |table: &str, key: KeySchema, action| TransactItem {
            table: table.to_owned(),
            key_schema: key,
            action,
            condition: None,
            names: HashMap::new(),
            values: HashMap::new(),
            return_item_on_failure: false,
        };
        let mut add = item(
            env.accounts.name(),
            env.accounts.key_schema().clone(),
            TransactAction::Update {
                key: [("account_id".to_owned(), AttributeValue::S("a1".into()))].into(),
                update_expression: "ADD balance :one".to_owned(),
            },
        );
        add.values.insert(":one".to_owned(), AttributeValue::N("1".into()));
        let request = TransactWrite { items: vec![add], client_request_token: Some("eventosaurus-test-token-1".to_owned()) };
        let backend = env.store.backend();
        assert_eq!(backend.transact_write(&request).await.unwrap(), TransactResult::Committed);
        assert_eq!(backend.transact_write(&request).await.unwrap(), TransactResult::Committed);
        assert_eq!(env.balance("a1").await.as_deref(), Some("1"), "the repeat applied nothing");
        let again = TransactWrite { client_request_token: Some("eventosaurus-test-token-2".to_owned()), ..request };
        backend.transact_write(&again).await.unwrap();
        assert_eq!(env.balance("a1").await.as_deref(), Some("2"), "a new token applies again");
    }

    async fn an_erroring_transaction_calls_the_failure_hooks(env: Env) {
        env.open_account("a1", 1).await;
        // `balance + :text` adds a string to a number: refused by DynamoDB as by test mode.
        let (store, failed) = with_recording_hook(&env.store);
        let tx = store
            .transaction()
            .event(&call(7, 1))
            .update(Update::new(&env.accounts, env.key("a1"), "SET balance = balance + :text").value(":text", "x"));
        let ids = tx.event_uuids();
        let error = tx.commit().await.unwrap_err();
        assert!(!error.is_retryable(), "{error:?}");
        assert_eq!(*failed.lock().unwrap(), ids, "the failure hooks saw the event: {error}");
        assert_eq!(env.balance("a1").await.as_deref(), Some("1"));
        assert!(store.get::<PhoneCall>(7u64, ids[0]).await.unwrap().is_none());
    }
}
