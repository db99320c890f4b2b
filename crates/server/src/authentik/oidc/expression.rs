//! The Python of custom scope mappings, as far as setups write it (authentik evaluates any Python; tokenstack
//! evaluates this subset and nothing else):
//!
//! * statements `name = expr` and one `return expr`, comments, and any line breaks inside brackets;
//! * literals: strings, numbers, `True`, `False`, `None`, lists and dicts;
//! * `request.user.username`, `.name`, `.email`, `.uid`, `.pk`, `.is_active`, `.attributes` (with `.get(key)`,
//!   `.get(key, default)` and `[key]`) and `.group_attributes()`;
//! * list comprehensions `[… for x in …]`, over `request.user.ak_groups.all()` or `request.user.groups.all()`
//!   (whose items have `.name` and `.attributes`) or over a list.
//!
//! Anything else is an [`Unsupported`] error, which the caller logs once and skips: the mapping adds no claims.

use serde_json::{Map, Value};

/// What a mapping's expression may read of the user.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExpressionUser<'a> {
    pub(crate) pk: i64,
    pub(crate) uid: &'a str,
    pub(crate) username: &'a str,
    pub(crate) name: &'a str,
    pub(crate) email: &'a str,
    pub(crate) is_active: bool,
    pub(crate) attributes: &'a Value,
    /// The user's groups: name and attributes.
    pub(crate) groups: &'a [(String, Value)],
}

/// An expression outside the subset, with what was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expression outside tokenstack's subset: {0}")]
pub(crate) struct Unsupported(String);

fn unsupported<T>(what: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported(what.into()))
}

