//! Exit codes (DESIGN.md, CLI). With several references the highest code wins.

use imagecheck::ErrorKind;

pub(crate) const OK: u8 = 0;
pub(crate) const NOT_VERIFIED: u8 = 1;
pub(crate) const FAILED: u8 = 2;
pub(crate) const INVALID_INPUT: u8 = 3;
pub(crate) const RUNTIME: u8 = 4;

/// The exit code an error of `kind` contributes.
pub(crate) fn for_kind(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::VerificationFailed | ErrorKind::Denied => FAILED,
        ErrorKind::InvalidReference | ErrorKind::InvalidPolicy | ErrorKind::InvalidArgument => {
            INVALID_INPUT
        }
        ErrorKind::DigestUnavailable | ErrorKind::Cancelled => RUNTIME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ordered_by_severity_as_documented() {
        const _: () = assert!(
            OK < NOT_VERIFIED
                && NOT_VERIFIED < FAILED
                && FAILED < INVALID_INPUT
                && INVALID_INPUT < RUNTIME
        );
        assert_eq!(for_kind(ErrorKind::Denied), FAILED);
        assert_eq!(for_kind(ErrorKind::InvalidArgument), INVALID_INPUT);
        assert_eq!(for_kind(ErrorKind::DigestUnavailable), RUNTIME);
    }
}
