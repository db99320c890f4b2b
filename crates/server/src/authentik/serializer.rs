//! DRF serializer field parsing of JSON request bodies: the type errors DRF's fields raise
//! (`rest_framework/fields.py`, `relations.py`, `serializers.py`), keyed by field, all at once.
//!
//! A body is any JSON value; what a serializer would reject before its `validate()` runs is rejected here with
//! DRF's message. What is left (uniqueness, lengths, cross-field rules) is the resource's own validation.

use serde_json::{Map, Value};

use super::validate::{add_error, parse_django_datetime};
use super::*;

pub(super) const MSG_NULL: &str = "This field may not be null.";
const MSG_NOT_A_STRING: &str = "Not a valid string.";
const MSG_NOT_A_BOOLEAN: &str = "Must be a valid boolean.";
const MSG_NO_DATA: &str = "No data provided";
const MSG_NULL_CHARACTERS: &str = "Null characters are not allowed.";
const MSG_DATETIME_FORMAT: &str =
    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].";

/// Python's `type(value).__name__` for a JSON value.
pub(super) fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `str(value)` for a JSON scalar, as DRF formats a rejected choice (and `%s` formats a value).
pub(crate) fn python_str(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One request body being parsed, collecting every field's errors.
pub(super) struct Body<'a> {
    fields: &'a Map<String, Value>,
    errors: BTreeMap<String, Vec<String>>,
}

impl<'a> Body<'a> {
    /// `Serializer.to_internal_value`: the body must be a JSON object.
    pub(super) fn new(body: &'a Value) -> Result<Self, AkError> {
        match body {
            Value::Object(fields) => Ok(Body { fields, errors: BTreeMap::new() }),
            Value::Null => Err(AkError::field("non_field_errors", MSG_NO_DATA)),
            other => Err(AkError::field(
                "non_field_errors",
                format!("Invalid data. Expected a dictionary, but got {}.", python_type(other)),
            )),
        }
    }

    fn error(&mut self, field: &str, message: impl Into<String>) {
        add_error(&mut self.errors, field, message);
    }

