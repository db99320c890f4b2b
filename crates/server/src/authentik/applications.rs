//! Applications (`/core/applications/`, `authentik/core/api/applications.py ApplicationViewSet`): list (every
//! authenticated user; no policies are modelled, so every application passes), retrieve, create, update and
//! destroy by slug, with `ApplicationSerializer`'s validation. Binding a provider is what lets it issue tokens.

use super::serializer::Body;
use super::validate::*;
use super::*;
use crate::model::AkApplication;
use crate::model::AkProvider;
use crate::store::Field;

const MSG_APPLICATION_NOT_FOUND: &str = "No Application matches the given query.";
const MSG_SLUG_TAKEN: &str = "Application with this slug already exists.";
const MSG_PROVIDER_TAKEN: &str = "Application with this provider already exists.";
const POLICY_ENGINE_MODES: &[&str] = &["all", "any"];

/// Raw `GET /core/applications/` query parameters (empty strings count as absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplicationListParams {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub group: Option<String>,
    pub meta_description: Option<String>,
    pub meta_launch_url: Option<String>,
    pub meta_publisher: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// An application with the provider bound to it, as the serializer shows both.
#[derive(Debug, Clone)]
pub struct ApplicationView {
    pub application: AkApplication,
    pub provider: Option<AkProvider>,
    pub backchannel_providers: Vec<AkProvider>,
}

impl ApplicationView {
    /// `Application.get_launch_url`: `meta_launch_url`, else the provider's guess from its first redirect URI
    /// (`OAuth2Provider.launch_url`: the URL without its path).
    pub fn launch_url(&self) -> Option<String> {
        if !self.application.meta_launch_url.is_empty() {
            return Some(self.application.meta_launch_url.clone());
        }
        let url = &self.provider.as_ref()?.oauth2.redirect_uris.first()?.url;
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        Some(format!("{scheme}://{host}"))
    }
}

