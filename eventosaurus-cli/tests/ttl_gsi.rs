//! The `eventosaurus-cli` binary with a definitions file of an event type that expires and
//! has a global secondary index, against a real DynamoDB Local: `check-tables` reports a
//! table without its TTL or its index, `create-tables` adds both (with the index's progress
//! on stderr) and `check-tables` is clean after; `query` reads the index; `describe-tables`
//! shows both.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use aws_sdk_dynamodb::types::TimeToLiveSpecification;
use eventosaurus::config::{ENDPOINT_VARS, ENVIRONMENT_PREFIX_VAR};
use eventosaurus::table::{self, Billing, TableDef, EXPIRES_AT};
use eventosaurus::Storable;
use eventosaurus_cli::definitions;
use eventosaurus_testkit::local::{endpoint, store_at, unique_prefix};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_eventosaurus-cli");

/// Expires after a day; found by its ticket number across people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(
    table = "support_call",
    partition_key = person_id,
    ttl = "1d",
    index(name = "by_ticket", partition_key = ticket, sort_key = created_at)
)]
struct SupportCall {
    person_id: u64,
    ticket: String,
}

/// The same table before the index was declared.
const WITHOUT_INDEX: TableDef = TableDef {
    indexes: &[],
    ..*<SupportCall as Storable>::TABLE
};

/// A definitions file with `SupportCall`, in a directory of its own.
fn definitions_file(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(prefix);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(definitions::FILE_NAME);
    std::fs::write(&file, definitions::to_json(&[SupportCall::TABLE])).unwrap();
    file
}

fn cli(file: &Path, prefix: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    for var in std::iter::once(ENVIRONMENT_PREFIX_VAR).chain(ENDPOINT_VARS) {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null())
        .arg("--tables")
        .arg(file)
        .args(["--endpoint", endpoint(), "--prefix", prefix])
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn check_tables_reports_a_missing_ttl_and_index_and_create_tables_adds_them() {
    let prefix = unique_prefix("cli-ttl-gsi");
    let file = definitions_file(&prefix);
    let store = store_at(endpoint(), &prefix).await;
    let name = store.table_name(SupportCall::TABLE);
    // The table as it was before: no index, and its TTL turned off.
    table::create_table(&store, &WITHOUT_INDEX, Billing::OnDemand)
        .await
        .unwrap();
    store
        .client()
        .unwrap()
        .update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(false)
                .attribute_name(EXPIRES_AT)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // Ticket T-1 in two partitions.
    for (person_id, ticket) in [(1, "T-1"), (2, "T-2"), (3, "T-1")] {
        SupportCall {
            person_id,
            ticket: ticket.into(),
        }
        .store(&store)
        .await
        .unwrap();
    }

    let out = cli(&file, &prefix, &["check-tables"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains(&format!(
            "{name} (SupportCall): missing global secondary index `by_ticket` (run create-tables"
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "{name} (SupportCall): time to live is DISABLED, expected ENABLED on `expires_at`"
        )),
        "{report}"
    );
    let out = cli(&file, &prefix, &["check-tables", "--json"]);
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let drift = &checks[0]["drift"];
    assert_eq!(drift[0]["drift"], "missing_global_index");
    assert_eq!(drift[1]["drift"], "time_to_live");
    assert_eq!(drift[1]["expected"], EXPIRES_AT);

    let out = cli(&file, &prefix, &["create-tables", "--no-streams"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let created = text(&out.stdout);
    assert!(
        created.contains(&format!(
            "{name} (SupportCall) ... already exists, ACTIVE, index by_ticket added, time to live \
             enabled on expires_at"
        )),
        "{created}"
    );
    let progress = text(&out.stderr);
    assert!(
        progress.contains(&format!("index by_ticket of {name}: ACTIVE")),
        "{progress}"
    );
    let out = cli(&file, &prefix, &["check-tables"]);
    assert!(out.status.success(), "{}", text(&out.stdout));

    // The CLI's query plans with the same planner: a Query on the index, old items included.
    let out = cli(
        &file,
        &prefix,
        &["query", "support_call", "--by", "ticket=T-1", "--explain"],
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["operation"], "Query");
    assert_eq!(plan["index"], "by_ticket");
    assert_eq!(plan["index_kind"], "global");
    assert!(plan["hide_expired"]["now"].is_i64(), "{plan}");
    let mut found = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let out = cli(
            &file,
            &prefix,
            &["query", "support_call", "--by", "ticket=T-1"],
        );
        let listing = text(&out.stdout);
        assert!(
            listing.contains(&format!("(Query of {name} on index by_ticket)")),
            "{listing}"
        );
        found = listing.lines().filter(|l| l.contains("T-1")).count();
        if found == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found, 2, "the index was backfilled with the older items");
    let out = cli(
        &file,
        &prefix,
        &[
            "query",
            "support_call",
            "--by",
            "ticket=T-1",
            "--consistent-read",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("eventually consistent reads only"),
        "{}",
        text(&out.stderr)
    );

    // describe-tables: the index in the CreateTable request, the TTL beside it.
    let out = cli(&file, &prefix, &["describe-tables"]);
    let specs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let gsi = &specs[0]["GlobalSecondaryIndexes"][0];
    assert_eq!(gsi["IndexName"], "by_ticket");
    assert_eq!(gsi["KeySchema"][0]["AttributeName"], "ticket");
    assert_eq!(gsi["Projection"]["ProjectionType"], "ALL");
    assert!(specs[0].get("TimeToLiveSpecification").is_none());
    let notes = text(&out.stderr);
    assert!(
        notes
            .contains(r#""TimeToLiveSpecification":{"AttributeName":"expires_at","Enabled":true}"#),
        "{notes}"
    );
    let out = cli(&file, &prefix, &["describe-tables", "--live"]);
    let live: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        live[0]["TimeToLiveDescription"]["AttributeName"],
        EXPIRES_AT
    );
    assert_eq!(
        live[0]["Table"]["GlobalSecondaryIndexes"][0]["IndexStatus"],
        "ACTIVE"
    );
    table::delete_table(&store, SupportCall::TABLE)
        .await
        .unwrap();
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}
