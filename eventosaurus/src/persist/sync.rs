//! The synchronous persistor: one conditional PutItem per event, awaited.
//!
//! # A lost response is not a duplicate
//!
//! The SDK retries a request whose response was lost (a reset connection, a timeout). If
//! the first attempt did reach DynamoDB, the retry meets the item it wrote itself and its
//! condition fails. So the put asks for the existing item on a failed condition
//! (`ReturnValuesOnConditionCheckFailure::ALL_OLD`) and, if an earlier attempt of this
//! request was made, compares it with its own: the identical item (same `created_at`, which
//! is fixed per `store`, and the same attributes) is this write's own, and the outcome is
//! `Stored`. On a first attempt, or with any difference, another `store` got there first:
//! a `Duplicate`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use crate::codec::Item;
use crate::error::{classify, BoxError, Result, SdkFailure};
use crate::persist::memory::same_value;
use crate::persist::{Context, EventWrite, PersistFuture, Persistor};
use crate::store::StoreOutcome;

/// The condition that makes the first write of an `event_uuid` win.
pub const PUT_CONDITION: &str = "attribute_not_exists(event_uuid)";

/// Writes each event with a conditional PutItem before `store` returns. The default.
#[derive(Debug, Default, Clone, Copy)]
pub struct Synchronous;

impl Persistor for Synchronous {
    fn persist<'a>(&'a self, ctx: &'a Context, write: EventWrite) -> PersistFuture<'a> {
        Box::pin(async move {
            let EventWrite {
                table_name,
                item,
                event_uuid,
                created_at,
                ..
            } = write;
            if put_if_absent(ctx, &table_name, item).await? {
                Ok(StoreOutcome::Stored {
                    event_uuid,
                    created_at,
                })
            } else {
                Ok(StoreOutcome::Duplicate { event_uuid })
            }
        })
    }
}

/// Writes `item` unless an item with the same key exists: the first write wins.
///
/// Returns `true` if `item` is stored: written now, or found already there, identical,
/// after the SDK retried the request, because an earlier attempt of this same write landed
/// and its response was lost (see the module docs). Returns `false` for a duplicate:
/// another write stored that key first.
pub async fn put_if_absent(ctx: &Context, table_name: &str, item: Item) -> Result<bool> {
    let attempts = CountAttempts::default();
    let result = request(ctx, table_name, &item)
        .customize()
        .interceptor(attempts.clone())
        .send()
        .await;
    let earlier_attempts = attempts.0.load(Ordering::SeqCst) > 1;
    resolve(ctx, table_name, &item, result, earlier_attempts)
}

/// One attempt of a conditional put, for a caller that retries on its own (the queue):
/// `earlier_attempts` says whether an earlier attempt of this same write may have landed.
pub(crate) async fn put_attempt(
    ctx: &Context,
    table_name: &str,
    item: &Item,
    earlier_attempts: bool,
) -> Result<bool> {
    let result = request(ctx, table_name, item).send().await;
    resolve(ctx, table_name, item, result, earlier_attempts)
}

fn request(ctx: &Context, table_name: &str, item: &Item) -> PutItemFluentBuilder {
    ctx.client
        .put_item()
        .table_name(table_name)
        .set_item(Some(item.clone()))
        .condition_expression(PUT_CONDITION)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
}

/// The outcome of a conditional put. A failed condition is this write's own earlier attempt
/// only if there was one and the item found is identical; otherwise another `store` wrote
/// that key first (possibly the identical event, stored twice in the same millisecond).
fn resolve(
    ctx: &Context,
    table_name: &str,
    ours: &Item,
    result: std::result::Result<PutItemOutput, SdkError<PutItemError, HttpResponse>>,
    earlier_attempts: bool,
) -> Result<bool> {
    let at = ctx.call_site("PutItem", table_name);
    match result {
        Ok(_) => Ok(true),
        Err(err) => {
            if let Some(existing) = existing_item(&err) {
                return Ok(earlier_attempts && same_item(ours, existing));
            }
            match classify(err, at) {
                // Without the old item nothing shows it is ours: another write's.
                SdkFailure::ConditionFailed => Ok(false),
                other => Err(other.into_error(at)),
            }
        }
    }
}

