//! One live reader per table, shared by every client: it reads every shard of the table's
//! stream from where it started (the newest record at its start), keeps its own position in
//! memory, and publishes each event once into a bounded broadcast channel. Clients subscribe
//! to the channel; one that falls more than the channel's capacity behind is told so and
//! disconnected (see `client`), and never slows the reader or the other clients.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodbstreams::Client as StreamsClient;
use eventosaurus::consume::reader::{table_shards, ReadFrom, ShardReader};
use eventosaurus::consume::shards::ready_shards;
use eventosaurus::consume::RawEvent;
use eventosaurus::Store;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::Result;
use crate::position::TableCursor;

/// An event as published to every client of its table: its JSON is made once.
#[derive(Debug)]
pub(crate) struct LiveEvent {
    /// The shard it was read from.
    pub(crate) shard: Arc<str>,
    /// Its sequence number in that shard.
    pub(crate) sequence_number: String,
    /// Its `created_at`, if any.
    pub(crate) created_at: Option<String>,
    /// The `data:` JSON object (attributes, `event_uuid`, `created_at`, `"table"`).
    pub(crate) data: Arc<str>,
}

impl LiveEvent {
    pub(crate) fn new(event: &RawEvent, shard: Arc<str>) -> LiveEvent {
        LiveEvent {
            shard,
            sequence_number: event.position.sequence_number.clone(),
            created_at: event.created_at().map(str::to_owned),
            data: crate::json::event_json(&event.table, &event.item)
                .to_string()
                .into(),
        }
    }
}

/// How the feeds read.
#[derive(Debug, Clone)]
pub(crate) struct FeedOptions {
    pub(crate) poll_interval: Duration,
    pub(crate) discovery_interval: Duration,
    pub(crate) capacity: usize,
}

impl FeedOptions {
    /// Records per read: at most half the broadcast buffer, so that a client keeping up is
    /// never more than a buffer behind because of one read's burst (1 to 1000).
    fn batch(&self) -> i32 {
        (self.capacity / 2).clamp(1, 1000) as i32
    }
}

/// The live reader of one table.
pub(crate) struct Feed {
    table: String,
    sender: broadcast::Sender<Arc<LiveEvent>>,
    /// The position after the last event published; locked while publishing, so that a
    /// subscription and its snapshot agree.
    position: Mutex<TableCursor>,
    published: AtomicU64,
    last_error: Mutex<Option<String>>,
    capacity: usize,
}

impl Feed {
    /// Positions a reader at the newest record of every open shard of `table`, then reads on
    /// in a task of its own until `shutdown`.
    pub(crate) async fn start(
        store: &Store,
        streams: &StreamsClient,
        table: &str,
        options: FeedOptions,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<Feed>> {
        let shards = table_shards(store, streams, table).await?;
        let started_at = chrono::Utc::now().timestamp_millis();
        let mut readers = Vec::new();
        let mut finished = HashSet::new();
        for shard in shards {
            if shard.closed {
                // Everything in it is older than this feed.
                finished.insert(shard.key());
            } else {
                let mut reader = ShardReader::new(store, streams, shard, ReadFrom::Latest);
                reader.position().await?;
                readers.push(reader);
            }
        }
        let (sender, _) = broadcast::channel(options.capacity);
        let feed = Arc::new(Feed {
            table: table.to_owned(),
            sender,
            position: Mutex::new(TableCursor {
                not_before: Some(started_at),
                shards: Default::default(),
            }),
            published: AtomicU64::new(0),
            last_error: Mutex::new(None),
            capacity: options.capacity.next_power_of_two(),
        });
        tracing::info!(table, shards = readers.len(), "live reader positioned");
        let run = FeedLoop {
            feed: feed.clone(),
            store: store.clone(),
            streams: streams.clone(),
            readers,
            finished,
            options,
            shutdown,
        };
        let span = tracing::info_span!("eventosaurus.http.feed", table);
        tokio::spawn(run.run().instrument(span));
        Ok(feed)
    }

    /// A feed that reads nothing: events come from [`publish`](Self::publish) (tests).
    #[cfg(test)]
    pub(crate) fn detached(table: &str, capacity: usize) -> Arc<Feed> {
        Arc::new(Feed {
            table: table.to_owned(),
            sender: broadcast::channel(capacity).0,
            position: Mutex::new(TableCursor::default()),
            published: AtomicU64::new(0),
            last_error: Mutex::new(None),
            capacity: capacity.next_power_of_two(),
        })
    }

    /// A receiver of every event published from now on, and the position right before them.
    pub(crate) fn subscribe(&self) -> (broadcast::Receiver<Arc<LiveEvent>>, TableCursor) {
        let position = self.position.lock().unwrap_or_else(|p| p.into_inner());
        (self.sender.subscribe(), position.clone())
    }

    /// How many events a receiver may fall behind before it is lagged (the channel's real
    /// capacity).
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The logical table name.
    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// Events published so far.
    pub(crate) fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// The last read error, until a read succeeds again.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Clients subscribed now.
    pub(crate) fn receivers(&self) -> usize {
        self.sender.receiver_count()
    }

    pub(crate) fn publish(&self, events: &[RawEvent]) {
        if events.is_empty() {
            return;
        }
        let live: Vec<Arc<LiveEvent>> = events
            .iter()
            .map(|e| Arc::new(LiveEvent::new(e, Arc::from(e.position.shard_id.as_str()))))
            .collect();
        let mut position = self.position.lock().unwrap_or_else(|p| p.into_inner());
        for event in live {
            position
                .shards
                .insert(event.shard.to_string(), event.sequence_number.clone());
            // No receiver is not an error: nobody follows the table right now.
            let _ = self.sender.send(event);
        }
        self.published
            .fetch_add(events.len() as u64, Ordering::Relaxed);
    }

    fn set_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }
}

