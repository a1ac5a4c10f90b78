//! No environment prefix can reach another environment's tables, and `drop-tables` never drops a
//! table whose live schema is not its event type's own. Against a real DynamoDB Local, with
//! event types of this test's own (tables `audit` and `x_audit`, whose names would alias under
//! prefixes `dev` and `dev_x` if `_` were allowed in a prefix).

use aws_sdk_dynamodb::types::{KeyType, ScalarAttributeType};
use aws_sdk_dynamodb::Client;
use clap::Parser;
use eventosaurus::{Storable, TableDef};
use eventosaurus_cli::commands::{self, Confirm};
use eventosaurus_cli::{Cli, CliError, GlobalArgs, EXIT_USAGE};
use eventosaurus_testkit::local::{endpoint, store_at, unique_prefix};
use eventosaurus_testkit::raw::{self, table_names};

/// The environment's audit log.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "audit", partition_key = actor)]
pub struct Audit {
    actor: String,
}

/// Another event type whose table name starts with `x_`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "x_audit", partition_key = actor)]
pub struct XAudit {
    actor: String,
}

const DEFS: [&TableDef; 2] = [Audit::TABLE, XAudit::TABLE];

fn global(prefix: &str) -> GlobalArgs {
    GlobalArgs {
        prefix: Some(prefix.to_owned()),
        endpoint: Some(endpoint().to_owned()),
        ..GlobalArgs::default()
    }
}

/// Every command needs a configuration; with a prefix holding `_` there is none.
async fn assert_prefix_refused(prefix: &str) {
    let err = eventosaurus_cli::config(&global(prefix)).expect_err(prefix);
    assert!(matches!(err, CliError::Config(_)), "{err}");
    assert_eq!(err.exit_code(), EXIT_USAGE);
    let line = err.one_line();
    assert!(
        line.contains(&format!("{prefix:?} (from --prefix)"))
            && line.contains("`_` is not allowed"),
        "{line}"
    );
    // Every command refuses it, before connecting.
    for args in [
        &["create-tables"][..],
        &["list-tables"],
        &["describe-tables", "--live"],
        &["check-tables"],
        &["query", "audit", "--by", "actor=a"],
        &["drop-tables", "--yes"],
    ] {
        let cli = Cli::try_parse_from(
            [
                "eventosaurus-cli",
                "--endpoint",
                endpoint(),
                "--prefix",
                prefix,
            ]
            .iter()
            .chain(args),
        )
        .unwrap();
        let err = eventosaurus_cli::execute(&DEFS, cli)
            .await
            .expect_err("refused");
        assert!(matches!(err, CliError::Config(_)), "{args:?}: {err}");
    }
    // The library refuses it everywhere a prefix enters: configuration and query plans.
    assert!(eventosaurus::Config::builder()
        .environment_prefix(prefix)
        .endpoint(endpoint())
        .build()
        .is_err());
    assert!(matches!(
        Audit::query().plan(prefix),
        Err(eventosaurus::Error::InvalidEnvironmentPrefix { .. })
    ));
}

async fn create(prefix: &str) {
    let store = store_at(endpoint(), prefix).await;
    commands::create_tables(
        &store,
        &DEFS,
        eventosaurus::table::Billing::OnDemand,
        None,
        &mut Vec::new(),
        &mut std::io::sink(),
    )
    .await
    .expect("create-tables");
}

/// Drops with `--yes`; returns the dropped names.
async fn drop_yes(prefix: &str) -> Result<Vec<String>, CliError> {
    let store = store_at(endpoint(), prefix).await;
    commands::drop_tables(&store, &DEFS, Confirm::Yes, &mut Vec::new()).await
}

