//! The application's second way to publish: its own database, through an outbox table.
//!
//! The message and the row that announces it are written in **one transaction**: if the insert
//! of the message rolls back, so does the announcement, and once it commits the hub's outbox
//! consumer (the `consumers` section of duplex.json) picks the row up, publishes it and deletes
//! it. No dual write, no lost or phantom push. The table is Centrifugo's outbox layout
//! (`schema.sql`), so the same application code works against either server.

use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::hub_api::{Message, CHANNEL};
use crate::App;

/// The tables this example needs: its messages, and the outbox with the trigger that wakes the
/// hub (LISTEN/NOTIFY) as soon as a row commits.
const SCHEMA: &str = include_str!("../schema.sql");

/// One connection to the application's database. A real application uses a pool; one
/// connection behind a lock keeps the example short.
pub struct Database(Mutex<tokio_postgres::Client>);

impl Database {
    /// Connects to `url` and creates the tables if they are missing.
    pub async fn connect(url: &str) -> anyhow::Result<Database> {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .with_context(|| format!("cannot connect to DATABASE_URL {url}"))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                eprintln!("database connection ended: {error}");
            }
        });
        client
            .batch_execute(SCHEMA)
            .await
            .context("cannot create the example's tables (schema.sql)")?;
        Ok(Database(Mutex::new(client)))
    }

    /// Saves a message and its outbox row in one transaction; returns the message's id.
    async fn save(&self, user: &str, text: &str) -> Result<i64, tokio_postgres::Error> {
        let mut client = self.0.lock().await;
        let transaction = client.transaction().await?;
        let row = transaction
            .query_one(
                "INSERT INTO messages (author, text) VALUES ($1, $2) RETURNING id",
                &[&user, &text],
            )
            .await?;
        let id: i64 = row.get(0);
        let data = json!({"text": text, "by": user, "via": "outbox", "id": id});
        let payload = json!({"channel": CHANNEL, "data": data}).to_string();
        // One partition: every row of the channel in one ordered queue. With more partitions,
        // keep a channel's rows in one of them (hash the channel) to keep their order.
        transaction
            .execute(
                "INSERT INTO centrifugo_outbox (method, payload, partition) \
                 VALUES ('publish', $1::text::jsonb, 0)",
                &[&payload],
            )
            .await?;
        transaction.commit().await?;
        Ok(id)
    }
}

/// `POST /api/outbox`: a logged-in user's message, saved with its outbox row; the hub delivers
/// it once the transaction commits.
pub async fn publish(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(message): Json<Message>,
) -> (StatusCode, Json<Value>) {
    let Some(user) = app.sessions.user(&headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "log in first"})),
        );
    };
    let Some(database) = &app.database else {
        let error = "no database: start the app with DATABASE_URL to use the outbox";
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": error})),
        );
    };
    match database.save(&user, &message.text).await {
        Ok(id) => (StatusCode::OK, Json(json!({"saved": id}))),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": format!("the database refused the message: {error}")})),
        ),
    }
}
