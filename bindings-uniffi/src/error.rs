//! The one error type every exported call returns: the stable kinds of DESIGN.md's Errors table,
//! mapped from the core's rich error. There is deliberately no catch-all variant.
//!
//! Field names avoid `message` and `cause`: Kotlin exceptions already have both
//! (`Throwable.message`, `Throwable.cause`), and a generated field of either name would not
//! compile. `reason` is the full human-readable text (the core error's Display).

use imagecheck::{Error, ErrorKind};

/// Why an engine could not give a digest (the cause carried by
/// [`ImageCheckError::DigestUnavailable`]; core's `CauseKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
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
    /// The server answered something unusable.
    InvalidResponse,
    /// The engine itself failed (a daemon error, a custom engine's error).
    Engine,
}

impl From<imagecheck::CauseKind> for CauseKind {
    fn from(kind: imagecheck::CauseKind) -> Self {
        use imagecheck::CauseKind as Core;
        match kind {
            Core::NotFound => CauseKind::NotFound,
            Core::Unauthorized => CauseKind::Unauthorized,
            Core::RateLimited => CauseKind::RateLimited,
            Core::Network => CauseKind::Network,
            Core::Timeout => CauseKind::Timeout,
            Core::NoDigestSource => CauseKind::NoDigestSource,
            Core::InvalidResponse => CauseKind::InvalidResponse,
            Core::Engine => CauseKind::Engine,
        }
    }
}

/// One signature candidate a failed verification checked: where it was found (`referrers`,
/// `referrers_tag`, `legacy_tag`), the check it failed (`wrong_key`, `identity_mismatch`, …:
/// stable names) and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CandidateFailure {
    pub source: String,
    pub check: String,
    pub message: String,
}

/// Every failure of imagecheck, by stable kind. `reason` says what failed and what to do; it
/// never contains credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ImageCheckError {
    /// The input is not a reference of an accepted form.
    #[error("{reason}")]
    InvalidReference { reason: String },
    /// The engine could not give a digest; callers of resolve fall back to the tag.
    #[error("{reason}")]
    DigestUnavailable {
        cause_kind: CauseKind,
        reason: String,
    },
    /// A rule matched and its signature check failed; `failures` lists each candidate checked.
    #[error("{reason}")]
    VerificationFailed {
        reason: String,
        failures: Vec<CandidateFailure>,
    },
    /// A deny rule matched.
    #[error("{reason}")]
    Denied { reason: String },
    /// Rules or trust root cannot be loaded.
    #[error("{reason}")]
    InvalidPolicy { reason: String },
    /// An argument other than the reference is unusable (an unknown engine name, say).
    #[error("{reason}")]
    InvalidArgument { reason: String },
    /// The call was cancelled.
    #[error("{reason}")]
    Cancelled { reason: String },
}

impl From<Error> for ImageCheckError {
    fn from(error: Error) -> Self {
        let reason = error.to_string();
        match error.kind() {
            ErrorKind::InvalidReference => ImageCheckError::InvalidReference { reason },
            ErrorKind::DigestUnavailable => ImageCheckError::DigestUnavailable {
                cause_kind: error
                    .digest_cause()
                    .map_or(CauseKind::Engine, |c| c.kind.into()),
                reason,
            },
            ErrorKind::VerificationFailed => ImageCheckError::VerificationFailed {
                reason,
                failures: error
                    .failures()
                    .iter()
                    .map(|c| CandidateFailure {
                        source: c.source.name().to_owned(),
                        check: c.failure.check().to_owned(),
                        message: c.failure.to_string(),
                    })
                    .collect(),
            },
            ErrorKind::Denied => ImageCheckError::Denied { reason },
            ErrorKind::InvalidPolicy => ImageCheckError::InvalidPolicy { reason },
            ErrorKind::InvalidArgument => ImageCheckError::InvalidArgument { reason },
            ErrorKind::Cancelled => ImageCheckError::Cancelled { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_unavailable_keeps_its_cause() {
        let core = Error::DigestUnavailable {
            reference: "r".into(),
            engine: "registry".into(),
            cause: imagecheck::DigestCause::new(imagecheck::CauseKind::Unauthorized, "401"),
        };
        let text = core.to_string();
        assert_eq!(
            ImageCheckError::from(core),
            ImageCheckError::DigestUnavailable {
                cause_kind: CauseKind::Unauthorized,
                reason: text
            }
        );
    }

    #[test]
    fn every_kind_maps_to_its_variant() {
        let cases = [
            (
                Error::from(imagecheck::verify::TrustedRootError("p".into())),
                "InvalidPolicy",
            ),
            (Error::InvalidArgument("a".into()), "InvalidArgument"),
            (Error::Cancelled, "Cancelled"),
            (
                Error::VerificationFailed {
                    reference: "r".into(),
                    failure: imagecheck::verify::VerificationFailure::Unreadable(
                        imagecheck::DigestCause::new(imagecheck::CauseKind::Network, "x"),
                    ),
                },
                "VerificationFailed",
            ),
            (
                Error::Denied {
                    reference: "r".into(),
                    rule_index: 0,
                    pattern: "*".into(),
                },
                "Denied",
            ),
        ];
        for (core, name) in cases {
            let mapped = format!("{:?}", ImageCheckError::from(core));
            assert!(mapped.starts_with(name), "{mapped}");
        }
    }
}
