//! tokenstack on a memory store bulk-loaded through the `Store` trait: `--tokens N` core tokens
//! (100 per authentik user) imported as a seed file is, then `--pats M` (default N) NetBird PATs
//! (100 per NetBird user) inserted one by one, then the real server (`start_with_store`).
//!
//! `READY` reports the address, the credentials to load it with, the start-up time and the resident
//! set size after each loading step.

use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeDelta, Utc};
use tokenstack_server::config::Config;
use tokenstack_server::secrets::{generate_key, generate_pat};
use tokenstack_server::store::{MemoryStore, Store};
use uuid::Uuid;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let (n, pats) = tokenstack_bench::sizes()?;
    let level = tokenstack_bench::arg("--log-level").unwrap_or_else(|| "warn".into());
    let bind = tokenstack_bench::bind()?;
    let rss_start = tokenstack_bench::rss_bytes();
    let store = Arc::new(MemoryStore::new());
    let now = Utc::now().trunc_subsecs_micros();
    let key = generate_key();
    let pat = generate_pat().0;

    // Users first (with `akadmin` and the NetBird owner, so that the bootstrap in `start` finds them
    // and never exports a million rows), then the core tokens as one snapshot, as `--seed` loads.
    let mut snapshot = tokenstack_bench::users(n, pats, now);
    let users = snapshot.ak_users.len() - 1;
    store.import(snapshot.clone()).await?;
    let rss_users = tokenstack_bench::rss_bytes();
    let pk_seed = Uuid::new_v4().as_u128();
    snapshot.core_tokens.reserve(n);
    snapshot.core_tokens.extend((0..n).map(|i| tokenstack_bench::core_token(i, pk_seed, now + TimeDelta::days(1))));
    store.import(snapshot).await?;
    let rss_core = tokenstack_bench::rss_bytes();
    let core_loaded = started.elapsed();
    for i in 0..pats {
        store.insert_pat(tokenstack_bench::pat(i, now)).await?;
    }
    let rss_pats = tokenstack_bench::rss_bytes();
    let pats_loaded = started.elapsed();

    let config = <Config as clap::Parser>::try_parse_from([
        "tokenstack",
        "--bind",
        &bind.to_string(),
        "--log-level",
        &level,
        "--bootstrap-token",
        &key,
        "--bootstrap-pat",
        &pat,
    ])?;
    let running = tokenstack_server::start_with_store(&config, store).await?;
    let startup = started.elapsed();
    tokenstack_bench::ready(&serde_json::json!({
        "addr": running.server.local_addr().to_string(),
        "tokens": n,
        "pats": pats,
        "key": key,
        "pat": pat,
        "nb_user": "admin",
        "identifier": format!("bench-{:07}", n / 2),
        "username": format!("bench-user-{}", users / 2),
        "startup_ms": startup.as_secs_f64() * 1000.0,
        "core_loaded_ms": core_loaded.as_secs_f64() * 1000.0,
        "pats_loaded_ms": pats_loaded.as_secs_f64() * 1000.0,
        "rss_start": rss_start,
        "rss_users": rss_users,
        "rss_core": rss_core,
        "rss_pats": rss_pats,
    }));
    running.server.await.map_err(anyhow::Error::msg)
}

trait TruncMicros {
    fn trunc_subsecs_micros(self) -> Self;
}

impl TruncMicros for chrono::DateTime<Utc> {
    fn trunc_subsecs_micros(self) -> Self {
        chrono::SubsecRound::trunc_subsecs(self, 6)
    }
}
