//! The `consumers` list: where the hub reads server API commands from outside the server API,
//! in Centrifugo v6's form (an array of objects, each a `name`, `enabled`, `type` and one
//! object of options per type). The hub implements the `postgresql` type: a transactional
//! outbox table in the application's own database (see `crate::outbox`).
//!
//! A consumer that is not `enabled` is kept but never checked or started, as in Centrifugo, so
//! a file can carry consumers of types the hub lacks. An enabled consumer of such a type is an
//! error rather than something ignored: the application would write commands that nobody reads.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::source::{collect_leaves, expect_object as as_object};
use super::value::{describe, Raw, Setting};
use super::ConfigError;

/// The key of the consumer list.
pub(crate) const CONSUMERS: &str = "consumers";

/// Most partitions one consumer may have: each holds a PostgreSQL connection of its own.
pub const MAX_PARTITIONS: usize = 256;
/// Most rows one consumer may read in one transaction.
pub const MAX_SELECT_LIMIT: usize = 10_000;

/// One entry of `consumers`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerConfig {
    /// A unique name, `^[a-zA-Z0-9_]{2,}$`, used in logs and metrics and in the lock that keeps
    /// one partition to one hub at a time (`name`).
    pub name: String,
    /// Run this consumer (`enabled`, default `false`, as in Centrifugo v6).
    pub enabled: bool,
    /// The consumer type (`type`); only `"postgresql"` is implemented.
    pub kind: String,
    /// Options of a `postgresql` consumer (`postgresql`).
    pub postgresql: PostgresConsumerConfig,
}

/// Options of a consumer of type `postgresql`: an outbox table, read partition by partition.
#[derive(Clone, PartialEq)]
pub struct PostgresConsumerConfig {
    /// The connection string, as a URL (`postgresql://user:pass@host:5432/db`) or as
    /// `key=value` words (`dsn`, required). Never logged.
    pub dsn: String,
    /// The outbox table, optionally with its schema (`outbox_table_name`, required).
    pub outbox_table_name: String,
    /// How many partitions the table's rows are spread over, `0` to `n - 1`; each is read in
    /// order by one task (`num_partitions`, default 1).
    pub num_partitions: usize,
    /// Most rows read from one partition in one transaction (`partition_select_limit`,
    /// default 100).
    pub partition_select_limit: usize,
    /// How often an idle partition looks for rows (`partition_poll_interval`, default
    /// 300ms).
    pub partition_poll_interval: Duration,
    /// The LISTEN/NOTIFY channel on which a trigger announces new rows, the payload being the
    /// partition number; empty relies on polling alone (`partition_notification_channel`).
    pub partition_notification_channel: String,
}

impl Default for PostgresConsumerConfig {
    fn default() -> Self {
        Self {
            dsn: String::new(),
            outbox_table_name: String::new(),
            num_partitions: 1,
            partition_select_limit: 100,
            partition_poll_interval: Duration::from_millis(300),
            partition_notification_channel: String::new(),
        }
    }
}

// The DSN usually carries a password: logging the configuration must not print it.
impl fmt::Debug for PostgresConsumerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConsumerConfig")
            .field("dsn", &"<redacted>")
            .field("outbox_table_name", &self.outbox_table_name)
            .field("num_partitions", &self.num_partitions)
            .field("partition_select_limit", &self.partition_select_limit)
            .field("partition_poll_interval", &self.partition_poll_interval)
            .field(
                "partition_notification_channel",
                &self.partition_notification_channel,
            )
            .finish()
    }
}

/// Reads one `postgresql` option's value into its field.
type Apply = fn(&mut PostgresConsumerConfig, Raw<'_>) -> Result<(), String>;

/// The key table of the `postgresql` options, generated from the field names so that a key
/// cannot be spelled differently from the field it sets.
macro_rules! postgres_keys {
    ($($field:ident),* $(,)?) => {
        &[$((stringify!($field), |config, raw| {
            config.$field = Setting::from_raw(raw)?;
            Ok(())
        })),*]
    };
}

/// The `postgresql` options the hub reads; any other key there is reported as ignored.
const POSTGRES_KEYS: &[(&str, Apply)] = postgres_keys![
    dsn,
    outbox_table_name,
    num_partitions,
    partition_select_limit,
    partition_poll_interval,
    partition_notification_channel,
];

/// Reads the `consumers` array; keys the hub does not read go to `ignored` by their paths
/// (`consumers[events].postgresql.tls.enabled`).
pub(crate) fn consumers_from_json(
    value: &Value,
    ignored: &mut Vec<String>,
) -> Result<Vec<ConsumerConfig>, ConfigError> {
    let Value::Array(items) = value else {
        return Err(ConfigError::invalid(
            CONSUMERS,
            format!("expected a list of consumers, got {}", describe(value)),
        ));
    };
    let mut consumers = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let object = as_object(&format!("{CONSUMERS}[{index}]"), item)?;
        let name = match object.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(other) => {
                return Err(ConfigError::invalid(
                    format!("{CONSUMERS}[{index}].name"),
                    format!("expected a string, got {}", describe(other)),
                ))
            }
            None => {
                return Err(ConfigError::invalid(
                    format!("{CONSUMERS}[{index}]"),
                    "a consumer needs a name",
                ))
            }
        };
        let path = format!("{CONSUMERS}[{name}]");
        let mut consumer = ConsumerConfig {
            name,
            enabled: false,
            kind: String::new(),
            postgresql: PostgresConsumerConfig::default(),
        };
        for (key, value) in object {
            let key_path = format!("{path}.{key}");
            if value.is_null() {
                continue;
            }
            let invalid = |reason| ConfigError::invalid(&key_path, reason);
            match key.as_str() {
                "name" => {}
                "enabled" => {
                    consumer.enabled = bool::from_raw(Raw::Json(value)).map_err(invalid)?
                }
                "type" => consumer.kind = String::from_raw(Raw::Json(value)).map_err(invalid)?,
                "postgresql" => {
                    for (option, value) in as_object(&key_path, value)? {
                        let option_path = format!("{key_path}.{option}");
                        match POSTGRES_KEYS.iter().find(|(name, _)| name == option) {
                            Some((_, apply)) if !value.is_null() => {
                                apply(&mut consumer.postgresql, Raw::Json(value))
                                    .map_err(|reason| ConfigError::invalid(&option_path, reason))?
                            }
                            Some(_) => {}
                            None => collect_leaves(&option_path, value, ignored),
                        }
                    }
                }
                _ => collect_leaves(&key_path, value, ignored),
            }
        }
        consumers.push(consumer);
    }
    Ok(consumers)
}

