//! Command-line flags and their `TOKENSTACK_*` environment variables.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use serde::{Deserialize, Serialize};

use crate::secrets::Secret;

mod sources;

/// tokenstack: authentik and NetBird token APIs for tests and CI.
///
/// One definition for flags, environment and TOML: the file's keys are these fields' names (the flags' long names
/// with `_` for `-`); unknown keys are errors.
#[derive(Debug, Clone, clap::Parser, Serialize, Deserialize)]
#[command(name = "tokenstack", version, about)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// TOML configuration file (see examples/tokenstack.toml); flags and environment variables override it.
    #[arg(long, env = "TOKENSTACK_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TOKENSTACK_BIND", default_value = "127.0.0.1:9000")]
    pub bind: SocketAddr,

    /// YAML seed file with users, providers and tokens of both products (see examples/seed.yaml).
    #[arg(long, env = "TOKENSTACK_SEED")]
    pub seed: Option<PathBuf>,

    /// Load a blueprint given as the seed (or to `PUT /_tokenstack/state`) with its entries of models tokenstack
    /// does not serve skipped, each with a warning, instead of refusing it.
    #[arg(long = "blueprint-skip-unknown", env = "TOKENSTACK_BLUEPRINT_SKIP_UNKNOWN")]
    pub blueprint_skip_unknown: bool,

    /// Where tokens live: `memory` (default), `sqlite:PATH` (durable, one node) or
    /// `postgres://user@host:port/db` (durable, shared by replicas).
    #[arg(long, env = "TOKENSTACK_STORE", default_value = "memory")]
    pub store: String,

    /// Log level: trace, debug, info, warn, error or critical.
    #[arg(long, env = "TOKENSTACK_LOG_LEVEL", default_value = "info")]
    pub log_level: LogLevel,

    /// Log format: `json` (one bunyan JSON object per line, for log collectors) or `text` (for terminals).
    #[arg(long, env = "TOKENSTACK_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// PEM certificate chain; with --tls-key, serve HTTPS instead of HTTP.
    #[arg(long, env = "TOKENSTACK_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "TOKENSTACK_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// Seconds between expiry sweeps, as authentik's cleanup task: expired `api` keys are rotated, other
    /// expired core tokens and expired sessions deleted (0 disables the sweep).
    #[arg(long, env = "TOKENSTACK_EXPIRY_INTERVAL", default_value_t = 60)]
    pub expiry_interval: u64,

    /// Most core tokens one authentik user may own; creating more is a 400 (0: no limit).
    #[arg(long, env = "TOKENSTACK_MAX_TOKENS_PER_USER", default_value_t = 10_000)]
    pub max_tokens_per_user: u64,

    /// Most PATs one NetBird user may hold; creating more is a 422 (0: no limit).
    #[arg(long, env = "TOKENSTACK_MAX_PATS_PER_USER", default_value_t = 1_000)]
    pub max_pats_per_user: u64,

    /// Longest token description and PAT name in characters; longer ones are a 400 / 422.
    #[arg(long, env = "TOKENSTACK_MAX_TEXT_CHARS", default_value_t = 4_096)]
    pub max_text_chars: usize,

    /// Seconds that in-flight requests get to finish after SIGTERM or SIGINT.
    #[arg(long, env = "TOKENSTACK_SHUTDOWN_TIMEOUT", default_value_t = 10)]
    pub shutdown_timeout: u64,

    /// Largest accepted request body in bytes; larger ones get the upstream error shape.
    #[arg(long, env = "TOKENSTACK_MAX_BODY_BYTES", default_value_t = 65536)]
    pub max_body_bytes: usize,

    /// Key of the bootstrap authentik token of the superuser `akadmin` (generated and printed when unset).
    #[arg(long = "bootstrap-token", env = "TOKENSTACK_BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub bootstrap_token: Option<Secret>,

    /// NetBird PAT (`nbp_…`, 40 characters) of the bootstrap owner (generated and printed when unset).
    #[arg(long = "bootstrap-pat", env = "TOKENSTACK_BOOTSTRAP_PAT", hide_env_values = true)]
    pub bootstrap_pat: Option<Secret>,

    /// Password of the superuser `akadmin` when the store is new, as authentik's `AUTHENTIK_BOOTSTRAP_PASSWORD`
    /// (without it, `akadmin` has no usable password). Stored as a salted hash.
    #[arg(long = "bootstrap-password", env = "TOKENSTACK_BOOTSTRAP_PASSWORD", hide_env_values = true)]
    pub bootstrap_password: Option<Secret>,

    /// Email of the superuser `akadmin` when the store is new, as authentik's `AUTHENTIK_BOOTSTRAP_EMAIL`.
    #[arg(long = "bootstrap-email", env = "TOKENSTACK_BOOTSTRAP_EMAIL", default_value = crate::seed::DEFAULT_ADMIN_EMAIL)]
    pub bootstrap_email: String,

    /// NetBird user id of the bootstrap owner.
    #[arg(long = "bootstrap-user", env = "TOKENSTACK_BOOTSTRAP_USER", default_value = "admin")]
    pub bootstrap_user: String,

    /// Start without the NetBird bootstrap owner and PAT: the instance needs setup (`GET /api/instance`) until
    /// `POST /api/setup` creates its owner, as NetBird with its embedded identity provider starts.
    #[arg(long = "netbird-setup", env = "TOKENSTACK_NETBIRD_SETUP")]
    pub netbird_setup: bool,

    /// Let `POST /api/setup` with `create_pat: true` create the owner's account and a PAT and return it, as
    /// NetBird's `NB_SETUP_PAT_ENABLED=true`.
    #[arg(long = "setup-pat-enabled", env = "TOKENSTACK_SETUP_PAT_ENABLED")]
    pub setup_pat_enabled: bool,

    /// Token of the admin API under `/_tokenstack/` (`Authorization: Bearer <token>`); the admin API is
    /// disabled (404) when unset.
    #[arg(long = "admin-token", env = "TOKENSTACK_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,

    /// Instant approval, an opt-in: the authentik user (username) whom `GET /application/o/authorize/` authorizes
    /// at once when the request carries no authentik API key in `Authorization: Bearer`. Unset (the default),
    /// authorize runs authentik's login and authorization flows, as authentik does.
    #[arg(long = "authorize-as", env = "TOKENSTACK_AUTHORIZE_AS", default_value = "")]
    pub authorize_as: String,

    /// How many device authorizations (`POST /application/o/device/`) one client address may start per period,
    /// as authentik's `throttle.providers.oauth2.device` (`AUTHENTIK_THROTTLE__PROVIDERS__OAUTH2__DEVICE`):
    /// `<requests>/<second|minute|hour|day>`; past it the endpoint answers 429 `slow_down`.
    #[arg(long = "device-throttle", env = "TOKENSTACK_DEVICE_THROTTLE", default_value = "20/hour")]
    pub device_throttle: String,

    /// Validate every response against spec/openapi.json before it leaves; a violation is logged and
    /// answered as a 500.
    #[arg(long = "validate-responses", env = "TOKENSTACK_VALIDATE_RESPONSES")]
    pub validate_responses: bool,

    /// What to run instead of the server (`tokenstack healthcheck`); the settings above still apply.
    #[command(subcommand)]
    #[serde(skip)]
    pub command: Option<Command>,

    /// Where each setting came from, for messages about its value (not a setting).
    #[arg(skip)]
    #[serde(skip)]
    pub origins: Origins,
}

