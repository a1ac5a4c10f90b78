//! One shard's reader: GetRecords in a loop, each record to its handler (retried with backoff,
//! then reported and skipped), a checkpoint after each batch.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::Record;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::Error;

use super::convert::item_from_stream;
use super::handlers::{CatchPanic, ErasedHandler, RawEvent, StreamPosition};
use super::lease::Checkpoint;
use super::shards::{self, ReadFailure, ReadFrom, ShardInfo, ITERATOR_MAX_AGE};
use super::stats::bump;
use super::Shared;

/// Why a shard's worker stopped.
#[derive(Debug)]
pub(crate) enum WorkerExit {
    /// The shard is closed and was read to its end (checkpointed `SHARD_END`).
    Ended,
    /// Asked to stop (shutdown, hand-off, or the event limit); the last batch is checkpointed.
    Stopped,
    /// The lease was taken by another process; nothing more was processed.
    Lost,
    /// An error that retrying cannot fix.
    Failed(Error),
}

/// What became of one record.
enum RecordOutcome {
    /// Handled, failed and reported, or skipped: the checkpoint may move past it.
    Done,
    /// The consumer's event limit is reached: this record was not processed.
    LimitReached,
}

pub(crate) struct ShardWorker {
    pub(crate) shared: Arc<Shared>,
    pub(crate) shard: ShardInfo,
    pub(crate) from: ReadFrom,
    pub(crate) stop: watch::Receiver<bool>,
    /// With a lease: the worker processes nothing once this instant has passed.
    pub(crate) valid_until: Option<ValidUntil>,
}

/// Until when a lease may be worked without a newer renewal (shared with the coordinator,
/// which extends it at each renewal).
#[derive(Clone)]
pub(crate) struct ValidUntil(Arc<std::sync::Mutex<Instant>>);

impl ValidUntil {
    pub(crate) fn new(until: Instant) -> ValidUntil {
        ValidUntil(Arc::new(std::sync::Mutex::new(until)))
    }

    pub(crate) fn extend(&self, until: Instant) {
        let mut current = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if until > *current {
            *current = until;
        }
    }

