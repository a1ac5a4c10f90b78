//! The typed parts of a [`TableSpec`](crate::schema::TableSpec) to and from the SDK's
//! enums, in both directions from one table: what `admin` sends and what `drift` reads.

use aws_sdk_dynamodb::types as sdk;

use super::drift::ScalarType;
use crate::schema::{BillingMode, KeyAttributeType, KeyType, ProjectionType};

macro_rules! sdk_conversions {
    ($($ours:ident <=> $theirs:ident { $($a:ident <=> $b:ident),* $(,)? })*) => {$(
        impl $ours {
            /// The SDK's value.
            #[allow(dead_code)] // not every type is converted both ways
            pub(super) fn to_sdk(self) -> sdk::$theirs {
                match self {
                    $($ours::$a => sdk::$theirs::$b,)*
                }
            }

            /// Ours, from the SDK's value; `None` for a value this version does not know.
            #[allow(dead_code)]
            pub(super) fn from_sdk(value: &sdk::$theirs) -> Option<$ours> {
                match value {
                    $(sdk::$theirs::$b => Some($ours::$a),)*
                    _ => None,
                }
            }
        }
    )*};
}

sdk_conversions! {
    KeyAttributeType <=> ScalarAttributeType { Number <=> N, String <=> S }
    ScalarType <=> ScalarAttributeType { Number <=> N, String <=> S, Binary <=> B }
    KeyType <=> KeyType { Hash <=> Hash, Range <=> Range }
    BillingMode <=> BillingMode { PayPerRequest <=> PayPerRequest, Provisioned <=> Provisioned }
    ProjectionType <=> ProjectionType { All <=> All, KeysOnly <=> KeysOnly, Include <=> Include }
}
