//! Why an engine could not give a digest: the cause a [`crate::Error::DigestUnavailable`]
//! carries, and its stable kinds.

use std::fmt;

/// Why an engine could not give a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CauseKind {
    /// The registry (or daemon) does not know the repository or tag.
    NotFound,
    /// Credentials were missing or refused.
    Unauthorized,
    /// The registry refused because of rate limits (HTTP 429).
    RateLimited,
    /// The connection failed (refused, reset, DNS, TLS).
    Network,
    /// The request took longer than the configured timeout.
    Timeout,
    /// The engine has no way to know a digest before a run (kubernetes).
    NoDigestSource,
    /// The server answered something unusable: a digest that does not match the content,
    /// malformed JSON, an oversized body, a missing header with no fallback.
    InvalidResponse,
    /// The engine itself failed (a custom engine's error, a daemon error).
    Engine,
}

impl CauseKind {
    /// Short lowercase name, used in messages and in bindings.
    pub const fn name(self) -> &'static str {
        match self {
            CauseKind::NotFound => "not found",
            CauseKind::Unauthorized => "unauthorized",
            CauseKind::RateLimited => "rate limited",
            CauseKind::Network => "network",
            CauseKind::Timeout => "timeout",
            CauseKind::NoDigestSource => "no digest source",
            CauseKind::InvalidResponse => "invalid response",
            CauseKind::Engine => "engine error",
        }
    }
}

impl fmt::Display for CauseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The cause carried by [`crate::Error::DigestUnavailable`]: a kind to act on and a detail for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCause {
    pub kind: CauseKind,
    pub detail: String,
}

impl DigestCause {
    pub fn new(kind: CauseKind, detail: impl Into<String>) -> Self {
        DigestCause {
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for DigestCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for DigestCause {}
