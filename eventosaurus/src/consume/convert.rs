//! Stream items to table items: the DynamoDB Streams SDK has its own `AttributeValue` type.
//!
//! The conversion moves every string and blob; nothing is copied.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodbstreams::types::AttributeValue as StreamValue;

use crate::codec::Item;

/// A stream record's image as the table item the codec decodes.
pub fn item_from_stream(image: std::collections::HashMap<String, StreamValue>) -> Item {
    image
        .into_iter()
        .map(|(name, value)| (name, value_from_stream(value)))
        .collect()
}

/// One stream attribute value as the table SDK's value.
pub fn value_from_stream(value: StreamValue) -> AttributeValue {
    match value {
        StreamValue::S(s) => AttributeValue::S(s),
        StreamValue::N(n) => AttributeValue::N(n),
        StreamValue::B(b) => AttributeValue::B(b),
        StreamValue::Bool(b) => AttributeValue::Bool(b),
        StreamValue::Null(n) => AttributeValue::Null(n),
        StreamValue::Ss(v) => AttributeValue::Ss(v),
        StreamValue::Ns(v) => AttributeValue::Ns(v),
        StreamValue::Bs(v) => AttributeValue::Bs(v),
        StreamValue::L(v) => AttributeValue::L(v.into_iter().map(value_from_stream).collect()),
        StreamValue::M(m) => AttributeValue::M(item_from_stream(m)),
        // A type added to the API after this SDK version: kept visible, never dropped silently.
        other => AttributeValue::S(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_type_converts() {
        let blob = aws_sdk_dynamodb::primitives::Blob::new(vec![1u8, 2]);
        let mut nested = HashMap::new();
        nested.insert("x".to_owned(), StreamValue::N("1".into()));
        let mut image = HashMap::new();
        image.insert("s".to_owned(), StreamValue::S("a".into()));
        image.insert("b".to_owned(), StreamValue::B(blob.clone()));
        image.insert("t".to_owned(), StreamValue::Bool(true));
        image.insert("z".to_owned(), StreamValue::Null(true));
        image.insert("ss".to_owned(), StreamValue::Ss(vec!["a".into()]));
        image.insert("ns".to_owned(), StreamValue::Ns(vec!["2".into()]));
        image.insert("bs".to_owned(), StreamValue::Bs(vec![blob.clone()]));
        image.insert("l".to_owned(), StreamValue::L(vec![StreamValue::M(nested)]));
        let item = item_from_stream(image);
        assert_eq!(item["s"], AttributeValue::S("a".into()));
        assert_eq!(item["b"], AttributeValue::B(blob.clone()));
        assert_eq!(item["t"], AttributeValue::Bool(true));
        assert_eq!(item["z"], AttributeValue::Null(true));
        assert_eq!(item["ss"], AttributeValue::Ss(vec!["a".into()]));
        assert_eq!(item["ns"], AttributeValue::Ns(vec!["2".into()]));
        assert_eq!(item["bs"], AttributeValue::Bs(vec![blob]));
        let AttributeValue::L(list) = &item["l"] else {
            panic!("list")
        };
        let AttributeValue::M(map) = &list[0] else {
            panic!("map")
        };
        assert_eq!(map["x"], AttributeValue::N("1".into()));
    }
}
