//! Planning: conditions and options into a [`Plan`], the exact request to send.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use super::condition::{compare_scalars, Condition, Operator};
use super::cursor::Cursor;
use crate::codec::Item;
use crate::error::{CursorProblem, Error, QueryProblem, Result};
use crate::number::{Number, NumberError};
use crate::schema::{TableDef, CREATED_AT, CREATED_AT_INDEX, EVENT_UUID};

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
}

/// The request a query sends, as plain data: what `explain()` returns, what the DynamoDB
/// executor sends and what an in-memory backend evaluates.
///
/// Serializes to JSON (values in DynamoDB JSON, e.g. `{"N": "5"}`) for `--explain`.
///
/// Another backend evaluates a plan like DynamoDB does: take the items of `table` for which
/// every condition of [`conditions`](Plan::conditions) [matches](Condition::matches), order
/// them by [`sort_key`](Plan::sort_key) (reversed if `descending`; a Scan has no order),
/// start after `exclusive_start_key` and stop after `limit` items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The full table name, `<prefix>_<table>`.
    pub table: String,
    /// `Query` or `Scan`.
    pub operation: Operation,
    /// `Some("created_at_index")` when the range condition is on `created_at`.
    pub index: Option<String>,
    /// The key conditions: the partition key EQ, then at most one range key condition.
    /// Empty for a Scan.
    pub key_condition: Vec<Condition>,
    /// Conditions sent as the FilterExpression, all of which must match (AND).
    pub filter: Vec<Condition>,
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
    ///    without one, the plan is a Scan if `options.allow_scan`, else
    ///    [`Error::ScanRequired`];
    /// 2. the range key condition is an `EQ` on `event_uuid` if there is one (it pins one
    ///    item), else the first condition on `event_uuid` or `created_at` whose operator is
    ///    [allowed on a range key](Operator::allowed_on_range_key); on `created_at` the
    ///    Query uses the [`CREATED_AT_INDEX`] LSI;
    /// 3. every other condition goes to the FilterExpression, except those on a key
    ///    attribute of the queried table or index (DynamoDB rejects them in a filter),
    ///    which go to [`client_filter`](Plan::client_filter).
    ///
    /// A Scan puts every condition in the FilterExpression.
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
        let (client_filter, filter) = keys.split_filters(def);
        let exclusive_start_key = match &options.after {
            Some(cursor) => Some(keys.start_key(cursor)?),
            None => None,
        };
        let expressions = Expressions::render(&keys.key_condition, &filter, keys.operation);
        Ok(Plan {
            table,
            operation: keys.operation,
            index: keys.index,
            key_condition: keys.key_condition,
            filter,
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

    /// Every condition a returned item satisfies: key conditions, filter and client filter.
    pub fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.key_condition
            .iter()
            .chain(&self.filter)
            .chain(&self.client_filter)
    }

    /// The attribute results are ordered by: `created_at` on the index, else `event_uuid`.
    pub fn sort_key(&self) -> &'static str {
        if self.index.is_some() {
            CREATED_AT
        } else {
            EVENT_UUID
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

/// The key part of a plan: which conditions are key conditions, and what is left.
struct Keys<'a> {
    operation: Operation,
    index: Option<String>,
    key_condition: Vec<Condition>,
    /// The other conditions, in the order given.
    remaining: Vec<&'a Condition>,
    key_attributes: Vec<String>,
}

impl<'a> Keys<'a> {
    /// Rules 1 and 2 of [`Plan::build`]; `None` when a Scan is needed but not allowed.
    fn choose(def: &TableDef, conditions: &'a [Condition], allow_scan: bool) -> Option<Keys<'a>> {
        let mut keys = Keys {
            operation: Operation::Query,
            index: None,
            key_condition: Vec::new(),
            remaining: conditions.iter().collect(),
            key_attributes: vec![def.partition_key.to_owned(), EVENT_UUID.to_owned()],
        };
        let is_partition =
            |c: &&Condition| c.attribute == def.partition_key && c.operator == Operator::Eq;
        let Some(at) = keys.remaining.iter().position(is_partition) else {
            keys.operation = Operation::Scan;
            return allow_scan.then_some(keys);
        };
        keys.key_condition.push(keys.remaining.remove(at).clone());
        let range = keys
            .remaining
            .iter()
            .position(|c| c.attribute == EVENT_UUID && c.operator == Operator::Eq)
            .or_else(|| {
                keys.remaining.iter().position(|c| {
                    (c.attribute == EVENT_UUID || c.attribute == CREATED_AT)
                        && c.operator.allowed_on_range_key()
                })
            });
        if let Some(at) = range {
            let condition = keys.remaining.remove(at).clone();
            if condition.attribute == CREATED_AT {
                keys.index = Some(CREATED_AT_INDEX.to_owned());
                keys.key_attributes.push(CREATED_AT.to_owned());
            }
            keys.key_condition.push(condition);
        }
        Some(keys)
    }

    /// Rule 3: `(client_filter, filter)`. DynamoDB refuses a key attribute of the queried
    /// table or index in a FilterExpression.
    fn split_filters(&self, def: &TableDef) -> (Vec<Condition>, Vec<Condition>) {
        let index_keys: &[&str] = match (self.operation, &self.index) {
            (Operation::Scan, _) => &[],
            (Operation::Query, None) => &[def.partition_key, EVENT_UUID],
            (Operation::Query, Some(_)) => &[def.partition_key, CREATED_AT],
        };
        self.remaining
            .iter()
            .map(|c| (*c).clone())
            .partition(|c| index_keys.contains(&c.attribute.as_str()))
    }

    /// The key a cursor stands for, checked to lie inside the key condition: DynamoDB
    /// refuses an `ExclusiveStartKey` from another partition or outside the range condition.
    fn start_key(&self, cursor: &Cursor) -> Result<Item> {
        let key = cursor.decode(&self.key_attributes)?;
        let invalid = |problem| Error::InvalidCursor { problem };
        if let Some((name, _)) = key.iter().find(|(_, v)| is_empty_value(v)) {
            return Err(invalid(CursorProblem::EmptyKeyValue {
                attribute: name.clone(),
            }));
        }
        if let Some(outside) = self.key_condition.iter().find(|c| !c.matches(&key)) {
            return Err(invalid(CursorProblem::OutsideKeyCondition {
                attribute: outside.attribute.clone(),
                operator: outside.operator,
            }));
        }
        Ok(key)
    }
}

/// An empty string or binary: never a key value in DynamoDB.
fn is_empty_value(value: &AttributeValue) -> bool {
    match value {
        AttributeValue::S(s) => s.is_empty(),
        AttributeValue::B(b) => b.as_ref().is_empty(),
        _ => false,
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
        operation: Operation,
    ) -> Expressions {
        let mut out = Expressions::default();
        let mut name_of: BTreeMap<String, String> = BTreeMap::new();
        let key = key_condition
            .iter()
            .map(|c| out.render_condition(c, &mut name_of))
            .collect::<Vec<_>>();
        let filter = filter
            .iter()
            .map(|c| out.render_condition(c, &mut name_of))
            .collect::<Vec<_>>();
        if operation == Operation::Query {
            out.key_condition_expression = Some(key.join(" AND "));
        }
        if !filter.is_empty() {
            out.filter_expression = Some(filter.join(" AND "));
        }
        out
    }

    fn render_condition(
        &mut self,
        condition: &Condition,
        name_of: &mut BTreeMap<String, String>,
    ) -> String {
        let name = match name_of.get(&condition.attribute) {
            Some(placeholder) => placeholder.clone(),
            None => {
                let placeholder = format!("#n{}", name_of.len());
                name_of.insert(condition.attribute.clone(), placeholder.clone());
                self.names
                    .insert(placeholder.clone(), condition.attribute.clone());
                placeholder
            }
        };
        let values: Vec<String> = condition
            .values
            .iter()
            .map(|value| {
                let placeholder = format!(":v{}", self.values.len());
                self.values.insert(placeholder.clone(), value.clone());
                placeholder
            })
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
    use crate::error::KeyValueProblem;
    use crate::schema::{AttributeDef, AttributeType, KeyAttributeType};

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
