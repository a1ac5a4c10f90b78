//! The `#[derive(Storable)]` macro of [eventosaurus](https://docs.rs/eventosaurus).
//!
//! Use it through `eventosaurus::Storable`; this crate only parses and generates. The
//! pipeline is `ast` (parse the input and its attributes), `valid` (check them against
//! DynamoDB's rules) and `expand` (generate code that calls into the runtime crate by
//! absolute path). On any error the macro emits the spanned errors *and* a fallback impl,
//! so the user sees the real mistake, not a cascade of "trait not implemented".
#![warn(missing_docs)]

mod ast;
mod attr;
mod codec;
mod expand;
mod index;
mod ttl;
mod valid;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `eventosaurus::Storable`.
///
/// ```ignore
/// #[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
/// #[eventosaurus(table = "neat_event", partition_key = location,
///                composite_key(location, employee_name, employee_action))]
/// pub struct NeatEvent { pub location: String, pub employee_name: String, pub employee_action: String }
/// ```
///
/// Container attributes, inside `#[eventosaurus(..)]`:
/// * `table = "name"` (required): the table name without the environment prefix;
/// * `partition_key = field` (required): an integer (`N`) or `String` (`S`) field;
/// * `composite_key(field, ..)` (optional): fields digested into a deterministic `event_uuid`;
/// * `shard_by = field` (optional): an integer or `String` field that orders the event's
///   publication (its envelope's `partition_key`) instead of the partition key;
/// * `ttl = "90d"` (optional): events expire this long after `created_at` (`s`, `m`, `h`
///   or `d`); stored as the `expires_at` attribute, in epoch seconds;
/// * `index(name = "..", partition_key = field, sort_key = field)` (optional, repeatable): a
///   global secondary index projecting ALL attributes; keys are integer or `String` fields
///   (`sort_key` also `created_at` or `event_uuid`);
/// * `custom_on_error` (optional): you implement `eventosaurus::OnError` yourself;
/// * `serde_codec` (optional): encode and decode with serde_dynamo only. The derive otherwise
///   generates a direct codec that mirrors serde_derive's output field by field; use this
///   when the struct's `Serialize` / `Deserialize` are written by hand;
/// * `version = N` (optional, N ≥ 1, default 1): the version of the event's shape. A type of
///   version 2 or later stores it as the number attribute `event_version`; an item without
///   one is version 1 (so version 1 writes nothing);
/// * `upcast(from = K, with = path::to::function)` (repeatable): turns the attributes of an
///   item of version `K` into the shape of version `K + 1`, as
///   `fn(eventosaurus::codec::Item) -> Result<Item, E>` or
///   `fn(serde_json::Value) -> Result<serde_json::Value, E>`. Versions `1..N-1` need exactly one
///   each; a gap, a duplicate, `from = 0`, `from >= N` or upcasters without `version` are
///   compile errors. Every typed read runs the chain up to `N` (see
///   `eventosaurus::model::upcast`).
///
/// The composite-key digest covers the `composite_key` fields' stored attribute names and
/// values, not the version: keep those fields' stored names (`#[serde(rename)]` when the Rust
/// field is renamed) and value encodings in every version, or the same event would get a new
/// `event_uuid` and no longer be a duplicate.
///
/// Field attributes: `#[eventosaurus(linked)]` on at most one field marks records related to
/// the event, published apart from its data in its envelope (the field is stored as usual);
/// `#[eventosaurus(expires_at)]` on at most one field (not with `ttl`) says when the event
/// expires: its type must implement `eventosaurus::model::ExpiresAtField` (`DateTime`,
/// `CreatedAt`, `SystemTime`, epoch-second integers, and `Option`s of them).
/// Fields named (after serde renames) `event_uuid`, `created_at` or `event_version` are
/// compile errors: eventosaurus stores its own attributes under those names.
///
/// Besides `impl Storable`, it generates the typed query builder: an inherent
/// `Event::query()` returning `EventQuery` (same visibility as the struct), with
/// `by_<field>(..)` for every stored field, `by_event_uuid` and `by_created_at`; see
/// `eventosaurus::query`. A type named `<Event>Query` in the same module would clash.
#[proc_macro_derive(Storable, attributes(eventosaurus))]
pub fn derive_storable(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
