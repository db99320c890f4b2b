//! A setting's sources after its flag and its `TOKENSTACK_*` variable: the variable's `_FILE` form for every secret
//! (`TOKENSTACK_ADMIN_TOKEN_FILE=/run/secrets/admin`, as Docker secrets and the official images expect), and the
//! upstream products' own variables (`AUTHENTIK_BOOTSTRAP_TOKEN`), so that a compose file written for authentik
//! runs tokenstack by changing the image alone.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use clap::ArgMatches;
use clap::parser::ValueSource;

use super::ConfigError;

/// The settings with sources besides their flag and variable.
struct Alternate {
    /// The setting (a field of [`super::Config`]).
    id: &'static str,
    /// A secret: its variable has a `_FILE` form, whose file holds the value.
    file: bool,
    /// Upstream variables with the same meaning, read when neither the flag, the variable nor its file is given;
    /// an empty one is unset, as authentik's `getenv(key) or default` reads it.
    aliases: &'static [&'static str],
}

const ALTERNATES: &[Alternate] = &[
    Alternate { id: "admin_token", file: true, aliases: &[] },
    Alternate { id: "bootstrap_token", file: true, aliases: &["AUTHENTIK_BOOTSTRAP_TOKEN"] },
    Alternate { id: "bootstrap_pat", file: true, aliases: &[] },
    Alternate { id: "bootstrap_password", file: true, aliases: &["AUTHENTIK_BOOTSTRAP_PASSWORD"] },
    Alternate { id: "bootstrap_email", file: false, aliases: &["AUTHENTIK_BOOTSTRAP_EMAIL"] },
    // A PostgreSQL URL may carry a password.
    Alternate { id: "store", file: true, aliases: &[] },
];

/// A value found in one of the alternate sources.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Found {
    /// The flag's long name, without `--`.
    pub long: String,
    /// The setting (a field of [`super::Config`]).
    pub id: &'static str,
    pub value: OsString,
    /// How messages name the source: `TOKENSTACK_ADMIN_TOKEN_FILE (/run/secrets/admin)` or `AUTHENTIK_BOOTSTRAP_TOKEN`.
    pub origin: String,
}

/// The values of settings that neither a flag nor their own variable gave, from their `_FILE` variable or an
/// upstream alias; `env` reads a variable. Setting both a variable and its `_FILE` form is an error.
pub(super) fn find(
    command: &clap::Command,
    matches: &ArgMatches,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Vec<Found>, ConfigError> {
    let mut found = Vec::new();
    for alternate in ALTERNATES {
        let Some(arg) = command.get_arguments().find(|arg| arg.get_id() == alternate.id) else {
            return Err(ConfigError::Internal(format!("no setting {} for its alternate sources", alternate.id)));
        };
        let (Some(long), Some(variable)) = (arg.get_long(), arg.get_env().and_then(OsStr::to_str)) else {
            return Err(ConfigError::Internal(format!("the setting {} has no flag or variable", alternate.id)));
        };
        let source = matches.value_source(alternate.id);
        let file_variable = format!("{variable}_FILE");
        let file = alternate.file.then(|| env(&file_variable)).flatten().filter(|path| !path.is_empty());
        let value = match file {
            Some(_) if source == Some(ValueSource::EnvVariable) => {
                return Err(ConfigError::Exclusive { variable: variable.to_string(), file: file_variable });
            }
            // The flag wins over every variable.
            Some(_) if source == Some(ValueSource::CommandLine) => None,
            Some(path) => {
                Some((read_secret(&file_variable, Path::new(&path))?, file_variable_origin(&file_variable, &path)))
            }
            None if matches!(source, Some(ValueSource::CommandLine | ValueSource::EnvVariable)) => None,
            None => alternate
                .aliases
                .iter()
                .find_map(|alias| env(alias).filter(|value| !value.is_empty()).map(|value| (value, alias.to_string()))),
        };
        if let Some((value, origin)) = value {
            found.push(Found { long: long.to_string(), id: alternate.id, value, origin });
        }
    }
    Ok(found)
}

fn file_variable_origin(variable: &str, path: &OsStr) -> String {
    format!("{variable} ({})", Path::new(path).display())
}

/// The secret in the file a `_FILE` variable names, without the line end that `echo` and editors leave.
fn read_secret(variable: &str, path: &Path) -> Result<OsString, ConfigError> {
    let problem = |problem: String| ConfigError::SecretFile {
        variable: variable.to_string(),
        path: path.display().to_string(),
        problem,
    };
    let bytes = std::fs::read(path).map_err(|error| problem(format!("cannot read it: {error}")))?;
    let text = String::from_utf8(bytes).map_err(|_| problem("it is not UTF-8 text".to_string()))?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return Err(problem("it is empty".to_string()));
    }
    Ok(secret.into())
}

/// The flags that carry `found` values, to parse after the program name: `--long=value`, so that a value that
/// starts with `-` stays a value.
pub(super) fn as_flags(found: &[Found]) -> Vec<OsString> {
    found
        .iter()
        .map(|found| {
            let mut flag = OsString::from(format!("--{}=", found.long));
            flag.push(&found.value);
            flag
        })
        .collect()
}
