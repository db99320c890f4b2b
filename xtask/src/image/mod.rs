//! `cargo xtask image [--dev] [--test] [--out FILE] [--repository NAME] [--source URL]`: the container image, without
//! a Docker daemon or a base image: the `tokenstack` binary (static, or with exactly the shared libraries it loads)
//! on an empty root, as the archive `docker save` writes, which `docker load` and `podman load` read.
//!
//! The image config is Docker's format, whose `Healthcheck` (`tokenstack healthcheck`) podman and Docker read (the
//! OCI config has no such field). The archive is reproducible: the same binary at the same commit gives the same bytes.

mod container;
mod examples;
mod layer;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::ci::target_dir;
use crate::wheel::timed;
use layer::{BINARY_PATH, File, USER_ID};

use container::test as test_archive;

const USAGE: &str =
    "cargo xtask image [--dev] [--test] [--out FILE] [--repository NAME (default tokenstack)] [--source URL]";

/// Where the server listens inside the container (the binary's own default is loopback only).
pub const CONTAINER_BIND: &str = "0.0.0.0:9000";

/// What `cargo xtask image` was asked for.
#[derive(Debug, Default)]
struct Options {
    dev: bool,
    test: bool,
    out: Option<PathBuf>,
    repository: Option<String>,
    source: Option<String>,
}

