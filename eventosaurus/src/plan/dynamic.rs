//! Conditions from text, typed by a registered [`TableDef`]: the dynamic layer under the
//! typed builder, used by `eventosaurus-cli query` and usable by any tool that takes
//! conditions at run time.
//!
//! The result is a plain [`Condition`], planned by the same [`Plan::build`](super::Plan::build)
//! and executed by the same executor as the typed builder's conditions.
//!
//! # Syntax
//!
//! `ATTRIBUTE OPERATOR VALUE`, where `ATTRIBUTE` is a stored attribute of the table
//! (`event_uuid` and `created_at` included) and `OPERATOR` is one of
//!
//! | operator | meaning | example |
//! |---|---|---|
//! | `=` | EQ | `person_id=5` |
//! | `!=` or `<>` | NE | `phone_number != 555-0100` |
//! | `<` `<=` `>` `>=` | LT LE GT GE | `created_at>2015-01-04` |
//! | `in` | IN, 1 to 100 comma-separated values | `person_id in 1,2,3` |
//! | `between` | BETWEEN, two comma-separated values, both included | `created_at between 2015-01-01,2015-02-01` |
//! | `begins_with` | BEGINS_WITH (string attributes) | `phone_number begins_with 555` |
//! | `contains` | CONTAINS (string attributes) | `phone_number contains 01` |
//! | `not_contains` | NOT_CONTAINS (string attributes) | `phone_number not_contains 99` |
//!
//! Symbolic operators may be written with or without spaces around them; word operators
//! (any case) need whitespace on both sides. The value is the rest of the text with the
//! surrounding whitespace removed, so it may contain spaces and `=`. A value (or one value of
//! a list) written in double quotes is a JSON string, e.g. `" 555"`, `""` or `"a,b"`: use that
//! for leading or trailing spaces, the empty string, or a comma inside an `in`/`between` value.
//!
//! Values are typed by the attribute: `N` for number attributes (checked to be a number),
//! `S` for strings (and `event_uuid`, `created_at`), `BOOL` (`true`/`false`) for booleans.
//! Attributes of other types (lists, maps, options, nested structs) are refused.
//!
//! ```
//! use eventosaurus::query::{Condition, Operator};
//! use eventosaurus::table::{AttributeDef, AttributeType, KeyAttributeType, TableDef};
//! use aws_sdk_dynamodb::types::AttributeValue;
//!
//! const DEF: TableDef = TableDef {
//!     name: "phone_call",
//!     event_type: "PhoneCall",
//!     partition_key: "person_id",
//!     partition_key_type: KeyAttributeType::Number,
//!     composite_key: &[],
//!     attributes: &[
//!         AttributeDef { name: "person_id", field: "person_id", attribute_type: AttributeType::Number },
//!         AttributeDef { name: "phone_number", field: "phone_number", attribute_type: AttributeType::String },
//!     ],
//!     linked: None,
//!     shard_by: None,
//!     ttl: None,
//!     indexes: &[],
//!     version: 1,
//! };
//! let c = Condition::parse(&DEF, "person_id in 1,2").unwrap();
//! assert_eq!(c.operator, Operator::In);
//! assert_eq!(c.values, [AttributeValue::N("1".into()), AttributeValue::N("2".into())]);
//! let c = Condition::parse(&DEF, "phone_number begins_with 555").unwrap();
//! assert_eq!(c.values, [AttributeValue::S("555".into())]);
//! assert!(Condition::parse(&DEF, "person_id=five").is_err());
//! ```

use aws_sdk_dynamodb::types::AttributeValue;

use super::condition::{Condition, Operator};
use crate::number::Number;
use crate::schema::{AttributeType, TableDef, CREATED_AT, EVENT_UUID};

/// Why a condition given as text was refused. Each message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseConditionError {
    /// The text is not `ATTRIBUTE OPERATOR VALUE`.
    #[error("{reason}")]
    Syntax {
        /// What is wrong.
        reason: String,
    },
    /// The table has no attribute of that name.
    #[error(
        "unknown attribute `{attribute}` of table `{table}`; its attributes are: {}",
        known.join(", ")
    )]
    UnknownAttribute {
        /// The logical table name.
        table: String,
        /// The attribute asked for.
        attribute: String,
        /// The attributes conditions can be given on.
        known: Vec<String>,
    },
    /// The attribute is a list, map, option or nested struct: no text form.
    #[error(
        "attribute `{attribute}` of table `{table}` is a list, map, option or nested struct: \
         conditions on it cannot be given as text; usable attributes: {}",
        known.join(", ")
    )]
    UnsupportedAttribute {
        /// The logical table name.
        table: String,
        /// The attribute asked for.
        attribute: String,
        /// The attributes conditions can be given on.
        known: Vec<String>,
    },
    /// A value does not suit the attribute or the operator.
    #[error("{reason}")]
    Value {
        /// What is wrong.
        reason: String,
    },
}

