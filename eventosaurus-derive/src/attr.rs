//! Reading `#[eventosaurus(..)]` and the `#[serde(..)]` attributes that change names.

use syn::{Attribute, Ident, LitStr, Path, Token};

/// The container's `#[eventosaurus(..)]` settings, each with the tokens it came from.
#[derive(Default)]
pub struct ContainerAttrs {
    /// The span of the first `#[eventosaurus]` attribute, for "missing" errors.
    pub attr_span: Option<proc_macro2::Span>,
    pub table: Option<LitStr>,
    pub partition_key: Option<Ident>,
    pub composite_key: Option<(proc_macro2::Span, Vec<Ident>)>,
    /// `custom_on_error`: the user implements `OnError` themselves.
    pub custom_on_error: bool,
    /// `serde_codec`: always encode and decode with serde_dynamo (for hand-written
    /// `Serialize` / `Deserialize` impls).
    pub serde_codec: bool,
    /// `shard_by = field`: the field that orders the event's publication.
    pub shard_by: Option<Ident>,
    /// `ttl = "90d"`: how long after `created_at` events expire.
    pub ttl: Option<LitStr>,
    /// Each `index(..)`: a global secondary index, in order.
    pub indexes: Vec<IndexAttr>,
    /// `version = N`: the version of the event's shape.
    pub version: Option<syn::LitInt>,
    /// Every `upcast(from = K, with = path)`, in the order written.
    pub upcasts: Vec<UpcastAttr>,
}

/// One `index(name = "..", partition_key = field, sort_key = field)`.
pub struct IndexAttr {
    /// The span of the word `index`, for "missing" errors.
    pub span: proc_macro2::Span,
    pub name: Option<LitStr>,
    pub partition_key: Option<Ident>,
    pub sort_key: Option<Ident>,
}

/// One `upcast(from = K, with = path::to::function)`; a missing setting is reported by
/// `valid`, which knows the rest of the chain.
pub struct UpcastAttr {
    /// The `upcast` keyword, for errors about a missing setting.
    pub span: proc_macro2::Span,
    /// The version the function reads.
    pub from: Option<syn::LitInt>,
    /// The function.
    pub with: Option<Path>,
}

/// A field's `#[eventosaurus(..)]` settings.
#[derive(Default)]
pub struct FieldAttrs {
    /// `linked`: the field holds records related to the event (the span of the word).
    pub linked: Option<proc_macro2::Span>,
    /// `expires_at`: the field says when the event expires (the span of the word).
    pub expires_at: Option<proc_macro2::Span>,
}

/// A serialize / deserialize pair, as serde's `rename(serialize = .., deserialize = ..)`.
#[derive(Clone)]
pub struct SerDe<T> {
    pub ser: Option<T>,
    pub de: Option<T>,
}

impl<T> Default for SerDe<T> {
    fn default() -> Self {
        SerDe {
            ser: None,
            de: None,
        }
    }
}

/// The container's `#[serde(..)]` settings that matter to the stored item.
#[derive(Default)]
pub struct SerdeContainer {
    pub rename_all: SerDe<LitStr>,
    pub transparent: Option<proc_macro2::Span>,
    /// `into = ".."`: the item is another type's serialization.
    pub into: Option<proc_macro2::Span>,
    /// Settings that change how the struct is serialized as a whole (`tag`, `remote`, ...):
    /// the generated codec leaves the struct to serde.
    pub changes_serialization: bool,
    /// Settings that change how the struct is deserialized as a whole (`from`, `try_from`,
    /// `default`, `deny_unknown_fields`, ...).
    pub changes_deserialization: bool,
}

/// A field's `default` setting.
#[derive(Clone)]
pub enum FieldDefault {
    /// `#[serde(default)]`: `Default::default()`.
    Trait,
    /// `#[serde(default = "path")]`: a function.
    Path(syn::ExprPath),
}

/// A field's `#[serde(..)]` settings.
#[derive(Default)]
pub struct SerdeField {
    pub rename: SerDe<LitStr>,
    pub skip_serializing: bool,
    pub skip_deserializing: bool,
    pub flatten: bool,
    pub skip_serializing_if: Option<syn::ExprPath>,
    pub default: Option<FieldDefault>,
    /// `with = "module"`, with its span.
    pub with: Option<(syn::ExprPath, proc_macro2::Span)>,
    pub serialize_with: Option<(syn::ExprPath, proc_macro2::Span)>,
    pub deserialize_with: Option<(syn::ExprPath, proc_macro2::Span)>,
    /// `alias`, `borrow`, `getter`, `bound` or anything this crate does not model: the
    /// generated decoder leaves such a struct to serde.
    pub other_deserialization: bool,
}

