//! `eventosaurus-cli serve` as a process against a real DynamoDB Local: fan-out to 200
//! clients (with the server's resident memory and the store-to-client latency), SIGTERM,
//! and the live page in a real headless Chromium.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use eventosaurus::{Storable, Store, StoreOutcome};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::local::{create_example_tables, endpoint, store_at, unique_prefix};
use eventosaurus_testkit::sse;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_eventosaurus-cli");
const WAIT: Duration = Duration::from_secs(60);

/// A running `serve` on a free port.
struct Serve {
    child: Child,
    addr: SocketAddr,
}

impl Serve {
    fn start(prefix: &str, extra: &[&str]) -> Serve {
        let mut cmd = Command::new(BIN);
        for var in [
            "EVENT_ENVIRONMENT_PREFIX",
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .args(["--endpoint", endpoint(), "--prefix", prefix])
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn eventosaurus-cli serve");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut first)
            .expect("serve prints its address");
        // "serving neat_event,phone_call on http://127.0.0.1:PORT (...)"
        let addr = first
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        Serve { child, addr }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then the exit code (within 30 s).
    async fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        for _ in 0..1500 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("serve did not exit within 30 s of SIGTERM");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A field of /proc/PID/status in kB (VmRSS, VmHWM).
fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("/proc status")
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

async fn setup(name: &str) -> (String, Store) {
    let prefix = unique_prefix(name);
    let store = store_at(endpoint(), &prefix).await;
    create_example_tables(&store).await;
    (prefix, store)
}

async fn store_one(store: &Store, n: u64) -> String {
    let outcome = if n % 2 == 0 {
        PhoneCall {
            person_id: n % 11,
            phone_number: format!("555-{n:05}"),
            last_called: "2026-11-25".into(),
        }
        .store(store)
        .await
    } else {
        NeatEvent {
            location: format!("site-{}", n % 5),
            employee_name: "ann".into(),
            employee_action: format!("action {n}"),
        }
        .store(store)
        .await
    };
    match outcome.expect("store") {
        StoreOutcome::Stored { event_uuid, .. } => event_uuid.to_string(),
        other => panic!("not stored: {other:?}"),
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Done-when 6: 200 concurrent clients of one `serve` process each receive all of 1,000
/// events, each once. Prints the server's resident memory and the store-to-client latency
/// (client receive time minus the event's `created_at`, same clock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_200_clients_1000_events() {
    const CLIENTS: usize = 200;
    const EVENTS: u64 = 1000;
    let (prefix, store) = setup("serve-fanout").await;
    let mut serve = Serve::start(&prefix, &["--max-clients", "250"]);
    let rss_idle = status_kb(serve.pid(), "VmRSS");
    let path = "/v2/stream/phone_call,neat_event";
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let stream = sse::get(serve.addr, path, &[]).await.expect("connect");
        assert_eq!(stream.status(), 200);
        clients.push(stream);
    }
    let rss_connected = status_kb(serve.pid(), "VmRSS");
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut got = Vec::with_capacity(EVENTS as usize);
                let mut latencies = Vec::with_capacity(EVENTS as usize);
                while got.len() < EVENTS as usize {
                    let Some(event) = stream.next_event(WAIT).await else {
                        panic!(
                            "a client got {} of {EVENTS}: {:?}",
                            got.len(),
                            stream.comments
                        );
                    };
                    let now = chrono::Utc::now().timestamp_millis();
                    let data: Value = serde_json::from_str(&event.data).expect("JSON");
                    assert_eq!(data["table"], event.event.as_str());
                    let created = chrono::DateTime::parse_from_rfc3339(
                        data["created_at"].as_str().expect("created_at"),
                    )
                    .expect("RFC 3339")
                    .timestamp_millis();
                    latencies.push(now - created);
                    got.push(data["event_uuid"].as_str().expect("uuid").to_owned());
                }
                (got, latencies, stream)
            })
        })
        .collect();
    let started = std::time::Instant::now();
    // Four writers, as an application's request handlers would.
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in (w..EVENTS).step_by(4) {
                    ids.push(store_one(&store, n).await);
                }
                ids
            })
        })
        .collect();
    let mut stored = std::collections::HashSet::new();
    for writer in writers {
        stored.extend(writer.await.expect("writer"));
    }
    let stored_in = started.elapsed();
    let mut latencies = Vec::with_capacity(CLIENTS * EVENTS as usize);
    let mut streams = Vec::new();
    for reader in readers {
        let (got, lat, stream) = reader.await.expect("client");
        let unique: std::collections::HashSet<String> = got.iter().cloned().collect();
        assert_eq!(unique.len(), got.len(), "a client got an event twice");
        assert_eq!(
            unique, stored,
            "a client did not get exactly the events stored"
        );
        latencies.extend(lat);
        streams.push(stream);
    }
    let delivered_in = started.elapsed();
    let rss_after = status_kb(serve.pid(), "VmRSS");
    let rss_peak = status_kb(serve.pid(), "VmHWM");
    latencies.sort_unstable();
    println!(
        "fan-out: {CLIENTS} clients x {EVENTS} events, each received all exactly once; stored in \
         {:.2} s, all delivered in {:.2} s; store-to-client latency p50 {} ms, p99 {} ms, max {} \
         ms; server RSS idle {} MiB, {CLIENTS} clients connected {} MiB, after {} MiB, peak \
         (VmHWM) {} MiB",
        stored_in.as_secs_f64(),
        delivered_in.as_secs_f64(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or_default(),
        rss_idle / 1024,
        rss_connected / 1024,
        rss_after / 1024,
        rss_peak / 1024,
    );
    // SIGTERM: every stream ends with a comment saying why, and the process exits 0.
    let code = serve.terminate().await;
    assert_eq!(code, Some(0));
    let mut stream = streams.pop().expect("a client");
    while stream.next_event(Duration::from_secs(10)).await.is_some() {}
    assert!(
        stream.comments.iter().any(|c| c.contains("shutting down")),
        "{:?}",
        stream.comments
    );
}

