//! The connection the engine's commands and scripts go over: one Redis server's, or a Redis
//! Cluster's, behind one type so the broker and presence code is written once.
//!
//! Every key of a channel carries the hash tag `{channel}`, so each script touches one slot and a
//! cluster connection routes it, by its first key, to the node that owns that slot (following
//! MOVED and ASK redirections on its own while slots migrate).

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// A command connection; cheap to clone (each variant multiplexes over shared sockets).
#[derive(Clone)]
pub(super) enum Commands {
    /// One server, reconnected by redis-rs's connection manager.
    Server(ConnectionManager),
    /// A Redis Cluster: connections to every primary, routed by slot.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Commands {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Commands::Server(connection) => connection.req_packed_command(cmd),
            Commands::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Commands::Server(connection) => connection.req_packed_commands(pipeline, offset, count),
            Commands::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Commands::Server(connection) => connection.get_db(),
            Commands::Cluster(connection) => connection.get_db(),
        }
    }
}
