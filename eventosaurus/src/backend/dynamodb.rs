//! The DynamoDB backend: one `aws-sdk-dynamodb` request per call.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, KeysAndAttributes, Put, PutRequest, ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure, Select as SdkSelect, TransactWriteItem, Update,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;
use tracing::Instrument;

use super::telemetry::{call_span, record_error, record_response, Server};
use super::transact::{
    CancellationReason, TransactAction, TransactItem, TransactResult, TransactWrite,
};
use super::{Backend, BackendFuture, BatchGetResponse, BatchPut, PageResponse, PutOutcome};
use crate::codec::Item;
use crate::config::{Config, LOOPBACK_DEFAULT_REGION};
use crate::error::{classify, CallSite, Error, OperationError};
use crate::plan::{Operation, Plan, Select};
use crate::schema::{TableDef, EVENT_UUID};

/// The condition that makes the first write of an `event_uuid` win.
pub const PUT_CONDITION: &str = "attribute_not_exists(event_uuid)";

/// Amazon DynamoDB (or DynamoDB Local) through an SDK client.
#[derive(Debug, Clone)]
///
/// Every call runs in a tracing span with OpenTelemetry's attributes (see
/// [`telemetry`](super::telemetry)).
pub struct DynamoDb {
    client: Client,
    /// The same client with the SDK's retries off, for the conditional put: one attempt per
    /// call, so that the persistor retrying it knows whether an earlier attempt may have
    /// landed.
    single_attempt: Client,
    endpoint_label: String,
    /// Where the calls go, for the spans.
    server: Server,
    /// Whether to ask for `ReturnConsumedCapacity=TOTAL` and record it on the spans.
    consumed_capacity: bool,
}

impl DynamoDb {
    /// A backend for `client`; `endpoint_label` names where it points in error messages
    /// (and, when it is a URL, in the spans' `server.address`).
    pub fn new(client: Client, endpoint_label: impl Into<String>) -> DynamoDb {
        let endpoint_label = endpoint_label.into();
        let region = client.config().region().map(|r| r.as_ref().to_owned());
        DynamoDb {
            single_attempt: without_retries(&client),
            client,
            server: Server::new(Some(&endpoint_label), region.as_deref(), false),
            endpoint_label,
            consumed_capacity: false,
        }
    }

    /// With `on`, every request asks for `ReturnConsumedCapacity=TOTAL` and its span records
    /// the answer as `aws.dynamodb.consumed_capacity`. Off by default (DynamoDB then sends
    /// no capacity figures).
    pub fn report_consumed_capacity(mut self, on: bool) -> DynamoDb {
        self.consumed_capacity = on;
        self
    }

    /// Whether requests ask for their consumed capacity.
    pub fn reports_consumed_capacity(&self) -> bool {
        self.consumed_capacity
    }

    fn return_capacity(&self) -> Option<ReturnConsumedCapacity> {
        self.consumed_capacity
            .then_some(ReturnConsumedCapacity::Total)
    }

