//! Time to live and global secondary indexes: what the TableDef says.
use chrono::{DateTime, Utc};
use eventosaurus::table::{GlobalIndexDef, IndexKey, KeyAttributeType, Ttl};
use eventosaurus::Storable;

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(
    table = "phone_call",
    partition_key = person_id,
    ttl = "90d",
    index(name = "by_phone", partition_key = phone_number, sort_key = created_at),
    index(name = "by-carrier.seq", partition_key = carrier, sort_key = seq),
    index(name = "by_region", partition_key = region)
)]
pub struct PhoneCall {
    pub person_id: u64,
    #[serde(rename = "phone")]
    pub phone_number: String,
    pub carrier: String,
    pub seq: u32,
    pub region: i16,
}

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "offer", partition_key = shop)]
pub struct Offer {
    pub shop: u64,
    #[eventosaurus(expires_at)]
    #[serde(rename = "valid_until")]
    pub ends: Option<DateTime<Utc>>,
    pub note: String,
}

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "token", partition_key = id)]
pub struct Token {
    pub id: String,
    #[eventosaurus(expires_at)]
    pub at: eventosaurus::CreatedAt,
}

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "epoch", partition_key = id)]
pub struct Epoch {
    pub id: String,
    #[eventosaurus(expires_at)]
    pub at: u64,
}

/// No TTL on the type: `expires_at` is the event's own attribute.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "plain", partition_key = id)]
pub struct Plain {
    pub id: String,
    pub expires_at: String,
}

fn main() {
    assert_eq!(PhoneCall::TABLE.ttl, Some(Ttl::AfterCreation { seconds: 7_776_000 }));
    assert_eq!(
        PhoneCall::TABLE.indexes,
        [
            GlobalIndexDef {
                name: "by_phone",
                partition_key: IndexKey { attribute: "phone", attribute_type: KeyAttributeType::String },
                sort_key: Some(IndexKey { attribute: "created_at", attribute_type: KeyAttributeType::String }),
            },
            GlobalIndexDef {
                name: "by-carrier.seq",
                partition_key: IndexKey { attribute: "carrier", attribute_type: KeyAttributeType::String },
                sort_key: Some(IndexKey { attribute: "seq", attribute_type: KeyAttributeType::Number }),
            },
            GlobalIndexDef {
                name: "by_region",
                partition_key: IndexKey { attribute: "region", attribute_type: KeyAttributeType::Number },
                sort_key: None,
            },
        ]
    );
    assert_eq!(Offer::TABLE.ttl, Some(Ttl::Field { attribute: "valid_until" }));
    assert_eq!(Offer::TABLE.indexes, []);
    assert_eq!(Token::TABLE.ttl, Some(Ttl::Field { attribute: "at" }));
    let epoch = Epoch { id: "a".into(), at: 5 };
    assert_eq!(epoch.expires_at_field(), Some(5));
    assert_eq!(Epoch::TABLE.ttl, Some(Ttl::Field { attribute: "at" }));
    assert_eq!(Plain::TABLE.ttl, None);
}
