//! The sources of configuration: a file (JSON or TOML, one tree), the `DUPLEX_*` environment and
//! single `key = value` settings from flags. All of them end in the key table's `apply`, so a
//! value is read the same way whichever source it comes from.

use std::path::Path;

use serde_json::{Map, Value};

use super::consumers::{consumers_from_json, CONSUMERS};
use super::keys::{self, env_var_name, NAMESPACES, WITHOUT_NAMESPACE};
use super::options::{option_key, ChannelOptions, Namespace, OPTION_KEYS};
use super::pusher::{apps_from_json, PUSHER_APPS};
use super::value::{describe, Raw};
use super::{ConfigError, HubConfig, Loaded};

/// `DUPLEX_*` variables that other parts of duplex read; they are not configuration typos.
/// The event loop reads the first; `duplex serve --demo` the second (a folder to serve its
/// pages from); the test suites read the others (which servers they must
/// find, and where), and `scripts/test` exports them while `duplex serve` runs under its tests.
const OTHER_DUPLEX_VARIABLES: &[&str] = &[
    "DUPLEX_IO_URING",
    "DUPLEX_DEMO_DIR",
    "DUPLEX_REQUIRE_IO_URING",
    "DUPLEX_REQUIRE_INTEROP",
    "DUPLEX_REQUIRE_POSTGRES",
    "DUPLEX_REQUIRE_REDIS",
    "DUPLEX_REQUIRE_NATS",
    "DUPLEX_POSTGRES_BIN",
    "DUPLEX_REDIS_SERVER",
    "DUPLEX_NATS_SERVER",
    "DUPLEX_BENCH_REDIS",
];

/// What [`HubConfig::apply_env`] did not apply, for the operator's log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvReport {
    /// `DUPLEX_*` variables that name no option: most likely typos.
    pub unknown: Vec<String>,
    /// Keys inside `DUPLEX_CHANNEL_NAMESPACES` that the hub does not implement.
    pub ignored: Vec<String>,
}

impl HubConfig {
    /// Reads Centrifugo v6's JSON configuration (`config.json`) over the defaults, then checks
    /// the whole configuration.
    pub fn from_centrifugo_json(text: &str) -> Result<Loaded, ConfigError> {
        let tree: Value = serde_json::from_str(text)?;
        Self::from_tree(&tree)
    }

    /// Reads the hub's TOML configuration (`duplex.toml`): the same tree and key names as
    /// Centrifugo's JSON, in TOML (which is also Centrifugo's own TOML form).
    pub fn from_toml(text: &str) -> Result<Loaded, ConfigError> {
        let table: toml::Table = toml::from_str(text)?;
        Self::from_tree(&toml_to_json(toml::Value::Table(table)))
    }

    /// Reads the file at `path`, as JSON if its name ends in `.json` and as TOML if in `.toml`.
    pub fn load(path: impl AsRef<Path>) -> Result<Loaded, ConfigError> {
        let path = path.as_ref();
        let extension = path
            .extension()
            .and_then(|extension| extension.to_str())
            .map(str::to_ascii_lowercase);
        let parse = match extension.as_deref() {
            Some("json") => Self::from_centrifugo_json,
            Some("toml") => Self::from_toml,
            _ => return Err(ConfigError::UnknownFormat(path.to_owned())),
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        parse(&text)
    }

    fn from_tree(tree: &Value) -> Result<Loaded, ConfigError> {
        let Value::Object(root) = tree else {
            return Err(ConfigError::invalid(
                "(top level)",
                format!("expected an object of options, got {}", describe(tree)),
            ));
        };
        let mut config = Self::default();
        let mut ignored = Vec::new();
        config.merge_object("", root, &mut ignored)?;
        config.validate()?;
        Ok(Loaded { config, ignored })
    }

    /// Applies every `DUPLEX_*` variable in `vars` (pass `std::env::vars()`), then checks the
    /// whole configuration. Empty variables count as unset, as in Centrifugo. Namespaces are
    /// set whole as JSON in `DUPLEX_CHANNEL_NAMESPACES`, and one option of a namespace
    /// already configured with `DUPLEX_CHANNEL_NAMESPACES_<NAME>_<OPTION>` (name in upper
    /// case, `-` and `.` as `_`).
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<EnvReport, ConfigError> {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(name, value)| name.starts_with("DUPLEX_") && !value.is_empty())
            .filter(|(name, _)| !OTHER_DUPLEX_VARIABLES.contains(&name.as_str()))
            .collect();
        // The whole namespace list first, so per-namespace variables refine it.
        let namespaces = env_var_name(NAMESPACES);
        vars.sort_by_key(|(name, _)| *name != namespaces);
        let mut report = EnvReport::default();
        for (name, value) in &vars {
            match self.key_for_env(name) {
                Some(key) => report.ignored.extend(self.set(&key, value)?),
                None => report.unknown.push(name.clone()),
            }
        }
        self.validate()?;
        Ok(report)
    }

