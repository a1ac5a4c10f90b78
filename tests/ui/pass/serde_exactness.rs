//! What the derive accepts: 128-bit integers written and read by the user's own functions,
//! and a field read (not written) by its own function, which keeps its query method.
use eventosaurus::Storable;

mod big_as_text {
    pub fn serialize<S: serde::Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

fn lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    Ok(<Option<u32> as serde::Deserialize>::deserialize(d)?.unwrap_or(0))
}

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "ledger", partition_key = account)]
pub struct Ledger {
    pub account: u64,
    #[serde(with = "big_as_text")]
    pub balance: u128,
    #[serde(deserialize_with = "lenient")]
    pub count: u32,
    #[serde(skip)]
    pub cache: i128,
}

fn main() {
    let plan = Ledger::query().by_account(1).by_count(3).plan("dev").unwrap();
    assert_eq!(plan.table, "dev_ledger");
    assert_eq!(Ledger::TABLE.attribute_type("balance"), Some(eventosaurus::table::AttributeType::Other));
}
