//! Parsing: the derive input into a model of the event and its fields.

use proc_macro2::Span;
use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::attr::{self, ContainerAttrs, SerdeContainer, SerdeField};

/// What a field's Rust type is, as far as DynamoDB cares.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    Integer,
    Float,
    String,
    Bool,
    Other,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    /// The stored attribute name (after serde renames).
    pub name: String,
    /// The name serde reads it back from (differs only with `rename(deserialize = ..)`).
    pub de_name: String,
    /// Where the stored name comes from: the rename literal or the field ident.
    pub name_span: Span,
    /// False for `#[serde(skip)]`, `skip_serializing` and `flatten` fields: no attribute of
    /// their own.
    pub stored: bool,
    pub kind: TypeKind,
    pub serde: SerdeField,
    /// `#[eventosaurus(linked)]`: where it was written.
    pub linked: Option<Span>,
    /// `#[eventosaurus(expires_at)]`: where it was written.
    pub expires_at: Option<Span>,
}

pub struct Input<'a> {
    pub ident: &'a Ident,
    /// The struct's visibility: the generated query builder gets the same.
    pub vis: &'a syn::Visibility,
    pub attrs: ContainerAttrs,
    pub serde: SerdeContainer,
    pub fields: Vec<Field<'a>>,
}

impl<'a> Input<'a> {
    pub fn field(&self, ident: &Ident) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.ident == ident)
    }
}

/// Parses the input. Structural problems (not a struct with named fields, generics) are
/// returned as an error; attribute problems are collected into `errors`.
pub fn parse<'a>(input: &'a DeriveInput, errors: &mut Vec<syn::Error>) -> syn::Result<Input<'a>> {
    let named = named_fields(input)?;
    let attrs = attr::container(&input.attrs, errors);
    let serde = attr::serde_container(&input.attrs);
    if let Some(span) = serde.transparent {
        errors.push(syn::Error::new(span, "#[serde(transparent)] events are not supported: an event is stored as a map of attributes"));
    }
    if let Some(span) = serde.into {
        errors.push(syn::Error::new(
            span,
            "#[serde(into = \"..\")] events are not supported: eventosaurus stores, keys and queries an \
             event by its own fields; derive Storable on the type you convert into instead",
        ));
    }
    let fields = named
        .named
        .iter()
        .filter_map(|field| parse_field(field, &serde, errors))
        .collect();
    Ok(Input {
        ident: &input.ident,
        vis: &input.vis,
        attrs,
        serde,
        fields,
    })
}

/// The fields of a non-generic struct with named fields; anything else cannot be an event.
fn named_fields(input: &DeriveInput) -> syn::Result<&syn::FieldsNamed> {
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named,
            _ => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "Storable events must be structs with named fields",
                ))
            }
        },
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                "Storable events must be structs with named fields, not enums",
            ))
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "Storable events must be structs with named fields, not unions",
            ))
        }
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "Storable events cannot be generic: each event type has its own table",
        ));
    }
    Ok(named)
}

/// One named field: its stored names (serde's renames in each direction), kind and settings.
fn parse_field<'a>(
    field: &'a syn::Field,
    serde: &attr::SerdeContainer,
    errors: &mut Vec<syn::Error>,
) -> Option<Field<'a>> {
    let ident = field.ident.as_ref()?;
    let serde_field = attr::serde_field(&field.attrs);
    let field_attrs = attr::field(&field.attrs, errors);
    let raw = ident.to_string();
    let raw = raw.strip_prefix("r#").unwrap_or(&raw).to_owned();
    let (name, name_span) = field_name(
        &serde_field.rename.ser,
        &serde.rename_all.ser,
        &raw,
        ident,
        errors,
    );
    let (de_name, _) = field_name(
        &serde_field.rename.de,
        &serde.rename_all.de,
        &raw,
        ident,
        errors,
    );
    Some(Field {
        ident,
        ty: &field.ty,
        name,
        de_name,
        name_span,
        stored: !serde_field.skip_serializing && !serde_field.flatten,
        kind: kind_of(&field.ty),
        serde: serde_field,
        linked: field_attrs.linked,
        expires_at: field_attrs.expires_at,
    })
}

/// A field's name in one direction: its own rename, else the container's rule, else itself.
fn field_name(
    rename: &Option<syn::LitStr>,
    rule: &Option<syn::LitStr>,
    raw: &str,
    ident: &Ident,
    errors: &mut Vec<syn::Error>,
) -> (String, Span) {
    match (rename, rule) {
        (Some(lit), _) => (lit.value(), lit.span()),
        (None, Some(rule)) => match attr::apply_rename_all(&rule.value(), raw) {
            Some(name) => (name, ident.span()),
            None => {
                let message = "unknown serde rename_all rule";
                if !errors.iter().any(|e| e.to_string() == message) {
                    errors.push(syn::Error::new(rule.span(), message));
                }
                (raw.to_owned(), ident.span())
            }
        },
        (None, None) => (raw.to_owned(), ident.span()),
    }
}

/// The span of a 128-bit integer anywhere in a type (`u128`, `Option<i128>`, `Vec<u128>`..).
pub fn find_128_bit(ty: &Type) -> Option<&Ident> {
    match ty {
        Type::Group(g) => find_128_bit(&g.elem),
        Type::Paren(p) => find_128_bit(&p.elem),
        Type::Reference(r) => find_128_bit(&r.elem),
        Type::Array(a) => find_128_bit(&a.elem),
        Type::Slice(s) => find_128_bit(&s.elem),
        Type::Ptr(p) => find_128_bit(&p.elem),
        Type::Tuple(t) => t.elems.iter().find_map(find_128_bit),
        Type::Path(p) => {
            if let Some(q) = &p.qself {
                if let Some(found) = find_128_bit(&q.ty) {
                    return Some(found);
                }
            }
            p.path.segments.iter().find_map(|segment| {
                if segment.ident == "u128" || segment.ident == "i128" {
                    return Some(&segment.ident);
                }
                match &segment.arguments {
                    syn::PathArguments::AngleBracketed(args) => {
                        args.args.iter().find_map(|arg| match arg {
                            syn::GenericArgument::Type(t) => find_128_bit(t),
                            _ => None,
                        })
                    }
                    _ => None,
                }
            })
        }
        _ => None,
    }
}

fn kind_of(ty: &Type) -> TypeKind {
    match ty {
        Type::Reference(r) => kind_of(&r.elem),
        Type::Group(g) => kind_of(&g.elem),
        Type::Paren(p) => kind_of(&p.elem),
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return TypeKind::Other;
            };
            if !last.arguments.is_empty() {
                return TypeKind::Other;
            }
            match last.ident.to_string().as_str() {
                "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64"
                | "i128" | "isize" => TypeKind::Integer,
                "f32" | "f64" => TypeKind::Float,
                "String" | "str" | "char" => TypeKind::String,
                "bool" => TypeKind::Bool,
                _ => TypeKind::Other,
            }
        }
        _ => TypeKind::Other,
    }
}
