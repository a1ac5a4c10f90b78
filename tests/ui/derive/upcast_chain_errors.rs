// Every way an upcast chain can be wrong: each is one spanned error.
use eventosaurus::codec::Item;

fn up(item: Item) -> Result<Item, String> {
    Ok(item)
}

// A gap: version 3 needs upcasters from 1 and from 2.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "gap", partition_key = id, version = 3, upcast(from = 1, with = up))]
pub struct Gap {
    pub id: u64,
}

// Two upcasters from version 1.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "twice", partition_key = id, version = 2,
               upcast(from = 1, with = up), upcast(from = 1, with = up))]
pub struct Twice {
    pub id: u64,
}

// Versions start at 1.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "zero", partition_key = id, version = 2,
               upcast(from = 0, with = up), upcast(from = 1, with = up))]
pub struct FromZero {
    pub id: u64,
}

// `from` must be older than the type's version.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "ahead", partition_key = id, version = 2,
               upcast(from = 1, with = up), upcast(from = 2, with = up))]
pub struct FromCurrent {
    pub id: u64,
}

// Upcasters without a version.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "unversioned", partition_key = id, upcast(from = 1, with = up))]
pub struct NoVersion {
    pub id: u64,
}

// Version 1 has nothing older.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "first", partition_key = id, version = 1, upcast(from = 1, with = up))]
pub struct FirstVersion {
    pub id: u64,
}

// Version 0 does not exist.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "nought", partition_key = id, version = 0)]
pub struct VersionZero {
    pub id: u64,
}

// An upcast without its function.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "no_with", partition_key = id, version = 2, upcast(from = 1))]
pub struct NoWith {
    pub id: u64,
}

// An upcast without its version.
#[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "no_from", partition_key = id, version = 2, upcast(with = up))]
pub struct NoFrom {
    pub id: u64,
}

fn main() {}
