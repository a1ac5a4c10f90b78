#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "session", partition_key = user, ttl = "90 days")]
pub struct Spaced {
    pub user: String,
}

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "session", partition_key = user, ttl = "0s")]
pub struct Zero {
    pub user: String,
}

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "session", partition_key = user, ttl = "1.5h")]
pub struct Fraction {
    pub user: String,
}

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "session", partition_key = user, ttl = "999999999999999d")]
pub struct TooLong {
    pub user: String,
}

fn main() {}
