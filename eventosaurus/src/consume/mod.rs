//! React to events as they are stored: a DynamoDB Streams consumer with typed handlers,
//! checkpoints and leases.
//!
//! Event tables are created with a stream (`NEW_IMAGE`, see [`table_stream`](crate::table_stream)).
//! A [`Consumer`] reads the streams of the tables you name and calls, for each stored event,
//! the most specific handler (see [`handlers`]):
//!
//! ```no_run
//! # #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
//! # #[eventosaurus(table = "phone_call", partition_key = person_id)]
//! # pub struct PhoneCall { pub person_id: u64 }
//! # async fn run() -> eventosaurus::Result<()> {
//! use eventosaurus::consume::{Consumer, RawEvent, StartingPosition};
//! use eventosaurus::{Storable, StoredEvent};
//!
//! let store = eventosaurus::Store::from_env().await?;
//! let consumer = Consumer::builder(&store)
//!     .group("billing")                          // leases + checkpoints; optional
//!     .on(|call: StoredEvent<PhoneCall>| async move {
//!         println!("{} called at {}", call.person_id, call.created_at);
//!         Ok(())
//!     })
//!     .on_table("audit_*", |event: RawEvent| async move { Ok(()) })?
//!     .on_any(|event: RawEvent| async move { Ok(()) })
//!     .tables([PhoneCall::TABLE])
//!     .table_named("audit_log")
//!     .start_at(StartingPosition::TrimHorizon)
//!     .build()?;
//! let stats = consumer.run_until(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! println!("{} handled, {} failed", stats.handled, stats.failed);
//! # Ok(()) }
//! ```
//!
//! **Delivery** is at least once, in order within a shard (so in write order per partition
//! key). A checkpoint is written after each batch, once every handler of the batch returned:
//! after a crash, the events after the last checkpoint are handled again. A handler error is
//! retried with exponential backoff; after the last attempt the event goes to its type's
//! [`OnError::on_error`](crate::OnError::on_error) hook (typed handlers) and the
//! [`dead_letter`](ConsumerBuilder::dead_letter) hook, and is skipped, so one poison event
//! never blocks its shard. [`dedup_window`](ConsumerBuilder::dedup_window) drops repeats of an
//! `event_uuid` within a process.
//!
//! **Leases** ([`lease`]): consumers with the same [`group`](ConsumerBuilder::group) share
//! the shards through `<prefix>_eventosaurus_leases` (created by `create-tables`, or
//! [`create_lease_table`]); a process that dies loses its leases after
//! [`lease_expiry`](ConsumerBuilder::lease_expiry), and another takes over from the last
//! checkpoint. Without a group, the consumer reads every shard and keeps no checkpoint.
//!
//! **Lifecycle**: [`Consumer::run_until`] runs until the future completes (or
//! [`ShutdownHandle::shutdown`] is called, or the [`limit`](ConsumerBuilder::limit) is
//! reached), then finishes each shard's current batch, checkpoints and releases its leases.
//! Spans: `eventosaurus.consume` and `eventosaurus.consume.shard` (table, shard id).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodbstreams::Client as StreamsClient;
use tokio::sync::watch;
use tracing::Instrument;

use crate::codec::StoredEvent;
use crate::error::{Error, Result};
use crate::table::TableDef;
use crate::{Storable, Store};

mod admin;
mod convert;
mod coordinator;
mod dedup;
pub mod handlers;
pub mod lease;
pub mod reader;
pub mod shards;
mod stats;
mod worker;

#[cfg(feature = "lambda")]
pub mod lambda;

pub use admin::{enable_stream, EnableStreamOutcome};
pub use convert::{item_from_stream, value_from_stream};
pub use handlers::{HandlerError, HandlerResult, RawEvent, StreamPosition, TablePattern};
pub use lease::{create_lease_table, lease_table_name, Checkpoint, LEASE_TABLE};
pub use shards::{ShardInfo, StartingPosition};
pub use stats::{ConsumerStats, ShardStats};

use handlers::{DeadLetter, Entry, Handlers, Typed, Untyped};

/// A change of lease ownership seen by this process (for logs, metrics and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseChange {
    /// `<table>/<shard id>`.
    pub key: String,
    /// What happened.
    pub kind: LeaseChangeKind,
    /// When (this machine's clock).
    pub at: SystemTime,
    /// For [`LeaseChangeKind::Acquired`]: the group's checkpoint, where this process resumes
    /// (`None`: no checkpoint yet, the starting position applies).
    pub checkpoint: Option<Checkpoint>,
}

