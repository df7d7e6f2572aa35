//! Which broker a URL names: `local` (the default directory), `local:///absolute/dir`,
//! `memory`, `redis://[user:password@]host[:port][/db]`, or
//! `redis-cluster://[user:password@]host:port[,host:port...]` (seed nodes of a Redis Cluster or
//! Valkey cluster: its own scheme, because a `redis://` URL names one server).
//!
//! A Redis URL may name a log of its own with `?log=<name>`: a separate log (its own keys, ids,
//! history and readers) in the same Redis. In a cluster each log is in the slot of its own hash
//! tag, so an application that splits its topics over several logs spreads them over the
//! masters (see [`redis_log`]).

use crate::error::{Error, Result};
use std::path::PathBuf;

/// The directory of `local` without a path: shared memory (tmpfs), which every process of the
/// machine sees, php-fpm with systemd's PrivateTmp included, and which is emptied at reboot.
pub const DEFAULT_LOCAL_DIR: &str = "/dev/shm/ext-sse";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BrokerUrl {
    Local(PathBuf),
    Memory,
    /// The URL as given, for the Redis client to parse.
    Redis(String),
    /// The URL as given; [`cluster_nodes`] gives the seed nodes.
    RedisCluster(String),
}

impl BrokerUrl {
    pub fn parse(url: &str) -> Result<BrokerUrl> {
        let refuse = |reason: &str| Err(Error::invalid_argument("url", format!("\"{}\" {reason}", redact(url))));
        match url {
            "" => return refuse("is empty; use local, local:///absolute/dir, memory or redis://host:port"),
            "local" | "local://" => return Ok(BrokerUrl::Local(PathBuf::from(DEFAULT_LOCAL_DIR))),
            "memory" | "memory://" => return Ok(BrokerUrl::Memory),
            _ => {}
        }
        if let Some(path) = url.strip_prefix("local://") {
            if !path.starts_with('/') {
                return refuse("needs an absolute directory: local:///var/lib/sse (three slashes)");
            }
            if path.contains('\0') || path.split('/').any(|part| part == "..") {
                return refuse("is not a plain absolute directory");
            }
            return Ok(BrokerUrl::Local(PathBuf::from(path)));
        }
        if url.starts_with("redis://") {
            redis_log(url)?;
            return Ok(BrokerUrl::Redis(url.to_owned()));
        }
        if url.starts_with("redis-cluster://") {
            cluster_nodes(url)?;
            return Ok(BrokerUrl::RedisCluster(url.to_owned()));
        }
        refuse("is not a broker URL; use local, local:///absolute/dir, memory or redis://host:port")
    }

    /// The URL as error messages and `phpinfo()` show it: a Redis password is hidden.
    pub fn display(&self) -> String {
        match self {
            BrokerUrl::Local(dir) => format!("local://{}", dir.display()),
            BrokerUrl::Memory => "memory".to_owned(),
            BrokerUrl::Redis(url) | BrokerUrl::RedisCluster(url) => redact(url),
        }
    }
}

/// The longest log name.
pub const LOG_NAME_MAX: usize = 40;

/// A Redis URL without its `log` query parameter (what the Redis client is given), and the
/// log it names (None: the default log). A log name is 1 to [`LOG_NAME_MAX`] of `a-z`, `0-9`,
/// `-` and `_`: it becomes part of every key (`sse.<name>:...`, `{sse.<name>}:...` in a
/// cluster, whose hash tag puts the log in a slot of its own).
pub fn redis_log(url: &str) -> Result<(String, Option<String>)> {
    let refuse = |reason: String| Err(Error::invalid_argument("url", format!("\"{}\" {reason}", redact(url))));
    let (base, fragment) = match url.find('#') {
        Some(hash) => url.split_at(hash),
        None => (url, ""),
    };
    let Some((before, query)) = base.split_once('?') else { return Ok((url.to_owned(), None)) };
    let mut log = None;
    let mut kept = Vec::new();
    for parameter in query.split('&') {
        match parameter.split_once('=') {
            Some(("log", name)) => {
                if log.is_some() {
                    return refuse("names its log twice; give ?log=<name> once".to_owned());
                }
                let valid = (1..=LOG_NAME_MAX).contains(&name.len()) && name.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'));
                if !valid {
                    return refuse(format!("names the log \"{name}\"; a log name is 1 to {LOG_NAME_MAX} of a-z, 0-9, '-' and '_'"));
                }
                log = Some(name.to_owned());
            }
            None if parameter == "log" => return refuse("has ?log without a name; use ?log=<name>".to_owned()),
            _ => kept.push(parameter),
        }
    }
    let without = match kept.is_empty() {
        true => format!("{before}{fragment}"),
        false => format!("{before}?{}{fragment}", kept.join("&")),
    };
    Ok((without, log))
}