/// The attributes of `def` that conditions can be given on: its scalar attributes (number,
/// string, bool) in declaration order, then `event_uuid` and `created_at`.
pub fn queryable_attributes(def: &TableDef) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = def
        .attributes
        .iter()
        .filter(|a| a.attribute_type != AttributeType::Other)
        .map(|a| a.name)
        .collect();
    if !names.contains(&def.partition_key) {
        names.insert(0, def.partition_key);
    }
    names.extend([EVENT_UUID, CREATED_AT]);
    names
}

/// The type of attribute `name` of `def` (the partition key, `event_uuid` and `created_at`
/// included), if it has one.
pub fn attribute_type(def: &TableDef, name: &str) -> Option<AttributeType> {
    def.attribute_type(name).or_else(|| {
        (name == def.partition_key).then_some(match def.partition_key_type {
            crate::schema::KeyAttributeType::Number => AttributeType::Number,
            crate::schema::KeyAttributeType::String => AttributeType::String,
        })
    })
}

const SYMBOLS: [(&str, Operator); 7] = [
    ("<=", Operator::Le),
    (">=", Operator::Ge),
    ("!=", Operator::Ne),
    ("<>", Operator::Ne),
    ("=", Operator::Eq),
    ("<", Operator::Lt),
    (">", Operator::Gt),
];

const WORDS: [(&str, Operator); 5] = [
    ("in", Operator::In),
    ("between", Operator::Between),
    ("begins_with", Operator::BeginsWith),
    ("contains", Operator::Contains),
    ("not_contains", Operator::NotContains),
];

const OPERATORS: &str = "= != < <= > >= in between begins_with contains not_contains";

fn syntax(reason: impl Into<String>) -> ParseConditionError {
    ParseConditionError::Syntax {
        reason: reason.into(),
    }
}

fn bad_value(reason: impl Into<String>) -> ParseConditionError {
    ParseConditionError::Value {
        reason: reason.into(),
    }
}

/// The operator at the start of `rest` (what follows `attribute`), and the text after it.
fn split_operator<'t>(
    attribute: &str,
    rest: &'t str,
) -> Result<(Operator, &'t str), ParseConditionError> {
    if let Some((symbol, operator)) = SYMBOLS.iter().find(|(symbol, _)| rest.starts_with(symbol)) {
        return Ok((*operator, &rest[symbol.len()..]));
    }
    let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let word = &rest[..word_end];
    match WORDS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
    {
        Some((_, operator)) => Ok((*operator, &rest[word_end..])),
        None if word.is_empty() => Err(syntax(format!(
            "no operator after `{attribute}`: expected one of {OPERATORS}"
        ))),
        None => Err(syntax(format!(
            "unknown operator `{word}` after `{attribute}`: expected one of {OPERATORS}"
        ))),
    }
}

/// Parses `ATTRIBUTE OPERATOR VALUE` (see the [module documentation](self)) into a
/// condition on a table of `def`, with values typed by the attribute's type.
pub fn parse_condition(def: &TableDef, text: &str) -> Result<Condition, ParseConditionError> {
    let text = text.trim();
    let attribute_end = text
        .find(|c: char| c.is_whitespace() || "=!<>".contains(c))
        .unwrap_or(text.len());
    let attribute = &text[..attribute_end];
    if attribute.is_empty() {
        return Err(syntax(
            "expected ATTRIBUTE OPERATOR VALUE, e.g. `person_id=5`, but no attribute comes first",
        ));
    }
    let rest = text[attribute_end..].trim_start();
    let (operator, value) = split_operator(attribute, rest)?;
    let attribute_type = match attribute_type(def, attribute) {
        Some(AttributeType::Other) => {
            return Err(ParseConditionError::UnsupportedAttribute {
                table: def.name.to_owned(),
                attribute: attribute.to_owned(),
                known: known(def),
            })
        }
        Some(t) => t,
        None => {
            return Err(ParseConditionError::UnknownAttribute {
                table: def.name.to_owned(),
                attribute: attribute.to_owned(),
                known: known(def),
            })
        }
    };
    check_operator(attribute, attribute_type, operator)?;
    let raw_values = match operator {
        Operator::In | Operator::Between => split_list(value)?,
        _ => vec![single_value(value)?],
    };
    if raw_values.is_empty() || raw_values.iter().any(Option::is_none) {
        return Err(syntax(format!(
            "missing value after `{attribute} {}`",
            operator_text(operator)
        )));
    }
    let raw_values: Vec<String> = raw_values.into_iter().flatten().collect();
    let (min, max) = operator.arity();
    if raw_values.len() < min || raw_values.len() > max {
        let expected = match operator {
            Operator::Between => "two values, LOW,HIGH".to_owned(),
            _ => format!("{min} to {max} comma-separated values"),
        };
        return Err(syntax(format!(
            "`{attribute} {}` takes {expected}, got {}",
            operator_text(operator),
            raw_values.len()
        )));
    }
    let values = raw_values
        .iter()
        .map(|raw| typed_value(attribute, attribute_type, raw))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Condition::new(attribute, operator, values))
}

