//! The contract checks: what any real authentik or NetBird server guarantees for the operations of the spec,
//! driven through the generated client. Each check records pass/fail with expected and actual values.
//!
//! Only a server's own promises are assumed: the caller's token may create, read, list and delete tokens of
//! its own user; bad credentials fail with the upstream status and error shape. Everything a check creates
//! is deleted again (names start with `conformance-`).

use std::fmt::Write as _;

use serde_json::Value;
use tokenstack_client::{Client, types};

/// What to test against.
#[derive(Debug, Clone)]
pub struct Target {
    /// Server root (every spec path is absolute: `/api/v3/...` for authentik, `/api/...` for NetBird).
    pub base_url: String,
    pub authentik_token: Option<String>,
    pub netbird_pat: Option<String>,
    /// NetBird user id that owns `netbird_pat` (the PAT API is addressed per user).
    pub netbird_user: String,
}

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub expected: String,
    pub actual: String,
}

/// Every check, in the order run.
#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn record(&mut self, name: &str, expected: impl Into<String>, actual: impl Into<String>, passed: bool) -> bool {
        self.checks.push(Check { name: name.to_string(), passed, expected: expected.into(), actual: actual.into() });
        passed
    }

    pub fn failures(&self) -> usize {
        self.checks.iter().filter(|c| !c.passed).count()
    }

    /// One line per check; failures add expected and actual.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            let _ = writeln!(out, "{} {}", if check.passed { "PASS" } else { "FAIL" }, check.name);
            if !check.passed {
                let _ = writeln!(out, "       expected: {}", check.expected);
                let _ = writeln!(out, "       actual:   {}", check.actual);
            }
        }
        let _ = writeln!(
            out,
            "{} checks, {} passed, {} failed",
            self.checks.len(),
            self.checks.len() - self.failures(),
            self.failures()
        );
        out
    }
}

fn client(base: &str, authorization: Option<&str>) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(authorization) = authorization {
        let mut value = reqwest::header::HeaderValue::from_str(authorization).expect("valid header");
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let http = reqwest::Client::builder().default_headers(headers).build().expect("client builds");
    Client::new_with_client(base, http)
}

/// Status and body of any generated-client outcome.
fn outcome<T: serde::Serialize, E: serde::Serialize + std::fmt::Debug>(
    result: Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>,
) -> (u16, Value) {
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, serde_json::to_value(response.into_inner()).unwrap_or(Value::Null))
        }
        Err(progenitor_client::Error::ErrorResponse(response)) => {
            let status = response.status().as_u16();
            (status, serde_json::to_value(response.into_inner()).unwrap_or(Value::Null))
        }
        Err(progenitor_client::Error::UnexpectedResponse(response)) => {
            (response.status().as_u16(), Value::String("unexpected response".into()))
        }
        Err(err) => (0, Value::String(err.to_string())),
    }
}

fn is_authentik_error(body: &Value) -> bool {
    body.get("detail").is_some_and(Value::is_string)
        || body.as_object().is_some_and(|m| m.values().all(Value::is_array))
}

fn is_netbird_error(body: &Value, status: u16) -> bool {
    body.get("message").is_some_and(Value::is_string)
        && body.get("code").and_then(Value::as_u64) == Some(u64::from(status))
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 200 { format!("{}…", &text[..200]) } else { text }
}

