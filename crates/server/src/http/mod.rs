//! The HTTP layer: `impl TokenApi for ServerImpl`, one line per operation, each running its handler in
//! [`authentik`], [`netbird`], [`service`] or [`admin`] inside [`observe::observed`].
//!
//! Handlers extract, call the rules, convert; [`error`] is the one place where an error becomes a response.

mod admin;
mod authentik;
mod authentik_providers;
mod authentik_users;
mod context;
mod convert;
mod error;
mod faults;
mod netbird;
mod netbird_groups;
mod netbird_instance;
mod netbird_setup;
mod netbird_setup_keys;
mod netbird_users;
mod oauth2;
mod observe;
mod service;
pub mod validate;

use dropshot::{
    HttpResponseCreated, HttpResponseDeleted, HttpResponseOk, HttpResponseUpdatedNoContent, Path, Query,
    RequestContext, TypedBody,
};
use tokenstack_api::{JsonBody, TokenApi, params, types};

use crate::model::OAuthKind;

pub use self::context::ServerContext;
use self::error::{AkResponseError, NbResponseError, OAuth2ResponseError, TsResponseError};
use self::observe::observed;
/// The Dropshot API description of every operation ([`crate::start_with_store`] serves it).
pub(crate) use tokenstack_api::token_api_mod::api_description;

/// The access- and refresh-token lists have two generated query types with the same fields.
macro_rules! oauth_params {
    ($query:expr) => {{
        let query = $query;
        crate::authentik::OAuthListParams {
            user: query.user,
            provider: query.provider,
            search: query.search,
            ordering: query.ordering,
            page: query.page,
            page_size: query.page_size,
        }
    }};
}

/// A NetBird trait method: its arguments after the request context, its success body (`Empty`: upstream's `{}`)
/// and the handler it runs inside [`observed`], with the context and those arguments.
macro_rules! netbird {
    ($op:ident($($arg:ident: $ty:ty),*) -> Empty = $handler:path) => {
        netbird! { $op($($arg: $ty),*) -> serde_json::Map<String, serde_json::Value> = $handler }
    };
    ($op:ident($($arg:ident: $ty:ty),*) -> $ok:ty = $handler:path) => {
        async fn $op(
            rqctx: RequestContext<ServerContext>,
            $($arg: $ty),*
        ) -> Result<HttpResponseOk<$ok>, NbResponseError> {
            observed(&rqctx, $handler(&rqctx, $($arg),*)).await
        }
    };
}

/// The implementation of the generated API trait; never constructed.
pub enum ServerImpl {}

impl TokenApi for ServerImpl {
    type Context = ServerContext;

    async fn core_tokens_list(
        rqctx: RequestContext<ServerContext>,
        query: Query<params::CoreTokensListQuery>,
    ) -> Result<HttpResponseOk<types::PaginatedTokenList>, AkResponseError> {
        observed(&rqctx, authentik::core_tokens_list(&rqctx, query)).await
    }

    async fn core_tokens_create(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::TokenRequest>,
    ) -> Result<HttpResponseCreated<types::Token>, AkResponseError> {
        observed(&rqctx, authentik::core_tokens_create(&rqctx, body)).await
    }

