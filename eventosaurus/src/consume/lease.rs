//! Leases and checkpoints, in one DynamoDB table per environment:
//! `<prefix>_eventosaurus_leases`, the way the Kinesis Client Library coordinates consumers.
//!
//! One item per (consumer group, shard): hash key `group_name`, range key `lease_key`
//! (`<table>/<shard id>`). It holds the shard's checkpoint (the sequence number of the last
//! record whose handler finished, or `SHARD_END`), its `owner` (a consumer process), a
//! `lease_counter` the owner increments at every renewal, and `pending_owner` when another
//! process asked for the lease to balance the load.
//!
//! Every change is a conditional write:
//! * **take** a free lease: `attribute_not_exists(owner)`;
//! * **take** an expired lease: `owner = :seen AND lease_counter = :seen` — a lease is expired
//!   when its counter has not moved for the lease expiry *as measured by the taker's own
//!   clock* (no clock comparison between machines);
//! * **renew**, **checkpoint**, **release**: `owner = :me`; a failed condition means the lease
//!   was lost, and the shard's worker stops at once;
//! * **hand-off**: a process below its fair share sets `pending_owner` on a lease of a process
//!   above it; the owner finishes its batch, checkpoints and hands the lease over
//!   (`owner = :pending`), so a shard is never worked by two processes at once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType,
};

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;

use crate::error::{classify, Error, Result, SdkFailure};
use crate::table::CreateOutcome;
use crate::Store;

use super::shards::ShardInfo;

/// The lease table's name without the prefix.
pub const LEASE_TABLE: &str = "eventosaurus_leases";

const GROUP: &str = "group_name";
const KEY: &str = "lease_key";
const TABLE: &str = "table_logical_name";
const SHARD: &str = "shard_id";
const PARENT: &str = "parent_shard_id";
const OWNER: &str = "owner";
const COUNTER: &str = "lease_counter";
const CHECKPOINT: &str = "checkpoint";
const PENDING: &str = "pending_owner";
const UPDATED: &str = "updated_at";

/// The checkpoint value of a shard read to its end.
pub const SHARD_END: &str = "SHARD_END";

/// `<prefix>_eventosaurus_leases`.
pub fn lease_table_name(environment_prefix: &str) -> String {
    format!("{environment_prefix}_{LEASE_TABLE}")
}

/// Creates the lease table of the store's environment if it is missing, and waits until it
/// is ACTIVE (`create-tables` does this too).
pub async fn create_lease_table(store: &Store) -> Result<CreateOutcome> {
    let table = lease_table_name(store.environment_prefix());
    let at = store.call_site("CreateTable", &table);
    let key = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let request = store
        .client()?
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest);
    let request = match (
        key(GROUP, KeyType::Hash),
        key(KEY, KeyType::Range),
        attribute(GROUP),
        attribute(KEY),
    ) {
        (Ok(hash), Ok(range), Ok(a), Ok(b)) => request
            .key_schema(hash)
            .key_schema(range)
            .attribute_definitions(a)
            .attribute_definitions(b),
        _ => {
            return Err(Error::InvalidConsumer {
                reason: "could not build the lease table's key schema".to_owned(),
            })
        }
    };
    let outcome = match request.send().await {
        Ok(_) => CreateOutcome::Created,
        Err(err) => match classify(err, at) {
            SdkFailure::InUse => CreateOutcome::AlreadyExists,
            other => return Err(other.into_error(at)),
        },
    };
    crate::table::wait_until_active(store, &table, crate::table::ACTIVE_TIMEOUT).await?;
    Ok(outcome)
}

/// A shard's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkpoint {
    /// Every record up to and including this sequence number was processed.
    Sequence(String),
    /// The shard was read to its end.
    ShardEnd,
}

impl Checkpoint {
    fn to_value(&self) -> AttributeValue {
        AttributeValue::S(match self {
            Checkpoint::Sequence(s) => s.clone(),
            Checkpoint::ShardEnd => SHARD_END.to_owned(),
        })
    }

    fn from_text(text: &str) -> Checkpoint {
        if text == SHARD_END {
            Checkpoint::ShardEnd
        } else {
            Checkpoint::Sequence(text.to_owned())
        }
    }
}

/// One lease, as read from the lease table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// `<table>/<shard id>`.
    pub key: String,
    /// The logical table name.
    pub table: String,
    /// The shard id.
    pub shard_id: String,
    /// The parent shard id, if any.
    pub parent_shard_id: Option<String>,
    /// The process holding it, if any.
    pub owner: Option<String>,
    /// Incremented at every renewal and change of owner.
    pub counter: u64,
    /// How far the group got.
    pub checkpoint: Option<Checkpoint>,
    /// A process that asked for this lease.
    pub pending_owner: Option<String>,
}

