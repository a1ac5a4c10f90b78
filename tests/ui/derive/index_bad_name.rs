#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "phone_call", partition_key = person_id, index(name = "by phone", partition_key = phone_number))]
pub struct PhoneCall {
    pub person_id: u64,
    pub phone_number: String,
}

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "short_name", partition_key = person_id, index(name = "by", partition_key = phone_number))]
pub struct ShortName {
    pub person_id: u64,
    pub phone_number: String,
}

fn main() {}
