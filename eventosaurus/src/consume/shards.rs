//! Streams and shards: finding a table's stream, listing its shards (DescribeStream, every
//! page), ordering parents before children, shard iterators and the errors of reading.
//!
//! DynamoDB Streams facts this follows: records are kept 24 hours; a shard is closed when it
//! splits, and its children must be read only after it; an iterator expires 15 minutes after
//! it was issued (`ExpiredIteratorException`: take a new one after the last record processed);
//! a position older than the retention is gone (`TrimmedDataAccessException`: restart at the
//! oldest record, and say so). There is no "at timestamp" iterator, so a timestamp start reads
//! from the oldest record and skips records whose `created_at` is before the timestamp.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_dynamodbstreams::error::SdkError;
use aws_sdk_dynamodbstreams::operation::get_records::{GetRecordsError, GetRecordsOutput};
use aws_sdk_dynamodbstreams::operation::get_shard_iterator::GetShardIteratorError;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_dynamodbstreams::Client as StreamsClient;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::{classify, CallSite, Error, Result};
use crate::table_stream::live_stream;
use crate::Store;

/// Where a consumer starts reading a shard it has no checkpoint for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartingPosition {
    /// The oldest record still in the stream (24 hours of retention).
    #[default]
    TrimHorizon,
    /// Only records written after the consumer started reading the shard.
    Latest,
    /// The first record whose `created_at` is at or after this time (within the retention).
    At(DateTime<Utc>),
}

impl StartingPosition {
    /// The `created_at` text records are compared with, for [`StartingPosition::At`].
    pub(crate) fn not_before(&self) -> Option<String> {
        match self {
            StartingPosition::At(t) => Some(t.to_rfc3339_opts(SecondsFormat::Millis, true)),
            _ => None,
        }
    }
}

/// One shard of a table's stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShardInfo {
    /// The logical table name.
    pub table: String,
    /// The full table name.
    pub table_name: String,
    /// The stream's ARN.
    pub stream_arn: String,
    /// The shard id.
    pub shard_id: String,
    /// The shard it split from, if any.
    pub parent_shard_id: Option<String>,
    /// Whether the shard is closed (it has an ending sequence number).
    pub closed: bool,
}

impl ShardInfo {
    /// `<table>/<shard id>`: the key of its lease and of its statistics.
    pub fn key(&self) -> String {
        shard_key(&self.table, &self.shard_id)
    }
}

/// `<table>/<shard id>`.
pub(crate) fn shard_key(table: &str, shard_id: &str) -> String {
    format!("{table}/{shard_id}")
}

/// The shards that may be read now: not finished, and whose parent is finished or unknown
/// (trimmed away, or never seen). A child is never ready while its parent may have records.
pub fn ready_shards<'a>(shards: &'a [ShardInfo], finished: &HashSet<String>) -> Vec<&'a ShardInfo> {
    let known: HashSet<String> = shards.iter().map(ShardInfo::key).collect();
    shards
        .iter()
        .filter(|shard| {
            let key = shard.key();
            if finished.contains(&key) {
                return false;
            }
            match &shard.parent_shard_id {
                None => true,
                Some(parent) => {
                    let parent_key = shard_key(&shard.table, parent);
                    !known.contains(&parent_key) || finished.contains(&parent_key)
                }
            }
        })
        .collect()
}

/// Compares two sequence numbers (decimal strings of any length) numerically.
pub fn compare_sequence_numbers(a: &str, b: &str) -> std::cmp::Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The ARN of the table's current stream, checking that it carries new items.
pub(crate) async fn stream_arn(store: &Store, table_name: &str) -> Result<String> {
    let live = crate::table::describe_table_named(store, table_name)
        .await?
        .ok_or_else(|| Error::TableNotFound {
            table: table_name.to_owned(),
        })?;
    let carries_items = live_stream(&live).is_some_and(|view| view.carries_new_image());
    match live.latest_stream_arn() {
        Some(arn) if carries_items => Ok(arn.to_owned()),
        _ => Err(Error::StreamNotEnabled {
            table: table_name.to_owned(),
        }),
    }
}

