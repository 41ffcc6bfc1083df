//! Reference parsing, exported so foreign code (and every binding's conformance runner) sees the
//! same normalisation the resolver and the verifier use.

use crate::error::ImageCheckError;

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ParsedReference {
    /// Canonical form: `registry/repository[:tag][@digest]` (`docker.io/library/nginx:latest`).
    pub canonical: String,
    /// Registry host as references spell it: `docker.io`, `localhost:5000`, `[::1]:5000`.
    pub registry: String,
    /// Repository path: `library/nginx`.
    pub repository: String,
    /// The tag (`latest` when neither tag nor digest was given); `None` for a digest-only form.
    pub tag: Option<String>,
    /// `sha256:…` when the reference pins a digest.
    pub digest: Option<String>,
}

/// Parse and normalise `input` (Docker's grammar); InvalidReference says what is wrong.
#[uniffi::export]
pub fn parse_reference(input: String) -> Result<ParsedReference, ImageCheckError> {
    let parsed = imagecheck::Reference::parse(&input).map_err(imagecheck::Error::from)?;
    Ok(ParsedReference {
        canonical: parsed.to_string(),
        registry: parsed.registry().to_owned(),
        repository: parsed.repository().to_owned(),
        tag: parsed.tag().map(str::to_owned),
        digest: parsed.digest().map(|d| d.as_str().to_owned()),
    })
}
