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
use crate::error::{classify, CallSite, Result};
use crate::event_id;
use crate::persist;
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
pub trait Storable: Serialize + DeserializeOwned + Send + Sync + Sized + 'static {
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
}

impl StoreOutcome {
    /// The event's id, whatever the outcome.
    pub fn event_uuid(&self) -> Uuid {
        match self {
            StoreOutcome::Stored { event_uuid, .. } | StoreOutcome::Duplicate { event_uuid } => {
                *event_uuid
            }
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
    client: Client,
    environment_prefix: String,
    endpoint_label: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("environment_prefix", &self.inner.environment_prefix)
            .field("endpoint", &self.inner.endpoint_label)
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
        Ok(Store::from_parts(
            Client::new(&sdk_config),
            config.environment_prefix,
            endpoint_label,
        ))
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
                client,
                environment_prefix,
                endpoint_label,
            }),
        }
    }

    /// The underlying `aws-sdk-dynamodb` client, for anything eventosaurus does not cover.
    pub fn client(&self) -> &Client {
        &self.inner.client
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
        CallSite {
            operation,
            table,
            endpoint: &self.inner.endpoint_label,
        }
    }

    /// Stores an event: assigns `event_uuid` and `created_at`, then writes it with
    /// `attribute_not_exists(event_uuid)`, so a second write of the same id is a
    /// [`StoreOutcome::Duplicate`] and never overwrites the first.
    pub async fn store<E: Storable>(&self, event: &E) -> Result<StoreOutcome> {
        let table = self.table_name(E::TABLE);
        let event_uuid = event.event_uuid();
        let created_at = event_id::created_at_now();
        let item = codec::encode(event, &table, &event_uuid, &created_at)?;
        persist::sync::put_if_absent(self, &table, item, event_uuid, created_at).await
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
        let output = self
            .client()
            .get_item()
            .table_name(&table)
            .key(def.partition_key, key)
            .key(
                EVENT_UUID,
                AttributeValue::S(event_uuid.hyphenated().to_string()),
            )
            .send()
            .await
            .map_err(|err| classify(err, at).into_error(at))?;
        output
            .item
            .map(|item| codec::decode(item, &table))
            .transpose()
    }
}