/// Every shard of a stream (DescribeStream, all pages).
pub(crate) async fn list_shards(
    streams: &StreamsClient,
    at: CallSite<'_>,
    table: &str,
    table_name: &str,
    stream_arn: &str,
) -> Result<Vec<ShardInfo>> {
    let mut shards = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = streams
            .describe_stream()
            .stream_arn(stream_arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await
            .map_err(|err| classify(err, at).into_error(at))?;
        let Some(description) = page.stream_description else {
            break;
        };
        for shard in description.shards.unwrap_or_default() {
            let Some(shard_id) = shard.shard_id else {
                continue;
            };
            shards.push(ShardInfo {
                table: table.to_owned(),
                table_name: table_name.to_owned(),
                stream_arn: stream_arn.to_owned(),
                shard_id,
                parent_shard_id: shard.parent_shard_id,
                closed: shard
                    .sequence_number_range
                    .is_some_and(|r| r.ending_sequence_number.is_some()),
            });
        }
        match description.last_evaluated_shard_id {
            Some(last) => start = Some(last),
            None => break,
        }
    }
    Ok(shards)
}

/// Where to (re)start reading a shard (see [`ShardReader`](super::reader::ShardReader)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFrom {
    /// After this sequence number (a checkpoint, or the last record processed).
    After(String),
    /// The oldest record.
    TrimHorizon,
    /// New records only.
    Latest,
}

/// Asks for a shard iterator.
pub(crate) async fn shard_iterator(
    streams: &StreamsClient,
    at: CallSite<'_>,
    shard: &ShardInfo,
    from: &ReadFrom,
) -> std::result::Result<Option<String>, ReadFailure> {
    let request = streams
        .get_shard_iterator()
        .stream_arn(&shard.stream_arn)
        .shard_id(&shard.shard_id);
    let request = match from {
        ReadFrom::After(sequence_number) => request
            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
            .sequence_number(sequence_number),
        ReadFrom::TrimHorizon => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        ReadFrom::Latest => request.shard_iterator_type(ShardIteratorType::Latest),
    };
    match tokio::time::timeout(READ_TIMEOUT, request.send()).await {
        Ok(Ok(out)) => Ok(out.shard_iterator),
        Ok(Err(err)) => Err(iterator_failure(err, at)),
        Err(_) => Err(timed_out(at)),
    }
}

/// How long one stream call may take before it is abandoned and retried: a connection that
/// never answers must not stall a shard for ever.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(30);

fn timed_out(at: CallSite<'_>) -> ReadFailure {
    ReadFailure::Other(Error::Network {
        endpoint: at.endpoint.to_owned(),
        operation: at.operation,
        table: at.table.to_owned(),
        source: format!("no answer within {} s", READ_TIMEOUT.as_secs()).into(),
    })
}

/// What went wrong reading a shard, sorted by what the reader does about it.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// The iterator expired: take a new one after the last record processed.
    ExpiredIterator,
    /// The position is older than the retention: restart at the oldest record.
    Trimmed,
    /// The shard or stream no longer exists: the shard is done.
    Gone,
    /// Anything else (retryable or not, see [`Error::is_retryable`]).
    Other(Error),
}

fn iterator_failure(
    err: SdkError<GetShardIteratorError, aws_sdk_dynamodb::config::http::HttpResponse>,
    at: CallSite<'_>,
) -> ReadFailure {
    match err.as_service_error() {
        Some(GetShardIteratorError::TrimmedDataAccessException(_)) => ReadFailure::Trimmed,
        Some(GetShardIteratorError::ResourceNotFoundException(_)) => ReadFailure::Gone,
        _ => ReadFailure::Other(classify(err, at).into_error(at)),
    }
}

/// One GetRecords call.
pub(crate) async fn get_records(
    streams: &StreamsClient,
    at: CallSite<'_>,
    iterator: String,
    limit: i32,
) -> std::result::Result<GetRecordsOutput, ReadFailure> {
    let request = streams.get_records().shard_iterator(iterator).limit(limit);
    match tokio::time::timeout(READ_TIMEOUT, request.send()).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(err)) => Err(records_failure(err, at)),
        Err(_) => Err(timed_out(at)),
    }
}

