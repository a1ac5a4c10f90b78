#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "phone_call", partition_key = persn_id)]
pub struct PhoneCall {
    pub person_id: u64,
}

fn main() {}
