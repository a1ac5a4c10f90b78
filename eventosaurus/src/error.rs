//! The crate's one error type.
//!
//! Every variant says what went wrong and, where there is one, what to do about it. A
//! duplicate write is *not* an error: it is [`StoreOutcome::Duplicate`](crate::StoreOutcome).

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::number::NumberError;
use crate::operator::Operator;

/// A boxed error from the AWS SDK or another layer, kept as the `source` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Shorthand for `Result<T, eventosaurus::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in eventosaurus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No environment prefix was configured.
    #[error(
        "no environment prefix: set {variable} (for example `localhost` or `production`) \
         or call Config::builder().environment_prefix(..)"
    )]
    MissingEnvironmentPrefix {
        /// The environment variable that was read.
        variable: &'static str,
    },

    /// The environment prefix cannot start a DynamoDB table name.
    #[error("invalid environment prefix {prefix:?} (from {source_name}): {reason}")]
    InvalidEnvironmentPrefix {
        /// The rejected prefix.
        prefix: String,
        /// Where it came from: an environment variable name or `Config::builder`.
        source_name: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// The configured endpoint is not a usable URL.
    #[error("invalid endpoint {endpoint:?} (from {source_name}): {reason}")]
    InvalidEndpoint {
        /// The rejected endpoint.
        endpoint: String,
        /// Where it came from: an environment variable name or `Config::builder`.
        source_name: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// The table does not exist in this environment.
    #[error(
        "table `{table}` does not exist: create it with `eventosaurus-cli create-tables` \
         (or eventosaurus::table::create_tables)"
    )]
    TableNotFound {
        /// The full table name (`<prefix>_<table>`).
        table: String,
    },

    /// The encoded event is too large for DynamoDB; nothing was sent.
    ///
    /// The limit is [`MAX_EVENT_SIZE`](crate::codec::MAX_EVENT_SIZE): DynamoDB's 400 KB
    /// covers the item and its copy in the `created_at` index.
    #[error(
        "event for table `{table}` is {size} bytes, over the limit of {limit} bytes (DynamoDB's \
         400 KB covers the item and its copy in the created_at index); nothing was sent. Keep \
         large payloads elsewhere (e.g. S3) and store a reference"
    )]
    ItemTooLarge {
        /// The full table name.
        table: String,
        /// The item's size as DynamoDB counts it.
        size: usize,
        /// The limit (204,800 bytes).
        limit: usize,
    },

    /// DynamoDB kept throttling the request and the SDK's retries ran out.
    #[error(
        "DynamoDB throttled {operation} on `{table}` and retries were exhausted: \
         raise the table's capacity or slow down ({source})"
    )]
    Throttled {
        /// The DynamoDB operation, e.g. `PutItem`.
        operation: &'static str,
        /// The full table name.
        table: String,
        /// The SDK error.
        #[source]
        source: BoxError,
    },

    /// DynamoDB could not be reached, or the connection failed mid-request.
    ///
    /// The write may or may not have happened: retrying a conditional write is safe.
    #[error("could not reach DynamoDB at {endpoint} for {operation} on `{table}`: {source}")]
    Network {
        /// The endpoint that was used.
        endpoint: String,
        /// The DynamoDB operation.
        operation: &'static str,
        /// The full table name, or `-` for account-level calls.
        table: String,
        /// The transport error.
        #[source]
        source: BoxError,
    },

    /// DynamoDB answered with an error not covered by a more specific variant.
    #[error("DynamoDB rejected {operation} on `{table}`: {code}: {message}")]
    Service {
        /// The DynamoDB operation.
        operation: &'static str,
        /// The full table name, or `-` for account-level calls.
        table: String,
        /// The AWS error code, e.g. `ValidationException`.
        code: String,
        /// The AWS error message.
        message: String,
        /// The HTTP status, when there was a response.
        status: Option<u16>,
        /// The SDK error.
        #[source]
        source: BoxError,
    },

    /// The event could not be serialized into a DynamoDB item.
    #[error("could not encode a {event_type} for table `{table}`: {source}")]
    Encode {
        /// The Rust type of the event.
        event_type: &'static str,
        /// The table name.
        table: String,
        /// The serializer's error.
        #[source]
        source: serde_dynamo::Error,
    },

    /// An item read from DynamoDB could not be turned back into the event type.
    #[error(
        "could not decode an item of `{table}` into {event_type}: {reason} \
         (did the struct change incompatibly since the item was written?)"
    )]
    Decode {
        /// The Rust type of the event.
        event_type: &'static str,
        /// The table name.
        table: String,
        /// What was wrong.
        reason: String,
    },

    /// An item was stored by a newer version of the event type than this build knows (its
    /// `event_version` is above the type's `version`): it is not read, rather than misread.
    #[error(
        "an item of `{table}` is version {item_version} of {event_type}, but this build knows \
         versions up to {known_version}: deploy the newer event type to every reader (services \
         that query, consumers) before any writer stores the new version"
    )]
    VersionTooNew {
        /// The Rust type of the event.
        event_type: &'static str,
        /// The table name.
        table: String,
        /// The item's `event_version`.
        item_version: u32,
        /// The type's version (`#[eventosaurus(version = N)]`, 1 when not declared).
        known_version: u32,
    },

    /// A value of the event breaks one of DynamoDB's rules (a NaN, a number with too many
    /// digits, a partition key over 2,048 bytes, nesting over 32 levels, ...). Nothing was
    /// sent or queued: DynamoDB would have refused it.
    #[error("a {event_type} cannot be stored: `{path}` {violation}; nothing was sent")]
    InvalidValue {
        /// The Rust type of the event.
        event_type: &'static str,
        /// The attribute path of the value, e.g. `readings[3].value`.
        path: String,
        /// The rule it breaks, and what to do.
        violation: Violation,
    },

    /// The serialized event uses an attribute name that eventosaurus reserves, or lacks a key.
    #[error("a {event_type} cannot be stored: {reason}")]
    InvalidEvent {
        /// The Rust type of the event.
        event_type: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// A query has no EQ condition on the partition key, so it could only run as a Scan,
    /// which reads the whole table; it was not sent.
    #[error(
        "refusing to Scan `{table}`: there is no EQ condition on the partition key \
         `{partition_key}`. A Query reads one partition and needs an EQ condition on the \
         partition key (e.g. `.by_{partition_key}(value)`); to read the whole table with the \
         conditions as a filter, call `.allow_scan()`"
    )]
    ScanRequired {
        /// The full table name.
        table: String,
        /// The partition key attribute the query has no EQ condition on.
        partition_key: String,
    },

    /// A query cannot be sent as built; DynamoDB would refuse it (or it cannot be encoded).
    /// Test mode refuses it alike.
    #[error("invalid query on `{table}`: {problem}")]
    InvalidQuery {
        /// The full table name.
        table: String,
        /// What is wrong.
        problem: QueryProblem,
    },

    /// A cursor passed to `.after(..)` is not one this query produced.
    #[error("invalid cursor: {problem}")]
    InvalidCursor {
        /// What is wrong with it.
        problem: CursorProblem,
    },

    /// [`Store::try_store`](crate::Store::try_store) found the async queue full.
    #[error("the event queue is full ({capacity} events waiting): retry later, or use store() to wait for room")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },

    /// The async queue was shut down; it accepts no more events.
    #[error("the event queue is shut down and accepts no more events")]
    QueueClosed,

    /// [`AsyncQueue::shutdown_timeout`](crate::persist::AsyncQueue::shutdown_timeout) ran out
    /// of time before this event was confirmed written; the queue gave up on it.
    #[error(
        "the event queue was shut down with a limit of {limit:?} and this event was not confirmed \
         written by then. It was handed to the failure hooks instead; if an attempt was in \
         flight it may still have landed, so check before writing it again (a composite-key \
         event can simply be stored again: a second write is a duplicate)"
    )]
    QueueShutdownTimedOut {
        /// The limit given to `shutdown_timeout`.
        limit: std::time::Duration,
    },

    /// A table did not become ACTIVE in time after CreateTable.
    #[error(
        "table `{table}` was still {status} after waiting {waited_secs}s for it to become ACTIVE"
    )]
    TableNotActive {
        /// The full table name.
        table: String,
        /// The last status seen.
        status: String,
        /// How long we waited, in seconds.
        waited_secs: u64,
    },

    /// A global secondary index being added did not become ACTIVE in time. DynamoDB goes on
    /// building it: run `create-tables` again to wait for it.
    #[error(
        "index `{index}` of table `{table}` was still {status} after waiting {waited_secs}s for it \
         to become ACTIVE; DynamoDB goes on building it (backfilling a large table takes long): \
         run create-tables again to wait for it"
    )]
    IndexNotActive {
        /// The full table name.
        table: String,
        /// The index name.
        index: String,
        /// The last index status seen (`missing` if it never appeared).
        status: String,
        /// How long we waited, in seconds.
        waited_secs: u64,
    },

    /// A deleted table was still there after waiting for it to disappear.
    #[error(
        "table `{table}` was still {status} after waiting {waited_secs}s for it to be deleted"
    )]
    TableNotDeleted {
        /// The full table name.
        table: String,
        /// The last status seen.
        status: String,
        /// How long we waited, in seconds.
        waited_secs: u64,
    },

    /// The operation needs DynamoDB, and this store has another backend (test mode).
    #[error(
        "this needs DynamoDB, but the store's backend is {backend}: use a store from \
         Store::connect / Store::from_env for table administration and raw SDK calls"
    )]
    NotDynamoDb {
        /// The store's backend.
        backend: String,
    },

    /// A transaction has more items than one `TransactWriteItems` call takes; nothing was sent.
    #[error(
        "a transaction of {items} items is over DynamoDB's limit of {limit} items per \
         TransactWriteItems; nothing was sent. Split the work into smaller transactions"
    )]
    TransactionTooLarge {
        /// The application writes and events in the transaction.
        items: usize,
        /// The limit (100).
        limit: usize,
    },

    /// A transaction cannot be sent as built (an empty transaction, two writes of one item,
    /// a key attribute missing, an application item that does not serialize, or an
    /// expression test mode cannot evaluate); nothing was sent.
    #[error("invalid transaction: {reason}; nothing was sent")]
    InvalidTransaction {
        /// What is wrong.
        reason: String,
    },

    /// DynamoDB canceled a transaction for a reason other than a failed condition
    /// (conflicts or throttling that outlasted the retries, a validation error); nothing
    /// was applied.
    #[error(
        "the transaction on `{tables}` was canceled: {reasons}{}; nothing was applied",
        if *retryable { " (still after retries: retry later)" } else { "" }
    )]
    TransactionCanceled {
        /// The tables the transaction wrote, comma-separated.
        tables: String,
        /// The cancellation reason of each item, in order (`None` for items that were fine).
        reasons: String,
        /// Whether the reasons were transient (a conflict with another transaction,
        /// throttling).
        retryable: bool,
    },

    /// The configured source (the service's name, stored with each event) is unusable.
    #[error("invalid source {value:?} (from {source_name}): {reason}")]
    InvalidSource {
        /// The rejected value.
        value: String,
        /// Where it came from: `EVENTOSAURUS_SOURCE` or `Config::builder`.
        source_name: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// A table has no DynamoDB stream carrying new items, so it cannot be consumed.
    #[error(
        "table `{table}` has no DynamoDB stream carrying new items (NEW_IMAGE): turn it on with \
         `eventosaurus-cli create-tables --enable-streams` (or eventosaurus::consume::enable_stream)"
    )]
    StreamNotEnabled {
        /// The full table name.
        table: String,
    },

    /// A stream consumer's handler failed for an event on every attempt; the event was handed
    /// to the failure hooks and skipped.
    #[error(
        "the handler of `{table}` failed for event {event_uuid} after {attempts} attempt(s): {source}"
    )]
    HandlerFailed {
        /// The full table name.
        table: String,
        /// The event's `event_uuid` (or `-` when the item has none).
        event_uuid: String,
        /// How many times the handler was called.
        attempts: u32,
        /// The handler's last error.
        #[source]
        source: BoxError,
    },

    /// A stream consumer was configured in a way that cannot work.
    #[error("invalid consumer configuration: {reason}")]
    InvalidConsumer {
        /// What is wrong, and what to change.
        reason: String,
    },
}

