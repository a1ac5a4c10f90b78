//! `eventosaurus-cli tail` against a real DynamoDB Local: the events another process stores
//! (here a raw SDK writer), `--limit`, `--json`, `--group` resuming, SIGTERM, and the stream
//! parts of `create-tables` and `check-tables`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use eventosaurus::table::{self, Billing};
use eventosaurus::{Storable, Store, Uuid};
use eventosaurus_testkit::events::PhoneCall;
use eventosaurus_testkit::local::{endpoint, store_at, unique_prefix};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_eventosaurus-cli");

fn cli(prefix: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    for var in [
        "EVENT_ENVIRONMENT_PREFIX",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(["--endpoint", endpoint(), "--prefix", prefix])
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// A running `tail` and the lines it printed so far.
struct Tail {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Tail {
    fn start(prefix: &str, args: &[&str]) -> Tail {
        let mut child = cli(prefix, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn eventosaurus-cli tail");
        let stdout = child.stdout.take().expect("piped");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Tail { child, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits (at most 30 s) for the process to exit; returns its exit code.
    async fn exit_code(&mut self) -> i32 {
        for _ in 0..1500 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader thread drain the pipe.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return status.code().unwrap_or(-1);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("tail did not exit within 30 s");
    }

    async fn wait_for_lines(&self, n: usize) {
        for _ in 0..1500 {
            if self.lines().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "tail printed {:?}, not {n} lines, within 30 s",
            self.lines()
        );
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Stores a phone call with the raw SDK, as another program would: returns its event_uuid.
async fn raw_put(store: &Store, person_id: u64, number: &str) -> String {
    let id = Uuid::new_v4().to_string();
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    store
        .client()
        .expect("a DynamoDB store")
        .put_item()
        .table_name(store.table_name(PhoneCall::TABLE))
        .item("person_id", AttributeValue::N(person_id.to_string()))
        .item("phone_number", AttributeValue::S(number.to_owned()))
        .item("last_called", AttributeValue::S("today".into()))
        .item("event_uuid", AttributeValue::S(id.clone()))
        .item("created_at", AttributeValue::S(created_at))
        .send()
        .await
        .expect("raw PutItem");
    id
}

async fn setup(name: &str) -> (String, Store) {
    let prefix = unique_prefix(name);
    let store = store_at(endpoint(), &prefix).await;
    table::create_table(&store, PhoneCall::TABLE, Billing::OnDemand)
        .await
        .unwrap();
    (prefix, store)
}

/// Done-when 5: `tail --json --limit 5` prints exactly the 5 events a raw SDK writer stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_json_limit_prints_exactly_the_events_stored() {
    let (prefix, store) = setup("tail-json").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(raw_put(&store, 40 + i, &format!("555-01{i:02}")).await);
    }
    let mut tail = Tail::start(
        &prefix,
        &[
            "tail",
            "phone_call",
            "--from",
            "trim-horizon",
            "--json",
            "--limit",
            "5",
            "--poll-ms",
            "50",
        ],
    );
    // More events after the first five: the limit leaves them out.
    for i in 5..8 {
        raw_put(&store, 40 + i, "later").await;
    }
    assert_eq!(tail.exit_code().await, 0);
    let lines = tail.lines();
    assert_eq!(lines.len(), 5, "{lines:?}");
    for (i, line) in lines.iter().enumerate() {
        let event: Value = serde_json::from_str(line).expect("one JSON object per line");
        assert_eq!(event["table"], "phone_call");
        assert_eq!(event["event_uuid"], ids[i].as_str());
        assert_eq!(event["person_id"], 40 + i as u64);
        assert_eq!(event["phone_number"], format!("555-01{i:02}"));
        assert!(event["created_at"].as_str().unwrap().ends_with('Z'));
    }
}

/// Readable lines; SIGTERM stops with exit code 0; `--group` resumes after its checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_group_resumes_and_sigterm_exits_zero() {
    let (prefix, store) = setup("tail-group").await;
    eventosaurus::consume::create_lease_table(&store)
        .await
        .unwrap();
    let first = [raw_put(&store, 1, "a").await, raw_put(&store, 2, "b").await];
    let args = [
        "tail",
        "--from",
        "trim-horizon",
        "--group",
        "ops",
        "--poll-ms",
        "50",
        "phone_call",
    ];
    let mut tail = Tail::start(&prefix, &args);
    tail.wait_for_lines(2).await;
    let status = Command::new("kill")
        .args(["-TERM", &tail.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(tail.exit_code().await, 0, "SIGTERM is a graceful stop");
    let lines = tail.lines();
    assert_eq!(lines.len(), 2);
    for (line, id) in lines.iter().zip(&first) {
        assert!(line.contains(" phone_call "), "{line}");
        assert!(line.contains(id.as_str()), "{line}");
    }
    assert!(
        lines[0].contains("person_id=1") && lines[0].contains("phone_number=a"),
        "{}",
        lines[0]
    );

    let later = [raw_put(&store, 3, "c").await, raw_put(&store, 4, "d").await];
    let mut again = Tail::start(&prefix, &[&args[..], &["--json", "--limit", "2"]].concat());
    assert_eq!(again.exit_code().await, 0);
    let ids: Vec<String> = again
        .lines()
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event_uuid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, later, "resumed after the group's checkpoint");
}

/// `--from` errors are usage errors (exit 2), before anything is read.
#[test]
fn tail_from_must_be_a_position_or_time() {
    let output = cli("nothere", &["tail", "--from", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--from"));
}

/// `check-tables` reports a table without a stream; `create-tables --enable-streams` fixes
/// it and creates the lease table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_drift_and_enable_streams() {
    let prefix = unique_prefix("tail-drift");
    let store = store_at(endpoint(), &prefix).await;
    let created = cli(&prefix, &["create-tables", "--no-streams"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let check = cli(&prefix, &["check-tables"]).output().unwrap();
    assert_eq!(check.status.code(), Some(1));
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        text.contains("no stream (expected NEW_IMAGE): run create-tables --enable-streams"),
        "{text}"
    );

    let plain = cli(&prefix, &["create-tables"]).output().unwrap();
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(plain.status.success());
    assert!(
        text.contains("has no stream; run create-tables --enable-streams"),
        "{text}"
    );
    let enabled = cli(&prefix, &["create-tables", "--enable-streams"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&enabled.stdout);
    assert!(enabled.status.success(), "{text}");
    assert!(text.contains("stream ... turned on (NEW_IMAGE)"), "{text}");
    assert!(
        text.contains("lease table for stream consumers: ")
            && text.contains("_eventosaurus_leases (was there)"),
        "{text}"
    );
    let check = cli(&prefix, &["check-tables"]).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let live = table::describe_table(&store, PhoneCall::TABLE)
        .await
        .unwrap()
        .unwrap();
    assert!(live.latest_stream_arn().is_some());
}
