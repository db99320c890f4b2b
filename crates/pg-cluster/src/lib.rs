//! A throwaway PostgreSQL cluster on 127.0.0.1: the one launcher of the workspace's tests and benchmarks.
//!
//! [`PgCluster::start`] runs `initdb` and `pg_ctl` from the PostgreSQL server binaries (`$PG_BINDIR`,
//! `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`) in a fresh directory. The cluster listens
//! on 127.0.0.1 and a free port only (its Unix socket stays in that directory) and trusts the user
//! `tokenstack`. As root it runs them as the `postgres` user through `runuser`, since initdb refuses root.
//!
//! Dropping the value stops the cluster, also when a test panics. A watchdog process stops it, and removes a
//! temporary directory, if this process dies without unwinding (or never drops it, as a `static` cluster).
//! Missing binaries are an error that says how to install them: nothing here skips.
//!
//! Plain std (processes and files), so that `cargo xtask` uses it without compiling an async runtime. Its
//! users: the server's integration tests (store conformance, durability, bad input), `cargo xtask bench`, and
//! `cargo xtask postgres`, which the shell scripts of `tests/bench/` call.

use std::fmt;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The role every cluster trusts (`initdb -U`); the URLs name it.
pub const USER: &str = "tokenstack";

/// The file in the cluster's directory that keeps its `pg_ctl start -o` options, for [`PgCluster::attach`].
const OPTIONS_FILE: &str = "pg_ctl.options";

/// How a cluster is made: [`PgCluster::start_with`].
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where the cluster lives. `None` (the default): a new directory under the system's temp directory,
    /// removed when the cluster is dropped. A given directory is replaced (a cluster left running there is
    /// stopped first) and kept after the cluster stops, with its `log`.
    pub dir: Option<PathBuf>,
    /// `fsync` on, PostgreSQL's default durability, for measurements. Off (the default) for tests: a test's
    /// database never outlives a machine crash, and fsync costs seconds per test on slow disks.
    pub durable: bool,
    /// `max_connections` (default 200: several stores with their pools at once).
    pub max_connections: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { dir: None, durable: false, max_connections: 200 }
    }
}

/// A launcher failure: the command that failed, with its output and the server log where they help.
pub struct Error(String);

impl Error {
    fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

// Debug shows the message as it is, so that `.unwrap()` and `.expect()` in a test print it readably.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A running PostgreSQL cluster with trust authentication for [`USER`].
pub struct PgCluster {
    dir: PathBuf,
    /// Whether `dir` is this value's own temporary directory, removed on drop.
    temporary: bool,
    bindir: PathBuf,
    port: u16,
    /// The `pg_ctl start -o` options the cluster runs with (its port among them).
    options: String,
    as_postgres: bool,
    watchdog: Option<Child>,
    /// Whether drop stops the cluster: false after [`PgCluster::detach`].
    stop_on_drop: bool,
}

impl fmt::Debug for PgCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgCluster").field("dir", &self.dir).field("port", &self.port).finish_non_exhaustive()
    }
}

impl PgCluster {
    /// A cluster for tests: a temporary directory, `fsync` off ([`Settings::default`]).
    pub fn start() -> Result<PgCluster, Error> {
        PgCluster::start_with(&Settings::default())
    }

