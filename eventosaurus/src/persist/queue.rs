//! The asynchronous persistor: a bounded queue drained by background tokio workers.
//!
//! `store` returns as soon as the event is enqueued, with its `event_uuid` and `created_at`
//! already fixed, so every retry carries the identical item. Workers write with bounded
//! concurrency, retry throttling, 5xx and network errors with exponential backoff and full
//! jitter, and hand events that finally fail to the failure hooks. Nothing is dropped
//! silently: every enqueued event ends up written, a duplicate, or failed (and reported).
//!
//! # Batching
//!
//! DynamoDB's BatchWriteItem takes 25 items per request but cannot carry a condition, and
//! TransactWriteItems fails as a whole when one item is a duplicate. So the queue splits:
//!
//! * **random-id events** (no composite key) go in BatchWriteItem requests. Their id is
//!   fresh per `store`, so the only possible "second write" of an id is our own retry of the
//!   identical item, which an unconditional put leaves unchanged. `UnprocessedItems` are
//!   retried with backoff.
//! * **composite-key events** keep the conditional PutItem, so the first write of an id wins
//!   and a later one (with a newer `created_at`) is counted as a duplicate, not written.
//!
//! Set [`QueueOptions::batch_writes`] to `false` to send every event as a conditional
//! PutItem. BENCHMARKS.md measures both.
//!
//! ```no_run
//! # async fn run(store: eventosaurus::Store) -> eventosaurus::Result<()> {
//! use eventosaurus::persist::{AsyncQueue, QueueOptions};
//! let queue = AsyncQueue::start(&store, QueueOptions::default());
//! let store = store.with_persistor(queue.clone());
//! // ... event.store(&store).await? returns StoreOutcome::Enqueued at once ...
//! queue.flush().await;          // everything enqueued so far is written (or failed)
//! println!("{:?}", queue.stats());
//! queue.shutdown().await;       // drain and stop
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

use crate::backend::{Backend, BackendSource, BatchPut};
use crate::error::{Error, Result};
use crate::model::StoreOutcome;
use crate::persist::{EventWrite, PersistFuture, Persistor};
use crate::schema::EVENT_UUID;

/// BatchWriteItem's limit.
const MAX_BATCH: usize = 25;

/// An event in the queue, with the time it was accepted (its retry deadline counts from it).
struct Job {
    write: EventWrite,
    enqueued_at: Instant,
}

/// How an [`AsyncQueue`] behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QueueOptions {
    /// Events that may wait in the queue; `store` waits (and `try_store` fails) when full.
    pub capacity: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Send random-id events with BatchWriteItem (see the module docs).
    pub batch_writes: bool,
    /// Attempts per request, the first included, before an event fails.
    pub max_attempts: u32,
    /// Time from enqueue after which a failed attempt is final instead of being retried.
    /// An event is always attempted at least once, however long it waited in the queue.
    pub retry_deadline: Duration,
    /// The first backoff; it doubles per attempt, with full jitter.
    pub initial_backoff: Duration,
    /// The largest backoff.
    pub max_backoff: Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            capacity: 10_000,
            concurrency: 16,
            batch_writes: true,
            max_attempts: 20,
            retry_deadline: Duration::from_secs(120),
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl QueueOptions {
    /// Sets [`capacity`](Self::capacity).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }
    /// Sets [`concurrency`](Self::concurrency).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }
    /// Sets [`batch_writes`](Self::batch_writes).
    pub fn batch_writes(mut self, batch_writes: bool) -> Self {
        self.batch_writes = batch_writes;
        self
    }
    /// Sets [`max_attempts`](Self::max_attempts).
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }
    /// Sets [`retry_deadline`](Self::retry_deadline).
    pub fn retry_deadline(mut self, retry_deadline: Duration) -> Self {
        self.retry_deadline = retry_deadline;
        self
    }
    /// Sets the initial and the largest backoff.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }
}

/// Counters of an [`AsyncQueue`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Events accepted by `store`.
    pub enqueued: u64,
    /// Events written.
    pub written: u64,
    /// Events whose id already existed (not written again).
    pub duplicates: u64,
    /// Retries of an event after a retryable error or an unprocessed batch item.
    pub retried: u64,
    /// Events that finally failed and were handed to the failure hooks.
    pub failed: u64,
    /// Events enqueued but not yet written, duplicate or failed.
    pub in_flight: u64,
}

