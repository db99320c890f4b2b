//! The declaration of authentik's device authorizations (`DeviceToken`): by device code, unique by user code;
//! they go with their provider and with the user who approved them (upstream's cascades).

use super::{Codec, DeclaredColumn, Field, Key, Parent, PrimaryKey, Resource, Table, decode_erased, encode_erased};
use crate::StoreError;
use crate::model::AkDeviceToken;
use crate::query::{Column, Value};
use crate::sql::driver::SqlRow;
use crate::sql::micros;
use crate::sql::{Param, from_json, to_json};

columns! {
    /// The listing columns of device authorizations.
    DeviceTokenColumn { Provider => "provider_id", User => "user_id", Expires => "expires" }
}

impl Codec for AkDeviceToken {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![
            self.device_code.expose().into(),
            self.user_code.as_str().into(),
            self.provider.into(),
            self.user.into(),
            micros(self.expires).into(),
            to_json(self)?.into(),
        ])
    }

    /// Its document, with the provider and user of their columns.
    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        let token: AkDeviceToken = from_json(&row.text("data")?)?;
        Ok(AkDeviceToken { provider: row.int("provider_id")?, user: row.opt_int("user_id")?, ..token })
    }
}

impl Resource for AkDeviceToken {
    const TABLE: &'static Table = &Table {
        name: "ak_device_tokens",
        pk: PrimaryKey::Given,
        unique: &[(Field::Code, "device_code"), (Field::UserCode, "user_code")],
        columns: &["device_code", "user_code", "provider_id", "user_id", "expires", "data"],
        parents: &[
            Parent { table: "providers", column: "provider_id" },
            Parent { table: "ak_users", column: "user_id" },
        ],
        children: &[],
        order: "device_code",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = DeviceTokenColumn;

    fn key(&self, field: Field) -> Option<Key> {
        match field {
            Field::Code => Some(Key::from(self.device_code.expose())),
            Field::UserCode => Some(Key::from(&self.user_code)),
            _ => None,
        }
    }

    fn value(&self, column: DeviceTokenColumn) -> Value<'_> {
        match column {
            DeviceTokenColumn::Provider => Value::Int(self.provider),
            DeviceTokenColumn::User => self.user.map_or(Value::Null, Value::Int),
            DeviceTokenColumn::Expires => Value::Int(micros(self.expires)),
        }
    }
}
