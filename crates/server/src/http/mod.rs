//! The HTTP layer: `impl TokenApi for ServerImpl`, one line per operation, each running its handler in
//! [`authentik`], [`netbird`], [`service`] or [`admin`] inside [`observe::observed`].
//!
//! Handlers extract, call the rules, convert; [`error`] is the one place where an error becomes a response.

mod admin;
mod authentik;
mod authentik_crypto;
mod authentik_groups;
mod authentik_mappings;
mod authentik_providers;
mod authentik_sessions;
mod authentik_setup;
mod authentik_users;
mod context;
mod convert;
mod error;
mod faults;
mod flows;
mod netbird;
mod netbird_groups;
mod netbird_instance;
mod netbird_peers;
mod netbird_setup;
mod netbird_setup_keys;
mod netbird_users;
mod oauth2;
mod observe;
mod pages;
mod service;
pub mod validate;

use dropshot::{
    HttpResponseCreated, HttpResponseDeleted, HttpResponseOk, HttpResponseUpdatedNoContent, Path, Query,
    RequestContext, TypedBody,
};
use tokenstack_api::{JsonBody, TokenApi, params, types};

use crate::model::OAuthKind;

pub use self::context::ServerContext;
use self::error::{AkResponseError, NbResponseError, OAuth2ResponseError, PageResponseError, TsResponseError};
use self::observe::{delegate, free_form, observed};
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