struct FeedLoop {
    feed: Arc<Feed>,
    store: Store,
    streams: StreamsClient,
    readers: Vec<ShardReader>,
    /// Keys (`<table>/<shard>`) of the shards read to their end (or older than the feed).
    finished: HashSet<String>,
    options: FeedOptions,
    shutdown: watch::Receiver<bool>,
}

impl FeedLoop {
    async fn run(mut self) {
        let mut last_discovery = Instant::now();
        let mut errors = 0u32;
        loop {
            if *self.shutdown.borrow() {
                break;
            }
            let mut read = 0usize;
            let mut ended = false;
            let mut failed = None;
            for reader in &mut self.readers {
                match reader.next_batch(self.options.batch()).await {
                    Ok(batch) => {
                        read += batch.events.len();
                        self.feed.publish(&batch.events);
                        ended |= batch.ended;
                    }
                    Err(error) => failed = Some(error.to_string()),
                }
            }
            let finished = &mut self.finished;
            self.readers.retain(|r| {
                if r.ended() {
                    finished.insert(r.shard().key());
                }
                !r.ended()
            });
            if ended || last_discovery.elapsed() >= self.options.discovery_interval {
                last_discovery = Instant::now();
                if let Err(error) = self.discover().await {
                    failed = Some(error.to_string());
                }
            }
            let pause = match &failed {
                Some(error) => {
                    errors += 1;
                    tracing::warn!(%error, attempt = errors, "reading the stream failed; retrying");
                    Duration::from_millis(250 * u64::from(errors.min(40)))
                }
                None => {
                    errors = 0;
                    if read == 0 {
                        self.options.poll_interval
                    } else {
                        Duration::ZERO
                    }
                }
            };
            self.feed.set_error(failed);
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = self.shutdown.changed() => {}
                }
            }
        }
        tracing::debug!("live reader stopped");
    }

    /// Lists the shards again and starts the new ones whose parents are read (a new shard's
    /// records are all newer than the feed: read from its oldest record).
    async fn discover(&mut self) -> Result<()> {
        let shards = table_shards(&self.store, &self.streams, &self.feed.table).await?;
        let active: HashSet<String> = self.readers.iter().map(|r| r.shard().key()).collect();
        for shard in ready_shards(&shards, &self.finished) {
            if !active.contains(&shard.key()) {
                tracing::info!(shard_id = %shard.shard_id, "new shard");
                self.readers.push(ShardReader::new(
                    &self.store,
                    &self.streams,
                    shard.clone(),
                    ReadFrom::TrimHorizon,
                ));
            }
        }
        Ok(())
    }
}
