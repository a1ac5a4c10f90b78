//! [`ExpiresAtField`]: the field types `#[eventosaurus(expires_at)]` accepts, and how each
//! becomes the epoch seconds of the `expires_at` attribute.

use chrono::{DateTime, TimeZone};

use super::CreatedAt;

/// A field type that can say when an event expires: what `#[eventosaurus(expires_at)]`
/// requires of the field it marks.
///
/// Implemented for `chrono::DateTime<Tz>` (any time zone), [`CreatedAt`],
/// `std::time::SystemTime`, integers holding **seconds** since the Unix epoch (not
/// milliseconds: DynamoDB's TTL reads seconds), and `Option`s of these, where `None` means
/// the event never expires.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use eventosaurus::model::ExpiresAtField;
/// let at = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
/// assert_eq!(at.expires_at_epoch_seconds(), Some(1_893_456_000));
/// assert_eq!(Some(1_893_456_000_u64).expires_at_epoch_seconds(), Some(1_893_456_000));
/// assert_eq!(None::<i64>.expires_at_epoch_seconds(), None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot say when an event expires",
    label = "#[eventosaurus(expires_at)] on a field of type `{Self}`",
    note = "use chrono::DateTime<Utc>, eventosaurus::CreatedAt, std::time::SystemTime, an integer of \
            seconds since the Unix epoch, or an Option of one of these (None: never expires)"
)]
pub trait ExpiresAtField {
    /// When the event expires, in whole seconds since the Unix epoch (rounded down; a value
    /// beyond `i64` saturates); `None` for never.
    fn expires_at_epoch_seconds(&self) -> Option<i64>;
}

impl<Tz: TimeZone> ExpiresAtField for DateTime<Tz> {
    fn expires_at_epoch_seconds(&self) -> Option<i64> {
        Some(self.timestamp())
    }
}

impl ExpiresAtField for CreatedAt {
    fn expires_at_epoch_seconds(&self) -> Option<i64> {
        Some(self.timestamp_millis().div_euclid(1000))
    }
}

impl ExpiresAtField for std::time::SystemTime {
    fn expires_at_epoch_seconds(&self) -> Option<i64> {
        Some(match self.duration_since(std::time::UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => {
                let before = before.duration();
                let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                // Rounded down: 0.5 s before the epoch is second -1.
                let partial = i64::from(before.subsec_nanos() > 0);
                whole.saturating_add(partial).saturating_neg()
            }
        })
    }
}

impl<T: ExpiresAtField> ExpiresAtField for Option<T> {
    fn expires_at_epoch_seconds(&self) -> Option<i64> {
        self.as_ref().and_then(T::expires_at_epoch_seconds)
    }
}

impl<T: ExpiresAtField + ?Sized> ExpiresAtField for &T {
    fn expires_at_epoch_seconds(&self) -> Option<i64> {
        (**self).expires_at_epoch_seconds()
    }
}

macro_rules! epoch_second_integers {
    ($($int:ty),*) => {$(
        impl ExpiresAtField for $int {
            fn expires_at_epoch_seconds(&self) -> Option<i64> {
                Some(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
epoch_second_integers!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    #[test]
    fn every_supported_type_gives_epoch_seconds() {
        let utc = Utc.timestamp_millis_opt(1_795_463_937_999).unwrap();
        assert_eq!(utc.expires_at_epoch_seconds(), Some(1_795_463_937));
        let offset = utc.with_timezone(&FixedOffset::east_opt(3600).unwrap());
        assert_eq!(offset.expires_at_epoch_seconds(), Some(1_795_463_937));
        assert_eq!(
            CreatedAt::from(utc).expires_at_epoch_seconds(),
            Some(1_795_463_937)
        );
        let system = UNIX_EPOCH + Duration::from_millis(1_795_463_937_999);
        assert_eq!(system.expires_at_epoch_seconds(), Some(1_795_463_937));
        let before = UNIX_EPOCH - Duration::from_millis(1_500);
        assert_eq!(before.expires_at_epoch_seconds(), Some(-2), "rounded down");
        assert_eq!(u64::MAX.expires_at_epoch_seconds(), Some(i64::MAX));
        assert_eq!((-5_i32).expires_at_epoch_seconds(), Some(-5));
        assert_eq!(Some(utc).expires_at_epoch_seconds(), Some(1_795_463_937));
        assert_eq!(None::<SystemTime>.expires_at_epoch_seconds(), None);
    }

    #[test]
    fn created_at_before_the_epoch_rounds_down() {
        let at = CreatedAt::from_timestamp_millis(-1).unwrap();
        assert_eq!(at.expires_at_epoch_seconds(), Some(-1));
    }
}
