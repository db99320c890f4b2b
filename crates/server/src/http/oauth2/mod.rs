//! Handlers of authentik's provider endpoints under `/application/o/`: the literal paths (authorize/, token/,
//! introspect/, revoke/, userinfo/) arrive through the route `/application/o/{application_slug}/` and are
//! dispatched on the literal; end-session/, jwks/ and the discovery document have routes of their own. Each runs
//! one rule of `authentik::oauth2` (end-session/ one of the flow engine) and writes its domain answer as a
//! response ([`response`]).

mod response;

use std::collections::BTreeMap;

use dropshot::{Body, Path, Query, RequestContext, UntypedBody};
use tokenstack_api::{params, types};

use super::ServerContext;
use super::error::OAuth2ResponseError;
use super::observe::{authorization, observed_as};
use crate::authentik::oauth2::{
    AuthorizeQuery, DeviceAuthorization, EndSessionParams, OAuth2, ProviderRequest, TokenForm, TokenOutcome,
};
use crate::authentik::oidc::discovery::base_url;
use crate::secrets::Secret;
use response::Written;

type Answer = Result<http::Response<Body>, OAuth2ResponseError>;

/// A written response as Dropshot sends it (an empty body is none).
fn send(response: http::Response<String>) -> http::Response<Body> {
    response.map(|body| if body.is_empty() { Body::empty() } else { Body::from(body) })
}

