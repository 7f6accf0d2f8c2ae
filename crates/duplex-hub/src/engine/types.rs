//! The values that cross the engine boundary: publications, positions in a channel's history
//! stream, client descriptions for presence and join/leave, and the options and results of
//! publish and history calls.
//!
//! They are plain data, shaped after Centrifugo's (centrifuge's `Publication`, `StreamPosition`,
//! `ClientInfo`), so that every engine — memory now, SQLite, Redis or NATS later — stores and
//! returns the same thing and the hub never needs to know which engine it talks to. Payloads are
//! [`Bytes`]: the engine never parses them, and cloning one for history and for delivery costs a
//! reference count, not a copy.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

/// How long a stream's epoch and top offset outlive its last publication when
/// [`StreamOptions::meta_ttl`] is not set: 30 days, as Centrifugo's `history_meta_ttl`.
///
/// Long on purpose: forgetting the meta starts a new epoch, which makes every client that was
/// following the stream fail its next recovery.
pub const DEFAULT_META_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// How long an idempotent publish's result is remembered when not told otherwise: 5 minutes, as
/// Centrifugo.
pub const DEFAULT_IDEMPOTENT_TTL: Duration = Duration::from_secs(5 * 60);

/// A position in a channel's history stream.
///
/// `offset` counts publications from 1 within one `epoch`; the epoch changes whenever the engine
/// lost or forgot the stream (restart of a memory engine, meta expiry), so that a client holding
/// an old position learns it cannot recover instead of silently receiving another stream's tail.
/// A channel without history reports the zero value (`offset` 0, empty `epoch`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StreamPosition {
    /// The offset of the last publication at this position (0: none yet).
    pub offset: u64,
    /// The identity of the stream's current incarnation.
    pub epoch: String,
}

/// Who a connection is, as presence, join/leave pushes and publications from clients show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The authenticated user id (empty for an anonymous connection).
    pub user: String,
    /// The connection's unique client id.
    pub client: String,
    /// Connection-level info from the connection token or proxy (raw JSON or binary, opaque).
    pub conn_info: Option<Bytes>,
    /// Channel-level info from the subscription token or proxy (raw JSON or binary, opaque).
    pub chan_info: Option<Bytes>,
}

/// One message published to a channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Publication {
    /// The offset the engine assigned in the channel's stream; 0 when the channel keeps no
    /// history. Whatever the publisher puts here is ignored.
    pub offset: u64,
    /// The payload, delivered as given.
    pub data: Bytes,
    /// The publishing client, when a client (not the server API) published.
    pub info: Option<ClientInfo>,
    /// Application key-values delivered with the publication.
    pub tags: BTreeMap<String, String>,
    /// Unix time of publication in milliseconds; the engine fills it in when given 0.
    pub time_ms: i64,
    /// The publisher asked for delta delivery (the server API's `delta`): subscribers that
    /// negotiated deltas get one even where the namespace's `delta_publish` is off. Engines
    /// carry it to every node, as they carry the data.
    pub delta: bool,
}

/// The shape of a channel's history stream, from the channel's namespace options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamOptions {
    /// Keep at most this many publications (the newest). 0 keeps no history at all.
    pub size: usize,
    /// Keep each publication for this long after it was published. Zero keeps no history.
    pub ttl: Duration,
    /// Keep the stream's epoch and top offset this long after its last publication or read;
    /// `None` means [`DEFAULT_META_TTL`]. Engines keep the meta at least as long as `ttl`.
    pub meta_ttl: Option<Duration>,
}

impl StreamOptions {
    /// A stream of `size` publications kept for `ttl` each, with the default meta ttl.
    pub fn new(size: usize, ttl: Duration) -> Self {
        StreamOptions {
            size,
            ttl,
            meta_ttl: None,
        }
    }

    /// Whether these options keep any publication: Centrifugo keeps history only when both
    /// size and ttl are set, and otherwise publishes without positions.
    pub fn keeps_history(&self) -> bool {
        self.size > 0 && !self.ttl.is_zero()
    }

    /// How long the meta must live after an access: the meta ttl, never shorter than `ttl` so
    /// that kept publications never outlive their epoch.
    pub fn meta_keep(&self) -> Duration {
        self.meta_ttl.unwrap_or(DEFAULT_META_TTL).max(self.ttl)
    }
}

/// How to publish one publication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishOptions {
    /// The channel's history stream; `None` (or a stream that keeps nothing, see
    /// [`StreamOptions::keeps_history`]) delivers without keeping history or assigning offsets.
    pub stream: Option<StreamOptions>,
    /// A key that makes retries of this publish harmless: within `idempotent_ttl` a second
    /// publish with the same key to the same channel publishes nothing and returns the first
    /// position.
    pub idempotency_key: Option<String>,
    /// How long an idempotency key is remembered.
    pub idempotent_ttl: Duration,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            stream: None,
            idempotency_key: None,
            idempotent_ttl: DEFAULT_IDEMPOTENT_TTL,
        }
    }
}

/// What a publish did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishOutcome {
    /// The publication's position (the zero value when the channel keeps no history).
    pub position: StreamPosition,
    /// True when this was an idempotent retry: nothing was published again and `position` is the
    /// first publish's.
    pub suppressed: bool,
}

/// Which part of a channel's history to read, with Centrifugo's history API semantics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Read relative to this position: forward, the publications after it (offset greater than
    /// `since.offset`); reverse, those before it (offset less than `since.offset`), newest first.
    /// A position the stream cannot continue from is
    /// [`EngineError::UnrecoverablePosition`](super::EngineError::UnrecoverablePosition).
    pub since: Option<StreamPosition>,
    /// At most this many publications; `None` returns all kept, `Some(0)` only the position.
    pub limit: Option<usize>,
    /// Newest first.
    pub reverse: bool,
}

/// The answer to a history read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryPage {
    /// The stream's current top: the last offset assigned and the current epoch.
    pub position: StreamPosition,
    /// The publications asked for, in the order asked for.
    pub publications: Vec<Publication>,
}

/// Counts of a channel's live presence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PresenceStats {
    /// Live connections (client ids) in the channel.
    pub num_clients: u32,
    /// Distinct users among them.
    pub num_users: u32,
}
