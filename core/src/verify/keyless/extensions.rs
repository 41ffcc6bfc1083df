//! Fulcio's certificate extensions (`1.3.6.1.4.1.57264.1.*`) read from a signing certificate
//! and matched against a keyless rule's `certificateExtensions`.
//!
//! Fulcio writes OIDs `.8`–`.22` as DER UTF8Strings and the deprecated GitHub ones `.2`–`.6`
//! as the raw string (sigstore-go's `ParseExtensions` reads them the same way). A value not
//! written so, an extension present twice, or two twins that disagree (see
//! [`CertificateExtension::twin`]) refuse the certificate: a rule that asks for a value never
//! passes on a value it cannot read for certain. Extensions the rule does not name are not read.

use x509_cert::spki::ObjectIdentifier;

use super::certificate::Cert;
use super::identity::{IdentityField, IdentityMismatch, IssuerError, oidc_issuer};
use super::tlv;
use crate::verify::policy::{CertificateExtension, ExtensionEncoding, ExtensionMatch};

/// Why an extension's value cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ExtensionError {
    /// A new-style extension that is not one DER UTF8String.
    #[error("certificate extension {name} ({oid}) is not a DER UTF8String")]
    NotUtf8String { name: &'static str, oid: String },
    /// The string is not UTF-8.
    #[error("certificate extension {name} ({oid}) is not UTF-8")]
    NotUtf8 { name: &'static str, oid: String },
    /// The certificate carries the extension more than once.
    #[error("certificate extension {name} ({oid}) appears more than once")]
    Repeated { name: &'static str, oid: String },
    /// An extension and its deprecated twin name different values.
    #[error("certificate extensions {name} and {twin} disagree ({value:?} and {twin_value:?})")]
    Disagree {
        name: &'static str,
        twin: &'static str,
        value: String,
        twin_value: String,
    },
    /// The issuer extensions cannot be read.
    #[error(transparent)]
    Issuer(IssuerError),
}

/// Why the certificate does not satisfy the rule's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExtensionCheckError {
    /// A required extension cannot be read.
    Malformed(ExtensionError),
    /// A required extension is absent or has another value.
    Mismatch(IdentityMismatch),
}

/// The value of `extension` written under its own OID, if present.
fn own_value(
    cert: &Cert,
    extension: CertificateExtension,
) -> Result<Option<String>, ExtensionError> {
    let oid_text = extension.oid();
    let oid = ObjectIdentifier::new(&oid_text).map_err(|_| ExtensionError::NotUtf8String {
        name: extension.name(),
        oid: oid_text.clone(),
    })?;
    let mut found = cert.extensions.iter().filter(|e| e.oid == oid);
    let Some(first) = found.next() else {
        return Ok(None);
    };
    let name = extension.name();
    if found.next().is_some() {
        return Err(ExtensionError::Repeated {
            name,
            oid: oid_text,
        });
    }
    let bytes = match extension.encoding() {
        ExtensionEncoding::Raw => first.value.as_slice(),
        ExtensionEncoding::DerUtf8String => match tlv::read(&first.value) {
            Ok((string, rest)) if string.tag == 0x0c && rest.is_empty() => string.value,
            _ => {
                return Err(ExtensionError::NotUtf8String {
                    name,
                    oid: oid_text,
                });
            }
        },
    };
    String::from_utf8(bytes.to_vec())
        .map(Some)
        .map_err(|_| ExtensionError::NotUtf8 {
            name,
            oid: oid_text,
        })
}

/// The certificate's value for `extension`: its own OID, else its twin's; the issuer as
/// `keyless.issuer` reads it (v2, else v1).
pub(crate) fn value(
    cert: &Cert,
    extension: CertificateExtension,
) -> Result<Option<String>, ExtensionError> {
    if extension == CertificateExtension::Issuer {
        return oidc_issuer(cert).map_err(ExtensionError::Issuer);
    }
    let own = own_value(cert, extension)?;
    let Some(twin) = extension.twin() else {
        return Ok(own);
    };
    match (own, own_value(cert, twin)?) {
        (Some(value), Some(twin_value)) if value != twin_value => Err(ExtensionError::Disagree {
            name: extension.name(),
            twin: twin.name(),
            value,
            twin_value,
        }),
        (Some(value), _) => Ok(Some(value)),
        (None, twin_value) => Ok(twin_value),
    }
}

/// Every required extension value, in the order written; the first that fails decides.
pub(crate) fn check(cert: &Cert, required: &[ExtensionMatch]) -> Result<(), ExtensionCheckError> {
    for requirement in required {
        let value = value(cert, requirement.extension()).map_err(ExtensionCheckError::Malformed)?;
        match value {
            Some(value) if requirement.matcher().matches(&value) => {}
            found => {
                return Err(ExtensionCheckError::Mismatch(IdentityMismatch {
                    field: IdentityField::Extension(requirement.extension()),
                    expected: requirement.describe(),
                    found: found.into_iter().collect(),
                }));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::keyless::certificate::Extension;
    use crate::verify::policy::{Policy, RuleAction};

    /// The leaf of the salrashid123 GitHub Actions signature: a real 2026 Fulcio certificate
    /// with every extension, new and deprecated.
    fn github_leaf() -> Cert {
        super::super::test_certificates::fulcio_github_leaf()
    }

    fn extensions_of(yaml_map: &str) -> Vec<ExtensionMatch> {
        let policy = Policy::parse(&format!(
            "- image: '*'\n  keyless:\n    issuer: i\n    subject: s\n    certificateExtensions: {yaml_map}\n"
        ))
        .unwrap();
        match policy.rules()[0].action() {
            RuleAction::Keyless(identity) => identity.extensions().to_vec(),
            other => panic!("{other:?}"),
        }
    }

    fn set(cert: &mut Cert, arc: u32, value: &[u8]) {
        let oid = ObjectIdentifier::new(&format!("1.3.6.1.4.1.57264.1.{arc}")).unwrap();
        cert.extensions.retain(|e| e.oid != oid);
        cert.extensions.push(Extension {
            oid,
            critical: false,
            value: value.to_vec(),
        });
    }

    fn remove(cert: &mut Cert, arc: u32) {
        let oid = ObjectIdentifier::new(&format!("1.3.6.1.4.1.57264.1.{arc}")).unwrap();
        cert.extensions.retain(|e| e.oid != oid);
    }

    /// Every name reads its value from the real certificate: the values GitHub Actions gave.
    #[test]
    fn every_extension_of_a_real_github_actions_certificate() {
        let cert = github_leaf();
        let repo = "https://github.com/salrashid123/go-bazel-github-workflow";
        let workflow = format!("{repo}/.github/workflows/release.yaml@refs/tags/v0.0.14");
        let sha = "291dab9af96caa83aef0968dc1f757039d3c166b";
        let expected: [(CertificateExtension, String); 20] = [
            (
                CertificateExtension::Issuer,
                "https://token.actions.githubusercontent.com".into(),
            ),
            (CertificateExtension::BuildSignerUri, workflow.clone()),
            (CertificateExtension::BuildSignerDigest, sha.into()),
            (
                CertificateExtension::RunnerEnvironment,
                "github-hosted".into(),
            ),
            (CertificateExtension::SourceRepositoryUri, repo.into()),
            (CertificateExtension::SourceRepositoryDigest, sha.into()),
            (
                CertificateExtension::SourceRepositoryRef,
                "refs/tags/v0.0.14".into(),
            ),
            (
                CertificateExtension::SourceRepositoryIdentifier,
                "1150755799".into(),
            ),
            (
                CertificateExtension::SourceRepositoryOwnerUri,
                "https://github.com/salrashid123".into(),
            ),
            (
                CertificateExtension::SourceRepositoryOwnerIdentifier,
                "11149054".into(),
            ),
            (CertificateExtension::BuildConfigUri, workflow),
            (CertificateExtension::BuildConfigDigest, sha.into()),
            (CertificateExtension::BuildTrigger, "push".into()),
            (
                CertificateExtension::RunInvocationUri,
                format!("{repo}/actions/runs/21754308976/attempts/1"),
            ),
            (
                CertificateExtension::SourceRepositoryVisibilityAtSigning,
                "public".into(),
            ),
            (CertificateExtension::GithubWorkflowTrigger, "push".into()),
            (CertificateExtension::GithubWorkflowSha, sha.into()),
            (CertificateExtension::GithubWorkflowName, "Release".into()),
            (
                CertificateExtension::GithubWorkflowRepository,
                "salrashid123/go-bazel-github-workflow".into(),
            ),
            (
                CertificateExtension::GithubWorkflowRef,
                "refs/tags/v0.0.14".into(),
            ),
        ];
        assert_eq!(CertificateExtension::all().count(), expected.len());
        for (extension, want) in &expected {
            assert_eq!(
                value(&cert, *extension).unwrap().as_deref(),
                Some(want.as_str()),
                "{extension}"
            );
            // The name as a policy writes it, exact and as a regex.
            let exact = extensions_of(&format!("{{{}: {want:?}}}", extension.name()));
            check(&cert, &exact).unwrap_or_else(|e| panic!("{extension}: {e:?}"));
            let regex = extensions_of(&format!(
                "{{{}Regex: {:?}}}",
                extension.name(),
                format!("^{}$", regex::escape(want))
            ));
            check(&cert, &regex).unwrap_or_else(|e| panic!("{extension}: {e:?}"));
        }
    }

    /// One negative per name: another value is an identity mismatch naming the extension.
    #[test]
    fn another_value_of_any_extension_is_an_identity_mismatch() {
        let cert = github_leaf();
        for extension in CertificateExtension::all() {
            let required = extensions_of(&format!("{{{}: other-value}}", extension.name()));
            match check(&cert, &required) {
                Err(ExtensionCheckError::Mismatch(m)) => {
                    assert_eq!(m.field, IdentityField::Extension(extension));
                    assert_eq!(m.found.len(), 1, "{extension}");
                    assert!(
                        m.to_string().contains(&format!(
                            "does not match {} \"other-value\"",
                            extension.name()
                        )),
                        "{m}"
                    );
                }
                other => panic!("{extension}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_absent_extension_never_matches() {
        let mut cert = github_leaf();
        remove(&mut cert, 22);
        let required = extensions_of("{sourceRepositoryVisibilityAtSigningRegex: '.*'}");
        let Err(ExtensionCheckError::Mismatch(m)) = check(&cert, &required) else {
            panic!("accepted without the extension");
        };
        assert!(m.found.is_empty());
        assert!(
            m.to_string().starts_with(
                "the certificate has no sourceRepositoryVisibilityAtSigning extension"
            ),
            "{m}"
        );
    }

    /// The new names fall back on their deprecated twins, and the twins on the new ones.
    #[test]
    fn twins_stand_in_for_each_other_and_must_agree() {
        let full = github_leaf();
        let mut old_only = full.clone();
        for arc in [13, 14, 20] {
            remove(&mut old_only, arc);
        }
        let mut new_only = full.clone();
        for arc in [2, 3, 6] {
            remove(&mut new_only, arc);
        }
        for (name, twin, want) in [
            ("buildTrigger", "githubWorkflowTrigger", "push"),
            (
                "sourceRepositoryDigest",
                "githubWorkflowSHA",
                "291dab9af96caa83aef0968dc1f757039d3c166b",
            ),
            (
                "sourceRepositoryRef",
                "githubWorkflowRef",
                "refs/tags/v0.0.14",
            ),
        ] {
            for cert in [&old_only, &new_only] {
                for field in [name, twin] {
                    check(cert, &extensions_of(&format!("{{{field}: {want:?}}}")))
                        .unwrap_or_else(|e| panic!("{field}: {e:?}"));
                }
            }
        }
        // Name and repository have no twin: their values are of another form.
        let mut no_new = full.clone();
        remove(&mut no_new, 12);
        remove(&mut no_new, 18);
        for field in ["sourceRepositoryURI", "buildConfigURI"] {
            assert!(
                check(&no_new, &extensions_of(&format!("{{{field}Regex: '.'}}"))).is_err(),
                "{field}"
            );
        }
        // Twins that disagree refuse the certificate.
        let mut split = full.clone();
        set(&mut split, 6, b"refs/heads/evil");
        let err = check(
            &split,
            &extensions_of("{sourceRepositoryRef: refs/tags/v0.0.14}"),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ExtensionCheckError::Malformed(ExtensionError::Disagree { .. })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_malformed_extension_fails_closed() {
        let required = extensions_of("{sourceRepositoryRefRegex: '.*'}");
        // Raw bytes where a DER UTF8String belongs (the deprecated form under a new OID).
        let mut raw = github_leaf();
        remove(&mut raw, 6);
        set(&mut raw, 14, b"refs/tags/v0.0.14");
        // Another string type (PrintableString), and trailing bytes after the UTF8String.
        let mut printable = raw.clone();
        set(&mut printable, 14, &[0x13, 0x01, b'x']);
        let mut trailing = raw.clone();
        set(&mut trailing, 14, &[0x0c, 0x01, b'x', 0x00]);
        // Not UTF-8.
        let mut latin1 = raw.clone();
        set(&mut latin1, 14, &[0x0c, 0x01, 0xff]);
        for (what, cert) in [
            ("raw", raw),
            ("printable", printable),
            ("trailing", trailing),
            ("latin1", latin1),
        ] {
            assert!(
                matches!(
                    check(&cert, &required),
                    Err(ExtensionCheckError::Malformed(_))
                ),
                "{what}"
            );
        }
        // Twice.
        let mut twice = github_leaf();
        let copy = twice
            .extensions
            .iter()
            .find(|e| e.oid.to_string() == "1.3.6.1.4.1.57264.1.14")
            .unwrap()
            .clone();
        twice.extensions.push(copy);
        assert!(matches!(
            check(&twice, &required),
            Err(ExtensionCheckError::Malformed(
                ExtensionError::Repeated { .. }
            ))
        ));
        // A malformed extension the rule does not name is not read.
        let mut other = github_leaf();
        set(&mut other, 21, b"not DER");
        check(
            &other,
            &extensions_of("{sourceRepositoryRef: refs/tags/v0.0.14}"),
        )
        .unwrap();
    }
}
