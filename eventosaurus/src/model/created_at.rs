//! [`CreatedAt`]: when an event was stored, typed, with a fixed-width text form on the wire.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, SubsecRound, TimeZone, Timelike, Utc};

/// When an event was stored: a UTC instant with millisecond precision.
///
/// On the wire (the `created_at` attribute) it is fixed-width ISO-8601 UTC with milliseconds,
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, always 24 characters, so that string order is time order and
/// range conditions on the `created_at` index compare times.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use eventosaurus::CreatedAt;
///
/// let at = CreatedAt::from(Utc.timestamp_millis_opt(1_795_463_937_123).unwrap());
/// assert_eq!(at.to_string(), "2026-11-23T19:58:57.123Z");
/// assert_eq!("2026-11-23T19:58:57.123Z".parse::<CreatedAt>().unwrap(), at);
/// // Any RFC 3339 text is accepted, and kept to the millisecond.
/// assert_eq!("2026-11-23T20:58:57.123456+01:00".parse::<CreatedAt>().unwrap(), at);
/// assert_eq!(at.timestamp_millis(), 1_795_463_937_123);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CreatedAt(DateTime<Utc>);

impl CreatedAt {
    /// The length of the text form: `2026-11-23T19:58:57.123Z`.
    pub const TEXT_LEN: usize = 24;

    /// Now, truncated to the millisecond.
    pub fn now() -> CreatedAt {
        CreatedAt::from(Utc::now())
    }

    /// The instant `millis` milliseconds after the Unix epoch, if chrono can represent it.
    pub fn from_timestamp_millis(millis: i64) -> Option<CreatedAt> {
        Utc.timestamp_millis_opt(millis).single().map(CreatedAt)
    }

    /// The instant as a `chrono` value.
    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// Milliseconds since the Unix epoch.
    pub fn timestamp_millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Parses the wire form, or any RFC 3339 date-time (converted to UTC, truncated to the
    /// millisecond).
    pub fn parse(text: &str) -> Result<CreatedAt, ParseCreatedAtError> {
        DateTime::parse_from_rfc3339(text)
            .map(|at| CreatedAt::from(at.with_timezone(&Utc)))
            .map_err(|error| ParseCreatedAtError {
                text: text.to_owned(),
                reason: error.to_string(),
            })
    }
}

impl From<DateTime<Utc>> for CreatedAt {
    /// Truncates to the millisecond, the precision that is stored.
    fn from(at: DateTime<Utc>) -> CreatedAt {
        CreatedAt(at.trunc_subsecs(3))
    }
}

impl From<CreatedAt> for DateTime<Utc> {
    fn from(at: CreatedAt) -> DateTime<Utc> {
        at.0
    }
}

impl CreatedAt {
    /// The wire form as a `String` of exactly [`TEXT_LEN`](Self::TEXT_LEN) bytes: what
    /// `to_string()` gives, without the formatting machinery (the codec calls this once per
    /// stored event).
    pub fn to_text(&self) -> String {
        let mut buffer = [0; Self::TEXT_LEN];
        match self.write_text(&mut buffer) {
            Some(text) => text.to_owned(),
            None => self.to_string(),
        }
    }

    /// Writes the wire form into `buffer`, digit by digit, for the years 0 to 9999 (the
    /// fixed-width range); `None` for any other year, which [`Display`](fmt::Display)
    /// writes with its sign or extra digits.
    fn write_text<'b>(&self, buffer: &'b mut [u8; Self::TEXT_LEN]) -> Option<&'b str> {
        let at = &self.0;
        let date = at.date_naive();
        let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
        let time = at.time();
        let fields = [
            (0, 4, year),
            (5, 2, date.month()),
            (8, 2, date.day()),
            (11, 2, time.hour()),
            (14, 2, time.minute()),
            (17, 2, time.second()),
            // A leap second's nanoseconds run past 999 ms: shown as 999, as before.
            (20, 3, (time.nanosecond() / 1_000_000).min(999)),
        ];
        *buffer = *b"0000-00-00T00:00:00.000Z";
        for (start, width, mut value) in fields {
            for digit in buffer[start..start + width].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        // Only ASCII digits were written over an ASCII template.
        std::str::from_utf8(buffer).ok()
    }
}

