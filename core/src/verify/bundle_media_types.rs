//! The sigstore bundle media types imagecheck reads, in one place for the bundle parser (a
//! bundle's own `mediaType`) and for discovery (an OCI descriptor's `artifactType` or layer
//! `mediaType`), which must agree on what a bundle is.

/// v0.3 in both its spellings, v0.2 and v0.1.
pub(super) const BUNDLE_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
];
