//! When to try again: the retry budget of a request, the bound on one attempt, and which
//! errors a batch is split on.

use std::future::Future;
use std::time::Instant;

use super::options::{Counters, QueueOptions};
use crate::error::{Error, Result};

/// The retry budget of one request: attempts, and a deadline counted from enqueue.
pub(super) struct Retry {
    enqueued_at: Instant,
    pub(super) attempt: u32,
}

impl Retry {
    pub(super) fn new(enqueued_at: Instant) -> Retry {
        Retry {
            enqueued_at,
            attempt: 1,
        }
    }

    /// Sleeps before the next attempt, or returns `false` if the budget is spent.
    pub(super) async fn backoff(&mut self, options: &QueueOptions) -> bool {
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

/// Runs one attempt, abandoning it after [`QueueOptions::attempt_timeout`]: a timed-out
/// attempt is an [`Error::Network`] (retryable), and counted.
pub(super) async fn bounded<T>(
    options: &QueueOptions,
    counters: &Counters,
    (operation, table, endpoint): (&'static str, &str, &str),
    attempt: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(options.attempt_timeout, attempt).await {
        Ok(result) => result,
        Err(_) => {
            counters.timed_out();
            Err(Error::Network {
                endpoint: endpoint.to_owned(),
                operation,
                table: table.to_owned(),
                source: format!(
                    "no response within {:?} (QueueOptions::attempt_timeout); the attempt was \
                     abandoned",
                    options.attempt_timeout
                )
                .into(),
            })
        }
    }
}

/// Whether DynamoDB refused a request because of what an item holds (an invalid number,
/// an empty key, an item collection over 10 GB, ...). BatchWriteItem then refuses the whole
/// request, so the batch is split until the offending item fails alone.
pub(super) fn is_item_rejection(error: &Error) -> bool {
    matches!(
        error,
        Error::Service { code, .. }
            if code == "ValidationException" || code == "ItemCollectionSizeLimitExceededException"
    )
}
