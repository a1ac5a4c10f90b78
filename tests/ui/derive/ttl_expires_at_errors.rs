use chrono::{DateTime, Utc};

/// Both a fixed lifetime and a field.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "offer", partition_key = shop, ttl = "30d")]
pub struct Both {
    pub shop: u64,
    #[eventosaurus(expires_at)]
    pub ends: DateTime<Utc>,
}

/// Two expiry fields.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "offer", partition_key = shop)]
pub struct Twice {
    pub shop: u64,
    #[eventosaurus(expires_at)]
    pub ends: DateTime<Utc>,
    #[eventosaurus(expires_at)]
    pub also_ends: DateTime<Utc>,
}

/// A field stored under the reserved name, on an expiring type.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "offer", partition_key = shop, ttl = "1d")]
pub struct Reserved {
    pub shop: u64,
    pub expires_at: String,
}

fn main() {}
