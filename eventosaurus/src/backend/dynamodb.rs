//! The DynamoDB backend: one `aws-sdk-dynamodb` request per call.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, PutRequest, ReturnValuesOnConditionCheckFailure,
    Select as SdkSelect, WriteRequest,
};
use aws_sdk_dynamodb::Client;

use super::{Backend, BackendFuture, BatchGetResponse, BatchPut, PageResponse, PutOutcome};
use crate::codec::Item;
use crate::config::{Config, LOOPBACK_DEFAULT_REGION};
use crate::error::{classify, CallSite, Error};
use crate::plan::{Operation, Plan, Select};
use crate::schema::{TableDef, EVENT_UUID};

/// The condition that makes the first write of an `event_uuid` win.
pub const PUT_CONDITION: &str = "attribute_not_exists(event_uuid)";

/// Amazon DynamoDB (or DynamoDB Local) through an SDK client.
#[derive(Debug, Clone)]
pub struct DynamoDb {
    client: Client,
    /// The same client with the SDK's retries off, for the conditional put: one attempt per
    /// call, so that the persistor retrying it knows whether an earlier attempt may have
    /// landed.
    single_attempt: Client,
    endpoint_label: String,
}

impl DynamoDb {
    /// A backend for `client`; `endpoint_label` names where it points in error messages.
    pub fn new(client: Client, endpoint_label: impl Into<String>) -> DynamoDb {
        DynamoDb {
            single_attempt: without_retries(&client),
            client,
            endpoint_label: endpoint_label.into(),
        }
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
        DynamoDb::new(Client::new(&sdk_config), endpoint_label)
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
        let select = counting_only.then_some(SdkSelect::Count);
        let names: Option<HashMap<String, String>> = (!plan.expressions.names.is_empty())
            .then(|| plan.expressions.names.clone().into_iter().collect());
        let values: Option<HashMap<String, AttributeValue>> = (!plan.expressions.values.is_empty())
            .then(|| plan.expressions.values.clone().into_iter().collect());
        let limit = plan.page_size.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        let (items, count, scanned, last_evaluated_key) = match plan.operation {
            Operation::Query => {
                let output = self
                    .client
                    .query()
                    .table_name(&plan.table)
                    .set_index_name(plan.index.clone())
                    .set_key_condition_expression(plan.expressions.key_condition_expression.clone())
                    .set_filter_expression(plan.expressions.filter_expression.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    // Only what differs from DynamoDB's defaults, so the request is the
                    // one a hand-written Query would send.
                    .set_scan_index_forward(plan.descending.then_some(false))
                    .set_consistent_read(plan.consistent_read.then_some(true))
                    .set_limit(limit)
                    .set_select(select)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|err| classify(err, at).into_error(at))?;
                (
                    output.items,
                    output.count,
                    output.scanned_count,
                    output.last_evaluated_key,
                )
            }
            Operation::Scan => {
                let output = self
                    .client
                    .scan()
                    .table_name(&plan.table)
                    .set_index_name(plan.index.clone())
                    .set_filter_expression(plan.expressions.filter_expression.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_consistent_read(plan.consistent_read.then_some(true))
                    .set_limit(limit)
                    .set_select(select)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|err| classify(err, at).into_error(at))?;
                (
                    output.items,
                    output.count,
                    output.scanned_count,
                    output.last_evaluated_key,
                )
            }
        };
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
                .send()
                .await;
            match result {
                Ok(_) => Ok(PutOutcome::Written),
                Err(err) => match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(refused)) => {
                        Ok(PutOutcome::Exists {
                            existing: refused.item().cloned(),
                        })
                    }
                    _ => Err(classify(err, at).into_error(at)),
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
            let output = self
                .client
                .batch_write_item()
                .set_request_items(Some(request_items))
                .send()
                .await
                .map_err(|err| classify(err, at).into_error(at))?;
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
            let output = self
                .client
                .get_item()
                .table_name(table)
                .set_key(Some(key))
                .send()
                .await
                .map_err(|err| classify(err, at).into_error(at))?;
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
            let output = self
                .client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|err| classify(err, at).into_error(at))?;
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

    fn with_retries_disabled(self: Arc<Self>) -> Arc<dyn Backend> {
        Arc::new(DynamoDb {
            client: self.single_attempt.clone(),
            single_attempt: self.single_attempt.clone(),
            endpoint_label: self.endpoint_label.clone(),
        })
    }
}
