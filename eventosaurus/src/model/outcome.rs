//! What a write returns ([`StoreOutcome`]) and what a read returns ([`StoredEvent`]).

use uuid::Uuid;

use super::CreatedAt;

/// What a store did. A duplicate is an outcome, not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreOutcome {
    /// The event was written (by this call, or by an earlier attempt of this same call whose
    /// response was lost: a retry that meets its own item is still `Stored`).
    Stored {
        /// The id it was written under.
        event_uuid: Uuid,
        /// Its `created_at`.
        created_at: CreatedAt,
    },
    /// Another write of the same `event_uuid` got there first; nothing was written.
    Duplicate {
        /// The id that already exists.
        event_uuid: Uuid,
    },
    /// The event was handed to an [`AsyncQueue`](crate::persist::AsyncQueue), which writes
    /// it in the background (as `Stored` or `Duplicate`, or reports it to the failure hooks).
    Enqueued {
        /// The id it will be written under.
        event_uuid: Uuid,
        /// Its `created_at`, fixed at enqueue time.
        created_at: CreatedAt,
    },
}

impl StoreOutcome {
    /// The event's id, whatever the outcome.
    pub fn event_uuid(&self) -> Uuid {
        match self {
            StoreOutcome::Stored { event_uuid, .. }
            | StoreOutcome::Duplicate { event_uuid }
            | StoreOutcome::Enqueued { event_uuid, .. } => *event_uuid,
        }
    }

    /// Whether the event was a duplicate.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, StoreOutcome::Duplicate { .. })
    }
}

/// An event as read back: the event, with the id and timestamp it was stored with.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent<E> {
    /// The event itself.
    pub event: E,
    /// Its `event_uuid` (the table's sort key).
    pub event_uuid: Uuid,
    /// Its `created_at`.
    pub created_at: CreatedAt,
    /// The service that stored it (`event_source`), when the storing store had a source
    /// configured.
    pub source: Option<String>,
}

impl<E> std::ops::Deref for StoredEvent<E> {
    type Target = E;
    fn deref(&self) -> &E {
        &self.event
    }
}
