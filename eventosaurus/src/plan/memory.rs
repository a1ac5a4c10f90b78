//! Evaluating a [`Plan`] on items in memory, as DynamoDB would: the backend of test mode
//! ([`Store::test`](crate::Store::test)).
//!
//! A Query keeps the items of its partition that satisfy the range key condition, ordered by
//! the range key of the table or index (then `event_uuid`; on a global secondary index, then
//! the table's keys), reversed by `descending`; a Scan orders by (partition key,
//! `event_uuid`). An item without every key attribute of the index is not in the index. A request starts after `ExclusiveStartKey`,
//! *evaluates* at most `page_size` items, returns those matching the filter, and reports the
//! last evaluated key if items remain. There is no 1 MB page limit in memory.

use std::cmp::Ordering;

use aws_sdk_dynamodb::types::AttributeValue;

use super::condition::{compare_scalars, matches_all};
use super::request::{Operation, Plan};
use crate::codec::Item;

/// One simulated response.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryResponse {
    /// The evaluated items that matched the filter (the client filter is not applied).
    pub items: Vec<Item>,
    /// How many items were evaluated.
    pub scanned: u64,
    /// The key of the last evaluated item, if more items remain.
    pub last_evaluated_key: Option<Item>,
}

/// Orders two attribute values: numbers numerically, strings and binaries by bytes; a
/// missing value first. Values of different types order by type (`N` < `S` < `B`).
fn compare_values(a: Option<&AttributeValue>, b: Option<&AttributeValue>) -> Ordering {
    use AttributeValue as V;
    let rank = |v: Option<&AttributeValue>| match v {
        None => 0,
        Some(V::N(_)) => 1,
        Some(V::S(_)) => 2,
        Some(V::B(_)) => 3,
        Some(_) => 4,
    };
    a.zip(b)
        .and_then(|(a, b)| compare_scalars(a, b))
        .unwrap_or_else(|| rank(a).cmp(&rank(b)))
}

fn compare_by(attributes: &[&str], a: &Item, b: &Item) -> Ordering {
    attributes
        .iter()
        .map(|name| compare_values(a.get(*name), b.get(*name)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// One request of `plan` on `table_items` (every item of the table), starting after `start`.
pub fn evaluate_request(
    plan: &Plan,
    table_items: Vec<Item>,
    start: Option<&Item>,
) -> MemoryResponse {
    let attributes = plan.order_attributes();
    let descending = plan.operation == Operation::Query && plan.descending;
    let mut candidates: Vec<Item> = table_items
        .into_iter()
        // An item without a key of the index is not in it.
        .filter(|item| plan.key_attributes.iter().all(|key| item.contains_key(key)))
        .filter(|item| matches_all(&plan.key_condition, item))
        .filter(|item| match start {
            None => true,
            Some(start) => {
                let order = compare_by(&attributes, item, start);
                if descending {
                    order.is_lt()
                } else {
                    order.is_gt()
                }
            }
        })
        .collect();
    candidates.sort_by(|a, b| {
        let order = compare_by(&attributes, a, b);
        if descending {
            order.reverse()
        } else {
            order
        }
    });
    let page_size = plan.page_size.map_or(usize::MAX, |n| n as usize);
    let more = candidates.len() > page_size;
    candidates.truncate(page_size);
    let last_evaluated_key = if more {
        candidates.last().map(|item| {
            plan.key_attributes
                .iter()
                .filter_map(|name| item.get(name).map(|v| (name.clone(), v.clone())))
                .collect()
        })
    } else {
        None
    };
    let scanned = candidates.len() as u64;
    let items = candidates
        .into_iter()
        .filter(|item| plan.filter_keeps(item))
        .collect();
    MemoryResponse {
        items,
        scanned,
        last_evaluated_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Condition, Operator, QueryOptions, Select};
    use crate::schema::{KeyAttributeType, TableDef, CREATED_AT, EVENT_UUID};

    const DEF: TableDef = TableDef {
        name: "t",
        event_type: "T",
        partition_key: "pk",
        partition_key_type: KeyAttributeType::Number,
        composite_key: &[],
        attributes: &[],
        linked: None,
        shard_by: None,
        ttl: None,
        indexes: &[],
        version: 1,
    };

    fn item(pk: &str, uuid: &str, created_at: &str, n: &str) -> Item {
        [
            ("pk", AttributeValue::N(pk.into())),
            (EVENT_UUID, AttributeValue::S(uuid.into())),
            (CREATED_AT, AttributeValue::S(created_at.into())),
            ("n", AttributeValue::N(n.into())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    fn table() -> Vec<Item> {
        vec![
            item("1", "c", "2026-01", "3"),
            item("1", "a", "2026-03", "10"),
            item("2", "b", "2026-02", "5"),
            item("1", "b", "2026-02", "7"),
        ]
    }

    fn uuids(items: &[Item]) -> Vec<&str> {
        items
            .iter()
            .map(|i| i[EVENT_UUID].as_s().unwrap().as_str())
            .collect()
    }

    fn plan(conditions: &[Condition], options: QueryOptions) -> Plan {
        Plan::build(&DEF, "dev", conditions, &options, Select::Items).unwrap()
    }

    fn pk(v: &str) -> Condition {
        Condition::new("pk", Operator::Eq, vec![AttributeValue::N(v.into())])
    }

    #[test]
    fn a_query_reads_one_partition_in_range_key_order() {
        let p = plan(&[pk("1")], QueryOptions::default());
        let response = evaluate_request(&p, table(), None);
        assert_eq!(uuids(&response.items), ["a", "b", "c"]);
        assert_eq!(response.last_evaluated_key, None);

        let by_time = Condition::new(
            CREATED_AT,
            Operator::Ge,
            vec![AttributeValue::S("2026-02".into())],
        );
        let options = QueryOptions {
            descending: true,
            ..Default::default()
        };
        let response = evaluate_request(&plan(&[pk("1"), by_time], options), table(), None);
        assert_eq!(
            uuids(&response.items),
            ["a", "b"],
            "index order, newest first"
        );
    }

    #[test]
    fn page_size_counts_evaluated_items_and_the_key_resumes() {
        let filter = Condition::new("n", Operator::Gt, vec![AttributeValue::N("5".into())]);
        let p = plan(
            &[pk("1"), filter],
            QueryOptions {
                page_size: Some(2),
                ..Default::default()
            },
        );
        let first = evaluate_request(&p, table(), None);
        assert_eq!(first.scanned, 2);
        assert_eq!(uuids(&first.items), ["a", "b"]);
        let key = first.last_evaluated_key.expect("more to read");
        assert_eq!(key.len(), 2, "partition key and event_uuid");
        let second = evaluate_request(&p, table(), Some(&key));
        assert_eq!(
            (second.scanned, second.items.len()),
            (1, 0),
            "c is evaluated, filtered out"
        );
        assert_eq!(second.last_evaluated_key, None);
    }

    #[test]
    fn a_scan_reads_every_partition() {
        let options = QueryOptions {
            allow_scan: true,
            ..Default::default()
        };
        let gt = Condition::new("n", Operator::Ge, vec![AttributeValue::N("5".into())]);
        let response = evaluate_request(&plan(&[gt], options), table(), None);
        assert_eq!(uuids(&response.items), ["a", "b", "b"]);
        assert_eq!(response.scanned, 4);
    }
}
