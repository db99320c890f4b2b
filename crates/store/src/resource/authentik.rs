//! The declarations of authentik's stored resources: OAuth2 providers, applications, certificate-key pairs, scope
//! mappings, groups and users.

use uuid::Uuid;

use super::{Child, OnDelete, Parent};
use super::{Codec, DeclaredColumn, Field, Key, PrimaryKey, Resource, Table, decode_erased, encode_erased};
use crate::StoreError;
use crate::UserField;
use crate::model::{AkApplication, AkGroup, AkKeyPair, AkProvider, AkScopeMapping, AkUser};
use crate::query::{Column, Value};
use crate::secrets::Secret;
use crate::sql::driver::SqlRow;
use crate::sql::micros;
use crate::sql::{Param, from_json, to_json};

columns! {
    /// The listing columns of authentik providers.
    ProviderColumn { Pk => "pk", Name => "name_lc" / "name_lc" }
}

impl Codec for AkProvider {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![self.pk.into(), self.name.to_lowercase().into(), to_json(self)?.into()])
    }

    /// Its document, with the pk of the `pk` column (an allocated one is made after the document is written).
    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        let provider: AkProvider = from_json(&row.text("data")?)?;
        Ok(AkProvider { pk: row.int("pk")?, ..provider })
    }
}

impl Resource for AkProvider {
    const TABLE: &'static Table = &Table {
        name: "providers",
        pk: PrimaryKey::Allocated,
        unique: &[(Field::Pk, "pk")],
        columns: &["pk", "name_lc", "data"],
        parents: &[],
        children: &[
            Child { table: "oauth_tokens", column: "provider_id", on_delete: OnDelete::Cascade },
            Child { table: "authorization_codes", column: "provider_id", on_delete: OnDelete::Cascade },
            Child { table: "ak_device_tokens", column: "provider_id", on_delete: OnDelete::Cascade },
            Child { table: "applications", column: "provider_id", on_delete: OnDelete::SetNull },
        ],
        order: "pk",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = ProviderColumn;

    fn key(&self, field: Field) -> Option<Key> {
        (field == Field::Pk).then_some(Key::Int(self.pk))
    }

    fn value(&self, column: ProviderColumn) -> Value<'_> {
        match column {
            ProviderColumn::Pk => Value::Int(self.pk),
            ProviderColumn::Name => Value::from(self.name.to_lowercase()),
        }
    }

    fn set_pk(&mut self, pk: i64) {
        self.pk = pk;
    }
}

columns! {
    /// The listing columns of authentik applications.
    ApplicationColumn { Slug => "slug", Provider => "provider_id" }
}

impl Codec for AkApplication {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![self.slug.as_str().into(), self.provider.into(), to_json(self)?.into()])
    }

    /// Its document, with the provider from the `provider_id` column (which a deleted provider sets to NULL).
    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        let application: AkApplication = from_json(&row.text("data")?)?;
        Ok(AkApplication { provider: row.opt_int("provider_id")?, ..application })
    }
}

impl Resource for AkApplication {
    const TABLE: &'static Table = &Table {
        name: "applications",
        pk: PrimaryKey::Given,
        unique: &[(Field::Slug, "slug"), (Field::Provider, "provider_id")],
        columns: &["slug", "provider_id", "data"],
        parents: &[Parent { table: "providers", column: "provider_id" }],
        children: &[],
        order: "slug",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = ApplicationColumn;

    fn key(&self, field: Field) -> Option<Key> {
        match field {
            Field::Slug => Some(Key::from(&self.slug)),
            Field::Provider => self.provider.map(Key::Int),
            _ => None,
        }
    }

    fn value(&self, column: ApplicationColumn) -> Value<'_> {
        match column {
            ApplicationColumn::Slug => Value::text(&self.slug),
            ApplicationColumn::Provider => self.provider.map_or(Value::Null, Value::Int),
        }
    }

    fn detach(&mut self, parent: &'static str) {
        if parent == AkProvider::TABLE.name {
            self.provider = None;
        }
    }
}

columns! {
    /// The listing columns of certificate-key pairs.
    KeyPairColumn { Pk => "pk", Name => "name" }
}

