//! Handlers of authentik's provider endpoints under `/application/o/`: the literal paths (authorize/, token/,
//! introspect/, revoke/, userinfo/) arrive through the route `/application/o/{application_slug}/` and are
//! dispatched on the literal; each runs one rule of `authentik::oauth2` and sends its [`Reply`] as given.

use std::collections::BTreeMap;

use dropshot::{Body, ErrorStatusCode, Path, Query, RequestContext, UntypedBody};
use tokenstack_api::{params, types};

use super::ServerContext;
use super::error::{OAuth2ResponseError, oauth2_error};
use super::observe::{authorization, observed_as};
use crate::authentik::oauth2::{AuthorizeQuery, ProviderRequest, Reply, TokenForm};
use crate::authentik::oidc::discovery::base_url;
use crate::secrets::Secret;

type Answer = Result<http::Response<Body>, OAuth2ResponseError>;

/// A reply as the HTTP response it describes.
fn into_response(reply: Reply) -> Answer {
    let mut builder = http::Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        builder = builder.header(*name, value);
    }
    let body = match reply.body {
        Some((content_type, body)) => {
            builder = builder.header(http::header::CONTENT_TYPE, content_type);
            Body::from(body)
        }
        None => Body::empty(),
    };
    builder.body(body).map_err(|e| {
        oauth2_error(ErrorStatusCode::INTERNAL_SERVER_ERROR, "server_error", "response").with_cause(e.to_string())
    })
}

/// Runs a provider rule for `operation_id` with the request's base URL, `Authorization` header and request id.
async fn serve<F>(rqctx: &RequestContext<ServerContext>, operation_id: &str, rule: F) -> Answer
where
    F: AsyncFnOnce(&ProviderRequest<'_>) -> Result<Reply, OAuth2ResponseError>,
{
    let headers = rqctx.request.headers();
    let server_addr = rqctx.server.local_addr.to_string();
    let base = base_url(
        rqctx.server.using_tls(),
        header_str(headers, "host"),
        header_str(headers, "x-forwarded-proto"),
        &server_addr,
    );
    // Django's DisallowedHost: its plain 400 page, before any view (and so outside the spec's responses).
    let Ok(base) = base else {
        return into_response(Reply {
            status: 400,
            headers: Vec::new(),
            body: Some(("text/html", "<h1>Bad Request (400)</h1>".to_owned())),
        });
    };
    let request =
        ProviderRequest { base_url: &base, authorization: authorization(rqctx), request_id: &rqctx.request_id };
    observed_as(rqctx, operation_id, rule(&request)).await.and_then(into_response)
}

fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The form of a POST as Django's `request.POST` reads it: only an `application/x-www-form-urlencoded` body is
/// one (anything else is an empty form), and the last of a repeated field wins.
fn form(rqctx: &RequestContext<ServerContext>, body: &UntypedBody) -> types::Oauth2ProviderIntrospectForm {
    let content_type = rqctx.request.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let is_form = content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return types::Oauth2ProviderIntrospectForm::default();
    }
    let fields: BTreeMap<String, String> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    serde_json::to_value(fields).and_then(serde_json::from_value).unwrap_or_default()
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
            };
            serve(rqctx, "oauth2_provider_authorize", async |request| {
                Ok(ctx.oauth2().authorize(request, &query).await?)
            })
            .await
        }
        "userinfo" => {
            serve(rqctx, "oauth2_provider_userinfo", async |request| Ok(ctx.oauth2().userinfo(request).await?)).await
        }
        literal @ ("token" | "introspect" | "revoke") => {
            let operation_id = format!("oauth2_provider_{literal}");
            serve(rqctx, &operation_id, async |request| Ok(Reply::method_not_allowed("POST", true, request.request_id)))
                .await
        }
        _ => {
            serve(rqctx, "oauth2_provider_root", async |_| Ok(crate::authentik::oauth2::OAuth2::provider_root(&slug)))
                .await
        }
    }
}

/// `POST /application/o/{slug}/`: token/, introspect/ and revoke/.
pub(super) async fn post(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::Oauth2ProviderIntrospectPath>,
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
            };
            serve(rqctx, "oauth2_provider_token", async |request| {
                let (reply, grant) = ctx.oauth2().token(request, &form).await?;
                ctx.metrics.grant(grant, reply.status);
                Ok(reply)
            })
            .await
        }
        literal @ ("introspect" | "revoke") => {
            let (token, client_id, client_secret) = (secret(form.token), form.client_id, secret(form.client_secret));
            let (token, secret) = (token.as_ref(), client_secret.as_ref());
            if literal == "introspect" {
                serve(rqctx, "oauth2_provider_introspect", async |request| {
                    Ok(ctx.oauth2().introspect(request, token, client_id.as_deref(), secret).await?)
                })
                .await
            } else {
                serve(rqctx, "oauth2_provider_revoke", async |request| {
                    Ok(ctx.oauth2().revoke(request, token, client_id.as_deref(), secret).await?)
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
            serve(rqctx, operation_id, async |request| {
                Ok(Reply::method_not_allowed("GET", json_body, request.request_id))
            })
            .await
        }
    }
}

/// `GET /application/o/{slug}/jwks/`.
pub(super) async fn jwks(rqctx: &RequestContext<ServerContext>, path: Path<params::Oauth2ProviderJwksPath>) -> Answer {
    let slug = path.into_inner().application_slug;
    serve(rqctx, "oauth2_provider_jwks", async |request| Ok(rqctx.context().oauth2().jwks(request, &slug).await?)).await
}

/// `GET /application/o/{slug}/.well-known/openid-configuration`.
pub(super) async fn openid_configuration(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::Oauth2ProviderOpenidConfigurationPath>,
) -> Answer {
    let slug = path.into_inner().application_slug;
    serve(rqctx, "oauth2_provider_openid_configuration", async |request| {
        Ok(rqctx.context().oauth2().openid_configuration(request, &slug).await?)
    })
    .await
}
