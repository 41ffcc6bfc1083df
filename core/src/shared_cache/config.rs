//! The shared cache's address and tunables: one URL, so that an environment variable, a flag
//! and every binding's options carry the whole configuration in one string.
//!
//! `redis://[user[:password]@]host[:port][/db]`, `rediss://…` (TLS, rustls), `unix:///path`
//! (`?db=`, `?user=`, `?pass=`), and the `valkey://` / `valkeys://` spellings, as redis-rs
//! reads them; `?protocol=resp3` speaks RESP3 (`HELLO 3`). imagecheck's own query parameters
//! (`timeout_ms`, `lock_wait_ms`, `tag_max_age_s`) are taken out before redis-rs sees the URL.
//! The password never appears in a Debug or Display form, a log line or an error.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// Names the shared cache of the default resolver (and of any resolver built `from_env`).
pub const SHARED_CACHE_ENV: &str = "IMAGECHECK_SHARED_CACHE";
/// A file holding the shared cache's password (the ACL user, if any, comes from the URL); it
/// wins over a password in the URL, and keeps the secret out of the process environment.
pub const SHARED_CACHE_PASSWORD_FILE_ENV: &str = "IMAGECHECK_SHARED_CACHE_PASSWORD_FILE";

/// Bound on one operation against the tier: past it the node goes on without the tier. A
/// loopback or same-rack round trip is well under a millisecond; 50 ms is a tier in trouble.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(50);
/// How long a node waits for another node that holds a key's lock before asking the registry
/// itself. About one registry round trip with a token fetch (a far registry): waiting longer
/// than asking would take is never worth it, and a healthy holder answers within it.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_millis(500);
/// Longest a tag answer (or a signature listing) is kept in the tier. A caller's own TTL
/// decides what it accepts; an entry older than every caller's TTL only takes memory.
pub const DEFAULT_TAG_MAX_AGE: Duration = Duration::from_secs(3600);

/// A parsed shared cache URL. Compared and serialised as the text given; shown redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedCacheUrl {
    text: String,
    settings: Settings,
}

/// What the URL says, imagecheck's parameters split from redis-rs's.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    /// The URL without imagecheck's parameters: what redis-rs parses.
    pub(crate) redis_url: String,
    pub(crate) timeout: Duration,
    pub(crate) lock_wait: Duration,
    pub(crate) tag_max_age: Duration,
    /// Scheme, host, port and database only: what logs and errors show.
    pub(crate) shown: String,
}

/// Query parameters redis-rs itself reads; any other one is a typo, refused.
const REDIS_PARAMETERS: [&str; 4] = ["protocol", "db", "user", "pass"];

impl SharedCacheUrl {
    /// Parse and check `text` (nothing is connected). An unusable URL is InvalidArgument,
    /// naming what is wrong and never the password.
    pub fn parse(text: &str) -> Result<SharedCacheUrl, Error> {
        let text = text.trim();
        let invalid = |why: &str| {
            Error::InvalidArgument(format!(
                "shared cache URL {} is not usable: {why} (expected \
                 redis://[user:password@]host[:port][/db], rediss://… or unix:///path/to.sock)",
                shown_of(text)
            ))
        };
        let mut url = reqwest::Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(
            url.scheme(),
            "redis" | "rediss" | "valkey" | "valkeys" | "unix" | "redis+unix"
        ) {
            return Err(invalid("the scheme must be redis, rediss or unix"));
        }
        let mut settings = Settings {
            redis_url: String::new(),
            timeout: DEFAULT_TIMEOUT,
            lock_wait: DEFAULT_LOCK_WAIT,
            tag_max_age: DEFAULT_TAG_MAX_AGE,
            shown: shown_of(text),
        };
        let mut kept = Vec::new();
        for (name, value) in url.query_pairs() {
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| invalid(&format!("{name} must be a whole number, got {value:?}")))
            };
            match name.as_ref() {
                "timeout_ms" => settings.timeout = Duration::from_millis(number()?.max(1)),
                "lock_wait_ms" => settings.lock_wait = Duration::from_millis(number()?),
                "tag_max_age_s" => settings.tag_max_age = Duration::from_secs(number()?.max(1)),
                known if REDIS_PARAMETERS.contains(&known) => {
                    kept.push((name.into_owned(), value.into_owned()))
                }
                other => {
                    return Err(invalid(&format!(
                        "unknown parameter {other:?} (known: timeout_ms, lock_wait_ms, \
                         tag_max_age_s, protocol, db, user, pass)"
                    )));
                }
            }
        }
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        settings.redis_url = url.to_string();
        redis::ConnectionInfo::from_str(&settings.redis_url)
            .map_err(|e| invalid(&e.to_string()))?;
        Ok(SharedCacheUrl {
            text: text.to_owned(),
            settings,
        })
    }

    /// The URL as given (password included): for a caller's own configuration only.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }
}

