//! Planning: conditions and options into a [`Plan`], the exact request to send.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use super::condition::{Condition, Operator};
use super::cursor::Cursor;
use crate::codec::Item;
use crate::error::{Error, Result};
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
    /// The DynamoDB operation name: `Query` or `Scan`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Query => "Query",
            Operation::Scan => "Scan",
        }
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
    pub fn build(
        def: &TableDef,
        environment_prefix: &str,
        conditions: &[Condition],
        options: &QueryOptions,
        select: Select,
    ) -> Result<Plan> {
        let table = def.full_name(environment_prefix);
        let invalid = |reason: String| Error::InvalidQuery {
            table: table.clone(),
            reason,
        };
        for condition in conditions {
            let (min, max) = condition.operator.arity();
            let n = condition.values.len();
            if n < min || n > max {
                let expected = if min == max {
                    format!("{min}")
                } else {
                    format!("{min} to {max}")
                };
                return Err(invalid(format!(
                    "{} on `{}` takes {expected} value(s), got {n}",
                    condition.operator, condition.attribute
                )));
            }
        }
        if options.page_size == Some(0) {
            return Err(invalid("page_size must be at least 1".to_owned()));
        }

        let partition = conditions
            .iter()
            .position(|c| c.attribute == def.partition_key && c.operator == Operator::Eq);
        let mut remaining: Vec<(usize, &Condition)> = conditions.iter().enumerate().collect();
        let mut key_condition = Vec::new();
        let (operation, index, key_attributes) = match partition {
            None if !options.allow_scan => {
                return Err(Error::ScanRequired {
                    table,
                    reason: format!(
                        "there is no EQ condition on the partition key `{}`",
                        def.partition_key
                    ),
                })
            }
            None => (
                Operation::Scan,
                None,
                vec![def.partition_key.to_owned(), EVENT_UUID.to_owned()],
            ),
            Some(at) => {
                key_condition.push(conditions[at].clone());
                remaining.retain(|(i, _)| *i != at);
                let range = remaining
                    .iter()
                    .find(|(_, c)| c.attribute == EVENT_UUID && c.operator == Operator::Eq)
                    .or_else(|| {
                        remaining.iter().find(|(_, c)| {
                            (c.attribute == EVENT_UUID || c.attribute == CREATED_AT)
                                && c.operator.allowed_on_range_key()
                        })
                    })
                    .map(|(i, c)| (*i, *c));
                let mut index = None;
                let mut key_attributes = vec![def.partition_key.to_owned(), EVENT_UUID.to_owned()];
                if let Some((at, condition)) = range {
                    key_condition.push(condition.clone());
                    remaining.retain(|(i, _)| *i != at);
                    if condition.attribute == CREATED_AT {
                        index = Some(CREATED_AT_INDEX.to_owned());
                        key_attributes.push(CREATED_AT.to_owned());
                    }
                }
                (Operation::Query, index, key_attributes)
            }
        };

        // Attributes that DynamoDB refuses in this request's FilterExpression.
        let index_keys: &[&str] = match (operation, &index) {
            (Operation::Scan, _) => &[],
            (Operation::Query, None) => &[def.partition_key, EVENT_UUID],
            (Operation::Query, Some(_)) => &[def.partition_key, CREATED_AT],
        };
        let (client_filter, filter): (Vec<Condition>, Vec<Condition>) = remaining
            .into_iter()
            .map(|(_, c)| c.clone())
            .partition(|c| index_keys.contains(&c.attribute.as_str()));

        let exclusive_start_key = match &options.after {
            Some(cursor) => Some(cursor.decode(&key_attributes)?),
            None => None,
        };
        let expressions = Expressions::render(&key_condition, &filter, operation);
        Ok(Plan {
            table,
            operation,
            index,
            key_condition,
            filter,
            client_filter,
            limit: options.limit,
            descending: options.descending,
            consistent_read: options.consistent_read,
            page_size: options.page_size,
            select,
            key_attributes,
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
        assert!(matches!(err, Error::InvalidQuery { .. }), "{err:?}");
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
        assert!(matches!(err, Err(Error::InvalidQuery { .. })));
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
