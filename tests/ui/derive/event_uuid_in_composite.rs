#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "neat_event", partition_key = location, composite_key(event_uuid))]
pub struct NeatEvent {
    pub location: String,
}

fn main() {}