    /// The field's value; `null` is an error unless `nullable`, and then reads as absent.
    fn value(&mut self, field: &str, nullable: bool) -> Option<&'a Value> {
        match self.fields.get(field) {
            None => None,
            Some(Value::Null) => {
                if !nullable {
                    self.error(field, MSG_NULL);
                }
                None
            }
            Some(value) => Some(value),
        }
    }

    /// `CharField`: strings and numbers (as `str()`), not booleans, lists or objects, and no NUL characters
    /// (`ProhibitNullCharactersValidator`).
    pub(super) fn string(&mut self, field: &str, nullable: bool) -> Option<String> {
        match self.value(field, nullable)? {
            Value::String(s) if s.contains('\0') => {
                self.error(field, MSG_NULL_CHARACTERS);
                None
            }
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => {
                self.error(field, MSG_NOT_A_STRING);
                None
            }
        }
    }

    /// `ChoiceField`: the value's `str()` must be one of `choices`.
    pub(super) fn choice(&mut self, field: &str, choices: &[&str]) -> Option<String> {
        let value = self.value(field, false)?;
        let text = python_str(value);
        if value.is_string() && choices.contains(&text.as_str()) {
            Some(text)
        } else {
            self.error(field, format!("\"{text}\" is not a valid choice."));
            None
        }
    }

    /// `BooleanField`: JSON booleans, 0/1 and DRF's true/false strings.
    pub(super) fn boolean(&mut self, field: &str) -> Option<bool> {
        let value = self.value(field, false)?;
        let parsed = match value {
            Value::Bool(b) => Some(*b),
            Value::Number(n) if n.as_f64() == Some(1.0) => Some(true),
            Value::Number(n) if n.as_f64() == Some(0.0) => Some(false),
            Value::String(s) => match s.as_str() {
                "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "1" => {
                    Some(true)
                }
                "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF"
                | "0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if parsed.is_none() {
            self.error(field, MSG_NOT_A_BOOLEAN);
        }
        parsed
    }

    /// `DateTimeField` (ISO 8601, naive values in UTC).
    pub(super) fn datetime(&mut self, field: &str, nullable: bool) -> Option<DateTime<Utc>> {
        let value = self.value(field, nullable)?;
        let parsed = value.as_str().and_then(parse_django_datetime);
        if parsed.is_none() {
            self.error(field, MSG_DATETIME_FORMAT);
        }
        parsed
    }

    /// authentik's `JSONDictField`: a JSON object.
    pub(super) fn dict(&mut self, field: &str) -> Option<Map<String, Value>> {
        match self.value(field, false)? {
            Value::Object(map) => Some(map.clone()),
            _ => {
                self.error(field, "Value must be a dictionary, and not have any duplicate keys.");
                None
            }
        }
    }

    /// `PrimaryKeyRelatedField(many=True)` over UUID pks: a list of UUID strings (existence is the caller's check).
    pub(super) fn uuid_list(&mut self, field: &str) -> Option<Vec<Uuid>> {
        match self.value(field, false)? {
            Value::Array(items) => {
                let mut uuids = Vec::new();
                for item in items {
                    match item.as_str().and_then(|s| Uuid::parse_str(s).ok()) {
                        Some(uuid) => uuids.push(uuid),
                        None => self.error(field, format!("“{}” is not a valid UUID.", python_str(item))),
                    }
                }
                Some(uuids)
            }
            other => {
                let msg = format!("Expected a list of items but got type \"{}\".", python_type(other));
                self.error(field, msg);
                None
            }
        }
    }

    /// `UUIDField` / a `PrimaryKeyRelatedField` over a UUID pk: a UUID string.
    pub(super) fn uuid(&mut self, field: &str, nullable: bool) -> Option<Uuid> {
        let value = self.value(field, nullable)?;
        let parsed = value.as_str().and_then(|s| Uuid::parse_str(s.trim()).ok());
        if parsed.is_none() {
            self.error(field, format!("“{}” is not a valid UUID.", python_str(value)));
        }
        parsed
    }

    /// A `ListField` / `many=True` field: the list's items, unparsed.
    pub(super) fn list(&mut self, field: &str) -> Option<&'a Vec<Value>> {
        match self.value(field, false)? {
            Value::Array(items) => Some(items),
            other => {
                let msg = format!("Expected a list of items but got type \"{}\".", python_type(other));
                self.error(field, msg);
                None
            }
        }
    }

    /// `MultipleChoiceField` / a list of `ChoiceField`s: every item one of `choices`.
    pub(super) fn choice_list(&mut self, field: &str, choices: &[&str]) -> Option<Vec<String>> {
        let items = self.list(field)?;
        let mut out = Vec::new();
        for item in items {
            let text = python_str(item);
            if item.is_string() && choices.contains(&text.as_str()) {
                out.push(text);
            } else {
                self.error(field, format!("\"{text}\" is not a valid choice."));
            }
        }
        Some(out)
    }

    /// A `PrimaryKeyRelatedField(many=True)` over integer pks (existence is the caller's check).
    pub(super) fn pk_list(&mut self, field: &str) -> Option<Vec<i64>> {
        let items = self.list(field)?;
        let mut out = Vec::new();
        for item in items {
            match item.as_i64().or_else(|| item.as_str().and_then(|s| s.trim().parse().ok())) {
                Some(pk) => out.push(pk),
                None => {
                    self.error(field, format!("Incorrect type. Expected pk value, received {}.", python_type(item)))
                }
            }
        }
        Some(out)
    }

    /// `IntegerField`: integers, integral numbers and integer strings.
    pub(super) fn integer(&mut self, field: &str) -> Option<i64> {
        let value = self.value(field, false)?;
        let parsed = match value {
            Value::Number(n) => {
                n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18).map(|f| f as i64))
            }
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.error(field, "A valid integer is required.");
        }
        parsed
    }

    /// Adds an error to a field (a check that needs more than the body).
    pub(super) fn reject(&mut self, field: &str, message: impl Into<String>) {
        self.error(field, message);
    }

    /// `PrimaryKeyRelatedField` over an integer pk: integers and integer strings; existence is the caller's check.
    pub(super) fn pk(&mut self, field: &str) -> Option<i64> {
        let value = self.value(field, false)?;
        let parsed = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        if parsed.is_none() {
            let received = match value {
                Value::Number(_) => format!("Invalid pk \"{}\" - object does not exist.", python_str(value)),
                other => format!("Incorrect type. Expected pk value, received {}.", python_type(other)),
            };
            self.error(field, received);
        }
        parsed
    }

    /// The field errors so far, for the resource's own validation to add to (DRF reports them together).
    pub(super) fn finish(self) -> BTreeMap<String, Vec<String>> {
        self.errors
    }
}

