//! The typed front: operator functions, the traits that type-check `by_<field>(..)`, and the
//! generic [`Query`] that the generated builders wrap.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::marker::PhantomData;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use uuid::Uuid;

use super::exec::{Events, Pages};
use crate::backend::{collect_items, count_items};
use crate::codec;
use crate::error::{Error, QueryProblem, Result};
use crate::model::{CreatedAt, Storable, StoredEvent};
use crate::plan::Cursor;
use crate::plan::{Condition, Operator};
use crate::plan::{Plan, QueryOptions, Select};
use crate::store::Store;

/// Condition kind: comparisons (`EQ NE IN LT LE GT GE BETWEEN`), valid on any field.
#[derive(Debug, Clone, Copy)]
pub enum Compare {}
/// Condition kind: `BEGINS_WITH`, valid on string fields only.
#[derive(Debug, Clone, Copy)]
pub enum Prefix {}
/// Condition kind: `CONTAINS` / `NOT_CONTAINS`, valid on strings, lists and sets.
#[derive(Debug, Clone, Copy)]
pub enum Containment {}

/// A typed condition built by an operator function ([`gt`], [`begins_with`], ...), not yet
/// tied to a field: `by_<field>(..)` checks at compile time that `V` and the kind `K` suit
/// the field's type.
#[derive(Debug, Clone)]
#[must_use = "a condition does nothing until passed to a by_<field>(..) method"]
pub struct Cond<V, K = Compare> {
    operator: Operator,
    values: Vec<V>,
    kind: PhantomData<K>,
}

impl<V, K> Cond<V, K> {
    fn new(operator: Operator, values: Vec<V>) -> Self {
        Cond {
            operator,
            values,
            kind: PhantomData,
        }
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The operands.
    pub fn values(&self) -> &[V] {
        &self.values
    }
}

/// `field = value`. A plain value passed to `by_<field>` means the same.
pub fn eq<V>(value: V) -> Cond<V> {
    Cond::new(Operator::Eq, vec![value])
}
/// `field <> value` (also true when the attribute is missing).
pub fn ne<V>(value: V) -> Cond<V> {
    Cond::new(Operator::Ne, vec![value])
}
/// `field IN (values..)`: equal to one of 1 to 100 values.
pub fn is_in<V>(values: impl IntoIterator<Item = V>) -> Cond<V> {
    Cond::new(Operator::In, values.into_iter().collect())
}
/// `field <= value`.
pub fn le<V>(value: V) -> Cond<V> {
    Cond::new(Operator::Le, vec![value])
}
/// `field < value`.
pub fn lt<V>(value: V) -> Cond<V> {
    Cond::new(Operator::Lt, vec![value])
}
/// `field >= value`.
pub fn ge<V>(value: V) -> Cond<V> {
    Cond::new(Operator::Ge, vec![value])
}
/// `field > value`.
pub fn gt<V>(value: V) -> Cond<V> {
    Cond::new(Operator::Gt, vec![value])
}
/// `field BETWEEN low AND high`, both included.
pub fn between<V>(low: V, high: V) -> Cond<V> {
    Cond::new(Operator::Between, vec![low, high])
}
/// `begins_with(field, prefix)`: string fields only.
pub fn begins_with<V>(prefix: V) -> Cond<V, Prefix> {
    Cond::new(Operator::BeginsWith, vec![prefix])
}
/// `contains(field, value)`: a substring of a string field, or an element of a list or set field.
pub fn contains<V>(value: V) -> Cond<V, Containment> {
    Cond::new(Operator::Contains, vec![value])
}
/// `NOT contains(field, value)`: the negation of [`contains`] (true when the attribute is missing).
pub fn not_contains<V>(value: V) -> Cond<V, Containment> {
    Cond::new(Operator::NotContains, vec![value])
}

/// A Rust value that can be compared with a field of type `F`, and how it is sent.
///
/// Every serializable type is a value for a field of its own type, encoded with
/// `serde_dynamo` exactly as the field is stored. `&str` and `&String` are values for
/// `String` fields; [`Uuid`], `&str` and `String` for `event_uuid`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared with a field of type `{F}`",
    label = "expected a value of type `{F}`"
)]
pub trait ValueFor<F: ?Sized> {
    /// The value as DynamoDB stores it.
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String>;
}

impl<T: Serialize> ValueFor<T> for T {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        serde_dynamo::to_attribute_value(self).map_err(|e| e.to_string())
    }
}

impl ValueFor<String> for &str {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S((*self).to_owned()))
    }
}

