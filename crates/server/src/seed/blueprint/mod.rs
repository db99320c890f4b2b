//! authentik blueprints (`version: 1`, `entries`) as seeds: a blueprint is applied, entry by entry as authentik's
//! importer applies it, to the rows of a fresh install, and the rows built become a seed document, which the
//! seed's one loading path stores. Nothing is half-loaded: any bad entry refuses the whole blueprint.
//!
//! Groups: `finish::embed_groups` is the one function that knows groups live inside their users.
//!
//! The format and what is covered: docs/seed-format.md ("Blueprints"); what is not: docs/divergences.md.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use serde_yaml::Value as Yaml;

use super::{SeedError, SeedFile};

mod finish;
mod locate;
mod models;
mod provider;
mod rows;
mod tags;
#[cfg(test)]
mod tests;
mod values;

use locate::Seg;
use models::State;
use rows::{Build, Model};
use tags::Resolver;

/// How a blueprint is read.
pub struct Options<'a> {
    /// Skip, with a warning, the entries of models tokenstack does not serve, instead of refusing the blueprint
    /// (`--blueprint-skip-unknown`).
    pub skip_unknown: bool,
    /// `!Env`'s environment.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Why a blueprint cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum BlueprintError {
    #[error("{0}")]
    Syntax(serde_yaml::Error),
    /// The document's shape (`version`, `entries`, an entry's keys).
    #[error("{problem}{at}")]
    Shape { problem: String, at: String },
    /// An entry of a model tokenstack does not serve (without `--blueprint-skip-unknown`).
    #[error(
        "{entry}: the model {model} is not served by tokenstack (pass --blueprint-skip-unknown to skip such entries)"
    )]
    UnknownModel { entry: String, model: String },
    /// A key of an entry's `identifiers` or `attrs` that its model does not take.
    #[error("{entry}: unknown key `{key}` in {section}{at}")]
    UnknownKey { entry: String, section: &'static str, key: String, at: String },
    #[error("{entry}: {problem}")]
    Entry { entry: String, problem: String },
}

/// A blueprint read, and what it skipped.
pub struct Translated {
    pub seed: super::SeedFile,
    /// One line per entry skipped as unknown.
    pub warnings: Vec<String>,
}

impl SeedFile {
    /// The seed file or blueprint at `path` (a blueprint is told by its top-level `version` or `entries`), and the
    /// warnings of the blueprint's skipped entries.
    pub fn load_any(path: &Path, options: &Options, now: DateTime<Utc>) -> Result<(SeedFile, Vec<String>), SeedError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| SeedError::Read { path: path.display().to_string(), error })?;
        if !is_blueprint_text(&text) {
            return SeedFile::parse(path, &text).map(|seed| (seed, Vec::new()));
        }
        let translated = from_text(&text, options, now)
            .map_err(|error| SeedError::BlueprintFile { path: path.display().to_string(), error })?;
        Ok((translated.seed, translated.warnings))
    }

    /// What the admin API's `PUT /_tokenstack/state` takes: a seed document or a blueprint as JSON, or the text of
    /// either (YAML, where a blueprint's tags can be written) as a JSON string; with the blueprint's warnings.
    pub fn from_document(
        document: serde_json::Value,
        options: &Options,
        now: DateTime<Utc>,
    ) -> Result<(SeedFile, Vec<String>), SeedError> {
        let translated = match document {
            serde_json::Value::String(text) if is_blueprint_text(&text) => from_text(&text, options, now)?,
            serde_json::Value::String(text) => {
                let seed = serde_yaml::from_str(&text).map_err(|err| SeedError::Invalid(err.to_string()))?;
                return Ok((seed, Vec::new()));
            }
            document if is_blueprint_value(&document) => from_json(document, options, now)?,
            document => return SeedFile::from_json(document).map(|seed| (seed, Vec::new())),
        };
        Ok((translated.seed, translated.warnings))
    }
}

/// Whether a YAML seed file is a blueprint: a top-level `version:` or `entries:` key, which the seed format lacks.
pub fn is_blueprint_text(text: &str) -> bool {
    text.lines().any(|line| line.starts_with("version:") || line.starts_with("entries:"))
}

/// Whether a JSON seed document is a blueprint.
pub fn is_blueprint_value(value: &Value) -> bool {
    value.as_object().is_some_and(|map| map.contains_key("version") || map.contains_key("entries"))
}

