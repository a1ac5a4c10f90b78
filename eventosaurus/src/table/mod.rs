//! The table functions: create, describe, delete, list and check, against DynamoDB.
//!
//! The definitions they work from are plain data in [`schema`](crate::schema), re-exported
//! here: [`TableDef`] and the [`TableSpec`] that [`create_table`] sends and [`drift`]
//! compares live tables with, difference by difference ([`Drift`]).
//!
//! Two parts: the admin calls that talk to DynamoDB (`admin`, sharing one wait-for-status
//! helper) and the [`drift`] comparison, which is pure.

mod admin;
mod drift;
mod sdk;

pub use crate::schema::*;
pub use admin::{
    create_table, create_table_with_stream, create_tables, delete_table, describe_table,
    describe_table_named, list_tables, wait_until_active, wait_until_deleted, CreateOutcome,
    ACTIVE_TIMEOUT, DELETED_TIMEOUT,
};
pub use drift::{drift, Drift, KeyAttribute, ScalarType};
