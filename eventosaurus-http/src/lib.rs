//! # eventosaurus-http
//!
//! Serve stored events to any HTTP client as they are stored, in the shape of Wikimedia's
//! EventStreams: Server-Sent Events (or NDJSON) read from the tables' DynamoDB streams.
//!
//! ```no_run
//! # async fn run(store: eventosaurus::Store) -> eventosaurus_http::Result<()> {
//! use eventosaurus_http::StreamServer;
//!
//! let server = StreamServer::builder(&store)
//!     .tables(eventosaurus::registry::tables())   // the default: every registered table
//!     .allow(["phone_call"])                       // optional: serve only these
//!     .build()?;
//! let listener = eventosaurus_http::bind("127.0.0.1:8092").await?;
//! server.serve(listener, eventosaurus_http::terminated()).await?;
//! # Ok(()) }
//! ```
//!
//! Routes ([`StreamServer::router`] gives them as an axum `Router` to nest in your own app):
//!
//! | route | what |
//! |---|---|
//! | `GET /v2/stream/{tables}` | the events of the comma-separated logical tables as they are stored: SSE (`event: <table>`, `id: <resume position>`, `data: <JSON>`), or NDJSON with `Accept: application/json`; `?since=<ms or ISO-8601>`; `Last-Event-ID` resumes |
//! | `GET /v2/streams` | the tables served, with their schema |
//! | `GET /openapi.json` | the OpenAPI description of these routes |
//! | `GET /healthz` | `{"status":"ok",..}` with clients and live readers |
//! | `GET /` | a live page that follows a stream in the browser |
//!
//! **Fan-out.** Each table has one live reader ([`feed`](crate) internally), started by its
//! first client and shared by all: it reads the stream once and publishes each event into a
//! bounded broadcast channel ([`StreamServerBuilder::client_buffer`] events). A client more
//! than that many events behind is disconnected with a final comment saying why; it never
//! slows the reader or the other clients. A client with `since` or `Last-Event-ID` first
//! reads the stream itself from that position up to the live reader's, then joins the
//! broadcast (see [`position`] for the resume ids).
#![warn(missing_docs)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::Client as StreamsClient;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use eventosaurus::{Store, TableDef};
use serde_json::{json, Value};
use tokio::sync::{watch, OnceCell};

mod client;
mod error;
mod feed;
pub mod json;
mod openapi;
pub mod position;
pub mod since;

pub use error::{Error, Result};

use client::{ClientSlot, ClientStream, Format, TableState};
use feed::{Feed, FeedOptions};
use position::{ResumeId, TableCursor};

/// The default address of `eventosaurus-cli serve`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8092";

/// DynamoDB Streams keep records 24 hours.
const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// Tuning of a server; every field has a builder method.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) heartbeat: Duration,
    pub(crate) max_clients: usize,
    pub(crate) client_buffer: usize,
    pub(crate) cors_origin: Option<HeaderValue>,
    pub(crate) poll_interval: Duration,
    pub(crate) discovery_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            heartbeat: Duration::from_secs(15),
            max_clients: 1000,
            client_buffer: 4096,
            cors_origin: None,
            poll_interval: Duration::from_millis(250),
            discovery_interval: Duration::from_secs(30),
        }
    }
}

/// What every request shares.
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) streams: StreamsClient,
    pub(crate) environment: String,
    /// The tables served, by logical name (sorted).
    tables: Vec<&'static TableDef>,
    feeds: HashMap<&'static str, OnceCell<Arc<Feed>>>,
    pub(crate) options: Options,
    clients: Arc<AtomicUsize>,
    pub(crate) shutdown: watch::Sender<bool>,
}

impl Shared {
    fn names(&self) -> Vec<String> {
        self.tables.iter().map(|d| d.name.to_owned()).collect()
    }

    /// The live reader of a served table, started by its first client.
    async fn feed(&self, table: &str) -> Result<Arc<Feed>> {
        let cell = self.feeds.get(table).ok_or_else(|| Error::UnknownTable {
            table: table.to_owned(),
            available: self.names(),
        })?;
        cell.get_or_try_init(|| {
            Feed::start(
                &self.store,
                &self.streams,
                table,
                FeedOptions {
                    poll_interval: self.options.poll_interval,
                    discovery_interval: self.options.discovery_interval,
                    capacity: self.options.client_buffer,
                },
                self.shutdown.subscribe(),
            )
        })
        .await
        .cloned()
    }
}

