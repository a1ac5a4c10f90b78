#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "ledger", partition_key = account)]
pub struct Ledger {
    pub account: u128,
}

fn main() {}
