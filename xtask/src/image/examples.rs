//! The container examples of `examples/container/`, each run by the image test: the tokenstack service of the
//! compose file (on a PostgreSQL of its own), authentik's compose file with the image swapped, and the GitHub Actions
//! and GitLab CI services, each with its own environment and command, healthy by the image's healthcheck and passing
//! the conformance suite with the credentials the file gives.
//!
//! No registry is reachable here, so the other services (PostgreSQL's image, the apps) cannot be pulled, nor can a
//! compose tool bring those files up as a whole: each tokenstack service runs with plain `podman run`, on the host's
//! network (its port from `TOKENSTACK_BIND`, the only setting the test adds), with `postgres` resolving to a
//! PostgreSQL cluster on loopback. authentik's compose file, whose images are all tokenstack's, is also brought up
//! whole by podman-compose ([`compose`]).

use std::ffi::OsString;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_yaml::Value;

use super::container::{Container, PODMAN_RUN_ARGS, free_port, podman, wait_healthy};
use crate::wheel::timed;

/// The tag the examples name: the minor version `docker load` gives the release image.
const EXAMPLE_IMAGE: &str = "tokenstack:0.1";

/// One tokenstack service of an example file.
#[derive(Debug, PartialEq)]
struct Service {
    file: &'static str,
    env: Vec<(String, String)>,
    command: Vec<String>,
}

/// Runs every example's tokenstack service from the image `tag`.
pub fn test(root: &Path, tag: &str, build_env: &[(&str, OsString)]) -> anyhow::Result<()> {
    let services = services(root)?;
    let mut postgres = None;
    for service in services {
        let mut env = service.env.clone();
        for (name, value) in &mut env {
            if name == "TOKENSTACK_STORE" && value.contains("@postgres:5432/") {
                let cluster = match &postgres {
                    Some(cluster) => cluster,
                    None => postgres.insert(tokenstack_pg_cluster::PgCluster::start().map_err(anyhow::Error::msg)?),
                };
                let database = value.rsplit('/').next().unwrap_or("tokenstack").to_string();
                cluster.create_database(&database).map_err(anyhow::Error::msg)?;
                *value = value.replace("@postgres:5432/", &format!("@postgres:{}/", cluster.port()));
            }
        }
        run(root, tag, &service, &env, build_env).with_context(|| format!("examples/container/{}", service.file))?;
    }
    Ok(())
}

fn run(
    root: &Path,
    tag: &str,
    service: &Service,
    env: &[(String, String)],
    build_env: &[(&str, OsString)],
) -> anyhow::Result<()> {
    let port = free_port()?;
    let name = format!("tokenstack-example-{}-{}", service.file.replace('.', "-"), std::process::id());
    let mut container = Container { name: name.clone(), passed: false };
    let mut args: Vec<String> = ["run", "--detach", "--name", &name].iter().map(|a| a.to_string()).collect();
    args.extend(PODMAN_RUN_ARGS.iter().map(|a| a.to_string()));
    args.extend(["--add-host".to_string(), "postgres:127.0.0.1".to_string()]);
    args.extend(["--env".to_string(), format!("TOKENSTACK_BIND=0.0.0.0:{port}")]);
    for (key, value) in env {
        args.extend(["--env".to_string(), format!("{key}={value}")]);
    }
    args.push(tag.to_string());
    args.extend(service.command.iter().cloned());
    let started = Instant::now();
    podman(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    let healthy = wait_healthy(&name, started)?;
    println!(
        "{:>12} examples/container/{} healthy {:.0} ms after podman run",
        "Healthy",
        service.file,
        healthy.as_secs_f64() * 1e3
    );
    let value = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let token =
        value("TOKENSTACK_BOOTSTRAP_TOKEN").or(value("AUTHENTIK_BOOTSTRAP_TOKEN")).context("no bootstrap token")?;
    let base_url = format!("http://127.0.0.1:{port}");
    let mut conformance = crate::conformance::command(root, &base_url, token, value("TOKENSTACK_BOOTSTRAP_PAT"));
    conformance.envs(build_env.iter().map(|(k, v)| (k, v)));
    let output = conformance.output().context("cannot run the conformance suite")?;
    if !output.status.success() {
        bail!("the conformance suite failed against it:\n{}", String::from_utf8_lossy(&output.stdout));
    }
    let summary = String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().to_string();
    println!("{:>12} conformance against examples/container/{}: {summary}", "Passed", service.file);
    container.passed = true;
    Ok(())
}

/// `examples/container/authentik-compose.yaml` brought up whole by podman-compose (`compose`: its path in the
/// container tests' virtualenv), the one example whose images are all tokenstack's: the file as written but for the
/// image (the one under test) and the host port (a free one); both services healthy, the conformance suite against
/// the server with the file's token; then `down`.
pub fn compose(
    root: &Path,
    dir: &Path,
    compose: &Path,
    tag: &str,
    build_env: &[(&str, OsString)],
) -> anyhow::Result<()> {
    let source = root.join("examples/container/authentik-compose.yaml");
    let text = std::fs::read_to_string(&source).with_context(|| format!("cannot read {}", source.display()))?;
    let port = free_port()?;
    let image = format!("image: {EXAMPLE_IMAGE} ");
    let published = "\"9000:9000\"";
    if text.matches(&image).count() != 2 || !text.contains(published) {
        bail!("{}: expected two `{image}` lines and the port {published}", source.display());
    }
    let text = text.replace(&image, &format!("image: {tag} ")).replace(published, &format!("\"{port}:9000\""));
    let file = dir.join("authentik-compose.yaml");
    std::fs::write(&file, text)?;
    let project = format!("tokenstack-compose-{}", std::process::id());
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(compose);
        command.arg("--project-name").arg(&project).arg("--file").arg(&file).args(args);
        command.env("CONTAINERS_CONF", dir.join("containers.conf"));
        command
    };
    let containers: Vec<String> = ["server", "worker"].iter().map(|s| format!("{project}_{s}_1")).collect();
    let _down = Down { command: run(&["down", "--volumes"]), containers: containers.clone() };
    let started = Instant::now();
    timed("podman-compose up (examples/container/authentik-compose.yaml)", &mut run(&["up", "--detach"]))?;
    for name in &containers {
        let healthy = wait_healthy(name, started)?;
        println!("{:>12} {name} healthy {:.0} ms after podman-compose up", "Healthy", healthy.as_secs_f64() * 1e3);
    }
    let services = services(root)?;
    let env = &services.iter().find(|s| s.file == "authentik-compose.yaml").context("the authentik example")?.env;
    let token =
        env.iter().find(|(k, _)| k == "AUTHENTIK_BOOTSTRAP_TOKEN").map(|(_, v)| v.as_str()).context("no token")?;
    let mut conformance = crate::conformance::command(root, &format!("http://127.0.0.1:{port}"), token, None);
    conformance.envs(build_env.iter().map(|(k, v)| (k, v)));
    timed("conformance suite against the compose project's server", &mut conformance)
}

