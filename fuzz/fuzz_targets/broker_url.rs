//! Broker URLs (from php.ini or a constructor): never a panic, and what error messages and
//! phpinfo() show of a `redis://user:secret@host` URL never holds the secret.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sse_core::broker::url::{redact, BrokerUrl};

#[derive(Arbitrary, Debug)]
struct Input {
    url: String,
    user: String,
    secret: String,
    host: String,
}

fuzz_target!(|input: Input| {
    if let Ok(url) = BrokerUrl::parse(&input.url) {
        let _ = url.display();
    }
    let _ = redact(&input.url);
    // A password of a few characters that cannot end the credentials early: shown nowhere.
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if plain(&input.secret)
        && input.secret.len() >= 6
        && plain(&input.host)
        && !input.host.contains(&input.secret)
        && input.user.bytes().all(|b| b.is_ascii_alphanumeric())
        && !input.user.contains(&input.secret)
    {
        let url = format!("redis://{}:{}@{}:6379/0", input.user, input.secret, input.host);
        assert!(!redact(&url).contains(&input.secret), "{url}");
        let message = BrokerUrl::parse(&url).map(|u| u.display()).unwrap_or_else(|e| e.to_string());
        assert!(!message.contains(&input.secret), "{message}");
    }
});
