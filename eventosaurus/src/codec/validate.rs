//! One pass over an encoded item: DynamoDB's rules for every value, and the item's size as
//! DynamoDB counts it.
//!
//! The rules are DynamoDB's own, checked against DynamoDB Local (`tests/codec_limits.rs`):
//!
//! * numbers (`N`, and each element of `NS`): [`Number::parse`] (38 significant digits, a
//!   magnitude of zero or from `1E-130` to below `1E+126`);
//! * sets (`SS`, `NS`, `BS`) are not empty and hold no element twice;
//! * attribute names and map keys are 1 to 65,535 bytes;
//! * `NULL` is `true`;
//! * lists and maps nest at most 32 levels: an attribute is level 1 and each list or map
//!   puts its elements one level deeper, so a list at level 32 is refused even when empty;
//! * the string partition key is 1 to 2,048 bytes.
//!
//! Sizes ([`item_size`]): a name or string counts its UTF-8 bytes, a binary its bytes, a
//! number follows the digit-pair rule ([`Number::stored_size`]), a boolean or null 1 byte, a set
//! the sum of its elements, a list or map 3 bytes plus, per element, 1 byte plus the
//! element (and its key, for a map).

use std::collections::HashSet;

use aws_sdk_dynamodb::types::AttributeValue;

use super::Item;
use crate::error::Violation;
use crate::number::{self, Number, NumberError};

/// The deepest level a value may sit at (an attribute of the item is level 1).
pub const MAX_DEPTH: usize = 32;
/// The longest attribute name or map key, in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 65_535;
/// The longest string partition key, in UTF-8 bytes (of the table or of an index).
pub const MAX_PARTITION_KEY_BYTES: usize = 2_048;
/// The longest string sort key of an index, in UTF-8 bytes.
pub const MAX_SORT_KEY_BYTES: usize = 1_024;

/// Overhead of a list or map, and of each of its elements.
const DOCUMENT_OVERHEAD: usize = 3;
const ELEMENT_OVERHEAD: usize = 1;

/// A value that breaks a rule, with the path to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The path, e.g. `readings[3].value`.
    pub path: String,
    /// The rule.
    pub violation: Violation,
}

/// A violation found while walking, with the path segments collected on the way back up.
/// Boxed: the happy path returns a `Result` of two words.
struct Found(Box<FoundInner>);

struct FoundInner {
    /// Innermost first.
    segments: Vec<Segment>,
    violation: Violation,
}

enum Segment {
    Name(String),
    Index(usize),
}

impl Found {
    fn new(violation: Violation) -> Found {
        Found(Box::new(FoundInner {
            segments: Vec::new(),
            violation,
        }))
    }

    fn at(mut self, segment: Segment) -> Found {
        self.0.segments.push(segment);
        self
    }

    fn into_invalid(self) -> Invalid {
        let FoundInner {
            segments,
            violation,
        } = *self.0;
        let mut path = String::new();
        for segment in segments.iter().rev() {
            match segment {
                Segment::Name(name) if path.is_empty() => path.push_str(name),
                Segment::Name(name) => {
                    path.push('.');
                    path.push_str(name);
                }
                Segment::Index(i) => {
                    path.push('[');
                    path.push_str(&i.to_string());
                    path.push(']');
                }
            }
        }
        Invalid { path, violation }
    }
}

/// Checks every value of `item` against DynamoDB's rules and returns the item's size.
pub fn check_item(item: &Item) -> Result<usize, Invalid> {
    check_walk(item, None)
}

