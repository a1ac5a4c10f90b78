//! DynamoDB numbers, exactly: parsing, limits, comparison, a canonical form and the size
//! DynamoDB counts for them, with no floating point.
//!
//! DynamoDB sends numbers (`N`) as text and compares them as decimals: `7`, `7.0` and
//! `0.7e1` are the same number, and `9007199254740993` is not `9007199254740992` (which
//! an `f64` cannot tell apart). A number has at most [`MAX_DIGITS`] significant digits and
//! a magnitude of zero or from `1E-130` to below `1E+126`.
//!
//! This module imports nothing else from the crate: the codec, test mode and queries all
//! compare numbers with it.
//!
//! ```
//! use std::cmp::Ordering;
//! use eventosaurus::number::{compare, Number, NumberError};
//!
//! assert_eq!(compare("9007199254740993", "9007199254740992"), Some(Ordering::Greater));
//! assert_eq!(compare("7", "0.7e1"), Some(Ordering::Equal));
//! let n = Number::parse("-001.500").unwrap();
//! assert_eq!(n.to_string(), "-1.5");
//! assert!(matches!(Number::parse("1e9223372036854775807"), Err(NumberError::TooLarge { .. })));
//! assert!(matches!(Number::parse("NaN"), Err(NumberError::Syntax { .. })));
//! ```

use std::cmp::Ordering;
use std::fmt;

/// The most significant digits a DynamoDB number may have.
pub const MAX_DIGITS: usize = 38;

/// A non-zero number must be below `10^MAX_MAGNITUDE` in magnitude (`1E+126`).
pub const MAX_MAGNITUDE: i64 = 126;

/// A non-zero number must be at least `10^MIN_MAGNITUDE` in magnitude (`1E-130`).
pub const MIN_MAGNITUDE: i64 = -130;

/// Error texts quote at most this many bytes of the rejected number.
const QUOTED_LEN: usize = 48;

/// An exact decimal number: sign, significant digits and exponent.
///
/// Two `Number`s are equal exactly when they are the same decimal value, whatever their text
/// (`5`, `5.00`, `+0.5E1`); they order numerically.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number {
    /// Never set for zero.
    negative: bool,
    /// The significant digits (0 to 9), without leading or trailing zeros; empty for zero.
    digits: Vec<u8>,
    /// The value is `0.d1d2d3… × 10^exponent`; 0 for zero.
    exponent: i64,
}

/// Why a text is not a DynamoDB number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    /// The text is not a decimal number (e.g. `NaN`, `inf`, `1e`, `0x10`, ` 5`).
    #[error(
        "`{text}` is not a number: write an optional sign, digits with an optional decimal \
         point and an optional exponent, e.g. `-12.5e3`"
    )]
    Syntax {
        /// The text (shortened if long).
        text: String,
    },
    /// More than [`MAX_DIGITS`] significant digits.
    #[error(
        "`{text}` has {digits} significant digits and DynamoDB keeps at most 38: round it, \
         or store it as a string"
    )]
    TooManyDigits {
        /// The text (shortened if long).
        text: String,
        /// How many significant digits it has.
        digits: usize,
    },
    /// The magnitude is `1E+126` or more.
    #[error("`{text}` is too large for DynamoDB: a number's magnitude must be below 1E+126")]
    TooLarge {
        /// The text (shortened if long).
        text: String,
    },
    /// The magnitude is non-zero and below `1E-130`.
    #[error(
        "`{text}` is too small for DynamoDB: a non-zero number's magnitude must be at least 1E-130"
    )]
    TooSmall {
        /// The text (shortened if long).
        text: String,
    },
}

fn quoted(text: &str) -> String {
    if text.len() <= QUOTED_LEN {
        return text.to_owned();
    }
    let mut end = QUOTED_LEN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Splits `[+-]mantissa[(e|E)[+-]digits]` into sign, integer digits, fraction digits and
/// exponent text; `None` if the text has another shape.
fn split(text: &str) -> Option<(bool, &str, &str, Option<&str>)> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return None;
    }
    Some((negative, int_part, frac_part, exponent))
}