impl Codec for AkKeyPair {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![
            self.pk.to_string().into(),
            self.name.as_str().into(),
            self.key_data.expose().into(),
            self.certificate_data.as_str().into(),
        ])
    }

    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        let pk = row.text("pk")?;
        Ok(AkKeyPair {
            pk: Uuid::parse_str(&pk).map_err(|e| StoreError::caused("stored key pair pk is not a UUID", e))?,
            name: row.text("name")?,
            key_data: Secret::new(row.text("key_data")?),
            certificate_data: row.text("certificate_data")?,
        })
    }
}

impl Resource for AkKeyPair {
    const TABLE: &'static Table = &Table {
        name: "key_pairs",
        pk: PrimaryKey::Given,
        unique: &[(Field::Pk, "pk"), (Field::Name, "name")],
        columns: &["pk", "name", "key_data", "certificate_data"],
        parents: &[],
        children: &[],
        order: "name",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = KeyPairColumn;

    fn key(&self, field: Field) -> Option<Key> {
        match field {
            Field::Pk => Some(Key::Uuid(self.pk)),
            Field::Name => Some(Key::from(&self.name)),
            _ => None,
        }
    }

    fn value(&self, column: KeyPairColumn) -> Value<'_> {
        match column {
            // Stored as text: ordered as the SQL stores order it.
            KeyPairColumn::Pk => Value::from(self.pk.to_string()),
            KeyPairColumn::Name => Value::text(&self.name),
        }
    }
}

columns! {
    /// The listing columns of scope mappings.
    ScopeMappingColumn { Pk => "pk", Name => "name" }
}

impl Codec for AkScopeMapping {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![
            self.pk.to_string().into(),
            self.name.as_str().into(),
            self.managed.as_deref().into(),
            to_json(self)?.into(),
        ])
    }

    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        from_json(&row.text("data")?)
    }
}

impl Resource for AkScopeMapping {
    const TABLE: &'static Table = &Table {
        name: "scope_mappings",
        pk: PrimaryKey::Given,
        unique: &[(Field::Pk, "pk"), (Field::Name, "name"), (Field::Managed, "managed")],
        columns: &["pk", "name", "managed", "data"],
        parents: &[],
        children: &[],
        order: "name",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = ScopeMappingColumn;

    fn key(&self, field: Field) -> Option<Key> {
        match field {
            Field::Pk => Some(Key::Uuid(self.pk)),
            Field::Name => Some(Key::from(&self.name)),
            Field::Managed => self.managed.as_ref().map(Key::from),
            _ => None,
        }
    }

    fn value(&self, column: ScopeMappingColumn) -> Value<'_> {
        match column {
            // Stored as text: ordered as the SQL stores order it.
            ScopeMappingColumn::Pk => Value::from(self.pk.to_string()),
            ScopeMappingColumn::Name => Value::text(&self.name),
        }
    }
}

columns! {
    /// The listing columns of groups.
    GroupColumn { Pk => "pk", Name => "name" / "name_lc", IsSuperuser => "is_superuser" }
}

impl Codec for AkGroup {
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![
            self.pk.to_string().into(),
            self.name.as_str().into(),
            self.name.to_lowercase().into(),
            self.is_superuser.into(),
            to_json(self)?.into(),
        ])
    }

    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        from_json(&row.text("data")?)
    }
}

impl Resource for AkGroup {
    const TABLE: &'static Table = &Table {
        name: "ak_groups",
        pk: PrimaryKey::Given,
        unique: &[(Field::Pk, "pk"), (Field::Name, "name")],
        columns: &["pk", "name", "name_lc", "is_superuser", "data"],
        parents: &[],
        children: &[],
        order: "name",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = GroupColumn;

    fn key(&self, field: Field) -> Option<Key> {
        match field {
            Field::Pk => Some(Key::Uuid(self.pk)),
            Field::Name => Some(Key::from(&self.name)),
            _ => None,
        }
    }

    fn value(&self, column: GroupColumn) -> Value<'_> {
        match column {
            // Stored as text: ordered as the SQL stores order it.
            GroupColumn::Pk => Value::from(self.pk.to_string()),
            GroupColumn::Name => Value::text(&self.name),
            GroupColumn::IsSuperuser => Value::Bool(self.is_superuser),
        }
    }
}

