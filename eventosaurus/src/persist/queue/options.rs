//! What an [`AsyncQueue`](super::AsyncQueue) is told ([`QueueOptions`]) and what it counts
//! ([`QueueStats`], kept by [`Counters`]).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

/// How an [`AsyncQueue`](super::AsyncQueue) behaves.
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
    /// The longest one attempt (one request and its response) may take. An attempt without
    /// a response by then is abandoned and retried like a network error, so a server that
    /// never answers cannot hold a worker, `flush` or `shutdown`. Default: 10 s, far above
    /// DynamoDB's usual latency (milliseconds) yet short enough to retry a lost connection
    /// well within [`retry_deadline`](Self::retry_deadline).
    pub attempt_timeout: Duration,
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
            attempt_timeout: Duration::from_secs(10),
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
    /// Sets [`attempt_timeout`](Self::attempt_timeout) (at least 1 ms).
    pub fn attempt_timeout(mut self, attempt_timeout: Duration) -> Self {
        self.attempt_timeout = attempt_timeout.max(Duration::from_millis(1));
        self
    }
    /// Sets the initial and the largest backoff.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }
}

/// Counters of an [`AsyncQueue`](super::AsyncQueue), read together (a consistent snapshot).
///
/// Every enqueued event ends up `written`, a `duplicate` or `failed`; until then it is
/// `in_flight`: `enqueued == written + duplicates + failed + in_flight`, always.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStats {
    /// Events accepted by `store` (a `store` cancelled while waiting for room is not one).
    pub enqueued: u64,
    /// Events written (including a retry that found its own earlier write, whose response
    /// was lost).
    pub written: u64,
    /// Events whose id was already written by another `store` (not written again).
    pub duplicates: u64,
    /// Retries of an event after a retryable error, an unprocessed batch item or a timeout.
    pub retried: u64,
    /// Attempts abandoned after [`QueueOptions::attempt_timeout`] (then retried or failed).
    pub timed_out_attempts: u64,
    /// Events that finally failed and were handed to the failure hooks.
    pub failed: u64,
    /// Of `failed`: events given up by [`shutdown_timeout`](super::AsyncQueue::shutdown_timeout).
    pub abandoned: u64,
    /// Failure hooks that panicked (each is logged; the failure is still counted).
    pub hook_panics: u64,
    /// Events enqueued but not yet written, duplicate or failed.
    pub in_flight: u64,
}

/// How an event left the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Done {
    Written,
    Duplicate,
    Failed { abandoned: bool },
}

/// The counters, and which events are still in flight.
///
/// Every event gets a sequence number when it is enqueued (in order). `flush` waits for the
/// *watermark*: the lowest sequence number still in flight, or the next one to be given if
/// none is. Everything below it is done, so a flush that snapshotted `n` events is done
/// exactly when the watermark reaches `n`, whatever was enqueued after it.
#[derive(Debug)]
pub(super) struct Counters {
    state: Mutex<State>,
    watermark: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct State {
    stats: QueueStats,
    /// Sequence numbers enqueued and not done: at most the queue's capacity plus what the
    /// workers hold.
    open: BTreeSet<u64>,
}

impl State {
    fn watermark(&self) -> u64 {
        self.open.first().copied().unwrap_or(self.stats.enqueued)
    }
}

impl Counters {
    pub(super) fn new() -> Counters {
        Counters {
            state: Mutex::new(State::default()),
            watermark: watch::channel(0).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A consistent snapshot.
    pub(super) fn stats(&self) -> QueueStats {
        self.lock().stats
    }

    /// Counts one enqueued event and returns its sequence number. Call it only where the
    /// event is then sent with no `.await` in between (so a cancelled `store` leaves no
    /// trace).
    pub(super) fn enqueue(&self) -> u64 {
        let mut state = self.lock();
        let seq = state.stats.enqueued;
        state.stats.enqueued += 1;
        state.stats.in_flight += 1;
        state.open.insert(seq);
        seq
    }

    /// Counts event `seq` as done.
    pub(super) fn done(&self, seq: u64, how: Done) {
        let watermark = {
            let mut state = self.lock();
            if !state.open.remove(&seq) {
                debug_assert!(false, "event {seq} completed twice");
                return;
            }
            let s = &mut state.stats;
            s.in_flight -= 1;
            match how {
                Done::Written => s.written += 1,
                Done::Duplicate => s.duplicates += 1,
                Done::Failed { abandoned } => {
                    s.failed += 1;
                    s.abandoned += u64::from(abandoned);
                }
            }
            state.watermark()
        };
        self.watermark.send_if_modified(|w| {
            let moved = watermark > *w;
            *w = (*w).max(watermark);
            moved
        });
    }

    pub(super) fn retried(&self, n: u64) {
        self.lock().stats.retried += n;
    }

    pub(super) fn timed_out(&self) {
        self.lock().stats.timed_out_attempts += 1;
    }

    pub(super) fn hook_panics(&self, n: u32) {
        if n > 0 {
            self.lock().stats.hook_panics += u64::from(n);
        }
    }

    /// The number of events enqueued so far: what a flush called now waits for.
    pub(super) fn flush_target(&self) -> u64 {
        self.lock().stats.enqueued
    }

    /// Waits until every event with a sequence number below `target` is done.
    pub(super) async fn wait_done_below(&self, target: u64) {
        let mut watermark = self.watermark.subscribe();
        // Errs only if the sender is gone, and `self` holds it.
        let _ = watermark.wait_for(|w| *w >= target).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watermark_waits_for_the_oldest_event() {
        let c = Counters::new();
        let a = c.enqueue();
        let b = c.enqueue();
        let target = c.flush_target();
        let later = c.enqueue();
        c.done(b, Done::Written);
        c.done(later, Done::Duplicate);
        assert_eq!(*c.watermark.borrow(), 0, "a is still in flight");
        c.done(a, Done::Failed { abandoned: false });
        assert!(*c.watermark.borrow() >= target);
        let s = c.stats();
        assert_eq!(
            (s.enqueued, s.written, s.duplicates, s.failed, s.in_flight),
            (3, 1, 1, 1, 0)
        );
    }
}
