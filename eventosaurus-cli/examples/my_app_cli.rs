//! An application's own CLI: its event types, and three lines of `main`.
//!
//! In an application, the events live in the application's crates and the binary is
//! `src/bin/events.rs` (or similar) with only the `main` below. Here the event is in the same
//! file so the example is self-contained:
//!
//! ```sh
//! scripts/dynamodb-local.sh run cargo run -p eventosaurus-cli --example my_app_cli -- create-tables
//! cargo run -p eventosaurus-cli --example my_app_cli -- --prefix dev describe-tables
//! ```
//!
//! Every `#[derive(Storable)]` type linked into the binary registers its table, so
//! `list-tables`, `describe-tables`, `create-tables`, `check-tables` and `drop-tables` all act on
//! `<prefix>_signup` here (and on nothing that this binary does not declare).

/// A user signed up: one event per account and plan (stored once, whatever the retries).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "signup", partition_key = account_id, composite_key(account_id, plan))]
pub struct Signup {
    /// The account (the partition key, stored as S).
    pub account_id: String,
    /// The plan chosen.
    pub plan: String,
}

fn main() {
    eventosaurus_cli::main()
}
