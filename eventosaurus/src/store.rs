//! The [`Store`]: the handle users hold. Configuration, a [`Backend`], a [`Persistor`] and
//! the failure hooks.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use uuid::Uuid;

use crate::backend::{
    collect_items, key_identity, Backend, BackendSource, DynamoDb, KeyIdentity, Memory,
    MAX_BATCH_GET_KEYS,
};
use crate::codec;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::{CreatedAt, EventStore, PartitionKeyValue, Storable, StoreOutcome, StoredEvent};
use crate::persist::{
    run_hook, Backoff, EventWrite, FailedEvent, FailureHooks, GlobalErrorHook, Persistor,
    Synchronous,
};
use crate::plan::expiry::is_expired;
use crate::plan::{Plan, QueryOptions, Select};
use crate::schema::{TableDef, EVENT_UUID};

/// The typed failure hook of `E`, as a plain function a type-erased write can carry.
pub(crate) fn typed_failure_hook<E: Storable>(failed: &FailedEvent<'_>, error: &Error) {
    match failed.decode::<E>() {
        Ok(stored) => stored.event.on_error(error),
        Err(decode_error) => tracing::error!(
            event_type = E::TABLE.event_type,
            event_uuid = %failed.event_uuid,
            %error,
            %decode_error,
            "event could not be stored, and could not be decoded for its on_error hook"
        ),
    }
}

