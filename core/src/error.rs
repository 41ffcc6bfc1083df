//! The error every public call returns, and the stable kinds that every binding maps to.
//!
//! Messages are for people: they say what failed and what to do next. They never contain
//! credentials or tokens.

use std::fmt;

use crate::reference::ReferenceError;

/// The stable error kinds. The numeric codes are part of the C ABI; never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorKind {
    /// The input is not a reference of an accepted form.
    InvalidReference = 1,
    /// The engine could not produce a digest; callers fall back to the tag.
    DigestUnavailable = 2,
    /// A rule matched and its signature check failed.
    VerificationFailed = 3,
    /// A deny rule matched.
    Denied = 4,
    /// Rules or trust root cannot be loaded.
    InvalidPolicy = 5,
    /// The caller cancelled the call.
    Cancelled = 6,
    /// An argument other than the reference is unusable (an unknown engine name, say).
    InvalidArgument = 7,
}

impl ErrorKind {
    /// The kind's name as the CLI's `--json` output and every binding spell it.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidReference => "InvalidReference",
            ErrorKind::DigestUnavailable => "DigestUnavailable",
            ErrorKind::VerificationFailed => "VerificationFailed",
            ErrorKind::Denied => "Denied",
            ErrorKind::InvalidPolicy => "InvalidPolicy",
            ErrorKind::Cancelled => "Cancelled",
            ErrorKind::InvalidArgument => "InvalidArgument",
        }
    }

    /// The stable numeric code (C ABI).
    pub const fn code(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

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

/// The cause carried by [`Error::DigestUnavailable`]: a kind to act on and a detail for people.
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

/// Every failure of the library. `Clone` so that one upstream answer can be shared by every
/// caller waiting on it (single-flight).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    InvalidReference(#[from] ReferenceError),

    #[error("digest unavailable for {reference} (engine {engine}): {cause}")]
    DigestUnavailable {
        reference: String,
        engine: String,
        cause: DigestCause,
    },

    #[error("verification failed for {reference}: {reason}")]
    VerificationFailed { reference: String, reason: String },

    #[error("{reference} is denied by rule {rule_index} ({pattern})")]
    Denied {
        reference: String,
        rule_index: usize,
        pattern: String,
    },

    #[error("invalid policy: {0}")]
    InvalidPolicy(String),

    #[error("cancelled")]
    Cancelled,

    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidReference(_) => ErrorKind::InvalidReference,
            Error::DigestUnavailable { .. } => ErrorKind::DigestUnavailable,
            Error::VerificationFailed { .. } => ErrorKind::VerificationFailed,
            Error::Denied { .. } => ErrorKind::Denied,
            Error::InvalidPolicy(_) => ErrorKind::InvalidPolicy,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
        }
    }

    /// The cause of a [`Error::DigestUnavailable`], if this is one.
    pub fn digest_cause(&self) -> Option<&DigestCause> {
        match self {
            Error::DigestUnavailable { cause, .. } => Some(cause),
            _ => None,
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
