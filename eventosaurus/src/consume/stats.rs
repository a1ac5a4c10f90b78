//! What a consumer did: counters for the whole consumer and per shard.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

/// A snapshot of a consumer's counters ([`Consumer::stats`](super::Consumer::stats)).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConsumerStats {
    /// Stream records read.
    pub records: u64,
    /// Events a handler returned `Ok` for.
    pub handled: u64,
    /// Handler calls that failed and were tried again.
    pub retried: u64,
    /// Events whose handler failed on every attempt (handed to the failure hooks, skipped).
    pub failed: u64,
    /// Events of a table no handler matches (skipped).
    pub unmatched: u64,
    /// Events skipped because their `event_uuid` was seen within the dedup window.
    pub deduplicated: u64,
    /// Records skipped because they carry no new item (deletions) or were written before a
    /// timestamp starting point.
    pub skipped: u64,
    /// Checkpoints written to the lease table.
    pub checkpoints: u64,
    /// Leases this consumer took (new, expired, or handed over).
    pub leases_taken: u64,
    /// Leases this consumer lost before releasing them (taken over after an expiry).
    pub leases_lost: u64,
    /// Per shard, keyed `<table>/<shard id>`.
    pub shards: BTreeMap<String, ShardStats>,
}

/// One shard's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ShardStats {
    /// The logical table name.
    pub table: String,
    /// The shard id.
    pub shard_id: String,
    /// Records read from this shard.
    pub records: u64,
    /// The sequence number of the last record processed.
    pub last_sequence_number: Option<String>,
    /// How far behind this consumer is, in milliseconds: the age (now minus `created_at`) of
    /// the last record processed, or 0 when the last read found the shard caught up.
    pub lag_ms: Option<u64>,
    /// Whether this consumer is working the shard now.
    pub active: bool,
    /// Whether the shard was read to its end (closed after a split).
    pub ended: bool,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) records: AtomicU64,
    pub(crate) handled: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) unmatched: AtomicU64,
    pub(crate) deduplicated: AtomicU64,
    pub(crate) skipped: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
    pub(crate) leases_taken: AtomicU64,
    pub(crate) leases_lost: AtomicU64,
    shards: Mutex<BTreeMap<String, ShardStats>>,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// Updates one shard's entry.
    pub(crate) fn shard(
        &self,
        key: &str,
        table: &str,
        shard_id: &str,
        f: impl FnOnce(&mut ShardStats),
    ) {
        let mut shards = self.shards.lock().unwrap_or_else(|p| p.into_inner());
        let entry = shards.entry(key.to_owned()).or_insert_with(|| ShardStats {
            table: table.to_owned(),
            shard_id: shard_id.to_owned(),
            ..ShardStats::default()
        });
        f(entry);
    }

    pub(crate) fn snapshot(&self) -> ConsumerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ConsumerStats {
            records: get(&self.records),
            handled: get(&self.handled),
            retried: get(&self.retried),
            failed: get(&self.failed),
            unmatched: get(&self.unmatched),
            deduplicated: get(&self.deduplicated),
            skipped: get(&self.skipped),
            checkpoints: get(&self.checkpoints),
            leases_taken: get(&self.leases_taken),
            leases_lost: get(&self.leases_lost),
            shards: self
                .shards
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}
