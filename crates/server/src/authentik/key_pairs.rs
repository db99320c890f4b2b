//! Certificate-key pairs (`/crypto/certificatekeypairs/`, `authentik/crypto/api.py CertificateKeyPairViewSet`):
//! list with the `name`, `has_key`, `key_type` and `managed` filters, search over and ordering by name, retrieve,
//! create, update and partial_update with `CertificateKeyPairSerializer`'s PEM checks, `generate/` (a self-signed
//! pair), the certificate and the private key (`view_certificate/`, `view_private_key/`), `used_by/` and destroy. Superusers only (model permissions;
//! nobody else holds them by default). A provider's `signing_key` names one of these rows, and its tokens are
//! signed with that pair's key.

use super::oidc::jose::{KeyKind, generate_pair};
use super::oidc::x509::{certificate_info, private_key_loads};
use super::serializer::Body;
use super::validate::*;
use super::*;
use crate::model::AkKeyPair;
use crate::store::Field;

const MSG_KEY_PAIR_NOT_FOUND: &str = "No CertificateKeyPair matches the given query.";
const MSG_BAD_CERTIFICATE: &str = "Unable to load certificate.";
const MSG_BAD_KEY: &str = "Unable to load private key (possibly encrypted?).";
/// Django's `unique=True` message of `CertificateKeyPair.name`.
const MSG_NAME_TAKEN: &str = "Certificate-Key Pair with this name already exists.";
/// `PrivateKeyAlg`'s choices.
const ALGORITHMS: &[&str] = &["rsa", "ecdsa", "ed25519", "ed448"];
/// `key_type`'s choices (the list filter).
const KEY_TYPES: &[&str] = &["dsa", "ec", "ed25519", "ed448", "rsa"];

/// Raw `GET /crypto/certificatekeypairs/` query parameters (empty strings count as absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyPairListParams {
    pub has_key: Option<String>,
    pub key_type: Option<String>,
    pub managed: Option<String>,
    pub name: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