/// Checks the string keys of an item's global secondary indexes: not empty, and at most
/// [`MAX_PARTITION_KEY_BYTES`] (partition key) or [`MAX_SORT_KEY_BYTES`] (sort key). A
/// missing key is fine (the item is not in that index).
pub fn check_index_keys(
    item: &Item,
    indexes: &[crate::schema::GlobalIndexDef],
) -> Result<(), Invalid> {
    for index in indexes {
        let keys = std::iter::once((index.partition_key, MAX_PARTITION_KEY_BYTES))
            .chain(index.sort_key.map(|key| (key, MAX_SORT_KEY_BYTES)));
        for (key, max) in keys {
            let Some(AttributeValue::S(value)) = item.get(key.attribute) else {
                continue;
            };
            let violation = if value.is_empty() {
                Violation::IndexKeyEmpty { index: index.name }
            } else if value.len() > max {
                Violation::IndexKeyTooLong {
                    index: index.name,
                    bytes: value.len(),
                    max,
                }
            } else {
                continue;
            };
            return Err(Invalid {
                path: key.attribute.to_owned(),
                violation,
            });
        }
    }
    Ok(())
}

/// [`check_item`] for an event's item, in the same single pass: also checks its partition
/// key `key` (present with the table's type, see [`check_partition_key`]). `number` is true
/// for an `N` key, false for an `S` key.
pub fn check_event_item(item: &Item, key: &str, number: bool) -> Result<usize, Invalid> {
    check_walk(item, Some((key, number)))
}

fn check_walk(item: &Item, key: Option<(&str, bool)>) -> Result<usize, Invalid> {
    // The common case in one tight pass; anything unusual, or wrong, takes the detailed walk.
    match quick_size(item, key) {
        Some(size) => Ok(size),
        None => detailed_walk(item, key),
    }
}

/// The item's size if every value is valid, for scalars and the key without building any
/// error; `None` as soon as something is wrong (or a list, map or set needs the full rules).
#[inline]
fn quick_size(item: &Item, key: Option<(&str, bool)>) -> Option<usize> {
    let mut size = 0;
    let mut key_seen = key.is_none();
    for (name, value) in item {
        if let Some((key_name, number)) = key {
            if name == key_name {
                if !is_valid_key(value, number) {
                    return None;
                }
                key_seen = true;
            }
        }
        size += attribute_size(name, value)?;
    }
    key_seen.then_some(size)
}

/// The size of one attribute, name and value, if both meet DynamoDB's rules; `None` if
/// either does (without building the error: the detailed walk does that). Scalars are
/// counted on the spot, anything else through the full rules.
///
/// This is the per-attribute step of [`check_item`]'s quick pass, and what the derive's
/// encoder ([`fast::ItemTally`](super::fast::ItemTally)) counts each attribute with as it
/// writes it, so that an item it built needs no second pass.
#[inline(always)]
pub(crate) fn attribute_size(name: &str, value: &AttributeValue) -> Option<usize> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return None;
    }
    Some(
        name.len()
            + match value {
                AttributeValue::S(s) => s.len(),
                AttributeValue::N(n) => number::stored_size(n).ok()?,
                AttributeValue::Bool(_) | AttributeValue::Null(true) => 1,
                other => check_value(other, 1).ok()?,
            },
    )
}

/// Whether `value` is a valid partition key: an `N` for a number key (`number`), else an `S`
/// of 1 to 2,048 bytes.
#[inline]
pub(crate) fn is_valid_key(value: &AttributeValue, number: bool) -> bool {
    key_violation(Some(value), number).is_none()
}

/// The rules one by one, building the error: the partition key first, then every value.
fn detailed_walk(item: &Item, key: Option<(&str, bool)>) -> Result<usize, Invalid> {
    if let Some((key_name, number)) = key {
        check_partition_key(item, key_name, number)?;
    }
    let mut size = 0;
    for (name, value) in item {
        size += check_name(name)
            .and_then(|bytes| Ok(bytes + check_value(value, 1)?))
            .map_err(|found| found.at(Segment::Name(name.clone())).into_invalid())?;
    }
    Ok(size)
}

/// What is wrong with a partition key value, if anything.
fn key_violation(value: Option<&AttributeValue>, number: bool) -> Option<Violation> {
    match (value, number) {
        (Some(AttributeValue::N(_)), true) => None,
        (Some(AttributeValue::S(s)), false) if s.is_empty() => Some(Violation::PartitionKeyEmpty),
        (Some(AttributeValue::S(s)), false) if s.len() > MAX_PARTITION_KEY_BYTES => {
            Some(Violation::PartitionKeyTooLong { bytes: s.len() })
        }
        (Some(AttributeValue::S(_)), false) => None,
        (_, number) => Some(Violation::PartitionKeyMissing {
            expected: if number { "N" } else { "S" },
        }),
    }
}

