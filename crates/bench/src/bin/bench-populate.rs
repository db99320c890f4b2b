//! Fills a store for `cargo xtask bench` before the real `tokenstack` binary starts on it: `--tokens N` core
//! tokens (100 per authentik user) and `--pats M` (default N) NetBird PATs (100 per NetBird user), with the
//! users they belong to, written through the store library (`Store::import`, one transaction).
//!
//! `--store sqlite:…` or `postgres://…` writes that database; `--store memory --seed-out FILE` writes the same
//! rows as a seed document (JSON, which the `--seed` YAML loader reads) instead. Prints one `READY {json}` line:
//! what the load scenarios aim at (a token identifier and a username in the middle of the data) and the load time.

use std::time::Instant;

use chrono::{TimeDelta, Utc};
use tokenstack_server::seed::SeedFile;
use tokenstack_server::store::Snapshot;
use uuid::Uuid;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let (n, pats) = tokenstack_bench::sizes()?;
    let url = tokenstack_bench::arg("--store").ok_or_else(|| anyhow::anyhow!("--store URL is required"))?;
    let snapshot = snapshot(n, pats);
    let users = snapshot.ak_users.len() - 1;
    if url == "memory" {
        let path = tokenstack_bench::arg("--seed-out").ok_or_else(|| anyhow::anyhow!("--seed-out FILE is required"))?;
        let seed = SeedFile::from_snapshot(snapshot)?;
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        serde_json::to_writer(file, &seed)?;
    } else {
        let store = tokenstack_server::store::open(&url).await?;
        store.import(snapshot).await?;
        store.close().await;
    }
    tokenstack_bench::ready(&serde_json::json!({
        "tokens": n,
        "pats": pats,
        "identifier": format!("bench-{:07}", n / 2),
        "set_key_identifier": format!("bench-{:07}", n / 3),
        "username": format!("bench-user-{}", users / 2),
        "load_ms": started.elapsed().as_secs_f64() * 1000.0,
    }));
    Ok(())
}

/// The bench users, their core tokens and PATs (`tokenstack_bench::{users, core_token, pat}`).
fn snapshot(n: usize, pats: usize) -> Snapshot {
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    let mut snapshot = tokenstack_bench::users(n, pats, now);
    let pk_seed = Uuid::new_v4().as_u128();
    // Far enough that no run of the bench meets the expiry sweep.
    snapshot.core_tokens =
        (0..n).map(|i| tokenstack_bench::core_token(i, pk_seed, now + TimeDelta::days(30))).collect();
    snapshot.pats = (0..pats).map(|i| tokenstack_bench::pat(i, now)).collect();
    snapshot
}
