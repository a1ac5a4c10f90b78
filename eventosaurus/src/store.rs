//! The [`Store`], the [`Storable`] trait that `#[derive(Storable)]` implements, and the
//! typed outcome of a write.

use std::future::Future;
use std::sync::Arc;

use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::codec::{self, StoredEvent};
use crate::config::{Config, LOOPBACK_DEFAULT_REGION};
use crate::error::{classify, CallSite, Error, Result};
use crate::event_id;
use crate::persist::{
    Context, EventWrite, FailedEvent, FailureHooks, GlobalErrorHook, Memory, Persistor, Synchronous,
};
use crate::table::{TableDef, EVENT_UUID};

/// An event type that can be stored: implemented by `#[derive(Storable)]`.
///
/// ```
/// #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
/// #[eventosaurus(table = "phone_call", partition_key = person_id)]
/// pub struct PhoneCall {
///     pub person_id: u64,
///     pub phone_number: String,
///     pub last_called: String,
/// }
///
/// use eventosaurus::Storable;
/// assert_eq!(PhoneCall::TABLE.name, "phone_call");
/// assert_eq!(PhoneCall::TABLE.full_name("localhost"), "localhost_phone_call");
/// ```
pub trait Storable: Serialize + DeserializeOwned + OnError + Send + Sync + Sized + 'static {
    /// The Rust type of the partition key field.
    type PartitionKey: PartitionKeyValue + Send + Sync;

    /// The table definition.
    const TABLE: &'static TableDef;

    /// The composite string digested into `event_uuid`, or `None` for a random id.
    ///
    /// See [`event_id`](crate::event_id) for the format.
    fn composite_key(&self) -> Option<String>;

    /// The id this event is stored under: derived from the composite key, or random.
    fn event_uuid(&self) -> Uuid {
        match self.composite_key() {
            Some(composite) => event_id::composite_event_uuid(&composite),
            None => event_id::random_event_uuid(),
        }
    }

    /// Reads one event by its partition key and `event_uuid`: see [`Store::get`].
    ///
    /// For everything else, use the query builder the derive generates:
    /// `PhoneCall::query().by_person_id(5).run(&store)` (see [`query`](crate::query)).
    fn get(
        store: &Store,
        partition_key: impl Into<Self::PartitionKey>,
        event_uuid: Uuid,
    ) -> impl Future<Output = Result<Option<StoredEvent<Self>>>> + Send + '_ {
        let partition_key: Self::PartitionKey = partition_key.into();
        store.get::<Self>(partition_key, event_uuid)
    }

    /// Stores the event with a conditional write: see [`Store::store`].
    fn store<'a>(
        &'a self,
        store: &'a Store,
    ) -> impl Future<Output = Result<StoreOutcome>> + Send + 'a {
        store.store(self)
    }

    /// Stores the event without waiting for room in an async queue: see [`Store::try_store`].
    fn try_store<'a>(
        &'a self,
        store: &'a Store,
    ) -> impl Future<Output = Result<StoreOutcome>> + Send + 'a {
        store.try_store(self)
    }
}

/// The per-event-type failure hook: called with an event that could not be stored, whether
/// the failure was synchronous (`store` returned the error) or happened later in an
/// [`AsyncQueue`](crate::persist::AsyncQueue) worker after all retries.
///
/// `#[derive(Storable)]` implements it with the default, which logs through `tracing`. To
/// override it, add `#[eventosaurus(custom_on_error)]` and implement it yourself:
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
/// #[eventosaurus(table = "neat_event", partition_key = location, custom_on_error)]
/// pub struct NeatEvent { pub location: String }
///
/// impl eventosaurus::OnError for NeatEvent {
///     fn on_error(&self, error: &eventosaurus::Error) {
///         eprintln!("could not store the neat event at {}: {error}", self.location);
///     }
/// }
/// ```
pub trait OnError {
    /// Called with the event and the error. The default logs at `error` level.
    fn on_error(&self, error: &Error) {
        tracing::error!(event_type = std::any::type_name::<Self>(), %error, "event could not be stored");
    }
}

