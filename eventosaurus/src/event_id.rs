//! Event identity: the `event_uuid` sort key and the `created_at` timestamp.
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
use std::time::{SystemTime, UNIX_EPOCH};

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

/// `created_at` for now: fixed-width ISO-8601 UTC with milliseconds.
pub fn created_at_now() -> String {
    format_created_at(SystemTime::now())
}

/// Formats a time as `created_at`: `YYYY-MM-DDTHH:MM:SS.mmmZ`, always 24 characters, so
/// that lexicographic order is time order.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_millis(1_795_463_937_123);
/// assert_eq!(eventosaurus::event_id::format_created_at(t), "2026-11-23T19:58:57.123Z");
/// ```
pub fn format_created_at(time: SystemTime) -> String {
    // Times before 1970 are clamped to the epoch; events are not recorded in the past.
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let millis = since_epoch.subsec_millis();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(24);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    out
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's algorithm, valid for every day representable here.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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

    #[test]
    fn created_at_is_fixed_width_and_ordered() {
        let cases = [
            (0u64, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_420_329_600_001, "2015-01-04T00:00:00.001Z"),
            (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        ];
        let mut previous = String::new();
        for (millis, expected) in cases {
            let s = format_created_at(UNIX_EPOCH + Duration::from_millis(millis));
            assert_eq!(s, expected);
            assert_eq!(s.len(), 24);
            assert!(s > previous);
            previous = s;
        }
    }
}
