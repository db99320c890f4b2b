//! The YAML tags of authentik blueprints (`authentik/blueprints/v1/common.py`), resolved to plain JSON values:
//! `!KeyOf`, `!Find`, `!Env`, `!Format`, `!Context`, `!If`, `!Condition` and `!ParseJSON`. The others (`!File`,
//! `!FindObject`, `!Enumerate`, `!Index`, `!Value`, `!AtIndex`) are refused by name.

use serde_json::{Map, Number, Value};
use serde_yaml::Value as Yaml;

use super::models::Build;
use crate::authentik::python_str;

/// What a tag could not resolve to; the caller adds the entry.
pub type TagError = String;

/// What resolving a value needs besides the value: the blueprint's context, the pks of the entries applied so
/// far (by `id`), the ids of entries skipped as unknown, the rows so far (`!Find`) and the environment (`!Env`).
pub struct Resolver<'a> {
    pub context: &'a serde_yaml::Mapping,
    pub keys: &'a [(String, Value)],
    pub skipped: &'a [String],
    pub build: &'a Build,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Resolver<'_> {
    /// `value` with every tag in it resolved, as plain JSON.
    pub fn resolve(&self, value: &Yaml) -> Result<Value, TagError> {
        Ok(match value {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Number(n) => number(n),
            Yaml::String(s) => Value::String(s.clone()),
            Yaml::Sequence(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect::<Result<_, _>>()?),
            Yaml::Mapping(map) => {
                let mut out = Map::new();
                for (key, value) in map {
                    out.insert(key_string(&self.resolve(key)?), self.resolve(value)?);
                }
                Value::Object(out)
            }
            Yaml::Tagged(tagged) => self.tag(&tagged.tag.to_string(), &tagged.value)?,
        })
    }

    fn tag(&self, tag: &str, node: &Yaml) -> Result<Value, TagError> {
        match tag {
            "!KeyOf" => {
                let id = scalar(tag, node)?;
                match self.keys.iter().rev().find(|(key, _)| *key == id) {
                    Some((_, pk)) => Ok(pk.clone()),
                    None if self.skipped.contains(&id) => {
                        Err(format!("!KeyOf {id}: the entry with id `{id}` was skipped (its model is not served)"))
                    }
                    None => Err(format!("!KeyOf {id}: failed to find an earlier entry with `id` of `{id}`")),
                }
            }
            "!Env" => {
                let (key, default) = match node {
                    Yaml::Sequence(items) if items.len() == 2 => {
                        (key_string(&self.resolve(&items[0])?), Some(self.resolve(&items[1])?))
                    }
                    Yaml::Sequence(_) => return Err(arity(tag, "[NAME, default]")),
                    _ => (scalar(tag, node)?, None),
                };
                // `getenv(key) or default`: an empty variable is unset.
                match ((self.env)(&key).filter(|v| !v.is_empty()), default) {
                    (Some(value), _) => Ok(Value::String(value)),
                    (None, Some(default)) => Ok(default),
                    (None, None) => Err(format!("!Env {key}: the variable is not set and the tag gives no default")),
                }
            }
            "!Context" => {
                let (key, default) = match node {
                    Yaml::Sequence(items) if items.len() == 2 => (self.resolve(&items[0])?, self.resolve(&items[1])?),
                    Yaml::Sequence(_) => return Err(arity(tag, "[key, default]")),
                    _ => (Value::String(scalar(tag, node)?), Value::Null),
                };
                let key = key_string(&key);
                match self.context.get(key.as_str()) {
                    Some(value) => self.resolve(value),
                    None if key == "goauthentik.io/enterprise/licensed" => Ok(Value::Bool(false)),
                    None => Ok(default),
                }
            }
            "!Format" => {
                let items = sequence(tag, node, 1, "[format, args…]")?;
                let Value::String(format) = self.resolve(&items[0])? else {
                    return Err(format!("{tag}: the format must be a string"));
                };
                let args = items[1..].iter().map(|v| self.resolve(v)).collect::<Result<Vec<_>, _>>()?;
                percent_format(&format, &args).map_err(|e| format!("{tag}: {e}"))
            }
            "!Find" => {
                let items = sequence(tag, node, 1, "[model, [field, value], …]")?;
                let model = key_string(&self.resolve(&items[0])?);
                let mut conditions = Vec::new();
                for condition in &items[1..] {
                    match condition {
                        Yaml::Sequence(pair) if pair.len() == 2 => {
                            conditions.push((key_string(&self.resolve(&pair[0])?), self.resolve(&pair[1])?));
                        }
                        _ => return Err(arity(tag, "[model, [field, value], …]")),
                    }
                }
                self.build.find(&model, &conditions).map_err(|e| format!("{tag} [{model}, …]: {e}"))
            }
            "!If" => match node {
                Yaml::Sequence(items) if items.len() == 1 => Ok(Value::Bool(truthy(&self.resolve(&items[0])?))),
                Yaml::Sequence(items) if items.len() == 3 => {
                    let chosen = if truthy(&self.resolve(&items[0])?) { &items[1] } else { &items[2] };
                    self.resolve(chosen)
                }
                _ => Err(arity(tag, "[condition] or [condition, when_true, when_false]")),
            },
            "!Condition" => {
                let items = sequence(tag, node, 2, "[mode, value, …]")?;
                let mode = key_string(&self.resolve(&items[0])?).to_uppercase();
                let args =
                    items[1..].iter().map(|v| self.resolve(v).map(|v| truthy(&v))).collect::<Result<Vec<_>, _>>()?;
                let xor = args.iter().fold(false, |acc, x| acc ^ x);
                Ok(Value::Bool(match mode.as_str() {
                    "AND" => args.iter().all(|x| *x),
                    "NAND" => !args.iter().all(|x| *x),
                    "OR" => args.iter().any(|x| *x),
                    "NOR" => !args.iter().any(|x| *x),
                    "XOR" => xor,
                    "XNOR" => !xor,
                    _ => return Err(format!("{tag}: unknown mode {mode:?} (AND, NAND, OR, NOR, XOR, XNOR)")),
                }))
            }
            "!ParseJSON" => {
                let raw = scalar(tag, node)?;
                serde_json::from_str(&raw).map_err(|e| format!("{tag}: {e}"))
            }
            "!File" | "!FindObject" | "!Enumerate" | "!Index" | "!Value" | "!AtIndex" => {
                Err(format!("the tag {tag} is not supported by tokenstack (docs/divergences.md)"))
            }
            other => Err(format!("unknown tag {other}")),
        }
    }
}

