//! tokenstack-server: the stores, the authentik and NetBird rules, and the Dropshot server that serves them.
//!
//! Layers, outermost first: [`http`] (the only module that knows Dropshot and the wire types) calls
//! [`authentik`] and [`netbird`] (the upstream rules), which call a [`store::Store`] (no HTTP knowledge).

pub mod authentik;
pub mod config;
pub mod faults;
pub mod http;
pub mod metrics;
pub mod model;
pub mod netbird;
pub mod pagination;
pub mod secrets;
pub mod seed;
pub mod store;

use std::sync::Arc;

use dropshot::{ConfigDropshot, ConfigLogging, HandlerTaskMode, HttpServer, ServerBuilder};

use crate::config::Config;
use crate::http::validate::ResponseValidator;
use crate::http::{AdminState, ServerContext, ServerImpl};
use crate::seed::{Bootstrap, SeedError, SeedFile};
use crate::store::{Store, StoreError};

/// Largest request body accepted (Dropshot's default is 1 KiB).
pub const REQUEST_BODY_MAX_BYTES: usize = 64 * 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("cannot open the store: {0}")]
    Store(StoreError),
    #[error("cannot create the logger: {0}")]
    Logger(std::io::Error),
    #[error("the generated API description is invalid: {0}")]
    Api(String),
    #[error("--admin-token: {0}")]
    AdminToken(&'static str),
    #[error("--validate-responses: {0}")]
    Validator(#[from] crate::http::validate::ValidatorError),
    #[error("cannot start the HTTP server on {bind}: {message}")]
    Listen { bind: std::net::SocketAddr, message: String },
}

/// A running server and the credentials to use it with.
pub struct Running {
    pub server: HttpServer<ServerContext>,
    pub bootstrap: Bootstrap,
}

/// Builds the store from the seed and bootstrap settings, then starts serving on `config.bind`.
pub async fn start(config: &Config) -> Result<Running, StartError> {
    let log = ConfigLogging::StderrTerminal { level: config.log_level.dropshot() }
        .to_logger("tokenstack")
        .map_err(StartError::Logger)?;
    let store: Arc<dyn Store> = store::open(&config.store).await.map_err(StartError::Store)?;
    let mut context = ServerContext::new(store.clone());
    if let Some(path) = &config.seed {
        let snapshot = SeedFile::load(path)?.snapshot(context.now())?;
        seed::seed_if_empty(&*store, snapshot).await?;
    }
    let bootstrap = seed::bootstrap(
        &*store,
        context.now(),
        config.bootstrap_token.clone(),
        config.bootstrap_pat.clone(),
        &config.bootstrap_user,
    )
    .await?;

    if let Some(token) = &config.admin_token {
        // The admin credential must never double as an upstream one (or be guessable as empty).
        if token.trim().is_empty() {
            return Err(StartError::AdminToken("must not be empty"));
        }
        if token == bootstrap.authentik_key.expose() || token == bootstrap.netbird_pat.expose() {
            return Err(StartError::AdminToken("must differ from the bootstrap token and PAT"));
        }
        let initial = store.export().await.map_err(StartError::Store)?;
        context.enable_admin(AdminState::new(secrets::Secret::new(token.clone()), initial, bootstrap.clone()));
    }
    if config.validate_responses {
        context.enable_validation(ResponseValidator::shared()?);
    }

    let api = tokenstack_api::token_api_mod::api_description::<ServerImpl>()
        .map_err(|err| StartError::Api(err.to_string()))?;
    let dropshot = ConfigDropshot {
        bind_address: config.bind,
        default_request_body_max_bytes: REQUEST_BODY_MAX_BYTES,
        default_handler_task_mode: HandlerTaskMode::Detached,
        log_headers: Vec::new(),
        ..Default::default()
    };
    let server = ServerBuilder::new(api, context, log)
        .config(dropshot)
        .start()
        .map_err(|err| StartError::Listen { bind: config.bind, message: err.to_string() })?;
    Ok(Running { server, bootstrap })
}