/// Builds a [`StreamServer`]: [`StreamServer::builder`].
#[must_use]
pub struct StreamServerBuilder {
    store: Store,
    tables: Option<Vec<&'static TableDef>>,
    allow: Option<Vec<String>>,
    options: Options,
    cors: Option<String>,
    streams: Option<StreamsClient>,
}

impl StreamServerBuilder {
    /// The tables that may be served (default: every table of the
    /// [registry](eventosaurus::registry)).
    pub fn tables(mut self, defs: impl IntoIterator<Item = &'static TableDef>) -> Self {
        self.tables.get_or_insert_with(Vec::new).extend(defs);
        self
    }

    /// Serves only these logical table names (each must be one of the tables).
    pub fn allow<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.allow
            .get_or_insert_with(Vec::new)
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// The interval of heartbeat comments on idle streams (default 15 s).
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.options.heartbeat = interval;
        self
    }

    /// The most stream clients at once; more get a 503 (default 1000).
    pub fn max_clients(mut self, max: usize) -> Self {
        self.options.max_clients = max;
        self
    }

    /// How many events of a table a client may fall behind the live reader before it is
    /// disconnected (default 4096; rounded up to a power of two). The buffer is shared: its
    /// memory does not grow with the number of clients. The live reader reads at most half
    /// of it per call, so that one read's burst never cuts off a client that keeps up.
    pub fn client_buffer(mut self, events: usize) -> Self {
        self.options.client_buffer = events;
        self
    }

    /// Answers cross-origin requests from `origin` (`*` for any): off by default.
    pub fn cors(mut self, origin: impl Into<String>) -> Self {
        self.cors = Some(origin.into());
        self
    }

    /// The pause of a live reader after a read that found nothing new (default 250 ms;
    /// DynamoDB allows about 4 reads per second per shard).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.options.poll_interval = interval;
        self
    }

    /// The DynamoDB Streams client (default: built from the store's AWS configuration;
    /// required for a store made with `Store::with_client`).
    pub fn streams_client(mut self, client: StreamsClient) -> Self {
        self.streams = Some(client);
        self
    }

    /// Checks the configuration and builds the server (nothing is read before a client asks).
    pub fn build(self) -> Result<StreamServer> {
        let invalid = |reason: String| Error::InvalidConfig { reason };
        let mut tables = self
            .tables
            .unwrap_or_else(|| eventosaurus::registry::tables().into_iter().collect());
        tables.sort_by_key(|d| d.name);
        tables.dedup_by_key(|d| d.name);
        if let Some(allow) = &self.allow {
            if let Some(unknown) = allow
                .iter()
                .find(|name| !tables.iter().any(|d| d.name == name.as_str()))
            {
                return Err(invalid(format!(
                    "allowed table `{unknown}` is not registered; registered: {}",
                    tables.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
                )));
            }
            tables.retain(|d| allow.iter().any(|a| a == d.name));
        }
        if tables.is_empty() {
            return Err(invalid(
                "no table to serve: pass the event types' TableDefs with tables(..)".to_owned(),
            ));
        }
        let options = Options {
            cors_origin: match self.cors {
                None => None,
                Some(origin) => Some(HeaderValue::from_str(origin.trim()).map_err(|_| {
                    invalid(format!("CORS origin {origin:?} is not a header value"))
                })?),
            },
            ..self.options
        };
        if options.heartbeat.is_zero() {
            return Err(invalid(
                "the heartbeat interval must be more than 0".to_owned(),
            ));
        }
        if options.max_clients == 0 {
            return Err(invalid("max_clients must be at least 1".to_owned()));
        }
        if !(1..=1 << 20).contains(&options.client_buffer) {
            return Err(invalid(
                "client_buffer must be between 1 and 1048576 events".to_owned(),
            ));
        }
        let streams = match (self.streams, self.store.sdk_config()) {
            (Some(client), _) => client,
            (None, Some(config)) => StreamsClient::new(config),
            (None, None) => {
                return Err(invalid(
                    "this store has no AWS configuration to build a DynamoDB Streams client \
                     from: pass one with streams_client(..)"
                        .to_owned(),
                ))
            }
        };
        let (shutdown, _) = watch::channel(false);
        Ok(StreamServer {
            shared: Arc::new(Shared {
                environment: self.store.environment_prefix().to_owned(),
                feeds: tables.iter().map(|d| (d.name, OnceCell::new())).collect(),
                tables,
                store: self.store,
                streams,
                options,
                clients: Arc::new(AtomicUsize::new(0)),
                shutdown,
            }),
        })
    }
}

