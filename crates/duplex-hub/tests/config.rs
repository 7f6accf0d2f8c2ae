//! The hub reads a Centrifugo v6 `config.json` as Centrifugo would, our `duplex.toml` to the
//! same configuration, `DUPLEX_*` variables and flags over them, refuses bad values by naming
//! the key, and denies everything that is not configured.

use std::path::PathBuf;
use std::time::Duration;

use duplex_hub::channel::ChannelError;
use duplex_hub::config::{
    env_var_name, known_keys, ChannelOptions, ConfigError, DeltaType, HubConfig, LogLevel,
    SlowConsumerPolicy,
};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/hub")
        .join(name)
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn invalid_key(result: Result<impl std::fmt::Debug, ConfigError>) -> String {
    match result {
        Err(error @ ConfigError::Invalid { .. }) => error.key().unwrap_or_default().to_owned(),
        other => panic!("expected an invalid value error, got {other:?}"),
    }
}

#[test]
fn a_centrifugo_config_json_loads_to_what_it_says() {
    let loaded = HubConfig::load(example("config.json")).unwrap();
    let config = &loaded.config;

    assert_eq!(config.http_server.port, 8000);
    assert_eq!(config.http_server.address, "");
    assert_eq!(config.log.level, LogLevel::Info);
    let client = &config.client;
    assert_eq!(
        client.token.hmac_secret_key.as_deref(),
        Some("change-me-connection-secret")
    );
    assert!(client.subscription_token.enabled);
    assert_eq!(
        config
            .subscription_token_settings()
            .hmac_secret_key
            .as_deref(),
        Some("change-me-subscription-secret")
    );
    assert_eq!(
        client.allowed_origins,
        ["http://localhost:3000", "https://*.example.com"]
    );
    assert_eq!(client.ping_interval, Some(Duration::from_secs(25)));
    assert_eq!(client.pong_timeout, Some(Duration::from_secs(8)));
    assert_eq!(client.user_connection_limit, 10);
    assert_eq!(client.queue_max_size, 1 << 20);
    assert_eq!(config.http_api.key.as_deref(), Some("change-me-api-key"));
    assert!(config.health.enabled && config.prometheus.enabled);
    assert_eq!(config.shutdown.timeout, Duration::from_secs(30));
    assert_eq!(
        config.personal_channel("42").as_deref(),
        Some("personal:#42")
    );

    let (chat, name) = config.channel_options("chat:lobby").unwrap();
    assert_eq!(name.namespace, Some("chat"));
    assert!(chat.presence && chat.join_leave && chat.force_recovery && chat.user_presence);
    assert_eq!(chat.history_size, 100);
    assert_eq!(chat.history_ttl, Duration::from_secs(300));
    assert!(!chat.allow_publish_for_client && chat.allow_publish_for_subscriber);

    let (prices, _) = config.channel_options("prices:btc").unwrap();
    assert_eq!(prices.slow_consumer, SlowConsumerPolicy::Conflate);
    assert_eq!(prices.allowed_delta_types, [DeltaType::Fossil]);
    assert!(prices.delta_publish && prices.force_positioning);

    let (top, _) = config.channel_options("news").unwrap();
    assert!(top.allow_subscribe_for_client && !top.presence);
}

#[test]
fn keys_the_hub_does_not_implement_are_listed_not_refused() {
    let loaded = HubConfig::load(example("config.json")).unwrap();
    assert_eq!(
        loaded.ignored,
        ["channel.namespaces[prices].subscribe_proxy_name"]
    );
}

#[test]
fn the_toml_form_gives_the_same_configuration_as_the_json() {
    let json = HubConfig::load(example("config.json")).unwrap();
    let toml = HubConfig::load(example("duplex.toml")).unwrap();
    assert_eq!(toml, json);
}

