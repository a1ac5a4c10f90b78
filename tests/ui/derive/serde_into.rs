#[derive(Clone, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[serde(into = "Wire")]
#[eventosaurus(table = "ledger", partition_key = account)]
pub struct Ledger {
    pub account: u64,
}

#[derive(serde::Serialize)]
pub struct Wire {
    pub id: u64,
}

impl From<Ledger> for Wire {
    fn from(l: Ledger) -> Wire {
        Wire { id: l.account }
    }
}

fn main() {}