/// What is wrong with a query: the detail of [`Error::InvalidQuery`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryProblem {
    /// A value could not be encoded as a DynamoDB attribute value.
    #[error("a value of {operator} on `{attribute}` cannot be encoded: {reason}")]
    Unencodable {
        /// The attribute of the condition.
        attribute: String,
        /// The operator of the condition.
        operator: Operator,
        /// The serializer's message.
        reason: String,
    },
    /// The operator takes another number of values (`BETWEEN` two, `IN` 1 to 100, the
    /// others one).
    #[error(
        "{operator} on `{attribute}` takes {} value(s), got {given}",
        if min == max { min.to_string() } else { format!("{min} to {max}") }
    )]
    WrongNumberOfValues {
        /// The attribute of the condition.
        attribute: String,
        /// The operator of the condition.
        operator: Operator,
        /// The fewest values it takes.
        min: usize,
        /// The most values it takes.
        max: usize,
        /// How many it was given.
        given: usize,
    },
    /// A number DynamoDB cannot hold (too many digits, out of range, `NaN`, ...).
    #[error("a value of {operator} on `{attribute}`: {problem}")]
    InvalidNumber {
        /// The attribute of the condition.
        attribute: String,
        /// The operator of the condition.
        operator: Operator,
        /// What is wrong with the number.
        problem: NumberError,
    },
    /// `BETWEEN low AND high` with `low` above `high`.
    #[error(
        "BETWEEN on `{attribute}` has its lower bound above its upper bound: write \
         between(low, high)"
    )]
    BetweenBoundsReversed {
        /// The attribute of the condition.
        attribute: String,
    },
    /// `BETWEEN` with bounds of two types, or of a type that has no order.
    #[error("BETWEEN on `{attribute}` needs two values of one type: number, string or binary")]
    BetweenTypesDiffer {
        /// The attribute of the condition.
        attribute: String,
    },
    /// An empty string or binary in a key condition.
    #[error(
        "the key condition {operator} on `{attribute}` has an empty value, and DynamoDB key \
         values cannot be empty: use a non-empty value"
    )]
    EmptyKeyValue {
        /// The key attribute.
        attribute: String,
        /// The operator of the key condition.
        operator: Operator,
    },
    /// `page_size(0)`.
    #[error("page_size must be at least 1")]
    ZeroPageSize,
    /// `consistent_read()` on a query that reads a global secondary index, which DynamoDB
    /// keeps up to date asynchronously and reads with eventually consistent reads only.
    #[error(
        "the query reads the global secondary index `{index}` (its EQ is on the index's \
         partition key), and DynamoDB reads global indexes with eventually consistent reads \
         only: drop consistent_read(), or query by the table's partition key for a strongly \
         consistent read"
    )]
    ConsistentReadOnGlobalIndex {
        /// The index the query would read.
        index: String,
    },
}

