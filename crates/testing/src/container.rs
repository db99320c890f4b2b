//! tokenstack's container image for the `testcontainers` crate (feature `testcontainers`): [`Tokenstack`] is the
//! [`Image`], [`TokenstackContainer`] the started container with the credentials and ready clients a [`crate::TestServer`]
//! has.
//!
//! ```no_run
//! # async fn example() {
//! use tokenstack_testing::container::{Tokenstack, TokenstackContainer};
//! let tokenstack = TokenstackContainer::start(Tokenstack::default()).await.unwrap();
//! let me = tokenstack.superuser().core_users_me_retrieve().send().await.unwrap();
//! assert_eq!(me.user.username, "akadmin");
//! # }
//! ```
//!
//! The container starts with fresh credentials and the admin API on, and is ready once the image's own healthcheck
//! (`tokenstack healthcheck`, run in the container) passes; it is removed when the [`TokenstackContainer`] is
//! dropped.

use std::borrow::Cow;
use std::path::Path;

use std::time::{Duration, Instant};

use testcontainers::core::{AccessMode, ContainerPort, ExecCommand, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, Image, ImageExt};
use tokenstack_client::Client;
use tokenstack_server::secrets::{generate_key, generate_pat};

use crate::Error;

/// The port tokenstack listens on in its image.
pub const PORT: u16 = 9000;

/// The image's healthcheck command.
const HEALTHCHECK: [&str; 2] = ["/usr/local/bin/tokenstack", "healthcheck"];

/// How long a container gets to become healthy.
const HEALTHY_WITHIN: Duration = Duration::from_secs(60);

/// Where a seed file is mounted.
const SEED_PATH: &str = "/etc/tokenstack/seed.yaml";

/// The tokenstack image with fresh credentials: `TOKENSTACK_IMAGE` (`NAME:TAG`) when set, else
/// `tokenstack:<this crate's version>`, the tag `cargo xtask image` gives.
#[derive(Debug, Clone)]
pub struct Tokenstack {
    name: String,
    tag: String,
    env: Vec<(String, String)>,
    mounts: Vec<Mount>,
    authentik_key: String,
    netbird_pat: String,
    admin_token: String,
}

impl Default for Tokenstack {
    fn default() -> Self {
        let image = std::env::var("TOKENSTACK_IMAGE")
            .ok()
            .filter(|image| !image.is_empty())
            .unwrap_or_else(|| format!("tokenstack:{}", env!("CARGO_PKG_VERSION")));
        Tokenstack::new(&image)
    }
}

impl Tokenstack {
    /// The image `image` (`NAME:TAG`; no tag is `latest`).
    pub fn new(image: &str) -> Self {
        // A registry's port (`host:5000/name`) is not a tag: the tag follows the last `:` after the last `/`.
        let (name, tag) = match image.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name.to_string(), tag.to_string()),
            _ => (image.to_string(), "latest".to_string()),
        };
        let (authentik_key, (netbird_pat, _hashed)) = (generate_key(), generate_pat());
        let admin_token = format!("tokenstack-testing-admin-{}", generate_key());
        let env = vec![
            ("TOKENSTACK_BOOTSTRAP_TOKEN".to_string(), authentik_key.clone()),
            ("TOKENSTACK_BOOTSTRAP_PAT".to_string(), netbird_pat.clone()),
            ("TOKENSTACK_ADMIN_TOKEN".to_string(), admin_token.clone()),
            ("TOKENSTACK_LOG_LEVEL".to_string(), "warn".to_string()),
        ];
        Tokenstack { name, tag, env, mounts: Vec::new(), authentik_key, netbird_pat, admin_token }
    }

    /// Mounts the seed file `path` (tokenstack's YAML seed format) read-only and loads it at start-up.
    pub fn with_seed(mut self, path: &Path) -> Self {
        self.mounts
            .push(Mount::bind_mount(path.display().to_string(), SEED_PATH).with_access_mode(AccessMode::ReadOnly));
        self.with_env("TOKENSTACK_SEED", SEED_PATH)
    }

    /// Sets the variable `name` in the container (any `TOKENSTACK_*` setting, such as `TOKENSTACK_STORE`).
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(key, _)| key != name);
        self.env.push((name.to_string(), value.to_string()));
        self
    }
}

