//! The attribute names the derive declares (`TableDef::attributes`, used by queries and the
//! CLI) are exactly the names serde writes, for every `rename_all` rule serde supports.

use eventosaurus::Storable;

/// The field names exercise serde's rules: words split on `_`, leading, doubled and
/// trailing underscores, digits, capitals, a raw identifier and a non-ASCII letter.
macro_rules! event_with_rule {
    ($name:ident, $table:literal, $($serde:tt)*) => {
        #[derive(Debug, Default, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
        #[serde($($serde)*)]
        #[eventosaurus(table = $table, partition_key = person_id)]
        #[allow(non_snake_case)]
        pub struct $name {
            pub person_id: u64,
            pub a: String,
            pub very_tasty_field: u32,
            pub _leading: bool,
            pub double__underscore: bool,
            pub trailing_: bool,
            pub with_2_digits3: bool,
            pub already_Capital: bool,
            pub r#type: String,
            pub zoë_count: u8,
            #[serde(rename = "explicit-name")]
            pub renamed: u8,
            #[serde(rename(deserialize = "only_de"))]
            pub renamed_for_reading: u8,
        }
    };
}

event_with_rule!(Lower, "lower", rename_all = "lowercase");
event_with_rule!(Upper, "upper", rename_all = "UPPERCASE");
event_with_rule!(Pascal, "pascal", rename_all = "PascalCase");
event_with_rule!(Camel, "camel", rename_all = "camelCase");
event_with_rule!(Snake, "snake", rename_all = "snake_case");
event_with_rule!(
    ScreamingSnake,
    "screaming_snake",
    rename_all = "SCREAMING_SNAKE_CASE"
);
event_with_rule!(Kebab, "kebab", rename_all = "kebab-case");
event_with_rule!(
    ScreamingKebab,
    "screaming_kebab",
    rename_all = "SCREAMING-KEBAB-CASE"
);
event_with_rule!(
    SerializeOnly,
    "serialize_only",
    rename_all(serialize = "camelCase", deserialize = "kebab-case")
);
event_with_rule!(NoRule, "no_rule", deny_unknown_fields);

fn check<E: Storable + Default>() {
    let json = serde_json::to_value(E::default()).unwrap();
    let mut serde_names: Vec<String> = json.as_object().unwrap().keys().cloned().collect();
    let mut declared: Vec<String> = E::TABLE
        .attributes
        .iter()
        .map(|a| a.name.to_owned())
        .collect();
    serde_names.sort();
    declared.sort();
    assert_eq!(declared, serde_names, "{}", E::TABLE.event_type);
    // The partition key is declared under serde's name too.
    assert!(serde_names.iter().any(|n| n == E::TABLE.partition_key));
}

#[test]
fn every_rename_all_rule_matches_serde() {
    check::<Lower>();
    check::<Upper>();
    check::<Pascal>();
    check::<Camel>();
    check::<Snake>();
    check::<ScreamingSnake>();
    check::<Kebab>();
    check::<ScreamingKebab>();
    check::<SerializeOnly>();
    check::<NoRule>();
}

#[test]
fn names_of_a_few_rules_spelled_out() {
    let names = |def: &eventosaurus::TableDef| -> Vec<&str> {
        def.attributes.iter().map(|a| a.name).collect()
    };
    assert_eq!(
        names(Camel::TABLE),
        [
            "personId",
            "a",
            "veryTastyField",
            "leading",
            "doubleUnderscore",
            "trailing",
            "with2Digits3",
            "alreadyCapital",
            "type",
            "zoëCount",
            "explicit-name",
            "renamedForReading"
        ]
    );
    assert_eq!(
        names(Lower::TABLE)[7],
        "already_Capital",
        "lowercase leaves fields alone"
    );
    assert_eq!(names(Upper::TABLE)[9], "ZOë_COUNT", "ASCII letters only");
    assert_eq!(names(ScreamingKebab::TABLE)[4], "DOUBLE--UNDERSCORE");
}