impl Column for UserField {
    fn sql(self) -> &'static str {
        match self {
            UserField::Pk => "pk",
            UserField::Username => "username",
            UserField::Name => "name",
            UserField::Email => "email",
            UserField::IsActive => "is_active",
            UserField::IsSuperuser => "is_superuser",
            UserField::Path => "path",
            UserField::Type => "user_type",
            UserField::Uuid => "uuid",
            UserField::DateJoined => "date_joined",
            UserField::LastLogin => "last_login",
            UserField::LastUpdated => "last_updated",
        }
    }

    fn search_sql(self) -> &'static str {
        match self {
            UserField::Username => "username_lc",
            UserField::Name => "name_lc",
            UserField::Email => "email_lc",
            other => other.sql(),
        }
    }
}

impl DeclaredColumn for UserField {
    const ALL: &'static [Self] = &[
        UserField::Pk,
        UserField::Username,
        UserField::Name,
        UserField::Email,
        UserField::IsActive,
        UserField::IsSuperuser,
        UserField::Path,
        UserField::Type,
        UserField::Uuid,
        UserField::DateJoined,
        UserField::LastLogin,
        UserField::LastUpdated,
    ];
}

impl Codec for AkUser {
    /// The document and the columns that listings filter, search and order by (`is_superuser` is effective).
    fn encode(&self) -> Result<Vec<Param>, StoreError> {
        Ok(vec![
            self.pk.into(),
            self.username.as_str().into(),
            self.username.to_lowercase().into(),
            to_json(self)?.into(),
            self.name.as_str().into(),
            self.name.to_lowercase().into(),
            self.email.as_str().into(),
            self.email.to_lowercase().into(),
            self.is_active.into(),
            self.is_effective_superuser().into(),
            self.path.as_str().into(),
            self.user_type.as_str().into(),
            self.uuid.to_string().into(),
            micros(self.date_joined).into(),
            self.last_login.map(micros).into(),
            micros(self.last_updated).into(),
        ])
    }

    /// Its document, with the pk of the `pk` column (an allocated one is made after the document is written).
    fn decode(row: &dyn SqlRow) -> Result<Self, StoreError> {
        let user: AkUser = from_json(&row.text("data")?)?;
        Ok(AkUser { pk: row.int("pk")?, ..user })
    }
}

impl Resource for AkUser {
    const TABLE: &'static Table = &Table {
        name: "ak_users",
        pk: PrimaryKey::Allocated,
        unique: &[(Field::Pk, "pk"), (Field::Username, "username")],
        columns: &[
            "pk",
            "username",
            "username_lc",
            "data",
            "name",
            "name_lc",
            "email",
            "email_lc",
            "is_active",
            "is_superuser",
            "path",
            "user_type",
            "uuid",
            "date_joined",
            "last_login",
            "last_updated",
        ],
        parents: &[],
        children: &[
            Child { table: "core_tokens", column: "user_id", on_delete: OnDelete::Cascade },
            Child { table: "oauth_tokens", column: "user_id", on_delete: OnDelete::Cascade },
            Child { table: "authorization_codes", column: "user_id", on_delete: OnDelete::Cascade },
            Child { table: "ak_sessions", column: "user_id", on_delete: OnDelete::Cascade },
            Child { table: "ak_user_consents", column: "user_id", on_delete: OnDelete::Cascade },
            Child { table: "ak_device_tokens", column: "user_id", on_delete: OnDelete::Cascade },
        ],
        order: "pk",
        encode: encode_erased::<Self>,
        decode: decode_erased::<Self>,
    };
    type Column = UserField;

    fn key(&self, field: Field) -> Option<Key> {
        match field {
            Field::Pk => Some(Key::Int(self.pk)),
            Field::Username => Some(Key::from(&self.username)),
            _ => None,
        }
    }

    fn value(&self, column: UserField) -> Value<'_> {
        match column {
            UserField::Pk => Value::Int(self.pk),
            UserField::Username => Value::text(&self.username),
            UserField::Name => Value::text(&self.name),
            UserField::Email => Value::text(&self.email),
            UserField::IsActive => Value::Bool(self.is_active),
            UserField::IsSuperuser => Value::Bool(self.is_effective_superuser()),
            UserField::Path => Value::text(&self.path),
            UserField::Type => Value::text(self.user_type.as_str()),
            UserField::Uuid => Value::from(self.uuid.to_string()),
            UserField::DateJoined => Value::Time(self.date_joined),
            UserField::LastLogin => Value::opt_time(self.last_login),
            UserField::LastUpdated => Value::Time(self.last_updated),
        }
    }

    fn set_pk(&mut self, pk: i64) {
        self.pk = pk;
    }
}
