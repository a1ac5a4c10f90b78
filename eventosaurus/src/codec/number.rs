//! DynamoDB numbers: which strings are numbers DynamoDB accepts, and how many bytes they take.
//!
//! DynamoDB reads an `N` value as an arbitrary-precision decimal (the syntax of Java's
//! `BigDecimal`: an optional sign, digits with an optional `.`, an optional exponent) and
//! refuses it when
//!
//! * it is not a number at all (`NaN`, `inf`, `""`, `1e`, ...);
//! * it has more than [`MAX_DIGITS`] significant digits (leading and trailing zeros do not count);
//! * its magnitude is not zero and outside `1E-130 ..= 9.99..E+125`.
//!
//! Its stored size follows the digit-pair rule: the significant digits are grouped in pairs
//! aligned on the decimal point (like base-100 digits), one byte per pair, plus one byte for
//! the exponent, plus one byte for a negative number shorter than 20 pairs. Zero takes one
//! byte. So `12` is 2 bytes, `123` is 3 (`01|23`), `-123` is 4 and a 38-digit number is 20 or 21.

use crate::error::Violation;

/// The most significant digits a DynamoDB number may have.
pub const MAX_DIGITS: usize = 38;
/// The largest decimal exponent of a number's leading digit (`9.99..E+125`).
pub const MAX_EXPONENT: i64 = 125;
/// The smallest decimal exponent of a non-zero number's leading digit (`1E-130`).
pub const MIN_EXPONENT: i64 = -130;

/// A number as DynamoDB sees it, after trimming leading and trailing zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number {
    /// The significant digits (0 for zero).
    pub digits: usize,
    /// The decimal exponent of the leading digit: `floor(log10(|n|))` (0 for zero).
    pub exponent: i64,
    /// Whether the number is below zero (`-0` is zero, not negative).
    pub negative: bool,
}