impl ValueFor<String> for &String {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S((*self).clone()))
    }
}

/// The type of the `event_uuid` attribute in `by_event_uuid(..)`: it takes a [`Uuid`], or
/// its hyphenated string (e.g. for `begins_with`).
#[derive(Debug, Clone, Copy)]
pub enum EventUuidField {}

impl ValueFor<EventUuidField> for Uuid {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S(self.hyphenated().to_string()))
    }
}
impl ValueFor<EventUuidField> for &Uuid {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S(self.hyphenated().to_string()))
    }
}
impl ValueFor<EventUuidField> for &str {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S((*self).to_owned()))
    }
}
impl ValueFor<EventUuidField> for String {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S(self.clone()))
    }
}
impl ValueFor<EventUuidField> for &String {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S((*self).clone()))
    }
}

/// The type of the `created_at` attribute in `by_created_at(..)`: it takes a [`CreatedAt`],
/// a `chrono::DateTime<Utc>` (truncated to the millisecond, as stored), or the text form
/// (e.g. `"2026-11-23"` for `begins_with`, or `"2026-11-23T19:38:57.123Z"`).
///
/// ```
/// # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
/// # #[eventosaurus(table = "phone_call", partition_key = person_id)]
/// # pub struct PhoneCall { pub person_id: u64 }
/// use chrono::{Duration, Utc};
/// use eventosaurus::query::{begins_with, gt};
/// let recent = PhoneCall::query().by_person_id(5).by_created_at(gt(Utc::now() - Duration::hours(1)));
/// let plan = recent.plan("localhost").unwrap();
/// assert_eq!(plan.index.as_deref(), Some("created_at_index"));
/// let today = PhoneCall::query().by_person_id(5).by_created_at(begins_with("2026-11-23"));
/// assert!(today.plan("localhost").is_ok());
/// ```
#[derive(Debug, Clone, Copy)]
pub enum CreatedAtField {}

impl ValueFor<CreatedAtField> for CreatedAt {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S(self.to_string()))
    }
}
impl ValueFor<CreatedAtField> for chrono::DateTime<chrono::Utc> {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S(CreatedAt::from(*self).to_string()))
    }
}
impl ValueFor<CreatedAtField> for &str {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S((*self).to_owned()))
    }
}
impl ValueFor<CreatedAtField> for String {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S(self.clone()))
    }
}
impl ValueFor<CreatedAtField> for &String {
    fn to_attribute_value(&self) -> std::result::Result<AttributeValue, String> {
        Ok(AttributeValue::S((*self).clone()))
    }
}

/// Field types stored as strings (`S`): the fields `BEGINS_WITH` accepts.
#[diagnostic::on_unimplemented(
    message = "BEGINS_WITH needs a string field, and `{Self}` is not stored as a string",
    label = "begins_with(..) on a field of type `{Self}`"
)]
pub trait StringField {}
impl StringField for String {}
impl StringField for EventUuidField {}
impl StringField for CreatedAtField {}

/// Field types `CONTAINS` / `NOT_CONTAINS` accept, with the value type `V` they look for:
/// a substring of a `String`, or an element of a `Vec`, `VecDeque`, `HashSet` or `BTreeSet`.
#[diagnostic::on_unimplemented(
    message = "CONTAINS needs a string, list or set field, and `{Self}` cannot contain a `{V}`",
    label = "contains(..) / not_contains(..) on a field of type `{Self}`"
)]
pub trait ContainerField<V> {
    /// The operand as DynamoDB stores it: a string, or one element of the list or set.
    fn element_value(value: &V) -> std::result::Result<AttributeValue, String>;
}
impl<V: ValueFor<String>> ContainerField<V> for String {
    fn element_value(value: &V) -> std::result::Result<AttributeValue, String> {
        value.to_attribute_value()
    }
}
macro_rules! collection_fields {
    ($($collection:ident<T $(, $extra:ident)*>),*) => {$(
        impl<T, V: ValueFor<T> $(, $extra)*> ContainerField<V> for $collection<T $(, $extra)*> {
            fn element_value(value: &V) -> std::result::Result<AttributeValue, String> {
                value.to_attribute_value()
            }
        }
    )*};
}
collection_fields!(Vec<T>, VecDeque<T>, HashSet<T, S>, BTreeSet<T>);

