//! Generation of the direct item codec: `Storable::encode_item` and `decode_attributes`,
//! field by field, producing exactly what serde_dynamo produces (plus `event_uuid` and
//! `created_at` when encoding).
//!
//! The per-field work (a known scalar written directly, anything else through
//! serde_dynamo) is chosen by the compiler in the runtime's `codec::fast`; this module only
//! mirrors serde_derive's handling of the field attributes. A struct whose serde attributes
//! change its shape as a whole keeps the trait's serde_dynamo defaults.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::{Field, Input};
use crate::attr::FieldDefault;

/// The two trait methods, or nothing where serde_dynamo's defaults must stay.
pub fn methods(input: &Input<'_>) -> TokenStream {
    if input.attrs.serde_codec {
        return TokenStream::new();
    }
    let any_flatten = input.fields.iter().any(|f| f.serde.flatten);
    let mut out = TokenStream::new();
    if !(input.serde.changes_serialization || any_flatten) {
        out.extend(encode(input));
    }
    let decode_ok = !(input.serde.changes_deserialization
        || any_flatten
        || input.fields.iter().any(|f| f.serde.other_deserialization));
    if decode_ok {
        out.extend(decode(input));
    }
    out
}

/// `encode_item`: the whole item, each attribute counted as it is written (see the runtime's
/// `codec::fast`). A struct whose attributes are the same on every event fills a copy of a
/// per-type prototype slot by slot; one with `skip_serializing_if` (or two fields under one
/// name) inserts attribute by attribute.
fn encode(input: &Input<'_>) -> TokenStream {
    let stored: Vec<&Field<'_>> = input.fields.iter().filter(|f| f.stored).collect();
    let mut names = std::collections::HashSet::new();
    let fixed_shape = stored
        .iter()
        .all(|f| f.serde.skip_serializing_if.is_none() && names.insert(f.name.as_str()));
    let room = room_after_encoding(input);
    let body = if fixed_shape {
        encode_into_prototype(&stored, room)
    } else {
        encode_by_insertion(&stored, room)
    };
    quote! {
        fn encode_item(
            &self,
            event_uuid: &::eventosaurus::Uuid,
            created_at: &::eventosaurus::CreatedAt,
        ) -> ::std::option::Option<::std::result::Result<
            ::eventosaurus::model::EncodedItem,
            ::eventosaurus::codec::fast::Error,
        >> {
            #[allow(unused_imports)]
            use ::eventosaurus::codec::fast::{EncodeScalar as _, EncodeSerde as _};
            let encode = || -> ::std::result::Result<
                ::eventosaurus::model::EncodedItem,
                ::eventosaurus::codec::fast::Error,
            > {
                let mut tally = ::eventosaurus::codec::fast::ItemTally::new(
                    <Self as ::eventosaurus::Storable>::TABLE,
                );
                #body
            };
            ::std::option::Option::Some(encode())
        }
    }
}

/// Room for the attributes the codec adds after the encoder (so that adding them does not
/// grow the map): `event_version` for a type of version 2 or later, `expires_at` for a type
/// with a time to live.
fn room_after_encoding(input: &Input<'_>) -> usize {
    let versioned = input
        .attrs
        .version
        .as_ref()
        .and_then(|v| v.base10_parse::<u32>().ok())
        .is_some_and(|v| v > 1);
    let expiring = input.attrs.ttl.is_some() || input.fields.iter().any(|f| f.expires_at.is_some());
    usize::from(versioned) + usize::from(expiring)
}

