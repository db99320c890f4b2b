//! NetBird's instance setup (`POST /api/setup`, unauthenticated): extract, call the rules of [`crate::netbird`],
//! convert.

use dropshot::{HttpResponseOk, RequestContext, TypedBody};
use tokenstack_api::types;

use super::ServerContext;
use super::error::NbResponseError;

pub(super) async fn netbird_setup_create(
    rqctx: &RequestContext<ServerContext>,
    body: TypedBody<types::SetupRequest>,
) -> Result<HttpResponseOk<types::SetupResponse>, NbResponseError> {
    let context = rqctx.context();
    let done = context.netbird().setup(&body.into_inner().0, context.setup_pat_enabled).await?;
    Ok(HttpResponseOk(types::SetupResponse {
        email: done.email,
        personal_access_token: done.pat.map(|pat| pat.expose().to_string()),
        user_id: done.user_id,
    }))
}
