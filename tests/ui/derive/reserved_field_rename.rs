#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "phone_call", partition_key = person_id)]
pub struct PhoneCall {
    pub person_id: u64,
    #[serde(rename = "created_at")]
    pub when: String,
}

fn main() {}
