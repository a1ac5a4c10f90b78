//! From what the backend answered to what the caller gets: an outcome, a retry, or an error.
//!
//! DynamoDB cancels a whole transaction and says why per item (`CancellationReasons`):
//!
//! * `ConditionalCheckFailed` on an event's put: its `event_uuid` exists, [`Duplicate`];
//! * `ConditionalCheckFailed` on an application write: [`ConditionFailed`] with its index;
//! * `TransactionConflict`, `ThrottlingError`, `ProvisionedThroughputExceeded`: transient,
//!   retried with backoff (then [`Error::TransactionCanceled`] with `retryable: true`);
//! * anything else (`ValidationError`, `ItemCollectionSizeLimitExceeded`, ...):
//!   [`Error::TransactionCanceled`].
//!
//! Errors of the call itself are retried when [`Error::is_retryable`] (throttling, network,
//! 5xx) or when DynamoDB says the same token is still in progress.
//!
//! [`Duplicate`]: TransactionOutcome::Duplicate
//! [`ConditionFailed`]: TransactionOutcome::ConditionFailed

use crate::backend::{TransactResult, TransactWrite};
use crate::error::{Error, Result};
use crate::model::CreatedAt;

use super::builder::PendingEvent;
use super::TransactionOutcome;

/// What to do after one attempt.
#[derive(Debug)]
pub(super) enum Step {
    /// A final outcome.
    Done(TransactionOutcome),
    /// A transient failure: try again (with the same token) if the budget allows.
    Retry(Error),
    /// A final error.
    Fail(Error),
}

/// Interprets one attempt's result.
pub(super) fn interpret(
    result: Result<TransactResult>,
    request: &TransactWrite,
    events: &[PendingEvent],
    created_at: CreatedAt,
) -> Step {
    let reasons = match result {
        Ok(TransactResult::Committed) => {
            return Step::Done(TransactionOutcome::Committed {
                event_uuids: events.iter().map(|e| e.event_uuid).collect(),
                created_at,
            })
        }
        Ok(TransactResult::Canceled { reasons }) => reasons,
        Err(error) => {
            let in_progress = matches!(&error, Error::Service { code, .. } if code == "TransactionInProgressException");
            return if error.is_retryable() || in_progress {
                Step::Retry(error)
            } else {
                Step::Fail(error)
            };
        }
    };
    let failed = |index: usize| reasons.get(index).is_some_and(|r| r.is_condition_failure());
    if let Some(event) = events.iter().find(|e| e.index.is_some_and(failed)) {
        return Step::Done(TransactionOutcome::Duplicate {
            event_uuid: event.event_uuid,
        });
    }
    if let Some(index) = (0..reasons.len()).find(|&i| failed(i)) {
        let reason = &reasons[index];
        return Step::Done(TransactionOutcome::ConditionFailed {
            index,
            message: reason.message.clone(),
            item: reason.item.clone(),
        });
    }
    let retryable = reasons.iter().any(|r| r.is_transient());
    let described: Vec<String> = reasons
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_none())
        .map(|(i, r)| match &r.message {
            Some(message) => format!("item {i}: {} ({message})", r.code),
            None => format!("item {i}: {}", r.code),
        })
        .collect();
    let error = Error::TransactionCanceled {
        tables: request.tables(),
        reasons: if described.is_empty() {
            "no reason given".to_owned()
        } else {
            described.join("; ")
        },
        retryable,
    };
    if retryable {
        Step::Retry(error)
    } else {
        Step::Fail(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CancellationReason;
    use uuid::Uuid;

    fn reason(code: &str) -> CancellationReason {
        CancellationReason {
            code: code.to_owned(),
            message: None,
            item: None,
        }
    }

    fn events() -> Vec<PendingEvent> {
        vec![PendingEvent::for_test(Some(1), Uuid::from_u128(7))]
    }

    fn canceled(codes: &[&str]) -> Result<TransactResult> {
        Ok(TransactResult::Canceled {
            reasons: codes.iter().map(|c| reason(c)).collect(),
        })
    }

    #[test]
    fn an_event_condition_is_a_duplicate_and_wins() {
        let at = CreatedAt::now();
        let step = interpret(
            canceled(&["ConditionalCheckFailed", "ConditionalCheckFailed"]),
            &TransactWrite::default(),
            &events(),
            at,
        );
        assert!(matches!(
            step,
            Step::Done(TransactionOutcome::Duplicate { event_uuid }) if event_uuid == Uuid::from_u128(7)
        ));
        let step = interpret(
            canceled(&["None", "None", "ConditionalCheckFailed"]),
            &TransactWrite::default(),
            &events(),
            at,
        );
        assert!(matches!(
            step,
            Step::Done(TransactionOutcome::ConditionFailed { index: 2, .. })
        ));
    }

    #[test]
    fn conflicts_are_retried_and_validation_is_not() {
        let at = CreatedAt::now();
        let step = interpret(
            canceled(&["TransactionConflict", "None"]),
            &TransactWrite::default(),
            &events(),
            at,
        );
        assert!(matches!(
            step,
            Step::Retry(Error::TransactionCanceled {
                retryable: true,
                ..
            })
        ));
        let step = interpret(
            canceled(&["None", "ValidationError"]),
            &TransactWrite::default(),
            &events(),
            at,
        );
        let Step::Fail(error) = step else {
            panic!("expected a failure")
        };
        assert!(
            error.to_string().contains("item 1: ValidationError"),
            "{error}"
        );
        assert!(!error.is_retryable());
    }
}
