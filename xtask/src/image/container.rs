//! The image's test in podman (`cargo xtask image --test`, and CI): load the archive, run it as a user would (its
//! credentials from authentik's variable and a Docker-style secret file, a mounted seed, SQLite in the `/data`
//! volume), wait on the image's own healthcheck, then run the conformance suite against the container.
//!
//! Podman runs here, Docker does not; a missing podman fails the step with what to install, never skips it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::ci::target_dir;

/// Settings of every `podman run`: runc, and limits this sandbox accepts (it refuses podman's default high rlimits);
/// the host's network, so the container's port is the host's.
pub const PODMAN_RUN_ARGS: &[&str] =
    &["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network=host"];

const KEY: &str = "container-bootstrap-key-0123456789abcdefghijklmnopqrstuvwxyz";
const PAT: &str = "nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM";

/// How long the container gets to become healthy.
const HEALTHY_WITHIN: Duration = Duration::from_secs(60);

/// A container removed (with its anonymous volumes) when dropped, its log printed first if the test failed.
pub(super) struct Container {
    pub name: String,
    pub passed: bool,
}

impl Drop for Container {
    fn drop(&mut self) {
        if !self.passed {
            let _ = Command::new("podman").args(["logs", &self.name]).status();
        }
        let _ = Command::new("podman").args(["rm", "--force", "--volumes", &self.name]).output();
    }
}

/// Loads `archive` into podman, runs the image tagged `tag` from it and checks it; `build_env` is the environment
/// of the build that made the conformance suite, so that running it compiles nothing.
pub fn test(root: &Path, archive: &Path, tag: &str, build_env: &[(&str, OsString)]) -> anyhow::Result<()> {
    let version = Command::new("podman").arg("--version").output();
    if !version.is_ok_and(|output| output.status.success()) {
        bail!("podman is not installed: the image test needs it (on Debian: apt-get install -y podman runc)");
    }
    let loaded = podman(&["load", "--input", &archive.to_string_lossy()])?;
    println!("{:>12} {}", "Loaded", String::from_utf8_lossy(&loaded.stdout).trim());
    let inspect = podman(&["image", "inspect", tag])?;
    let image: serde_json::Value = serde_json::from_slice(&inspect.stdout).context("podman image inspect")?;
    let healthcheck = &image[0]["Healthcheck"]["Test"];
    if healthcheck != &serde_json::json!(["CMD", "/usr/local/bin/tokenstack", "healthcheck"]) {
        bail!("podman does not see the image's healthcheck: {healthcheck}");
    }

    let dir = target_dir(root).join("image-test");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(dir.join("pat"), format!("{PAT}\n")).context("cannot write the secret file")?;
    let port = free_port()?;
    let name = format!("tokenstack-image-test-{}", std::process::id());
    let mut container = Container { name: name.clone(), passed: false };
    let started = Instant::now();
    let secret = format!("{}:/run/secrets/pat:ro", dir.join("pat").display());
    let seed = format!("{}:/seed.yaml:ro", root.join("examples/seed.yaml").display());
    let bind = format!("TOKENSTACK_BIND=0.0.0.0:{port}");
    let key = format!("AUTHENTIK_BOOTSTRAP_TOKEN={KEY}");
    let mut run = vec!["run", "--detach", "--name", &name];
    run.extend(PODMAN_RUN_ARGS);
    run.extend(["--env", &bind, "--env", &key, "--env", "TOKENSTACK_BOOTSTRAP_PAT_FILE=/run/secrets/pat"]);
    run.extend(["--volume", &secret, "--volume", &seed, "--env", "TOKENSTACK_SEED=/seed.yaml"]);
    run.extend(["--env", "TOKENSTACK_STORE=sqlite:/data/tokenstack.db", tag]);
    podman(&run)?;
    let healthy = wait_healthy(&name, started)?;
    println!(
        "{:>12} {name} healthy {:.0} ms after podman run (its own healthcheck)",
        "Healthy",
        healthy.as_secs_f64() * 1e3
    );

    // Non-root, writing SQLite into its volume.
    let top = podman(&["top", &name, "huser", "user"])?;
    let top = String::from_utf8_lossy(&top.stdout).into_owned();
    if !top.lines().skip(1).all(|line| line.split_whitespace().nth(1) == Some("tokenstack")) {
        bail!("the container does not run as the user tokenstack:\n{top}");
    }

    let base_url = format!("http://127.0.0.1:{port}");
    let mut conformance = crate::conformance::command(root, &base_url, KEY, Some(PAT));
    conformance.envs(build_env.iter().map(|(name, value)| (name, value)));
    crate::wheel::timed("conformance suite against the container", &mut conformance)?;
    container.passed = true;
    drop(container);

    super::examples::test(root, tag, build_env)?;
    let service = DockerApi::start(&dir)?;
    python_test(root, &dir, tag, &service)?;
    rust_test(root, tag, &service, build_env)?;
    super::examples::compose(root, &dir, &dir.join("venv/bin/podman-compose"), tag, build_env)
}