/// What happened to a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseChangeKind {
    /// This process took the lease; its worker starts after this.
    Acquired,
    /// This process gave the lease up after its worker stopped (shutdown, shard end).
    Released,
    /// This process handed the lease to another one that asked for it, after its worker stopped.
    HandedOver {
        /// The process it went to.
        to: String,
    },
    /// Another process owns the lease now; this process's worker was stopped at once.
    Lost,
}

type LeaseListener = Arc<dyn Fn(&LeaseChange) + Send + Sync>;
type CheckpointListener = Arc<dyn Fn(&str, &Checkpoint) + Send + Sync>;

/// Tuning of a consumer; every field has a builder method.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) start: StartingPosition,
    pub(crate) poll_interval: Duration,
    pub(crate) batch_size: i32,
    pub(crate) max_attempts: u32,
    pub(crate) retry_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) lease_expiry: Duration,
    pub(crate) discovery_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            start: StartingPosition::TrimHorizon,
            poll_interval: Duration::from_millis(250),
            batch_size: 1000,
            max_attempts: 3,
            retry_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            lease_expiry: Duration::from_secs(10),
            discovery_interval: Duration::from_secs(30),
        }
    }
}

/// What every worker of a consumer shares.
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) streams: StreamsClient,
    /// (logical name, full name) of every table read.
    pub(crate) tables: Vec<(String, String)>,
    pub(crate) handlers: HashMap<String, Option<Arc<dyn handlers::ErasedHandler>>>,
    pub(crate) dead_letter: Option<DeadLetter>,
    pub(crate) options: Options,
    pub(crate) counters: stats::Counters,
    pub(crate) dedup: Option<Mutex<dedup::DedupWindow>>,
    pub(crate) leases: Option<lease::LeaseTable>,
    pub(crate) lease_listener: Option<LeaseListener>,
    pub(crate) checkpoint_listener: Option<CheckpointListener>,
    pub(crate) limit: Option<u64>,
    reserved: AtomicU64,
    shutdown: watch::Sender<bool>,
}

impl Shared {
    /// Takes one event slot under the limit; at the limit, asks the consumer to stop.
    pub(crate) fn reserve_event(&self) -> bool {
        let Some(limit) = self.limit else {
            return true;
        };
        let taken = self
            .reserved
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit).then_some(n + 1)
            });
        match taken {
            Ok(n) => {
                if n + 1 >= limit {
                    self.shutdown.send_replace(true);
                }
                true
            }
            Err(_) => {
                self.shutdown.send_replace(true);
                false
            }
        }
    }
}

/// Builds a [`Consumer`]: [`Consumer::builder`].
#[must_use]
pub struct ConsumerBuilder {
    store: Store,
    streams: Option<StreamsClient>,
    group: Option<String>,
    worker_id: Option<String>,
    tables: Vec<String>,
    handlers: Handlers,
    error: Option<Error>,
    dead_letter: Option<DeadLetter>,
    options: Options,
    dedup_window: Option<Duration>,
    limit: Option<u64>,
    lease_listener: Option<LeaseListener>,
    checkpoint_listener: Option<CheckpointListener>,
}

impl ConsumerBuilder {
    fn add(mut self, entry: Entry) -> Self {
        if let Err(error) = self.handlers.add(entry) {
            self.error.get_or_insert(error);
        }
        self
    }

    /// A typed handler for the events of `E`: it receives each as a [`StoredEvent<E>`].
    /// Its table is read even if not named with [`tables`](Self::tables).
    pub fn on<E, F, Fut>(self, handler: F) -> Self
    where
        E: Storable,
        F: Fn(StoredEvent<E>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.add(Entry {
            pattern: TablePattern::Exact(E::TABLE.name.to_owned()),
            handler: Arc::new(Typed::<E, F>::new(handler)),
        })
    }

    /// An untyped handler for the tables matching `pattern` (`name`, `prefix*` or `*`;
    /// logical names). Fails on a malformed pattern.
    pub fn on_table<F, Fut>(self, pattern: &str, handler: F) -> Result<Self>
    where
        F: Fn(RawEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let pattern = TablePattern::parse(pattern)?;
        Ok(self.add(Entry {
            pattern: pattern.clone(),
            handler: Arc::new(Untyped::new(pattern, handler)),
        }))
    }

    /// The default handler (`*`): every event no more specific handler takes.
    pub fn on_any<F, Fut>(self, handler: F) -> Self
    where
        F: Fn(RawEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.add(Entry {
            pattern: TablePattern::Any,
            handler: Arc::new(Untyped::new(TablePattern::Any, handler)),
        })
    }

    /// Called for every event whose handler failed on every attempt (after the event type's
    /// `on_error` for typed handlers), and for items a typed handler cannot decode.
    pub fn dead_letter(mut self, hook: impl Fn(&RawEvent, &Error) + Send + Sync + 'static) -> Self {
        self.dead_letter = Some(Arc::new(hook));
        self
    }