#[derive(Debug)]
struct Counters {
    enqueued: AtomicU64,
    written: AtomicU64,
    duplicates: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    completed: watch::Sender<u64>,
}

impl Counters {
    fn complete(&self, n: u64) {
        self.completed.send_modify(|c| *c += n);
    }
}

/// A handle to the queue. Clone it freely; give one clone to the store with
/// [`Store::with_persistor`] and keep one to `flush`, `shutdown` and read `stats`.
#[derive(Clone)]
pub struct AsyncQueue {
    shared: Arc<Shared>,
}

struct Shared {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    capacity: usize,
    counters: Arc<Counters>,
    dispatcher: tokio::sync::Mutex<Option<JoinHandle<()>>>,
    shut_down: AtomicBool,
}

impl std::fmt::Debug for AsyncQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncQueue")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl AsyncQueue {
    /// Starts the queue's workers on the current tokio runtime, writing through the backend
    /// of `source` (a [`Store`](crate::Store), or a backend). Pair it with
    /// [`Store::with_persistor`](crate::Store::with_persistor).
    ///
    /// The queue retries on its own schedule, so it writes through
    /// [`Backend::with_retries_disabled`]: one retry layer, whose deadline the queue controls.
    ///
    /// # Panics
    /// Outside a tokio runtime (like `tokio::spawn`).
    pub fn start(source: &impl BackendSource, options: QueueOptions) -> AsyncQueue {
        let ctx = source.shared_backend().with_retries_disabled();
        let (sender, receiver) = mpsc::channel(options.capacity.max(1));
        let (completed, _) = watch::channel(0);
        let counters = Arc::new(Counters {
            enqueued: AtomicU64::new(0),
            written: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            completed,
        });
        let capacity = options.capacity.max(1);
        let dispatcher = tokio::spawn(
            dispatch(receiver, ctx, Arc::new(options), counters.clone())
                .instrument(tracing::info_span!("eventosaurus_queue")),
        );
        AsyncQueue {
            shared: Arc::new(Shared {
                sender: Mutex::new(Some(sender)),
                capacity,
                counters,
                dispatcher: tokio::sync::Mutex::new(Some(dispatcher)),
                shut_down: AtomicBool::new(false),
            }),
        }
    }

    /// The counters right now.
    pub fn stats(&self) -> QueueStats {
        self.shared.stats()
    }

    /// Waits until every event enqueued before this call is written, a duplicate or failed.
    pub async fn flush(&self) {
        let target = self.shared.counters.enqueued.load(Ordering::SeqCst);
        let mut completed = self.shared.counters.completed.subscribe();
        // `wait_for` only errs if the sender is gone, which the counters keep alive.
        let _ = completed.wait_for(|done| *done >= target).await;
    }

    /// Stops accepting events, writes everything still queued, and stops the workers.
    /// Later stores fail with [`Error::QueueClosed`].
    pub async fn shutdown(&self) {
        self.shared.shut_down.store(true, Ordering::SeqCst);
        let sender = self
            .shared
            .sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        drop(sender);
        let dispatcher = self.shared.dispatcher.lock().await.take();
        if let Some(dispatcher) = dispatcher {
            if let Err(err) = dispatcher.await {
                tracing::error!(%err, "eventosaurus queue worker panicked");
            }
        }
        let stats = self.stats();
        tracing::info!(?stats, "eventosaurus queue shut down");
    }

    fn sender(&self) -> Result<mpsc::Sender<Job>> {
        self.shared
            .sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(Error::QueueClosed)
    }

    fn enqueued(&self, write: &EventWrite) -> StoreOutcome {
        self.shared.counters.enqueued.fetch_add(1, Ordering::SeqCst);
        StoreOutcome::Enqueued {
            event_uuid: write.event_uuid,
            created_at: write.created_at.clone(),
        }
    }
}

