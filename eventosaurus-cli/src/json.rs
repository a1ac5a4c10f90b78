//! The SDK's `TableDescription` as JSON in the shape of the DynamoDB API's DescribeTable
//! `Table` (the SDK types are not serde, so this is written out by hand), and items as plain
//! JSON for `query --json`.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, KeySchemaElement, Projection,
    ProvisionedThroughputDescription, TableDescription, TimeToLiveDescription,
};
use eventosaurus::codec::Item;
use serde_json::{json, Map, Value};

/// `TableDescription` → `{"TableName": .., "KeySchema": [..], ..}`; absent fields are omitted.
pub fn table_description(d: &TableDescription) -> Value {
    let mut m = Map::new();
    put(&mut m, "TableName", d.table_name().map(Value::from));
    put(
        &mut m,
        "TableStatus",
        d.table_status().map(|s| s.as_str().into()),
    );
    put(&mut m, "TableArn", d.table_arn().map(Value::from));
    put(&mut m, "TableId", d.table_id().map(Value::from));
    put(
        &mut m,
        "CreationDateTime",
        d.creation_date_time().map(date_time),
    );
    put(&mut m, "KeySchema", Some(key_schema(d.key_schema())));
    put(
        &mut m,
        "AttributeDefinitions",
        Some(attribute_definitions(d.attribute_definitions())),
    );
    put(
        &mut m,
        "BillingModeSummary",
        d.billing_mode_summary().map(|b| {
            let mut s = Map::new();
            put(
                &mut s,
                "BillingMode",
                b.billing_mode().map(|m| m.as_str().into()),
            );
            put(
                &mut s,
                "LastUpdateToPayPerRequestDateTime",
                b.last_update_to_pay_per_request_date_time().map(date_time),
            );
            Value::Object(s)
        }),
    );
    put(
        &mut m,
        "ProvisionedThroughput",
        d.provisioned_throughput().map(throughput),
    );
    put(&mut m, "ItemCount", d.item_count().map(Value::from));
    put(
        &mut m,
        "TableSizeBytes",
        d.table_size_bytes().map(Value::from),
    );
    if !d.local_secondary_indexes().is_empty() {
        let lsis = d
            .local_secondary_indexes()
            .iter()
            .map(|i| {
                let mut s = Map::new();
                put(&mut s, "IndexName", i.index_name().map(Value::from));
                put(&mut s, "KeySchema", Some(key_schema(i.key_schema())));
                put(&mut s, "Projection", i.projection().map(projection));
                put(
                    &mut s,
                    "IndexSizeBytes",
                    i.index_size_bytes().map(Value::from),
                );
                put(&mut s, "ItemCount", i.item_count().map(Value::from));
                put(&mut s, "IndexArn", i.index_arn().map(Value::from));
                Value::Object(s)
            })
            .collect();
        m.insert("LocalSecondaryIndexes".into(), Value::Array(lsis));
    }
    if !d.global_secondary_indexes().is_empty() {
        let gsis = d
            .global_secondary_indexes()
            .iter()
            .map(|i| {
                let mut s = Map::new();
                put(&mut s, "IndexName", i.index_name().map(Value::from));
                put(&mut s, "KeySchema", Some(key_schema(i.key_schema())));
                put(&mut s, "Projection", i.projection().map(projection));
                put(
                    &mut s,
                    "IndexStatus",
                    i.index_status().map(|s| s.as_str().into()),
                );
                put(
                    &mut s,
                    "ProvisionedThroughput",
                    i.provisioned_throughput().map(throughput),
                );
                put(
                    &mut s,
                    "IndexSizeBytes",
                    i.index_size_bytes().map(Value::from),
                );
                put(&mut s, "ItemCount", i.item_count().map(Value::from));
                put(&mut s, "IndexArn", i.index_arn().map(Value::from));
                Value::Object(s)
            })
            .collect();
        m.insert("GlobalSecondaryIndexes".into(), Value::Array(gsis));
    }
    put(
        &mut m,
        "StreamSpecification",
        d.stream_specification().map(|s| {
            let mut o = Map::new();
            o.insert("StreamEnabled".into(), s.stream_enabled().into());
            put(
                &mut o,
                "StreamViewType",
                s.stream_view_type().map(|v| v.as_str().into()),
            );
            Value::Object(o)
        }),
    );
    put(
        &mut m,
        "LatestStreamArn",
        d.latest_stream_arn().map(Value::from),
    );
    put(
        &mut m,
        "LatestStreamLabel",
        d.latest_stream_label().map(Value::from),
    );
    put(
        &mut m,
        "TableClassSummary",
        d.table_class_summary()
            .and_then(|c| c.table_class())
            .map(|c| json!({ "TableClass": c.as_str() })),
    );
    put(
        &mut m,
        "DeletionProtectionEnabled",
        d.deletion_protection_enabled().map(Value::from),
    );
    Value::Object(m)
}

