//! Who the user is: the login form, the session cookie, and the hub's connect proxy.
//!
//! The browser never holds a token for the hub. Its WebSocket connection to the hub carries the
//! app's session cookie (same host, another port: cookies do not care about ports), the hub
//! forwards that cookie to [`connect_proxy`] in Centrifugo's connect proxy format, and the app
//! answers with the user it belongs to — or refuses the connection. One login, one source of
//! truth about sessions: this app's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::App;

/// The cookie that names a session.
const COOKIE: &str = "beside_session";

/// The example's accounts. A real application has a users table and password hashes.
const USERS: &[(&str, &str)] = &[("alice", "wonderland"), ("bob", "builder")];

/// Logged-in sessions: cookie value → user name. In memory, so a restart logs everyone out.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, String>>);

impl Sessions {
    /// The user whose session the request's cookie names, if any.
    pub fn user(&self, headers: &HeaderMap) -> Option<String> {
        let id = session_cookie(headers)?;
        self.0.lock().unwrap().get(&id).cloned()
    }

    fn open(&self, user: &str) -> String {
        let id = format!("{:032x}", rand::random::<u128>());
        self.0.lock().unwrap().insert(id.clone(), user.to_owned());
        id
    }

    fn close(&self, headers: &HeaderMap) {
        if let Some(id) = session_cookie(headers) {
            self.0.lock().unwrap().remove(&id);
        }
    }
}

/// The session id in a `Cookie` header (browsers may send several cookies, and several headers).
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_owned())
        })
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct Login {
    user: String,
    password: String,
}

/// `POST /login`: checks the password, sets the session cookie, back to the page.
pub async fn login(State(app): State<Arc<App>>, Form(form): Form<Login>) -> Response {
    let known = USERS
        .iter()
        .any(|(user, password)| *user == form.user && *password == form.password);
    if !known {
        return Redirect::to("/?error=login").into_response();
    }
    let id = app.sessions.open(&form.user);
    let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// `POST /logout`: forgets the session.
pub async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    app.sessions.close(&headers);
    let cookie = format!("{COOKIE}=; Path=/; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// `POST /hub/connect`: the hub's connect proxy (Centrifugo's format). The request body says
/// which client connects (`client`, `transport`, `protocol`, `encoding`, `data`); the forwarded
/// `Cookie` header says who it is. A known session is a `result` with the user, anything else a
/// `disconnect` with a code in 4500–4999, which tells the SDK not to reconnect.
pub async fn connect_proxy(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(request): Json<Value>,
) -> Json<Value> {
    match app.sessions.user(&headers) {
        Some(user) => {
            let client = request.get("client").and_then(Value::as_str).unwrap_or("");
            println!("connect proxy: client {client} is {user}");
            // `info` shows in presence and join/leave; `data` goes to this client in its
            // connect reply (the page prints it).
            Json(json!({"result": {"user": user, "info": {"name": user}, "data": {"user": user}}}))
        }
        None => Json(json!({"disconnect": {"code": 4501, "reason": "not logged in"}})),
    }
}
