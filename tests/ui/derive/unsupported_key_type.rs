#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "reading", partition_key = temperature)]
pub struct Reading {
    pub temperature: f64,
}

fn main() {}
