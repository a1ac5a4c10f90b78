//! Time to live: `ttl = "90d"` or a field marked `#[eventosaurus(expires_at)]`, checked, and
//! the code each generates.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Field, Input};

/// The attribute every expiring event gets (the runtime's `schema::EXPIRES_AT`).
pub const EXPIRES_AT: &str = "expires_at";

/// A checked time to live.
pub enum ValidTtl<'i, 'a> {
    /// `ttl = ".."`, in seconds.
    AfterCreation(u64),
    /// The field marked `expires_at`.
    Field(&'i Field<'a>),
}

/// Seconds per unit of a `ttl = ".."` text.
fn unit_seconds(unit: &str) -> Option<u64> {
    Some(match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return None,
    })
}

/// `"90d"` → seconds: a whole number and one unit, `s`, `m`, `h` or `d`.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let usage = "write a whole number and a unit: s, m, h or d (e.g. \"90d\", \"12h\", \"30m\")";
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let Some(per_unit) = unit_seconds(unit) else {
        return Err(format!("invalid ttl {text:?}: {usage}"));
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("invalid ttl {text:?}: {usage}"))?;
    if number == 0 {
        return Err(format!(
            "invalid ttl {text:?}: a lifetime of zero would expire every event as it is stored"
        ));
    }
    // i64::MAX seconds is what the epoch-seconds attribute can hold.
    number
        .checked_mul(per_unit)
        .filter(|seconds| i64::try_from(*seconds).is_ok())
        .ok_or_else(|| format!("invalid ttl {text:?}: too long"))
}

/// Checks the time to live settings: at most one `expires_at` field, not together with
/// `ttl`, and no field stored as `expires_at` when events expire.
pub fn validate<'i, 'a>(
    input: &'i Input<'a>,
    errors: &mut Vec<syn::Error>,
) -> Option<ValidTtl<'i, 'a>> {
    let mut field = None;
    for marked in input.fields.iter().filter(|f| f.expires_at.is_some()) {
        let span = marked.expires_at.unwrap_or_else(|| marked.ident.span());
        if field.is_some() {
            errors.push(syn::Error::new(
                span,
                "only one field can be `expires_at`: an event has one expiry time",
            ));
        } else {
            field = Some(marked);
        }
    }
    let after_creation = input.attrs.ttl.as_ref().and_then(|literal| {
        parse_duration(&literal.value())
            .map_err(|message| errors.push(syn::Error::new(literal.span(), message)))
            .ok()
    });
    if let (Some(literal), Some(marked)) = (&input.attrs.ttl, field) {
        let message = "`ttl` and an `expires_at` field cannot both be given: choose a fixed \
                       lifetime (ttl = \"90d\") or the time a field holds";
        errors.push(syn::Error::new(literal.span(), message));
        errors.push(syn::Error::new(
            marked.expires_at.unwrap_or_else(|| marked.ident.span()),
            message,
        ));
        return None;
    }
    let ttl = match (after_creation, field) {
        (Some(seconds), None) => Some(ValidTtl::AfterCreation(seconds)),
        (None, Some(marked)) => Some(ValidTtl::Field(marked)),
        _ => None,
    };
    if input.attrs.ttl.is_some() || field.is_some() {
        for stored in input
            .fields
            .iter()
            .filter(|f| f.stored && f.name == EXPIRES_AT)
        {
            errors.push(syn::Error::new(
                stored.name_span,
                "`expires_at` is reserved for events that expire: eventosaurus stores their expiry \
                 time under it, in epoch seconds; rename the field (e.g. with \
                 #[serde(rename = \"..\")])",
            ));
        }
    }
    ttl
}

/// The `ttl` value of the generated `TableDef`.
pub fn table_def(ttl: &Option<ValidTtl<'_, '_>>) -> TokenStream {
    match ttl {
        None => quote!(::std::option::Option::None),
        Some(ValidTtl::AfterCreation(seconds)) => quote! {
            ::std::option::Option::Some(::eventosaurus::table::Ttl::AfterCreation { seconds: #seconds })
        },
        Some(ValidTtl::Field(field)) => {
            let attribute = &field.name;
            quote! {
                ::std::option::Option::Some(::eventosaurus::table::Ttl::Field { attribute: #attribute })
            }
        }
    }
}

/// `Storable::expires_at_field` for an `expires_at` field: its type must implement
/// `ExpiresAtField` (an error spanned at the type otherwise).
pub fn method(ttl: &Option<ValidTtl<'_, '_>>) -> TokenStream {
    let Some(ValidTtl::Field(field)) = ttl else {
        return TokenStream::new();
    };
    let ident = field.ident;
    let ty = field.ty;
    let call = quote_spanned! {ty.span()=>
        <#ty as ::eventosaurus::model::ExpiresAtField>::expires_at_epoch_seconds(&self.#ident)
    };
    quote! {
        fn expires_at_field(&self) -> ::std::option::Option<i64> {
            #call
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_in_each_unit() {
        assert_eq!(parse_duration("90d"), Ok(90 * 86_400));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("30m"), Ok(1_800));
        assert_eq!(parse_duration("45s"), Ok(45));
        for bad in ["", "d", "90", "90 d", "1.5h", "-1d", "90D", "90days", "0s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("99999999999999999999d").is_err());
        assert!(parse_duration("106751991167301d")
            .unwrap_err()
            .contains("too long"));
    }
}
