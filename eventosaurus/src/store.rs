//! The [`Store`]: the handle users hold. Configuration, a [`Backend`], a [`Persistor`] and
//! the failure hooks.

use std::future::Future;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use uuid::Uuid;

use crate::backend::{collect_items, Backend, BackendSource, DynamoDb, Memory};
use crate::codec;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::{CreatedAt, EventStore, PartitionKeyValue, Storable, StoreOutcome, StoredEvent};
use crate::persist::{
    EventWrite, FailedEvent, FailureHooks, GlobalErrorHook, Persistor, Synchronous,
};
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
        let dynamodb = DynamoDb::from_sdk_config(&sdk_config, config.endpoint.as_deref());
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
            DynamoDb::new(client, label),
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
        let mut item = codec::encode(event, table_name, event_uuid, created_at)?;
        if let Some(source) = &self.inner.source {
            codec::stamp_source(&mut item, source, E::TABLE.event_type, table_name)?;
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
    /// a millisecond in test mode): for asserting in tests what a store received.
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
        event.on_error(error);
        if let Some(hook) = &self.inner.global_hook {
            hook(
                &FailedEvent {
                    table: E::TABLE,
                    table_name,
                    item,
                    event_uuid,
                },
                error,
            );
        }
    }

    /// Reads one event by its partition key and `event_uuid` (GetItem).
    pub async fn get<E: Storable>(
        &self,
        partition_key: impl Into<E::PartitionKey>,
        event_uuid: Uuid,
    ) -> Result<Option<StoredEvent<E>>> {
        let def = E::TABLE;
        let table = self.table_name(def);
        let mut key = codec::Item::with_capacity(2);
        key.insert(
            def.partition_key.to_owned(),
            partition_key.into().to_attribute_value(),
        );
        key.insert(
            EVENT_UUID.to_owned(),
            AttributeValue::S(event_uuid.hyphenated().to_string()),
        );
        let found = self.inner.backend.get(&table, def, key).await?;
        found.map(|item| codec::decode(item, &table)).transpose()
    }
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
