//! The `tokenstack` binary: read the configuration, start the server, print generated credentials once,
//! serve until SIGTERM or SIGINT, then shut down gracefully.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use tokenstack_server::config::{Command, Config, ConfigError};

/// Exit status of a configuration error (a bad flag, variable or file value), as clap's usage errors.
const EXIT_CONFIG: u8 = 2;
/// Exit status of any other failure (the port, the store, a failed shutdown).
const EXIT_FAILURE: u8 = 1;

/// The message alone, with its causes: a failed start is not a crash, so no backtrace even with RUST_BACKTRACE.
fn fail(status: u8, error: anyhow::Error) -> ExitCode {
    eprintln!("tokenstack: {error:#}");
    ExitCode::from(status)
}

fn main() -> ExitCode {
    let config = match Config::load() {
        Ok(config) => config,
        // --help, --version and usage errors print themselves with clap's exit codes.
        Err(ConfigError::Cli(error)) => error.exit(),
        Err(error) => return fail(EXIT_CONFIG, error.into()),
    };
    // The probe needs no runtime: it starts and ends in a few milliseconds, every few seconds in a container.
    if let Some(Command::Healthcheck { timeout }) = config.command {
        return healthcheck(&config, Duration::from_secs(timeout));
    }
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run(config)),
        Err(error) => fail(EXIT_FAILURE, anyhow::Error::new(error).context("cannot start the async runtime")),
    }
}

/// Starts the server and serves until a signal.
async fn run(config: Config) -> ExitCode {
    let running = match tokenstack_server::start(&config).await {
        Ok(running) => running,
        Err(error) if error.generated_credentials().is_some() && config.store != "memory" => {
            // Stored durably, so the next start keeps them: print them now, or nobody would ever see them.
            if let Some(bootstrap) = error.generated_credentials() {
                println!(
                    "tokenstack did not start, but stored these generated credentials, which the next start keeps:"
                );
                print_generated(bootstrap);
            }
            let status = if error.is_configuration() { EXIT_CONFIG } else { EXIT_FAILURE };
            return fail(status, error.into());
        }
        Err(error) if error.is_configuration() => return fail(EXIT_CONFIG, error.into()),
        Err(error) => return fail(EXIT_FAILURE, error.into()),
    };
    match serve(&config, running).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(EXIT_FAILURE, error),
    }
}

/// Prints where the server listens and the generated credentials, then serves until SIGTERM or SIGINT.
async fn serve(config: &Config, running: tokenstack_server::Running) -> anyhow::Result<()> {
    let addr = running.server.local_addr();
    let scheme = if config.tls_cert.is_some() { "https" } else { "http" };
    let bootstrap = &running.bootstrap;
    println!("tokenstack listening on {scheme}://{addr}");
    println!("  authentik API: {scheme}://{addr}/api/v3   NetBird API: {scheme}://{addr}/api");
    // Generated credentials are printed once so `cargo run` gives a usable server; given ones never are.
    print_generated(bootstrap);
    // A durable store says which credentials it uses, so that a restart never leaves its owner guessing.
    if config.store != "memory" {
        if !bootstrap.authentik_generated {
            println!(
                "  authentik bootstrap token (user akadmin): {}",
                origin(config.bootstrap_token.is_some(), "token")
            );
        }
        if bootstrap.netbird_setup {
            println!("  NetBird: no owner until POST /api/setup (--netbird-setup)");
        } else if !bootstrap.netbird_generated {
            let user = &bootstrap.netbird_user;
            println!("  NetBird bootstrap PAT (user {user}): {}", origin(config.bootstrap_pat.is_some(), "pat"));
        }
    }

    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    running.log.flush();
    eprintln!("tokenstack: shutting down, waiting up to {}s for in-flight requests", config.shutdown_timeout);
    running.shutdown(Duration::from_secs(config.shutdown_timeout)).await.map_err(anyhow::Error::msg)?;
    eprintln!("tokenstack: stopped");
    Ok(())
}

/// `tokenstack healthcheck`: 0 when the configured server answers `/readyz` with a 200, else 1 with the reason on
/// stderr (Docker's HEALTHCHECK reads 0 and 1; it reserves 2).
fn healthcheck(config: &Config, timeout: Duration) -> ExitCode {
    let tls = config.tls_cert.is_some();
    match tokenstack_server::healthcheck::probe(config.bind, tls, timeout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tokenstack healthcheck: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Prints the credentials tokenstack generated (never given ones).
fn print_generated(bootstrap: &tokenstack_server::seed::Bootstrap) {
    if bootstrap.authentik_generated {
        println!("  authentik bootstrap token (user akadmin): {}", bootstrap.authentik_key.expose());
    }
    if let Some(pat) = bootstrap.netbird_pat.as_ref().filter(|_| bootstrap.netbird_generated) {
        println!("  NetBird bootstrap PAT (user {}): {}", bootstrap.netbird_user, pat.expose());
    }
}

/// Where a bootstrap credential that was not generated comes from, for a durable store's start.
fn origin(given: bool, flag: &str) -> String {
    if given {
        format!("given (--bootstrap-{flag})")
    } else {
        format!("kept from the store (generated and printed at its first start; pass --bootstrap-{flag} to replace it)")
    }
}