/// What is wrong with a cursor: the detail of [`Error::InvalidCursor`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CursorProblem {
    /// Not the JSON object of key attributes that eventosaurus writes.
    #[error(
        "it is not a cursor of eventosaurus (those are JSON objects of key attributes): pass \
         the cursor of a page unchanged"
    )]
    NotACursor,
    /// One of its attributes is not a key value.
    #[error("its attribute `{attribute}` is not a key value: {problem}")]
    BadKeyValue {
        /// The attribute.
        attribute: String,
        /// What is wrong with its value.
        problem: KeyValueProblem,
    },
    /// It holds other attributes than this query's cursors.
    #[error(
        "it holds the attributes {found:?} but this query's cursors hold {expected:?}: was it \
         taken from another query?"
    )]
    WrongAttributes {
        /// Its attributes, sorted.
        found: Vec<String>,
        /// The attributes of this query's cursors, sorted.
        expected: Vec<String>,
    },
    /// A key attribute is an empty string or binary, which no stored key can be.
    #[error("its key attribute `{attribute}` is empty, which no stored key can be")]
    EmptyKeyValue {
        /// The attribute.
        attribute: String,
    },
    /// It lies outside the query's key condition: another partition, or outside the range
    /// condition. DynamoDB refuses such an `ExclusiveStartKey`.
    #[error(
        "it points outside this query's key condition ({operator} on `{attribute}`): a cursor \
         only resumes the query that returned it, in the same partition"
    )]
    OutsideKeyCondition {
        /// The attribute of the key condition it fails.
        attribute: String,
        /// The operator of that condition.
        operator: Operator,
    },
}

