mod as_text {
    pub fn serialize<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "ledger", partition_key = account)]
pub struct Ledger {
    #[serde(with = "as_text")]
    pub account: u64,
}

fn main() {}
