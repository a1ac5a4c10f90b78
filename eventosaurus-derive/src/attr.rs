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
    /// `shard_by = field`: the field that orders the event's publication.
    pub shard_by: Option<Ident>,
}

/// A field's `#[eventosaurus(..)]` settings.
#[derive(Default)]
pub struct FieldAttrs {
    /// `linked`: the field holds records related to the event (the span of the word).
    pub linked: Option<proc_macro2::Span>,
}

/// The `#[serde(..)]` settings that change attribute names or presence.
#[derive(Default)]
pub struct SerdeContainer {
    pub rename_all: Option<LitStr>,
    pub transparent: Option<proc_macro2::Span>,
}

#[derive(Default)]
pub struct SerdeField {
    pub rename: Option<LitStr>,
    pub skipped: bool,
    pub flatten: bool,
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
            } else if meta.path.is_ident("custom_on_error") {
                if out.custom_on_error {
                    return Err(meta.error("duplicate `custom_on_error`"));
                }
                out.custom_on_error = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown eventosaurus attribute: expected `table`, `partition_key`, `composite_key`, `shard_by` or `custom_on_error`",
                ))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
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
            } else {
                Err(meta.error("unknown eventosaurus field attribute: expected `linked`"))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
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

/// Reads `rename = "x"` or `rename(serialize = "x", ..)`: the serialized name.
fn serialize_name(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Option<LitStr>> {
    if meta.input.peek(Token![=]) {
        return Ok(Some(meta.value()?.parse()?));
    }
    let mut name = None;
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("serialize") {
            name = Some(inner.value()?.parse()?);
        } else {
            skip_rest(&inner)?;
        }
        Ok(())
    })?;
    Ok(name)
}

pub fn serde_container(attrs: &[Attribute]) -> SerdeContainer {
    let mut out = SerdeContainer::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // Serde itself reports malformed serde attributes; ignore what we cannot read.
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                out.rename_all = serialize_name(&meta)?;
            } else if meta.path.is_ident("transparent") {
                out.transparent = meta.path.get_ident().map(Ident::span);
            } else {
                skip_rest(&meta)?;
            }
            Ok(())
        });
    }
    out
}

pub fn serde_field(attrs: &[Attribute]) -> SerdeField {
    let mut out = SerdeField::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                out.rename = serialize_name(&meta)?;
            } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                out.skipped = true;
            } else if meta.path.is_ident("flatten") {
                out.flatten = true;
            } else {
                skip_rest(&meta)?;
            }
            Ok(())
        });
    }
    out
}

/// Applies serde's `rename_all` rule to a field name.
pub fn apply_rename_all(rule: &str, field: &str) -> Option<String> {
    let words: Vec<&str> = field.split('_').filter(|w| !w.is_empty()).collect();
    let capitalize = |w: &str| {
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    Some(match rule {
        "lowercase" => field.to_lowercase(),
        "UPPERCASE" => field.to_uppercase(),
        "snake_case" => field.to_owned(),
        "SCREAMING_SNAKE_CASE" => field.to_uppercase(),
        "kebab-case" => field.replace('_', "-"),
        "SCREAMING-KEBAB-CASE" => field.to_uppercase().replace('_', "-"),
        "PascalCase" => words.iter().map(|w| capitalize(w)).collect(),
        "camelCase" => {
            let pascal: String = words.iter().map(|w| capitalize(w)).collect();
            let mut c = pascal.chars();
            c.next()
                .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
        _ => return None,
    })
}