/// The subcommands: what the binary runs instead of the server.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Probe `GET /readyz` of the server the same settings configure (its --bind, on loopback when that is
    /// `0.0.0.0` or `::`; HTTPS with --tls-cert) and exit 0 when it answers 200, else 1: a container's
    /// HEALTHCHECK without curl.
    Healthcheck {
        /// Seconds to wait for the connection and for the answer.
        #[arg(long, default_value_t = 2)]
        timeout: u64,
    },
    /// Serve (what `tokenstack` alone does), so that authentik's compose file, which runs its image with the
    /// command `server`, runs tokenstack unchanged.
    Server,
    /// Serve as well, for authentik's `worker` service in the same compose file: authentik's worker does
    /// background tasks, which tokenstack's server does itself; with a shared PostgreSQL store it is a replica.
    Worker,
}

/// Where the settings that have a value came from: `--admin-token`, `TOKENSTACK_ADMIN_TOKEN`,
/// `TOKENSTACK_ADMIN_TOKEN_FILE (PATH)`, an upstream alias (`AUTHENTIK_BOOTSTRAP_TOKEN`) or
/// `admin_token in config file PATH`, by setting (the field's name).
#[derive(Debug, Clone, Default)]
pub struct Origins(std::collections::BTreeMap<String, String>);

