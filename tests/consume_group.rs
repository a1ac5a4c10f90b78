//! Consumer groups across processes, against a real DynamoDB Local: a consumer SIGKILLed and
//! restarted resumes from its checkpoints; two consumers split the shards, never work one
//! shard at the same time, and one takes over the other's shards after the lease expiry.
//!
//! The consumers are child processes (`tests/bin/consume_worker.rs`) that print what they do
//! as JSON lines.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventosaurus::consume::shards::compare_sequence_numbers;
use eventosaurus::table::{self, Billing};
use eventosaurus::{Storable, Store};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::local::{endpoint, test_store};
use serde_json::Value;

/// A third table, so that three shards are shared.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "signup", partition_key = user)]
pub struct Signup {
    pub user: String,
}

/// A consumer child process and the JSON lines it printed.
struct Worker {
    name: &'static str,
    child: std::process::Child,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Worker {
    fn start(
        name: &'static str,
        store: &Store,
        group: &str,
        tables: &str,
        extra: &[&str],
    ) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_consume_worker"))
            .args([
                "--endpoint",
                endpoint(),
                "--prefix",
                store.environment_prefix(),
            ])
            .args(["--group", group, "--tables", tables])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn consume_worker");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines: Arc<Mutex<Vec<Value>>> = Arc::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str(&line) {
                    sink.lock().unwrap().push(value);
                }
            }
        });
        Worker { name, child, lines }
    }

    fn lines(&self, kind: &str) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["kind"] == kind)
            .cloned()
            .collect()
    }

    fn handled(&self) -> Vec<String> {
        self.lines("event")
            .iter()
            .map(|v| v["event_uuid"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} {}", self.name);
    }

    /// SIGKILL, and waits until the process is gone; returns the time of the kill.
    fn kill9(&mut self) -> u128 {
        let at = now_ms();
        self.signal("-KILL");
        let _ = self.child.wait();
        at
    }

    /// SIGTERM, then waits (at most 30 s) for a graceful exit with status 0.
    async fn terminate(&mut self) {
        self.signal("-TERM");
        for _ in 0..1500 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                assert!(status.success(), "{} exited with {status}", self.name);
                // The reader thread may still be draining the pipe.
                until(Duration::from_secs(5), "the stopped line", || {
                    !self.lines("stopped").is_empty()
                })
                .await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{} did not stop within 30 s of SIGTERM", self.name);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

async fn until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn store_events(store: &Store, tables: &[&str], n: usize, tag: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let outcome = match tables[i % tables.len()] {
            "phone_call" => {
                PhoneCall {
                    person_id: (i % 7) as u64,
                    phone_number: format!("{tag}-{i}"),
                    last_called: String::new(),
                }
                .store(store)
                .await
            }
            "neat_event" => {
                NeatEvent {
                    location: format!("site-{}", i % 5),
                    employee_name: tag.to_owned(),
                    employee_action: format!("action {i}"),
                }
                .store(store)
                .await
            }
            _ => {
                Signup {
                    user: format!("{tag}-{i}"),
                }
                .store(store)
                .await
            }
        };
        ids.push(outcome.expect("store").event_uuid().to_string());
    }
    ids
}

/// Done-when 2: a consumer SIGKILLed midway and restarted with the same group: nothing is
/// missing, and the only repeats are the events after the last checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_consumer_resumes_from_its_last_checkpoint() {
    let store = test_store("group-restart").await;
    table::create_tables(
        &store,
        [PhoneCall::TABLE, NeatEvent::TABLE],
        Billing::OnDemand,
    )
    .await
    .unwrap();
    eventosaurus::consume::create_lease_table(&store)
        .await
        .unwrap();
    let all: HashSet<String> = store_events(&store, &["phone_call", "neat_event"], 600, "r")
        .await
        .into_iter()
        .collect();
    let slow = [
        "--batch",
        "25",
        "--handler-delay-ms",
        "2",
        "--lease-expiry-ms",
        "1000",
    ];
    let mut first = Worker::start("first", &store, "restart", "phone_call,neat_event", &slow);
    until(
        Duration::from_secs(60),
        "200 events handled by the first consumer",
        || first.handled().len() >= 200,
    )
    .await;
    first.kill9();
    let first_events = first.lines("event");
    assert!(first_events.len() < 600, "killed midway");

    let mut second = Worker::start("second", &store, "restart", "phone_call,neat_event", &slow);
    until(Duration::from_secs(60), "every event handled", || {
        let mut seen: HashSet<String> = first.handled().into_iter().collect();
        seen.extend(second.handled());
        seen.len() >= all.len()
    })
    .await;
    second.terminate().await;

    // Where the second run resumed: the checkpoint it read when it took each lease. It is the
    // last checkpoint the first run confirmed, or a later one whose write was in flight when
    // the first run was killed, never beyond what the first run handled.
    let mut stored: HashMap<String, String> = HashMap::new();
    for v in second.lines("lease") {
        if v["change"] == "acquired" {
            let key = v["key"].as_str().unwrap().to_owned();
            if let Some(from) = v["from"].as_str() {
                stored.entry(key).or_insert_with(|| from.to_owned());
            }
        }
    }
    for v in first.lines("checkpoint") {
        let key = v["key"].as_str().unwrap();
        let confirmed = v["seq"].as_str().unwrap();
        let resumed = stored
            .get(key)
            .unwrap_or_else(|| panic!("{key} resumed without a checkpoint"));
        assert!(
            compare_sequence_numbers(resumed, confirmed).is_ge(),
            "{key} resumed at {resumed}, before the confirmed checkpoint {confirmed}"
        );
    }
    for (key, resumed) in &stored {
        assert!(
            first_events
                .iter()
                .any(|v| v["key"] == key.as_str() && v["seq"] == resumed.as_str()),
            "{key} resumed after {resumed}, which the first run never handled"
        );
    }

    let first_ids: Vec<String> = first.handled();
    let second_ids: Vec<String> = second.handled();
    assert_eq!(
        first_ids.iter().collect::<HashSet<_>>().len(),
        first_ids.len(),
        "no repeat within the first run"
    );
    assert_eq!(
        second_ids.iter().collect::<HashSet<_>>().len(),
        second_ids.len(),
        "no repeat within the second run"
    );
    let union: HashSet<String> = first_ids.iter().chain(&second_ids).cloned().collect();
    assert_eq!(union, all, "nothing missing");
    // Repeats are exactly the first run's events after the checkpoint it left.
    let repeats: HashSet<&String> = second_ids
        .iter()
        .filter(|id| first_ids.contains(id))
        .collect();
    let after_checkpoint: HashSet<&String> = first_events
        .iter()
        .filter(|v| {
            let key = v["key"].as_str().unwrap();
            let seq = v["seq"].as_str().unwrap();
            stored
                .get(key)
                .is_none_or(|cp| compare_sequence_numbers(seq, cp).is_gt())
        })
        .map(|v| {
            first_ids
                .iter()
                .find(|id| Some(id.as_str()) == v["event_uuid"].as_str())
                .unwrap()
        })
        .collect();
    assert_eq!(repeats, after_checkpoint);
    for v in second.lines("event") {
        let key = v["key"].as_str().unwrap();
        if let Some(cp) = stored.get(key) {
            let seq = v["seq"].as_str().unwrap();
            assert!(
                compare_sequence_numbers(seq, cp).is_gt(),
                "the second run restarted after the checkpoint {cp} of {key}, not at {seq}"
            );
        }
    }
    eprintln!(
        "restart: first run handled {}, checkpoints {:?}, second run handled {}, repeats {}",
        first_ids.len(),
        stored,
        second_ids.len(),
        repeats.len()
    );
}