/// Runs a provider rule for `operation_id` with the request's base URL and `Authorization` header, and writes
/// its answer (the request id goes into error bodies).
async fn serve<F>(rqctx: &RequestContext<ServerContext>, operation_id: &str, rule: F) -> Answer
where
    F: AsyncFnOnce(&ProviderRequest<'_>, &str) -> Written,
{
    let headers = rqctx.request.headers();
    let server_addr = rqctx.server.local_addr.to_string();
    let base = base_url(
        rqctx.server.using_tls(),
        header_str(headers, "host"),
        header_str(headers, "x-forwarded-proto"),
        &server_addr,
    );
    let Ok(base) = base else { return response::disallowed_host().map(send) };
    let request = ProviderRequest { base_url: &base, authorization: authorization(rqctx) };
    observed_as(rqctx, operation_id, rule(&request, &rqctx.request_id)).await.map(send)
}

/// DRF's `get_ident` (no `NUM_PROXIES`): `X-Forwarded-For` without its spaces when the request has one, else the
/// peer's address; the throttle's key.
fn client_ident(rqctx: &RequestContext<ServerContext>) -> String {
    match header_str(rqctx.request.headers(), "x-forwarded-for") {
        Some(forwarded) => forwarded.replace(' ', ""),
        None => rqctx.request.remote_addr().ip().to_string(),
    }
}

fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The fields of a POST as Django's `request.POST` reads them: only an `application/x-www-form-urlencoded` body is
/// a form (anything else is an empty form), and the last of a repeated field wins.
fn post_form(rqctx: &RequestContext<ServerContext>, body: &UntypedBody) -> BTreeMap<String, String> {
    let content_type = rqctx.request.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let is_form = content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return BTreeMap::new();
    }
    form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

/// The token, introspection, revocation and device form.
fn form(rqctx: &RequestContext<ServerContext>, body: &UntypedBody) -> types::Oauth2ProviderDeviceForm {
    serde_json::to_value(post_form(rqctx, body)).and_then(serde_json::from_value).unwrap_or_default()
}

/// `GET /application/o/{slug}/`: authorize/ and userinfo/, else the provider root's redirect.
pub(super) async fn get(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::Oauth2ProviderRootPath>,
    query: Query<params::Oauth2ProviderRootQuery>,
) -> Answer {
    let ctx = rqctx.context();
    let slug = path.into_inner().application_slug;
    match slug.as_str() {
        "authorize" => {
            let q = query.into_inner();
            let query = AuthorizeQuery {
                client_id: q.client_id,
                redirect_uri: q.redirect_uri,
                response_type: q.response_type,
                scope: q.scope,
                state: q.state,
                nonce: q.nonce,
                code_challenge: q.code_challenge,
                code_challenge_method: q.code_challenge_method,
                prompt: q.prompt,
                max_age: q.max_age,
                response_mode: q.response_mode,
            };
            let key = super::flows::session_key(rqctx);
            let uri = rqctx.request.uri();
            let full_path = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
            let raw_query = uri.query().unwrap_or_default().to_owned();
            serve(rqctx, "oauth2_provider_authorize", async |request, request_id| {
                let (answer, cookie) =
                    ctx.flows().authorize(request, &query, key.as_deref(), &full_path, &raw_query).await?;
                Ok(super::flows::with_cookie(rqctx, response::authorization(answer, request_id)?, &cookie))
            })
            .await
        }
        "userinfo" => {
            serve(rqctx, "oauth2_provider_userinfo", async |request, _| {
                response::userinfo(ctx.oauth2().userinfo(request).await?)
            })
            .await
        }
        literal @ ("token" | "introspect" | "revoke" | "device") => {
            let operation_id = format!("oauth2_provider_{literal}");
            serve(rqctx, &operation_id, async |_, request_id| response::method_not_allowed("POST", true, request_id))
                .await
        }
        _ => {
            serve(rqctx, "oauth2_provider_root", async |_, _| response::provider_root(&OAuth2::provider_root(&slug)))
                .await
        }
    }
}

/// `POST /application/o/{slug}/`: token/, introspect/, revoke/ and device/.
pub(super) async fn post(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::Oauth2ProviderDevicePath>,
    body: UntypedBody,
) -> Answer {
    let ctx = rqctx.context();
    let form = form(rqctx, &body);
    let secret = |value: Option<String>| value.map(Secret::new);
    match path.into_inner().application_slug.as_str() {
        "token" => {
            let form = TokenForm {
                grant_type: form.grant_type,
                client_id: form.client_id,
                client_secret: secret(form.client_secret),
                code: form.code,
                redirect_uri: form.redirect_uri,
                code_verifier: form.code_verifier,
                refresh_token: secret(form.refresh_token),
                scope: form.scope,
                username: form.username,
                password: secret(form.password),
                client_assertion_type: form.client_assertion_type,
                device_code: form.device_code,
            };
            serve(rqctx, "oauth2_provider_token", async |request, request_id| {
                let (outcome, grant) = ctx.oauth2().token(request, &form).await?;
                if let TokenOutcome::Refused(refusal) = &outcome {
                    slog::info!(rqctx.log, "grant refused";
                        "operation_id" => "oauth2_provider_token", "grant_type" => grant,
                        "error" => refusal.error.code(), "reason" => &refusal.reason);
                }
                let written = response::token_outcome(outcome, request_id)?;
                ctx.metrics.grant(grant, written.status().as_u16());
                Ok(written)
            })
            .await
        }
        "device" => {
            let ident = client_ident(rqctx);
            let (client_id, scope) = (form.client_id, form.scope);
            serve(rqctx, "oauth2_provider_device", async |request, request_id| {
                let throttle = (&ctx.device_throttle, ident.as_str());
                let oauth2 = ctx.oauth2();
                let answer =
                    oauth2.device_authorization(request, throttle, client_id.as_deref(), scope.as_deref()).await?;
                if let DeviceAuthorization::Refused(refusal) = &answer {
                    slog::info!(rqctx.log, "device authorization refused";
                        "operation_id" => "oauth2_provider_device", "error" => refusal.error.code(),
                        "reason" => &refusal.reason);
                }
                response::device_authorization(answer, request_id)
            })
            .await
        }
        literal @ ("introspect" | "revoke") => {
            let (token, client_id, client_secret) = (secret(form.token), form.client_id, secret(form.client_secret));
            let (token, secret) = (token.as_ref(), client_secret.as_ref());
            if literal == "introspect" {
                serve(rqctx, "oauth2_provider_introspect", async |request, _| {
                    response::introspection(
                        ctx.oauth2().introspect(request, token, client_id.as_deref(), secret).await?,
                    )
                })
                .await
            } else {
                serve(rqctx, "oauth2_provider_revoke", async |request, request_id| {
                    let outcome = ctx.oauth2().revoke(request, token, client_id.as_deref(), secret).await?;
                    response::revocation(outcome, request_id)
                })
                .await
            }
        }
        literal => {
            let (operation_id, json_body) = match literal {
                "authorize" => ("oauth2_provider_authorize", true),
                "userinfo" => ("oauth2_provider_userinfo", false),
                _ => ("oauth2_provider_root", true),
            };
            serve(rqctx, operation_id, async |_, request_id| response::method_not_allowed("GET", json_body, request_id))
                .await
        }
    }
}

/// `GET /application/o/{slug}/jwks/`.
pub(super) async fn jwks(rqctx: &RequestContext<ServerContext>, path: Path<params::Oauth2ProviderJwksPath>) -> Answer {
    let slug = path.into_inner().application_slug;
    serve(rqctx, "oauth2_provider_jwks", async |_, request_id| {
        response::jwks(rqctx.context().oauth2().jwks(&slug).await?, request_id)
    })
    .await
}

/// `GET /application/o/{slug}/.well-known/openid-configuration`.
pub(super) async fn openid_configuration(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::Oauth2ProviderOpenidConfigurationPath>,
) -> Answer {
    let slug = path.into_inner().application_slug;
    serve(rqctx, "oauth2_provider_openid_configuration", async |request, request_id| {
        response::openid_configuration(rqctx.context().oauth2().openid_configuration(request, &slug).await?, request_id)
    })
    .await
}

/// `GET /application/o/{slug}/end-session/`: the parameters from the query, which the redirect passes on.
pub(super) async fn end_session_get(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::Oauth2ProviderEndSessionPath>,
    query: Query<params::Oauth2ProviderEndSessionQuery>,
) -> Answer {
    let q = query.into_inner();
    let params = EndSessionParams {
        id_token_hint: q.id_token_hint,
        post_logout_redirect_uri: q.post_logout_redirect_uri,
        state: q.state,
    };
    let raw_query = rqctx.request.uri().query().unwrap_or_default().to_owned();
    end_session(rqctx, "oauth2_provider_end_session", &path.into_inner().application_slug, &params, &raw_query).await
}

/// `POST /application/o/{slug}/end-session/`: the parameters from the form (`request.POST`); the redirect carries
/// the request's query string (`request.GET`), usually empty for a form post.
pub(super) async fn end_session_post(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::Oauth2ProviderEndSessionPostPath>,
    body: UntypedBody,
) -> Answer {
    let fields = post_form(rqctx, &body);
    let field = |name: &str| fields.get(name).cloned();
    let params = EndSessionParams {
        id_token_hint: field("id_token_hint"),
        post_logout_redirect_uri: field("post_logout_redirect_uri"),
        state: field("state"),
    };
    let raw_query = rqctx.request.uri().query().unwrap_or_default().to_owned();
    end_session(rqctx, "oauth2_provider_end_session_post", &path.into_inner().application_slug, &params, &raw_query)
        .await
}

async fn end_session(
    rqctx: &RequestContext<ServerContext>,
    operation_id: &str,
    slug: &str,
    params: &EndSessionParams,
    raw_query: &str,
) -> Answer {
    let ctx = rqctx.context();
    let key = super::flows::session_key(rqctx);
    let client = super::flows::client(rqctx);
    serve(rqctx, operation_id, async |request, _| {
        let (answer, cookie) = ctx.flows().end_session(request, slug, params, key.as_deref(), &client).await?;
        Ok(super::flows::with_cookie(rqctx, response::end_session(answer, raw_query)?, &cookie))
    })
    .await
}
