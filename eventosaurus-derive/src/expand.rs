//! Code generation. Everything generated refers to the runtime crate as `::eventosaurus`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
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
                    linked: ::std::option::Option::None,
                    shard_by: ::std::option::Option::None,
                    ttl: ::std::option::Option::None,
                    indexes: &[],
                    version: 1,
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
    let pk_ty = valid.partition_key.ty;
    let pk_assoc = quote_spanned! {pk_ty.span()=> type PartitionKey = #pk_ty; };
    let table_def = table_def(input, valid);
    let upcasters = upcasters(valid);
    let composite_body = composite_key_body(valid);
    let codec_methods = crate::codec::methods(input);
    let expires_at_method = crate::ttl::method(&valid.ttl);
    let query_builder = query_builder(input, valid);
    let on_error = if input.attrs.custom_on_error {
        TokenStream::new()
    } else {
        quote! {
            #[automatically_derived]
            impl ::eventosaurus::OnError for #ident {}
        }
    };
    let table_name_check = table_name_check(valid.table);
    let index_name_checks = crate::index::name_checks(&valid.indexes);

    quote! {
        #table_name_check
        #index_name_checks

        #[automatically_derived]
        impl ::eventosaurus::Storable for #ident {
            #pk_assoc
            const TABLE: &'static ::eventosaurus::TableDef = &#table_def;
            #upcasters

            fn composite_key(&self) -> ::std::option::Option<::std::string::String> {
                #composite_body
            }

            #codec_methods
            #expires_at_method
        }

        #query_builder
        #on_error

        ::eventosaurus::__private::inventory::submit! {
            ::eventosaurus::registry::Registration::new(<#ident as ::eventosaurus::Storable>::TABLE)
        }
    }
}

