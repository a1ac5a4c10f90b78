//! The naming rules of eventosaurus tables, in one place.
//!
//! A table is named `<prefix>_<table>`. DynamoDB allows 3 to 255 characters of
//! `[a-zA-Z0-9_.-]`; eventosaurus splits them as:
//!
//! * the **environment prefix**: 1 to [`MAX_PREFIX_LEN`] characters of `[a-zA-Z0-9.-]`, never
//!   `_`, so that the first `_` of a full name ends the prefix and every table belongs to
//!   exactly one environment (see [`config`](crate::config#environment-prefixes));
//! * the **table name** an event type declares: 1 to [`MAX_TABLE_LEN`] characters of
//!   `[a-zA-Z0-9_.-]`.
//!
//! The checks are `const fn`s: `#[derive(Storable)]` evaluates [`check_table_name`] at compile
//! time (a bad name is a compile error on the `table = ".."` literal, with
//! [`NameError::message`]), and [`Config`](crate::Config), query plans and the CLI's
//! definitions files call the same functions at run time.
//!
//! ```
//! use eventosaurus::name::{check_prefix, check_table_name, NameError};
//! assert_eq!(check_table_name("phone_call"), Ok(()));
//! assert_eq!(check_prefix("staging-eu"), Ok(()));
//! assert_eq!(check_prefix("dev_x"), Err(NameError::Separator { index: 3 }));
//! assert_eq!(check_table_name("phone call"), Err(NameError::BadCharacter { index: 5 }));
//! ```

use std::fmt;

/// The character that separates the prefix from the table name.
pub const SEPARATOR: char = '_';
/// DynamoDB's longest table name.
pub const MAX_FULL_NAME_LEN: usize = 255;
/// The longest environment prefix, leaving room for a table name.
pub const MAX_PREFIX_LEN: usize = 128;
/// The longest table name an event type may declare: `<prefix>_<table>` stays within
/// DynamoDB's 255 characters with the longest prefix.
pub const MAX_TABLE_LEN: usize = MAX_FULL_NAME_LEN - MAX_PREFIX_LEN - 1;

/// Why a name breaks the rules. Indexes are byte offsets into the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name has `len` bytes; at least `min` are needed (index names: 3).
    TooShort {
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// The name has `len` bytes; at most `max` are allowed.
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The character at `index` is not one of `[a-zA-Z0-9_.-]`.
    BadCharacter {
        /// Where it starts.
        index: usize,
    },
    /// A prefix contains the separator `_` at `index`.
    Separator {
        /// Where.
        index: usize,
    },
}

impl NameError {
    /// A fixed message about a **table name**, as the compile-time check of the derive prints
    /// it (a `const` panic cannot format).
    pub const fn message(&self) -> &'static str {
        match self {
            NameError::Empty => "the table name is empty",
            NameError::TooShort { .. } => "the table name is too short",
            NameError::TooLong { .. } => {
                "the table name is too long: at most 126 characters, so that `<prefix>_<table>` \
                 stays within DynamoDB's 255 with a prefix of up to 128"
            }
            NameError::BadCharacter { .. } => {
                "DynamoDB would reject this table name: use only letters, digits, `_`, `-` and `.`"
            }
            NameError::Separator { .. } => {
                "`_` separates the prefix from the table name and is not allowed in a prefix"
            }
        }
    }

    /// A fixed message about an **index name**, as the derive's compile-time check of
    /// `index(name = "..")` prints it.
    pub const fn index_message(&self) -> &'static str {
        match self {
            NameError::Empty | NameError::TooShort { .. } => {
                "the index name is too short: DynamoDB index names have 3 to 255 characters"
            }
            NameError::TooLong { .. } => {
                "the index name is too long: DynamoDB index names have 3 to 255 characters"
            }
            NameError::BadCharacter { .. } | NameError::Separator { .. } => {
                "DynamoDB would reject this index name: use only letters, digits, `_`, `-` and `.`"
            }
        }
    }

    /// The reason, naming the offending character of `name` (the name that was checked).
    pub fn reason(&self, name: &str) -> String {
        let at = |index: usize| name.get(index..).and_then(|rest| rest.chars().next());
        match *self {
            NameError::Empty => "it is empty".to_owned(),
            NameError::TooShort { len, min } => {
                format!("it is {len} characters; at least {min} are needed")
            }
            NameError::TooLong { len, max } => {
                format!("it is {len} characters; at most {max} are allowed")
            }
            NameError::BadCharacter { index } => match at(index) {
                Some(c) => format!(
                    "{c:?} is not allowed in a DynamoDB table name (use letters, digits, `_`, \
                     `-` and `.`)"
                ),
                None => self.message().to_owned(),
            },
            NameError::Separator { .. } => format!(
                "`_` is not allowed in a prefix: it separates the prefix from the table name, and \
                 a prefix containing it could name another environment's tables (prefix `dev_x` \
                 with table `audit` is prefix `dev` with table `x_audit`); use `-` or `.` \
                 instead, e.g. {:?}",
                name.replace(SEPARATOR, "-")
            ),
        }
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NameError::Empty => f.write_str("the name is empty"),
            NameError::TooShort { len, min } => {
                write!(f, "the name is {len} characters; at least {min} are needed")
            }
            NameError::TooLong { len, max } => {
                write!(f, "the name is {len} characters; at most {max} are allowed")
            }
            NameError::BadCharacter { index } => write!(
                f,
                "the character at byte {index} is not allowed (use letters, digits, `_`, `-` and `.`)"
            ),
            NameError::Separator { index } => write!(
                f,
                "`_` (at byte {index}) is not allowed in a prefix: it separates the prefix from \
                 the table name"
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// Whether DynamoDB allows the byte in a table name: `[a-zA-Z0-9_.-]`.
pub const fn is_table_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// Length, then characters; `_` is a [`NameError::Separator`] unless `allow_separator`.
const fn check(name: &str, max: usize, allow_separator: bool) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Err(NameError::Empty);
    }
    if bytes.len() > max {
        return Err(NameError::TooLong {
            len: bytes.len(),
            max,
        });
    }
    let mut index = 0;
    while index < bytes.len() {
        let b = bytes[index];
        if b == b'_' && !allow_separator {
            return Err(NameError::Separator { index });
        }
        if !is_table_name_byte(b) {
            return Err(NameError::BadCharacter { index });
        }
        index += 1;
    }
    Ok(())
}

