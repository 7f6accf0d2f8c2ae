//! The worker that empties the queue: it posts every due event to the endpoint, at most
//! `webhook.concurrency` at a time, each attempt bounded by `webhook.timeout`; a 2xx deletes the
//! event, anything else (another status, a timeout, a refused connection) schedules another
//! attempt after an exponential backoff with jitter, capped at `webhook.retry_max_delay`.
//!
//! There is no limit on attempts: the guarantee is at least once, and the queue's bound is what
//! stops an endpoint that never answers from costing without end. Events go out in the order
//! they are due, not strictly in the order they happened: a retried one is overtaken by newer
//! ones, so receivers order by the body's `time_ms` where it matters.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::task::JoinSet;

use super::event::unix_ms;
use super::queue::{Change, Owed};
use super::signature::{sign, SIGNATURE_HEADER};
use super::{Shared, Signing, ATTEMPT_HEADER, ID_HEADER};

/// Most bytes of a response body read (and thrown away), so that the connection can be
/// reused without a receiver's large answer costing memory.
const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// How often a repeated warning (failures while the endpoint is down) is logged.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The delay before attempt `attempts + 1`, after `attempts` failed ones: the minimum doubled
/// per failure, capped, then between half of it and all of it ("equal jitter"), so that the
/// events of a storm of disconnects do not all come back at once.
pub(crate) fn backoff(attempts: u32, min: Duration, max: Duration) -> Duration {
    let doublings = attempts.saturating_sub(1).min(31);
    let delay = min.saturating_mul(1u32 << doublings).min(max);
    let half = delay / 2;
    half + rand::rng().random_range(Duration::ZERO..=half)
}

