//! The application's own CLI binary (`shop-events`), whose event types live in the
//! application's library crate, against a real DynamoDB Local. The tables it creates and drops
//! are checked with the raw SDK.

use std::process::{Command, Output, Stdio};

use aws_sdk_dynamodb::types::{KeyType, ProjectionType, ScalarAttributeType, TableStatus};
use aws_sdk_dynamodb::Client;
use eventosaurus::config::{ENDPOINT_VARS, ENVIRONMENT_PREFIX_VAR};
use eventosaurus::Storable;
use eventosaurus_testkit::local::{endpoint, store_at, unique_prefix};
use eventosaurus_testkit::raw::table_names;
use shop::OrderPlaced;

const BIN: &str = env!("CARGO_BIN_EXE_shop-events");

/// `shop-events --endpoint <local> --prefix <prefix> <args>`, with none of the variables the
/// CLI reads and no terminal.
fn shop_events(prefix: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    // None of the variables the CLI reads: the flags are what count.
    for var in std::iter::once(ENVIRONMENT_PREFIX_VAR).chain(ENDPOINT_VARS) {
        cmd.env_remove(var);
    }
    let output = cmd
        .args(["--endpoint", endpoint(), "--prefix", prefix])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run shop-events");
    assert!(
        output.status.success(),
        "shop-events {args:?} failed ({:?}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

/// The live table, read with the raw SDK, has the event type's key schema and index.
async fn assert_table_is_the_event_types(
    client: &Client,
    name: &str,
    hash: &str,
    hash_type: ScalarAttributeType,
) {
    let table = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeTable {name}: {e:?}"))
        .table
        .expect("a table description");
    assert_eq!(table.table_status(), Some(&TableStatus::Active));
    let keys: Vec<(&str, &KeyType)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type()))
        .collect();
    assert_eq!(
        keys,
        [(hash, &KeyType::Hash), ("event_uuid", &KeyType::Range)]
    );
    let hash_definition = table
        .attribute_definitions()
        .iter()
        .find(|a| a.attribute_name() == hash)
        .expect("the hash key is defined");
    assert_eq!(hash_definition.attribute_type(), &hash_type);
    let index = &table.local_secondary_indexes()[0];
    assert_eq!(index.index_name(), Some("created_at_index"));
    assert_eq!(index.key_schema()[1].attribute_name(), "created_at");
    assert_eq!(
        index.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::All)
    );
}

#[tokio::test]
async fn the_applications_binary_manages_the_tables_of_its_library_events() {
    let prefix = unique_prefix("shop");
    let store = store_at(endpoint(), &prefix).await;
    let client = store.client().unwrap().clone();
    let order_table = format!("{prefix}_order_placed");
    let refund_table = format!("{prefix}_refund_issued");

    // The binary knows exactly the library's two event types.
    let described: serde_json::Value =
        serde_json::from_slice(&shop_events(&prefix, &["describe-tables"]).stdout).unwrap();
    let names: Vec<&str> = described
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["TableName"].as_str().unwrap())
        .collect();
    assert_eq!(names, [order_table.as_str(), refund_table.as_str()]);

    let created = stdout(&shop_events(&prefix, &["create-tables"]));
    assert!(
        created.contains("2 tables ready: 2 created, 0 already existed"),
        "{created}"
    );
    assert_table_is_the_event_types(&client, &order_table, "customer_id", ScalarAttributeType::N)
        .await;
    assert_table_is_the_event_types(&client, &refund_table, "order_id", ScalarAttributeType::S)
        .await;

    let listed: serde_json::Value =
        serde_json::from_slice(&shop_events(&prefix, &["list-tables", "--json"]).stdout).unwrap();
    let event_types: Vec<&str> = listed["tables"]
        .as_array()
        .unwrap()
        .iter()
        // The consumers' lease table of the environment has no event type.
        .filter_map(|t| t["event_type"].as_str())
        .collect();
    assert_eq!(event_types, ["OrderPlaced", "RefundIssued"]);
    let checked = stdout(&shop_events(&prefix, &["check-tables"]));
    assert!(
        checked.contains("all 2 registered tables match"),
        "{checked}"
    );

    // An event stored by the library is found by the binary's query.
    OrderPlaced {
        customer_id: 7,
        item: "teapot".into(),
        cents: 2599,
    }
    .store(&store)
    .await
    .unwrap();
    let queried = stdout(&shop_events(
        &prefix,
        &["query", "order_placed", "--by", "customer_id=7", "--json"],
    ));
    let events: Vec<serde_json::Value> = queried
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{queried}");
    assert_eq!(events[0]["item"], "teapot");
    assert_eq!(events[0]["cents"], 2599);

    let dropped = stdout(&shop_events(&prefix, &["drop-tables", "--yes"]));
    assert!(dropped.contains("2 tables dropped"), "{dropped}");
    let names = table_names(&client).await;
    for table in [&order_table, &refund_table] {
        assert!(!names.contains(table), "{table} was not dropped");
    }
}
