//! Resources by declaration: a resource is its model type and one [`Table`], and every store implements the
//! generic operations (insert with a store-made key, get by any unique key, list, replace by primary key, delete
//! with what it cascades to, export and import) once, for every resource.
//!
//! A declaration names:
//! * the primary key and how it is made ([`PrimaryKey`]): an integer the store allocates in the insert's own
//!   statement, or a key the caller gives (a uuid or a natural key such as a slug);
//! * the unique keys, each a [`Field`] that [`StoreError::Duplicate`](crate::StoreError::Duplicate) reports;
//! * the stored columns (the SQL stores' table; listings filter, search and order by the resource's
//!   [`Column`](crate::query::Column) enum);
//! * the rows it refers to ([`Parent`]: a missing one is `NotFound`) and what deleting it does to the rows that
//!   refer to it ([`Child`]).
//!
//! The SQL schema stays in the explicit migration files of each dialect; a test checks that every declaration
//! matches its table.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use crate::StoreError;
use crate::model::{
    AkApplication, AkDeviceToken, AkGroup, AkKeyPair, AkProvider, AkScopeMapping, AkSession, AkUser, AkUserConsent,
    NbAccount, NbGroup, NbPeer, NbSetupKey, NbUser,
};
use crate::query::{Column, Value};
use crate::sql::Param;
use crate::sql::driver::SqlRow;

/// A unique key of a stored resource: what [`StoreError::Duplicate`](crate::StoreError::Duplicate) reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Pk,
    Id,
    Username,
    Identifier,
    Key,
    HashedToken,
    Slug,
    Provider,
    Code,
    Name,
    Managed,
    UserCode,
}

impl Field {
    /// The field's name, as messages and logs show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Pk => "pk",
            Field::Id => "id",
            Field::Username => "username",
            Field::Identifier => "identifier",
            Field::Key => "key",
            Field::HashedToken => "hashed_token",
            Field::Slug => "slug",
            Field::Provider => "provider",
            Field::Code => "code",
            Field::Name => "name",
            Field::Managed => "managed",
            Field::UserCode => "user_code",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value of a unique key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Int(i64),
    Text(Box<str>),
    Uuid(Uuid),
}

/// The kind only: a key can be a secret.
impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(_) => f.write_str("Key::Int(…)"),
            Key::Text(_) => f.write_str("Key::Text(…)"),
            Key::Uuid(_) => f.write_str("Key::Uuid(…)"),
        }
    }
}

impl From<i64> for Key {
    fn from(value: i64) -> Self {
        Key::Int(value)
    }
}

impl From<&str> for Key {
    fn from(value: &str) -> Self {
        Key::Text(value.into())
    }
}

impl From<&String> for Key {
    fn from(value: &String) -> Self {
        Key::Text(value.as_str().into())
    }
}

impl From<String> for Key {
    fn from(value: String) -> Self {
        Key::Text(value.into_boxed_str())
    }
}

impl From<Uuid> for Key {
    fn from(value: Uuid) -> Self {
        Key::Uuid(value)
    }
}

impl Key {
    /// The key as the SQL stores bind it (uuids as text).
    pub(crate) fn param(&self) -> Param {
        match self {
            Key::Int(v) => Param::Int(*v),
            Key::Text(v) => Param::Text(v.to_string()),
            Key::Uuid(v) => Param::Text(v.to_string()),
        }
    }
}

/// How a resource's primary key is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrimaryKey {
    /// An integer the store allocates in the insert itself: one more than the highest in use.
    Allocated,
    /// A key the caller gives: a uuid, an id or a natural key such as a slug.
    Given,
}

/// What deleting a parent does to a row that refers to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// The row goes with its parent (Django's `CASCADE`).
    Cascade,
    /// The row stays, its reference cleared (`SET_NULL`).
    SetNull,
}

/// A table whose rows refer to a resource's rows through `column` (which holds the parent's primary key).
#[derive(Debug)]
pub struct Child {
    pub(crate) table: &'static str,
    pub(crate) column: &'static str,
    pub(crate) on_delete: OnDelete,
}