fn known(def: &TableDef) -> Vec<String> {
    queryable_attributes(def)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn operator_text(operator: Operator) -> &'static str {
    SYMBOLS
        .iter()
        .chain(WORDS.iter())
        .find(|(_, o)| *o == operator)
        .map(|(text, _)| *text)
        .unwrap_or("?")
}

fn type_name(attribute_type: AttributeType) -> &'static str {
    match attribute_type {
        AttributeType::Number => "a number",
        AttributeType::String => "a string",
        AttributeType::Bool => "a bool",
        AttributeType::Other => "a list, map, option or nested struct",
    }
}

fn check_operator(
    attribute: &str,
    attribute_type: AttributeType,
    operator: Operator,
) -> Result<(), ParseConditionError> {
    let refused = match operator {
        Operator::BeginsWith | Operator::Contains | Operator::NotContains => {
            attribute_type != AttributeType::String
        }
        Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge | Operator::Between => {
            attribute_type == AttributeType::Bool
        }
        Operator::Eq | Operator::Ne | Operator::In => false,
    };
    if refused {
        let needs = match operator {
            Operator::BeginsWith | Operator::Contains | Operator::NotContains => {
                "a string attribute"
            }
            _ => "a number or string attribute",
        };
        return Err(bad_value(format!(
            "`{}` needs {needs}, and `{attribute}` is {}",
            operator_text(operator),
            type_name(attribute_type)
        )));
    }
    Ok(())
}

/// One value: `None` when there is none. A leading `"` starts a JSON string.
fn single_value(text: &str) -> Result<Option<String>, ParseConditionError> {
    let text = text.trim();
    if text.starts_with('"') {
        let (value, rest) = json_string(text)?;
        if !rest.trim().is_empty() {
            return Err(syntax(format!(
                "unexpected `{}` after the quoted value",
                rest.trim()
            )));
        }
        return Ok(Some(value));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// Comma-separated values; each is trimmed, and may be a JSON string. `None` for an empty one.
fn split_list(text: &str) -> Result<Vec<Option<String>>, ParseConditionError> {
    let mut values = Vec::new();
    let mut rest = text.trim();
    if rest.is_empty() {
        return Ok(values);
    }
    loop {
        let trimmed = rest.trim_start();
        let (value, after) = if trimmed.starts_with('"') {
            let (value, after) = json_string(trimmed)?;
            let after = after.trim_start();
            if !after.is_empty() && !after.starts_with(',') {
                return Err(syntax(format!(
                    "expected `,` after a quoted value, found `{after}`"
                )));
            }
            (Some(value), after)
        } else {
            let end = trimmed.find(',').unwrap_or(trimmed.len());
            let value = trimmed[..end].trim();
            (
                (!value.is_empty()).then(|| value.to_owned()),
                &trimmed[end..],
            )
        };
        values.push(value);
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None => return Ok(values),
        }
    }
}

/// A JSON string at the start of `text`, and what follows it.
fn json_string(text: &str) -> Result<(String, &str), ParseConditionError> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<String>();
    match stream.next() {
        Some(Ok(value)) => {
            let end = stream.byte_offset();
            Ok((value, &text[end..]))
        }
        _ => Err(syntax(format!(
            "unterminated or invalid quoted value `{text}`"
        ))),
    }
}

