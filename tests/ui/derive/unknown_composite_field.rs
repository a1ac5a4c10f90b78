#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "neat_event", partition_key = location, composite_key(location, employee))]
pub struct NeatEvent {
    pub location: String,
    pub employee_name: String,
}

fn main() {}