/// Checks the table name an event type declares (without the prefix).
pub const fn check_table_name(name: &str) -> Result<(), NameError> {
    check(name, MAX_TABLE_LEN, true)
}

/// The shortest index name DynamoDB accepts.
pub const MIN_INDEX_NAME_LEN: usize = 3;
/// The longest index name DynamoDB accepts.
pub const MAX_INDEX_NAME_LEN: usize = 255;

/// Checks the name of a global secondary index (`index(name = "..")`): 3 to 255 characters
/// of `[a-zA-Z0-9_.-]`, as DynamoDB requires.
///
/// ```
/// use eventosaurus::name::{check_index_name, NameError};
/// assert_eq!(check_index_name("by_phone"), Ok(()));
/// assert_eq!(check_index_name("by"), Err(NameError::TooShort { len: 2, min: 3 }));
/// assert_eq!(check_index_name("by phone"), Err(NameError::BadCharacter { index: 2 }));
/// ```
pub const fn check_index_name(name: &str) -> Result<(), NameError> {
    if name.len() < MIN_INDEX_NAME_LEN {
        return Err(NameError::TooShort {
            len: name.len(),
            min: MIN_INDEX_NAME_LEN,
        });
    }
    check(name, MAX_INDEX_NAME_LEN, true)
}

/// Checks an environment prefix: like a table name, but at most [`MAX_PREFIX_LEN`]
/// characters and without `_`.
pub const fn check_prefix(prefix: &str) -> Result<(), NameError> {
    check(prefix, MAX_PREFIX_LEN, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        for good in [
            "a",
            "phone_call",
            "x_audit",
            "A-b.c_9",
            &"t".repeat(MAX_TABLE_LEN),
        ] {
            assert_eq!(check_table_name(good), Ok(()), "{good}");
        }
        assert_eq!(check_table_name(""), Err(NameError::Empty));
        assert_eq!(
            check_table_name(&"t".repeat(MAX_TABLE_LEN + 1)),
            Err(NameError::TooLong { len: 127, max: 126 })
        );
        let err = check_table_name("caf\u{e9}").unwrap_err();
        assert_eq!(err, NameError::BadCharacter { index: 3 });
        assert_eq!(
            err.reason("caf\u{e9}"),
            "'\u{e9}' is not allowed in a DynamoDB table name (use letters, digits, `_`, `-` and `.`)"
        );
    }

    #[test]
    fn prefixes() {
        for good in ["dev", "dev-x", "dev.x", "Prod2", "t123x4-name"] {
            assert_eq!(check_prefix(good), Ok(()), "{good}");
        }
        for bad in ["_", "dev_", "_dev", "a_b_c"] {
            assert!(
                matches!(check_prefix(bad), Err(NameError::Separator { .. })),
                "{bad}"
            );
        }
        assert!(check_prefix(&"p".repeat(MAX_PREFIX_LEN)).is_ok());
        assert!(check_prefix(&"p".repeat(MAX_PREFIX_LEN + 1)).is_err());
        assert!(check_prefix("bad prefix").is_err());
        let reason = check_prefix("dev_x").unwrap_err().reason("dev_x");
        assert!(
            reason.contains("`_` is not allowed") && reason.contains("\"dev-x\""),
            "{reason}"
        );
        // The longest prefix and the longest table name make the longest DynamoDB name.
        assert_eq!(MAX_PREFIX_LEN + 1 + MAX_TABLE_LEN, MAX_FULL_NAME_LEN);
    }

    #[test]
    fn evaluates_at_compile_time() {
        const GOOD: Result<(), NameError> = check_table_name("phone_call");
        const BAD: Result<(), NameError> = check_table_name("phone call!");
        assert_eq!(GOOD, Ok(()));
        assert_eq!(BAD, Err(NameError::BadCharacter { index: 5 }));
        // The fixed message states the limit.
        let too_long = NameError::TooLong { len: 0, max: 0 }.message();
        assert!(too_long.contains(&MAX_TABLE_LEN.to_string()), "{too_long}");
        assert!(too_long.contains(&MAX_PREFIX_LEN.to_string()), "{too_long}");
    }
}
