//! The `since` parameter: milliseconds since the epoch, or an ISO-8601 date or date-time.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::error::{Error, Result};

/// Parses `since`: digits are milliseconds since the epoch; else an RFC 3339 date-time
/// (`2026-11-25T10:00:00Z`, `2026-11-25T10:00:00.250+01:00`), a date-time without offset
/// (UTC), or a date (its midnight UTC). Returns milliseconds since the epoch.
///
/// ```
/// use eventosaurus_http::since::parse_since;
/// assert_eq!(parse_since("1732530000000").unwrap(), 1_732_530_000_000);
/// assert_eq!(parse_since("1970-01-02").unwrap(), 86_400_000);
/// assert_eq!(parse_since("1970-01-01T00:00:01.5Z").unwrap(), 1_500);
/// assert!(parse_since("yesterday").is_err());
/// ```
pub fn parse_since(text: &str) -> Result<i64> {
    let value = text.trim();
    let bad = || Error::BadSince {
        value: text.to_owned(),
    };
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let millis: i64 = value.parse().map_err(|_| bad())?;
        // Within chrono's range, so that it can be compared with created_at.
        return Utc
            .timestamp_millis_opt(millis)
            .single()
            .map(|t| t.timestamp_millis())
            .ok_or_else(bad);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, format) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let midnight = date.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        return Ok(midnight.and_utc().timestamp_millis());
    }
    Err(bad())
}

/// A `created_at` text as milliseconds since the epoch (`None` if it is not RFC 3339).
pub(crate) fn created_at_millis(created_at: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(created_at)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse_since("0").unwrap(), 0);
        assert_eq!(parse_since(" 1500 ").unwrap(), 1500);
        assert_eq!(parse_since("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_since("1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert_eq!(parse_since("1970-01-01T00:00:02").unwrap(), 2000);
        assert_eq!(parse_since("1970-01-01T00:01").unwrap(), 60_000);
        assert_eq!(parse_since("1970-01-02").unwrap(), 86_400_000);
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "-5",
            "1e3",
            "tomorrow",
            "2026-13-01",
            "99999999999999999999999",
            "9999999999999999",
        ] {
            assert!(
                matches!(parse_since(bad), Err(Error::BadSince { .. })),
                "{bad:?}"
            );
        }
    }
}
