//! The engine contract: the behaviour the hub relies on from every engine, stated once as tests
//! that each engine runs by adding one line at the bottom of this file.
//!
//! Each contract test is an async function taking a fresh [`Engine`]; the `engine_contract!`
//! macro instantiates all of them for one constructor, as tokio tests on a multi-threaded runtime
//! (the ordering test publishes from several threads at once). Channel names are unique per
//! test, so engines backed by one shared server (Redis, NATS) can run the tests in parallel; and
//! tests wait for events with a timeout instead of assuming delivery is synchronous.

mod common;
#[path = "engine_contract/events.rs"]
mod events;
#[path = "engine_contract/history.rs"]
mod history;
#[path = "engine_contract/presence.rs"]
mod presence;
#[path = "engine_contract/pubsub.rs"]
mod pubsub;
#[path = "engine_contract/support.rs"]
mod support;

/// Instantiates every contract test for one engine: `engine_contract!(name, constructor)` for a
/// `fn() -> Engine`, `engine_contract!(name, async constructor)` for an `async fn() -> Engine`
/// (an engine that must reach its server first), or `engine_contract!(name, async optional
/// constructor)` for an `async fn() -> Option<Engine>` that is `None` when its server is not
/// installed here (the test returns after the constructor said so).
///
/// A broker that keeps no history (NATS) runs the events and presence subset and the
/// `pubsub` tests in place of the history ones: `engine_contract!(name, async constructor,
/// pubsub_only)`, where the constructor is an `async fn(test_name) -> Option<(Engine, Guard)>`
/// that starts the test's own server (`None` skips the test, after saying why) and `Guard` stops
/// it when the test ends.
macro_rules! engine_contract {
    ($name:ident, async $make:path, pubsub_only) => {
        mod $name {
            engine_contract!(@guarded $make;
                events::only_subscribed_channels_produce_events,
                events::join_and_leave_reach_subscribers,
                pubsub::publish_before_start_is_unavailable,
                pubsub::history_is_refused_and_nothing_is_delivered,
                pubsub::publication_fields_round_trip_without_position,
                presence::presence_add_remove_and_stats,
                presence::user_level_join_and_leave_with_three_clients,
                presence::re_adding_a_client_refreshes_it,
                presence::presence_expires_after_its_ttl,
            );
        }
    };
    ($name:ident, async optional $make:path) => {
        engine_contract!(@suite $name, $make().await);
    };
    ($name:ident, async $make:path) => {
        engine_contract!(@suite $name, Some($make().await));
    };
    ($name:ident, $make:path) => {
        engine_contract!(@suite $name, Some($make()));
    };
    (@suite $name:ident, $engine:expr) => {
        mod $name {
            engine_contract!(@tests $engine;
                history::offsets_increase_by_one_from_one_in_one_epoch,
                history::history_honours_limit_and_reverse,
                history::history_since_reads_after_or_before_a_position,
                history::size_trimming_keeps_the_newest,
                history::publications_expire_after_their_ttl,
                history::positions_that_cannot_be_continued_are_unrecoverable,
                history::remove_history_keeps_epoch_and_offsets,
                history::meta_expiry_starts_a_new_epoch,
                history::a_channel_read_before_its_first_publish_keeps_its_epoch,
                history::publication_fields_round_trip,
                history::publish_without_stream_delivers_without_history,
                history::idempotent_retry_is_suppressed_within_its_ttl,
                events::events_follow_offset_order_under_concurrent_publishers,
                events::only_subscribed_channels_produce_events,
                events::join_and_leave_reach_subscribers,
                events::publish_before_start_is_unavailable,
                presence::presence_add_remove_and_stats,
                presence::user_level_join_and_leave_with_three_clients,
                presence::re_adding_a_client_refreshes_it,
                presence::presence_expires_after_its_ttl,
            );
        }
    };
    (@guarded $make:path; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let Some((engine, _server)) = $make(stringify!($test)).await else { return };
                crate::$module::$test(engine).await;
            }
        )*
    };
    (@guarded $make:path; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let Some((engine, _server)) = $make(stringify!($test)).await else { return };
                crate::$module::$test(engine).await;
            }
        )*
    };
    (@tests $engine:expr; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let engine: Option<duplex_hub::engine::Engine> = $engine;
                let Some(engine) = engine else { return };
                crate::$module::$test(engine).await;
            }
        )*
    };
}

