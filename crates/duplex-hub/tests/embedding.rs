//! An axum application that embeds the hub: its own routes beside the hub's, publishing from a
//! handler, and hooks that allow, deny or change what clients do.

mod common;

use axum::extract::State;
use axum::routing::post;
use bytes::Bytes;
use common::{token, TestClient, SECRET};
use duplex_hub::callbacks::{Call, Handler, Publishing, SubscribeDecision, Subscribing};
use duplex_hub::codes::Error;
use duplex_hub::config::HubConfig;
use duplex_hub::Hub;
use serde_json::json;

struct App;

#[async_trait::async_trait]
impl Handler for App {
    async fn on_subscribe(&self, event: Subscribing<'_>) -> Result<SubscribeDecision, Error> {
        match event.channel {
            "chat:secret" => Err(Error::PERMISSION_DENIED),
            // The application opens a channel its namespace keeps closed.
            "private:vip" if event.user == "vip" => Ok(SubscribeDecision {
                allow: true,
                info: Some(Bytes::from_static(br#"{"badge":"gold"}"#)),
                data: None,
            }),
            _ => Ok(SubscribeDecision::default()),
        }
    }

    async fn on_publish(&self, event: Publishing<'_>) -> Result<Bytes, Error> {
        // Stamps every publication with its author.
        let mut value: serde_json::Value =
            serde_json::from_slice(&event.data).map_err(|_| Error::BAD_REQUEST)?;
        value["by"] = json!(event.user);
        Ok(Bytes::from(value.to_string()))
    }

    async fn on_rpc(&self, call: Call<'_>) -> Result<Bytes, Error> {
        match call.method {
            "echo" => Ok(call.data),
            _ => Err(Error::METHOD_NOT_FOUND),
        }
    }
}

async fn notify(State(hub): State<Hub>, body: String) -> &'static str {
    match hub.publish("chat:news", body).await {
        Ok(_) => "sent",
        Err(_) => "failed",
    }
}

#[tokio::test]
async fn an_axum_app_publishes_from_its_handlers_and_decides_with_hooks() {
    let mut config = HubConfig::default();
    config
        .set("client.token.hmac_secret_key", SECRET)
        .expect("secret");
    config
        .set("channel.namespaces", &common::namespaces().to_string())
        .expect("namespaces");
    let hub = Hub::builder(config)
        .handler(App)
        .build()
        .await
        .expect("hub");
    let app = axum::Router::new()
        .route("/notify", post(notify))
        .with_state(hub.clone())
        .merge(hub.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let test_hub = common::TestHub::attach(hub.clone(), addr);

    let (mut client, _) = TestClient::connect(&test_hub, &token("ann", None)).await;
    client
        .call(json!({"subscribe": {"channel": "chat:news"}}))
        .await;
    let sent = reqwest::Client::new()
        .post(format!("http://{addr}/notify"))
        .body(json!({"headline": "hub embedded"}).to_string())
        .send()
        .await
        .expect("notify")
        .text()
        .await
        .expect("body");
    assert_eq!(sent, "sent");
    assert_eq!(
        client.publication("chat:news").await["data"]["headline"],
        "hub embedded"
    );

    let denied = client
        .call(json!({"subscribe": {"channel": "chat:secret"}}))
        .await;
    assert_eq!(denied["error"]["code"], 103, "{denied}");
    let published = client
        .call(json!({"publish": {"channel": "chat:news", "data": {"text": "hi"}}}))
        .await;
    assert!(published.get("publish").is_some(), "{published}");
    assert_eq!(
        client.publication("chat:news").await["data"],
        json!({"text": "hi", "by": "ann"})
    );
    let echoed = client
        .call(json!({"rpc": {"method": "echo", "data": {"ping": 1}}}))
        .await;
    assert_eq!(echoed["rpc"]["data"], json!({"ping": 1}));

    let (mut vip, _) = TestClient::connect(&test_hub, &token("vip", None)).await;
    let allowed = vip
        .call(json!({"subscribe": {"channel": "private:vip"}}))
        .await;
    assert!(allowed.get("subscribe").is_some(), "{allowed}");
    let presence = vip
        .call(json!({"presence": {"channel": "private:vip"}}))
        .await;
    let entry = presence["presence"]["presence"]
        .as_object()
        .and_then(|m| m.values().next().cloned())
        .expect("vip present");
    assert_eq!(entry["chan_info"], json!({"badge": "gold"}));
}
