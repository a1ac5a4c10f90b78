//! The key part of a plan: which table or index a request reads, which conditions are its
//! key conditions, and what is left for the filters.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use super::condition::{Condition, Operator};
use super::cursor::Cursor;
use super::request::Operation;
use crate::codec::Item;
use crate::error::{CursorProblem, Error, Result};
use crate::schema::{GlobalIndexDef, TableDef, CREATED_AT, CREATED_AT_INDEX, EVENT_UUID};

/// What kind of index a Query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexKind {
    /// The `created_at` local secondary index: the table's partition, in `created_at` order;
    /// strongly consistent reads possible.
    Local,
    /// A global secondary index: its own partitions, across the table's; eventually
    /// consistent reads only.
    Global,
}

/// The key part of a plan: which conditions are key conditions, and what is left.
pub(super) struct Keys<'a> {
    pub(super) operation: Operation,
    pub(super) index: Option<String>,
    pub(super) index_kind: Option<IndexKind>,
    /// The range key of the table or index read (`None`: a Scan, or a GSI without one).
    pub(super) range_key: Option<String>,
    pub(super) key_condition: Vec<Condition>,
    /// The other conditions, in the order given.
    pub(super) remaining: Vec<&'a Condition>,
    pub(super) key_attributes: Vec<String>,
    /// The key attributes of the table or index read: never in a FilterExpression.
    index_keys: Vec<String>,
}

