//! The background side of the queue: the dispatcher that takes events off the channel and
//! groups them, and the tasks that write them, retry, split rejected batches and report.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

use super::options::{Counters, Done, QueueOptions};
use super::retry::{bounded, is_item_rejection, Retry};
use crate::backend::{Backend, BatchPut};
use crate::error::Error;
use crate::model::StoreOutcome;
use crate::persist::EventWrite;
use crate::schema::EVENT_UUID;

/// BatchWriteItem's limit.
pub(super) const MAX_BATCH: usize = 25;

/// An event in the queue: its write, when it was accepted (its retry deadline counts from
/// then), its sequence number (what `flush` waits for) and whether it was sent.
pub(super) struct Job {
    pub(super) write: EventWrite,
    pub(super) enqueued_at: Instant,
    pub(super) seq: u64,
    /// Whether a request carrying it may have reached DynamoDB (so that a conditional put
    /// finding the identical item knows the item is its own).
    pub(super) sent: bool,
}

/// The signal of `shutdown_timeout`: `Some(limit)` once it gave up waiting.
#[derive(Clone)]
pub(super) struct Abort(pub(super) watch::Receiver<Option<Duration>>);

impl Abort {
    /// Waits for the signal; never returns if the queue handle is gone without giving it.
    async fn given(&mut self) -> Duration {
        let given = self.0.wait_for(Option::is_some).await.map(|limit| *limit);
        match given {
            Ok(limit) => limit.unwrap_or_default(),
            Err(_) => std::future::pending().await,
        }
    }
}

/// What every writing task shares.
pub(super) struct Worker {
    /// The backend, with its own retries off: the queue is the only retry layer.
    pub(super) backend: Arc<dyn Backend>,
    pub(super) options: QueueOptions,
    pub(super) counters: Arc<Counters>,
}

/// Events written together: one conditional put, or one BatchWriteItem (split on rejection).
enum Unit {
    One(Job),
    Batch(Vec<Job>),
}

impl Unit {
    fn into_jobs(self) -> Vec<Job> {
        match self {
            Unit::One(job) => vec![job],
            Unit::Batch(jobs) => jobs,
        }
    }
}

/// Random-id events of one table go in one BatchWriteItem; the rest are conditional puts.
fn group(options: &QueueOptions, jobs: impl Iterator<Item = Job>) -> Vec<Unit> {
    let mut batches: HashMap<String, Vec<Job>> = HashMap::new();
    let mut units = Vec::new();
    for job in jobs {
        if options.batch_writes && !job.write.has_composite_key() {
            batches
                .entry(job.write.table_name.clone())
                .or_default()
                .push(job);
        } else {
            units.push(Unit::One(job));
        }
    }
    for (_, mut batch) in batches {
        if batch.len() == 1 {
            units.extend(batch.pop().map(Unit::One));
        } else {
            units.push(Unit::Batch(batch));
        }
    }
    units
}

/// Drains the channel into writing tasks, at most `concurrency` at once, until the channel
/// is closed and empty, or `shutdown_timeout` gives up: then everything not yet written is
/// failed with [`Error::QueueShutdownTimedOut`].
pub(super) async fn dispatch(
    mut receiver: mpsc::Receiver<Job>,
    worker: Arc<Worker>,
    mut abort: Abort,
) {
    let permits = Arc::new(Semaphore::new(worker.options.concurrency));
    let mut tasks = JoinSet::new();
    let mut buffer = Vec::with_capacity(MAX_BATCH);
    let mut leftover: Vec<Job> = Vec::new();
    let gave_up = 'run: loop {
        buffer.clear();
        let received = tokio::select! {
            biased;
            limit = abort.given() => break 'run Some(limit),
            n = receiver.recv_many(&mut buffer, MAX_BATCH) => n,
        };
        if received == 0 {
            break None; // closed and drained
        }
        while tasks.try_join_next().is_some() {}
        let mut units = group(&worker.options, buffer.drain(..));
        while let Some(unit) = units.pop() {
            let permit = tokio::select! {
                biased;
                limit = abort.given() => {
                    leftover.extend(unit.into_jobs());
                    leftover.extend(units.drain(..).flat_map(Unit::into_jobs));
                    break 'run Some(limit);
                }
                permit = permits.clone().acquire_owned() => permit,
            };
            // The semaphore is never closed.
            let Ok(permit) = permit else { continue };
            let (worker, abort) = (worker.clone(), abort.clone());
            tasks.spawn(async move {
                write_unit(&worker, unit, abort).await;
                drop(permit);
            });
        }
    };
    if let Some(limit) = gave_up {
        // Stores waiting for room now fail with QueueClosed; what is queued is given up.
        receiver.close();
        while let Some(job) = receiver.recv().await {
            leftover.push(job);
        }
        let error = Error::QueueShutdownTimedOut { limit };
        for job in leftover {
            worker.finish(job, Err(&error), true);
        }
    }
    while tasks.join_next().await.is_some() {}
    let stats = worker.counters.stats();
    tracing::info!(?stats, "eventosaurus queue drained and stopped");
}

