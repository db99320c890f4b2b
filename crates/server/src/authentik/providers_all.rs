//! Every provider (`/providers/all/`, `authentik/core/api/providers.py ProviderViewSet`): the OAuth2 providers,
//! the only kind tokenstack stores, as the generic `Provider`; `application__isnull` and `backchannel` filters,
//! DRF's search over the provider's and its application's name, ordering by `pk` (the default) or `name`;
//! retrieve and destroy. Superusers only (model permissions).

use super::validate::*;
use super::*;

/// Raw `GET /providers/all/` query parameters (empty strings count as absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllProvidersParams {
    pub application_isnull: Option<String>,
    pub backchannel: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

impl Authentik<'_> {
    /// `providers_all_list`: each provider with its `assigned_application_*` fields.
    pub async fn list_all_providers(
        &self,
        caller: &AkUser,
        params: AllProvidersParams,
    ) -> Result<Page<AkProvider>, AkError> {
        if !caller.is_effective_superuser() {
            return Err(AkError::forbidden(MSG_NO_PERMISSION));
        }
        let mut errors = BTreeMap::new();
        let application_isnull = non_empty(params.application_isnull).and_then(|v| parse_null_boolean(&v));
        // OAuth2 providers are never backchannel providers: `true` leaves none, `false` all.
        let backchannel = non_empty(params.backchannel).and_then(|v| parse_null_boolean(&v));
        let search = search_filter(&mut errors, params.search);
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let page = page_request(params.page.as_deref(), params.page_size.as_deref())?;
        let terms = crate::store::query::search_terms(search.as_deref());
        let mut providers = Vec::new();
        for provider in self.store.all::<AkProvider>().await? {
            let provider = self.with_application(provider).await?;
            let names = [Some(provider.name.as_str()), provider.assigned_application_name.as_deref()];
            let matches = backchannel != Some(true)
                && application_isnull.is_none_or(|null| provider.assigned_application_slug.is_none() == null)
                && terms.iter().all(|term| names.iter().flatten().any(|n| n.to_lowercase().contains(term)));
            if matches {
                providers.push(provider);
            }
        }
        let ordering = params.ordering.unwrap_or_default();
        let (by_name, descending) = ordering
            .split(',')
            .map(str::trim)
            .map(|term| term.strip_prefix('-').map_or((term, false), |f| (f, true)))
            .find(|(field, _)| matches!(*field, "name" | "pk"))
            .map_or((false, false), |(field, descending)| (field == "name", descending));
        providers.sort_by(|a, b| {
            let order = if by_name { a.name.cmp(&b.name).then(a.pk.cmp(&b.pk)) } else { a.pk.cmp(&b.pk) };
            if descending { order.reverse() } else { order }
        });
        Page::build(page, page.slice(providers)).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `providers_all_retrieve`: the provider with its `assigned_application_*` fields; the 404 names the base
    /// model (`No Provider matches the given query.`).
    pub async fn get_any_provider(&self, caller: &AkUser, pk: i64) -> Result<AkProvider, AkError> {
        if !caller.is_effective_superuser() {
            return Err(AkError::forbidden(MSG_NO_PERMISSION));
        }
        match self.store.get::<AkProvider>(Field::Pk, pk).await {
            Ok(provider) => self.with_application(provider).await,
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_PROVIDER_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `providers_all_destroy`: as `providers_oauth2_destroy` (its tokens and codes go, its application stays
    /// without it), with the base model's 404.
    pub async fn delete_any_provider(&self, caller: &AkUser, pk: i64) -> Result<(), AkError> {
        self.get_any_provider(caller, pk).await?;
        match self.delete_provider(caller, pk).await {
            Err(AkError::NotFound(_)) => Err(AkError::not_found(MSG_PROVIDER_NOT_FOUND)),
            other => other,
        }
    }
}

/// Django's 404 for the base `Provider` model.
const MSG_PROVIDER_NOT_FOUND: &str = "No Provider matches the given query.";
