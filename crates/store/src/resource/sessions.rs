//! The declarations of authentik's login state: sessions (by the hash of their key) and users' consents.

use super::Parent;
use super::{Codec, DeclaredColumn, Field, Key, PrimaryKey, Resource, Table, decode_erased, encode_erased};
use crate::StoreError;
use crate::model::{AkSession, AkUserConsent};
use crate::query::{Column, Value};
use crate::sql::driver::SqlRow;
use crate::sql::micros;
use crate::sql::{Param, from_json, to_json};

columns! {
    /// The listing columns of sessions.
    SessionColumn { Key => "hashed_token", User => "user_id", Expires => "expires" }
}

impl Codec for AkSession {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![self.key_hash.as_str().into(), self.user.into(), micros(self.expires).into(), to_json(self)?.into()])
    }

    /// Its document, with the user of the `user_id` column.
    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        let session: AkSession = from_json(&row.text("data")?)?;
        Ok(AkSession { user: row.opt_int("user_id")?, ..session })
    }
}

impl Resource for AkSession {
    const TABLE: &'static Table = &Table {
        name: "ak_sessions",
        pk: PrimaryKey::Given,
        unique: &[(Field::HashedToken, "hashed_token")],
        columns: &["hashed_token", "user_id", "expires", "data"],
        parents: &[Parent { table: "ak_users", column: "user_id" }],
        children: &[],
        order: "hashed_token",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = SessionColumn;

    fn key(&self, field: Field) -> Option<Key> {
        (field == Field::HashedToken).then(|| Key::from(&self.key_hash))
    }

    fn value(&self, column: SessionColumn) -> Value<'_> {
        match column {
            SessionColumn::Key => Value::text(&self.key_hash),
            SessionColumn::User => self.user.map_or(Value::Null, Value::Int),
            SessionColumn::Expires => Value::Int(micros(self.expires)),
        }
    }
}

columns! {
    /// The listing columns of user consents.
    UserConsentColumn { Pk => "pk", User => "user_id", Application => "application" }
}

impl Codec for AkUserConsent {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![self.pk.to_string().into(), self.user.into(), self.application.as_str().into(), to_json(self)?.into()])
    }

    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        let consent: AkUserConsent = from_json(&row.text("data")?)?;
        Ok(AkUserConsent { user: row.int("user_id")?, ..consent })
    }
}

impl Resource for AkUserConsent {
    const TABLE: &'static Table = &Table {
        name: "ak_user_consents",
        pk: PrimaryKey::Given,
        unique: &[(Field::Pk, "pk")],
        columns: &["pk", "user_id", "application", "data"],
        parents: &[Parent { table: "ak_users", column: "user_id" }],
        children: &[],
        order: "pk",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = UserConsentColumn;

    fn key(&self, field: Field) -> Option<Key> {
        (field == Field::Pk).then_some(Key::Uuid(self.pk))
    }

    fn value(&self, column: UserConsentColumn) -> Value<'_> {
        match column {
            UserConsentColumn::Pk => Value::from(self.pk.to_string()),
            UserConsentColumn::User => Value::Int(self.user),
            UserConsentColumn::Application => Value::text(&self.application),
        }
    }
}
