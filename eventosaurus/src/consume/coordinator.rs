//! The consumer's main loop: discovers shards, holds leases (renew, take, balance, hand off),
//! starts one worker per shard it may read, and shuts down gracefully.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::{AbortHandle, Id, JoinSet};
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::{Error, Result};

use super::lease::{Checkpoint, Lease, LeaseTable, Renewal};
use super::shards::{self, ReadFrom, ShardInfo, StartingPosition};
use super::stats::bump;
use super::worker::{ShardWorker, ValidUntil, WorkerExit};
use super::{LeaseChange, LeaseChangeKind, Shared};

struct Running {
    key: String,
    stop: watch::Sender<bool>,
    abort: AbortHandle,
    /// Hand the lease to this process once the worker stopped.
    hand_to: Option<String>,
}

/// A lease as another process's: when its (owner, counter) last changed, by our clock.
struct Observed {
    owner: Option<String>,
    counter: u64,
    since: Instant,
}

struct Held {
    last_renewed: Instant,
    /// Until when the worker may process records without a newer renewal: two thirds of the
    /// expiry after the last successful renewal was sent. Another process can take the lease
    /// only a full expiry after it saw that renewal, so the worker stops well before.
    valid_until: ValidUntil,
    /// The checkpoint when the lease became ours: where its worker starts.
    checkpoint: Option<Checkpoint>,
}

pub(crate) struct Coordinator {
    shared: Arc<Shared>,
    /// (logical table, full table name, stream ARN)
    streams: Vec<(String, String, String)>,
    shards: Vec<ShardInfo>,
    finished: HashSet<String>,
    join: JoinSet<WorkerExit>,
    running: HashMap<Id, Running>,
    held: HashMap<String, Held>,
    observed: HashMap<String, Observed>,
    leases: Vec<Lease>,
    next_discovery: Instant,
}

impl Coordinator {
    pub(crate) fn new(shared: Arc<Shared>) -> Coordinator {
        Coordinator {
            shared,
            streams: Vec::new(),
            shards: Vec::new(),
            finished: HashSet::new(),
            join: JoinSet::new(),
            running: HashMap::new(),
            held: HashMap::new(),
            observed: HashMap::new(),
            leases: Vec::new(),
            next_discovery: Instant::now(),
        }
    }

    fn tick_interval(&self) -> Duration {
        match &self.shared.leases {
            Some(_) => self.shared.options.lease_expiry / 3,
            None => self.shared.options.discovery_interval,
        }
    }