/// Writes one unit; on `shutdown_timeout`'s signal, fails what is not written yet.
async fn write_unit(worker: &Worker, unit: Unit, mut abort: Abort) {
    let batch = matches!(unit, Unit::Batch(_));
    // Events leave `pending` exactly when they are counted as done.
    let mut pending: BTreeMap<u64, Job> =
        unit.into_jobs().into_iter().map(|j| (j.seq, j)).collect();
    let gave_up = {
        let work = worker.write(&mut pending, batch);
        tokio::pin!(work);
        tokio::select! {
            biased;
            () = &mut work => None,
            limit = abort.given() => Some(limit),
        }
    };
    if let Some(limit) = gave_up {
        let error = Error::QueueShutdownTimedOut { limit };
        for job in pending.into_values() {
            worker.finish(job, Err(&error), true);
        }
    }
}

/// The outcome of a write: stored (`true`), a duplicate (`false`), or failed.
type Outcome<'e> = std::result::Result<bool, &'e Error>;

impl Worker {
    async fn write(&self, pending: &mut BTreeMap<u64, Job>, batch: bool) {
        let all: Vec<u64> = pending.keys().copied().collect();
        if !batch {
            for seq in all {
                self.write_one(pending, seq).await;
            }
            return;
        }
        // A rejected batch is split in halves until the offending events fail alone.
        let mut groups = vec![all];
        while let Some(group) = groups.pop() {
            match group.as_slice() {
                [] => {}
                [seq] => self.write_one(pending, *seq).await,
                _ => {
                    if let Some((first, second)) = self.write_batch(pending, group).await {
                        groups.push(second);
                        groups.push(first);
                    }
                }
            }
        }
    }

    /// Counts a job as done and, if it failed, hands it to the failure hooks first (so that
    /// a `flush` that returns has seen its hooks run).
    fn finish(&self, job: Job, outcome: Outcome<'_>, abandoned: bool) {
        let write = &job.write;
        let done = match outcome {
            Ok(true) => Done::Written,
            Ok(false) => {
                tracing::debug!(table = %write.table_name, event_uuid = %write.event_uuid, "duplicate");
                Done::Duplicate
            }
            Err(error) => {
                tracing::error!(table = %write.table_name, event_uuid = %write.event_uuid, %error, "event could not be written");
                self.counters.hook_panics(write.report_failure(error));
                Done::Failed { abandoned }
            }
        };
        self.counters.done(job.seq, done);
    }

    /// One conditional put, retried.
    async fn write_one(&self, pending: &mut BTreeMap<u64, Job>, seq: u64) {
        let Some(job) = pending.get(&seq) else { return };
        let write = &job.write;
        let site = ("PutItem", write.table_name.as_str(), self.backend.label());
        let mut retry = Retry::new(job.enqueued_at);
        let mut sent = job.sent;
        let result = loop {
            let attempt = async {
                let put = self
                    .backend
                    .put_if_absent(&write.table_name, write.table, write.item.clone())
                    .await?;
                Ok(matches!(
                    write.outcome(put, sent),
                    StoreOutcome::Stored { .. }
                ))
            };
            match bounded(&self.options, &self.counters, site, attempt).await {
                Err(error) if error.is_retryable() && retry.backoff(&self.options).await => {
                    sent |= error.may_have_been_applied();
                    self.counters.retried(1);
                    tracing::debug!(event_uuid = %write.event_uuid, %error, attempt = retry.attempt, "retrying");
                }
                other => break other,
            }
        };
        if let Some(job) = pending.remove(&seq) {
            self.finish(job, result.as_ref().map(|b| *b), false);
        }
    }

