//! The example events of the README and the quickstart.
//!
//! The repository's `eventosaurus-cli` binary reads their definitions from
//! `eventosaurus-tables.json` at the root; `eventosaurus-cli/tests/cli.rs` checks that the file
//! matches these types (and prints the new content when they change).

use serde::{Deserialize, Serialize};

/// A phone call to a person: random `event_uuid`, partitioned by person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "phone_call", partition_key = person_id)]
pub struct PhoneCall {
    /// Who was called (the partition key, stored as N).
    pub person_id: u64,
    /// The number dialled.
    pub phone_number: String,
    /// When, as the caller recorded it.
    pub last_called: String,
}

/// Something an employee did somewhere: deduplicated by its composite key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "neat_event", partition_key = location,
               composite_key(location, employee_name, employee_action))]
pub struct NeatEvent {
    /// Where (the partition key, stored as S).
    pub location: String,
    /// Who.
    pub employee_name: String,
    /// What.
    pub employee_action: String,
}