impl Origins {
    /// How a message names the setting `id` (a field of [`Config`]): the source its value came from, else the
    /// flag.
    pub fn name(&self, id: &str) -> String {
        self.0.get(id).cloned().unwrap_or_else(|| format!("--{}", id.replace('_', "-")))
    }
}

/// The log levels Dropshot's logger understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

impl LogLevel {
    pub(crate) fn slog(self) -> slog::Level {
        match self {
            LogLevel::Trace => slog::Level::Trace,
            LogLevel::Debug => slog::Level::Debug,
            LogLevel::Info => slog::Level::Info,
            LogLevel::Warn => slog::Level::Warning,
            LogLevel::Error => slog::Level::Error,
            LogLevel::Critical => slog::Level::Critical,
        }
    }
}

/// How log records are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Cli(#[from] clap::Error),
    /// A bad value from an environment variable (clap's own error would name the flag).
    #[error("invalid value{value} for {variable}: {reason}")]
    Variable { variable: String, value: String, reason: String },
    // `error`, not `source`: the message already carries it, and a source would print it twice in `{:#}`.
    #[error("cannot read config file {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("config file {path}: {error}")]
    Parse { path: String, error: toml::de::Error },
    /// Only one half of the TLS pair, from any source: serving plain HTTP instead would be a silent downgrade.
    #[error(
        "{given} is set but {missing} is not: give both PEM files (flags, TOKENSTACK_* or the config file) or neither"
    )]
    TlsHalf { given: &'static str, missing: &'static str },
    /// A variable and its `_FILE` form are both set: which one is meant is unclear.
    #[error("{variable} and {file} are both set: give one of them")]
    Exclusive { variable: String, file: String },
    /// The file named by a `_FILE` variable does not hold a secret.
    #[error("{variable} ({path}): {problem}")]
    SecretFile { variable: String, path: String, problem: String },
    /// The configuration does not round-trip through TOML (a bug, not a user error).
    #[error("cannot merge the config file: {0}")]
    Internal(String),
}

/// What one user may store (the quota settings of [`Config`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// 0 means no limit.
    pub tokens_per_user: u64,
    /// 0 means no limit.
    pub pats_per_user: u64,
    pub text_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { tokens_per_user: 10_000, pats_per_user: 1_000, text_chars: 4_096 }
    }
}

impl Config {
    /// The quota settings.
    pub fn limits(&self) -> Limits {
        Limits {
            tokens_per_user: self.max_tokens_per_user,
            pats_per_user: self.max_pats_per_user,
            text_chars: self.max_text_chars,
        }
    }

    /// Reads the process's flags, environment and `--config` file.
    pub fn load() -> Result<Config, ConfigError> {
        Config::load_from(std::env::args_os())
    }

    /// Flags win over environment variables (a secret's `TOKENSTACK_*_FILE` form, then upstream aliases such as
    /// `AUTHENTIK_BOOTSTRAP_TOKEN`, count as its variable), which win over the TOML file, which wins over defaults.
    pub fn load_from<I, T>(args: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Config::load_with_env(args, &|name| std::env::var_os(name))
    }

