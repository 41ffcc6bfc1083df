//! What entries hold, and how a value read back is judged. Anyone who can write to the tier
//! can write anything under any key, so every value is parsed strictly and checked: a blob
//! must hash to the digest its key names, a tag entry must be a digest with a plausible time.
//! What fails is ignored (the node asks the registry) and counted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::digest::Digest;

/// How far in the future an entry's time may be (another node's clock running ahead) and
/// still count as just made. Further is a broken clock or a forged entry that would otherwise
/// look fresh to every caller until it expired.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// Milliseconds since the Unix epoch, now.
pub(crate) fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// How a value read from the tier answers the question asked.
#[derive(Debug)]
pub(crate) enum Verdict<T> {
    /// Well-formed and good enough for this caller.
    Accept(T),
    /// Well-formed, but older than this caller accepts.
    Stale,
    /// Not what imagecheck writes under this key: ignored and counted.
    Reject(&'static str),
}

impl<T> Verdict<T> {
    /// The accepted value converted by `f`; staleness and rejection kept.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Verdict<U> {
        match self {
            Verdict::Accept(value) => Verdict::Accept(f(value)),
            Verdict::Stale => Verdict::Stale,
            Verdict::Reject(why) => Verdict::Reject(why),
        }
    }
}

/// The age of something made at `made_ms`, seen at `now_ms`; None if it claims to be from
/// further in the future than [`CLOCK_SKEW`].
fn age(made_ms: u64, now_ms: u64) -> Option<Duration> {
    if made_ms > now_ms.saturating_add(CLOCK_SKEW.as_millis() as u64) {
        return None;
    }
    Some(Duration::from_millis(now_ms.saturating_sub(made_ms)))
}

/// A tag's digest with the time a registry gave it: `<unix ms> <digest>`.
pub(crate) fn tag_value(digest: &Digest, resolved_ms: u64) -> Vec<u8> {
    format!("{resolved_ms} {digest}").into_bytes()
}

/// Largest tag entry read (a digest and a time are about 90 bytes).
pub(crate) const MAX_TAG_VALUE: usize = 256;

/// A tag entry younger than `ttl` at `now_ms`: its digest and age.
pub(crate) fn tag_verdict(value: &[u8], ttl: Duration, now_ms: u64) -> Verdict<(Digest, Duration)> {
    let Some((made, digest)) = std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.split_once(' '))
    else {
        return Verdict::Reject("a tag entry is not `<time> <digest>`");
    };
    let (Ok(made), Ok(digest)) = (made.parse::<u64>(), Digest::parse(digest)) else {
        return Verdict::Reject("a tag entry holds no valid time and digest");
    };
    match age(made, now_ms) {
        None => Verdict::Reject("a tag entry is dated in the future"),
        Some(age) if age < ttl => Verdict::Accept((digest, age)),
        Some(_) => Verdict::Stale,
    }
}

/// A blob's bytes, accepted only if they hash to `digest`.
pub(crate) fn blob_verdict(value: &[u8], digest: &Digest) -> Verdict<Bytes> {
    if digest.matches(value) {
        Verdict::Accept(Bytes::copy_from_slice(value))
    } else {
        Verdict::Reject("a blob entry does not hash to the digest its key names")
    }
}

/// A signature listing (a referrers index, a `.sig` or referrers-tag manifest, or the
/// registry's "not found") with the time it was fetched: `<unix ms> <1|0>\n<body>`.
pub(crate) fn listing_value(listed_ms: u64, body: Option<&[u8]>) -> Vec<u8> {
    let mut value = format!("{listed_ms} {}\n", u8::from(body.is_some())).into_bytes();
    value.extend_from_slice(body.unwrap_or_default());
    value
}

