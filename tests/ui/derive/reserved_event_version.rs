#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "order", partition_key = id)]
pub struct Order {
    pub id: u64,
    pub event_version: u32,
}

fn main() {}
