#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "phone_call", partition_key = person_id)]
pub struct PhoneCall {
    pub person_id: u64,
    pub event_uuid: String,
}

fn main() {}
