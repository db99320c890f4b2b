//! Test harness: `tokenstack_testing::TestServer` on 127.0.0.1:0 with the example seed, the suite's fixed
//! credentials and response validation on.

use std::path::Path;

use tokenstack_server::config::{Config, LogLevel};

/// Key of the bootstrap superuser `akadmin`.
pub const ADMIN_KEY: &str = "test-bootstrap-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
/// PAT of the bootstrap NetBird owner `admin`.
pub const ADMIN_PAT: &str = "nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM";
/// Token of the admin API (`--admin-token`).
pub const ADMIN_TOKEN: &str = "test-admin-token-never-an-upstream-credential";
/// Seeded keys and PATs (examples/seed.yaml).
pub const ALICE_KEY: &str = "alice-example-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH";
pub const BOB_KEY: &str = "bob-example-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";
pub const NETADMIN_PAT: &str = "nbp_GFQ9OIZ8lRv83g5RLzL9bt5qJCzdm43kXuyc";
pub const AUDITOR_PAT: &str = "nbp_0AerRTjreD8S1qqopvtv2s73odEBiS0FMQ7i";
pub const USER_ROLE_PAT: &str = "nbp_yfycRidLEnQfFfkcs4SEgKcTrYsyQS1zEN0E";
pub const SERVICE_PAT: &str = "nbp_rSOUlEr7lUQQUmu00fFT7yRWNpGcxH0QMbyq";
pub const BLOCKED_PAT: &str = "nbp_qGW0r4eCQtcOt2UDxfVvQNXUf5xvNo4EaFMd";

/// The configuration every test server starts from: port 0, the example seed, fixed credentials, the admin
/// API and response validation on.
pub fn test_config() -> Config {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seed.yaml");
    Config {
        bind: "127.0.0.1:0".parse().expect("valid address"),
        seed: Some(seed),
        store: "memory".to_string(),
        log_level: LogLevel::Warn,
        bootstrap_token: Some(ADMIN_KEY.into()),
        bootstrap_pat: Some(ADMIN_PAT.into()),
        bootstrap_user: "admin".to_string(),
        admin_token: Some(ADMIN_TOKEN.into()),
        validate_responses: true,
        ..Config::load_from(["tokenstack"]).expect("defaults parse")
    }
}

/// A server of its own for each test (a fresh state): `tokenstack_testing::TestServer`, the one harness,
/// started with [`test_config`]. It derefs to it, so `client`, `authentik`, `netbird`, `admin` and the admin
/// helpers are the crate's own.
pub struct TestServer {
    pub base: String,
    server: tokenstack_testing::TestServer,
}

impl std::ops::Deref for TestServer {
    type Target = tokenstack_testing::TestServer;

    fn deref(&self) -> &tokenstack_testing::TestServer {
        &self.server
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// A server whose configuration `adjust` changes first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let server = tokenstack_testing::TestServer::builder()
            .config(|config| {
                *config = test_config();
                adjust(config);
            })
            .start()
            .await;
        TestServer { base: server.base_url().to_string(), server }
    }

    /// A plain request, for what the generated client refuses to send (bad input, odd headers).
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let body = body.map(str::as_bytes);
        tokenstack_tests::send(&reqwest::Client::new(), &self.base, method, path, authorization, body)
            .await
            .expect("request sent")
    }

    /// An authorization-code login at the provider `client_id`, as the user of `authorization` (an API key
    /// stands in for the session), with `scope`: the token endpoint's JSON answer.
    pub async fn code_login(
        &self,
        (client_id, client_secret): (&str, &str),
        redirect: &str,
        scope: &str,
        authorization: &str,
    ) -> serde_json::Value {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let authorize = format!(
            "{}/application/o/authorize/?client_id={client_id}&response_type=code&scope={scope}&redirect_uri={redirect}",
            self.base
        );
        let response = http.get(authorize).header("authorization", authorization).send().await.unwrap();
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let code = location.split("code=").nth(1).unwrap_or_else(|| panic!("{location}")).split('&').next().unwrap();
        let form = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={redirect}&client_id={client_id}&client_secret={client_secret}"
        );
        let response = http
            .post(format!("{}/application/o/token/", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }
}

/// Status and JSON body of a failed generated-client call.
pub fn error_of<E: serde::Serialize + std::fmt::Debug, T: std::fmt::Debug>(
    result: Result<T, progenitor_client::Error<E>>,
) -> (u16, serde_json::Value) {
    match result {
        Err(progenitor_client::Error::ErrorResponse(response)) => {
            let status = response.status().as_u16();
            (status, serde_json::to_value(response.into_inner()).expect("error body serializes"))
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}