/// A listing younger than `ttl`: the body, or None for "not found".
pub(crate) fn listing_verdict(value: &[u8], ttl: Duration, now_ms: u64) -> Verdict<Option<Bytes>> {
    let Some(newline) = value.iter().position(|b| *b == b'\n') else {
        return Verdict::Reject("a listing entry has no header line");
    };
    let header = std::str::from_utf8(&value[..newline]).unwrap_or_default();
    let body = &value[newline + 1..];
    let (made, present) = match header.split_once(' ') {
        Some((made, "1")) => (made, true),
        Some((made, "0")) if body.is_empty() => (made, false),
        _ => return Verdict::Reject("a listing entry's header is not `<time> <1|0>`"),
    };
    let Ok(made) = made.parse::<u64>() else {
        return Verdict::Reject("a listing entry's time is not a number");
    };
    match age(made, now_ms) {
        None => Verdict::Reject("a listing entry is dated in the future"),
        Some(age) if age < ttl => Verdict::Accept(present.then(|| Bytes::copy_from_slice(body))),
        Some(_) => Verdict::Stale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn accepted<T: std::fmt::Debug>(v: Verdict<T>) -> T {
        match v {
            Verdict::Accept(t) => t,
            other => panic!("not accepted: {other:?}"),
        }
    }

    #[test]
    fn a_tag_entry_is_fresh_within_the_callers_ttl_only() {
        let digest = Digest::sha256_of(b"image");
        let value = tag_value(&digest, NOW - 10_000);
        let ttl = Duration::from_secs(60);
        let (got, age) = accepted(tag_verdict(&value, ttl, NOW));
        assert_eq!((got, age), (digest.clone(), Duration::from_secs(10)));
        assert!(matches!(
            tag_verdict(&value, Duration::from_secs(10), NOW),
            Verdict::Stale
        ));
        assert!(matches!(
            tag_verdict(&value, Duration::ZERO, NOW),
            Verdict::Stale
        ));
        // Another node's clock a little ahead: age zero, not a rejection.
        let ahead = tag_value(&digest, NOW + 5_000);
        assert_eq!(accepted(tag_verdict(&ahead, ttl, NOW)).1, Duration::ZERO);
    }

    #[test]
    fn a_tag_entry_that_is_not_ours_is_rejected() {
        let digest = Digest::sha256_of(b"image");
        let future = tag_value(&digest, NOW + CLOCK_SKEW.as_millis() as u64 + 1);
        for value in [
            b"".to_vec(),
            b"sha256:abc".to_vec(),
            b"12 not-a-digest".to_vec(),
            format!("soon {digest}").into_bytes(),
            vec![0xff, 0x20, 0xfe],
            future,
        ] {
            assert!(
                matches!(tag_verdict(&value, Duration::MAX, NOW), Verdict::Reject(_)),
                "{value:?}"
            );
        }
    }

    #[test]
    fn a_blob_must_hash_to_its_digest() {
        let digest = Digest::sha256_of(b"payload");
        assert_eq!(&accepted(blob_verdict(b"payload", &digest))[..], b"payload");
        assert!(matches!(
            blob_verdict(b"payloaD", &digest),
            Verdict::Reject(_)
        ));
    }

    #[test]
    fn listings_round_trip_found_and_not_found_within_the_ttl() {
        let ttl = Duration::from_secs(30);
        let found = listing_value(NOW - 1_000, Some(b"{\"layers\":[]}\n2"));
        assert_eq!(
            accepted(listing_verdict(&found, ttl, NOW)).as_deref(),
            Some(&b"{\"layers\":[]}\n2"[..])
        );
        let absent = listing_value(NOW - 1_000, None);
        assert_eq!(accepted(listing_verdict(&absent, ttl, NOW)), None);
        assert!(matches!(
            listing_verdict(&absent, Duration::from_millis(999), NOW),
            Verdict::Stale
        ));
        for bad in [&b"no header"[..], b"1 2\n", b"x 1\n{}", b"5 0\nbody"] {
            assert!(
                matches!(listing_verdict(bad, ttl, NOW), Verdict::Reject(_)),
                "{bad:?}"
            );
        }
    }
}
