//! Emits the Dropshot side of the API from the spec: wire types (typify) and a `#[dropshot::api_description]` trait.
//!
//! Output layout: `pub mod types` (component schemas), `pub mod params` (path and query structs, one pair
//! per operation), `pub trait TokenApi` (one method per operation, named after its operationId) and
//! `pub const OPERATION_IDS`. Error types are named `crate::ErrorResponse<types::X>`, where `X` is the
//! operation's error schema; the api crate supplies that wrapper.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;
use typify::{TypeSpace, TypeSpaceSettings};

use crate::schema::{request_schema_names, server_component, server_inline, server_query_parameter};
use crate::spec::{OperationInfo, json_body_schema, resolve};
use crate::{Spec, SpecError, format_file};

/// The form media type, the one request body besides JSON that Dropshot and progenitor both serve.
const FORM: &str = "application/x-www-form-urlencoded";

/// Name of the generated trait and of the module the Dropshot macro generates for it.
pub const TRAIT_NAME: &str = "TokenApi";

/// Generates the server-side API source for `spec`, with its shadowed literal routes merged (see `routes.rs`).
pub fn generate_server(spec: &Spec) -> Result<String, SpecError> {
    // Free-form operations answer under their own operationId, also where they share a route.
    let free_form: Vec<String> = spec
        .operations()
        .iter()
        .filter(|op| spec.is_free_form(op.operation))
        .map(|op| op.operation_id.to_string())
        .collect();
    let (server_spec, shadowed) = spec.server_side()?;
    let spec = &server_spec;
    let mut settings = TypeSpaceSettings::default();
    settings
        .with_derive("schemars::JsonSchema".to_string())
        .with_map_type("::std::collections::BTreeMap".to_string())
        .with_type_mod("types");
    let mut type_space = TypeSpace::new(&settings);

    let request_side = request_schema_names(&spec.raw);
    let mut components = Vec::new();
    if let Some(schemas) = spec.raw.pointer("/components/schemas").and_then(Value::as_object) {
        for (name, schema) in schemas {
            let converted = server_component(name, schema, request_side.contains(name));
            components.push((name.clone(), to_schemars(&converted, name)?));
        }
    }
    type_space.add_ref_types(components).map_err(|err| SpecError::Generation(format!("typify: {err}")))?;

    let mut params = Vec::new();
    let mut methods = Vec::new();
    let mut operation_ids = Vec::new();
    let mut operation_tags = Vec::new();
    for op in spec.operations() {
        let emitted = emit_operation(spec, &op, &mut type_space)?;
        params.push(emitted.params);
        methods.push(emitted.method);
        operation_ids.push(op.operation_id.to_string());
        let (id, tags) = (op.operation_id, &op.operation.tags);
        operation_tags.push(quote! { (#id, &[#(#tags),*]) });
    }
    let shadowed = shadowed.iter().map(|m| {
        let (id, by, literal, parameter) = (&m.operation_id, &m.served_by, &m.literal, &m.parameter);
        quote! { (#id, #by, #literal, #parameter) }
    });
    let types = type_space.to_stream();
    let trait_ident = format_ident!("{TRAIT_NAME}");
    let tokens = quote! {
        /// Wire types generated from `components.schemas`.
        #[allow(clippy::all, unused_imports, dead_code, non_camel_case_types)]
        pub mod types {
            #types
        }

        /// Path and query parameters of each operation.
        #[allow(clippy::all, dead_code, unused_imports)]
        pub mod params {
            use super::types;
            #(#params)*
        }

        /// Every operationId of the spec, in document order.
        pub const OPERATION_IDS: &[&str] = &[#(#operation_ids),*];

        /// Operations of a literal path beside a variable one (Dropshot cannot route the pair), each as
        /// `(operationId, served by, literal, path parameter)`: the endpoint `served by` answers the operation when
        /// the path parameter is the literal.
        pub const SHADOWED_OPERATIONS: &[(&str, &str, &str, &str)] = &[#(#shadowed),*];

        /// The free-form operations (`x-tokenstack-free-form`), as the spec writes them: their handlers answer,
        /// count and fault each under its own operationId, also those served through another's route.
        pub const FREE_FORM_OPERATIONS: &[&str] = &[#(#free_form),*];

        /// Each operationId with the tags the spec gives it, in document order.
        pub const OPERATION_TAGS: &[(&str, &[&str])] = &[#(#operation_tags),*];

        /// The token APIs of the merged spec: one method per operation.
        #[dropshot::api_description]
        pub trait #trait_ident {
            /// Server state handed to every handler.
            type Context: Send + Sync + 'static;
            #(#methods)*
        }
    };
    format_file(tokens)
}

struct EmittedOperation {
    params: TokenStream,
    method: TokenStream,
}

fn emit_operation(
    spec: &Spec,
    op: &OperationInfo<'_>,
    type_space: &mut TypeSpace,
) -> Result<EmittedOperation, SpecError> {
    let id = op.operation_id;
    let raw_op = spec
        .raw
        .pointer(&format!("/paths/{}/{}", escape_pointer(op.path), op.method.to_lowercase()))
        .ok_or_else(|| SpecError::Generation(format!("{id}: operation not found in raw document")))?;

    // Parameters, resolved through components.parameters.
    let mut path_fields = Vec::new();
    let mut query_fields = Vec::new();
    for param in raw_op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        let param = resolve(&spec.raw, param);
        let name = param.get("name").and_then(Value::as_str).unwrap_or_default();
        let location = param.get("in").and_then(Value::as_str).unwrap_or_default();
        let required = param.get("required") == Some(&Value::Bool(true));
        let mut schema = param.get("schema").cloned().unwrap_or(Value::Bool(true));
        if location == "query" {
            schema = server_query_parameter(&schema);
        }
        let ty = type_ident(type_space, &server_inline(&schema), &format!("{id} parameter {name}"))?;
        let field = field(name, param.get("description").and_then(Value::as_str), ty, required || location == "path");
        match location {
            "path" => path_fields.push(field),
            "query" => query_fields.push(field),
            other => return Err(SpecError::Generation(format!("{id}: parameters in {other} are not supported"))),
        }
    }

    let camel = id.to_upper_camel_case();
    let mut params = TokenStream::new();
    let mut args = Vec::new();
    if !path_fields.is_empty() {
        let ident = format_ident!("{camel}Path");
        let doc = format!("Path parameters of `{id}`.");
        params.extend(quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
            pub struct #ident { #(#path_fields)* }
        });
        args.push(quote! { path: dropshot::Path<params::#ident> });
    }
    if !query_fields.is_empty() {
        let ident = format_ident!("{camel}Query");
        let doc = format!("Query parameters of `{id}`.");
        params.extend(quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
            pub struct #ident { #(#query_fields)* }
        });
        args.push(quote! { query: dropshot::Query<params::#ident> });
    }
    // One request body: JSON (Dropshot's default) or a form (`content_type` in the endpoint attribute).
    let mut content_type = None;
    if let Some(content) = raw_op.pointer("/requestBody/content").and_then(Value::as_object) {
        let (media_type, media) = match content.iter().next() {
            Some((media_type, media)) if content.len() == 1 => (media_type.as_str(), media),
            _ => return Err(SpecError::Generation(format!("{id}: exactly one request body media type is supported"))),
        };
        let schema = media.get("schema").unwrap_or(&Value::Bool(true));
        let ty = type_ident(type_space, &server_inline(schema), &format!("{id} request body"))?;
        match media_type {
            // NetBird decodes with Go's `json.Decoder`, which ignores what follows the value, as Dropshot does;
            // DRF's `json.loads` refuses it (`crate::JsonBody` in tokenstack-api).
            "application/json" if op.path.starts_with("/api/") && !op.path.starts_with("/api/v3/") => {
                args.push(quote! { body: dropshot::TypedBody<#ty> })
            }
            "application/json" => args.push(quote! { body: crate::JsonBody<#ty> }),
            // A free-form handler reads its form itself, whatever the content type (Django reads a body that is
            // not a form as an empty one); the form's type is still generated for it.
            FORM if crate::is_free_form(raw_op) => args.push(quote! { body: dropshot::UntypedBody }),
            FORM => {
                content_type = Some(quote! { , content_type = #FORM });
                args.push(quote! { body: dropshot::TypedBody<#ty> });
            }
            other => return Err(SpecError::Generation(format!("{id}: request bodies of {other} are not supported"))),
        }
    }

    // Responses: validated to one success and one error schema.
    let (success, errors) = spec.responses(op.operation);
    let (status, response) = success[0];
    let body = json_body_schema(response);
    let untyped = body.is_none() && !response.content.is_empty();
    let free_form = crate::is_free_form(raw_op);
    // The headers a typed success declares (NetBird's setup: `Cache-Control: no-store`): a struct of them that the
    // handler fills, sent beside the body by Dropshot's `HttpResponseHeaders`.
    let headers: Vec<(String, Option<String>)> = raw_op
        .pointer(&format!("/responses/{status}/headers"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, header)| {
            let description = resolve(&spec.raw, header).get("description").and_then(Value::as_str).map(str::to_owned);
            (name.clone(), description)
        })
        .collect();
    let ok = match (status, body) {
        // The handler builds status, headers and body (redirects, `Cache-Control`, bodiless 401s); the spec's
        // responses document them.
        _ if free_form => quote! { ::http::Response<dropshot::Body> },
        // A non-JSON body (Prometheus text): the handler builds the response itself.
        (200, None) if untyped => quote! { ::http::Response<dropshot::Body> },
        (200, Some(schema)) if !headers.is_empty() => {
            let ty = type_ident(type_space, &server_inline(&schema), &format!("{id} response"))?;
            let ident = format_ident!("{camel}Headers");
            let doc = format!("Response headers of `{id}`.");
            let fields = headers.iter().map(|(name, description)| {
                let field = format_ident!("{}", name.to_snake_case());
                let description = description.as_deref().map(|d| quote! { #[doc = #d] });
                quote! { #description #[serde(rename = #name)] pub #field: String, }
            });
            params.extend(quote! {
                #[doc = #doc]
                #[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
                pub struct #ident { #(#fields)* }
            });
            quote! { dropshot::HttpResponseHeaders<dropshot::HttpResponseOk<#ty>, params::#ident> }
        }
        (200, Some(schema)) => {
            let ty = type_ident(type_space, &server_inline(&schema), &format!("{id} response"))?;
            quote! { dropshot::HttpResponseOk<#ty> }
        }
        (201, Some(schema)) => {
            let ty = type_ident(type_space, &server_inline(&schema), &format!("{id} response"))?;
            quote! { dropshot::HttpResponseCreated<#ty> }
        }
        (204, None) if op.method == "DELETE" => quote! { dropshot::HttpResponseDeleted },
        (204, None) => quote! { dropshot::HttpResponseUpdatedNoContent },
        (status, body) => {
            return Err(SpecError::Generation(format!(
                "{id}: success status {status} {} a body is not supported",
                if body.is_some() { "with" } else { "without" }
            )));
        }
    };
    let error_schema: Value = errors
        .iter()
        .next()
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| SpecError::Generation(format!("{id}: no error schema")))?;
    let error_ty = type_ident(type_space, &server_inline(&error_schema), &format!("{id} error"))?;

    let method = format_ident!("{}", id.to_snake_case());
    let http_method = format_ident!("{}", op.method);
    let path = op.path;
    let tags = &op.operation.tags;
    let doc = doc_lines(op.operation.summary.as_deref(), op.operation.description.as_deref());
    let method_tokens = quote! {
        #(#[doc = #doc])*
        #[endpoint { method = #http_method, path = #path, operation_id = #id, tags = [#(#tags),*] #content_type }]
        async fn #method(
            rqctx: dropshot::RequestContext<Self::Context>,
            #(#args),*
        ) -> Result<#ok, crate::ErrorResponse<#error_ty>>;
    };
    Ok(EmittedOperation { params, method: method_tokens })
}

fn field(name: &str, description: Option<&str>, ty: TokenStream, required: bool) -> TokenStream {
    let ident = field_ident(name);
    let rename = (ident != name).then(|| quote! { #[serde(rename = #name)] });
    let doc = description.map(|d| quote! { #[doc = #d] });
    if required {
        quote! { #doc #rename pub #ident: #ty, }
    } else {
        quote! {
            #doc #rename
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub #ident: Option<#ty>,
        }
    }
}

/// The Rust field for a parameter: snake case, with a trailing `_` when that is a keyword (authentik's `type`
/// query parameter), as typify names such properties.
fn field_ident(name: &str) -> proc_macro2::Ident {
    let snake = name.to_snake_case();
    // syn refuses keywords as identifiers.
    if syn::parse_str::<syn::Ident>(&snake).is_ok() { format_ident!("{snake}") } else { format_ident!("{snake}_") }
}

/// Dropshot takes the first paragraph of the doc comment as `summary`, the rest as `description`.
fn doc_lines(summary: Option<&str>, description: Option<&str>) -> Vec<String> {
    let mut paragraphs: Vec<&str> = Vec::new();
    paragraphs.extend(summary);
    paragraphs.extend(description);
    let mut lines = Vec::new();
    for (i, paragraph) in paragraphs.iter().enumerate() {
        if i > 0 {
            lines.push(String::new());
        }
        lines.extend(paragraph.lines().map(|line| format!(" {line}")));
    }
    lines
}

fn type_ident(type_space: &mut TypeSpace, schema: &Value, what: &str) -> Result<TokenStream, SpecError> {
    let schema = to_schemars(schema, what)?;
    let id = type_space.add_type(&schema).map_err(|err| SpecError::Generation(format!("{what}: typify: {err}")))?;
    let ty = type_space.get_type(&id).map_err(|err| SpecError::Generation(format!("{what}: typify: {err}")))?;
    Ok(ty.ident())
}

fn to_schemars(value: &Value, what: &str) -> Result<schemars::schema::Schema, SpecError> {
    serde_json::from_value(value.clone()).map_err(|err| SpecError::Generation(format!("{what}: bad schema: {err}")))
}

/// JSON pointer escaping of one reference token (RFC 6901).
fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_parameters_get_a_trailing_underscore() {
        assert_eq!(field_ident("type").to_string(), "type_");
        assert_eq!(field_ident("user__username").to_string(), "user_username");
        let tokens = field("type", None, quote! { String }, false).to_string();
        assert!(tokens.contains("rename = \"type\""), "{tokens}");
    }
}