/// Sorts a GetRecords error by its typed variant.
fn records_failure(
    err: SdkError<GetRecordsError, aws_sdk_dynamodb::config::http::HttpResponse>,
    at: CallSite<'_>,
) -> ReadFailure {
    match err.as_service_error() {
        Some(GetRecordsError::ExpiredIteratorException(_)) => ReadFailure::ExpiredIterator,
        Some(GetRecordsError::TrimmedDataAccessException(_)) => ReadFailure::Trimmed,
        Some(GetRecordsError::ResourceNotFoundException(_)) => ReadFailure::Gone,
        _ => ReadFailure::Other(classify(err, at).into_error(at)),
    }
}

/// How long an iterator is used before a fresh one is taken: DynamoDB expires them after 15
/// minutes, so a reader whose handlers were slow asks again instead of meeting the error.
pub(crate) const ITERATOR_MAX_AGE: Duration = Duration::from_secs(14 * 60);

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    fn shard(id: &str, parent: Option<&str>) -> ShardInfo {
        ShardInfo {
            table: "t".into(),
            table_name: "p_t".into(),
            stream_arn: "arn".into(),
            shard_id: id.into(),
            parent_shard_id: parent.map(str::to_owned),
            closed: false,
        }
    }

    #[test]
    fn parents_before_children() {
        let shards = vec![
            shard("a", None),
            shard("b", Some("a")),
            shard("c", Some("a")),
            shard("d", Some("b")),
            shard("e", Some("gone")),
        ];
        let ids = |finished: &[&str]| {
            let finished: HashSet<String> = finished.iter().map(|s| shard_key("t", s)).collect();
            ready_shards(&shards, &finished)
                .into_iter()
                .map(|s| s.shard_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&[]), ["a", "e"]);
        assert_eq!(ids(&["a"]), ["b", "c", "e"]);
        assert_eq!(ids(&["a", "b"]), ["c", "d", "e"]);
        assert_eq!(ids(&["a", "b", "c", "d", "e"]), Vec::<String>::new());
    }

    fn service_error<E>(
        error: E,
        status: u16,
    ) -> SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse> {
        let raw = aws_sdk_dynamodb::config::http::HttpResponse::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        );
        SdkError::service_error(error, raw)
    }

    #[test]
    fn read_errors_are_sorted_by_their_typed_variant() {
        use aws_sdk_dynamodbstreams::types::error::{
            ExpiredIteratorException, ResourceNotFoundException, TrimmedDataAccessException,
        };
        let at = CallSite {
            operation: "GetRecords",
            table: "p_t",
            endpoint: "http://127.0.0.1:9",
        };
        let expired = GetRecordsError::ExpiredIteratorException(
            ExpiredIteratorException::builder()
                .message("expired")
                .build(),
        );
        assert!(matches!(
            records_failure(service_error(expired, 400), at),
            ReadFailure::ExpiredIterator
        ));
        let trimmed = GetRecordsError::TrimmedDataAccessException(
            TrimmedDataAccessException::builder()
                .message("trimmed")
                .build(),
        );
        assert!(matches!(
            records_failure(service_error(trimmed, 400), at),
            ReadFailure::Trimmed
        ));
        let gone = GetRecordsError::ResourceNotFoundException(
            ResourceNotFoundException::builder().message("gone").build(),
        );
        assert!(matches!(
            records_failure(service_error(gone, 400), at),
            ReadFailure::Gone
        ));
        let trimmed = GetShardIteratorError::TrimmedDataAccessException(
            TrimmedDataAccessException::builder()
                .message("trimmed")
                .build(),
        );
        assert!(matches!(
            iterator_failure(service_error(trimmed, 400), at),
            ReadFailure::Trimmed
        ));
        let other = GetRecordsError::unhandled("boom");
        match records_failure(service_error(other, 500), at) {
            ReadFailure::Other(error) => assert!(error.is_retryable(), "{error}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert_eq!(
            compare_sequence_numbers("000000000000000000009", "000000000000000000010"),
            Ordering::Less
        );
        assert_eq!(compare_sequence_numbers("100", "99"), Ordering::Greater);
        assert_eq!(compare_sequence_numbers("0042", "42"), Ordering::Equal);
    }

    #[test]
    fn timestamp_start_compares_as_created_at_text() {
        let t = DateTime::parse_from_rfc3339("2026-11-23T19:38:57.1Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            StartingPosition::At(t).not_before().unwrap(),
            "2026-11-23T19:38:57.100Z"
        );
        assert_eq!(StartingPosition::Latest.not_before(), None);
    }
}
