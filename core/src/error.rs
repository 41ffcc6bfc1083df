//! The error every public call returns, and the stable kinds that every binding maps to.
//!
//! Messages are for people: they say what failed and what to do next. They never contain
//! credentials or tokens.

use std::fmt;

pub use crate::cause::{CauseKind, DigestCause};
use crate::reference::ReferenceError;
use crate::verify::{PolicyError, TrustedRootError, VerificationFailure};

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

    /// A rule matched and no signature satisfied it: why, typed ([`VerificationFailure`]:
    /// each candidate checked, with its source and the check it failed).
    #[error("verification failed for {reference}: {failure}")]
    VerificationFailed {
        reference: String,
        failure: VerificationFailure,
    },

    #[error("{reference} is denied by rule {rule_index} ({pattern})")]
    Denied {
        reference: String,
        rule_index: usize,
        pattern: String,
    },

    /// The rules or the trust root cannot be loaded; the typed reason is the `source()`.
    #[error("invalid policy: {0}")]
    InvalidPolicy(#[source] PolicyLoadError),

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

    /// The candidates a [`Error::VerificationFailed`] checked and why each failed (empty for
    /// other errors, and when the signature store could not be read).
    pub fn failures(&self) -> &[crate::verify::FailedCandidate] {
        match self {
            Error::VerificationFailed { failure, .. } => failure.candidates(),
            _ => &[],
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

/// Why rules or a trust root cannot be loaded: the `source()` of [`Error::InvalidPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyLoadError {
    /// The policy document: every problem found, each naming its rule and field.
    #[error(transparent)]
    Policy(PolicyError),
    /// The Sigstore trusted root file.
    #[error(transparent)]
    TrustedRoot(TrustedRootError),
}

impl From<PolicyError> for Error {
    fn from(error: PolicyError) -> Self {
        Error::InvalidPolicy(PolicyLoadError::Policy(error))
    }
}

/// A trust root that cannot be loaded is an `InvalidPolicy` error (DESIGN.md, Errors).
impl From<TrustedRootError> for Error {
    fn from(error: TrustedRootError) -> Self {
        Error::InvalidPolicy(PolicyLoadError::TrustedRoot(error))
    }
}