#[test]
fn environment_variables_override_the_file() {
    let mut config = HubConfig::load(example("config.json")).unwrap().config;
    let report = config
        .apply_env(vars(&[
            ("DUPLEX_CLIENT_TOKEN_HMAC_SECRET_KEY", "from-env"),
            ("DUPLEX_HTTP_API_KEY", "api-from-env"),
            ("DUPLEX_CLIENT_INSECURE", "true"),
            (
                "DUPLEX_CLIENT_ALLOWED_ORIGINS",
                "https://a.example https://b.example",
            ),
            ("DUPLEX_CLIENT_PING_INTERVAL", "-1"),
            ("DUPLEX_CHANNEL_WITHOUT_NAMESPACE_PRESENCE", "1"),
            ("DUPLEX_CHANNEL_NAMESPACES_CHAT_HISTORY_SIZE", "50"),
            ("DUPLEX_HTTP_SERVER_PORT", ""),
            ("DUPLEX_IO_URING", "0"),
            ("HOME", "/root"),
        ]))
        .unwrap();
    assert_eq!(report.unknown, Vec::<String>::new());
    assert_eq!(
        config.client.token.hmac_secret_key.as_deref(),
        Some("from-env")
    );
    assert_eq!(config.http_api.key.as_deref(), Some("api-from-env"));
    assert!(config.client.insecure);
    assert_eq!(
        config.client.allowed_origins,
        ["https://a.example", "https://b.example"]
    );
    assert_eq!(config.client.ping_interval, None);
    assert!(config.channel.without_namespace.presence);
    assert_eq!(config.namespace("chat").unwrap().history_size, 50);
    assert_eq!(config.http_server.port, 8000, "an empty variable is unset");
}

#[test]
fn a_misspelt_variable_is_reported() {
    let mut config = HubConfig::default();
    let report = config
        .apply_env(vars(&[
            ("DUPLEX_CLIENT_TOKEN_HMAC_SECRET", "typo"),
            ("DUPLEX_CHANNEL_NAMESPACES_NOPE_PRESENCE", "true"),
        ]))
        .unwrap();
    assert_eq!(
        report.unknown,
        [
            "DUPLEX_CLIENT_TOKEN_HMAC_SECRET",
            "DUPLEX_CHANNEL_NAMESPACES_NOPE_PRESENCE"
        ]
    );
    assert_eq!(config, HubConfig::default());
}

#[test]
fn namespaces_come_whole_from_one_json_variable() {
    let mut config = HubConfig::load(example("config.json")).unwrap().config;
    config.client.subscribe_to_user_personal_channel.enabled = false;
    let report = config
        .apply_env(vars(&[
            (
                "DUPLEX_CHANNEL_NAMESPACES",
                r#"[{"name": "rooms", "presence": true, "publish_proxy_name": "x"}]"#,
            ),
            ("DUPLEX_CHANNEL_NAMESPACES_ROOMS_JOIN_LEAVE", "true"),
        ]))
        .unwrap();
    assert_eq!(
        report.ignored,
        ["channel.namespaces[rooms].publish_proxy_name"]
    );
    let rooms = config.namespace("rooms").unwrap();
    assert!(rooms.presence && rooms.join_leave);
    assert_eq!(
        config.channel_options("chat:x").unwrap_err(),
        ChannelError::UnknownNamespace("chat".to_owned())
    );
}