/// Runs until the sink is dropped.
pub(crate) async fn run(shared: Arc<Shared>) {
    let settings = &shared.settings;
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("duplex-hub/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!("webhooks off: cannot build an HTTP client: {error}");
            return;
        }
    };
    let concurrency = settings.concurrency.max(1);
    // Each attempt commits its own outcome before it ends, so an event is in flight until its
    // next state is on disk, and never picked twice.
    let mut attempts: JoinSet<()> = JoinSet::new();
    let mut in_flight: HashMap<tokio::task::Id, String> = HashMap::new();
    loop {
        if shared.stopped.load(Ordering::Acquire) {
            return;
        }
        let now = unix_ms();
        let room = concurrency - attempts.len().min(concurrency);
        if room > 0 {
            let busy: HashSet<String> = in_flight.values().cloned().collect();
            match shared.queue.due(now, room, &busy) {
                Ok(due) => {
                    for owed in due {
                        let id = owed.id.clone();
                        let task = attempts.spawn(attempt(client.clone(), shared.clone(), owed));
                        in_flight.insert(task.id(), id);
                    }
                }
                Err(error) => tracing::error!("{error}"),
            }
        }
        // Sleep until the next event is due, unless every slot is taken (then a finished
        // attempt wakes us) or the queue cannot be read (then retry in a while).
        let wait = if attempts.len() >= concurrency {
            Duration::from_secs(3600)
        } else {
            let busy: HashSet<String> = in_flight.values().cloned().collect();
            match shared.queue.due(i64::MAX, 1, &busy) {
                Ok(next) => next.first().map_or(Duration::from_secs(3600), |owed| {
                    Duration::from_millis(owed.due_ms.saturating_sub(now).max(0) as u64)
                }),
                Err(_) => Duration::from_secs(1),
            }
        };
        tokio::select! {
            Some(done) = attempts.join_next_with_id(), if !attempts.is_empty() => {
                // A panicked attempt leaves its event as it was: due, and tried again.
                let task = match done {
                    Ok((task, ())) => task,
                    Err(error) => error.id(),
                };
                in_flight.remove(&task);
            }
            () = shared.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// One attempt at one event, its outcome committed: delivered, or due again later.
async fn attempt(client: reqwest::Client, shared: Arc<Shared>, owed: Owed) {
    let settings = &shared.settings;
    let id = owed.id.clone();
    let attempts = owed.attempts.saturating_add(1);
    let change = match post(&client, &shared, owed).await {
        Ok(()) => Change::Delivered(id.clone()),
        Err(reason) => {
            shared.metrics.failed();
            let delay = backoff(attempts, settings.retry_min_delay, settings.retry_max_delay);
            if let Some(suppressed) = shared.failures.ready() {
                tracing::warn!(
                    %id,
                    attempts,
                    retry_in = ?delay,
                    owed = shared.queue.len(),
                    warnings_suppressed = suppressed,
                    "webhook delivery failed: {reason}"
                );
            } else {
                tracing::debug!(%id, attempts, "webhook delivery failed: {reason}");
            }
            Change::Retry {
                id: id.clone(),
                attempts,
                due_ms: unix_ms().saturating_add(delay.as_millis() as i64),
            }
        }
    };
    if let Err(error) = shared.writer.commit(change).await {
        // Left as it was: attempted again, which the id makes harmless.
        tracing::error!(%id, "{error}");
    }
}

/// One POST of one event, signed with the time of this attempt.
async fn post(client: &reqwest::Client, shared: &Shared, owed: Owed) -> Result<(), String> {
    let settings = &shared.settings;
    let Some(endpoint) = &settings.endpoint else {
        return Err("no webhook.endpoint".to_owned());
    };
    let mut request = client
        .post(endpoint)
        .header(http::header::CONTENT_TYPE, "application/json");
    request = match &shared.signing {
        Signing::Duplex => {
            let Some(secret) = &settings.secret else {
                return Err("no webhook.secret".to_owned());
            };
            request.header(
                SIGNATURE_HEADER,
                sign(secret.as_bytes(), unix_ms() / 1000, &owed.body),
            )
        }
        Signing::Pusher(app) => request
            .header(crate::pusher::webhook::KEY_HEADER, &app.key)
            .header(
                crate::pusher::webhook::SIGNATURE_HEADER,
                crate::pusher::signature::webhook_signature(app, &owed.body),
            ),
    };
    let mut response = request
        .header(ID_HEADER, &owed.id)
        .header(ATTEMPT_HEADER, owed.attempts.saturating_add(1).to_string())
        .body(owed.body)
        .send()
        .await
        .map_err(|error| describe(&error))?;
    let status = response.status();
    // Read a little of the answer so the connection can serve the next event.
    let mut read = 0;
    while read < MAX_RESPONSE_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            Ok(None) | Err(_) => break,
        }
    }
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the endpoint answered {status}"))
    }
}

/// A reqwest error with its cause, which its own message leaves out.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Lets a warning through at most once per [`WARN_EVERY`], counting the ones held back.
pub(crate) struct Throttle {
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    pub(crate) fn new() -> Throttle {
        Throttle {
            state: Mutex::new((None, 0)),
        }
    }

    /// `Some(held back since the last one)` when a warning may be logged now.
    pub(crate) fn ready(&self) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match state.0 {
            Some(last) if now.duration_since(last) < WARN_EVERY => {
                state.1 += 1;
                None
            }
            _ => {
                let suppressed = state.1;
                *state = (Some(now), 0);
                Some(suppressed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_minimum_with_jitter_and_stops_at_the_cap() {
        let min = Duration::from_millis(100);
        let max = Duration::from_secs(10);
        for (attempts, full) in [(1, 100), (2, 200), (3, 400), (8, 10_000), (60, 10_000)] {
            for _ in 0..50 {
                let delay = backoff(attempts, min, max).as_millis() as u64;
                assert!(
                    (full / 2..=full).contains(&delay),
                    "attempt {attempts}: {delay} ms not within [{}, {full}]",
                    full / 2
                );
            }
        }
    }

    #[test]
    fn a_throttled_warning_counts_what_it_held_back() {
        let throttle = Throttle::new();
        assert_eq!(throttle.ready(), Some(0));
        assert_eq!(throttle.ready(), None);
        assert_eq!(throttle.ready(), None);
        throttle.state.lock().unwrap().0 = Some(Instant::now() - WARN_EVERY);
        assert_eq!(throttle.ready(), Some(2));
    }
}
