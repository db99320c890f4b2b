//! NetBird's instance setup (`POST /api/setup`, unauthenticated): extract, call the rules of [`crate::netbird`],
//! convert.

use dropshot::{HttpResponseHeaders, HttpResponseOk, RequestContext, TypedBody};
use tokenstack_api::{params, types};

use super::ServerContext;
use super::error::NbResponseError;
use super::observe::WithHeaders;

/// The setup's answer: the body, and `Cache-Control: no-store`, as upstream sends it (the response may carry a
/// plain PAT).
pub(super) type SetupOk = HttpResponseHeaders<HttpResponseOk<types::SetupResponse>, params::NetbirdSetupCreateHeaders>;
type Setup = WithHeaders<HttpResponseOk<types::SetupResponse>, params::NetbirdSetupCreateHeaders>;

pub(super) async fn netbird_setup_create(
    rqctx: &RequestContext<ServerContext>,
    body: TypedBody<types::SetupRequest>,
) -> Result<Setup, NbResponseError> {
    let context = rqctx.context();
    let done = context.netbird().setup(&body.into_inner().0, context.setup_pat_enabled).await?;
    let body = HttpResponseOk(types::SetupResponse {
        email: done.email,
        personal_access_token: done.pat.map(|pat| pat.expose().to_string()),
        user_id: done.user_id,
    });
    Ok(WithHeaders(body, params::NetbirdSetupCreateHeaders { cache_control: "no-store".to_owned() }))
}