fn number(n: &serde_yaml::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Number(i.into())
    } else if let Some(u) = n.as_u64() {
        Value::Number(u.into())
    } else {
        n.as_f64().and_then(Number::from_f64).map_or(Value::Null, Value::Number)
    }
}

/// A value as a mapping key or a name: strings as they are, anything else as Python's `str()` writes it.
pub fn key_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => python_str(other),
    }
}

/// Python's truth value.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A tag's scalar operand (`!KeyOf id`).
fn scalar(tag: &str, node: &Yaml) -> Result<String, TagError> {
    match node {
        Yaml::String(s) => Ok(s.clone()),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("{tag} takes a single value, not a sequence or mapping")),
    }
}

/// A tag's sequence operand with at least `min` items.
fn sequence<'y>(tag: &str, node: &'y Yaml, min: usize, shape: &str) -> Result<&'y [Yaml], TagError> {
    match node {
        Yaml::Sequence(items) if items.len() >= min => Ok(items),
        _ => Err(arity(tag, shape)),
    }
}

fn arity(tag: &str, shape: &str) -> TagError {
    format!("{tag} takes {shape}")
}

/// Python's `format % tuple(args)` for `%s`, `%d`, `%i` and `%%`, with Python's errors for a count that differs.
pub fn percent_format(format: &str, args: &[Value]) -> Result<Value, String> {
    let mut out = String::with_capacity(format.len());
    let mut args = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(spec @ ('s' | 'd' | 'i')) => {
                let arg = args.next().ok_or("not enough arguments for format string")?;
                match (spec, arg) {
                    ('s', arg) => out.push_str(&python_str(arg)),
                    (_, Value::Number(n)) if n.is_i64() || n.is_u64() => out.push_str(&n.to_string()),
                    (_, Value::Bool(b)) => out.push_str(if *b { "1" } else { "0" }),
                    (_, other) => return Err(format!("%{spec} format: a real number is required, not {other}")),
                }
            }
            Some(other) => return Err(format!("unsupported format character {other:?}")),
            None => return Err("incomplete format".into()),
        }
    }
    if args.next().is_some() {
        return Err("not all arguments converted during string formatting".into());
    }
    Ok(Value::String(out))
}
