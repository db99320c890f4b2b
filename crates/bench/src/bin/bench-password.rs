//! The cost of one password check (`PasswordHash::verify`; issue 26's budget is 0.1 ms of CPU): `--checks N`
//! (default 20000) checks in one thread, five rounds, and the fastest round's microseconds per check (the least
//! disturbed by the rest of a shared machine).

use std::time::Instant;

use tokenstack_server::secrets::{PASSWORD_ITERATIONS, PasswordHash};

fn main() -> anyhow::Result<()> {
    let checks: u32 = tokenstack_bench::arg("--checks").map(|n| n.parse()).transpose()?.unwrap_or(20_000);
    let hash = PasswordHash::new("correct horse battery staple");
    let round = |password: &str| {
        let started = Instant::now();
        let matched = (0..checks).filter(|_| hash.verify(password)).count();
        (started.elapsed().as_secs_f64() * 1e6 / f64::from(checks), matched)
    };
    for (what, password, expected) in [("right", "correct horse battery staple", checks), ("wrong", "tr0ub4dor&3", 0)] {
        let rounds: Vec<(f64, usize)> = (0..5).map(|_| round(password)).collect();
        anyhow::ensure!(rounds.iter().all(|(_, n)| *n == expected as usize), "{what} passwords checked wrongly");
        let best = rounds.iter().map(|(us, _)| *us).fold(f64::INFINITY, f64::min);
        println!("{what} password: {best:.1} µs per check ({PASSWORD_ITERATIONS} pbkdf2_sha256 iterations)");
    }
    Ok(())
}
