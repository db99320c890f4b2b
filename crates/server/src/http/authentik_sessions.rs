//! authentik's authenticated sessions (`/core/authenticated_sessions/`): extract, call the rules of
//! [`crate::authentik`] (`sessions.rs`), convert.

use dropshot::{HttpResponseDeleted, HttpResponseOk, Path, Query, RequestContext};
use tokenstack_api::{params, types};

use super::ServerContext;
use super::convert;
use super::error::AkResponseError;
use crate::authentik::{SessionListParams, SessionView, parse_user_agent};
use crate::secrets::hash_session_key;

/// The hash of the request's session key, which `current` compares with.
fn current_sid(rqctx: &RequestContext<ServerContext>) -> Option<String> {
    super::flows::session_key(rqctx).map(|key| hash_session_key(&key))
}

pub(super) async fn list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::CoreAuthenticatedSessionsListQuery>,
) -> Result<HttpResponseOk<types::PaginatedAuthenticatedSessionList>, AkResponseError> {
    let caller = super::flows::caller(rqctx).await?;
    let q = query.into_inner();
    let params = SessionListParams {
        user_username: q.user_username,
        last_ip: q.session_last_ip,
        last_user_agent: q.session_last_user_agent,
        search: q.search,
        ordering: q.ordering,
        page: q.page,
        page_size: q.page_size,
    };
    let sid = current_sid(rqctx);
    let page = rqctx.context().authentik().list_sessions(&caller, sid.as_deref(), params).await?;
    Ok(HttpResponseOk(types::PaginatedAuthenticatedSessionList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination: convert::pagination(&page),
        results: page.results.iter().map(session).collect(),
    }))
}

pub(super) async fn retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreAuthenticatedSessionsRetrievePath>,
) -> Result<HttpResponseOk<types::AuthenticatedSession>, AkResponseError> {
    let caller = super::flows::caller(rqctx).await?;
    let sid = current_sid(rqctx);
    let view = rqctx.context().authentik().get_session(&caller, sid.as_deref(), path.into_inner().uuid).await?;
    Ok(HttpResponseOk(session(&view)))
}

pub(super) async fn destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreAuthenticatedSessionsDestroyPath>,
) -> Result<HttpResponseDeleted, AkResponseError> {
    let caller = super::flows::caller(rqctx).await?;
    rqctx.context().authentik().delete_session(&caller, path.into_inner().uuid).await?;
    Ok(HttpResponseDeleted())
}

/// `AuthenticatedSessionSerializer`: no GeoIP or ASN database is configured, so both are `null`.
fn session(view: &SessionView) -> types::AuthenticatedSession {
    let ua = parse_user_agent(&view.last_user_agent);
    let (family, major, minor, patch) = ua.browser;
    let (os_family, os_major, os_minor, os_patch) = ua.os;
    let (device_family, brand, model) = ua.device;
    types::AuthenticatedSession {
        uuid: Some(view.uuid),
        current: view.current,
        user_agent: types::AuthenticatedSessionUserAgent {
            device: types::AuthenticatedSessionUserAgentDevice { brand, family: device_family, model },
            os: types::AuthenticatedSessionUserAgentOs {
                family: os_family,
                major: os_major,
                minor: os_minor,
                patch: os_patch,
                patch_minor: None,
            },
            user_agent: types::AuthenticatedSessionUserAgentUserAgent { family, major, minor, patch },
            string: view.last_user_agent.clone(),
        },
        geo_ip: None,
        asn: None,
        user: view.user,
        last_ip: view.last_ip.clone(),
        last_user_agent: view.last_user_agent.clone(),
        last_used: view.last_used,
        expires: view.expires,
    }
}
