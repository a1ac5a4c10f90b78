//! A fault-injecting TCP proxy between an SDK client and a real DynamoDB Local.
//!
//! Tests point a store at [`FaultProxy::endpoint`] instead of the server, then choose what
//! happens to each HTTP request, at runtime:
//!
//! * [`Fault::PassThrough`]: forwarded, and the server's response returned;
//! * [`Fault::LoseResponse`]: forwarded, the server's full response read (so the write
//!   happened), then the client connection is reset: the client never learns the outcome;
//! * [`Fault::Stall`]: never forwarded, never answered, until the client gives up (closes
//!   the connection) or the proxy is dropped;
//! * [`Fault::Error500`]: answered `500 InternalServerError` without forwarding.
//!
//! [`FaultProxy::set_mode`] sets the fault for every request; [`FaultProxy::inject`] applies
//! one to the next `n` requests that match a predicate (on the `X-Amz-Target` operation or
//! the body), before falling back to the mode. [`FaultProxy::stats`] counts the requests
//! each fault was applied to, and [`FaultProxy::wait_until`] awaits a condition on them.
//!
//! Plain HTTP/1.1 over tokio TCP: several requests per (keep-alive) connection, bodies
//! framed by `Content-Length` or chunked encoding. Dropping the proxy stops every task it
//! started, stalled connections included.
//!
//! ```no_run
//! # async fn run() {
//! use eventosaurus_testkit::fault_proxy::{Fault, FaultProxy};
//! let proxy = FaultProxy::start(eventosaurus_testkit::local::endpoint()).await;
//! // The next PutItem is written by the server, but its response never arrives.
//! proxy.inject(Fault::LoseResponse, 1, |request| request.operation() == "PutItem");
//! let store = eventosaurus_testkit::local::store_at(&proxy.endpoint(), "example").await;
//! # }
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// What the proxy does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Forward it and return the server's response.
    #[default]
    PassThrough,
    /// Forward it, wait for the server's full response, then reset the client connection.
    LoseResponse,
    /// Neither forward nor answer; hold the connection until the client closes it.
    Stall,
    /// Answer `500 InternalServerError` without forwarding.
    Error500,
}

/// How many requests each fault was applied to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Requests forwarded and answered (counted once the answer was sent to the client).
    pub passed: u64,
    /// Requests forwarded whose response was dropped (counted once the server had answered).
    pub lost: u64,
    /// Requests held without an answer (counted when the stall begins).
    pub stalled: u64,
    /// Requests answered with a 500 (counted once the answer was sent).
    pub errored: u64,
    /// Client connections accepted.
    pub connections: u64,
}

impl ProxyStats {
    /// Every request a fault was applied to.
    pub fn requests(&self) -> u64 {
        self.passed + self.lost + self.stalled + self.errored
    }
}

/// A request as the predicates of [`FaultProxy::inject`] see it.
#[derive(Debug)]
pub struct Request<'a> {
    /// The `X-Amz-Target` header, e.g. `DynamoDB_20120810.PutItem` (empty if absent).
    pub target: &'a str,
    /// The request body (JSON for DynamoDB).
    pub body: &'a [u8],
}

impl Request<'_> {
    /// The operation named by `X-Amz-Target`: `PutItem`, `BatchWriteItem`, ...
    pub fn operation(&self) -> &str {
        self.target.rsplit('.').next().unwrap_or("")
    }

    /// Whether the body contains `needle` (e.g. an event's id or a marker value).
    pub fn body_contains(&self, needle: &str) -> bool {
        let needle = needle.as_bytes();
        !needle.is_empty() && self.body.windows(needle.len()).any(|w| w == needle)
    }
}

