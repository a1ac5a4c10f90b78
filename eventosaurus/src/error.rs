//! The crate's one error type.
//!
//! Every variant says what went wrong and, where there is one, what to do about it. A
//! duplicate write is *not* an error: it is [`StoreOutcome::Duplicate`](crate::StoreOutcome).

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

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
        "refusing to Scan `{table}`: {reason}. A Query reads one partition and needs an EQ \
         condition on the partition key (e.g. `.by_<partition key>(value)`); to read the whole \
         table with the conditions as a filter, call `.allow_scan()`"
    )]
    ScanRequired {
        /// The full table name.
        table: String,
        /// Why the query cannot be a Query.
        reason: String,
    },

    /// A query cannot be sent as built: a value that cannot be encoded, the wrong number of
    /// values for an operator, a page size of 0.
    #[error("invalid query on `{table}`: {reason}")]
    InvalidQuery {
        /// The full table name.
        table: String,
        /// What is wrong.
        reason: String,
    },

    /// A cursor passed to `.after(..)` is not one this query produced.
    #[error("invalid cursor: {reason}")]
    InvalidCursor {
        /// What is wrong with it.
        reason: String,
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
}

impl Error {
    /// Whether retrying the same request may succeed: throttling, network and 5xx errors.
    ///
    /// Retrying a conditional write is always safe: a write that did land the first time
    /// comes back as [`StoreOutcome::Duplicate`](crate::StoreOutcome::Duplicate).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Throttled { .. } | Error::Network { .. } => true,
            Error::TransactionCanceled { retryable, .. } => *retryable,
            Error::Service { status, code, .. } => {
                status.is_some_and(|s| s >= 500) || code == "InternalServerError"
            }
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
            Error::Service { status, code, .. } => {
                status.is_some_and(|s| s >= 500) || code == "InternalServerError"
            }
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

/// Sorts an SDK error into the cases the library reacts to.
pub(crate) fn classify<E>(err: SdkError<E, HttpResponse>, at: CallSite<'_>) -> SdkFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let table = at.table.to_owned();
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            return SdkFailure::Other(Error::Network {
                endpoint: at.endpoint.to_owned(),
                operation: at.operation,
                table,
                source: Box::new(err),
            });
        }
        _ => {}
    }
    let code = err.code().unwrap_or("Unknown").to_owned();
    match code.as_str() {
        "ConditionalCheckFailedException" => return SdkFailure::ConditionFailed,
        "ResourceNotFoundException" => return SdkFailure::NotFound,
        "ResourceInUseException" => return SdkFailure::InUse,
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => {
            return SdkFailure::Other(Error::Throttled {
                operation: at.operation,
                table,
                source: Box::new(err),
            });
        }
        _ => {}
    }
    let message = err.message().unwrap_or_default().to_owned();
    let status = match &err {
        SdkError::ServiceError(service) => Some(service.raw().status().as_u16()),
        _ => None,
    };
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