/// The exponent text (`[+-]digits`) as a number; `Err(true)` if it is too large for `i64`,
/// `Err(false)` if it is too small, `None` if it is not an exponent.
fn parse_exponent(text: &str) -> Option<Result<i64, bool>> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value: i64 = 0;
    for d in digits.bytes() {
        let next = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(d - b'0')));
        match next {
            Some(v) => value = v,
            None => return Some(Err(!negative)),
        }
    }
    Some(Ok(if negative { -value } else { value }))
}

impl Number {
    /// Parses a number as DynamoDB accepts it: the syntax, at most [`MAX_DIGITS`]
    /// significant digits and a magnitude of zero or from `1E-130` to below `1E+126`.
    ///
    /// Leading and trailing zeros are not significant (`1000000000000000000000000000000000000000000`
    /// is one digit). Surrounding whitespace is not accepted, as in DynamoDB.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let number = Number::parse_unbounded(text)?;
        if number.digits.len() > MAX_DIGITS {
            return Err(NumberError::TooManyDigits {
                text: quoted(text),
                digits: number.digits.len(),
            });
        }
        if number.is_zero() {
            return Ok(number);
        }
        // |value| lies in [10^(exponent-1), 10^exponent).
        if number.exponent > MAX_MAGNITUDE {
            return Err(NumberError::TooLarge { text: quoted(text) });
        }
        if number.exponent - 1 < MIN_MAGNITUDE {
            return Err(NumberError::TooSmall { text: quoted(text) });
        }
        Ok(number)
    }

    /// Parses a decimal number of any precision: only the syntax is checked (and that the
    /// exponent fits in an `i64`), not DynamoDB's limits. Comparisons use this, so that they
    /// stay exact on any input.
    pub fn parse_unbounded(text: &str) -> Result<Number, NumberError> {
        let syntax = || NumberError::Syntax { text: quoted(text) };
        let (negative, int_part, frac_part, exponent) = split(text).ok_or_else(syntax)?;
        let exponent = match exponent.map(parse_exponent) {
            None => Ok(0),
            Some(None) => return Err(syntax()),
            Some(Some(result)) => result,
        };
        let all = int_part.bytes().chain(frac_part.bytes()).map(|b| b - b'0');
        let leading = all.clone().take_while(|&d| d == 0).count();
        let mut digits: Vec<u8> = all.skip(leading).collect();
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            // Zero, whatever its exponent (as DynamoDB accepts `0e999`).
            return Ok(Number {
                negative: false,
                digits,
                exponent: 0,
            });
        }
        let too_large = || NumberError::TooLarge { text: quoted(text) };
        let too_small = || NumberError::TooSmall { text: quoted(text) };
        let exponent = exponent.map_err(|large| if large { too_large() } else { too_small() })?;
        // The position of the first significant digit relative to the decimal point.
        let shift = int_part.len() as i64 - leading as i64;
        let exponent = exponent.checked_add(shift).ok_or_else(|| {
            if shift > 0 {
                too_large()
            } else {
                too_small()
            }
        })?;
        Ok(Number {
            negative,
            digits,
            exponent,
        })
    }

    /// Whether the number is zero.
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Whether the number is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The decimal exponent of its leading digit, `floor(log10(|n|))`: 2 for `123`, -3 for
    /// `0.00123`; 0 for zero. DynamoDB accepts -130 to 125.
    pub fn exponent(&self) -> i64 {
        if self.is_zero() {
            0
        } else {
            self.exponent - 1
        }
    }

    /// How many significant digits it has (0 for zero).
    pub fn significant_digits(&self) -> usize {
        self.digits.len()
    }

    /// The bytes DynamoDB counts for this number in an item's size: the significant digits
    /// grouped in pairs aligned on the decimal point (base-100 digits), one byte a pair, one
    /// byte for the exponent, and one more for a negative number of fewer than 20 pairs. Zero
    /// takes 1 byte, `12` 2, `123` 3 (`01|23`), `-123` 4.
    pub fn stored_size(&self) -> usize {
        if self.is_zero() {
            return 1;
        }
        // An odd count of digits before the decimal point leaves the leading digit alone
        // in its pair.
        let odd = usize::from(self.exponent.rem_euclid(2) == 1);
        pairs_size(self.digits.len() + odd, self.negative)
    }

    fn cmp_magnitude(&self, other: &Number) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => self
                .exponent
                .cmp(&other.exponent)
                .then_with(|| self.digits.cmp(&other.digits)),
        }
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::str::FromStr for Number {
    type Err = NumberError;

    /// [`Number::parse`]: DynamoDB's syntax and limits.
    fn from_str(text: &str) -> Result<Number, NumberError> {
        Number::parse(text)
    }
}

