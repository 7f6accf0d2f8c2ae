//! The one page: a login form, or, once logged in, the live channel and two ways to publish.
//!
//! The page loads the `centrifuge` SDK, the one people already use with Centrifugo, and
//! connects to the hub **without a token**: the browser sends the app's session cookie along,
//! and the hub asks the app who that is (see `session.rs`).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Html;
use serde::Deserialize;

use crate::App;

/// The SDK's browser bundle, from its registry's CDN; pin the version you tested with.
const SDK_URL: &str = "https://unpkg.com/centrifuge@5.7.4/dist/centrifuge.js";

/// The page's query: `?error=login` after a failed login.
#[derive(Deserialize)]
pub struct HomeQuery {
    error: Option<String>,
}

/// `GET /`.
pub async fn home(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(query): Query<HomeQuery>,
) -> Html<String> {
    let body = match app.sessions.user(&headers) {
        None => login_form(query.error.is_some()),
        Some(user) => live_page(&user, &app.hub_websocket_url, app.database.is_some()),
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>beside-app</title>\
         <style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}\
         li{{margin:.2em 0}}</style></head><body>{body}</body></html>"
    ))
}

fn login_form(failed: bool) -> String {
    let error = if failed {
        "<p id=\"error\">Unknown user or wrong password.</p>"
    } else {
        ""
    };
    format!(
        "<h1>Log in</h1>{error}\
         <form method=\"post\" action=\"/login\">\
         <label>User <input name=\"user\" value=\"alice\" autocomplete=\"username\"></label> \
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label> \
         <button id=\"login\">Log in</button></form>\
         <p>Accounts: alice / wonderland, bob / builder.</p>"
    )
}

fn live_page(user: &str, hub_websocket_url: &str, has_database: bool) -> String {
    let outbox_note = if has_database {
        ""
    } else {
        " (off: the app runs without DATABASE_URL)"
    };
    format!(
        "<h1>Hello, {user}</h1>\
         <form method=\"post\" action=\"/logout\"><button>Log out</button></form>\
         <p>Hub: <span id=\"state\">connecting</span></p>\
         <p><input id=\"text\" value=\"hello\"> \
         <button id=\"via-api\">Publish through the server API</button> \
         <button id=\"via-outbox\">Publish through the outbox{outbox_note}</button></p>\
         <p id=\"status\"></p><ul id=\"messages\"></ul>\
         <script src=\"{SDK_URL}\"></script>\
         <script>{script}</script>",
        user = escape(user),
        script = SCRIPT.replace("HUB_WEBSOCKET_URL", &js_string(hub_websocket_url)),
    )
}

/// The page's code: subscribe to `news`, show each publication, and post the text to either
/// REST endpoint. Recovery is on for the channel (duplex.json), so a reconnect shows what was
/// missed, once.
const SCRIPT: &str = r#"
const centrifuge = new Centrifuge(HUB_WEBSOCKET_URL);
const state = document.getElementById("state");
// The connect proxy's answer comes back as the connect reply's data: the app said who this is.
centrifuge.on("connected", (ctx) => { state.textContent = "connected as " + ctx.data.user; });
centrifuge.on("disconnected", (ctx) => { state.textContent = "disconnected: " + ctx.reason; });
const news = centrifuge.newSubscription("news");
news.on("subscribed", () => { document.body.dataset.subscribed = "yes"; });
news.on("publication", (ctx) => {
  const item = document.createElement("li");
  item.textContent = ctx.data.by + " (" + ctx.data.via + "): " + ctx.data.text;
  item.dataset.via = ctx.data.via;
  document.getElementById("messages").appendChild(item);
});
news.subscribe();
centrifuge.connect();
for (const via of ["api", "outbox"]) {
  document.getElementById("via-" + via).onclick = async () => {
    const text = document.getElementById("text").value;
    const status = document.getElementById("status");
    status.textContent = via + ": sending…";
    const response = await fetch("/api/" + (via === "api" ? "publish" : "outbox"), {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({text}),
    });
    status.textContent = via + ": " + response.status + " " + await response.text();
  };
}
"#;

/// Text safe inside HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A JavaScript string literal safe inside a `<script>` element.
fn js_string(text: &str) -> String {
    serde_json::Value::from(text)
        .to_string()
        .replace("</", "<\\/")
}