impl Shared {
    fn stats(&self) -> QueueStats {
        let c = &self.counters;
        let enqueued = c.enqueued.load(Ordering::SeqCst);
        let completed = *c.completed.borrow();
        QueueStats {
            enqueued,
            written: c.written.load(Ordering::SeqCst),
            duplicates: c.duplicates.load(Ordering::SeqCst),
            retried: c.retried.load(Ordering::SeqCst),
            failed: c.failed.load(Ordering::SeqCst),
            in_flight: enqueued.saturating_sub(completed),
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if !self.shut_down.load(Ordering::SeqCst) {
            let pending = self.stats().in_flight;
            tracing::warn!(
                pending,
                "eventosaurus AsyncQueue dropped without shutdown(): {pending} events not yet written; \
                 they are written only while the runtime keeps running. Call queue.shutdown().await"
            );
        }
    }
}

impl Persistor for AsyncQueue {
    fn persist<'a>(&'a self, _backend: &'a dyn Backend, write: EventWrite) -> PersistFuture<'a> {
        Box::pin(async move {
            let sender = self.sender()?;
            let outcome = StoreOutcome::Enqueued {
                event_uuid: write.event_uuid,
                created_at: write.created_at.clone(),
            };
            // Count before sending so that a flush racing with this store waits for it.
            self.shared.counters.enqueued.fetch_add(1, Ordering::SeqCst);
            let job = Job {
                write,
                enqueued_at: Instant::now(),
            };
            if sender.send(job).await.is_err() {
                self.shared.counters.enqueued.fetch_sub(1, Ordering::SeqCst);
                return Err(Error::QueueClosed);
            }
            Ok(outcome)
        })
    }

    fn try_persist<'a>(
        &'a self,
        _backend: &'a dyn Backend,
        write: EventWrite,
    ) -> PersistFuture<'a> {
        Box::pin(async move {
            let sender = self.sender()?;
            let permit = sender.try_reserve().map_err(|err| match err {
                mpsc::error::TrySendError::Full(()) => Error::QueueFull {
                    capacity: self.shared.capacity,
                },
                mpsc::error::TrySendError::Closed(()) => Error::QueueClosed,
            })?;
            let outcome = self.enqueued(&write);
            permit.send(Job {
                write,
                enqueued_at: Instant::now(),
            });
            Ok(outcome)
        })
    }
}

