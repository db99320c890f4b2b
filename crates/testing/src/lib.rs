//! tokenstack in-process for Rust tests, in one line: `TestServer::start().await`.
//!
//! A [`TestServer`] runs the real server (`tokenstack_server::start`) on `127.0.0.1:0` inside the test's
//! tokio runtime, with the admin API on, and hands out generated clients that are already authenticated:
//!
//! ```no_run
//! # async fn example() {
//! let server = tokenstack_testing::TestServer::start().await;
//! let body = tokenstack_client::types::TokenRequest::builder().identifier("ci-deploy");
//! let token = server.superuser().core_tokens_create().body(body).send().await.unwrap();
//! assert_eq!(token.identifier.as_str(), "ci-deploy");
//! # }
//! ```
//!
//! [`TestServer::builder`] sets the store, a seed, fixed credentials, the clock offset and fault rules;
//! [`TestServer::reset`], [`load`](TestServer::load), [`export`](TestServer::export),
//! [`set_clock_offset`](TestServer::set_clock_offset) and [`set_faults`](TestServer::set_faults) go through
//! the admin API (`/_tokenstack/`). The server stops when the `TestServer` is dropped.

#[cfg(feature = "testcontainers")]
pub mod container;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use tokenstack_client::{Client, types};
use tokenstack_server::Running;
use tokenstack_server::config::{Config, LogFormat, LogLevel};
use tokenstack_server::secrets::Secret;

