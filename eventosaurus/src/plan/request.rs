//! Planning: conditions and options into a [`Plan`], the exact request to send.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use super::condition::{compare_scalars, Condition, Operator};
use super::cursor::Cursor;
use super::expiry::{now_epoch_seconds, ExpiryFilter};
use super::keys::{is_empty_value, IndexKind, Keys};
use crate::codec::Item;
use crate::error::{Error, QueryProblem, Result};
use crate::number::{Number, NumberError};
use crate::schema::{TableDef, EVENT_UUID};

/// The DynamoDB operation a plan sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Operation {
    /// `Query`: one partition, in range key order. The normal case.
    Query,
    /// `Scan`: the whole table. Only with `.allow_scan()`.
    Scan,
}

impl Operation {
    /// The DynamoDB operation's name: `Query` or `Scan`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Query => "Query",
            Operation::Scan => "Scan",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the requests return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Select {
    /// The matching items (`Select=ALL_ATTRIBUTES`, the default).
    #[default]
    Items,
    /// Only how many items match (`Select=COUNT`).
    Count,
}

/// The options of a query besides its conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// Return at most this many matching items, counted after filtering (not DynamoDB's `Limit`).
    pub limit: Option<usize>,
    /// Newest range key first (`ScanIndexForward=false`). Ignored by a Scan.
    pub descending: bool,
    /// Strongly consistent reads (`ConsistentRead=true`).
    pub consistent_read: bool,
    /// DynamoDB's `Limit`: how many items each request *evaluates*, before filtering.
    pub page_size: Option<u32>,
    /// Allow a Scan when there is no EQ condition on the partition key.
    pub allow_scan: bool,
    /// Resume after this cursor, taken from a previous [`Page`](crate::query::Page).
    pub after: Option<Cursor>,
    /// Also return events whose time to live has passed but that DynamoDB has not deleted
    /// yet (it does so lazily). Off: they are hidden ([`Plan::hide_expired`]).
    pub include_expired: bool,
}

/// The request a query sends, as plain data: what `explain()` returns, what the DynamoDB
/// executor sends and what an in-memory backend evaluates.
///
/// Serializes to JSON (values in DynamoDB JSON, e.g. `{"N": "5"}`) for `--explain`.
///
/// Another backend evaluates a plan like DynamoDB does: take the items of `table` for which
/// every condition of [`conditions`](Plan::conditions) [matches](Condition::matches) (and,
/// on an index, that have every attribute of [`key_attributes`](Plan::key_attributes): an
/// item without an index key is not in the index), order them by
/// [`order_attributes`](Plan::order_attributes) (reversed if `descending`; a Scan has no
/// order), start after `exclusive_start_key` and stop after `limit` items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The full table name, `<prefix>_<table>`.
    pub table: String,
    /// `Query` or `Scan`.
    pub operation: Operation,
    /// The index the Query reads: `Some("created_at_index")` when the range condition is on
    /// `created_at`, a global secondary index's name when the query's EQ is on its partition
    /// key (and none is on the table's); `None`: the table.
    pub index: Option<String>,
    /// Whether [`index`](Plan::index) is the `created_at` LSI or a global secondary index
    /// (eventually consistent reads only).
    pub index_kind: Option<IndexKind>,
    /// The range key of the table or index read, which orders the results: `event_uuid`,
    /// `created_at`, or a global index's sort key; `None` for a Scan or a global index
    /// without a sort key.
    pub range_key: Option<String>,
    /// The key conditions: the partition key EQ, then at most one range key condition.
    /// Empty for a Scan.
    pub key_condition: Vec<Condition>,
    /// Conditions sent as the FilterExpression, all of which must match (AND).
    pub filter: Vec<Condition>,
    /// For a table whose events expire, the last part of the FilterExpression: it hides
    /// items whose `expires_at` has passed (`None` without TTL, or with
    /// [`include_expired`](QueryOptions::include_expired)).
    pub hide_expired: Option<ExpiryFilter>,
    /// Conditions DynamoDB does not accept in this request (a second condition on a key
    /// attribute of the queried table or index: it can be neither a second key condition
    /// nor a filter). eventosaurus evaluates them on each returned item.
    pub client_filter: Vec<Condition>,
    /// At most this many matching items are returned (counted after all filters).
    pub limit: Option<usize>,
    /// `ScanIndexForward=false`.
    pub descending: bool,
    /// `ConsistentRead=true`.
    pub consistent_read: bool,
    /// DynamoDB's per-request `Limit` (items evaluated per page).
    pub page_size: Option<u32>,
    /// Items or a count.
    pub select: Select,
    /// The attributes that make up a cursor (`LastEvaluatedKey`) of this request.
    pub key_attributes: Vec<String>,
    /// `ExclusiveStartKey` of the first request, from `.after(cursor)`.
    #[serde(serialize_with = "super::json::serialize_optional_item")]
    pub exclusive_start_key: Option<Item>,
    /// The expressions as sent, with `#n`/`:v` placeholders.
    pub expressions: Expressions,
}