impl SerdeField {
    /// The span of `with` or `serialize_with`: the field is written by a function of the
    /// user's, not by its type's `Serialize`.
    pub fn custom_serializer(&self) -> Option<proc_macro2::Span> {
        self.with
            .as_ref()
            .or(self.serialize_with.as_ref())
            .map(|(_, span)| *span)
    }

    /// Whether the field is read by a function of the user's.
    pub fn custom_deserializer(&self) -> bool {
        self.with.is_some() || self.deserialize_with.is_some()
    }
}

pub fn container(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("eventosaurus")) {
        out.attr_span.get_or_insert(
            attr.path()
                .get_ident()
                .map(Ident::span)
                .unwrap_or_else(proc_macro2::Span::call_site),
        );
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                let value: LitStr = meta.value()?.parse()?;
                set_once(&mut out.table, value, &meta.path, "table")
            } else if meta.path.is_ident("partition_key") {
                let value: Ident = meta.value()?.parse()?;
                set_once(&mut out.partition_key, value, &meta.path, "partition_key")
            } else if meta.path.is_ident("composite_key") {
                let span = meta.path.get_ident().map(Ident::span).unwrap_or_else(proc_macro2::Span::call_site);
                let mut fields = Vec::new();
                meta.parse_nested_meta(|field| {
                    match field.path.get_ident() {
                        Some(ident) => fields.push(ident.clone()),
                        None => return Err(field.error("expected a field name")),
                    }
                    Ok(())
                })?;
                if fields.is_empty() {
                    return Err(meta.error("composite_key needs at least one field, e.g. composite_key(location, employee_name)"));
                }
                set_once(&mut out.composite_key, (span, fields), &meta.path, "composite_key")
            } else if meta.path.is_ident("shard_by") {
                let value: Ident = meta.value()?.parse()?;
                set_once(&mut out.shard_by, value, &meta.path, "shard_by")
            } else if meta.path.is_ident("ttl") {
                let value: LitStr = meta.value()?.parse()?;
                set_once(&mut out.ttl, value, &meta.path, "ttl")
            } else if meta.path.is_ident("index") {
                out.indexes.push(index(&meta)?);
                Ok(())
            } else if meta.path.is_ident("version") {
                let value: syn::LitInt = meta.value()?.parse()?;
                set_once(&mut out.version, value, &meta.path, "version")
            } else if meta.path.is_ident("upcast") {
                out.upcasts.push(upcast(&meta)?);
                Ok(())
            } else if meta.path.is_ident("custom_on_error") {
                if out.custom_on_error {
                    return Err(meta.error("duplicate `custom_on_error`"));
                }
                out.custom_on_error = true;
                Ok(())
            } else if meta.path.is_ident("serde_codec") {
                if out.serde_codec {
                    return Err(meta.error("duplicate `serde_codec`"));
                }
                out.serde_codec = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown eventosaurus attribute: expected `table`, `partition_key`, `composite_key`, `shard_by`, `ttl`, `index`, `version`, `upcast`, `custom_on_error` or `serde_codec`",
                ))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
}

/// Reads `upcast(from = K, with = path::to::function)`.
fn upcast(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<UpcastAttr> {
    let (mut from, mut with) = (None, None);
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("from") {
            let value: syn::LitInt = inner.value()?.parse()?;
            set_once(&mut from, value, &inner.path, "from")
        } else if inner.path.is_ident("with") {
            let value: Path = inner.value()?.parse()?;
            set_once(&mut with, value, &inner.path, "with")
        } else {
            Err(inner.error(
                "unknown upcast setting: expected `from = <version>` and `with = path::to::function`",
            ))
        }
    })?;
    Ok(UpcastAttr {
        span: ident_span(&meta.path),
        from,
        with,
    })
}

/// Reads a field's `#[eventosaurus(..)]` attributes.
pub fn field(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("eventosaurus")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("linked") {
                if out.linked.is_some() {
                    return Err(meta.error("duplicate `linked`"));
                }
                out.linked = meta.path.get_ident().map(Ident::span);
                Ok(())
            } else if meta.path.is_ident("expires_at") {
                if out.expires_at.is_some() {
                    return Err(meta.error("duplicate `expires_at`"));
                }
                out.expires_at = meta.path.get_ident().map(Ident::span);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown eventosaurus field attribute: expected `linked` or `expires_at`",
                ))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
}