/// What `by_<field>(..)` accepts for a field of type `F`: a plain value of that type
/// (meaning EQ) or a [`Cond`] whose operator suits the type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value or condition for a field of type `{F}`",
    label = "expected a `{F}` (meaning EQ) or a condition such as `gt(..)`, `is_in([..])`, `between(..)`",
    note = "BEGINS_WITH needs a string field; CONTAINS and NOT_CONTAINS need a string, list or set field"
)]
pub trait IntoCondition<F: ?Sized> {
    /// The untyped condition on `attribute`, or why a value could not be encoded.
    fn into_condition(self, attribute: &str) -> std::result::Result<Condition, QueryProblem>;
}

fn encode_values<F: ?Sized, V: ValueFor<F>>(
    attribute: &str,
    operator: Operator,
    values: &[V],
) -> std::result::Result<Condition, QueryProblem> {
    let values = values
        .iter()
        .map(ValueFor::to_attribute_value)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|reason| QueryProblem::Unencodable {
            attribute: attribute.to_owned(),
            operator,
            reason,
        })?;
    Ok(Condition::new(attribute, operator, values))
}

// `Serialize` keeps this blanket impl apart from the `Cond` impls below: `Cond` is not
// `Serialize`, and no other crate can make it so.
impl<F, V: Serialize + ValueFor<F>> IntoCondition<F> for V {
    fn into_condition(self, attribute: &str) -> std::result::Result<Condition, QueryProblem> {
        encode_values::<F, V>(attribute, Operator::Eq, std::slice::from_ref(&self))
    }
}

impl<F, V: ValueFor<F>> IntoCondition<F> for Cond<V, Compare> {
    fn into_condition(self, attribute: &str) -> std::result::Result<Condition, QueryProblem> {
        encode_values::<F, V>(attribute, self.operator, &self.values)
    }
}

impl<F: StringField, V: ValueFor<F>> IntoCondition<F> for Cond<V, Prefix> {
    fn into_condition(self, attribute: &str) -> std::result::Result<Condition, QueryProblem> {
        encode_values::<F, V>(attribute, self.operator, &self.values)
    }
}

impl<F: ContainerField<V>, V> IntoCondition<F> for Cond<V, Containment> {
    fn into_condition(self, attribute: &str) -> std::result::Result<Condition, QueryProblem> {
        let values = self
            .values
            .iter()
            .map(F::element_value)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|reason| QueryProblem::Unencodable {
                attribute: attribute.to_owned(),
                operator: self.operator,
                reason,
            })?;
        Ok(Condition::new(attribute, self.operator, values))
    }
}

/// A query on the table of event type `E`: conditions plus options, planned into a [`Plan`]
/// and executed page by page.
///
/// Usually reached through the builder `#[derive(Storable)]` generates (`PhoneCall::query()`
/// returns a `PhoneCallQuery` with one typed `by_<field>(..)` per field), which wraps this
/// type; [`by_attribute`](Query::by_attribute) and [`condition`](Query::condition) are the
/// typed and untyped ways to add conditions by attribute name.
#[must_use = "a query does nothing until run, counted, streamed or explained"]
pub struct Query<E> {
    conditions: Vec<Condition>,
    options: QueryOptions,
    /// Values that could not be encoded: reported when the query is planned.
    problems: Vec<QueryProblem>,
    event: PhantomData<fn() -> E>,
}

// By hand: derives would require `E: Clone` / `E: Debug`, which events need not be.
impl<E> Clone for Query<E> {
    fn clone(&self) -> Self {
        Query {
            conditions: self.conditions.clone(),
            options: self.options.clone(),
            problems: self.problems.clone(),
            event: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for Query<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("event", &std::any::type_name::<E>())
            .field("conditions", &self.conditions)
            .field("options", &self.options)
            .field("problems", &self.problems)
            .finish()
    }
}

impl<E: Storable> Default for Query<E> {
    fn default() -> Self {
        Query::new()
    }
}

impl<E: Storable> Query<E> {
    /// A query with no conditions yet.
    pub fn new() -> Self {
        Query {
            conditions: Vec::new(),
            options: QueryOptions::default(),
            problems: Vec::new(),
            event: PhantomData,
        }
    }

    /// Adds a condition on the stored attribute `attribute`, whose Rust type is `F`.
    ///
    /// The generated `by_<field>(..)` methods call this with the field's type and stored name.
    pub fn by_attribute<F: ?Sized>(
        mut self,
        attribute: &str,
        condition: impl IntoCondition<F>,
    ) -> Self {
        match condition.into_condition(attribute) {
            Ok(condition) => self.conditions.push(condition),
            Err(problem) => self.problems.push(problem),
        }
        self
    }

