//! The transactional write of the seam: a [`TransactWrite`] (at most
//! [`MAX_TRANSACT_ITEMS`] puts, updates, deletes and condition checks, applied all or none)
//! and what came of it, a [`TransactResult`].
//!
//! These are plain data, the shape of DynamoDB's `TransactWriteItems`; the typed builder
//! users call is [`Store::transaction`](crate::Store::transaction).

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::codec::Item;
use crate::error::{Error, Result};
use crate::number::Number;

/// DynamoDB's limit of items per `TransactWriteItems` call.
pub const MAX_TRANSACT_ITEMS: usize = 100;

/// DynamoDB's limit on the total size of a transaction's items: 4 MB.
pub const MAX_TRANSACT_SIZE: usize = 4 * 1024 * 1024;

/// The key attributes of a table: a partition key, and a sort key if it has one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeySchema {
    /// The partition (hash) key attribute.
    pub partition_key: String,
    /// The sort (range) key attribute, if any.
    pub sort_key: Option<String>,
}

impl KeySchema {
    /// The key attribute names, partition key first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.partition_key.as_str()).chain(self.sort_key.as_deref())
    }

    /// Whether `attribute` is one of the key attributes.
    pub fn contains(&self, attribute: &str) -> bool {
        self.names().any(|name| name == attribute)
    }

    /// The key of `item`: its key attributes only. An error names a missing one.
    pub fn key_of(&self, table: &str, item: &Item) -> Result<Item> {
        self.names()
            .map(|name| match item.get(name) {
                Some(value) => Ok((name.to_owned(), value.clone())),
                None => Err(Error::InvalidTransaction {
                    reason: format!("an item for `{table}` lacks its key attribute `{name}`"),
                }),
            })
            .collect()
    }
}

/// What one item of a transaction does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TransactAction {
    /// Writes (replaces) a whole item.
    Put {
        /// The item, key attributes included.
        item: Item,
    },
    /// Updates (or creates) the item with this key.
    Update {
        /// The key attributes.
        key: Item,
        /// The `UpdateExpression`, e.g. `SET balance = balance - :amount`.
        update_expression: String,
    },
    /// Deletes the item with this key (nothing if there is none).
    Delete {
        /// The key attributes.
        key: Item,
    },
    /// Writes nothing: only its condition must hold.
    ConditionCheck {
        /// The key attributes.
        key: Item,
    },
}

impl TransactAction {
    /// The name DynamoDB gives this kind of item: `Put`, `Update`, `Delete`, `ConditionCheck`.
    pub fn name(&self) -> &'static str {
        match self {
            TransactAction::Put { .. } => "Put",
            TransactAction::Update { .. } => "Update",
            TransactAction::Delete { .. } => "Delete",
            TransactAction::ConditionCheck { .. } => "ConditionCheck",
        }
    }
}

/// One item of a [`TransactWrite`]: a table, an action and its optional condition with the
/// placeholders its expressions use.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactItem {
    /// The full table name.
    pub table: String,
    /// The table's key attributes (test mode keys its items by them; DynamoDB knows them).
    pub key_schema: KeySchema,
    /// What the item does.
    pub action: TransactAction,
    /// The `ConditionExpression`; required for a condition check.
    pub condition: Option<String>,
    /// `ExpressionAttributeNames` of the condition and update expressions (`#n` → name).
    pub names: HashMap<String, String>,
    /// `ExpressionAttributeValues` of the condition and update expressions (`:v` → value).
    pub values: HashMap<String, AttributeValue>,
    /// Ask for the existing item when the condition fails
    /// (`ReturnValuesOnConditionCheckFailure=ALL_OLD`).
    pub return_item_on_failure: bool,
}

impl TransactItem {
    /// The key of the item this entry touches.
    pub fn key(&self) -> Result<Item> {
        match &self.action {
            TransactAction::Put { item } => self.key_schema.key_of(&self.table, item),
            TransactAction::Update { key, .. }
            | TransactAction::Delete { key }
            | TransactAction::ConditionCheck { key } => {
                let exact = self.key_schema.key_of(&self.table, key)?;
                if exact.len() != key.len() {
                    let extra: Vec<&str> = key
                        .keys()
                        .filter(|name| !self.key_schema.contains(name))
                        .map(String::as_str)
                        .collect();
                    return Err(Error::InvalidTransaction {
                        reason: format!(
                            "the key of a {} on `{}` has attributes that are not key attributes: {}",
                            self.action.name(),
                            self.table,
                            extra.join(", ")
                        ),
                    });
                }
                Ok(exact)
            }
        }
    }
}

/// A transactional write: every item is applied, or none.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransactWrite {
    /// The items, in order; a cancellation reports a reason per item in this order.
    pub items: Vec<TransactItem>,
    /// The idempotency token: a repeat of a committed request with the same token within
    /// ten minutes succeeds without applying anything again.
    pub client_request_token: Option<String>,
}

