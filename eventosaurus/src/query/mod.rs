//! Queries: typed conditions in front, an untyped [`Plan`] in the middle, paginated
//! DynamoDB requests behind.
//!
//! `#[derive(Storable)]` gives every event type a builder with one `by_<field>(..)` per
//! field (plus `by_event_uuid` and `by_created_at`). Each takes a value of the field's type,
//! meaning EQ, or a condition from the operator functions of this module:
//!
//! ```
//! use eventosaurus::query::{begins_with, between, gt, Operation};
//!
//! #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
//! #[eventosaurus(table = "phone_call", partition_key = person_id)]
//! pub struct PhoneCall { pub person_id: u64, pub phone_number: String, pub last_called: String }
//!
//! let query = PhoneCall::query()
//!     .by_person_id(5)                          // partition key EQ: a Query, not a Scan
//!     .by_created_at(gt("2015-01-04"))          // range condition on the created_at index
//!     .by_phone_number(begins_with("555"))      // anything else: a filter
//!     .limit(10);
//! let plan = query.plan("localhost").unwrap();  // no network: what `run` would send
//! assert_eq!(plan.table, "localhost_phone_call");
//! assert_eq!(plan.operation, Operation::Query);
//! assert_eq!(plan.index.as_deref(), Some("created_at_index"));
//! assert_eq!(plan.expressions.key_condition_expression.as_deref(), Some("#n0 = :v0 AND #n1 > :v1"));
//! assert_eq!(plan.expressions.filter_expression.as_deref(), Some("begins_with(#n2, :v2)"));
//!
//! // Without a partition key EQ, a query is refused unless you allow a Scan.
//! assert!(PhoneCall::query().by_phone_number("555-0100").plan("localhost").is_err());
//! let scan = PhoneCall::query().by_person_id(between(1, 9)).allow_scan().plan("localhost").unwrap();
//! assert_eq!(scan.operation, Operation::Scan);
//! ```
//!
//! Then `.run(&store)` returns every match, `.count(&store)` counts them with
//! `Select=COUNT`, `.events(&store)` is a `futures` [`Stream`](futures_core::Stream) of the
//! matching events ([`Events`]) and `.pages(&store)` one of [`Page`]s ([`Pages`]) whose
//! [`Cursor`] resumes with `.after(cursor)`; both fetch a page only when the consumer asks
//! for more. Types are checked at compile time: a string for a number field, or
//! `begins_with`/`contains` on a number field, does not compile.
//!
//! The layers, so that other backends (the in-memory test mode, the CLI) reuse them:
//! * [`Condition`] / [`Operator`]: untyped conditions, with [`Condition::matches`]
//!   evaluating DynamoDB's semantics on an item;
//! * [`dynamic`]: conditions from text such as `person_id=5`, typed by a registered
//!   [`TableDef`](crate::TableDef) ([`Condition::parse`]): what the CLI uses;
//! * [`Plan`]: the planned request as plain data ([`Plan::build`] holds the rules);
//! * [`RawPages`]: executes a plan against DynamoDB, or in memory for a test-mode store
//!   ([`memory::evaluate_request`]); [`Pages`] decodes it into events.

mod exec;
mod typed;

pub use crate::backend::{collect_items, count_items, RawPage, RawPages};
pub use crate::plan::{
    dynamic, json, matches_all, memory, values_equal, Condition, Cursor, ExpiryFilter, Expressions,
    IndexKind, Operation, Operator, ParseConditionError, Plan, QueryOptions, Select,
};
pub use exec::{Events, Page, Pages};
pub use typed::{
    begins_with, between, contains, eq, ge, gt, is_in, le, lt, ne, not_contains, Compare, Cond,
    ContainerField, Containment, CreatedAtField, EventUuidField, IntoCondition, Prefix, Query,
    StringField, ValueFor,
};
