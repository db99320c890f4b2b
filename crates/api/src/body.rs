//! `JsonBody`: Dropshot's `TypedBody` that also refuses data after the JSON value, as Python's `json.loads`.

use async_trait::async_trait;
use dropshot::{
    ApiEndpointBodyContentType, Body, ExclusiveExtractor, ExtractorMetadata, HttpError, RequestContext, ServerContext,
    TypedBody, UntypedBody,
};
use schemars::JsonSchema;
use serde::de::{DeserializeOwned, IgnoredAny};

/// A JSON request body of authentik's and the admin API's operations.
///
/// Dropshot decodes the first JSON value and ignores what follows it (as Go's `json.Decoder`, which NetBird's
/// operations keep); DRF's `JSONParser` calls `json.loads`, which answers data after the value with
/// `400 {"detail": "JSON parse error - Extra data: line L column C (char N)"}`.
#[derive(Debug)]
pub struct JsonBody<T>(T);

impl<T> JsonBody<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

#[async_trait]
impl<T> ExclusiveExtractor for JsonBody<T>
where
    T: JsonSchema + DeserializeOwned + Send + Sync + 'static,
{
    async fn from_request<Context: ServerContext>(
        rqctx: &RequestContext<Context>,
        request: http::Request<Body>,
    ) -> Result<Self, HttpError> {
        let (parts, body) = request.into_parts();
        let raw = UntypedBody::from_request(rqctx, http::Request::new(body)).await?;
        let bytes = raw.as_bytes().to_vec();
        let extra = extra_data(&bytes);
        let typed: TypedBody<T> =
            TypedBody::from_request(rqctx, http::Request::from_parts(parts, Body::with_content(bytes))).await?;
        match extra {
            Some(message) => Err(HttpError::for_bad_request(None, message)),
            None => Ok(JsonBody(typed.into_inner())),
        }
    }

    fn metadata(content_type: ApiEndpointBodyContentType) -> ExtractorMetadata {
        TypedBody::<T>::metadata(content_type)
    }
}

/// Python's message for a body whose first JSON value is followed by more than whitespace, as DRF wraps it:
/// `char` counts characters before the extra data, `line` and `column` are 1-based (json/decoder.py).
pub fn extra_data(bytes: &[u8]) -> Option<String> {
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<IgnoredAny>();
    values.next()?.ok()?;
    let end = values.byte_offset();
    let skipped = bytes[end..].iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))?;
    let before = String::from_utf8_lossy(&bytes[..end + skipped]);
    let char = before.chars().count();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
    Some(format!("JSON parse error - Extra data: line {line} column {column} (char {char})"))
}

#[cfg(test)]
mod tests {
    use super::extra_data;

    #[test]
    fn extra_data_is_worded_as_python_json_loads_in_drf() {
        assert_eq!(
            extra_data(br#"{"identifier":"x"} xyz"#).as_deref(),
            Some("JSON parse error - Extra data: line 1 column 20 (char 19)")
        );
        assert_eq!(
            extra_data("{\"a\": \"é\"}\n\n  {}".as_bytes()).as_deref(),
            Some("JSON parse error - Extra data: line 3 column 3 (char 14)")
        );
        assert_eq!(extra_data(b"[1] \r\n\t "), None);
        assert_eq!(extra_data(br#"{"a": 1}"#), None);
        assert_eq!(extra_data(b"{nope"), None, "a body that does not parse is TypedBody's error");
    }
}
