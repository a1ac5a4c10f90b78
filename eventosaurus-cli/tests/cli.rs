//! The real `eventosaurus-cli` binary against a real DynamoDB Local.
//!
//! Every test uses its own prefix and passes `--endpoint` and `--prefix` (the child's
//! environment is cleared of the variables the CLI reads, so the flags are what count).
//! Standard input is `/dev/null`: never a terminal.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use assert_cmd::prelude::*;
use aws_sdk_dynamodb::types::{KeyType, ProjectionType, ScalarAttributeType};
use aws_sdk_dynamodb::Client;
use eventosaurus::config::{ENDPOINT_VARS, ENVIRONMENT_PREFIX_VAR};
use eventosaurus::query::{begins_with, between, contains, gt, is_in, le, ne, not_contains};
use eventosaurus::table::{self, Billing};
use eventosaurus::Storable;
use eventosaurus_cli::definitions;
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::local::{endpoint, store_at, unique_prefix};
use eventosaurus_testkit::raw::{self, table_names};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_eventosaurus-cli");
/// The tables the repository binary knows: `eventosaurus-tables.json` at the root, found from
/// the tests' working directory (the crate's), holds the example events of `eventosaurus-testkit/src/events.rs`.
const REGISTERED: [&str; 2] = ["neat_event", "phone_call"];

