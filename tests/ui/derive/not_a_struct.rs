#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "phone_call", partition_key = person_id)]
pub enum PhoneCall {
    Person { person_id: u64 },
}

fn main() {}
