//! How clients reach the hub: WebSocket, and where it is blocked, HTTP-streaming and
//! Server-Sent Events with the emulation endpoint for the client's commands.

pub(crate) mod emulation;
pub(crate) mod stream;
pub(crate) mod websocket;
