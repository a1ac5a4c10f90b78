//! Table definitions as a JSON file, for a CLI binary that has no event types compiled in.
//!
//! An application's own CLI binary passes its [`TableDef`]s to [`run`](crate::run). The
//! `eventosaurus-cli` binary itself knows no event types: it reads them from `--tables FILE`,
//! or else from [`FILE_NAME`] in the current directory or the nearest parent that has one.
//! An application writes that file with its own CLI: `describe-tables --definitions`.
//!
//! The format is a JSON array with one object per table:
//!
//! ```json
//! [
//!   {
//!     "name": "phone_call",
//!     "event_type": "PhoneCall",
//!     "partition_key": "person_id",
//!     "partition_key_type": "N",
//!     "composite_key": [],
//!     "attributes": [
//!       { "name": "person_id", "field": "person_id", "type": "N" },
//!       { "name": "phone_number", "field": "phone_number", "type": "S" }
//!     ]
//!   }
//! ]
//! ```
//!
//! `partition_key_type` is `N` or `S`; an attribute's `type` is `N`, `S`, `BOOL` or `other`
//! (lists, maps, options: not queryable by `--by`). `composite_key` lists the attributes
//! digested into `event_uuid` (empty for random ids). Optional `linked` and `shard_by` name
//! the attributes of `#[eventosaurus(linked)]` and `shard_by = field` (an event's envelope).
//! Optional `ttl` is `{"after_seconds": 7776000}` (`ttl = "90d"`) or `{"field": "ends"}` (the
//! attribute of an `#[eventosaurus(expires_at)]` field); optional `indexes` lists the global
//! secondary indexes as `{"name": "by_phone", "partition_key": "phone_number", "sort_key":
//! "created_at"}` (`sort_key` optional; keys typed by `attributes`, `created_at` and
//! `event_uuid` being strings), checked as the derive checks them.
//! Optional `version` is the event type's `#[eventosaurus(version = N)]` (1 when absent, and
//! written only when it is not 1, so files of version-1 types are unchanged): the CLI shows
//! it; it changes nothing about the table, and the CLI reads items untyped, as stored.

use std::path::{Path, PathBuf};

use eventosaurus::table::{
    self, AttributeDef, AttributeType, GlobalIndexDef, IndexKey, KeyAttributeType, TableDef, Ttl,
};
use serde::{Deserialize, Serialize};

use crate::CliError;

/// The file the `eventosaurus-cli` binary looks for: `eventosaurus-tables.json`.
pub const FILE_NAME: &str = "eventosaurus-tables.json";

/// One table in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTable {
    name: String,
    event_type: String,
    partition_key: String,
    partition_key_type: FileKeyType,
    #[serde(default)]
    composite_key: Vec<String>,
    attributes: Vec<FileAttribute>,
    /// The `#[eventosaurus(linked)]` attribute, if any (the envelope's `linked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    linked: Option<String>,
    /// The `shard_by` attribute, if any (the envelope's `partition_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shard_by: Option<String>,
    /// When the events expire, if they do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<FileTtl>,
    /// The global secondary indexes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    indexes: Vec<FileIndex>,
    /// The event type's version (`#[eventosaurus(version = N)]`), 1 when absent.
    #[serde(default = "version_one", skip_serializing_if = "is_version_one")]
    version: u32,
}

fn version_one() -> u32 {
    1
}

fn is_version_one(version: &u32) -> bool {
    *version == 1
}

/// `{"after_seconds": N}` (`ttl = ".."`) or `{"field": "attribute"}` (`expires_at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum FileTtl {
    AfterSeconds(u64),
    Field(String),
}