/// Reads the settings inside `index(..)`.
fn index(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<IndexAttr> {
    let mut out = IndexAttr {
        span: ident_span(&meta.path),
        name: None,
        partition_key: None,
        sort_key: None,
    };
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(
            "write index(name = \"by_phone\", partition_key = some_field, sort_key = other_field)",
        ));
    }
    meta.parse_nested_meta(|setting| {
        if setting.path.is_ident("name") {
            let value: LitStr = setting.value()?.parse()?;
            set_once(&mut out.name, value, &setting.path, "name")
        } else if setting.path.is_ident("partition_key") {
            let value: Ident = setting.value()?.parse()?;
            set_once(
                &mut out.partition_key,
                value,
                &setting.path,
                "partition_key",
            )
        } else if setting.path.is_ident("sort_key") {
            let value: Ident = setting.value()?.parse()?;
            set_once(&mut out.sort_key, value, &setting.path, "sort_key")
        } else if setting.path.is_ident("projection") {
            Err(setting.error(
                "an index always projects ALL attributes (a query on it returns whole events), so \
                 it takes no `projection`",
            ))
        } else {
            Err(setting
                .error("unknown index setting: expected `name`, `partition_key` or `sort_key`"))
        }
    })?;
    Ok(out)
}

fn set_once<T>(slot: &mut Option<T>, value: T, path: &Path, name: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new_spanned(path, format!("duplicate `{name}`")));
    }
    *slot = Some(value);
    Ok(())
}

/// Skips the value of a serde setting we do not interpret (`= ...` or `(...)`).
fn skip_rest(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _group: proc_macro2::Group = meta.input.parse()?;
    }
    Ok(())
}

/// Reads `rename = "x"` (both names) or `rename(serialize = "x", deserialize = "y")`.
fn ser_de_names(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<SerDe<LitStr>> {
    if meta.input.peek(Token![=]) {
        let name: LitStr = meta.value()?.parse()?;
        return Ok(SerDe {
            ser: Some(name.clone()),
            de: Some(name),
        });
    }
    let mut names = SerDe::default();
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("serialize") {
            names.ser = Some(inner.value()?.parse()?);
        } else if inner.path.is_ident("deserialize") {
            names.de = Some(inner.value()?.parse()?);
        } else {
            skip_rest(&inner)?;
        }
        Ok(())
    })?;
    Ok(names)
}

/// Reads `name = "path"` as a path, as serde does.
fn path_value(
    meta: &syn::meta::ParseNestedMeta<'_>,
) -> syn::Result<(syn::ExprPath, proc_macro2::Span)> {
    let lit: LitStr = meta.value()?.parse()?;
    Ok((lit.parse()?, lit.span()))
}

fn ident_span(path: &Path) -> proc_macro2::Span {
    path.get_ident()
        .map(Ident::span)
        .unwrap_or_else(proc_macro2::Span::call_site)
}

pub fn serde_container(attrs: &[Attribute]) -> SerdeContainer {
    let mut out = SerdeContainer::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // Serde itself reports malformed serde attributes; ignore what we cannot read.
        let _ = attr.parse_nested_meta(|meta| {
            let path = &meta.path;
            if path.is_ident("rename_all") {
                out.rename_all = ser_de_names(&meta)?;
                return Ok(());
            }
            if path.is_ident("transparent") {
                out.transparent = Some(ident_span(path));
                out.changes_serialization = true;
                out.changes_deserialization = true;
            } else if path.is_ident("into") {
                out.into = Some(ident_span(path));
                out.changes_serialization = true;
            } else if path.is_ident("from")
                || path.is_ident("try_from")
                || path.is_ident("default")
                || path.is_ident("deny_unknown_fields")
            {
                out.changes_deserialization = true;
            } else if !(path.is_ident("rename")
                || path.is_ident("bound")
                || path.is_ident("crate")
                || path.is_ident("expecting"))
            {
                // tag, content, untagged, remote, and whatever serde adds later.
                out.changes_serialization = true;
                out.changes_deserialization = true;
            }
            skip_rest(&meta)
        });
    }
    out
}

