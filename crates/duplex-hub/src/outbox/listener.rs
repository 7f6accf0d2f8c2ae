//! LISTEN on the consumer's notification channel and wake the partition each notification
//! names, so a committed row is published in milliseconds rather than at the next poll.
//!
//! The payload is the partition number, as Centrifugo's trigger sends it; any other payload
//! (an empty one from a plain `NOTIFY`, or a number past the partitions) wakes every
//! partition, which costs one query each and never loses a row. After (re)connecting, every
//! partition is woken too, for the rows announced while nobody listened.

use std::future::poll_fn;
use std::sync::Arc;

use tokio_postgres::AsyncMessage;

use super::backoff::Backoff;
use super::{describe, sleep_or_stop, stopped, Consumer};

/// Listens until the hub stops, reconnecting with backoff.
pub(super) async fn run(consumer: Arc<Consumer>) {
    let mut stop = consumer.stop.clone();
    let mut backoff = Backoff::default();
    while !consumer.stopping() {
        let error = match listen(&consumer, &mut backoff).await {
            Ok(()) => return,
            Err(error) => error,
        };
        tracing::warn!(
            consumer = %consumer.name,
            failures = backoff.failures() + 1,
            %error,
            "outbox: notification listener failed, polling until it is back"
        );
        if let Some(hub) = consumer.hub.upgrade() {
            hub.metrics().consumer_failed(&consumer.name);
        } else {
            return;
        }
        if sleep_or_stop(backoff.next(), &mut stop).await {
            return;
        }
    }
}

/// One connection's worth of listening: `Ok` when the hub stops, `Err` when the connection
/// fails.
async fn listen(consumer: &Consumer, backoff: &mut Backoff) -> Result<(), String> {
    let mut stop = consumer.stop.clone();
    let connecting = tokio::time::timeout(
        super::CONNECT_TIMEOUT + std::time::Duration::from_secs(1),
        consumer.database.connect(tokio_postgres::NoTls),
    );
    let (client, mut connection) = match connecting.await {
        Ok(Ok(pair)) => pair,
        Ok(Err(error)) => return Err(describe(&error)),
        Err(_) => return Err("connecting timed out".to_owned()),
    };
    // Quoted, so the name matches pg_notify's exactly (the configuration allows no quote in it).
    let statement = format!(
        "LISTEN \"{}\"",
        consumer.config.partition_notification_channel
    );
    let listening = client.batch_execute(&statement);
    tokio::pin!(listening);
    let mut started = false;
    loop {
        // The connection must be polled for the LISTEN to be sent at all, so both run here.
        tokio::select! {
            result = &mut listening, if !started => {
                result.map_err(|error| describe(&error))?;
                started = true;
                backoff.reset();
                tracing::debug!(consumer = %consumer.name, "outbox: listening for notifications");
                consumer.wake_all();
            }
            message = poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(notification))) => {
                    match notification.payload().trim().parse::<usize>() {
                        Ok(partition) if partition < consumer.wake.len() => {
                            consumer.wake[partition].notify_one();
                        }
                        _ => consumer.wake_all(),
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(describe(&error)),
                None => return Err("the connection closed".to_owned()),
            },
            () = stopped(&mut stop) => return Ok(()),
        }
    }
}