pub fn run(root: &Path, options: &[&str]) -> anyhow::Result<u8> {
    let mut parsed = Options::default();
    let mut rest = options.iter();
    while let Some(option) = rest.next() {
        let mut value =
            || rest.next().map(|v| v.to_string()).with_context(|| format!("{option} needs a value\n{USAGE}"));
        match *option {
            "--dev" => parsed.dev = true,
            "--test" => parsed.test = true,
            "--out" => parsed.out = Some(PathBuf::from(value()?)),
            "--repository" => parsed.repository = Some(value()?),
            "--source" => parsed.source = Some(value()?),
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    let (archive, tag) = build(root, &parsed, &[])?;
    if parsed.test {
        test_archive(root, &archive, &tag, &[])?;
    }
    Ok(0)
}

/// The CI step: an image of the debug binary that `cargo test` just built (`build_env` is that build's environment,
/// so cargo compiles nothing), then its test in podman.
pub fn ci(root: &Path, build_env: &[(&str, OsString)]) -> anyhow::Result<()> {
    let options = Options { dev: true, ..Options::default() };
    let (archive, tag) = build(root, &options, build_env)?;
    test_archive(root, &archive, &tag, build_env)
}

/// Builds the binary (release: static; `--dev`: the debug build), packs it and writes the archive; returns its path
/// and its first tag.
fn build(root: &Path, options: &Options, build_env: &[(&str, OsString)]) -> anyhow::Result<(PathBuf, String)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let target = target_dir(root);
    let host = host_triple()?;
    let binary = if options.dev {
        let mut command = Command::new(&cargo);
        command.args(["build", "--locked", "-p", "tokenstack-server", "--bin", "tokenstack"]).current_dir(root);
        command.envs(build_env.iter().map(|(name, value)| (name, value)));
        timed("cargo build (dev)", &mut command)?;
        target.join("debug/tokenstack")
    } else {
        if !host.ends_with("-linux-gnu") {
            bail!("the static release build needs a *-linux-gnu host (crt-static), not {host}");
        }
        // The target is named so that the flags reach only the binary's units, not build scripts or proc macros.
        let flags_variable = format!("CARGO_TARGET_{}_RUSTFLAGS", host.to_uppercase().replace('-', "_"));
        let mut command = Command::new(&cargo);
        command
            .args(["build", "--release", "--locked", "-p", "tokenstack-server", "--bin", "tokenstack", "--target"])
            .arg(&host)
            .env(flags_variable, "-C target-feature=+crt-static")
            .env("CARGO_PROFILE_RELEASE_STRIP", "symbols")
            .current_dir(root);
        timed("cargo build --release (static)", &mut command)?;
        target.join(&host).join("release/tokenstack")
    };
    let mut files = vec![File { path: BINARY_PATH.to_string(), mode: 0o755, contents: read(&binary)? }];
    let libraries = shared_libraries(&binary)?;
    if !options.dev && !libraries.is_empty() {
        bail!("the release binary is not static: it loads {libraries:?}");
    }
    for library in libraries {
        let path = library.to_string_lossy().trim_start_matches('/').to_string();
        files.push(File { path, mode: 0o755, contents: read(&library)? });
    }

    let version = env!("CARGO_PKG_VERSION");
    let revision = git(root, &["rev-parse", "HEAD"])?;
    let epoch: u64 = git(root, &["log", "-1", "--format=%ct"])?.parse().context("commit time")?;
    let created = git(root, &["log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%dT%H:%M:%SZ"])?;
    let source = options.source.clone().or_else(source_url);
    let started = Instant::now();
    let layer = layer::layer(files, epoch)?;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let label = Labels { version, revision: &revision, created: &created, source: source.as_deref() };
    let config = serde_json::to_vec(&image_config(&label, arch, &layer::digest(&layer)))?;
    let repository = options.repository.clone().unwrap_or_else(|| "tokenstack".to_string());
    let tags: Vec<String> = if options.dev {
        vec![format!("{repository}:dev")]
    } else {
        version_tags(version).iter().map(|tag| format!("{repository}:{tag}")).collect()
    };
    let dir = target.join("image");
    let name = if options.dev { "dev".to_string() } else { version.to_string() };
    let out = options.out.clone().unwrap_or_else(|| dir.join(format!("tokenstack-{name}-{arch}.tar")));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // The release layer is compressed, as a registry stores it; the dev one is not (seconds saved in CI).
    let gzip = !options.dev;
    let blob = if gzip { layer::gzip(&layer)? } else { Vec::new() };
    let blob = if gzip { blob.as_slice() } else { layer.as_slice() };
    let file = std::fs::File::create(&out).with_context(|| format!("cannot create {}", out.display()))?;
    layer::write_archive(std::io::BufWriter::new(file), &config, blob, gzip, &tags, epoch)?;
    let size = std::fs::metadata(&out)?.len();
    println!(
        "{:>12} {} ({}; layer {:.1} MB unpacked, {:.1} MB {}, archive {:.1} MB) in {:.1}s",
        "Built",
        out.display(),
        tags.join(", "),
        layer.len() as f64 / 1e6,
        blob.len() as f64 / 1e6,
        if gzip { "gzip" } else { "uncompressed" },
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    if source.is_none() {
        println!("{:>12} no source label: pass --source URL (GitHub Actions sets it from GITHUB_REPOSITORY)", "Note");
    }
    Ok((out, tags[0].clone()))
}

/// The OCI labels that say what the image holds.
struct Labels<'a> {
    version: &'a str,
    revision: &'a str,
    created: &'a str,
    source: Option<&'a str>,
}

/// The image config, in Docker's format (a superset of OCI's with `Healthcheck`).
fn image_config(labels: &Labels<'_>, arch: &str, layer_digest: &str) -> serde_json::Value {
    const SECOND: u64 = 1_000_000_000;
    let mut oci = serde_json::json!({
        "org.opencontainers.image.title": "tokenstack",
        "org.opencontainers.image.description": "authentik's and NetBird's token APIs for tests and CI",
        "org.opencontainers.image.version": labels.version,
        "org.opencontainers.image.revision": labels.revision,
        "org.opencontainers.image.created": labels.created,
        "org.opencontainers.image.licenses": "MIT OR Apache-2.0",
    });
    if let Some(source) = labels.source {
        oci["org.opencontainers.image.source"] = source.into();
    }
    let binary = format!("/{BINARY_PATH}");
    serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "created": labels.created,
        "config": {
            "User": format!("{USER_ID}:{USER_ID}"),
            "Env": ["PATH=/usr/local/bin", format!("TOKENSTACK_BIND={CONTAINER_BIND}")],
            "Entrypoint": [binary],
            "Cmd": [],
            "WorkingDir": "/data",
            "ExposedPorts": { "9000/tcp": {} },
            "Volumes": { "/data": {} },
            "StopSignal": "SIGTERM",
            "Labels": oci,
            // Probes every 2 s (every 0.1 s while starting, where the engine knows StartInterval), healthy at the
            // first 200 from /readyz.
            "Healthcheck": {
                "Test": ["CMD", binary, "healthcheck"],
                "Interval": 2 * SECOND,
                "Timeout": 3 * SECOND,
                "StartPeriod": 30 * SECOND,
                "StartInterval": SECOND / 10,
                "Retries": 3,
            },
        },
        "rootfs": { "type": "layers", "diff_ids": [layer_digest] },
        "history": [{ "created": labels.created, "created_by": "cargo xtask image" }],
    })
}

