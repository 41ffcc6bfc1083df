//! `keyless.certificateExtensions`: the Fulcio certificate extensions a keyless rule can
//! require ("built by this workflow, from this repository, on this ref"), named as sigstore-go's
//! `certificate.Extensions` fields (`sourceRepositoryRef: refs/tags/v1`, or
//! `sourceRepositoryRefRegex: …`), with the OID each is read from.
//!
//! The rule type holding a required value is `super::rule::ExtensionMatch`; reading and
//! matching a certificate's values is in `crate::verify::keyless::extensions`.

use std::fmt;

/// A Fulcio certificate extension (OID arc `1.3.6.1.4.1.57264.1`) a keyless rule can require.
///
/// The names are sigstore-go's `certificate.Extensions` JSON names. Since 2023 Fulcio writes each
/// value as a DER UTF8String (OIDs `.8`–`.22`); GitHub Actions certificates also carry the older
/// raw-string extensions `.1`–`.6` (deprecated). A name whose deprecated twin holds the same value
/// in the same form reads the twin when its own OID is absent (and refuses the certificate when
/// both are present and differ): `issuer` ↔ `.1`, `buildTrigger` ↔ `githubWorkflowTrigger`,
/// `sourceRepositoryDigest` ↔ `githubWorkflowSHA`, `sourceRepositoryRef` ↔ `githubWorkflowRef`.
/// `githubWorkflowName` (`Release`) and `githubWorkflowRepository` (`owner/repo`) hold other
/// forms than any new extension (a build config URI, a repository URL), so they are matched only
/// by their own names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertificateExtension {
    /// `issuer`, OID `.8` (v1 `.1` as fallback): the OIDC issuer, as `keyless.issuer`.
    Issuer,
    /// `githubWorkflowTrigger`, OID `.2` (deprecated): the triggering event.
    GithubWorkflowTrigger,
    /// `githubWorkflowSHA`, OID `.3` (deprecated): the commit built.
    GithubWorkflowSha,
    /// `githubWorkflowName`, OID `.4` (deprecated): the workflow's name.
    GithubWorkflowName,
    /// `githubWorkflowRepository`, OID `.5` (deprecated): `owner/repo`.
    GithubWorkflowRepository,
    /// `githubWorkflowRef`, OID `.6` (deprecated): the git ref built.
    GithubWorkflowRef,
    /// `buildSignerURI`, OID `.9`: the build instructions that signed (the workflow file@ref).
    BuildSignerUri,
    /// `buildSignerDigest`, OID `.10`: the immutable version of those instructions.
    BuildSignerDigest,
    /// `runnerEnvironment`, OID `.11`: `github-hosted` or `self-hosted`.
    RunnerEnvironment,
    /// `sourceRepositoryURI`, OID `.12`: the source repository URL.
    SourceRepositoryUri,
    /// `sourceRepositoryDigest`, OID `.13`: the source commit.
    SourceRepositoryDigest,
    /// `sourceRepositoryRef`, OID `.14`: the source ref (`refs/tags/v1`).
    SourceRepositoryRef,
    /// `sourceRepositoryIdentifier`, OID `.15`: the repository's immutable id.
    SourceRepositoryIdentifier,
    /// `sourceRepositoryOwnerURI`, OID `.16`: the repository owner's URL.
    SourceRepositoryOwnerUri,
    /// `sourceRepositoryOwnerIdentifier`, OID `.17`: the owner's immutable id.
    SourceRepositoryOwnerIdentifier,
    /// `buildConfigURI`, OID `.18`: the top-level build instructions.
    BuildConfigUri,
    /// `buildConfigDigest`, OID `.19`: their immutable version.
    BuildConfigDigest,
    /// `buildTrigger`, OID `.20`: the event that started the build (`push`).
    BuildTrigger,
    /// `runInvocationURI`, OID `.21`: the build run.
    RunInvocationUri,
    /// `sourceRepositoryVisibilityAtSigning`, OID `.22`: `public` or `private`.
    SourceRepositoryVisibilityAtSigning,
}

/// How an extension's value is written in the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionEncoding {
    /// A DER UTF8String (Fulcio's current extensions).
    DerUtf8String,
    /// The raw string as the extension value (the deprecated ones).
    Raw,
}

use CertificateExtension as E;