/// The expression strings and placeholder maps of a plan, exactly as sent to DynamoDB.
///
/// Every attribute name is a `#nK` placeholder, so reserved words (`name`, `status`,
/// `count`, `date`, ...) are safe; every value is a `:vK` placeholder.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Expressions {
    /// `KeyConditionExpression`, e.g. `#n0 = :v0 AND #n1 > :v1`; `None` for a Scan.
    pub key_condition_expression: Option<String>,
    /// `FilterExpression`, e.g. `begins_with(#n2, :v2)`; `None` without filter conditions.
    pub filter_expression: Option<String>,
    /// `ExpressionAttributeNames`: placeholder to attribute name.
    pub names: BTreeMap<String, String>,
    /// `ExpressionAttributeValues`: placeholder to value.
    #[serde(serialize_with = "super::json::serialize_value_map")]
    pub values: BTreeMap<String, AttributeValue>,
}

impl Plan {
    /// Plans `conditions` on the table of `def` in an environment.
    ///
    /// The rules, in order:
    /// 1. the first `EQ` on the partition key becomes the partition key condition;
    /// 2. the range key condition is an `EQ` on `event_uuid` if there is one (it pins one
    ///    item), else the first condition on `event_uuid` or `created_at` whose operator is
    ///    [allowed on a range key](Operator::allowed_on_range_key); on `created_at` the
    ///    Query uses the [`CREATED_AT_INDEX`] LSI;
    /// 3. without an `EQ` on the partition key, the first `EQ` on the partition key of a
    ///    [global secondary index](crate::schema::GlobalIndexDef) makes a Query on that
    ///    index (of several on that attribute: the first whose sort key has a range
    ///    condition, else the first declared), with an `EQ`, else the first range condition,
    ///    on its sort key as the range key condition; such a plan refuses
    ///    `consistent_read` ([`QueryProblem::ConsistentReadOnGlobalIndex`]); without either,
    ///    the plan is a Scan if `options.allow_scan`, else [`Error::ScanRequired`];
    /// 4. every other condition goes to the FilterExpression, except those on a key
    ///    attribute of the queried table or index (DynamoDB rejects them in a filter),
    ///    which go to [`client_filter`](Plan::client_filter).
    ///
    /// A Scan puts every condition in the FilterExpression. On a table whose events expire,
    /// the FilterExpression also hides expired items ([`hide_expired`](Plan::hide_expired)).
    ///
    /// Requests DynamoDB would answer with a ValidationException are refused here, so that
    /// test mode and DynamoDB fail alike: the wrong number of values, a number DynamoDB
    /// cannot hold, `BETWEEN` bounds in the wrong order or of different types, an empty
    /// string or binary in a key condition, and a cursor outside the key condition (e.g.
    /// from another partition).
    pub fn build(
        def: &TableDef,
        environment_prefix: &str,
        conditions: &[Condition],
        options: &QueryOptions,
        select: Select,
    ) -> Result<Plan> {
        // The prefix rule (no `_`) keeps a plan inside its own environment.
        crate::name::check_prefix(environment_prefix).map_err(|err| {
            Error::InvalidEnvironmentPrefix {
                prefix: environment_prefix.to_owned(),
                source_name: "the query's plan",
                reason: err.reason(environment_prefix),
            }
        })?;
        let table = def.full_name(environment_prefix);
        let invalid = |problem| Error::InvalidQuery {
            table: table.clone(),
            problem,
        };
        conditions
            .iter()
            .try_for_each(check_condition)
            .map_err(invalid)?;
        if options.page_size == Some(0) {
            return Err(invalid(QueryProblem::ZeroPageSize));
        }
        let Some(keys) = Keys::choose(def, conditions, options.allow_scan) else {
            return Err(Error::ScanRequired {
                table,
                partition_key: def.partition_key.to_owned(),
            });
        };
        keys.key_condition
            .iter()
            .try_for_each(check_key_values)
            .map_err(invalid)?;
        if options.consistent_read && keys.index_kind == Some(IndexKind::Global) {
            return Err(invalid(QueryProblem::ConsistentReadOnGlobalIndex {
                index: keys.index.clone().unwrap_or_default(),
            }));
        }
        let (client_filter, filter) = keys.split_filters();
        let exclusive_start_key = match &options.after {
            Some(cursor) => Some(keys.start_key(cursor)?),
            None => None,
        };
        let hide_expired = if options.include_expired {
            None
        } else {
            ExpiryFilter::for_table(def, now_epoch_seconds())
        };
        let expressions = Expressions::render(
            &keys.key_condition,
            &filter,
            hide_expired.as_ref(),
            keys.operation,
        );
        Ok(Plan {
            table,
            operation: keys.operation,
            index: keys.index,
            index_kind: keys.index_kind,
            range_key: keys.range_key,
            key_condition: keys.key_condition,
            filter,
            hide_expired,
            client_filter,
            limit: options.limit,
            descending: options.descending,
            consistent_read: options.consistent_read,
            page_size: options.page_size,
            select,
            key_attributes: keys.key_attributes,
            exclusive_start_key,
            expressions,
        })
    }

