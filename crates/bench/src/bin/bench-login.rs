//! The login driver of `cargo xtask bench`: whole headless logins, each with a fresh cookie jar, as a test suite
//! scripts them, for `--seconds S` on `--connections C` concurrent logins; prints one
//! `LOGINJSON {"logins":N,"errors":E,"seconds":S,"first_error":…}` line.
//!
//! * `--flow authentik` (tokenstack, or a real authentik): `GET /application/o/authorize/` redirects to the
//!   authentication flow; the flow executor API (`/api/v3/flows/executor/<slug>/`) answers the identification and
//!   password challenges (and a consent challenge when the provider asks); the authorization flow's redirect carries
//!   the code; `POST /application/o/token/` exchanges it.
//! * `--flow oidc-provider-mock`: its authorize form (`GET`, then `POST` with `sub`), then `POST /oauth2/token`.
//!
//! `--once` runs one login and prints the token response instead (the smoke check before the load).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, Url, redirect};
use serde_json::{Value, json};
use tokenstack_bench::arg;

/// What one login needs to know.
struct Login {
    flow: String,
    base: Url,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    username: String,
    password: String,
}

/// One login's cookies (a fresh browser each time).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn keep(&mut self, response: &Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let Some((pair, _)) = value.to_str().ok().map(|v| v.split_once(';').unwrap_or((v, ""))) else { continue };
            if let Some((name, value)) = pair.split_once('=') {
                self.0.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse("http://form.invalid/").expect("a constant URL");
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

impl Login {
    fn authorize_query(&self) -> String {
        form(&[
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("response_type", "code"),
            ("scope", "openid email profile"),
            ("state", "bench-state"),
        ])
    }

    /// The code of a redirect to the relying party, if `location` is one.
    fn code_in(&self, location: &str) -> Option<String> {
        let url = Url::parse(location).ok()?;
        if !location.starts_with(&self.redirect_uri) {
            return None;
        }
        url.query_pairs().find(|(name, _)| name == "code").map(|(_, code)| code.into_owned())
    }

    async fn get(&self, client: &Client, jar: &mut Jar, url: Url) -> Result<Response> {
        let response = client.get(url).header(COOKIE, jar.header()).send().await?;
        jar.keep(&response);
        Ok(response)
    }

    /// A whole login: the token endpoint's JSON.
    async fn run(&self, client: &Client) -> Result<Value> {
        let mut jar = Jar::default();
        let code = match self.flow.as_str() {
            "authentik" => self.authentik_code(client, &mut jar).await?,
            "oidc-provider-mock" => self.mock_code(client, &mut jar).await?,
            other => bail!("unknown --flow {other:?}"),
        };
        let token = if self.flow == "authentik" { "/application/o/token/" } else { "/oauth2/token" };
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &self.redirect_uri),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
        ]);
        let response = client
            .post(self.base.join(token)?)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let tokens: Value = response.json().await?;
        ensure!(status == 200 && tokens["id_token"].is_string(), "token endpoint answered {status}: {tokens}");
        Ok(tokens)
    }

    async fn mock_code(&self, client: &Client, jar: &mut Jar) -> Result<String> {
        let mut url = self.base.join("/oauth2/authorize")?;
        url.set_query(Some(&self.authorize_query()));
        let page = self.get(client, jar, url.clone()).await?;
        ensure!(page.status() == 200, "the authorize form answered {}", page.status());
        page.bytes().await?;
        let response = client
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(&[("sub", &self.username)]))
            .send()
            .await?;
        let location = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()).unwrap_or_default();
        self.code_in(location).ok_or_else(|| anyhow!("the authorize form answered {}: {location}", response.status()))
    }

    /// authentik's headless login: redirects are followed until a flow interface (`/if/flow/<slug>/`), whose
    /// challenges the executor API answers, or the relying party's redirect URI, which carries the code.
    async fn authentik_code(&self, client: &Client, jar: &mut Jar) -> Result<String> {
        let mut url = self.base.join("/application/o/authorize/")?;
        url.set_query(Some(&self.authorize_query()));
        for _ in 0..16 {
            if let Some(slug) = url.path().strip_prefix("/if/flow/").map(|s| s.trim_end_matches('/').to_owned()) {
                let to = self.execute(client, jar, &slug, url.query().unwrap_or_default()).await?;
                if let Some(code) = self.code_in(&to) {
                    return Ok(code);
                }
                url = self.base.join(&to)?;
                continue;
            }
            let response = self.get(client, jar, url.clone()).await?;
            let status = response.status();
            let location = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()).map(str::to_owned);
            let Some(location) = location.filter(|_| status.is_redirection()) else {
                bail!("GET {url} answered {status} without a redirect: {}", response.text().await?);
            };
            if let Some(code) = self.code_in(&location) {
                return Ok(code);
            }
            url = self.base.join(&location)?;
        }
        bail!("no code after 16 redirects")
    }

    /// Runs flow `slug` through the executor API until it redirects: the redirect's `to`.
    async fn execute(&self, client: &Client, jar: &mut Jar, slug: &str, query: &str) -> Result<String> {
        let mut executor = self.base.join(&format!("/api/v3/flows/executor/{slug}/"))?;
        executor.set_query(Some(&form(&[("query", query)])));
        let mut challenge: Value = self.get(client, jar, executor.clone()).await?.json().await?;
        for _ in 0..8 {
            let answer = match challenge["component"].as_str().unwrap_or_default() {
                "xak-flow-redirect" => return challenge["to"].as_str().map(str::to_owned).context("a redirect's to"),
                "ak-stage-identification" => {
                    json!({"component": "ak-stage-identification", "uid_field": self.username})
                }
                "ak-stage-password" => json!({"component": "ak-stage-password", "password": self.password}),
                "ak-stage-consent" => json!({"component": "ak-stage-consent", "token": challenge["token"]}),
                _ => bail!("flow {slug} answered {challenge}"),
            };
            let mut request = client.post(executor.clone()).header(COOKIE, jar.header()).json(&answer);
            if let Some(csrf) = jar.0.get("authentik_csrf") {
                request = request.header("X-authentik-CSRF", csrf);
            }
            let response = request.send().await?;
            jar.keep(&response);
            challenge = if response.status().is_redirection() {
                self.get(client, jar, executor.clone()).await?.json().await?
            } else {
                response.json().await?
            };
        }
        bail!("flow {slug} did not finish in 8 challenges")
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let required = |name: &str| arg(name).ok_or_else(|| anyhow!("{name} is required"));
    let login = Login {
        flow: required("--flow")?,
        base: Url::parse(&required("--base")?)?,
        client_id: required("--client-id")?,
        client_secret: arg("--client-secret").unwrap_or_default(),
        redirect_uri: required("--redirect-uri")?,
        username: required("--username")?,
        password: arg("--password").unwrap_or_default(),
    };
    let client = Client::builder().redirect(redirect::Policy::none()).build()?;
    if std::env::args().any(|a| a == "--once") {
        println!("{}", login.run(&client).await?);
        return Ok(());
    }
    let seconds: u64 = arg("--seconds").map(|s| s.parse()).transpose()?.unwrap_or(5);
    let connections: usize = arg("--connections").map(|s| s.parse()).transpose()?.unwrap_or(8);
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let shared = Arc::new((login, client));
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let (login, client) = &*shared;
                let (mut logins, mut errors, mut first_error) = (0u64, 0u64, None::<String>);
                while Instant::now() < until {
                    match login.run(client).await {
                        Ok(_) => logins += 1,
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| format!("{error:#}"));
                        }
                    }
                }
                (logins, errors, first_error)
            })
        })
        .collect();
    let mut results = Vec::new();
    for worker in workers {
        results.push(worker.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let logins: u64 = results.iter().map(|r| r.0).sum();
    let errors: u64 = results.iter().map(|r| r.1).sum();
    let first_error = results.into_iter().find_map(|r| r.2);
    let line = json!({"logins": logins, "errors": errors, "seconds": elapsed, "first_error": first_error});
    println!("LOGINJSON {line}");
    Ok(())
}