/// The dict the expression returns for `user`.
pub(crate) fn evaluate(source: &str, user: &ExpressionUser<'_>) -> Result<Map<String, Value>, Unsupported> {
    let tokens = tokenize(source)?;
    let mut parser = Parser { tokens, at: 0 };
    let mut scope: Vec<(String, Obj)> = Vec::new();
    loop {
        parser.skip_newlines();
        match parser.peek().cloned() {
            None => return unsupported("no return statement"),
            Some(Tok::Name(word)) if word == "return" => {
                parser.at += 1;
                let expr = parser.expr()?;
                return match eval(&expr, user, &scope)? {
                    Obj::Json(Value::Object(map)) => Ok(map),
                    _ => unsupported("the return value is not a dict"),
                };
            }
            Some(Tok::Name(name)) if parser.tokens.get(parser.at + 1) == Some(&Tok::Punct('=')) => {
                parser.at += 2;
                let expr = parser.expr()?;
                let value = eval(&expr, user, &scope)?;
                scope.push((name, value));
            }
            Some(other) => return unsupported(format!("a statement starting with {other:?}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Num(Value),
    Punct(char),
    Newline,
}

fn tokenize(source: &str) -> Result<Vec<Tok>, Unsupported> {
    let chars: Vec<char> = source.chars().collect();
    let (mut tokens, mut i, mut depth) = (Vec::new(), 0, 0usize);
    while i < chars.len() {
        let c = chars[i];
        match c {
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '\n' if depth == 0 => tokens.push(Tok::Newline),
            c if c.is_whitespace() => {}
            '"' | '\'' => {
                let mut text = String::new();
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                        text.push(match chars[i] {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    } else {
                        text.push(chars[i]);
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return unsupported("an unterminated string");
                }
                tokens.push(Tok::Str(text));
            }
            c if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let number = match text.parse::<i64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => text.parse::<f64>().ok().map(Value::from).ok_or_else(|| Unsupported(text.clone()))?,
                };
                tokens.push(Tok::Num(number));
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push(Tok::Name(chars[start..i].iter().collect()));
                continue;
            }
            '{' | '[' | '(' => {
                depth += 1;
                tokens.push(Tok::Punct(c));
            }
            '}' | ']' | ')' => {
                depth = depth.saturating_sub(1);
                tokens.push(Tok::Punct(c));
            }
            ':' | ',' | '.' | '=' => tokens.push(Tok::Punct(c)),
            other => return unsupported(format!("the character {other:?}")),
        }
        i += 1;
    }
    Ok(tokens)
}

#[derive(Debug, Clone)]
enum Expr {
    Literal(Value),
    Name(String),
    List(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Comprehension { item: Box<Expr>, var: String, iter: Box<Expr> },
    Attr(Box<Expr>, String),
    Call(Box<Expr>, Vec<Expr>),
    Index(Box<Expr>, Box<Expr>),
}

struct Parser {
    tokens: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at)
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Newline) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(&Tok::Punct(c));
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, c: char) -> Result<(), Unsupported> {
        if self.eat(c) { Ok(()) } else { unsupported(format!("expected {c:?} at {:?}", self.peek())) }
    }

    fn expr(&mut self) -> Result<Expr, Unsupported> {
        let mut expr = self.atom()?;
        loop {
            if self.eat('.') {
                match self.tokens.get(self.at).cloned() {
                    Some(Tok::Name(name)) => {
                        self.at += 1;
                        expr = Expr::Attr(Box::new(expr), name);
                    }
                    other => return unsupported(format!("an attribute {other:?}")),
                }
            } else if self.eat('(') {
                let args = self.sequence(')')?;
                expr = Expr::Call(Box::new(expr), args);
            } else if self.eat('[') {
                let index = self.expr()?;
                self.expect(']')?;
                expr = Expr::Index(Box::new(expr), Box::new(index));
            } else {
                return Ok(expr);
            }
        }
    }

    /// Expressions separated by commas (a trailing one allowed) up to `close`.
    fn sequence(&mut self, close: char) -> Result<Vec<Expr>, Unsupported> {
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(self.expr()?);
            if !self.eat(',') {
                self.expect(close)?;
                break;
            }
        }
        Ok(items)
    }

    fn atom(&mut self) -> Result<Expr, Unsupported> {
        let Some(token) = self.tokens.get(self.at).cloned() else { return unsupported("a missing expression") };
        self.at += 1;
        Ok(match token {
            Tok::Str(text) => Expr::Literal(Value::String(text)),
            Tok::Num(number) => Expr::Literal(number),
            Tok::Name(word) => match word.as_str() {
                "True" => Expr::Literal(Value::Bool(true)),
                "False" => Expr::Literal(Value::Bool(false)),
                "None" => Expr::Literal(Value::Null),
                _ => Expr::Name(word),
            },
            Tok::Punct('[') => {
                if self.eat(']') {
                    return Ok(Expr::List(Vec::new()));
                }
                let first = self.expr()?;
                if self.peek() == Some(&Tok::Name("for".into())) {
                    self.at += 1;
                    let Some(Tok::Name(var)) = self.tokens.get(self.at).cloned() else {
                        return unsupported("a comprehension without a variable");
                    };
                    self.at += 1;
                    if self.tokens.get(self.at) != Some(&Tok::Name("in".into())) {
                        return unsupported("a comprehension without `in`");
                    }
                    self.at += 1;
                    let iter = self.expr()?;
                    self.expect(']')?;
                    return Ok(Expr::Comprehension { item: Box::new(first), var, iter: Box::new(iter) });
                }
                let mut items = vec![first];
                if self.eat(',') {
                    items.extend(self.sequence(']')?);
                } else {
                    self.expect(']')?;
                }
                Expr::List(items)
            }
            Tok::Punct('{') => {
                let mut pairs = Vec::new();
                while !self.eat('}') {
                    let key = self.expr()?;
                    self.expect(':')?;
                    pairs.push((key, self.expr()?));
                    if !self.eat(',') {
                        self.expect('}')?;
                        break;
                    }
                }
                Expr::Dict(pairs)
            }
            Tok::Punct('(') => {
                let inner = self.expr()?;
                self.expect(')')?;
                inner
            }
            other => return unsupported(format!("{other:?}")),
        })
    }
}