pub fn serde_field(attrs: &[Attribute]) -> SerdeField {
    let mut out = SerdeField::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            let path = &meta.path;
            if path.is_ident("rename") {
                out.rename = ser_de_names(&meta)?;
            } else if path.is_ident("skip") {
                out.skip_serializing = true;
                out.skip_deserializing = true;
            } else if path.is_ident("skip_serializing") {
                out.skip_serializing = true;
            } else if path.is_ident("skip_deserializing") {
                out.skip_deserializing = true;
            } else if path.is_ident("flatten") {
                out.flatten = true;
            } else if path.is_ident("skip_serializing_if") {
                out.skip_serializing_if = Some(path_value(&meta)?.0);
            } else if path.is_ident("default") {
                out.default = Some(if meta.input.peek(Token![=]) {
                    FieldDefault::Path(path_value(&meta)?.0)
                } else {
                    FieldDefault::Trait
                });
            } else if path.is_ident("with") {
                out.with = Some(path_value(&meta)?);
            } else if path.is_ident("serialize_with") {
                out.serialize_with = Some(path_value(&meta)?);
            } else if path.is_ident("deserialize_with") {
                out.deserialize_with = Some(path_value(&meta)?);
            } else {
                // alias, borrow, getter, bound, ...
                out.other_deserialization = true;
                skip_rest(&meta)?;
            }
            Ok(())
        });
    }
    out
}

/// Applies serde's `rename_all` rule to a field name, exactly as `serde_derive` does
/// (`RenameRule::apply_to_field`): ASCII case changes only, `_` as the word separator,
/// `lowercase` and `snake_case` leave field names as they are. `None` for an unknown rule.
pub fn apply_rename_all(rule: &str, field: &str) -> Option<String> {
    let pascal = || {
        let mut pascal = String::with_capacity(field.len());
        let mut capitalize = true;
        for ch in field.chars() {
            if ch == '_' {
                capitalize = true;
            } else if capitalize {
                pascal.push(ch.to_ascii_uppercase());
                capitalize = false;
            } else {
                pascal.push(ch);
            }
        }
        pascal
    };
    Some(match rule {
        "lowercase" | "snake_case" => field.to_owned(),
        "UPPERCASE" | "SCREAMING_SNAKE_CASE" => field.to_ascii_uppercase(),
        "PascalCase" => pascal(),
        "camelCase" => {
            let pascal = pascal();
            let mut chars = pascal.chars();
            match chars.next() {
                Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                None => pascal,
            }
        }
        "kebab-case" => field.replace('_', "-"),
        "SCREAMING-KEBAB-CASE" => field.to_ascii_uppercase().replace('_', "-"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::apply_rename_all;

    /// The cases of serde_derive's own test of `apply_to_field`.
    #[test]
    fn rename_rules_match_serde_derive() {
        for (original, upper, pascal, camel, screaming, kebab, screaming_kebab) in &[
            (
                "outcome", "OUTCOME", "Outcome", "outcome", "OUTCOME", "outcome", "OUTCOME",
            ),
            (
                "very_tasty",
                "VERY_TASTY",
                "VeryTasty",
                "veryTasty",
                "VERY_TASTY",
                "very-tasty",
                "VERY-TASTY",
            ),
            ("a", "A", "A", "a", "A", "a", "A"),
            ("z42", "Z42", "Z42", "z42", "Z42", "z42", "Z42"),
        ] {
            let rule = |r: &str| apply_rename_all(r, original).unwrap();
            assert_eq!(rule("lowercase"), *original);
            assert_eq!(rule("snake_case"), *original);
            assert_eq!(rule("UPPERCASE"), *upper);
            assert_eq!(rule("PascalCase"), *pascal);
            assert_eq!(rule("camelCase"), *camel);
            assert_eq!(rule("SCREAMING_SNAKE_CASE"), *screaming);
            assert_eq!(rule("kebab-case"), *kebab);
            assert_eq!(rule("SCREAMING-KEBAB-CASE"), *screaming_kebab);
        }
        // Leading, doubled and trailing underscores; non-ASCII letters are left alone.
        assert_eq!(
            apply_rename_all("camelCase", "_private__x_").unwrap(),
            "privateX"
        );
        assert_eq!(apply_rename_all("PascalCase", "é_b").unwrap(), "éB");
        assert_eq!(apply_rename_all("UPPERCASE", "é_b").unwrap(), "é_B");
        assert_eq!(apply_rename_all("lowercase", "ABC").unwrap(), "ABC");
        assert_eq!(apply_rename_all("Title Case", "a"), None);
    }
}