/// The typed failure hook of `E`, as a plain function a type-erased write can carry.
fn typed_failure_hook<E: Storable>(failed: &FailedEvent<'_>, error: &Error) {
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

/// A type that can be a partition key: integers (`N`) and strings (`S`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an eventosaurus partition key",
    label = "partition keys must be integers (stored as N) or `String` (stored as S)"
)]
pub trait PartitionKeyValue {
    /// The key as a DynamoDB attribute value.
    fn to_attribute_value(&self) -> AttributeValue;
}

impl PartitionKeyValue for String {
    fn to_attribute_value(&self) -> AttributeValue {
        AttributeValue::S(self.clone())
    }
}

impl PartitionKeyValue for str {
    fn to_attribute_value(&self) -> AttributeValue {
        AttributeValue::S(self.to_owned())
    }
}

macro_rules! integer_keys {
    ($($t:ty),*) => {$(
        impl PartitionKeyValue for $t {
            fn to_attribute_value(&self) -> AttributeValue {
                AttributeValue::N(self.to_string())
            }
        }
    )*};
}
integer_keys!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

/// What a store did. A duplicate is an outcome, not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreOutcome {
    /// The event was written.
    Stored {
        /// The id it was written under.
        event_uuid: Uuid,
        /// Its `created_at`.
        created_at: String,
    },
    /// An event with the same `event_uuid` was already stored; nothing was written.
    Duplicate {
        /// The id that already exists.
        event_uuid: Uuid,
    },
    /// The event was handed to an [`AsyncQueue`](crate::persist::AsyncQueue), which writes
    /// it in the background (as `Stored` or `Duplicate`, or reports it to the failure hooks).
    Enqueued {
        /// The id it will be written under.
        event_uuid: Uuid,
        /// Its `created_at`, fixed at enqueue time.
        created_at: String,
    },
}

impl StoreOutcome {
    /// The event's id, whatever the outcome.
    pub fn event_uuid(&self) -> Uuid {
        match self {
            StoreOutcome::Stored { event_uuid, .. }
            | StoreOutcome::Duplicate { event_uuid }
            | StoreOutcome::Enqueued { event_uuid, .. } => *event_uuid,
        }
    }

    /// Whether the event was a duplicate.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, StoreOutcome::Duplicate { .. })
    }
}