/// The `TableDef` literal: the table, its keys, every stored attribute with its type, the
/// envelope's fields, the time to live, the indexes and the version.
fn table_def(input: &Input<'_>, valid: &Valid<'_, '_>) -> TokenStream {
    let event_type = input.ident.to_string();
    let table = valid.table;
    let pk = valid.partition_key;
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
        // A field written by the user's own function may be stored as anything.
        let kind = match f.kind {
            _ if f.serde.custom_serializer().is_some() => quote!(Other),
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
    let optional_name = |field: Option<&ast::Field<'_>>| match field {
        Some(field) => {
            let name = &field.name;
            quote!(::std::option::Option::Some(#name))
        }
        None => quote!(::std::option::Option::None),
    };
    let linked = optional_name(valid.linked);
    let shard_by = optional_name(valid.shard_by);
    let ttl = crate::ttl::table_def(&valid.ttl);
    let indexes = crate::index::table_defs(&valid.indexes);
    let version = valid.version;
    quote! {
        ::eventosaurus::TableDef {
            name: #table,
            event_type: #event_type,
            partition_key: #pk_name,
            partition_key_type: #pk_type,
            composite_key: &[#(#composite_names),*],
            attributes: &[#(#attributes),*],
            linked: #linked,
            shard_by: #shard_by,
            ttl: #ttl,
            indexes: &[#(#indexes),*],
            version: #version,
        }
    }
}

/// The body of `Storable::composite_key`: `None` for random ids, else the composite key's
/// fields pushed in order into an `event_id::CompositeKey`.
fn composite_key_body(valid: &Valid<'_, '_>) -> TokenStream {
    if valid.composite_key.is_empty() {
        return quote!(::std::option::Option::None);
    }
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
}

/// `Storable::UPCASTERS`: one `Upcast` per `upcast(from = K, with = path)`, in order, each
/// calling its function through the runtime's `upcast::apply` (which accepts both shapes). A
/// function of another signature is reported at its path.
fn upcasters(valid: &Valid<'_, '_>) -> TokenStream {
    if valid.upcasts.is_empty() {
        return TokenStream::new();
    }
    // `valid` keeps only upcasts with a `from` it checked; one without `with` is an error.
    let steps = valid.upcasts.iter().filter_map(|upcast| {
        let from = upcast.from.as_ref()?.base10_parse::<u32>().ok()?;
        // Unsuffixed, whatever suffix the literal had.
        let from = proc_macro2::Literal::u32_unsuffixed(from);
        let path = upcast.with.as_ref()?;
        let leading = if path.leading_colon.is_some() {
            "::"
        } else {
            ""
        };
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let name = format!("{leading}{}", segments.join("::"));
        let call = quote_spanned! {path.span()=>
            ::eventosaurus::model::upcast::apply(#path, attributes)
        };
        Some(quote! {
            ::eventosaurus::model::Upcast {
                from: #from,
                name: #name,
                apply: |attributes| #call,
            }
        })
    });
    quote! {
        const UPCASTERS: &'static [::eventosaurus::model::Upcast] = &[#(#steps),*];
    }
}

/// A compile-time check of the table name with the runtime's own rule,
/// `eventosaurus::name::check_table_name` (a `const fn`), so that the rule lives once. A bad
/// name panics in const evaluation: a compile error on the `table = ".."` literal.
fn table_name_check(table: &syn::LitStr) -> TokenStream {
    quote_spanned! {table.span()=>
        const _: () = {
            if let ::core::result::Result::Err(error) =
                ::eventosaurus::name::check_table_name(#table)
            {
                ::core::panic!("{}", error.message());
            }
        };
    }
}

/// The typed query builder: `Event::query()` returns `EventQuery`, a newtype around the
/// runtime's `Query<Event>` with one `by_<field>` per stored field. All logic is in the
/// runtime; this only fixes each method's field type and stored attribute name.
fn query_builder(input: &Input<'_>, valid: &Valid<'_, '_>) -> TokenStream {
    let ident = input.ident;
    let vis = input.vis;
    let builder = format_ident!("{}Query", ident);
    let pk_field = valid.partition_key.ident;
    let by_methods = input
        .fields
        .iter()
        .filter(|f| f.stored)
        .map(|f| by_method(f, &builder, f.ident == pk_field));
    let builder_doc = format!(
        "The typed query builder of [`{ident}`], from [`{ident}::query`]: one `by_<field>(..)` per \
         field, then `run`, `count`, `stream` or `explain`. Generated by `#[derive(Storable)]`."
    );
    let query_doc = format!(
        "Starts a query on the table of `{ident}`. Give the partition key with \
         `.by_{}(..)` so it is a Query, not a Scan; see `eventosaurus::query`.",
        pk_field.to_string().trim_start_matches("r#")
    );
    quote! {
        #[doc = #builder_doc]
        #[derive(Debug, Clone)]
        #[must_use = "a query does nothing until run, counted, streamed or explained"]
        #vis struct #builder(::eventosaurus::query::Query<#ident>);

        #[automatically_derived]
        impl #ident {
            #[doc = #query_doc]
            #vis fn query() -> #builder {
                #builder(::eventosaurus::query::Query::new())
            }
        }

        #[automatically_derived]
        #[allow(dead_code, non_snake_case)]
        impl #builder {
            #(#by_methods)*

            /// A condition on `event_uuid`, the table's range key: a `Uuid` (or its string)
            /// means EQ. An EQ, or a range operator if no other range condition comes first,
            /// becomes the key condition.
            pub fn by_event_uuid(
                self,
                condition: impl ::eventosaurus::query::IntoCondition<::eventosaurus::query::EventUuidField>,
            ) -> Self {
                #builder(self.0.by_attribute::<::eventosaurus::query::EventUuidField>("event_uuid", condition))
            }

            /// A condition on `created_at`: a `DateTime<Utc>`, an `eventosaurus::CreatedAt` or
            /// the text form (`2026-11-23T19:38:57.123Z`). A range operator
            /// (`gt`, `between`, `begins_with`, ..) makes the Query use the `created_at` index.
            pub fn by_created_at(
                self,
                condition: impl ::eventosaurus::query::IntoCondition<::eventosaurus::query::CreatedAtField>,
            ) -> Self {
                #builder(self.0.by_attribute::<::eventosaurus::query::CreatedAtField>("created_at", condition))
            }
        }

        ::eventosaurus::__private::query_builder_methods!(#builder, #ident);
    }
}

/// The builder's `by_<field>(condition)` method of one stored field.
fn by_method(f: &ast::Field<'_>, builder: &syn::Ident, is_partition_key: bool) -> TokenStream {
    let raw = f.ident.to_string();
    let raw = raw.strip_prefix("r#").unwrap_or(&raw);
    let method = format_ident!("by_{}", raw, span = f.ident.span());
    let ty = f.ty;
    let name = &f.name;
    if f.serde.custom_serializer().is_some() {
        // Stored by the user's own function: a condition encoded from the field's type would
        // never match. The method exists so that calling it is a clear error.
        let doc = format!(
            "Not available: `{name}` is written by its own serializer (`#[serde(with)]` or \
             `serialize_with`), so a condition on it could not be encoded as it is stored. \
             Calling it does not compile."
        );
        return quote! {
            #[doc = #doc]
            pub fn #method<C>(self, condition: C) -> Self
            where
                C: ::eventosaurus::__private::CustomSerializedField<#ty>,
            {
                let _ = condition;
                self
            }
        };
    }
    let role = if is_partition_key {
        "the partition key: an EQ here makes the request a Query"
    } else {
        "a filter condition"
    };
    let doc = format!(
        "A condition on `{name}` ({role}): a `{}` means EQ, or pass a condition such as \
         `ne(..)`, `is_in([..])`, `gt(..)` or `between(..)` from `eventosaurus::query`.",
        quote!(#ty).to_string().replace(' ', "")
    );
    quote! {
        #[doc = #doc]
        pub fn #method(self, condition: impl ::eventosaurus::query::IntoCondition<#ty>) -> Self {
            #builder(self.0.by_attribute::<#ty>(#name, condition))
        }
    }
}
