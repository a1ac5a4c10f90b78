// An upcaster must take and return an item or a JSON value.
fn not_an_upcaster(text: String) -> String {
    text
}

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "order", partition_key = id, version = 2,
               upcast(from = 1, with = not_an_upcaster))]
pub struct Order {
    pub id: u64,
}

fn main() {}
