//! Conditions on one attribute, and their evaluation against an item with DynamoDB's rules.

use std::cmp::Ordering;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use crate::codec::Item;
use crate::number::compare as compare_numbers;
pub use crate::operator::Operator;

/// One condition: `attribute OPERATOR values`. Untyped: the typed builder makes these.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// The stored attribute name, e.g. `person_id` (never a placeholder).
    pub attribute: String,
    /// The comparison.
    pub operator: Operator,
    /// The operands: one, two for `BETWEEN`, one to a hundred for `IN`.
    #[serde(serialize_with = "super::json::serialize_values")]
    pub values: Vec<AttributeValue>,
}

impl Condition {
    /// A condition from its parts.
    pub fn new(
        attribute: impl Into<String>,
        operator: Operator,
        values: Vec<AttributeValue>,
    ) -> Condition {
        Condition {
            attribute: attribute.into(),
            operator,
            values,
        }
    }

    /// Whether `item` satisfies the condition, as DynamoDB would decide it in a
    /// FilterExpression:
    ///
    /// * numbers (`N`) compare numerically, strings (`S`) and binaries (`B`) by their bytes;
    /// * comparisons between different types, or with a missing attribute, are false,
    ///   except `NE` and `NOT_CONTAINS`, which are then true;
    /// * `CONTAINS` is a substring test on `S`, membership on `SS`/`NS`/`BS` and `L`;
    /// * `BEGINS_WITH` is a prefix test on `S` and `B`.
    ///
    /// A condition with the wrong number of values matches nothing.
    pub fn matches(&self, item: &Item) -> bool {
        let (min, max) = self.operator.arity();
        if self.values.len() < min || self.values.len() > max {
            return false;
        }
        let attribute = item.get(&self.attribute);
        let first = &self.values[0];
        match self.operator {
            Operator::Eq => attribute.is_some_and(|a| values_equal(a, first)),
            Operator::Ne => !attribute.is_some_and(|a| values_equal(a, first)),
            Operator::In => {
                attribute.is_some_and(|a| self.values.iter().any(|v| values_equal(a, v)))
            }
            Operator::Lt => compare(attribute, first).is_some_and(Ordering::is_lt),
            Operator::Le => compare(attribute, first).is_some_and(Ordering::is_le),
            Operator::Gt => compare(attribute, first).is_some_and(Ordering::is_gt),
            Operator::Ge => compare(attribute, first).is_some_and(Ordering::is_ge),
            Operator::Between => {
                compare(attribute, first).is_some_and(Ordering::is_ge)
                    && compare(attribute, &self.values[1]).is_some_and(Ordering::is_le)
            }
            Operator::BeginsWith => match (attribute, first) {
                (Some(AttributeValue::S(a)), AttributeValue::S(prefix)) => {
                    a.starts_with(prefix.as_str())
                }
                (Some(AttributeValue::B(a)), AttributeValue::B(prefix)) => {
                    a.as_ref().starts_with(prefix.as_ref())
                }
                _ => false,
            },
            Operator::Contains => attribute.is_some_and(|a| contains(a, first)),
            Operator::NotContains => !attribute.is_some_and(|a| contains(a, first)),
        }
    }
}

/// Whether every condition matches `item` (an empty list matches everything).
pub fn matches_all(conditions: &[Condition], item: &Item) -> bool {
    conditions.iter().all(|c| c.matches(item))
}

