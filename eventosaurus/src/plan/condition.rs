//! Conditions on one attribute, and their evaluation against an item with DynamoDB's rules.

use std::cmp::Ordering;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use crate::codec::Item;

/// A comparison DynamoDB can evaluate on one attribute.
///
/// Only [`Eq`](Operator::Eq), [`Lt`](Operator::Lt), [`Le`](Operator::Le), [`Gt`](Operator::Gt),
/// [`Ge`](Operator::Ge), [`Between`](Operator::Between) and [`BeginsWith`](Operator::BeginsWith)
/// are allowed on a range key in a key condition (and only `Eq` on a partition key); the
/// others always become a FilterExpression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    /// Equal (`=`).
    Eq,
    /// Not equal (`<>`). True when the attribute is missing or of another type.
    Ne,
    /// Equal to one of up to 100 values (`IN (..)`).
    In,
    /// Less than or equal (`<=`).
    Le,
    /// Less than (`<`).
    Lt,
    /// Greater than or equal (`>=`).
    Ge,
    /// Greater than (`>`).
    Gt,
    /// A substring of a string, or an element of a set or list (`contains(..)`).
    Contains,
    /// Not [`Contains`](Operator::Contains) (`NOT contains(..)`). True when the attribute is missing.
    NotContains,
    /// A prefix of a string (`begins_with(..)`).
    BeginsWith,
    /// Between two values, both included (`BETWEEN .. AND ..`).
    Between,
}

impl Operator {
    /// Every operator, in declaration order.
    pub const ALL: [Operator; 11] = [
        Operator::Eq,
        Operator::Ne,
        Operator::In,
        Operator::Le,
        Operator::Lt,
        Operator::Ge,
        Operator::Gt,
        Operator::Contains,
        Operator::NotContains,
        Operator::BeginsWith,
        Operator::Between,
    ];

    /// Whether DynamoDB accepts this operator on a range key in a KeyConditionExpression.
    pub fn allowed_on_range_key(self) -> bool {
        matches!(
            self,
            Operator::Eq
                | Operator::Lt
                | Operator::Le
                | Operator::Gt
                | Operator::Ge
                | Operator::Between
                | Operator::BeginsWith
        )
    }

    /// How many values the operator takes: `(min, max)`. `IN` takes 1 to 100.
    pub fn arity(self) -> (usize, usize) {
        match self {
            Operator::Between => (2, 2),
            Operator::In => (1, 100),
            _ => (1, 1),
        }
    }

    /// The operator's name as the DynamoDB documentation spells it, e.g. `BEGINS_WITH`.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Eq => "EQ",
            Operator::Ne => "NE",
            Operator::In => "IN",
            Operator::Le => "LE",
            Operator::Lt => "LT",
            Operator::Ge => "GE",
            Operator::Gt => "GT",
            Operator::Contains => "CONTAINS",
            Operator::NotContains => "NOT_CONTAINS",
            Operator::BeginsWith => "BEGINS_WITH",
            Operator::Between => "BETWEEN",
        }
    }
}

impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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

fn same_set<T>(x: &[T], y: &[T], eq: impl Fn(&T, &T) -> bool) -> bool {
    x.len() == y.len() && x.iter().all(|p| y.iter().any(|q| eq(p, q)))
}

/// Orders two scalars of the same type (`N`, `S` or `B`); `None` for anything else.
fn compare(attribute: Option<&AttributeValue>, value: &AttributeValue) -> Option<Ordering> {
    match (attribute?, value) {
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

/// A decimal number as sign, significant digits (no leading or trailing zeros) and the
/// position of the decimal point relative to the first digit.
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exponent: i64,
}

impl Decimal {
    fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (negative, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], rest[at + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let all: Vec<u8> = int_part
            .bytes()
            .chain(frac_part.bytes())
            .map(|b| b - b'0')
            .collect();
        let leading = all.iter().take_while(|&&d| d == 0).count();
        let mut digits = all[leading..].to_vec();
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            return Some(Decimal {
                negative: false,
                digits,
                exponent: 0,
            });
        }
        let exponent = int_part.len() as i64 - leading as i64 + exp;
        Some(Decimal {
            negative,
            digits,
            exponent,
        })
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        match (self.digits.is_empty(), other.digits.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        self.exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits))
    }
}

/// Compares two DynamoDB number strings exactly (no floating point); `None` if one is not a number.
pub fn compare_numbers(a: &str, b: &str) -> Option<Ordering> {
    let (x, y) = (Decimal::parse(a)?, Decimal::parse(b)?);
    let x_zero = x.digits.is_empty();
    let y_zero = y.digits.is_empty();
    Some(match (x.negative && !x_zero, y.negative && !y_zero) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => x.cmp_magnitude(&y),
        (true, true) => y.cmp_magnitude(&x),
    })
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
    fn numbers_compare_numerically() {
        assert_eq!(compare_numbers("10", "9"), Some(Ordering::Greater));
        assert_eq!(compare_numbers("5", "5.000"), Some(Ordering::Equal));
        assert_eq!(compare_numbers("-3", "2"), Some(Ordering::Less));
        assert_eq!(compare_numbers("-3", "-20"), Some(Ordering::Greater));
        assert_eq!(compare_numbers("0.001", "1e-3"), Some(Ordering::Equal));
        assert_eq!(compare_numbers("-0", "0"), Some(Ordering::Equal));
        assert_eq!(compare_numbers("0", "0.5"), Some(Ordering::Less));
        assert_eq!(
            compare_numbers(
                "123456789012345678901234567890",
                "123456789012345678901234567891"
            ),
            Some(Ordering::Less)
        );
        assert_eq!(compare_numbers("1.5", "abc"), None);
        assert_eq!(compare_numbers("", "1"), None);
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
