//! The synchronous persistor: one conditional put per event, awaited, with a few retries.

use std::time::Duration;

use crate::backend::Backend;
use crate::persist::{Backoff, EventWrite, PersistFuture, Persistor};

/// Writes each event with a conditional put (`attribute_not_exists(event_uuid)` on DynamoDB)
/// before `store` returns. The default.
///
/// Throttling, network and 5xx errors are retried up to [`Synchronous::MAX_ATTEMPTS`] times
/// in all, with exponential backoff and full jitter (the policy of the AWS SDKs' standard
/// retry mode). The persistor makes the retries itself (the backend's put is a single
/// attempt), so it knows when an earlier attempt may have landed, and a retry that meets its
/// own item reports [`Stored`](crate::StoreOutcome::Stored), never
/// [`Duplicate`](crate::StoreOutcome::Duplicate).
#[derive(Debug, Default, Clone, Copy)]
pub struct Synchronous;

impl Synchronous {
    /// Attempts per event, the first included.
    pub const MAX_ATTEMPTS: u32 = 3;
    /// The first backoff; it doubles per attempt, with full jitter.
    pub const INITIAL_BACKOFF: Duration = Duration::from_millis(25);
    /// The largest backoff.
    pub const MAX_BACKOFF: Duration = Duration::from_secs(1);
}

impl Persistor for Synchronous {
    fn persist<'a>(&'a self, backend: &'a dyn Backend, write: EventWrite) -> PersistFuture<'a> {
        Box::pin(async move {
            let mut backoff = Backoff::new(
                Synchronous::MAX_ATTEMPTS,
                Synchronous::INITIAL_BACKOFF,
                Synchronous::MAX_BACKOFF,
            );
            let mut may_have_landed = false;
            loop {
                let put = backend
                    .put_if_absent(&write.table_name, write.table, write.item.clone())
                    .await;
                match put {
                    Ok(put) => return Ok(write.outcome(put, may_have_landed)),
                    Err(error) if error.is_retryable() && backoff.wait().await => {
                        may_have_landed |= error.may_have_been_applied();
                        tracing::debug!(event_uuid = %write.event_uuid, %error, attempt = backoff.attempt(), "retrying put");
                    }
                    Err(error) => return Err(error),
                }
            }
        })
    }
}