/// The browser: Debian's chromium, installed by scripts/chromium.sh when missing.
fn chromium() -> Option<PathBuf> {
    let find = || {
        ["chromium", "chromium-browser"].iter().find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        })
    };
    if let Some(found) = find() {
        return Some(found);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/chromium.sh");
    let installed = Command::new("bash").arg(script).status();
    eprintln!("scripts/chromium.sh: {installed:?}");
    find()
}

/// Headless Chromium with the DevTools HTTP endpoint on a free port; the process group is
/// killed on drop.
struct Browser {
    child: Child,
    profile: PathBuf,
}

impl Browser {
    fn open(binary: &PathBuf, url: &str) -> Browser {
        let profile = std::env::temp_dir().join(unique_prefix("chromium-profile"));
        std::fs::create_dir_all(&profile).expect("profile directory");
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromium");
        Browser { child, profile }
    }

    /// The DevTools port, from the DevToolsActivePort file Chromium writes.
    async fn devtools(&self) -> SocketAddr {
        let file = self.profile.join("DevToolsActivePort");
        for _ in 0..1500 {
            if let Ok(text) = std::fs::read_to_string(&file) {
                if let Some(port) = text
                    .lines()
                    .next()
                    .and_then(|l| l.trim().parse::<u16>().ok())
                {
                    return SocketAddr::from(([127, 0, 0, 1], port));
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("chromium wrote no DevToolsActivePort within 30 s");
    }

    /// Waits until the title of the page at `url` satisfies `done`; returns it.
    async fn title_until(
        &self,
        devtools: SocketAddr,
        url: &str,
        what: &str,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let mut last = String::new();
        for _ in 0..600 {
            if let Ok((200, body)) = sse::get_text(devtools, "/json/list").await {
                let targets: Value = serde_json::from_str(&body).unwrap_or_default();
                if let Some(title) = targets.as_array().into_iter().flatten().find_map(|t| {
                    (t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(url)))
                        .then(|| t["title"].as_str().unwrap_or_default().to_owned())
                }) {
                    if done(&title) {
                        return title;
                    }
                    last = title;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page never showed {what}; its last title: {last:?}");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole process group (renderers, zygotes); `--` so that the negative id is
        // not read as an option.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status();
        for _ in 0..250 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Done-when 7: headless Chromium opens the live page, which follows phone_call with
/// EventSource; the events the test stores appear on the page, newest first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_page_in_headless_chromium_shows_stored_events() {
    let Some(binary) = chromium() else {
        let message = "chromium is not installed and scripts/chromium.sh could not install it: \
                       the live page's browser test CANNOT RUN";
        if std::env::var_os("CI").is_some() {
            panic!("{message}");
        }
        eprintln!("\n!!!!!!!!!! SKIPPED: {message} !!!!!!!!!!\n");
        return;
    };
    let (prefix, store) = setup("serve-browser").await;
    let serve = Serve::start(&prefix, &[]);
    let page = format!("http://{}/", serve.addr);
    let browser = Browser::open(&binary, &format!("{page}?follow=phone_call"));
    let devtools = browser.devtools().await;
    browser
        .title_until(devtools, &page, "a connected EventSource", |t| {
            t.contains("(connected)")
        })
        .await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(store_one(&store, n * 2).await);
    }
    let newest = ids.last().expect("stored").clone();
    let title = browser
        .title_until(devtools, &page, "the 5 stored events", |t| {
            t.starts_with("eventosaurus live: 5 events")
        })
        .await;
    // The title is made from the DOM: the number of event items and the first one's uuid.
    assert!(
        title.contains(&format!("last {newest}")),
        "newest first: {title}"
    );
}