/// Every extension, new ones first in OID order, then the deprecated ones (the order messages
/// list them in).
const ALL: [CertificateExtension; 20] = [
    E::Issuer,
    E::BuildSignerUri,
    E::BuildSignerDigest,
    E::RunnerEnvironment,
    E::SourceRepositoryUri,
    E::SourceRepositoryDigest,
    E::SourceRepositoryRef,
    E::SourceRepositoryIdentifier,
    E::SourceRepositoryOwnerUri,
    E::SourceRepositoryOwnerIdentifier,
    E::BuildConfigUri,
    E::BuildConfigDigest,
    E::BuildTrigger,
    E::RunInvocationUri,
    E::SourceRepositoryVisibilityAtSigning,
    E::GithubWorkflowTrigger,
    E::GithubWorkflowSha,
    E::GithubWorkflowName,
    E::GithubWorkflowRepository,
    E::GithubWorkflowRef,
];

impl CertificateExtension {
    /// Every extension a rule can name.
    pub fn all() -> impl Iterator<Item = CertificateExtension> {
        ALL.into_iter()
    }

    /// The extension called `name` (sigstore-go's spelling, case-sensitive).
    pub fn from_name(name: &str) -> Option<CertificateExtension> {
        ALL.into_iter().find(|e| e.name() == name)
    }

    /// sigstore-go's name and the last arc of the OID.
    const fn entry(self) -> (&'static str, u32) {
        match self {
            E::Issuer => ("issuer", 8),
            E::GithubWorkflowTrigger => ("githubWorkflowTrigger", 2),
            E::GithubWorkflowSha => ("githubWorkflowSHA", 3),
            E::GithubWorkflowName => ("githubWorkflowName", 4),
            E::GithubWorkflowRepository => ("githubWorkflowRepository", 5),
            E::GithubWorkflowRef => ("githubWorkflowRef", 6),
            E::BuildSignerUri => ("buildSignerURI", 9),
            E::BuildSignerDigest => ("buildSignerDigest", 10),
            E::RunnerEnvironment => ("runnerEnvironment", 11),
            E::SourceRepositoryUri => ("sourceRepositoryURI", 12),
            E::SourceRepositoryDigest => ("sourceRepositoryDigest", 13),
            E::SourceRepositoryRef => ("sourceRepositoryRef", 14),
            E::SourceRepositoryIdentifier => ("sourceRepositoryIdentifier", 15),
            E::SourceRepositoryOwnerUri => ("sourceRepositoryOwnerURI", 16),
            E::SourceRepositoryOwnerIdentifier => ("sourceRepositoryOwnerIdentifier", 17),
            E::BuildConfigUri => ("buildConfigURI", 18),
            E::BuildConfigDigest => ("buildConfigDigest", 19),
            E::BuildTrigger => ("buildTrigger", 20),
            E::RunInvocationUri => ("runInvocationURI", 21),
            E::SourceRepositoryVisibilityAtSigning => ("sourceRepositoryVisibilityAtSigning", 22),
        }
    }

    /// sigstore-go's name: `sourceRepositoryRef`.
    pub fn name(self) -> &'static str {
        self.entry().0
    }

    /// The OID, dotted: `1.3.6.1.4.1.57264.1.14`.
    pub fn oid(self) -> String {
        format!("1.3.6.1.4.1.57264.1.{}", self.entry().1)
    }

    /// How the value is written.
    pub fn encoding(self) -> ExtensionEncoding {
        if self.entry().1 >= 8 {
            ExtensionEncoding::DerUtf8String
        } else {
            ExtensionEncoding::Raw
        }
    }

    /// The other extension holding the same value in the same form, read when this one is
    /// absent (see the type's documentation). The issuer's v1 twin (`.1`) is not a name of its
    /// own; the issuer is read by `keyless::identity::oidc_issuer`.
    pub fn twin(self) -> Option<CertificateExtension> {
        match self {
            E::BuildTrigger => Some(E::GithubWorkflowTrigger),
            E::GithubWorkflowTrigger => Some(E::BuildTrigger),
            E::SourceRepositoryDigest => Some(E::GithubWorkflowSha),
            E::GithubWorkflowSha => Some(E::SourceRepositoryDigest),
            E::SourceRepositoryRef => Some(E::GithubWorkflowRef),
            E::GithubWorkflowRef => Some(E::SourceRepositoryRef),
            _ => None,
        }
    }
}

impl fmt::Display for CertificateExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The extension a `certificateExtensions` key names, and whether it is the regex form.
pub(super) fn parse_key(key: &str) -> Option<(CertificateExtension, bool)> {
    if let Some(extension) = CertificateExtension::from_name(key) {
        return Some((extension, false));
    }
    let base = key.strip_suffix("Regex")?;
    CertificateExtension::from_name(base).map(|e| (e, true))
}

/// Every key `certificateExtensions` accepts (each name, then each `NAMERegex`), for
/// suggestions.
pub(super) fn known_keys() -> Vec<String> {
    let names = CertificateExtension::all().map(|e| e.name().to_owned());
    let regexes = CertificateExtension::all().map(|e| format!("{}Regex", e.name()));
    names.chain(regexes).collect()
}
