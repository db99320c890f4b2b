//! The declarations of NetBird's stored resources: groups, users, setup keys, peers and accounts.

use super::{Child, OnDelete};
use super::{Codec, DeclaredColumn, Field, Key, PrimaryKey, Resource, Table, decode_erased, encode_erased};
use crate::StoreError;
use crate::model::{NbAccount, NbGroup, NbPeer, NbSetupKey, NbUser};
use crate::query::{Column, Value};
use crate::sql::driver::SqlRow;
use crate::sql::{Param, from_json, to_json};

columns! {
    /// The listing columns of NetBird groups.
    NbGroupColumn { Id => "id", AccountId => "account_id", Name => "name" / "name_lc" }
}

impl Codec for NbGroup {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![
            self.id.as_str().into(),
            self.account_id.as_str().into(),
            self.name.as_str().into(),
            self.name.to_lowercase().into(),
            to_json(self)?.into(),
        ])
    }

    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        from_json(&row.text("data")?)
    }
}

impl Resource for NbGroup {
    const TABLE: &'static Table = &Table {
        name: "nb_groups",
        pk: PrimaryKey::Given,
        unique: &[(Field::Id, "id")],
        columns: &["id", "account_id", "name", "name_lc", "data"],
        parents: &[],
        children: &[],
        order: "id",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = NbGroupColumn;

    fn key(&self, field: Field) -> Option<Key> {
        (field == Field::Id).then(|| Key::from(&self.id))
    }

    fn value(&self, column: NbGroupColumn) -> Value<'_> {
        match column {
            NbGroupColumn::Id => Value::text(&self.id),
            NbGroupColumn::AccountId => Value::text(&self.account_id),
            NbGroupColumn::Name => Value::text(&self.name),
        }
    }
}

columns! {
    /// The listing columns of NetBird users.
    NbUserColumn { Id => "id", AccountId => "account_id" }
}

impl Codec for NbUser {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![self.id.as_str().into(), self.account_id.as_str().into(), to_json(self)?.into()])
    }

    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        from_json(&row.text("data")?)
    }
}

impl Resource for NbUser {
    const TABLE: &'static Table = &Table {
        name: "nb_users",
        pk: PrimaryKey::Given,
        unique: &[(Field::Id, "id")],
        columns: &["id", "account_id", "data"],
        parents: &[],
        children: &[Child { table: "pats", column: "user_id", on_delete: OnDelete::Cascade }],
        order: "id",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = NbUserColumn;

    fn key(&self, field: Field) -> Option<Key> {
        (field == Field::Id).then(|| Key::from(&self.id))
    }

    fn value(&self, column: NbUserColumn) -> Value<'_> {
        match column {
            NbUserColumn::Id => Value::text(&self.id),
            NbUserColumn::AccountId => Value::text(&self.account_id),
        }
    }
}

columns! {
    /// The listing columns of NetBird setup keys.
    NbSetupKeyColumn { Id => "id", AccountId => "account_id" }
}

impl Codec for NbSetupKey {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![
            self.id.as_str().into(),
            self.account_id.as_str().into(),
            self.key_hash.as_str().into(),
            to_json(self)?.into(),
        ])
    }

    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        from_json(&row.text("data")?)
    }
}

impl Resource for NbSetupKey {
    const TABLE: &'static Table = &Table {
        name: "nb_setup_keys",
        pk: PrimaryKey::Given,
        unique: &[(Field::Id, "id"), (Field::HashedToken, "hashed_token")],
        columns: &["id", "account_id", "hashed_token", "data"],
        parents: &[],
        children: &[],
        order: "id",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = NbSetupKeyColumn;

    fn key(&self, field: Field) -> Option<Key> {
        match field {
            Field::Id => Some(Key::from(&self.id)),
            Field::HashedToken => Some(Key::from(&self.key_hash)),
            _ => None,
        }
    }

    fn value(&self, column: NbSetupKeyColumn) -> Value<'_> {
        match column {
            NbSetupKeyColumn::Id => Value::text(&self.id),
            NbSetupKeyColumn::AccountId => Value::text(&self.account_id),
        }
    }
}

columns! {
    /// The listing columns of NetBird peers.
    NbPeerColumn { Id => "id", AccountId => "account_id", Name => "name", Ip => "ip" }
}

impl Codec for NbPeer {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![
            self.id.as_str().into(),
            self.account_id.as_str().into(),
            self.key.as_str().into(),
            self.name.as_str().into(),
            self.ip.as_str().into(),
            to_json(self)?.into(),
        ])
    }

    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        from_json(&row.text("data")?)
    }
}

impl Resource for NbPeer {
    const TABLE: &'static Table = &Table {
        name: "nb_peers",
        pk: PrimaryKey::Given,
        unique: &[(Field::Id, "id"), (Field::Key, "peer_key")],
        columns: &["id", "account_id", "peer_key", "name", "ip", "data"],
        parents: &[],
        children: &[],
        order: "id",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = NbPeerColumn;

    fn key(&self, field: Field) -> Option<Key> {
        match field {
            Field::Id => Some(Key::from(&self.id)),
            Field::Key => Some(Key::from(&self.key)),
            _ => None,
        }
    }

    fn value(&self, column: NbPeerColumn) -> Value<'_> {
        match column {
            NbPeerColumn::Id => Value::text(&self.id),
            NbPeerColumn::AccountId => Value::text(&self.account_id),
            NbPeerColumn::Name => Value::text(&self.name),
            NbPeerColumn::Ip => Value::text(&self.ip),
        }
    }
}

columns! {
    /// The listing columns of NetBird accounts.
    NbAccountColumn { Id => "id" }
}

impl Codec for NbAccount {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![self.id.as_str().into(), to_json(self)?.into()])
    }

    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        from_json(&row.text("data")?)
    }
}

impl Resource for NbAccount {
    const TABLE: &'static Table = &Table {
        name: "nb_accounts",
        pk: PrimaryKey::Given,
        unique: &[(Field::Id, "id")],
        columns: &["id", "data"],
        parents: &[],
        children: &[],
        order: "id",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = NbAccountColumn;

    fn key(&self, field: Field) -> Option<Key> {
        (field == Field::Id).then(|| Key::from(&self.id))
    }

    fn value(&self, column: NbAccountColumn) -> Value<'_> {
        match column {
            NbAccountColumn::Id => Value::text(&self.id),
        }
    }
}