engine_contract!(memory, duplex_hub::engine::Engine::memory);
engine_contract!(sqlite, async crate::sqlite_engine);
engine_contract!(nats, async crate::nats_engine, pubsub_only);

/// The NATS broker on a server of the test's own, stopped when the returned guard drops.
async fn nats_engine(test: &str) -> Option<(duplex_hub::engine::Engine, common::nats::Nats)> {
    let nats = common::nats::Nats::start(test)?;
    let config = duplex_hub::engine::nats::NatsConfig::new(nats.url());
    let engine = duplex_hub::engine::Engine::nats(&config)
        .await
        .expect("connect to the test's NATS");
    Some((engine, nats))
}

/// A SQLite engine in a fresh folder under the build's temporary directory: the engine outlives
/// any guard a test could hold, so the folder stays until `cargo clean`.
async fn sqlite_engine() -> duplex_hub::engine::Engine {
    let folder = tempfile::Builder::new()
        .prefix("engine-contract-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp folder")
        .keep();
    duplex_hub::engine::Engine::sqlite(folder).expect("sqlite engine")
}

engine_contract!(redis, async optional crate::redis_engine);
engine_contract!(redis_sharded, async optional crate::redis_sharded_engine);
engine_contract!(redis_cluster, async optional crate::redis_cluster_engine);
engine_contract!(redis_cluster_classic, async optional crate::redis_cluster_classic_engine);

/// One Redis server for every test of this binary (channel names are unique per test).
static REDIS: std::sync::OnceLock<Option<common::redis::Redis>> = std::sync::OnceLock::new();
/// Two more, for the engine that spreads channels over both.
static REDIS_SHARDS: std::sync::OnceLock<Option<[common::redis::Redis; 2]>> =
    std::sync::OnceLock::new();

/// A Redis engine on the shared server, with a prefix of its own per test.
async fn redis_engine() -> Option<duplex_hub::engine::Engine> {
    let redis = common::redis::Redis::shared(&REDIS, "engine_contract::redis")?;
    Some(redis_with(vec![redis.address()]).await)
}

/// A Redis engine spreading channels over two servers.
async fn redis_sharded_engine() -> Option<duplex_hub::engine::Engine> {
    let pair = REDIS_SHARDS
        .get_or_init(|| {
            let first = common::redis::Redis::start("engine_contract::redis_sharded")?;
            let second = common::redis::Redis::start("engine_contract::redis_sharded")?;
            Some([first, second])
        })
        .as_ref()?;
    Some(redis_with(pair.iter().map(|r| r.address()).collect()).await)
}

/// Three primaries of a Redis Cluster, for every test of this binary.
static REDIS_CLUSTER: std::sync::OnceLock<Option<common::redis::RedisCluster>> =
    std::sync::OnceLock::new();

/// A Redis engine on the shared Redis Cluster, with sharded pub/sub.
async fn redis_cluster_engine() -> Option<duplex_hub::engine::Engine> {
    redis_cluster_with(true).await
}

/// The same with classic pub/sub (what a Redis 6.2 cluster offers).
async fn redis_cluster_classic_engine() -> Option<duplex_hub::engine::Engine> {
    redis_cluster_with(false).await
}

async fn redis_cluster_with(sharded_pubsub: bool) -> Option<duplex_hub::engine::Engine> {
    let cluster = REDIS_CLUSTER
        .get_or_init(|| common::redis::RedisCluster::start("engine_contract::redis_cluster"))
        .as_ref()?;
    let mut config = duplex_hub::engine::redis::RedisConfig::cluster(cluster.seeds());
    config.sharded_pubsub = sharded_pubsub;
    config.prefix = format!("contract-{}", uuid::Uuid::new_v4().simple());
    Some(
        duplex_hub::engine::Engine::redis(config)
            .await
            .expect("redis cluster engine"),
    )
}

async fn redis_with(addresses: Vec<String>) -> duplex_hub::engine::Engine {
    let mut config = duplex_hub::engine::redis::RedisConfig::new(addresses);
    config.prefix = format!("contract-{}", uuid::Uuid::new_v4().simple());
    duplex_hub::engine::Engine::redis(config)
        .await
        .expect("redis engine")
}
