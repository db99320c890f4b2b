//! Containers in the examples: `docker` as podman, with this sandbox's limits, and the release tags on CI's image
//! (`cargo xtask doctest`).

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use anyhow::bail;

/// `PATH` for the examples: with podman installed, a `docker` in front that runs podman (as Debian's podman-docker
/// does; no Docker engine runs where CI does), and `CONTAINERS_CONF` (set by the caller) giving every container the
/// limits this sandbox accepts and runc.
pub(super) fn containers(sandbox: &Path) -> anyhow::Result<OsString> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let has_podman = std::env::split_paths(&path).any(|dir| dir.join("podman").is_file());
    if !has_podman {
        return Ok(path);
    }
    let bin = sandbox.join("bin");
    std::fs::create_dir_all(&bin)?;
    let shim = bin.join("docker");
    std::fs::write(&shim, "#!/bin/sh\nexec podman \"$@\"\n")?;
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    std::fs::write(sandbox.join("containers.conf"), CONTAINERS_CONF)?;
    let mut dirs = vec![bin];
    dirs.extend(std::env::split_paths(&path));
    Ok(std::env::join_paths(dirs)?)
}

/// The release tags an example names (`tokenstack:0.1`), moved to the image CI built (`tokenstack:dev`, the debug
/// build of the same commit) for one document: CI builds no release binary, and a release image already in the
/// local store may be of another commit. Returns each tag moved with the image it named before, which
/// [`restore_tags`] gives back when the document ends.
pub(super) fn release_tags() -> anyhow::Result<Vec<(String, Option<String>)>> {
    if !podman_ok(&["image", "exists", "tokenstack:dev"]) {
        return Ok(Vec::new());
    }
    let version = env!("CARGO_PKG_VERSION");
    let minor = version.rsplit_once('.').map_or(version, |(minor, _)| minor);
    let major = version.split('.').next().unwrap_or(version);
    let mut moved = Vec::new();
    for tag in [version, minor, major] {
        let tag = format!("tokenstack:{tag}");
        let before = Command::new("podman")
            .args(["image", "inspect", "--format", "{{.Id}}", &tag])
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned());
        if !podman_ok(&["tag", "tokenstack:dev", &tag]) {
            bail!("podman tag tokenstack:dev {tag} failed");
        }
        moved.push((tag, before));
    }
    Ok(moved)
}

/// Gives the tags [`release_tags`] moved back to the images they named, or takes them away.
pub(super) fn restore_tags(moved: &[(String, Option<String>)]) {
    for (tag, before) in moved {
        match before {
            Some(image) => podman_ok(&["tag", image, tag]),
            None => podman_ok(&["untag", "tokenstack:dev", tag]),
        };
    }
}

fn podman_ok(args: &[&str]) -> bool {
    Command::new("podman").args(args).output().is_ok_and(|output| output.status.success())
}

/// podman's settings for the examples' containers: the limits this sandbox accepts (it refuses podman's default
/// high rlimits), and runc.
pub(super) const CONTAINERS_CONF: &str =
    "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n[engine]\nruntime = \"runc\"\n";