    /// Adds an untyped condition (what the CLI builds from text).
    pub fn condition(mut self, condition: Condition) -> Self {
        self.conditions.push(condition);
        self
    }

    /// Returns at most `n` events, counted *after* filtering: paging continues until `n`
    /// events matched or the partition is exhausted. (Not DynamoDB's `Limit`; see
    /// [`page_size`](Query::page_size).)
    pub fn limit(mut self, n: usize) -> Self {
        self.options.limit = Some(n);
        self
    }

    /// Newest range key first (`ScanIndexForward=false`): by `created_at` on the index, by
    /// `event_uuid` on the table. Has no effect on a Scan.
    pub fn descending(mut self) -> Self {
        self.options.descending = true;
        self
    }

    /// Strongly consistent reads: every write acknowledged before the query is seen.
    pub fn consistent_read(mut self) -> Self {
        self.options.consistent_read = true;
        self
    }

    /// How many items each request evaluates (DynamoDB's `Limit`, before filtering); a page
    /// also ends at 1 MB. Each page returned by [`stream`](Query::stream) is one request.
    pub fn page_size(mut self, n: u32) -> Self {
        self.options.page_size = Some(n);
        self
    }

    /// Allows a full-table Scan when there is no EQ condition on the partition key.
    ///
    /// A Scan reads (and bills) every item of the table; prefer a partition key condition.
    pub fn allow_scan(mut self) -> Self {
        self.options.allow_scan = true;
        self
    }

    /// Also returns events whose time to live has passed but that DynamoDB has not deleted
    /// yet. By default a query on the table of an event type with `ttl = ".."` or an
    /// `expires_at` field hides them with a filter (`explain()` shows it), because DynamoDB
    /// deletes expired items lazily, typically within a few days. No effect on a table whose
    /// events never expire.
    pub fn include_expired(mut self) -> Self {
        self.options.include_expired = true;
        self
    }

    /// Resumes after `cursor`, taken from a [`Page`](super::Page) of the same query.
    pub fn after(mut self, cursor: impl Into<Cursor>) -> Self {
        self.options.after = Some(cursor.into());
        self
    }

    /// The conditions so far, in the order they were added.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// The options so far.
    pub fn options(&self) -> &QueryOptions {
        &self.options
    }

    /// Plans the query for an environment prefix, without a store or network access.
    pub fn plan(&self, environment_prefix: &str) -> Result<Plan> {
        self.plan_for(environment_prefix, Select::Items)
    }

    fn plan_for(&self, environment_prefix: &str, select: Select) -> Result<Plan> {
        if let Some(problem) = self.problems.first() {
            return Err(Error::InvalidQuery {
                table: E::TABLE.full_name(environment_prefix),
                problem: problem.clone(),
            });
        }
        Plan::build(
            E::TABLE,
            environment_prefix,
            &self.conditions,
            &self.options,
            select,
        )
    }

    /// The request [`run`](Query::run) would send in the store's environment: operation,
    /// index, key condition, filter and the expressions with their placeholders.
    pub fn explain(&self, store: &Store) -> Result<Plan> {
        self.plan(store.environment_prefix())
    }

    /// Every matching event (up to the [`limit`](Query::limit)), following all pages.
    pub async fn run(&self, store: &Store) -> Result<Vec<StoredEvent<E>>> {
        let plan = self.plan(store.environment_prefix())?;
        let table = plan.table.clone();
        collect_items(store.backend().clone(), plan)
            .await?
            .into_iter()
            .map(|item| codec::decode(item, &table))
            .collect()
    }

    /// How many events match (up to the [`limit`](Query::limit)), with `Select=COUNT`
    /// summed over all pages: no items are transferred.
    pub async fn count(&self, store: &Store) -> Result<u64> {
        count_items(
            store.backend().clone(),
            self.plan_for(store.environment_prefix(), Select::Count)?,
        )
        .await
    }

    /// The matching events page by page, as a [`Stream`](futures_core::Stream) of
    /// [`Page`](super::Page)s fetched lazily: each page is one request (requests that matched
    /// nothing are skipped), sent when the consumer asks for it. A planning error is the
    /// first item. Each page's cursor resumes the query with [`after`](Query::after).
    pub fn pages(&self, store: &Store) -> Pages<E> {
        Pages::new(store, self.plan(store.environment_prefix()))
    }

    /// The same as [`pages`](Query::pages) (its older name): use
    /// `while let Some(page) = pages.next_page().await` or `StreamExt::next`.
    pub fn stream(&self, store: &Store) -> Pages<E> {
        self.pages(store)
    }

