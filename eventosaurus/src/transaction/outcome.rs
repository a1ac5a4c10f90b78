//! What a committed (or refused) transaction returns: [`TransactionOutcome`].

use uuid::Uuid;

use crate::codec::Item;
use crate::model::CreatedAt;

/// What [`Transaction::commit`](super::Transaction::commit) did. Like a duplicate event, a
/// failed condition is an outcome, not an error: in both cases nothing was written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TransactionOutcome {
    /// Every application write and every event was applied, atomically.
    Committed {
        /// The events' ids, in the order they were added.
        event_uuids: Vec<Uuid>,
        /// The `created_at` of every event of the transaction (fixed when it was started).
        created_at: CreatedAt,
    },
    /// An event's `event_uuid` already exists (for a composite key: the same event was
    /// stored before): nothing was applied, not even the application's writes. This is how
    /// a command applies once.
    ///
    /// When both an event and an application condition fail, this outcome wins.
    Duplicate {
        /// The id that already exists (the first such event of the transaction).
        event_uuid: Uuid,
    },
    /// The condition of one of the application's writes did not hold: nothing was applied.
    ConditionFailed {
        /// The position of the failed write in the transaction, counting from 0 every
        /// `put`, `update`, `delete`, `condition_check` and `event` in the order they were
        /// added (DynamoDB's `CancellationReasons` order).
        index: usize,
        /// DynamoDB's message, if any.
        message: Option<String>,
        /// The existing item, if the write asked for it with `return_item_on_failure()`
        /// (and there is one).
        item: Option<Item>,
    },
}

impl TransactionOutcome {
    /// Whether the transaction was applied.
    pub fn is_committed(&self) -> bool {
        matches!(self, TransactionOutcome::Committed { .. })
    }
}