/// A row a resource refers to: the parent table, and the column of this table that holds its primary key. An
/// insert or replace that names a missing parent is `NotFound`.
#[derive(Debug)]
pub struct Parent {
    pub(crate) table: &'static str,
    pub(crate) column: &'static str,
}

/// The declaration of a stored resource (see the module documentation).
#[derive(Debug)]
pub struct Table {
    /// The SQL table, and the resource's name in messages.
    pub(crate) name: &'static str,
    pub(crate) pk: PrimaryKey,
    /// The unique keys, the primary key first: the field and its column.
    pub(crate) unique: &'static [(Field, &'static str)],
    /// Every stored column, the primary key's first, in the order of [`Codec::encode`].
    pub(crate) columns: &'static [&'static str],
    pub(crate) parents: &'static [Parent],
    pub(crate) children: &'static [Child],
    /// The SQL column rows are listed by when a listing orders by nothing else, and exported in.
    pub(crate) order: &'static str,
    /// The row's values of [`Table::columns`] (`encode_erased::<Self>`).
    pub(crate) encode: Encode,
    /// A row of [`Table::columns`] as the resource (`decode_erased::<Self>`).
    pub(crate) decode: Decode,
}

impl Table {
    /// The primary key's column.
    pub(crate) fn pk_column(&self) -> &'static str {
        self.columns[0]
    }

    /// The column of a unique key, `None` when `field` is not one of this table's.
    pub(crate) fn unique_column(&self, field: Field) -> Option<&'static str> {
        self.unique.iter().find(|(f, _)| *f == field).map(|(_, column)| *column)
    }
}

/// How the SQL stores write and read a resource; [`Table::encode`] and [`Table::decode`] reach it.
pub(crate) trait Codec: Sized {
    /// The values of [`Table::columns`], in order.
    fn encode(&self) -> Result<Vec<Param>, StoreError>;
    /// The resource from a row of [`Table::columns`].
    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError>;
}

/// A stored resource, declared in this crate beside its model type.
pub trait Resource: Clone + Send + Sync + 'static {
    /// The declaration.
    const TABLE: &'static Table;

    /// The columns its listings filter, search and order by.
    type Column: DeclaredColumn;

    /// The value of a unique key; `None` for a key this row does not hold (a NULL, which no index holds).
    fn key(&self, field: Field) -> Option<Key>;

    /// The value of a listing column (the memory store's side of the listing model).
    fn value(&self, column: Self::Column) -> Value<'_>;

    /// Puts the store-allocated primary key into the row ([`PrimaryKey::Allocated`] only).
    fn set_pk(&mut self, _pk: i64) {}

    /// The row with its reference to a deleted `parent` cleared ([`OnDelete::SetNull`] only).
    fn detach(&mut self, _parent: &'static str) {}
}

/// A stored row of any resource, as the object-safe [`Store`](crate::Store) methods carry it.
pub type Row = Arc<dyn AnyRow>;

/// A [`Resource`] with its type erased.
pub trait AnyRow: Any + Send + Sync {
    fn table(&self) -> &'static Table;
    fn key(&self, field: Field) -> Option<Key>;
    /// The value of the column named `name` (a parent or child reference), `Null` when none.
    fn column_value(&self, name: &str) -> Value<'_>;
    /// The value of a listing column, by its position in the resource's column enum.
    fn listing_value(&self, column: ErasedColumn) -> Value<'_>;
    fn with_pk(&self, pk: i64) -> Row;
    fn detached(&self, parent: &'static str) -> Row;
    fn as_any(&self) -> &dyn Any;
}

impl<R: Resource> AnyRow for R {
    fn table(&self) -> &'static Table {
        R::TABLE
    }

    fn key(&self, field: Field) -> Option<Key> {
        Resource::key(self, field)
    }