/// The seed nodes of a `redis-cluster://` URL as `redis://` URLs, each with the URL's
/// credentials. A database number is refused: a cluster has database 0 only. `?log=<name>` is
/// the only option (see [`redis_log`]).
pub fn cluster_nodes(url: &str) -> Result<Vec<String>> {
    let refuse = |reason: &str| Err(Error::invalid_argument("url", format!("\"{}\" {reason}", redact(url))));
    let (url, _) = redis_log(url)?;
    let Some(rest) = url.strip_prefix("redis-cluster://") else { return refuse("is not a redis-cluster:// URL") };
    let (authority, tail) = match rest.find(['/', '?', '#']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    if !tail.is_empty() && tail != "/" && tail != "/0" {
        return refuse("names a database or options; a Redis Cluster has database 0 only: use redis-cluster://host:port,host:port");
    }
    let (credentials, hosts) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let mut nodes = Vec::new();
    for host in hosts.split(',') {
        let valid = host.rsplit_once(':').is_some_and(|(name, port)| !name.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
        if !valid {
            return refuse("needs seed nodes as host:port, separated by commas: redis-cluster://10.0.0.1:6379,10.0.0.2:6379");
        }
        nodes.push(match credentials {
            Some(credentials) => format!("redis://{credentials}@{host}"),
            None => format!("redis://{host}"),
        });
    }
    Ok(nodes)
}

/// `redis://user:secret@host` as `redis://user:***@host`, for messages and `phpinfo()`.
///
/// The credentials are cut where URL parsers cut them (RFC 3986, WHATWG URL and the `url`
/// crate the Redis client uses): the authority ends at the first '/', '?' or '#' after the
/// scheme, and the user information ends at the LAST '@' of the authority, so a password
/// holding '@' is hidden whole. Beyond what parsers read, anything that could still hold a
/// password is hidden too, since a shown secret cannot be taken back:
/// - a text without `://` hides everything before its last '@';
/// - an authority with a ':' but no '@', followed by an '@' further on, is a password with an
///   unencoded '/', '?' or '#': everything up to that last '@' is hidden;
/// - the values of `pass` and `password` query parameters (`redis+unix://` URLs carry them).
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return match url.rfind('@') {
            Some(at) => format!("***{}", &url[at..]),
            None => url.to_owned(),
        };
    };
    let start = scheme_end + 3;
    let authority_end = url[start..].find(['/', '?', '#']).map_or(url.len(), |end| start + end);
    let credentials_end = match url[start..authority_end].rfind('@') {
        Some(at) => Some(start + at),
        None if url[start..authority_end].contains(':') => url[authority_end..].rfind('@').map(|at| authority_end + at),
        None => None,
    };
    let mut shown = String::with_capacity(url.len());
    shown.push_str(&url[..start]);
    let rest = match credentials_end {
        Some(at) => {
            match url[start..at].split_once(':') {
                Some((user, _)) => {
                    shown.push_str(user);
                    shown.push_str(":***");
                }
                None => shown.push_str("***"),
            }
            &url[at..]
        }
        None => &url[start..],
    };
    shown.push_str(&without_password_parameters(rest));
    shown
}

