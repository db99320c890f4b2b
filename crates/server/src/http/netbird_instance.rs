//! NetBird's instance status (`/api/instance`, unauthenticated): call the rules of [`crate::netbird`], convert.

use dropshot::{HttpResponseOk, RequestContext};
use tokenstack_api::types;

use super::ServerContext;
use super::error::NbResponseError;

pub(super) async fn netbird_instance_retrieve(
    rqctx: &RequestContext<ServerContext>,
) -> Result<HttpResponseOk<types::InstanceStatus>, NbResponseError> {
    let setup_required = rqctx.context().netbird().setup_required().await?;
    Ok(HttpResponseOk(types::InstanceStatus { setup_required }))
}