/// The expression of a stored field's attribute value.
fn field_value(f: &Field<'_>) -> TokenStream {
    let ident = f.ident;
    let name = &f.name;
    match (&f.serde.with, &f.serde.serialize_with) {
        (_, Some((path, _))) => quote! {
            ::eventosaurus::codec::fast::custom(#path(&self.#ident, ::eventosaurus::codec::fast::serializer()))?
        },
        (Some((module, _)), None) => quote! {
            ::eventosaurus::codec::fast::custom(#module::serialize(&self.#ident, ::eventosaurus::codec::fast::serializer()))?
        },
        (None, None) => quote! {
            (&::eventosaurus::codec::fast::Encode(&self.#ident)).encode_field(#name)?
        },
    }
}

/// Every slot of the prototype (the stored names, `event_uuid`, `created_at`) is matched by
/// name and overwritten: no key is hashed.
fn encode_into_prototype(stored: &[&Field<'_>], room: usize) -> TokenStream {
    let names = stored.iter().map(|f| &f.name);
    let arms = stored.iter().map(|f| {
        let name = &f.name;
        let value = field_value(f);
        quote! { #name => #value, }
    });
    quote! {
        static PROTOTYPE: ::std::sync::OnceLock<::eventosaurus::codec::Item> =
            ::std::sync::OnceLock::new();
        let mut item = ::eventosaurus::codec::fast::from_prototype(
            &PROTOTYPE,
            &[#(#names,)* ::eventosaurus::schema::EVENT_UUID, ::eventosaurus::schema::CREATED_AT],
            #room,
        );
        for (name, slot) in item.iter_mut() {
            let value = match name.as_str() {
                #(#arms)*
                ::eventosaurus::schema::EVENT_UUID => {
                    ::eventosaurus::codec::fast::event_uuid_value(event_uuid)
                }
                ::eventosaurus::schema::CREATED_AT => {
                    ::eventosaurus::codec::fast::created_at_value(created_at)
                }
                other => {
                    return ::std::result::Result::Err(
                        ::eventosaurus::codec::fast::unknown_attribute(other),
                    )
                }
            };
            tally.count(name, &value);
            ::eventosaurus::codec::fast::fill(slot, value);
        }
        ::std::result::Result::Ok(tally.finish(item))
    }
}

/// Attribute by attribute, as serde_derive writes them (`skip_serializing_if` honoured).
fn encode_by_insertion(stored: &[&Field<'_>], room: usize) -> TokenStream {
    let capacity = stored.len() + room;
    let puts = stored.iter().map(|f| {
        let ident = f.ident;
        let name = &f.name;
        let value = field_value(f);
        let put = quote! { tally.put(&mut item, #name, #value); };
        match &f.serde.skip_serializing_if {
            Some(predicate) => quote! { if !#predicate(&self.#ident) { #put } },
            None => put,
        }
    });
    quote! {
        let mut item = ::eventosaurus::codec::fast::item(#capacity);
        #(#puts)*
        tally.put(
            &mut item,
            ::eventosaurus::schema::EVENT_UUID,
            ::eventosaurus::codec::fast::event_uuid_value(event_uuid),
        );
        tally.put(
            &mut item,
            ::eventosaurus::schema::CREATED_AT,
            ::eventosaurus::codec::fast::created_at_value(created_at),
        );
        ::std::result::Result::Ok(tally.finish(item))
    }
}

fn default_value(default: &Option<FieldDefault>) -> TokenStream {
    match default {
        Some(FieldDefault::Path(path)) => quote!(#path()),
        _ => quote!(::std::default::Default::default()),
    }
}

fn decode(input: &Input<'_>) -> TokenStream {
    let fields = input.fields.iter().map(|f| {
        let ident = f.ident;
        let ty = f.ty;
        let name = &f.de_name;
        if f.serde.skip_deserializing {
            // serde_derive: the field's default, or `Default::default()`.
            let value = default_value(&f.serde.default);
            return quote! { #ident: #value };
        }
        let decoder = quote!((&::eventosaurus::codec::fast::Decode::<#ty>::new()));
        let read = match (&f.serde.with, &f.serde.deserialize_with) {
            (_, Some((path, _))) => quote! {
                ::eventosaurus::codec::fast::custom_decode(#name, value, #path)?
            },
            (Some((module, _)), None) => quote! {
                ::eventosaurus::codec::fast::custom_decode(#name, value, #module::deserialize)?
            },
            (None, None) => quote! { #decoder.decode_field(value, #name)? },
        };
        let missing = match &f.serde.default {
            Some(default) => default_value(&Some(default.clone())),
            None if f.serde.custom_deserializer() => {
                quote!(::eventosaurus::codec::fast::missing_field_error(#name)?)
            }
            None => quote!(#decoder.missing_field(#name)?),
        };
        quote! {
            #ident: match item.remove(#name) {
                ::std::option::Option::Some(value) => #read,
                ::std::option::Option::None => #missing,
            }
        }
    });
    quote! {
        fn decode_attributes(
            mut item: ::eventosaurus::codec::Item,
        ) -> ::std::result::Result<Self, ::eventosaurus::codec::fast::Error> {
            #[allow(unused_imports)]
            use ::eventosaurus::codec::fast::{DecodeScalar as _, DecodeSerde as _};
            ::std::result::Result::Ok(Self { #(#fields),* })
        }
    }
}