    /// Whether an evaluated item passes the FilterExpression: every [`filter`](Plan::filter)
    /// condition and [`hide_expired`](Plan::hide_expired). (What an in-memory backend applies.)
    pub fn filter_keeps(&self, item: &Item) -> bool {
        super::condition::matches_all(&self.filter, item)
            && self.hide_expired.as_ref().is_none_or(|f| f.keeps(item))
    }

    /// Every condition a returned item satisfies: key conditions, filter and client filter.
    pub fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.key_condition
            .iter()
            .chain(&self.filter)
            .chain(&self.client_filter)
    }

    /// The attribute results are ordered by: the [`range_key`](Plan::range_key), else
    /// `event_uuid`.
    pub fn sort_key(&self) -> &str {
        self.range_key.as_deref().unwrap_or(EVENT_UUID)
    }

    /// The attributes that order the results, most significant first, as an in-memory
    /// backend orders them: a Query by its range key, then (on a global index, whose
    /// partitions mix the table's) the table's keys; a Scan by the table's keys. DynamoDB
    /// itself leaves the order of items with the same range key of a global index open.
    pub fn order_attributes(&self) -> Vec<&str> {
        let keys = self.key_attributes.iter().map(String::as_str);
        match (self.operation, self.index_kind) {
            // The index's sort key (if any), then the table's keys.
            (Operation::Query, Some(IndexKind::Global)) => keys.skip(1).collect(),
            (Operation::Query, _) => vec![self.sort_key(), EVENT_UUID],
            // The table's keys.
            (Operation::Scan, _) => keys.collect(),
        }
    }

    /// The cursor of an item returned by this plan: its key attributes.
    pub fn cursor_of(&self, item: &Item) -> Option<Cursor> {
        let key: Option<Item> = self
            .key_attributes
            .iter()
            .map(|name| item.get(name).map(|v| (name.clone(), v.clone())))
            .collect();
        key.map(|key| Cursor::encode(&key))
    }
}

