//! imagecheck's stable error kinds on the wire (proto/imagecheck/v1/imagecheck.proto): one
//! gRPC status code per kind, the kind's name (and a digest cause) in trailing metadata, and
//! `KIND: message` as the status message. The daemon encodes with [`to_status`]; the CLI and
//! the containerd verifier decode with [`ErrorReport::from_status`].

use imagecheck::{Error, ErrorKind};
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};

/// Trailing metadata key holding the error kind's name.
pub(crate) const KIND_KEY: &str = "imagecheck-error-kind";
/// Trailing metadata key holding a DigestUnavailable error's cause (`not found`, …).
pub(crate) const CAUSE_KEY: &str = "imagecheck-error-cause";
/// Trailing binary metadata key holding a VerificationFailed error's candidates, as the JSON
/// array the CLI's `--json` prints (binary: messages are UTF-8, not ASCII).
pub(crate) const FAILURES_KEY: &str = "imagecheck-error-failures-bin";

const KINDS: [ErrorKind; 7] = [
    ErrorKind::InvalidReference,
    ErrorKind::DigestUnavailable,
    ErrorKind::VerificationFailed,
    ErrorKind::Denied,
    ErrorKind::InvalidPolicy,
    ErrorKind::Cancelled,
    ErrorKind::InvalidArgument,
];

/// The status code an error of `kind` is sent with.
pub(crate) fn code_for(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::InvalidReference | ErrorKind::InvalidArgument => Code::InvalidArgument,
        ErrorKind::DigestUnavailable => Code::Unavailable,
        ErrorKind::VerificationFailed | ErrorKind::Denied => Code::PermissionDenied,
        ErrorKind::InvalidPolicy => Code::FailedPrecondition,
        ErrorKind::Cancelled => Code::Cancelled,
    }
}

/// The status for a library error, as the imagecheck.v1 services send it.
pub(crate) fn to_status(error: &Error) -> Status {
    let kind = error.kind();
    let mut status = Status::new(code_for(kind), format!("{}: {error}", kind.name()));
    let metadata = status.metadata_mut();
    metadata.insert(KIND_KEY, MetadataValue::from_static(kind.name()));
    if let Some(cause) = error.digest_cause()
        && let Ok(value) = MetadataValue::try_from(cause.kind.name())
    {
        metadata.insert(CAUSE_KEY, value);
    }
    if kind == ErrorKind::VerificationFailed
        && let Ok(json) = serde_json::to_vec(&ErrorReport::from(error).failures)
    {
        metadata.insert_bin(FAILURES_KEY, MetadataValue::from_bytes(&json));
    }
    status
}

/// A library error as the CLI prints it, from the library itself or received from the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorReport {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
    /// A DigestUnavailable error's cause, by name.
    pub(crate) cause: Option<String>,
    /// A VerificationFailed error's candidates.
    pub(crate) failures: Vec<FailureReport>,
}

/// One candidate of a VerificationFailed error: `{"source", "check", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct FailureReport {
    pub(crate) source: String,
    pub(crate) check: String,
    pub(crate) message: String,
}

impl From<&Error> for ErrorReport {
    fn from(error: &Error) -> Self {
        ErrorReport {
            kind: error.kind(),
            message: error.to_string(),
            cause: error.digest_cause().map(|c| c.kind.name().to_owned()),
            failures: error
                .failures()
                .iter()
                .map(|c| FailureReport {
                    source: c.source.name().to_owned(),
                    check: c.failure.check().to_owned(),
                    message: c.failure.to_string(),
                })
                .collect(),
        }
    }
}

impl ErrorReport {
    /// A report made by the CLI itself (no library error behind it).
    pub(crate) fn new(kind: ErrorKind, message: String) -> Self {
        ErrorReport {
            kind,
            message,
            cause: None,
            failures: Vec::new(),
        }
    }
}

impl ErrorReport {
    /// The library error a status carries; None for a status from the transport or the
    /// daemon's bounds (no kind in its metadata).
    pub(crate) fn from_status(status: &Status) -> Option<ErrorReport> {
        let name = status.metadata().get(KIND_KEY)?.to_str().ok()?;
        let kind = KINDS.into_iter().find(|k| k.name() == name)?;
        let message = status.message();
        let message = message
            .strip_prefix(name)
            .and_then(|m| m.strip_prefix(": "))
            .unwrap_or(message)
            .to_owned();
        let cause = status
            .metadata()
            .get(CAUSE_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let failures = status
            .metadata()
            .get_bin(FAILURES_KEY)
            .and_then(|v| v.to_bytes().ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Some(ErrorReport {
            kind,
            message,
            cause,
            failures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecheck::verify::{
        CandidateFailure, DiscoveryReport, FailedCandidate, SignatureSource, TrustedRootError,
        VerificationFailure,
    };
    use imagecheck::{CauseKind, DigestCause};

    #[test]
    fn every_kind_survives_the_wire() {
        let errors = [
            Error::DigestUnavailable {
                reference: "example.com/app:v1".into(),
                engine: "registry".into(),
                cause: DigestCause::new(CauseKind::NotFound, "HEAD …: 404"),
            },
            Error::VerificationFailed {
                reference: "example.com/app:v1".into(),
                failure: VerificationFailure::Rejected {
                    rule: "rule 0 (image \"example.com/*\")".into(),
                    candidates: vec![FailedCandidate {
                        source: SignatureSource::LegacyTag,
                        failure: CandidateFailure::WrongKey,
                    }],
                    discovery: DiscoveryReport::default(),
                },
            },
            Error::Denied {
                reference: "example.com/app:v1".into(),
                rule_index: 2,
                pattern: "example.com/*".into(),
            },
            Error::from(TrustedRootError("no tlogs".into())),
            Error::Cancelled,
            Error::InvalidArgument("unknown engine".into()),
        ];
        for error in errors {
            let status = to_status(&error);
            assert_eq!(status.code(), code_for(error.kind()));
            let back = ErrorReport::from_status(&status).unwrap_or_else(|| panic!("{status:?}"));
            assert_eq!(back, ErrorReport::from(&error));
        }
        assert_eq!(
            KINDS.len(),
            7,
            "a new kind needs a code here and in the .proto"
        );
        assert_eq!(
            ErrorReport::from_status(&Status::deadline_exceeded("late")),
            None,
            "a transport status is not a library error"
        );
    }
}
