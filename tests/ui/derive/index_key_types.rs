#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(
    table = "phone_call",
    partition_key = person_id,
    index(name = "by_optional", partition_key = nickname),
    index(name = "by_price", partition_key = carrier, sort_key = price),
    index(name = "by_tags", partition_key = tags),
    index(name = "by_skipped", partition_key = cache),
    index(name = "by_custom", partition_key = custom),
)]
pub struct PhoneCall {
    pub person_id: u64,
    pub nickname: Option<String>,
    pub carrier: String,
    pub price: f64,
    pub tags: Vec<String>,
    #[serde(skip)]
    pub cache: String,
    #[serde(with = "custom")]
    pub custom: String,
}

mod custom {
    pub fn serialize<S: serde::Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        serde::Deserialize::deserialize(d)
    }
}

fn main() {}