    /// Runs until `shutdown` turns true (or its sender is dropped), then stops gracefully.
    pub(crate) async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<()> {
        for (table, table_name) in &self.shared.tables {
            let arn = shards::stream_arn(&self.shared.store, table_name).await?;
            self.streams.push((table.clone(), table_name.clone(), arn));
        }
        let mut result = Ok(());
        while !*shutdown.borrow() {
            if let Err(error) = self.tick().await {
                if !error.is_retryable() {
                    result = Err(error);
                    break;
                }
                tracing::warn!(%error, "consumer coordination failed; retrying at the next tick");
            }
            let interval = self.tick_interval();
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                Some(exit) = self.join.join_next_with_id(), if !self.join.is_empty() => {
                    if let Err(error) = self.on_exit(exit).await {
                        result = Err(error);
                        break;
                    }
                }
                _ = tokio::time::sleep(interval) => {}
            }
        }
        self.shutdown().await;
        result
    }

    async fn tick(&mut self) -> Result<()> {
        if Instant::now() >= self.next_discovery {
            self.discover().await?;
            self.next_discovery = Instant::now() + self.shared.options.discovery_interval;
        }
        match self.shared.leases.clone() {
            None => self.start_ready_unleased(),
            Some(_) => self.coordinate_leases().await?,
        }
        Ok(())
    }

    async fn discover(&mut self) -> Result<()> {
        let mut found = Vec::new();
        for (table, table_name, arn) in &self.streams {
            let at = self.shared.store.call_site("DescribeStream", table_name);
            found.extend(
                shards::list_shards(&self.shared.streams, at, table, table_name, arn).await?,
            );
        }
        if let Some(leases) = &self.shared.leases {
            let known: HashSet<String> = self.leases.iter().map(|l| l.key.clone()).collect();
            for shard in found.iter().filter(|s| !known.contains(&s.key())) {
                leases.ensure(shard).await?;
            }
        }
        tracing::debug!(shards = found.len(), "shards discovered");
        self.shards = found;
        Ok(())
    }

    fn is_running(&self, key: &str) -> bool {
        self.running.values().any(|r| r.key == key)
    }

    /// Where a shard without a checkpoint starts: the configured position, except that a
    /// child of a shard this stream still lists starts at its oldest record (nothing written
    /// after the split may be skipped).
    fn default_start(&self, shard: &ShardInfo) -> ReadFrom {
        let parent_known = shard.parent_shard_id.as_ref().is_some_and(|parent| {
            self.shards
                .iter()
                .any(|s| s.table == shard.table && &s.shard_id == parent)
        });
        match self.shared.options.start {
            _ if parent_known => ReadFrom::TrimHorizon,
            StartingPosition::Latest => ReadFrom::Latest,
            StartingPosition::TrimHorizon | StartingPosition::At(_) => ReadFrom::TrimHorizon,
        }
    }

    fn start_worker(&mut self, shard: ShardInfo, from: ReadFrom, valid_until: Option<ValidUntil>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let key = shard.key();
        let worker = ShardWorker {
            shared: self.shared.clone(),
            shard: shard.clone(),
            from,
            stop: stop_rx,
            valid_until,
        };
        let span = tracing::Span::current();
        let abort = self.join.spawn(worker.run().instrument(span));
        self.shared
            .counters
            .shard(&key, &shard.table, &shard.shard_id, |s| s.active = true);
        self.running.insert(
            abort.id(),
            Running {
                key,
                stop: stop_tx,
                abort,
                hand_to: None,
            },
        );
    }

    /// Without a group: every ready shard is ours.
    fn start_ready_unleased(&mut self) {
        let ready: Vec<ShardInfo> = shards::ready_shards(&self.shards, &self.finished)
            .into_iter()
            .filter(|s| !self.is_running(&s.key()))
            .cloned()
            .collect();
        for shard in ready {
            let from = self.default_start(&shard);
            self.start_worker(shard, from, None);
        }
    }

    fn emit(&self, key: &str, kind: LeaseChangeKind) {
        self.emit_at(key, kind, None);
    }

    fn emit_at(&self, key: &str, kind: LeaseChangeKind, checkpoint: Option<Checkpoint>) {
        tracing::info!(lease = key, ?kind, ?checkpoint, "lease change");
        if let Some(listener) = &self.shared.lease_listener {
            listener(&LeaseChange {
                key: key.to_owned(),
                kind,
                at: SystemTime::now(),
                checkpoint,
            });
        }
    }

    fn stop_worker_of(&mut self, key: &str, hand_to: Option<String>) {
        if let Some(running) = self.running.values_mut().find(|r| r.key == key) {
            if running.hand_to.is_none() {
                running.hand_to = hand_to;
            }
            let _ = running.stop.send(true);
        }
    }

    fn abort_worker_of(&mut self, key: &str) {
        let ids: Vec<Id> = self
            .running
            .iter()
            .filter(|(_, r)| r.key == key)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(running) = self.running.remove(&id) {
                running.abort.abort();
            }
        }
    }

    fn lose(&mut self, key: &str) {
        self.abort_worker_of(key);
        self.held.remove(key);
        bump(&self.shared.counters.leases_lost);
        self.mark_inactive(key);
        self.emit(key, LeaseChangeKind::Lost);
    }

    fn mark_inactive(&self, key: &str) {
        if let Some(shard) = self.shards.iter().find(|s| s.key() == key) {
            self.shared
                .counters
                .shard(key, &shard.table, &shard.shard_id, |s| s.active = false);
        }
    }

    async fn coordinate_leases(&mut self) -> Result<()> {
        let Some(table) = self.shared.leases.clone() else {
            return Ok(());
        };
        self.renew_held(&table).await?;
        // Read the group's leases and note what changed since the last look.
        self.leases = table.list().await?;
        let now = Instant::now();
        for lease in &self.leases {
            let changed = self
                .observed
                .get(&lease.key)
                .is_none_or(|o| o.owner != lease.owner || o.counter != lease.counter);
            if changed {
                self.observed.insert(
                    lease.key.clone(),
                    Observed {
                        owner: lease.owner.clone(),
                        counter: lease.counter,
                        since: now,
                    },
                );
            }
            if lease.is_finished() {
                self.finished.insert(lease.key.clone());
            }
        }
        self.adopt_handed_over(table.owner());
        self.balance(&table).await?;
        self.start_held();
        Ok(())
    }

    /// Renews every lease held; notices losses and hand-off requests.
    async fn renew_held(&mut self, table: &LeaseTable) -> Result<()> {
        let me = table.owner().to_owned();
        let expiry = self.shared.options.lease_expiry;
        let keys: Vec<String> = self.held.keys().cloned().collect();
        for key in keys {
            let sent = Instant::now();
            match table.renew(&key).await {
                Ok(Renewal::Renewed { pending_owner }) => {
                    if let Some(held) = self.held.get_mut(&key) {
                        held.last_renewed = sent;
                        held.valid_until.extend(sent + expiry * 2 / 3);
                    }
                    if let Some(next) = pending_owner.filter(|p| *p != me) {
                        if self.is_running(&key) {
                            // Handed over once the worker finished its batch (on_exit).
                            self.stop_worker_of(&key, Some(next));
                        } else if table.release(&key, Some(&next)).await? {
                            self.held.remove(&key);
                            self.emit(&key, LeaseChangeKind::HandedOver { to: next });
                        }
                    }
                }
                Ok(Renewal::Lost) => self.lose(&key),
                Err(error) => {
                    let stale = self
                        .held
                        .get(&key)
                        .is_some_and(|h| h.last_renewed.elapsed() > expiry * 2 / 3);
                    tracing::warn!(%error, lease = %key, stale, "lease renewal failed");
                    if stale {
                        // Others may consider it expired soon: stop working it now.
                        self.lose(&key);
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether another process's lease has not moved for the expiry, by our clock.
    fn is_expired(&self, lease: &Lease, me: &str) -> bool {
        let expiry = self.shared.options.lease_expiry;
        lease.owner.as_deref().is_some_and(|o| o != me)
            && self
                .observed
                .get(&lease.key)
                .is_some_and(|o| o.since.elapsed() >= expiry)
    }

    fn hold(&mut self, lease: &Lease) {
        let now = Instant::now();
        self.held.insert(
            lease.key.clone(),
            Held {
                last_renewed: now,
                valid_until: ValidUntil::new(now + self.shared.options.lease_expiry * 2 / 3),
                checkpoint: lease.checkpoint.clone(),
            },
        );
        bump(&self.shared.counters.leases_taken);
        self.emit_at(
            &lease.key,
            LeaseChangeKind::Acquired,
            lease.checkpoint.clone(),
        );
    }

    /// Leases handed to us (or ours from an earlier life with the same worker id).
    fn adopt_handed_over(&mut self, me: &str) {
        let adopted: Vec<Lease> = self
            .leases
            .iter()
            .filter(|l| l.owner.as_deref() == Some(me) && !self.held.contains_key(&l.key))
            .filter(|l| !l.is_finished())
            .cloned()
            .collect();
        for lease in adopted {
            self.hold(&lease);
        }
    }

    /// Takes free or expired leases up to a fair share, else asks a busier process for one.
    async fn balance(&mut self, table: &LeaseTable) -> Result<()> {
        let me = table.owner().to_owned();
        let active: Vec<Lease> = self
            .leases
            .iter()
            .filter(|l| !l.is_finished())
            .cloned()
            .collect();
        let expired: HashSet<String> = active
            .iter()
            .filter(|l| self.is_expired(l, &me))
            .map(|l| l.key.clone())
            .collect();
        let target = fair_share(&active, &expired, &me);
        let requested = active
            .iter()
            .filter(|l| {
                l.pending_owner.as_deref() == Some(me.as_str())
                    && l.owner.as_deref() != Some(me.as_str())
            })
            .count();
        let mut mine = self.held.len() + requested;
        let ready = self.ready_lease_keys();
        let candidates: Vec<&Lease> = active
            .iter()
            .filter(|l| ready.contains(&l.key) && !self.held.contains_key(&l.key))
            .filter(|l| l.owner.is_none() || expired.contains(&l.key))
            .collect();
        for lease in candidates {
            if mine >= target {
                break;
            }
            // The taken lease carries the checkpoint as of the take: no other process can
            // move it any more.
            if let Some(taken) = table.take(lease).await? {
                mine += 1;
                self.hold(&taken);
            }
        }
        if mine < target {
            if let Some(lease) = handoff_victim(&active, &expired, &me, target) {
                if table.request_handoff(lease).await? {
                    tracing::info!(lease = %lease.key, from = ?lease.owner, "asked for a lease to balance the group");
                }
            }
        }
        Ok(())
    }

    /// Starts a worker for every held lease whose shard is ready.
    fn start_held(&mut self) {
        let ready = self.ready_lease_keys();
        let to_start: Vec<(ShardInfo, ReadFrom, ValidUntil)> = self
            .held
            .iter()
            .filter(|(k, _)| ready.contains(*k) && !self.is_running(k))
            .filter_map(|(k, held)| {
                let shard = self.shards.iter().find(|s| &s.key() == k)?.clone();
                let from = match held.checkpoint.clone() {
                    Some(Checkpoint::Sequence(seq)) => ReadFrom::After(seq),
                    _ => self.default_start(&shard),
                };
                Some((shard, from, held.valid_until.clone()))
            })
            .collect();
        for (shard, from, valid_until) in to_start {
            self.start_worker(shard, from, Some(valid_until));
        }
    }

    /// Keys of leases whose shard is known and may be read (parents first).
    fn ready_lease_keys(&self) -> HashSet<String> {
        shards::ready_shards(&self.shards, &self.finished)
            .into_iter()
            .map(ShardInfo::key)
            .collect()
    }

    async fn on_exit(
        &mut self,
        exit: std::result::Result<(Id, WorkerExit), tokio::task::JoinError>,
    ) -> Result<()> {
        let (id, exit) = match exit {
            Ok((id, exit)) => (id, exit),
            Err(join_error) if join_error.is_cancelled() => return Ok(()),
            Err(join_error) => {
                let id = join_error.id();
                (
                    id,
                    WorkerExit::Failed(Error::InvalidConsumer {
                        reason: format!("a shard worker panicked: {join_error}"),
                    }),
                )
            }
        };
        let Some(running) = self.running.remove(&id) else {
            return Ok(());
        };
        let key = running.key;
        self.mark_inactive(&key);
        match exit {
            WorkerExit::Ended => {
                self.finished.insert(key.clone());
                self.release(&key, None).await;
                // Children of a closed shard appear in the stream: look now.
                self.next_discovery = Instant::now();
            }
            WorkerExit::Stopped => {
                self.release(&key, running.hand_to).await;
            }
            WorkerExit::Lost => {
                if self.held.remove(&key).is_some() {
                    bump(&self.shared.counters.leases_lost);
                    self.emit(&key, LeaseChangeKind::Lost);
                }
            }
            WorkerExit::Failed(error) => {
                self.release(&key, None).await;
                return Err(error);
            }
        }
        Ok(())
    }

    /// Gives a lease up after its worker stopped (nothing to do without a group).
    async fn release(&mut self, key: &str, to: Option<String>) {
        let Some(table) = self.shared.leases.clone() else {
            return;
        };
        if self.held.remove(key).is_none() {
            return;
        }
        match table.release(key, to.as_deref()).await {
            Ok(true) => self.emit(
                key,
                match to {
                    Some(to) => LeaseChangeKind::HandedOver { to },
                    None => LeaseChangeKind::Released,
                },
            ),
            Ok(false) => self.emit(key, LeaseChangeKind::Lost),
            Err(error) => {
                tracing::warn!(%error, lease = key, "could not release the lease; it expires by itself")
            }
        }
    }

    /// Asks every worker to finish its batch, waits for them, and releases their leases.
    async fn shutdown(&mut self) {
        for running in self.running.values() {
            let _ = running.stop.send(true);
        }
        while let Some(exit) = self.join.join_next_with_id().await {
            if let Err(error) = self.on_exit(exit).await {
                tracing::error!(%error, "a shard worker failed while shutting down");
            }
        }
        // Leases held for shards that were not ready (no worker) are released too.
        let keys: Vec<String> = self.held.keys().cloned().collect();
        for key in keys {
            self.release(&key, None).await;
        }
    }
}

/// Each live process's fair share of the active leases: their number divided by the live
/// owners (those holding a lease that is not expired, plus `me`), rounded up.
fn fair_share(active: &[Lease], expired: &HashSet<String>, me: &str) -> usize {
    let mut owners: HashSet<&str> = active
        .iter()
        .filter(|l| !expired.contains(&l.key))
        .filter_map(|l| l.owner.as_deref())
        .collect();
    owners.insert(me);
    active.len().div_ceil(owners.len())
}

/// A lease to ask for: one of a live process holding more than `target` leases (not counting
/// leases already asked for), not asked for yet.
fn handoff_victim<'a>(
    active: &'a [Lease],
    expired: &HashSet<String>,
    me: &str,
    target: usize,
) -> Option<&'a Lease> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for lease in active.iter().filter(|l| l.pending_owner.is_none()) {
        if let Some(owner) = lease.owner.as_deref() {
            *counts.entry(owner).or_default() += 1;
        }
    }
    active.iter().find(|l| {
        l.owner
            .as_deref()
            .is_some_and(|o| o != me && counts.get(o).copied().unwrap_or(0) > target)
            && l.pending_owner.is_none()
            && !expired.contains(&l.key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(key: &str, owner: Option<&str>, pending: Option<&str>) -> Lease {
        Lease {
            key: key.to_owned(),
            table: "t".to_owned(),
            shard_id: key.to_owned(),
            parent_shard_id: None,
            owner: owner.map(str::to_owned),
            counter: 1,
            checkpoint: None,
            pending_owner: pending.map(str::to_owned),
        }
    }

    #[test]
    fn a_newcomer_asks_the_busiest_process_for_one_lease() {
        let active = vec![
            lease("a", Some("p1"), None),
            lease("b", Some("p1"), None),
            lease("c", Some("p1"), None),
        ];
        let none = HashSet::new();
        assert_eq!(fair_share(&active, &none, "p1"), 3);
        assert_eq!(fair_share(&active, &none, "p2"), 2);
        assert_eq!(
            handoff_victim(&active, &none, "p2", 2).map(|l| l.key.as_str()),
            Some("a")
        );
        // Once one is asked for, p1's share counts 2: no second request.
        let asked = vec![
            lease("a", Some("p1"), Some("p2")),
            lease("b", Some("p1"), None),
            lease("c", Some("p1"), None),
        ];
        assert!(handoff_victim(&asked, &none, "p2", 2).is_none());
    }

    #[test]
    fn expired_owners_do_not_count() {
        let active = vec![
            lease("a", Some("dead"), None),
            lease("b", Some("dead"), None),
        ];
        let expired: HashSet<String> = ["a".to_owned(), "b".to_owned()].into();
        assert_eq!(fair_share(&active, &expired, "p2"), 2);
        assert!(handoff_victim(&active, &expired, "p2", 0).is_none());
    }
}