    /// Reads this event type's table.
    pub fn table(mut self, def: &TableDef) -> Self {
        self.tables.push(def.name.to_owned());
        self
    }

    /// Reads these event types' tables.
    pub fn tables<'a>(mut self, defs: impl IntoIterator<Item = &'a TableDef>) -> Self {
        self.tables
            .extend(defs.into_iter().map(|d| d.name.to_owned()));
        self
    }

    /// Reads a table by logical name (without the prefix), e.g. one no linked type declares.
    pub fn table_named(mut self, name: impl Into<String>) -> Self {
        self.tables.push(name.into());
        self
    }

    /// The consumer group: processes with the same group share the shards through leases and
    /// resume from the group's checkpoints. Without a group, nothing is checkpointed.
    pub fn group(mut self, name: impl Into<String>) -> Self {
        self.group = Some(name.into());
        self
    }

    /// This process's id in the lease table (default: random). Ids must be unique among live
    /// processes; a process restarted with the same id resumes its leases at once instead of
    /// waiting for them to expire.
    pub fn worker_id(mut self, id: impl Into<String>) -> Self {
        self.worker_id = Some(id.into());
        self
    }

    /// Where to start a shard that has no checkpoint (default: the oldest record).
    pub fn start_at(mut self, position: StartingPosition) -> Self {
        self.options.start = position;
        self
    }

    /// The pause after a read that found no new record (default 250 ms). DynamoDB allows
    /// about 4 reads per second per shard.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.options.poll_interval = interval;
        self
    }

    /// Records per GetRecords call, 1 to 1000 (default 1000).
    pub fn batch_size(mut self, records: i32) -> Self {
        self.options.batch_size = records;
        self
    }

    /// Handler attempts per event (default 3) and the first backoff (default 100 ms,
    /// doubling, at most 5 s).
    pub fn retry(mut self, max_attempts: u32, initial_backoff: Duration) -> Self {
        self.options.max_attempts = max_attempts;
        self.options.retry_backoff = initial_backoff;
        self
    }

    /// How long a lease whose counter does not move is considered alive (default 10 s). Leases
    /// are renewed three times per expiry.
    pub fn lease_expiry(mut self, expiry: Duration) -> Self {
        self.options.lease_expiry = expiry;
        self
    }

    /// How often shards are listed again to find new ones (default 30 s; at once after a
    /// shard ends).
    pub fn discovery_interval(mut self, interval: Duration) -> Self {
        self.options.discovery_interval = interval;
        self
    }

    /// Drops an event whose `event_uuid` was handled within `window` by this process.
    pub fn dedup_window(mut self, window: Duration) -> Self {
        self.dedup_window = Some(window);
        self
    }

    /// Stops after handing this many events to handlers (then shuts down gracefully).
    pub fn limit(mut self, events: u64) -> Self {
        self.limit = Some(events);
        self
    }

    /// Called at every change of lease ownership in this process.
    pub fn on_lease_change(
        mut self,
        listener: impl Fn(&LeaseChange) + Send + Sync + 'static,
    ) -> Self {
        self.lease_listener = Some(Arc::new(listener));
        self
    }

    /// Called after every checkpoint written (lease key, checkpoint).
    pub fn on_checkpoint(
        mut self,
        listener: impl Fn(&str, &Checkpoint) + Send + Sync + 'static,
    ) -> Self {
        self.checkpoint_listener = Some(Arc::new(listener));
        self
    }

    /// The DynamoDB Streams client to use (default: built from the store's AWS configuration;
    /// required for a store made with [`Store::with_client`]).
    pub fn streams_client(mut self, client: StreamsClient) -> Self {
        self.streams = Some(client);
        self
    }

    /// Checks the configuration and builds the consumer.
    pub fn build(self) -> Result<Consumer> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let invalid = |reason: &str| Error::InvalidConsumer {
            reason: reason.to_owned(),
        };
        if self.handlers.is_empty() {
            return Err(invalid(
                "no handler: add one with on::<E>(..), on_table(..) or on_any(..)",
            ));
        }
        if !(1..=1000).contains(&self.options.batch_size) {
            return Err(invalid("batch_size must be between 1 and 1000"));
        }
        if self.options.max_attempts == 0 {
            return Err(invalid("retry(max_attempts, ..) needs at least 1 attempt"));
        }
        if self.options.lease_expiry < Duration::from_millis(300) {
            return Err(invalid("lease_expiry must be at least 300 ms"));
        }
        if self.group.as_deref().is_some_and(|g| g.trim().is_empty()) {
            return Err(invalid("the group name is empty"));
        }
        let mut names = self.tables;
        names.extend(self.handlers.exact_tables());
        if names.is_empty() {
            names.extend(
                crate::registry::tables()
                    .into_iter()
                    .map(|d| d.name.to_owned()),
            );
        }
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(invalid(
                "no table to read: name them with tables(..)/table_named(..), add a typed handler, \
                 or link event types into the binary",
            ));
        }
        let streams =
            match (self.streams, self.store.sdk_config()) {
                (Some(client), _) => client,
                (None, Some(config)) => StreamsClient::new(config),
                (None, None) => return Err(invalid(
                    "this store was not built by Store::connect, so it has no AWS configuration \
                     to build a DynamoDB Streams client from: pass one with streams_client(..)",
                )),
            };
        let prefix = self.store.environment_prefix().to_owned();
        let tables = names
            .iter()
            .map(|n| (n.clone(), format!("{prefix}_{n}")))
            .collect();
        let worker_id = self.worker_id.unwrap_or_else(|| {
            format!(
                "{}-{}-{:08x}",
                hostname(),
                std::process::id(),
                fastrand::u32(..)
            )
        });
        let leases = self
            .group
            .as_deref()
            .map(|group| lease::LeaseTable::new(&self.store, group, &worker_id));
        let (shutdown, _) = watch::channel(false);
        Ok(Consumer {
            shared: Arc::new(Shared {
                handlers: self.handlers.resolve_all(&names),
                store: self.store,
                streams,
                tables,
                dead_letter: self.dead_letter,
                options: self.options,
                counters: stats::Counters::default(),
                dedup: self
                    .dedup_window
                    .map(|w| Mutex::new(dedup::DedupWindow::new(w))),
                leases,
                lease_listener: self.lease_listener,
                checkpoint_listener: self.checkpoint_listener,
                limit: self.limit,
                reserved: AtomicU64::new(0),
                shutdown,
            }),
            worker_id,
            group: self.group,
        })
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned())
}

