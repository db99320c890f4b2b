//! Every normalization applied before the spec and Dropshot's server document are compared, with its reason.
//!
//! This is the only place that decides which differences between `spec/openapi.json` and the document
//! Dropshot emits for the generated trait are expected. Each entry of [`NORMALIZATIONS`] names the side it
//! applies to and why; what is left after them is drift.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Which document a normalization rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `spec/openapi.json`.
    Spec,
    /// Both documents, each on its own.
    Both,
    /// Both documents together: the spec's part is used where the server cannot describe itself.
    Pair,
}

/// One normalization: a named rewrite of a document with the reason it hides no real difference.
#[derive(Debug)]
pub struct Normalization {
    pub name: &'static str,
    pub side: Side,
    /// For readers of this table (and a test that every entry has one); never printed.
    #[cfg_attr(not(test), expect(dead_code, reason = "documentation that a test checks"))]
    pub reason: &'static str,
    apply: Apply,
}

#[derive(Debug)]
enum Apply {
    /// Rewrites one document (the spec, the server document or each of them).
    One(fn(&mut Value)),
    /// Rewrites the pair (spec, server).
    Pair(fn(&mut Value, &mut Value)),
}

mod rewrites;

use rewrites::*;

/// Applied in this order; later entries see the output of earlier ones.
pub const NORMALIZATIONS: &[Normalization] = &[
    Normalization {
        name: "shadowed literal routes",
        side: Side::Spec,
        reason: "Dropshot cannot route a literal segment beside a variable one (`/core/users/me/` next to \
                 `/core/users/{id}/`); tokenstack-codegen's merge_shadowed_routes serves them through the variable \
                 route, and the spec is compared as that same function rewrites it",
        apply: Apply::One(merge_shadowed_routes),
    },
    Normalization {
        name: "document metadata",
        side: Side::Both,
        reason: "info, servers, top-level tags, security schemes and external docs are not generated into the \
                 trait; Dropshot cannot declare servers or security",
        apply: Apply::One(drop_document_metadata),
    },
    Normalization {
        name: "trailing slashes",
        side: Side::Both,
        reason: "Dropshot strips the trailing `/` of authentik's paths and serves both forms",
        apply: Apply::One(strip_trailing_slashes),
    },
    Normalization {
        name: "operation documentation and security",
        side: Side::Both,
        reason: "summary, description, per-operation security and parameter/body descriptions are documentation \
                 (Dropshot splits the doc comment differently) or enforced by the handlers, not by the trait",
        apply: Apply::One(drop_operation_docs),
    },
    Normalization {
        name: "response references, descriptions and headers",
        side: Side::Both,
        reason: "responses are compared by content: Dropshot names its error responses after the error type, \
                 writes its own descriptions and cannot declare response headers (NetBird's X-Request-Id)",
        apply: Apply::One(inline_responses),
    },
    Normalization {
        name: "explicit error codes collapsed to 4XX and 5XX",
        side: Side::Both,
        reason: "Dropshot declares one error type per operation as the `4XX` and `5XX` ranges; the upstreams list \
                 each code. Codes of one class with different bodies are left alone, so the difference shows",
        apply: Apply::One(collapse_error_codes),
    },
    Normalization {
        name: "one error body for 4XX and 5XX",
        side: Side::Both,
        reason: "Dropshot declares the operation's one error type as both `4XX` and `5XX`; the upstreams list only \
                 the classes they document (authentik no 5xx, health checks only 503). An error body shared by both \
                 classes, or declared for 5XX alone, is compared as `4XX`. Different bodies stay apart",
        apply: Apply::One(merge_error_classes),
    },
    Normalization {
        name: "optional request bodies",
        side: Side::Spec,
        reason: "Dropshot's TypedBody is always required and cannot express authentik's optional PATCH body; \
                 clients send one anyway",
        apply: Apply::One(require_request_bodies),
    },
    Normalization {
        name: "untagged unions",
        side: Side::Both,
        reason: "typify turns both `oneOf` and `anyOf` into a `#[serde(untagged)]` enum (first match wins), \
                 which schemars writes as `anyOf`; both are compared as `oneOf`",
        apply: Apply::One(any_of_to_one_of),
    },
    Normalization {
        name: "allOf of objects",
        side: Side::Spec,
        reason: "typify merges an `allOf` whose members are all object schemas, also when a member is such an allOf \
                 itself or two members define a property alike (NetBird's Group: GroupMinimum plus \
                 peers and resources) into one struct, which schemars writes as one object; the spec's allOf is \
                 compared as that object, its members' properties and required united",
        apply: Apply::One(merge_object_all_of),
    },
    Normalization {
        name: "server wire adjustments",
        side: Side::Spec,
        reason: "the deliberate differences of the server types, listed in tokenstack-codegen's schema.rs: \
                 STRIPPED_CONSTRAINTS are validated by the handlers, nullable properties of response-only schemas \
                 are required (always serialized), INTEGER_NUMBER_SCHEMAS are served as integers, \
                 RULE_PARSED_BODIES are any JSON value and query parameters strings, both parsed by the rules",
        apply: Apply::One(wire_adjustments),
    },
    Normalization {
        name: "schema keywords without a Rust type",
        side: Side::Spec,
        reason: "codegen drops example, xml, externalDocs, discriminator and `format: email` before typify",
        apply: Apply::One(drop_untyped_keywords),
    },
    Normalization {
        name: "schema annotations",
        side: Side::Both,
        reason: "title, description, readOnly and writeOnly are documentation or serializer hints; schemars \
                 writes doc comments as descriptions and cannot express readOnly",
        apply: Apply::One(drop_schema_annotations),
    },
    Normalization {
        name: "integer formats",
        side: Side::Both,
        reason: "typify maps an unformatted integer to i64 and schemars writes `format: int64`; the wire value is \
                 the same JSON integer",
        apply: Apply::One(drop_integer_formats),
    },
    Normalization {
        name: "required nullable properties",
        side: Side::Both,
        reason: "schemars never lists an `Option<T>` field as required, even when serde always writes it; a \
                 required nullable property (always serialized, maybe null) therefore reads as optional",
        apply: Apply::One(unrequire_nullable),
    },
    Normalization {
        name: "nullable on optional properties",
        side: Side::Both,
        reason: "an optional property becomes `Option<T>`, which schemars always marks `nullable`; optional and \
                 optional-nullable are one Rust type",
        apply: Apply::One(drop_optional_nullable),
    },
    Normalization {
        name: "order of required",
        side: Side::Both,
        reason: "`required` is a set; schemars writes it sorted, the upstreams in field order",
        apply: Apply::One(sort_required),
    },
    Normalization {
        name: "single-element allOf",
        side: Side::Both,
        reason: "`allOf: [$ref]` is the OpenAPI 3.0 way to annotate a reference (readOnly, nullable); once the \
                 annotation is gone it is the reference itself",
        apply: Apply::One(unwrap_single_all_of),
    },
    Normalization {
        name: "empty additionalProperties",
        side: Side::Both,
        reason: "`additionalProperties: {}` and `additionalProperties: true` both allow any value",
        apply: Apply::One(empty_additional_properties),
    },
    Normalization {
        name: "free-form responses",
        side: Side::Pair,
        reason: "a handler returning `http::Response<Body>` (metrics' Prometheus text, the OAuth2 provider's views) is \
                 documented by Dropshot as `default: */*` with no schema, and a form it reads itself (`UntypedBody`) as \
                 octet-stream; the spec's responses and body (as the spec's other normalizations left them, so this comes last) stand for them \
                 and the integration tests check them",
        apply: Apply::Pair(free_form_responses),
    },
];