/// Runs `podman-compose down` when dropped, whatever happened before, and removes the anonymous volumes (`/data`) of
/// its `containers`, which `down --volumes` leaves.
struct Down {
    command: std::process::Command,
    containers: Vec<String>,
}

impl Drop for Down {
    fn drop(&mut self) {
        let mut volumes = Vec::new();
        for container in &self.containers {
            let format = "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}";
            if let Ok(output) =
                std::process::Command::new("podman").args(["inspect", "--format", format, container]).output()
            {
                volumes.extend(String::from_utf8_lossy(&output.stdout).split_whitespace().map(str::to_string));
            }
        }
        let quiet = |command: &mut std::process::Command| {
            let _ = command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status();
        };
        quiet(&mut self.command);
        if !volumes.is_empty() {
            quiet(std::process::Command::new("podman").args(["volume", "rm"]).args(&volumes));
        }
    }
}

/// The tokenstack service of each example file; every one names [`EXAMPLE_IMAGE`].
fn services(root: &Path) -> anyhow::Result<Vec<Service>> {
    let read = |file: &str| -> anyhow::Result<Value> {
        let path = root.join("examples/container").join(file);
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_yaml::from_str(&text).with_context(|| format!("{} is not YAML", path.display()))
    };
    let compose = read("compose.yaml")?;
    let authentik = read("authentik-compose.yaml")?;
    let github = read("github-actions.yml")?;
    let gitlab = read("gitlab-ci.yml")?;
    let github_service = &github["jobs"]["test"]["services"]["tokenstack"];
    let gitlab_service = &gitlab["test"]["services"][0];
    let found = [
        ("compose.yaml", &compose["services"]["tokenstack"], "image", "environment"),
        ("authentik-compose.yaml", &authentik["services"]["server"], "image", "environment"),
        ("github-actions.yml", github_service, "image", "env"),
        ("gitlab-ci.yml", gitlab_service, "name", "variables"),
    ];
    let mut services = Vec::new();
    for (file, service, image, env) in found {
        if service[image].as_str() != Some(EXAMPLE_IMAGE) {
            bail!("examples/container/{file}: the tokenstack service's {image} is not {EXAMPLE_IMAGE}");
        }
        let Some(env) = service[env].as_mapping() else {
            bail!("examples/container/{file}: the tokenstack service has no {env} mapping");
        };
        let env = env
            .iter()
            .map(|(k, v)| Ok((scalar(k).context("a variable name")?, scalar(v).context("a variable value")?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let command = match &service["command"] {
            Value::String(command) => vec![command.clone()],
            _ => Vec::new(),
        };
        services.push(Service { file, env, command });
    }
    Ok(services)
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_has_a_tokenstack_service_with_credentials() {
        let services = services(&crate::project_root()).expect("examples parse");
        let files: Vec<&str> = services.iter().map(|s| s.file).collect();
        assert_eq!(files, ["compose.yaml", "authentik-compose.yaml", "github-actions.yml", "gitlab-ci.yml"]);
        for service in &services {
            let has = |key: &str| service.env.iter().any(|(k, _)| k == key);
            assert!(has("TOKENSTACK_BOOTSTRAP_TOKEN") || has("AUTHENTIK_BOOTSTRAP_TOKEN"), "{service:?}");
        }
        assert_eq!(services[1].command, ["server"]);
        assert!(services[0].env.iter().any(|(k, v)| k == "TOKENSTACK_STORE" && v.contains("@postgres:5432/")));
    }
}