    /// Builds the SDK configuration from `config` and `aws-config`'s usual sources.
    ///
    /// For a loopback endpoint with no configured region or credentials, uses `us-east-1`
    /// and dummy credentials, and never consults instance metadata (see
    /// [`config`](crate::config)).
    pub async fn sdk_config(config: &Config) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        match &config.region {
            Some(region) => loader = loader.region(Region::new(region.clone())),
            None if config.is_loopback() => {
                // Environment and profile only: never instance metadata for a local endpoint.
                let region = RegionProviderChain::first_try(
                    aws_config::environment::EnvironmentVariableRegionProvider::new(),
                )
                .or_else(aws_config::profile::ProfileFileRegionProvider::builder().build())
                .or_else(Region::from_static(LOOPBACK_DEFAULT_REGION));
                loader = loader.region(region);
            }
            None => {}
        }
        match &config.credentials {
            Some((key, secret)) => {
                loader = loader.credentials_provider(Credentials::new(
                    key,
                    secret,
                    None,
                    None,
                    "eventosaurus-config",
                ))
            }
            None if config.is_loopback() => {
                loader = loader.credentials_provider(loopback_credentials())
            }
            None => {}
        }
        loader.load().await
    }

    /// Connects with `config` (see [`DynamoDb::sdk_config`]).
    pub async fn connect(config: &Config) -> DynamoDb {
        let sdk_config = DynamoDb::sdk_config(config).await;
        DynamoDb::from_sdk_config(&sdk_config, config)
    }

    /// A backend for an SDK configuration built from `config` (its endpoint, if any, names
    /// it in error messages, else its region does).
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, config: &Config) -> DynamoDb {
        let endpoint_label = match &config.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => format!(
                "the AWS endpoint of region {}",
                sdk_config
                    .region()
                    .map(|r| r.as_ref())
                    .unwrap_or("(none configured)")
            ),
        };
        let standard_endpoint = config.endpoint.is_none()
            && sdk_config.use_fips() != Some(true)
            && sdk_config.use_dual_stack() != Some(true);
        let server = Server::new(
            config.endpoint.as_deref(),
            sdk_config.region().map(|r| r.as_ref()),
            standard_endpoint,
        );
        DynamoDb {
            server,
            ..DynamoDb::new(Client::new(sdk_config), endpoint_label)
        }
        .report_consumed_capacity(config.reports_consumed_capacity())
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn call_site<'a>(&'a self, operation: &'static str, table: &'a str) -> CallSite<'a> {
        CallSite {
            operation,
            table,
            endpoint: &self.endpoint_label,
        }
    }

    async fn query_or_scan(&self, plan: &Plan, start: Option<Item>) -> crate::Result<PageResponse> {
        let at = self.call_site(plan.operation.as_str(), &plan.table);
        // A count with client-side conditions must see the items to count them.
        let counting_only = plan.select == Select::Count && plan.client_filter.is_empty();
        let limit = plan.page_size.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        let span = page_span(plan, &self.server, limit, counting_only);
        let names: Option<HashMap<_, _>> = (!plan.expressions.names.is_empty())
            .then(|| plan.expressions.names.clone().into_iter().collect());
        let values: Option<HashMap<_, _>> = (!plan.expressions.values.is_empty())
            .then(|| plan.expressions.values.clone().into_iter().collect());
        // The SDK's Query and Scan builders share these setters but no trait: one macro
        // applies them (and sends, records, and takes the page out) for both.
        macro_rules! send_page {
            ($builder:expr) => {{
                let output = $builder
                    .table_name(&plan.table)
                    .set_index_name(plan.index.clone())
                    .set_filter_expression(plan.expressions.filter_expression.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    // Only what differs from DynamoDB's defaults, so the request is the one a
                    // hand-written Query or Scan would send.
                    .set_consistent_read(plan.consistent_read.then_some(true))
                    .set_limit(limit)
                    .set_select(counting_only.then_some(SdkSelect::Count))
                    .set_exclusive_start_key(start)
                    .set_return_consumed_capacity(self.return_capacity())
                    .send()
                    .instrument(span.clone())
                    .await
                    .map_err(|err| failed(&span, err, at))?;
                record_response(&span, &output, output.consumed_capacity());
                let key = output.last_evaluated_key;
                (output.items, output.count, output.scanned_count, key)
            }};
        }
        let (items, count, scanned, last_evaluated_key) = match plan.operation {
            Operation::Query => send_page!(self
                .client
                .query()
                .set_key_condition_expression(plan.expressions.key_condition_expression.clone())
                .set_scan_index_forward(plan.descending.then_some(false))),
            Operation::Scan => send_page!(self.client.scan()),
        };
        span.record("aws.dynamodb.count", i64::from(count));
        span.record("aws.dynamodb.scanned_count", i64::from(scanned));
        Ok(PageResponse {
            items: if counting_only {
                None
            } else {
                Some(items.unwrap_or_default())
            },
            count: u64::try_from(count).unwrap_or(0),
            scanned: u64::try_from(scanned).unwrap_or(0),
            last_evaluated_key,
        })
    }
}

/// The span of one Query or Scan page, with the request's parameters that differ from
/// DynamoDB's defaults.
fn page_span(
    plan: &Plan,
    server: &Server,
    limit: Option<i32>,
    counting_only: bool,
) -> tracing::Span {
    let span = call_span(plan.operation.as_str(), &[&plan.table], server);
    if let Some(index) = &plan.index {
        span.record("aws.dynamodb.index_name", index.as_str());
    }
    if let Some(limit) = limit {
        span.record("aws.dynamodb.limit", limit);
    }
    if plan.consistent_read {
        span.record("aws.dynamodb.consistent_read", true);
    }
    if plan.descending && plan.operation == Operation::Query {
        span.record("aws.dynamodb.scan_forward", false);
    }
    if counting_only {
        span.record("aws.dynamodb.select", "COUNT");
    }
    span
}