#[test]
fn flags_take_the_same_path_as_the_environment() {
    let mut config = HubConfig::default();
    config
        .set("client.token.hmac_secret_key", "from-flag")
        .unwrap();
    config.set("http_server.port", "9000").unwrap();
    config.set("client.insecure", "true").unwrap();
    config
        .set("channel.namespaces", r#"[{"name": "chat"}]"#)
        .unwrap();
    config
        .set("channel.namespaces.chat.presence", "true")
        .unwrap();
    config.validate().unwrap();
    assert_eq!(
        config.client.token.hmac_secret_key.as_deref(),
        Some("from-flag")
    );
    assert_eq!(config.http_server.port, 9000);
    assert!(config.namespace("chat").unwrap().presence);

    assert!(matches!(
        config.set("client.tokn.hmac_secret_key", "x"),
        Err(ConfigError::UnknownKey(_))
    ));
    assert_eq!(
        invalid_key(config.set("http_server.port", "eighty")),
        "http_server.port"
    );
    assert_eq!(
        invalid_key(config.set("http_server.port", "70000")),
        "http_server.port"
    );
}

#[test]
fn bad_values_name_their_key() {
    let cases = [
        (
            r#"{"client": {"ping_interval": "5 minutes"}}"#,
            "client.ping_interval",
        ),
        (r#"{"client": {"insecure": "yes"}}"#, "client.insecure"),
        (r#"{"client": {"token": "secret"}}"#, "client.token"),
        (
            r#"{"client": {"channel_limit": -1}}"#,
            "client.channel_limit",
        ),
        (
            r#"{"client": {"pong_timeout": "30s"}}"#,
            "client.pong_timeout",
        ),
        (r#"{"engine": {"type": "nats"}}"#, "engine.type"),
        (r#"{"log": {"level": "loud"}}"#, "log.level"),
        (
            r#"{"channel": {"namespaces": [{"name": "chat", "history_size": 10}]}}"#,
            "channel.namespaces[chat].history_ttl",
        ),
        (
            r#"{"channel": {"namespaces": [{"name": "chat", "history_ttl": "2h", "history_size": 1, "history_meta_ttl": "1h"}]}}"#,
            "channel.namespaces[chat].history_ttl",
        ),
        (
            r#"{"channel": {"without_namespace": {"force_recovery": true}}}"#,
            "channel.without_namespace.force_recovery",
        ),
        (
            r#"{"channel": {"without_namespace": {"user_presence": true}}}"#,
            "channel.without_namespace.user_presence",
        ),
        (
            r#"{"channel": {"namespaces": [{"name": "x"}]}}"#,
            "channel.namespaces[0].name",
        ),
        (
            r#"{"channel": {"namespaces": [{"name": "chat"}, {"name": "chat"}]}}"#,
            "channel.namespaces[chat]",
        ),
        (
            r#"{"channel": {"namespaces": [{"name": "chat", "slow_consumer": "wait"}]}}"#,
            "channel.namespaces[chat].slow_consumer",
        ),
        (
            r#"{"channel": {"namespaces": [{"name": "chat", "allowed_delta_types": ["xdelta"]}]}}"#,
            "channel.namespaces[chat].allowed_delta_types",
        ),
        (
            r#"{"client": {"subscribe_to_user_personal_channel": {"enabled": true, "personal_channel_namespace": "me"}}}"#,
            "client.subscribe_to_user_personal_channel.personal_channel_namespace",
        ),
    ];
    for (json, key) in cases {
        assert_eq!(
            invalid_key(HubConfig::from_centrifugo_json(json)),
            key,
            "{json}"
        );
    }
    assert!(matches!(
        HubConfig::from_centrifugo_json("{\"client\": "),
        Err(ConfigError::Json(_))
    ));
    assert!(matches!(
        HubConfig::from_toml("[client\n"),
        Err(ConfigError::Toml(_))
    ));
    assert!(matches!(
        HubConfig::load("config.yaml"),
        Err(ConfigError::UnknownFormat(_))
    ));
}

#[test]
fn durations_take_go_strings_or_seconds() {
    let config = HubConfig::from_toml(
        "[client]\nping_interval = \"1m30s\"\npong_timeout = 10\n[shutdown]\ntimeout = \"1.5s\"\n",
    )
    .unwrap()
    .config;
    assert_eq!(config.client.ping_interval, Some(Duration::from_secs(90)));
    assert_eq!(config.client.pong_timeout, Some(Duration::from_secs(10)));
    assert_eq!(config.shutdown.timeout, Duration::from_millis(1500));
}

#[test]
fn defaults_deny_everything() {
    let config = HubConfig::from_centrifugo_json("{}").unwrap().config;
    assert_eq!(config, HubConfig::default());
    assert!(!config.client.token.is_configured());
    assert!(!config.subscription_token_settings().is_configured());
    assert!(!config.client.insecure);
    assert!(!config.client.allow_anonymous_connect_without_token);
    assert!(config.client.allowed_origins.is_empty());
    assert_eq!(config.http_api.key, None);
    assert!(!config.http_api.insecure);
    // Operations endpoints are on (they expose no data and no control).
    assert!(config.health.enabled && config.prometheus.enabled);
    assert_eq!(config.personal_channel("42"), None);
    let (options, _) = config.channel_options("news").unwrap();
    assert_eq!(*options, ChannelOptions::default());
    assert!(!format!("{options:?}").contains("true"), "{options:?}");
    assert_eq!(
        config.channel_options("chat:room").unwrap_err(),
        ChannelError::UnknownNamespace("chat".to_owned())
    );
    let (_, name) = config.channel_options("news#42").unwrap();
    assert!(
        !name.allows_user("42"),
        "user-limited channels are off by default"
    );
}

#[test]
fn the_docs_describe_every_key_and_its_variable() {
    let docs_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/hub-config.md");
    let docs = std::fs::read_to_string(docs_path).unwrap();
    let channel_option = |key: &str| {
        key.strip_prefix("channel.without_namespace.")
            .map(str::to_owned)
    };
    for key in known_keys() {
        let written = channel_option(&key).unwrap_or_else(|| key.clone());
        assert!(
            docs.contains(&format!("`{written}`")),
            "docs/hub-config.md lacks `{written}`"
        );
        if channel_option(&key).is_none() {
            let variable = env_var_name(&key);
            assert!(
                docs.contains(&variable),
                "docs/hub-config.md lacks {variable}"
            );
        }
    }
}

/// A Centrifugo v6 file with a PostgreSQL outbox consumer and a Kafka one.
fn with_consumers(postgresql: serde_json::Value, kafka_enabled: bool) -> String {
    serde_json::json!({
        "consumers": [
            {"name": "app_outbox", "enabled": true, "type": "postgresql", "postgresql": postgresql},
            {"name": "events", "enabled": kafka_enabled, "type": "kafka",
             "kafka": {"brokers": ["localhost:9092"], "topics": ["t"], "consumer_group": "g"}}
        ]
    })
    .to_string()
}

#[test]
fn consumers_load_in_centrifugos_form_with_defaults_and_ignored_keys() {
    let loaded = HubConfig::from_centrifugo_json(&with_consumers(
        serde_json::json!({
            "dsn": "postgresql://app:hunter2@localhost:5432/app",
            "outbox_table_name": "public.centrifugo_outbox",
            "partition_notification_channel": "centrifugo_partition_change",
            "tls": {"enabled": false}
        }),
        false,
    ))
    .unwrap();
    let consumers = &loaded.config.consumers;
    assert_eq!(consumers.len(), 2);
    let outbox = &consumers[0];
    assert_eq!((outbox.name.as_str(), outbox.enabled), ("app_outbox", true));
    assert_eq!(outbox.kind, "postgresql");
    assert_eq!(
        outbox.postgresql.outbox_table_name,
        "public.centrifugo_outbox"
    );
    assert_eq!(outbox.postgresql.num_partitions, 1);
    assert_eq!(outbox.postgresql.partition_select_limit, 100);
    assert_eq!(
        outbox.postgresql.partition_poll_interval,
        Duration::from_millis(300)
    );
    assert_eq!(
        outbox.postgresql.partition_notification_channel,
        "centrifugo_partition_change"
    );
    // The disabled Kafka consumer is kept; what the hub does not read is reported.
    assert!(!consumers[1].enabled);
    for key in [
        "consumers[app_outbox].postgresql.tls.enabled",
        "consumers[events].kafka.brokers",
    ] {
        assert!(
            loaded.ignored.iter().any(|k| k == key),
            "{:?}",
            loaded.ignored
        );
    }
    assert!(!format!("{:?}", loaded.config).contains("hunter2"));
}

#[test]
fn consumers_come_from_the_environment_as_json() {
    let mut config = HubConfig::default();
    let list = r#"[{"name": "app", "enabled": true, "type": "postgresql",
        "postgresql": {"dsn": "host=db user=app", "outbox_table_name": "outbox",
                       "num_partitions": 8, "partition_poll_interval": "1s"}}]"#;
    let report = config
        .apply_env(vars(&[("DUPLEX_CONSUMERS", list)]))
        .unwrap();
    assert!(report.unknown.is_empty(), "{report:?}");
    assert_eq!(config.consumers[0].postgresql.num_partitions, 8);
    assert_eq!(
        config.consumers[0].postgresql.partition_poll_interval,
        Duration::from_secs(1)
    );
}

#[test]
fn consumer_mistakes_are_refused_by_their_key() {
    let good = serde_json::json!({"dsn": "host=db user=app", "outbox_table_name": "outbox"});
    let with = |key: &str, value: serde_json::Value| {
        let mut postgresql = good.clone();
        postgresql[key] = value;
        HubConfig::from_centrifugo_json(&with_consumers(postgresql, false))
    };
    let cases = [
        (
            with("dsn", "".into()),
            "consumers[app_outbox].postgresql.dsn",
        ),
        (
            with("dsn", "postgresql://db/app?sslmode=require".into()),
            "consumers[app_outbox].postgresql.dsn",
        ),
        (
            with("outbox_table_name", "outbox; DROP TABLE users".into()),
            "consumers[app_outbox].postgresql.outbox_table_name",
        ),
        (
            with("num_partitions", 0.into()),
            "consumers[app_outbox].postgresql.num_partitions",
        ),
        (
            with("partition_select_limit", 0.into()),
            "consumers[app_outbox].postgresql.partition_select_limit",
        ),
        (
            with("partition_poll_interval", "0s".into()),
            "consumers[app_outbox].postgresql.partition_poll_interval",
        ),
        (
            with("partition_notification_channel", "a\"b".into()),
            "consumers[app_outbox].postgresql.partition_notification_channel",
        ),
        (
            HubConfig::from_centrifugo_json(&with_consumers(good.clone(), true)),
            "consumers[events].type",
        ),
        (
            HubConfig::from_centrifugo_json(
                r#"{"consumers": [{"name": "a", "enabled": true, "type": "postgresql"}]}"#,
            ),
            "consumers[0].name",
        ),
        (
            HubConfig::from_centrifugo_json(r#"{"consumers": [{"name": "ab"}, {"name": "ab"}]}"#),
            "consumers[ab]",
        ),
    ];
    for (result, key) in cases {
        assert_eq!(invalid_key(result), key);
    }
    // A consumer that is not enabled is not checked.
    let disabled = r#"{"consumers": [{"name": "later", "type": "postgresql"}]}"#;
    assert!(HubConfig::from_centrifugo_json(disabled).is_ok());
}

#[test]
fn a_nats_broker_reads_centrifugos_v6_keys_and_refuses_what_it_cannot_keep() {
    let loaded = HubConfig::from_centrifugo_json(
        r#"{"broker": {"enabled": true, "type": "nats",
             "nats": {"url": "nats://10.0.0.5:4222", "prefix": "app.prod",
                      "write_timeout": "2s", "allow_wildcards": false}},
            "channel": {"namespaces": [{"name": "feed", "presence": true}]}}"#,
    )
    .unwrap();
    assert_eq!(loaded.ignored, ["broker.nats.allow_wildcards"]);
    let broker = &loaded.config.broker;
    assert!(broker.is_nats());
    assert_eq!(
        (
            broker.nats.url.as_str(),
            broker.nats.prefix.as_str(),
            broker.nats.write_timeout
        ),
        ("nats://10.0.0.5:4222", "app.prod", Duration::from_secs(2))
    );
    let defaults = HubConfig::default().broker;
    assert!(!defaults.is_nats(), "the engine's broker unless enabled");
    assert_eq!(
        (defaults.nats.url.as_str(), defaults.nats.prefix.as_str()),
        ("nats://localhost:4222", "duplex"),
        "Centrifugo's URL; a prefix of our own, since the envelope is ours"
    );

    let refused = [
        (
            r#"{"broker": {"enabled": true, "type": "nats"},
                "channel": {"namespaces": [{"name": "chat", "history_size": 10, "history_ttl": "60s"}]}}"#,
            "channel.namespaces[chat].history_size",
        ),
        (
            r#"{"broker": {"enabled": true, "type": "nats"},
                "channel": {"without_namespace": {"history_size": 10, "history_ttl": "60s"}}}"#,
            "channel.without_namespace.history_size",
        ),
        (
            r#"{"broker": {"enabled": true, "type": "nats", "nats": {"prefix": "a.*"}}}"#,
            "broker.nats.prefix",
        ),
        (
            r#"{"broker": {"enabled": true, "type": "nats", "nats": {"url": ""}}}"#,
            "broker.nats.url",
        ),
        (r#"{"broker": {"type": "kafka"}}"#, "broker.type"),
    ];
    for (json, key) in refused {
        assert_eq!(
            invalid_key(HubConfig::from_centrifugo_json(json)),
            key,
            "{json}"
        );
    }
    // Disabled, the NATS broker asks nothing of the namespaces.
    assert!(HubConfig::from_centrifugo_json(
        r#"{"broker": {"enabled": false, "type": "nats"},
            "channel": {"namespaces": [{"name": "chat", "history_size": 10, "history_ttl": "60s"}]}}"#
    )
    .is_ok());
}