/// The handle for storing and querying events. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn Backend>,
    /// The SDK client, when the backend is DynamoDB (for table administration).
    client: Option<Client>,
    environment_prefix: String,
    persistor: Arc<dyn Persistor>,
    global_hook: Option<GlobalErrorHook>,
    /// Stored with each event as `event_source`, when configured.
    source: Option<String>,
    /// The AWS configuration the client was built from, when [`Store::connect`] built it:
    /// other clients (DynamoDB Streams) are built from the same region, credentials, endpoint.
    sdk_config: Option<aws_config::SdkConfig>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("environment_prefix", &self.inner.environment_prefix)
            .field("backend", &self.inner.backend.label())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// How many `BatchGetItem` requests in a row may leave every key unprocessed before
    /// [`get_many`](Store::get_many) gives up.
    pub const GET_MANY_ATTEMPTS: u32 = 10;

    /// Connects with [`Config::from_env`].
    pub async fn from_env() -> Result<Store> {
        Store::connect(Config::from_env()?).await
    }

    /// Connects to DynamoDB with `config` and `aws-config`'s usual sources.
    ///
    /// For a loopback endpoint with no configured region or credentials, uses `us-east-1`
    /// and dummy credentials (see [`config`](crate::config)).
    pub async fn connect(config: Config) -> Result<Store> {
        let sdk_config = DynamoDb::sdk_config(&config).await;
        let dynamodb = DynamoDb::from_sdk_config(&sdk_config, &config);
        let mut store = Store::with_dynamodb(dynamodb, config.environment_prefix, config.source);
        if let Some(inner) = Arc::get_mut(&mut store.inner) {
            inner.sdk_config = Some(sdk_config);
        }
        Ok(store)
    }

    /// Wraps an SDK client you built yourself; `config` supplies the environment prefix.
    pub fn with_client(client: Client, config: &Config) -> Store {
        let label = config
            .endpoint()
            .unwrap_or("the client's configured endpoint")
            .to_owned();
        Store::with_dynamodb(
            DynamoDb::new(client, label)
                .report_consumed_capacity(config.reports_consumed_capacity()),
            config.environment_prefix.clone(),
            config.source.clone(),
        )
    }

    fn with_dynamodb(
        dynamodb: DynamoDb,
        environment_prefix: String,
        source: Option<String>,
    ) -> Store {
        let client = dynamodb.client().clone();
        let mut store = Store::with_backend(Arc::new(dynamodb), environment_prefix);
        if let Some(inner) = Arc::get_mut(&mut store.inner) {
            inner.client = Some(client);
            inner.source = source;
        }
        store
    }

    /// A store over any [`Backend`], with the [`Synchronous`] persistor.
    ///
    /// The environment prefix is taken as given (validate it with [`Config`] first if it
    /// comes from outside).
    pub fn with_backend(backend: Arc<dyn Backend>, environment_prefix: impl Into<String>) -> Store {
        Store {
            inner: Arc::new(Inner {
                backend,
                client: None,
                environment_prefix: environment_prefix.into(),
                persistor: Arc::new(Synchronous),
                global_hook: None,
                source: None,
                sdk_config: None,
            }),
        }
    }

    /// A test-mode store: events live in memory ([`Memory`]), no DynamoDB and no network,
    /// with the same semantics (conditional dedup, `created_at` order, queries), through the
    /// same persistors and query executor. Tables need not be created.
    ///
    /// ```
    /// # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
    /// # #[eventosaurus(table = "phone_call", partition_key = person_id)]
    /// # pub struct PhoneCall { pub person_id: u64, pub phone_number: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> eventosaurus::Result<()> {
    /// use eventosaurus::Storable;
    /// let store = eventosaurus::Store::test();
    /// PhoneCall { person_id: 5, phone_number: "555-0100".into() }.store(&store).await?;
    /// let stored = store.events::<PhoneCall>().await?;
    /// assert_eq!(stored.len(), 1);
    /// assert_eq!(stored[0].phone_number, "555-0100");
    /// # Ok(()) }
    /// ```
    pub fn test() -> Store {
        Store::with_backend(Arc::new(Memory::new()), "test")
    }

    /// This store with another persistor (same client, prefix and hooks).
    pub fn with_persistor(&self, persistor: impl Persistor) -> Store {
        Store {
            inner: Arc::new(Inner {
                backend: self.inner.backend.clone(),
                client: self.inner.client.clone(),
                environment_prefix: self.inner.environment_prefix.clone(),
                persistor: Arc::new(persistor),
                global_hook: self.inner.global_hook.clone(),
                source: self.inner.source.clone(),
                sdk_config: self.inner.sdk_config.clone(),
            }),
        }
    }

    /// This store with a source: the service's name, stored with each event it writes as
    /// `event_source` (see [`Config::source`]; [`Store::connect`] takes it from the
    /// configuration). [`Error::InvalidSource`] if it is empty, longer than 256 characters
    /// or contains whitespace.
    pub fn with_source(&self, source: impl Into<String>) -> Result<Store> {
        let source = source.into();
        crate::config::validate_source(&source).map_err(|reason| Error::InvalidSource {
            value: source.clone(),
            source_name: "Store::with_source",
            reason,
        })?;
        Ok(Store {
            inner: Arc::new(Inner {
                backend: self.inner.backend.clone(),
                client: self.inner.client.clone(),
                environment_prefix: self.inner.environment_prefix.clone(),
                persistor: self.inner.persistor.clone(),
                global_hook: self.inner.global_hook.clone(),
                source: Some(source),
                sdk_config: self.inner.sdk_config.clone(),
            }),
        })
    }

    /// The source stored with each event, if one is configured.
    pub fn source(&self) -> Option<&str> {
        self.inner.source.as_deref()
    }

    /// Encodes an event as this store writes it: the codec's item, plus `event_source` when
    /// a source is configured.
    pub(crate) fn encode<E: Storable>(
        &self,
        event: &E,
        table_name: &str,
        event_uuid: &Uuid,
        created_at: &CreatedAt,
    ) -> Result<codec::Item> {
        let (mut item, size) = codec::encode_sized(event, table_name, event_uuid, created_at)?;
        if let Some(source) = &self.inner.source {
            codec::stamp_source(&mut item, size, source, E::TABLE.event_type, table_name)?;
        }
        Ok(item)
    }

    /// This store with a store-wide failure hook, called (after the event type's
    /// [`OnError::on_error`]) for every event that could not be stored, synchronously or in
    /// an async queue.
    pub fn with_error_hook(
        &self,
        hook: impl Fn(&FailedEvent<'_>, &Error) + Send + Sync + 'static,
    ) -> Store {
        Store {
            inner: Arc::new(Inner {
                backend: self.inner.backend.clone(),
                client: self.inner.client.clone(),
                environment_prefix: self.inner.environment_prefix.clone(),
                persistor: self.inner.persistor.clone(),
                global_hook: Some(Arc::new(hook)),
                source: self.inner.source.clone(),
                sdk_config: self.inner.sdk_config.clone(),
            }),
        }
    }

    /// Every stored event of type `E`, oldest first (by `created_at`; in write order within
    /// a millisecond in test mode): for asserting in tests what a store received. Expired
    /// events are left out, as queries leave them out.
    ///
    /// It is a consistent Scan of the event type's table, through the backend: on DynamoDB
    /// it reads the whole table, so keep it for tests and small tables.
    pub async fn events<E: Storable>(&self) -> Result<Vec<StoredEvent<E>>> {
        let options = QueryOptions {
            allow_scan: true,
            consistent_read: true,
            ..QueryOptions::default()
        };
        let plan = Plan::build(
            E::TABLE,
            &self.inner.environment_prefix,
            &[],
            &options,
            Select::Items,
        )?;
        let items = collect_items(self.inner.backend.clone(), plan).await?;
        let table = self.table_name(E::TABLE);
        let mut events = items
            .into_iter()
            .map(|item| codec::decode(item, &table))
            .collect::<Result<Vec<StoredEvent<E>>>>()?;
        events.sort_by_key(|event| event.created_at);
        Ok(events)
    }

    /// The store-wide failure hook, if one was set.
    pub(crate) fn error_hook(&self) -> Option<&GlobalErrorHook> {
        self.inner.global_hook.as_ref()
    }

    /// The backend every read and write goes through.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    /// The underlying `aws-sdk-dynamodb` client, for anything eventosaurus does not cover.
    /// [`Error::NotDynamoDb`] for a store over another backend (test mode).
    pub fn client(&self) -> Result<&Client> {
        self.inner.client.as_ref().ok_or(Error::NotDynamoDb {
            backend: self.inner.backend.label().to_owned(),
        })
    }

    pub(crate) fn call_site<'a>(
        &'a self,
        operation: &'static str,
        table: &'a str,
    ) -> crate::error::CallSite<'a> {
        crate::error::CallSite {
            operation,
            table,
            endpoint: self.inner.backend.label(),
        }
    }

    /// The AWS configuration (region, credentials, endpoint) the client was built from, when
    /// [`Store::connect`] built it; `None` for [`Store::with_client`] and [`Store::test`].
    /// The stream consumer builds its DynamoDB Streams client from it.
    pub fn sdk_config(&self) -> Option<&aws_config::SdkConfig> {
        self.inner.sdk_config.as_ref()
    }

    /// The environment prefix of every table this store touches.
    pub fn environment_prefix(&self) -> &str {
        &self.inner.environment_prefix
    }

    /// The full table name of a definition in this store's environment.
    pub fn table_name(&self, def: &TableDef) -> String {
        def.full_name(&self.inner.environment_prefix)
    }

    /// Stores an event: assigns `event_uuid` and `created_at`, then hands it to the
    /// persistor. The default persistor writes it with `attribute_not_exists(event_uuid)`,
    /// so a second write of the same id is a [`StoreOutcome::Duplicate`] and never
    /// overwrites the first. An [`AsyncQueue`](crate::persist::AsyncQueue) returns
    /// [`StoreOutcome::Enqueued`], waiting for room when the queue is full.
    ///
    /// On failure the event type's [`OnError::on_error`] and the store's error hook are
    /// called, then the error is returned.
    pub async fn store<E: Storable>(&self, event: &E) -> Result<StoreOutcome> {
        self.store_with(event, false).await
    }

    /// Like [`store`](Self::store), but an async queue that is full returns
    /// [`Error::QueueFull`] instead of waiting (the failure hooks are not called for it).
    pub async fn try_store<E: Storable>(&self, event: &E) -> Result<StoreOutcome> {
        self.store_with(event, true).await
    }

    async fn store_with<E: Storable>(&self, event: &E, try_only: bool) -> Result<StoreOutcome> {
        let table_name = self.table_name(E::TABLE);
        let event_uuid = event.event_uuid();
        let created_at = CreatedAt::now();
        let item = match self.encode(event, &table_name, &event_uuid, &created_at) {
            Ok(item) => item,
            Err(error) => {
                self.report_sync_failure(event, &table_name, None, event_uuid, &error);
                return Err(error);
            }
        };
        // The store-wide hook wants the item on failure; keep a copy only if there is one.
        let kept_for_hook = self.inner.global_hook.as_ref().map(|_| item.clone());
        let write = EventWrite {
            table: E::TABLE,
            table_name,
            item,
            event_uuid,
            created_at,
            hooks: FailureHooks {
                typed: Some(typed_failure_hook::<E>),
                global: self.inner.global_hook.clone(),
            },
        };
        let table_name = if kept_for_hook.is_some() {
            write.table_name.clone()
        } else {
            String::new()
        };
        let persistor = &self.inner.persistor;
        let result = if try_only {
            persistor
                .try_persist(self.inner.backend.as_ref(), write)
                .await
        } else {
            persistor.persist(self.inner.backend.as_ref(), write).await
        };
        if let Err(error) = &result {
            if !matches!(error, Error::QueueFull { .. }) {
                self.report_sync_failure(
                    event,
                    &table_name,
                    kept_for_hook.as_ref(),
                    event_uuid,
                    error,
                );
            }
        }
        result
    }

    fn report_sync_failure<E: Storable>(
        &self,
        event: &E,
        table_name: &str,
        item: Option<&codec::Item>,
        event_uuid: Uuid,
        error: &Error,
    ) {
        // Hooks run under catch_unwind, as in the async queue: a panicking hook is logged and
        // neither skips the other hook nor replaces the error `store` returns.
        let failed = FailedEvent {
            table: E::TABLE,
            table_name,
            item,
            event_uuid,
        };
        run_hook("on_error", &failed, || event.on_error(error));
        if let Some(hook) = &self.inner.global_hook {
            run_hook("error hook", &failed, || hook(&failed, error));
        }
    }

    /// Reads one event by its partition key and `event_uuid` (GetItem).
    ///
    /// An event whose time to live has passed is `None`, even before DynamoDB deletes it
    /// (which it does lazily); to read one anyway, query for it with
    /// [`include_expired`](crate::query::Query::include_expired).
    pub async fn get<E: Storable>(
        &self,
        partition_key: impl Into<E::PartitionKey>,
        event_uuid: Uuid,
    ) -> Result<Option<StoredEvent<E>>> {
        let def = E::TABLE;
        let table = self.table_name(def);
        let key = key_item(def, partition_key.into(), event_uuid);
        let found = self.inner.backend.get(&table, def, key).await?;
        found
            .filter(|item| !is_expired(def, item))
            .map(|item| codec::decode(item, &table))
            .transpose()
    }

    /// Reads many events by their keys (partition key and `event_uuid`) with `BatchGetItem`.
    ///
    /// * **Order:** the events come in the order of `keys`. A key with no event is simply
    ///   absent (no error, no placeholder); a key given twice yields its event once, at its
    ///   first position.
    /// * **Requests:** DynamoDB takes at most 100 keys per request
    ///   ([`MAX_BATCH_GET_KEYS`](crate::backend::MAX_BATCH_GET_KEYS)): larger inputs are split and sent one request after the
    ///   other. Keys DynamoDB leaves unprocessed (`UnprocessedKeys`: throttling, or a
    ///   response over 16 MB) are sent again after an exponential backoff with jitter
    ///   ([`Backoff`]); the backoff starts over whenever a request makes progress. If
    ///   [`GET_MANY_ATTEMPTS`](Store::GET_MANY_ATTEMPTS) requests in a row make none, the result is
    ///   [`Error::Throttled`].
    /// * **Consistency:** eventually consistent reads, like [`get`](Store::get).
    /// * **Expiry:** an event whose time to live has passed is left out, like a missing one.
    ///
    /// ```
    /// # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
    /// # #[eventosaurus(table = "phone_call", partition_key = person_id)]
    /// # pub struct PhoneCall { pub person_id: u64, pub phone_number: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> eventosaurus::Result<()> {
    /// use eventosaurus::{Storable, StoreOutcome, Uuid};
    /// let store = eventosaurus::Store::test();
    /// let mut ids = Vec::new();
    /// for person_id in [1u64, 2] {
    ///     let event = PhoneCall { person_id, phone_number: "555-0100".into() };
    ///     if let StoreOutcome::Stored { event_uuid, .. } = event.store(&store).await? {
    ///         ids.push((person_id, event_uuid));
    ///     }
    /// }
    /// let keys = [ids[1], (3, Uuid::new_v4()), ids[0]]; // the middle one does not exist
    /// let found = store.get_many::<PhoneCall, _>(keys).await?;
    /// let persons: Vec<u64> = found.iter().map(|e| e.person_id).collect();
    /// assert_eq!(persons, [2, 1]);
    /// # Ok(()) }
    /// ```
    pub async fn get_many<E: Storable, K: Into<E::PartitionKey>>(
        &self,
        keys: impl IntoIterator<Item = (K, Uuid)>,
    ) -> Result<Vec<StoredEvent<E>>> {
        let def = E::TABLE;
        let table = self.table_name(def);
        // Distinct keys in the order given (BatchGetItem refuses a request with a key twice).
        let mut order: Vec<KeyIdentity> = Vec::new();
        let mut distinct: Vec<codec::Item> = Vec::new();
        let mut seen: HashSet<KeyIdentity> = HashSet::new();
        for (partition_key, event_uuid) in keys {
            let key = key_item(def, partition_key.into(), event_uuid);
            let identity = key_identity(def, &key);
            if seen.insert(identity.clone()) {
                order.push(identity);
                distinct.push(key);
            }
        }
        let mut found: HashMap<KeyIdentity, codec::Item> = HashMap::with_capacity(order.len());
        let mut rest = distinct.into_iter();
        loop {
            let chunk: Vec<codec::Item> = rest.by_ref().take(MAX_BATCH_GET_KEYS).collect();
            if chunk.is_empty() {
                break;
            }
            self.batch_get_all(&table, def, chunk, &mut found).await?;
        }
        order
            .iter()
            .filter_map(|identity| found.remove(identity))
            .filter(|item| !is_expired(def, item))
            .map(|item| codec::decode(item, &table))
            .collect()
    }

    /// Sends one chunk of keys, and its unprocessed keys again until none are left.
    async fn batch_get_all(
        &self,
        table: &str,
        def: &'static TableDef,
        mut keys: Vec<codec::Item>,
        found: &mut HashMap<KeyIdentity, codec::Item>,
    ) -> Result<()> {
        let new_backoff = || {
            Backoff::new(
                Store::GET_MANY_ATTEMPTS,
                GET_MANY_BACKOFF,
                GET_MANY_MAX_BACKOFF,
            )
        };
        let mut backoff = new_backoff();
        loop {
            let sent = keys.len();
            let response = self.inner.backend.batch_get(table, def, keys).await?;
            let progress = !response.items.is_empty() || response.unprocessed.len() < sent;
            for item in response.items {
                found.insert(key_identity(def, &item), item);
            }
            if response.unprocessed.is_empty() {
                return Ok(());
            }
            keys = response.unprocessed;
            if progress {
                backoff = new_backoff();
            }
            tracing::debug!(
                table,
                unprocessed = keys.len(),
                attempt = backoff.attempt(),
                "BatchGetItem left keys unprocessed; retrying them"
            );
            if !backoff.wait().await {
                return Err(Error::Throttled {
                    operation: "BatchGetItem",
                    table: table.to_owned(),
                    source: format!(
                        "{} keys still unprocessed after {} requests without progress",
                        keys.len(),
                        Store::GET_MANY_ATTEMPTS
                    )
                    .into(),
                });
            }
        }
    }
}