/// One item of a transaction as the SDK types it.
fn sdk_transact_item(item: &TransactItem) -> crate::Result<TransactWriteItem> {
    let names = (!item.names.is_empty()).then(|| item.names.clone());
    let values = (!item.values.is_empty()).then(|| item.values.clone());
    let on_failure = item
        .return_item_on_failure
        .then_some(ReturnValuesOnConditionCheckFailure::AllOld);
    let invalid = |err: aws_sdk_dynamodb::error::BuildError| Error::InvalidTransaction {
        reason: format!(
            "a {} on `{}` could not be built: {err}",
            item.action.name(),
            item.table
        ),
    };
    // The four builders share these setters but no trait: one macro applies them.
    macro_rules! with_condition {
        ($builder:expr) => {
            $builder
                .table_name(&item.table)
                .set_condition_expression(item.condition.clone())
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values_on_condition_check_failure(on_failure)
                .build()
                .map_err(invalid)?
        };
    }
    let builder = TransactWriteItem::builder();
    Ok(match &item.action {
        TransactAction::Put { item: put } => {
            builder.put(with_condition!(Put::builder().set_item(Some(put.clone()))))
        }
        TransactAction::Update {
            key,
            update_expression,
        } => builder.update(with_condition!(Update::builder()
            .set_key(Some(key.clone()))
            .update_expression(update_expression))),
        TransactAction::Delete { key } => {
            builder.delete(with_condition!(Delete::builder().set_key(Some(key.clone()))))
        }
        TransactAction::ConditionCheck { key } => builder.condition_check(with_condition!(
            ConditionCheck::builder().set_key(Some(key.clone()))
        )),
    }
    .build())
}

/// Records a failed call on its span and sorts the error.
fn failed<E: OperationError>(
    span: &tracing::Span,
    err: SdkError<E, HttpResponse>,
    at: CallSite<'_>,
) -> Error {
    record_error(span, &err, false);
    classify(err, at).into_error(at)
}