/// Checks the partition key attribute: present with the table's type, and for strings
/// 1 to 2,048 bytes. `number` is true for an `N` key, false for an `S` key.
pub fn check_partition_key(item: &Item, name: &str, number: bool) -> Result<(), Invalid> {
    match key_violation(item.get(name), number) {
        None => Ok(()),
        Some(violation) => Err(Invalid {
            path: name.to_owned(),
            violation,
        }),
    }
}

/// The size of an item as DynamoDB counts it (see the module docs). Values that break a
/// rule are counted as well as they can be; [`check_item`] refuses them.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + lenient_size(value))
        .sum()
}

/// The size of one value, as in [`item_size`].
pub fn value_size(value: &AttributeValue) -> usize {
    lenient_size(value)
}

fn check_name(name: &str) -> Result<usize, Found> {
    match name.len() {
        0 => Err(Found::new(Violation::EmptyName)),
        bytes if bytes > MAX_NAME_BYTES => Err(Found::new(Violation::NameTooLong { bytes })),
        bytes => Ok(bytes),
    }
}

fn check_number(text: &str) -> Result<Number, Found> {
    Number::parse(text).map_err(|error| Found::new(number_violation(text, error)))
}

/// The rule a number's text breaks, in the terms of an item's value.
fn number_violation(text: &str, error: NumberError) -> Violation {
    let value = text.to_owned();
    match error {
        NumberError::TooManyDigits { digits, .. } => Violation::TooManyDigits { value, digits },
        NumberError::TooLarge { .. } => Violation::MagnitudeTooLarge { value },
        NumberError::TooSmall { .. } => Violation::MagnitudeTooSmall { value },
        NumberError::Syntax { .. } => Violation::NotANumber { value },
    }
}

/// Checks `value`, which sits at `level`, and returns its size.
fn check_value(value: &AttributeValue, level: usize) -> Result<usize, Found> {
    Ok(match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => {
            number::stored_size(n).map_err(|error| Found::new(number_violation(n, error)))?
        }
        AttributeValue::Bool(_) => 1,
        AttributeValue::Null(true) => 1,
        AttributeValue::Null(false) => return Err(Found::new(Violation::NullFalse)),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::L(list) => {
            check_depth(level)?;
            let mut size = DOCUMENT_OVERHEAD;
            for (i, element) in list.iter().enumerate() {
                size += ELEMENT_OVERHEAD
                    + check_value(element, level + 1).map_err(|f| f.at(Segment::Index(i)))?;
            }
            size
        }
        AttributeValue::M(map) => {
            check_depth(level)?;
            let mut size = DOCUMENT_OVERHEAD;
            for (key, element) in map {
                size += ELEMENT_OVERHEAD
                    + check_name(key)
                        .and_then(|bytes| Ok(bytes + check_value(element, level + 1)?))
                        .map_err(|f| f.at(Segment::Name(key.clone())))?;
            }
            size
        }
        AttributeValue::Ss(set) => {
            check_set(set, |s| s.as_str())?;
            set.iter().map(String::len).sum()
        }
        AttributeValue::Bs(set) => {
            check_set(set, |b| b.as_ref())?;
            set.iter().map(|b| b.as_ref().len()).sum()
        }
        AttributeValue::Ns(set) => check_number_set(set)?,
        // A variant added to the SDK after this was written: DynamoDB decides.
        other => lenient_size(other),
    })
}

fn check_depth(level: usize) -> Result<(), Found> {
    // A list or map at `level` holds elements at `level + 1`, even when it is empty.
    if level >= MAX_DEPTH {
        Err(Found::new(Violation::TooDeep { depth: level + 1 }))
    } else {
        Ok(())
    }
}

