//! The table functions: create, describe, delete, list and check, against DynamoDB.
//!
//! The definitions they work from are plain data in [`schema`](crate::schema), re-exported
//! here: [`TableDef`] and the [`TableSpec`] that [`create_table`] sends and [`drift`]
//! compares live tables with, difference by difference ([`Drift`]).
//!
//! Two parts: the admin calls that talk to DynamoDB (`admin`; `indexes`, which adds global
//! secondary indexes to existing tables; `ttl`, which turns on the time to live; all sharing
//! one wait-for-status helper) and the [`drift`] comparison, which is pure.

mod admin;
mod drift;
mod indexes;
mod sdk;
mod ttl;

pub use crate::schema::*;
pub use admin::{
    check_table, create_table, create_table_with_stream, create_tables, delete_table,
    describe_table, describe_table_named, ensure_table, list_tables, wait_until_active,
    wait_until_deleted, CreateOutcome, TableReady, ACTIVE_TIMEOUT, DELETED_TIMEOUT,
};
pub use drift::{drift, time_to_live_drift, Drift, KeyAttribute, ScalarType};
pub use indexes::{add_missing_indexes, IndexProgress, INDEX_ACTIVE_TIMEOUT};
pub use ttl::{describe_time_to_live, enable_time_to_live, TtlOutcome};