/// The anchors' tags: the exact version, the minor and the major (a pre-release gets its exact version alone).
fn version_tags(version: &str) -> Vec<String> {
    let parts: Vec<&str> = version.split('.').collect();
    match parts.as_slice() {
        [major, minor, patch] if [major, minor, patch].iter().all(|p| p.chars().all(|c| c.is_ascii_digit())) => {
            vec![version.to_string(), format!("{major}.{minor}"), major.to_string()]
        }
        _ => vec![version.to_string()],
    }
}

/// The repository the image is built from: GitHub Actions' variables, else the `origin` remote.
fn source_url() -> Option<String> {
    if let (Ok(server), Ok(repository)) = (std::env::var("GITHUB_SERVER_URL"), std::env::var("GITHUB_REPOSITORY")) {
        return Some(format!("{server}/{repository}"));
    }
    let output = Command::new("git").args(["remote", "get-url", "origin"]).output().ok()?;
    let url = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && url.starts_with("https://")).then(|| url.trim_end_matches(".git").to_string())
}

/// The shared libraries `binary` loads (with its interpreter), from `ldd`; none for a static binary.
fn shared_libraries(binary: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let output = Command::new("ldd").arg(binary).output().context("cannot run ldd")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    if text.contains("statically linked") || text.contains("not a dynamic executable") {
        return Ok(Vec::new());
    }
    if !output.status.success() {
        bail!("ldd {} failed: {text}", binary.display());
    }
    Ok(parse_ldd(&text))
}

/// The absolute paths in `ldd`'s output: `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` and the interpreter
/// `/lib64/ld-linux-x86-64.so.2 (0x…)`; the vDSO has none.
fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let path = line.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn host_triple() -> anyhow::Result<String> {
    let output = Command::new("rustc").arg("-vV").output().context("cannot run rustc -vV")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().find_map(|line| line.strip_prefix("host: ")).map(str::to_string).context("no host in rustc -vV")
}

fn git(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git").args(args).current_dir(root).output().context("cannot run git")?;
    if !output.status.success() {
        bail!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_the_exact_version_the_minor_and_the_major() {
        assert_eq!(version_tags("1.4.2"), ["1.4.2", "1.4", "1"]);
        assert_eq!(version_tags("0.1.0"), ["0.1.0", "0.1", "0"]);
        assert_eq!(version_tags("2.0.0-rc.1"), ["2.0.0-rc.1"]);
    }

    #[test]
    fn ldd_output_gives_the_libraries_and_the_interpreter() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f27)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f27)\n";
        assert_eq!(
            parse_ldd(text),
            [PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"), "/lib64/ld-linux-x86-64.so.2".into()]
        );
    }

    #[test]
    fn the_config_runs_the_binary_as_non_root_with_its_healthcheck_labels_and_the_container_bind() {
        let labels = Labels {
            version: "1.2.3",
            revision: "abc",
            created: "2026-12-07T00:00:00Z",
            source: Some("https://example.org/t"),
        };
        let config = image_config(&labels, "amd64", "sha256:00");
        assert_eq!(config["config"]["User"], "65532:65532");
        assert_eq!(
            config["config"]["Healthcheck"]["Test"],
            serde_json::json!(["CMD", "/usr/local/bin/tokenstack", "healthcheck"])
        );
        assert_eq!(config["config"]["Entrypoint"], serde_json::json!(["/usr/local/bin/tokenstack"]));
        assert!(config["config"]["Env"].as_array().expect("env").contains(&"TOKENSTACK_BIND=0.0.0.0:9000".into()));
        assert_eq!(config["config"]["Volumes"], serde_json::json!({ "/data": {} }));
        let oci = &config["config"]["Labels"];
        assert_eq!(
            (&oci["org.opencontainers.image.version"], &oci["org.opencontainers.image.revision"]),
            (&"1.2.3".into(), &"abc".into())
        );
        assert_eq!(oci["org.opencontainers.image.source"], "https://example.org/t");
        assert_eq!(config["rootfs"]["diff_ids"], serde_json::json!(["sha256:00"]));
    }
}
