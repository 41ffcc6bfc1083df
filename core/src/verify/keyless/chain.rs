//! A signing certificate's chain to a certificate authority of the trust root, valid at the
//! signing times.
//!
//! Chains are built from the trust root only: a chain shipped beside the signature (the
//! `dev.sigstore.cosign/chain` annotation, a bundle's `x509CertificateChain`) is never trusted
//! for anything (as in sigstore-go). Each CA's own chain was checked once, when the trust root
//! was loaded ([`super::certificate::ca_chain_verifies`]); here only the leaf is.

use super::certificate::{Cert, Purpose};
use crate::verify::trusted_root::CertificateAuthority;

/// Why a chain was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// No CA of the trust root issued the certificate (or the chain does not verify).
    Untrusted(String),
    /// A CA issued it, but a signing time falls outside the validity of a certificate or of
    /// the CA's `validFor` window.
    OutsideValidity(String),
}

/// Find the trust-root CA whose chain issued `leaf` (signatures checked up to a self-signed
/// root), every certificate of which permits `purpose`, and check that every time in `times`
/// lies within the validity of the leaf, of every CA certificate and of the CA's `validFor`.
/// Returns the issuing certificate (the SCT check needs its key).
///
/// A code-signing leaf must name code signing; a TSA leaf's stricter rule (RFC 3161: that
/// purpose alone, critical) is checked by the caller, which has the token.
pub(crate) fn verify_chain(
    leaf: &Cert,
    authorities: &[CertificateAuthority],
    times: &[i64],
    purpose: Purpose,
) -> Result<Cert, ChainError> {
    if leaf.is_ca() {
        return Err(ChainError::Untrusted(
            "the signing certificate is a CA certificate".into(),
        ));
    }
    if purpose == Purpose::CodeSigning && !leaf.has_code_signing() {
        return Err(ChainError::Untrusted(
            "the signing certificate is not for code signing".into(),
        ));
    }
    let mut outside = None;
    let mut not_permitted = None;
    for ca in authorities {
        let chain = &ca.certs;
        if !chain_verifies(leaf, ca) {
            continue;
        }
        if !chain.iter().all(|c| c.permits(purpose)) {
            not_permitted = Some(format!(
                "a certificate of CA {} has an extended key usage without {}",
                ca.uri,
                purpose.name()
            ));
            continue;
        }
        let bad_time = times.iter().find(|&&t| {
            !ca.valid_for.contains(t) || !leaf.valid_at(t) || chain.iter().any(|c| !c.valid_at(t))
        });
        match bad_time {
            None => return Ok(chain[0].clone()),
            Some(t) => {
                let what = if !leaf.valid_at(*t) {
                    format!(
                        "signed at {t}, outside the certificate's validity {}..{}",
                        leaf.not_before, leaf.not_after
                    )
                } else {
                    format!("signed at {t}, outside the validity of CA {}", ca.uri)
                };
                outside = Some(what);
            }
        }
    }
    Err(match (outside, not_permitted) {
        (Some(what), _) => ChainError::OutsideValidity(what),
        (None, Some(what)) => ChainError::Untrusted(what),
        (None, None) => ChainError::Untrusted(
            "the signing certificate does not chain to a certificate authority of the trust root"
                .into(),
        ),
    })
}

fn chain_verifies(leaf: &Cert, ca: &CertificateAuthority) -> bool {
    let Some(first) = ca.certs.first() else {
        return false;
    };
    ca.chain_verified && leaf.issuer == first.subject && leaf.signed_by(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::trusted_root::TrustedRoot;

    /// The SET of 2026-02-06 (GHA v0.0.14) verifies, but the email certificate expired on
    /// 2026-02-05: build a Rekor annotation whose SET is genuine but for an entry whose body
    /// describes this signature is impossible without the log key, so test the chain function
    /// directly at a time outside the leaf's 10 minutes.
    #[test]
    fn signed_outside_the_leaf_validity_fails_the_validity_check_only() {
        let leaf = super::super::test_certificates::fulcio_email_leaf();
        let root = TrustedRoot::public_good();
        verify_chain(
            &leaf,
            root.certificate_authorities(),
            &[leaf.not_before + 24],
            Purpose::CodeSigning,
        )
        .unwrap();
        for t in [leaf.not_before - 1, leaf.not_after + 1] {
            assert!(matches!(
                verify_chain(
                    &leaf,
                    root.certificate_authorities(),
                    &[t],
                    Purpose::CodeSigning
                ),
                Err(ChainError::OutsideValidity(_))
            ));
        }
    }

    /// Public good's Fulcio intermediates restrict themselves to code signing (as cosign's
    /// chain check requires): they stand on a code-signing chain, never on a TSA chain.
    #[test]
    fn fulcio_ca_certificates_permit_code_signing_and_only_that_when_they_say_so() {
        let root = TrustedRoot::public_good();
        let certs: Vec<&Cert> = root
            .certificate_authorities()
            .iter()
            .flat_map(|ca| &ca.certs)
            .collect();
        assert!(certs.iter().all(|c| c.permits(Purpose::CodeSigning)));
        assert!(certs.iter().any(|c| !c.permits(Purpose::TimeStamping)));
    }
}
