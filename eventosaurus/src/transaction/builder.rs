//! The builder: [`Transaction`] and the application writes it takes ([`Put`], [`Update`],
//! [`Delete`], [`ConditionCheck`] on an [`AppTable`]).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::mapping::{interpret, Step};
use super::TransactionOutcome;
use crate::backend::{KeySchema, TransactAction, TransactItem, TransactWrite, PUT_CONDITION};
use crate::codec::Item;
use crate::error::{Error, Result};
use crate::model::{CreatedAt, Storable};
use crate::persist::{Backoff, FailedEvent};
use crate::schema::{TableDef, EVENT_UUID};
use crate::store::{typed_failure_hook, Store};

/// One of the application's own tables: its name and key attributes.
///
/// The name is used as given: eventosaurus adds no environment prefix to the application's
/// tables. The key attributes let test mode key its items as DynamoDB would, and let
/// eventosaurus check each write's key before anything is sent.
///
/// ```
/// use eventosaurus::transaction::AppTable;
/// let accounts = AppTable::new("accounts", "account_id");
/// let lines = AppTable::new("order_lines", "order_id").with_sort_key("line");
/// assert_eq!(lines.name(), "order_lines");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppTable {
    name: String,
    key: KeySchema,
}

impl AppTable {
    /// A table with a partition key only.
    pub fn new(name: impl Into<String>, partition_key: impl Into<String>) -> AppTable {
        AppTable {
            name: name.into(),
            key: KeySchema {
                partition_key: partition_key.into(),
                sort_key: None,
            },
        }
    }

    /// The same table with a sort key.
    pub fn with_sort_key(mut self, sort_key: impl Into<String>) -> AppTable {
        self.key.sort_key = Some(sort_key.into());
        self
    }

    /// The table name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key attributes.
    pub fn key_schema(&self) -> &KeySchema {
        &self.key
    }
}

/// The condition and placeholders of one application write. Errors (a value that does not
/// serialize) are kept until the transaction is committed.
#[derive(Debug, Clone, Default)]
struct Expressions {
    condition: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    return_item_on_failure: bool,
    error: Option<String>,
}

/// Serializes a value (or an item) with serde_dynamo; the error as text.
fn to_item(value: impl Serialize) -> std::result::Result<Item, String> {
    serde_dynamo::to_item(value).map_err(|e| e.to_string())
}

macro_rules! expression_methods {
    ($ty:ident) => {
        impl $ty {
            /// The condition that must hold, a DynamoDB `ConditionExpression` such as
            /// `attribute_not_exists(order_id)` or `#balance >= :amount`. If it does not, the
            /// transaction commits nothing and returns
            /// [`ConditionFailed`](TransactionOutcome::ConditionFailed) with this write's index.
            pub fn condition(mut self, expression: impl Into<String>) -> Self {
                self.expressions.condition = Some(expression.into());
                self
            }

            /// Defines a name placeholder: `.name("#s", "status")`.
            pub fn name(
                mut self,
                placeholder: impl Into<String>,
                attribute: impl Into<String>,
            ) -> Self {
                self.expressions
                    .names
                    .insert(placeholder.into(), attribute.into());
                self
            }

            /// Defines a value placeholder from any serializable value: `.value(":amount", 5)`.
            pub fn value(mut self, placeholder: impl Into<String>, value: impl Serialize) -> Self {
                let placeholder = placeholder.into();
                match serde_dynamo::to_attribute_value::<_, AttributeValue>(value) {
                    Ok(value) => {
                        self.expressions.values.insert(placeholder, value);
                    }
                    Err(error) => {
                        self.expressions.error.get_or_insert(format!(
                            "the value of {placeholder} does not serialize: {error}"
                        ));
                    }
                }
                self
            }

            /// Defines a value placeholder from an SDK value (e.g. a string set).
            pub fn raw_value(
                mut self,
                placeholder: impl Into<String>,
                value: AttributeValue,
            ) -> Self {
                self.expressions.values.insert(placeholder.into(), value);
                self
            }

            /// Returns the existing item in
            /// [`ConditionFailed`](TransactionOutcome::ConditionFailed) when the condition
            /// fails (`ReturnValuesOnConditionCheckFailure=ALL_OLD`).
            pub fn return_item_on_failure(mut self) -> Self {
                self.expressions.return_item_on_failure = true;
                self
            }

            fn transact_item(
                self,
                action: std::result::Result<TransactAction, String>,
            ) -> Result<TransactItem> {
                let what = format!("{} on `{}`", stringify!($ty), self.table.name);
                let invalid = |reason: String| Error::InvalidTransaction {
                    reason: format!("the {what}: {reason}"),
                };
                if let Some(error) = self.expressions.error {
                    return Err(invalid(error));
                }
                Ok(TransactItem {
                    table: self.table.name,
                    key_schema: self.table.key,
                    action: action.map_err(invalid)?,
                    condition: self.expressions.condition,
                    names: self.expressions.names,
                    values: self.expressions.values,
                    return_item_on_failure: self.expressions.return_item_on_failure,
                })
            }
        }
    };
}

