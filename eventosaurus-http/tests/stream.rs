//! The HTTP stream against a real DynamoDB Local: SSE following two tables, reconnecting with
//! Last-Event-ID, `since`, NDJSON, the error answers, heartbeats and the client cap.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use eventosaurus::{Storable, Store};
use eventosaurus_http::{ShutdownHandle, StreamServer, StreamServerBuilder};
use eventosaurus_testkit::events::{NeatEvent, PhoneCall};
use eventosaurus_testkit::local::{create_example_tables, test_store};
use eventosaurus_testkit::sse::{self, SseEvent};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// A server on a free port, shut down when dropped.
struct Server {
    addr: SocketAddr,
    handle: ShutdownHandle,
    task: tokio::task::JoinHandle<eventosaurus_http::Result<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

async fn start(
    store: &Store,
    tweak: impl FnOnce(StreamServerBuilder) -> StreamServerBuilder,
) -> Server {
    let builder = StreamServer::builder(store)
        .tables([PhoneCall::TABLE, NeatEvent::TABLE])
        .poll_interval(Duration::from_millis(50));
    let server = tweak(builder).build().expect("valid server");
    let listener = eventosaurus_http::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let handle = server.shutdown_handle();
    let task = tokio::spawn(server.serve(listener, std::future::pending()));
    Server { addr, handle, task }
}

async fn environment(name: &str) -> Store {
    let store = test_store(name).await;
    create_example_tables(&store).await;
    store
}

/// A stored event: its table, `event_uuid` and `created_at`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Stored {
    table: &'static str,
    uuid: String,
    created_at: String,
}

/// Stores event number `n`: even numbers are phone calls, odd ones neat events.
async fn store_one(store: &Store, n: u64) -> Stored {
    let (table, outcome) = if n % 2 == 0 {
        let call = PhoneCall {
            person_id: n % 7,
            phone_number: format!("555-{n:04}"),
            last_called: "2026-11-25".into(),
        };
        ("phone_call", call.store(store).await)
    } else {
        let neat = NeatEvent {
            location: format!("site-{}", n % 3),
            employee_name: "ann".into(),
            employee_action: format!("action {n}"),
        };
        ("neat_event", neat.store(store).await)
    };
    let outcome = outcome.expect("store");
    let eventosaurus::StoreOutcome::Stored {
        event_uuid,
        created_at,
    } = outcome
    else {
        panic!("not stored: {outcome:?}");
    };
    Stored {
        table,
        uuid: event_uuid.to_string(),
        created_at: created_at.to_string(),
    }
}

async fn store_range(store: &Store, range: std::ops::Range<u64>) -> Vec<Stored> {
    let mut stored = Vec::new();
    for n in range {
        stored.push(store_one(store, n).await);
    }
    stored
}

/// An SSE event as (event, event_uuid), checking that `event:` is the data's table.
fn seen(event: &SseEvent) -> (String, String) {
    let data: Value = serde_json::from_str(&event.data).expect("data is JSON");
    assert_eq!(
        data["table"],
        event.event.as_str(),
        "event: names the table"
    );
    assert!(data["created_at"].is_string(), "{data}");
    assert!(
        event.id.as_deref().is_some_and(|id| !id.is_empty()),
        "every event has an id"
    );
    (
        event.event.clone(),
        data["event_uuid"].as_str().expect("event_uuid").to_owned(),
    )
}

async fn receive(stream: &mut sse::Stream, n: usize) -> Vec<SseEvent> {
    let mut events = Vec::with_capacity(n);
    while events.len() < n {
        match stream.next_event(WAIT).await {
            Some(event) => events.push(event),
            None => panic!(
                "received {} of {n} events; comments: {:?}",
                events.len(),
                stream.comments
            ),
        }
    }
    events
}

fn expected(stored: &[Stored]) -> Vec<(String, String)> {
    stored
        .iter()
        .map(|s| (s.table.to_owned(), s.uuid.clone()))
        .collect()
}

/// Asserts `got` is exactly `want` as a set, each once.
fn assert_exactly(got: &[(String, String)], want: &[(String, String)]) {
    let unique: HashSet<&(String, String)> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "an event was delivered twice");
    let want_set: HashSet<&(String, String)> = want.iter().collect();
    let missing: Vec<_> = want_set.difference(&unique).collect();
    let extra: Vec<_> = unique.difference(&want_set).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
}

