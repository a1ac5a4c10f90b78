//! The SDK's `TableDescription` as JSON in the shape of the DynamoDB API's DescribeTable
//! `Table` (the SDK types are not serde, so this is written out by hand), and items as plain
//! JSON for `query --json`.

use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingModeSummary, GlobalSecondaryIndexDescription,
    KeySchemaElement, LocalSecondaryIndexDescription, Projection, ProvisionedThroughputDescription,
    StreamSpecification, TableDescription, TimeToLiveDescription,
};
use eventosaurus::codec::Item;
use eventosaurus::plain_json::{self, Numbers};
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
        d.billing_mode_summary().map(billing_mode_summary),
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
    let lsis = d.local_secondary_indexes();
    if !lsis.is_empty() {
        let lsis = lsis.iter().map(local_index).collect();
        m.insert("LocalSecondaryIndexes".into(), Value::Array(lsis));
    }
    let gsis = d.global_secondary_indexes();
    if !gsis.is_empty() {
        let gsis = gsis.iter().map(global_index).collect();
        m.insert("GlobalSecondaryIndexes".into(), Value::Array(gsis));
    }
    put(
        &mut m,
        "StreamSpecification",
        d.stream_specification().map(stream_specification),
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

fn billing_mode_summary(b: &BillingModeSummary) -> Value {
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
}

/// The fields both kinds of index have, in the API's order around the kind's own ones.
struct IndexFields<'a> {
    name: Option<&'a str>,
    key_schema: &'a [KeySchemaElement],
    projection: Option<&'a Projection>,
    size_bytes: Option<i64>,
    item_count: Option<i64>,
    arn: Option<&'a str>,
}

fn index(fields: IndexFields<'_>, own: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut s = Map::new();
    put(&mut s, "IndexName", fields.name.map(Value::from));
    put(&mut s, "KeySchema", Some(key_schema(fields.key_schema)));
    put(&mut s, "Projection", fields.projection.map(projection));
    own(&mut s);
    put(&mut s, "IndexSizeBytes", fields.size_bytes.map(Value::from));
    put(&mut s, "ItemCount", fields.item_count.map(Value::from));
    put(&mut s, "IndexArn", fields.arn.map(Value::from));
    Value::Object(s)
}

/// The [`IndexFields`] of either kind of index description (the SDK gives the two types the
/// same accessors but no common trait).
macro_rules! index_fields {
    ($i:expr) => {
        IndexFields {
            name: $i.index_name(),
            key_schema: $i.key_schema(),
            projection: $i.projection(),
            size_bytes: $i.index_size_bytes(),
            item_count: $i.item_count(),
            arn: $i.index_arn(),
        }
    };
}

fn local_index(i: &LocalSecondaryIndexDescription) -> Value {
    index(index_fields!(i), |_| {})
}

fn global_index(i: &GlobalSecondaryIndexDescription) -> Value {
    index(index_fields!(i), |s| {
        put(
            s,
            "IndexStatus",
            i.index_status().map(|s| s.as_str().into()),
        );
        put(
            s,
            "ProvisionedThroughput",
            i.provisioned_throughput().map(throughput),
        );
    })
}

fn stream_specification(s: &StreamSpecification) -> Value {
    let mut o = Map::new();
    o.insert("StreamEnabled".into(), s.stream_enabled().into());
    put(
        &mut o,
        "StreamViewType",
        s.stream_view_type().map(|v| v.as_str().into()),
    );
    Value::Object(o)
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
/// lists and sets as arrays, maps as objects, binaries as arrays of bytes (see
/// [`eventosaurus::plain_json`]).
pub fn item_to_plain_json(item: &Item) -> Value {
    Value::Object(plain_json::item(item, Numbers::Exact))
}

/// One attribute value as text for a table cell: strings without quotes, numbers and bools
/// as written, anything else as compact plain JSON. Control characters are escaped.
pub fn attribute_to_text(value: &AttributeValue) -> String {
    let text = match value {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.clone(),
        AttributeValue::Bool(b) => b.to_string(),
        other => plain_json::value(other, Numbers::Exact).to_string(),
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

    #[test]
    fn indexes_stream_and_billing_render_in_api_shape() {
        use aws_sdk_dynamodb::types::{BillingMode, IndexStatus, ProjectionType, StreamViewType};
        let key = || {
            KeySchemaElement::builder()
                .attribute_name("created_at")
                .key_type(KeyType::Range)
                .build()
                .unwrap()
        };
        let all = || {
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build()
        };
        let d = TableDescription::builder()
            .table_name("dev_phone_call")
            .billing_mode_summary(
                BillingModeSummary::builder()
                    .billing_mode(BillingMode::PayPerRequest)
                    .build(),
            )
            .local_secondary_indexes(
                LocalSecondaryIndexDescription::builder()
                    .index_name("created_at_index")
                    .key_schema(key())
                    .projection(all())
                    .item_count(2)
                    .build(),
            )
            .global_secondary_indexes(
                GlobalSecondaryIndexDescription::builder()
                    .index_name("by_number")
                    .key_schema(key())
                    .projection(all())
                    .index_status(IndexStatus::Active)
                    .provisioned_throughput(
                        ProvisionedThroughputDescription::builder()
                            .read_capacity_units(5)
                            .build(),
                    )
                    .build(),
            )
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .unwrap(),
            )
            .build();
        let v = table_description(&d);
        assert_eq!(
            v["BillingModeSummary"],
            json!({ "BillingMode": "PAY_PER_REQUEST" })
        );
        let index_key = json!([{ "AttributeName": "created_at", "KeyType": "RANGE" }]);
        assert_eq!(
            v["LocalSecondaryIndexes"],
            json!([{
                "IndexName": "created_at_index",
                "KeySchema": index_key,
                "Projection": { "ProjectionType": "ALL" },
                "ItemCount": 2,
            }])
        );
        assert_eq!(
            v["GlobalSecondaryIndexes"],
            json!([{
                "IndexName": "by_number",
                "KeySchema": index_key,
                "Projection": { "ProjectionType": "ALL" },
                "IndexStatus": "ACTIVE",
                "ProvisionedThroughput": { "ReadCapacityUnits": 5 },
            }])
        );
        assert_eq!(
            v["StreamSpecification"],
            json!({ "StreamEnabled": true, "StreamViewType": "NEW_IMAGE" })
        );
    }
}
