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
//!   retried with backoff. When DynamoDB rejects a whole request for one item's content
//!   (a `ValidationException`, e.g. a number it cannot store), the batch is split in halves
//!   until the offending event fails alone and every other event is written.
//! * **composite-key events** keep the conditional PutItem, so the first write of an id wins
//!   and a later one (with a newer `created_at`) is counted as a duplicate, not written. A
//!   retry whose earlier attempt landed (its response was lost) finds its own identical
//!   item and counts as written, never as a duplicate (see [`sync`](crate::persist::sync)).
//!
//! Set [`QueueOptions::batch_writes`] to `false` to send every event as a conditional
//! PutItem. BENCHMARKS.md measures both.
//!
//! # Guarantees
//!
//! * [`flush`](AsyncQueue::flush) waits for exactly the events enqueued before it was
//!   called, however many follow.
//! * [`stats`](AsyncQueue::stats) are exact: a `store` cancelled while waiting for room
//!   (its future dropped) has enqueued nothing and counted nothing.
//! * Each attempt is bounded by [`QueueOptions::attempt_timeout`]; a server that never
//!   answers is retried, then fails the event, and never holds the queue.
//! * Failure hooks run under `catch_unwind`: a panicking hook is logged and counted
//!   ([`QueueStats::hook_panics`]); the queue keeps reporting every other failure.
//! * [`shutdown`](AsyncQueue::shutdown) may be called any number of times, concurrently:
//!   every call returns once everything is drained.
//!   [`shutdown_timeout`](AsyncQueue::shutdown_timeout) gives up after a limit and hands
//!   what is left to the failure hooks ([`Error::QueueShutdownTimedOut`]).
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

mod options;
mod retry;
mod worker;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tracing::Instrument;

pub use options::{QueueOptions, QueueStats};

use options::Counters;
use worker::{dispatch, Abort, Job, Worker};

use crate::backend::{Backend, BackendSource};
use crate::error::{Error, Result};
use crate::model::StoreOutcome;
use crate::persist::{EventWrite, PersistFuture, Persistor};

/// A handle to the queue. Clone it freely; give one clone to the store with
/// [`Store::with_persistor`](crate::Store::with_persistor) and keep one to `flush`, `shutdown` and read `stats`.
#[derive(Clone)]
pub struct AsyncQueue {
    shared: Arc<Shared>,
}

struct Shared {
    /// `None` once shut down.
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    capacity: usize,
    counters: Arc<Counters>,
    /// `shutdown_timeout`'s signal to give up: `Some(limit)`.
    abort: watch::Sender<Option<Duration>>,
    /// Becomes `true` when the dispatcher has finished (drained, or given up).
    drained: watch::Receiver<bool>,
    shut_down: AtomicBool,
}

impl std::fmt::Debug for AsyncQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncQueue")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Marks the dispatcher finished when dropped: at its end, and if it panicked.
struct DrainedOnDrop(watch::Sender<bool>);

impl Drop for DrainedOnDrop {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

impl AsyncQueue {
    /// Starts the queue's workers on the current tokio runtime, writing through the backend
    /// of `source` (a [`Store`](crate::Store), or a backend). Pair it with
    /// [`Store::with_persistor`](crate::Store::with_persistor)(crate::Store::with_persistor).
    ///
    /// The queue retries on its own schedule, so it writes through
    /// [`Backend::with_retries_disabled`]: one retry layer, whose deadline the queue controls.
    ///
    /// # Panics
    /// Outside a tokio runtime (like `tokio::spawn`).
    pub fn start(source: &impl BackendSource, options: QueueOptions) -> AsyncQueue {
        let backend: std::sync::Arc<dyn Backend> = source.shared_backend().with_retries_disabled();
        let capacity = options.capacity.max(1);
        let (sender, receiver) = mpsc::channel(capacity);
        let counters = Arc::new(Counters::new());
        let (abort, abort_rx) = watch::channel(None);
        let (drained_tx, drained) = watch::channel(false);
        let worker = Arc::new(Worker {
            backend,
            options,
            counters: counters.clone(),
        });
        tokio::spawn(
            async move {
                let _drained = DrainedOnDrop(drained_tx);
                dispatch(receiver, worker, Abort(abort_rx)).await;
            }
            .instrument(tracing::info_span!("eventosaurus_queue")),
        );
        AsyncQueue {
            shared: Arc::new(Shared {
                sender: Mutex::new(Some(sender)),
                capacity,
                counters,
                abort,
                drained,
                shut_down: AtomicBool::new(false),
            }),
        }
    }

