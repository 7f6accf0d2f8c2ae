//! The Pusher apps a hub serves, as the endpoints look them up: by key for a connection
//! (`/app/{key}`), by id for an HTTP API request (`/apps/{id}/...`), with each app's signed-in
//! users' connections, for `terminate_connections`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::{PusherApp, PusherConfig};
use crate::session::SessionHandle;

use super::signature::Credentials;

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
}

impl Apps {
    /// The apps of `config`.
    pub(crate) fn new(config: &PusherConfig) -> Apps {
        Apps {
            apps: config
                .apps
                .iter()
                .map(|app| Arc::new(App::new(app)))
                .collect(),
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
    fn new(config: &PusherApp) -> App {
        App {
            id: config.id.clone(),
            credentials: Credentials::new(config.key.clone(), config.secret.clone()),
            namespace: config.namespace(),
            users: Mutex::new(HashMap::new()),
        }
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