impl<'a> Keys<'a> {
    /// Rules 1 to 3 of [`Plan::build`](super::Plan::build); `None` when a Scan is needed but
    /// not allowed.
    pub(super) fn choose(
        def: &TableDef,
        conditions: &'a [Condition],
        allow_scan: bool,
    ) -> Option<Keys<'a>> {
        let table_keys = vec![def.partition_key.to_owned(), EVENT_UUID.to_owned()];
        let mut keys = Keys {
            operation: Operation::Query,
            index: None,
            index_kind: None,
            range_key: Some(EVENT_UUID.to_owned()),
            key_condition: Vec::new(),
            remaining: conditions.iter().collect(),
            key_attributes: table_keys.clone(),
            index_keys: table_keys,
        };
        if keys.take_eq(def.partition_key) {
            keys.choose_table_range();
            return Some(keys);
        }
        if let Some(index) = global_index_for(def, conditions) {
            keys.take_eq(index.partition_key.attribute);
            keys.choose_global_range(index);
            return Some(keys);
        }
        keys.operation = Operation::Scan;
        keys.range_key = None;
        keys.index_keys.clear();
        allow_scan.then_some(keys)
    }

    /// Moves the first EQ on `attribute` to the key condition; false if there is none.
    fn take_eq(&mut self, attribute: &str) -> bool {
        let is_eq = |c: &&Condition| c.attribute == attribute && c.operator == Operator::Eq;
        match self.remaining.iter().position(is_eq) {
            Some(at) => {
                self.key_condition.push(self.remaining.remove(at).clone());
                true
            }
            None => false,
        }
    }

    /// Moves the range key condition to the key condition: an EQ on `eq_first` if there is
    /// one (it pins the range), else the first condition on one of `candidates` that a range
    /// key accepts. Returns its attribute.
    fn take_range(&mut self, eq_first: &str, candidates: &[&str]) -> Option<String> {
        let at = self
            .remaining
            .iter()
            .position(|c| c.attribute == eq_first && c.operator == Operator::Eq)
            .or_else(|| {
                self.remaining.iter().position(|c| {
                    candidates.contains(&c.attribute.as_str()) && c.operator.allowed_on_range_key()
                })
            })?;
        let condition = self.remaining.remove(at).clone();
        let attribute = condition.attribute.clone();
        self.key_condition.push(condition);
        Some(attribute)
    }

    /// The table's range key `event_uuid` (an EQ on it wins: it pins one item), else the
    /// first range condition on `event_uuid` or on `created_at`, which reads the LSI.
    fn choose_table_range(&mut self) {
        let range = self.take_range(EVENT_UUID, &[EVENT_UUID, CREATED_AT]);
        if range.as_deref() == Some(CREATED_AT) {
            self.index = Some(CREATED_AT_INDEX.to_owned());
            self.index_kind = Some(IndexKind::Local);
            self.range_key = Some(CREATED_AT.to_owned());
            self.key_attributes.push(CREATED_AT.to_owned());
            self.index_keys[1] = CREATED_AT.to_owned();
        }
    }

    /// A Query on `index`: its sort key condition if any, its keys before the table's in the
    /// cursor (a GSI's `LastEvaluatedKey` holds both).
    fn choose_global_range(&mut self, index: &GlobalIndexDef) {
        self.index = Some(index.name.to_owned());
        self.index_kind = Some(IndexKind::Global);
        self.range_key = index.sort_key.map(|key| key.attribute.to_owned());
        if let Some(sort_key) = index.sort_key {
            self.take_range(sort_key.attribute, &[sort_key.attribute]);
        }
        self.index_keys = index.key_attributes().map(str::to_owned).collect();
        let mut key_attributes = self.index_keys.clone();
        key_attributes.extend(
            self.key_attributes
                .drain(..)
                .filter(|a| !key_attributes.contains(a))
                .collect::<Vec<_>>(),
        );
        self.key_attributes = key_attributes;
    }

    /// `(client_filter, filter)`: DynamoDB refuses a key attribute of the queried table or
    /// index in a FilterExpression, so those conditions are evaluated on returned items.
    pub(super) fn split_filters(&self) -> (Vec<Condition>, Vec<Condition>) {
        self.remaining
            .iter()
            .map(|c| (*c).clone())
            .partition(|c| self.index_keys.contains(&c.attribute))
    }

    /// The key a cursor stands for, checked to lie inside the key condition: DynamoDB
    /// refuses an `ExclusiveStartKey` from another partition or outside the range condition.
    pub(super) fn start_key(&self, cursor: &Cursor) -> Result<Item> {
        let key = cursor.decode(&self.key_attributes)?;
        let invalid = |problem| Error::InvalidCursor { problem };
        if let Some((name, _)) = key.iter().find(|(_, v)| is_empty_value(v)) {
            return Err(invalid(CursorProblem::EmptyKeyValue {
                attribute: name.clone(),
            }));
        }
        if let Some(outside) = self.key_condition.iter().find(|c| !c.matches(&key)) {
            return Err(invalid(CursorProblem::OutsideKeyCondition {
                attribute: outside.attribute.clone(),
                operator: outside.operator,
            }));
        }
        Ok(key)
    }
}

/// The global secondary index to Query when there is no EQ on the table's partition key:
/// the one whose partition key has the first EQ condition (in the order given). Of several
/// indexes on that attribute, the first declared whose sort key has a condition a range key
/// accepts, else the first declared.
fn global_index_for<'d>(def: &'d TableDef, conditions: &[Condition]) -> Option<&'d GlobalIndexDef> {
    let attribute = conditions.iter().find_map(|c| {
        (c.operator == Operator::Eq
            && def
                .indexes
                .iter()
                .any(|i| i.partition_key.attribute == c.attribute))
        .then_some(c.attribute.as_str())
    })?;
    let mut candidates = def
        .indexes
        .iter()
        .filter(|i| i.partition_key.attribute == attribute);
    let first = candidates.clone().next();
    candidates
        .find(|index| {
            index.sort_key.is_some_and(|sort| {
                conditions
                    .iter()
                    .any(|c| c.attribute == sort.attribute && c.operator.allowed_on_range_key())
            })
        })
        .or(first)
}

/// An empty string or binary: never a key value in DynamoDB.
pub(super) fn is_empty_value(value: &AttributeValue) -> bool {
    match value {
        AttributeValue::S(s) => s.is_empty(),
        AttributeValue::B(b) => b.as_ref().is_empty(),
        _ => false,
    }
}