    /// The counters right now, as one consistent snapshot.
    pub fn stats(&self) -> QueueStats {
        self.shared.counters.stats()
    }

    /// Waits until every event enqueued before this call is written, a duplicate or failed
    /// (its failure hooks have run), however many events are enqueued meanwhile.
    ///
    /// The events waited for are fixed when `flush` is *called*, not when the returned
    /// future is first polled.
    pub fn flush(&self) -> impl Future<Output = ()> + Send + 'static {
        let counters = self.shared.counters.clone();
        let target = counters.flush_target();
        async move { counters.wait_done_below(target).await }
    }

    /// Stops accepting events, writes everything still queued, and stops the workers.
    /// Later stores fail with [`Error::QueueClosed`].
    ///
    /// Idempotent: every call, concurrent or later, returns once the queue is drained. A
    /// server that keeps failing holds it until the events' retries run out
    /// ([`QueueOptions::retry_deadline`]); use [`shutdown_timeout`](Self::shutdown_timeout)
    /// to bound it.
    pub async fn shutdown(&self) {
        self.close();
        self.drained().await;
    }

    /// Like [`shutdown`](Self::shutdown), but gives up after `limit`: every event not yet
    /// written by then (queued, waiting for a retry, or in an attempt) is handed to the
    /// failure hooks with [`Error::QueueShutdownTimedOut`] and counted as failed (and as
    /// [`QueueStats::abandoned`]). Stores waiting for room fail with
    /// [`Error::QueueClosed`]. Returns the final counters.
    ///
    /// An attempt in flight at the limit may still land: the error says so.
    pub async fn shutdown_timeout(&self, limit: Duration) -> QueueStats {
        self.close();
        if tokio::time::timeout(limit, self.drained()).await.is_err() {
            self.shared.abort.send_if_modified(|abort| {
                let first = abort.is_none();
                if first {
                    *abort = Some(limit);
                }
                first
            });
            self.drained().await;
        }
        self.stats()
    }

    /// Stops accepting events; the dispatcher drains the channel and ends.
    fn close(&self) {
        if !self.shared.shut_down.swap(true, Ordering::SeqCst) {
            tracing::debug!("eventosaurus queue shutting down");
        }
        drop(
            self.shared
                .sender
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }

    async fn drained(&self) {
        let mut drained = self.shared.drained.clone();
        // Errs only if the dispatcher task was dropped unpolled (its runtime is gone).
        let _ = drained.wait_for(|done| *done).await;
    }

    fn sender(&self) -> Result<mpsc::Sender<Job>> {
        self.shared
            .sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(Error::QueueClosed)
    }

    /// Counts and sends the event, with no `.await` in between: a `store` cancelled before
    /// this point has left no trace, and one that reaches it is enqueued.
    fn enqueue(&self, permit: mpsc::Permit<'_, Job>, write: EventWrite) -> StoreOutcome {
        let outcome = StoreOutcome::Enqueued {
            event_uuid: write.event_uuid,
            created_at: write.created_at,
        };
        let seq = self.shared.counters.enqueue();
        permit.send(Job {
            write,
            enqueued_at: Instant::now(),
            seq,
            sent: false,
        });
        outcome
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if !self.shut_down.load(Ordering::SeqCst) {
            let pending = self.counters.stats().in_flight;
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
            // The only `.await`: dropped while waiting for room, nothing was counted or sent.
            let permit = sender.reserve().await.map_err(|_| Error::QueueClosed)?;
            Ok(self.enqueue(permit, write))
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
            Ok(self.enqueue(permit, write))
        })
    }
}