#[test]
fn pusher_apps_come_from_a_file_or_a_variable_and_each_gets_its_own_namespace() {
    let loaded = HubConfig::from_centrifugo_json(
        r#"{"pusher": {"activity_timeout": "30s", "apps": [
            {"id": "1", "key": "key-one", "secret": "s1"},
            {"id": "2", "key": "key-two", "secret": "s2", "namespace": "chat"}
        ]}}"#,
    )
    .unwrap();
    let pusher = &loaded.config.pusher;
    assert_eq!(pusher.activity_timeout, Duration::from_secs(30));
    assert_eq!(pusher.client_events_per_second, 10);
    let namespaces: Vec<String> = pusher.apps.iter().map(|app| app.namespace()).collect();
    assert_eq!(namespaces, ["pusher-1", "chat"]);

    let mut config = HubConfig::default();
    config
        .apply_env(vars(&[(
            "DUPLEX_PUSHER_APPS",
            r#"[{"id": "7", "key": "k", "secret": "s"}]"#,
        )]))
        .unwrap();
    assert_eq!(config.pusher.apps[0].id, "7");
}

#[test]
fn pusher_apps_that_would_collide_or_cannot_be_addressed_are_refused_by_key() {
    let load = |apps: &str| {
        HubConfig::from_centrifugo_json(&format!(r#"{{"pusher": {{"apps": {apps}}}}}"#))
    };
    let same_key =
        r#"[{"id": "1", "key": "k", "secret": "a"}, {"id": "2", "key": "k", "secret": "b"}]"#;
    assert_eq!(invalid_key(load(same_key)), "pusher.apps[1].id");
    let same_namespace = r#"[{"id": "1", "key": "a", "secret": "a", "namespace": "x1"},
        {"id": "2", "key": "b", "secret": "b", "namespace": "x1"}]"#;
    assert_eq!(
        invalid_key(load(same_namespace)),
        "pusher.apps[1].namespace"
    );
    assert_eq!(
        invalid_key(load(r#"[{"id": "1", "key": "a/b", "secret": "s"}]"#)),
        "pusher.apps[0].key"
    );
    assert_eq!(
        invalid_key(load(r#"[{"id": "1", "key": "a", "secret": ""}]"#)),
        "pusher.apps[0].secret"
    );
    assert_eq!(
        invalid_key(load(
            r#"[{"id": "1", "key": "a", "secret": "s", "cluster": "eu"}]"#
        )),
        "pusher.apps"
    );
    assert_eq!(invalid_key(load(r#"{"id": "1"}"#)), "pusher.apps");
}
