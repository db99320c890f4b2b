//! Test support of the server's integration tests: a throwaway PostgreSQL cluster.
//!
//! `PgCluster::start` runs `initdb` and `pg_ctl` from the PostgreSQL server binaries
//! (`pg_config --bindir`, else `/usr/lib/postgresql/*/bin`, or `$PG_BINDIR`) in a fresh temp dir,
//! listening on 127.0.0.1 and a free port only; as root it runs them as the `postgres` user through
//! `runuser`. The cluster stops when the value drops (also when a test panics), and a watchdog
//! process stops it and removes its directory if the test process dies without unwinding. Missing
//! binaries make the test fail with a message saying how to install them: it never skips. `stop` and
//! `start_again` take a running cluster down and back up on the same port, for outage tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use sqlx::{Connection, Executor};

/// A running throwaway PostgreSQL cluster with trust authentication for the user `tokenstack`.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    port: u16,
    /// The `pg_ctl start -o` options the cluster runs with (its port among them), for [`PgCluster::start_again`].
    options: String,
    as_postgres: bool,
    watchdog: Option<Child>,
}

/// The PostgreSQL server binaries directory, or a panic that says how to get it.
fn pg_bindir() -> PathBuf {
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
    candidates.into_iter().find(|dir| has_initdb(dir)).unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries (initdb, pg_ctl) not found via $PG_BINDIR, `pg_config --bindir` or \
             /usr/lib/postgresql/*/bin: install them (`apt-get install -y postgresql`, as .ci/run does). \
             The PostgreSQL store tests never skip."
        )
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0").unwrap_or(false)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

impl PgCluster {
    /// initdb + start; panics (failing the test) with the server log when anything goes wrong.
    pub fn start() -> PgCluster {
        let bindir = pg_bindir();
        let as_postgres = is_root();
        let dir = tempfile::Builder::new().prefix("tokenstack-pg-").tempdir().expect("temp dir");
        if as_postgres {
            // initdb refuses to run as root; the cluster belongs to `postgres`.
            let status = Command::new("chown").arg("postgres:postgres").arg(dir.path()).status().expect("chown runs");
            assert!(status.success(), "chown postgres {}", dir.path().display());
        }
        let mut cluster = PgCluster { dir, bindir, port: 0, options: String::new(), as_postgres, watchdog: None };
        let data = cluster.data_dir();
        cluster
            .run("initdb", &["-D", &data, "-A", "trust", "-U", "tokenstack", "-E", "UTF8", "--no-locale", "--no-sync"]);
        let mut last_error = String::new();
        for _ in 0..5 {
            cluster.port = free_port();
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                cluster.port,
                cluster.dir.path().display()
            );
            let log = cluster.log_file();
            let out = cluster
                .command("pg_ctl", &["-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start"])
                .output()
                .expect("pg_ctl runs");
            if out.status.success() {
                cluster.options = options;
                cluster.spawn_watchdog();
                return cluster;
            }
            last_error = format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        panic!("PostgreSQL did not start: {last_error}");
    }

    /// `pg_ctl stop -m fast`: PostgreSQL ends every connection and shuts down; the data stays on disk.
    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data_dir(), "-m", "fast", "-w", "-t", "60", "stop"]);
    }

    /// Starts a stopped cluster again, on the same port and with the same data; returns once it accepts
    /// connections (`pg_ctl -w`).
    pub fn start_again(&self) {
        let (data, log) = (self.data_dir(), self.log_file());
        self.run("pg_ctl", &["-D", &data, "-o", &self.options, "-l", &log, "-w", "-t", "60", "start"]);
    }

    fn log_file(&self) -> String {
        self.dir.path().join("log").display().to_string()
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
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

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program, args).output().unwrap_or_else(|e| panic!("{program} cannot run: {e}"));
        assert!(
            out.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the cluster and removes its directory if this process dies without running `Drop`.
    fn spawn_watchdog(&mut self) {
        let stop = self.command("pg_ctl", &["-D", &self.data_dir(), "-m", "immediate", "-w", "stop"]);
        let stop_line = std::iter::once(stop.get_program())
            .chain(stop.get_args())
            .map(|a| format!("'{}'", a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop_line} >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            dir = self.dir.path().display()
        );
        self.watchdog = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
    }

    /// The URL of database `db` in this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://tokenstack@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub async fn create_database(&self, db: &str) -> String {
        let mut conn = sqlx::PgConnection::connect(&self.url("postgres")).await.expect("connect to the cluster");
        conn.execute(format!("CREATE DATABASE \"{db}\"").as_str()).await.expect("CREATE DATABASE");
        conn.close().await.ok();
        self.url(db)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self
            .command("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}