/// Writes (replaces) a whole item of an application table.
///
/// ```
/// use eventosaurus::transaction::{AppTable, Put};
/// #[derive(serde::Serialize)]
/// struct Order { order_id: String, total: u64 }
/// let orders = AppTable::new("orders", "order_id");
/// let put = Put::new(&orders, &Order { order_id: "o-1".into(), total: 30 })
///     .condition("attribute_not_exists(order_id)");
/// ```
#[derive(Debug, Clone)]
#[must_use = "add it to a transaction with .put(..)"]
pub struct Put {
    table: AppTable,
    item: std::result::Result<Item, String>,
    expressions: Expressions,
}

impl Put {
    /// Puts `item`, serialized like an event (serde attributes honoured); it must have the
    /// table's key attributes.
    pub fn new(table: &AppTable, item: impl Serialize) -> Put {
        Put {
            table: table.clone(),
            item: to_item(item),
            expressions: Expressions::default(),
        }
    }

    /// Puts an item built with the SDK's types.
    pub fn from_item(table: &AppTable, item: Item) -> Put {
        Put {
            table: table.clone(),
            item: Ok(item),
            expressions: Expressions::default(),
        }
    }

    fn into_item(self) -> Result<TransactItem> {
        let item = self.item.clone().map(|item| TransactAction::Put { item });
        self.transact_item(item)
    }
}
expression_methods!(Put);

/// Updates (or creates) an item of an application table with an `UpdateExpression`.
///
/// ```
/// use eventosaurus::transaction::{AppTable, Update};
/// let accounts = AppTable::new("accounts", "account_id");
/// let debit = Update::new(&accounts, serde_json::json!({"account_id": "a-1"}), "SET balance = balance - :amount")
///     .condition("balance >= :amount")
///     .value(":amount", 30);
/// ```
#[derive(Debug, Clone)]
#[must_use = "add it to a transaction with .update(..)"]
pub struct Update {
    table: AppTable,
    key: std::result::Result<Item, String>,
    update_expression: String,
    expressions: Expressions,
}

impl Update {
    /// Updates the item with `key` (exactly the key attributes, serialized).
    pub fn new(
        table: &AppTable,
        key: impl Serialize,
        update_expression: impl Into<String>,
    ) -> Update {
        Update {
            table: table.clone(),
            key: to_item(key),
            update_expression: update_expression.into(),
            expressions: Expressions::default(),
        }
    }

    /// Updates the item with a key built with the SDK's types.
    pub fn from_key(table: &AppTable, key: Item, update_expression: impl Into<String>) -> Update {
        Update {
            table: table.clone(),
            key: Ok(key),
            update_expression: update_expression.into(),
            expressions: Expressions::default(),
        }
    }

