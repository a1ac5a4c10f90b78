//! Handlers: typed per event type, untyped per table pattern, a `*` default, and the
//! dead-letter hook. The most specific match wins.
//!
//! | registered with | receives | matches |
//! |---|---|---|
//! | [`on::<E>`](super::ConsumerBuilder::on) | [`StoredEvent<E>`] | the table of `E` exactly |
//! | [`on_table("phone_call")`](super::ConsumerBuilder::on_table) | [`RawEvent`] | that table exactly |
//! | [`on_table("phone_*")`](super::ConsumerBuilder::on_table) | [`RawEvent`] | tables starting with `phone_` (the longest prefix wins) |
//! | [`on_any`](super::ConsumerBuilder::on_any) (= `on_table("*")`) | [`RawEvent`] | every other table |
//!
//! Table names are logical (without the environment prefix). An event of a table that no
//! handler matches is counted in [`ConsumerStats::unmatched`](super::ConsumerStats) and skipped.

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

use crate::codec::{self, Item, StoredEvent};
use crate::error::{BoxError, Error, Result};
use crate::table::{CREATED_AT, EVENT_UUID};
use crate::Storable;

/// The error a handler returns: anything that is an error. It is retried, then reported.
pub type HandlerError = BoxError;

/// What a handler returns.
pub type HandlerResult = std::result::Result<(), HandlerError>;

/// A boxed handler future.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = HandlerResult> + Send>>;

/// An event as read from a stream, undecoded: what table-pattern and default handlers get.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// The logical table name (without the environment prefix), e.g. `phone_call`.
    pub table: String,
    /// The full table name, e.g. `production_phone_call`.
    pub table_name: String,
    /// The item as written (the stream record's new image).
    pub item: Item,
    /// Where in the stream it was read.
    pub position: StreamPosition,
}

/// Where a record was read: its shard and sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamPosition {
    /// The shard id.
    pub shard_id: String,
    /// The record's sequence number (decimal digits; order within the shard).
    pub sequence_number: String,
}

impl RawEvent {
    /// The item's `event_uuid`, if it has a valid one.
    pub fn event_uuid(&self) -> Option<Uuid> {
        match self.item.get(EVENT_UUID) {
            Some(AttributeValue::S(s)) => Uuid::parse_str(s).ok(),
            _ => None,
        }
    }

    /// The item's `created_at`, if it has one.
    pub fn created_at(&self) -> Option<&str> {
        match self.item.get(CREATED_AT) {
            Some(AttributeValue::S(s)) => Some(s),
            _ => None,
        }
    }

    /// Decodes the item as an event of type `E` (see [`codec::decode`]).
    pub fn decode<E: Storable>(&self) -> Result<StoredEvent<E>> {
        codec::decode(self.item.clone(), &self.table_name)
    }
}

/// Which tables an untyped handler takes: `name`, `prefix*` or `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TablePattern {
    /// Exactly this logical table name.
    Exact(String),
    /// Every logical table name starting with this prefix (written `prefix*`).
    Prefix(String),
    /// Every table (written `*`).
    Any,
}

impl TablePattern {
    /// Parses `name`, `prefix*` or `*`. A `*` anywhere but at the end is refused.
    pub fn parse(pattern: &str) -> Result<TablePattern> {
        let invalid = |why: &str| Error::InvalidConsumer {
            reason: format!("table pattern {pattern:?} {why}; write `name`, `prefix*` or `*`"),
        };
        let pattern_trimmed = pattern.trim();
        if pattern_trimmed.is_empty() {
            return Err(invalid("is empty"));
        }
        match pattern_trimmed.strip_suffix('*') {
            Some("") => Ok(TablePattern::Any),
            Some(prefix) if !prefix.contains('*') => Ok(TablePattern::Prefix(prefix.to_owned())),
            Some(_) => Err(invalid("has a `*` that is not at the end")),
            None if pattern_trimmed.contains('*') => {
                Err(invalid("has a `*` that is not at the end"))
            }
            None => Ok(TablePattern::Exact(pattern_trimmed.to_owned())),
        }
    }

