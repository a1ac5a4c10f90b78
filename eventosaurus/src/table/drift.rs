//! Drift: how a live table differs from its definition.

use aws_sdk_dynamodb::types::{KeySchemaElement, ProjectionType, TableDescription};
use serde::Serialize;

use super::schema::{KeySchemaSpec, TableSpec};

/// One way a live table differs from its definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "drift", rename_all = "snake_case")]
pub enum Drift {
    /// The table does not exist.
    MissingTable,
    /// The key schema or key attribute types differ.
    WrongKeySchema {
        /// What the definition expects, e.g. `person_id HASH N, event_uuid RANGE S`.
        expected: String,
        /// What the live table has.
        actual: String,
    },
    /// The `created_at` LSI is missing or has another key schema or projection.
    MissingCreatedAtIndex,
}

/// Compares a live table with the definition. An empty list means no drift.
pub fn drift(spec: &TableSpec, live: Option<&TableDescription>) -> Vec<Drift> {
    let Some(live) = live else {
        return vec![Drift::MissingTable];
    };
    let type_of = |name: &str| {
        live.attribute_definitions()
            .iter()
            .find(|a| a.attribute_name() == name)
            .map(|a| a.attribute_type().as_str().to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };
    let render_live = |keys: &[KeySchemaElement]| {
        keys.iter()
            .map(|k| {
                format!(
                    "{} {} {}",
                    k.attribute_name(),
                    k.key_type().as_str(),
                    type_of(k.attribute_name())
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let render_spec = |keys: &[KeySchemaSpec]| {
        keys.iter()
            .map(|k| {
                let ty = spec
                    .attribute_definitions
                    .iter()
                    .find(|a| a.attribute_name == k.attribute_name)
                    .map(|a| a.attribute_type.as_str())
                    .unwrap_or("?");
                format!("{} {} {}", k.attribute_name, k.key_type, ty)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut drifts = Vec::new();
    let expected = render_spec(&spec.key_schema);
    let actual = render_live(live.key_schema());
    if expected != actual {
        drifts.push(Drift::WrongKeySchema { expected, actual });
    }
    for index in &spec.local_secondary_indexes {
        let found = live.local_secondary_indexes().iter().any(|lsi| {
            lsi.index_name() == Some(index.index_name.as_str())
                && render_live(lsi.key_schema()) == render_spec(&index.key_schema)
                && lsi.projection().and_then(|p| p.projection_type()) == Some(&ProjectionType::All)
        });
        if !found {
            drifts.push(Drift::MissingCreatedAtIndex);
        }
    }
    drifts
}