/// Reads the blueprint of YAML `text`.
pub fn from_text(text: &str, options: &Options, now: DateTime<Utc>) -> Result<Translated, BlueprintError> {
    let document: Yaml = serde_yaml::from_str(text).map_err(BlueprintError::Syntax)?;
    translate(&document, Some(text), options, now)
}

/// Reads a blueprint given as JSON (the admin API; JSON has no tags).
pub fn from_json(value: Value, options: &Options, now: DateTime<Utc>) -> Result<Translated, BlueprintError> {
    let document = serde_yaml::to_value(value).map_err(BlueprintError::Syntax)?;
    translate(&document, None, options, now)
}

fn shape(problem: impl Into<String>, text: Option<&str>, path: &[Seg]) -> BlueprintError {
    BlueprintError::Shape { problem: problem.into(), at: locate::at(text, path) }
}

/// One entry, with where it stands.
struct Entry<'y> {
    path: Vec<Seg<'y>>,
    index: usize,
    fields: &'y serde_yaml::Mapping,
}

fn translate(
    document: &Yaml,
    text: Option<&str>,
    options: &Options,
    now: DateTime<Utc>,
) -> Result<Translated, BlueprintError> {
    let Some(top) = document.as_mapping() else {
        return Err(shape("a blueprint is a mapping with `version` and `entries`", text, &[]));
    };
    for (key, _) in top {
        let key = key.as_str().unwrap_or_default();
        if !["version", "metadata", "context", "entries"].contains(&key) {
            return Err(shape(
                format!("unknown key `{key}` (a blueprint has version, metadata, context, entries)"),
                text,
                &[Seg::Key(key)],
            ));
        }
    }
    match top.get("version") {
        None => {}
        Some(version) if version.as_i64() == Some(1) => {}
        Some(other) => {
            return Err(shape(
                format!("invalid blueprint version {}: only version 1 exists", plain(other)),
                text,
                &[Seg::Key("version")],
            ));
        }
    }
    let empty = serde_yaml::Mapping::new();
    let context = match top.get("context") {
        None | Some(Yaml::Null) => &empty,
        Some(Yaml::Mapping(map)) => map,
        Some(_) => return Err(shape("context must be a mapping", text, &[Seg::Key("context")])),
    };
    let entries = entries(top.get("entries"), text)?;
    let mut build = Build::fresh(now);
    let (mut keys, mut skipped, mut warnings) = (Vec::new(), Vec::new(), Vec::new());
    for entry in &entries {
        let id = match entry.fields.get("id") {
            None | Some(Yaml::Null) => None,
            Some(id) => Some(tags::key_string(&plain(id))),
        };
        let raw_model = entry.fields.get("model").map(plain).unwrap_or(Value::Null);
        let name = |model: &str| {
            let at = locate::line(text, &entry.path).map(|line| format!(", line {line}")).unwrap_or_default();
            let id = id.as_deref().map(|id| format!(", id {id}")).unwrap_or_default();
            format!("blueprint entry {} (model {model}{id}{at})", entry.index)
        };
        let failed = |problem: String| BlueprintError::Entry { entry: name(&tags::key_string(&raw_model)), problem };
        let resolver = Resolver { context, keys: &keys, skipped: &skipped, build: &build, env: options.env };
        let get = |key: &str| entry.fields.get(key).map(|v| resolver.resolve(v)).transpose();
        let conditions = get("conditions").map_err(failed)?.unwrap_or(Value::Null);
        if !conditions.as_array().is_none_or(|all| all.iter().all(tags::truthy)) {
            continue;
        }
        let model_name = match get("model").map_err(failed)? {
            Some(Value::String(model)) => model,
            _ => return Err(failed("model is required (app_label.model_name)".into())),
        };
        let state = get("state").map_err(failed)?.unwrap_or(Value::String("present".into()));
        let state = State::parse(&state).map_err(failed)?;
        let section = |key: &str| match get(key).map_err(failed)? {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map),
            Some(_) => Err(failed(format!("{key} must be a mapping"))),
        };
        let model = Model::parse(&model_name).filter(|m| *m != Model::Flow);
        let unknown = match model {
            None => Some(String::new()),
            Some(Model::MetaApply) => meta_apply(&section("attrs")?),
            Some(_) => None,
        };
        if let Some(reason) = unknown {
            if !options.skip_unknown {
                return Err(match reason.is_empty() {
                    true => BlueprintError::UnknownModel { entry: name(&model_name), model: model_name },
                    false => BlueprintError::Entry { entry: name(&model_name), problem: reason },
                });
            }
            warnings.push(format!(
                "skipped {}{}",
                name(&model_name),
                if reason.is_empty() { ": model not served".into() } else { format!(": {reason}") }
            ));
            skipped.extend(id);
            continue;
        }
        let Some(model) = model.filter(|m| *m != Model::MetaApply) else { continue };
        let (identifiers, attrs) = (section("identifiers")?, section("attrs")?);
        let unknown_in = |section: &'static str, map: &Map<String, Value>| {
            models::unknown_key(model, map.keys()).map(|key| {
                let mut path = entry.path.clone();
                path.extend([Seg::Key(section), Seg::Key(key)]);
                BlueprintError::UnknownKey {
                    entry: name(&model_name),
                    section,
                    key: key.clone(),
                    at: locate::at(text, &path),
                }
            })
        };
        if let Some(error) = unknown_in("identifiers", &identifiers).or_else(|| unknown_in("attrs", &attrs)) {
            return Err(error);
        }
        match models::apply(&mut build, model, state, identifiers, attrs) {
            Ok(pk) => keys.extend(id.zip(pk)),
            Err(problem) => return Err(BlueprintError::Entry { entry: name(&model_name), problem }),
        }
    }
    let authentik = finish::finish(build).map_err(|problem| BlueprintError::Shape { problem, at: String::new() })?;
    Ok(Translated { seed: SeedFile { authentik, netbird: Default::default() }, warnings })
}