fn check_set<T, K: Eq + std::hash::Hash + ?Sized + std::fmt::Debug>(
    set: &[T],
    key: impl Fn(&T) -> &K,
) -> Result<(), Found> {
    if set.is_empty() {
        return Err(Found::new(Violation::EmptySet));
    }
    if set.len() > 1 {
        let mut seen = HashSet::with_capacity(set.len());
        for (i, element) in set.iter().enumerate() {
            let k = key(element);
            if !seen.insert(k) {
                return Err(Found::new(Violation::DuplicateInSet {
                    value: format!("{k:?}"),
                })
                .at(Segment::Index(i)));
            }
        }
    }
    Ok(())
}

fn check_number_set(set: &[String]) -> Result<usize, Found> {
    if set.is_empty() {
        return Err(Found::new(Violation::EmptySet));
    }
    let mut size = 0;
    let mut seen = HashSet::with_capacity(set.len());
    for (i, text) in set.iter().enumerate() {
        let number = check_number(text).map_err(|f| f.at(Segment::Index(i)))?;
        size += number.stored_size();
        // Numbers compare by value, as in DynamoDB: `1`, `1.0` and `10E-1` are one element.
        if set.len() > 1 && !seen.insert(number) {
            return Err(Found::new(Violation::DuplicateInSet {
                value: text.clone(),
            })
            .at(Segment::Index(i)));
        }
    }
    Ok(size)
}

fn lenient_number_size(text: &str) -> usize {
    match Number::parse_unbounded(text) {
        Ok(number) => number.stored_size(),
        Err(_) => text.len().div_ceil(2) + 1,
    }
}

