//! Command-line flags and their `TOKENSTACK_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

/// tokenstack: authentik and NetBird token APIs for tests and CI.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "tokenstack", version, about)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TOKENSTACK_BIND", default_value = "127.0.0.1:9000")]
    pub bind: SocketAddr,

    /// YAML seed file with users, providers and tokens of both products (see examples/seed.yaml).
    #[arg(long, env = "TOKENSTACK_SEED")]
    pub seed: Option<PathBuf>,

    /// Where tokens live: `memory` (default), `sqlite:PATH` (durable, one node) or
    /// `postgres://user@host:port/db` (durable, shared by replicas).
    #[arg(long, env = "TOKENSTACK_STORE", default_value = "memory")]
    pub store: String,

    /// Log level: trace, debug, info, warn, error or critical.
    #[arg(long, env = "TOKENSTACK_LOG_LEVEL", default_value = "info")]
    pub log_level: LogLevel,

    /// Key of the bootstrap authentik token of the superuser `akadmin` (generated and printed when unset).
    #[arg(long = "bootstrap-token", env = "TOKENSTACK_BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub bootstrap_token: Option<String>,

    /// NetBird PAT (`nbp_…`, 40 characters) of the bootstrap owner (generated and printed when unset).
    #[arg(long = "bootstrap-pat", env = "TOKENSTACK_BOOTSTRAP_PAT", hide_env_values = true)]
    pub bootstrap_pat: Option<String>,

    /// NetBird user id of the bootstrap owner.
    #[arg(long = "bootstrap-user", env = "TOKENSTACK_BOOTSTRAP_USER", default_value = "admin")]
    pub bootstrap_user: String,

    /// Token of the admin API under `/_tokenstack/` (`Authorization: Bearer <token>`); the admin API is
    /// disabled (404) when unset.
    #[arg(long = "admin-token", env = "TOKENSTACK_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Validate every response against spec/openapi.json before it leaves; a violation is logged and
    /// answered as a 500.
    #[arg(long = "validate-responses", env = "TOKENSTACK_VALIDATE_RESPONSES")]
    pub validate_responses: bool,
}

/// The log levels Dropshot's logger understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

impl LogLevel {
    pub(crate) fn dropshot(self) -> dropshot::ConfigLoggingLevel {
        use dropshot::ConfigLoggingLevel as Level;
        match self {
            LogLevel::Trace => Level::Trace,
            LogLevel::Debug => Level::Debug,
            LogLevel::Info => Level::Info,
            LogLevel::Warn => Level::Warn,
            LogLevel::Error => Level::Error,
            LogLevel::Critical => Level::Critical,
        }
    }
}