/// The checks of one condition that do not depend on where it goes: the number of values,
/// every number within DynamoDB's limits, and `BETWEEN` bounds of one type, in order.
fn check_condition(condition: &Condition) -> std::result::Result<(), QueryProblem> {
    let attribute = || condition.attribute.clone();
    let operator = condition.operator;
    let (min, max) = operator.arity();
    let given = condition.values.len();
    if given < min || given > max {
        return Err(QueryProblem::WrongNumberOfValues {
            attribute: attribute(),
            operator,
            min,
            max,
            given,
        });
    }
    for value in &condition.values {
        check_numbers(value).map_err(|problem| QueryProblem::InvalidNumber {
            attribute: attribute(),
            operator,
            problem,
        })?;
    }
    match condition.values.as_slice() {
        [low, high] if operator == Operator::Between => match compare_scalars(low, high) {
            None => Err(QueryProblem::BetweenTypesDiffer {
                attribute: attribute(),
            }),
            Some(Ordering::Greater) => Err(QueryProblem::BetweenBoundsReversed {
                attribute: attribute(),
            }),
            Some(_) => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Every number in a value (sets, lists and maps included) must be one DynamoDB can hold.
fn check_numbers(value: &AttributeValue) -> std::result::Result<(), NumberError> {
    match value {
        AttributeValue::N(n) => Number::parse(n).map(drop),
        AttributeValue::Ns(set) => set.iter().try_for_each(|n| Number::parse(n).map(drop)),
        AttributeValue::L(list) => list.iter().try_for_each(check_numbers),
        AttributeValue::M(map) => map.values().try_for_each(check_numbers),
        _ => Ok(()),
    }
}

/// A key condition may not compare with an empty string or binary.
fn check_key_values(condition: &Condition) -> std::result::Result<(), QueryProblem> {
    if condition.values.iter().any(is_empty_value) {
        return Err(QueryProblem::EmptyKeyValue {
            attribute: condition.attribute.clone(),
            operator: condition.operator,
        });
    }
    Ok(())
}

impl Expressions {
    fn render(
        key_condition: &[Condition],
        filter: &[Condition],
        hide_expired: Option<&ExpiryFilter>,
        operation: Operation,
    ) -> Expressions {
        let mut out = Expressions::default();
        let mut name_of: BTreeMap<String, String> = BTreeMap::new();
        let key = key_condition
            .iter()
            .map(|c| out.render_condition(c, &mut name_of))
            .collect::<Vec<_>>();
        let mut filter = filter
            .iter()
            .map(|c| out.render_condition(c, &mut name_of))
            .collect::<Vec<_>>();
        if let Some(expiry) = hide_expired {
            let name = out.name_placeholder(&expiry.attribute, &mut name_of);
            let now = out.value_placeholder(AttributeValue::N(expiry.now.to_string()));
            filter.push(format!("(attribute_not_exists({name}) OR {name} > {now})"));
        }
        if operation == Operation::Query {
            out.key_condition_expression = Some(key.join(" AND "));
        }
        if !filter.is_empty() {
            out.filter_expression = Some(filter.join(" AND "));
        }
        out
    }

    /// The `#nK` placeholder of an attribute, the same for every mention.
    fn name_placeholder(
        &mut self,
        attribute: &str,
        name_of: &mut BTreeMap<String, String>,
    ) -> String {
        match name_of.get(attribute) {
            Some(placeholder) => placeholder.clone(),
            None => {
                let placeholder = format!("#n{}", name_of.len());
                name_of.insert(attribute.to_owned(), placeholder.clone());
                self.names.insert(placeholder.clone(), attribute.to_owned());
                placeholder
            }
        }
    }

    /// A new `:vK` placeholder for a value.
    fn value_placeholder(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn render_condition(
        &mut self,
        condition: &Condition,
        name_of: &mut BTreeMap<String, String>,
    ) -> String {
        let name = self.name_placeholder(&condition.attribute, name_of);
        let values: Vec<String> = condition
            .values
            .iter()
            .map(|value| self.value_placeholder(value.clone()))
            .collect();
        let first = values.first().map(String::as_str).unwrap_or("");
        match condition.operator {
            Operator::Eq => format!("{name} = {first}"),
            Operator::Ne => format!("{name} <> {first}"),
            Operator::Lt => format!("{name} < {first}"),
            Operator::Le => format!("{name} <= {first}"),
            Operator::Gt => format!("{name} > {first}"),
            Operator::Ge => format!("{name} >= {first}"),
            Operator::In => format!("{name} IN ({})", values.join(", ")),
            Operator::Between => {
                format!(
                    "{name} BETWEEN {first} AND {}",
                    values.get(1).map(String::as_str).unwrap_or("")
                )
            }
            Operator::BeginsWith => format!("begins_with({name}, {first})"),
            Operator::Contains => format!("contains({name}, {first})"),
            Operator::NotContains => format!("NOT contains({name}, {first})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{CursorProblem, KeyValueProblem};
    use crate::schema::{AttributeDef, AttributeType, KeyAttributeType};
    use crate::schema::{GlobalIndexDef, IndexKey, Ttl, CREATED_AT, CREATED_AT_INDEX, EXPIRES_AT};

    const DEF: TableDef = TableDef {
        name: "phone_call",
        event_type: "PhoneCall",
        partition_key: "person_id",
        partition_key_type: KeyAttributeType::Number,
        composite_key: &[],
        attributes: &[AttributeDef {
            name: "status",
            field: "status",
            attribute_type: AttributeType::String,
        }],
        linked: None,
        shard_by: None,
        ttl: None,
        indexes: &[],
        version: 1,
    };

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.to_owned())
    }
    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }
    fn c(attribute: &str, operator: Operator, values: &[AttributeValue]) -> Condition {
        Condition::new(attribute, operator, values.to_vec())
    }
    fn plan(conditions: &[Condition]) -> Result<Plan> {
        Plan::build(
            &DEF,
            "dev",
            conditions,
            &QueryOptions::default(),
            Select::Items,
        )
    }

    #[test]
    fn partition_eq_is_the_key_condition_and_the_rest_filters() {
        let p = plan(&[
            c("status", Operator::Ne, &[s("done")]),
            c("person_id", Operator::Eq, &[n("5")]),
        ])
        .unwrap();
        assert_eq!(p.table, "dev_phone_call");
        assert_eq!(p.operation, Operation::Query);
        assert_eq!(p.index, None);
        assert_eq!(p.key_condition, [c("person_id", Operator::Eq, &[n("5")])]);
        assert_eq!(p.filter, [c("status", Operator::Ne, &[s("done")])]);
        assert_eq!(
            p.expressions.key_condition_expression.as_deref(),
            Some("#n0 = :v0")
        );
        assert_eq!(
            p.expressions.filter_expression.as_deref(),
            Some("#n1 <> :v1")
        );
        assert_eq!(p.expressions.names["#n0"], "person_id");
        assert_eq!(
            p.expressions.names["#n1"], "status",
            "reserved words go through placeholders"
        );
        assert_eq!(p.expressions.values[":v0"], n("5"));
        assert_eq!(p.key_attributes, ["person_id", "event_uuid"]);
    }

    #[test]
    fn created_at_range_uses_the_lsi() {
        let p = plan(&[
            c("person_id", Operator::Eq, &[n("5")]),
            c("created_at", Operator::Gt, &[s("2015-01-04")]),
        ])
        .unwrap();
        assert_eq!(p.index.as_deref(), Some(CREATED_AT_INDEX));
        assert_eq!(
            p.expressions.key_condition_expression.as_deref(),
            Some("#n0 = :v0 AND #n1 > :v1")
        );
        assert_eq!(p.filter, []);
        assert_eq!(p.key_attributes, ["person_id", "event_uuid", "created_at"]);
    }

    #[test]
    fn event_uuid_eq_wins_the_range_key_and_key_attributes_never_filter() {
        let p = plan(&[
            c("person_id", Operator::Eq, &[n("5")]),
            c("created_at", Operator::Between, &[s("a"), s("b")]),
            c("event_uuid", Operator::Eq, &[s("u")]),
            c("event_uuid", Operator::BeginsWith, &[s("x")]),
            c("person_id", Operator::Ne, &[n("6")]),
        ])
        .unwrap();
        assert_eq!(p.index, None);
        assert_eq!(p.key_condition[1], c("event_uuid", Operator::Eq, &[s("u")]));
        // created_at is no key of the table: an ordinary filter.
        assert_eq!(
            p.filter,
            [c("created_at", Operator::Between, &[s("a"), s("b")])]
        );
        assert_eq!(
            p.expressions.filter_expression.as_deref(),
            Some("#n2 BETWEEN :v2 AND :v3")
        );
        // A second condition on a table key cannot be sent at all.
        assert_eq!(
            p.client_filter,
            [
                c("event_uuid", Operator::BeginsWith, &[s("x")]),
                c("person_id", Operator::Ne, &[n("6")])
            ]
        );
    }

    #[test]
    fn first_key_capable_condition_is_the_range_condition() {
        let p = plan(&[
            c("person_id", Operator::Eq, &[n("5")]),
            c("event_uuid", Operator::Ne, &[s("u")]),
            c("created_at", Operator::BeginsWith, &[s("2026-")]),
            c("event_uuid", Operator::Gt, &[s("m")]),
        ])
        .unwrap();
        assert_eq!(p.index.as_deref(), Some(CREATED_AT_INDEX));
        assert_eq!(
            p.expressions.key_condition_expression.as_deref(),
            Some("#n0 = :v0 AND begins_with(#n1, :v1)")
        );
        // On the LSI, event_uuid is an ordinary attribute: both conditions filter.
        assert_eq!(
            p.expressions.filter_expression.as_deref(),
            Some("#n2 <> :v2 AND #n2 > :v3")
        );
        assert_eq!(
            p.expressions.names.len(),
            3,
            "one placeholder per attribute"
        );
    }

    #[test]
    fn operators_render_with_placeholders() {
        let p = plan(&[
            c("person_id", Operator::Eq, &[n("1")]),
            c("status", Operator::In, &[s("a"), s("b"), s("c")]),
            c("status", Operator::Contains, &[s("x")]),
            c("status", Operator::NotContains, &[s("y")]),
            c("status", Operator::Le, &[s("z")]),
        ])
        .unwrap();
        assert_eq!(
            p.expressions.filter_expression.as_deref(),
            Some("#n1 IN (:v1, :v2, :v3) AND contains(#n1, :v4) AND NOT contains(#n1, :v5) AND #n1 <= :v6")
        );
    }

    #[test]
    fn no_partition_eq_is_refused_unless_scan_is_allowed() {
        let conditions = [
            c("status", Operator::Eq, &[s("done")]),
            c("person_id", Operator::Gt, &[n("3")]),
        ];
        let err = plan(&conditions).unwrap_err();
        assert!(matches!(err, Error::ScanRequired { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("allow_scan") && message.contains("person_id"),
            "{message}"
        );

        let options = QueryOptions {
            allow_scan: true,
            ..Default::default()
        };
        let p = Plan::build(&DEF, "dev", &conditions, &options, Select::Count).unwrap();
        assert_eq!(p.operation, Operation::Scan);
        assert_eq!(p.key_condition, []);
        assert_eq!(p.filter.len(), 2, "a Scan filters on key attributes too");
        assert_eq!(p.expressions.key_condition_expression, None);
        assert_eq!(
            p.expressions.filter_expression.as_deref(),
            Some("#n0 = :v0 AND #n1 > :v1")
        );
        assert_eq!(p.select, Select::Count);
    }

    #[test]
    fn bad_arity_and_page_size_are_errors() {
        let err = plan(&[
            c("person_id", Operator::Eq, &[n("1")]),
            c("status", Operator::In, &[]),
        ])
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidQuery {
                    problem: QueryProblem::WrongNumberOfValues {
                        given: 0,
                        min: 1,
                        max: 100,
                        ..
                    },
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "invalid query on `dev_phone_call`: IN on `status` takes 1 to 100 value(s), got 0"
        );
        let options = QueryOptions {
            page_size: Some(0),
            ..Default::default()
        };
        let err = Plan::build(
            &DEF,
            "dev",
            &[c("person_id", Operator::Eq, &[n("1")])],
            &options,
            Select::Items,
        );
        assert!(matches!(
            err,
            Err(Error::InvalidQuery {
                problem: QueryProblem::ZeroPageSize,
                ..
            })
        ));
    }

    #[test]
    fn requests_dynamodb_refuses_are_refused_when_planned() {
        use QueryProblem as P;
        let pk = || c("person_id", Operator::Eq, &[n("5")]);
        let reversed = |attribute: &str| P::BetweenBoundsReversed {
            attribute: attribute.into(),
        };
        let empty = |attribute: &str, operator| P::EmptyKeyValue {
            attribute: attribute.into(),
            operator,
        };
        let huge = "1e9223372036854775807";
        let cases = [
            // BETWEEN high, low: in a key condition, a filter or a client-side filter.
            (
                c("event_uuid", Operator::Between, &[s("z"), s("a")]),
                reversed("event_uuid"),
            ),
            (
                c("status", Operator::Between, &[s("z"), s("a")]),
                reversed("status"),
            ),
            (
                c("count", Operator::Between, &[n("10"), n("9.5")]),
                reversed("count"),
            ),
            (
                c("person_id", Operator::Between, &[n("9"), n("1")]),
                reversed("person_id"),
            ),
            (
                c("status", Operator::Between, &[n("1"), s("2")]),
                P::BetweenTypesDiffer {
                    attribute: "status".into(),
                },
            ),
            // An empty value in a key condition.
            (
                c("event_uuid", Operator::BeginsWith, &[s("")]),
                empty("event_uuid", Operator::BeginsWith),
            ),
            (
                c("created_at", Operator::Gt, &[s("")]),
                empty("created_at", Operator::Gt),
            ),
            // Numbers DynamoDB cannot hold.
            (
                c("count", Operator::Gt, &[n(huge)]),
                P::InvalidNumber {
                    attribute: "count".into(),
                    operator: Operator::Gt,
                    problem: Number::parse(huge).unwrap_err(),
                },
            ),
            (
                c("count", Operator::In, &[n("1"), n("NaN")]),
                P::InvalidNumber {
                    attribute: "count".into(),
                    operator: Operator::In,
                    problem: Number::parse("NaN").unwrap_err(),
                },
            ),
        ];
        for (condition, expected) in cases {
            match plan(&[pk(), condition.clone()]) {
                Err(Error::InvalidQuery { problem, .. }) => {
                    assert_eq!(problem, expected, "{condition:?}")
                }
                other => panic!("{condition:?}: {other:?}"),
            }
        }
        // Equal bounds, and an empty string in a filter, are fine.
        plan(&[pk(), c("status", Operator::Between, &[s("a"), s("a")])]).unwrap();
        plan(&[pk(), c("status", Operator::Eq, &[s("")])]).unwrap();
        plan(&[pk(), c("count", Operator::Between, &[n("9.5"), n("10")])]).unwrap();
    }

    #[test]
    fn cursors_must_lie_inside_the_key_condition() {
        use CursorProblem as P;
        let with_cursor = |conditions: &[Condition], cursor: &str| {
            let options = QueryOptions {
                after: Some(Cursor::from(cursor)),
                allow_scan: true,
                ..Default::default()
            };
            Plan::build(&DEF, "dev", conditions, &options, Select::Items)
        };
        let pk = c("person_id", Operator::Eq, &[n("5")]);
        let range = c("event_uuid", Operator::Gt, &[s("m")]);
        let ok = with_cursor(
            &[pk.clone(), range.clone()],
            r#"{"person_id":{"N":"5.0"},"event_uuid":{"S":"x"}}"#,
        )
        .unwrap();
        assert_eq!(ok.exclusive_start_key.unwrap()["event_uuid"], s("x"));
        let outside = |attribute: &str, operator| P::OutsideKeyCondition {
            attribute: attribute.into(),
            operator,
        };
        let huge = "1e9223372036854775807";
        for (cursor, expected) in [
            (
                r#"{"person_id":{"N":"6"},"event_uuid":{"S":"x"}}"#.to_owned(),
                outside("person_id", Operator::Eq),
            ),
            (
                r#"{"person_id":{"N":"5"},"event_uuid":{"S":"a"}}"#.to_owned(),
                outside("event_uuid", Operator::Gt),
            ),
            (
                r#"{"person_id":{"N":"5"},"event_uuid":{"S":""}}"#.to_owned(),
                P::EmptyKeyValue {
                    attribute: "event_uuid".into(),
                },
            ),
            (
                format!(r#"{{"person_id":{{"N":"{huge}"}},"event_uuid":{{"S":"x"}}}}"#),
                P::BadKeyValue {
                    attribute: "person_id".into(),
                    problem: KeyValueProblem::InvalidNumber(Number::parse(huge).unwrap_err()),
                },
            ),
        ] {
            match with_cursor(&[pk.clone(), range.clone()], &cursor) {
                Err(Error::InvalidCursor { problem }) => assert_eq!(problem, expected, "{cursor}"),
                other => panic!("{cursor}: {other:?}"),
            }
        }
        // A Scan has no key condition: any well-formed key resumes it.
        with_cursor(&[], r#"{"person_id":{"N":"6"},"event_uuid":{"S":"x"}}"#).unwrap();
    }

    const PHONE: IndexKey = IndexKey {
        attribute: "phone",
        attribute_type: KeyAttributeType::String,
    };
    const INDEXED: TableDef = TableDef {
        indexes: &[
            GlobalIndexDef {
                name: "by_phone_status",
                partition_key: PHONE,
                sort_key: Some(IndexKey {
                    attribute: "status",
                    attribute_type: KeyAttributeType::String,
                }),
            },
            GlobalIndexDef {
                name: "by_phone",
                partition_key: PHONE,
                sort_key: Some(IndexKey {
                    attribute: CREATED_AT,
                    attribute_type: KeyAttributeType::String,
                }),
            },
        ],
        ..DEF
    };

    fn indexed(conditions: &[Condition], options: QueryOptions) -> Result<Plan> {
        Plan::build(&INDEXED, "dev", conditions, &options, Select::Items)
    }

    #[test]
    fn an_eq_on_an_index_partition_key_queries_the_index() {
        let p = indexed(
            &[
                c("person_id", Operator::In, &[n("1"), n("2")]),
                c("created_at", Operator::Gt, &[s("2026")]),
                c("phone", Operator::Eq, &[s("555")]),
                c("created_at", Operator::Lt, &[s("2027")]),
            ],
            QueryOptions::default(),
        )
        .unwrap();
        assert_eq!(p.operation, Operation::Query);
        assert_eq!(
            p.index.as_deref(),
            Some("by_phone"),
            "its sort key has a condition"
        );
        assert_eq!(p.index_kind, Some(IndexKind::Global));
        assert_eq!(p.range_key.as_deref(), Some(CREATED_AT));
        assert_eq!(
            p.key_condition,
            [
                c("phone", Operator::Eq, &[s("555")]),
                c("created_at", Operator::Gt, &[s("2026")]),
            ]
        );
        // The table's keys may filter a GSI query; the index's own may not.
        assert_eq!(p.filter, [c("person_id", Operator::In, &[n("1"), n("2")])]);
        assert_eq!(
            p.client_filter,
            [c("created_at", Operator::Lt, &[s("2027")])]
        );
        assert_eq!(
            p.key_attributes,
            ["phone", "created_at", "person_id", "event_uuid"],
            "a GSI's LastEvaluatedKey: index keys and table keys"
        );
        assert_eq!(
            p.order_attributes(),
            ["created_at", "person_id", "event_uuid"]
        );
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["index"], "by_phone");
        assert_eq!(json["index_kind"], "global");
    }

    #[test]
    fn of_several_indexes_the_first_declared_unless_another_has_a_range_condition() {
        let p = indexed(
            &[c("phone", Operator::Eq, &[s("555")])],
            QueryOptions::default(),
        )
        .unwrap();
        assert_eq!(p.index.as_deref(), Some("by_phone_status"));
        assert_eq!(p.key_condition.len(), 1);
        let p = indexed(
            &[
                c("phone", Operator::Eq, &[s("555")]),
                c("status", Operator::BeginsWith, &[s("do")]),
                c("status", Operator::Eq, &[s("done")]),
            ],
            QueryOptions::default(),
        )
        .unwrap();
        assert_eq!(p.index.as_deref(), Some("by_phone_status"));
        assert_eq!(
            p.key_condition[1],
            c("status", Operator::Eq, &[s("done")]),
            "an EQ on the sort key wins"
        );
    }

    #[test]
    fn the_table_partition_key_wins_over_an_index() {
        let p = indexed(
            &[
                c("phone", Operator::Eq, &[s("555")]),
                c("person_id", Operator::Eq, &[n("5")]),
            ],
            QueryOptions::default(),
        )
        .unwrap();
        assert_eq!(p.index, None);
        assert_eq!(p.index_kind, None);
        assert_eq!(p.filter, [c("phone", Operator::Eq, &[s("555")])]);
        let p = indexed(
            &[
                c("person_id", Operator::Eq, &[n("5")]),
                c("created_at", Operator::Gt, &[s("2026")]),
            ],
            QueryOptions::default(),
        )
        .unwrap();
        assert_eq!(p.index_kind, Some(IndexKind::Local));
        // No EQ on any partition key: still a Scan, never an index.
        let p = indexed(
            &[c("phone", Operator::BeginsWith, &[s("555")])],
            QueryOptions {
                allow_scan: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((p.operation, p.index), (Operation::Scan, None));
    }

    #[test]
    fn consistent_reads_and_foreign_cursors_are_refused_on_an_index() {
        let phone = [c("phone", Operator::Eq, &[s("555")])];
        let err = indexed(
            &phone,
            QueryOptions {
                consistent_read: true,
                ..Default::default()
            },
        )
        .unwrap_err();
        match &err {
            Error::InvalidQuery {
                problem: QueryProblem::ConsistentReadOnGlobalIndex { index },
                ..
            } => assert_eq!(index, "by_phone_status"),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("eventually consistent"), "{err}");
        let after = |cursor: &str| QueryOptions {
            after: Some(Cursor::from(cursor)),
            ..Default::default()
        };
        let ok = r#"{"phone":{"S":"555"},"status":{"S":"a"},"person_id":{"N":"1"},"event_uuid":{"S":"x"}}"#;
        assert!(indexed(&phone, after(ok))
            .unwrap()
            .exclusive_start_key
            .is_some());
        let table_cursor = r#"{"person_id":{"N":"1"},"event_uuid":{"S":"x"}}"#;
        assert!(matches!(
            indexed(&phone, after(table_cursor)),
            Err(Error::InvalidCursor {
                problem: CursorProblem::WrongAttributes { .. }
            })
        ));
        let other_phone = ok.replace("555", "556");
        assert!(matches!(
            indexed(&phone, after(&other_phone)),
            Err(Error::InvalidCursor {
                problem: CursorProblem::OutsideKeyCondition { .. }
            })
        ));
    }

    #[test]
    fn expired_items_are_filtered_on_tables_whose_events_expire() {
        let def = TableDef {
            ttl: Some(Ttl::AfterCreation { seconds: 60 }),
            ..DEF
        };
        let pk = [
            c("person_id", Operator::Eq, &[n("5")]),
            c("status", Operator::Eq, &[s("done")]),
        ];
        let p = Plan::build(&def, "dev", &pk, &QueryOptions::default(), Select::Count).unwrap();
        let expiry = p.hide_expired.clone().unwrap();
        assert_eq!(expiry.attribute, EXPIRES_AT);
        assert_eq!(
            p.expressions.filter_expression.as_deref(),
            Some("#n1 = :v1 AND (attribute_not_exists(#n2) OR #n2 > :v2)")
        );
        assert_eq!(p.expressions.names["#n2"], EXPIRES_AT);
        assert_eq!(p.expressions.values[":v2"], n(&expiry.now.to_string()));
        let options = QueryOptions {
            include_expired: true,
            ..Default::default()
        };
        let all = Plan::build(&def, "dev", &pk, &options, Select::Items).unwrap();
        assert_eq!(all.hide_expired, None);
        assert_eq!(
            all.expressions.filter_expression.as_deref(),
            Some("#n1 = :v1")
        );
        assert_eq!(plan(&pk).unwrap().hide_expired, None, "no TTL, no filter");
    }

    #[test]
    fn plan_serializes_for_explain() {
        let p = plan(&[
            c("person_id", Operator::Eq, &[n("5")]),
            c("status", Operator::BeginsWith, &[s("do")]),
        ])
        .unwrap();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["operation"], "Query");
        assert_eq!(json["key_condition"][0]["operator"], "EQ");
        assert_eq!(json["key_condition"][0]["values"][0]["N"], "5");
        assert_eq!(json["filter"][0]["operator"], "BEGINS_WITH");
        assert_eq!(json["expressions"]["values"][":v1"]["S"], "do");
        assert_eq!(json["expressions"]["names"]["#n1"], "status");
    }
}