/// Stores a marker event and checks it is the next event: nothing else is pending.
async fn assert_nothing_more(store: &Store, stream: &mut sse::Stream, n: u64) {
    let marker = store_one(store, n).await;
    let next = stream.next_event(WAIT).await.expect("the marker event");
    assert_eq!(
        seen(&next),
        (marker.table.to_owned(), marker.uuid),
        "an unexpected event came first"
    );
}

/// Done-when 1: a client of /v2/stream/phone_call,neat_event receives exactly the events
/// stored after it connected, each once, with the right `event:`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_follows_two_tables_exactly() {
    let store = environment("http-follow").await;
    let before = store_range(&store, 0..4).await;
    let server = start(&store, |b| b).await;
    let mut stream = sse::get(server.addr, "/v2/stream/phone_call,neat_event", &[])
        .await
        .expect("connect");
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    let stored = store_range(&store, 4..24).await;
    let got: Vec<_> = receive(&mut stream, stored.len())
        .await
        .iter()
        .map(seen)
        .collect();
    assert_exactly(&got, &expected(&stored));
    for old in &before {
        assert!(
            !got.iter().any(|(_, uuid)| *uuid == old.uuid),
            "an event stored before connecting"
        );
    }
    // In stream order per table (one shard per table on DynamoDB Local): stored order.
    for table in ["phone_call", "neat_event"] {
        let order: Vec<&String> = got
            .iter()
            .filter(|(t, _)| t == table)
            .map(|(_, u)| u)
            .collect();
        let want: Vec<&String> = stored
            .iter()
            .filter(|s| s.table == table)
            .map(|s| &s.uuid)
            .collect();
        assert_eq!(order, want, "{table} in stored order");
    }
    assert_nothing_more(&store, &mut stream, 100).await;
    server.handle.shutdown();
    // The stream ends with a comment saying why, and the server returns.
    while stream.next_event(WAIT).await.is_some() {}
    assert!(
        stream.comments.iter().any(|c| c.contains("shutting down")),
        "{:?}",
        stream.comments
    );
    let server_task = tokio::time::timeout(WAIT, async { (&mut { server }.task).await }).await;
    assert!(matches!(server_task, Ok(Ok(Ok(())))), "{server_task:?}");
}

/// Done-when 2: a client drops after 100 of 300 events (stored while it reads) and
/// reconnects with the last id as Last-Event-ID: it receives the remaining 200 exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_with_last_event_id_has_no_gap_and_no_repeat() {
    let store = environment("http-resume").await;
    let server = start(&store, |b| b).await;
    let path = "/v2/stream/phone_call,neat_event";
    let mut first = sse::get(server.addr, path, &[]).await.expect("connect");
    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            let mut stored = Vec::new();
            for n in 0..300 {
                stored.push(store_one(&store, n).await);
                if n % 10 == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            stored
        }
    });
    let before_drop = receive(&mut first, 100).await;
    let last_id = before_drop
        .last()
        .and_then(|e| e.id.clone())
        .expect("an id");
    drop(first);
    // Events go on being stored while the client is away.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = sse::get(server.addr, path, &[("last-event-id", &last_id)])
        .await
        .expect("reconnect");
    assert_eq!(second.status(), 200);
    let after = receive(&mut second, 200).await;
    let stored = writer.await.expect("writer");
    let mut got: Vec<_> = before_drop.iter().map(seen).collect();
    got.extend(after.iter().map(seen));
    assert_exactly(&got, &expected(&stored));
    assert_nothing_more(&store, &mut second, 1000).await;

    // The id of the last event resumes after it again, also on a new server (no state kept).
    let last_id = after.last().and_then(|e| e.id.clone()).expect("an id");
    drop(second);
    drop(server);
    let server = start(&store, |b| b).await;
    let mut third = sse::get(server.addr, path, &[("last-event-id", &last_id)])
        .await
        .expect("reconnect");
    let marker = third.next_event(WAIT).await.expect("the marker event");
    assert_eq!(seen(&marker).1, {
        // The marker stored by assert_nothing_more is the first event after that id.
        let all: Vec<_> = got.iter().map(|(_, u)| u.clone()).collect();
        let data: Value = serde_json::from_str(&marker.data).unwrap();
        assert!(!all.contains(&data["event_uuid"].as_str().unwrap().to_owned()));
        data["event_uuid"].as_str().unwrap().to_owned()
    });
}

fn millis(created_at: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(created_at)
        .expect("created_at")
        .timestamp_millis()
}

