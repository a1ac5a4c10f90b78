// 127 characters: one more than a table name may have.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt", partition_key = person_id)]
pub struct PhoneCall {
    pub person_id: u64,
}

fn main() {}