/// Why a JSON value is not a key attribute value (`{"S": ..}`, `{"N": ..}` or `{"B": [..]}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyValueProblem {
    /// Not an object with exactly one type tag.
    #[error("a key value is an object with one type tag, e.g. {{\"S\": \"x\"}}")]
    NotOneTypeTag,
    /// A tag or shape that no key value has.
    #[error("`{tag}` with that value is not a key type: keys are S, N or B")]
    UnsupportedType {
        /// The type tag found.
        tag: String,
    },
    /// An `N` value that is not a DynamoDB number.
    #[error("{0}")]
    InvalidNumber(NumberError),
    /// A `B` value that is not a list of bytes.
    #[error("a B value is a list of byte values (0 to 255)")]
    InvalidBytes,
}

/// A DynamoDB rule that a value breaks: the `violation` of [`Error::InvalidValue`].
///
/// Each message reads after the value's attribute path, e.g. ``"`temperature` is not a
/// number DynamoDB accepts (NaN)..."``, and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// Not a number DynamoDB can store: NaN, an infinity, or text that is no number.
    #[error(
        "is not a number DynamoDB accepts ({value}): DynamoDB numbers are finite decimals, so \
         NaN and infinities cannot be stored; check the value before storing it, or make the \
         field an Option and store None"
    )]
    NotANumber {
        /// The number's text as serialized (e.g. `NaN`, `inf`).
        value: String,
    },
    /// More than 38 significant digits.
    #[error(
        "has {digits} significant digits ({value}): DynamoDB keeps at most 38; round it, or \
         store it as a String"
    )]
    TooManyDigits {
        /// The number's text.
        value: String,
        /// Its significant digits (leading and trailing zeros do not count).
        digits: usize,
    },
    /// A magnitude of 1E+126 or more.
    #[error(
        "is too large for DynamoDB ({value}): numbers must be below 1E+126 in magnitude; store \
         it in other units, or as a String"
    )]
    MagnitudeTooLarge {
        /// The number's text.
        value: String,
    },
    /// A non-zero magnitude below 1E-130.
    #[error(
        "is too small for DynamoDB ({value}): non-zero numbers must be at least 1E-130 in \
         magnitude; round it to 0, or store it in other units"
    )]
    MagnitudeTooSmall {
        /// The number's text.
        value: String,
    },
    /// A string, number or binary set with no element.
    #[error("is an empty set: DynamoDB sets need at least one element; leave the attribute out (e.g. skip_serializing_if) or use a list")]
    EmptySet,
    /// A set with the same element twice (numbers compare by value: `1` and `1.0` are one).
    #[error("is a set that holds {value} twice: DynamoDB sets cannot contain duplicates; deduplicate it, or use a list")]
    DuplicateInSet {
        /// The repeated element.
        value: String,
    },
    /// An attribute or map key named `""`.
    #[error(
        "has an empty attribute name: DynamoDB names (also map keys) need at least one character"
    )]
    EmptyName,
    /// An attribute or map key over 65,535 bytes.
    #[error("has a name of {bytes} bytes: DynamoDB names are at most 65,535 bytes")]
    NameTooLong {
        /// The name's length in UTF-8 bytes.
        bytes: usize,
    },
    /// `NULL: false`, which DynamoDB refuses (a null is `NULL: true`).
    #[error("is NULL: false, which DynamoDB refuses; a null attribute is NULL: true")]
    NullFalse,
    /// Lists and maps nested more than 32 levels deep.
    #[error(
        "is nested {depth} levels deep: DynamoDB allows at most 32 (an attribute is level 1, \
         each list or map adds one); flatten the structure or store the deep part as a JSON string"
    )]
    TooDeep {
        /// The level reached (at least 33).
        depth: usize,
    },
    /// The partition key is missing, or not of the table's key type.
    #[error(
        "is the partition key, and the serialized item has no {expected} value for it \
         (skipped, None, or another type?): every event needs its partition key"
    )]
    PartitionKeyMissing {
        /// The key type the table expects: `N` or `S`.
        expected: &'static str,
    },
    /// The partition key is the empty string.
    #[error(
        "is the partition key, and it is empty: DynamoDB key strings need at least one character"
    )]
    PartitionKeyEmpty,
    /// A string partition key over 2,048 bytes.
    #[error(
        "is the partition key, and it is {bytes} bytes: DynamoDB partition keys are at most \
         2,048 bytes (UTF-8); use a shorter key, e.g. a hash of this value"
    )]
    PartitionKeyTooLong {
        /// The key's length in UTF-8 bytes.
        bytes: usize,
    },
    /// A key of a global secondary index is the empty string, which DynamoDB refuses in an
    /// index key.
    #[error(
        "is a key of the index `{index}`, and it is empty: DynamoDB index keys need at least \
         one character; store a non-empty value"
    )]
    IndexKeyEmpty {
        /// The index.
        index: &'static str,
    },
    /// A string key of a global secondary index over DynamoDB's limit: 2,048 bytes for its
    /// partition key, 1,024 for its sort key.
    #[error(
        "is a key of the index `{index}`, and it is {bytes} bytes: DynamoDB allows at most \
         {max} (UTF-8) for this key; use a shorter value"
    )]
    IndexKeyTooLong {
        /// The index.
        index: &'static str,
        /// The key's length in UTF-8 bytes.
        bytes: usize,
        /// The limit.
        max: usize,
    },
}

