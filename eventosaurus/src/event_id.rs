//! Event identity: the `event_uuid` sort key. (`created_at` is [`CreatedAt`](crate::CreatedAt).)
//!
//! # `event_uuid`
//!
//! * Without a composite key, every stored event gets a fresh random UUID v4.
//! * With `#[eventosaurus(composite_key(a, b, ..))]` the id is derived from the listed
//!   fields, so storing the same event twice produces the same id and the conditional write
//!   (`attribute_not_exists(event_uuid)`) stores it once.
//!
//! The composite string is built field by field, in the declared order:
//!
//! * each field is written as `name=value`, where `name` is the stored attribute name
//!   (it honours `#[serde(rename)]`);
//! * the pairs are joined with `:`;
//! * inside a value, `\`, `:` and `=` are escaped with a backslash;
//! * integers are written in decimal, strings as raw UTF-8, booleans as `true`/`false`.
//!
//! The SHA-256 digest of the string's UTF-8 bytes is then truncated to 16 bytes, and the
//! UUID version is set to 8 and the variant to RFC 4122 (RFC 9562 "custom" UUID).
//!
//! ## Worked test vector
//!
//! ```
//! use eventosaurus::event_id::{composite_event_uuid, CompositeKey};
//!
//! let mut key = CompositeKey::new();
//! key.push("location", "gardens");
//! key.push("employee_name", "Markus");
//! key.push("employee_action", "ate grapes");
//! let composite = key.finish();
//! assert_eq!(composite, "location=gardens:employee_name=Markus:employee_action=ate grapes");
//!
//! // sha256(composite) starts 75de3dd415a93f8e1a9eb60b1aa7bb1b; as a UUID v8 (version
//! // nibble 3 -> 8, variant bits 00 -> 10) that is 75de3dd4-15a9-8f8e-9a9e-b60b1aa7bb1b:
//! assert_eq!(
//!     composite_event_uuid(&composite).to_string(),
//!     eventosaurus::event_id::TEST_VECTOR_UUID,
//! );
//!
//! // Escaping keeps `a=1:b=2` and `a=1\:b\=2` apart:
//! let mut tricky = CompositeKey::new();
//! tricky.push("a", "1:b=2");
//! assert_eq!(tricky.finish(), r"a=1\:b\=2");
//! ```

use std::fmt::Write as _;

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The composite string of the worked example in this module's docs.
pub const TEST_VECTOR_COMPOSITE: &str =
    "location=gardens:employee_name=Markus:employee_action=ate grapes";

/// The `event_uuid` of [`TEST_VECTOR_COMPOSITE`].
pub const TEST_VECTOR_UUID: &str = "75de3dd4-15a9-8f8e-9a9e-b60b1aa7bb1b";

/// Builds the composite string of an event's composite key, field by field.
///
/// The derive generates the calls; it is public so that the format can be reproduced and
/// tested outside the macro.
#[derive(Debug, Default, Clone)]
pub struct CompositeKey {
    buf: String,
}

impl CompositeKey {
    /// An empty composite key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `name=value`, escaping `\`, `:` and `=` inside the value.
    pub fn push<V: CompositeKeyValue + ?Sized>(&mut self, name: &str, value: &V) {
        if !self.buf.is_empty() {
            self.buf.push(':');
        }
        self.buf.push_str(name);
        self.buf.push('=');
        value.write_composite(&mut self.buf);
    }

    /// The composite string.
    pub fn finish(self) -> String {
        self.buf
    }
}

/// A type that can be part of a composite key: integers, strings, `bool` and `char`.
///
/// Floating-point numbers, options and collections are deliberately not supported: two
/// spellings of "the same" value would produce two ids and defeat deduplication.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of an eventosaurus composite key",
    label = "composite key fields must be integers, `String`/`&str`, `bool` or `char`"
)]
pub trait CompositeKeyValue {
    /// Appends this value's composite-key form (escaped) to `out`.
    fn write_composite(&self, out: &mut String);
}

fn push_escaped(out: &mut String, raw: &str) {
    for c in raw.chars() {
        if matches!(c, '\\' | ':' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
}

impl CompositeKeyValue for str {
    fn write_composite(&self, out: &mut String) {
        push_escaped(out, self);
    }
}

impl CompositeKeyValue for String {
    fn write_composite(&self, out: &mut String) {
        push_escaped(out, self);
    }
}

impl CompositeKeyValue for char {
    fn write_composite(&self, out: &mut String) {
        push_escaped(out, self.encode_utf8(&mut [0; 4]));
    }
}

impl CompositeKeyValue for bool {
    fn write_composite(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl<T: CompositeKeyValue + ?Sized> CompositeKeyValue for &T {
    fn write_composite(&self, out: &mut String) {
        (**self).write_composite(out);
    }
}

impl<T: CompositeKeyValue + ?Sized> CompositeKeyValue for Box<T> {
    fn write_composite(&self, out: &mut String) {
        (**self).write_composite(out);
    }
}

macro_rules! composite_integers {
    ($($t:ty),*) => {$(
        impl CompositeKeyValue for $t {
            fn write_composite(&self, out: &mut String) {
                // Writing to a String cannot fail.
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
composite_integers!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

/// The deterministic `event_uuid` of a composite string: SHA-256, first 16 bytes, UUID v8.
pub fn composite_event_uuid(composite: &str) -> Uuid {
    let digest = Sha256::digest(composite.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}

/// A fresh random `event_uuid` (UUID v4), for events without a composite key.
pub fn random_event_uuid() -> Uuid {
    Uuid::new_v4()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_vector_matches_independent_sha256() {
        // Independent check of the digest bytes: sha256 of the composite, as hex.
        let digest = Sha256::digest(TEST_VECTOR_COMPOSITE.as_bytes());
        let uuid = composite_event_uuid(TEST_VECTOR_COMPOSITE);
        let bytes = uuid.as_bytes();
        assert_eq!(bytes[0..6], digest[0..6]);
        assert_eq!(bytes[6] & 0x0f, digest[6] & 0x0f);
        assert_eq!(bytes[6] >> 4, 8, "version nibble");
        assert_eq!(bytes[8] >> 6, 0b10, "RFC 4122 variant");
        assert_eq!(bytes[8] & 0x3f, digest[8] & 0x3f);
        assert_eq!(bytes[9..16], digest[9..16]);
        assert_eq!(uuid.to_string(), TEST_VECTOR_UUID);
    }

    #[test]
    fn composite_escapes_separators() {
        let mut k = CompositeKey::new();
        k.push("a", r"x\y:z=w");
        k.push("n", &-42i64);
        k.push("b", &true);
        assert_eq!(k.finish(), r"a=x\\y\:z\=w:n=-42:b=true");
    }

    #[test]
    fn different_values_give_different_ids() {
        let mut a = CompositeKey::new();
        a.push("a", "1:b=2");
        let mut b = CompositeKey::new();
        b.push("a", "1");
        b.push("b", "2");
        assert_ne!(
            composite_event_uuid(&a.finish()),
            composite_event_uuid(&b.finish())
        );
    }

    #[test]
    fn random_ids_are_v4_and_distinct() {
        let a = random_event_uuid();
        assert_eq!(a.get_version_num(), 4);
        assert_ne!(a, random_event_uuid());
    }
}