impl fmt::Display for CreatedAt {
    /// The fixed-width wire form (see [`to_text`](CreatedAt::to_text)).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buffer = [0; Self::TEXT_LEN];
        if let Some(text) = self.write_text(&mut buffer) {
            return f.write_str(text);
        }
        let at = &self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.timestamp_subsec_millis().min(999)
        )
    }
}

impl FromStr for CreatedAt {
    type Err = ParseCreatedAtError;
    fn from_str(text: &str) -> Result<CreatedAt, ParseCreatedAtError> {
        CreatedAt::parse(text)
    }
}

impl serde::Serialize for CreatedAt {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CreatedAt {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<CreatedAt, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        CreatedAt::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A text that is not a `created_at` (nor any RFC 3339 date-time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseCreatedAtError {
    /// The text that was given.
    pub text: String,
    /// Why chrono refused it.
    pub reason: String,
}

impl fmt::Display for ParseCreatedAtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a created_at time ({}): use RFC 3339 such as 2026-11-23T19:38:57.123Z",
            self.text, self.reason
        )
    }
}

impl std::error::Error for ParseCreatedAtError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_fixed_width_and_ordered() {
        let mut previous = String::new();
        for millis in [
            0_i64,
            1,
            999,
            1_000,
            59_999,
            86_399_999,
            951_782_400_000,
            4_102_444_799_999,
        ] {
            let text = CreatedAt::from_timestamp_millis(millis)
                .unwrap()
                .to_string();
            assert_eq!(text.len(), CreatedAt::TEXT_LEN, "{text}");
            assert!(text > previous, "{text} after {previous}");
            assert_eq!(
                text.parse::<CreatedAt>().unwrap().timestamp_millis(),
                millis
            );
            previous = text;
        }
    }

    #[test]
    fn known_instants() {
        let cases = [
            (0_i64, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_420_329_600_001, "2015-01-04T00:00:00.001Z"),
            (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        ];
        for (millis, expected) in cases {
            assert_eq!(
                CreatedAt::from_timestamp_millis(millis)
                    .unwrap()
                    .to_string(),
                expected
            );
        }
    }

    #[test]
    fn the_direct_text_is_the_formatted_one() {
        let formatted = |at: &CreatedAt| {
            let t = at.as_datetime();
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.timestamp_subsec_millis().min(999)
            )
        };
        let mut millis = -62_167_219_200_000_i64; // 0000-01-01T00:00:00.000Z
        while millis < 253_402_300_800_000 {
            // 9999-12-31 and beyond
            let at = CreatedAt::from_timestamp_millis(millis).unwrap();
            assert_eq!(at.to_text(), formatted(&at), "{millis}");
            assert_eq!(at.to_string(), at.to_text());
            millis += 7_919_993_311; // about three months and a prime number of ms
        }
        // Outside the fixed-width years, the formatter's sign and extra digits, as before.
        for millis in [-62_167_219_200_001_i64, 253_402_300_800_000] {
            let at = CreatedAt::from_timestamp_millis(millis).unwrap();
            let text = at.to_text();
            assert_eq!(text, formatted(&at));
            assert!(
                text.starts_with("-001-") || text.starts_with("10000-"),
                "{text}"
            );
        }
        // A leap second shows as 999 ms.
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_500)
            .unwrap()
            .and_utc();
        assert_eq!(CreatedAt(leap).to_text(), "2016-12-31T23:59:59.999Z");
    }

    #[test]
    fn leap_day_and_truncation() {
        let at = CreatedAt::parse("2024-02-29T23:59:59.9999Z").unwrap();
        assert_eq!(at.to_string(), "2024-02-29T23:59:59.999Z");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in ["", "yesterday", "2026-13-01T00:00:00Z", "2026-11-23"] {
            let error = CreatedAt::parse(text).unwrap_err();
            assert!(error.to_string().contains("RFC 3339"), "{error}");
        }
    }

    #[test]
    fn serde_uses_the_text_form() {
        let at = CreatedAt::from_timestamp_millis(1_795_463_937_123).unwrap();
        let json = serde_json::to_string(&at).unwrap();
        assert_eq!(json, "\"2026-11-23T19:58:57.123Z\"");
        assert_eq!(serde_json::from_str::<CreatedAt>(&json).unwrap(), at);
    }
}
