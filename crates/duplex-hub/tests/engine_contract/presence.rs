//! Presence: who is in a channel, user-level first-in/last-out transitions, and expiry of
//! entries whose node stopped refreshing them.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use duplex_hub::engine::{Engine, PresenceStats};

use crate::support::{channel, client};

const LONG: Duration = Duration::from_secs(60);

pub async fn presence_add_remove_and_stats(engine: Engine) {
    let presence = &engine.presence;
    let ch = channel("presence");
    assert_eq!(presence.presence(&ch).await.unwrap(), HashMap::new());
    assert_eq!(
        presence.presence_stats(&ch).await.unwrap(),
        PresenceStats::default()
    );

    let (a1, a2, b1) = (
        client("alice", "a1"),
        client("alice", "a2"),
        client("bob", "b1"),
    );
    for info in [&a1, &a2, &b1] {
        presence.add_presence(&ch, info, LONG).await.unwrap();
    }
    let present = presence.presence(&ch).await.unwrap();
    assert_eq!(
        present.keys().cloned().collect::<HashSet<_>>(),
        HashSet::from(["a1".into(), "a2".into(), "b1".into()])
    );
    assert_eq!(present["a2"], a2);
    let stats = presence.presence_stats(&ch).await.unwrap();
    assert_eq!(
        stats,
        PresenceStats {
            num_clients: 3,
            num_users: 2
        }
    );

    presence.remove_presence(&ch, "b1", "bob").await.unwrap();
    let stats = presence.presence_stats(&ch).await.unwrap();
    assert_eq!(
        stats,
        PresenceStats {
            num_clients: 2,
            num_users: 1
        }
    );
    assert!(!presence
        .presence(&channel("elsewhere"))
        .await
        .unwrap()
        .contains_key("a1"));
}

pub async fn user_level_join_and_leave_with_three_clients(engine: Engine) {
    let presence = &engine.presence;
    let ch = channel("tabs");
    let tabs = [
        client("42", "tab1"),
        client("42", "tab2"),
        client("42", "tab3"),
    ];
    let mut joins = Vec::new();
    for tab in &tabs {
        joins.push(presence.add_presence(&ch, tab, LONG).await.unwrap());
    }
    assert_eq!(joins, [true, false, false], "the user joins once");
    assert!(presence
        .add_presence(&ch, &client("7", "other"), LONG)
        .await
        .unwrap());

    let mut leaves = Vec::new();
    for tab in &tabs {
        leaves.push(
            presence
                .remove_presence(&ch, &tab.client, "42")
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        leaves,
        [false, false, true],
        "the user leaves with the last tab"
    );
    assert!(
        !presence.remove_presence(&ch, "tab3", "42").await.unwrap(),
        "one leave per user"
    );
    let stats = presence.presence_stats(&ch).await.unwrap();
    assert_eq!(
        stats,
        PresenceStats {
            num_clients: 1,
            num_users: 1
        }
    );
}

pub async fn re_adding_a_client_refreshes_it(engine: Engine) {
    let presence = &engine.presence;
    let ch = channel("refresh");
    let ttl = Duration::from_millis(1000);
    let tab = client("42", "tab1");
    assert!(presence.add_presence(&ch, &tab, ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let renamed = duplex_hub::engine::ClientInfo {
        chan_info: Some("{\"v\":2}".into()),
        ..tab.clone()
    };
    assert!(
        !presence.add_presence(&ch, &renamed, ttl).await.unwrap(),
        "a refresh is no join"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;

    let present = presence.presence(&ch).await.unwrap();
    assert_eq!(
        present.get("tab1"),
        Some(&renamed),
        "refreshed past the first ttl, with new info"
    );
}

pub async fn presence_expires_after_its_ttl(engine: Engine) {
    let presence = &engine.presence;
    let ch = channel("expiry");
    let short = Duration::from_millis(300);
    presence
        .add_presence(&ch, &client("42", "dead-node"), short)
        .await
        .unwrap();
    presence
        .add_presence(&ch, &client("7", "alive"), LONG)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;

    let present = presence.presence(&ch).await.unwrap();
    assert_eq!(present.keys().collect::<Vec<_>>(), ["alive"]);
    let stats = presence.presence_stats(&ch).await.unwrap();
    assert_eq!(
        stats,
        PresenceStats {
            num_clients: 1,
            num_users: 1
        }
    );
    assert!(
        presence
            .add_presence(&ch, &client("42", "back"), LONG)
            .await
            .unwrap(),
        "after expiry the user joins anew"
    );
}
