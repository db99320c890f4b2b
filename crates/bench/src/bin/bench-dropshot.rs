//! The minimal Dropshot 0.18 endpoint: `GET /api/v3/core/tokens/{identifier}/` serializes a
//! `tokenstack_api::types::Token` found in a `HashMap` (`--body FILE` holds its JSON).
//!
//! Dropshot's defaults (`Detached` handler tasks, no header logging) and a terminal logger at the
//! level of `--log-level` (default `warn`, as the tokenstack benchmark runs). The endpoint is
//! registered with `ApiEndpoint::new` rather than the `#[endpoint]` macro: only the generator emits that.

use std::collections::HashMap;

use dropshot::{
    ApiDescription, ApiEndpoint, ApiEndpointVersions, ConfigDropshot, ConfigLogging, ConfigLoggingLevel,
    HandlerTaskMode, HttpError, HttpResponseOk, Path, RequestContext, ServerBuilder,
};
use schemars::JsonSchema;
use serde::Deserialize;
use tokenstack_api::types::Token;

#[derive(Deserialize, JsonSchema)]
struct TokenPath {
    identifier: String,
}

async fn retrieve(
    rqctx: RequestContext<HashMap<String, Token>>,
    path: Path<TokenPath>,
) -> Result<HttpResponseOk<Token>, HttpError> {
    let identifier = path.into_inner().identifier;
    rqctx
        .context()
        .get(&identifier)
        .cloned()
        .map(HttpResponseOk)
        .ok_or_else(|| HttpError::for_not_found(None, identifier))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = tokenstack_bench::arg("--body").ok_or_else(|| anyhow::anyhow!("--body FILE is required"))?;
    let token: Token = serde_json::from_slice(&std::fs::read(path)?)?;
    let tokens = HashMap::from([(token.identifier.clone(), token)]);
    let level = match tokenstack_bench::arg("--log-level").as_deref() {
        Some("info") => ConfigLoggingLevel::Info,
        Some("critical") => ConfigLoggingLevel::Critical,
        _ => ConfigLoggingLevel::Warn,
    };
    let log = ConfigLogging::StderrTerminal { level }.to_logger("bench-dropshot")?;
    let mut api = ApiDescription::new();
    api.register(ApiEndpoint::new(
        "core_tokens_retrieve".to_string(),
        retrieve,
        http::Method::GET,
        "application/json",
        "/api/v3/core/tokens/{identifier}/",
        ApiEndpointVersions::All,
    ))
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    // `--task-mode cancel`: `CancelOnDisconnect` (no per-request task spawn), to measure what it saves.
    let default_handler_task_mode = match tokenstack_bench::arg("--task-mode").as_deref() {
        Some("cancel") => HandlerTaskMode::CancelOnDisconnect,
        _ => HandlerTaskMode::Detached,
    };
    let config =
        ConfigDropshot { bind_address: tokenstack_bench::bind()?, default_handler_task_mode, ..Default::default() };
    let server = ServerBuilder::new(api, tokens, log).config(config).start().map_err(|e| anyhow::anyhow!("{e}"))?;
    tokenstack_bench::ready(&serde_json::json!({ "addr": server.local_addr().to_string() }));
    server.await.map_err(anyhow::Error::msg)
}