/// A normalized document plus, for reporting, each normalized path's original spelling.
#[derive(Debug)]
pub struct Normalized {
    pub doc: Value,
    /// Normalized path → path as written in the original document.
    pub original_paths: BTreeMap<String, String>,
}

/// The names of all normalizations, for failure messages.
pub fn names() -> Vec<&'static str> {
    NORMALIZATIONS.iter().map(|n| n.name).collect()
}

/// Applies every normalization, in table order, to copies of the spec and the server document.
pub fn normalize(spec: &Value, server: &Value) -> (Normalized, Normalized) {
    let (mut spec_doc, mut server_doc) = (spec.clone(), server.clone());
    for normalization in NORMALIZATIONS {
        match (normalization.side, &normalization.apply) {
            (Side::Spec, Apply::One(apply)) => apply(&mut spec_doc),
            (Side::Both, Apply::One(apply)) => {
                apply(&mut spec_doc);
                apply(&mut server_doc);
            }
            (_, Apply::Pair(apply)) => apply(&mut spec_doc, &mut server_doc),
            (Side::Pair, Apply::One(_)) => unreachable!("a pair normalization needs a pair function"),
        }
    }
    (
        Normalized { doc: spec_doc, original_paths: original_paths(spec) },
        Normalized { doc: server_doc, original_paths: original_paths(server) },
    )
}

pub(super) fn original_paths(doc: &Value) -> BTreeMap<String, String> {
    doc.get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(path, _)| (normalized_path(path), path.clone()))
        .collect()
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

pub(super) fn normalized_path(path: &str) -> String {
    match path.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped.to_string(),
        _ => path.to_string(),
    }
}

/// Every operation object of the document.
pub(super) fn operations_mut(doc: &mut Value) -> impl Iterator<Item = &mut Map<String, Value>> {
    doc.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.iter_mut().filter(|(method, _)| METHODS.contains(&method.as_str())).map(|(_, op)| op))
        .filter_map(Value::as_object_mut)
}