    /// initdb and start, then wait until the cluster accepts connections (`pg_ctl -w`).
    pub fn start_with(settings: &Settings) -> Result<PgCluster, Error> {
        let bindir = bindir()?;
        let as_postgres = is_root();
        let (dir, temporary) = match &settings.dir {
            Some(dir) => (fresh_dir(dir, &bindir, as_postgres)?, false),
            None => (temporary_dir()?, true),
        };
        let mut cluster = PgCluster {
            dir,
            temporary,
            bindir,
            port: 0,
            options: String::new(),
            as_postgres,
            watchdog: None,
            stop_on_drop: false,
        };
        if as_postgres {
            // initdb refuses to run as root; the cluster belongs to `postgres`.
            let out = Command::new("chown").arg("postgres:postgres").arg(&cluster.dir).output();
            check("chown postgres", out)?;
        }
        let data = cluster.data_dir();
        cluster.run("initdb", &["-D", &data, "-A", "trust", "-U", USER, "-E", "UTF8", "--no-locale", "--no-sync"])?;
        let fsync = if settings.durable { "" } else { " -c fsync=off" };
        let mut last_error = Error::new("PostgreSQL did not start");
        // A free port can be taken by someone else before PostgreSQL binds it: then try another.
        for _ in 0..5 {
            cluster.port = free_port()?;
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections={}{fsync}",
                cluster.port,
                cluster.dir.display(),
                settings.max_connections
            );
            match cluster.pg_ctl_start(&options) {
                Ok(()) => {
                    cluster.options = options;
                    cluster.stop_on_drop = true;
                    std::fs::write(cluster.dir.join(OPTIONS_FILE), &cluster.options)
                        .map_err(|e| io_error(&cluster.dir, e))?;
                    cluster.spawn_watchdog();
                    return Ok(cluster);
                }
                Err(err) => last_error = err,
            }
        }
        Err(last_error)
    }

    /// The cluster that [`start_with`](PgCluster::start_with) started in `dir` and [`detach`](PgCluster::detach)
    /// left running (for `cargo xtask postgres`). Dropping it leaves the cluster running too; [`stop`](PgCluster::stop)
    /// stops it.
    pub fn attach(dir: &Path) -> Result<PgCluster, Error> {
        let options = std::fs::read_to_string(dir.join(OPTIONS_FILE))
            .map_err(|e| Error::new(format!("{} holds no cluster started by this launcher: {e}", dir.display())))?;
        let port = options
            .split_whitespace()
            .skip_while(|word| *word != "-p")
            .nth(1)
            .and_then(|port| port.parse().ok())
            .ok_or_else(|| Error::new(format!("no port in {}", dir.join(OPTIONS_FILE).display())))?;
        Ok(PgCluster {
            dir: dir.to_path_buf(),
            temporary: false,
            bindir: bindir()?,
            port,
            options,
            as_postgres: is_root(),
            watchdog: None,
            stop_on_drop: false,
        })
    }

    /// Leaves the cluster running when this value goes (no watchdog either); [`attach`](PgCluster::attach)
    /// finds it again. A temporary directory is then not removed.
    pub fn detach(mut self) {
        self.stop_on_drop = false;
        self.temporary = false;
        self.end_watchdog();
    }

    /// The cluster's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's directory: `data/`, the server `log`, the Unix socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The PostgreSQL server binaries it runs.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// The URL of database `db` in this cluster (which need not exist).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates an empty database (`createdb`) and returns its URL.
    pub fn create_database(&self, db: &str) -> Result<String, Error> {
        let port = self.port.to_string();
        self.run("createdb", &["-h", "127.0.0.1", "-p", &port, "-U", USER, db])?;
        Ok(self.url(db))
    }

    /// `pg_ctl stop -m fast`: PostgreSQL ends every connection and shuts down; the data stays on disk.
    pub fn stop(&self) -> Result<(), Error> {
        self.run("pg_ctl", &["-D", &self.data_dir(), "-m", "fast", "-w", "-t", "60", "stop"])
    }

    /// Starts a stopped cluster again, on the same port and with the same data; returns once it accepts
    /// connections.
    pub fn start_again(&self) -> Result<(), Error> {
        self.pg_ctl_start(&self.options)
    }

    /// `postgres --version`, such as `postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)`.
    pub fn version(&self) -> Result<String, Error> {
        let out = Command::new(self.bindir.join("postgres")).arg("--version").stdin(Stdio::null()).output();
        let out = check("postgres --version", out)?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn pg_ctl_start(&self, options: &str) -> Result<(), Error> {
        let (data, log) = (self.data_dir(), self.log_file());
        self.run("pg_ctl", &["-D", &data, "-o", options, "-l", &log, "-w", "-t", "60", "start"]).map_err(|err| {
            Error::new(format!(
                "PostgreSQL did not start: {err}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ))
        })
    }

    fn log_file(&self) -> String {
        self.dir.join("log").display().to_string()
    }

    fn data_dir(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        command(&self.bindir, self.as_postgres, program, args)
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), Error> {
        check(program, self.command(program, args).output()).map(drop)
    }

    /// Stops the cluster, and removes a temporary directory, when this process dies without running `Drop`.
    fn spawn_watchdog(&mut self) {
        let stop = self.command("pg_ctl", &["-D", &self.data_dir(), "-m", "immediate", "-w", "stop"]);
        let stop_line = std::iter::once(stop.get_program())
            .chain(stop.get_args())
            .map(|a| format!("'{}'", a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        let remove = if self.temporary { format!("; rm -rf '{}'", self.dir.display()) } else { String::new() };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop_line} >/dev/null 2>&1{remove}",
            pid = std::process::id(),
        );
        self.watchdog = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
    }

    fn end_watchdog(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.stop_on_drop {
            let data = self.data_dir();
            let _ = self
                .command("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        self.end_watchdog();
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The PostgreSQL server binaries directory, or an error that says how to get it.
fn bindir() -> Result<PathBuf, Error> {
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
    candidates.into_iter().find(|dir| has_initdb(dir)).ok_or_else(|| {
        Error::new(
            "PostgreSQL server binaries (initdb, pg_ctl) not found via $PG_BINDIR, `pg_config --bindir` or \
             /usr/lib/postgresql/*/bin: install them (`apt-get install -y postgresql`)",
        )
    })
}

fn command(bindir: &Path, as_postgres: bool, program: &str, args: &[&str]) -> Command {
    let binary = bindir.join(program);
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(binary);
        c
    } else {
        Command::new(binary)
    };
    command.args(args).stdin(Stdio::null());
    command
}

/// The output of a command that ran and succeeded, else an error with what it printed.
fn check(what: &str, output: std::io::Result<Output>) -> Result<Output, Error> {
    let out = output.map_err(|e| Error::new(format!("{what} cannot run: {e}")))?;
    if !out.status.success() {
        return Err(Error::new(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out)
}

fn io_error(path: &Path, err: std::io::Error) -> Error {
    Error::new(format!("{}: {err}", path.display()))
}

fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::new(format!("no free port: {e}")))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| Error::new(format!("no free port: {e}")))
}

/// A new, empty directory of this process under the system's temp directory.
fn temporary_dir() -> Result<PathBuf, Error> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir();
    loop {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("tokenstack-pg-{}-{}-{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let dir = base.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(io_error(&dir, err)),
        }
    }
}

/// `dir`, empty: a cluster left running there by a run that died is stopped, then the directory replaced.
fn fresh_dir(dir: &Path, bindir: &Path, as_postgres: bool) -> Result<PathBuf, Error> {
    if dir.exists() {
        let data = dir.join("data");
        if data.join("postmaster.pid").exists() {
            let data = data.display().to_string();
            let _ = command(bindir, as_postgres, "pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        std::fs::remove_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    Ok(dir.to_path_buf())
}

/// Whether this process runs as root (then the cluster runs as `postgres`).
fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts_connections(cluster: &PgCluster) -> bool {
        let port = cluster.port().to_string();
        let ready = Command::new(cluster.bindir().join("pg_isready")).args(["-h", "127.0.0.1", "-p", &port]).output();
        ready.is_ok_and(|out| out.status.success())
    }

    /// Stops an attached cluster even when an assertion fails.
    struct StopOnDrop(PgCluster);

    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            let _ = self.0.stop();
        }
    }

    #[test]
    fn a_cluster_takes_databases_restarts_detaches_and_goes() {
        let cluster = PgCluster::start().unwrap();
        let url = cluster.create_database("probe").unwrap();
        assert_eq!(url, format!("postgres://tokenstack@127.0.0.1:{}/probe", cluster.port()));
        assert!(accepts_connections(&cluster));
        let again = cluster.create_database("probe").unwrap_err().to_string();
        assert!(again.contains("createdb failed") && again.contains("already exists"), "{again}");
        cluster.stop().unwrap();
        assert!(!accepts_connections(&cluster));
        cluster.start_again().unwrap();
        assert!(accepts_connections(&cluster));
        assert!(cluster.version().unwrap().starts_with("postgres (PostgreSQL) "));
        let dir = cluster.dir().to_path_buf();
        drop(cluster);
        assert!(!dir.exists(), "a temporary cluster's directory goes with it");

        // A cluster in a given directory, left running and found there again (`cargo xtask postgres`).
        let parent = temporary_dir().unwrap();
        let dir = parent.join("pg");
        let settings = Settings { dir: Some(dir.clone()), durable: true, ..Settings::default() };
        let cluster = PgCluster::start_with(&settings).unwrap();
        let port = cluster.port();
        cluster.detach();
        let attached = StopOnDrop(PgCluster::attach(&dir).unwrap());
        assert_eq!(attached.0.port(), port);
        assert!(accepts_connections(&attached.0), "detach leaves the cluster running");
        assert_eq!(attached.0.create_database("later").unwrap(), attached.0.url("later"));
        drop(attached);
        assert!(dir.join("log").exists(), "a given directory stays");
        // Starting in the same directory again replaces it.
        let replaced = PgCluster::start_with(&settings).unwrap();
        assert!(accepts_connections(&replaced));
        drop(replaced);
        std::fs::remove_dir_all(&parent).unwrap();
        assert!(PgCluster::attach(&dir).is_err());
    }
}