impl Error {
    /// Whether retrying the same request may succeed: throttling, network and 5xx errors.
    ///
    /// Retrying a conditional write is always safe: a retry that meets the item its earlier
    /// attempt wrote recognises it and reports [`StoreOutcome::Stored`](crate::StoreOutcome::Stored),
    /// never a second item and never a [`Duplicate`](crate::StoreOutcome::Duplicate).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Throttled { .. } | Error::Network { .. } => true,
            Error::TransactionCanceled { retryable, .. } => *retryable,
            Error::Service { status, .. } => status.is_some_and(|s| s >= 500),
            _ => false,
        }
    }
}

impl Error {
    /// Whether the failed request may nevertheless have been applied: a network error after
    /// sending (lost response, timeout) or a 5xx. A throttled or refused request was not.
    /// A retry of a conditional put after such an error may meet its own item.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            Error::Network { .. } => true,
            Error::Service { status, .. } => status.is_some_and(|s| s >= 500),
            _ => false,
        }
    }
}

/// What a failed SDK call turned out to be, before it becomes an [`Error`].
#[derive(Debug)]
pub(crate) enum SdkFailure {
    /// `ConditionalCheckFailedException`: for a conditional put, a duplicate.
    ConditionFailed,
    /// `ResourceNotFoundException`.
    NotFound,
    /// `ResourceInUseException` (e.g. CreateTable of an existing table).
    InUse,
    /// Anything else, already turned into an [`Error`].
    Other(Error),
}