    /// The matching events one by one, as a [`Stream`](futures_core::Stream) that fetches a
    /// page when the previous one has been consumed, never earlier: it holds at most one
    /// page (back-pressure). A planning error is the first item. See [`Events`].
    pub fn events(&self, store: &Store) -> Events<E> {
        Events::new(store, self.plan(store.environment_prefix()))
    }
}

/// Generates the forwarding methods of a derived query builder (a newtype around
/// [`Query`]). Used by `#[derive(Storable)]`; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __query_builder_methods {
    ($builder:ident, $event:ty) => {
        #[automatically_derived]
        #[allow(dead_code)]
        impl $builder {
            /// See [`Query::limit`](::eventosaurus::query::Query::limit): at most `n` events, counted after filtering.
            pub fn limit(self, n: usize) -> Self {
                $builder(self.0.limit(n))
            }
            /// See [`Query::descending`](::eventosaurus::query::Query::descending): newest range key first.
            pub fn descending(self) -> Self {
                $builder(self.0.descending())
            }
            /// See [`Query::consistent_read`](::eventosaurus::query::Query::consistent_read).
            pub fn consistent_read(self) -> Self {
                $builder(self.0.consistent_read())
            }
            /// See [`Query::page_size`](::eventosaurus::query::Query::page_size): items evaluated per request.
            pub fn page_size(self, n: u32) -> Self {
                $builder(self.0.page_size(n))
            }
            /// See [`Query::allow_scan`](::eventosaurus::query::Query::allow_scan).
            pub fn allow_scan(self) -> Self {
                $builder(self.0.allow_scan())
            }
            /// See [`Query::include_expired`](::eventosaurus::query::Query::include_expired): also expired, not yet deleted events.
            pub fn include_expired(self) -> Self {
                $builder(self.0.include_expired())
            }
            /// See [`Query::after`](::eventosaurus::query::Query::after): resume after a page's cursor.
            pub fn after(
                self,
                cursor: impl ::std::convert::Into<::eventosaurus::query::Cursor>,
            ) -> Self {
                $builder(self.0.after(cursor))
            }
            /// See [`Query::plan`](::eventosaurus::query::Query::plan): the plan, without a store.
            pub fn plan(
                &self,
                environment_prefix: &str,
            ) -> ::eventosaurus::Result<::eventosaurus::query::Plan> {
                self.0.plan(environment_prefix)
            }
            /// See [`Query::explain`](::eventosaurus::query::Query::explain): the request `run` would send.
            pub fn explain(
                &self,
                store: &::eventosaurus::Store,
            ) -> ::eventosaurus::Result<::eventosaurus::query::Plan> {
                self.0.explain(store)
            }
            /// See [`Query::run`](::eventosaurus::query::Query::run): every matching event.
            pub async fn run(
                &self,
                store: &::eventosaurus::Store,
            ) -> ::eventosaurus::Result<::std::vec::Vec<::eventosaurus::StoredEvent<$event>>> {
                self.0.run(store).await
            }
            /// See [`Query::count`](::eventosaurus::query::Query::count): how many events match.
            pub async fn count(
                &self,
                store: &::eventosaurus::Store,
            ) -> ::eventosaurus::Result<u64> {
                self.0.count(store).await
            }
            /// See [`Query::stream`](::eventosaurus::query::Query::stream): the events page by page.
            pub fn stream(
                &self,
                store: &::eventosaurus::Store,
            ) -> ::eventosaurus::query::Pages<$event> {
                self.0.stream(store)
            }
            /// See [`Query::pages`](::eventosaurus::query::Query::pages): a `Stream` of pages, fetched as consumed.
            pub fn pages(
                &self,
                store: &::eventosaurus::Store,
            ) -> ::eventosaurus::query::Pages<$event> {
                self.0.pages(store)
            }
            /// See [`Query::events`](::eventosaurus::query::Query::events): a `Stream` of events, one page held at most.
            pub fn events(
                &self,
                store: &::eventosaurus::Store,
            ) -> ::eventosaurus::query::Events<$event> {
                self.0.events(store)
            }
            /// The generic [`Query`](::eventosaurus::query::Query) this builder wraps.
            pub fn into_query(self) -> ::eventosaurus::query::Query<$event> {
                self.0
            }
        }

        #[automatically_derived]
        impl ::std::convert::From<$builder> for ::eventosaurus::query::Query<$event> {
            fn from(builder: $builder) -> Self {
                builder.0
            }
        }
    };
}
