use eventosaurus::table::{AttributeType, KeyAttributeType};
use eventosaurus::Storable;

#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[serde(rename_all = "camelCase")]
#[eventosaurus(table = "booking.v2", partition_key = hotel_id, composite_key(hotel_id, guest, nights, paid))]
pub struct Booking {
    #[serde(rename = "hotel")]
    pub hotel_id: i32,
    pub guest: String,
    pub nights: u8,
    pub paid: bool,
    pub room_rate: f64,
    pub tags: Vec<String>,
}

fn main() {
    let def = Booking::TABLE;
    assert_eq!(def.name, "booking.v2");
    assert_eq!(def.partition_key, "hotel");
    assert_eq!(def.partition_key_type, KeyAttributeType::Number);
    assert_eq!(def.composite_key, ["hotel", "guest", "nights", "paid"]);
    assert_eq!(def.attribute_type("roomRate"), Some(AttributeType::Number));
    assert_eq!(def.attribute_type("tags"), Some(AttributeType::Other));
    assert_eq!(def.attribute_type("paid"), Some(AttributeType::Bool));
    let b = Booking { hotel_id: 7, guest: "a:b".into(), nights: 2, paid: true, room_rate: 1.5, tags: vec![] };
    assert_eq!(b.composite_key().unwrap(), r"hotel=7:guest=a\:b:nights=2:paid=true");
}