/// `{"name", "partition_key", "sort_key"}`: attribute names, typed by `attributes`
/// (`created_at` and `event_uuid` are strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIndex {
    name: String,
    partition_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sort_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum FileKeyType {
    N,
    S,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAttribute {
    name: String,
    field: String,
    #[serde(rename = "type")]
    attribute_type: FileAttributeType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum FileAttributeType {
    N,
    S,
    #[serde(rename = "BOOL")]
    Bool,
    #[serde(rename = "other")]
    Other,
}

impl From<&TableDef> for FileTable {
    fn from(def: &TableDef) -> Self {
        FileTable {
            name: def.name.to_owned(),
            event_type: def.event_type.to_owned(),
            partition_key: def.partition_key.to_owned(),
            partition_key_type: match def.partition_key_type {
                KeyAttributeType::Number => FileKeyType::N,
                KeyAttributeType::String => FileKeyType::S,
            },
            composite_key: def.composite_key.iter().map(|k| (*k).to_owned()).collect(),
            attributes: def
                .attributes
                .iter()
                .map(|a| FileAttribute {
                    name: a.name.to_owned(),
                    field: a.field.to_owned(),
                    attribute_type: match a.attribute_type {
                        AttributeType::Number => FileAttributeType::N,
                        AttributeType::String => FileAttributeType::S,
                        AttributeType::Bool => FileAttributeType::Bool,
                        AttributeType::Other => FileAttributeType::Other,
                    },
                })
                .collect(),
            linked: def.linked.map(str::to_owned),
            shard_by: def.shard_by.map(str::to_owned),
            ttl: def.ttl.map(|ttl| match ttl {
                Ttl::AfterCreation { seconds } => FileTtl::AfterSeconds(seconds),
                Ttl::Field { attribute } => FileTtl::Field(attribute.to_owned()),
            }),
            indexes: def
                .indexes
                .iter()
                .map(|index| FileIndex {
                    name: index.name.to_owned(),
                    partition_key: index.partition_key.attribute.to_owned(),
                    sort_key: index.sort_key.map(|key| key.attribute.to_owned()),
                })
                .collect(),
            version: def.version,
        }
    }
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

impl FileTable {
    /// Checks the definition as the derive checks a struct, then makes it `'static`.
    fn into_def(self) -> Result<&'static TableDef, String> {
        eventosaurus::name::check_table_name(&self.name)
            .map_err(|e| format!("table {:?}: {}", self.name, e.reason(&self.name)))?;
        let attribute = |name: &str| self.attributes.iter().find(|a| a.name == name);
        let key_type_matches = match (self.partition_key_type, attribute(&self.partition_key)) {
            (FileKeyType::N, Some(a)) => a.attribute_type == FileAttributeType::N,
            (FileKeyType::S, Some(a)) => a.attribute_type == FileAttributeType::S,
            (_, None) => {
                return Err(format!(
                    "table `{}`: the partition key `{}` is not among its attributes",
                    self.name, self.partition_key
                ))
            }
        };
        if !key_type_matches {
            return Err(format!(
                "table `{}`: the partition key `{}` has type {:?} but partition_key_type is {:?}",
                self.name,
                self.partition_key,
                attribute(&self.partition_key).map(|a| a.attribute_type),
                self.partition_key_type
            ));
        }
        if let Some(unknown) = self.composite_key.iter().find(|k| attribute(k).is_none()) {
            return Err(format!(
                "table `{}`: the composite key attribute `{unknown}` is not among its attributes",
                self.name
            ));
        }
        for (setting, name) in [("linked", &self.linked), ("shard_by", &self.shard_by)] {
            if let Some(name) = name.as_deref().filter(|n| attribute(n).is_none()) {
                return Err(format!(
                    "table `{}`: the {setting} attribute `{name}` is not among its attributes",
                    self.name
                ));
            }
        }
        let ttl = self.ttl_def()?;
        let indexes = self.index_defs()?;
        if self.version == 0 {
            return Err(format!(
                "table `{}`: version 0 is not a version (versions start at 1)",
                self.name
            ));
        }
        let attributes: Vec<AttributeDef> = self
            .attributes
            .into_iter()
            .map(|a| AttributeDef {
                name: leak(a.name),
                field: leak(a.field),
                attribute_type: match a.attribute_type {
                    FileAttributeType::N => AttributeType::Number,
                    FileAttributeType::S => AttributeType::String,
                    FileAttributeType::Bool => AttributeType::Bool,
                    FileAttributeType::Other => AttributeType::Other,
                },
            })
            .collect();
        let composite_key: Vec<&'static str> = self.composite_key.into_iter().map(leak).collect();
        Ok(Box::leak(Box::new(TableDef {
            name: leak(self.name),
            event_type: leak(self.event_type),
            partition_key: leak(self.partition_key),
            partition_key_type: match self.partition_key_type {
                FileKeyType::N => KeyAttributeType::Number,
                FileKeyType::S => KeyAttributeType::String,
            },
            composite_key: composite_key.leak(),
            attributes: attributes.leak(),
            linked: self.linked.map(leak),
            shard_by: self.shard_by.map(leak),
            ttl,
            indexes: indexes.leak(),
            version: self.version,
        })))
    }

    fn ttl_def(&self) -> Result<Option<Ttl>, String> {
        Ok(match &self.ttl {
            None => None,
            Some(FileTtl::AfterSeconds(0)) => {
                return Err(format!("table `{}`: a ttl of 0 seconds", self.name))
            }
            Some(FileTtl::AfterSeconds(seconds)) => Some(Ttl::AfterCreation { seconds: *seconds }),
            Some(FileTtl::Field(field)) => {
                if !self.attributes.iter().any(|a| &a.name == field) {
                    return Err(format!(
                        "table `{}`: the ttl field `{field}` is not among its attributes",
                        self.name
                    ));
                }
                Some(Ttl::Field {
                    attribute: leak(field.clone()),
                })
            }
        })
    }

    /// The indexes, checked as the derive checks them.
    fn index_defs(&self) -> Result<Vec<GlobalIndexDef>, String> {
        let key = |index: &str, name: &str, sort: bool| -> Result<IndexKey, String> {
            let builtin = sort && (name == table::CREATED_AT || name == table::EVENT_UUID);
            let attribute_type = match self.attributes.iter().find(|a| a.name == name) {
                _ if builtin => KeyAttributeType::String,
                Some(a) if a.attribute_type == FileAttributeType::N => KeyAttributeType::Number,
                Some(a) if a.attribute_type == FileAttributeType::S => KeyAttributeType::String,
                _ => {
                    return Err(format!(
                        "table `{}`: the key `{name}` of index `{index}` is not a string or number \
                         attribute of the table",
                        self.name
                    ))
                }
            };
            Ok(IndexKey {
                attribute: leak(name.to_owned()),
                attribute_type,
            })
        };
        let mut out: Vec<GlobalIndexDef> = Vec::new();
        for index in &self.indexes {
            eventosaurus::name::check_index_name(&index.name)
                .map_err(|e| format!("index {:?}: {e}", index.name))?;
            if index.name == table::CREATED_AT_INDEX || out.iter().any(|i| i.name == index.name) {
                return Err(format!(
                    "table `{}`: the index name `{}` is taken",
                    self.name, index.name
                ));
            }
            if index.partition_key == self.partition_key {
                return Err(format!(
                    "table `{}`: index `{}` has the table's partition key",
                    self.name, index.name
                ));
            }
            out.push(GlobalIndexDef {
                name: leak(index.name.clone()),
                partition_key: key(&index.name, &index.partition_key, false)?,
                sort_key: match &index.sort_key {
                    Some(sort) => Some(key(&index.name, sort, true)?),
                    None => None,
                },
            });
        }
        Ok(out)
    }
}

/// The definitions as the file's JSON (pretty-printed, with a final newline).
pub fn to_json(defs: &[&TableDef]) -> String {
    let tables: Vec<FileTable> = defs.iter().map(|d| FileTable::from(*d)).collect();
    // Serializing plain strings, vectors and unit enums cannot fail.
    let mut text = serde_json::to_string_pretty(&tables).unwrap_or_default();
    text.push('\n');
    text
}

/// Parses definitions from the file's JSON; `origin` names the file in errors.
///
/// The definitions live until the process ends (they are leaked, as a `TableDef` is
/// `'static`): parse once, at start-up.
pub fn parse(json: &str, origin: &Path) -> Result<Vec<&'static TableDef>, CliError> {
    let invalid = |reason: String| CliError::Definitions {
        path: origin.to_owned(),
        reason,
    };
    let tables: Vec<FileTable> =
        serde_json::from_str(json).map_err(|e| invalid(format!("not a definitions file: {e}")))?;
    let mut defs = Vec::with_capacity(tables.len());
    for table in tables {
        if defs.iter().any(|d: &&TableDef| d.name == table.name) {
            return Err(invalid(format!("table `{}` is defined twice", table.name)));
        }
        defs.push(table.into_def().map_err(invalid)?);
    }
    Ok(defs)
}

/// Reads and parses a definitions file (see [`parse`]).
pub fn load(path: &Path) -> Result<Vec<&'static TableDef>, CliError> {
    let json = std::fs::read_to_string(path).map_err(|e| CliError::Definitions {
        path: path.to_owned(),
        reason: format!("cannot read it: {e}"),
    })?;
    parse(&json, path)
}