/// Done-when 3: `since` halfway through a stored run starts at the right event; a time
/// before the retention starts at the oldest, saying so; a `since` in the future waits for
/// new events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_starts_at_the_right_event() {
    let store = environment("http-since").await;
    let mut stored = Vec::new();
    for n in 0..20 {
        stored.push(store_one(&store, n).await);
        // Distinct milliseconds, so that "halfway" is one event.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let server = start(&store, |b| b).await;
    let half = &stored[10];
    let since = millis(&half.created_at);
    let path = format!("/v2/stream/phone_call,neat_event?since={since}");
    let mut stream = sse::get(server.addr, &path, &[]).await.expect("connect");
    assert_eq!(stream.status(), 200);
    let got: Vec<_> = receive(&mut stream, 10).await.iter().map(seen).collect();
    assert_exactly(&got, &expected(&stored[10..]));
    assert_nothing_more(&store, &mut stream, 500).await;

    // The same time as ISO-8601, one table: its first event at or after it comes first.
    let iso = chrono::DateTime::from_timestamp_millis(since)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let path = format!(
        "/v2/stream/{}?since={}",
        half.table,
        iso.replace('+', "%2B")
    );
    let mut one = sse::get(server.addr, &path, &[]).await.expect("connect");
    let first = one.next_event(WAIT).await.expect("an event");
    assert_eq!(seen(&first), (half.table.to_owned(), half.uuid.clone()));

    // Before the retention: the oldest retained event, and a comment that says so.
    let mut oldest = sse::get(server.addr, "/v2/stream/phone_call?since=1", &[])
        .await
        .expect("connect");
    let first = oldest.next_event(WAIT).await.expect("an event");
    assert_eq!(seen(&first).1, stored[0].uuid);
    assert!(
        oldest
            .comments
            .iter()
            .any(|c| c.contains("before the stream's 24 h retention")),
        "{:?}",
        oldest.comments
    );

    // In the future: nothing stored before that time, the first event at or after it.
    let future = chrono::Utc::now().timestamp_millis() + 1500;
    let path = format!("/v2/stream/phone_call,neat_event?since={future}");
    let mut waiting = sse::get(server.addr, &path, &[]).await.expect("connect");
    let early = store_one(&store, 600).await;
    assert!(millis(&early.created_at) < future);
    let now = chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(Duration::from_millis((future - now).max(0) as u64 + 20)).await;
    let late = store_one(&store, 601).await;
    let first = waiting.next_event(WAIT).await.expect("an event");
    assert_eq!(seen(&first), (late.table.to_owned(), late.uuid));
}

/// Done-when 4: with `Accept: application/json` the answer is NDJSON, one event per line
/// (blank lines are heartbeats).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_with_accept_application_json() {
    let store = environment("http-ndjson").await;
    let server = start(&store, |b| b.heartbeat(Duration::from_millis(100))).await;
    let mut stream = sse::get(
        server.addr,
        "/v2/stream/neat_event,phone_call",
        &[("accept", "application/json")],
    )
    .await
    .expect("connect");
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.header("content-type"),
        Some("application/x-ndjson; charset=utf-8")
    );
    let stored = store_range(&store, 0..6).await;
    let mut got = Vec::new();
    let mut blank = 0;
    while got.len() < stored.len() {
        let line = tokio::time::timeout(WAIT, stream.next_line())
            .await
            .expect("a line in time")
            .expect("the stream goes on");
        if line.is_empty() {
            blank += 1;
            continue;
        }
        let value: Value = serde_json::from_str(&line).expect("one JSON object per line");
        assert!(
            value["created_at"].is_string() && value["event_uuid"].is_string(),
            "{value}"
        );
        let table = value["table"].as_str().expect("table").to_owned();
        if table == "phone_call" {
            assert!(
                value["person_id"].is_u64() && value["phone_number"].is_string(),
                "{value}"
            );
        } else {
            assert!(
                value["location"].is_string() && value["employee_action"].is_string(),
                "{value}"
            );
        }
        got.push((table, value["event_uuid"].as_str().unwrap().to_owned()));
    }
    assert_exactly(&got, &expected(&stored));
    // Heartbeats: blank lines, every 100 ms here.
    while blank < 2 {
        let line = tokio::time::timeout(WAIT, stream.next_line())
            .await
            .expect("a heartbeat");
        assert_eq!(line.as_deref(), Some(""));
        blank += 1;
    }
}