/// The entries, each with its path: a list, or a mapping of named lists.
fn entries<'y>(value: Option<&'y Yaml>, text: Option<&str>) -> Result<Vec<Entry<'y>>, BlueprintError> {
    let mut lists: Vec<(Vec<Seg<'y>>, &'y [Yaml])> = Vec::new();
    match value {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Sequence(items)) => lists.push((vec![Seg::Key("entries")], items)),
        Some(Yaml::Mapping(sections)) => {
            for (name, items) in sections {
                let (Some(name), Some(items)) = (name.as_str(), items.as_sequence()) else {
                    return Err(shape("entries must be a list, or a mapping of lists", text, &[Seg::Key("entries")]));
                };
                lists.push((vec![Seg::Key("entries"), Seg::Key(name)], items));
            }
        }
        Some(_) => return Err(shape("entries must be a list, or a mapping of lists", text, &[Seg::Key("entries")])),
    }
    let mut entries = Vec::new();
    for (prefix, items) in lists {
        for (i, item) in items.iter().enumerate() {
            let mut path = prefix.clone();
            path.push(Seg::Index(i));
            let index = entries.len();
            let Some(fields) = item.as_mapping() else {
                return Err(shape(format!("blueprint entry {index} is not a mapping"), text, &path));
            };
            for (key, value) in fields {
                let key = key.as_str().unwrap_or_default();
                let known = ["model", "state", "conditions", "identifiers", "attrs", "id", "permissions"];
                if !known.contains(&key) {
                    let mut at = path.clone();
                    at.push(Seg::Key(key));
                    return Err(shape(format!("blueprint entry {index}: unknown key `{key}`"), text, &at));
                }
                if key == "permissions" && value.as_sequence().is_some_and(|p| !p.is_empty()) {
                    return Err(shape(
                        format!("blueprint entry {index}: permissions are not modelled by tokenstack"),
                        text,
                        &path,
                    ));
                }
            }
            entries.push(Entry { path, index, fields });
        }
    }
    Ok(entries)
}

/// A value without tags (an entry's `id`, its `model` for messages).
fn plain(value: &Yaml) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// `authentik_blueprints.metaapplyblueprint`: the default and system blueprints are applied in every install, so
/// applying one is a no-op; `None` then, else why it cannot be applied.
fn meta_apply(attrs: &Map<String, Value>) -> Option<String> {
    let identifiers = attrs.get("identifiers").and_then(Value::as_object);
    let name = identifiers.and_then(|i| i.get("name")).and_then(Value::as_str);
    let path = identifiers.and_then(|i| i.get("path")).and_then(Value::as_str);
    let default = name.is_some_and(|n| n.starts_with("Default - ") || n.starts_with("System - "))
        || path.is_some_and(|p| p.starts_with("default/") || p.starts_with("system/"));
    match (name.or(path), default) {
        (_, true) => None,
        (Some(other), false) => Some(format!(
            "the blueprint {other:?} is not one of authentik's default or system blueprints, which tokenstack holds applied"
        )),
        (None, false) => Some("attrs.identifiers must name a blueprint (name or path)".into()),
    }
}