/// Where and what a call was, so that its failure can say so.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallSite<'a> {
    pub operation: &'static str,
    pub table: &'a str,
    pub endpoint: &'a str,
}

/// The service errors the library reacts to, read from an operation's typed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServiceErrorKind {
    /// `ConditionalCheckFailedException`.
    ConditionFailed,
    /// `ResourceNotFoundException`.
    NotFound,
    /// `ResourceInUseException`.
    InUse,
    /// `ProvisionedThroughputExceededException`, `RequestLimitExceeded`,
    /// `ThrottlingException`, `LimitExceededException`.
    Throttled,
}

/// An operation's typed error (`PutItemError`, `QueryError`, ...), sorted into the kinds
/// the library reacts to by its variants.
pub(crate) trait OperationError:
    ProvideErrorMetadata + std::error::Error + Send + Sync + 'static
{
    /// The kind of this error's variant; `None` for the others, and for `Unhandled` (e.g.
    /// DynamoDB Local's `ValidationException`, which no operation's enum has).
    fn kind(&self) -> Option<ServiceErrorKind>;
}

macro_rules! operation_errors {
    ($($sdk:ident::$module:ident::$error:ident { $($variant:ident => $kind:ident),* $(,)? })*) => {$(
        impl OperationError for $sdk::operation::$module::$error {
            fn kind(&self) -> Option<ServiceErrorKind> {
                #[allow(unused_imports)] // by an operation without variants of interest
                use $sdk::operation::$module::$error as E;
                match self {
                    $(E::$variant(_) => Some(ServiceErrorKind::$kind),)*
                    _ => None,
                }
            }
        }
    )*};
}