    fn column_value(&self, name: &str) -> Value<'_> {
        let column = R::Column::ALL.iter().find(|column| column.sql() == name);
        column.map_or(Value::Null, |column| self.value(*column))
    }

    fn listing_value(&self, column: ErasedColumn) -> Value<'_> {
        self.value(R::Column::from_erased(column))
    }

    fn with_pk(&self, pk: i64) -> Row {
        let mut row = self.clone();
        row.set_pk(pk);
        Arc::new(row)
    }

    fn detached(&self, parent: &'static str) -> Row {
        let mut row = self.clone();
        row.detach(parent);
        Arc::new(row)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The typed resource in an erased row.
pub(crate) fn downcast<R: Resource>(row: &Row) -> Result<R, StoreError> {
    row.as_any()
        .downcast_ref::<R>()
        .cloned()
        .ok_or_else(|| StoreError::backend(format!("a {} row of another type", R::TABLE.name)))
}

/// The column values of a row, erased.
pub(crate) type Encode = fn(&dyn AnyRow) -> Result<Vec<Param>, StoreError>;

/// A row decoder of one resource, erased.
pub(crate) type Decode = fn(&dyn SqlRow) -> Result<Row, StoreError>;

fn encode_erased<R: Resource + Codec>(row: &dyn AnyRow) -> Result<Vec<Param>, StoreError> {
    let row = row.as_any().downcast_ref::<R>().ok_or_else(|| StoreError::backend("a row of another type"))?;
    row.encode()
}

fn decode_erased<R: Resource + Codec>(row: &dyn SqlRow) -> Result<Row, StoreError> {
    Ok(Arc::new(R::decode(row)?))
}

/// A listing column with its resource's type erased: its SQL and its place in the column enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasedColumn {
    pub(crate) index: u8,
    pub(crate) sql: &'static str,
    pub(crate) search_sql: &'static str,
}

impl Column for ErasedColumn {
    fn sql(self) -> &'static str {
        self.sql
    }

    fn search_sql(self) -> &'static str {
        self.search_sql
    }
}

/// The column enum of a declared resource: numbered, so a listing can cross the object-safe store.
pub trait DeclaredColumn: Column {
    /// Every column, in declaration order.
    const ALL: &'static [Self];

    fn index(self) -> u8 {
        Self::ALL.iter().position(|c| *c == self).map_or(u8::MAX, |i| i as u8)
    }

    fn erased(self) -> ErasedColumn {
        ErasedColumn { index: self.index(), sql: self.sql(), search_sql: self.search_sql() }
    }

    fn from_erased(column: ErasedColumn) -> Self {
        Self::ALL[usize::from(column.index)]
    }
}

/// Every declared resource, parents before children (the order of import and of the registry's lookups).
pub(crate) const RESOURCES: &[&Table] = &[
    AkUser::TABLE,
    AkProvider::TABLE,
    AkApplication::TABLE,
    AkKeyPair::TABLE,
    AkScopeMapping::TABLE,
    AkGroup::TABLE,
    NbUser::TABLE,
    NbGroup::TABLE,
    NbSetupKey::TABLE,
    NbPeer::TABLE,
    NbAccount::TABLE,
    AkSession::TABLE,
    AkUserConsent::TABLE,
    AkDeviceToken::TABLE,
];

/// The declaration of the table `name`, if it is a declared resource's.
pub(crate) fn table_named(name: &str) -> Option<&'static Table> {
    RESOURCES.iter().copied().find(|table| table.name == name)
}

/// Declares a column enum: its variants and their SQL columns (and, where search reads another column, that
/// one).
macro_rules! columns {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $sql:literal $(/ $search:literal)?),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($variant),*
        }

        impl Column for $name {
            fn sql(self) -> &'static str {
                match self {
                    $($name::$variant => $sql),*
                }
            }

            fn search_sql(self) -> &'static str {
                match self {
                    $($name::$variant => columns!(@search $sql $(, $search)?)),*
                }
            }
        }

        impl DeclaredColumn for $name {
            const ALL: &'static [Self] = &[$($name::$variant),*];
        }
    };
    (@search $sql:literal) => { $sql };
    (@search $sql:literal, $search:literal) => { $search };
}

mod authentik;
mod device;
mod netbird;
mod sessions;

pub use authentik::{ApplicationColumn, GroupColumn, KeyPairColumn, ProviderColumn, ScopeMappingColumn};
pub use device::DeviceTokenColumn;
pub use netbird::{NbAccountColumn, NbGroupColumn, NbPeerColumn, NbSetupKeyColumn, NbUserColumn};
pub use sessions::{SessionColumn, UserConsentColumn};