impl NewToken {
    /// `TokenSerializer` fields of a `TokenRequest` / `PatchedTokenRequest` body, with the type errors found.
    pub(super) fn parse(body: &Value) -> Result<(NewToken, BTreeMap<String, Vec<String>>), AkError> {
        let mut fields = Body::new(body)?;
        let token = NewToken {
            identifier: fields.string("identifier", false),
            intent: fields.choice("intent", &INTENT_CHOICES).and_then(|i| Intent::parse(&i)),
            user: fields.pk("user"),
            description: fields.string("description", false),
            expires: fields.datetime("expires", true),
            expiring: fields.boolean("expiring"),
            managed: fields.string("managed", true),
        };
        Ok((token, fields.finish()))
    }
}

/// `IntentEnum`'s values.
const INTENT_CHOICES: [&str; 4] = ["verification", "api", "recovery", "app_password"];

/// `TokenSetKeySerializer`'s `key` (required; blankness is the rule's check).
pub(super) fn set_key_body(body: &Value) -> Result<Option<String>, AkError> {
    let mut fields = Body::new(body)?;
    let key = fields.string("key", false);
    let errors = fields.finish();
    if errors.is_empty() { Ok(key) } else { Err(AkError::Invalid(errors)) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn errors(body: Value) -> BTreeMap<String, Vec<String>> {
        match NewToken::parse(&body) {
            Ok((_, errors)) => errors,
            Err(AkError::Invalid(errors)) => errors,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    fn one(field: &str, message: &str) -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([(field.to_string(), vec![message.to_string()])])
    }

    #[test]
    fn a_body_must_be_an_object() {
        assert_eq!(errors(json!([1])), one("non_field_errors", "Invalid data. Expected a dictionary, but got list."));
        assert_eq!(errors(json!("x")), one("non_field_errors", "Invalid data. Expected a dictionary, but got str."));
        assert_eq!(errors(json!(null)), one("non_field_errors", "No data provided"));
    }

    #[test]
    fn type_errors_are_drf_messages_for_every_field_at_once() {
        let e = errors(json!({
            "identifier": null, "intent": "bogus", "user": "abc", "expiring": "maybe",
            "expires": "tomorrow", "description": ["x"], "managed": {}
        }));
        assert_eq!(e["identifier"], [MSG_NULL]);
        assert_eq!(e["intent"], ["\"bogus\" is not a valid choice."]);
        assert_eq!(e["user"], ["Incorrect type. Expected pk value, received str."]);
        assert_eq!(e["expiring"], [MSG_NOT_A_BOOLEAN]);
        assert_eq!(e["expires"], [MSG_DATETIME_FORMAT]);
        assert_eq!(e["description"], [MSG_NOT_A_STRING]);
        assert_eq!(e["managed"], [MSG_NOT_A_STRING]);
        assert_eq!(errors(json!({"user": true}))["user"], ["Incorrect type. Expected pk value, received bool."]);
        assert_eq!(errors(json!({"user": 1.5}))["user"], ["Invalid pk \"1.5\" - object does not exist."]);
        assert_eq!(errors(json!({"intent": 5}))["intent"], ["\"5\" is not a valid choice."]);
        assert_eq!(errors(json!({"identifier": "a\u{0}b"}))["identifier"], [MSG_NULL_CHARACTERS]);
    }

    #[test]
    fn lenient_values_parse_as_drf_does() {
        let t = NewToken::parse(&json!({
            "identifier": 42, "intent": "app_password", "user": "7", "expiring": "off",
            "expires": null, "managed": null, "unknown": [1, 2]
        }))
        .unwrap();
        assert!(t.1.is_empty());
        let t = t.0;
        assert_eq!(t.identifier.as_deref(), Some("42"));
        assert_eq!(t.intent, Some(Intent::AppPassword));
        assert_eq!((t.user, t.expiring, t.expires, t.managed), (Some(7), Some(false), None, None));
        assert_eq!(NewToken::parse(&json!({})).unwrap(), (NewToken::default(), BTreeMap::new()));
    }
}