    fn into_item(self) -> Result<TransactItem> {
        let update_expression = self.update_expression.clone();
        let action = self.key.clone().map(|key| TransactAction::Update {
            key,
            update_expression,
        });
        self.transact_item(action)
    }
}
expression_methods!(Update);

/// Deletes an item of an application table (nothing if it does not exist).
#[derive(Debug, Clone)]
#[must_use = "add it to a transaction with .delete(..)"]
pub struct Delete {
    table: AppTable,
    key: std::result::Result<Item, String>,
    expressions: Expressions,
}

impl Delete {
    /// Deletes the item with `key` (exactly the key attributes, serialized).
    pub fn new(table: &AppTable, key: impl Serialize) -> Delete {
        Delete {
            table: table.clone(),
            key: to_item(key),
            expressions: Expressions::default(),
        }
    }

    /// Deletes the item with a key built with the SDK's types.
    pub fn from_key(table: &AppTable, key: Item) -> Delete {
        Delete {
            table: table.clone(),
            key: Ok(key),
            expressions: Expressions::default(),
        }
    }

    fn into_item(self) -> Result<TransactItem> {
        let action = self.key.clone().map(|key| TransactAction::Delete { key });
        self.transact_item(action)
    }
}
expression_methods!(Delete);

/// Writes nothing: the transaction commits only if this condition holds on this item.
#[derive(Debug, Clone)]
#[must_use = "add it to a transaction with .condition_check(..)"]
pub struct ConditionCheck {
    table: AppTable,
    key: std::result::Result<Item, String>,
    expressions: Expressions,
}

impl ConditionCheck {
    /// Checks `condition` on the item with `key` (exactly the key attributes, serialized).
    pub fn new(
        table: &AppTable,
        key: impl Serialize,
        condition: impl Into<String>,
    ) -> ConditionCheck {
        ConditionCheck {
            table: table.clone(),
            key: to_item(key),
            expressions: Expressions::default(),
        }
        .condition(condition)
    }

    /// Checks `condition` on the item with a key built with the SDK's types.
    pub fn from_key(table: &AppTable, key: Item, condition: impl Into<String>) -> ConditionCheck {
        ConditionCheck {
            table: table.clone(),
            key: Ok(key),
            expressions: Expressions::default(),
        }
        .condition(condition)
    }

    fn into_item(self) -> Result<TransactItem> {
        let action = self
            .key
            .clone()
            .map(|key| TransactAction::ConditionCheck { key });
        self.transact_item(action)
    }
}
expression_methods!(ConditionCheck);

