//! `cargo xtask postgres start|createdb|stop DIR`: the workspace's one PostgreSQL launcher
//! (`tokenstack-pg-cluster`) for shell scripts, which cannot hold a Rust value that stops the cluster when it
//! goes. `start` leaves the cluster running in DIR (with PostgreSQL's default durability, as the benchmarks
//! measure it) and prints the URL of its `postgres` database; `createdb DIR NAME` prints the new database's URL;
//! `stop DIR` stops it and keeps DIR (the caller removes it). A script stops the cluster in its `trap … EXIT`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tokenstack_pg_cluster::{PgCluster, Settings};

pub fn run(args: &[&str]) -> anyhow::Result<u8> {
    match args {
        ["start", dir] => {
            let settings = Settings { dir: Some(absolute(dir)?), durable: true, ..Settings::default() };
            let cluster = PgCluster::start_with(&settings)?;
            println!("{}", cluster.url("postgres"));
            cluster.detach();
        }
        ["createdb", dir, name] => println!("{}", PgCluster::attach(&absolute(dir)?)?.create_database(name)?),
        ["stop", dir] => PgCluster::attach(&absolute(dir)?)?.stop()?,
        _ => bail!("usage: cargo xtask postgres start DIR | createdb DIR NAME | stop DIR"),
    }
    Ok(0)
}

fn absolute(dir: &str) -> anyhow::Result<PathBuf> {
    std::path::absolute(Path::new(dir)).with_context(|| format!("{dir} as an absolute path"))
}
