//! The event types linked into this binary.
//!
//! Every `#[derive(Storable)]` registers its [`TableDef`] at link time (with `inventory`).
//! The linker keeps only what the binary uses: the event types of a library crate that the
//! binary never names are **not** registered. So the registry is a reliable list only of the
//! event types defined in the binary's own crate; elsewhere, name the types
//! (`&[PhoneCall::TABLE, ..]`), e.g. for `eventosaurus_cli::run`.

use crate::schema::TableDef;

/// One registered event type. Created by the derive; not meant to be built by hand.
#[derive(Debug)]
pub struct Registration {
    table: &'static TableDef,
}

impl Registration {
    /// A registration of `table`.
    #[doc(hidden)]
    pub const fn new(table: &'static TableDef) -> Self {
        Registration { table }
    }

    /// The registered table definition.
    pub fn table(&self) -> &'static TableDef {
        self.table
    }
}

inventory::collect!(Registration);

/// Every registered table definition, sorted by table name (duplicates removed). Only the
/// event types the linker kept (see the [module docs](self)).
pub fn tables() -> Vec<&'static TableDef> {
    let mut tables: Vec<&'static TableDef> = inventory::iter::<Registration>
        .into_iter()
        .map(|r| r.table)
        .collect();
    tables.sort_by(|a, b| a.name.cmp(b.name).then(a.event_type.cmp(b.event_type)));
    tables.dedup_by(|a, b| a == b);
    tables
}

/// The registered definition with this logical table name, if any.
pub fn table(name: &str) -> Option<&'static TableDef> {
    tables().into_iter().find(|t| t.name == name)
}