/// A value during evaluation: JSON, or one of the objects the subset reads.
#[derive(Debug, Clone)]
enum Obj {
    Json(Value),
    Request,
    User,
    Groups,
    /// `….groups.all()`: the user's groups, each an [`Obj::Group`] when iterated.
    GroupList,
    Group(usize),
    /// A bound method: the object and the method's name.
    Method(Box<Obj>, String),
}

fn eval(expr: &Expr, user: &ExpressionUser<'_>, scope: &[(String, Obj)]) -> Result<Obj, Unsupported> {
    Ok(match expr {
        Expr::Literal(value) => Obj::Json(value.clone()),
        Expr::Name(name) if name == "request" => Obj::Request,
        Expr::Name(name) => match scope.iter().rev().find(|(n, _)| n == name) {
            Some((_, value)) => value.clone(),
            None => return unsupported(format!("the name {name}")),
        },
        Expr::List(items) => {
            Obj::Json(Value::Array(items.iter().map(|i| json(eval(i, user, scope)?)).collect::<Result<_, _>>()?))
        }
        Expr::Dict(pairs) => {
            let mut map = Map::new();
            for (key, value) in pairs {
                let Value::String(key) = json(eval(key, user, scope)?)? else { return unsupported("a non-string key") };
                map.insert(key, json(eval(value, user, scope)?)?);
            }
            Obj::Json(Value::Object(map))
        }
        Expr::Comprehension { item, var, iter } => {
            let items: Vec<Obj> = match eval(iter, user, scope)? {
                Obj::Json(Value::Array(values)) => values.into_iter().map(Obj::Json).collect(),
                Obj::GroupList => (0..user.groups.len()).map(Obj::Group).collect(),
                _ => return unsupported("a comprehension over something that is not a list"),
            };
            let mut out = Vec::new();
            for value in items {
                let mut inner = scope.to_vec();
                inner.push((var.clone(), value));
                out.push(json(eval(item, user, &inner)?)?);
            }
            Obj::Json(Value::Array(out))
        }
        Expr::Attr(target, name) => attribute(eval(target, user, scope)?, name, user)?,
        Expr::Call(target, args) => {
            let args: Vec<Value> = args.iter().map(|a| json(eval(a, user, scope)?)).collect::<Result<_, _>>()?;
            call(eval(target, user, scope)?, &args, user)?
        }
        Expr::Index(target, index) => {
            let (target, index) = (json(eval(target, user, scope)?)?, json(eval(index, user, scope)?)?);
            match (&target, &index) {
                (Value::Object(map), Value::String(key)) => Obj::Json(map.get(key).cloned().unwrap_or(Value::Null)),
                (Value::Array(items), Value::Number(n)) => {
                    Obj::Json(n.as_u64().and_then(|i| items.get(i as usize)).cloned().unwrap_or(Value::Null))
                }
                _ => return unsupported("an index"),
            }
        }
    })
}

fn attribute(target: Obj, name: &str, user: &ExpressionUser<'_>) -> Result<Obj, Unsupported> {
    Ok(match (target, name) {
        (Obj::Request, "user") => Obj::User,
        (Obj::User, "username") => Obj::Json(user.username.into()),
        (Obj::User, "name") => Obj::Json(user.name.into()),
        (Obj::User, "email") => Obj::Json(user.email.into()),
        (Obj::User, "uid") => Obj::Json(user.uid.into()),
        (Obj::User, "pk" | "id") => Obj::Json(user.pk.into()),
        (Obj::User, "is_active") => Obj::Json(user.is_active.into()),
        (Obj::User, "attributes") => Obj::Json(user.attributes.clone()),
        (Obj::User, "ak_groups" | "groups") => Obj::Groups,
        (Obj::Group(index), "name" | "attributes") => {
            let (group_name, attributes) = &user.groups[index];
            Obj::Json(if name == "name" { group_name.clone().into() } else { attributes.clone() })
        }
        (target @ (Obj::Groups | Obj::User | Obj::Json(_)), method) => Obj::Method(Box::new(target), method.to_owned()),
        (_, name) => return unsupported(format!("the attribute {name}")),
    })
}