/// `crates/testing/tests/container.rs`: `tokenstack_testing::container` (the `testcontainers` feature) on the image
/// `tag`. The feature's build is one of its own (the testcontainers crate and bollard, and what they change).
fn rust_test(root: &Path, tag: &str, api: &DockerApi, build_env: &[(&str, OsString)]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    crate::wheel::timed(
        "tokenstack_testing::container (testcontainers crate) on the image",
        Command::new(cargo)
            .args([
                "test",
                "--locked",
                "-p",
                "tokenstack-testing",
                "--features",
                "testcontainers",
                "--test",
                "container",
            ])
            .current_dir(root)
            .envs(build_env.iter().map(|(name, value)| (name, value)))
            .env("DOCKER_HOST", api.docker_host())
            .env("TOKENSTACK_IMAGE", tag)
            .envs(TESTCONTAINERS_ENV.iter().copied()),
    )
}

/// Podman's Docker-compatible API on a socket of its own, as testcontainers needs, with this sandbox's limits as
/// the default of every container (`CONTAINERS_CONF`, so nothing under /etc changes); stopped when dropped.
struct DockerApi {
    child: std::process::Child,
    socket: PathBuf,
}

impl DockerApi {
    fn start(dir: &Path) -> anyhow::Result<DockerApi> {
        let conf = dir.join("containers.conf");
        std::fs::write(
            &conf,
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n[engine]\nruntime = \"runc\"\n",
        )?;
        // Under the temp directory, not the target directory: a Unix socket's path has at most 107 bytes.
        let socket = std::env::temp_dir().join(format!("tokenstack-podman-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        let child = Command::new("podman")
            .args(["system", "service", "--time=0"])
            .arg(format!("unix://{}", socket.display()))
            .env("CONTAINERS_CONF", &conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start podman system service")?;
        let api = DockerApi { child, socket };
        let started = Instant::now();
        while !api.socket.exists() {
            if started.elapsed() > Duration::from_secs(20) {
                bail!("podman system service did not open {} within 20 s", api.socket.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(api)
    }

    /// `DOCKER_HOST` for clients of this API.
    fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}

impl Drop for DockerApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// `tests/container` with pytest: `tokenstack.testcontainers.TokenstackContainer` (from `python/`, not a wheel) on
/// the image `tag`, in a virtualenv of its own with `tests/container/requirements.txt`.
fn python_test(root: &Path, dir: &Path, tag: &str, api: &DockerApi) -> anyhow::Result<()> {
    let venv = dir.join("venv");
    if !venv.join("bin/python").exists() {
        crate::wheel::timed(
            "python3 -m venv (container tests)",
            Command::new(crate::wheel::python()).args(["-m", "venv"]).arg(&venv),
        )?;
    }
    crate::wheel::timed(
        "pip install tests/container/requirements.txt",
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(root.join("tests/container/requirements.txt")),
    )?;
    crate::wheel::timed(
        "TokenstackContainer (testcontainers-python) on the image",
        Command::new(venv.join("bin/python"))
            .args(["-m", "pytest", "-p", "no:cacheprovider", "-q"])
            .arg(root.join("tests/container"))
            .env("DOCKER_HOST", api.docker_host())
            .env("TOKENSTACK_IMAGE", tag)
            .env("PYTHONPATH", root.join("python"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .envs(TESTCONTAINERS_ENV.iter().copied()),
    )
}

/// testcontainers' settings for podman here: no Ryuk (its image cannot be pulled; every test stops its own
/// containers), and published ports reached on the host (the default guesses a gateway inside a container).
pub const TESTCONTAINERS_ENV: &[(&str, &str)] = &[
    ("TESTCONTAINERS_RYUK_DISABLED", "true"),
    ("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1"),
    ("TESTCONTAINERS_CONNECTION_MODE", "docker_host"),
];

/// Runs `podman ARGS`, failing with its stderr.
pub(super) fn podman(args: &[&str]) -> anyhow::Result<Output> {
    let output = Command::new("podman").args(args).output().context("cannot run podman")?;
    if !output.status.success() {
        bail!(
            "podman {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// Runs the container's own healthcheck (`podman healthcheck run`) until it passes; how long after `started`.
pub(super) fn wait_healthy(name: &str, started: Instant) -> anyhow::Result<Duration> {
    loop {
        let output = Command::new("podman").args(["healthcheck", "run", name]).output().context("cannot run podman")?;
        if output.status.success() {
            return Ok(started.elapsed());
        }
        if started.elapsed() > HEALTHY_WITHIN {
            bail!(
                "{name} not healthy within {}s: {}",
                HEALTHY_WITHIN.as_secs(),
                String::from_utf8_lossy(&output.stdout).trim()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A port nothing listens on now (the container takes it on the host's network).
pub(super) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}
