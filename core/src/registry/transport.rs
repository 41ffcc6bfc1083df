//! The HTTP exchange under the registry client and the token negotiation alike: bodies read
//! within a bound, transport errors as a cause kind and one line of text, and the URL facts
//! messages and redirect checks need.

use bytes::{Bytes, BytesMut};

use crate::error::{CauseKind, DigestCause};

/// Read at most `limit` bytes of a body; more is an error, not a truncation.
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
    what: &str,
) -> Result<Bytes, DigestCause> {
    let too_big = || {
        DigestCause::new(
            CauseKind::InvalidResponse,
            format!("{what} is larger than the {limit}-byte limit"),
        )
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        DigestCause::new(
            transport_kind(&e),
            format!("reading {what}: {}", describe_transport(&e)),
        )
    })? {
        if body.len() + chunk.len() > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

pub(crate) fn transport_kind(e: &reqwest::Error) -> CauseKind {
    if e.is_timeout() {
        CauseKind::Timeout
    } else if e.is_redirect() || e.is_decode() {
        CauseKind::InvalidResponse
    } else {
        CauseKind::Network
    }
}

/// A transport error as one line, with its source chain (reqwest's own text is terse).
pub(crate) fn describe_transport(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else if e.is_redirect() {
        "too many redirects".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Whether a response came from the origin (scheme, host, port) the request was sent to, or
/// from somewhere a redirect led.
pub(crate) fn same_origin(sent: &str, answered: &reqwest::Url) -> bool {
    reqwest::Url::parse(sent).is_ok_and(|sent| sent.origin() == answered.origin())
}

/// URLs carry no secrets here, but strip any query just in case a future caller adds one.
pub(crate) fn redact_url(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}
