//! How clients reach the hub. WebSocket today; the fallbacks (SSE, HTTP streaming) join here.

pub(crate) mod websocket;