/// `TimeToLiveDescription` → `{"TimeToLiveStatus": .., "AttributeName": ..}`.
pub fn time_to_live(d: &TimeToLiveDescription) -> Value {
    let mut m = Map::new();
    put(
        &mut m,
        "TimeToLiveStatus",
        d.time_to_live_status().map(|s| s.as_str().into()),
    );
    put(&mut m, "AttributeName", d.attribute_name().map(Value::from));
    Value::Object(m)
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

fn date_time(t: &DateTime) -> Value {
    t.fmt(DateTimeFormat::DateTime)
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(t.as_secs_f64()))
}

fn key_schema(keys: &[KeySchemaElement]) -> Value {
    keys.iter()
        .map(|k| json!({ "AttributeName": k.attribute_name(), "KeyType": k.key_type().as_str() }))
        .collect()
}

fn attribute_definitions(attrs: &[AttributeDefinition]) -> Value {
    attrs
        .iter()
        .map(|a| json!({ "AttributeName": a.attribute_name(), "AttributeType": a.attribute_type().as_str() }))
        .collect()
}

fn projection(p: &Projection) -> Value {
    let mut m = Map::new();
    put(
        &mut m,
        "ProjectionType",
        p.projection_type().map(|t| t.as_str().into()),
    );
    if !p.non_key_attributes().is_empty() {
        m.insert(
            "NonKeyAttributes".into(),
            p.non_key_attributes()
                .iter()
                .map(|a| Value::from(a.as_str()))
                .collect(),
        );
    }
    Value::Object(m)
}

fn throughput(t: &ProvisionedThroughputDescription) -> Value {
    let mut m = Map::new();
    put(
        &mut m,
        "ReadCapacityUnits",
        t.read_capacity_units().map(Value::from),
    );
    put(
        &mut m,
        "WriteCapacityUnits",
        t.write_capacity_units().map(Value::from),
    );
    put(
        &mut m,
        "NumberOfDecreasesToday",
        t.number_of_decreases_today().map(Value::from),
    );
    put(
        &mut m,
        "LastIncreaseDateTime",
        t.last_increase_date_time().map(date_time),
    );
    put(
        &mut m,
        "LastDecreaseDateTime",
        t.last_decrease_date_time().map(date_time),
    );
    Value::Object(m)
}

/// An item as a plain JSON object (keys sorted), e.g.
/// `{"created_at":"…","event_uuid":"…","person_id":5,"phone_number":"555-0100"}`: numbers
/// as JSON numbers (as strings when JSON cannot hold them exactly), strings, bools, null,
/// lists and string/number sets as arrays, maps as objects, binaries as arrays of bytes.
pub fn item_to_plain_json(item: &Item) -> Value {
    let sorted: BTreeMap<&String, Value> = item
        .iter()
        .map(|(k, v)| (k, attribute_to_plain_json(v)))
        .collect();
    Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
}