/// The canonical text: plain decimal notation, no exponent, no superfluous zeros
/// (`-1.5`, `1000`, `0.001`, `0`). Equal numbers have equal text.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        let digits: String = self.digits.iter().map(|d| char::from(b'0' + d)).collect();
        let len = self.digits.len() as i64;
        if self.exponent <= 0 {
            let zeros = usize::try_from(-self.exponent).map_err(|_| fmt::Error)?;
            write!(f, "0.{}{digits}", "0".repeat(zeros))
        } else if self.exponent >= len {
            let zeros = usize::try_from(self.exponent - len).map_err(|_| fmt::Error)?;
            write!(f, "{digits}{}", "0".repeat(zeros))
        } else {
            let point = usize::try_from(self.exponent).map_err(|_| fmt::Error)?;
            write!(f, "{}.{}", &digits[..point], &digits[point..])
        }
    }
}

/// 1 byte for the exponent, one a pair of `digits` (rounded up), and one more for a negative
/// number of fewer than 20 pairs.
fn pairs_size(digits: usize, negative: bool) -> usize {
    let pairs = digits.div_ceil(2);
    1 + pairs + usize::from(negative && pairs < 20)
}

/// [`Number::parse`] then [`Number::stored_size`], without building the number for what
/// encoders write most: integers without leading zeros (`42`, `-7`, `1700000000000`).
#[inline]
pub fn stored_size(text: &str) -> Result<usize, NumberError> {
    let (negative, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        bytes => (false, bytes),
    };
    if let [b'1'..=b'9', rest @ ..] = digits {
        if digits.len() <= MAX_DIGITS && rest.iter().all(u8::is_ascii_digit) {
            let trailing_zeros = digits.iter().rev().take_while(|&&d| d == b'0').count();
            let odd = digits.len() % 2;
            return Ok(pairs_size(digits.len() - trailing_zeros + odd, negative));
        }
    }
    Number::parse(text).map(|number| number.stored_size())
}