impl Image for Tokenstack {
    fn name(&self) -> &str {
        &self.name
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    /// The server says where it listens once it serves; [`TokenstackContainer::start`] then runs the healthcheck.
    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stdout("tokenstack listening on")]
    }

    fn env_vars(&self) -> impl IntoIterator<Item = (impl Into<Cow<'_, str>>, impl Into<Cow<'_, str>>)> {
        self.env.iter().map(|(name, value)| (name.as_str(), value.as_str()))
    }

    fn mounts(&self) -> impl IntoIterator<Item = &Mount> {
        &self.mounts
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        &[ContainerPort::Tcp(PORT)]
    }
}

/// A started tokenstack container with its credentials and ready clients; removed on drop.
pub struct TokenstackContainer {
    container: ContainerAsync<Tokenstack>,
    base_url: String,
    authentik_key: String,
    netbird_pat: String,
    superuser: Client,
    owner: Client,
    admin: Client,
}

impl TokenstackContainer {
    /// Starts `image` and waits until it is ready.
    pub async fn start(image: Tokenstack) -> Result<TokenstackContainer, Error> {
        let (authentik_key, netbird_pat, admin_token) =
            (image.authentik_key.clone(), image.netbird_pat.clone(), image.admin_token.clone());
        // Published on a free port of the host, chosen here: podman's Docker API reports a published port with an
        // empty host IP, which the testcontainers crate does not read back.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|error| Error::Container(format!("no free port: {error}")))?
            .port();
        let request = image.with_mapped_port(port, ContainerPort::Tcp(PORT));
        let container = request.start().await.map_err(|error| Error::Container(error.to_string()))?;
        healthy(&container).await?;
        let host = container.get_host().await.map_err(|error| Error::Container(error.to_string()))?;
        let base_url = format!("http://{host}:{port}");
        Ok(TokenstackContainer {
            superuser: crate::client(&base_url, Some(&format!("Bearer {authentik_key}")))?,
            owner: crate::client(&base_url, Some(&format!("Token {netbird_pat}")))?,
            admin: crate::client(&base_url, Some(&format!("Bearer {admin_token}")))?,
            container,
            base_url,
            authentik_key,
            netbird_pat,
        })
    }

    /// `http://HOST:PORT`, the container's port on the host.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Key of the bootstrap token of the superuser `akadmin`.
    pub fn authentik_key(&self) -> &str {
        &self.authentik_key
    }

    /// PAT of the bootstrap NetBird owner `admin`.
    pub fn netbird_pat(&self) -> &str {
        &self.netbird_pat
    }

    /// A client authenticated as the superuser `akadmin` (authentik API).
    pub fn superuser(&self) -> &Client {
        &self.superuser
    }

    /// A client authenticated as the NetBird owner `admin` (NetBird API).
    pub fn owner(&self) -> &Client {
        &self.owner
    }

    /// A client of the admin API (`/_tokenstack/`).
    pub fn admin(&self) -> &Client {
        &self.admin
    }

    /// The container itself, for what the testcontainers crate offers (logs, stop, exec).
    pub fn container(&self) -> &ContainerAsync<Tokenstack> {
        &self.container
    }
}

/// Runs the image's own healthcheck in the container until it passes (an engine without health-check timers, such as
/// podman without systemd, never reports the container healthy by itself).
async fn healthy(container: &ContainerAsync<Tokenstack>) -> Result<(), Error> {
    let started = Instant::now();
    loop {
        let mut exec =
            container.exec(ExecCommand::new(HEALTHCHECK)).await.map_err(|e| Error::Container(e.to_string()))?;
        // Read to the end: the command has exited then.
        let stderr = exec.stderr_to_vec().await.unwrap_or_default();
        if exec.exit_code().await.map_err(|e| Error::Container(e.to_string()))? == Some(0) {
            return Ok(());
        }
        if started.elapsed() > HEALTHY_WITHIN {
            let stderr = String::from_utf8_lossy(&stderr);
            return Err(Error::Container(format!(
                "not healthy within {}s: {}",
                HEALTHY_WITHIN.as_secs(),
                stderr.trim()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
