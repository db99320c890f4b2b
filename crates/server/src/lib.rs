//! tokenstack-server: the stores, the authentik and NetBird rules, and the Dropshot server that serves them.
//!
//! Layers, outermost first: [`http`] (the only module that knows Dropshot and the wire types) calls
//! [`authentik`] and [`netbird`] (the upstream rules), which call a [`store::Store`] (no HTTP knowledge).

pub(crate) mod admin;
pub(crate) mod authentik;
pub mod config;
pub mod expiry;
pub(crate) mod faults;
pub mod healthcheck;
pub(crate) mod http;
pub mod logging;
pub(crate) mod metrics;
pub(crate) mod netbird;
pub mod seed;
#[cfg(test)]
mod test_rows;

// The model and the stores live in `tokenstack-store` (below the rules and HTTP, which the compiler keeps);
// these paths are the server's names for them.
pub use tokenstack_store as store;
pub use tokenstack_store::{model, pagination, secrets};

use std::sync::Arc;

use dropshot::{ConfigDropshot, ConfigTls, HandlerTaskMode, HttpServer, ServerBuilder};

use crate::admin::AdminState;
use crate::config::Config;
use crate::http::validate::ResponseValidator;
use crate::http::{ServerContext, ServerImpl};
use crate::seed::{Bootstrap, SeedError, SeedFile};
use crate::store::{Store, StoreError};

/// The shortest admin token accepted (`--admin-token`): a guessable one would open the whole state.
pub const ADMIN_TOKEN_MIN_CHARS: usize = 32;

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
    #[error("cannot create the OAuth2 provider's signing keys: {0}")]
    SigningKeys(String),
    /// A setting's value is unusable; `origin` names where it came from (`--admin-token`, `TOKENSTACK_ADMIN_TOKEN`
    /// or the file's key, [`config::Origins`]).
    #[error("{origin}: {problem}")]
    Setting { origin: String, problem: String },
    #[error("--validate-responses: {0}")]
    Validator(#[from] crate::http::validate::ValidatorError),
    /// `message` names the OS error and, for a busy port, how to pick a free one.
    #[error("cannot start the HTTP server on {bind}: {message}")]
    Listen { bind: std::net::SocketAddr, message: String },
    /// A failure after generated bootstrap credentials were stored: they stay valid, so whoever started the
    /// server must still see them ([`StartError::generated_credentials`]).
    #[error("{error}")]
    AfterBootstrap { error: Box<StartError>, bootstrap: Box<Bootstrap> },
}

impl StartError {
    /// A bad setting (exit status 2, as a usage error), rather than a failure of the environment (exit status 1).
    pub fn is_configuration(&self) -> bool {
        match self {
            StartError::AfterBootstrap { error, .. } => error.is_configuration(),
            StartError::Seed(error) => !matches!(error, SeedError::Store(_)),
            error => matches!(error, StartError::Setting { .. }),
        }
    }

    /// The credentials this failed start generated and stored, which the next start keeps.
    pub fn generated_credentials(&self) -> Option<&Bootstrap> {
        match self {
            StartError::AfterBootstrap { bootstrap, .. } => Some(bootstrap),
            _ => None,
        }
    }
}

/// A running server and the credentials to use it with.
pub struct Running {
    pub server: HttpServer<ServerContext>,
    pub bootstrap: Bootstrap,
    /// The expiry sweep, when enabled; aborted on shutdown.
    pub sweeper: Option<tokio::task::JoinHandle<()>>,
    /// The making of the stand-in key pairs, when the store had none; aborted on shutdown.
    pub key_pairs: Option<tokio::task::JoinHandle<()>>,
    /// Writes the log lines still buffered (shutdown does it too).
    pub log: logging::LogFlush,
}