/// Calls `f` on every schema object of the document: components, parameters, bodies, responses and
/// everything nested in them (properties, items, additionalProperties, allOf/oneOf/anyOf, not).
pub(super) fn for_each_schema(doc: &mut Value, f: &mut impl FnMut(&mut Map<String, Value>)) {
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.values_mut().for_each(|schema| walk_schema(schema, f));
    }
    if let Some(parameters) = doc.pointer_mut("/components/parameters").and_then(Value::as_object_mut) {
        for parameter in parameters.values_mut() {
            if let Some(schema) = parameter.get_mut("schema") {
                walk_schema(schema, f);
            }
        }
    }
    for op in operations_mut(doc) {
        for parameter in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(schema) = parameter.get_mut("schema") {
                walk_schema(schema, f);
            }
        }
        // Request body and responses share the `content` shape.
        for (key, value) in op.iter_mut() {
            let bodies: Vec<&mut Value> = match key.as_str() {
                "requestBody" => vec![value],
                "responses" => value.as_object_mut().into_iter().flat_map(|r| r.values_mut()).collect(),
                _ => continue,
            };
            for body in bodies {
                for media in
                    body.get_mut("content").and_then(Value::as_object_mut).into_iter().flat_map(|c| c.values_mut())
                {
                    if let Some(schema) = media.get_mut("schema") {
                        walk_schema(schema, f);
                    }
                }
            }
        }
    }
}

pub(super) fn walk_schema(schema: &mut Value, f: &mut impl FnMut(&mut Map<String, Value>)) {
    let Some(map) = schema.as_object_mut() else { return };
    f(map);
    for (key, child) in map.iter_mut() {
        match key.as_str() {
            "properties" => {
                child.as_object_mut().into_iter().flat_map(|p| p.values_mut()).for_each(|p| walk_schema(p, f))
            }
            "items" | "additionalProperties" | "not" => walk_schema(child, f),
            "allOf" | "oneOf" | "anyOf" => child.as_array_mut().into_iter().flatten().for_each(|s| walk_schema(s, f)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_normalization_has_a_reason() {
        for normalization in NORMALIZATIONS {
            assert!(normalization.reason.len() > 20, "{} needs a reason", normalization.name);
        }
    }

    #[test]
    fn error_codes_collapse_only_when_bodies_agree() {
        let body = |s: &str| json!({"content": {"application/json": {"schema": {"$ref": s}}}, "description": "x"});
        let doc = json!({"paths": {"/a/": {"get": {"responses": {
            "200": body("#/components/schemas/Ok"), "400": body("#/components/schemas/E"), "404": body("#/components/schemas/E"),
            "500": body("#/components/schemas/E")
        }}}, "/b": {"get": {"responses": {"400": body("#/components/schemas/E"), "403": body("#/components/schemas/F")}}}}});
        let normalized = normalize(&json!({}), &doc).1.doc;
        let a: Vec<&String> = normalized["paths"]["/a"]["get"]["responses"].as_object().unwrap().keys().collect();
        assert_eq!(a, ["200", "4XX"]);
        let b: Vec<&String> = normalized["paths"]["/b"]["get"]["responses"].as_object().unwrap().keys().collect();
        assert_eq!(b, ["400", "403"]);
    }

    #[test]
    fn optional_nullable_reference_becomes_the_reference() {
        let doc = json!({"components": {"schemas": {"T": {"type": "object", "required": ["a"], "properties": {
            "a": {"type": "string", "nullable": true},
            "b": {"allOf": [{"$ref": "#/components/schemas/U"}], "nullable": true, "title": "B"},
        }}}}});
        let normalized = normalize(&json!({}), &doc).1.doc;
        let properties = &normalized["components"]["schemas"]["T"]["properties"];
        assert_eq!(properties["a"], json!({"type": "string"}));
        assert_eq!(properties["b"], json!({"$ref": "#/components/schemas/U"}));
    }

    #[test]
    fn all_of_objects_merge_as_typify_merges_them() {
        let object =
            |name: &str| json!({"type": "object", "required": [name], "properties": {name: {"type": "string"}}});
        let spec = json!({"components": {"schemas": {
            "Min": object("id"),
            "Full": {"allOf": [{"$ref": "#/components/schemas/Min"}, object("peers")]},
            "Same": {"allOf": [{"$ref": "#/components/schemas/Min"}, object("id")]},
            "Clash": {"allOf": [{"$ref": "#/components/schemas/Min"},
                                {"type": "object", "properties": {"id": {"type": "integer"}}}]},
            "Batch": {"allOf": [{"$ref": "#/components/schemas/Full"}, object("count")]},
        }}});
        let normalized = normalize(&spec, &json!({})).0.doc;
        let schemas = &normalized["components"]["schemas"];
        assert_eq!(
            schemas["Full"],
            json!({"type": "object", "required": ["id", "peers"], "properties": {"id": {"type": "string"},
                   "peers": {"type": "string"}}})
        );
        assert!(schemas["Clash"].get("allOf").is_some(), "a property two members define differently stays visible");
        assert_eq!(schemas["Same"], object("id"), "a property two members define alike is kept once");
        let mut required: Vec<&str> =
            schemas["Batch"]["required"].as_array().unwrap().iter().filter_map(|r| r.as_str()).collect();
        required.sort_unstable();
        assert_eq!(required, ["count", "id", "peers"], "an allOf of an allOf merges");
    }
}
