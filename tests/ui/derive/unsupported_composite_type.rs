#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "reading", partition_key = sensor, composite_key(sensor, temperature))]
pub struct Reading {
    pub sensor: String,
    pub temperature: f64,
}

fn main() {}
