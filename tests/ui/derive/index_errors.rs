#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(
    table = "phone_call",
    partition_key = person_id,
    index(name = "by_phone", partition_key = phone),
    index(name = "by_phone", partition_key = phone_number),
    index(name = "created_at_index", partition_key = phone_number),
    index(partition_key = phone_number),
    index(name = "by_nothing"),
    index(name = "by_person", partition_key = person_id),
    index(name = "by_time", partition_key = created_at),
    index(name = "by_number", partition_key = phone_number, sort_key = phone_number),
    index(name = "by_sort", partition_key = phone_number, sort_key = when),
    index(name = "by_keys", partition_key = phone_number, projection = keys_only),
)]
pub struct PhoneCall {
    pub person_id: u64,
    pub phone_number: String,
}

fn main() {}
