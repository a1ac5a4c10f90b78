//! Hiding expired events: DynamoDB's TTL deletes an expired item lazily (typically within a
//! few days, as its documentation says), so until then reads compare the `expires_at`
//! attribute with the time of the request.

use std::cmp::Ordering;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use crate::codec::Item;
use crate::number::compare;
use crate::schema::TableDef;

/// The part of a plan's FilterExpression that hides expired items:
/// `(attribute_not_exists(expires_at) OR expires_at > :now)`.
///
/// An item without the attribute never expires; one whose attribute is a number at or before
/// `now` has expired (DynamoDB's TTL would delete it); any other value is compared as
/// DynamoDB compares it (a string is not greater than a number), so it is hidden too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiryFilter {
    /// The attribute: [`EXPIRES_AT`](crate::schema::EXPIRES_AT).
    pub attribute: String,
    /// The time of the request, in seconds since the Unix epoch.
    pub now: i64,
}

impl ExpiryFilter {
    /// The filter for `def`'s table at `now`, or `None` when its events never expire.
    pub fn for_table(def: &TableDef, now: i64) -> Option<ExpiryFilter> {
        def.expiry_attribute().map(|attribute| ExpiryFilter {
            attribute: attribute.to_owned(),
            now,
        })
    }

    /// Whether `item` is still alive at [`now`](ExpiryFilter::now): what DynamoDB's
    /// evaluation of the filter returns.
    pub fn keeps(&self, item: &Item) -> bool {
        match item.get(&self.attribute) {
            None => true,
            Some(AttributeValue::N(expires)) => {
                compare(expires, &self.now.to_string()) == Some(Ordering::Greater)
            }
            Some(_) => false,
        }
    }
}

/// Now, in seconds since the Unix epoch (before the epoch, on a broken clock: 0).
pub fn now_epoch_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Whether an item of `def`'s table has expired by now: what `get` and `get_many` check.
pub fn is_expired(def: &TableDef, item: &Item) -> bool {
    ExpiryFilter::for_table(def, now_epoch_seconds()).is_some_and(|filter| !filter.keeps(item))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Ttl, EXPIRES_AT, TEST_DEF};

    fn item(value: Option<AttributeValue>) -> Item {
        value
            .into_iter()
            .map(|v| (EXPIRES_AT.to_owned(), v))
            .collect()
    }

    #[test]
    fn an_item_is_alive_until_its_second() {
        let filter = ExpiryFilter {
            attribute: EXPIRES_AT.into(),
            now: 1_000,
        };
        let n = |v: &str| Some(AttributeValue::N(v.into()));
        assert!(filter.keeps(&item(None)), "no attribute: never expires");
        assert!(filter.keeps(&item(n("1001"))));
        assert!(filter.keeps(&item(n("1000.5"))));
        assert!(!filter.keeps(&item(n("1000"))), "at its second: expired");
        assert!(!filter.keeps(&item(n("999"))));
        assert!(!filter.keeps(&item(n("-5"))));
        assert!(!filter.keeps(&item(Some(AttributeValue::S("9999".into())))));
    }

    #[test]
    fn only_expiring_tables_filter() {
        assert_eq!(ExpiryFilter::for_table(&TEST_DEF, 5), None);
        let def = TableDef {
            ttl: Some(Ttl::AfterCreation { seconds: 60 }),
            ..TEST_DEF
        };
        let filter = ExpiryFilter::for_table(&def, 5).unwrap();
        assert_eq!(filter.attribute, EXPIRES_AT);
        assert!(is_expired(&def, &item(Some(AttributeValue::N("5".into())))));
        assert!(!is_expired(
            &TEST_DEF,
            &item(Some(AttributeValue::N("5".into())))
        ));
    }
}