operation_errors! {
    aws_sdk_dynamodb::put_item::PutItemError {
        ConditionalCheckFailedException => ConditionFailed,
        ResourceNotFoundException => NotFound,
        ProvisionedThroughputExceededException => Throttled,
        RequestLimitExceeded => Throttled,
        ThrottlingException => Throttled,
    }
    aws_sdk_dynamodb::update_item::UpdateItemError {
        ConditionalCheckFailedException => ConditionFailed,
        ResourceNotFoundException => NotFound,
        ProvisionedThroughputExceededException => Throttled,
        RequestLimitExceeded => Throttled,
        ThrottlingException => Throttled,
    }
    aws_sdk_dynamodb::get_item::GetItemError {
        ResourceNotFoundException => NotFound,
        ProvisionedThroughputExceededException => Throttled,
        RequestLimitExceeded => Throttled,
        ThrottlingException => Throttled,
    }
    aws_sdk_dynamodb::query::QueryError {
        ResourceNotFoundException => NotFound,
        ProvisionedThroughputExceededException => Throttled,
        RequestLimitExceeded => Throttled,
        ThrottlingException => Throttled,
    }
    aws_sdk_dynamodb::scan::ScanError {
        ResourceNotFoundException => NotFound,
        ProvisionedThroughputExceededException => Throttled,
        RequestLimitExceeded => Throttled,
        ThrottlingException => Throttled,
    }
    aws_sdk_dynamodb::batch_get_item::BatchGetItemError {
        ResourceNotFoundException => NotFound,
        ProvisionedThroughputExceededException => Throttled,
        RequestLimitExceeded => Throttled,
        ThrottlingException => Throttled,
    }
    aws_sdk_dynamodb::batch_write_item::BatchWriteItemError {
        ResourceNotFoundException => NotFound,
        ProvisionedThroughputExceededException => Throttled,
        RequestLimitExceeded => Throttled,
        ThrottlingException => Throttled,
    }
    aws_sdk_dynamodb::transact_write_items::TransactWriteItemsError {
        ResourceNotFoundException => NotFound,
        ProvisionedThroughputExceededException => Throttled,
        RequestLimitExceeded => Throttled,
        ThrottlingException => Throttled,
    }
    aws_sdk_dynamodb::create_table::CreateTableError {
        ResourceInUseException => InUse,
        LimitExceededException => Throttled,
    }
    aws_sdk_dynamodb::describe_table::DescribeTableError {
        ResourceNotFoundException => NotFound,
    }
    aws_sdk_dynamodb::delete_table::DeleteTableError {
        ResourceNotFoundException => NotFound,
        ResourceInUseException => InUse,
        LimitExceededException => Throttled,
    }
    aws_sdk_dynamodb::list_tables::ListTablesError {}
    aws_sdk_dynamodb::update_table::UpdateTableError {
        ResourceNotFoundException => NotFound,
        ResourceInUseException => InUse,
        LimitExceededException => Throttled,
    }
    aws_sdk_dynamodb::update_time_to_live::UpdateTimeToLiveError {
        ResourceNotFoundException => NotFound,
        ResourceInUseException => InUse,
        LimitExceededException => Throttled,
    }
    aws_sdk_dynamodb::describe_time_to_live::DescribeTimeToLiveError {
        ResourceNotFoundException => NotFound,
    }
    aws_sdk_dynamodb::delete_item::DeleteItemError {
        ConditionalCheckFailedException => ConditionFailed,
        ResourceNotFoundException => NotFound,
        ProvisionedThroughputExceededException => Throttled,
        RequestLimitExceeded => Throttled,
        ThrottlingException => Throttled,
    }
    aws_sdk_dynamodbstreams::describe_stream::DescribeStreamError {
        ResourceNotFoundException => NotFound,
    }
    aws_sdk_dynamodbstreams::get_records::GetRecordsError {
        ResourceNotFoundException => NotFound,
        LimitExceededException => Throttled,
    }
    aws_sdk_dynamodbstreams::get_shard_iterator::GetShardIteratorError {
        ResourceNotFoundException => NotFound,
    }
    aws_sdk_dynamodbstreams::list_streams::ListStreamsError {
        ResourceNotFoundException => NotFound,
    }
}

/// The fallback for an error the operation's enum has no variant for (`Unhandled`): control
/// plane calls can be throttled although their enums have no throttling variant.
fn kind_from_code(code: Option<&str>) -> Option<ServiceErrorKind> {
    match code? {
        "ThrottlingException"
        | "RequestLimitExceeded"
        | "ProvisionedThroughputExceededException" => Some(ServiceErrorKind::Throttled),
        _ => None,
    }
}