/// `scheme://[user@]host[:port][/path]`: no password, no query (which may hold `pass=`).
fn shown_of(text: &str) -> String {
    let Ok(url) = reqwest::Url::parse(text) else {
        return "(unparsable)".to_owned();
    };
    let user = match url.username() {
        "" => String::new(),
        name => format!("{name}@"),
    };
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = match url.path() {
        "/" => "",
        path => path,
    };
    format!("{}://{user}{host}{port}{path}", url.scheme())
}

impl fmt::Display for SharedCacheUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.settings.shown)
    }
}

impl fmt::Debug for SharedCacheUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedCacheUrl({})", self.settings.shown)
    }
}

impl FromStr for SharedCacheUrl {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SharedCacheUrl::parse(text)
    }
}

impl Serialize for SharedCacheUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for SharedCacheUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SharedCacheUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_parameters_and_defaults() {
        let url = SharedCacheUrl::parse("redis://cache.internal:6380/2").unwrap();
        let s = url.settings();
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        assert_eq!(s.lock_wait, DEFAULT_LOCK_WAIT);
        assert_eq!(s.redis_url, "redis://cache.internal:6380/2");
        let tuned = SharedCacheUrl::parse(
            "rediss://cache:6379/0?timeout_ms=20&protocol=resp3&lock_wait_ms=0&tag_max_age_s=60",
        )
        .unwrap();
        let s = tuned.settings();
        assert_eq!(s.timeout, Duration::from_millis(20));
        assert_eq!(s.lock_wait, Duration::ZERO);
        assert_eq!(s.tag_max_age, Duration::from_secs(60));
        assert_eq!(s.redis_url, "rediss://cache:6379/0?protocol=resp3");
        let unix = SharedCacheUrl::parse("unix:///run/redis/redis.sock?db=1").unwrap();
        assert_eq!(unix.to_string(), "unix:///run/redis/redis.sock");
    }

    #[test]
    fn unusable_urls_are_invalid_arguments_that_never_show_the_password() {
        for (text, says) in [
            ("http://cache:6379", "scheme"),
            (
                "redis://:hunter2@cache:6379/?timeout=5",
                "unknown parameter \"timeout\"",
            ),
            (
                "redis://:hunter2@cache:6379/?timeout_ms=soon",
                "whole number",
            ),
            ("redis://:hunter2@cache:6379/notadb", "database"),
            ("not a url hunter2", "relative URL"),
        ] {
            let error = SharedCacheUrl::parse(text).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidArgument, "{text}");
            let shown = error.to_string();
            assert!(shown.contains(says), "{text}: {shown}");
            assert!(!shown.contains("hunter2"), "{text}: {shown}");
        }
    }

    #[test]
    fn debug_display_and_errors_hide_the_password() {
        for text in [
            "redis://alice:hunter2@cache:6379/0",
            "redis://:hunter2@cache:6379",
            "unix:///run/redis.sock?user=alice&pass=hunter2",
        ] {
            let url = SharedCacheUrl::parse(text).unwrap();
            for shown in [format!("{url:?}"), url.to_string()] {
                assert!(!shown.contains("hunter2"), "{shown}");
                assert!(
                    shown.contains("cache") || shown.contains("redis.sock"),
                    "{shown}"
                );
            }
            assert_eq!(url.as_str(), text);
        }
        let url = SharedCacheUrl::parse("redis://alice:hunter2@cache:6379/0").unwrap();
        assert_eq!(url.to_string(), "redis://alice@cache:6379/0");
    }

    #[test]
    fn json_is_the_text_and_a_bad_url_is_a_json_error() {
        let url: SharedCacheUrl = serde_json::from_str("\"redis://cache:6379\"").unwrap();
        assert_eq!(
            serde_json::to_string(&url).unwrap(),
            "\"redis://cache:6379\""
        );
        let error = serde_json::from_str::<SharedCacheUrl>("\"ftp://cache\"").unwrap_err();
        assert!(error.to_string().contains("scheme"), "{error}");
    }
}
