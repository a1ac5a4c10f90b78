#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "phone call!", partition_key = person_id)]
pub struct PhoneCall {
    pub person_id: u64,
}

fn main() {}
