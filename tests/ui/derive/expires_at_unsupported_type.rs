#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "offer", partition_key = shop)]
pub struct Offer {
    pub shop: u64,
    #[eventosaurus(expires_at)]
    pub ends: String,
}

fn main() {}