/// An OAuth2 access- or refresh-token trait method: its one argument, its success and the shared handler it runs
/// inside [`observed`], told the kind, with what it takes of the argument.
macro_rules! oauth {
    ($($op:ident($arg:ident: $ty:ty) -> $ok:ty = $handler:ident($kind:ident, $value:expr);)*) => {$(
        async fn $op(rqctx: RequestContext<ServerContext>, $arg: $ty) -> Result<$ok, AkResponseError> {
            let $arg = $arg.into_inner();
            observed(&rqctx, authentik::$handler(&rqctx, OAuthKind::$kind, $value)).await
        }
    )*};
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

    async fn core_tokens_set_key_create(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensSetKeyCreatePath>,
        body: JsonBody<types::TokenSetKeyRequest>,
    ) -> Result<HttpResponseUpdatedNoContent, AkResponseError> {
        observed(&rqctx, authentik::core_tokens_set_key_create(&rqctx, path, body)).await
    }

    delegate! {
        authentik_sessions::list => fn core_authenticated_sessions_list(query: Query<params::CoreAuthenticatedSessionsListQuery>) -> HttpResponseOk<types::PaginatedAuthenticatedSessionList>, AkResponseError;
        authentik_sessions::retrieve => fn core_authenticated_sessions_retrieve(path: Path<params::CoreAuthenticatedSessionsRetrievePath>) -> HttpResponseOk<types::AuthenticatedSession>, AkResponseError;
        authentik_sessions::destroy => fn core_authenticated_sessions_destroy(path: Path<params::CoreAuthenticatedSessionsDestroyPath>) -> HttpResponseDeleted, AkResponseError;
        authentik_users::core_users_list => fn core_users_list(query: Query<params::CoreUsersListQuery>)
            -> HttpResponseOk<types::PaginatedUserList>, AkResponseError;
        authentik_users::core_users_create => fn core_users_create(body: JsonBody<types::UserRequest>)
            -> HttpResponseCreated<types::User>, AkResponseError;
        authentik_users::core_users_retrieve => fn core_users_retrieve(path: Path<params::CoreUsersRetrievePath>)
            -> HttpResponseOk<types::CoreUsersRetrieveResponse>, AkResponseError;
        authentik_users::core_users_service_account_create => fn core_users_service_account_create(
            path: Path<params::CoreUsersServiceAccountCreatePath>, body: JsonBody<types::UserServiceAccountRequest>,
        ) -> HttpResponseOk<types::UserServiceAccountResponse>, AkResponseError;
        authentik_users::core_users_destroy => fn core_users_destroy(path: Path<params::CoreUsersDestroyPath>)
            -> HttpResponseDeleted, AkResponseError;
        authentik_users::core_users_set_password_create => fn core_users_set_password_create(
            path: Path<params::CoreUsersSetPasswordCreatePath>, body: JsonBody<types::UserPasswordSetRequest>,
        ) -> HttpResponseUpdatedNoContent, AkResponseError;
        authentik::core_tokens_used_by_list => fn core_tokens_used_by_list(path: Path<params::CoreTokensUsedByListPath>)
            -> HttpResponseOk<Vec<types::UsedBy>>, AkResponseError;
        authentik::core_tokens_destroy => fn core_tokens_destroy(path: Path<params::CoreTokensDestroyPath>)
            -> HttpResponseDeleted, AkResponseError;
        authentik::core_tokens_view_key_retrieve => fn core_tokens_view_key_retrieve(
            path: Path<params::CoreTokensViewKeyRetrievePath>,
        ) -> HttpResponseOk<types::TokenView>, AkResponseError;
        authentik_providers::providers_oauth2_list => fn providers_oauth2_list(
            query: Query<params::ProvidersOauth2ListQuery>,
        ) -> HttpResponseOk<types::PaginatedOAuth2ProviderList>, AkResponseError;
        authentik_providers::providers_oauth2_create => fn providers_oauth2_create(
            body: JsonBody<types::OAuth2ProviderRequest>,
        ) -> HttpResponseCreated<types::OAuth2Provider>, AkResponseError;
        authentik_groups::core_groups_list => fn core_groups_list(query: Query<params::CoreGroupsListQuery>)
            -> HttpResponseOk<types::PaginatedGroupList>, AkResponseError;
        authentik_groups::core_groups_create => fn core_groups_create(body: JsonBody<types::GroupRequest>)
            -> HttpResponseCreated<types::Group>, AkResponseError;
        authentik_groups::core_groups_retrieve => fn core_groups_retrieve(
            path: Path<params::CoreGroupsRetrievePath>, query: Query<params::CoreGroupsRetrieveQuery>,
        ) -> HttpResponseOk<types::Group>, AkResponseError;
        authentik_groups::core_groups_update => fn core_groups_update(
            path: Path<params::CoreGroupsUpdatePath>, body: JsonBody<types::GroupRequest>,
        ) -> HttpResponseOk<types::Group>, AkResponseError;
        authentik_groups::core_groups_partial_update => fn core_groups_partial_update(
            path: Path<params::CoreGroupsPartialUpdatePath>, body: JsonBody<types::PatchedGroupRequest>,
        ) -> HttpResponseOk<types::Group>, AkResponseError;
        authentik_groups::core_groups_destroy => fn core_groups_destroy(path: Path<params::CoreGroupsDestroyPath>)
            -> HttpResponseDeleted, AkResponseError;
        authentik_groups::core_groups_add_user_create => fn core_groups_add_user_create(
            path: Path<params::CoreGroupsAddUserCreatePath>, body: JsonBody<types::UserAccountRequest>,
        ) -> HttpResponseUpdatedNoContent, AkResponseError;
        authentik_groups::core_groups_remove_user_create => fn core_groups_remove_user_create(
            path: Path<params::CoreGroupsRemoveUserCreatePath>, body: JsonBody<types::UserAccountRequest>,
        ) -> HttpResponseUpdatedNoContent, AkResponseError;
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

    delegate! {
        authentik_providers::core_applications_list => fn core_applications_list(
            query: Query<params::CoreApplicationsListQuery>,
        ) -> HttpResponseOk<types::PaginatedApplicationList>, AkResponseError;
        authentik_providers::core_applications_create => fn core_applications_create(
            body: JsonBody<types::ApplicationRequest>,
        ) -> HttpResponseCreated<types::Application>, AkResponseError;
        authentik_providers::core_applications_retrieve => fn core_applications_retrieve(
            path: Path<params::CoreApplicationsRetrievePath>,
        ) -> HttpResponseOk<types::Application>, AkResponseError;
        authentik_providers::core_applications_update => fn core_applications_update(
            path: Path<params::CoreApplicationsUpdatePath>,
            body: JsonBody<types::ApplicationRequest>,
        ) -> HttpResponseOk<types::Application>, AkResponseError;
        authentik_providers::core_applications_partial_update => fn core_applications_partial_update(
            path: Path<params::CoreApplicationsPartialUpdatePath>,
            body: JsonBody<types::PatchedApplicationRequest>,
        ) -> HttpResponseOk<types::Application>, AkResponseError;
        authentik_providers::core_applications_destroy => fn core_applications_destroy(
            path: Path<params::CoreApplicationsDestroyPath>,
        ) -> HttpResponseDeleted, AkResponseError;
    }

    oauth! {
        oauth2_access_tokens_list(query: Query<params::Oauth2AccessTokensListQuery>)
            -> HttpResponseOk<types::PaginatedTokenModelList> = oauth_list(Access, oauth_params!(query));
        oauth2_access_tokens_retrieve(path: Path<params::Oauth2AccessTokensRetrievePath>)
            -> HttpResponseOk<types::TokenModel> = oauth_retrieve(Access, path.id);
        oauth2_access_tokens_destroy(path: Path<params::Oauth2AccessTokensDestroyPath>)
            -> HttpResponseDeleted = oauth_destroy(Access, path.id);
        oauth2_access_tokens_used_by_list(path: Path<params::Oauth2AccessTokensUsedByListPath>)
            -> HttpResponseOk<Vec<types::UsedBy>> = oauth_used_by(Access, path.id);
        oauth2_refresh_tokens_list(query: Query<params::Oauth2RefreshTokensListQuery>)
            -> HttpResponseOk<types::PaginatedTokenModelList> = oauth_list(Refresh, oauth_params!(query));
        oauth2_refresh_tokens_retrieve(path: Path<params::Oauth2RefreshTokensRetrievePath>)
            -> HttpResponseOk<types::TokenModel> = oauth_retrieve(Refresh, path.id);
        oauth2_refresh_tokens_destroy(path: Path<params::Oauth2RefreshTokensDestroyPath>)
            -> HttpResponseDeleted = oauth_destroy(Refresh, path.id);
        oauth2_refresh_tokens_used_by_list(path: Path<params::Oauth2RefreshTokensUsedByListPath>)
            -> HttpResponseOk<Vec<types::UsedBy>> = oauth_used_by(Refresh, path.id);
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
    -> Vec<types::NetbirdGroup> = netbird_groups::netbird_groups_list }
    netbird! { netbird_groups_create(body: TypedBody<types::NetbirdGroupRequest>)
    -> types::NetbirdGroup = netbird_groups::netbird_groups_create }
    netbird! { netbird_groups_retrieve(path: Path<params::NetbirdGroupsRetrievePath>)
    -> types::NetbirdGroup = netbird_groups::netbird_groups_retrieve }
    netbird! { netbird_groups_update(path: Path<params::NetbirdGroupsUpdatePath>, body: TypedBody<types::NetbirdGroupRequest>)
    -> types::NetbirdGroup = netbird_groups::netbird_groups_update }
    netbird! { netbird_groups_destroy(path: Path<params::NetbirdGroupsDestroyPath>)
    -> Empty = netbird_groups::netbird_groups_destroy }
    netbird! { netbird_setup_keys_list() -> Vec<types::SetupKey> = netbird_setup_keys::netbird_setup_keys_list }
    netbird! { netbird_instance_retrieve() -> types::InstanceStatus = netbird_instance::netbird_instance_retrieve }
    delegate! { netbird_setup::netbird_setup_create => fn netbird_setup_create(body: TypedBody<types::SetupRequest>)
    -> netbird_setup::SetupOk, NbResponseError; }
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
    netbird! { netbird_peers_list(query: Query<params::NetbirdPeersListQuery>)
    -> Vec<types::PeerBatch> = netbird_peers::netbird_peers_list }
    netbird! { netbird_peers_retrieve(path: Path<params::NetbirdPeersRetrievePath>)
    -> types::Peer = netbird_peers::netbird_peers_retrieve }
    netbird! { netbird_peers_update(path: Path<params::NetbirdPeersUpdatePath>, body: TypedBody<types::PeerRequest>)
    -> types::Peer = netbird_peers::netbird_peers_update }
    netbird! { netbird_peers_destroy(path: Path<params::NetbirdPeersDestroyPath>)
    -> Empty = netbird_peers::netbird_peers_destroy }
    netbird! { netbird_accounts_list() -> Vec<types::Account> = netbird_peers::netbird_accounts_list }
    netbird! { netbird_accounts_update(path: Path<params::NetbirdAccountsUpdatePath>, body: TypedBody<types::AccountRequest>)
    -> types::Account = netbird_peers::netbird_accounts_update }

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

    async fn oauth2_provider_device(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2ProviderDevicePath>,
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

    free_form! {
        flows::executor_get => fn flows_executor_get(path: Path<params::FlowsExecutorGetPath>, query: Query<params::FlowsExecutorGetQuery>) -> AkResponseError;
        flows::executor_solve => fn flows_executor_solve(path: Path<params::FlowsExecutorSolvePath>, query: Query<params::FlowsExecutorSolveQuery>, body: dropshot::UntypedBody) -> AkResponseError;
        flows::page_get => fn flow_interface_get(path: Path<params::FlowInterfaceGetPath>, _query: Query<params::FlowInterfaceGetQuery>) -> PageResponseError;
        flows::page_solve => fn flow_interface_solve(path: Path<params::FlowInterfaceSolvePath>, _query: Query<params::FlowInterfaceSolveQuery>, body: dropshot::UntypedBody) -> PageResponseError;
        flows::user_interface => fn user_interface_get() -> PageResponseError;
        flows::default_authentication => fn flows_default_authentication(query: Query<params::FlowsDefaultAuthenticationQuery>) -> PageResponseError;
        flows::device_entry => fn device_entry(_query: Query<params::DeviceEntryQuery>) -> PageResponseError;
        flows::default_invalidation => fn flows_default_invalidation(query: Query<params::FlowsDefaultInvalidationQuery>) -> PageResponseError;
        oauth2::end_session_get => fn oauth2_provider_end_session(path: Path<params::Oauth2ProviderEndSessionPath>, query: Query<params::Oauth2ProviderEndSessionQuery>) -> OAuth2ResponseError;
        oauth2::end_session_post => fn oauth2_provider_end_session_post(path: Path<params::Oauth2ProviderEndSessionPostPath>, body: dropshot::UntypedBody) -> OAuth2ResponseError;
    }

    async fn metrics(rqctx: RequestContext<ServerContext>) -> Result<http::Response<dropshot::Body>, TsResponseError> {
        service::metrics(&rqctx).await
    }

    delegate! {
        admin::admin_reset => fn admin_reset() -> HttpResponseUpdatedNoContent, TsResponseError;
        admin::admin_state_export => fn admin_state_export() -> HttpResponseOk<types::SeedDocument>, TsResponseError;
        admin::admin_state_load => fn admin_state_load(body: JsonBody<types::StateDocument>)
            -> HttpResponseUpdatedNoContent, TsResponseError;
        admin::admin_authentik_users_create => fn admin_authentik_users_create(
            body: JsonBody<types::AdminAuthentikUser>,
        ) -> HttpResponseCreated<types::AdminAuthentikUser>, TsResponseError;
        admin::admin_authentik_providers_create => fn admin_authentik_providers_create(
            body: JsonBody<types::AdminAuthentikProvider>,
        ) -> HttpResponseCreated<types::AdminAuthentikProvider>, TsResponseError;
        admin::admin_authentik_access_tokens_create => fn admin_authentik_access_tokens_create(
            body: JsonBody<types::AdminOAuthToken>,
        ) -> HttpResponseCreated<types::AdminOAuthToken>, TsResponseError;
        admin::admin_authentik_refresh_tokens_create => fn admin_authentik_refresh_tokens_create(
            body: JsonBody<types::AdminOAuthToken>,
        ) -> HttpResponseCreated<types::AdminOAuthToken>, TsResponseError;
        admin::admin_netbird_users_create => fn admin_netbird_users_create(body: JsonBody<types::AdminNetbirdUser>)
            -> HttpResponseCreated<types::AdminNetbirdUser>, TsResponseError;
        netbird_peers::admin_netbird_peers_create => fn admin_netbird_peers_create(
            body: JsonBody<types::AdminNetbirdPeerJoin>,
        ) -> HttpResponseCreated<types::Peer>, TsResponseError;
        admin::admin_clock_retrieve => fn admin_clock_retrieve()
            -> HttpResponseOk<types::ClockOffset>, TsResponseError;
        admin::admin_clock_update => fn admin_clock_update(body: JsonBody<types::ClockOffset>)
            -> HttpResponseOk<types::ClockOffset>, TsResponseError;
        admin::admin_faults_retrieve => fn admin_faults_retrieve()
            -> HttpResponseOk<types::FaultConfig>, TsResponseError;
        admin::admin_faults_update => fn admin_faults_update(body: JsonBody<types::FaultConfig>)
            -> HttpResponseOk<types::FaultConfig>, TsResponseError;
        authentik_setup::root_config_retrieve => fn root_config_retrieve()
            -> HttpResponseOk<types::Config>, AkResponseError;
        authentik_setup::flows_instances_list => fn flows_instances_list(
            query: Query<params::FlowsInstancesListQuery>,
        ) -> HttpResponseOk<types::PaginatedFlowList>, AkResponseError;
        authentik_setup::flows_instances_retrieve => fn flows_instances_retrieve(
            path: Path<params::FlowsInstancesRetrievePath>,
        ) -> HttpResponseOk<types::Flow>, AkResponseError;
        authentik_crypto::crypto_certificatekeypairs_list => fn crypto_certificatekeypairs_list(
            query: Query<params::CryptoCertificatekeypairsListQuery>,
        ) -> HttpResponseOk<types::PaginatedCertificateKeyPairList>, AkResponseError;
        authentik_crypto::crypto_certificatekeypairs_create => fn crypto_certificatekeypairs_create(
            body: JsonBody<types::CertificateKeyPairRequest>,
        ) -> HttpResponseCreated<types::CertificateKeyPair>, AkResponseError;
        authentik_crypto::crypto_certificatekeypairs_retrieve => fn crypto_certificatekeypairs_retrieve(
            path: Path<params::CryptoCertificatekeypairsRetrievePath>,
        ) -> HttpResponseOk<types::CertificateKeyPair>, AkResponseError;
        authentik_crypto::crypto_certificatekeypairs_generate_create => fn crypto_certificatekeypairs_generate_create(
            path: Path<params::CryptoCertificatekeypairsGenerateCreatePath>,
            body: JsonBody<types::CertificateGenerationRequest>,
        ) -> HttpResponseOk<types::CertificateKeyPair>, AkResponseError;
        authentik_crypto::crypto_certificatekeypairs_destroy => fn crypto_certificatekeypairs_destroy(
            path: Path<params::CryptoCertificatekeypairsDestroyPath>,
        ) -> HttpResponseDeleted, AkResponseError;
        authentik_crypto::crypto_certificatekeypairs_update => fn crypto_certificatekeypairs_update(
            path: Path<params::CryptoCertificatekeypairsUpdatePath>, body: JsonBody<types::CertificateKeyPairRequest>,
        ) -> HttpResponseOk<types::CertificateKeyPair>, AkResponseError;
        authentik_crypto::crypto_certificatekeypairs_partial_update => fn crypto_certificatekeypairs_partial_update(
            path: Path<params::CryptoCertificatekeypairsPartialUpdatePath>,
            body: JsonBody<types::PatchedCertificateKeyPairRequest>,
        ) -> HttpResponseOk<types::CertificateKeyPair>, AkResponseError;
        authentik_crypto::crypto_certificatekeypairs_used_by_list => fn crypto_certificatekeypairs_used_by_list(
            path: Path<params::CryptoCertificatekeypairsUsedByListPath>,
        ) -> HttpResponseOk<Vec<types::UsedBy>>, AkResponseError;
        authentik_crypto::crypto_certificatekeypairs_view_certificate_retrieve
            => fn crypto_certificatekeypairs_view_certificate_retrieve(
            path: Path<params::CryptoCertificatekeypairsViewCertificateRetrievePath>,
            query: Query<params::CryptoCertificatekeypairsViewCertificateRetrieveQuery>,
        ) -> HttpResponseOk<types::CertificateData>, AkResponseError;
        authentik_crypto::crypto_certificatekeypairs_view_private_key_retrieve
            => fn crypto_certificatekeypairs_view_private_key_retrieve(
            path: Path<params::CryptoCertificatekeypairsViewPrivateKeyRetrievePath>,
            query: Query<params::CryptoCertificatekeypairsViewPrivateKeyRetrieveQuery>,
        ) -> HttpResponseOk<types::CertificateData>, AkResponseError;
        authentik_mappings::propertymappings_provider_scope_list => fn propertymappings_provider_scope_list(
            query: Query<params::PropertymappingsProviderScopeListQuery>,
        ) -> HttpResponseOk<types::PaginatedScopeMappingList>, AkResponseError;
        authentik_mappings::propertymappings_all_list => fn propertymappings_all_list(
            query: Query<params::PropertymappingsAllListQuery>,
        ) -> HttpResponseOk<types::PaginatedPropertyMappingList>, AkResponseError;
        authentik_mappings::propertymappings_provider_scope_create => fn propertymappings_provider_scope_create(
            body: JsonBody<types::ScopeMappingRequest>,
        ) -> HttpResponseCreated<types::ScopeMapping>, AkResponseError;
        authentik_mappings::propertymappings_provider_scope_retrieve => fn propertymappings_provider_scope_retrieve(
            path: Path<params::PropertymappingsProviderScopeRetrievePath>,
        ) -> HttpResponseOk<types::ScopeMapping>, AkResponseError;
        authentik_mappings::propertymappings_provider_scope_update => fn propertymappings_provider_scope_update(
            path: Path<params::PropertymappingsProviderScopeUpdatePath>,
            body: JsonBody<types::ScopeMappingRequest>,
        ) -> HttpResponseOk<types::ScopeMapping>, AkResponseError;
        authentik_mappings::propertymappings_provider_scope_partial_update
            => fn propertymappings_provider_scope_partial_update(
            path: Path<params::PropertymappingsProviderScopePartialUpdatePath>,
            body: JsonBody<types::PatchedScopeMappingRequest>,
        ) -> HttpResponseOk<types::ScopeMapping>, AkResponseError;
        authentik_mappings::propertymappings_provider_scope_destroy => fn propertymappings_provider_scope_destroy(
            path: Path<params::PropertymappingsProviderScopeDestroyPath>,
        ) -> HttpResponseDeleted, AkResponseError;
        authentik_providers::providers_oauth2_partial_update => fn providers_oauth2_partial_update(
            path: Path<params::ProvidersOauth2PartialUpdatePath>,
            body: JsonBody<types::PatchedOAuth2ProviderRequest>,
        ) -> HttpResponseOk<types::OAuth2Provider>, AkResponseError;
        authentik_providers::providers_oauth2_setup_urls_retrieve => fn providers_oauth2_setup_urls_retrieve(
            path: Path<params::ProvidersOauth2SetupUrlsRetrievePath>,
        ) -> HttpResponseOk<types::OAuth2ProviderSetupUrLs>, AkResponseError;
        authentik_providers::providers_all_list => fn providers_all_list(query: Query<params::ProvidersAllListQuery>)
            -> HttpResponseOk<types::PaginatedProviderList>, AkResponseError;
        authentik_providers::providers_all_retrieve => fn providers_all_retrieve(path: Path<params::ProvidersAllRetrievePath>)
            -> HttpResponseOk<types::Provider>, AkResponseError;
        authentik_providers::providers_all_destroy => fn providers_all_destroy(path: Path<params::ProvidersAllDestroyPath>)
            -> HttpResponseDeleted, AkResponseError;
    }
}
