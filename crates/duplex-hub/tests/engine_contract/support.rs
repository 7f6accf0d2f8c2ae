//! What the contract tests share: an events recorder standing in for the hub, and short ways to
//! build publications, stream options and unique channel names.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use duplex_hub::engine::{
    BrokerEvents, ClientInfo, Engine, Publication, PublishOptions, StreamOptions,
};

/// How long a test waits for an event that must come; generous, because a networked engine
/// delivers through its server and the test machine may be busy.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a test waits before concluding that an event did not come.
pub const SETTLE: Duration = Duration::from_millis(100);

/// One event as the hub would receive it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `on_publication`.
    Publication {
        channel: String,
        publication: Publication,
        epoch: String,
    },
    /// `on_join`.
    Join { channel: String, info: ClientInfo },
    /// `on_leave`.
    Leave { channel: String, info: ClientInfo },
}

/// Records every event, in arrival order.
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    fn push(&self, event: Event) {
        self.events.lock().unwrap().push(event);
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// Waits until at least `count` events arrived, then returns all of them.
    pub async fn wait_for(&self, count: usize) -> Vec<Event> {
        let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
        loop {
            let events = self.events();
            if events.len() >= count || tokio::time::Instant::now() >= deadline {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The events after a pause long enough for stray ones to arrive.
    pub async fn settled(&self) -> Vec<Event> {
        tokio::time::sleep(SETTLE).await;
        self.events()
    }
}

impl BrokerEvents for Recorder {
    fn on_publication(&self, channel: &str, publication: &Publication, epoch: &str) {
        self.push(Event::Publication {
            channel: channel.to_owned(),
            publication: publication.clone(),
            epoch: epoch.to_owned(),
        });
    }

    fn on_join(&self, channel: &str, info: &ClientInfo) {
        self.push(Event::Join {
            channel: channel.to_owned(),
            info: info.clone(),
        });
    }

    fn on_leave(&self, channel: &str, info: &ClientInfo) {
        self.push(Event::Leave {
            channel: channel.to_owned(),
            info: info.clone(),
        });
    }
}

/// Starts the engine's broker with a fresh recorder.
pub async fn started(engine: &Engine) -> Arc<Recorder> {
    let recorder = Arc::new(Recorder::default());
    engine.broker.start(recorder.clone()).await.unwrap();
    recorder
}

/// A channel name no other test uses, for engines whose server is shared between tests.
pub fn channel(name: &str) -> String {
    format!("contract:{name}-{}", uuid::Uuid::new_v4().simple())
}

/// A stream of `size` publications kept a minute: long enough not to expire during a test.
pub fn stream(size: usize) -> StreamOptions {
    StreamOptions::new(size, Duration::from_secs(60))
}

/// Options publishing into `stream`.
pub fn into(stream: &StreamOptions) -> PublishOptions {
    PublishOptions {
        stream: Some(stream.clone()),
        ..PublishOptions::default()
    }
}

/// A publication carrying `data`.
pub fn text(data: &str) -> Publication {
    Publication {
        data: data.to_owned().into(),
        ..Publication::default()
    }
}

/// A client of `user`.
pub fn client(user: &str, client: &str) -> ClientInfo {
    ClientInfo {
        user: user.to_owned(),
        client: client.to_owned(),
        conn_info: Some(format!("{{\"name\":\"{user}\"}}").into()),
        chan_info: None,
    }
}

/// The offsets of some publications.
pub fn offsets(publications: &[Publication]) -> Vec<u64> {
    publications.iter().map(|p| p.offset).collect()
}

/// The publications among some events, for one channel.
pub fn publications_in(events: &[Event], channel: &str) -> Vec<(Publication, String)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Publication {
                channel: c,
                publication,
                epoch,
            } if c == channel => Some((publication.clone(), epoch.clone())),
            _ => None,
        })
        .collect()
}