/// A DynamoDB Streams consumer: see the [module docs](self).
pub struct Consumer {
    shared: Arc<Shared>,
    worker_id: String,
    group: Option<String>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("group", &self.group)
            .field("worker_id", &self.worker_id)
            .field("tables", &self.shared.tables)
            .finish_non_exhaustive()
    }
}

/// Stops a running consumer gracefully: [`Consumer::shutdown_handle`].
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    sender: watch::Sender<bool>,
}

impl ShutdownHandle {
    /// Asks the consumer to stop: each shard finishes its batch, checkpoints and releases
    /// its lease; then [`Consumer::run`] returns.
    pub fn shutdown(&self) {
        self.sender.send_replace(true);
    }
}

impl Consumer {
    /// A builder for a consumer over `store`'s environment.
    pub fn builder(store: &Store) -> ConsumerBuilder {
        ConsumerBuilder {
            store: store.clone(),
            streams: None,
            group: None,
            worker_id: None,
            tables: Vec::new(),
            handlers: Handlers::default(),
            error: None,
            dead_letter: None,
            options: Options::default(),
            dedup_window: None,
            limit: None,
            lease_listener: None,
            checkpoint_listener: None,
        }
    }

    /// The counters so far (also while running).
    pub fn stats(&self) -> ConsumerStats {
        self.shared.counters.snapshot()
    }

    /// This process's id in the lease table.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// A handle that stops [`run`](Self::run) from anywhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            sender: self.shared.shutdown.clone(),
        }
    }

    /// Runs until [`ShutdownHandle::shutdown`] or the [`limit`](ConsumerBuilder::limit), then
    /// shuts down gracefully and returns the counters.
    pub async fn run(&self) -> Result<ConsumerStats> {
        self.run_until(std::future::pending()).await
    }

    /// Runs until `signal` completes (e.g. `tokio::signal::ctrl_c()`, or a
    /// `CancellationToken::cancelled()`), a [`ShutdownHandle`] or the limit, then shuts down
    /// gracefully: each shard finishes its batch, checkpoints, and releases its lease.
    pub async fn run_until(
        &self,
        signal: impl Future<Output = ()> + Send,
    ) -> Result<ConsumerStats> {
        let shutdown = self.shared.shutdown.clone();
        let receiver = shutdown.subscribe();
        let span = tracing::info_span!(
            "eventosaurus.consume",
            group = self.group.as_deref().unwrap_or("-"),
            worker_id = %self.worker_id
        );
        let coordinator = coordinator::Coordinator::new(self.shared.clone());
        let run = coordinator.run(receiver).instrument(span);
        tokio::pin!(run);
        tokio::pin!(signal);
        let result = tokio::select! {
            result = &mut run => result,
            _ = &mut signal => {
                shutdown.send_replace(true);
                run.await
            }
        };
        result.map(|()| self.stats())
    }
}
