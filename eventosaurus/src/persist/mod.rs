//! How events are written: the [`Persistor`] seam and its implementations.
//!
//! A [`Store`](crate::Store) is configured with one persistor. Every
//! [`store`](crate::Store::store) encodes the event into an [`EventWrite`] (the table
//! definition, the full table name, the item, its id and timestamp) and hands it over:
//!
//! * [`Synchronous`] (the default): one conditional PutItem, awaited.
//! * [`AsyncQueue`]: a bounded queue drained by background tokio workers that write, retry
//!   and report failures; `store` returns as soon as the event is enqueued.
//! * your own: implement [`Persistor`].
//!
//! A persistor decides *when and how* to write; *where* is the store's
//! [`Backend`]: DynamoDB, or memory in test mode. Reads never go through a persistor.
//!
//! # Writing a persistor
//!
//! ```
//! use eventosaurus::backend::Backend;
//! use eventosaurus::persist::{EventWrite, PersistFuture, Persistor, Synchronous};
//!
//! /// Counts events, then writes them like the default persistor.
//! #[derive(Default)]
//! struct Counting { count: std::sync::atomic::AtomicU64, inner: Synchronous }
//!
//! impl Persistor for Counting {
//!     fn persist<'a>(&'a self, backend: &'a dyn Backend, write: EventWrite) -> PersistFuture<'a> {
//!         self.count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!         self.inner.persist(backend, write)
//!     }
//! }
//! ```
//!
//! The contract: return [`StoreOutcome::Stored`](crate::StoreOutcome::Stored) or
//! [`Duplicate`](crate::StoreOutcome::Duplicate) once the write is durable (or
//! [`Enqueued`](crate::StoreOutcome::Enqueued) if you write later), never overwrite an
//! existing `event_uuid`, and return an [`Error`](crate::Error) for real failures. Failure
//! hooks are called for you by the store for synchronous failures; a persistor that writes
//! later must call [`EventWrite::report_failure`] itself. `examples/jsonl_persistor.rs`
//! is a complete example: it writes to DynamoDB and appends each event to a JSON-lines file.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use uuid::Uuid;

use crate::backend::{Backend, PutOutcome};
use crate::codec::Item;
use crate::error::{Error, Result};
use crate::model::{CreatedAt, Storable, StoreOutcome, StoredEvent};
use crate::plan::items_equal;
use crate::schema::{TableDef, CREATED_AT};

pub mod queue;
mod retry;
pub mod sync;

pub use queue::{AsyncQueue, QueueOptions, QueueStats};
pub use retry::Backoff;
pub use sync::Synchronous;

/// The future a persistor returns.
pub type PersistFuture<'a> = Pin<Box<dyn Future<Output = Result<StoreOutcome>> + Send + 'a>>;

/// A store-wide failure hook: called with every event that finally fails to be written.
pub type GlobalErrorHook = Arc<dyn Fn(&FailedEvent<'_>, &Error) + Send + Sync>;

/// The write of one event, ready to be persisted.
#[derive(Clone)]
pub struct EventWrite {
    /// The event type's table definition.
    pub table: &'static TableDef,
    /// The full table name, `<prefix>_<table>`.
    pub table_name: String,
    /// The encoded item, `event_uuid` and `created_at` included.
    pub item: Item,
    /// The event's id.
    pub event_uuid: Uuid,
    /// The event's timestamp.
    pub created_at: CreatedAt,
    pub(crate) hooks: FailureHooks,
}

impl std::fmt::Debug for EventWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventWrite")
            .field("table_name", &self.table_name)
            .field("event_uuid", &self.event_uuid)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The failure hooks that travel with a write (the event type's and the store's).
#[derive(Clone, Default)]
pub(crate) struct FailureHooks {
    pub typed: Option<fn(&FailedEvent<'_>, &Error)>,
    pub global: Option<GlobalErrorHook>,
}

/// An event that could not be written, as the failure hooks see it.
#[derive(Debug)]
pub struct FailedEvent<'a> {
    /// The event type's table definition.
    pub table: &'static TableDef,
    /// The full table name.
    pub table_name: &'a str,
    /// The encoded item (`None` if the event could not even be encoded).
    pub item: Option<&'a Item>,
    /// The event's id.
    pub event_uuid: Uuid,
}

impl FailedEvent<'_> {
    /// Decodes the item back into the event type, e.g. to log or re-queue it.
    pub fn decode<E: Storable>(&self) -> Result<StoredEvent<E>> {
        let item = self.item.ok_or_else(|| Error::Decode {
            event_type: self.table.event_type,
            table: self.table_name.to_owned(),
            reason: "the event could not be encoded, so there is no item".to_owned(),
        })?;
        crate::codec::decode(item.clone(), self.table_name)
    }
}