/// Sorts an SDK error into the cases the library reacts to: transport failures, then the
/// operation's typed error variant, then (for `Unhandled` errors only) the error code.
pub(crate) fn classify<E: OperationError>(
    err: SdkError<E, HttpResponse>,
    at: CallSite<'_>,
) -> SdkFailure {
    let table = at.table.to_owned();
    let kind = match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            return SdkFailure::Other(Error::Network {
                endpoint: at.endpoint.to_owned(),
                operation: at.operation,
                table,
                source: Box::new(err),
            });
        }
        SdkError::ServiceError(service) => service
            .err()
            .kind()
            .or_else(|| kind_from_code(service.err().code())),
        _ => None,
    };
    match kind {
        Some(ServiceErrorKind::ConditionFailed) => return SdkFailure::ConditionFailed,
        Some(ServiceErrorKind::NotFound) => return SdkFailure::NotFound,
        Some(ServiceErrorKind::InUse) => return SdkFailure::InUse,
        Some(ServiceErrorKind::Throttled) => {
            return SdkFailure::Other(Error::Throttled {
                operation: at.operation,
                table,
                source: Box::new(err),
            });
        }
        None => {}
    }
    let code = err.code().unwrap_or("Unknown").to_owned();
    let message = err.message().unwrap_or_default().to_owned();
    let status = err.raw_response().map(|raw| raw.status().as_u16());
    SdkFailure::Other(Error::Service {
        operation: at.operation,
        table,
        code,
        message,
        status,
        source: Box::new(err),
    })
}

impl SdkFailure {
    /// Turns the cases that are errors for this caller into the matching [`Error`].
    pub(crate) fn into_error(self, at: CallSite<'_>) -> Error {
        match self {
            SdkFailure::Other(error) => error,
            SdkFailure::NotFound => Error::TableNotFound {
                table: at.table.to_owned(),
            },
            SdkFailure::ConditionFailed | SdkFailure::InUse => Error::Service {
                operation: at.operation,
                table: at.table.to_owned(),
                code: format!("{self:?}"),
                message: "unexpected for this operation".to_owned(),
                status: Some(400),
                source: format!("{self:?}").into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::create_table::CreateTableError;
    use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::operation::query::QueryError;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, ProvisionedThroughputExceededException,
        ResourceNotFoundException,
    };
    use aws_smithy_types::body::SdkBody;

    use super::*;

    const AT: CallSite<'static> = CallSite {
        operation: "Op",
        table: "dev_t",
        endpoint: "http://localhost:8000",
    };

    fn failure<E: OperationError>(err: E, status: u16) -> SdkFailure {
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        classify(SdkError::service_error(err, raw), AT)
    }

    fn unhandled(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message("m").build()
    }

    #[test]
    fn typed_variants_decide() {
        let condition = ConditionalCheckFailedException::builder().build();
        assert!(matches!(
            failure(
                PutItemError::ConditionalCheckFailedException(condition),
                400
            ),
            SdkFailure::ConditionFailed
        ));
        let missing = ResourceNotFoundException::builder().build();
        assert!(matches!(
            failure(DescribeTableError::ResourceNotFoundException(missing), 400),
            SdkFailure::NotFound
        ));
        let throttled = ProvisionedThroughputExceededException::builder().build();
        let SdkFailure::Other(error) = failure(
            QueryError::ProvisionedThroughputExceededException(throttled),
            400,
        ) else {
            panic!("not an error")
        };
        assert!(matches!(error, Error::Throttled { .. }) && error.is_retryable());
    }

    #[test]
    fn unhandled_errors_fall_back_on_the_code() {
        let throttled = failure(
            CreateTableError::generic(unhandled("ThrottlingException")),
            400,
        );
        assert!(matches!(
            throttled,
            SdkFailure::Other(Error::Throttled { .. })
        ));
        let SdkFailure::Other(error) =
            failure(QueryError::generic(unhandled("ValidationException")), 400)
        else {
            panic!("not an error")
        };
        assert!(
            matches!(&error, Error::Service { code, status: Some(400), .. } if code == "ValidationException")
        );
        assert!(!error.is_retryable());
        let SdkFailure::Other(error) = failure(QueryError::generic(unhandled("Whatever")), 503)
        else {
            panic!("not an error")
        };
        assert!(error.is_retryable(), "a 5xx is retryable");
    }
}