impl Lease {
    /// Whether the shard was read to its end.
    pub fn is_finished(&self) -> bool {
        self.checkpoint == Some(Checkpoint::ShardEnd)
    }

    fn from_item(item: &HashMap<String, AttributeValue>) -> Option<Lease> {
        let s = |name: &str| match item.get(name) {
            Some(AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        };
        Some(Lease {
            key: s(KEY)?,
            table: s(TABLE)?,
            shard_id: s(SHARD)?,
            parent_shard_id: s(PARENT),
            owner: s(OWNER),
            counter: match item.get(COUNTER) {
                Some(AttributeValue::N(n)) => n.parse().unwrap_or(0),
                _ => 0,
            },
            checkpoint: s(CHECKPOINT).map(|c| Checkpoint::from_text(&c)),
            pending_owner: s(PENDING),
        })
    }
}

/// The outcome of a renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Renewal {
    /// Still ours; `pending_owner` is set when another process asked for it.
    Renewed { pending_owner: Option<String> },
    /// Someone else owns it now.
    Lost,
}

/// The leases of one consumer group, as seen by one process (`owner`).
#[derive(Clone)]
pub(crate) struct LeaseTable {
    store: Store,
    table: String,
    group: String,
    owner: String,
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn now_text() -> AttributeValue {
    AttributeValue::S(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

impl LeaseTable {
    pub(crate) fn new(store: &Store, group: &str, owner: &str) -> LeaseTable {
        LeaseTable {
            store: store.clone(),
            table: lease_table_name(store.environment_prefix()),
            group: group.to_owned(),
            owner: owner.to_owned(),
        }
    }

    /// This process's owner id.
    pub(crate) fn owner(&self) -> &str {
        &self.owner
    }

    /// Every lease of the group (a consistent Query, all pages).
    pub(crate) async fn list(&self) -> Result<Vec<Lease>> {
        let at = self.store.call_site("Query", &self.table);
        let mut leases = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .store
                .client()?
                .query()
                .table_name(&self.table)
                .key_condition_expression("#g = :g")
                .expression_attribute_names("#g", GROUP)
                .expression_attribute_values(":g", s(&self.group))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|err| classify(err, at).into_error(at))?;
            leases.extend(page.items().iter().filter_map(Lease::from_item));
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(leases);
            }
        }
    }