fn lenient_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => lenient_number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| lenient_number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => {
            DOCUMENT_OVERHEAD
                + v.iter()
                    .map(|e| ELEMENT_OVERHEAD + lenient_size(e))
                    .sum::<usize>()
        }
        AttributeValue::M(m) => {
            DOCUMENT_OVERHEAD
                + m.iter()
                    .map(|(k, e)| ELEMENT_OVERHEAD + k.len() + lenient_size(e))
                    .sum::<usize>()
        }
        // A variant added to the SDK after this was written: count its debug text, an upper bound.
        other => format!("{other:?}").len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    fn item(pairs: Vec<(&str, AttributeValue)>) -> Item {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.to_owned())
    }

    fn invalid(item: &Item) -> Invalid {
        check_item(item).expect_err("should be refused")
    }

    /// `levels` lists around a scalar: the scalar sits at level `levels + 1`.
    fn nested_lists(levels: usize, inner: AttributeValue) -> AttributeValue {
        (0..levels).fold(inner, |v, _| AttributeValue::L(vec![v]))
    }

    #[test]
    fn sizes_follow_dynamodb_rules() {
        let it = item(vec![
            ("ab", s("héllo")),                     // 2 + 6
            ("n", n("12345")),                      // 1 + 4 (01|23|45 + exponent)
            ("neg", n("-12")),                      // 3 + 3
            ("t", AttributeValue::Bool(true)),      // 1 + 1
            ("z", AttributeValue::Null(true)),      // 1 + 1
            ("l", AttributeValue::L(vec![s("x")])), // 1 + 3 + 1 + 1
            ("e", AttributeValue::L(vec![])),       // 1 + 3
            (
                "m",
                AttributeValue::M(
                    [
                        ("k".to_owned(), n("7")),
                        ("kk".to_owned(), AttributeValue::M(Default::default())),
                    ]
                    .into(),
                ),
            ), // 1 + 3 + (1 + 1 + 2) + (1 + 2 + 3)
            ("ss", AttributeValue::Ss(vec!["a".into(), "bc".into()])), // 2 + 3
            ("ns", AttributeValue::Ns(vec!["1".into(), "-100".into()])), // 2 + 2 + 3
            ("b", AttributeValue::B(Blob::new(vec![0u8; 5]))), // 1 + 5
        ]);
        let expected = 8 + 5 + 6 + 2 + 2 + 6 + 4 + 14 + 5 + 7 + 6;
        assert_eq!(item_size(&it), expected);
        assert_eq!(check_item(&it), Ok(expected));
    }

    #[test]
    fn nan_and_infinities_are_refused_with_their_path() {
        let it = item(vec![(
            "readings",
            AttributeValue::L(vec![
                AttributeValue::M([("value".to_owned(), n("1.5"))].into()),
                AttributeValue::M([("value".to_owned(), n("1"))].into()),
                AttributeValue::M([("value".to_owned(), n("2"))].into()),
                AttributeValue::M([("value".to_owned(), n(&f64::NAN.to_string()))].into()),
            ]),
        )]);
        let err = invalid(&it);
        assert_eq!(err.path, "readings[3].value");
        assert_eq!(
            err.violation,
            Violation::NotANumber {
                value: "NaN".into()
            }
        );
        for text in [f64::INFINITY.to_string(), f64::NEG_INFINITY.to_string()] {
            let err = invalid(&item(vec![("t", n(&text))]));
            assert_eq!(err.path, "t");
            assert!(matches!(err.violation, Violation::NotANumber { .. }));
        }
    }

    #[test]
    fn number_rules_apply_to_sets_and_nested_values() {
        let d39 = "123456789012345678901234567890123456789";
        let err = invalid(&item(vec![(
            "ns",
            AttributeValue::Ns(vec!["1".into(), d39.into()]),
        )]));
        assert_eq!(err.path, "ns[1]");
        assert!(matches!(
            err.violation,
            Violation::TooManyDigits { digits: 39, .. }
        ));
        let err = invalid(&item(vec![(
            "m",
            AttributeValue::M([("deep".to_owned(), AttributeValue::L(vec![n("1E+126")]))].into()),
        )]));
        assert_eq!(err.path, "m.deep[0]");
        assert!(matches!(err.violation, Violation::MagnitudeTooLarge { .. }));
        let err = invalid(&item(vec![("x", nested_lists(2, n("1E-131")))]));
        assert_eq!(err.path, "x[0][0]");
        assert!(matches!(err.violation, Violation::MagnitudeTooSmall { .. }));
    }

    #[test]
    fn sets_must_be_non_empty_and_without_duplicates() {
        let err = invalid(&item(vec![("ss", AttributeValue::Ss(vec![]))]));
        assert_eq!(err.violation, Violation::EmptySet);
        let err = invalid(&item(vec![("ns", AttributeValue::Ns(vec![]))]));
        assert_eq!(err.violation, Violation::EmptySet);
        let err = invalid(&item(vec![(
            "ss",
            AttributeValue::Ss(vec!["a".into(), "b".into(), "a".into()]),
        )]));
        assert_eq!(err.path, "ss[2]");
        assert!(matches!(err.violation, Violation::DuplicateInSet { .. }));
        // Numbers compare by value.
        let err = invalid(&item(vec![(
            "ns",
            AttributeValue::Ns(vec!["1".into(), "1.0".into()]),
        )]));
        assert!(matches!(err.violation, Violation::DuplicateInSet { .. }));
        let err = invalid(&item(vec![(
            "ns",
            AttributeValue::Ns(vec!["100".into(), "1e2".into()]),
        )]));
        assert!(matches!(err.violation, Violation::DuplicateInSet { .. }));
        assert!(check_item(&item(vec![(
            "ns",
            AttributeValue::Ns(vec!["1".into(), "10".into(), "-1".into(), "0.1".into()])
        )]))
        .is_ok());
        let err = invalid(&item(vec![(
            "bs",
            AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(vec![1])]),
        )]));
        assert!(matches!(err.violation, Violation::DuplicateInSet { .. }));
    }

    #[test]
    fn names_and_nulls() {
        assert_eq!(
            invalid(&item(vec![("", s("x"))])).violation,
            Violation::EmptyName
        );
        let err = invalid(&item(vec![(
            "m",
            AttributeValue::M([(String::new(), s("x"))].into()),
        )]));
        assert_eq!(
            (err.path.as_str(), err.violation),
            ("m.", Violation::EmptyName)
        );
        let long = "n".repeat(MAX_NAME_BYTES + 1);
        assert!(matches!(
            invalid(&item(vec![(long.as_str(), s("x"))])).violation,
            Violation::NameTooLong { bytes } if bytes == MAX_NAME_BYTES + 1
        ));
        assert!(check_item(&item(vec![("n".repeat(MAX_NAME_BYTES).as_str(), s("x"))])).is_ok());
        assert_eq!(
            invalid(&item(vec![("z", AttributeValue::Null(false))])).violation,
            Violation::NullFalse
        );
    }

    #[test]
    fn nesting_boundary_is_32_levels() {
        // 31 lists around a scalar: the scalar is at level 32. Accepted.
        assert!(check_item(&item(vec![("x", nested_lists(31, s("v")))])).is_ok());
        // 32 lists: the scalar is at level 33. Refused.
        let err = invalid(&item(vec![("x", nested_lists(32, s("v")))]));
        assert_eq!(err.violation, Violation::TooDeep { depth: 33 });
        assert_eq!(err.path, format!("x{}", "[0]".repeat(31)));
        // An empty list at level 32 would hold level 33: refused, as DynamoDB does.
        let err = invalid(&item(vec![(
            "x",
            nested_lists(31, AttributeValue::L(vec![])),
        )]));
        assert_eq!(err.violation, Violation::TooDeep { depth: 33 });
        // Maps count the same; a set is a scalar.
        let map = |v: AttributeValue| AttributeValue::M([("k".to_owned(), v)].into());
        let deep_map = (0..31).fold(s("v"), |v, _| map(v));
        assert!(check_item(&item(vec![("x", deep_map.clone())])).is_ok());
        assert!(matches!(
            invalid(&item(vec![("x", map(deep_map))])).violation,
            Violation::TooDeep { depth: 33 }
        ));
        assert!(check_item(&item(vec![(
            "x",
            nested_lists(31, AttributeValue::Ss(vec!["a".into()]))
        )]))
        .is_ok());
    }

    #[test]
    fn event_items_check_the_key_in_the_same_pass() {
        let it = item(vec![("pk", s("k")), ("n", n("1"))]);
        assert_eq!(check_event_item(&it, "pk", false), Ok(1 + 2 + 1 + 2));
        assert_eq!(
            check_event_item(&it, "pk", true).unwrap_err().violation,
            Violation::PartitionKeyMissing { expected: "N" }
        );
        assert_eq!(
            check_event_item(&it, "other", false).unwrap_err(),
            Invalid {
                path: "other".into(),
                violation: Violation::PartitionKeyMissing { expected: "S" }
            }
        );
        let it = item(vec![("pk", s("")), ("n", n("NaN"))]);
        assert_eq!(
            check_event_item(&it, "pk", false).unwrap_err().violation,
            Violation::PartitionKeyEmpty
        );
    }

    #[test]
    fn partition_key_rules() {
        let key = |v: AttributeValue| item(vec![("pk", v)]);
        assert!(check_partition_key(&key(s(&"k".repeat(2048))), "pk", false).is_ok());
        assert_eq!(
            check_partition_key(&key(s(&"k".repeat(2049))), "pk", false)
                .unwrap_err()
                .violation,
            Violation::PartitionKeyTooLong { bytes: 2049 }
        );
        // Bytes, not characters: 1,024 two-byte characters fit, one more does not.
        assert!(check_partition_key(&key(s(&"é".repeat(1024))), "pk", false).is_ok());
        assert!(check_partition_key(&key(s(&"é".repeat(1025))), "pk", false).is_err());
        assert_eq!(
            check_partition_key(&key(s("")), "pk", false)
                .unwrap_err()
                .violation,
            Violation::PartitionKeyEmpty
        );
        assert_eq!(
            check_partition_key(&key(n("5")), "pk", false).unwrap_err(),
            Invalid {
                path: "pk".into(),
                violation: Violation::PartitionKeyMissing { expected: "S" }
            }
        );
        assert!(check_partition_key(&key(n("5")), "pk", true).is_ok());
        assert!(check_partition_key(&item(vec![]), "pk", true).is_err());
        assert!(check_partition_key(&key(AttributeValue::Null(true)), "pk", true).is_err());
    }
}