/// DynamoDB equality: same type and same value; numbers numerically, sets as sets.
pub fn values_equal(a: &AttributeValue, b: &AttributeValue) -> bool {
    use AttributeValue as V;
    match (a, b) {
        (V::N(x), V::N(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        (V::S(x), V::S(y)) => x == y,
        (V::B(x), V::B(y)) => x == y,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Null(_), V::Null(_)) => true,
        (V::Ss(x), V::Ss(y)) => same_set(x, y, |p, q| p == q),
        (V::Ns(x), V::Ns(y)) => {
            same_set(x, y, |p, q| compare_numbers(p, q) == Some(Ordering::Equal))
        }
        (V::Bs(x), V::Bs(y)) => same_set(x, y, |p, q| p == q),
        (V::L(x), V::L(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (V::M(x), V::M(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => false,
    }
}

/// Whether two items hold the same attributes with equal values ([`values_equal`]).
///
/// ```
/// use aws_sdk_dynamodb::types::AttributeValue as V;
/// use eventosaurus::plan::items_equal;
/// let a = [("n".to_owned(), V::N("7.0".into())), ("s".to_owned(), V::Ss(vec!["b".into(), "a".into()]))];
/// let b = [("n".to_owned(), V::N("7".into())), ("s".to_owned(), V::Ss(vec!["a".into(), "b".into()]))];
/// assert!(items_equal(&a.clone().into_iter().collect(), &b.into_iter().collect()));
/// let c = [("n".to_owned(), V::N("8".into())), ("s".to_owned(), V::Ss(vec!["a".into(), "b".into()]))];
/// assert!(!items_equal(&a.into_iter().collect(), &c.into_iter().collect()));
/// ```
pub fn items_equal(a: &Item, b: &Item) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(name, value)| b.get(name).is_some_and(|other| values_equal(value, other)))
}

fn same_set<T>(x: &[T], y: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    x.len() == y.len() && x.iter().all(|p| y.iter().any(|q| eq(p, q)))
}

/// Orders two scalars of the same type (`N`, `S` or `B`); `None` for anything else.
fn compare(attribute: Option<&AttributeValue>, value: &AttributeValue) -> Option<Ordering> {
    compare_scalars(attribute?, value)
}

/// Orders two scalars of the same type as DynamoDB does: numbers by exact value, strings
/// and binaries by their bytes. `None` for other types, or two different types.
pub(crate) fn compare_scalars(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::N(x), AttributeValue::N(y)) => compare_numbers(x, y),
        (AttributeValue::S(x), AttributeValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttributeValue::B(x), AttributeValue::B(y)) => Some(x.as_ref().cmp(y.as_ref())),
        _ => None,
    }
}

fn contains(attribute: &AttributeValue, value: &AttributeValue) -> bool {
    use AttributeValue as V;
    match (attribute, value) {
        (V::S(haystack), V::S(needle)) => haystack.contains(needle.as_str()),
        (V::B(haystack), V::B(needle)) => {
            let (h, n) = (haystack.as_ref(), needle.as_ref());
            n.is_empty() || h.windows(n.len()).any(|w| w == n)
        }
        (V::Ss(set), V::S(element)) => set.contains(element),
        (V::Ns(set), V::N(element)) => set
            .iter()
            .any(|n| compare_numbers(n, element) == Some(Ordering::Equal)),
        (V::Bs(set), V::B(element)) => set.contains(element),
        (V::L(list), element) => list.iter().any(|e| values_equal(e, element)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }
    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.to_owned())
    }
    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }
    fn cond(attribute: &str, operator: Operator, values: &[AttributeValue]) -> Condition {
        Condition::new(attribute, operator, values.to_vec())
    }

    #[test]
    fn every_operator_on_numbers_and_strings() {
        let row = item(&[
            ("age", n("30")),
            ("name", s("markus")),
            ("tags", AttributeValue::Ss(vec!["a".into(), "b".into()])),
        ]);
        let yes = |c: Condition| assert!(c.matches(&row), "{c:?} should match");
        let no = |c: Condition| assert!(!c.matches(&row), "{c:?} should not match");
        yes(cond("age", Operator::Eq, &[n("30.0")]));
        no(cond("age", Operator::Eq, &[s("30")]));
        yes(cond("age", Operator::Ne, &[n("31")]));
        yes(cond("age", Operator::Ne, &[s("30")]));
        no(cond("age", Operator::Ne, &[n("30")]));
        yes(cond("age", Operator::In, &[n("1"), n("30")]));
        no(cond("age", Operator::In, &[n("1"), n("2")]));
        yes(cond("age", Operator::Le, &[n("30")]));
        no(cond("age", Operator::Lt, &[n("30")]));
        yes(cond("age", Operator::Lt, &[n("100")])); // numeric, not "100" < "30"
        yes(cond("age", Operator::Ge, &[n("30")]));
        yes(cond("age", Operator::Gt, &[n("4")]));
        no(cond("age", Operator::Gt, &[s("4")])); // different types never compare
        yes(cond("age", Operator::Between, &[n("30"), n("31")]));
        no(cond("age", Operator::Between, &[n("31"), n("40")]));
        yes(cond("name", Operator::BeginsWith, &[s("mar")]));
        no(cond("name", Operator::BeginsWith, &[s("kus")]));
        no(cond("age", Operator::BeginsWith, &[n("3")]));
        yes(cond("name", Operator::Contains, &[s("rku")]));
        yes(cond("tags", Operator::Contains, &[s("b")]));
        no(cond("tags", Operator::Contains, &[s("c")]));
        yes(cond("name", Operator::NotContains, &[s("zz")]));
        no(cond("name", Operator::NotContains, &[s("ark")]));
        yes(cond("name", Operator::Lt, &[s("n")]));
        no(cond("name", Operator::Lt, &[s("Z")])); // byte order: lowercase sorts after uppercase
    }

    #[test]
    fn missing_attributes_match_only_negations() {
        let row = item(&[("other", s("x"))]);
        for operator in Operator::ALL {
            let values = match operator {
                Operator::Between => vec![s("a"), s("z")],
                _ => vec![s("x")],
            };
            let expected = matches!(operator, Operator::Ne | Operator::NotContains);
            assert_eq!(
                cond("missing", operator, &values).matches(&row),
                expected,
                "{operator}"
            );
        }
    }

    #[test]
    fn lists_sets_and_wrong_arity() {
        let row = item(&[
            ("list", AttributeValue::L(vec![n("1"), s("two")])),
            (
                "numbers",
                AttributeValue::Ns(vec!["1".into(), "2.5".into()]),
            ),
        ]);
        assert!(cond("list", Operator::Contains, &[n("1.0")]).matches(&row));
        assert!(cond("list", Operator::Contains, &[s("two")]).matches(&row));
        assert!(cond("numbers", Operator::Contains, &[n("2.50")]).matches(&row));
        assert!(!cond("numbers", Operator::Contains, &[s("1")]).matches(&row));
        assert!(cond(
            "list",
            Operator::Eq,
            &[AttributeValue::L(vec![n("1"), s("two")])]
        )
        .matches(&row));
        assert!(
            !cond("list", Operator::Between, &[n("1")]).matches(&row),
            "BETWEEN needs two values"
        );
        assert!(
            !cond("list", Operator::In, &[]).matches(&row),
            "IN needs at least one value"
        );
    }
}
