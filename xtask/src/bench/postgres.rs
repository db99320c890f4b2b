//! The bench's own PostgreSQL: a throwaway cluster in `target/bench/pg` on 127.0.0.1 and a free port, as the
//! server's tests start one (`initdb` and `pg_ctl` from `pg_config --bindir` or `/usr/lib/postgresql/*/bin`, as
//! the `postgres` user when run as root), with PostgreSQL's default durability (`fsync` and
//! `synchronous_commit` on). Stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

pub(super) struct Postgres {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    as_postgres: bool,
    pub(super) version: String,
}

fn bindir() -> Result<PathBuf> {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        candidates.push(PathBuf::from(dir));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    candidates.into_iter().find(|dir| has_initdb(dir)).context(
        "PostgreSQL server binaries (initdb, pg_ctl) not found via $PG_BINDIR, `pg_config --bindir` or \
         /usr/lib/postgresql/*/bin: install them (apt-get install -y postgresql) or run with --stores memory,sqlite",
    )
}

impl Postgres {
    pub(super) fn start(root: &Path) -> Result<Postgres> {
        let bindir = bindir()?;
        let as_postgres = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
        let dir = root.join("target/bench/pg");
        let mut pg = Postgres { dir: dir.clone(), bindir, port: 0, as_postgres, version: String::new() };
        if dir.exists() {
            // Left by a run that died: stop its cluster (if it still runs) before removing it.
            let data = dir.join("data").display().to_string();
            let _ = pg.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)?;
        if as_postgres {
            let ok = Command::new("chown").arg("postgres:postgres").arg(&dir).status()?.success();
            if !ok {
                bail!("chown postgres {}", dir.display());
            }
        }
        let port = super::harness::free_port()?;
        pg.port = port;
        let data = pg.dir.join("data").display().to_string();
        pg.run("initdb", &["-D", &data, "-A", "trust", "-U", "tokenstack", "-E", "UTF8", "--no-locale"])?;
        let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200", pg.dir.display());
        let log = pg.dir.join("log").display().to_string();
        pg.run("pg_ctl", &["-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start"])?;
        pg.version = super::harness::command_line(&pg.bindir.join("postgres").to_string_lossy(), &["--version"]);
        Ok(pg)
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let binary = self.bindir.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(binary);
            c
        } else {
            Command::new(binary)
        };
        command.args(args).stdin(Stdio::null());
        command
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<()> {
        let out = self.command(program, args).output().with_context(|| format!("{program} cannot run"))?;
        if !out.status.success() {
            bail!("{program} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// Creates database `db` and returns its URL.
    pub(super) fn create_database(&self, db: &str) -> Result<String> {
        let port = self.port.to_string();
        self.run("createdb", &["-h", "127.0.0.1", "-p", &port, "-U", "tokenstack", db])?;
        Ok(format!("postgres://tokenstack@127.0.0.1:{}/{db}", self.port))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self
            .command("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