impl Authentik<'_> {
    /// `crypto_certificatekeypairs_list`: ordered by name unless `?ordering=` names `name` or `pk`.
    pub async fn list_key_pairs(&self, caller: &AkUser, params: KeyPairListParams) -> Result<Page<AkKeyPair>, AkError> {
        require_crypto_admin(caller)?;
        let mut errors = BTreeMap::new();
        let has_key = non_empty(params.has_key).and_then(|v| parse_null_boolean(&v));
        let key_type = text_filter(&mut errors, "key_type", params.key_type);
        if let Some(kind) = &key_type
            && !KEY_TYPES.contains(&kind.as_str())
        {
            add_error(
                &mut errors,
                "key_type",
                format!("Select a valid choice. {kind} is not one of the available choices."),
            );
        }
        let managed = text_filter(&mut errors, "managed", params.managed);
        let name = text_filter(&mut errors, "name", params.name);
        let search = search_filter(&mut errors, params.search);
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let page = page_request(params.page.as_deref(), params.page_size.as_deref())?;
        let terms = crate::store::query::search_terms(search.as_deref());
        let mut pairs: Vec<AkKeyPair> = self
            .store
            .all::<AkKeyPair>()
            .await?
            .into_iter()
            .filter(|p| {
                // No pair is managed (authentik's managed JWT pair is never listed), so any `managed` value matches none.
                managed.is_none()
                    && has_key.is_none_or(|wanted| !wanted || !p.key_data.expose().is_empty())
                    && name.as_ref().is_none_or(|n| &p.name == n)
                    && key_type
                        .as_deref()
                        .is_none_or(|k| certificate_info(&p.certificate_data).and_then(|info| info.key_type) == Some(k))
                    && terms.iter().all(|term| p.name.to_lowercase().contains(term))
            })
            .collect();
        let ordering = params.ordering.unwrap_or_default();
        let (field, descending) = ordering
            .split(',')
            .map(str::trim)
            .map(|term| term.strip_prefix('-').map_or((term, false), |f| (f, true)))
            .find(|(field, _)| matches!(*field, "name" | "pk" | "kp_uuid"))
            .unwrap_or(("name", false));
        pairs.sort_by(|a, b| {
            let order = if field == "name" { a.name.cmp(&b.name) } else { a.pk.to_string().cmp(&b.pk.to_string()) };
            if descending { order.reverse() } else { order }
        });
        Page::build(page, page.slice(pairs)).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `crypto_certificatekeypairs_retrieve` (and the pair `view_certificate/` and `view_private_key/` show).
    pub async fn get_key_pair(&self, caller: &AkUser, pk: &str) -> Result<AkKeyPair, AkError> {
        require_crypto_admin(caller)?;
        let Ok(pk) = Uuid::parse_str(pk) else {
            return Err(AkError::not_found("Not found."));
        };
        match self.store.get::<AkKeyPair>(Field::Pk, pk).await {
            Ok(pair) => Ok(pair),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_KEY_PAIR_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `crypto_certificatekeypairs_create`: a name, a PEM certificate `load_pem_x509_certificate` loads and an
    /// optional PEM private key `load_pem_private_key` loads (neither is checked against the other, as upstream).
    pub async fn create_key_pair(&self, caller: &AkUser, body: &Value) -> Result<AkKeyPair, AkError> {
        require_crypto_admin(caller)?;
        let (name, certificate_data, key_data) = parse_pair(body, false)?;
        let pair = AkKeyPair {
            pk: Uuid::new_v4(),
            name: name.unwrap_or_default(),
            key_data: Secret::new(key_data.unwrap_or_default()),
            certificate_data: certificate_data.unwrap_or_default(),
        };
        self.insert_key_pair(pair).await
    }

    /// `crypto_certificatekeypairs_update` (`name` and `certificate_data` required, as create) and
    /// `crypto_certificatekeypairs_partial_update`: the fields given are checked as create checks them and
    /// replace the stored ones; providers keep naming the pair and sign with its new key.
    pub async fn update_key_pair(
        &self,
        caller: &AkUser,
        pk: &str,
        body: &Value,
        partial: bool,
    ) -> Result<AkKeyPair, AkError> {
        let mut pair = self.get_key_pair(caller, pk).await?;
        let (name, certificate_data, key_data) = parse_pair(body, partial)?;
        if let Some(name) = name {
            pair.name = name;
        }
        if let Some(certificate_data) = certificate_data {
            pair.certificate_data = certificate_data;
        }
        if let Some(key_data) = key_data {
            pair.key_data = Secret::new(key_data);
        }
        match self.store.replace(pair.clone()).await {
            Ok(()) => Ok(pair),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_KEY_PAIR_NOT_FOUND)),
            Err(StoreError::Duplicate { field: Field::Name }) => Err(AkError::field("name", MSG_NAME_TAKEN)),
            Err(e) => Err(e.into()),
        }
    }

    /// `crypto_certificatekeypairs_used_by_list`: the providers that sign or encrypt with it, each
    /// `set_null` (`signing_key` and `encryption_key` are `SET_NULL` foreign keys), by provider pk.
    pub async fn key_pair_used_by(&self, caller: &AkUser, pk: &str) -> Result<Vec<UsedBy>, AkError> {
        let pair = self.get_key_pair(caller, pk).await?;
        let mut used = Vec::new();
        for provider in self.store.all::<crate::model::AkProvider>().await? {
            let o = &provider.oauth2;
            for key in [o.signing_key, o.encryption_key] {
                if key == Some(pair.pk) {
                    used.push(UsedBy {
                        app: "authentik_providers_oauth2".to_owned(),
                        model_name: "oauth2provider".to_owned(),
                        pk: provider.pk.to_string(),
                        name: provider.name.clone(),
                        action: crate::model::UsedByAction::SetNull,
                    });
                }
            }
        }
        Ok(used)
    }

    /// `crypto_certificatekeypairs_generate_create`: `CertificateBuilder` for `common_name` (also the pair's name)
    /// with the comma-separated `subject_alt_name` DNS names, valid for `validity_days`.
    pub async fn generate_key_pair(&self, caller: &AkUser, body: &Value) -> Result<AkKeyPair, AkError> {
        require_crypto_admin(caller)?;
        let mut parsed = Body::new(body)?;
        let common_name = parsed.string("common_name", false);
        let subject_alt_name = parsed.string("subject_alt_name", false);
        let validity_days = parsed.integer("validity_days");
        let alg = parsed.choice("alg", ALGORITHMS);
        let mut errors = parsed.finish();
        for field in ["common_name", "validity_days"] {
            if body.get(field).is_none() && !errors.contains_key(field) {
                add_error(&mut errors, field, MSG_REQUIRED);
            }
        }
        if common_name.as_deref().is_some_and(|c| c.trim().is_empty()) {
            add_error(&mut errors, "common_name", MSG_BLANK);
        }
        let kind = match alg.as_deref() {
            None | Some("rsa") => Some(KeyKind::Rsa),
            Some("ecdsa") => Some(KeyKind::Ec),
            // Not an upstream error: these keys can be made by authentik, not here.
            Some(other) => {
                add_error(&mut errors, "alg", format!("tokenstack does not generate {other} keys."));
                None
            }
        };
        let days = validity_days.filter(|d| (1..=36_500).contains(d));
        if validity_days.is_some() && days.is_none() {
            // Upstream accepts any integer (a negative one makes an expired certificate; a huge one a 500).
            add_error(&mut errors, "validity_days", "Ensure this value is between 1 and 36500.");
        }
        let (Some(common_name), Some(kind), Some(days), true) = (common_name, kind, days, errors.is_empty()) else {
            return Err(AkError::Invalid(errors));
        };
        let common_name = common_name.trim().to_owned();
        let sans: Vec<String> = match subject_alt_name.as_deref() {
            None | Some("") => Vec::new(),
            Some(raw) => raw.split(',').map(str::to_owned).collect(),
        };
        let (key_data, certificate_data) = generate_pair(kind, &common_name, &sans, days, self.now)
            .map_err(|e| AkError::field("subject_alt_name", e.to_string()))?;
        let pair = AkKeyPair { pk: Uuid::new_v4(), name: common_name, key_data, certificate_data };
        self.insert_key_pair(pair).await
    }

    /// `crypto_certificatekeypairs_destroy`: providers signing with it sign with their client secret afterwards
    /// (`signing_key` is `SET_NULL`); the references are cleared first, then the pair goes.
    pub async fn delete_key_pair(&self, caller: &AkUser, pk: &str) -> Result<(), AkError> {
        let pair = self.get_key_pair(caller, pk).await?;
        for mut provider in self.store.all::<crate::model::AkProvider>().await? {
            let o = &mut provider.oauth2;
            if o.signing_key == Some(pair.pk) || o.encryption_key == Some(pair.pk) {
                o.signing_key = o.signing_key.filter(|k| *k != pair.pk);
                o.encryption_key = o.encryption_key.filter(|k| *k != pair.pk);
                match self.store.replace(provider).await {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        match self.store.delete::<AkKeyPair>(pair.pk).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_KEY_PAIR_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the key pair `pk` exists (a provider's `signing_key` and `encryption_key`).
    pub(super) async fn key_pair_exists(&self, pk: Uuid) -> Result<bool, AkError> {
        self.exists(self.store.get::<AkKeyPair>(Field::Pk, pk).await)
    }

    async fn insert_key_pair(&self, pair: AkKeyPair) -> Result<AkKeyPair, AkError> {
        match self.store.insert(pair).await {
            Ok(pair) => Ok(pair),
            Err(StoreError::Duplicate { field: Field::Name }) => Err(AkError::field("name", MSG_NAME_TAKEN)),
            Err(e) => Err(e.into()),
        }
    }
}

/// The `name`, `certificate_data` and `key_data` a body gives.
type PairFields = (Option<String>, Option<String>, Option<String>);

/// `CertificateKeyPairSerializer` over `body`: `name` and `certificate_data` (required unless `partial`,
/// non-blank, the certificate one `load_pem_x509_certificate` loads) and `key_data` (one `load_pem_private_key`
/// loads, or blank); `None` for each field the body leaves out. The name comes trimmed.
fn parse_pair(body: &Value, partial: bool) -> Result<PairFields, AkError> {
    let mut parsed = Body::new(body)?;
    let name = parsed.string("name", false);
    let certificate_data = parsed.string("certificate_data", false);
    let key_data = parsed.string("key_data", false);
    let mut errors = parsed.finish();
    for (field, value) in [("name", &name), ("certificate_data", &certificate_data)] {
        match value {
            None if !partial && body.get(field).is_none() => add_error(&mut errors, field, MSG_REQUIRED),
            Some(v) if v.trim().is_empty() => add_error(&mut errors, field, MSG_BLANK),
            _ => {}
        }
    }
    if certificate_data.as_deref().is_some_and(|c| !c.trim().is_empty() && certificate_info(c).is_none()) {
        add_error(&mut errors, "certificate_data", MSG_BAD_CERTIFICATE);
    }
    if key_data.as_deref().is_some_and(|k| !k.is_empty() && !private_key_loads(k)) {
        add_error(&mut errors, "key_data", MSG_BAD_KEY);
    }
    if !errors.is_empty() {
        return Err(AkError::Invalid(errors));
    }
    Ok((name.map(|n| n.trim().to_owned()), certificate_data, key_data))
}

/// authentik's `view_certificatekeypair` and friends; only superusers hold them by default.
fn require_crypto_admin(caller: &AkUser) -> Result<(), AkError> {
    if caller.is_effective_superuser() { Ok(()) } else { Err(AkError::forbidden(MSG_NO_PERMISSION)) }
}
