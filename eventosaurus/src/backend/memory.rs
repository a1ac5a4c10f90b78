//! Test mode's backend: events kept in memory, with DynamoDB's semantics.
//!
//! Writes are conditional exactly as on DynamoDB (the first write of a key wins, a second is
//! a [`Duplicate`](crate::StoreOutcome::Duplicate)); queries evaluate the same [`Plan`] with
//! [`evaluate_request`]. Tables need not be created: a table exists once something was
//! written to it, and an unknown table reads as empty.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{
    key_identity, Backend, BackendFuture, BatchGetResponse, BatchPut, PageResponse, PutOutcome,
};
use crate::codec::Item;
use crate::plan::memory::evaluate_request;
use crate::plan::{Plan, Select};
use crate::schema::TableDef;

/// In-memory tables, keyed by full table name; items in write order. Clones share the
/// same tables.
#[derive(Debug, Default, Clone)]
pub struct Memory {
    tables: Arc<Mutex<HashMap<String, MemoryTable>>>,
}

#[derive(Debug, Default)]
struct MemoryTable {
    /// (partition key, event_uuid) to the index in `items`.
    keys: HashMap<(String, String), usize>,
    items: Vec<Item>,
}

impl Memory {
    /// An empty backend.
    pub fn new() -> Memory {
        Memory::default()
    }

    fn with_tables<T>(&self, f: impl FnOnce(&mut HashMap<String, MemoryTable>) -> T) -> T {
        let mut tables = self
            .tables
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut tables)
    }

    /// Inserts the item unless its key exists; returns the existing item if it does.
    fn insert(
        &self,
        table_name: &str,
        def: &TableDef,
        item: Item,
        overwrite: bool,
    ) -> Option<Item> {
        let key = key_identity(def, &item);
        self.with_tables(|tables| {
            let table = tables.entry(table_name.to_owned()).or_default();
            match table.keys.get(&key) {
                Some(&index) if overwrite => {
                    table.items[index] = item;
                    None
                }
                Some(&index) => Some(table.items[index].clone()),
                None => {
                    table.keys.insert(key, table.items.len());
                    table.items.push(item);
                    None
                }
            }
        })
    }

    /// A copy of every item of a table, in write order.
    pub fn items(&self, table_name: &str) -> Vec<Item> {
        self.with_tables(|tables| {
            tables
                .get(table_name)
                .map(|t| t.items.clone())
                .unwrap_or_default()
        })
    }

    /// Forgets every table and item.
    pub fn clear(&self) {
        self.with_tables(|tables| tables.clear());
    }
}

impl Backend for Memory {
    fn label(&self) -> &str {
        "test mode (in memory)"
    }

    fn put_if_absent<'a>(
        &'a self,
        table: &'a str,
        def: &'a TableDef,
        item: Item,
    ) -> BackendFuture<'a, PutOutcome> {
        let outcome = match self.insert(table, def, item, false) {
            None => PutOutcome::Written,
            Some(existing) => PutOutcome::Exists {
                existing: Some(existing),
            },
        };
        Box::pin(async move { Ok(outcome) })
    }

    fn batch_put(&self, puts: Vec<BatchPut>) -> BackendFuture<'_, Vec<BatchPut>> {
        for put in puts {
            self.insert(&put.table, put.def, put.item, true);
        }
        Box::pin(async { Ok(Vec::new()) })
    }

    fn get<'a>(
        &'a self,
        table: &'a str,
        def: &'a TableDef,
        key: Item,
    ) -> BackendFuture<'a, Option<Item>> {
        let key = key_identity(def, &key);
        let found = self.with_tables(|tables| {
            let table = tables.get(table)?;
            table
                .keys
                .get(&key)
                .map(|&index| table.items[index].clone())
        });
        Box::pin(async move { Ok(found) })
    }

    fn batch_get<'a>(
        &'a self,
        table: &'a str,
        def: &'a TableDef,
        keys: Vec<Item>,
    ) -> BackendFuture<'a, BatchGetResponse> {
        let items = self.with_tables(|tables| {
            let Some(table) = tables.get(table) else {
                return Vec::new();
            };
            keys.iter()
                .filter_map(|key| table.keys.get(&key_identity(def, key)))
                .map(|&index| table.items[index].clone())
                .collect()
        });
        Box::pin(async move {
            Ok(BatchGetResponse {
                items,
                unprocessed: Vec::new(),
            })
        })
    }

    fn query_page<'a>(
        &'a self,
        plan: &'a Plan,
        start: Option<Item>,
    ) -> BackendFuture<'a, PageResponse> {
        let response = evaluate_request(plan, self.items(&plan.table), start.as_ref());
        let count = response.items.len() as u64;
        let counting_only = plan.select == Select::Count && plan.client_filter.is_empty();
        Box::pin(async move {
            Ok(PageResponse {
                items: (!counting_only).then_some(response.items),
                count,
                scanned: response.scanned,
                last_evaluated_key: response.last_evaluated_key,
            })
        })
    }

    fn with_retries_disabled(self: Arc<Self>) -> Arc<dyn Backend> {
        self
    }
}
