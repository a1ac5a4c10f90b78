//! Table definitions and the table functions (create, describe, delete, list, check).
//!
//! Each event type has one [`TableDef`]: plain data that the derive emits as a constant. The
//! table in DynamoDB is named `<environment_prefix>_<table>` and has
//!
//! * hash key: the declared partition key (`N` for integers, `S` for strings);
//! * range key: `event_uuid` (`S`);
//! * a local secondary index [`CREATED_AT_INDEX`] on (partition key, `created_at`),
//!   projecting all attributes, so time-range queries within a partition are Queries;
//! * on-demand billing unless asked otherwise.
//!
//! [`TableSpec`] is that CreateTable request as typed data: `describe-tables` prints it,
//! [`create_table`] sends it, and [`drift`] compares a live table with it, difference by
//! difference ([`Drift`]).
//!
//! The module has three parts: the schema as pure data (`schema`: definitions, specs,
//! names and constants), the [`drift`] comparison (pure as well), and the admin calls that
//! talk to DynamoDB (`admin`).

mod admin;
mod drift;
mod schema;

pub use admin::{
    create_table, create_tables, delete_table, describe_table, describe_table_named, list_tables,
    wait_until_active, wait_until_deleted, CreateOutcome, ACTIVE_TIMEOUT, DELETED_TIMEOUT,
};
pub use drift::{drift, Drift, KeyAttribute};
pub use schema::{
    in_environment, AttributeDef, AttributeSpec, AttributeType, Billing, BillingMode, IndexSpec,
    KeyAttributeType, KeySchemaSpec, KeyType, ProjectionSpec, ProjectionType, TableDef, TableSpec,
    ThroughputSpec, CREATED_AT, CREATED_AT_INDEX, EVENT_UUID,
};