    /// Whether the logical table name matches.
    pub fn matches(&self, table: &str) -> bool {
        match self {
            TablePattern::Exact(name) => name == table,
            TablePattern::Prefix(prefix) => table.starts_with(prefix.as_str()),
            TablePattern::Any => true,
        }
    }

    /// Higher is more specific: exact names, then longer prefixes, then `*`.
    fn specificity(&self) -> (u8, usize) {
        match self {
            TablePattern::Exact(_) => (2, 0),
            TablePattern::Prefix(prefix) => (1, prefix.len()),
            TablePattern::Any => (0, 0),
        }
    }
}

impl std::fmt::Display for TablePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TablePattern::Exact(name) => f.write_str(name),
            TablePattern::Prefix(prefix) => write!(f, "{prefix}*"),
            TablePattern::Any => f.write_str("*"),
        }
    }
}

/// A handler with its event type erased.
pub(crate) trait ErasedHandler: Send + Sync {
    /// Starts the handler for one event. `Err` is a permanent failure (the item does not
    /// decode into the handler's type), which is not retried.
    fn call(&self, event: &RawEvent) -> Result<HandlerFuture>;

    /// The typed failure hook ([`OnError::on_error`](crate::OnError::on_error)), if any.
    fn on_failure(&self, event: &RawEvent, error: &Error);

    /// What the handler is, for logs: an event type or a pattern.
    fn describe(&self) -> String;
}

pub(crate) struct Typed<E, F> {
    handler: F,
    _event: PhantomData<fn() -> E>,
}

impl<E, F> Typed<E, F> {
    pub(crate) fn new(handler: F) -> Self {
        Typed {
            handler,
            _event: PhantomData,
        }
    }
}

impl<E, F, Fut> ErasedHandler for Typed<E, F>
where
    E: Storable,
    F: Fn(StoredEvent<E>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn call(&self, event: &RawEvent) -> Result<HandlerFuture> {
        let stored = event.decode::<E>()?;
        Ok(Box::pin((self.handler)(stored)))
    }

    fn on_failure(&self, event: &RawEvent, error: &Error) {
        match event.decode::<E>() {
            Ok(stored) => stored.event.on_error(error),
            Err(decode_error) => tracing::error!(
                event_type = E::TABLE.event_type,
                table = %event.table_name,
                %error,
                %decode_error,
                "event could not be handled, and could not be decoded for its on_error hook"
            ),
        }
    }

    fn describe(&self) -> String {
        E::TABLE.event_type.to_owned()
    }
}

pub(crate) struct Untyped<F> {
    pattern: TablePattern,
    handler: F,
}

impl<F> Untyped<F> {
    pub(crate) fn new(pattern: TablePattern, handler: F) -> Self {
        Untyped { pattern, handler }
    }
}

impl<F, Fut> ErasedHandler for Untyped<F>
where
    F: Fn(RawEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn call(&self, event: &RawEvent) -> Result<HandlerFuture> {
        Ok(Box::pin((self.handler)(event.clone())))
    }

    fn on_failure(&self, event: &RawEvent, error: &Error) {
        tracing::error!(
            pattern = %self.pattern,
            table = %event.table_name,
            %error,
            "event could not be handled; skipped"
        );
    }

    fn describe(&self) -> String {
        format!("table pattern `{}`", self.pattern)
    }
}

/// The consumer-wide hook for events whose handler failed on every attempt.
pub(crate) type DeadLetter = Arc<dyn Fn(&RawEvent, &Error) + Send + Sync>;

/// One registered handler.
pub(crate) struct Entry {
    pub(crate) pattern: TablePattern,
    pub(crate) handler: Arc<dyn ErasedHandler>,
}

