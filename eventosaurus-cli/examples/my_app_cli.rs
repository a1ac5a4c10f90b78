//! An application's own CLI, with its event type defined in the binary's own crate.
//!
//! ```sh
//! scripts/dynamodb-local.sh run cargo run -p eventosaurus-cli --example my_app_cli -- create-tables
//! cargo run -p eventosaurus-cli --example my_app_cli -- --prefix dev describe-tables
//! ```
//!
//! Here `Signup` is defined in this very binary, so the registry of linked event types is a
//! reliable source. When the events live in a library crate, name them instead (the linker
//! drops registry entries of a library the binary never names): see `tests/app/` at the root
//! of the repository and the README.

/// A user signed up: one event per account and plan (stored once, whatever the retries).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "signup", partition_key = account_id, composite_key(account_id, plan))]
pub struct Signup {
    /// The account (the partition key, stored as S).
    pub account_id: String,
    /// The plan chosen.
    pub plan: String,
}

fn main() -> std::process::ExitCode {
    eventosaurus_cli::run(&eventosaurus::registry::tables())
}
