mod as_text {
    pub fn serialize<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

fn cents<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(v * 100)
}

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "ledger", partition_key = account)]
pub struct Ledger {
    pub account: u64,
    #[serde(with = "as_text")]
    pub balance: u64,
    #[serde(serialize_with = "cents")]
    pub amount: u64,
}

fn main() {
    // Stored as text: a condition encoded as a number would silently match nothing.
    let _ = Ledger::query().by_account(1).by_balance(5);
    let _ = Ledger::query().by_account(1).by_amount(eventosaurus::query::gt(5));
}
