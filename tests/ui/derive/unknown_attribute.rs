#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "phone_call", partition_key = person_id, sort_key = when)]
pub struct PhoneCall {
    pub person_id: u64,
    pub when: String,
}

fn main() {}
