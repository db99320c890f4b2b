//! The image's one layer and the `docker save` archive around it, written as reproducible tar files: entries in a
//! fixed order, owned by root unless said otherwise, every time stamp the commit's.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};

/// The user the image runs as (the distroless `nonroot` ids), owner of `/data`.
pub const USER_ID: u64 = 65532;

/// Where the binary lives in the image.
pub const BINARY_PATH: &str = "usr/local/bin/tokenstack";

/// One file of the layer: its path without the leading `/`, its mode and its contents.
pub struct File {
    pub path: String,
    pub mode: u32,
    pub contents: Vec<u8>,
}

/// The layer as an uncompressed tar: the directories of every file, `/data` owned by [`USER_ID`], `/tmp`, the
/// `/etc/passwd` and `/etc/group` that name the user, and `files`.
pub fn layer(files: Vec<File>, mtime: u64) -> anyhow::Result<Vec<u8>> {
    let mut files = files;
    files.push(File {
        path: "etc/passwd".to_string(),
        mode: 0o644,
        contents: format!(
            "root:x:0:0:root:/root:/sbin/nologin\ntokenstack:x:{USER_ID}:{USER_ID}:tokenstack:/data:/sbin/nologin\n"
        )
        .into_bytes(),
    });
    files.push(File {
        path: "etc/group".to_string(),
        mode: 0o644,
        contents: format!("root:x:0:\ntokenstack:x:{USER_ID}:\n").into_bytes(),
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut directories: BTreeSet<String> = ["data", "tmp"].iter().map(|d| d.to_string()).collect();
    for file in &files {
        let mut parent = Path::new(&file.path).parent();
        while let Some(dir) = parent.filter(|dir| !dir.as_os_str().is_empty()) {
            directories.insert(dir.to_string_lossy().into_owned());
            parent = dir.parent();
        }
    }
    let mut builder = tar::Builder::new(Vec::new());
    for dir in &directories {
        let (mode, owner) = match dir.as_str() {
            "data" => (0o755, USER_ID),
            "tmp" => (0o1777, 0),
            _ => (0o755, 0),
        };
        let mut header = header(tar::EntryType::Directory, mode, owner, mtime);
        builder.append_data(&mut header, format!("{dir}/"), std::io::empty()).context("tar directory")?;
    }
    for file in &files {
        let mut header = header(tar::EntryType::Regular, file.mode, 0, mtime);
        header.set_size(file.contents.len() as u64);
        builder.append_data(&mut header, &file.path, file.contents.as_slice()).context("tar file")?;
    }
    builder.into_inner().context("tar layer")
}

fn header(kind: tar::EntryType, mode: u32, owner: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(owner);
    header.set_gid(owner);
    header.set_mtime(mtime);
    header.set_size(0);
    header
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256:");
    for byte in hash {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// Writes the archive `docker save` writes and `docker load` and `podman load` read: `manifest.json` naming the
/// config (`<hex>.json`), the tags and the layer blob (`<hex>/layer.tar`, or `<hex>/layer.tar.gz` when `gzip`: both
/// loaders decompress a layer, while podman does not decompress a whole archive).
pub fn write_archive(
    out: impl Write,
    config: &[u8],
    blob: &[u8],
    gzip: bool,
    tags: &[String],
    mtime: u64,
) -> anyhow::Result<()> {
    let config_name = format!("{}.json", digest(config).trim_start_matches("sha256:"));
    let layer_dir = digest(blob).trim_start_matches("sha256:").to_string();
    let layer_name = format!("{layer_dir}/layer.tar{}", if gzip { ".gz" } else { "" });
    let manifest = serde_json::json!([{ "Config": config_name, "RepoTags": tags, "Layers": [layer_name] }]);
    let manifest = serde_json::to_vec(&manifest)?;
    let mut builder = tar::Builder::new(out);
    let mut dir = header(tar::EntryType::Directory, 0o755, 0, mtime);
    builder.append_data(&mut dir, format!("{layer_dir}/"), std::io::empty())?;
    for (name, contents) in [(layer_name.as_str(), blob), (config_name.as_str(), config), ("manifest.json", &manifest)]
    {
        let mut entry = header(tar::EntryType::Regular, 0o644, 0, mtime);
        entry.set_size(contents.len() as u64);
        builder.append_data(&mut entry, name, contents)?;
    }
    builder.into_inner()?.flush()?;
    Ok(())
}

/// `layer` compressed with gzip at its best level, with no name or time in its header (the same bytes every time).
pub fn gzip(layer: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::best());
    encoder.write_all(layer)?;
    Ok(encoder.finish()?)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn entries(tar: &[u8]) -> Vec<(String, u32, u64, Vec<u8>)> {
        let mut archive = tar::Archive::new(tar);
        let mut out = Vec::new();
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let header = entry.header().clone();
            let mut contents = Vec::new();
            entry.read_to_end(&mut contents).expect("contents");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            out.push((path, header.mode().expect("mode"), header.uid().expect("uid"), contents));
        }
        out
    }

    #[test]
    fn the_layer_holds_the_files_their_directories_data_tmp_and_the_user() {
        let binary = File { path: BINARY_PATH.to_string(), mode: 0o755, contents: b"\x7fELF".to_vec() };
        let layer = layer(vec![binary], 1_700_000_000).expect("layer");
        let listing: Vec<(String, u32, u64)> =
            entries(&layer).into_iter().map(|(path, mode, uid, _)| (path, mode, uid)).collect();
        let expected = [
            ("data/", 0o755, USER_ID),
            ("etc/", 0o755, 0),
            ("tmp/", 0o1777, 0),
            ("usr/", 0o755, 0),
            ("usr/local/", 0o755, 0),
            ("usr/local/bin/", 0o755, 0),
            ("etc/group", 0o644, 0),
            ("etc/passwd", 0o644, 0),
            ("usr/local/bin/tokenstack", 0o755, 0),
        ];
        let expected: Vec<(String, u32, u64)> = expected.iter().map(|(p, m, u)| (p.to_string(), *m, *u)).collect();
        assert_eq!(listing, expected);
        // The same input gives the same bytes, so the same commit gives the same image id.
        let again = File { path: BINARY_PATH.to_string(), mode: 0o755, contents: b"\x7fELF".to_vec() };
        assert_eq!(digest(&layer), digest(&super::layer(vec![again], 1_700_000_000).expect("layer")));
    }

    #[test]
    fn the_archive_names_config_tags_and_layer_by_digest() {
        let mut archive = Vec::new();
        let tags = vec!["tokenstack:1.2.3".to_string(), "tokenstack:1.2".to_string()];
        write_archive(&mut archive, b"{}", b"layer", false, &tags, 0).expect("archive");
        let files = entries(&archive);
        let manifest = files.iter().find(|(path, ..)| path == "manifest.json").expect("manifest.json");
        let manifest: serde_json::Value = serde_json::from_slice(&manifest.3).expect("json");
        let config = format!("{}.json", digest(b"{}").trim_start_matches("sha256:"));
        let layer = format!("{}/layer.tar", digest(b"layer").trim_start_matches("sha256:"));
        assert_eq!(manifest, serde_json::json!([{ "Config": config, "RepoTags": tags, "Layers": [layer] }]));
        assert!(files.iter().any(|(path, .., contents)| *path == layer && contents == b"layer"));
        assert_eq!(digest(b""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        // A compressed layer is named as such; its blob decompresses to the layer.
        let blob = gzip(b"layer").expect("gzip");
        assert_eq!(blob, gzip(b"layer").expect("gzip"), "the same bytes every time");
        let mut archive = Vec::new();
        write_archive(&mut archive, b"{}", &blob, true, &tags, 0).expect("archive");
        let name = format!("{}/layer.tar.gz", digest(&blob).trim_start_matches("sha256:"));
        let files = entries(&archive);
        let (_, _, _, contents) = files.iter().find(|(path, ..)| *path == name).expect("the gzip layer");
        let mut layer = Vec::new();
        flate2::read::GzDecoder::new(contents.as_slice()).read_to_end(&mut layer).expect("gunzip");
        assert_eq!(layer, b"layer");
    }
}