/// A name unique enough for parallel runs against one server.
fn unique(prefix: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Runs every check the target's credentials allow.
pub async fn run(target: &Target) -> Report {
    let mut report = Report::default();
    if let Some(key) = &target.authentik_token {
        authentik(target, key, &mut report).await;
    }
    if let Some(pat) = &target.netbird_pat {
        netbird(target, pat, &mut report).await;
    }
    report
}

async fn authentik(target: &Target, key: &str, report: &mut Report) {
    let base = &target.base_url;
    let (status, body) = outcome(client(base, None).core_tokens_list().send().await);
    report.record(
        "authentik: list without credentials is 403 {detail}",
        "403 with a detail",
        format!("{status} {}", short(&body)),
        status == 403 && is_authentik_error(&body),
    );
    let (status, body) = outcome(client(base, Some("Bearer conformance-not-a-key")).core_tokens_list().send().await);
    report.record(
        "authentik: an unknown key is 403 {detail}",
        "403 with a detail",
        format!("{status} {}", short(&body)),
        status == 403 && is_authentik_error(&body),
    );

    let ak = client(base, Some(&format!("Bearer {key}")));
    let (status, body) = outcome(ak.core_tokens_list().send().await);
    report.record(
        "authentik: the given key lists tokens",
        "200 with results",
        format!("{status}"),
        status == 200 && body.get("results").is_some_and(Value::is_array),
    );
    let (status, body) = outcome(ak.core_users_me_retrieve().send().await);
    let me = body["user"]["username"].as_str().unwrap_or_default().to_string();
    report.record(
        "authentik: users/me/ names the key's user",
        "200 with user.username",
        format!("{status} {}", short(&body)),
        status == 200 && !me.is_empty(),
    );
    let (status, body) = outcome(ak.core_users_list().username(&me).send().await);
    let listed = body["results"].as_array().map_or(0, Vec::len);
    report.record(
        "authentik: a user listing filtered by one's own username is at most that user",
        "200 with at most 1 result, or 403 without view permission",
        format!("{status} with {listed}"),
        (status == 200 && listed <= 1) || (status == 403 && is_authentik_error(&body)),
    );

    let identifier = unique("conformance");
    let request = types::TokenRequest::builder()
        .identifier(identifier.clone())
        .intent(types::IntentEnum::Api)
        .description(Some("tokenstack conformance".to_string()));
    let (status, body) = outcome(ak.core_tokens_create().body(request).send().await);
    let created = report.record(
        "authentik: create a token of one's own",
        format!("201 with identifier {identifier} and intent api"),
        format!("{status} {}", short(&body)),
        status == 201 && body["identifier"] == identifier.as_str() && body["intent"] == "api",
    );
    if !created {
        return;
    }
    let (status, body) = outcome(ak.core_tokens_retrieve().identifier(&identifier).send().await);
    report.record(
        "authentik: retrieve the new token",
        format!("200 with identifier {identifier}"),
        format!("{status} {}", short(&body)),
        status == 200 && body["identifier"] == identifier.as_str(),
    );
    let (status, body) = outcome(ak.core_tokens_list().identifier(&identifier).send().await);
    let count = body["results"].as_array().map_or(0, Vec::len);
    report.record(
        "authentik: list filtered by identifier",
        "200 with exactly 1 result",
        format!("{status} with {count}"),
        status == 200 && count == 1,
    );
    let (status, body) = outcome(ak.core_tokens_view_key_retrieve().identifier(&identifier).send().await);
    let new_key = body["key"].as_str().unwrap_or_default().to_string();
    report.record(
        "authentik: view the new token's key",
        "200 with a non-empty key",
        format!("{status}, key of {} characters", new_key.len()),
        status == 200 && !new_key.is_empty(),
    );
    if !new_key.is_empty() {
        let (status, _) = outcome(client(base, Some(&format!("Bearer {new_key}"))).core_tokens_list().send().await);
        report.record("authentik: the new key authenticates", "200", format!("{status}"), status == 200);
    }
    let request = types::TokenRequest::builder().identifier(identifier.clone());
    let (status, body) = outcome(ak.core_tokens_create().body(request).send().await);
    report.record(
        "authentik: a duplicate identifier is 400 {identifier: [...]}",
        "400 with an identifier field error",
        format!("{status} {}", short(&body)),
        status == 400 && body.get("identifier").is_some_and(Value::is_array),
    );
    let (status, _) = outcome(ak.core_tokens_destroy().identifier(&identifier).send().await);
    report.record("authentik: delete the new token", "204", format!("{status}"), status == 204);
    let (status, body) = outcome(ak.core_tokens_retrieve().identifier(&identifier).send().await);
    report.record(
        "authentik: a deleted token is 404 {detail}",
        "404 with a detail",
        format!("{status} {}", short(&body)),
        status == 404 && is_authentik_error(&body),
    );
}

async fn netbird(target: &Target, pat: &str, report: &mut Report) {
    let base = &target.base_url;
    let user = target.netbird_user.as_str();
    let (status, body) = outcome(client(base, None).netbird_tokens_list().user_id(user).send().await);
    report.record(
        "netbird: list without credentials is 401 {message, code}",
        "401 with message and code 401",
        format!("{status} {}", short(&body)),
        status == 401 && is_netbird_error(&body, 401),
    );
    // Well-formed (prefix, length, checksum) but freshly generated, so unknown to the server.
    let (unknown, _) = tokenstack_server::secrets::generate_pat();
    let (status, body) =
        outcome(client(base, Some(&format!("Token {unknown}"))).netbird_tokens_list().user_id(user).send().await);
    report.record(
        "netbird: an unknown PAT is 401 {message, code}",
        "401 with message and code 401",
        format!("{status} {}", short(&body)),
        status == 401 && is_netbird_error(&body, 401),
    );

    let nb = client(base, Some(&format!("Token {pat}")));
    let (status, body) = outcome(nb.netbird_tokens_list().user_id(user).send().await);
    report.record(
        "netbird: the given PAT lists its user's PATs",
        "200 with an array",
        format!("{status} {}", short(&body)),
        status == 200 && body.is_array(),
    );
    let (status, body) = outcome(nb.netbird_users_list().send().await);
    let current = body.as_array().into_iter().flatten().filter(|u| u["is_current"] == true).count();
    report.record(
        "netbird: the user list holds the PAT's own user, marked current",
        "200 with exactly one user whose is_current is true",
        format!("{status} {}", short(&body)),
        status == 200 && current == 1,
    );

    let name = unique("conformance");
    let request = types::PersonalAccessTokenRequest::builder()
        .name(name.clone())
        .expires_in(std::num::NonZeroU64::new(1).expect("1 is non-zero"));
    let (status, body) = outcome(nb.netbird_tokens_create().user_id(user).body(request).send().await);
    let plain = body["plain_token"].as_str().unwrap_or_default().to_string();
    let id = body["personal_access_token"]["id"].as_str().unwrap_or_default().to_string();
    let created = report.record(
        "netbird: create a PAT",
        format!("200 with a 40-character nbp_ plain_token named {name}"),
        format!("{status}, plain_token of {} characters, name {}", plain.len(), body["personal_access_token"]["name"]),
        status == 200
            && plain.len() == 40
            && plain.starts_with("nbp_")
            && body["personal_access_token"]["name"] == name.as_str(),
    );
    if !created {
        return;
    }
    let (status, body) = outcome(nb.netbird_tokens_retrieve().user_id(user).token_id(&id).send().await);
    report.record(
        "netbird: retrieve the new PAT",
        format!("200 with id {id}"),
        format!("{status} {}", short(&body)),
        status == 200 && body["id"] == id.as_str(),
    );
    let (status, body) = outcome(nb.netbird_tokens_list().user_id(user).send().await);
    let listed = body.as_array().is_some_and(|pats| pats.iter().any(|p| p["id"] == id.as_str()));
    report.record(
        "netbird: the list contains the new PAT",
        "200 including its id",
        format!("{status}, included: {listed}"),
        status == 200 && listed,
    );
    let (status, _) =
        outcome(client(base, Some(&format!("Token {plain}"))).netbird_tokens_list().user_id(user).send().await);
    report.record("netbird: the new PAT authenticates", "200", format!("{status}"), status == 200);

    let http = reqwest::Client::new();
    let response = http
        .post(format!("{base}/api/users/{user}/tokens"))
        .header("authorization", format!("Token {pat}"))
        .json(&serde_json::json!({"name": "conformance-invalid", "expires_in": 0}))
        .send()
        .await;
    let (status, body) = match response {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
        Err(err) => (0, Value::String(err.to_string())),
    };
    report.record(
        "netbird: expires_in 0 is 422 {message, code}",
        "422 with message and code 422",
        format!("{status} {}", short(&body)),
        status == 422 && is_netbird_error(&body, 422),
    );

    let (status, _) = outcome(nb.netbird_tokens_destroy().user_id(user).token_id(&id).send().await);
    report.record("netbird: delete the new PAT", "200", format!("{status}"), status == 200);
    let (status, body) = outcome(nb.netbird_tokens_retrieve().user_id(user).token_id(&id).send().await);
    report.record(
        "netbird: a deleted PAT is 404 {message, code}",
        "404 with message and code 404",
        format!("{status} {}", short(&body)),
        status == 404 && is_netbird_error(&body, 404),
    );
}