impl Running {
    /// Graceful shutdown: stop accepting, give in-flight requests `timeout` to finish, stop the sweep,
    /// close the store.
    pub async fn shutdown(self, timeout: std::time::Duration) -> Result<(), String> {
        if let Some(sweeper) = &self.sweeper {
            sweeper.abort();
        }
        if let Some(task) = &self.key_pairs {
            task.abort();
        }
        let store = self.server.app_private().store.clone();
        let closed = tokio::time::timeout(timeout, self.server.close()).await;
        store.close().await;
        self.log.flush();
        match closed {
            Ok(result) => result,
            Err(_) => Err(format!("in-flight requests did not finish within {}s", timeout.as_secs())),
        }
    }
}

/// Why Dropshot could not start: its message with the OS error underneath (Dropshot's own message leaves it out)
/// and, for a port in use, how to get a free one.
fn listen_failure(bind: std::net::SocketAddr, err: &dropshot::BuildError) -> String {
    let mut message = err.to_string();
    let mut cause = std::error::Error::source(err);
    let mut in_use = false;
    while let Some(error) = cause {
        message.push_str(": ");
        message.push_str(&error.to_string());
        in_use |= error.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::AddrInUse);
        cause = error.source();
    }
    if in_use {
        let free = std::net::SocketAddr::new(bind.ip(), 0);
        message.push_str(&format!(" (another process listens there; pass --bind {free} to pick a free port)"));
    }
    message
}

/// Builds the store from the seed and bootstrap settings, then starts serving on `config.bind`.
pub async fn start(config: &Config) -> Result<Running, StartError> {
    store::StoreUrl::parse(&config.store)
        .map_err(|error| StartError::Setting { origin: config.origins.name("store"), problem: error.to_string() })?;
    let store: Arc<dyn Store> = store::open(&config.store).await.map_err(StartError::Store)?;
    start_with_store(config, store).await
}

/// [`start`] on a store the caller opened (and may have bulk-loaded, as `tokenstack-bench` does);
/// `config.store` is ignored.
pub async fn start_with_store(config: &Config, store: Arc<dyn Store>) -> Result<Running, StartError> {
    let (log, log_flush) = logging::logger(config.log_format, config.log_level).map_err(StartError::Logger)?;
    let mut context = ServerContext::new(store.clone());
    context.limits = config.limits();
    if let Some(path) = &config.seed {
        let env = |name: &str| std::env::var(name).ok();
        let options = seed::blueprint::Options { skip_unknown: config.blueprint_skip_unknown, env: &env };
        let (seed, warnings) = SeedFile::load_any(path, &options, context.now())?;
        for warning in warnings {
            slog::warn!(log, "{}", warning; "seed" => %path.display());
        }
        seed::seed_if_empty(&*store, seed.snapshot(context.now())?).await?;
    }
    if config.netbird_setup && config.bootstrap_pat.is_some() {
        let problem = "cannot be given with --netbird-setup (TOKENSTACK_NETBIRD_SETUP), which starts without an owner";
        return Err(StartError::Setting { origin: config.origins.name("bootstrap_pat"), problem: problem.into() });
    }
    context.setup_pat_enabled = config.setup_pat_enabled;
    let new_admin =
        seed::AdminBootstrap { email: config.bootstrap_email.clone(), password: config.bootstrap_password.clone() };
    let bootstrap = seed::bootstrap_with_admin(
        &*store,
        context.now(),
        config.bootstrap_token.as_ref().map(|key| key.expose().to_string()),
        config.bootstrap_pat.as_ref().map(|pat| pat.expose().to_string()),
        (!config.netbird_setup).then_some(config.bootstrap_user.as_str()),
        &new_admin,
    )
    .await?;
    let generated = bootstrap.authentik_generated || bootstrap.netbird_generated;
    match start_bootstrapped(config, store, context, bootstrap.clone(), log, log_flush).await {
        Err(error) if generated => {
            Err(StartError::AfterBootstrap { error: Box::new(error), bootstrap: Box::new(bootstrap) })
        }
        started => started,
    }
}