fn typed_value(
    attribute: &str,
    attribute_type: AttributeType,
    raw: &str,
) -> Result<AttributeValue, ParseConditionError> {
    match attribute_type {
        AttributeType::Number => {
            let n = raw.trim();
            match Number::parse(n) {
                Ok(_) => Ok(AttributeValue::N(n.to_owned())),
                Err(e) => Err(bad_value(format!("`{attribute}` is a number, and {e}"))),
            }
        }
        AttributeType::String => Ok(AttributeValue::S(raw.to_owned())),
        AttributeType::Bool => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(AttributeValue::Bool(true)),
            "false" => Ok(AttributeValue::Bool(false)),
            _ => Err(bad_value(format!(
                "`{attribute}` is a bool, and `{raw}` is neither `true` nor `false`"
            ))),
        },
        AttributeType::Other => Err(bad_value(format!(
            "`{attribute}` is {}",
            type_name(attribute_type)
        ))),
    }
}

/// Parses several conditions (all must hold), stopping at the first error.
pub fn parse_conditions<'a>(
    def: &TableDef,
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Condition>, ParseConditionError> {
    texts
        .into_iter()
        .map(|text| parse_condition(def, text))
        .collect()
}

impl Condition {
    /// Parses `ATTRIBUTE OPERATOR VALUE`, e.g. `person_id=5` or
    /// `created_at between 2015-01-01,2015-02-01`, typed by the attributes of `def`. See
    /// [`dynamic`](super::dynamic) for the syntax.
    pub fn parse(def: &TableDef, text: &str) -> Result<Condition, ParseConditionError> {
        parse_condition(def, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AttributeDef, KeyAttributeType};

    const DEF: TableDef = TableDef {
        name: "phone_call",
        event_type: "PhoneCall",
        partition_key: "person_id",
        partition_key_type: KeyAttributeType::Number,
        composite_key: &[],
        attributes: &[
            AttributeDef {
                name: "person_id",
                field: "person_id",
                attribute_type: AttributeType::Number,
            },
            AttributeDef {
                name: "phone_number",
                field: "phone_number",
                attribute_type: AttributeType::String,
            },
            AttributeDef {
                name: "answered",
                field: "answered",
                attribute_type: AttributeType::Bool,
            },
            AttributeDef {
                name: "tags",
                field: "tags",
                attribute_type: AttributeType::Other,
            },
        ],
        linked: None,
        shard_by: None,
        ttl: None,
        indexes: &[],
        version: 1,
    };

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.to_owned())
    }
    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }
    fn parse(text: &str) -> Condition {
        Condition::parse(&DEF, text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }
    fn err(text: &str) -> ParseConditionError {
        match Condition::parse(&DEF, text) {
            Ok(c) => panic!("{text:?} parsed as {c:?}"),
            Err(e) => {
                assert!(!e.to_string().contains('\n'), "{e}");
                e
            }
        }
    }

    #[test]
    fn every_operator() {
        let cases: &[(&str, Operator, Vec<AttributeValue>)] = &[
            ("person_id=5", Operator::Eq, vec![n("5")]),
            ("person_id = 5", Operator::Eq, vec![n("5")]),
            ("person_id!=5", Operator::Ne, vec![n("5")]),
            ("person_id <> -5", Operator::Ne, vec![n("-5")]),
            ("person_id<5", Operator::Lt, vec![n("5")]),
            ("person_id<=5.5", Operator::Le, vec![n("5.5")]),
            ("person_id>1e3", Operator::Gt, vec![n("1e3")]),
            ("person_id >= 0", Operator::Ge, vec![n("0")]),
            (
                "person_id in 1, 2,3",
                Operator::In,
                vec![n("1"), n("2"), n("3")],
            ),
            ("person_id IN 7", Operator::In, vec![n("7")]),
            (
                "person_id between 1,9",
                Operator::Between,
                vec![n("1"), n("9")],
            ),
            (
                "created_at between 2015-01-01,2015-02-01",
                Operator::Between,
                vec![s("2015-01-01"), s("2015-02-01")],
            ),
            ("created_at>2015-01-04", Operator::Gt, vec![s("2015-01-04")]),
            (
                "event_uuid begins_with ab",
                Operator::BeginsWith,
                vec![s("ab")],
            ),
            (
                "phone_number begins_with 555",
                Operator::BeginsWith,
                vec![s("555")],
            ),
            (
                "phone_number contains 0 1",
                Operator::Contains,
                vec![s("0 1")],
            ),
            (
                "phone_number NOT_CONTAINS x",
                Operator::NotContains,
                vec![s("x")],
            ),
            (
                "answered = true",
                Operator::Eq,
                vec![AttributeValue::Bool(true)],
            ),
            (
                "answered!=FALSE",
                Operator::Ne,
                vec![AttributeValue::Bool(false)],
            ),
        ];
        for (text, operator, values) in cases {
            let c = parse(text);
            assert_eq!(&c.operator, operator, "{text}");
            assert_eq!(&c.values, values, "{text}");
        }
        for (_, operator) in SYMBOLS.iter().chain(WORDS.iter()) {
            assert!(Operator::ALL.contains(operator));
        }
        assert_eq!(
            Operator::ALL.len(),
            SYMBOLS.len() + WORDS.len() - 1,
            "every operator has a text form (NE has two)"
        );
    }

    #[test]
    fn values_keep_spaces_equals_and_quotes() {
        assert_eq!(parse("phone_number=a = b").values, [s("a = b")]);
        assert_eq!(parse("phone_number==x").values, [s("=x")]);
        assert_eq!(parse("phone_number = \" 555 \"").values, [s(" 555 ")]);
        assert_eq!(parse("phone_number=\"\"").values, [s("")]);
        assert_eq!(
            parse("phone_number in \"a,b\", c ,\"\\\"q\\\"\"").values,
            [s("a,b"), s("c"), s("\"q\"")]
        );
        assert_eq!(parse("phone_number begins_with in").values, [s("in")]);
        // The attribute ends at the operator, even without spaces.
        assert_eq!(parse("phone_number>=5").attribute, "phone_number");
        assert_eq!(parse("phone_number>=5").values, [s("5")]);
    }

    #[test]
    fn malformed_text_is_a_syntax_error() {
        for text in [
            "",
            "=5",
            "person_id",
            "person_id 5",
            "person_id like 5",
            "person_id=",
            "person_id in",
            "person_id in 1,,2",
            "person_id between 1",
            "person_id between 1,2,3",
            "phone_number=\"unterminated",
            "phone_number=\"a\" b",
            "phone_number in \"a\" b",
        ] {
            assert!(
                matches!(err(text), ParseConditionError::Syntax { .. }),
                "{text:?}: {:?}",
                err(text)
            );
        }
        let many = format!(
            "person_id in {}",
            (0..101)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(matches!(err(&many), ParseConditionError::Syntax { .. }));
    }

    #[test]
    fn values_are_checked_against_the_attribute_type() {
        for text in [
            "person_id=five",
            "person_id=0x10",
            "person_id in 1,x",
            "person_id begins_with 5",
            "answered=yes",
            "answered>true",
            "answered contains t",
            "person_id=NaN",
            "person_id=1e9223372036854775807",
            "person_id in 1,1e-9223372036854775808",
            "person_id=12345678901234567890123456789012345678901",
        ] {
            assert!(
                matches!(err(text), ParseConditionError::Value { .. }),
                "{text:?}: {:?}",
                err(text)
            );
        }
    }

    #[test]
    fn huge_numbers_are_clear_errors() {
        let message = err("person_id=1e9223372036854775807").to_string();
        assert_eq!(
            message,
            "`person_id` is a number, and `1e9223372036854775807` is too large for DynamoDB: \
             a number's magnitude must be below 1E+126"
        );
        assert_eq!(
            parse("person_id=9007199254740993").values,
            [n("9007199254740993")],
            "kept exactly as written"
        );
    }

    #[test]
    fn unknown_and_unsupported_attributes_list_the_usable_ones() {
        let e = err("nope=1");
        assert!(matches!(e, ParseConditionError::UnknownAttribute { .. }));
        assert_eq!(
            e.to_string(),
            "unknown attribute `nope` of table `phone_call`; its attributes are: person_id, \
             phone_number, answered, event_uuid, created_at"
        );
        let e = err("tags contains a");
        assert!(matches!(
            e,
            ParseConditionError::UnsupportedAttribute { .. }
        ));
        assert!(
            e.to_string().contains("usable attributes: person_id"),
            "{e}"
        );
    }

    #[test]
    fn parsed_conditions_plan_like_typed_ones() {
        use crate::plan::{Plan, QueryOptions, Select};
        let conditions = parse_conditions(&DEF, ["person_id=5", "created_at>2015-01-04"]).unwrap();
        let plan = Plan::build(
            &DEF,
            "dev",
            &conditions,
            &QueryOptions::default(),
            Select::Items,
        )
        .unwrap();
        assert_eq!(plan.index.as_deref(), Some("created_at_index"));
        assert_eq!(
            plan.key_condition[1],
            Condition::new("created_at", Operator::Gt, vec![s("2015-01-04")])
        );
    }
}