/// Checks every consumer: names, and for enabled ones the type and its options.
pub(crate) fn validate_consumers(consumers: &[ConsumerConfig]) -> Result<(), ConfigError> {
    for (index, consumer) in consumers.iter().enumerate() {
        let name = &consumer.name;
        if !valid_consumer_name(name) {
            return Err(ConfigError::invalid(
                format!("{CONSUMERS}[{index}].name"),
                format!("{name:?} must match ^[a-zA-Z0-9_]{{2,}}$"),
            ));
        }
        if consumers[..index]
            .iter()
            .any(|earlier| earlier.name == *name)
        {
            return Err(ConfigError::invalid(
                format!("{CONSUMERS}[{name}]"),
                "consumer names must be unique",
            ));
        }
        if !consumer.enabled {
            continue;
        }
        let path = format!("{CONSUMERS}[{name}]");
        match consumer.kind.as_str() {
            "postgresql" => validate_postgres(&format!("{path}.postgresql"), &consumer.postgresql)?,
            "" => {
                return Err(ConfigError::invalid(
                    format!("{path}.type"),
                    "a consumer needs a type",
                ))
            }
            other => {
                return Err(ConfigError::invalid(
                    format!("{path}.type"),
                    format!(
                        "the hub implements only \"postgresql\" consumers, not {other:?}; \
                         set enabled to false to keep it in the file"
                    ),
                ))
            }
        }
    }
    Ok(())
}

fn validate_postgres(path: &str, config: &PostgresConsumerConfig) -> Result<(), ConfigError> {
    let key = |name: &str| format!("{path}.{name}");
    if config.dsn.is_empty() {
        return Err(ConfigError::invalid(key("dsn"), "required"));
    }
    // The reason is tokio-postgres's own, which does not repeat the (secret) DSN.
    let parsed: tokio_postgres::Config = config.dsn.parse().map_err(|error| {
        ConfigError::invalid(key("dsn"), format!("not a PostgreSQL DSN: {error}"))
    })?;
    if parsed.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        return Err(ConfigError::invalid(
            key("dsn"),
            "sslmode=require: the outbox consumer does not speak TLS to PostgreSQL yet; \
             connect over a private network or a local socket (sslmode=disable or prefer)",
        ));
    }
    if !valid_table_name(&config.outbox_table_name) {
        return Err(ConfigError::invalid(
            key("outbox_table_name"),
            format!(
                "{:?} must be a table name, optionally with its schema (letters, digits, _ and $; \
                 not starting with a digit)",
                config.outbox_table_name
            ),
        ));
    }
    if !(1..=MAX_PARTITIONS).contains(&config.num_partitions) {
        return Err(ConfigError::invalid(
            key("num_partitions"),
            format!("must be from 1 to {MAX_PARTITIONS}"),
        ));
    }
    if !(1..=MAX_SELECT_LIMIT).contains(&config.partition_select_limit) {
        return Err(ConfigError::invalid(
            key("partition_select_limit"),
            format!("must be from 1 to {MAX_SELECT_LIMIT}"),
        ));
    }
    if config.partition_poll_interval.is_zero() {
        return Err(ConfigError::invalid(
            key("partition_poll_interval"),
            "must be above zero",
        ));
    }
    let channel = &config.partition_notification_channel;
    if !channel.is_empty() && !valid_notification_channel(channel) {
        return Err(ConfigError::invalid(
            key("partition_notification_channel"),
            format!("{channel:?} must be 1 to 63 letters, digits, _, - or ."),
        ));
    }
    Ok(())
}

/// Centrifugo's consumer name rule, `^[a-zA-Z0-9_]{2,}$`.
fn valid_consumer_name(name: &str) -> bool {
    name.len() >= 2 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `table` or `schema.table`, each an unquoted SQL identifier: the name goes into the
/// consumer's SQL as written (as in Centrifugo, so case folds the same way), which is safe only
/// because nothing else can pass this check.
fn valid_table_name(name: &str) -> bool {
    let identifier = |part: &str| {
        (1..=63).contains(&part.len())
            && part
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
    };
    match name.split_once('.') {
        Some((schema, table)) => identifier(schema) && identifier(table),
        None => identifier(name),
    }
}

/// The LISTEN channel is quoted, so it matches `pg_notify('<name>', ...)` exactly; these
/// characters keep it free of anything that quoting would have to escape.
fn valid_notification_channel(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in ["centrifugo_outbox", "app.outbox", "_t1", "Outbox$2"] {
            assert!(valid_table_name(good), "{good}");
        }
        for bad in [
            "",
            "1outbox",
            "a.b.c",
            "outbox; drop table x",
            "\"quoted\"",
            "a.",
        ] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_dsn_is_not_in_debug_output() {
        let config = PostgresConsumerConfig {
            dsn: "postgresql://app:hunter2@db/app".to_owned(),
            ..PostgresConsumerConfig::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
