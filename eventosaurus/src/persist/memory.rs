//! Test mode's backend: events kept in memory, with DynamoDB's write semantics.
//!
//! Writes are conditional exactly as on DynamoDB (the first write of a key wins, a second is
//! a [`Duplicate`](crate::StoreOutcome::Duplicate)). Tables need not be created: a table
//! exists once something was written to it, and an unknown table reads as empty.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::codec::Item;
use crate::number::Number;
use crate::persist::{Context, EventWrite, PersistFuture, Persistor};
use crate::store::StoreOutcome;
use crate::table::EVENT_UUID;

/// In-memory tables, keyed by full table name; items in write order.
#[derive(Debug, Default)]
pub struct Memory {
    tables: Mutex<HashMap<String, MemoryTable>>,
}

#[derive(Debug, Default)]
struct MemoryTable {
    keys: HashSet<(String, String)>,
    items: Vec<Item>,
}

fn key_part(value: Option<&AttributeValue>) -> String {
    match value {
        Some(AttributeValue::S(s)) => format!("S:{s}"),
        // Canonical decimal text: equal numbers, and only those, share a key.
        Some(AttributeValue::N(n)) => match Number::parse_unbounded(n) {
            Ok(number) => format!("N:{number}"),
            Err(_) => format!("N?:{n}"),
        },
        other => format!("{other:?}"),
    }
}

/// Whether two key values are equal as DynamoDB compares them (numbers by exact value).
pub fn same_value(a: &AttributeValue, b: &AttributeValue) -> bool {
    key_part(Some(a)) == key_part(Some(b))
}

impl Memory {
    /// An empty backend.
    pub fn new() -> Memory {
        Memory::default()
    }

    /// Inserts the item unless its key exists. Returns whether it was inserted.
    pub fn put_if_absent(&self, table_name: &str, partition_key: &str, item: Item) -> bool {
        let key = (
            key_part(item.get(partition_key)),
            key_part(item.get(EVENT_UUID)),
        );
        let mut tables = self
            .tables
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let table = tables.entry(table_name.to_owned()).or_default();
        if !table.keys.insert(key) {
            return false;
        }
        table.items.push(item);
        true
    }

    /// A copy of every item of a table, in write order.
    pub fn items(&self, table_name: &str) -> Vec<Item> {
        let tables = self
            .tables
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tables
            .get(table_name)
            .map(|t| t.items.clone())
            .unwrap_or_default()
    }

    /// Forgets every table and item.
    pub fn clear(&self) {
        self.tables
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }
}

impl Persistor for Memory {
    fn persist<'a>(&'a self, _ctx: &'a Context, write: EventWrite) -> PersistFuture<'a> {
        Box::pin(async move {
            let EventWrite {
                table,
                table_name,
                item,
                event_uuid,
                created_at,
                ..
            } = write;
            if self.put_if_absent(&table_name, table.partition_key, item) {
                Ok(StoreOutcome::Stored {
                    event_uuid,
                    created_at,
                })
            } else {
                Ok(StoreOutcome::Duplicate { event_uuid })
            }
        })
    }

    fn as_memory(&self) -> Option<&Memory> {
        Some(self)
    }
}