/// The registered handlers.
#[derive(Default)]
pub(crate) struct Handlers {
    entries: Vec<Entry>,
}

impl Handlers {
    /// Adds a handler; two handlers with the same pattern are a configuration error.
    pub(crate) fn add(&mut self, entry: Entry) -> Result<()> {
        if let Some(existing) = self.entries.iter().find(|e| e.pattern == entry.pattern) {
            return Err(Error::InvalidConsumer {
                reason: format!(
                    "two handlers for table `{}`: {} and {}; register one",
                    entry.pattern,
                    existing.handler.describe(),
                    entry.handler.describe()
                ),
            });
        }
        self.entries.push(entry);
        Ok(())
    }

    /// The logical table names of exact registrations (typed handlers and exact patterns).
    pub(crate) fn exact_tables(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter_map(|e| match &e.pattern {
                TablePattern::Exact(name) => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether any handler is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most specific handler for a logical table name.
    pub(crate) fn resolve(&self, table: &str) -> Option<Arc<dyn ErasedHandler>> {
        self.entries
            .iter()
            .filter(|e| e.pattern.matches(table))
            .max_by_key(|e| e.pattern.specificity())
            .map(|e| e.handler.clone())
    }

    /// The handler of each table, resolved once.
    pub(crate) fn resolve_all(
        &self,
        tables: &[String],
    ) -> HashMap<String, Option<Arc<dyn ErasedHandler>>> {
        tables
            .iter()
            .map(|t| (t.clone(), self.resolve(t)))
            .collect()
    }
}

/// A future that turns a panic of the handler into an error, so that one panicking event is
/// retried and reported like a failing one instead of taking its shard down.
pub(crate) struct CatchPanic(pub(crate) HandlerFuture);

impl Future for CatchPanic {
    type Output = HandlerResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<HandlerResult> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_owned());
                Poll::Ready(Err(format!("the handler panicked: {message}").into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn untyped(pattern: &str) -> Entry {
        let pattern = TablePattern::parse(pattern).unwrap();
        Entry {
            pattern: pattern.clone(),
            handler: Arc::new(Untyped::new(pattern, |_e: RawEvent| async { Ok(()) })),
        }
    }

    #[test]
    fn patterns_parse() {
        assert_eq!(TablePattern::parse("*").unwrap(), TablePattern::Any);
        assert_eq!(
            TablePattern::parse("phone_*").unwrap(),
            TablePattern::Prefix("phone_".into())
        );
        assert_eq!(
            TablePattern::parse("phone_call").unwrap(),
            TablePattern::Exact("phone_call".into())
        );
        assert!(TablePattern::parse("").is_err());
        assert!(TablePattern::parse("*_call").is_err());
        assert!(TablePattern::parse("a*b*").is_err());
    }

    #[test]
    fn most_specific_wins() {
        let mut handlers = Handlers::default();
        for p in ["*", "phone_*", "phone_call", "ph*"] {
            handlers.add(untyped(p)).unwrap();
        }
        let describe = |t: &str| handlers.resolve(t).map(|h| h.describe());
        assert_eq!(
            describe("phone_call").unwrap(),
            "table pattern `phone_call`"
        );
        assert_eq!(describe("phone_sms").unwrap(), "table pattern `phone_*`");
        assert_eq!(describe("photo").unwrap(), "table pattern `ph*`");
        assert_eq!(describe("neat_event").unwrap(), "table pattern `*`");
        let mut no_default = Handlers::default();
        no_default.add(untyped("phone_*")).unwrap();
        assert!(no_default.resolve("neat_event").is_none());
        assert!(no_default.add(untyped("phone_*")).is_err());
    }

    #[tokio::test]
    async fn a_panic_becomes_an_error() {
        let result = CatchPanic(Box::pin(async { panic!("boom") })).await;
        assert!(result.unwrap_err().to_string().contains("boom"));
    }
}