/// Compares two numbers given as text, exactly; `None` if either is not a number.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(
        Number::parse_unbounded(a)
            .ok()?
            .cmp(&Number::parse_unbounded(b).ok()?),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn compares_exactly() {
        assert_eq!(compare("10", "9"), Some(Ordering::Greater));
        assert_eq!(compare("5", "5.000"), Some(Ordering::Equal));
        assert_eq!(compare("-3", "2"), Some(Ordering::Less));
        assert_eq!(compare("-3", "-20"), Some(Ordering::Greater));
        assert_eq!(compare("0.001", "1e-3"), Some(Ordering::Equal));
        assert_eq!(compare("-0", "0"), Some(Ordering::Equal));
        assert_eq!(compare("0", "0.5"), Some(Ordering::Less));
        assert_eq!(compare("-0.5", "0"), Some(Ordering::Less));
        assert_eq!(
            compare("9007199254740993", "9007199254740992"),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare(
                "12345678901234567890123456789012345678",
                "12345678901234567890123456789012345679"
            ),
            Some(Ordering::Less)
        );
        assert_eq!(compare("1.5", "abc"), None);
        assert_eq!(compare("", "1"), None);
    }

    #[test]
    fn equal_numbers_are_equal_values_with_equal_text() {
        for (a, b) in [
            ("7", "7.0"),
            ("7", "0007"),
            ("7", "+0.7e1"),
            ("700", "7E2"),
            ("0", "-0.000"),
            ("0", "0e999"),
            ("-1.5", "-15e-1"),
            ("5", "5."),
            ("0.5", ".5"),
        ] {
            assert_eq!(n(a), n(b), "{a} = {b}");
            assert_eq!(n(a).to_string(), n(b).to_string());
        }
        assert_ne!(n("9007199254740993"), n("9007199254740992"));
        assert_eq!(n("-001.500").to_string(), "-1.5");
        assert_eq!(n("1e3").to_string(), "1000");
        assert_eq!(n("1e-3").to_string(), "0.001");
        assert_eq!(n("12.34").to_string(), "12.34");
        assert_eq!((n("123").exponent(), n("123").significant_digits()), (2, 3));
        assert_eq!(
            (n("0.00123").exponent(), n("-1.5e-130").exponent()),
            (-3, -130)
        );
        assert_eq!(n("0").exponent(), 0);
    }

    #[test]
    fn stored_sizes_follow_the_digit_pair_rule() {
        let size = |t: &str| n(t).stored_size();
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

    #[test]
    fn the_integer_fast_path_agrees_with_the_parser() {
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
            texts.push(format!("{x}{x}")); // up to 40 digits
        }
        for t in &texts {
            let slow = Number::parse(t).map(|n| n.stored_size());
            assert_eq!(stored_size(t), slow, "{t}");
        }
    }

    #[test]
    fn dynamodb_limits() {
        // As DynamoDB Local answers a PutItem of each.
        n("9.9999999999999999999999999999999999999e125");
        n("1e-130");
        n("-1e-130");
        n("1000000000000000000000000000000000000000000"); // one significant digit
        n("12345678901234567890123456789012345678"); // 38 digits
        assert!(matches!(
            Number::parse("1234567890123456789012345678901234567891"),
            Err(NumberError::TooManyDigits { digits: 40, .. })
        ));
        assert!(matches!(
            Number::parse("1e126"),
            Err(NumberError::TooLarge { .. })
        ));
        assert!(matches!(
            Number::parse("-1e126"),
            Err(NumberError::TooLarge { .. })
        ));
        assert!(matches!(
            Number::parse("0.9e-130"),
            Err(NumberError::TooSmall { .. })
        ));
        assert!(matches!(
            Number::parse("1e-131"),
            Err(NumberError::TooSmall { .. })
        ));
    }

    #[test]
    fn huge_exponents_are_errors_not_overflows() {
        for text in [
            "1e9223372036854775807",
            "1e9223372036854775808",
            "1e99999999999999999999999",
            "12345e9223372036854775807",
        ] {
            assert!(
                matches!(Number::parse(text), Err(NumberError::TooLarge { .. })),
                "{text}"
            );
            assert!(Number::parse_unbounded(text).is_err(), "{text}");
        }
        for text in [
            "1e-9223372036854775808",
            "0.0001e-9223372036854775807",
            "1e-99999999999999999999999",
        ] {
            assert!(
                matches!(Number::parse(text), Err(NumberError::TooSmall { .. })),
                "{text}"
            );
        }
        assert_eq!(compare("1e9223372036854775807", "1"), None);
    }

    #[test]
    fn malformed_text_is_a_syntax_error() {
        for text in [
            "", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", " 5", "5 ", "NaN", "inf", "-inf",
            "0x10", "1_000", "1,5", "--1", "1e5.5", "١",
        ] {
            assert!(
                matches!(Number::parse(text), Err(NumberError::Syntax { .. })),
                "{text:?}"
            );
        }
        let long = "9".repeat(1000) + "x";
        let message = Number::parse(&long).unwrap_err().to_string();
        assert!(message.len() < 300, "the text is shortened: {message}");
    }
}
