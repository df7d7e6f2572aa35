//! Which broker a URL names: `local` (the default directory), `local:///absolute/dir`,
//! `memory`, or `redis://[user:password@]host[:port][/db]`.

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
            return Ok(BrokerUrl::Redis(url.to_owned()));
        }
        refuse("is not a broker URL; use local, local:///absolute/dir, memory or redis://host:port")
    }

    /// The URL as error messages and `phpinfo()` show it: a Redis password is hidden.
    pub fn display(&self) -> String {
        match self {
            BrokerUrl::Local(dir) => format!("local://{}", dir.display()),
            BrokerUrl::Memory => "memory".to_owned(),
            BrokerUrl::Redis(url) => redact(url),
        }
    }
}

/// `redis://user:secret@host` as `redis://user:***@host`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((credentials, host)) = rest.split_once('@') else { return url.to_owned() };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => format!("{scheme}://***@{host}"),
    }
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
}