/// `rest` (the URL from its host on) with the values of `pass` and `password` query
/// parameters hidden.
fn without_password_parameters(rest: &str) -> String {
    let Some(query_start) = rest.find('?') else { return rest.to_owned() };
    let (before, query) = rest.split_at(query_start + 1);
    let (query, fragment) = match query.find('#') {
        Some(hash) => query.split_at(hash),
        None => (query, ""),
    };
    let parameters: Vec<String> = query
        .split('&')
        .map(|parameter| match parameter.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("pass") || name.eq_ignore_ascii_case("password") => format!("{name}=***"),
            _ => parameter.to_owned(),
        })
        .collect();
    format!("{before}{}{fragment}", parameters.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(BrokerUrl::parse("local").ok(), Some(BrokerUrl::Local(DEFAULT_LOCAL_DIR.into())));
        assert_eq!(BrokerUrl::parse("local:///var/lib/sse").ok(), Some(BrokerUrl::Local("/var/lib/sse".into())));
        assert_eq!(BrokerUrl::parse("memory").ok(), Some(BrokerUrl::Memory));
        assert_eq!(BrokerUrl::parse("redis://127.0.0.1:6379/2").ok(), Some(BrokerUrl::Redis("redis://127.0.0.1:6379/2".into())));
    }

    #[test]
    fn refuses_the_rest_without_showing_passwords() {
        let message = |url: &str| BrokerUrl::parse(url).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message("local://relative").contains("absolute"));
        assert!(message("local:///a/../etc").contains("plain absolute"));
        assert!(message("http://x").contains("not a broker URL"));
        assert!(message("").contains("empty"));
        let secret = message("rediss://u:hunter2@h");
        assert!(secret.contains("u:***@h") && !secret.contains("hunter2"), "{secret}");
        assert_eq!(BrokerUrl::Redis("redis://:pw@h:1".into()).display(), "redis://:***@h:1");
    }

    #[test]
    fn cluster_urls_name_seed_nodes_and_no_database() {
        let url = "redis-cluster://u:p%40ss@10.0.0.1:7000,10.0.0.2:7001";
        assert_eq!(BrokerUrl::parse(url).ok(), Some(BrokerUrl::RedisCluster(url.into())));
        assert_eq!(cluster_nodes(url).ok(), Some(vec!["redis://u:p%40ss@10.0.0.1:7000".to_owned(), "redis://u:p%40ss@10.0.0.2:7001".to_owned()]));
        assert_eq!(BrokerUrl::RedisCluster(url.into()).display(), "redis-cluster://u:***@10.0.0.1:7000,10.0.0.2:7001");
        assert!(cluster_nodes("redis-cluster://h:1/0").is_ok());
        let message = |url: &str| BrokerUrl::parse(url).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message("redis-cluster://h:1/2").contains("database 0 only"));
        assert!(message("redis-cluster://h").contains("host:port"));
        assert!(message("redis-cluster://h:1,").contains("host:port"));
        assert!(!message("redis-cluster://u:secret@h").contains("secret"));
        // A log is the one option.
        assert_eq!(cluster_nodes("redis-cluster://h:1,h:2?log=orders").ok(), Some(vec!["redis://h:1".to_owned(), "redis://h:2".to_owned()]));
        assert!(cluster_nodes("redis-cluster://h:1/0?log=orders").is_ok());
        assert!(message("redis-cluster://h:1?protocol=resp3").contains("database 0 only"));
        assert!(message("redis-cluster://h:1/2?log=a").contains("database 0 only"));
    }

    #[test]
    fn a_redis_url_may_name_its_log() {
        assert_eq!(redis_log("redis://h:1/2").ok(), Some(("redis://h:1/2".to_owned(), None)));
        assert_eq!(redis_log("redis://h:1/2?log=orders").ok(), Some(("redis://h:1/2".to_owned(), Some("orders".to_owned()))));
        // Other parameters stay, for the Redis client.
        let (url, log) = redis_log("redis://u:pw@h/0?protocol=resp3&log=eu-1_a&x=y#f").unwrap_or_default();
        assert_eq!((url.as_str(), log.as_deref()), ("redis://u:pw@h/0?protocol=resp3&x=y#f", Some("eu-1_a")));
        assert_eq!(BrokerUrl::parse("redis://h?log=a").ok(), Some(BrokerUrl::Redis("redis://h?log=a".into())));
        let message = |url: &str| BrokerUrl::parse(url).err().map(|e| e.to_string()).unwrap_or_default();
        for (url, reason) in [
            ("redis://h?log=", "names the log \"\""),
            ("redis://h?log=Orders", "a-z, 0-9"),
            ("redis://h?log=a.b", "a-z, 0-9"),
            ("redis://h?log={x}", "a-z, 0-9"),
            ("redis://h?log=a&log=b", "twice"),
            ("redis://h?log", "without a name"),
            ("redis-cluster://h:1?log=a:b", "a-z, 0-9"),
        ] {
            let text = message(url);
            assert!(text.contains(reason) && text.contains("url"), "{url}: {text}");
        }
        let long = format!("redis://h?log={}", "a".repeat(LOG_NAME_MAX + 1));
        assert!(message(&long).contains("1 to 40"));
        assert!(BrokerUrl::parse(&format!("redis://h?log={}", "a".repeat(LOG_NAME_MAX))).is_ok());
        // A password next to a bad log name is still hidden.
        assert!(!message("redis://u:hunter2@h?log=BAD").contains("hunter2"));
    }

    #[test]
    fn redaction_cuts_the_credentials_at_the_last_at_sign_of_the_authority() {
        for (url, shown) in [
            // No credentials: unchanged.
            ("redis://127.0.0.1:6379/2", "redis://127.0.0.1:6379/2"),
            ("redis://h", "redis://h"),
            ("local:///var/lib/sse", "local:///var/lib/sse"),
            ("local:///var/lib/a@b", "local:///var/lib/a@b"),
            ("memory", "memory"),
            // A user alone, a password alone, both.
            ("redis://secret@h:6379", "redis://***@h:6379"),
            ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
            ("redis://user:pw@h", "redis://user:***@h"),
            // '@' and ':' in the password, as typed: parsers take the last '@'.
            ("redis://user:p@ss@h:6379/0", "redis://user:***@h:6379/0"),
            ("redis://user:p@ss:w@rd@h:6379", "redis://user:***@h:6379"),
            ("redis://:@@@h", "redis://:***@h"),
            // Percent-encoded '@', ':' and '/' in the user and the password.
            ("redis://us%40er:p%40ss%3Aw%2Frd@h:6379/0", "redis://us%40er:***@h:6379/0"),
            ("rediss://u:p%2F%3F%23%40@h/0?protocol=resp3", "rediss://u:***@h/0?protocol=resp3"),
            // An unencoded '/', '?' or '#' in the password: everything up to the '@' is hidden.
            ("redis://user:pa/ss@h:6379", "redis://user:***@h:6379"),
            ("redis://user:pa?ss@h", "redis://user:***@h"),
            ("redis://:pa#ss@h", "redis://:***@h"),
            // The query's `pass` and `password` parameters, and text without a scheme.
            ("redis+unix:///run/redis.sock?db=1&pass=secret#x", "redis+unix:///run/redis.sock?db=1&pass=***#x"),
            ("redis://h/0?PASSWORD=secret&user=u", "redis://h/0?PASSWORD=***&user=u"),
            ("redis:u:secret@h", "***@h"),
            ("u:p@ss@h", "***@h"),
            ("", ""),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    #[test]
    fn no_password_reaches_a_message_or_the_display() {
        for password in ["p@ss", "p@ss:w@rd", "p%40ss%3A%2F", "@", "pa/ss", "hunter2"] {
            let url = format!("redis://user:{password}@redis.internal:6379/0");
            let shown = BrokerUrl::parse(&url).map(|u| u.display()).unwrap_or_default();
            assert_eq!(shown, "redis://user:***@redis.internal:6379/0", "{password}");
            let refused = BrokerUrl::parse(&format!("redis:/user:{password}@h")).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(refused.contains("not a broker URL") && (password.len() < 2 || !refused.contains(password)), "{refused}");
        }
    }
}