    async fn core_tokens_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensRetrievePath>,
    ) -> Result<HttpResponseOk<types::Token>, AkResponseError> {
        observed(&rqctx, authentik::core_tokens_retrieve(&rqctx, path)).await
    }

    async fn core_tokens_update(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensUpdatePath>,
        body: JsonBody<types::TokenRequest>,
    ) -> Result<HttpResponseOk<types::Token>, AkResponseError> {
        observed(&rqctx, authentik::core_tokens_update(&rqctx, path, body)).await
    }

    async fn core_tokens_partial_update(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensPartialUpdatePath>,
        body: JsonBody<types::PatchedTokenRequest>,
    ) -> Result<HttpResponseOk<types::Token>, AkResponseError> {
        observed(&rqctx, authentik::core_tokens_partial_update(&rqctx, path, body)).await
    }

    async fn core_tokens_destroy(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensDestroyPath>,
    ) -> Result<HttpResponseDeleted, AkResponseError> {
        observed(&rqctx, authentik::core_tokens_destroy(&rqctx, path)).await
    }

    async fn core_tokens_set_key_create(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensSetKeyCreatePath>,
        body: JsonBody<types::TokenSetKeyRequest>,
    ) -> Result<HttpResponseUpdatedNoContent, AkResponseError> {
        observed(&rqctx, authentik::core_tokens_set_key_create(&rqctx, path, body)).await
    }

    async fn core_tokens_used_by_list(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensUsedByListPath>,
    ) -> Result<HttpResponseOk<Vec<types::UsedBy>>, AkResponseError> {
        observed(&rqctx, authentik::core_tokens_used_by_list(&rqctx, path)).await
    }

    async fn core_users_list(
        rqctx: RequestContext<ServerContext>,
        query: Query<params::CoreUsersListQuery>,
    ) -> Result<HttpResponseOk<types::PaginatedUserList>, AkResponseError> {
        observed(&rqctx, authentik_users::core_users_list(&rqctx, query)).await
    }

    async fn core_users_create(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::UserRequest>,
    ) -> Result<HttpResponseCreated<types::User>, AkResponseError> {
        observed(&rqctx, authentik_users::core_users_create(&rqctx, body)).await
    }

    async fn core_users_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreUsersRetrievePath>,
    ) -> Result<HttpResponseOk<types::CoreUsersRetrieveResponse>, AkResponseError> {
        observed(&rqctx, authentik_users::core_users_retrieve(&rqctx, path)).await
    }

    async fn core_users_service_account_create(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreUsersServiceAccountCreatePath>,
        body: JsonBody<types::UserServiceAccountRequest>,
    ) -> Result<HttpResponseOk<types::UserServiceAccountResponse>, AkResponseError> {
        observed(&rqctx, authentik_users::core_users_service_account_create(&rqctx, path, body)).await
    }

    async fn core_users_update(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreUsersUpdatePath>,
        body: JsonBody<types::UserRequest>,
    ) -> Result<HttpResponseOk<types::User>, AkResponseError> {
        let (pk, body) = (path.into_inner().id, body.into_inner().0);
        observed(&rqctx, authentik_users::core_users_update(&rqctx, pk, body, false)).await
    }

    async fn core_users_partial_update(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreUsersPartialUpdatePath>,
        body: JsonBody<types::PatchedUserRequest>,
    ) -> Result<HttpResponseOk<types::User>, AkResponseError> {
        let (pk, body) = (path.into_inner().id, body.into_inner().0);
        observed(&rqctx, authentik_users::core_users_update(&rqctx, pk, body, true)).await
    }

    async fn core_users_destroy(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreUsersDestroyPath>,
    ) -> Result<HttpResponseDeleted, AkResponseError> {
        observed(&rqctx, authentik_users::core_users_destroy(&rqctx, path)).await
    }

    async fn core_tokens_view_key_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensViewKeyRetrievePath>,
    ) -> Result<HttpResponseOk<types::TokenView>, AkResponseError> {
        observed(&rqctx, authentik::core_tokens_view_key_retrieve(&rqctx, path)).await
    }

    async fn providers_oauth2_list(
        rqctx: RequestContext<ServerContext>,
        query: Query<params::ProvidersOauth2ListQuery>,
    ) -> Result<HttpResponseOk<types::PaginatedOAuth2ProviderList>, AkResponseError> {
        observed(&rqctx, authentik_providers::providers_oauth2_list(&rqctx, query)).await
    }

    async fn providers_oauth2_create(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::OAuth2ProviderRequest>,
    ) -> Result<HttpResponseCreated<types::OAuth2Provider>, AkResponseError> {
        observed(&rqctx, authentik_providers::providers_oauth2_create(&rqctx, body)).await
    }

    async fn providers_oauth2_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::ProvidersOauth2RetrievePath>,
    ) -> Result<HttpResponseOk<types::OAuth2Provider>, AkResponseError> {
        observed(&rqctx, authentik_providers::providers_oauth2_retrieve(&rqctx, path.into_inner().id)).await
    }

    async fn providers_oauth2_update(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::ProvidersOauth2UpdatePath>,
        body: JsonBody<types::OAuth2ProviderRequest>,
    ) -> Result<HttpResponseOk<types::OAuth2Provider>, AkResponseError> {
        observed(&rqctx, authentik_providers::providers_oauth2_update(&rqctx, path.into_inner().id, body)).await
    }

    async fn providers_oauth2_destroy(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::ProvidersOauth2DestroyPath>,
    ) -> Result<HttpResponseDeleted, AkResponseError> {
        observed(&rqctx, authentik_providers::providers_oauth2_destroy(&rqctx, path.into_inner().id)).await
    }

    async fn core_applications_list(
        rqctx: RequestContext<ServerContext>,
        query: Query<params::CoreApplicationsListQuery>,
    ) -> Result<HttpResponseOk<types::PaginatedApplicationList>, AkResponseError> {
        observed(&rqctx, authentik_providers::core_applications_list(&rqctx, query)).await
    }

    async fn core_applications_create(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::ApplicationRequest>,
    ) -> Result<HttpResponseCreated<types::Application>, AkResponseError> {
        observed(&rqctx, authentik_providers::core_applications_create(&rqctx, body)).await
    }

    async fn core_applications_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreApplicationsRetrievePath>,
    ) -> Result<HttpResponseOk<types::Application>, AkResponseError> {
        observed(&rqctx, authentik_providers::core_applications_retrieve(&rqctx, path)).await
    }

    async fn core_applications_destroy(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreApplicationsDestroyPath>,
    ) -> Result<HttpResponseDeleted, AkResponseError> {
        observed(&rqctx, authentik_providers::core_applications_destroy(&rqctx, path)).await
    }

    async fn oauth2_access_tokens_list(
        rqctx: RequestContext<ServerContext>,
        query: Query<params::Oauth2AccessTokensListQuery>,
    ) -> Result<HttpResponseOk<types::PaginatedTokenModelList>, AkResponseError> {
        observed(&rqctx, authentik::oauth_list(&rqctx, OAuthKind::Access, oauth_params!(query.into_inner()))).await
    }

    async fn oauth2_access_tokens_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2AccessTokensRetrievePath>,
    ) -> Result<HttpResponseOk<types::TokenModel>, AkResponseError> {
        observed(&rqctx, authentik::oauth_retrieve(&rqctx, OAuthKind::Access, path.into_inner().id)).await
    }

    async fn oauth2_access_tokens_destroy(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2AccessTokensDestroyPath>,
    ) -> Result<HttpResponseDeleted, AkResponseError> {
        observed(&rqctx, authentik::oauth_destroy(&rqctx, OAuthKind::Access, path.into_inner().id)).await
    }

    async fn oauth2_access_tokens_used_by_list(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2AccessTokensUsedByListPath>,
    ) -> Result<HttpResponseOk<Vec<types::UsedBy>>, AkResponseError> {
        observed(&rqctx, authentik::oauth_used_by(&rqctx, OAuthKind::Access, path.into_inner().id)).await
    }

    async fn oauth2_refresh_tokens_list(
        rqctx: RequestContext<ServerContext>,
        query: Query<params::Oauth2RefreshTokensListQuery>,
    ) -> Result<HttpResponseOk<types::PaginatedTokenModelList>, AkResponseError> {
        observed(&rqctx, authentik::oauth_list(&rqctx, OAuthKind::Refresh, oauth_params!(query.into_inner()))).await
    }

    async fn oauth2_refresh_tokens_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2RefreshTokensRetrievePath>,
    ) -> Result<HttpResponseOk<types::TokenModel>, AkResponseError> {
        observed(&rqctx, authentik::oauth_retrieve(&rqctx, OAuthKind::Refresh, path.into_inner().id)).await
    }

    async fn oauth2_refresh_tokens_destroy(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2RefreshTokensDestroyPath>,
    ) -> Result<HttpResponseDeleted, AkResponseError> {
        observed(&rqctx, authentik::oauth_destroy(&rqctx, OAuthKind::Refresh, path.into_inner().id)).await
    }

    async fn oauth2_refresh_tokens_used_by_list(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2RefreshTokensUsedByListPath>,
    ) -> Result<HttpResponseOk<Vec<types::UsedBy>>, AkResponseError> {
        observed(&rqctx, authentik::oauth_used_by(&rqctx, OAuthKind::Refresh, path.into_inner().id)).await
    }

    // NetBird's operations, one `netbird!` line each (see the macro).
    netbird! { netbird_tokens_list(path: Path<params::NetbirdTokensListPath>)
    -> Vec<types::PersonalAccessToken> = netbird::netbird_tokens_list }
    netbird! { netbird_tokens_create(path: Path<params::NetbirdTokensCreatePath>, body: TypedBody<types::PersonalAccessTokenRequest>)
    -> types::PersonalAccessTokenGenerated = netbird::netbird_tokens_create }
    netbird! { netbird_tokens_retrieve(path: Path<params::NetbirdTokensRetrievePath>)
    -> types::PersonalAccessToken = netbird::netbird_tokens_retrieve }
    netbird! { netbird_tokens_destroy(path: Path<params::NetbirdTokensDestroyPath>)
    -> Empty = netbird::netbird_tokens_destroy }
    netbird! { netbird_groups_list(query: Query<params::NetbirdGroupsListQuery>)
    -> Vec<types::Group> = netbird_groups::netbird_groups_list }
    netbird! { netbird_groups_create(body: TypedBody<types::GroupRequest>)
    -> types::Group = netbird_groups::netbird_groups_create }
    netbird! { netbird_groups_retrieve(path: Path<params::NetbirdGroupsRetrievePath>)
    -> types::Group = netbird_groups::netbird_groups_retrieve }
    netbird! { netbird_groups_update(path: Path<params::NetbirdGroupsUpdatePath>, body: TypedBody<types::GroupRequest>)
    -> types::Group = netbird_groups::netbird_groups_update }
    netbird! { netbird_groups_destroy(path: Path<params::NetbirdGroupsDestroyPath>)
    -> Empty = netbird_groups::netbird_groups_destroy }
    netbird! { netbird_setup_keys_list() -> Vec<types::SetupKey> = netbird_setup_keys::netbird_setup_keys_list }
    netbird! { netbird_instance_retrieve() -> types::InstanceStatus = netbird_instance::netbird_instance_retrieve }
    netbird! { netbird_setup_create(body: TypedBody<types::SetupRequest>)
    -> types::SetupResponse = netbird_setup::netbird_setup_create }
    netbird! { netbird_setup_keys_create(body: TypedBody<types::CreateSetupKeyRequest>)
    -> types::SetupKeyClear = netbird_setup_keys::netbird_setup_keys_create }
    netbird! { netbird_setup_keys_retrieve(path: Path<params::NetbirdSetupKeysRetrievePath>)
    -> types::SetupKey = netbird_setup_keys::netbird_setup_keys_retrieve }
    netbird! { netbird_setup_keys_update(path: Path<params::NetbirdSetupKeysUpdatePath>, body: TypedBody<types::SetupKeyRequest>)
    -> types::SetupKey = netbird_setup_keys::netbird_setup_keys_update }
    netbird! { netbird_setup_keys_destroy(path: Path<params::NetbirdSetupKeysDestroyPath>)
    -> Empty = netbird_setup_keys::netbird_setup_keys_destroy }
    netbird! { netbird_users_list(query: Query<params::NetbirdUsersListQuery>)
    -> Vec<types::NetbirdUser> = netbird_users::netbird_users_list }
    netbird! { netbird_users_create(body: TypedBody<types::UserCreateRequest>)
    -> types::NetbirdUser = netbird_users::netbird_users_create }
    netbird! { netbird_users_update(path: Path<params::NetbirdUsersUpdatePath>, body: TypedBody<types::NetbirdUserRequest>)
    -> types::NetbirdUser = netbird_users::netbird_users_update }
    netbird! { netbird_users_current(path: Path<params::NetbirdUsersCurrentPath>)
    -> types::NetbirdUser = netbird_users::netbird_users_current }
    netbird! { netbird_users_destroy(path: Path<params::NetbirdUsersDestroyPath>)
    -> Empty = netbird_users::netbird_users_destroy }

    async fn healthz(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseOk<types::HealthStatus>, TsResponseError> {
        observed(&rqctx, service::healthz(&rqctx)).await
    }

    async fn readyz(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseOk<types::HealthStatus>, TsResponseError> {
        observed(&rqctx, service::readyz(&rqctx)).await
    }

    async fn oauth2_provider_root(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2ProviderRootPath>,
        query: Query<params::Oauth2ProviderRootQuery>,
    ) -> Result<http::Response<dropshot::Body>, OAuth2ResponseError> {
        oauth2::get(&rqctx, path, query).await
    }

    async fn oauth2_provider_introspect(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2ProviderIntrospectPath>,
        body: dropshot::UntypedBody,
    ) -> Result<http::Response<dropshot::Body>, OAuth2ResponseError> {
        oauth2::post(&rqctx, path, body).await
    }

    async fn oauth2_provider_openid_configuration(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2ProviderOpenidConfigurationPath>,
    ) -> Result<http::Response<dropshot::Body>, OAuth2ResponseError> {
        oauth2::openid_configuration(&rqctx, path).await
    }

    async fn oauth2_provider_jwks(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2ProviderJwksPath>,
    ) -> Result<http::Response<dropshot::Body>, OAuth2ResponseError> {
        oauth2::jwks(&rqctx, path).await
    }

    async fn metrics(rqctx: RequestContext<ServerContext>) -> Result<http::Response<dropshot::Body>, TsResponseError> {
        service::metrics(&rqctx).await
    }

    async fn admin_reset(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseUpdatedNoContent, TsResponseError> {
        observed(&rqctx, admin::admin_reset(&rqctx)).await
    }

    async fn admin_state_export(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseOk<types::SeedDocument>, TsResponseError> {
        observed(&rqctx, admin::admin_state_export(&rqctx)).await
    }

    async fn admin_state_load(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::SeedDocument>,
    ) -> Result<HttpResponseUpdatedNoContent, TsResponseError> {
        observed(&rqctx, admin::admin_state_load(&rqctx, body)).await
    }

    async fn admin_authentik_users_create(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::AdminAuthentikUser>,
    ) -> Result<HttpResponseCreated<types::AdminAuthentikUser>, TsResponseError> {
        observed(&rqctx, admin::admin_authentik_users_create(&rqctx, body)).await
    }

    async fn admin_authentik_providers_create(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::AdminAuthentikProvider>,
    ) -> Result<HttpResponseCreated<types::AdminAuthentikProvider>, TsResponseError> {
        observed(&rqctx, admin::admin_authentik_providers_create(&rqctx, body)).await
    }

    async fn admin_authentik_access_tokens_create(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::AdminOAuthToken>,
    ) -> Result<HttpResponseCreated<types::AdminOAuthToken>, TsResponseError> {
        observed(&rqctx, admin::admin_authentik_access_tokens_create(&rqctx, body)).await
    }

    async fn admin_authentik_refresh_tokens_create(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::AdminOAuthToken>,
    ) -> Result<HttpResponseCreated<types::AdminOAuthToken>, TsResponseError> {
        observed(&rqctx, admin::admin_authentik_refresh_tokens_create(&rqctx, body)).await
    }

    async fn admin_netbird_users_create(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::AdminNetbirdUser>,
    ) -> Result<HttpResponseCreated<types::AdminNetbirdUser>, TsResponseError> {
        observed(&rqctx, admin::admin_netbird_users_create(&rqctx, body)).await
    }

    async fn admin_clock_retrieve(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseOk<types::ClockOffset>, TsResponseError> {
        observed(&rqctx, admin::admin_clock_retrieve(&rqctx)).await
    }

    async fn admin_clock_update(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::ClockOffset>,
    ) -> Result<HttpResponseOk<types::ClockOffset>, TsResponseError> {
        observed(&rqctx, admin::admin_clock_update(&rqctx, body)).await
    }

    async fn admin_faults_retrieve(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseOk<types::FaultConfig>, TsResponseError> {
        observed(&rqctx, admin::admin_faults_retrieve(&rqctx)).await
    }

    async fn admin_faults_update(
        rqctx: RequestContext<ServerContext>,
        body: JsonBody<types::FaultConfig>,
    ) -> Result<HttpResponseOk<types::FaultConfig>, TsResponseError> {
        observed(&rqctx, admin::admin_faults_update(&rqctx, body)).await
    }
}
