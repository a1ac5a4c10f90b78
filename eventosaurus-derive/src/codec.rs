//! Generation of the direct item codec: `Storable::encode_attributes` and
//! `decode_attributes`, field by field, producing exactly what serde_dynamo produces.
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

fn encode(input: &Input<'_>) -> TokenStream {
    let stored: Vec<&Field<'_>> = input.fields.iter().filter(|f| f.stored).collect();
    // Room for `event_version` too, which a type of version 2 or later writes.
    let versioned = input
        .attrs
        .version
        .as_ref()
        .and_then(|v| v.base10_parse::<u32>().ok())
        .is_some_and(|v| v > 1);
    let capacity = stored.len() + usize::from(versioned);
    let puts = stored.iter().map(|f| {
        let ident = f.ident;
        let name = &f.name;
        let value = match (&f.serde.with, &f.serde.serialize_with) {
            (_, Some((path, _))) => quote! {
                ::eventosaurus::codec::fast::custom(#path(&self.#ident, ::eventosaurus::codec::fast::serializer()))?
            },
            (Some((module, _)), None) => quote! {
                ::eventosaurus::codec::fast::custom(#module::serialize(&self.#ident, ::eventosaurus::codec::fast::serializer()))?
            },
            (None, None) => quote! {
                (&::eventosaurus::codec::fast::Encode(&self.#ident)).encode_field(#name)?
            },
        };
        let put = quote! { ::eventosaurus::codec::fast::put(&mut item, #name, #value); };
        match &f.serde.skip_serializing_if {
            Some(predicate) => quote! { if !#predicate(&self.#ident) { #put } },
            None => put,
        }
    });
    quote! {
        const ENCODES_DECLARED_FIELDS_ONLY: bool = true;

        fn encode_attributes(
            &self,
        ) -> ::std::result::Result<::eventosaurus::codec::Item, ::eventosaurus::codec::fast::Error> {
            #[allow(unused_imports)]
            use ::eventosaurus::codec::fast::{EncodeScalar as _, EncodeSerde as _};
            let mut item = ::eventosaurus::codec::fast::item(#capacity);
            #(#puts)*
            ::std::result::Result::Ok(item)
        }
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
