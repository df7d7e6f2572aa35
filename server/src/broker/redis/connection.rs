//! How the Redis engine reaches Redis: one server (`redis://`) or a Redis Cluster or Valkey
//! cluster (`redis-cluster://`, through redis-rs's cluster client, which follows `MOVED` and
//! `ASK`, slot migrations and failovers), and the keys it uses there.
//!
//! In a cluster every key the engine touches carries the hash tag `{sse}`, so that one publish
//! (a script over its partitions' streams, the epoch and the newest ids) stays in one slot:
//! Redis refuses a script or transaction across slots (CROSSSLOT).

use redis::cluster::{ClusterClient, ClusterConnection};
use redis::{Client, ConnectionLike, RedisResult, Value};
use std::time::Duration;

/// The keys of one log (see `log.rs`).
pub struct Keys {
    /// The one stream of the layout before partitions.
    pub events: &'static str,
    pub epoch: &'static str,
    pub last: &'static str,
    pub since: &'static str,
    /// `<partitions>:<k>` is partition k's stream, `<partitions>:<k>:last` its newest id.
    pub partitions: &'static str,
    /// `<published>:<token>`: a publish's id, kept a while (see `log::PUBLISH`).
    pub published: &'static str,
    /// Presence: the set of the processes holding a lease; `<presence>:<identity>` is a
    /// lease's body and `<presence>:<identity>:live` says it is valid (see `mod.rs`).
    pub presence: &'static str,
}

const SERVER_KEYS: Keys = Keys {
    events: "sse:events",
    epoch: "sse:epoch",
    last: "sse:last",
    since: "sse:since",
    partitions: "sse:p",
    published: "sse:published",
    presence: "sse:presence",
};
const CLUSTER_KEYS: Keys = Keys {
    events: "{sse}:events",
    epoch: "{sse}:epoch",
    last: "{sse}:last",
    since: "{sse}:since",
    partitions: "{sse}:p",
    published: "{sse}:published",
    presence: "{sse}:presence",
};

/// What the engine connects to.
pub enum Target {
    Server(Client),
    Cluster(Box<ClusterClient>),
}

impl Target {
    pub fn server(url: &str) -> RedisResult<Target> {
        Client::open(url).map(Target::Server)
    }

    /// A cluster from its seed nodes. Responses wait as long as a blocking read may (the
    /// follower's `XREAD BLOCK`); publishes and catch-ups set their own time-out on their
    /// connection.
    pub fn cluster(nodes: Vec<String>, block: Duration) -> RedisResult<Target> {
        ClusterClient::builder(nodes)
            .connection_timeout(Duration::from_secs(2))
            .response_timeout(block + Duration::from_secs(5))
            .build()
            .map(|client| Target::Cluster(Box::new(client)))
    }

    pub fn keys(&self) -> &'static Keys {
        match self {
            Target::Server(_) => &SERVER_KEYS,
            Target::Cluster(_) => &CLUSTER_KEYS,
        }
    }

    /// A blocking connection (publishes and catch-ups run on the PHP thread).
    pub fn connect(&self, timeout: Duration) -> RedisResult<Blocking> {
        match self {
            Target::Server(client) => client.get_connection_with_timeout(timeout).map(Blocking::Server),
            Target::Cluster(client) => client.get_connection().map(|connection| Blocking::Cluster(Box::new(connection))),
        }
    }

    /// An async connection for the follower on the runtime thread.
    pub async fn connect_async(&self, block: Duration) -> RedisResult<Async> {
        match self {
            Target::Server(client) => {
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(block + Duration::from_secs(5)));
                client.get_multiplexed_async_connection_with_config(&config).await.map(Async::Server)
            }
            Target::Cluster(client) => client.get_async_connection().await.map(Async::Cluster),
        }
    }
}

pub enum Blocking {
    Server(redis::Connection),
    Cluster(Box<ClusterConnection>),
}

impl Blocking {
    pub fn as_dyn(&mut self) -> &mut dyn ConnectionLike {
        match self {
            Blocking::Server(connection) => connection,
            Blocking::Cluster(connection) => connection.as_mut(),
        }
    }

    pub fn set_timeout(&mut self, timeout: Duration) -> RedisResult<()> {
        match self {
            Blocking::Server(connection) => {
                connection.set_read_timeout(Some(timeout))?;
                connection.set_write_timeout(Some(timeout))
            }
            Blocking::Cluster(connection) => {
                connection.set_read_timeout(Some(timeout))?;
                connection.set_write_timeout(Some(timeout))
            }
        }
    }
}

pub enum Async {
    Server(redis::aio::MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

/// The cluster slot of the hash tag `{sse}` (CRC16-XMODEM of `sse`, modulo 16384): where the
/// log lives in a cluster.
pub const LOG_SLOT: u16 = 8273;

impl Async {
    /// Names this connection (`CLIENT SETNAME`); in a cluster, its connection to the master of
    /// the log's slot, the one a reader's `XREAD` goes to.
    pub async fn set_name(&mut self, name: &str) -> RedisResult<Value> {
        let mut command = redis::cmd("CLIENT");
        command.arg("SETNAME").arg(name);
        match self {
            Async::Server(connection) => command.query_async(connection).await,
            Async::Cluster(connection) => {
                use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
                let log = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::new(LOG_SLOT, SlotAddr::Master)));
                connection.route_command(command, log).await
            }
        }
    }

    pub async fn query(&mut self, command: &redis::Cmd) -> RedisResult<Value> {
        match self {
            Async::Server(connection) => command.query_async(connection).await,
            Async::Cluster(connection) => command.query_async(connection).await,
        }
    }
}