    /// Sets one option from text: the path shared by environment variables and command-line
    /// flags, e.g. `set("client.token.hmac_secret_key", "...")`. Lists take a JSON array or
    /// space-separated words; `channel.namespaces` takes a JSON array; one namespace's option
    /// is `channel.namespaces.<name>.<option>`; `consumers` takes a JSON array. Returns the keys
    /// inside the value that the hub ignores (only a namespace or consumer list can have any). Call [`HubConfig::validate`] after the
    /// last flag: options are checked against each other only then.
    pub fn set(&mut self, key: &str, value: &str) -> Result<Vec<String>, ConfigError> {
        let mut ignored = Vec::new();
        if let Some(entry) = keys::key(key) {
            (entry.apply)(self, Raw::Text(value))
                .map_err(|reason| ConfigError::invalid(key, reason))?;
        } else if key == NAMESPACES {
            let tree: Value = serde_json::from_str(value).map_err(|error| {
                ConfigError::invalid(key, format!("expected a JSON array: {error}"))
            })?;
            self.channel.namespaces = namespaces_from_json(&tree, &mut ignored)?;
        } else if key == CONSUMERS {
            let tree: Value = serde_json::from_str(value).map_err(|error| {
                ConfigError::invalid(key, format!("expected a JSON array: {error}"))
            })?;
            self.consumers = consumers_from_json(&tree, &mut ignored)?;
        } else if key == PUSHER_APPS {
            let tree: Value = serde_json::from_str(value).map_err(|error| {
                ConfigError::invalid(key, format!("expected a JSON array: {error}"))
            })?;
            self.pusher.apps = apps_from_json(&tree)?;
        } else if let Some(option) = key
            .strip_prefix(WITHOUT_NAMESPACE)
            .and_then(|rest| rest.strip_prefix('.'))
        {
            let option =
                option_key(option).ok_or_else(|| ConfigError::UnknownKey(key.to_owned()))?;
            (option.apply)(&mut self.channel.without_namespace, Raw::Text(value))
                .map_err(|reason| ConfigError::invalid(key, reason))?;
        } else if let Some((namespace, option)) = namespace_option(key) {
            let option =
                option_key(option).ok_or_else(|| ConfigError::UnknownKey(key.to_owned()))?;
            let namespace = self
                .channel
                .namespaces
                .iter_mut()
                .find(|candidate| candidate.name == namespace)
                .ok_or_else(|| {
                    ConfigError::invalid(key, format!("no namespace {namespace:?} is configured"))
                })?;
            (option.apply)(&mut namespace.options, Raw::Text(value))
                .map_err(|reason| ConfigError::invalid(key, reason))?;
        } else {
            return Err(ConfigError::UnknownKey(key.to_owned()));
        }
        Ok(ignored)
    }

    /// The key path a `DUPLEX_*` variable names, if any.
    fn key_for_env(&self, variable: &str) -> Option<String> {
        if let Some(key) = keys::known_keys()
            .into_iter()
            .find(|key| env_var_name(key) == variable)
        {
            return Some(key);
        }
        let prefix = format!("{}_", env_var_name(NAMESPACES));
        let rest = variable.strip_prefix(&prefix)?;
        self.channel.namespaces.iter().find_map(|namespace| {
            let name = namespace.name.to_ascii_uppercase().replace(['-', '.'], "_");
            let option = rest.strip_prefix(&name)?.strip_prefix('_')?;
            OPTION_KEYS
                .iter()
                .find(|key| key.name.to_ascii_uppercase() == option)
                .map(|key| format!("{NAMESPACES}.{}.{}", namespace.name, key.name))
        })
    }