const GET_MANY_BACKOFF: Duration = Duration::from_millis(50);
const GET_MANY_MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The key item (partition key and `event_uuid` attributes) of an event of `def`'s table.
fn key_item(
    def: &TableDef,
    partition_key: impl PartitionKeyValue,
    event_uuid: Uuid,
) -> codec::Item {
    let mut key = codec::Item::with_capacity(2);
    key.insert(
        def.partition_key.to_owned(),
        partition_key.to_attribute_value(),
    );
    key.insert(
        EVENT_UUID.to_owned(),
        AttributeValue::S(event_uuid.hyphenated().to_string()),
    );
    key
}

impl BackendSource for Store {
    fn shared_backend(&self) -> Arc<dyn Backend> {
        self.inner.backend.clone()
    }
}

impl EventStore for Store {
    fn store_event<'a, E: Storable>(
        &'a self,
        event: &'a E,
    ) -> impl Future<Output = Result<StoreOutcome>> + Send + 'a {
        self.store(event)
    }

    fn try_store_event<'a, E: Storable>(
        &'a self,
        event: &'a E,
    ) -> impl Future<Output = Result<StoreOutcome>> + Send + 'a {
        self.try_store(event)
    }

    fn get_event<E: Storable>(
        &self,
        partition_key: E::PartitionKey,
        event_uuid: Uuid,
    ) -> impl Future<Output = Result<Option<StoredEvent<E>>>> + Send + '_ {
        self.get::<E>(partition_key, event_uuid)
    }
}