/// The HTTP stream server: see the [crate docs](crate).
#[derive(Clone)]
pub struct StreamServer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for StreamServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamServer")
            .field("environment", &self.shared.environment)
            .field("tables", &self.shared.names())
            .finish_non_exhaustive()
    }
}

/// Stops a server gracefully from anywhere: [`StreamServer::shutdown_handle`].
#[derive(Debug, Clone)]
pub struct ShutdownHandle(watch::Sender<bool>);

impl ShutdownHandle {
    /// Ends every stream (with a comment saying so), stops the live readers, and lets
    /// [`StreamServer::serve`] return once the connections are closed.
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }
}

impl StreamServer {
    /// A builder for a server over `store`'s environment.
    pub fn builder(store: &Store) -> StreamServerBuilder {
        StreamServerBuilder {
            store: store.clone(),
            tables: None,
            allow: None,
            options: Options::default(),
            cors: None,
            streams: None,
        }
    }

    /// The logical names of the tables served.
    pub fn tables(&self) -> Vec<String> {
        self.shared.names()
    }

    /// A handle that shuts the server down.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shared.shutdown.clone())
    }

    /// The routes, read-only (see the [crate docs](crate)).
    pub fn router(&self) -> Router {
        let router = Router::new()
            .route("/", get(page))
            .route("/v2/streams", get(streams))
            .route("/v2/stream/{tables}", get(stream))
            .route("/openapi.json", get(openapi_json))
            .route("/healthz", get(healthz))
            .fallback(not_found);
        let router = match &self.shared.options.cors_origin {
            Some(origin) => {
                let origin = origin.clone();
                router.layer(axum::middleware::from_fn(move |request, next| {
                    cors(origin.clone(), request, next)
                }))
            }
            None => router,
        };
        router.with_state(self.shared.clone())
    }

    /// Serves on `listener` until `signal` completes or a [`ShutdownHandle`] is used; then
    /// ends every stream and returns once the connections are closed.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let shutdown = self.shared.shutdown.clone();
        let mut stopped = shutdown.subscribe();
        let app = self.router();
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, tables = ?self.shared.names(), "serving the HTTP stream");
        }
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = signal => {}
                    _ = stopped.wait_for(|s| *s) => {}
                }
                shutdown.send_replace(true);
            })
            .await
            .map_err(Error::Serve)
    }
}

/// Binds a TCP listener (`host:port`).
pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Listen {
            addr: addr.to_owned(),
            source,
        })
}

/// Completes on SIGTERM or SIGINT (Ctrl-C): the signal for [`StreamServer::serve`].
pub async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

const PAGE: &str = include_str!("page.html");

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn not_found(method: Method) -> Response {
    let (status, error) = if method == Method::GET || method == Method::HEAD {
        (StatusCode::NOT_FOUND, "no such route; see /openapi.json")
    } else {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "this server is read-only: only GET; see /openapi.json",
        )
    };
    (
        status,
        Json(json!({ "error": error, "status": status.as_u16() })),
    )
        .into_response()
}

/// Whether the client asks for NDJSON (`Accept: application/json` or
/// `application/x-ndjson`) rather than SSE.
fn format(headers: &HeaderMap) -> Format {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    if accept.contains("text/event-stream") {
        Format::Sse
    } else if accept.contains("application/json") || accept.contains("application/x-ndjson") {
        Format::Ndjson
    } else {
        Format::Sse
    }
}

