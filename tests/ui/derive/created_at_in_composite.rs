#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "neat_event", partition_key = location, composite_key(location, created_at))]
pub struct NeatEvent {
    pub location: String,
}

fn main() {}