/// Counts the attempts the SDK makes for one request, its own retries included.
#[derive(Debug, Clone, Default)]
struct CountAttempts(Arc<AtomicU32>);

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "eventosaurus::CountAttempts"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// The item that made a conditional put fail, when DynamoDB returned it.
fn existing_item<R>(err: &SdkError<PutItemError, R>) -> Option<&Item> {
    match err.as_service_error()? {
        PutItemError::ConditionalCheckFailedException(failed) => failed.item(),
        _ => None,
    }
}

/// Whether two items hold the same attributes with the same values, as DynamoDB compares
/// them: numbers by value, sets in any order. Our own earlier write reads back identical
/// (`created_at` included, fixed when the event was stored); another write of the same
/// `event_uuid` differs at least in `created_at`, unless made in the same millisecond with
/// the same content.
pub fn same_item(ours: &Item, theirs: &Item) -> bool {
    ours.len() == theirs.len()
        && ours
            .iter()
            .all(|(name, value)| theirs.get(name).is_some_and(|t| same_attr(value, t)))
}

fn same_attr(a: &AttributeValue, b: &AttributeValue) -> bool {
    use AttributeValue as A;
    match (a, b) {
        (A::N(_), A::N(_)) => same_value(a, b),
        (A::M(x), A::M(y)) => same_item(x, y),
        (A::L(x), A::L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_attr(x, y)),
        (A::Ns(x), A::Ns(y)) => {
            x.len() == y.len()
                && x.iter().all(|x| {
                    let x = A::N(x.clone());
                    y.iter().any(|y| same_value(&x, &A::N(y.clone())))
                })
        }
        (A::Ss(x), A::Ss(y)) => same_set(x, y),
        (A::Bs(x), A::Bs(y)) => {
            let bytes = |v: &[aws_sdk_dynamodb::primitives::Blob]| -> Vec<Vec<u8>> {
                v.iter().map(|b| b.as_ref().to_vec()).collect()
            };
            same_set(&bytes(x), &bytes(y))
        }
        _ => a == b,
    }
}

fn same_set<T: Ord>(x: &[T], y: &[T]) -> bool {
    let mut x: Vec<&T> = x.iter().collect();
    let mut y: Vec<&T> = y.iter().collect();
    x.sort();
    y.sort();
    x == y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn same_item_compares_numbers_by_value_and_sets_in_any_order() {
        use AttributeValue as A;
        let ours = item(&[
            ("created_at", A::S("2024-01-01T00:00:00.000Z".into())),
            ("n", A::N("7.0".into())),
            ("tags", A::Ss(vec!["b".into(), "a".into()])),
            ("nums", A::Ns(vec!["1".into(), "2.50".into()])),
            ("m", A::M(item(&[("x", A::L(vec![A::N("010".into())]))]))),
        ]);
        let theirs = item(&[
            ("created_at", A::S("2024-01-01T00:00:00.000Z".into())),
            ("n", A::N("7".into())),
            ("tags", A::Ss(vec!["a".into(), "b".into()])),
            ("nums", A::Ns(vec!["2.5".into(), "1".into()])),
            ("m", A::M(item(&[("x", A::L(vec![A::N("10".into())]))]))),
        ]);
        assert!(same_item(&ours, &theirs));

        let mut later = theirs.clone();
        later.insert("created_at".into(), A::S("2024-01-01T00:00:00.001Z".into()));
        assert!(!same_item(&ours, &later), "another write's created_at");
        let mut extra = theirs.clone();
        extra.insert("more".into(), A::Bool(true));
        assert!(!same_item(&ours, &extra));
        let mut other = theirs;
        other.insert("n".into(), A::N("8".into()));
        assert!(!same_item(&ours, &other));
    }
}