    /// [`Config::load_from`] with `env` as the reader of the `_FILE` variables and upstream aliases (clap reads the
    /// `TOKENSTACK_*` variables themselves from the process).
    pub(crate) fn load_with_env<I, T>(args: I, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let command = Config::command();
        let mut matches =
            command.clone().try_get_matches_from(&args).map_err(|error| from_variable(&command, &args, error))?;
        // Values from the alternate sources go in as flags (neither a flag nor the variable gave them, so nothing
        // is overridden), and so win over the file as variables do; their origins are set below.
        let found = sources::find(&command, &matches, env)?;
        if !found.is_empty() {
            let mut with: Vec<OsString> = args.iter().take(1).cloned().collect();
            with.extend(sources::as_flags(&found));
            with.extend(args.iter().skip(1).cloned());
            matches = command.clone().try_get_matches_from(&with)?;
        }
        let mut config = Config::from_arg_matches(&matches)?;
        let mut origins = Origins::default();
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            let origin = match matches.value_source(id) {
                Some(ValueSource::CommandLine) => arg.get_long().map(|long| format!("--{long}")),
                Some(ValueSource::EnvVariable) => arg.get_env().map(|env| env.to_string_lossy().into_owned()),
                _ => None,
            };
            if let Some(origin) = origin {
                origins.0.insert(id.to_string(), origin);
            }
        }
        for found in found {
            origins.0.insert(found.id.to_string(), found.origin);
        }
        if let Some(path) = config.config.clone() {
            let keys;
            let command = config.command.take();
            (config, keys) = with_file(config, &path, &matches)?;
            config.command = command;
            for key in keys {
                origins.0.entry(key.clone()).or_insert_with(|| format!("{key} in config file {}", path.display()));
            }
        }
        config.origins = origins;
        match (&config.tls_cert, &config.tls_key) {
            (Some(_), None) => Err(ConfigError::TlsHalf { given: "tls_cert", missing: "tls_key" }),
            (None, Some(_)) => Err(ConfigError::TlsHalf { given: "tls_key", missing: "tls_cert" }),
            _ => Ok(config),
        }
    }
}

/// clap's error for a bad value, renamed after the environment variable it came from: clap names the flag even
/// when the value is a variable's (`TOKENSTACK_BIND=garbage` would read as `--bind`).
fn from_variable(command: &clap::Command, args: &[OsString], error: clap::Error) -> ConfigError {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(error.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation) {
        return error.into();
    }
    let Some(ContextValue::String(invalid_arg)) = error.get(ContextKind::InvalidArg) else { return error.into() };
    let flag = invalid_arg.split(' ').next().unwrap_or_default();
    let Some(arg) = command.get_arguments().find(|arg| arg.get_long().is_some_and(|long| flag == format!("--{long}")))
    else {
        return error.into();
    };
    let on_command_line = args
        .iter()
        .skip(1)
        .filter_map(|arg| arg.to_str())
        .any(|given| given == flag || given.strip_prefix(flag).is_some_and(|rest| rest.starts_with('=')));
    let Some(variable) = arg.get_env().filter(|_| !on_command_line) else { return error.into() };
    let value = match error.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(value)) if !arg.is_hide_env_values_set() => format!(" '{value}'"),
        _ => String::new(),
    };
    let reason = match (std::error::Error::source(&error), error.get(ContextKind::ValidValue)) {
        (Some(source), _) => source.to_string(),
        (None, Some(ContextValue::Strings(valid))) => format!("expected one of {}", valid.join(", ")),
        (None, _) => "not a valid value".to_string(),
    };
    ConfigError::Variable { variable: variable.to_string_lossy().into_owned(), value, reason }
}

/// `config` with every setting that neither a flag nor an environment variable gave taken from the TOML file, and
/// the file's keys.
fn with_file(config: Config, path: &Path, matches: &ArgMatches) -> Result<(Config, Vec<String>), ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read { path: display.clone(), error })?;
    let parse = |error| ConfigError::Parse { path: display.clone(), error };
    let file: toml::Table = toml::from_str(&text).map_err(parse)?;
    // An unknown key has no argument (and fails the deserialization below, naming it).
    let given = |id: &str| {
        matches.ids().any(|known| known == id)
            && matches!(matches.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable))
    };
    // Serializing skips unset options, so the merged table has every setting that has a value.
    let mut merged = toml::Table::try_from(&config).map_err(|e| ConfigError::Internal(e.to_string()))?;
    let keys = file.keys().cloned().collect();
    for (key, value) in file {
        if !given(&key) {
            merged.insert(key, value);
        }
    }
    Ok((merged.try_into().map_err(parse)?, keys))
}

#[cfg(test)]
mod tests;