type Predicate = Box<dyn Fn(&Request<'_>) -> bool + Send + Sync>;

/// A rule added by [`FaultProxy::inject`], to [`remove`](FaultProxy::remove_rule) it early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleId(u64);

struct Rule {
    id: u64,
    fault: Fault,
    remaining: u64,
    when: Predicate,
}

struct State {
    upstream: String,
    mode: Mutex<Fault>,
    rules: Mutex<Vec<Rule>>,
    next_rule: std::sync::atomic::AtomicU64,
    stats: watch::Sender<ProxyStats>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    /// The fault for this request: the first matching rule with uses left, else the mode.
    fn decide(&self, request: &Request<'_>) -> Fault {
        let mut rules = lock(&self.rules);
        if let Some(index) = rules.iter().position(|rule| (rule.when)(request)) {
            let rule = &mut rules[index];
            rule.remaining -= 1;
            let fault = rule.fault;
            if rule.remaining == 0 {
                rules.remove(index);
            }
            return fault;
        }
        *lock(&self.mode)
    }

    fn count(&self, fault: Fault) {
        self.stats.send_modify(|s| match fault {
            Fault::PassThrough => s.passed += 1,
            Fault::LoseResponse => s.lost += 1,
            Fault::Stall => s.stalled += 1,
            Fault::Error500 => s.errored += 1,
        });
    }
}

/// A running proxy. Dropping it closes the listener and every connection.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.state.upstream)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Starts a proxy on a free `127.0.0.1` port, forwarding to `upstream`
    /// (`http://host:port`, e.g. [`local::endpoint`](crate::local::endpoint)), in
    /// [`Fault::PassThrough`] mode.
    ///
    /// # Panics
    /// If no loopback port can be bound, or `upstream` is not `http://host:port`.
    pub async fn start(upstream: &str) -> FaultProxy {
        let host_port = upstream
            .strip_prefix("http://")
            .unwrap_or(upstream)
            .trim_end_matches('/')
            .to_owned();
        assert!(
            host_port.contains(':') && !host_port.contains('/'),
            "the proxy forwards to http://host:port, not {upstream:?}"
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the fault proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let (stats, _) = watch::channel(ProxyStats::default());
        let state = Arc::new(State {
            upstream: host_port,
            mode: Mutex::new(Fault::PassThrough),
            rules: Mutex::new(Vec::new()),
            next_rule: std::sync::atomic::AtomicU64::new(0),
            stats,
        });
        let accept = tokio::spawn(accept_loop(listener, state.clone()));
        FaultProxy {
            addr,
            state,
            accept,
        }
    }

    /// `http://127.0.0.1:<port>`: give it to the client instead of the server's endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The fault for every request no rule of [`inject`](Self::inject) claims.
    pub fn set_mode(&self, fault: Fault) {
        *lock(&self.state.mode) = fault;
    }

    /// Applies `fault` to the next `times` requests for which `when` is true. Rules are
    /// tried in the order they were added; a rule that has been used `times` times is gone
    /// (`u64::MAX`: until [`remove_rule`](Self::remove_rule)).
    pub fn inject(
        &self,
        fault: Fault,
        times: u64,
        when: impl Fn(&Request<'_>) -> bool + Send + Sync + 'static,
    ) -> RuleId {
        let id = self
            .state
            .next_rule
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if times > 0 {
            lock(&self.state.rules).push(Rule {
                id,
                fault,
                remaining: times,
                when: Box::new(when),
            });
        }
        RuleId(id)
    }

    /// Removes one rule (if it is not used up yet): the requests it would have claimed
    /// fall to the other rules or the mode.
    pub fn remove_rule(&self, rule: RuleId) {
        lock(&self.state.rules).retain(|r| r.id != rule.0);
    }

    /// Removes every rule added by [`inject`](Self::inject) (the mode stays).
    pub fn clear_rules(&self) {
        lock(&self.state.rules).clear();
    }

    /// The counters right now.
    pub fn stats(&self) -> ProxyStats {
        *self.state.stats.borrow()
    }

    /// Waits until `condition` holds for the counters (no timeout: wrap it in one).
    pub async fn wait_until(&self, mut condition: impl FnMut(&ProxyStats) -> bool) -> ProxyStats {
        let mut stats = self.state.stats.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail while we borrow it.
        let seen = stats
            .wait_for(|s| condition(s))
            .await
            .expect("the proxy's counters outlive it");
        *seen
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The connection tasks live in the accept task's JoinSet: aborting it drops them all.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let _ = client.set_nodelay(true);
                state.stats.send_modify(|s| s.connections += 1);
                connections.spawn(serve(client, state.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Serves one client connection: its requests, one after the other (HTTP/1.1 keep-alive).
async fn serve(client: TcpStream, state: Arc<State>) {
    let mut client = Conn::new(client);
    let mut upstream: Option<Conn> = None;
    loop {
        let request = match client.read_message(Kind::Request).await {
            Ok(Some(request)) => request,
            Ok(None) | Err(_) => return,
        };
        let fault = state.decide(&Request {
            target: request.header("x-amz-target").unwrap_or(""),
            body: request.body(),
        });
        match fault {
            Fault::PassThrough | Fault::LoseResponse => {
                let Some(response) = forward(&state, &mut upstream, &request).await else {
                    return; // the server failed: the client sees the connection close
                };
                if fault == Fault::LoseResponse {
                    state.count(fault);
                    // SO_LINGER 0: closing sends RST, not FIN, and nothing of the response.
                    let _ = client.stream.set_zero_linger();
                    return;
                }
                if client.stream.write_all(&response.raw).await.is_err() {
                    return;
                }
                state.count(fault);
                if response.closes() || request.closes() {
                    return;
                }
            }
            Fault::Stall => {
                state.count(fault);
                // Hold the connection until the client gives up (EOF or error); what it sends
                // meanwhile is ignored. Dropping the proxy aborts this task.
                let mut sink = [0u8; 4096];
                while matches!(client.stream.read(&mut sink).await, Ok(n) if n > 0) {}
                return;
            }
            Fault::Error500 => {
                let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected by the fault proxy"}"#;
                let response = format!(
                    "HTTP/1.1 500 Internal Server Error\r\n\
                     Content-Type: application/x-amz-json-1.0\r\n\
                     x-amzn-RequestId: fault-proxy\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if client.stream.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
                state.count(fault);
                if request.closes() {
                    return;
                }
            }
        }
    }
}

/// Sends `request` upstream (connecting if needed) and reads the full response.
async fn forward(state: &State, upstream: &mut Option<Conn>, request: &Message) -> Option<Message> {
    // A kept-alive upstream connection may have been closed by the server meanwhile: one
    // fresh connection is tried before giving up.
    // It is retried only when the server answered nothing at all (a clean end of stream).
    for fresh in [upstream.is_none(), true] {
        if fresh {
            let stream = TcpStream::connect(&state.upstream).await.ok()?;
            let _ = stream.set_nodelay(true);
            *upstream = Some(Conn::new(stream));
        }
        let conn = upstream.as_mut()?;
        let answer = match conn.stream.write_all(&request.raw).await {
            Ok(()) => conn.read_message(Kind::Response).await,
            Err(err) => Err(err),
        };
        match answer {
            Ok(Some(response)) => {
                if response.closes() {
                    *upstream = None;
                }
                return Some(response);
            }
            Ok(None) if !fresh => *upstream = None,
            _ => {
                *upstream = None;
                return None;
            }
        }
    }
    None
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    Response,
}

/// One HTTP/1.1 message, as bytes, with its parsed head.
struct Message {
    raw: Vec<u8>,
    headers: Vec<(String, String)>,
    body_start: usize,
    /// Where the (de-chunked) body is, for predicates; chunked bodies are copied here.
    body: Option<Vec<u8>>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn body(&self) -> &[u8] {
        self.body.as_deref().unwrap_or(&self.raw[self.body_start..])
    }

    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A TCP stream with a read buffer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

const MAX_HEAD: usize = 64 * 1024;

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Reads more bytes; `false` at end of stream.
    async fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Ensures at least `n` bytes are buffered.
    async fn need(&mut self, n: usize) -> io::Result<()> {
        while self.buf.len() < n {
            if !self.fill().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    /// The position just after the next CRLF at or after `from`.
    async fn line_end(&mut self, from: usize) -> io::Result<usize> {
        loop {
            if let Some(i) = find(&self.buf[from.min(self.buf.len())..], b"\r\n") {
                return Ok(from + i + 2);
            }
            if self.buf.len() > from + MAX_HEAD {
                return Err(io::ErrorKind::InvalidData.into());
            }
            if !self.fill().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Reads one full message; `None` on a clean end of stream before it starts. Interim
    /// `1xx` responses are kept in front of the final one.
    async fn read_message(&mut self, kind: Kind) -> io::Result<Option<Message>> {
        let mut start = 0;
        loop {
            if self.buf.len() == start && !self.fill().await? {
                return if start == 0 {
                    Ok(None)
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                };
            }
            let head_end = loop {
                if let Some(i) = find(&self.buf[start..], b"\r\n\r\n") {
                    break start + i + 4;
                }
                if self.buf.len() - start > MAX_HEAD {
                    return Err(io::ErrorKind::InvalidData.into());
                }
                if !self.fill().await? {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            };
            let head = String::from_utf8_lossy(&self.buf[start..head_end]).into_owned();
            let mut lines = head.split("\r\n");
            let first = lines.next().unwrap_or("");
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .collect();
            let status: u16 = match kind {
                Kind::Response => first
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .ok_or(io::ErrorKind::InvalidData)?,
                Kind::Request => 0,
            };
            if (100..200).contains(&status) {
                start = head_end; // an interim response: the final one follows
                continue;
            }
            let get = |name: &str| {
                headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            };
            let chunked = get("transfer-encoding")
                .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
            let no_body = kind == Kind::Response && (status == 204 || status == 304);
            let (end, body) = if no_body {
                (head_end, None)
            } else if chunked {
                let (end, body) = self.read_chunked(head_end).await?;
                (end, Some(body))
            } else {
                let length: usize = match get("content-length") {
                    Some(v) => v.parse().map_err(|_| io::ErrorKind::InvalidData)?,
                    None if kind == Kind::Request => 0,
                    None => {
                        // A response without framing ends with the connection.
                        while self.fill().await? {}
                        self.buf.len() - head_end
                    }
                };
                self.need(head_end + length).await?;
                (head_end + length, None)
            };
            let raw: Vec<u8> = self.buf.drain(..end).collect();
            return Ok(Some(Message {
                raw,
                headers,
                body_start: head_end,
                body,
            }));
        }
    }

    /// Reads a chunked body starting at `at`; returns where it ends and its content.
    async fn read_chunked(&mut self, mut at: usize) -> io::Result<(usize, Vec<u8>)> {
        let mut body = Vec::new();
        loop {
            let line_end = self.line_end(at).await?;
            let size_text = String::from_utf8_lossy(&self.buf[at..line_end - 2]).into_owned();
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size =
                usize::from_str_radix(size_text, 16).map_err(|_| io::ErrorKind::InvalidData)?;
            at = line_end;
            if size == 0 {
                // Trailers, up to an empty line.
                loop {
                    let end = self.line_end(at).await?;
                    let empty = end - at == 2;
                    at = end;
                    if empty {
                        return Ok((at, body));
                    }
                }
            }
            self.need(at + size + 2).await?;
            body.extend_from_slice(&self.buf[at..at + size]);
            at += size + 2;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
