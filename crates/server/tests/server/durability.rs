//! Durability of the SQL stores through the real server and its HTTP API.
//!
//! * SQLite: the `tokenstack` binary writes a token, a key change and a PAT, is killed with
//!   SIGKILL, restarts on the same file (same bootstrap credentials), and everything acknowledged is
//!   still there and authenticates.
//! * PostgreSQL: two replicas (in-process servers on different ports) share one database in a
//!   throwaway cluster: what one writes, the other serves at once, including a key change that
//!   must stop the old key on both.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use clap::Parser as _;
use reqwest::Method;
use serde_json::{Value, json};
use tokenstack_server::config::Config;

use crate::support::PgCluster;

/// Key of the bootstrap superuser `akadmin`.
pub(crate) const ADMIN_KEY: &str = "durable-bootstrap-key-0123456789abcdefghijklmnopqrstuvwxyzABCD";
/// PAT of the bootstrap NetBird owner `admin` (valid checksum).
pub(crate) const ADMIN_PAT: &str = "nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM";

/// One HTTP call; returns the status and the JSON body (`null` when empty).
async fn call(base: &str, method: Method, path: &str, auth: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}")).header("authorization", auth);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body read");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

fn token_auth(pat: &str) -> String {
    format!("Token {pat}")
}

/// Identifiers in a core token listing.
fn identifiers(listing: &Value) -> Vec<String> {
    listing["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|t| t["identifier"].as_str().expect("identifier").to_string())
        .collect()
}

/// The real binary, killed (SIGKILL) when dropped.
struct Binary {
    child: Child,
    base: String,
}

impl Binary {
    /// Starts the binary on port 0; its first stdout line, printed once it listens, names the address.
    async fn start(db: &Path, log: &Path) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenstack"))
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--store")
            .arg(format!("sqlite:{}", db.display()))
            .arg("--log-level")
            .arg("warn")
            .env("TOKENSTACK_BOOTSTRAP_TOKEN", ADMIN_KEY)
            .env("TOKENSTACK_BOOTSTRAP_PAT", ADMIN_PAT)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("log file"))
            .spawn()
            .expect("tokenstack starts");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("first line");
        let Some(base) = line.trim().strip_prefix("tokenstack listening on ") else {
            let status = child.wait().expect("wait");
            panic!("tokenstack exited with {status}: {}", std::fs::read_to_string(log).unwrap_or_default());
        };
        Binary { base: base.to_string(), child }
    }

    /// `kill -9`: no shutdown code runs.
    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sqlite_keeps_acknowledged_writes_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tokenstack.db");
    let log = dir.path().join("server.log");

    let first = Binary::start(&db, &log).await;
    let base = first.base.clone();
    let (status, _) = call(
        &base,
        Method::POST,
        "/api/v3/core/tokens/",
        &bearer(ADMIN_KEY),
        Some(json!({"identifier": "durable", "expiring": false})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = call(
        &base,
        Method::POST,
        "/api/v3/core/tokens/",
        &bearer(ADMIN_KEY),
        Some(json!({"identifier": "rotated", "expiring": false})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, viewed) =
        call(&base, Method::GET, "/api/v3/core/tokens/durable/view_key/", &bearer(ADMIN_KEY), None).await;
    assert_eq!(status, 200);
    let durable_key = viewed["key"].as_str().expect("key").to_string();
    let new_key = "rotated-before-the-kill-0123456789abcdefghijklmnopqrstuvwxyzAB";
    let (status, _) = call(
        &base,
        Method::POST,
        "/api/v3/core/tokens/rotated/set_key/",
        &bearer(ADMIN_KEY),
        Some(json!({"key": new_key})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, created) = call(
        &base,
        Method::POST,
        "/api/users/admin/tokens",
        &token_auth(ADMIN_PAT),
        Some(json!({"name": "laptop", "expires_in": 30})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let pat = created["plain_token"].as_str().expect("plain token").to_string();

    // Every write above was acknowledged; now the server dies without any chance to flush.
    first.kill_9();

    let second = Binary::start(&db, &log).await;
    let base = second.base.clone();
    let (status, listing) =
        call(&base, Method::GET, "/api/v3/core/tokens/?ordering=identifier", &bearer(&durable_key), None).await;
    assert_eq!(status, 200, "the token created before the kill authenticates: {listing}");
    assert!(identifiers(&listing).contains(&"durable".to_string()), "{listing}");
    let (status, _) = call(&base, Method::GET, "/api/v3/core/tokens/", &bearer(new_key), None).await;
    assert_eq!(status, 200, "the key set before the kill authenticates");
    let (status, listing) =
        call(&base, Method::GET, "/api/v3/core/tokens/?ordering=identifier", &bearer(ADMIN_KEY), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        identifiers(&listing),
        ["authentik-bootstrap-token", "durable", "rotated"],
        "restart keeps data, bootstrap is idempotent"
    );
    let (status, pats) = call(&base, Method::GET, "/api/users/admin/tokens", &token_auth(&pat), None).await;
    assert_eq!(status, 200, "the PAT created before the kill authenticates");
    let names: Vec<&str> = pats.as_array().expect("PAT list").iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "bootstrap PAT not duplicated by the restart: {names:?}");
    assert!(names.contains(&"laptop") && names.contains(&"bootstrap"));
    drop(second);
}

pub(crate) fn replica_config(store: &str) -> Config {
    Config::parse_from([
        "tokenstack",
        "--bind",
        "127.0.0.1:0",
        "--store",
        store,
        "--log-level",
        "warn",
        "--bootstrap-token",
        ADMIN_KEY,
        "--bootstrap-pat",
        ADMIN_PAT,
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_share_one_database() {
    let pg = PgCluster::start();
    let url = pg.create_database("replicas").await;
    // Both replicas start at once: migrations and bootstrap must not trip over each other.
    let config = replica_config(&url);
    let (a, b) = tokio::join!(tokenstack_server::start(&config), tokenstack_server::start(&config));
    let (a, b) = (a.expect("replica A starts"), b.expect("replica B starts"));
    let base_a = format!("http://{}", a.server.local_addr());
    let base_b = format!("http://{}", b.server.local_addr());
    assert_ne!(base_a, base_b);

    // Created through A: authenticates and lists through B at once.
    let (status, _) = call(
        &base_a,
        Method::POST,
        "/api/v3/core/tokens/",
        &bearer(ADMIN_KEY),
        Some(json!({"identifier": "shared", "expiring": false})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, viewed) =
        call(&base_a, Method::GET, "/api/v3/core/tokens/shared/view_key/", &bearer(ADMIN_KEY), None).await;
    assert_eq!(status, 200);
    let old_key = viewed["key"].as_str().expect("key").to_string();
    let (status, listing) =
        call(&base_b, Method::GET, "/api/v3/core/tokens/?identifier=shared", &bearer(&old_key), None).await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(identifiers(&listing), ["shared"]);
    let (status, listing) =
        call(&base_b, Method::GET, "/api/v3/core/tokens/?ordering=identifier", &bearer(ADMIN_KEY), None).await;
    assert_eq!(
        (status, identifiers(&listing)),
        (200, vec!["authentik-bootstrap-token".to_string(), "shared".to_string()])
    );

    // Key changed through A: the old key stops working through B at once, the new one works.
    let new_key = "replica-rotated-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
    let (status, _) = call(
        &base_a,
        Method::POST,
        "/api/v3/core/tokens/shared/set_key/",
        &bearer(ADMIN_KEY),
        Some(json!({"key": new_key})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = call(&base_b, Method::GET, "/api/v3/core/tokens/", &bearer(&old_key), None).await;
    assert_eq!((status, body), (403, json!({"detail": "Token invalid/expired"})));
    let (status, _) = call(&base_a, Method::GET, "/api/v3/core/tokens/", &bearer(&old_key), None).await;
    assert_eq!(status, 403);
    let (status, _) = call(&base_b, Method::GET, "/api/v3/core/tokens/", &bearer(new_key), None).await;
    assert_eq!(status, 200);

    // NetBird the other way round: a PAT created through B authenticates through A; deleted through
    // A, it stops through B.
    let (status, created) = call(
        &base_b,
        Method::POST,
        "/api/users/admin/tokens",
        &token_auth(ADMIN_PAT),
        Some(json!({"name": "ci", "expires_in": 7})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let pat = created["plain_token"].as_str().expect("plain token").to_string();
    let pat_id = created["personal_access_token"]["id"].as_str().expect("id").to_string();
    let (status, _) =
        call(&base_a, Method::GET, &format!("/api/users/admin/tokens/{pat_id}"), &token_auth(&pat), None).await;
    assert_eq!(status, 200);
    let (status, _) =
        call(&base_a, Method::DELETE, &format!("/api/users/admin/tokens/{pat_id}"), &token_auth(ADMIN_PAT), None).await;
    assert_eq!(status, 200);
    let (status, _) = call(&base_b, Method::GET, "/api/users/admin/tokens", &token_auth(&pat), None).await;
    assert_eq!(status, 401);

    a.server.close().await.expect("A stops");
    b.server.close().await.expect("B stops");
}