fn command(program: impl Into<PathBuf>) -> Command {
    let mut cmd = Command::new(program.into());
    // None of the variables the CLI reads: the flags are what count.
    for var in std::iter::once(ENVIRONMENT_PREFIX_VAR).chain(ENDPOINT_VARS) {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// `eventosaurus-cli --endpoint <local> --prefix <prefix> <args>`.
fn cli(prefix: &str, args: &[&str]) -> Command {
    let mut cmd = command(BIN);
    cmd.args(["--endpoint", endpoint(), "--prefix", prefix])
        .args(args);
    cmd
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8 stderr")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(output)))
}

/// Asserts the run failed with `code` and printed exactly one line, `error: ...`, on stderr.
fn one_line_error(output: &Output, code: i32) -> String {
    let err = stderr(output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{err}",
        stdout(output)
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected, got:\n{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    lines[0].to_owned()
}

async fn client(prefix: &str) -> Client {
    store_at(endpoint(), prefix)
        .await
        .client()
        .expect("a DynamoDB store")
        .clone()
}

/// A table made by hand with the raw SDK: hash key `hash` (of `hash_type`), no range key, no LSI.
async fn create_raw(client: &Client, name: &str, hash: &str, hash_type: ScalarAttributeType) {
    raw::create_table(client, name, &[(hash, KeyType::Hash, hash_type)]).await;
}

/// Asserts that the registered tables of `prefix` exist.
async fn assert_registered_exist(client: &Client, prefix: &str, why: &str) {
    let names = table_names(client).await;
    for table in REGISTERED {
        let name = format!("{prefix}_{table}");
        assert!(names.contains(&name), "{name} is gone: {why}");
    }
}

#[tokio::test]
async fn create_tables_twice_is_idempotent_and_tables_match_their_definitions() {
    let prefix = unique_prefix("create");
    let first = cli(&prefix, &["create-tables"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&first);
    for table in REGISTERED {
        assert!(text.contains(&format!("{prefix}_{table}")), "{text}");
    }
    assert!(
        text.contains("2 tables ready: 2 created, 0 already existed"),
        "{text}"
    );

    let second = cli(&prefix, &["create-tables"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout(&second);
    assert_eq!(text.matches("already exists, ACTIVE").count(), 2, "{text}");
    assert!(
        text.contains("2 tables ready: 0 created, 2 already existed"),
        "{text}"
    );

    // The key schema and the LSI exist as defined.
    let store = store_at(endpoint(), &prefix).await;
    for def in [PhoneCall::TABLE, NeatEvent::TABLE] {
        let live = table::describe_table(&store, def)
            .await
            .unwrap()
            .expect("table exists");
        assert_eq!(live.table_status().map(|s| s.as_str()), Some("ACTIVE"));
        let keys: Vec<_> = live
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_owned(),
                    k.key_type().as_str().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (def.partition_key.to_owned(), "HASH".to_owned()),
                ("event_uuid".to_owned(), "RANGE".to_owned())
            ]
        );
        let lsi = &live.local_secondary_indexes()[0];
        assert_eq!(lsi.index_name(), Some(table::CREATED_AT_INDEX));
        assert_eq!(lsi.key_schema()[1].attribute_name(), "created_at");
        assert_eq!(
            lsi.projection().and_then(|p| p.projection_type()),
            Some(&ProjectionType::All)
        );
        assert!(table::drift(&def.spec(&prefix, Billing::OnDemand), Some(&live)).is_empty());
    }

    let check = cli(&prefix, &["check-tables"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout(&check).contains("all 2 registered tables match their definitions"),
        "{}",
        stdout(&check)
    );

    cli(&prefix, &["drop-tables", "--yes"]).assert().success();
}

#[tokio::test]
async fn create_tables_provisioned() {
    let prefix = unique_prefix("provisioned");
    cli(
        &prefix,
        &[
            "create-tables",
            "--billing",
            "provisioned",
            "--read",
            "3",
            "--write",
            "4",
        ],
    )
    .assert()
    .success();
    let live = json(
        cli(&prefix, &["describe-tables", "--live"])
            .assert()
            .success()
            .get_output(),
    );
    for entry in live.as_array().unwrap() {
        let table = &entry["Table"];
        assert_eq!(
            table["ProvisionedThroughput"]["ReadCapacityUnits"], 3,
            "{entry}"
        );
        assert_eq!(
            table["ProvisionedThroughput"]["WriteCapacityUnits"], 4,
            "{entry}"
        );
    }
    // Usage errors exit 2.
    cli(&prefix, &["create-tables", "--billing", "provisioned"])
        .assert()
        .code(2);
    let out = cli(&prefix, &["create-tables", "--read", "3"])
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(line.contains("--billing provisioned"), "{line}");
    cli(&prefix, &["drop-tables", "--yes"]).assert().success();
}

#[tokio::test]
async fn region_flag_is_used() {
    // DynamoDB Local keeps a separate set of tables per region: --region must reach the client.
    let prefix = unique_prefix("region");
    cli(&prefix, &["--region", "eu-west-1", "create-tables"])
        .assert()
        .success();
    let listed = json(
        cli(&prefix, &["--region", "eu-west-1", "list-tables", "--json"])
            .assert()
            .success()
            .get_output(),
    );
    assert!(
        listed["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["exists"] == true),
        "{listed}"
    );
    let listed = json(
        cli(&prefix, &["list-tables", "--json"])
            .assert()
            .success()
            .get_output(),
    );
    assert!(
        listed["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["exists"] == false),
        "{listed}"
    );
    cli(&prefix, &["--region", "eu-west-1", "drop-tables", "--yes"])
        .assert()
        .success();
}

#[tokio::test]
async fn list_and_describe_print_json() {
    let prefix = unique_prefix("json");
    let client = client(&prefix).await;
    // Before creation: the registered tables are listed as missing.
    let listed = json(
        cli(&prefix, &["list-tables", "--json"])
            .assert()
            .success()
            .get_output(),
    );
    assert_eq!(listed["prefix"], prefix.as_str());
    assert!(listed["tables"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["exists"] == false && t["registered"] == true));

    cli(&prefix, &["create-tables"]).assert().success();
    let unregistered = format!("{prefix}_unregistered");
    create_raw(&client, &unregistered, "id", ScalarAttributeType::S).await;
    let store = store_at(endpoint(), &prefix).await;
    PhoneCall {
        person_id: 7,
        phone_number: "555".into(),
        last_called: "today".into(),
    }
    .store(&store)
    .await
    .unwrap();

    let listed = json(
        cli(&prefix, &["list-tables", "--json"])
            .assert()
            .success()
            .get_output(),
    );
    assert_eq!(listed["item_count_is_approximate"], true);
    let tables = listed["tables"].as_array().unwrap();
    let names: Vec<&str> = tables
        .iter()
        .map(|t| t["table_name"].as_str().unwrap())
        .collect();
    // create-tables also made the stream consumers' lease table.
    assert_eq!(
        names,
        [
            format!("{prefix}_eventosaurus_leases"),
            format!("{prefix}_neat_event"),
            format!("{prefix}_phone_call"),
            unregistered.clone()
        ]
    );
    let phone = &tables[2];
    assert_eq!(phone["registered"], true);
    assert_eq!(phone["event_type"], "PhoneCall");
    assert_eq!(phone["status"], "ACTIVE");
    assert_eq!(
        phone["item_count"], 1,
        "DynamoDB Local keeps ItemCount current: {phone}"
    );
    assert_eq!(tables[3]["registered"], false);
    assert_eq!(tables[3]["event_type"], Value::Null);

    // The text form marks the same.
    let text = stdout(
        cli(&prefix, &["list-tables"])
            .assert()
            .success()
            .get_output(),
    );
    assert!(
        text.contains("2 declared by registered event types, 2 not"),
        "{text}"
    );
    assert!(text.contains("approximate"), "{text}");

    let described = json(
        cli(&prefix, &["describe-tables"])
            .assert()
            .success()
            .get_output(),
    );
    let specs = described.as_array().unwrap();
    assert_eq!(specs.len(), 2);
    assert_eq!(specs[1]["TableName"], format!("{prefix}_phone_call"));
    assert_eq!(specs[1]["KeySchema"][0]["AttributeName"], "person_id");
    assert_eq!(specs[1]["AttributeDefinitions"][0]["AttributeType"], "N");
    assert_eq!(
        specs[1]["LocalSecondaryIndexes"][0]["IndexName"],
        "created_at_index"
    );
    assert_eq!(specs[1]["BillingMode"], "PAY_PER_REQUEST");

    let live = json(
        cli(&prefix, &["describe-tables", "--live"])
            .assert()
            .success()
            .get_output(),
    );
    let live = live.as_array().unwrap();
    assert_eq!(live.len(), 2);
    assert_eq!(live[0]["EventType"], "NeatEvent");
    let table = &live[1]["Table"];
    assert_eq!(table["TableName"], format!("{prefix}_phone_call"));
    assert_eq!(table["TableStatus"], "ACTIVE");
    assert_eq!(table["KeySchema"], specs[1]["KeySchema"]);
    assert_eq!(
        table["LocalSecondaryIndexes"][0]["KeySchema"],
        specs[1]["LocalSecondaryIndexes"][0]["KeySchema"]
    );
    assert_eq!(
        table["LocalSecondaryIndexes"][0]["Projection"]["ProjectionType"],
        "ALL"
    );
    assert_eq!(
        table["BillingModeSummary"]["BillingMode"],
        "PAY_PER_REQUEST"
    );
    assert_eq!(table["ItemCount"], 1);

    cli(&prefix, &["drop-tables", "--yes"]).assert().success();
    let live = json(
        cli(&prefix, &["describe-tables", "--live"])
            .assert()
            .success()
            .get_output(),
    );
    assert!(
        live.as_array()
            .unwrap()
            .iter()
            .all(|t| t["Table"].is_null()),
        "{live}"
    );
    raw::delete_table(&client, &unregistered).await;
}

#[tokio::test]
async fn check_tables_detects_a_hand_made_table_with_the_wrong_key() {
    let prefix = unique_prefix("check");
    let client = client(&prefix).await;
    // phone_call's partition key is person_id (N); make it by hand as a string key, no LSI.
    create_raw(
        &client,
        &format!("{prefix}_phone_call"),
        "person_id",
        ScalarAttributeType::S,
    )
    .await;

    let out = cli(&prefix, &["check-tables"]).output().unwrap();
    let line = one_line_error(&out, 1);
    assert!(line.contains("2 of 2 registered tables differ"), "{line}");
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{prefix}_neat_event (NeatEvent): missing table")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{prefix}_phone_call (PhoneCall): partition key (HASH): expected `person_id` (N), \
             found `person_id` (S)"
        )),
        "{text}"
    );
    assert!(
        text.contains("missing local secondary index `created_at_index`"),
        "{text}"
    );

    let out = cli(&prefix, &["check-tables", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let checks = json(&out);
    let checks = checks.as_array().unwrap();
    assert_eq!(checks[0]["drift"][0]["drift"], "missing_table");
    assert_eq!(checks[1]["ok"], false);
    assert_eq!(checks[1]["drift"][0]["drift"], "key");
    assert_eq!(checks[1]["drift"][0]["found"]["type"], "S");
    assert_eq!(checks[1]["drift"][1]["drift"], "key");
    assert_eq!(checks[1]["drift"][1]["key_type"], "RANGE");
    assert_eq!(checks[1]["drift"][2]["drift"], "missing_index");

    // create-tables leaves the existing (wrong) table alone: it is reported, not replaced.
    cli(&prefix, &["create-tables"]).assert().success();
    let out = cli(&prefix, &["check-tables"]).output().unwrap();
    assert!(one_line_error(&out, 1).contains("1 of 2 registered tables differ"));
    // drop-tables refuses the hand-made table, naming the drift, and drops nothing.
    let out = cli(&prefix, &["drop-tables", "--yes"]).output().unwrap();
    let line = one_line_error(&out, 1);
    assert!(
        line.contains(&format!("refusing to drop {prefix}_phone_call"))
            && line.contains("nothing was dropped"),
        "{line}"
    );
    assert!(
        stdout(&out).contains(&format!(
            "{prefix}_phone_call (PhoneCall): partition key (HASH): expected"
        )),
        "{}",
        stdout(&out)
    );
    assert_registered_exist(&client, &prefix, "a refused drop dropped it").await;
    raw::delete_table(&client, &format!("{prefix}_phone_call")).await;
    let store = store_at(endpoint(), &prefix).await;
    let name = format!("{prefix}_phone_call");
    table::wait_until_deleted(&store, &name, table::DELETED_TIMEOUT)
        .await
        .unwrap();
    cli(&prefix, &["drop-tables", "--yes"]).assert().success();
}

#[tokio::test]
async fn drop_tables_drops_exactly_ours_and_leaves_decoys_alone() {
    let prefix = unique_prefix("drop");
    let client = client(&prefix).await;
    cli(&prefix, &["create-tables"]).assert().success();
    let other_prefix = unique_prefix("drop-other");
    cli(&other_prefix, &["create-tables"]).assert().success();
    let decoys = [
        // A name that extends the prefix ...
        format!("{prefix}x_phone_call"),
        // ... a longer environment that starts with ours and `_` ...
        format!("{prefix}_eu_phone_call"),
        format!("{prefix}_eu_neat_event"),
        // ... and an unregistered table under our prefix.
        format!("{prefix}_phone_calls"),
        format!("{prefix}_unregistered"),
    ];
    for decoy in &decoys {
        create_raw(&client, decoy, "id", ScalarAttributeType::S).await;
    }

    // Without --yes and without a terminal: refused, nothing dropped.
    let out = cli(&prefix, &["drop-tables"]).output().unwrap();
    let line = one_line_error(&out, 1);
    assert!(
        line.contains("refusing to drop 2 table(s)") && line.contains("--yes"),
        "{line}"
    );
    let text = stdout(&out);
    assert!(
        text.contains(&format!("  {prefix}_phone_call (PhoneCall")),
        "{text}"
    );
    assert!(
        text.contains(&format!("  {prefix}_neat_event (NeatEvent")),
        "{text}"
    );
    for decoy in decoys
        .iter()
        .filter(|d| d.starts_with(&format!("{prefix}_")))
    {
        assert!(
            !text.contains(&format!("  {decoy} ")),
            "{decoy} must not be listed for dropping:\n{text}"
        );
        assert!(
            text.contains(decoy.as_str()),
            "{decoy} is listed as not touched:\n{text}"
        );
    }

    // --dry-run: lists, drops nothing.
    let out = cli(&prefix, &["drop-tables", "--dry-run"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout(&out).contains("dry run: nothing was dropped"),
        "{}",
        stdout(&out)
    );
    assert_registered_exist(&client, &prefix, "the dry run dropped it").await;

    // --yes: drops ours, and only ours.
    let out = cli(&prefix, &["drop-tables", "--yes"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout(&out).contains("2 tables dropped"),
        "{}",
        stdout(&out)
    );
    let names = table_names(&client).await;
    for table in REGISTERED {
        assert!(
            !names.contains(&format!("{prefix}_{table}")),
            "{table} was not dropped"
        );
        assert!(
            names.contains(&format!("{other_prefix}_{table}")),
            "another prefix's {table} was dropped"
        );
    }
    for decoy in &decoys {
        assert!(names.contains(decoy), "decoy {decoy} was dropped");
    }

    // Again: nothing left to drop, not an error.
    let out = cli(&prefix, &["drop-tables", "--yes"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(stdout(&out).contains("nothing to drop"), "{}", stdout(&out));

    for decoy in &decoys {
        raw::delete_table(&client, decoy).await;
    }
    cli(&other_prefix, &["drop-tables", "--yes"])
        .assert()
        .success();
}

/// The repository root, where `eventosaurus-tables.json` lives.
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The repository binary's event types come from `eventosaurus-tables.json` at the root: it
/// must be exactly the definitions of the example events (`eventosaurus-testkit/src/events.rs`).
#[test]
fn the_repository_definitions_file_is_the_example_events() {
    let path = repo_root().join(definitions::FILE_NAME);
    let expected = definitions::to_json(&[NeatEvent::TABLE, PhoneCall::TABLE]);
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} must hold the definitions of eventosaurus-testkit/src/events.rs; write this into it:\n{expected}",
        path.display()
    );
    assert_eq!(
        definitions::load(&path).unwrap(),
        [NeatEvent::TABLE, PhoneCall::TABLE]
    );
}

/// Without a definitions file, the binary knows no event types, and says what to do; with
/// `--tables` it knows those; `describe-tables --definitions` prints the file's format.
#[test]
fn the_binary_reads_its_definitions_from_a_file() {
    let dir = std::env::temp_dir().join(unique_prefix("no-defs"));
    std::fs::create_dir_all(&dir).unwrap();
    let out = command(BIN)
        .current_dir(&dir)
        .args(["--prefix", "p", "describe-tables"])
        .output()
        .unwrap();
    let line = one_line_error(&out, 1);
    assert!(
        line.contains("no table definitions")
            && line.contains("--tables FILE")
            && line.contains("eventosaurus_cli::run"),
        "{line}"
    );
    // The repository's file, given explicitly from elsewhere, and printed back unchanged.
    let file = repo_root().join(definitions::FILE_NAME);
    let out = command(BIN)
        .current_dir(&dir)
        .arg("--tables")
        .arg(&file)
        .args(["describe-tables", "--definitions"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout(&out), std::fs::read_to_string(&file).unwrap());
    // A broken file is a one-line usage error naming it.
    let broken = dir.join("broken.json");
    std::fs::write(&broken, r#"[{"name": "x"}]"#).unwrap();
    let out = command(BIN)
        .arg("--tables")
        .arg(&broken)
        .args(["--prefix", "p", "check-tables"])
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(line.contains("broken.json"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_prefix_is_one_line_naming_the_variable_and_the_flag() {
    let out = command(BIN)
        .args(["--endpoint", "http://127.0.0.1:9", "list-tables"])
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(
        line.contains("EVENT_ENVIRONMENT_PREFIX") && line.contains("--prefix"),
        "{line}"
    );
    // The variable works as well as the flag.
    let out = command(BIN)
        .env("EVENT_ENVIRONMENT_PREFIX", "bad prefix")
        .args(["--endpoint", "http://127.0.0.1:9", "list-tables"])
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(
        line.contains("\"bad prefix\" (from EVENT_ENVIRONMENT_PREFIX)"),
        "{line}"
    );
}

#[test]
fn unreachable_endpoint_is_one_line_naming_it() {
    // Port 9 (discard) on loopback: nothing listens there.
    let endpoint = "http://127.0.0.1:9";
    for args in [
        &["list-tables"][..],
        &["create-tables"],
        &["check-tables"],
        &["drop-tables", "--yes"],
    ] {
        let out = command(BIN)
            .args(["--prefix", "unreachable", "--endpoint", endpoint])
            .args(args)
            .output()
            .unwrap();
        let line = one_line_error(&out, 1);
        assert!(
            line.contains(&format!("could not reach DynamoDB at {endpoint}")),
            "{line}"
        );
    }
    let out = command(BIN)
        .args(["--prefix", "p", "--endpoint", "127.0.0.1:9", "list-tables"])
        .output()
        .unwrap();
    assert!(one_line_error(&out, 2).contains("from --endpoint"));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    command(BIN).assert().code(2);
    command(BIN).args(["no-such-command"]).assert().code(2);
    command(BIN)
        .args(["list-tables", "--no-such-flag"])
        .assert()
        .code(2);
    let help = command(BIN)
        .arg("--help")
        .assert()
        .code(0)
        .get_output()
        .clone();
    for name in [
        "create-tables",
        "list-tables",
        "describe-tables",
        "check-tables",
        "query",
        "drop-tables",
    ] {
        assert!(stdout(&help).contains(name), "{}", stdout(&help));
    }
}

#[tokio::test]
async fn list_tables_pages_past_100_tables() {
    let prefix = unique_prefix("many");
    let client = client(&prefix).await;
    let names: Vec<String> = (0..105).map(|i| format!("{prefix}_t{i:03}")).collect();
    // A decoy just past our names in ListTables' order, and one just before.
    let decoys = [format!("{prefix}x_after"), format!("{prefix}-before")];
    let mut tasks = tokio::task::JoinSet::new();
    for name in names.iter().chain(&decoys) {
        let (client, name) = (client.clone(), name.clone());
        tasks.spawn(async move { create_raw(&client, &name, "id", ScalarAttributeType::S).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }

    let listed = json(
        cli(&prefix, &["list-tables", "--json"])
            .assert()
            .success()
            .get_output(),
    );
    let listed: Vec<&str> = listed["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["exists"] == true)
        .map(|t| t["table_name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, names, "all 105 tables, in order, and no decoy");
    // The library function agrees.
    let store = store_at(endpoint(), &prefix).await;
    assert_eq!(table::list_tables(&store).await.unwrap(), names);

    let mut tasks = tokio::task::JoinSet::new();
    for name in names.iter().chain(&decoys) {
        let (client, name) = (client.clone(), name.clone());
        tasks.spawn(async move { raw::delete_table(&client, &name).await });
    }
    while tasks.join_next().await.is_some() {}
}

/// An application's own three-line binary (`examples/my_app_cli.rs`) registers its own event
/// type, and only that; the repository binary registers the example events. `cargo test`
/// builds the example next to the binary.
#[test]
fn a_users_binary_acts_on_its_own_events() {
    let example = PathBuf::from(BIN)
        .parent()
        .unwrap()
        .join("examples")
        .join("my_app_cli");
    assert!(
        example.is_file(),
        "{} is missing: run `cargo test -p eventosaurus-cli` (which builds examples) or `cargo build -p \
         eventosaurus-cli --example my_app_cli`",
        example.display()
    );
    let prefix = unique_prefix("user");
    let mut cmd = command(&example);
    cmd.args(["--endpoint", endpoint(), "--prefix", &prefix]);
    let described = json(cmd.arg("describe-tables").assert().success().get_output());
    let names: Vec<&str> = described
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["TableName"].as_str().unwrap())
        .collect();
    assert_eq!(names, [format!("{prefix}_signup")]);

    let mut cmd = command(&example);
    cmd.args(["--endpoint", endpoint(), "--prefix", &prefix]);
    cmd.arg("create-tables").assert().success();
    let mut cmd = command(&example);
    cmd.args([
        "--endpoint",
        endpoint(),
        "--prefix",
        &prefix,
        "list-tables",
        "--json",
    ]);
    let listed = json(cmd.assert().success().get_output());
    // [0] is the stream consumers' lease table, which create-tables also makes.
    assert_eq!(
        listed["tables"][1]["table_name"],
        format!("{prefix}_signup")
    );
    assert_eq!(listed["tables"][1]["event_type"], "Signup");
    assert_eq!(listed["tables"][1]["status"], "ACTIVE");

    // The repository binary does not know Signup: for it, the table is not registered.
    let listed = json(
        cli(&prefix, &["list-tables", "--json"])
            .assert()
            .success()
            .get_output(),
    );
    let signup = listed["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table_name"] == format!("{prefix}_signup"))
        .cloned();
    assert_eq!(signup.expect("listed")["registered"], false);
    let described = json(
        cli(&prefix, &["describe-tables"])
            .assert()
            .success()
            .get_output(),
    );
    let names: Vec<&str> = described
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["TableName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            format!("{prefix}_neat_event"),
            format!("{prefix}_phone_call")
        ]
    );

    let mut cmd = command(&example);
    cmd.args([
        "--endpoint",
        endpoint(),
        "--prefix",
        &prefix,
        "drop-tables",
        "--yes",
    ]);
    cmd.assert().success();
}

/// `query --json` as the set of `event_uuid`s it printed (each line one JSON object).
fn query_uuids(prefix: &str, args: &[&str]) -> BTreeSet<String> {
    let mut full = vec!["query", "phone_call", "--json"];
    full.extend_from_slice(args);
    let output = cli(prefix, &full).assert().success().get_output().clone();
    stdout(&output)
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            event["event_uuid"].as_str().expect("event_uuid").to_owned()
        })
        .collect()
}

fn library_uuids(events: &[eventosaurus::StoredEvent<PhoneCall>]) -> BTreeSet<String> {
    events.iter().map(|e| e.event_uuid.to_string()).collect()
}

#[tokio::test]
async fn query_returns_the_same_events_as_the_library() {
    let prefix = unique_prefix("query");
    cli(&prefix, &["create-tables"]).assert().success();
    let store = store_at(endpoint(), &prefix).await;
    // Person 5: six calls, 555-01xx and 666-02xx, with distinct created_at; 6 and 7: a few.
    let mut created = Vec::new();
    for (person, number) in [
        (5u64, "555-0100"),
        (5, "555-0101"),
        (5, "666-0200"),
        (5, "555-0102"),
        (5, "666-0201"),
        (5, "555 0103 = ext"),
        (6, "555-0600"),
        (6, "666-0601"),
        (7, "555-0700"),
    ] {
        let call = PhoneCall {
            person_id: person,
            phone_number: number.to_owned(),
            last_called: "2015-01-04".to_owned(),
        };
        match store.store(&call).await.unwrap() {
            eventosaurus::StoreOutcome::Stored { created_at, .. } => {
                created.push(created_at.to_string());
            }
            other => panic!("{other:?}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let (c1, c3) = (created[1].as_str(), created[3].as_str());
    let q = PhoneCall::query;

    let cases: Vec<(Vec<String>, _, usize)> = vec![
        (vec!["person_id=5".into()], q().by_person_id(5), 6),
        (
            vec!["person_id=5".into(), format!("created_at>{c1}")],
            q().by_person_id(5).by_created_at(gt(c1)),
            4,
        ),
        (
            vec![
                "person_id = 5".into(),
                format!("created_at between {c1},{c3}"),
            ],
            q().by_person_id(5).by_created_at(between(c1, c3)),
            3,
        ),
        (
            vec!["person_id=5".into(), "phone_number begins_with 555".into()],
            q().by_person_id(5).by_phone_number(begins_with("555")),
            4,
        ),
        (
            vec!["person_id=5".into(), "phone_number!=555-0101".into()],
            q().by_person_id(5).by_phone_number(ne("555-0101")),
            5,
        ),
        (
            vec!["person_id=5".into(), "phone_number=555 0103 = ext".into()],
            q().by_person_id(5).by_phone_number("555 0103 = ext"),
            1,
        ),
        (
            vec![
                "person_id=5".into(),
                "phone_number in 555-0100,666-0201,555-0600".into(),
            ],
            q().by_person_id(5)
                .by_phone_number(is_in(["555-0100", "666-0201", "555-0600"])),
            2,
        ),
        (
            vec![
                "person_id=5".into(),
                format!("created_at<={c3}"),
                "phone_number contains 01".into(),
                "phone_number not_contains 0101".into(),
            ],
            q().by_person_id(5)
                .by_created_at(le(c3))
                .by_phone_number(contains("01"))
                .by_phone_number(not_contains("0101")),
            2,
        ),
        (
            vec!["person_id in 5,6".into(), "--allow-scan".into()],
            q().by_person_id(is_in([5, 6])).allow_scan(),
            8,
        ),
    ];
    for (args, library, expected) in cases {
        let mut cli_args: Vec<&str> = Vec::new();
        for arg in &args {
            if arg.starts_with("--") {
                cli_args.push(arg);
            } else {
                cli_args.extend(["--by", arg]);
            }
        }
        let from_library = library_uuids(&library.run(&store).await.unwrap());
        assert_eq!(from_library.len(), expected, "{args:?}");
        assert_eq!(query_uuids(&prefix, &cli_args), from_library, "{args:?}");
    }

    // A JSON line is the event's attributes plus event_uuid and created_at, numbers as numbers.
    let output = cli(
        &prefix,
        &["query", "phone_call", "--by", "person_id=7", "--json"],
    )
    .assert()
    .success()
    .get_output()
    .clone();
    let line: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(line["person_id"], 5 + 2);
    assert_eq!(line["phone_number"], "555-0700");
    assert_eq!(line["created_at"], created[8].as_str());

    // --count is the library's count (Select=COUNT).
    let counted = cli(
        &prefix,
        &[
            "query",
            "phone_call",
            "--by",
            "person_id=5",
            "--by",
            "phone_number begins_with 666",
            "--count",
        ],
    )
    .assert()
    .success()
    .get_output()
    .clone();
    let library_count = q()
        .by_person_id(5)
        .by_phone_number(begins_with("666"))
        .count(&store)
        .await
        .unwrap();
    assert_eq!(library_count, 2);
    assert_eq!(stdout(&counted).trim(), library_count.to_string());

    // --limit N returns exactly N; with --desc, the newest first, as the library's.
    for n in ["1", "2", "3"] {
        let uuids = query_uuids(&prefix, &["--by", "person_id=5", "--limit", n]);
        assert_eq!(uuids.len(), n.parse::<usize>().unwrap());
    }
    let newest = query_uuids(
        &prefix,
        &[
            "--by",
            "person_id=5",
            "--by",
            "created_at>0",
            "--desc",
            "--limit",
            "2",
        ],
    );
    let library = q()
        .by_person_id(5)
        .by_created_at(gt("0"))
        .descending()
        .limit(2)
        .run(&store)
        .await
        .unwrap();
    assert_eq!(newest, library_uuids(&library));
    assert!(library
        .iter()
        .any(|e| e.created_at.to_string() == created[5]));

    // The default output is a table with a header and a summary line.
    let table = stdout(
        cli(&prefix, &["query", "phone_call", "--by", "person_id=6"])
            .assert()
            .success()
            .get_output(),
    );
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("PERSON_ID  CREATED_AT"), "{table}");
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[3].starts_with("2 events (Query of "), "{table}");
}

#[tokio::test]
async fn query_explain_prints_the_plan_without_sending_it() {
    // No table exists under this prefix: --explain only plans.
    let prefix = unique_prefix("explain");
    let plan = json(
        cli(
            &prefix,
            &[
                "query",
                "phone_call",
                "--by",
                "person_id=5",
                "--by",
                "created_at>2015-01-04",
                "--by",
                "phone_number begins_with 555",
                "--explain",
            ],
        )
        .assert()
        .success()
        .get_output(),
    );
    assert_eq!(plan["table"], format!("{prefix}_phone_call"));
    assert_eq!(plan["operation"], "Query");
    assert_eq!(plan["index"], "created_at_index");
    assert_eq!(
        plan["expressions"]["key_condition_expression"],
        "#n0 = :v0 AND #n1 > :v1"
    );
    assert_eq!(plan["expressions"]["values"][":v0"]["N"], "5");
    assert_eq!(plan["expressions"]["values"][":v1"]["S"], "2015-01-04");
    // The same plan as the typed builder's.
    let library = PhoneCall::query()
        .by_person_id(5)
        .by_created_at(gt("2015-01-04"))
        .by_phone_number(begins_with("555"))
        .plan(&prefix)
        .unwrap();
    assert_eq!(plan, serde_json::to_value(&library).unwrap());

    let scan = json(
        cli(
            &prefix,
            &[
                "query",
                "phone_call",
                "--by",
                "phone_number=555",
                "--allow-scan",
                "--explain",
            ],
        )
        .assert()
        .success()
        .get_output(),
    );
    assert_eq!(scan["operation"], "Scan");
}

#[test]
fn query_usage_errors_are_one_line_with_exit_2() {
    let prefix = "usage";
    let run = |args: &[&str]| {
        let mut full = vec!["query"];
        full.extend_from_slice(args);
        cli(prefix, &full).output().unwrap()
    };
    let line = one_line_error(&run(&["phone_call", "--by", "nope=1"]), 2);
    assert!(
        line.contains("unknown attribute `nope`")
            && line.contains("person_id, phone_number, last_called, event_uuid, created_at"),
        "{line}"
    );
    for malformed in [
        "person_id 5",
        "person_id",
        "person_id=",
        "person_id=five",
        "person_id between 1",
        "person_id begins_with 5",
        "=5",
    ] {
        let line = one_line_error(&run(&["phone_call", "--by", malformed]), 2);
        assert!(line.contains("invalid --by"), "{malformed}: {line}");
    }
    let line = one_line_error(&run(&["no_such_table", "--by", "x=1"]), 2);
    assert!(
        line.contains("no registered table `no_such_table`")
            && line.contains("neat_event, phone_call"),
        "{line}"
    );
    one_line_error(
        &run(&["phone_call", "--by", "person_id=5", "--limit", "0"]),
        2,
    );
    // clap's own usage errors: exit 2 too.
    assert_eq!(run(&["phone_call", "--limit", "x"]).status.code(), Some(2));
    assert_eq!(run(&[]).status.code(), Some(2));
    let help = stdout(&cli(prefix, &["query", "--help"]).output().unwrap());
    assert!(
        help.contains("begins_with") && help.contains("between"),
        "{help}"
    );
}

#[tokio::test]
async fn query_refuses_a_scan_without_allow_scan() {
    let prefix = unique_prefix("scan");
    cli(&prefix, &["create-tables"]).assert().success();
    let line = one_line_error(
        &cli(
            &prefix,
            &["query", "phone_call", "--by", "phone_number=555"],
        )
        .output()
        .unwrap(),
        1,
    );
    assert!(
        line.contains("refusing to Scan")
            && line.contains("--allow-scan")
            && line.contains("person_id"),
        "{line}"
    );
    let out = cli(
        &prefix,
        &[
            "query",
            "phone_call",
            "--by",
            "phone_number=555",
            "--allow-scan",
            "--count",
        ],
    )
    .assert()
    .success()
    .get_output()
    .clone();
    assert_eq!(stdout(&out).trim(), "0");
}