/// The nearest [`FILE_NAME`] in `dir` or its parents, if any.
pub fn find(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATTRIBUTES: &[AttributeDef] = &[
        AttributeDef {
            name: "person_id",
            field: "person_id",
            attribute_type: AttributeType::Number,
        },
        AttributeDef {
            name: "tags",
            field: "tags",
            attribute_type: AttributeType::Other,
        },
        AttributeDef {
            name: "vip",
            field: "is_vip",
            attribute_type: AttributeType::Bool,
        },
    ];
    const DEF: TableDef = TableDef {
        name: "phone_call",
        event_type: "PhoneCall",
        partition_key: "person_id",
        partition_key_type: KeyAttributeType::Number,
        composite_key: &["person_id", "vip"],
        attributes: ATTRIBUTES,
        linked: None,
        shard_by: None,
        ttl: None,
        indexes: &[],
        version: 1,
    };

    #[test]
    fn round_trips() {
        let json = to_json(&[&DEF]);
        let parsed = parse(&json, Path::new("x.json")).unwrap();
        assert_eq!(parsed, [&DEF]);
        assert!(json.contains("\"type\": \"BOOL\""), "{json}");
        assert!(!json.contains("ttl") && !json.contains("indexes"), "{json}");
    }

    #[test]
    fn round_trips_ttl_and_indexes() {
        const INDEXES: &[GlobalIndexDef] = &[GlobalIndexDef {
            name: "by_vip",
            partition_key: IndexKey {
                attribute: "tags",
                attribute_type: KeyAttributeType::String,
            },
            sort_key: Some(IndexKey {
                attribute: "created_at",
                attribute_type: KeyAttributeType::String,
            }),
        }];
        const ATTRIBUTES: &[AttributeDef] = &[
            AttributeDef {
                name: "person_id",
                field: "person_id",
                attribute_type: AttributeType::Number,
            },
            AttributeDef {
                name: "tags",
                field: "tags",
                attribute_type: AttributeType::String,
            },
        ];
        for ttl in [
            Ttl::AfterCreation { seconds: 3600 },
            Ttl::Field { attribute: "tags" },
        ] {
            let def = TableDef {
                attributes: ATTRIBUTES,
                composite_key: &[],
                ttl: Some(ttl),
                indexes: INDEXES,
                ..DEF
            };
            let json = to_json(&[&def]);
            let parsed = parse(&json, Path::new("x.json")).unwrap();
            assert_eq!(parsed, [&def], "{json}");
        }
        // The derive's rules: an unknown key, a bad name, the table's own partition key.
        let good = serde_json::to_value(FileTable::from(&TableDef {
            attributes: ATTRIBUTES,
            composite_key: &[],
            indexes: INDEXES,
            ..DEF
        }))
        .unwrap();
        for (field, value, expected) in [
            ("partition_key", "nope", "is not a string or number"),
            ("name", "by", "at least 3"),
            ("partition_key", "person_id", "the table's partition key"),
            ("name", "created_at_index", "is taken"),
        ] {
            let mut table = good.clone();
            table["indexes"][0][field] = value.into();
            let json = serde_json::Value::Array(vec![table]).to_string();
            let line = parse(&json, Path::new("d.json")).unwrap_err().one_line();
            assert!(line.contains(expected), "{field}={value}: {line}");
        }
    }

    #[test]
    fn the_version_is_written_only_when_not_one() {
        let v3 = TableDef { version: 3, ..DEF };
        let json = to_json(&[&v3]);
        assert!(json.contains("\"version\": 3"), "{json}");
        assert_eq!(parse(&json, Path::new("x.json")).unwrap(), [&v3]);
        assert!(!to_json(&[&DEF]).contains("version"));
        let zero = json.replace("\"version\": 3", "\"version\": 0");
        let line = parse(&zero, Path::new("x.json")).unwrap_err().one_line();
        assert!(line.contains("version 0"), "{line}");
    }

    #[test]
    fn refuses_what_the_derive_would_refuse() {
        let good = serde_json::to_value(FileTable::from(&DEF)).unwrap();
        let broken = |field: &str, value: &str| {
            let mut table = good.clone();
            match field {
                "composite_key" => table[field][0] = value.into(),
                _ => table[field] = value.into(),
            }
            let json = serde_json::Value::Array(vec![table]).to_string();
            parse(&json, Path::new("defs.json")).unwrap_err().one_line()
        };
        for (field, value, expected) in [
            ("name", "phone call", "' ' is not allowed"),
            ("partition_key", "nope", "`nope` is not among"),
            ("partition_key_type", "S", "has type"),
            ("composite_key", "nope", "`nope` is not among"),
            ("colour", "red", "unknown field"),
        ] {
            let line = broken(field, value);
            assert!(
                line.contains("defs.json") && line.contains(expected),
                "{field}: {line}"
            );
        }
        let twice = format!("[{good},{good}]");
        let line = parse(&twice, Path::new("d.json")).unwrap_err().one_line();
        assert!(line.contains("defined twice"), "{line}");
    }

    #[test]
    fn find_walks_up() {
        let root = std::env::temp_dir().join(format!("eventosaurus-defs-{}", std::process::id()));
        let deep = root.join("a").join("b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(root.join(FILE_NAME), "[]").unwrap();
        assert_eq!(find(&deep), Some(root.join(FILE_NAME)));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
