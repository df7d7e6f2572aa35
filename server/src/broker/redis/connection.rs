//! How the Redis engine reaches Redis: one server (`redis://`) or a Redis Cluster or Valkey
//! cluster (`redis-cluster://`, through redis-rs's cluster client, which follows `MOVED` and
//! `ASK`, slot migrations and failovers), and the keys it uses there.
//!
//! In a cluster every key of a log carries the log's hash tag (`{sse}`, or `{sse.<log>}` for a
//! URL's `?log=<name>`), so that one publish (a script over its partitions' streams, the epoch
//! and the newest ids) stays in one slot: Redis refuses a script or transaction across slots
//! (CROSSSLOT). Logs of different names are in different slots, so several logs spread over
//! the masters.

use redis::cluster::{ClusterClient, ClusterConnection};
use redis::{Client, ConnectionLike, RedisResult, Value};
use std::time::Duration;

/// The keys of one log (see `log.rs`).
pub struct Keys {
    /// What every key of the log starts with (`sse`, `{sse.orders}`): where `phpinfo()` says the
    /// log is.
    pub prefix: String,
    /// The one stream of the layout before partitions.
    pub events: String,
    pub epoch: String,
    pub last: String,
    pub since: String,
    /// `<partitions>:<k>` is partition k's stream, `<partitions>:<k>:last` its newest id.
    pub partitions: String,
    /// `<published>:<token>`: a publish's id, kept a while (see `log::PUBLISH`).
    pub published: String,
    /// Presence: the set of the processes holding a lease; `<presence>:<identity>` is a
    /// lease's body and `<presence>:<identity>:live` says it is valid (see `mod.rs`).
    pub presence: String,
}

impl Keys {
    /// The keys of the log `log` (None: the default log) on one server (`sse:...`,
    /// `sse.<log>:...`) or in a cluster (`{sse}:...`, `{sse.<log>}:...`: the hash tag puts all
    /// of one log's keys in one slot, and each log in a slot of its own).
    pub fn of(cluster: bool, log: Option<&str>) -> Keys {
        let name = match log {
            Some(log) => format!("sse.{log}"),
            None => "sse".to_owned(),
        };
        let prefix = if cluster { format!("{{{name}}}") } else { name };
        let key = |suffix: &str| format!("{prefix}:{suffix}");
        Keys {
            prefix: prefix.clone(),
            events: key("events"),
            epoch: key("epoch"),
            last: key("last"),
            since: key("since"),
            partitions: key("p"),
            published: key("published"),
            presence: key("presence"),
        }
    }
}

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

    pub fn is_cluster(&self) -> bool {
        matches!(self, Target::Cluster(_))
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

impl Async {
    /// Names this connection (`CLIENT SETNAME`); in a cluster, its connection to the master of
    /// the slot of `log_key` (a key of the log), the one a reader's `XREAD` goes to.
    pub async fn set_name(&mut self, name: &str, log_key: &str) -> RedisResult<Value> {
        let mut command = redis::cmd("CLIENT");
        command.arg("SETNAME").arg(name);
        match self {
            Async::Server(connection) => command.query_async(connection).await,
            Async::Cluster(connection) => {
                use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
                let log = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(log_key, SlotAddr::Master)));
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
