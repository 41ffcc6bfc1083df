//! When a registry says "not now" (HTTP 429, or 503 with a `Retry-After`): how long to wait
//! before asking again, whether the call has time for it, and what to tell people when it
//! has not. Pure functions of the answer and the clock; the waiting itself is the client's.

use std::hash::BuildHasher as _;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Retries of one request after a rate-limit answer, unless configured otherwise.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// The first backoff step when the registry names no time (doubled on each retry).
const BACKOFF_BASE: Duration = Duration::from_millis(250);
/// The longest backoff step chosen without a `Retry-After`.
const BACKOFF_CAP: Duration = Duration::from_secs(8);
/// A named wait is stretched by up to this fraction, at most [`MAX_SPREAD`], so that clients
/// refused together do not all come back in the same instant.
const SPREAD_FRACTION: f64 = 0.1;
const MAX_SPREAD: Duration = Duration::from_secs(1);
/// `RateLimit-Remaining` at or under this share of `RateLimit-Limit` (or this count, when no
/// limit is given) is logged.
const LOW_REMAINING_SHARE: f64 = 0.1;
const LOW_REMAINING_COUNT: u64 = 10;

/// A rate-limit answer: the status and what the registry said about when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Throttled {
    pub(crate) status: u16,
    /// The `Retry-After`, as a wait from when the answer came (a date in the past is zero).
    pub(crate) retry_after: Option<Duration>,
}

/// Whether `status` with `headers` is a rate-limit answer worth waiting for: any 429, and a 503
/// that names a `Retry-After` (a 503 without one is an outage, not a request to slow down).
pub(crate) fn throttled(
    status: StatusCode,
    headers: &HeaderMap,
    now: SystemTime,
) -> Option<Throttled> {
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now));
    match status.as_u16() {
        429 => Some(Throttled {
            status: 429,
            retry_after,
        }),
        503 if retry_after.is_some() => Some(Throttled {
            status: 503,
            retry_after,
        }),
        _ => None,
    }
}

/// `Retry-After` (RFC 9110, 10.2.3): delay-seconds, or an HTTP-date (then the wait from `now`,
/// zero for a date already past). None for anything else.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is "a very long time", not garbage.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How long to wait before retry number `retry` (0 for the first): the registry's
/// `Retry-After`, spread a little, or else exponential backoff with jitter (half the step
/// fixed, half random), bounded by [`BACKOFF_CAP`].
pub(crate) fn wait_before(retry: u32, retry_after: Option<Duration>) -> Duration {
    let unit = random_unit();
    match retry_after {
        Some(named) => {
            let spread = named.mul_f64(SPREAD_FRACTION).min(MAX_SPREAD);
            named.saturating_add(spread.mul_f64(unit))
        }
        None => {
            let step = BACKOFF_BASE
                .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
                .min(BACKOFF_CAP);
            step / 2 + (step / 2).mul_f64(unit)
        }
    }
}

/// A number in [0, 1) that differs between calls and processes (jitter, not cryptography).
fn random_unit() -> f64 {
    static SEED: LazyLock<foldhash::fast::RandomState> =
        LazyLock::new(foldhash::fast::RandomState::default);
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let bits = SEED.hash_one(CALLS.fetch_add(1, Ordering::Relaxed));
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// "retry after 7 s", "retry after Tue, 01 Dec 2026 10:00:00 GMT (in 3600 s)", or, with no
/// `Retry-After`, "retry later": the part of a message that says when to come back.
pub(crate) fn when_to_retry(retry_after: Option<Duration>, now: SystemTime) -> String {
    match retry_after {
        None => "the registry named no time; retry later".to_owned(),
        Some(wait) if wait < Duration::from_secs(120) => {
            format!("retry after {} s", seconds(wait))
        }
        Some(wait) => match now.checked_add(wait) {
            Some(at) => format!(
                "retry after {} (in {} s)",
                httpdate::fmt_http_date(at),
                seconds(wait)
            ),
            None => format!("retry after {} s", seconds(wait)),
        },
    }
}

/// Whole seconds, rounded up (a wait of 0.2 s is "1 s", never "0 s").
fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Log at debug level when the registry says few requests are left in its window (Docker Hub's
/// `RateLimit-Remaining: 76;w=21600` beside `RateLimit-Limit: 100;w=21600`).
pub(crate) fn note_remaining(host: &str, headers: &HeaderMap) {
    let count = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let Some(remaining) = count("ratelimit-remaining") else {
        return;
    };
    let limit = count("ratelimit-limit");
    let low = match limit {
        Some(limit) if limit > 0 => (remaining as f64) <= (limit as f64) * LOW_REMAINING_SHARE,
        _ => remaining <= LOW_REMAINING_COUNT,
    };
    if low {
        tracing::debug!(
            host,
            remaining,
            limit,
            "registry rate limit nearly spent: {remaining} requests left in its window"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = at(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(at(1_700_000_090));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(90))
        );
        let past = httpdate::fmt_http_date(at(1_600_000_000));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        for garbage in ["", "-1", "1.5", "soon", "7s"] {
            assert_eq!(parse_retry_after(garbage, now), None, "{garbage:?}");
        }
    }

    #[test]
    fn only_429_and_a_503_naming_a_time_are_throttling() {
        let now = at(1_700_000_000);
        let mut headers = HeaderMap::new();
        assert!(throttled(StatusCode::TOO_MANY_REQUESTS, &headers, now).is_some());
        assert!(throttled(StatusCode::SERVICE_UNAVAILABLE, &headers, now).is_none());
        assert!(throttled(StatusCode::INTERNAL_SERVER_ERROR, &headers, now).is_none());
        headers.insert(RETRY_AFTER, "3".parse().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(
            throttled(StatusCode::SERVICE_UNAVAILABLE, &headers, now),
            Some(Throttled {
                status: 503,
                retry_after: Some(Duration::from_secs(3))
            })
        );
    }

    #[test]
    fn waits_are_bounded_and_jittered() {
        for retry in 0..40 {
            let wait = wait_before(retry, None);
            let step = BACKOFF_BASE
                .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
                .min(BACKOFF_CAP);
            assert!(wait >= step / 2 && wait <= step, "{retry}: {wait:?}");
        }
        let named = Duration::from_secs(5);
        let waits: Vec<Duration> = (0..20).map(|_| wait_before(0, Some(named))).collect();
        assert!(
            waits
                .iter()
                .all(|w| *w >= named && *w <= named + Duration::from_millis(500))
        );
        assert!(
            waits.windows(2).any(|w| w[0] != w[1]),
            "no jitter: {waits:?}"
        );
        let long = wait_before(0, Some(Duration::from_secs(3600)));
        assert!(long <= Duration::from_secs(3601), "{long:?}");
    }

    #[test]
    fn the_message_says_when() {
        let now = at(1_700_000_000);
        assert_eq!(
            when_to_retry(Some(Duration::from_millis(200)), now),
            "retry after 1 s"
        );
        assert_eq!(
            when_to_retry(Some(Duration::from_secs(3600)), now),
            "retry after Tue, 14 Nov 2023 23:13:20 GMT (in 3600 s)"
        );
        assert!(when_to_retry(None, now).contains("retry later"));
    }
}