impl Number {
    /// Parses the text of an `N` value, without checking DynamoDB's range and precision.
    ///
    /// Returns `None` if DynamoDB would not read it as a number at all.
    pub fn parse(text: &str) -> Option<Number> {
        let bytes = text.as_bytes();
        let (negative, rest) = match bytes.first()? {
            b'-' => (true, &bytes[1..]),
            b'+' => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        // The mantissa: digits with at most one '.'; at least one digit.
        let mut integer_digits: i64 = 0; // digits before the '.'
        let mut seen_point = false;
        let mut total: i64 = 0; // digits seen
        let mut first_nonzero: Option<i64> = None; // index among the digits
        let mut last_nonzero: i64 = 0;
        let mut end = rest.len();
        for (i, &b) in rest.iter().enumerate() {
            match b {
                b'0'..=b'9' => {
                    if b != b'0' {
                        first_nonzero.get_or_insert(total);
                        last_nonzero = total;
                    }
                    total += 1;
                    if !seen_point {
                        integer_digits += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'e' | b'E' => {
                    end = i;
                    break;
                }
                _ => return None,
            }
        }
        if total == 0 {
            return None;
        }
        let exponent = if end < rest.len() {
            parse_exponent(&rest[end + 1..])?
        } else {
            0
        };
        let Some(first) = first_nonzero else {
            return Some(Number {
                digits: 0,
                exponent: 0,
                negative: false,
            });
        };
        Some(Number {
            digits: (last_nonzero - first + 1) as usize,
            exponent: integer_digits - first - 1 + exponent,
            negative,
        })
    }

    /// Whether the number is zero.
    pub fn is_zero(&self) -> bool {
        self.digits == 0
    }

    /// DynamoDB's rules for this number, as a [`Violation`] if it breaks one.
    pub fn check(&self, text: &str) -> Result<(), Violation> {
        if self.digits > MAX_DIGITS {
            return Err(Violation::TooManyDigits {
                value: text.to_owned(),
                digits: self.digits,
            });
        }
        if self.is_zero() {
            return Ok(());
        }
        if self.exponent > MAX_EXPONENT {
            return Err(Violation::MagnitudeTooLarge {
                value: text.to_owned(),
            });
        }
        if self.exponent < MIN_EXPONENT {
            return Err(Violation::MagnitudeTooSmall {
                value: text.to_owned(),
            });
        }
        Ok(())
    }

    /// The bytes DynamoDB counts for this number (the digit-pair rule).
    pub fn size(&self) -> usize {
        if self.is_zero() {
            return 1;
        }
        // Pairs are aligned on the decimal point: an odd count of integer digits
        // (exponent + 1) leaves the leading digit alone in its pair.
        let odd = (self.exponent + 1).rem_euclid(2) as usize;
        let pairs = (self.digits + odd).div_ceil(2);
        let terminator = usize::from(self.negative && pairs < 20);
        1 + pairs + terminator
    }
}

/// The exponent after `e`: an optional sign and at least one digit, within `i32` (as DynamoDB).
fn parse_exponent(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(b - b'0');
        if value > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    let value = if negative { -value } else { value };
    i32::try_from(value).ok().map(i64::from)
}

/// The size of a valid number, or `None` if it breaks a rule ([`check`] says which).
///
/// The same answer as [`check`] then [`Number::size`], with a fast path for what the
/// codec writes most: integers without leading zeros.
#[inline]
pub fn size_if_valid(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    if let [first @ b'1'..=b'9', rest @ ..] = digits {
        if digits.len() <= MAX_DIGITS && rest.iter().all(u8::is_ascii_digit) {
            let _ = first;
            // The exponent is len - 1, so the integer part has len digits.
            let len = digits.len();
            let trailing_zeros = digits.iter().rev().take_while(|&&d| d == b'0').count();
            let pairs = (len - trailing_zeros + len % 2).div_ceil(2);
            return Some(1 + pairs + usize::from(negative && pairs < 20));
        }
    }
    let number = Number::parse(text)?;
    number.check(text).ok()?;
    Some(number.size())
}

/// Checks the text of an `N` value against DynamoDB's rules; returns the parsed number.
pub fn check(text: &str) -> Result<Number, Violation> {
    let number = Number::parse(text).ok_or_else(|| Violation::NotANumber {
        value: text.to_owned(),
    })?;
    number.check(text)?;
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn syntax_follows_dynamodb() {
        // Accepted by DynamoDB Local (Java BigDecimal syntax).
        for ok in [
            "0", "-0", "+5", ".5", "5.", "1e5", "1E+5", "1e-5", "00012", "0E-200", "0.00000",
            "-12.5e3",
        ] {
            assert!(Number::parse(ok).is_some(), "{ok}");
        }
        // Refused by it ("cannot be converted into a number").
        for bad in [
            "",
            "-",
            "+",
            ".",
            "e5",
            "1e",
            "1e+",
            "NaN",
            "inf",
            "-inf",
            "infinity",
            "1.2.3",
            "1e5.5",
            " 1",
            "1 ",
            "0x10",
            "1_000",
            "1E2147483648",
            "--1",
        ] {
            assert!(Number::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn significant_digits_and_exponent() {
        assert_eq!(
            n("00123.4500"),
            Number {
                digits: 5,
                exponent: 2,
                negative: false
            }
        );
        assert_eq!(n("0.000120").exponent, -4);
        assert_eq!(n("0.000120").digits, 2);
        assert_eq!(n("1200").digits, 2);
        assert_eq!(n("1200").exponent, 3);
        assert_eq!(n("-1.5e-3").exponent, -3);
        assert!(n("-1.5e-3").negative);
        assert!(!n("-0.0").negative);
        assert!(n("-0.0").is_zero());
    }

    #[test]
    fn precision_boundary_is_38_digits() {
        let d38 = "12345678901234567890123456789012345678";
        let d39 = "123456789012345678901234567890123456789";
        assert!(check(d38).is_ok());
        assert!(check(&format!("-{d38}")).is_ok());
        assert!(
            check(&format!("{d38}00000")).is_ok(),
            "trailing zeros do not count"
        );
        assert!(
            check(&format!("0.000{d38}")).is_ok(),
            "leading zeros do not count"
        );
        assert_eq!(
            check(d39),
            Err(Violation::TooManyDigits {
                value: d39.to_owned(),
                digits: 39
            })
        );
        assert!(matches!(
            check("1.00000000000000000000000000000000000001"),
            Err(Violation::TooManyDigits { digits: 39, .. })
        ));
        // u128::MAX and i128::MIN do not fit.
        assert!(check(&u128::MAX.to_string()).is_err());
        assert!(check(&i128::MIN.to_string()).is_err());
        assert!(check(&u64::MAX.to_string()).is_ok());
        assert!(check(&i64::MIN.to_string()).is_ok());
    }

    #[test]
    fn magnitude_boundaries() {
        assert!(check("1E-130").is_ok());
        assert!(check("-1E-130").is_ok());
        assert!(matches!(
            check("1E-131"),
            Err(Violation::MagnitudeTooSmall { .. })
        ));
        assert!(matches!(
            check("0.99E-130"),
            Err(Violation::MagnitudeTooSmall { .. })
        ));
        assert!(check("9.9999999999999999999999999999999999999E+125").is_ok());
        assert!(check("-9.99E125").is_ok());
        assert!(matches!(
            check("1E+126"),
            Err(Violation::MagnitudeTooLarge { .. })
        ));
        assert!(matches!(
            check("-1E126"),
            Err(Violation::MagnitudeTooLarge { .. })
        ));
        assert!(check("0E+999").is_ok(), "zero has no magnitude");
        // What serde_dynamo makes of extreme floats (Rust prints them in full).
        assert!(check(&f64::MAX.to_string()).is_err());
        assert!(check(&f64::MIN_POSITIVE.to_string()).is_err());
        assert!(check(&1e125f64.to_string()).is_ok());
        assert!(matches!(
            check(&f64::NAN.to_string()),
            Err(Violation::NotANumber { .. })
        ));
        assert!(matches!(
            check(&f64::INFINITY.to_string()),
            Err(Violation::NotANumber { .. })
        ));
        assert!(matches!(
            check(&f64::NEG_INFINITY.to_string()),
            Err(Violation::NotANumber { .. })
        ));
    }

    #[test]
    fn the_fast_path_agrees_with_the_parser() {
        let mut texts: Vec<String> = [
            "0", "-0", "00", "5", "-5", "10", "100", "-100", "1230", "12300", "007", "1.5",
            "-0.05", "1e5", "NaN", "", "-", "1-", "12a", "+5",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let zeros = "0".repeat((x % 25) as usize);
            texts.push(format!("{}{zeros}", x >> (x % 60)));
            texts.push(format!("-{}{zeros}", x % 1000));
            texts.push(format!("{}{}", x, x)); // up to 40 digits
        }
        for t in &texts {
            let slow = Number::parse(t).and_then(|n| n.check(t).ok().map(|_| n.size()));
            assert_eq!(size_if_valid(t), slow, "{t}");
        }
    }

    #[test]
    fn sizes_follow_the_digit_pair_rule() {
        let size = |t: &str| n(t).size();
        assert_eq!(size("0"), 1);
        assert_eq!(size("-0.000"), 1);
        assert_eq!(size("1"), 2); // 01
        assert_eq!(size("12"), 2); // 12
        assert_eq!(size("123"), 3); // 01|23
        assert_eq!(size("1234"), 3); // 12|34
        assert_eq!(size("1230"), 3); // 12|30
        assert_eq!(size("12300"), 3); // 01|23|(00)
        assert_eq!(size("1.5"), 3); // 01.|50
        assert_eq!(size("0.5"), 2); // .50
        assert_eq!(size("0.05"), 2); // .05
        assert_eq!(size("-1"), 3); // negative: one more byte
        assert_eq!(size("-123"), 4);
        assert_eq!(size("12345678901234567890123456789012345678"), 20);
        assert_eq!(size("1234567890123456789012345678901234567.8"), 21);
        // 20 pairs: a negative number gets no extra byte.
        assert_eq!(size("-1234567890123456789012345678901234567.8"), 21);
        assert_eq!(size("-12345678901234567890123456789012345678"), 21);
        assert_eq!(size(&u64::MAX.to_string()), 11); // 20 digits, 10 pairs
        assert_eq!(size(&i64::MIN.to_string()), 12); // 19 digits, odd: 10 pairs, +1
    }
}