/// One attribute value as plain JSON; see [`item_to_plain_json`].
pub fn attribute_to_plain_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => Value::from(s.as_str()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::from(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(b) => Value::from(b.as_ref().to_vec()),
        AttributeValue::Ss(v) => Value::from(v.clone()),
        AttributeValue::Ns(v) => Value::Array(v.iter().map(|n| number(n)).collect()),
        AttributeValue::Bs(v) => {
            Value::Array(v.iter().map(|b| Value::from(b.as_ref().to_vec())).collect())
        }
        AttributeValue::L(v) => Value::Array(v.iter().map(attribute_to_plain_json).collect()),
        AttributeValue::M(m) => item_to_plain_json(m),
        other => Value::from(format!("{other:?}")),
    }
}

/// A DynamoDB number as a JSON number when it round-trips exactly, else as its string.
fn number(n: &str) -> Value {
    if let Ok(i) = n.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(u) = n.parse::<u64>() {
        return Value::from(u);
    }
    match n.parse::<f64>() {
        Ok(f) if f.is_finite() && f.to_string() == n => Value::from(f),
        _ => Value::from(n),
    }
}

/// One attribute value as text for a table cell: strings without quotes, numbers and bools
/// as written, anything else as compact plain JSON. Control characters are escaped.
pub fn attribute_to_text(value: &AttributeValue) -> String {
    let text = match value {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.clone(),
        AttributeValue::Bool(b) => b.to_string(),
        other => attribute_to_plain_json(other).to_string(),
    };
    if text.chars().any(char::is_control) {
        text.escape_debug().to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn items_as_plain_json() {
        use aws_sdk_dynamodb::primitives::Blob;
        let n = |v: &str| AttributeValue::N(v.to_owned());
        let mut item = Item::new();
        item.insert("int".into(), n("5"));
        item.insert("neg".into(), n("-12"));
        item.insert("big".into(), n("18446744073709551615"));
        item.insert("huge".into(), n("123456789012345678901234567890"));
        item.insert("float".into(), n("2.5"));
        item.insert("s".into(), AttributeValue::S("x y".into()));
        item.insert("b".into(), AttributeValue::Bool(true));
        item.insert("null".into(), AttributeValue::Null(true));
        item.insert("bin".into(), AttributeValue::B(Blob::new(vec![1, 2])));
        item.insert(
            "list".into(),
            AttributeValue::L(vec![n("1"), AttributeValue::S("a".into())]),
        );
        let value = item_to_plain_json(&item);
        assert_eq!(
            value.to_string(),
            r#"{"b":true,"big":18446744073709551615,"bin":[1,2],"float":2.5,"huge":"123456789012345678901234567890","int":5,"list":[1,"a"],"neg":-12,"null":null,"s":"x y"}"#
        );
        assert_eq!(
            attribute_to_text(&AttributeValue::S("a\nb".into())),
            "a\\nb"
        );
        assert_eq!(attribute_to_text(&n("5.0")), "5.0");
    }

    use super::*;
    use aws_sdk_dynamodb::types::{KeyType, ScalarAttributeType, TableStatus};

    #[test]
    fn description_renders_in_api_shape() {
        let d = TableDescription::builder()
            .table_name("dev_phone_call")
            .table_status(TableStatus::Active)
            .item_count(3)
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("person_id")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("person_id")
                    .attribute_type(ScalarAttributeType::N)
                    .build()
                    .unwrap(),
            )
            .creation_date_time(DateTime::from_secs(0))
            .build();
        let v = table_description(&d);
        assert_eq!(v["TableName"], "dev_phone_call");
        assert_eq!(v["TableStatus"], "ACTIVE");
        assert_eq!(v["ItemCount"], 3);
        assert_eq!(v["KeySchema"][0]["KeyType"], "HASH");
        assert_eq!(v["AttributeDefinitions"][0]["AttributeType"], "N");
        assert_eq!(v["CreationDateTime"], "1970-01-01T00:00:00Z");
        assert!(v.get("LocalSecondaryIndexes").is_none());
    }
}