async fn stream(
    State(shared): State<Arc<Shared>>,
    Path(tables): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response> {
    let names = requested_tables(&shared, &tables)?;
    let format = format(&headers);
    let since = params
        .get("since")
        .map(|s| since::parse_since(s))
        .transpose()?;
    let resume = resume_id(&shared, &headers, &names)?;
    if *shared.shutdown.borrow() {
        return Err(Error::ShuttingDown);
    }
    let slot = ClientSlot::take(&shared.clients, shared.options.max_clients).ok_or(
        Error::TooManyClients {
            max: shared.options.max_clients,
        },
    )?;
    let mut notices = Vec::new();
    if let Some(since) = since.filter(|_| resume.is_none()) {
        let horizon = chrono::Utc::now().timestamp_millis() - RETENTION.as_millis() as i64;
        if since < horizon {
            notices.push(format!(
                "since {} is before the stream's 24 h retention: starting at the oldest \
                 retained event",
                millis_text(since)
            ));
        }
    }
    let states = table_states(&shared, &names, resume.as_ref(), since).await?;
    tracing::debug!(tables = %names.join(","), ?format, "client connected");
    let content_type = match format {
        Format::Sse => "text/event-stream; charset=utf-8",
        Format::Ndjson => "application/x-ndjson; charset=utf-8",
    };
    let body = ClientStream::new(shared.clone(), format, states, notices, slot).into_body();
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        body,
    )
        .into_response())
}

/// The tables of `/v2/stream/{tables}`, each once, in the order asked; an unknown one is a 404.
fn requested_tables(shared: &Shared, tables: &str) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    for name in tables.split(',').map(str::trim) {
        if !shared.feeds.contains_key(name) {
            return Err(Error::UnknownTable {
                table: name.to_owned(),
                available: shared.names(),
            });
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// The client's `Last-Event-ID`, if it sent one, decoded for these tables.
fn resume_id(shared: &Shared, headers: &HeaderMap, names: &[String]) -> Result<Option<ResumeId>> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| Error::BadLastEventId {
        reason: "it is not ASCII text".to_owned(),
    })?;
    Ok(Some(ResumeId::decode(text, &shared.environment, names)?))
}

/// Where each table's events start for this client: after its resume id's position, at
/// `since`, or live.
async fn table_states(
    shared: &Shared,
    names: &[String],
    resume: Option<&ResumeId>,
    since: Option<i64>,
) -> Result<Vec<TableState>> {
    let mut states = Vec::with_capacity(names.len());
    for name in names {
        let feed = shared.feed(name).await?;
        let from_id = resume.and_then(|r| r.tables.get(name)).cloned();
        states.push(match (from_id, since) {
            (Some(cursor), _) => TableState::from(feed, cursor),
            (None, Some(since)) => TableState::from(
                feed,
                TableCursor {
                    not_before: Some(since),
                    shards: Default::default(),
                },
            ),
            (None, None) => TableState::live(feed),
        });
    }
    Ok(states)
}

fn millis_text(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| millis.to_string())
}

/// One served table, as `/v2/streams` lists it.
fn describe(shared: &Shared, def: &TableDef) -> Value {
    let mut attributes = vec![
        json!({"name": "event_uuid", "type": "String"}),
        json!({"name": "created_at", "type": "String"}),
    ];
    attributes.extend(
        def.attributes
            .iter()
            .map(|a| json!({"name": a.name, "type": a.attribute_type})),
    );
    json!({
        "name": def.name,
        "path": format!("/v2/stream/{}", def.name),
        "table_name": def.full_name(&shared.environment),
        "event_type": def.event_type,
        "partition_key": {"name": def.partition_key, "type": def.partition_key_type},
        "composite_key": def.composite_key,
        "attributes": attributes,
    })
}

async fn streams(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "environment": shared.environment,
        "streams": shared.tables.iter().map(|d| describe(&shared, d)).collect::<Vec<_>>(),
    }))
}

async fn openapi_json(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(openapi::document(&shared.names()))
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut feeds = serde_json::Map::new();
    for def in &shared.tables {
        let value = match shared.feeds.get(def.name).and_then(|c| c.get()) {
            Some(feed) => json!({
                "live": true,
                "events": feed.published(),
                "clients": feed.receivers(),
                "error": feed.last_error(),
            }),
            None => json!({"live": false}),
        };
        feeds.insert(def.name.to_owned(), value);
    }
    let stopping = *shared.shutdown.borrow();
    Json(json!({
        "status": if stopping { "shutting down" } else { "ok" },
        "clients": shared.clients.load(std::sync::atomic::Ordering::SeqCst),
        "max_clients": shared.options.max_clients,
        "streams": feeds,
    }))
}

/// CORS for `origin`: the header on every answer, and preflight requests answered.
async fn cors(origin: HeaderValue, request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Accept, Last-Event-ID, Cache-Control"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        response
    } else {
        next.run(request).await
    };
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    response
}
