//! Go's `encoding/json` decoding of a request body into a struct, as NetBird's handlers do before their checks:
//! a wrong JSON type is `couldn't parse JSON request` (400); a missing field or `null` leaves Go's zero value
//! for the handler's own 422; keys match exactly first, then case-insensitively; unknown keys are ignored.

use serde_json::{Map, Value};

use super::NbError;

/// A JSON body being decoded into a Go struct.
pub(super) struct GoStruct<'a> {
    fields: Option<&'a Map<String, Value>>,
}

impl<'a> GoStruct<'a> {
    /// An object, or `null` (which leaves every field zero); anything else does not decode.
    pub(super) fn new(body: &'a Value) -> Result<Self, NbError> {
        match body {
            Value::Object(fields) => Ok(GoStruct { fields: Some(fields) }),
            Value::Null => Ok(GoStruct { fields: None }),
            _ => Err(NbError::InvalidJson),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        let fields = self.fields?;
        fields.get(name).or_else(|| fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
    }

    /// A `string` field.
    pub(super) fn string(&mut self, name: &str) -> Result<String, NbError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(NbError::InvalidJson),
        }
    }

    /// A `bool` field.
    pub(super) fn boolean(&mut self, name: &str) -> Result<bool, NbError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(NbError::InvalidJson),
        }
    }

    /// A `*[]string` field: `None` when absent or `null`.
    pub(super) fn strings(&mut self, name: &str) -> Result<Option<Vec<String>>, NbError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned).ok_or(NbError::InvalidJson))
                .collect::<Result<_, _>>()
                .map(Some),
            Some(_) => Err(NbError::InvalidJson),
        }
    }

    /// A `*[]T` field of structs: `None` when absent or `null`; a `null` element is a zero struct.
    pub(super) fn structs(&mut self, name: &str) -> Result<Option<Vec<GoStruct<'a>>>, NbError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items.iter().map(GoStruct::new).collect::<Result<_, _>>().map(Some),
            Some(_) => Err(NbError::InvalidJson),
        }
    }

    /// A `*bool` field: `None` when absent or `null`.
    pub(super) fn optional_bool(&mut self, name: &str) -> Result<Option<bool>, NbError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.boolean(name).map(Some),
        }
    }

    /// A `*string` field: `None` when absent or `null`.
    pub(super) fn optional_string(&mut self, name: &str) -> Result<Option<String>, NbError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.string(name).map(Some),
        }
    }

    /// A `*T` struct field: `None` when absent or `null`.
    pub(super) fn optional_struct(&mut self, name: &str) -> Result<Option<GoStruct<'a>>, NbError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => GoStruct::new(value).map(Some),
        }
    }

    /// A `*int` field: `None` when absent or `null`.
    pub(super) fn optional_int(&mut self, name: &str) -> Result<Option<i64>, NbError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.int(name).map(Some),
        }
    }

    /// An `int` field (64-bit): a JSON integer literal in range; fractions and exponents do not decode.
    pub(super) fn int(&mut self, name: &str) -> Result<i64, NbError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Number(n)) => n.as_i64().ok_or(NbError::InvalidJson),
            Some(_) => Err(NbError::InvalidJson),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn decodes_as_go_does() {
        let body = json!({"NAME": "ci", "expires_in": 30, "extra": [1]});
        let mut go = GoStruct::new(&body).unwrap();
        assert_eq!((go.string("name").unwrap(), go.int("expires_in").unwrap()), ("ci".to_string(), 30));
        let mut empty = GoStruct::new(&Value::Null).unwrap();
        assert_eq!((empty.string("name").unwrap(), empty.int("expires_in").unwrap()), (String::new(), 0));
        for bad in
            [json!({"name": 5}), json!({"expires_in": 1.5}), json!({"expires_in": "3"}), json!({"expires_in": 1e2})]
        {
            let mut go = GoStruct::new(&bad).unwrap();
            assert!(matches!(go.string("name").and_then(|_| go.int("expires_in")), Err(NbError::InvalidJson)), "{bad}");
        }
        assert!(matches!(GoStruct::new(&json!([])), Err(NbError::InvalidJson)));
        let huge = json!({"expires_in": u64::MAX});
        assert!(matches!(GoStruct::new(&huge).unwrap().int("expires_in"), Err(NbError::InvalidJson)));
    }
}