impl TransactWrite {
    /// Checks what DynamoDB would reject before evaluating anything: no items, more than
    /// [`MAX_TRANSACT_ITEMS`], a key attribute missing, two items on one key, a condition
    /// check without a condition, or more than [`MAX_TRANSACT_SIZE`] of items.
    pub fn validate(&self) -> Result<()> {
        if self.items.is_empty() {
            return Err(Error::InvalidTransaction {
                reason: "it has no items".to_owned(),
            });
        }
        if self.items.len() > MAX_TRANSACT_ITEMS {
            return Err(Error::TransactionTooLarge {
                items: self.items.len(),
                limit: MAX_TRANSACT_ITEMS,
            });
        }
        let mut seen = HashSet::with_capacity(self.items.len());
        let mut size = 0usize;
        for (index, item) in self.items.iter().enumerate() {
            let key = item.key()?;
            let mut identity = vec![item.table.clone()];
            identity.extend(item.key_schema.names().map(|name| key_text(key.get(name))));
            if !seen.insert(identity) {
                return Err(Error::InvalidTransaction {
                    reason: format!(
                        "item {index} ({} on `{}`) touches an item another item of the \
                         transaction touches too; DynamoDB allows one operation per item",
                        item.action.name(),
                        item.table
                    ),
                });
            }
            if matches!(item.action, TransactAction::ConditionCheck { .. })
                && item
                    .condition
                    .as_deref()
                    .is_none_or(|c| c.trim().is_empty())
            {
                return Err(Error::InvalidTransaction {
                    reason: format!(
                        "item {index} is a condition check on `{}` without a condition",
                        item.table
                    ),
                });
            }
            size += match &item.action {
                TransactAction::Put { item } => crate::codec::item_size(item),
                TransactAction::Update { key, .. }
                | TransactAction::Delete { key }
                | TransactAction::ConditionCheck { key } => crate::codec::item_size(key),
            };
        }
        if size > MAX_TRANSACT_SIZE {
            return Err(Error::InvalidTransaction {
                reason: format!(
                    "its items are {size} bytes, over DynamoDB's limit of {MAX_TRANSACT_SIZE} bytes per transaction"
                ),
            });
        }
        Ok(())
    }

    /// The distinct tables of the items, comma-separated, for messages.
    pub fn tables(&self) -> String {
        let mut tables: Vec<&str> = Vec::new();
        for item in &self.items {
            if !tables.contains(&item.table.as_str()) {
                tables.push(&item.table);
            }
        }
        tables.join(", ")
    }
}

/// A key value as text, for identity: `S:…`, `N:…` (canonical: `007`, `7.0` and `7` are
/// one number), `B:…`; missing is `-`.
fn key_text(value: Option<&AttributeValue>) -> String {
    match value {
        Some(AttributeValue::S(s)) => format!("S:{s}"),
        Some(AttributeValue::N(n)) => match Number::parse_unbounded(n) {
            Ok(number) => format!("N:{number}"),
            Err(_) => format!("N?:{n}"),
        },
        Some(AttributeValue::B(b)) => format!("B:{:?}", b.as_ref()),
        Some(other) => format!("{other:?}"),
        None => "-".to_owned(),
    }
}

/// What a transactional write came to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TransactResult {
    /// Every item was applied.
    Committed,
    /// Nothing was applied; one reason per item, in order (`TransactionCanceledException`).
    Canceled {
        /// The reasons, one per item of the request.
        reasons: Vec<CancellationReason>,
    },
}

/// Why DynamoDB canceled a transaction, for one of its items.
#[derive(Debug, Clone, PartialEq)]
pub struct CancellationReason {
    /// DynamoDB's code: `None` (this item was fine), `ConditionalCheckFailed`,
    /// `TransactionConflict`, `ThrottlingError`, `ProvisionedThroughputExceeded`,
    /// `ItemCollectionSizeLimitExceeded`, `ValidationError`, ...
    pub code: String,
    /// DynamoDB's message, if any.
    pub message: Option<String>,
    /// The existing item, when the condition failed and the item asked for it.
    pub item: Option<Item>,
}

impl CancellationReason {
    /// The reason of an item that did not cause the cancellation.
    pub fn none() -> CancellationReason {
        CancellationReason {
            code: "None".to_owned(),
            message: None,
            item: None,
        }
    }

    /// Whether this item's condition failed.
    pub fn is_condition_failure(&self) -> bool {
        self.code == "ConditionalCheckFailed"
    }

    /// Whether this item caused nothing.
    pub fn is_none(&self) -> bool {
        self.code.is_empty() || self.code == "None"
    }

    /// Whether the reason is transient: a conflict with another transaction, or throttling.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code.as_str(),
            "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn put(table: &str, id: &str) -> TransactItem {
        TransactItem {
            table: table.to_owned(),
            key_schema: KeySchema {
                partition_key: "id".to_owned(),
                sort_key: None,
            },
            action: TransactAction::Put {
                item: [("id".to_owned(), s(id))].into_iter().collect(),
            },
            condition: None,
            names: HashMap::new(),
            values: HashMap::new(),
            return_item_on_failure: false,
        }
    }

    #[test]
    fn validation_refuses_what_dynamodb_would() {
        let ok = TransactWrite {
            items: vec![put("a", "1"), put("a", "2"), put("b", "1")],
            client_request_token: None,
        };
        ok.validate().unwrap();
        assert_eq!(ok.tables(), "a, b");

        let twice = TransactWrite {
            items: vec![put("a", "1"), put("a", "1")],
            client_request_token: None,
        };
        assert!(matches!(
            twice.validate(),
            Err(Error::InvalidTransaction { .. })
        ));

        let too_many = TransactWrite {
            items: (0..101).map(|i| put("a", &i.to_string())).collect(),
            client_request_token: None,
        };
        assert!(matches!(
            too_many.validate(),
            Err(Error::TransactionTooLarge {
                items: 101,
                limit: 100
            })
        ));

        let mut keyless = put("a", "1");
        keyless.action = TransactAction::Put {
            item: [("other".to_owned(), s("x"))].into_iter().collect(),
        };
        let err = TransactWrite {
            items: vec![keyless],
            client_request_token: None,
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("key attribute `id`"), "{err}");

        let mut check = put("a", "1");
        check.action = TransactAction::ConditionCheck {
            key: [("id".to_owned(), s("1"))].into_iter().collect(),
        };
        assert!(TransactWrite {
            items: vec![check],
            client_request_token: None
        }
        .validate()
        .is_err());
    }
}
