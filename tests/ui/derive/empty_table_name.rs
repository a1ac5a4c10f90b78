#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "", partition_key = person_id)]
pub struct PhoneCall {
    pub person_id: u64,
}

fn main() {}