#[tokio::test]
async fn audit_and_x_audit_never_alias_whatever_the_order() {
    // Two orders of the commands: `dev` first, or the aliasing prefix first.
    for (round, aliasing_first) in [(0, false), (1, true)] {
        let dev = unique_prefix(&format!("alias{round}"));
        assert!(!dev.contains('_'), "test prefixes follow the rule: {dev}");
        let dev_x = format!("{dev}_x");
        let client = store_at(endpoint(), &dev).await.client().unwrap().clone();
        if aliasing_first {
            assert_prefix_refused(&dev_x).await;
        }
        create(&dev).await;
        assert_prefix_refused(&dev_x).await;
        // Legal neighbours of `dev_x` have nothing of `dev`'s to drop.
        for neighbour in [format!("{dev}-x"), format!("{dev}x"), format!("{dev}.x")] {
            assert_eq!(drop_yes(&neighbour).await.unwrap(), Vec::<String>::new());
        }
        let names = table_names(&client).await;
        for table in ["audit", "x_audit"] {
            let name = format!("{dev}_{table}");
            assert!(names.contains(&name), "{name} was dropped");
        }
        // `dev` itself drops exactly its two tables.
        let mut dropped = drop_yes(&dev).await.unwrap();
        dropped.sort();
        assert_eq!(dropped, [format!("{dev}_audit"), format!("{dev}_x_audit")]);
    }
}

/// A table made by hand with the raw SDK: these keys (all `S`), no index.
async fn create_raw(client: &Client, name: &str, keys: &[(&str, KeyType)]) {
    let keys: Vec<_> = keys
        .iter()
        .map(|(attribute, key_type)| (*attribute, key_type.clone(), ScalarAttributeType::S))
        .collect();
    raw::create_table(client, name, &keys).await;
}

#[tokio::test]
async fn drop_tables_refuses_a_table_whose_schema_is_not_its_event_types() {
    let prefix = unique_prefix("drifted");
    let store = store_at(endpoint(), &prefix).await;
    let client = store.client().unwrap().clone();
    // `audit` under the right name, made by someone else with another key schema; `x_audit`
    // with the right schema.
    let drifted = format!("{prefix}_audit");
    create_raw(&client, &drifted, &[("id", KeyType::Hash)]).await;
    eventosaurus::table::create_table(&store, XAudit::TABLE, Default::default())
        .await
        .unwrap();

    let mut out = Vec::new();
    let err = commands::drop_tables(&store, &DEFS, Confirm::Yes, &mut out)
        .await
        .expect_err("a drifted table is refused");
    let text = String::from_utf8(out).unwrap();
    assert!(
        matches!(&err, CliError::DropRefused { tables } if tables == std::slice::from_ref(&drifted)),
        "{err}"
    );
    assert!(err.one_line().contains("nothing was dropped"), "{err}");
    // The drift is named: the key schema found, and the missing index.
    assert!(
        text.contains(&format!(
            "{drifted} (Audit): partition key (HASH): expected `actor` (S), found `id` (S)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{drifted} (Audit): missing local secondary index `created_at_index`"
        )),
        "{text}"
    );
    let names = table_names(&client).await;
    assert!(names.contains(&drifted), "the drifted table was dropped");
    assert!(
        names.contains(&format!("{prefix}_x_audit")),
        "nothing is dropped when one table is refused"
    );

    // The right keys but no `created_at_index`: still not the event type's own.
    client
        .delete_table()
        .table_name(&drifted)
        .send()
        .await
        .unwrap();
    eventosaurus::table::wait_until_deleted(&store, &drifted, eventosaurus::table::DELETED_TIMEOUT)
        .await
        .unwrap();
    let same_keys = format!("{prefix}_audit");
    let keys = [("actor", KeyType::Hash), ("event_uuid", KeyType::Range)];
    create_raw(&client, &same_keys, &keys).await;
    let mut out = Vec::new();
    let err = commands::drop_tables(&store, &DEFS, Confirm::Yes, &mut out)
        .await
        .expect_err("a table without the index is refused");
    let text = String::from_utf8(out).unwrap();
    assert!(matches!(err, CliError::DropRefused { .. }), "{err}");
    assert!(
        text.contains("missing local secondary index")
            && !text.contains(" key (HASH)")
            && !text.contains(" key (RANGE)"),
        "{text}"
    );
    assert!(table_names(&client).await.contains(&same_keys));

    // Cleanup: the hand-made table by hand, then ours through drop-tables.
    client
        .delete_table()
        .table_name(&same_keys)
        .send()
        .await
        .unwrap();
    eventosaurus::table::wait_until_deleted(
        &store,
        &same_keys,
        eventosaurus::table::DELETED_TIMEOUT,
    )
    .await
    .unwrap();
    assert_eq!(
        drop_yes(&prefix).await.unwrap(),
        [format!("{prefix}_x_audit")]
    );
}