/// An event of the transaction, for the outcome and the failure hooks.
pub(super) struct PendingEvent {
    /// Its position in the transaction; `None` if it could not be encoded.
    pub index: Option<usize>,
    pub event_uuid: Uuid,
    table: &'static TableDef,
    table_name: String,
    typed_hook: fn(&FailedEvent<'_>, &Error),
}

#[cfg(test)]
impl PendingEvent {
    pub(super) fn for_test(index: Option<usize>, event_uuid: Uuid) -> PendingEvent {
        static DEF: TableDef = TableDef {
            name: "t",
            event_type: "T",
            partition_key: "pk",
            partition_key_type: crate::schema::KeyAttributeType::String,
            composite_key: &[],
            attributes: &[],
            linked: None,
            shard_by: None,
            ttl: None,
            indexes: &[],
            version: 1,
        };
        PendingEvent {
            index,
            event_uuid,
            table: &DEF,
            table_name: "dev_t".to_owned(),
            typed_hook: |_, _| {},
        }
    }
}

/// Application writes and events, applied together or not at all, in one
/// `TransactWriteItems`: see [`Store::transaction`].
///
/// Every event is written with `attribute_not_exists(event_uuid)`, so an event that already
/// exists cancels the whole transaction ([`TransactionOutcome::Duplicate`]). Each event's id
/// and the transaction's `created_at` are fixed when the event is added, so retries send the
/// identical request under the same `ClientRequestToken`.
#[must_use = "a transaction does nothing until commit() is awaited"]
pub struct Transaction {
    store: Store,
    created_at: CreatedAt,
    salt: u64,
    items: Vec<TransactItem>,
    events: Vec<PendingEvent>,
    error: Option<Error>,
    max_attempts: u32,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("created_at", &self.created_at)
            .field("items", &self.items.len())
            .field(
                "event_uuids",
                &self.events.iter().map(|e| e.event_uuid).collect::<Vec<_>>(),
            )
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Transaction {
    /// Attempts per commit, the first included: conflicts and throttling are retried.
    pub const MAX_ATTEMPTS: u32 = 5;
    /// The first backoff; it doubles per attempt, with full jitter.
    pub const INITIAL_BACKOFF: Duration = Duration::from_millis(25);
    /// The largest backoff.
    pub const MAX_BACKOFF: Duration = Duration::from_secs(1);

    pub(super) fn new(store: &Store) -> Transaction {
        Transaction {
            store: store.clone(),
            created_at: CreatedAt::now(),
            salt: fastrand::u64(..),
            items: Vec::new(),
            events: Vec::new(),
            error: None,
            max_attempts: Transaction::MAX_ATTEMPTS,
        }
    }

    fn push(mut self, item: Result<TransactItem>) -> Self {
        match item {
            Ok(item) => self.items.push(item),
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
        self
    }

    /// Adds a [`Put`] of an application item.
    pub fn put(self, put: Put) -> Self {
        self.push(put.into_item())
    }

    /// Adds an [`Update`] of an application item.
    pub fn update(self, update: Update) -> Self {
        self.push(update.into_item())
    }

    /// Adds a [`Delete`] of an application item.
    pub fn delete(self, delete: Delete) -> Self {
        self.push(delete.into_item())
    }

    /// Adds a [`ConditionCheck`] on an application item.
    pub fn condition_check(self, check: ConditionCheck) -> Self {
        self.push(check.into_item())
    }

    /// Adds an event: encoded now (its id and the transaction's `created_at` are fixed),
    /// written with `attribute_not_exists(event_uuid)`.
    ///
    /// An event that cannot be encoded makes `commit` fail without sending anything; its
    /// failure hooks are called at once, since it can never be stored.
    pub fn event<E: Storable>(mut self, event: &E) -> Self {
        let def = E::TABLE;
        let table_name = self.store.table_name(def);
        let event_uuid = event.event_uuid();
        let pending = |index| PendingEvent {
            index,
            event_uuid,
            table: def,
            table_name: table_name.clone(),
            typed_hook: typed_failure_hook::<E>,
        };
        match self
            .store
            .encode(event, &table_name, &event_uuid, &self.created_at)
        {
            Ok(item) => {
                self.events.push(pending(Some(self.items.len())));
                self.items.push(TransactItem {
                    table: table_name.clone(),
                    key_schema: KeySchema {
                        partition_key: def.partition_key.to_owned(),
                        sort_key: Some(EVENT_UUID.to_owned()),
                    },
                    action: TransactAction::Put { item },
                    condition: Some(PUT_CONDITION.to_owned()),
                    names: HashMap::new(),
                    values: HashMap::new(),
                    return_item_on_failure: false,
                });
            }
            Err(error) => {
                event.on_error(&error);
                if let Some(hook) = self.store.error_hook() {
                    hook(
                        &FailedEvent {
                            table: def,
                            table_name: &table_name,
                            item: None,
                            event_uuid,
                        },
                        &error,
                    );
                }
                self.events.push(pending(None));
                self.error.get_or_insert(error);
            }
        }
        self
    }

    /// How many attempts `commit` makes at most (default [`Transaction::MAX_ATTEMPTS`]).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The items so far: application writes and events.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was added yet.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.events.is_empty()
    }

    /// The ids of the events added so far, in order.
    pub fn event_uuids(&self) -> Vec<Uuid> {
        self.events.iter().map(|e| e.event_uuid).collect()
    }

    /// The `created_at` every event of the transaction gets: when it was started.
    pub fn created_at(&self) -> CreatedAt {
        self.created_at
    }

    /// The `ClientRequestToken` every attempt of `commit` sends: the first 36 hex digits of
    /// the SHA-256 of the transaction's `created_at`, a random salt drawn when it was
    /// started, and each event's table and id. Stable across retries of this transaction;
    /// never shared by two transactions, even of the same composite-key event in the same
    /// millisecond (whose second commit must be a `Duplicate`, not a repeat).
    pub fn client_request_token(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(b"eventosaurus-transaction\0");
        hash.update(self.created_at.to_string().as_bytes());
        hash.update(self.salt.to_be_bytes());
        for event in &self.events {
            hash.update(b"\0");
            hash.update(event.table_name.as_bytes());
            hash.update(b"\0");
            hash.update(event.event_uuid.as_bytes());
        }
        let digest = hash.finalize();
        let mut token = String::with_capacity(36);
        for byte in digest.iter().take(18) {
            token.push_str(&format!("{byte:02x}"));
        }
        token
    }

    /// Sends the transaction: one `TransactWriteItems` (retried with backoff, under the same
    /// token, on conflicts, throttling and network errors).
    ///
    /// Checked first, with nothing sent on failure: at least one event, at most
    /// [`MAX_TRANSACT_ITEMS`](crate::backend::MAX_TRANSACT_ITEMS) items
    /// ([`Error::TransactionTooLarge`]), one operation per item, every key present.
    ///
    /// A duplicate event or a failed application condition is an outcome (nothing was
    /// applied). On an error, the failure hooks of every event are called (the event type's
    /// [`OnError`](crate::OnError) and the store's hook), as for `store()`.
    pub async fn commit(mut self) -> Result<TransactionOutcome> {
        let request = TransactWrite {
            items: std::mem::take(&mut self.items),
            client_request_token: Some(self.client_request_token()),
        };
        let result = match self.error.take() {
            Some(error) => Err(error),
            None => self.send(&request).await,
        };
        if let Err(error) = &result {
            self.report_failure(&request, error);
        }
        result
    }

    async fn send(&self, request: &TransactWrite) -> Result<TransactionOutcome> {
        if self.events.is_empty() {
            return Err(Error::InvalidTransaction {
                reason: "it has no event: add one with .event(&event) (for application writes \
                         alone, use the SDK's TransactWriteItems)"
                    .to_owned(),
            });
        }
        request.validate()?;
        let backend = self.store.backend();
        let mut backoff = Backoff::new(
            self.max_attempts,
            Transaction::INITIAL_BACKOFF,
            Transaction::MAX_BACKOFF,
        );
        loop {
            let result = backend.transact_write(request).await;
            match interpret(result, request, &self.events, self.created_at) {
                Step::Done(outcome) => return Ok(outcome),
                Step::Retry(error) if backoff.wait().await => {
                    tracing::debug!(%error, attempt = backoff.attempt(), "retrying transaction");
                }
                Step::Retry(error) | Step::Fail(error) => return Err(error),
            }
        }
    }

    fn report_failure(&self, request: &TransactWrite, error: &Error) {
        for event in &self.events {
            let Some(index) = event.index else {
                continue; // reported when it failed to encode
            };
            let item = match request.items.get(index).map(|i| &i.action) {
                Some(TransactAction::Put { item }) => Some(item),
                _ => None,
            };
            let failed = FailedEvent {
                table: event.table,
                table_name: &event.table_name,
                item,
                event_uuid: event.event_uuid,
            };
            (event.typed_hook)(&failed, error);
            if let Some(hook) = self.store.error_hook() {
                hook(&failed, error);
            }
        }
    }
}