/// Per shard, the time intervals in which a worker owned it.
fn ownership(worker: &Worker, end_of_life: u128) -> BTreeMap<String, Vec<(u128, u128)>> {
    let mut open: HashMap<String, u128> = HashMap::new();
    let mut intervals: BTreeMap<String, Vec<(u128, u128)>> = BTreeMap::new();
    for v in worker.lines("lease") {
        let key = v["key"].as_str().unwrap().to_owned();
        let t = v["t"].as_u64().unwrap() as u128;
        match v["change"].as_str().unwrap() {
            "acquired" => {
                open.insert(key, t);
            }
            _ => {
                if let Some(start) = open.remove(&key) {
                    intervals.entry(key).or_default().push((start, t));
                }
            }
        }
    }
    for (key, start) in open {
        intervals.entry(key).or_default().push((start, end_of_life));
    }
    intervals
}

/// Done-when 3: two consumers share a group. Every event is handled, no shard is worked by
/// both at once, and after one is killed the other takes its shards over after the expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_share_the_shards_and_take_over_after_expiry() {
    const EXPIRY_MS: u128 = 1500;
    let store = test_store("group-share").await;
    table::create_tables(
        &store,
        [PhoneCall::TABLE, NeatEvent::TABLE, Signup::TABLE],
        Billing::OnDemand,
    )
    .await
    .unwrap();
    eventosaurus::consume::create_lease_table(&store)
        .await
        .unwrap();
    let tables = "phone_call,neat_event,signup";
    let options = ["--lease-expiry-ms", "1500"];
    let mut one = Worker::start("one", &store, "share", tables, &options);
    until(
        Duration::from_secs(30),
        "the first consumer holding all 3 leases",
        || one.lines("lease").len() >= 3,
    )
    .await;
    let mut two = Worker::start("two", &store, "share", tables, &options);
    let mut all: HashSet<String> = HashSet::new();
    all.extend(store_events(&store, &["phone_call", "neat_event", "signup"], 300, "a").await);
    until(
        Duration::from_secs(60),
        "a lease handed over and the first 300 events handled",
        || {
            let mut seen: HashSet<String> = one.handled().into_iter().collect();
            seen.extend(two.handled());
            !two.lines("lease").is_empty() && all.is_subset(&seen)
        },
    )
    .await;
    let held_by_one: HashSet<String> = ownership(&one, u128::MAX)
        .into_iter()
        .filter(|(_, iv)| iv.iter().any(|(_, end)| *end == u128::MAX))
        .map(|(key, _)| key)
        .collect();
    assert!(
        !held_by_one.is_empty() && held_by_one.len() < 3,
        "split: {held_by_one:?}"
    );
    let killed_at = one.kill9();
    all.extend(store_events(&store, &["phone_call", "neat_event", "signup"], 300, "b").await);
    until(Duration::from_secs(60), "every event handled", || {
        let mut seen: HashSet<String> = one.handled().into_iter().collect();
        seen.extend(two.handled());
        all.is_subset(&seen)
    })
    .await;
    two.terminate().await;

    // Ownership: per shard, the intervals of the two never overlap, and every event a worker
    // handled lies within one of its own intervals.
    let one_owns = ownership(&one, killed_at);
    let two_owns = ownership(&two, u128::MAX);
    for (key, one_intervals) in &one_owns {
        for (a1, e1) in one_intervals {
            for (a2, e2) in two_owns.get(key).into_iter().flatten() {
                assert!(
                    e1 <= a2 || e2 <= a1,
                    "{key} worked by both: {a1}..{e1} and {a2}..{e2}"
                );
            }
        }
    }
    for (worker, owns) in [(&one, &one_owns), (&two, &two_owns)] {
        for v in worker.lines("event") {
            let key = v["key"].as_str().unwrap();
            let t = v["t"].as_u64().unwrap() as u128;
            assert!(
                owns.get(key)
                    .into_iter()
                    .flatten()
                    .any(|(a, e)| *a <= t && t <= *e),
                "{} handled an event of {key} at {t} without holding its lease: {:?}",
                worker.name,
                owns.get(key)
            );
        }
    }
    // Handed over while both ran, then taken over after the expiry.
    assert!(one
        .lines("lease")
        .iter()
        .any(|v| v["change"] == "handed_over"));
    for key in &held_by_one {
        let taken_at = two_owns[key]
            .iter()
            .map(|(a, _)| *a)
            .filter(|a| *a >= killed_at)
            .min()
            .unwrap_or_else(|| panic!("{key} was not taken over"));
        assert!(
            taken_at >= killed_at + EXPIRY_MS / 2,
            "{key} taken over {} ms after the kill, before the lease could expire",
            taken_at - killed_at
        );
    }
    let handled_by_one: HashSet<String> = one.handled().into_iter().collect();
    let handled_by_two: HashSet<String> = two.handled().into_iter().collect();
    assert!(all.is_subset(&handled_by_one.union(&handled_by_two).cloned().collect()));
    eprintln!(
        "share: one handled {}, two handled {}, one held {:?} at the kill",
        handled_by_one.len(),
        handled_by_two.len(),
        held_by_one
    );
}