    /// Creates the lease of a shard if it does not exist yet (no owner, no checkpoint).
    pub(crate) async fn ensure(&self, shard: &ShardInfo) -> Result<()> {
        let at = self.store.call_site("PutItem", &self.table);
        let mut request = self
            .store
            .client()?
            .put_item()
            .table_name(&self.table)
            .item(GROUP, s(&self.group))
            .item(KEY, s(&shard.key()))
            .item(TABLE, s(&shard.table))
            .item(SHARD, s(&shard.shard_id))
            .item(COUNTER, n(0))
            .item(UPDATED, now_text())
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY);
        if let Some(parent) = &shard.parent_shard_id {
            request = request.item(PARENT, s(parent));
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) => match classify(err, at) {
                SdkFailure::ConditionFailed => Ok(()),
                other => Err(other.into_error(at)),
            },
        }
    }

    /// An UpdateItem of one lease, with the names and values every lease update uses
    /// (`#o` owner, `#u` updated_at, `:me`, `:u`); DynamoDB refuses unused ones.
    fn update(&self, key: &str) -> Result<UpdateItemFluentBuilder> {
        Ok(self
            .store
            .client()?
            .update_item()
            .table_name(&self.table)
            .key(GROUP, s(&self.group))
            .key(KEY, s(key))
            .expression_attribute_names("#o", OWNER)
            .expression_attribute_names("#u", UPDATED)
            .expression_attribute_values(":me", s(&self.owner))
            .expression_attribute_values(":u", now_text()))
    }

    /// Sends a conditional update: `Ok(Some(new item))` if it applied, `Ok(None)` if the
    /// condition failed.
    async fn send(
        &self,
        operation: &'static str,
        request: UpdateItemFluentBuilder,
    ) -> Result<Option<HashMap<String, AttributeValue>>> {
        let at = self.store.call_site(operation, &self.table);
        match request.return_values(ReturnValue::AllNew).send().await {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(err) => match classify(err, at) {
                SdkFailure::ConditionFailed => Ok(None),
                other => Err(other.into_error(at)),
            },
        }
    }

    /// Takes a lease that is free, or expired as `seen` (same owner, same counter).
    /// `Ok(None)`: another process was faster.
    pub(crate) async fn take(&self, seen: &Lease) -> Result<Option<Lease>> {
        let mut request = self
            .update(&seen.key)?
            .update_expression("SET #o = :me, #c = #c + :one, #u = :u REMOVE #p")
            .expression_attribute_names("#c", COUNTER)
            .expression_attribute_names("#p", PENDING)
            .expression_attribute_values(":one", n(1));
        request = match &seen.owner {
            None => request.condition_expression("attribute_not_exists(#o)"),
            Some(previous) => request
                .condition_expression("#o = :prev AND #c = :seen")
                .expression_attribute_values(":prev", s(previous))
                .expression_attribute_values(":seen", n(seen.counter)),
        };
        Ok(self
            .send("UpdateItem(take lease)", request)
            .await?
            .and_then(|item| Lease::from_item(&item)))
    }

    /// Renews a lease this process holds.
    pub(crate) async fn renew(&self, key: &str) -> Result<Renewal> {
        let request = self
            .update(key)?
            .update_expression("SET #c = #c + :one, #u = :u")
            .condition_expression("#o = :me")
            .expression_attribute_names("#c", COUNTER)
            .expression_attribute_values(":one", n(1));
        Ok(match self.send("UpdateItem(renew lease)", request).await? {
            Some(item) => Renewal::Renewed {
                pending_owner: Lease::from_item(&item).and_then(|l| l.pending_owner),
            },
            None => Renewal::Lost,
        })
    }

    /// Writes a checkpoint; `Ok(false)` if the lease is no longer this process's.
    pub(crate) async fn checkpoint(&self, key: &str, checkpoint: &Checkpoint) -> Result<bool> {
        let request = self
            .update(key)?
            .update_expression("SET #k = :k, #u = :u")
            .condition_expression("#o = :me")
            .expression_attribute_names("#k", CHECKPOINT)
            .expression_attribute_values(":k", checkpoint.to_value());
        Ok(self
            .send("UpdateItem(checkpoint)", request)
            .await?
            .is_some())
    }

    /// Gives a lease up: to `to` (a hand-off), or to nobody.
    pub(crate) async fn release(&self, key: &str, to: Option<&str>) -> Result<bool> {
        let request = self
            .update(key)?
            .condition_expression("#o = :me")
            .expression_attribute_names("#c", COUNTER)
            .expression_attribute_names("#p", PENDING)
            .expression_attribute_values(":one", n(1));
        let request = match to {
            Some(next) => request
                .update_expression("SET #o = :next, #c = #c + :one, #u = :u REMOVE #p")
                .expression_attribute_values(":next", s(next)),
            None => request.update_expression("SET #c = #c + :one, #u = :u REMOVE #o, #p"),
        };
        Ok(self
            .send("UpdateItem(release lease)", request)
            .await?
            .is_some())
    }

    /// Asks the owner of a lease to hand it over to this process.
    pub(crate) async fn request_handoff(&self, seen: &Lease) -> Result<bool> {
        let Some(owner) = &seen.owner else {
            return Ok(false);
        };
        let request = self
            .update(&seen.key)?
            .update_expression("SET #p = :me, #u = :u")
            .condition_expression("#o = :prev AND attribute_not_exists(#p)")
            .expression_attribute_names("#p", PENDING)
            .expression_attribute_values(":prev", s(owner));
        Ok(self
            .send("UpdateItem(request lease)", request)
            .await?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_items_round_trip() {
        let mut item = HashMap::new();
        item.insert(KEY.to_owned(), s("t/shard-1"));
        item.insert(TABLE.to_owned(), s("t"));
        item.insert(SHARD.to_owned(), s("shard-1"));
        item.insert(OWNER.to_owned(), s("p1"));
        item.insert(COUNTER.to_owned(), n(7));
        item.insert(CHECKPOINT.to_owned(), s(SHARD_END));
        let lease = Lease::from_item(&item).unwrap();
        assert_eq!(lease.owner.as_deref(), Some("p1"));
        assert_eq!(lease.counter, 7);
        assert!(lease.is_finished());
        item.insert(CHECKPOINT.to_owned(), s("000000000000000000042"));
        assert_eq!(
            Lease::from_item(&item).unwrap().checkpoint,
            Some(Checkpoint::Sequence("000000000000000000042".into()))
        );
        item.remove(KEY);
        assert!(Lease::from_item(&item).is_none());
    }
}
