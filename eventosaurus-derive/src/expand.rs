//! Code generation. Everything generated refers to the runtime crate as `::eventosaurus`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::ast::{self, Input, TypeKind};
use crate::valid::{self, Valid};

pub fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Vec::new();
    let parsed = match ast::parse(input, &mut errors) {
        Ok(parsed) => parsed,
        Err(error) => {
            errors.push(error);
            return with_fallback(input, errors);
        }
    };
    match valid::validate(&parsed, &mut errors) {
        Some(valid) if errors.is_empty() => expand(&parsed, &valid),
        _ => with_fallback(input, errors),
    }
}

/// The errors, plus an impl that keeps the rest of the user's code compiling, so that only
/// the real mistake is reported.
fn with_fallback(input: &DeriveInput, errors: Vec<syn::Error>) -> TokenStream {
    let compile_errors = errors.iter().map(syn::Error::to_compile_error);
    let fallback = if input.generics.params.is_empty() {
        let ident = &input.ident;
        quote! {
            #[automatically_derived]
            impl ::eventosaurus::Storable for #ident {
                type PartitionKey = ::std::string::String;
                const TABLE: &'static ::eventosaurus::TableDef = &::eventosaurus::TableDef {
                    name: "",
                    event_type: "",
                    partition_key: "",
                    partition_key_type: ::eventosaurus::table::KeyAttributeType::String,
                    composite_key: &[],
                    attributes: &[],
                };
                fn composite_key(&self) -> ::std::option::Option<::std::string::String> {
                    ::std::unreachable!()
                }
            }
            #[automatically_derived]
            impl ::eventosaurus::OnError for #ident {}
        }
    } else {
        TokenStream::new()
    };
    quote! { #(#compile_errors)* #fallback }
}

fn expand(input: &Input<'_>, valid: &Valid<'_, '_>) -> TokenStream {
    let ident = input.ident;
    let event_type = ident.to_string();
    let table = valid.table;
    let pk = valid.partition_key;
    let pk_ty = pk.ty;
    let pk_name = &pk.name;
    let pk_type = if pk.kind == TypeKind::Integer {
        quote!(::eventosaurus::table::KeyAttributeType::Number)
    } else {
        quote!(::eventosaurus::table::KeyAttributeType::String)
    };
    let composite_names = valid.composite_key.iter().map(|f| &f.name);
    let attributes = input.fields.iter().filter(|f| f.stored).map(|f| {
        let name = &f.name;
        let field = f.ident.to_string();
        let kind = match f.kind {
            TypeKind::Integer | TypeKind::Float => quote!(Number),
            TypeKind::String => quote!(String),
            TypeKind::Bool => quote!(Bool),
            TypeKind::Other => quote!(Other),
        };
        quote! {
            ::eventosaurus::table::AttributeDef {
                name: #name,
                field: #field,
                attribute_type: ::eventosaurus::table::AttributeType::#kind,
            }
        }
    });
    let composite_body = if valid.composite_key.is_empty() {
        quote!(::std::option::Option::None)
    } else {
        let pushes = valid.composite_key.iter().map(|f| {
            let name = &f.name;
            let field = f.ident;
            // Spanned at the field's type: an unsupported type is reported there.
            quote_spanned! {f.ty.span()=>
                ::eventosaurus::event_id::CompositeKey::push(&mut key, #name, &self.#field);
            }
        });
        quote! {
            let mut key = ::eventosaurus::event_id::CompositeKey::new();
            #(#pushes)*
            ::std::option::Option::Some(key.finish())
        }
    };
    let pk_assoc = quote_spanned! {pk_ty.span()=> type PartitionKey = #pk_ty; };
    let on_error = if input.attrs.custom_on_error {
        TokenStream::new()
    } else {
        quote! {
            #[automatically_derived]
            impl ::eventosaurus::OnError for #ident {}
        }
    };

    quote! {
        #[automatically_derived]
        impl ::eventosaurus::Storable for #ident {
            #pk_assoc
            const TABLE: &'static ::eventosaurus::TableDef = &::eventosaurus::TableDef {
                name: #table,
                event_type: #event_type,
                partition_key: #pk_name,
                partition_key_type: #pk_type,
                composite_key: &[#(#composite_names),*],
                attributes: &[#(#attributes),*],
            };

            fn composite_key(&self) -> ::std::option::Option<::std::string::String> {
                #composite_body
            }
        }

        #on_error

        ::eventosaurus::__private::inventory::submit! {
            ::eventosaurus::registry::Registration::new(<#ident as ::eventosaurus::Storable>::TABLE)
        }
    }
}
