//! The memory store's side of the listing model: each row's value of a listing column (`store/query.rs` holds
//! the rules; the SQL stores name the same columns in `sql/mod.rs`).

use super::State;
use crate::model::{AkProvider, CoreToken, OAuthToken};
use crate::query::Value;
use crate::resource::{Field, Key, Resource};
use crate::{CoreTokenField, OAuthField};

impl State {
    /// A core token's value of a listing column.
    pub(super) fn core_value<'a>(&'a self, t: &'a CoreToken, column: CoreTokenField) -> Value<'a> {
        match column {
            CoreTokenField::Pk => Value::Uuid(t.pk),
            CoreTokenField::Identifier => Value::text(&t.identifier),
            CoreTokenField::Intent => Value::text(t.intent.as_str()),
            CoreTokenField::User => Value::Int(t.user),
            CoreTokenField::Description => Value::text(&t.description),
            CoreTokenField::Expires => Value::opt_time(t.expires),
            CoreTokenField::Expiring => Value::Bool(t.expiring),
            CoreTokenField::Managed => Value::opt_text(t.managed.as_deref()),
            CoreTokenField::UserUsername => Value::text(self.username(t.user)),
        }
    }

    /// An OAuth2 token's value of a listing column.
    pub(super) fn oauth_value<'a>(&'a self, t: &'a OAuthToken, column: OAuthField) -> Value<'a> {
        match column {
            OAuthField::Pk => Value::Int(t.pk),
            OAuthField::Provider => Value::Int(t.provider),
            OAuthField::User => Value::Int(t.user),
            OAuthField::Expires => Value::opt_time(t.expires),
            OAuthField::Revoked => Value::Bool(t.revoked),
            OAuthField::Kind => Value::text(t.kind.as_str()),
            OAuthField::ProviderName => Value::opt_text(
                self.tables
                    .get(AkProvider::TABLE, Field::Pk, &Key::Int(t.provider))
                    .and_then(|row| row.as_any().downcast_ref::<AkProvider>())
                    .map(|p| p.name.as_str()),
            ),
            OAuthField::UserUsername => Value::text(self.username(t.user)),
        }
    }
}