    /// One BatchWriteItem of `group` (random-id events of one table), retried for throttling,
    /// network errors and unprocessed items. Returns the two halves to write instead when
    /// DynamoDB rejected the request for an item's content.
    async fn write_batch(
        &self,
        pending: &mut BTreeMap<u64, Job>,
        group: Vec<u64>,
    ) -> Option<(Vec<u64>, Vec<u64>)> {
        // The batch is as old as its oldest event.
        let oldest = group
            .iter()
            .filter_map(|seq| pending.get(seq))
            .map(|job| job.enqueued_at)
            .min()
            .unwrap_or_else(Instant::now);
        let mut retry = Retry::new(oldest);
        let mut todo = group;
        loop {
            let (table, puts, by_id) = self.batch_request(pending, &todo)?;
            let site = ("BatchWriteItem", table.as_str(), self.backend.label());
            let attempt = self.backend.batch_put(puts);
            let error = match bounded(&self.options, &self.counters, site, attempt).await {
                Ok(unprocessed) => {
                    todo = self.settle(pending, &todo, unprocessed, &by_id);
                    if todo.is_empty() {
                        return None;
                    }
                    Error::Throttled {
                        operation: "BatchWriteItem",
                        table: table.clone(),
                        source: format!("{} items unprocessed", todo.len()).into(),
                    }
                }
                Err(error) if todo.len() > 1 && is_item_rejection(&error) => {
                    tracing::debug!(items = todo.len(), %error, "batch rejected: splitting it");
                    let second = todo.split_off(todo.len() / 2);
                    return Some((todo, second));
                }
                Err(error) => {
                    // Refused for its content, nothing was written; otherwise it may have been.
                    if !is_item_rejection(&error) {
                        for seq in &todo {
                            if let Some(job) = pending.get_mut(seq) {
                                job.sent = true;
                            }
                        }
                    }
                    error
                }
            };
            if error.is_retryable() && retry.backoff(&self.options).await {
                self.counters.retried(todo.len() as u64);
                tracing::debug!(%error, items = todo.len(), attempt = retry.attempt, "retrying batch");
                continue;
            }
            for seq in &todo {
                if let Some(job) = pending.remove(seq) {
                    self.finish(job, Err(&error), false);
                }
            }
            return None;
        }
    }

    /// Counts the events of a successful BatchWriteItem as written, except its
    /// `UnprocessedItems`, which it returns.
    fn settle(
        &self,
        pending: &mut BTreeMap<u64, Job>,
        todo: &[u64],
        unprocessed: Vec<BatchPut>,
        by_id: &HashMap<String, u64>,
    ) -> Vec<u64> {
        let unprocessed: Vec<u64> = unprocessed
            .into_iter()
            .filter_map(|put| {
                let id = put.item.get(EVENT_UUID)?.as_s().ok()?;
                by_id.get(id.as_str()).copied()
            })
            .collect();
        for seq in todo.iter().filter(|seq| !unprocessed.contains(seq)) {
            if let Some(job) = pending.remove(seq) {
                self.finish(job, Ok(true), false);
            }
        }
        unprocessed
    }

    /// The table, the puts, and each `event_uuid`'s sequence number for `todo`.
    #[allow(clippy::type_complexity)]
    fn batch_request(
        &self,
        pending: &BTreeMap<u64, Job>,
        todo: &[u64],
    ) -> Option<(String, Vec<BatchPut>, HashMap<String, u64>)> {
        let mut table = None;
        let mut puts = Vec::with_capacity(todo.len());
        let mut by_id = HashMap::with_capacity(todo.len());
        for seq in todo {
            let Some(job) = pending.get(seq) else {
                continue;
            };
            puts.push(BatchPut {
                table: job.write.table_name.clone(),
                def: job.write.table,
                item: job.write.item.clone(),
            });
            by_id.insert(job.write.event_uuid.hyphenated().to_string(), *seq);
            table.get_or_insert_with(|| job.write.table_name.clone());
        }
        Some((table?, puts, by_id))
    }
}
