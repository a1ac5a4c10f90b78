//! Test mode's backend: events kept in memory, with DynamoDB's semantics.
//!
//! Writes are conditional exactly as on DynamoDB (the first write of a key wins, a second is
//! a [`Duplicate`](crate::StoreOutcome::Duplicate)); queries evaluate the same [`Plan`] with
//! [`evaluate_request`]. Tables need not be created: a table exists once something was
//! written to it, and an unknown table reads as empty.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::expression::{parse_item, ParsedItem};
use super::transact::{
    CancellationReason, KeySchema, TransactAction, TransactResult, TransactWrite,
};
use super::{
    key_identity, key_part, Backend, BackendFuture, BatchGetResponse, BatchPut, PageResponse,
    PutOutcome,
};
use crate::codec::Item;
use crate::error::Result;
use crate::plan::memory::evaluate_request;
use crate::plan::{Plan, Select};
use crate::schema::TableDef;

/// How long DynamoDB remembers a transaction's `ClientRequestToken`.
const TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// In-memory tables, keyed by full table name; items in write order. Clones share the
/// same tables.
///
/// Application tables written by transactions live here too, keyed by the key schema the
/// transaction names; [`items`](Memory::items) reads them back.
#[derive(Debug, Default, Clone)]
pub struct Memory {
    tables: Arc<Mutex<HashMap<String, MemoryTable>>>,
    /// The tokens of committed transactions, with when they were committed.
    tokens: Arc<Mutex<HashMap<String, Instant>>>,
}

/// An item's identity in a table: its partition key and sort key values as text.
type MemoryKey = (String, String);

#[derive(Debug, Default)]
struct MemoryTable {
    /// (partition key, sort key) to the index in `items`.
    keys: HashMap<MemoryKey, usize>,
    items: Vec<Item>,
}

impl MemoryTable {
    fn get(&self, key: &MemoryKey) -> Option<&Item> {
        self.keys.get(key).map(|&index| &self.items[index])
    }

    fn upsert(&mut self, key: MemoryKey, item: Item) {
        match self.keys.get(&key) {
            Some(&index) => self.items[index] = item,
            None => {
                self.keys.insert(key, self.items.len());
                self.items.push(item);
            }
        }
    }

    fn remove(&mut self, key: &MemoryKey) {
        if let Some(index) = self.keys.remove(key) {
            self.items.remove(index);
            for i in self.keys.values_mut() {
                if *i > index {
                    *i -= 1;
                }
            }
        }
    }
}

fn schema_key(schema: &KeySchema, item: &Item) -> MemoryKey {
    (
        key_part(item.get(&schema.partition_key)),
        key_part(schema.sort_key.as_ref().and_then(|sort| item.get(sort))),
    )
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

    /// A transaction, all or nothing, under the lock of the tables.
    fn transact(&self, request: &TransactWrite) -> Result<TransactResult> {
        request.validate()?;
        let parsed = request
            .items
            .iter()
            .map(parse_item)
            .collect::<Result<Vec<_>>>()?;
        let keys = request
            .items
            .iter()
            .map(|item| item.key())
            .collect::<Result<Vec<_>>>()?;
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tokens.retain(|_, committed| committed.elapsed() < TOKEN_LIFETIME);
        if let Some(token) = &request.client_request_token {
            if tokens.contains_key(token) {
                // DynamoDB: a repeat of a committed request succeeds and changes nothing.
                return Ok(TransactResult::Committed);
            }
        }
        let result = self.with_tables(|tables| {
            let identities: Vec<MemoryKey> = request
                .items
                .iter()
                .zip(&keys)
                .map(|(item, key)| schema_key(&item.key_schema, key))
                .collect();
            let existing: Vec<Option<Item>> = request
                .items
                .iter()
                .zip(&identities)
                .map(|(item, id)| tables.get(&item.table).and_then(|t| t.get(id)).cloned())
                .collect();
            let writes = match check_conditions(request, &parsed, &existing)
                .and_then(|()| new_items(request, &parsed, &existing))
            {
                Ok(writes) => writes,
                Err(reasons) => return TransactResult::Canceled { reasons },
            };
            for (index, new) in writes {
                let item = &request.items[index];
                let table = tables.entry(item.table.clone()).or_default();
                match new {
                    Some(new) => table.upsert(identities[index].clone(), new),
                    None => table.remove(&identities[index]),
                }
            }
            TransactResult::Committed
        });
        if let (TransactResult::Committed, Some(token)) = (&result, &request.client_request_token) {
            tokens.insert(token.clone(), Instant::now());
        }
        Ok(result)
    }
}

/// Every condition of a transaction, against the state before it: the cancellation reasons
/// (one per item) if any fails.
fn check_conditions(
    request: &TransactWrite,
    parsed: &[ParsedItem],
    existing: &[Option<Item>],
) -> std::result::Result<(), Vec<CancellationReason>> {
    let empty = Item::new();
    let mut reasons = Vec::with_capacity(request.items.len());
    let mut canceled = false;
    for ((item, parsed), old) in request.items.iter().zip(parsed).zip(existing) {
        let holds = parsed
            .condition
            .as_ref()
            .is_none_or(|c| c.holds(old.as_ref().unwrap_or(&empty)));
        if holds {
            reasons.push(CancellationReason::none());
        } else {
            canceled = true;
            reasons.push(CancellationReason {
                code: "ConditionalCheckFailed".to_owned(),
                message: Some("The conditional request failed".to_owned()),
                item: if item.return_item_on_failure {
                    old.clone()
                } else {
                    None
                },
            });
        }
    }
    if canceled {
        Err(reasons)
    } else {
        Ok(())
    }
}

/// The new state of every item a transaction writes (`None`: deleted), computed before
/// anything is applied; an update that cannot apply cancels the transaction with a
/// `ValidationError` reason at its index.
fn new_items(
    request: &TransactWrite,
    parsed: &[ParsedItem],
    existing: &[Option<Item>],
) -> std::result::Result<Vec<(usize, Option<Item>)>, Vec<CancellationReason>> {
    let mut writes = Vec::with_capacity(request.items.len());
    for (index, item) in request.items.iter().enumerate() {
        let new = match &item.action {
            TransactAction::Put { item } => Some(item.clone()),
            TransactAction::Update { key, .. } => {
                let Some(update) = parsed[index].update.as_ref() else {
                    continue;
                };
                match update.apply(existing[index].as_ref(), key) {
                    Ok(new) => Some(new),
                    Err(message) => {
                        let mut reasons: Vec<CancellationReason> = request
                            .items
                            .iter()
                            .map(|_| CancellationReason::none())
                            .collect();
                        reasons[index] = CancellationReason {
                            code: "ValidationError".to_owned(),
                            message: Some(message),
                            item: None,
                        };
                        return Err(reasons);
                    }
                }
            }
            TransactAction::Delete { .. } => None,
            TransactAction::ConditionCheck { .. } => continue,
        };
        writes.push((index, new));
    }
    Ok(writes)
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

    fn transact_write<'a>(
        &'a self,
        request: &'a TransactWrite,
    ) -> BackendFuture<'a, TransactResult> {
        let result = self.transact(request);
        Box::pin(async move { result })
    }

    fn with_retries_disabled(self: Arc<Self>) -> Arc<dyn Backend> {
        self
    }
}
