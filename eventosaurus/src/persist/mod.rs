//! How events are written: the [`Persistor`] seam and its implementations.
//!
//! A [`Store`](crate::Store) is configured with one persistor. Every
//! [`store`](crate::Store::store) encodes the event into an [`EventWrite`] (the table
//! definition, the full table name, the item, its id and timestamp) and hands it over:
//!
//! * [`Synchronous`] (the default): one conditional PutItem, awaited.
//! * [`AsyncQueue`]: a bounded queue drained by background tokio workers that write, retry
//!   and report failures; `store` returns as soon as the event is enqueued.
//! * [`Memory`]: test mode, no DynamoDB at all, same semantics (see [`Store::test`](crate::Store::test)).
//! * your own: implement [`Persistor`].
//!
//! # Writing a persistor
//!
//! ```
//! use eventosaurus::persist::{EventWrite, PersistFuture, Persistor, Synchronous};
//!
//! /// Counts events, then writes them like the default persistor.
//! #[derive(Default)]
//! struct Counting { count: std::sync::atomic::AtomicU64, inner: Synchronous }
//!
//! impl Persistor for Counting {
//!     fn persist<'a>(&'a self, ctx: &'a eventosaurus::persist::Context, write: EventWrite) -> PersistFuture<'a> {
//!         self.count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!         self.inner.persist(ctx, write)
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

use aws_sdk_dynamodb::Client;
use uuid::Uuid;

use crate::codec::Item;
use crate::error::{Error, Result};
use crate::store::StoreOutcome;
use crate::table::TableDef;

pub mod memory;
pub mod queue;
pub mod sync;

pub use memory::Memory;
pub use queue::{AsyncQueue, QueueOptions, QueueStats};
pub use sync::Synchronous;

/// The future a persistor returns.
pub type PersistFuture<'a> = Pin<Box<dyn Future<Output = Result<StoreOutcome>> + Send + 'a>>;

/// A store-wide failure hook: called with every event that finally fails to be written.
pub type GlobalErrorHook = Arc<dyn Fn(&FailedEvent<'_>, &Error) + Send + Sync>;

/// What a persistor needs besides the event: the SDK client and where it points.
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) client: Client,
    pub(crate) endpoint_label: String,
}

impl Context {
    /// A context for a client; `endpoint_label` is used in error messages.
    pub fn new(client: Client, endpoint_label: impl Into<String>) -> Context {
        Context {
            client,
            endpoint_label: endpoint_label.into(),
        }
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn call_site<'a>(
        &'a self,
        operation: &'static str,
        table: &'a str,
    ) -> crate::error::CallSite<'a> {
        crate::error::CallSite {
            operation,
            table,
            endpoint: &self.endpoint_label,
        }
    }
}

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
    pub created_at: String,
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
    pub fn decode<E: crate::Storable>(&self) -> Result<crate::StoredEvent<E>> {
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
            created_at: self.created_at.clone(),
        }
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
        let mut run = |which: &str, hook: &dyn Fn(&FailedEvent<'_>, &Error)| {
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&failed, error)));
            if let Err(payload) = outcome {
                panics += 1;
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".to_owned());
                tracing::error!(
                    hook = which,
                    table = %self.table_name,
                    event_uuid = %self.event_uuid,
                    panic = %message,
                    "a failure hook panicked; the failure is still counted"
                );
            }
        };
        if let Some(typed) = self.hooks.typed {
            run("on_error", &typed);
        }
        if let Some(global) = &self.hooks.global {
            run("error hook", global.as_ref());
        }
        panics
    }
}

/// Writes events. Implement it to plug in your own persistence; see the module docs.
pub trait Persistor: Send + Sync + 'static {
    /// Persists one event, waiting for room if the persistor is bounded.
    fn persist<'a>(&'a self, ctx: &'a Context, write: EventWrite) -> PersistFuture<'a>;

    /// Persists one event without waiting for room: a bounded persistor returns
    /// [`Error::QueueFull`] instead. The default is [`persist`](Persistor::persist).
    fn try_persist<'a>(&'a self, ctx: &'a Context, write: EventWrite) -> PersistFuture<'a> {
        self.persist(ctx, write)
    }

    /// The in-memory backend, when this persistor is test mode's.
    fn as_memory(&self) -> Option<&Memory> {
        None
    }
}
