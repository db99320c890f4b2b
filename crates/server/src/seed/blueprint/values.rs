//! The field values of blueprint entries as DRF's serializer fields read them, with their messages.

use serde_json::{Map, Value};

use super::rows::{Build, Model};
use super::tags::key_string;

pub const NULL: &str = "This field may not be null.";

/// `CharField`: a string, or a number as its text.
pub fn text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Null => Err(NULL.into()),
        _ => Err("Not a valid string.".into()),
    }
}

/// `BooleanField`, with the strings and numbers it takes.
pub fn flag(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if ["true", "True", "1", "yes", "on"].contains(&s.as_str()) => Ok(true),
        Value::String(s) if ["false", "False", "0", "no", "off"].contains(&s.as_str()) => Ok(false),
        Value::Number(n) if n.as_i64() == Some(1) => Ok(true),
        Value::Number(n) if n.as_i64() == Some(0) => Ok(false),
        _ => Err("Must be a valid boolean.".into()),
    }
}

pub fn items(value: &Value) -> Result<&[Value], String> {
    match value {
        Value::Array(items) => Ok(items),
        _ => Err(format!("Expected a list of items but got {value}.")),
    }
}

pub fn object(value: &Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map.clone()),
        _ => Err(format!("Expected a dictionary of items but got {value}.")),
    }
}

/// A choice field or a date, read as the model's own type reads it.
pub fn typed<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| format!("\"{}\" is not a valid choice ({e}).", key_string(value)))
}

/// A choice among `choices`.
pub fn choice(value: &Value, choices: &[&str]) -> Result<String, String> {
    let given = text(value)?;
    if choices.contains(&given.as_str()) { Ok(given) } else { Err(format!("\"{given}\" is not a valid choice.")) }
}

/// `PrimaryKeyRelatedField`: the pk of the row of `model` that `value` names, or Django's message.
pub fn reference(build: &Build, model: Model, value: &Value) -> Result<Value, String> {
    if value.is_null() {
        return Err(NULL.into());
    }
    build.pk_named(model, value).ok_or_else(|| format!("Invalid pk \"{}\" - object does not exist.", key_string(value)))
}

/// A nullable reference to a row with a uuid pk.
pub fn optional_uuid(build: &Build, model: Model, value: &Value) -> Result<Option<uuid::Uuid>, String> {
    if value.is_null() {
        return Ok(None);
    }
    Ok(reference(build, model, value)?.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()))
}

/// A nullable reference to a row with an integer pk.
pub fn optional_int(build: &Build, model: Model, value: &Value) -> Result<Option<i64>, String> {
    if value.is_null() {
        return Ok(None);
    }
    Ok(reference(build, model, value)?.as_i64())
}