    fn expired(&self) -> bool {
        Instant::now() > *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The delay before retry number `attempt` (1-based): exponential from `initial`, capped at
/// `max`, with jitter in its upper half.
pub(crate) fn backoff(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let exp = initial.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(max);
    let half = capped / 2;
    half + half.mul_f64(fastrand::f64())
}

impl ShardWorker {
    pub(crate) async fn run(self) -> WorkerExit {
        let span = tracing::info_span!(
            "eventosaurus.consume.shard",
            table = %self.shard.table,
            shard_id = %self.shard.shard_id
        );
        self.read_loop().instrument(span).await
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Sleeps, waking early when asked to stop.
    async fn pause(&mut self, duration: Duration) {
        let stop = &mut self.stop;
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = stop.changed() => {}
        }
    }

    async fn read_loop(mut self) -> WorkerExit {
        let shared = self.shared.clone();
        let key = self.shard.key();
        let table_name = self.shard.table_name.clone();
        let at = shared.store.call_site("GetRecords", &table_name);
        let mut iterator: Option<(String, Instant)> = None;
        let mut last_processed: Option<String> = None;
        let mut not_before = shared.options.start.not_before();
        let mut read_errors = 0u32;
        tracing::debug!(from = ?self.from, "reading shard");
        loop {
            if self.stopping() {
                return WorkerExit::Stopped;
            }
            let current = match iterator.take() {
                Some((it, issued)) if issued.elapsed() < ITERATOR_MAX_AGE => it,
                _ => {
                    let from = match &last_processed {
                        Some(seq) => ReadFrom::After(seq.clone()),
                        None => self.from.clone(),
                    };
                    match shards::shard_iterator(&shared.streams, at, &self.shard, &from).await {
                        Ok(Some(it)) => it,
                        Ok(None) => return self.end_of_shard(&key).await,
                        Err(failure) => match self
                            .on_read_failure(failure, &mut last_processed, &mut read_errors)
                            .await
                        {
                            Some(exit) => return exit,
                            None => continue,
                        },
                    }
                }
            };
            let output =
                match shards::get_records(&shared.streams, at, current, shared.options.batch_size)
                    .await
                {
                    Ok(output) => output,
                    Err(failure) => match self
                        .on_read_failure(failure, &mut last_processed, &mut read_errors)
                        .await
                    {
                        Some(exit) => return exit,
                        None => continue,
                    },
                };
            read_errors = 0;
            let records = output.records.unwrap_or_default();
            let count = records.len() as u64;
            shared.counters.records.fetch_add(count, Ordering::Relaxed);
            let mut batch_last: Option<String> = None;
            let mut limit_reached = false;
            let mut last_created_at: Option<String> = None;
            let mut lease_stale = false;
            for record in records {
                if self.valid_until.as_ref().is_some_and(ValidUntil::expired) {
                    // The coordinator could not renew the lease in time: another process may
                    // take it soon. Stop here; the checkpoint below covers what was done.
                    tracing::warn!("lease not renewed in time; stopping work on the shard");
                    lease_stale = true;
                    break;
                }
                let sequence_number = record
                    .dynamodb
                    .as_ref()
                    .and_then(|d| d.sequence_number.clone())
                    .unwrap_or_default();
                match self
                    .process(
                        record,
                        &sequence_number,
                        &mut not_before,
                        &mut last_created_at,
                    )
                    .await
                {
                    RecordOutcome::Done => batch_last = Some(sequence_number),
                    RecordOutcome::LimitReached => {
                        limit_reached = true;
                        break;
                    }
                }
            }
            let now_lag = last_created_at.as_deref().and_then(lag_ms);
            shared
                .counters
                .shard(&key, &self.shard.table, &self.shard.shard_id, |s| {
                    s.records += count;
                    if let Some(seq) = &batch_last {
                        s.last_sequence_number = Some(seq.clone());
                    }
                    if count == 0 {
                        s.lag_ms = Some(0);
                    } else if now_lag.is_some() {
                        s.lag_ms = now_lag;
                    }
                });
            if let Some(seq) = batch_last {
                if !self
                    .checkpoint(&key, &Checkpoint::Sequence(seq.clone()))
                    .await
                {
                    return WorkerExit::Lost;
                }
                last_processed = Some(seq);
            }
            if lease_stale {
                return WorkerExit::Lost;
            }
            if limit_reached {
                return WorkerExit::Stopped;
            }
            match output.next_shard_iterator {
                None => return self.end_of_shard(&key).await,
                Some(next) => iterator = Some((next, Instant::now())),
            }
            if count == 0 {
                let poll = shared.options.poll_interval;
                self.pause(poll).await;
            }
        }
    }

    /// Decides what a read failure means; `None`: go on reading.
    async fn on_read_failure(
        &mut self,
        failure: ReadFailure,
        last_processed: &mut Option<String>,
        read_errors: &mut u32,
    ) -> Option<WorkerExit> {
        match failure {
            ReadFailure::ExpiredIterator => {
                tracing::debug!(
                    "shard iterator expired; taking a new one after the last record processed"
                );
                None
            }
            ReadFailure::Trimmed => {
                tracing::warn!(
                    after = ?last_processed,
                    "the position is older than the stream's 24 h retention (TrimmedDataAccessException): \
                     records were lost to this consumer; restarting at the oldest record"
                );
                *last_processed = None;
                self.from = ReadFrom::TrimHorizon;
                None
            }
            ReadFailure::Gone => {
                tracing::warn!("the shard or its stream no longer exists; the shard is done");
                let key = self.shard.key();
                Some(self.end_of_shard(&key).await)
            }
            ReadFailure::Other(error) if error.is_retryable() && !self.stopping() => {
                *read_errors += 1;
                let delay = backoff(
                    self.shared.options.retry_backoff,
                    Duration::from_secs(10),
                    *read_errors,
                );
                tracing::warn!(%error, attempt = *read_errors, ?delay, "reading the shard failed; retrying");
                self.pause(delay).await;
                None
            }
            ReadFailure::Other(_) if self.stopping() => Some(WorkerExit::Stopped),
            ReadFailure::Other(error) => Some(WorkerExit::Failed(error)),
        }
    }

    async fn end_of_shard(&self, key: &str) -> WorkerExit {
        if !self.checkpoint(key, &Checkpoint::ShardEnd).await {
            return WorkerExit::Lost;
        }
        self.shared
            .counters
            .shard(key, &self.shard.table, &self.shard.shard_id, |s| {
                s.ended = true
            });
        tracing::info!("shard read to its end");
        WorkerExit::Ended
    }

    /// Writes a checkpoint (with a lease table); `false` when the lease is lost. Transient
    /// errors are retried a few times, then left to the next batch's checkpoint.
    async fn checkpoint(&self, key: &str, checkpoint: &Checkpoint) -> bool {
        let Some(leases) = &self.shared.leases else {
            return true;
        };
        for attempt in 1..=3u32 {
            match leases.checkpoint(key, checkpoint).await {
                Ok(true) => {
                    bump(&self.shared.counters.checkpoints);
                    if let Some(listener) = &self.shared.checkpoint_listener {
                        listener(key, checkpoint);
                    }
                    return true;
                }
                Ok(false) => {
                    tracing::warn!(
                        ?checkpoint,
                        "checkpoint refused: the lease belongs to another process now"
                    );
                    return false;
                }
                Err(error) => {
                    tracing::warn!(%error, attempt, "checkpoint failed");
                    tokio::time::sleep(backoff(
                        self.shared.options.retry_backoff,
                        Duration::from_secs(2),
                        attempt,
                    ))
                    .await;
                }
            }
        }
        // Still ours as far as we know: the next batch's checkpoint covers this one.
        true
    }

    async fn process(
        &self,
        record: Record,
        sequence_number: &str,
        not_before: &mut Option<String>,
        last_created_at: &mut Option<String>,
    ) -> RecordOutcome {
        let shared = &self.shared;
        let Some(image) = record.dynamodb.and_then(|d| d.new_image) else {
            bump(&shared.counters.skipped);
            return RecordOutcome::Done;
        };
        let event = RawEvent {
            table: self.shard.table.clone(),
            table_name: self.shard.table_name.clone(),
            item: item_from_stream(image),
            position: StreamPosition {
                shard_id: self.shard.shard_id.clone(),
                sequence_number: sequence_number.to_owned(),
            },
        };
        if let Some(created_at) = event.created_at() {
            *last_created_at = Some(created_at.to_owned());
        }
        if let Some(start) = not_before.as_deref() {
            if event.created_at().is_some_and(|c| c < start) {
                bump(&shared.counters.skipped);
                return RecordOutcome::Done;
            }
            *not_before = None;
        }
        let Some(handler) = shared.handlers.get(&event.table).cloned().flatten() else {
            bump(&shared.counters.unmatched);
            return RecordOutcome::Done;
        };
        let event_uuid = event.event_uuid();
        if let (Some(dedup), Some(id)) = (&shared.dedup, event_uuid) {
            let mut window = dedup.lock().unwrap_or_else(|p| p.into_inner());
            if window.contains(&id, Instant::now()) {
                drop(window);
                bump(&shared.counters.deduplicated);
                return RecordOutcome::Done;
            }
        }
        if !shared.reserve_event() {
            return RecordOutcome::LimitReached;
        }
        self.dispatch(handler.as_ref(), &event).await;
        if let (Some(dedup), Some(id)) = (&shared.dedup, event_uuid) {
            dedup
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, Instant::now());
        }
        RecordOutcome::Done
    }

    /// Calls the handler until it succeeds or the attempts run out, then reports the failure.
    async fn dispatch(&self, handler: &dyn ErasedHandler, event: &RawEvent) {
        let shared = &self.shared;
        let options = &shared.options;
        let mut attempt = 1u32;
        loop {
            let result = match handler.call(event) {
                Ok(future) => CatchPanic(future).await,
                Err(permanent) => {
                    // The item does not decode into the handler's type: retrying cannot help.
                    bump(&shared.counters.failed);
                    tracing::error!(error = %permanent, sequence_number = %event.position.sequence_number, "event could not be decoded for its handler; skipped");
                    if let Some(dead_letter) = &shared.dead_letter {
                        dead_letter(event, &permanent);
                    }
                    return;
                }
            };
            match result {
                Ok(()) => {
                    bump(&shared.counters.handled);
                    return;
                }
                Err(error) if attempt < options.max_attempts => {
                    bump(&shared.counters.retried);
                    let delay = backoff(options.retry_backoff, options.max_backoff, attempt);
                    tracing::warn!(%error, attempt, ?delay, handler = %handler.describe(), "handler failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(source) => {
                    bump(&shared.counters.failed);
                    let error = Error::HandlerFailed {
                        table: event.table_name.clone(),
                        event_uuid: event
                            .event_uuid()
                            .map(|u| u.to_string())
                            .unwrap_or_else(|| "-".to_owned()),
                        attempts: attempt,
                        source,
                    };
                    handler.on_failure(event, &error);
                    if let Some(dead_letter) = &shared.dead_letter {
                        dead_letter(event, &error);
                    }
                    return;
                }
            }
        }
    }
}

/// Milliseconds between `created_at` and now (0 if in the future).
fn lag_ms(created_at: &str) -> Option<u64> {
    let at = chrono::DateTime::parse_from_rfc3339(created_at).ok()?;
    let lag = chrono::Utc::now()
        .signed_duration_since(at)
        .num_milliseconds();
    Some(lag.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for _ in 0..100 {
            let first = backoff(initial, max, 1);
            assert!(first >= Duration::from_millis(50) && first <= initial);
            let third = backoff(initial, max, 3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(backoff(initial, max, 30) <= max);
        }
    }

    #[test]
    fn lag_of_an_old_record() {
        assert!(lag_ms("2020-01-01T00:00:00.000Z").unwrap() > 1_000_000);
        assert_eq!(lag_ms("2999-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(lag_ms("not a time"), None);
    }
}
