//! What the workspace's Rust tests share besides `tokenstack-testing`: [`send`], the one plain HTTP request.
//!
//! The tests of `tests/integration` and of `crates/server/tests` use it for what the generated client refuses
//! to send (malformed bodies, odd headers) and for servers it does not drive (replicas in other processes, a
//! server started through the library with its own configuration).

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

/// `method` on `base` + `path` through `client`, with `Authorization: authorization` and `body` as a JSON body
/// (sent as it is, so it may be malformed JSON or not even UTF-8) when given. Answers the status and the body parsed as JSON: `null`
/// when it is empty, a JSON string of its text when it is not JSON. An error only when no answer came (a
/// stopped server, a timeout of `client`).
pub async fn send(
    client: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    authorization: Option<&str>,
    body: Option<&[u8]>,
) -> Result<(u16, Value), reqwest::Error> {
    let mut request = client.request(method, format!("{base}{path}"));
    if let Some(authorization) = authorization {
        request = request.header(AUTHORIZATION, authorization);
    }
    if let Some(body) = body {
        request = request.header(CONTENT_TYPE, "application/json").body(body.to_vec());
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let body = match text.as_str() {
        "" => Value::Null,
        text => serde_json::from_str(text).unwrap_or(Value::String(text.to_string())),
    };
    Ok((status, body))
}
