//! Reading shards from positions you keep yourself: the building block under the consumer,
//! for readers that need no handlers, leases or checkpoints (e.g. `eventosaurus-http`, which
//! keeps each client's position in its resume id).
//!
//! ```no_run
//! # async fn run(store: eventosaurus::Store) -> eventosaurus::Result<()> {
//! use eventosaurus::consume::reader::{table_shards, ReadFrom, ShardReader};
//!
//! let streams = aws_sdk_dynamodbstreams::Client::new(store.sdk_config().unwrap());
//! for shard in table_shards(&store, &streams, "phone_call").await? {
//!     let mut reader = ShardReader::new(&store, &streams, shard, ReadFrom::TrimHorizon);
//!     loop {
//!         let batch = reader.next_batch(1000).await?;
//!         for event in &batch.events {
//!             println!("{} {}", event.position.sequence_number, event.table);
//!         }
//!         if batch.ended || batch.events.is_empty() {
//!             break; // the shard is closed and read, or nothing newer yet
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Parents come before their children: order shards with [`ready_shards`](super::shards::ready_shards).

use aws_sdk_dynamodbstreams::Client as StreamsClient;
use tokio::time::Instant;

use crate::error::Result;
use crate::Store;

use super::convert::item_from_stream;
use super::handlers::{RawEvent, StreamPosition};
use super::shards::{self, ReadFailure, ShardInfo, ITERATOR_MAX_AGE};

pub use super::shards::ReadFrom;

/// Every shard of the stream of a table (logical name), oldest first as DynamoDB lists them.
///
/// Fails with [`Error::TableNotFound`] or [`Error::StreamNotEnabled`] (no `NEW_IMAGE` stream).
pub async fn table_shards(
    store: &Store,
    streams: &StreamsClient,
    table: &str,
) -> Result<Vec<ShardInfo>> {
    let table_name = format!("{}_{table}", store.environment_prefix());
    let arn = shards::stream_arn(store, &table_name).await?;
    let at = store.call_site("DescribeStream", &table_name);
    shards::list_shards(streams, at, table, &table_name, &arn).await
}

/// One batch of a shard: [`ShardReader::next_batch`].
#[derive(Debug, Clone, PartialEq)]
pub struct ShardBatch {
    /// The records with a new image, in shard order.
    pub events: Vec<RawEvent>,
    /// The shard is closed and was read to its end: no further batch will come.
    pub ended: bool,
    /// The requested position was older than the stream's retention (or of a trimmed
    /// shard): reading restarted at the oldest retained record, so records were missed.
    pub trimmed: bool,
}

/// Reads one shard from a position, batch by batch: takes and renews shard iterators, resumes
/// after the last record returned when an iterator expires, and restarts at the oldest record
/// when the position was trimmed away (saying so in [`ShardBatch::trimmed`]).
#[derive(Debug)]
pub struct ShardReader {
    store: Store,
    streams: StreamsClient,
    shard: ShardInfo,
    from: ReadFrom,
    iterator: Option<(String, Instant)>,
    ended: bool,
}

impl ShardReader {
    /// A reader of `shard` starting at `from`; nothing is read before
    /// [`next_batch`](Self::next_batch).
    pub fn new(store: &Store, streams: &StreamsClient, shard: ShardInfo, from: ReadFrom) -> Self {
        ShardReader {
            store: store.clone(),
            streams: streams.clone(),
            shard,
            from,
            iterator: None,
            ended: false,
        }
    }

    /// The shard read.
    pub fn shard(&self) -> &ShardInfo {
        &self.shard
    }

    /// Whether the shard was read to its end.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Takes an iterator now if there is none, so that a [`ReadFrom::Latest`] reader starts
    /// at the records written from this call on. Called by [`next_batch`](Self::next_batch).
    pub async fn position(&mut self) -> Result<()> {
        let mut trimmed = false;
        self.ensure_iterator(&mut trimmed).await
    }

    async fn ensure_iterator(&mut self, trimmed: &mut bool) -> Result<()> {
        if self.ended {
            return Ok(());
        }
        if matches!(&self.iterator, Some((_, issued)) if issued.elapsed() < ITERATOR_MAX_AGE) {
            return Ok(());
        }
        let at = self
            .store
            .call_site("GetShardIterator", &self.shard.table_name);
        loop {
            match shards::shard_iterator(&self.streams, at, &self.shard, &self.from).await {
                Ok(Some(iterator)) => {
                    self.iterator = Some((iterator, Instant::now()));
                    return Ok(());
                }
                Ok(None) | Err(ReadFailure::Gone) => {
                    self.ended = true;
                    return Ok(());
                }
                Err(ReadFailure::Trimmed) if self.from != ReadFrom::TrimHorizon => {
                    *trimmed = true;
                    self.from = ReadFrom::TrimHorizon;
                }
                // The oldest record cannot be trimmed away; an iterator request cannot expire.
                Err(ReadFailure::Trimmed) | Err(ReadFailure::ExpiredIterator) => {
                    self.ended = true;
                    return Ok(());
                }
                Err(ReadFailure::Other(error)) => return Err(error),
            }
        }
    }

    /// Reads the next batch of at most `limit` records (1 to 1000). An empty batch that has
    /// not [`ended`](ShardBatch::ended) means the reader is at the newest record for now.
    /// Errors are returned as they come ([`Error::is_retryable`] tells which to retry); the
    /// position is kept, so calling again goes on where the last batch stopped.
    pub async fn next_batch(&mut self, limit: i32) -> Result<ShardBatch> {
        let mut trimmed = false;
        loop {
            self.ensure_iterator(&mut trimmed).await?;
            // Kept until the call succeeds: after a failure the same iterator is used again
            // (a `Latest` reader would otherwise skip what was written meanwhile).
            let Some(iterator) = self.iterator.as_ref().map(|(it, _)| it.clone()) else {
                return Ok(ShardBatch {
                    events: Vec::new(),
                    ended: true,
                    trimmed,
                });
            };
            let at = self.store.call_site("GetRecords", &self.shard.table_name);
            let output = match shards::get_records(
                &self.streams,
                at,
                iterator,
                limit.clamp(1, 1000),
            )
            .await
            {
                Ok(output) => output,
                Err(ReadFailure::ExpiredIterator) => {
                    self.iterator = None;
                    continue;
                }
                Err(ReadFailure::Trimmed) => {
                    trimmed = true;
                    self.iterator = None;
                    self.from = ReadFrom::TrimHorizon;
                    continue;
                }
                Err(ReadFailure::Gone) => {
                    self.iterator = None;
                    self.ended = true;
                    continue;
                }
                Err(ReadFailure::Other(error)) => return Err(error),
            };
            let mut events = Vec::new();
            for record in output.records.unwrap_or_default() {
                let Some(data) = record.dynamodb else {
                    continue;
                };
                let Some(sequence_number) = data.sequence_number else {
                    continue;
                };
                self.from = ReadFrom::After(sequence_number.clone());
                let Some(image) = data.new_image else {
                    continue;
                };
                events.push(RawEvent {
                    table: self.shard.table.clone(),
                    table_name: self.shard.table_name.clone(),
                    item: item_from_stream(image),
                    position: StreamPosition {
                        shard_id: self.shard.shard_id.clone(),
                        sequence_number,
                    },
                });
            }
            match output.next_shard_iterator {
                Some(next) => self.iterator = Some((next, Instant::now())),
                None => {
                    self.iterator = None;
                    self.ended = true;
                }
            }
            return Ok(ShardBatch {
                events,
                ended: self.ended,
                trimmed,
            });
        }
    }
}