/// `client` with the SDK's retries turned off.
fn without_retries(client: &Client) -> Client {
    let config = client
        .config()
        .to_builder()
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// Environment, then profile, then DynamoDB Local's dummy credentials.
fn loopback_credentials() -> CredentialsProviderChain {
    CredentialsProviderChain::first_try(
        "Environment",
        aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else(
        "Profile",
        aws_config::profile::ProfileFileCredentialsProvider::builder().build(),
    )
    .or_else(
        "DynamoDBLocal",
        Credentials::new(
            "eventosauruslocal",
            "eventosauruslocal",
            None,
            None,
            "eventosaurus-loopback",
        ),
    )
}

impl Backend for DynamoDb {
    fn label(&self) -> &str {
        &self.endpoint_label
    }

    fn put_if_absent<'a>(
        &'a self,
        table: &'a str,
        _def: &'a TableDef,
        item: Item,
    ) -> BackendFuture<'a, PutOutcome> {
        Box::pin(async move {
            let at = self.call_site("PutItem", table);
            let span = call_span("PutItem", &[table], &self.server);
            let result = self
                .single_attempt
                .put_item()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression(PUT_CONDITION)
                // The existing item comes back with the refusal: its created_at tells our
                // own earlier attempt (whose response was lost) from another writer.
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .set_return_consumed_capacity(self.return_capacity())
                .send()
                .instrument(span.clone())
                .await;
            match result {
                Ok(output) => {
                    record_response(&span, &output, output.consumed_capacity());
                    Ok(PutOutcome::Written)
                }
                Err(err) => match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(refused)) => {
                        // An outcome (a duplicate, or our own earlier write), not a failure.
                        record_error(&span, &err, true);
                        Ok(PutOutcome::Exists {
                            existing: refused.item().cloned(),
                        })
                    }
                    _ => Err(failed(&span, err, at)),
                },
            }
        })
    }

    fn batch_put(&self, puts: Vec<BatchPut>) -> BackendFuture<'_, Vec<BatchPut>> {
        Box::pin(async move {
            let table = puts.first().map(|p| p.table.clone()).unwrap_or_default();
            let at = self.call_site("BatchWriteItem", &table);
            let mut request_items: HashMap<String, Vec<WriteRequest>> = HashMap::new();
            for put in &puts {
                let request = PutRequest::builder()
                    .set_item(Some(put.item.clone()))
                    .build()
                    .map_err(|err| Error::InvalidEvent {
                        event_type: put.def.event_type,
                        reason: format!("could not build a PutRequest: {err}"),
                    })?;
                request_items
                    .entry(put.table.clone())
                    .or_default()
                    .push(WriteRequest::builder().put_request(request).build());
            }
            let mut tables: Vec<&str> = request_items.keys().map(String::as_str).collect();
            tables.sort_unstable();
            let span = call_span("BatchWriteItem", &tables, &self.server);
            let output = self
                .client
                .batch_write_item()
                .set_request_items(Some(request_items))
                .set_return_consumed_capacity(self.return_capacity())
                .send()
                .instrument(span.clone())
                .await
                .map_err(|err| failed(&span, err, at))?;
            record_response(&span, &output, output.consumed_capacity());
            let unprocessed: Vec<(String, String)> = output
                .unprocessed_items
                .unwrap_or_default()
                .into_iter()
                .flat_map(|(table, requests)| {
                    requests.into_iter().filter_map(move |request| {
                        let id = request
                            .put_request()
                            .and_then(|p| p.item().get(EVENT_UUID))
                            .and_then(|v| v.as_s().ok())
                            .cloned()?;
                        Some((table.clone(), id))
                    })
                })
                .collect();
            Ok(puts
                .into_iter()
                .filter(|put| {
                    let id = put.item.get(EVENT_UUID).and_then(|v| v.as_s().ok());
                    unprocessed
                        .iter()
                        .any(|(table, uuid)| *table == put.table && Some(uuid) == id)
                })
                .collect())
        })
    }

    fn get<'a>(
        &'a self,
        table: &'a str,
        _def: &'a TableDef,
        key: Item,
    ) -> BackendFuture<'a, Option<Item>> {
        Box::pin(async move {
            let at = self.call_site("GetItem", table);
            let span = call_span("GetItem", &[table], &self.server);
            let output = self
                .client
                .get_item()
                .table_name(table)
                .set_key(Some(key))
                .set_return_consumed_capacity(self.return_capacity())
                .send()
                .instrument(span.clone())
                .await
                .map_err(|err| failed(&span, err, at))?;
            record_response(&span, &output, output.consumed_capacity());
            Ok(output.item)
        })
    }

    fn batch_get<'a>(
        &'a self,
        table: &'a str,
        def: &'a TableDef,
        keys: Vec<Item>,
    ) -> BackendFuture<'a, BatchGetResponse> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(BatchGetResponse::default());
            }
            let at = self.call_site("BatchGetItem", table);
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .build()
                .map_err(|err| Error::InvalidEvent {
                    event_type: def.event_type,
                    reason: format!("could not build a BatchGetItem request: {err}"),
                })?;
            let span = call_span("BatchGetItem", &[table], &self.server);
            let output = self
                .client
                .batch_get_item()
                .request_items(table, request)
                .set_return_consumed_capacity(self.return_capacity())
                .send()
                .instrument(span.clone())
                .await
                .map_err(|err| failed(&span, err, at))?;
            record_response(&span, &output, output.consumed_capacity());
            let items = output
                .responses
                .unwrap_or_default()
                .into_values()
                .flatten()
                .collect();
            let unprocessed = output
                .unprocessed_keys
                .unwrap_or_default()
                .into_values()
                .flat_map(|keys| keys.keys)
                .collect();
            Ok(BatchGetResponse { items, unprocessed })
        })
    }

    fn query_page<'a>(
        &'a self,
        plan: &'a Plan,
        start: Option<Item>,
    ) -> BackendFuture<'a, PageResponse> {
        Box::pin(self.query_or_scan(plan, start))
    }

    fn transact_write<'a>(
        &'a self,
        request: &'a TransactWrite,
    ) -> BackendFuture<'a, TransactResult> {
        Box::pin(async move {
            let tables = request.tables();
            let at = self.call_site("TransactWriteItems", &tables);
            let items = request
                .items
                .iter()
                .map(sdk_transact_item)
                .collect::<crate::Result<Vec<_>>>()?;
            // One attempt: the transaction layer retries with the same token.
            let result = self
                .single_attempt
                .transact_write_items()
                .set_transact_items(Some(items))
                .set_client_request_token(request.client_request_token.clone())
                .send()
                .await;
            match result {
                Ok(_) => Ok(TransactResult::Committed),
                Err(err) => match err.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => {
                        Ok(TransactResult::Canceled {
                            reasons: canceled
                                .cancellation_reasons()
                                .iter()
                                .map(|reason| CancellationReason {
                                    code: reason.code().unwrap_or("None").to_owned(),
                                    message: reason.message().map(str::to_owned),
                                    item: reason.item().cloned(),
                                })
                                .collect(),
                        })
                    }
                    _ => Err(classify(err, at).into_error(at)),
                },
            }
        })
    }

    fn with_retries_disabled(self: Arc<Self>) -> Arc<dyn Backend> {
        Arc::new(DynamoDb {
            client: self.single_attempt.clone(),
            ..(*self).clone()
        })
    }
}
