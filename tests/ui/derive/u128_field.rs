#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "ledger", partition_key = account)]
pub struct Ledger {
    pub account: u64,
    pub balance: u128,
    pub history: Option<Vec<i128>>,
    // Skipped both ways: never serialized, fine.
    #[serde(skip)]
    pub cache: u128,
}

fn main() {}
