//! [`PartitionKeyValue`]: the Rust types a partition key may have.

use aws_sdk_dynamodb::types::AttributeValue;

/// A type that can be a partition key: integers (`N`) and strings (`S`).
///
/// ```
/// use eventosaurus::PartitionKeyValue;
/// use aws_sdk_dynamodb::types::AttributeValue;
/// assert_eq!(5u64.to_attribute_value(), AttributeValue::N("5".into()));
/// assert_eq!("gardens".to_attribute_value(), AttributeValue::S("gardens".into()));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an eventosaurus partition key",
    label = "partition keys must be integers (stored as N) or `String` (stored as S)"
)]
pub trait PartitionKeyValue {
    /// The key as a DynamoDB attribute value.
    fn to_attribute_value(&self) -> AttributeValue;
}

impl PartitionKeyValue for String {
    fn to_attribute_value(&self) -> AttributeValue {
        AttributeValue::S(self.clone())
    }
}

impl PartitionKeyValue for str {
    fn to_attribute_value(&self) -> AttributeValue {
        AttributeValue::S(self.to_owned())
    }
}

macro_rules! integer_keys {
    ($($t:ty),*) => {$(
        impl PartitionKeyValue for $t {
            fn to_attribute_value(&self) -> AttributeValue {
                AttributeValue::N(self.to_string())
            }
        }
    )*};
}
integer_keys!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);