impl EventWrite {
    /// Whether this event's id is derived from a composite key (and so needs the
    /// conditional write to keep "first write wins").
    pub fn has_composite_key(&self) -> bool {
        !self.table.composite_key.is_empty()
    }

    /// The outcome of a successful unconditional or conditional write.
    pub fn stored(&self) -> StoreOutcome {
        StoreOutcome::Stored {
            event_uuid: self.event_uuid,
            created_at: self.created_at,
        }
    }

    /// The outcome of this write's conditional put.
    ///
    /// `earlier_attempt_may_have_landed` says whether an earlier attempt of this same write
    /// failed in a way that may have written it anyway (a lost response, a timeout, a 5xx:
    /// see [`Error::may_have_been_applied`]). Only then can an existing item be this write's
    /// own: if it is identical (the same `event_uuid`, the same `created_at`, fixed when the
    /// event was stored and carried by every retry, and the same attributes), the outcome is
    /// [`Stored`](StoreOutcome::Stored).
    /// Anything else is another write that got there first:
    /// [`Duplicate`](StoreOutcome::Duplicate). (So two `store()` calls of one composite event
    /// in the same millisecond are still `Stored` then `Duplicate`.)
    pub fn outcome(&self, put: PutOutcome, earlier_attempt_may_have_landed: bool) -> StoreOutcome {
        match put {
            PutOutcome::Written => self.stored(),
            PutOutcome::Exists {
                existing: Some(existing),
            } if earlier_attempt_may_have_landed && self.is_own(&existing) => self.stored(),
            PutOutcome::Exists { .. } => StoreOutcome::Duplicate {
                event_uuid: self.event_uuid,
            },
        }
    }

    /// Whether `existing` is this write's item: every attribute equal as DynamoDB compares
    /// them (numbers by value, sets in any order), `created_at` and `event_uuid` included.
    fn is_own(&self, existing: &Item) -> bool {
        existing.contains_key(CREATED_AT) && items_equal(existing, &self.item)
    }

    /// Hands a final failure to the event type's `on_error` and the store's global hook.
    ///
    /// Each hook runs under [`catch_unwind`](std::panic::catch_unwind): a hook that panics
    /// is logged and does not keep the other hook (or the caller) from running. Returns the
    /// number of hooks that panicked.
    pub fn report_failure(&self, error: &Error) -> u32 {
        let failed = FailedEvent {
            table: self.table,
            table_name: &self.table_name,
            item: Some(&self.item),
            event_uuid: self.event_uuid,
        };
        let mut panics = 0;
        if let Some(typed) = self.hooks.typed {
            panics += u32::from(!run_hook("on_error", &failed, || typed(&failed, error)));
        }
        if let Some(global) = &self.hooks.global {
            panics += u32::from(!run_hook("error hook", &failed, || global(&failed, error)));
        }
        panics
    }
}

/// Runs one failure hook under [`catch_unwind`](std::panic::catch_unwind): a panic is logged
/// (with the event it was about) instead of unwinding into the caller. Returns whether the
/// hook returned normally.
pub(crate) fn run_hook(which: &str, failed: &FailedEvent<'_>, hook: impl FnOnce()) -> bool {
    let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(hook)) else {
        return true;
    };
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    tracing::error!(
        hook = which,
        table = %failed.table_name,
        event_uuid = %failed.event_uuid,
        panic = %message,
        "a failure hook panicked; the failure is still counted"
    );
    false
}

/// Writes events. Implement it to plug in your own persistence; see the module docs.
pub trait Persistor: Send + Sync + 'static {
    /// Persists one event, waiting for room if the persistor is bounded.
    ///
    /// `backend` is the store's: write through it unless you keep your own.
    fn persist<'a>(&'a self, backend: &'a dyn Backend, write: EventWrite) -> PersistFuture<'a>;

    /// Persists one event without waiting for room: a bounded persistor returns
    /// [`Error::QueueFull`] instead. The default is [`persist`](Persistor::persist).
    fn try_persist<'a>(&'a self, backend: &'a dyn Backend, write: EventWrite) -> PersistFuture<'a> {
        self.persist(backend, write)
    }
}