fn call(target: Obj, args: &[Value], user: &ExpressionUser<'_>) -> Result<Obj, Unsupported> {
    let Obj::Method(object, method) = target else { return unsupported("a call of something not a method") };
    Ok(match (*object, method.as_str(), args) {
        (Obj::Groups, "all", []) => Obj::GroupList,
        (Obj::User, "group_attributes", [] | [_]) => {
            let mut merged = Value::Object(Map::new());
            let mut groups: Vec<&(String, Value)> = user.groups.iter().collect();
            groups.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, attributes) in groups {
                deep_merge(&mut merged, attributes);
            }
            deep_merge(&mut merged, user.attributes);
            Obj::Json(merged)
        }
        (Obj::Json(Value::Object(map)), "get", [Value::String(key), rest @ ..]) if rest.len() <= 1 => {
            Obj::Json(map.get(key).cloned().unwrap_or_else(|| rest.first().cloned().unwrap_or(Value::Null)))
        }
        (_, method, _) => return unsupported(format!("the method {method}")),
    })
}

/// `deepmerge.always_merger`: dicts merge key by key, lists extend, anything else is replaced.
fn deep_merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                match into.get_mut(key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        into.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(into), Value::Array(from)) => into.extend(from.iter().cloned()),
        (into, from) => *into = from.clone(),
    }
}

fn json(obj: Obj) -> Result<Value, Unsupported> {
    match obj {
        Obj::Json(value) => Ok(value),
        other => unsupported(format!("{other:?} as a value")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user<'a>(attributes: &'a Value, groups: &'a [(String, Value)]) -> ExpressionUser<'a> {
        ExpressionUser {
            pk: 7,
            uid: "uid-7",
            username: "alice",
            name: "Alice",
            email: "alice@example.com",
            is_active: true,
            attributes,
            groups,
        }
    }

    #[test]
    fn what_setups_write_evaluates_as_python_would() {
        let attributes = json!({"team": "core", "settings": {"locale": "de"}});
        let groups = [("editors".to_string(), json!({"level": 2})), ("admins".to_string(), json!({"x": [1]}))];
        let user = user(&attributes, &groups);
        let groups_mapping = "return {\n    \"groups\": [group.name for group in request.user.ak_groups.all()],\n}";
        assert_eq!(Value::Object(evaluate(groups_mapping, &user).unwrap()), json!({"groups": ["editors", "admins"]}));
        let newer = "# the newer spelling\nreturn {'groups': [g.name for g in request.user.groups.all()]}";
        assert_eq!(evaluate(newer, &user).unwrap()["groups"], json!(["editors", "admins"]));
        let fields = "team = request.user.attributes.get('team', 'none')\nreturn {'team': team, 'pk': request.user.pk,\n 'active': request.user.is_active, 'locale': request.user.attributes['settings'].get('locale'),\n 'missing': request.user.attributes.get('nope'), 'list': [1, 2.5, None, True]}";
        assert_eq!(
            Value::Object(evaluate(fields, &user).unwrap()),
            json!({"team": "core", "pk": 7, "active": true, "locale": "de", "missing": null, "list": [1, 2.5, null, true]})
        );
        let merged = "return {'attrs': request.user.group_attributes()}";
        assert_eq!(
            evaluate(merged, &user).unwrap()["attrs"],
            json!({"x": [1], "level": 2, "team": "core", "settings": {"locale": "de"}})
        );
    }

    #[test]
    fn anything_else_is_unsupported_not_an_error_of_the_server() {
        let (attributes, groups) = (json!({}), []);
        let user = user(&attributes, &groups);
        for source in [
            "return {'a': 1 + 1}",
            "import os\nreturn {}",
            "return request.user.username",
            "return {'x': ak_call()}",
            "if True:\n    return {}",
            "return {'x': \"unterminated}",
            "",
        ] {
            assert!(evaluate(source, &user).is_err(), "{source:?}");
        }
    }
}