async fn dispatch(
    mut receiver: mpsc::Receiver<Job>,
    ctx: Arc<dyn Backend>,
    options: Arc<QueueOptions>,
    counters: Arc<Counters>,
) {
    let permits = Arc::new(Semaphore::new(options.concurrency));
    let mut tasks = JoinSet::new();
    let mut buffer = Vec::with_capacity(MAX_BATCH);
    loop {
        buffer.clear();
        if receiver.recv_many(&mut buffer, MAX_BATCH).await == 0 {
            break; // closed and drained
        }
        while tasks.try_join_next().is_some() {}
        // Random-id events of one table go in one BatchWriteItem; the rest are conditional puts.
        let mut batches: HashMap<String, Vec<Job>> = HashMap::new();
        let mut singles = Vec::new();
        for job in buffer.drain(..) {
            if options.batch_writes && !job.write.has_composite_key() {
                batches
                    .entry(job.write.table_name.clone())
                    .or_default()
                    .push(job);
            } else {
                singles.push(job);
            }
        }
        for (_, batch) in batches {
            if batch.len() == 1 {
                singles.extend(batch);
                continue;
            }
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let (ctx, options, counters) = (ctx.clone(), options.clone(), counters.clone());
            tasks.spawn(async move {
                write_batch(ctx.as_ref(), &options, &counters, batch).await;
                drop(permit);
            });
        }
        for job in singles {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let (ctx, options, counters) = (ctx.clone(), options.clone(), counters.clone());
            tasks.spawn(async move {
                write_one(ctx.as_ref(), &options, &counters, job).await;
                drop(permit);
            });
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// The retry budget of one request: attempts, and a deadline counted from enqueue.
struct Retry {
    enqueued_at: Instant,
    attempt: u32,
}

impl Retry {
    fn new(enqueued_at: Instant) -> Retry {
        Retry {
            enqueued_at,
            attempt: 1,
        }
    }

    /// Sleeps before the next attempt, or returns `false` if the budget is spent.
    async fn backoff(&mut self, options: &QueueOptions) -> bool {
        if self.attempt >= options.max_attempts {
            return false;
        }
        let exp = options
            .initial_backoff
            .saturating_mul(1u32 << self.attempt.min(16));
        let cap = exp.min(options.max_backoff);
        let delay = cap.mul_f64(fastrand::f64());
        if self.enqueued_at.elapsed() + delay > options.retry_deadline {
            return false;
        }
        self.attempt += 1;
        tokio::time::sleep(delay).await;
        true
    }
}

fn fail(counters: &Counters, write: &EventWrite, error: &Error) {
    counters.failed.fetch_add(1, Ordering::SeqCst);
    tracing::error!(table = %write.table_name, event_uuid = %write.event_uuid, %error, "event could not be written");
    write.report_failure(error);
}

async fn write_one(ctx: &dyn Backend, options: &QueueOptions, counters: &Counters, job: Job) {
    let Job { write, enqueued_at } = job;
    let mut retry = Retry::new(enqueued_at);
    let mut may_have_landed = false;
    loop {
        let put = ctx
            .put_if_absent(&write.table_name, write.table, write.item.clone())
            .await;
        if let Err(error) = &put {
            may_have_landed |= error.may_have_been_applied();
        }
        match put.map(|put| write.outcome(put, may_have_landed)) {
            Ok(StoreOutcome::Stored { .. }) => {
                counters.written.fetch_add(1, Ordering::SeqCst);
                break;
            }
            Ok(_) => {
                counters.duplicates.fetch_add(1, Ordering::SeqCst);
                tracing::debug!(event_uuid = %write.event_uuid, attempt = retry.attempt, "duplicate");
                break;
            }
            Err(error) if error.is_retryable() && retry.backoff(options).await => {
                counters.retried.fetch_add(1, Ordering::SeqCst);
                tracing::debug!(event_uuid = %write.event_uuid, %error, attempt = retry.attempt, "retrying");
            }
            Err(error) => {
                fail(counters, &write, &error);
                break;
            }
        }
    }
    counters.complete(1);
}

async fn write_batch(
    ctx: &dyn Backend,
    options: &QueueOptions,
    counters: &Counters,
    jobs: Vec<Job>,
) {
    let total = jobs.len() as u64;
    // The batch is as old as its oldest event.
    let oldest = jobs
        .iter()
        .map(|j| j.enqueued_at)
        .min()
        .unwrap_or_else(Instant::now);
    let mut pending: HashMap<String, EventWrite> = jobs
        .into_iter()
        .map(|j| (j.write.event_uuid.hyphenated().to_string(), j.write))
        .collect();
    let mut retry = Retry::new(oldest);
    while !pending.is_empty() {
        let puts = pending
            .values()
            .map(|write| BatchPut {
                table: write.table_name.clone(),
                def: write.table,
                item: write.item.clone(),
            })
            .collect();
        let result = ctx.batch_put(puts).await;
        let error = match result {
            Ok(unprocessed_puts) => {
                let table = unprocessed_puts
                    .first()
                    .map(|p| p.table.clone())
                    .unwrap_or_default();
                let mut unprocessed = HashMap::new();
                for put in unprocessed_puts {
                    let id = put
                        .item
                        .get(EVENT_UUID)
                        .and_then(|v| v.as_s().ok())
                        .cloned();
                    if let Some(write) = id.and_then(|id| pending.remove(&id)) {
                        unprocessed.insert(write.event_uuid.hyphenated().to_string(), write);
                    }
                }
                counters
                    .written
                    .fetch_add(pending.len() as u64, Ordering::SeqCst);
                pending = unprocessed;
                if pending.is_empty() {
                    break;
                }
                Error::Throttled {
                    operation: "BatchWriteItem",
                    table: table.clone(),
                    source: format!("{} items unprocessed", pending.len()).into(),
                }
            }
            Err(error) => error,
        };
        if error.is_retryable() && retry.backoff(options).await {
            counters
                .retried
                .fetch_add(pending.len() as u64, Ordering::SeqCst);
            tracing::debug!(%error, items = pending.len(), attempt = retry.attempt, "retrying batch");
            continue;
        }
        for write in pending.values() {
            fail(counters, write, &error);
        }
        pending.clear();
    }
    counters.complete(total);
}