/// The rest of [`start_with_store`], once the bootstrap credentials are stored.
async fn start_bootstrapped(
    config: &Config,
    store: Arc<dyn Store>,
    mut context: ServerContext,
    bootstrap: Bootstrap,
    log: slog::Logger,
    log_flush: logging::LogFlush,
) -> Result<Running, StartError> {
    authentik::ensure_scope_mappings(&*store).await.map_err(StartError::Store)?;
    let mut key_pairs_sink = None;
    if let Some(token) = &config.admin_token {
        // The admin credential must be hard to guess and never double as an upstream one. It is trimmed, as
        // the presented token is.
        let token = token.expose().trim();
        if token.chars().count() < ADMIN_TOKEN_MIN_CHARS {
            let problem = "must be at least 32 characters long (spaces around it do not count)";
            return Err(StartError::Setting { origin: config.origins.name("admin_token"), problem: problem.into() });
        }
        if token == bootstrap.authentik_key.expose()
            || bootstrap.netbird_pat.as_ref().is_some_and(|p| p.expose() == token)
        {
            let problem = "must differ from the bootstrap token and PAT";
            return Err(StartError::Setting { origin: config.origins.name("admin_token"), problem: problem.into() });
        }
        let initial = store.export().await.map_err(StartError::Store)?;
        let admin = AdminState::new(secrets::Secret::new(token.to_string()), initial, bootstrap.clone())
            .with_blueprint_skip_unknown(config.blueprint_skip_unknown);
        key_pairs_sink = Some(admin.key_pairs_sink());
        context.enable_admin(admin);
    }
    // Made after the server listens (an RSA key is most of start-up); what reads key pairs waits for them.
    let key_pairs = authentik::oauth2::spawn_key_pairs(store.clone(), log.clone(), move |pairs| {
        if let Some(sink) = key_pairs_sink {
            sink(pairs);
        }
    })
    .await
    .map_err(|e| StartError::SigningKeys(e.to_string()))?
    .map(|(task, ready)| {
        context.wait_for_key_pairs(ready);
        task
    });
    if config.validate_responses {
        context.enable_validation(ResponseValidator::shared()?);
    }
    context.authorize_as = Some(config.authorize_as.clone()).filter(|u| !u.is_empty());
    let rate = config.device_throttle.parse::<authentik::oauth2::Rate>();
    let rate =
        rate.map_err(|problem| StartError::Setting { origin: config.origins.name("device_throttle"), problem })?;
    context.device_throttle = authentik::oauth2::DeviceThrottle::new(rate);

    let api = http::api_description::<ServerImpl>().map_err(|err| StartError::Api(err.to_string()))?;
    let dropshot = ConfigDropshot {
        bind_address: config.bind,
        // Dropshot's default is 1 KiB; an oversize body gets the operation's upstream error shape.
        default_request_body_max_bytes: config.max_body_bytes,
        default_handler_task_mode: HandlerTaskMode::Detached,
        log_headers: Vec::new(),
        ..Default::default()
    };
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert_file), Some(key_file)) => {
            Some(ConfigTls::AsFile { cert_file: cert_file.clone(), key_file: key_file.clone() })
        }
        _ => None,
    };
    let clock = context.clock();
    let server = ServerBuilder::new(api, context, log.clone()).config(dropshot).tls(tls).start().map_err(|err| {
        if let Some(task) = &key_pairs {
            task.abort();
        }
        StartError::Listen { bind: config.bind, message: listen_failure(config.bind, &err) }
    })?;
    // Started only once the server runs, so a failed start leaves no task behind.
    let sweeper = (config.expiry_interval > 0).then(|| {
        let interval = std::time::Duration::from_secs(config.expiry_interval);
        expiry::spawn(store.clone(), clock, interval, log)
    });
    Ok(Running { server, bootstrap, sweeper, key_pairs, log: log_flush })
}