/// The handle for storing and querying events. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: Context,
    environment_prefix: String,
    persistor: Arc<dyn Persistor>,
    global_hook: Option<GlobalErrorHook>,
    /// The AWS configuration the client was built from, when [`Store::connect`] built it:
    /// other clients (DynamoDB Streams) are built from the same region, credentials, endpoint.
    sdk_config: Option<aws_config::SdkConfig>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("environment_prefix", &self.inner.environment_prefix)
            .field("endpoint", &self.inner.ctx.endpoint_label)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects with [`Config::from_env`].
    pub async fn from_env() -> Result<Store> {
        Store::connect(Config::from_env()?).await
    }

    /// Builds the SDK client from `config` and `aws-config`'s usual sources.
    ///
    /// For a loopback endpoint with no configured region or credentials, uses `us-east-1`
    /// and dummy credentials (see [`config`](crate::config)).
    pub async fn connect(config: Config) -> Result<Store> {
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
                let chain = CredentialsProviderChain::first_try(
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
                );
                loader = loader.credentials_provider(chain);
            }
            None => {}
        }
        let sdk_config = loader.load().await;
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
        let mut store = Store::from_parts(
            Client::new(&sdk_config),
            config.environment_prefix,
            endpoint_label,
        );
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
        Store::from_parts(client, config.environment_prefix.clone(), label)
    }

    fn from_parts(client: Client, environment_prefix: String, endpoint_label: String) -> Store {
        Store {
            inner: Arc::new(Inner {
                ctx: Context::new(client, endpoint_label),
                environment_prefix,
                persistor: Arc::new(Synchronous),
                global_hook: None,
                sdk_config: None,
            }),
        }
    }

    /// A test-mode store: events live in memory, no DynamoDB and no network, with the same
    /// semantics (conditional dedup, `created_at` order, queries). Tables need not be created.
    ///
    /// ```
    /// # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
    /// # #[eventosaurus(table = "phone_call", partition_key = person_id)]
    /// # pub struct PhoneCall { pub person_id: u64, pub phone_number: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> eventosaurus::Result<()> {
    /// use eventosaurus::Storable;
    /// let store = eventosaurus::Store::test();
    /// PhoneCall { person_id: 5, phone_number: "555-0100".into() }.store(&store).await?;
    /// let stored = store.events::<PhoneCall>()?;
    /// assert_eq!(stored.len(), 1);
    /// assert_eq!(stored[0].phone_number, "555-0100");
    /// # Ok(()) }
    /// ```
    pub fn test() -> Store {
        // A client that is never used: test mode does no I/O. It points at the discard port.
        let sdk = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::from_static(LOOPBACK_DEFAULT_REGION))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(Credentials::new(
                "test",
                "test",
                None,
                None,
                "eventosaurus-test-mode",
            ))
            .build();
        Store::from_parts(
            Client::from_conf(sdk),
            "test".to_owned(),
            "test mode (in memory)".to_owned(),
        )
        .with_persistor(Memory::new())
    }

    /// This store with another persistor (same client, prefix and hooks).
    pub fn with_persistor(&self, persistor: impl Persistor) -> Store {
        Store {
            inner: Arc::new(Inner {
                ctx: self.inner.ctx.clone(),
                environment_prefix: self.inner.environment_prefix.clone(),
                persistor: Arc::new(persistor),
                global_hook: self.inner.global_hook.clone(),
                sdk_config: self.inner.sdk_config.clone(),
            }),
        }
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
                ctx: self.inner.ctx.clone(),
                environment_prefix: self.inner.environment_prefix.clone(),
                persistor: self.inner.persistor.clone(),
                global_hook: Some(Arc::new(hook)),
                sdk_config: self.inner.sdk_config.clone(),
            }),
        }
    }

    /// The in-memory backend, for a [`Store::test`] store.
    pub fn memory(&self) -> Option<&Memory> {
        self.inner.persistor.as_memory()
    }

    /// Every stored event of type `E`, in write order: for asserting in tests what a test-mode
    /// store received. Fails with [`Error::NotTestMode`] on a DynamoDB-backed store.
    pub fn events<E: Storable>(&self) -> Result<Vec<StoredEvent<E>>> {
        let memory = self.memory().ok_or(Error::NotTestMode)?;
        let table = self.table_name(E::TABLE);
        memory
            .items(&table)
            .into_iter()
            .map(|item| codec::decode(item, &table))
            .collect()
    }

    /// The client and endpoint persistors write through.
    pub fn persist_context(&self) -> &Context {
        &self.inner.ctx
    }

    /// The underlying `aws-sdk-dynamodb` client, for anything eventosaurus does not cover.
    pub fn client(&self) -> &Client {
        &self.inner.ctx.client
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

    pub(crate) fn call_site<'a>(&'a self, operation: &'static str, table: &'a str) -> CallSite<'a> {
        self.inner.ctx.call_site(operation, table)
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
        let created_at = event_id::created_at_now();
        let item = match codec::encode(event, &table_name, &event_uuid, &created_at) {
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
            persistor.try_persist(&self.inner.ctx, write).await
        } else {
            persistor.persist(&self.inner.ctx, write).await
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
        let at = self.call_site("GetItem", &table);
        let key = partition_key.into().to_attribute_value();
        let event_uuid_value = AttributeValue::S(event_uuid.hyphenated().to_string());
        if let Some(memory) = self.memory() {
            let found = memory.items(&table).into_iter().find(|item| {
                item.get(EVENT_UUID) == Some(&event_uuid_value)
                    && item
                        .get(def.partition_key)
                        .is_some_and(|v| crate::persist::memory::same_value(v, &key))
            });
            return found.map(|item| codec::decode(item, &table)).transpose();
        }
        let output = self
            .client()
            .get_item()
            .table_name(&table)
            .key(def.partition_key, key)
            .key(EVENT_UUID, event_uuid_value)
            .send()
            .await
            .map_err(|err| classify(err, at).into_error(at))?;
        output
            .item
            .map(|item| codec::decode(item, &table))
            .transpose()
    }
}
