//! Global secondary indexes: each `index(name = "..", partition_key = field, sort_key = field)`
//! checked against the fields and DynamoDB's rules, and the `GlobalIndexDef` it generates.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::{Ident, LitStr};

use crate::ast::{Field, Input, TypeKind};

/// DynamoDB's default quota of global secondary indexes per table.
const MAX_INDEXES: usize = 20;
/// The name of the `created_at` LSI every table has (the runtime's `CREATED_AT_INDEX`).
const CREATED_AT_INDEX: &str = "created_at_index";

/// A key of a checked index: a field, or one of the attributes every item has.
pub enum IndexKey<'i, 'a> {
    Field(&'i Field<'a>),
    /// `created_at` or `event_uuid` (strings).
    Builtin(&'static str),
}

impl IndexKey<'_, '_> {
    fn attribute(&self) -> &str {
        match self {
            IndexKey::Field(field) => &field.name,
            IndexKey::Builtin(name) => name,
        }
    }

    fn tokens(&self) -> TokenStream {
        let attribute = self.attribute();
        let number = matches!(self, IndexKey::Field(f) if f.kind == TypeKind::Integer);
        let attribute_type = if number {
            quote!(::eventosaurus::table::KeyAttributeType::Number)
        } else {
            quote!(::eventosaurus::table::KeyAttributeType::String)
        };
        quote! {
            ::eventosaurus::table::IndexKey { attribute: #attribute, attribute_type: #attribute_type }
        }
    }
}

/// A checked index.
pub struct ValidIndex<'i, 'a> {
    pub name: &'i LitStr,
    pub partition_key: IndexKey<'i, 'a>,
    pub sort_key: Option<IndexKey<'i, 'a>>,
}

/// Checks every `index(..)`: a name (unique, not the LSI's; its characters are checked at
/// compile time by the runtime's `name::check_index_name`), a partition key that is a stored
/// integer or `String` field other than the table's partition key, an optional sort key that
/// is such a field or `created_at` / `event_uuid`, and at most 20 indexes.
pub fn validate<'i, 'a>(
    input: &'i Input<'a>,
    errors: &mut Vec<syn::Error>,
) -> Vec<ValidIndex<'i, 'a>> {
    let mut names = HashSet::new();
    let mut valid = Vec::new();
    if let Some(extra) = input.attrs.indexes.get(MAX_INDEXES) {
        errors.push(syn::Error::new(
            extra.span,
            format!("at most {MAX_INDEXES} indexes: DynamoDB's default quota of global secondary indexes per table"),
        ));
    }
    for index in &input.attrs.indexes {
        let Some(name) = &index.name else {
            errors.push(syn::Error::new(
                index.span,
                "missing `name`: write index(name = \"by_phone\", partition_key = some_field)",
            ));
            continue;
        };
        let text = name.value();
        if text == CREATED_AT_INDEX {
            errors.push(syn::Error::new(
                name.span(),
                "`created_at_index` is the name of the local secondary index every event table has: \
                 choose another name",
            ));
            continue;
        }
        if !names.insert(text.clone()) {
            errors.push(syn::Error::new(
                name.span(),
                format!("two indexes are named `{text}`: index names are unique within a table"),
            ));
            continue;
        }
        let Some(partition_ident) = &index.partition_key else {
            errors.push(syn::Error::new(
                name.span(),
                format!("index `{text}` needs a `partition_key = field`: the attribute its queries give with EQ"),
            ));
            continue;
        };
        let partition_key = partition_key(input, partition_ident, &text, errors);
        let sort_key = index
            .sort_key
            .as_ref()
            .and_then(|ident| sort_key(input, ident, partition_ident, &text, errors));
        if let Some(partition_key) = partition_key {
            if index.sort_key.is_none() || sort_key.is_some() {
                valid.push(ValidIndex {
                    name,
                    partition_key,
                    sort_key,
                });
            }
        }
    }
    valid
}

fn partition_key<'i, 'a>(
    input: &'i Input<'a>,
    ident: &Ident,
    index: &str,
    errors: &mut Vec<syn::Error>,
) -> Option<IndexKey<'i, 'a>> {
    if ident == "created_at" || ident == "event_uuid" {
        errors.push(syn::Error::new(
            ident.span(),
            format!(
                "`{ident}` cannot be the partition key of index `{index}`: nearly every event has \
                 its own, so each partition of the index would hold one event; use it as the \
                 sort_key (partition_key = some_field, sort_key = {ident})"
            ),
        ));
        return None;
    }
    if input.attrs.partition_key.as_ref() == Some(ident) {
        errors.push(syn::Error::new(
            ident.span(),
            format!(
                "`{ident}` is the table's partition key: a query with EQ on it reads the table (and \
                 its created_at index) directly, so index `{index}` would never be used; give the \
                 index another partition key"
            ),
        ));
        return None;
    }
    key_field(input, ident, "partition_key", index, errors).map(IndexKey::Field)
}

fn sort_key<'i, 'a>(
    input: &'i Input<'a>,
    ident: &Ident,
    partition: &Ident,
    index: &str,
    errors: &mut Vec<syn::Error>,
) -> Option<IndexKey<'i, 'a>> {
    if ident == partition {
        errors.push(syn::Error::new(
            ident.span(),
            format!("the sort key of index `{index}` is its partition key: choose another attribute, or none"),
        ));
        return None;
    }
    match ident.to_string().as_str() {
        "created_at" => Some(IndexKey::Builtin("created_at")),
        "event_uuid" => Some(IndexKey::Builtin("event_uuid")),
        _ => key_field(input, ident, "sort_key", index, errors).map(IndexKey::Field),
    }
}

/// A field that can be an index key: known, stored under its own attribute, written from its
/// type, and an integer (`N`) or a `String` (`S`).
fn key_field<'i, 'a>(
    input: &'i Input<'a>,
    ident: &Ident,
    setting: &str,
    index: &str,
    errors: &mut Vec<syn::Error>,
) -> Option<&'i Field<'a>> {
    let Some(field) = input.field(ident) else {
        let known: Vec<String> = input.fields.iter().map(|f| f.ident.to_string()).collect();
        let builtin = if setting == "sort_key" {
            " (or created_at, event_uuid)"
        } else {
            ""
        };
        errors.push(syn::Error::new(
            ident.span(),
            format!(
                "unknown field `{ident}` in the {setting} of index `{index}`: {} has fields {}{builtin}",
                input.ident,
                known.join(", ")
            ),
        ));
        return None;
    };
    let problem = if !field.stored {
        Some("a #[serde(skip)] or #[serde(flatten)] field has no attribute of its own".to_owned())
    } else if field.serde.custom_serializer().is_some() {
        Some("a field with its own serializer (#[serde(with)], serialize_with) is not stored as its type says, and DynamoDB index keys need a fixed type".to_owned())
    } else if !matches!(field.kind, TypeKind::Integer | TypeKind::String)
        || matches!(field.ty, syn::Type::Reference(_))
    {
        Some(format!(
            "`{}` is not a key type: use an integer type (stored as N) or String (stored as S); an \
             Option would store NULL, which DynamoDB refuses in an index key",
            field.ty.to_token_stream().to_string().replace(' ', "")
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => {
            errors.push(syn::Error::new(
                ident.span(),
                format!("`{ident}` cannot be the {setting} of index `{index}`: {problem}"),
            ));
            None
        }
        None => Some(field),
    }
}

/// The `GlobalIndexDef` values of the generated `TableDef`.
pub fn table_defs(indexes: &[ValidIndex<'_, '_>]) -> Vec<TokenStream> {
    indexes
        .iter()
        .map(|index| {
            let name = index.name;
            let partition_key = index.partition_key.tokens();
            let sort_key = match &index.sort_key {
                Some(key) => {
                    let key = key.tokens();
                    quote!(::std::option::Option::Some(#key))
                }
                None => quote!(::std::option::Option::None),
            };
            quote! {
                ::eventosaurus::table::GlobalIndexDef {
                    name: #name,
                    partition_key: #partition_key,
                    sort_key: #sort_key,
                }
            }
        })
        .collect()
}

/// A compile-time check of each index name with the runtime's rule,
/// `eventosaurus::name::check_index_name` (a `const fn`): a bad name is an error on its literal.
pub fn name_checks(indexes: &[ValidIndex<'_, '_>]) -> TokenStream {
    indexes
        .iter()
        .map(|index| {
            let name = index.name;
            quote_spanned! {name.span()=>
                const _: () = {
                    if let ::core::result::Result::Err(error) =
                        ::eventosaurus::name::check_index_name(#name)
                    {
                        ::core::panic!("{}", error.index_message());
                    }
                };
            }
        })
        .collect()
}
