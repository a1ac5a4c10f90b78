//! Validation: the parsed event against eventosaurus's and DynamoDB's rules.

use std::collections::{BTreeMap, HashSet};

use quote::ToTokens;
use syn::LitStr;

use crate::ast::{find_128_bit, Field, Input, TypeKind};
use crate::attr::UpcastAttr;
use crate::index::{self, ValidIndex};
use crate::ttl::{self, ValidTtl};

/// Reserved attribute names that differ on every store: the sort key and the timestamp.
pub const RESERVED: [&str; 2] = ["event_uuid", "created_at"];

/// The attribute holding the version of the event's shape (`schema::EVENT_VERSION`).
pub const EVENT_VERSION: &str = "event_version";

/// The checked pieces `expand` needs.
pub struct Valid<'i, 'a> {
    pub table: &'i LitStr,
    pub partition_key: &'i Field<'a>,
    pub composite_key: Vec<&'i Field<'a>>,
    /// The field marked `#[eventosaurus(linked)]`.
    pub linked: Option<&'i Field<'a>>,
    /// The field named by `shard_by`.
    pub shard_by: Option<&'i Field<'a>>,
    /// When the events expire.
    pub ttl: Option<ValidTtl<'i, 'a>>,
    /// The global secondary indexes.
    pub indexes: Vec<ValidIndex<'i, 'a>>,
    /// `version = N`, 1 when not declared.
    pub version: u32,
    /// The upcasters, one per version `1..version`, in order.
    pub upcasts: Vec<&'i UpcastAttr>,
}

pub fn validate<'i, 'a>(
    input: &'i Input<'a>,
    errors: &mut Vec<syn::Error>,
) -> Option<Valid<'i, 'a>> {
    reserved_names(input, errors);
    storable_integers(input, errors);
    let table = table(input, errors);
    let partition_key = partition_key(input, errors);
    let composite_key = composite_key(input, errors);
    let (linked, shard_by) = envelope_fields(input, errors);
    let ttl = ttl::validate(input, errors);
    let indexes = index::validate(input, errors);
    let (version, upcasts) = versions(input, errors);

    if errors.is_empty() {
        Some(Valid {
            table: table?,
            partition_key: partition_key?,
            composite_key,
            linked,
            shard_by,
            ttl,
            indexes,
            version,
            upcasts,
        })
    } else {
        None
    }
}

/// The span "missing" errors point at: the first `#[eventosaurus]`, else the type's name.
fn fallback_span(input: &Input<'_>) -> proc_macro2::Span {
    input.attrs.attr_span.unwrap_or_else(|| input.ident.span())
}

/// No stored field may use a name eventosaurus stores its own attributes under.
fn reserved_names(input: &Input<'_>, errors: &mut Vec<syn::Error>) {
    for field in input.fields.iter().filter(|f| f.stored) {
        if RESERVED.contains(&field.name.as_str()) {
            errors.push(syn::Error::new(
                field.name_span,
                format!(
                    "`{}` is reserved: eventosaurus adds it to every stored event; rename the field \
                     (e.g. with #[serde(rename = \"..\")])",
                    field.name
                ),
            ));
        }
        if field.name == EVENT_VERSION {
            errors.push(syn::Error::new(
                field.name_span,
                "`event_version` is reserved: eventosaurus stores the version of the event type \
                 (#[eventosaurus(version = N)]) under it; rename the field (e.g. with \
                 #[serde(rename = \"..\")])",
            ));
        }
    }
}