/// What went wrong starting or driving a [`TestServer`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot build the configuration: {0}")]
    Config(#[from] tokenstack_server::config::ConfigError),
    #[error("cannot write the seed document to {path}: {source}")]
    SeedFile { path: PathBuf, source: std::io::Error },
    #[error("cannot start tokenstack: {0}")]
    Start(#[from] tokenstack_server::StartError),
    #[error("cannot build an HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{what} is not a valid header value")]
    Header { what: &'static str },
    #[error("a seed document is a JSON object or the YAML text of a seed file or blueprint, not {0}")]
    SeedDocument(String),
    #[error("invalid fault rule: {0}")]
    FaultRule(String),
    /// An admin operation failed: `status` is the HTTP status when the server answered.
    #[error("{operation}: {detail}")]
    Admin { operation: &'static str, status: Option<u16>, detail: String },
    #[error("the server did not shut down cleanly: {0}")]
    Shutdown(String),
    /// The container of [`container::TokenstackContainer`] did not start or become ready.
    #[cfg(feature = "testcontainers")]
    #[error("cannot start the tokenstack container: {0}")]
    Container(String),
}

/// A tokenstack server of the test's own, on `127.0.0.1:0`; stopped on drop.
pub struct TestServer {
    base_url: String,
    authentik_key: String,
    netbird_pat: String,
    netbird_user: String,
    admin_token: Option<String>,
    superuser: Client,
    owner: Client,
    admin: Client,
    running: Option<Running>,
}

/// Settings of a [`TestServer`] before it starts: [`TestServer::builder`].
#[must_use]
pub struct Builder {
    config: Config,
    seed_document: Option<serde_json::Value>,
    clock_offset: Option<i64>,
    faults: Vec<types::FaultRule>,
    invalid_fault: Option<String>,
}

impl TestServer {
    /// A server with an empty memory store (the bootstrap superuser `akadmin` and NetBird owner `admin` only),
    /// generated credentials and the admin API on.
    ///
    /// Panics if the server cannot start; [`Builder::try_start`] returns the error instead.
    pub async fn start() -> TestServer {
        TestServer::builder().start().await
    }

    /// Settings for a server: store, seed, credentials, clock offset, faults.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The server root, `http://127.0.0.1:PORT` (every path of the API is absolute, so this is the base URL
    /// of the generated client; the authentik API is under `/api/v3`, NetBird's under `/api`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Key of the bootstrap token `authentik-bootstrap-token` of the superuser `akadmin` (as authentik's
    /// `AUTHENTIK_BOOTSTRAP_TOKEN`).
    pub fn authentik_key(&self) -> &str {
        &self.authentik_key
    }

    /// PAT of the bootstrap NetBird owner.
    pub fn netbird_pat(&self) -> &str {
        &self.netbird_pat
    }

    /// NetBird user id of the bootstrap owner (`admin` unless [`Builder::netbird_user`] changed it).
    pub fn netbird_user(&self) -> &str {
        &self.netbird_user
    }

    /// Bearer token of the admin API, `None` when a [`Builder::config`] adjustment turned the API off.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    /// A client authenticated as the authentik superuser `akadmin` (`Authorization: Bearer <key>`).
    pub fn superuser(&self) -> &Client {
        &self.superuser
    }

    /// A client authenticated as the NetBird owner (`Authorization: Token <pat>`, as NetBird's own client).
    pub fn owner(&self) -> &Client {
        &self.owner
    }

    /// A client of the admin API (`Authorization: Bearer <admin token>`).
    pub fn admin(&self) -> &Client {
        &self.admin
    }

    /// A client for authentik as the holder of `key`.
    ///
    /// Panics if `key` cannot be a header value.
    pub fn authentik(&self, key: &str) -> Client {
        self.client(&format!("Bearer {key}"))
    }

    /// A client for NetBird as the holder of `pat`.
    ///
    /// Panics if `pat` cannot be a header value.
    pub fn netbird(&self, pat: &str) -> Client {
        self.client(&format!("Token {pat}"))
    }

    /// A client sending `Authorization: <authorization>` with every request.
    ///
    /// Panics if `authorization` cannot be a header value.
    pub fn client(&self, authorization: &str) -> Client {
        client(&self.base_url, Some(authorization)).expect("the Authorization header is a valid header value")
    }

    /// Back to the state right after start-up (seed plus bootstrap credentials). Like the admin API's reset,
    /// this keeps the clock offset and the fault rules.
    pub async fn reset(&self) -> Result<(), Error> {
        self.admin.admin_reset().send().await.map_err(admin_error("admin_reset"))?;
        Ok(())
    }

    /// Replaces the whole state with a seed document (the `--seed` format as JSON) or an authentik blueprint
    /// (as JSON), or with the YAML text of either given as a JSON string (a blueprint's tags exist only in YAML),
    /// then re-applies the bootstrap credentials.
    pub async fn load(&self, seed: serde_json::Value) -> Result<(), Error> {
        let document = match seed {
            serde_json::Value::Object(_) | serde_json::Value::String(_) => seed,
            other => return Err(Error::SeedDocument(json_kind(&other).to_string())),
        };
        // Sent as given rather than through the typed `SeedDocument`, so that the server's seed loader, not the
        // client's deserializer, judges the document (a bad one is the server's 400 with its message).
        use tokenstack_client::ClientInfo as _;
        let url = format!("{}/_tokenstack/state", self.admin.baseurl());
        let response = self.admin.client().put(url).json(&document).send().await.map_err(|err| Error::Admin {
            operation: "admin_state_load",
            status: None,
            detail: err.to_string(),
        })?;
        let status = response.status().as_u16();
        if status != 204 {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let message = body["message"].as_str().unwrap_or_default();
            return Err(Error::Admin {
                operation: "admin_state_load",
                status: Some(status),
                detail: format!("{status} {message}"),
            });
        }
        Ok(())
    }

    /// The whole state as a seed document; [`load`](TestServer::load) restores it exactly.
    pub async fn export(&self) -> Result<serde_json::Value, Error> {
        let document = self.admin.admin_state_export().send().await.map_err(admin_error("admin_state_export"))?;
        Ok(serde_json::to_value(document.into_inner()).expect("a typed seed document serializes"))
    }

    /// Moves the server's clock `seconds` ahead of the wall clock (negative: back); 0 is the wall clock.
    pub async fn set_clock_offset(&self, seconds: i64) -> Result<(), Error> {
        set_clock_offset(&self.admin, seconds).await
    }

    /// A NetBird agent joins with `setup_key` as `hostname` (`POST /_tokenstack/netbird/peers`, what the
    /// management server does on a setup-key login): the peer as `GET /api/peers/{id}` shows it. A refused key is
    /// [`Error::Admin`] with the management server's status and message.
    pub async fn join_peer(&self, setup_key: &str, hostname: &str) -> Result<types::Peer, Error> {
        let body = types::AdminNetbirdPeerJoin::builder().setup_key(setup_key).hostname(hostname);
        let peer = self.admin.admin_netbird_peers_create().body(body).send().await;
        Ok(peer.map_err(admin_error("admin_netbird_peers_create"))?.into_inner())
    }

    /// Replaces the fault rules (an empty list turns faults off). Each rule is a [`types::FaultRule`] or its
    /// builder: `types::FaultRule::builder().operation_id("core_tokens_list").error_rate(1.0)`.
    pub async fn set_faults<R>(&self, rules: impl IntoIterator<Item = R>) -> Result<(), Error>
    where
        R: TryInto<types::FaultRule>,
        R::Error: std::fmt::Display,
    {
        let rules = fault_rules(rules)?;
        set_faults(&self.admin, rules).await
    }

    /// Stops the server gracefully, giving in-flight requests a few seconds (dropping it also stops it).
    pub async fn stop(mut self) -> Result<(), Error> {
        match self.running.take() {
            Some(running) => running.shutdown(Duration::from_secs(5)).await.map_err(Error::Shutdown),
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            if let Some(sweeper) = &running.sweeper {
                sweeper.abort();
            }
            // Dropping Dropshot's server sends its close signal: it stops accepting and closes idle connections.
            drop(running);
        }
    }
}

impl Builder {
    fn new() -> Builder {
        Builder {
            config: base_config(),
            seed_document: None,
            clock_offset: None,
            faults: Vec::new(),
            invalid_fault: None,
        }
    }

    /// Where the state lives: `memory` (the default), `sqlite:PATH` or `postgres://…` (as `--store`).
    pub fn store(mut self, url: impl Into<String>) -> Builder {
        self.config.store = url.into();
        self
    }

    /// A seed file (YAML, the `--seed` format; `examples/seed.yaml` shows every key).
    pub fn seed(mut self, path: impl Into<PathBuf>) -> Builder {
        self.config.seed = Some(path.into());
        self.seed_document = None;
        self
    }

    /// A seed document (the `--seed` format as JSON). Like a seed file, it is the state that
    /// [`TestServer::reset`] returns to.
    pub fn seed_document(mut self, document: serde_json::Value) -> Builder {
        self.config.seed = None;
        self.seed_document = Some(document);
        self
    }

    /// The bootstrap authentik key instead of a generated one.
    pub fn authentik_key(mut self, key: impl Into<String>) -> Builder {
        self.config.bootstrap_token = Some(Secret::new(key));
        self
    }

    /// The bootstrap NetBird PAT instead of a generated one (40 characters, `nbp_`, a valid checksum).
    pub fn netbird_pat(mut self, pat: impl Into<String>) -> Builder {
        self.config.bootstrap_pat = Some(Secret::new(pat));
        self
    }

    /// The NetBird user id of the bootstrap owner (default `admin`).
    pub fn netbird_user(mut self, user: impl Into<String>) -> Builder {
        self.config.bootstrap_user = user.into();
        self
    }

    /// The admin API's token instead of a generated one (at least 32 characters).
    pub fn admin_token(mut self, token: impl Into<String>) -> Builder {
        self.config.admin_token = Some(Secret::new(token));
        self
    }

    /// The clock offset in seconds, set once the server runs.
    pub fn clock_offset(mut self, seconds: i64) -> Builder {
        self.clock_offset = Some(seconds);
        self
    }

    /// Fault rules, set once the server runs (see [`TestServer::set_faults`]).
    pub fn faults<R>(mut self, rules: impl IntoIterator<Item = R>) -> Builder
    where
        R: TryInto<types::FaultRule>,
        R::Error: std::fmt::Display,
    {
        match fault_rules(rules) {
            Ok(rules) => self.faults = rules,
            Err(err) => self.invalid_fault = Some(err.to_string()),
        }
        self
    }

    /// Log level of the server's log on stderr (default `warn`).
    pub fn log_level(mut self, level: LogLevel) -> Builder {
        self.config.log_level = level;
        self
    }

    /// Whether every response is validated against the spec, a violation answered as a 500 (default off:
    /// with it on, an injected fault status that the operation does not document is answered as a 500 too).
    pub fn validate_responses(mut self, validate: bool) -> Builder {
        self.config.validate_responses = validate;
        self
    }

    /// Any other setting of the server's [`Config`], applied last.
    pub fn config(mut self, adjust: impl FnOnce(&mut Config)) -> Builder {
        adjust(&mut self.config);
        self
    }

    /// Starts the server; panics with the reason if it cannot start.
    pub async fn start(self) -> TestServer {
        match self.try_start().await {
            Ok(server) => server,
            Err(err) => panic!("tokenstack test server: {err}"),
        }
    }

    /// Starts the server.
    pub async fn try_start(self) -> Result<TestServer, Error> {
        let Builder { mut config, seed_document, clock_offset, faults, invalid_fault } = self;
        if let Some(message) = invalid_fault {
            return Err(Error::FaultRule(message));
        }
        let running = match seed_document {
            None => tokenstack_server::start(&config).await?,
            Some(document) => {
                // The server reads seeds from files; JSON is YAML, so the document goes to a file for start-up.
                let path = SeedPath::write(&document)?;
                config.seed = Some(path.0.clone());
                tokenstack_server::start(&config).await?
            }
        };
        let base_url = format!("http://{}", running.server.local_addr());
        let bootstrap = &running.bootstrap;
        let authentik_key = bootstrap.authentik_key.expose().to_string();
        // A durable store that already held the bootstrap PAT keeps it; only a given or new one is known here.
        let netbird_pat = bootstrap.netbird_pat.as_ref().map(|pat| pat.expose().to_string()).unwrap_or_default();
        let admin_token = config.admin_token.as_ref().map(|token| token.expose().trim().to_string());
        let server = TestServer {
            superuser: client(&base_url, Some(&format!("Bearer {authentik_key}")))?,
            owner: client(&base_url, Some(&format!("Token {netbird_pat}")))?,
            admin: client(&base_url, admin_token.as_ref().map(|token| format!("Bearer {token}")).as_deref())?,
            netbird_user: bootstrap.netbird_user.clone(),
            base_url,
            authentik_key,
            netbird_pat,
            admin_token,
            running: Some(running),
        };
        if let Some(seconds) = clock_offset {
            set_clock_offset(&server.admin, seconds).await?;
        }
        if !faults.is_empty() {
            set_faults(&server.admin, faults).await?;
        }
        Ok(server)
    }
}

/// The defaults of a test server: port 0, memory store, quiet log, a generated admin token. Every setting that the `TOKENSTACK_*` environment could change is set here, so the environment of the
/// test run does not leak in (settings added to `Config` later come from its defaults).
fn base_config() -> Config {
    let defaults = Config::load_from(["tokenstack"]).unwrap_or_else(|err| panic!("tokenstack defaults: {err}"));
    Config {
        bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        seed: None,
        store: "memory".to_string(),
        log_level: LogLevel::Warn,
        log_format: LogFormat::Text,
        tls_cert: None,
        tls_key: None,
        expiry_interval: 60,
        shutdown_timeout: 5,
        max_body_bytes: 65536,
        bootstrap_token: None,
        bootstrap_pat: None,
        bootstrap_user: "admin".to_string(),
        bootstrap_email: tokenstack_server::seed::DEFAULT_ADMIN_EMAIL.to_string(),
        admin_token: Some(Secret::new(format!(
            "tokenstack-testing-admin-{}",
            tokenstack_server::secrets::generate_key()
        ))),
        validate_responses: false,
        ..defaults
    }
}

/// A seed document written to a file of its own for start-up, removed on drop.
struct SeedPath(PathBuf);

impl SeedPath {
    fn write(document: &serde_json::Value) -> Result<SeedPath, Error> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name =
            format!("tokenstack-testing-seed-{}-{}.json", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, document.to_string()).map_err(|source| Error::SeedFile { path: path.clone(), source })?;
        Ok(SeedPath(path))
    }
}

impl Drop for SeedPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub(crate) fn client(base_url: &str, authorization: Option<&str>) -> Result<Client, Error> {
    let mut headers = HeaderMap::new();
    if let Some(authorization) = authorization {
        let mut value =
            HeaderValue::from_str(authorization).map_err(|_| Error::Header { what: "the Authorization header" })?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    let http = reqwest::Client::builder().default_headers(headers).build()?;
    Ok(Client::new_with_client(base_url, http))
}

async fn set_clock_offset(admin: &Client, seconds: i64) -> Result<(), Error> {
    let body = types::ClockOffset { offset_seconds: seconds };
    admin.admin_clock_update().body(body).send().await.map_err(admin_error("admin_clock_update"))?;
    Ok(())
}

async fn set_faults(admin: &Client, rules: Vec<types::FaultRule>) -> Result<(), Error> {
    let body = types::FaultConfig { rules };
    admin.admin_faults_update().body(body).send().await.map_err(admin_error("admin_faults_update"))?;
    Ok(())
}

fn fault_rules<R>(rules: impl IntoIterator<Item = R>) -> Result<Vec<types::FaultRule>, Error>
where
    R: TryInto<types::FaultRule>,
    R::Error: std::fmt::Display,
{
    rules.into_iter().map(|rule| rule.try_into().map_err(|err| Error::FaultRule(err.to_string()))).collect()
}

/// Maps a generated-client error of an admin operation to [`Error::Admin`], with the server's message.
fn admin_error(operation: &'static str) -> impl FnOnce(tokenstack_client::Error<types::TokenstackError>) -> Error {
    move |err| match err {
        tokenstack_client::Error::ErrorResponse(response) => {
            let status = response.status().as_u16();
            Error::Admin { operation, status: Some(status), detail: format!("{status} {}", response.message) }
        }
        other => Error::Admin { operation, status: other.status().map(|s| s.as_u16()), detail: other.to_string() },
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
