//! The Pusher apps a hub serves, as the endpoints look them up: by key for a connection
//! (`/app/{key}`), by id for an HTTP API request (`/apps/{id}/...`), with each app's signed-in
//! users' connections, for `terminate_connections`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::{PusherApp, PusherConfig, WebhookConfig};
use crate::session::SessionHandle;
use crate::webhook::{QueueError, Signing, Webhooks};

use super::signature::Credentials;
use super::webhook::{WebhookBody, WebhookEvent};

/// Every app of the configuration.
pub(crate) struct Apps {
    apps: Vec<Arc<App>>,
}

/// One app: its credentials, its namespace, its signed-in users.
pub(crate) struct App {
    pub(crate) id: String,
    pub(crate) credentials: Credentials,
    /// The hub namespace of its channels.
    pub(crate) namespace: String,
    /// Signed-in users' connections on this node, by user id.
    users: Mutex<HashMap<String, Vec<SessionHandle>>>,
    /// Where its webhooks go, when it has a `webhook_url`.
    webhooks: Option<Webhooks>,
}

impl Apps {
    /// The apps of `config`. An app's webhooks owed wait in `pusher-webhooks-<id>.sqlite3` in
    /// `queue_folder` (the hub's own webhook queue's), or in memory without one.
    pub(crate) fn new(
        config: &PusherConfig,
        webhook: &WebhookConfig,
        queue_folder: Option<&std::path::Path>,
    ) -> Result<Apps, QueueError> {
        let apps = config
            .apps
            .iter()
            .map(|app| App::new(app, webhook, queue_folder).map(Arc::new))
            .collect::<Result<_, _>>()?;
        Ok(Apps { apps })
    }

    /// Starts the webhook workers; once, inside the runtime.
    pub(crate) fn start(&self) {
        for app in &self.apps {
            if let Some(webhooks) = &app.webhooks {
                webhooks.start();
            }
        }
    }

    /// Whether there is any app to serve.
    pub(crate) fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }

    /// The app clients connect to with `key`.
    pub(crate) fn by_key(&self, key: &str) -> Option<&Arc<App>> {
        self.apps.iter().find(|app| app.credentials.key == key)
    }

    /// The app whose HTTP API is at `/apps/{id}`.
    pub(crate) fn by_id(&self, id: &str) -> Option<&Arc<App>> {
        self.apps.iter().find(|app| app.id == id)
    }
}

impl App {
    fn new(
        config: &PusherApp,
        webhook: &WebhookConfig,
        queue_folder: Option<&std::path::Path>,
    ) -> Result<App, QueueError> {
        let credentials = Credentials::new(config.key.clone(), config.secret.clone());
        let webhooks = match &config.webhook_url {
            // The hub's retry policy, timeout and bounds, to the app's URL.
            Some(url) => Some(Webhooks::open_signed(
                &WebhookConfig {
                    enabled: true,
                    endpoint: Some(url.clone()),
                    secret: None,
                    ..webhook.clone()
                },
                Signing::Pusher(credentials.clone()),
                queue_folder
                    .map(|folder| folder.join(format!("pusher-webhooks-{}.sqlite3", config.id)))
                    .as_deref(),
                Default::default(),
            )?),
            None => None,
        };
        Ok(App {
            id: config.id.clone(),
            credentials,
            namespace: config.namespace(),
            users: Mutex::new(HashMap::new()),
            webhooks,
        })
    }

    /// Queues a webhook event, when the app has a `webhook_url`; returns once it is committed.
    pub(crate) async fn webhook(&self, event: impl FnOnce() -> WebhookEvent) {
        let Some(webhooks) = &self.webhooks else {
            return;
        };
        let body = WebhookBody {
            time_ms: crate::webhook::unix_ms(),
            events: vec![event()],
        };
        webhooks
            .emit_body(uuid::Uuid::new_v4().to_string(), body.to_json())
            .await;
    }

    /// The hub channel of this app's channel `name`.
    pub(crate) fn hub_channel(&self, name: &str) -> String {
        super::relay::hub_channel(&self.namespace, name)
    }

    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<SessionHandle>>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a connection's sign-in as `user`.
    pub(crate) fn signed_in(&self, user: &str, handle: &SessionHandle) {
        let mut users = self.users();
        let mine = users.entry(user.to_owned()).or_default();
        if !mine.iter().any(|known| known.id() == handle.id()) {
            mine.push(handle.clone());
        }
    }

    /// Forgets a signed-in connection that ended.
    pub(crate) fn signed_out(&self, user: &str, handle: &SessionHandle) {
        let mut users = self.users();
        if let Some(mine) = users.get_mut(user) {
            mine.retain(|known| known.id() != handle.id());
            if mine.is_empty() {
                users.remove(user);
            }
        }
    }

    /// The connections `user` signed in with on this node.
    pub(crate) fn connections_of(&self, user: &str) -> Vec<SessionHandle> {
        self.users().get(user).cloned().unwrap_or_default()
    }
}