impl Authentik<'_> {
    /// `core_applications_list`: exact filters, `?search=` over name, slug, launch URL, description, publisher
    /// and group, `?ordering=` by `name` or `slug` (default `name`).
    pub async fn list_applications(
        &self,
        _caller: &AkUser,
        params: ApplicationListParams,
    ) -> Result<Page<ApplicationView>, AkError> {
        let mut errors = BTreeMap::new();
        let search = search_filter(&mut errors, params.search).map(|s| s.to_lowercase());
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let page = page_request(params.page.as_deref(), params.page_size.as_deref())?;
        let exact = [
            non_empty(params.name),
            non_empty(params.slug),
            non_empty(params.group),
            non_empty(params.meta_description),
            non_empty(params.meta_launch_url),
            non_empty(params.meta_publisher),
        ];
        let mut apps: Vec<AkApplication> = self
            .store
            .all::<AkApplication>()
            .await?
            .into_iter()
            .filter(|a| {
                let values = [&a.name, &a.slug, &a.group, &a.meta_description, &a.meta_launch_url, &a.meta_publisher];
                exact.iter().zip(values).all(|(want, have)| want.as_ref().is_none_or(|w| w == have))
                    && search.as_ref().is_none_or(|s| values.iter().any(|v| v.to_lowercase().contains(s)))
            })
            .collect();
        let descending = params.ordering.as_deref().is_some_and(|o| o.trim().starts_with('-'));
        let by_slug = params.ordering.as_deref().is_some_and(|o| o.trim().trim_start_matches('-') == "slug");
        apps.sort_by(|a, b| {
            let order = if by_slug { a.slug.cmp(&b.slug) } else { a.name.cmp(&b.name).then(a.slug.cmp(&b.slug)) };
            if descending { order.reverse() } else { order }
        });
        let slice = page.slice(apps);
        let mut views = Vec::with_capacity(slice.items.len());
        for app in slice.items {
            views.push(self.view(app).await?);
        }
        Page::build(page, crate::pagination::Slice { total: slice.total, items: views })
            .map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `core_applications_retrieve`: superusers (others hold no object permission: 404).
    pub async fn get_application(&self, caller: &AkUser, slug: &str) -> Result<ApplicationView, AkError> {
        let app = self.visible_application(caller, slug).await?;
        self.view(app).await
    }

    /// `core_applications_create`.
    pub async fn create_application(&self, caller: &AkUser, body: &Value) -> Result<ApplicationView, AkError> {
        require_app_admin(caller)?;
        let mut app = AkApplication::new(String::new(), String::new());
        self.parse_application(body, &mut app, None, false).await?;
        match self.store.insert(app.clone()).await {
            Ok(_) => {}
            Err(e) => return Err(taken(e)),
        }
        if let Some(pk) = app.provider {
            self.assign(pk, Some(&app)).await?;
        }
        self.view(app).await
    }

    /// `core_applications_update` (PUT: `name` and `slug` again) and `core_applications_partial_update`
    /// (`partial`). A new slug is a new key: the row under the old one goes and one under the new is written (two
    /// store steps). The providers it stops and starts naming are unbound and bound.
    pub async fn update_application(
        &self,
        caller: &AkUser,
        slug: &str,
        body: &Value,
        partial: bool,
    ) -> Result<ApplicationView, AkError> {
        require_app_admin(caller)?;
        let old = self.visible_application(caller, slug).await?;
        let mut app = old.clone();
        self.parse_application(body, &mut app, Some(&old), partial).await?;
        if app.slug == old.slug {
            match self.store.replace(app.clone()).await {
                Ok(()) => {}
                Err(StoreError::NotFound) => return Err(AkError::not_found(MSG_APPLICATION_NOT_FOUND)),
                Err(e) => return Err(taken(e)),
            }
        } else {
            match self.store.delete::<AkApplication>(old.slug.as_str()).await {
                Ok(()) => {}
                Err(StoreError::NotFound) => return Err(AkError::not_found(MSG_APPLICATION_NOT_FOUND)),
                Err(e) => return Err(e.into()),
            }
            if let Err(e) = self.store.insert(app.clone()).await {
                // Put the old row back: the new slug or provider was taken in between.
                let _ = self.store.insert(old.clone()).await;
                return Err(taken(e));
            }
        }
        if let Some(pk) = old.provider.filter(|pk| Some(*pk) != app.provider) {
            self.assign(pk, None).await?;
        }
        if let Some(pk) = app.provider {
            self.assign(pk, Some(&app)).await?;
        }
        self.view(app).await
    }

    /// `ApplicationSerializer` over `body`, applied to `app`; `old` is the application being updated (its own slug
    /// and provider are no clash); `partial`: a PATCH, where nothing is required.
    async fn parse_application(
        &self,
        body: &Value,
        app: &mut AkApplication,
        old: Option<&AkApplication>,
        partial: bool,
    ) -> Result<(), AkError> {
        let mut parsed = Body::new(body)?;
        let name = parsed.string("name", false);
        let slug = parsed.string("slug", false);
        let provider = if body.get("provider").is_some_and(Value::is_null) { None } else { parsed.pk("provider") };
        let backchannel = parsed.pk_list("backchannel_providers");
        let open_in_new_tab = parsed.boolean("open_in_new_tab");
        let strings = ["meta_launch_url", "meta_icon", "meta_description", "meta_publisher", "group"]
            .map(|field| parsed.string(field, false));
        let policy_engine_mode = parsed.choice("policy_engine_mode", POLICY_ENGINE_MODES);
        let meta_hide = parsed.boolean("meta_hide");
        let mut errors = parsed.finish();
        for (field, value) in [("name", &name), ("slug", &slug)] {
            match value {
                None if !partial && !errors.contains_key(field) => add_error(&mut errors, field, MSG_REQUIRED),
                Some(v) if v.trim().is_empty() => add_error(&mut errors, field, MSG_BLANK),
                _ => {}
            }
        }
        if let Some(slug) = slug.as_deref().filter(|s| !s.trim().is_empty()) {
            if !slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                add_error(&mut errors, "slug", MSG_SLUG);
            } else if old.is_none_or(|o| o.slug != slug)
                && self.exists(self.store.get::<AkApplication>(Field::Slug, slug).await)?
            {
                add_error(&mut errors, "slug", MSG_SLUG_TAKEN);
            }
        }
        if let Some(pk) = provider {
            if !self.exists(self.store.get::<AkProvider>(Field::Pk, pk).await)? {
                add_error(&mut errors, "provider", format!("Invalid pk \"{pk}\" - object does not exist."));
            } else if old.is_none_or(|o| o.provider != Some(pk))
                && self.exists(self.store.get::<AkApplication>(Field::Provider, pk).await)?
            {
                add_error(&mut errors, "provider", MSG_PROVIDER_TAKEN);
            }
        }
        for pk in backchannel.iter().flatten() {
            if !self.exists(self.store.get::<AkProvider>(Field::Pk, *pk).await)? {
                add_error(
                    &mut errors,
                    "backchannel_providers",
                    format!("Invalid pk \"{pk}\" - object does not exist."),
                );
            }
        }
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let [meta_launch_url, meta_icon, meta_description, meta_publisher, group] = strings;
        if let Some(name) = name {
            app.name = name;
        }
        if let Some(slug) = slug {
            app.slug = slug;
        }
        if provider.is_some() || body.get("provider").is_some() {
            app.provider = provider;
        }
        set(&mut app.backchannel_providers, backchannel);
        set(&mut app.open_in_new_tab, open_in_new_tab);
        set(&mut app.meta_launch_url, meta_launch_url);
        set(&mut app.meta_icon, meta_icon);
        set(&mut app.meta_description, meta_description);
        set(&mut app.meta_publisher, meta_publisher);
        set(&mut app.policy_engine_mode, policy_engine_mode);
        set(&mut app.group, group);
        set(&mut app.meta_hide, meta_hide);
        Ok(())
    }

    /// `core_applications_destroy`: the provider stays, unbound.
    pub async fn delete_application(&self, caller: &AkUser, slug: &str) -> Result<(), AkError> {
        require_app_admin(caller)?;
        let app = self.visible_application(caller, slug).await?;
        match self.store.delete::<AkApplication>(slug).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(AkError::not_found(MSG_APPLICATION_NOT_FOUND)),
            Err(e) => return Err(e.into()),
        }
        if let Some(pk) = app.provider {
            self.assign(pk, None).await?;
        }
        Ok(())
    }

    /// Writes the provider's `assigned_application_*` fields, which the OAuth2 token listings show.
    async fn assign(&self, pk: i64, app: Option<&AkApplication>) -> Result<(), AkError> {
        let mut provider = match self.store.get::<AkProvider>(Field::Pk, pk).await {
            Ok(p) => p,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        provider.assigned_application_slug = app.map(|a| a.slug.clone());
        provider.assigned_application_name = app.map(|a| a.name.clone());
        match self.store.replace(provider).await {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn visible_application(&self, caller: &AkUser, slug: &str) -> Result<AkApplication, AkError> {
        if !caller.is_effective_superuser() || slug.chars().any(char::is_control) {
            return Err(AkError::not_found(MSG_APPLICATION_NOT_FOUND));
        }
        match self.store.get::<AkApplication>(Field::Slug, slug).await {
            Ok(app) => Ok(app),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_APPLICATION_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    async fn view(&self, application: AkApplication) -> Result<ApplicationView, AkError> {
        let provider = match application.provider {
            None => None,
            Some(pk) => match self.store.get::<AkProvider>(Field::Pk, pk).await {
                Ok(p) => Some(self.with_application(p).await?),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
        };
        let mut backchannel_providers = Vec::new();
        for pk in &application.backchannel_providers {
            if let Ok(p) = self.store.get::<AkProvider>(Field::Pk, *pk).await {
                backchannel_providers.push(p);
            }
        }
        Ok(ApplicationView { application, provider, backchannel_providers })
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// A unique key another application holds, as DRF's validators word it.
fn taken(error: StoreError) -> AkError {
    match error {
        StoreError::Duplicate { field: Field::Slug } => AkError::field("slug", MSG_SLUG_TAKEN),
        StoreError::Duplicate { field: Field::Provider } => AkError::field("provider", MSG_PROVIDER_TAKEN),
        e => e.into(),
    }
}

fn require_app_admin(caller: &AkUser) -> Result<(), AkError> {
    if caller.is_effective_superuser() { Ok(()) } else { Err(AkError::forbidden(MSG_NO_PERMISSION)) }
}
