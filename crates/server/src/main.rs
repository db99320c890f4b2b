//! The `tokenstack` binary: parse flags, start the server, print generated credentials once, serve until stopped.

use clap::Parser;
use tokenstack_server::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let running = tokenstack_server::start(&config).await?;
    let addr = running.server.local_addr();
    let bootstrap = &running.bootstrap;
    println!("tokenstack listening on http://{addr}");
    println!("  authentik API: http://{addr}/api/v3   NetBird API: http://{addr}/api");
    // Generated credentials are printed once so `cargo run` gives a usable server; given ones never are.
    if bootstrap.authentik_generated {
        println!("  authentik bootstrap token (user akadmin): {}", bootstrap.authentik_key.expose());
    }
    if bootstrap.netbird_generated {
        println!("  NetBird bootstrap PAT (user {}): {}", bootstrap.netbird_user, bootstrap.netbird_pat.expose());
    }
    let server = running.server;
    tokio::select! {
        result = server.wait_for_shutdown() => result.map_err(anyhow::Error::msg)?,
        _ = tokio::signal::ctrl_c() => {
            server.close().await.map_err(anyhow::Error::msg)?;
        }
    }
    Ok(())
}