    fn merge_object(
        &mut self,
        prefix: &str,
        object: &Map<String, Value>,
        ignored: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        for (name, value) in object {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            if value.is_null() {
                continue;
            }
            if let Some(entry) = keys::key(&path) {
                (entry.apply)(self, Raw::Json(value))
                    .map_err(|reason| ConfigError::invalid(&path, reason))?;
            } else if path == NAMESPACES {
                self.channel.namespaces = namespaces_from_json(value, ignored)?;
            } else if path == CONSUMERS {
                self.consumers = consumers_from_json(value, ignored)?;
            } else if path == PUSHER_APPS {
                self.pusher.apps = apps_from_json(value)?;
            } else if path == WITHOUT_NAMESPACE {
                let options = expect_object(&path, value)?;
                merge_options(&mut self.channel.without_namespace, &path, options, ignored)?;
            } else if keys::is_section(&path) {
                self.merge_object(&path, expect_object(&path, value)?, ignored)?;
            } else {
                collect_leaves(&path, value, ignored);
            }
        }
        Ok(())
    }
}

/// `channel.namespaces.<name>.<option>`: a namespace name may hold dots, an option never does.
fn namespace_option(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix(NAMESPACES)?
        .strip_prefix('.')?
        .rsplit_once('.')
}

fn namespaces_from_json(
    value: &Value,
    ignored: &mut Vec<String>,
) -> Result<Vec<Namespace>, ConfigError> {
    let Value::Array(items) = value else {
        return Err(ConfigError::invalid(
            NAMESPACES,
            format!("expected a list of namespaces, got {}", describe(value)),
        ));
    };
    let mut namespaces = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let object = expect_object(&format!("{NAMESPACES}[{index}]"), item)?;
        let name = match object.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(other) => {
                return Err(ConfigError::invalid(
                    format!("{NAMESPACES}[{index}].name"),
                    format!("expected a string, got {}", describe(other)),
                ))
            }
            None => {
                return Err(ConfigError::invalid(
                    format!("{NAMESPACES}[{index}]"),
                    "a namespace needs a name",
                ))
            }
        };
        let path = format!("{NAMESPACES}[{name}]");
        let mut options = ChannelOptions::default();
        let rest = object.iter().filter(|(key, _)| *key != "name");
        merge_options(&mut options, &path, rest, ignored)?;
        namespaces.push(Namespace { name, options });
    }
    Ok(namespaces)
}

fn merge_options<'a>(
    options: &mut ChannelOptions,
    path: &str,
    entries: impl IntoIterator<Item = (&'a String, &'a Value)>,
    ignored: &mut Vec<String>,
) -> Result<(), ConfigError> {
    for (name, value) in entries {
        let key = format!("{path}.{name}");
        if value.is_null() {
            continue;
        }
        match option_key(name) {
            Some(option) => (option.apply)(options, Raw::Json(value))
                .map_err(|reason| ConfigError::invalid(&key, reason))?,
            None => collect_leaves(&key, value, ignored),
        }
    }
    Ok(())
}

pub(super) fn expect_object<'a>(
    path: &str,
    value: &'a Value,
) -> Result<&'a Map<String, Value>, ConfigError> {
    value.as_object().ok_or_else(|| {
        ConfigError::invalid(
            path,
            format!("expected a section (an object), got {}", describe(value)),
        )
    })
}

/// Reports an unimplemented value by its leaf key paths (`engine.redis.address`); a list is one
/// leaf.
pub(super) fn collect_leaves(path: &str, value: &Value, ignored: &mut Vec<String>) {
    match value {
        Value::Object(object) if !object.is_empty() => {
            for (name, inner) in object {
                collect_leaves(&format!("{path}.{name}"), inner, ignored);
            }
        }
        _ => ignored.push(path.to_owned()),
    }
}

/// TOML's tree as JSON's, so one walk reads both; a TOML date has no option to fill and is kept
/// as its text.
fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(text) => Value::String(text),
        toml::Value::Integer(number) => Value::from(number),
        toml::Value::Float(number) => Value::from(number),
        toml::Value::Boolean(flag) => Value::Bool(flag),
        toml::Value::Datetime(datetime) => Value::String(datetime.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(key, value)| (key, toml_to_json(value)))
                .collect(),
        ),
    }
}