/// No stored or read field may be a 128-bit integer, unless the user's own functions write and
/// read it.
fn storable_integers(input: &Input<'_>, errors: &mut Vec<syn::Error>) {
    for field in input
        .fields
        .iter()
        .filter(|f| f.stored || !f.serde.skip_deserializing)
    {
        // A field written and read by functions of the user's may hold anything.
        let custom = field.serde.custom_serializer().is_some() && field.serde.custom_deserializer();
        if custom {
            continue;
        }
        if let Some(ident) = find_128_bit(field.ty) {
            errors.push(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}` cannot be stored: serde_dynamo does not (de)serialize 128-bit integers, and \
                     DynamoDB numbers have at most 38 digits ({ident}::MAX has 39). Use a 64-bit integer, \
                     or store the value as a String (e.g. with #[serde(with = \"..\")] on the field)"
                ),
            ));
        }
    }
}

/// The `table = ".."` setting. Its name's rules are checked by the generated code, at compile
/// time, with the runtime's `eventosaurus::name::check_table_name` (see `expand`).
fn table<'i>(input: &'i Input<'_>, errors: &mut Vec<syn::Error>) -> Option<&'i LitStr> {
    if input.attrs.table.is_none() {
        errors.push(syn::Error::new(
            fallback_span(input),
            "missing `table`: add #[eventosaurus(table = \"my_event\", partition_key = some_field)]",
        ));
    }
    input.attrs.table.as_ref()
}

/// The `partition_key = field` setting: a stored integer or `String` field written by its
/// type's own `Serialize`.
fn partition_key<'i, 'a>(
    input: &'i Input<'a>,
    errors: &mut Vec<syn::Error>,
) -> Option<&'i Field<'a>> {
    let Some(ident) = &input.attrs.partition_key else {
        errors.push(syn::Error::new(
            fallback_span(input),
            "missing `partition_key`: add partition_key = <field> to #[eventosaurus(..)]",
        ));
        return None;
    };
    let Some(field) = input.field(ident) else {
        errors.push(unknown_field(ident, "partition_key", input));
        return None;
    };
    let error = if !field.stored {
        syn::Error::new(
            ident.span(),
            "the partition key cannot be #[serde(skip)] or #[serde(flatten)]",
        )
    } else if let Some(span) = field.serde.custom_serializer() {
        syn::Error::new(
            span,
            "the partition key cannot have its own serializer (#[serde(with)] or \
             serialize_with): eventosaurus writes keys for get() and queries from the \
             field's type, and they would not match what is stored",
        )
    } else if !matches!(field.kind, TypeKind::Integer | TypeKind::String) || is_reference(field) {
        syn::Error::new_spanned(
            field.ty,
            format!(
                "unsupported partition key type `{}`: use an integer type (stored as N) or String (stored as S)",
                field.ty.to_token_stream()
            ),
        )
    } else {
        return Some(field);
    };
    errors.push(error);
    None
}

/// The `composite_key(..)` fields: stored, listed once, neither floats nor the attributes that
/// differ on every store.
fn composite_key<'i, 'a>(input: &'i Input<'a>, errors: &mut Vec<syn::Error>) -> Vec<&'i Field<'a>> {
    let mut composite_key = Vec::new();
    let Some((_, idents)) = &input.attrs.composite_key else {
        return composite_key;
    };
    let mut seen = HashSet::new();
    for ident in idents {
        let name = ident.to_string();
        if RESERVED.contains(&name.as_str()) {
            errors.push(syn::Error::new(
                ident.span(),
                format!(
                    "`{name}` cannot be part of composite_key: it differs on every store, so duplicates \
                     would get different ids and dedup would not work"
                ),
            ));
            continue;
        }
        if !seen.insert(name.clone()) {
            errors.push(syn::Error::new(
                ident.span(),
                format!("`{name}` is listed twice in composite_key"),
            ));
            continue;
        }
        match input.field(ident) {
            None => errors.push(unknown_field(ident, "composite_key", input)),
            Some(field) if !field.stored => errors.push(syn::Error::new(
                ident.span(),
                "a #[serde(skip)] or #[serde(flatten)] field cannot be part of composite_key",
            )),
            Some(field) if field.kind == TypeKind::Float => errors.push(syn::Error::new_spanned(
                field.ty,
                "floating-point fields cannot be part of composite_key: 0.1 + 0.2 and 0.3 would be \
                 different events; use an integer (e.g. cents) or a String",
            )),
            Some(field) => composite_key.push(field),
        }
    }
    composite_key
}

/// The envelope's fields: at most one `#[eventosaurus(linked)]` field, and the `shard_by`
/// field (an integer or string field with an attribute of its own).
fn envelope_fields<'i, 'a>(
    input: &'i Input<'a>,
    errors: &mut Vec<syn::Error>,
) -> (Option<&'i Field<'a>>, Option<&'i Field<'a>>) {
    let mut linked = None;
    for field in input.fields.iter().filter(|f| f.linked.is_some()) {
        let span = field.linked.unwrap_or_else(|| field.ident.span());
        if !field.stored {
            errors.push(syn::Error::new(
                span,
                "a #[serde(skip)] or #[serde(flatten)] field cannot be `linked`: it has no attribute of its own",
            ));
        } else if linked.is_some() {
            errors.push(syn::Error::new(
                span,
                "only one field can be `linked`: put the related records in one struct or map",
            ));
        } else {
            linked = Some(field);
        }
    }
    let shard_by = input.attrs.shard_by.as_ref().and_then(|ident| match input.field(ident) {
        None => {
            errors.push(unknown_field(ident, "shard_by", input));
            None
        }
        Some(field) if !field.stored => {
            errors.push(syn::Error::new(
                ident.span(),
                "the shard_by field cannot be #[serde(skip)] or #[serde(flatten)]",
            ));
            None
        }
        Some(field) if !matches!(field.kind, TypeKind::Integer | TypeKind::String) => {
            errors.push(syn::Error::new_spanned(
                field.ty,
                format!(
                    "unsupported shard_by type `{}`: use an integer or String field (it becomes a Kinesis partition key)",
                    field.ty.to_token_stream()
                ),
            ));
            None
        }
        Some(field) => Some(field),
    });
    (linked, shard_by)
}

/// `version = N` and the upcast chain: versions `1..N` need exactly one upcaster each, and
/// upcasters need a version.
fn versions<'i>(input: &'i Input<'_>, errors: &mut Vec<syn::Error>) -> (u32, Vec<&'i UpcastAttr>) {
    let upcasts = &input.attrs.upcasts;
    let mut complete = true;
    for upcast in upcasts {
        let missing = match (&upcast.from, &upcast.with) {
            (None, _) => {
                "upcast needs `from = <version>`: upcast(from = 1, with = path::to::function)"
            }
            (_, None) => {
                "upcast needs `with = path::to::function`: upcast(from = 1, with = path::to::function)"
            }
            _ => continue,
        };
        // Without `from`, which version it meant is unknown: no chain errors follow.
        complete &= upcast.from.is_some();
        errors.push(syn::Error::new(upcast.span, missing));
    }
    let Some(literal) = &input.attrs.version else {
        if let Some(first) = upcasts.first() {
            errors.push(syn::Error::new(
                first.span,
                "an upcaster needs the type's `version`: add version = N (N - 1 upcasters, \
                 from 1 to N - 1; an item without `event_version` is version 1)",
            ));
        }
        return (1, Vec::new());
    };
    let version = match literal.base10_parse::<u32>() {
        Ok(version) if version >= 1 => version,
        _ => {
            errors.push(syn::Error::new(
                literal.span(),
                "`version` is a whole number from 1 (the first version, also the default)",
            ));
            return (1, Vec::new());
        }
    };
    let chain = upcast_chain(upcasts, version, errors);
    let missing: Vec<String> = (1..version)
        .filter(|from| !chain.contains_key(from))
        .map(|from| from.to_string())
        .collect();
    if let Some(first) = missing.first().filter(|_| complete) {
        errors.push(syn::Error::new(
            literal.span(),
            format!(
                "version {version} needs one upcaster from each older version, and has none from {}: \
                 add upcast(from = {first}, with = path::to::function)",
                missing.join(", ")
            ),
        ));
    }
    (version, chain.into_values().collect())
}

/// The upcasters by `from`: each one whose `from` is an older version of `version` and not
/// taken yet; every other one is an error at its `from`.
fn upcast_chain<'i>(
    upcasts: &'i [UpcastAttr],
    version: u32,
    errors: &mut Vec<syn::Error>,
) -> BTreeMap<u32, &'i UpcastAttr> {
    let mut chain: BTreeMap<u32, &UpcastAttr> = BTreeMap::new();
    for upcast in upcasts {
        let Some(from_literal) = &upcast.from else {
            continue;
        };
        let problem = match from_literal.base10_parse::<u32>() {
            Err(_) => Some("`from` is a version: a whole number from 1".to_owned()),
            Ok(0) => Some(
                "`from = 0`: versions start at 1 (an item without `event_version` is version 1)"
                    .to_owned(),
            ),
            Ok(_) if version == 1 => Some(
                "this type is version 1, the first: there is no older version to upcast from \
                 (raise `version` when the shape changes)"
                    .to_owned(),
            ),
            Ok(from) if from >= version => Some(format!(
                "`from = {from}` is not an older version: this type is version {version}, so its \
                 upcasters go from 1 to {}",
                version - 1
            )),
            Ok(from) if chain.contains_key(&from) => Some(format!(
                "a second upcaster from version {from}: each older version has exactly one"
            )),
            Ok(from) => {
                chain.insert(from, upcast);
                None
            }
        };
        if let Some(problem) = problem {
            errors.push(syn::Error::new(from_literal.span(), problem));
        }
    }
    chain
}

fn is_reference(field: &Field<'_>) -> bool {
    matches!(field.ty, syn::Type::Reference(_))
}

fn unknown_field(ident: &syn::Ident, setting: &str, input: &Input<'_>) -> syn::Error {
    let known: Vec<String> = input.fields.iter().map(|f| f.ident.to_string()).collect();
    syn::Error::new(
        ident.span(),
        format!(
            "unknown field `{ident}` in {setting}: {} has fields {}",
            input.ident,
            known.join(", ")
        ),
    )
}