/// Done-when 5: unknown table 404 (listing what is served), bad `since` 400, bad
/// Last-Event-ID 400; the server goes on serving. Also: heartbeats, the client cap, the
/// discovery routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_answers_not_panics() {
    let store = environment("http-errors").await;
    let server = start(&store, |b| {
        b.max_clients(2).heartbeat(Duration::from_millis(100))
    })
    .await;
    let addr = server.addr;
    let json = |text: &str| -> Value { serde_json::from_str(text).expect("a JSON answer") };

    for path in [
        "/v2/stream/nope",
        "/v2/stream/phone_call,nope",
        "/v2/stream/",
        "/v2/stream/,",
    ] {
        let (status, body) = sse::get_text(addr, path).await.expect("answer");
        assert_eq!(status, 404, "{path}: {body}");
        let body = json(&body);
        if path != "/v2/stream/" {
            assert_eq!(
                body["available"],
                serde_json::json!(["neat_event", "phone_call"]),
                "{body}"
            );
        }
    }
    for since in ["yesterday", "-1", "2026-02-30", "99999999999999999999"] {
        let (status, body) = sse::get_text(addr, &format!("/v2/stream/phone_call?since={since}"))
            .await
            .expect("answer");
        assert_eq!(status, 400, "{since}: {body}");
        assert!(
            json(&body)["error"].as_str().unwrap().contains("since="),
            "{body}"
        );
    }
    let foreign_env = eventosaurus_http::position::ResumeId {
        environment: "someone-else".into(),
        tables: Default::default(),
    }
    .encode();
    let other_table = eventosaurus_http::position::ResumeId {
        environment: store.environment_prefix().into(),
        tables: [("neat_event".to_owned(), Default::default())].into(),
    }
    .encode();
    for (id, why) in [
        ("not an id", "base64url"),
        ("e30", "position"),
        ("////", "base64url"),
        (foreign_env.as_str(), "environment"),
        (other_table.as_str(), "neat_event"),
    ] {
        let stream = sse::get(addr, "/v2/stream/phone_call", &[("last-event-id", id)])
            .await
            .expect("answer");
        assert_eq!(stream.status(), 400, "{id}");
        let body = json(&stream.text().await.unwrap());
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains("Last-Event-ID") && error.contains(why),
            "{id}: {error}"
        );
    }

    // Still serving: discovery routes, the page, a stream with heartbeats.
    let (status, body) = sse::get_text(addr, "/healthz").await.unwrap();
    assert_eq!((status, json(&body)["status"].as_str()), (200, Some("ok")));
    let (status, body) = sse::get_text(addr, "/v2/streams").await.unwrap();
    assert_eq!(status, 200);
    let streams = json(&body);
    let phone = streams["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "phone_call")
        .expect("phone_call listed")
        .clone();
    assert_eq!(phone["partition_key"]["name"], "person_id");
    let names: Vec<&str> = phone["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "event_uuid",
            "created_at",
            "person_id",
            "phone_number",
            "last_called"
        ]
    );
    let (status, body) = sse::get_text(addr, "/openapi.json").await.unwrap();
    assert_eq!(status, 200);
    assert!(json(&body)["paths"]["/v2/stream/{tables}"]["get"].is_object());
    let (status, body) = sse::get_text(addr, "/").await.unwrap();
    assert!(status == 200 && body.contains("EventSource"), "{status}");
    let (status, _) = sse::get_text(addr, "/nothing/here").await.unwrap();
    assert_eq!(status, 404);

    let mut one = sse::get(addr, "/v2/stream/phone_call", &[]).await.unwrap();
    let mut beats = 0;
    while beats < 2 {
        match tokio::time::timeout(WAIT, one.next_frame())
            .await
            .expect("a frame")
        {
            Some(sse::SseFrame::Comment(c)) if c == "heartbeat" => beats += 1,
            Some(_) => {}
            None => panic!("the stream ended"),
        }
    }
    // The cap: two clients at once, a third gets 503 until one leaves.
    let two = sse::get(addr, "/v2/stream/neat_event", &[]).await.unwrap();
    assert_eq!(two.status(), 200);
    let three = sse::get(addr, "/v2/stream/neat_event", &[]).await.unwrap();
    assert_eq!(three.status(), 503);
    assert!(three.text().await.unwrap().contains("too many clients"));
    drop(two);
    let mut again = None;
    for _ in 0..200 {
        let s = sse::get(addr, "/v2/stream/neat_event", &[]).await.unwrap();
        if s.status() == 200 {
            again = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(again.is_some(), "a slot is free again after a client left");
    let counts: HashMap<String, Value> = serde_json::from_value(
        json(&sse::get_text(addr, "/healthz").await.unwrap().1)["streams"].clone(),
    )
    .unwrap();
    assert_eq!(counts["phone_call"]["live"], true);
}
