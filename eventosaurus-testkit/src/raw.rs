//! Raw-SDK helpers for tests that check what the library and the CLI did to tables, without
//! going through them.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;

/// Every table name in the account (all pages of ListTables).
///
/// # Panics
/// If ListTables fails: a test cannot go on without it.
pub async fn table_names(client: &Client) -> Vec<String> {
    let mut names = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .list_tables()
            .set_exclusive_start_table_name(start)
            .send()
            .await
            .expect("ListTables");
        names.extend(page.table_names().iter().cloned());
        start = page.last_evaluated_table_name().map(str::to_owned);
        if start.is_none() {
            return names;
        }
    }
}

/// Creates a table by hand, on demand, with these key attributes (HASH first) and no index:
/// e.g. a decoy, or a table with another schema under a registered name.
///
/// # Panics
/// If CreateTable fails.
pub async fn create_table(
    client: &Client,
    name: &str,
    keys: &[(&str, KeyType, ScalarAttributeType)],
) {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attribute, key_type, attribute_type) in keys {
        request = request
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(*attribute)
                    .key_type(key_type.clone())
                    .build()
                    .expect("key schema element"),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*attribute)
                    .attribute_type(attribute_type.clone())
                    .build()
                    .expect("attribute definition"),
            );
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"));
}

/// Deletes a table by name, ignoring every error (e.g. it is already gone).
pub async fn delete_table(client: &Client, name: &str) {
    let _ = client.delete_table().table_name(name).send().await;
}
